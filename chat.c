/* SPDX-License-Identifier: MIT */
/* chat.c -- ./sio-server: the private-messaging chat of Socket.IO's tutorial, part 3, in C,
 * with its chat page, and a store that survives restarts.
 *
 * Part 3 (private-messaging.md, part III) = part 2 (examples/chat-part2.c: sessions, a room per
 * user, "user disconnected" after the last tab) plus a message store:
 *   - every relayed "private message" {content, from, to} is saved;
 *   - "users" gives each user the messages exchanged with the connecting user;
 *   - "user connected" carries "messages": [] (always empty).
 *
 * What the tutorial leaves out and this program adds:
 *   - the store is durable by default (store.h: an append-only file in --data-dir, fsynced as
 *     --appendfsync says); --store memory gives the tutorial's in-memory stores;
 *   - limits with clear errors: a username must be a string of at most CHAT_MAX_USERNAME bytes
 *     without control characters (CONNECT_ERROR says which rule failed; a missing or falsy one is
 *     still exactly "invalid username"); a message whose content is over CHAT_MAX_CONTENT bytes
 *     of JSON, or that has no content, or whose `to` is not a known user, is dropped (logged,
 *     never relayed or stored); each conversation keeps its last CHAT_MAX_HISTORY messages;
 *   - GET / serves the chat page from --web-dir (static.h), so a browser needs nothing else.
 *
 * Part 4 (private-messaging.md, part IV): with --redis URL the server is one node of a cluster.
 * The Redis adapter carries broadcasts and the "still online?" count between nodes, and the
 * sessions and messages live in Redis under the tutorial's keys (chat_redis.h), so sio nodes and
 * the tutorial's Node workers share users and history. The store calls then answer later: the
 * middleware returns SIO_PENDING while it looks a session up, and the connection handler sends
 * "users" when the messages and sessions have come back (its other handlers are registered at
 * once, so nothing the client sends meanwhile is lost).
 *
 * It uses only sio.h and json.h (plus this program's own store.h, static.h, app_common.h); the
 * tutorial's JavaScript stands above each handler.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app_common.h"
#include "chat_redis.h"
#include "json.h"
#include "sio.h"
#include "static.h"
#include "store.h"

/* ====== Limits (override with -D) ====== */
#ifndef CHAT_MAX_USERNAME
#define CHAT_MAX_USERNAME 64 /* bytes of UTF-8 in a username */
#endif
#ifndef CHAT_MAX_CONTENT
#define CHAT_MAX_CONTENT 65536 /* bytes of a message's content, as compact JSON */
#endif
#ifndef CHAT_MAX_HISTORY
#define CHAT_MAX_HISTORY 1000 /* messages kept per conversation (the oldest go first) */
#endif
#ifndef CHAT_MAX_USERS
#define CHAT_MAX_USERS 100000 /* sessions the store will hold; then new users are refused */
#endif

#define STR_(x) #x
#define XSTR(x) STR_(x) /* a macro's value as a string literal */

/* const sessionStore = new InMemorySessionStore();
 * const messageStore = new InMemoryMessageStore();
 * (one store.h store holds both) */
static store *chat_store;   /* the local store; NULL with --redis */
static sio_server *chat_server; /* the server (for the Redis store's calls) */
static int clustered;      /* --redis: this node is one of several, its stores are in Redis */

/* What the middleware keeps on each socket: socket.sessionID, socket.userID, socket.username. */
struct user {
    char session_id[STORE_ID_LEN + 1]; /* the session's key (a credential: never logged) */
    char user_id[STORE_ID_LEN + 1];    /* the user's id, and the name of the user's room */
    size_t len;                        /* bytes of username */
    char username[];                   /* the username as a JSON string ("alice", quotes included) */
};

static struct user *user_of(sio_socket *s) { return sio_socket_data(s); }

/* Attaches a new struct user to s. Returns 0, or -1 when out of memory. */
static int set_user(sio_socket *s, const char *sid, const char *uid, const char *name, size_t len)
{
    struct user *u = malloc(sizeof *u + len);
    if (!u) return -1;
    memcpy(u->session_id, sid, sizeof u->session_id);
    memcpy(u->user_id, uid, sizeof u->user_id);
    u->len = len;
    memcpy(u->username, name, len);
    sio_socket_set_data(s, u);
    return 0;
}

