/* SPDX-License-Identifier: MIT */
/* fuzz_conn.c -- libFuzzer target that drives whole connections of a real sio server from bytes:
 * HTTP, Engine.IO polling and WebSocket, the upgrade, Socket.IO packets, the application's
 * handlers, timers and teardown -- everything but the listening socket.
 *
 * One server is created for the whole run (chat-like handlers: a middleware that wants
 * auth.username, the private-message relay, rooms, acks both ways, binary echo, broadcasts, a
 * second namespace whose middleware answers later when auth.later is set (SIO_PENDING, decided
 * on a timer tick), dynamic namespaces, a bare Engine.IO endpoint, a plain-HTTP handler) with
 * timers of a few milliseconds. For each input:
 *   1. an "observer" client connects over WebSocket and joins "/" (so broadcasts and private
 *      messages have someone to reach);
 *   2. the input is played on up to three client connections (socketpairs served through the
 *      sio__server_adopt() testing hook), segment by segment, with loop turns in between and
 *      everything the server writes read and thrown away;
 *   3. all client ends are closed and the loop runs until the server has closed every
 *      descriptor it was given: a descriptor still open after that is reported as a leak.
 * At exit the server is shut down (sio_server_stop + sio_server_run, which disconnects every
 * socket through the handlers) and freed, so LeakSanitizer sees anything left behind.
 *
 * Input format (so that seeds can be written by hand, see tests/fuzz/README.md):
 *   byte 0   flags: bits 0-4 chunk size (0 = write each segment whole, else in pieces of that
 *            many bytes with a loop turn after each, to exercise partial reads; at most
 *            MAX_CHUNKS pieces, then the rest of the segment goes whole); bit 5: connection 0
 *            never reads (a slow consumer: with the small socket buffers below, the server's
 *            output queue and limits come into play); bit 6: shut down the write side of every
 *            client before closing; bit 7: no observer this time.
 *   The server's end of every connection gets a small send buffer (SNDBUF), so partial writes
 *   and writability events happen with little output.
 *   the rest segments, each sent on connection 0 until a "<<1>>" or "<<2>>" (or "<<0>>") marker
 *            switches the following bytes to that connection, after a few loop turns. A
 *            "<<w>>" marker lets the timers run (WAIT_MS of loop turns, at most MAX_WAITS times
 *            per input) before going on: pings, ping/connect/upgrade timeouts, HTTP deadlines.
 *   Before a segment is written, "~~~~~~~~~~~~~~~~~~~~" (20 '~') in it is replaced by the
 *   Engine.IO sid the server last handed out on any connection, and "^^^^^^^^^^^^^^^^^^^^"
 *   (20 '^') by the observer's socket id, so inputs can poll with a sid, upgrade a session and
 *   address the observer. WebSocket frames in seeds use the masking key 00000000, which leaves
 *   their payload readable (and replaceable).
 */
#include "../../sio.h"
#include "fuzz.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* The testing hooks of sio.c (not in sio.h: not API). */
extern int sio__server_adopt(sio_server *srv, int fd);
extern int sio__server_turn(sio_server *srv, int max_wait_ms);

#define NCONN 3         /* client connections an input may use */
#define SID_MARK '~'    /* 20 of these: the latest Engine.IO sid */
#define PEER_MARK '^'   /* 20 of these: the observer's socket id */
#define ID_LEN 20       /* SIO_ID_LEN */
#define WAIT_MS 12      /* how long "<<w>>" lets the timers run (they are 5-10 ms here) */
#define MAX_WAITS 2     /* "<<w>>" markers honoured per input (the others are skipped) */
#define MAX_CHUNKS 256  /* pieces a segment is cut into at most (each costs a loop turn) */
#define SNDBUF 1        /* SO_SNDBUF of the server's ends: the kernel raises it to its minimum (~4.5 KB) */

static sio_server *srv;
static long live_users;   /* users the middleware created and on_disconnect has not freed */
static long acks_pending; /* ack callbacks promised (sio.h: "called exactly once") not yet run */

/* ====== The application: a chat, plus a handler for each server feature ====== */

struct user {
    size_t len;      /* bytes of name */
    char name[];     /* the username as sent: raw JSON */
};

