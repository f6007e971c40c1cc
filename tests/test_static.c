/* SPDX-License-Identifier: MIT */
/* test_static.c -- unit tests of static.c: path decoding (table rows, fed whole and as every
 * prefix), content types, and static_serve() over a real temporary directory with symlinks that
 * point inside and outside it. sio_request_header() is stubbed, so the library is not needed. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../static.h"
#include "test.h"

/* ====== Stub of the one library function static.c calls ====== */

struct fake_header {
    const char *name;  /* lowercase header name */
    const char *value; /* its value */
};

sio_str sio_request_header(const sio_http_request *req, const char *name)
{
    const struct fake_header *h = req->opaque;
    for (; h && h->name; h++)
        if (!strcmp(h->name, name)) return (sio_str){h->value, strlen(h->value)};
    return (sio_str){NULL, 0};
}

/* ====== static_decode_path ====== */

static void test_decode_path(void)
{
    static const struct {
        const char *in;   /* request path as sent */
        long ret;         /* expected return */
        const char *out;  /* expected decoded path (when ret >= 0) */
        const char *note; /* what the row is about */
    } rows[] = {
        {"/", 1, "/", "root"},
        {"/index.html", 11, "/index.html", "plain"},
        {"/a%20b.txt", 8, "/a b.txt", "escape"},
        {"/%41%62", 3, "/Ab", "upper and lower hex"},
        {"/%e2%82%ac", 4, "/\xe2\x82\xac", "UTF-8 bytes"},
        {"/a..b", -1, NULL, "any \"..\" is refused"},
        {"/../etc/passwd", -1, NULL, "dot-dot segment"},
        {"/%2e%2e/etc/passwd", -1, NULL, "encoded dot-dot"},
        {"/%2E%2e%2fetc", -1, NULL, "encoded dot-dot and slash"},
        {"/.%2e/x", -1, NULL, "half encoded"},
        {"/a/..", -1, NULL, "trailing dot-dot"},
        {"/a%00.html", -1, NULL, "NUL"},
        {"/a\\b", -1, NULL, "backslash"},
        {"/a%5cb", -1, NULL, "encoded backslash"},
        {"/%zz", -1, NULL, "bad hex"},
        {"/%4", -1, NULL, "truncated escape"},
        {"/%", -1, NULL, "bare percent"},
        {"index.html", -1, NULL, "no leading slash"},
        {"", -1, NULL, "empty"},
        {"/.hidden", 8, "/.hidden", "one dot is fine"},
    };
    char out[64];
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        size_t len = strlen(rows[i].in);
        long r = static_decode_path(guarded(rows[i].in, len), len, out, sizeof out);
        CHECK(r == rows[i].ret, rows[i].note);
        if (rows[i].ret >= 0) CHECK(!strcmp(out, rows[i].out), rows[i].note);
        /* every prefix too: never a crash, never a read past the end (guarded) */
        for (size_t k = 0; k < len; k++) static_decode_path(guarded(rows[i].in, k), k, out, sizeof out);
    }
    CHECK(static_decode_path("/abcdefgh", 9, out, 9) == -2, "does not fit (9 bytes + NUL in 9)");
    CHECK(static_decode_path("/abcdefgh", 9, out, 10) == 9, "fits exactly");
}

static void test_content_types(void)
{
    CHECK(!strcmp(static_content_type("/index.html"), "text/html; charset=utf-8"), "html");
    CHECK(!strcmp(static_content_type("/a/app.js"), "text/javascript; charset=utf-8"), "js");
    CHECK(!strcmp(static_content_type("style.CSS"), "text/css; charset=utf-8"), "case-insensitive");
    CHECK(!strcmp(static_content_type("x.png"), "image/png"), "png");
    CHECK(!strcmp(static_content_type("x.svg"), "image/svg+xml"), "svg");
    CHECK(!strcmp(static_content_type("README"), "application/octet-stream"), "no extension");
    CHECK(!strcmp(static_content_type("dir.js/file"), "application/octet-stream"), "dot in a directory");
}

/* ====== static_serve over a real directory ====== */

static char base[128]; /* temp dir: base/web is served, base/secret.txt is outside */

static void put(const char *rel, const char *text)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", base, rel);
    FILE *f = fopen(p, "wb");
    if (!f) abort();
    fputs(text, f);
    fclose(f);
}

/* Runs one request; returns the response (body owned by the caller: call done()). */
static sio_http_response serve(struct static_dir *d, const char *method, const char *path, const struct fake_header *h)
{
    sio_http_request req = {{method, strlen(method)}, {path, strlen(path)}, {"", 0}, h};
    sio_http_response res = {404, "text/plain", NULL, "Not Found", 9, NULL};
    static_serve(&req, &res, d);
    return res;
}

static void done(sio_http_response *res)
{
    if (res->free_body) res->free_body((void *)res->body);
}

/* The value of header `name` in the response's extra header lines, copied into out. */
static const char *res_header(const sio_http_response *res, const char *name, char *out, size_t cap)
{
    out[0] = '\0';
    if (!res->headers) return out;
    const char *p = strstr(res->headers, name);
    if (!p) return out;
    p += strlen(name) + 2;
    size_t n = strcspn(p, "\r");
    snprintf(out, cap, "%.*s", (int)(n < cap ? n : cap - 1), p);
    return out;
}

