/* SPDX-License-Identifier: MIT */
/* test_resp.c -- unit tests for resp.c: table rows for valid replies (every RESP2 type, nesting,
 * the Pub/Sub shapes of redis-adapter.md §1.6), each fed whole and then one byte at a time
 * (-2 for every shorter prefix); malformed rows (bad-inputs #76: negative or oversized bulk
 * lengths, bad digits, bare CR/LF, RESP3 types, too deep nesting), every limit at N-1/N/N+1;
 * a pipelined stream split at every byte; token-array sizing; the command encoder. Inputs sit
 * right before a PROT_NONE page (guarded()), so any read past len faults at once. */
#include "../resp.h"
#include "test.h"

#include <limits.h>

/* A string literal and its length (so inputs may contain NUL bytes). */
#define S(lit) lit, sizeof(lit) - 1

#define NT 32
static struct sio_resp_tok toks[NT];

/* Parses in[0..len) from a guarded copy with a garbage-filled token array. */
static long parse(const char *in, size_t len, int *nt)
{
    memset(toks, 0x5a, sizeof toks);
    *nt = 12345;
    return sio_resp_parse(guarded(in, len), len, toks, NT, nt);
}

/* 1 if s holds exactly the bytes lit[0..n). */
static int slice_is(sio_str s, const char *lit, size_t n)
{
    return s.len == n && (n == 0 || (s.p && memcmp(s.p, lit, n) == 0));
}

/* ====== Valid replies ====== */

/* One expected token: type, bytes (for STATUS/ERROR/BULK), n, span. */
struct want_tok {
    enum sio_resp_type type;
    const char *str; /* expected slice for string types, NULL otherwise */
    size_t slen;     /* its length */
    long long n;     /* expected n */
    unsigned span;   /* expected span */
};

#define W_STR(t, lit, span) {t, lit, sizeof(lit) - 1, (long long)(sizeof(lit) - 1), span}
#define W_INT(v) {SIO_RESP_INT, NULL, 0, v, 1}
#define W_ARR(n, span) {SIO_RESP_ARRAY, NULL, 0, n, span}
#define W_NIL {SIO_RESP_NIL, NULL, 0, -1, 1}
#define W_NILARR {SIO_RESP_NIL_ARRAY, NULL, 0, -1, 1}

struct valid_row {
    const char *in;  /* one reply, possibly followed by more bytes */
    size_t len;      /* bytes in `in` */
    size_t reply;    /* length of the first reply; 0: all of `in` */
    int ntok;        /* tokens expected */
    struct want_tok t[8]; /* the first (up to 8) tokens */
    const char *note;
};