static const char *mw_username(sio_socket *s, void *ud)
{
    (void)ud;
    sio_str auth = sio_handshake_auth(s);
    sio_str name = sio_json_get(auth, "username");
    char q[32];
    (void)sio_handshake_query(s, "x", q, sizeof q);
    (void)sio_handshake_header(s, "user-agent");
    (void)sio_handshake_url(s);
    (void)sio_handshake_address(s);
    (void)sio_handshake_time(s);
    if (sio_json_str_eq(name, "reject")) {
        sio_reject_data(s, "{\"content\":\"Please retry later\"}");
        return "rejected";
    }
    if (!sio_json_truthy(name)) return "invalid username";
    struct user *u = malloc(sizeof *u + name.len);
    if (!u) return "server out of memory";
    u->len = name.len;
    memcpy(u->name, name.p, name.len);
    sio_socket_set_data(s, u);
    live_users++;
    return NULL;
}

static void write_user(sio_jw *w, sio_socket *s)
{
    struct user *u = sio_socket_data(s);
    sio_jw_obj(w);
    sio_jw_key(w, "userID");
    sio_jw_str(w, sio_socket_id(s));
    sio_jw_key(w, "username");
    if (u) sio_jw_raw(w, u->name, u->len);
    else sio_jw_null(w);
    sio_jw_end(w);
}

/* The tutorial's relay: {content, to} -> {content, from} to the socket(s) `to`. */
static void on_private_message(sio_socket *s, const sio_event *ev, void *ud)
{
    (void)ud;
    sio_str msg = sio_arg(ev, 0);
    if (sio_json_typeof(msg) != SIO_JSON_OBJECT) return;
    sio_str to = sio_json_get(msg, "to"), content = sio_json_get(msg, "content");
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
    if (n == 0) return;
    char stack[256];
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
    if (!w.err) sio_op_emitv(op, "private message", w.buf, w.len, NULL, 0);
    sio_jw_free(&w);
}

/* The first argument as a room name (a string), or NULL. */
static const char *room_arg(const sio_event *ev, char *buf, size_t cap)
{
    sio_str a = sio_arg(ev, 0);
    if (sio_json_typeof(a) != SIO_JSON_STRING || sio_json_unescape(a, buf, cap) < 0) return NULL;
    return buf;
}

static void on_join(sio_socket *s, const sio_event *ev, void *ud)
{
    (void)ud;
    char room[300];
    if (room_arg(ev, room, sizeof room)) sio_ack(s, ev, sio_join(s, room) == 0 ? "true" : "false");
}

static void on_leave(sio_socket *s, const sio_event *ev, void *ud)
{
    (void)ud;
    char room[300];
    if (room_arg(ev, room, sizeof room)) sio_leave(s, room);
}

/* ["to room", room, ...args]: the rest of the arguments to everyone else in the room. */
static void on_to_room(sio_socket *s, const sio_event *ev, void *ud)
{
    (void)ud;
    char room[300], count[32];
    if (!room_arg(ev, room, sizeof room)) return;
    const char *comma = memchr(ev->args.p, ',', ev->args.len);
    size_t off = comma ? (size_t)(comma - ev->args.p) + 1 : ev->args.len;
    sio_op_emitv(sio_socket_to(s, room), "room message", ev->args.p + off, ev->args.len - off, ev->bins, ev->nbins);
    sio_op_emitv(sio_volatile(sio_to(sio_all(sio_socket_nsp(s)), room)), "volatile", NULL, 0, NULL, 0);
    snprintf(count, sizeof count, "%zu", sio_room_count(sio_socket_nsp(s), room));
    sio_ack(s, ev, count);
}

/* Echoes the arguments and attachments: as the ack when one is asked for, else as an event. */
static void on_echo(sio_socket *s, const sio_event *ev, void *ud)
{
    (void)ud;
    if (ev->ack_id >= 0) sio_ackv(s, ev, ev->args.p, ev->args.len, ev->bins, ev->nbins);
    else sio_emitv(s, "echo", ev->args.p, ev->args.len, ev->bins, ev->nbins);
}

