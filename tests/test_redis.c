/* SPDX-License-Identifier: MIT */
/* test_redis.c -- redis.c against a REAL redis-server (and a few fake ones).
 *
 * Each test that needs Redis starts its own redis-server on a free loopback port
 * (--save '' --appendonly no) and stops it by PID; an atexit() handler kills any left running.
 * Without redis-server on the PATH (or in $SIO_REDIS_SERVER) the Redis tests print a loud
 * SKIPPED banner and the binary still passes the parts that need no server (URLs, modes, fakes).
 *
 * Built with small limits (see the Makefile's redis block) so that the limit paths are reached
 * with small data: SIO_RESP_MAX_BULK 512 KiB, SIO_REDIS_MAX_INBUF 1 MiB, SIO_REDIS_MAX_OUTBUF
 * 2 MiB, SIO_REDIS_BACKOFF_MAX_MS 400.
 *
 * Covered (bad-inputs #76 and issue 7): commands and every reply type; pipelining and FIFO order;
 * SELECT and AUTH (password and ACL user); PUBLISH -> SUBSCRIBE/PSUBSCRIBE delivery with binary
 * payloads; Redis not running at start (backoff, then up); Redis killed mid-run (pending callbacks
 * failed once, commands refused, reconnect, resubscribe, a message published after the restart
 * arrives); a reply over the bulk limit and one over the input limit (drop, log, reconnect);
 * garbage replies, a reply nobody asked for, replies trickled one byte per loop turn, a server
 * that stops reading (output limit); freeing from inside a callback.
 */
#include "../redis.h"
#include "test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

static sio_loop *loop;
static int have_redis; /* redis-server found */

/* ====== Starting and stopping redis-server ====== */

#define MAX_SERVERS 8
static pid_t servers[MAX_SERVERS]; /* running redis-server children, 0 = free slot */

static const char *redis_bin(void)
{
    const char *e = getenv("SIO_REDIS_SERVER");
    return e && *e ? e : "redis-server";
}

/* 1 if redis-server can be run. */
static int find_redis(void)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s --version >/dev/null 2>&1", redis_bin());
    return system(cmd) == 0;
}

/* A port nobody listens on right now. */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    socklen_t len = sizeof a;
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || getsockname(fd, (struct sockaddr *)&a, &len) < 0)
        abort();
    close(fd);
    return ntohs(a.sin_port);
}

/* 1 once something accepts TCP connections on 127.0.0.1:port. */
static int port_open(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    if (fd >= 0) close(fd);
    return ok;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Starts redis-server on port (extra: one more "--option value" pair, or NULL). Returns its pid
 * once it accepts connections, or 0. */
static pid_t start_redis(int port, const char *opt, const char *val)
{
    char p[16];
    snprintf(p, sizeof p, "%d", port);
    pid_t pid = fork();
    if (pid < 0) return 0;
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDWR);
        if (devnull >= 0) {
            dup2(devnull, 1);
            dup2(devnull, 2);
        }
        const char *argv[20] = {redis_bin(), "--port", p, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                "--daemonize", "no", "--loglevel", "warning", "--dir", "/tmp"};
        int n = 15;
        if (opt) {
            argv[n++] = opt;
            argv[n++] = val;
        }
        argv[n] = NULL;
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    for (int i = 0; i < MAX_SERVERS; i++)
        if (!servers[i]) {
            servers[i] = pid;
            break;
        }
    for (int waited = 0; waited < 5000; waited += 10) {
        if (port_open(port)) return pid;
        if (waitpid(pid, NULL, WNOHANG) == pid) break;
        sleep_ms(10);
    }
    fprintf(stderr, "redis-server did not start on port %d\n", port);
    return 0;
}

static void stop_redis(pid_t pid, int sig)
{
    if (pid <= 0) return;
    kill(pid, sig);
    waitpid(pid, NULL, 0);
    for (int i = 0; i < MAX_SERVERS; i++)
        if (servers[i] == pid) servers[i] = 0;
}

static void kill_all(void)
{
    for (int i = 0; i < MAX_SERVERS; i++) stop_redis(servers[i], SIGKILL);
}

/* ====== Running the loop ====== */

/* Turns the loop until *flag becomes nonzero or timeout_ms pass. Returns the flag. */
static int run_until(const int *flag, int timeout_ms)
{
    uint64_t end = sio__now_ms() + (uint64_t)timeout_ms;
    while (!*flag && sio__now_ms() < end) sio__loop_turn(loop, 10);
    return *flag;
}

static void run_for(int ms)
{
    uint64_t end = sio__now_ms() + (uint64_t)ms;
    while (sio__now_ms() < end) sio__loop_turn(loop, 10);
}

/* ====== Recorders ====== */

/* What a reply callback saw. */
struct rec {
    int called;           /* times called */
    int null;             /* times called with reply NULL */
    int ntok;             /* tokens of the last reply */
    enum sio_resp_type type; /* its first token's type */
    long long n;          /* its first token's n */
    char *str;            /* copy of its first token's bytes (heap) */
    size_t len;           /* their length */
    char elem[16][64];    /* arrays: copies of the first 16 tokens after the first (strings, or %lld) */
    int order;            /* value of `order_counter` when called */
};

static int order_counter;

static void on_reply(sio_redis *r, const struct sio_resp_tok *t, int nt, void *ud)
{
    (void)r;
    struct rec *c = ud;
    c->called++;
    c->order = ++order_counter;
    if (!t) {
        c->null++;
        return;
    }
    c->ntok = nt;
    c->type = t[0].type;
    c->n = t[0].n;
    free(c->str);
    c->str = malloc(t[0].str.len + 1);
    if (!c->str) abort();
    if (t[0].str.len) memcpy(c->str, t[0].str.p, t[0].str.len);
    c->str[t[0].str.len] = '\0';
    c->len = t[0].str.len;
    for (int i = 1; i < nt && i <= 16; i++) {
        if (t[i].type == SIO_RESP_INT) snprintf(c->elem[i - 1], 64, "%lld", t[i].n);
        else if (t[i].type == SIO_RESP_NIL) snprintf(c->elem[i - 1], 64, "(nil)");
        else if (t[i].type == SIO_RESP_ARRAY) snprintf(c->elem[i - 1], 64, "(array %lld)", t[i].n);
        else snprintf(c->elem[i - 1], 64, "%.*s", (int)(t[i].str.len > 63 ? 63 : t[i].str.len), t[i].str.p);
    }
}

