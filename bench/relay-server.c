/* SPDX-License-Identifier: MIT */
/* relay-server.c -- the server sio-bench measures, built on the public API of sio.h only.
 *
 * It is the tutorial chat (chat.c) with everything removed that is not under test: no "users"
 * list on connect and no "user connected" broadcast, which make N connections cost O(N^2)
 * frames and would drown the idle and churn figures. node-relay.js is the same server in
 * JavaScript with socket.io 4.8; ceiling.c answers the same bytes with as little work as a
 * C server can do. Keep the three in step.
 *
 * The protocol (namespace "/"):
 *   middleware   auth.username must be truthy, else CONNECT_ERROR {"message":"invalid username"}
 *   connection   if auth.room is a non-empty string, the socket joins that room
 *   "private message" {to, content}
 *                -> socket.to(to).emit("private message", {content, from: socket.id})
 *                   (to is a socket id; the sender is never a recipient)
 *   "broadcast" {room, content}
 *                -> socket.to(room).emit("broadcast", {content})
 *                   (everyone in the room but the sender; sio-bench puts the send time in
 *                   content, so each receiver measures its own delivery latency)
 *   "ping" ...args, with an ack
 *                -> the ack, with the same arguments (one round trip, for churn and probes)
 * Arguments that are not of the expected shape are ignored. Nothing else is sent: no log line
 * per connection, no greeting.
 *
 * Usage: relay-server [--port N] [--host ADDR] [--max-clients N] [--ping-interval MS]
 *                     [--ping-timeout MS] [--redis URL]
 * Prints "listening on http://HOST:PORT" on stderr once it accepts connections (--port 0: a port
 * the kernel picks, printed there); stops cleanly on SIGINT/SIGTERM.
 *
 * --redis redis://HOST:PORT makes it one node of a cluster (sio_redis_adapter(), the same wire
 * format as @socket.io/redis-adapter): nothing above changes, since the adapter works under the
 * public API. Rooms stay local, as with Node's adapter (auth.room joins the room on the node the
 * socket is connected to); each socket.to(room).emit() is delivered to this node's members and
 * PUBLISHed once, and every other node delivers it to its own members. bench/cluster.sh runs the
 * broadcast scenario over K such nodes. The adapter logs "redis adapter: cmd ...: connected" and
 * "redis adapter: sub ...: connected" on stderr once it can publish and is subscribed; what is
 * broadcast before that reaches this node's sockets only.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "../json.h"
#include "../sio.h"

#define RELAY_ARGS_STACK 512 /* emitted argument lists up to this size are built on the stack */

/* io.use((socket, next) => {
 *   if (!socket.handshake.auth.username) return next(new Error("invalid username"));
 *   next();
 * }); */
static const char *check_username(sio_socket *s, void *ud)
{
    (void)ud;
    sio_str name = sio_json_get(sio_handshake_auth(s), "username");
    return sio_json_truthy(name) ? NULL : "invalid username";
}

/* Decodes the JSON string `v` into a NUL-terminated room name. Returns 0, or -1 when `v` is not
 * a non-empty string of at most SIO_MAX_ROOM_NAME bytes. */
static int room_name(sio_str v, char out[SIO_MAX_ROOM_NAME + 1])
{
    if (sio_json_typeof(v) != SIO_JSON_STRING) return -1;
    long n = sio_json_unescape(v, out, SIO_MAX_ROOM_NAME + 1);
    return n > 0 ? 0 : -1;
}

/* Emits {"content":<content>[,"from":<id>]} with `event` to the sockets `op` selects. `content`
 * is raw JSON copied as received; a missing content is left out, as JSON.stringify drops
 * undefined. */
static void relay(sio_op op, const char *event, sio_str content, const char *from)
{
    char stack[RELAY_ARGS_STACK];
    sio_jw w;
    sio_jw_init(&w, stack, sizeof stack);
    sio_jw_obj(&w);
    if (content.p) {
        sio_jw_key(&w, "content");
        sio_jw_raw(&w, content.p, content.len);
    }
    if (from) {
        sio_jw_key(&w, "from");
        sio_jw_str(&w, from);
    }
    sio_jw_end(&w);
    if (!w.err) sio_op_emitv(op, event, w.buf, w.len, NULL, 0);
    sio_jw_free(&w);
}

/* socket.on("private message", ({ to, content }) => {
 *   socket.to(to).emit("private message", { content, from: socket.id });
 * }); */
static void on_private_message(sio_socket *s, const sio_event *ev, void *ud)
{
    (void)ud;
    static const char *const keys[] = {"to", "content"};
    sio_str v[2]; /* { to, content }, found in one pass */
    if (sio_json_get_n(sio_arg(ev, 0), keys, v, 2) < 0) return;
    char to[SIO_MAX_ROOM_NAME + 1];
    if (room_name(v[0], to) < 0) return;
    relay(sio_socket_to(s, to), "private message", v[1], sio_socket_id(s));
}

