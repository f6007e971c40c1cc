/* SPDX-License-Identifier: MIT */
/* sio.h -- a Socket.IO v4 server in C: the public API, and its manual.
 *
 * If it is not in this file, it is not API. The server is single-threaded: every function here
 * must be called from the thread that runs sio_server_run() (or before it starts), except
 * sio_server_stop(), which is also safe to call from a signal handler.
 *
 * The shape follows the JavaScript server, call for call:
 *
 *   JavaScript                                    C
 *   const io = new Server(httpServer, opts)       sio_server *srv = sio_server_new(&opts);
 *   httpServer.listen(3000)                       sio_server_listen(srv, "0.0.0.0", 3000, err);
 *   io.use((socket, next) => ...)                 sio_use(sio_of(srv, "/"), mw, ud);
 *   io.of("/admin")                               sio_of(srv, "/admin")
 *   io.on("connection", (socket) => ...)          sio_on_connection(sio_of(srv, "/"), on_conn, ud);
 *   socket.on("ev", (arg, cb) => ...)             sio_socket_on(s, "ev", on_ev, ud);
 *   socket.on("disconnect", (reason) => ...)      sio_socket_on_disconnect(s, on_gone, ud);
 *   socket.emit("ev", a, b)                       sio_emit(s, "ev", "1,\"b\"");
 *   cb(x)   (the client's ack callback)           sio_ack(s, ev, "x");
 *   socket.timeout(ms).emit("ev", a, (err,r)=>…)  sio_emit_with_ack(s, "ev", "a", ms, on_reply, ud);
 *   socket.broadcast.emit("ev", x)                sio_op_emit(sio_broadcast(s), "ev", "x");
 *   socket.to(room).emit("ev", x)                 sio_op_emit(sio_socket_to(s, room), "ev", "x");
 *   io.to(room).except(r2).emit("ev", x)          sio_op_emit(sio_except(sio_to(sio_all(nsp), room), r2), ...)
 *   io.emit("ev", x)                              sio_op_emit(sio_all(nsp), "ev", "x");
 *   socket.join(room) / socket.leave(room)        sio_join(s, room) / sio_leave(s, room)
 *   socket.disconnect(close)                      sio_disconnect(s, close);
 *   io.of("/").sockets (a Map by id)              sio_find_socket(nsp, id), sio_first_socket(nsp) / sio_next_socket(s)
 *
 * Arguments are JSON text. Everything a client sends arrives as JSON slices into the packet, and
 * everything you emit is JSON text you give: an "argument list" is zero or more JSON values
 * separated by commas, exactly what stands between the brackets after the event name on the wire.
 * So `sio_emit(s, "users", "[{\"userID\":\"x\"}]")` sends `42["users",[{"userID":"x"}]]`, and an
 * argument list received in an event can be emitted again untouched. json.h builds and reads
 * such text (sio_jw_* to write, sio_json_get()/sio_json_at() to read).
 *
 * Binary: an argument list may hold placeholders `{"_placeholder":true,"num":N}` standing for
 * attachment N of an array of sio_bin; on the wire they travel as Socket.IO attachments.
 *
 * Lifetimes, in one rule: pointers the library gives you (sio_socket *, sio_event *, slices) are
 * valid until the callback that received them returns; a sio_socket * stays valid until its
 * disconnect handler returns. Keep a socket id (sio_socket_id()) to find it again later.
 */
#ifndef SIO_H
#define SIO_H

#include <stddef.h>
#include <stdint.h>

#include "json.h"

#define SIO_VERSION "0.1.0"