static void rec_clear(struct rec *c)
{
    free(c->str);
    memset(c, 0, sizeof *c);
}

/* Pub/Sub messages. */
struct msgs {
    int count;          /* messages seen */
    char channel[128];  /* of the last one */
    char pattern[128];  /* "" for a SUBSCRIBE match */
    unsigned char payload[256]; /* first bytes of its payload */
    size_t len;         /* its full length */
};

static void on_message(sio_redis *r, sio_str ch, sio_str pat, sio_str payload, void *ud)
{
    (void)r;
    struct msgs *m = ud;
    m->count++;
    snprintf(m->channel, sizeof m->channel, "%.*s", (int)ch.len, ch.p);
    snprintf(m->pattern, sizeof m->pattern, "%.*s", (int)pat.len, pat.p ? pat.p : "");
    memcpy(m->payload, payload.p, payload.len < sizeof m->payload ? payload.len : sizeof m->payload);
    m->len = payload.len;
}

/* State changes. */
struct states {
    int ups;   /* times up */
    int downs; /* times down */
    int up;    /* current */
};

static void on_state(sio_redis *r, int up, void *ud)
{
    (void)r;
    struct states *s = ud;
    s->up = up;
    if (up) s->ups++;
    else s->downs++;
}

/* Log lines, kept (the last 64) so tests can look for a reason. */
static char logs[64][512];
static int nlogs;

static void on_log(void *ud, const char *line)
{
    (void)ud;
    snprintf(logs[nlogs % 64], sizeof logs[0], "%s", line);
    nlogs++;
    if (getenv("SIO_TEST_VERBOSE")) fprintf(stderr, "  [log] %s\n", line);
}

/* 1 if a log line since index `from` contains s. */
static int logged_since(int from, const char *s)
{
    for (int i = from < nlogs - 64 ? nlogs - 64 : from; i < nlogs; i++)
        if (strstr(logs[i % 64], s)) return 1;
    return 0;
}

/* A client with every callback wired to recorders. */
static sio_redis *client(const char *url, int flags, struct states *st, struct msgs *m)
{
    sio_redis *r = sio__redis_new(loop, url, flags);
    if (!r) abort();
    sio__redis_set_log(r, on_log, NULL);
    if (st) sio__redis_on_state(r, on_state, st);
    if (m) sio__redis_on_message(r, on_message, m);
    return r;
}

/* Turns the loop until r has become up n times in all, or timeout_ms pass. */
static int wait_ups(sio_redis *r, unsigned long n, int timeout_ms)
{
    uint64_t end = sio__now_ms() + (uint64_t)timeout_ms;
    while (sio__redis_stats(r)->ups < n && sio__now_ms() < end) sio__loop_turn(loop, 10);
    return sio__redis_stats(r)->ups >= n && sio__redis_is_up(r);
}

/* ====== URLs (no server needed) ====== */

