/* SPDX-License-Identifier: MIT */
/* app_common.c -- command line, signals and logging shared by the chat programs.
 *
 * The flags use the Node option names (pingInterval -> --ping-interval, ...). A bad flag prints
 * one line and exits 2; SIGINT and SIGTERM call sio_server_stop(), which disconnects everyone
 * cleanly before sio_server_run() returns. Nothing here knows about chat events: see chat.c and
 * examples/chat-part*.c for those.
 */
#include "app_common.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

static const char *prog = "sio-server"; /* for app_warn() */
static int log_quiet;                   /* --quiet, for app_log() */
static sio_server *running;             /* the server the signal handler stops */

void app_config_init(struct app_config *c, const char *name, unsigned flags)
{
    memset(c, 0, sizeof *c);
    c->name = name;
    c->flags = flags;
    sio_options_init(&c->sio);
    c->port = 3000;
    c->data_dir = "data";
    c->appendfsync = APP_FSYNC_EVERYSEC;
    c->web_dir = "web";
    prog = name;
}

/* Prints the flags this program accepts (the optional groups only when enabled). */
static void usage(const struct app_config *c, FILE *f)
{
    fprintf(f,
            "usage: %s [options]\n"
            "  --port N                   port to listen on (default 3000, or $PORT; 0 = any free port)\n"
            "  --host ADDR                address to bind (default: all interfaces)\n"
            "  --cors-origin ORIGIN       allowed CORS origin, repeatable (default http://localhost:8080)\n"
            "  --cors-credentials         send Access-Control-Allow-Credentials: true\n"
            "  --ping-interval MS         pingInterval (default 25000)\n"
            "  --ping-timeout MS          pingTimeout (default 20000)\n"
            "  --max-http-buffer-size N   maxHttpBufferSize in bytes (default 1000000)\n"
            "  --connect-timeout MS       connectTimeout (default 45000)\n"
            "  --max-clients N            most Engine.IO sessions at once (default %d)\n",
            c->name, SIO_MAX_CLIENTS_DEFAULT);
    if (c->flags & APP_FLAGS_STORE)
        fprintf(f,
                "  --store memory|file        where sessions and messages live (default file)\n"
                "  --data-dir DIR             the file store's directory (default ./data)\n"
                "  --appendfsync always|everysec|no   when the file store calls fsync (default everysec)\n");
    if (c->flags & APP_FLAGS_WEB)
        fprintf(f, "  --web-dir DIR              static files for GET / (default ./web)\n");
    fprintf(f,
            "  --quiet                    no log line per connection\n"
            "  --redis URL                join a cluster through Redis (redis://[:password@]host[:port][/db])\n"
            "  --sid-prefix STR           begin every Engine.IO session id with STR (up to %d of A-Z a-z 0-9 - _),\n"
            "                             so a proxy can route polling requests by sid (examples/nginx/)\n"
            "  --help, --version\n",
            SIO_MAX_SID_PREFIX);
}

/* Parses a whole decimal string in [min, max] into *out; returns 0 or -1. */
static int parse_num(const char *s, long min, long max, long *out)
{
    if (!s || !*s) return -1;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < min || v > max) return -1;
    *out = v;
    return 0;
}

/* Prints "<prog>: <message> (try --help)" and exits 2. */
static void die_usage(const struct app_config *c, const char *fmt, const char *arg)
{
    fprintf(stderr, "%s: ", c->name);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (try --help)\n");
    exit(2);
}

