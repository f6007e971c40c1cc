/* SPDX-License-Identifier: MIT */
/* test_store.c -- unit tests of store.c through its public API: the memory back end (the
 * tutorial's semantics), the file back end (replay, exact record bytes, torn tails cut at every
 * byte, corrupt records skipped, bad headers refused, compaction, the directory lock). */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../store.h"
#include "test.h"

#define SID_A "0123456789abcdef"
#define UID_A "fedcba9876543210"
#define SID_B "1111111111111111"
#define UID_B "2222222222222222"
#define SID_C "3333333333333333"
#define UID_C "4444444444444444"

static char warnings[8192]; /* every warning of the current store, one per line */
static int n_warnings;      /* how many */

static void collect_warning(const char *msg)
{
    size_t l = strlen(warnings);
    snprintf(warnings + l, sizeof warnings - l, "%s\n", msg);
    n_warnings++;
}

static void reset_warnings(void)
{
    warnings[0] = '\0';
    n_warnings = 0;
}

static char dir[256]; /* this run's temp directory */

static store *open_file(size_t max_history)
{
    char err[STORE_ERR_LEN] = "";
    struct store_options o = {dir, STORE_FSYNC_NO, max_history, collect_warning};
    reset_warnings();
    store *st = store_open(&o, err);
    if (!st) fprintf(stderr, "store_open: %s\n", err);
    return st;
}

static store *open_memory(size_t max_history)
{
    char err[STORE_ERR_LEN];
    struct store_options o = {NULL, STORE_FSYNC_NO, max_history, collect_warning};
    return store_open(&o, err);
}

static char *file_path(void)
{
    static char p[300];
    snprintf(p, sizeof p, "%s/%s", dir, STORE_FILE);
    return p;
}

/* Reads the store file into a new buffer. */
static char *read_file(size_t *len)
{
    FILE *f = fopen(file_path(), "rb");
    if (!f) return NULL;
    char *buf = malloc(1 << 22);
    *len = fread(buf, 1, 1 << 22, f);
    fclose(f);
    return buf;
}

/* Writes data as the whole store file (from a guarded copy, which also checks that the
 * test's own buffers are right-sized). */
static void write_file(const char *data, size_t len)
{
    data = guarded(data, len);
    FILE *f = fopen(file_path(), "wb");
    if (!f) abort();
    if (len && fwrite(data, 1, len, f) != len) abort();
    fclose(f);
}

static long file_size(void)
{
    struct stat sb;
    return stat(file_path(), &sb) < 0 ? -1 : (long)sb.st_size;
}

/* Collects messages_for_user() output as "from>to:content;" */
static void cat_message(const store_message *m, void *ud)
{
    char *out = ud;
    size_t l = strlen(out);
    snprintf(out + l, 1024 - l, "%.4s>%.4s:%.*s;", m->from, m->to, (int)m->len, m->content);
}

static void test_memory_sessions(void)
{
    store *st = open_memory(0);
    CHECK(st && !store_is_durable(st), "memory store");
    CHECK(store_find_session(st, SID_A, 16) == NULL, "empty");
    CHECK(store_save_session(st, SID_A, UID_A, "\"alice\"", 7, 1) == STORE_OK, "save a");
    CHECK(store_save_session(st, SID_B, UID_B, "\"bob\"", 5, 1) == STORE_OK, "save b");
    CHECK(store_save_session(st, SID_A, UID_A, "\"alice\"", 7, 0) == STORE_OK, "re-save a");
    CHECK(store_session_count(st) == 2, "two sessions");
    const store_session *s0 = store_session_at(st, 0), *s1 = store_session_at(st, 1);
    CHECK(s0 && !strcmp(s0->session_id, SID_A) && s0->connected == 0, "a keeps its place, new value");
    CHECK(s1 && !strcmp(s1->user_id, UID_B) && s1->connected == 1, "b second");
    CHECK(store_session_at(st, 2) == NULL, "past the end");
    const store_session *f = store_find_session(st, SID_B, 16);
    CHECK(f && !strcmp(f->user_id, UID_B) && f->username_len == 5 && !memcmp(f->username, "\"bob\"", 5), "find b");
    CHECK(store_find_session(st, SID_B, 15) == NULL, "wrong length");
    CHECK(store_find_session(st, "nope", 4) == NULL, "unknown");
    CHECK(store_find_user(st, UID_A) == store_session_at(st, 0), "find by user");
    CHECK(store_find_user(st, SID_A) == NULL, "a session id is not a user id");
    CHECK(store_save_session(st, "short", UID_A, "\"x\"", 3, 1) == STORE_ERR_INVAL, "bad id");
    CHECK(store_save_session(st, "0123456789ABCDEF", UID_A, "\"x\"", 3, 1) == STORE_ERR_INVAL, "uppercase hex");
    CHECK(store_save_session(st, SID_C, UID_C, "", 0, 1) == STORE_ERR_INVAL, "empty username");
    /* the memory back end takes any JSON text, newlines included (part 2 relays raw JSON) */
    CHECK(store_save_session(st, SID_C, UID_C, "[1,\n2]", 6, 1) == STORE_OK, "raw JSON with a newline");
    store_close(st);
    store_close(NULL);
}