static void test_url(void)
{
    struct {
        const char *url;
        int ok;
        const char *host;
        int port;
        const char *user, *pass;
        int db;
    } rows[] = {
        {"redis://127.0.0.1:6379", 1, "127.0.0.1", 6379, "", "", 0},
        {"redis://localhost", 1, "localhost", 6379, "", "", 0},
        {"REDIS://h:1/", 1, "h", 1, "", "", 0},
        {"redis://h/15", 1, "h", 6379, "", "", 15},
        {"redis://:secret@h:7000/2", 1, "h", 7000, "", "secret", 2},
        {"redis://alice:p%40ss%3Aw@h", 1, "h", 6379, "alice", "p@ss:w", 0},
        {"redis://u:a@b@h", 1, "h", 6379, "u", "a@b", 0},
        {"redis://[::1]:6380/1", 1, "::1", 6380, "", "", 1},
        {"redis://[::1]", 1, "::1", 6379, "", "", 0},
        {"redis://h:65535", 1, "h", 65535, "", "", 0},
        {"rediss://h", 0, 0, 0, 0, 0, 0},
        {"http://h", 0, 0, 0, 0, 0, 0},
        {"h:6379", 0, 0, 0, 0, 0, 0},
        {"redis://", 0, 0, 0, 0, 0, 0},
        {"redis://:6379", 0, 0, 0, 0, 0, 0},
        {"redis://h:0", 0, 0, 0, 0, 0, 0},
        {"redis://h:65536", 0, 0, 0, 0, 0, 0},
        {"redis://h:12ab", 0, 0, 0, 0, 0, 0},
        {"redis://h:", 0, 0, 0, 0, 0, 0},
        {"redis://h/x", 0, 0, 0, 0, 0, 0},
        {"redis://h/-1", 0, 0, 0, 0, 0, 0},
        {"redis://h?db=1", 0, 0, 0, 0, 0, 0},
        {"redis://user@h", 0, 0, 0, 0, 0, 0},
        {"redis://:p%4@h", 0, 0, 0, 0, 0, 0},
        {"redis://:p%zz@h", 0, 0, 0, 0, 0, 0},
        {"redis://[::1:6379", 0, 0, 0, 0, 0, 0},
        {"redis://[::1]x", 0, 0, 0, 0, 0, 0},
        {NULL, 0, 0, 0, 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        struct sio_redis_url u;
        /* the URL ends exactly at a PROT_NONE page: the parser must stop at its NUL */
        const char *url = rows[i].url ? guarded(rows[i].url, strlen(rows[i].url) + 1) : NULL;
        int r = sio__redis_parse_url(url, &u);
        const char *note = rows[i].url ? rows[i].url : "(null)";
        CHECK((r == 0) == rows[i].ok, note);
        if (r != 0 || !rows[i].ok) continue;
        CHECK(strcmp(u.host, rows[i].host) == 0 && u.port == rows[i].port && u.db == rows[i].db, note);
        CHECK(strcmp(u.user, rows[i].user) == 0 && strcmp(u.pass, rows[i].pass) == 0, note);
    }
    char longhost[400];
    memset(longhost, 'h', sizeof longhost);
    memcpy(longhost, "redis://", 8);
    longhost[sizeof longhost - 1] = '\0';
    struct sio_redis_url u;
    CHECK(sio__redis_parse_url(longhost, &u) == SIO_REDIS_ERR_ARG, "host longer than its field");
    CHECK(sio__redis_new(loop, "rediss://h", 0) == NULL, "new() refuses a bad URL");
}

/* ====== Modes and argument errors (no server needed) ====== */

static void test_modes(void)
{
    sio_redis *cmd = client("redis://127.0.0.1:1", 0, NULL, NULL);
    sio_redis *sub = client("redis://127.0.0.1:1", SIO_REDIS_SUBSCRIBER, NULL, NULL);
    CHECK(sio__redis_cmd(sub, NULL, NULL, "PING", (char *)NULL) == SIO_REDIS_ERR_MODE, "command on a subscriber");
    CHECK(sio__redis_subscribe(cmd, "c", 1, 0) == SIO_REDIS_ERR_MODE, "subscribe on a command client");
    CHECK(sio__redis_command(cmd, 0, NULL, NULL, NULL, NULL) == SIO_REDIS_ERR_ARG, "no arguments");
    CHECK(sio__redis_cmd(cmd, NULL, NULL, "PING", (char *)NULL) == SIO_REDIS_ERR_DOWN, "down before the first turn");
    CHECK(sio__redis_subscribe(sub, "", 0, 0) == SIO_REDIS_ERR_ARG, "empty channel");
    CHECK(sio__redis_subscribe(sub, "c", 1, 0) == 0 && sio__redis_subscribe(sub, "c", 1, 0) == 0, "subscribe twice");
    CHECK(sio__redis_unsubscribe(sub, "c", 1, 1) == SIO_REDIS_ERR_ARG, "not a pattern subscription");
    CHECK(sio__redis_unsubscribe(sub, "c", 1, 0) == 0, "unsubscribe");
    CHECK(sio__redis_unsubscribe(sub, "c", 1, 0) == SIO_REDIS_ERR_ARG, "already gone");
    CHECK(!sio__redis_is_up(cmd) && sio__redis_stats(cmd)->attempts == 0, "nothing happens before the loop runs");
    CHECK(strcmp(sio__redis_strerror(SIO_REDIS_ERR_DOWN), "not connected to redis") == 0, "strerror");
    sio__redis_free(cmd);
    sio__redis_free(sub);
    sio__redis_free(NULL);
}

/* ====== Against a real redis-server ====== */

static int redis_port; /* the shared server of the tests below */
static pid_t redis_pid;
static char url0[64], url3[64];

static void banner_skipped(const char *what)
{
    printf("################################################################\n");
    printf("### SKIPPED: %-48s ###\n", what);
    printf("### (redis-server not found: apt-get install -y redis-server) ###\n");
    printf("################################################################\n");
}

/* Redis not running at start: the client retries with backoff, then connects once it is there. */
static void test_not_running_at_start(void)
{
    int port = free_port();
    char url[64];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d", port);
    struct states st = {0};
    int from = nlogs;
    sio_redis *r = client(url, 0, &st, NULL);
    run_for(700);
    const struct sio_redis_stats *s = sio__redis_stats(r);
    CHECK(s->attempts >= 2 && s->attempts <= 12 && s->ups == 0, "retries with backoff while refused");
    CHECK(logged_since(from, "Connection refused"), "the refusal is logged");
    /* Between two attempts commands are refused; during an attempt ("connecting") they are
     * queued, so on a loaded machine the first try may land in one: try for a while. */
    int refused = 0;
    for (int k = 0; k < 400 && !refused; k++) {
        if (sio__redis_cmd(r, NULL, NULL, "PING", (char *)NULL) == SIO_REDIS_ERR_DOWN) refused = 1;
        else run_for(5);
    }
    CHECK(refused, "commands refused while down");
    pid_t pid = start_redis(port, NULL, NULL);
    CHECK(pid > 0, "redis started late");
    CHECK(run_until(&st.up, 3000), "up once redis is there");
    struct rec c = {0};
    CHECK(sio__redis_cmd(r, on_reply, &c, "PING", (char *)NULL) == 0, "PING queued");
    run_until(&c.called, 2000);
    CHECK(c.called == 1 && c.type == SIO_RESP_STATUS && strcmp(c.str, "PONG") == 0, "PONG");
    rec_clear(&c);
    sio__redis_free(r);
    stop_redis(pid, SIGTERM);
}

static void test_commands(void)
{
    struct states st = {0};
    sio_redis *r = client(url0, 0, &st, NULL);
    CHECK(run_until(&st.up, 3000), "up");
    struct rec set = {0}, get = {0}, bin = {0}, getbin = {0}, miss = {0}, incr = {0}, err = {0}, list = {0}, multi = {0};
    struct rec hset = {0}, expire = {0}, exec = {0}, hmget = {0}, scan = {0}, numsub = {0};
    static const char value[] = "a\0b\r\nc\xff";
    const char *setv[] = {"SET", "bin", value};
    size_t setl[] = {3, 3, sizeof value - 1};
    CHECK(sio__redis_cmd(r, on_reply, &set, "SET", "k", "v", (char *)NULL) == 0, "SET");
    sio__redis_cmd(r, on_reply, &get, "GET", "k", (char *)NULL);
    sio__redis_command(r, 3, setv, setl, on_reply, &bin);
    sio__redis_cmd(r, on_reply, &getbin, "GET", "bin", (char *)NULL);
    sio__redis_cmd(r, on_reply, &miss, "GET", "missing", (char *)NULL);
    sio__redis_cmd(r, on_reply, &incr, "INCRBY", "n", "-5", (char *)NULL);
    sio__redis_cmd(r, on_reply, &err, "NOSUCHCOMMAND", "x", (char *)NULL);
    sio__redis_cmd(r, NULL, NULL, "DEL", "messages:u1", (char *)NULL);
    sio__redis_cmd(r, NULL, NULL, "RPUSH", "messages:u1", "{\"content\":\"hi\",\"from\":\"u1\",\"to\":\"u2\"}", "m2",
                   (char *)NULL);
    sio__redis_cmd(r, on_reply, &list, "LRANGE", "messages:u1", "0", "-1", (char *)NULL);
    /* the tutorial's session write: MULTI; HSET ...; EXPIRE ...; EXEC */
    sio__redis_cmd(r, on_reply, &multi, "MULTI", (char *)NULL);
    sio__redis_cmd(r, on_reply, &hset, "HSET", "session:s1", "userID", "u1", "username", "alice", "connected", "true",
                   (char *)NULL);
    sio__redis_cmd(r, on_reply, &expire, "EXPIRE", "session:s1", "86400", (char *)NULL);
    sio__redis_cmd(r, on_reply, &exec, "EXEC", (char *)NULL);
    sio__redis_cmd(r, on_reply, &hmget, "HMGET", "session:s1", "userID", "username", "nope", (char *)NULL);
    sio__redis_cmd(r, on_reply, &scan, "SCAN", "0", "MATCH", "session:*", "COUNT", "100", (char *)NULL);
    sio__redis_cmd(r, on_reply, &numsub, "PUBSUB", "NUMSUB", "socket.io-request#/#", (char *)NULL);
    CHECK(run_until(&numsub.called, 3000), "all replied");
    CHECK(set.type == SIO_RESP_STATUS && strcmp(set.str, "OK") == 0, "SET +OK");
    CHECK(get.type == SIO_RESP_BULK && strcmp(get.str, "v") == 0, "GET bulk");
    CHECK(getbin.type == SIO_RESP_BULK && getbin.len == sizeof value - 1 && memcmp(getbin.str, value, getbin.len) == 0,
          "binary-safe value");
    CHECK(miss.type == SIO_RESP_NIL, "GET of a missing key: nil");
    CHECK(incr.type == SIO_RESP_INT && incr.n == -5, "integer reply");
    CHECK(err.type == SIO_RESP_ERROR && strncmp(err.str, "ERR unknown command", 19) == 0, "error reply");
    CHECK(list.type == SIO_RESP_ARRAY && list.n == 2 && strcmp(list.elem[1], "m2") == 0, "LRANGE");
    CHECK(multi.type == SIO_RESP_STATUS && hset.type == SIO_RESP_STATUS && strcmp(hset.str, "QUEUED") == 0, "QUEUED");
    CHECK(exec.type == SIO_RESP_ARRAY && exec.n == 2 && strcmp(exec.elem[0], "3") == 0 && strcmp(exec.elem[1], "1") == 0,
          "EXEC results");
    CHECK(hmget.n == 3 && strcmp(hmget.elem[0], "u1") == 0 && strcmp(hmget.elem[1], "alice") == 0 &&
              strcmp(hmget.elem[2], "(nil)") == 0,
          "HMGET with a missing field");
    CHECK(scan.type == SIO_RESP_ARRAY && scan.n == 2 && strcmp(scan.elem[1], "(array 1)") == 0 &&
              strcmp(scan.elem[2], "session:s1") == 0,
          "SCAN: cursor and a nested array");
    CHECK(numsub.n == 2 && strcmp(numsub.elem[0], "socket.io-request#/#") == 0 && strcmp(numsub.elem[1], "0") == 0,
          "PUBSUB NUMSUB");
    CHECK(set.order < get.order && get.order < bin.order && hmget.order < scan.order && scan.order < numsub.order,
          "callbacks in command order");
    struct rec *all[] = {&set, &get, &bin, &getbin, &miss, &incr, &err, &list, &multi, &hset, &expire, &exec, &hmget, &scan, &numsub};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) {
        CHECK(all[i]->called == 1 && all[i]->null == 0, "each callback once");
        rec_clear(all[i]);
    }

    /* 2000 pipelined commands issued in one turn */
    static struct rec many[2000];
    int queued = 0;
    for (int i = 0; i < 2000; i++) queued += sio__redis_cmd(r, on_reply, &many[i], "INCR", "counter", (char *)NULL) == 0;
    CHECK(queued == 2000, "2000 commands queued in one turn");
    run_until(&many[1999].called, 5000);
    int in_order = 1;
    for (int i = 0; i < 2000; i++) {
        if (many[i].called != 1 || many[i].n != i + 1) in_order = 0;
        rec_clear(&many[i]);
    }
    CHECK(in_order, "2000 pipelined INCRs, replies 1..2000 in order");
    CHECK(sio__redis_stats(r)->drops == 0, "no drop");
    sio__redis_free(r);
}

