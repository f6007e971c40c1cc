/* SPDX-License-Identifier: MIT */
/* sio.h -- a Socket.IO v4 server in C: the public API, and its manual.
 *
 * If it is not in this file, it is not API. Each function below says what it does, what it
 * returns (Returns:), and where it helps, shows a call (Example:) and how it differs from Node's
 * socket.io 4.x or where its limits lie (Notes:).
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
 *   socket.onAny((ev, ...args) => ...)            sio_socket_on_any(s, on_any, ud);
 *   socket.emit("ev", a, b)                       sio_emit(s, "ev", "1,\"b\"");
 *   cb(x)   (the client's ack callback)           sio_ack(s, ev, "x");
 *   socket.timeout(ms).emit("ev", a, (err,r)=>…)  sio_emit_with_ack(s, "ev", "a", ms, on_reply, ud);
 *   socket.broadcast.emit("ev", x)                sio_op_emit(sio_broadcast(s), "ev", "x");
 *   socket.to(room).emit("ev", x)                 sio_op_emit(sio_socket_to(s, room), "ev", "x");
 *   io.to(room).except(r2).emit("ev", x)          sio_op_emit(sio_except(sio_to(sio_all(nsp), room), r2),
 *                                                             "ev", "x");
 *   io.emit("ev", x)                              sio_op_emit(sio_all(nsp), "ev", "x");
 *   io.timeout(ms).emit("ev", x, (err,rs)=>…)     sio_op_emit_with_ack(sio_all(nsp), "ev", "x", ms, cb, ud);
 *   io.in(room).fetchSockets()                    sio_op_each(sio_to(sio_all(nsp), room), fn, ud);
 *   io.in(room).disconnectSockets(true)           sio_op_disconnect(sio_to(sio_all(nsp), room), 1);
 *   socket.join(room) / socket.leave(room)        sio_join(s, room) / sio_leave(s, room)
 *   socket.rooms / socket.data                    sio_socket_rooms(s, out, max) / sio_socket_data(s)
 *   socket.handshake.auth                         sio_handshake_auth(s)   (and sio_handshake_*)
 *   socket.disconnect(close)                      sio_disconnect(s, close);
 *   io.of("/").sockets.get(id)                    sio_find_socket(nsp, id, len)
 *   for (const s of io.of("/").sockets.values())  sio_first_socket(nsp) / sio_next_socket(s)
 *   require("engine.io").attach(httpServer)       sio_eio_attach(srv, "/engine.io/", NULL, &handlers, ud);
 *   io.close()                                    sio_server_stop(srv);  then sio_server_free(srv)
 *
 * ---- Threading ----
 * The server is single-threaded: one epoll loop, run by sio_server_run(), makes every callback.
 * Call every function here from that thread: from a callback, or before sio_server_run() starts
 * and after it returns. The one exception is sio_server_stop(), which a signal handler may call.
 * No callback may block: while one runs, every other client waits.
 *
 * ---- When things happen ----
 * Handlers run synchronously while the loop reads a client's packets: middleware, connection,
 * onAny, event handlers, and a sio_ack_cb receiving its reply. Emitting never calls back into
 * your code except for onAnyOutgoing, and never writes to the network: it queues the encoded
 * packet, and queued bytes are written at the end of the loop turn. Disconnecting is deferred
 * the same way: sio_disconnect() takes a socket out of broadcasts and sio_find_socket() at once,
 * but its "disconnecting" and "disconnect" handlers run at the end of the turn, and until then
 * sio_first_socket(), sio_nsp_count() and room counts still see it (sio_socket_connected() is
 * 0). Nothing is freed inside a callback, so a handler may disconnect any socket, its own
 * included, and keep using the pointer until it returns.
 *
 * ---- Arguments are JSON text ----
 * Everything a client sends arrives as JSON slices into the packet, and everything you emit is
 * JSON text you give. An "argument list" is zero or more JSON values separated by commas,
 * exactly what stands between the brackets after the event name on the wire:
 *
 *   sio_emit(s, "users", "[{\"userID\":\"x\"}]")   sends   42["users",[{"userID":"x"}]]
 *   sio_emit(s, "hello", "\"world\",42")           sends   42["hello","world",42]
 *   sio_emit(s, "ping", NULL)                      sends   42["ping"]
 *
 * Strings are JSON strings, quotes and escapes included: build text that holds client data with
 * json.h's writer (sio_jw_*), which escapes as JSON.stringify does, not with printf. Every list
 * you pass is checked (SIO_ERR_INVAL when it is not a valid list) and copied. A received list is
 * ev->args, without the brackets; sio_arg(ev, i) picks one value, and sio_json_get(),
 * sio_json_at() and sio_json_unescape() (json.h) read inside it. A received list is valid input
 * for an emit, so it can be sent on untouched. sio_str (json.h) is a borrowed slice {p, len},
 * not NUL-terminated.
 *
 * ---- Binary ----
 * Socket.IO sends Buffers as attachments: the JSON holds a placeholder
 * {"_placeholder":true,"num":N} where the bytes were, and the bytes follow the packet (as
 * WebSocket binary frames, or base64 "b..." messages over polling). Here you write the
 * placeholders yourself and pass the bytes as an array of sio_bin to the *v functions:
 * placeholder N stands for bins[N], at most SIO_MAX_ATTACHMENTS of them, and the bytes are
 * copied. Placeholders you send are not checked against nbins; received ones are (a bad one
 * closes the session). A received event keeps its placeholders in ev->args and its bytes in
 * ev->bins, so this echoes an event, attachments and all:
 *
 *   sio_emitv(s, "echo", ev->args.p, ev->args.len, ev->bins, ev->nbins);
 *
 * ---- Lifetimes and ownership ----
 * What the library hands you is borrowed:
 *   - a sio_event, its slices and attachments, a request, a reason string: until the callback
 *     that received them returns;
 *   - a sio_socket *: until its disconnect handler returns (a socket refused by middleware:
 *     until the middleware returns). To find a socket later, keep its id (sio_socket_id()) and
 *     look it up with sio_find_socket(), which returns NULL once it is gone;
 *   - a sio_eio_socket *: until its on_close handler returns;
 *   - a sio_nsp *, the namespace name: until sio_server_free().
 * What you hand the library is copied before the call returns (event names, argument lists,
 * attachments, room names given to sio_join(), middleware error messages, response bodies),
 * except for these, whose pointers are kept:
 *   - the room names in a sio_op (sio_to(), sio_except(), sio_socket_to()): until the op is used;
 *   - the strings in struct sio_options (path, cors_origins, cookie_*) and the path given to
 *     sio_eio_attach(): until sio_server_free(). String literals are the easy choice.
 * `ud` pointers are handed back untouched and never freed. Free per-socket data
 * (sio_socket_set_data()) in the disconnect handler, and an ack callback's ud in that callback:
 * it runs exactly once.
 *
 * ---- Errors ----
 * A function that can fail returns an int: 0, or a count (>= 0) where it says so, on success;
 * a negative SIO_ERR_* on failure, which sio_strerror() describes. A function that takes a
 * callback and fails never calls it. The void hook setters that allocate
 * (sio_socket_on_any(), sio_socket_on_any_outgoing(), sio_socket_on_disconnecting()) cannot
 * report running out of memory: they then do nothing.
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
#define SIO_MAX_OP_ROOMS 8 /* rooms a sio_op targets, and rooms it excludes; more: SIO_ERR_LIMIT */
#endif
#ifndef SIO_MAX_ATTACHMENTS
#define SIO_MAX_ATTACHMENTS 10 /* attachments per packet (socket.io-parser's limit); must equal
                                  SIO_PACKET_MAX_ATTACHMENTS (packet.h), the limit on receiving */
