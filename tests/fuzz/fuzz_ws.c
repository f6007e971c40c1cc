/* SPDX-License-Identifier: MIT */
/* fuzz_ws.c -- libFuzzer target for ws.c: the frame parser, the UTF-8 validator, the
 * Sec-WebSocket-Accept key and base64.
 *
 * Every input goes through all four, each with its own invariants:
 *   - frames: the input is parsed as a stream of client frames (twice: with max_payload 1e6 and
 *     with 100, so that 1009 is reachable). For each whole frame: the size adds up, the payload
 *     lies inside the input, control frames obey RFC 6455 §5.5; every shorter prefix gives -2 and
 *     leaves the bytes untouched; the frame written back with sio_ws_frame_header() and masked
 *     again parses to the same opcode and payload. A text message assembled from the frames is
 *     checked with the validator fragment by fragment. -1 comes with 1002 or 1009 only.
 *   - UTF-8: sio_utf8_feed() over the whole input, over two pieces and byte by byte agree with
 *     each other and with fuzz_utf8_ref() (fuzz.h), an independent code-point-based check.
 *   - accept key: accepted exactly when the input has the shape ^[+/0-9A-Za-z]{22}==$, and then
 *     the answer is 28 base64 characters.
 *   - base64: decoding accepts only the one canonical encoding of its output (decode, encode
 *     again, get the input back), and encode-then-decode is the identity.
 */
#include "../../ws.h"
#include "fuzz.h"

#include <string.h>

