/* SPDX-License-Identifier: MIT */
/* test_http.c -- unit tests for http.c: table rows for valid and malformed request heads (the
 * malformed ones follow bad-inputs.md B1), every valid head fed again one byte at a time, every
 * limit at N-1, N and N+1, pipelining, and the helpers (header lookup, token lists, body framing,
 * keep-alive, query strings, reason phrases). Inputs sit right before a PROT_NONE page
 * (guarded()), so any read past len faults at once. */
#include "../http.h"
#include "test.h"

#include <stdint.h>

/* A string literal and its length (so inputs may contain NUL bytes). */
#define S(lit) lit, sizeof(lit) - 1

static struct sio_http_header hdrs[SIO_HTTP_MAX_HEADERS];
static char big[4 * SIO_HTTP_MAX_HEAD]; /* scratch for generated inputs */

/* Parses in[0..len) from a guarded copy, with a fresh request whose capacity is cap. */
static long parse(const char *in, size_t len, struct sio_http_req *req, size_t cap, size_t last_len)
{
    memset(req, 0x5a, sizeof *req); /* garbage: the parser must clear what it does not set */
    req->headers = hdrs;
    req->num_headers = cap;
    return sio_http_parse(guarded(in, len), len, req, last_len);
}

/* Feeds in[0..len) one byte at a time, passing last_len as a server would. Asserts -2 for every
 * prefix shorter than `expect_len`, then `expect` (a head length, or -1 with `status`) exactly at
 * that prefix. For a head followed by more bytes, feeding stops at the end of the head. */
static void feed_per_byte(const char *in, size_t len, size_t expect_len, long expect, int status,
                          const char *note)
{
    struct sio_http_req req;
    size_t k;
    for (k = 1; k <= len; k++) {
        long r = parse(in, k, &req, SIO_HTTP_MAX_HEADERS, k - 1);
        if (k < expect_len) {
            if (r != -2) {
                CHECK(r == -2, note);
                fprintf(stderr, "  at prefix %zu of %zu: %ld (status %d)\n", k, len, r, req.status);
                return;
            }
            CHECK(req.method.p == NULL && req.num_headers == 0 && req.status == 0, note);
            continue;
        }
        CHECK(r == expect, note);
        if (r == -1) CHECK(req.status == status, note);
        if (r != expect) fprintf(stderr, "  at prefix %zu: got %ld, want %ld\n", k, r, expect);
        return;
    }
    CHECK(0 && "input ended before the expected result", note);
}

/* 1 if s equals the NUL-terminated lit. */
static int str_is(sio_str s, const char *lit)
{
    return s.p != NULL && s.len == strlen(lit) && memcmp(s.p, lit, s.len) == 0;
}

/* ====== Valid heads ====== */

struct valid_row {
    const char *in;     /* request head, possibly followed by a body or a second request */
    size_t len;         /* bytes in `in` */
    size_t after;       /* bytes after the head (body or pipelined data) */
    const char *method; /* expected fields */
    const char *path;
    const char *query;
    int minor;
    size_t num_headers;
    const char *note;
};

static const struct valid_row valid_rows[] = {
    {S("GET /socket.io/?EIO=4&transport=polling&t=ab12 HTTP/1.1\r\nHost: localhost:3000\r\n"
       "Accept: */*\r\n\r\n"),
     0, "GET", "/socket.io/", "EIO=4&transport=polling&t=ab12", 1, 2, "GET with query"},
    {S("POST /socket.io/?EIO=4&transport=polling&sid=abc HTTP/1.1\r\nHost: a\r\n"
       "Content-Type: text/plain;charset=UTF-8\r\nContent-Length: 6\r\n\r\n4hello"),
     6, "POST", "/socket.io/", "EIO=4&transport=polling&sid=abc", 1, 3, "POST with a body after the head"},
    {S("GET / HTTP/1.0\r\n\r\n"), 0, "GET", "/", "", 0, 0, "HTTP/1.0, no headers"},
    {S("GET / HTTP/1.1\r\n\r\n"), 0, "GET", "/", "", 1, 0, "HTTP/1.1, no headers (Host is the server's check)"},
    {S("GET /? HTTP/1.1\r\nHost: a\r\n\r\n"), 0, "GET", "/", "", 1, 1, "empty query after '?'"},
    {S("GET /socket.io/?EIO=4&transport=websocket&sid=anIBVb2EyVIOkhKRAAAA HTTP/1.1\r\n"
       "Host: localhost:3000\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
       "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
       "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"),
     0, "GET", "/socket.io/", "EIO=4&transport=websocket&sid=anIBVb2EyVIOkhKRAAAA", 1, 6,
     "WebSocket upgrade (protocol.md A8)"},
    {S("GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: example.com\r\n"
       "Connection: keep-alive\r\nPragma: no-cache\r\nCache-Control: no-cache\r\n"
       "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)\r\n"
       "Accept: */*\r\nOrigin: http://example.com\r\nSec-Fetch-Site: same-origin\r\n"
       "Sec-Fetch-Mode: cors\r\nSec-Fetch-Dest: empty\r\nReferer: http://example.com/\r\n"
       "Accept-Encoding: gzip, deflate, br\r\nAccept-Language: en-US,en;q=0.9\r\n"
       "Cookie: io=abc; other=1\r\n\r\n"),
     0, "GET", "/socket.io/", "EIO=4&transport=polling", 1, 14, "many headers (a browser's)"},
    {S("GET / HTTP/1.1\r\nX-A: \t  a b\t \r\nX-B:c\r\nX-Empty:\r\nX-Blank: \t \r\n\r\n"),
     0, "GET", "/", "", 1, 4, "values with tabs and spaces (trimmed: see test_trim)"},
    {S("M-SEARCH * HTTP/1.1\r\nX-!#$%&'*+-.^_`|~09az: v\r\n\r\n"), 0, "M-SEARCH", "*", "", 1, 1,
     "token method, every tchar in a name, asterisk-form"},
    {S("BREW /pot HTTP/1.1\r\nHost: a\r\n\r\n"), 0, "BREW", "/pot", "", 1, 1,
     "unknown method parses (B1.15: the server answers 400/501)"},
    {S("get http://a.example/b?c=d HTTP/1.1\r\nHost: a.example\r\n\r\n"), 0, "get", "http://a.example/b",
     "c=d", 1, 1, "lower-case method token, absolute-form target"},
    {S("GET /caf\xc3\xa9 HTTP/1.1\r\nX-Name: caf\xc3\xa9 \x80\xff\r\n\r\n"), 0, "GET", "/caf\xc3\xa9", "", 1,
     1, "obs-text in target and value"},
    {S("GET /a?b?c=%zz HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\n"), 17, "GET", "/a", "b?c=%zz", 1, 1,
     "second '?' belongs to the query; a pipelined partial request follows"},
};

