/* SPDX-License-Identifier: MIT */
/* test_packet.c -- unit tests for packet.c: Engine.IO packet decoding and payload splitting
 * (protocol.md A5, A6), the Socket.IO packet decoder (B1, B2, B6, B7, B10; bad-inputs.md 31-33,
 * 61-68) as tables of valid rows (every field checked, every strict prefix fed too, each row
 * re-encoded with sio_packet_header() and decoded back) and invalid rows, each limit at N-1, N
 * and N+1, a 100k-deep JSON bomb, reserved event names, and the header encoder. Every decoded
 * input sits right before a PROT_NONE page (guarded()), so any read past len faults at once. */
#include "../packet.h"
#include "test.h"

#include <limits.h>
#include <stdint.h>

/* A string literal and its exact length (so inputs may contain NUL bytes). */
#define LIT(s) s, sizeof(s) - 1

/* A placeholder object as socket.io-parser writes it (B7). */
#define PH(n) "{\"_placeholder\":true,\"num\":" #n "}"

/* ====== Helpers ====== */

/* 1 if the slice holds exactly the len bytes at expect. */
static int slice_eq(sio_str v, const char *expect, size_t len)
{
    return v.p != NULL && v.len == len && (len == 0 || memcmp(v.p, expect, len) == 0);
}

/* 1 if the slice holds exactly the C string expect. */
static int slice_is(sio_str v, const char *expect)
{
    return slice_eq(v, expect, strlen(expect));
}

/* 1 if the slice lies inside base[0..len] (an empty slice may sit at base + len). */
static int within(sio_str v, const char *base, size_t len)
{
    uintptr_t a = (uintptr_t)v.p, b = (uintptr_t)base;
    return v.p != NULL && a >= b && v.len <= len && a - b <= len - v.len;
}

/* Returns a malloc'd string: head, `open` n times, mid, `close` n times, tail. */
static char *nest(const char *head, int n, const char *open, const char *mid, const char *close,
                  const char *tail)
{
    size_t lh = strlen(head), lo = strlen(open), lm = strlen(mid), lc = strlen(close), lt = strlen(tail);
    char *s = malloc(lh + (size_t)n * (lo + lc) + lm + lt + 1), *p = s;
    if (!s) abort();
    memcpy(p, head, lh);
    p += lh;
    for (int i = 0; i < n; i++, p += lo) memcpy(p, open, lo);
    memcpy(p, mid, lm);
    p += lm;
    for (int i = 0; i < n; i++, p += lc) memcpy(p, close, lc);
    memcpy(p, tail, lt);
    p[lt] = '\0';
    return s;
}

/* Decodes a guarded copy of in[0..len) into *pk (first filled with garbage: the decoder must set
 * every field). *g receives the guarded copy, which stays valid until the next guarded() call. */
static int decode(const char *in, size_t len, struct sio_packet *pk, const char **g)
{
    const char *copy = guarded(in, len);
    memset(pk, 0x5a, sizeof *pk);
    if (g) *g = copy;
    return sio_packet_decode(copy, len, pk);
}

/* Every slice of a decoded packet points into its input (nsp may be the built-in "/"). */
static int slices_ok(const struct sio_packet *pk, const char *g, size_t len)
{
    return (within(pk->nsp, g, len) || slice_is(pk->nsp, "/")) && within(pk->data, g, len);
}

/* Feeds every strict prefix of in[0..len): none may crash or read past its end; one that decodes
 * must give sane fields. (A prefix of a valid packet may be valid too: "212[" -> "21".) */
static void feed_prefixes(const char *in, size_t len, const char *note)
{
    for (size_t k = 0; k < len; k++) {
        struct sio_packet pk;
        const char *g;
        int r = decode(in, k, &pk, &g);
        CHECK(r == 0 || r == -1, note);
        if (r == 0) {
            CHECK(slices_ok(&pk, g, k), note);
            CHECK(pk.type >= SIO_PACKET_CONNECT && pk.type <= SIO_PACKET_BINARY_ACK, note);
            CHECK(pk.nbins >= 0 && pk.nbins <= SIO_PACKET_MAX_ATTACHMENTS, note);
            CHECK(pk.ack_id >= -1, note);
        }
    }
}

/* Builds header(type, nbins, nsp, ack) + json, decodes it and checks the fields come back. */
static void round_trip(int type, int nbins, const char *nsp, int64_t ack, const char *json, const char *note)
{
    char buf[SIO_PACKET_HEADER_MAX + 1024];
    size_t jl = json ? strlen(json) : 0;
    if (jl > 1024) {
        CHECK(0 && "round-trip payload too long for the test buffer", note);
        return;
    }
    size_t n = sio_packet_header(buf, type, nbins, nsp, strlen(nsp), ack);
    CHECK(n <= SIO_PACKET_HEADER_MAX, note);
    if (jl) memcpy(buf + n, json, jl);
    struct sio_packet pk;
    const char *g;
    int r = decode(buf, n + jl, &pk, &g);
    CHECK(r == 0, note);
    if (r != 0) {
        fprintf(stderr, "  round trip: %.*s\n", (int)(n + jl), buf);
        return;
    }
    CHECK(pk.type == type, note);
    CHECK(pk.nbins == (type == SIO_PACKET_BINARY_EVENT || type == SIO_PACKET_BINARY_ACK ? nbins : 0), note);
    CHECK(slice_is(pk.nsp, strcmp(nsp, "") ? nsp : "/"), note);
    CHECK(pk.ack_id == ack, note);
    CHECK(json ? slice_is(pk.data, json) : pk.data.len == 0, note);
    CHECK(slices_ok(&pk, g, n + jl), note);
}

/* ====== Engine.IO: sio_eio_decode (A5, A6; bad-inputs 31-33) ====== */

struct eio_row {
    const char *in;   /* packet text */
    size_t len;       /* its length */
    int ret;          /* SIO_EIO_* or -1 */
    const char *data; /* expected bytes after the type char (NULL on -1) */
    size_t data_len;  /* their length */
    const char *note;
};

