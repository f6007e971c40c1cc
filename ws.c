/* SPDX-License-Identifier: MIT */
/* ws.c -- the pieces of RFC 6455 a WebSocket server needs, with no I/O and no allocation:
 * SHA-1 and base64 for the opening handshake, a frame parser that unmasks in place, a frame
 * header writer, the close-code rules and an incremental UTF-8 validator. Contracts are in ws.h.
 *
 * What it does not do, on purpose:
 *   - No client side: frames are parsed as a server sees them (masked) and written as a server
 *     sends them (unmasked, FIN set, never fragmented).
 *   - No extensions (permessage-deflate is never negotiated, so RSV bits are always errors).
 *   - No message reassembly, fragment counting or close handshake: those need per-connection
 *     state and live in the server. This file judges one frame, or one run of bytes, at a time.
 *   - SHA-1 is here only for Sec-WebSocket-Accept; it is not meant for anything secret.
 *
 * Specifications:
 *   FIPS 180-4 §5.1.1, §6.1 (SHA-1), RFC 4648 §4 (base64), RFC 6455 §4.2.2 (Sec-WebSocket-Accept),
 *   §5.1-5.5 (framing, masking, fragmentation, control frames), §7.4 (close codes),
 *   §8.1 (UTF-8), RFC 3629 §3-4 and Unicode Table 3-7 (well-formed UTF-8).
 */
#include "ws.h"

#include <limits.h>
#include <string.h>

/* ====== SHA-1 (FIPS 180-4) ====== */

/* Rotates a 32-bit word left by n bits (0 < n < 32). */
static uint32_t rol32(uint32_t x, unsigned n)
{
    return (x << n) | (x >> (32 - n));
}

/* Reads a big-endian 32-bit word. */
static uint32_t load_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Folds one 64-byte block into the hash state h[5] (FIPS 180-4 §6.1.2). */
static void sha1_block(uint32_t h[5], const unsigned char *block)
{
    uint32_t w[80], a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    int t;

    for (t = 0; t < 16; t++) w[t] = load_be32(block + 4 * t);
    for (t = 16; t < 80; t++) w[t] = rol32(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1);
    for (t = 0; t < 80; t++) {
        uint32_t f, k, tmp;
        if (t < 20) {
            f = (b & c) | (~b & d); /* Ch */
            k = 0x5a827999;
        } else if (t < 40) {
            f = b ^ c ^ d; /* Parity */
            k = 0x6ed9eba1;
        } else if (t < 60) {
            f = (b & c) | (b & d) | (c & d); /* Maj */
            k = 0x8f1bbcdc;
        } else {
            f = b ^ c ^ d; /* Parity */
            k = 0xca62c1d6;
        }
        tmp = rol32(a, 5) + f + e + k + w[t];
        e = d;
        d = c;
        c = rol32(b, 30);
        b = a;
        a = tmp;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
}

/* See ws.h. Whole blocks are hashed straight from `data`; the tail, the 0x80 marker and the
 * 64-bit bit length go through one or two blocks on the stack (FIPS 180-4 §5.1.1). */
void sio_sha1(const void *data, size_t len, unsigned char out[20])
{
    uint32_t h[5] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0};
    const unsigned char *p = data;
    unsigned char tail[128];
    size_t rest = len % 64, tail_len = rest < 56 ? 64 : 128, i;
    uint64_t bits = (uint64_t)len * 8;

    for (i = 0; i + 64 <= len; i += 64) sha1_block(h, p + i);
    memset(tail, 0, sizeof tail);
    if (rest) memcpy(tail, p + i, rest);
    tail[rest] = 0x80;
    for (i = 0; i < 8; i++) tail[tail_len - 1 - i] = (unsigned char)(bits >> (8 * i));
    sha1_block(h, tail);
    if (tail_len == 128) sha1_block(h, tail + 64);
    for (i = 0; i < 5; i++) {
        out[4 * i] = (unsigned char)(h[i] >> 24);
        out[4 * i + 1] = (unsigned char)(h[i] >> 16);
        out[4 * i + 2] = (unsigned char)(h[i] >> 8);
        out[4 * i + 3] = (unsigned char)h[i];
    }
}

