/* SPDX-License-Identifier: MIT */
/* fuzz_sio.c -- libFuzzer target for the Socket.IO packet codec in packet.c (protocol.md
 * B1/B2/B7/B10): sio_packet_decode(), sio_packet_header() and sio_packet_reserved().
 *
 * The input is the text after Engine.IO's '4'. Checks:
 *   - a decoded packet's fields are sane: type from the first byte, attachments only on binary
 *     types and at most SIO_PACKET_MAX_ATTACHMENTS, the namespace a slice starting with '/'
 *     without ',' (or the literal "/"), an ack id below 10^15, data a trimmed slice of strict,
 *     complete JSON whose shape fits the type (B2), recomputed here from the token array;
 *   - for an array payload, `count` is its number of elements and `first` its first element's
 *     slice (from the same tokens);
 *   - every {"_placeholder":true} object (last duplicate key wins) of a binary packet with
 *     attachments has an integer num in range -- recomputed here from tokens, independently of
 *     packet.c's walk with the navigation functions;
 *   - header round trip: sio_packet_header() of the decoded fields followed by the data decodes
 *     to the same fields;
 *   - sio_packet_header() with arbitrary arguments from the input never writes past
 *     SIO_PACKET_HEADER_MAX (the buffer is exactly that big, on the heap).
 */
#include "../../packet.h"
#include "fuzz.h"

#include <math.h>
#include <string.h>

/* 1 if the JSON string token s decodes to exactly `want`. */
static int key_is(const char *js, const sio_json_tok *t, const char *want)
{
    char buf[64];
    long n = sio_json_unescape((sio_str){js + t->start, t->end - t->start}, buf, sizeof buf);
    return n >= 0 && (size_t)n == strlen(want) && memcmp(buf, want, (size_t)n) == 0;
}

/* Index one past the last token of the subtree rooted at i. */
static int subtree_end(const sio_json_tok *t, int n, int i)
{
    int j = i + 1;
    while (j < n && t[j].start < t[i].end) j++;
    return j;
}

/* The placeholder rule recomputed from tokens. Returns 0 or -1. */
static int ref_placeholders(const char *js, const sio_json_tok *t, int n, int nbins)
{
    for (int i = 0; i < n; i++) {
        if (t[i].type != SIO_JSON_OBJECT) continue;
        int end = subtree_end(t, n, i), ph = -1, num = -1;
        for (int k = i + 1; k < end; k = subtree_end(t, n, k + 1)) { /* k: a key of object i */
            if (key_is(js, &t[k], "_placeholder")) ph = k + 1;
            if (key_is(js, &t[k], "num")) num = k + 1;
        }
        if (ph < 0 || t[ph].type != SIO_JSON_TRUE) continue;
        if (num < 0 || t[num].type != SIO_JSON_NUMBER) return -1;
        char tmp[64];
        size_t len = t[num].end - t[num].start;
        double d = 1e300;
        if (len < sizeof tmp) {
            memcpy(tmp, js + t[num].start, len);
            tmp[len] = '\0';
            d = strtod(tmp, NULL);
        } else {
            double v;
            if (sio_json_number((sio_str){js + t[num].start, len}, &v) == 0) d = v;
        }
        if (!(d >= 0 && d < nbins && floor(d) == d)) return -1;
        i = end - 1; /* a placeholder's own members are not looked into */
    }
    return 0;
}

static int is_reserved_ref(const char *s, size_t n)
{
    static const char *const names[] = {"connect", "connect_error", "disconnect", "disconnecting",
                                        "newListener", "removeListener"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strlen(names[i]) == n && memcmp(names[i], s, n) == 0) return 1;
    return 0;
}

