/* SPDX-License-Identifier: MIT */
/* eio.c -- Engine.IO v4 over HTTP/1.1 long-polling and WebSocket (see protocol.md part A).
 *
 * What lives here, bottom to top:
 *   - shared packet buffers (eio_pkt) and the id table used for sessions and sockets;
 *   - TCP connections: accept, read into one shared buffer, keep only a leftover partial
 *     request/frame, queue references to packets, write them with one sendmsg() per turn;
 *   - HTTP/1.1: keep-alive, pipelining, CORS, the Engine.IO request checks and error answers;
 *   - Engine.IO sessions: the open packet, polling GET/POST with \x1e-joined payloads, the
 *     WebSocket transport, the probe/upgrade dance, the heartbeat, and closing.
 * What does not: anything about namespaces, events or JSON payloads (sio.c does that), HTTP
 * compression and permessage-deflate (optional in Engine.IO, off in Node by default), JSONP.
 *
 * Ownership: the engine owns connections and sessions. Nothing is freed inside a callback:
 * closing marks the object and puts it on a list, and sio__engine_before_sleep() frees it at the end of
 * the loop turn (redis's freeClientAsync).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* accept4, getrandom, MSG_NOSIGNAL, strdup */
#endif
#include "eio.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "http.h"
#include "json.h"
#include "packet.h"
#include "ws.h"

/* ====== Shared packet buffers ====== */

eio_pkt *sio__pkt_alloc(size_t len, int binary)
{
    if (len > UINT32_MAX) return NULL;
    eio_pkt *p = malloc(sizeof *p + len);
    if (!p) return NULL;
    p->refs = 1;
    p->len = (uint32_t)len;
    p->binary = (uint8_t)(binary != 0);
    p->raw = 0;
    p->wshdr_len = 0;
    return p;
}

void sio__pkt_seal(eio_pkt *p)
{
    p->wshdr_len = (uint8_t)sio_ws_frame_header(p->wshdr, p->binary ? SIO_WS_OP_BINARY : SIO_WS_OP_TEXT, p->len);
}

eio_pkt *sio__pkt_new(const void *data, size_t len, int binary)
{
    eio_pkt *p = sio__pkt_alloc(len, binary);
    if (!p) return NULL;
    if (len) memcpy(p->data, data, len);
    sio__pkt_seal(p);
    return p;
}

void sio__pkt_unref(eio_pkt *p)
{
    if (p && --p->refs == 0) free(p);
}

/* ====== Ids and the id table ====== */

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Fills buf with n random bytes from the kernel's CSPRNG. getrandom() only fails before the
 * pool is initialised (not after boot) or on EINTR for large requests; we retry, and abort if
 * the kernel has no CSPRNG at all: predictable ids would be a security hole (CVE-2017-16031). */
static void random_bytes(void *buf, size_t n)
{
    unsigned char *p = buf;
    while (n) {
        ssize_t r = getrandom(p, n, 0);
        if (r < 0) {
            if (errno == EINTR) continue;
            abort();
        }
        p += r;
        n -= (size_t)r;
    }
}

void sio__new_id(char out[SIO_ID_LEN + 1])
{
    unsigned char b[15];
    random_bytes(b, sizeof b);
    /* 15 bytes = 5 groups of 3 bytes = 20 base64 characters, no padding. */
    for (int i = 0; i < 5; i++) {
        uint32_t v = (uint32_t)b[3 * i] << 16 | (uint32_t)b[3 * i + 1] << 8 | b[3 * i + 2];
        out[4 * i] = b64url[v >> 18 & 63];
        out[4 * i + 1] = b64url[v >> 12 & 63];
        out[4 * i + 2] = b64url[v >> 6 & 63];
        out[4 * i + 3] = b64url[v & 63];
    }
    out[SIO_ID_LEN] = '\0';
}

/* One step of id_hash(): xor in a word, multiply by an odd constant, fold the high half down. */
static uint64_t id_mix(uint64_t h, uint64_t w)
{
    h = (h ^ w) * 0x9e3779b97f4a7c15ull;
    return h ^ h >> 32;
}

/* Mixes the id in 8 bytes at a time, started from the table's random seed: three
 * multiplications where a byte-wise hash takes twenty, each waiting for the last. The sizes are
 * constants, so each memcpy is one load. */
static uint32_t id_hash(const eio_idtab *t, const char *id)
{
    uint64_t h = t->seed, w;
    for (int i = 0; i + 8 <= SIO_ID_LEN; i += 8) {
        memcpy(&w, id + i, 8);
        h = id_mix(h, w);
    }
    if (SIO_ID_LEN % 8) { /* the last bytes */
        w = 0;
        memcpy(&w, id + SIO_ID_LEN / 8 * 8, SIO_ID_LEN % 8);
        h = id_mix(h, w);
    }
    return (uint32_t)h;
}

static const char *id_of(const eio_idtab *t, const void *obj) { return (const char *)obj + t->key_off; }

int sio__idtab_init(eio_idtab *t, uint32_t max_entries, size_t key_off)
{
    uint32_t cap = 16; /* at most 3/4 full: short probe runs, a quarter less memory than 1/2 */
    while (cap < (uint64_t)max_entries * 4 / 3 + 1 && cap < (1u << 30)) cap <<= 1;
    t->slots = calloc(cap, sizeof *t->slots);
    if (!t->slots) return SIO_ERR_NOMEM;
    t->mask = cap - 1;
    t->count = 0;
    t->limit = max_entries < cap / 4 * 3 ? max_entries : cap / 4 * 3;
    t->key_off = key_off;
    random_bytes(&t->seed, sizeof t->seed);
    t->seed |= 1;
    return 0;
}

void sio__idtab_free(eio_idtab *t)
{
    free(t->slots);
    t->slots = NULL;
}

int sio__idtab_put(eio_idtab *t, void *obj)
{
    if (t->count >= t->limit) return SIO_ERR_LIMIT;
    uint32_t i = id_hash(t, id_of(t, obj)) & t->mask;
    while (t->slots[i]) i = (i + 1) & t->mask;
    t->slots[i] = obj;
    t->count++;
    return 0;
}

void *sio__idtab_get(const eio_idtab *t, const char *id, size_t len)
{
    if (len != SIO_ID_LEN) return NULL;
    uint32_t i = id_hash(t, id) & t->mask;
    while (t->slots[i]) {
        if (memcmp(id_of(t, t->slots[i]), id, SIO_ID_LEN) == 0) return t->slots[i];
        i = (i + 1) & t->mask;
    }
    return NULL;
}

/* Backward-shift deletion: after emptying slot i, move later entries of the same probe run
 * back into the hole when their home slot allows it, so lookups never need tombstones. */
void sio__idtab_del(eio_idtab *t, const void *obj)
{
    uint32_t i = id_hash(t, id_of(t, obj)) & t->mask;
    while (t->slots[i] && t->slots[i] != obj) i = (i + 1) & t->mask;
    if (!t->slots[i]) return;
    t->slots[i] = NULL;
    t->count--;
    uint32_t j = i;
    for (;;) {
        j = (j + 1) & t->mask;
        if (!t->slots[j]) break;
        uint32_t home = id_hash(t, id_of(t, t->slots[j])) & t->mask;
        /* Can the entry at j move to the hole at i? Only if its home is not in (i, j]. */
        int stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (stays) continue;
        t->slots[i] = t->slots[j];
        t->slots[j] = NULL;
        i = j;
    }
}

/* ====== Packet queues ======
 * A ring of packet references. Bit 0 of an entry marks a packet to be sent as a WebSocket frame
 * (header + data) rather than as raw bytes; packets are at least 8-byte aligned so the bit is
 * free. Used for a connection's write queue and for a polling session's pending packets. */
typedef struct pktq {
    uintptr_t *items;    /* ring storage, NULL while never used */
    size_t bytes;        /* bytes queued (payloads and frame headers) */
    uint32_t head;       /* index of the oldest entry */
    uint32_t len;        /* entries queued */
    uint32_t cap;        /* ring capacity (power of two) */
    uint32_t soft_since; /* when bytes went over the soft output limit, in engine seconds + 1
                            (0 = it is not); see output_over() */
} pktq;

#define Q_FRAMED 1u           /* entry flag: write as a WebSocket frame */
#define Q_KEEP_CAP 0u         /* a ring this small is kept when it empties: none, so an idle
                                 connection holds no queue memory (a tcache-sized malloc per
                                 burst is cheap next to the system calls it rides with) */

static eio_pkt *q_pkt(uintptr_t it) { return (eio_pkt *)(it & ~(uintptr_t)Q_FRAMED); }
static size_t q_item_bytes(uintptr_t it)
{
    eio_pkt *p = q_pkt(it);
    return p->len + ((it & Q_FRAMED) ? p->wshdr_len : 0);
}

/* Appends a reference (taken by the queue) to p. Returns 0 or SIO_ERR_NOMEM. */
static int q_push(pktq *q, eio_pkt *p, int framed)
{
    if (q->len == q->cap) {
        uint32_t cap = q->cap ? q->cap * 2 : 4;
        uintptr_t *n = malloc(cap * sizeof *n);
        if (!n) return SIO_ERR_NOMEM;
        for (uint32_t i = 0; i < q->len; i++) n[i] = q->items[(q->head + i) & (q->cap - 1)];
        free(q->items);
        q->items = n;
        q->head = 0;
        q->cap = cap;
    }
    uintptr_t it = (uintptr_t)sio__pkt_ref(p) | (framed ? Q_FRAMED : 0);
    q->items[(q->head + q->len) & (q->cap - 1)] = it;
    q->len++;
    q->bytes += q_item_bytes(it);
    return 0;
}

static uintptr_t q_at(const pktq *q, uint32_t i) { return q->items[(q->head + i) & (q->cap - 1)]; }

/* Removes the oldest entry and drops its reference. */
static void q_pop(pktq *q)
{
    uintptr_t it = q_at(q, 0);
    q->bytes -= q_item_bytes(it);
    sio__pkt_unref(q_pkt(it));
    q->head = (q->head + 1) & (q->cap - 1);
    if (--q->len == 0) {
        q->head = 0;
        if (q->cap > Q_KEEP_CAP) {
            free(q->items);
            q->items = NULL;
            q->cap = 0;
        }
    }
}

static void q_clear(pktq *q)
{
    while (q->len) q_pop(q);
    free(q->items);
    memset(q, 0, sizeof *q);
}

/* ====== Types ====== */

typedef struct eio_conn eio_conn;

