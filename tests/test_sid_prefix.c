/* SPDX-License-Identifier: MIT */
/* test_sid_prefix.c -- options.sid_prefix (issue 7, sticky sessions): sio_server_new() refuses a
 * bad prefix, and every Engine.IO session id a server makes begins with its prefix, on the
 * Socket.IO path and on a bare Engine.IO path alike, the rest of the id staying random.
 *
 * The clients are plain loopback sockets in this same thread: each writes a polling handshake
 * before the loop runs (the kernel keeps the bytes); a 20 ms interval reads the answers without
 * blocking, sends a GET with each sid, then stops the server. Bounded: it gives up after 5 s. */
#include "../sio.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "test.h"

#define CLIENTS 24 /* handshakes per server: 12 on /socket.io/, 12 on /engine.io/ */

/* One loopback client: its socket, its phase and what it has read so far. */
struct client {
    int fd;                    /* non-blocking socket, -1 once closed */
    int phase;                 /* 0: handshake sent; 1: a GET with the sid sent (held); 2: failed */
    const char *path;          /* "/socket.io/" or "/engine.io/" */
    char buf[2048];            /* the current response, NUL-terminated */
    size_t len;                /* bytes in buf */
    char sid[SIO_ID_LEN + 1];  /* the sid from the handshake ("" before) */
};

/* The run's state, given to the interval. */
struct run {
    sio_server *srv;                 /* the server under test */
    int port;                        /* its port */
    struct client cl[CLIENTS];       /* its clients */
    int ticks;                       /* intervals so far (the 5 s bound) */
    int settled;                     /* intervals since every client reached phase 1 or 2 */
};

/* Connects to 127.0.0.1:port and writes a polling GET for `path` (sid NULL: a handshake).
 * Returns the socket (non-blocking), or -1. */
static int polling_get(int port, const char *path, const char *sid)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    char req[256];
    int n = snprintf(req, sizeof req, "GET %s?EIO=4&transport=polling%s%s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
                     path, sid ? "&sid=" : "", sid ? sid : "");
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0 || write(fd, req, (size_t)n) != n) {
        close(fd);
        return -1;
    }
    fcntl(fd, F_SETFL, O_NONBLOCK);
    return fd;
}

/* Reads what has arrived on c->fd into c->buf. Returns 1 once the server has closed the
 * connection (the whole response is in), else 0. */
static int read_some(struct client *c)
{
    for (;;) {
        ssize_t n = read(c->fd, c->buf + c->len, sizeof c->buf - 1 - c->len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) return 0;
        if (n > 0) {
            c->len += (size_t)n;
            c->buf[c->len] = '\0';
            if (c->len < sizeof c->buf - 1) continue;
        }
        close(c->fd); /* EOF, an error, or a buffer full (no answer here is that long) */
        c->fd = -1;
        return 1;
    }
}

/* Every 20 ms: takes each handshake's sid and sends a GET with it, which the server holds (no
 * packet to send yet). Once every client is there, lets the server read the GETs, then stops
 * it: the held GETs get the close packet, so the shutdown does not wait. Gives up after 5 s. */
static void poll_clients(void *ud)
{
    struct run *r = ud;
    int waiting = 0;
    for (int i = 0; i < CLIENTS; i++) {
        struct client *c = &r->cl[i];
        if (c->phase != 0) continue;
        if (!read_some(c)) {
            waiting++;
            continue;
        }
        const char *p = strstr(c->buf, "\r\n\r\n0{\"sid\":\"");
        if (!p || strncmp(c->buf, "HTTP/1.1 200 ", 13) || strlen(p + 13) < SIO_ID_LEN + 1 || p[13 + SIO_ID_LEN] != '"') {
            fprintf(stderr, "no handshake answer: %s\n", c->buf);
            c->phase = 2;
            continue;
        }
        memcpy(c->sid, p + 13, SIO_ID_LEN);
        c->sid[SIO_ID_LEN] = '\0';
        c->len = 0;
        c->buf[0] = '\0';
        c->fd = polling_get(r->port, c->path, c->sid);
        c->phase = c->fd >= 0 ? 1 : 2;
    }
    if (!waiting) r->settled++;
    if (r->settled > 2 || ++r->ticks > 250) sio_server_stop(r->srv);
}

