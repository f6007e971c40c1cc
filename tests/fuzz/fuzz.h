/* SPDX-License-Identifier: MIT */
/* fuzz.h -- what every fuzz target shares: the libFuzzer entry point's prototype and CHECK(),
 * which turns a broken invariant into an abort (a crash libFuzzer saves, with the line it failed
 * on). The targets build two ways: with clang -fsanitize=fuzzer (libFuzzer supplies main), or
 * with tests/fuzz/replay.c, whose main() runs the entry point over corpus files. */
#ifndef SIO_FUZZ_H
#define SIO_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Runs one input. Always returns 0 (libFuzzer reserves other values). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts with the failed condition when an invariant does not hold. */
#define CHECK(cond)                                                                            \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);       \
            abort();                                                                           \
        }                                                                                      \
    } while (0)

/* 1 if the slice s lies inside buf[0..len). */
#define IN_BUF(s, base, n)                                                                     \
    ((s).p >= (const char *)(base) && (s).p + (s).len <= (const char *)(base) + (n))

/* A reference UTF-8 check (RFC 3629), written differently from ws.c's and json.c's on purpose:
 * it decodes each sequence to its code point and judges the number, where they use per-byte
 * ranges. Returns 0 if p[0..n) is valid UTF-8, 1 if it is valid but ends inside a sequence that
 * some continuation bytes would complete, -1 if it is invalid. */
static inline int fuzz_utf8_ref(const unsigned char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = p[i];
        size_t need, have, k;
        uint32_t cp, min, max;
        if (c < 0x80) {
            i++;
            continue;
        }
        if ((c & 0xE0) == 0xC0) {
            need = 2, cp = c & 0x1F, min = 0x80, max = 0x7FF;
        } else if ((c & 0xF0) == 0xE0) {
            need = 3, cp = c & 0x0F, min = 0x800, max = 0xFFFF;
        } else if ((c & 0xF8) == 0xF0) {
            need = 4, cp = c & 0x07, min = 0x10000, max = 0x10FFFF;
        } else {
            return -1;
        }
        have = n - i < need ? n - i : need;
        for (k = 1; k < have; k++) {
            if ((p[i + k] & 0xC0) != 0x80) return -1;
            cp = cp << 6 | (p[i + k] & 0x3F);
        }
        if (have < need) { /* the code points its completions reach form one interval */
            unsigned bits = 6 * (unsigned)(need - have);
            uint32_t lo = cp << bits, hi = lo | ((1u << bits) - 1);
            if (hi < min || lo > max || (lo >= 0xD800 && hi <= 0xDFFF)) return -1;
            return 1;
        }
        if (cp < min || cp > max || (cp >= 0xD800 && cp <= 0xDFFF)) return -1;
        i += need;
    }
    return 0;
}

#endif
