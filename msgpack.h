/* SPDX-License-Identifier: MIT */
/* msgpack.h -- MessagePack as notepack.io writes and reads it, converted to and from JSON text.
 *
 * @socket.io/redis-adapter publishes `[uid, packet, opts]` encoded by notepack.io (3.x; 2.x in
 * socket.io-redis <= 7). sio keeps Socket.IO data as JSON text plus binary attachments, so this
 * module translates between the two models:
 *
 *   msgpack                         JSON text (as JSON.stringify(notepack.decode(buf)) writes it)
 *   nil / true / false              null / true / false
 *   int and uint of any width       an integer (beyond +-2^53 as JavaScript prints the double)
 *   float 32 / float 64             a number in JavaScript's shortest form; NaN/Infinity -> null
 *   str (UTF-8 checked)             a string, escaped as JSON.stringify escapes
 *   array / map (str keys only)     an array / an object, in msgpack order
 *   bin (and the legacy ArrayBuffer {"_placeholder":true,"num":N}, N counting bins in order of
 *   ext type 0 of notepack 2)       appearance; the bin's bytes are handed back as a slice
 *   timestamp ext -1 (notepack 3)   the ISO date string JSON.stringify(new Date(...)) gives
 *   legacy date ext 0 (notepack 2)  the same
 *   d4 00 xx (notepack 2 undefined) null in an array; the whole key is left out of a map
 *   any other ext type              null
 *
 * Copy msgpack.c, msgpack.h, json.c and json.h into a project and they compile: the JSON side is
 * json.h's writer (sio_jw) and navigation. Decoding never allocates except through the caller's
 * sio_jw; encoding writes into a sio_mpbuf, which starts in the caller's buffer and moves to the
 * heap only if that is too small.
 *
 * Receiving a broadcast [uid, packet, opts] (redis-adapter.md §1.3), cheapest checks first:
 *
 *   sio_mp_head h;
 *   long n = sio_msgpack_head(p, len, &h);                 // root: an array of 3
 *   if (n < 0 || h.kind != SIO_MP_ARRAY || h.u != 3) drop;
 *   size_t pos = n;
 *   n = sio_msgpack_head(p + pos, len - pos, &h);          // uid: compared in place
 *   if (n < 0 || h.kind != SIO_MP_STR || (h.u == my_uid_len && !memcmp(h.data, my_uid, h.u))) drop;
 *   pos += n + h.u;
 *   sio_jw w; char stack[1024]; sio_mp_bin bins[16]; int nbins; size_t used;
 *   sio_jw_init(&w, stack, sizeof stack);
 *   if (sio_msgpack_to_json(p + pos, len - pos, &used, &w, bins, &nbins, 16) < 0) drop;
 *   // packet: sio_json_get(packet, "nsp"), sio_json_get(packet, "data") = the args array, whose
 *   // placeholders already number bins[0..nbins) as a 45x- packet wants them
 *   pos += used;  ... the same for opts, then check pos + used == len (no trailing bytes).
 *
 * Publishing one: sio_mp_put_array(&b, 3); sio_mp_put_str(&b, uid, n); sio_mp_put_map(&b, 3);
 * sio_mp_put_str(&b, "type", 4); sio_mp_put_int(&b, 2); sio_mp_put_str(&b, "data", 4);
 * sio_msgpack_from_json(args, bins, nbins, &b); ... (placeholders become bins, as Node's are).
 *
 * Spec: https://github.com/msgpack/msgpack/blob/master/spec.md ("Formats", "Timestamp extension
 * type"); notepack.io 3.0.1 lib/encode.js and lib/decode.js for the JavaScript mapping.
 */
#ifndef SIO_MSGPACK_H
#define SIO_MSGPACK_H

#include "json.h"

#include <stddef.h>
#include <stdint.h>

/* ====== Limits (override with -D) ====== */
#ifndef SIO_MSGPACK_MAX_DEPTH
#define SIO_MSGPACK_MAX_DEPTH 64 /* deepest nesting of arrays/maps decoded (a bin's placeholder
                                    object counts as one level); deeper -> SIO_MP_ERR_DEPTH */
#endif