static const struct eio_row eio_rows[] = {
    {LIT("0{\"sid\":\"abc\",\"pingInterval\":25000}"), SIO_EIO_OPEN,
     LIT("{\"sid\":\"abc\",\"pingInterval\":25000}"), "0 open with its handshake JSON"},
    {LIT("0"), SIO_EIO_OPEN, LIT(""), "0 open, bare"},
    {LIT("1"), SIO_EIO_CLOSE, LIT(""), "1 close"},
    {LIT("2"), SIO_EIO_PING, LIT(""), "2 ping (from a client: the session layer closes, bad-inputs 32)"},
    {LIT("2probe"), SIO_EIO_PING, LIT("probe"), "2probe (upgrade)"},
    {LIT("3"), SIO_EIO_PONG, LIT(""), "3 pong"},
    {LIT("3probe"), SIO_EIO_PONG, LIT("probe"), "3probe"},
    {LIT("4hello"), SIO_EIO_MESSAGE, LIT("hello"), "4 message"},
    {LIT("4"), SIO_EIO_MESSAGE, LIT(""), "4 with no data decodes here; Socket.IO rejects it (bad-inputs 33)"},
    {LIT("42[\"foo\"]"), SIO_EIO_MESSAGE, LIT("2[\"foo\"]"), "4 carrying a Socket.IO event"},
    {LIT("44hello"), SIO_EIO_MESSAGE, LIT("4hello"), "only the first char is the type"},
    {LIT("4a\0b"), SIO_EIO_MESSAGE, LIT("a\0b"), "NUL inside the data is data"},
    {LIT("5"), SIO_EIO_UPGRADE, LIT(""), "5 upgrade"},
    {LIT("6"), SIO_EIO_NOOP, LIT(""), "6 noop"},
    {LIT("bAQIDBA=="), SIO_EIO_BINARY, LIT("AQIDBA=="), "b + base64 (A6: 01 02 03 04)"},
    {LIT("b"), SIO_EIO_BINARY, LIT(""), "b with no base64 (empty binary)"},
    {LIT("b3q0="), SIO_EIO_BINARY, LIT("3q0="), "b3q0= (de ad)"},
    {LIT(""), -1, NULL, 0, "empty packet: parse error (A6)"},
    {LIT("7"), -1, NULL, 0, "'7' is not a type"},
    {LIT("9abc"), -1, NULL, 0, "'9' is not a type (bad-inputs 31)"},
    {LIT("9"), -1, NULL, 0, "'9' alone"},
    {LIT("x"), -1, NULL, 0, "'x' is not a type"},
    {LIT(" "), -1, NULL, 0, "' ' is not a type"},
    {LIT(" 4hello"), -1, NULL, 0, "leading space"},
    {LIT("B"), -1, NULL, 0, "'B' (upper case) is not 'b'"},
    {LIT("/"), -1, NULL, 0, "'/' (just below '0')"},
    {LIT(":"), -1, NULL, 0, "':' (just above '9')"},
    {LIT("-1"), -1, NULL, 0, "a sign is not a type"},
    {LIT("\0" "4"), -1, NULL, 0, "NUL first"},
    {LIT("\x1e"), -1, NULL, 0, "record separator alone"},
    {LIT("\xff" "4"), -1, NULL, 0, "high byte (signed char) first"},
    {LIT("\xb4" "4"), -1, NULL, 0, "0xb4 ('4' | 0x80) first"},
};

static void test_eio_decode(void)
{
    for (size_t i = 0; i < sizeof eio_rows / sizeof eio_rows[0]; i++) {
        const struct eio_row *t = &eio_rows[i];
        const char *g = guarded(t->in, t->len);
        sio_str data = {"garbage", 7};
        int r = sio_eio_decode(g, t->len, &data);
        CHECK(r == t->ret, t->note);
        if (t->ret < 0) {
            CHECK(data.p == NULL && data.len == 0, t->note);
            continue;
        }
        CHECK(slice_eq(data, t->data, t->data_len), t->note);
        CHECK(data.p == g + 1, t->note); /* a slice of the input, not a copy */
    }
}

/* ====== Engine.IO: sio_eio_payload_next (A6) ====== */

#define MAX_ITEMS 6

struct payload_row {
    const char *in;                 /* polling body */
    size_t len;                     /* its length */
    int n;                          /* packets expected */
    const char *pkts[MAX_ITEMS];    /* each packet's text */
    int types[MAX_ITEMS];           /* sio_eio_decode() of each */
    const char *note;
};

/* Note the split literals: "\x1e" "2" keeps '2' out of the hex escape. */
static const struct payload_row payload_rows[] = {
    {LIT("4hello\x1e" "2\x1e" "4world"), 3, {"4hello", "2", "4world"},
     {SIO_EIO_MESSAGE, SIO_EIO_PING, SIO_EIO_MESSAGE}, "three packets (A6)"},
    {LIT(""), 1, {""}, {-1}, "empty body: one empty packet, which fails to decode"},
    {LIT("4hello"), 1, {"4hello"}, {SIO_EIO_MESSAGE}, "one packet, no separator"},
    {LIT("4a\x1e"), 2, {"4a", ""}, {SIO_EIO_MESSAGE, -1}, "trailing separator: an empty packet last"},
    {LIT("\x1e" "4a"), 2, {"", "4a"}, {-1, SIO_EIO_MESSAGE}, "leading separator: an empty packet first"},
    {LIT("\x1e"), 2, {"", ""}, {-1, -1}, "a separator alone: two empty packets"},
    {LIT("4a\x1e\x1e" "2"), 3, {"4a", "", "2"}, {SIO_EIO_MESSAGE, -1, SIO_EIO_PING},
     "consecutive separators: an empty packet between"},
    {LIT("\x1e\x1e\x1e"), 4, {"", "", "", ""}, {-1, -1, -1, -1}, "separators only"},
    {LIT("4hello\x1e" "bAQIDBA=="), 2, {"4hello", "bAQIDBA=="}, {SIO_EIO_MESSAGE, SIO_EIO_BINARY},
     "text then a binary item (A6)"},
    {LIT("451-[\"file\"," PH(0) ",{\"name\":\"x\"}]\x1e" "b3q0="), 2,
     {"451-[\"file\"," PH(0) ",{\"name\":\"x\"}]", "b3q0="}, {SIO_EIO_MESSAGE, SIO_EIO_BINARY},
     "binary event header, then its attachment (B7)"},
    {LIT("bAQ==\x1e" "bAg==\x1e" "3"), 3, {"bAQ==", "bAg==", "3"},
     {SIO_EIO_BINARY, SIO_EIO_BINARY, SIO_EIO_PONG}, "two binary items then a pong"},
    {LIT("4x\x1e" "9\x1e" "4y"), 3, {"4x", "9", "4y"}, {SIO_EIO_MESSAGE, -1, SIO_EIO_MESSAGE},
     "splitting does not judge types: a bad packet in the middle is returned as is"},
};

static void test_eio_payload(void)
{
    for (size_t i = 0; i < sizeof payload_rows / sizeof payload_rows[0]; i++) {
        const struct payload_row *t = &payload_rows[i];
        const char *g = guarded(t->in, t->len);
        size_t pos = 0;
        int n = 0;
        sio_str pkt;
        while (n <= MAX_ITEMS && sio_eio_payload_next(g, t->len, &pos, &pkt) == 1) {
            if (n < t->n) {
                CHECK(slice_is(pkt, t->pkts[n]), t->note);
                CHECK(within(pkt, g, t->len), t->note);
                sio_str data;
                CHECK(sio_eio_decode(pkt.p, pkt.len, &data) == t->types[n], t->note);
            }
            n++;
        }
        CHECK(n == t->n, t->note);
        if (n != t->n) fprintf(stderr, "  got %d packets, want %d\n", n, t->n);
        CHECK(sio_eio_payload_next(g, t->len, &pos, &pkt) == 0, "stays at the end");
        CHECK(sio_eio_payload_next(g, t->len, &pos, &pkt) == 0, "stays at the end (again)");
    }
}

/* ====== Socket.IO: valid packets (B2 examples, B6, B7) ====== */

struct valid_row {
    const char *in;   /* the packet (after Engine.IO's '4') */
    size_t len;       /* its length */
    int type;         /* expected fields */
    int nbins;
    const char *nsp;
    int64_t ack;
    const char *data; /* trimmed JSON, or NULL when absent */
    const char *note;
};