/* The B2 payload rule recomputed from tokens. Returns 0 or -1. */
static int ref_payload(const struct sio_packet *pk)
{
    int n = pk->data.len ? sio_json_parse(pk->data.p, pk->data.len, NULL, 0) : 0;
    if (pk->data.len && n < 1) return -1;
    sio_json_tok *t = malloc(sizeof *t * (size_t)(n ? n : 1));
    CHECK(t != NULL);
    if (n) CHECK(sio_json_parse(pk->data.p, pk->data.len, t, (unsigned)n) == n);
    sio_json_type ty = n ? t[0].type : SIO_JSON_NONE;
    /* The decoder's count and first element, as the tokens give them. */
    if (ty == SIO_JSON_ARRAY && t[0].size > 0) {
        CHECK(pk->count == t[0].size && pk->first.p == pk->data.p + t[1].start &&
              pk->first.len == t[1].end - t[1].start);
    } else {
        CHECK(pk->count == 0 && pk->first.p == NULL && pk->first.len == 0);
    }
    int ok;
    switch (pk->type) {
    case SIO_PACKET_CONNECT: ok = ty == SIO_JSON_NONE || ty == SIO_JSON_OBJECT; break;
    case SIO_PACKET_DISCONNECT: ok = ty == SIO_JSON_NONE; break;
    case SIO_PACKET_CONNECT_ERROR: ok = ty == SIO_JSON_OBJECT || ty == SIO_JSON_STRING; break;
    case SIO_PACKET_ACK:
    case SIO_PACKET_BINARY_ACK: ok = ty == SIO_JSON_ARRAY; break;
    default:
        ok = ty == SIO_JSON_ARRAY && t[0].size > 0 && (t[1].type == SIO_JSON_NUMBER || t[1].type == SIO_JSON_STRING);
        if (ok && t[1].type == SIO_JSON_STRING) {
            size_t cap = t[1].end - t[1].start;
            char *name = malloc(cap);
            CHECK(name != NULL);
            long len = sio_json_unescape((sio_str){pk->data.p + t[1].start, cap}, name, cap);
            CHECK(len >= 0);
            if (is_reserved_ref(name, (size_t)len)) ok = 0;
            CHECK(sio_packet_reserved(name, (size_t)len) == is_reserved_ref(name, (size_t)len));
            free(name);
        }
    }
    if (ok && pk->nbins > 0 && ref_placeholders(pk->data.p, t, n, pk->nbins) < 0) ok = 0;
    free(t);
    return ok ? 0 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    struct sio_packet pk;
    memset(&pk, 0x5a, sizeof pk);
    int r = sio_packet_decode(p, size, &pk);
    CHECK(r == 0 || r == -1);
    (void)sio_packet_reserved(p, size);

    /* The header writer with arbitrary arguments, into a buffer of exactly the documented size. */
    if (size >= 3) {
        char *out = malloc(SIO_PACKET_HEADER_MAX);
        CHECK(out != NULL);
        int64_t ack = (int64_t)(((uint64_t)data[1] << 56 | (uint64_t)data[2] << 3) - 1000u);
        size_t n = sio_packet_header(out, data[0] % 7, (signed char)data[1], p + 3, size - 3, ack);
        CHECK(n >= 1 && n <= SIO_PACKET_HEADER_MAX);
        free(out);
    }

    if (r < 0) return 0;
    CHECK(pk.type == p[0] - '0' && pk.type >= 0 && pk.type <= 6);
    int binary = pk.type == SIO_PACKET_BINARY_EVENT || pk.type == SIO_PACKET_BINARY_ACK;
    CHECK(pk.nbins >= 0 && pk.nbins <= SIO_PACKET_MAX_ATTACHMENTS && (binary || pk.nbins == 0));
    CHECK(pk.nsp.len >= 1 && pk.nsp.len <= SIO_PACKET_MAX_NSP && pk.nsp.p[0] == '/');
    CHECK(memcmp(pk.nsp.p, "/", 1) == 0 && memchr(pk.nsp.p, ',', pk.nsp.len) == NULL);
    if (pk.nsp.len > 1) CHECK(IN_BUF(pk.nsp, p, size));
    CHECK(pk.ack_id >= -1 && pk.ack_id < 1000000000000000LL);
    CHECK(pk.data.p != NULL && (pk.data.len == 0 || IN_BUF(pk.data, p, size)));
    if (pk.data.len) {
        CHECK(pk.data.p[0] != ' ' && pk.data.p[pk.data.len - 1] != ' ');
        CHECK(sio_json_parse(pk.data.p, pk.data.len, NULL, 0) >= 1);
    }
    CHECK(ref_payload(&pk) == 0);

    /* Header round trip. */
    char *buf = malloc(SIO_PACKET_HEADER_MAX + pk.data.len);
    CHECK(buf != NULL);
    size_t hl = sio_packet_header(buf, pk.type, pk.nbins, pk.nsp.p, pk.nsp.len, pk.ack_id);
    CHECK(hl >= 1 && hl <= SIO_PACKET_HEADER_MAX);
    memcpy(buf + hl, pk.data.p, pk.data.len);
    struct sio_packet again;
    CHECK(sio_packet_decode(buf, hl + pk.data.len, &again) == 0);
    CHECK(again.type == pk.type && again.nbins == pk.nbins && again.ack_id == pk.ack_id);
    CHECK(again.nsp.len == pk.nsp.len && memcmp(again.nsp.p, pk.nsp.p, pk.nsp.len) == 0);
    CHECK(again.data.len == pk.data.len && memcmp(again.data.p, pk.data.p, pk.data.len) == 0);
    /* The header is canonical: writing the re-decoded fields gives the same bytes. */
    char *buf2 = malloc(SIO_PACKET_HEADER_MAX);
    CHECK(buf2 != NULL);
    CHECK(sio_packet_header(buf2, again.type, again.nbins, again.nsp.p, again.nsp.len, again.ack_id) == hl);
    CHECK(memcmp(buf, buf2, hl) == 0);
    free(buf2);
    free(buf);
    return 0;
}
