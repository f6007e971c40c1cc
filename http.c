/* SPDX-License-Identifier: MIT */
/* http.c -- a strict, incremental, zero-copy parser for HTTP/1.1 request heads, and the helpers
 * a server needs around it (header lookup, token lists, body framing, keep-alive, query strings,
 * reason phrases). The contract of every public function is in http.h.
 *
 * What it does:
 *   - Finds the end of the request head (the first CRLF CRLF) while rescanning only the bytes that
 *     arrived since the previous call, then validates the whole head in one pass. A trickling
 *     client therefore costs linear time in total.
 *   - Rejects early, while the head is still incomplete, what can be decided cheaply: control
 *     bytes, bare LF, CR not followed by LF, a bad or overlong method, an overlong target (414)
 *     and an overlong head (431). Memory a caller spends on one head is bounded by
 *     SIO_HTTP_MAX_HEAD.
 *   - Hands out slices into the caller's buffer; nothing is copied and nothing is allocated.
 *
 * What it deliberately does not do:
 *   - Bodies: sio_http_body_length() says how the body is framed; reading it (and decoding
 *     chunked encoding) is the caller's job.
 *   - Leniency: no bare-LF line endings, no obs-fold, no empty lines before the request line,
 *     no HTTP/0.9 and no versions other than 1.0 and 1.1 (all answered with 400).
 *   - Semantics: it does not check that Host is present, that the method is one the server
 *     knows, or what the target means; the server decides those.
 *   - Percent-decoding of the path; query values are decoded on request by sio_http_query().
 *
 * Specifications:
 *   RFC 9112 §2.1-2.2 (message format, CRLF), §3 (request line), §3.2 (request target),
 *   §5 (field lines, §5.1 no whitespace before the colon, §5.2 obs-fold rejected),
 *   §6.1-6.3 (Transfer-Encoding, Content-Length, body length), §9.3 (persistence);
 *   RFC 9110 §5.5 (field values), §5.6.2 (tokens), §5.6.1 (lists), §15 (reason phrases);
 *   WHATWG URL, "application/x-www-form-urlencoded parsing" (query strings).
 */
#include "http.h"

#include <string.h>

/* ====== Internal limits ====== */

/* Longest method accepted (bytes). The longest registered method, UPDATEREDIRECTREF, has 17.
 * The cap keeps the early checks on an incomplete head constant-time per call. */
#define METHOD_MAX 32

/* Content-Length digits accepted (http.h: more than 15 digits is invalid). 15 digits stay far
 * below 2^53 and 2^64, so the value never overflows. */
#define CONTENT_LENGTH_DIGITS 15

/* ====== Character classes (RFC 9110 §5.6.2, §5.5) ====== */

/* 1 if c may appear in a token (method, header name): ALPHA / DIGIT / "!#$%&'*+-.^_`|~". */
static int is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return 1;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* 1 for a control byte that may never appear anywhere in a request head. HTAB is allowed in
 * field values; CR and LF are line endings, checked separately. */
static int is_bad_ctl(unsigned char c)
{
    return (c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7f;
}

/* 1 if c may appear in a request-target: any visible byte (obs-text 0x80-0xFF is tolerated, as
 * nginx and picohttpparser do); no SP, no control bytes. */
static int is_target_char(unsigned char c)
{
    return c > 0x20 && c != 0x7f;
}

/* 1 if c may appear in a field value: HTAB, SP, VCHAR, obs-text. */
static int is_value_char(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* ASCII-only lower case, independent of the locale. */
static unsigned char to_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + ('a' - 'A')) : c;
}

/* 1 if s[0..len) equals the NUL-terminated `lit` ignoring ASCII case. */
static int equals_nocase(const char *s, size_t len, const char *lit)
{
    size_t i;
    for (i = 0; i < len; i++) {
        if (lit[i] == '\0' || to_lower((unsigned char)s[i]) != to_lower((unsigned char)lit[i]))
            return 0;
    }
    return lit[len] == '\0';
}

/* ====== Request head parsing ====== */

/* Clears every output of sio_http_parse() except the caller's headers[] pointer. */
static void clear_req(struct sio_http_req *req)
{
    sio_str none = {NULL, 0};
    req->method = req->target = req->path = req->query = none;
    req->minor_version = 0;
    req->num_headers = 0;
    req->status = 0;
}

/* Sets req->status and returns -1: the single exit for "malformed". */
static long fail(struct sio_http_req *req, int status)
{
    req->status = status;
    return -1;
}