#endif
#ifndef SIO_MAX_EVENT_NAME
#define SIO_MAX_EVENT_NAME 256 /* bytes of a decoded event name; longer names match no handler
                                  (onAny sees them with name "") */
#endif
#ifndef SIO_MAX_NSP_NAME
#define SIO_MAX_NSP_NAME 128 /* bytes of a namespace name, "/" included; at most SIO_PACKET_MAX_NSP */
#endif
#ifndef SIO_MAX_ROOM_NAME
#define SIO_MAX_ROOM_NAME 256 /* bytes of a room name; sio_join() refuses longer ones */
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
#define SIO_ID_LEN 20 /* characters in an Engine.IO sid and a Socket.IO socket id (URL-safe base64) */
#ifndef SIO_MAX_SID_PREFIX
#define SIO_MAX_SID_PREFIX 4 /* most characters in options.sid_prefix (up to 8: 72 random bits left) */
#endif

/* ====== Errors ====== */
#define SIO_OK 0             /* success */
#define SIO_ERR_NOMEM (-1)   /* out of memory */
#define SIO_ERR_INVAL (-2)   /* bad argument: NULL, malformed JSON argument list, reserved event name,
                                too many attachments, bad name or path */
#define SIO_ERR_CLOSED (-3)  /* the socket (or its session) is disconnected or disconnecting */
#define SIO_ERR_LIMIT (-4)   /* a named limit was reached (max_rooms, SIO_MAX_OP_ROOMS) */
#define SIO_ERR_TIMEOUT (-5) /* an ack did not arrive in time (given to ack callbacks) */
#define SIO_ERR_SYS (-6)     /* a system call failed; see errno / the err buffer */

#define SIO_ERR_LEN 256 /* size of the err buffers some functions fill */

/* A short English description of an SIO_ERR_* code ("unknown error" for any other value).
 * Returns: a static string, never NULL. */
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

/* An event or ack received from a client (also what onAnyOutgoing sees of an emit). All slices
 * point into the received packet and are valid until the handler returns. */
typedef struct sio_event {
    const char *name;     /* decoded event name, NUL-terminated ("" for an ack); a numeric name
                             as its digits */
    sio_str args;         /* the argument list (JSON values separated by commas, no brackets);
                             len 0 when there are none */
    int argc;             /* number of arguments */
    const sio_bin *bins;  /* attachments the placeholders in args refer to */
    int nbins;            /* number of attachments */
    int64_t ack_id;       /* the client's ack id, or -1 when it asked for no ack (onAnyOutgoing:
                             the server's, or -1) */
} sio_event;

/* Server options. Start from sio_options_init() and change what you need. The struct is copied
 * by sio_server_new(); the strings it points to are not, and must outlive the server.
 * Example:  struct sio_options o; sio_options_init(&o); o.ping_interval = 10000;
 *           o.cors_origins[o.n_cors_origins++] = "https://example.com";
 *           sio_server *srv = sio_server_new(&o); */
struct sio_options {
    const char *path;           /* URL path prefix served as Socket.IO, starting and ending with '/';
                                   "/socket.io/". NULL: no Socket.IO (bare Engine.IO only) */
    int ping_interval;          /* ms between server pings (pingInterval); 25000 */
    int ping_timeout;           /* ms to wait for a pong (pingTimeout); 20000 */
    int upgrade_timeout;        /* ms for a polling->WebSocket upgrade to finish; 10000 */
    int connect_timeout;        /* ms for a new session to join a first namespace, else it is
                                   closed (connectTimeout); 45000 */
    size_t max_http_buffer_size; /* largest POST body (else 413) / WebSocket message (else close
                                   1009) (maxHttpBufferSize, sent as maxPayload); 1e6 */
    int max_clients;            /* Engine.IO sessions (and the socket table's size); 10000. At the
                                   limit a handshake gets 503 and a CONNECT "Server is full"; TCP
                                   connections are capped at 2 * max_clients + 64. <= 0: default */
    int http_request_timeout;   /* ms for a request's head and body to arrive after its first
                                   byte (slowloris); 30000; <= 0: default. The connection is then
                                   closed */
    int http_keepalive_timeout; /* ms an idle keep-alive HTTP connection is kept; 5000; <= 0: default */
    size_t output_hard_limit;   /* bytes queued for one client before it is closed at once; 8 MiB;
                                   0: default */
    size_t output_soft_limit;   /* bytes queued for one client ... (0: no soft limit) */
    int output_soft_seconds;    /* ... for this many seconds before it is closed; 1 MiB, 10 s
                                   (Redis's client-output-buffer-limit model: a slow reader);
                                   0: closed as soon as it is over the soft limit */
    int max_namespaces;         /* namespaces one connection may join; 32 (then CONNECT_ERROR
                                   "Too many namespaces"); <= 0: no limit */
    int max_rooms;              /* named rooms one socket may join; 1024 (then SIO_ERR_LIMIT);
                                   <= 0: 65535, the most */
    const char *cors_origins[SIO_MAX_CORS_ORIGINS]; /* CORS origins; none = no CORS headers (Node's
                                   default); "*" = any; one = sent as is; several = the request's
                                   Origin echoed when it is one of them */
    int n_cors_origins;         /* entries used in cors_origins */
    int cors_credentials;       /* 1: add Access-Control-Allow-Credentials: true */
    int allow_upgrades;         /* 1: advertise "websocket" in polling handshakes; 1 */
    int transports;             /* SIO_TRANSPORT_POLLING | SIO_TRANSPORT_WEBSOCKET (both) */
    /* allowRequest: called for every handshake (a request without sid) before a session is
     * created. Return NULL to allow it, or a message to refuse it: polling gets 403
     * {"code":4,"message":<message>}, a WebSocket upgrade a plain 400. NULL hook = allow all.
     * req is valid during the call; the message is copied, but must outlive the return (a
     * literal). Runs synchronously: no async checks, unlike Node's callback. */
    const char *(*allow_request)(const struct sio_http_request *req, void *ud);
    void *allow_request_ud;     /* passed to allow_request */
    const char *cookie_name;    /* cookie: NULL = off (Node's default); "io" = Node's cookie: true.
                                   The polling handshake then sets <name>=<sid> (A13). */
    const char *cookie_path;    /* its Path; "/"; NULL: none */
    const char *cookie_same_site; /* "Lax" (default), "Strict", "None", or NULL for none */
    int cookie_http_only;       /* 1 (default): add HttpOnly */
    int cookie_max_age;         /* seconds; 0 = session cookie (no Max-Age) */
    const char *sid_prefix;     /* this node's mark for a load balancer: 0..SIO_MAX_SID_PREFIX
                                   characters of A-Z a-z 0-9 - _ that begin every Engine.IO
                                   session id it makes (the id keeps its SIO_ID_LEN characters;
                                   the rest stays random: 6 bits a character, 96 bits with 4), so
                                   that a proxy can send each polling request to the node that
                                   owns its sid= (README, examples/nginx/). Server-wide: the
                                   sessions of every path get it (sio_eio_attach() ignores it).
                                   Socket ids are not affected. NULL or "": none (the default) */
};
#define SIO_TRANSPORT_POLLING 1   /* HTTP long-polling */
#define SIO_TRANSPORT_WEBSOCKET 2 /* WebSocket */