static void test_memory_messages(void)
{
    store *st = open_memory(3);
    store_save_session(st, SID_A, UID_A, "\"alice\"", 7, 1);
    store_save_session(st, SID_B, UID_B, "\"bob\"", 5, 1);
    store_save_session(st, SID_C, UID_C, "\"carol\"", 7, 1);
    CHECK(store_save_message(st, UID_A, UID_B, "\"1\"", 3) == STORE_OK, "a->b");
    CHECK(store_save_message(st, UID_B, UID_A, "\"2\"", 3) == STORE_OK, "b->a");
    CHECK(store_save_message(st, UID_A, UID_C, "\"3\"", 3) == STORE_OK, "a->c");
    CHECK(store_save_message(st, UID_A, UID_A, "\"4\"", 3) == STORE_OK, "a->a");
    CHECK(store_save_message(st, UID_C, UID_B, "{\"x\":1}", 7) == STORE_OK, "c->b");
    CHECK(store_save_message(st, UID_A, "zz", "1", 1) == STORE_ERR_INVAL, "bad to");
    CHECK(store_save_message(st, UID_A, UID_B, "", 0) == STORE_ERR_INVAL, "empty content");

    store_message *const *m;
    size_t n = store_conversation(st, UID_B, UID_A, &m);
    CHECK(n == 2 && !memcmp(m[0]->content, "\"1\"", 3) && !strcmp(m[0]->from, UID_A) && !strcmp(m[1]->to, UID_A),
          "a<->b in order, either argument order");
    n = store_conversation(st, UID_A, UID_A, &m);
    CHECK(n == 1 && !memcmp(m[0]->content, "\"4\"", 3), "a message to oneself is kept once");
    n = store_conversation(st, UID_B, UID_B, &m);
    CHECK(n == 0 && m == NULL, "no conversation");

    char out[1024] = "";
    CHECK(store_messages_for_user(st, UID_A, cat_message, out) == 4, "4 messages involve a");
    CHECK(!strcmp(out, "fedc>2222:\"1\";2222>fedc:\"2\";fedc>4444:\"3\";fedc>fedc:\"4\";"), out);
    out[0] = '\0';
    CHECK(store_messages_for_user(st, UID_B, cat_message, out) == 3, "3 involve b");
    CHECK(!strcmp(out, "fedc>2222:\"1\";2222>fedc:\"2\";4444>2222:{\"x\":1};"), out);

    /* max_history 3: the fourth message of a conversation pushes the first out */
    store_save_message(st, UID_A, UID_B, "\"5\"", 3);
    store_save_message(st, UID_A, UID_B, "\"6\"", 3);
    n = store_conversation(st, UID_A, UID_B, &m);
    CHECK(n == 3 && !memcmp(m[0]->content, "\"2\"", 3) && !memcmp(m[2]->content, "\"6\"", 3), "oldest forgotten");
    n = store_conversation(st, UID_A, UID_C, &m);
    CHECK(n == 1, "other conversations untouched");
    struct store_stats ss;
    store_stats(st, &ss);
    CHECK(ss.sessions == 3 && ss.messages == 6 && ss.file_bytes == 0, "stats");
    store_close(st);
}

