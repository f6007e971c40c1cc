/* SPDX-License-Identifier: MIT */
/* msgpack.c -- MessagePack <-> JSON text, compatible with notepack.io (see msgpack.h for the API
 * and the mapping table).
 *
 * What it does:
 *   - sio_msgpack_head() is the one place that reads a msgpack prefix byte and its length fields;
 *     every length is checked against the bytes that remain before anything is read past it.
 *   - sio_msgpack_to_json() walks one value with an explicit stack (no recursion) and writes what
 *     JSON.stringify(notepack.decode(bytes)) would write, turning bins into Socket.IO placeholders
 *     and reporting the bins' slices. sio_msgpack_skip() is the same walk without output.
 *   - sio_msgpack_from_json() goes back: JSON text -> the bytes notepack.encode(JSON.parse(text))
 *     gives, with placeholders replaced by the caller's attachments.
 *
 * What it deliberately does not do:
 *   - No DOM: decoding streams straight into the JSON writer; encoding reads the JSON text through
 *     json.h's navigation functions.
 *   - No general ext support: only what notepack writes (timestamp -1, and notepack 2's legacy
 *     undefined/ArrayBuffer/Date under type 0); any other ext becomes null.
 *   - No leniency on text: a str must be valid UTF-8 (notepack would decode bad bytes to U+FFFD;
 *     a peer that sends them is broken, and the message is dropped).
 *   - No JavaScript key ordering (integer-like keys first) and no duplicate-key merging: keys are
 *     written in msgpack order, which is the order notepack wrote them.
 *
 * Spec: msgpack spec.md "Formats" (nil, bool, int, float, str, bin, array, map, ext) and
 * "Timestamp extension type"; ECMA-262 Date.prototype.toISOString / TimeClip for dates.
 */
#include "msgpack.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TWO_53 9007199254740992.0 /* 2^53: integers up to this print exactly as doubles */
#define TWO_63 9223372036854775808.0
#define TWO_64 18446744073709551616.0
#define MS_PER_DAY 86400000LL
#define JS_MAX_TIME 8.64e15 /* ECMA-262 TimeClip: |t| beyond this is an invalid Date */


/* 1 if the finite double v has no fractional part. Doubles of magnitude 2^53 and above are all
 * integers; below, a round trip through int64_t tells (no libm needed, so no -lm to link). */
static int is_integral(double v)
{
    if (v >= 9007199254740992.0 || v <= -9007199254740992.0) return 1;
    return (double)(int64_t)v == v;
}

/* ====== Reading headers ====== */

/* Big-endian unsigned integer of n bytes (n <= 8). */
static uint64_t be(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++) v = v << 8 | p[i];
    return v;
}

/* The two's-complement value of the low `bits` bits of v. */
static int64_t sign_extend(uint64_t v, int bits)
{
    if (bits < 64 && (v >> (bits - 1) & 1)) v |= ~(uint64_t)0 << bits;
    return (int64_t)v; /* two's complement on every platform sio targets */
}

