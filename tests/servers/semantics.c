/* SPDX-License-Identifier: MIT */
/* semantics.c -- the test server of tests/e2e/semantics.test.mjs and raw-semantics.test.mjs.
 *
 * It exposes every server-side semantic of sio (issue 3) as events a test client can drive, and
 * logs what only the server can see (disconnect reasons, the rooms a "disconnecting" hook sees)
 * as JSON lines on stderr. It is a test fixture, not an example: it trades brevity for reach.
 *
 * Server set-up
 *   - Socket.IO on /socket.io/, cookie "io" (Set-Cookie on the polling handshake), CORS off.
 *   - allow_request: a handshake whose query has deny=1 is refused with "Forbidden" (403
 *     {"code":4,"message":"Forbidden"}); deny=custom is refused with "Go away".
 *   - Namespaces:
 *       "/"       middleware: auth.fail truthy -> CONNECT_ERROR "failed without data".
 *       "/admin"  middleware: auth.token must be "ok", else CONNECT_ERROR
 *                 {"message":"not authorized","data":{"content":"Please retry later"}}.
 *       /^\/dynamic-\d+$/  (sio_of_match) parent middleware: auth.reject truthy -> CONNECT_ERROR
 *                 "rejected by parent". Anything else -> "Invalid namespace".
 *       "/async"  two middlewares. The first answers later (SIO_PENDING): after auth.delay ms
 *                 (0..5000, default 0) it lets the socket go on, or with auth.verdict "refuse"
 *                 refuses it with {"message":"refused later","data":{"content":"later"}}; if the
 *                 client has left by then it logs {"type":"pending-gone","id":…}. The second is
 *                 synchronous: auth.second "refuse" -> CONNECT_ERROR "refused by second"; "drop" ->
 *                 it disconnects the socket and its session itself, then refuses it. While
 *                 pending, a socket is in room "waiting" (joined by the first middleware).
 *     The last middleware of every namespace attaches the per-socket record (socket data) that
 *     remembers which middlewares ran ("mw"), and what onAny / onAnyOutgoing saw.
 *   - Every namespace gets the same connection handler and events (below). Nothing is emitted
 *     on connection, so a raw client's first packet after the CONNECT reply is its own doing.
 *
 * Events (ARGS = the remaining arguments, relayed as received, attachments included;
 * SPEC = {"to":room|[rooms], "except":room|[rooms], "broadcast":bool (exclude the sender:
 * socket.broadcast / socket.to), "volatile":bool, "local":bool, "nsp":"/"|"/admin" (target
 * namespace instead of the sender's; not with broadcast)}; "-> ack X" = answered only when the
 * client asked for an ack):
 *   echo ARGS                 -> emits "echo" ARGS back (binary included)
 *   echo-ack ARGS             -> ack ARGS (BINARY_ACK when there are attachments)
 *   binary                    -> emits "binary" {"file":<01 02 03>,"parts":[<"hello">,{"deep":<00..ff>}],
 *                                "name":"three"} (3 attachments), and acks the same if asked
 *   join room|[rooms]         -> ack the socket's rooms (sio_socket_rooms: own id first)
 *   leave room                -> ack the socket's rooms
 *   rooms                     -> ack the socket's rooms
 *   in room                   -> ack true|false (sio_socket_in)
 *   room-count room [nsp]     -> ack sio_room_count of the room (in nsp, default the socket's)
 *   emit SPEC event ARGS      -> sio_op_emitv(SPEC, event, ARGS); ack the number of recipients
 *   emit-with-ack SPEC event ARGS, SPEC also {"timeout":ms,"tag":any}
 *                             -> sio_op_emit_with_ack; ack the number of recipients; later emits
 *                                "emit-with-ack-result" {"tag":…,"err":null|"operation has timed
 *                                out","responses":[…]} to the requester
 *   server-ack {"timeout":ms,"tag":any} event ARGS (no binary)
 *                             -> sio_emit_with_ack(this socket, event, ARGS, timeout); ack its
 *                                return code; later emits "server-ack-result" {"tag":…,"err":null|
 *                                "operation has timed out","reply":[the client's ack args]}
 *                                (binary in the reply is relayed as attachments)
 *   each SPEC                 -> ack [ids] from sio_op_each (each selected socket once)
 *   sockets-join SPEC room    -> ack sio_op_join's count;  sockets-leave SPEC room: sio_op_leave
 *   sockets-disconnect SPEC close -> ack sio_op_disconnect's count (close: true closes sessions)
 *   disconnect-me close       -> sio_disconnect(this socket, close)
 *   handshake {"headers":[names],"query":[keys]}
 *                             -> ack {"id","nsp","headers":{name:value|null},"query":{key:value|null},
 *                                "url","address","time","auth","connected","mw":[…]}
 *   any-log                   -> ack {"incoming":[event names seen by onAny, this one included],
 *                                "outgoing":[{"name":…,"args":[…]} or {"name":…,"nbins":N}]}
 *
 * Log lines on stderr (one JSON object each, after the prefix "semantics: "):
 *   {"type":"connect","nsp":…,"id":…}
 *   {"type":"disconnecting","nsp":…,"id":…,"reason":…,"rooms":[…],"connected":0|1,"count":N}
 *       rooms: what sio_socket_rooms() still sees; count: sio_room_count() of the socket's id room
 *   {"type":"disconnect","nsp":…,"id":…,"reason":…,"rooms":N,"connected":0|1,"count":N}
 *       rooms: how many sio_socket_rooms() returns (should be 0 there)
 *
 * Usage: semantics [--port N] [--ping-interval MS] [--ping-timeout MS] [--redis URL]
 *   --redis URL joins a cluster through Redis (sio_redis_adapter): the ops above then reach the
 *   other nodes too, unless "local" (tests/e2e/redis-acks.test.mjs).
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../sio.h"

static sio_server *server; /* for the signal handler and the namespace lookups */

