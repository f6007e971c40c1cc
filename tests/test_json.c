/* SPDX-License-Identifier: MIT */
/* test_json.c -- unit tests for json.c: the strict tokenizer (table of inputs with expected
 * results, every valid input also fed as each of its prefixes), nesting limits, tokens,
 * navigation, and the emitter (compared with what JSON.stringify writes in Node).
 * Every parsed input sits right before a PROT_NONE page (guarded()), so an over-read faults. */
#include "../json.h"
#include "test.h"

#include <limits.h>
#include <math.h>

/* ====== Helpers ====== */

/* A row of a table: a string literal with its exact length (embedded NULs allowed). */
#define LIT(s) s, sizeof(s) - 1

/* Parses a guarded copy of js[0..len). */
static int parse(const char *js, size_t len, sio_json_tok *toks, unsigned ntoks)
{
    return sio_json_parse(guarded(js, len), len, toks, ntoks);
}

/* A slice of a C string literal (not guarded: navigation tests that need a guard say so). */
static sio_str S(const char *s)
{
    return (sio_str){s, strlen(s)};
}

/* 1 if the slice holds exactly the C string expect (an absent slice matches only NULL). */
static int slice_is(sio_str v, const char *expect)
{
    if (!expect) return v.p == NULL;
    return v.p && v.len == strlen(expect) && memcmp(v.p, expect, v.len) == 0;
}

/* 1 if the writer holds exactly expect and has not failed. */
static int jw_is(const sio_jw *w, const char *expect)
{
    return !w->err && w->len == strlen(expect) && memcmp(w->buf, expect, w->len) == 0;
}

/* Returns a malloc'd string: `open` repeated n times, then `mid`, then `close` n times. */
static char *nest(int n, const char *open, const char *mid, const char *close)
{
    size_t lo = strlen(open), lm = strlen(mid), lc = strlen(close);
    char *s = malloc((size_t)n * (lo + lc) + lm + 1), *p = s;
    if (!s) abort();
    for (int i = 0; i < n; i++, p += lo) memcpy(p, open, lo);
    memcpy(p, mid, lm);
    p += lm;
    for (int i = 0; i < n; i++, p += lc) memcpy(p, close, lc);
    *p = '\0';
    return s;
}

/* ====== Parser: table ====== */

struct parse_case {
    const char *js;   /* input */
    size_t len;       /* its length */
    int ret;          /* token count, or SIO_JSON_ERR_* */
    const char *note; /* printed on failure */
};