static void test_valid(void)
{
    size_t i;
    for (i = 0; i < sizeof valid_rows / sizeof valid_rows[0]; i++) {
        const struct valid_row *t = &valid_rows[i];
        size_t head = t->len - t->after;
        struct sio_http_req req;
        long r = parse(t->in, t->len, &req, SIO_HTTP_MAX_HEADERS, 0);
        CHECK(r == (long)head, t->note);
        CHECK(req.status == 0, t->note);
        CHECK(str_is(req.method, t->method), t->note);
        CHECK(str_is(req.path, t->path), t->note);
        CHECK(req.query.p != NULL && req.query.len == strlen(t->query) &&
                  memcmp(req.query.p, t->query, req.query.len) == 0,
              t->note);
        CHECK(req.target.p == req.path.p, t->note);
        CHECK(req.minor_version == t->minor, t->note);
        CHECK(req.num_headers == t->num_headers, t->note);
        feed_per_byte(t->in, t->len, head, (long)head, 0, t->note);
    }
}

/* Values lose optional whitespace on both sides, and nothing else. */
static void test_trim(void)
{
    static const char in[] = "GET / HTTP/1.1\r\nX-A: \t  a \t b\t \r\nX-B:c\r\nX-Empty:\r\nX-Blank: \t \r\n\r\n";
    struct sio_http_req req;
    long r = parse(in, sizeof in - 1, &req, SIO_HTTP_MAX_HEADERS, 0);
    CHECK(r == (long)sizeof in - 1, "trim");
    CHECK(str_is(req.headers[0].name, "X-A"), "name as sent");
    CHECK(str_is(req.headers[0].value, "a \t b"), "inner whitespace kept, outer trimmed");
    CHECK(str_is(req.headers[1].value, "c"), "no space after colon");
    CHECK(req.headers[2].value.p != NULL && req.headers[2].value.len == 0, "empty value");
    CHECK(req.headers[3].value.p != NULL && req.headers[3].value.len == 0, "whitespace-only value");
}

/* ====== Malformed and incomplete heads (bad-inputs.md B1) ====== */

struct bad_row {
    const char *in; /* input */
    size_t len;     /* bytes in `in` */
    long ret;       /* -1 or -2 */
    int status;     /* expected req.status on -1 */
    const char *note;
};