enum { ROLE_HTTP, ROLE_WS, ROLE_PROBE }; /* what a connection carries */
enum { T_POLLING, T_WS };                /* a session's transport */
enum { S_OPEN, S_CLOSED, S_LINGER };     /* a session's state: open; closed, waiting for the end
                                            of the turn; told the app, waiting for a last GET */

/* A growable byte buffer holding a connection's leftover input. */
typedef struct ibuf {
    unsigned char *p; /* bytes, NULL when empty */
    size_t len;       /* bytes held */
    size_t cap;       /* bytes allocated */
} ibuf;

/* One path served by the engine ("/socket.io/", "/engine.io/"), with its own options and the
 * layer above it. */
typedef struct eio_endpoint {
    struct sio_options o;    /* options: path, timers, size limit, transports, CORS, hooks */
    size_t path_len;         /* strlen(o.path) */
    struct eio_callbacks cb; /* the layer above (Socket.IO, or a bare Engine.IO application) */
    eio_engine *e;           /* the engine serving it */
} eio_endpoint;

/* A fragmented WebSocket message being assembled (RFC 6455 §5.4); allocated only while one is,
 * so an idle connection carries one NULL pointer for it. */
struct fragwait {
    ibuf buf;             /* payload so far */
    uint32_t count;       /* frames so far */
    uint8_t opcode;       /* opcode of the first frame (text or binary) */
    sio_utf8_state utf8;  /* UTF-8 validator state, for a text message */
};

/* One TCP connection. */
struct eio_conn {
    int fd;                   /* the socket */
    uint8_t role;             /* ROLE_* */
    uint8_t close_asap : 1;   /* on the close list: free at the end of the turn */
    uint8_t close_after : 1;  /* close once the write queue drains */
    uint8_t want_write : 1;   /* EPOLLOUT registered */
    uint8_t pending : 1;      /* on the pending-write list */
    uint8_t held : 1;         /* an HTTP GET held open for a polling session */
    uint8_t keep_alive : 1;   /* the held GET's request allows keep-alive */
    uint8_t ws_closing : 1;   /* WebSocket: close frame seen or sent; ignore further data */
    uint8_t req_started : 1;  /* HTTP: a partial request is buffered (request deadline runs) */
    uint8_t draining : 1;     /* everything written and half-closed: waiting for the peer's EOF */
    int8_t cors;              /* the held GET's CORS choice (see cors_pick) */
    uint32_t parse_last;      /* HTTP: bytes of the buffered partial head already scanned */
    uint32_t wq_off;          /* bytes of the oldest queue entry already written */
    ibuf in;                  /* leftover input: a partial request or frame */
    struct fragwait *fw;      /* WebSocket: a fragmented message being assembled, or NULL */
    pktq wq;                  /* write queue */
    eio_session *sess;        /* the session this connection carries (WS), probes, or polls */
    eio_session *post_sess;   /* the session whose POST body is arriving on it, or NULL */
    const eio_endpoint *ep;   /* the endpoint of its current/last Engine.IO request (CORS) */
    sio_timer timer;          /* HTTP request deadline / keep-alive idle deadline */
    eio_engine *e;            /* owner */
    eio_conn *prev, *next;    /* all connections */
    eio_conn *next_pending;   /* pending-write list */
    eio_conn *next_close;     /* close list */
};

/* One Engine.IO session. */
struct eio_session {
    char sid[SIO_ID_LEN + 1];   /* the session id (keyed in the engine's table) */
    uint8_t transport;          /* T_POLLING or T_WS */
    uint8_t state;              /* S_* */
    uint8_t upgrading : 1;      /* a probe WebSocket answered 2probe; polling gets noops */
    uint8_t noop : 1;           /* a noop must end the next/pending poll */
    uint8_t flushing : 1;       /* on the flush list */
    uint8_t client_closed : 1;  /* the client asked to close (POST "1"): a held GET gets "6" */
    eio_conn *ws;               /* the WebSocket carrying the session (T_WS) */
    eio_conn *probe;            /* a WebSocket being upgraded to, or NULL */
    eio_conn *get;              /* the held polling GET, or NULL */
    eio_conn *post;             /* the connection whose POST body is still arriving, or NULL */
    pktq q;                     /* polling: packets waiting for a GET */
    uint64_t ping_at;           /* when to send the next ping (0 = not scheduled) */
    uint64_t pong_by;           /* deadline for the pong (0 = no ping outstanding) */
    uint64_t upgrade_by;        /* deadline for the probe to finish (0 = none) */
    uint64_t linger_by;         /* S_LINGER: when to give up waiting for the last GET */
    sio_timer timer;            /* fires at the earliest of the four deadlines */
    const char *reason;         /* why it closed (a static string) */
    void *state_ptr;            /* the layer above's state for this session */
    void *app_data;             /* a bare Engine.IO application's data (sio_eio_set_data) */
    const eio_endpoint *ep;     /* the endpoint it belongs to (ep->e: the engine) */
    eio_session *next_flush;    /* flush list */
    eio_session *next_close;    /* close list */
};

struct eio_engine {
    sio_loop *loop;              /* the event loop */
    eio_endpoint eps[SIO_MAX_ENDPOINTS]; /* the paths served */
    int neps;                    /* entries used in eps */
    size_t max_buffer;           /* the largest max_http_buffer_size of all endpoints */
    uint64_t request_ms;         /* http_request_timeout */
    uint64_t keepalive_ms;       /* http_keepalive_timeout */
    size_t out_hard;             /* output_hard_limit */
    size_t out_soft;             /* output_soft_limit */
    uint64_t out_soft_ms;        /* output_soft_seconds, in ms */
    size_t max_conns;            /* TCP connections accepted at once */
    uint64_t started;            /* sio__now_ms() at creation (the origin of pktq.soft_since) */
    int lfd;                     /* listening socket, -1 if none */
    int port;                    /* port bound */
    int spare_fd;                /* a reserved descriptor, given up to shed a connection at EMFILE */
    char sid_prefix[SIO_MAX_SID_PREFIX + 1]; /* options.sid_prefix: the first characters of every sid */
    size_t sid_prefix_len;       /* its length, 0..SIO_MAX_SID_PREFIX */
    eio_idtab sessions;          /* sessions by sid */
    eio_conn *conns;             /* all connections */
    size_t nconns;               /* number of connections */
    eio_conn *pending;           /* connections with output to write this turn */
    eio_conn *closing;           /* connections to free this turn */
    eio_session *flush;          /* polling sessions with output for their held GET */
    eio_session *closed;         /* sessions to finish this turn */
    int shutting_down;           /* sio__engine_shutdown() was called */
    sio_request_cb on_request;   /* plain HTTP handler, or NULL */
    void *on_request_ud;         /* its data */
    unsigned char rbuf[SIO_READ_CHUNK]; /* the shared read buffer */
};

/* ====== Forward declarations ====== */
static void conn_close(eio_conn *c, const char *reason);
static void conn_send(eio_conn *c, eio_pkt *p, int framed);
static size_t conn_process(eio_conn *c, unsigned char *data, size_t len);
static void sess_close(eio_session *s, const char *reason);
static void sess_rearm(eio_session *s);
static void on_conn_event(sio_loop *l, int fd, void *ud, int events);
static void ws_detach(eio_conn *c, const char *reason);
static int conn_adopt(eio_engine *e, int fd);
static void conn_flush(eio_conn *c);
static void post_begin(eio_conn *c, const struct sio_http_req *req);
static void post_end(eio_conn *c);
static int ws_first_protocol(sio_str v, char *out, size_t cap);

/* ====== Engine lifecycle ====== */

/* A prefix keeps at least 72 of an id's 120 random bits. */
_Static_assert(SIO_MAX_SID_PREFIX >= 0 && SIO_MAX_SID_PREFIX <= 8, "SIO_MAX_SID_PREFIX must be 0..8");

/* Returns 1 when p (NULL = none) is a valid options.sid_prefix: at most SIO_MAX_SID_PREFIX
 * characters, each from the ids' base64url alphabet, so that the id stays URL-safe. */
static int sid_prefix_ok(const char *p)
{
    size_t n = p ? strlen(p) : 0;
    return n <= SIO_MAX_SID_PREFIX && strspn(p ? p : "", b64url) == n;
}

eio_engine *sio__engine_new(sio_loop *loop, const struct sio_options *o)
{
    if (!sid_prefix_ok(o->sid_prefix)) return NULL;
    eio_engine *e = calloc(1, sizeof *e);
    if (!e) return NULL;
    if (o->sid_prefix) {
        e->sid_prefix_len = strlen(o->sid_prefix);
        memcpy(e->sid_prefix, o->sid_prefix, e->sid_prefix_len);
    }
    e->loop = loop;
    e->request_ms = (uint64_t)(o->http_request_timeout > 0 ? o->http_request_timeout : SIO_HTTP_REQUEST_MS_DEFAULT);
    e->keepalive_ms = (uint64_t)(o->http_keepalive_timeout > 0 ? o->http_keepalive_timeout : SIO_HTTP_KEEPALIVE_MS_DEFAULT);
    e->out_hard = o->output_hard_limit ? o->output_hard_limit : SIO_OUTPUT_HARD_DEFAULT;
    e->out_soft = o->output_soft_limit ? o->output_soft_limit : e->out_hard;
    e->out_soft_ms = (uint64_t)(o->output_soft_seconds > 0 ? o->output_soft_seconds : 0) * 1000;
    e->max_conns = (size_t)o->max_clients * 2 + 64;
    e->started = sio__now_ms();
    int max_sessions = o->max_clients;
    e->lfd = -1;
    e->port = -1;
    e->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (sio__idtab_init(&e->sessions, (uint32_t)max_sessions, offsetof(eio_session, sid)) < 0) {
        free(e);
        return NULL;
    }
    return e;
}

int sio__engine_attach(eio_engine *e, const struct sio_options *o, const struct eio_callbacks *cb)
{
    size_t len = o->path ? strlen(o->path) : 0;
    if (len < 2 || o->path[0] != '/' || o->path[len - 1] != '/' || e->neps == SIO_MAX_ENDPOINTS) return SIO_ERR_INVAL;
    for (int i = 0; i < e->neps; i++)
        if (strcmp(e->eps[i].o.path, o->path) == 0) return SIO_ERR_INVAL;
    eio_endpoint *ep = &e->eps[e->neps++];
    ep->e = e;
    ep->o = *o;
    ep->path_len = len;
    ep->cb = *cb;
    if (o->max_http_buffer_size > e->max_buffer) e->max_buffer = o->max_http_buffer_size;
    return 0;
}

