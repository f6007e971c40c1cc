/* SPDX-License-Identifier: MIT */
/* store.c -- sessions and messages for the chat, in memory and in an append-only file.
 *
 * Memory back end: the tutorial's InMemorySessionStore (an insertion-ordered map) and
 * InMemoryMessageStore (a list), with two differences: messages are grouped by conversation (the
 * pair of users), which is how part 3 reads them, and each conversation keeps at most
 * max_history messages (the oldest go first).
 *
 * File back end: the same state, plus one record appended to <dir>/chat.aof for every change,
 * replayed at open (Redis's appendonly file, in spirit). The file format:
 *
 *   file    = "SIOCHAT 1\n" *record
 *   record  = type SP length SP crc SP payload LF
 *   type    = "S" (a saveSession) / "M" (a saveMessage)
 *   length  = decimal byte count of payload, 1 .. STORE_MAX_RECORD, no leading zero
 *   crc     = 8 lowercase hex digits: CRC-32 (IEEE 802.3, as zlib's crc32()) of the type byte
 *             followed by the payload
 *   payload = compact JSON, one line (JSON text never holds a raw LF outside whitespace, and the
 *             store refuses text that does):
 *             S  {"sessionID":"<16 hex>","userID":"<16 hex>","username":<JSON>,"connected":true|false}
 *             M  {"content":<JSON>,"from":"<16 hex>","to":"<16 hex>"}
 *
 * For example:
 *   S 90 0c8f3a1e {"sessionID":"cca574fca085dbca","userID":"7f52042d290874d8","username":"alice","connected":true}
 *
 * Replaying applies the records in order: a later S record for the same sessionID replaces the
 * session's value in place; M records append. Every record is written with one write() call
 * before the store call returns, so a crash of the process (kill -9) loses nothing that was
 * acknowledged; fsync (the appendfsync policy) is what protects against a crash of the machine.
 * A record that fails its checks (format, length, LF, checksum, JSON) is corrupt: the reader
 * skips to the next LF and carries on, with a warning. If nothing valid follows, the bad bytes
 * are a torn tail (a write cut short by a crash): they are dropped and the file is truncated to
 * the end of the last good record before anything new is appended.
 *
 * Compaction: when the file passes STORE_COMPACT_MIN_BYTES and is more than
 * STORE_COMPACT_PERCENT % bigger than the live data (one S record per session, one M record per
 * kept message), it is rewritten into chat.aof.tmp, fsynced, and renamed over chat.aof (then the
 * directory is fsynced). A crash at any point leaves either the old or the new file whole.
 * Compaction runs inline: it blocks the event loop for as long as it takes to write the live
 * data once (Redis forks instead; a chat's live data is small).
 *
 * Not done here: checking that usernames or contents are sensible (chat.c does that), any form
 * of expiry (the tutorial's Redis store expires keys after 24 h; this one keeps them).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* fdatasync, O_CLOEXEC, flock */
#endif
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "json.h"

#define STORE_HEADER "SIOCHAT 1\n"          /* first bytes of every store file */
#define STORE_HEADER_LEN (sizeof STORE_HEADER - 1)
#define RECORD_HEAD_MAX 32                  /* "S 1048576 0123abcd " and then some */
#define COMPACT_BUF (64u * 1024)            /* write buffer of a compaction */

/* ====== CRC-32 ====== */

/* CRC-32 with the reflected IEEE polynomial, continuing from `crc` (start with 0). The same
 * value zlib's crc32() and Python's zlib.crc32() give, so the file can be checked by hand. */
static uint32_t crc32_update(uint32_t crc, const void *data, size_t len)
{
    static uint32_t table[256];
    static int ready;
    if (!ready) {
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[i] = c;
        }
        ready = 1;
    }
    const unsigned char *p = data;
    crc = ~crc;
    while (len--) crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

/* The checksum of a record: over the type byte, then the payload. */
static uint32_t record_crc(char type, const char *payload, size_t len)
{
    return crc32_update(crc32_update(0, &type, 1), payload, len);
}

/* ====== Record parsing ====== */

/* One record found in a buffer; slices point into it. */
struct record {
    char type;           /* 'S', 'M', or another capital letter (unknown: skipped) */
    const char *payload; /* the JSON text */
    size_t len;          /* its length */
};

/* Parses the record at the start of buf[0..len). Returns the bytes it spans (> 0, LF
 * included), -2 if buf ends inside it (read more, or: a torn tail), or -1 if it is malformed
 * (bad syntax, a length over STORE_MAX_RECORD, no LF where the length says, a checksum
 * mismatch). Never reads buf[len], never allocates; *r is cleared first. */
