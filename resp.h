/* SPDX-License-Identifier: MIT */
/* resp.h -- RESP2, the Redis serialization protocol: an incremental, zero-copy reply parser and a
 * command encoder.
 *
 * Copy resp.c and resp.h into a project and they compile on their own: no other sio file is
 * needed. Nothing here allocates.
 *
 * The parser is picohttpparser-shaped and stateless: give it everything received so far, and it
 * says how long the first complete reply is, or that more bytes are needed, or that the bytes are
 * not RESP2. Values come back jsmn-style, as tokens in document order whose slices point into the
 * caller's buffer:
 *
 *   struct sio_resp_tok toks[64];
 *   int ntok;
 *   long n = sio_resp_parse(buf, len, toks, 64, &ntok);
 *   n > 0                    : buf[0..n) is one reply, toks[0..ntok) describe it
 *   n == SIO_RESP_INCOMPLETE : read more, then call again with the whole buffer
 *   n == SIO_RESP_MALFORMED  : not RESP2, or a limit below was exceeded: drop the connection
 *   n == SIO_RESP_TOOMANY    : complete, but it needs ntok tokens: call again with that many
 *
 * `*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n` gives four tokens:
 *   [0] ARRAY n=3 span=4   [1] BULK "message"   [2] BULK "ch"   [3] BULK "hi"
 */
#ifndef SIO_RESP_H
#define SIO_RESP_H

#include <stddef.h>
#include <stdint.h>

/* ====== Limits (override with -D) ====== */
#ifndef SIO_RESP_MAX_BULK
#define SIO_RESP_MAX_BULK (64L * 1024 * 1024) /* longest bulk string accepted, bytes; longer -> malformed */
#endif
#ifndef SIO_RESP_MAX_ELEMENTS
#define SIO_RESP_MAX_ELEMENTS (1L << 20) /* most elements in one array; more -> malformed */
#endif
#ifndef SIO_RESP_MAX_DEPTH
#define SIO_RESP_MAX_DEPTH 8 /* deepest nesting of arrays (EXEC of SCAN replies needs 3) */
#endif
#ifndef SIO_RESP_MAX_LINE
#define SIO_RESP_MAX_LINE 65536 /* longest simple string / error line, bytes, without the CRLF */
#endif
#define SIO_RESP_MAX_DIGITS 19 /* digits of a length or an integer: int64 has at most 19 */

#ifndef SIO_STR_DEFINED
#define SIO_STR_DEFINED
/* A borrowed slice of bytes: not NUL-terminated, owned by whoever owns the buffer it points into. */
typedef struct sio_str {
    const char *p; /* first byte, or NULL for "absent" */
    size_t len;    /* number of bytes */
} sio_str;
#endif

/* Return values of sio_resp_parse() other than a length. */
enum sio_resp_result {
    SIO_RESP_MALFORMED = -1,  /* not RESP2, or over a limit */
    SIO_RESP_INCOMPLETE = -2, /* valid so far; the reply ends beyond len */
    SIO_RESP_TOOMANY = -3     /* a complete reply that needs more than ntoks tokens */
};

/* The kind of a RESP2 value. The enum values are the type bytes of the wire format, except the
 * two nulls, which RESP2 writes as $-1 and *-1. */
enum sio_resp_type {
    SIO_RESP_STATUS = '+',   /* simple string: +OK */
    SIO_RESP_ERROR = '-',    /* error: -ERR unknown command */
    SIO_RESP_INT = ':',      /* signed 64-bit integer: :42 */
    SIO_RESP_BULK = '$',     /* binary-safe string: $5\r\nhello */
    SIO_RESP_ARRAY = '*',    /* array of values: *2\r\n... */
    SIO_RESP_NIL = 'n',      /* null bulk string: $-1 (GET of a missing key) */
    SIO_RESP_NIL_ARRAY = 'N' /* null array: *-1 (BLPOP timeout, aborted EXEC) */
};

/* One value of a reply. */
struct sio_resp_tok {
    enum sio_resp_type type; /* what kind of value */
    sio_str str;             /* STATUS/ERROR: the line without type byte and CRLF; BULK: the
                                payload; {NULL,0} for the other types */
    long long n;             /* INT: the value; BULK: payload length; ARRAY: element count;
                                NIL/NIL_ARRAY: -1; STATUS/ERROR: line length */
    unsigned span;           /* tokens this value takes, itself included: 1 for a scalar, 1 + the
                                spans of its elements for an array (next sibling = i + span) */
};

/* Parses the first RESP2 reply in buf[0..len).
 * Returns its length in bytes (> 0) and stores its tokens in toks[0..*ntok_out), in document
 * order (an array token, then its elements' tokens); or SIO_RESP_INCOMPLETE; or SIO_RESP_MALFORMED
 * for an unknown type byte, a line not ended by CRLF, a bad number (sign other than a lone
 * "-1" length, leading zeros, non-digits, more than SIO_RESP_MAX_DIGITS digits, int64 overflow),
 * a bulk length < -1 or > SIO_RESP_MAX_BULK, an array count < -1 or > SIO_RESP_MAX_ELEMENTS,
 * nesting deeper than SIO_RESP_MAX_DEPTH, a bulk payload not followed by CRLF, or a simple line
 * longer than SIO_RESP_MAX_LINE; or SIO_RESP_TOOMANY when the reply is complete but has more than
 * ntoks values (then *ntok_out is the number needed and toks[0..ntoks) hold the first ones).
 * toks may be NULL (with ntoks 0) to validate and count only.
 * Errors are reported as soon as they are seen, so a bad prefix gives MALFORMED before the rest
 * arrives. Each call rescans the reply from buf[0]; bulk payloads are skipped by length, so the
 * cost of a call is the number of values, not bytes. Never reads buf[len]; *ntok_out is 0 unless
 * a length or TOOMANY is returned. */
long sio_resp_parse(const char *buf, size_t len, struct sio_resp_tok *toks, unsigned ntoks,
                    int *ntok_out);

/* 1 if token t is a STATUS, ERROR or BULK whose bytes equal the C string s, else 0. */
int sio_resp_tok_is(const struct sio_resp_tok *t, const char *s);

/* Encodes a command as a RESP2 array of bulk strings: *argc\r\n then $len\r\n<bytes>\r\n per
 * argument. Binary-safe: argument i is argv[i][0..lens[i]); lens may be NULL for NUL-terminated
 * arguments. Returns the number of bytes the command takes. Writes out[0..that) only when it fits
 * in cap (nothing at all otherwise), so a first call with cap 0 measures. No NUL is appended. */
size_t sio_resp_command(char *out, size_t cap, int argc, const char *const *argv,
                        const size_t *lens);

#endif /* SIO_RESP_H */
