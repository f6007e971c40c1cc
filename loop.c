/* SPDX-License-Identifier: MIT */
/* loop.c -- epoll, timers and the before-sleep hook (see loop.h).
 *
 * Level-triggered epoll with one slot per descriptor, as redis's ae: the read callback runs
 * before the write callback, and an error or hangup is reported as readable so that the read
 * handler discovers it from read(). Timers live in a binary min-heap of pointers to sio_timer
 * structs embedded in their owners, so arming, re-arming and stopping are O(log n) and cost
 * no allocation. Does not do: signals, threads, edge-triggered mode.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* accept4, getrandom, MSG_NOSIGNAL, strdup */
#endif
#include "loop.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

/* ====== Types ====== */

/* One watched descriptor. */
struct slot {
    int mask;     /* SIO_EV_* currently registered with epoll; 0 = not watched */
    sio_fd_cb cb; /* callback */
    void *ud;     /* callback data */
};

struct sio_loop {
    int epfd;                    /* the epoll instance */
    int setsize;                 /* slots[] length: highest fd + 1 we accept */
    struct slot *slots;          /* one per descriptor */
    struct epoll_event *events;  /* epoll_wait output, setsize entries at most */
    int nevents;                 /* capacity of events[] */
    sio_timer **heap;            /* min-heap of armed timers, by `when` */
    uint32_t nheap;              /* timers in the heap */
    uint32_t capheap;            /* capacity of heap[] */
    sio_before_sleep_cb before;  /* before-sleep hook, or NULL */
    void *before_ud;             /* its data */
};

#define LOOP_MAX_EVENTS 1024 /* events taken from one epoll_wait */

uint64_t sio__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ====== Creation ====== */

sio_loop *sio__loop_new(int setsize)
{
    sio_loop *l = calloc(1, sizeof *l);
    if (!l) return NULL;
    l->setsize = setsize;
    l->slots = calloc((size_t)setsize, sizeof *l->slots);
    l->nevents = setsize < LOOP_MAX_EVENTS ? setsize : LOOP_MAX_EVENTS;
    l->events = calloc((size_t)l->nevents, sizeof *l->events);
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (!l->slots || !l->events || l->epfd < 0) {
        int e = errno;
        sio__loop_free(l);
        errno = e ? e : ENOMEM;
        return NULL;
    }
    return l;
}

void sio__loop_free(sio_loop *l)
{
    if (!l) return;
    if (l->epfd >= 0) close(l->epfd);
    free(l->slots);
    free(l->events);
    free(l->heap);
    free(l);
}

/* ====== Descriptors ====== */

int sio__loop_watch(sio_loop *l, int fd, int events, sio_fd_cb cb, void *ud)
{
    if (fd < 0 || fd >= l->setsize) {
        errno = ERANGE;
        return -1;
    }
    struct slot *s = &l->slots[fd];
    s->cb = cb;
    s->ud = ud;
    return sio__loop_mask(l, fd, events);
}

int sio__loop_mask(sio_loop *l, int fd, int events)
{
    if (fd < 0 || fd >= l->setsize) {
        errno = ERANGE;
        return -1;
    }
    struct slot *s = &l->slots[fd];
    if (s->mask == events) return 0;
    struct epoll_event ee = {0};
    ee.data.fd = fd;
    if (events & SIO_EV_READ) ee.events |= EPOLLIN;
    if (events & SIO_EV_WRITE) ee.events |= EPOLLOUT;
    int op = events == 0 ? EPOLL_CTL_DEL : s->mask == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
    if (epoll_ctl(l->epfd, op, fd, &ee) < 0) return -1;
    s->mask = events;
    return 0;
}

/* ====== Timers (binary min-heap) ====== */

static void heap_place(sio_loop *l, uint32_t i, sio_timer *t)
{
    l->heap[i] = t;
    t->idx = i + 1;
}

static void sift_up(sio_loop *l, uint32_t i)
{
    sio_timer *t = l->heap[i];
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (l->heap[parent]->when <= t->when) break;
        heap_place(l, i, l->heap[parent]);
        i = parent;
    }
    heap_place(l, i, t);
}

