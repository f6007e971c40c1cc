/* SPDX-License-Identifier: MIT */
/* app_common.h -- what the three chat programs share: the command line, signals, logging.
 *
 * ./sio-server (chat.c, tutorial part 3), examples/chat-part1 and examples/chat-part2 take the
 * same flags, print the same "listening on" line and stop the same way on SIGINT/SIGTERM. That
 * code lives here once. It is application code, not part of the library: it uses only sio.h.
 *
 *   struct app_config cfg;
 *   app_config_init(&cfg, "sio-server", APP_FLAGS_STORE | APP_FLAGS_WEB);
 *   app_parse_args(&cfg, argc, argv);             // exits 0 on --help/--version, 2 on a bad flag
 *   sio_server *srv = sio_server_new(&cfg.sio);
 *   ... sio_of(), sio_use(), sio_on_connection() ...
 *   int rc = app_run(srv, &cfg);                  // listen, print, run until a signal
 */
#ifndef APP_COMMON_H
#define APP_COMMON_H

#include "sio.h"

/* Extra flag groups a program accepts on top of the common ones. */
#define APP_FLAGS_STORE 1 /* --store, --data-dir, --appendfsync */
#define APP_FLAGS_WEB 2   /* --web-dir */

/* --appendfsync values (Redis's appendfsync). */
#define APP_FSYNC_ALWAYS 0   /* fsync after every record */
#define APP_FSYNC_EVERYSEC 1 /* at most once a second */
#define APP_FSYNC_NO 2       /* leave it to the kernel */

/* Everything the command line sets. */
struct app_config {
    const char *name;        /* program name, for messages ("sio-server") */
    unsigned flags;          /* APP_FLAGS_*: which optional flag groups are accepted */
    struct sio_options sio;  /* server options (--ping-interval, --cors-origin, ...) */
    const char *host;        /* --host, or NULL for all interfaces */
    int port;                /* --port or $PORT; 3000 */
    int quiet;               /* --quiet: no log line per connection */
    int store_memory;        /* --store memory (1) or file (0, the default) */
    const char *data_dir;    /* --data-dir; "data" */
    int appendfsync;         /* --appendfsync: APP_FSYNC_*; everysec */
    const char *web_dir;     /* --web-dir; "web" */
    int web_dir_given;       /* 1 if --web-dir was on the command line (a missing one is an error) */
    const char *redis_url;   /* --redis URL: join a cluster through Redis; NULL = one node */
};

/* Fills *c with the defaults for program `name`, accepting the flag groups in `flags`. */
void app_config_init(struct app_config *c, const char *name, unsigned flags);

/* Parses argv into *c. Prints the usage and exits 0 for --help, the version and exits 0 for
 * --version, and prints one line on stderr and exits 2 for an unknown flag or a bad value. */
void app_parse_args(struct app_config *c, int argc, char **argv);

/* Connects the Redis adapter when --redis was given (before app_run, after the namespaces are
 * set up is fine too). Returns 0, or 1 after printing why (a bad URL). */
int app_redis(sio_server *srv, const struct app_config *c);

/* Listens on c->host:c->port, installs the SIGINT/SIGTERM handlers (they stop the server
 * cleanly) and ignores SIGPIPE, prints "listening on http://HOST:PORT" on stderr, and runs the
 * loop until it stops. Returns the process exit status: 0 after a clean stop, 1 if listening or
 * the loop failed. Does not free srv. */
int app_run(sio_server *srv, const struct app_config *c);

/* One line on stderr per connection event, unless --quiet. printf-style; the newline is added. */
void app_log(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* One line on stderr, always (warnings and errors), prefixed with the program name. */
void app_warn(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* Fills out[0..2*nbytes] with 2*nbytes lowercase hex characters of CSPRNG bytes (getrandom)
 * and a NUL. Returns 0, or -1 if the kernel could not supply random bytes. */
int app_random_hex(char *out, size_t nbytes);

#endif /* APP_COMMON_H */