static const struct valid_row valid_rows[] = {
    {S("+OK\r\n"), 0, 1, {W_STR(SIO_RESP_STATUS, "OK", 1)}, "status"},
    {S("+\r\n"), 0, 1, {W_STR(SIO_RESP_STATUS, "", 1)}, "empty status"},
    {S("-ERR unknown command 'FOO'\r\n"), 0, 1, {W_STR(SIO_RESP_ERROR, "ERR unknown command 'FOO'", 1)}, "error"},
    {S("-WRONGPASS invalid username-password pair\r\n"), 0, 1,
     {W_STR(SIO_RESP_ERROR, "WRONGPASS invalid username-password pair", 1)}, "auth error"},
    {S(":0\r\n"), 0, 1, {W_INT(0)}, "zero"},
    {S(":1\r\n"), 0, 1, {W_INT(1)}, "PUBLISH receivers"},
    {S(":-1\r\n"), 0, 1, {W_INT(-1)}, "negative"},
    {S(":9223372036854775807\r\n"), 0, 1, {W_INT(LLONG_MAX)}, "int64 max (19 digits)"},
    {S(":-9223372036854775808\r\n"), 0, 1, {W_INT(LLONG_MIN)}, "int64 min"},
    {S("$5\r\nhello\r\n"), 0, 1, {W_STR(SIO_RESP_BULK, "hello", 1)}, "bulk"},
    {S("$0\r\n\r\n"), 0, 1, {W_STR(SIO_RESP_BULK, "", 1)}, "empty bulk"},
    {S("$4\r\n\r\n\0\xff\r\n"), 0, 1, {W_STR(SIO_RESP_BULK, "\r\n\0\xff", 1)}, "binary bulk with CRLF and NUL"},
    {S("$-1\r\n"), 0, 1, {W_NIL}, "null bulk"},
    {S("*-1\r\n"), 0, 1, {W_NILARR}, "null array"},
    {S("*0\r\n"), 0, 1, {W_ARR(0, 1)}, "empty array"},
    {S("*3\r\n$10\r\npsubscribe\r\n$13\r\nsocket.io#/#*\r\n:1\r\n"), 0, 4,
     {W_ARR(3, 4), W_STR(SIO_RESP_BULK, "psubscribe", 1), W_STR(SIO_RESP_BULK, "socket.io#/#*", 1), W_INT(1)},
     "psubscribe confirmation (redis-adapter.md 1.6)"},
    {S("*4\r\n$8\r\npmessage\r\n$13\r\nsocket.io#/#*\r\n$12\r\nsocket.io#/#\r\n$3\r\n\x93\xa1x\r\n"), 0, 5,
     {W_ARR(4, 5), W_STR(SIO_RESP_BULK, "pmessage", 1), W_STR(SIO_RESP_BULK, "socket.io#/#*", 1),
      W_STR(SIO_RESP_BULK, "socket.io#/#", 1), W_STR(SIO_RESP_BULK, "\x93\xa1x", 1)},
     "pmessage with a msgpack payload"},
    {S("*3\r\n$7\r\nmessage\r\n$20\r\nsocket.io-request#/#\r\n$37\r\n{\"uid\":\"x\",\"requestId\":\"r1\",\"type\":1}\r\n"),
     0, 4,
     {W_ARR(3, 4), W_STR(SIO_RESP_BULK, "message", 1), W_STR(SIO_RESP_BULK, "socket.io-request#/#", 1),
      W_STR(SIO_RESP_BULK, "{\"uid\":\"x\",\"requestId\":\"r1\",\"type\":1}", 1)},
     "message with a JSON request"},
    {S("*2\r\n$20\r\nsocket.io-request#/#\r\n:2\r\n"), 0, 3,
     {W_ARR(2, 3), W_STR(SIO_RESP_BULK, "socket.io-request#/#", 1), W_INT(2)}, "PUBSUB NUMSUB"},
    {S("*2\r\n$1\r\n0\r\n*2\r\n$9\r\nsession:a\r\n$9\r\nsession:b\r\n"), 0, 5,
     {W_ARR(2, 5), W_STR(SIO_RESP_BULK, "0", 1), W_ARR(2, 3), W_STR(SIO_RESP_BULK, "session:a", 1),
      W_STR(SIO_RESP_BULK, "session:b", 1)},
     "SCAN: cursor and keys (nested)"},
    {S("*2\r\n*3\r\n$2\r\nu1\r\n$-1\r\n$4\r\ntrue\r\n*0\r\n"), 0, 6,
     {W_ARR(2, 6), W_ARR(3, 4), W_STR(SIO_RESP_BULK, "u1", 1), W_NIL, W_STR(SIO_RESP_BULK, "true", 1), W_ARR(0, 1)},
     "EXEC of HMGETs with a nil and an empty array"},
    {S("*3\r\n+OK\r\n-ERR x\r\n*-1\r\n"), 0, 4,
     {W_ARR(3, 4), W_STR(SIO_RESP_STATUS, "OK", 1), W_STR(SIO_RESP_ERROR, "ERR x", 1), W_NILARR},
     "mixed array"},
    {S("*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*0\r\n"), 0, 8,
     {W_ARR(1, 8), W_ARR(1, 7), W_ARR(1, 6), W_ARR(1, 5), W_ARR(1, 4), W_ARR(1, 3), W_ARR(1, 2), W_ARR(0, 1)},
     "nesting 7 + an empty array at the bottom"},
    {S("*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:7\r\n"), 0, 9,
     {W_ARR(1, 9), W_ARR(1, 8), W_ARR(1, 7), W_ARR(1, 6), W_ARR(1, 5), W_ARR(1, 4), W_ARR(1, 3), W_ARR(1, 2)},
     "nesting exactly SIO_RESP_MAX_DEPTH (8)"},
    {S("+OK\r\n+QUEUED\r\n"), 5, 1, {W_STR(SIO_RESP_STATUS, "OK", 1)}, "pipelined: first reply only"},
    {S(":5\r\n$3\r\nabc"), 4, 1, {W_INT(5)}, "a reply followed by a partial one"},
};

static size_t reply_len(const struct valid_row *row)
{
    return row->reply ? row->reply : row->len;
}