static void on_reply(sio_socket *s, int err, const sio_event *reply, void *ud)
{
    (void)ud;
    CHECK(err == 0 ? reply != NULL : (err == SIO_ERR_TIMEOUT || err == SIO_ERR_CLOSED) && reply == NULL);
    if (err == 0 && s) (void)sio_arg(reply, 0);
    acks_pending--;
}

static void on_op_reply(int err, sio_str responses, void *ud)
{
    (void)ud;
    CHECK(err == 0 || err == SIO_ERR_TIMEOUT || err == SIO_ERR_CLOSED);
    CHECK(sio_json_typeof(responses) == SIO_JSON_ARRAY && sio_json_count(responses) >= 0);
    acks_pending--;
}

/* Asks the client a question with an ack (timeout 5 ms), and the whole namespace one too. */
static void on_ask(sio_socket *s, const sio_event *ev, void *ud)
{
    (void)ud;
    (void)ev;
    if (sio_emit_with_ack(s, "question", "\"why?\"", 5, on_reply, NULL) == 0) acks_pending++;
    if (sio_emit_with_ack(s, "forever", NULL, 0, on_reply, NULL) == 0) acks_pending++; /* until answered or closed */
    if (sio_op_emit_with_ack(sio_all(sio_socket_nsp(s)), "poll", "1", 5, on_op_reply, NULL) >= 0) acks_pending++;
}

static void each_emit(sio_socket *s, void *ud)
{
    (void)ud;
    sio_emit(s, "each", NULL);
}

/* Server-side operations on many sockets at once. */
static void on_ops(sio_socket *s, const sio_event *ev, void *ud)
{
    (void)ud;
    char room[300];
    const char *r = room_arg(ev, room, sizeof room);
    sio_nsp *nsp = sio_socket_nsp(s);
    const char *rooms[4];
    int n = sio_socket_rooms(s, rooms, 4);
    (void)n;
    (void)sio_socket_in(s, r ? r : "x");
    sio_op_each(sio_all(nsp), each_emit, NULL);
    sio_op_join(sio_all(nsp), "everyone");
    if (r) sio_op_leave(sio_except(sio_all(nsp), r), "everyone");
    sio_op_emit(sio_except(sio_to(sio_all(nsp), "everyone"), sio_socket_id(s)), "hello", "1,\"two\",[3]");
    sio_op_emit(sio_local(sio_broadcast(s)), "local", NULL);
    (void)sio_find_socket(nsp, sio_socket_id(s), SIO_ID_LEN);
    for (sio_socket *o = sio_first_socket(nsp); o; o = sio_next_socket(o)) (void)sio_socket_connected(o);
    (void)sio_nsp_count(nsp);
}

/* ["bye", close_session]: the server disconnects this socket, or a whole room. */
static void on_bye(sio_socket *s, const sio_event *ev, void *ud)
{
    (void)ud;
    sio_str a = sio_arg(ev, 0);
    if (sio_json_typeof(a) == SIO_JSON_STRING) {
        char room[300];
        if (sio_json_unescape(a, room, sizeof room) >= 0) sio_op_disconnect(sio_to(sio_all(sio_socket_nsp(s)), room), 0);
        return;
    }
    sio_disconnect(s, sio_json_truthy(a));
}

static void on_any(sio_socket *s, const sio_event *ev, void *ud)
{
    (void)s;
    (void)ud;
    (void)sio_arg(ev, ev->argc);
}

static void on_any_out(sio_socket *s, const sio_event *ev, void *ud)
{
    (void)s;
    (void)ud;
    (void)ev->name;
}

static void on_disconnecting(sio_socket *s, const char *reason, void *ud)
{
    (void)ud;
    (void)reason;
    const char *rooms[8];
    (void)sio_socket_rooms(s, rooms, 8);
}

static void on_disconnect(sio_socket *s, const char *reason, void *ud)
{
    (void)ud;
    (void)reason;
    char arg[SIO_ID_LEN + 3];
    snprintf(arg, sizeof arg, "\"%s\"", sio_socket_id(s));
    sio_op_emit(sio_broadcast(s), "user disconnected", arg);
    struct user *u = sio_socket_data(s);
    if (u) {
        free(u);
        live_users--;
        sio_socket_set_data(s, NULL);
    }
}

