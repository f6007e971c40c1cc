/* SPDX-License-Identifier: MIT */
/* ceiling.c -- the least a C server can do to answer sio-bench: the limit of this machine and
 * this generator, printed beside sio in every table.
 *
 * It speaks just enough of Engine.IO v4 / Socket.IO v5 for sio-bench's clients (the protocol
 * at the top of relay-server.c), and not one byte more:
 *   - HTTP: finds the end of the head, the request target, Content-Length and
 *     Sec-WebSocket-Key by plain substring search; no header table, no validation;
 *   - WebSocket: the 101 (a real SHA-1 of the key), masked frames in, unmasked frames out,
 *     no fragmentation, no UTF-8 check, no size limit beyond the input buffer;
 *   - long-polling: the handshake, one held GET per session, POST bodies split on \x1e;
 *   - sessions: ids are "<slot:10 digits><generation:10 digits>", so a socket id is found by
 *     parsing it, never by hashing; the Engine.IO sid and the Socket.IO socket id are the same;
 *   - events: "private message" and "broadcast" are rewritten by locating "to", "room" and
 *     "content" with memmem (the content is copied as raw bytes, never decoded), "ping" is
 *     acked by echoing the bytes between the event name and the closing bracket;
 *   - output: bytes are appended to the connection's buffer and written with one write() per
 *     connection per loop turn; a broadcast frame is built once and copied to each member.
 * It never pings (it advertises the usual pingInterval; sio-bench does not enforce it), never
 * times out a session, ignores Socket.IO packets it does not know, and trusts its input: it is
 * a measuring stick, not a server. Do not expose it to anything but sio-bench.
 *
 * Usage: ceiling [--port N] [--host ADDR]
 * Prints "listening on http://HOST:PORT" on stderr; stops on SIGINT/SIGTERM.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

/* ====== Limits ====== */
#define CEIL_READ_CHUNK 65536      /* bytes per read() into the shared buffer */
#define CEIL_MAX_EVENTS 1024       /* epoll events per wait */
#define CEIL_MAX_INPUT (4u << 20)  /* leftover input a connection may hold (head + body/frame) */
#define CEIL_MAX_ROOMS 16          /* distinct room names (sio-bench uses one) */
#define CEIL_MAX_ROOM_NAME 63      /* bytes of a room name */
#define CEIL_ID_LEN 20             /* characters in a session / socket id */
#define CEIL_ACCEPT_PER_EVENT 64   /* connections accepted per listener event */
#define CEIL_NONE UINT32_MAX       /* "no session" */
#define CEIL_PING_INTERVAL 25000   /* advertised only: the ceiling never pings */
#define CEIL_PING_TIMEOUT 20000    /* advertised only */

/* ====== Buffers ====== */

/* A growable byte buffer. `off` is how much of the front has been consumed (written). */
typedef struct buf {
    char *p;    /* bytes, NULL until first use */
    size_t len; /* bytes held, including the consumed front */
    size_t cap; /* bytes allocated */
    size_t off; /* bytes already consumed from the front */
} buf;

/* Makes room for n more bytes and returns where they go; exits when memory runs out (this is a
 * measuring tool: an out-of-memory ceiling has no meaningful number to give). */
static char *buf_reserve(buf *b, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 512;
        while (cap < b->len + n) cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np) {
            fprintf(stderr, "ceiling: out of memory\n");
            exit(1);
        }
        b->p = np;
        b->cap = cap;
    }
    return b->p + b->len;
}

static void buf_add(buf *b, const void *p, size_t n)
{
    if (!n) return;
    memcpy(buf_reserve(b, n), p, n);
    b->len += n;
}

