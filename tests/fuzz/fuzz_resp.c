/* SPDX-License-Identifier: MIT */
/* fuzz_resp.c -- libFuzzer target for resp.c: the RESP2 reply parser and the command encoder.
 *
 * The input is parsed as a stream of replies (as the Redis client reads its input buffer). For
 * each reply:
 *   - counting (toks NULL), a full token array and one a token short agree: same length, same
 *     count, TOOMANY exactly when the array is too small;
 *   - the tokens are consistent: spans add up (toks[0].span == count, each array's span is one
 *     plus its elements' spans), every slice lies inside the reply, a bulk's length is its slice's,
 *     simple lines hold no CR or LF;
 *   - written back from the tokens in canonical RESP2, the reply is byte for byte the input: the
 *     parser accepts only canonical numbers and exact framing, so this is the identity;
 *   - every shorter prefix is INCOMPLETE (checked exhaustively for short replies, sampled for long
 *     ones) -- the per-byte test of the parser's incrementality.
 * Any result other than a length is INCOMPLETE or MALFORMED (TOOMANY only with a short array).
 * Then the input, split at '\n' bytes into arguments, goes through sio_resp_command(): the
 * encoding measures what it writes, writes nothing when one byte short, and parses back to an
 * array of bulks holding exactly those arguments.
 */
#include "../../resp.h"
#include "fuzz.h"

#include <string.h>

#define NTOK 256

/* Writes the value at toks[*i] in canonical RESP2 to out (cap bytes; *len advances). */
static void serialize(const struct sio_resp_tok *t, int nt, int *i, char *out, size_t cap, size_t *len)
{
    CHECK(*i < nt);
    const struct sio_resp_tok *v = &t[(*i)++];
    char head[48];
    int n = 0;
    switch (v->type) {
    case SIO_RESP_STATUS:
    case SIO_RESP_ERROR:
        CHECK(memchr(v->str.p, '\r', v->str.len) == NULL && memchr(v->str.p, '\n', v->str.len) == NULL);
        CHECK(v->n == (long long)v->str.len);
        n = snprintf(head, sizeof head, "%c", (char)v->type);
        break;
    case SIO_RESP_INT:
        n = snprintf(head, sizeof head, ":%lld\r\n", v->n);
        break;
    case SIO_RESP_BULK:
        CHECK(v->n == (long long)v->str.len && v->n <= SIO_RESP_MAX_BULK);
        n = snprintf(head, sizeof head, "$%lld\r\n", v->n);
        break;
    case SIO_RESP_NIL:
        n = snprintf(head, sizeof head, "$-1\r\n");
        break;
    case SIO_RESP_NIL_ARRAY:
        n = snprintf(head, sizeof head, "*-1\r\n");
        break;
    case SIO_RESP_ARRAY:
        CHECK(v->n >= 0 && v->n <= SIO_RESP_MAX_ELEMENTS);
        n = snprintf(head, sizeof head, "*%lld\r\n", v->n);
        break;
    default:
        CHECK(0 && "unknown token type");
    }
    if (v->type != SIO_RESP_ARRAY && v->type != SIO_RESP_STATUS && v->type != SIO_RESP_ERROR) CHECK(v->span == 1);
    if (v->type != SIO_RESP_STATUS && v->type != SIO_RESP_ERROR && v->type != SIO_RESP_BULK)
        CHECK(v->str.p == NULL && v->str.len == 0);
    CHECK(*len + (size_t)n <= cap);
    memcpy(out + *len, head, (size_t)n);
    *len += (size_t)n;
    if (v->type == SIO_RESP_STATUS || v->type == SIO_RESP_ERROR || v->type == SIO_RESP_BULK) {
        CHECK(*len + v->str.len + 2 <= cap);
        if (v->str.len) memcpy(out + *len, v->str.p, v->str.len);
        memcpy(out + *len + v->str.len, "\r\n", 2);
        *len += v->str.len + 2;
    }
    if (v->type == SIO_RESP_ARRAY) {
        int me = *i - 1;
        for (long long k = 0; k < v->n; k++) serialize(t, nt, i, out, cap, len);
        CHECK(v->span == (unsigned)(*i - me));
    }
}

