/* SPDX-License-Identifier: MIT */
/* chat-part2.c -- the private-messaging chat of Socket.IO's tutorial, part 2, in C:
 * persistent user ids (private-messaging.md, part II).
 *
 * What part 2 adds to part 1 (examples/chat-part1.c):
 *   - a session store (the tutorial's InMemorySessionStore; here store.h's memory back end):
 *     a new user gets a random sessionID (a credential, kept by the browser) and a public userID;
 *     reconnecting with auth.sessionID gives back the same user;
 *   - every socket joins the room named by its userID, so all tabs of a user share what is sent
 *     to that user, and "private message" goes to {to, own userID} minus the sending socket;
 *   - "users" lists every known user, online or not, and "user disconnected" is sent only when
 *     the user's last tab is gone.
 * Nothing is written to disk and messages are not kept: that is part 3 (chat.c, ./sio-server).
 *
 * It uses only sio.h, json.h, store.h and app_common.h; the tutorial's JavaScript stands above
 * each handler.
 *
 * Usage: examples/chat-part2 [--port N] [--help for the flags]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../app_common.h"
#include "../json.h"
#include "../sio.h"
#include "../store.h"

/* const { InMemorySessionStore } = require("./sessionStore");
 * const sessionStore = new InMemorySessionStore(); */
static store *session_store;

/* What the middleware keeps on each socket: socket.sessionID, socket.userID, socket.username. */
struct user {
    char session_id[STORE_ID_LEN + 1]; /* the session's key */
    char user_id[STORE_ID_LEN + 1];    /* the user's id, and the name of the user's room */
    size_t len;                        /* bytes of username */
    char username[];                   /* the username: raw JSON text, relayed untouched */
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
 * }); */
static const char *check_session(sio_socket *s, void *ud)
{
    (void)ud;
    sio_str auth = sio_handshake_auth(s);
    sio_str sid = sio_json_get(auth, "sessionID");
    if (sio_json_truthy(sid) && sio_json_typeof(sid) == SIO_JSON_STRING) { /* a non-string never matches */
        char id[STORE_ID_LEN + 1];
        long n = sio_json_unescape(sid, id, sizeof id);
        const store_session *found = n > 0 ? store_find_session(session_store, id, (size_t)n) : NULL;
        if (found) {
            if (set_user(s, found->session_id, found->user_id, found->username, found->username_len) < 0)
                return "server out of memory";
            return NULL;
        }
    }
    sio_str name = sio_json_get(auth, "username");
    if (!sio_json_truthy(name)) return "invalid username";
    char new_sid[STORE_ID_LEN + 1], new_uid[STORE_ID_LEN + 1];
    if (app_random_hex(new_sid, STORE_ID_LEN / 2) < 0 || app_random_hex(new_uid, STORE_ID_LEN / 2) < 0)
        return "server error: no random numbers";
    if (set_user(s, new_sid, new_uid, name.p, name.len) < 0) return "server out of memory";
    return NULL;
}

/* Writes {"userID":…,"username":…,"connected":…} (the users / user connected entry). */
static void write_user(sio_jw *w, const char *user_id, const char *username, size_t len, int connected)
{
    sio_jw_obj(w);
    sio_jw_key(w, "userID");
    sio_jw_str(w, user_id);
    sio_jw_key(w, "username");
    sio_jw_raw(w, username, len);
    sio_jw_key(w, "connected");
    sio_jw_bool(w, connected);
    sio_jw_end(w);
}

/* socket.on("private message", ({ content, to }) => {
 *   socket.to(to).to(socket.userID).emit("private message", {
 *     content,
 *     from: socket.userID,
 *     to,
 *   });
 * }); */
