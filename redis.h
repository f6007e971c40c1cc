/* SPDX-License-Identifier: MIT */
/* redis.h -- a small non-blocking Redis client on sio's event loop (internal to sio).
 *
 * One sio_redis is one TCP connection to one Redis server, in one of two modes:
 *   - command mode: sio__redis_command() queues a command and a callback; replies come back in
 *     order (Redis answers a connection's commands in the order it sent them), so the pending
 *     callbacks are a FIFO.
 *   - subscriber mode (SIO_REDIS_SUBSCRIBER): the connection only SUBSCRIBEs/PSUBSCRIBEs; every
 *     message published to a matching channel goes to the message callback. The client remembers
 *     its subscriptions and sends them again after every reconnect.
 * The Redis adapter uses one of each, as @socket.io/redis-adapter does.
 *
 * Life of a connection: the first attempt starts on the next loop turn after sio__redis_new();
 * connect() is non-blocking (TCP_NODELAY), then AUTH (if the URL has a password), SELECT (if it
 * names a database other than 0) and PING go out ahead of anything else, followed in subscriber
 * mode by the saved subscriptions. When the handshake replies (and, in subscriber mode, the
 * subscription confirmations) are in, the client is "up" and the state callback says so. Any
 * error -- refused or timed-out connect, EOF, a read/write error, a malformed reply, a reply bigger
 * than SIO_REDIS_MAX_INBUF, output piling up past SIO_REDIS_MAX_OUTBUF because Redis stopped
 * reading, an AUTH/SELECT error -- closes the connection, logs why, fails every pending callback
 * (each is called once, with reply NULL), tells the state callback "down", and schedules the next
 * attempt after an exponential, jittered backoff (SIO_REDIS_BACKOFF_MIN_MS doubling to
 * SIO_REDIS_BACKOFF_MAX_MS). While down, commands are refused (SIO_REDIS_ERR_DOWN): Pub/Sub is
 * at-most-once anyway, and a queue that grows while Redis is away is memory nobody bounds.
 *
 * Buffers: output is appended to one buffer and written when the descriptor is writable (writable
 * interest is registered only while bytes are pending, so commands issued in one loop turn leave
 * in one write), or at once when more than SIO_REDIS_FLUSH_AT bytes are waiting. Input is read into
 * one buffer, until the socket is drained (at most SIO_REDIS_READ_BUDGET bytes a turn, so a busy
 * subscription keeps up with its publishers without starving the clients); every complete reply in it is parsed (resp.h) and handed to its callback as tokens
 * that point into that buffer -- valid until the callback returns. Both buffers grow by doubling
 * and shrink back when they empty. Nothing is allocated per byte or per reply.
 *
 * Callbacks may call any function here, sio__redis_free() included (the free then happens when
 * the callback returns). They run from the loop, never from inside a call the owner made.
 *
 * Host names are resolved with getaddrinfo(), which blocks: once, at the first attempt (and again
 * only while resolution keeps failing). Use an IP address to avoid it entirely.
 */
#ifndef SIO_REDIS_H
#define SIO_REDIS_H

#include "loop.h"
#include "resp.h"

#include <stddef.h>

/* ====== Limits and timings (override with -D) ====== */
#ifndef SIO_REDIS_MAX_INBUF
#define SIO_REDIS_MAX_INBUF (SIO_RESP_MAX_BULK + 1024L * 1024) /* largest reply, bytes; bigger -> reconnect */
#endif
#ifndef SIO_REDIS_MAX_OUTBUF
#define SIO_REDIS_MAX_OUTBUF (64L * 1024 * 1024) /* unsent bytes; more -> Redis is too slow: reconnect */
#endif
#ifndef SIO_REDIS_MAX_PENDING
#define SIO_REDIS_MAX_PENDING (1L << 20) /* commands awaiting replies; more -> refused (ERR_LIMIT) */
#endif
#ifndef SIO_REDIS_MAX_TOKENS
#define SIO_REDIS_MAX_TOKENS (1L << 20) /* values in one reply; more -> reconnect */
#endif
#ifndef SIO_REDIS_CONNECT_TIMEOUT_MS
#define SIO_REDIS_CONNECT_TIMEOUT_MS 5000 /* connect + handshake must finish within this */
#endif
#ifndef SIO_REDIS_BACKOFF_MIN_MS
#define SIO_REDIS_BACKOFF_MIN_MS 100 /* first reconnect delay (before jitter) */
#endif
#ifndef SIO_REDIS_BACKOFF_MAX_MS
#define SIO_REDIS_BACKOFF_MAX_MS 5000 /* reconnect delays double up to this */
#endif
#ifndef SIO_REDIS_READ_BUDGET
#define SIO_REDIS_READ_BUDGET (1L << 20) /* bytes read from one connection per loop turn, at most;
                                            the rest waits for the next turn */
#endif
#ifndef SIO_REDIS_FLUSH_AT
#define SIO_REDIS_FLUSH_AT 65536 /* pending output that is written at once, not at the next turn */
#endif

#define SIO_REDIS_SUBSCRIBER 1 /* flag for sio__redis_new(): a Pub/Sub subscriber connection */

/* Negative results of the functions below. */
enum sio_redis_err {
    SIO_REDIS_ERR_DOWN = -1,  /* not connected (or connecting): try again when the state is up */
    SIO_REDIS_ERR_LIMIT = -2, /* a limit was reached (pending commands, output buffer) */
    SIO_REDIS_ERR_MODE = -3,  /* a command on a subscriber, or a subscription on a command client */
    SIO_REDIS_ERR_ARG = -4,   /* a bad argument (URL, empty channel, too many arguments) */
    SIO_REDIS_ERR_NOMEM = -5  /* out of memory */
};