static void test_select(void)
{
    struct states s0 = {0}, s3 = {0};
    sio_redis *r0 = client(url0, 0, &s0, NULL), *r3 = client(url3, 0, &s3, NULL);
    run_until(&s0.up, 3000);
    CHECK(run_until(&s3.up, 3000), "db 3 up");
    struct rec a = {0}, b = {0}, c = {0};
    sio__redis_cmd(r3, on_reply, &a, "SET", "only-in-3", "x", (char *)NULL);
    run_until(&a.called, 2000);
    sio__redis_cmd(r3, on_reply, &b, "GET", "only-in-3", (char *)NULL);
    sio__redis_cmd(r0, on_reply, &c, "GET", "only-in-3", (char *)NULL);
    run_until(&b.called, 2000);
    run_until(&c.called, 2000);
    CHECK(b.type == SIO_RESP_BULK && strcmp(b.str, "x") == 0, "seen in db 3");
    CHECK(c.type == SIO_RESP_NIL, "not in db 0: SELECT was sent");
    rec_clear(&a);
    rec_clear(&b);
    rec_clear(&c);
    sio__redis_free(r0);
    sio__redis_free(r3);
}

static void test_pubsub(void)
{
    struct states ss = {0}, sc = {0};
    struct msgs m = {0};
    sio_redis *sub = client(url0, SIO_REDIS_SUBSCRIBER, &ss, &m);
    sio_redis *pub = client(url0, 0, &sc, NULL);
    sio__redis_subscribe(sub, "socket.io-request#/#", 20, 0);
    sio__redis_subscribe(sub, "socket.io#/#*", 13, 1);
    CHECK(run_until(&ss.up, 3000), "subscriber up after its confirmations");
    run_until(&sc.up, 3000);
    struct rec p1 = {0}, p2 = {0}, p3 = {0};
    sio__redis_cmd(pub, on_reply, &p1, "PUBLISH", "socket.io-request#/#", "{\"uid\":\"x\",\"requestId\":\"r1\",\"type\":1}",
                   (char *)NULL);
    run_until(&m.count, 2000);
    CHECK(p1.type == SIO_RESP_INT && p1.n == 1, "one receiver");
    CHECK(m.count == 1 && strcmp(m.channel, "socket.io-request#/#") == 0 && m.pattern[0] == '\0', "message");
    CHECK(m.len == 37 && memcmp(m.payload, "{\"uid\"", 6) == 0, "payload");
    /* a binary msgpack payload on a room channel, through the pattern (redis-adapter.md 1.2) */
    static const char mp[] = "\x93\xa6_kJJXi\x83\xa4type\x02\xa4" "data\x92\xa3" "all\x01\xa3nsp\xa1/\x83\xa5rooms\x90"
                             "\xa6" "except\x90\xa5" "flags\x80";
    const char *argv[] = {"PUBLISH", "socket.io#/#roomX#", mp};
    size_t lens[] = {7, 18, sizeof mp - 1};
    CHECK(sizeof mp - 1 == 55, "the 55-byte message of redis-adapter.md 1.2");
    sio__redis_command(pub, 3, argv, lens, on_reply, &p2);
    int want = 2;
    while (m.count < want && run_until(&p2.called, 2000)) sio__loop_turn(loop, 10);
    run_for(50);
    CHECK(m.count == 2 && strcmp(m.channel, "socket.io#/#roomX#") == 0 && strcmp(m.pattern, "socket.io#/#*") == 0,
          "pmessage: channel and pattern");
    CHECK(m.len == 55 && memcmp(m.payload, mp, 55) == 0, "binary payload intact");
    /* the pattern's '*' matches the empty string too */
    sio__redis_cmd(pub, NULL, NULL, "PUBLISH", "socket.io#/#", "x", (char *)NULL);
    run_for(100);
    CHECK(m.count == 3 && strcmp(m.channel, "socket.io#/#") == 0, "base channel via the pattern");
    /* unsubscribed: no more messages */
    sio__redis_unsubscribe(sub, "socket.io-request#/#", 20, 0);
    run_for(50);
    sio__redis_cmd(pub, on_reply, &p3, "PUBLISH", "socket.io-request#/#", "late", (char *)NULL);
    run_until(&p3.called, 2000);
    run_for(50);
    CHECK(p3.n == 0 && m.count == 3, "after UNSUBSCRIBE nobody receives");
    CHECK(sio__redis_stats(sub)->messages == 3, "stats count messages");
    rec_clear(&p1);
    rec_clear(&p2);
    rec_clear(&p3);
    sio__redis_free(sub);
    sio__redis_free(pub);
}

