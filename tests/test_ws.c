/* SPDX-License-Identifier: MIT */
/* test_ws.c -- unit tests for ws.c: SHA-1 (FIPS 180-4 vectors), base64 (RFC 4648 §10 vectors and
 * invalid inputs), Sec-WebSocket-Accept (RFC 6455 §1.3 sample), the RFC 6455 §5.7 sample frames,
 * the frame-level cases of bad-inputs.md B4, every valid frame fed one byte at a time, the
 * max_payload boundary, frame headers, close codes and the incremental UTF-8 validator.
 * Inputs sit right before a PROT_NONE page (guarded()), so any read past len faults at once. */
#include "../ws.h"
#include "test.h"

#include <limits.h>
#include <stdint.h>

/* A string literal and its length (so inputs may contain NUL bytes). */
#define S(lit) lit, sizeof(lit) - 1

/* ====== SHA-1 ====== */

/* Lower-case hex of n bytes into out (2n + 1 bytes). */
static void to_hex(const unsigned char *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;
    for (i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

static void test_sha1(void)
{
    static const struct {
        const char *in;
        size_t len;
        const char *hex;
        const char *note;
    } rows[] = {
        {S("abc"), "a9993e364706816aba3e25717850c26c9cd0d89d", "FIPS one block"},
        {S(""), "da39a3ee5e6b4b0d3255bfef95601890afd80709", "empty"},
        {S("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
         "84983e441c3bd26ebaae4aa1f95129e5e54670f1", "FIPS 448 bits (two blocks)"},
        {S("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqr"
           "lmnopqrsmnopqrstnopqrstu"),
         "a49b2446a02c645bf419f995b67091253a04a259", "896 bits"},
    };
    /* Lengths around the padding boundaries (56 and 64 bytes) of 'a's. */
    static const struct {
        size_t len;
        const char *hex;
    } as[] = {
        {55, "c1c8bbdc22796e28c0e15163d20899b65621d65a"}, {56, "c2db330f6083854c99d4b5bfb6e8f29f201be699"},
        {57, "f08f24908d682555111be7ff6f004e78283d989a"}, {63, "03f09f5b158a7a8cdad920bddc29b81c18a551f5"},
        {64, "0098ba824b5c16427bd7a1122a5a442a25ec644d"}, {65, "11655326c708d70319be2610e8a57d9a5b959d3b"},
        {119, "ee971065aaa017e0632a8ca6c77bb3bf8b1dfc56"}, {120, "f34c1488385346a55709ba056ddd08280dd4c6d6"},
    };
    static char million[1000000];
    unsigned char d[20];
    char hex[41];
    size_t i;

    for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        sio_sha1(guarded(rows[i].in, rows[i].len), rows[i].len, d);
        to_hex(d, 20, hex);
        CHECK(strcmp(hex, rows[i].hex) == 0, rows[i].note);
    }
    memset(million, 'a', sizeof million);
    for (i = 0; i < sizeof as / sizeof as[0]; i++) {
        sio_sha1(guarded(million, as[i].len), as[i].len, d);
        to_hex(d, 20, hex);
        CHECK(strcmp(hex, as[i].hex) == 0, "padding boundary");
    }
    sio_sha1(guarded(million, sizeof million), sizeof million, d);
    to_hex(d, 20, hex);
    CHECK(strcmp(hex, "34aa973cd4c4daa4f61eeb2bdbad27316534016f") == 0, "FIPS one million 'a'");
}

/* ====== Base64 ====== */

static void test_base64(void)
{
    static const struct {
        const char *raw;
        const char *b64;
    } rfc[] = {
        /* RFC 4648 §10 */
        {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
    };
    static const struct {
        const char *in;
        size_t len;
        const char *note;
    } bad[] = {
        {S("Zg="), "length not a multiple of 4"},
        {S("Zg"), "padding missing"},
        {S("Z"), "one character"},
        {S("Z==="), "three '='"},
        {S("===="), "only padding"},
        {S("Zm9v="), "length 5"},
        {S("Zm=v"), "'=' in the middle of a group"},
        {S("Zg==Zg=="), "'=' before the last group"},
        {S("Zh=="), "non-zero unused bits (1 byte)"},
        {S("Zm9="), "non-zero unused bits (2 bytes)"},
        {S("Zm 9"), "space"},
        {S("Zm9\n"), "newline"},
        {S("Zm-_"), "base64url alphabet"},
        {S("Zm9\0"), "NUL"},
        {S("Zm9\xff"), "high byte"},
    };
    unsigned char all[256], back[256];
    char enc[4 * ((256 + 2) / 3) + 1];
    unsigned char dec[16];
    size_t i, n;

    for (i = 0; i < sizeof rfc / sizeof rfc[0]; i++) {
        size_t rl = strlen(rfc[i].raw), bl = strlen(rfc[i].b64);
        long r;
        n = sio_base64_encode(guarded(rfc[i].raw, rl), rl, enc);
        CHECK(n == bl && strcmp(enc, rfc[i].b64) == 0, rfc[i].b64);
        r = sio_base64_decode(guarded(rfc[i].b64, bl), bl, dec);
        CHECK(r == (long)rl && memcmp(dec, rfc[i].raw, rl) == 0, rfc[i].b64);
    }
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(sio_base64_decode(guarded(bad[i].in, bad[i].len), bad[i].len, dec) == -1, bad[i].note);

    /* Every byte value, at every length, survives a round trip. */
    for (i = 0; i < 256; i++) all[i] = (unsigned char)(255 - i);
    for (n = 0; n <= 256; n++) {
        size_t e = sio_base64_encode(all, n, enc);
        long r = sio_base64_decode(guarded(enc, e), e, back);
        if (e != 4 * ((n + 2) / 3) || r != (long)n || memcmp(back, all, n) != 0) {
            CHECK(0 && "round trip", "all byte values");
            break;
        }
    }
    CHECK(n == 257, "round trip of 0..256 bytes");
}

/* ====== Opening handshake ====== */

/* sio_ws_accept_key() on a guarded copy of the key. */
static int accept_key(const char *key, size_t len, char out[29])
{
    return sio_ws_accept_key(guarded(key, len), len, out);
}

static void test_accept_key(void)
{
    static const struct {
        const char *key;
        size_t len;
        const char *note;
    } bad[] = {
        {S(""), "empty (B3.39)"},
        {S("abc"), "B3.40 'abc'"},
        {S("dGhlIHNhbXBsZSBub25jZQ="), "23 characters"},
        {S("dGhlIHNhbXBsZSBub25jZQ==="), "25 characters"},
        {S("dGhlIHNhbXBsZSBub25jZQ=A"), "last character not '='"},
        {S("dGhlIHNhbXBsZSBub25jZQAA"), "no padding (18 bytes)"},
        {S("dGhlIHNhbXBsZSBub25j=Q=="), "'=' inside"},
        {S("dGhlIHNhbXBsZSBub25-ZQ=="), "'-' (base64url)"},
        {S("dGhlIHNhbXBsZSBub25_ZQ=="), "'_' (base64url)"},
        {S("dGhlIHNhbXBsZSBub25 ZQ=="), "space inside"},
        {S(" dGhlIHNhbXBsZSBub25jZQ="), "leading space"},
        {S("dGhlIHNhbXBsZSBub25\0ZQ=="), "NUL inside"},
        {S("dGhlIHNhbXBsZSBub25jZSE="), "base64 of 17 bytes would need '=' only once"},
        {S("dGhlIHNhbXBsZSBub25jZSBhYmM="), "base64 of 20 bytes"},
    };
    char out[29];
    size_t i;

    CHECK(accept_key(S("dGhlIHNhbXBsZSBub25jZQ=="), out) == 0, "RFC 6455 sample key");
    CHECK(strcmp(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") == 0, "RFC 6455 sample accept");
    /* Node's ws accepts any key of this shape; the unused bits of the 22nd character are not checked. */
    CHECK(accept_key(S("AAAAAAAAAAAAAAAAAAAAAB=="), out) == 0 && strlen(out) == 28,
          "shape is enough (like ws)");
    CHECK(accept_key(S("+/+/+/+/+/+/+/+/+/+/+w=="), out) == 0 && strlen(out) == 28,
          "'+' and '/'");
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(out, 'x', sizeof out);
        CHECK(accept_key(bad[i].key, bad[i].len, out) == -1, bad[i].note);
        CHECK(out[0] == '\0', bad[i].note);
    }
}

/* ====== Frames ====== */

static unsigned char frame_buf[80000]; /* built frames (the largest is 70001 bytes of payload) */
static unsigned char payload_buf[80000]; /* payloads to build them from */

/* Builds a client frame (masked with key, or unmasked when key is NULL) into out.
 * Returns its length. */
static size_t build_frame(unsigned char *out, int fin, int opcode, const unsigned char *payload, size_t len,
                          const unsigned char *key)
{
    size_t n = 2, i;
    out[0] = (unsigned char)((fin ? 0x80 : 0) | opcode);
    if (len < 126) {
        out[1] = (unsigned char)len;
    } else if (len <= 0xffff) {
        out[1] = 126;
        out[2] = (unsigned char)(len >> 8);
        out[3] = (unsigned char)len;
        n = 4;
    } else {
        out[1] = 127;
        for (i = 0; i < 8; i++) out[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
        n = 10;
    }
    if (key) {
        out[1] |= 0x80;
        memcpy(out + n, key, 4);
        n += 4;
    }
    for (i = 0; i < len; i++) out[n + i] = key ? (unsigned char)(payload[i] ^ key[i % 4]) : payload[i];
    return n + len;
}

/* Parses a guarded copy of frame[0..len) and checks the result; then feeds it again one byte at a
 * time, asserting -2 for every shorter prefix and that -2 left the bytes untouched. */
static void expect_frame(const unsigned char *frame, size_t len, uint64_t max, int fin, int opcode,
                         const void *payload, size_t plen, const char *note)
{
    struct sio_ws_frame f;
    unsigned char *g = (unsigned char *)guarded(frame, len);
    long r = sio_ws_parse_frame(g, len, max, &f);
    size_t k;

    CHECK(r == (long)len, note);
    CHECK(f.fin == fin && f.opcode == opcode && f.payload_len == plen && f.close_code == 0, note);
    CHECK(f.payload == g + (len - plen), note);
    CHECK(plen == 0 || (f.payload && memcmp(f.payload, payload, plen) == 0), note);

    for (k = 0; k < len; k++) {
        g = (unsigned char *)guarded(frame, k);
        memset(&f, 0x5a, sizeof f);
        r = sio_ws_parse_frame(g, k, max, &f);
        if (r != -2 || memcmp(g, frame, k) != 0 || f.payload != NULL || f.close_code != 0) {
            fprintf(stderr, "  at prefix %zu of %zu: %ld\n", k, len, r);
            break;
        }
    }
    CHECK(k == len, note); /* every shorter prefix: -2, bytes untouched, no payload */
}

/* Parses a guarded copy and expects -1 with `code`, with the bytes untouched. */
static void expect_error(const unsigned char *frame, size_t len, uint64_t max, int code, const char *note)
{
    struct sio_ws_frame f;
    unsigned char *g = (unsigned char *)guarded(frame, len);
    long r;
    memset(&f, 0x5a, sizeof f);
    r = sio_ws_parse_frame(g, len, max, &f);
    CHECK(r == -1 && f.close_code == code, note);
    CHECK(f.payload == NULL && f.payload_len == 0, note);
    CHECK(memcmp(g, frame, len) == 0, note);
}

static const unsigned char rfc_key[4] = {0x37, 0xfa, 0x21, 0x3d};

/* RFC 6455 §5.7, masked versions accepted, unmasked versions refused (B4.47). */
static void test_rfc_frames(void)
{
    static const unsigned char hello_masked[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
    static const unsigned char pong_masked[] = {0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
    static const unsigned char hello_plain[] = {0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
    static const unsigned char hel_plain[] = {0x01, 0x03, 0x48, 0x65, 0x6c};
    static const unsigned char lo_plain[] = {0x80, 0x02, 0x6c, 0x6f};
    static const unsigned char ping_plain[] = {0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
    static const unsigned char bin256_plain_head[] = {0x82, 0x7e, 0x01, 0x00};
    static const unsigned char bin64k_plain_head[] = {0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0};
    unsigned char two[32];
    size_t n, m, i;

    expect_frame(hello_masked, sizeof hello_masked, 1000, 1, SIO_WS_OP_TEXT, "Hello", 5, "masked Hello");
    expect_frame(pong_masked, sizeof pong_masked, 1000, 1, SIO_WS_OP_PONG, "Hello", 5, "masked pong Hello");

    n = build_frame(frame_buf, 0, SIO_WS_OP_TEXT, (const unsigned char *)"Hel", 3, rfc_key);
    expect_frame(frame_buf, n, 1000, 0, SIO_WS_OP_TEXT, "Hel", 3, "fragment 'Hel'");
    n = build_frame(frame_buf, 1, SIO_WS_OP_CONT, (const unsigned char *)"lo", 2, rfc_key);
    expect_frame(frame_buf, n, 1000, 1, SIO_WS_OP_CONT, "lo", 2, "fragment 'lo'");
    n = build_frame(frame_buf, 1, SIO_WS_OP_PING, (const unsigned char *)"Hello", 5, rfc_key);
    expect_frame(frame_buf, n, 1000, 1, SIO_WS_OP_PING, "Hello", 5, "masked ping Hello");

    for (i = 0; i < 65536; i++) payload_buf[i] = (unsigned char)(i * 7 + (i >> 8));
    n = build_frame(frame_buf, 1, SIO_WS_OP_BINARY, payload_buf, 256, rfc_key);
    CHECK(n == 4 + 4 + 256 && frame_buf[1] == (0x80 | 126), "256-byte frame uses the 16-bit length");
    expect_frame(frame_buf, n, 1000, 1, SIO_WS_OP_BINARY, payload_buf, 256, "256-byte binary");
    n = build_frame(frame_buf, 1, SIO_WS_OP_BINARY, payload_buf, 65536, rfc_key);
    CHECK(n == 10 + 4 + 65536 && frame_buf[1] == (0x80 | 127), "64 KiB frame uses the 64-bit length");
    expect_frame(frame_buf, n, 1000000, 1, SIO_WS_OP_BINARY, payload_buf, 65536, "64 KiB binary");

    /* Two frames in one buffer: the first parse consumes only the first. */
    n = build_frame(two, 0, SIO_WS_OP_TEXT, (const unsigned char *)"Hel", 3, rfc_key);
    m = build_frame(two + n, 1, SIO_WS_OP_CONT, (const unsigned char *)"lo", 2, rfc_key);
    {
        struct sio_ws_frame f;
        unsigned char *g = (unsigned char *)guarded(two, n + m);
        long r1 = sio_ws_parse_frame(g, n + m, 1000, &f);
        CHECK(r1 == (long)n && memcmp(f.payload, "Hel", 3) == 0 && !f.fin, "first of two frames");
        CHECK(memcmp(g + n, two + n, m) == 0, "second frame untouched by the first parse");
        CHECK(sio_ws_parse_frame(g + r1, n + m - (size_t)r1, 1000, &f) == (long)m && f.fin &&
                  memcmp(f.payload, "lo", 2) == 0,
              "second of two frames");
    }

    /* B4.47: the same frames unmasked, refused as soon as the second byte is seen. */
    expect_error(hello_plain, sizeof hello_plain, 1000, SIO_WS_CLOSE_PROTOCOL, "B4.47 unmasked Hello");
    expect_error(hello_plain, 2, 1000, SIO_WS_CLOSE_PROTOCOL, "B4.47 unmasked, header only");
    expect_error(hel_plain, sizeof hel_plain, 1000, SIO_WS_CLOSE_PROTOCOL, "B4.47 unmasked 'Hel'");
    expect_error(lo_plain, sizeof lo_plain, 1000, SIO_WS_CLOSE_PROTOCOL, "B4.47 unmasked 'lo'");
    expect_error(ping_plain, sizeof ping_plain, 1000, SIO_WS_CLOSE_PROTOCOL, "B4.47 unmasked ping");
    expect_error(bin256_plain_head, sizeof bin256_plain_head, 1000, SIO_WS_CLOSE_PROTOCOL,
                 "B4.47 unmasked 256-byte binary");
    expect_error(bin64k_plain_head, sizeof bin64k_plain_head, 1000000, SIO_WS_CLOSE_PROTOCOL,
                 "B4.47 unmasked 64 KiB binary");
}

struct frame_error_row {
    const char *in; /* frame bytes (often just the header) */
    size_t len;
    uint64_t max;   /* max_payload */
    int code;       /* expected close_code */
    const char *note;
};

static const struct frame_error_row error_rows[] = {
    {S("\xc1\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"), 1000, 1002, "B4.48 RSV1"},
    {S("\xa1\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"), 1000, 1002, "B4.48 RSV2"},
    {S("\x91\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"), 1000, 1002, "B4.48 RSV3"},
    {S("\xf1\x80"), 1000, 1002, "B4.48 all RSV bits, header only"},
    {S("\x89\xfe\x00\x7e"), 1000, 1002, "B4.51 ping with 126 bytes"},
    {S("\x89\xfe"), 1000, 1002, "B4.51 ping with 126 bytes, decided at byte 2"},
    {S("\x88\xfe\x00\x7e"), 1000, 1002, "B4.51 close with 126 bytes"},
    {S("\x8a\xff\x00\x00\x00\x00\x00\x00\x00\x01"), 1000, 1002, "pong with the 64-bit length form"},
    {S("\x09\x80\x37\xfa\x21\x3d"), 1000, 1002, "B4.51 ping with FIN=0"},
    {S("\x08\x82\x37\xfa\x21\x3d\x34\x12"), 1000, 1002, "close with FIN=0"},
    {S("\x0a\x80"), 1000, 1002, "pong with FIN=0"},
    {S("\x82\xff\x00\x00\x00\x00\x00\x1e\x84\x80"), 1000000, 1009, "B4.55 2,000,000 bytes, before the mask"},
    {S("\x82\xfe\x00\xc8"), 100, 1009, "200 bytes over a max of 100 (16-bit form)"},
    {S("\x82\xe5"), 100, 1009, "101 bytes over a max of 100 (7-bit form)"},
    {S("\x82\xff\x80\x00\x00\x00\x00\x00\x00\x00"), UINT64_MAX, 1009, "B4.56 64-bit length with the MSB set"},
    {S("\x82\xff\xff\xff\xff\xff\xff\xff\xff\xff"), UINT64_MAX, 1009, "B4.56 all ones"},
    {S("\x82\xff\x7f\xff\xff\xff\xff\xff\xff\xff"), UINT64_MAX, 1009, "2^63-1 does not fit the return type"},
    {S("\x02\x00"), 1000, 1002, "B4.47 unmasked empty binary fragment"},
};

static void test_frame_errors(void)
{
    static const int reserved[] = {0x3, 0x4, 0x5, 0x6, 0x7, 0xb, 0xc, 0xd, 0xe, 0xf};
    unsigned char f[16];
    size_t i;

    for (i = 0; i < sizeof error_rows / sizeof error_rows[0]; i++) {
        const struct frame_error_row *t = &error_rows[i];
        expect_error((const unsigned char *)t->in, t->len, t->max, t->code, t->note);
    }
    /* B4.49: reserved opcodes, with FIN set or not, decided at byte 2. */
    for (i = 0; i < sizeof reserved / sizeof reserved[0]; i++) {
        size_t n = build_frame(f, 1, reserved[i], (const unsigned char *)"x", 1, rfc_key);
        expect_error(f, n, 1000, SIO_WS_CLOSE_PROTOCOL, "B4.49 reserved opcode");
        expect_error(f, 2, 1000, SIO_WS_CLOSE_PROTOCOL, "B4.49 reserved opcode, header only");
        f[0] &= 0x7f;
        expect_error(f, n, 1000, SIO_WS_CLOSE_PROTOCOL, "B4.49 reserved opcode, FIN=0");
    }
    /* A control frame of exactly 125 bytes is fine. */
    memset(payload_buf, 'p', 125);
    {
        size_t n = build_frame(frame_buf, 1, SIO_WS_OP_PING, payload_buf, 125, rfc_key);
        expect_frame(frame_buf, n, 1000, 1, SIO_WS_OP_PING, payload_buf, 125, "ping of 125 bytes");
    }
}

/* B4.50: continuation rules need the connection's state, so the parser reports the opcode and FIN
 * faithfully and the server applies them. These frames are well-formed one at a time. */
static void test_frame_sequence_facts(void)
{
    struct sio_ws_frame f;
    size_t n = build_frame(frame_buf, 1, SIO_WS_OP_CONT, (const unsigned char *)"x", 1, rfc_key);
    unsigned char *g = (unsigned char *)guarded(frame_buf, n);
    CHECK(sio_ws_parse_frame(g, n, 1000, &f) == (long)n && f.opcode == SIO_WS_OP_CONT && f.fin == 1,
          "B4.50 a lone continuation is reported as such (the server closes 1002)");
    n = build_frame(frame_buf, 0, SIO_WS_OP_TEXT, (const unsigned char *)"x", 1, rfc_key);
    g = (unsigned char *)guarded(frame_buf, n);
    CHECK(sio_ws_parse_frame(g, n, 1000, &f) == (long)n && f.opcode == SIO_WS_OP_TEXT && f.fin == 0,
          "B4.50 a text frame that opens a message is reported with FIN=0");
    n = build_frame(frame_buf, 1, SIO_WS_OP_TEXT, (const unsigned char *)"", 0, rfc_key);
    expect_frame(frame_buf, n, 0, 1, SIO_WS_OP_TEXT, "", 0, "empty text frame, max 0");
    n = build_frame(frame_buf, 1, SIO_WS_OP_CLOSE, (const unsigned char *)"\x03\xe8", 2, rfc_key);
    expect_frame(frame_buf, n, 1000, 1, SIO_WS_OP_CLOSE, "\x03\xe8", 2, "close 1000");
}

/* max_payload at N-1, N, N+1, in each length form: N+1 is refused as soon as the length is read. */
static void test_max_payload(void)
{
    static const size_t maxes[] = {100, 125, 126, 1000, 65535, 65536, 70000};
    size_t i;
    for (i = 0; i < sizeof maxes / sizeof maxes[0]; i++) {
        size_t max = maxes[i], n;
        int d;
        memset(payload_buf, 'm', max + 1);
        for (d = -1; d <= 1; d++) {
            size_t plen = max + (size_t)(long)d;
            size_t hdr = plen < 126 ? 2 : plen <= 0xffff ? 4 : 10;
            n = build_frame(frame_buf, 1, SIO_WS_OP_BINARY, payload_buf, plen, rfc_key);
            if (d <= 0) {
                struct sio_ws_frame f;
                unsigned char *g = (unsigned char *)guarded(frame_buf, n);
                CHECK(sio_ws_parse_frame(g, n, max, &f) == (long)n && f.payload_len == plen, "N-1 and N pass");
                g = (unsigned char *)guarded(frame_buf, hdr);
                CHECK(sio_ws_parse_frame(g, hdr, max, &f) == -2, "N-1 and N: header alone is incomplete");
            } else {
                expect_error(frame_buf, hdr, max, SIO_WS_CLOSE_TOO_BIG, "N+1: 1009 from the length alone");
                expect_error(frame_buf, n, max, SIO_WS_CLOSE_TOO_BIG, "N+1: 1009 with the whole frame");
            }
        }
    }
}

/* Unmasking 8 bytes at a time must equal the byte-wise definition at every length and key. */
static void test_unmask(void)
{
    static const unsigned char key[4] = {0x01, 0x80, 0xfe, 0x5a};
    size_t len;
    for (len = 0; len <= 70; len++) {
        size_t i, n;
        for (i = 0; i < len; i++) payload_buf[i] = (unsigned char)(i * 31 + 7);
        n = build_frame(frame_buf, 1, SIO_WS_OP_BINARY, payload_buf, len, key);
        expect_frame(frame_buf, n, 1000, 1, SIO_WS_OP_BINARY, payload_buf, len, "unmask at every length");
    }
}

static void test_frame_header(void)
{
    static const struct {
        uint64_t len;
        int opcode;
        size_t n;
        unsigned char bytes[10];
    } rows[] = {
        {0, SIO_WS_OP_TEXT, 2, {0x81, 0x00}},
        {125, SIO_WS_OP_TEXT, 2, {0x81, 0x7d}},
        {126, SIO_WS_OP_BINARY, 4, {0x82, 0x7e, 0x00, 0x7e}},
        {65535, SIO_WS_OP_BINARY, 4, {0x82, 0x7e, 0xff, 0xff}},
        {65536, SIO_WS_OP_BINARY, 10, {0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0}},
        {0x123456789aull, SIO_WS_OP_TEXT, 10, {0x81, 0x7f, 0, 0, 0, 0x12, 0x34, 0x56, 0x78, 0x9a}},
        {2, SIO_WS_OP_CLOSE, 2, {0x88, 0x02}},
        {5, SIO_WS_OP_PONG, 2, {0x8a, 0x05}},
    };
    size_t i;
    for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        unsigned char out[10];
        size_t n;
        memset(out, 0xee, sizeof out);
        n = sio_ws_frame_header(out, rows[i].opcode, rows[i].len);
        CHECK(n == rows[i].n && memcmp(out, rows[i].bytes, n) == 0, "frame header bytes");
    }
}

static void test_close_codes(void)
{
    static const struct {
        unsigned code;
        int ok;
    } rows[] = {
        {0, 0}, {999, 0}, {1000, 1}, {1001, 1}, {1002, 1}, {1003, 1}, {1004, 0}, {1005, 0}, {1006, 0},
        {1007, 1}, {1008, 1}, {1009, 1}, {1010, 1}, {1011, 1}, {1012, 1}, {1013, 1}, {1014, 1},
        {1015, 0}, {1016, 0}, {2000, 0}, {2999, 0}, {3000, 1}, {3999, 1}, {4000, 1}, {4999, 1},
        {5000, 0}, {65535, 0}, {UINT_MAX, 0},
    };
    size_t i;
    for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char note[32];
        snprintf(note, sizeof note, "close code %u", rows[i].code);
        CHECK(sio_ws_close_code_ok(rows[i].code) == rows[i].ok, note);
    }
}

/* ====== UTF-8 ====== */

struct utf8_row {
    const char *in;
    size_t len;
    int valid;     /* 1 valid and complete, 0 invalid, 2 valid so far but unfinished */
    const char *note;
};

static const struct utf8_row utf8_rows[] = {
    {S(""), 1, "empty"},
    {S("hello"), 1, "ASCII"},
    {S("42[\"chat\",\"h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80\"]"), 1, "Socket.IO event with 2/3/4-byte chars"},
    {S("\0"), 1, "NUL is valid UTF-8"},
    {S("\x7f"), 1, "U+007F"},
    {S("\xc2\x80"), 1, "U+0080"},
    {S("\xdf\xbf"), 1, "U+07FF"},
    {S("\xe0\xa0\x80"), 1, "U+0800"},
    {S("\xed\x9f\xbf"), 1, "U+D7FF"},
    {S("\xee\x80\x80"), 1, "U+E000"},
    {S("\xef\xbf\xbf"), 1, "U+FFFF"},
    {S("\xf0\x90\x80\x80"), 1, "U+10000"},
    {S("\xf4\x8f\xbf\xbf"), 1, "U+10FFFF"},
    {S("\xe2\x82"), 2, "unfinished 3-byte char"},
    {S("a\xf0\x9f\x98"), 2, "unfinished 4-byte char"},
    /* bad-inputs.md B4.53 */
    {S("42\xc3\x28"), 0, "B4.53 bad continuation"},
    {S("\xc0\xaf"), 0, "B4.53 overlong '/'"},
    {S("\xc1\xbf"), 0, "overlong 2-byte (C1)"},
    {S("\xe0\x80\xaf"), 0, "overlong 3-byte"},
    {S("\xe0\x9f\xbf"), 0, "overlong 3-byte (U+07FF)"},
    {S("\xf0\x80\x80\xaf"), 0, "overlong 4-byte"},
    {S("\xf0\x8f\xbf\xbf"), 0, "overlong 4-byte (U+FFFF)"},
    {S("\xed\xa0\x80"), 0, "B4.53 surrogate U+D800"},
    {S("\xed\xbf\xbf"), 0, "surrogate U+DFFF"},
    {S("\xed\xa0\x80\xed\xb0\x80"), 0, "surrogate pair (CESU-8)"},
    {S("\xf4\x90\x80\x80"), 0, "B4.53 U+110000"},
    {S("\xf5\x80\x80\x80"), 0, "lead F5"},
    {S("\xf8\x88\x80\x80\x80"), 0, "5-byte form"},
    {S("\xfe"), 0, "FE"},
    {S("\xff"), 0, "FF"},
    {S("\x80"), 0, "stray continuation"},
    {S("a\xbf"), 0, "stray continuation after ASCII"},
    {S("\xe2\x82" "a"), 0, "truncated then ASCII"},
    {S("\xc3\xc3\xa9"), 0, "lead byte where a continuation is due"},
    {S("\xe2\x82\xac\x80"), 0, "continuation after a complete char"},
};

/* Feeds in[0..len) split at `cut` (two calls). Returns the first non-zero result, or 0. */
static int feed_split(const char *in, size_t len, size_t cut, sio_utf8_state *st)
{
    int r;
    *st = 0;
    r = sio_utf8_feed(st, (const unsigned char *)guarded(in, cut), cut);
    if (r != 0) return r;
    return sio_utf8_feed(st, (const unsigned char *)guarded(in + cut, len - cut), len - cut);
}

static void test_utf8(void)
{
    size_t i;
    for (i = 0; i < sizeof utf8_rows / sizeof utf8_rows[0]; i++) {
        const struct utf8_row *t = &utf8_rows[i];
        sio_utf8_state st = 0;
        int r = sio_utf8_feed(&st, (const unsigned char *)guarded(t->in, t->len), t->len);
        size_t cut;
        CHECK(r == (t->valid ? 0 : -1), t->note);
        CHECK(sio_utf8_complete(st) == (t->valid == 1), t->note);
        /* The same verdict at every split point, and byte by byte (a code point split across
         * fragments is valid: B4.53). */
        for (cut = 0; cut <= t->len; cut++) {
            r = feed_split(t->in, t->len, cut, &st);
            CHECK(r == (t->valid ? 0 : -1), t->note);
            CHECK(sio_utf8_complete(st) == (t->valid == 1), t->note);
        }
        st = 0;
        r = 0;
        for (cut = 0; cut < t->len && r == 0; cut++)
            r = sio_utf8_feed(&st, (const unsigned char *)guarded(t->in + cut, 1), 1);
        CHECK(r == (t->valid ? 0 : -1), t->note);
    }
}

/* The ASCII fast path: an invalid byte, or a valid multi-byte char, at every offset of a long
 * ASCII run must be judged exactly as the slow path would. */
static void test_utf8_ascii_runs(void)
{
    static char run[80];
    size_t pos;
    for (pos = 0; pos < sizeof run; pos++) {
        sio_utf8_state st = 0;
        memset(run, 'a', sizeof run);
        run[pos] = (char)0x80;
        CHECK(sio_utf8_feed(&st, (const unsigned char *)guarded(run, sizeof run), sizeof run) == -1,
              "stray byte inside an ASCII run");
        CHECK(sio_utf8_complete(st) == 0, "error state is not complete");
        CHECK(sio_utf8_feed(&st, (const unsigned char *)"a", 1) == -1, "error state is sticky");
        if (pos + 3 <= sizeof run) {
            st = 0;
            memset(run, 'a', sizeof run);
            memcpy(run + pos, "\xe2\x82\xac", 3);
            CHECK(sio_utf8_feed(&st, (const unsigned char *)guarded(run, sizeof run), sizeof run) == 0 &&
                      sio_utf8_complete(st),
                  "euro sign inside an ASCII run");
            st = 0;
            CHECK(sio_utf8_feed(&st, (const unsigned char *)guarded(run, pos + 2), pos + 2) == 0 &&
                      !sio_utf8_complete(st),
                  "run ending inside the euro sign");
        }
    }
}

int main(void)
{
    RUN(test_sha1);
    RUN(test_base64);
    RUN(test_accept_key);
    RUN(test_rfc_frames);
    RUN(test_frame_errors);
    RUN(test_frame_sequence_facts);
    RUN(test_max_payload);
    RUN(test_unmask);
    RUN(test_frame_header);
    RUN(test_close_codes);
    RUN(test_utf8);
    RUN(test_utf8_ascii_runs);
    return test_main_end("ws");
}
