/* SPDX-License-Identifier: MIT */
/* chat.c -- sio-server: the private-messaging chat of Socket.IO's tutorial (part 1), in C.
 *
 * It uses only sio.h and json.h. Each handler below carries the tutorial's JavaScript above it,
 * so the two can be read side by side (private-messaging.md, part I):
 *   - middleware: auth.username must be truthy, else CONNECT_ERROR "invalid username";
 *   - on connection: "users" to the new socket, "user connected" to everyone else;
 *   - "private message" {content, to} -> {content, from} to the socket(s) `to`;
 *   - on disconnect: "user disconnected" with the socket id to everyone.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "sio.h"

static int quiet; /* --quiet: no per-connection log lines */

/* What the middleware keeps on each socket (the JavaScript's `socket.username`). */
struct user {
    size_t len;     /* bytes of username */
    char username[]; /* the username as the client sent it: raw JSON text, relayed untouched */
};

static struct user *user_of(sio_socket *s) { return sio_socket_data(s); }

/* io.use((socket, next) => {
 *   const username = socket.handshake.auth.username;
 *   if (!username) return next(new Error("invalid username"));
 *   socket.username = username;
 *   next();
 * }); */
static const char *check_username(sio_socket *s, void *ud)
{
    (void)ud;
    sio_str name = sio_json_get(sio_handshake_auth(s), "username");
    if (!sio_json_truthy(name)) return "invalid username";
    struct user *u = malloc(sizeof *u + name.len);
    if (!u) return "server out of memory";
    u->len = name.len;
    memcpy(u->username, name.p, name.len);
    sio_socket_set_data(s, u);
    return NULL;
}

/* Writes {"userID":<id>,"username":<raw>} for socket s. */
static void write_user(sio_jw *w, sio_socket *s)
{
    sio_jw_obj(w);
    sio_jw_key(w, "userID");
    sio_jw_str(w, sio_socket_id(s));
    sio_jw_key(w, "username");
    sio_jw_raw(w, user_of(s)->username, user_of(s)->len);
    sio_jw_end(w);
}

/* socket.on("private message", ({ content, to }) => {
 *   socket.to(to).emit("private message", { content, from: socket.id });
 * }); */
static void on_private_message(sio_socket *s, const sio_event *ev, void *ud)
{
    (void)ud;
    sio_str msg = sio_arg(ev, 0);
    if (sio_json_typeof(msg) != SIO_JSON_OBJECT) return; /* not an object: ignored */
    sio_str to = sio_json_get(msg, "to");
    sio_str content = sio_json_get(msg, "content");

    /* `to` is a socket id, or an array of them (socket.to() takes both). */
    char rooms[SIO_MAX_OP_ROOMS][SIO_ID_LEN + 1];
    sio_op op = sio_broadcast(s);
    int n = 0;
    if (sio_json_typeof(to) == SIO_JSON_STRING) {
        if (sio_json_unescape(to, rooms[0], sizeof rooms[0]) == SIO_ID_LEN) op = sio_to(op, rooms[n++]);
    } else if (sio_json_typeof(to) == SIO_JSON_ARRAY) {
        size_t pos = 0;
        sio_str item;
        while (n < SIO_MAX_OP_ROOMS && sio_json_next(to, &pos, NULL, &item) == 1)
            if (sio_json_unescape(item, rooms[n], sizeof rooms[n]) == SIO_ID_LEN) op = sio_to(op, rooms[n++]);
    }
    if (n == 0) return; /* nobody could be addressed: nothing to send */

    char stack[512];
    sio_jw w;
    sio_jw_init(&w, stack, sizeof stack);
    sio_jw_obj(&w);
    if (content.p) { /* a missing content is omitted, as JSON.stringify drops undefined */
        sio_jw_key(&w, "content");
        sio_jw_raw(&w, content.p, content.len);
    }
    sio_jw_key(&w, "from");
    sio_jw_str(&w, sio_socket_id(s));
    sio_jw_end(&w);
    if (!w.err) sio_op_emitv(op, "private message", w.buf, w.len, NULL, 0);
    sio_jw_free(&w);
}

/* socket.on("disconnect", () => {
 *   socket.broadcast.emit("user disconnected", socket.id);
 * }); */
static void on_disconnect(sio_socket *s, const char *reason, void *ud)
{
    (void)ud;
    char arg[SIO_ID_LEN + 3];
    snprintf(arg, sizeof arg, "\"%s\"", sio_socket_id(s));
    sio_op_emit(sio_broadcast(s), "user disconnected", arg);
    if (!quiet) fprintf(stderr, "disconnect %s (%s)\n", sio_socket_id(s), reason);
    free(user_of(s));
    sio_socket_set_data(s, NULL);
}

/* io.on("connection", (socket) => {
 *   const users = [];
 *   for (let [id, socket] of io.of("/").sockets) users.push({ userID: id, username: socket.username });
 *   socket.emit("users", users);
 *   socket.broadcast.emit("user connected", { userID: socket.id, username: socket.username });
 *   ...
 * }); */