#define MAX_ROOMS_SHOWN 64  /* rooms listed in acks and logs */
#define MAX_PENDING 64      /* broadcast-with-ack requests in flight */
#define ROOM_BUF (SIO_MAX_ROOM_NAME + 1)

/* ====== Small helpers ====== */

/* A growable byte buffer for the onAny records. */
struct buf {
    char *p;    /* bytes (not NUL-terminated) */
    size_t len; /* used */
    size_t cap; /* allocated */
};

static void buf_add(struct buf *b, const char *p, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        while (cap < b->len + n) cap *= 2;
        char *q = realloc(b->p, cap);
        if (!q) return; /* a test fixture: drop the record */
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

/* Appends one JSON value to a list kept without its brackets (comma-separated). */
static void list_add(struct buf *b, const char *json, size_t n)
{
    if (b->len) buf_add(b, ",", 1);
    buf_add(b, json, n);
}

/* What each socket carries (socket.data). */
struct rec {
    char mw[64];       /* the middlewares that ran, as JSON array elements: "\"root\"" */
    struct buf in;     /* onAny: event names (JSON strings) */
    struct buf out;    /* onAnyOutgoing: {"name":…,"args":[…]} objects */
};

static struct rec *rec_of(sio_socket *s) { return sio_socket_data(s); }

/* The argument list from argument k to the end, as a slice of ev->args ({"",0} if none). */
static sio_str args_from(const sio_event *ev, int k)
{
    sio_str a = sio_arg(ev, k);
    if (!a.p) return (sio_str){"", 0};
    return (sio_str){a.p, (size_t)(ev->args.p + ev->args.len - a.p)};
}

/* Decodes a JSON string into dst (cap bytes). Returns 0, or -1 if not a string or too long. */
static int cstr(sio_str v, char *dst, size_t cap)
{
    return sio_json_unescape(v, dst, cap) >= 0 ? 0 : -1;
}

/* Writes the socket's rooms as a JSON array. */
static void write_rooms(sio_jw *w, sio_socket *s)
{
    const char *names[MAX_ROOMS_SHOWN];
    int n = sio_socket_rooms(s, names, MAX_ROOMS_SHOWN);
    if (n > MAX_ROOMS_SHOWN) n = MAX_ROOMS_SHOWN;
    sio_jw_arr(w);
    for (int i = 0; i < n; i++) sio_jw_str(w, names[i]);
    sio_jw_end(w);
}

/* Acks with the JSON text a writer built (if it built it without error), then frees it. */
static void ack_jw(sio_socket *s, const sio_event *ev, sio_jw *w)
{
    if (!w->err) sio_ackv(s, ev, w->buf, w->len, NULL, 0);
    sio_jw_free(w);
}

static void ack_int(sio_socket *s, const sio_event *ev, long long v)
{
    char num[32];
    snprintf(num, sizeof num, "%lld", v);
    sio_ack(s, ev, num);
}

/* Prints one log line: "semantics: " + the writer's JSON. */
static void log_jw(sio_jw *w)
{
    if (!w->err) fprintf(stderr, "semantics: %.*s\n", (int)w->len, w->buf);
    sio_jw_free(w);
}

/* ====== Selections (SPEC -> sio_op) ====== */

/* Room names decoded from a SPEC; the sio_op keeps pointers into it, so it must outlive the op. */
struct names {
    char v[2 * SIO_MAX_OP_ROOMS][ROOM_BUF]; /* decoded names */
    int n;                                  /* used */
};

/* Adds `to` or `except` rooms (a string or an array of strings) to op. */
static sio_op add_rooms(sio_op op, sio_str list, int except, struct names *nm)
{
    sio_str item = list;
    size_t pos = 0;
    int is_array = sio_json_typeof(list) == SIO_JSON_ARRAY;
    if (!is_array && sio_json_typeof(list) != SIO_JSON_STRING) return op;
    for (;;) {
        if (is_array && sio_json_next(list, &pos, NULL, &item) != 1) break;
        /* Too many names: pass one more anyway, so that the library reports its own limit. */
        if (nm->n < 2 * SIO_MAX_OP_ROOMS && cstr(item, nm->v[nm->n], ROOM_BUF) == 0) {
            op = except ? sio_except(op, nm->v[nm->n]) : sio_to(op, nm->v[nm->n]);
            nm->n++;
        }
        if (!is_array) break;
    }
    return op;
}

/* Builds the selection a SPEC object describes, for a request made by socket s. */
static sio_op build_op(sio_socket *s, sio_str spec, struct names *nm)
{
    nm->n = 0;
    sio_op op;
    sio_str nsp = sio_json_get(spec, "nsp");
    if (sio_json_truthy(sio_json_get(spec, "broadcast"))) {
        op = sio_broadcast(s); /* socket.broadcast: everyone but s */
    } else if (sio_json_str_eq(nsp, "/") || sio_json_str_eq(nsp, "/admin")) {
        op = sio_all(sio_of(server, sio_json_str_eq(nsp, "/") ? "/" : "/admin")); /* io.of(nsp) */
    } else {
        op = sio_all(sio_socket_nsp(s)); /* io.of(s's namespace) */
    }
    op = add_rooms(op, sio_json_get(spec, "to"), 0, nm);
    op = add_rooms(op, sio_json_get(spec, "except"), 1, nm);
    if (sio_json_truthy(sio_json_get(spec, "volatile"))) op = sio_volatile(op);
    if (sio_json_truthy(sio_json_get(spec, "local"))) op = sio_local(op);
    return op;
}

/* ====== Events ====== */

static void on_echo(sio_socket *s, const sio_event *ev, void *ud)
{
    (void)ud;
    sio_emitv(s, "echo", ev->args.p, ev->args.len, ev->bins, ev->nbins);
}

static void on_echo_ack(sio_socket *s, const sio_event *ev, void *ud)
{
    (void)ud;
    sio_ackv(s, ev, ev->args.p, ev->args.len, ev->bins, ev->nbins);
}

static void on_binary(sio_socket *s, const sio_event *ev, void *ud)
{
    (void)ud;
    static const unsigned char small[] = {1, 2, 3};
    unsigned char all[256];
    for (int i = 0; i < 256; i++) all[i] = (unsigned char)i;
    const sio_bin bins[3] = {{small, sizeof small}, {"hello", 5}, {all, sizeof all}};
    const char *args = "{\"file\":{\"_placeholder\":true,\"num\":0},"
                       "\"parts\":[{\"_placeholder\":true,\"num\":1},{\"deep\":{\"_placeholder\":true,\"num\":2}}],"
                       "\"name\":\"three\"}";
    sio_emitv(s, "binary", args, strlen(args), bins, 3);
    sio_ackv(s, ev, args, strlen(args), bins, 3); /* no-op without an ack id */
}

static void ack_rooms(sio_socket *s, const sio_event *ev)
{
    char stack[1024];
    sio_jw w;
    sio_jw_init(&w, stack, sizeof stack);
    write_rooms(&w, s);
    ack_jw(s, ev, &w);
}

static void on_join(sio_socket *s, const sio_event *ev, void *ud)
{
    (void)ud;
    char room[ROOM_BUF];
    sio_str a = sio_arg(ev, 0), item = a;
    size_t pos = 0;
    if (sio_json_typeof(a) == SIO_JSON_ARRAY) {
        while (sio_json_next(a, &pos, NULL, &item) == 1)
            if (cstr(item, room, sizeof room) == 0) sio_join(s, room);
    } else if (cstr(a, room, sizeof room) == 0) {
        sio_join(s, room);
    }
    ack_rooms(s, ev);
}

static void on_leave(sio_socket *s, const sio_event *ev, void *ud)
{
    (void)ud;
    char room[ROOM_BUF];
    if (cstr(sio_arg(ev, 0), room, sizeof room) == 0) sio_leave(s, room);
    ack_rooms(s, ev);
}

static void on_rooms(sio_socket *s, const sio_event *ev, void *ud)
{
    (void)ud;
    ack_rooms(s, ev);
}

static void on_in(sio_socket *s, const sio_event *ev, void *ud)
{
    (void)ud;
    char room[ROOM_BUF];
    int in = cstr(sio_arg(ev, 0), room, sizeof room) == 0 && sio_socket_in(s, room);
    sio_ack(s, ev, in ? "true" : "false");
}

static void on_room_count(sio_socket *s, const sio_event *ev, void *ud)
{
    (void)ud;
    char room[ROOM_BUF], nsp[SIO_MAX_NSP_NAME + 1];
    if (cstr(sio_arg(ev, 0), room, sizeof room) < 0) return;
    sio_nsp *n = sio_socket_nsp(s);
    if (cstr(sio_arg(ev, 1), nsp, sizeof nsp) == 0 && (!strcmp(nsp, "/") || !strcmp(nsp, "/admin")))
        n = sio_of(server, nsp);
    ack_int(s, ev, (long long)sio_room_count(n, room));
}

/* emit SPEC event ARGS */
static void on_emit(sio_socket *s, const sio_event *ev, void *ud)
{
    (void)ud;
    struct names nm;
    char event[SIO_MAX_EVENT_NAME + 1];
    if (cstr(sio_arg(ev, 1), event, sizeof event) < 0) return;
    sio_op op = build_op(s, sio_arg(ev, 0), &nm);
    sio_str args = args_from(ev, 2);
    ack_int(s, ev, sio_op_emitv(op, event, args.p, args.len, ev->bins, ev->nbins));
}

/* Broadcast-with-ack requests in flight: who asked (namespace + socket id) and its tag. A fixed
 * table, so nothing leaks if a callback never comes. */
static struct pending {
    int used;                /* 1 while the request is in flight */
    sio_nsp *nsp;            /* the requester's namespace */
    char id[SIO_ID_LEN + 1]; /* the requester's socket id */
    char tag[64];            /* the request's tag, as JSON text */
} pending[MAX_PENDING];

static void on_op_ack(int err, sio_str responses, void *ud)
{
    struct pending *p = ud;
    char stack[1024];
    sio_jw w;
    sio_jw_init(&w, stack, sizeof stack);
    sio_jw_obj(&w);
    sio_jw_key(&w, "tag");
    sio_jw_raw(&w, p->tag, strlen(p->tag));
    sio_jw_key(&w, "err");
    if (err == SIO_ERR_TIMEOUT) sio_jw_str(&w, "operation has timed out");
    else if (err) sio_jw_str(&w, sio_strerror(err));
    else sio_jw_null(&w);
    sio_jw_key(&w, "responses");
    if (responses.p && responses.len) sio_jw_raw(&w, responses.p, responses.len);
    else sio_jw_null(&w);
    sio_jw_end(&w);
    sio_socket *s = sio_find_socket(p->nsp, p->id, strlen(p->id));
    if (s && !w.err) sio_emitv(s, "emit-with-ack-result", w.buf, w.len, NULL, 0);
    sio_jw_free(&w);
    p->used = 0;
}

/* emit-with-ack SPEC event ARGS */
static void on_emit_with_ack(sio_socket *s, const sio_event *ev, void *ud)
{
    (void)ud;
    struct names nm;
    char event[SIO_MAX_EVENT_NAME + 1];
    sio_str spec = sio_arg(ev, 0);
    if (cstr(sio_arg(ev, 1), event, sizeof event) < 0) return;
    double timeout = 0;
    sio_json_number(sio_json_get(spec, "timeout"), &timeout);
    sio_str tag = sio_json_get(spec, "tag");
    struct pending *p = NULL;
    for (int i = 0; i < MAX_PENDING && !p; i++)
        if (!pending[i].used) p = &pending[i];
    if (!p) {
        ack_int(s, ev, SIO_ERR_LIMIT);
        return;
    }
    p->nsp = sio_socket_nsp(s);
    snprintf(p->id, sizeof p->id, "%s", sio_socket_id(s));
    if (tag.p && tag.len < sizeof p->tag) snprintf(p->tag, sizeof p->tag, "%.*s", (int)tag.len, tag.p);
    else snprintf(p->tag, sizeof p->tag, "null");
    sio_op op = build_op(s, spec, &nm);
    sio_str args = args_from(ev, 2);
    /* sio_op_emit_with_ack() has no attachments form: binary ARGS are not supported here. */
    char *text = malloc(args.len + 1);
    if (!text) return;
    memcpy(text, args.p, args.len);
    text[args.len] = '\0';
    int n = sio_op_emit_with_ack(op, event, text, (int)timeout, on_op_ack, p);
    free(text);
    if (n >= 0) p->used = 1; /* the callback will run and release it */
    ack_int(s, ev, n);
}

static void on_server_ack(sio_socket *s, int err, const sio_event *reply, void *ud)
{
    char *tag = ud;
    if (err != SIO_ERR_CLOSED) {
        char stack[1024];
        sio_jw w;
        sio_jw_init(&w, stack, sizeof stack);
        sio_jw_obj(&w);
        sio_jw_key(&w, "tag");
        sio_jw_raw(&w, tag, strlen(tag));
        sio_jw_key(&w, "err");
        if (err == SIO_ERR_TIMEOUT) sio_jw_str(&w, "operation has timed out");
        else if (err) sio_jw_str(&w, sio_strerror(err));
        else sio_jw_null(&w);
        sio_jw_key(&w, "reply");
        sio_jw_arr(&w);
        if (!err && reply && reply->args.len) sio_jw_raw(&w, reply->args.p, reply->args.len);
        sio_jw_end(&w);
        sio_jw_end(&w);
        /* The reply's placeholders keep their numbers: relay its attachments as ours. */
        if (!w.err) sio_emitv(s, "server-ack-result", w.buf, w.len, err ? NULL : reply->bins, err ? 0 : reply->nbins);
        sio_jw_free(&w);
    }
    free(tag);
}

/* server-ack {"timeout":ms,"tag":any} event ARGS */
static void on_server_ack_request(sio_socket *s, const sio_event *ev, void *ud)
{
    (void)ud;
    char event[SIO_MAX_EVENT_NAME + 1];
    sio_str spec = sio_arg(ev, 0);
    if (cstr(sio_arg(ev, 1), event, sizeof event) < 0) return;
    double timeout = 0;
    sio_json_number(sio_json_get(spec, "timeout"), &timeout);
    sio_str tag = sio_json_get(spec, "tag");
    if (!tag.p) tag = (sio_str){"null", 4};
    sio_str args = args_from(ev, 2);
    char *text = malloc(args.len + 1), *tagc = malloc(tag.len + 1);
    if (!text || !tagc) {
        free(text);
        free(tagc);
        return;
    }
    memcpy(text, args.p, args.len);
    text[args.len] = '\0';
    memcpy(tagc, tag.p, tag.len);
    tagc[tag.len] = '\0';
    int rc = sio_emit_with_ack(s, event, text, (int)timeout, on_server_ack, tagc);
    free(text);
    if (rc < 0) free(tagc); /* the callback will not run */
    ack_int(s, ev, rc);
}

/* each SPEC: collects the ids sio_op_each() visits. */
static void collect_id(sio_socket *s, void *ud)
{
    sio_jw_str(ud, sio_socket_id(s));
}

static void on_each(sio_socket *s, const sio_event *ev, void *ud)
{
    (void)ud;
    struct names nm;
    sio_op op = build_op(s, sio_arg(ev, 0), &nm);
    char stack[2048];
    sio_jw w;
    sio_jw_init(&w, stack, sizeof stack);
    sio_jw_arr(&w);
    sio_op_each(op, collect_id, &w);
    sio_jw_end(&w);
    ack_jw(s, ev, &w);
}

static void on_sockets_join(sio_socket *s, const sio_event *ev, void *ud)
{
    int leave = ud != NULL;
    struct names nm;
    char room[ROOM_BUF];
    if (cstr(sio_arg(ev, 1), room, sizeof room) < 0) return;
    sio_op op = build_op(s, sio_arg(ev, 0), &nm);
    ack_int(s, ev, leave ? sio_op_leave(op, room) : sio_op_join(op, room));
}

static void on_sockets_disconnect(sio_socket *s, const sio_event *ev, void *ud)
{
    (void)ud;
    struct names nm;
    sio_op op = build_op(s, sio_arg(ev, 0), &nm);
    ack_int(s, ev, sio_op_disconnect(op, sio_json_truthy(sio_arg(ev, 1))));
}

static void on_disconnect_me(sio_socket *s, const sio_event *ev, void *ud)
{
    (void)ud;
    sio_disconnect(s, sio_json_truthy(sio_arg(ev, 0)));
}

static void on_handshake(sio_socket *s, const sio_event *ev, void *ud)
{
    (void)ud;
    sio_str want = sio_arg(ev, 0), item;
    char key[256], val[1024];
    char stack[2048];
    sio_jw w;
    sio_jw_init(&w, stack, sizeof stack);
    sio_jw_obj(&w);
    sio_jw_key(&w, "id");
    sio_jw_str(&w, sio_socket_id(s));
    sio_jw_key(&w, "nsp");
    sio_jw_str(&w, sio_nsp_name(sio_socket_nsp(s)));
    sio_jw_key(&w, "headers");
    sio_jw_obj(&w);
    size_t pos = 0;
    sio_str list = sio_json_get(want, "headers");
    while (sio_json_typeof(list) == SIO_JSON_ARRAY && sio_json_next(list, &pos, NULL, &item) == 1) {
        if (cstr(item, key, sizeof key) < 0) continue;
        sio_str v = sio_handshake_header(s, key);
        sio_jw_key(&w, key);
        if (v.p) sio_jw_strn(&w, v.p, v.len);
        else sio_jw_null(&w);
    }
    sio_jw_end(&w);
    sio_jw_key(&w, "query");
    sio_jw_obj(&w);
    pos = 0;
    list = sio_json_get(want, "query");
    while (sio_json_typeof(list) == SIO_JSON_ARRAY && sio_json_next(list, &pos, NULL, &item) == 1) {
        if (cstr(item, key, sizeof key) < 0) continue;
        long n = sio_handshake_query(s, key, val, sizeof val);
        sio_jw_key(&w, key);
        if (n >= 0) sio_jw_strn(&w, val, (size_t)n);
        else sio_jw_null(&w);
    }
    sio_jw_end(&w);
    sio_jw_key(&w, "url");
    sio_jw_str(&w, sio_handshake_url(s));
    sio_jw_key(&w, "address");
    sio_jw_str(&w, sio_handshake_address(s));
    sio_jw_key(&w, "time");
    sio_jw_int(&w, (long long)sio_handshake_time(s));
    sio_jw_key(&w, "auth");
    sio_str auth = sio_handshake_auth(s);
    sio_jw_raw(&w, auth.p, auth.len);
    sio_jw_key(&w, "connected");
    sio_jw_bool(&w, sio_socket_connected(s));
    sio_jw_key(&w, "mw");
    sio_jw_arr(&w);
    const char *mw = rec_of(s)->mw;
    sio_jw_raw(&w, mw, strlen(mw)); /* elements already in JSON, comma-separated */
    sio_jw_end(&w);
    sio_jw_end(&w);
    ack_jw(s, ev, &w);
}

static void on_any_log(sio_socket *s, const sio_event *ev, void *ud)
{
    (void)ud;
    struct rec *r = rec_of(s);
    char stack[4096];
    sio_jw w;
    sio_jw_init(&w, stack, sizeof stack);
    sio_jw_obj(&w);
    sio_jw_key(&w, "incoming");
    sio_jw_bytes(&w, "[", 1); /* the lists are kept as ready JSON: write them as bytes */
    sio_jw_bytes(&w, r->in.p, r->in.len);
    sio_jw_bytes(&w, "]", 1);
    sio_jw_bytes(&w, ",\"outgoing\":[", 13);
    sio_jw_bytes(&w, r->out.p, r->out.len);
    sio_jw_bytes(&w, "]}", 2);
    if (!w.err) sio_ackv(s, ev, w.buf, w.len, NULL, 0);
    sio_jw_free(&w);
}

/* ====== Catch-all listeners ====== */

static void on_any(sio_socket *s, const sio_event *ev, void *ud)
{
    (void)ud;
    char stack[512];
    sio_jw w;
    sio_jw_init(&w, stack, sizeof stack);
    sio_jw_str(&w, ev->name);
    if (!w.err) list_add(&rec_of(s)->in, w.buf, w.len);
    sio_jw_free(&w);
}

static void on_any_outgoing(sio_socket *s, const sio_event *ev, void *ud)
{
    (void)ud;
    char stack[1024];
    sio_jw w;
    sio_jw_init(&w, stack, sizeof stack);
    sio_jw_obj(&w);
    sio_jw_key(&w, "name");
    sio_jw_str(&w, ev->name);
    if (ev->nbins) { /* placeholders without their attachments would confuse the reader */
        sio_jw_key(&w, "nbins");
        sio_jw_int(&w, ev->nbins);
    } else {
        sio_jw_key(&w, "args");
        sio_jw_arr(&w);
        if (ev->args.len) sio_jw_raw(&w, ev->args.p, ev->args.len);
        sio_jw_end(&w);
    }
    sio_jw_end(&w);
    if (!w.err) list_add(&rec_of(s)->out, w.buf, w.len);
    sio_jw_free(&w);
}

/* ====== Connection, disconnection ====== */

static void log_gone(sio_socket *s, const char *type, const char *reason)
{
    char stack[2048];
    sio_jw w;
    sio_jw_init(&w, stack, sizeof stack);
    sio_jw_obj(&w);
    sio_jw_key(&w, "type");
    sio_jw_str(&w, type);
    sio_jw_key(&w, "nsp");
    sio_jw_str(&w, sio_nsp_name(sio_socket_nsp(s)));
    sio_jw_key(&w, "id");
    sio_jw_str(&w, sio_socket_id(s));
    sio_jw_key(&w, "reason");
    sio_jw_str(&w, reason);
    sio_jw_key(&w, "rooms");
    if (!strcmp(type, "disconnecting")) write_rooms(&w, s);
    else {
        const char *none[1];
        sio_jw_int(&w, sio_socket_rooms(s, none, 0));
    }
    sio_jw_key(&w, "connected");
    sio_jw_int(&w, sio_socket_connected(s));
    sio_jw_key(&w, "count");
    sio_jw_int(&w, (long long)sio_room_count(sio_socket_nsp(s), sio_socket_id(s)));
    sio_jw_end(&w);
    log_jw(&w);
}

static void on_disconnecting(sio_socket *s, const char *reason, void *ud)
{
    (void)ud;
    log_gone(s, "disconnecting", reason);
}

static void on_disconnect(sio_socket *s, const char *reason, void *ud)
{
    (void)ud;
    log_gone(s, "disconnect", reason);
    struct rec *r = rec_of(s);
    if (r) {
        free(r->in.p);
        free(r->out.p);
        free(r);
    }
    sio_socket_set_data(s, NULL);
}

static const struct {
    const char *name;
    sio_event_cb cb;
    void *ud;
} events[] = {
    {"echo", on_echo, NULL},
    {"echo-ack", on_echo_ack, NULL},
    {"binary", on_binary, NULL},
    {"join", on_join, NULL},
    {"leave", on_leave, NULL},
    {"rooms", on_rooms, NULL},
    {"in", on_in, NULL},
    {"room-count", on_room_count, NULL},
    {"emit", on_emit, NULL},
    {"emit-with-ack", on_emit_with_ack, NULL},
    {"server-ack", on_server_ack_request, NULL},
    {"each", on_each, NULL},
    {"sockets-join", on_sockets_join, NULL},
    {"sockets-leave", on_sockets_join, (void *)1},
    {"sockets-disconnect", on_sockets_disconnect, NULL},
    {"disconnect-me", on_disconnect_me, NULL},
    {"handshake", on_handshake, NULL},
    {"any-log", on_any_log, NULL},
};

static void on_connection(sio_socket *s, void *ud)
{
    (void)ud;
    for (size_t i = 0; i < sizeof events / sizeof events[0]; i++)
        sio_socket_on(s, events[i].name, events[i].cb, events[i].ud);
    sio_socket_on_any(s, on_any, NULL);
    sio_socket_on_any_outgoing(s, on_any_outgoing, NULL);
    sio_socket_on_disconnecting(s, on_disconnecting, NULL);
    sio_socket_on_disconnect(s, on_disconnect, NULL);

    char stack[256];
    sio_jw w;
    sio_jw_init(&w, stack, sizeof stack);
    sio_jw_obj(&w);
    sio_jw_key(&w, "type");
    sio_jw_str(&w, "connect");
    sio_jw_key(&w, "nsp");
    sio_jw_str(&w, sio_nsp_name(sio_socket_nsp(s)));
    sio_jw_key(&w, "id");
    sio_jw_str(&w, sio_socket_id(s));
    sio_jw_end(&w);
    log_jw(&w);
}

/* ====== Middleware ====== */

/* Appends a middleware's name to the record, creating it on first use (socket.data). */
static int note_mw(sio_socket *s, const char *name)
{
    struct rec *r = rec_of(s);
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r) return -1;
        sio_socket_set_data(s, r);
    }
    size_t len = strlen(r->mw);
    snprintf(r->mw + len, sizeof r->mw - len, "%s\"%s\"", len ? "," : "", name);
    return 0;
}

