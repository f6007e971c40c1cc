/* SPDX-License-Identifier: MIT */
/* static.h -- serving the files of one directory over sio's plain-HTTP hook.
 *
 *   struct static_dir *web = static_open("web", err);     // NULL + err if the directory is unusable
 *   sio_on_request(srv, static_serve, web);               // GET /, /app.js, ... from web/
 *   ...
 *   static_close(web);
 *
 * GET and HEAD only (others: 405 with Allow). "/" and any path ending in "/" mean index.html.
 * The path is percent-decoded; one with "..", a NUL, a backslash or a bad escape is refused
 * (400), and one that resolves (symlinks included) outside the directory is not found (404):
 * nothing outside the directory is ever read. Content-Type comes from the extension. ETag is
 * built from size and modification time; If-None-Match gives 304. HTML is sent with
 * Cache-Control: no-cache (always revalidated), other files with max-age=STATIC_MAX_AGE.
 * Files over STATIC_MAX_FILE are refused (403).
 */
#ifndef STATIC_H
#define STATIC_H

#include "sio.h"

/* ====== Limits (override with -D) ====== */
#ifndef STATIC_MAX_FILE
#define STATIC_MAX_FILE (8u << 20) /* largest file served, bytes (it is read whole into memory) */
#endif
#ifndef STATIC_MAX_PATH
#define STATIC_MAX_PATH 1024 /* longest decoded request path, bytes; longer -> 404 */
#endif
#ifndef STATIC_MAX_AGE
#define STATIC_MAX_AGE 600 /* Cache-Control max-age of non-HTML files, seconds */
#endif
#define STATIC_ERR_LEN 256 /* size of the err buffer static_open() fills */

struct static_dir;

/* Resolves `dir` (realpath) and checks that it is a directory. Returns a handle for
 * static_serve(), or NULL with a message in err. Free with static_close(). */
struct static_dir *static_open(const char *dir, char err[STATIC_ERR_LEN]);

/* The absolute, resolved directory (for the start-up log line). */
const char *static_root(const struct static_dir *d);

/* A sio_request_cb: answers req from the directory `ud` (a struct static_dir *). */
void static_serve(const sio_http_request *req, sio_http_response *res, void *ud);

/* Frees the handle. NULL is a no-op. */
void static_close(struct static_dir *d);

/* Percent-decodes a request path into out (cap bytes, NUL-terminated) and checks it: it must
 * start with '/', hold no NUL, backslash or ".." and only valid %XX escapes. Returns the decoded
 * length, -1 if the path is refused, or -2 if it does not fit. Pure: exposed for tests. */
long static_decode_path(const char *p, size_t len, char *out, size_t cap);

/* The Content-Type for a file name, from its extension (application/octet-stream if unknown). */
const char *static_content_type(const char *name);

#endif /* STATIC_H */