/* ====== Checks ====== */

/* Why the decoded username p[0..n) is refused, or NULL if it is fine: it must be valid UTF-8
 * (no lone surrogates) without C0/C1 control characters or DEL. */
static const char *username_problem(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned c = p[i];
        size_t k = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
        if (!k || i + k > n) return "invalid username: not valid UTF-8";
        unsigned long cp = k == 1 ? c : k == 2 ? c & 0x1f : k == 3 ? c & 0x0f : c & 0x07;
        for (size_t j = 1; j < k; j++) {
            if ((p[i + j] & 0xc0) != 0x80) return "invalid username: not valid UTF-8";
            cp = cp << 6 | (p[i + j] & 0x3f);
        }
        if ((k == 2 && cp < 0x80) || (k == 3 && cp < 0x800) || (k == 4 && (cp < 0x10000 || cp > 0x10ffff)))
            return "invalid username: not valid UTF-8";
        if (cp >= 0xd800 && cp <= 0xdfff) return "invalid username: not valid Unicode (lone surrogate)";
        if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) return "invalid username: control characters are not allowed";
        i += k;
    }
    return NULL;
}

/* Copies the JSON text v without the whitespace between tokens into out (v.len bytes at least);
 * returns the new length. v must be valid JSON (sio has checked every received packet), so the
 * only bytes to track are string quotes and backslash escapes. The store writes one record per
 * line, and the result is what JSON.stringify(JSON.parse(v)) would give for whitespace. */
static size_t json_compact(sio_str v, char *out)
{
    size_t n = 0;
    int in_string = 0, escaped = 0;
    for (size_t i = 0; i < v.len; i++) {
        char c = v.p[i];
        if (in_string) {
            if (escaped) escaped = 0;
            else if (c == '\\') escaped = 1;
            else if (c == '"') in_string = 0;
        } else if (c == '"') {
            in_string = 1;
        } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            continue;
        }
        out[n++] = c;
    }
    return n;
}

/* ====== Middleware ====== */

/* The username rule: a new session for auth.username, or why there is none. */
static const char *new_session(sio_socket *s)
{
    sio_str name = sio_json_get(sio_handshake_auth(s), "username");
    if (!sio_json_truthy(name)) return "invalid username";
    /* Stricter than the tutorial, which takes any truthy value: a bounded, printable string. */
    if (sio_json_typeof(name) != SIO_JSON_STRING) return "invalid username: must be a string";
    char plain[CHAT_MAX_USERNAME + 1];
    long n = sio_json_unescape(name, plain, sizeof plain);
    if (n < 0) return "invalid username: longer than " XSTR(CHAT_MAX_USERNAME) " bytes";
    const char *why = username_problem((const unsigned char *)plain, (size_t)n);
    if (why) return why;
    if (chat_store && store_session_count(chat_store) >= CHAT_MAX_USERS) return "server full: too many users";

    char new_sid[STORE_ID_LEN + 1], new_uid[STORE_ID_LEN + 1];
    if (app_random_hex(new_sid, STORE_ID_LEN / 2) < 0 || app_random_hex(new_uid, STORE_ID_LEN / 2) < 0)
        return "server error: no random numbers";
    char stack[2 * CHAT_MAX_USERNAME + 16]; /* the name re-encoded exactly as JSON.stringify would */
    sio_jw w;
    sio_jw_init(&w, stack, sizeof stack);
    sio_jw_strn(&w, plain, (size_t)n);
    int rc = w.err ? -1 : set_user(s, new_sid, new_uid, w.buf, w.len);
    sio_jw_free(&w);
    return rc < 0 ? "server out of memory" : NULL;
}

/* A session lookup in Redis in flight: the pending socket, found again by id. */
struct lookup {
    char socket_id[SIO_ID_LEN + 1]; /* the socket whose middleware is pending */
    char session_id[STORE_ID_LEN + 1]; /* the session looked up */
};

