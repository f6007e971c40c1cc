/* SPDX-License-Identifier: MIT */
/* fuzz_json.c -- libFuzzer target for json.c: the parser, the navigation functions and the
 * emitter, checked against each other.
 *
 * For each input:
 *   - sio_json_parse() (counting, then with an exact token array, then one token short) agrees
 *     with sio_json_value_end(): the parser accepts exactly when value_end reaches the end of the
 *     text but for whitespace, and fails with the same code otherwise;
 *   - the tokens are walked in step with sio_json_next(): every slice, type, parent and size
 *     matches; sio_json_count(), sio_json_at() and sio_json_get() (last duplicate wins) agree;
 *   - every string decodes (sio_json_unescape at the exact capacity and one byte short),
 *     compares equal to its decoding (sio_json_str_eq), and written back with sio_jw_strn() gives
 *     valid UTF-8 JSON that decodes to the same bytes;
 *   - every number converts exactly as glibc's correctly rounded strtod() converts it, and
 *     sio_jw_double() writes it in JavaScript's shortest form, which reads back to the same double;
 *   - the whole value re-emitted with the writer parses to the same token types, and re-emitting
 *     that output gives the same bytes again;
 *   - the raw input, valid or not, goes through every navigation function (they must never read
 *     outside the slice), through sio_jw_strn() as a string, and drives the writer's calls.
 */
#include "../../json.h"
#include "fuzz.h"

#include <math.h>
#include <string.h>

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static size_t skip_ws(const char *s, size_t len, size_t i)
{
    while (i < len && is_ws(s[i])) i++;
    return i;
}

static int same(sio_str a, sio_str b)
{
    return a.p == b.p && a.len == b.len;
}

/* A NUL-terminated heap copy of s. */
static char *cstr(const char *p, size_t n)
{
    char *c = malloc(n + 1);
    CHECK(c != NULL);
    memcpy(c, p, n);
    c[n] = '\0';
    return c;
}

/* Decodes a string token into a fresh buffer (its length in *n). */
static char *decode(sio_str s, long *n)
{
    char *d = malloc(s.len);
    CHECK(d != NULL);
    *n = sio_json_unescape(s, d, s.len);
    CHECK(*n >= 0 && (size_t)*n <= s.len - 2 && d[*n] == '\0');
    return d;
}

/* ====== Strings ====== */

static void check_string(sio_str s)
{
    long n;
    CHECK(s.len >= 2 && s.p[0] == '"' && s.p[s.len - 1] == '"');
    CHECK(fuzz_utf8_ref((const unsigned char *)s.p + 1, s.len - 2) == 0);
    char *d = decode(s, &n);

    char *exact = malloc((size_t)n + 1);
    CHECK(exact != NULL);
    CHECK(sio_json_unescape(s, exact, (size_t)n + 1) == n && memcmp(exact, d, (size_t)n + 1) == 0);
    if (n > 0) CHECK(sio_json_unescape(s, exact, (size_t)n) == -1 && exact[0] == '\0');
    free(exact);

    if (memchr(d, '\0', (size_t)n) == NULL) {
        CHECK(sio_json_str_eq(s, d) == 1);
        char *longer = malloc((size_t)n + 2);
        CHECK(longer != NULL);
        memcpy(longer, d, (size_t)n);
        memcpy(longer + n, "x", 2);
        CHECK(sio_json_str_eq(s, longer) == 0);
        if (n > 0) {
            longer[n - 1] = '\0';
            CHECK(sio_json_str_eq(s, longer) == 0);
        }
        free(longer);
    }

    /* Back to JSON the way JSON.stringify would write it, and decoded again. */
    sio_jw w;
    sio_jw_init(&w, NULL, 0);
    sio_jw_strn(&w, d, (size_t)n);
    CHECK(!w.err);
    CHECK(fuzz_utf8_ref((const unsigned char *)w.buf, w.len) == 0);
    sio_json_tok t;
    CHECK(sio_json_parse(w.buf, w.len, &t, 1) == 1 && t.type == SIO_JSON_STRING && t.end == w.len);
    long m;
    char *back = decode((sio_str){w.buf, w.len}, &m);
    CHECK(m == n && memcmp(back, d, (size_t)n) == 0);
    free(back);
    sio_jw_free(&w);
    free(d);
}