static const struct parse_case parse_cases[] = {
    /* valid: scalars */
    {LIT("0"), 1, "zero"},
    {LIT("-0"), 1, "minus zero"},
    {LIT("123"), 1, "integer"},
    {LIT("-12.5e3"), 1, "full number"},
    {LIT("1E5"), 1, "capital E"},
    {LIT("1e+5"), 1, "exponent plus"},
    {LIT("0.0e-0"), 1, "zero fraction and exponent"},
    {LIT("true"), 1, "true"},
    {LIT("false"), 1, "false"},
    {LIT("null"), 1, "null"},
    {LIT("\"\""), 1, "empty string"},
    {LIT("\"abc\""), 1, "string"},
    /* valid: strings */
    {LIT("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\""), 1, "every short escape"},
    {LIT("\"\\u0041\\u00e9\\u00E9\\uFFFF\""), 1, "\\u escapes, both cases"},
    {LIT("\"\\u0000\""), 1, "escaped NUL"},
    {LIT("\"\\ud800\""), 1, "lone high surrogate escape"},
    {LIT("\"\\udc00\\ud800\""), 1, "reversed surrogates"},
    {LIT("\"\\ud83d\\ude00\""), 1, "surrogate pair escape"},
    {LIT("\"\xf0\x9f\x98\x80\""), 1, "raw 4-byte UTF-8"},
    {LIT("\"\xc3\xa9\xe2\x80\xa8\""), 1, "raw 2- and 3-byte UTF-8, U+2028"},
    {LIT("\"\xf4\x8f\xbf\xbf\xef\xbf\xbf\""), 1, "U+10FFFF, U+FFFF"},
    {LIT("\"\x7f/'\""), 1, "DEL, slash and quote raw"},
    /* valid: containers */
    {LIT("{}"), 1, "empty object"},
    {LIT("[]"), 1, "empty array"},
    {LIT("[[[]]]"), 3, "nested arrays"},
    {LIT("[1,2]"), 3, "array"},
    {LIT("{\"a\":1,\"b\":[true,false,null]}"), 8, "object"},
    {LIT("{\"a\":1,\"a\":2}"), 5, "duplicate keys are valid"},
    {LIT("[{\"\":{}},\"x\",-1]"), 6, "mixed"},
    {LIT(" \t\r\n[ 1 , 2 ] \n"), 3, "whitespace everywhere"},
    {LIT("{ \"k\" : \"v\" }"), 3, "spaces around colon"},
    {LIT("[\"]\",\"}\",\"\\\"[\"]"), 4, "brackets inside strings"},
    /* truncated: _PART */
    {LIT(""), SIO_JSON_ERR_PART, "empty input"},
    {LIT("   "), SIO_JSON_ERR_PART, "only whitespace"},
    {LIT("["), SIO_JSON_ERR_PART, "open array"},
    {LIT("{"), SIO_JSON_ERR_PART, "open object"},
    {LIT("[1,2"), SIO_JSON_ERR_PART, "array without ]"},
    {LIT("[1,"), SIO_JSON_ERR_PART, "after comma"},
    {LIT("{\"a\""), SIO_JSON_ERR_PART, "key without colon"},
    {LIT("{\"a\":"), SIO_JSON_ERR_PART, "key without value"},
    {LIT("{\"a\":1"), SIO_JSON_ERR_PART, "object without }"},
    {LIT("\"abc"), SIO_JSON_ERR_PART, "unterminated string"},
    {LIT("\"\\"), SIO_JSON_ERR_PART, "string ends in backslash"},
    {LIT("\"\\u00"), SIO_JSON_ERR_PART, "string ends in \\u escape"},
    {LIT("\"\xe2\x82"), SIO_JSON_ERR_PART, "string ends inside UTF-8 sequence"},
    {LIT("-"), SIO_JSON_ERR_PART, "lone minus"},
    {LIT("1."), SIO_JSON_ERR_PART, "number ends after point"},
    {LIT("1e"), SIO_JSON_ERR_PART, "number ends after e"},
    {LIT("1e-"), SIO_JSON_ERR_PART, "number ends after e-"},
    {LIT("[1."), SIO_JSON_ERR_PART, "nested number ends after point"},
    {LIT("t"), SIO_JSON_ERR_PART, "t"},
    {LIT("fals"), SIO_JSON_ERR_PART, "fals"},
    {LIT("[nul"), SIO_JSON_ERR_PART, "nul in array"},
    /* not JSON: _INVAL */
    {LIT("[1,]"), SIO_JSON_ERR_INVAL, "trailing comma in array"},
    {LIT("{\"a\":1,}"), SIO_JSON_ERR_INVAL, "trailing comma in object"},
    {LIT("[,1]"), SIO_JSON_ERR_INVAL, "leading comma"},
    {LIT("[1,,2]"), SIO_JSON_ERR_INVAL, "double comma"},
    {LIT("[1 2]"), SIO_JSON_ERR_INVAL, "missing comma"},
    {LIT("{\"a\"}"), SIO_JSON_ERR_INVAL, "key without value, closed"},
    {LIT("{\"a\":}"), SIO_JSON_ERR_INVAL, "colon without value"},
    {LIT("{\"a\" 1}"), SIO_JSON_ERR_INVAL, "missing colon"},
    {LIT("{1:2}"), SIO_JSON_ERR_INVAL, "number key"},
    {LIT("{a:1}"), SIO_JSON_ERR_INVAL, "bare key"},
    {LIT("{,}"), SIO_JSON_ERR_INVAL, "comma in empty object"},
    {LIT("[1}"), SIO_JSON_ERR_INVAL, "mismatched bracket"},
    {LIT("{\"a\":1]"), SIO_JSON_ERR_INVAL, "mismatched brace"},
    {LIT("]"), SIO_JSON_ERR_INVAL, "lone ]"},
    {LIT(","), SIO_JSON_ERR_INVAL, "lone comma"},
    {LIT("'a'"), SIO_JSON_ERR_INVAL, "single quotes"},
    {LIT("01"), SIO_JSON_ERR_INVAL, "leading zero"},
    {LIT("-01"), SIO_JSON_ERR_INVAL, "negative leading zero"},
    {LIT("+1"), SIO_JSON_ERR_INVAL, "plus sign"},
    {LIT(".5"), SIO_JSON_ERR_INVAL, "no integer part"},
    {LIT("1.e5"), SIO_JSON_ERR_INVAL, "no fraction digits"},
    {LIT("1ex"), SIO_JSON_ERR_INVAL, "no exponent digits"},
    {LIT("--1"), SIO_JSON_ERR_INVAL, "double minus"},
    {LIT("-a"), SIO_JSON_ERR_INVAL, "minus letter"},
    {LIT("0x10"), SIO_JSON_ERR_INVAL, "hex number"},
    {LIT("NaN"), SIO_JSON_ERR_INVAL, "NaN"},
    {LIT("Infinity"), SIO_JSON_ERR_INVAL, "Infinity"},
    {LIT("-Infinity"), SIO_JSON_ERR_INVAL, "-Infinity"},
    {LIT("True"), SIO_JSON_ERR_INVAL, "capitalised literal"},
    {LIT("trux"), SIO_JSON_ERR_INVAL, "misspelt literal"},
    {LIT("\"\\x\""), SIO_JSON_ERR_INVAL, "unknown escape"},
    {LIT("\"\\'\""), SIO_JSON_ERR_INVAL, "escaped single quote"},
    {LIT("\"\\U0041\""), SIO_JSON_ERR_INVAL, "capital U escape"},
    {LIT("\"\\u12G4\""), SIO_JSON_ERR_INVAL, "bad hex digit"},
    {LIT("\"\\u12\""), SIO_JSON_ERR_INVAL, "short \\u escape"},
    {LIT("\"a\x01z\""), SIO_JSON_ERR_INVAL, "raw control char"},
    {LIT("\"\t\""), SIO_JSON_ERR_INVAL, "raw tab"},
    {LIT("\"\n\""), SIO_JSON_ERR_INVAL, "raw newline"},
    {LIT("\"\x1f\""), SIO_JSON_ERR_INVAL, "raw 0x1f"},
    {LIT("\"\0\""), SIO_JSON_ERR_INVAL, "raw NUL in string"},
    {LIT("\"\x80\""), SIO_JSON_ERR_INVAL, "lone continuation byte"},
    {LIT("\"\xc0\xaf\""), SIO_JSON_ERR_INVAL, "overlong 2-byte"},
    {LIT("\"\xc1\xbf\""), SIO_JSON_ERR_INVAL, "overlong C1"},
    {LIT("\"\xe0\x80\xaf\""), SIO_JSON_ERR_INVAL, "overlong 3-byte"},
    {LIT("\"\xf0\x80\x80\x80\""), SIO_JSON_ERR_INVAL, "overlong 4-byte"},
    {LIT("\"\xed\xa0\x80\""), SIO_JSON_ERR_INVAL, "raw surrogate (CESU/WTF-8)"},
    {LIT("\"\xf4\x90\x80\x80\""), SIO_JSON_ERR_INVAL, "above U+10FFFF"},
    {LIT("\"\xf5\x80\x80\x80\""), SIO_JSON_ERR_INVAL, "F5 lead"},
    {LIT("\"\xff\""), SIO_JSON_ERR_INVAL, "FF byte"},
    {LIT("\"\xc3\""), SIO_JSON_ERR_INVAL, "truncated sequence before quote"},
    {LIT("\"\xe2\x82z\""), SIO_JSON_ERR_INVAL, "truncated 3-byte sequence"},
    {LIT("{} x"), SIO_JSON_ERR_INVAL, "trailing garbage"},
    {LIT("[]]"), SIO_JSON_ERR_INVAL, "extra ]"},
    {LIT("1 2"), SIO_JSON_ERR_INVAL, "two numbers"},
    {LIT("{}{}"), SIO_JSON_ERR_INVAL, "two objects"},
    {LIT("\"a\"\"b\""), SIO_JSON_ERR_INVAL, "two strings"},
    {LIT("true false"), SIO_JSON_ERR_INVAL, "two literals"},
    {LIT("nulll"), SIO_JSON_ERR_INVAL, "literal with extra letter"},
    {LIT("null\0"), SIO_JSON_ERR_INVAL, "NUL after value"},
    {LIT("[1,\0]"), SIO_JSON_ERR_INVAL, "NUL between values"},
    {LIT("\xef\xbb\xbf{}"), SIO_JSON_ERR_INVAL, "byte order mark"},
    {LIT("\v1"), SIO_JSON_ERR_INVAL, "vertical tab is not whitespace"},
    {LIT("\f[]"), SIO_JSON_ERR_INVAL, "form feed is not whitespace"},
    {LIT("\xc2\xa0[]"), SIO_JSON_ERR_INVAL, "no-break space is not whitespace"},
    {LIT("/**/1"), SIO_JSON_ERR_INVAL, "comment"},
    {LIT("[1]//"), SIO_JSON_ERR_INVAL, "trailing comment"},
};

/* Every row, with and without a token array; valid rows also through sio_json_value_end(). */
static void test_parse_table(void)
{
    sio_json_tok toks[64];
    for (size_t i = 0; i < sizeof parse_cases / sizeof parse_cases[0]; i++) {
        const struct parse_case *c = &parse_cases[i];
        CHECK(parse(c->js, c->len, NULL, 0) == c->ret, c->note);
        CHECK(parse(c->js, c->len, toks, 64) == c->ret, c->note);
        if (c->ret > 0) {
            const char *g = guarded(c->js, c->len);
            long end = sio_json_value_end(g, c->len, 0);
            CHECK(end > 0, c->note);
            while (end > 0 && (size_t)end < c->len && strchr(" \t\r\n", g[end])) end++;
            CHECK(end == (long)c->len, c->note);
        }
    }
}

/* Each proper prefix of a valid object, array or string (up to where its value ends) is a
 * valid beginning of JSON, so the parser must say _PART: never accept it, never call it
 * malformed. This is the byte-by-byte feeding test of a strict, length-bounded parser. */
static void test_parse_prefixes(void)
{
    for (size_t i = 0; i < sizeof parse_cases / sizeof parse_cases[0]; i++) {
        const struct parse_case *c = &parse_cases[i];
        if (c->ret <= 0) continue;
        sio_json_type t = sio_json_typeof((sio_str){c->js, c->len});
        if (t != SIO_JSON_OBJECT && t != SIO_JSON_ARRAY && t != SIO_JSON_STRING) continue;
        long end = sio_json_value_end(c->js, c->len, 0);
        for (size_t k = 0; k < (size_t)end; k++) {
            int r = parse(c->js, k, NULL, 0);
            CHECK(r == SIO_JSON_ERR_PART, c->note);
            CHECK(sio_json_value_end(guarded(c->js, k), k, 0) == SIO_JSON_ERR_PART, c->note);
        }
    }
}

/* ====== Parser: limits ====== */

