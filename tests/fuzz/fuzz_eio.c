/* SPDX-License-Identifier: MIT */
/* fuzz_eio.c -- libFuzzer target for the Engine.IO codec in packet.c (payload splitting and
 * packet decoding, protocol.md A5/A6) and the base64 decoder ws.c lends it for "b" packets.
 *
 * The input is a polling POST body. Checks:
 *   - sio_eio_payload_next() cuts it into exactly (number of 0x1E bytes + 1) packets, contiguous,
 *     in order, none containing a separator, and then reports the end (and keeps reporting it);
 *   - sio_eio_decode() of each packet: -1 exactly for an empty packet or an unknown type byte,
 *     otherwise the type of the first byte and the rest as data;
 *   - a "b" packet's base64 decodes only when it is the canonical encoding of its bytes;
 *   - a message ("4...") goes on to the Socket.IO decoder, whose outputs stay inside the packet.
 */
#include "../../packet.h"
#include "../../ws.h"
#include "fuzz.h"

#include <string.h>

static void check_packet(sio_str pkt)
{
    sio_str d;
    memset(&d, 0x5a, sizeof d);
    int t = sio_eio_decode(pkt.p, pkt.len, &d);
    if (pkt.len == 0 || ((pkt.p[0] < '0' || pkt.p[0] > '6') && pkt.p[0] != 'b')) {
        CHECK(t == -1 && d.p == NULL && d.len == 0);
        return;
    }
    CHECK(t == (pkt.p[0] == 'b' ? SIO_EIO_BINARY : pkt.p[0] - '0'));
    CHECK(d.p == pkt.p + 1 && d.len == pkt.len - 1);

    if (t == SIO_EIO_BINARY) {
        size_t cap = 3 * (d.len / 4);
        unsigned char *bin = malloc(cap ? cap : 1);
        CHECK(bin != NULL);
        long n = sio_base64_decode(d.p, d.len, bin);
        CHECK(n >= -1 && (n < 0 || (size_t)n <= cap));
        if (n >= 0) {
            char *enc = malloc(4 * (((size_t)n + 2) / 3) + 1);
            CHECK(enc != NULL);
            CHECK(sio_base64_encode(bin, (size_t)n, enc) == d.len && memcmp(enc, d.p, d.len) == 0);
            free(enc);
        }
        free(bin);
    } else if (t == SIO_EIO_MESSAGE) {
        struct sio_packet pk;
        if (sio_packet_decode(d.p, d.len, &pk) == 0) {
            CHECK(pk.type >= SIO_PACKET_CONNECT && pk.type <= SIO_PACKET_BINARY_ACK);
            CHECK(d.len == 0 || pk.data.len == 0 || IN_BUF(pk.data, d.p, d.len));
            CHECK(pk.nsp.len == 1 || IN_BUF(pk.nsp, d.p, d.len));
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *body = (const char *)data;
    size_t pos = 0, count = 0, seps = 0;
    const char *expect = body;
    sio_str pkt;
    for (size_t i = 0; i < size; i++) seps += data[i] == 0x1e;
    while (sio_eio_payload_next(body, size, &pos, &pkt) == 1) {
        CHECK(++count <= seps + 1);
        CHECK(pkt.p == expect && IN_BUF(pkt, body, size));
        CHECK(memchr(pkt.p, 0x1e, pkt.len) == NULL);
        CHECK(pkt.p + pkt.len == body + size || pkt.p[pkt.len] == 0x1e);
        CHECK(pos == (size_t)(pkt.p - body) + pkt.len + 1);
        expect = pkt.p + pkt.len + 1;
        check_packet(pkt);
    }
    CHECK(count == seps + 1 && pos == size + 1);
    CHECK(sio_eio_payload_next(body, size, &pos, &pkt) == 0);
    return 0;
}