/* Frees the record of a socket that a middleware refuses: no disconnect handler will run. */
static const char *refuse(sio_socket *s, const char *message)
{
    struct rec *r = rec_of(s);
    if (r) {
        free(r);
        sio_socket_set_data(s, NULL);
    }
    return message;
}

static const char *mw_root(sio_socket *s, void *ud)
{
    (void)ud;
    if (sio_json_truthy(sio_json_get(sio_handshake_auth(s), "fail"))) return refuse(s, "failed without data");
    return note_mw(s, "root") < 0 ? "out of memory" : NULL;
}

/* io.of("/admin").use((socket, next) => {
 *   if (socket.handshake.auth.token !== "ok") {
 *     const err = new Error("not authorized"); err.data = { content: "Please retry later" };
 *     return next(err);
 *   }
 *   next();
 * }); */
static const char *mw_admin(sio_socket *s, void *ud)
{
    (void)ud;
    if (!sio_json_str_eq(sio_json_get(sio_handshake_auth(s), "token"), "ok")) {
        sio_reject_data(s, "{\"content\":\"Please retry later\"}");
        return refuse(s, "not authorized");
    }
    return note_mw(s, "admin") < 0 ? "out of memory" : NULL;
}

static const char *mw_dynamic(sio_socket *s, void *ud)
{
    (void)ud;
    if (sio_json_truthy(sio_json_get(sio_handshake_auth(s), "reject"))) return refuse(s, "rejected by parent");
    return note_mw(s, "dynamic-parent") < 0 ? "out of memory" : NULL;
}