static void test_parse_depth(void)
{
    const int N = SIO_JSON_MAX_DEPTH;
    struct {
        int n;   /* nesting */
        int ret; /* expected */
    } rows[] = {{N - 1, N - 1}, {N, N}, {N + 1, SIO_JSON_ERR_DEPTH}};

    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        int n = rows[i].n, half = n / 2;
        char *a = nest(n, "[", "", "]");
        char *o = nest(n, "{\"a\":", "1", "}");
        /* [{"k":[{"k": ... }]}]: two levels per repeat, plus "[]" in the middle if n is odd. */
        char *m = nest(half, "[{\"k\":", n % 2 ? "[]" : "1", "}]");
        int want_o = rows[i].ret > 0 ? 2 * n + 1 : rows[i].ret;
        int want_m = rows[i].ret > 0 ? 3 * half + 1 : rows[i].ret;
        CHECK(parse(a, strlen(a), NULL, 0) == rows[i].ret, "nested arrays");
        CHECK(parse(o, strlen(o), NULL, 0) == want_o, "nested objects");
        CHECK(parse(m, strlen(m), NULL, 0) == want_m, "nested arrays and objects");
        CHECK(sio_json_value_end(a, strlen(a), 0) ==
                  (rows[i].ret > 0 ? (long)strlen(a) : SIO_JSON_ERR_DEPTH),
              "value_end depth");
        free(a);
        free(o);
        free(m);
    }
}

/* bad-inputs 68: a 100k-deep bomb, closed or not, inside an event array or alone. */
static void test_parse_bomb(void)
{
    const int n = 100000;
    char *closed = nest(n, "[", "", "]");
    char *open = nest(n, "[", "", "");
    char *event = malloc((size_t)n + 16);
    sio_json_tok toks[8];
    if (!event) abort();
    memcpy(event, "[\"x\",", 5);
    memcpy(event + 5, open, (size_t)n);
    event[5 + n] = '\0';

    CHECK(parse(closed, strlen(closed), NULL, 0) == SIO_JSON_ERR_DEPTH, "closed bomb");
    CHECK(parse(closed, strlen(closed), toks, 8) == SIO_JSON_ERR_DEPTH, "closed bomb, toks");
    CHECK(parse(open, strlen(open), NULL, 0) == SIO_JSON_ERR_DEPTH, "open bomb");
    CHECK(parse(event, strlen(event), NULL, 0) == SIO_JSON_ERR_DEPTH, "bomb in event");
    const char *g = guarded(closed, strlen(closed));
    sio_str s = {g, strlen(closed)};
    CHECK(sio_json_value_end(g, s.len, 0) == SIO_JSON_ERR_DEPTH, "bomb value_end");
    CHECK(sio_json_count(s) == -1, "bomb count");
    CHECK(sio_json_at(s, 0).p == NULL, "bomb at");
    CHECK(!sio_json_truthy(s), "bomb is not valid, so not truthy");
    free(closed);
    free(open);
    free(event);
}

/* Numbers are kept whole whatever their length; only the grammar is checked. */
static void test_parse_long_numbers(void)
{
    char num[1200];
    memset(num, '7', 400);
    num[400] = '\0';
    CHECK(parse(num, 400, NULL, 0) == 1, "400-digit integer");
    num[0] = '-';
    num[200] = '.';
    memcpy(num + 400, "e-9999", 7);
    CHECK(parse(num, strlen(num), NULL, 0) == 1, "400-digit decimal with exponent");
    num[1] = '0';
    CHECK(parse(num, strlen(num), NULL, 0) == SIO_JSON_ERR_INVAL, "leading zero, 400 digits");

    char arr[1200];
    arr[0] = '[';
    memset(arr + 1, '9', 1000);
    memcpy(arr + 1001, "]", 2);
    sio_json_tok t[2];
    CHECK(parse(arr, strlen(arr), t, 2) == 2, "1000-digit number in array");
    CHECK(t[1].type == SIO_JSON_NUMBER && t[1].start == 1 && t[1].end == 1001, "its token");
}

/* ====== Parser: tokens ====== */

static void test_parse_tokens(void)
{
    static const char doc[] = "{\"a\":[1,\"x\"],\"b\":{}}";
    static const sio_json_tok want[] = {
        {SIO_JSON_OBJECT, 0, 20, 2, -1}, /* {...} */
        {SIO_JSON_STRING, 1, 4, 0, 0},   /* "a" */
        {SIO_JSON_ARRAY, 5, 12, 2, 1},   /* [1,"x"], parent is its key */
        {SIO_JSON_NUMBER, 6, 7, 0, 2},   /* 1 */
        {SIO_JSON_STRING, 8, 11, 0, 2},  /* "x" */
        {SIO_JSON_STRING, 13, 16, 0, 0}, /* "b" */
        {SIO_JSON_OBJECT, 17, 19, 0, 5}, /* {} */
    };
    sio_json_tok t[16];
    int n = parse(doc, sizeof doc - 1, t, 16);
    CHECK(n == 7, "token count");
    for (int i = 0; i < 7 && n == 7; i++) {
        CHECK(t[i].type == want[i].type, "type");
        CHECK(t[i].start == want[i].start && t[i].end == want[i].end, "start/end");
        CHECK(t[i].size == want[i].size, "size");
        CHECK(t[i].parent == want[i].parent, "parent");
    }

    /* Scalars at the top level, surrounded by whitespace. */
    CHECK(parse(LIT("  \"s\\n\" "), t, 1) == 1, "top string");
    CHECK(t[0].type == SIO_JSON_STRING && t[0].start == 2 && t[0].end == 7, "string token");
    CHECK(t[0].parent == -1 && t[0].size == 0, "string token parent");
    CHECK(parse(LIT("-12.5e3"), t, 1) == 1, "top number");
    CHECK(t[0].type == SIO_JSON_NUMBER && t[0].start == 0 && t[0].end == 7, "number token");
    CHECK(parse(LIT("\nnull"), t, 1) == 1 && t[0].type == SIO_JSON_NULL && t[0].start == 1,
          "null token");
    CHECK(parse(LIT("false"), t, 1) == 1 && t[0].type == SIO_JSON_FALSE && t[0].end == 5,
          "false token");

    /* Arrays of arrays: sizes and parents. */
    CHECK(parse(LIT("[[1],[2,true],[]]"), t, 16) == 7, "nested arrays");
    CHECK(t[0].size == 3 && t[1].size == 1 && t[3].size == 2 && t[6].size == 0, "sizes");
    CHECK(t[1].parent == 0 && t[2].parent == 1 && t[3].parent == 0, "parents");
    CHECK(t[4].parent == 3 && t[5].parent == 3 && t[5].type == SIO_JSON_TRUE, "parents 2");
    CHECK(t[6].parent == 0 && t[6].start == 14 && t[6].end == 16, "empty array");

    /* Duplicate keys: both kept as tokens, object size counts both. */
    CHECK(parse(LIT("{\"a\":1,\"a\":2}"), t, 16) == 5 && t[0].size == 2, "duplicate keys");
    CHECK(t[4].parent == 3 && t[2].parent == 1, "values' parents are their keys");
}

/* toks == NULL counts; a short array gives _NOMEM, but only for otherwise valid text. */
static void test_parse_nomem(void)
{
    sio_json_tok t[8];
    CHECK(parse(LIT("[1,2,3]"), NULL, 0) == 4, "count only");
    CHECK(parse(LIT("[1,2,3]"), NULL, 2) == 4, "count only ignores ntoks");
    CHECK(parse(LIT("[1,2,3]"), t, 4) == 4, "exact fit");
    CHECK(parse(LIT("[1,2,3]"), t, 3) == SIO_JSON_ERR_NOMEM, "one short");
    CHECK(t[0].size == 3 && t[2].end == 4, "the tokens that fit are filled");
    CHECK(parse(LIT("1"), t, 0) == SIO_JSON_ERR_NOMEM, "zero tokens");
    CHECK(parse(LIT("[1,2,x]"), t, 1) == SIO_JSON_ERR_INVAL, "invalid beats nomem");
    CHECK(parse(LIT("[1,2"), t, 1) == SIO_JSON_ERR_PART, "part beats nomem");
    CHECK(sio_json_parse(NULL, 0, NULL, 0) == SIO_JSON_ERR_INVAL, "NULL text");
}

