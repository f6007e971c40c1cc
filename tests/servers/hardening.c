/* SPDX-License-Identifier: MIT */
/* hardening.c -- the test server of the hostile-input, fault and soak tests (issue 6):
 * tests/e2e/bad-*.test.mjs, tests/soak/soak.mjs, `make soak` and `make test-valgrind`.
 *
 * A small chat built on the public API only (sio.h, json.h), with a command-line flag for every
 * limit and timer of struct sio_options, so each test can start it with the tight settings its
 * attack needs (a 500 ms request deadline, a 1 MiB output cap, 300/200 ms heartbeat, ...).
 * It is a test fixture, not an example.
 *
 * Namespaces
 *   "/"            middleware: auth.username must be a non-empty string, else CONNECT_ERROR
 *                  {"message":"invalid username"} (the tutorial's middleware). auth.sessionID,
 *                  when present, is looked up among the connected sockets' ids and ignored when
 *                  unknown (the tutorial's fall-back to the username; B5.69).
 *   /^\/n\d{1,6}$/ dynamic namespaces (sio_of_match) with the same middleware and events, so a
 *                  test can join many namespaces on one connection (max_namespaces).
 *
 * On connection a socket joins the room auth.room (a string of at most 64 bytes; default
 * "lobby"), gets "session" {"userID":<id>,"username":<as sent>,"room":<room>}, and the other
 * members of its room get "user connected" {"userID":…,"username":…}. When it goes, the members
 * of that room get "user disconnected" "<id>" (the tutorial's broadcast, scoped to the room so
 * that a soak with thousands of clients stays linear).
 *
 * Events
 *   private message {to, content}   -> "private message" {"content":…,"from":<id>} to socket `to`
 *                                      (content relayed as sent, omitted when absent). Anything
 *                                      else (not an object, `to` not a string) is ignored.
 *   echo ARGS                       -> ack ARGS when an ack is asked for, else emit "echo" ARGS;
 *                                      binary attachments included (binary echo)
 *   echo-decoded "str"              -> ack the string decoded and encoded again by json.c's
 *                                      emitter (lone surrogates, \u0000, ...)
 *   flood {room,count,size,volatile}-> emits "flood" "xxx…" (size bytes) count times to the room
 *                                      (the sender included when it is a member); acks the sum of
 *                                      recipients. count <= 100000, size <= 16 MiB.
 *   join room / leave room          -> ack [rc, rooms]: sio_join()/sio_leave()'s return code and
 *                                      how many rooms the socket is in afterwards
 *   stats                           -> ack {"sockets":<sockets in this namespace>}
 *   disconnect-me close             -> sio_disconnect(this socket, close)
 *
 * With --log, one line per connect/disconnect on stderr: "hardening: connect <nsp> <id>",
 * "hardening: disconnect <nsp> <id> <reason>".
 *
 * Usage: hardening [--host H] [--port N] [--max-clients N] [--http-request-timeout MS]
 *   [--http-keepalive-timeout MS] [--output-hard-limit BYTES] [--output-soft-limit BYTES]
 *   [--output-soft-seconds S] [--max-namespaces N] [--max-rooms N] [--max-http-buffer-size BYTES]
 *   [--ping-interval MS] [--ping-timeout MS] [--connect-timeout MS] [--upgrade-timeout MS] [--log]
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../json.h"
#include "../../sio.h"

#define ROOM_MAX 64                 /* bytes of auth.room */
#define FLOOD_MAX_COUNT 100000      /* messages one flood request may ask for */
#define FLOOD_MAX_SIZE (16u << 20)  /* bytes of one flood message */
#define DECODE_MAX 65536            /* bytes echo-decoded accepts */

static sio_server *server; /* for the signal handler */
static int log_events;     /* --log */

/* What each socket carries (socket.data). */
struct user {
    char room[ROOM_MAX + 1]; /* the room it joined on connection */
    size_t len;              /* bytes of username */
    char username[];         /* auth.username as sent: raw JSON text, relayed untouched */
};

static struct user *user_of(sio_socket *s) { return sio_socket_data(s); }

/* Decodes a JSON string into dst (cap bytes). Returns its length, or -1. */
static long cstr(sio_str v, char *dst, size_t cap)
{
    return sio_json_typeof(v) == SIO_JSON_STRING ? sio_json_unescape(v, dst, cap) : -1;
}

static void ack_jw(sio_socket *s, const sio_event *ev, sio_jw *w)
{
    if (!w->err) sio_ackv(s, ev, w->buf, w->len, NULL, 0);
    sio_jw_free(w);
}