/* Checks one complete reply of `len` bytes at p. */
static void check_reply(const char *p, size_t len, const struct sio_resp_tok *t, int nt)
{
    CHECK(nt >= 1 && t[0].span == (unsigned)nt);
    for (int i = 0; i < nt; i++) {
        if (!t[i].str.p) {
            CHECK(!sio_resp_tok_is(&t[i], "") || t[i].type == SIO_RESP_STATUS || t[i].type == SIO_RESP_ERROR ||
                  t[i].type == SIO_RESP_BULK);
            continue;
        }
        CHECK(t[i].str.p >= p && t[i].str.p + t[i].str.len <= p + len);
        /* sio_resp_tok_is() agrees with the bytes (for strings without NUL, short enough) */
        if (t[i].str.len < 64 && !memchr(t[i].str.p, '\0', t[i].str.len)) {
            char c[66];
            memcpy(c, t[i].str.p, t[i].str.len);
            c[t[i].str.len] = '\0';
            CHECK(sio_resp_tok_is(&t[i], c));
            c[t[i].str.len] = 'x';
            c[t[i].str.len + 1] = '\0';
            CHECK(!sio_resp_tok_is(&t[i], c));
        }
    }
    char *out = malloc(len);
    CHECK(out != NULL);
    size_t olen = 0;
    int i = 0;
    serialize(t, nt, &i, out, len, &olen);
    CHECK(i == nt && olen == len && memcmp(out, p, len) == 0);
    free(out);
    /* every shorter prefix is incomplete */
    size_t step = len <= 512 ? 1 : len / 256;
    for (size_t k = 0; k < len; k += step) {
        int n2;
        CHECK(sio_resp_parse(p, k, NULL, 0, &n2) == SIO_RESP_INCOMPLETE && n2 == 0);
    }
    int n2;
    CHECK(sio_resp_parse(p, len - 1, NULL, 0, &n2) == SIO_RESP_INCOMPLETE);
}

static void check_stream(const char *data, size_t size)
{
    static struct sio_resp_tok toks[NTOK];
    size_t off = 0;
    for (int replies = 0; replies < 1000; replies++) {
        int nc, nt;
        long count = sio_resp_parse(data + off, size - off, NULL, 0, &nc);
        long r = sio_resp_parse(data + off, size - off, toks, NTOK, &nt);
        CHECK(r > 0 || r == SIO_RESP_INCOMPLETE || r == SIO_RESP_MALFORMED || r == SIO_RESP_TOOMANY);
        if (r == SIO_RESP_TOOMANY) {
            CHECK(count > 0 && nc == nt && nt > NTOK);
            return; /* too big for this harness's array; the counting pass vouched for it */
        }
        CHECK(r == count);
        if (r <= 0) {
            CHECK(nt == 0 && nc == 0);
            return;
        }
        CHECK((size_t)r <= size - off && nt == nc);
        if (nt > 1) { /* one token short */
            int ns;
            CHECK(sio_resp_parse(data + off, size - off, toks, (unsigned)nt - 1, &ns) == SIO_RESP_TOOMANY && ns == nt);
            CHECK(sio_resp_parse(data + off, size - off, toks, (unsigned)nt, &ns) == r);
        }
        check_reply(data + off, (size_t)r, toks, nt);
        off += (size_t)r;
    }
}

/* The input as command arguments, split at '\n'. */
static void check_command(const char *data, size_t size)
{
    const char *argv[64];
    size_t lens[64];
    int argc = 0;
    size_t start = 0;
    for (size_t i = 0; i <= size && argc < 64; i++) {
        if (i == size || data[i] == '\n') {
            argv[argc] = data + start;
            lens[argc++] = i - start;
            start = i + 1;
        }
    }
    size_t need = sio_resp_command(NULL, 0, argc, argv, lens);
    char *out = malloc(need);
    CHECK(out != NULL);
    memset(out, 0x5a, need);
    CHECK(sio_resp_command(out, need - 1, argc, argv, lens) == need && out[0] == 0x5a);
    CHECK(sio_resp_command(out, need, argc, argv, lens) == need);
    static struct sio_resp_tok t[65];
    int nt;
    CHECK(sio_resp_parse(out, need, t, 65, &nt) == (long)need && nt == argc + 1);
    CHECK(t[0].type == SIO_RESP_ARRAY && t[0].n == argc);
    for (int i = 0; i < argc; i++)
        CHECK(t[1 + i].type == SIO_RESP_BULK && t[1 + i].str.len == lens[i] &&
              (lens[i] == 0 || memcmp(t[1 + i].str.p, argv[i], lens[i]) == 0));
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_stream((const char *)data, size);
    check_command((const char *)data, size);
    return 0;
}