/* findSession's answer (part 4): the session, or the username rule when there is none. */
static void on_session_found(int err, const struct chat_session *found, void *ud)
{
    struct lookup *lk = ud;
    sio_socket *s = sio_find_pending(chat_server, lk->socket_id);
    if (!s) { /* the client left while Redis was answering */
        free(lk);
        return;
    }
    const char *why = NULL;
    if (err) {
        /* Not the username rule: that would turn a returning user into a new one. */
        why = "server error: the session store is unavailable";
    } else if (found) {
        sio_jw w;
        char stack[2 * CHAT_MAX_USERNAME + 16];
        sio_jw_init(&w, stack, sizeof stack);
        sio_jw_strn(&w, found->username, found->username_len); /* Redis keeps it as a plain string */
        if (w.err || set_user(s, lk->session_id, found->user_id, w.buf, w.len) < 0) why = "server out of memory";
        sio_jw_free(&w);
    } else {
        why = new_session(s);
    }
    free(lk);
    sio_middleware_next(s, why);
}

/* const randomId = () => crypto.randomBytes(8).toString("hex");
 *
 * io.use((socket, next) => {
 *   const sessionID = socket.handshake.auth.sessionID;
 *   if (sessionID) {
 *     const session = sessionStore.findSession(sessionID);
 *     if (session) {
 *       socket.sessionID = sessionID;
 *       socket.userID = session.userID;
 *       socket.username = session.username;
 *       return next();
 *     }
 *   }
 *   const username = socket.handshake.auth.username;
 *   if (!username) return next(new Error("invalid username"));
 *   socket.sessionID = randomId();
 *   socket.userID = randomId();
 *   socket.username = username;
 *   next();
 * });
 * (part 4: sessionStore.findSession() is asynchronous: in Redis the answer comes later) */
static const char *check_session(sio_socket *s, void *ud)
{
    (void)ud;
    sio_str sid = sio_json_get(sio_handshake_auth(s), "sessionID");
    if (sio_json_truthy(sid) && sio_json_typeof(sid) == SIO_JSON_STRING) { /* a non-string never matches */
        char id[STORE_ID_LEN + 1];
        long n = sio_json_unescape(sid, id, sizeof id);
        if (clustered) { /* part 4: ask Redis, answer later (an id of another shape cannot exist) */
            struct lookup *lk = n == STORE_ID_LEN && strspn(id, "0123456789abcdef") == STORE_ID_LEN ? malloc(sizeof *lk) : NULL;
            if (lk) {
                snprintf(lk->socket_id, sizeof lk->socket_id, "%s", sio_socket_id(s));
                memcpy(lk->session_id, id, sizeof lk->session_id);
                if (chat_redis_find_session(chat_server, id, on_session_found, lk) == 0) return SIO_PENDING;
                free(lk);
                return "server error: the session store is unavailable";
            }
        } else {
            const store_session *found = n > 0 ? store_find_session(chat_store, id, (size_t)n) : NULL;
            if (found) {
                if (set_user(s, found->session_id, found->user_id, found->username, found->username_len) < 0)
                    return "server out of memory";
                return NULL;
            }
        }
    }
    return new_session(s);
}

/* saveSession(), to whichever store is in use. Returns 0 or < 0. */
static int save_session(const struct user *u, int connected)
{
    if (!clustered) return store_save_session(chat_store, u->session_id, u->user_id, u->username, u->len, connected);
    char plain[CHAT_REDIS_MAX_USERNAME + 1]; /* Redis keeps the plain string, as ioredis would */
    long n = sio_json_unescape((sio_str){u->username, u->len}, plain, sizeof plain);
    if (n < 0) return -1;
    return chat_redis_save_session(chat_server, u->session_id, u->user_id, plain, (size_t)n, connected);
}

/* ====== Events ====== */

/* Writes one message as {"content":…,"from":…,"to":…}. */
static void write_message(sio_jw *w, const store_message *m)
{
    sio_jw_obj(w);
    sio_jw_key(w, "content");
    sio_jw_raw(w, m->content, m->len);
    sio_jw_key(w, "from");
    sio_jw_str(w, m->from);
    sio_jw_key(w, "to");
    sio_jw_str(w, m->to);
    sio_jw_end(w);
}

/* socket.on("private message", ({ content, to }) => {
 *   const message = {
 *     content,
 *     from: socket.userID,
 *     to,
 *   };
 *   socket.to(to).to(socket.userID).emit("private message", message);
 *   messageStore.saveMessage(message);
 * }); */