/* ====== Middleware and connection ====== */

/* io.use(): auth.username must be a non-empty string; auth.sessionID is looked up (a miss falls
 * back to the username, as the tutorial's middleware does); auth.room picks the room. */
static const char *check_user(sio_socket *s, void *ud)
{
    (void)ud;
    sio_str auth = sio_handshake_auth(s);
    sio_str name = sio_json_get(auth, "username");
    sio_str sid = sio_json_get(auth, "sessionID");
    if (sio_json_typeof(sid) == SIO_JSON_STRING && sid.len == SIO_ID_LEN + 2 &&
        sio_find_socket(sio_socket_nsp(s), sid.p + 1, SIO_ID_LEN)) {
        /* A known id: a real session store would restore the user here. This fixture keeps
         * no sessions, so it only proves that the lookup is bounded and safe. */
    }
    if (sio_json_typeof(name) != SIO_JSON_STRING || !sio_json_truthy(name)) return "invalid username";
    struct user *u = malloc(sizeof *u + name.len);
    if (!u) return "server out of memory";
    if (cstr(sio_json_get(auth, "room"), u->room, sizeof u->room) <= 0) strcpy(u->room, "lobby");
    u->len = name.len;
    memcpy(u->username, name.p, name.len);
    sio_socket_set_data(s, u);
    return NULL;
}

static void on_disconnect(sio_socket *s, const char *reason, void *ud)
{
    (void)ud;
    struct user *u = user_of(s);
    char arg[SIO_ID_LEN + 3];
    snprintf(arg, sizeof arg, "\"%s\"", sio_socket_id(s));
    if (u) sio_op_emit(sio_to(sio_all(sio_socket_nsp(s)), u->room), "user disconnected", arg);
    if (log_events) fprintf(stderr, "hardening: disconnect %s %s %s\n", sio_nsp_name(sio_socket_nsp(s)), sio_socket_id(s), reason);
    free(u);
    sio_socket_set_data(s, NULL);
}

/* ====== Events ====== */

/* private message {to, content} -> {content, from} to socket `to`. */
static void on_private_message(sio_socket *s, const sio_event *ev, void *ud)
{
    (void)ud;
    sio_str msg = sio_arg(ev, 0);
    if (sio_json_typeof(msg) != SIO_JSON_OBJECT) return;
    char to[SIO_ID_LEN + 1];
    if (cstr(sio_json_get(msg, "to"), to, sizeof to) != SIO_ID_LEN) return; /* not a socket id */
    sio_str content = sio_json_get(msg, "content");
    char stack[512];
    sio_jw w;
    sio_jw_init(&w, stack, sizeof stack);
    sio_jw_obj(&w);
    if (content.p) {
        sio_jw_key(&w, "content");
        sio_jw_raw(&w, content.p, content.len);
    }
    sio_jw_key(&w, "from");
    sio_jw_str(&w, sio_socket_id(s));
    sio_jw_end(&w);
    if (!w.err) sio_op_emitv(sio_socket_to(s, to), "private message", w.buf, w.len, NULL, 0);
    sio_jw_free(&w);
}

static void on_echo(sio_socket *s, const sio_event *ev, void *ud)
{
    (void)ud;
    if (ev->ack_id >= 0) sio_ackv(s, ev, ev->args.p, ev->args.len, ev->bins, ev->nbins);
    else sio_emitv(s, "echo", ev->args.p, ev->args.len, ev->bins, ev->nbins);
}

static void on_echo_decoded(sio_socket *s, const sio_event *ev, void *ud)
{
    (void)ud;
    sio_str a = sio_arg(ev, 0);
    if (sio_json_typeof(a) != SIO_JSON_STRING || a.len > DECODE_MAX) return;
    char *buf = malloc(a.len + 1); /* decoding never makes a string longer */
    if (!buf) return;
    long n = sio_json_unescape(a, buf, a.len + 1);
    if (n >= 0) {
        sio_jw w;
        sio_jw_init(&w, NULL, 0);
        sio_jw_strn(&w, buf, (size_t)n);
        ack_jw(s, ev, &w);
    }
    free(buf);
}

