/* SPDX-License-Identifier: MIT */
/* sio-bench.c -- a load generator for Socket.IO v4 servers (sio, the Node server, the ceiling).
 *
 * One process, one thread, one epoll loop, no dependencies. Each simulated client speaks
 * Engine.IO v4 / Socket.IO v5 on the wire as socket.io-client does (protocol.md): the WebSocket
 * opening handshake (or HTTP long-polling), the open packet, a CONNECT carrying an auth object,
 * masked frames, a pong for every ping. Writes are batched: whatever one loop turn produces for
 * a connection leaves in one write() at the end of the turn.
 *
 * Scenarios (each stops by itself: connect phase, --warmup, then --duration of measurement):
 *   idle         N clients connect and stay; server RSS per connection (VmRSS delta / N, from
 *                /proc/<--server-pid>), its descriptors, and a final "still answering?" probe
 *   relay        P pairs exchange "private message" events, W in flight per pair;
 *                messages/s and one-way latency p50/p99/p99.9
 *   broadcast    one sender (or S), N receivers in a room, W broadcasts in flight;
 *                deliveries/s and delivery latency (measured by each receiver)
 *   churn        connect, Engine.IO handshake, CONNECT, one ack round trip, close; C in
 *                flight; handshakes/s and the latency of the whole cycle
 *   polling      relay over HTTP long-polling only (one held GET + one POST connection each)
 *   chat-connect N clients connect to ./sio-server (the tutorial chat, whose users list and
 *                "user connected" broadcast cost O(N^2) frames); connects/s and RSS
 * The server contract (events, auth, rooms) is at the top of relay-server.c. Every scenario
 * reports the generator's own CPU use (user+sys / wall, 1.0 = one core): a generator near 1.0
 * is saturated, and then the number measures the generator, not the server.
 *
 * Several servers at once (a cluster, bench/cluster.sh): --ports spreads the clients over
 * several ports (client i connects to the (i mod K)-th), --server-pid takes a list (CPU, RSS and
 * descriptors are summed; the busiest one is reported too), and --aux-pid names processes that
 * belong to the system under test without serving clients (redis-server), whose CPU is reported
 * apart instead of counting as "other processes".
 *
 * Two helpers read the JSON lines the scenarios print (one flat object per run):
 *   report FILE  medians per case and server and the ratios between servers, as Markdown
 *   plot FILE    an SVG line chart, drawn here (no plotting dependency)
 *
 * What it does not do: TLS, IPv6, compression, binary attachments, reconnection, upgrades
 * from polling to WebSocket. It measures; it does not test: protocol surprises are counted
 * and shown, not diagnosed.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* ====== Limits ====== */
#define BENCH_READ_CHUNK 65536        /* bytes per read() into the shared buffer */
#define BENCH_READS_PER_EVENT 8       /* read()s per readiness event before moving on */
#define BENCH_MAX_EVENTS 4096         /* epoll events per wait */
#define BENCH_TICK_MS 5               /* longest sleep in epoll_wait: the clock's resolution */
#define BENCH_MAX_HEAD 16384          /* bytes of an HTTP response head */
#define BENCH_MAX_FRAME (64u << 20)   /* largest frame or body accepted (the chat's users list) */
#define BENCH_MAX_SRC_ADDRS 250       /* source addresses 127.0.0.1 .. 127.0.0.250 */
#define BENCH_SID_MAX 63              /* characters kept of a socket / session id */
#define BENCH_MAX_WINDOW 4096         /* W: messages (or broadcasts) in flight per pair */
#define BENCH_MAX_SIZE 65536          /* --size: bytes of content per message */
#define BENCH_PROBES 100              /* idle: clients that check, at the end, that the server answers */
#define BENCH_PROBE_WAIT_NS 5000000000ull  /* idle: how long the probes may take */
#define BENCH_CLOSE_WAIT_NS 2000000000ull  /* churn: how long to wait for the server to hang up */
#define BENCH_OUT_KEEP 65536          /* an output buffer larger than this is freed once drained */
#define BENCH_ERR_LEN 160             /* bytes of the first error message kept */
#define BENCH_MAX_PORTS 64            /* --ports: servers the clients are spread over */
#define BENCH_MAX_PIDS 64             /* --server-pid, --aux-pid: processes whose CPU is read */
#define REPORT_MAX_FIELDS 64          /* report/plot: keys per JSON line */
#define REPORT_MAX_SERVERS 8          /* report/plot: servers (series) */
#define REPORT_MAX_CASES 128          /* report: distinct cases */

/* ====== Small tools ====== */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "sio-bench: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

/* A growable byte buffer. Output buffers consume from the front (`off`); input buffers hold a
 * partial frame or response left over from the previous read. */
typedef struct buf {
    char *p;    /* bytes, NULL until first use */
    size_t len; /* bytes held, the consumed front included */
    size_t cap; /* bytes allocated */
    size_t off; /* bytes already consumed (written) from the front */
} buf;

/* Makes room for n more bytes and returns where they go. Exits when memory runs out: a
 * generator that cannot allocate has no number worth printing. */
static char *buf_reserve(buf *b, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n) cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np) die("out of memory");
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

/* Drops the first n bytes of an input buffer (frees it when empty). */
static void buf_consume(buf *b, size_t n)
{
    if (n >= b->len) {
        buf_free(b);
        return;
    }
    memmove(b->p, b->p + n, b->len - n);
    b->len -= n;
}

/* Writes v in decimal at p; returns the digit count. */
static size_t put_u64(char *p, uint64_t v)
{
    char t[20];
    size_t n = 0;
    do t[n++] = (char)('0' + v % 10);
    while (v /= 10);
    for (size_t i = 0; i < n; i++) p[i] = t[n - 1 - i];
    return n;
}

/* Reads a decimal number at p (at most end); advances *pp. */
static uint64_t get_u64(const char **pp, const char *end)
{
    const char *p = *pp;
    uint64_t v = 0;
    while (p < end && *p >= '0' && *p <= '9') v = v * 10 + (uint64_t)(*p++ - '0');
    *pp = p;
    return v;
}

static uint32_t rng_state = 2463534242u; /* xorshift32 state, for mask keys */
static uint32_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

/* ====== Latency histogram ======
 * Log-linear, HdrHistogram-shaped: exact below 64 ns, then 32 sub-buckets per power of two,
 * so any recorded value is known within 1/32 (3.1%). Values are nanoseconds. */
#define HIST_SUB_BITS 5                       /* log2 of the sub-buckets per power of two */
#define HIST_SUB (1u << HIST_SUB_BITS)        /* sub-buckets per power of two */
#define HIST_BUCKETS (HIST_SUB * (64 - HIST_SUB_BITS + 1)) /* covers all of uint64_t */

typedef struct hist {
    uint64_t n;                 /* values recorded */
    uint64_t max;               /* largest value */
    uint64_t b[HIST_BUCKETS];   /* counts per bucket */
} hist;

static unsigned hist_index(uint64_t v)
{
    if (v < 2 * HIST_SUB) return (unsigned)v;
    unsigned shift = (unsigned)(63 - __builtin_clzll(v)) - HIST_SUB_BITS;
    return HIST_SUB * shift + (unsigned)(v >> shift);
}

/* The middle of bucket i's value range. */
static uint64_t hist_value(unsigned i)
{
    if (i < 2 * HIST_SUB) return i;
    unsigned shift = i / HIST_SUB - 1, top = i % HIST_SUB + HIST_SUB;
    return ((uint64_t)top << shift) + ((1ull << shift) >> 1);
}

static void hist_add(hist *h, uint64_t v)
{
    h->b[hist_index(v)]++;
    h->n++;
    if (v > h->max) h->max = v;
}

/* The value at quantile q (0..1) in microseconds, or -1 when empty. */
static double hist_q_us(const hist *h, double q)
{
    if (!h->n) return -1;
    uint64_t want = (uint64_t)ceil(q * (double)h->n), seen = 0;
    if (want < 1) want = 1;
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        seen += h->b[i];
        if (seen >= want) {
            uint64_t v = hist_value(i);
            return (double)(v > h->max ? h->max : v) / 1000.0;
        }
    }
    return (double)h->max / 1000.0;
}

/* ====== The server's process, from /proc ====== */

/* VmRSS of pid in KiB, or -1. */
static long proc_rss_kb(int pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0) kb = strtol(line + 6, NULL, 10);
    fclose(f);
    return kb;
}

/* Open descriptors of pid, or -1. */
static long proc_fds(int pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", pid);
    DIR *d = opendir(path);
    if (!d) return -1;
    long n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n;
}