/* ====== Numbers ====== */

/* Number of significant digits in a number as JavaScript prints it. */
static int sig_digits(const char *s, size_t len)
{
    int nd = 0, started = 0, trailing_zeros = 0;
    for (size_t i = 0; i < len && s[i] != 'e'; i++) {
        if (s[i] < '0' || s[i] > '9') continue;
        if (s[i] != '0') started = 1;
        if (!started) continue;
        nd++;
        trailing_zeros = s[i] == '0' ? trailing_zeros + 1 : 0;
    }
    return nd - trailing_zeros;
}

/* sio_jw_double(d) as JavaScript would print it, read back as d. */
static void check_double_out(double d)
{
    sio_jw w;
    char stack[64];
    sio_jw_init(&w, stack, sizeof stack);
    sio_jw_double(&w, d);
    if (!isfinite(d)) { /* NaN and the infinities are written as null, as JSON.stringify does */
        CHECK(!w.err && w.len == 4 && memcmp(w.buf, "null", 4) == 0);
        sio_jw_free(&w);
        return;
    }
    CHECK(!w.err && w.len > 0 && w.len < 40);
    sio_json_tok t;
    CHECK(sio_json_parse(w.buf, w.len, &t, 1) == 1 && t.type == SIO_JSON_NUMBER);
    char *c = cstr(w.buf, w.len);
    double back = strtod(c, NULL);
    CHECK(back == d);
    if (d == 0) {
        CHECK(strcmp(c, "0") == 0); /* -0 too, as JavaScript prints it */
        free(c);
        sio_jw_free(&w);
        return;
    }
    double a = fabs(d);
    int has_e = strchr(c, 'e') != NULL;
    CHECK(has_e == (a != 0 && (a < 1e-6 || a >= 1e21)));
    if (has_e) CHECK(strstr(c, "e+") || strstr(c, "e-"));
    /* Shortest: one digit fewer, correctly rounded, does not read back as d. */
    int nd = sig_digits(c, w.len);
    CHECK(nd >= 1 && nd <= 17);
    if (nd > 1) {
        char tmp[64];
        snprintf(tmp, sizeof tmp, "%.*e", nd - 2, d);
        CHECK(strtod(tmp, NULL) != d);
    }
    free(c);
    sio_jw_free(&w);
}

static void check_number(sio_str v)
{
    double d, ref;
    CHECK(sio_json_number(v, &d) == 0);
    char *c = cstr(v.p, v.len);
    ref = strtod(c, NULL);
    free(c);
    CHECK(memcmp(&d, &ref, sizeof d) == 0); /* the same double, sign of zero included */
    CHECK(sio_json_truthy(v) == (d != 0));
    check_double_out(d);
}

/* ====== Walking tokens and slices together ====== */

struct walk {
    const char *js;
    const sio_json_tok *toks;
    int ntoks;
    int idx; /* the token expected next */
};

static void walk(struct walk *w, sio_str v, int parent);

/* For an object: sio_json_get() of each of the first few keys finds the last member so named. */
static void check_get(sio_str obj)
{
    size_t pos = 0;
    sio_str k, val;
    for (int i = 0; i < 8 && sio_json_next(obj, &pos, &k, &val) == 1; i++) {
        long n;
        char *name = decode(k, &n);
        if (memchr(name, '\0', (size_t)n) == NULL) {
            sio_str want = {NULL, 0}, k2, v2;
            size_t p2 = 0;
            while (sio_json_next(obj, &p2, &k2, &v2) == 1)
                if (sio_json_str_eq(k2, name)) want = v2;
            CHECK(want.p != NULL);
            CHECK(same(sio_json_get(obj, name), want));
        }
        free(name);
    }
    CHECK(sio_json_get(obj, NULL).p == NULL);
}

