/* SPDX-License-Identifier: MIT */
/* store.h -- the chat's session and message store (the tutorial's sessionStore.js and
 * messageStore.js), with two back ends: memory, and an append-only file.
 *
 * JavaScript (tutorial parts 2 and 3)          C
 *   sessionStore.findSession(id)               store_find_session(st, id)
 *   sessionStore.saveSession(id, session)      store_save_session(st, id, user_id, username, connected)
 *   sessionStore.findAllSessions()             store_session_count(st) + store_session_at(st, i)
 *   messageStore.saveMessage(message)          store_save_message(st, from, to, content, len)
 *   messageStore.findMessagesForUser(userID)   store_messages_for_user(st, user_id, cb, ud)
 *   (grouped by the other user, as part 3's    store_conversation(st, user_a, user_b, &msgs)
 *    connection handler does)
 *
 * Both back ends keep everything in memory; the file back end also appends one record per
 * change to <dir>/chat.aof, replays it at open and compacts it when it grows. The file format is
 * described at the top of store.c.
 *
 * Identifiers (sessionID, userID) are exactly STORE_ID_LEN lowercase hex characters. Usernames
 * and message contents are JSON text, kept and written back byte for byte; the file back end
 * needs them compact (no raw newline), which is what sio_jw_* and chat.c's compaction produce.
 *
 * Lifetimes: pointers returned by the store (sessions, messages) stay valid until the next
 * store_save_*() or store_close() call.
 */
#ifndef STORE_H
#define STORE_H

#include <stddef.h>
#include <stdint.h>