/* A parsed redis:// URL. */
struct sio_redis_url {
    char host[256]; /* host name or IP address (IPv6 without its brackets) */
    int port;       /* 1..65535, default 6379 */
    char user[128]; /* ACL user name, "" for none (percent-decoded) */
    char pass[256]; /* password, "" for none (percent-decoded) */
    int db;         /* database number, default 0 */
};

/* What a client has done so far (for logs and tests). */
struct sio_redis_stats {
    unsigned long attempts; /* connection attempts started */
    unsigned long ups;      /* times the client became up (handshake and subscriptions done) */
    unsigned long drops;    /* connections closed after an error, EOF or limit */
    unsigned long replies;  /* replies handed to command callbacks */
    unsigned long failed;   /* command callbacks called without a reply (reply == NULL) */
    unsigned long messages; /* Pub/Sub messages handed to the message callback */
};

typedef struct sio_redis sio_redis;

/* A command's reply: tokens reply[0..ntok) (resp.h; reply[0] is the whole reply, and an error
 * reply is a SIO_RESP_ERROR token), valid until the callback returns. reply == NULL (ntok 0) means
 * there will be no reply: the connection was lost first, or the client is being freed. Called
 * exactly once per accepted command. */
typedef void (*sio_redis_reply_cb)(sio_redis *r, const struct sio_resp_tok *reply, int ntok, void *ud);
/* A Pub/Sub message. pattern is {NULL,0} for a SUBSCRIBE match, the pattern for a PSUBSCRIBE match.
 * All slices point into the input buffer and are valid until the callback returns. */
typedef void (*sio_redis_message_cb)(sio_redis *r, sio_str channel, sio_str pattern, sio_str payload,
                                     void *ud);
/* up = 1 when the client became up, 0 when an up client went down. */
typedef void (*sio_redis_state_cb)(sio_redis *r, int up, void *ud);
/* One log line, without a newline, e.g. "sub 127.0.0.1:6379: connection lost: EOF; retrying in 87 ms". */
typedef void (*sio_redis_log_cb)(void *ud, const char *line);

/* Parses redis://[[user]:password@]host[:port][/db]. IPv6 hosts go in brackets
 * (redis://[::1]:6380). user and password are percent-decoded. Returns 0, or SIO_REDIS_ERR_ARG for
 * another scheme (rediss:// needs TLS, which sio does not do), a user without a password, an empty
 * host, a bad port or db, a query or fragment, or a part too long for its field. */
int sio__redis_parse_url(const char *url, struct sio_redis_url *u);

/* Creates a client for `url` (see sio__redis_parse_url) on loop l; flags 0 or
 * SIO_REDIS_SUBSCRIBER. Nothing happens until the loop runs: set the callbacks first.
 * Returns NULL for a bad URL or out of memory. Free with sio__redis_free(). */
sio_redis *sio__redis_new(sio_loop *l, const char *url, int flags);

/* Closes the connection, calls every pending command callback with reply NULL, and frees r.
 * Called from inside one of r's callbacks, it takes effect when that callback returns.
 * sio__redis_free(NULL) does nothing. */
void sio__redis_free(sio_redis *r);

/* Where log lines go (default: stderr, "redis: " + line). cb NULL restores the default. */
void sio__redis_set_log(sio_redis *r, sio_redis_log_cb cb, void *ud);
void sio__redis_on_state(sio_redis *r, sio_redis_state_cb cb, void *ud);
void sio__redis_on_message(sio_redis *r, sio_redis_message_cb cb, void *ud);

/* Queues a command: argument i is argv[i][0..lens[i]) (binary-safe; lens NULL for C strings).
 * Returns 0, and cb (may be NULL) will be called once with the reply or with NULL; or a negative
 * SIO_REDIS_ERR_* (DOWN while there is no connection or attempt in progress, MODE on a subscriber,
 * LIMIT, ARG for argc < 1, NOMEM), and then cb is never called. Commands queued while connecting
 * go out after the handshake. Hitting SIO_REDIS_MAX_OUTBUF also schedules a reconnect (logged):
 * Redis is not reading. */
int sio__redis_command(sio_redis *r, int argc, const char *const *argv, const size_t *lens,
                       sio_redis_reply_cb cb, void *ud);

/* sio__redis_command() with NUL-terminated arguments, ending with NULL (at most 64):
 *   sio__redis_cmd(r, on_reply, ud, "HMGET", key, "userID", "username", (char *)NULL); */
int sio__redis_cmd(sio_redis *r, sio_redis_reply_cb cb, void *ud, const char *arg0, ...);

/* Subscriber mode: adds a channel (pattern = 0, SUBSCRIBE) or a glob pattern (pattern = 1,
 * PSUBSCRIBE) to the set this client keeps subscribed, across reconnects. Sends it now if
 * connected or connecting. Adding one already in the set does nothing. Returns 0 or a negative
 * SIO_REDIS_ERR_* (MODE on a command client, ARG for an empty name, NOMEM). */
int sio__redis_subscribe(sio_redis *r, const char *name, size_t len, int pattern);
/* Removes it from the set (and sends UNSUBSCRIBE/PUNSUBSCRIBE if connected). Messages already on
 * their way may still arrive. Returns 0, or SIO_REDIS_ERR_ARG if it was not in the set. */
int sio__redis_unsubscribe(sio_redis *r, const char *name, size_t len, int pattern);

/* 1 if the client is up (handshake done, subscriptions confirmed), else 0. */
int sio__redis_is_up(const sio_redis *r);
/* Counters since creation. */
const struct sio_redis_stats *sio__redis_stats(const sio_redis *r);
/* A short description of a SIO_REDIS_ERR_* code. */
const char *sio__redis_strerror(int err);

#endif /* SIO_REDIS_H */