static void on_private_message(sio_socket *s, const sio_event *ev, void *ud)
{
    (void)ud;
    struct user *u = user_of(s);
    store_tick(chat_store);
    sio_str msg = sio_arg(ev, 0);
    if (sio_json_typeof(msg) != SIO_JSON_OBJECT) return; /* not an object: ignored */
    static const char *const keys[] = {"to", "content"}; /* const { content, to } = message, in one pass */
    sio_str v[2];
    if (sio_json_get_n(msg, keys, v, 2) < 0) return;
    sio_str to = v[0], content = v[1];
    char to_id[STORE_ID_LEN + 1];
    /* In a cluster (--redis) the recipient may have registered on another node, whose store this
     * one does not share: any well-formed userID is accepted there, as the tutorial does. */
    if (sio_json_unescape(to, to_id, sizeof to_id) != STORE_ID_LEN ||
        strspn(to_id, "0123456789abcdef") != STORE_ID_LEN || /* (a "\u0000" would cut the key short) */
        (!clustered && !store_find_user(chat_store, to_id))) {
        app_log("dropped a message from %s: \"to\" is not a known userID", u->user_id);
        return;
    }
    if (!content.p) {
        app_log("dropped a message from %s to %s: no content", u->user_id, to_id);
        return;
    }
    if (content.len > (size_t)CHAT_MAX_CONTENT * 16) { /* no need to look closer */
        app_warn("dropped a message from %s to %s: content over %d bytes", u->user_id, to_id, CHAT_MAX_CONTENT);
        return;
    }
    char *compact = malloc(content.len);
    if (!compact) return;
    size_t len = json_compact(content, compact);
    if (len > CHAT_MAX_CONTENT) {
        app_warn("dropped a message from %s to %s: content is %zu bytes, over %d", u->user_id, to_id, len,
                 CHAT_MAX_CONTENT);
        free(compact);
        return;
    }
    /* Saved first, relayed second (the JavaScript does the opposite): a message that could not be
     * stored is not relayed, so whatever a client received survives a restart. The order is
     * invisible on the wire, because sio sends nothing before the handler returns. In Redis the
     * save is fire-and-forget, as in the tutorial's part 4. */
    int rc = clustered ? 0 : store_save_message(chat_store, u->user_id, to_id, compact, len);
    if (rc < 0) {
        app_warn("dropped a message from %s to %s: the store failed (%d)", u->user_id, to_id, rc);
        free(compact);
        return;
    }
    char stack[1024];
    sio_jw w;
    sio_jw_init(&w, stack, sizeof stack);
    sio_jw_obj(&w);
    sio_jw_key(&w, "content");
    sio_jw_raw(&w, compact, len);
    sio_jw_key(&w, "from");
    sio_jw_str(&w, u->user_id);
    sio_jw_key(&w, "to");
    sio_jw_str(&w, to_id);
    sio_jw_end(&w);
    /* R = {to, own userID}, E = {this socket}: the recipient's tabs and the sender's other tabs. */
    if (!w.err) sio_op_emitv(sio_to(sio_socket_to(s, to_id), u->user_id), "private message", w.buf, w.len, NULL, 0);
    if (!w.err && clustered && (rc = chat_redis_save_message(chat_server, u->user_id, to_id, w.buf, w.len)) < 0)
        app_warn("message from %s to %s relayed but not stored: %s", u->user_id, to_id, sio_strerror(rc));
    sio_jw_free(&w);
    free(compact);
}

/* socket.on("disconnect", async () => {
 *   const matchingSockets = await io.in(socket.userID).allSockets();
 *   const isDisconnected = matchingSockets.size === 0;
 *   if (isDisconnected) {
 *     socket.broadcast.emit("user disconnected", socket.userID);
 *     sessionStore.saveSession(socket.sessionID, {
 *       userID: socket.userID,
 *       username: socket.username,
 *       connected: false,
 *     });
 *   }
 * }); */
/* What the disconnect check needs once the socket is gone (the await above). */
struct departure {
    sio_nsp *nsp;                /* the namespace */
    char socket_id[SIO_ID_LEN + 1]; /* the departed socket (socket.broadcast excludes it) */
    struct user *u;              /* its user, owned from now on */
};

