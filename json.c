/* SPDX-License-Identifier: MIT */
/* json.c -- a strict, bounded JSON tokenizer, navigator and emitter (see json.h for the API).
 *
 * What it does:
 *   - sio_json_parse() checks one JSON text against the RFC 8259 grammar and, jsmn-style, records
 *     every value as a token {type, start, end, size, parent} in a caller-supplied array. The
 *     parser is a loop over an explicit stack of at most SIO_JSON_MAX_DEPTH open containers, so a
 *     100k-deep "[[[[..." costs 64 frames and an error, never a stack overflow.
 *   - The navigation functions (sio_json_get, _at, _next, ...) walk validated text through
 *     `sio_str` slices, re-scanning strictly as they go, so garbage gives "absent", not a crash.
 *   - The sio_jw_* emitter writes compact JSON byte-for-byte as JavaScript's JSON.stringify does
 *     (string escapes, Number.prototype.toString number form), growing to the heap if needed.
 *
 * What it deliberately does not do:
 *   - No DOM, no allocation while reading: slices and tokens point into the caller's text.
 *   - No leniency: no comments, trailing commas, single quotes, NaN/Infinity, leading zeros,
 *     '+' signs, byte order mark, or raw control characters / invalid UTF-8 inside strings.
 *   - No number conversion while parsing: a 400-digit number is kept as text (only its grammar
 *     is checked); sio_json_number() converts on request, correctly rounded.
 *   - No reordering of object keys (JavaScript puts integer-like keys first; callers that relay
 *     client JSON should relay its text).
 *
 * RFC 8259: §2 (JSON text, whitespace, structural characters), §3 (values, literals),
 * §4 (objects; duplicate names are allowed, the last one wins here as in JavaScript),
 * §5 (arrays), §6 (numbers), §7 (strings and escapes), §8.1 (UTF-8), §8.2 (lone surrogates
 * in \u escapes are accepted), §9 (parser limits: nesting depth, text length).
 */
#include "json.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ====== Limits ====== */

/* Longest text sio_json_parse() accepts: token offsets are uint32_t and the token count is an
 * int, and a text of n bytes holds at most n tokens. Longer texts are rejected as _INVAL. */
#define JSON_MAX_TEXT 0x7fffffffu

/* The emitter nests at most this many containers: `nonempty` has one bit per depth and bit 0
 * stands for the top level, which never needs commas. */
#define JW_MAX_DEPTH 63

/* First heap allocation of the emitter when it starts from an empty (NULL/0) buffer. */
#define JW_MIN_HEAP 64

/* sio_json_number() keeps this many significant digits and folds the rest into one "sticky"
 * digit. 768 digits decide the correct rounding of any decimal to a double (the longest exact
 * expansion of a halfway point between two doubles has 767 significant digits). */
#define NUM_MAX_DIGITS 800

/* sio_json_number() clamps decimal exponents to +-NUM_MAX_EXP: far beyond what a double can
 * hold, so strtod still sees overflow to infinity or underflow to zero. */
#define NUM_MAX_EXP 99999L

/* ====== Character classes ====== */

/* JSON whitespace is exactly these four bytes (RFC 8259 §2); \f and \v are not. */
static int is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* 1 for the bytes a string may hold as they are and that end nothing: printable ASCII but '"'
 * (0x22) and '\\' (0x5C). Control characters (< 0x20) must be escaped, and bytes >= 0x80 start
 * UTF-8 sequences, checked one by one. A table keeps the scanner's inner loop to one test. */
static const unsigned char str_plain[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 00..0f */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 10..1f */
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 20..2f: '"' */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 30..3f */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 40..4f */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, /* 50..5f: '\\' */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 60..6f */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 70..7f */
    /* 80..ff: 0 */
};

/* Flags the bytes of the 8 packed in x that are not str_plain: '"', '\\', control characters and
 * bytes >= 0x80 get their high bit set in the result. Byte-wise "has a zero byte" tests (Hacker's
 * Delight, 6-1): (v - 0x01..01) & ~v flags the zero bytes of v, (x - 0x20..20) & ~x the bytes of
 * x below 0x20. A borrow can flag a plain byte too, but only one above a flagged special byte:
 * the result is 0 exactly when all 8 are plain, and its lowest flag marks the first special. */
static uint64_t special_bytes(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101u, high = 0x8080808080808080u;
    uint64_t quote = x ^ (ones * '"'), bslash = x ^ (ones * '\\');
    return (((quote - ones) & ~quote) | ((bslash - ones) & ~bslash) | ((x - ones * 0x20) & ~x) | x) & high;
}

/* Offset of the first byte at or after i that is not str_plain (n if none). Words of 8 bytes are
 * read with memcpy (any alignment), never past s[n]; on a little-endian machine the first
 * special byte of a word is found from its lowest flag, elsewhere byte by byte. */
static inline size_t skip_plain(const unsigned char *s, size_t n, size_t i)
{
    while (n - i >= 8) {
        uint64_t x;
        memcpy(&x, s + i, 8);
        uint64_t hits = special_bytes(x);
        if (hits) {
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            return i + (size_t)__builtin_ctzll(hits) / 8; /* s[i] is the lowest byte of x */
#else
            break;
#endif
        }
        i += 8;
    }
    while (i < n && str_plain[s[i]]) i++;
    return i;
}

/* Value of a hex digit, or -1. */
static int hex_val(unsigned char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* The 16-bit value of four hex digits p[0..4), already checked by scan_string(). */
static uint32_t hex4(const char *p)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) v = (v << 4) | (uint32_t)hex_val((unsigned char)p[i]);
    return v;
}

