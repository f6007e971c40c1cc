/* SPDX-License-Identifier: MIT */
/* eio-echo.c -- bare Engine.IO, no Socket.IO: every message comes back on its session.
 *
 * The counterpart of the `engine.io` package:
 *
 *   const server = require("engine.io").listen(3000);          // path "/engine.io/"
 *   server.on("connection", (socket) => {
 *     socket.on("message", (data) => socket.send(data));       // text stays text, binary binary
 *   });
 *
 * Engine.IO is the transport layer under Socket.IO: sessions, the handshake, long-polling and
 * WebSocket, the upgrade between them, and the ping/pong heartbeat. A message is just text or
 * bytes -- no namespaces, event names or acks. Clients: the `engine.io-client` npm package, or
 * anything that speaks the protocol (protocol.md part A):
 *
 *   GET  /engine.io/?EIO=4&transport=polling          -> 0{"sid":"…","upgrades":["websocket"],…}
 *   POST /engine.io/?EIO=4&transport=polling&sid=…    body "4hello"
 *   GET  /engine.io/?EIO=4&transport=polling&sid=…    -> 4hello
 *
 * Usage: examples/eio-echo [--port N]   (default 3000; 0 = any free port)
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../sio.h"

static sio_server *server; /* for the signal handler */

static void on_open(sio_eio_socket *s, void *ud)
{
    (void)ud;
    fprintf(stderr, "open %s\n", sio_eio_id(s));
}

/* data is only valid during the call; sio_eio_send() copies it into the session's queue. */
static void on_message(sio_eio_socket *s, const void *data, size_t len, int binary, void *ud)
{
    (void)ud;
    sio_eio_send(s, data, len, binary);
}

static void on_close(sio_eio_socket *s, const char *reason, void *ud)
{
    (void)ud;
    fprintf(stderr, "close %s (%s)\n", sio_eio_id(s), reason);
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
    struct sio_options o;
    sio_options_init(&o);
    o.path = NULL; /* serve no Socket.IO at all: /socket.io/ answers 404 like any other path */
    server = sio_server_new(&o);
    if (!server) return 1;

    /* NULL options: the server's own timers, size limit, transports and CORS. */
    const struct sio_eio_handlers h = {on_open, on_message, on_close};
    if (sio_eio_attach(server, "/engine.io/", NULL, &h, NULL) < 0) {
        fprintf(stderr, "eio-echo: cannot serve /engine.io/\n");
        sio_server_free(server);
        return 1;
    }
    char err[SIO_ERR_LEN];
    if (sio_server_listen(server, "127.0.0.1", port, err) < 0) {
        fprintf(stderr, "eio-echo: %s\n", err);
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