/* CPU seconds (user + system) pid has used, or -1. */
static double proc_cpu_s(int pid)
{
    char path[64], text[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    char *p = strrchr(text, ')'); /* the command name may hold spaces */
    if (!p) return -1;
    unsigned long ut = 0, st = 0;
    /* After ')': state, then fields 4..13, then utime (14) and stime (15). */
    if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2) return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* The sum of proc_rss_kb() (or proc_fds(), with fds set) over pids[0..n); -1 if n is 0 or one
 * is unreadable. */
static long pids_mem(const int *pids, int n, int fds)
{
    long sum = n ? 0 : -1;
    for (int i = 0; i < n; i++) {
        long v = fds ? proc_fds(pids[i]) : proc_rss_kb(pids[i]);
        if (v < 0) return -1;
        sum += v;
    }
    return sum;
}

/* The sum of proc_cpu_s() over pids[0..n), each one also in each[] when each is not NULL; -1 if
 * n is 0 or one is unreadable. */
static double pids_cpu_s(const int *pids, int n, double *each)
{
    double sum = n ? 0 : -1;
    for (int i = 0; i < n; i++) {
        double v = proc_cpu_s(pids[i]);
        if (each) each[i] = v;
        if (v < 0) sum = -1;
        if (sum >= 0) sum += v;
    }
    return sum;
}

/* CPU seconds the machine's processes have used (every core: user, nice, system, steal), and
 * in *softirq the seconds spent in interrupts and softirqs, from /proc/stat; -1 if unreadable.
 * Loopback TCP does much of its work in softirqs, which are not charged to any process; so the
 * processes' time minus the generator's and the server's is what *something else* took during
 * the window: on a shared machine, a sign that the run was disturbed. */
static double host_busy_s(double *softirq)
{
    FILE *f = fopen("/proc/stat", "r");
    if (!f) return -1;
    unsigned long long v[8] = {0};
    int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
    fclose(f);
    if (n < 8) return -1;
    double hz = (double)sysconf(_SC_CLK_TCK);
    /* user nice system idle iowait irq softirq steal */
    *softirq = (double)(v[5] + v[6]) / hz;
    return (double)(v[0] + v[1] + v[2] + v[7]) / hz;
}

static double self_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* ====== Configuration ====== */

enum { SC_IDLE, SC_RELAY, SC_BROADCAST, SC_CHURN, SC_POLLING, SC_CHAT };
static const char *const scenario_names[] = {"idle", "relay", "broadcast", "churn", "polling", "chat-connect"};

static struct config {
    int scenario;            /* SC_* */
    const char *host;        /* server IPv4 address */
    int port;                /* server port (--port; the first of --ports) */
    int ports[BENCH_MAX_PORTS]; /* --ports: client i connects to ports[i % nports] */
    int nports;              /* entries of ports (1 without --ports) */
    const char *path;        /* Engine.IO path, "/socket.io/" */
    int server_pid[BENCH_MAX_PIDS]; /* the servers' pids, for RSS/fds/CPU (summed) */
    int nserver;             /* entries of server_pid; 0 = unknown */
    int aux_pid[BENCH_MAX_PIDS]; /* --aux-pid: other processes of the system under test */
    int naux;                /* entries of aux_pid */
    const char *server_name; /* label in the output ("sio", "node", "ceiling") */
    const char *case_name;   /* label of this case; default: scenario and parameters */
    double duration;         /* seconds measured */
    double warmup;           /* seconds run before measuring */
    double connect_timeout;  /* seconds allowed for the connect phase */
    int n;                   /* idle/chat-connect: clients; broadcast: receivers */
    int senders;             /* broadcast: clients that send (take turns), before the receivers */
    int pairs;               /* relay/polling: P */
    int window;              /* relay/polling/broadcast: W in flight */
    int concurrency;         /* churn: C in flight; other scenarios: handshakes in flight */
    int size;                /* bytes of content per message (at least the timestamp) */
    int src_addrs;           /* source addresses to spread client sockets over */
    const char *room;        /* broadcast room */
    int probe;               /* idle: 1 = check at the end that the server answers acks */
} cfg = {
    .scenario = -1, .host = "127.0.0.1", .port = 3000, .path = "/socket.io/", .server_name = "?",
    .duration = 5, .warmup = 1, .connect_timeout = 120, .n = 1000, .senders = 1, .pairs = 100, .window = 1,
    .concurrency = 0, .size = 0, .src_addrs = 0, .room = "bench", .probe = 1,
};

/* ====== Clients ====== */

/* One TCP connection of a client. */
typedef struct tcp {
    int fd;             /* socket, -1 when closed */
    uint8_t connecting; /* non-blocking connect() in progress */
    uint8_t want_out;   /* EPOLLOUT registered */
    uint8_t dirty;      /* on this turn's flush list */
    uint8_t http;       /* input is HTTP responses (polling, or before the 101) */
    buf in;             /* a partial frame or response left by the last read */
    buf out;            /* bytes not yet written */
} tcp;

/* Client states. CONNECTING and OPEN count as "connecting", READY as "ready". */
enum { CS_FREE, CS_CONNECTING, CS_OPEN, CS_READY, CS_CLOSING, CS_DEAD };

/* One simulated Socket.IO client. */
typedef struct client {
    tcp t[2];              /* [0]: the WebSocket, or the polling GET; [1]: the polling POST */
    uint32_t idx;          /* index in g.cl */
    uint32_t peer;         /* relay: the partner's index */
    uint8_t state;         /* CS_* */
    uint8_t polling;       /* transport is long-polling */
    uint8_t get_busy;      /* polling: a GET is outstanding */
    uint8_t post_busy;     /* polling: a POST is outstanding */
    uint8_t receiver;      /* broadcast: joins the room and counts deliveries */
    uint32_t next_ack;     /* the next ack id this client will use */
    uint64_t t_start;      /* when the client started connecting (churn: cycle latency) */
    uint64_t t_probe;      /* idle: when its probe was sent, 0 if none */
    uint64_t deadline;     /* churn: give up waiting for the server's hang-up at this time */
    buf pq;                /* polling: packets for the next POST, joined with \x1e */
    char sid[BENCH_SID_MAX + 1];     /* Socket.IO socket id, from 40{"sid":...} */
    char eio_sid[BENCH_SID_MAX + 1]; /* polling: Engine.IO session id, from the open packet */
} client;

enum { PH_CONNECT, PH_WARMUP, PH_MEASURE, PH_PROBE, PH_DONE };

static struct {
    int ep;                   /* epoll descriptor */
    client *cl;               /* every client slot */
    uint32_t ncl;             /* slots */
    uint32_t *dirty;          /* (client << 1 | tcp) with output to write this turn */
    uint32_t ndirty;          /* entries used */
    uint64_t now;             /* nanoseconds, refreshed per read and per turn */
    int phase;                /* PH_* */
    uint64_t phase_end;       /* when the current timed phase ends */
    uint64_t t_run0;          /* start of the run */
    uint64_t t_connected;     /* end of the connect phase */
    uint64_t t_meas0, t_meas1; /* measurement window */
    uint32_t started;         /* clients started in the connect phase */
    uint32_t target;          /* clients the connect phase must start */
    uint32_t connecting;      /* clients in CS_CONNECTING or CS_OPEN */
    uint32_t ready;           /* clients in CS_READY */
    uint32_t ready_at_start;  /* ready when the warmup began */
    uint32_t src_next;        /* round-robin over source addresses */
    struct sockaddr_in dst[BENCH_MAX_PORTS];  /* the servers, one per --ports entry */
    char hostport[BENCH_MAX_PORTS][64];       /* their Host header values */
    volatile sig_atomic_t interrupted; /* SIGINT/SIGTERM: finish now */
    /* broadcast */
    uint32_t bc_expected;     /* receivers every broadcast must reach */
    uint64_t bc_sent;         /* broadcasts sent */
    uint64_t bc_done;         /* broadcasts delivered to every receiver (oldest first) */
    uint32_t *bc_ring;        /* deliveries per in-flight broadcast, by seq % ring size */
    /* idle probes */
    uint32_t probes_sent, probes_ok; /* probes sent, answered */
    hist probe_rtt;           /* their round trips */
    /* readings at the window's edges */
    double cpu0, cpu1;        /* own CPU seconds */
    double host0, host1;      /* the machine's processes' CPU seconds */
    double irq0, irq1;        /* the machine's interrupt and softirq CPU seconds */
    double srv_cpu0, srv_cpu1; /* server CPU seconds, all of them (-1 unknown) */
    double srv_each0[BENCH_MAX_PIDS], srv_each1[BENCH_MAX_PIDS]; /* the same, per server */
    double aux_cpu0, aux_cpu1; /* --aux-pid CPU seconds (-1 unknown or none) */
    long rss_base, rss_meas;  /* server VmRSS KiB before connecting, at the end of the hold */
    long fds_base, fds_meas;  /* server descriptors, same moments */
    char rbuf[BENCH_READ_CHUNK]; /* the shared read buffer */
} g;

static struct {
    uint64_t count;           /* deliveries / messages / handshakes inside the window */
    hist lat;                 /* their latencies */
    uint64_t frames_in;       /* Engine.IO packets received, whole run */
    uint64_t bytes_in;        /* bytes read, whole run */
    uint64_t pings;           /* server pings answered */
    uint64_t failed;          /* clients lost (connect refused, closed by the server, ...) */
    uint64_t close_timeouts;  /* churn: the server did not hang up in time */
    uint64_t errors;          /* protocol surprises */
    char first_error[BENCH_ERR_LEN]; /* the first failure or surprise, for the table */
} st;

static void note_error(const char *fmt, ...)
{
    st.errors++;
    if (st.first_error[0]) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st.first_error, sizeof st.first_error, fmt, ap);
    va_end(ap);
}

static void scenario_lost(client *c, int was_ready);

/* Moves c to state s, keeping the connecting/ready counters right. */
static void set_state(client *c, int s)
{
    int o = c->state;
    if (o == CS_CONNECTING || o == CS_OPEN) g.connecting--;
    if (o == CS_READY) g.ready--;
    if (s == CS_CONNECTING || s == CS_OPEN) g.connecting++;
    if (s == CS_READY) g.ready++;
    c->state = (uint8_t)s;
}

static void tcp_close(client *c, int which)
{
    tcp *t = &c->t[which];
    if (t->fd >= 0) close(t->fd); /* also removes it from epoll */
    t->fd = -1;
    t->connecting = t->want_out = 0;
    buf_free(&t->in);
    buf_free(&t->out);
}

/* Ends client c: its sockets are closed and the slot is DEAD (churn restarts it). A `why` marks
 * a failure, counted and remembered; NULL is a normal end. Safe to call twice. */
static void client_end(client *c, const char *why)
{
    if (c->state == CS_DEAD || c->state == CS_FREE) return;
    int was_ready = c->state == CS_READY;
    if (why) {
        st.failed++;
        note_error("client %u: %s", c->idx, why);
    }
    tcp_close(c, 0);
    tcp_close(c, 1);
    buf_free(&c->pq);
    set_state(c, CS_DEAD);
    if (why) scenario_lost(c, was_ready);
}

/* Puts connection `which` of c on this turn's flush list (once). */
static void mark_dirty(client *c, int which)
{
    tcp *t = &c->t[which];
    if (t->dirty) return;
    t->dirty = 1;
    g.dirty[g.ndirty++] = c->idx << 1 | (uint32_t)which;
}

/* Registers (op = EPOLL_CTL_ADD) or updates the connection's interest: always readable,
 * writable only while output is pending. */
static void epoll_set(client *c, int which, int want_out, int op)
{
    struct epoll_event ev;
    ev.events = EPOLLIN | (want_out ? EPOLLOUT : 0);
    ev.data.u64 = (uint64_t)c->idx << 1 | (uint64_t)which;
    epoll_ctl(g.ep, op, c->t[which].fd, &ev);
    c->t[which].want_out = (uint8_t)want_out;
}

/* Opens TCP connection `which` of client c (non-blocking; bytes queued in its output leave
 * once connected). The source address rotates over 127.0.0.1..--src-addrs, bound with
 * IP_BIND_ADDRESS_NO_PORT so the port is picked at connect() time per 4-tuple: that is what
 * lets more than ~28k connections reach one server port. Returns 0 or -1 (client ended). */