/* ====== Limits (override with -D; run-time options are in struct sio_options) ====== */
#ifndef SIO_MAX_CLIENTS_DEFAULT
#define SIO_MAX_CLIENTS_DEFAULT 10000 /* default max_clients: Engine.IO sessions and sockets at once */
#endif
#ifndef SIO_MAX_CORS_ORIGINS
#define SIO_MAX_CORS_ORIGINS 8 /* origins in sio_options.cors_origins */
#endif
#ifndef SIO_MAX_OP_ROOMS
#define SIO_MAX_OP_ROOMS 8 /* rooms in one sio_to()/sio_except() chain (each list) */
#endif
#ifndef SIO_MAX_ATTACHMENTS
#define SIO_MAX_ATTACHMENTS 10 /* binary attachments per packet (socket.io-parser's limit) */
#endif
#ifndef SIO_MAX_EVENT_NAME
#define SIO_MAX_EVENT_NAME 256 /* bytes of a decoded event name; longer names match no handler */
#endif
#ifndef SIO_MAX_NSP_NAME
#define SIO_MAX_NSP_NAME 128 /* bytes of a namespace name, "/" included */
#endif
#ifndef SIO_MAX_ROOM_NAME
#define SIO_MAX_ROOM_NAME 256 /* bytes of a room name */
#endif
#ifndef SIO_HTTP_REQUEST_MS_DEFAULT
#define SIO_HTTP_REQUEST_MS_DEFAULT 30000 /* default http_request_timeout (slowloris guard) */
#endif
#ifndef SIO_HTTP_KEEPALIVE_MS_DEFAULT
#define SIO_HTTP_KEEPALIVE_MS_DEFAULT 5000 /* default http_keepalive_timeout (Node's keepAliveTimeout) */
#endif
#ifndef SIO_OUTPUT_HARD_DEFAULT
#define SIO_OUTPUT_HARD_DEFAULT (8u << 20) /* default output_hard_limit, bytes */
#endif
#ifndef SIO_OUTPUT_SOFT_DEFAULT
#define SIO_OUTPUT_SOFT_DEFAULT (1u << 20) /* default output_soft_limit, bytes */
#endif
#ifndef SIO_OUTPUT_SOFT_SECONDS_DEFAULT
#define SIO_OUTPUT_SOFT_SECONDS_DEFAULT 10 /* default output_soft_seconds */
#endif
#ifndef SIO_MAX_NAMESPACES_DEFAULT
#define SIO_MAX_NAMESPACES_DEFAULT 32 /* default max_namespaces: namespaces joined per connection */
#endif
#ifndef SIO_MAX_ROOMS_DEFAULT
#define SIO_MAX_ROOMS_DEFAULT 1024 /* default max_rooms: named rooms per socket */
#endif
#define SIO_ID_LEN 20 /* characters in an Engine.IO sid and a Socket.IO socket id */

/* ====== Errors ====== */
#define SIO_OK 0
#define SIO_ERR_NOMEM (-1)   /* out of memory */
#define SIO_ERR_INVAL (-2)   /* bad argument (NULL, malformed JSON argument list, reserved name) */
#define SIO_ERR_CLOSED (-3)  /* the socket is disconnected or disconnecting */
#define SIO_ERR_LIMIT (-4)   /* a named limit was reached */
#define SIO_ERR_TIMEOUT (-5) /* an ack did not arrive in time */
#define SIO_ERR_SYS (-6)     /* a system call failed; see errno / the err buffer */

#define SIO_ERR_LEN 256 /* size of the err buffers some functions fill */

/* A short English description of an SIO_ERR_* code. Never NULL. */
const char *sio_strerror(int err);

/* ====== Types ====== */
struct sio_http_request; /* a plain HTTP request (defined below, with sio_on_request) */
typedef struct sio_server sio_server; /* the server: listener, event loop, namespaces */
typedef struct sio_nsp sio_nsp;       /* a namespace ("/" or "/admin") */
typedef struct sio_socket sio_socket; /* one client's connection to one namespace */

/* A binary attachment. */
typedef struct sio_bin {
    const void *data; /* bytes (borrowed) */
    size_t len;       /* byte count */
} sio_bin;

/* An event or ack received from a client. All slices point into the received packet and are
 * valid until the handler returns. */