/* ====== Limits (override with -D) ====== */
#ifndef STORE_MAX_RECORD
#define STORE_MAX_RECORD (1u << 20) /* bytes of one record's JSON; longer ones are refused */
#endif
#ifndef STORE_COMPACT_MIN_BYTES
#define STORE_COMPACT_MIN_BYTES (1u << 20) /* the file is never compacted below this size */
#endif
#ifndef STORE_COMPACT_PERCENT
#define STORE_COMPACT_PERCENT 100 /* compact when the file is this much bigger than the live data
                                     (Redis's auto-aof-rewrite-percentage) */
#endif
#define STORE_ID_LEN 16      /* characters in a sessionID or userID (8 random bytes in hex) */
#define STORE_ERR_LEN 256    /* size of the err buffer store_open() fills */
#define STORE_FILE "chat.aof" /* the file's name inside the data directory */

/* ====== Errors ====== */
#define STORE_OK 0
#define STORE_ERR_NOMEM (-1) /* out of memory */
#define STORE_ERR_INVAL (-2) /* bad argument (an id that is not STORE_ID_LEN hex, too long) */
#define STORE_ERR_IO (-3)    /* the file could not be written; nothing was changed */

/* fsync policies, as Redis's appendfsync. */
#define STORE_FSYNC_ALWAYS 0   /* fsync after every record, before the call returns */
#define STORE_FSYNC_EVERYSEC 1 /* fsync when a second has passed since the last one, and at close */
#define STORE_FSYNC_NO 2       /* never fsync; the kernel writes back when it likes */

typedef struct store store;

/* What store_open() needs. */
struct store_options {
    const char *dir;     /* data directory (created if missing); NULL = the memory back end */
    int fsync_policy;    /* STORE_FSYNC_* (file back end only) */
    size_t max_history;  /* messages kept per conversation (pair of users); 0 = no limit */
    void (*warn)(const char *msg); /* called with each replay warning (NULL: stderr) */
};

/* A session: sessionStore's {userID, username, connected} under its sessionID. */
typedef struct store_session {
    char session_id[STORE_ID_LEN + 1]; /* the key (a credential: never log it) */
    char user_id[STORE_ID_LEN + 1];    /* the user's public id */
    char *username;                    /* JSON text of the username, as the app gave it */
    size_t username_len;               /* bytes of username */
    int connected;                     /* 1 while some socket of this user is connected */
    size_t rec_bytes;                  /* (internal) size of its latest record in the file */
} store_session;

/* A message: messageStore's {content, from, to}. */
typedef struct store_message {
    uint64_t seq;                 /* insertion order over the whole store */
    char from[STORE_ID_LEN + 1];  /* sender's userID */
    char to[STORE_ID_LEN + 1];    /* recipient's userID */
    size_t rec_bytes;             /* (internal) size of its record in the file */
    size_t len;                   /* bytes of content */
    char content[];               /* JSON text of the content (not NUL-terminated) */
} store_message;

/* Opens a store. With o->dir set: takes an exclusive lock on the directory (a second server on
 * the same directory is refused), replays <dir>/chat.aof -- a torn last record is dropped and the
 * file truncated before it; a corrupt record elsewhere is skipped, each with a warning -- then
 * compacts the file if it is mostly dead records. Returns the store, or NULL with a message in
 * err (e.g. "data/chat.aof: not a sio chat store"). Free with store_close(). */
store *store_open(const struct store_options *o, char err[STORE_ERR_LEN]);

/* Flushes (fsync, unless the policy is STORE_FSYNC_NO), unlocks and frees everything. NULL is a
 * no-op. */
void store_close(store *st);

/* 1 for the file back end, 0 for memory. */
int store_is_durable(const store *st);

/* The session with this id, or NULL. `id` need not be NUL-terminated; any length is allowed. */
const store_session *store_find_session(const store *st, const char *id, size_t id_len);

/* The (latest) session of this userID, or NULL. */
const store_session *store_find_user(const store *st, const char *user_id);

/* saveSession(id, {userID, username, connected}): adds the session, or replaces its value in
 * place (it keeps its position). With the file back end the record is written (and fsynced
 * under "always") before the call returns; on STORE_ERR_IO the in-memory state is unchanged.
 * Returns STORE_OK or an error. */
int store_save_session(store *st, const char *session_id, const char *user_id, const char *username,
                       size_t username_len, int connected);

/* Sessions in insertion order: i from 0 to store_session_count() - 1. */
size_t store_session_count(const store *st);
const store_session *store_session_at(const store *st, size_t i);

/* saveMessage({content, from, to}): appends a message (content is JSON text). The oldest
 * message of the conversation {from, to} is forgotten when it holds more than max_history.
 * A message to oneself is kept once. Same durability and error rules as store_save_session. */
int store_save_message(store *st, const char *from, const char *to, const char *content, size_t len);

/* The messages between users a and b (either direction; a == b: messages to oneself), oldest
 * first. Stores the array in *msgs and returns its length (0, *msgs NULL, when none). */
size_t store_conversation(const store *st, const char *a, const char *b, store_message *const **msgs);

/* findMessagesForUser(userID): calls cb for every kept message from or to user_id, in insertion
 * order. Returns the number of messages, or STORE_ERR_NOMEM. */
typedef void (*store_message_cb)(const store_message *m, void *ud);
long store_messages_for_user(const store *st, const char *user_id, store_message_cb cb, void *ud);

/* Counters for logs and tests. */
struct store_stats {
    size_t sessions;      /* sessions known */
    size_t messages;      /* messages kept */
    uint64_t file_bytes;  /* size of the file (0 for memory) */
    uint64_t live_bytes;  /* bytes a freshly compacted file would hold */
    unsigned compactions; /* compactions since open */
    unsigned skipped;     /* corrupt records skipped at open */
    unsigned torn;        /* torn tails dropped at open (0 or 1) */
};
void store_stats(const store *st, struct store_stats *out);

/* Rewrites the file now (temp file + fsync + rename), whatever its size. Returns STORE_OK,
 * STORE_ERR_IO (the old file is kept) or STORE_ERR_NOMEM. A no-op for the memory back end. */
int store_compact(store *st);

/* Under STORE_FSYNC_EVERYSEC: fsyncs if records were written since the last fsync and at least
 * a second has passed. For a periodic timer (cheap when there is nothing to do). */
void store_tick(store *st);

#endif /* STORE_H */