/* ====== Middleware that answers later (/async) ======
 * io.of("/async").use((socket, next) => setTimeout(() => next(verdict), socket.handshake.auth.delay))
 * The pending decisions wait in a small table that a 10 ms interval walks. */
#define ASYNC_MAX 256       /* decisions pending at once; more are refused at once */
#define ASYNC_MAX_DELAY 5000 /* longest auth.delay honoured, ms */

static struct async_wait {
    char id[32];     /* the pending socket's id ("" = free slot) */
    long long due;   /* when to answer, in ticks of ASYNC_TICK_MS */
    int refuse;      /* 1: refuse it, 0: let it go on */
} async_waits[ASYNC_MAX];
static long long async_ticks; /* ticks so far */
#define ASYNC_TICK_MS 10

static const char *mw_async(sio_socket *s, void *ud)
{
    (void)ud;
    sio_str auth = sio_handshake_auth(s);
    long long delay = 0;
    sio_str d = sio_json_get(auth, "delay");
    if (sio_json_typeof(d) == SIO_JSON_NUMBER) delay = atoll(d.p);
    if (delay < 0) delay = 0;
    if (delay > ASYNC_MAX_DELAY) delay = ASYNC_MAX_DELAY;
    for (int i = 0; i < ASYNC_MAX; i++) {
        struct async_wait *w = &async_waits[i];
        if (w->id[0]) continue;
        snprintf(w->id, sizeof w->id, "%s", sio_socket_id(s));
        w->due = async_ticks + 1 + delay / ASYNC_TICK_MS;
        w->refuse = sio_json_str_eq(sio_json_get(auth, "verdict"), "refuse");
        sio_join(s, "waiting"); /* no broadcast may reach it before it is connected */
        return SIO_PENDING;
    }
    return "too many pending";
}