/* Redis killed mid-run and restarted: pending callbacks fail once, commands are refused, both
 * connections come back, the subscriber resubscribes, and a message published after the restart
 * arrives. */
static void test_restart(void)
{
    int port = free_port();
    char url[64];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d", port);
    pid_t pid = start_redis(port, NULL, NULL);
    CHECK(pid > 0, "started");
    struct states ss = {0}, sc = {0};
    struct msgs m = {0};
    sio_redis *sub = client(url, SIO_REDIS_SUBSCRIBER, &ss, &m);
    sio_redis *pub = client(url, 0, &sc, NULL);
    sio__redis_subscribe(sub, "chat", 4, 0);
    sio__redis_subscribe(sub, "socket.io#/#*", 13, 1);
    run_until(&ss.up, 3000);
    CHECK(run_until(&sc.up, 3000), "both up");
    struct rec blocked = {0};
    CHECK(sio__redis_cmd(pub, on_reply, &blocked, "BLPOP", "never", "0", (char *)NULL) == 0, "a command that waits forever");
    run_for(50);
    int from = nlogs;
    stop_redis(pid, SIGKILL);
    run_until(&blocked.called, 2000);
    CHECK(blocked.called == 1 && blocked.null == 1, "the pending callback failed exactly once");
    run_for(20);
    CHECK(!sc.up && !ss.up && sc.downs == 1 && ss.downs == 1, "both told down");
    CHECK(logged_since(from, "connection lost"), "the loss is logged");
    CHECK(sio__redis_cmd(pub, NULL, NULL, "PING", (char *)NULL) == SIO_REDIS_ERR_DOWN, "commands refused while down");
    run_for(300); /* a few refused attempts */
    pid = start_redis(port, NULL, NULL);
    CHECK(pid > 0, "restarted on the same port");
    run_until(&ss.up, 3000);
    CHECK(run_until(&sc.up, 3000), "both up again");
    CHECK(sio__redis_stats(sub)->ups == 2 && sio__redis_stats(pub)->ups == 2, "reconnected once each");
    CHECK(logged_since(from, "connected again (2 subscriptions restored)"), "resubscription logged");
    struct rec p = {0};
    sio__redis_cmd(pub, on_reply, &p, "PUBLISH", "chat", "after restart", (char *)NULL);
    run_until(&m.count, 2000);
    CHECK(m.count == 1 && strcmp(m.channel, "chat") == 0 && m.len == 13, "message after the restart received");
    sio__redis_cmd(pub, NULL, NULL, "PUBLISH", "socket.io#/#r#", "p", (char *)NULL);
    run_for(100);
    CHECK(m.count == 2 && strcmp(m.pattern, "socket.io#/#*") == 0, "pattern resubscribed too");
    CHECK(blocked.called == 1, "still exactly once");
    rec_clear(&blocked);
    rec_clear(&p);
    sio__redis_free(sub);
    sio__redis_free(pub);
    stop_redis(pid, SIGTERM);
}

/* Big replies: under the limits they arrive whole; a bulk over SIO_RESP_MAX_BULK or a reply over
 * SIO_REDIS_MAX_INBUF drops the connection (logged), fails the callback, and the client comes back. */