/* The endpoint whose path prefixes `path` (the longest such), or NULL. */
static const eio_endpoint *find_endpoint(const eio_engine *e, sio_str path)
{
    const eio_endpoint *best = NULL;
    for (int i = 0; i < e->neps; i++) {
        const eio_endpoint *ep = &e->eps[i];
        if (path.len >= ep->path_len && memcmp(path.p, ep->o.path, ep->path_len) == 0 &&
            (!best || ep->path_len > best->path_len))
            best = ep;
    }
    return best;
}

static void conn_free(eio_conn *c);
static void sess_free(eio_session *s);

void sio__engine_free(eio_engine *e)
{
    if (!e) return;
    /* Sessions still open (the loop never ran, or stopped early) are told first, while their
     * connections still exist; what they send then is simply never written. */
    for (uint32_t i = 0; i <= e->sessions.mask; i++) {
        eio_session *s = e->sessions.slots[i];
        if (s && s->state_ptr) {
            void *st = s->state_ptr;
            s->state_ptr = NULL;
            s->state = S_CLOSED;
            s->ep->cb.on_close(s, st, "server shutting down");
        }
    }
    while (e->conns) {
        eio_conn *c = e->conns;
        c->sess = NULL;
        conn_free(c);
    }
    for (uint32_t i = 0; i <= e->sessions.mask; i++) {
        eio_session *s = e->sessions.slots[i];
        if (!s) continue;
        sio__timer_stop(e->loop, &s->timer);
        q_clear(&s->q);
        free(s);
    }
    sio__idtab_free(&e->sessions);
    if (e->lfd >= 0) close(e->lfd);
    if (e->spare_fd >= 0) close(e->spare_fd);
    free(e);
}

int sio__engine_port(const eio_engine *e) { return e->port; }

static void set_err(char *err, const char *fmt, ...)
{
    if (!err) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, SIO_ERR_LEN, fmt, ap);
    va_end(ap);
}

static void on_accept(sio_loop *l, int fd, void *ud, int events);

int sio__engine_listen(eio_engine *e, const char *host, int port, char *err)
{
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%d", port);
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int rc = getaddrinfo(host, portstr, &hints, &res);
    if (rc != 0) {
        set_err(err, "listen: %s: %s", host ? host : "*", gai_strerror(rc));
        return SIO_ERR_SYS;
    }
    int fd = -1;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        /* Without a host, prefer IPv4's 0.0.0.0 (what the tutorial's Node server reaches). */
        if (!host && ai->ai_family != AF_INET && ai->ai_next) continue;
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) continue;
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 4096) == 0) break;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        set_err(err, "listen on %s:%d: %s", host ? host : "*", port, strerror(errno));
        return SIO_ERR_SYS;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    e->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                             : ((struct sockaddr_in *)&ss)->sin_port);
    if (sio__loop_watch(e->loop, fd, SIO_EV_READ, on_accept, e) < 0) {
        set_err(err, "listen: epoll: %s", strerror(errno));
        close(fd);
        return SIO_ERR_SYS;
    }
    e->lfd = fd;
    return 0;
}

/* ====== Connections: accept, close, free ====== */

static void conn_timeout(sio_loop *l, sio_timer *t);

/* Accepts up to SIO_ACCEPT_PER_EVENT connections. At EMFILE/ENFILE it gives up its spare
 * descriptor to accept one connection and close it at once, so the level-triggered listener
 * does not spin on a queue it cannot drain. */
static void on_accept(sio_loop *l, int lfd, void *ud, int events)
{
    (void)l;
    (void)events;
    eio_engine *e = ud;
    for (int n = 0; n < SIO_ACCEPT_PER_EVENT; n++) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if ((errno == EMFILE || errno == ENFILE) && e->spare_fd >= 0) {
                close(e->spare_fd);
                int shed = accept(lfd, NULL, NULL);
                if (shed >= 0) close(shed);
                e->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
            }
            return;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        conn_adopt(e, fd);
    }
}

/* Registers an already-connected socket as a new connection (what on_accept does for each
 * accepted descriptor). Returns 0, or -1 (the descriptor is closed). */
static int conn_adopt(eio_engine *e, int fd)
{
    eio_conn *c = calloc(1, sizeof *c);
    if (!c || sio__loop_watch(e->loop, fd, SIO_EV_READ, on_conn_event, c) < 0) {
        free(c);
        close(fd);
        return -1;
    }
    c->fd = fd;
    c->e = e;
    c->role = ROLE_HTTP;
    c->next = e->conns;
    if (e->conns) e->conns->prev = c;
    e->conns = c;
    e->nconns++;
    sio__timer_set(e->loop, &c->timer, sio__now_ms() + e->request_ms, conn_timeout);
    if (e->nconns > e->max_conns) { /* refuse politely, keep serving everyone else */
        static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
        if (send(fd, busy, sizeof busy - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) { /* best effort */ }
        conn_close(c, "transport close");
    }
    return 0;
}

int sio__engine_adopt(eio_engine *e, int fd) { return conn_adopt(e, fd); }

/* Marks the connection for closing at the end of the turn and detaches it from its session:
 * a session's WebSocket or held GET going away closes the session, a probe going away only
 * cancels the upgrade. Safe to call repeatedly and from any callback. */
static void conn_close(eio_conn *c, const char *reason)
{
    if (c->close_asap) return;
    c->close_asap = 1;
    c->next_close = c->e->closing;
    c->e->closing = c;
    sio__loop_mask(c->e->loop, c->fd, 0);
    post_end(c);
    eio_session *s = c->sess;
    if (s && s->get == c) { /* a held GET's connection lost: "transport error" (A7, A11) */
        c->sess = NULL;
        s->get = NULL;
        sess_close(s, "transport error");
    } else {
        ws_detach(c, reason);
    }
}

static void conn_free(eio_conn *c)
{
    eio_engine *e = c->e;
    sio__timer_stop(e->loop, &c->timer);
    sio__loop_mask(e->loop, c->fd, 0);
    close(c->fd);
    q_clear(&c->wq);
    free(c->in.p);
    if (c->fw) free(c->fw->buf.p);
    free(c->fw);
    if (c->prev) c->prev->next = c->next;
    else e->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    e->nconns--;
    free(c);
}

/* The HTTP deadline passed: a request did not arrive in time (slowloris), or a keep-alive
 * connection sat idle. Either way the connection is simply closed. */
static void conn_timeout(sio_loop *l, sio_timer *t)
{
    (void)l;
    eio_conn *c = (eio_conn *)((char *)t - offsetof(eio_conn, timer));
    conn_close(c, "transport close");
}

/* ====== Connections: writing ====== */

/* The output limits (Redis's client-output-buffer-limit): 1 when the bytes queued for one
 * client are over the hard limit, or have stayed over the soft limit for out_soft_ms (tracked in
 * q->soft_since, in whole seconds since the engine started, plus one; 0 while under). Such a
 * client does not read: the caller closes it. */
static int output_over(const eio_engine *e, pktq *q)
{
    if (q->bytes > e->out_hard) return 1;
    if (q->bytes <= e->out_soft) {
        q->soft_since = 0;
        return 0;
    }
    uint32_t now = (uint32_t)((sio__now_ms() - e->started) / 1000) + 1;
    if (!q->soft_since) q->soft_since = now;
    return (uint64_t)(now - q->soft_since) * 1000 >= e->out_soft_ms;
}

/* Queues a packet on the connection and puts it on this turn's write list. A connection over
 * the output limits is a consumer that does not read: it is closed. */
static void conn_send(eio_conn *c, eio_pkt *p, int framed)
{
    if (c->close_asap) return;
    if (q_push(&c->wq, p, framed) < 0) {
        conn_close(c, "transport error");
        return;
    }
    if (c->wq.bytes > SIO_EAGER_FLUSH_BYTES && !c->want_write) conn_flush(c);
    if (c->close_asap) return;
    if (output_over(c->e, &c->wq)) {
        conn_close(c, "transport error");
        return;
    }
    if (!c->pending) {
        c->pending = 1;
        c->next_pending = c->e->pending;
        c->e->pending = c;
    }
}

#define WRITE_IOV 512 /* iovecs per sendmsg() (two per WebSocket frame: header and payload) */

/* Writes as much of the queue as the kernel takes, in sendmsg() calls of up to WRITE_IOV
 * iovecs. Registers for writability only while bytes remain. */
static void conn_flush(eio_conn *c)
{
    while (c->wq.len && !c->close_asap) {
        struct iovec iov[WRITE_IOV];
        int n = 0;
        size_t off = c->wq_off;
        for (uint32_t i = 0; i < c->wq.len && n < WRITE_IOV - 1; i++) {
            uintptr_t it = q_at(&c->wq, i);
            eio_pkt *p = q_pkt(it);
            size_t hl = (it & Q_FRAMED) ? p->wshdr_len : 0;
            if (off < hl) {
                iov[n].iov_base = p->wshdr + off;
                iov[n++].iov_len = hl - off;
                off = 0;
            } else {
                off -= hl;
            }
            if (off < p->len) {
                iov[n].iov_base = p->data + off;
                iov[n++].iov_len = p->len - off;
            }
            off = 0;
        }
        struct msghdr mh = {0};
        mh.msg_iov = iov;
        mh.msg_iovlen = (size_t)n;
        ssize_t w = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            conn_close(c, "transport error");
            return;
        }
        size_t left = (size_t)w + c->wq_off;
        while (c->wq.len) {
            size_t sz = q_item_bytes(q_at(&c->wq, 0));
            if (left < sz) break;
            left -= sz;
            q_pop(&c->wq);
        }
        c->wq_off = (uint32_t)left;
    }
    if (c->close_asap) return;
    if (c->wq.bytes <= c->e->out_soft) c->wq.soft_since = 0;
    int want = c->wq.len != 0;
    if (want != c->want_write) {
        c->want_write = (uint8_t)want;
        sio__loop_mask(c->e->loop, c->fd, SIO_EV_READ | (want ? SIO_EV_WRITE : 0));
    }
    if (!want && c->close_after && !c->draining) {
        /* Everything is written: half-close, and read (and drop) what the peer still sends
         * until it closes or SIO_CLOSE_DRAIN_MS passes. Closing with unread input would make
         * the kernel send a reset, which can destroy our last answer before it is read. */
        c->draining = 1;
        shutdown(c->fd, SHUT_WR);
        sio__timer_set(c->e->loop, &c->timer, sio__now_ms() + SIO_CLOSE_DRAIN_MS, conn_timeout);
    }
}

/* ====== Connections: reading ====== */

/* The most input a connection may hold unprocessed: one request head plus the largest body, or
 * one WebSocket frame of the largest message. */
static size_t in_limit(const eio_conn *c)
{
    return c->e->max_buffer + SIO_HTTP_MAX_HEAD + 16;
}