static const char *mw_async_second(sio_socket *s, void *ud)
{
    (void)ud;
    sio_str second = sio_json_get(sio_handshake_auth(s), "second");
    if (sio_json_str_eq(second, "refuse")) return refuse(s, "refused by second");
    if (sio_json_str_eq(second, "drop")) {
        sio_disconnect(s, 1);
        return refuse(s, "dropped by second");
    }
    return note_mw(s, "async-second") < 0 ? "out of memory" : NULL;
}

/* Every tick: answers the decisions that are due. */
static void async_tick(void *ud)
{
    (void)ud;
    async_ticks++;
    for (int i = 0; i < ASYNC_MAX; i++) {
        struct async_wait *w = &async_waits[i];
        if (!w->id[0] || w->due > async_ticks) continue;
        sio_socket *s = sio_find_pending(server, w->id);
        if (!s) {
            fprintf(stderr, "semantics: {\"type\":\"pending-gone\",\"id\":\"%.*s\"}\n", (int)sizeof w->id, w->id);
        } else if (w->refuse) {
            sio_reject_data(s, "{\"content\":\"later\"}");
            sio_middleware_next(s, "refused later");
        } else if (note_mw(s, "async") < 0) {
            sio_middleware_next(s, "out of memory");
        } else {
            sio_middleware_next(s, NULL);
        }
        w->id[0] = '\0';
    }
}

