/* SPDX-License-Identifier: MIT */
/* fuzz_msgpack.c -- libFuzzer target for msgpack.c: msgpack -> JSON, JSON -> msgpack, and the
 * header reader, checked against each other and against json.c.
 *
 * For each input, read as msgpack:
 *   - sio_msgpack_to_json() and sio_msgpack_skip() agree: same length, same error, except where
 *     only the converter has a limit (more than 16 bins: BINS; nesting the JSON writer cannot hold:
 *     DEPTH);
 *   - on success the text is valid JSON (sio_json_parse) and valid UTF-8 (fuzz_utf8_ref), every
 *     bin slice lies inside the input, and a writer that starts inside an array gets a comma and
 *     nothing else changes; on failure the writer is exactly as before the call;
 *   - the text encoded back (sio_msgpack_from_json with the bins found) and decoded again gives
 *     the same text: one round trip reaches the fixed point (when the input held no map that
 *     merely looks like a placeholder);
 *   - sio_msgpack_head() at every offset stays in bounds and its payload fits.
 * Read as JSON text: if it is valid JSON, from_json succeeds (or refuses a placeholder with a bad
 * num), and JSON -> msgpack -> JSON -> msgpack -> JSON ends at a fixed point as well.
 */
#include "../../msgpack.h"
#include "fuzz.h"

#include <string.h>

#define MAX_BINS 16

/* Occurrences of s in p[0..n). */
static int count(const char *p, size_t n, const char *s)
{
    size_t k = strlen(s);
    int c = 0;
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(p + i, s, k) == 0) c++;
    return c;
}

static void check_text(const sio_jw *w)
{
    CHECK(!w->err && w->depth == 0);
    CHECK(sio_json_parse(w->buf, w->len, NULL, 0) >= 1);
    CHECK(fuzz_utf8_ref((const unsigned char *)w->buf, w->len) == 0);
}

/* JSON text j -> msgpack -> JSON: returns the text in *out (caller frees), or 0 if from_json
 * refused a placeholder. */
static int reencode(const char *j, size_t n, const sio_mp_bin *bins, int nbins, sio_jw *out)
{
    sio_mpbuf b;
    unsigned char stack[32];
    sio_mpbuf_init(&b, stack, sizeof stack);
    int r = sio_msgpack_from_json((sio_str){j, n}, bins, nbins, &b);
    CHECK(r == 0 || r == SIO_MP_ERR_BINS);
    CHECK(r != 0 || !b.err);
    if (r != 0) {
        CHECK(b.len == 0);
        sio_mpbuf_free(&b);
        return 0;
    }
    CHECK(sio_msgpack_skip(b.buf, b.len) == (long)b.len);
    sio_mp_bin bins2[MAX_BINS];
    size_t used;
    int nb;
    sio_jw_init(out, NULL, 0);
    r = sio_msgpack_to_json(b.buf, b.len, &used, out, bins2, &nb, MAX_BINS);
    /* JSON nesting up to 64 fits msgpack, but the JSON writer holds only 63 levels */
    CHECK(r == 0 || r == SIO_MP_ERR_DEPTH || r == SIO_MP_ERR_BINS);
    if (r == 0) {
        CHECK(used == b.len);
        check_text(out);
    }
    sio_mpbuf_free(&b);
    return r == 0;
}

