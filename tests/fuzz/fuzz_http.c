/* SPDX-License-Identifier: MIT */
/* fuzz_http.c -- libFuzzer target for http.c: the request-head parser and its helpers.
 *
 * For each input it checks, beyond "no crash, no read past the end":
 *   - the result is one of >0 / -2 / -1, with every output slice inside the input, the head
 *     ending in CRLF CRLF, header values trimmed, statuses 400/414/431 only on -1, and outputs
 *     cleared on -1 and -2 (http.h's contract);
 *   - feeding the input one byte at a time (last_len = the previous length, as the server does)
 *     gives -2 until the first prefix that decides, and that decision matches the one-shot parse
 *     of the whole input (same head length, same fields); for short inputs each prefix is also
 *     parsed with last_len = 0 and must give the same answer;
 *   - a smaller header array gives 431 exactly when the head has more header lines;
 *   - the helpers agree with simple reference versions (token lists) or with themselves
 *     (sio_http_query at capacities L+1 and L), over parsed heads and over the raw input used
 *     as a query string;
 *   - pipelined requests (head, Content-Length body, next head) are parsed in turn.
 * The Makefile builds it with small limits (SIO_HTTP_MAX_HEAD and friends) so that the fuzzer
 * reaches the 414/431 boundaries with short inputs.
 */
#include "../../http.h"
#include "fuzz.h"

#include <string.h>

static struct sio_http_header hdrs[SIO_HTTP_MAX_HEADERS];

/* Parses buf[0..len) with a request full of garbage, so that anything the parser forgets to set
 * shows up. */
static long parse(const char *buf, size_t len, struct sio_http_req *req, size_t cap, size_t last_len)
{
    memset(req, 0x5a, sizeof *req);
    req->headers = hdrs;
    req->num_headers = cap;
    return sio_http_parse(buf, len, req, last_len);
}

static int same_str(sio_str a, sio_str b)
{
    return a.p == b.p && a.len == b.len;
}

/* http.h's contract for one result. */
static void check_result(const char *buf, size_t len, long n, const struct sio_http_req *req, size_t cap)
{
    CHECK(n == -2 || n == -1 || n > 0);
    if (n < 0) {
        CHECK(req->method.p == NULL && req->target.p == NULL && req->path.p == NULL && req->query.p == NULL);
        CHECK(req->num_headers == 0 && req->minor_version == 0);
        if (n == -2) CHECK(req->status == 0);
        else CHECK(req->status == 400 || req->status == 414 || req->status == 431);
        if (n == -2) CHECK(len < SIO_HTTP_MAX_HEAD); /* never asks for more past the cap */
        return;
    }
    size_t end = (size_t)n;
    CHECK(end <= len && end <= SIO_HTTP_MAX_HEAD && end >= 4);
    CHECK(memcmp(buf + end - 4, "\r\n\r\n", 4) == 0);
    CHECK(memmem(buf, end, "\r\n\r\n", 4) == buf + end - 4); /* the first blank line */
    CHECK(req->status == 0);
    CHECK(req->minor_version == 0 || req->minor_version == 1);
    CHECK(req->method.p == buf && req->method.len > 0 && IN_BUF(req->method, buf, end));
    CHECK(buf[req->method.len] == ' ');
    CHECK(req->target.p == buf + req->method.len + 1 && req->target.len > 0);
    CHECK(req->target.len <= SIO_HTTP_MAX_TARGET && IN_BUF(req->target, buf, end));
    for (size_t i = 0; i < req->target.len; i++)
        CHECK((unsigned char)req->target.p[i] > 0x20 && req->target.p[i] != 0x7f);
    CHECK(req->path.p == req->target.p && req->path.len <= req->target.len);
    CHECK(memchr(req->path.p, '?', req->path.len) == NULL);
    if (req->path.len < req->target.len) {
        CHECK(req->target.p[req->path.len] == '?');
        CHECK(req->query.p == req->target.p + req->path.len + 1);
        CHECK(req->query.len == req->target.len - req->path.len - 1);
    } else {
        CHECK(req->query.p == req->target.p + req->target.len && req->query.len == 0);
    }
    CHECK(req->num_headers <= cap);
    for (size_t i = 0; i < req->num_headers; i++) {
        const struct sio_http_header *h = &req->headers[i];
        CHECK(h->name.len > 0 && IN_BUF(h->name, buf, end) && IN_BUF(h->value, buf, end));
        CHECK(h->name.p[h->name.len] == ':');
        CHECK(h->name.p[-2] == '\r' && h->name.p[-1] == '\n'); /* starts a line */
        CHECK(memchr(h->name.p, ' ', h->name.len) == NULL && memchr(h->name.p, ':', h->name.len) == NULL);
        if (h->value.len) {
            CHECK(h->value.p[0] != ' ' && h->value.p[0] != '\t');
            CHECK(h->value.p[h->value.len - 1] != ' ' && h->value.p[h->value.len - 1] != '\t');
        }
        for (size_t k = 0; k < h->value.len; k++)
            CHECK(h->value.p[k] == '\t' || ((unsigned char)h->value.p[k] >= 0x20 && h->value.p[k] != 0x7f));
    }
}