static int is_b64(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

/* Parses the input as consecutive frames, checking each, and follows the message layer the way
 * the server does (continuations, fragment UTF-8). */
static void check_frames(const uint8_t *data, size_t size, uint64_t max_payload)
{
    unsigned char *buf = malloc(size ? size : 1), *snap = malloc(size ? size : 1);
    CHECK(buf && snap);
    if (size) memcpy(buf, data, size);
    size_t off = 0;
    int in_message = 0, text = 0;
    sio_utf8_state st = 0;
    while (off <= size) {
        struct sio_ws_frame f;
        unsigned char *p = buf + off;
        size_t len = size - off;
        memcpy(snap, p, len);
        memset(&f, 0x5a, sizeof f);
        long n = sio_ws_parse_frame(p, len, max_payload, &f);
        CHECK(n == -2 || n == -1 || n >= 6);
        if (n < 0) {
            CHECK(memcmp(snap, p, len) == 0); /* nothing is modified on -1 / -2 */
            CHECK(f.fin == 0 && f.opcode == 0 && f.payload_len == 0 && f.payload == NULL);
            if (n == -2) CHECK(f.close_code == 0);
            else CHECK(f.close_code == SIO_WS_CLOSE_PROTOCOL || f.close_code == SIO_WS_CLOSE_TOO_BIG);
            if (n == -1 && f.close_code == SIO_WS_CLOSE_TOO_BIG) CHECK(len >= 2 && (p[1] & 0x7f) >= 100);
            break;
        }
        size_t fl = (size_t)n;
        CHECK(fl <= len && f.close_code == 0);
        CHECK(f.payload_len <= max_payload && f.payload_len <= fl - 6);
        size_t hdr = fl - (size_t)f.payload_len;
        CHECK(hdr == 6 || hdr == 8 || hdr == 14);
        CHECK(f.payload == p + hdr);
        CHECK(f.fin == 0 || f.fin == 1);
        CHECK(f.opcode <= 2 || (f.opcode >= 8 && f.opcode <= 10));
        if (f.opcode >= 8) CHECK(f.fin && f.payload_len <= 125);
        CHECK((p[0] & 0x70) == 0 && (p[1] & 0x80));
        /* The payload is the input's bytes XOR the masking key. */
        for (size_t i = 0; i < f.payload_len; i++) CHECK(f.payload[i] == (snap[hdr + i] ^ snap[hdr - 4 + (i & 3)]));
        /* Every strict prefix is incomplete and leaves the bytes alone: all short ones (the header
         * being assembled) and a few of the longer ones. */
        for (size_t k = 0; k < fl; k = k < hdr + 2 ? k + 1 : (k < fl - 2 ? fl - 2 : k + 1)) {
            unsigned char *q = malloc(k ? k : 1);
            CHECK(q != NULL);
            memcpy(q, snap, k);
            struct sio_ws_frame g;
            CHECK(sio_ws_parse_frame(q, k, max_payload, &g) == -2 && g.close_code == 0);
            CHECK(memcmp(q, snap, k) == 0);
            free(q);
        }
        /* Written back the way the server writes frames, masked with another key, parsed again:
         * the same frame (FIN is always set by sio_ws_frame_header). */
        unsigned char h[10], key[4] = {0x37, 0xfa, 0x21, 0x3d};
        size_t hl = sio_ws_frame_header(h, f.opcode, f.payload_len);
        CHECK(hl == (f.payload_len < 126 ? 2u : f.payload_len <= 0xffff ? 4u : 10u));
        size_t rl = hl + 4 + (size_t)f.payload_len;
        unsigned char *r = malloc(rl);
        CHECK(r != NULL);
        memcpy(r, h, hl);
        r[1] |= 0x80;
        memcpy(r + hl, key, 4);
        for (size_t i = 0; i < f.payload_len; i++) r[hl + 4 + i] = f.payload[i] ^ key[i & 3];
        struct sio_ws_frame g;
        CHECK(sio_ws_parse_frame(r, rl, max_payload, &g) == (long)rl);
        CHECK(g.fin == 1 && g.opcode == f.opcode && g.payload_len == f.payload_len);
        CHECK(f.payload_len == 0 || memcmp(g.payload, f.payload, (size_t)f.payload_len) == 0);
        free(r);

        /* The message layer: a text message is validated fragment by fragment. */
        if (f.opcode == SIO_WS_OP_TEXT || f.opcode == SIO_WS_OP_BINARY) {
            if (in_message) break; /* a new message inside a fragmented one: 1002 */
            in_message = 1;
            text = f.opcode == SIO_WS_OP_TEXT;
            st = 0;
        } else if (f.opcode == SIO_WS_OP_CONT && !in_message) {
            break; /* a continuation with nothing open: 1002 */
        }
        if (f.opcode < 8 && text) {
            int v = sio_utf8_feed(&st, f.payload, (size_t)f.payload_len);
            CHECK(v == 0 || v == -1);
            if (v < 0) break; /* 1007 */
        }
        if (f.opcode < 8 && f.fin) {
            if (text) CHECK(sio_utf8_complete(st) == (st == 0));
            in_message = 0;
            text = 0;
        }
        off += fl;
    }
    free(snap);
    free(buf);
}

static void check_utf8(const uint8_t *data, size_t size)
{
    int ref = fuzz_utf8_ref(data, size);
    sio_utf8_state st = 0;
    int r = sio_utf8_feed(&st, data, size);
    CHECK(r == 0 || r == -1);
    CHECK(ref == -1 ? r == -1 : r == 0);
    CHECK(sio_utf8_complete(st) == (ref == 0));
    if (r < 0) { /* the error is sticky */
        CHECK(sio_utf8_feed(&st, (const unsigned char *)"a", 1) == -1 && !sio_utf8_complete(st));
    }

    /* Two pieces, split where the first byte says. */
    size_t cut = size ? data[0] % (size + 1) : 0;
    sio_utf8_state s2 = 0;
    int a = sio_utf8_feed(&s2, data, cut);
    CHECK(a == (fuzz_utf8_ref(data, cut) == -1 ? -1 : 0));
    int b = sio_utf8_feed(&s2, data + cut, size - cut);
    CHECK((a < 0 || b < 0) == (r < 0));
    CHECK(sio_utf8_complete(s2) == sio_utf8_complete(st));

    /* One byte at a time: the first -1 comes exactly at the first byte that makes it invalid. */
    sio_utf8_state s3 = 0;
    size_t bad = size;
    for (size_t i = 0; i < size; i++) {
        if (sio_utf8_feed(&s3, data + i, 1) < 0) {
            bad = i;
            break;
        }
    }
    if (bad < size) {
        CHECK(fuzz_utf8_ref(data, bad) != -1 && fuzz_utf8_ref(data, bad + 1) == -1);
    } else {
        CHECK(r == 0 && sio_utf8_complete(s3) == sio_utf8_complete(st));
    }
}

static void check_accept_key(const uint8_t *data, size_t size)
{
    char out[29];
    int shape = size == 24 && data[22] == '=' && data[23] == '=';
    for (size_t i = 0; shape && i < 22; i++) shape = is_b64(data[i]);
    memset(out, 'x', sizeof out);
    int r = sio_ws_accept_key((const char *)data, size, out);
    CHECK(r == (shape ? 0 : -1));
    if (r == 0) {
        CHECK(strlen(out) == 28 && out[27] == '=' && out[26] != '=');
        for (int i = 0; i < 27; i++) CHECK(is_b64((unsigned char)out[i]));
    } else {
        CHECK(out[0] == '\0');
    }
}

static void check_base64(const uint8_t *data, size_t size)
{
    /* Decode, then encode again: only the canonical encoding is accepted. */
    size_t cap = 3 * (size / 4);
    unsigned char *dec = malloc(cap ? cap : 1);
    CHECK(dec != NULL);
    long n = sio_base64_decode((const char *)data, size, dec);
    CHECK(n >= -1 && (n < 0 || (size_t)n <= cap));
    if (n >= 0) {
        CHECK(size % 4 == 0 && (size_t)n + 2 >= cap); /* at most two bytes of padding */
        char *enc = malloc(4 * (((size_t)n + 2) / 3) + 1);
        CHECK(enc != NULL);
        size_t el = sio_base64_encode(dec, (size_t)n, enc);
        CHECK(el == size && memcmp(enc, data, size) == 0 && enc[el] == '\0');
        free(enc);
    }
    free(dec);

    /* Encode, then decode: the identity. */
    size_t ecap = 4 * ((size + 2) / 3) + 1;
    char *enc = malloc(ecap);
    CHECK(enc != NULL);
    size_t el = sio_base64_encode(data, size, enc);
    CHECK(el == ecap - 1 && enc[el] == '\0');
    size_t dcap = 3 * (el / 4);
    unsigned char *back = malloc(dcap ? dcap : 1);
    CHECK(back != NULL);
    CHECK(sio_base64_decode(enc, el, back) == (long)size && memcmp(back, data, size) == 0);
    free(back);
    free(enc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_frames(data, size, 1000000);
    check_frames(data, size, 100);
    check_utf8(data, size);
    check_accept_key(data, size);
    if (size >= 24) check_accept_key(data, 24);
    check_base64(data, size);
    if (size >= 2) {
        unsigned code = (unsigned)data[0] << 8 | data[1];
        int ok = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
        CHECK(sio_ws_close_code_ok(code) == ok);
    }
    /* Frame headers for any length, decoded back by hand (RFC 6455 §5.2). */
    if (size >= 9) {
        uint64_t n = 0;
        for (int i = 1; i < 9; i++) n = n << 8 | data[i];
        n >>= data[0] % 64;
        unsigned char h[10];
        size_t hl = sio_ws_frame_header(h, data[0] & 0x0f, n);
        uint64_t back = h[1] & 0x7f;
        CHECK(h[0] == (0x80 | (data[0] & 0x0f)) && (h[1] & 0x80) == 0);
        if (back == 126) back = (uint64_t)h[2] << 8 | h[3];
        else if (back == 127) {
            back = 0;
            for (int i = 2; i < 10; i++) back = back << 8 | h[i];
        }
        CHECK(back == n && hl == (n < 126 ? 2u : n <= 0xffff ? 4u : 10u));
    }
    unsigned char digest[20], again[20];
    sio_sha1(data, size, digest);
    sio_sha1(data, size, again);
    CHECK(memcmp(digest, again, 20) == 0);
    return 0;
}
