/* SPDX-License-Identifier: MIT */
/* test.h -- the whole unit-test harness: CHECK() records a failure with its line and goes on;
 * RUN() runs one test function; test_main_end() prints the totals and gives the exit status.
 * Every test binary includes this once, in its single .c file. */
#ifndef SIO_TEST_H
#define SIO_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int test_failures; /* CHECKs that failed, over the whole run */
static int test_checks;   /* CHECKs evaluated */

/* Records a failed condition with its file and line and the test's note; never aborts. */
#define CHECK(cond, note)                                                                      \
    do {                                                                                       \
        test_checks++;                                                                         \
        if (!(cond)) {                                                                         \
            test_failures++;                                                                   \
            fprintf(stderr, "FAIL %s:%d: %s (%s)\n", __FILE__, __LINE__, #cond, (note));       \
        }                                                                                      \
    } while (0)

/* Runs one test function and says which one ran. */
#define RUN(fn)                                                                                \
    do {                                                                                       \
        int before_ = test_failures;                                                           \
        fn();                                                                                  \
        printf("%s %s\n", test_failures == before_ ? "ok  " : "FAIL", #fn);                    \
    } while (0)

/* Copies len bytes so that they end exactly where an unreadable page begins (picohttpparser's
 * trick): a parser that reads one byte too far faults at once. The copy stays valid until the
 * next call (one guarded buffer, reused). Aborts only if mmap itself fails. */
static char *guarded(const void *data, size_t len)
{
    static char *region;
    static size_t region_len;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t need = (len + page - 1) / page * page + page;
    if (region && region_len < need) {
        munmap(region, region_len);
        region = NULL;
    }
    if (!region) {
        region = mmap(NULL, need, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (region == MAP_FAILED) abort();
        region_len = need;
        mprotect(region + need - page, page, PROT_NONE);
    }
    char *p = region + region_len - page - len;
    if (len) memcpy(p, data, len);
    return p;
}

/* Prints the totals; returns the process exit status (0 = all passed). */
static int test_main_end(const char *suite)
{
    printf("%s: %d checks, %d failed\n", suite, test_checks, test_failures);
    return test_failures ? 1 : 0;
}

#endif