static void test_large(void)
{
    struct states st = {0};
    sio_redis *r = client(url0, 0, &st, NULL);
    run_until(&st.up, 3000);
    static char big[600 * 1024];
    for (size_t i = 0; i < sizeof big; i++) big[i] = (char)(i * 7);
    struct rec s1 = {0}, s2 = {0}, g1 = {0}, g2 = {0}, lr = {0}, after = {0};
    const char *set1[] = {"SET", "big400", big}, *set2[] = {"SET", "big600", big};
    size_t l1[] = {3, 6, 400 * 1024}, l2[] = {3, 6, 600 * 1024};
    sio__redis_command(r, 3, set1, l1, on_reply, &s1);
    sio__redis_command(r, 3, set2, l2, on_reply, &s2);
    sio__redis_cmd(r, on_reply, &g1, "GET", "big400", (char *)NULL);
    CHECK(run_until(&g1.called, 3000), "GET 400 KiB");
    CHECK(g1.type == SIO_RESP_BULK && g1.len == 400 * 1024 && memcmp(g1.str, big, g1.len) == 0, "400 KiB intact");
    int from = nlogs;
    sio__redis_cmd(r, on_reply, &g2, "GET", "big600", (char *)NULL);
    run_until(&g2.called, 3000);
    CHECK(g2.called == 1 && g2.null == 1, "a bulk over SIO_RESP_MAX_BULK: callback failed");
    CHECK(logged_since(from, "protocol error"), "logged as a protocol error");
    CHECK(wait_ups(r, 2, 3000), "reconnected");
    /* three 400 KiB values in one LRANGE reply: 1.2 MiB > SIO_REDIS_MAX_INBUF */
    const char *push[] = {"RPUSH", "biglist", big, big, big};
    size_t pl[] = {5, 7, 400 * 1024, 400 * 1024, 400 * 1024};
    sio__redis_cmd(r, NULL, NULL, "DEL", "biglist", (char *)NULL);
    sio__redis_command(r, 5, push, pl, NULL, NULL);
    from = nlogs;
    sio__redis_cmd(r, on_reply, &lr, "LRANGE", "biglist", "0", "-1", (char *)NULL);
    run_until(&lr.called, 3000);
    CHECK(lr.called == 1 && lr.null == 1, "a reply over SIO_REDIS_MAX_INBUF: callback failed");
    CHECK(logged_since(from, "larger than SIO_REDIS_MAX_INBUF"), "logged");
    CHECK(wait_ups(r, 3, 3000), "reconnected again");
    sio__redis_cmd(r, on_reply, &after, "STRLEN", "big400", (char *)NULL);
    run_until(&after.called, 2000);
    CHECK(after.n == 400 * 1024, "works after the drops");
    struct rec *all[] = {&s1, &s2, &g1, &g2, &lr, &after};
    for (size_t i = 0; i < 6; i++) rec_clear(all[i]);
    sio__redis_free(r);
}

/* AUTH with a password, with an ACL user, and with a wrong password. */
static void test_auth(void)
{
    int port = free_port();
    pid_t pid = start_redis(port, "--requirepass", "s3cret");
    CHECK(pid > 0, "redis with requirepass");
    char good[96], bad[96], none[96], acl[96];
    snprintf(good, sizeof good, "redis://:s3cret@127.0.0.1:%d/1", port);
    snprintf(bad, sizeof bad, "redis://:wrong@127.0.0.1:%d", port);
    snprintf(none, sizeof none, "redis://127.0.0.1:%d", port);
    snprintf(acl, sizeof acl, "redis://alice:p%%40ss@127.0.0.1:%d", port);
    struct states sg = {0}, sb = {0}, sn = {0}, sa = {0};
    int from = nlogs;
    sio_redis *g = client(good, 0, &sg, NULL), *b = client(bad, 0, &sb, NULL);
    CHECK(run_until(&sg.up, 3000), "right password: up");
    struct rec r1 = {0}, r2 = {0};
    sio__redis_cmd(g, on_reply, &r1, "ACL", "SETUSER", "alice", "on", ">p@ss", "~*", "&*", "+@all", (char *)NULL);
    run_until(&r1.called, 2000);
    CHECK(r1.type == SIO_RESP_STATUS, "ACL user created");
    sio_redis *a = client(acl, 0, &sa, NULL), *n = client(none, 0, &sn, NULL);
    CHECK(run_until(&sa.up, 3000), "ACL user (percent-decoded password): up");
    sio__redis_cmd(a, on_reply, &r2, "ACL", "WHOAMI", (char *)NULL);
    run_until(&r2.called, 2000);
    CHECK(r2.type == SIO_RESP_BULK && strcmp(r2.str, "alice") == 0, "authenticated as alice");
    /* PING without AUTH is refused with NOAUTH: the handshake fails and retries */
    run_for(500);
    CHECK(!sb.up && sio__redis_stats(b)->attempts >= 2, "wrong password: never up, keeps retrying");
    CHECK(logged_since(from, "handshake refused: WRONGPASS"), "wrong password logged");
    CHECK(!sn.up && logged_since(from, "handshake refused: NOAUTH"), "no password logged");
    rec_clear(&r1);
    rec_clear(&r2);
    sio__redis_free(g);
    sio__redis_free(b);
    sio__redis_free(a);
    sio__redis_free(n);
    stop_redis(pid, SIGTERM);
}

/* ====== Fake servers on the same loop ====== */

/* A scripted server: accepts, answers the handshake PING, then behaves per `mode`. */
enum fake_mode {
    FAKE_GARBAGE,    /* answers the first command after PING with "*1\r\n$-5\r\n" */
    FAKE_UNASKED,    /* sends "+OK\r\n" nobody asked for, after the PING reply */
    FAKE_TRICKLE,    /* every reply written one byte per loop turn */
    FAKE_DEAF        /* answers PING, then never reads again */
};

struct fake {
    int lfd;                 /* listening socket */
    int port;                /* its port */
    int cfd;                 /* the current client, or -1 */
    enum fake_mode mode;     /* behaviour */
    char in[65536];          /* bytes received, not yet answered */
    size_t in_len;
    char out[65536];         /* bytes to send (trickle mode) */
    size_t out_len, out_off;
    int accepted;            /* connections accepted */
    int commands;            /* commands answered */
};