static long parse_record(const char *buf, size_t len, struct record *r)
{
    r->type = 0;
    r->payload = NULL;
    r->len = 0;
    size_t i = 0, n = 0, digits = 0;
    if (len < 1) return -2;
    if (buf[0] < 'A' || buf[0] > 'Z') return -1;
    if (len < 2) return -2;
    if (buf[1] != ' ') return -1;
    for (i = 2; i < len && buf[i] >= '0' && buf[i] <= '9'; i++) {
        if (++digits > 7 || (digits == 2 && buf[2] == '0')) return -1; /* 7 digits > 1 MiB; no leading 0 */
        n = n * 10 + (size_t)(buf[i] - '0');
    }
    if (i == len) return -2;
    if (digits == 0 || buf[i] != ' ' || n == 0 || n > STORE_MAX_RECORD) return -1;
    i++;
    uint32_t crc = 0;
    for (int k = 0; k < 8; k++, i++) {
        if (i == len) return -2;
        char c = buf[i];
        if (c >= '0' && c <= '9') crc = crc << 4 | (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f') crc = crc << 4 | (uint32_t)(c - 'a' + 10);
        else return -1;
    }
    if (i == len) return -2;
    if (buf[i] != ' ') return -1;
    i++;
    if (len - i < n + 1) return -2;
    if (buf[i + n] != '\n') return -1;
    if (record_crc(buf[0], buf + i, n) != crc) return -1;
    r->type = buf[0];
    r->payload = buf + i;
    r->len = n;
    return (long)(i + n + 1);
}

/* ====== The store ====== */

/* An open-addressing hash index over items of an array: slots hold item index + 1 (0 = empty).
 * Keys are fixed-length byte strings found through the store (keyof). Never shrinks. */
struct index {
    uint32_t *slots; /* cap entries */
    size_t cap;      /* a power of two, or 0 */
    size_t used;     /* filled slots */
};

/* A conversation: the messages between two users, oldest first. */
struct conv {
    char key[2 * STORE_ID_LEN]; /* the two userIDs, the smaller first (equal for oneself) */
    store_message **msgs;       /* n messages */
    size_t n;                   /* messages kept */
    size_t cap;                 /* allocated entries of msgs */
};

struct store {
    int fd;                      /* chat.aof, opened O_APPEND; -1 for the memory back end */
    int dirfd;                   /* the data directory, flock()ed; -1 for memory */
    char *path;                  /* "<dir>/chat.aof" (for messages) */
    char *tmp_path;              /* "<dir>/chat.aof.tmp" */
    int fsync_policy;            /* STORE_FSYNC_* */
    size_t max_history;          /* per conversation; 0 = no limit */
    void (*warn)(const char *);  /* replay warnings */

    store_session *sessions;     /* n_sessions, in insertion order */
    size_t n_sessions, cap_sessions; /* used and allocated entries */
    struct index by_sid;         /* sessionID -> sessions[] */
    struct index by_uid;         /* userID -> sessions[] (the latest session of that user) */

    struct conv *convs;          /* n_convs conversations */
    size_t n_convs, cap_convs;   /* used and allocated entries */
    struct index by_pair;        /* conversation key -> convs[] */
    size_t n_messages;           /* messages kept, over all conversations */
    uint64_t next_seq;           /* seq of the next message */

    uint64_t file_bytes;         /* current size of chat.aof */
    uint64_t live_bytes;         /* header + every live record */
    int dirty;                   /* written since the last fsync */
    int64_t last_fsync_ms;       /* monotonic time of the last fsync */
    unsigned compactions;        /* since open */
    unsigned skipped, torn;      /* replay findings */
};

/* Milliseconds on the monotonic clock (for the everysec policy). */
static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* 1 if p[0..STORE_ID_LEN) are lowercase hex digits. */
static int is_id(const char *p)
{
    for (int i = 0; i < STORE_ID_LEN; i++)
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f'))) return 0;
    return 1;
}

static void warnf(const store *st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Formats a warning and hands it to the store's warn callback (or stderr). */
static void warnf(const store *st, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (st->warn) st->warn(msg);
    else fprintf(stderr, "store: %s\n", msg);
}

/* ====== Hash indexes ====== */

typedef const char *(*keyof_fn)(const store *st, uint32_t item);

static const char *sid_of(const store *st, uint32_t i) { return st->sessions[i].session_id; }
static const char *uid_of(const store *st, uint32_t i) { return st->sessions[i].user_id; }
static const char *pair_of(const store *st, uint32_t i) { return st->convs[i].key; }

static size_t hash_key(const char *k, size_t n)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)k[i]) * 1099511628211ull;
    return (size_t)(h ^ (h >> 29));
}

/* The slot holding `key`, or the empty slot where it would go. ix->cap must be > 0. */
static size_t idx_slot(const store *st, const struct index *ix, const char *key, size_t klen, keyof_fn keyof)
{
    size_t mask = ix->cap - 1, i = hash_key(key, klen) & mask;
    while (ix->slots[i] && memcmp(keyof(st, ix->slots[i] - 1), key, klen) != 0) i = (i + 1) & mask;
    return i;
}

/* The item with `key`, or -1. */
static long idx_find(const store *st, const struct index *ix, const char *key, size_t klen, keyof_fn keyof)
{
    if (!ix->cap) return -1;
    size_t i = idx_slot(st, ix, key, klen, keyof);
    return ix->slots[i] ? (long)ix->slots[i] - 1 : -1;
}

/* Makes room for one more key (load factor <= 1/2). Returns 0 or STORE_ERR_NOMEM (the index
 * is unchanged then). */