static void buf_free(buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* ====== SHA-1 and base64, for Sec-WebSocket-Accept (RFC 6455 §4.2.2, RFC 3174) ====== */

static uint32_t rol(uint32_t x, int n) { return x << n | x >> (32 - n); }

/* SHA-1 of msg[0..len) into out[20]. Straight from RFC 3174; only ever hashes ~60 bytes. */
static void sha1(const unsigned char *msg, size_t len, unsigned char out[20])
{
    uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
    unsigned char blk[64];
    uint64_t bits = (uint64_t)len * 8;
    size_t total = (len + 9 + 63) / 64 * 64;
    for (size_t base = 0; base < total; base += 64) {
        for (size_t i = 0; i < 64; i++) {
            size_t k = base + i;
            blk[i] = k < len ? msg[k] : k == len ? 0x80 : 0;
            if (k >= total - 8) blk[i] = (unsigned char)(bits >> (8 * (total - 1 - k)));
        }
        uint32_t w[80];
        for (int i = 0; i < 16; i++)
            w[i] = (uint32_t)blk[4 * i] << 24 | (uint32_t)blk[4 * i + 1] << 16 | (uint32_t)blk[4 * i + 2] << 8 | blk[4 * i + 3];
        for (int i = 16; i < 80; i++) w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
        uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
        for (int i = 0; i < 80; i++) {
            uint32_t f, k;
            if (i < 20) f = (b & c) | (~b & d), k = 0x5A827999;
            else if (i < 40) f = b ^ c ^ d, k = 0x6ED9EBA1;
            else if (i < 60) f = (b & c) | (b & d) | (c & d), k = 0x8F1BBCDC;
            else f = b ^ c ^ d, k = 0xCA62C1D6;
            uint32_t t = rol(a, 5) + f + e + k + w[i];
            e = d, d = c, c = rol(b, 30), b = a, a = t;
        }
        h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e;
    }
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 4; j++) out[4 * i + j] = (unsigned char)(h[i] >> (24 - 8 * j));
}

/* Standard base64 of in[0..n) into out (4 * ceil(n/3) bytes + NUL). */
static void base64(const unsigned char *in, size_t n, char *out)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) | (i + 2 < n ? in[i + 2] : 0);
        out[o++] = tab[v >> 18 & 63];
        out[o++] = tab[v >> 12 & 63];
        out[o++] = i + 1 < n ? tab[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? tab[v & 63] : '=';
    }
    out[o] = '\0';
}

/* ====== State ====== */

/* One TCP connection, indexed by its descriptor. */
typedef struct conn {
    uint8_t used;        /* slot in use */
    uint8_t ws;          /* 1 after the 101: the input is frames */
    uint8_t dirty;       /* on this turn's write list */
    uint8_t want_out;    /* EPOLLOUT registered */
    uint8_t close_after; /* close once the output is written */
    uint32_t sess;       /* WebSocket: its session; HTTP: the session whose GET it holds */
    buf in;              /* leftover partial input */
    buf out;             /* output not yet written */
} conn;

/* One Engine.IO session, which is also the one Socket.IO socket on "/". */
typedef struct sess {
    uint32_t gen;        /* generation, bumped on reuse: stale ids stop matching */
    uint8_t used;        /* slot in use */
    uint8_t ws;          /* transport is WebSocket (else long-polling) */
    uint8_t joined;      /* CONNECT to "/" accepted */
    uint8_t dirty;       /* polling: on this turn's flush list */
    int fd;              /* WebSocket connection, or the held polling GET; -1 for none */
    int room;            /* the room joined from auth.room, or -1 */
    uint32_t room_pos;   /* index in that room's member array */
    buf pend;            /* polling: packets waiting for a GET, joined with \x1e */
    char id[CEIL_ID_LEN + 1]; /* "<slot><gen>", 10 digits each */
} sess;

/* A room: its name and members (session slots). */
typedef struct room {
    char name[CEIL_MAX_ROOM_NAME + 1]; /* NUL-terminated */
    uint32_t *members;                 /* session slots, in no order */
    uint32_t n;                        /* members used */
    uint32_t cap;                      /* members allocated */
} room;