long sio_msgpack_head(const unsigned char *p, size_t len, sio_mp_head *h)
{
    size_t hdr = 1; /* bytes before the payload */
    int lb = 0;     /* width of a length field that follows the prefix */
    memset(h, 0, sizeof *h);
    if (len == 0) return SIO_MP_ERR_TRUNC;
    unsigned c = p[0];
    if (c <= 0x7f) {
        h->kind = SIO_MP_UINT;
        h->u = c;
        return 1;
    }
    if (c >= 0xe0) {
        h->kind = SIO_MP_INT;
        h->i = (int64_t)c - 256;
        return 1;
    }
    if (c <= 0x8f || (c >= 0x90 && c <= 0x9f)) {
        h->kind = c <= 0x8f ? SIO_MP_MAP : SIO_MP_ARRAY;
        h->u = c & 0x0f;
        goto count;
    }
    if (c >= 0xa0 && c <= 0xbf) {
        h->kind = SIO_MP_STR;
        h->u = c & 0x1f;
        goto payload;
    }
    switch (c) {
    case 0xc0:
        h->kind = SIO_MP_NIL;
        return 1;
    case 0xc2:
    case 0xc3:
        h->kind = SIO_MP_BOOL;
        h->u = c & 1;
        return 1;
    case 0xc4: case 0xc5: case 0xc6:             /* bin 8/16/32 */
        h->kind = SIO_MP_BIN;
        lb = 1 << (c - 0xc4);
        break;
    case 0xd9: case 0xda: case 0xdb:             /* str 8/16/32 */
        h->kind = SIO_MP_STR;
        lb = 1 << (c - 0xd9);
        break;
    case 0xc7: case 0xc8: case 0xc9:             /* ext 8/16/32: length, then type */
        h->kind = SIO_MP_EXT;
        lb = 1 << (c - 0xc7);
        if (len < 2u + (size_t)lb) return SIO_MP_ERR_TRUNC;
        h->u = be(p + 1, lb);
        h->ext_type = (int)sign_extend(p[1 + lb], 8);
        hdr = 2 + (size_t)lb;
        goto payload;
    case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8: /* fixext 1/2/4/8/16: type only */
        h->kind = SIO_MP_EXT;
        if (len < 2) return SIO_MP_ERR_TRUNC;
        h->u = 1u << (c - 0xd4);
        h->ext_type = (int)sign_extend(p[1], 8);
        hdr = 2;
        goto payload;
    case 0xca:
    case 0xcb: {
        int n = c == 0xca ? 4 : 8;
        if (len < 1u + (size_t)n) return SIO_MP_ERR_TRUNC;
        h->kind = SIO_MP_FLOAT;
        uint64_t bits = be(p + 1, n);
        if (n == 4) {
            uint32_t b32 = (uint32_t)bits;
            float f;
            memcpy(&f, &b32, 4);
            h->d = f;
        } else {
            memcpy(&h->d, &bits, 8);
        }
        return 1 + n;
    }
    case 0xcc: case 0xcd: case 0xce: case 0xcf: /* uint 8/16/32/64 */
    case 0xd0: case 0xd1: case 0xd2: case 0xd3: { /* int 8/16/32/64 */
        int is_int = c >= 0xd0;
        int n = 1 << (c - (is_int ? 0xd0 : 0xcc));
        if (len < 1u + (size_t)n) return SIO_MP_ERR_TRUNC;
        uint64_t v = be(p + 1, n);
        h->kind = is_int ? SIO_MP_INT : SIO_MP_UINT;
        if (is_int) h->i = sign_extend(v, 8 * n);
        else h->u = v;
        return 1 + n;
    }
    case 0xdc: case 0xdd:                        /* array 16/32 */
    case 0xde: case 0xdf:                        /* map 16/32 */
        h->kind = c <= 0xdd ? SIO_MP_ARRAY : SIO_MP_MAP;
        lb = (c == 0xdc || c == 0xde) ? 2 : 4;
        if (len < 1u + (size_t)lb) return SIO_MP_ERR_TRUNC;
        h->u = be(p + 1, lb);
        hdr = 1 + (size_t)lb;
        goto count;
    default: /* 0xc1: never used */
        return SIO_MP_ERR_INVAL;
    }
    /* bin / str 8/16/32: a length field, then the payload */
    if (len < 1u + (size_t)lb) return SIO_MP_ERR_TRUNC;
    h->u = be(p + 1, lb);
    hdr = 1 + (size_t)lb;
payload:
    if (hdr > len || h->u > len - hdr) return SIO_MP_ERR_TRUNC;
    h->data = p + hdr;
    return (long)hdr;
count:
    /* Every element takes at least one byte (a pair two): a count the remaining bytes cannot
     * hold is a truncated value, found before anything is walked. */
    if (h->u > (len - hdr) / (h->kind == SIO_MP_MAP ? 2 : 1)) return SIO_MP_ERR_TRUNC;
    return (long)hdr;
}

/* ====== UTF-8 and dates ====== */