typedef struct sio_event {
    const char *name;     /* decoded event name, NUL-terminated ("" for an ack) */
    sio_str args;         /* the argument list (JSON values separated by commas, no brackets);
                             len 0 when there are none */
    int argc;             /* number of arguments */
    const sio_bin *bins;  /* attachments the placeholders in args refer to */
    int nbins;            /* number of attachments */
    int64_t ack_id;       /* the client's ack id, or -1 when it asked for no ack */
} sio_event;

/* Server options. Start from sio_options_init() and change what you need. */
struct sio_options {
    const char *path;           /* request path prefix, with trailing slash; "/socket.io/" */
    int ping_interval;          /* ms between server pings (pingInterval); 25000 */
    int ping_timeout;           /* ms to wait for a pong (pingTimeout); 20000 */
    int upgrade_timeout;        /* ms for a polling->WebSocket upgrade to finish; 10000 */
    int connect_timeout;        /* ms for a new session to join a namespace (connectTimeout); 45000 */
    size_t max_http_buffer_size; /* largest POST body / WebSocket message (maxHttpBufferSize); 1e6 */
    int max_clients;            /* Engine.IO sessions (and the socket table's size); 10000. At the
                                   limit a handshake gets 503 and a CONNECT "Server is full"; TCP
                                   connections are capped at 2 * max_clients + 64 */
    int http_request_timeout;   /* ms for a request's head and body to arrive after its first
                                   byte (slowloris); 30000. The connection is then closed */
    int http_keepalive_timeout; /* ms an idle keep-alive HTTP connection is kept; 5000 */
    size_t output_hard_limit;   /* bytes queued for one client before it is closed at once; 8 MiB */
    size_t output_soft_limit;   /* bytes queued for one client ... */
    int output_soft_seconds;    /* ... for this many seconds before it is closed; 1 MiB, 10 s
                                   (Redis's client-output-buffer-limit model: a slow reader) */
    int max_namespaces;         /* namespaces one connection may join; 32 (then CONNECT_ERROR) */
    int max_rooms;              /* named rooms one socket may join; 1024 (then SIO_ERR_LIMIT) */
    const char *cors_origins[SIO_MAX_CORS_ORIGINS]; /* CORS origins; none = no CORS headers (Node's
                                   default); "*" = any; one = sent as is; several = the request's
                                   Origin echoed when it is one of them */
    int n_cors_origins;         /* entries used in cors_origins */
    int cors_credentials;       /* 1: add Access-Control-Allow-Credentials: true */
    int allow_upgrades;         /* 1: advertise "websocket" in polling handshakes; 1 */
    int transports;             /* SIO_TRANSPORT_POLLING | SIO_TRANSPORT_WEBSOCKET (both) */
    /* allowRequest: called for every handshake (a request without sid) before a session is
     * created. Return NULL to allow it, or a message to refuse it: polling gets 403
     * {"code":4,"message":<message>}, a WebSocket upgrade a plain 400. NULL hook = allow all. */
    const char *(*allow_request)(const struct sio_http_request *req, void *ud);
    void *allow_request_ud;     /* passed to allow_request */
    const char *cookie_name;    /* cookie: NULL = off (Node's default); "io" = Node's cookie: true.
                                   The polling handshake then sets <name>=<sid> (A13). */
    const char *cookie_path;    /* its Path; "/" */
    const char *cookie_same_site; /* "Lax" (default), "Strict", "None", or NULL for none */
    int cookie_http_only;       /* 1 (default): add HttpOnly */
    int cookie_max_age;         /* seconds; 0 = session cookie (no Max-Age) */
};
#define SIO_TRANSPORT_POLLING 1   /* HTTP long-polling */
#define SIO_TRANSPORT_WEBSOCKET 2 /* WebSocket */

/* Fills *o with Node's defaults (listed beside each field above). */
void sio_options_init(struct sio_options *o);

/* ====== Callbacks ====== */