static void test_serve(void)
{
    char err[STATIC_ERR_LEN], p[256], q[256], v[128];
    snprintf(base, sizeof base, "/tmp/sio-test-static-XXXXXX");
    if (!mkdtemp(base)) abort();
    snprintf(p, sizeof p, "%s/web", base), mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/web/sub", base), mkdir(p, 0755);
    put("web/index.html", "<!doctype html><title>chat</title>");
    put("web/app.js", "console.log(1);\n");
    put("web/sub/index.html", "<p>sub</p>");
    put("secret.txt", "do not serve");
    snprintf(p, sizeof p, "%s/secret.txt", base), snprintf(q, sizeof q, "%s/web/out.txt", base), symlink(p, q);
    snprintf(q, sizeof q, "%s/web/updir", base), symlink("..", q);
    snprintf(q, sizeof q, "%s/web/inlink.js", base), symlink("app.js", q);
    snprintf(p, sizeof p, "%s/web/big.bin", base);
    int fd = open(p, O_CREAT | O_WRONLY, 0644);
    if (fd < 0 || ftruncate(fd, (off_t)STATIC_MAX_FILE + 1) < 0) abort();
    close(fd);

    snprintf(p, sizeof p, "%s/nope", base);
    CHECK(static_open(p, err) == NULL && strstr(err, "nope"), err);
    snprintf(p, sizeof p, "%s/secret.txt", base);
    CHECK(static_open(p, err) == NULL && strstr(err, "not a directory"), err);
    snprintf(p, sizeof p, "%s/web", base);
    struct static_dir *d = static_open(p, err);
    CHECK(d != NULL, err);
    if (!d) return;

    sio_http_response r = serve(d, "GET", "/", NULL);
    CHECK(r.status == 200 && r.len == 34 && !memcmp(r.body, "<!doctype", 9), "GET / is index.html");
    CHECK(!strcmp(r.content_type, "text/html; charset=utf-8"), "html type");
    CHECK(!strcmp(res_header(&r, "Cache-Control", v, sizeof v), "no-cache"), "html is revalidated");
    char etag[64];
    snprintf(etag, sizeof etag, "%s", res_header(&r, "ETag", v, sizeof v));
    CHECK(etag[0] == '"' && strlen(etag) > 4, "ETag");
    CHECK(strstr(r.headers, "X-Content-Type-Options: nosniff\r\n") != NULL, "nosniff");
    done(&r);

    r = serve(d, "GET", "/app.js?v=1", NULL);
    CHECK(r.status == 404, "the query is not part of the path (the library splits it off)");
    done(&r);
    r = serve(d, "GET", "/app.js", NULL);
    CHECK(r.status == 200 && !strcmp(r.content_type, "text/javascript; charset=utf-8"), "js");
    CHECK(strstr(res_header(&r, "Cache-Control", v, sizeof v), "max-age=") != NULL, "assets get max-age");
    done(&r);
    r = serve(d, "HEAD", "/app.js", NULL);
    CHECK(r.status == 200 && r.len == 16, "HEAD: same length (the library drops the body)");
    done(&r);
    r = serve(d, "POST", "/", NULL);
    CHECK(r.status == 405 && r.headers && strstr(r.headers, "Allow: GET, HEAD"), "POST -> 405");
    done(&r);
    r = serve(d, "DELETE", "/app.js", NULL);
    CHECK(r.status == 405, "DELETE -> 405");
    done(&r);

    /* conditional requests */
    struct fake_header same[] = {{"if-none-match", etag}, {NULL, NULL}};
    r = serve(d, "GET", "/", same);
    CHECK(r.status == 304 && r.len == 0 && strstr(r.headers, etag), "If-None-Match: same ETag -> 304");
    done(&r);
    char weak[80];
    snprintf(weak, sizeof weak, "\"x\", W/%s", etag);
    struct fake_header list[] = {{"if-none-match", weak}, {NULL, NULL}};
    r = serve(d, "GET", "/", list);
    CHECK(r.status == 304, "in a list, weak form");
    done(&r);
    struct fake_header star[] = {{"if-none-match", "*"}, {NULL, NULL}};
    r = serve(d, "GET", "/", star);
    CHECK(r.status == 304, "*");
    done(&r);
    struct fake_header other[] = {{"if-none-match", "\"other\""}, {NULL, NULL}};
    r = serve(d, "GET", "/", other);
    CHECK(r.status == 200, "another ETag -> 200");
    done(&r);

    /* what must never be served */
    static const struct {
        const char *path; /* request path */
        int status;       /* expected status */
        const char *note; /* why */
    } refused[] = {
        {"/../secret.txt", 400, "dot-dot"},
        {"/%2e%2e/secret.txt", 400, "encoded dot-dot"},
        {"/sub/%2e%2e/%2e%2e/secret.txt", 400, "deeper"},
        {"/index.html%00.js", 400, "NUL"},
        {"/..%5csecret.txt", 400, "backslash"},
        {"/out.txt", 404, "a symlink to a file outside"},
        {"/updir/secret.txt", 404, "a symlink to a directory outside"},
        {"/missing.html", 404, "missing"},
        {"/sub", 404, "a directory without the slash"},
        {"/big.bin", 403, "over STATIC_MAX_FILE"},
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        r = serve(d, "GET", refused[i].path, NULL);
        CHECK(r.status == refused[i].status, refused[i].note);
        CHECK(!r.body || !strstr(r.body, "do not serve"), refused[i].note);
        done(&r);
    }
    r = serve(d, "GET", "/sub/", NULL);
    CHECK(r.status == 200 && r.len == 10, "a directory with the slash: its index.html");
    done(&r);
    r = serve(d, "GET", "/inlink.js", NULL);
    CHECK(r.status == 200 && r.len == 16, "a symlink inside the directory is followed");
    done(&r);
    static_close(d);
    static_close(NULL);

    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", base);
}

int main(void)
{
    RUN(test_decode_path);
    RUN(test_content_types);
    RUN(test_serve);
    return test_main_end("static");
}
