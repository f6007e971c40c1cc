/* SPDX-License-Identifier: MIT */
/* json.h -- a strict, bounded JSON tokenizer, navigator and emitter.
 *
 * Copy json.c and json.h into a project and they compile on their own: no other sio file is
 * needed. Nothing here allocates except the emitter, and the emitter only when the caller's
 * buffer is too small.
 *
 * Three tools, one grammar (RFC 8259, strict: no trailing commas, no comments, no NaN, no
 * leading zeros, no control characters inside strings, no lone '-', nesting capped):
 *
 *   1. sio_json_parse()  -- jsmn-style: fills a caller-supplied token array, or, with toks == NULL,
 *                           just validates and returns how many tokens the text needs.
 *   2. sio_json_get() / sio_json_at() / sio_json_next() ...
 *                        -- navigation over JSON text that has already been validated, by slices
 *                           (`sio_str`) into the original text; no tokens needed.
 *   3. sio_jw_*()        -- an emitter that writes what JavaScript's JSON.stringify writes
 *                           (escapes, number form), inserting commas by itself.
 */
#ifndef SIO_JSON_H
#define SIO_JSON_H

#include <stddef.h>
#include <stdint.h>

/* ====== Limits (override with -D) ====== */
#ifndef SIO_JSON_MAX_DEPTH
#define SIO_JSON_MAX_DEPTH 64 /* deepest nesting of arrays/objects accepted (bad-inputs B5.68) */
#endif

#ifndef SIO_STR_DEFINED
#define SIO_STR_DEFINED
/* A borrowed slice of bytes: not NUL-terminated, owned by whoever owns the buffer it points into. */
typedef struct sio_str {
    const char *p; /* first byte, or NULL for "absent" */
    size_t len;    /* number of bytes */
} sio_str;
#endif

/* ====== Tokens ====== */

/* The type of a JSON value, as found from its first byte. */
typedef enum sio_json_type {
    SIO_JSON_NONE = 0,   /* no value (absent slice) */
    SIO_JSON_OBJECT = 1, /* {...} */
    SIO_JSON_ARRAY = 2,  /* [...] */
    SIO_JSON_STRING = 3, /* "..." (token spans the quotes) */
    SIO_JSON_NUMBER = 4, /* -12.5e3 */
    SIO_JSON_TRUE = 5,   /* true */
    SIO_JSON_FALSE = 6,  /* false */
    SIO_JSON_NULL = 7    /* null */
} sio_json_type;

/* Error codes: every failing function returns one of these (negative). */
enum sio_json_err {
    SIO_JSON_ERR_NOMEM = -1, /* the token array is too small */
    SIO_JSON_ERR_INVAL = -2, /* not valid JSON */
    SIO_JSON_ERR_PART = -3,  /* valid so far, but the text ends inside a value */
    SIO_JSON_ERR_DEPTH = -4  /* nesting deeper than SIO_JSON_MAX_DEPTH */
};

/* One value found by sio_json_parse(). Offsets are into the parsed text. */
typedef struct sio_json_tok {
    sio_json_type type; /* what kind of value */
    uint32_t start;     /* offset of its first byte (the quote, for strings) */
    uint32_t end;       /* offset one past its last byte (past the closing quote) */
    int32_t size;       /* arrays: element count; objects: number of keys; otherwise 0 */
    int32_t parent;     /* index of the enclosing array/object token (for an object value: of
                           its key token), or -1 at top level */
} sio_json_tok;

/* Parse `js[0..len)`, which must hold exactly one JSON value with optional whitespace around it.
 * Returns: the number of tokens (>= 1) on success, written to toks[0..n) in document order
 * (object keys are STRING tokens, each followed by its value's tokens);
 * with toks == NULL, validates only and returns the number of tokens that would be needed;
 * SIO_JSON_ERR_NOMEM if ntoks is too small, _INVAL for bad JSON, _PART for truncated text,
 * _DEPTH for too deep nesting. Runs in time linear in len, uses no recursion, never reads
 * js[len] (the text need not be NUL-terminated). With _NOMEM, toks[0..ntoks) hold the first
 * ntoks tokens, complete (a caller may ask for only the first few); after any other error their
 * contents are unspecified. */
int sio_json_parse(const char *js, size_t len, sio_json_tok *toks, unsigned ntoks);

/* ====== Navigation over validated text ======
 * These functions take slices of text that sio_json_parse() (or sio_json_value_end()) has
 * accepted. Given invalid text they return absent slices or -1, never crash, never read past
 * v.p + v.len. */

/* Skip whitespace from js[off], then scan one JSON value strictly.
 * Returns the offset one past that value (>= 0), or a negative SIO_JSON_ERR_* code. */
long sio_json_value_end(const char *js, size_t len, size_t off);

/* The type of the value in `v` (from its first non-space byte); SIO_JSON_NONE if v.p is NULL. */
sio_json_type sio_json_typeof(sio_str v);

/* For an object `obj`: the value stored under `key` (a plain C string, compared with the
 * decoded key). When a key repeats, the last one wins, as in JavaScript.
 * Returns {NULL,0} if obj is not an object or the key is absent. */
sio_str sio_json_get(sio_str obj, const char *key);

