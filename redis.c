/* SPDX-License-Identifier: MIT */
/* redis.c -- a non-blocking RESP2 client on sio's event loop (see redis.h for the API and the
 * life of a connection).
 *
 * What it does: one TCP connection per sio_redis, driven by loop.h callbacks and timers -- a
 * connect with a timeout, the AUTH/SELECT/PING handshake, pipelined commands whose callbacks wait
 * in a FIFO ring, Pub/Sub messages for subscriber connections, and reconnection with exponential,
 * jittered backoff that re-sends every subscription. Replies are parsed in place by resp.c.
 *
 * What it deliberately does not do:
 *   - No offline queue: while the client is down, commands are refused, not stored.
 *   - No RESP3, TLS, Sentinel, Cluster redirections (MOVED/ASK), or blocking commands across
 *     reconnects; no MONITOR.
 *   - No asynchronous DNS: a host name is resolved once with getaddrinfo() (it blocks).
 *
 * Safety rules, as in the rest of sio (docs/style.md §7): callbacks are only ever called from loop
 * context (an fd event or a timer), never from inside a function the owner called, so a
 * command's failure can't re-enter the code that issued it; the client is never freed in the
 * middle of its own callback (`busy` defers sio__redis_free); every accepted command's callback
 * runs exactly once.
 *
 * Protocol: RESP2 (resp.h); Pub/Sub replies "subscribe", "psubscribe", "message" and "pmessage"
 * as in https://redis.io/docs/latest/develop/interact/pubsub/ ("Format of pushed messages",
 * "Pattern-matching subscriptions").
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* SOCK_NONBLOCK, SOCK_CLOEXEC, MSG_NOSIGNAL */
#endif
#include "redis.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

/* ====== Types ====== */

#define INBUF_START 16384       /* first input buffer */
#define READ_MIN 4096           /* grow the input buffer when less room than this is left */
#define KEEP_BUF 65536          /* a buffer bigger than this is freed when it empties */
#define READ_GROW_MAX (256 * 1024) /* a read that fills the buffer doubles it, up to this, so a
                                      busy subscription is taken in big gulps */
#define INLINE_TOKS 64          /* tokens kept inside the struct; bigger replies use the heap */
#define MAX_CMD_ARGS 64         /* arguments of sio__redis_cmd() */
#define LOG_LINE 512            /* longest log line */

/* Connection states. */
enum state {
    ST_DOWN = 0,       /* no socket; the retry timer is armed (unless freeing) */
    ST_CONNECTING = 1, /* connect() in progress: waiting for writability */
    ST_HANDSHAKE = 2,  /* connected; handshake replies or subscription confirmations pending */
    ST_UP = 3          /* ready */
};

/* A command waiting for its reply. */
struct pending {
    sio_redis_reply_cb cb; /* called once with the reply or NULL; may be NULL */
    void *ud;              /* its data */
};

/* A channel or pattern the subscriber keeps subscribed. */
struct sub {
    char *name;  /* heap copy, not NUL-terminated */
    size_t len;  /* bytes in name */
    int pattern; /* 1 for PSUBSCRIBE, 0 for SUBSCRIBE */
};

struct sio_redis {
    sio_loop *loop;              /* the loop everything runs on */
    struct sio_redis_url url;    /* where to connect */
    int flags;                   /* SIO_REDIS_SUBSCRIBER or 0 */
    const char *role;            /* "sub" or "cmd", for log lines */
    struct sockaddr_storage addr; /* resolved address */
    socklen_t addrlen;           /* its length; 0 until resolved */
    int fd;                      /* the socket, -1 when down */
    enum state state;            /* see enum state */

    char *in;                    /* input buffer (heap) */
    size_t in_len;               /* bytes in it */
    size_t in_cap;               /* its size */
    char *out;                   /* output buffer (heap) */
    size_t out_len;              /* bytes in it */
    size_t out_off;              /* bytes of it already written */
    size_t out_cap;              /* its size */

    struct pending *pend;        /* FIFO ring of callbacks awaiting replies */
    size_t pend_head;            /* index of the oldest */
    size_t pend_count;           /* how many */
    size_t pend_cap;             /* ring size (a power of two, or 0) */

    struct sio_resp_tok tok_inline[INLINE_TOKS]; /* tokens for ordinary replies */
    struct sio_resp_tok *toks;   /* tok_inline, or a heap array for big replies */
    unsigned ntoks;              /* capacity of toks */

    struct sub *subs;            /* subscriber mode: the subscription set */
    size_t nsubs;                /* entries in subs */
    size_t cap_subs;             /* capacity of subs */
    size_t unconfirmed;          /* subscription confirmations expected before going up */
    int handshake_left;          /* handshake replies still expected */
    unsigned long fails;         /* failed attempts since the client was last up (log throttle) */

    uint64_t backoff_ms;         /* next reconnect delay, before jitter */
    uint64_t up_since;           /* when the client last became up (monotonic ms) */
    uint64_t rng;                /* xorshift64 state for the jitter */
    sio_timer t_retry;           /* next connection attempt */
    sio_timer t_connect;         /* connect + handshake deadline */
    sio_timer t_close;           /* deferred close (a problem found inside an owner's call) */
    char close_why[128];         /* why t_close or close_asap will close */