/* io.of(/^\/dynamic-\d+$/) */
static int match_dynamic(const char *name, void *ud)
{
    (void)ud;
    if (strncmp(name, "/dynamic-", 9) != 0 || !name[9]) return 0;
    for (const char *p = name + 9; *p; p++)
        if (*p < '0' || *p > '9') return 0;
    return 1;
}

/* allowRequest: refuse handshakes whose query has deny=1 ("Forbidden") or deny=custom. */
static const char *allow_request(const struct sio_http_request *req, void *ud)
{
    (void)ud;
    const char *q = req->query.p;
    size_t n = req->query.len, i = 0;
    while (q && i < n) {
        size_t j = i;
        while (j < n && q[j] != '&') j++;
        if (j - i == 6 && !memcmp(q + i, "deny=1", 6)) return "Forbidden";
        if (j - i == 11 && !memcmp(q + i, "deny=custom", 11)) return "Go away";
        i = j + 1;
    }
    return NULL;
}

/* ====== Main ====== */

static void on_signal(int sig)
{
    (void)sig;
    sio_server_stop(server);
}

int main(int argc, char **argv)
{
    struct sio_options o;
    sio_options_init(&o);
    int port = 3000;
    const char *redis = NULL;
    for (int i = 1; i < argc; i++) {
        if (i + 1 < argc && !strcmp(argv[i], "--port")) port = atoi(argv[++i]);
        else if (i + 1 < argc && !strcmp(argv[i], "--redis")) redis = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "--ping-interval")) o.ping_interval = atoi(argv[++i]);
        else if (i + 1 < argc && !strcmp(argv[i], "--ping-timeout")) o.ping_timeout = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--port N] [--ping-interval MS] [--ping-timeout MS] [--redis URL]\n", argv[0]);
            return 2;
        }
    }
    o.allow_request = allow_request;
    o.cookie_name = "io";
    server = sio_server_new(&o);
    if (!server) return 1;

    sio_nsp *root = sio_of(server, "/");
    sio_use(root, mw_root, NULL);
    sio_on_connection(root, on_connection, NULL);

    sio_nsp *admin = sio_of(server, "/admin");
    sio_use(admin, mw_admin, NULL);
    sio_on_connection(admin, on_connection, NULL);

    sio_nsp *async = sio_of(server, "/async");
    if (!async || sio_server_every(server, ASYNC_TICK_MS, async_tick, NULL) < 0) return 1;
    sio_use(async, mw_async, NULL);
    sio_use(async, mw_async_second, NULL);
    sio_on_connection(async, on_connection, NULL);

    sio_nsp *dyn = sio_of_match(server, match_dynamic, NULL);
    if (!root || !admin || !dyn) return 1;
    sio_use(dyn, mw_dynamic, NULL);
    sio_on_connection(dyn, on_connection, NULL);
    if (redis && sio_redis_adapter(server, redis) < 0) {
        fprintf(stderr, "semantics: bad --redis URL\n");
        sio_server_free(server);
        return 2;
    }

    char err[SIO_ERR_LEN];
    if (sio_server_listen(server, "127.0.0.1", port, err) < 0) {
        fprintf(stderr, "semantics: %s\n", err);
        sio_server_free(server);
        return 1;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    fprintf(stderr, "listening on http://127.0.0.1:%d\n", sio_server_port(server));
    int rc = sio_server_run(server);
    sio_server_free(server);
    return rc == 0 ? 0 : 1;
}