static int ibuf_append(ibuf *b, const void *p, size_t n, size_t limit)
{
    if (b->len + n > limit) return -1;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n) cap *= 2;
        if (cap > limit) cap = limit;
        unsigned char *np = realloc(b->p, cap);
        if (!np) return -1;
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
    return 0;
}

static void ibuf_consume(ibuf *b, size_t n)
{
    if (n >= b->len) {
        free(b->p);
        memset(b, 0, sizeof *b);
        return;
    }
    memmove(b->p, b->p + n, b->len - n);
    b->len -= n;
}

/* Updates the HTTP deadline after input was processed: a partial request must complete within
 * http_request_timeout of its first byte; an idle keep-alive connection lives
 * http_keepalive_timeout; WebSockets and held GETs have no deadline (the heartbeat covers them). */
static void conn_update_deadline(eio_conn *c)
{
    sio_loop *l = c->e->loop;
    if (c->close_asap || c->close_after) return;
    if (c->role != ROLE_HTTP || c->held) {
        sio__timer_stop(l, &c->timer);
        c->req_started = 0;
    } else if (c->in.len) {
        if (!c->req_started) sio__timer_set(l, &c->timer, sio__now_ms() + c->e->request_ms, conn_timeout);
        c->req_started = 1;
    } else {
        sio__timer_set(l, &c->timer, sio__now_ms() + c->e->keepalive_ms, conn_timeout);
        c->req_started = 0;
    }
}

/* Processes whatever is buffered in c->in (after a held GET was answered, more pipelined
 * requests may be waiting there). */
static void conn_process_buffered(eio_conn *c)
{
    if (!c->in.len || c->close_asap) return;
    size_t used = conn_process(c, c->in.p, c->in.len);
    ibuf_consume(&c->in, used);
    conn_update_deadline(c);
}

static void conn_readable(eio_conn *c)
{
    eio_engine *e = c->e;
    ssize_t n;
    do {
        n = read(c->fd, e->rbuf, sizeof e->rbuf);
    } while (n < 0 && errno == EINTR);
    if (n == 0) {
        conn_close(c, "transport close");
        return;
    }
    if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK) conn_close(c, "transport close");
        return;
    }
    if (c->close_after) return; /* input after we decided to close is dropped */
    if (c->in.len) {
        if (ibuf_append(&c->in, e->rbuf, (size_t)n, in_limit(c)) < 0) {
            conn_close(c, "transport error");
            return;
        }
        size_t used = c->held ? 0 : conn_process(c, c->in.p, c->in.len);
        ibuf_consume(&c->in, used);
    } else {
        size_t used = c->held ? 0 : conn_process(c, e->rbuf, (size_t)n);
        if (used < (size_t)n && !c->close_asap &&
            ibuf_append(&c->in, e->rbuf + used, (size_t)n - used, in_limit(c)) < 0)
            conn_close(c, "transport error");
    }
    conn_update_deadline(c);
}

static void on_conn_event(sio_loop *l, int fd, void *ud, int events)
{
    (void)l;
    (void)fd;
    eio_conn *c = ud;
    if (c->close_asap) return;
    if (events & SIO_EV_READ) conn_readable(c);
    if ((events & SIO_EV_WRITE) && !c->close_asap) conn_flush(c);
}

/* ====== HTTP responses ====== */

/* CORS: which Access-Control-Allow-Origin to send for a request with this Origin (A12).
 * Returns 0 when CORS is off, i + 1 to send configured origin i ("*" included), -1 when
 * several origins are configured and the request's is none of them (only Vary is sent). */
static int cors_pick(const eio_endpoint *ep, sio_str origin)
{
    if (!ep) return 0;
    int n = ep->o.n_cors_origins;
    if (n == 0) return 0;
    if (n == 1) return 1;
    for (int i = 0; i < n; i++) {
        const char *o = ep->o.cors_origins[i];
        if (origin.p && strlen(o) == origin.len && memcmp(o, origin.p, origin.len) == 0) return i + 1;
    }
    return -1;
}

/* Appends the CORS headers for choice `pick` to buf (at most cap bytes); returns bytes written.
 * `vary_extra` adds ", Access-Control-Request-Headers" to Vary (preflights that reflect them). */
static size_t cors_headers(const eio_endpoint *ep, int pick, char *buf, size_t cap, int vary_extra)
{
    if (pick == 0 || !ep) return 0;
    size_t n = 0;
    const char *o = pick > 0 ? ep->o.cors_origins[pick - 1] : NULL;
    int star = o && strcmp(o, "*") == 0;
    if (o) n += (size_t)snprintf(buf + n, cap - n, "Access-Control-Allow-Origin: %s\r\n", o);
    if (!star)
        n += (size_t)snprintf(buf + n, cap - n, "Vary: Origin%s\r\n", vary_extra ? ", Access-Control-Request-Headers" : "");
    else if (vary_extra)
        n += (size_t)snprintf(buf + n, cap - n, "Vary: Access-Control-Request-Headers\r\n");
    if (ep->o.cors_credentials) n += (size_t)snprintf(buf + n, cap - n, "Access-Control-Allow-Credentials: true\r\n");
    return n < cap ? n : cap;
}

#define RESP_CLOSE 1   /* send Connection: close and close after writing */
#define RESP_NOSTORE 2 /* add cache-control: no-store (Engine.IO answers) */

/* Builds one HTTP response (status line, CORS choice, Content-Type, Content-Length, extra header
 * lines, body) as a single raw packet and queues it. `extra` is "" or CRLF-terminated lines. */
static void respond(eio_conn *c, int status, int cors, const char *ctype, const char *extra,
                    const void *body, size_t blen, int flags)
{
    char head[SIO_RESPONSE_HEAD_MAX];
    size_t n = (size_t)snprintf(head, sizeof head, "HTTP/1.1 %d %s\r\n", status, sio_http_reason(status));
    n += cors_headers(c->ep, cors, head + n, sizeof head - n, 0);
    if (ctype) n += (size_t)snprintf(head + n, sizeof head - n, "Content-Type: %s\r\n", ctype);
    n += (size_t)snprintf(head + n, sizeof head - n, "Content-Length: %zu\r\n%s%s%s\r\n", blen,
                          (flags & RESP_NOSTORE) ? "cache-control: no-store\r\n" : "", extra ? extra : "",
                          (flags & RESP_CLOSE) ? "Connection: close\r\n" : "");
    if (n >= sizeof head) n = sizeof head - 1;
    eio_pkt *p = sio__pkt_alloc(n + blen, 0);
    if (!p) {
        conn_close(c, "transport error");
        return;
    }
    p->raw = 1;
    memcpy(p->data, head, n);
    if (blen) memcpy(p->data + n, body, blen);
    conn_send(c, p, 0);
    sio__pkt_unref(p);
    if (flags & RESP_CLOSE) c->close_after = 1;
}

/* Engine.IO error codes (A2). */
static const char *const eio_errmsg[] = {"Transport unknown", "Session ID unknown", "Bad handshake method",
                                         "Bad request", "Forbidden", "Unsupported protocol version"};

/* Answers an Engine.IO error: JSON with its HTTP status for a plain request, or the raw text
 * answer and a close for a WebSocket upgrade request (A2). */
static void engine_error(eio_conn *c, int code, int cors, int upgrade, int status, const char *msg, int keep)
{
    if (!msg) msg = eio_errmsg[code];
    if (upgrade) {
        respond(c, 400, cors, "text/html", "", msg, strlen(msg), RESP_CLOSE);
        return;
    }
    char stack[256];
    sio_jw w;
    sio_jw_init(&w, stack, sizeof stack);
    sio_jw_obj(&w);
    sio_jw_key(&w, "code");
    sio_jw_int(&w, code);
    sio_jw_key(&w, "message");
    sio_jw_str(&w, msg);
    sio_jw_end(&w);
    if (w.err) conn_close(c, "transport error");
    else respond(c, status ? status : 400, cors, "application/json", "", w.buf, w.len, keep ? 0 : RESP_CLOSE);
    sio_jw_free(&w);
}

/* ====== Sessions ====== */

const char *sio__eio_sid(const eio_session *s) { return s->sid; }
void sio__eio_set_data(eio_session *s, void *data) { s->app_data = data; }
void *sio__eio_data(const eio_session *s) { return s->app_data; }
int sio__eio_closing(const eio_session *s) { return s->state != S_OPEN; }

static void sess_timeout(sio_loop *l, sio_timer *t);

/* Re-arms the session's one timer at the earliest of its deadlines. */
static void sess_rearm(eio_session *s)
{
    uint64_t when = 0;
    uint64_t d[4] = {s->ping_at, s->pong_by, s->upgrade_by, s->linger_by};
    for (int i = 0; i < 4; i++)
        if (d[i] && (!when || d[i] < when)) when = d[i];
    if (when) sio__timer_set(s->ep->e->loop, &s->timer, when, sess_timeout);
    else sio__timer_stop(s->ep->e->loop, &s->timer);
}

static void sess_want_flush(eio_session *s)
{
    if (s->flushing || !s->get) return;
    s->flushing = 1;
    s->next_flush = s->ep->e->flush;
    s->ep->e->flush = s;
}

/* Queues p on the session's transport. On WebSocket it goes straight to the connection's write
 * queue as a frame; on polling it waits in the session's queue for a GET. */
static void sess_queue(eio_session *s, eio_pkt *p)
{
    if (s->transport == T_WS) {
        if (s->ws) conn_send(s->ws, p, 1);
        return;
    }
    if (q_push(&s->q, p, 0) < 0 || output_over(s->ep->e, &s->q)) {
        sess_close(s, "transport error");
        return;
    }
    sess_want_flush(s);
}

int sio__eio_writable(const eio_session *s)
{
    if (s->state != S_OPEN) return 0;
    return s->transport == T_WS ? (s->ws && s->ws->wq.len == 0) : (s->get && s->q.len == 0);
}

void sio__eio_send(eio_session *s, eio_pkt *p, int volatile_)
{
    if (s->state != S_OPEN || (volatile_ && !sio__eio_writable(s))) return;
    sess_queue(s, p);
}

/* Sends a one-byte Engine.IO control packet ("2", "6", ...). */
static void sess_send_ctl(eio_session *s, char type)
{
    eio_pkt *p = sio__pkt_new(&type, 1, 0);
    if (!p) {
        sess_close(s, "transport error");
        return;
    }
    sess_queue(s, p);
    sio__pkt_unref(p);
}

/* Marks the session closed (once) and puts it on the close list; the Socket.IO layer hears of
 * it at the end of the turn. */
static void sess_close(eio_session *s, const char *reason)
{
    if (s->state != S_OPEN) return;
    s->state = S_CLOSED;
    s->reason = reason;
    s->next_close = s->ep->e->closed;
    s->ep->e->closed = s;
}