/* Middleware (io.use). Runs for every CONNECT to the namespace, before the socket exists for the
 * application; auth is available through sio_handshake_auth(s).
 * Returns NULL to let the socket in, or an error message to refuse it: the client gets
 * CONNECT_ERROR {"message": <that text>} and the socket never existed. The string is copied. */
typedef const char *(*sio_middleware_cb)(sio_socket *s, void *ud);

/* Middleware helper: attaches `data` (JSON text, copied) to the CONNECT_ERROR the middleware is
 * about to cause by returning a message: the client gets {"message":…,"data":<data>}, as with
 * Node's `const err = new Error(msg); err.data = {...}; next(err)`. Call it from the middleware
 * only, right before returning the message. Returns 0, SIO_ERR_INVAL (not valid JSON) or
 * SIO_ERR_NOMEM. */
int sio_reject_data(sio_socket *s, const char *data_json);

/* A socket joined the namespace (io.on("connection")). The CONNECT reply has been queued. */
typedef void (*sio_connection_cb)(sio_socket *s, void *ud);

/* An event arrived (socket.on(name)). Answer an ack with sio_ack(s, ev, ...). */
typedef void (*sio_event_cb)(sio_socket *s, const sio_event *ev, void *ud);

/* The socket is gone (socket.on("disconnect")). It has already left every room; `reason` is one
 * of Node's strings ("transport close", "client namespace disconnect", "ping timeout", ...).
 * Free what you attached with sio_socket_set_data() here. */
typedef void (*sio_disconnect_cb)(sio_socket *s, const char *reason, void *ud);

/* The reply to sio_emit_with_ack(): err is 0 and `reply` holds the client's ack arguments, or
 * err is SIO_ERR_TIMEOUT (reply NULL) when the timeout passed, or SIO_ERR_CLOSED (reply NULL)
 * when the socket went away first -- called then so that `ud` can be freed. Called exactly once. */
typedef void (*sio_ack_cb)(sio_socket *s, int err, const sio_event *reply, void *ud);

/* ====== The server ====== */

/* Creates a server with the given options (NULL = defaults). Returns NULL when out of memory.
 * Free with sio_server_free(). The root namespace "/" exists from the start. */
sio_server *sio_server_new(const struct sio_options *opts);

/* Binds and listens on host:port (host NULL = all interfaces; port 0 = a free port, see
 * sio_server_port()). Returns 0, or SIO_ERR_SYS with a message in err (may be NULL). */
int sio_server_listen(sio_server *srv, const char *host, int port, char *err);

/* The port actually bound (useful after port 0), or -1 before sio_server_listen(). */
int sio_server_port(const sio_server *srv);

/* Runs the event loop until sio_server_stop(). On stop, every socket is disconnected with reason
 * "server shutting down" and every session closed cleanly (polling: the close packet; WebSocket:
 * a close frame), then it returns 0. Returns SIO_ERR_SYS if epoll itself fails. */
int sio_server_run(sio_server *srv);

/* Asks sio_server_run() to shut down and return. Async-signal-safe. */
void sio_server_stop(sio_server *srv);

/* Calls cb(ud) every `ms` milliseconds from the event loop, like setInterval: for periodic work
 * such as flushing a log once a second. It never runs inside another callback and keeps running
 * until the server is freed. Returns 0, SIO_ERR_INVAL (ms <= 0 or cb NULL) or SIO_ERR_NOMEM.
 * Example: sio_server_every(srv, 1000, flush_store, store); */
int sio_server_every(sio_server *srv, int ms, void (*cb)(void *ud), void *ud);

/* Frees the server and everything it owns. NULL is a no-op. Do not call from a callback. */
void sio_server_free(sio_server *srv);

/* ====== Namespaces ====== */

/* The namespace `name` ("/", "/admin"), created on first use. Clients may only connect to
 * namespaces created this way; others get CONNECT_ERROR "Invalid namespace".
 * Returns NULL when out of memory or the name is invalid (must start with '/', at most
 * SIO_MAX_NSP_NAME bytes). */
