/* SPDX-License-Identifier: MIT */
/* chat_redis.c -- the chat's stores in Redis (tutorial part 4); see chat_redis.h for the keys. */
#include "chat_redis.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "resp.h"

#define KEY_MAX (16 + STORE_ID_LEN + 1) /* "messages:" or "session:" plus an id, and a NUL */

/* 1 if p[0..n) is exactly STORE_ID_LEN hex digits (what both the tutorial and sio generate). */
static int is_id(const char *p, size_t n)
{
    if (n != STORE_ID_LEN) return 0;
    for (size_t i = 0; i < n; i++)
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f'))) return 0;
    return 1;
}

/* Sends a whole MULTI ... EXEC: cmds[i] is argument vector i (argc[i] arguments, lens[i] their
 * lengths or NULL). Only EXEC has a callback. If a command cannot be queued half-way, DISCARD is
 * sent so the connection does not stay inside a transaction. Returns 0 or an SIO_ERR_*. */
static int transaction(sio_server *srv, int n, const int *argc, const char *const *const *cmds,
                       const size_t *const *lens, sio_redis_cb cb, void *ud)
{
    static const char *const multi[] = {"MULTI"}, *const exec[] = {"EXEC"}, *const discard[] = {"DISCARD"};
    int rc = sio_redis_command(srv, 1, multi, NULL, NULL, NULL);
    if (rc < 0) return rc; /* nothing went out */
    for (int i = 0; i < n && rc == 0; i++) rc = sio_redis_command(srv, argc[i], cmds[i], lens[i], NULL, NULL);
    if (rc == 0) rc = sio_redis_command(srv, 1, exec, NULL, cb, ud);
    if (rc < 0) sio_redis_command(srv, 1, discard, NULL, NULL, NULL);
    return rc;
}

/* ====== Sessions ====== */

int chat_redis_save_session(sio_server *srv, const char *session_id, const char *user_id, const char *username,
                            size_t username_len, int connected)
{
    char key[KEY_MAX];
    snprintf(key, sizeof key, "session:%s", session_id);
    const char *hset[] = {"HSET", key, "userID", user_id, "username", username, "connected", connected ? "true" : "false"};
    const size_t hset_lens[] = {4, strlen(key), 6, strlen(user_id), 8, username_len, 9, connected ? 4u : 5u};
    const char *expire[] = {"EXPIRE", key, CHAT_REDIS_TTL};
    const int argc[] = {8, 3};
    const char *const *cmds[] = {hset, expire};
    const size_t *lens[] = {hset_lens, NULL};
    return transaction(srv, 2, argc, cmds, lens, NULL, NULL);
}

/* Fills s from the three values of HMGET <key> userID username connected, which start at tok[0].
 * Returns 1 for a usable session, 0 for none (no userID, or something another writer left that
 * is not a session of ours). */
static int session_from(const struct sio_resp_tok *tok, struct chat_session *s)
{
    const struct sio_resp_tok *uid = &tok[0], *name = &tok[1], *conn = &tok[2];
    if (uid->type != SIO_RESP_BULK || !is_id(uid->str.p, uid->str.len)) return 0;
    if (name->type != SIO_RESP_BULK || name->str.len > CHAT_REDIS_MAX_USERNAME) return 0;
    memcpy(s->user_id, uid->str.p, STORE_ID_LEN);
    s->user_id[STORE_ID_LEN] = '\0';
    s->username = name->str.p;
    s->username_len = name->str.len;
    s->connected = conn->type == SIO_RESP_BULK && conn->str.len == 4 && !memcmp(conn->str.p, "true", 4);
    s->first_msg = CHAT_REDIS_NONE;
    return 1;
}

/* A findSession() in flight. */
struct find {
    chat_redis_session_cb cb; /* the caller's callback */
    void *ud;                 /* its data */
};