/* Fills *o with Node's defaults (listed beside each field above): path "/socket.io/", both
 * transports, no CORS, no cookie, no allow_request hook, no sid prefix. */
void sio_options_init(struct sio_options *o);

/* ====== Callbacks ====== */

/* Middleware (io.use). Runs for every CONNECT to the namespace, in the order added, before the
 * socket exists for the application: it is not connected yet, not in sio_find_socket(), and gets
 * no packets. Read the handshake (sio_handshake_auth(s), ...), attach data with
 * sio_socket_set_data(), and call sio_reject_data() here; join rooms, register handlers and emit
 * in the connection handler instead.
 * Returns: NULL to let the socket in (the next middleware runs, then the connection handler), or
 * an error message to refuse it: the client gets CONNECT_ERROR {"message": <that text>} and the
 * socket never existed. The message is copied, but must outlive the return (a literal or
 * static buffer).
 * Example:  static const char *auth(sio_socket *s, void *ud)
 *           { return sio_json_get(sio_handshake_auth(s), "token").p ? NULL : "not authorized"; }
 * To answer later (Node's next() called from a callback, e.g. after a Redis lookup), return
 * SIO_PENDING, keep sio_socket_id(s), and when the answer is known find the socket again with
 * sio_find_pending() and call sio_middleware_next() on it.
 * Notes: a refused socket gets no disconnect handler: free what was attached to it before
 * returning the message, and attach data in the last middleware when several may refuse. */
typedef const char *(*sio_middleware_cb)(sio_socket *s, void *ud);

/* What a middleware returns to decide later (see sio_middleware_cb). While it is pending the
 * socket is in the socket table (it counts toward max_clients) but not connected: the client's
 * packets for that namespace other than DISCONNECT close the session (Node's "invalid state"),
 * and a session that has no connected socket when connectTimeout passes is closed. */
extern const char sio_pending[];
#define SIO_PENDING sio_pending

/* The socket with this id whose middleware returned SIO_PENDING, or NULL when there is none any
 * more (its session closed, or the client gave up on the namespace).
 * Example:  sio_socket *s = sio_find_pending(srv, saved_id); if (!s) return;  // client left */
sio_socket *sio_find_pending(sio_server *srv, const char *id);

/* Ends the pending middleware of s: err NULL lets the socket go on (the next middleware runs --
 * it may be pending too -- then the socket connects and the connection handler runs, inside
 * this call); a message refuses it (CONNECT_ERROR {"message": err}, plus sio_reject_data() if it
 * was called on s just before). After the call s may be freed: look it up again by id.
 * Returns: 0, or SIO_ERR_INVAL when s is NULL or not pending (call it only after the middleware
 * returned SIO_PENDING, never from inside the middleware itself).
 * Example:  sio_socket_set_data(s, session); sio_middleware_next(s, NULL); */
int sio_middleware_next(sio_socket *s, const char *err);

/* Middleware helper: attaches `data` (JSON text, copied) to the CONNECT_ERROR the middleware is
 * about to cause by returning a message: the client gets {"message":…,"data":<data>}, as with
 * Node's `const err = new Error(msg); err.data = {...}; next(err)`. Call it from the middleware
 * only, right before returning the message; if the socket is let in, it is dropped.
 * Returns: 0, SIO_ERR_INVAL (data_json NULL or not exactly one JSON value) or SIO_ERR_NOMEM.
 * Example:  sio_reject_data(s, "{\"content\":\"Please retry later\"}"); return "not authorized"; */
int sio_reject_data(sio_socket *s, const char *data_json);

/* A socket joined the namespace (io.on("connection")). The CONNECT reply has been queued, so
 * the client hears of the connection before anything emitted here. Register the socket's
 * handlers (sio_socket_on(), ...) and join its rooms in this callback. */
typedef void (*sio_connection_cb)(sio_socket *s, void *ud);

/* An event arrived (socket.on(name)); also the type of onAny and onAnyOutgoing listeners.
 * `ev` and its slices are valid until the handler returns. Answer an ack with sio_ack(s, ev, ...)
 * from here, or keep ev->ack_id and use sio_ack_id() later. */
typedef void (*sio_event_cb)(sio_socket *s, const sio_event *ev, void *ud);

/* The socket is gone (socket.on("disconnect")), or about to go (socket.on("disconnecting")).
 * Runs at the end of the loop turn in which the disconnect happened, never inside the call that
 * caused it. `reason` is one of Node's strings: "server namespace disconnect" (sio_disconnect()),
 * "client namespace disconnect", "transport close", "transport error", "ping timeout", "parse
 * error", "forced close" (a protocol violation) or "server shutting down".
 * For "disconnect", the socket has already left every room, sio_socket_connected() is 0, and
 * emitting to it fails with SIO_ERR_CLOSED; other sockets can still be told (sio_broadcast(s)).
 * Free what you attached with sio_socket_set_data() here: once the handler returns, the
 * socket's pending acks get SIO_ERR_CLOSED and s is freed. */
typedef void (*sio_disconnect_cb)(sio_socket *s, const char *reason, void *ud);

/* The reply to sio_emit_with_ack(): err is 0 and `reply` holds the client's ack arguments, or
 * err is SIO_ERR_TIMEOUT (reply NULL) when the timeout passed, or SIO_ERR_CLOSED (reply NULL)
 * when the socket went away first -- called then so that `ud` can be freed. Called exactly once,
 * never inside sio_emit_with_ack(). reply is valid until the callback returns (reply->name is ""
 * and reply->ack_id -1; sio_arg(reply, i) reads it). s is valid during the call; with
 * SIO_ERR_CLOSED it is already disconnected (its disconnect handler has run). */
typedef void (*sio_ack_cb)(sio_socket *s, int err, const sio_event *reply, void *ud);

/* ====== The server ====== */