static void register_handlers(sio_socket *s)
{
    sio_socket_on(s, "private message", on_private_message, NULL);
    sio_socket_on(s, "join", on_join, NULL);
    sio_socket_on(s, "leave", on_leave, NULL);
    sio_socket_on(s, "to room", on_to_room, NULL);
    sio_socket_on(s, "echo", on_echo, NULL);
    sio_socket_on(s, "ask", on_ask, NULL);
    sio_socket_on(s, "ops", on_ops, NULL);
    sio_socket_on(s, "bye", on_bye, NULL);
    sio_socket_on(s, "error", on_echo, NULL); /* an ordinary event name (CVE-2024-38355) */
    sio_socket_on_any(s, on_any, NULL);
    sio_socket_on_any_outgoing(s, on_any_out, NULL);
    sio_socket_on_disconnecting(s, on_disconnecting, NULL);
    sio_socket_on_disconnect(s, on_disconnect, NULL);
}

/* "/": the tutorial's connection handler. */
static void on_connection(sio_socket *s, void *ud)
{
    (void)ud;
    char stack[512];
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
    register_handlers(s);
}

/* "/admin" and the dynamic namespaces: no middleware, the same events. */
static void on_other_connection(sio_socket *s, void *ud)
{
    (void)ud;
    sio_join(s, "admins");
    register_handlers(s);
}

/* "/admin": with auth.later the middleware answers on a later timer tick (SIO_PENDING): it lets
 * the socket in, or refuses it (with data) when auth.later is "no"; the client may be gone by
 * then. */
#define MAX_LATER 8 /* decisions pending at once; more are refused at once */
static struct later {
    char id[SIO_ID_LEN + 1]; /* the pending socket ("" = free) */
    int refuse;              /* the decision */
} laters[MAX_LATER];

static const char *mw_later(sio_socket *s, void *ud)
{
    (void)ud;
    sio_str later = sio_json_get(sio_handshake_auth(s), "later");
    if (!sio_json_truthy(later)) return NULL;
    for (int i = 0; i < MAX_LATER; i++) {
        if (laters[i].id[0]) continue;
        memcpy(laters[i].id, sio_socket_id(s), sizeof laters[i].id);
        laters[i].refuse = sio_json_str_eq(later, "no");
        CHECK(sio_middleware_next(s, NULL) == SIO_ERR_INVAL); /* not pending until it returns */
        return SIO_PENDING;
    }
    return "too many pending";
}

static void later_tick(void *ud)
{
    (void)ud;
    for (int i = 0; i < MAX_LATER; i++) {
        if (!laters[i].id[0]) continue;
        sio_socket *s = sio_find_pending(srv, laters[i].id);
        laters[i].id[0] = '\0';
        if (!s) continue; /* its client left meanwhile */
        CHECK(!sio_socket_connected(s));
        if (laters[i].refuse) sio_reject_data(s, "{\"later\":true}");
        CHECK(sio_middleware_next(s, laters[i].refuse ? "refused later" : NULL) == 0);
    }
}

static const char *mw_dynamic(sio_socket *s, void *ud)
{
    (void)ud;
    return sio_json_truthy(sio_json_get(sio_handshake_auth(s), "deny")) ? "denied" : NULL;
}

static int match_dynamic(const char *name, void *ud)
{
    (void)ud;
    return strncmp(name, "/dyn-", 5) == 0;
}

/* Bare Engine.IO on /engine.io/: echo, "close" closes. */
static void eio_open(sio_eio_socket *s, void *ud)
{
    (void)ud;
    sio_eio_send(s, "hello", 5, 0);
}

static void eio_message(sio_eio_socket *s, const void *data, size_t len, int binary, void *ud)
{
    (void)ud;
    (void)sio_eio_id(s);
    if (!binary && len == 5 && memcmp(data, "close", 5) == 0) {
        sio_eio_close(s);
        return;
    }
    sio_eio_send(s, data, len, binary);
}

static void eio_close(sio_eio_socket *s, const char *reason, void *ud)
{
    (void)s;
    (void)reason;
    (void)ud;
}

