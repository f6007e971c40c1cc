/* SPDX-License-Identifier: MIT */
/* eio.h -- the Engine.IO v4 layer, internal to sio: TCP connections, HTTP/1.1 serving,
 * long-polling, WebSocket, the polling->WebSocket upgrade, the heartbeat, and the shared packet
 * buffers that carry everything out. sio.c (the Socket.IO layer) sits on top of it through the
 * callbacks in struct eio_callbacks and the sio__eio_send*() functions.
 */
#ifndef SIO_EIO_H
#define SIO_EIO_H

#include <stddef.h>
#include <stdint.h>

#include "http.h"
#include "loop.h"
#include "sio.h"

/* ====== Limits (override with -D) ====== */
#ifndef SIO_READ_CHUNK
#define SIO_READ_CHUNK 65536 /* bytes read from a socket in one read() */
#endif
#ifndef SIO_MAX_BODY_OTHER
#define SIO_MAX_BODY_OTHER 65536 /* body bytes accepted on requests outside the Engine.IO path */
#endif
#ifndef SIO_WS_MAX_FRAGMENTS
#define SIO_WS_MAX_FRAGMENTS 1024 /* frames in one fragmented WebSocket message; more -> 1008 */
#endif
#ifndef SIO_CLOSE_GRACE_MS
#define SIO_CLOSE_GRACE_MS 30000 /* a closed polling session waits this long for a last GET */
#endif
#ifndef SIO_RESPONSE_HEAD_MAX
#define SIO_RESPONSE_HEAD_MAX 1536 /* bytes of an HTTP response head the server writes (status,
                                      CORS, cookie, extra headers); longer extras are refused */
#endif
#ifndef SIO_CLOSE_DRAIN_MS
#define SIO_CLOSE_DRAIN_MS 1000 /* after its last response or close frame, a connection is
                                   half-closed and its input drained this long before the close,
                                   so the peer reads the answer instead of a reset */
#endif
#ifndef SIO_EAGER_FLUSH_BYTES
#define SIO_EAGER_FLUSH_BYTES (256u << 10) /* a connection with this much queued is written at once,
                                              not at the end of the turn, so a burst does not hit
                                              the output limits of clients that do read */
#endif
#ifndef SIO_MAX_ENDPOINTS
#define SIO_MAX_ENDPOINTS 4 /* paths one server can serve ("/socket.io/", "/engine.io/", ...) */
#endif
#ifndef SIO_ACCEPT_PER_EVENT
#define SIO_ACCEPT_PER_EVENT 64 /* connections accepted per listener readiness event */
#endif

/* ====== Shared packet buffers ====== */

/* One outgoing Engine.IO packet, encoded once and shared, by reference count, by every
 * connection or session that sends it. Immutable once built. */
typedef struct eio_pkt {
    uint32_t refs;           /* references held (queues, builders) */
    uint32_t len;            /* bytes in data */
    uint8_t binary;          /* 1: a binary message (data = raw bytes, no type byte) */
    uint8_t raw;             /* 1: bytes to write as they are (HTTP responses), never framed */
    uint8_t wshdr_len;       /* bytes used in wshdr */
    unsigned char wshdr[10]; /* the WebSocket frame header for data */
    char data[];             /* Engine.IO packet text ("42[...]"), raw binary, or raw bytes */
} eio_pkt;

/* A new packet of `len` bytes with one reference, to be filled in `data` and then finished with
 * sio__pkt_seal(). NULL when out of memory or len > UINT32_MAX. */
eio_pkt *sio__pkt_alloc(size_t len, int binary);
/* Computes the WebSocket header once the data is final. */
void sio__pkt_seal(eio_pkt *p);
/* alloc + copy + seal. */
eio_pkt *sio__pkt_new(const void *data, size_t len, int binary);
static inline eio_pkt *sio__pkt_ref(eio_pkt *p) { p->refs++; return p; }
/* Drops one reference; frees (or recycles) the packet at zero. NULL is a no-op. */
void sio__pkt_unref(eio_pkt *p);

/* ====== Ids and tables ====== */

/* Writes a fresh 20-character base64url id (15 bytes from getrandom) and a NUL to out. */
void sio__new_id(char out[SIO_ID_LEN + 1]);

/* An open-addressing hash table of objects keyed by a 20-byte id stored inside each object at
 * `key_off`. Fixed capacity (a power of two, at least 4/3 of the most entries it will hold),
 * linear probing, backward-shift deletion (no tombstones). */