/* 1 if p[0..n) is well-formed UTF-8 (RFC 3629: no overlongs, no surrogates, <= U+10FFFF). */
static int utf8_ok(const unsigned char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t k;
        unsigned lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
        if (c >= 0xc2 && c <= 0xdf) k = 2;
        else if (c >= 0xe0 && c <= 0xef) {
            k = 3;
            if (c == 0xe0) lo = 0xa0; /* overlong */
            if (c == 0xed) hi = 0x9f; /* surrogates */
        } else if (c >= 0xf0 && c <= 0xf4) {
            k = 4;
            if (c == 0xf0) lo = 0x90; /* overlong */
            if (c == 0xf4) hi = 0x8f; /* above U+10FFFF */
        } else {
            return 0;
        }
        if (n - i < k || p[i + 1] < lo || p[i + 1] > hi) return 0;
        for (size_t j = 2; j < k; j++)
            if ((p[i + j] & 0xc0) != 0x80) return 0;
        i += k;
    }
    return 1;
}

/* Days since 1970-01-01 -> proleptic Gregorian year, month (1-12), day (1-31). Howard Hinnant's
 * civil_from_days (http://howardhinnant.github.io/date_algorithms.html), exact for any int64
 * day count a JavaScript Date can hold. */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);                            /* [0, 146096] */
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;   /* [0, 399] */
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                 /* [0, 365] */
    unsigned mp = (5 * doy + 2) / 153;                                      /* [0, 11] */
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* Writes what JSON.stringify(new Date(t)) writes: the ISO string of TimeClip(t), or null for an
 * invalid date (not finite, or more than 8.64e15 ms from the epoch). Years 0..9999 take four
 * digits, others a sign and six ("+275760-09-13T00:00:00.000Z"), as toISOString does. */
static void write_date(sio_jw *w, double t)
{
    if (!isfinite(t) || (t < 0 ? -t : t) > JS_MAX_TIME) {
        sio_jw_null(w);
        return;
    }
    int64_t ms = (int64_t)t; /* TimeClip: ToIntegerOrInfinity truncates toward zero, as the cast does
                                (|t| <= JS_MAX_TIME fits an int64_t) */
    int64_t days = ms / MS_PER_DAY, rem = ms % MS_PER_DAY;
    if (rem < 0) {
        rem += MS_PER_DAY;
        days--;
    }
    int64_t y;
    unsigned mo, d;
    civil_from_days(days, &y, &mo, &d);
    unsigned hh = (unsigned)(rem / 3600000), mi = (unsigned)(rem / 60000 % 60);
    unsigned ss = (unsigned)(rem / 1000 % 60), mss = (unsigned)(rem % 1000);
    char buf[40];
    int n;
    if (y >= 0 && y <= 9999)
        n = snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02u:%02u:%02u.%03uZ", (int)y, mo, d, hh, mi, ss, mss);
    else
        n = snprintf(buf, sizeof buf, "%c%06d-%02u-%02uT%02u:%02u:%02u.%03uZ", y < 0 ? '-' : '+',
                     (int)(y < 0 ? -y : y), mo, d, hh, mi, ss, mss);
    sio_jw_strn(w, buf, (size_t)n);
}

/* The JavaScript time value notepack's decoder builds for a date ext, computed with the same
 * double operations (so rounding matches), or NAN for a shape notepack would not read as a date.
 * `prefix` is the format byte (0xd6/0xd7/0xc7), h the ext's header. */
static double ext_time(unsigned prefix, const sio_mp_head *h)
{
    const unsigned char *q = h->data;
    if (h->ext_type == 0 && prefix == 0xd7) { /* notepack 2: int64 milliseconds */
        return (double)sign_extend(be(q, 4), 32) * 4294967296.0 + (double)be(q + 4, 4);
    }
    if (prefix == 0xd6) /* timestamp 32: uint32 seconds */
        return (double)be(q, 4) * 1e3;
    if (prefix == 0xd7) { /* timestamp 64: 30-bit nanoseconds, 34-bit seconds */
        uint64_t hi = be(q, 4), lo = be(q + 4, 4);
        double s = (double)(hi & 3) * 4294967296.0 + (double)lo;
        return s * 1e3 + (double)(hi >> 2) / 1e6;
    }
    /* timestamp 96 (ext 8, length 12): uint32 nanoseconds, int64 seconds */
    double ns = (double)be(q, 4);
    double s = (double)sign_extend(be(q + 4, 4), 32) * 4294967296.0 + (double)be(q + 8, 4);
    return s * 1e3 + ns / 1e6;
}