static void test_file_roundtrip(void)
{
    unlink(file_path());
    store *st = open_file(0);
    CHECK(st && store_is_durable(st), "file store");
    CHECK(file_size() == 10, "a new file holds the header only");
    CHECK(store_save_session(st, SID_A, UID_A, "\"alice\"", 7, 1) == STORE_OK, "save");
    size_t len;
    char *buf = read_file(&len);
    const char *want = "SIOCHAT 1\nS 96 baf87c5e {\"sessionID\":\"0123456789abcdef\",\"userID\":\"fedcba9876543210\","
                       "\"username\":\"alice\",\"connected\":true}\n";
    CHECK(buf && len == strlen(want) && !memcmp(buf, want, len), "exact bytes, CRC-32 as zlib computes it");
    free(buf);
    store_save_session(st, SID_B, UID_B, "\"bob\"", 5, 1);
    store_save_message(st, UID_A, UID_B, "{\"t\":\"hi\"}", 10);
    store_save_message(st, UID_B, UID_A, "42", 2);
    store_save_session(st, SID_A, UID_A, "\"alice\"", 7, 0);
    CHECK(store_save_message(st, UID_A, UID_B, "[1,\n2]", 6) == STORE_ERR_INVAL, "a raw newline would break a line");
    store_close(st);

    st = open_file(0);
    CHECK(st != NULL, "reopen");
    CHECK(n_warnings == 0, warnings);
    CHECK(store_session_count(st) == 2, "two sessions replayed");
    const store_session *a = store_session_at(st, 0), *b = store_session_at(st, 1);
    CHECK(a && !strcmp(a->session_id, SID_A) && !strcmp(b->session_id, SID_B), "in insertion order");
    CHECK(a->connected == 0 && b->connected == 0, "nobody is connected after a restart");
    store_message *const *m;
    size_t n = store_conversation(st, UID_A, UID_B, &m);
    CHECK(n == 2 && m[0]->len == 10 && !memcmp(m[0]->content, "{\"t\":\"hi\"}", 10) && !memcmp(m[1]->content, "42", 2),
          "messages replayed");
    /* appending after a replay keeps working, and the order of seq continues */
    store_save_message(st, UID_A, UID_B, "\"later\"", 7);
    char out[1024] = "";
    store_messages_for_user(st, UID_B, cat_message, out);
    CHECK(!strcmp(out, "fedc>2222:{\"t\":\"hi\"};2222>fedc:42;fedc>2222:\"later\";"), out);
    store_close(st);
}

/* The reference state for the torn/corrupt tests: 3 sessions, 4 messages. Returns the file's
 * bytes and the offsets where each record ends (ends[0] = end of the header). */
static char *build_reference(size_t *len, size_t ends[16], int *nrec)
{
    unlink(file_path());
    store *st = open_file(0);
    int k = 0;
    ends[k++] = (size_t)file_size();
    store_save_session(st, SID_A, UID_A, "\"alice\"", 7, 1), ends[k++] = (size_t)file_size();
    store_save_session(st, SID_B, UID_B, "\"bob\"", 5, 1), ends[k++] = (size_t)file_size();
    store_save_message(st, UID_A, UID_B, "\"m1\"", 4), ends[k++] = (size_t)file_size();
    store_save_message(st, UID_B, UID_A, "\"m2\"", 4), ends[k++] = (size_t)file_size();
    store_save_session(st, SID_C, UID_C, "\"carol\"", 7, 1), ends[k++] = (size_t)file_size();
    store_save_message(st, UID_C, UID_A, "\"m3\"", 4), ends[k++] = (size_t)file_size();
    store_save_message(st, UID_A, UID_C, "\"m4\"", 4), ends[k++] = (size_t)file_size();
    store_close(st);
    *nrec = k - 1;
    return read_file(len);
}

/* How many records a store holds (sessions + messages). */
static size_t count_records(store *st)
{
    struct store_stats ss;
    store_stats(st, &ss);
    return ss.sessions + ss.messages;
}