typedef struct eio_idtab {
    void **slots;    /* the objects, NULL = empty */
    uint32_t mask;   /* capacity - 1 */
    uint32_t count;  /* objects stored */
    uint32_t limit;  /* most objects allowed (at most 3/4 of the capacity) */
    size_t key_off;  /* offset of the 20-byte id in each object */
    uint64_t seed;   /* random hash seed, so clients cannot aim ids at one chain */
} eio_idtab;

int sio__idtab_init(eio_idtab *t, uint32_t max_entries, size_t key_off);
void sio__idtab_free(eio_idtab *t);
/* Returns 0, or SIO_ERR_LIMIT when the table already holds `limit` objects. */
int sio__idtab_put(eio_idtab *t, void *obj);
void *sio__idtab_get(const eio_idtab *t, const char *id, size_t len);
void sio__idtab_del(eio_idtab *t, const void *obj);

/* ====== Engine ====== */

typedef struct eio_engine eio_engine;
typedef struct eio_session eio_session;

/* What the Socket.IO layer hears from the engine. */
struct eio_callbacks {
    /* A session has opened, from handshake request `req` (valid during the call) made from IP
     * address `addr`; return the layer's state for it (kept in the session), or NULL to refuse it
     * (out of memory). */
    void *(*on_open)(eio_session *s, const struct sio_http_req *req, const char *addr, void *ud);
    /* A message arrived: text (without the leading '4') or binary. The bytes are valid until
     * the callback returns. */
    void (*on_message)(eio_session *s, void *state, const char *data, size_t len, int binary);
    /* The session is going away; called once, from the end of a loop turn, never from inside
     * another callback. After it returns the session is freed. */
    void (*on_close)(eio_session *s, void *state, const char *reason);
    void *ud; /* passed to on_open */
};

/* Creates the engine on `loop`. From `o` it takes what is engine-wide: max_clients (sessions;
 * TCP connections are capped at twice that + 64), the HTTP timeouts, the output limits and
 * sid_prefix (copied). NULL on ENOMEM or a bad sid_prefix (see struct sio_options). */
eio_engine *sio__engine_new(sio_loop *loop, const struct sio_options *o);
/* Serves Engine.IO on o->path (ending in '/') with these options (copied; the strings they point
 * to must outlive the engine) and callbacks. Returns 0 or SIO_ERR_INVAL (bad or duplicate path,
 * SIO_MAX_ENDPOINTS reached). */
int sio__engine_attach(eio_engine *e, const struct sio_options *o, const struct eio_callbacks *cb);
void sio__engine_free(eio_engine *e);
/* Starts listening; see sio_server_listen(). */
int sio__engine_listen(eio_engine *e, const char *host, int port, char *err);
int sio__engine_port(const eio_engine *e);
/* Runs the end-of-turn work: deferred closes, polling flushes, batched writes. Must be called
 * from the loop's before-sleep hook. */
void sio__engine_before_sleep(eio_engine *e);
/* Begins a graceful shutdown: every session is closed with reason "server shutting down"
 * (polling: close packet; WebSocket: close frame). The listener stays open until the engine is
 * freed, so polling clients can collect their close packet; new handshakes get 503. */
void sio__engine_shutdown(eio_engine *e);
/* 1 once shutdown has flushed (or given up on) every connection. */
int sio__engine_drained(const eio_engine *e);

/* Testing hook: serves an already-connected descriptor (one end of a socketpair) as if it had
 * been accepted. Returns 0 or -1. Used by the whole-connection fuzz target. */
int sio__engine_adopt(eio_engine *e, int fd);

/* Sets the handler for plain HTTP requests outside the Engine.IO path (NULL: answer 404). */
void sio__engine_on_request(eio_engine *e, sio_request_cb cb, void *ud);

/* Queues one packet to the session (a reference is taken). Dropped silently when the session is
 * closing. With `volatile_` set it is also dropped when the transport cannot take it right now. */
void sio__eio_send(eio_session *s, eio_pkt *p, int volatile_);
/* 1 if a packet queued now would go out at once: an open session whose WebSocket has nothing
 * queued, or whose polling GET is waiting with nothing queued (what `volatile` checks). */
int sio__eio_writable(const eio_session *s);
/* Closes the session from the server side ("forced close" and friends): queued packets are
 * still delivered, then the close packet/frame. Safe from any callback. */
void sio__eio_close(eio_session *s, const char *reason);
/* The session's id (20 characters, NUL-terminated). */
const char *sio__eio_sid(const eio_session *s);
/* 1 if the session is closing or closed (sending is useless). */
int sio__eio_closing(const eio_session *s);
/* A pointer of application data per session (for bare Engine.IO users). */
void sio__eio_set_data(eio_session *s, void *data);
void *sio__eio_data(const eio_session *s);

#endif /* SIO_EIO_H */