/* A reference for sio_http_has_token: split on ',', trim SP/HTAB, compare ignoring ASCII case. */
static int ref_has_token(sio_str list, const char *token)
{
    size_t tl = strlen(token), i = 0;
    if (!list.p || tl == 0) return 0;
    while (i <= list.len) {
        size_t a = i, b;
        while (i < list.len && list.p[i] != ',') i++;
        b = i++;
        while (a < b && (list.p[a] == ' ' || list.p[a] == '\t')) a++;
        while (b > a && (list.p[b - 1] == ' ' || list.p[b - 1] == '\t')) b--;
        if (b - a != tl) continue;
        size_t k;
        for (k = 0; k < tl; k++) {
            unsigned char x = (unsigned char)list.p[a + k], y = (unsigned char)token[k];
            if (x >= 'A' && x <= 'Z') x = (unsigned char)(x + 32);
            if (y >= 'A' && y <= 'Z') y = (unsigned char)(y + 32);
            if (x != y) break;
        }
        if (k == tl) return 1;
    }
    return 0;
}

/* sio_http_query at a roomy capacity, then at exactly the needed capacity and one less, into
 * heap buffers of exactly that size (so ASan sees any write past cap). */
static void check_query(sio_str q, const char *key)
{
    char big[512];
    long n = sio_http_query(q, key, big, sizeof big);
    CHECK(n >= -2);
    if (n == -1) return; /* absent: it is absent at every capacity */
    if (n == -2) {
        CHECK(q.len >= sizeof big - 1); /* a decoded value is never longer than its text */
        return;
    }
    CHECK((size_t)n < sizeof big && big[n] == '\0');
    CHECK((size_t)n <= q.len);
    char *exact = malloc((size_t)n + 1);
    CHECK(exact != NULL);
    CHECK(sio_http_query(q, key, exact, (size_t)n + 1) == n && memcmp(exact, big, (size_t)n + 1) == 0);
    CHECK(sio_http_query(q, key, exact, (size_t)n) == -2);
    free(exact);
}