/* Error codes (negative) returned by the functions below. */
enum sio_mp_err {
    SIO_MP_ERR_TRUNC = -1, /* the value ends beyond the bytes given */
    SIO_MP_ERR_INVAL = -2, /* not msgpack as notepack writes it: the unused byte 0xc1, a str that
                              is not UTF-8, an ext 8 timestamp (c7 .. ff) not 12 bytes long */
    SIO_MP_ERR_KEY = -3,   /* a map key that is not a str */
    SIO_MP_ERR_DEPTH = -4, /* nesting deeper than SIO_MSGPACK_MAX_DEPTH, or than the sio_jw
                              writer can hold */
    SIO_MP_ERR_BINS = -5,  /* decoding: more bins than max_bins; encoding: a placeholder whose
                              num is not an index into bins[] */
    SIO_MP_ERR_NOMEM = -6, /* the output buffer could not grow */
    SIO_MP_ERR_JSON = -7   /* encoding: the text is not one valid JSON value */
};

/* A binary attachment: a slice into the decoded msgpack (decoding), or caller-owned bytes
 * (encoding). Layout-compatible with sio.h's sio_bin, without depending on it. */
typedef struct sio_mp_bin {
    const void *data; /* first byte */
    size_t len;       /* number of bytes */
} sio_mp_bin;

/* ====== Reading one value's header ====== */

/* The family of a msgpack value. */
enum sio_mp_kind {
    SIO_MP_NIL = 1,   /* 0xc0 */
    SIO_MP_BOOL = 2,  /* 0xc2 false, 0xc3 true */
    SIO_MP_UINT = 3,  /* positive fixint, uint 8/16/32/64 */
    SIO_MP_INT = 4,   /* negative fixint, int 8/16/32/64 (their value may be >= 0) */
    SIO_MP_FLOAT = 5, /* float 32/64 */
    SIO_MP_STR = 6,   /* fixstr, str 8/16/32 (UTF-8 is not checked by sio_msgpack_head) */
    SIO_MP_BIN = 7,   /* bin 8/16/32 */
    SIO_MP_ARRAY = 8, /* fixarray, array 16/32 */
    SIO_MP_MAP = 9,   /* fixmap, map 16/32 */
    SIO_MP_EXT = 10   /* fixext 1/2/4/8/16, ext 8/16/32 */
};

/* What sio_msgpack_head() found. */
typedef struct sio_mp_head {
    enum sio_mp_kind kind;     /* family */
    uint64_t u;                /* UINT: value; BOOL: 0/1; STR/BIN/EXT: payload bytes;
                                  ARRAY: elements; MAP: key/value pairs; otherwise 0 */
    int64_t i;                 /* INT: value; otherwise 0 */
    double d;                  /* FLOAT: value (a float 32 widened exactly); otherwise 0 */
    int ext_type;              /* EXT: the signed type byte (-1 = timestamp); otherwise 0 */
    const unsigned char *data; /* STR/BIN/EXT: first payload byte; otherwise NULL */
} sio_mp_head;

/* Reads the value that starts at p[0]: its kind and its length/count/scalar.
 * Returns the header length in bytes (the prefix and its length/type fields; a STR/BIN/EXT
 * payload of h->u bytes follows, and is checked to fit in len), or SIO_MP_ERR_TRUNC, or
 * SIO_MP_ERR_INVAL for 0xc1. An ARRAY or MAP whose count exceeds the bytes left (each element
 * needs at least one) gives SIO_MP_ERR_TRUNC at once. *h is cleared first. */
long sio_msgpack_head(const unsigned char *p, size_t len, sio_mp_head *h);

/* Returns the length in bytes of the first value in p[0..len), validated exactly as
 * sio_msgpack_to_json() validates it (UTF-8, keys, depth), or a negative SIO_MP_ERR_*. Bins are
 * not limited. Use it to step over the elements of an array, e.g. to reach `opts` in
 * [uid, packet, opts] without converting `packet`. */
long sio_msgpack_skip(const unsigned char *p, size_t len);

/* ====== msgpack -> JSON ====== */

/* Decodes the first msgpack value in p[0..len) and appends it to `out` as compact JSON text, as
 * the table at the top of this file says (the writer adds the comma before it if `out` is inside
 * an array or object). Every bin becomes {"_placeholder":true,"num":N} and bins[N] records its
 * bytes (a slice into p, valid as long as p); *nbins is set to the number found (0 first).
 * bins may be NULL when max_bins is 0 (then any bin is an error).
 * Returns 0 with *used = the value's length in bytes -- notepack rejects trailing bytes, so a
 * caller decoding a whole message checks *used == len -- or a negative SIO_MP_ERR_*: TRUNC,
 * INVAL, KEY, DEPTH, BINS (more than max_bins bins), NOMEM (the writer could not grow).
 * On error `out` is rolled back to its state before the call (what it had written is cut off)
 * and *used, *nbins are 0. Does not recurse: nesting is walked with a fixed stack of
 * SIO_MSGPACK_MAX_DEPTH frames. Runs in time linear in len.
 * Notes: object keys keep their msgpack order (JavaScript would list integer-like keys first);
 * a repeated key is written twice (JavaScript keeps the last value). */