/* socket.on("broadcast", ({ room, content }) => {
 *   socket.to(room).emit("broadcast", { content });
 * }); */
static void on_broadcast(sio_socket *s, const sio_event *ev, void *ud)
{
    (void)ud;
    static const char *const keys[] = {"room", "content"};
    sio_str v[2]; /* { room, content } */
    if (sio_json_get_n(sio_arg(ev, 0), keys, v, 2) < 0) return;
    char room[SIO_MAX_ROOM_NAME + 1];
    if (room_name(v[0], room) < 0) return;
    relay(sio_socket_to(s, room), "broadcast", v[1], NULL);
}

/* socket.on("ping", (...args) => {
 *   const cb = args.pop();
 *   if (typeof cb === "function") cb(...args);
 * }); */
static void on_ping(sio_socket *s, const sio_event *ev, void *ud)
{
    (void)ud;
    sio_ackv(s, ev, ev->args.p, ev->args.len, NULL, 0); /* no-op when no ack was asked */
}

/* io.on("connection", (socket) => {
 *   const room = socket.handshake.auth.room;
 *   if (typeof room === "string" && room) socket.join(room);
 *   ...the three handlers above...
 * });
 * The three handlers are registered once for the namespace (sio_nsp_on, in main) rather than
 * once per socket: the same behaviour without an allocation per handler per connection. */
static void on_connection(sio_socket *s, void *ud)
{
    (void)ud;
    char room[SIO_MAX_ROOM_NAME + 1];
    if (room_name(sio_json_get(sio_handshake_auth(s), "room"), room) == 0) sio_join(s, room);
}

/* ====== Command line ====== */

static sio_server *server; /* for the signal handler */

static void on_signal(int sig)
{
    (void)sig;
    sio_server_stop(server);
}

/* Parses a decimal integer in [lo, hi]; exits with status 2 on anything else. */
static long int_arg(const char *flag, const char *v, long lo, long hi)
{
    char *end;
    errno = 0;
    long n = v ? strtol(v, &end, 10) : 0;
    if (!v || errno || *end || end == v || n < lo || n > hi) {
        fprintf(stderr, "relay-server: %s needs a number in [%ld, %ld]\n", flag, lo, hi);
        exit(2);
    }
    return n;
}

/* A server that holds N connections needs N descriptors: take the hard limit (as sio-bench
 * does), since the soft default of 1024 would refuse the idle scenario's clients. */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int main(int argc, char **argv)
{
    struct sio_options o;
    sio_options_init(&o);
    const char *host = "127.0.0.1", *redis_url = NULL;
    long port = 3000;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--port") == 0) port = int_arg(a, v, 0, 65535), i++;
        else if (strcmp(a, "--host") == 0 && v) host = v, i++;
        else if (strcmp(a, "--max-clients") == 0) o.max_clients = (int)int_arg(a, v, 1, 10000000), i++;
        else if (strcmp(a, "--ping-interval") == 0) o.ping_interval = (int)int_arg(a, v, 1, INT_MAX), i++;
        else if (strcmp(a, "--ping-timeout") == 0) o.ping_timeout = (int)int_arg(a, v, 1, INT_MAX), i++;
        else if (strcmp(a, "--redis") == 0 && v) redis_url = v, i++;
        else {
            fprintf(stderr, "usage: relay-server [--port N] [--host ADDR] [--max-clients N] "
                            "[--ping-interval MS] [--ping-timeout MS] [--redis URL]\n");
            return 2;
        }
    }
    raise_fd_limit();
    server = sio_server_new(&o);
    if (!server) {
        fprintf(stderr, "relay-server: out of memory\n");
        return 1;
    }
    sio_nsp *nsp = sio_of(server, "/");
    sio_use(nsp, check_username, NULL);
    sio_on_connection(nsp, on_connection, NULL);
    sio_nsp_on(nsp, "private message", on_private_message, NULL);
    sio_nsp_on(nsp, "broadcast", on_broadcast, NULL);
    sio_nsp_on(nsp, "ping", on_ping, NULL);
    if (redis_url) { /* the adapter connects in the background, once the loop runs */
        int rc = sio_redis_adapter(server, redis_url);
        if (rc < 0) {
            fprintf(stderr, "relay-server: --redis %s: %s\n", redis_url,
                    rc == SIO_ERR_INVAL ? "not a redis:// URL" : sio_strerror(rc));
            sio_server_free(server);
            return 2;
        }
    }

    char err[SIO_ERR_LEN];
    if (sio_server_listen(server, host, (int)port, err) < 0) {
        fprintf(stderr, "relay-server: %s\n", err);
        sio_server_free(server);
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    fprintf(stderr, "listening on http://%s:%d\n", host, sio_server_port(server));
    int rc = sio_server_run(server);
    sio_server_free(server);
    return rc == 0 ? 0 : 1;
}