static const struct valid_row valid_rows[] = {
    /* CONNECT */
    {LIT("0"), SIO_PACKET_CONNECT, 0, "/", -1, NULL, "connect to / (40)"},
    {LIT("0{\"token\":\"123\"}"), SIO_PACKET_CONNECT, 0, "/", -1, "{\"token\":\"123\"}", "connect with auth"},
    {LIT("0/admin,{\"token\":\"123\"}"), SIO_PACKET_CONNECT, 0, "/admin", -1, "{\"token\":\"123\"}",
     "connect to /admin with auth"},
    {LIT("0/random"), SIO_PACKET_CONNECT, 0, "/random", -1, NULL, "namespace to the end: no comma, no payload"},
    {LIT("0/admin,"), SIO_PACKET_CONNECT, 0, "/admin", -1, NULL, "namespace and comma, no payload"},
    {LIT("0/nope{}"), SIO_PACKET_CONNECT, 0, "/nope{}", -1, NULL,
     "without a comma the namespace swallows the rest (Node)"},
    {LIT("0{}"), SIO_PACKET_CONNECT, 0, "/", -1, "{}", "empty auth object"},
    {LIT("0/,{}"), SIO_PACKET_CONNECT, 0, "/", -1, "{}", "explicit \"/,\" namespace"},
    {LIT("0{\"sid\":\"Y3iJiluhlo4zNsveAAAA\"}"), SIO_PACKET_CONNECT, 0, "/", -1,
     "{\"sid\":\"Y3iJiluhlo4zNsveAAAA\"}", "the server's accept (same grammar)"},
    /* DISCONNECT */
    {LIT("1"), SIO_PACKET_DISCONNECT, 0, "/", -1, NULL, "disconnect (41)"},
    {LIT("1/admin,"), SIO_PACKET_DISCONNECT, 0, "/admin", -1, NULL, "disconnect /admin (41/admin,)"},
    {LIT("1/admin"), SIO_PACKET_DISCONNECT, 0, "/admin", -1, NULL, "disconnect /admin without the comma"},
    /* EVENT */
    {LIT("2[\"foo\"]"), SIO_PACKET_EVENT, 0, "/", -1, "[\"foo\"]", "event (42[\"foo\"])"},
    {LIT("2/admin,[\"bar\",1,{\"a\":true}]"), SIO_PACKET_EVENT, 0, "/admin", -1, "[\"bar\",1,{\"a\":true}]",
     "event in /admin with arguments"},
    {LIT("212[\"foo\"]"), SIO_PACKET_EVENT, 0, "/", 12, "[\"foo\"]", "event asking for ack 12"},
    {LIT("2/admin,13[\"foo\"]"), SIO_PACKET_EVENT, 0, "/admin", 13, "[\"foo\"]", "event in /admin, ack 13"},
    {LIT("20[\"q\",1]"), SIO_PACKET_EVENT, 0, "/", 0, "[\"q\",1]", "ack id 0 (the first server id)"},
    {LIT("2007[\"q\"]"), SIO_PACKET_EVENT, 0, "/", 7, "[\"q\"]", "leading zeros in the ack id (Number(\"007\"))"},
    {LIT("2999999999999999[\"x\"]"), SIO_PACKET_EVENT, 0, "/", 999999999999999LL, "[\"x\"]",
     "ack id of 15 digits (the limit)"},
    {LIT("2[1,2]"), SIO_PACKET_EVENT, 0, "/", -1, "[1,2]", "event named with a number"},
    {LIT("2[-1.5e3,\"x\"]"), SIO_PACKET_EVENT, 0, "/", -1, "[-1.5e3,\"x\"]", "negative exponent number as name"},
    {LIT("2[\"error\"]"), SIO_PACKET_EVENT, 0, "/", -1, "[\"error\"]", "\"error\" is an ordinary name (bad-inputs 65)"},
    {LIT("2[\"message\",\"hi\"]"), SIO_PACKET_EVENT, 0, "/", -1, "[\"message\",\"hi\"]", "socket.send()"},
    {LIT("2[\"Connect\"]"), SIO_PACKET_EVENT, 0, "/", -1, "[\"Connect\"]", "reserved names are case-sensitive"},
    {LIT("2[\"connectx\"]"), SIO_PACKET_EVENT, 0, "/", -1, "[\"connectx\"]", "longer than a reserved name"},
    {LIT("2[\"connect\\u0000\"]"), SIO_PACKET_EVENT, 0, "/", -1, "[\"connect\\u0000\"]",
     "reserved name plus an escaped NUL is another name"},
    {LIT("2[\"\"]"), SIO_PACKET_EVENT, 0, "/", -1, "[\"\"]", "empty event name"},
    {LIT("2[\"a-very-long-event-name-that-does-not-fit-32-bytes\"]"), SIO_PACKET_EVENT, 0, "/", -1,
     "[\"a-very-long-event-name-that-does-not-fit-32-bytes\"]", "long name (longer than any reserved one)"},
    {LIT("2[\"x\",{\"_placeholder\":\"true\",\"num\":\"splice\"}]"), SIO_PACKET_EVENT, 0, "/", -1,
     "[\"x\",{\"_placeholder\":\"true\",\"num\":\"splice\"}]", "_placeholder as a string is plain data"},
    {LIT("2[\"x\"," PH(99) "]"), SIO_PACKET_EVENT, 0, "/", -1, "[\"x\"," PH(99) "]",
     "placeholders in a type-2 event are plain data"},
    {LIT("2[ \"foo\" , 1 ]"), SIO_PACKET_EVENT, 0, "/", -1, "[ \"foo\" , 1 ]", "whitespace inside the JSON"},
    {LIT("2[\"foo\"] \t\r\n"), SIO_PACKET_EVENT, 0, "/", -1, "[\"foo\"]", "trailing whitespace trimmed"},
    {LIT("212 [\"foo\"]\n"), SIO_PACKET_EVENT, 0, "/", 12, "[\"foo\"]", "whitespace around the JSON after an ack id"},
    {LIT("2/admin,\n[\"foo\"] "), SIO_PACKET_EVENT, 0, "/admin", -1, "[\"foo\"]",
     "whitespace around the JSON after a namespace"},
    {LIT("2 [\"foo\"]"), SIO_PACKET_EVENT, 0, "/", -1, "[\"foo\"]",
     "leading whitespace is not an ack id (Node's Number(\" \") would read id 0)"},
    {LIT("2[\"caf\xc3\xa9\",\"\\u00e9\\ud83d\\ude00\",\"\xf0\x9f\x98\x80\"]"), SIO_PACKET_EVENT, 0, "/", -1,
     "[\"caf\xc3\xa9\",\"\\u00e9\\ud83d\\ude00\",\"\xf0\x9f\x98\x80\"]", "unicode: raw UTF-8 and escapes"},
    {LIT("2/caf\xc3\xa9,[\"\xe6\x97\xa5\xe6\x9c\xac\"]"), SIO_PACKET_EVENT, 0, "/caf\xc3\xa9", -1,
     "[\"\xe6\x97\xa5\xe6\x9c\xac\"]", "unicode namespace and event name"},
    {LIT("2[\"\\ud800\"]"), SIO_PACKET_EVENT, 0, "/", -1, "[\"\\ud800\"]", "lone surrogate name (bad-inputs 68)"},
    {LIT("2[\"x\",\"\\u0000\",12345678901234567890123456789012345678901234567890]"), SIO_PACKET_EVENT, 0, "/",
     -1, "[\"x\",\"\\u0000\",12345678901234567890123456789012345678901234567890]", "\\u0000 and a long number"},
    {LIT("2[\"x\",{\"a\":1,\"a\":2}]"), SIO_PACKET_EVENT, 0, "/", -1, "[\"x\",{\"a\":1,\"a\":2}]", "duplicate keys"},
    /* ACK */
    {LIT("312[\"bar\"]"), SIO_PACKET_ACK, 0, "/", 12, "[\"bar\"]", "ack 12"},
    {LIT("312[]"), SIO_PACKET_ACK, 0, "/", 12, "[]", "ack 12, no arguments"},
    {LIT("3/admin,13[\"bar\"]"), SIO_PACKET_ACK, 0, "/admin", 13, "[\"bar\"]", "ack 13 in /admin"},
    {LIT("3[]"), SIO_PACKET_ACK, 0, "/", -1, "[]", "ack with no id decodes (the session ignores it)"},
    {LIT("331[1,\"2\"]"), SIO_PACKET_ACK, 0, "/", 31, "[1,\"2\"]", "ack with mixed arguments"},
    {LIT("3999[null]"), SIO_PACKET_ACK, 0, "/", 999, "[null]", "ack for an unknown id decodes (ignored later)"},
    {LIT("312[\"connect\"]"), SIO_PACKET_ACK, 0, "/", 12, "[\"connect\"]", "reserved names matter only for events"},
    /* CONNECT_ERROR */
    {LIT("4{\"message\":\"x\"}"), SIO_PACKET_CONNECT_ERROR, 0, "/", -1, "{\"message\":\"x\"}",
     "connect_error object"},
    {LIT("4\"x\""), SIO_PACKET_CONNECT_ERROR, 0, "/", -1, "\"x\"", "connect_error string"},
    {LIT("4/admin,{\"message\":\"not authorized\",\"data\":{\"content\":\"x\"}}"), SIO_PACKET_CONNECT_ERROR, 0,
     "/admin", -1, "{\"message\":\"not authorized\",\"data\":{\"content\":\"x\"}}", "connect_error with data"},
    {LIT("4/random,{\"message\":\"Invalid namespace\"}"), SIO_PACKET_CONNECT_ERROR, 0, "/random", -1,
     "{\"message\":\"Invalid namespace\"}", "unknown namespace reply"},
    /* BINARY_EVENT / BINARY_ACK */
    {LIT("51-[\"baz\"," PH(0) "]"), SIO_PACKET_BINARY_EVENT, 1, "/", -1, "[\"baz\"," PH(0) "]",
     "binary event, 1 attachment"},
    {LIT("52-/admin,[\"baz\"," PH(0) "," PH(1) "]"), SIO_PACKET_BINARY_EVENT, 2, "/admin", -1,
     "[\"baz\"," PH(0) "," PH(1) "]", "binary event, 2 attachments, /admin"},
    {LIT("61-15[\"bar\"," PH(0) "]"), SIO_PACKET_BINARY_ACK, 1, "/", 15, "[\"bar\"," PH(0) "]", "binary ack 15"},
    {LIT("62-/admin,15[" PH(1) "," PH(0) "]"), SIO_PACKET_BINARY_ACK, 2, "/admin", 15, "[" PH(1) "," PH(0) "]",
     "binary ack in /admin, placeholders out of order"},
    {LIT("61-[]"), SIO_PACKET_BINARY_ACK, 1, "/", -1, "[]", "binary ack with an empty array"},
    {LIT("50-[\"x\"]"), SIO_PACKET_BINARY_EVENT, 0, "/", -1, "[\"x\"]", "0 attachments (delivered at once)"},
    {LIT("50-[\"x\"," PH(0) "]"), SIO_PACKET_BINARY_EVENT, 0, "/", -1, "[\"x\"," PH(0) "]",
     "0 attachments: nothing is reconstructed, so a placeholder stays data (B7, as Node)"},
    {LIT("51-[\"x\"]"), SIO_PACKET_BINARY_EVENT, 1, "/", -1, "[\"x\"]",
     "an attachment without a placeholder decodes (gathering is sio.c's job)"},
    {LIT("51-[7," PH(0) "]"), SIO_PACKET_BINARY_EVENT, 1, "/", -1, "[7," PH(0) "]", "binary event with a number name"},
    {LIT("52-[\"x\",{\"a\":[{\"b\":" PH(1) "}]},[[[" PH(0) "]]]]"), SIO_PACKET_BINARY_EVENT, 2, "/", -1,
     "[\"x\",{\"a\":[{\"b\":" PH(1) "}]},[[[" PH(0) "]]]]", "nested placeholders at depth"},
    {LIT("51-[\"x\",{\"num\":0,\"_placeholder\":true}]"), SIO_PACKET_BINARY_EVENT, 1, "/", -1,
     "[\"x\",{\"num\":0,\"_placeholder\":true}]", "placeholder keys in the other order"},
    {LIT("51-[\"x\",{\"_placeholder\":true,\"num\":0,\"extra\":[1]}]"), SIO_PACKET_BINARY_EVENT, 1, "/", -1,
     "[\"x\",{\"_placeholder\":true,\"num\":0,\"extra\":[1]}]", "placeholder with an extra key"},
    {LIT("51-[\"x\",{\"\\u005fplaceholder\":true,\"num\":0}]"), SIO_PACKET_BINARY_EVENT, 1, "/", -1,
     "[\"x\",{\"\\u005fplaceholder\":true,\"num\":0}]", "escaped placeholder key (keys are compared decoded)"},
    {LIT("51-[\"x\",{\"_placeholder\":\"true\",\"num\":\"splice\"}]"), SIO_PACKET_BINARY_EVENT, 1, "/", -1,
     "[\"x\",{\"_placeholder\":\"true\",\"num\":\"splice\"}]",
     "_placeholder as the string \"true\" is plain data (CVE-2022-2421)"},
    {LIT("51-[\"x\",{\"_placeholder\":1,\"num\":-1}]"), SIO_PACKET_BINARY_EVENT, 1, "/", -1,
     "[\"x\",{\"_placeholder\":1,\"num\":-1}]", "_placeholder 1 (not the boolean true) is plain data"},
    {LIT("51-[\"x\",{\"_placeholder\":true,\"_placeholder\":false,\"num\":5}]"), SIO_PACKET_BINARY_EVENT, 1, "/",
     -1, "[\"x\",{\"_placeholder\":true,\"_placeholder\":false,\"num\":5}]", "duplicate key: the last (false) wins"},
    {LIT("52-[\"x\",{\"_placeholder\":true,\"num\":1e0}]"), SIO_PACKET_BINARY_EVENT, 2, "/", -1,
     "[\"x\",{\"_placeholder\":true,\"num\":1e0}]", "num 1e0 is the integer 1"},
    {LIT("51-[\"x\",{\"_placeholder\":true,\"num\":-0}]"), SIO_PACKET_BINARY_EVENT, 1, "/", -1,
     "[\"x\",{\"_placeholder\":true,\"num\":-0}]", "num -0 is 0 (-0 >= 0 in JavaScript)"},
    {LIT("510-[\"x\"," PH(9) "]"), SIO_PACKET_BINARY_EVENT, 10, "/", -1, "[\"x\"," PH(9) "]",
     "10 attachments (the limit), num 9"},
    {LIT("505-[\"x\"," PH(4) "]"), SIO_PACKET_BINARY_EVENT, 5, "/", -1, "[\"x\"," PH(4) "]",
     "attachment count with a leading zero"},
};