/* flood {room, count, size, volatile}: count messages of size bytes to a room. */
static void on_flood(sio_socket *s, const sio_event *ev, void *ud)
{
    (void)ud;
    sio_str spec = sio_arg(ev, 0);
    char room[ROOM_MAX + 1];
    double count = 0, size = 0;
    if (cstr(sio_json_get(spec, "room"), room, sizeof room) <= 0) return;
    if (sio_json_number(sio_json_get(spec, "count"), &count) < 0 || count < 0 || count > FLOOD_MAX_COUNT) return;
    if (sio_json_number(sio_json_get(spec, "size"), &size) < 0 || size < 0 || size > FLOOD_MAX_SIZE) return;
    size_t n = (size_t)size;
    char *arg = malloc(n + 2);
    if (!arg) return;
    arg[0] = '"';
    memset(arg + 1, 'x', n);
    arg[n + 1] = '"';
    sio_op op = sio_to(sio_all(sio_socket_nsp(s)), room);
    if (sio_json_truthy(sio_json_get(spec, "volatile"))) op = sio_volatile(op);
    long long total = 0;
    for (long i = 0; i < (long)count; i++) {
        int r = sio_op_emitv(op, "flood", arg, n + 2, NULL, 0);
        if (r > 0) total += r;
    }
    free(arg);
    char num[32];
    snprintf(num, sizeof num, "%lld", total);
    sio_ack(s, ev, num);
}

static void ack_rc_rooms(sio_socket *s, const sio_event *ev, int rc)
{
    char out[64];
    snprintf(out, sizeof out, "%d,%d", rc, sio_socket_rooms(s, NULL, 0));
    sio_ack(s, ev, out);
}

static void on_join(sio_socket *s, const sio_event *ev, void *ud)
{
    (void)ud;
    char room[SIO_MAX_ROOM_NAME + 1];
    int rc = cstr(sio_arg(ev, 0), room, sizeof room) < 0 ? SIO_ERR_INVAL : sio_join(s, room);
    ack_rc_rooms(s, ev, rc);
}

static void on_leave(sio_socket *s, const sio_event *ev, void *ud)
{
    (void)ud;
    char room[SIO_MAX_ROOM_NAME + 1];
    int rc = cstr(sio_arg(ev, 0), room, sizeof room) < 0 ? SIO_ERR_INVAL : sio_leave(s, room);
    ack_rc_rooms(s, ev, rc);
}

static void on_stats(sio_socket *s, const sio_event *ev, void *ud)
{
    (void)ud;
    char out[64];
    snprintf(out, sizeof out, "{\"sockets\":%zu}", sio_nsp_count(sio_socket_nsp(s)));
    sio_ack(s, ev, out);
}

static void on_disconnect_me(sio_socket *s, const sio_event *ev, void *ud)
{
    (void)ud;
    sio_disconnect(s, sio_json_truthy(sio_arg(ev, 0)));
}

static void on_connection(sio_socket *s, void *ud)
{
    (void)ud;
    struct user *u = user_of(s);
    sio_join(s, u->room);

    char stack[512];
    sio_jw w;
    sio_jw_init(&w, stack, sizeof stack);
    sio_jw_obj(&w);
    sio_jw_key(&w, "userID");
    sio_jw_str(&w, sio_socket_id(s));
    sio_jw_key(&w, "username");
    sio_jw_raw(&w, u->username, u->len);
    sio_jw_key(&w, "room");
    sio_jw_str(&w, u->room);
    sio_jw_end(&w);
    if (!w.err) sio_emitv(s, "session", w.buf, w.len, NULL, 0);
    sio_jw_free(&w);

    sio_jw_init(&w, stack, sizeof stack);
    sio_jw_obj(&w);
    sio_jw_key(&w, "userID");
    sio_jw_str(&w, sio_socket_id(s));
    sio_jw_key(&w, "username");
    sio_jw_raw(&w, u->username, u->len);
    sio_jw_end(&w);
    if (!w.err) sio_op_emitv(sio_socket_to(s, u->room), "user connected", w.buf, w.len, NULL, 0);
    sio_jw_free(&w);

    sio_socket_on(s, "private message", on_private_message, NULL);
    sio_socket_on(s, "echo", on_echo, NULL);
    sio_socket_on(s, "echo-decoded", on_echo_decoded, NULL);
    sio_socket_on(s, "flood", on_flood, NULL);
    sio_socket_on(s, "join", on_join, NULL);
    sio_socket_on(s, "leave", on_leave, NULL);
    sio_socket_on(s, "stats", on_stats, NULL);
    sio_socket_on(s, "disconnect-me", on_disconnect_me, NULL);
    sio_socket_on_disconnect(s, on_disconnect, NULL);
    if (log_events) fprintf(stderr, "hardening: connect %s %s\n", sio_nsp_name(sio_socket_nsp(s)), sio_socket_id(s));
}

