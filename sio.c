/* SPDX-License-Identifier: MIT */
/* sio.c -- Socket.IO v5 on top of Engine.IO (see protocol.md part B, and sio.h for the API).
 *
 * What lives here: the Socket.IO side of the packets (decoding is packet.c's; here attachments
 * are gathered and packets dispatched), namespaces and their middleware, sockets and the
 * fixed-size socket table keyed by socket id, rooms, broadcasting (one encoding shared by every
 * recipient), acks both ways, connectTimeout, the bare Engine.IO API, the Redis adapter (near the
 * end: the multi-node part), and the server object that runs the loop.
 * What does not: transports, HTTP, heartbeats (eio.c); JSON grammar (json.c); RESP and the Redis
 * connection (resp.c, redis.c); msgpack (msgpack.c).
 *
 * Lifetimes: a socket removed by the application (sio_disconnect) is taken out of broadcasts at
 * once but freed at the end of the loop turn, after its disconnect handler ran, so a handler
 * that disconnects its own socket keeps a valid pointer until it returns.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* accept4, getrandom, MSG_NOSIGNAL, strdup */
#endif
#include "sio.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "eio.h"
#include "http.h"
#include "loop.h"
#include "msgpack.h"
#include "packet.h"
#include "redis.h"

/* The public limits must fit what the codec accepts and writes. */
_Static_assert(SIO_MAX_ATTACHMENTS == SIO_PACKET_MAX_ATTACHMENTS, "SIO_MAX_ATTACHMENTS must equal SIO_PACKET_MAX_ATTACHMENTS");
_Static_assert(SIO_MAX_NSP_NAME <= SIO_PACKET_MAX_NSP, "SIO_MAX_NSP_NAME must not exceed SIO_PACKET_MAX_NSP");

/* ====== Types ====== */

#define SIO_PKT_STACK 1024     /* packets up to this size are encoded on the stack */
#define SIO_SHUTDOWN_MS 2000   /* how long sio_server_run() waits for goodbyes to be written */

typedef struct client client;
typedef struct room room;

/* A room: a set of sockets of one namespace. */
struct room {
    char *name;            /* NUL-terminated, owned */
    sio_socket **members;  /* members, in no particular order */
    uint32_t n;            /* members[] used */
    uint32_t cap;          /* members[] allocated */
    room *next;            /* hash chain */
};

/* One of a socket's room memberships, with its index in the room's member array (so leaving is
 * O(1): swap with the last member and fix that member's index). */
struct membership {
    room *r;      /* the room */
    uint32_t idx; /* this socket's index in r->members */
};

/* An event handler registered with sio_socket_on(). */
struct handler {
    sio_event_cb cb;      /* the callback */
    void *ud;             /* its data */
    struct handler *next; /* next handler of the socket */
    char name[];          /* event name, NUL-terminated */
};

/* A server emit waiting for the client's ack. */
struct pending_ack {
    int64_t id;               /* the ack id sent */
    sio_ack_cb cb;            /* called once */
    void *ud;                 /* its data */
    sio_socket *s;            /* the socket */
    sio_timer timer;          /* timeout (armed only with a timeout) */
    struct pending_ack *next; /* next pending ack of the socket */
};

/* Hooks few sockets use, allocated on first use to keep the socket small. */
struct sock_hooks {
    sio_event_cb on_any;              /* socket.onAny */
    void *on_any_ud;                  /* its data */
    sio_event_cb on_any_out;          /* socket.onAnyOutgoing */
    void *on_any_out_ud;              /* its data */
    sio_disconnect_cb on_disconnecting; /* socket.on("disconnecting") */
    void *on_disconnecting_ud;        /* its data */
};

/* What the session's first request told us (socket.handshake), stored right after its client
 * struct, in the same allocation. */
struct handshake {
    int64_t time;                  /* ms since the epoch when the session opened */
    uint32_t head_len;             /* bytes of the request head in text[] */
    uint32_t url_off;              /* offset of the NUL-terminated URL in text[] */
    uint32_t addr_off;             /* offset of the NUL-terminated peer address in text[] */
    char text[];                   /* the request head (re-parsed on lookup), NUL, URL, NUL, address, NUL */
};

struct sio_socket {
    char id[SIO_ID_LEN + 1];        /* socket id (key in the socket table) */
    sio_nsp *nsp;                   /* namespace */
    client *cl;                     /* the Engine.IO session's Socket.IO state */
    sio_socket *prev, *next;        /* namespace's sockets, in connection order */
    sio_socket *next_in_client;     /* the client's other sockets */
    sio_socket *next_dead;          /* list of sockets to finish at the end of the turn */
    struct membership *rooms;       /* named rooms joined (the id room is implicit) */
    uint16_t nrooms;                /* rooms[] used */
    uint16_t caprooms;              /* rooms[] allocated */
    uint8_t connected : 1;          /* past the middleware, in the namespace */
    uint8_t gone : 1;               /* disconnected; waiting to be finished */
    uint8_t left : 1;               /* has left every room, its id room included (disconnect) */
    uint8_t pending : 1;            /* a middleware returned SIO_PENDING: waiting for
                                       sio_middleware_next() (in the socket table, not connected) */
    uint8_t mw_pass : 1;            /* middleware being run: 0 = the dynamic parent's, 1 = own */
    uint16_t mw_next;               /* index, in that pass, of the middleware to run next */
    struct handler *handlers;       /* event handlers */
    sio_disconnect_cb on_disc;      /* disconnect handler */
    void *on_disc_ud;               /* its data */
    void *data;                     /* application data */
    sio_str auth;                   /* CONNECT payload: "{}", or a copy stored right after the struct */
    struct sock_hooks *hooks;       /* rarely used hooks, or NULL */
    const char *gone_reason;        /* why it was disconnected (static string) */
    uint32_t sent_mark;             /* broadcast epoch that already reached this socket */
    uint32_t skip_mark;             /* broadcast epoch that excludes this socket */
    struct pending_ack *acks;       /* emits waiting for an ack */
};

struct sio_nsp {
    char name[SIO_MAX_NSP_NAME + 1]; /* "/" or "/admin" */
    size_t name_len;                 /* strlen(name) */
    sio_server *srv;                 /* owner */
    struct mw { sio_middleware_cb cb; void *ud; } *mws; /* middleware, in order */
    int nmws;                        /* entries in mws */
    sio_connection_cb on_conn;       /* connection handler */
    void *on_conn_ud;                /* its data */
    sio_socket *first, *last;        /* sockets in connection order */
    size_t count;                    /* connected sockets */
    room **rtab;                     /* room hash table (chained), NULL until the first join */
    uint32_t rmask;                  /* rtab size - 1 */
    uint32_t nrooms;                 /* rooms that exist */
    int64_t next_ack_id;             /* ack ids for server emits, shared by the namespace (Node) */
    sio_nsp_match_cb match;          /* dynamic parent: which names to create (NULL otherwise) */
    void *match_ud;                  /* its data */
    sio_nsp *parent;                 /* for a dynamic child: the parent whose handlers it runs */
    struct handler *handlers;        /* event handlers shared by every socket (sio_nsp_on) */
    uint32_t seq;                    /* creation order (dynamic parents are tried in it) */
    char uid[8];                     /* this node's id for the namespace in the Redis adapter */
    sio_nsp *next;                   /* next namespace */
};

/* A BINARY_EVENT/BINARY_ACK whose attachments are still arriving (B7); allocated only then, so
 * an idle client carries one NULL pointer for it. */
struct binwait {
    int need;                          /* attachments announced */
    int have;                          /* attachments received */
    sio_bin bins[SIO_MAX_ATTACHMENTS]; /* received attachments (owned copies) */
    size_t head_len;                   /* length of the packet text */
    char head[];                       /* the packet text (copied) */
};

/* The Socket.IO state of one Engine.IO session (Node's Client). */
struct client {
    sio_server *srv;          /* owner */
    eio_session *sess;        /* the session */
    sio_socket *sockets;      /* connected sockets, one per namespace */
    sio_timer connect_timer;  /* connectTimeout, until the first CONNECT succeeds */
    struct handshake *hs;     /* socket.handshake data */
    struct binwait *bw;       /* a binary packet waiting for its attachments, or NULL */
};

/* A bare endpoint: the application's handlers, kept as the endpoint's callback data. */
struct bare_ep {
    struct sio_eio_handlers h; /* the application's handlers */
    void *ud;                  /* their data */
    struct bare_ep *next;      /* the server's other bare endpoints (freed with it) */
};

struct sio_server {
    struct sio_options o;  /* options */
    sio_loop *loop;        /* event loop */
    eio_engine *eng;       /* the Engine.IO layer */
    sio_nsp *nsps;         /* namespaces */
    eio_idtab sockets;     /* every connected socket, by id: the fixed-size socket table */
    sio_socket *dead;      /* sockets to finish at the end of the turn */
    uint32_t epoch;        /* broadcast counter, for "each socket once" (wrapping is harmless:
                              a mark only matters while its pass runs) */
    char *reject_data;     /* sio_reject_data() JSON for the CONNECT_ERROR being decided */
    int stop_fd;           /* eventfd written by sio_server_stop() */
    struct bare_ep *bare;  /* bare Engine.IO endpoints (sio_eio_attach) */
    struct bcast_ack *backs; /* broadcast acks still waiting (finished with SIO_ERR_CLOSED at free) */
    struct interval *intervals; /* sio_server_every() callbacks */
    uint32_t nsp_seq;      /* namespaces created so far (for sio_nsp.seq) */
    struct adapter *ad;    /* the Redis adapter, or NULL (one node) */
    struct cluster_req *creqs; /* sio_op_count_cluster() requests waiting */
    volatile int stopping; /* set once stop was requested */
};

/* ====== Errors and options ====== */

const char *sio_strerror(int err)
{
    switch (err) {
    case SIO_OK: return "ok";
    case SIO_ERR_NOMEM: return "out of memory";
    case SIO_ERR_INVAL: return "invalid argument";
    case SIO_ERR_CLOSED: return "socket is disconnected";
    case SIO_ERR_LIMIT: return "limit reached";
    case SIO_ERR_TIMEOUT: return "operation has timed out";
    case SIO_ERR_SYS: return "system error";
    default: return "unknown error";
    }
}

void sio_options_init(struct sio_options *o)
{
    memset(o, 0, sizeof *o);
    o->path = "/socket.io/";
    o->ping_interval = 25000;
    o->ping_timeout = 20000;
    o->upgrade_timeout = 10000;
    o->connect_timeout = 45000;
    o->max_http_buffer_size = 1000000;
    o->max_clients = SIO_MAX_CLIENTS_DEFAULT;
    o->http_request_timeout = SIO_HTTP_REQUEST_MS_DEFAULT;
    o->http_keepalive_timeout = SIO_HTTP_KEEPALIVE_MS_DEFAULT;
    o->output_hard_limit = SIO_OUTPUT_HARD_DEFAULT;
    o->output_soft_limit = SIO_OUTPUT_SOFT_DEFAULT;
    o->output_soft_seconds = SIO_OUTPUT_SOFT_SECONDS_DEFAULT;
    o->max_namespaces = SIO_MAX_NAMESPACES_DEFAULT;
    o->max_rooms = SIO_MAX_ROOMS_DEFAULT;
    o->allow_upgrades = 1;
    o->transports = SIO_TRANSPORT_POLLING | SIO_TRANSPORT_WEBSOCKET;
    o->cookie_path = "/";
    o->cookie_same_site = "Lax";
    o->cookie_http_only = 1;
}

/* ====== Encoding ======
 * A Socket.IO packet travels as an Engine.IO message: "4" + type [+ attachments "-"]
 * [+ namespace ","] [+ ack id] [+ JSON] (B2). Packets are built once into a shared eio_pkt. */

/* Writes Engine.IO's "4" (message) and the Socket.IO packet header (packet.h). */
static void put_header(sio_jw *w, int type, int nbins, const sio_nsp *nsp, int64_t ack_id)
{
    char b[1 + SIO_PACKET_HEADER_MAX];
    b[0] = '4';
    size_t n = 1 + sio_packet_header(b + 1, type, nbins, nsp->name, nsp->name_len, ack_id);
    sio_jw_bytes(w, b, n);
}

/* Turns a finished writer into a shared packet and releases the writer. NULL on ENOMEM. */
static eio_pkt *jw_to_pkt(sio_jw *w)
{
    eio_pkt *p = w->err ? NULL : sio__pkt_new(w->buf, w->len, 0);
    sio_jw_free(w);
    return p;
}

/* A control packet: CONNECT reply, CONNECT_ERROR or DISCONNECT, with optional JSON. */
static eio_pkt *encode_ctl(const sio_nsp *nsp, int type, const char *json, size_t len)
{
    char stack[256];
    sio_jw w;
    sio_jw_init(&w, stack, sizeof stack);
    put_header(&w, type, 0, nsp, -1);
    if (json) sio_jw_bytes(&w, json, len);
    return jw_to_pkt(&w);
}

/* An EVENT (event != NULL) or ACK with the argument list `args` and nbins attachments. */
static eio_pkt *encode_msg(const sio_nsp *nsp, const char *event, int64_t ack_id, const char *args, size_t args_len,
                           int nbins)
{
    char stack[SIO_PKT_STACK];
    sio_jw w;
    sio_jw_init(&w, stack, sizeof stack);
    int type = event ? (nbins ? 5 : 2) : (nbins ? 6 : 3);
    put_header(&w, type, nbins, nsp, ack_id);
    sio_jw_bytes(&w, "[", 1);
    if (event) sio_jw_strn(&w, event, strlen(event));
    if (args_len) {
        if (event) sio_jw_bytes(&w, ",", 1);
        sio_jw_bytes(&w, args, args_len);
    }
    sio_jw_bytes(&w, "]", 1);
    return jw_to_pkt(&w);
}

/* Checks that `args` is a list of JSON values separated by commas (or empty). Returns the
 * number of values, or -1. */
static int args_check(const char *args, size_t len)
{
    sio_str t = sio_json_trim((sio_str){args, len});
    if (!t.len) return 0;
    size_t off = (size_t)(t.p - args);
    int n = 0;
    for (;;) {
        long end = sio_json_value_end(args, off + t.len, off);
        if (end < 0) return -1;
        n++;
        off = (size_t)end;
        while (off < len && (args[off] == ' ' || args[off] == '\t' || args[off] == '\n' || args[off] == '\r')) off++;
        if (off >= (size_t)(t.p - args) + t.len) return n;
        if (args[off] != ',') return -1;
        off++;
    }
}

/* One emit, encoded: the JSON packet and one binary packet per attachment, plus the event as
 * onAnyOutgoing listeners see it. */
struct emit {
    eio_pkt *p[1 + SIO_MAX_ATTACHMENTS]; /* the packets, shared by every recipient */
    int n;                               /* how many */
    int is_event;                        /* 1 for EVENT/BINARY_EVENT, 0 for acks */
    sio_event ev;                        /* name, args, attachments (for onAnyOutgoing) */
};

/* Builds the packets of one emit (event == NULL: an ack). Returns 0 or an SIO_ERR_*; on success
 * release them with emit_release(). */
static int build_emit(struct emit *em, const sio_nsp *nsp, const char *event, int64_t ack_id, const char *args,
                      size_t args_len, const sio_bin *bins, int nbins)
{
    if (nbins < 0 || nbins > SIO_MAX_ATTACHMENTS || (nbins && !bins)) return SIO_ERR_INVAL;
    if (event && sio_packet_reserved(event, strlen(event))) return SIO_ERR_INVAL;
    if (!args) args_len = 0;
    int argc = args_check(args, args_len);
    if (argc < 0) return SIO_ERR_INVAL;
    em->p[0] = encode_msg(nsp, event, ack_id, args, args_len, nbins);
    if (!em->p[0]) return SIO_ERR_NOMEM;
    for (int i = 0; i < nbins; i++) {
        em->p[i + 1] = sio__pkt_new(bins[i].data, bins[i].len, 1);
        if (!em->p[i + 1]) {
            for (int j = 0; j <= i; j++) sio__pkt_unref(em->p[j]);
            return SIO_ERR_NOMEM;
        }
    }
    em->n = 1 + nbins;
    em->is_event = event != NULL;
    em->ev = (sio_event){event ? event : "", {args ? args : "", args_len}, argc, bins, nbins, ack_id};
    return 0;
}

/* Queues an emit's packets to socket s (the first one volatile if asked: attachments follow
 * their packet or not at all) and tells its onAnyOutgoing listener. */