static void test_decode_valid(void)
{
    for (size_t i = 0; i < sizeof valid_rows / sizeof valid_rows[0]; i++) {
        const struct valid_row *t = &valid_rows[i];
        struct sio_packet pk;
        const char *g;
        int r = decode(t->in, t->len, &pk, &g);
        CHECK(r == 0, t->note);
        if (r != 0) {
            fprintf(stderr, "  row %zu: %.*s\n", i, (int)t->len, t->in);
            continue;
        }
        CHECK(pk.type == t->type, t->note);
        CHECK(pk.nbins == t->nbins, t->note);
        CHECK(slice_is(pk.nsp, t->nsp), t->note);
        CHECK(pk.ack_id == t->ack, t->note);
        CHECK(t->data ? slice_is(pk.data, t->data) : pk.data.len == 0, t->note);
        CHECK(slices_ok(&pk, g, t->len), t->note);
        if (sio_json_typeof(pk.data) == SIO_JSON_ARRAY) { /* count and first, as navigation finds them */
            sio_str f = sio_json_at(pk.data, 0);
            CHECK(pk.count == sio_json_count(pk.data) && pk.first.p == f.p && pk.first.len == f.len, t->note);
        } else {
            CHECK(pk.count == 0 && pk.first.p == NULL, t->note);
        }
        feed_prefixes(t->in, t->len, t->note);
        round_trip(t->type, t->nbins, t->nsp, t->ack, t->data, t->note);
    }
}