void app_parse_args(struct app_config *c, int argc, char **argv)
{
    struct sio_options *o = &c->sio;
    long v;
    const char *env_port = getenv("PORT");
    if (env_port) {
        if (parse_num(env_port, 0, 65535, &v) < 0) die_usage(c, "bad PORT '%s'", env_port);
        c->port = (int)v;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        int store = (c->flags & APP_FLAGS_STORE) != 0, web = (c->flags & APP_FLAGS_WEB) != 0;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(c, stdout);
            exit(0);
        } else if (!strcmp(a, "--version")) {
            printf("%s %s (Socket.IO v5 / Engine.IO v4)\n", c->name, SIO_VERSION);
            exit(0);
        } else if (!strcmp(a, "--quiet")) {
            c->quiet = 1;
        } else if (!strcmp(a, "--cors-credentials")) {
            o->cors_credentials = 1;
        } else if (!strcmp(a, "--host")) {
            if (!val) die_usage(c, "%s needs a value", a);
            c->host = argv[++i];
        } else if (!strcmp(a, "--cors-origin")) {
            if (!val) die_usage(c, "%s needs a value", a);
            if (o->n_cors_origins == SIO_MAX_CORS_ORIGINS) die_usage(c, "too many %s options", a);
            o->cors_origins[o->n_cors_origins++] = argv[++i];
        } else if (!strcmp(a, "--port")) {
            if (parse_num(val, 0, 65535, &v) < 0) die_usage(c, "%s needs a port number", a);
            c->port = (int)v;
            i++;
        } else if (!strcmp(a, "--ping-interval") || !strcmp(a, "--ping-timeout") || !strcmp(a, "--connect-timeout")) {
            if (parse_num(val, 1, INT_MAX, &v) < 0) die_usage(c, "%s needs a positive number of milliseconds", a);
            i++;
            if (!strcmp(a, "--ping-interval")) o->ping_interval = (int)v;
            else if (!strcmp(a, "--ping-timeout")) o->ping_timeout = (int)v;
            else o->connect_timeout = (int)v;
        } else if (!strcmp(a, "--max-http-buffer-size")) {
            if (parse_num(val, 1, 1L << 30, &v) < 0) die_usage(c, "%s needs a size in bytes", a);
            i++;
            o->max_http_buffer_size = (size_t)v;
        } else if (!strcmp(a, "--redis")) {
            if (!val) die_usage(c, "%s needs a URL such as redis://127.0.0.1:6379", a);
            c->redis_url = argv[++i];
        } else if (!strcmp(a, "--sid-prefix")) {
            if (!val || strlen(val) > SIO_MAX_SID_PREFIX ||
                strspn(val, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != strlen(val))
                die_usage(c, "%s needs a short string of A-Z a-z 0-9 - _", a);
            o->sid_prefix = argv[++i];
        } else if (!strcmp(a, "--max-clients")) {
            if (parse_num(val, 1, 1 << 24, &v) < 0) die_usage(c, "%s needs a positive number", a);
            i++;
            o->max_clients = (int)v;
        } else if (store && !strcmp(a, "--store")) {
            if (!val || (strcmp(val, "memory") && strcmp(val, "file"))) die_usage(c, "%s needs memory or file", a);
            c->store_memory = !strcmp(val, "memory");
            i++;
        } else if (store && !strcmp(a, "--data-dir")) {
            if (!val || !*val) die_usage(c, "%s needs a directory", a);
            c->data_dir = argv[++i];
        } else if (store && !strcmp(a, "--appendfsync")) {
            if (!val) die_usage(c, "%s needs always, everysec or no", a);
            if (!strcmp(val, "always")) c->appendfsync = APP_FSYNC_ALWAYS;
            else if (!strcmp(val, "everysec")) c->appendfsync = APP_FSYNC_EVERYSEC;
            else if (!strcmp(val, "no")) c->appendfsync = APP_FSYNC_NO;
            else die_usage(c, "%s needs always, everysec or no", a);
            i++;
        } else if (web && !strcmp(a, "--web-dir")) {
            if (!val || !*val) die_usage(c, "%s needs a directory", a);
            c->web_dir = argv[++i];
            c->web_dir_given = 1;
        } else {
            die_usage(c, "unknown option '%s'", a);
        }
    }
    if (o->n_cors_origins == 0) o->cors_origins[o->n_cors_origins++] = "http://localhost:8080"; /* the tutorial's */
    log_quiet = c->quiet;
}

/* SIGINT/SIGTERM: ask the loop to stop (sio_server_stop is async-signal-safe). */
static void on_signal(int sig)
{
    (void)sig;
    if (running) sio_server_stop(running);
}

int app_redis(sio_server *srv, const struct app_config *c)
{
    if (!c->redis_url) return 0;
    int rc = sio_redis_adapter(srv, c->redis_url);
    if (rc < 0) {
        app_warn("--redis %s: %s", c->redis_url, rc == SIO_ERR_INVAL ? "not a redis:// URL" : sio_strerror(rc));
        return 1;
    }
    fprintf(stderr, "redis adapter: %s\n", c->redis_url);
    return 0;
}

int app_run(sio_server *srv, const struct app_config *c)
{
    char err[SIO_ERR_LEN];
    if (app_redis(srv, c)) return 1;
    if (sio_server_listen(srv, c->host, c->port, err) < 0) {
        app_warn("%s", err);
        return 1;
    }
    running = srv;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    fprintf(stderr, "listening on http://%s:%d\n", c->host ? c->host : "0.0.0.0", sio_server_port(srv));
    int rc = sio_server_run(srv);
    running = NULL;
    return rc == 0 ? 0 : 1;
}

void app_log(const char *fmt, ...)
{
    if (log_quiet) return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void app_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", prog);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int app_random_hex(char *out, size_t nbytes)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char buf[64];
    if (nbytes > sizeof buf) return -1;
    size_t got = 0;
    while (got < nbytes) {
        ssize_t n = getrandom(buf + got, nbytes - got, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        got += (size_t)n;
    }
    for (size_t i = 0; i < nbytes; i++) {
        out[2 * i] = hex[buf[i] >> 4];
        out[2 * i + 1] = hex[buf[i] & 15];
    }
    out[2 * nbytes] = '\0';
    return 0;
}
