/* SPDX-License-Identifier: MIT */
/* packet.c -- Engine.IO v4 and Socket.IO v5 packet codecs (see packet.h).
 *
 * Implements protocol.md A5/A6 (Engine.IO packet types, \x1e-joined payloads) and B1/B2/B7/B10
 * (the Socket.IO packet grammar, payload rules per type, attachment counts and placeholders).
 * Every count and length a peer sends is capped before it is used (CVE-2020-36049,
 * CVE-2026-33151); a placeholder must be the boolean true with an integer num in range
 * (CVE-2022-2421); an event name must be a string or a number (CVE-2023-32695).
 * Does not: base64-decode binary packets (ws.h has the decoder), gather attachments (that needs
 * per-session state: sio.c), or encode JSON (json.h).
 */
#include "packet.h"

#include <string.h>

/* ====== Engine.IO ====== */

int sio_eio_decode(const char *p, size_t len, sio_str *data)
{
    *data = (sio_str){NULL, 0};
    if (len == 0) return -1;
    int type;
    if (p[0] >= '0' && p[0] <= '6') type = p[0] - '0';
    else if (p[0] == 'b') type = SIO_EIO_BINARY;
    else return -1;
    *data = (sio_str){p + 1, len - 1};
    return type;
}

int sio_eio_payload_next(const char *body, size_t len, size_t *pos, sio_str *pkt)
{
    if (*pos > len) return 0;
    const char *start = body + *pos;
    const char *sep = memchr(start, 0x1e, len - *pos);
    size_t n = sep ? (size_t)(sep - start) : len - *pos;
    *pkt = (sio_str){start, n};
    *pos += n + 1; /* past the separator; past len + 1 at the end */
    return 1;
}

/* ====== Socket.IO: helpers ====== */

/* The reserved names, each with its length (compared first: most names differ in length). */
#define RESERVED(s) {s, sizeof s - 1}
static const struct {
    const char *name; /* the name */
    size_t len;       /* strlen(name) */
} reserved[] = {RESERVED("connect"),       RESERVED("connect_error"), RESERVED("disconnect"),
                RESERVED("disconnecting"), RESERVED("newListener"),   RESERVED("removeListener")};

int sio_packet_reserved(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof reserved / sizeof *reserved; i++)
        if (reserved[i].len == len && memcmp(name, reserved[i].name, len) == 0) return 1;
    return 0;
}

/* Checks every {"_placeholder":true,...} object inside v: its "num" must be an integer in
 * [0, nbins). Objects whose _placeholder is not the boolean true are ordinary data.
 * Returns 0 or -1. Recursion is bounded by SIO_JSON_MAX_DEPTH because v was validated. */
static int check_placeholders(sio_str v, int nbins)
{
    sio_json_type t = sio_json_typeof(v);
    if (t != SIO_JSON_ARRAY && t != SIO_JSON_OBJECT) return 0;
    if (t == SIO_JSON_OBJECT && sio_json_typeof(sio_json_get(v, "_placeholder")) == SIO_JSON_TRUE) {
        double d;
        sio_str num = sio_json_get(v, "num");
        if (sio_json_typeof(num) != SIO_JSON_NUMBER || sio_json_number(num, &d) < 0) return -1;
        return d >= 0 && d < nbins && d == (double)(int)d ? 0 : -1;
    }
    size_t pos = 0;
    sio_str key, val;
    int r;
    while ((r = sio_json_next(v, &pos, &key, &val)) == 1)
        if (check_placeholders(val, nbins) < 0) return -1;
    return r < 0 ? -1 : 0;
}

/* The payload rule of B2 for packet type `type`. Returns 0 or -1. */
static int check_payload(const struct sio_packet *pk)
{
    sio_json_type t = sio_json_typeof(pk->data);
    switch (pk->type) {
    case SIO_PACKET_CONNECT:
        return t == SIO_JSON_NONE || t == SIO_JSON_OBJECT ? 0 : -1;
    case SIO_PACKET_DISCONNECT:
        return t == SIO_JSON_NONE ? 0 : -1;
    case SIO_PACKET_CONNECT_ERROR:
        return t == SIO_JSON_OBJECT || t == SIO_JSON_STRING ? 0 : -1;
    case SIO_PACKET_ACK:
    case SIO_PACKET_BINARY_ACK:
        if (t != SIO_JSON_ARRAY) return -1;
        break;
    default: { /* EVENT, BINARY_EVENT */
        if (t != SIO_JSON_ARRAY) return -1;
        sio_json_type ft = sio_json_typeof(pk->first);
        if (ft == SIO_JSON_STRING) {
            /* The string was just validated: without a backslash, its bytes are the name. */
            const char *raw = pk->first.p + 1;
            size_t raw_len = pk->first.len - 2;
            if (!memchr(raw, '\\', raw_len)) {
                if (sio_packet_reserved(raw, raw_len)) return -1;
            } else {
                char name[32]; /* longer than any reserved name; longer names are not reserved */
                long n = sio_json_unescape(pk->first, name, sizeof name);
                if (n >= 0 && sio_packet_reserved(name, (size_t)n)) return -1;
            }
        } else if (ft != SIO_JSON_NUMBER) {
            return -1; /* empty array, or a name that is not a string/number */
        }
        break;
    }
    }
    return pk->nbins ? check_placeholders(pk->data, pk->nbins) : 0;
}