/* findSession's reply: [userID, username, connected], each a bulk string or nil. */
static void on_hmget(int err, const struct sio_resp_tok *r, int ntok, void *ud)
{
    struct find f = *(struct find *)ud;
    free(ud);
    if (err) {
        f.cb(err, NULL, f.ud);
        return;
    }
    struct chat_session s;
    if (r[0].type == SIO_RESP_ERROR) f.cb(SIO_ERR_CLOSED, NULL, f.ud);
    else if (r[0].type == SIO_RESP_ARRAY && r[0].n == 3 && ntok == 4 && session_from(&r[1], &s)) f.cb(0, &s, f.ud);
    else f.cb(0, NULL, f.ud);
}

int chat_redis_find_session(sio_server *srv, const char *session_id, chat_redis_session_cb cb, void *ud)
{
    struct find *f = malloc(sizeof *f);
    if (!f) return SIO_ERR_NOMEM;
    f->cb = cb;
    f->ud = ud;
    char key[KEY_MAX];
    snprintf(key, sizeof key, "session:%s", session_id);
    const char *argv[] = {"HMGET", key, "userID", "username", "connected"};
    int rc = sio_redis_command(srv, 5, argv, NULL, on_hmget, f);
    if (rc < 0) free(f);
    return rc;
}

/* ====== Messages ====== */

int chat_redis_save_message(sio_server *srv, const char *from, const char *to, const char *json, size_t len)
{
    char kfrom[KEY_MAX], kto[KEY_MAX];
    snprintf(kfrom, sizeof kfrom, "messages:%s", from);
    snprintf(kto, sizeof kto, "messages:%s", to);
    const char *push_from[] = {"RPUSH", kfrom, json}, *push_to[] = {"RPUSH", kto, json};
    const size_t lfrom[] = {5, strlen(kfrom), len}, lto[] = {5, strlen(kto), len};
    const char *exp_from[] = {"EXPIRE", kfrom, CHAT_REDIS_TTL}, *exp_to[] = {"EXPIRE", kto, CHAT_REDIS_TTL};
    const int argc[] = {3, 3, 3, 3};
    if (strcmp(from, to) == 0) { /* to oneself: one list, pushed once */
        const char *const *cmds[] = {push_from, exp_from};
        const size_t *lens[] = {lfrom, NULL};
        return transaction(srv, 2, argc, cmds, lens, NULL, NULL);
    }
    const char *const *cmds[] = {push_from, push_to, exp_from, exp_to};
    const size_t *lens[] = {lfrom, lto, NULL, NULL};
    return transaction(srv, 4, argc, cmds, lens, NULL, NULL);
}

/* ====== Loading a user's view: messages and every session ====== */

static int loads_running; /* chat_redis_load()s whose commands are out (at most CHAT_REDIS_MAX_LOADS) */
static struct load *waiting_first, *waiting_last; /* loads waiting for a slot, oldest first */
static size_t nwaiting; /* entries in that list (at most CHAT_REDIS_MAX_WAITING) */
static int load_start(struct load *l);

/* A chat_redis_load() in flight. Two strands run at once -- the LRANGE, and SCAN then HMGETs --
 * and the callback runs when both have ended. */
struct load {
    sio_server *srv;           /* the server (for the next commands) */
    char user_id[STORE_ID_LEN + 1]; /* whose messages */
    chat_redis_load_cb cb;     /* the caller's callback */
    void *ud;                  /* its data */
    int strands;               /* strands still running (2, then 1, then 0) */
    int err;                   /* the first error seen, or 0 */
    char *text;                /* message texts, one after the other */
    struct chat_msg *msgs;     /* messages (json pointers are set at the end: text may move) */
    size_t nmsgs;              /* entries in msgs */
    size_t *msg_off;           /* offset of each message's text in text */
    char (*keys)[KEY_MAX];     /* session keys found by SCAN */
    size_t nkeys, capkeys;     /* used and allocated entries in keys */
    int truncated;             /* CHAT_REDIS_MAX_SESSIONS keys were found; the scan stopped */
    struct chat_session *sessions; /* the sessions, once their HMGETs are in */
    size_t nsessions;          /* entries in sessions */
    char *names;               /* the sessions' usernames, one after the other */
    size_t *name_off;          /* offset of each session's username in names */
    int started;               /* its commands are out (it counts in loads_running) */
    struct load *next_waiting; /* the next load waiting for a slot */
};