static void on_connection(sio_socket *s, void *ud)
{
    (void)ud;
    char stack[4096];
    sio_jw w;
    sio_jw_init(&w, stack, sizeof stack);
    sio_jw_arr(&w);
    for (sio_socket *o = sio_first_socket(sio_socket_nsp(s)); o; o = sio_next_socket(o)) write_user(&w, o);
    sio_jw_end(&w);
    if (!w.err) sio_emitv(s, "users", w.buf, w.len, NULL, 0);

    sio_jw_free(&w);
    sio_jw_init(&w, stack, sizeof stack);
    write_user(&w, s);
    if (!w.err) sio_op_emitv(sio_broadcast(s), "user connected", w.buf, w.len, NULL, 0);
    sio_jw_free(&w);

    sio_socket_on(s, "private message", on_private_message, NULL);
    sio_socket_on_disconnect(s, on_disconnect, NULL);
    if (!quiet) fprintf(stderr, "connect %s username=%.*s\n", sio_socket_id(s), (int)user_of(s)->len, user_of(s)->username);
}

/* ====== Command line ====== */

static sio_server *server; /* for the signal handler */

static void on_signal(int sig)
{
    (void)sig;
    if (server) sio_server_stop(server);
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: sio-server [options]\n"
            "  --port N                   port to listen on (default 3000, or $PORT; 0 = any free port)\n"
            "  --host ADDR                address to bind (default: all interfaces)\n"
            "  --cors-origin ORIGIN       allowed CORS origin, repeatable (default http://localhost:8080)\n"
            "  --cors-credentials         send Access-Control-Allow-Credentials: true\n"
            "  --ping-interval MS         pingInterval (default 25000)\n"
            "  --ping-timeout MS          pingTimeout (default 20000)\n"
            "  --max-http-buffer-size N   maxHttpBufferSize in bytes (default 1000000)\n"
            "  --connect-timeout MS       connectTimeout (default 45000)\n"
            "  --max-clients N            most Engine.IO sessions at once (default %d)\n"
            "  --quiet                    no log line per connection\n"
            "  --help, --version\n",
            SIO_MAX_CLIENTS_DEFAULT);
}

/* Parses a whole decimal string in [min, max] into *out; returns 0 or -1. */
static int parse_num(const char *s, long min, long max, long *out)
{
    if (!s || !*s) return -1;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < min || v > max) return -1;
    *out = v;
    return 0;
}

static void die_usage(const char *fmt, const char *arg)
{
    fprintf(stderr, "sio-server: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (try --help)\n");
    exit(2);
}

int main(int argc, char **argv)
{
    struct sio_options o;
    sio_options_init(&o);
    const char *host = NULL;
    long port = 3000, v;
    const char *env_port = getenv("PORT");
    if (env_port && parse_num(env_port, 0, 65535, &port) < 0) die_usage("bad PORT '%s'", env_port);

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--version")) {
            printf("sio-server %s (Socket.IO v5 / Engine.IO v4)\n", SIO_VERSION);
            return 0;
        } else if (!strcmp(a, "--quiet")) {
            quiet = 1;
        } else if (!strcmp(a, "--cors-credentials")) {
            o.cors_credentials = 1;
        } else if (!strcmp(a, "--host")) {
            if (!val) die_usage("%s needs a value", a);
            host = argv[++i];
        } else if (!strcmp(a, "--cors-origin")) {
            if (!val) die_usage("%s needs a value", a);
            if (o.n_cors_origins == SIO_MAX_CORS_ORIGINS) die_usage("too many %s options", a);
            o.cors_origins[o.n_cors_origins++] = argv[++i];
        } else if (!strcmp(a, "--port")) {
            if (parse_num(val, 0, 65535, &port) < 0) die_usage("%s needs a port number", a);
            i++;
        } else if (!strcmp(a, "--ping-interval") || !strcmp(a, "--ping-timeout") || !strcmp(a, "--connect-timeout")) {
            if (parse_num(val, 1, INT_MAX, &v) < 0) die_usage("%s needs a positive number of milliseconds", a);
            i++;
            if (!strcmp(a, "--ping-interval")) o.ping_interval = (int)v;
            else if (!strcmp(a, "--ping-timeout")) o.ping_timeout = (int)v;
            else o.connect_timeout = (int)v;
        } else if (!strcmp(a, "--max-http-buffer-size")) {
            if (parse_num(val, 1, 1L << 30, &v) < 0) die_usage("%s needs a size in bytes", a);
            i++;
            o.max_http_buffer_size = (size_t)v;
        } else if (!strcmp(a, "--max-clients")) {
            if (parse_num(val, 1, 1 << 24, &v) < 0) die_usage("%s needs a positive number", a);
            i++;
            o.max_clients = (int)v;
        } else {
            die_usage("unknown option '%s'", a);
        }
    }
    if (o.n_cors_origins == 0) o.cors_origins[o.n_cors_origins++] = "http://localhost:8080"; /* the seed's */

    server = sio_server_new(&o);
    if (!server) {
        fprintf(stderr, "sio-server: out of memory\n");
        return 1;
    }
    sio_nsp *io = sio_of(server, "/");
    sio_use(io, check_username, NULL);
    sio_on_connection(io, on_connection, NULL);

    char err[SIO_ERR_LEN];
    if (sio_server_listen(server, host, (int)port, err) < 0) {
        fprintf(stderr, "sio-server: %s\n", err);
        sio_server_free(server);
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    fprintf(stderr, "listening on http://%s:%d\n", host ? host : "0.0.0.0", sio_server_port(server));

    int rc = sio_server_run(server);
    sio_server_free(server);
    return rc == 0 ? 0 : 1;
}