/* ====== msgpack -> JSON ====== */

/* One walk over one value: shared by sio_msgpack_to_json() and sio_msgpack_skip(). */
struct walk {
    const unsigned char *p; /* input */
    size_t len;             /* input length */
    sio_jw *w;              /* output, or NULL to validate only */
    sio_mp_bin *bins;       /* where bins are recorded (may be NULL when max_bins is 0) */
    int nbins;              /* bins seen so far */
    int max_bins;           /* capacity of bins[]; more bins are an error */
    int count_only;         /* 1: bins are counted, not recorded or limited (skip) */
};

/* One open array or map. */
struct frame {
    uint64_t left; /* elements (arrays) or pairs (maps) still to come */
    int is_map;    /* 1 for a map */
    int want_key;  /* maps: 1 when the next item is a key */
};

/* Opens a JSON container in the writer. Returns 0, or the error: DEPTH when the writer refused to
 * nest deeper (its cap is 63 levels; it then leaves its depth unchanged), NOMEM when it could not
 * grow (its depth then moved on). */
static int open_json(sio_jw *w, int is_map)
{
    if (!w) return 0;
    int d = w->depth;
    if (is_map) sio_jw_obj(w);
    else sio_jw_arr(w);
    if (!w->err) return 0;
    return w->depth == d ? SIO_MP_ERR_DEPTH : SIO_MP_ERR_NOMEM;
}

/* A bin: recorded, and written as {"_placeholder":true,"num":N}. `depth` is the nesting it sits
 * in; the placeholder object adds one level. */
static int put_bin_ref(struct walk *k, const unsigned char *data, size_t n, int depth)
{
    if (depth >= SIO_MSGPACK_MAX_DEPTH) return SIO_MP_ERR_DEPTH;
    if (!k->count_only) {
        if (k->nbins >= k->max_bins) return SIO_MP_ERR_BINS;
        k->bins[k->nbins].data = data;
        k->bins[k->nbins].len = n;
    }
    if (k->nbins == INT_MAX) return SIO_MP_ERR_BINS;
    int num = k->nbins++;
    if (!k->w) return 0;
    int r = open_json(k->w, 1);
    if (r) return r;
    sio_jw_key(k->w, "_placeholder");
    sio_jw_bool(k->w, 1);
    sio_jw_key(k->w, "num");
    sio_jw_int(k->w, num);
    sio_jw_end(k->w);
    return 0;
}

/* An integer: exact below 2^53 in magnitude, otherwise as JavaScript prints the double that
 * notepack's hi * 2^32 + lo gives (the same correctly rounded value as the C conversion). */
static void put_uint_json(sio_jw *w, uint64_t u)
{
    if (u <= (uint64_t)TWO_53) sio_jw_int(w, (long long)u);
    else sio_jw_double(w, (double)u);
}

static void put_int_json(sio_jw *w, int64_t i)
{
    if (i >= -(int64_t)TWO_53 && i <= (int64_t)TWO_53) sio_jw_int(w, (long long)i);
    else sio_jw_double(w, (double)i);
}

/* An ext value (other than undefined as a map value, which the map code drops with its key). */
static int put_ext(struct walk *k, unsigned prefix, const sio_mp_head *h, int depth)
{
    int t = h->ext_type;
    if (t == 0 && prefix >= 0xc7 && prefix <= 0xc9) /* notepack 2 ArrayBuffer: binary */
        return put_bin_ref(k, h->data, (size_t)h->u, depth);
    if (t == -1 && prefix == 0xc7 && h->u != 12) return SIO_MP_ERR_INVAL; /* notepack would misread */
    int is_date = (t == -1 && (prefix == 0xd6 || prefix == 0xd7 || prefix == 0xc7)) ||
                  (t == 0 && prefix == 0xd7);
    if (!k->w) return 0;
    if (is_date) write_date(k->w, ext_time(prefix, h));
    else sio_jw_null(k->w); /* undefined (d4 00), or an ext type notepack does not map */
    return 0;
}