static struct {
    int ep;                /* epoll descriptor */
    int lfd;               /* listening socket */
    conn *conns;           /* by descriptor */
    int nconns;            /* conns[] length (the descriptor limit) */
    int *dirty;            /* descriptors with output this turn */
    int ndirty;            /* entries used */
    sess *sessions;        /* by slot */
    uint32_t nsess, capsess; /* slots used (high-water), allocated */
    uint32_t *freesess;    /* free slots, a stack */
    uint32_t nfree;        /* entries in freesess */
    uint32_t *flush;       /* polling sessions with packets for their GET */
    uint32_t nflush, capflush; /* entries used, allocated */
    room rooms[CEIL_MAX_ROOMS]; /* rooms by index */
    int nrooms;            /* rooms used */
    volatile sig_atomic_t stop; /* set by SIGINT/SIGTERM */
    char rbuf[CEIL_READ_CHUNK]; /* the shared read buffer */
} G;

/* ====== Output ====== */

static void mark_dirty(int fd)
{
    conn *c = &G.conns[fd];
    if (c->dirty) return;
    c->dirty = 1;
    G.dirty[G.ndirty++] = fd;
}

/* Appends an unmasked WebSocket text frame carrying p[0..n) to fd's output. */
static void ws_frame_out(int fd, const char *p, size_t n)
{
    conn *c = &G.conns[fd];
    unsigned char h[10];
    size_t k = 0;
    h[k++] = 0x81;
    if (n < 126) {
        h[k++] = (unsigned char)n;
    } else if (n < 65536) {
        h[k++] = 126, h[k++] = (unsigned char)(n >> 8), h[k++] = (unsigned char)n;
    } else {
        h[k++] = 127;
        for (int i = 7; i >= 0; i--) h[k++] = (unsigned char)((uint64_t)n >> (8 * i));
    }
    char *w = buf_reserve(&c->out, k + n);
    memcpy(w, h, k);
    memcpy(w + k, p, n);
    c->out.len += k + n;
    mark_dirty(fd);
}

/* Queues one Engine.IO packet for session s: a frame on WebSocket, or the polling queue. */
static void sess_send(uint32_t si, const char *p, size_t n)
{
    sess *s = &G.sessions[si];
    if (s->ws) {
        if (s->fd >= 0) ws_frame_out(s->fd, p, n);
        return;
    }
    if (s->pend.len) buf_add(&s->pend, "\x1e", 1);
    buf_add(&s->pend, p, n);
    if (!s->dirty) {
        s->dirty = 1;
        if (G.nflush == G.capflush) {
            G.capflush = G.capflush ? 2 * G.capflush : 256;
            G.flush = realloc(G.flush, G.capflush * sizeof *G.flush);
            if (!G.flush) exit(1);
        }
        G.flush[G.nflush++] = si;
    }
}

/* Appends an HTTP 200 with `body` to fd's output. */
static void http_200(int fd, const char *ctype, const char *body, size_t n)
{
    conn *c = &G.conns[fd];
    char head[160];
    int hn = snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %zu\r\n\r\n", ctype, n);
    buf_add(&c->out, head, (size_t)hn);
    buf_add(&c->out, body, n);
    mark_dirty(fd);
}

/* Writes fd's output; registers EPOLLOUT only while bytes remain. Returns -1 if the
 * connection was closed. */
static int conn_close(int fd);
static int conn_flush(int fd)
{
    conn *c = &G.conns[fd];
    while (c->out.off < c->out.len) {
        ssize_t w = write(fd, c->out.p + c->out.off, c->out.len - c->out.off);
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) break;
            return conn_close(fd);
        }
        c->out.off += (size_t)w;
    }
    int want = c->out.off < c->out.len;
    if (!want) c->out.len = c->out.off = 0;
    if (want != c->want_out) {
        c->want_out = (uint8_t)want;
        struct epoll_event ev = {.events = EPOLLIN | (want ? EPOLLOUT : 0), .data.fd = fd};
        epoll_ctl(G.ep, EPOLL_CTL_MOD, fd, &ev);
    }
    if (!want && c->close_after) return conn_close(fd);
    return 0;
}

/* ====== Sessions and rooms ====== */

