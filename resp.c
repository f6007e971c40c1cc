/* SPDX-License-Identifier: MIT */
/* resp.c -- RESP2 reply parser and command encoder (see resp.h for the API).
 *
 * What it does:
 *   - sio_resp_parse() reads one reply -- simple string, error, integer, bulk string, array, and the
 *     two RESP2 nulls -- from the start of a buffer, picohttpparser-style: no state between calls,
 *     no allocation, slices into the caller's bytes. Nested arrays are walked with an explicit stack
 *     of at most SIO_RESP_MAX_DEPTH frames, so hostile nesting costs an error, not the C stack.
 *   - sio_resp_command() writes a command the way every Redis client does: an array of bulk strings,
 *     which Redis accepts for any command and which is binary-safe.
 *
 * What it deliberately does not do:
 *   - RESP3 (HELLO 3): maps, sets, doubles, pushes and attributes are malformed here; a client
 *     that never sends HELLO 3 never receives them.
 *   - Inline commands (the telnet form): only servers read those.
 *   - Leniency: lengths and integers must be canonical decimal ("-0", "007", "+1" are refused),
 *     lines must end in CRLF, and a bulk payload must be followed by CRLF.
 *
 * Spec: https://redis.io/docs/latest/develop/reference/protocol-spec/ ("RESP protocol
 * description", RESP2 types: simple strings, simple errors, integers, bulk strings, arrays; "Null
 * bulk strings" and "Null arrays" for $-1 and *-1; "Sending commands to a Redis server").
 */
#include "resp.h"

#include <limits.h>
#include <string.h>

/* ====== Numbers ====== */

/* Reads a decimal line "-?[0-9]+\r\n" starting at buf[*pos]: no '+', no leading zeros, no "-0",
 * at most SIO_RESP_MAX_DIGITS digits, within int64. Returns 0 with the value in *v and *pos just
 * past the CRLF; SIO_RESP_INCOMPLETE if the line ends early (nothing wrong seen yet);
 * SIO_RESP_MALFORMED at the first byte that cannot belong to such a line. */
static int read_number(const char *buf, size_t len, size_t *pos, long long *v)
{
    size_t i = *pos;
    int neg = 0, ndig = 0;
    unsigned long long acc = 0;
    if (i < len && buf[i] == '-') {
        neg = 1;
        i++;
    }
    for (;; i++) {
        if (i >= len) return SIO_RESP_INCOMPLETE;
        unsigned char c = (unsigned char)buf[i];
        if (c < '0' || c > '9') break;
        if (ndig == 1 && acc == 0) return SIO_RESP_MALFORMED; /* a leading zero */
        if (neg && ndig == 0 && c == '0') return SIO_RESP_MALFORMED; /* "-0" */
        if (++ndig > SIO_RESP_MAX_DIGITS) return SIO_RESP_MALFORMED;
        acc = acc * 10 + (c - '0'); /* 19 digits always fit in 64 unsigned bits */
    }
    if (ndig == 0) return SIO_RESP_MALFORMED;
    if (buf[i] != '\r') return SIO_RESP_MALFORMED;
    if (i + 1 >= len) return SIO_RESP_INCOMPLETE;
    if (buf[i + 1] != '\n') return SIO_RESP_MALFORMED;
    if (acc > (unsigned long long)LLONG_MAX + (unsigned long long)neg) return SIO_RESP_MALFORMED;
    /* For the one value that is LLONG_MIN, -(acc - 1) - 1 avoids negating a too-big number. */
    *v = neg ? -(long long)(acc - 1) - 1 : (long long)acc;
    *pos = i + 2;
    return 0;
}

/* ====== Lines ====== */

/* Finds the CRLF ending a simple string or error whose text starts at buf[start]. Returns 0 with
 * *end = offset of the '\r'; INCOMPLETE; or MALFORMED for a bare CR or LF inside the line or a
 * line longer than SIO_RESP_MAX_LINE. */
static int find_crlf(const char *buf, size_t len, size_t start, size_t *end)
{
    /* A line of SIO_RESP_MAX_LINE bytes has its CR at index SIO_RESP_MAX_LINE: look that far. */
    size_t avail = len - start, scan = avail < (size_t)SIO_RESP_MAX_LINE + 1 ? avail : (size_t)SIO_RESP_MAX_LINE + 1;
    for (size_t i = start; i < start + scan; i++) {
        if (buf[i] == '\n') return SIO_RESP_MALFORMED;
        if (buf[i] != '\r') continue;
        if (i + 1 >= len) return SIO_RESP_INCOMPLETE;
        if (buf[i + 1] != '\n') return SIO_RESP_MALFORMED;
        *end = i;
        return 0;
    }
    return scan == (size_t)SIO_RESP_MAX_LINE + 1 ? SIO_RESP_MALFORMED : SIO_RESP_INCOMPLETE;
}

/* ====== Values ====== */

/* Parses the value header starting at buf[*pos] into *t (an array's elements follow it, and its
 * span is filled in by the caller). Advances *pos past the value (past the header for an array).
 * Returns 0, INCOMPLETE or MALFORMED. */