/* 1 if p[0..n) starts with notepack 2's undefined, d4 00 xx (fixext 1, type 0); -1 if it starts
 * with d4 but is cut short; 0 otherwise. */
static int is_undefined(const unsigned char *p, size_t n)
{
    if (n == 0 || p[0] != 0xd4) return 0;
    if (n < 3) return -1;
    return p[1] == 0x00;
}

/* Walks the value at k->p[0], writing JSON if k->w. Returns its length or a negative error. */
static long walk_value(struct walk *k)
{
    struct frame stack[SIO_MSGPACK_MAX_DEPTH];
    int depth = 0;
    size_t pos = 0;
    sio_jw *w = k->w;
    for (;;) {
        sio_mp_head h;
        long hl;
        struct frame *top = depth ? &stack[depth - 1] : NULL;
        if (top && top->is_map && top->want_key) {
            /* A key: it must be a str. If its value is undefined, both are left out, as
             * JSON.stringify leaves out keys whose value is undefined. */
            hl = sio_msgpack_head(k->p + pos, k->len - pos, &h);
            if (hl < 0) return hl;
            if (h.kind != SIO_MP_STR) return SIO_MP_ERR_KEY;
            if (!utf8_ok(h.data, (size_t)h.u)) return SIO_MP_ERR_INVAL;
            size_t vpos = pos + (size_t)hl + (size_t)h.u;
            int undef = is_undefined(k->p + vpos, k->len - vpos);
            if (undef < 0) return SIO_MP_ERR_TRUNC;
            top->want_key = 0;
            if (undef) {
                pos = vpos + 3;
                goto value_done;
            }
            if (w) {
                /* sio_jw_key() takes a C string; a msgpack key may hold NUL bytes. So: the key as
                 * a string (comma logic included), its ':', and the writer told that a key was
                 * written (what sio_jw_key() itself does with after_key). */
                sio_jw_strn(w, (const char *)h.data, (size_t)h.u);
                sio_jw_bytes(w, ":", 1);
                w->after_key = 1;
            }
            pos = vpos;
            continue;
        }
        hl = sio_msgpack_head(k->p + pos, k->len - pos, &h);
        if (hl < 0) return hl;
        unsigned prefix = k->p[pos];
        pos += (size_t)hl;
        switch (h.kind) {
        case SIO_MP_NIL:
            if (w) sio_jw_null(w);
            break;
        case SIO_MP_BOOL:
            if (w) sio_jw_bool(w, (int)h.u);
            break;
        case SIO_MP_UINT:
            if (w) put_uint_json(w, h.u);
            break;
        case SIO_MP_INT:
            if (w) put_int_json(w, h.i);
            break;
        case SIO_MP_FLOAT:
            if (w) sio_jw_double(w, h.d);
            break;
        case SIO_MP_STR:
            if (!utf8_ok(h.data, (size_t)h.u)) return SIO_MP_ERR_INVAL;
            if (w) sio_jw_strn(w, (const char *)h.data, (size_t)h.u);
            pos += (size_t)h.u;
            break;
        case SIO_MP_BIN: {
            int r = put_bin_ref(k, h.data, (size_t)h.u, depth);
            if (r) return r;
            pos += (size_t)h.u;
            break;
        }
        case SIO_MP_EXT: {
            int r = put_ext(k, prefix, &h, depth);
            if (r) return r;
            pos += (size_t)h.u;
            break;
        }
        case SIO_MP_ARRAY:
        case SIO_MP_MAP: {
            int is_map = h.kind == SIO_MP_MAP;
            if (depth >= SIO_MSGPACK_MAX_DEPTH) return SIO_MP_ERR_DEPTH;
            int r = open_json(w, is_map);
            if (r) return r;
            if (h.u == 0) {
                if (w) sio_jw_end(w);
                break;
            }
            stack[depth].left = h.u;
            stack[depth].is_map = is_map;
            stack[depth].want_key = is_map;
            depth++;
            continue;
        }
        }
    value_done:
        if (w && w->err) return SIO_MP_ERR_NOMEM;
        /* A value (or a left-out pair) is complete: close every container it finished. */
        while (depth > 0) {
            struct frame *f = &stack[depth - 1];
            if (--f->left > 0) {
                f->want_key = f->is_map;
                break;
            }
            if (w) sio_jw_end(w);
            depth--;
        }
        if (w && w->err) return SIO_MP_ERR_NOMEM;
        if (depth == 0) return (long)pos;
    }
}