static void test_torn_tail_every_byte(void)
{
    size_t len, ends[16];
    int nrec;
    char *ref = build_reference(&len, ends, &nrec);
    CHECK(ref && nrec == 7 && ends[nrec] == len, "reference file");
    int bad = 0;
    /* Cut the file at every byte after the header: the complete records load, the partial one is
     * dropped with a warning and the file is truncated to the last complete record. */
    for (size_t cut = ends[0]; cut <= len; cut++) {
        write_file(ref, cut);
        store *st = open_file(0);
        int whole = 0;
        while (whole < nrec && ends[whole + 1] <= cut) whole++;
        int at_boundary = ends[whole] == cut;
        if (!st || count_records(st) != (size_t)whole || file_size() != (long)ends[whole] ||
            n_warnings != (at_boundary ? 0 : 1) || (!at_boundary && !strstr(warnings, "torn record at the end"))) {
            if (!bad++) fprintf(stderr, "cut at %zu: %zu records, size %ld, warnings:\n%s", cut,
                                st ? count_records(st) : 0, file_size(), warnings);
        }
        /* and the store still appends cleanly after the cut */
        if (st && store_save_message(st, UID_A, UID_B, "\"after\"", 7) != STORE_OK) bad++;
        store_close(st);
        st = open_file(0);
        if (!st || n_warnings != 0) bad++;
        store_close(st);
    }
    CHECK(bad == 0, "every cut point");
    free(ref);
}

static void test_corrupt_records(void)
{
    size_t len, ends[16];
    int nrec;
    char *ref = build_reference(&len, ends, &nrec);
    char *buf = malloc(len + 64);
    store_message *const *m;

    /* A flipped bit in the payload of record 3 (message m1): skipped, everything else loads. */
    memcpy(buf, ref, len);
    buf[ends[3] - 5] ^= 0x01;
    write_file(buf, len);
    store *st = open_file(0);
    CHECK(st && count_records(st) == 6, "one record skipped");
    CHECK(n_warnings == 1 && strstr(warnings, "corrupt data at offset") && strstr(warnings, "skipped"), warnings);
    CHECK(store_conversation(st, UID_A, UID_B, &m) == 1 && !memcmp(m[0]->content, "\"m2\"", 4), "m1 gone, m2 kept");
    CHECK(file_size() == (long)len, "a corrupt record in the middle stays in the file");
    store_close(st);

    /* A damaged length field (record 1: alice's session). */
    memcpy(buf, ref, len);
    buf[ends[0] + 2] = '5'; /* "S 96 ..." -> "S 56 ..." */
    write_file(buf, len);
    st = open_file(0);
    CHECK(st && count_records(st) == 6 && store_find_session(st, SID_A, 16) == NULL &&
              store_find_session(st, SID_B, 16) != NULL, "bad length: that record only");
    CHECK(n_warnings == 1, warnings);
    store_close(st);

    /* Two records glued together (the LF between records 4 and 5 replaced): both lost. */
    memcpy(buf, ref, len);
    buf[ends[4] - 1] = ' ';
    write_file(buf, len);
    st = open_file(0);
    CHECK(st && count_records(st) == 5 && store_find_session(st, SID_C, 16) == NULL, "glued records skipped");
    store_close(st);

    /* Garbage between records, and a valid-looking record of an unknown type. */
    size_t g = 0;
    memcpy(buf, ref, ends[2]);
    g = ends[2];
    memcpy(buf + g, "garbage\n", 8), g += 8;
    memcpy(buf + g, ref + ends[2], len - ends[2]), g += len - ends[2];
    write_file(buf, g);
    st = open_file(0);
    CHECK(st && count_records(st) == 7 && n_warnings == 1, "garbage line skipped");
    store_close(st);

    /* A record with a good checksum but JSON that is not a session: skipped with its reason. */
    const char *hdr = "SIOCHAT 1\n";
    const char *odd = "S 2 73c4e447 {}\n";
    write_file(hdr, 10);
    FILE *f = fopen(file_path(), "ab");
    fputs(odd, f);
    fclose(f);
    st = open_file(0);
    CHECK(st && count_records(st) == 0, "nothing loaded");
    CHECK(n_warnings >= 1, warnings);
    store_close(st);
    free(buf);
    free(ref);
}