/* Plain HTTP outside the Socket.IO paths. */
static void on_plain(const sio_http_request *req, sio_http_response *res, void *ud)
{
    (void)ud;
    (void)sio_request_header(req, "accept");
    if (req->path.len == 6 && memcmp(req->path.p, "/hello", 6) == 0) {
        res->status = 200;
        res->content_type = "text/plain";
        res->headers = "X-Test: 1\r\n";
        res->body = "hello\n";
        res->len = 6;
    }
}

static const char *allow(const sio_http_request *req, void *ud)
{
    (void)ud;
    if (req->query.len == 0) return NULL;
    return memmem(req->query.p, req->query.len, "deny", 4) ? "denied by allowRequest" : NULL;
}

/* At exit: acks still waiting are answered by the shutdown (or by sio_server_free, with
 * SIO_ERR_CLOSED), so every promised callback must have run once everything is freed. */
static void server_down(void)
{
    sio_server_stop(srv);
    sio_server_run(srv); /* shuts down: every session closed, every handler run */
    sio_server_free(srv);
    srv = NULL;
    CHECK(live_users == 0);
    CHECK(acks_pending == 0);
}

static void server_up(void)
{
    struct sio_options o;
    sio_options_init(&o);
    o.ping_interval = 5;
    o.ping_timeout = 5;
    o.upgrade_timeout = 5;
    o.connect_timeout = 8;
    o.max_http_buffer_size = 4000;
    o.max_clients = 64;
    o.http_request_timeout = 8;
    o.http_keepalive_timeout = 5;
    o.output_hard_limit = 1 << 13;
    o.output_soft_limit = 1 << 11;
    o.output_soft_seconds = 1;
    o.max_namespaces = 4;
    o.max_rooms = 8;
    o.cors_origins[0] = "http://localhost:8080";
    o.n_cors_origins = 1;
    o.cors_credentials = 1;
    o.allow_request = allow;
    o.cookie_name = "io";
    srv = sio_server_new(&o);
    CHECK(srv != NULL);
    sio_nsp *root = sio_of(srv, "/");
    sio_use(root, mw_username, NULL);
    sio_on_connection(root, on_connection, NULL);
    sio_nsp *admin = sio_of(srv, "/admin");
    CHECK(admin != NULL);
    sio_use(admin, mw_later, NULL);
    sio_on_connection(admin, on_other_connection, NULL);
    CHECK(sio_server_every(srv, 3, later_tick, NULL) == 0);
    sio_nsp *dyn = sio_of_match(srv, match_dynamic, NULL);
    CHECK(dyn != NULL);
    sio_use(dyn, mw_dynamic, NULL);
    sio_on_connection(dyn, on_other_connection, NULL);
    static const struct sio_eio_handlers eh = {eio_open, eio_message, eio_close};
    struct sio_options eo = o;
    eo.transports = SIO_TRANSPORT_POLLING | SIO_TRANSPORT_WEBSOCKET;
    eo.cookie_name = NULL;
    CHECK(sio_eio_attach(srv, "/engine.io/", &eo, &eh, NULL) == 0);
    sio_on_request(srv, on_plain, NULL);
    atexit(server_down);
}

/* ====== Client connections ====== */

struct peer {
    int fd;             /* our end, -1 when not open */
    int srv_fd;         /* the server's end (closed by the server) */
    char carry[64];     /* the last bytes read, for ids split across reads */
    size_t carry_len;
};

static char last_sid[ID_LEN + 1];  /* the latest Engine.IO sid handed out */
static char obs_id[ID_LEN + 1];    /* the observer's socket id in "/" */

/* Looks for {"sid":"<20>" in what a peer received: followed by ',' it is an Engine.IO open
 * packet, followed by '}' a Socket.IO CONNECT reply. */
static void scan_ids(struct peer *p, const char *data, size_t n, int observer)
{
    static const char pat[] = "{\"sid\":\"";
    size_t pl = sizeof pat - 1, tl = p->carry_len + n;
    char *t = malloc(tl ? tl : 1);
    CHECK(t != NULL);
    memcpy(t, p->carry, p->carry_len);
    memcpy(t + p->carry_len, data, n);
    for (char *m = t; (m = memmem(m, tl - (size_t)(m - t), pat, pl)) != NULL; m++) {
        size_t at = (size_t)(m - t) + pl;
        if (at + ID_LEN + 2 > tl) break;
        if (t[at + ID_LEN] != '"') continue;
        char end = t[at + ID_LEN + 1];
        if (end == ',') memcpy(last_sid, t + at, ID_LEN);
        else if (end == '}' && observer) memcpy(obs_id, t + at, ID_LEN);
    }
    p->carry_len = tl < sizeof p->carry ? tl : sizeof p->carry;
    memcpy(p->carry, t + tl - p->carry_len, p->carry_len);
    free(t);
}