static void walk(struct walk *w, sio_str v, int parent)
{
    CHECK(w->idx < w->ntoks);
    int me = w->idx++;
    const sio_json_tok *t = &w->toks[me];
    CHECK(v.p == w->js + t->start && v.len == t->end - t->start);
    CHECK(t->parent == parent);
    CHECK(sio_json_typeof(v) == t->type);
    CHECK(sio_json_value_end(v.p, v.len, 0) == (long)v.len);
    CHECK(same(sio_json_trim(v), v));
    int truthy = sio_json_truthy(v);
    switch (t->type) {
    case SIO_JSON_STRING:
        CHECK(t->size == 0);
        CHECK(truthy == (v.len > 2));
        check_string(v);
        return;
    case SIO_JSON_NUMBER:
        CHECK(t->size == 0);
        check_number(v);
        return;
    case SIO_JSON_TRUE:
    case SIO_JSON_FALSE:
    case SIO_JSON_NULL:
        CHECK(t->size == 0 && truthy == (t->type == SIO_JSON_TRUE));
        CHECK(v.len == (t->type == SIO_JSON_FALSE ? 5u : 4u));
        return;
    case SIO_JSON_OBJECT:
    case SIO_JSON_ARRAY:
        break;
    default:
        CHECK(0 && "unknown token type");
    }
    int is_obj = t->type == SIO_JSON_OBJECT;
    CHECK(truthy == 1);
    CHECK(sio_json_count(v) == t->size);
    size_t pos = 0;
    sio_str key, val;
    int i = 0, r;
    while ((r = sio_json_next(v, &pos, &key, &val)) == 1) {
        CHECK(pos <= v.len);
        int vparent = me;
        if (is_obj) {
            CHECK(w->idx < w->ntoks);
            int k = w->idx++;
            const sio_json_tok *kt = &w->toks[k];
            CHECK(kt->type == SIO_JSON_STRING && kt->parent == me && kt->size == 0);
            CHECK(key.p == w->js + kt->start && key.len == kt->end - kt->start);
            check_string(key);
            vparent = k;
        } else {
            CHECK(key.p == NULL);
            if (i < 2 || i == t->size - 1) CHECK(same(sio_json_at(v, i), val));
        }
        walk(w, val, vparent);
        i++;
    }
    CHECK(r == 0 && i == t->size);
    CHECK(sio_json_next(v, &pos, &key, &val) == 0); /* stays at the end */
    CHECK(sio_json_at(v, i).p == NULL && sio_json_at(v, -1).p == NULL);
    if (is_obj) check_get(v);
    else CHECK(sio_json_get(v, "a").p == NULL);
    size_t last = v.len - 1;
    CHECK(v.p[last] == (is_obj ? '}' : ']'));
}

/* ====== Re-emitting with the writer ====== */

static void emit(sio_jw *w, sio_str v)
{
    long n;
    char *d;
    switch (sio_json_typeof(v)) {
    case SIO_JSON_OBJECT:
    case SIO_JSON_ARRAY: {
        int is_obj = sio_json_typeof(v) == SIO_JSON_OBJECT;
        size_t pos = 0;
        sio_str key, val;
        if (is_obj) sio_jw_obj(w);
        else sio_jw_arr(w);
        while (sio_json_next(v, &pos, &key, &val) == 1) {
            if (is_obj) {
                d = decode(key, &n);
                sio_jw_key(w, d); /* a C string: a decoded key stops at its first NUL */
                free(d);
            }
            emit(w, val);
        }
        sio_jw_end(w);
        return;
    }
    case SIO_JSON_STRING:
        d = decode(v, &n);
        sio_jw_strn(w, d, (size_t)n);
        free(d);
        return;
    case SIO_JSON_NUMBER:
        sio_jw_raw(w, v.p, v.len);
        return;
    case SIO_JSON_TRUE:
    case SIO_JSON_FALSE:
        sio_jw_bool(w, sio_json_typeof(v) == SIO_JSON_TRUE);
        return;
    default:
        sio_jw_null(w);
        return;
    }
}