/* ====== Base64 (RFC 4648 §4) ====== */

static const char b64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Value of a base64 alphabet character (0-63), or -1 (this includes '='). */
static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* See ws.h. */
size_t sio_base64_encode(const void *in, size_t len, char *out)
{
    const unsigned char *p = in;
    size_t i, n = 0;

    for (i = 0; i + 3 <= len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        out[n++] = b64_alphabet[v >> 18];
        out[n++] = b64_alphabet[(v >> 12) & 63];
        out[n++] = b64_alphabet[(v >> 6) & 63];
        out[n++] = b64_alphabet[v & 63];
    }
    if (len - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        out[n++] = b64_alphabet[v >> 18];
        out[n++] = b64_alphabet[(v >> 12) & 63];
        out[n++] = '=';
        out[n++] = '=';
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        out[n++] = b64_alphabet[v >> 18];
        out[n++] = b64_alphabet[(v >> 12) & 63];
        out[n++] = b64_alphabet[(v >> 6) & 63];
        out[n++] = '=';
    }
    out[n] = '\0';
    return n;
}

/* See ws.h. Strict: no whitespace, no missing padding, and the bits that padding leaves unused
 * must be zero (RFC 4648 §3.5), so every byte string has exactly one accepted encoding. */
long sio_base64_decode(const char *in, size_t len, unsigned char *out)
{
    size_t i, n = 0;

    if (len % 4 != 0) return -1;
    for (i = 0; i < len; i += 4) {
        int last = i + 4 == len;
        int a = b64_value((unsigned char)in[i]), b = b64_value((unsigned char)in[i + 1]);
        int c = b64_value((unsigned char)in[i + 2]), d = b64_value((unsigned char)in[i + 3]);
        uint32_t v;

        if (a < 0 || b < 0) return -1;
        if (last && in[i + 2] == '=' && in[i + 3] == '=') { /* "xx==": one byte */
            if (b & 0x0f) return -1;
            out[n++] = (unsigned char)(a << 2 | b >> 4);
            break;
        }
        if (c < 0) return -1;
        if (last && in[i + 3] == '=') { /* "xxx=": two bytes */
            if (c & 0x03) return -1;
            v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6;
            out[n++] = (unsigned char)(v >> 16);
            out[n++] = (unsigned char)(v >> 8);
            break;
        }
        if (d < 0) return -1;
        v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | (uint32_t)d;
        out[n++] = (unsigned char)(v >> 16);
        out[n++] = (unsigned char)(v >> 8);
        out[n++] = (unsigned char)v;
    }
    return (long)n;
}

/* ====== Opening handshake (RFC 6455 §4.2.2) ====== */

/* RFC 6455 §1.3: the GUID appended to the client's key before hashing. */
#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WS_KEY_LEN 24 /* base64 of 16 bytes: 22 characters and "==" */

/* See ws.h. The key is checked the way Node's ws library checks it (^[+/0-9A-Za-z]{22}==$):
 * that shape is always base64 of exactly 16 bytes. Non-zero unused bits in the 22nd character
 * are tolerated, as ws does; the key itself is hashed as sent, never decoded. */
int sio_ws_accept_key(const char *key, size_t len, char out[29])
{
    char buf[WS_KEY_LEN + sizeof WS_GUID - 1];
    unsigned char digest[20];
    size_t i;

    out[0] = '\0';
    if (len != WS_KEY_LEN || key[22] != '=' || key[23] != '=') return -1;
    for (i = 0; i < 22; i++) {
        if (b64_value((unsigned char)key[i]) < 0) return -1;
    }
    memcpy(buf, key, WS_KEY_LEN);
    memcpy(buf + WS_KEY_LEN, WS_GUID, sizeof WS_GUID - 1);
    sio_sha1(buf, sizeof buf, digest);
    sio_base64_encode(digest, sizeof digest, out);
    return 0;
}