static void sift_down(sio_loop *l, uint32_t i)
{
    sio_timer *t = l->heap[i];
    for (;;) {
        uint32_t c = 2 * i + 1;
        if (c >= l->nheap) break;
        if (c + 1 < l->nheap && l->heap[c + 1]->when < l->heap[c]->when) c++;
        if (t->when <= l->heap[c]->when) break;
        heap_place(l, i, l->heap[c]);
        i = c;
    }
    heap_place(l, i, t);
}

/* Arms t. If the heap cannot grow (out of memory) the timer is left unarmed; callers treat
 * timers as best effort only in that impossible-in-practice case, so we abort instead of
 * silently losing a heartbeat. */
void sio__timer_set(sio_loop *l, sio_timer *t, uint64_t when, sio_timer_cb cb)
{
    t->cb = cb;
    if (t->idx) {
        uint64_t old = t->when;
        t->when = when;
        if (when < old) sift_up(l, t->idx - 1);
        else sift_down(l, t->idx - 1);
        return;
    }
    if (l->nheap == l->capheap) {
        uint32_t cap = l->capheap ? l->capheap * 2 : 64;
        sio_timer **h = realloc(l->heap, cap * sizeof *h);
        if (!h) abort();
        l->heap = h;
        l->capheap = cap;
    }
    t->when = when;
    heap_place(l, l->nheap++, t);
    sift_up(l, l->nheap - 1);
}

void sio__timer_stop(sio_loop *l, sio_timer *t)
{
    if (!t->idx) return;
    uint32_t i = t->idx - 1;
    t->idx = 0;
    l->nheap--;
    if (i == l->nheap) return;
    heap_place(l, i, l->heap[l->nheap]);
    sift_up(l, i);
    sift_down(l, l->heap[i]->idx - 1);
}

void sio__loop_before_sleep(sio_loop *l, sio_before_sleep_cb cb, void *ud)
{
    l->before = cb;
    l->before_ud = ud;
}

/* ====== One turn ====== */

/* Fires every timer whose deadline has passed. A callback may arm or stop any timer, this one
 * included; a timer re-armed for "now" waits for the next turn so a loop can't starve I/O. */
static void run_timers(sio_loop *l)
{
    uint64_t now = sio__now_ms();
    uint32_t budget = l->nheap;
    while (l->nheap && l->heap[0]->when <= now && budget--) {
        sio_timer *t = l->heap[0];
        sio__timer_stop(l, t);
        t->cb(l, t);
    }
}

int sio__loop_turn(sio_loop *l, int max_wait_ms)
{
    if (l->before) l->before(l, l->before_ud);
    int wait = max_wait_ms;
    if (l->nheap) {
        uint64_t now = sio__now_ms();
        uint64_t when = l->heap[0]->when;
        /* Deadlines are whole ms and the clock truncates, so waiting (when - now) ms + 1
         * never wakes before the deadline. */
        int until = when <= now ? 0 : (int)(when - now + 1 < (uint64_t)max_wait_ms ? when - now + 1 : (uint64_t)max_wait_ms);
        if (until < wait || wait < 0) wait = until;
    }
    int n = epoll_wait(l->epfd, l->events, l->nevents, wait);
    if (n < 0) {
        if (errno != EINTR) return -1;
        n = 0;
    }
    for (int i = 0; i < n; i++) {
        int fd = l->events[i].data.fd;
        uint32_t ev = l->events[i].events;
        struct slot *s = &l->slots[fd];
        int fired = 0;
        if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP)) fired |= SIO_EV_READ;
        if (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)) fired |= SIO_EV_WRITE;
        /* Re-check the mask before each call: an earlier callback in this batch may have
         * removed the descriptor (and even closed and reused the number). */
        if ((fired & SIO_EV_READ) && (s->mask & SIO_EV_READ)) s->cb(l, fd, s->ud, SIO_EV_READ);
        if ((fired & SIO_EV_WRITE) && (s->mask & SIO_EV_WRITE)) s->cb(l, fd, s->ud, SIO_EV_WRITE);
    }
    run_timers(l);
    return 0;
}