/* The answer to "is this user still online anywhere?": across every node with --redis (a
 * SOCKETS request, as the tutorial's socket.io-redis did), here only without it. */
static void on_user_count(size_t count, void *ud)
{
    struct departure *d = ud;
    struct user *u = d->u;
    if (count == 0) {
        char arg[STORE_ID_LEN + 3];
        snprintf(arg, sizeof arg, "\"%s\"", u->user_id);
        sio_op_emit(sio_except(sio_all(d->nsp), d->socket_id), "user disconnected", arg);
        if (save_session(u, 0) < 0)
            app_warn("store: could not save that %s went offline", u->user_id);
    }
    free(u);
    free(d);
}

static void on_disconnect(sio_socket *s, const char *reason, void *ud)
{
    (void)ud;
    struct user *u = user_of(s);
    app_log("disconnect %s (%s)", sio_socket_id(s), reason);
    if (!u) return;
    sio_socket_set_data(s, NULL);
    struct departure *d = malloc(sizeof *d);
    if (!d || sio_op_count_cluster(sio_to(sio_all(sio_socket_nsp(s)), u->user_id), on_user_count, d) < 0) {
        free(d);
        free(u);
        return;
    }
    d->nsp = sio_socket_nsp(s);
    snprintf(d->socket_id, sizeof d->socket_id, "%s", sio_socket_id(s));
    d->u = u;
    store_tick(chat_store);
}

/* Writes one user of the "users" list: {userID, username, connected, messages: [ ... ]};
 * username is JSON text. The messages are written by the caller between this and user_end(). */
static void user_begin(sio_jw *w, const char *user_id, const char *username, size_t len, int connected)
{
    sio_jw_obj(w);
    sio_jw_key(w, "userID");
    sio_jw_str(w, user_id);
    sio_jw_key(w, "username");
    sio_jw_raw(w, username, len);
    sio_jw_key(w, "connected");
    sio_jw_bool(w, connected);
    sio_jw_key(w, "messages");
    sio_jw_arr(w);
}

static void user_end(sio_jw *w)
{
    sio_jw_end(w);
    sio_jw_end(w);
}

/* socket.emit("users", users) from the local store. The store keeps messages grouped by
 * conversation already, so messagesPerUser.get(X) is store_conversation(me, X): the messages
 * between me and X, oldest first. */
static void send_users_local(sio_socket *s, const struct user *u)
{
    char stack[4096];
    sio_jw w;
    sio_jw_init(&w, stack, sizeof stack);
    sio_jw_arr(&w);
    for (size_t i = 0; i < store_session_count(chat_store); i++) {
        const store_session *o = store_session_at(chat_store, i);
        user_begin(&w, o->user_id, o->username, o->username_len, o->connected);
        store_message *const *msgs;
        size_t n = store_conversation(chat_store, u->user_id, o->user_id, &msgs);
        for (size_t k = 0; k < n; k++) write_message(&w, msgs[k]);
        user_end(&w);
    }
    sio_jw_end(&w);
    if (!w.err) sio_emitv(s, "users", w.buf, w.len, NULL, 0);
    sio_jw_free(&w);
}

/* socket.broadcast.emit("user connected", {userID, username, connected: true, messages: []}) */
static void announce(sio_socket *s, const struct user *u)
{
    char stack[512];
    sio_jw w;
    sio_jw_init(&w, stack, sizeof stack);
    user_begin(&w, u->user_id, u->username, u->len, 1);
    user_end(&w);
    if (!w.err) sio_op_emitv(sio_broadcast(s), "user connected", w.buf, w.len, NULL, 0);
    sio_jw_free(&w);
}

/* The socket waiting for its "users" from Redis (part 4), found again by id. */
struct welcome {
    sio_nsp *nsp;                   /* its namespace */
    char socket_id[SIO_ID_LEN + 1]; /* its id */
};

/* The messages and the sessions are in (part 4): "users", then "user connected". A socket that
 * left meanwhile gets nothing, and nobody hears that it connected (its disconnect was told
 * already). If Redis could not answer, the list holds the user alone. */