static int idx_reserve(const store *st, struct index *ix, size_t klen, keyof_fn keyof)
{
    if ((ix->used + 1) * 2 <= ix->cap) return 0;
    size_t cap = ix->cap ? ix->cap * 2 : 64;
    uint32_t *slots = calloc(cap, sizeof *slots);
    if (!slots) return STORE_ERR_NOMEM;
    struct index grown = {slots, cap, ix->used};
    for (size_t i = 0; i < ix->cap; i++)
        if (ix->slots[i]) slots[idx_slot(st, &grown, keyof(st, ix->slots[i] - 1), klen, keyof)] = ix->slots[i];
    free(ix->slots);
    *ix = grown;
    return 0;
}

/* Points `key` at `item` (replacing what it pointed at). Room must have been reserved. */
static void idx_put(const store *st, struct index *ix, const char *key, size_t klen, keyof_fn keyof, uint32_t item)
{
    size_t i = idx_slot(st, ix, key, klen, keyof);
    if (!ix->slots[i]) ix->used++;
    ix->slots[i] = item + 1;
}

/* ====== Records: building and appending ====== */

/* Writes a session's payload JSON into w. */
static void session_json(sio_jw *w, const char *sid, const char *uid, const char *username, size_t ulen, int connected)
{
    sio_jw_obj(w);
    sio_jw_key(w, "sessionID");
    sio_jw_strn(w, sid, STORE_ID_LEN);
    sio_jw_key(w, "userID");
    sio_jw_strn(w, uid, STORE_ID_LEN);
    sio_jw_key(w, "username");
    sio_jw_raw(w, username, ulen);
    sio_jw_key(w, "connected");
    sio_jw_bool(w, connected);
    sio_jw_end(w);
}

/* Writes a message's payload JSON ({content, from, to}, the tutorial's key order) into w. */
static void message_json(sio_jw *w, const char *content, size_t len, const char *from, const char *to)
{
    sio_jw_obj(w);
    sio_jw_key(w, "content");
    sio_jw_raw(w, content, len);
    sio_jw_key(w, "from");
    sio_jw_strn(w, from, STORE_ID_LEN);
    sio_jw_key(w, "to");
    sio_jw_strn(w, to, STORE_ID_LEN);
    sio_jw_end(w);
}

/* Formats the head of a record ("S 90 0c8f3a1e ") into head; returns its length. */
static size_t record_head(char head[RECORD_HEAD_MAX], char type, const char *payload, size_t len)
{
    return (size_t)snprintf(head, RECORD_HEAD_MAX, "%c %zu %08x ", type, len, (unsigned)record_crc(type, payload, len));
}