/* ====== Frames (RFC 6455 §5) ====== */

/* XORs payload[0..len) with the 4-byte masking key, key[i % 4] on byte i (§5.3). This is the hot
 * path of every received message, so it works on 8 bytes at a time; memcpy keeps it free of
 * alignment and aliasing trouble and compiles to plain loads and stores. */
static void unmask(unsigned char *payload, uint64_t len, const unsigned char key[4])
{
    unsigned char key8[8];
    uint64_t m, w, i = 0;

    memcpy(key8, key, 4);
    memcpy(key8 + 4, key, 4);
    memcpy(&m, key8, 8);
    for (; i + 8 <= len; i += 8) {
        memcpy(&w, payload + i, 8);
        w ^= m;
        memcpy(payload + i, &w, 8);
    }
    for (; i < len; i++) payload[i] ^= key[i & 3]; /* i is a multiple of 8 here: key phase 0 */
}

/* Records a protocol error in f and returns -1. */
static long frame_error(struct sio_ws_frame *f, int code)
{
    f->close_code = code;
    return -1;
}

/* See ws.h. Every check is made as soon as the bytes it needs are present, so a bad frame is
 * refused after its first two bytes and an oversized one after its length field. Notes:
 *   - A 64-bit length with its top bit set (which §5.2 forbids) gives 1009, as Node's ws does,
 *     since the announced size is in any case over every sane max_payload.
 *   - Continuation rules (§5.4) need per-connection state and are the caller's: this function
 *     accepts a lone continuation frame and a new data frame in the middle of a message.
 *   - A frame whose size would not fit the return type (over LONG_MAX) also gives 1009.
 * On -2 and -1 nothing in buf is modified and f holds only the close_code (0 on -2). */
long sio_ws_parse_frame(unsigned char *buf, size_t len, uint64_t max_payload, struct sio_ws_frame *f)
{
    unsigned b0, b1, opcode;
    uint64_t plen;
    size_t hdr;

    f->fin = 0;
    f->opcode = 0;
    f->payload_len = 0;
    f->payload = NULL;
    f->close_code = 0;

    if (len < 2) return -2;
    b0 = buf[0];
    b1 = buf[1];
    opcode = b0 & 0x0f;
    if (b0 & 0x70) return frame_error(f, SIO_WS_CLOSE_PROTOCOL); /* RSV1-3 */
    if ((opcode >= 0x3 && opcode <= 0x7) || opcode >= 0xb) return frame_error(f, SIO_WS_CLOSE_PROTOCOL);
    if (!(b1 & 0x80)) return frame_error(f, SIO_WS_CLOSE_PROTOCOL); /* client frames are masked */
    if (opcode & 0x8) { /* control frame (§5.5) */
        if (!(b0 & 0x80) || (b1 & 0x7f) > 125) return frame_error(f, SIO_WS_CLOSE_PROTOCOL);
    }

    plen = b1 & 0x7f;
    hdr = 2;
    if (plen == 126) {
        if (len < 4) return -2;
        plen = (uint64_t)buf[2] << 8 | buf[3];
        hdr = 4;
    } else if (plen == 127) {
        int i;
        if (len < 10) return -2;
        plen = 0;
        for (i = 2; i < 10; i++) plen = plen << 8 | buf[i];
        hdr = 10;
        if (plen >> 63) return frame_error(f, SIO_WS_CLOSE_TOO_BIG);
    }
    if (plen > max_payload || plen > (uint64_t)LONG_MAX - 14) return frame_error(f, SIO_WS_CLOSE_TOO_BIG);
    hdr += 4; /* masking key */
    if (len < hdr || len - hdr < plen) return -2;

    unmask(buf + hdr, plen, buf + hdr - 4);
    f->fin = (b0 & 0x80) != 0;
    f->opcode = (int)opcode;
    f->payload_len = plen;
    f->payload = buf + hdr;
    return (long)(hdr + plen);
}