int sio_msgpack_to_json(const unsigned char *p, size_t len, size_t *used, sio_jw *out,
                        sio_mp_bin *bins, int *nbins, int max_bins);

/* ====== JSON -> msgpack ====== */

/* A growing output buffer, stack-first like sio_jw:
 *
 *   unsigned char stack[512];
 *   sio_mpbuf b;
 *   sio_mpbuf_init(&b, stack, sizeof stack);
 *   sio_mp_put_array(&b, 3); sio_mp_put_str(&b, uid, uid_len); ...
 *   if (sio_msgpack_from_json(args, bins, nbins, &b) < 0 || b.err) ...
 *   use b.buf[0..b.len), then sio_mpbuf_free(&b);
 */
typedef struct sio_mpbuf {
    unsigned char *buf; /* output bytes; the caller's buffer or the heap */
    size_t len;         /* bytes written */
    size_t cap;         /* bytes available in buf */
    int heap;           /* 1 if buf was malloc'd here (sio_mpbuf_free releases it) */
    int err;            /* set once growing failed; further writes are ignored */
} sio_mpbuf;

/* Starts a buffer over the caller's memory (may be NULL/0: then the first write allocates). */
void sio_mpbuf_init(sio_mpbuf *b, void *buf, size_t cap);
/* Releases heap memory the buffer took, if any, and leaves it empty. */
void sio_mpbuf_free(sio_mpbuf *b);

/* Writers for single values, each in the smallest format, as notepack picks them. */
void sio_mp_put_nil(sio_mpbuf *b);
void sio_mp_put_bool(sio_mpbuf *b, int v);
void sio_mp_put_int(sio_mpbuf *b, int64_t v);          /* fixint, int/uint 8..64 */
/* A JavaScript number, as notepack writes it: an integral value in [-2^63, 2^64) as an int
 * (-0 as 0), anything else (fractions, +-Infinity, NaN, integers outside that range) as
 * float 64. notepack itself writes integers >= 2^64 or < -2^63 as a uint 64 / int 64 whose
 * upper bits are lost; float 64 keeps their value, so here that case differs on purpose. */
void sio_mp_put_number(sio_mpbuf *b, double v);
void sio_mp_put_double(sio_mpbuf *b, double v);        /* always float 64 (0xcb) */
void sio_mp_put_str(sio_mpbuf *b, const char *s, size_t n); /* fixstr, str 8/16/32 */
void sio_mp_put_bin(sio_mpbuf *b, const void *p, size_t n); /* bin 8/16/32 */
void sio_mp_put_array(sio_mpbuf *b, uint32_t n);       /* header; n values must follow */
void sio_mp_put_map(sio_mpbuf *b, uint32_t n);         /* header; n key/value pairs must follow */

/* Appends the JSON value in `json` (surrounding whitespace allowed) to `out` as msgpack, the way
 * notepack.encode(JSON.parse(json)) would write it: smallest int/str/array/map formats, numbers
 * by sio_mp_put_number()'s rule, strings decoded from their escapes (a lone surrogate, which
 * UTF-8 cannot hold, becomes U+FFFD, as Buffer.from(string) does), objects as maps in text order.
 * An object whose "_placeholder" member is true is a Socket.IO binary placeholder: it is written
 * as a bin holding bins[num] (num must be an integer in 0..nbins-1, else SIO_MP_ERR_BINS), as
 * socket.io-parser's reconstructPacket() would put the attachment there.
 * Returns 0, SIO_MP_ERR_JSON if `json` is not exactly one valid JSON value, SIO_MP_ERR_BINS, or
 * SIO_MP_ERR_NOMEM; on error out->len is back where it was. Recursion is bounded by the JSON
 * parser's nesting limit (SIO_JSON_MAX_DEPTH). Containers are counted before they are written,
 * so the cost is the text length times the nesting depth. */
int sio_msgpack_from_json(sio_str json, const sio_mp_bin *bins, int nbins, sio_mpbuf *out);

#endif /* SIO_MSGPACK_H */