/* ====== Socket.IO: invalid packets (B10; bad-inputs 33, 61-68) ====== */

struct invalid_row {
    const char *in;
    size_t len;
    const char *note;
};

static const struct invalid_row invalid_rows[] = {
    /* type */
    {LIT(""), "empty: Engine.IO message with no data (bad-inputs 33)"},
    {LIT("7"), "type 7 does not exist"},
    {LIT("9"), "type 9 (49, bad-inputs 64)"},
    {LIT("x"), "type x"},
    {LIT("abc"), "4abc (B10)"},
    {LIT("/"), "a namespace with no type"},
    {LIT(" 2[\"x\"]"), "leading space before the type"},
    {LIT("\0" "2[\"x\"]"), "NUL before the type"},
    {LIT("-1"), "a sign before the type"},
    /* CONNECT */
    {LIT("0\"x\""), "connect with a string (40\"x\", bad-inputs 63)"},
    {LIT("0[1]"), "connect with an array (40[1])"},
    {LIT("0null"), "connect with null"},
    {LIT("0/admin,\"x\""), "connect to /admin with a string"},
    {LIT("0 "), "connect with a whitespace-only payload"},
    {LIT("0{"), "connect with broken JSON"},
    {LIT("0{}x"), "connect with trailing garbage"},
    {LIT("0\0"), "connect with a NUL payload"},
    /* DISCONNECT */
    {LIT("1\"x\""), "disconnect with a payload (41\"x\", bad-inputs 63)"},
    {LIT("1{}"), "disconnect with an object"},
    {LIT("1/admin,[]"), "disconnect /admin with a payload"},
    {LIT("1 "), "disconnect with whitespace"},
    /* EVENT */
    {LIT("2"), "event with no payload (B10: closing is the spec's answer)"},
    {LIT("2/admin,"), "event in /admin with no payload"},
    {LIT("212"), "event with an ack id and no payload"},
    {LIT("2[]"), "empty event (42[], bad-inputs 64)"},
    {LIT("2{}"), "non-array event (42{})"},
    {LIT("2\"x\""), "string event"},
    {LIT("21"), "an ack id, no payload"},
    {LIT("2[\"x\""), "bad JSON (42[\"x\", bad-inputs 64)"},
    {LIT("2[\"x\"]garbage"), "trailing garbage"},
    {LIT("2[\"x\"] x"), "trailing garbage after whitespace"},
    {LIT("2[\"x\"]]"), "an extra ']'"},
    {LIT("2[\"x\"][\"y\"]"), "two JSON values"},
    {LIT("2[\"x\",]"), "trailing comma"},
    {LIT("2['x']"), "single quotes"},
    {LIT("2[01]"), "leading zero in a number"},
    {LIT("2[NaN]"), "NaN"},
    {LIT("2[\"x\"]\0"), "NUL after the JSON"},
    {LIT("2[\"a\0b\"]"), "raw NUL inside a string"},
    {LIT("2[\"a\x1e" "b\"]"), "raw record separator inside a string"},
    {LIT("2abc[\"x\"]"), "bad ack id (42abc[...], B10)"},
    {LIT("2/admin[\"x\"]"), "no comma: the namespace swallows the JSON, leaving no payload"},
    {LIT("2[null]"), "null name (CVE-2023-32695, bad-inputs 65)"},
    {LIT("2[true,\"x\"]"), "boolean name"},
    {LIT("2[false]"), "false name"},
    {LIT("2[{\"toString\":\"foo\"}]"), "object name (CVE-2023-32695)"},
    {LIT("2[[\"x\"]]"), "array name"},
    {LIT("2[\"\\u0063onnect\"]"), "reserved name written with an escape"},
    {LIT("2[\"connect\\u005ferror\"]"), "connect_error written with an escape"},
    {LIT("2[\"\\u0064isconnect\",1]"), "disconnect written with an escape"},
    {LIT("2/admin,7[\"newListener\",{}]"), "reserved name in /admin with an ack id"},
    {LIT("21234567890123456[\"x\"]"), "ack id of 16 digits"},
    {LIT("2123456789012345678901[\"x\"]"), "ack id of 22 digits (would overflow int64)"},
    {LIT("29223372036854775808[\"x\"]"), "ack id 2^63"},
    /* ACK */
    {LIT("3"), "ack with no array"},
    {LIT("312"), "ack 12 with no array"},
    {LIT("3{}"), "ack with an object"},
    {LIT("3\"x\""), "ack with a string"},
    {LIT("31"), "ack 1 with no array"},
    {LIT("3[1"), "ack with bad JSON"},
    {LIT("31234567890123456[]"), "ack id of 16 digits"},
    /* CONNECT_ERROR */
    {LIT("4"), "connect_error with nothing"},
    {LIT("4[1]"), "connect_error with an array"},
    {LIT("41"), "connect_error: ack id 1, no payload"},
    {LIT("4null"), "connect_error with null"},
    /* BINARY_EVENT / BINARY_ACK: attachment counts (bad-inputs 67) */
    {LIT("5"), "binary event, nothing else"},
    {LIT("51-"), "binary event, no payload"},
    {LIT("6"), "binary ack, nothing else"},
    {LIT("61-"), "binary ack, no payload"},
    {LIT("511-[\"x\"," PH(0) "]"), "11 attachments (CVE-2026-33151)"},
    {LIT("599-[\"x\"]"), "99 attachments"},
    {LIT("5100-[\"x\"]"), "100 attachments"},
    {LIT("59999999999999999999-[\"x\"]"), "a count that would overflow"},
    {LIT("5x-[\"x\"]"), "non-numeric count"},
    {LIT("5-[\"x\"]"), "empty count"},
    {LIT("5-1-[\"x\"]"), "negative count"},
    {LIT("51[\"x\"," PH(0) "]"), "count without '-'"},
    {LIT("51/admin,[\"x\"]"), "count then namespace without '-'"},
    {LIT("51"), "count, then the end"},
    {LIT("5 1-[\"x\"]"), "space before the count"},
    {LIT("51 -[\"x\"]"), "space before '-'"},
    {LIT("611-[" PH(0) "]"), "binary ack with 11 attachments"},
    /* BINARY payloads and placeholders (B7, CVE-2022-2421) */
    {LIT("51-[]"), "binary event with an empty array"},
    {LIT("51-{}"), "binary event with an object"},
    {LIT("61-{}"), "binary ack with an object"},
    {LIT("51-[\"connect\"," PH(0) "]"), "binary event with a reserved name"},
    {LIT("51-[null," PH(0) "]"), "binary event with a null name"},
    {LIT("51-[\"x\",{\"_placeholder\":true,\"num\":\"splice\"}]"), "placeholder num \"splice\""},
    {LIT("51-[\"x\",{\"_placeholder\":true,\"num\":\"0\"}]"), "placeholder num \"0\" (a string)"},
    {LIT("51-[\"x\"," PH(1) "]"), "num 1 with 1 attachment"},
    {LIT("51-[\"x\"," PH(-1) "]"), "num -1"},
    {LIT("52-[\"x\"," PH(0.5) "]"), "num 0.5"},
    {LIT("51-[\"x\"," PH(1e300) "]"), "num 1e300"},
    {LIT("51-[\"x\"," PH(-1e300) "]"), "num -1e300"},
    {LIT("51-[\"x\"," PH(4294967296) "]"), "num 2^32 (would wrap an int)"},
    {LIT("51-[\"x\"," PH(null) "]"), "num null"},
    {LIT("51-[\"x\"," PH([0]) "]"), "num [0]"},
    {LIT("51-[\"x\",{\"_placeholder\":true}]"), "num missing"},
    {LIT("51-[\"x\",{\"_placeholder\":false,\"_placeholder\":true,\"num\":5}]"),
     "duplicate key: the last (true) wins, num 5 out of range"},
    {LIT("52-[\"x\"," PH(0) ",{\"a\":[[{\"b\":" PH(2) "}]]}]"), "bad placeholder nested deep"},
    {LIT("52-[\"x\",{\"_placeholder\":true,\"num\":1," PH(7) ":1}]"), "an object as a key (bad JSON)"},
    {LIT("61-15[" PH(1) "]"), "binary ack, num out of range"},
    {LIT("62-/admin,15[" PH(0) ",{\"k\":" PH(2) "}]"), "binary ack in /admin, nested num out of range"},
};