static uint32_t sess_new(int ws, int fd)
{
    uint32_t si;
    if (G.nfree) {
        si = G.freesess[--G.nfree];
    } else {
        if (G.nsess == G.capsess) {
            G.capsess = G.capsess ? 2 * G.capsess : 1024;
            G.sessions = realloc(G.sessions, G.capsess * sizeof *G.sessions);
            G.freesess = realloc(G.freesess, G.capsess * sizeof *G.freesess);
            if (!G.sessions || !G.freesess) exit(1);
        }
        si = G.nsess++;
        memset(&G.sessions[si], 0, sizeof G.sessions[si]);
    }
    sess *s = &G.sessions[si];
    s->gen++;
    s->used = 1;
    s->ws = (uint8_t)ws;
    s->joined = 0;
    s->dirty = 0;
    s->fd = fd;
    s->room = -1;
    snprintf(s->id, sizeof s->id, "%010u%010u", si, s->gen);
    return si;
}

/* The session named by a 20-digit id, or CEIL_NONE. */
static uint32_t sess_find(const char *id)
{
    uint64_t slot = 0, gen = 0;
    for (int i = 0; i < CEIL_ID_LEN; i++) {
        if (id[i] < '0' || id[i] > '9') return CEIL_NONE;
        if (i < 10) slot = slot * 10 + (uint64_t)(id[i] - '0');
        else gen = gen * 10 + (uint64_t)(id[i] - '0');
    }
    if (slot >= G.nsess || !G.sessions[slot].used || G.sessions[slot].gen != gen) return CEIL_NONE;
    return (uint32_t)slot;
}

static void room_leave(uint32_t si)
{
    sess *s = &G.sessions[si];
    if (s->room < 0) return;
    room *r = &G.rooms[s->room];
    uint32_t last = r->members[--r->n];
    r->members[s->room_pos] = last;
    G.sessions[last].room_pos = s->room_pos;
    s->room = -1;
}

static void room_join(uint32_t si, const char *name, size_t len)
{
    if (len > CEIL_MAX_ROOM_NAME) return;
    int ri = 0;
    while (ri < G.nrooms && !(strlen(G.rooms[ri].name) == len && memcmp(G.rooms[ri].name, name, len) == 0)) ri++;
    if (ri == G.nrooms) {
        if (G.nrooms == CEIL_MAX_ROOMS) return;
        memcpy(G.rooms[ri].name, name, len);
        G.rooms[ri].name[len] = '\0';
        G.nrooms++;
    }
    room *r = &G.rooms[ri];
    if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 1024;
        r->members = realloc(r->members, r->cap * sizeof *r->members);
        if (!r->members) exit(1);
    }
    G.sessions[si].room = ri;
    G.sessions[si].room_pos = r->n;
    r->members[r->n++] = si;
}

static void sess_free(uint32_t si)
{
    sess *s = &G.sessions[si];
    if (!s->used) return;
    room_leave(si);
    buf_free(&s->pend);
    if (!s->ws && s->fd >= 0) G.conns[s->fd].sess = CEIL_NONE; /* its held GET is let go */
    s->used = 0;
    s->fd = -1;
    G.freesess[G.nfree++] = si;
}

/* ====== Socket.IO, by substring ====== */

/* The JSON value after `"key":` in p[0..n): a string with its quotes, or a scalar up to the next
 * ',' / '}' / ']'. Sets *vlen; returns NULL when the key is absent. */
static const char *json_value(const char *p, size_t n, const char *key, size_t *vlen)
{
    const char *k = memmem(p, n, key, strlen(key));
    if (!k) return NULL;
    const char *v = k + strlen(key), *end = p + n;
    const char *q = v;
    if (q < end && *q == '"') {
        for (q++; q < end && *q != '"'; q++)
            if (*q == '\\') q++;
        q++;
    } else {
        while (q < end && *q != ',' && *q != '}' && *q != ']') q++;
    }
    if (q > end) return NULL;
    *vlen = (size_t)(q - v);
    return v;
}