/* ====== Navigation ====== */

static void test_value_end(void)
{
    const char *js = "  [1, {\"a\":\"]\"}]  x";
    CHECK(sio_json_value_end(js, strlen(js), 0) == 16, "skips leading space, stops at value");
    CHECK(sio_json_value_end(js, strlen(js), 3) == 4, "from an inner offset");
    CHECK(sio_json_value_end(js, strlen(js), 17) == SIO_JSON_ERR_INVAL, "x");
    CHECK(sio_json_value_end(js, 10, 0) == SIO_JSON_ERR_PART, "truncated");
    CHECK(sio_json_value_end(js, strlen(js), 99) == SIO_JSON_ERR_INVAL, "offset past end");
    CHECK(sio_json_value_end("12", 2, 0) == 2, "number up to the end");
}

static void test_typeof_trim(void)
{
    struct {
        const char *v;
        sio_json_type t;
    } rows[] = {
        {" {}", SIO_JSON_OBJECT}, {"[", SIO_JSON_ARRAY},   {"\"x\"", SIO_JSON_STRING},
        {"-1", SIO_JSON_NUMBER},  {"7", SIO_JSON_NUMBER},  {"true", SIO_JSON_TRUE},
        {"\tfalse", SIO_JSON_FALSE}, {"null", SIO_JSON_NULL}, {"", SIO_JSON_NONE},
        {"   ", SIO_JSON_NONE},   {"x", SIO_JSON_NONE},    {"+1", SIO_JSON_NONE},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        CHECK(sio_json_typeof(S(rows[i].v)) == rows[i].t, rows[i].v);
    CHECK(sio_json_typeof((sio_str){NULL, 0}) == SIO_JSON_NONE, "absent");

    CHECK(slice_is(sio_json_trim(S(" \t\r\n[1] \n")), "[1]"), "trim both sides");
    CHECK(slice_is(sio_json_trim(S("x")), "x"), "nothing to trim");
    CHECK(sio_json_trim(S("  ")).len == 0 && sio_json_trim(S("  ")).p, "all space: empty");
    CHECK(sio_json_trim((sio_str){NULL, 0}).p == NULL, "absent stays absent");
    CHECK(slice_is(sio_json_trim(S("\v1\v")), "\v1\v"), "\\v is not JSON whitespace");
}

static void test_get(void)
{
    static const char obj[] = "{ \"a\" : 1, \"b\":{\"c\":[1,2,3]}, \"a\":2, "
                              "\"\\u0061b\":\"x\", \"\":null, \"e\\u0301\":0 }";
    sio_str o = {guarded(obj, sizeof obj - 1), sizeof obj - 1};
    CHECK(slice_is(sio_json_get(o, "a"), "2"), "last duplicate wins");
    CHECK(slice_is(sio_json_get(o, "ab"), "\"x\""), "escaped key matches");
    CHECK(slice_is(sio_json_get(o, "b"), "{\"c\":[1,2,3]}"), "object value");
    CHECK(slice_is(sio_json_get(o, ""), "null"), "empty key");
    CHECK(slice_is(sio_json_get(o, "e\xcc\x81"), "0"), "UTF-8 key via escape");
    CHECK(sio_json_get(o, "c").p == NULL, "nested key is not a member");
    CHECK(sio_json_get(o, "z").p == NULL, "absent key");
    CHECK(sio_json_get(o, NULL).p == NULL, "NULL key");
    CHECK(slice_is(sio_json_get(sio_json_get(o, "b"), "c"), "[1,2,3]"), "chained");

    CHECK(sio_json_get(S("[1]"), "a").p == NULL, "array is not an object");
    CHECK(sio_json_get(S("\"a\""), "a").p == NULL, "string is not an object");
    CHECK(sio_json_get((sio_str){NULL, 0}, "a").p == NULL, "absent object");
    CHECK(sio_json_get(S("{\"a\":1,"), "a").p == NULL, "truncated object");
    CHECK(sio_json_get(S("{\"a\":1 \"b\":2}"), "a").p == NULL, "missing comma");
    CHECK(sio_json_get(S("{\"a\":01}"), "a").p == NULL, "bad value");
    CHECK(sio_json_get(S("{\"a\" 1}"), "a").p == NULL, "missing colon");
    CHECK(sio_json_get(S("{a:1}"), "a").p == NULL, "bare key");
    CHECK(sio_json_get(S("{\"a\\u0000\":1}"), "a").p == NULL, "key with NUL is not \"a\"");

    /* A slice cut short of the text must not be read past: guarded. */
    const char *g = guarded("{\"k\":\"v\"", 8);
    CHECK(sio_json_get((sio_str){g, 8}, "k").p == NULL, "unterminated object, guarded");
}

/* Destructuring: several keys in one pass agree with sio_json_get() one by one. */
static void test_get_n(void)
{
    static const char obj[] = "{\"to\":\"x\",\"content\":{\"t\":1},\"to\":\"y\",\"c\\u006fntent\":[2],\"n\":null}";
    const char *const keys[] = {"content", "to", "missing", NULL, "n", "to"};
    sio_str o = {guarded(obj, sizeof obj - 1), sizeof obj - 1}, v[6];
    CHECK(sio_json_get_n(o, keys, v, 6) == 0, "object");
    CHECK(slice_is(v[0], "[2]"), "escaped duplicate key wins");
    CHECK(slice_is(v[1], "\"y\"") && slice_is(v[5], "\"y\""), "last duplicate wins, key asked twice");
    CHECK(v[2].p == NULL && v[3].p == NULL, "absent key, NULL key");
    CHECK(slice_is(v[4], "null"), "null value is present");
    for (int i = 0; i < 6; i++)
        CHECK(keys[i] ? v[i].p == sio_json_get(o, keys[i]).p && v[i].len == sio_json_get(o, keys[i]).len : 1,
              "same as sio_json_get");
    CHECK(sio_json_get_n(o, keys, v, 0) == 0, "no keys");

    static const char *const bad[] = {"[1]", "{\"to\":1,}", "{\"to\":\"\x01\"}", "{\"to\":1", "1", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        v[0] = v[1] = (sio_str){"x", 1};
        CHECK(sio_json_get_n((sio_str){guarded(bad[i], strlen(bad[i])), strlen(bad[i])}, keys, v, 2) == -1 &&
                  v[0].p == NULL && v[1].p == NULL,
              "not a well-formed object: all absent");
    }
    CHECK(sio_json_get_n(S("{\"to\":1,\"x\":}"), keys, v, 2) == -1 && v[1].p == NULL,
          "a bad member after a match: absent");
    CHECK(sio_json_get_n(o, NULL, v, 1) == -1 && sio_json_get_n(o, keys, NULL, 1) == -1, "NULL arrays");
}

static void test_at_count_next(void)
{
    static const char arr[] = "[ 1 , \"two\" , [3] , {\"4\":4} ]";
    sio_str a = {guarded(arr, sizeof arr - 1), sizeof arr - 1};
    CHECK(slice_is(sio_json_at(a, 0), "1"), "at 0");
    CHECK(slice_is(sio_json_at(a, 1), "\"two\""), "at 1");
    CHECK(slice_is(sio_json_at(a, 2), "[3]"), "at 2");
    CHECK(slice_is(sio_json_at(a, 3), "{\"4\":4}"), "at 3");
    CHECK(sio_json_at(a, 4).p == NULL, "at past end");
    CHECK(sio_json_at(a, -1).p == NULL, "negative index");
    CHECK(sio_json_at(S("{\"a\":1}"), 0).p == NULL, "object is not an array");
    CHECK(sio_json_at(S("[]"), 0).p == NULL, "empty array");
    CHECK(slice_is(sio_json_at(S("[1,x]"), 0), "1"), "at stops early");
    CHECK(sio_json_at(S("[1,x]"), 1).p == NULL, "bad element");

    struct {
        const char *v;
        int n;
    } counts[] = {
        {"[]", 0}, {" [ ] ", 0}, {"{}", 0}, {"[1,[2,3],{}]", 3}, {"{\"a\":1,\"a\":2}", 2},
        {"1", -1}, {"\"[]\"", -1}, {"[1,", -1}, {"[1,]", -1}, {"{\"a\"}", -1}, {"[", -1},
        {"[1 2]", -1}, {"{\"a\":1,}", -1},
    };
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        const char *g = guarded(counts[i].v, strlen(counts[i].v));
        CHECK(sio_json_count((sio_str){g, strlen(counts[i].v)}) == counts[i].n, counts[i].v);
    }
    CHECK(sio_json_count((sio_str){NULL, 0}) == -1, "absent");

    /* Iterating an object: keys still quoted. */
    sio_str o = S(" {\"x\": 1 ,\"y\":[true] } "), k, v;
    size_t pos = 0;
    CHECK(sio_json_next(o, &pos, &k, &v) == 1, "first");
    CHECK(slice_is(k, "\"x\"") && slice_is(v, "1"), "first key/value");
    CHECK(sio_json_next(o, &pos, &k, &v) == 1, "second");
    CHECK(slice_is(k, "\"y\"") && slice_is(v, "[true]"), "second key/value");
    CHECK(sio_json_next(o, &pos, &k, &v) == 0, "end");
    CHECK(k.p == NULL && v.p == NULL, "outputs cleared at end");
    CHECK(sio_json_next(o, &pos, &k, &v) == 0, "end is sticky");

    /* Iterating an array, key may be NULL. */
    sio_str a2 = S("[\"a\",2]");
    pos = 0;
    CHECK(sio_json_next(a2, &pos, NULL, &v) == 1 && slice_is(v, "\"a\""), "array first");
    CHECK(sio_json_next(a2, &pos, &k, &v) == 1 && slice_is(v, "2") && k.p == NULL, "array 2nd");
    CHECK(sio_json_next(a2, &pos, NULL, &v) == 0, "array end");

    /* Malformed containers. */
    pos = 0;
    CHECK(sio_json_next(S("[1,,2]"), &pos, NULL, &v) == 1, "ok before the bad part");
    CHECK(sio_json_next(S("[1,,2]"), &pos, NULL, &v) == -1 && v.p == NULL, "double comma");
    pos = 0;
    CHECK(sio_json_next(S("1"), &pos, NULL, &v) == -1, "not a container");
    pos = 0;
    CHECK(sio_json_next((sio_str){NULL, 0}, &pos, NULL, &v) == -1, "absent");
    pos = 999;
    CHECK(sio_json_next(S("[1]"), &pos, NULL, &v) == -1, "pos out of range");
    CHECK(sio_json_next(S("[1]"), NULL, NULL, &v) == -1, "NULL pos");
}

