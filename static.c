/* SPDX-License-Identifier: MIT */
/* static.c -- static files from one directory (the chat page in web/), safely.
 *
 * The request path is untrusted. It is decoded once (RFC 3986 percent-encoding), refused if it
 * holds "..", NUL, a backslash or a bad escape, joined to the directory, and then resolved with
 * realpath(3): the result must still lie inside the (resolved) directory, so a symlink that
 * points outside is as good as absent. The final open uses O_NOFOLLOW and fstat must show a
 * regular file. Caching follows RFC 9110/9111: a strong ETag from size and mtime, If-None-Match
 * with the ETag (or "*") gives 304 Not Modified.
 *
 * Not done: ranges, compression, directory listings, If-Modified-Since (ETag is enough for
 * browsers), files bigger than STATIC_MAX_FILE.
 */
#include "static.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* An opened directory. */
struct static_dir {
    char root[PATH_MAX]; /* realpath of the directory, no trailing slash (except "/") */
    size_t root_len;     /* strlen(root) */
};

struct static_dir *static_open(const char *dir, char err[STATIC_ERR_LEN])
{
    struct static_dir *d = calloc(1, sizeof *d);
    struct stat sb;
    if (!d) {
        snprintf(err, STATIC_ERR_LEN, "out of memory");
        return NULL;
    }
    if (!realpath(dir, d->root) || stat(d->root, &sb) < 0) {
        snprintf(err, STATIC_ERR_LEN, "%s: %s", dir, strerror(errno));
        free(d);
        return NULL;
    }
    if (!S_ISDIR(sb.st_mode)) {
        snprintf(err, STATIC_ERR_LEN, "%s: not a directory", dir);
        free(d);
        return NULL;
    }
    d->root_len = strlen(d->root);
    return d;
}

const char *static_root(const struct static_dir *d) { return d->root; }

void static_close(struct static_dir *d) { free(d); }

/* The value of a hex digit, or -1. */
static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

long static_decode_path(const char *p, size_t len, char *out, size_t cap)
{
    size_t n = 0;
    if (cap) out[0] = '\0';
    if (!len || p[0] != '/') return -1;
    for (size_t i = 0; i < len; i++) {
        char c = p[i];
        if (c == '%') {
            int hi = i + 2 < len ? hexval(p[i + 1]) : -1, lo = i + 2 < len ? hexval(p[i + 2]) : -1;
            if (hi < 0 || lo < 0) return -1;
            c = (char)(hi << 4 | lo);
            i += 2;
        }
        if (c == '\0' || c == '\\') return -1;
        if (n + 1 >= cap) return -2;
        out[n++] = c;
    }
    out[n] = '\0';
    if (strstr(out, "..")) return -1; /* stricter than needed ("a..b" is harmless), and simple */
    return (long)n;
}

const char *static_content_type(const char *name)
{
    static const struct {
        const char *ext;  /* extension, with the dot */
        const char *type; /* Content-Type */
    } types[] = {
        {".html", "text/html; charset=utf-8"},   {".htm", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"}, {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},     {".json", "application/json"},
        {".map", "application/json"},            {".txt", "text/plain; charset=utf-8"},
        {".svg", "image/svg+xml"},               {".png", "image/png"},
        {".jpg", "image/jpeg"},                  {".jpeg", "image/jpeg"},
        {".gif", "image/gif"},                   {".webp", "image/webp"},
        {".ico", "image/x-icon"},                {".woff2", "font/woff2"},
        {".woff", "font/woff"},                  {".wasm", "application/wasm"},
    };
    const char *dot = strrchr(name, '.'), *slash = strrchr(name, '/');
    if (dot && (!slash || dot > slash))
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
            if (!strcasecmp(dot, types[i].ext)) return types[i].type;
    return "application/octet-stream";
}

/* 1 if the If-None-Match header value lists `etag` (weak comparison, RFC 9110 13.1.2) or "*". */
static int etag_matches(sio_str inm, const char *etag)
{
    size_t el = strlen(etag);
    const char *p = inm.p, *end = inm.p + inm.len;
    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == ',')) p++;
        const char *q = p;
        while (q < end && *q != ',') q++;
        const char *e = q;
        while (e > p && (e[-1] == ' ' || e[-1] == '\t')) e--;
        if (e - p == 1 && *p == '*') return 1;
        if (e - p > 2 && p[0] == 'W' && p[1] == '/') p += 2;
        if ((size_t)(e - p) == el && !memcmp(p, etag, el)) return 1;
        p = q;
    }
    return 0;
}