static int tcp_open(client *c, int which)
{
    tcp *t = &c->t[which];
    t->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (t->fd < 0) {
        client_end(c, strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(t->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (cfg.src_addrs > 1) {
        struct sockaddr_in src;
        memset(&src, 0, sizeof src);
        src.sin_family = AF_INET;
        src.sin_addr.s_addr = htonl(0x7f000001u + g.src_next++ % (uint32_t)cfg.src_addrs);
#ifdef IP_BIND_ADDRESS_NO_PORT
        setsockopt(t->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
#endif
        if (bind(t->fd, (struct sockaddr *)&src, sizeof src) < 0) {
            client_end(c, "bind to a 127.0.0.x source address failed");
            return -1;
        }
    }
    const struct sockaddr_in *dst = &g.dst[c->idx % (uint32_t)cfg.nports];
    if (connect(t->fd, (const struct sockaddr *)dst, sizeof *dst) < 0 && errno != EINPROGRESS) {
        char why[96];
        snprintf(why, sizeof why, "connect: %s", strerror(errno));
        client_end(c, why);
        return -1;
    }
    t->connecting = 1;
    epoll_set(c, which, 1, EPOLL_CTL_ADD);
    return 0;
}

/* Writes what connection `which` of c has queued; registers EPOLLOUT only while bytes remain. */
static void tcp_flush(client *c, int which)
{
    tcp *t = &c->t[which];
    if (t->fd < 0 || t->connecting) return;
    while (t->out.off < t->out.len) {
        ssize_t w = write(t->fd, t->out.p + t->out.off, t->out.len - t->out.off);
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) break;
            char why[96];
            snprintf(why, sizeof why, "write: %s", strerror(errno));
            client_end(c, why);
            return;
        }
        t->out.off += (size_t)w;
    }
    int pending = t->out.off < t->out.len;
    if (!pending) {
        if (t->out.cap > BENCH_OUT_KEEP) buf_free(&t->out);
        t->out.len = t->out.off = 0;
    }
    if (pending != t->want_out) epoll_set(c, which, pending, EPOLL_CTL_MOD);
}

/* ====== Output: WebSocket frames, HTTP requests, Engine.IO packets ====== */

/* Appends one masked client frame (RFC 6455 §5.2: every client frame is masked). */
static void ws_out(client *c, int opcode, const char *p, size_t n)
{
    tcp *t = &c->t[0];
    unsigned char *h = (unsigned char *)buf_reserve(&t->out, n + 14);
    size_t k = 0;
    h[k++] = (unsigned char)(0x80 | opcode);
    if (n < 126) {
        h[k++] = (unsigned char)(0x80 | n);
    } else if (n < 65536) {
        h[k++] = 0x80 | 126;
        h[k++] = (unsigned char)(n >> 8);
        h[k++] = (unsigned char)n;
    } else {
        h[k++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--) h[k++] = (unsigned char)((uint64_t)n >> (8 * i));
    }
    uint32_t key = rng();
    unsigned char *m = h + k;
    memcpy(m, &key, 4);
    k += 4;
    for (size_t i = 0; i < n; i++) h[k + i] = (unsigned char)p[i] ^ m[i & 3];
    t->out.len += k + n;
    mark_dirty(c, 0);
}

/* Appends an HTTP/1.1 request to connection `which`. */
static void http_out(client *c, int which, const char *method, const char *query, const char *body, size_t blen)
{
    tcp *t = &c->t[which];
    char head[512];
    int n;
    if (body)
        n = snprintf(head, sizeof head,
                     "%s %s?EIO=4&transport=polling%s HTTP/1.1\r\nHost: %s\r\n"
                     "Content-Type: text/plain;charset=UTF-8\r\nContent-Length: %zu\r\n\r\n",
                     method, cfg.path, query, g.hostport[c->idx % (uint32_t)cfg.nports], blen);
    else
        n = snprintf(head, sizeof head, "%s %s?EIO=4&transport=polling%s HTTP/1.1\r\nHost: %s\r\n\r\n", method,
                     cfg.path, query, g.hostport[c->idx % (uint32_t)cfg.nports]);
    buf_add(&t->out, head, (size_t)n);
    buf_add(&t->out, body, blen);
    mark_dirty(c, which);
}

/* Polling: the next GET of c's session. */
static void poll_get(client *c)
{
    char q[BENCH_SID_MAX + 8];
    snprintf(q, sizeof q, "&sid=%s", c->eio_sid);
    http_out(c, 0, "GET", q, NULL, 0);
    c->get_busy = 1;
}

/* Sends one Engine.IO text packet: a frame on WebSocket, or queued for the next POST. */
static void send_text(client *c, const char *p, size_t n)
{
    if (!c->polling) {
        ws_out(c, 1, p, n);
        return;
    }
    if (c->pq.len) buf_add(&c->pq, "\x1e", 1);
    buf_add(&c->pq, p, n);
    mark_dirty(c, 1);
}

/* Polling, at flush time: if no POST is outstanding, the queued packets leave in one POST
 * (on a fresh connection if the server closed the previous one). */
static void poll_post(client *c)
{
    if (c->post_busy || !c->pq.len || !c->eio_sid[0]) return;
    if (c->t[1].fd < 0) {
        c->t[1].http = 1;
        if (tcp_open(c, 1) < 0) return;
    }
    char q[BENCH_SID_MAX + 8];
    snprintf(q, sizeof q, "&sid=%s", c->eio_sid);
    http_out(c, 1, "POST", q, c->pq.p, c->pq.len);
    c->pq.len = 0;
    c->post_busy = 1;
}

/* The Socket.IO CONNECT with the auth payload: {"username":"u<idx>"[,"room":"<room>"]}. */
static void send_connect(client *c)
{
    char p[256];
    int n = c->receiver ? snprintf(p, sizeof p, "40{\"username\":\"u%u\",\"room\":\"%s\"}", c->idx, cfg.room)
                        : snprintf(p, sizeof p, "40{\"username\":\"u%u\"}", c->idx);
    send_text(c, p, (size_t)n);
}

/* Writes the content string's characters: "<send ns>[ <seq>]", padded with 'x' to --size. */
static size_t put_content(char *p, uint64_t ns, int with_seq, uint64_t seq)
{
    size_t k = put_u64(p, ns);
    if (with_seq) {
        p[k++] = ' ';
        k += put_u64(p + k, seq);
    }
    while (k < (size_t)cfg.size) p[k++] = 'x';
    return k;
}

/* 42["private message",{"to":"<sid>","content":"<now>"}] from c. */
static void send_private(client *c, const char *to)
{
    char p[BENCH_MAX_SIZE + 256];
    static const char a[] = "42[\"private message\",{\"to\":\"", b[] = "\",\"content\":\"";
    size_t k = 0, tl = strlen(to);
    memcpy(p, a, sizeof a - 1), k += sizeof a - 1;
    memcpy(p + k, to, tl), k += tl;
    memcpy(p + k, b, sizeof b - 1), k += sizeof b - 1;
    k += put_content(p + k, g.now, 0, 0);
    memcpy(p + k, "\"}]", 3), k += 3;
    send_text(c, p, k);
}

/* 42["broadcast",{"room":"<room>","content":"<now> <seq>"}] from c. */
static void send_broadcast(client *c, uint64_t seq)
{
    char p[BENCH_MAX_SIZE + 256];
    int k = snprintf(p, 256, "42[\"broadcast\",{\"room\":\"%s\",\"content\":\"", cfg.room);
    k += (int)put_content(p + k, g.now, 1, seq);
    memcpy(p + k, "\"}]", 3), k += 3;
    send_text(c, p, (size_t)k);
}

/* 42<id>["ping","<now>"]: an event asking for an ack. */
static void send_ping(client *c)
{
    char p[64];
    int n = snprintf(p, sizeof p, "42%u[\"ping\",\"%llu\"]", c->next_ack++, (unsigned long long)g.now);
    send_text(c, p, (size_t)n);
}

/* ====== Scenarios ====== */

/* Broadcast: the ring that counts deliveries per in-flight broadcast. */
#define BC_RING (2 * BENCH_MAX_WINDOW)

/* Broadcast: who sends broadcast number seq. The senders (clients 0 .. S-1) take turns; one that
 * was lost is skipped. NULL when none is ready. */
static client *bc_sender(uint64_t seq)
{
    for (int i = 0; i < cfg.senders; i++) {
        client *c = &g.cl[(seq + (uint64_t)i) % (uint64_t)cfg.senders];
        if (c->state == CS_READY) return c;
    }
    return NULL;
}

/* Broadcast: retires fully delivered broadcasts (oldest first) and keeps W in flight. */
static void bc_pump(void)
{
    while (g.bc_done < g.bc_sent && g.bc_ring[g.bc_done % BC_RING] >= g.bc_expected) {
        g.bc_ring[g.bc_done % BC_RING] = 0;
        g.bc_done++;
    }
    if (g.phase < PH_WARMUP || g.phase > PH_MEASURE || !g.bc_expected) return;
    while (g.bc_sent - g.bc_done < (uint64_t)cfg.window) {
        client *sender = bc_sender(g.bc_sent);
        if (!sender) return;
        send_broadcast(sender, g.bc_sent++);
    }
}

/* The content's numbers in an event's argument text: send time, and (broadcast) the seq. */
static int parse_content(const char *p, size_t n, uint64_t *ns, uint64_t *seq)
{
    static const char key[] = "\"content\":\"";
    const char *k = memmem(p, n, key, sizeof key - 1);
    if (!k) return -1;
    const char *q = k + sizeof key - 1, *end = p + n;
    *ns = get_u64(&q, end);
    if (seq) {
        if (q >= end || *q != ' ') return -1;
        q++;
        *seq = get_u64(&q, end);
    }
    return 0;
}

/* Counts one delivery sent at `sent` (ns) if the window is open. */
static void record(uint64_t sent)
{
    if (g.phase != PH_MEASURE) return;
    st.count++;
    hist_add(&st.lat, g.now > sent ? g.now - sent : 0);
}

/* An EVENT arrived at c; p is its array text, `["name",...]`. */
static void on_event(client *c, const char *p, size_t n)
{
    static const char pm[] = "[\"private message\",", bc[] = "[\"broadcast\",";
    uint64_t ns, seq;
    switch (cfg.scenario) {
    case SC_RELAY:
    case SC_POLLING:
        if (n < sizeof pm || memcmp(p, pm, sizeof pm - 1) != 0) return;
        if (parse_content(p, n, &ns, NULL) < 0) {
            note_error("private message without a numeric content");
            return;
        }
        record(ns);
        if (g.cl[c->peer].state == CS_READY && g.phase <= PH_MEASURE) send_private(c, g.cl[c->peer].sid);
        return;
    case SC_BROADCAST:
        if (!c->receiver || n < sizeof bc || memcmp(p, bc, sizeof bc - 1) != 0) return;
        if (parse_content(p, n, &ns, &seq) < 0) {
            note_error("broadcast without a numeric content");
            return;
        }
        record(ns);
        if (seq >= g.bc_done && seq < g.bc_sent) {
            g.bc_ring[seq % BC_RING]++;
            if (seq == g.bc_done) bc_pump();
        }
        return;
    default: /* idle, churn, chat-connect: events are only counted (st.frames_in) */
        return;
    }
}

/* An ACK arrived at c. */
static void on_ack(client *c)
{
    if (cfg.scenario == SC_CHURN) {
        if (c->state != CS_READY) return;
        record(c->t_start);
        ws_out(c, 8, "\x03\xe8", 2); /* close frame, 1000: the server answers and hangs up */
        set_state(c, CS_CLOSING);
        c->deadline = g.now + BENCH_CLOSE_WAIT_NS;
        return;
    }
    if (c->t_probe) { /* idle: a probe came back */
        hist_add(&g.probe_rtt, g.now - c->t_probe);
        c->t_probe = 0;
        g.probes_ok++;
    }
}

/* c's CONNECT was accepted. */
static void on_ready(client *c)
{
    if (cfg.scenario == SC_CHURN) send_ping(c);
}

/* c failed after being ready: keep the broadcast's bookkeeping honest. */
static void scenario_lost(client *c, int was_ready)
{
    if (cfg.scenario == SC_BROADCAST && c->receiver && was_ready && g.phase >= PH_WARMUP && g.bc_expected) {
        g.bc_expected--;
        bc_pump();
    }
}

/* The connect phase is over: start the traffic. */
static void scenario_begin(void)
{
    g.ready_at_start = g.ready;
    if (cfg.scenario == SC_RELAY || cfg.scenario == SC_POLLING) {
        for (uint32_t i = 0; i + 1 < g.ncl; i += 2) {
            client *a = &g.cl[i], *b = &g.cl[i + 1];
            if (a->state != CS_READY || b->state != CS_READY) continue;
            for (int w = 0; w < cfg.window; w++) send_private(a, b->sid);
        }
    } else if (cfg.scenario == SC_BROADCAST) {
        g.bc_expected = 0;
        for (uint32_t i = 0; i < g.ncl; i++) g.bc_expected += g.cl[i].receiver && g.cl[i].state == CS_READY;
        bc_pump();
    }
}

/* Starts client slot c: TCP connect, then the WebSocket (or polling) handshake. */
static void client_start(client *c)
{
    uint32_t idx = c->idx;
    memset(c, 0, sizeof *c);
    c->idx = idx;
    c->peer = idx ^ 1;
    c->t[0].fd = c->t[1].fd = -1;
    c->polling = cfg.scenario == SC_POLLING;
    c->receiver = cfg.scenario == SC_BROADCAST && idx >= (uint32_t)cfg.senders;
    c->t_start = g.now;
    set_state(c, CS_CONNECTING);
    c->t[0].http = 1;
    if (tcp_open(c, 0) < 0) return;
    if (c->polling) {
        http_out(c, 0, "GET", "", NULL, 0); /* the handshake */
        c->get_busy = 1;
        return;
    }
    /* The key is fixed: it is no secret, and the server computes the accept hash anyway. */
    char req[512];
    int n = snprintf(req, sizeof req,
                     "GET %s?EIO=4&transport=websocket HTTP/1.1\r\nHost: %s\r\nConnection: Upgrade\r\n"
                     "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
                     cfg.path, g.hostport[c->idx % (uint32_t)cfg.nports]);
    buf_add(&c->t[0].out, req, (size_t)n);
}

/* ====== Input: Engine.IO and Socket.IO packets ====== */

/* Copies the JSON string after `"sid":"` in p[0..n) into out; returns 0 or -1. */
static int copy_sid(const char *p, size_t n, char out[BENCH_SID_MAX + 1])
{
    const char *k = memmem(p, n, "\"sid\":\"", 7);
    if (!k) return -1;
    const char *v = k + 7, *e = memchr(v, '"', n - (size_t)(v - p));
    if (!e || e - v > BENCH_SID_MAX || e == v) return -1;
    memcpy(out, v, (size_t)(e - v));
    out[e - v] = '\0';
    return 0;
}

/* A Socket.IO packet (the Engine.IO message's data) for namespace "/". */
static void on_sio(client *c, const char *p, size_t n)
{
    if (!n) return;
    switch (p[0]) {
    case '0': /* CONNECT accepted: 0{"sid":"..."} */
        if (c->state != CS_OPEN) return;
        if (copy_sid(p + 1, n - 1, c->sid) < 0) {
            client_end(c, "CONNECT reply without a sid");
            return;
        }
        set_state(c, CS_READY);
        on_ready(c);
        return;
    case '2': { /* EVENT, maybe with an ack id the client would have to answer (never used here) */
        size_t i = 1;
        while (i < n && p[i] >= '0' && p[i] <= '9') i++;
        on_event(c, p + i, n - i);
        return;
    }
    case '3': /* ACK */
        on_ack(c);
        return;
    case '4': { /* CONNECT_ERROR */
        char why[BENCH_ERR_LEN];
        snprintf(why, sizeof why, "CONNECT_ERROR %.*s", (int)(n > 100 ? 100 : n - 1), p + 1);
        client_end(c, why);
        return;
    }
    case '1':
        client_end(c, "server sent DISCONNECT");
        return;
    default:
        note_error("unexpected Socket.IO packet type %c", p[0]);
    }
}

/* One Engine.IO packet. */
static void on_eio(client *c, const char *p, size_t n)
{
    st.frames_in++;
    if (!n) return;
    switch (p[0]) {
    case '0': /* open: for polling, remember the sid; then CONNECT */
        if (c->state != CS_CONNECTING) return;
        if (c->polling && copy_sid(p + 1, n - 1, c->eio_sid) < 0) {
            client_end(c, "open packet without a sid");
            return;
        }
        set_state(c, CS_OPEN);
        send_connect(c);
        return;
    case '2': /* ping: pong */
        st.pings++;
        send_text(c, "3", 1);
        return;
    case '4':
        on_sio(c, p + 1, n - 1);
        return;
    case '1':
        client_end(c, "server closed the Engine.IO session");
        return;
    default: /* pong, noop */
        return;
    }
}

/* One WebSocket frame at d[0..n). Returns the bytes it used, 0 if incomplete, -1 if broken. */
static long ws_in(client *c, char *d, size_t n)
{
    unsigned char *p = (unsigned char *)d;
    if (n < 2) return 0;
    uint64_t len = p[1] & 127;
    size_t h = 2;
    if (len == 126) {
        if (n < 4) return 0;
        len = (uint64_t)p[2] << 8 | p[3];
        h = 4;
    } else if (len == 127) {
        if (n < 10) return 0;
        len = 0;
        for (int i = 2; i < 10; i++) len = len << 8 | p[i];
        h = 10;
    }
    int masked = p[1] & 0x80;
    if (masked) h += 4; /* servers must not mask; tolerated */
    if (len > BENCH_MAX_FRAME) return -1;
    if (n - h < len || n < h) return 0;
    char *pl = d + h;
    if (masked)
        for (uint64_t i = 0; i < len; i++) pl[i] ^= (char)p[h - 4 + (i & 3)];
    switch (p[0] & 15) {
    case 1: /* text: an Engine.IO packet */
        if (c->state != CS_CLOSING) on_eio(c, pl, (size_t)len);
        break;
    case 8: /* close: churn waits for the hang-up; anyone else has lost the server */
        if (c->state != CS_CLOSING) client_end(c, "server sent a WebSocket close");
        break;
    case 9: /* WebSocket ping */
        ws_out(c, 10, pl, (size_t)len);
        break;
    default: /* binary, pong, continuation: not used by these servers */
        break;
    }
    return (long)(h + len);
}

/* Case-insensitive header lookup in an HTTP head; returns the value or NULL. */
static const char *http_header(const char *h, size_t n, const char *name)
{
    size_t nl = strlen(name);
    for (size_t i = 0; i + nl < n; i++)
        if ((i == 0 || h[i - 1] == '\n') && strncasecmp(h + i, name, nl) == 0) return h + i + nl;
    return NULL;
}

/* One HTTP response at d[0..n) on connection `which`. Returns the bytes it used, 0 if
 * incomplete, -1 if the client was ended. */
static long http_in(client *c, int which, char *d, size_t n)
{
    char *e = memmem(d, n, "\r\n\r\n", 4);
    if (!e) {
        if (n > BENCH_MAX_HEAD) client_end(c, "HTTP response head too large");
        return n > BENCH_MAX_HEAD ? -1 : 0;
    }
    size_t hl = (size_t)(e + 4 - d);
    int status = n > 12 && memcmp(d, "HTTP/1.", 7) == 0 ? atoi(d + 9) : 0;
    if (status == 101 && !c->polling && which == 0) {
        c->t[0].http = 0; /* what follows is WebSocket frames */
        return (long)hl;
    }
    const char *cl = http_header(d, hl, "content-length:");
    if (!cl) {
        char why[64];
        snprintf(why, sizeof why, "HTTP %d without Content-Length", status);
        client_end(c, why);
        return -1;
    }
    size_t blen = strtoul(cl, NULL, 10);
    if (blen > BENCH_MAX_FRAME) {
        client_end(c, "HTTP body too large");
        return -1;
    }
    if (n - hl < blen) return 0;
    if (status != 200) {
        char why[BENCH_ERR_LEN];
        snprintf(why, sizeof why, "HTTP %d: %.*s", status, (int)(blen > 80 ? 80 : blen), d + hl);
        client_end(c, why);
        return -1;
    }
    if (which == 1) { /* a POST's "ok" */
        c->post_busy = 0;
        if (c->pq.len) mark_dirty(c, 1);
        return (long)(hl + blen);
    }
    /* A GET's payload: Engine.IO packets joined with \x1e. */
    c->get_busy = 0;
    char *body = d + hl;
    size_t start = 0;
    for (size_t i = 0; i <= blen && c->state != CS_DEAD; i++) {
        if (i == blen || body[i] == '\x1e') {
            if (i > start) on_eio(c, body + start, i - start);
            start = i + 1;
        }
    }
    if (c->state != CS_DEAD && c->state != CS_CLOSING && c->eio_sid[0]) poll_get(c);
    return (long)(hl + blen);
}

/* Feeds d[0..n) to connection `which` of c; returns the bytes used (the rest is a partial
 * frame or response). Stops when the client ends. */
static size_t tcp_process(client *c, int which, char *d, size_t n)
{
    size_t off = 0;
    while (off < n && c->state != CS_DEAD) {
        long u = c->t[which].http ? http_in(c, which, d + off, n - off) : ws_in(c, d + off, n - off);
        if (u < 0) {
            if (c->state != CS_DEAD) client_end(c, "malformed frame from the server");
            return n;
        }
        if (u == 0) break;
        off += (size_t)u;
    }
    return off;
}

/* The peer closed connection `which` (or it failed). */
static void tcp_eof(client *c, int which, const char *why)
{
    if (c->polling && which == 1 && !c->post_busy) { /* an idle keep-alive POST connection */
        tcp_close(c, 1);
        return;
    }
    if (c->state == CS_CLOSING) { /* churn: the expected hang-up */
        client_end(c, NULL);
        return;
    }
    client_end(c, why);
}

/* Reads what connection `which` of c has (up to BENCH_READS_PER_EVENT chunks, for fairness
 * between connections) and feeds it to the frame or response parser; a partial frame or
 * response is kept in the connection's input buffer for the next read. */
static void tcp_readable(client *c, int which)
{
    tcp *t = &c->t[which];
    for (int r = 0; r < BENCH_READS_PER_EVENT; r++) {
        ssize_t n = read(t->fd, g.rbuf, sizeof g.rbuf);
        if (n == 0) {
            tcp_eof(c, which, "the server closed the connection");
            return;
        }
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN) tcp_eof(c, which, strerror(errno));
            return;
        }
        st.bytes_in += (uint64_t)n;
        g.now = now_ns();
        if (t->in.len) {
            buf_add(&t->in, g.rbuf, (size_t)n);
            size_t used = tcp_process(c, which, t->in.p, t->in.len);
            if (c->state == CS_DEAD || t->fd < 0) return;
            buf_consume(&t->in, used);
        } else {
            size_t used = tcp_process(c, which, g.rbuf, (size_t)n);
            if (c->state == CS_DEAD || t->fd < 0) return;
            if (used < (size_t)n) buf_add(&t->in, g.rbuf + used, (size_t)n - used);
        }
        if ((size_t)n < sizeof g.rbuf) return;
    }
}