/* Scans buf[start..len) for the end of the head, rejecting bytes that are wrong in any context.
 * Returns the head length (just past the first CRLF CRLF) if found, 0 if not found yet,
 * -1 on a control byte, a bare LF, or a CR followed by something other than LF.
 * `start` must be such that no CRLF CRLF ends before start + 4 (the caller uses last_len - 3). */
static long find_end(const char *buf, size_t len, size_t start)
{
    size_t i;
    for (i = start; i < len; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (c == '\n') {
            if (i == 0 || buf[i - 1] != '\r') return -1; /* bare LF */
            if (i >= 3 && buf[i - 2] == '\n' && buf[i - 3] == '\r') return (long)(i + 1);
        } else if (c == '\r') {
            if (i + 1 < len && buf[i + 1] != '\n') return -1; /* CR not followed by LF */
        } else if (is_bad_ctl(c)) {
            return -1;
        }
    }
    return 0;
}

/* The cheap checks on a head whose end has not arrived yet. Each call costs O(METHOD_MAX), plus
 * one O(SIO_HTTP_MAX_TARGET) scan on the single call (given a correct last_len) in which the
 * target becomes long enough to be judged. Also used on the first SIO_HTTP_MAX_HEAD bytes of a
 * complete head that is too long, so a whole buffer gets the verdict a trickled one would.
 * Returns -2 (wait for more) or -1 with req->status (400 bad method, 414, 431). */
static long check_incomplete(const char *buf, size_t len, size_t last_len, struct sio_http_req *req)
{
    size_t n = len < METHOD_MAX + 1 ? len : METHOD_MAX + 1;
    size_t i = 0;

    /* The method: a token of at most METHOD_MAX bytes, then SP. */
    while (i < n && is_tchar((unsigned char)buf[i])) i++;
    if (i == n) {
        if (n == METHOD_MAX + 1) return fail(req, 400); /* method too long */
    } else if (i == 0 || buf[i] != ' ') {
        return fail(req, 400); /* not a method (TLS, an empty line, garbage) */
    } else {
        /* The target starts at ts. It is too long if its first SIO_HTTP_MAX_TARGET + 1 bytes
         * are all here and none of them ends it. A previous call with last_len past that point
         * has already looked, so only the call that crosses it scans. */
        size_t ts = i + 1;
        size_t limit = ts + SIO_HTTP_MAX_TARGET; /* index of the first byte over the limit */
        if (len > limit && !(last_len > limit && last_len <= len)) {
            size_t k = ts;
            while (k <= limit && buf[k] != ' ' && buf[k] != '\r') k++;
            if (k > limit) return fail(req, 414);
        }
    }
    if (len >= SIO_HTTP_MAX_HEAD) return fail(req, 431); /* the end can only come later */
    return -2;
}

/* Validates a complete head buf[0..end) (end is just past its CRLF CRLF) and fills req.
 * `cap` is the capacity of req->headers. Returns end, or -1 with req->status set. */
static long parse_head(const char *buf, size_t end, struct sio_http_req *req, size_t cap)
{
    size_t p = 0, start, n = 0;
    const char *q;

    /* request-line = method SP request-target SP HTTP-version CRLF (RFC 9112 §3) */
    while (p < end && is_tchar((unsigned char)buf[p])) p++;
    if (p == 0 || p > METHOD_MAX || buf[p] != ' ') return fail(req, 400);
    req->method.p = buf;
    req->method.len = p;
    start = ++p;
    while (p < end && is_target_char((unsigned char)buf[p])) p++;
    if (p - start > SIO_HTTP_MAX_TARGET) return fail(req, 414);
    if (p == start || buf[p] != ' ') return fail(req, 400); /* empty, CTL inside, no version */
    req->target.p = buf + start;
    req->target.len = p - start;
    p++;
    if (end - p < 10 || memcmp(buf + p, "HTTP/1.", 7) != 0 || (buf[p + 7] != '0' && buf[p + 7] != '1') ||
        buf[p + 8] != '\r' || buf[p + 9] != '\n')
        return fail(req, 400);
    req->minor_version = buf[p + 7] - '0';
    p += 10;

    /* field-line = field-name ":" OWS field-value OWS CRLF (RFC 9112 §5), until an empty line.
     * The head ends with CRLF CRLF, so every loop below stops at a CR before `end`. */
    for (;;) {
        size_t name_end, value_start, value_end;
        if (buf[p] == '\r') {
            if (buf[p + 1] != '\n') return fail(req, 400);
            p += 2;
            break;
        }
        if (buf[p] == ' ' || buf[p] == '\t') return fail(req, 400); /* obs-fold (§5.2) */
        start = p;
        while (p < end && is_tchar((unsigned char)buf[p])) p++;
        if (p == start || buf[p] != ':') return fail(req, 400); /* bad name, or SP before ':' */
        name_end = p++;
        while (buf[p] == ' ' || buf[p] == '\t') p++;
        value_start = p;
        while (p < end && is_value_char((unsigned char)buf[p])) p++;
        if (buf[p] != '\r' || buf[p + 1] != '\n') return fail(req, 400); /* CTL in the value */
        value_end = p;
        while (value_end > value_start && (buf[value_end - 1] == ' ' || buf[value_end - 1] == '\t'))
            value_end--;
        if (n == cap) return fail(req, 431);
        req->headers[n].name.p = buf + start;
        req->headers[n].name.len = name_end - start;
        req->headers[n].value.p = buf + value_start;
        req->headers[n].value.len = value_end - value_start;
        n++;
        p += 2;
    }
    if (p != end) return fail(req, 400); /* cannot happen: end is the first CRLF CRLF */

    q = memchr(req->target.p, '?', req->target.len);
    req->path.p = req->target.p;
    req->path.len = q ? (size_t)(q - req->target.p) : req->target.len;
    req->query.p = q ? q + 1 : req->target.p + req->target.len;
    req->query.len = q ? req->target.len - req->path.len - 1 : 0;
    req->num_headers = n;
    return (long)end;
}