sio_nsp *sio_of(sio_server *srv, const char *name);

/* Dynamic namespaces (io.of(/^\/dynamic-\d+$/)): `match` decides, for a CONNECT to a namespace
 * that does not exist yet, whether to create it. Returns a parent namespace: give it middleware
 * and a connection handler as to any namespace; each child created through it runs them (the
 * parent's middleware first, then the child's own). The parent itself accepts no clients.
 * sio_socket_nsp() of a socket is the child; sio_nsp_name() tells which one.
 * Returns NULL when out of memory. */
typedef int (*sio_nsp_match_cb)(const char *name, void *ud);
sio_nsp *sio_of_match(sio_server *srv, sio_nsp_match_cb match, void *ud);

/* The namespace's name ("/", "/admin"). */
const char *sio_nsp_name(const sio_nsp *nsp);

/* Adds a middleware to the namespace; they run in the order added. */
void sio_use(sio_nsp *nsp, sio_middleware_cb cb, void *ud);

/* Sets the namespace's connection handler (one per namespace; a second call replaces it). */
void sio_on_connection(sio_nsp *nsp, sio_connection_cb cb, void *ud);

/* The namespace's sockets in connection order:
 *   for (sio_socket *o = sio_first_socket(nsp); o; o = sio_next_socket(o)) ...
 * Do not disconnect sockets while iterating (collect ids first). */
sio_socket *sio_first_socket(sio_nsp *nsp);
sio_socket *sio_next_socket(sio_socket *s);

/* The connected socket with this id in the namespace, or NULL. O(1), via the socket table. */
sio_socket *sio_find_socket(sio_nsp *nsp, const char *id, size_t len);

/* Number of connected sockets in the namespace. */
size_t sio_nsp_count(const sio_nsp *nsp);

/* ====== Sockets ====== */

/* The socket's id: 20 characters, NUL-terminated, fixed for its life. */
const char *sio_socket_id(const sio_socket *s);

/* The socket's namespace. */
sio_nsp *sio_socket_nsp(const sio_socket *s);

/* ---- socket.handshake ----
 * What the client sent when the session was opened (the first HTTP request, or the WebSocket
 * upgrade for a WebSocket-only client) and with its CONNECT. All valid for the socket's life. */

/* The auth object of the CONNECT ("{}" if none), as JSON text (handshake.auth). */
sio_str sio_handshake_auth(const sio_socket *s);
/* The value of request header `name` (case-insensitive), or {NULL,0} (handshake.headers). */
sio_str sio_handshake_header(const sio_socket *s, const char *name);
/* Query parameter `key`, decoded, into dst (handshake.query). Returns its length, -1 if absent,
 * -2 if it does not fit (see sio_http_query in http.h). */
long sio_handshake_query(const sio_socket *s, const char *key, char *dst, size_t cap);
/* The request URL: path and query as sent (handshake.url), NUL-terminated. */
const char *sio_handshake_url(const sio_socket *s);
/* The client's IP address as text, "127.0.0.1" or "::1" (handshake.address). */
const char *sio_handshake_address(const sio_socket *s);
/* When the session was opened: milliseconds since the Unix epoch (handshake.time, as a number;
 * Node gives it as a date string). */
int64_t sio_handshake_time(const sio_socket *s);

/* One pointer of application data per socket (socket.data). The library never touches it. */
void sio_socket_set_data(sio_socket *s, void *data);
void *sio_socket_data(const sio_socket *s);

/* Argument i (0-based) of a received event or ack, as a JSON slice; {NULL,0} when there are fewer
 * arguments. Example: for 42["private message",{"to":"x"}], sio_arg(ev, 0) is {"to":"x"}. */
sio_str sio_arg(const sio_event *ev, int i);