/* One epoll event; `data` is (client index << 1 | connection). Finishes a pending connect()
 * (then the queued request leaves), reads, and writes what EPOLLOUT allows. Events for clients
 * that ended earlier in the same batch are ignored: slots are only restarted in tick(). */
static void on_epoll(uint64_t data, uint32_t events)
{
    client *c = &g.cl[data >> 1];
    int which = (int)(data & 1);
    tcp *t = &c->t[which];
    if (c->state == CS_DEAD || c->state == CS_FREE || t->fd < 0) return;
    if (t->connecting) {
        if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
        int err = 0;
        socklen_t el = sizeof err;
        getsockopt(t->fd, SOL_SOCKET, SO_ERROR, &err, &el);
        if (err) {
            char why[96];
            snprintf(why, sizeof why, "connect: %s", strerror(err));
            client_end(c, why);
            return;
        }
        t->connecting = 0;
        tcp_flush(c, which);
        return;
    }
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) tcp_readable(c, which);
    if ((events & EPOLLOUT) && c->state != CS_DEAD && t->fd >= 0) tcp_flush(c, which);
}

/* End of a loop turn: every connection with output writes once (polling POSTs are built
 * here, so that everything queued this turn travels in one request). */
static void flush_dirty(void)
{
    for (uint32_t i = 0; i < g.ndirty; i++) {
        client *c = &g.cl[g.dirty[i] >> 1];
        int which = (int)(g.dirty[i] & 1);
        c->t[which].dirty = 0;
        if (c->state == CS_DEAD || c->state == CS_FREE) continue;
        if (c->polling && which == 1) poll_post(c);
        if (c->state != CS_DEAD) tcp_flush(c, which);
    }
    g.ndirty = 0;
}

/* ====== Phases ====== */