/* Creates a server with the given options (NULL = defaults); *opts is copied, the strings it
 * points to are kept. The root namespace "/" exists from the start. Free with sio_server_free().
 * Returns: the server, or NULL when out of memory, when epoll or eventfd cannot be created,
 * when opts->path is not NULL and does not start and end with '/', or when opts->sid_prefix is
 * longer than SIO_MAX_SID_PREFIX or holds a character outside A-Z a-z 0-9 - _.
 * Example:  sio_server *srv = sio_server_new(NULL); */
sio_server *sio_server_new(const struct sio_options *opts);

/* Binds and listens on host:port (host NULL = 0.0.0.0, all IPv4 interfaces, or :: where there is
 * no IPv4; port 0 = a free port, see sio_server_port()). Call it once. err (SIO_ERR_LEN bytes,
 * may be NULL) receives a message on failure.
 * Returns: 0, or SIO_ERR_SYS (host not found, address in use, ...).
 * Example:  char err[SIO_ERR_LEN];
 *           if (sio_server_listen(srv, "127.0.0.1", 3000, err) < 0) fprintf(stderr, "%s\n", err); */
int sio_server_listen(sio_server *srv, const char *host, int port, char *err);

/* Returns: the port actually bound (useful after port 0), or -1 before sio_server_listen(). */
int sio_server_port(const sio_server *srv);

/* Runs the event loop until sio_server_stop(). On stop, new handshakes get 503, every socket is
 * disconnected with reason "server shutting down" and every session closed cleanly (polling:
 * the close packet; WebSocket: a close frame); it waits up to 2 s for these to be written.
 * Returns: 0 after a stop, or SIO_ERR_SYS if epoll itself fails.
 * Notes: a server runs once; after it returns, free it with sio_server_free(). */
int sio_server_run(sio_server *srv);

/* Asks sio_server_run() to shut down and return (io.close()). Async-signal-safe: it only sets
 * a flag and writes to an eventfd, so a signal handler or any callback may call it.
 * Example:  static void on_signal(int sig) { (void)sig; sio_server_stop(server); } */
void sio_server_stop(sio_server *srv);

/* Calls cb(ud) every `ms` milliseconds from the event loop, like setInterval: for periodic work
 * such as flushing a log once a second. The first call comes `ms` after this one. It never runs
 * inside another callback, cannot be cancelled, and keeps running until the server is freed.
 * Returns: 0, SIO_ERR_INVAL (ms <= 0 or cb NULL) or SIO_ERR_NOMEM.
 * Example:  sio_server_every(srv, 1000, flush_store, store); */
int sio_server_every(sio_server *srv, int ms, void (*cb)(void *ud), void *ud);

/* Frees the server and everything it owns: namespaces, sockets, sessions, the listener. NULL is
 * a no-op. Call it after sio_server_run() has returned (or if it never ran), never from a
 * callback. Callbacks still owed run now, and must not emit: disconnect handlers of sockets
 * still connected ("server shutting down"; none are left after sio_server_run() returned),
 * SIO_ERR_CLOSED for acks still waiting (sio_ack_cb, sio_op_ack_cb), and bare on_close. */
void sio_server_free(sio_server *srv);

/* ====== Namespaces ====== */

/* The namespace `name` ("/", "/admin"), created on first use (the name is copied); later calls
 * return the same pointer, valid until sio_server_free(). Clients may only connect to
 * namespaces created this way (or through sio_of_match()); others get CONNECT_ERROR
 * "Invalid namespace".
 * Returns: the namespace, or NULL when out of memory or the name is invalid (must start with
 * '/', at most SIO_MAX_NSP_NAME bytes).
 * Example:  sio_on_connection(sio_of(srv, "/admin"), on_admin, NULL); */
sio_nsp *sio_of(sio_server *srv, const char *name);

/* Dynamic namespaces (io.of(/^\/dynamic-\d+$/)): `match` decides, for a CONNECT to a namespace
 * that does not exist yet, whether to create it. Returns a parent namespace: give it middleware
 * and a connection handler as to any namespace; each child created through it runs them (the
 * parent's middleware first, then the child's own; the child's connection handler if it has
 * one, else the parent's). The parent itself accepts no clients.
 * sio_socket_nsp() of a socket is the child; sio_nsp_name() tells which one.
 * Returns: the parent, or NULL when out of memory or match is NULL.
 * Example:  static int is_room_nsp(const char *name, void *ud) { return !strncmp(name, "/room-", 6); }
 *           sio_on_connection(sio_of_match(srv, is_room_nsp, NULL), on_room_conn, NULL);
 * Notes: a child, once created, stays (Node's cleanupEmptyChildNamespaces is off by default too)
 * and match is not asked about its name again. Emitting to the parent (sio_all(parent)) reaches
 * nobody; Node's parent namespace emits to every child. */
typedef int (*sio_nsp_match_cb)(const char *name, void *ud); /* name: NUL-terminated, valid
                                                                 during the call; nonzero = create */
sio_nsp *sio_of_match(sio_server *srv, sio_nsp_match_cb match, void *ud);

/* Returns: the namespace's name ("/", "/admin"), NUL-terminated, valid until sio_server_free()
 * ("(dynamic)" for a sio_of_match() parent). */
const char *sio_nsp_name(const sio_nsp *nsp);

/* Adds a middleware to the namespace; they run in the order added, for each CONNECT.
 * Returns: 0, SIO_ERR_INVAL (nsp or cb NULL) or SIO_ERR_NOMEM (check it: a lost auth
 * middleware would let everyone in).
 * Example:  if (sio_use(sio_of(srv, "/"), check_token, NULL) < 0) exit(1); */
int sio_use(sio_nsp *nsp, sio_middleware_cb cb, void *ud);

/* Registers an event handler for every socket of the namespace at once: the cheap form of
 * calling sio_socket_on() in the connection handler (one handler for all sockets instead of one
 * allocation per socket; what a server with many connections wants). A socket's own handler of
 * the same name, if any, takes precedence. Dynamic children also use their parent's.
 * Returns: 0, SIO_ERR_INVAL or SIO_ERR_NOMEM. The name is copied.
 * Example:  sio_nsp_on(sio_of(srv, "/"), "private message", on_private_message, NULL); */
int sio_nsp_on(sio_nsp *nsp, const char *name, sio_event_cb cb, void *ud);

/* Sets the namespace's connection handler (one per namespace; a second call replaces it). */
void sio_on_connection(sio_nsp *nsp, sio_connection_cb cb, void *ud);

/* The namespace's sockets in connection order:
 *   for (sio_socket *o = sio_first_socket(nsp); o; o = sio_next_socket(o)) ...
 * Returns: the first / next socket, or NULL at the end.
 * Notes: disconnecting sockets while iterating is safe (they are freed at the end of the turn);
 * sockets disconnected earlier in this turn are still listed, with sio_socket_connected() 0. */
sio_socket *sio_first_socket(sio_nsp *nsp);
sio_socket *sio_next_socket(sio_socket *s);