static void send_emit(sio_socket *s, const struct emit *em, int volatile_)
{
    if (volatile_ && !sio__eio_writable(s->cl->sess)) return;
    for (int i = 0; i < em->n; i++) sio__eio_send(s->cl->sess, em->p[i], 0);
    if (em->is_event && s->hooks && s->hooks->on_any_out) s->hooks->on_any_out(s, &em->ev, s->hooks->on_any_out_ud);
}

static void emit_release(struct emit *em)
{
    for (int i = 0; i < em->n; i++) sio__pkt_unref(em->p[i]);
}

/* The Redis adapter's hooks (defined with it, near the end of this file). */
struct emit;
static void adapter_publish(const sio_op *op, const struct emit *em);
static void adapter_nsp_add(sio_nsp *nsp);

/* ====== Namespaces ====== */

static sio_nsp *nsp_find(sio_server *srv, const char *name, size_t len)
{
    for (sio_nsp *n = srv->nsps; n; n = n->next)
        if (n->name_len == len && memcmp(n->name, name, len) == 0) return n;
    return NULL;
}

sio_nsp *sio_of(sio_server *srv, const char *name)
{
    size_t len = name ? strlen(name) : 0;
    if (!len || name[0] != '/' || len > SIO_MAX_NSP_NAME) return NULL;
    sio_nsp *n = nsp_find(srv, name, len);
    if (n) return n;
    n = calloc(1, sizeof *n);
    if (!n) return NULL;
    memcpy(n->name, name, len + 1);
    n->name_len = len;
    n->srv = srv;
    n->next = srv->nsps;
    srv->nsps = n;
    char id[SIO_ID_LEN + 1];
    sio__new_id(id);
    memcpy(n->uid, id, 6); /* 6 random characters, like the Node adapter's uid2(6) */
    n->uid[6] = '\0';
    adapter_nsp_add(n);
    return n;
}

sio_nsp *sio_of_match(sio_server *srv, sio_nsp_match_cb match, void *ud)
{
    if (!match) return NULL;
    sio_nsp *n = calloc(1, sizeof *n);
    if (!n) return NULL;
    strcpy(n->name, "(dynamic)"); /* never matches a CONNECT: names start with '/' */
    n->name_len = strlen(n->name);
    n->srv = srv;
    n->match = match;
    n->match_ud = ud;
    n->seq = ++srv->nsp_seq;
    n->next = srv->nsps;
    srv->nsps = n;
    return n;
}

/* For a CONNECT to a namespace that does not exist: a child created through the first dynamic
 * parent whose predicate accepts the name, or NULL. */
static sio_nsp *nsp_dynamic(sio_server *srv, const char *name, size_t len)
{
    char buf[SIO_MAX_NSP_NAME + 1];
    if (len > SIO_MAX_NSP_NAME) return NULL;
    memcpy(buf, name, len);
    buf[len] = '\0';
    if (strlen(buf) != len) return NULL; /* a NUL inside the name */
    sio_nsp *first = NULL; /* the earliest registered parent that accepts (Node's order) */
    for (sio_nsp *p = srv->nsps; p; p = p->next)
        if (p->match && (!first || p->seq < first->seq) && p->match(buf, p->match_ud)) first = p;
    if (!first) return NULL;
    sio_nsp *child = sio_of(srv, buf);
    if (child) child->parent = first;
    return child;
}

const char *sio_nsp_name(const sio_nsp *nsp) { return nsp->name; }

int sio_use(sio_nsp *nsp, sio_middleware_cb cb, void *ud)
{
    if (!nsp || !cb) return SIO_ERR_INVAL;
    struct mw *m = realloc(nsp->mws, (size_t)(nsp->nmws + 1) * sizeof *m);
    if (!m) return SIO_ERR_NOMEM;
    nsp->mws = m;
    m[nsp->nmws].cb = cb;
    m[nsp->nmws].ud = ud;
    nsp->nmws++;
    return 0;
}

void sio_on_connection(sio_nsp *nsp, sio_connection_cb cb, void *ud)
{
    nsp->on_conn = cb;
    nsp->on_conn_ud = ud;
}

sio_socket *sio_first_socket(sio_nsp *nsp) { return nsp->first; }
sio_socket *sio_next_socket(sio_socket *s) { return s->next; }
size_t sio_nsp_count(const sio_nsp *nsp) { return nsp->count; }

sio_socket *sio_find_socket(sio_nsp *nsp, const char *id, size_t len)
{
    sio_socket *s = sio__idtab_get(&nsp->srv->sockets, id, len);
    return s && s->nsp == nsp && s->connected && !s->gone ? s : NULL;
}

const char sio_pending[] = "(pending)";

sio_socket *sio_find_pending(sio_server *srv, const char *id)
{
    sio_socket *s = id ? sio__idtab_get(&srv->sockets, id, strlen(id)) : NULL;
    return s && s->pending && !s->gone ? s : NULL;
}

/* ====== Rooms ====== */

static uint32_t room_hash(const char *name)
{
    uint32_t h = 2166136261u;
    for (; *name; name++) h = (h ^ (unsigned char)*name) * 16777619u;
    return h;
}

static room *room_find(const sio_nsp *nsp, const char *name)
{
    if (!nsp->rtab) return NULL;
    for (room *r = nsp->rtab[room_hash(name) & nsp->rmask]; r; r = r->next)
        if (strcmp(r->name, name) == 0) return r;
    return NULL;
}

/* Doubles the room table when it is more than full on average. */
static void room_table_grow(sio_nsp *nsp)
{
    uint32_t size = nsp->rtab ? (nsp->rmask + 1) * 2 : 64;
    room **t = calloc(size, sizeof *t);
    if (!t) return; /* keep the old (longer chains, still correct) */
    if (nsp->rtab) {
        for (uint32_t i = 0; i <= nsp->rmask; i++) {
            room *r = nsp->rtab[i];
            while (r) {
                room *next = r->next;
                uint32_t h = room_hash(r->name) & (size - 1);
                r->next = t[h];
                t[h] = r;
                r = next;
            }
        }
        free(nsp->rtab);
    }
    nsp->rtab = t;
    nsp->rmask = size - 1;
}

int sio_join(sio_socket *s, const char *name)
{
    if (!name || strlen(name) > SIO_MAX_ROOM_NAME) return SIO_ERR_INVAL;
    if (s->gone) return SIO_ERR_CLOSED;
    sio_nsp *nsp = s->nsp;
    room *r = room_find(nsp, name);
    if (r) {
        for (uint16_t i = 0; i < s->nrooms; i++)
            if (s->rooms[i].r == r) return 0; /* already a member */
    }
    int max = s->nsp->srv->o.max_rooms > 0 && s->nsp->srv->o.max_rooms < 65535 ? s->nsp->srv->o.max_rooms : 65535;
    if (s->nrooms >= max) return SIO_ERR_LIMIT;
    if (s->nrooms == s->caprooms) {
        uint16_t cap = s->caprooms ? (uint16_t)(s->caprooms * 2) : 2;
        if (cap < s->caprooms) return SIO_ERR_LIMIT;
        struct membership *m = realloc(s->rooms, cap * sizeof *m);
        if (!m) return SIO_ERR_NOMEM;
        s->rooms = m;
        s->caprooms = cap;
    }
    if (!r) {
        if (!nsp->rtab || nsp->nrooms > nsp->rmask) room_table_grow(nsp);
        if (!nsp->rtab) return SIO_ERR_NOMEM;
        r = calloc(1, sizeof *r);
        if (!r || !(r->name = strdup(name))) {
            free(r);
            return SIO_ERR_NOMEM;
        }
        uint32_t h = room_hash(name) & nsp->rmask;
        r->next = nsp->rtab[h];
        nsp->rtab[h] = r;
        nsp->nrooms++;
    }
    if (r->n == r->cap) {
        uint32_t cap = r->cap ? r->cap * 2 : 4;
        sio_socket **m = realloc(r->members, cap * sizeof *m);
        if (!m) return SIO_ERR_NOMEM; /* an empty new room is reaped by the next leave */
        r->members = m;
        r->cap = cap;
    }
    r->members[r->n] = s;
    s->rooms[s->nrooms].r = r;
    s->rooms[s->nrooms].idx = r->n;
    s->nrooms++;
    r->n++;
    return 0;
}

/* Removes membership i of socket s; a room left empty ceases to exist. */
static void leave_at(sio_socket *s, uint16_t i)
{
    room *r = s->rooms[i].r;
    uint32_t idx = s->rooms[i].idx;
    s->rooms[i] = s->rooms[--s->nrooms];
    sio_socket *moved = r->members[--r->n];
    if (idx != r->n) {
        r->members[idx] = moved;
        for (uint16_t j = 0; j < moved->nrooms; j++)
            if (moved->rooms[j].r == r) moved->rooms[j].idx = idx;
    }
    if (r->n) return;
    sio_nsp *nsp = s->nsp;
    room **pp = &nsp->rtab[room_hash(r->name) & nsp->rmask];
    while (*pp != r) pp = &(*pp)->next;
    *pp = r->next;
    nsp->nrooms--;
    free(r->members);
    free(r->name);
    free(r);
}

int sio_leave(sio_socket *s, const char *name)
{
    if (!name) return SIO_ERR_INVAL;
    for (uint16_t i = 0; i < s->nrooms; i++) {
        if (strcmp(s->rooms[i].r->name, name) == 0) {
            leave_at(s, i);
            break;
        }
    }
    return 0;
}

static void leave_all(sio_socket *s)
{
    while (s->nrooms) leave_at(s, (uint16_t)(s->nrooms - 1));
    free(s->rooms);
    s->rooms = NULL;
    s->caprooms = 0;
}

size_t sio_room_count(sio_nsp *nsp, const char *name)
{
    room *r = room_find(nsp, name);
    size_t n = 0;
    for (uint32_t i = 0; r && i < r->n; i++) n += !r->members[i]->gone && r->members[i]->connected;
    if (strlen(name) == SIO_ID_LEN && sio_find_socket(nsp, name, SIO_ID_LEN)) {
        sio_socket *s = sio_find_socket(nsp, name, SIO_ID_LEN);
        int member = 0;
        for (uint32_t i = 0; r && i < r->n; i++) member |= r->members[i] == s;
        if (!member) n++;
    }
    return n;
}

void sio_on_request(sio_server *srv, sio_request_cb cb, void *ud) { sio__engine_on_request(srv->eng, cb, ud); }

/* ====== Sockets ====== */

const char *sio_socket_id(const sio_socket *s) { return s->id; }
sio_nsp *sio_socket_nsp(const sio_socket *s) { return s->nsp; }
sio_str sio_handshake_auth(const sio_socket *s) { return s->auth; }

sio_str sio_handshake_header(const sio_socket *s, const char *name)
{
    const struct handshake *hs = s->cl ? s->cl->hs : NULL;
    if (!hs) return (sio_str){NULL, 0};
    struct sio_http_header hdrs[SIO_HTTP_MAX_HEADERS];
    struct sio_http_req req;
    req.headers = hdrs;
    req.num_headers = SIO_HTTP_MAX_HEADERS;
    if (sio_http_parse(hs->text, hs->head_len, &req, 0) <= 0) return (sio_str){NULL, 0};
    return sio_http_header(&req, name);
}

const char *sio_handshake_url(const sio_socket *s) { return s->cl && s->cl->hs ? s->cl->hs->text + s->cl->hs->url_off : ""; }

long sio_handshake_query(const sio_socket *s, const char *key, char *dst, size_t cap)
{
    const char *url = sio_handshake_url(s);
    const char *q = strchr(url, '?');
    return sio_http_query(q ? (sio_str){q + 1, strlen(q + 1)} : (sio_str){"", 0}, key, dst, cap);
}

const char *sio_handshake_address(const sio_socket *s) { return s->cl && s->cl->hs ? s->cl->hs->text + s->cl->hs->addr_off : ""; }
int64_t sio_handshake_time(const sio_socket *s) { return s->cl && s->cl->hs ? s->cl->hs->time : 0; }

int sio_reject_data(sio_socket *s, const char *data_json)
{
    if (!data_json || sio_json_value_end(data_json, strlen(data_json), 0) != (long)strlen(data_json)) return SIO_ERR_INVAL;
    sio_server *srv = s->nsp->srv;
    free(srv->reject_data);
    srv->reject_data = strdup(data_json);
    return srv->reject_data ? 0 : SIO_ERR_NOMEM;
}

int sio_socket_connected(const sio_socket *s) { return s->connected && !s->gone; }

int sio_socket_in(const sio_socket *s, const char *room)
{
    if (s->left) return 0;
    if (strcmp(room, s->id) == 0) return 1;
    for (uint16_t i = 0; i < s->nrooms; i++)
        if (strcmp(s->rooms[i].r->name, room) == 0) return 1;
    return 0;
}

int sio_socket_rooms(const sio_socket *s, const char **out, int max)
{
    int n = 0;
    if (s->left) return 0;
    if (n < max) out[n] = s->id;
    n++;
    for (uint16_t i = 0; i < s->nrooms; i++, n++)
        if (n < max) out[n] = s->rooms[i].r->name;
    return n;
}

/* The socket's hooks, allocated on first use; NULL when out of memory. */
static struct sock_hooks *hooks_of(sio_socket *s)
{
    if (!s->hooks) s->hooks = calloc(1, sizeof *s->hooks);
    return s->hooks;
}

void sio_socket_on_disconnecting(sio_socket *s, sio_disconnect_cb cb, void *ud)
{
    struct sock_hooks *h = hooks_of(s);
    if (!h) return;
    h->on_disconnecting = cb;
    h->on_disconnecting_ud = ud;
}

void sio_socket_on_any(sio_socket *s, sio_event_cb cb, void *ud)
{
    struct sock_hooks *h = hooks_of(s);
    if (!h) return;
    h->on_any = cb;
    h->on_any_ud = ud;
}

void sio_socket_on_any_outgoing(sio_socket *s, sio_event_cb cb, void *ud)
{
    struct sock_hooks *h = hooks_of(s);
    if (!h) return;
    h->on_any_out = cb;
    h->on_any_out_ud = ud;
}
void sio_socket_set_data(sio_socket *s, void *data) { s->data = data; }
void *sio_socket_data(const sio_socket *s) { return s->data; }


/* Adds or replaces handler `name` in a handler list. Returns 0 or SIO_ERR_NOMEM. */
static int handler_set(struct handler **list, const char *name, sio_event_cb cb, void *ud)
{
    for (struct handler *h = *list; h; h = h->next) {
        if (strcmp(h->name, name) == 0) {
            h->cb = cb;
            h->ud = ud;
            return 0;
        }
    }
    size_t len = strlen(name);
    struct handler *h = malloc(sizeof *h + len + 1);
    if (!h) return SIO_ERR_NOMEM;
    h->cb = cb;
    h->ud = ud;
    memcpy(h->name, name, len + 1);
    h->next = *list;
    *list = h;
    return 0;
}

int sio_socket_on(sio_socket *s, const char *name, sio_event_cb cb, void *ud)
{
    if (!s || !name || !cb) return SIO_ERR_INVAL;
    return handler_set(&s->handlers, name, cb, ud);
}

int sio_nsp_on(sio_nsp *nsp, const char *name, sio_event_cb cb, void *ud)
{
    if (!nsp || !name || !cb) return SIO_ERR_INVAL;
    return handler_set(&nsp->handlers, name, cb, ud);
}

void sio_socket_on_disconnect(sio_socket *s, sio_disconnect_cb cb, void *ud)
{
    s->on_disc = cb;
    s->on_disc_ud = ud;
}

/* Takes a socket out of everything that can reach it: the namespace list, the socket table,
 * its client's list and its rooms; then runs its disconnect handler, fails its pending acks and
 * frees it. Called only from the end of a turn or from a session's close, never from inside an
 * application callback. */