static int read_value(const char *buf, size_t len, size_t *pos, struct sio_resp_tok *t)
{
    size_t i = *pos, end;
    long long n;
    int r;
    if (i >= len) return SIO_RESP_INCOMPLETE;
    char type = buf[i++];
    t->str.p = NULL;
    t->str.len = 0;
    t->span = 1;
    switch (type) {
    case '+':
    case '-':
        if ((r = find_crlf(buf, len, i, &end)) != 0) return r;
        t->type = type == '+' ? SIO_RESP_STATUS : SIO_RESP_ERROR;
        t->str.p = buf + i;
        t->str.len = end - i;
        t->n = (long long)(end - i);
        *pos = end + 2;
        return 0;
    case ':':
        if ((r = read_number(buf, len, &i, &n)) != 0) return r;
        t->type = SIO_RESP_INT;
        t->n = n;
        *pos = i;
        return 0;
    case '$':
        if ((r = read_number(buf, len, &i, &n)) != 0) return r;
        if (n == -1) {
            t->type = SIO_RESP_NIL;
            t->n = -1;
            *pos = i;
            return 0;
        }
        if (n < 0 || n > SIO_RESP_MAX_BULK) return SIO_RESP_MALFORMED;
        /* The payload is skipped by its length; only the CRLF after it is checked, as soon as
         * each of its two bytes is there. */
        if ((size_t)n > len - i) return SIO_RESP_INCOMPLETE;
        end = i + (size_t)n;
        if (end < len && buf[end] != '\r') return SIO_RESP_MALFORMED;
        if (end + 1 < len && buf[end + 1] != '\n') return SIO_RESP_MALFORMED;
        if (end + 2 > len) return SIO_RESP_INCOMPLETE;
        t->type = SIO_RESP_BULK;
        t->str.p = buf + i;
        t->str.len = (size_t)n;
        t->n = n;
        *pos = end + 2;
        return 0;
    case '*':
        if ((r = read_number(buf, len, &i, &n)) != 0) return r;
        if (n == -1) {
            t->type = SIO_RESP_NIL_ARRAY;
            t->n = -1;
            *pos = i;
            return 0;
        }
        if (n < 0 || n > SIO_RESP_MAX_ELEMENTS) return SIO_RESP_MALFORMED;
        t->type = SIO_RESP_ARRAY;
        t->n = n;
        *pos = i;
        return 0;
    default: /* RESP3 types, inline text, garbage */
        return SIO_RESP_MALFORMED;
    }
}

long sio_resp_parse(const char *buf, size_t len, struct sio_resp_tok *toks, unsigned ntoks,
                    int *ntok_out)
{
    /* One frame per open array: its token index and how many elements are still to come. */
    struct frame {
        size_t tok;     /* index of the array's token */
        long long left; /* elements not yet read */
    } stack[SIO_RESP_MAX_DEPTH];
    int depth = 0;
    size_t pos = 0, count = 0;
    *ntok_out = 0;
    if (!toks) ntoks = 0;
    for (;;) {
        struct sio_resp_tok t;
        int r = read_value(buf, len, &pos, &t);
        if (r != 0) return r;
        if (count >= (size_t)INT_MAX) return SIO_RESP_MALFORMED; /* *ntok_out is an int */
        size_t me = count++;
        if (me < ntoks) toks[me] = t;
        if (t.type == SIO_RESP_ARRAY && t.n > 0) {
            if (depth == SIO_RESP_MAX_DEPTH) return SIO_RESP_MALFORMED;
            stack[depth].tok = me;
            stack[depth].left = t.n;
            depth++;
            continue;
        }
        /* A value is complete: close every array it was the last element of. */
        while (depth > 0 && --stack[depth - 1].left == 0) {
            size_t a = stack[--depth].tok;
            if (a < ntoks) toks[a].span = (unsigned)(count - a);
        }
        if (depth == 0) break;
    }
    *ntok_out = (int)count;
    if (count > ntoks && toks) return SIO_RESP_TOOMANY;
    return (long)pos;
}

int sio_resp_tok_is(const struct sio_resp_tok *t, const char *s)
{
    if (t->type != SIO_RESP_STATUS && t->type != SIO_RESP_ERROR && t->type != SIO_RESP_BULK) return 0;
    size_t n = strlen(s);
    return t->str.len == n && (n == 0 || memcmp(t->str.p, s, n) == 0);
}

/* ====== Commands ====== */

/* Writes v in decimal at out (when out is not NULL); returns the number of digits. */
static size_t put_dec(char *out, size_t v)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    if (out)
        for (size_t i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
    return n;
}

/* Appends "<c><v>\r\n" at out + *at if write is set; always advances *at. */
static void put_head(char *out, int write, size_t *at, char c, size_t v)
{
    if (write) out[*at] = c;
    *at += 1;
    *at += put_dec(write ? out + *at : NULL, v);
    if (write) memcpy(out + *at, "\r\n", 2);
    *at += 2;
}

size_t sio_resp_command(char *out, size_t cap, int argc, const char *const *argv,
                        const size_t *lens)
{
    size_t need = 0;
    if (argc < 0) argc = 0;
    /* Two passes over the same code: measure, then write if it fits. */
    for (int write = 0; write < 2; write++) {
        size_t at = 0;
        put_head(out, write, &at, '*', (size_t)argc);
        for (int i = 0; i < argc; i++) {
            size_t n = lens ? lens[i] : strlen(argv[i]);
            put_head(out, write, &at, '$', n);
            if (write && n) memcpy(out + at, argv[i], n);
            at += n;
            if (write) memcpy(out + at, "\r\n", 2);
            at += 2;
        }
        need = at;
        if (!out || need > cap) break;
    }
    return need;
}