static struct fake fk;

static void fake_send(const char *s, size_t n)
{
    if (fk.mode == FAKE_TRICKLE) {
        if (fk.out_len + n <= sizeof fk.out) {
            memcpy(fk.out + fk.out_len, s, n);
            fk.out_len += n;
        }
        return;
    }
    if (write(fk.cfd, s, n) < 0) { /* the client may be gone; nothing to do */
    }
}

/* Answers each complete command in fk.in. */
static void fake_answer(void)
{
    struct sio_resp_tok t[16];
    int nt;
    long n;
    while ((n = sio_resp_parse(fk.in, fk.in_len, t, 16, &nt)) > 0) {
        fk.commands++;
        if (sio_resp_tok_is(&t[1], "PING")) {
            fake_send("+PONG\r\n", 7);
            if (fk.mode == FAKE_UNASKED) fake_send("+OK\r\n", 5);
        } else if (fk.mode == FAKE_GARBAGE) {
            fake_send("*1\r\n$-5\r\n", 9);
        } else {
            /* GET: a bulk of 300 bytes; anything else: an array with a nested array */
            if (sio_resp_tok_is(&t[1], "GET")) {
                static char bulk[400];
                memcpy(bulk, "$300\r\n", 6);
                memset(bulk + 6, 'g', 300);
                memcpy(bulk + 306, "\r\n", 2);
                fake_send(bulk, 308);
            } else {
                fake_send("*3\r\n:1\r\n*2\r\n+a\r\n$-1\r\n-ERR x\r\n", 29);
            }
        }
        memmove(fk.in, fk.in + n, fk.in_len - (size_t)n);
        fk.in_len -= (size_t)n;
    }
}

static void fake_on_client(sio_loop *l, int fd, void *ud, int events)
{
    (void)ud;
    (void)events;
    if (fk.mode == FAKE_DEAF && fk.commands > 0) return; /* deaf after the handshake */
    ssize_t n = read(fd, fk.in + fk.in_len, sizeof fk.in - fk.in_len);
    if (n <= 0) {
        sio__loop_watch(l, fd, 0, NULL, NULL);
        close(fd);
        if (fk.cfd == fd) fk.cfd = -1;
        return;
    }
    fk.in_len += (size_t)n;
    fake_answer();
    if (fk.mode == FAKE_DEAF && fk.commands > 0) sio__loop_mask(l, fd, 0); /* stop reading for good */
}

static void fake_on_accept(sio_loop *l, int fd, void *ud, int events)
{
    (void)ud;
    (void)events;
    int c = accept(fd, NULL, NULL);
    if (c < 0) return;
    if (fk.cfd >= 0) { /* one client at a time: the old one is dead to the client anyway */
        sio__loop_watch(l, fk.cfd, 0, NULL, NULL);
        close(fk.cfd);
    }
    fcntl(c, F_SETFL, O_NONBLOCK);
    fk.cfd = c;
    fk.in_len = fk.out_len = fk.out_off = 0;
    fk.commands = 0;
    fk.accepted++;
    sio__loop_watch(l, c, SIO_EV_READ, fake_on_client, NULL);
}

/* Trickle mode: one byte per loop turn. */
static void fake_before_sleep(sio_loop *l, void *ud)
{
    (void)l;
    (void)ud;
    if (fk.mode != FAKE_TRICKLE || fk.cfd < 0 || fk.out_off >= fk.out_len) return;
    if (write(fk.cfd, fk.out + fk.out_off, 1) == 1) fk.out_off++;
}

static void fake_start(enum fake_mode mode)
{
    memset(&fk, 0, sizeof fk);
    fk.mode = mode;
    fk.cfd = -1;
    fk.lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int small = 4096;
    if (mode == FAKE_DEAF) setsockopt(fk.lfd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    struct sockaddr_in a = {0};
    socklen_t len = sizeof a;
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fk.lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fk.lfd, 8) < 0 ||
        getsockname(fk.lfd, (struct sockaddr *)&a, &len) < 0)
        abort();
    fk.port = ntohs(a.sin_port);
    sio__loop_watch(loop, fk.lfd, SIO_EV_READ, fake_on_accept, NULL);
    sio__loop_before_sleep(loop, fake_before_sleep, NULL);
}

static void fake_stop(void)
{
    if (fk.cfd >= 0) {
        sio__loop_watch(loop, fk.cfd, 0, NULL, NULL);
        close(fk.cfd);
    }
    sio__loop_watch(loop, fk.lfd, 0, NULL, NULL);
    close(fk.lfd);
    sio__loop_before_sleep(loop, NULL, NULL);
}

static void fake_url(char *url, size_t cap)
{
    snprintf(url, cap, "redis://127.0.0.1:%d", fk.port);
}

/* Garbage (a negative bulk length) -> protocol error, drop, reconnect. */
static void test_fake_garbage(void)
{
    char url[64];
    fake_start(FAKE_GARBAGE);
    fake_url(url, sizeof url);
    struct states st = {0};
    struct rec c = {0};
    int from = nlogs;
    sio_redis *r = client(url, 0, &st, NULL);
    CHECK(run_until(&st.up, 2000), "up with the fake");
    sio__redis_cmd(r, on_reply, &c, "GET", "x", (char *)NULL);
    run_until(&c.called, 2000);
    CHECK(c.called == 1 && c.null == 1, "garbage reply: callback failed");
    CHECK(logged_since(from, "protocol error"), "logged");
    CHECK(wait_ups(r, 2, 3000) && fk.accepted == 2, "reconnected");
    rec_clear(&c);
    sio__redis_free(r);
    fake_stop();
}

/* A reply nobody asked for -> protocol error. */
static void test_fake_unasked(void)
{
    char url[64];
    fake_start(FAKE_UNASKED);
    fake_url(url, sizeof url);
    struct states st = {0};
    int from = nlogs;
    sio_redis *r = client(url, 0, &st, NULL);
    run_for(1000);
    CHECK(logged_since(from, "a reply nobody asked for"), "unasked reply logged");
    /* it flaps (up, then dropped at once), and the backoff keeps growing instead of restarting */
    unsigned long drops = sio__redis_stats(r)->drops;
    CHECK(drops >= 2 && drops <= 6, "dropped, retried ever more slowly");
    CHECK(logged_since(from, "(attempt 3)"), "attempts counted across flaps");
    sio__redis_free(r);
    fake_stop();
}