/* Everything that takes a parsed request. */
static void check_helpers(const struct sio_http_req *req)
{
    static const char *const names[] = {"host", "upgrade", "connection", "content-length",
                                        "transfer-encoding", "sec-websocket-key", "origin", "cookie"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        sio_str v = sio_http_header(req, names[i]);
        if (v.p) CHECK(IN_BUF(v, req->method.p, SIO_HTTP_MAX_HEAD));
    }
    for (size_t i = 0; i < req->num_headers; i++) {
        sio_str v = req->headers[i].value;
        static const char *const toks[] = {"upgrade", "websocket", "close", "keep-alive", "chunked"};
        for (size_t k = 0; k < sizeof toks / sizeof *toks; k++)
            CHECK(sio_http_has_token(v, toks[k]) == ref_has_token(v, toks[k]));
    }
    uint64_t blen = 12345;
    int b = sio_http_body_length(req, &blen);
    CHECK(b == 0 || b == 1 || b == -1);
    if (b != 0) CHECK(blen == 0);
    else CHECK(blen < 1000000000000000ull); /* at most 15 digits */
    int ka = sio_http_keep_alive(req);
    CHECK(ka == 0 || ka == 1);
    static const char *const keys[] = {"EIO", "transport", "sid", "t", "b64", "j", ""};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) check_query(req->query, keys[i]);
}

/* One byte at a time, as a trickling client would send it. */
static void check_incremental(const char *buf, size_t len, long full, const struct sio_http_req *full_req)
{
    struct sio_http_req req;
    long r = -2;
    size_t k;
    for (k = 1; k <= len; k++) {
        r = parse(buf, k, &req, SIO_HTTP_MAX_HEADERS, k - 1);
        check_result(buf, k, r, &req, SIO_HTTP_MAX_HEADERS);
        if (len <= 256) { /* the same prefix without the rescan hint */
            struct sio_http_req req0;
            long r0 = parse(buf, k, &req0, SIO_HTTP_MAX_HEADERS, 0);
            CHECK(r0 == r);
            if (r0 == -1) CHECK(req0.status == req.status);
        }
        if (r != -2) break;
    }
    if (r == -2) {
        CHECK(full == -2);
        return;
    }
    if (r > 0) {
        CHECK((size_t)r == k && r == full);
        CHECK(same_str(req.method, full_req->method) && same_str(req.target, full_req->target));
        CHECK(req.num_headers == full_req->num_headers && req.minor_version == full_req->minor_version);
        return;
    }
    CHECK(full == -1); /* the status may differ: a whole buffer may show a worse fault first */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    struct sio_http_req req, small;
    long full = parse(buf, size, &req, SIO_HTTP_MAX_HEADERS, 0);
    check_result(buf, size, full, &req, SIO_HTTP_MAX_HEADERS);
    check_incremental(buf, size, full, &req);

    /* The parse must not depend on a stale last_len past the buffer (the server never passes
     * one, but the contract says it is ignored). */
    struct sio_http_req odd;
    CHECK(parse(buf, size, &odd, SIO_HTTP_MAX_HEADERS, size + 7) == full);

    if (full > 0) {
        size_t cap = req.num_headers ? req.num_headers - 1 : 0;
        long r = parse(buf, size, &small, cap, 0);
        CHECK(req.num_headers == 0 ? r == full : (r == -1 && small.status == 431));
        check_helpers(&req);
    }

    /* Pipelined requests, framed by Content-Length as the server frames them. */
    size_t off = 0;
    for (int i = 0; i < 8 && off < size; i++) {
        long n = parse(buf + off, size - off, &req, SIO_HTTP_MAX_HEADERS, 0);
        check_result(buf + off, size - off, n, &req, SIO_HTTP_MAX_HEADERS);
        if (n <= 0) break;
        uint64_t blen;
        if (sio_http_body_length(&req, &blen) != 0 || blen > size - off - (size_t)n) break;
        off += (size_t)n + (size_t)blen;
    }

    /* The raw input as a query string, with fixed keys and with the input's first name. */
    sio_str q = {buf, size};
    check_query(q, "sid");
    check_query(q, "EIO");
    char key[17];
    size_t kl = 0;
    while (kl < size && kl < sizeof key - 1 && buf[kl] != '=' && buf[kl] != '&' && buf[kl] != '\0') {
        key[kl] = buf[kl];
        kl++;
    }
    key[kl] = '\0';
    check_query(q, key);
    if (size >= 2) CHECK(strlen(sio_http_reason((int)(data[0] << 8 | data[1]) % 1000)) > 0);
    return 0;
}