/* ====== Socket.IO: decode and encode ====== */

int sio_packet_decode(const char *p, size_t len, struct sio_packet *pk)
{
    size_t i = 0;
    memset(pk, 0, sizeof *pk);
    pk->ack_id = -1;
    pk->nsp = (sio_str){"/", 1};
    if (len < 1 || p[0] < '0' || p[0] > '6') return -1;
    pk->type = p[i++] - '0';
    if (pk->type == SIO_PACKET_BINARY_EVENT || pk->type == SIO_PACKET_BINARY_ACK) {
        int digits = 0, n = 0;
        while (i < len && p[i] >= '0' && p[i] <= '9') {
            if (++digits > 2) return -1;
            n = n * 10 + (p[i++] - '0');
        }
        if (!digits || i >= len || p[i] != '-' || n > SIO_PACKET_MAX_ATTACHMENTS) return -1;
        i++;
        pk->nbins = n;
    }
    if (i < len && p[i] == '/') { /* the namespace runs to the first ',' or the end */
        size_t start = i;
        while (i < len && p[i] != ',') i++;
        pk->nsp = (sio_str){p + start, i - start};
        if (pk->nsp.len > SIO_PACKET_MAX_NSP) return -1;
        if (i < len) i++;
    }
    if (i < len && p[i] >= '0' && p[i] <= '9') {
        int digits = 0;
        int64_t id = 0;
        while (i < len && p[i] >= '0' && p[i] <= '9') {
            if (++digits > SIO_PACKET_MAX_ACK_DIGITS) return -1;
            id = id * 10 + (p[i++] - '0');
        }
        pk->ack_id = id;
    }
    if (i < len) {
        /* The payload and its first element (one scan): for an array, tok[0].size counts its
         * elements and tok[1] is the first. _NOMEM only says that more tokens did not fit. */
        sio_json_tok tok[2];
        int n = sio_json_parse(p + i, len - i, tok, 2);
        if (n < 0 && n != SIO_JSON_ERR_NOMEM) return -1;
        pk->data = (sio_str){p + i + tok[0].start, tok[0].end - tok[0].start};
        if (tok[0].type == SIO_JSON_ARRAY) {
            pk->count = tok[0].size;
            if (pk->count) pk->first = (sio_str){p + i + tok[1].start, tok[1].end - tok[1].start};
        }
    } else {
        pk->data = (sio_str){p + i, 0};
    }
    return check_payload(pk);
}

/* Writes v in decimal; returns the number of digits. */
static size_t put_uint(char *out, uint64_t v)
{
    char tmp[20]; /* UINT64_MAX has 20 digits */
    size_t n = 0, k = 0;
    do tmp[n++] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    while (n) out[k++] = tmp[--n];
    return k;
}

/* SIO_PACKET_HEADER_MAX reserves 2 digits for the attachment count and SIO_PACKET_MAX_ACK_DIGITS
 * for the ack id, so both are capped to what fits: a count outside 0..99 or an id of more digits
 * (which our own decoder would refuse) can never write past the buffer or misreport the length. */
_Static_assert(SIO_PACKET_MAX_ACK_DIGITS >= 1 && SIO_PACKET_MAX_ACK_DIGITS <= 18, "ack ids must fit int64_t");

size_t sio_packet_header(char *out, int type, int nbins, const char *nsp, size_t nsp_len, int64_t ack_id)
{
    size_t n = 0;
    out[n++] = (char)('0' + type);
    if (type == SIO_PACKET_BINARY_EVENT || type == SIO_PACKET_BINARY_ACK) {
        if (nbins < 0) nbins = 0;
        if (nbins > 99) nbins = 99;
        n += put_uint(out + n, (uint64_t)nbins);
        out[n++] = '-';
    }
    if (nsp_len > 1) {
        if (nsp_len > SIO_PACKET_MAX_NSP) nsp_len = SIO_PACKET_MAX_NSP;
        memcpy(out + n, nsp, nsp_len);
        n += nsp_len;
        out[n++] = ',';
    }
    if (ack_id >= 0) {
        int64_t max = 0;
        for (int i = 0; i < SIO_PACKET_MAX_ACK_DIGITS; i++) max = max * 10 + 9;
        n += put_uint(out + n, (uint64_t)(ack_id < max ? ack_id : max));
    }
    return n;
}