static void test_decode_invalid(void)
{
    for (size_t i = 0; i < sizeof invalid_rows / sizeof invalid_rows[0]; i++) {
        const struct invalid_row *t = &invalid_rows[i];
        struct sio_packet pk;
        int r = decode(t->in, t->len, &pk, NULL);
        CHECK(r == -1, t->note);
        if (r != -1) fprintf(stderr, "  row %zu: %.*s\n", i, (int)t->len, t->in);
        feed_prefixes(t->in, t->len, t->note);
    }
}

/* Every reserved name is refused as an event name, in every position a client could use. */
static void test_decode_reserved(void)
{
    static const char *const names[] = {"connect",       "connect_error", "disconnect",
                                        "disconnecting", "newListener",   "removeListener"};
    static const char *const bad_fmt[] = {"2[\"%s\"]", "2[\"%s\",1,{\"a\":2}]", "2/admin,[\"%s\"]",
                                          "25[\"%s\"]", "51-[\"%s\"," PH(0) "]", "52-/x,9[\"%s\"," PH(1) "]"};
    static const char *const ok_fmt[] = {"2[\"%sx\"]", "2[\"x%s\"]", "2[\"x\",\"%s\"]", "3[\"%s\"]",
                                         "312[\"%s\"]", "4\"%s\"", "0{\"%s\":1}"};
    char in[128];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        struct sio_packet pk;
        for (size_t f = 0; f < sizeof bad_fmt / sizeof bad_fmt[0]; f++) {
            int n = snprintf(in, sizeof in, bad_fmt[f], names[i]);
            CHECK(decode(in, (size_t)n, &pk, NULL) == -1, "reserved event name (bad-inputs 65)");
        }
        for (size_t f = 0; f < sizeof ok_fmt / sizeof ok_fmt[0]; f++) {
            int n = snprintf(in, sizeof in, ok_fmt[f], names[i]);
            CHECK(decode(in, (size_t)n, &pk, NULL) == 0, "reserved name where it is not an event name");
        }
    }
}

/* ====== Socket.IO: limits at N-1, N and N+1 ====== */

/* Namespaces of SIO_PACKET_MAX_NSP - 1, _MAX_NSP and _MAX_NSP + 1 bytes, with and without ','. */
static void test_limit_nsp(void)
{
    char in[SIO_PACKET_MAX_NSP + 64];
    for (int n = SIO_PACKET_MAX_NSP - 1; n <= SIO_PACKET_MAX_NSP + 1; n++) {
        int want = n <= SIO_PACKET_MAX_NSP ? 0 : -1;
        struct sio_packet pk;
        const char *g;
        /* "2/aaa...,[\"x\"]" */
        in[0] = '2';
        in[1] = '/';
        memset(in + 2, 'a', (size_t)n - 1);
        memcpy(in + 1 + n, ",7[\"x\"]", 7);
        size_t len = 1 + (size_t)n + 7;
        int r = decode(in, len, &pk, &g);
        CHECK(r == want, "namespace length (event)");
        if (r == 0) {
            CHECK(pk.nsp.p == g + 1 && pk.nsp.len == (size_t)n, "namespace slice");
            CHECK(pk.ack_id == 7 && slice_is(pk.data, "[\"x\"]"), "fields after a long namespace");
        }
        /* "0/aaa..." (CONNECT, no comma: the namespace runs to the end) */
        in[0] = '0';
        r = decode(in, 1 + (size_t)n, &pk, &g);
        CHECK(r == want, "namespace length (connect, no comma)");
        if (r == 0) CHECK(pk.nsp.len == (size_t)n && pk.data.len == 0, "connect namespace to the end");
    }
}

/* Ack ids of SIO_PACKET_MAX_ACK_DIGITS - 1, _MAX_ACK_DIGITS and _MAX_ACK_DIGITS + 1 digits. */
static void test_limit_ack(void)
{
    char in[64];
    for (int d = SIO_PACKET_MAX_ACK_DIGITS - 1; d <= SIO_PACKET_MAX_ACK_DIGITS + 1; d++) {
        int want = d <= SIO_PACKET_MAX_ACK_DIGITS ? 0 : -1;
        int64_t id = 0;
        for (int k = 0; k < d; k++) id = id * 10 + 9;
        static const char *const fmt[] = {"2%s[\"x\"]", "3%s[]", "2/admin,%s[\"x\"]", "61-%s[" PH(0) "]"};
        char digits[24];
        memset(digits, '9', (size_t)d);
        digits[d] = '\0';
        for (size_t f = 0; f < sizeof fmt / sizeof fmt[0]; f++) {
            struct sio_packet pk;
            int n = snprintf(in, sizeof in, fmt[f], digits);
            int r = decode(in, (size_t)n, &pk, NULL);
            CHECK(r == want, "ack id digits");
            if (r == 0) CHECK(pk.ack_id == id, "ack id value");
        }
    }
}