/* Registers a handler for event `name` (copied). A second handler for the same name replaces the
 * first. Returns 0 or SIO_ERR_NOMEM. */
int sio_socket_on(sio_socket *s, const char *name, sio_event_cb cb, void *ud);

/* Sets the socket's disconnect handler (one per socket). */
void sio_socket_on_disconnect(sio_socket *s, sio_disconnect_cb cb, void *ud);

/* Sets the socket's "disconnecting" handler: called just before the socket leaves its rooms, so
 * sio_socket_rooms() and room queries still see it (socket.on("disconnecting")). */
void sio_socket_on_disconnecting(sio_socket *s, sio_disconnect_cb cb, void *ud);

/* Catch-all listeners (socket.onAny / socket.onAnyOutgoing). The incoming one runs for every
 * event the client sends, before the event's own handler. The outgoing one runs for every event
 * sent to this socket (direct emits and broadcasts), with ev->name and ev->args of the packet;
 * it must not emit to the same socket. One of each per socket; NULL removes it. */
void sio_socket_on_any(sio_socket *s, sio_event_cb cb, void *ud);
void sio_socket_on_any_outgoing(sio_socket *s, sio_event_cb cb, void *ud);

/* The rooms the socket is in, its own id room first (socket.rooms): up to max names into out[]
 * (pointers valid until the socket leaves the room). Returns the total number of rooms. */
int sio_socket_rooms(const sio_socket *s, const char **out, int max);

/* 1 if the socket is in `room` (its id counts), else 0. */
int sio_socket_in(const sio_socket *s, const char *room);

/* 1 while the socket is connected (socket.connected). */
int sio_socket_connected(const sio_socket *s);

/* Emits `event` with the argument list `args` (NUL-terminated; NULL or "" for none) to this
 * socket. Returns 0, SIO_ERR_INVAL (reserved event name), SIO_ERR_CLOSED or SIO_ERR_NOMEM.
 * The bytes are queued and written at the end of the loop turn; nothing is sent synchronously.
 * Example: sio_emit(s, "hello", "\"world\",42");   ->  42["hello","world",42] */
int sio_emit(sio_socket *s, const char *event, const char *args);

/* The general form: args of args_len bytes, plus nbins attachments (referred to by placeholders
 * in args). The attachments are copied. */
int sio_emitv(sio_socket *s, const char *event, const char *args, size_t args_len,
              const sio_bin *bins, int nbins);

/* Emits and waits for the client's ack: cb runs once, with the reply, or with SIO_ERR_TIMEOUT
 * after timeout_ms (0 = wait forever), or SIO_ERR_CLOSED if the socket goes first.
 * Returns 0 (cb will run) or an error (cb will not run). */
int sio_emit_with_ack(sio_socket *s, const char *event, const char *args, int timeout_ms,
                      sio_ack_cb cb, void *ud);

/* sio_emit_with_ack() with attachments (see sio_emitv()). */
int sio_emitv_with_ack(sio_socket *s, const char *event, const char *args, size_t args_len,
                       const sio_bin *bins, int nbins, int timeout_ms, sio_ack_cb cb, void *ud);

/* Answers an ack request later, after the handler has returned (Node lets the callback be
 * called after async work): keep ev->ack_id, then call this once. No check against answering
 * twice. Returns 0, SIO_ERR_INVAL (ack_id < 0), SIO_ERR_CLOSED or SIO_ERR_NOMEM. */
int sio_ack_id(sio_socket *s, int64_t ack_id, const char *args, size_t args_len, const sio_bin *bins,
               int nbins);

/* Answers the client's ack request of `ev` with the argument list `args` (may be NULL/"").
 * Does nothing (returns 0) when ev->ack_id < 0. Call it at most once per event; call it from the
 * handler (ev is only valid there). */
int sio_ack(sio_socket *s, const sio_event *ev, const char *args);
int sio_ackv(sio_socket *s, const sio_event *ev, const char *args, size_t args_len,
             const sio_bin *bins, int nbins);