static void check_reemit(const char *js, size_t len, const sio_json_tok *toks, int n)
{
    sio_jw w1, w2;
    sio_str v = sio_json_trim((sio_str){js, len});
    char stack[128];
    sio_jw_init(&w1, stack, sizeof stack); /* starts on the stack, moves to the heap */
    emit(&w1, v);
    if (w1.err) { /* only nesting deeper than the writer's 63 levels may fail */
        sio_jw_free(&w1);
        return;
    }
    CHECK(w1.depth == 0);
    CHECK(fuzz_utf8_ref((const unsigned char *)w1.buf, w1.len) == 0);
    sio_json_tok *t2 = malloc(sizeof *t2 * (size_t)n);
    CHECK(t2 != NULL);
    CHECK(sio_json_parse(w1.buf, w1.len, t2, (unsigned)n) == n);
    for (int i = 0; i < n; i++) CHECK(t2[i].type == toks[i].type && t2[i].size == toks[i].size && t2[i].parent == toks[i].parent);
    free(t2);
    sio_jw_init(&w2, NULL, 0);
    emit(&w2, (sio_str){w1.buf, w1.len});
    CHECK(!w2.err && w2.len == w1.len && memcmp(w1.buf, w2.buf, w1.len) == 0);
    sio_jw_free(&w2);
    sio_jw_free(&w1);
}

/* ====== Raw input through everything ====== */

static void poke(sio_str raw)
{
    sio_str k, v;
    size_t pos = 0;
    double d;
    char small[16];
    int r, guard = 0;
    (void)sio_json_typeof(raw);
    (void)sio_json_count(raw);
    (void)sio_json_at(raw, 0);
    (void)sio_json_at(raw, 3);
    sio_str g = sio_json_get(raw, "a");
    if (g.p) CHECK(IN_BUF(g, raw.p, raw.len));
    g = sio_json_get(raw, "_placeholder");
    if (g.p) CHECK(IN_BUF(g, raw.p, raw.len));
    while ((r = sio_json_next(raw, &pos, &k, &v)) == 1 && guard++ < 100000) {
        CHECK(pos <= raw.len && IN_BUF(v, raw.p, raw.len));
        if (k.p) CHECK(IN_BUF(k, raw.p, raw.len));
    }
    CHECK(r == 0 || r == -1 || guard > 100000);
    if (raw.len) { /* a resumed iteration from any position never strays */
        pos = (unsigned char)raw.p[0] % (raw.len + 2);
        if (sio_json_next(raw, &pos, &k, &v) == 1) CHECK(IN_BUF(v, raw.p, raw.len));
    }
    long n = sio_json_unescape(raw, small, sizeof small);
    CHECK(n >= -1 && n < (long)sizeof small && (n < 0 ? small[0] == '\0' : small[n] == '\0'));
    (void)sio_json_str_eq(raw, "abc");
    (void)sio_json_truthy(raw);
    if (sio_json_number(raw, &d) == 0) CHECK(!isnan(d));
    sio_str t = sio_json_trim(raw);
    if (raw.p) CHECK(IN_BUF(t, raw.p, raw.len));
}

/* The writer driven by the input: any call sequence must stay in bounds (the output need not be
 * JSON when the calls do not make sense). */