static const struct bad_row bad_rows[] = {
    /* B1.1 non-HTTP bytes: decided at the first byte */
    {S("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"), -1, 400, "B1.1 TLS ClientHello"},
    {S("\x16"), -1, 400, "B1.1 TLS first byte alone"},
    {S("SSH-2.0-OpenSSH_9.2\r\n"), -1, 400, "B1.1 not a method (no SP after the token)"},
    /* B1.2 no version */
    {S("GET /socket.io/?EIO=4&transport=polling\r\n\r\n"), -1, 400, "B1.2 request line without version"},
    {S("GET /\r\nHost: a\r\n\r\n"), -1, 400, "B1.2 HTTP/0.9 shape with headers"},
    /* B1.3 line endings */
    {S("GET / HTTP/1.1\nHost: a\n\n"), -1, 400, "B1.3 bare LF everywhere"},
    {S("GET / HTTP/1.1\r\nHost: a\n\r\n"), -1, 400, "B1.3 one bare LF"},
    {S("GET / HTTP/1.1\r\nHost: a\r\n\n"), -1, 400, "B1.3 bare LF as the empty line"},
    {S("GET / HTTP/1.1\rHost: a\r\n\r\n"), -1, 400, "lone CR"},
    {S("GET / HTTP/1.1\r\nHost: a\r\r\n\r\n"), -1, 400, "CR CR LF"},
    /* B1.7 header names */
    {S("GET / HTTP/1.1\r\nX A: b\r\n\r\n"), -1, 400, "B1.7 space inside a name"},
    {S("GET / HTTP/1.1\r\nHost : a\r\n\r\n"), -1, 400, "B1.7 space before the colon"},
    {S("GET / HTTP/1.1\r\nHost\t: a\r\n\r\n"), -1, 400, "B1.7 tab before the colon"},
    {S("GET / HTTP/1.1\r\nX(A): b\r\n\r\n"), -1, 400, "B1.7 '(' in a name"},
    {S("GET / HTTP/1.1\r\nX\xc3\xa9: b\r\n\r\n"), -1, 400, "B1.7 non-ASCII in a name"},
    {S("GET / HTTP/1.1\r\n: b\r\n\r\n"), -1, 400, "B1.7 empty name"},
    {S("GET / HTTP/1.1\r\nHost\r\n\r\n"), -1, 400, "B1.7 line without a colon"},
    /* B1.8 obs-fold */
    {S("GET / HTTP/1.1\r\nX-A: y\r\n z\r\n\r\n"), -1, 400, "B1.8 obs-fold with SP"},
    {S("GET / HTTP/1.1\r\nX-A: y\r\n\tz\r\n\r\n"), -1, 400, "B1.8 obs-fold with HTAB"},
    {S("GET / HTTP/1.1\r\n Host: a\r\n\r\n"), -1, 400, "whitespace before the first header"},
    /* B1.9 control bytes */
    {S("GET / HTTP/1.1\r\nOrigin: http://a\x01" "b\r\n\r\n"), -1, 400, "B1.9 CTL in a value"},
    {S("GET / HTTP/1.1\r\nOrigin: http://a\0b\r\n\r\n"), -1, 400, "B1.9 NUL in a value"},
    {S("GET / HTTP/1.1\r\nX: a\x7f\r\n\r\n"), -1, 400, "B1.9 DEL in a value"},
    {S("GET /a\0b HTTP/1.1\r\n\r\n"), -1, 400, "B1.9 NUL in the target"},
    {S("GET /a\x1b[0m HTTP/1.1\r\n\r\n"), -1, 400, "B1.9 ESC in the target"},
    {S("GET /a\tb HTTP/1.1\r\n\r\n"), -1, 400, "B1.9 HTAB in the target"},
    {S("GET / HTTP/1.1\r\nX\0: a\r\n\r\n"), -1, 400, "B1.9 NUL in a name"},
    /* B1.15 methods */
    {S("GE(T / HTTP/1.1\r\n\r\n"), -1, 400, "B1.15 non-token method"},
    {S("GET\t/ HTTP/1.1\r\n\r\n"), -1, 400, "HTAB after the method"},
    {S("ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFG / HTTP/1.1\r\n\r\n"), -1, 400, "33-byte method"},
    /* request line shape */
    {S("\r\nGET / HTTP/1.1\r\n\r\n"), -1, 400, "empty line before the request line"},
    {S(" GET / HTTP/1.1\r\n\r\n"), -1, 400, "leading SP"},
    {S("GET  / HTTP/1.1\r\n\r\n"), -1, 400, "two SPs (empty target)"},
    {S("GET / HTTP/1.1 \r\n\r\n"), -1, 400, "SP after the version"},
    {S("GET / /x HTTP/1.1\r\n\r\n"), -1, 400, "SP inside the target"},
    {S("GET / HTTP/1.2\r\n\r\n"), -1, 400, "HTTP/1.2"},
    {S("GET / HTTP/2.0\r\n\r\n"), -1, 400, "HTTP/2.0"},
    {S("GET / HTTP/0.9\r\n\r\n"), -1, 400, "HTTP/0.9"},
    {S("GET / http/1.1\r\n\r\n"), -1, 400, "lower-case version"},
    {S("GET / HTTP/1.10\r\n\r\n"), -1, 400, "HTTP/1.10"},
    {S("GET / HTTP/1\r\n\r\n"), -1, 400, "short version"},
    {S("\r\n\r\n"), -1, 400, "empty head"},
    /* incomplete */
    {S(""), -2, 0, "nothing yet"},
    {S("G"), -2, 0, "one byte"},
    {S("GET"), -2, 0, "method only"},
    {S("GET /socket.io/?EIO=4"), -2, 0, "inside the target"},
    {S("GET / HTTP/1.1"), -2, 0, "request line without CRLF"},
    {S("GET / HTTP/1.1\r"), -2, 0, "request line and CR"},
    {S("GET / HTTP/1.1\r\nHost: a\r\n"), -2, 0, "no empty line yet"},
    {S("GET / HTTP/1.1\r\nHost: a\r\n\r"), -2, 0, "last LF missing"},
    {S("ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEF"), -2, 0, "32-byte method so far"},
};