static struct peer peers[NCONN], obs;
static int verbose = -1; /* SIO_FUZZ_VERBOSE set: print what the server writes (for seed writers) */

/* Reads and discards everything the server sent to p. */
static void drain(struct peer *p, int observer)
{
    char buf[65536];
    if (p->fd < 0) return;
    if (verbose < 0) verbose = getenv("SIO_FUZZ_VERBOSE") != NULL;
    for (;;) {
        ssize_t n = read(p->fd, buf, sizeof buf);
        if (n > 0) {
            scan_ids(p, buf, (size_t)n, observer);
            if (verbose) {
                fprintf(stderr, "\n--- to %s %d (%zd bytes):\n", observer ? "observer" : "connection",
                        observer ? 0 : (int)(p - peers), n);
                fwrite(buf, 1, (size_t)n, stderr);
            }
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        break; /* EAGAIN, EOF or an error: nothing more for now */
    }
}

static int slow_reader; /* flags bit 5: connection 0 is never read */

static void drain_all(void)
{
    for (int i = slow_reader; i < NCONN; i++) drain(&peers[i], 0);
    drain(&obs, 1);
}

static void turns(int n)
{
    for (int i = 0; i < n; i++) {
        CHECK(sio__server_turn(srv, 0) == 0);
        drain_all();
    }
}

static void peer_open(struct peer *p)
{
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
    int sndbuf = SNDBUF;
    CHECK(setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf) == 0);
    p->fd = sv[0];
    p->srv_fd = sv[1];
    p->carry_len = 0;
    CHECK(sio__server_adopt(srv, sv[1]) == 0);
}

/* Writes all of buf to p, running the loop when the socket is full (the server reads then). */
static void peer_write(struct peer *p, const char *buf, size_t len)
{
    int stalls = 0;
    while (len > 0 && stalls < 50) {
        ssize_t n = send(p->fd, buf, len, MSG_NOSIGNAL);
        if (n > 0) {
            buf += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno != EAGAIN) return; /* the server closed it: the rest is moot */
        stalls++;
        turns(1);
    }
}

/* Runs the loop for ms milliseconds (turns of at most 2 ms), reading what clients receive. */
static void run_for(int ms)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        CHECK(sio__server_turn(srv, 2) == 0);
        drain_all();
        clock_gettime(CLOCK_MONOTONIC, &t1);
    } while ((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 < ms);
}

/* 1 while the server still has descriptor fd open. Only the server opens descriptors between
 * our calls, and it opens none here (no listener), so a number cannot be reused meanwhile. */
static int fd_open(int fd)
{
    return fcntl(fd, F_GETFD) != -1 || errno != EBADF;
}

/* Replaces the markers in seg with the ids known now. */
static void fill_markers(char *seg, size_t len)
{
    for (size_t i = 0; i + ID_LEN <= len; i++) {
        char c = seg[i];
        if (c != SID_MARK && c != PEER_MARK) continue;
        size_t k = 1;
        while (k < ID_LEN && seg[i + k] == c) k++;
        if (k < ID_LEN) continue;
        const char *id = c == SID_MARK ? last_sid : obs_id;
        if (id[0]) memcpy(seg + i, id, ID_LEN);
        i += ID_LEN - 1;
    }
}