/* Writes all of iov[0..n) to fd, retrying short writes and EINTR. Returns 0 or -1 (errno). */
static int write_all(int fd, struct iovec *iov, int n)
{
    while (n > 0) {
        ssize_t w = writev(fd, iov, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        size_t left = (size_t)w;
        while (n > 0 && left >= iov->iov_len) {
            left -= iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + left;
            iov->iov_len -= left;
        }
    }
    return 0;
}

/* fdatasync, retried on EINTR. Returns 0 or -1 (errno). */
static int sync_file(int fd)
{
    int r;
    do r = fdatasync(fd);
    while (r < 0 && errno == EINTR);
    return r;
}

/* Appends one record and applies the fsync policy. On success stores the record's size in
 * *rec_bytes and returns 0. On failure the file is truncated back to where it was (so a half
 * record never stays in the middle of the file) and STORE_ERR_IO is returned. */
static int append_record(store *st, char type, const char *payload, size_t len, size_t *rec_bytes)
{
    char head[RECORD_HEAD_MAX];
    size_t hlen = record_head(head, type, payload, len);
    struct iovec iov[3] = {{head, hlen}, {(void *)payload, len}, {"\n", 1}};
    if (write_all(st->fd, iov, 3) < 0) goto fail;
    int64_t t = now_ms();
    if (st->fsync_policy == STORE_FSYNC_ALWAYS ||
        (st->fsync_policy == STORE_FSYNC_EVERYSEC && t - st->last_fsync_ms >= 1000)) {
        if (sync_file(st->fd) < 0) goto fail;
        st->last_fsync_ms = t;
        st->dirty = 0;
    } else {
        st->dirty = 1;
    }
    *rec_bytes = hlen + len + 1;
    st->file_bytes += *rec_bytes;
    return 0;
fail:
    warnf(st, "%s: write failed: %s", st->path, strerror(errno));
    if (ftruncate(st->fd, (off_t)st->file_bytes) < 0) warnf(st, "%s: truncate failed: %s", st->path, strerror(errno));
    return STORE_ERR_IO;
}

/* Builds the payload in w and appends it (file back end only). */
static int append_json(store *st, char type, sio_jw *w, size_t *rec_bytes)
{
    if (w->err) return STORE_ERR_NOMEM;
    if (w->len > STORE_MAX_RECORD) return STORE_ERR_INVAL;
    return append_record(st, type, w->buf, w->len, rec_bytes);
}

static int compact_if_needed(store *st);

/* ====== Sessions ====== */

/* class InMemorySessionStore extends SessionStore {
 *   constructor() { super(); this.sessions = new Map(); }
 *   findSession(id) { return this.sessions.get(id); }
 *   saveSession(id, session) { this.sessions.set(id, session); }
 *   findAllSessions() { return [...this.sessions.values()]; }
 * }
 *
 * saveSession, with or without writing a record: replay_bytes 0 = write one (if the store has
 * a file), else the size of the replayed record. Everything that can fail (memory, the write)
 * happens before the state changes, so a failure leaves the store as it was. */
static int save_session(store *st, const char *sid, const char *uid, const char *username, size_t ulen, int connected,
                        size_t replay_bytes)
{
    if (!is_id(sid) || !is_id(uid) || !username || !ulen) return STORE_ERR_INVAL;
    if (st->fd >= 0 && (memchr(username, '\n', ulen) || ulen > STORE_MAX_RECORD / 2)) return STORE_ERR_INVAL; /* one line */
    long at = idx_find(st, &st->by_sid, sid, STORE_ID_LEN, sid_of);
    char *copy = malloc(ulen + 1);
    if (!copy) return STORE_ERR_NOMEM;
    memcpy(copy, username, ulen);
    copy[ulen] = '\0';
    if (at < 0) { /* reserve room for a new entry */
        if (st->n_sessions == st->cap_sessions) {
            size_t cap = st->cap_sessions ? st->cap_sessions * 2 : 16;
            store_session *grown = realloc(st->sessions, cap * sizeof *grown);
            if (!grown) goto nomem;
            st->sessions = grown;
            st->cap_sessions = cap;
        }
        if (st->n_sessions >= UINT32_MAX - 1 || idx_reserve(st, &st->by_sid, STORE_ID_LEN, sid_of) < 0) goto nomem;
    }
    if (idx_reserve(st, &st->by_uid, STORE_ID_LEN, uid_of) < 0) goto nomem;
    size_t rec = replay_bytes;
    if (!replay_bytes && st->fd >= 0) {
        char stack[512];
        sio_jw w;
        sio_jw_init(&w, stack, sizeof stack);
        session_json(&w, sid, uid, username, ulen, connected);
        int rc = append_json(st, 'S', &w, &rec);
        sio_jw_free(&w);
        if (rc < 0) {
            free(copy);
            return rc;
        }
    }
    store_session *s;
    if (at >= 0) {
        s = &st->sessions[at];
        free(s->username);
        st->live_bytes -= s->rec_bytes;
    } else {
        at = (long)st->n_sessions++;
        s = &st->sessions[at];
        memcpy(s->session_id, sid, STORE_ID_LEN);
        s->session_id[STORE_ID_LEN] = '\0';
        idx_put(st, &st->by_sid, sid, STORE_ID_LEN, sid_of, (uint32_t)at);
    }
    memcpy(s->user_id, uid, STORE_ID_LEN);
    s->user_id[STORE_ID_LEN] = '\0';
    idx_put(st, &st->by_uid, uid, STORE_ID_LEN, uid_of, (uint32_t)at); /* reserved above, or already there */
    s->username = copy;
    s->username_len = ulen;
    s->connected = connected != 0;
    s->rec_bytes = rec;
    st->live_bytes += rec;
    return STORE_OK;
nomem:
    free(copy);
    return STORE_ERR_NOMEM;
}

int store_save_session(store *st, const char *session_id, const char *user_id, const char *username,
                       size_t username_len, int connected)
{
    if (!st || !session_id || !user_id) return STORE_ERR_INVAL;
    int rc = save_session(st, session_id, user_id, username, username_len, connected, 0);
    if (rc == STORE_OK) compact_if_needed(st);
    return rc;
}

const store_session *store_find_session(const store *st, const char *id, size_t id_len)
{
    if (!st || !id || id_len != STORE_ID_LEN) return NULL;
    long at = idx_find(st, &st->by_sid, id, STORE_ID_LEN, sid_of);
    return at >= 0 ? &st->sessions[at] : NULL;
}

const store_session *store_find_user(const store *st, const char *user_id)
{
    if (!st || !user_id || strlen(user_id) != STORE_ID_LEN) return NULL;
    long at = idx_find(st, &st->by_uid, user_id, STORE_ID_LEN, uid_of);
    /* (a session whose userID changed leaves its old key behind: check) */
    return at >= 0 && !memcmp(st->sessions[at].user_id, user_id, STORE_ID_LEN) ? &st->sessions[at] : NULL;
}

size_t store_session_count(const store *st) { return st ? st->n_sessions : 0; }

const store_session *store_session_at(const store *st, size_t i)
{
    return st && i < st->n_sessions ? &st->sessions[i] : NULL;
}

/* ====== Messages ====== */

/* The conversation key of users a and b: the smaller id first. */
static void pair_key(char key[2 * STORE_ID_LEN], const char *a, const char *b)
{
    if (memcmp(a, b, STORE_ID_LEN) > 0) {
        const char *t = a;
        a = b;
        b = t;
    }
    memcpy(key, a, STORE_ID_LEN);
    memcpy(key + STORE_ID_LEN, b, STORE_ID_LEN);
}

/* The conversation of a and b, created (empty) if needed. NULL when out of memory. */
static struct conv *conv_get(store *st, const char *a, const char *b)
{
    char key[2 * STORE_ID_LEN];
    pair_key(key, a, b);
    long at = idx_find(st, &st->by_pair, key, sizeof key, pair_of);
    if (at >= 0) return &st->convs[at];
    if (st->n_convs == st->cap_convs) {
        size_t cap = st->cap_convs ? st->cap_convs * 2 : 16;
        struct conv *grown = realloc(st->convs, cap * sizeof *grown);
        if (!grown) return NULL;
        st->convs = grown;
        st->cap_convs = cap;
    }
    if (st->n_convs >= UINT32_MAX - 1 || idx_reserve(st, &st->by_pair, sizeof key, pair_of) < 0) return NULL;
    struct conv *c = &st->convs[st->n_convs];
    memset(c, 0, sizeof *c);
    memcpy(c->key, key, sizeof key);
    idx_put(st, &st->by_pair, key, sizeof key, pair_of, (uint32_t)st->n_convs);
    st->n_convs++;
    return c;
}

/* class InMemoryMessageStore extends MessageStore {
 *   constructor() { super(); this.messages = []; }
 *   saveMessage(message) { this.messages.push(message); }
 *   findMessagesForUser(userID) {
 *     return this.messages.filter(({ from, to }) => from === userID || to === userID);
 *   }
 * }
 *
 * saveMessage, with or without writing a record (see save_session). Here messages are kept per
 * conversation, so that part 3's grouping by the other user is a lookup. */
static int save_message(store *st, const char *from, const char *to, const char *content, size_t len,
                        size_t replay_bytes)
{
    if (!is_id(from) || !is_id(to) || !content || !len) return STORE_ERR_INVAL;
    if (st->fd >= 0 && (memchr(content, '\n', len) || len > STORE_MAX_RECORD - 64)) return STORE_ERR_INVAL; /* one line */
    struct conv *c = conv_get(st, from, to); /* an empty conversation is harmless if we fail below */
    if (!c) return STORE_ERR_NOMEM;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 8;
        store_message **grown = realloc(c->msgs, cap * sizeof *grown);
        if (!grown) return STORE_ERR_NOMEM;
        c->msgs = grown;
        c->cap = cap;
    }
    store_message *m = malloc(sizeof *m + len);
    if (!m) return STORE_ERR_NOMEM;
    size_t rec = replay_bytes;
    if (!replay_bytes && st->fd >= 0) {
        char stack[1024];
        sio_jw w;
        sio_jw_init(&w, stack, sizeof stack);
        message_json(&w, content, len, from, to);
        int rc = append_json(st, 'M', &w, &rec);
        sio_jw_free(&w);
        if (rc < 0) {
            free(m);
            return rc;
        }
    }
    m->seq = st->next_seq++;
    memcpy(m->from, from, STORE_ID_LEN);
    m->from[STORE_ID_LEN] = '\0';
    memcpy(m->to, to, STORE_ID_LEN);
    m->to[STORE_ID_LEN] = '\0';
    m->rec_bytes = rec;
    m->len = len;
    memcpy(m->content, content, len);
    c->msgs[c->n++] = m;
    st->n_messages++;
    st->live_bytes += rec;
    if (st->max_history && c->n > st->max_history) { /* forget the oldest */
        st->live_bytes -= c->msgs[0]->rec_bytes;
        free(c->msgs[0]);
        memmove(c->msgs, c->msgs + 1, --c->n * sizeof *c->msgs);
        st->n_messages--;
    }
    return STORE_OK;
}