static void test_bad(void)
{
    size_t i;
    for (i = 0; i < sizeof bad_rows / sizeof bad_rows[0]; i++) {
        const struct bad_row *t = &bad_rows[i];
        struct sio_http_req req;
        long r = parse(t->in, t->len, &req, SIO_HTTP_MAX_HEADERS, 0);
        CHECK(r == t->ret, t->note);
        CHECK(req.status == (t->ret == -1 ? t->status : 0), t->note);
        CHECK(req.method.p == NULL && req.target.p == NULL && req.path.p == NULL && req.query.p == NULL,
              t->note);
        CHECK(req.num_headers == 0 && req.minor_version == 0, t->note);
        /* Byte by byte, the same verdict must come, never a success. It may come early. */
        if (t->ret == -1) {
            size_t k;
            long rk = -2;
            for (k = 1; k <= t->len && rk == -2; k++) rk = parse(t->in, k, &req, SIO_HTTP_MAX_HEADERS, k - 1);
            CHECK(rk == -1 && req.status == t->status, t->note);
        }
    }
}

/* The early checks answer before the end of the head arrives. */
static void test_early(void)
{
    struct sio_http_req req;
    CHECK(parse(S("GET / HTTP/1.1\n"), &req, SIO_HTTP_MAX_HEADERS, 0) == -1 && req.status == 400,
          "bare LF rejected before the end");
    CHECK(parse(S("GET / HTTP/1.1\r\nX: \x01"), &req, SIO_HTTP_MAX_HEADERS, 0) == -1 && req.status == 400,
          "CTL rejected before the end");
    CHECK(parse(S("GET / HTTP/1.1\rX"), &req, SIO_HTTP_MAX_HEADERS, 0) == -1 && req.status == 400,
          "lone CR rejected before the end");
    CHECK(parse(S("\r\n"), &req, SIO_HTTP_MAX_HEADERS, 0) == -1 && req.status == 400,
          "leading empty line rejected at once");
    CHECK(parse(S("GE(T"), &req, SIO_HTTP_MAX_HEADERS, 0) == -1 && req.status == 400,
          "bad method rejected at once");
    CHECK(parse(S("ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFG"), &req, SIO_HTTP_MAX_HEADERS, 0) == -1 &&
              req.status == 400,
          "33-byte method rejected at once");
}

/* ====== Limits at N-1, N, N+1 ====== */

/* Writes "GET <target> HTTP/1.1\r\n" with a target of exactly tlen bytes ("/aaa...") into out.
 * Returns the bytes written. */
static size_t request_line(char *out, size_t tlen)
{
    size_t n = 0;
    memcpy(out, "GET /", 5);
    n = 5;
    memset(out + n, 'a', tlen - 1);
    n += tlen - 1;
    memcpy(out + n, " HTTP/1.1\r\n", 11);
    return n + 11;
}

/* Builds a complete head of exactly `total` bytes: "GET / HTTP/1.1\r\nX: aaa...\r\n\r\n". */
static size_t head_of_size(char *out, size_t total)
{
    static const char pre[] = "GET / HTTP/1.1\r\nX: ";
    size_t fill = total - (sizeof pre - 1) - 4;
    memcpy(out, pre, sizeof pre - 1);
    memset(out + sizeof pre - 1, 'a', fill);
    memcpy(out + total - 4, "\r\n\r\n", 4);
    return total;
}

static void test_limit_head(void)
{
    struct sio_http_req req;
    size_t n;

    n = head_of_size(big, SIO_HTTP_MAX_HEAD - 1);
    CHECK(parse(big, n, &req, SIO_HTTP_MAX_HEADERS, 0) == (long)n, "head of MAX_HEAD-1 bytes");
    n = head_of_size(big, SIO_HTTP_MAX_HEAD);
    CHECK(parse(big, n, &req, SIO_HTTP_MAX_HEADERS, 0) == (long)n, "head of MAX_HEAD bytes");
    CHECK(req.headers[0].value.len == SIO_HTTP_MAX_HEAD - 23, "the long value is intact");
    feed_per_byte(big, n, n, (long)n, 0, "head of MAX_HEAD bytes, byte by byte");
    n = head_of_size(big, SIO_HTTP_MAX_HEAD + 1);
    CHECK(parse(big, n, &req, SIO_HTTP_MAX_HEADERS, 0) == -1 && req.status == 431, "head of MAX_HEAD+1 bytes");

    /* Incomplete: -2 below the limit, 431 as soon as MAX_HEAD bytes hold no end. */
    CHECK(parse(big, SIO_HTTP_MAX_HEAD - 1, &req, SIO_HTTP_MAX_HEADERS, 0) == -2, "MAX_HEAD-1 bytes, no end");
    CHECK(parse(big, SIO_HTTP_MAX_HEAD, &req, SIO_HTTP_MAX_HEADERS, 0) == -1 && req.status == 431,
          "MAX_HEAD bytes, no end");

    /* B1.4: one 17 KB header, trickled: 431 exactly when the buffer reaches the limit. */
    n = head_of_size(big, 17 * 1024);
    feed_per_byte(big, n, SIO_HTTP_MAX_HEAD, -1, 431, "B1.4 17 KB header, byte by byte");
    CHECK(parse(big, n, &req, SIO_HTTP_MAX_HEADERS, 0) == -1 && req.status == 431, "B1.4 17 KB header whole");
}

