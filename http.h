/* SPDX-License-Identifier: MIT */
/* http.h -- an incremental, zero-copy HTTP/1.1 request parser (RFC 9112), and the small helpers
 * a server needs around it: header lookup, token lists, Content-Length, query strings.
 *
 * Copy http.c and http.h into a project and they compile on their own.
 *
 * The parser never allocates and never copies: every output is a slice into the caller's
 * buffer, valid as long as that buffer is. It is picohttpparser-shaped:
 *
 *   struct sio_http_header hdrs[SIO_HTTP_MAX_HEADERS];
 *   struct sio_http_req req;
 *   req.headers = hdrs; req.num_headers = SIO_HTTP_MAX_HEADERS;   (in: capacity, out: count;
 *                                                                  set it before every call)
 *   long n = sio_http_parse(buf, len, &req, last_len);
 *   n > 0  : the request head is complete and is n bytes long (the body, if any, follows)
 *   n == -2: incomplete: read more and call again with the whole buffer (last_len = the old len)
 *   n == -1: malformed: answer req.status (400, 414 or 431) and close the connection
 */
#ifndef SIO_HTTP_H
#define SIO_HTTP_H

#include <stddef.h>
#include <stdint.h>

/* ====== Limits (override with -D) ====== */
#ifndef SIO_HTTP_MAX_HEAD
#define SIO_HTTP_MAX_HEAD 16384 /* request line + headers, bytes (Node's maxHeaderSize); over -> 431 */
#endif
#ifndef SIO_HTTP_MAX_TARGET
#define SIO_HTTP_MAX_TARGET 8192 /* request-target length, bytes; over -> 414 */
#endif
#ifndef SIO_HTTP_MAX_HEADERS
#define SIO_HTTP_MAX_HEADERS 64 /* header lines kept; more -> 431 */
#endif

#ifndef SIO_STR_DEFINED
#define SIO_STR_DEFINED
/* A borrowed slice of bytes: not NUL-terminated, owned by whoever owns the buffer it points into. */
typedef struct sio_str {
    const char *p; /* first byte, or NULL for "absent" */
    size_t len;    /* number of bytes */
} sio_str;
#endif

/* One header line: name and value, value without surrounding spaces/tabs. */
struct sio_http_header {
    sio_str name;  /* as sent (compare case-insensitively) */
    sio_str value; /* optional whitespace trimmed on both sides */
};

/* A parsed request head. Every slice points into the buffer given to sio_http_parse(). */
struct sio_http_req {
    sio_str method;                   /* "GET", "POST", ... (any token) */
    sio_str target;                   /* request-target as sent: path plus "?query" */
    sio_str path;                     /* target up to '?' (not percent-decoded) */
    sio_str query;                    /* after '?' (without it); {end of target, 0} if none */
    int minor_version;                /* 1 for HTTP/1.1, 0 for HTTP/1.0 */
    struct sio_http_header *headers;  /* caller's array */
    size_t num_headers;               /* in: capacity of headers[]; out: headers found */
    int status;                       /* on -1: the status to answer (400, 414, 431); else 0 */
};

/* Parses the request head in buf[0..len). Strict: CRLF line endings only (bare LF -> 400),
 * method and header names must be RFC 9110 tokens, no whitespace before ':', no obs-fold
 * continuation lines, no control bytes (other than HTAB in values) in the target or values,
 * version must be "HTTP/1.0" or "HTTP/1.1".
 * `last_len` is the len of the previous call on the same buffer (0 on the first): the parser
 * only needs to rescan from there to find the end of the head, which keeps a trickling client
 * from costing quadratic time.
 * Returns: head length (> 0), -2 incomplete, -1 malformed with req->status set. A head longer
 * than SIO_HTTP_MAX_HEAD gives -1/431 as soon as that many bytes are seen without its end (so the
 * caller never buffers more than that); a target over SIO_HTTP_MAX_TARGET gives -1/414; more
 * header lines than req->num_headers gives -1/431. While the head is incomplete only cheap checks
 * run (control bytes, bare LF, the method, 414, 431); everything else is judged once its end is
 * there, so a bad head may get -2 until then. Outputs are cleared first, so nothing stale remains
 * after -1 or -2 (num_headers is then 0: set it to the capacity again before the next call). */
long sio_http_parse(const char *buf, size_t len, struct sio_http_req *req, size_t last_len);

/* The value of the first header named `name` (case-insensitive), or {NULL,0} if absent. */
sio_str sio_http_header(const struct sio_http_req *req, const char *name);

/* 1 if the comma-separated header value `list` contains `token` (case-insensitive, optional
 * whitespace around items ignored), else 0. Linear time, as in "Connection: keep-alive, Upgrade". */
int sio_http_has_token(sio_str list, const char *token);

/* The request's body framing.
 * Returns 0 and *len = body length (0 when there is no Content-Length),
 * 1 when the body is chunked (Transfer-Encoding: chunked, without Content-Length),
 * -1 when the framing is invalid: several Content-Length headers that differ, a value that is
 * not 1*DIGIT, more than 15 digits, or Content-Length together with Transfer-Encoding, or a
 * Transfer-Encoding other than exactly "chunked" (any case, in a single header line).
 * Duplicate Content-Length headers with the same number are accepted. *len is 0 unless 0 is
 * returned with a Content-Length. */
int sio_http_body_length(const struct sio_http_req *req, uint64_t *len);

/* 1 if the connection should stay open after this request: HTTP/1.1 without "Connection: close",
 * or HTTP/1.0 with "Connection: keep-alive" (and without "close"). Every Connection header counts. */
int sio_http_keep_alive(const struct sio_http_req *req);

/* Looks up `key` in a query string (the part after '?', WHATWG rules: '&'-separated pairs,
 * '+' means space, %XX decoded; when a key repeats the LAST value wins).
 * The decoded value is written to dst with a terminating NUL.
 * Returns its length (>= 0), -1 if the key is absent, -2 if the decoded value does not fit in
 * cap - 1 bytes (dst then holds nothing useful). A bad %-escape is kept literally, as WHATWG does. */
long sio_http_query(sio_str query, const char *key, char *dst, size_t cap);

/* The reason phrase for a status code ("OK", "Bad Request", ...); "Unknown" if not known. */
const char *sio_http_reason(int status);

#endif /* SIO_HTTP_H */