static void on_loaded(int err, const struct chat_load *ld, void *ud)
{
    struct welcome *wl = ud;
    sio_socket *s = sio_find_socket(wl->nsp, wl->socket_id, strlen(wl->socket_id));
    free(wl);
    if (!s) return;
    struct user *u = user_of(s);
    char stack[4096];
    sio_jw w;
    sio_jw_init(&w, stack, sizeof stack);
    sio_jw_arr(&w);
    int self = 0;
    for (size_t i = 0; ld && i < ld->nsessions; i++) {
        const struct chat_session *o = &ld->sessions[i];
        char name[2 * CHAT_REDIS_MAX_USERNAME + 16]; /* as JSON; a stored name can be longer than ours */
        sio_jw nw;
        sio_jw_init(&nw, name, sizeof name);
        sio_jw_strn(&nw, o->username, o->username_len);
        if (!nw.err) {
            user_begin(&w, o->user_id, nw.buf, nw.len, o->connected);
            for (size_t k = o->first_msg; k != CHAT_REDIS_NONE; k = ld->msgs[k].next)
                sio_jw_raw(&w, ld->msgs[k].json, ld->msgs[k].len);
            user_end(&w);
            self |= !strcmp(o->user_id, u->user_id);
        }
        sio_jw_free(&nw);
    }
    if (!self) { /* Redis failed, or the session expired in between: the user at least */
        user_begin(&w, u->user_id, u->username, u->len, 1);
        user_end(&w);
    }
    sio_jw_end(&w);
    if (err) app_warn("users for %s: the store could not answer (%s)", u->user_id, sio_strerror(err));
    if (!w.err) sio_emitv(s, "users", w.buf, w.len, NULL, 0);
    sio_jw_free(&w);
    announce(s, u);
}

/* io.on("connection", (socket) => {
 *   sessionStore.saveSession(socket.sessionID, {
 *     userID: socket.userID,
 *     username: socket.username,
 *     connected: true,
 *   });
 *   socket.emit("session", { sessionID: socket.sessionID, userID: socket.userID });
 *   socket.join(socket.userID);
 *
 *   const users = [];
 *   const messagesPerUser = new Map();
 *   messageStore.findMessagesForUser(socket.userID).forEach((message) => {
 *     const { from, to } = message;
 *     const otherUser = socket.userID === from ? to : from;
 *     if (messagesPerUser.has(otherUser)) messagesPerUser.get(otherUser).push(message);
 *     else messagesPerUser.set(otherUser, [message]);
 *   });
 *   sessionStore.findAllSessions().forEach((session) => {
 *     users.push({
 *       userID: session.userID,
 *       username: session.username,
 *       connected: session.connected,
 *       messages: messagesPerUser.get(session.userID) || [],
 *     });
 *   });
 *   socket.emit("users", users);
 *
 *   socket.broadcast.emit("user connected", {
 *     userID: socket.userID,
 *     username: socket.username,
 *     connected: true,
 *     messages: [],
 *   });
 *   ...
 * }); */
static void on_connection(sio_socket *s, void *ud)
{
    (void)ud;
    struct user *u = user_of(s);
    sio_socket_on_disconnect(s, on_disconnect, NULL);
    store_tick(chat_store);
    int saved = save_session(u, 1);
    if (saved < 0 && clustered) {
        /* Redis is away: the tutorial's saves are fire-and-forget; the node keeps serving. */
        app_warn("store: could not save the session of %s in Redis", u->user_id);
    } else if (saved < 0) {
        /* A user whose session cannot be stored would lose it at the next restart: refuse now;
         * the client reconnects and tries again. */
        app_warn("store: could not save the session of %s: disconnecting %s", u->user_id, sio_socket_id(s));
        free(u);
        sio_socket_set_data(s, NULL);
        sio_disconnect(s, 0);
        return;
    }

    char stack[256];
    sio_jw w;
    sio_jw_init(&w, stack, sizeof stack);
    sio_jw_obj(&w);
    sio_jw_key(&w, "sessionID");
    sio_jw_str(&w, u->session_id);
    sio_jw_key(&w, "userID");
    sio_jw_str(&w, u->user_id);
    sio_jw_end(&w);
    if (!w.err) sio_emitv(s, "session", w.buf, w.len, NULL, 0);
    sio_jw_free(&w);

    sio_join(s, u->user_id);
    sio_socket_on(s, "private message", on_private_message, NULL);
    app_log("connect %s userID=%s username=%.*s", sio_socket_id(s), u->user_id, (int)u->len, u->username);

    if (!clustered) {
        send_users_local(s, u);
        announce(s, u);
        return;
    }
    struct welcome *wl = malloc(sizeof *wl);
    if (!wl) return;
    wl->nsp = sio_socket_nsp(s);
    snprintf(wl->socket_id, sizeof wl->socket_id, "%s", sio_socket_id(s));
    int rc = chat_redis_load(chat_server, u->user_id, on_loaded, wl);
    if (rc < 0) on_loaded(rc, NULL, wl); /* Redis is down: the user alone, at once */
}