/* Opens the measurement window: counters are reset, CPU clocks (own, server, machine) read. */
static void measure_begin(void)
{
    g.t_meas0 = g.now;
    g.cpu0 = self_cpu_s();
    g.host0 = host_busy_s(&g.irq0);
    g.srv_cpu0 = pids_cpu_s(cfg.server_pid, cfg.nserver, g.srv_each0);
    g.aux_cpu0 = pids_cpu_s(cfg.aux_pid, cfg.naux, NULL);
    st.count = 0;
    memset(&st.lat, 0, sizeof st.lat);
}

/* Closes the window: the same clocks again. */
static void measure_end(void)
{
    g.t_meas1 = g.now;
    g.cpu1 = self_cpu_s();
    g.host1 = host_busy_s(&g.irq1);
    g.srv_cpu1 = pids_cpu_s(cfg.server_pid, cfg.nserver, g.srv_each1);
    g.aux_cpu1 = pids_cpu_s(cfg.aux_pid, cfg.naux, NULL);
}

/* Reads the server's RSS and descriptor count (idle: at the end of the hold; chat-connect: once
 * the connect phase has settled). */
static void server_mem(void)
{
    if (!cfg.nserver) return;
    g.rss_meas = pids_mem(cfg.server_pid, cfg.nserver, 0);
    g.fds_meas = pids_mem(cfg.server_pid, cfg.nserver, 1);
}

/* Idle: BENCH_PROBES ready clients, spread over the whole set, each ask for an ack. */
static void probe_begin(void)
{
    uint32_t want = g.ready < BENCH_PROBES ? g.ready : BENCH_PROBES;
    if (!want) return;
    uint32_t stride = g.ready / want, seen = 0;
    g.now = now_ns(); /* measure_end() spent a while reading /proc */
    for (uint32_t i = 0; i < g.ncl && g.probes_sent < want; i++) {
        client *c = &g.cl[i];
        if (c->state != CS_READY) continue;
        if (seen++ % stride) continue;
        c->t_probe = g.now;
        send_ping(c);
        g.probes_sent++;
    }
}

/* Runs once per loop turn: phase changes, the connect pacing, churn's restarts. */
static void tick(void)
{
    g.now = now_ns();
    if (g.interrupted && g.phase < PH_DONE) {
        if (g.phase == PH_MEASURE) measure_end();
        g.phase = PH_DONE;
        return;
    }
    switch (g.phase) {
    case PH_CONNECT:
        if (cfg.scenario == SC_CHAT && g.started == 0) measure_begin(); /* chat-connect measures connecting */
        while (g.connecting < (uint32_t)cfg.concurrency && g.started < g.target) {
            client *c = &g.cl[g.started++];
            client_start(c);
        }
        if ((g.started == g.target && g.connecting == 0) ||
            g.now - g.t_run0 > (uint64_t)(cfg.connect_timeout * 1e9)) {
            if (g.connecting) note_error("%u clients still connecting at --connect-timeout", g.connecting);
            g.t_connected = g.now;
            g.phase = PH_WARMUP;
            g.phase_end = g.now + (uint64_t)(cfg.warmup * 1e9);
            scenario_begin();
            if (cfg.scenario == SC_CHAT) {
                st.count = g.ready;
                measure_end();
            }
        }
        break;
    case PH_WARMUP:
        if (g.now >= g.phase_end && cfg.scenario == SC_CHAT) { /* settled: read its memory, done */
            server_mem();
            g.phase = PH_DONE;
        } else if (g.now >= g.phase_end) {
            measure_begin();
            g.phase = PH_MEASURE;
            g.phase_end = g.now + (uint64_t)(cfg.duration * 1e9);
        }
        break;
    case PH_MEASURE:
        if (g.now >= g.phase_end) {
            measure_end();
            server_mem();
            if (cfg.scenario == SC_IDLE && cfg.probe) {
                g.phase = PH_PROBE;
                g.phase_end = g.now + BENCH_PROBE_WAIT_NS;
                probe_begin();
            } else {
                g.phase = PH_DONE;
            }
        }
        break;
    case PH_PROBE:
        if (g.probes_ok >= g.probes_sent || g.now >= g.phase_end) g.phase = PH_DONE;
        break;
    default:
        break;
    }
    if (cfg.scenario == SC_CHURN && (g.phase == PH_WARMUP || g.phase == PH_MEASURE)) {
        for (uint32_t i = 0; i < g.ncl; i++) {
            client *c = &g.cl[i];
            if (c->state == CS_CLOSING && g.now > c->deadline) {
                st.close_timeouts++;
                client_end(c, NULL);
            }
            if (c->state == CS_DEAD || c->state == CS_FREE) client_start(c);
        }
    }
}

/* ====== Results ====== */

/* A flat JSON object being written to a buffer: jstr()/jnum() append "key":value pairs. The
 * report and plot commands read these lines back with rec_parse(), so keep them flat. */
typedef struct jout {
    char s[4096]; /* text */
    size_t n;     /* bytes used */
} jout;

static void jkey(jout *j, const char *k)
{
    j->n += (size_t)snprintf(j->s + j->n, sizeof j->s - j->n, "%s\"%s\":", j->n > 1 ? "," : "", k);
}
static void jstr(jout *j, const char *k, const char *v)
{
    jkey(j, k);
    j->n += (size_t)snprintf(j->s + j->n, sizeof j->s - j->n, "\"");
    for (const char *p = v; *p && j->n + 8 < sizeof j->s; p++) {
        if (*p == '"' || *p == '\\') j->s[j->n++] = '\\';
        j->s[j->n++] = (*p >= 0 && *p < 0x20) ? ' ' : *p;
    }
    j->n += (size_t)snprintf(j->s + j->n, sizeof j->s - j->n, "\"");
}
static void jnum(jout *j, const char *k, double v)
{
    jkey(j, k);
    if (!isfinite(v)) j->n += (size_t)snprintf(j->s + j->n, sizeof j->s - j->n, "null");
    else if (v == floor(v) && fabs(v) < 1e15) j->n += (size_t)snprintf(j->s + j->n, sizeof j->s - j->n, "%.0f", v);
    else j->n += (size_t)snprintf(j->s + j->n, sizeof j->s - j->n, "%.4g", v);
}

/* Prints the run as one JSON line on stdout and a table on stderr. */
static void results(void)
{
    double dur = g.t_meas1 > g.t_meas0 ? (double)(g.t_meas1 - g.t_meas0) / 1e9 : 0;
    double gen_cpu = dur > 0 ? (g.cpu1 - g.cpu0) / dur : 0;
    double srv_cpu = dur > 0 && g.srv_cpu0 >= 0 && g.srv_cpu1 >= 0 ? (g.srv_cpu1 - g.srv_cpu0) / dur : -1;
    double srv_each[BENCH_MAX_PIDS], srv_max = -1; /* per server, and the busiest one */
    for (int i = 0; i < cfg.nserver && srv_cpu >= 0; i++) {
        srv_each[i] = (g.srv_each1[i] - g.srv_each0[i]) / dur;
        if (srv_each[i] > srv_max) srv_max = srv_each[i];
    }
    double aux_cpu = dur > 0 && g.aux_cpu0 >= 0 && g.aux_cpu1 >= 0 ? (g.aux_cpu1 - g.aux_cpu0) / dur : -1;
    double rate = dur > 0 ? (double)st.count / dur : 0;
    double host = dur > 0 && g.host0 >= 0 && g.host1 >= 0 ? (g.host1 - g.host0) / dur : -1;
    double other = host >= 0 ? host - gen_cpu - (srv_cpu > 0 ? srv_cpu : 0) - (aux_cpu > 0 ? aux_cpu : 0) : -1;
    double softirq = host >= 0 ? (g.irq1 - g.irq0) / dur : -1;
    if (other < 0 && host >= 0) other = 0; /* clock-tick rounding */
    double conn_s = (double)(g.t_connected - g.t_run0) / 1e9;
    const char *sc = scenario_names[cfg.scenario];
    char casebuf[128];
    const char *case_name = cfg.case_name;
    if (!case_name) {
        switch (cfg.scenario) {
        case SC_RELAY: case SC_POLLING:
            snprintf(casebuf, sizeof casebuf, "%s P=%d W=%d", sc, cfg.pairs, cfg.window);
            break;
        case SC_BROADCAST:
            snprintf(casebuf, sizeof casebuf, "%s N=%d W=%d", sc, cfg.n, cfg.window);
            if (cfg.senders > 1) snprintf(casebuf + strlen(casebuf), sizeof casebuf - strlen(casebuf), " S=%d", cfg.senders);
            if (cfg.nports > 1) snprintf(casebuf + strlen(casebuf), sizeof casebuf - strlen(casebuf), " K=%d", cfg.nports);
            break;
        case SC_CHURN:
            snprintf(casebuf, sizeof casebuf, "%s C=%d", sc, cfg.concurrency);
            break;
        default:
            snprintf(casebuf, sizeof casebuf, "%s N=%d", sc, cfg.n);
        }
        case_name = casebuf;
    }
    double value = rate;
    const char *metric = cfg.scenario == SC_BROADCAST ? "deliveries/s"
                         : cfg.scenario == SC_CHURN   ? "handshakes/s"
                                                      : "msgs/s";
    double per_conn = -1, delta_mb = -1;
    uint32_t held = g.ready;
    if (g.rss_meas > 0 && g.rss_base > 0 && held) {
        delta_mb = (double)(g.rss_meas - g.rss_base) / 1024.0;
        per_conn = (double)(g.rss_meas - g.rss_base) * 1024.0 / held;
    }
    if (cfg.scenario == SC_IDLE) {
        value = per_conn;
        metric = "B/conn";
    } else if (cfg.scenario == SC_CHAT) { /* the window was the connect phase */
        value = rate;
        metric = "connects/s";
    }

    jout j;
    j.n = (size_t)snprintf(j.s, sizeof j.s, "{");
    jstr(&j, "tool", "sio-bench");
    jstr(&j, "scenario", sc);
    jstr(&j, "case", case_name);
    jstr(&j, "server", cfg.server_name);
    jstr(&j, "metric", metric);
    jnum(&j, "value", value);
    jnum(&j, "duration_s", dur);
    jnum(&j, "gen_cpu", gen_cpu);
    jnum(&j, "server_cpu", srv_cpu);
    jnum(&j, "servers", cfg.nserver);
    jnum(&j, "server_cpu_max", srv_max);
    jnum(&j, "aux_cpu", aux_cpu);
    jnum(&j, "ports", cfg.nports);
    jnum(&j, "host_cpu", host);
    jnum(&j, "other_cpu", other);
    jnum(&j, "softirq_cpu", softirq);
    jnum(&j, "clients", g.target ? g.target : g.ncl);
    jnum(&j, "ready", g.ready_at_start);
    jnum(&j, "failed", (double)st.failed);
    jnum(&j, "errors", (double)st.errors);
    jnum(&j, "count", (double)st.count);
    jnum(&j, "p50_us", hist_q_us(&st.lat, 0.5));
    jnum(&j, "p99_us", hist_q_us(&st.lat, 0.99));
    jnum(&j, "p999_us", hist_q_us(&st.lat, 0.999));
    jnum(&j, "max_us", st.lat.n ? (double)st.lat.max / 1000.0 : -1);
    switch (cfg.scenario) {
    case SC_RELAY: case SC_POLLING:
        jnum(&j, "pairs", cfg.pairs);
        jnum(&j, "window", cfg.window);
        break;
    case SC_BROADCAST:
        jnum(&j, "receivers", cfg.n);
        jnum(&j, "senders", cfg.senders);
        jnum(&j, "window", cfg.window);
        jnum(&j, "broadcasts_per_s", dur > 0 && g.bc_expected ? rate / g.bc_expected : 0);
        break;
    case SC_CHURN:
        jnum(&j, "concurrency", cfg.concurrency);
        jnum(&j, "close_timeouts", (double)st.close_timeouts);
        break;
    default:
        jnum(&j, "n", cfg.n);
        jnum(&j, "connect_s", conn_s);
        jnum(&j, "connects_per_s", conn_s > 0 ? g.ready_at_start / conn_s : 0);
        jnum(&j, "rss_base_kb", (double)g.rss_base);
        jnum(&j, "rss_kb", (double)g.rss_meas);
        jnum(&j, "rss_delta_mb", delta_mb);
        jnum(&j, "rss_per_conn_b", per_conn);
        jnum(&j, "fds_base", (double)g.fds_base);
        jnum(&j, "fds", (double)g.fds_meas);
        jnum(&j, "probes", g.probes_sent);
        jnum(&j, "probes_ok", g.probes_ok);
        jnum(&j, "probe_p50_us", hist_q_us(&g.probe_rtt, 0.5));
        jnum(&j, "probe_max_us", g.probe_rtt.n ? (double)g.probe_rtt.max / 1000.0 : -1);
    }
    jnum(&j, "size", cfg.size);
    jnum(&j, "frames_in", (double)st.frames_in);
    jnum(&j, "bytes_in", (double)st.bytes_in);
    jnum(&j, "pings", (double)st.pings);
    jstr(&j, "first_error", st.first_error);
    j.n += (size_t)snprintf(j.s + j.n, sizeof j.s - j.n, "}");
    printf("%s\n", j.s);
    fflush(stdout);

    FILE *o = stderr;
    fprintf(o, "\n== %s  [server: %s%s]\n", case_name, cfg.server_name, cfg.nserver ? "" : ", no --server-pid");
    if (cfg.scenario == SC_CHURN)
        fprintf(o, "   %u cycles in flight, failed %llu, errors %llu, close timeouts %llu\n", g.ncl,
                (unsigned long long)st.failed, (unsigned long long)st.errors, (unsigned long long)st.close_timeouts);
    else
        fprintf(o, "   clients ready %u of %u, failed %llu, errors %llu\n", g.ready_at_start, g.target,
                (unsigned long long)st.failed, (unsigned long long)st.errors);
    if (cfg.scenario == SC_IDLE || cfg.scenario == SC_CHAT) {
        fprintf(o, "   connect phase    %.2f s (%.0f connects/s)\n", conn_s, conn_s > 0 ? g.ready_at_start / conn_s : 0);
        if (per_conn >= 0)
            fprintf(o, "   server RSS       %ld -> %ld KiB: %+.1f MiB, %.0f B per connection\n", g.rss_base, g.rss_meas,
                    delta_mb, per_conn);
        if (g.fds_meas >= 0 && cfg.nserver) fprintf(o, "   server fds       %ld -> %ld\n", g.fds_base, g.fds_meas);
        if (g.probes_sent)
            fprintf(o, "   still answering  %u of %u probes acked, p50 %.0f us, max %.0f us\n", g.probes_ok,
                    g.probes_sent, hist_q_us(&g.probe_rtt, 0.5), g.probe_rtt.n ? g.probe_rtt.max / 1000.0 : 0);
        if (cfg.scenario == SC_CHAT)
            fprintf(o, "   received         %llu packets, %.1f MiB\n", (unsigned long long)st.frames_in,
                    (double)st.bytes_in / 1048576.0);
    } else {
        fprintf(o, "   %-16s %.0f   (%llu in %.2f s)\n", metric, rate, (unsigned long long)st.count, dur);
        if (st.lat.n)
            fprintf(o, "   latency          p50 %.0f us, p99 %.0f us, p99.9 %.0f us, max %.0f us\n",
                    hist_q_us(&st.lat, 0.5), hist_q_us(&st.lat, 0.99), hist_q_us(&st.lat, 0.999),
                    st.lat.max / 1000.0);
    }
    fprintf(o, "   generator CPU    %.0f%% of a core%s", gen_cpu * 100,
            gen_cpu > 0.9 ? "  << SATURATED: this number measures the generator" : "");
    if (srv_cpu >= 0) fprintf(o, ";  server CPU %.0f%%", srv_cpu * 100);
    if (srv_cpu >= 0 && cfg.nserver > 1) {
        fprintf(o, " (");
        for (int i = 0; i < cfg.nserver; i++) fprintf(o, "%s%.0f%%", i ? " + " : "", srv_each[i] * 100);
        fprintf(o, ")");
    }
    if (aux_cpu >= 0) fprintf(o, ";  aux (--aux-pid) CPU %.0f%%", aux_cpu * 100);
    if (other >= 0) fprintf(o, ";  softirq %.0f%%;  other processes %.0f%%%s", softirq * 100, other * 100,
                            other > 0.25 ? " (a busy machine: noisy numbers)" : "");
    fprintf(o, "\n");
    if (st.first_error[0]) fprintf(o, "   first error      %s\n", st.first_error);
}