static void as_msgpack(const uint8_t *data, size_t size)
{
    sio_mp_bin bins[MAX_BINS];
    size_t used = 123;
    int nb = 123;
    sio_jw w;
    char stack[64];
    sio_jw_init(&w, stack, sizeof stack);
    int r = sio_msgpack_to_json(data, size, &used, &w, bins, &nb, MAX_BINS);
    long sk = sio_msgpack_skip(data, size);
    CHECK(r == 0 || r == SIO_MP_ERR_TRUNC || r == SIO_MP_ERR_INVAL || r == SIO_MP_ERR_KEY || r == SIO_MP_ERR_DEPTH ||
          r == SIO_MP_ERR_BINS);
    if (r == 0) {
        CHECK(sk == (long)used && used <= size && nb >= 0 && nb <= MAX_BINS);
        check_text(&w);
        for (int i = 0; i < nb; i++)
            CHECK((const uint8_t *)bins[i].data >= data && (const uint8_t *)bins[i].data + bins[i].len <= data + used);
        if (count(w.buf, w.len, "_placeholder") == nb) {
            sio_jw w2;
            if (reencode(w.buf, w.len, bins, nb, &w2)) CHECK(w2.len == w.len && memcmp(w2.buf, w.buf, w.len) == 0);
            sio_jw_free(&w2);
        }
    } else {
        CHECK(used == 0 && nb == 0 && w.len == 0 && w.depth == 0 && !w.err);
        /* BINS and the writer's DEPTH stop the converter where skip goes on (and may find a
         * later error, or none); any other error is found by both at the same byte */
        if (r != SIO_MP_ERR_BINS && r != SIO_MP_ERR_DEPTH) CHECK(sk == r);
    }
    /* The same input inside an array, after an element: a comma, then the same text; or, since
     * the array takes one of the writer's 63 levels, DEPTH one level sooner -- and then the array
     * is exactly as it was. */
    sio_jw a;
    sio_jw_init(&a, NULL, 0);
    sio_jw_arr(&a);
    sio_jw_int(&a, 7);
    int r2 = sio_msgpack_to_json(data, size, &used, &a, bins, &nb, MAX_BINS);
    CHECK(r2 == r || r2 == SIO_MP_ERR_DEPTH);
    if (r2 == 0) {
        CHECK(a.len == 3 + w.len && a.buf[2] == ',' && memcmp(a.buf + 3, w.buf, w.len) == 0);
    } else {
        CHECK(a.len == 2 && a.depth == 1 && !a.err);
        sio_jw_end(&a);
        CHECK(a.len == 3 && memcmp(a.buf, "[7]", 3) == 0);
    }
    sio_jw_free(&a);
    sio_jw_free(&w);

    /* The header reader at every offset (the first 4096) */
    for (size_t off = 0; off < size && off < 4096; off++) {
        sio_mp_head h;
        long hl = sio_msgpack_head(data + off, size - off, &h);
        if (hl < 0) {
            CHECK(hl == SIO_MP_ERR_TRUNC || hl == SIO_MP_ERR_INVAL);
            continue;
        }
        CHECK((size_t)hl <= size - off && hl >= 1 && hl <= 9);
        if (h.kind == SIO_MP_STR || h.kind == SIO_MP_BIN || h.kind == SIO_MP_EXT)
            CHECK(h.data == data + off + hl && h.u <= size - off - (size_t)hl);
        if (h.kind == SIO_MP_ARRAY) CHECK(h.u <= size - off - (size_t)hl);
        if (h.kind == SIO_MP_MAP) CHECK(2 * h.u <= size - off - (size_t)hl);
    }
}

static void as_json(const uint8_t *data, size_t size)
{
    const char *js = (const char *)data;
    if (sio_json_parse(js, size, NULL, 0) < 1) {
        sio_mpbuf b;
        sio_mpbuf_init(&b, NULL, 0);
        CHECK(sio_msgpack_from_json((sio_str){js, size}, NULL, 0, &b) == SIO_MP_ERR_JSON && b.len == 0);
        sio_mpbuf_free(&b);
        return;
    }
    static const unsigned char blob[] = {0, 1, 2, 0xff};
    sio_mp_bin bins[2] = {{blob, 4}, {blob, 0}};
    sio_jw j1, j2;
    if (!reencode(js, size, bins, 2, &j1)) return;
    sio_mp_bin found[MAX_BINS];
    size_t used;
    int nb;
    (void)used;
    /* the placeholders in j1 were produced by the decoder: count them for the next pass */
    nb = count(j1.buf, j1.len, "\"_placeholder\":true,\"num\":");
    for (int i = 0; i < nb && i < MAX_BINS; i++) found[i] = bins[0];
    if (nb <= MAX_BINS && reencode(j1.buf, j1.len, found, nb, &j2)) {
        CHECK(j2.len == j1.len && memcmp(j2.buf, j1.buf, j1.len) == 0);
        sio_jw_free(&j2);
    }
    sio_jw_free(&j1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    as_msgpack(data, size);
    as_json(data, size);
    return 0;
}