/* See ws.h. */
size_t sio_ws_frame_header(unsigned char out[10], int opcode, uint64_t len)
{
    int i;
    out[0] = (unsigned char)(0x80 | (opcode & 0x0f));
    if (len < 126) {
        out[1] = (unsigned char)len;
        return 2;
    }
    if (len <= 0xffff) {
        out[1] = 126;
        out[2] = (unsigned char)(len >> 8);
        out[3] = (unsigned char)len;
        return 4;
    }
    out[1] = 127;
    for (i = 0; i < 8; i++) out[2 + i] = (unsigned char)(len >> (56 - 8 * i));
    return 10;
}

/* See ws.h. The list is RFC 6455 §7.4.1 plus the IANA registry (1012-1014), as Node's ws has it;
 * 1004 is reserved and 1005, 1006, 1015 are for reporting only, never sent. */
int sio_ws_close_code_ok(unsigned code)
{
    if (code >= 1000 && code <= 1003) return 1;
    if (code >= 1007 && code <= 1014) return 1;
    return code >= 3000 && code <= 4999;
}

/* ====== UTF-8 validation (RFC 3629, Unicode Table 3-7) ====== */

/* The state packs what the next byte must be: bits 0-7 the lowest and bits 8-15 the highest
 * allowed value of the next continuation byte, bits 16-17 how many continuation bytes are still
 * due. 0 means "at a character boundary". The narrowed first-continuation ranges after E0, ED, F0
 * and F4 are what exclude overlong forms, surrogates and code points over U+10FFFF. */
#define UTF8_STATE(due, lo, hi) ((uint32_t)(due) << 16 | (uint32_t)(hi) << 8 | (uint32_t)(lo))
#define UTF8_ERROR 0xffffffffu /* sticky: once invalid, always invalid */

#define ASCII_MASK8 0x8080808080808080ull /* the top bit of each of 8 bytes */

/* See ws.h. Runs of ASCII, the common case for Socket.IO's JSON, are checked 8 bytes at a time.
 * After -1 the state is an error state: later feeds return -1 and sio_utf8_complete() says 0. */
int sio_utf8_feed(sio_utf8_state *st, const unsigned char *p, size_t n)
{
    uint32_t s = *st, due;
    size_t i = 0;

    if (s == UTF8_ERROR) return -1;
    while (i < n) {
        unsigned c = p[i];
        if (s != 0) { /* inside a sequence: c must be a continuation byte in [lo, hi] */
            if (c < (s & 0xff) || c > ((s >> 8) & 0xff)) goto invalid;
            due = s >> 16;
            s = due > 1 ? UTF8_STATE(due - 1, 0x80, 0xbf) : 0; /* later ones: plain 80-BF */
            i++;
            continue;
        }
        if (c < 0x80) { /* ASCII: skip whole words of it */
            uint64_t w;
            i++;
            while (i + 8 <= n) {
                memcpy(&w, p + i, 8);
                if (w & ASCII_MASK8) break;
                i += 8;
            }
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) s = UTF8_STATE(1, 0x80, 0xbf);
        else if (c == 0xe0) s = UTF8_STATE(2, 0xa0, 0xbf);  /* no overlong 3-byte forms */
        else if (c == 0xed) s = UTF8_STATE(2, 0x80, 0x9f);  /* no surrogates D800-DFFF */
        else if (c >= 0xe1 && c <= 0xef) s = UTF8_STATE(2, 0x80, 0xbf);
        else if (c == 0xf0) s = UTF8_STATE(3, 0x90, 0xbf);  /* no overlong 4-byte forms */
        else if (c >= 0xf1 && c <= 0xf3) s = UTF8_STATE(3, 0x80, 0xbf);
        else if (c == 0xf4) s = UTF8_STATE(3, 0x80, 0x8f);  /* nothing over U+10FFFF */
        else goto invalid; /* 80-BF stray continuation, C0-C1 overlong, F5-FF out of range */
        i++;
    }
    *st = s;
    return 0;
invalid:
    *st = UTF8_ERROR;
    return -1;
}

/* See ws.h. */
int sio_utf8_complete(sio_utf8_state st)
{
    return st == 0;
}
