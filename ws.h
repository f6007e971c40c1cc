/* SPDX-License-Identifier: MIT */
/* ws.h -- RFC 6455 WebSocket pieces for a server: the opening handshake's key (SHA-1 + base64,
 * written here from FIPS 180-4 and RFC 4648), a frame parser that unmasks in place, a frame header
 * writer, close-code rules and an incremental UTF-8 validator.
 *
 * Copy ws.c and ws.h into a project and they compile on their own. Nothing here allocates and
 * nothing does I/O: the caller reads bytes, hands them to sio_ws_parse_frame(), and writes what
 * sio_ws_frame_header() produced followed by the payload.
 */
#ifndef SIO_WS_H
#define SIO_WS_H

#include <stddef.h>
#include <stdint.h>

/* ====== Opcodes and close codes (RFC 6455 §5.2, §7.4.1) ====== */
#define SIO_WS_OP_CONT 0x0  /* continuation of a fragmented message */
#define SIO_WS_OP_TEXT 0x1  /* text message (UTF-8) */
#define SIO_WS_OP_BINARY 0x2 /* binary message */
#define SIO_WS_OP_CLOSE 0x8 /* close */
#define SIO_WS_OP_PING 0x9  /* ping */
#define SIO_WS_OP_PONG 0xA  /* pong */

#define SIO_WS_CLOSE_NORMAL 1000     /* normal closure */
#define SIO_WS_CLOSE_PROTOCOL 1002   /* protocol error */
#define SIO_WS_CLOSE_BAD_DATA 1007   /* invalid UTF-8 in a text message */
#define SIO_WS_CLOSE_POLICY 1008     /* policy violation (e.g. too many fragments) */
#define SIO_WS_CLOSE_TOO_BIG 1009    /* message too big */

/* ====== SHA-1 and base64 ====== */

/* SHA-1 of len bytes into out (FIPS 180-4). */
void sio_sha1(const void *data, size_t len, unsigned char out[20]);

/* Standard base64 (RFC 4648 §4, '+' '/' and '=' padding) of len bytes into out, NUL-terminated.
 * out must hold 4 * ((len + 2) / 3) + 1 bytes. Returns the encoded length (without the NUL). */
size_t sio_base64_encode(const void *in, size_t len, char *out);

/* Decodes standard base64, strictly: the input length must be a multiple of 4, '=' appears only
 * at the end and at most twice, every other byte is in the alphabet (no whitespace), and the bits
 * left unused before the padding must be zero (RFC 4648 §3.5), so each byte string has exactly
 * one accepted encoding.
 * out must hold 3 * (len / 4) bytes. Returns the decoded length, or -1 on any invalid input. */
long sio_base64_decode(const char *in, size_t len, unsigned char *out);

/* ====== Opening handshake (RFC 6455 §4.2) ====== */

/* Checks that `key` (the Sec-WebSocket-Key value) is base64 of exactly 16 bytes (22 characters
 * of the base64 alphabet followed by "==") and writes the Sec-WebSocket-Accept value,
 * base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")), 28 characters plus NUL, to out.
 * Only the shape is checked, as Node's ws does (^[+/0-9A-Za-z]{22}==$): non-zero unused bits in
 * the 22nd character are tolerated.
 * Returns 0, or -1 if the key is invalid (out is then the empty string). */
int sio_ws_accept_key(const char *key, size_t len, char out[29]);

/* ====== Frames (RFC 6455 §5) ====== */

/* One frame as sio_ws_parse_frame() found it. */
struct sio_ws_frame {
    int fin;                /* 1 if this is the final fragment of a message */
    int opcode;             /* SIO_WS_OP_* */
    uint64_t payload_len;   /* payload length in bytes */
    unsigned char *payload; /* points into the caller's buffer, already unmasked */
    int close_code;         /* on -1: the close code to send (1002 or 1009); else 0 */
};

/* Parses one client-to-server frame at buf[0..len) and unmasks its payload in place.
 * A server only accepts masked frames; RSV1-3 must be 0 (no extension is ever negotiated);
 * opcodes 3-7 and 0xB-0xF are errors; control frames must have FIN set and at most 125 bytes.
 * A 64-bit length must have its top bit clear (§5.2); one with it set is reported as 1009, as
 * Node does. Lengths not written in their shortest form are accepted (the minimal-encoding rule
 * binds senders only). Continuation rules (§5.4: a continuation with no message open, a new data
 * frame inside a fragmented message) need per-connection state and are the caller's to check.
 * `max_payload` caps payload_len: a larger length is reported as soon as the length field is
 * seen, before the masking key or any payload arrives.
 * Returns: total frame size in bytes (header + payload) when the whole frame is in buf;
 * -2 when more bytes are needed (nothing is modified); -1 on a protocol violation, with
 * f->close_code = 1002, or 1009 when payload_len > max_payload (or the frame would not fit a
 * long). f is cleared first: after -2 and -1 it holds nothing but close_code. */
long sio_ws_parse_frame(unsigned char *buf, size_t len, uint64_t max_payload, struct sio_ws_frame *f);

/* Writes a server-to-client frame header (FIN set, not masked) for a payload of `len` bytes
 * with the given opcode into out. Returns the header length: 2, 4 or 10. */
size_t sio_ws_frame_header(unsigned char out[10], int opcode, uint64_t len);

/* 1 if `code` may appear in a close frame sent by a peer (1000-1003, 1007-1014, 3000-4999),
 * else 0 (1004, 1005, 1006, 1015, 0-999, 1016-2999, >= 5000 are not allowed on the wire). */
int sio_ws_close_code_ok(unsigned code);

/* ====== UTF-8 validation (RFC 3629), incremental across fragments ====== */

/* State of a validator: start with 0. Between calls it remembers an unfinished sequence. */
typedef uint32_t sio_utf8_state;

/* Feeds n bytes. Returns 0 if everything so far is valid (possibly ending inside a multi-byte
 * sequence), -1 at the first invalid byte (overlong forms, surrogates U+D800-DFFF, code points
 * above U+10FFFF, bad continuation bytes). After -1 the state stays invalid: later feeds return
 * -1 and sio_utf8_complete() returns 0. */
int sio_utf8_feed(sio_utf8_state *st, const unsigned char *p, size_t n);

/* 1 if the state is at a character boundary (a message may end here), else 0. */
int sio_utf8_complete(sio_utf8_state st);

#endif /* SIO_WS_H */