static void drive_writer(const uint8_t *data, size_t size)
{
    sio_jw w;
    char stack[32];
    sio_jw_init(&w, stack, sizeof stack);
    for (size_t i = 0; i < size && i < 512; i++) {
        size_t m = size - i - 1 < 3 ? size - i - 1 : 3;
        switch (data[i] % 12) {
        case 0: sio_jw_obj(&w); break;
        case 1: sio_jw_arr(&w); break;
        case 2: sio_jw_end(&w); break;
        case 3: sio_jw_key(&w, "k\"\\"); break;
        case 4: sio_jw_strn(&w, (const char *)data + i + 1, m); i += m; break;
        case 5: sio_jw_int(&w, (long long)data[i] * -1000003LL); break;
        case 6: sio_jw_double(&w, (double)data[i] / 7.0); break;
        case 7: sio_jw_bool(&w, data[i] & 16); break;
        case 8: sio_jw_null(&w); break;
        case 9: sio_jw_raw(&w, (const char *)data + i + 1, m); i += m; break;
        case 10: sio_jw_bytes(&w, (const char *)data + i + 1, m); i += m; break;
        default: sio_jw_str(&w, data[i] & 1 ? NULL : "a\"b\\\x01\xc3\xa9"); break;
        }
        CHECK(w.len <= w.cap && w.depth >= 0 && w.depth <= 63);
    }
    sio_jw_free(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *js = (const char *)data;
    int n = sio_json_parse(js, size, NULL, 0);
    long end = sio_json_value_end(js, size, 0);
    CHECK(n >= 1 || n == SIO_JSON_ERR_INVAL || n == SIO_JSON_ERR_PART || n == SIO_JSON_ERR_DEPTH);
    CHECK(n != SIO_JSON_ERR_NOMEM);
    if (end >= 0) {
        CHECK((size_t)end <= size && (n >= 1) == (skip_ws(js, size, (size_t)end) == size));
        if (n < 1) CHECK(n == SIO_JSON_ERR_INVAL); /* trailing garbage */
    } else {
        CHECK(n == (int)end);
    }
    poke((sio_str){js, size});
    if (size > 1) poke((sio_str){js + 1, size - 2});
    drive_writer(data, size);

    /* The input as a string's bytes: always valid JSON out, and the same bytes back when they
     * were valid UTF-8. */
    sio_jw w;
    sio_jw_init(&w, NULL, 0);
    sio_jw_strn(&w, js, size);
    CHECK(!w.err && fuzz_utf8_ref((const unsigned char *)w.buf, w.len) == 0);
    CHECK(sio_json_parse(w.buf, w.len, NULL, 0) == 1);
    if (fuzz_utf8_ref(data, size) == 0) {
        long m;
        char *back = decode((sio_str){w.buf, w.len}, &m);
        CHECK((size_t)m == size && memcmp(back, js, size) == 0);
        free(back);
    }
    sio_jw_free(&w);

    /* The input's first bytes as a double and as an integer. */
    if (size >= 8) {
        double d;
        long long ll;
        memcpy(&d, data, 8);
        memcpy(&ll, data, 8);
        check_double_out(d);
        char want[32], stack[32];
        snprintf(want, sizeof want, "%lld", ll);
        sio_jw_init(&w, stack, sizeof stack);
        sio_jw_int(&w, ll);
        CHECK(w.len == strlen(want) && memcmp(w.buf, want, w.len) == 0);
        sio_jw_free(&w);
    }

    if (n < 1) return 0;
    sio_json_tok *toks = malloc(sizeof *toks * (size_t)n);
    CHECK(toks != NULL);
    CHECK(sio_json_parse(js, size, toks, (unsigned)n - 1) == SIO_JSON_ERR_NOMEM);
    CHECK(sio_json_parse(js, size, toks, (unsigned)n) == n);
    CHECK(toks[0].start == skip_ws(js, size, 0) && toks[0].end == (uint32_t)end);
    for (int i = 0; i < n; i++) CHECK(toks[i].start < toks[i].end && toks[i].end <= size && toks[i].parent < i);
    struct walk wk = {js, toks, n, 0};
    walk(&wk, (sio_str){js + toks[0].start, toks[0].end - toks[0].start}, -1);
    CHECK(wk.idx == n);
    check_reemit(js, size, toks, n);
    free(toks);
    return 0;
}