int sio_msgpack_to_json(const unsigned char *p, size_t len, size_t *used, sio_jw *out,
                        sio_mp_bin *bins, int *nbins, int max_bins)
{
    sio_jw saved = *out;
    struct walk k = {p, len, out, bins, 0, bins && max_bins > 0 ? max_bins : 0, 0};
    *used = 0;
    *nbins = 0;
    if (out->err) return SIO_MP_ERR_NOMEM;
    long n = walk_value(&k);
    if (n < 0) {
        /* Back to where the caller was; buf/cap/heap stay, since the writer may have moved. */
        out->len = saved.len;
        out->depth = saved.depth;
        out->after_key = saved.after_key;
        out->nonempty = saved.nonempty;
        out->err = saved.err;
        return (int)n;
    }
    *used = (size_t)n;
    *nbins = k.nbins;
    return 0;
}

long sio_msgpack_skip(const unsigned char *p, size_t len)
{
    struct walk k = {p, len, NULL, NULL, 0, 0, 1};
    return walk_value(&k);
}

/* ====== Output buffer ====== */

#define MPBUF_MIN_HEAP 64 /* first heap allocation when starting from an empty buffer */

void sio_mpbuf_init(sio_mpbuf *b, void *buf, size_t cap)
{
    b->buf = buf;
    b->len = 0;
    b->cap = buf ? cap : 0;
    b->heap = 0;
    b->err = 0;
}

void sio_mpbuf_free(sio_mpbuf *b)
{
    if (!b) return;
    if (b->heap) free(b->buf);
    sio_mpbuf_init(b, NULL, 0);
}

/* Makes room for n more bytes (doubling, moving to the heap). Returns 1, or 0 with err set. */
static int reserve(sio_mpbuf *b, size_t n)
{
    if (b->err) return 0;
    if (n <= b->cap - b->len) return 1;
    if (n > SIZE_MAX - b->len) {
        b->err = 1;
        return 0;
    }
    size_t need = b->len + n, cap = b->cap ? b->cap : MPBUF_MIN_HEAP;
    while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    unsigned char *q = b->heap ? realloc(b->buf, cap) : malloc(cap);
    if (!q) {
        b->err = 1;
        return 0;
    }
    if (!b->heap && b->len) memcpy(q, b->buf, b->len);
    b->buf = q;
    b->cap = cap;
    b->heap = 1;
    return 1;
}

static void put(sio_mpbuf *b, const void *p, size_t n)
{
    if (n == 0 || !reserve(b, n)) return;
    memcpy(b->buf + b->len, p, n);
    b->len += n;
}

/* A prefix byte followed by v as an n-byte big-endian number. */
static void put_be(sio_mpbuf *b, unsigned char prefix, uint64_t v, int n)
{
    unsigned char tmp[9];
    tmp[0] = prefix;
    for (int i = 0; i < n; i++) tmp[1 + i] = (unsigned char)(v >> (8 * (n - 1 - i)));
    put(b, tmp, 1 + (size_t)n);
}

/* ====== Writing values ====== */

void sio_mp_put_nil(sio_mpbuf *b)
{
    put(b, "\xc0", 1);
}

void sio_mp_put_bool(sio_mpbuf *b, int v)
{
    put(b, v ? "\xc3" : "\xc2", 1);
}