/* See http.h. Outputs are cleared before anything else, so -1 and -2 leave no stale slices;
 * req->num_headers is 0 after -1 or -2 and must be set to the capacity again before the next
 * call (as with picohttpparser). */
long sio_http_parse(const char *buf, size_t len, struct sio_http_req *req, size_t last_len)
{
    size_t cap = req->num_headers;
    size_t start = (last_len >= 3 && last_len <= len) ? last_len - 3 : 0;
    long end;

    clear_req(req);
    end = find_end(buf, len, start);
    if (end < 0) return fail(req, 400);
    if (end == 0) return check_incomplete(buf, len, last_len, req);
    if ((size_t)end > SIO_HTTP_MAX_HEAD) /* too long: answer as a trickled copy would have */
        return check_incomplete(buf, SIO_HTTP_MAX_HEAD, 0, req);
    end = parse_head(buf, (size_t)end, req, cap);
    if (end < 0) { /* parse_head may have filled some fields before it failed */
        int status = req->status;
        clear_req(req);
        req->status = status;
    }
    return end;
}

/* ====== Header helpers ====== */

/* See http.h. Linear in the number of headers. */
sio_str sio_http_header(const struct sio_http_req *req, const char *name)
{
    sio_str none = {NULL, 0};
    size_t i;
    for (i = 0; i < req->num_headers; i++) {
        if (equals_nocase(req->headers[i].name.p, req->headers[i].name.len, name))
            return req->headers[i].value;
    }
    return none;
}

/* See http.h. One forward pass over the list; trimming an item looks at each of its bytes at most
 * once more, so whitespace-heavy values stay linear. An empty token never matches. */
int sio_http_has_token(sio_str list, const char *token)
{
    size_t i = 0;
    if (list.p == NULL || token[0] == '\0') return 0;
    while (i <= list.len) {
        size_t a = i, b;
        while (i < list.len && list.p[i] != ',') i++;
        b = i;
        while (a < b && (list.p[a] == ' ' || list.p[a] == '\t')) a++;
        while (b > a && (list.p[b - 1] == ' ' || list.p[b - 1] == '\t')) b--;
        if (b > a && equals_nocase(list.p + a, b - a, token)) return 1;
        i++; /* past the ',' (or past the end, which stops the loop) */
    }
    return 0;
}

/* Parses a Content-Length value: 1 to CONTENT_LENGTH_DIGITS digits, nothing else.
 * Returns 0 and *out, or -1. */
static int parse_content_length(sio_str v, uint64_t *out)
{
    uint64_t n = 0;
    size_t i;
    if (v.len == 0 || v.len > CONTENT_LENGTH_DIGITS) return -1;
    for (i = 0; i < v.len; i++) {
        if (v.p[i] < '0' || v.p[i] > '9') return -1;
        n = n * 10 + (uint64_t)(v.p[i] - '0');
    }
    *out = n;
    return 0;
}