/* Frees a load and everything it copied. */
static void load_free(struct load *l)
{
    if (l->started) loads_running--;
    free(l->text);
    free(l->msgs);
    free(l->msg_off);
    free(l->keys);
    free(l->sessions);
    free(l->names);
    free(l->name_off);
    free(l);
    while (waiting_first && loads_running < CHAT_REDIS_MAX_LOADS) { /* a slot is free: the next one */
        struct load *w = waiting_first;
        waiting_first = w->next_waiting;
        if (!waiting_first) waiting_last = NULL;
        nwaiting--;
        int rc = load_start(w);
        if (rc < 0) {
            w->cb(rc, NULL, w->ud);
            free(w);
        }
    }
}

static int key_cmp(const void *a, const void *b) { return strcmp(a, b); }

/* Orders pointers to sessions by userID. */
static int session_cmp(const void *a, const void *b)
{
    return strcmp((*(struct chat_session *const *)a)->user_id, (*(struct chat_session *const *)b)->user_id);
}

/* Links each message to the session of the user on its other side, oldest first, and hands the
 * result to the caller. Runs when both strands have ended. */
static void load_finish(struct load *l)
{
    if (l->err) {
        l->cb(l->err, NULL, l->ud);
        load_free(l);
        return;
    }
    for (size_t i = 0; i < l->nsessions; i++) l->sessions[i].username = l->names + l->name_off[i];
    for (size_t k = 0; k < l->nmsgs; k++) l->msgs[k].json = l->text + l->msg_off[k];
    /* Each message goes to the end of its other user's chain. The sessions are sorted by key,
     * not by userID, so the user's session is found through a sorted index of userIDs. */
    struct chat_session **by_uid = malloc((l->nsessions ? l->nsessions : 1) * sizeof *by_uid);
    size_t *last = malloc((l->nsessions ? l->nsessions : 1) * sizeof *last);
    if (!by_uid || !last) {
        free(by_uid);
        free(last);
        l->cb(SIO_ERR_NOMEM, NULL, l->ud);
        load_free(l);
        return;
    }
    for (size_t i = 0; i < l->nsessions; i++) by_uid[i] = &l->sessions[i], last[i] = CHAT_REDIS_NONE;
    qsort(by_uid, l->nsessions, sizeof *by_uid, session_cmp);
    for (size_t k = 0; k < l->nmsgs; k++) {
        struct chat_msg *m = &l->msgs[k];
        sio_str v = {m->json, m->len};
        char from[STORE_ID_LEN + 1], to[STORE_ID_LEN + 1];
        long nf = sio_json_unescape(sio_json_get(v, "from"), from, sizeof from);
        long nt = sio_json_unescape(sio_json_get(v, "to"), to, sizeof to);
        const char *other = nf == STORE_ID_LEN && !strcmp(from, l->user_id) ? (nt == STORE_ID_LEN ? to : NULL)
                                                                            : (nf == STORE_ID_LEN ? from : NULL);
        m->next = CHAT_REDIS_NONE;
        if (!other) continue;
        size_t lo = 0, hi = l->nsessions; /* binary search for the other user's session */
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            int c = strcmp(by_uid[mid]->user_id, other);
            if (c == 0) {
                lo = mid;
                break;
            }
            if (c < 0) lo = mid + 1;
            else hi = mid;
        }
        if (lo >= l->nsessions || strcmp(by_uid[lo]->user_id, other)) continue;
        size_t si = (size_t)(by_uid[lo] - l->sessions);
        if (last[si] == CHAT_REDIS_NONE) l->sessions[si].first_msg = k;
        else l->msgs[last[si]].next = k;
        last[si] = k;
    }
    free(by_uid);
    free(last);
    struct chat_load ld = {l->sessions, l->nsessions, l->msgs, l->nmsgs};
    l->cb(0, &ld, l->ud);
    load_free(l);
}

/* One strand has ended (with err, or 0). */
static void strand_done(struct load *l, int err)
{
    if (err && !l->err) l->err = err;
    if (--l->strands == 0) load_finish(l);
}