static void check_tokens(const struct valid_row *row, int nt)
{
    CHECK(nt == row->ntok, row->note);
    for (int i = 0; i < nt && i < 8; i++) {
        const struct want_tok *w = &row->t[i];
        CHECK(toks[i].type == w->type, row->note);
        CHECK(toks[i].n == w->n, row->note);
        CHECK(toks[i].span == w->span, row->note);
        if (w->str) CHECK(slice_is(toks[i].str, w->str, w->slen), row->note);
        else CHECK(toks[i].str.p == NULL && toks[i].str.len == 0, row->note);
    }
}

static void test_valid(void)
{
    for (size_t i = 0; i < sizeof valid_rows / sizeof *valid_rows; i++) {
        const struct valid_row *row = &valid_rows[i];
        int nt;
        long r = parse(row->in, row->len, &nt);
        CHECK(r == (long)reply_len(row), row->note);
        if (r > 0) check_tokens(row, nt);
        /* token slices point into the guarded copy, inside the reply */
        const char *base = guarded(row->in, row->len);
        r = sio_resp_parse(base, row->len, toks, NT, &nt);
        for (int k = 0; k < nt && k < NT; k++)
            if (toks[k].str.p) CHECK(toks[k].str.p >= base && toks[k].str.p + toks[k].str.len <= base + r, row->note);
    }
}

/* Every prefix shorter than the reply is incomplete with no tokens; the exact reply parses. */
static void test_valid_per_byte(void)
{
    for (size_t i = 0; i < sizeof valid_rows / sizeof *valid_rows; i++) {
        const struct valid_row *row = &valid_rows[i];
        int bad = 0;
        for (size_t k = 0; k < reply_len(row) && !bad; k++) {
            int nt;
            long r = parse(row->in, k, &nt);
            if (r != SIO_RESP_INCOMPLETE || nt != 0) {
                CHECK(r == SIO_RESP_INCOMPLETE && nt == 0, row->note);
                fprintf(stderr, "  at prefix %zu of %zu: %ld\n", k, reply_len(row), r);
                bad = 1;
            }
        }
        int nt;
        long r = parse(row->in, reply_len(row), &nt);
        CHECK(r == (long)reply_len(row), row->note);
        if (r > 0) check_tokens(row, nt);
    }
}

/* ====== Malformed replies ====== */

struct bad_row {
    const char *in;
    size_t len;
    long expect; /* SIO_RESP_MALFORMED, or INCOMPLETE for limit boundaries that are still fine */
    const char *note;
};