static void test_str_eq_unescape(void)
{
    struct {
        const char *json;  /* a JSON string */
        const char *plain; /* what it decodes to */
        long len;          /* decoded length (strlen(plain) unless it holds NUL) */
    } rows[] = {
        {"\"\"", "", 0},
        {"\"abc\"", "abc", 3},
        {"\"a\\u0062c\"", "abc", 3},
        {"\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\/\b\f\n\r\t", 8},
        {"\"\\u00e9\\u00C9\"", "\xc3\xa9\xc3\x89", 4},
        {"\"\\u20ac\"", "\xe2\x82\xac", 3},
        {"\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80", 4},
        {"\"\xf0\x9f\x98\x80\"", "\xf0\x9f\x98\x80", 4},
        {"\"\\ud800\"", "\xed\xa0\x80", 3},
        {"\"\\udfff\"", "\xed\xbf\xbf", 3},
        {"\"\\ude00\\ud83d\"", "\xed\xb8\x80\xed\xa0\xbd", 6},
        {"\"\\ud83d\\ud83d\\ude00\"", "\xed\xa0\xbd\xf0\x9f\x98\x80", 7},
        {"\"\\ud83dx\"", "\xed\xa0\xbdx", 4},
        {"\"\\u0000\"", "", 1},
        {"\"a\\u0000b\"", "a", 3},
    };
    char buf[64];
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const char *g = guarded(rows[i].json, strlen(rows[i].json));
        sio_str s = {g, strlen(rows[i].json)};
        long n = sio_json_unescape(s, buf, sizeof buf);
        CHECK(n == rows[i].len, rows[i].json);
        CHECK(n >= 0 && buf[n] == '\0', rows[i].json);
        CHECK(n >= 0 && memcmp(buf, rows[i].plain, strlen(rows[i].plain)) == 0, rows[i].json);
        int has_nul = rows[i].len != (long)strlen(rows[i].plain);
        CHECK(sio_json_str_eq(s, rows[i].plain) == !has_nul, rows[i].json);
        /* Exactly enough room (len + NUL) works, one byte less does not. */
        CHECK(sio_json_unescape(s, buf, (size_t)rows[i].len + 1) == rows[i].len, "exact cap");
        CHECK(sio_json_unescape(s, buf, (size_t)rows[i].len) == -1, "cap one short");
        CHECK(buf[0] == '\0' || rows[i].len == 0, "failed unescape leaves an empty string");
    }

    CHECK(sio_json_str_eq(S(" \"ab\" "), "ab"), "surrounding space");
    CHECK(!sio_json_str_eq(S("\"ab\""), "abc"), "prefix");
    CHECK(!sio_json_str_eq(S("\"abc\""), "ab"), "longer");
    CHECK(!sio_json_str_eq(S("\"ab\""), NULL), "NULL cstr");
    CHECK(!sio_json_str_eq(S("ab"), "ab"), "not a string");
    CHECK(!sio_json_str_eq(S("\"ab"), "ab"), "unterminated");
    CHECK(!sio_json_str_eq(S("\"a\"b\""), "a\"b"), "trailing bytes");
    CHECK(!sio_json_str_eq(S("\"\\x\""), "x"), "bad escape");
    CHECK(!sio_json_str_eq((sio_str){NULL, 0}, ""), "absent");

    CHECK(sio_json_unescape(S("1"), buf, sizeof buf) == -1, "number");
    CHECK(sio_json_unescape(S("\"a\x01\""), buf, sizeof buf) == -1, "raw control");
    CHECK(sio_json_unescape(S("\"\xed\xa0\x80\""), buf, sizeof buf) == -1, "raw surrogate");
    CHECK(sio_json_unescape(S("\"a\""), buf, 0) == -1, "cap 0");
    CHECK(sio_json_unescape(S("\"a\""), NULL, 8) == -1, "NULL dst");
    CHECK(sio_json_unescape(S(" \"a\" "), buf, sizeof buf) == 1, "trimmed");
}