/* Copies the messages of the LRANGE reply, keeping those that are JSON objects. */
static void on_lrange(int err, const struct sio_resp_tok *r, int ntok, void *ud)
{
    struct load *l = ud;
    if (err || r[0].type != SIO_RESP_ARRAY) {
        strand_done(l, err ? err : SIO_ERR_CLOSED);
        return;
    }
    size_t total = 0, n = 0;
    for (int i = 1; i < ntok; i++) total += r[i].str.len;
    l->text = malloc(total ? total : 1);
    l->msgs = malloc((size_t)(ntok ? ntok : 1) * sizeof *l->msgs);
    l->msg_off = malloc((size_t)(ntok ? ntok : 1) * sizeof *l->msg_off);
    if (!l->text || !l->msgs || !l->msg_off) {
        strand_done(l, SIO_ERR_NOMEM);
        return;
    }
    size_t off = 0;
    for (int i = 1; i < ntok; i++) {
        sio_str v = r[i].str;
        if (r[i].type != SIO_RESP_BULK || sio_json_value_end(v.p, v.len, 0) != (long)v.len ||
            sio_json_typeof(v) != SIO_JSON_OBJECT)
            continue; /* not a message of ours */
        memcpy(l->text + off, v.p, v.len);
        l->msg_off[n] = off;
        l->msgs[n].len = v.len;
        off += v.len;
        n++;
    }
    l->nmsgs = n;
    strand_done(l, 0);
}

/* The EXEC of the HMGETs: one 3-element array per key, in key order. */
static void on_sessions(int err, const struct sio_resp_tok *r, int ntok, void *ud)
{
    struct load *l = ud;
    if (err || r[0].type != SIO_RESP_ARRAY || (size_t)r[0].n != l->nkeys) {
        strand_done(l, err ? err : SIO_ERR_CLOSED);
        return;
    }
    size_t total = 0;
    for (int i = 1; i < ntok; i++) total += r[i].type == SIO_RESP_BULK ? r[i].str.len : 0;
    l->sessions = malloc((l->nkeys ? l->nkeys : 1) * sizeof *l->sessions);
    l->name_off = malloc((l->nkeys ? l->nkeys : 1) * sizeof *l->name_off);
    l->names = malloc(total ? total : 1);
    if (!l->sessions || !l->name_off || !l->names) {
        strand_done(l, SIO_ERR_NOMEM);
        return;
    }
    size_t off = 0;
    for (int i = 1; i < ntok; i += (int)r[i].span) {
        struct chat_session *s = &l->sessions[l->nsessions];
        if (r[i].type != SIO_RESP_ARRAY || r[i].n != 3 || r[i].span != 4 || !session_from(&r[i + 1], s)) continue;
        memcpy(l->names + off, s->username, s->username_len);
        l->name_off[l->nsessions++] = off;
        off += s->username_len;
    }
    strand_done(l, 0);
}

/* The scan is over: sort and de-duplicate the keys (SCAN may return one twice), then read every
 * session in one transaction. */
static void scan_done(struct load *l)
{
    if (l->nkeys == 0) {
        strand_done(l, 0);
        return;
    }
    qsort(l->keys, l->nkeys, sizeof *l->keys, key_cmp);
    size_t n = 1;
    for (size_t i = 1; i < l->nkeys; i++)
        if (strcmp(l->keys[i], l->keys[n - 1])) memcpy(l->keys[n++], l->keys[i], KEY_MAX);
    l->nkeys = n;
    int *argc = malloc(n * sizeof *argc);
    const char *(*argvs)[5] = malloc(n * sizeof *argvs);
    const char *const **cmds = malloc(n * sizeof *cmds);
    const size_t **lens = malloc(n * sizeof *lens);
    int rc = SIO_ERR_NOMEM;
    if (argc && argvs && cmds && lens) {
        for (size_t i = 0; i < n; i++) {
            argc[i] = 5;
            argvs[i][0] = "HMGET";
            argvs[i][1] = l->keys[i];
            argvs[i][2] = "userID";
            argvs[i][3] = "username";
            argvs[i][4] = "connected";
            cmds[i] = argvs[i];
            lens[i] = NULL;
        }
        rc = transaction(l->srv, (int)n, argc, cmds, lens, on_sessions, l);
    }
    free(argc);
    free(argvs);
    free(cmds);
    free(lens);
    if (rc < 0) strand_done(l, rc);
}