    int busy;                    /* >0 while callbacks of ours are running */
    int is_free_asap;            /* sio__redis_free() was called while busy */
    int is_freeing;              /* the free is in progress: refuse everything */
    int is_close_asap;           /* close once the current reply's callback returns */

    sio_redis_log_cb log_cb;     /* log sink, or NULL for stderr */
    void *log_ud;                /* its data */
    sio_redis_state_cb state_cb; /* up/down notifications, or NULL */
    void *state_ud;              /* its data */
    sio_redis_message_cb msg_cb; /* Pub/Sub messages, or NULL */
    void *msg_ud;                /* its data */
    struct sio_redis_stats stats; /* counters */
};

/* The client that embeds timer t as its member `field`. */
#define OWNER(t, field) ((sio_redis *)(void *)((char *)(t) - offsetof(sio_redis, field)))

static void drop(sio_redis *r, const char *why);
static void really_free(sio_redis *r);
static void on_handshake_reply(sio_redis *r, const struct sio_resp_tok *reply, int ntok, void *ud);

/* ====== Logging ====== */

static void log_line(sio_redis *r, const char *fmt, ...)
#if defined(__GNUC__) /* printf-style format checking */
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Formats one line, prefixed with the role and the server address, and hands it to the sink. */
static void log_line(sio_redis *r, const char *fmt, ...)
{
    char line[LOG_LINE];
    int n = snprintf(line, sizeof line, "%s %s:%d: ", r->role, r->url.host, r->url.port);
    if (n < 0 || (size_t)n >= sizeof line) n = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    if (r->log_cb) r->log_cb(r->log_ud, line);
    else fprintf(stderr, "redis: %s\n", line);
}

/* ====== URL ====== */

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Copies s[0..n) into dst (cap bytes, NUL-terminated), decoding %XX if `decode`. Returns 0, or -1
 * if it does not fit or an escape is bad. */
static int copy_part(char *dst, size_t cap, const char *s, size_t n, int decode)
{
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (decode && c == '%') {
            if (n - i < 3) return -1;
            int hi = hexval((unsigned char)s[i + 1]), lo = hexval((unsigned char)s[i + 2]);
            if (hi < 0 || lo < 0) return -1;
            c = hi << 4 | lo;
            i += 2;
        }
        if (j + 1 >= cap) return -1;
        dst[j++] = (char)c;
    }
    dst[j] = '\0';
    return 0;
}

/* Parses a decimal number s[0..n) in [lo, hi]. Returns it, or -1. */
static long parse_num(const char *s, size_t n, long lo, long hi)
{
    long v = 0;
    if (n == 0 || n > 9) return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v < lo || v > hi ? -1 : v;
}

static int parse_url(const char *url, struct sio_redis_url *u)
{
    if (!url || strncasecmp(url, "redis://", 8) != 0) return SIO_REDIS_ERR_ARG;
    const char *s = url + 8;
    if (strpbrk(s, "?#")) return SIO_REDIS_ERR_ARG;
    const char *slash = strchr(s, '/');
    size_t alen = slash ? (size_t)(slash - s) : strlen(s);
    /* userinfo: everything before the last '@' of the authority */
    const char *at = NULL;
    for (size_t i = 0; i < alen; i++)
        if (s[i] == '@') at = s + i;
    if (at) {
        const char *colon = memchr(s, ':', (size_t)(at - s));
        if (!colon) return SIO_REDIS_ERR_ARG; /* a user name alone cannot AUTH */
        if (copy_part(u->user, sizeof u->user, s, (size_t)(colon - s), 1) < 0 ||
            copy_part(u->pass, sizeof u->pass, colon + 1, (size_t)(at - colon - 1), 1) < 0)
            return SIO_REDIS_ERR_ARG;
        alen -= (size_t)(at + 1 - s);
        s = at + 1;
    }
    /* host[:port], with IPv6 literals in brackets */
    const char *host = s, *port = NULL;
    size_t hlen;
    if (alen > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', alen);
        if (!close) return SIO_REDIS_ERR_ARG;
        host = s + 1;
        hlen = (size_t)(close - host);
        size_t rest = alen - (size_t)(close + 1 - s);
        if (rest > 0) {
            if (close[1] != ':') return SIO_REDIS_ERR_ARG;
            port = close + 2;
        }
    } else {
        const char *colon = memchr(s, ':', alen);
        hlen = colon ? (size_t)(colon - s) : alen;
        if (colon) port = colon + 1;
    }
    if (hlen == 0 || copy_part(u->host, sizeof u->host, host, hlen, 0) < 0) return SIO_REDIS_ERR_ARG;
    if (port) {
        long p = parse_num(port, (size_t)(s + alen - port), 1, 65535);
        if (p < 0) return SIO_REDIS_ERR_ARG;
        u->port = (int)p;
    }
    if (slash && slash[1]) {
        long db = parse_num(slash + 1, strlen(slash + 1), 0, 1000000);
        if (db < 0) return SIO_REDIS_ERR_ARG;
        u->db = (int)db;
    }
    return 0;
}