/* Attachment counts 0..SIO_PACKET_MAX_ATTACHMENTS + 1, with num count-1 (ok) and count (bad). */
static void test_limit_attachments(void)
{
    char in[128];
    for (int c = 0; c <= SIO_PACKET_MAX_ATTACHMENTS + 1; c++) {
        int ok = c <= SIO_PACKET_MAX_ATTACHMENTS;
        struct sio_packet pk;
        int n = snprintf(in, sizeof in, "5%d-[\"x\"]", c);
        int r = decode(in, (size_t)n, &pk, NULL);
        CHECK(r == (ok ? 0 : -1), "attachment count");
        if (r == 0) CHECK(pk.nbins == c && pk.type == SIO_PACKET_BINARY_EVENT, "nbins");
        n = snprintf(in, sizeof in, "6%d-/admin,3[]", c);
        r = decode(in, (size_t)n, &pk, NULL);
        CHECK(r == (ok ? 0 : -1), "attachment count (binary ack)");
        if (r == 0) CHECK(pk.nbins == c && pk.ack_id == 3 && slice_is(pk.nsp, "/admin"), "binary ack fields");
        if (c == 0) continue;
        n = snprintf(in, sizeof in, "5%d-[\"x\",{\"_placeholder\":true,\"num\":%d}]", c, c - 1);
        CHECK(decode(in, (size_t)n, &pk, NULL) == (ok ? 0 : -1), "num = count - 1");
        n = snprintf(in, sizeof in, "5%d-[\"x\",{\"_placeholder\":true,\"num\":%d}]", c, c);
        CHECK(decode(in, (size_t)n, &pk, NULL) == -1, "num = count");
    }
}

/* JSON nested SIO_JSON_MAX_DEPTH - 1, _MAX_DEPTH (valid) and _MAX_DEPTH + 1 (invalid) deep, the
 * packet's own array counted as one level. */
static void test_limit_depth(void)
{
    const int N = SIO_JSON_MAX_DEPTH;
    for (int d = N - 1; d <= N + 1; d++) {
        int want = d <= N ? 0 : -1;
        struct sio_packet pk;
        /* 2["x",[[...]]]: the event array plus d - 1 arrays */
        char *ev = nest("2[\"x\",", d - 1, "[", "", "]", "]");
        /* 3[[[...]]]: d arrays */
        char *ack = nest("3", d, "[", "", "]", "");
        /* 0{"a":{"a":...1}}: d objects */
        char *obj = nest("0", d, "{\"a\":", "1", "}", "");
        /* 51-["x",[[...{placeholder}...]]]: the array, d - 2 arrays, the placeholder object */
        char *ph = nest("51-[\"x\",", d - 2, "[", PH(0), "]", "]");
        char *ph_bad = nest("51-[\"x\",", d - 2, "[", PH(1), "]", "]");
        CHECK(decode(ev, strlen(ev), &pk, NULL) == want, "depth (event)");
        if (want == 0) CHECK(pk.data.len == strlen(ev) - 1, "deep event data");
        CHECK(decode(ack, strlen(ack), &pk, NULL) == want, "depth (ack)");
        CHECK(decode(obj, strlen(obj), &pk, NULL) == want, "depth (connect object)");
        CHECK(decode(ph, strlen(ph), &pk, NULL) == want, "depth (placeholder at the bottom)");
        CHECK(decode(ph_bad, strlen(ph_bad), &pk, NULL) == -1, "bad placeholder at the bottom");
        free(ev);
        free(ack);
        free(obj);
        free(ph);
        free(ph_bad);
    }
}

/* bad-inputs 68: 100000 nested '[' (or '{"a":'), closed or not, must fail without a stack overflow. */
static void test_bomb(void)
{
    const int n = 100000;
    struct sio_packet pk;
    char *bombs[] = {
        nest("2[\"x\",", n, "[", "", "", ""),
        nest("2[\"x\",", n, "[", "", "]", "]"),
        nest("2", n, "[", "", "]", ""),
        nest("3", n, "[", "", "", ""),
        nest("0", n, "{\"a\":", "1", "}", ""),
        nest("51-[\"x\",", n, "[", PH(0), "]", "]"),
        nest("62-/admin,15[", n, "{\"a\":", PH(0), "}", "]"),
    };
    for (size_t i = 0; i < sizeof bombs / sizeof bombs[0]; i++) {
        CHECK(decode(bombs[i], strlen(bombs[i]), &pk, NULL) == -1, "JSON nesting bomb");
        free(bombs[i]);
    }
}

/* ====== sio_packet_reserved ====== */

struct reserved_row {
    const char *name;
    size_t len;
    int ret;
    const char *note;
};

static const struct reserved_row reserved_rows[] = {
    {LIT("connect"), 1, "connect"},
    {LIT("connect_error"), 1, "connect_error"},
    {LIT("disconnect"), 1, "disconnect"},
    {LIT("disconnecting"), 1, "disconnecting"},
    {LIT("newListener"), 1, "newListener"},
    {LIT("removeListener"), 1, "removeListener"},
    {"disconnecting", 10, 1, "the length decides, not a NUL: \"disconnect\""},
    {"connectx", 7, 1, "\"connect\" followed by other bytes"},
    {LIT("Connect"), 0, "case matters"},
    {LIT("CONNECT"), 0, "upper case"},
    {LIT("connectx"), 0, "one byte longer"},
    {LIT("connec"), 0, "one byte shorter"},
    {LIT("connect_Error"), 0, "case inside"},
    {LIT("connect "), 0, "trailing space"},
    {LIT(" connect"), 0, "leading space"},
    {LIT("connect\0"), 0, "trailing NUL"},
    {LIT("newlistener"), 0, "newlistener (lower case)"},
    {LIT("removelistener"), 0, "removelistener (lower case)"},
    {LIT("disconnected"), 0, "disconnected"},
    {LIT(""), 0, "empty name"},
    {LIT("error"), 0, "error is ordinary (bad-inputs 65)"},
    {LIT("message"), 0, "message is ordinary"},
    {LIT("connection"), 0, "connection (a server-side event, not a wire name)"},
};

static void test_reserved(void)
{
    for (size_t i = 0; i < sizeof reserved_rows / sizeof reserved_rows[0]; i++) {
        const struct reserved_row *t = &reserved_rows[i];
        CHECK(sio_packet_reserved(guarded(t->name, t->len), t->len) == t->ret, t->note);
    }
}

/* ====== sio_packet_header ====== */

struct header_row {
    int type;
    int nbins;
    const char *nsp;
    int64_t ack;
    const char *expect; /* the header */
    const char *json;   /* a payload that fits the type, for the round trip (NULL: none) */
    const char *note;
};