void sio__eio_close(eio_session *s, const char *reason) { sess_close(s, reason); }

/* Heartbeat, upgrade timeout and linger deadlines (A9, A10, A11). */
static void sess_timeout(sio_loop *l, sio_timer *t)
{
    (void)l;
    eio_session *s = (eio_session *)((char *)t - offsetof(eio_session, timer));
    uint64_t now = sio__now_ms();
    if (s->state == S_LINGER) {
        if (s->linger_by && now >= s->linger_by) sess_free(s);
        return;
    }
    if (s->state != S_OPEN) return;
    if (s->pong_by && now >= s->pong_by) {
        sess_close(s, "ping timeout");
        return;
    }
    if (s->upgrade_by && now >= s->upgrade_by) {
        s->upgrade_by = 0;
        if (s->probe) conn_close(s->probe, "transport close");
    }
    if (s->ping_at && now >= s->ping_at) {
        s->ping_at = 0;
        s->pong_by = now + (uint64_t)s->ep->o.ping_timeout;
        sess_send_ctl(s, '2');
    }
    sess_rearm(s);
}

static int open_packet(const eio_session *s, char *buf, size_t cap, int upgrades);

/* Creates a session for the handshake `req` on connection c: id, table entry, heartbeat; for a
 * WebSocket handshake it also makes c the session's transport and queues the open packet, so
 * that whatever the layer above sends from on_open follows it. Then it calls on_open.
 * Returns NULL when the table is full (max_clients) or memory is short; the caller answers. */
static eio_session *sess_new(eio_engine *e, const eio_endpoint *ep, int transport, const struct sio_http_req *req,
                            eio_conn *c)
{
    int fd = c->fd;
    eio_session *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->ep = ep;
    s->transport = (uint8_t)transport;
    do { /* options.sid_prefix replaces the first characters: a balancer routes by them */
        sio__new_id(s->sid);
        memcpy(s->sid, e->sid_prefix, e->sid_prefix_len);
    } while (sio__idtab_get(&e->sessions, s->sid, SIO_ID_LEN));
    if (sio__idtab_put(&e->sessions, s) < 0) {
        free(s);
        return NULL;
    }
    char addr[INET6_ADDRSTRLEN] = "";
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET) inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, addr, sizeof addr);
        else if (ss.ss_family == AF_INET6) inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, addr, sizeof addr);
    }
    if (transport == T_WS) {
        char open[256];
        int on = open_packet(s, open, sizeof open, 0);
        eio_pkt *p = sio__pkt_new(open, (size_t)on, 0);
        if (!p) {
            sio__idtab_del(&e->sessions, s);
            free(s);
            return NULL;
        }
        c->role = ROLE_WS;
        c->sess = s;
        s->ws = c;
        conn_send(c, p, 1);
        sio__pkt_unref(p);
    }
    s->state_ptr = ep->cb.on_open(s, req, addr, ep->cb.ud);
    if (!s->state_ptr) {
        if (s->ws) {
            s->ws = NULL;
            c->sess = NULL;
        }
        sio__idtab_del(&e->sessions, s);
        q_clear(&s->q);
        free(s);
        return NULL;
    }
    s->ping_at = sio__now_ms() + (uint64_t)ep->o.ping_interval;
    sess_rearm(s);
    return s;
}

/* Frees a session whose Socket.IO layer has been told (or that never got one). */
static void sess_free(eio_session *s)
{
    eio_engine *e = s->ep->e;
    if (s->flushing) { /* still on this turn's flush list: unlink it */
        eio_session **pp = &e->flush;
        while (*pp != s) pp = &(*pp)->next_flush;
        *pp = s->next_flush;
    }
    sio__timer_stop(e->loop, &s->timer);
    sio__idtab_del(&e->sessions, s);
    if (s->ws) s->ws->sess = NULL;
    if (s->probe) s->probe->sess = NULL;
    if (s->get) s->get->sess = NULL;
    if (s->post) s->post->post_sess = NULL;
    q_clear(&s->q);
    free(s);
}

/* The open packet (A4): 0{"sid":…,"upgrades":[…],"pingInterval":…,"pingTimeout":…,"maxPayload":…} */
static int open_packet(const eio_session *s, char *buf, size_t cap, int upgrades)
{
    const struct sio_options *o = &s->ep->o;
    return snprintf(buf, cap, "0{\"sid\":\"%s\",\"upgrades\":[%s],\"pingInterval\":%d,\"pingTimeout\":%d,\"maxPayload\":%zu}",
                    s->sid, upgrades ? "\"websocket\"" : "", o->ping_interval, o->ping_timeout, o->max_http_buffer_size);
}

/* ====== Engine.IO packets in ====== */

/* Handles one Engine.IO packet from the client (text, or a binary message). Returns 0, or -1 if
 * the session was closed by it (the caller stops processing the rest of the payload). */
static int sess_packet(eio_session *s, const unsigned char *p, size_t len, int binary)
{
    const eio_endpoint *ep = s->ep;
    if (s->state != S_OPEN) return -1;
    if (binary) {
        ep->cb.on_message(s, s->state_ptr, (const char *)p, len, 1);
        return s->state == S_OPEN ? 0 : -1;
    }
    sio_str d;
    switch (sio_eio_decode((const char *)p, len, &d)) {
    case SIO_EIO_CLOSE: /* close (A11; Node ignores it on WebSocket, we honour it, as the test suites expect) */
        s->client_closed = 1;
        sess_close(s, "transport close");
        return -1;
    case SIO_EIO_PING: /* a ping from the client: not allowed in v4 */
        sess_close(s, "transport error");
        return -1;
    case SIO_EIO_PONG:
        if (s->pong_by) {
            s->pong_by = 0;
            s->ping_at = sio__now_ms() + (uint64_t)ep->o.ping_interval;
            sess_rearm(s);
        }
        return 0;
    case SIO_EIO_MESSAGE:
        ep->cb.on_message(s, s->state_ptr, d.p, d.len, 0);
        return s->state == S_OPEN ? 0 : -1;
    case SIO_EIO_OPEN:
    case SIO_EIO_UPGRADE:
    case SIO_EIO_NOOP: /* nothing to do here */
        return 0;
    case SIO_EIO_BINARY: { /* base64 (polling; Node also takes it in a WebSocket text frame) */
        unsigned char *bin = malloc(d.len / 4 * 3 + 3);
        long n = bin ? sio_base64_decode(d.p, d.len, bin) : -1;
        if (n < 0) {
            sess_close(s, bin ? "parse error" : "transport error");
            free(bin);
            return -1;
        }
        ep->cb.on_message(s, s->state_ptr, (const char *)bin, (size_t)n, 1);
        free(bin);
        return s->state == S_OPEN ? 0 : -1;
    }
    default:
        sess_close(s, "parse error");
        return -1;
    }
}

/* ====== Polling (A7) ====== */

/* Answers the held GET with everything queued (joined with \x1e, binary as b+base64), plus a
 * noop if one is due and `tail` (the close packet '1', a noop '6', or 0). Then releases the GET
 * connection and returns it: once the caller is done with the session, it must call
 * conn_process_buffered() on it, since pipelined requests may wait behind the GET. */
static eio_conn *poll_answer(eio_session *s, char tail)
{
    eio_conn *c = s->get;
    size_t body = 0;
    uint32_t n = s->q.len;
    for (uint32_t i = 0; i < n; i++) {
        eio_pkt *p = q_pkt(q_at(&s->q, i));
        body += (i ? 1 : 0) + (p->binary ? 1 + 4 * ((p->len + 2) / 3) : p->len);
    }
    char extra[2] = {0};
    size_t nextra = 0;
    if (s->noop) extra[nextra++] = '6';
    if (tail) extra[nextra++] = tail;
    body += nextra * 2 - (n == 0 && nextra ? 1 : 0);

    char head[SIO_RESPONSE_HEAD_MAX];
    size_t hn = (size_t)snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\n");
    hn += cors_headers(s->ep, c->cors, head + hn, sizeof head - hn, 0);
    hn += (size_t)snprintf(head + hn, sizeof head - hn,
                           "Content-Type: text/plain; charset=UTF-8\r\nContent-Length: %zu\r\ncache-control: no-store\r\n%s\r\n",
                           body, c->keep_alive ? "" : "Connection: close\r\n");
    eio_pkt *r = sio__pkt_alloc(hn + body + 1, 0); /* + 1: sio_base64_encode's NUL */
    if (!r) {
        conn_close(c, "transport error");
        return c;
    }
    r->len--;
    r->raw = 1;
    char *w = r->data;
    memcpy(w, head, hn);
    w += hn;
    for (uint32_t i = 0; i < n; i++) {
        eio_pkt *p = q_pkt(q_at(&s->q, 0));
        if (i) *w++ = '\x1e';
        if (p->binary) {
            *w++ = 'b';
            w += sio_base64_encode(p->data, p->len, w); /* writes a NUL after; overwritten next */
        } else {
            memcpy(w, p->data, p->len);
            w += p->len;
        }
        q_pop(&s->q);
    }
    for (size_t i = 0; i < nextra; i++) {
        if (n || i) *w++ = '\x1e';
        *w++ = extra[i];
    }
    s->noop = 0;
    s->get = NULL;
    c->sess = NULL;
    c->held = 0;
    conn_send(c, r, 0);
    sio__pkt_unref(r);
    if (!c->keep_alive) c->close_after = 1;
    return c;
}

/* A polling GET for session s (A7): held until there is something to send. */
static void poll_get(eio_conn *c, eio_session *s, int cors, int keep_alive)
{
    if (s->get) { /* a second concurrent GET is a fatal client error */
        respond(c, 400, cors, NULL, "", NULL, 0, RESP_CLOSE);
        sess_close(s, "transport error");
        return;
    }
    s->get = c;
    c->sess = s;
    c->held = 1;
    c->cors = (int8_t)cors;
    c->keep_alive = (uint8_t)keep_alive;
    if (s->state == S_LINGER) { /* a closed session's last GETs: what was queued, then 6 and 1 */
        if (s->q.len) {
            poll_answer(s, 0);
            return;
        }
        s->noop = 1;
        poll_answer(s, '1');
        sess_free(s);
        return; /* http_process goes on with pipelined requests */
    }
    if (s->upgrading) s->noop = 1;
    if (s->q.len || s->noop) sess_want_flush(s);
}

/* A POST's head has arrived on c but its body has not: the session remembers it, so that a
 * second POST overlapping it (on another connection) is refused as Node refuses it. */