/* ====== Main ====== */

/* Replay warnings and write errors of the store go to stderr with the program's name. */
static void store_warning(const char *msg) { app_warn("store: %s", msg); }

/* Serves GET / and the page's files. */
static void on_request(const sio_http_request *req, sio_http_response *res, void *ud)
{
    static_serve(req, res, ud);
}

/* Once a second: lets the store fsync what it wrote (appendfsync everysec), even when idle. */
static void every_second(void *ud) { store_tick(ud); }



/* const httpServer = require("http").createServer();
 * const io = require("socket.io")(httpServer, { cors: { origin: "http://localhost:8080" } });
 * const PORT = process.env.PORT || 3000;
 * httpServer.listen(PORT, () => console.log(`server listening at http://localhost:${PORT}`));
 * (plus: open the store, serve web/) */
int main(int argc, char **argv)
{
    struct app_config cfg;
    app_config_init(&cfg, "sio-server", APP_FLAGS_STORE | APP_FLAGS_WEB);
    app_parse_args(&cfg, argc, argv);

    char err[STORE_ERR_LEN > STATIC_ERR_LEN ? STORE_ERR_LEN : STATIC_ERR_LEN];
    static const int policies[] = {[APP_FSYNC_ALWAYS] = STORE_FSYNC_ALWAYS, [APP_FSYNC_EVERYSEC] = STORE_FSYNC_EVERYSEC,
                                   [APP_FSYNC_NO] = STORE_FSYNC_NO};
    struct store_options so = {cfg.store_memory ? NULL : cfg.data_dir, policies[cfg.appendfsync], CHAT_MAX_HISTORY,
                               store_warning};
    clustered = cfg.redis_url != NULL;
    chat_store = clustered ? NULL : store_open(&so, err);
    if (!chat_store && !clustered) {
        app_warn("%s", err);
        return 1;
    }
    struct store_stats stats;
    store_stats(chat_store, &stats);
    if (clustered)
        fprintf(stderr, "store: Redis (session:<sessionID>, messages:<userID>; --store and --data-dir are not used)\n");
    else if (store_is_durable(chat_store))
        fprintf(stderr, "store: %s/%s: %zu sessions, %zu messages (%llu bytes)\n", cfg.data_dir, STORE_FILE,
                stats.sessions, stats.messages, (unsigned long long)stats.file_bytes);
    else
        fprintf(stderr, "store: memory (nothing is kept after exit)\n");

    struct static_dir *web = static_open(cfg.web_dir, err);
    if (!web && cfg.web_dir_given) {
        app_warn("--web-dir %s", err);
        store_close(chat_store);
        return 1;
    }
    if (!web) app_warn("no chat page: %s (GET / answers 404; see --web-dir)", err);

    sio_server *server = sio_server_new(&cfg.sio);
    if (!server) {
        app_warn("out of memory");
        static_close(web);
        store_close(chat_store);
        return 1;
    }
    chat_server = server;
    if (chat_store) sio_server_every(server, 1000, every_second, chat_store);
    sio_nsp *io = sio_of(server, "/");
    sio_use(io, check_session, NULL);
    sio_on_connection(io, on_connection, NULL);
    if (web) {
        sio_on_request(server, on_request, web);
        fprintf(stderr, "chat page: %s\n", static_root(web));
    }
    int rc = app_run(server, &cfg);
    sio_server_free(server);
    static_close(web);
    store_close(chat_store);
    return rc;
}