/* Joins / leaves a room of the socket's namespace (the name is copied).
 * Returns 0, SIO_ERR_NOMEM or SIO_ERR_INVAL (name too long). */
int sio_join(sio_socket *s, const char *room);
int sio_leave(sio_socket *s, const char *room);

/* Disconnects the socket from its namespace: the client gets DISCONNECT and the server
 * "server namespace disconnect". With close_session = 1, the whole Engine.IO session (every
 * namespace of this client) is closed too. The socket is removed at the end of the loop turn;
 * it stays valid until its disconnect handler returns. */
void sio_disconnect(sio_socket *s, int close_session);

/* ====== Broadcasting ======
 * A sio_op is a selection of recipients, built by value like socket.io's BroadcastOperator:
 * target rooms (none = the whole namespace) minus excluded rooms. Each recipient gets the
 * packet once, encoded once for all of them. */
typedef struct sio_op {
    sio_nsp *nsp;                           /* the namespace */
    const char *rooms[SIO_MAX_OP_ROOMS];    /* target rooms; none = every socket */
    int nrooms;                             /* entries used in rooms */
    const char *except[SIO_MAX_OP_ROOMS];   /* excluded rooms (socket ids are rooms too) */
    int nexcept;                            /* entries used in except */
    unsigned flags;                         /* SIO_OP_* */
} sio_op;
#define SIO_OP_VOLATILE 1 /* drop for recipients whose transport is not writable right now */
#define SIO_OP_OVERFLOW 2 /* (internal) a room list was full; emitting fails with SIO_ERR_LIMIT */
#define SIO_OP_LOCAL 4    /* do not forward to other nodes (with a multi-node adapter) */

sio_op sio_all(sio_nsp *nsp);                  /* io.of(nsp): everyone */
sio_op sio_broadcast(sio_socket *s);           /* socket.broadcast: everyone but s */
sio_op sio_socket_to(sio_socket *s, const char *room); /* socket.to(room) */
sio_op sio_to(sio_op op, const char *room);    /* .to(room) / .in(room); pointer kept, not copied */
sio_op sio_except(sio_op op, const char *room); /* .except(room) */
sio_op sio_volatile(sio_op op);                /* .volatile */
sio_op sio_local(sio_op op);                   /* .local: this process only (multi-node) */

/* Emits to every selected socket. Returns the number of recipients (>= 0) or an SIO_ERR_*. */
int sio_op_emit(sio_op op, const char *event, const char *args);
int sio_op_emitv(sio_op op, const char *event, const char *args, size_t args_len,
                 const sio_bin *bins, int nbins);

/* The reply to a broadcast with acks: err is 0 when every recipient answered, SIO_ERR_TIMEOUT at
 * the timeout, SIO_ERR_CLOSED when the server is freed first; `responses` is a JSON array of the first argument of each answer received
 * (io.timeout(ms).emit(ev, …, (err, responses) => …)). Called exactly once. */
typedef void (*sio_op_ack_cb)(int err, sio_str responses, void *ud);

/* Emits to every selected socket with one ack id and collects their answers. timeout_ms must be
 * > 0. With no recipient, cb runs at the end of the loop turn with 0 and "[]".
 * Returns the number of recipients (cb will run) or an SIO_ERR_* (cb will not run). */
int sio_op_emit_with_ack(sio_op op, const char *event, const char *args, int timeout_ms,
                         sio_op_ack_cb cb, void *ud);

/* fetchSockets-style iteration: calls fn once for every selected socket (each once). fn may
 * emit, join, leave or disconnect. Returns the number of sockets. */
int sio_op_each(sio_op op, void (*fn)(sio_socket *s, void *ud), void *ud);

/* socketsJoin / socketsLeave / disconnectSockets on the selection. Return the number of
 * sockets affected, or an SIO_ERR_*. */