/* Looks up a socket by id: `id` is len bytes (no NUL needed, e.g. a slice of a JSON string).
 * O(1), via the socket table.
 * Returns: the connected socket with this id in this namespace, or NULL (unknown id, another
 * namespace, already disconnected, or len != SIO_ID_LEN).
 * Example:  sio_socket *o = sio_find_socket(nsp, saved_id, SIO_ID_LEN); if (o) sio_emit(o, "hi", NULL); */
sio_socket *sio_find_socket(sio_nsp *nsp, const char *id, size_t len);

/* Returns: the number of sockets in the namespace (those disconnected during this loop turn
 * count until its end). */
size_t sio_nsp_count(const sio_nsp *nsp);

/* ====== Sockets ====== */

/* Returns: the socket's id, 20 characters, NUL-terminated, fixed for its life and valid until
 * its disconnect handler returns. Ids are random and never reused while the socket lives. */
const char *sio_socket_id(const sio_socket *s);

/* Returns: the socket's namespace (for a dynamic namespace, the child). */
sio_nsp *sio_socket_nsp(const sio_socket *s);

/* ---- socket.handshake ----
 * What the client sent when the session was opened (the first HTTP request, or the WebSocket
 * upgrade for a WebSocket-only client) and with its CONNECT. Usable from middleware on; every
 * string and slice stays valid until the socket's disconnect handler returns. */

/* Returns: the auth object of the CONNECT as JSON text ("{}" if none), not NUL-terminated
 * (handshake.auth). Example: sio_json_get(sio_handshake_auth(s), "token") */
sio_str sio_handshake_auth(const sio_socket *s);
/* Returns: the value of request header `name` (case-insensitive; the first if repeated), or
 * {NULL,0} (handshake.headers). Example: sio_handshake_header(s, "user-agent") */
sio_str sio_handshake_header(const sio_socket *s, const char *name);
/* Query parameter `key` of the request URL, percent-decoded and NUL-terminated, into dst of cap
 * bytes (handshake.query; the last value wins when a key repeats).
 * Returns: its length, -1 if absent, -2 if it does not fit in cap - 1 bytes (see sio_http_query
 * in http.h). Example: char room[64]; if (sio_handshake_query(s, "room", room, sizeof room) > 0) ... */
long sio_handshake_query(const sio_socket *s, const char *key, char *dst, size_t cap);
/* Returns: the request URL, path and query as sent (handshake.url), NUL-terminated. */
const char *sio_handshake_url(const sio_socket *s);
/* Returns: the client's IP address as text, "127.0.0.1" or "::1" (handshake.address); "" if
 * unknown. Behind a proxy this is the proxy: read X-Forwarded-For with sio_handshake_header(). */
const char *sio_handshake_address(const sio_socket *s);
/* Returns: when the session was opened, in milliseconds since the Unix epoch. Node's
 * handshake.issued is such a number and handshake.time a date string, both taken at the
 * CONNECT rather than when the session opened. */
int64_t sio_handshake_time(const sio_socket *s);

/* One pointer of application data per socket (socket.data); NULL until set. The library never
 * reads or frees it: free it in the disconnect handler.
 * Example:  sio_socket_set_data(s, user);  ...  struct user *u = sio_socket_data(s); */
void sio_socket_set_data(sio_socket *s, void *data);
void *sio_socket_data(const sio_socket *s);

/* Argument i (0-based) of a received event or ack, as a JSON slice into the packet, valid as
 * long as ev.
 * Returns: the value, or {NULL,0} when there are fewer arguments.
 * Example: for 42["private message",{"to":"x"}], sio_arg(ev, 0) is {"to":"x"}, and
 *          sio_json_get(sio_arg(ev, 0), "to") is "x" (with its quotes). */
sio_str sio_arg(const sio_event *ev, int i);

/* Registers a handler for event `name` (copied).
 * Returns: 0, SIO_ERR_INVAL (name or cb NULL) or SIO_ERR_NOMEM.
 * Example:  sio_socket_on(s, "chat message", on_chat, NULL);
 * Notes: one handler per name: a second one for the same name replaces the first (Node adds
 * listeners); there is no way to remove one. The reserved names ("connect", "connect_error",
 * "disconnect", "disconnecting", "newListener", "removeListener") never arrive as events: use
 * sio_socket_on_disconnect() and sio_socket_on_disconnecting(). */
int sio_socket_on(sio_socket *s, const char *name, sio_event_cb cb, void *ud);

/* Sets the socket's disconnect handler (one per socket; a second call replaces it). */
void sio_socket_on_disconnect(sio_socket *s, sio_disconnect_cb cb, void *ud);

/* Sets the socket's "disconnecting" handler (socket.on("disconnecting")): called at the end of
 * the turn just before the socket leaves its rooms, so sio_socket_rooms(), sio_socket_in() and
 * room queries still see it (and sio_socket_connected() is 1); then the disconnect handler runs. */
void sio_socket_on_disconnecting(sio_socket *s, sio_disconnect_cb cb, void *ud);

/* Catch-all listeners (socket.onAny / socket.onAnyOutgoing). The incoming one runs for every
 * event the client sends, before the event's own handler (acks are not events); answering an ack
 * there with sio_ack() counts as the answer. The outgoing one runs for every event sent to this
 * socket (direct emits, emits with ack and broadcasts; not acks, not volatile packets dropped),
 * synchronously inside the emitting call, with ev->name, ev->args, ev->bins and ev->ack_id of
 * the packet; it must not emit to the same socket (that would recurse). One of each per socket;
 * a second call replaces it; NULL removes it.
 * Example:  sio_socket_on_any(s, log_event, NULL); */
void sio_socket_on_any(sio_socket *s, sio_event_cb cb, void *ud);
void sio_socket_on_any_outgoing(sio_socket *s, sio_event_cb cb, void *ud);

/* The rooms the socket is in, its own id room first (socket.rooms): up to max names into out[]
 * (each valid until the socket leaves that room; the id: for the socket's life).
 * Returns: the total number of rooms, which may exceed max; 0 once the socket has left them all
 * (in its disconnect handler).
 * Example:  int n = sio_socket_rooms(s, NULL, 0);   (just count) */
int sio_socket_rooms(const sio_socket *s, const char **out, int max);

/* Returns: 1 if the socket is in `room` (its own id counts), else 0 (also in its disconnect
 * handler, after it left every room). */
int sio_socket_in(const sio_socket *s, const char *room);

/* Returns: 1 while the socket is connected (socket.connected): 0 in middleware, after
 * sio_disconnect() or a client disconnect, and in its disconnect handler. */
int sio_socket_connected(const sio_socket *s);

/* Emits `event` with the argument list `args` (NUL-terminated; NULL or "" for none) to this
 * socket. Both are copied; the bytes are queued and written at the end of the loop turn.
 * Returns: 0 (queued, not yet delivered), SIO_ERR_INVAL (s or event NULL, reserved event name,
 * args not a valid argument list), SIO_ERR_CLOSED (socket disconnected or its session closing)
 * or SIO_ERR_NOMEM.
 * Example:  sio_emit(s, "hello", "\"world\",42");   ->  42["hello","world",42]
 * Notes: a client that falls too far behind (output_hard_limit / output_soft_limit) is closed
 * rather than buffered without end. */