/* Non-negative values take the unsigned formats and negative ones the signed formats, each in the
 * smallest width that holds them: notepack's choice. */
static void put_uint(sio_mpbuf *b, uint64_t u)
{
    if (u < 0x80) put_be(b, (unsigned char)u, 0, 0);
    else if (u < 0x100) put_be(b, 0xcc, u, 1);
    else if (u < 0x10000) put_be(b, 0xcd, u, 2);
    else if (u < 0x100000000) put_be(b, 0xce, u, 4);
    else put_be(b, 0xcf, u, 8);
}

void sio_mp_put_int(sio_mpbuf *b, int64_t v)
{
    uint64_t u = (uint64_t)v;
    if (v >= 0) put_uint(b, u);
    else if (v >= -32) put_be(b, (unsigned char)(u & 0xff), 0, 0);
    else if (v >= -128) put_be(b, 0xd0, u, 1);
    else if (v >= -32768) put_be(b, 0xd1, u, 2);
    else if (v >= -2147483648LL) put_be(b, 0xd2, u, 4);
    else put_be(b, 0xd3, u, 8);
}

void sio_mp_put_double(sio_mpbuf *b, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, 8);
    put_be(b, 0xcb, bits, 8);
}

void sio_mp_put_number(sio_mpbuf *b, double v)
{
    if (!isfinite(v) || !is_integral(v)) sio_mp_put_double(b, v);
    else if (v >= 0 && v < TWO_64) put_uint(b, (uint64_t)v); /* -0 lands here too: 0x00 */
    else if (v < 0 && v >= -TWO_63) sio_mp_put_int(b, (int64_t)v);
    else sio_mp_put_double(b, v);
}

/* The header of a str/bin/array/map of n items: the fix form when the family has one and n fits
 * under `fixmax`, else the 8/16/32-bit forms starting at prefix8 (str and bin have an 8-bit form;
 * arrays and maps start at 16). */
static void put_len_head(sio_mpbuf *b, size_t n, unsigned fixbase, size_t fixmax, unsigned prefix8,
                         unsigned prefix16)
{
    if (fixbase && n < fixmax) put_be(b, (unsigned char)(fixbase | n), 0, 0);
    else if (prefix8 && n < 0x100) put_be(b, (unsigned char)prefix8, n, 1);
    else if (n < 0x10000) put_be(b, (unsigned char)prefix16, n, 2);
    else if ((uint64_t)n < 0x100000000) put_be(b, (unsigned char)(prefix16 + 1), n, 4);
    else b->err = 1; /* msgpack lengths are 32-bit; notepack throws here too */
}

void sio_mp_put_str(sio_mpbuf *b, const char *s, size_t n)
{
    put_len_head(b, n, 0xa0, 32, 0xd9, 0xda);
    put(b, s, n);
}

void sio_mp_put_bin(sio_mpbuf *b, const void *p, size_t n)
{
    put_len_head(b, n, 0, 0, 0xc4, 0xc5);
    put(b, p, n);
}

void sio_mp_put_array(sio_mpbuf *b, uint32_t n)
{
    put_len_head(b, n, 0x90, 16, 0, 0xdc);
}

void sio_mp_put_map(sio_mpbuf *b, uint32_t n)
{
    put_len_head(b, n, 0x80, 16, 0, 0xde);
}

/* ====== JSON -> msgpack ====== */

/* A JSON string token (with its quotes) as a msgpack str. The text is decoded straight into the
 * output, 5 bytes (the largest str header) past the current end; once its length is known, the
 * right header is written and the bytes slide back to meet it. The decoded form is never longer
 * than the escaped text, so s.len bytes of room suffice (including unescape's NUL). */