/* /^\/n\d{1,6}$/ */
static int match_n(const char *name, void *ud)
{
    (void)ud;
    size_t len = strlen(name);
    if (len < 3 || len > 8 || name[0] != '/' || name[1] != 'n') return 0;
    for (size_t i = 2; i < len; i++)
        if (name[i] < '0' || name[i] > '9') return 0;
    return 1;
}

/* ====== Main ====== */

static void on_signal(int sig)
{
    (void)sig;
    sio_server_stop(server);
}

static void usage(const char *argv0)
{
    fprintf(stderr,
            "usage: %s [--host H] [--port N] [--max-clients N] [--http-request-timeout MS]\n"
            "  [--http-keepalive-timeout MS] [--output-hard-limit BYTES] [--output-soft-limit BYTES]\n"
            "  [--output-soft-seconds S] [--max-namespaces N] [--max-rooms N] [--max-http-buffer-size BYTES]\n"
            "  [--ping-interval MS] [--ping-timeout MS] [--connect-timeout MS] [--upgrade-timeout MS] [--log]\n",
            argv0);
}

/* Parses a non-negative decimal number of at most 15 digits. Returns 0, or -1. */
static int parse_num(const char *s, long long *out)
{
    char *end;
    if (!*s || strlen(s) > 15) return -1;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < 0) return -1;
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    struct sio_options o;
    sio_options_init(&o);
    const char *host = "127.0.0.1";
    long long port = 3000;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--log")) {
            log_events = 1;
            continue;
        }
        if (!strcmp(a, "--help")) {
            usage(argv[0]);
            return 0;
        }
        if (i + 1 >= argc) {
            usage(argv[0]);
            return 2;
        }
        const char *v = argv[++i];
        long long n = 0;
        if (!strcmp(a, "--host")) {
            host = v;
            continue;
        }
        if (parse_num(v, &n) < 0 || (n > 0x7fffffff && strcmp(a, "--output-hard-limit") &&
                                     strcmp(a, "--output-soft-limit") && strcmp(a, "--max-http-buffer-size"))) {
            fprintf(stderr, "hardening: bad value for %s: %s\n", a, v);
            return 2;
        }
        if (!strcmp(a, "--port")) port = n;
        else if (!strcmp(a, "--max-clients")) o.max_clients = (int)n;
        else if (!strcmp(a, "--http-request-timeout")) o.http_request_timeout = (int)n;
        else if (!strcmp(a, "--http-keepalive-timeout")) o.http_keepalive_timeout = (int)n;
        else if (!strcmp(a, "--output-hard-limit")) o.output_hard_limit = (size_t)n;
        else if (!strcmp(a, "--output-soft-limit")) o.output_soft_limit = (size_t)n;
        else if (!strcmp(a, "--output-soft-seconds")) o.output_soft_seconds = (int)n;
        else if (!strcmp(a, "--max-namespaces")) o.max_namespaces = (int)n;
        else if (!strcmp(a, "--max-rooms")) o.max_rooms = (int)n;
        else if (!strcmp(a, "--max-http-buffer-size")) o.max_http_buffer_size = (size_t)n;
        else if (!strcmp(a, "--ping-interval")) o.ping_interval = (int)n;
        else if (!strcmp(a, "--ping-timeout")) o.ping_timeout = (int)n;
        else if (!strcmp(a, "--connect-timeout")) o.connect_timeout = (int)n;
        else if (!strcmp(a, "--upgrade-timeout")) o.upgrade_timeout = (int)n;
        else {
            usage(argv[0]);
            return 2;
        }
    }
    if (port > 65535) {
        fprintf(stderr, "hardening: bad port %lld\n", port);
        return 2;
    }
    server = sio_server_new(&o);
    if (!server) {
        fprintf(stderr, "hardening: out of memory\n");
        return 1;
    }
    sio_nsp *root = sio_of(server, "/");
    sio_nsp *dyn = sio_of_match(server, match_n, NULL);
    if (!root || !dyn) {
        sio_server_free(server);
        return 1;
    }
    sio_use(root, check_user, NULL);
    sio_on_connection(root, on_connection, NULL);
    sio_use(dyn, check_user, NULL);
    sio_on_connection(dyn, on_connection, NULL);

    char err[SIO_ERR_LEN];
    if (sio_server_listen(server, host, (int)port, err) < 0) {
        fprintf(stderr, "hardening: %s\n", err);
        sio_server_free(server);
        return 1;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    fprintf(stderr, "listening on http://%s:%d\n", host, sio_server_port(server));
    int rc = sio_server_run(server);
    sio_server_free(server);
    return rc == 0 ? 0 : 1;
}