/* Sets a short plain-text answer. */
static void plain(sio_http_response *res, int status, const char *text, const char *headers)
{
    res->status = status;
    res->content_type = "text/plain; charset=utf-8";
    res->headers = headers;
    res->body = text;
    res->len = strlen(text);
    res->free_body = NULL;
}

void static_serve(const sio_http_request *req, sio_http_response *res, void *ud)
{
    const struct static_dir *d = ud;
    /* The header lines must outlive this function until the library copies the response, which
     * it does as soon as the handler returns; the server is single-threaded, so one buffer does. */
    static char headers[512];
    int get = req->method.len == 3 && !memcmp(req->method.p, "GET", 3);
    int head = req->method.len == 4 && !memcmp(req->method.p, "HEAD", 4);
    if (!get && !head) {
        plain(res, 405, "Method Not Allowed\n", "Allow: GET, HEAD\r\n");
        return;
    }
    char rel[STATIC_MAX_PATH + sizeof "index.html"];
    long n = static_decode_path(req->path.p, req->path.len, rel, STATIC_MAX_PATH);
    if (n == -1) {
        plain(res, 400, "Bad Request\n", NULL);
        return;
    }
    if (n < 0) {
        plain(res, 404, "Not Found\n", NULL);
        return;
    }
    if (rel[n - 1] == '/') memcpy(rel + n, "index.html", sizeof "index.html");

    char joined[PATH_MAX + STATIC_MAX_PATH + sizeof "index.html"], real[PATH_MAX];
    snprintf(joined, sizeof joined, "%s%s", d->root, rel);
    /* realpath resolves every symlink: the file must still be inside root. */
    if (!realpath(joined, real) || strncmp(real, d->root, d->root_len) != 0 ||
        (real[d->root_len] != '/' && !(d->root_len == 1 && d->root[0] == '/'))) {
        plain(res, 404, "Not Found\n", NULL);
        return;
    }
    int fd = open(real, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
        if (fd >= 0) close(fd);
        plain(res, 404, "Not Found\n", NULL);
        return;
    }
    if ((uint64_t)sb.st_size > STATIC_MAX_FILE) {
        close(fd);
        plain(res, 403, "Forbidden: file too large\n", NULL);
        return;
    }
    char etag[64];
    snprintf(etag, sizeof etag, "\"%llx-%llx%09ld\"", (unsigned long long)sb.st_size,
             (unsigned long long)sb.st_mtim.tv_sec, (long)sb.st_mtim.tv_nsec);
    const char *type = static_content_type(real);
    int html = !strncmp(type, "text/html", 9);
    char cache[64];
    if (html) snprintf(cache, sizeof cache, "no-cache");
    else snprintf(cache, sizeof cache, "public, max-age=%d", STATIC_MAX_AGE);
    snprintf(headers, sizeof headers, "ETag: %s\r\nCache-Control: %s\r\nX-Content-Type-Options: nosniff\r\n", etag, cache);

    sio_str inm = sio_request_header(req, "if-none-match");
    if (inm.p && etag_matches(inm, etag)) {
        close(fd);
        res->status = 304;
        res->content_type = NULL;
        res->headers = headers;
        res->body = NULL;
        res->len = 0;
        res->free_body = NULL;
        return;
    }
    size_t size = (size_t)sb.st_size, got = 0;
    char *body = malloc(size ? size : 1);
    while (body && got < size) {
        ssize_t r = read(fd, body + got, size - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
    }
    close(fd);
    if (!body || got != size) { /* out of memory, or the file changed under us */
        free(body);
        plain(res, 500, "Internal Server Error\n", NULL);
        return;
    }
    res->status = 200;
    res->content_type = type;
    res->headers = headers;
    res->body = body;
    res->len = size;
    res->free_body = free;
}