int store_save_message(store *st, const char *from, const char *to, const char *content, size_t len)
{
    if (!st || !from || !to) return STORE_ERR_INVAL;
    int rc = save_message(st, from, to, content, len, 0);
    if (rc == STORE_OK) compact_if_needed(st);
    return rc;
}

size_t store_conversation(const store *st, const char *a, const char *b, store_message *const **msgs)
{
    *msgs = NULL;
    if (!st || !a || !b || strlen(a) != STORE_ID_LEN || strlen(b) != STORE_ID_LEN) return 0;
    char key[2 * STORE_ID_LEN];
    pair_key(key, a, b);
    long at = idx_find(st, &st->by_pair, key, sizeof key, pair_of);
    if (at < 0 || !st->convs[at].n) return 0;
    *msgs = st->convs[at].msgs;
    return st->convs[at].n;
}

/* qsort order of message pointers: by seq (insertion order). */
static int by_seq(const void *a, const void *b)
{
    uint64_t x = (*(store_message *const *)a)->seq, y = (*(store_message *const *)b)->seq;
    return x < y ? -1 : x > y;
}

/* Every kept message of the conversations selected by `user` (NULL: all), in insertion order,
 * in a new array (free it); *n gets the count. NULL with *n = 0 when there are none or out of
 * memory (*n = (size_t)-1 then). */
static store_message **collect(const store *st, const char *user, size_t *n)
{
    size_t total = 0;
    for (size_t i = 0; i < st->n_convs; i++) {
        const struct conv *c = &st->convs[i];
        if (!user || !memcmp(c->key, user, STORE_ID_LEN) || !memcmp(c->key + STORE_ID_LEN, user, STORE_ID_LEN))
            total += c->n;
    }
    *n = 0;
    if (!total) return NULL;
    store_message **all = malloc(total * sizeof *all);
    if (!all) {
        *n = (size_t)-1;
        return NULL;
    }
    for (size_t i = 0; i < st->n_convs; i++) {
        const struct conv *c = &st->convs[i];
        if (!user || !memcmp(c->key, user, STORE_ID_LEN) || !memcmp(c->key + STORE_ID_LEN, user, STORE_ID_LEN)) {
            memcpy(all + *n, c->msgs, c->n * sizeof *all);
            *n += c->n;
        }
    }
    qsort(all, *n, sizeof *all, by_seq);
    return all;
}