/* A failed parse leaves *u cleared, not half filled. */
int sio__redis_parse_url(const char *url, struct sio_redis_url *u)
{
    memset(u, 0, sizeof *u);
    u->port = 6379;
    int r = parse_url(url, u);
    if (r < 0) memset(u, 0, sizeof *u);
    return r;
}

/* ====== Buffers and the pending ring ====== */

/* Makes room for n more output bytes, first sliding written bytes out. Returns 0 or -1. */
static int out_reserve(sio_redis *r, size_t n)
{
    if (r->out_off > 0 && r->out_off == r->out_len) r->out_off = r->out_len = 0;
    if (n <= r->out_cap - r->out_len) return 0;
    if (r->out_off > 0) {
        memmove(r->out, r->out + r->out_off, r->out_len - r->out_off);
        r->out_len -= r->out_off;
        r->out_off = 0;
        if (n <= r->out_cap - r->out_len) return 0;
    }
    size_t cap = r->out_cap ? r->out_cap : 4096;
    while (cap - r->out_len < n) cap *= 2;
    char *p = realloc(r->out, cap);
    if (!p) return -1;
    r->out = p;
    r->out_cap = cap;
    return 0;
}

/* Appends an encoded command to the output buffer (no pending entry). Returns 0 or -1 (NOMEM). */
static int out_command(sio_redis *r, int argc, const char *const *argv, const size_t *lens)
{
    size_t need = sio_resp_command(NULL, 0, argc, argv, lens);
    if (out_reserve(r, need) < 0) return -1;
    r->out_len += sio_resp_command(r->out + r->out_len, need, argc, argv, lens);
    return 0;
}

/* Appends a callback to the ring. Returns 0 or -1. */
static int pend_push(sio_redis *r, sio_redis_reply_cb cb, void *ud)
{
    if (r->pend_count == r->pend_cap) {
        size_t cap = r->pend_cap ? r->pend_cap * 2 : 16;
        struct pending *p = malloc(cap * sizeof *p);
        if (!p) return -1;
        for (size_t i = 0; i < r->pend_count; i++) p[i] = r->pend[(r->pend_head + i) & (r->pend_cap - 1)];
        free(r->pend);
        r->pend = p;
        r->pend_cap = cap;
        r->pend_head = 0;
    }
    r->pend[(r->pend_head + r->pend_count) & (r->pend_cap - 1)] = (struct pending){cb, ud};
    r->pend_count++;
    return 0;
}

/* Removes the oldest callback into *p. Returns 0, or -1 if there is none. */
static int pend_pop(sio_redis *r, struct pending *p)
{
    if (r->pend_count == 0) return -1;
    *p = r->pend[r->pend_head];
    r->pend_head = (r->pend_head + 1) & (r->pend_cap - 1);
    r->pend_count--;
    return 0;
}

/* Calls every pending callback with no reply (the connection is gone or the client is freed). */
static void fail_pending(sio_redis *r)
{
    struct pending p;
    while (pend_pop(r, &p) == 0) {
        if (p.cb != on_handshake_reply) r->stats.failed++;
        if (p.cb) p.cb(r, NULL, 0, p.ud);
    }
}

/* ====== Writing ====== */

/* Writes pending output until it is all gone or the socket is full. Returns 0, or -1 with errno
 * set by a failed send. Keeps writable interest exactly while bytes remain. */