static void test_headers(void)
{
    char err[STORE_ERR_LEN];
    struct store_options o = {dir, STORE_FSYNC_ALWAYS, 0, collect_warning};
    write_file("hello world\n", 12);
    CHECK(store_open(&o, err) == NULL && strstr(err, "not a sio chat store"), err);
    CHECK(file_size() == 12, "a foreign file is never touched");
    write_file("SIOC", 4);
    reset_warnings();
    store *st = store_open(&o, err);
    CHECK(st && file_size() == 10 && strstr(warnings, "torn header"), "a torn header is rewritten");
    CHECK(store_save_session(st, SID_A, UID_A, "\"a\"", 3, 1) == STORE_OK, "fsync always");
    /* a second store on the same directory is refused while the first is open */
    CHECK(store_open(&o, err) == NULL && strstr(err, "in use"), err);
    store_close(st);
    st = store_open(&o, err);
    CHECK(st != NULL, "the lock goes with the store");
    store_close(st);
    struct store_options nodir = {"/nonexistent/sio/data", STORE_FSYNC_NO, 0, collect_warning};
    CHECK(store_open(&nodir, err) == NULL && strstr(err, "/nonexistent/sio/data"), err);
}

static void test_compaction(void)
{
    unlink(file_path());
    store *st = open_file(2);
    store_save_session(st, SID_A, UID_A, "\"alice\"", 7, 1);
    store_save_session(st, SID_B, UID_B, "\"bob\"", 5, 1);
    for (int i = 0; i < 10; i++) {
        char c[16];
        int n = snprintf(c, sizeof c, "\"m%d\"", i);
        store_save_message(st, UID_A, UID_B, c, (size_t)n);
    }
    struct store_stats before, after;
    store_stats(st, &before);
    CHECK(before.file_bytes > before.live_bytes, "dead records: 8 trimmed messages");
    CHECK(store_compact(st) == STORE_OK, "compact");
    store_stats(st, &after);
    CHECK(after.file_bytes == after.live_bytes && after.file_bytes == (uint64_t)file_size(), "only live data left");
    CHECK(after.compactions == 1 && after.messages == 2, "stats");
    store_save_message(st, UID_B, UID_A, "\"post\"", 6);
    store_close(st);

    st = open_file(2);
    store_message *const *m;
    CHECK(st && n_warnings == 0, warnings);
    CHECK(store_conversation(st, UID_A, UID_B, &m) == 2 && !memcmp(m[0]->content, "\"m9\"", 4) &&
              !memcmp(m[1]->content, "\"post\"", 6), "compacted file + appended record replay");
    CHECK(store_session_count(st) == 2 && !strcmp(store_session_at(st, 0)->session_id, SID_A), "sessions kept");

    /* Automatic: toggling a session past STORE_COMPACT_MIN_BYTES of dead records compacts. */
    for (int i = 0; i < 30000; i++) store_save_session(st, SID_A, UID_A, "\"alice\"", 7, i & 1);
    struct store_stats ss;
    store_stats(st, &ss);
    CHECK(ss.compactions >= 1 && ss.file_bytes < 2 * STORE_COMPACT_MIN_BYTES + 4096, "compacted by itself");
    store_close(st);
    st = open_file(2);
    CHECK(st && store_session_count(st) == 2 && store_conversation(st, UID_A, UID_B, &m) == 2, "state after it");
    store_close(st);
    /* no temp file left behind */
    char tmp[320];
    snprintf(tmp, sizeof tmp, "%s/%s.tmp", dir, STORE_FILE);
    CHECK(access(tmp, F_OK) != 0, "no temp file");
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/sio-test-store-XXXXXX");
    if (!mkdtemp(dir)) return 1;
    RUN(test_memory_sessions);
    RUN(test_memory_messages);
    RUN(test_file_roundtrip);
    RUN(test_torn_tail_every_byte);
    RUN(test_corrupt_records);
    RUN(test_headers);
    RUN(test_compaction);
    unlink(file_path());
    rmdir(dir);
    return test_main_end("store");
}