static void test_limit_target(void)
{
    struct sio_http_req req;
    size_t n;
    int d;

    for (d = -1; d <= 1; d++) {
        size_t tlen = SIO_HTTP_MAX_TARGET + (size_t)(long)d;
        n = request_line(big, tlen);
        memcpy(big + n, "\r\n", 2);
        n += 2;
        if (d <= 0) {
            CHECK(parse(big, n, &req, SIO_HTTP_MAX_HEADERS, 0) == (long)n && req.target.len == tlen,
                  "target of MAX_TARGET-1 / MAX_TARGET bytes");
        } else {
            CHECK(parse(big, n, &req, SIO_HTTP_MAX_HEADERS, 0) == -1 && req.status == 414,
                  "target of MAX_TARGET+1 bytes");
        }
    }
    /* Incomplete: "GET " then MAX_TARGET target bytes could still be followed by SP; one more is 414. */
    n = request_line(big, SIO_HTTP_MAX_TARGET + 1);
    CHECK(parse(big, 4 + SIO_HTTP_MAX_TARGET, &req, SIO_HTTP_MAX_HEADERS, 0) == -2,
          "incomplete target of MAX_TARGET bytes");
    CHECK(parse(big, 4 + SIO_HTTP_MAX_TARGET + 1, &req, SIO_HTTP_MAX_HEADERS, 0) == -1 && req.status == 414,
          "incomplete target of MAX_TARGET+1 bytes");
    n = request_line(big, SIO_HTTP_MAX_TARGET);
    CHECK(parse(big, n - 2, &req, SIO_HTTP_MAX_HEADERS, 0) == -2, "incomplete, target of MAX_TARGET bytes done");

    /* B1.5: a 20 KB query string, trickled: 414 at the first byte over the limit. */
    n = request_line(big, 20 * 1024);
    memcpy(big + n, "\r\n", 2);
    n += 2;
    feed_per_byte(big, n, 4 + SIO_HTTP_MAX_TARGET + 1, -1, 414, "B1.5 20 KB target, byte by byte");
    CHECK(parse(big, n, &req, SIO_HTTP_MAX_HEADERS, 0) == -1 && req.status == 414, "B1.5 20 KB target whole");
    /* Trickled in big steps, the step that crosses the limit decides. */
    CHECK(parse(big, 4000, &req, SIO_HTTP_MAX_HEADERS, 0) == -2, "20 KB target, first 4000 bytes");
    CHECK(parse(big, 9000, &req, SIO_HTTP_MAX_HEADERS, 4000) == -1 && req.status == 414,
          "20 KB target, crossing step");
}

/* A head with `count` header lines "H<i>: v", then optionally more lines. Returns its length. */
static size_t head_with_headers(char *out, size_t count, const char *tail)
{
    size_t n = 0, i;
    n += (size_t)sprintf(out + n, "GET / HTTP/1.1\r\n");
    for (i = 0; i < count; i++) n += (size_t)sprintf(out + n, "H%zu: v\r\n", i);
    n += (size_t)sprintf(out + n, "%s\r\n", tail);
    return n;
}

static void test_limit_headers(void)
{
    struct sio_http_req req;
    size_t n;

    n = head_with_headers(big, SIO_HTTP_MAX_HEADERS - 1, "");
    CHECK(parse(big, n, &req, SIO_HTTP_MAX_HEADERS, 0) == (long)n && req.num_headers == SIO_HTTP_MAX_HEADERS - 1,
          "MAX_HEADERS-1 headers");
    n = head_with_headers(big, SIO_HTTP_MAX_HEADERS, "");
    CHECK(parse(big, n, &req, SIO_HTTP_MAX_HEADERS, 0) == (long)n && req.num_headers == SIO_HTTP_MAX_HEADERS,
          "MAX_HEADERS headers");
    {
        char last[16];
        snprintf(last, sizeof last, "H%d", SIO_HTTP_MAX_HEADERS - 1);
        CHECK(str_is(req.headers[SIO_HTTP_MAX_HEADERS - 1].name, last), "last header kept");
    }
    feed_per_byte(big, n, n, (long)n, 0, "MAX_HEADERS headers, byte by byte");
    n = head_with_headers(big, SIO_HTTP_MAX_HEADERS + 1, "");
    CHECK(parse(big, n, &req, SIO_HTTP_MAX_HEADERS, 0) == -1 && req.status == 431, "MAX_HEADERS+1 headers");
    CHECK(req.num_headers == 0, "no headers reported after 431");
    /* The capacity is the caller's: a smaller array is a smaller limit. */
    n = head_with_headers(big, 3, "");
    CHECK(parse(big, n, &req, 3, 0) == (long)n, "3 headers, capacity 3");
    CHECK(parse(big, n, &req, 2, 0) == -1 && req.status == 431, "3 headers, capacity 2");

    /* B1.6 (CVE-2024-37890 shape): 2000 short lines, the upgrade headers after them. */
    {
        size_t i;
        n = (size_t)sprintf(big, "GET / HTTP/1.1\r\n");
        for (i = 0; i < 2000; i++) n += (size_t)sprintf(big + n, "x:1\r\n");
        n += (size_t)sprintf(big + n, "Upgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n");
    }
    CHECK(n < SIO_HTTP_MAX_HEAD, "B1.6 fits the head limit, so the count decides");
    CHECK(parse(big, n, &req, SIO_HTTP_MAX_HEADERS, 0) == -1 && req.status == 431, "B1.6 2000 header lines");
    CHECK(sio_http_header(&req, "Upgrade").p == NULL, "B1.6 no header visible after 431");
}