static int flush(sio_redis *r)
{
    while (r->out_off < r->out_len) {
        ssize_t n = send(r->fd, r->out + r->out_off, r->out_len - r->out_off, MSG_NOSIGNAL);
        if (n > 0) {
            r->out_off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        return -1;
    }
    if (r->out_off == r->out_len) {
        r->out_off = r->out_len = 0;
        if (r->out_cap > KEEP_BUF) {
            free(r->out);
            r->out = NULL;
            r->out_cap = 0;
        }
    }
    sio__loop_mask(r->loop, r->fd, SIO_EV_READ | (r->out_len ? SIO_EV_WRITE : 0));
    return 0;
}

/* Closes the connection from loop context on the next turn: for problems found inside a call
 * the owner made (that call must not run callbacks). */
static void on_close_timer(sio_loop *l, sio_timer *t);

static void schedule_close(sio_redis *r, const char *why)
{
    if (r->t_close.idx) return; /* already scheduled */
    snprintf(r->close_why, sizeof r->close_why, "%s", why);
    sio__timer_set(r->loop, &r->t_close, sio__now_ms(), on_close_timer);
}

/* Output is waiting: on a connected socket, write at once if a lot is waiting, else ask for
 * writability (so that everything queued in this loop turn leaves in one write). */
static void want_write(sio_redis *r)
{
    if (r->fd < 0 || r->state == ST_CONNECTING) return; /* connect completion flushes */
    if (r->out_len - r->out_off >= SIO_REDIS_FLUSH_AT) {
        if (flush(r) < 0) {
            char why[96];
            snprintf(why, sizeof why, "write: %s", strerror(errno));
            schedule_close(r, why);
        }
        return;
    }
    sio__loop_mask(r->loop, r->fd, SIO_EV_READ | SIO_EV_WRITE);
}

/* ====== Becoming up ====== */

/* Up once the handshake replies and the subscription confirmations are all in. */
static void maybe_up(sio_redis *r)
{
    if (r->state != ST_HANDSHAKE || r->handshake_left > 0 || r->unconfirmed > 0) return;
    r->state = ST_UP;
    r->up_since = sio__now_ms();
    sio__timer_stop(r->loop, &r->t_connect);
    r->stats.ups++;
    if (r->stats.ups == 1) log_line(r, "connected");
    else log_line(r, "connected again (%lu subscriptions restored)", (unsigned long)r->nsubs);
    if (r->state_cb) r->state_cb(r, 1, r->state_ud);
}

/* The reply to AUTH, SELECT or PING. An error ends the attempt. */
static void on_handshake_reply(sio_redis *r, const struct sio_resp_tok *reply, int ntok, void *ud)
{
    (void)ntok;
    (void)ud;
    if (!reply) return; /* the connection is already going away */
    if (reply[0].type == SIO_RESP_ERROR) {
        snprintf(r->close_why, sizeof r->close_why, "handshake refused: %.*s",
                 (int)(reply[0].str.len > 80 ? 80 : reply[0].str.len), reply[0].str.p);
        r->is_close_asap = 1;
        return;
    }
    r->handshake_left--;
    maybe_up(r);
}

/* Queues one internal handshake command. */
static int handshake_cmd(sio_redis *r, int argc, const char *const *argv)
{
    if (out_command(r, argc, argv, NULL) < 0 || pend_push(r, on_handshake_reply, NULL) < 0) return -1;
    r->handshake_left++;
    return 0;
}

/* Queues SUBSCRIBE (or PSUBSCRIBE) for every saved subscription of that kind, in one command. */
static int resubscribe(sio_redis *r, int pattern)
{
    size_t n = 0;
    for (size_t i = 0; i < r->nsubs; i++) n += r->subs[i].pattern == pattern;
    if (n == 0) return 0;
    const char **argv = malloc((n + 1) * sizeof *argv);
    size_t *lens = malloc((n + 1) * sizeof *lens);
    int rc = -1;
    if (argv && lens) {
        argv[0] = pattern ? "PSUBSCRIBE" : "SUBSCRIBE";
        lens[0] = strlen(argv[0]);
        size_t k = 1;
        for (size_t i = 0; i < r->nsubs; i++) {
            if (r->subs[i].pattern != pattern) continue;
            argv[k] = r->subs[i].name;
            lens[k++] = r->subs[i].len;
        }
        rc = out_command(r, (int)k, argv, lens);
        if (rc == 0) r->unconfirmed += n;
    }
    free(argv);
    free(lens);
    return rc;
}

/* ====== Connecting ====== */

static void on_fd(sio_loop *l, int fd, void *ud, int events);
static void on_retry_timer(sio_loop *l, sio_timer *t);
static void on_connect_timer(sio_loop *l, sio_timer *t);

/* Resolves the host once. Returns 0, or -1 (logged). */
static int resolve(sio_redis *r)
{
    struct addrinfo hints, *res = NULL;
    char port[8];
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    snprintf(port, sizeof port, "%d", r->url.port);
    int e = getaddrinfo(r->url.host, port, &hints, &res);
    if (e != 0 || !res) {
        log_line(r, "cannot resolve host: %s", e ? gai_strerror(e) : "no address");
        return -1;
    }
    memcpy(&r->addr, res->ai_addr, res->ai_addrlen);
    r->addrlen = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

/* Arms the retry timer with the current backoff, jittered into [b/2, b], and doubles it. */
static uint64_t schedule_retry(sio_redis *r)
{
    uint64_t b = r->backoff_ms, d;
    r->rng ^= r->rng << 13;
    r->rng ^= r->rng >> 7;
    r->rng ^= r->rng << 17;
    d = b / 2 + r->rng % (b / 2 + 1);
    r->backoff_ms = b * 2 > SIO_REDIS_BACKOFF_MAX_MS ? SIO_REDIS_BACKOFF_MAX_MS : b * 2;
    sio__timer_set(r->loop, &r->t_retry, sio__now_ms() + d, on_retry_timer);
    return d;
}

/* Logs a failed attempt and schedules the next one. While Redis stays away the lines thin out:
 * the first three failures in a row are logged, then every 20th. */
static void retry_after(sio_redis *r, const char *why)
{
    uint64_t d = schedule_retry(r);
    r->fails++;
    if (r->fails <= 3 || r->fails % 20 == 0)
        log_line(r, "%s; retrying in %llu ms (attempt %lu)", why, (unsigned long long)d, r->fails);
}

/* Starts one connection attempt: socket, non-blocking connect, and the handshake queued behind
 * it. Failures before the socket exists are logged and retried; no callback can be pending. */
static void start_connect(sio_redis *r)
{
    r->stats.attempts++;
    char why[96];
    if (r->addrlen == 0 && resolve(r) < 0) {
        retry_after(r, "no address");
        return;
    }
    int fd = socket(r->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(why, sizeof why, "socket: %s", strerror(errno));
        retry_after(r, why);
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int rc;
    do rc = connect(fd, (struct sockaddr *)&r->addr, r->addrlen);
    while (rc < 0 && errno == EINTR);
    if (rc < 0 && errno != EINPROGRESS) {
        snprintf(why, sizeof why, "connect: %s", strerror(errno));
        close(fd);
        retry_after(r, why);
        return;
    }
    if (sio__loop_watch(r->loop, fd, SIO_EV_WRITE, on_fd, r) < 0) {
        snprintf(why, sizeof why, "cannot watch descriptor %d: %s", fd, strerror(errno));
        close(fd);
        retry_after(r, why);
        return;
    }
    r->fd = fd;
    r->state = ST_CONNECTING;
    r->handshake_left = 0;
    r->unconfirmed = 0;
    sio__timer_set(r->loop, &r->t_connect, sio__now_ms() + SIO_REDIS_CONNECT_TIMEOUT_MS, on_connect_timer);
    /* The handshake goes first in the output; in subscriber mode the subscriptions follow. */
    char db[16];
    snprintf(db, sizeof db, "%d", r->url.db);
    const char *auth2[] = {"AUTH", r->url.pass}, *auth3[] = {"AUTH", r->url.user, r->url.pass};
    const char *sel[] = {"SELECT", db}, *ping[] = {"PING"};
    int bad = 0;
    if (r->url.pass[0])
        bad |= r->url.user[0] ? handshake_cmd(r, 3, auth3) : handshake_cmd(r, 2, auth2);
    if (r->url.db != 0) bad |= handshake_cmd(r, 2, sel);
    bad |= handshake_cmd(r, 1, ping);
    if (r->flags & SIO_REDIS_SUBSCRIBER) bad |= resubscribe(r, 0) | resubscribe(r, 1);
    if (bad) schedule_close(r, "out of memory while queueing the handshake");
}

/* connect() finished (writability): did it succeed? */
static int finish_connect(sio_redis *r)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(r->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
    if (err) {
        char why[96];
        snprintf(why, sizeof why, "connect: %s", strerror(err));
        drop(r, why);
        return -1;
    }
    r->state = ST_HANDSHAKE;
    return 0;
}

/* Closes the connection and everything that depended on it, logs why, schedules the next
 * attempt, fails the pending callbacks and, if the client was up, tells the state callback.
 * Loop context only (callbacks run here). */
static void drop(sio_redis *r, const char *why)
{
    int was_up = r->state == ST_UP;
    if (r->fd >= 0) {
        sio__loop_watch(r->loop, r->fd, 0, NULL, NULL);
        close(r->fd);
        r->fd = -1;
    }
    r->state = ST_DOWN;
    r->is_close_asap = 0;
    sio__timer_stop(r->loop, &r->t_connect);
    sio__timer_stop(r->loop, &r->t_close);
    r->in_len = 0;
    r->out_len = r->out_off = 0;
    if (r->in_cap > KEEP_BUF) {
        free(r->in);
        r->in = NULL;
        r->in_cap = 0;
    }
    if (r->out_cap > KEEP_BUF) {
        free(r->out);
        r->out = NULL;
        r->out_cap = 0;
    }
    r->stats.drops++;
    /* The backoff starts over only after a connection that stayed up for a while: a server that
     * accepts and then misbehaves at once is retried ever more slowly, not ten times a second. */
    if (was_up && sio__now_ms() - r->up_since >= SIO_REDIS_BACKOFF_MAX_MS) {
        r->backoff_ms = SIO_REDIS_BACKOFF_MIN_MS;
        r->fails = 0;
    }
    if (!r->is_freeing) {
        char line[256];
        snprintf(line, sizeof line, "%s%s", was_up ? "connection lost: " : "", why);
        retry_after(r, line);
    }
    fail_pending(r);
    if (was_up && r->state_cb && !r->is_freeing && !r->is_free_asap) r->state_cb(r, 0, r->state_ud);
}

/* ====== Entering and leaving callbacks ====== */

/* Every loop entry point brackets its work with enter()/leave(); leave() performs a free that a
 * callback asked for, and returns 1 if r is gone. */
static void enter(sio_redis *r)
{
    r->busy++;
}

static int leave(sio_redis *r)
{
    if (--r->busy == 0 && r->is_free_asap && !r->is_freeing) {
        really_free(r);
        return 1;
    }
    return 0;
}

static void on_retry_timer(sio_loop *l, sio_timer *t)
{
    (void)l;
    sio_redis *r = OWNER(t, t_retry);
    enter(r);
    start_connect(r);
    leave(r);
}

static void on_connect_timer(sio_loop *l, sio_timer *t)
{
    (void)l;
    sio_redis *r = OWNER(t, t_connect);
    enter(r);
    drop(r, r->state == ST_CONNECTING ? "connect timed out" : "handshake timed out");
    leave(r);
}

static void on_close_timer(sio_loop *l, sio_timer *t)
{
    (void)l;
    sio_redis *r = OWNER(t, t_close);
    char why[sizeof r->close_why];
    memcpy(why, r->close_why, sizeof why);
    enter(r);
    if (r->state != ST_DOWN) drop(r, why);
    leave(r);
}

/* ====== Reading and dispatching replies ====== */

/* One complete reply. Subscriber pushes go to the message callback; everything else to the
 * oldest pending callback. */
static void dispatch(sio_redis *r, const struct sio_resp_tok *t, int nt)
{
    if ((r->flags & SIO_REDIS_SUBSCRIBER) && t[0].type == SIO_RESP_ARRAY && t[0].n >= 3 &&
        nt == 1 + t[0].n && t[1].type == SIO_RESP_BULK) {
        /* Pub/Sub replies are flat arrays: [kind, channel, payload] or [kind, pattern, channel,
         * payload] for messages, [kind, name, count] for (un)subscribe confirmations. */
        if (sio_resp_tok_is(&t[1], "message") && t[0].n == 3 && t[2].type == SIO_RESP_BULK &&
            t[3].type == SIO_RESP_BULK) {
            r->stats.messages++;
            if (r->msg_cb) r->msg_cb(r, t[2].str, (sio_str){NULL, 0}, t[3].str, r->msg_ud);
            return;
        }
        if (sio_resp_tok_is(&t[1], "pmessage") && t[0].n == 4 && t[2].type == SIO_RESP_BULK &&
            t[3].type == SIO_RESP_BULK && t[4].type == SIO_RESP_BULK) {
            r->stats.messages++;
            if (r->msg_cb) r->msg_cb(r, t[3].str, t[2].str, t[4].str, r->msg_ud);
            return;
        }
        if (sio_resp_tok_is(&t[1], "subscribe") || sio_resp_tok_is(&t[1], "psubscribe")) {
            if (r->unconfirmed > 0) {
                r->unconfirmed--;
                maybe_up(r);
            }
            return;
        }
        if (sio_resp_tok_is(&t[1], "unsubscribe") || sio_resp_tok_is(&t[1], "punsubscribe")) return;
    }
    struct pending p;
    if (pend_pop(r, &p) < 0) {
        if (r->flags & SIO_REDIS_SUBSCRIBER) {
            /* An error here is a refused (P)SUBSCRIBE (an ACL, say): nothing to wait for any
             * more. Any other unrequested reply is a push this client does not use. */
            if (t[0].type == SIO_RESP_ERROR) {
                log_line(r, "subscription refused: %.*s", (int)(t[0].str.len > 120 ? 120 : t[0].str.len),
                      t[0].str.p);
                r->unconfirmed = 0;
                maybe_up(r);
            }
            return;
        }
        snprintf(r->close_why, sizeof r->close_why, "protocol error: a reply nobody asked for");
        r->is_close_asap = 1;
        return;
    }
    if (p.cb != on_handshake_reply) r->stats.replies++;
    if (p.cb) p.cb(r, t, nt, p.ud);
}

/* Parses and dispatches every complete reply in the input buffer, then keeps the unparsed tail.
 * Stops early if a callback frees the client or a reply calls for closing. */
static void process_input(sio_redis *r)
{
    size_t off = 0;
    while (!r->is_close_asap && !r->is_free_asap && r->state != ST_DOWN) {
        int nt = 0;
        long n = sio_resp_parse(r->in + off, r->in_len - off, r->toks, r->ntoks, &nt);
        if (n == SIO_RESP_TOOMANY) {
            struct sio_resp_tok *bigger;
            if (nt > SIO_REDIS_MAX_TOKENS || !(bigger = malloc((size_t)nt * sizeof *bigger))) {
                snprintf(r->close_why, sizeof r->close_why, "a reply of %d values is over the limit", nt);
                r->is_close_asap = 1;
                break;
            }
            if (r->toks != r->tok_inline) free(r->toks);
            r->toks = bigger;
            r->ntoks = (unsigned)nt;
            continue;
        }
        if (n == SIO_RESP_INCOMPLETE) break;
        if (n < 0) {
            snprintf(r->close_why, sizeof r->close_why, "protocol error: malformed or oversized reply");
            r->is_close_asap = 1;
            break;
        }
        dispatch(r, r->toks, nt);
        off += (size_t)n;
    }
    /* Keep the tail; give back a big token array. */
    if (off > 0) {
        memmove(r->in, r->in + off, r->in_len - off);
        r->in_len -= off;
    }
    if (r->toks != r->tok_inline && r->ntoks > 4 * INLINE_TOKS) {
        free(r->toks);
        r->toks = r->tok_inline;
        r->ntoks = INLINE_TOKS;
    }
}

/* Reads and dispatches until the socket is drained or SIO_REDIS_READ_BUDGET bytes were taken
 * this turn (level-triggered: the loop calls again while bytes remain). Reading only one
 * buffer's worth per turn would let a busy subscription fall behind its publishers, and Redis
 * then cuts the subscriber off at its client-output-buffer-limit. */
static void do_read(sio_redis *r)
{
    size_t taken = 0;
    int filled = 0; /* the last read filled all the room there was: more is probably waiting */
    do {
        /* process_input() has taken every complete reply out, so a full buffer at the limit
         * holds one reply that does not fit. */
        if (r->in_len == r->in_cap && r->in_cap >= (size_t)SIO_REDIS_MAX_INBUF) {
            drop(r, "a reply is larger than SIO_REDIS_MAX_INBUF");
            return;
        }
        if ((r->in_cap - r->in_len < READ_MIN || (filled && r->in_cap < READ_GROW_MAX)) &&
            r->in_cap < (size_t)SIO_REDIS_MAX_INBUF) {
            size_t cap = r->in_cap ? r->in_cap * 2 : INBUF_START;
            if (cap > (size_t)SIO_REDIS_MAX_INBUF) cap = (size_t)SIO_REDIS_MAX_INBUF;
            char *p = realloc(r->in, cap);
            if (!p) {
                drop(r, "out of memory for the input buffer");
                return;
            }
            r->in = p;
            r->in_cap = cap;
        }
        size_t room = r->in_cap - r->in_len;
        ssize_t n = read(r->fd, r->in + r->in_len, room);
        if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) break;
        if (n <= 0) {
            char why[96];
            if (n == 0) snprintf(why, sizeof why, "EOF (server closed the connection)");
            else snprintf(why, sizeof why, "read: %s", strerror(errno));
            drop(r, why);
            return;
        }
        r->in_len += (size_t)n;
        taken += (size_t)n;
        filled = (size_t)n == room;
        process_input(r);
        if (r->is_free_asap) return;
        if (r->is_close_asap) {
            char why[sizeof r->close_why];
            memcpy(why, r->close_why, sizeof why);
            drop(r, why);
            return;
        }
        if (r->state == ST_DOWN) return;
    } while (filled && taken < (size_t)SIO_REDIS_READ_BUDGET);
    if (r->in_len == 0 && r->in_cap > KEEP_BUF) {
        free(r->in);
        r->in = NULL;
        r->in_cap = 0;
    }
}

static void on_fd(sio_loop *l, int fd, void *ud, int events)
{
    (void)l;
    (void)fd;
    sio_redis *r = ud;
    enter(r);
    if (r->state == ST_CONNECTING) {
        if ((events & SIO_EV_WRITE) && finish_connect(r) == 0) {
            if (flush(r) < 0) {
                char why[96];
                snprintf(why, sizeof why, "write: %s", strerror(errno));
                drop(r, why);
            }
        }
    } else if (events & SIO_EV_READ) {
        do_read(r);
    } else if ((events & SIO_EV_WRITE) && r->fd >= 0) {
        if (flush(r) < 0) {
            char why[96];
            snprintf(why, sizeof why, "write: %s", strerror(errno));
            drop(r, why);
        }
    }
    leave(r);
}

/* ====== Public functions ====== */

sio_redis *sio__redis_new(sio_loop *l, const char *url, int flags)
{
    struct sio_redis_url u;
    if (sio__redis_parse_url(url, &u) < 0) return NULL;
    sio_redis *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->loop = l;
    r->url = u;
    r->flags = flags & SIO_REDIS_SUBSCRIBER;
    r->role = r->flags ? "sub" : "cmd";
    r->fd = -1;
    r->state = ST_DOWN;
    r->toks = r->tok_inline;
    r->ntoks = INLINE_TOKS;
    r->backoff_ms = SIO_REDIS_BACKOFF_MIN_MS;
    r->rng = (sio__now_ms() << 20) ^ (uint64_t)(uintptr_t)r ^ (uint64_t)getpid() ^ 0x9e3779b97f4a7c15ULL;
    if (r->rng == 0) r->rng = 1;
    /* The first attempt runs from the loop, after the owner has set its callbacks. */
    sio__timer_set(l, &r->t_retry, sio__now_ms(), on_retry_timer);
    return r;
}

static void really_free(sio_redis *r)
{
    r->is_freeing = 1;
    r->busy++; /* a callback below that calls sio__redis_free() again is ignored */
    sio__timer_stop(r->loop, &r->t_retry);
    sio__timer_stop(r->loop, &r->t_connect);
    sio__timer_stop(r->loop, &r->t_close);
    if (r->fd >= 0) {
        sio__loop_watch(r->loop, r->fd, 0, NULL, NULL);
        close(r->fd);
        r->fd = -1;
    }
    r->state = ST_DOWN;
    fail_pending(r);
    for (size_t i = 0; i < r->nsubs; i++) free(r->subs[i].name);
    free(r->subs);
    free(r->pend);
    free(r->in);
    free(r->out);
    if (r->toks != r->tok_inline) free(r->toks);
    free(r);
}

void sio__redis_free(sio_redis *r)
{
    if (!r || r->is_freeing) return;
    if (r->busy) {
        r->is_free_asap = 1;
        return;
    }
    really_free(r);
}

void sio__redis_set_log(sio_redis *r, sio_redis_log_cb cb, void *ud)
{
    r->log_cb = cb;
    r->log_ud = ud;
}

void sio__redis_on_state(sio_redis *r, sio_redis_state_cb cb, void *ud)
{
    r->state_cb = cb;
    r->state_ud = ud;
}

void sio__redis_on_message(sio_redis *r, sio_redis_message_cb cb, void *ud)
{
    r->msg_cb = cb;
    r->msg_ud = ud;
}

int sio__redis_command(sio_redis *r, int argc, const char *const *argv, const size_t *lens,
                       sio_redis_reply_cb cb, void *ud)
{
    if (argc < 1) return SIO_REDIS_ERR_ARG;
    if (r->flags & SIO_REDIS_SUBSCRIBER) return SIO_REDIS_ERR_MODE;
    if (r->is_freeing || r->is_free_asap || r->state == ST_DOWN || r->t_close.idx) return SIO_REDIS_ERR_DOWN;
    if (r->pend_count >= (size_t)SIO_REDIS_MAX_PENDING) return SIO_REDIS_ERR_LIMIT;
    size_t need = sio_resp_command(NULL, 0, argc, argv, lens);
    if (r->out_len - r->out_off + need > (size_t)SIO_REDIS_MAX_OUTBUF) {
        log_line(r, "output buffer limit reached (%zu bytes unsent): Redis is not reading",
              r->out_len - r->out_off);
        schedule_close(r, "output buffer limit reached");
        return SIO_REDIS_ERR_LIMIT;
    }
    size_t mark = r->out_len;
    if (out_command(r, argc, argv, lens) < 0) return SIO_REDIS_ERR_NOMEM;
    if (pend_push(r, cb, ud) < 0) {
        r->out_len = mark; /* take the command back: nobody would read its reply */
        return SIO_REDIS_ERR_NOMEM;
    }
    want_write(r);
    return 0;
}

int sio__redis_cmd(sio_redis *r, sio_redis_reply_cb cb, void *ud, const char *arg0, ...)
{
    const char *argv[MAX_CMD_ARGS];
    int argc = 0;
    va_list ap;
    va_start(ap, arg0);
    for (const char *a = arg0; a; a = va_arg(ap, const char *)) {
        if (argc == MAX_CMD_ARGS) {
            va_end(ap);
            return SIO_REDIS_ERR_ARG;
        }
        argv[argc++] = a;
    }
    va_end(ap);
    return sio__redis_command(r, argc, argv, NULL, cb, ud);
}

/* Queues [P][UN]SUBSCRIBE name on the current connection, if there is one. */
static int send_sub(sio_redis *r, const char *verb, const char *name, size_t len)
{
    if (r->state == ST_DOWN || r->fd < 0) return 0; /* the next connection sends the whole set */
    const char *argv[2] = {verb, name};
    size_t lens[2] = {strlen(verb), len};
    if (out_command(r, 2, argv, lens) < 0) return SIO_REDIS_ERR_NOMEM;
    want_write(r);
    return 0;
}

int sio__redis_subscribe(sio_redis *r, const char *name, size_t len, int pattern)
{
    if (!(r->flags & SIO_REDIS_SUBSCRIBER)) return SIO_REDIS_ERR_MODE;
    if (!name || len == 0) return SIO_REDIS_ERR_ARG;
    pattern = pattern != 0;
    for (size_t i = 0; i < r->nsubs; i++)
        if (r->subs[i].pattern == pattern && r->subs[i].len == len && memcmp(r->subs[i].name, name, len) == 0)
            return 0;
    if (r->nsubs == r->cap_subs) {
        size_t cap = r->cap_subs ? r->cap_subs * 2 : 8;
        struct sub *s = realloc(r->subs, cap * sizeof *s);
        if (!s) return SIO_REDIS_ERR_NOMEM;
        r->subs = s;
        r->cap_subs = cap;
    }
    char *copy = malloc(len);
    if (!copy) return SIO_REDIS_ERR_NOMEM;
    memcpy(copy, name, len);
    r->subs[r->nsubs++] = (struct sub){copy, len, pattern};
    int rc = send_sub(r, pattern ? "PSUBSCRIBE" : "SUBSCRIBE", name, len);
    if (rc == 0 && r->fd >= 0 && r->state != ST_UP) r->unconfirmed++; /* part of going up */
    return rc;
}

int sio__redis_unsubscribe(sio_redis *r, const char *name, size_t len, int pattern)
{
    if (!(r->flags & SIO_REDIS_SUBSCRIBER)) return SIO_REDIS_ERR_MODE;
    if (!name || len == 0) return SIO_REDIS_ERR_ARG;
    pattern = pattern != 0;
    for (size_t i = 0; i < r->nsubs; i++) {
        struct sub *s = &r->subs[i];
        if (s->pattern != pattern || s->len != len || memcmp(s->name, name, len) != 0) continue;
        free(s->name);
        r->subs[i] = r->subs[--r->nsubs];
        return send_sub(r, pattern ? "PUNSUBSCRIBE" : "UNSUBSCRIBE", name, len);
    }
    return SIO_REDIS_ERR_ARG;
}

int sio__redis_is_up(const sio_redis *r)
{
    return r->state == ST_UP;
}

const struct sio_redis_stats *sio__redis_stats(const sio_redis *r)
{
    return &r->stats;
}

const char *sio__redis_strerror(int err)
{
    switch (err) {
    case 0: return "ok";
    case SIO_REDIS_ERR_DOWN: return "not connected to redis";
    case SIO_REDIS_ERR_LIMIT: return "redis client limit reached";
    case SIO_REDIS_ERR_MODE: return "wrong mode (command vs subscriber)";
    case SIO_REDIS_ERR_ARG: return "bad argument";
    case SIO_REDIS_ERR_NOMEM: return "out of memory";
    default: return "unknown error";
    }
}
