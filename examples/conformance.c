/* SPDX-License-Identifier: MIT */
/* conformance.c -- a server configured the way Socket.IO's published protocol test suites
 * expect (protocol.md B13): pingInterval 300, pingTimeout 200, maxPayload 1000000,
 * connectTimeout 1000, CORS "*"; namespaces "/" and "/custom" only; on connect both emit
 * "auth" with the handshake's auth; on "/", "message" -> "message-back" with the same arguments
 * (attachments included) and "message-with-ack" -> an ack with the same arguments. In the same
 * process, on /engine.io/, a bare Engine.IO server (no Socket.IO) that echoes every message, text
 * or binary, back on its session, with the same ping settings.
 *
 * Usage: examples/conformance [--port N]   (default 3000; 0 = any free port)
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../sio.h"

static sio_server *server;

static void on_message(sio_socket *s, const sio_event *ev, void *ud)
{
    (void)ud;
    sio_emitv(s, "message-back", ev->args.p, ev->args.len, ev->bins, ev->nbins);
}

static void on_message_with_ack(sio_socket *s, const sio_event *ev, void *ud)
{
    (void)ud;
    sio_ackv(s, ev, ev->args.p, ev->args.len, ev->bins, ev->nbins);
}

static void on_connection(sio_socket *s, void *ud)
{
    int root = ud != NULL;
    sio_str auth = sio_handshake_auth(s);
    sio_emitv(s, "auth", auth.p, auth.len, NULL, 0);
    if (root) {
        sio_socket_on(s, "message", on_message, NULL);
        sio_socket_on(s, "message-with-ack", on_message_with_ack, NULL);
    }
}

/* The bare Engine.IO echo on /engine.io/ (the engine.io test suite's server). */
static void on_eio_message(sio_eio_socket *s, const void *data, size_t len, int binary, void *ud)
{
    (void)ud;
    sio_eio_send(s, data, len, binary);
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
    o.ping_interval = 300;
    o.ping_timeout = 200;
    o.connect_timeout = 1000;
    o.cors_origins[o.n_cors_origins++] = "*";
    server = sio_server_new(&o);
    if (!server) return 1;
    sio_on_connection(sio_of(server, "/"), on_connection, (void *)1);
    sio_on_connection(sio_of(server, "/custom"), on_connection, NULL);
    const struct sio_eio_handlers eio = {NULL, on_eio_message, NULL};
    if (sio_eio_attach(server, "/engine.io/", NULL, &eio, NULL) < 0) { /* NULL: the same options */
        fprintf(stderr, "conformance: cannot serve /engine.io/\n");
        sio_server_free(server);
        return 1;
    }
    char err[SIO_ERR_LEN];
    if (sio_server_listen(server, "127.0.0.1", port, err) < 0) {
        fprintf(stderr, "conformance: %s\n", err);
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