/* See http.h. Looks at every header, not just the first of each name, because request smuggling
 * hides in the second one (RFC 9112 §6.3 items 3-5). *len is 0 unless the result is 0 with a
 * Content-Length. */
int sio_http_body_length(const struct sio_http_req *req, uint64_t *len)
{
    int have_cl = 0, have_te = 0, te_ok = 0;
    uint64_t cl = 0;
    size_t i;

    *len = 0;
    for (i = 0; i < req->num_headers; i++) {
        const struct sio_http_header *h = &req->headers[i];
        if (equals_nocase(h->name.p, h->name.len, "content-length")) {
            uint64_t v;
            if (parse_content_length(h->value, &v) != 0) return -1;
            if (have_cl && v != cl) return -1;
            cl = v;
            have_cl = 1;
        } else if (equals_nocase(h->name.p, h->name.len, "transfer-encoding")) {
            /* Exactly one Transfer-Encoding header whose whole value is "chunked". */
            te_ok = !have_te && equals_nocase(h->value.p, h->value.len, "chunked");
            have_te = 1;
        }
    }
    if (have_te) return (have_cl || !te_ok) ? -1 : 1;
    *len = cl;
    return 0;
}

/* See http.h. Every Connection header counts (a list may be split over several lines). */
int sio_http_keep_alive(const struct sio_http_req *req)
{
    int close = 0, keep = 0;
    size_t i;
    for (i = 0; i < req->num_headers; i++) {
        const struct sio_http_header *h = &req->headers[i];
        if (equals_nocase(h->name.p, h->name.len, "connection")) {
            close |= sio_http_has_token(h->value, "close");
            keep |= sio_http_has_token(h->value, "keep-alive");
        }
    }
    if (req->minor_version >= 1) return !close;
    return keep && !close;
}

/* ====== Query strings (WHATWG application/x-www-form-urlencoded) ====== */

/* Value of a hex digit, or -1. */
static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decodes one byte of s[*i..len) ('+' is a space, "%XX" a byte, a bad '%' itself) and advances
 * *i past what it consumed. The caller guarantees *i < len. */
static unsigned char decode_byte(const char *s, size_t len, size_t *i)
{
    unsigned char c = (unsigned char)s[*i];
    if (c == '%' && len - *i >= 3) {
        int hi = hex_value((unsigned char)s[*i + 1]);
        int lo = hex_value((unsigned char)s[*i + 2]);
        if (hi >= 0 && lo >= 0) {
            *i += 3;
            return (unsigned char)(hi * 16 + lo);
        }
    }
    *i += 1;
    return c == '+' ? ' ' : c;
}

/* 1 if the encoded name s[0..len) decodes to exactly the NUL-terminated key. */
static int name_matches(const char *s, size_t len, const char *key)
{
    size_t i = 0, k = 0;
    while (i < len) {
        unsigned char c = decode_byte(s, len, &i);
        if (key[k] == '\0' || (unsigned char)key[k] != c) return 0;
        k++;
    }
    return key[k] == '\0';
}

/* See http.h. Scans every pair (so the last match wins), then decodes only the winner. Empty
 * pieces between '&'s are skipped; a pair without '=' has an empty value. Bytes are returned as
 * decoded: they are not checked to be UTF-8. */
long sio_http_query(sio_str query, const char *key, char *dst, size_t cap)
{
    const char *val = NULL;
    size_t val_len = 0, i = 0, n = 0;

    if (query.p == NULL) return -1;
    while (i < query.len) {
        size_t a = i, eq;
        while (i < query.len && query.p[i] != '&') i++;
        eq = a;
        while (eq < i && query.p[eq] != '=') eq++;
        if (i > a && name_matches(query.p + a, eq - a, key)) {
            val = eq < i ? query.p + eq + 1 : query.p + i;
            val_len = eq < i ? i - eq - 1 : 0;
        }
        i++; /* past the '&' */
    }
    if (val == NULL) return -1;

    i = 0;
    while (i < val_len) {
        unsigned char c = decode_byte(val, val_len, &i);
        if (n + 1 >= cap) return -2; /* no room for c and the NUL */
        dst[n++] = (char)c;
    }
    if (cap == 0) return -2;
    dst[n] = '\0';
    return (long)n;
}

/* ====== Reason phrases (RFC 9110 §15) ====== */

/* See http.h. The phrases are Node's (http.STATUS_CODES), so raw responses read the same. */
const char *sio_http_reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 421: return "Misdirected Request";
    case 422: return "Unprocessable Entity";
    case 426: return "Upgrade Required";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}