/* One Engine.IO packet from session si. */
static void on_packet(uint32_t si, const char *p, size_t n)
{
    char out[1024];
    if (n < 2 || p[0] != '4') {
        if (n == 1 && p[0] == '1') { /* close */
            sess *s = &G.sessions[si];
            if (s->ws && s->fd >= 0) G.conns[s->fd].close_after = 1;
            else sess_free(si);
        }
        return; /* pongs and anything else */
    }
    sess *s = &G.sessions[si];
    if (p[1] == '0') { /* CONNECT with auth: username required, room optional */
        size_t ul = 0, rl = 0;
        const char *u = json_value(p + 2, n - 2, "\"username\":", &ul);
        if (!u || ul < 3 || u[0] != '"') {
            static const char refuse[] = "44{\"message\":\"invalid username\"}";
            sess_send(si, refuse, sizeof refuse - 1);
            return;
        }
        const char *r = json_value(p + 2, n - 2, "\"room\":", &rl);
        if (r && rl > 2 && r[0] == '"') room_join(si, r + 1, rl - 2);
        s->joined = 1;
        int k = snprintf(out, sizeof out, "40{\"sid\":\"%s\"}", s->id);
        sess_send(si, out, (size_t)k);
        return;
    }
    if (p[1] == '1') { /* DISCONNECT */
        room_leave(si);
        s->joined = 0;
        return;
    }
    if (p[1] != '2' || !s->joined) return;
    size_t i = 2;
    while (i < n && p[i] >= '0' && p[i] <= '9') i++; /* ack id */
    const char *ack = p + 2, *body = p + i;
    size_t acklen = i - 2, blen = n - i;
    static const char pm[] = "[\"private message\",", bc[] = "[\"broadcast\",", pg[] = "[\"ping\"";
    size_t cl = 0, tl = 0;
    if (blen > sizeof pm && memcmp(body, pm, sizeof pm - 1) == 0) {
        const char *to = json_value(body, blen, "\"to\":", &tl);
        const char *c = json_value(body, blen, "\"content\":", &cl);
        if (!to || tl != CEIL_ID_LEN + 2 || !c || cl > sizeof out - 100) return;
        uint32_t ti = sess_find(to + 1);
        if (ti == CEIL_NONE || ti == si || !G.sessions[ti].joined) return;
        int k = snprintf(out, sizeof out, "42[\"private message\",{\"content\":%.*s,\"from\":\"%s\"}]", (int)cl, c, s->id);
        sess_send(ti, out, (size_t)k);
    } else if (blen > sizeof bc && memcmp(body, bc, sizeof bc - 1) == 0) {
        const char *rm = json_value(body, blen, "\"room\":", &tl);
        const char *c = json_value(body, blen, "\"content\":", &cl);
        if (!rm || tl < 3 || !c || cl > sizeof out - 100) return;
        int ri = 0;
        while (ri < G.nrooms && !(strlen(G.rooms[ri].name) == tl - 2 && memcmp(G.rooms[ri].name, rm + 1, tl - 2) == 0)) ri++;
        if (ri == G.nrooms) return;
        int k = snprintf(out, sizeof out, "42[\"broadcast\",{\"content\":%.*s}]", (int)cl, c);
        /* Build the frame once (header + payload) and copy it to every WebSocket member. */
        unsigned char h[4];
        size_t hl = (size_t)k < 126 ? 2 : 4;
        h[0] = 0x81;
        if (hl == 2) h[1] = (unsigned char)k;
        else h[1] = 126, h[2] = (unsigned char)(k >> 8), h[3] = (unsigned char)k;
        room *r = &G.rooms[ri];
        for (uint32_t m = 0; m < r->n; m++) {
            uint32_t mi = r->members[m];
            sess *ms = &G.sessions[mi];
            if (mi == si) continue;
            if (!ms->ws) {
                sess_send(mi, out, (size_t)k);
            } else if (ms->fd >= 0) {
                conn *mc = &G.conns[ms->fd];
                char *w = buf_reserve(&mc->out, hl + (size_t)k);
                memcpy(w, h, hl);
                memcpy(w + hl, out, (size_t)k);
                mc->out.len += hl + (size_t)k;
                mark_dirty(ms->fd);
            }
        }
    } else if (acklen && blen >= sizeof pg && memcmp(body, pg, sizeof pg - 1) == 0) {
        const char *args = body + sizeof pg - 1, *end = body + blen - 1; /* end: the final ']' */
        if (args < end && *args == ',') args++;
        size_t al = end > args ? (size_t)(end - args) : 0;
        if (al > sizeof out - 40) return;
        int k = snprintf(out, sizeof out, "43%.*s[%.*s]", (int)acklen, ack, (int)al, args);
        sess_send(si, out, (size_t)k);
    }
}