static void post_begin(eio_conn *c, const struct sio_http_req *req)
{
    char sid[SIO_ID_LEN + 2];
    if (req->method.len != 4 || memcmp(req->method.p, "POST", 4) != 0) return;
    if (sio_http_query(req->query, "sid", sid, sizeof sid) != SIO_ID_LEN) return;
    eio_session *s = sio__idtab_get(&c->e->sessions, sid, SIO_ID_LEN);
    if (!s || s->post) return;
    s->post = c;
    c->post_sess = s;
}

/* The POST on c is complete (or c is going away): its session no longer waits for it. */
static void post_end(eio_conn *c)
{
    if (!c->post_sess) return;
    if (c->post_sess->post == c) c->post_sess->post = NULL;
    c->post_sess = NULL;
}

/* A polling POST for session s: the body is one or more packets joined with \x1e. */
static void poll_post(eio_conn *c, eio_session *s, const struct sio_http_req *req, unsigned char *body,
                      size_t blen, int cors)
{
    if (s->post && s->post != c) { /* another POST of this session is still arriving (A7) */
        respond(c, 400, cors, NULL, "", NULL, 0, 0);
        sess_close(s, "transport error");
        return;
    }
    post_end(c);
    sio_str ct = sio_http_header(req, "content-type");
    if (ct.len >= 24 && strncasecmp(ct.p, "application/octet-stream", 24) == 0) {
        respond(c, 400, cors, NULL, "", NULL, 0, 0);
        sess_close(s, "transport error");
        return;
    }
    size_t pos = 0;
    sio_str pkt;
    while (sio_eio_payload_next((const char *)body, blen, &pos, &pkt))
        if (sess_packet(s, (const unsigned char *)pkt.p, pkt.len, 0) < 0) break;
    respond(c, 200, cors, "text/html", "", "ok", 2, RESP_NOSTORE);
}

/* ====== WebSocket (A8, A9) ====== */

/* Sends a close frame with an optional status code, and closes after it is written. */
static void ws_send_close(eio_conn *c, int code)
{
    if (c->ws_closing && c->close_after) return;
    unsigned char b[4];
    size_t n = 0;
    if (code) {
        b[0] = (unsigned char)(code >> 8);
        b[1] = (unsigned char)code;
        n = 2;
    }
    eio_pkt *p = sio__pkt_alloc(n, 0);
    if (!p) {
        conn_close(c, "transport error");
        return;
    }
    memcpy(p->data, b, n);
    p->wshdr_len = (uint8_t)sio_ws_frame_header(p->wshdr, SIO_WS_OP_CLOSE, n);
    conn_send(c, p, 1);
    sio__pkt_unref(p);
    c->ws_closing = 1;
    c->close_after = 1;
}

/* Detaches WebSocket c from its session: a session's own WebSocket going away closes the session
 * with `reason`; a probe going away only cancels the upgrade (polling goes on). */
static void ws_detach(eio_conn *c, const char *reason)
{
    eio_session *s = c->sess;
    c->sess = NULL;
    if (!s) return;
    if (s->ws == c) {
        s->ws = NULL;
        sess_close(s, reason);
    } else if (s->probe == c) {
        s->probe = NULL;
        s->upgrading = 0;
        s->upgrade_by = 0;
        sess_rearm(s);
    }
}

/* A WebSocket protocol error on c: close frame with `code` (0 = none); the session (if c
 * carries it) ends with "transport error". */
static void ws_fail(eio_conn *c, int code)
{
    ws_detach(c, "transport error");
    ws_send_close(c, code);
}

/* The probe WebSocket sent "5": the session moves to it, and what was queued for polling is
 * delivered there, in order. A GET still held gets a noop. */
static void ws_upgrade(eio_conn *c, eio_session *s)
{
    s->probe = NULL;
    s->upgrading = 0;
    s->upgrade_by = 0;
    s->transport = T_WS;
    s->ws = c;
    c->role = ROLE_WS;
    if (s->get) {
        s->noop = 1;
        conn_process_buffered(poll_answer(s, 0));
    }
    while (s->q.len) {
        conn_send(c, q_pkt(q_at(&s->q, 0)), 1);
        q_pop(&s->q);
    }
    q_clear(&s->q);
    sess_rearm(s);
}

/* A complete message on a probe WebSocket: only "2probe" then "5" are allowed (A9). */
static void probe_message(eio_conn *c, const unsigned char *p, size_t len, int binary)
{
    eio_session *s = c->sess;
    if (!binary && len == 6 && memcmp(p, "2probe", 6) == 0 && !s->upgrading) {
        eio_pkt *r = sio__pkt_new("3probe", 6, 0);
        if (!r) {
            conn_close(c, "transport error");
            return;
        }
        conn_send(c, r, 1);
        sio__pkt_unref(r);
        s->upgrading = 1;
        s->noop = 1;
        sess_want_flush(s);
        return;
    }
    if (!binary && len == 1 && p[0] == '5' && s->upgrading) {
        ws_upgrade(c, s);
        return;
    }
    ws_fail(c, 0);
}

/* A complete WebSocket message (text already UTF-8-checked). */
static void ws_message(eio_conn *c, const unsigned char *p, size_t len, int binary)
{
    if (c->role == ROLE_PROBE) {
        if (c->sess) probe_message(c, p, len, binary);
        return;
    }
    if (c->sess) sess_packet(c->sess, p, len, binary);
}

/* A close frame from the peer (RFC 6455 §5.5.1, §7.4): check its code and reason, echo a close
 * with the same code, and end the session with "transport close". */
static void ws_close_frame(eio_conn *c, const unsigned char *p, size_t len)
{
    int code = 0;
    if (len == 1) {
        ws_fail(c, SIO_WS_CLOSE_PROTOCOL);
        return;
    }
    if (len >= 2) {
        code = p[0] << 8 | p[1];
        sio_utf8_state st = 0;
        if (!sio_ws_close_code_ok((unsigned)code)) {
            ws_fail(c, SIO_WS_CLOSE_PROTOCOL);
            return;
        }
        if (sio_utf8_feed(&st, p + 2, len - 2) < 0 || !sio_utf8_complete(st)) {
            ws_fail(c, SIO_WS_CLOSE_BAD_DATA);
            return;
        }
    }
    ws_detach(c, "transport close");
    ws_send_close(c, code);
}

/* Parses and handles the WebSocket frames in data[0..len); returns the bytes consumed (a
 * partial frame at the end stays for the next read). */
static size_t ws_process(eio_conn *c, unsigned char *data, size_t len)
{
    size_t off = 0;
    uint64_t max = c->sess ? c->sess->ep->o.max_http_buffer_size : c->e->max_buffer;
    while (off < len && !c->close_asap) {
        if (c->ws_closing) return len; /* after a close frame, data is ignored */
        struct sio_ws_frame f;
        long n = sio_ws_parse_frame(data + off, len - off, max, &f);
        if (n == -2) break;
        if (n < 0) {
            ws_fail(c, f.close_code);
            return len;
        }
        off += (size_t)n;
        if (f.opcode >= SIO_WS_OP_CLOSE) { /* control frames may arrive between fragments */
            if (f.opcode == SIO_WS_OP_CLOSE) {
                ws_close_frame(c, f.payload, (size_t)f.payload_len);
            } else if (f.opcode == SIO_WS_OP_PING) {
                eio_pkt *p = sio__pkt_alloc((size_t)f.payload_len, 0);
                if (!p) {
                    conn_close(c, "transport error");
                    return len;
                }
                memcpy(p->data, f.payload, (size_t)f.payload_len);
                p->wshdr_len = (uint8_t)sio_ws_frame_header(p->wshdr, SIO_WS_OP_PONG, f.payload_len);
                conn_send(c, p, 1);
                sio__pkt_unref(p);
            }
            continue;
        }
        int starting = f.opcode != SIO_WS_OP_CONT;
        if (starting == (c->fw != NULL)) { /* continuation without a start, or a start inside one */
            ws_fail(c, SIO_WS_CLOSE_PROTOCOL);
            return len;
        }
        if (f.fin && starting) { /* the common case: a whole message in one frame, no copy */
            sio_utf8_state st = 0;
            if (f.opcode == SIO_WS_OP_TEXT &&
                (sio_utf8_feed(&st, f.payload, (size_t)f.payload_len) < 0 || !sio_utf8_complete(st))) {
                ws_fail(c, SIO_WS_CLOSE_BAD_DATA);
                return len;
            }
            ws_message(c, f.payload, (size_t)f.payload_len, f.opcode == SIO_WS_OP_BINARY);
            continue;
        }
        if (starting && !(c->fw = calloc(1, sizeof *c->fw))) {
            conn_close(c, "transport error");
            return len;
        }
        struct fragwait *fw = c->fw;
        if (starting) fw->opcode = (uint8_t)f.opcode;
        if (fw->opcode == SIO_WS_OP_TEXT && /* checked as it arrives: a bad byte fails at once */
            (sio_utf8_feed(&fw->utf8, f.payload, (size_t)f.payload_len) < 0 || (f.fin && !sio_utf8_complete(fw->utf8)))) {
            ws_fail(c, SIO_WS_CLOSE_BAD_DATA);
            return len;
        }
        if (++fw->count > SIO_WS_MAX_FRAGMENTS) { /* empty fragments count too (CVE-2026-48779) */
            ws_fail(c, SIO_WS_CLOSE_POLICY);
            return len;
        }
        if (fw->buf.len + f.payload_len > max) {
            ws_fail(c, SIO_WS_CLOSE_TOO_BIG);
            return len;
        }
        if (f.payload_len && ibuf_append(&fw->buf, f.payload, (size_t)f.payload_len, max) < 0) {
            conn_close(c, "transport error");
            return len;
        }
        if (f.fin) {
            c->fw = NULL;
            ws_message(c, fw->buf.p ? fw->buf.p : (unsigned char *)"", fw->buf.len, fw->opcode == SIO_WS_OP_BINARY);
            free(fw->buf.p);
            free(fw);
        }
    }
    return off;
}

/* ====== HTTP requests ====== */