/* ====== Pipelining, last_len, cleared outputs ====== */

static void test_pipelining(void)
{
    static const char in[] = "GET /a HTTP/1.1\r\nHost: x\r\n\r\nPOST /b?q=1 HTTP/1.1\r\nHost: x\r\n"
                             "Content-Length: 2\r\n\r\nhi";
    struct sio_http_req req;
    const char *g = guarded(in, sizeof in - 1);
    long r1, r2;

    req.headers = hdrs;
    req.num_headers = SIO_HTTP_MAX_HEADERS;
    r1 = sio_http_parse(g, sizeof in - 1, &req, 0);
    CHECK(r1 == 28, "first head");
    CHECK(str_is(req.path, "/a"), "first path");
    req.num_headers = SIO_HTTP_MAX_HEADERS;
    r2 = sio_http_parse(g + r1, sizeof in - 1 - (size_t)r1, &req, 0);
    CHECK(r2 == (long)(sizeof in - 1) - r1 - 2, "second head, then its 2-byte body");
    CHECK(str_is(req.method, "POST") && str_is(req.path, "/b") && str_is(req.query, "q=1"), "second fields");
}

/* last_len lets the parser skip what it has seen; a head split anywhere still parses. */
static void test_split(void)
{
    static const char in[] = "GET /x HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\n\r\n";
    size_t len = sizeof in - 1, k;
    for (k = 1; k < len; k++) {
        struct sio_http_req req;
        long r = parse(in, k, &req, SIO_HTTP_MAX_HEADERS, 0);
        CHECK(r == -2, "first part");
        r = parse(in, len, &req, SIO_HTTP_MAX_HEADERS, k);
        CHECK(r == (long)len && req.num_headers == 2, "second part with last_len");
    }
    {
        struct sio_http_req req;
        CHECK(parse(in, len, &req, SIO_HTTP_MAX_HEADERS, len + 5) == (long)len, "last_len > len is ignored");
    }
}

/* ====== Helpers ====== */

static void test_header_lookup(void)
{
    static const char in[] = "GET / HTTP/1.1\r\nHost: one\r\nhOsT: two\r\nX-Y: z\r\n\r\n";
    struct sio_http_req req;
    sio_str v;
    CHECK(parse(in, sizeof in - 1, &req, SIO_HTTP_MAX_HEADERS, 0) > 0, "parse");
    v = sio_http_header(&req, "host");
    CHECK(str_is(v, "one"), "first of two, any case");
    v = sio_http_header(&req, "X-Y");
    CHECK(str_is(v, "z"), "exact case");
    v = sio_http_header(&req, "X-Yz");
    CHECK(v.p == NULL && v.len == 0, "longer name is absent");
    v = sio_http_header(&req, "X-");
    CHECK(v.p == NULL, "prefix name is absent");
    v = sio_http_header(&req, "Sec-WebSocket-Key");
    CHECK(v.p == NULL, "absent");

    /* B1.14: HTTP/1.1 without Host parses; the server sees Host absent and answers 400. */
    CHECK(parse(S("GET / HTTP/1.1\r\nAccept: */*\r\n\r\n"), &req, SIO_HTTP_MAX_HEADERS, 0) > 0, "B1.14 parse");
    CHECK(sio_http_header(&req, "Host").p == NULL, "B1.14 Host absent");
}

struct body_row {
    const char *in;  /* a whole head */
    int ret;         /* expected return of sio_http_body_length */
    uint64_t len;    /* expected *len */
    const char *note;
};