/* Several members of an object `obj` in one pass, as JavaScript destructures
 * `const { to, content } = obj`: vals[i] gets the value under keys[i] (compared as with
 * sio_json_get(); the last duplicate wins), or {NULL,0} when it is absent or keys[i] is NULL.
 * Returns 0, or -1 with every vals[i] absent if obj is not a well-formed object.
 * Example:  static const char *const keys[] = {"to", "content"};
 *           sio_str v[2];
 *           if (sio_json_get_n(msg, keys, v, 2) == 0 && v[0].p) ... */
int sio_json_get_n(sio_str obj, const char *const *keys, sio_str *vals, int n);

/* For an array `arr`: element i (0-based), or {NULL,0} if out of range / not an array. */
sio_str sio_json_at(sio_str arr, int i);

/* Number of elements of an array or keys of an object; -1 if `v` is neither. */
int sio_json_count(sio_str v);

/* Iterates an array or object. Start with *pos = 0. Each call stores the next element in *val
 * (and, for objects, its key -- still a quoted JSON string -- in *key, which may be NULL for
 * arrays) and returns 1; returns 0 at the end, -1 on malformed input. */
int sio_json_next(sio_str container, size_t *pos, sio_str *key, sio_str *val);

/* Decodes the JSON string `s` (with its quotes) into dst as UTF-8 and NUL-terminates it.
 * Escapes are resolved; surrogate pairs become one 4-byte sequence; a lone surrogate becomes
 * its 3-byte WTF-8 form so that sio_jw_strn() can write it back as JSON.stringify would.
 * Returns the decoded length (excluding the NUL), or -1 if `s` is not a string or does not fit
 * in cap - 1 bytes. */
long sio_json_unescape(sio_str s, char *dst, size_t cap);

/* 1 if the JSON string `s` decodes to exactly the C string `cstr`, else 0. No allocation. */
int sio_json_str_eq(sio_str s, const char *cstr);

/* JavaScript truthiness of a JSON value: false for absent, null, false, "", and numbers equal
 * to 0 (0, -0, 0.0, 0e5); true for everything else (objects and arrays included). */
int sio_json_truthy(sio_str v);

/* Parses a JSON number. Returns 0 and stores it in *out, or -1 if v is not a number. */
int sio_json_number(sio_str v, double *out);

/* Removes leading and trailing JSON whitespace from a slice. */
sio_str sio_json_trim(sio_str v);

/* ====== Emitter ======
 * Writes compact JSON exactly as JSON.stringify would, adding commas and ':' itself.
 *
 *   char stack[256];
 *   sio_jw w;
 *   sio_jw_init(&w, stack, sizeof stack);
 *   sio_jw_obj(&w);
 *     sio_jw_key(&w, "userID"); sio_jw_str(&w, id);
 *     sio_jw_key(&w, "username"); sio_jw_raw(&w, name.p, name.len);
 *   sio_jw_end(&w);
 *   if (w.err) ...; use w.buf, w.len; then sio_jw_free(&w);
 */
typedef struct sio_jw {
    char *buf;       /* output bytes (not NUL-terminated); the caller's buffer or the heap */
    size_t len;      /* bytes written */
    size_t cap;      /* bytes available in buf */
    int heap;        /* 1 if buf was malloc'd by the writer (sio_jw_free releases it) */
    int err;         /* set once allocation failed or nesting overflowed; writes then stop */
    int depth;       /* current nesting depth */
    int after_key;   /* 1 right after sio_jw_key(): the next value needs no comma */
    uint64_t nonempty; /* bit d set: the container at depth d already holds an element */
    uint64_t objects;  /* bit d set: the container at depth d is an object (closes with '}') */
} sio_jw;

/* Starts a writer over the caller's buffer (may be NULL/0: then it allocates on first write).
 * When the buffer fills, the writer moves to the heap, copying what it has. */
void sio_jw_init(sio_jw *w, char *buf, size_t cap);
/* Releases heap memory the writer took, if any. The writer may be re-initialised after. */
void sio_jw_free(sio_jw *w);
void sio_jw_obj(sio_jw *w);                 /* writes "{" */
void sio_jw_arr(sio_jw *w);                 /* writes "[" */
void sio_jw_end(sio_jw *w);                 /* closes the innermost "{" or "[" */
void sio_jw_key(sio_jw *w, const char *k);  /* writes "k": (escaped) */
void sio_jw_str(sio_jw *w, const char *s);  /* a NUL-terminated UTF-8 string, escaped */
/* `n` bytes of UTF-8 (WTF-8 lone surrogates allowed) escaped as JSON.stringify does:
 * \" \\ \b \t \n \f \r, other controls < 0x20 as \u00xx (lowercase hex), lone surrogates as
 * \udxxx, invalid UTF-8 bytes as \ufffd, everything else raw. */
void sio_jw_strn(sio_jw *w, const char *s, size_t n);
void sio_jw_raw(sio_jw *w, const char *json, size_t n); /* already-valid JSON text, copied as is */
void sio_jw_int(sio_jw *w, long long v);
/* Shortest round-trip form as JavaScript prints it: 1, 0.1, 1e+21, 1.5e-7; -0 as 0;
 * NaN and infinities as null. */
void sio_jw_double(sio_jw *w, double v);
void sio_jw_bool(sio_jw *w, int v);
void sio_jw_null(sio_jw *w);
/* Appends bytes with no JSON meaning and no comma logic (for framing around JSON text). */
void sio_jw_bytes(sio_jw *w, const void *p, size_t n);

#endif /* SIO_JSON_H */