/* Every reply arrives one byte per loop turn: the client reassembles them all. */
static void test_fake_trickle(void)
{
    char url[64];
    fake_start(FAKE_TRICKLE);
    fake_url(url, sizeof url);
    struct states st = {0};
    struct rec g = {0}, a = {0}, g2 = {0};
    sio_redis *r = client(url, 0, &st, NULL);
    CHECK(run_until(&st.up, 3000), "up (PONG one byte at a time)");
    sio__redis_cmd(r, on_reply, &g, "GET", "k", (char *)NULL);
    sio__redis_cmd(r, on_reply, &a, "LRANGE", "k", "0", "-1", (char *)NULL);
    sio__redis_cmd(r, on_reply, &g2, "GET", "k", (char *)NULL);
    CHECK(run_until(&g2.called, 10000), "all replies arrived");
    CHECK(g.type == SIO_RESP_BULK && g.len == 300 && g.str[299] == 'g', "bulk reassembled");
    CHECK(a.type == SIO_RESP_ARRAY && a.n == 3 && a.ntok == 6 && strcmp(a.elem[1], "(array 2)") == 0 &&
              strcmp(a.elem[3], "(nil)") == 0 && strcmp(a.elem[4], "ERR x") == 0,
          "nested array reassembled");
    CHECK(g2.len == 300 && sio__redis_stats(r)->drops == 0, "no drop");
    rec_clear(&g);
    rec_clear(&a);
    rec_clear(&g2);
    sio__redis_free(r);
    fake_stop();
}

/* A server that stops reading: output piles up to SIO_REDIS_MAX_OUTBUF -> drop, log, reconnect. */
static void test_fake_deaf(void)
{
    char url[64];
    fake_start(FAKE_DEAF);
    fake_url(url, sizeof url);
    struct states st = {0};
    static struct rec c[200];
    sio_redis *r = client(url, 0, &st, NULL);
    CHECK(run_until(&st.up, 2000), "up");
    static char chunk[64 * 1024];
    memset(chunk, 'p', sizeof chunk);
    const char *argv[] = {"PUBLISH", "ch", chunk};
    size_t lens[] = {7, 2, sizeof chunk};
    int from = nlogs, accepted = 0, refused = 0;
    for (int i = 0; i < 200 && !refused; i++) {
        int rc = sio__redis_command(r, 3, argv, lens, on_reply, &c[i]);
        if (rc == 0) accepted++;
        else refused = rc;
        sio__loop_turn(loop, 0);
    }
    CHECK(refused == SIO_REDIS_ERR_LIMIT, "the output limit is reached");
    CHECK(logged_since(from, "output buffer limit reached"), "logged");
    run_for(100);
    int failed = 0;
    for (int i = 0; i < accepted; i++) failed += c[i].null;
    CHECK(failed == accepted, "every accepted command's callback failed once");
    CHECK(wait_ups(r, 2, 3000) && fk.accepted >= 2, "reconnected");
    for (int i = 0; i < 200; i++) rec_clear(&c[i]);
    sio__redis_free(r);
    fake_stop();
}

/* ====== Freeing ====== */

static sio_redis *free_me;

static void free_in_callback(sio_redis *r, const struct sio_resp_tok *t, int nt, void *ud)
{
    on_reply(r, t, nt, ud);
    sio__redis_free(free_me); /* takes effect when this callback returns */
    sio__redis_free(free_me); /* twice is harmless */
}

static void test_free(void)
{
    struct states st = {0};
    struct rec a = {0}, b = {0}, c = {0};
    free_me = client(url0, 0, &st, NULL);
    run_until(&st.up, 3000);
    sio__redis_cmd(free_me, free_in_callback, &a, "PING", (char *)NULL);
    sio__redis_cmd(free_me, on_reply, &b, "BLPOP", "never", "0", (char *)NULL);
    sio__redis_cmd(free_me, on_reply, &c, "PING", (char *)NULL);
    run_until(&a.called, 2000);
    CHECK(a.called == 1 && a.null == 0, "first reply delivered");
    CHECK(b.called == 1 && b.null == 1 && c.called == 1 && c.null == 1, "the others failed once by the free");
    /* free with pending commands, from outside any callback */
    struct rec d = {0};
    sio_redis *r = client(url0, 0, &st, NULL);
    st.up = 0;
    run_until(&st.up, 3000);
    sio__redis_cmd(r, on_reply, &d, "BLPOP", "never", "0", (char *)NULL);
    sio__redis_free(r);
    CHECK(d.called == 1 && d.null == 1, "free fails pending callbacks once");
    rec_clear(&a);
    rec_clear(&b);
    rec_clear(&c);
    rec_clear(&d);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    atexit(kill_all);
    loop = sio__loop_new(1024);
    if (!loop) abort();
    RUN(test_url);
    RUN(test_modes);
    RUN(test_fake_garbage);
    RUN(test_fake_unasked);
    RUN(test_fake_trickle);
    RUN(test_fake_deaf);
    have_redis = find_redis();
    if (!have_redis) {
        banner_skipped("test_redis against a real redis-server");
    } else {
        redis_port = free_port();
        redis_pid = start_redis(redis_port, NULL, NULL);
        CHECK(redis_pid > 0, "redis-server started");
        snprintf(url0, sizeof url0, "redis://127.0.0.1:%d", redis_port);
        snprintf(url3, sizeof url3, "redis://127.0.0.1:%d/3", redis_port);
        if (redis_pid > 0) {
            RUN(test_commands);
            RUN(test_select);
            RUN(test_pubsub);
            RUN(test_large);
            RUN(test_free);
            RUN(test_auth);
            RUN(test_not_running_at_start);
            RUN(test_restart);
        }
        stop_redis(redis_pid, SIGTERM);
    }
    sio__loop_free(loop);
    return test_main_end(have_redis ? "test_redis" : "test_redis (SKIPPED: no redis-server)");
}