static const struct bad_row bad_rows[] = {
    {S("$-2\r\n"), SIO_RESP_MALFORMED, "bulk length -2 (bad-inputs #76)"},
    {S("$-5\r\nabc\r\n"), SIO_RESP_MALFORMED, "bulk length -5"},
    {S("*1\r\n$-5\r\n"), SIO_RESP_MALFORMED, "negative bulk inside an array"},
    {S("$-0\r\n"), SIO_RESP_MALFORMED, "bulk length -0"},
    {S("$-"), SIO_RESP_INCOMPLETE, "a lone minus so far"},
    {S("$-a"), SIO_RESP_MALFORMED, "minus then a letter"},
    {S("$99999999999\r\n"), SIO_RESP_MALFORMED, "bulk length over the limit (bad-inputs #76)"},
    {S("$67108865\r\n"), SIO_RESP_MALFORMED, "bulk length SIO_RESP_MAX_BULK + 1"},
    {S("$67108864\r\n"), SIO_RESP_INCOMPLETE, "bulk length SIO_RESP_MAX_BULK: fine, payload missing"},
    {S("$67108863\r\n"), SIO_RESP_INCOMPLETE, "bulk length SIO_RESP_MAX_BULK - 1"},
    {S("$99999999999999999999\r\n"), SIO_RESP_MALFORMED, "20 digits"},
    {S("$abc\r\n"), SIO_RESP_MALFORMED, "non-digit length"},
    {S("$1a"), SIO_RESP_MALFORMED, "digit then letter, reported before CRLF"},
    {S("$\r\n"), SIO_RESP_MALFORMED, "empty length"},
    {S("$+5\r\nhello\r\n"), SIO_RESP_MALFORMED, "plus sign"},
    {S("$05\r\nhello\r\n"), SIO_RESP_MALFORMED, "leading zero"},
    {S("$ 5\r\nhello\r\n"), SIO_RESP_MALFORMED, "space"},
    {S("$5\nhello\r\n"), SIO_RESP_MALFORMED, "bare LF after a length"},
    {S("$5\rxhello\r\n"), SIO_RESP_MALFORMED, "CR without LF after a length"},
    {S("$3\r\nabcX\r\n"), SIO_RESP_MALFORMED, "payload longer than its length"},
    {S("$3\r\nabc\rX"), SIO_RESP_MALFORMED, "payload CR not followed by LF"},
    {S("$3\r\nab"), SIO_RESP_INCOMPLETE, "payload cut short"},
    {S(":\r\n"), SIO_RESP_MALFORMED, "empty integer"},
    {S(":01\r\n"), SIO_RESP_MALFORMED, "integer with a leading zero"},
    {S(":-0\r\n"), SIO_RESP_MALFORMED, "minus zero"},
    {S(":9223372036854775808\r\n"), SIO_RESP_MALFORMED, "int64 max + 1"},
    {S(":-9223372036854775809\r\n"), SIO_RESP_MALFORMED, "int64 min - 1"},
    {S(":12345678901234567890\r\n"), SIO_RESP_MALFORMED, "20-digit integer"},
    {S(":1.5\r\n"), SIO_RESP_MALFORMED, "a fraction"},
    {S("*-2\r\n"), SIO_RESP_MALFORMED, "array count -2"},
    {S("*1048577\r\n"), SIO_RESP_MALFORMED, "array count SIO_RESP_MAX_ELEMENTS + 1"},
    {S("*1048576\r\n"), SIO_RESP_INCOMPLETE, "array count SIO_RESP_MAX_ELEMENTS: fine so far"},
    {S("*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:9\r\n"), SIO_RESP_MALFORMED,
     "nesting SIO_RESP_MAX_DEPTH + 1"},
    {S("+OK\n"), SIO_RESP_MALFORMED, "status ended by a bare LF"},
    {S("+O\rK\r\n"), SIO_RESP_MALFORMED, "CR inside a status"},
    {S("-ERR\nx\r\n"), SIO_RESP_MALFORMED, "LF inside an error"},
    {S("_\r\n"), SIO_RESP_MALFORMED, "RESP3 null"},
    {S("%1\r\n+a\r\n+b\r\n"), SIO_RESP_MALFORMED, "RESP3 map"},
    {S(">3\r\n"), SIO_RESP_MALFORMED, "RESP3 push"},
    {S(",1.5\r\n"), SIO_RESP_MALFORMED, "RESP3 double"},
    {S("PING\r\n"), SIO_RESP_MALFORMED, "inline text"},
    {S("\r\n"), SIO_RESP_MALFORMED, "an empty line"},
    {S("\0"), SIO_RESP_MALFORMED, "a NUL byte"},
    {S(""), SIO_RESP_INCOMPLETE, "nothing yet"},
    {S("*2\r\n:1\r\n"), SIO_RESP_INCOMPLETE, "array missing an element"},
    {S("*2\r\n:1\r\n?"), SIO_RESP_MALFORMED, "array element garbage"},
};

static void test_malformed(void)
{
    for (size_t i = 0; i < sizeof bad_rows / sizeof *bad_rows; i++) {
        int nt;
        long r = parse(bad_rows[i].in, bad_rows[i].len, &nt);
        CHECK(r == bad_rows[i].expect, bad_rows[i].note);
        CHECK(nt == 0, bad_rows[i].note);
    }
}

/* The longest simple line at N-1, N and N+1 bytes, and N+1 bytes with no CR yet. */
static void test_line_limit(void)
{
    static char buf[SIO_RESP_MAX_LINE + 8];
    int nt;
    for (int extra = -1; extra <= 1; extra++) {
        size_t n = (size_t)(SIO_RESP_MAX_LINE + extra);
        buf[0] = '+';
        memset(buf + 1, 'a', n);
        memcpy(buf + 1 + n, "\r\n", 2);
        long r = parse(buf, n + 3, &nt);
        if (extra <= 0) CHECK(r == (long)(n + 3) && toks[0].str.len == n, "line at the limit");
        else CHECK(r == SIO_RESP_MALFORMED, "line over the limit");
    }
    CHECK(parse(buf, SIO_RESP_MAX_LINE + 1, &nt) == SIO_RESP_INCOMPLETE, "N bytes, no CR yet");
    CHECK(parse(buf, SIO_RESP_MAX_LINE + 2, &nt) == SIO_RESP_MALFORMED, "N+1 bytes, no CR: refused early");
}