static int scan_next(struct load *l, const char *cursor, size_t cursor_len);

/* One SCAN page: [cursor, [key, ...]]. */
static void on_scan(int err, const struct sio_resp_tok *r, int ntok, void *ud)
{
    struct load *l = ud;
    if (err || ntok < 3 || r[0].type != SIO_RESP_ARRAY || r[0].n != 2 || r[1].type != SIO_RESP_BULK ||
        r[2].type != SIO_RESP_ARRAY) {
        strand_done(l, err ? err : SIO_ERR_CLOSED);
        return;
    }
    for (int i = 3; i < ntok && !l->truncated; i++) {
        sio_str k = r[i].str;
        if (r[i].type != SIO_RESP_BULK || k.len >= KEY_MAX) continue; /* not "session:" + an id */
        if (l->nkeys == CHAT_REDIS_MAX_SESSIONS) {
            l->truncated = 1;
            break;
        }
        if (l->nkeys == l->capkeys) {
            size_t cap = l->capkeys ? l->capkeys * 2 : 64;
            void *p = realloc(l->keys, cap * sizeof *l->keys);
            if (!p) {
                strand_done(l, SIO_ERR_NOMEM);
                return;
            }
            l->keys = p;
            l->capkeys = cap;
        }
        memcpy(l->keys[l->nkeys], k.p, k.len);
        l->keys[l->nkeys++][k.len] = '\0';
    }
    if (l->truncated || (r[1].str.len == 1 && r[1].str.p[0] == '0')) {
        scan_done(l);
        return;
    }
    int rc = scan_next(l, r[1].str.p, r[1].str.len);
    if (rc < 0) strand_done(l, rc);
}

/* Asks for the SCAN page after `cursor` ("0" for the first). Returns 0 or an SIO_ERR_*. */
static int scan_next(struct load *l, const char *cursor, size_t cursor_len)
{
    const char *argv[] = {"SCAN", cursor, "MATCH", "session:*", "COUNT", CHAT_REDIS_SCAN_COUNT};
    const size_t lens[] = {4, cursor_len, 5, 9, 5, strlen(CHAT_REDIS_SCAN_COUNT)};
    return sio_redis_command(l->srv, 6, argv, lens, on_scan, l);
}

/* Sends a load's first commands: the LRANGE and the first SCAN. Returns 0 (the callback will
 * run), or an SIO_ERR_* when not even the LRANGE could go out (then it never runs). */
static int load_start(struct load *l)
{
    char key[KEY_MAX], from[24];
    snprintf(key, sizeof key, "messages:%s", l->user_id);
    snprintf(from, sizeof from, "-%d", CHAT_REDIS_MAX_MESSAGES);
    const char *argv[] = {"LRANGE", key, from, "-1"};
    int rc = sio_redis_command(l->srv, 4, argv, NULL, on_lrange, l);
    if (rc < 0) return rc;
    l->started = 1;
    loads_running++;
    l->strands = 2;
    rc = scan_next(l, "0", 1);
    if (rc < 0) { /* the LRANGE is out: let it end the load, with this error */
        l->err = rc;
        l->strands = 1;
    }
    return 0;
}

int chat_redis_load(sio_server *srv, const char *user_id, chat_redis_load_cb cb, void *ud)
{
    if (loads_running >= CHAT_REDIS_MAX_LOADS && nwaiting >= CHAT_REDIS_MAX_WAITING) return SIO_ERR_LIMIT;
    struct load *l = calloc(1, sizeof *l);
    if (!l) return SIO_ERR_NOMEM;
    l->srv = srv;
    snprintf(l->user_id, sizeof l->user_id, "%s", user_id);
    l->cb = cb;
    l->ud = ud;
    if (loads_running >= CHAT_REDIS_MAX_LOADS) { /* wait for a slot (load_free starts it) */
        if (waiting_last) waiting_last->next_waiting = l;
        else waiting_first = l;
        waiting_last = l;
        nwaiting++;
        return 0;
    }
    int rc = load_start(l);
    if (rc < 0) free(l);
    return rc;
}