/* unescape + sio_jw_strn writes what JSON.stringify(JSON.parse(in)) writes (checked in Node). */
static void test_string_round_trip(void)
{
    struct {
        const char *in, *out;
    } rows[] = {
        {"\"\\ud800\"", "\"\\ud800\""},
        {"\"\\uDBFF\"", "\"\\udbff\""},
        {"\"\\udc00\\ud800\"", "\"\\udc00\\ud800\""},
        {"\"\\ud83d\\ud83d\\ude00\"", "\"\\ud83d\xf0\x9f\x98\x80\""},
        {"\"\\ud83d\\ude00\"", "\"\xf0\x9f\x98\x80\""},
        {"\"\xf0\x9f\x98\x80\"", "\"\xf0\x9f\x98\x80\""},
        {"\"\\u0000\"", "\"\\u0000\""},
        {"\"\\u001E\"", "\"\\u001e\""},
        {"\"\\/\"", "\"/\""},
        {"\"\\u2028\\u2029\"", "\"\xe2\x80\xa8\xe2\x80\xa9\""},
        {"\"a\\tb\\u0008\\u000c\"", "\"a\\tb\\b\\f\""},
        {"\"\\u007f\\u00e9\"", "\"\x7f\xc3\xa9\""},
        {"\"\\u0022\\u005c\"", "\"\\\"\\\\\""},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char buf[64];
        sio_jw w;
        long n = sio_json_unescape(S(rows[i].in), buf, sizeof buf);
        CHECK(n >= 0, rows[i].in);
        sio_jw_init(&w, NULL, 0);
        sio_jw_strn(&w, buf, n < 0 ? 0 : (size_t)n);
        CHECK(jw_is(&w, rows[i].out), rows[i].in);
        sio_jw_free(&w);
    }
}

static void test_truthy(void)
{
    struct {
        const char *v;
        int t;
    } rows[] = {
        {"null", 0},   {"false", 0},   {"\"\"", 0},    {"0", 0},     {"-0", 0},
        {"0.0", 0},    {"0e5", 0},     {"-0.000E-7", 0}, {"1e-400", 0}, {" 0 ", 0},
        {"true", 1},   {"\"0\"", 1},   {"\"false\"", 1}, {"\" \"", 1}, {"1", 1},
        {"-1", 1},     {"0.001", 1},   {"1e400", 1},   {"[]", 1},    {"{}", 1},
        {"[0]", 1},    {"", 0},        {"   ", 0},     {"nul", 0},   {"01", 0},
        {"[1,]", 0},   {"\"", 0},      {"true x", 0},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const char *g = guarded(rows[i].v, strlen(rows[i].v));
        CHECK(sio_json_truthy((sio_str){g, strlen(rows[i].v)}) == rows[i].t, rows[i].v);
    }
    CHECK(sio_json_truthy((sio_str){NULL, 0}) == 0, "absent");
}

/* A tiny deterministic generator for the long-number test. */
static unsigned rng_state = 12345;
static unsigned rng(void)
{
    rng_state = rng_state * 1103515245u + 12345u;
    return rng_state >> 16;
}

/* Checks sio_json_number on a guarded copy against strtod on a NUL-terminated one. */
static void check_number(const char *text, const char *note)
{
    size_t n = strlen(text);
    double got = -1, want = strtod(text, NULL);
    int r = sio_json_number((sio_str){guarded(text, n), n}, &got);
    CHECK(r == 0, note);
    CHECK(got == want && signbit(got) == signbit(want), note);
}

static void test_number(void)
{
    static const char *good[] = {
        "0", "-0", "1", "-1.5", "0.1", "123456789012345678901234567890", "1e21", "1E+2",
        "5e-324", "2.4703282292062327e-324", "2.4703282292062328e-324", "1.7976931348623157e308",
        "1.7976931348623159e308", "1e400", "-1e400", "1e-400", "-1e-400", "0.000001",
        "9007199254740993", "9007199254740993.0000000000000000000000000000001",
        "0.30000000000000004", "1e99999999999999999999", "1e-99999999999999999999",
        "0e99999999999999999999", "2.2250738585072011e-308",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) check_number(good[i], good[i]);

    /* Long numbers: the digits past what is kept still decide halfway cases. */
    char buf[3000];
    snprintf(buf, sizeof buf, "9007199254740993%0900d1e-901", 0);
    check_number(buf, "halfway + tiny, 900 zeros");
    snprintf(buf, sizeof buf, "9007199254740993%0900de-900", 0);
    check_number(buf, "exactly halfway, 900 zeros");
    for (int t = 0; t < 200; t++) {
        size_t n = 0;
        int digits = 1 + (int)(rng() % 2000);
        if (rng() & 1) buf[n++] = '-';
        buf[n++] = (char)('1' + rng() % 9);
        for (int d = 1; d < digits; d++) {
            if (d == digits / 2 && (rng() & 1)) buf[n++] = '.';
            buf[n++] = (char)('0' + rng() % 10);
        }
        n += (size_t)snprintf(buf + n, 16, "e%d", (int)(rng() % 1400) - 1000);
        buf[n] = '\0';
        check_number(buf, "random long number");
    }
    memset(buf, '0', 402);
    buf[0] = '0';
    buf[1] = '.';
    buf[401] = '5';
    buf[402] = '\0';
    check_number(buf, "0.000...5, 400 digits");

    static const char *bad[] = {"", " ", "01", "+1", "1.", ".5", "1e", "-", "NaN", "\"1\"",
                                "1 2", "0x1", "true", "1,"};
    double d = 42;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(sio_json_number(S(bad[i]), &d) == -1, bad[i]);
    CHECK(d == 42, "output untouched on error");
    CHECK(sio_json_number(S(" 7 "), &d) == 0 && d == 7, "trimmed");
    CHECK(sio_json_number((sio_str){NULL, 0}, &d) == -1, "absent");
}

/* ====== Emitter ====== */

static void test_jw_structure(void)
{
    char stack[256];
    sio_jw w;
    sio_jw_init(&w, stack, sizeof stack);
    sio_jw_obj(&w);
    sio_jw_key(&w, "a");
    sio_jw_arr(&w);
    sio_jw_int(&w, 1);
    sio_jw_int(&w, 2);
    sio_jw_obj(&w);
    sio_jw_end(&w);
    sio_jw_arr(&w);
    sio_jw_end(&w);
    sio_jw_end(&w);
    sio_jw_key(&w, "b");
    sio_jw_str(&w, "x\"y");
    sio_jw_key(&w, "c");
    sio_jw_null(&w);
    sio_jw_key(&w, "d");
    sio_jw_bool(&w, 1);
    sio_jw_key(&w, "e");
    sio_jw_bool(&w, 0);
    sio_jw_key(&w, "f");
    sio_jw_double(&w, 1.5);
    sio_jw_key(&w, "g");
    sio_jw_raw(&w, "{\"r\":[]}", 8);
    sio_jw_key(&w, "h\n");
    sio_jw_obj(&w);
    sio_jw_key(&w, "i");
    sio_jw_arr(&w);
    sio_jw_end(&w);
    sio_jw_end(&w);
    sio_jw_end(&w);
    CHECK(jw_is(&w, "{\"a\":[1,2,{},[]],\"b\":\"x\\\"y\",\"c\":null,\"d\":true,\"e\":false,"
                    "\"f\":1.5,\"g\":{\"r\":[]},\"h\\n\":{\"i\":[]}}"),
          "nested document");
    CHECK(w.depth == 0 && !w.heap && w.buf == stack, "stayed on the stack");
    sio_jw_free(&w);

    /* Framing bytes around JSON: Socket.IO "42[...]", no commas from sio_jw_bytes. */
    sio_jw_init(&w, stack, sizeof stack);
    sio_jw_bytes(&w, "42", 2);
    sio_jw_arr(&w);
    sio_jw_str(&w, "x");
    sio_jw_int(&w, 1);
    sio_jw_end(&w);
    sio_jw_bytes(&w, "\x1e", 1);
    sio_jw_bytes(&w, "2", 1);
    CHECK(jw_is(&w, "42[\"x\",1]\x1e" "2"), "framing bytes");
    sio_jw_free(&w);

    /* Closing brackets are found past strings full of brackets, quotes and backslashes. */
    sio_jw_init(&w, NULL, 0);
    sio_jw_arr(&w);
    sio_jw_obj(&w);
    sio_jw_key(&w, "[{");
    sio_jw_str(&w, "]}\"\\");
    sio_jw_key(&w, "\\");
    sio_jw_str(&w, "\\\\\"[");
    sio_jw_end(&w);
    sio_jw_str(&w, "{");
    sio_jw_end(&w);
    CHECK(jw_is(&w, "[{\"[{\":\"]}\\\"\\\\\",\"\\\\\":\"\\\\\\\\\\\"[\"},\"{\"]"),
          "brackets in strings");
    sio_jw_free(&w);

    /* Caller bugs set err and stop further writes. */
    sio_jw_init(&w, stack, sizeof stack);
    sio_jw_end(&w);
    CHECK(w.err && w.len == 0, "end with nothing open");
    sio_jw_int(&w, 1);
    CHECK(w.len == 0, "writes stop after err");
    sio_jw_init(&w, stack, sizeof stack);
    sio_jw_obj(&w);
    sio_jw_key(&w, "k");
    sio_jw_end(&w);
    CHECK(w.err, "end right after a key");

    /* Top-level scalars, NULL strings. */
    sio_jw_init(&w, stack, sizeof stack);
    sio_jw_str(&w, NULL);
    CHECK(jw_is(&w, "null"), "NULL string is null");
    sio_jw_init(&w, stack, sizeof stack);
    sio_jw_strn(&w, "a\0b", 3);
    CHECK(jw_is(&w, "\"a\\u0000b\""), "embedded NUL");
    sio_jw_free(NULL);
}

