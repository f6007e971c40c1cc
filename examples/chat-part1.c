/* SPDX-License-Identifier: MIT */
/* chat-part1.c -- the private-messaging chat of Socket.IO's tutorial, part 1, in C.
 *
 * It uses only sio.h and json.h (plus app_common.h for the command line, shared with the other
 * chat programs). Each handler below carries the tutorial's JavaScript above it, so the two can
 * be read side by side (private-messaging.md, part I):
 *   - middleware: auth.username must be truthy, else CONNECT_ERROR "invalid username";
 *   - on connection: "users" to the new socket, "user connected" to everyone else;
 *   - "private message" {content, to} -> {content, from} to the socket(s) `to`;
 *   - on disconnect: "user disconnected" with the socket id to everyone.
 * The user id is the socket id, so a reconnection is a new user. Part 2
 * (examples/chat-part2.c) fixes that with sessions; part 3 (chat.c, ./sio-server) keeps messages.
 *
 * Usage: examples/chat-part1 [--port N] [--help for the flags]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../app_common.h"
#include "../json.h"
#include "../sio.h"

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
    app_log("disconnect %s (%s)", sio_socket_id(s), reason);
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
    app_log("connect %s username=%.*s", sio_socket_id(s), (int)user_of(s)->len, user_of(s)->username);
}

/* ====== Main ====== */

/* const io = require("socket.io")(httpServer, { cors: { origin: "http://localhost:8080" } });
 * httpServer.listen(PORT, () => console.log(`server listening at http://localhost:${PORT}`)); */
int main(int argc, char **argv)
{
    struct app_config cfg;
    app_config_init(&cfg, "chat-part1", 0);
    app_parse_args(&cfg, argc, argv);
    sio_server *server = sio_server_new(&cfg.sio);
    if (!server) {
        app_warn("out of memory");
        return 1;
    }
    sio_nsp *io = sio_of(server, "/");
    sio_use(io, check_username, NULL);
    sio_on_connection(io, on_connection, NULL);
    int rc = app_run(server, &cfg);
    sio_server_free(server);
    return rc;
}