/* ====== HTTP and WebSocket input ====== */

/* Case-insensitive search for header `name` (with its colon) in the head; returns the value
 * (leading spaces skipped) and its length up to CR. */
static const char *header(const char *h, size_t n, const char *name, size_t *vlen)
{
    size_t nl = strlen(name);
    for (size_t i = 0; i + nl < n; i++) {
        if ((i == 0 || h[i - 1] == '\n') && strncasecmp(h + i, name, nl) == 0) {
            const char *v = h + i + nl;
            while (v < h + n && *v == ' ') v++;
            const char *e = v;
            while (e < h + n && *e != '\r') e++;
            *vlen = (size_t)(e - v);
            return v;
        }
    }
    return NULL;
}

/* Answers the polling GET held by session si with its pending packets. */
static void poll_answer(uint32_t si)
{
    sess *s = &G.sessions[si];
    int fd = s->fd;
    http_200(fd, "text/plain; charset=UTF-8", s->pend.p, s->pend.len);
    s->pend.len = 0;
    s->fd = -1;
    G.conns[fd].sess = CEIL_NONE;
}

/* One complete HTTP request on fd. Returns 1 if the connection switched to WebSocket. */
static int on_request(int fd, const char *h, size_t hn, const char *body, size_t blen)
{
    conn *c = &G.conns[fd];
    const char *sp = memchr(h, ' ', hn);
    if (!sp) return 0;
    const char *tgt = sp + 1, *tend = memchr(tgt, ' ', hn - (size_t)(tgt - h));
    if (!tend) return 0;
    size_t tl = (size_t)(tend - tgt);
    int post = h[0] == 'P';
    const char *sid = memmem(tgt, tl, "sid=", 4);
    if (memmem(tgt, tl, "transport=websocket", 19)) {
        size_t kl = 0;
        const char *key = header(h, hn, "sec-websocket-key:", &kl);
        if (!key || kl > 64) {
            c->close_after = 1;
            return 0;
        }
        unsigned char cat[128], dig[20];
        memcpy(cat, key, kl);
        memcpy(cat + kl, "258EAFA5-E914-47DA-95CA-C5AB0DC85B11", 36);
        sha1(cat, kl + 36, dig);
        char acc[32], resp[256], open[256];
        base64(dig, 20, acc);
        int rn = snprintf(resp, sizeof resp,
                          "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                          "Sec-WebSocket-Accept: %s\r\n\r\n",
                          acc);
        buf_add(&c->out, resp, (size_t)rn);
        c->ws = 1;
        c->sess = sess_new(1, fd);
        int on = snprintf(open, sizeof open,
                          "0{\"sid\":\"%s\",\"upgrades\":[],\"pingInterval\":%d,\"pingTimeout\":%d,\"maxPayload\":1000000}",
                          G.sessions[c->sess].id, CEIL_PING_INTERVAL, CEIL_PING_TIMEOUT);
        ws_frame_out(fd, open, (size_t)on);
        return 1;
    }
    if (!sid) { /* polling handshake */
        uint32_t si = sess_new(0, -1);
        char open[256];
        int on = snprintf(open, sizeof open,
                          "0{\"sid\":\"%s\",\"upgrades\":[],\"pingInterval\":%d,\"pingTimeout\":%d,\"maxPayload\":1000000}",
                          G.sessions[si].id, CEIL_PING_INTERVAL, CEIL_PING_TIMEOUT);
        http_200(fd, "text/plain; charset=UTF-8", open, (size_t)on);
        return 0;
    }
    uint32_t si = (size_t)(tend - (sid + 4)) >= CEIL_ID_LEN ? sess_find(sid + 4) : CEIL_NONE;
    if (si == CEIL_NONE) {
        static const char e[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
        buf_add(&c->out, e, sizeof e - 1);
        mark_dirty(fd);
        return 0;
    }
    if (post) {
        size_t start = 0;
        for (size_t i = 0; i <= blen; i++) {
            if (i == blen || body[i] == '\x1e') {
                if (i > start) on_packet(si, body + start, i - start);
                start = i + 1;
                if (!G.sessions[si].used) break;
            }
        }
        http_200(fd, "text/html", "ok", 2);
        return 0;
    }
    sess *s = &G.sessions[si];
    s->fd = fd; /* hold the GET */
    c->sess = si;
    if (s->pend.len) poll_answer(si);
    return 0;
}

/* Parses the HTTP requests in d[0..n); returns bytes consumed. */
static size_t http_input(int fd, char *d, size_t n)
{
    size_t off = 0;
    while (off < n && !G.conns[fd].ws && G.conns[fd].sess == CEIL_NONE) {
        char *e = memmem(d + off, n - off, "\r\n\r\n", 4);
        if (!e) break;
        size_t hn = (size_t)(e + 4 - (d + off)), vl = 0, blen = 0;
        const char *cl = header(d + off, hn, "content-length:", &vl);
        if (cl) blen = strtoul(cl, NULL, 10);
        if (n - off - hn < blen) break;
        int upgraded = on_request(fd, d + off, hn, d + off + hn, blen);
        off += hn + blen;
        if (upgraded) break;
    }
    return off;
}

/* Parses the WebSocket frames in d[0..n) (masked, as clients must send them); returns bytes
 * consumed. */
static size_t ws_input(int fd, char *d, size_t n)
{
    size_t off = 0;
    conn *c = &G.conns[fd];
    while (n - off >= 6 && !c->close_after) {
        unsigned char *p = (unsigned char *)d + off;
        uint64_t len = p[1] & 127;
        size_t h = 2;
        if (len == 126) {
            if (n - off < 8) break;
            len = (uint64_t)p[2] << 8 | p[3];
            h = 4;
        } else if (len == 127) {
            if (n - off < 14) break;
            len = 0;
            for (int i = 2; i < 10; i++) len = len << 8 | p[i];
            h = 10;
        }
        int masked = p[1] & 0x80;
        unsigned char *mask = p + h;
        if (masked) h += 4;
        if (len > CEIL_MAX_INPUT || n - off - h < len) break;
        unsigned char *pl = p + h;
        if (masked)
            for (uint64_t i = 0; i < len; i++) pl[i] ^= mask[i & 3];
        off += h + (size_t)len;
        int op = p[0] & 15;
        if (op == 1 && c->sess != CEIL_NONE) {
            on_packet(c->sess, (char *)pl, (size_t)len);
        } else if (op == 8) { /* close: answer with a close frame and hang up after it */
            static const unsigned char cf[] = {0x88, 0x00};
            buf_add(&c->out, cf, 2);
            c->close_after = 1;
            mark_dirty(fd);
        } else if (op == 9) { /* ping: pong with the same payload */
            unsigned char ph[2] = {0x8A, (unsigned char)len};
            if (len < 126) {
                buf_add(&c->out, ph, 2);
                buf_add(&c->out, pl, (size_t)len);
                mark_dirty(fd);
            }
        }
    }
    return off;
}

/* ====== Connections ====== */

static int conn_close(int fd)
{
    conn *c = &G.conns[fd];
    if (!c->used) return -1;
    if (c->sess != CEIL_NONE) {
        sess *s = &G.sessions[c->sess];
        if (s->ws) sess_free(c->sess);
        else s->fd = -1; /* a held GET went away: the session waits for the next one */
    }
    buf_free(&c->in);
    buf_free(&c->out);
    c->used = 0;
    close(fd);
    return -1;
}

static void conn_readable(int fd)
{
    conn *c = &G.conns[fd];
    for (;;) {
        ssize_t n = read(fd, G.rbuf, sizeof G.rbuf);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            conn_close(fd);
            return;
        }
        if (n < 0) return;
        char *d = G.rbuf;
        size_t len = (size_t)n;
        if (c->in.len) {
            if (c->in.len + len > CEIL_MAX_INPUT) {
                conn_close(fd);
                return;
            }
            buf_add(&c->in, d, len);
            d = c->in.p;
            len = c->in.len;
        }
        size_t used = 0;
        while (used < len && c->used && !c->close_after) {
            size_t u = c->ws ? ws_input(fd, d + used, len - used) : http_input(fd, d + used, len - used);
            if (u == 0) break;
            used += u;
        }
        if (!c->used) return;
        if (c->in.len) {
            memmove(c->in.p, c->in.p + used, c->in.len - used);
            c->in.len -= used;
            if (!c->in.len) buf_free(&c->in);
        } else if (used < len && !c->close_after) {
            buf_add(&c->in, d + used, len - used);
        }
        if ((size_t)n < sizeof G.rbuf) return;
    }
}