static void on_private_message(sio_socket *s, const sio_event *ev, void *ud)
{
    (void)ud;
    struct user *u = user_of(s);
    sio_str msg = sio_arg(ev, 0);
    if (sio_json_typeof(msg) != SIO_JSON_OBJECT) return; /* not an object: ignored */
    sio_str to = sio_json_get(msg, "to");
    sio_str content = sio_json_get(msg, "content");
    char room[SIO_MAX_ROOM_NAME + 1];
    long n = sio_json_unescape(to, room, sizeof room); /* -1 unless `to` is a string that fits */
    if (n <= 0 || strlen(room) != (size_t)n) return;  /* no usable room name (or one with a NUL) */

    char stack[512];
    sio_jw w;
    sio_jw_init(&w, stack, sizeof stack);
    sio_jw_obj(&w);
    if (content.p) { /* a missing content is omitted, as JSON.stringify drops undefined */
        sio_jw_key(&w, "content");
        sio_jw_raw(&w, content.p, content.len);
    }
    sio_jw_key(&w, "from");
    sio_jw_str(&w, u->user_id);
    sio_jw_key(&w, "to");
    sio_jw_strn(&w, room, (size_t)n);
    sio_jw_end(&w);
    /* R = {to, own userID}, E = {this socket}: the recipient's tabs and the sender's other tabs. */
    if (!w.err) sio_op_emitv(sio_to(sio_socket_to(s, room), u->user_id), "private message", w.buf, w.len, NULL, 0);
    sio_jw_free(&w);
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
static void on_disconnect(sio_socket *s, const char *reason, void *ud)
{
    (void)ud;
    struct user *u = user_of(s);
    app_log("disconnect %s (%s)", sio_socket_id(s), reason);
    if (!u) return;
    if (sio_room_count(sio_socket_nsp(s), u->user_id) == 0) { /* s has already left its rooms */
        char arg[STORE_ID_LEN + 3];
        snprintf(arg, sizeof arg, "\"%s\"", u->user_id);
        sio_op_emit(sio_broadcast(s), "user disconnected", arg);
        store_save_session(session_store, u->session_id, u->user_id, u->username, u->len, 0);
    }
    free(u);
    sio_socket_set_data(s, NULL);
}

/* io.on("connection", (socket) => {
 *   sessionStore.saveSession(socket.sessionID, {
 *     userID: socket.userID,
 *     username: socket.username,
 *     connected: true,
 *   });
 *   socket.emit("session", { sessionID: socket.sessionID, userID: socket.userID });
 *   socket.join(socket.userID);
 *   const users = [];
 *   sessionStore.findAllSessions().forEach((session) => {
 *     users.push({ userID: session.userID, username: session.username, connected: session.connected });
 *   });
 *   socket.emit("users", users);
 *   socket.broadcast.emit("user connected", {
 *     userID: socket.userID,
 *     username: socket.username,
 *     connected: true,
 *   });
 *   ...
 * }); */
static void on_connection(sio_socket *s, void *ud)
{
    (void)ud;
    struct user *u = user_of(s);
    sio_socket_on_disconnect(s, on_disconnect, NULL);
    if (store_save_session(session_store, u->session_id, u->user_id, u->username, u->len, 1) < 0) {
        app_warn("out of memory: disconnecting %s", sio_socket_id(s));
        free(u);
        sio_socket_set_data(s, NULL);
        sio_disconnect(s, 0);
        return;
    }

    char stack[4096];
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

    sio_jw_init(&w, stack, sizeof stack);
    sio_jw_arr(&w);
    for (size_t i = 0; i < store_session_count(session_store); i++) {
        const store_session *o = store_session_at(session_store, i);
        write_user(&w, o->user_id, o->username, o->username_len, o->connected);
    }
    sio_jw_end(&w);
    if (!w.err) sio_emitv(s, "users", w.buf, w.len, NULL, 0);
    sio_jw_free(&w);

    sio_jw_init(&w, stack, sizeof stack);
    write_user(&w, u->user_id, u->username, u->len, 1);
    if (!w.err) sio_op_emitv(sio_broadcast(s), "user connected", w.buf, w.len, NULL, 0);
    sio_jw_free(&w);

    sio_socket_on(s, "private message", on_private_message, NULL);
    app_log("connect %s userID=%s username=%.*s", sio_socket_id(s), u->user_id, (int)u->len, u->username);
}

/* ====== Main ====== */

/* const httpServer = require("http").createServer();
 * const io = require("socket.io")(httpServer, { cors: { origin: "http://localhost:8080" } });
 * const PORT = process.env.PORT || 3000;
 * httpServer.listen(PORT, () => console.log(`server listening at http://localhost:${PORT}`)); */
int main(int argc, char **argv)
{
    struct app_config cfg;
    app_config_init(&cfg, "chat-part2", 0);
    app_parse_args(&cfg, argc, argv);
    char err[STORE_ERR_LEN];
    struct store_options so = {NULL, STORE_FSYNC_NO, 0, NULL}; /* memory; no history (part 2 keeps none) */
    session_store = store_open(&so, err);
    sio_server *server = session_store ? sio_server_new(&cfg.sio) : NULL;
    if (!server) {
        app_warn("out of memory");
        store_close(session_store);
        return 1;
    }
    sio_nsp *io = sio_of(server, "/");
    sio_use(io, check_session, NULL);
    sio_on_connection(io, on_connection, NULL);
    int rc = app_run(server, &cfg);
    sio_server_free(server);
    store_close(session_store);
    return rc;
}