/* The writer nests JW_MAX_DEPTH (63) containers; one more sets err. */
static void test_jw_depth(void)
{
    sio_jw w;
    sio_jw_init(&w, NULL, 0);
    for (int i = 0; i < 63; i++) {
        if (i % 2) {
            sio_jw_obj(&w);
            sio_jw_key(&w, "k");
        } else {
            sio_jw_arr(&w);
            sio_jw_int(&w, i);
        }
    }
    CHECK(!w.err && w.depth == 63, "63 levels");
    for (int i = 0; i < 63; i++) {
        if (i == 0) sio_jw_int(&w, 0); /* the innermost container is an array (i = 62) */
        sio_jw_end(&w);
    }
    CHECK(!w.err && w.depth == 0, "closed again");
    /* What was written is valid JSON, 63 deep: the parser takes it if its limit allows. */
    CHECK(sio_json_parse(w.buf, w.len, NULL, 0) ==
              (63 <= SIO_JSON_MAX_DEPTH ? 2 * 63 + 1 : SIO_JSON_ERR_DEPTH),
          "valid JSON");
    sio_jw_free(&w);

    sio_jw_init(&w, NULL, 0);
    for (int i = 0; i < 64; i++) sio_jw_arr(&w);
    CHECK(w.err && w.depth == 63, "64th level sets err");
    sio_jw_free(&w);
    CHECK(w.buf == NULL && w.len == 0 && !w.heap && !w.err, "free resets");
}

static void test_jw_escapes(void)
{
    /* Every control character, as JSON.stringify writes it. */
    static const char *ctrl[32] = {
        "\\u0000", "\\u0001", "\\u0002", "\\u0003", "\\u0004", "\\u0005", "\\u0006", "\\u0007",
        "\\b",     "\\t",     "\\n",     "\\u000b", "\\f",     "\\r",     "\\u000e", "\\u000f",
        "\\u0010", "\\u0011", "\\u0012", "\\u0013", "\\u0014", "\\u0015", "\\u0016", "\\u0017",
        "\\u0018", "\\u0019", "\\u001a", "\\u001b", "\\u001c", "\\u001d", "\\u001e", "\\u001f",
    };
    for (int c = 0; c < 32; c++) {
        char in[1] = {(char)c}, want[16];
        sio_jw w;
        snprintf(want, sizeof want, "\"%s\"", ctrl[c]);
        sio_jw_init(&w, NULL, 0);
        sio_jw_strn(&w, in, 1);
        CHECK(jw_is(&w, want), ctrl[c]);
        sio_jw_free(&w);
    }

    struct {
        const char *in;
        size_t len;
        const char *out;
        const char *note;
    } rows[] = {
        {LIT("\"\\/"), "\"\\\"\\\\/\"", "quote, backslash, slash raw"},
        {LIT("\x7f"), "\"\x7f\"", "DEL raw"},
        {LIT("\xe2\x80\xa8\xe2\x80\xa9"), "\"\xe2\x80\xa8\xe2\x80\xa9\"", "U+2028/9 raw"},
        {LIT("\xf0\x9f\x98\x80\xc3\xa9"), "\"\xf0\x9f\x98\x80\xc3\xa9\"", "non-ASCII raw"},
        {LIT("<script>&'"), "\"<script>&'\"", "HTML characters raw"},
        {LIT("\xed\xa0\x80"), "\"\\ud800\"", "WTF-8 lone high surrogate"},
        {LIT("\xed\xbf\xbf"), "\"\\udfff\"", "WTF-8 lone low surrogate"},
        {LIT("\xed\xa0\xbd\xed\xb8\x80"), "\"\\ud83d\\ude00\"", "WTF-8 pair, both escaped"},
        {LIT("\x80"), "\"\\ufffd\"", "continuation byte"},
        {LIT("a\xff" "b"), "\"a\\ufffdb\"", "FF byte"},
        {LIT("\xc0\xaf"), "\"\\ufffd\\ufffd\"", "overlong: two replacements"},
        {LIT("\xe2\x82z"), "\"\\ufffdz\"", "truncated 3-byte: one replacement"},
        {LIT("\xe2\x82"), "\"\\ufffd\"", "truncated at end"},
        {LIT("\xf4\x90\x80\x80"), "\"\\ufffd\\ufffd\\ufffd\\ufffd\"", "above U+10FFFF"},
        {LIT("\xf0\x9f\x98"), "\"\\ufffd\"", "truncated 4-byte at end"},
        {LIT(""), "\"\"", "empty"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        sio_jw w;
        sio_jw_init(&w, NULL, 0);
        sio_jw_strn(&w, rows[i].in, rows[i].len);
        CHECK(jw_is(&w, rows[i].out), rows[i].note);
        sio_jw_free(&w);
    }

    /* Keys are escaped the same way. */
    char stack[64];
    sio_jw w;
    sio_jw_init(&w, stack, sizeof stack);
    sio_jw_obj(&w);
    sio_jw_key(&w, "\x1e\"");
    sio_jw_int(&w, 0);
    sio_jw_end(&w);
    CHECK(jw_is(&w, "{\"\\u001e\\\"\":0}"), "escaped key");
}

/* Strings are scanned 8 bytes at a time (json.c skip_plain): a byte that ends the fast path,
 * at every offset of a long string, and the bytes just beside them in value (which must not),
 * give the same answers as byte by byte, for the parser, the decoder and the writer. The text
 * ends at a guard page, so a word read past it would fault. */
static void test_string_words(void)
{
    struct {
        const char *b;  /* the bytes placed at offset p of a run of 'a's */
        size_t len;     /* their length */
        int valid;      /* 1 if the string stays valid */
        const char *dec; /* what they decode to (valid ones) */
        const char *out; /* what the writer turns them into */
    } rows[] = {
        {LIT("\""), 0, NULL, "\\\""},
        {LIT("\\n"), 1, "\n", "\\\\n"},
        {LIT("\x01"), 0, NULL, "\\u0001"},
        {LIT("\x1f"), 0, NULL, "\\u001f"},
        {LIT(" "), 1, " ", " "},
        {LIT("!"), 1, "!", "!"},
        {LIT("#"), 1, "#", "#"},
        {LIT("["), 1, "[", "["},
        {LIT("]"), 1, "]", "]"},
        {LIT("\x7f"), 1, "\x7f", "\x7f"},
        {LIT("\x80"), 0, NULL, "\\ufffd"},
        {LIT("\xc3\xa9"), 1, "\xc3\xa9", "\xc3\xa9"},
        {LIT("\xff"), 0, NULL, "\\ufffd"},
    };
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        for (size_t p = 0; p + rows[r].len <= 24; p++) {
            char body[32], js[40], want[64], dec[40];
            memset(body, 'a', 24);
            memcpy(body + p, rows[r].b, rows[r].len);
            js[0] = '"';
            memcpy(js + 1, body, 24);
            js[25] = '"';
            int n = parse(js, 26, NULL, 0);
            if (rows[r].valid) {
                CHECK(n == 1, "valid byte, any offset");
                snprintf(want, sizeof want, "%.*s%s%.*s", (int)p, body, rows[r].dec, (int)(24 - p - rows[r].len), body + p + rows[r].len);
                sio_str s = {guarded(js, 26), 26};
                CHECK(sio_json_unescape(s, dec, sizeof dec) == (long)strlen(want) && strcmp(dec, want) == 0,
                      "decoded, any offset");
                CHECK(sio_json_str_eq(s, want), "compared, any offset");
            } else {
                CHECK(n == SIO_JSON_ERR_INVAL, "invalid byte, any offset");
            }
            sio_jw w;
            sio_jw_init(&w, NULL, 0);
            sio_jw_strn(&w, guarded(body, 24), 24);
            snprintf(want, sizeof want, "\"%.*s%s%.*s\"", (int)p, body, rows[r].out, (int)(24 - p - rows[r].len), body + p + rows[r].len);
            CHECK(jw_is(&w, want), "written, any offset");
            sio_jw_free(&w);
        }
    }
}