/* The observer: a WebSocket client in "/" named "obs" (frames masked with key 0). */
static void observer_open(void)
{
    static const char hs[] = "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
                             "Host: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    static const char connect[] = "40{\"username\":\"obs\"}";
    char frame[6 + sizeof connect] = {(char)0x81, (char)(0x80 | (sizeof connect - 1)), 0, 0, 0, 0};
    memcpy(frame + 6, connect, sizeof connect - 1);
    peer_open(&obs);
    peer_write(&obs, hs, sizeof hs - 1);
    peer_write(&obs, frame, 6 + sizeof connect - 1);
    turns(3);
}

/* Finds the next marker "<<d>>" (d in 0..NCONN-1: switch to connection d) or "<<w>>" (wait; *conn
 * is then -1) in buf[0..len). Returns its offset, or len if there is none. */
static size_t next_switch(const char *buf, size_t len, int *conn)
{
    for (size_t i = 0; i + 5 <= len; i++) {
        if (buf[i] != '<' || buf[i + 1] != '<' || buf[i + 3] != '>' || buf[i + 4] != '>') continue;
        if (buf[i + 2] >= '0' && buf[i + 2] < '0' + NCONN) {
            *conn = buf[i + 2] - '0';
            return i;
        }
        if (buf[i + 2] == 'w') {
            *conn = -1;
            return i;
        }
    }
    return len;
}

/* The lowest free descriptor number: if the server kept a descriptor, it sits there. */
static int lowest_free_fd(void)
{
    int fd = dup(2);
    CHECK(fd >= 0);
    close(fd);
    return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int fd_baseline = -1;
    if (!srv) {
        server_up();
        fd_baseline = lowest_free_fd();
    }
    if (size == 0) return 0;
    unsigned flags = data[0];
    size_t chunk = flags & 31;
    slow_reader = (flags & 32) != 0;
    char *in = malloc(size);
    CHECK(in != NULL);
    memcpy(in, data + 1, size - 1);
    size_t len = size - 1, off = 0;
    last_sid[0] = '\0';
    for (int i = 0; i < NCONN; i++) peers[i].fd = peers[i].srv_fd = -1;

    obs.fd = obs.srv_fd = -1;
    obs_id[0] = '\0';
    if (!(flags & 128)) observer_open();
    int conn = 0, waits = 0;
    while (off <= len) {
        int next_conn = conn;
        size_t seg_end = off + next_switch(in + off, len - off, &next_conn);
        struct peer *p = &peers[conn];
        if (seg_end > off) {
            if (p->fd < 0) peer_open(p);
            fill_markers(in + off, seg_end - off);
            if (chunk == 0) {
                peer_write(p, in + off, seg_end - off);
            } else { /* at most MAX_CHUNKS pieces; the rest of a long segment goes whole */
                size_t c = off;
                for (int k = 0; c < seg_end; k++) {
                    size_t n = k + 1 < MAX_CHUNKS && seg_end - c > chunk ? chunk : seg_end - c;
                    peer_write(p, in + c, n);
                    c += n;
                    turns(1);
                }
            }
            turns(3);
        }
        if (seg_end == len) break;
        off = seg_end + 5;
        if (next_conn >= 0) conn = next_conn;
        else if (waits++ < MAX_WAITS) run_for(WAIT_MS); /* let the timers fire */
    }
    if (flags & 64) {
        for (int i = 0; i < NCONN; i++)
            if (peers[i].fd >= 0) shutdown(peers[i].fd, SHUT_WR);
        turns(3);
    }

    /* Close every client end; the server must close its ends in a few turns. */
    for (int i = 0; i < NCONN; i++) {
        if (peers[i].fd >= 0) close(peers[i].fd);
        peers[i].fd = -1;
    }
    if (obs.fd >= 0) close(obs.fd);
    obs.fd = -1;
    int open_left = 1;
    for (int t = 0; t < 1000 && open_left; t++) {
        CHECK(sio__server_turn(srv, t < 10 ? 0 : 1) == 0);
        open_left = obs.srv_fd >= 0 && fd_open(obs.srv_fd);
        for (int i = 0; i < NCONN; i++) open_left |= peers[i].srv_fd >= 0 && fd_open(peers[i].srv_fd);
    }
    if (open_left) {
        fprintf(stderr, "fuzz_conn: the server kept a descriptor open after its peer closed\n");
        abort();
    }
    for (int i = 0; i < NCONN; i++) peers[i].srv_fd = -1;
    turns(2); /* closed sessions finish at the end of a turn */
    CHECK(lowest_free_fd() <= fd_baseline); /* no descriptor left behind */
    free(in);
    return 0;
}