static const struct body_row body_rows[] = {
    {"POST / HTTP/1.1\r\nHost: a\r\n\r\n", 0, 0, "no body headers"},
    {"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\n", 0, 5, "Content-Length 5"},
    {"POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 0, 0, "Content-Length 0"},
    {"POST / HTTP/1.1\r\ncontent-length:  7 \r\n\r\n", 0, 7, "lower-case name, padded value"},
    {"POST / HTTP/1.1\r\nContent-Length: 999999999999999\r\n\r\n", 0, 999999999999999ull, "15 digits"},
    {"POST / HTTP/1.1\r\nContent-Length: 000000000000005\r\n\r\n", 0, 5, "15 digits with leading zeros"},
    {"POST / HTTP/1.1\r\nContent-Length: 1000000000000000\r\n\r\n", -1, 0, "16 digits"},
    {"POST / HTTP/1.1\r\nContent-Length: 1234567890123456789012345\r\n\r\n", -1, 0, "B1.12 25 digits"},
    {"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", -1, 0, "B1.12 negative"},
    {"POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\n", -1, 0, "plus sign"},
    {"POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n", -1, 0, "B1.12 not numeric"},
    {"POST / HTTP/1.1\r\nContent-Length: 0x10\r\n\r\n", -1, 0, "hex"},
    {"POST / HTTP/1.1\r\nContent-Length: 5 5\r\n\r\n", -1, 0, "two numbers"},
    {"POST / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n", -1, 0, "a list in one header"},
    {"POST / HTTP/1.1\r\nContent-Length:\r\n\r\n", -1, 0, "empty value"},
    {"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", 0, 5, "duplicate, same value"},
    {"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 05\r\n\r\n", 0, 5, "duplicate, same number"},
    {"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", -1, 0, "B1.10 two different values"},
    {"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: x\r\n\r\n", -1, 0, "second value invalid"},
    {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 1, 0, "chunked"},
    {"POST / HTTP/1.1\r\ntransfer-encoding: Chunked\r\n\r\n", 1, 0, "chunked, any case"},
    {"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", -1, 0, "gzip"},
    {"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", -1, 0, "gzip, chunked"},
    {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", -1, 0, "chunked twice in a list"},
    {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", -1, 0,
     "two Transfer-Encoding headers"},
    {"POST / HTTP/1.1\r\nTransfer-Encoding:\r\n\r\n", -1, 0, "empty Transfer-Encoding"},
    {"POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", -1, 0,
     "B1.11 Content-Length + chunked"},
    {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", -1, 0,
     "B1.11 chunked + Content-Length"},
};

static void test_body_length(void)
{
    size_t i;
    for (i = 0; i < sizeof body_rows / sizeof body_rows[0]; i++) {
        const struct body_row *t = &body_rows[i];
        struct sio_http_req req;
        uint64_t len = 12345;
        CHECK(parse(t->in, strlen(t->in), &req, SIO_HTTP_MAX_HEADERS, 0) == (long)strlen(t->in), t->note);
        CHECK(sio_http_body_length(&req, &len) == t->ret, t->note);
        CHECK(len == t->len, t->note);
    }
}

struct token_row {
    const char *list; /* header value, or NULL for an absent header */
    const char *token;
    int want;
    const char *note;
};

static const struct token_row token_rows[] = {
    {"keep-alive, Upgrade", "upgrade", 1, "second item, other case"},
    {"Upgrade", "Upgrade", 1, "only item"},
    {"keep-alive,Upgrade", "upgrade", 1, "no space after comma"},
    {"  ,  , upgrade  ,  ", "upgrade", 1, "empty items and padding"},
    {"\tclose\t", "close", 1, "tabs"},
    {"a,,b", "b", 1, "empty item in between"},
    {"upgraded", "upgrade", 0, "longer item"},
    {"xupgrade", "upgrade", 0, "prefixed item"},
    {"upgrad", "upgrade", 0, "shorter item"},
    {"up grade", "upgrade", 0, "space inside"},
    {"upgrade;q=1", "upgrade", 0, "parameters are part of the item"},
    {"", "upgrade", 0, "empty value"},
    {NULL, "upgrade", 0, "absent header"},
    {"a, , b", "", 0, "empty token never matches"},
    {"WebSocket", "websocket", 1, "case-insensitive"},
};

static void test_has_token(void)
{
    static char spaces[100004];
    sio_str s;
    size_t i;
    for (i = 0; i < sizeof token_rows / sizeof token_rows[0]; i++) {
        const struct token_row *t = &token_rows[i];
        s.p = t->list ? guarded(t->list, strlen(t->list)) : NULL;
        s.len = t->list ? strlen(t->list) : 0;
        CHECK(sio_http_has_token(s, t->token) == t->want, t->note);
    }
    /* Whitespace-heavy values (CVE-2021-32640 shape): linear, and still correct. */
    memset(spaces, ' ', 100000);
    memcpy(spaces + 100000, ",x ,", 4);
    s.p = guarded(spaces, sizeof spaces);
    s.len = sizeof spaces;
    CHECK(sio_http_has_token(s, "x") == 1, "100000 spaces then x");
    CHECK(sio_http_has_token(s, "y") == 0, "100000 spaces, no y");
    memset(spaces, ',', sizeof spaces);
    s.p = guarded(spaces, sizeof spaces);
    CHECK(sio_http_has_token(s, "x") == 0, "100004 commas");
}

static void test_keep_alive(void)
{
    static const struct {
        const char *in;
        int want;
        const char *note;
    } rows[] = {
        {"GET / HTTP/1.1\r\n\r\n", 1, "1.1 default"},
        {"GET / HTTP/1.1\r\nConnection: close\r\n\r\n", 0, "1.1 close"},
        {"GET / HTTP/1.1\r\nConnection: Keep-Alive, CLOSE\r\n\r\n", 0, "1.1 close in a list"},
        {"GET / HTTP/1.1\r\nConnection: Upgrade\r\n\r\n", 1, "1.1 upgrade"},
        {"GET / HTTP/1.1\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n", 0, "1.1 close on a 2nd line"},
        {"GET / HTTP/1.1\r\nConnection: closed\r\n\r\n", 1, "1.1 'closed' is not 'close'"},
        {"GET / HTTP/1.0\r\n\r\n", 0, "1.0 default"},
        {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 1, "1.0 keep-alive"},
        {"GET / HTTP/1.0\r\nconnection: x, Keep-Alive\r\n\r\n", 1, "1.0 keep-alive in a list"},
        {"GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", 0, "1.0 keep-alive and close"},
    };
    size_t i;
    for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct sio_http_req req;
        CHECK(parse(rows[i].in, strlen(rows[i].in), &req, SIO_HTTP_MAX_HEADERS, 0) > 0, rows[i].note);
        CHECK(sio_http_keep_alive(&req) == rows[i].want, rows[i].note);
    }
}

struct query_row {
    const char *query; /* query string, or NULL for an absent one */
    const char *key;
    size_t cap;       /* dst capacity */
    long want;        /* expected return */
    const char *value; /* expected dst when want >= 0 */
    const char *note;
};

static const struct query_row query_rows[] = {
    {"EIO=4&transport=polling", "EIO", 16, 1, "4", "first key"},
    {"EIO=4&transport=polling", "transport", 16, 7, "polling", "second key"},
    {"EIO=4&EIO=3", "EIO", 16, 1, "3", "last value wins (B2.22)"},
    {"sid=a%2Fb%2fc", "sid", 16, 5, "a/b/c", "%2F and %2f"},
    {"name=a+b", "name", 16, 3, "a b", "'+' is a space"},
    {"name=a%2Bb", "name", 16, 3, "a+b", "%2B is a plus"},
    {"x=%zz", "x", 16, 3, "%zz", "bad escape kept"},
    {"x=%4", "x", 16, 2, "%4", "short escape kept"},
    {"x=100%", "x", 16, 4, "100%", "lone % at the end kept"},
    {"x=%%41", "x", 16, 2, "%A", "% then a good escape"},
    {"x=%00y", "x", 16, 2, "\0y", "%00 decodes to NUL (length says so)"},
    {"EIO=4", "sid", 16, -1, NULL, "missing key"},
    {"", "EIO", 16, -1, NULL, "empty query"},
    {NULL, "EIO", 16, -1, NULL, "no query"},
    {"EIOx=4&xEIO=5", "EIO", 16, -1, NULL, "key as prefix/suffix does not match"},
    {"a=1&&b=2&", "b", 16, 1, "2", "empty pieces skipped"},
    {"flag&x=1", "flag", 16, 0, "", "key without '='"},
    {"a=b=c", "a", 16, 3, "b=c", "value keeps later '='"},
    {"%45IO=4", "EIO", 16, 1, "4", "names are decoded too"},
    {"a+b=1", "a b", 16, 1, "1", "'+' in a name"},
    {"=x", "", 16, 1, "x", "empty name"},
    {"EIO=4&EIO", "EIO", 16, 0, "", "last wins even when empty"},
    {"sid=0123456789", "sid", 11, 10, "0123456789", "fits exactly"},
    {"sid=0123456789", "sid", 10, -2, NULL, "one byte too small"},
    {"a=1", "a", 2, 1, "1", "cap 2 for one byte"},
    {"a=1", "a", 1, -2, NULL, "cap 1 holds only the NUL"},
    {"a=", "a", 1, 0, "", "empty value in cap 1"},
    {"a=", "a", 0, -2, NULL, "cap 0"},
    {"a=%41%42", "a", 3, 2, "AB", "decoded length decides the fit"},
};

static void test_query(void)
{
    size_t i;
    for (i = 0; i < sizeof query_rows / sizeof query_rows[0]; i++) {
        const struct query_row *t = &query_rows[i];
        char dst[32];
        sio_str q;
        long r;
        q.p = t->query ? guarded(t->query, strlen(t->query)) : NULL;
        q.len = t->query ? strlen(t->query) : 0;
        memset(dst, '#', sizeof dst);
        r = sio_http_query(q, t->key, t->cap ? dst : NULL, t->cap);
        CHECK(r == t->want, t->note);
        if (r >= 0 && t->want >= 0) {
            CHECK(memcmp(dst, t->value, (size_t)r) == 0 && dst[r] == '\0', t->note);
        }
        CHECK(dst[t->cap] == '#' || t->cap >= sizeof dst, t->note); /* nothing written past cap */
    }
}

static void test_reason(void)
{
    static const struct {
        int status;
        const char *reason;
    } rows[] = {
        {101, "Switching Protocols"}, {200, "OK"}, {204, "No Content"}, {400, "Bad Request"},
        {403, "Forbidden"}, {404, "Not Found"}, {405, "Method Not Allowed"}, {408, "Request Timeout"},
        {411, "Length Required"}, {413, "Payload Too Large"}, {414, "URI Too Long"},
        {426, "Upgrade Required"}, {431, "Request Header Fields Too Large"},
        {500, "Internal Server Error"}, {501, "Not Implemented"}, {503, "Service Unavailable"},
        {0, "Unknown"}, {299, "Unknown"}, {999, "Unknown"}, {-1, "Unknown"},
    };
    size_t i;
    for (i = 0; i < sizeof rows / sizeof rows[0]; i++)
        CHECK(strcmp(sio_http_reason(rows[i].status), rows[i].reason) == 0, rows[i].reason);
}

int main(void)
{
    RUN(test_valid);
    RUN(test_trim);
    RUN(test_bad);
    RUN(test_early);
    RUN(test_limit_head);
    RUN(test_limit_target);
    RUN(test_limit_headers);
    RUN(test_pipelining);
    RUN(test_split);
    RUN(test_header_lookup);
    RUN(test_body_length);
    RUN(test_has_token);
    RUN(test_keep_alive);
    RUN(test_query);
    RUN(test_reason);
    return test_main_end("http");
}