int sio_emit(sio_socket *s, const char *event, const char *args);

/* The general form: args of args_len bytes (no NUL needed; NULL for none), plus nbins
 * attachments referred to by placeholders in args (see "Binary" at the top). Everything is
 * copied before it returns.
 * Returns: as sio_emit(); SIO_ERR_INVAL also when nbins < 0, nbins > SIO_MAX_ATTACHMENTS, or
 * bins NULL with nbins > 0.
 * Example:  const char *a = "{\"_placeholder\":true,\"num\":0}";   (stands for bins[0])
 *           sio_bin b = {png, png_len};  sio_emitv(s, "image", a, strlen(a), &b, 1); */
int sio_emitv(sio_socket *s, const char *event, const char *args, size_t args_len,
              const sio_bin *bins, int nbins);

/* Emits and waits for the client's ack (socket.timeout(ms).emit(..., cb)): cb runs once, with
 * the reply, or with SIO_ERR_TIMEOUT after timeout_ms (<= 0 = wait forever), or SIO_ERR_CLOSED
 * if the socket goes first or the server is freed.
 * Returns: 0 (cb will run), or as sio_emit() (cb will not run; SIO_ERR_INVAL also for cb NULL).
 * Example:  sio_emit_with_ack(s, "question", "\"ready?\"", 5000, on_answer, NULL);
 * Notes: an ack that arrives after the timeout is ignored. Node leaves the callback of a socket
 * that disconnects pending (or lets it time out); here it gets SIO_ERR_CLOSED right after the
 * socket's disconnect handler. */
int sio_emit_with_ack(sio_socket *s, const char *event, const char *args, int timeout_ms,
                      sio_ack_cb cb, void *ud);

/* sio_emit_with_ack() with attachments (see sio_emitv()). Same returns. */
int sio_emitv_with_ack(sio_socket *s, const char *event, const char *args, size_t args_len,
                       const sio_bin *bins, int nbins, int timeout_ms, sio_ack_cb cb, void *ud);

/* Answers an ack request later, after the handler has returned (Node lets the callback be
 * called after async work): keep ev->ack_id and the socket id, then call this once, with the
 * argument list args (args_len bytes) and nbins attachments, all copied. There is no check
 * against answering twice or answering an id the client never sent.
 * Returns: 0, SIO_ERR_INVAL (s NULL, ack_id < 0, bad args or attachments), SIO_ERR_CLOSED or
 * SIO_ERR_NOMEM.
 * Example:  sio_socket *o = sio_find_socket(nsp, job->sid, SIO_ID_LEN);
 *           if (o) sio_ack_id(o, job->ack_id, "\"done\"", 6, NULL, 0); */
int sio_ack_id(sio_socket *s, int64_t ack_id, const char *args, size_t args_len, const sio_bin *bins,
               int nbins);

/* Answers the client's ack request of `ev` (the client's cb(...)) with the argument list `args`
 * (may be NULL or ""; copied); sio_ackv() with args_len bytes and attachments as sio_emitv().
 * Call it from the event handler or onAny listener that received ev (ev is only valid there,
 * and must be the pointer it received); for a later answer, use sio_ack_id().
 * Returns: 0 (also, doing nothing, when the client asked for no ack (ev->ack_id < 0) or the
 * event was already answered), SIO_ERR_INVAL, SIO_ERR_CLOSED or SIO_ERR_NOMEM.
 * Example:  sio_ack(s, ev, "{\"status\":\"ok\"}");   ->  43<id>[{"status":"ok"}]
 * Notes: if the handler never answers, the client's callback never runs (or times out). */
int sio_ack(sio_socket *s, const sio_event *ev, const char *args);
int sio_ackv(sio_socket *s, const sio_event *ev, const char *args, size_t args_len,
             const sio_bin *bins, int nbins);

/* Joins a room of the socket's namespace (the name is copied). A room exists while it has
 * members; every socket is also, implicitly, in the room named after its id.
 * Returns: 0 (also when already a member), SIO_ERR_INVAL (name NULL or longer than
 * SIO_MAX_ROOM_NAME), SIO_ERR_CLOSED (socket disconnected), SIO_ERR_LIMIT (max_rooms reached)
 * or SIO_ERR_NOMEM.
 * Example:  sio_join(s, "room:42"); */
int sio_join(sio_socket *s, const char *room);

/* Leaves a room; a room left empty ceases to exist (pointers to its name from
 * sio_socket_rooms() become invalid). Leaving the socket's own id room does nothing.
 * Returns: 0 (also when not a member) or SIO_ERR_INVAL (name NULL). */
int sio_leave(sio_socket *s, const char *room);

/* Disconnects the socket from its namespace (socket.disconnect()): the client gets DISCONNECT
 * (its reason: "io server disconnect"; it does not reconnect by itself) and the server's handlers
 * "server namespace disconnect". With close_session = 1, every namespace of this client is
 * disconnected the same way and the Engine.IO session closed too. Queued packets are sent first.
 * Repeated calls do nothing.
 * Example:  sio_disconnect(s, 0);
 * Notes: the socket leaves broadcasts at once, but its disconnecting/disconnect handlers run at
 * the end of the loop turn (Node runs them inside disconnect()); s stays valid until its
 * disconnect handler returns. */
void sio_disconnect(sio_socket *s, int close_session);

/* ====== Broadcasting ======
 * A sio_op is a selection of recipients, built by value like socket.io's BroadcastOperator:
 * target rooms (none = the whole namespace) minus the sockets in any excluded room. Each
 * recipient gets the packet once, even when it is in several target rooms, and the packet is
 * encoded once for all of them. Room names are kept as pointers, not copied: they must stay
 * valid until the op has been used (a string literal, a socket id, a buffer in scope).
 * Example:  sio_op_emit(sio_except(sio_to(sio_all(nsp), "room1"), "room2"), "news", "\"hi\""); */
typedef struct sio_op {
    sio_nsp *nsp;                           /* the namespace */
    const char *rooms[SIO_MAX_OP_ROOMS];    /* target rooms; none = every socket */
    int nrooms;                             /* entries used in rooms */
    const char *except[SIO_MAX_OP_ROOMS];   /* excluded rooms (socket ids are rooms too) */
    int nexcept;                            /* entries used in except */
    unsigned flags;                         /* SIO_OP_* */
} sio_op;
#define SIO_OP_VOLATILE 1 /* drop for recipients whose transport is not writable right now */
#define SIO_OP_OVERFLOW 2 /* (internal) a room list was full; using the op fails with SIO_ERR_LIMIT */
#define SIO_OP_LOCAL 4    /* this node only: nothing is published for the other nodes (Redis adapter) */