int sio_op_join(sio_op op, const char *room);
int sio_op_leave(sio_op op, const char *room);
int sio_op_disconnect(sio_op op, int close_session);

/* ====== Rooms: queries ====== */

/* Number of sockets in `room` of the namespace (a socket id counts as a room of one). */
size_t sio_room_count(sio_nsp *nsp, const char *room);

/* ====== Plain HTTP: requests outside the Socket.IO path ======
 * By default they get 404. A handler can answer them instead (static files, a health check).
 * It runs synchronously and must not block. */

/* A request, borrowed: valid until the handler returns. */
typedef struct sio_http_request {
    sio_str method;      /* "GET", "HEAD", ... */
    sio_str path;        /* as sent, not percent-decoded, without the query */
    sio_str query;       /* after '?', without it; len 0 when none */
    const void *opaque;  /* internal: what sio_request_header() reads */
} sio_http_request;

/* The value of header `name` (case-insensitive) of the request, or {NULL,0}. */
sio_str sio_request_header(const sio_http_request *req, const char *name);

/* The answer the handler fills in. Starts as 404 "Not Found". */
typedef struct sio_http_response {
    int status;               /* HTTP status */
    const char *content_type; /* Content-Type, or NULL for none */
    const char *headers;      /* extra header lines, each ending in "\r\n", or NULL */
    const void *body;         /* body bytes; copied when the handler returns (not sent for HEAD) */
    size_t len;               /* body length */
    void (*free_body)(void *body); /* if set, called on body once it has been copied */
} sio_http_response;

typedef void (*sio_request_cb)(const sio_http_request *req, sio_http_response *res, void *ud);

/* Sets the handler for requests outside the Socket.IO path (one per server). */
void sio_on_request(sio_server *srv, sio_request_cb cb, void *ud);

/* ====== Bare Engine.IO (the counterpart of the `engine.io` package) ======
 * Engine.IO sessions on their own path, without the Socket.IO layer: messages are plain text or
 * binary, there are no namespaces, events or acks. The same server can serve Socket.IO on
 * /socket.io/ and bare Engine.IO on another path; a server whose options.path is NULL serves no
 * Socket.IO at all. */

typedef struct sio_eio_socket sio_eio_socket; /* one Engine.IO session */

/* What a bare Engine.IO endpoint hears. Any of the three may be NULL. */
struct sio_eio_handlers {
    void (*on_open)(sio_eio_socket *s, void *ud);   /* a session opened */
    /* a message arrived; data is valid until the callback returns */
    void (*on_message)(sio_eio_socket *s, const void *data, size_t len, int binary, void *ud);
    /* the session closed, with Engine.IO's reason ("transport close", "ping timeout", ...);
     * the socket pointer is invalid after this returns */
    void (*on_close)(sio_eio_socket *s, const char *reason, void *ud);
};

/* Serves bare Engine.IO on `path` (e.g. "/engine.io/"), with the timers, size limit,
 * transports and CORS of `opts` (NULL = the server's). Returns 0, SIO_ERR_INVAL (bad path or
 * one already served) or SIO_ERR_NOMEM. Call before sio_server_run(). */
int sio_eio_attach(sio_server *srv, const char *path, const struct sio_options *opts,
                   const struct sio_eio_handlers *h, void *ud);

/* Queues a text (binary = 0) or binary message to the session. Returns 0 or SIO_ERR_CLOSED /
 * SIO_ERR_NOMEM. */
int sio_eio_send(sio_eio_socket *s, const void *data, size_t len, int binary);

/* Closes the session from the server side (on_close follows at the end of the loop turn). */
void sio_eio_close(sio_eio_socket *s);

/* The session id (20 characters, NUL-terminated). */
const char *sio_eio_id(const sio_eio_socket *s);

/* One pointer of application data per session. */
void sio_eio_set_data(sio_eio_socket *s, void *data);
void *sio_eio_data(const sio_eio_socket *s);

#endif /* SIO_H */