static void put_json_str(sio_mpbuf *b, sio_str s)
{
    if (!reserve(b, 5 + s.len)) return;
    unsigned char *dst = b->buf + b->len + 5;
    long n = sio_json_unescape(s, (char *)dst, s.len);
    if (n < 0) {
        b->err = 1; /* not reached for validated text */
        return;
    }
    /* A lone surrogate from a \uD800-style escape decodes to its 3-byte WTF-8 form (ED A0..BF xx),
     * which is not UTF-8; Buffer.from(string) writes U+FFFD (EF BF BD) for it, and so do we. */
    for (long i = 0; i + 2 < n; i++) {
        if (dst[i] == 0xed && dst[i + 1] >= 0xa0) {
            memcpy(dst + i, "\xef\xbf\xbd", 3);
            i += 2;
        }
    }
    size_t at = b->len;
    put_len_head(b, (size_t)n, 0xa0, 32, 0xd9, 0xda); /* within the room reserved above */
    memmove(b->buf + b->len, b->buf + at + 5, (size_t)n);
    b->len += (size_t)n;
}

/* Encodes the validated JSON value v. Returns 0 or SIO_MP_ERR_BINS (NOMEM shows in out->err). */
static int enc_value(sio_str v, const sio_mp_bin *bins, int nbins, sio_mpbuf *out)
{
    size_t pos = 0;
    sio_str key, val;
    double d;
    int r;
    switch (sio_json_typeof(v)) {
    case SIO_JSON_OBJECT:
        if (sio_json_typeof(sio_json_get(v, "_placeholder")) == SIO_JSON_TRUE) {
            /* socket.io-parser: `_placeholder === true` makes it a placeholder; `num` must be a
             * valid attachment index, or the packet is refused ("illegal attachments"). */
            if (sio_json_number(sio_json_get(v, "num"), &d) < 0 || !is_integral(d) || d < 0 ||
                d >= nbins)
                return SIO_MP_ERR_BINS;
            sio_mp_put_bin(out, bins[(int)d].data, bins[(int)d].len);
            return 0;
        }
        sio_mp_put_map(out, (uint32_t)sio_json_count(v));
        while (sio_json_next(v, &pos, &key, &val) == 1) {
            put_json_str(out, key);
            if ((r = enc_value(val, bins, nbins, out)) != 0) return r;
        }
        return 0;
    case SIO_JSON_ARRAY:
        sio_mp_put_array(out, (uint32_t)sio_json_count(v));
        while (sio_json_next(v, &pos, NULL, &val) == 1)
            if ((r = enc_value(val, bins, nbins, out)) != 0) return r;
        return 0;
    case SIO_JSON_STRING:
        put_json_str(out, v);
        return 0;
    case SIO_JSON_NUMBER:
        if (sio_json_number(v, &d) < 0) return SIO_MP_ERR_JSON;
        sio_mp_put_number(out, d);
        return 0;
    case SIO_JSON_TRUE:
    case SIO_JSON_FALSE:
        sio_mp_put_bool(out, sio_json_typeof(v) == SIO_JSON_TRUE);
        return 0;
    case SIO_JSON_NULL:
        sio_mp_put_nil(out);
        return 0;
    default:
        return SIO_MP_ERR_JSON;
    }
}

int sio_msgpack_from_json(sio_str json, const sio_mp_bin *bins, int nbins, sio_mpbuf *out)
{
    size_t start = out->len;
    if (out->err) return SIO_MP_ERR_NOMEM;
    if (!json.p) return SIO_MP_ERR_JSON;
    /* Validate first, so that the navigation below only ever sees good text, nested no deeper
     * than SIO_JSON_MAX_DEPTH (which bounds enc_value's recursion). */
    long end = sio_json_value_end(json.p, json.len, 0);
    if (end < 0) return SIO_MP_ERR_JSON;
    for (size_t i = (size_t)end; i < json.len; i++)
        if (json.p[i] != ' ' && json.p[i] != '\t' && json.p[i] != '\n' && json.p[i] != '\r')
            return SIO_MP_ERR_JSON;
    int r = enc_value(sio_json_trim(json), bins, bins ? nbins : 0, out);
    if (r == 0 && out->err) r = SIO_MP_ERR_NOMEM;
    if (r != 0) {
        out->len = start;
        out->err = 0; /* the buffer itself is intact: only the growth failed */
        if (r == SIO_MP_ERR_NOMEM) out->err = 1;
    }
    return r;
}