static const struct header_row header_rows[] = {
    {SIO_PACKET_EVENT, 0, "/", -1, "2", "[\"foo\"]", "event in /"},
    {SIO_PACKET_EVENT, 0, "/admin", 13, "2/admin,13", "[\"foo\"]", "event in /admin with ack 13"},
    {SIO_PACKET_EVENT, 0, "/", 0, "20", "[\"q\",1]", "ack id 0 is written"},
    {SIO_PACKET_EVENT, 3, "/", -1, "2", "[1]", "nbins ignored for a non-binary type"},
    {SIO_PACKET_EVENT, 0, "", -1, "2", "[\"x\"]", "empty namespace is /"},
    {SIO_PACKET_BINARY_EVENT, 1, "/", -1, "51-", "[\"baz\"," PH(0) "]", "binary event, 1 attachment"},
    {SIO_PACKET_BINARY_EVENT, 0, "/", -1, "50-", "[\"x\"]", "binary event, 0 attachments"},
    {SIO_PACKET_BINARY_EVENT, 10, "/x", 7, "510-/x,7", "[\"x\"," PH(9) "]", "10 attachments"},
    {SIO_PACKET_BINARY_ACK, 2, "/admin", 15, "62-/admin,15", "[" PH(0) "," PH(1) "]", "binary ack 15 in /admin"},
    {SIO_PACKET_DISCONNECT, 0, "/admin", -1, "1/admin,", NULL, "disconnect /admin (41/admin,)"},
    {SIO_PACKET_DISCONNECT, 0, "/", -1, "1", NULL, "disconnect /"},
    {SIO_PACKET_CONNECT, 0, "/", -1, "0", NULL, "connect /"},
    {SIO_PACKET_CONNECT, 0, "/", -1, "0", "{\"sid\":\"Y3iJiluhlo4zNsveAAAA\"}", "connect reply"},
    {SIO_PACKET_CONNECT, 0, "/admin", -1, "0/admin,", "{\"sid\":\"oSO0OpakMV_3jnilAAAA\"}", "connect reply in /admin"},
    {SIO_PACKET_CONNECT_ERROR, 0, "/random", -1, "4/random,", "{\"message\":\"Invalid namespace\"}",
     "unknown namespace"},
    {SIO_PACKET_CONNECT_ERROR, 0, "/", -1, "4", "{\"message\":\"not authorized\"}", "refused by middleware"},
    {SIO_PACKET_ACK, 0, "/", 12, "312", "[]", "ack 12, empty"},
    {SIO_PACKET_ACK, 0, "/admin", 13, "3/admin,13", "[\"bar\"]", "ack 13 in /admin"},
    {SIO_PACKET_ACK, 0, "/", 999999999999999LL, "3999999999999999", "[1]", "ack id of 15 digits"},
};

static void test_header(void)
{
    for (size_t i = 0; i < sizeof header_rows / sizeof header_rows[0]; i++) {
        const struct header_row *t = &header_rows[i];
        char *out = malloc(SIO_PACKET_HEADER_MAX); /* exactly the documented size: ASan checks it */
        if (!out) abort();
        size_t n = sio_packet_header(out, t->type, t->nbins, t->nsp, strlen(t->nsp), t->ack);
        CHECK(n == strlen(t->expect) && memcmp(out, t->expect, n) == 0, t->note);
        if (n != strlen(t->expect)) fprintf(stderr, "  got %.*s\n", (int)n, out);
        free(out);
        round_trip(t->type, t->nbins, t->nsp, t->ack, t->json, t->note);
    }
}

/* The longest header (2-digit count, a namespace capped at SIO_PACKET_MAX_NSP, a 15-digit id) fits
 * SIO_PACKET_HEADER_MAX; arguments beyond what that size reserves are capped, never overflow. */
static void test_header_limits(void)
{
    char nsp[SIO_PACKET_MAX_NSP + 72];
    char want[SIO_PACKET_HEADER_MAX + 64];
    char *out = malloc(SIO_PACKET_HEADER_MAX);
    size_t n, w;
    if (!out) abort();
    nsp[0] = '/';
    for (size_t k = 1; k < sizeof nsp; k++) nsp[k] = (char)('a' + k % 26);

    /* namespace of MAX_NSP - 1, MAX_NSP and MAX_NSP + 1 bytes (the last is capped) */
    for (size_t len = SIO_PACKET_MAX_NSP - 1; len <= SIO_PACKET_MAX_NSP + 1; len++) {
        size_t kept = len < SIO_PACKET_MAX_NSP ? len : SIO_PACKET_MAX_NSP;
        n = sio_packet_header(out, SIO_PACKET_EVENT, 0, nsp, len, 5);
        w = (size_t)snprintf(want, sizeof want, "2%.*s,5", (int)kept, nsp);
        CHECK(n == w && memcmp(out, want, n) == 0, "namespace length in the header");
    }

    /* the longest header: exactly SIO_PACKET_HEADER_MAX - 1 bytes (room left for a NUL) */
    n = sio_packet_header(out, SIO_PACKET_BINARY_EVENT, 10, nsp, sizeof nsp, 999999999999999LL);
    w = (size_t)snprintf(want, sizeof want, "510-%.*s,999999999999999", SIO_PACKET_MAX_NSP, nsp);
    CHECK(n == w && n == SIO_PACKET_HEADER_MAX - 1 && memcmp(out, want, n) == 0, "longest header");
    {
        /* ... and it decodes back */
        char pkt[SIO_PACKET_HEADER_MAX + 64];
        struct sio_packet pk;
        memcpy(pkt, out, n);
        memcpy(pkt + n, "[\"x\"," PH(9) "]", sizeof "[\"x\"," PH(9) "]" - 1);
        CHECK(decode(pkt, n + sizeof "[\"x\"," PH(9) "]" - 1, &pk, NULL) == 0, "longest header decodes");
        CHECK(pk.nbins == 10 && pk.nsp.len == SIO_PACKET_MAX_NSP && pk.ack_id == 999999999999999LL,
              "longest header fields");
    }

    /* ack ids longer than SIO_PACKET_MAX_ACK_DIGITS: capped at the largest id that fits */
    static const int64_t big_ids[] = {1000000000000000LL, 9007199254740992LL, INT64_MAX};
    w = (size_t)snprintf(want, sizeof want, "610-%.*s,999999999999999", SIO_PACKET_MAX_NSP, nsp);
    for (size_t i = 0; i < sizeof big_ids / sizeof big_ids[0]; i++) {
        n = sio_packet_header(out, SIO_PACKET_BINARY_ACK, 10, nsp, sizeof nsp, big_ids[i]);
        CHECK(n == w && memcmp(out, want, n) == 0, "huge ack id capped (longest header)");
        n = sio_packet_header(out, SIO_PACKET_ACK, 0, "/", 1, big_ids[i]);
        CHECK(n == 16 && memcmp(out, "3999999999999999", 16) == 0, "huge ack id capped (namespace /)");
    }

    /* attachment counts that do not fit the two digits the size reserves: capped at 0 and 99 */
    static const struct {
        int nbins;
        const char *expect;
    } counts[] = {{-1, "50-"}, {INT_MIN, "50-"}, {99, "599-"}, {100, "599-"}, {INT_MAX, "599-"}};
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        n = sio_packet_header(out, SIO_PACKET_BINARY_EVENT, counts[i].nbins, "/", 1, -1);
        CHECK(n == strlen(counts[i].expect) && memcmp(out, counts[i].expect, n) == 0, "attachment count capped");
        n = sio_packet_header(out, SIO_PACKET_BINARY_EVENT, counts[i].nbins, nsp, sizeof nsp, INT64_MAX);
        CHECK(n <= SIO_PACKET_HEADER_MAX, "count and id out of range together stay within the buffer");
    }
    free(out);
}

int main(void)
{
    RUN(test_eio_decode);
    RUN(test_eio_payload);
    RUN(test_decode_valid);
    RUN(test_decode_invalid);
    RUN(test_decode_reserved);
    RUN(test_limit_nsp);
    RUN(test_limit_ack);
    RUN(test_limit_attachments);
    RUN(test_limit_depth);
    RUN(test_bomb);
    RUN(test_reserved);
    RUN(test_header);
    RUN(test_header_limits);
    return test_main_end("packet");
}