sio_op sio_all(sio_nsp *nsp);                  /* io.of(nsp): everyone */
sio_op sio_broadcast(sio_socket *s);           /* socket.broadcast: everyone but s */
sio_op sio_socket_to(sio_socket *s, const char *room); /* socket.to(room): room's members but s */
sio_op sio_to(sio_op op, const char *room);    /* .to(room) / .in(room); pointer kept, not copied */
sio_op sio_except(sio_op op, const char *room); /* .except(room); pointer kept, not copied */
sio_op sio_volatile(sio_op op);                /* .volatile (sio_op_emit/emitv only) */
sio_op sio_local(sio_op op);                   /* .local: this process only (multi-node) */

/* Emits to every selected socket (io.to(room).emit()). args as in sio_emit() / sio_emitv().
 * Runs each recipient's onAnyOutgoing listener before it returns.
 * Returns: the number of recipients (>= 0; volatile drops included), or SIO_ERR_INVAL (nsp or
 * event NULL, bad args or attachments), SIO_ERR_LIMIT (more than SIO_MAX_OP_ROOMS rooms) or
 * SIO_ERR_NOMEM.
 * Example:  sio_op_emit(sio_socket_to(s, "lobby"), "joined", "\"alice\""); */
int sio_op_emit(sio_op op, const char *event, const char *args);
int sio_op_emitv(sio_op op, const char *event, const char *args, size_t args_len,
                 const sio_bin *bins, int nbins);

/* The reply to a broadcast with acks: err is 0 when every recipient answered, SIO_ERR_TIMEOUT at
 * the timeout, SIO_ERR_CLOSED when the server is freed first. `responses` is a JSON array of
 * the first argument of each answer received (null for an answer without one), in order of
 * arrival, valid until the callback returns (io.timeout(ms).emit(ev, …, (err, responses) => …)).
 * With SIO_ERR_TIMEOUT it holds the answers that did arrive. In a cluster it also holds the
 * answers of the other nodes' recipients. Binary in an answer stays as its placeholder
 * ({"_placeholder":true,"num":N}): attachments are not passed on. Called exactly once. */
typedef void (*sio_op_ack_cb)(int err, sio_str responses, void *ud);

/* Emits to every selected socket with one ack id and collects their answers. timeout_ms must be
 * > 0. With no recipient, cb runs soon after (from the loop's timers) with 0 and "[]"; it never
 * runs inside this call. A recipient that disconnects before answering is waited for until the
 * timeout. No attachments, and the volatile flag is ignored.
 * With the Redis adapter (and not sio_local()) the other nodes' sockets are selected too, as
 * Node's adapter does it: the broadcast is published as a request, PUBSUB NUMSUB tells how many
 * nodes there are, each one answers with its number of recipients and then with each ack. cb
 * runs once every node has sent its number and every recipient in the cluster has answered, or at
 * the timeout. With Redis down the broadcast stays local.
 * Returns: the number of local recipients (cb will run), or SIO_ERR_INVAL (timeout_ms <= 0, nsp,
 * event or cb NULL, bad args), SIO_ERR_LIMIT or SIO_ERR_NOMEM (cb will not run).
 * Example:  sio_op_emit_with_ack(sio_all(nsp), "vote", NULL, 10000, on_votes, NULL); */
int sio_op_emit_with_ack(sio_op op, const char *event, const char *args, int timeout_ms,
                         sio_op_ack_cb cb, void *ud);

/* fetchSockets-style iteration: calls fn once for every selected socket, synchronously. The
 * selection is taken first, so fn may emit, join, leave or disconnect (a socket disconnected by
 * an earlier call is skipped).
 * Returns: the number of sockets selected, or SIO_ERR_INVAL (nsp or fn NULL), SIO_ERR_LIMIT or
 * SIO_ERR_NOMEM (fn not called).
 * Example:  sio_op_each(sio_to(sio_all(nsp), "admins"), print_id, NULL); */
int sio_op_each(sio_op op, void (*fn)(sio_socket *s, void *ud), void *ud);

/* socketsJoin / socketsLeave / disconnectSockets on the selection: sio_join(), sio_leave() or
 * sio_disconnect() on each selected socket (room copied by sio_join()). With the Redis adapter
 * (and not sio_local()) the operation is also published, and the other nodes (sio or Node) apply
 * it to their sockets in the selection when it reaches them; no answer is awaited, and it is lost
 * while Redis is down.
 * Returns: the number of local sockets selected, or an SIO_ERR_* as sio_op_each(). A join that
 * fails for one socket (SIO_ERR_LIMIT, SIO_ERR_NOMEM) is not reported.
 * Example:  sio_op_disconnect(sio_to(sio_all(nsp), "banned"), 1); */
int sio_op_join(sio_op op, const char *room);
int sio_op_leave(sio_op op, const char *room);
int sio_op_disconnect(sio_op op, int close_session);

/* ====== Multi-node: the Redis adapter ====== */

/* Joins a cluster of sio and Node socket.io servers through Redis, wire-compatible with
 * @socket.io/redis-adapter 8.x (classic Pub/Sub, key "socket.io"): broadcasts that are not
 * sio_local() are also published, other nodes' broadcasts are delivered here by the same room
 * rules, and other nodes' requests (fetchSockets, allRooms, socketsJoin/Leave, disconnectSockets,
 * broadcasts with acks, the SOCKETS count) are answered. sio_op_emit_with_ack(),
 * sio_op_join/leave/disconnect() and sio_op_count_cluster() reach the other nodes too.
 * url: redis://[[user]:password@]host[:port][/db]. Redis need not be up: the server connects in
 * the background, reconnects with backoff and subscribes again; what is published while it is
 * away is lost (Pub/Sub is at-most-once, as for Node nodes).
 * Returns 0, SIO_ERR_INVAL (bad URL, or an adapter already set) or SIO_ERR_NOMEM.
 * Notes: another node's broadcast with acks keeps its recipients' pending acks until its
 * flags.timeout (5 s if absent, at most 10 min); at most 256 of them wait at once, more are
 * ignored (logged once) and their requester times out. */
int sio_redis_adapter(sio_server *srv, const char *url);

/* The number of sockets the selection holds across the cluster (io.in(room).fetchSockets()
 * .length): the local count plus every other node's answer to a SOCKETS request, or what arrived
 * within 5 s. Without an adapter it is the local count. cb runs once, from the loop, never before
 * this returns. Returns 0 or an SIO_ERR_* (then cb never runs). */
typedef void (*sio_count_cb)(size_t count, void *ud);
int sio_op_count_cluster(sio_op op, sio_count_cb cb, void *ud);

/* ====== Redis commands of the application's own ======
 * With an adapter set, the application can send its own commands over the adapter's command
 * connection (the tutorial's part 4 keeps its session and message stores in the same Redis).
 * Replies are RESP2 tokens (resp.h: include it to read them; the first token is the whole
 * reply). Commands go out in the order given and are answered in that order, so a MULTI ... EXEC
 * issued in one go stays one transaction. */
struct sio_resp_tok;
/* err 0: reply[0..ntok) is the reply (an error reply is a SIO_RESP_ERROR token), valid until the
 * callback returns. err SIO_ERR_CLOSED: the connection was lost (or the server is being freed)
 * before the reply came: reply NULL, ntok 0. Runs exactly once, from the loop. */