/* Offset of the first non-whitespace byte at or after off (len if none). */
static size_t skip_ws(const char *js, size_t len, size_t off)
{
    while (off < len && is_ws((unsigned char)js[off])) off++;
    return off;
}

/* ====== UTF-8 ====== */

/* Checks one multi-byte UTF-8 sequence at s[0..n), where n >= 1 and s[0] >= 0x80.
 * With wtf8 set, encoded surrogates (ED A0..BF xx, "WTF-8") are accepted too.
 * Returns its length (2..4) and stores the code point in *cp; 0 if s ends inside a sequence
 * that is well-formed so far; or -k if the first k bytes (k >= 1) are the longest ill-formed
 * prefix ("maximal subpart", the unit a decoder replaces with one U+FFFD). Reads only s[0..n). */
static int utf8_seq(const unsigned char *s, size_t n, int wtf8, uint32_t *cp)
{
    unsigned char c = s[0];
    unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    int need;                           /* total length of the sequence */
    uint32_t v;

    if (c >= 0xC2 && c <= 0xDF) {
        need = 2;
        v = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 3;
        v = c & 0x0F;
        if (c == 0xE0) lo = 0xA0;               /* no overlong forms */
        if (c == 0xED && !wtf8) hi = 0x9F;      /* no surrogates U+D800..DFFF */
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4;
        v = c & 0x07;
        if (c == 0xF0) lo = 0x90;               /* no overlong forms */
        if (c == 0xF4) hi = 0x8F;               /* nothing above U+10FFFF */
    } else {
        return -1; /* 80..C1 (continuation or overlong lead) and F5..FF never start a sequence */
    }
    for (int k = 1; k < need; k++) {
        if ((size_t)k >= n) return 0;
        unsigned char b = s[k];
        if (b < lo || b > hi) return -k;
        lo = 0x80;
        hi = 0xBF;
        v = (v << 6) | (b & 0x3F);
    }
    *cp = v;
    return need;
}

/* Writes code point cp (up to U+10FFFF; surrogates get their 3-byte WTF-8 form) as UTF-8.
 * Returns the number of bytes written to out (1..4). */
