/* SPDX-License-Identifier: MIT */
/* chat_redis.h -- the chat's session and message stores in Redis, as the tutorial's part 4 keeps
 * them (sessionStore.js RedisSessionStore, messageStore.js RedisMessageStore), so that sio nodes
 * and the tutorial's Node workers can share one Redis: same keys, same fields, same expiry.
 *
 *   session:<sessionID>  HASH  userID <userID>  username <username>  connected "true"|"false"
 *   messages:<userID>    LIST  one JSON text {"content":…,"from":…,"to":…} per message
 *   both expire CHAT_REDIS_TTL seconds after their last write
 *
 * JavaScript (tutorial part 4)                     C
 *   sessionStore.saveSession(id, session)          chat_redis_save_session(srv, id, user, name, n, conn)
 *   sessionStore.findSession(id)                   chat_redis_find_session(srv, id, cb, ud)
 *   messageStore.saveMessage(message)              chat_redis_save_message(srv, from, to, json, n)
 *   Promise.all([findMessagesForUser(userID),      chat_redis_load(srv, user_id, cb, ud)
 *                findAllSessions()])
 *
 * Everything goes over the Redis adapter's command connection (sio_redis_command()), so the
 * server must have sio_redis_adapter() set. Saves are fire-and-forget, as in the tutorial; finds
 * answer through a callback that runs exactly once, from the loop.
 * What differs from the tutorial, on purpose:
 *   - a message to oneself is pushed once (the tutorial pushes it twice into the same list);
 *   - the sessions come back sorted by key and without duplicates (SCAN order is unspecified
 *     anyway, and the client sorts the list);
 *   - what other writers put there is checked: a session whose userID is not STORE_ID_LEN hex
 *     characters, or a message that is not a JSON object with string "from" and "to", is skipped;
 *   - the amounts read are capped (CHAT_REDIS_MAX_SESSIONS, CHAT_REDIS_MAX_MESSAGES).
 */
#ifndef CHAT_REDIS_H
#define CHAT_REDIS_H

#include <stddef.h>

#include "sio.h"
#include "store.h" /* STORE_ID_LEN */

/* ====== Limits (override with -D) ====== */
#ifndef CHAT_REDIS_TTL
#define CHAT_REDIS_TTL "86400" /* seconds a session or message list lives after its last write (24 h) */
#endif
#ifndef CHAT_REDIS_MAX_SESSIONS
#define CHAT_REDIS_MAX_SESSIONS 10000 /* session keys read for one "users" list; the rest are left out */
#endif
#ifndef CHAT_REDIS_MAX_LOADS
#define CHAT_REDIS_MAX_LOADS 32 /* chat_redis_load()s with commands out at once; more wait their turn.
                                   With CHAT_REDIS_MAX_SESSIONS this bounds the commands a burst of
                                   connections queues (one HMGET per session each) far below
                                   SIO_REDIS_MAX_PENDING, so a MULTI is never cut off half-way */
#endif
#ifndef CHAT_REDIS_MAX_WAITING
#define CHAT_REDIS_MAX_WAITING 100000 /* loads waiting for their turn; more get SIO_ERR_LIMIT */
#endif
#ifndef CHAT_REDIS_MAX_MESSAGES
#define CHAT_REDIS_MAX_MESSAGES 10000 /* newest messages read for one user (LRANGE -N -1) */
#endif
#ifndef CHAT_REDIS_MAX_USERNAME
#define CHAT_REDIS_MAX_USERNAME 1024 /* bytes of a username read back; a longer one drops the session */
#endif
#define CHAT_REDIS_SCAN_COUNT "100" /* SCAN's COUNT hint, as the tutorial */
#define CHAT_REDIS_NONE ((size_t)-1) /* "no message" in the index links below */

/* A session as read back. */
struct chat_session {
    char user_id[STORE_ID_LEN + 1]; /* the user's id */
    const char *username;           /* the username as Redis keeps it: plain bytes, not JSON */
    size_t username_len;            /* bytes of username */
    int connected;                  /* the field was "true" */
    size_t first_msg;               /* chat_redis_load(): index of the first message exchanged
                                       with this user, or CHAT_REDIS_NONE */
};

/* A message read back (chat_redis_load()). */
struct chat_msg {
    const char *json;     /* the stored JSON text, checked: an object with string from and to */
    size_t len;           /* bytes of json */
    size_t next;          /* index of the next (newer) message with the same other user, or NONE */
};

/* What chat_redis_load() found: the sessions, and the loaded user's messages linked per other
 * user (sessions[i].first_msg, then msgs[k].next), oldest first. Valid during the callback. */
struct chat_load {
    struct chat_session *sessions; /* every session found, sorted by session key */
    size_t nsessions;              /* entries in sessions */
    struct chat_msg *msgs;         /* the user's messages, oldest first */
    size_t nmsgs;                  /* entries in msgs */
};

/* err 0 and found NULL: no such session; err 0 and found: it (valid during the call); err < 0:
 * Redis could not answer (SIO_ERR_CLOSED, ...). */
typedef void (*chat_redis_session_cb)(int err, const struct chat_session *found, void *ud);
/* err 0: ld holds what was found; err < 0: Redis could not answer, ld NULL. */
typedef void (*chat_redis_load_cb)(int err, const struct chat_load *ld, void *ud);

/* saveSession: MULTI; HSET session:<id> userID … username … connected true|false; EXPIRE; EXEC.
 * username is the plain string (not JSON). Returns 0 or an SIO_ERR_* (Redis down: not saved). */
int chat_redis_save_session(sio_server *srv, const char *session_id, const char *user_id, const char *username,
                            size_t username_len, int connected);

/* findSession: HMGET session:<id> userID username connected. cb runs once unless this returns
 * an SIO_ERR_*. */
int chat_redis_find_session(sio_server *srv, const char *session_id, chat_redis_session_cb cb, void *ud);

/* saveMessage: MULTI; RPUSH messages:<from> json; RPUSH messages:<to> json (unless to == from);
 * EXPIRE both; EXEC. json is the message's compact JSON text. Returns 0 or an SIO_ERR_*. */
int chat_redis_save_message(sio_server *srv, const char *from, const char *to, const char *json, size_t len);

/* findMessagesForUser(user_id) and findAllSessions(), issued together (the tutorial's
 * Promise.all): LRANGE messages:<user_id>, SCAN session:* to the end, then one MULTI of HMGETs.
 * cb runs once unless this returns an SIO_ERR_*. */
int chat_redis_load(sio_server *srv, const char *user_id, chat_redis_load_cb cb, void *ud);

#endif