static int is_tchar(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

/* Checks a Sec-WebSocket-Protocol value: tokens separated by commas with optional spaces or
 * tabs, none empty. Copies the first token to out (cut to cap - 1; a longer name simply is not
 * echoed). Returns 0, or -1 if the list is malformed. */
static int ws_first_protocol(sio_str v, char *out, size_t cap)
{
    size_t i = 0, n = 0;
    int items = 0;
    for (;;) {
        while (i < v.len && (v.p[i] == ' ' || v.p[i] == '\t')) i++;
        size_t start = i;
        while (i < v.len && is_tchar((unsigned char)v.p[i])) i++;
        if (i == start) return -1; /* an empty item, or a character that is not a tchar */
        if (items++ == 0) {
            n = i - start < cap ? i - start : 0;
            memcpy(out, v.p + start, n);
            out[n] = '\0';
        }
        while (i < v.len && (v.p[i] == ' ' || v.p[i] == '\t')) i++;
        if (i == v.len) return 0;
        if (v.p[i] != ',') return -1;
        i++;
    }
}

/* Validates the WebSocket headers of an upgrade request and answers 101 (A8). Returns 0, or -1
 * after answering the error (400 text, connection closed). */
static int ws_handshake(eio_conn *c, const struct sio_http_req *req, int cors)
{
    sio_str up = sio_http_header(req, "upgrade");
    if (!sio_http_has_token(up, "websocket")) {
        respond(c, 400, cors, "text/html", "", "Invalid Upgrade header", 22, RESP_CLOSE);
        return -1;
    }
    sio_str ver = sio_http_header(req, "sec-websocket-version");
    if (ver.len != 2 || memcmp(ver.p, "13", 2) != 0) {
        const char *m = "Missing or invalid Sec-WebSocket-Version header";
        respond(c, 400, cors, "text/html", "Sec-WebSocket-Version: 13, 8\r\n", m, strlen(m), RESP_CLOSE);
        return -1;
    }
    /* Sec-WebSocket-Protocol: a comma-separated list of tokens; like Node's ws we accept the
     * first. Parsed in one linear pass (CVE-2021-32640 was a regex here). */
    char proto[64] = "";
    sio_str sp = sio_http_header(req, "sec-websocket-protocol");
    if (sp.p && ws_first_protocol(sp, proto, sizeof proto) < 0) {
        const char *m = "Invalid Sec-WebSocket-Protocol header";
        respond(c, 400, cors, "text/html", "", m, strlen(m), RESP_CLOSE);
        return -1;
    }
    sio_str key = sio_http_header(req, "sec-websocket-key");
    char accept[29];
    if (!key.p || sio_ws_accept_key(key.p, key.len, accept) < 0) {
        const char *m = "Missing or invalid Sec-WebSocket-Key header";
        respond(c, 400, cors, "text/html", "", m, strlen(m), RESP_CLOSE);
        return -1;
    }
    char head[SIO_RESPONSE_HEAD_MAX];
    size_t n = (size_t)snprintf(head, sizeof head,
                                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                "Sec-WebSocket-Accept: %s\r\n",
                                accept);
    if (proto[0]) n += (size_t)snprintf(head + n, sizeof head - n, "Sec-WebSocket-Protocol: %s\r\n", proto);
    n += cors_headers(c->ep, cors, head + n, sizeof head - n, 0);
    n += (size_t)snprintf(head + n, sizeof head - n, "\r\n");
    eio_pkt *p = sio__pkt_alloc(n, 0);
    if (!p) {
        conn_close(c, "transport error");
        return -1;
    }
    p->raw = 1;
    memcpy(p->data, head, n);
    conn_send(c, p, 0);
    sio__pkt_unref(p);
    return 0;
}

/* A CORS preflight (OPTIONS on the Engine.IO path when CORS is configured): 204 (A12). */
static void cors_preflight(eio_conn *c, const struct sio_http_req *req, int cors, int keep)
{
    char extra[SIO_RESPONSE_HEAD_MAX];
    sio_str rh = sio_http_header(req, "access-control-request-headers");
    size_t n = 0;
    char head[SIO_RESPONSE_HEAD_MAX];
    size_t hn = (size_t)snprintf(head, sizeof head, "HTTP/1.1 204 No Content\r\n");
    hn += cors_headers(c->ep, cors, head + hn, sizeof head - hn, rh.p != NULL);
    n = (size_t)snprintf(extra, sizeof extra, "Access-Control-Allow-Methods: GET,HEAD,PUT,PATCH,POST,DELETE\r\n");
    if (rh.p && rh.len < 900) n += (size_t)snprintf(extra + n, sizeof extra - n, "Access-Control-Allow-Headers: %.*s\r\n", (int)rh.len, rh.p);
    hn += (size_t)snprintf(head + hn, sizeof head - hn, "%.*sContent-Length: 0\r\n%s\r\n", (int)n, extra,
                           keep ? "" : "Connection: close\r\n");
    if (hn >= sizeof head) hn = sizeof head - 1;
    eio_pkt *p = sio__pkt_new(head, hn, 0);
    if (!p) {
        conn_close(c, "transport error");
        return;
    }
    p->raw = 1;
    conn_send(c, p, 0);
    sio__pkt_unref(p);
    if (!keep) c->close_after = 1;
}

/* Routes one complete request on the Engine.IO path through Node's checks, in Node's order
 * (A2), to the handshake, a session's GET/POST, or the WebSocket upgrade. */
static void engine_request(eio_conn *c, const eio_endpoint *ep, const struct sio_http_req *req, unsigned char *body,
                           size_t blen)
{
    eio_engine *e = c->e;
    c->ep = ep;
    int keep = sio_http_keep_alive(req);
    int cors = cors_pick(ep, sio_http_header(req, "origin"));
    int is_get = req->method.len == 3 && memcmp(req->method.p, "GET", 3) == 0;
    int is_post = req->method.len == 4 && memcmp(req->method.p, "POST", 4) == 0;
    int upgrade = sio_http_header(req, "upgrade").p != NULL &&
                  sio_http_has_token(sio_http_header(req, "connection"), "upgrade");

    if (cors && req->method.len == 7 && memcmp(req->method.p, "OPTIONS", 7) == 0) {
        cors_preflight(c, req, cors, keep);
        return;
    }
    char transport[16], eiov[8], sid[SIO_ID_LEN + 2];
    long tl = sio_http_query(req->query, "transport", transport, sizeof transport);
    int t_poll = tl == 7 && strcmp(transport, "polling") == 0 && (ep->o.transports & SIO_TRANSPORT_POLLING);
    int t_ws = tl == 9 && strcmp(transport, "websocket") == 0 && (ep->o.transports & SIO_TRANSPORT_WEBSOCKET);
    if (!t_poll && !t_ws) {
        engine_error(c, 0, cors, upgrade, 0, NULL, keep);
        return;
    }
    long sl = sio_http_query(req->query, "sid", sid, sizeof sid);
    if (sl != -1) { /* a request of an existing session */
        eio_session *s = sl > 0 ? sio__idtab_get(&e->sessions, sid, (size_t)sl) : NULL;
        if (s && s->ep != ep) s = NULL; /* a session of another path */
        if (!s || (s->state == S_CLOSED) || (s->state == S_LINGER && !(is_get && !upgrade))) {
            engine_error(c, 1, cors, upgrade, 0, NULL, keep);
            return;
        }
        if (upgrade) {
            if (!t_ws || s->transport != T_POLLING || s->probe || !is_get) {
                engine_error(c, 3, cors, 1, 0, NULL, 0);
                return;
            }
            if (ws_handshake(c, req, cors) < 0) return;
            c->role = ROLE_PROBE;
            c->sess = s;
            s->probe = c;
            s->upgrade_by = sio__now_ms() + (uint64_t)ep->o.upgrade_timeout;
            sess_rearm(s);
            return;
        }
        if (!t_poll || (s->transport != T_POLLING && s->state == S_OPEN)) {
            engine_error(c, 3, cors, 0, 0, NULL, keep);
            return;
        }
        if (is_get) poll_get(c, s, cors, keep);
        else if (is_post) poll_post(c, s, req, body, blen, cors);
        else respond(c, 400, cors, NULL, "", NULL, 0, keep ? 0 : RESP_CLOSE);
        return;
    }
    /* A handshake. */
    if (!is_get) {
        engine_error(c, 2, cors, upgrade, 0, NULL, keep);
        return;
    }
    if (t_ws && !upgrade) {
        engine_error(c, 3, cors, 0, 0, NULL, keep);
        return;
    }
    if (t_poll && upgrade) {
        engine_error(c, 3, cors, 1, 0, NULL, 0);
        return;
    }
    if (ep->o.allow_request) { /* allowRequest (A2 step 5): code 4, 403 */
        sio_http_request r = {req->method, req->path, req->query, req};
        const char *why = ep->o.allow_request(&r, ep->o.allow_request_ud);
        if (why) {
            engine_error(c, 4, cors, upgrade, 403, why, keep);
            return;
        }
    }
    long el = sio_http_query(req->query, "EIO", eiov, sizeof eiov);
    if (el != 1 || eiov[0] != '4') {
        engine_error(c, 5, cors, upgrade, 0, NULL, keep);
        return;
    }
    if (e->shutting_down) {
        engine_error(c, 3, cors, upgrade, 503, "Server shutting down", 0);
        return;
    }
    if (e->sessions.count >= e->sessions.limit) { /* max_clients: refuse politely */
        const char *m = "Server is full";
        if (upgrade) respond(c, 503, cors, "text/html", "", m, strlen(m), RESP_CLOSE);
        else engine_error(c, 3, cors, 0, 503, m, 0);
        return;
    }
    if (t_ws && ws_handshake(c, req, cors) < 0) return;
    eio_session *s = sess_new(e, ep, t_ws ? T_WS : T_POLLING, req, c);
    if (!s) {
        if (t_ws) { /* already switched protocols: say it with a close frame */
            c->role = ROLE_WS;
            ws_send_close(c, 1011 /* internal error */);
        } else {
            engine_error(c, 3, cors, 0, 503, "Server is full", 0);
        }
        return;
    }
    if (t_poll) {
        char open[256];
        int on = open_packet(s, open, sizeof open, ep->o.allow_upgrades && (ep->o.transports & SIO_TRANSPORT_WEBSOCKET));
        char cookie[256] = "";
        const struct sio_options *o = &ep->o;
        if (o->cookie_name) { /* A13: only on the polling handshake; attribute order as Node's */
            int n = snprintf(cookie, sizeof cookie, "Set-Cookie: %s=%s", o->cookie_name, s->sid);
            if (o->cookie_max_age > 0) n += snprintf(cookie + n, sizeof cookie - (size_t)n, "; Max-Age=%d", o->cookie_max_age);
            if (o->cookie_path) n += snprintf(cookie + n, sizeof cookie - (size_t)n, "; Path=%s", o->cookie_path);
            if (o->cookie_http_only) n += snprintf(cookie + n, sizeof cookie - (size_t)n, "; HttpOnly");
            if (o->cookie_same_site) n += snprintf(cookie + n, sizeof cookie - (size_t)n, "; SameSite=%s", o->cookie_same_site);
            if ((size_t)n + 3 > sizeof cookie) cookie[0] = '\0';
            else snprintf(cookie + n, sizeof cookie - (size_t)n, "\r\n");
        }
        respond(c, 200, cors, "text/plain; charset=UTF-8", cookie, open, (size_t)on, RESP_NOSTORE | (keep ? 0 : RESP_CLOSE));
    }
}

void sio__engine_on_request(eio_engine *e, sio_request_cb cb, void *ud)
{
    e->on_request = cb;
    e->on_request_ud = ud;
}

sio_str sio_request_header(const sio_http_request *req, const char *name)
{
    return sio_http_header(req->opaque, name);
}

/* The methods of RFC 9110 §9 plus PATCH; anything else is refused with 400, as Node's parser
 * does (bad-inputs B1.15). */
static int known_method(sio_str m)
{
    static const char *const known[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"};
    for (size_t i = 0; i < sizeof known / sizeof *known; i++)
        if (strlen(known[i]) == m.len && memcmp(known[i], m.p, m.len) == 0) return 1;
    return 0;
}

/* A request outside the Engine.IO path: the application's handler answers, or 404. */
static void plain_request(eio_conn *c, const struct sio_http_req *req)
{
    eio_engine *e = c->e;
    if (!known_method(req->method)) {
        respond(c, 400, 0, NULL, "", NULL, 0, RESP_CLOSE);
        return;
    }
    sio_http_response res = {404, "text/plain; charset=utf-8", NULL, "Not Found", 9, NULL};
    if (e->on_request) {
        sio_http_request r = {req->method, req->path, req->query, req};
        e->on_request(&r, &res, e->on_request_ud);
    }
    int head = req->method.len == 4 && memcmp(req->method.p, "HEAD", 4) == 0;
    if (res.status < 100 || res.status > 599) res.status = 500;
    int keep = sio_http_keep_alive(req);
    char head_buf[SIO_RESPONSE_HEAD_MAX];
    size_t n = (size_t)snprintf(head_buf, sizeof head_buf, "HTTP/1.1 %d %s\r\n", res.status, sio_http_reason(res.status));
    if (res.content_type) n += (size_t)snprintf(head_buf + n, sizeof head_buf - n, "Content-Type: %s\r\n", res.content_type);
    n += (size_t)snprintf(head_buf + n, sizeof head_buf - n, "Content-Length: %zu\r\n%s%s\r\n", res.len,
                          res.headers ? res.headers : "", keep ? "" : "Connection: close\r\n");
    if (n >= sizeof head_buf) { /* extra headers too long: refuse rather than truncate */
        n = (size_t)snprintf(head_buf, sizeof head_buf, "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n");
        res.len = 0;
    }
    size_t blen = head ? 0 : res.len;
    eio_pkt *p = sio__pkt_alloc(n + blen, 0);
    if (p) {
        p->raw = 1;
        memcpy(p->data, head_buf, n);
        if (blen) memcpy(p->data + n, res.body, blen);
        conn_send(c, p, 0);
        sio__pkt_unref(p);
    } else {
        conn_close(c, "transport error");
    }
    if (res.free_body) res.free_body((void *)res.body);
    if (!keep) c->close_after = 1;
}

/* Parses and serves the HTTP requests in data[0..len), in order (pipelining), until one needs
 * more bytes, holds the connection (a polling GET), or switches it to WebSocket. Returns the
 * bytes consumed. */
static size_t http_process(eio_conn *c, unsigned char *data, size_t len)
{
    eio_engine *e = c->e;
    size_t off = 0;
    while (off < len && !c->close_asap && !c->close_after && !c->held && c->role == ROLE_HTTP) {
        struct sio_http_header hdrs[SIO_HTTP_MAX_HEADERS];
        struct sio_http_req req;
        req.headers = hdrs;
        req.num_headers = SIO_HTTP_MAX_HEADERS;
        long hl = sio_http_parse((const char *)data + off, len - off, &req, off == 0 ? c->parse_last : 0);
        if (hl == -2) {
            c->parse_last = (uint32_t)(len - off);
            break;
        }
        c->parse_last = 0;
        if (hl < 0) {
            respond(c, req.status ? req.status : 400, 0, NULL, "", NULL, 0, RESP_CLOSE);
            return len;
        }
        uint64_t blen = 0;
        int framing = sio_http_body_length(&req, &blen);
        if (framing < 0) {
            respond(c, 400, 0, NULL, "", NULL, 0, RESP_CLOSE);
            return len;
        }
        int hosts = 0; /* exactly one Host in HTTP/1.1 (RFC 9112 §3.2); never two */
        for (size_t i = 0; i < req.num_headers; i++)
            hosts += req.headers[i].name.len == 4 && strncasecmp(req.headers[i].name.p, "host", 4) == 0;
        if (hosts > 1 || (req.minor_version == 1 && hosts == 0)) {
            respond(c, 400, 0, NULL, "", NULL, 0, RESP_CLOSE);
            return len;
        }
        const eio_endpoint *ep = find_endpoint(e, req.path);
        if (framing == 1) { /* chunked bodies: not needed by any Engine.IO client */
            respond(c, 411, 0, NULL, "", NULL, 0, RESP_CLOSE);
            return len;
        }
        uint64_t cap = ep ? ep->o.max_http_buffer_size : SIO_MAX_BODY_OTHER;
        if (blen > cap) { /* refuse before buffering (CVE-2020-36048); the session goes too */
            if (ep) {
                char sid[SIO_ID_LEN + 2];
                long sl = sio_http_query(req.query, "sid", sid, sizeof sid);
                eio_session *s = sl == SIO_ID_LEN ? sio__idtab_get(&e->sessions, sid, SIO_ID_LEN) : NULL;
                if (s) sess_close(s, "transport error");
            }
            c->ep = ep;
            respond(c, 413, cors_pick(ep, sio_http_header(&req, "origin")), NULL, "", NULL, 0, RESP_CLOSE);
            return len;
        }
        if (len - off - (size_t)hl < blen) { /* wait for the whole body */
            c->parse_last = 0;
            if (ep && !c->post_sess) post_begin(c, &req);
            break;
        }
        unsigned char *body = data + off + (size_t)hl;
        off += (size_t)hl + (size_t)blen;
        if (ep) engine_request(c, ep, &req, body, (size_t)blen);
        else plain_request(c, &req);
    }
    return off;
}

/* Feeds input to the connection's current protocol. An HTTP request may switch it to
 * WebSocket midway; the rest of the bytes are then frames (CVE-2022-21676). */
static size_t conn_process(eio_conn *c, unsigned char *data, size_t len)
{
    size_t off = 0;
    if (c->role == ROLE_HTTP) off = http_process(c, data, len);
    if (c->role != ROLE_HTTP && off < len && !c->close_asap) off += ws_process(c, data + off, len - off);
    if (c->close_after && c->role == ROLE_HTTP) return len; /* nothing more is read */
    return off;
}

/* ====== End of the turn ====== */

/* Finishes a closed session: tells the Socket.IO layer, then ends its transports. A polling
 * session that still owes the client packets (or a close) lingers until its next GET. */
static void sess_finish(eio_session *s)
{
    s->ep->cb.on_close(s, s->state_ptr, s->reason);
    s->state_ptr = NULL;
    if (s->probe) {
        eio_conn *p = s->probe;
        s->probe = NULL;
        p->sess = NULL;
        ws_send_close(p, 0);
    }
    if (s->ws) {
        eio_conn *w = s->ws;
        s->ws = NULL;
        w->sess = NULL;
        ws_send_close(w, 0);
    }
    if (s->transport == T_POLLING) {
        int server_side = !s->client_closed;
        int hard = strcmp(s->reason, "ping timeout") == 0 || strcmp(s->reason, "parse error") == 0 ||
                   strcmp(s->reason, "transport error") == 0;
        if (server_side && !hard && (s->q.len || !s->get)) {
            /* Node keeps such a session for its next GETs: first what is queued (DISCONNECT
             * packets, say), then "6\x1e1". Never both in one body: the client acts on the close
             * packet at once but on Socket.IO packets a tick later, so the close would win. */
            s->state = S_LINGER;
            s->ping_at = s->pong_by = s->upgrade_by = 0;
            s->linger_by = sio__now_ms() + SIO_CLOSE_GRACE_MS;
            sess_rearm(s);
            if (s->get) conn_process_buffered(poll_answer(s, 0));
            return;
        }
        if (s->get) { /* nothing queued, or a client close ('6') or a hard error ('1') */
            eio_conn *c = poll_answer(s, server_side ? '1' : '6');
            sess_free(s);
            conn_process_buffered(c);
            return;
        }
    }
    sess_free(s);
}

void sio__engine_before_sleep(eio_engine *e)
{
    /* Closing and flushing can cause more of each (a flush processes pipelined requests, a
     * close handler broadcasts), so repeat until both lists are empty. */
    for (int round = 0; round < 16 && (e->closed || e->flush); round++) {
        while (e->closed) {
            eio_session *s = e->closed;
            e->closed = s->next_close;
            sess_finish(s);
        }
        while (e->flush) {
            eio_session *s = e->flush;
            e->flush = s->next_flush;
            s->flushing = 0;
            if (s->get && s->state == S_OPEN && (s->q.len || s->noop)) conn_process_buffered(poll_answer(s, 0));
        }
    }
    while (e->pending) {
        eio_conn *c = e->pending;
        e->pending = c->next_pending;
        c->pending = 0;
        conn_flush(c);
    }
    while (e->closing) {
        eio_conn *c = e->closing;
        e->closing = c->next_close;
        conn_free(c);
    }
}

void sio__engine_shutdown(eio_engine *e)
{
    if (e->shutting_down) return;
    e->shutting_down = 1; /* the listener stays open: polling clients come back for their
                             close packet; new handshakes get 503 */
    for (uint32_t i = 0; i <= e->sessions.mask; i++) {
        eio_session *s = e->sessions.slots[i];
        if (s && s->state == S_OPEN) sess_close(s, "server shutting down");
    }
    for (eio_conn *c = e->conns; c; c = c->next)
        if (c->role == ROLE_HTTP && !c->held && !c->wq.len) conn_close(c, "server shutting down");
}

int sio__engine_drained(const eio_engine *e)
{
    for (eio_conn *c = e->conns; c; c = c->next)
        if (c->wq.len && !c->close_asap) return 0;
    /* A polling client that was between two GETs gets its close packet from the next one,
     * which comes within milliseconds: wait for it rather than let it find the port closed. */
    for (uint32_t i = 0; i <= e->sessions.mask; i++) {
        const eio_session *s = e->sessions.slots[i];
        if (s && s->state == S_LINGER) return 0;
    }
    return 1;
}