/* A bare Engine.IO handler that does nothing: only the handshake matters here. */
static void bare_open(sio_eio_socket *s, void *ud)
{
    (void)s;
    (void)ud;
}

/* Runs a server with `prefix` and checks the sids of CLIENTS handshakes. */
static void check_prefix(const char *prefix)
{
    struct sio_options o;
    sio_options_init(&o);
    o.sid_prefix = prefix;
    struct run r = {0};
    r.srv = sio_server_new(&o);
    CHECK(r.srv != NULL, prefix);
    if (!r.srv) return;
    struct sio_eio_handlers h = {.on_open = bare_open};
    CHECK(sio_eio_attach(r.srv, "/engine.io/", NULL, &h, NULL) == 0, prefix);
    CHECK(sio_server_listen(r.srv, "127.0.0.1", 0, NULL) == 0, prefix);
    r.port = sio_server_port(r.srv);
    for (int i = 0; i < CLIENTS; i++) {
        r.cl[i].path = i % 2 ? "/engine.io/" : "/socket.io/";
        r.cl[i].fd = polling_get(r.port, r.cl[i].path, NULL);
        CHECK(r.cl[i].fd >= 0, "connect");
        if (r.cl[i].fd < 0) r.cl[i].phase = 2;
    }
    sio_server_every(r.srv, 20, poll_clients, &r);
    CHECK(sio_server_run(r.srv) == 0, prefix);
    CHECK(r.ticks <= 250, "the clients were done within 5 s");
    size_t plen = prefix ? strlen(prefix) : 0;
    char sids[CLIENTS][SIO_ID_LEN + 1];
    for (int i = 0; i < CLIENTS; i++) {
        struct client *c = &r.cl[i];
        CHECK(c->phase == 1, "a handshake with a sid");
        /* The GET with the sid found its session: the shutdown answered it 200 (the close packet). */
        if (c->fd >= 0) read_some(c);
        if (c->fd >= 0) close(c->fd);
        CHECK(c->phase != 1 || !strncmp(c->buf, "HTTP/1.1 200 ", 13), c->buf);
        memcpy(sids[i], c->sid, sizeof sids[i]);
        CHECK(strlen(sids[i]) == SIO_ID_LEN, "the sid keeps its 20 characters");
        CHECK(strspn(sids[i], "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == SIO_ID_LEN, sids[i]);
        CHECK(!memcmp(sids[i], prefix ? prefix : "", plen), sids[i]);
    }
    /* The rest is random: all different, and the character right after the prefix varies. */
    int after_varies = 0;
    for (int i = 0; i < CLIENTS; i++) {
        for (int j = 0; j < i; j++) CHECK(strcmp(sids[i], sids[j]) != 0, "two sessions with one sid");
        if (sids[i][plen] != sids[0][plen]) after_varies = 1;
    }
    CHECK(after_varies, "the characters after the prefix are random");
    sio_server_free(r.srv);
}

static void test_accepted(void)
{
    check_prefix(NULL);
    check_prefix("");
    check_prefix("n1");
    check_prefix("Zz-_");
    check_prefix("9");
}

static void test_refused(void)
{
    const char *bad[] = {"abcde", "n1.x", "n 1", "n/", "a+b", "a=", "\xc3\xa9", "%41", "n1\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct sio_options o;
        sio_options_init(&o);
        o.sid_prefix = guarded(bad[i], strlen(bad[i]) + 1); /* reading past the NUL would fault */
        sio_server *srv = sio_server_new(&o);
        CHECK(srv == NULL, bad[i]);
        sio_server_free(srv);
    }
}

int main(void)
{
    RUN(test_refused);
    RUN(test_accepted);
    return test_main_end("test_sid_prefix");
}