static void socket_finish(sio_socket *s, const char *reason)
{
    sio_server *srv = s->nsp->srv;
    client *cl = s->cl;
    sio_socket **pp = &cl->sockets;
    while (*pp && *pp != s) pp = &(*pp)->next_in_client;
    if (*pp) *pp = s->next_in_client;
    if (s->connected && s->hooks && s->hooks->on_disconnecting) {
        /* Node's order (B5): "disconnecting" while the socket is still connected and in its
         * rooms, so it is visible again to queries for the length of the call. */
        s->gone = 0;
        s->hooks->on_disconnecting(s, reason, s->hooks->on_disconnecting_ud);
    }
    s->gone = 1;
    if (s->connected) {
        sio_nsp *nsp = s->nsp;
        if (s->prev) s->prev->next = s->next;
        else nsp->first = s->next;
        if (s->next) s->next->prev = s->prev;
        else nsp->last = s->prev;
        if (!s->gone_reason) nsp->count--; /* socket_kill() already did it */
        sio__idtab_del(&srv->sockets, s);
        leave_all(s);
        s->left = 1;
        if (s->on_disc) s->on_disc(s, reason, s->on_disc_ud);
    } else if (s->pending) { /* its session ended while a middleware was still deciding */
        sio__idtab_del(&srv->sockets, s);
    }
    while (s->acks) {
        struct pending_ack *a = s->acks;
        s->acks = a->next;
        sio__timer_stop(srv->loop, &a->timer);
        a->cb(s, SIO_ERR_CLOSED, NULL, a->ud);
        free(a);
    }
    while (s->handlers) {
        struct handler *h = s->handlers;
        s->handlers = h->next;
        free(h);
    }
    leave_all(s);
    free(s->hooks);
    free(s);
}

/* Frees a socket that never got past the middleware: it leaves any room a middleware joined,
 * its pending acks are answered SIO_ERR_CLOSED, and its handlers are dropped. No disconnect
 * handler runs (the application never saw it connect). */
static void socket_discard(sio_socket *s)
{
    s->gone = 1;
    leave_all(s);
    while (s->acks) {
        struct pending_ack *a = s->acks;
        s->acks = a->next;
        sio__timer_stop(s->nsp->srv->loop, &a->timer);
        a->cb(s, SIO_ERR_CLOSED, NULL, a->ud);
        free(a);
    }
    while (s->handlers) {
        struct handler *h = s->handlers;
        s->handlers = h->next;
        free(h);
    }
    free(s->hooks);
    free(s);
}

/* Marks s disconnected now (no more packets reach it) and queues it to be finished at the end
 * of the turn with `reason`. */
static void socket_kill(sio_socket *s, const char *reason)
{
    if (s->gone) return;
    s->gone = 1;
    if (s->connected) s->nsp->count--; /* no longer counted, though still listed this turn */
    s->gone_reason = reason;
    s->next_dead = s->nsp->srv->dead;
    s->nsp->srv->dead = s;
}

void sio_disconnect(sio_socket *s, int close_session)
{
    if (s->gone) return;
    client *cl = s->cl;
    for (sio_socket *o = cl->sockets; o; o = o->next_in_client) {
        if (o != s && !close_session) continue;
        if (o->gone) continue;
        eio_pkt *p = o->connected ? encode_ctl(o->nsp, 1, NULL, 0) : NULL; /* pending: never told it joined */
        if (p) {
            sio__eio_send(cl->sess, p, 0);
            sio__pkt_unref(p);
        }
        socket_kill(o, "server namespace disconnect");
    }
    if (close_session) sio__eio_close(cl->sess, "forced server close");
}