typedef void (*sio_redis_cb)(int err, const struct sio_resp_tok *reply, int ntok, void *ud);
/* Queues a command: argument i is argv[i][0..lens[i]) (binary-safe; lens NULL for C strings).
 * cb may be NULL (fire and forget).
 * Returns: 0 (cb will run once), or SIO_ERR_INVAL (no sio_redis_adapter(), argc < 1),
 * SIO_ERR_CLOSED (Redis is down: nothing is queued while it is away), SIO_ERR_LIMIT or
 * SIO_ERR_NOMEM; then cb never runs.
 * Example:  const char *argv[] = {"HMGET", key, "userID", "username"};
 *           sio_redis_command(srv, 4, argv, NULL, on_session, ctx); */
int sio_redis_command(sio_server *srv, int argc, const char *const *argv, const size_t *lens, sio_redis_cb cb,
                      void *ud);

/* ====== Rooms: queries ====== */

/* Returns: the number of sockets in `room` of the namespace (a socket id counts as a room of
 * one; 0 for a room that does not exist).
 * Example:  if (sio_room_count(nsp, user_id) == 0) ... (the user's last tab is gone) */
size_t sio_room_count(sio_nsp *nsp, const char *room);

/* ====== Plain HTTP: requests outside the Socket.IO path ======
 * Requests whose path is not under an Engine.IO path (options.path, sio_eio_attach()) get 404
 * by default. A handler can answer them instead (static files, a health check). It runs
 * synchronously, once per request, and must not block: the response is built from what it
 * fills in when it returns. */

/* A request, borrowed: valid until the handler returns. The body is not available: it is read
 * and dropped (more than SIO_MAX_BODY_OTHER, 64 KiB, gets 413; a chunked body 411). */
typedef struct sio_http_request {
    sio_str method;      /* "GET", "HEAD", ... */
    sio_str path;        /* as sent, not percent-decoded, without the query */
    sio_str query;       /* after '?', without it; len 0 when none */
    const void *opaque;  /* internal: what sio_request_header() reads */
} sio_http_request;

/* Returns: the value of header `name` (case-insensitive; the first if repeated) of the
 * request, or {NULL,0}; valid until the handler returns. */
sio_str sio_request_header(const sio_http_request *req, const char *name);

/* The answer the handler fills in. Starts as 404, "text/plain; charset=utf-8", "Not Found".
 * Content-Length and, when needed, Connection: close are added by the library. */
typedef struct sio_http_response {
    int status;               /* HTTP status (outside 100..599: 500) */
    const char *content_type; /* Content-Type, or NULL for none */
    const char *headers;      /* extra header lines, each ending in "\r\n", or NULL; the whole
                                 head must fit in about 1.5 KB, else a bare 500 is sent */
    const void *body;         /* body bytes; copied when the handler returns (not sent for HEAD) */
    size_t len;               /* body length (Content-Length, also for HEAD) */
    void (*free_body)(void *body); /* if set, called on body once it has been copied (always) */
} sio_http_response;

/* Example:  static void on_http(const sio_http_request *req, sio_http_response *res, void *ud)
 *           { if (req->path.len == 7 && !memcmp(req->path.p, "/health", 7))
 *                 res->status = 200, res->body = "ok", res->len = 2; } */
typedef void (*sio_request_cb)(const sio_http_request *req, sio_http_response *res, void *ud);

/* Sets the handler for requests outside the Socket.IO path (one per server; a second call
 * replaces it; NULL restores the 404s). */
void sio_on_request(sio_server *srv, sio_request_cb cb, void *ud);

/* ====== Bare Engine.IO (the counterpart of the `engine.io` package) ======
 * Engine.IO sessions on their own path, without the Socket.IO layer: messages are plain text or
 * binary, there are no namespaces, events or acks. The same server can serve Socket.IO on
 * /socket.io/ and bare Engine.IO on another path; a server whose options.path is NULL serves no
 * Socket.IO at all. Sessions of every path share max_clients. */

typedef struct sio_eio_socket sio_eio_socket; /* one Engine.IO session */

/* What a bare Engine.IO endpoint hears. Any of the three may be NULL. */
struct sio_eio_handlers {
    /* a session opened; runs synchronously during its handshake request */
    void (*on_open)(sio_eio_socket *s, void *ud);
    /* a message arrived (the "4" stripped; base64 already decoded); data is valid until the
     * callback returns and is not NUL-terminated */
    void (*on_message)(sio_eio_socket *s, const void *data, size_t len, int binary, void *ud);
    /* the session closed, with Engine.IO's reason ("transport close", "ping timeout", "forced
     * close", ...), at the end of the loop turn; the socket pointer is invalid after this returns */
    void (*on_close)(sio_eio_socket *s, const char *reason, void *ud);
};

/* Serves bare Engine.IO on `path` (e.g. "/engine.io/"), with the per-path options of `opts`
 * (NULL = the server's): ping_interval, ping_timeout, upgrade_timeout, max_http_buffer_size,
 * transports, allow_upgrades, CORS, allow_request and cookie. The server-wide ones (max_clients,
 * HTTP timeouts, output limits, sid_prefix) stay the server's. *opts and *h are copied; `path`
 * and the strings in opts are kept until sio_server_free(). Call before sio_server_run().
 * Returns: 0, SIO_ERR_INVAL (path or h NULL, path not starting and ending with '/', a path
 * already served, or SIO_MAX_ENDPOINTS (4, /socket.io/ included) already) or SIO_ERR_NOMEM.
 * Example:  const struct sio_eio_handlers h = {on_open, on_message, on_close};
 *           sio_eio_attach(srv, "/engine.io/", NULL, &h, NULL);
 * Notes: paths match by prefix, the longest one winning. */
int sio_eio_attach(sio_server *srv, const char *path, const struct sio_options *opts,
                   const struct sio_eio_handlers *h, void *ud);

/* Queues a text (binary = 0; should be UTF-8) or binary message of len bytes to the session;
 * data is copied. Written at the end of the loop turn.
 * Returns: 0, SIO_ERR_CLOSED (the session is closing or closed) or SIO_ERR_NOMEM.
 * Example:  sio_eio_send(s, data, len, binary);   (an echo, in on_message) */
int sio_eio_send(sio_eio_socket *s, const void *data, size_t len, int binary);

/* Closes the session from the server side (socket.close()): messages already queued are sent
 * first, then on_close follows at the end of the loop turn with "forced close". Repeated calls
 * do nothing. */
void sio_eio_close(sio_eio_socket *s);

/* Returns: the session id (20 characters, NUL-terminated), valid until on_close returns. */
const char *sio_eio_id(const sio_eio_socket *s);

/* One pointer of application data per session; NULL until set, never read or freed by the
 * library (free it in on_close). */
void sio_eio_set_data(sio_eio_socket *s, void *data);
void *sio_eio_data(const sio_eio_socket *s);

#endif /* SIO_H */