long store_messages_for_user(const store *st, const char *user_id, store_message_cb cb, void *ud)
{
    if (!st || !user_id || strlen(user_id) != STORE_ID_LEN || !cb) return 0;
    size_t n;
    store_message **all = collect(st, user_id, &n);
    if (n == (size_t)-1) return STORE_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) cb(all[i], ud);
    free(all);
    return (long)n;
}

/* ====== Replay ====== */

/* Copies the JSON string `v` into out if it decodes to STORE_ID_LEN hex digits; 0 or -1. */
static int get_id(sio_str obj, const char *key, char out[STORE_ID_LEN + 1])
{
    sio_str v = sio_json_get(obj, key);
    return sio_json_unescape(v, out, STORE_ID_LEN + 1) == STORE_ID_LEN && is_id(out) ? 0 : -1;
}

/* Applies one replayed record to the in-memory state. Returns 0, or -1 with *why set when the
 * record is well formed but its JSON is not what its type needs (then it is skipped). */
static int apply_record(store *st, const struct record *r, size_t rec_bytes, const char **why)
{
    sio_str obj = {r->payload, r->len};
    char a[STORE_ID_LEN + 1], b[STORE_ID_LEN + 1];
    *why = "bad JSON";
    if (sio_json_parse(r->payload, r->len, NULL, 0) < 0 || sio_json_typeof(obj) != SIO_JSON_OBJECT) return -1;
    if (r->type == 'S') {
        sio_str name = sio_json_get(obj, "username"), conn = sio_json_get(obj, "connected");
        *why = "bad session record";
        if (get_id(obj, "sessionID", a) < 0 || get_id(obj, "userID", b) < 0 || !name.p) return -1;
        if (sio_json_typeof(conn) != SIO_JSON_TRUE && sio_json_typeof(conn) != SIO_JSON_FALSE) return -1;
        int rc = save_session(st, a, b, name.p, name.len, sio_json_typeof(conn) == SIO_JSON_TRUE, rec_bytes);
        *why = rc == STORE_ERR_NOMEM ? "out of memory" : "bad session record";
        return rc == STORE_OK ? 0 : -1;
    }
    if (r->type == 'M') {
        sio_str content = sio_json_get(obj, "content");
        *why = "bad message record";
        if (get_id(obj, "from", a) < 0 || get_id(obj, "to", b) < 0 || !content.p) return -1;
        int rc = save_message(st, a, b, content.p, content.len, rec_bytes);
        *why = rc == STORE_ERR_NOMEM ? "out of memory" : "bad message record";
        return rc == STORE_OK ? 0 : -1;
    }
    *why = "unknown record type";
    return -1;
}