/* A bulk of exactly SIO_RESP_MAX_BULK bytes parses (heap buffer, not guarded: 64 MiB). */
static void test_bulk_limit(void)
{
    size_t n = (size_t)SIO_RESP_MAX_BULK;
    char head[32];
    int hl = snprintf(head, sizeof head, "$%zu\r\n", n);
    char *buf = malloc((size_t)hl + n + 2);
    if (!buf) abort();
    memcpy(buf, head, (size_t)hl);
    memset(buf + hl, 'x', n);
    memcpy(buf + hl + n, "\r\n", 2);
    int nt;
    long r = sio_resp_parse(buf, (size_t)hl + n + 2, toks, NT, &nt);
    CHECK(r == (long)((size_t)hl + n + 2) && toks[0].str.len == n, "bulk of exactly the limit");
    CHECK(sio_resp_parse(buf, (size_t)hl + n + 1, toks, NT, &nt) == SIO_RESP_INCOMPLETE, "its CR only");
    free(buf);
}

/* ====== Token arrays ====== */

static void test_token_sizing(void)
{
    const char in[] = "*3\r\n:1\r\n*2\r\n:2\r\n:3\r\n$1\r\nx\r\n";
    size_t len = sizeof in - 1;
    int nt;
    CHECK(sio_resp_parse(guarded(in, len), len, NULL, 0, &nt) == (long)len && nt == 6, "count only");
    memset(toks, 0, sizeof toks);
    CHECK(sio_resp_parse(guarded(in, len), len, toks, 3, &nt) == SIO_RESP_TOOMANY && nt == 6, "3 of 6 tokens");
    CHECK(toks[0].type == SIO_RESP_ARRAY && toks[1].n == 1 && toks[2].type == SIO_RESP_ARRAY, "the first 3 kept");
    CHECK(sio_resp_parse(guarded(in, len), len, toks, 6, &nt) == (long)len && nt == 6, "exactly 6");
    CHECK(toks[0].span == 6 && toks[2].span == 3 && toks[5].span == 1, "spans");
    /* next sibling = i + span: the elements of the top array are tokens 1, 2 and 5 */
    int idx[3], k = 0;
    for (int i = 1; k < 3; i += (int)toks[i].span) idx[k++] = i;
    CHECK(idx[0] == 1 && idx[1] == 2 && idx[2] == 5, "walking siblings by span");
    CHECK(sio_resp_parse(guarded(in, len - 1), len - 1, toks, 3, &nt) == SIO_RESP_INCOMPLETE && nt == 0,
          "incomplete beats too-many");
}

/* ====== A stream split at every byte ====== */

/* A client's view: bytes arrive one at a time; after each, every complete reply is taken off the
 * front. The replies seen must be the ones parsing the whole stream gives. */
static void test_stream_per_byte(void)
{
    static const char stream[] =
        "+OK\r\n"
        "*3\r\n$9\r\nsubscribe\r\n$20\r\nsocket.io-request#/#\r\n:1\r\n"
        "*4\r\n$8\r\npmessage\r\n$13\r\nsocket.io#/#*\r\n$12\r\nsocket.io#/#\r\n$5\r\n\x93\x00\r\n\xff\r\n"
        ":42\r\n$-1\r\n*-1\r\n-ERR no\r\n$0\r\n\r\n"
        "*2\r\n$1\r\n0\r\n*1\r\n$9\r\nsession:z\r\n";
    size_t total = sizeof stream - 1;
    long whole[16];
    int nwhole = 0;
    for (size_t off = 0; off < total && nwhole < 16;) {
        int nt;
        long r = sio_resp_parse(stream + off, total - off, toks, NT, &nt);
        CHECK(r > 0, "whole stream parses");
        if (r <= 0) return;
        whole[nwhole++] = r;
        off += (size_t)r;
    }
    CHECK(nwhole == 9, "9 replies in the stream");
    int seen = 0, fail = 0;
    size_t start = 0;
    for (size_t have = 1; have <= total; have++) {
        for (;;) {
            int nt;
            long r = sio_resp_parse(guarded(stream + start, have - start), have - start, toks, NT, &nt);
            if (r == SIO_RESP_INCOMPLETE) break;
            if (r <= 0 || seen >= nwhole || r != whole[seen]) {
                fail = 1;
                break;
            }
            seen++;
            start += (size_t)r;
        }
        if (fail) break;
    }
    CHECK(!fail && seen == nwhole && start == total, "same replies when split at every byte");
}