/* ====== report and plot: reading the JSON lines back ====== */

/* One key of a flat JSON object (our own output: no nesting, no escapes but \" and \\). */
typedef struct field {
    char key[32];  /* the key */
    char val[96];  /* the value's text (strings without their quotes) */
} field;

typedef struct rec {
    field f[REPORT_MAX_FIELDS]; /* the keys */
    int n;                      /* keys used */
} rec;

/* Parses one line written by results(); returns 0 or -1. */
static int rec_parse(const char *s, rec *r)
{
    r->n = 0;
    while (*s && *s != '{') s++;
    if (*s++ != '{') return -1;
    while (*s && r->n < REPORT_MAX_FIELDS) {
        while (*s == ' ' || *s == ',') s++;
        if (*s == '}' || !*s) break;
        if (*s++ != '"') return -1;
        field *f = &r->f[r->n];
        size_t k = 0;
        while (*s && *s != '"') {
            if (k + 1 < sizeof f->key) f->key[k++] = *s;
            s++;
        }
        f->key[k] = '\0';
        if (*s++ != '"' || *s++ != ':') return -1;
        k = 0;
        if (*s == '"') {
            s++;
            while (*s && *s != '"') {
                if (*s == '\\' && s[1]) s++;
                if (k + 1 < sizeof f->val) f->val[k++] = *s;
                s++;
            }
            if (*s) s++;
        } else {
            while (*s && *s != ',' && *s != '}') {
                if (k + 1 < sizeof f->val) f->val[k++] = *s;
                s++;
            }
        }
        f->val[k] = '\0';
        r->n++;
    }
    return 0;
}

static const char *rec_get(const rec *r, const char *key)
{
    for (int i = 0; i < r->n; i++)
        if (strcmp(r->f[i].key, key) == 0) return r->f[i].val;
    return NULL;
}

static double rec_num(const rec *r, const char *key)
{
    const char *v = rec_get(r, key);
    if (!v || !*v || strcmp(v, "null") == 0) return NAN;
    return strtod(v, NULL);
}

/* Reads every sio-bench line of `path`. Returns the count; *out is malloc'd. */
static int read_recs(const char *path, rec **out)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (!f) die("%s: %s", path, strerror(errno));
    int n = 0, cap = 0;
    rec *rs = NULL;
    char line[8192];
    while (fgets(line, sizeof line, f)) {
        if (!strstr(line, "\"tool\":\"sio-bench\"")) continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            rs = realloc(rs, (size_t)cap * sizeof *rs);
            if (!rs) die("out of memory");
        }
        if (rec_parse(line, &rs[n]) == 0) n++;
    }
    if (f != stdin) fclose(f);
    *out = rs;
    return n;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median of the finite values in v[0..n) (sorted in place); NAN when none. */
static double median(double *v, int n)
{
    int m = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(v[i]) && v[i] >= 0) v[m++] = v[i];
    if (!m) return NAN;
    qsort(v, (size_t)m, sizeof *v, cmp_double);
    return m % 2 ? v[m / 2] : (v[m / 2 - 1] + v[m / 2]) / 2;
}

/* Median of `key` over the records of (case, server). With max_other >= 0, only the runs during
 * which other processes used at most max_other cores count, if there is at least one such run;
 * otherwise all runs count and *disturbed is set. *count gets the number of runs used. */
static double group_median(const rec *rs, int n, const char *cs, const char *sv, const char *key, double max_other,
                           int *count, int *disturbed)
{
    double *v = malloc((size_t)(n ? n : 1) * sizeof *v);
    if (!v) die("out of memory");
    int m = 0;
    for (int pass = 0; pass < 2 && m == 0; pass++) {
        for (int i = 0; i < n; i++) {
            const char *c = rec_get(&rs[i], "case"), *s = rec_get(&rs[i], "server");
            if (!c || !s || strcmp(c, cs) != 0 || strcmp(s, sv) != 0) continue;
            double other = rec_num(&rs[i], "other_cpu");
            if (pass == 0 && max_other >= 0 && isfinite(other) && other > max_other) continue;
            v[m++] = rec_num(&rs[i], key);
        }
        if (disturbed) *disturbed = pass == 1 && m > 0;
        if (max_other < 0) break;
    }
    if (count) *count = m;
    double r = median(v, m);
    free(v);
    return r;
}

/* Number formatting for tables and axes: 1234567 -> "1.23M", 4500 -> "4.5k". */
static const char *fmt_num(double v, char *b, size_t n)
{
    if (!isfinite(v)) snprintf(b, n, "-");
    else if (fabs(v) >= 1e6) snprintf(b, n, "%.3gM", v / 1e6);
    else if (fabs(v) >= 1e4 || (fabs(v) >= 1e3 && fmod(v, 1e3) == 0)) snprintf(b, n, "%.3gk", v / 1e3);
    else if (fabs(v) >= 100 || v == floor(v)) snprintf(b, n, "%.0f", v);
    else snprintf(b, n, "%.3g", v);
    return b;
}

/* Adds s to the list of distinct strings (keeping first-seen order); returns its index. */
static int intern(const char **list, int *n, int max, const char *s)
{
    for (int i = 0; i < *n; i++)
        if (strcmp(list[i], s) == 0) return i;
    if (*n == max) return -1;
    list[*n] = s;
    return (*n)++;
}

/* `report FILE [--base NAME]`: one Markdown row per case with each server's median, the
 * ratios base/other, and (in the same order) the medians of p99 latency, generator CPU and
 * server CPU, so that a saturated generator is visible next to the number it produced. */