/* Reads the whole file into a new buffer (free it); *len gets its size. NULL on error. */
static char *read_all(int fd, size_t *len)
{
    struct stat sb;
    if (fstat(fd, &sb) < 0) return NULL;
    size_t size = (size_t)sb.st_size, got = 0;
    char *buf = malloc(size ? size : 1);
    if (!buf) return NULL;
    while (got < size) {
        ssize_t n = pread(fd, buf + got, size - got, (off_t)got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break; /* shrank under us: use what was read */
        got += (size_t)n;
    }
    *len = got;
    return buf;
}

/* Replays the open file: checks the header (writing it into an empty file), applies every
 * record, skips corrupt ones with a warning, truncates a torn tail. Returns 0, or -1 with a
 * message in err. */
static int replay(store *st, char *err)
{
    size_t len = 0;
    char *buf = read_all(st->fd, &len);
    if (!buf) {
        snprintf(err, STORE_ERR_LEN, "%s: %s", st->path, strerror(errno));
        return -1;
    }
    size_t good_end = STORE_HEADER_LEN;
    if (len < STORE_HEADER_LEN) {
        if (memcmp(buf, STORE_HEADER, len) != 0) goto not_ours;
        if (len) warnf(st, "%s: torn header (%zu bytes): rewritten", st->path, len);
        free(buf);
        if (ftruncate(st->fd, 0) < 0 || write(st->fd, STORE_HEADER, STORE_HEADER_LEN) != (ssize_t)STORE_HEADER_LEN ||
            (st->fsync_policy != STORE_FSYNC_NO && sync_file(st->fd) < 0)) {
            snprintf(err, STORE_ERR_LEN, "%s: %s", st->path, strerror(errno));
            return -1;
        }
        st->file_bytes = st->live_bytes = STORE_HEADER_LEN;
        return 0;
    }
    if (memcmp(buf, STORE_HEADER, STORE_HEADER_LEN) != 0) goto not_ours;

    size_t off = STORE_HEADER_LEN, bad = 0;
    int in_bad = 0;
    while (off < len) {
        struct record r;
        long n = parse_record(buf + off, len - off, &r);
        if (n > 0) {
            if (in_bad) {
                warnf(st, "%s: corrupt data at offset %zu (%zu bytes): skipped", st->path, bad, off - bad);
                st->skipped++;
                in_bad = 0;
            }
            const char *why;
            if (apply_record(st, &r, (size_t)n, &why) < 0) {
                warnf(st, "%s: record at offset %zu (%c, %zu bytes): %s: skipped", st->path, off, r.type, (size_t)n, why);
                st->skipped++;
            }
            off += (size_t)n;
            good_end = off;
            continue;
        }
        if (!in_bad) { /* resynchronise at the next line */
            in_bad = 1;
            bad = off;
        }
        const char *nl = memchr(buf + off, '\n', len - off);
        off = nl ? (size_t)(nl - buf) + 1 : len;
    }
    free(buf);
    if (in_bad) { /* nothing valid after it: a write cut short */
        warnf(st, "%s: torn record at the end (offset %zu, %zu bytes): dropped", st->path, good_end, len - good_end);
        st->torn = 1;
        if (ftruncate(st->fd, (off_t)good_end) < 0 || (st->fsync_policy != STORE_FSYNC_NO && sync_file(st->fd) < 0)) {
            snprintf(err, STORE_ERR_LEN, "%s: truncate: %s", st->path, strerror(errno));
            return -1;
        }
    }
    st->file_bytes = good_end;
    st->live_bytes += STORE_HEADER_LEN;
    return 0;
not_ours:
    free(buf);
    snprintf(err, STORE_ERR_LEN, "%s: not a sio chat store (no \"SIOCHAT 1\" header); refusing to touch it", st->path);
    return -1;
}

/* ====== Compaction ====== */

/* A buffered writer for the compacted file. */
struct out {
    int fd;      /* the temp file */
    char *buf;   /* COMPACT_BUF bytes */
    size_t len;  /* bytes waiting in buf */
    int failed;  /* a write failed (errno kept) */
};

/* Writes what is buffered; a failure is remembered in o->failed. */
static void out_flush(struct out *o)
{
    if (o->failed || !o->len) return;
    struct iovec iov = {o->buf, o->len};
    if (write_all(o->fd, &iov, 1) < 0) o->failed = 1;
    o->len = 0;
}

/* Appends n bytes through the buffer (a chunk bigger than the buffer is written directly). */
static void out_put(struct out *o, const void *p, size_t n)
{
    if (o->len + n > COMPACT_BUF) out_flush(o);
    if (n > COMPACT_BUF) {
        struct iovec iov = {(void *)p, n};
        if (!o->failed && write_all(o->fd, &iov, 1) < 0) o->failed = 1;
        return;
    }
    memcpy(o->buf + o->len, p, n);
    o->len += n;
}

/* Writes one record of w's JSON; returns its size (0 if w failed). */
static size_t out_record(struct out *o, char type, sio_jw *w)
{
    if (w->err) {
        o->failed = 1;
        errno = ENOMEM;
        return 0;
    }
    char head[RECORD_HEAD_MAX];
    size_t h = record_head(head, type, w->buf, w->len);
    out_put(o, head, h);
    out_put(o, w->buf, w->len);
    out_put(o, "\n", 1);
    return h + w->len + 1;
}

int store_compact(store *st)
{
    if (!st || st->fd < 0) return STORE_OK;
    size_t n = 0;
    store_message **all = collect(st, NULL, &n);
    if (n == (size_t)-1) return STORE_ERR_NOMEM;
    struct out o = {-1, malloc(COMPACT_BUF), 0, 0};
    if (!o.buf) {
        free(all);
        return STORE_ERR_NOMEM;
    }
    o.fd = open(st->tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
    if (o.fd < 0) {
        warnf(st, "%s: compaction: %s", st->tmp_path, strerror(errno));
        free(o.buf);
        free(all);
        return STORE_ERR_IO;
    }
    /* Record sizes are recomputed as they are written, and only committed on success. */
    uint64_t total = STORE_HEADER_LEN;
    out_put(&o, STORE_HEADER, STORE_HEADER_LEN);
    char stack[1024];
    sio_jw w;
    for (size_t i = 0; i < st->n_sessions && !o.failed; i++) {
        const store_session *s = &st->sessions[i];
        sio_jw_init(&w, stack, sizeof stack);
        session_json(&w, s->session_id, s->user_id, s->username, s->username_len, s->connected);
        total += out_record(&o, 'S', &w);
        sio_jw_free(&w);
    }
    for (size_t i = 0; i < n && !o.failed; i++) {
        sio_jw_init(&w, stack, sizeof stack);
        message_json(&w, all[i]->content, all[i]->len, all[i]->from, all[i]->to);
        total += out_record(&o, 'M', &w);
        sio_jw_free(&w);
    }
    out_flush(&o);
    free(o.buf);
    if (o.failed || sync_file(o.fd) < 0 || rename(st->tmp_path, st->path) < 0) {
        warnf(st, "%s: compaction failed: %s (the old file is kept)", st->path, strerror(errno));
        close(o.fd);
        unlink(st->tmp_path);
        free(all);
        return STORE_ERR_IO;
    }
    if (fsync(st->dirfd) < 0) warnf(st, "%s: fsync of the directory: %s", st->path, strerror(errno));
    close(st->fd);
    st->fd = o.fd;
    st->file_bytes = st->live_bytes = total;
    st->dirty = 0;
    st->last_fsync_ms = now_ms();
    st->compactions++;
    /* The live records are exactly what was just written: refresh their sizes. */
    for (size_t i = 0; i < st->n_sessions; i++) {
        const store_session *s = &st->sessions[i];
        sio_jw_init(&w, stack, sizeof stack);
        session_json(&w, s->session_id, s->user_id, s->username, s->username_len, s->connected);
        char head[RECORD_HEAD_MAX];
        st->sessions[i].rec_bytes = record_head(head, 'S', w.buf, w.len) + w.len + 1;
        sio_jw_free(&w);
    }
    free(all);
    return STORE_OK;
}

/* Compacts when the file is past the minimum size and mostly dead records. */
static int compact_if_needed(store *st)
{
    if (st->fd < 0 || st->file_bytes < STORE_COMPACT_MIN_BYTES) return STORE_OK;
    if (st->file_bytes * 100 <= st->live_bytes * (100 + STORE_COMPACT_PERCENT)) return STORE_OK;
    return store_compact(st);
}

/* ====== Open, close, stats ====== */

store *store_open(const struct store_options *o, char err[STORE_ERR_LEN])
{
    store *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, STORE_ERR_LEN, "out of memory");
        return NULL;
    }
    st->fd = st->dirfd = -1;
    st->fsync_policy = o->fsync_policy;
    st->max_history = o->max_history;
    st->warn = o->warn;
    if (!o->dir) return st; /* the memory back end: nothing else to do */

    size_t dl = strlen(o->dir);
    st->path = malloc(dl + sizeof STORE_FILE + 1);
    st->tmp_path = malloc(dl + sizeof STORE_FILE + 5);
    if (!st->path || !st->tmp_path) {
        snprintf(err, STORE_ERR_LEN, "out of memory");
        goto fail;
    }
    sprintf(st->path, "%s/%s", o->dir, STORE_FILE);
    sprintf(st->tmp_path, "%s/%s.tmp", o->dir, STORE_FILE);
    if (mkdir(o->dir, 0700) < 0 && errno != EEXIST) {
        snprintf(err, STORE_ERR_LEN, "data directory %s: %s", o->dir, strerror(errno));
        goto fail;
    }
    st->dirfd = open(o->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (st->dirfd < 0) {
        snprintf(err, STORE_ERR_LEN, "data directory %s: %s", o->dir, strerror(errno));
        goto fail;
    }
    if (flock(st->dirfd, LOCK_EX | LOCK_NB) < 0) {
        snprintf(err, STORE_ERR_LEN, "data directory %s is in use by another process (%s)", o->dir,
                 errno == EWOULDBLOCK ? "locked" : strerror(errno));
        goto fail;
    }
    unlink(st->tmp_path); /* a compaction that was cut short */
    st->fd = open(st->path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (st->fd < 0) {
        snprintf(err, STORE_ERR_LEN, "%s: %s", st->path, strerror(errno));
        goto fail;
    }
    if (replay(st, err) < 0) goto fail;
    /* "connected" describes live sockets, and after a restart there are none. */
    for (size_t i = 0; i < st->n_sessions; i++) st->sessions[i].connected = 0;
    st->last_fsync_ms = now_ms();
    if (compact_if_needed(st) < 0) warnf(st, "%s: compaction at open failed; carrying on with the old file", st->path);
    return st;
fail:
    store_close(st);
    return NULL;
}

void store_close(store *st)
{
    if (!st) return;
    if (st->fd >= 0) {
        if (st->dirty && st->fsync_policy != STORE_FSYNC_NO && sync_file(st->fd) < 0) warnf(st, "%s: fsync: %s", st->path, strerror(errno));
        close(st->fd);
    }
    if (st->dirfd >= 0) close(st->dirfd); /* releases the lock */
    for (size_t i = 0; i < st->n_sessions; i++) free(st->sessions[i].username);
    for (size_t i = 0; i < st->n_convs; i++) {
        for (size_t k = 0; k < st->convs[i].n; k++) free(st->convs[i].msgs[k]);
        free(st->convs[i].msgs);
    }
    free(st->sessions);
    free(st->convs);
    free(st->by_sid.slots);
    free(st->by_uid.slots);
    free(st->by_pair.slots);
    free(st->path);
    free(st->tmp_path);
    free(st);
}

int store_is_durable(const store *st) { return st && st->fd >= 0; }

void store_tick(store *st)
{
    if (!st || st->fd < 0 || !st->dirty || st->fsync_policy != STORE_FSYNC_EVERYSEC) return;
    int64_t t = now_ms();
    if (t - st->last_fsync_ms < 1000) return;
    if (sync_file(st->fd) < 0) warnf(st, "%s: fsync: %s", st->path, strerror(errno));
    st->last_fsync_ms = t;
    st->dirty = 0;
}

void store_stats(const store *st, struct store_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!st) return;
    out->sessions = st->n_sessions;
    out->messages = st->n_messages;
    out->file_bytes = st->fd >= 0 ? st->file_bytes : 0;
    out->live_bytes = st->fd >= 0 ? st->live_bytes : 0;
    out->compactions = st->compactions;
    out->skipped = st->skipped;
    out->torn = st->torn;
}
