/* SPDX-License-Identifier: MIT */
/* rooms.c -- rooms and broadcasting, in a few handlers.
 *
 *   io.on("connection", (socket) => {
 *     socket.on("join",  ({ room }, cb) => { socket.join(room);  cb?.([...socket.rooms]); });
 *     socket.on("leave", ({ room }, cb) => { socket.leave(room); cb?.([...socket.rooms]); });
 *     socket.on("say", ({ room, text }) =>                      // everyone in the room but me
 *       socket.to(room).emit("said", { room, text, from: socket.id }));
 *     socket.on("rooms", (cb) => cb([...socket.rooms]));        // my id first, then the rest
 *     socket.on("announce", ({ text }) =>                       // the whole namespace, me too
 *       io.emit("announce", { text, from: socket.id }));
 *   });
 *
 * A room is just a name: joining creates it, the last member leaving removes it, and a socket
 * leaves all its rooms when it disconnects. Every socket is also alone in a room named after its
 * id, which is how you message one socket: sio_op_emit(sio_socket_to(s, other_id), ...).
 *
 * Usage: examples/rooms [--port N]   (default 3000; 0 = any free port)
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../sio.h"

static sio_server *server; /* for the signal handler */

/* Copies the string field `key` of the event's first argument into dst (SIO_MAX_ROOM_NAME + 1
 * bytes). Returns 0, or -1 when it is missing, not a string, empty or too long. */
static int room_arg(const sio_event *ev, const char *key, char *dst)
{
    sio_str v = sio_json_get(sio_arg(ev, 0), key);
    return sio_json_unescape(v, dst, SIO_MAX_ROOM_NAME + 1) > 0 ? 0 : -1;
}

/* Acks with the socket's rooms as a JSON array: ["<own id>","lobby",...]. */
static void ack_rooms(sio_socket *s, const sio_event *ev)
{
    const char *names[64];
    int n = sio_socket_rooms(s, names, 64);
    if (n > 64) n = 64; /* a demo: show the first 64 */
    char stack[1024];
    sio_jw w;
    sio_jw_init(&w, stack, sizeof stack);
    sio_jw_arr(&w);
    for (int i = 0; i < n; i++) sio_jw_str(&w, names[i]);
    sio_jw_end(&w);
    if (!w.err) sio_ackv(s, ev, w.buf, w.len, NULL, 0);
    sio_jw_free(&w);
}

static void on_join(sio_socket *s, const sio_event *ev, void *ud)
{
    (void)ud;
    char room[SIO_MAX_ROOM_NAME + 1];
    if (room_arg(ev, "room", room) == 0) sio_join(s, room); /* the name is copied */
    ack_rooms(s, ev); /* does nothing if the client asked for no ack */
}

static void on_leave(sio_socket *s, const sio_event *ev, void *ud)
{
    (void)ud;
    char room[SIO_MAX_ROOM_NAME + 1];
    if (room_arg(ev, "room", room) == 0) sio_leave(s, room);
    ack_rooms(s, ev);
}

static void on_rooms(sio_socket *s, const sio_event *ev, void *ud)
{
    (void)ud;
    ack_rooms(s, ev);
}

/* Builds {"room":…,"text":…,"from":"<id>"} (room omitted when NULL) into w. */
static void message(sio_jw *w, sio_socket *s, const char *room, sio_str text)
{
    sio_jw_obj(w);
    if (room) {
        sio_jw_key(w, "room");
        sio_jw_str(w, room);
    }
    sio_jw_key(w, "text");
    if (text.p) sio_jw_raw(w, text.p, text.len); /* relayed as the client wrote it */
    else sio_jw_null(w);
    sio_jw_key(w, "from");
    sio_jw_str(w, sio_socket_id(s));
    sio_jw_end(w);
}

static void on_say(sio_socket *s, const sio_event *ev, void *ud)
{
    (void)ud;
    char room[SIO_MAX_ROOM_NAME + 1];
    if (room_arg(ev, "room", room) < 0) return;
    char stack[1024];
    sio_jw w;
    sio_jw_init(&w, stack, sizeof stack);
    message(&w, s, room, sio_json_get(sio_arg(ev, 0), "text"));
    /* socket.to(room): the room's members, minus the sender even if it is a member. */
    if (!w.err) sio_op_emitv(sio_socket_to(s, room), "said", w.buf, w.len, NULL, 0);
    sio_jw_free(&w);
}

static void on_announce(sio_socket *s, const sio_event *ev, void *ud)
{
    (void)ud;
    char stack[1024];
    sio_jw w;
    sio_jw_init(&w, stack, sizeof stack);
    message(&w, s, NULL, sio_json_get(sio_arg(ev, 0), "text"));
    /* io.emit(): every socket of the namespace, the sender included. */
    if (!w.err) sio_op_emitv(sio_all(sio_socket_nsp(s)), "announce", w.buf, w.len, NULL, 0);
    sio_jw_free(&w);
}

static void on_connection(sio_socket *s, void *ud)
{
    (void)ud;
    sio_socket_on(s, "join", on_join, NULL);
    sio_socket_on(s, "leave", on_leave, NULL);
    sio_socket_on(s, "say", on_say, NULL);
    sio_socket_on(s, "rooms", on_rooms, NULL);
    sio_socket_on(s, "announce", on_announce, NULL);
}

static void on_signal(int sig)
{
    (void)sig;
    sio_server_stop(server);
}

int main(int argc, char **argv)
{
    int port = 3000;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--port") && i + 1 < argc) {
            port = atoi(argv[++i]);
        } else {
            fprintf(stderr, "usage: %s [--port N]\n", argv[0]);
            return 2;
        }
    }
    server = sio_server_new(NULL);
    if (!server) return 1;
    sio_on_connection(sio_of(server, "/"), on_connection, NULL);

    char err[SIO_ERR_LEN];
    if (sio_server_listen(server, "127.0.0.1", port, err) < 0) {
        fprintf(stderr, "rooms: %s\n", err);
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