static int cmd_report(int argc, char **argv)
{
    const char *path = NULL, *base = "sio";
    double max_other = -1;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--base") == 0 && i + 1 < argc) base = argv[++i];
        else if (strcmp(argv[i], "--max-other") == 0 && i + 1 < argc) max_other = atof(argv[++i]);
        else path = argv[i];
    }
    if (!path) die("usage: sio-bench report FILE.jsonl [--base SERVER] [--max-other CORES]");
    rec *rs;
    int n = read_recs(path, &rs);
    const char *cases[REPORT_MAX_CASES], *servers[REPORT_MAX_SERVERS];
    int nc = 0, ns = 0;
    for (int i = 0; i < n; i++) {
        const char *c = rec_get(&rs[i], "case"), *s = rec_get(&rs[i], "server");
        if (c && s) intern(cases, &nc, REPORT_MAX_CASES, c), intern(servers, &ns, REPORT_MAX_SERVERS, s);
    }
    int bi = -1;
    for (int i = 0; i < ns; i++)
        if (strcmp(servers[i], base) == 0) bi = i;
    char b[64];
    printf("| case | metric |");
    for (int s = 0; s < ns; s++) printf(" %s |", servers[s]);
    for (int s = 0; s < ns; s++)
        if (bi >= 0 && s != bi) printf(" %s/%s |", base, servers[s]);
    printf(" p99 ms (");
    for (int s = 0; s < ns; s++) printf("%s%s", s ? " / " : "", servers[s]);
    printf(") | generator CPU | server CPU | other CPU |\n|---|---|");
    for (int s = 0; s < ns; s++) printf("---:|");
    for (int s = 0; s < ns; s++)
        if (bi >= 0 && s != bi) printf("---:|");
    printf("---|---|---|---|\n");
    for (int c = 0; c < nc; c++) {
        const char *metric = "";
        for (int i = 0; i < n; i++)
            if (strcmp(rec_get(&rs[i], "case") ? rec_get(&rs[i], "case") : "", cases[c]) == 0) {
                metric = rec_get(&rs[i], "metric") ? rec_get(&rs[i], "metric") : "";
                break;
            }
        double val[REPORT_MAX_SERVERS];
        int cnt[REPORT_MAX_SERVERS], dist[REPORT_MAX_SERVERS];
        /* Memory does not depend on who else uses the CPU: idle rows keep every run. */
        double mo = strcmp(metric, "B/conn") == 0 ? -1 : max_other;
        printf("| %s | %s |", cases[c], metric);
        for (int s = 0; s < ns; s++) {
            val[s] = group_median(rs, n, cases[c], servers[s], "value", mo, &cnt[s], &dist[s]);
            printf(" %s%s%s |", fmt_num(val[s], b, sizeof b), cnt[s] == 1 ? "¹" : "", dist[s] ? "†" : "");
        }
        for (int s = 0; s < ns; s++)
            if (bi >= 0 && s != bi) {
                double r = val[bi] / val[s];
                if (isfinite(r)) printf(" %.2f |", r);
                else printf(" - |");
            }
        const char *keys[4] = {"p99_us", "gen_cpu", "server_cpu", "other_cpu"};
        for (int k = 0; k < 4; k++) {
            printf(" ");
            for (int s = 0; s < ns; s++) {
                double v = group_median(rs, n, cases[c], servers[s], keys[k], mo, NULL, NULL);
                if (k == 0) printf("%s%s", s ? " / " : "", isfinite(v) ? (snprintf(b, sizeof b, "%.2f", v / 1000), b) : "-");
                else printf("%s%s", s ? " / " : "", isfinite(v) ? (snprintf(b, sizeof b, "%.0f%%", v * 100), b) : "-");
            }
            printf(" |");
        }
        printf("\n");
    }
    if (max_other >= 0)
        printf("\nRuns during which other processes used more than %.2f cores are left out, except for\n"
               "memory (†: every run of that cell was disturbed, so all of them count).", max_other);
    printf("\nMedians over the repeats of each case (¹: a single run). Ratios are %s divided by the other\n"
           "server: above 1 is better for rates, below 1 is better for B/conn. CPU is user+sys over the\n"
           "measured window, 100%% = one core; a generator near 100%% is the bottleneck, not the server.\n"
           "Other CPU is what other processes used meanwhile: high values mean a disturbed run.\n",
           base);
    free(rs);
    return 0;
}

/* Axis ticks: 1-2-5 steps (linear) or 1-2-5 per decade (log) covering [lo, hi]. */
static int ticks(double lo, double hi, int logscale, double *t, int max)
{
    int n = 0;
    if (logscale) {
        for (int e = (int)floor(log10(lo)); e <= (int)ceil(log10(hi)) && n < max; e++)
            for (int m = 0; m < 3 && n < max; m++) {
                double v = (m == 0 ? 1 : m == 1 ? 2 : 5) * pow(10, e);
                if (v >= lo * 0.999 && v <= hi * 1.001) t[n++] = v;
            }
        if (n > 8) { /* too dense: decades only */
            int k = 0;
            for (int i = 0; i < n; i++)
                if (fabs(log10(t[i]) - round(log10(t[i]))) < 1e-9) t[k++] = t[i];
            n = k;
        }
        return n;
    }
    double raw = (hi - lo) / 6, mag = pow(10, floor(log10(raw))), step = mag;
    if (raw / mag > 5) step = 10 * mag;
    else if (raw / mag > 2) step = 5 * mag;
    else if (raw / mag > 1) step = 2 * mag;
    for (double v = ceil(lo / step) * step; v <= hi * 1.0001 && n < max; v += step) t[n++] = v;
    return n;
}

/* `plot FILE --scenario S --x KEY [--y KEY] [--title T] [--xlabel L] [--ylabel L] [--logx]
 * [--logy] [--scale F] [--max-other CORES]`: one line per server through the medians of y at
 * each x, as SVG on stdout. --scale multiplies y (e.g. 1e-6 for millions); --max-other leaves
 * out disturbed runs, as in report. */
static int cmd_plot(int argc, char **argv)
{
    const char *path = NULL, *scen = NULL, *xk = NULL, *yk = "value", *title = "", *xl = "", *yl = "";
    int logx = 0, logy = 0;
    double scale = 1, max_other = -1;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--scenario") == 0 && v) scen = v, i++;
        else if (strcmp(a, "--x") == 0 && v) xk = v, i++;
        else if (strcmp(a, "--y") == 0 && v) yk = v, i++;
        else if (strcmp(a, "--title") == 0 && v) title = v, i++;
        else if (strcmp(a, "--xlabel") == 0 && v) xl = v, i++;
        else if (strcmp(a, "--ylabel") == 0 && v) yl = v, i++;
        else if (strcmp(a, "--scale") == 0 && v) scale = atof(v), i++;
        else if (strcmp(a, "--max-other") == 0 && v) max_other = atof(v), i++;
        else if (strcmp(a, "--logx") == 0) logx = 1;
        else if (strcmp(a, "--logy") == 0) logy = 1;
        else path = a;
    }
    if (!path || !scen || !xk) die("usage: sio-bench plot FILE --scenario S --x KEY [--y KEY] [--logx] [--logy] ...");
    rec *rs;
    int n = read_recs(path, &rs);
    const char *servers[REPORT_MAX_SERVERS];
    int ns = 0;
    /* Points: per server, the distinct x values and the median y at each. */
    enum { MAXP = 64 };
    double px[REPORT_MAX_SERVERS][MAXP], py[REPORT_MAX_SERVERS][MAXP];
    int np[REPORT_MAX_SERVERS] = {0};
    double *tmp = malloc((size_t)(n ? n : 1) * sizeof *tmp);
    if (!tmp) die("out of memory");
    for (int i = 0; i < n; i++) {
        const char *sc = rec_get(&rs[i], "scenario"), *sv = rec_get(&rs[i], "server");
        if (!sc || !sv || strcmp(sc, scen) != 0) continue;
        int s = intern(servers, &ns, REPORT_MAX_SERVERS, sv);
        double x = rec_num(&rs[i], xk);
        if (s < 0 || !isfinite(x)) continue;
        int k = 0;
        while (k < np[s] && px[s][k] != x) k++;
        if (k < np[s] || k == MAXP) continue; /* this x is done already */
        int m = 0;
        for (int pass = 0; pass < 2 && m == 0; pass++) /* as in report: undisturbed runs first */
            for (int j = 0; j < n; j++) {
                const char *sc2 = rec_get(&rs[j], "scenario"), *sv2 = rec_get(&rs[j], "server");
                double other = rec_num(&rs[j], "other_cpu");
                if (pass == 0 && max_other >= 0 && isfinite(other) && other > max_other) continue;
                if (sc2 && sv2 && strcmp(sc2, scen) == 0 && strcmp(sv2, sv) == 0 && rec_num(&rs[j], xk) == x)
                    tmp[m++] = rec_num(&rs[j], yk);
            }
        double y = median(tmp, m) * scale;
        if (!isfinite(y) || (logy && y <= 0)) continue;
        px[s][np[s]] = x;
        py[s][np[s]++] = y;
    }
    free(tmp);
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (int s = 0; s < ns; s++) {
        for (int a = 1; a < np[s]; a++) /* sort by x (insertion) */
            for (int b2 = a; b2 > 0 && px[s][b2 - 1] > px[s][b2]; b2--) {
                double t = px[s][b2]; px[s][b2] = px[s][b2 - 1]; px[s][b2 - 1] = t;
                t = py[s][b2]; py[s][b2] = py[s][b2 - 1]; py[s][b2 - 1] = t;
            }
        for (int k = 0; k < np[s]; k++) {
            x0 = fmin(x0, px[s][k]), x1 = fmax(x1, px[s][k]);
            y0 = fmin(y0, py[s][k]), y1 = fmax(y1, py[s][k]);
        }
    }
    if (!isfinite(x0)) die("plot: no data for scenario %s", scen);
    if (logy) y0 /= 1.5, y1 *= 1.5;
    else y0 = 0, y1 = y1 * 1.1 + (y1 == 0);
    if (logx) x0 /= 1.3, x1 *= 1.3;
    else if (x0 == x1) x0 -= 1, x1 += 1;
    const double W = 720, H = 440, L = 80, R = 150, T = 44, B = 60, pw = W - L - R, ph = H - T - B;
#define SX(x) (L + pw * (logx ? (log10(x) - log10(x0)) / (log10(x1) - log10(x0)) : ((x) - x0) / (x1 - x0)))
#define SY(y) (T + ph - ph * (logy ? (log10(y) - log10(y0)) / (log10(y1) - log10(y0)) : ((y) - y0) / (y1 - y0)))
    static const char *const colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"};
    printf("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
           "font-family=\"sans-serif\" font-size=\"12\">\n", W, H, W, H);
    printf("<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    printf("<text x=\"%.0f\" y=\"24\" font-size=\"15\" text-anchor=\"middle\">%s</text>\n", L + pw / 2, title);
    double t[64];
    char b[32];
    int nt = ticks(y0, y1, logy, t, 64);
    for (int i = 0; i < nt; i++) {
        printf("<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", L, SY(t[i]), L + pw, SY(t[i]));
        printf("<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", L - 6, SY(t[i]) + 4, fmt_num(t[i], b, sizeof b));
    }
    /* x ticks: the x values present when few, else 1-2-5 ticks. */
    double xs[64];
    int nx = 0;
    for (int s = 0; s < ns; s++)
        for (int k = 0; k < np[s]; k++) {
            int seen = 0;
            for (int i = 0; i < nx; i++) seen |= xs[i] == px[s][k];
            if (!seen && nx < 64) xs[nx++] = px[s][k];
        }
    if (nx > 8) nx = ticks(logx ? x0 : x0, x1, logx, xs, 64);
    for (int i = 0; i < nx; i++) {
        printf("<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#eee\"/>\n", SX(xs[i]), T, SX(xs[i]), T + ph);
        printf("<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n", SX(xs[i]), T + ph + 18, fmt_num(xs[i], b, sizeof b));
    }
    printf("<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" stroke=\"#333\"/>\n", L, T, pw, ph);
    printf("<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">%s</text>\n", L + pw / 2, H - 16, xl);
    printf("<text transform=\"translate(18 %.0f) rotate(-90)\" text-anchor=\"middle\">%s</text>\n", T + ph / 2, yl);
    for (int s = 0; s < ns; s++) {
        const char *col = colors[s % 8];
        printf("<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", col);
        for (int k = 0; k < np[s]; k++) printf("%.1f,%.1f ", SX(px[s][k]), SY(py[s][k]));
        printf("\"/>\n");
        for (int k = 0; k < np[s]; k++)
            printf("<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"%s\"><title>%s: %s</title></circle>\n", SX(px[s][k]),
                   SY(py[s][k]), col, servers[s], fmt_num(py[s][k], b, sizeof b));
        printf("<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"%s\" stroke-width=\"2\"/>", L + pw + 16,
               T + 12 + 20.0 * s, L + pw + 40, T + 12 + 20.0 * s, col);
        printf("<text x=\"%.0f\" y=\"%.0f\">%s</text>\n", L + pw + 46, T + 16 + 20.0 * s, servers[s]);
    }
    printf("</svg>\n");
#undef SX
#undef SY
    free(rs);
    return 0;
}

