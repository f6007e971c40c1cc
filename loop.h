/* SPDX-License-Identifier: MIT */
/* loop.h -- the event loop: one epoll instance, one slot per file descriptor, a min-heap of
 * timers on a monotonic millisecond clock, and a before-sleep hook. Internal to sio (the
 * redis ae.c model, trimmed to what sio needs).
 */
#ifndef SIO_LOOP_H
#define SIO_LOOP_H

#include <stddef.h>
#include <stdint.h>

#define SIO_EV_READ 1  /* fire when the descriptor is readable (or has an error / hangup) */
#define SIO_EV_WRITE 2 /* fire when the descriptor is writable */

typedef struct sio_loop sio_loop;
typedef struct sio_timer sio_timer;

/* Called for a ready descriptor with the SIO_EV_* bits that fired. */
typedef void (*sio_fd_cb)(sio_loop *l, int fd, void *ud, int events);
/* Called when a timer's deadline has passed. The timer is already disarmed; re-arm it from the
 * callback if it should fire again. */
typedef void (*sio_timer_cb)(sio_loop *l, sio_timer *t);
/* Called once per loop turn, before waiting for events (writes, deferred frees). */
typedef void (*sio_before_sleep_cb)(sio_loop *l, void *ud);

/* A timer, embedded in the object it belongs to (no allocation per timer). */
struct sio_timer {
    uint64_t when;   /* deadline, monotonic ms; meaningful only while armed */
    uint32_t idx;    /* position in the heap + 1; 0 = not armed */
    sio_timer_cb cb; /* what to call */
};

/* Monotonic clock in milliseconds (CLOCK_MONOTONIC). */
uint64_t sio__now_ms(void);

/* Creates a loop for descriptors 0 .. setsize-1. NULL on failure (errno set). */
sio_loop *sio__loop_new(int setsize);
void sio__loop_free(sio_loop *l);

/* Sets the events a descriptor is watched for (0 removes it), with its callback and data.
 * Returns 0, or -1 with errno (EINVAL/ERANGE when fd >= setsize). */
int sio__loop_watch(sio_loop *l, int fd, int events, sio_fd_cb cb, void *ud);
/* Changes only the event mask of an already-watched descriptor. */
int sio__loop_mask(sio_loop *l, int fd, int events);

/* Arms (or re-arms) t to fire at monotonic time `when`. */
void sio__timer_set(sio_loop *l, sio_timer *t, uint64_t when, sio_timer_cb cb);
/* Disarms t; harmless if it is not armed. */
void sio__timer_stop(sio_loop *l, sio_timer *t);

void sio__loop_before_sleep(sio_loop *l, sio_before_sleep_cb cb, void *ud);

/* Runs one turn: the before-sleep hook, one epoll_wait (at most max_wait_ms, and no longer than
 * the nearest timer, rounded up so timers never fire early), the fd callbacks (read before
 * write), then due timers. Returns 0, or -1 if epoll_wait failed with something other than
 * EINTR. */
int sio__loop_turn(sio_loop *l, int max_wait_ms);

#endif /* SIO_LOOP_H */