static int utf8_put(uint32_t cp, unsigned char out[4])
{
    if (cp < 0x80) {
        out[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (unsigned char)(0xC0 | (cp >> 6));
        out[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (unsigned char)(0xE0 | (cp >> 12));
        out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (unsigned char)(0xF0 | (cp >> 18));
    out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

/* ====== Scalar scanners ======
 * Each takes js[0..len) and the offset of a value's first byte, and returns the offset one past
 * the value, SIO_JSON_ERR_PART if the text ends while the value is still a valid prefix, or
 * SIO_JSON_ERR_INVAL. None reads js[len]. */

/* A string (RFC 8259 §7); js[pos] is the opening quote. Runs of plain bytes are skipped by
 * skip_plain(); only quotes, escapes, control characters and UTF-8 sequences are looked at one
 * by one. */
static long scan_string(const char *js, size_t len, size_t pos)
{
    const unsigned char *s = (const unsigned char *)js;
    size_t i = pos + 1;
    for (;;) {
        i = skip_plain(s, len, i);
        if (i >= len) return SIO_JSON_ERR_PART;
        unsigned char c = s[i];
        if (c == '"') return (long)(i + 1);
        if (c == '\\') {
            if (i + 1 >= len) return SIO_JSON_ERR_PART;
            switch (s[i + 1]) {
            case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
                i += 2;
                break;
            case 'u':
                for (size_t k = i + 2; k < i + 6; k++) {
                    if (k >= len) return SIO_JSON_ERR_PART;
                    if (hex_val(s[k]) < 0) return SIO_JSON_ERR_INVAL;
                }
                i += 6; /* any code unit, lone surrogates included (§8.2) */
                break;
            default:
                return SIO_JSON_ERR_INVAL;
            }
        } else if (c < 0x20) {
            return SIO_JSON_ERR_INVAL; /* control characters must be escaped */
        } else {
            uint32_t cp;
            int n = utf8_seq(s + i, len - i, 0, &cp);
            if (n == 0) return SIO_JSON_ERR_PART;
            if (n < 0) return SIO_JSON_ERR_INVAL;
            i += (size_t)n;
        }
    }
}

/* A number (RFC 8259 §6): -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
 * Any number of digits is fine; only the grammar is checked. The scan stops at the first byte
 * that cannot continue the number, which the caller then judges ("01" stops after "0"). */
static long scan_number(const char *js, size_t len, size_t pos)
{
    size_t i = pos;
    if (js[i] == '-') i++;
    if (i == len) return SIO_JSON_ERR_PART;
    if (js[i] == '0') {
        i++;
    } else if (is_digit((unsigned char)js[i])) {
        while (i < len && is_digit((unsigned char)js[i])) i++;
    } else {
        return SIO_JSON_ERR_INVAL;
    }
    if (i < len && js[i] == '.') {
        i++;
        if (i == len) return SIO_JSON_ERR_PART;
        if (!is_digit((unsigned char)js[i])) return SIO_JSON_ERR_INVAL;
        while (i < len && is_digit((unsigned char)js[i])) i++;
    }
    if (i < len && (js[i] == 'e' || js[i] == 'E')) {
        i++;
        if (i < len && (js[i] == '+' || js[i] == '-')) i++;
        if (i == len) return SIO_JSON_ERR_PART;
        if (!is_digit((unsigned char)js[i])) return SIO_JSON_ERR_INVAL;
        while (i < len && is_digit((unsigned char)js[i])) i++;
    }
    return (long)i;
}

/* One of the literals true, false, null, spelled exactly (lowercase). */
static long scan_literal(const char *js, size_t len, size_t pos, const char *word)
{
    size_t i = pos;
    for (; *word; word++, i++) {
        if (i == len) return SIO_JSON_ERR_PART;
        if (js[i] != *word) return SIO_JSON_ERR_INVAL;
    }
    return (long)i;
}

/* Any scalar (string, number, literal) starting at js[pos], with its type in *type. */
static long scan_scalar(const char *js, size_t len, size_t pos, sio_json_type *type)
{
    switch (js[pos]) {
    case '"':
        *type = SIO_JSON_STRING;
        return scan_string(js, len, pos);
    case 't':
        *type = SIO_JSON_TRUE;
        return scan_literal(js, len, pos, "true");
    case 'f':
        *type = SIO_JSON_FALSE;
        return scan_literal(js, len, pos, "false");
    case 'n':
        *type = SIO_JSON_NULL;
        return scan_literal(js, len, pos, "null");
    default:
        *type = SIO_JSON_NUMBER;
        if (js[pos] == '-' || is_digit((unsigned char)js[pos])) return scan_number(js, len, pos);
        return SIO_JSON_ERR_INVAL;
    }
}

/* ====== The parser ====== */

/* What the parser expects next, after skipping whitespace. */
enum scan_state {
    WANT_VALUE,          /* a value: top level, after ',' in an array, or after ':' */
    WANT_VALUE_OR_CLOSE, /* right after '[': a value or ']' */
    WANT_KEY,            /* after ',' in an object: a string key (and then its ':') */
    WANT_KEY_OR_CLOSE,   /* right after '{': a string key or '}' (and then its ':') */
    WANT_COMMA_OR_CLOSE  /* after a value inside a container */
};

/* One open array or object on the parser's explicit stack. */
struct scan_frame {
    int32_t tok;   /* index of the container's token */
    int32_t key;   /* objects: index of the latest key token (parent of the next value) */
    int is_object; /* 1 for '{', 0 for '[' */
};

/* 1 if token idx has a slot in an array of ntoks (with toks == NULL, ntoks is 0: count only). */
static int fits(long idx, unsigned ntoks)
{
    return idx >= 0 && (unsigned long)idx < ntoks;
}

/* Records token idx if the array has room for it. */
static void put_tok(sio_json_tok *toks, unsigned ntoks, long idx, sio_json_type type,
                    size_t start, size_t end, int32_t parent)
{
    if (!fits(idx, ntoks)) return;
    toks[idx].type = type;
    toks[idx].start = (uint32_t)start;
    toks[idx].end = (uint32_t)end;
    toks[idx].size = 0;
    toks[idx].parent = parent;
}

/* The parsing loop shared by sio_json_parse() and sio_json_value_end(): from js[pos], skips
 * whitespace and scans exactly one value, iteratively, with at most SIO_JSON_MAX_DEPTH open
 * containers. Tokens go to toks[0..ntoks) while they fit; the number of tokens the value needs is
 * stored in *count either way (so a short array still validates the whole text, and _NOMEM is
 * decided by the caller). Returns the offset one past the value or a negative SIO_JSON_ERR_*.
 * Token offsets are only meaningful when len <= JSON_MAX_TEXT (the caller checks). */
static long scan_value(const char *js, size_t len, size_t pos, sio_json_tok *toks,
                       unsigned ntoks, long *count)
{
    struct scan_frame stack[SIO_JSON_MAX_DEPTH];
    int depth = 0;            /* containers open; stack[depth - 1] is the innermost */
    long n = 0;               /* tokens found so far */
    enum scan_state state = WANT_VALUE;

    if (!toks) ntoks = 0;
    *count = 0;
    for (;;) {
        pos = skip_ws(js, len, pos);
        if (pos == len) return SIO_JSON_ERR_PART;
        unsigned char c = (unsigned char)js[pos];
        struct scan_frame *top = depth ? &stack[depth - 1] : NULL;

        switch (state) {
        case WANT_VALUE_OR_CLOSE:
            if (c == ']') break;
            /* fall through */
        case WANT_VALUE: {
            int32_t parent = top ? (top->is_object ? top->key : top->tok) : -1;
            if (top && !top->is_object && fits(top->tok, ntoks)) toks[top->tok].size++;
            if (c == '{' || c == '[') {
                if (depth == SIO_JSON_MAX_DEPTH) return SIO_JSON_ERR_DEPTH;
                sio_json_type t = c == '{' ? SIO_JSON_OBJECT : SIO_JSON_ARRAY;
                put_tok(toks, ntoks, n, t, pos, pos + 1, parent); /* end set when closed */
                stack[depth].tok = (int32_t)n;
                stack[depth].key = -1;
                stack[depth].is_object = c == '{';
                depth++;
                n++;
                pos++;
                state = c == '{' ? WANT_KEY_OR_CLOSE : WANT_VALUE_OR_CLOSE;
                continue;
            }
            sio_json_type t;
            long end = scan_scalar(js, len, pos, &t);
            if (end < 0) return end;
            put_tok(toks, ntoks, n, t, pos, (size_t)end, parent);
            n++;
            pos = (size_t)end;
            if (depth == 0) {
                *count = n;
                return (long)pos;
            }
            state = WANT_COMMA_OR_CLOSE;
            continue;
        }
        case WANT_KEY_OR_CLOSE:
            if (c == '}') break;
            /* fall through */
        case WANT_KEY: {
            if (c != '"') return SIO_JSON_ERR_INVAL;
            long end = scan_string(js, len, pos);
            if (end < 0) return end;
            put_tok(toks, ntoks, n, SIO_JSON_STRING, pos, (size_t)end, top->tok);
            if (fits(top->tok, ntoks)) toks[top->tok].size++;
            top->key = (int32_t)n;
            n++;
            pos = skip_ws(js, len, (size_t)end); /* then the ':' */
            if (pos == len) return SIO_JSON_ERR_PART;
            if (js[pos] != ':') return SIO_JSON_ERR_INVAL;
            pos++;
            state = WANT_VALUE;
            continue;
        }
        case WANT_COMMA_OR_CLOSE:
            if (c == ',') {
                pos++;
                state = top->is_object ? WANT_KEY : WANT_VALUE;
                continue;
            }
            if (c != (top->is_object ? '}' : ']')) return SIO_JSON_ERR_INVAL;
            break;
        }

        /* Only a closing bracket gets here (every other path above continues or returns). */
        if (fits(top->tok, ntoks)) toks[top->tok].end = (uint32_t)(pos + 1);
        depth--;
        pos++;
        if (depth == 0) {
            *count = n;
            return (long)pos;
        }
        state = WANT_COMMA_OR_CLOSE;
    }
}

/* Whole-text parse: one value, optional whitespace around it, nothing else. Tokens are written
 * only while they fit, but the text is always validated to the end first, so _NOMEM is returned
 * only for valid JSON (a bigger array will then succeed), with the first ntoks tokens filled in
 * (each token's end and size are final once the text is scanned). After other errors the
 * contents of toks are unspecified. */
int sio_json_parse(const char *js, size_t len, sio_json_tok *toks, unsigned ntoks)
{
    long count;
    if (!js || len > JSON_MAX_TEXT) return SIO_JSON_ERR_INVAL;
    long end = scan_value(js, len, 0, toks, ntoks, &count);
    if (end < 0) return (int)end;
    if (skip_ws(js, len, (size_t)end) != len) return SIO_JSON_ERR_INVAL; /* trailing garbage */
    if (toks && !fits(count - 1, ntoks)) return SIO_JSON_ERR_NOMEM; /* last token had no slot */
    return (int)count;
}

/* Strict scan of one value (no tokens). Returns the offset one past it, or SIO_JSON_ERR_*.
 * A scalar (an object key, most values) is scanned directly, without the container machinery. */
long sio_json_value_end(const char *js, size_t len, size_t off)
{
    long count;
    sio_json_type type;
    if (!js || off > len || len > (size_t)LONG_MAX) return SIO_JSON_ERR_INVAL;
    off = skip_ws(js, len, off);
    if (off == len) return SIO_JSON_ERR_PART;
    if (js[off] != '{' && js[off] != '[') return scan_scalar(js, len, off, &type);
    return scan_value(js, len, off, NULL, 0, &count);
}

/* ====== Navigation ====== */

sio_str sio_json_trim(sio_str v)
{
    if (!v.p) return v;
    size_t a = skip_ws(v.p, v.len, 0);
    size_t b = v.len;
    while (b > a && is_ws((unsigned char)v.p[b - 1])) b--;
    v.p += a;
    v.len = b - a;
    return v;
}

sio_json_type sio_json_typeof(sio_str v)
{
    v = sio_json_trim(v);
    if (!v.p || v.len == 0) return SIO_JSON_NONE;
    switch (v.p[0]) {
    case '{': return SIO_JSON_OBJECT;
    case '[': return SIO_JSON_ARRAY;
    case '"': return SIO_JSON_STRING;
    case 't': return SIO_JSON_TRUE;
    case 'f': return SIO_JSON_FALSE;
    case 'n': return SIO_JSON_NULL;
    default:
        if (v.p[0] == '-' || is_digit((unsigned char)v.p[0])) return SIO_JSON_NUMBER;
        return SIO_JSON_NONE;
    }
}

/* Iteration state lives entirely in *pos: 0 means "not started"; otherwise it is the offset just
 * past the last element returned (or past the opening bracket). Every element is scanned
 * strictly with sio_json_value_end(), so a malformed container yields -1 at the bad element. */
int sio_json_next(sio_str container, size_t *pos, sio_str *key, sio_str *val)
{
    const char *p = container.p;
    size_t len = container.len;
    if (key) *key = (sio_str){NULL, 0};
    if (val) *val = (sio_str){NULL, 0};
    if (!p || !pos) return -1;

    size_t open = skip_ws(p, len, 0);
    if (open == len || (p[open] != '{' && p[open] != '[')) return -1;
    int is_object = p[open] == '{';
    int first = *pos == 0 || *pos == open + 1;
    size_t i = *pos == 0 ? open + 1 : *pos;
    if (i <= open || i > len) return -1;

    i = skip_ws(p, len, i);
    if (i == len) return -1;
    if (p[i] == (is_object ? '}' : ']')) return 0;
    if (!first) {
        if (p[i] != ',') return -1;
        i = skip_ws(p, len, i + 1);
    }
    if (is_object) {
        if (i == len || p[i] != '"') return -1;
        long kend = sio_json_value_end(p, len, i);
        if (kend < 0) return -1;
        if (key) *key = (sio_str){p + i, (size_t)kend - i};
        i = skip_ws(p, len, (size_t)kend);
        if (i == len || p[i] != ':') return -1;
        i = skip_ws(p, len, i + 1);
    }
    long vend = sio_json_value_end(p, len, i);
    if (vend < 0) {
        if (key) *key = (sio_str){NULL, 0};
        return -1;
    }
    if (val) *val = (sio_str){p + i, (size_t)vend - i};
    *pos = (size_t)vend;
    return 1;
}

static int valid_str_eq(sio_str s, const char *cstr); /* with sio_json_str_eq(), below */

/* Walks the whole object, because a later duplicate key overrides an earlier one; any malformed
 * member makes the whole lookup absent. Each key is scanned once (by sio_json_next), then
 * compared with every wanted key without a second scan. */
int sio_json_get_n(sio_str obj, const char *const *keys, sio_str *vals, int n)
{
    sio_str k, v;
    size_t pos = 0;
    int r;
    if (n < 0 || (n > 0 && (!keys || !vals))) return -1;
    for (int i = 0; i < n; i++) vals[i] = (sio_str){NULL, 0};
    if (sio_json_typeof(obj) != SIO_JSON_OBJECT) return -1;
    while ((r = sio_json_next(obj, &pos, &k, &v)) == 1)
        for (int i = 0; i < n; i++)
            if (keys[i] && valid_str_eq(k, keys[i])) vals[i] = v;
    if (r == 0) return 0;
    for (int i = 0; i < n; i++) vals[i] = (sio_str){NULL, 0};
    return -1;
}

sio_str sio_json_get(sio_str obj, const char *key)
{
    sio_str v;
    return key && sio_json_get_n(obj, &key, &v, 1) == 0 ? v : (sio_str){NULL, 0};
}

/* Stops at element i: the elements after it are not checked. */
sio_str sio_json_at(sio_str arr, int i)
{
    sio_str none = {NULL, 0}, v;
    size_t pos = 0;
    if (i < 0 || sio_json_typeof(arr) != SIO_JSON_ARRAY) return none;
    for (int k = 0; sio_json_next(arr, &pos, NULL, &v) == 1; k++)
        if (k == i) return v;
    return none;
}

/* Checks the whole container; -1 also if it is malformed anywhere. */
int sio_json_count(sio_str v)
{
    size_t pos = 0;
    int n = 0, r;
    sio_json_type t = sio_json_typeof(v);
    if (t != SIO_JSON_OBJECT && t != SIO_JSON_ARRAY) return -1;
    while ((r = sio_json_next(v, &pos, NULL, NULL)) == 1)
        if (n++ == INT_MAX) return -1;
    return r == 0 ? n : -1;
}

/* Trims s and checks that it is exactly one well-formed string. Returns 1 and stores the slice
 * (quotes included) in *out, else 0. */
static int exact_string(sio_str s, sio_str *out)
{
    s = sio_json_trim(s);
    if (!s.p || s.len < 2 || s.p[0] != '"') return 0;
    if (scan_string(s.p, s.len, 0) != (long)s.len) return 0;
    *out = s;
    return 1;
}

/* Decodes the next character of a well-formed string body s[*i..end) into out, as UTF-8 (or
 * WTF-8 for a lone surrogate escape); an escaped pair \uD8xx\uDCxx becomes one 4-byte sequence.
 * Raw bytes are passed through one at a time (they are valid UTF-8 already).
 * Returns the number of bytes stored (1..4), or 0 at the end. */
static int next_char(const char *s, size_t end, size_t *i, unsigned char out[4])
{
    size_t k = *i;
    if (k >= end) return 0;
    if (s[k] != '\\') {
        out[0] = (unsigned char)s[k];
        *i = k + 1;
        return 1;
    }
    char e = s[k + 1];
    *i = k + 2;
    switch (e) {
    case 'b': out[0] = '\b'; return 1;
    case 'f': out[0] = '\f'; return 1;
    case 'n': out[0] = '\n'; return 1;
    case 'r': out[0] = '\r'; return 1;
    case 't': out[0] = '\t'; return 1;
    case 'u': break;
    default: out[0] = (unsigned char)e; return 1; /* " \ / */
    }
    uint32_t cp = hex4(s + k + 2);
    *i = k + 6;
    if (cp >= 0xD800 && cp <= 0xDBFF && k + 12 <= end && s[k + 6] == '\\' && s[k + 7] == 'u') {
        uint32_t lo = hex4(s + k + 8);
        if (lo >= 0xDC00 && lo <= 0xDFFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            *i = k + 12;
        }
    }
    return utf8_put(cp, out);
}

/* On failure dst still holds a C string (empty) when cap > 0. A string without escapes is its
 * own decoding (scan_string checked its UTF-8), copied in one go. */
long sio_json_unescape(sio_str s, char *dst, size_t cap)
{
    sio_str q;
    size_t n = 0, i;
    unsigned char c[4];
    int k;
    if (!dst || cap == 0) return -1;
    dst[0] = '\0';
    if (!exact_string(s, &q)) return -1;
    if (!memchr(q.p + 1, '\\', q.len - 2)) {
        n = q.len - 2;
        if (n >= cap) return -1;
        memcpy(dst, q.p + 1, n);
        dst[n] = '\0';
        return (long)n;
    }
    i = 1;
    while ((k = next_char(q.p, q.len - 1, &i, c)) > 0) {
        if ((size_t)k >= cap - n) {
            dst[0] = '\0';
            return -1;
        }
        memcpy(dst + n, c, (size_t)k);
        n += (size_t)k;
    }
    dst[n] = '\0';
    return (long)n;
}

/* Decodes and compares as it goes; a decoded \u0000 never matches (cstr ends at its NUL). A
 * string without escapes decodes to its own bytes (none of them NUL), compared in one go. */
int sio_json_str_eq(sio_str s, const char *cstr)
{
    sio_str q;
    return cstr && exact_string(s, &q) && valid_str_eq(q, cstr);
}

/* sio_json_str_eq() for a string s already checked by scan_string() (quotes included, no space
 * around it), so not checked again. */
static int valid_str_eq(sio_str s, const char *cstr)
{
    size_t i = 1;
    unsigned char c[4];
    int k;
    for (; i < s.len - 1 && s.p[i] != '\\'; i++, cstr++) /* raw bytes (never NUL) compare as they are */
        if (*cstr != s.p[i]) return 0;
    while ((k = next_char(s.p, s.len - 1, &i, c)) > 0) {
        for (int j = 0; j < k; j++, cstr++)
            if (*cstr == '\0' || (unsigned char)*cstr != c[j]) return 0;
    }
    return *cstr == '\0';
}

/* Converts a number already checked against the grammar. strtod() needs a NUL-terminated,
 * bounded copy, and must not see a locale-dependent decimal point, so the text is rewritten as
 * [-]DIGITSe<exp> with the leading zeros dropped, at most NUM_MAX_DIGITS significant digits kept
 * (plus one '1' if any nonzero digit was dropped, which keeps halfway cases rounding the right
 * way), and the exponent clamped to +-NUM_MAX_EXP. The result is correctly rounded. */
static double number_value(const char *p, size_t len)
{
    char buf[NUM_MAX_DIGITS + 32];
    size_t i = 0, nd = 0;  /* input offset; digits kept in buf (after the sign) */
    long long shift = 0;   /* value = kept digits * 10^(shift + written exponent) */
    int neg = 0, sticky = 0, seen_point = 0;
    long long e = 0;

    if (p[0] == '-') {
        neg = 1;
        i = 1;
    }
    buf[0] = '-';
    for (; i < len && (is_digit((unsigned char)p[i]) || p[i] == '.'); i++) {
        if (p[i] == '.') {
            seen_point = 1;
            continue;
        }
        if (nd == 0 && p[i] == '0') {           /* leading zero: only moves the point */
            if (seen_point) shift--;
            continue;
        }
        if (nd < NUM_MAX_DIGITS) {
            buf[1 + nd++] = p[i];
            if (seen_point) shift--;
        } else {                                /* dropped digit */
            if (p[i] != '0') sticky = 1;
            if (!seen_point) shift++;
        }
    }
    if (nd == 0) return neg ? -0.0 : 0.0;
    if (sticky) {
        buf[1 + nd++] = '1';
        shift--;
    }
    if (i < len) { /* 'e' or 'E' */
        int eneg = 0;
        i++;
        if (p[i] == '+' || p[i] == '-') eneg = p[i++] == '-';
        for (; i < len; i++)
            if (e < 100000000LL) e = e * 10 + (p[i] - '0'); /* saturates well past NUM_MAX_EXP */
        if (eneg) e = -e;
    }
    e += shift;
    if (e > NUM_MAX_EXP) e = NUM_MAX_EXP;
    if (e < -NUM_MAX_EXP) e = -NUM_MAX_EXP;
    snprintf(buf + 1 + nd, sizeof buf - 1 - nd, "e%lld", e);
    return strtod(neg ? buf : buf + 1, NULL);
}

/* Numbers too large for a double give +-HUGE_VAL, as JavaScript gives +-Infinity. */
int sio_json_number(sio_str v, double *out)
{
    v = sio_json_trim(v);
    if (!v.p || v.len == 0) return -1;
    if (v.p[0] != '-' && !is_digit((unsigned char)v.p[0])) return -1;
    if (scan_number(v.p, v.len, 0) != (long)v.len) return -1;
    double d = number_value(v.p, v.len);
    if (out) *out = d;
    return 0;
}

/* Malformed text counts as absent (false). A number that underflows to 0 (1e-400) is false, as
 * in JavaScript. */
int sio_json_truthy(sio_str v)
{
    double d;
    v = sio_json_trim(v);
    if (!v.p || v.len == 0) return 0;
    if (sio_json_value_end(v.p, v.len, 0) != (long)v.len) return 0;
    switch (sio_json_typeof(v)) {
    case SIO_JSON_OBJECT:
    case SIO_JSON_ARRAY:
    case SIO_JSON_TRUE:
        return 1;
    case SIO_JSON_STRING:
        return v.len > 2;
    case SIO_JSON_NUMBER:
        return sio_json_number(v, &d) == 0 && d != 0.0;
    default:
        return 0;
    }
}

/* ====== Emitter: buffer ====== */

void sio_jw_init(sio_jw *w, char *buf, size_t cap)
{
    w->buf = buf;
    w->len = 0;
    w->cap = buf ? cap : 0;
    w->heap = 0;
    w->err = 0;
    w->depth = 0;
    w->after_key = 0;
    w->nonempty = 0;
    w->objects = 0;
}

void sio_jw_free(sio_jw *w)
{
    if (!w) return;
    if (w->heap) free(w->buf);
    sio_jw_init(w, NULL, 0);
}

/* Makes room for n more bytes, moving to (or growing on) the heap by doubling; the caller's
 * buffer is never freed or written past its cap. Returns 1 if the room is there, 0 (with w->err
 * set) if the writer has failed. */
static int jw_reserve(sio_jw *w, size_t n)
{
    if (w->err) return 0;
    if (n <= w->cap - w->len) return 1;
    if (n > SIZE_MAX - w->len) {
        w->err = 1;
        return 0;
    }
    size_t need = w->len + n;
    size_t cap = w->cap ? w->cap : JW_MIN_HEAP;
    while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *p = w->heap ? realloc(w->buf, cap) : malloc(cap);
    if (!p) {
        w->err = 1;
        return 0;
    }
    if (!w->heap && w->len) memcpy(p, w->buf, w->len);
    w->buf = p;
    w->cap = cap;
    w->heap = 1;
    return 1;
}

/* Appends n bytes, unless the writer has failed. With room left this is a compare and a copy,
 * small enough to inline where n is a constant (a bracket, a quote, a comma). */
static inline void jw_put(sio_jw *w, const void *p, size_t n)
{
    if (n == 0 || w->err) return;
    if (n > w->cap - w->len && !jw_reserve(w, n)) return;
    memcpy(w->buf + w->len, p, n);
    w->len += n;
}

void sio_jw_bytes(sio_jw *w, const void *p, size_t n)
{
    jw_put(w, p, n);
}

/* ====== Emitter: structure ====== */

/* Called before every value or key: writes the ',' that separates it from the previous element
 * of the same container. A value right after a key needs none. The top level (depth 0) never
 * gets commas; a caller writing several top-level texts frames them with sio_jw_bytes(). */
static void jw_element(sio_jw *w)
{
    uint64_t bit = (uint64_t)1 << w->depth;
    if (w->after_key) {
        w->after_key = 0;
        return;
    }
    if (w->depth == 0) return;
    if (w->nonempty & bit) jw_put(w, ",", 1);
    w->nonempty |= bit;
}

/* Opens a container; the one that would be JW_MAX_DEPTH + 1 deep sets err instead. */
static void jw_open(sio_jw *w, char c)
{
    if (w->err) return;
    if (w->depth >= JW_MAX_DEPTH) {
        w->err = 1;
        return;
    }
    jw_element(w);
    jw_put(w, &c, 1);
    w->depth++;
    w->nonempty &= ~((uint64_t)1 << w->depth);
    if (c == '{') w->objects |= (uint64_t)1 << w->depth;
    else w->objects &= ~((uint64_t)1 << w->depth);
}

void sio_jw_obj(sio_jw *w)
{
    jw_open(w, '{');
}

void sio_jw_arr(sio_jw *w)
{
    jw_open(w, '[');
}

/* Closing with nothing open, or right after a key, is a caller bug: it sets err. */
void sio_jw_end(sio_jw *w)
{
    if (w->err) return;
    if (w->depth == 0 || w->after_key) {
        w->err = 1;
        return;
    }
    jw_put(w, (w->objects >> w->depth) & 1 ? "}" : "]", 1);
    w->depth--;
}

/* ====== Emitter: values ====== */

/* Writes the body of a string (no quotes) as JSON.stringify escapes it. Runs of bytes that need
 * no escape are copied in one go. */
static void jw_escape(sio_jw *w, const unsigned char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t run = 0; /* start of the pending raw run */
    size_t i = 0;
    while (i < n && !w->err) {
        i = skip_plain(s, n, i);
        if (i == n) break;
        unsigned char c = s[i];
        char esc[8];
        size_t elen = 0, skip = 1;
        if (c >= 0x80) {
            uint32_t cp = 0;
            int k = utf8_seq(s + i, n - i, 1, &cp);
            if (k > 0 && (cp < 0xD800 || cp > 0xDFFF)) {
                i += (size_t)k; /* well-formed, not a surrogate: stays raw */
                continue;
            }
            if (k > 0) {        /* WTF-8 surrogate: \udxxx */
                skip = (size_t)k;
            } else {            /* ill-formed: one \ufffd per maximal subpart */
                cp = 0xFFFD;
                skip = k == 0 ? n - i : (size_t)-k;
            }
            memcpy(esc, "\\u", 2);
            esc[2] = hex[(cp >> 12) & 0xF];
            esc[3] = hex[(cp >> 8) & 0xF];
            esc[4] = hex[(cp >> 4) & 0xF];
            esc[5] = hex[cp & 0xF];
            elen = 6;
        } else {
            esc[0] = '\\';
            elen = 2;
            switch (c) {
            case '"': esc[1] = '"'; break;
            case '\\': esc[1] = '\\'; break;
            case '\b': esc[1] = 'b'; break;
            case '\t': esc[1] = 't'; break;
            case '\n': esc[1] = 'n'; break;
            case '\f': esc[1] = 'f'; break;
            case '\r': esc[1] = 'r'; break;
            default:
                memcpy(esc, "\\u00", 4);
                esc[4] = hex[c >> 4];
                esc[5] = hex[c & 0xF];
                elen = 6;
            }
        }
        jw_put(w, s + run, i - run);
        jw_put(w, esc, elen);
        i += skip;
        run = i;
    }
    jw_put(w, s + run, i - run);
}

void sio_jw_strn(sio_jw *w, const char *s, size_t n)
{
    if (w->err) return;
    jw_element(w);
    jw_put(w, "\"", 1);
    if (s) jw_escape(w, (const unsigned char *)s, n);
    jw_put(w, "\"", 1);
}

/* A NULL string is written as null. */
void sio_jw_str(sio_jw *w, const char *s)
{
    if (!s) {
        sio_jw_null(w);
        return;
    }
    sio_jw_strn(w, s, strlen(s));
}

/* Keys take part in the comma logic like values; the value that follows gets no comma. */
void sio_jw_key(sio_jw *w, const char *k)
{
    if (w->err) return;
    jw_element(w);
    jw_put(w, "\"", 1);
    if (k) jw_escape(w, (const unsigned char *)k, strlen(k));
    jw_put(w, "\":", 2);
    w->after_key = 1;
}

void sio_jw_raw(sio_jw *w, const char *json, size_t n)
{
    if (w->err) return;
    jw_element(w);
    jw_put(w, json, n);
}

void sio_jw_int(sio_jw *w, long long v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof tmp, "%lld", v);
    sio_jw_raw(w, tmp, (size_t)n);
}

void sio_jw_bool(sio_jw *w, int v)
{
    if (v) sio_jw_raw(w, "true", 4);
    else sio_jw_raw(w, "false", 5);
}

void sio_jw_null(sio_jw *w)
{
    sio_jw_raw(w, "null", 4);
}

/* ====== Emitter: numbers as JavaScript prints them ====== */

/* 1 if the decimal digits d[0..k) times 10^exp read back (strtod) as exactly v. The text has no
 * decimal point, so the locale cannot change its meaning. */
static int round_trips(const char *d, int k, int exp, double v)
{
    char buf[48];
    snprintf(buf, sizeof buf, "%.*se%d", k, d, exp);
    return strtod(buf, NULL) == v;
}

/* Finds the shortest digit string d (k digits, no trailing zeros) such that 0.d * 10^point reads
 * back as v (finite, > 0), choosing the one closest to v when several have k digits -- the
 * digits Number.prototype.toString prints (ECMA-262 Number::toString). For each precision p
 * the correctly rounded p-digit decimal (from printf) is the closest candidate; when v is a
 * power of two its rounding interval is twice as wide above as below, so if that candidate lies
 * below v and misses, the next p-digit decimal up may still hit, and is tried too.
 * Returns k (1..17). */
static int shortest_digits(double v, char d[24], int *point)
{
    for (int p = 1; p <= 17; p++) {
        char tmp[48];
        int k = 0, exp;
        const char *e;
        snprintf(tmp, sizeof tmp, "%.*e", p - 1, v);
        e = strchr(tmp, 'e');
        for (const char *c = tmp; c < e; c++)
            if (is_digit((unsigned char)*c)) d[k++] = *c; /* skips the decimal point */
        exp = atoi(e + 1) - (p - 1); /* v ~= d * 10^exp */
        int ok = round_trips(d, k, exp, v);
        if (!ok) { /* try d + 1 in the last place */
            int j = k - 1;
            while (j >= 0 && d[j] == '9') d[j--] = '0';
            if (j >= 0) {
                d[j]++;
            } else { /* 99..9 + 1 = 100..0: one more digit, drop the last zero */
                d[0] = '1';
                exp++;
            }
            ok = round_trips(d, k, exp, v);
        }
        if (ok) {
            while (k > 1 && d[k - 1] == '0') {
                k--;
                exp++;
            }
            *point = exp + k;
            return k;
        }
    }
    /* Not reached: 17 significant digits always round-trip a double. */
    *point = 0;
    d[0] = '0';
    return 1;
}

/* Lays out digits d[0..k) with the decimal point `point` places from their start (value =
 * 0.d * 10^point), following ECMA-262 Number::toString: plain notation for 1e-6 <= |v| < 1e21,
 * otherwise d.ddde+N / d.ddde-N. Returns the length written to out (at most 32 bytes). */
static size_t js_layout(char *out, int neg, const char *d, int k, int point)
{
    size_t n = 0;
    if (neg) out[n++] = '-';
    if (point >= k && point <= 21) {            /* integer: digits, then zeros */
        memcpy(out + n, d, (size_t)k);
        n += (size_t)k;
        for (int z = k; z < point; z++) out[n++] = '0';
    } else if (point > 0 && point <= 21) {      /* point inside the digits */
        memcpy(out + n, d, (size_t)point);
        n += (size_t)point;
        out[n++] = '.';
        memcpy(out + n, d + point, (size_t)(k - point));
        n += (size_t)(k - point);
    } else if (point > -6 && point <= 0) {      /* 0.000ddd */
        out[n++] = '0';
        out[n++] = '.';
        for (int z = point; z < 0; z++) out[n++] = '0';
        memcpy(out + n, d, (size_t)k);
        n += (size_t)k;
    } else {                                    /* exponent form */
        int e = point - 1;
        out[n++] = d[0];
        if (k > 1) {
            out[n++] = '.';
            memcpy(out + n, d + 1, (size_t)(k - 1));
            n += (size_t)(k - 1);
        }
        n += (size_t)snprintf(out + n, 8, "e%c%d", e < 0 ? '-' : '+', e < 0 ? -e : e);
    }
    return n;
}

void sio_jw_double(sio_jw *w, double v)
{
    char d[24], out[48];
    int point, k;
    if (isnan(v) || isinf(v)) {
        sio_jw_null(w);
        return;
    }
    if (v == 0.0) { /* 0 and -0 alike */
        sio_jw_raw(w, "0", 1);
        return;
    }
    k = shortest_digits(fabs(v), d, &point);
    sio_jw_raw(w, out, js_layout(out, v < 0, d, k, point));
}
