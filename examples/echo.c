/* SPDX-License-Identifier: MIT */
/* echo.c -- the smallest useful sio server: echo, acks and binary.
 *
 * What it does, in JavaScript terms:
 *
 *   io.on("connection", (socket) => {
 *     socket.onAny((event, ...args) => { const cb = args.at(-1);      // any event with an ack:
 *       if (typeof cb === "function") cb(...args.slice(0, -1)); });  //   ack with its arguments
 *     socket.on("echo", (...args) => socket.emit("echo", ...args));   // attachments included
 *     socket.on("binary", () => socket.emit("binary", { file: Buffer.from([1, 2, 3]),
 *       parts: [Buffer.from("hello"), { deep: Buffer.alloc(256, …) }], name: "three" }));
 *   });
 *
 * Try it with the JavaScript client:
 *   const s = io("http://127.0.0.1:3000");
 *   s.on("echo", (...a) => console.log(a));  s.emit("echo", 1, { x: Buffer.from("hi") });
 *   console.log(await s.emitWithAck("anything", "back"));            // "back"
 *
 * Usage: examples/echo [--port N]   (default 3000; 0 = any free port)
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../sio.h"

static sio_server *server; /* for the signal handler */

/* Every event passes here first (socket.onAny). If the client asked for an ack, answer it with
 * the event's own arguments, attachments and all: sio_ackv() takes them exactly as received. */
static void on_any(sio_socket *s, const sio_event *ev, void *ud)
{
    (void)ud;
    if (ev->ack_id >= 0) sio_ackv(s, ev, ev->args.p, ev->args.len, ev->bins, ev->nbins);
}

/* "echo": send the same arguments back. A received argument list is valid JSON text for
 * sio_emitv(), and its placeholders still point at the same attachments. */
static void on_echo(sio_socket *s, const sio_event *ev, void *ud)
{
    (void)ud;
    sio_emitv(s, "echo", ev->args.p, ev->args.len, ev->bins, ev->nbins);
}

/* "binary": emit one object holding three attachments at different depths. Each
 * {"_placeholder":true,"num":N} stands for bins[N]; the library sends them as attachments and
 * the client gets Buffers (or ArrayBuffers) back in their places. */
static void on_binary(sio_socket *s, const sio_event *ev, void *ud)
{
    (void)ev;
    (void)ud;
    static const unsigned char small[] = {1, 2, 3};
    unsigned char all[256];
    for (int i = 0; i < 256; i++) all[i] = (unsigned char)i;
    const sio_bin bins[3] = {{small, sizeof small}, {"hello", 5}, {all, sizeof all}};
    const char *args = "{\"file\":{\"_placeholder\":true,\"num\":0},"
                       "\"parts\":[{\"_placeholder\":true,\"num\":1},{\"deep\":{\"_placeholder\":true,\"num\":2}}],"
                       "\"name\":\"three\"}";
    sio_emitv(s, "binary", args, strlen(args), bins, 3); /* the bytes are copied */
}

static void on_connection(sio_socket *s, void *ud)
{
    (void)ud;
    sio_socket_on_any(s, on_any, NULL);
    sio_socket_on(s, "echo", on_echo, NULL);
    sio_socket_on(s, "binary", on_binary, NULL);
}

static void on_signal(int sig)
{
    (void)sig;
    sio_server_stop(server); /* async-signal-safe: sio_server_run() returns soon after */
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
    server = sio_server_new(NULL); /* Node's defaults; Socket.IO on /socket.io/ */
    if (!server) return 1;
    sio_on_connection(sio_of(server, "/"), on_connection, NULL);

    char err[SIO_ERR_LEN];
    if (sio_server_listen(server, "127.0.0.1", port, err) < 0) {
        fprintf(stderr, "echo: %s\n", err);
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