static void on_accept(void)
{
    for (int k = 0; k < CEIL_ACCEPT_PER_EVENT; k++) {
        int fd = accept4(G.lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) return;
        if (fd >= G.nconns) {
            close(fd);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        conn *c = &G.conns[fd];
        uint8_t dirty = c->dirty; /* a closed predecessor may still sit on this turn's list */
        memset(c, 0, sizeof *c);
        c->dirty = dirty;
        c->used = 1;
        c->sess = CEIL_NONE;
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
        epoll_ctl(G.ep, EPOLL_CTL_ADD, fd, &ev);
    }
}

/* ====== Main ====== */

static void on_signal(int sig)
{
    (void)sig;
    G.stop = 1;
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1";
    int port = 3000;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) port = atoi(argv[++i]);
        else if (strcmp(argv[i], "--host") == 0 && i + 1 < argc) host = argv[++i];
        else if (strcmp(argv[i], "--max-clients") == 0 && i + 1 < argc) i++; /* accepted, ignored */
        else {
            fprintf(stderr, "usage: ceiling [--port N] [--host ADDR]\n");
            return 2;
        }
    }
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
    G.nconns = rl.rlim_cur > (1u << 24) ? 1 << 24 : (int)rl.rlim_cur;
    G.conns = calloc((size_t)G.nconns, sizeof *G.conns);
    G.dirty = calloc((size_t)G.nconns, sizeof *G.dirty);
    if (!G.conns || !G.dirty) return 1;
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    G.lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(G.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1 || bind(G.lfd, (struct sockaddr *)&a, sizeof a) < 0 ||
        listen(G.lfd, 4096) < 0) {
        fprintf(stderr, "ceiling: listen on %s:%d: %s\n", host, port, strerror(errno));
        return 1;
    }
    socklen_t al = sizeof a;
    getsockname(G.lfd, (struct sockaddr *)&a, &al);
    G.ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event lev = {.events = EPOLLIN, .data.fd = G.lfd};
    epoll_ctl(G.ep, EPOLL_CTL_ADD, G.lfd, &lev);
    fprintf(stderr, "listening on http://%s:%d\n", host, ntohs(a.sin_port));

    struct epoll_event evs[CEIL_MAX_EVENTS];
    while (!G.stop) {
        int n = epoll_wait(G.ep, evs, CEIL_MAX_EVENTS, 1000);
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == G.lfd) {
                on_accept();
                continue;
            }
            if (!G.conns[fd].used) continue;
            if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) conn_readable(fd);
            if (G.conns[fd].used && (evs[i].events & EPOLLOUT)) conn_flush(fd);
        }
        /* End of the turn: answer held GETs that have packets, then write every dirty
         * connection once. */
        for (uint32_t k = 0; k < G.nflush; k++) {
            sess *s = &G.sessions[G.flush[k]];
            s->dirty = 0;
            if (s->used && !s->ws && s->fd >= 0 && s->pend.len) poll_answer(G.flush[k]);
        }
        G.nflush = 0;
        for (int k = 0; k < G.ndirty; k++) {
            int fd = G.dirty[k];
            G.conns[fd].dirty = 0;
            if (G.conns[fd].used) conn_flush(fd);
        }
        G.ndirty = 0;
    }
    return 0;
}