/* ====== Commands ====== */

static void test_command(void)
{
    const char *ps[] = {"PSUBSCRIBE", "socket.io#/#*"};
    char out[256];
    const char want[] = "*2\r\n$10\r\nPSUBSCRIBE\r\n$13\r\nsocket.io#/#*\r\n";
    size_t n = sio_resp_command(out, sizeof out, 2, ps, NULL);
    CHECK(n == sizeof want - 1 && memcmp(out, want, n) == 0, "PSUBSCRIBE bytes (redis-adapter.md 1.6)");
    CHECK(sio_resp_command(NULL, 0, 2, ps, NULL) == n, "measure with NULL");
    memset(out, '#', sizeof out);
    CHECK(sio_resp_command(out, n - 1, 2, ps, NULL) == n && out[0] == '#', "too small: nothing written");
    CHECK(sio_resp_command(out, n, 2, ps, NULL) == n && memcmp(out, want, n) == 0, "exact fit");

    /* binary-safe PUBLISH of a msgpack payload holding NUL, CR and LF */
    const char payload[] = "\x93\x00\r\n\xc4\x01\x00";
    const char *pub[] = {"PUBLISH", "socket.io#/#room#", payload};
    size_t lens[] = {7, 17, sizeof payload - 1};
    n = sio_resp_command(out, sizeof out, 3, pub, lens);
    const char want2[] = "*3\r\n$7\r\nPUBLISH\r\n$17\r\nsocket.io#/#room#\r\n$7\r\n\x93\x00\r\n\xc4\x01\x00\r\n";
    CHECK(n == sizeof want2 - 1 && memcmp(out, want2, n) == 0, "binary PUBLISH bytes");
    int nt;
    long r = sio_resp_parse(guarded(out, n), n, toks, NT, &nt);
    CHECK(r == (long)n && nt == 4 && toks[0].type == SIO_RESP_ARRAY && toks[0].n == 3, "encoder output parses");
    CHECK(slice_is(toks[3].str, payload, sizeof payload - 1), "payload round trip");

    const char *empty[] = {"SET", "k", ""};
    n = sio_resp_command(out, sizeof out, 3, empty, NULL);
    CHECK(n == 26 && memcmp(out + n - 6, "$0\r\n\r\n", 6) == 0, "empty argument");
    CHECK(sio_resp_command(out, sizeof out, 0, NULL, NULL) == 4 && memcmp(out, "*0\r\n", 4) == 0, "no arguments");

    /* 100 arguments of growing length round-trip */
    static char big[20000];
    const char *argv[100];
    size_t alen[100];
    static char src[100];
    memset(src, 'q', sizeof src);
    for (int i = 0; i < 100; i++) {
        argv[i] = src;
        alen[i] = (size_t)i;
    }
    n = sio_resp_command(big, sizeof big, 100, argv, alen);
    static struct sio_resp_tok many[128];
    r = sio_resp_parse(big, n, many, 128, &nt);
    CHECK(r == (long)n && nt == 101 && many[0].n == 100 && many[100].str.len == 99, "100 arguments");
}

static void test_tok_is(void)
{
    int nt;
    parse(S("*3\r\n$7\r\nmessage\r\n+OK\r\n:1\r\n"), &nt);
    CHECK(sio_resp_tok_is(&toks[1], "message"), "bulk equal");
    CHECK(!sio_resp_tok_is(&toks[1], "messag"), "prefix is not equal");
    CHECK(!sio_resp_tok_is(&toks[1], "pmessage"), "longer is not equal");
    CHECK(sio_resp_tok_is(&toks[2], "OK"), "status equal");
    CHECK(!sio_resp_tok_is(&toks[3], "1"), "integers never");
    CHECK(!sio_resp_tok_is(&toks[0], ""), "arrays never");
}

int main(void)
{
    RUN(test_valid);
    RUN(test_valid_per_byte);
    RUN(test_malformed);
    RUN(test_line_limit);
    RUN(test_bulk_limit);
    RUN(test_token_sizing);
    RUN(test_stream_per_byte);
    RUN(test_command);
    RUN(test_tok_is);
    return test_main_end("test_resp");
}