/* Expected strings are JSON.stringify's output in Node. */
static void test_jw_double(void)
{
    struct {
        double v;
        const char *js;
    } rows[] = {
        {0.0, "0"},
        {-0.0, "0"},
        {1, "1"},
        {-1.5, "-1.5"},
        {100, "100"},
        {0.1, "0.1"},
        {0.1 + 0.2, "0.30000000000000004"},
        {1.0 / 3, "0.3333333333333333"},
        {2.0 / 3, "0.6666666666666666"},
        {123.456, "123.456"},
        {4.35, "4.35"},
        {-123456789.125, "-123456789.125"},
        {1e15 + 0.3, "1000000000000000.2"},
        {1e20, "100000000000000000000"},
        {9.999999999999999e20, "999999999999999900000"},
        {1.2345678901234568e20, "123456789012345680000"},
        {9223372036854775807.0, "9223372036854776000"},
        {9007199254740993.0, "9007199254740992"},
        {1e21, "1e+21"},
        {1e22, "1e+22"},
        {1.2345678901234568e29, "1.2345678901234568e+29"},
        {1e100, "1e+100"},
        {1.7976931348623157e308, "1.7976931348623157e+308"},
        {0.000001, "0.000001"},
        {0.0000015, "0.0000015"},
        {0.000123, "0.000123"},
        {1e-7, "1e-7"},
        {1.5e-7, "1.5e-7"},
        {5e-7, "5e-7"},
        {123e-20, "1.23e-18"},
        {-1e-100, "-1e-100"},
        {2.2250738585072014e-308, "2.2250738585072014e-308"},
        {5e-324, "5e-324"},
        /* Powers of two, where the nearest 16-digit decimal misses and the next one up is
         * the shortest that reads back (a plain "%.*g until it round-trips" gets 17 digits). */
        {0x1p-1017, "7.120236347223045e-307"},
        {0x1p-1007, "7.291122019556398e-304"},
        {NAN, "null"},
        {INFINITY, "null"},
        {-INFINITY, "null"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char stack[8];
        sio_jw w;
        sio_jw_init(&w, stack, sizeof stack);
        sio_jw_double(&w, rows[i].v);
        CHECK(jw_is(&w, rows[i].js), rows[i].js);
        sio_jw_free(&w);
    }

    /* Every double it writes reads back as itself. */
    for (int e = -1074; e <= 1023; e += 7) {
        double v = ldexp(1.0 + ((unsigned)e & 0xff) / 256.0, e), back;
        char stack[64];
        sio_jw w;
        sio_jw_init(&w, stack, sizeof stack);
        sio_jw_double(&w, v);
        CHECK(sio_json_number((sio_str){w.buf, w.len}, &back) == 0 && back == v, "round trip");
        sio_jw_free(&w);
    }

    /* Separated by commas inside an array. */
    char stack[64];
    sio_jw w;
    sio_jw_init(&w, stack, sizeof stack);
    sio_jw_arr(&w);
    sio_jw_double(&w, 1e21);
    sio_jw_double(&w, NAN);
    sio_jw_double(&w, -0.0);
    sio_jw_end(&w);
    CHECK(jw_is(&w, "[1e+21,null,0]"), "doubles in an array");
}

static void test_jw_int(void)
{
    struct {
        long long v;
        const char *js;
    } rows[] = {
        {0, "0"},
        {-1, "-1"},
        {42, "42"},
        {LLONG_MAX, "9223372036854775807"},
        {LLONG_MIN, "-9223372036854775808"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char stack[4];
        sio_jw w;
        sio_jw_init(&w, stack, sizeof stack);
        sio_jw_int(&w, rows[i].v);
        CHECK(jw_is(&w, rows[i].js), rows[i].js);
        sio_jw_free(&w);
    }
}

/* The writer starts on a small caller buffer (or none) and moves to the heap, keeping what it
 * wrote; the caller's buffer is never written past its cap. */
static void test_jw_growth(void)
{
    char small[4 + 4];
    memset(small, '#', sizeof small);
    sio_jw w;
    sio_jw_init(&w, small, 4);
    sio_jw_arr(&w);
    sio_jw_str(&w, "ab");
    CHECK(w.heap && w.buf != small && w.cap >= 8, "moved to the heap");
    CHECK(memcmp(small + 4, "####", 4) == 0, "caller buffer not overrun");
    for (int i = 0; i < 1000; i++) sio_jw_int(&w, i);
    sio_jw_end(&w);
    CHECK(!w.err && w.len > 3000 && w.cap >= w.len, "grew");
    CHECK(memcmp(w.buf, "[\"ab\",0,1,2,", 12) == 0 && w.buf[w.len - 1] == ']', "content kept");
    CHECK(sio_json_count((sio_str){w.buf, w.len}) == 1001, "still valid JSON");
    sio_jw_free(&w);
    CHECK(w.buf == NULL && !w.heap, "freed");

    sio_jw_init(&w, NULL, 0);
    CHECK(w.buf == NULL && w.cap == 0, "empty writer");
    sio_jw_obj(&w);
    sio_jw_key(&w, "k");
    sio_jw_str(&w, "v");
    sio_jw_end(&w);
    CHECK(jw_is(&w, "{\"k\":\"v\"}") && w.heap, "from NULL/0");
    sio_jw_free(&w);

    /* A long string written in one go crosses several doublings. */
    static char big[100000];
    memset(big, 'x', sizeof big);
    sio_jw_init(&w, small, 4);
    sio_jw_strn(&w, big, sizeof big);
    CHECK(!w.err && w.len == sizeof big + 2 && w.buf[0] == '"' && w.buf[w.len - 1] == '"',
          "long string");
    sio_jw_free(&w);
}

int main(void)
{
    RUN(test_parse_table);
    RUN(test_parse_prefixes);
    RUN(test_parse_depth);
    RUN(test_parse_bomb);
    RUN(test_parse_long_numbers);
    RUN(test_parse_tokens);
    RUN(test_parse_nomem);
    RUN(test_value_end);
    RUN(test_typeof_trim);
    RUN(test_get);
    RUN(test_get_n);
    RUN(test_at_count_next);
    RUN(test_str_eq_unescape);
    RUN(test_string_round_trip);
    RUN(test_truthy);
    RUN(test_number);
    RUN(test_jw_structure);
    RUN(test_jw_depth);
    RUN(test_jw_escapes);
    RUN(test_string_words);
    RUN(test_jw_double);
    RUN(test_jw_int);
    RUN(test_jw_growth);
    return test_main_end("json");
}