/* ====== Command line ====== */

static void usage(void)
{
    fprintf(stderr,
            "usage: sio-bench SCENARIO [options]     (JSON line on stdout, table on stderr)\n"
            "       sio-bench report FILE [--base sio] [--max-other CORES]\n"
            "       sio-bench plot FILE --scenario S --x KEY [--y KEY] [--logx] [--logy] [--title T]\n"
            "                          [--xlabel L] [--ylabel L] [--scale F] [--max-other CORES]   (SVG on stdout)\n"
            "scenarios: idle, relay, broadcast, churn, polling, chat-connect\n"
            "  --host ADDR        server IPv4 address (127.0.0.1)\n"
            "  --port N           server port (3000)\n"
            "  --ports P1,P2,...  several servers (a cluster): client i connects to the (i mod K)-th\n"
            "  --path P           Engine.IO path (/socket.io/)\n"
            "  --server-pid PID[,PID...]  read the servers' RSS, fds and CPU from /proc (summed)\n"
            "  --aux-pid PID[,PID...]     more processes under test (redis-server): CPU reported apart\n"
            "  --server-name S    label (sio, node, ceiling, ...)\n"
            "  --case NAME        label of the case (default: scenario and parameters)\n"
            "  --duration S       seconds measured (5)\n"
            "  --warmup S         seconds before measuring (1; idle: settle time)\n"
            "  --connect-timeout S  seconds allowed to connect every client (120)\n"
            "  -n N               idle/chat-connect: clients; broadcast: receivers (1000)\n"
            "  --senders S        broadcast: clients 0..S-1 send, taking turns (1)\n"
            "  --pairs P          relay/polling: pairs (100)\n"
            "  --window W         relay/polling: messages in flight per pair; broadcast: broadcasts (1)\n"
            "  --concurrency C    churn: cycles in flight (64); others: handshakes in flight (256)\n"
            "  --size B           bytes of content per message (default: just the timestamp)\n"
            "  --src-addrs K      spread client sockets over 127.0.0.1..K (default: 1 per 16k clients, at least 4)\n"
            "  --room NAME        broadcast room (bench)\n"
            "  --no-probe         idle: skip the final ack probes\n");
    exit(2);
}

static double num_arg(const char *flag, const char *v, double lo, double hi)
{
    char *end;
    double d = v ? strtod(v, &end) : 0;
    if (!v || *end || end == v || !(d >= lo && d <= hi)) die("%s needs a number in [%g, %g]", flag, lo, hi);
    return d;
}

/* Parses a comma-separated list of integers in [lo, hi] into out[0..max); returns the count.
 * Exits with a message on anything else. */
static int list_arg(const char *flag, const char *v, int *out, int max, long lo, long hi)
{
    int n = 0;
    const char *p = v;
    for (;;) {
        char *end;
        errno = 0;
        long x = strtol(p, &end, 10);
        if (end == p || errno || x < lo || x > hi || (*end && *end != ',') || n == max)
            die("%s needs up to %d comma-separated numbers in [%ld, %ld]", flag, max, lo, hi);
        out[n++] = (int)x;
        if (!*end) return n;
        p = end + 1;
    }
}

static void on_signal(int sig)
{
    (void)sig;
    g.interrupted = 1;
}

int main(int argc, char **argv)
{
    if (argc < 2) usage();
    if (strcmp(argv[1], "report") == 0) return cmd_report(argc - 2, argv + 2);
    if (strcmp(argv[1], "plot") == 0) return cmd_plot(argc - 2, argv + 2);
    for (int s = 0; s < (int)(sizeof scenario_names / sizeof *scenario_names); s++)
        if (strcmp(argv[1], scenario_names[s]) == 0) cfg.scenario = s;
    if (cfg.scenario < 0) usage();
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--no-probe") == 0) { cfg.probe = 0; continue; }
        if (!v) usage();
        i++;
        if (strcmp(a, "--host") == 0) cfg.host = v;
        else if (strcmp(a, "--port") == 0) cfg.port = (int)num_arg(a, v, 1, 65535);
        else if (strcmp(a, "--ports") == 0) cfg.nports = list_arg(a, v, cfg.ports, BENCH_MAX_PORTS, 1, 65535);
        else if (strcmp(a, "--path") == 0) cfg.path = v;
        else if (strcmp(a, "--server-pid") == 0) {
            cfg.nserver = list_arg(a, v, cfg.server_pid, BENCH_MAX_PIDS, 0, 1000000000);
            if (cfg.nserver == 1 && cfg.server_pid[0] == 0) cfg.nserver = 0; /* 0: unknown */
        } else if (strcmp(a, "--aux-pid") == 0) cfg.naux = list_arg(a, v, cfg.aux_pid, BENCH_MAX_PIDS, 1, 1000000000);
        else if (strcmp(a, "--server-name") == 0) cfg.server_name = v;
        else if (strcmp(a, "--case") == 0) cfg.case_name = v;
        else if (strcmp(a, "--duration") == 0) cfg.duration = num_arg(a, v, 0.1, 86400);
        else if (strcmp(a, "--warmup") == 0) cfg.warmup = num_arg(a, v, 0, 86400);
        else if (strcmp(a, "--connect-timeout") == 0) cfg.connect_timeout = num_arg(a, v, 1, 86400);
        else if (strcmp(a, "-n") == 0) cfg.n = (int)num_arg(a, v, 1, 10000000);
        else if (strcmp(a, "--senders") == 0) cfg.senders = (int)num_arg(a, v, 1, 10000);
        else if (strcmp(a, "--pairs") == 0) cfg.pairs = (int)num_arg(a, v, 1, 5000000);
        else if (strcmp(a, "--window") == 0) cfg.window = (int)num_arg(a, v, 1, BENCH_MAX_WINDOW);
        else if (strcmp(a, "--concurrency") == 0) cfg.concurrency = (int)num_arg(a, v, 1, 1000000);
        else if (strcmp(a, "--size") == 0) cfg.size = (int)num_arg(a, v, 0, BENCH_MAX_SIZE);
        else if (strcmp(a, "--src-addrs") == 0) cfg.src_addrs = (int)num_arg(a, v, 1, BENCH_MAX_SRC_ADDRS);
        else if (strcmp(a, "--room") == 0) cfg.room = v;
        else usage();
    }
    if (strlen(cfg.room) > 64) die("--room: at most 64 bytes");

    /* Clients, by scenario. */
    switch (cfg.scenario) {
    case SC_RELAY: case SC_POLLING: g.ncl = (uint32_t)cfg.pairs * 2; break;
    case SC_BROADCAST: g.ncl = (uint32_t)(cfg.n + cfg.senders); break; /* 0..S-1 send, the rest receive */
    case SC_CHURN: g.ncl = (uint32_t)(cfg.concurrency ? cfg.concurrency : 64); break;
    default: g.ncl = (uint32_t)cfg.n;
    }
    if (!cfg.concurrency) cfg.concurrency = cfg.scenario == SC_CHURN ? 64 : 256;
    g.target = cfg.scenario == SC_CHURN ? 0 : g.ncl; /* churn starts its slots in tick() */
    if (!cfg.src_addrs) {
        uint32_t conns = g.ncl * (cfg.scenario == SC_POLLING ? 2 : 1);
        cfg.src_addrs = (int)(conns / 16000 + 1);
        if (cfg.src_addrs < 4) cfg.src_addrs = 4;
        if (cfg.src_addrs > BENCH_MAX_SRC_ADDRS) cfg.src_addrs = BENCH_MAX_SRC_ADDRS;
    }

    /* Every connection is a descriptor: take the hard limit, and say so if it is short. */
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
    uint64_t need = (uint64_t)g.ncl * (cfg.scenario == SC_POLLING ? 2 : 1) + 16;
    if (rl.rlim_cur != RLIM_INFINITY && need > rl.rlim_cur)
        die("%llu clients need %llu descriptors, and the hard limit (ulimit -Hn) is %llu; raise it "
            "(see bench/README.md) or ask for fewer", (unsigned long long)g.ncl, (unsigned long long)need,
            (unsigned long long)rl.rlim_cur);

    if (cfg.nports) cfg.port = cfg.ports[0];
    else cfg.ports[cfg.nports++] = cfg.port;
    for (int i = 0; i < cfg.nports; i++) {
        struct sockaddr_in *d = &g.dst[i];
        memset(d, 0, sizeof *d);
        d->sin_family = AF_INET;
        d->sin_port = htons((uint16_t)cfg.ports[i]);
        if (inet_pton(AF_INET, cfg.host, &d->sin_addr) != 1) die("--host %s: not an IPv4 address", cfg.host);
        snprintf(g.hostport[i], sizeof g.hostport[i], "%s:%d", cfg.host, cfg.ports[i]);
    }

    g.cl = calloc(g.ncl, sizeof *g.cl);
    /* Two connections per client, and a slot that dies and restarts within one turn may be
     * listed twice: four entries per client are always enough. */
    g.dirty = calloc((size_t)g.ncl * 4 + 16, sizeof *g.dirty);
    g.bc_ring = calloc(BC_RING, sizeof *g.bc_ring);
    if (!g.cl || !g.dirty || !g.bc_ring) die("out of memory");
    for (uint32_t i = 0; i < g.ncl; i++) g.cl[i].idx = i, g.cl[i].t[0].fd = g.cl[i].t[1].fd = -1;
    g.ep = epoll_create1(EPOLL_CLOEXEC);
    if (g.ep < 0) die("epoll_create1: %s", strerror(errno));
    rng_state ^= (uint32_t)now_ns() | 1;

    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    for (int i = 0; i < cfg.nserver; i++)
        if (proc_rss_kb(cfg.server_pid[i]) < 0)
            die("--server-pid %d: cannot read /proc/%d/status", cfg.server_pid[i], cfg.server_pid[i]);
    for (int i = 0; i < cfg.naux; i++)
        if (proc_cpu_s(cfg.aux_pid[i]) < 0) die("--aux-pid %d: cannot read /proc/%d/stat", cfg.aux_pid[i], cfg.aux_pid[i]);
    if (cfg.nserver) {
        g.rss_base = pids_mem(cfg.server_pid, cfg.nserver, 0);
        g.fds_base = pids_mem(cfg.server_pid, cfg.nserver, 1);
    }
    g.rss_meas = g.fds_meas = -1;

    static struct epoll_event evs[BENCH_MAX_EVENTS];
    g.now = g.t_run0 = now_ns();
    g.phase = PH_CONNECT;
    tick();
    while (g.phase != PH_DONE) {
        int n = epoll_wait(g.ep, evs, BENCH_MAX_EVENTS, BENCH_TICK_MS);
        if (n < 0 && errno != EINTR) die("epoll_wait: %s", strerror(errno));
        g.now = now_ns();
        for (int i = 0; i < n; i++) on_epoll(evs[i].data.u64, evs[i].events);
        flush_dirty();
        tick();
        flush_dirty();
    }
    results();
    return 0;
}