/* Skips JSON whitespace from p[i]. */
static size_t skip_ws(const char *p, size_t len, size_t i)
{
    while (i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r')) i++;
    return i;
}

/* Returns the end of the JSON value starting at p[i], in text that has ALREADY been validated
 * (by the packet decoder, or by build_emit for what we send): strings run to their closing
 * quote, containers are matched by depth, scalars end at the next delimiter. A fraction of the
 * strict scanner's work, for walking arguments; it never reads past len, whatever the text. */
static size_t skip_valid(const char *p, size_t len, size_t i)
{
    size_t depth = 0;
    for (; i < len; i++) {
        char c = p[i];
        if (c == '"') {
            for (i++; i < len && p[i] != '"'; i++)
                if (p[i] == '\\') i++;
            if (depth == 0) return i < len ? i + 1 : len;
        } else if (c == '[' || c == '{') {
            depth++;
        } else if (c == ']' || c == '}') {
            if (depth == 0) return i; /* a scalar ended at its container's end */
            if (--depth == 0) return i + 1;
        } else if (depth == 0 && (c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r')) {
            return i;
        }
    }
    return len;
}

/* The only argument is the whole list (ev->argc is counted by whoever built the event: the
 * decoder, or build_emit), so the common case needs no scan. */
sio_str sio_arg(const sio_event *ev, int i)
{
    if (i == 0 && ev->argc == 1) return sio_json_trim(ev->args);
    const char *p = ev->args.p;
    size_t len = ev->args.len, off = p ? skip_ws(p, len, 0) : 0;
    for (int k = 0; p && off < len; k++) {
        size_t end = skip_valid(p, len, off);
        if (k == i) return (sio_str){p + off, end - off};
        off = skip_ws(p, len, end);
        if (off >= len || p[off] != ',') break;
        off = skip_ws(p, len, off + 1);
    }
    return (sio_str){NULL, 0};
}

/* ====== Emitting to one socket ====== */

int sio_emitv(sio_socket *s, const char *event, const char *args, size_t args_len, const sio_bin *bins, int nbins)
{
    if (!s || !event) return SIO_ERR_INVAL;
    if (s->gone || sio__eio_closing(s->cl->sess)) return SIO_ERR_CLOSED;
    struct emit em;
    int rc = build_emit(&em, s->nsp, event, -1, args, args_len, bins, nbins);
    if (rc < 0) return rc;
    send_emit(s, &em, 0);
    emit_release(&em);
    return 0;
}

int sio_emit(sio_socket *s, const char *event, const char *args)
{
    return sio_emitv(s, event, args, args ? strlen(args) : 0, NULL, 0);
}

/* The ack timeout passed: the callback learns it, and a late ACK will find nothing. */
static void ack_timeout(sio_loop *l, sio_timer *t)
{
    (void)l;
    struct pending_ack *a = (struct pending_ack *)((char *)t - offsetof(struct pending_ack, timer));
    sio_socket *s = a->s;
    struct pending_ack **pp = &s->acks;
    while (*pp != a) pp = &(*pp)->next;
    *pp = a->next;
    a->cb(s, SIO_ERR_TIMEOUT, NULL, a->ud);
    free(a);
}

int sio_emit_with_ack(sio_socket *s, const char *event, const char *args, int timeout_ms, sio_ack_cb cb, void *ud)
{
    return sio_emitv_with_ack(s, event, args, args ? strlen(args) : 0, NULL, 0, timeout_ms, cb, ud);
}

int sio_emitv_with_ack(sio_socket *s, const char *event, const char *args, size_t args_len, const sio_bin *bins,
                       int nbins, int timeout_ms, sio_ack_cb cb, void *ud)
{
    if (!s || !event || !cb) return SIO_ERR_INVAL;
    if (s->gone || sio__eio_closing(s->cl->sess)) return SIO_ERR_CLOSED;
    struct pending_ack *a = calloc(1, sizeof *a);
    if (!a) return SIO_ERR_NOMEM;
    struct emit em;
    int64_t id = s->nsp->next_ack_id;
    int rc = build_emit(&em, s->nsp, event, id, args, args_len, bins, nbins);
    if (rc < 0) {
        free(a);
        return rc;
    }
    s->nsp->next_ack_id++;
    a->id = id;
    a->cb = cb;
    a->ud = ud;
    a->s = s;
    a->next = s->acks;
    s->acks = a;
    if (timeout_ms > 0) sio__timer_set(s->nsp->srv->loop, &a->timer, sio__now_ms() + (uint64_t)timeout_ms, ack_timeout);
    send_emit(s, &em, 0);
    emit_release(&em);
    return 0;
}

/* The event handed to handlers, with what sio_ack() needs to answer it once. */
struct evctx {
    sio_event ev; /* what the handler sees (must stay first) */
    int acked;    /* sio_ack() was called */
};

int sio_ackv(sio_socket *s, const sio_event *ev, const char *args, size_t args_len, const sio_bin *bins, int nbins)
{
    if (!s || !ev) return SIO_ERR_INVAL;
    struct evctx *ctx = (struct evctx *)(void *)ev;
    if (ev->ack_id < 0 || ctx->acked) return 0;
    if (s->gone || sio__eio_closing(s->cl->sess)) return SIO_ERR_CLOSED;
    struct emit em;
    int rc = build_emit(&em, s->nsp, NULL, ev->ack_id, args, args_len, bins, nbins);
    if (rc < 0) return rc; /* bad arguments do not use the ack up: the caller may retry */
    ctx->acked = 1;
    send_emit(s, &em, 0);
    emit_release(&em);
    return 0;
}

int sio_ack_id(sio_socket *s, int64_t ack_id, const char *args, size_t args_len, const sio_bin *bins, int nbins)
{
    if (!s || ack_id < 0) return SIO_ERR_INVAL;
    if (s->gone || sio__eio_closing(s->cl->sess)) return SIO_ERR_CLOSED;
    struct emit em;
    int rc = build_emit(&em, s->nsp, NULL, ack_id, args, args_len, bins, nbins);
    if (rc < 0) return rc;
    send_emit(s, &em, 0);
    emit_release(&em);
    return 0;
}

int sio_ack(sio_socket *s, const sio_event *ev, const char *args)
{
    return sio_ackv(s, ev, args, args ? strlen(args) : 0, NULL, 0);
}

/* ====== Broadcasting ====== */

sio_op sio_all(sio_nsp *nsp)
{
    sio_op op;
    memset(&op, 0, sizeof op);
    op.nsp = nsp;
    return op;
}

sio_op sio_except(sio_op op, const char *room)
{
    if (op.nexcept == SIO_MAX_OP_ROOMS) op.flags |= SIO_OP_OVERFLOW;
    else op.except[op.nexcept++] = room;
    return op;
}

sio_op sio_to(sio_op op, const char *room)
{
    if (op.nrooms == SIO_MAX_OP_ROOMS) op.flags |= SIO_OP_OVERFLOW;
    else op.rooms[op.nrooms++] = room;
    return op;
}

/* These two build their op in one initializer: going through sio_all(), sio_except() and sio_to()
 * copies the whole struct (two arrays of rooms) at each step, which shows in a relay's profile. */
sio_op sio_broadcast(sio_socket *s) { return (sio_op){.nsp = s->nsp, .except = {s->id}, .nexcept = 1}; }
sio_op sio_socket_to(sio_socket *s, const char *room)
{
    return (sio_op){.nsp = s->nsp, .rooms = {room}, .nrooms = 1, .except = {s->id}, .nexcept = 1};
}

sio_op sio_volatile(sio_op op)
{
    op.flags |= SIO_OP_VOLATILE;
    return op;
}

/* Calls fn on every socket in `name`: the members of the named room, and the socket whose own
 * id it is (every socket is in the room named after its id). */
static void room_each(sio_nsp *nsp, const char *name, void (*fn)(sio_socket *, void *), void *ud)
{
    room *r = room_find(nsp, name);
    if (r)
        for (uint32_t i = 0; i < r->n; i++) fn(r->members[i], ud);
    size_t len = strlen(name);
    if (len == SIO_ID_LEN) {
        sio_socket *s = sio_find_socket(nsp, name, len);
        if (s) fn(s, ud);
    }
}

/* One pass over a selection (B8): sockets in any target room (or all), minus those in any
 * excluded room, each once, thanks to per-socket epoch marks (no set to allocate). */
struct selection {
    uint32_t epoch;                      /* this pass's mark */
    void (*fn)(sio_socket *s, void *ud); /* called for each selected socket */
    void *ud;                            /* its data */
    int count;                           /* sockets selected */
};

static void mark_skip(sio_socket *s, void *ud) { s->skip_mark = ((struct selection *)ud)->epoch; }

static void visit(sio_socket *s, void *ud)
{
    struct selection *sel = ud;
    /* Not connected: a middleware is still deciding (it may have joined rooms already); Node
     * reaches only the namespace's connected sockets too. */
    if (s->gone || !s->connected || s->skip_mark == sel->epoch || s->sent_mark == sel->epoch) return;
    s->sent_mark = sel->epoch;
    sel->count++;
    sel->fn(s, sel->ud);
}

/* Calls fn for every socket of nsp in any of rooms[] (all sockets when nrooms is 0) and in none
 * of except[]. fn must not free sockets (killing them is fine: they are freed at the end of the
 * turn). Returns the count. */
static int select_rooms(sio_nsp *nsp, const char *const *rooms, int nrooms, const char *const *except, int nexcept,
                        void (*fn)(sio_socket *, void *), void *ud)
{
    struct selection sel = {++nsp->srv->epoch, fn, ud, 0};
    for (int i = 0; i < nexcept; i++) room_each(nsp, except[i], mark_skip, &sel);
    if (nrooms == 0) {
        for (sio_socket *s = nsp->first; s; s = s->next) visit(s, &sel);
    } else {
        for (int i = 0; i < nrooms; i++) room_each(nsp, rooms[i], visit, &sel);
    }
    return sel.count;
}

static int select_each(const sio_op *op, void (*fn)(sio_socket *, void *), void *ud)
{
    return select_rooms(op->nsp, op->rooms, op->nrooms, op->except, op->nexcept, fn, ud);
}

struct bcast {
    const struct emit *em; /* what to send */
    int vol;               /* volatile */
};

static void deliver(sio_socket *s, void *ud)
{
    struct bcast *b = ud;
    send_emit(s, b->em, b->vol);
}

int sio_op_emitv(sio_op op, const char *event, const char *args, size_t args_len, const sio_bin *bins, int nbins)
{
    if (!op.nsp || !event) return SIO_ERR_INVAL;
    if (op.flags & SIO_OP_OVERFLOW) return SIO_ERR_LIMIT;
    struct emit em;
    int rc = build_emit(&em, op.nsp, event, -1, args, args_len, bins, nbins);
    if (rc < 0) return rc;
    struct bcast b = {&em, (op.flags & SIO_OP_VOLATILE) != 0};
    int count = select_each(&op, deliver, &b);
    if (op.nsp->srv->ad && !(op.flags & SIO_OP_LOCAL)) adapter_publish(&op, &em);
    emit_release(&em);
    return count;
}

sio_op sio_local(sio_op op)
{
    op.flags |= SIO_OP_LOCAL;
    return op;
}

/* The selection copied into an array first, so that fn may change rooms (which the selection
 * pass walks) or disconnect sockets. */
struct collect {
    sio_socket **v; /* sockets */
    int n, cap;     /* used, allocated */
    int nomem;      /* an allocation failed */
};

static void collect_one(sio_socket *s, void *ud)
{
    struct collect *c = ud;
    if (c->n == c->cap) {
        int cap = c->cap ? c->cap * 2 : 16;
        sio_socket **v = realloc(c->v, (size_t)cap * sizeof *v);
        if (!v) {
            c->nomem = 1;
            return;
        }
        c->v = v;
        c->cap = cap;
    }
    c->v[c->n++] = s;
}

int sio_op_each(sio_op op, void (*fn)(sio_socket *s, void *ud), void *ud)
{
    if (!op.nsp || !fn) return SIO_ERR_INVAL;
    if (op.flags & SIO_OP_OVERFLOW) return SIO_ERR_LIMIT;
    struct collect c = {0};
    select_each(&op, collect_one, &c);
    if (c.nomem) {
        free(c.v);
        return SIO_ERR_NOMEM;
    }
    for (int i = 0; i < c.n; i++)
        if (!c.v[i]->gone) fn(c.v[i], ud);
    free(c.v);
    return c.n;
}

static void join_fn(sio_socket *s, void *ud) { sio_join(s, ud); }
static void leave_fn(sio_socket *s, void *ud) { sio_leave(s, ud); }
static void disconnect_fn(sio_socket *s, void *ud) { sio_disconnect(s, ud != NULL); }

/* The Redis adapter's side of the operations below (defined with it, near the end of this file). */
struct bcast_ack;
static void adapter_remote_op(const sio_op *op, int type, const char *room, int close_session);
static int adapter_publish_ack(const sio_op *op, const struct emit *em, struct bcast_ack *b, int timeout_ms);

/* Each is applied here, then (unless sio_local) published for the other nodes as socketsJoin,
 * socketsLeave and disconnectSockets are: REMOTE_JOIN (2), REMOTE_LEAVE (3), REMOTE_DISCONNECT (4). */
int sio_op_join(sio_op op, const char *room)
{
    adapter_remote_op(&op, 2, room, 0);
    return sio_op_each(op, join_fn, (void *)room);
}

int sio_op_leave(sio_op op, const char *room)
{
    adapter_remote_op(&op, 3, room, 0);
    return sio_op_each(op, leave_fn, (void *)room);
}

int sio_op_disconnect(sio_op op, int close_session)
{
    adapter_remote_op(&op, 4, NULL, close_session);
    return sio_op_each(op, disconnect_fn, close_session ? (void *)1 : NULL);
}

/* ---- Broadcast with acks ---- */

/* One io.timeout(ms).emit(…, cb): every recipient's pending ack points here. In a cluster the
 * other nodes' counts (BROADCAST_CLIENT_COUNT) and answers (BROADCAST_ACK) arrive here too. */
struct bcast_ack {
    int expected;      /* answers expected: local recipients, plus the other nodes' counts */
    int received;      /* answers so far, from any node */
    int refs;          /* pending acks and a NUMSUB query still pointing here, + 1 until done */
    int done;          /* cb has run */
    long servers;      /* other nodes that will send a count: -1 until NUMSUB answers; 0 local only */
    long counted;      /* other nodes whose count arrived */
    char rid[SIO_ID_LEN + 1]; /* requestId of the cluster request, "" when local only */
    sio_jw responses;  /* "[r1,r2," so far (closed when reported) */
    sio_op_ack_cb cb;  /* the application's callback */
    void *ud;          /* its data */
    sio_timer timer;   /* the timeout */
    sio_server *srv;   /* owner (for the timer) */
    struct bcast_ack *prev, *next; /* the server's unfinished broadcast acks */
};

static void bcast_ack_unref(struct bcast_ack *b)
{
    if (--b->refs) return;
    sio_jw_free(&b->responses);
    free(b);
}

/* Reports the result once: the responses gathered so far as a JSON array. */
static void bcast_ack_finish(struct bcast_ack *b, int err)
{
    if (b->done) return;
    b->done = 1;
    if (b->prev) b->prev->next = b->next;
    else b->srv->backs = b->next;
    if (b->next) b->next->prev = b->prev;
    sio__timer_stop(b->srv->loop, &b->timer);
    sio_jw_end(&b->responses);
    sio_str r = b->responses.err ? (sio_str){"[]", 2} : (sio_str){b->responses.buf, b->responses.len};
    b->cb(err, r, b->ud);
    bcast_ack_unref(b);
}

/* 1 when every answer expected so far has arrived and every other node has sent its count. */
static int bcast_ack_complete(const struct bcast_ack *b)
{
    return b->servers >= 0 && b->counted >= b->servers && b->received >= b->expected;
}

static void bcast_ack_timeout(sio_loop *l, sio_timer *t)
{
    (void)l;
    struct bcast_ack *b = (struct bcast_ack *)((char *)t - offsetof(struct bcast_ack, timer));
    bcast_ack_finish(b, bcast_ack_complete(b) ? 0 : SIO_ERR_TIMEOUT);
}

/* A recipient answered (err 0), or went away (SIO_ERR_CLOSED): count its first argument. */
static void bcast_ack_reply(sio_socket *s, int err, const sio_event *reply, void *ud)
{
    (void)s;
    struct bcast_ack *b = ud;
    if (!err && !b->done) {
        sio_str first = sio_arg(reply, 0);
        if (first.p) sio_jw_raw(&b->responses, first.p, first.len);
        else sio_jw_null(&b->responses);
        b->received++;
        if (bcast_ack_complete(b)) bcast_ack_finish(b, 0);
    }
    bcast_ack_unref(b);
}

struct bcast_ack_send {
    const struct emit *em;   /* the packet, with the shared ack id */
    struct bcast_ack *b;     /* the collector */
    int64_t id;              /* the ack id */
};

static void deliver_with_ack(sio_socket *s, void *ud)
{
    struct bcast_ack_send *x = ud;
    struct pending_ack *a = calloc(1, sizeof *a);
    if (!a) return; /* this recipient is skipped; the timeout will report it missing */
    a->id = x->id;
    a->cb = bcast_ack_reply;
    a->ud = x->b;
    a->s = s;
    a->next = s->acks;
    s->acks = a;
    x->b->refs++;
    x->b->expected++;
    send_emit(s, x->em, 0);
}

int sio_op_emit_with_ack(sio_op op, const char *event, const char *args, int timeout_ms, sio_op_ack_cb cb, void *ud)
{
    if (!op.nsp || !event || !cb || timeout_ms <= 0) return SIO_ERR_INVAL;
    if (op.flags & SIO_OP_OVERFLOW) return SIO_ERR_LIMIT;
    struct bcast_ack *b = calloc(1, sizeof *b);
    if (!b) return SIO_ERR_NOMEM;
    int64_t id = op.nsp->next_ack_id;
    struct emit em;
    int rc = build_emit(&em, op.nsp, event, id, args, args ? strlen(args) : 0, NULL, 0);
    if (rc < 0) {
        free(b);
        return rc;
    }
    op.nsp->next_ack_id++;
    b->refs = 1;
    b->cb = cb;
    b->ud = ud;
    b->srv = op.nsp->srv;
    sio_jw_init(&b->responses, NULL, 0);
    sio_jw_arr(&b->responses);
    b->next = b->srv->backs;
    if (b->next) b->next->prev = b;
    b->srv->backs = b;
    struct bcast_ack_send x = {&em, b, id};
    select_each(&op, deliver_with_ack, &x);
    int cluster = adapter_publish_ack(&op, &em, b, timeout_ms) == 0;
    emit_release(&em);
    /* No recipient and no other node to wait for: report "[]" at once, from the next turn's
     * timers (never synchronously). */
    uint64_t when = sio__now_ms() + (b->expected || cluster ? (uint64_t)timeout_ms : 0);
    sio__timer_set(b->srv->loop, &b->timer, when, bcast_ack_timeout);
    return b->expected;
}

int sio_op_emit(sio_op op, const char *event, const char *args)
{
    return sio_op_emitv(op, event, args, args ? strlen(args) : 0, NULL, 0);
}

/* ====== Receiving: connect ====== */

/* CONNECT_ERROR {"message": msg} to the client for namespace nsp_name. */
static void send_connect_error(client *cl, const char *nsp_name, size_t nsp_len, const char *msg, const char *data)
{
    char stack[256];
    sio_jw w;
    sio_jw_init(&w, stack, sizeof stack);
    sio_jw_bytes(&w, "44", 2);
    if (nsp_len > 1) {
        sio_jw_bytes(&w, nsp_name, nsp_len);
        sio_jw_bytes(&w, ",", 1);
    }
    sio_jw_obj(&w);
    sio_jw_key(&w, "message");
    sio_jw_str(&w, msg);
    if (data) {
        sio_jw_key(&w, "data");
        sio_jw_raw(&w, data, strlen(data));
    }
    sio_jw_end(&w);
    eio_pkt *p = jw_to_pkt(&w);
    if (p) {
        sio__eio_send(cl->sess, p, 0);
        sio__pkt_unref(p);
    }
}

/* The CONNECT is refused: CONNECT_ERROR {"message": err[, "data": the sio_reject_data() JSON]},
 * and the socket, which never existed for the application, is undone and freed. */
static void connect_refuse(sio_socket *s, const char *err)
{
    sio_server *srv = s->nsp->srv;
    client *cl = s->cl;
    send_connect_error(cl, s->nsp->name, s->nsp->name_len, err, srv->reject_data);
    free(srv->reject_data);
    srv->reject_data = NULL;
    if (s->pending) { /* listed while it waited: take it out again */
        sio__idtab_del(&srv->sockets, s);
        sio_socket **pp = &cl->sockets;
        while (*pp && *pp != s) pp = &(*pp)->next_in_client;
        if (*pp) *pp = s->next_in_client;
        s->pending = 0;
    }
    socket_discard(s);
}

/* Runs s's middleware from where it stands (s->mw_pass, s->mw_next) to the end, then lets the
 * socket in: it joins the namespace, is told its id and is handed to the connection handler.
 * A middleware that answers SIO_PENDING stops the run: the socket is listed (in the socket table
 * and on its client) as pending, and sio_middleware_next() calls this again later. A refusal
 * ends in connect_refuse(). */
static void connect_resume(sio_socket *s)
{
    sio_nsp *nsp = s->nsp;
    sio_server *srv = nsp->srv;
    client *cl = s->cl;
    const char *err = NULL;
    /* A dynamic child runs its parent's middleware first, then its own (Node's order). */
    for (;;) {
        const sio_nsp *m = s->mw_pass == 0 ? nsp->parent : nsp;
        if (!m || s->mw_next >= m->nmws) { /* this pass is done */
            if (s->mw_pass == 1) break;
            s->mw_pass = 1;
            s->mw_next = 0;
            continue;
        }
        const struct mw *w = &m->mws[s->mw_next++];
        free(srv->reject_data);
        srv->reject_data = NULL;
        err = w->cb(s, w->ud);
        if (s->gone) { /* the middleware disconnected it: only possible once it was listed
                          (pending), so socket_kill() queued it and the end of the turn frees it */
            free(srv->reject_data);
            srv->reject_data = NULL;
            return;
        }
        if (err == SIO_PENDING) {
            free(srv->reject_data); /* attach it when refusing, in sio_middleware_next()'s turn */
            srv->reject_data = NULL;
            if (s->pending) return;
            if (sio__idtab_put(&srv->sockets, s) < 0) {
                err = "Server is full";
                break;
            }
            s->pending = 1;
            s->next_in_client = cl->sockets;
            cl->sockets = s;
            return;
        }
        if (err) break;
    }
    if (!err && !s->pending && sio__idtab_put(&srv->sockets, s) < 0) err = "Server is full";
    if (err) {
        connect_refuse(s, err);
        return;
    }
    free(srv->reject_data); /* set by a middleware that then let the socket in after all */
    srv->reject_data = NULL;
    if (s->pending) s->pending = 0; /* already on cl->sockets */
    else {
        s->next_in_client = cl->sockets;
        cl->sockets = s;
    }
    s->connected = 1;
    s->prev = nsp->last;
    if (nsp->last) nsp->last->next = s;
    else nsp->first = s;
    nsp->last = s;
    nsp->count++;
    sio__timer_stop(srv->loop, &cl->connect_timer);

    char reply[64];
    int n = snprintf(reply, sizeof reply, "{\"sid\":\"%s\"}", s->id);
    eio_pkt *p = encode_ctl(nsp, 0, reply, (size_t)n);
    if (p) {
        sio__eio_send(cl->sess, p, 0);
        sio__pkt_unref(p);
    }
    if (nsp->on_conn) nsp->on_conn(s, nsp->on_conn_ud);
    else if (nsp->parent && nsp->parent->on_conn) nsp->parent->on_conn(s, nsp->parent->on_conn_ud);
}

int sio_middleware_next(sio_socket *s, const char *err)
{
    if (!s || !s->pending || s->gone) return SIO_ERR_INVAL;
    if (err) connect_refuse(s, err);
    else connect_resume(s);
    return 0;
}

/* A CONNECT for namespace `name` with auth payload `auth` (B4): the socket is created, then
 * connect_resume() runs the middleware and lets it in (or refuses it). */
static void on_connect(client *cl, const char *name, size_t name_len, sio_str auth)
{
    sio_server *srv = cl->srv;
    sio_nsp *nsp = nsp_find(srv, name, name_len);
    if (!nsp) nsp = nsp_dynamic(srv, name, name_len);
    if (!nsp) {
        send_connect_error(cl, name, name_len, "Invalid namespace", NULL);
        return;
    }
    int joined = 0;
    for (sio_socket *o = cl->sockets; o; o = o->next_in_client) {
        if (o->gone) continue; /* left earlier in this turn: neither counts nor conflicts */
        if (o->nsp == nsp) { /* CONNECT twice (or while its middleware is pending): invalid state */
            sio__eio_close(cl->sess, "forced close");
            return;
        }
        joined++;
    }
    if (srv->o.max_namespaces > 0 && joined >= srv->o.max_namespaces) {
        send_connect_error(cl, name, name_len, "Too many namespaces", NULL);
        return;
    }
    if (srv->sockets.count >= srv->sockets.limit) { /* refused before any middleware runs, so
                                                       nothing it attached can leak */
        send_connect_error(cl, name, name_len, "Server is full", NULL);
        return;
    }
    sio_socket *s = calloc(1, sizeof *s + auth.len); /* the auth copy lives right after it */
    if (!s) {
        sio__eio_close(cl->sess, "forced close");
        return;
    }
    do sio__new_id(s->id);
    while (sio__idtab_get(&srv->sockets, s->id, SIO_ID_LEN));
    s->nsp = nsp;
    s->cl = cl;
    s->auth = (sio_str){"{}", 2};
    if (auth.len) {
        memcpy(s + 1, auth.p, auth.len);
        s->auth = (sio_str){(const char *)(s + 1), auth.len};
    }
    connect_resume(s);
}

/* ====== Receiving: the packet decoder ====== */

static sio_socket *client_socket(client *cl, sio_str nsp)
{
    for (sio_socket *s = cl->sockets; s; s = s->next_in_client)
        if (!s->gone && s->nsp->name_len == nsp.len && memcmp(s->nsp->name, nsp.p, nsp.len) == 0) return s;
    return NULL;
}

/* An EVENT or BINARY_EVENT for socket s: find the handler by name and call it. The decoder
 * validated the packet and found its name (h->first) and element count, so the arguments are
 * the rest of the array up to its closing bracket: nothing is scanned again. */
static int on_event(sio_socket *s, const struct sio_packet *h, const sio_bin *bins)
{
    if (h->count < 1) return -1; /* not a non-empty array (the decoder refuses those) */
    sio_str first = h->first;
    char name[SIO_MAX_EVENT_NAME + 1];
    sio_json_type nt = sio_json_typeof(first);
    if (nt == SIO_JSON_STRING) {
        size_t n = first.len - 2; /* validated: without a backslash, the name is its bytes */
        if (n <= SIO_MAX_EVENT_NAME && !memchr(first.p + 1, '\\', n)) {
            memcpy(name, first.p + 1, n);
            name[n] = '\0';
        } else if (sio_json_unescape(first, name, sizeof name) < 0) {
            name[0] = '\0', nt = SIO_JSON_NONE;
        }
    } else if (nt == SIO_JSON_NUMBER) {
        size_t n = first.len < SIO_MAX_EVENT_NAME ? first.len : SIO_MAX_EVENT_NAME;
        memcpy(name, first.p, n);
        name[n] = '\0';
    } else {
        return -1;
    }
    struct evctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.ev.name = name;
    ctx.ev.ack_id = h->ack_id;
    ctx.ev.bins = bins;
    ctx.ev.nbins = h->nbins;
    ctx.ev.argc = h->count - 1;
    ctx.ev.args = (sio_str){"", 0};
    if (ctx.ev.argc) { /* from past the ',' after the name to the array's ']' */
        const char *p = h->data.p;
        size_t close = h->data.len - 1;
        size_t comma = skip_ws(p, close, (size_t)(first.p + first.len - p));
        ctx.ev.args = sio_json_trim((sio_str){p + comma + 1, close - comma - 1});
    }
    if (s->hooks && s->hooks->on_any) s->hooks->on_any(s, &ctx.ev, s->hooks->on_any_ud);
    if (nt == SIO_JSON_NONE || s->gone) return 0; /* a name too long for any handler */
    /* The socket's own handler first (socket.on), then the namespace's (sio_nsp_on). */
    for (struct handler *hd = s->handlers; hd; hd = hd->next) {
        if (strcmp(hd->name, name) == 0) {
            hd->cb(s, &ctx.ev, hd->ud);
            return 0;
        }
    }
    sio_nsp *nsp = s->nsp;
    for (int pass = 0; pass < 2 && nsp; pass++, nsp = nsp->parent) {
        for (struct handler *hd = nsp->handlers; hd; hd = hd->next) {
            if (strcmp(hd->name, name) == 0) {
                hd->cb(s, &ctx.ev, hd->ud);
                return 0;
            }
        }
    }
    return 0;
}

/* An ACK or BINARY_ACK for socket s: the matching pending emit gets its reply. */
static int on_ack(sio_socket *s, const struct sio_packet *h, const sio_bin *bins)
{
    if (h->ack_id < 0) return 0; /* an ACK without an id answers nothing */
    struct pending_ack **pp = &s->acks;
    while (*pp && (*pp)->id != h->ack_id) pp = &(*pp)->next;
    struct pending_ack *a = *pp;
    if (!a) return 0; /* unknown, answered or timed out: ignored */
    *pp = a->next;
    sio__timer_stop(s->nsp->srv->loop, &a->timer);
    struct evctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.ev.name = "";
    ctx.ev.ack_id = -1;
    ctx.ev.bins = bins;
    ctx.ev.nbins = h->nbins;
    sio_str inner = sio_json_trim((sio_str){h->data.p + 1, h->data.len - 2});
    ctx.ev.args = inner;
    ctx.ev.argc = h->count;
    a->cb(s, 0, &ctx.ev, a->ud);
    free(a);
    return 0;
}

/* Handles one complete packet (attachments, if any, gathered). Returns 0, or -1 for a protocol
 * violation, which closes the session. */
static int dispatch(client *cl, const struct sio_packet *h, const sio_bin *bins)
{
    if (h->type == SIO_PACKET_CONNECT) {
        on_connect(cl, h->nsp.p, h->nsp.len, h->data);
        return 0;
    }
    sio_socket *s = client_socket(cl, h->nsp);
    if (!s) return -1; /* a packet for a namespace not joined: invalid state */
    if (!s->connected) { /* its middleware is still deciding: only leaving is allowed (Node
                            closes the session on anything else, as for a namespace not joined) */
        if (h->type != SIO_PACKET_DISCONNECT) return -1;
        socket_kill(s, "client namespace disconnect");
        return 0;
    }
    switch (h->type) {
    case SIO_PACKET_DISCONNECT:
        socket_kill(s, "client namespace disconnect");
        return 0;
    case SIO_PACKET_EVENT:
    case SIO_PACKET_BINARY_EVENT:
        return on_event(s, h, bins);
    case SIO_PACKET_ACK:
    case SIO_PACKET_BINARY_ACK:
        return on_ack(s, h, bins);
    default: /* CONNECT_ERROR from a client */
        return -1;
    }
}

static void bin_reset(client *cl)
{
    struct binwait *bw = cl->bw;
    if (!bw) return;
    for (int i = 0; i < bw->have; i++) free((void *)bw->bins[i].data);
    free(bw);
    cl->bw = NULL;
}

/* An Engine.IO message arrived (eio_callbacks.on_message). Text is a packet; binary is the
 * next attachment of the packet waiting for them (B7). */
static void on_message(eio_session *sess, void *state, const char *data, size_t len, int binary)
{
    client *cl = state;
    struct sio_packet h;
    struct binwait *bw = cl->bw;
    if (binary) {
        if (!bw) goto violation; /* a binary message nobody announced */
        void *copy = malloc(len ? len : 1);
        if (!copy) goto violation;
        if (len) memcpy(copy, data, len);
        bw->bins[bw->have].data = copy;
        bw->bins[bw->have].len = len;
        if (++bw->have < bw->need) return;
        if (sio_packet_decode(bw->head, bw->head_len, &h) < 0) goto violation;
        int r = dispatch(cl, &h, bw->bins);
        bin_reset(cl);
        if (r < 0) goto violation;
        return;
    }
    if (bw) goto violation; /* text while attachments are pending */
    if (sio_packet_decode(data, len, &h) < 0) goto violation;
    if (h.nbins > 0) {
        bw = malloc(sizeof *bw + len);
        if (!bw) goto violation;
        bw->need = h.nbins;
        bw->have = 0;
        bw->head_len = len;
        memcpy(bw->head, data, len);
        cl->bw = bw;
        return;
    }
    if (dispatch(cl, &h, NULL) < 0) goto violation;
    return;
violation:
    bin_reset(cl);
    sio__eio_close(sess, "forced close");
}

/* ====== Sessions (eio callbacks) ====== */

/* connectTimeout: the session joined no namespace in time. */
static void connect_timeout(sio_loop *l, sio_timer *t)
{
    (void)l;
    client *cl = (client *)((char *)t - offsetof(client, connect_timer));
    for (sio_socket *s = cl->sockets; s; s = s->next_in_client)
        if (s->connected) return;
    sio__eio_close(cl->sess, "forced server close"); /* a pending middleware counts for nothing (Node) */
}

/* Copies what socket.handshake needs from the session's first request: the head (re-parsed on
 * lookup, so nothing is indexed up front), the URL, the address and the time. */
static size_t handshake_head_len(const struct sio_http_req *req)
{
    size_t head = 0;
    if (req->headers && req->num_headers) {
        const struct sio_http_header *last = &req->headers[req->num_headers - 1];
        head = (size_t)(last->value.p + last->value.len - req->method.p);
    } else {
        head = (size_t)(req->target.p + req->target.len - req->method.p) + 9; /* " HTTP/1.x" */
    }
    return head + 4; /* the CRLF ending the last line, and the empty line */
}

/* Bytes a struct handshake for this request and address takes. */
static size_t handshake_size(const struct sio_http_req *req, const char *addr)
{
    return sizeof(struct handshake) + handshake_head_len(req) + 1 + req->target.len + 1 + strlen(addr) + 1;
}

/* Fills hs (of handshake_size() bytes) from the request. */
static void handshake_fill(struct handshake *hs, const struct sio_http_req *req, const char *addr)
{
    size_t head = handshake_head_len(req);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    hs->time = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    memcpy(hs->text, req->method.p, head);
    hs->head_len = (uint32_t)head;
    hs->text[head] = '\0';
    hs->url_off = (uint32_t)head + 1;
    memcpy(hs->text + hs->url_off, req->target.p, req->target.len);
    hs->text[hs->url_off + req->target.len] = '\0';
    hs->addr_off = hs->url_off + (uint32_t)req->target.len + 1;
    strcpy(hs->text + hs->addr_off, addr);
}

static void *on_open(eio_session *sess, const struct sio_http_req *req, const char *addr, void *ud)
{
    sio_server *srv = ud;
    /* The client and its handshake in one allocation (sizeof(client) keeps 8-byte alignment). */
    client *cl = calloc(1, sizeof *cl + handshake_size(req, addr));
    if (!cl) return NULL;
    cl->hs = (struct handshake *)(void *)(cl + 1);
    handshake_fill(cl->hs, req, addr);
    cl->srv = srv;
    cl->sess = sess;
    sio__timer_set(srv->loop, &cl->connect_timer, sio__now_ms() + (uint64_t)srv->o.connect_timeout, connect_timeout);
    return cl;
}

/* The session ended: every socket on it disconnects with the session's reason (B9); one that
 * the application or the client disconnected earlier in this turn keeps its own reason. */
static void on_close(eio_session *sess, void *state, const char *reason)
{
    (void)sess;
    client *cl = state;
    sio_server *srv = cl->srv;
    sio__timer_stop(srv->loop, &cl->connect_timer);
    while (cl->sockets) {
        sio_socket *s = cl->sockets;
        if (s->gone_reason) { /* on the dead list: take it off, finish it here */
            sio_socket **pp = &srv->dead;
            while (*pp != s) pp = &(*pp)->next_dead;
            *pp = s->next_dead;
        }
        socket_finish(s, s->gone_reason ? s->gone_reason : reason);
    }
    bin_reset(cl);
    free(cl);
}

/* Finishes the sockets disconnected during this turn. */
static void finish_dead(sio_server *srv)
{
    while (srv->dead) {
        sio_socket *s = srv->dead;
        srv->dead = s->next_dead;
        socket_finish(s, s->gone_reason);
    }
}

/* ====== Multi-node: the Redis adapter ======
 * Wire-compatible with @socket.io/redis-adapter 8.x, classic Pub/Sub mode (redis-adapter.md §1):
 * per namespace, PSUBSCRIBE <key>#<nsp>#* for broadcasts, SUBSCRIBE <key>-request#<nsp>#,
 * <key>-response#<nsp># and <key>-response#<nsp>#<uid>#. A broadcast is delivered locally and
 * published as msgpack [uid, {type:2, data:[event,...args], nsp}, {rooms, except, flags}];
 * a broadcast from another node is delivered here by the same room rules. Requests from other
 * nodes (SOCKETS, ALL_ROOMS, REMOTE_JOIN/LEAVE/DISCONNECT, REMOTE_FETCH, BROADCAST with ack) are
 * answered, so that a Node node's fetchSockets() across a mixed cluster completes. This node asks
 * the others in turn: SOCKETS (sio_op_count_cluster), BROADCAST with ack (sio_op_emit_with_ack:
 * every node answers with its recipient count, then with each ack), REMOTE_JOIN/LEAVE/DISCONNECT
 * (sio_op_join/leave/disconnect). One connection subscribes, one publishes and asks, as the Node
 * adapter does. Pub/Sub is at-most-once: what is published while Redis is away is lost, for Node
 * nodes too. */

#define ADAPTER_KEY "socket.io"          /* channel prefix (the Node adapter's default `key`) */
#define ADAPTER_REQUEST_TIMEOUT_MS 5000  /* requestsTimeout of the Node adapter */
#define ADAPTER_MAX_ROOMS 1024           /* rooms/except names taken from one remote message */
#ifndef ADAPTER_MAX_REMOTE_ACKS
#define ADAPTER_MAX_REMOTE_ACKS 256      /* other nodes' broadcasts with acks waiting here at once */
#endif
#ifndef ADAPTER_MAX_ACK_MS
#define ADAPTER_MAX_ACK_MS 600000        /* longest wait for acks asked by another node (its flags.timeout) */
#endif
#ifndef ADAPTER_MAX_ACK_CLIENTS
#define ADAPTER_MAX_ACK_CLIENTS 1000000  /* acks one broadcast of ours waits for, all nodes together */
#endif
#ifndef ADAPTER_MAX_ACK_BYTES
#define ADAPTER_MAX_ACK_BYTES (16 << 20) /* JSON of the answers one broadcast of ours collects */
#endif
#define ADAPTER_MAX_REQUEST_ID 64        /* bytes of another node's requestId (Node's are 6) */

/* A cluster-wide count waiting for the other nodes' answers (sio_op_count_cluster). */
struct cluster_req {
    char id[SIO_ID_LEN + 1];   /* requestId */
    size_t count;              /* sockets found so far, ours included */
    long expect;               /* answers still expected (-1 until NUMSUB is known) */
    sio_count_cb cb;           /* the application's callback */
    void *ud;                  /* its data */
    sio_timer timer;           /* requestsTimeout */
    sio_server *srv;           /* owner (its creqs list) */
    int done;                  /* cb has run */
    int numsub_pending;        /* PUBSUB NUMSUB's callback still holds a pointer to this */
    char *request;             /* the JSON request to publish once NUMSUB is known */
    sio_nsp *nsp;              /* its namespace */
    struct cluster_req *next;  /* the adapter's other requests */
};

struct adapter {
    sio_server *srv;           /* owner */
    sio_redis *pub;            /* PUBLISH, PUBSUB NUMSUB */
    sio_redis *sub;            /* PSUBSCRIBE/SUBSCRIBE */
    unsigned long dropped;     /* broadcasts not published because Redis was down */
    int nremote;               /* other nodes' broadcasts with acks still waiting here */
    int remote_refused;        /* one was refused for ADAPTER_MAX_REMOTE_ACKS (logged once) */
};

static void adapter_log(sio_server *srv, const char *fmt, const char *arg)
{
    (void)srv;
    fprintf(stderr, "redis adapter: ");
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
}

/* Writes "<key>[suffix]#<nsp>#" (plus extra and '#' when extra is given) into buf; returns its
 * length, or 0 if it does not fit. */
static size_t channel_name(char *buf, size_t cap, const char *suffix, const sio_nsp *nsp, const char *extra, size_t elen)
{
    int n = snprintf(buf, cap, "%s%s#%s#", ADAPTER_KEY, suffix, nsp->name);
    if (n < 0 || (size_t)n >= cap) return 0;
    if (extra) {
        if ((size_t)n + elen + 2 > cap) return 0;
        memcpy(buf + n, extra, elen);
        n += (int)elen;
        buf[n++] = '#';
        buf[n] = '\0';
    }
    return (size_t)n;
}

static void adapter_subscribe_nsp(struct adapter *ad, sio_nsp *nsp)
{
    char ch[SIO_MAX_NSP_NAME + 64];
    size_t n = channel_name(ch, sizeof ch - 1, "", nsp, NULL, 0);
    ch[n++] = '*';
    sio__redis_subscribe(ad->sub, ch, n, 1);
    n = channel_name(ch, sizeof ch, "-request", nsp, NULL, 0);
    sio__redis_subscribe(ad->sub, ch, n, 0);
    n = channel_name(ch, sizeof ch, "-response", nsp, NULL, 0);
    sio__redis_subscribe(ad->sub, ch, n, 0);
    n = channel_name(ch, sizeof ch, "-response", nsp, nsp->uid, strlen(nsp->uid));
    sio__redis_subscribe(ad->sub, ch, n, 0);
}

/* A namespace was created after the adapter started: it gets its subscriptions. */
static void adapter_nsp_add(sio_nsp *nsp)
{
    if (nsp->srv->ad && !nsp->match) adapter_subscribe_nsp(nsp->srv->ad, nsp);
}

/* PUBLISH channel payload (fire and forget). Returns 0, or -1 when it was dropped (and counted)
 * because Redis is down. */
static int adapter_publish_raw(struct adapter *ad, const char *ch, size_t chlen, const void *p, size_t len)
{
    const char *argv[3] = {"PUBLISH", ch, p};
    size_t lens[3] = {7, chlen, len};
    if (sio__redis_command(ad->pub, 3, argv, lens, NULL, NULL) == 0) return 0;
    ad->dropped++;
    return -1;
}

/* Writes a list of room names as a msgpack array. */
static void put_rooms(sio_mpbuf *b, const char *const *rooms, int n)
{
    sio_mp_put_array(b, (uint32_t)n);
    for (int i = 0; i < n; i++) sio_mp_put_str(b, rooms[i], strlen(rooms[i]));
}

/* Writes the packet of an emit as msgpack {type: 2, data: [event, ...args], nsp} (§1.2): the
 * JSON turned into msgpack, binary attachments as bin values where their placeholders were.
 * Returns 0, or -1 (out of memory, or args msgpack cannot carry). */
static int put_packet(sio_mpbuf *b, const sio_nsp *nsp, const struct emit *em)
{
    /* data = [event, ...args] as JSON text, then msgpack. */
    char stack[SIO_PKT_STACK];
    sio_jw w;
    sio_jw_init(&w, stack, sizeof stack);
    sio_jw_bytes(&w, "[", 1);
    sio_jw_strn(&w, em->ev.name, strlen(em->ev.name));
    if (em->ev.args.len) {
        sio_jw_bytes(&w, ",", 1);
        sio_jw_bytes(&w, em->ev.args.p, em->ev.args.len);
    }
    sio_jw_bytes(&w, "]", 1);
    sio_mp_bin bins[SIO_MAX_ATTACHMENTS];
    for (int i = 0; i < em->ev.nbins; i++) bins[i] = (sio_mp_bin){em->ev.bins[i].data, em->ev.bins[i].len};
    sio_mp_put_map(b, 3);
    sio_mp_put_str(b, "type", 4);
    sio_mp_put_int(b, 2);
    sio_mp_put_str(b, "data", 4);
    int rc = w.err ? -1 : sio_msgpack_from_json((sio_str){w.buf, w.len}, bins, em->ev.nbins, b);
    sio_mp_put_str(b, "nsp", 3);
    sio_mp_put_str(b, nsp->name, nsp->name_len);
    sio_jw_free(&w);
    return rc < 0 ? -1 : 0;
}

/* Writes a broadcast's options {rooms, except, flags}: flags holds volatile (when set and
 * timeout_ms is 0) and timeout (when > 0: a broadcast with acks). */
static void put_opts(sio_mpbuf *b, const sio_op *op, int timeout_ms)
{
    int vol = (op->flags & SIO_OP_VOLATILE) && !timeout_ms;
    sio_mp_put_map(b, 3);
    sio_mp_put_str(b, "rooms", 5);
    put_rooms(b, op->rooms, op->nrooms);
    sio_mp_put_str(b, "except", 6);
    put_rooms(b, op->except, op->nexcept);
    sio_mp_put_str(b, "flags", 5);
    sio_mp_put_map(b, (uint32_t)(vol + (timeout_ms > 0)));
    if (vol) {
        sio_mp_put_str(b, "volatile", 8);
        sio_mp_put_bool(b, 1);
    }
    if (timeout_ms > 0) {
        sio_mp_put_str(b, "timeout", 7);
        sio_mp_put_int(b, timeout_ms);
    }
}

/* Publishes a local broadcast for the other nodes (§1.2): msgpack [uid, packet, opts]. */
static void adapter_publish(const sio_op *op, const struct emit *em)
{
    struct adapter *ad = op->nsp->srv->ad;
    if (!sio__redis_is_up(ad->pub)) {
        ad->dropped++;
        return;
    }
    sio_nsp *nsp = op->nsp;
    unsigned char mstack[SIO_PKT_STACK];
    sio_mpbuf b;
    sio_mpbuf_init(&b, mstack, sizeof mstack);
    sio_mp_put_array(&b, 3);
    sio_mp_put_str(&b, nsp->uid, strlen(nsp->uid));
    int rc = put_packet(&b, nsp, em);
    put_opts(&b, op, 0);
    if (rc == 0 && !b.err) {
        char ch[SIO_MAX_NSP_NAME + SIO_MAX_ROOM_NAME + 32];
        size_t n = op->nrooms == 1 ? channel_name(ch, sizeof ch, "", nsp, op->rooms[0], strlen(op->rooms[0]))
                                   : channel_name(ch, sizeof ch, "", nsp, NULL, 0);
        if (!n) n = channel_name(ch, sizeof ch, "", nsp, NULL, 0); /* a room too long for a channel name */
        adapter_publish_raw(ad, ch, n, b.buf, b.len);
    }
    sio_mpbuf_free(&b);
}

/* Copies the strings of a JSON array into one allocation as NUL-terminated names. Returns the
 * count (0 for an absent or empty array), or -1 for anything else (not an array, a non-string
 * element, too many). *blockp must be freed. */
static int names_of(sio_str arr, const char ***namesp, char **blockp)
{
    *namesp = NULL;
    *blockp = NULL;
    if (!arr.p) return 0;
    int n = sio_json_count(arr);
    if (n < 0 || n > ADAPTER_MAX_ROOMS || sio_json_typeof(arr) != SIO_JSON_ARRAY) return -1;
    if (n == 0) return 0;
    const char **names = malloc((size_t)n * sizeof *names);
    char *block = malloc(arr.len + (size_t)n);
    if (!names || !block) {
        free(names);
        free(block);
        return -1;
    }
    size_t pos = 0, off = 0;
    sio_str v;
    for (int i = 0; i < n && sio_json_next(arr, &pos, NULL, &v) == 1; i++) {
        long len = sio_json_unescape(v, block + off, arr.len + (size_t)n - off);
        if (len < 0) {
            free(names);
            free(block);
            return -1;
        }
        names[i] = block + off;
        off += (size_t)len + 1;
    }
    *namesp = names;
    *blockp = block;
    return n;
}

/* The event in a packet from another node, {type: 2, data: [event, ...args], nsp} (nsp may be
 * absent): checks the namespace and the type, copies the name, and finds the arguments' text
 * (what follows the name inside data's brackets). Returns 0, or -1 to drop the packet. */
static int packet_event(const sio_nsp *nsp, sio_str packet, char name[SIO_MAX_EVENT_NAME + 1], sio_str *args)
{
    if (sio_json_typeof(packet) != SIO_JSON_OBJECT) return -1;
    sio_str pnsp = sio_json_get(packet, "nsp");
    if (pnsp.p && !sio_json_str_eq(pnsp, nsp->name)) return -1;
    double type;
    if (sio_json_number(sio_json_get(packet, "type"), &type) < 0 || (type != 2 && type != 5)) return -1;
    sio_str data = sio_json_get(packet, "data");
    sio_str ev = sio_json_at(data, 0);
    if (sio_json_typeof(ev) != SIO_JSON_STRING || sio_json_unescape(ev, name, SIO_MAX_EVENT_NAME + 1) < 0) return -1;
    const char *a0 = ev.p + ev.len;
    const char *aend = data.p + data.len - 1; /* the closing ']' */
    while (a0 < aend && *a0 != ',') a0++;
    if (a0 < aend) a0++;
    *args = (sio_str){a0, (size_t)(aend - a0)};
    return 0;
}

/* A broadcast published by another node (§1.3). */
static void adapter_on_broadcast(sio_nsp *nsp, sio_str room, sio_str payload)
{
    if (room.len) { /* the pre-filter: a room nobody here is in (any live member will do) */
        char name[SIO_MAX_ROOM_NAME + 1];
        if (room.len > SIO_MAX_ROOM_NAME) return;
        memcpy(name, room.p, room.len);
        name[room.len] = '\0';
        const struct room *r = room_find(nsp, name);
        uint32_t i = 0;
        while (r && i < r->n && (r->members[i]->gone || !r->members[i]->connected)) i++;
        if (!(r && i < r->n) && !(room.len == SIO_ID_LEN && sio_find_socket(nsp, name, SIO_ID_LEN))) return;
    }
    /* Our own broadcast, echoed back by Redis: notepack writes [uid, packet, opts] as a fixarray
     * of 3 whose first element is a fixstr, so the uid can be compared before decoding anything. */
    const unsigned char *mp = (const unsigned char *)payload.p;
    size_t ul = strlen(nsp->uid);
    if (payload.len > 2 + ul && mp[0] == 0x93 && mp[1] == (0xa0 | ul) && memcmp(mp + 2, nsp->uid, ul) == 0) return;
    char stack[SIO_PKT_STACK];
    sio_jw w;
    sio_jw_init(&w, stack, sizeof stack);
    sio_mp_bin mb[SIO_MAX_ATTACHMENTS];
    int nb = 0;
    size_t used = 0;
    const char **rooms = NULL, **except = NULL;
    char *rblock = NULL, *eblock = NULL;
    if (sio_msgpack_to_json((const unsigned char *)payload.p, payload.len, &used, &w, mb, &nb, SIO_MAX_ATTACHMENTS) < 0 ||
        used != payload.len)
        goto done; /* garbage on the channel: ignored, as Node ignores it */
    sio_str msg = {w.buf, w.len};
    sio_str uid = sio_json_at(msg, 0), packet = sio_json_at(msg, 1), opts = sio_json_at(msg, 2);
    if (sio_json_typeof(uid) != SIO_JSON_STRING || sio_json_str_eq(uid, nsp->uid)) goto done;
    char name[SIO_MAX_EVENT_NAME + 1];
    sio_str args;
    if (packet_event(nsp, packet, name, &args) < 0) goto done;
    int nr = names_of(sio_json_get(opts, "rooms"), &rooms, &rblock);
    int ne = names_of(sio_json_get(opts, "except"), &except, &eblock);
    if (nr < 0 || ne < 0) goto done;
    int vol = sio_json_typeof(sio_json_get(sio_json_get(opts, "flags"), "volatile")) == SIO_JSON_TRUE;
    sio_bin bins[SIO_MAX_ATTACHMENTS];
    for (int i = 0; i < nb; i++) bins[i] = (sio_bin){mb[i].data, mb[i].len};
    struct emit em;
    if (build_emit(&em, nsp, name, -1, args.p, args.len, bins, nb) < 0) goto done;
    struct bcast b = {&em, vol};
    select_rooms(nsp, rooms, nr, except, ne, deliver, &b);
    emit_release(&em);
done:
    free(rooms);
    free(rblock);
    free(except);
    free(eblock);
    sio_jw_free(&w);
}

/* Publishes a JSON response on the shared response channel of nsp. */
static void adapter_respond(struct adapter *ad, sio_nsp *nsp, sio_jw *w)
{
    if (w->err) return;
    char ch[SIO_MAX_NSP_NAME + 64];
    size_t n = channel_name(ch, sizeof ch, "-response", nsp, NULL, 0);
    adapter_publish_raw(ad, ch, n, w->buf, w->len);
}

static void collect_ids(sio_socket *s, void *ud) { sio_jw_str(ud, s->id); }

/* Writes one socket as REMOTE_FETCH describes it: {id, handshake, rooms, data}. */
static void fetch_one(sio_socket *s, void *ud)
{
    sio_jw *w = ud;
    sio_jw_obj(w);
    sio_jw_key(w, "id");
    sio_jw_str(w, s->id);
    sio_jw_key(w, "handshake");
    sio_jw_obj(w);
    sio_jw_key(w, "headers");
    sio_jw_obj(w);
    const struct handshake *hs = s->cl ? s->cl->hs : NULL;
    struct sio_http_header hdrs[SIO_HTTP_MAX_HEADERS];
    struct sio_http_req req;
    req.headers = hdrs;
    req.num_headers = SIO_HTTP_MAX_HEADERS;
    if (hs && sio_http_parse(hs->text, hs->head_len, &req, 0) > 0) {
        for (size_t i = 0; i < req.num_headers; i++) {
            char key[128];
            size_t k = hdrs[i].name.len < sizeof key - 1 ? hdrs[i].name.len : sizeof key - 1;
            for (size_t j = 0; j < k; j++) key[j] = (char)(hdrs[i].name.p[j] | 0x20 * (hdrs[i].name.p[j] >= 'A' && hdrs[i].name.p[j] <= 'Z'));
            key[k] = '\0';
            sio_jw_key(w, key);
            sio_jw_strn(w, hdrs[i].value.p, hdrs[i].value.len);
        }
    }
    sio_jw_end(w);
    sio_jw_key(w, "time");
    sio_jw_str(w, ""); /* Node sends a date string; the number is in "issued" */
    sio_jw_key(w, "address");
    sio_jw_str(w, sio_handshake_address(s));
    sio_jw_key(w, "xdomain");
    sio_jw_bool(w, sio_handshake_header(s, "origin").p != NULL);
    sio_jw_key(w, "secure");
    sio_jw_bool(w, 0);
    sio_jw_key(w, "issued");
    sio_jw_int(w, sio_handshake_time(s));
    sio_jw_key(w, "url");
    sio_jw_str(w, sio_handshake_url(s));
    sio_jw_key(w, "query");
    sio_jw_obj(w);
    sio_jw_end(w);
    sio_jw_key(w, "auth");
    sio_jw_raw(w, s->auth.p, s->auth.len);
    sio_jw_end(w);
    sio_jw_key(w, "rooms");
    sio_jw_arr(w);
    sio_jw_str(w, s->id);
    for (uint16_t i = 0; i < s->nrooms; i++) sio_jw_str(w, s->rooms[i].r->name);
    sio_jw_end(w);
    sio_jw_key(w, "data");
    sio_jw_obj(w);
    sio_jw_end(w);
    sio_jw_end(w);
}

struct remote_rooms {
    const char **names; /* rooms to join or leave */
    int n;              /* how many */
    int join;           /* 1 join, 0 leave */
};

static void remote_join_fn(sio_socket *s, void *ud)
{
    struct remote_rooms *r = ud;
    for (int i = 0; i < r->n; i++) {
        if (r->join) sio_join(s, r->names[i]);
        else sio_leave(s, r->names[i]);
    }
}

static void remote_disconnect_fn(sio_socket *s, void *ud) { sio_disconnect(s, ud != NULL); }

/* select_rooms() for an fn that changes rooms or disconnects: the selection is copied first, as
 * sio_op_each() does (leaving the room being walked would pull it from under the walk). Out of
 * memory, fn runs on the sockets copied so far. */
static void select_apply(sio_nsp *nsp, const char *const *rooms, int nr, const char *const *except, int ne,
                         void (*fn)(sio_socket *, void *), void *ud)
{
    struct collect c = {0};
    select_rooms(nsp, rooms, nr, except, ne, collect_one, &c);
    for (int i = 0; i < c.n; i++)
        if (!c.v[i]->gone) fn(c.v[i], ud);
    free(c.v);
}

/* ---- Another node's broadcast with acks (request 7) ---- */

/* One BROADCAST with acks from another node, while a recipient here may still answer. */
struct remote_ack {
    sio_server *srv; /* owner (its adapter may be gone by the time the last reference drops) */
    sio_nsp *nsp;    /* the namespace (its response channel) */
    int refs;        /* pending acks pointing here, + 1 while the request is being delivered */
    char rid[];      /* the requester's requestId, NUL-terminated */
};

static void remote_ack_unref(struct remote_ack *ra)
{
    if (--ra->refs) return;
    if (ra->srv->ad) ra->srv->ad->nremote--;
    free(ra);
}

/* A recipient answered: its first argument goes to the requester as a BROADCAST_ACK, msgpack
 * {type: 9, requestId, packet} (packet left out when the answer has no argument, as notepack
 * leaves out undefined; binary attachments become bin values). A timeout or a disconnect sends
 * nothing: the requester counts it missing. */
static void remote_ack_reply(sio_socket *s, int err, const sio_event *reply, void *ud)
{
    (void)s;
    struct remote_ack *ra = ud;
    struct adapter *ad = ra->srv->ad;
    if (!err && ad) {
        sio_str first = sio_arg(reply, 0);
        sio_mp_bin bins[SIO_MAX_ATTACHMENTS];
        int nbins = reply->nbins < SIO_MAX_ATTACHMENTS ? reply->nbins : SIO_MAX_ATTACHMENTS;
        for (int i = 0; i < nbins; i++) bins[i] = (sio_mp_bin){reply->bins[i].data, reply->bins[i].len};
        unsigned char stack[SIO_PKT_STACK];
        sio_mpbuf b;
        sio_mpbuf_init(&b, stack, sizeof stack);
        sio_mp_put_map(&b, first.p ? 3 : 2);
        sio_mp_put_str(&b, "type", 4);
        sio_mp_put_int(&b, 9);
        sio_mp_put_str(&b, "requestId", 9);
        sio_mp_put_str(&b, ra->rid, strlen(ra->rid));
        int rc = 0;
        if (first.p) {
            sio_mp_put_str(&b, "packet", 6);
            rc = sio_msgpack_from_json(first, bins, nbins, &b);
        }
        char ch[SIO_MAX_NSP_NAME + 64];
        size_t n = channel_name(ch, sizeof ch, "-response", ra->nsp, NULL, 0);
        if (rc == 0 && !b.err) adapter_publish_raw(ad, ch, n, b.buf, b.len);
        sio_mpbuf_free(&b);
    }
    remote_ack_unref(ra);
}

struct remote_ack_send {
    const struct emit *em;  /* the packet, with its ack id */
    struct remote_ack *ra;  /* the request */
    uint64_t deadline;      /* when the recipients' pending acks expire */
    int count;              /* recipients that wait for an ack */
};

/* Sends the packet to s with a pending ack that expires at the requester's timeout. */
static void deliver_remote_ack(sio_socket *s, void *ud)
{
    struct remote_ack_send *x = ud;
    struct pending_ack *a = calloc(1, sizeof *a);
    if (!a) return; /* not counted: the requester is told one recipient fewer */
    a->id = x->em->ev.ack_id;
    a->cb = remote_ack_reply;
    a->ud = x->ra;
    a->s = s;
    a->next = s->acks;
    s->acks = a;
    sio__timer_set(s->nsp->srv->loop, &a->timer, x->deadline, ack_timeout);
    x->ra->refs++;
    x->count++;
    send_emit(s, x->em, 0);
}

/* A BROADCAST with acks from another node (§1.4, type 7; req is the msgpack request as JSON, its
 * attachments in mb): delivered here like io.timeout(t).emit() with one new ack id; the number of
 * recipients goes back at once as a BROADCAST_CLIENT_COUNT {type: 8, requestId, clientCount}
 * (JSON), then each answer as it comes (remote_ack_reply). The recipients' pending acks expire at
 * the request's flags.timeout (5 s if absent, at most ADAPTER_MAX_ACK_MS). */
static void adapter_on_broadcast_ack(struct adapter *ad, sio_nsp *nsp, sio_str req, const char *const *rooms, int nr,
                                     const char *const *except, int ne, const sio_mp_bin *mb, int nmb)
{
    char rid[ADAPTER_MAX_REQUEST_ID + 1];
    long rlen = sio_json_unescape(sio_json_get(req, "requestId"), rid, sizeof rid);
    if (rlen <= 0) return;
    for (struct bcast_ack *b = ad->srv->backs; b; b = b->next)
        if (!strcmp(b->rid, rid)) return; /* our own */
    char name[SIO_MAX_EVENT_NAME + 1];
    sio_str args;
    if (packet_event(nsp, sio_json_get(req, "packet"), name, &args) < 0) return;
    if (ad->nremote >= ADAPTER_MAX_REMOTE_ACKS) {
        if (!ad->remote_refused)
            adapter_log(ad->srv, "%s", "too many broadcasts with acks from other nodes at once: "
                                       "some are ignored (ADAPTER_MAX_REMOTE_ACKS)");
        ad->remote_refused = 1;
        return;
    }
    double t;
    uint64_t ms = ADAPTER_REQUEST_TIMEOUT_MS;
    if (sio_json_number(sio_json_get(sio_json_get(sio_json_get(req, "opts"), "flags"), "timeout"), &t) == 0 && t >= 1)
        ms = t < ADAPTER_MAX_ACK_MS ? (uint64_t)t : ADAPTER_MAX_ACK_MS;
    struct remote_ack *ra = calloc(1, sizeof *ra + (size_t)rlen + 1);
    if (!ra) return;
    memcpy(ra->rid, rid, (size_t)rlen + 1);
    ra->srv = ad->srv;
    ra->nsp = nsp;
    ra->refs = 1;
    sio_bin bins[SIO_MAX_ATTACHMENTS];
    for (int i = 0; i < nmb; i++) bins[i] = (sio_bin){mb[i].data, mb[i].len};
    struct emit em;
    if (build_emit(&em, nsp, name, nsp->next_ack_id, args.p, args.len, bins, nmb) < 0) {
        free(ra);
        return;
    }
    nsp->next_ack_id++;
    ad->nremote++;
    struct remote_ack_send x = {&em, ra, sio__now_ms() + ms, 0};
    select_rooms(nsp, rooms, nr, except, ne, deliver_remote_ack, &x);
    emit_release(&em);
    char stack[256];
    sio_jw w;
    sio_jw_init(&w, stack, sizeof stack);
    sio_jw_obj(&w);
    sio_jw_key(&w, "type");
    sio_jw_int(&w, 8);
    sio_jw_key(&w, "requestId");
    sio_jw_str(&w, rid);
    sio_jw_key(&w, "clientCount");
    sio_jw_int(&w, x.count);
    sio_jw_end(&w);
    adapter_respond(ad, nsp, &w);
    sio_jw_free(&w);
    remote_ack_unref(ra);
}

/* A request from another node (§1.4): JSON, or msgpack (a BROADCAST with acks, whose packet may
 * hold binary). */
static void adapter_on_request(struct adapter *ad, sio_nsp *nsp, sio_str payload)
{
    if (!payload.len) return;
    char mstack[SIO_PKT_STACK];
    sio_jw m; /* the msgpack request as JSON */
    sio_jw_init(&m, mstack, sizeof mstack);
    sio_mp_bin mb[SIO_MAX_ATTACHMENTS];
    int nmb = 0;
    if (payload.p[0] != '{') {
        size_t used = 0;
        const unsigned char *p = (const unsigned char *)payload.p;
        if (sio_msgpack_to_json(p, payload.len, &used, &m, mb, &nmb, SIO_MAX_ATTACHMENTS) < 0 || used != payload.len) {
            sio_jw_free(&m);
            return; /* malformed: ignored, as Node ignores it */
        }
        payload = (sio_str){m.buf, m.len};
    } else if (sio_json_value_end(payload.p, payload.len, 0) < 0) {
        return;
    }
    const char **rooms = NULL, **except = NULL, **names = NULL;
    char *rb = NULL, *eb = NULL, *nb = NULL;
    char stack[1024];
    sio_jw w;
    sio_jw_init(&w, stack, sizeof stack);
    sio_str uid = sio_json_get(payload, "uid");
    if (sio_json_str_eq(uid, nsp->uid)) goto done; /* our own */
    double type;
    if (sio_json_number(sio_json_get(payload, "type"), &type) < 0) goto done;
    sio_str rid = sio_json_get(payload, "requestId");
    sio_str opts = sio_json_get(payload, "opts");
    int nr = names_of(type == 0 ? sio_json_get(payload, "rooms") : sio_json_get(opts, "rooms"), &rooms, &rb);
    int ne = names_of(sio_json_get(opts, "except"), &except, &eb);
    if (nr < 0 || ne < 0) goto done;
    if (type == 0 || type == 1 || type == 5) { /* SOCKETS, ALL_ROOMS, REMOTE_FETCH */
        if (sio_json_typeof(rid) != SIO_JSON_STRING) goto done;
        sio_jw_obj(&w);
        sio_jw_key(&w, "requestId");
        sio_jw_raw(&w, rid.p, rid.len);
        if (type == 1) {
            sio_jw_key(&w, "rooms");
            sio_jw_arr(&w);
            for (sio_socket *s = nsp->first; s; s = s->next)
                if (!s->gone) sio_jw_str(&w, s->id);
            for (uint32_t i = 0; nsp->rtab && i <= nsp->rmask; i++)
                for (room *r = nsp->rtab[i]; r; r = r->next) sio_jw_str(&w, r->name);
            sio_jw_end(&w);
        } else {
            sio_jw_key(&w, "sockets");
            sio_jw_arr(&w);
            select_rooms(nsp, rooms, nr, except, ne, type == 0 ? collect_ids : fetch_one, &w);
            sio_jw_end(&w);
        }
        sio_jw_end(&w);
        adapter_respond(ad, nsp, &w);
    } else if (type == 2 || type == 3) { /* REMOTE_JOIN / REMOTE_LEAVE */
        int nn = names_of(sio_json_get(payload, "rooms"), &names, &nb);
        if (nn > 0 && opts.p) {
            struct remote_rooms rr = {names, nn, type == 2};
            select_apply(nsp, rooms, nr, except, ne, remote_join_fn, &rr);
        } else { /* the legacy form: one socket id and one room */
            char sid[SIO_ID_LEN + 1], room_name[SIO_MAX_ROOM_NAME + 1];
            sio_str jsid = sio_json_get(payload, "sid"), jroom = sio_json_get(payload, "room");
            if (sio_json_unescape(jsid, sid, sizeof sid) == SIO_ID_LEN && sio_json_unescape(jroom, room_name, sizeof room_name) >= 0) {
                sio_socket *s = sio_find_socket(nsp, sid, SIO_ID_LEN);
                if (s) {
                    if (type == 2) sio_join(s, room_name);
                    else sio_leave(s, room_name);
                    if (sio_json_typeof(rid) == SIO_JSON_STRING) {
                        sio_jw_obj(&w);
                        sio_jw_key(&w, "requestId");
                        sio_jw_raw(&w, rid.p, rid.len);
                        sio_jw_end(&w);
                        adapter_respond(ad, nsp, &w);
                    }
                }
            }
        }
    } else if (type == 4) { /* REMOTE_DISCONNECT */
        int close = sio_json_typeof(sio_json_get(payload, "close")) == SIO_JSON_TRUE;
        if (opts.p) select_apply(nsp, rooms, nr, except, ne, remote_disconnect_fn, close ? (void *)1 : NULL);
    } else if (type == 7) { /* BROADCAST with acks */
        adapter_on_broadcast_ack(ad, nsp, payload, rooms, nr, except, ne, mb, nmb);
    }
    /* 6 SERVER_SIDE_EMIT: sio has no serverSideEmit listeners, so, like a Node node without
     * listeners, it does not answer. */
done:
    free(rooms);
    free(rb);
    free(except);
    free(eb);
    free(names);
    free(nb);
    sio_jw_free(&w);
    sio_jw_free(&m);
}

static void cluster_req_finish(struct cluster_req *q)
{
    struct cluster_req **pp = &q->srv->creqs;
    while (*pp && *pp != q) pp = &(*pp)->next;
    if (*pp) *pp = q->next;
    sio__timer_stop(q->srv->loop, &q->timer);
    q->done = 1;
    q->cb(q->count, q->ud);
    free(q->request);
    q->request = NULL;
    if (!q->numsub_pending) free(q); /* else on_numsub frees it */
}

/* Another node's answer to one of our broadcasts with acks (resp, JSON): its number of
 * recipients (type 8, clientCount) or one recipient's answer (type 9, packet). Counts that are
 * not integers in [0, ADAPTER_MAX_ACK_CLIENTS] all told, answers beyond the announced counts or
 * past ADAPTER_MAX_ACK_BYTES, and unknown or finished requestIds are ignored. */
static void bcast_ack_response(struct adapter *ad, sio_str resp, int type)
{
    sio_str rid = sio_json_get(resp, "requestId");
    if (sio_json_typeof(rid) != SIO_JSON_STRING) return;
    struct bcast_ack *b = ad->srv->backs;
    while (b && !(b->rid[0] && sio_json_str_eq(rid, b->rid))) b = b->next;
    if (!b) return;
    if (type == 8) {
        double n;
        if (sio_json_number(sio_json_get(resp, "clientCount"), &n) < 0 || !(n >= 0) ||
            n > (double)(ADAPTER_MAX_ACK_CLIENTS - b->expected) || n != (double)(int)n)
            return;
        b->counted++;
        b->expected += (int)n;
    } else {
        sio_str packet = sio_json_get(resp, "packet");
        if (b->received >= b->expected || b->responses.len + packet.len > ADAPTER_MAX_ACK_BYTES) return;
        if (packet.p) sio_jw_raw(&b->responses, packet.p, packet.len);
        else sio_jw_null(&b->responses);
        b->received++;
    }
    if (bcast_ack_complete(b)) bcast_ack_finish(b, 0);
}

/* 1 if one of our broadcasts with acks waits for other nodes. */
static int bcast_ack_waiting(const sio_server *srv)
{
    for (const struct bcast_ack *b = srv->backs; b; b = b->next)
        if (b->rid[0]) return 1;
    return 0;
}

/* A response on a response channel: JSON for one of our SOCKETS requests or a broadcast's count
 * (8), msgpack for a broadcast's ack (9). */
static void adapter_on_response(struct adapter *ad, sio_str payload)
{
    if (!payload.len) return;
    char stack[SIO_PKT_STACK];
    sio_jw w; /* a msgpack response as JSON */
    sio_jw_init(&w, stack, sizeof stack);
    if (payload.p[0] != '{') {
        sio_mp_bin mb[SIO_MAX_ATTACHMENTS]; /* an ack's binary stays a placeholder in responses */
        int nmb = 0;
        size_t used = 0;
        const unsigned char *p = (const unsigned char *)payload.p;
        if (!bcast_ack_waiting(ad->srv)) goto done; /* nothing of ours can be answered */
        if (sio_msgpack_to_json(p, payload.len, &used, &w, mb, &nmb, SIO_MAX_ATTACHMENTS) < 0 || used != payload.len)
            goto done;
        payload = (sio_str){w.buf, w.len};
    } else if (sio_json_value_end(payload.p, payload.len, 0) < 0) {
        goto done;
    }
    double type;
    if (sio_json_number(sio_json_get(payload, "type"), &type) == 0 && (type == 8 || type == 9)) {
        bcast_ack_response(ad, payload, (int)type);
        goto done;
    }
    sio_str rid = sio_json_get(payload, "requestId");
    for (struct cluster_req *q = ad->srv->creqs; q; q = q->next) {
        if (!sio_json_str_eq(rid, q->id)) continue;
        int n = sio_json_count(sio_json_get(payload, "sockets"));
        if (n > 0) q->count += (size_t)n;
        if (q->expect > 0 && --q->expect == 0) cluster_req_finish(q);
        break;
    }
done:
    sio_jw_free(&w);
}

static void adapter_on_message(sio_redis *r, sio_str channel, sio_str pattern, sio_str payload, void *ud)
{
    (void)r;
    (void)pattern;
    struct adapter *ad = ud;
    size_t klen = strlen(ADAPTER_KEY);
    if (channel.len <= klen || memcmp(channel.p, ADAPTER_KEY, klen) != 0) return;
    sio_str rest = {channel.p + klen, channel.len - klen};
    int kind = 0; /* 0 broadcast, 1 request, 2 response */
    if (rest.len > 9 && memcmp(rest.p, "-request#", 9) == 0) kind = 1, rest.p += 8, rest.len -= 8;
    else if (rest.len > 10 && memcmp(rest.p, "-response#", 10) == 0) kind = 2, rest.p += 9, rest.len -= 9;
    if (rest.len < 3 || rest.p[0] != '#') return;
    if (kind == 2) { /* shared or per-uid: the requestId tells whose */
        adapter_on_response(ad, payload);
        return;
    }
    for (sio_nsp *nsp = ad->srv->nsps; nsp; nsp = nsp->next) {
        if (nsp->match || rest.len < nsp->name_len + 2) continue;
        if (memcmp(rest.p + 1, nsp->name, nsp->name_len) != 0 || rest.p[1 + nsp->name_len] != '#') continue;
        sio_str tail = {rest.p + nsp->name_len + 2, rest.len - nsp->name_len - 2};
        if (kind == 1) {
            if (tail.len == 0) adapter_on_request(ad, nsp, payload);
        } else if (tail.len == 0 || tail.p[tail.len - 1] == '#') {
            adapter_on_broadcast(nsp, (sio_str){tail.p, tail.len ? tail.len - 1 : 0}, payload);
        }
        return;
    }
}

static void cluster_req_timeout(sio_loop *l, sio_timer *t)
{
    (void)l;
    cluster_req_finish((struct cluster_req *)((char *)t - offsetof(struct cluster_req, timer)));
}

/* The subscriber count in a PUBSUB NUMSUB reply ([channel, n]), or -1 for no reply. */
static long numsub_of(const struct sio_resp_tok *reply, int ntok)
{
    if (!reply || ntok < 3 || reply[0].type != SIO_RESP_ARRAY || reply[2].type != SIO_RESP_INT) return -1;
    return (long)reply[2].n;
}

/* PUBSUB NUMSUB answered: every subscriber of the request channel but us will answer. */
static void on_numsub(sio_redis *r, const struct sio_resp_tok *reply, int ntok, void *ud)
{
    (void)r;
    struct cluster_req *q = ud;
    q->numsub_pending = 0;
    if (q->done) { /* timed out, or the server is being freed */
        free(q);
        return;
    }
    long subs = numsub_of(reply, ntok);
    q->expect = subs < 0 ? 0 : subs - 1;
    if (q->expect <= 0 || !q->request) {
        cluster_req_finish(q);
        return;
    }
    char ch[SIO_MAX_NSP_NAME + 64];
    size_t n = channel_name(ch, sizeof ch, "-request", q->nsp, NULL, 0);
    if (q->srv->ad) adapter_publish_raw(q->srv->ad, ch, n, q->request, strlen(q->request));
}

static void count_local(sio_socket *s, void *ud)
{
    (void)s;
    (*(size_t *)ud)++;
}

int sio_op_count_cluster(sio_op op, sio_count_cb cb, void *ud)
{
    if (!op.nsp || !cb) return SIO_ERR_INVAL;
    if (op.flags & SIO_OP_OVERFLOW) return SIO_ERR_LIMIT;
    struct adapter *ad = op.nsp->srv->ad;
    struct cluster_req *q = calloc(1, sizeof *q);
    if (!q) return SIO_ERR_NOMEM;
    q->cb = cb;
    q->ud = ud;
    q->nsp = op.nsp;
    q->expect = -1;
    select_each(&op, count_local, &q->count);
    sio__new_id(q->id);
    q->srv = op.nsp->srv;
    q->next = q->srv->creqs;
    q->srv->creqs = q;
    if (!ad) { /* one node: the local count, reported from the next turn's timers */
        sio__timer_set(q->srv->loop, &q->timer, sio__now_ms(), cluster_req_timeout);
        return 0;
    }
    sio__timer_set(q->srv->loop, &q->timer, sio__now_ms() + ADAPTER_REQUEST_TIMEOUT_MS, cluster_req_timeout);
    sio_jw w;
    sio_jw_init(&w, NULL, 0);
    sio_jw_obj(&w);
    sio_jw_key(&w, "uid");
    sio_jw_str(&w, op.nsp->uid);
    sio_jw_key(&w, "requestId");
    sio_jw_str(&w, q->id);
    sio_jw_key(&w, "type");
    sio_jw_int(&w, 0);
    sio_jw_key(&w, "rooms");
    sio_jw_arr(&w);
    for (int i = 0; i < op.nrooms; i++) sio_jw_str(&w, op.rooms[i]);
    sio_jw_end(&w);
    sio_jw_end(&w);
    if (!w.err && (q->request = malloc(w.len + 1))) {
        memcpy(q->request, w.buf, w.len);
        q->request[w.len] = '\0';
    }
    sio_jw_free(&w);
    char ch[SIO_MAX_NSP_NAME + 64];
    channel_name(ch, sizeof ch, "-request", op.nsp, NULL, 0);
    if (q->request && sio__redis_cmd(ad->pub, on_numsub, q, "PUBSUB", "NUMSUB", ch, (char *)NULL) == 0)
        q->numsub_pending = 1;
    else
        sio__timer_set(ad->srv->loop, &q->timer, sio__now_ms(), cluster_req_timeout); /* local only */
    return 0;
}

/* PUBSUB NUMSUB answered for a broadcast with acks: that many nodes, us included, will count.
 * Without a reply the other nodes stay unknown and the broadcast ends at its timeout. */
static void bcast_ack_numsub(sio_redis *r, const struct sio_resp_tok *reply, int ntok, void *ud)
{
    (void)r;
    struct bcast_ack *b = ud;
    long subs = numsub_of(reply, ntok);
    if (!b->done && subs >= 0) {
        b->servers = subs > 0 ? subs - 1 : 0;
        if (bcast_ack_complete(b)) bcast_ack_finish(b, 0);
    }
    bcast_ack_unref(b);
}

/* Publishes a broadcast with acks for the other nodes, as the Node adapter does (§1.4): msgpack
 * {uid, requestId, type: 7, packet, opts: {rooms, except, flags: {timeout}}} on the request
 * channel, then PUBSUB NUMSUB of that channel to learn how many nodes will send a count.
 * Returns 0 (b waits for those nodes: b->rid is set, b->servers -1 until NUMSUB answers), or -1
 * when the broadcast stays local (no adapter, sio_local(), Redis down, out of memory). */
static int adapter_publish_ack(const sio_op *op, const struct emit *em, struct bcast_ack *b, int timeout_ms)
{
    sio_nsp *nsp = op->nsp;
    struct adapter *ad = nsp->srv->ad;
    if (!ad || (op->flags & SIO_OP_LOCAL) || nsp->match || !sio__redis_is_up(ad->pub)) return -1;
    sio__new_id(b->rid);
    unsigned char stack[SIO_PKT_STACK];
    sio_mpbuf m;
    sio_mpbuf_init(&m, stack, sizeof stack);
    sio_mp_put_map(&m, 5);
    sio_mp_put_str(&m, "uid", 3);
    sio_mp_put_str(&m, nsp->uid, strlen(nsp->uid));
    sio_mp_put_str(&m, "requestId", 9);
    sio_mp_put_str(&m, b->rid, SIO_ID_LEN);
    sio_mp_put_str(&m, "type", 4);
    sio_mp_put_int(&m, 7);
    sio_mp_put_str(&m, "packet", 6);
    int rc = put_packet(&m, nsp, em);
    sio_mp_put_str(&m, "opts", 4);
    put_opts(&m, op, timeout_ms);
    char ch[SIO_MAX_NSP_NAME + 64];
    size_t n = channel_name(ch, sizeof ch, "-request", nsp, NULL, 0);
    if (rc < 0 || m.err || adapter_publish_raw(ad, ch, n, m.buf, m.len) < 0) rc = -1;
    sio_mpbuf_free(&m);
    if (rc < 0) {
        b->rid[0] = '\0';
        return -1;
    }
    b->servers = -1;
    if (sio__redis_cmd(ad->pub, bcast_ack_numsub, b, "PUBSUB", "NUMSUB", ch, (char *)NULL) == 0) b->refs++;
    return 0;
}

/* socketsJoin / socketsLeave / disconnectSockets for the other nodes, in the 8.x form (§1.4):
 * JSON {uid, type: 2|3, opts: {rooms, except}, rooms: [room]} or {uid, type: 4, opts, close}.
 * Nothing is published without an adapter, for sio_local() or an op that cannot be used; while
 * Redis is down it is dropped (counted). */
static void adapter_remote_op(const sio_op *op, int type, const char *room, int close_session)
{
    if (!op->nsp || (op->flags & (SIO_OP_LOCAL | SIO_OP_OVERFLOW)) || op->nsp->match) return;
    struct adapter *ad = op->nsp->srv->ad;
    if (!ad || (type != 4 && !room)) return;
    char stack[1024];
    sio_jw w;
    sio_jw_init(&w, stack, sizeof stack);
    sio_jw_obj(&w);
    sio_jw_key(&w, "uid");
    sio_jw_str(&w, op->nsp->uid);
    sio_jw_key(&w, "type");
    sio_jw_int(&w, type);
    sio_jw_key(&w, "opts");
    sio_jw_obj(&w);
    sio_jw_key(&w, "rooms");
    sio_jw_arr(&w);
    for (int i = 0; i < op->nrooms; i++) sio_jw_str(&w, op->rooms[i]);
    sio_jw_end(&w);
    sio_jw_key(&w, "except");
    sio_jw_arr(&w);
    for (int i = 0; i < op->nexcept; i++) sio_jw_str(&w, op->except[i]);
    sio_jw_end(&w);
    sio_jw_end(&w);
    if (type == 4) {
        sio_jw_key(&w, "close");
        sio_jw_bool(&w, close_session);
    } else {
        sio_jw_key(&w, "rooms");
        sio_jw_arr(&w);
        sio_jw_str(&w, room);
        sio_jw_end(&w);
    }
    sio_jw_end(&w);
    char ch[SIO_MAX_NSP_NAME + 64];
    size_t n = channel_name(ch, sizeof ch, "-request", op->nsp, NULL, 0);
    if (!w.err) adapter_publish_raw(ad, ch, n, w.buf, w.len);
    sio_jw_free(&w);
}

static void adapter_log_cb(void *ud, const char *line) { adapter_log(ud, "%s", line); }

int sio_redis_adapter(sio_server *srv, const char *url)
{
    if (!url || srv->ad) return SIO_ERR_INVAL;
    struct sio_redis_url u;
    if (sio__redis_parse_url(url, &u) < 0) return SIO_ERR_INVAL;
    struct adapter *ad = calloc(1, sizeof *ad);
    if (!ad) return SIO_ERR_NOMEM;
    ad->srv = srv;
    ad->pub = sio__redis_new(srv->loop, url, 0);
    ad->sub = sio__redis_new(srv->loop, url, SIO_REDIS_SUBSCRIBER);
    if (!ad->pub || !ad->sub) {
        sio__redis_free(ad->pub);
        sio__redis_free(ad->sub);
        free(ad);
        return SIO_ERR_NOMEM;
    }
    sio__redis_set_log(ad->pub, adapter_log_cb, srv);
    sio__redis_set_log(ad->sub, adapter_log_cb, srv);
    sio__redis_on_message(ad->sub, adapter_on_message, ad);
    srv->ad = ad;
    for (sio_nsp *nsp = srv->nsps; nsp; nsp = nsp->next) adapter_nsp_add(nsp);
    return 0;
}

/* One sio_redis_command() in flight: the application's callback and its data. */
struct app_cmd {
    sio_redis_cb cb; /* the application's callback */
    void *ud;        /* its data */
};

/* Hands a reply (or its loss) to the application's callback. */
static void app_cmd_reply(sio_redis *r, const struct sio_resp_tok *reply, int ntok, void *ud)
{
    (void)r;
    struct app_cmd c = *(struct app_cmd *)ud;
    free(ud);
    c.cb(reply ? 0 : SIO_ERR_CLOSED, reply, reply ? ntok : 0, c.ud);
}

int sio_redis_command(sio_server *srv, int argc, const char *const *argv, const size_t *lens, sio_redis_cb cb,
                      void *ud)
{
    if (!srv || !srv->ad || argc < 1 || !argv) return SIO_ERR_INVAL;
    struct app_cmd *c = NULL;
    if (cb) {
        c = malloc(sizeof *c);
        if (!c) return SIO_ERR_NOMEM;
        c->cb = cb;
        c->ud = ud;
    }
    int rc = sio__redis_command(srv->ad->pub, argc, argv, lens, cb ? app_cmd_reply : NULL, c);
    if (rc == 0) return 0;
    free(c);
    return rc == SIO_REDIS_ERR_DOWN    ? SIO_ERR_CLOSED
           : rc == SIO_REDIS_ERR_LIMIT ? SIO_ERR_LIMIT
           : rc == SIO_REDIS_ERR_NOMEM ? SIO_ERR_NOMEM
                                       : SIO_ERR_INVAL;
}

static void adapter_free(struct adapter *ad)
{
    if (!ad) return;
    sio__redis_free(ad->pub);
    sio__redis_free(ad->sub);
    free(ad);
}

/* ====== The server ====== */

static void before_sleep(sio_loop *l, void *ud)
{
    (void)l;
    sio_server *srv = ud;
    for (int round = 0; round < 16; round++) {
        finish_dead(srv);
        sio__engine_before_sleep(srv->eng);
        if (!srv->dead) break;
    }
}

static void on_stop(sio_loop *l, int fd, void *ud, int events)
{
    (void)l;
    (void)events;
    uint64_t v;
    if (read(fd, &v, sizeof v) < 0) { /* nothing to do: the flag is what matters */ }
    ((sio_server *)ud)->stopping = 1;
}

sio_server *sio_server_new(const struct sio_options *opts)
{
    sio_server *srv = calloc(1, sizeof *srv);
    if (!srv) return NULL;
    if (opts) srv->o = *opts;
    else sio_options_init(&srv->o);
    if (srv->o.max_clients <= 0) srv->o.max_clients = SIO_MAX_CLIENTS_DEFAULT;
    srv->stop_fd = -1;
    int setsize = srv->o.max_clients * 2 + 1024;
    srv->loop = sio__loop_new(setsize < 65536 ? 65536 : setsize);
    struct eio_callbacks cb = {on_open, on_message, on_close, srv};
    if (srv->loop) srv->eng = sio__engine_new(srv->loop, &srv->o);
    srv->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (!srv->loop || !srv->eng || srv->stop_fd < 0 || (srv->o.path && sio__engine_attach(srv->eng, &srv->o, &cb) < 0) ||
        sio__idtab_init(&srv->sockets, (uint32_t)srv->o.max_clients, offsetof(sio_socket, id)) < 0 ||
        sio__loop_watch(srv->loop, srv->stop_fd, SIO_EV_READ, on_stop, srv) < 0 || !sio_of(srv, "/")) {
        sio_server_free(srv);
        return NULL;
    }
    sio__loop_before_sleep(srv->loop, before_sleep, srv);
    return srv;
}

int sio_server_listen(sio_server *srv, const char *host, int port, char *err)
{
    return sio__engine_listen(srv->eng, host, port, err);
}

int sio_server_port(const sio_server *srv) { return sio__engine_port(srv->eng); }

void sio_server_stop(sio_server *srv)
{
    uint64_t one = 1;
    srv->stopping = 1;
    if (write(srv->stop_fd, &one, sizeof one) < 0) { /* the flag alone still stops it */ }
}

/* A periodic callback (sio_server_every). */
struct interval {
    sio_timer timer;        /* next run */
    uint64_t ms;            /* period */
    void (*cb)(void *ud);   /* what to call */
    void *ud;               /* its data */
    sio_server *srv;        /* owner */
    struct interval *next;  /* the server's other intervals */
};

static void interval_fire(sio_loop *l, sio_timer *t)
{
    struct interval *iv = (struct interval *)((char *)t - offsetof(struct interval, timer));
    sio__timer_set(l, &iv->timer, sio__now_ms() + iv->ms, interval_fire);
    iv->cb(iv->ud);
}

int sio_server_every(sio_server *srv, int ms, void (*cb)(void *ud), void *ud)
{
    if (ms <= 0 || !cb) return SIO_ERR_INVAL;
    struct interval *iv = calloc(1, sizeof *iv);
    if (!iv) return SIO_ERR_NOMEM;
    iv->ms = (uint64_t)ms;
    iv->cb = cb;
    iv->ud = ud;
    iv->srv = srv;
    iv->next = srv->intervals;
    srv->intervals = iv;
    sio__timer_set(srv->loop, &iv->timer, sio__now_ms() + iv->ms, interval_fire);
    return 0;
}

/* Testing hooks for the fuzz targets (declared there): feed a descriptor, run one loop turn. */
int sio__server_adopt(sio_server *srv, int fd);
int sio__server_turn(sio_server *srv, int max_wait_ms);
int sio__server_adopt(sio_server *srv, int fd) { return sio__engine_adopt(srv->eng, fd); }
int sio__server_turn(sio_server *srv, int max_wait_ms) { return sio__loop_turn(srv->loop, max_wait_ms); }

int sio_server_run(sio_server *srv)
{
    while (!srv->stopping)
        if (sio__loop_turn(srv->loop, 1000) < 0) return SIO_ERR_SYS;
    sio__engine_shutdown(srv->eng);
    uint64_t end = sio__now_ms() + SIO_SHUTDOWN_MS;
    do {
        if (sio__loop_turn(srv->loop, 20) < 0) return SIO_ERR_SYS;
    } while (!sio__engine_drained(srv->eng) && sio__now_ms() < end);
    before_sleep(srv->loop, srv);
    return 0;
}

void sio_server_free(sio_server *srv)
{
    if (!srv) return;
    finish_dead(srv);
    while (srv->creqs) cluster_req_finish(srv->creqs); /* "cb runs once": with what is known */
    adapter_free(srv->ad);
    srv->ad = NULL;
    sio__engine_free(srv->eng); /* sessions still open get on_close (their sockets' disconnect
                                   handlers run); anything left below is freed without callbacks */
    for (sio_nsp *n = srv->nsps; n;) {
        sio_nsp *next = n->next;
        while (n->first) {
            sio_socket *s = n->first;
            n->first = s->next;
            leave_all(s);
            while (s->handlers) {
                struct handler *h = s->handlers;
                s->handlers = h->next;
                free(h);
            }
            while (s->acks) {
                struct pending_ack *a = s->acks;
                s->acks = a->next;
                sio__timer_stop(srv->loop, &a->timer);
                a->cb(s, SIO_ERR_CLOSED, NULL, a->ud);
                free(a);
            }
            free(s->hooks);
            free(s);
        }
        while (n->handlers) {
            struct handler *h = n->handlers;
            n->handlers = h->next;
            free(h);
        }
        free(n->rtab);
        free(n->mws);
        free(n);
        n = next;
    }
    while (srv->backs) bcast_ack_finish(srv->backs, SIO_ERR_CLOSED); /* "called exactly once" */
    free(srv->reject_data);
    sio__idtab_free(&srv->sockets);
    while (srv->intervals) {
        struct interval *iv = srv->intervals;
        srv->intervals = iv->next;
        sio__timer_stop(srv->loop, &iv->timer);
        free(iv);
    }
    while (srv->bare) {
        struct bare_ep *b = srv->bare;
        srv->bare = b->next;
        free(b);
    }
    if (srv->stop_fd >= 0) close(srv->stop_fd);
    sio__loop_free(srv->loop);
    free(srv);
}

/* ====== Bare Engine.IO ====== */

static void *bare_open(eio_session *sess, const struct sio_http_req *req, const char *addr, void *ud)
{
    (void)req;
    (void)addr;
    struct bare_ep *b = ud;
    if (b->h.on_open) b->h.on_open((sio_eio_socket *)sess, b->ud);
    return b; /* non-NULL: the session's state is just its endpoint */
}

static void bare_message(eio_session *sess, void *state, const char *data, size_t len, int binary)
{
    struct bare_ep *b = state;
    if (b->h.on_message) b->h.on_message((sio_eio_socket *)sess, data, len, binary, b->ud);
}

static void bare_close(eio_session *sess, void *state, const char *reason)
{
    struct bare_ep *b = state;
    if (b->h.on_close) b->h.on_close((sio_eio_socket *)sess, reason, b->ud);
}

int sio_eio_attach(sio_server *srv, const char *path, const struct sio_options *opts, const struct sio_eio_handlers *h,
                   void *ud)
{
    if (!path || !h) return SIO_ERR_INVAL;
    struct bare_ep *b = calloc(1, sizeof *b);
    if (!b) return SIO_ERR_NOMEM;
    b->h = *h;
    b->ud = ud;
    struct sio_options o = opts ? *opts : srv->o;
    o.path = path;
    struct eio_callbacks cb = {bare_open, bare_message, bare_close, b};
    int rc = sio__engine_attach(srv->eng, &o, &cb);
    if (rc < 0) {
        free(b);
        return rc;
    }
    b->next = srv->bare;
    srv->bare = b;
    return 0;
}

int sio_eio_send(sio_eio_socket *s, const void *data, size_t len, int binary)
{
    eio_session *sess = (eio_session *)s;
    if (sio__eio_closing(sess)) return SIO_ERR_CLOSED;
    eio_pkt *p = sio__pkt_alloc(len + (binary ? 0 : 1), binary);
    if (!p) return SIO_ERR_NOMEM;
    if (!binary) p->data[0] = '4';
    if (len) memcpy(p->data + (binary ? 0 : 1), data, len);
    sio__pkt_seal(p);
    sio__eio_send(sess, p, 0);
    sio__pkt_unref(p);
    return 0;
}

void sio_eio_close(sio_eio_socket *s) { sio__eio_close((eio_session *)s, "forced close"); }
const char *sio_eio_id(const sio_eio_socket *s) { return sio__eio_sid((const eio_session *)s); }
void sio_eio_set_data(sio_eio_socket *s, void *data) { sio__eio_set_data((eio_session *)s, data); }
void *sio_eio_data(const sio_eio_socket *s) { return sio__eio_data((const eio_session *)s); }
