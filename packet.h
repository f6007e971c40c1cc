/* SPDX-License-Identifier: MIT */
/* packet.h -- the two packet codecs: Engine.IO v4 packets and payloads (protocol.md A5, A6) and
 * Socket.IO v5 packets (B1, B2, B7, B10). Pure functions over byte slices: no I/O, no allocation,
 * nothing kept between calls. Depends only on json.h (copy packet.c, json.c and both headers).
 */
#ifndef SIO_PACKET_H
#define SIO_PACKET_H

#include <stddef.h>
#include <stdint.h>

#include "json.h"

/* ====== Limits (override with -D) ====== */
#ifndef SIO_PACKET_MAX_ATTACHMENTS
#define SIO_PACKET_MAX_ATTACHMENTS 10 /* attachments per packet (socket.io-parser's limit) */
#endif
#ifndef SIO_PACKET_MAX_ACK_DIGITS
#define SIO_PACKET_MAX_ACK_DIGITS 15 /* digits of an ack id: ids stay below 2^53 */
#endif
#ifndef SIO_PACKET_MAX_NSP
#define SIO_PACKET_MAX_NSP 128 /* bytes of a namespace name */
#endif
#define SIO_PACKET_HEADER_MAX (4 + SIO_PACKET_MAX_NSP + 1 + SIO_PACKET_MAX_ACK_DIGITS + 1) /* see sio_packet_header() */

/* ====== Engine.IO ====== */

/* Engine.IO packet types (A5), plus SIO_EIO_BINARY for a "b"+base64 binary message. */
enum sio_eio_type {
    SIO_EIO_OPEN = 0,    /* server -> client handshake */
    SIO_EIO_CLOSE = 1,   /* close the session */
    SIO_EIO_PING = 2,    /* heartbeat ping (or "2probe") */
    SIO_EIO_PONG = 3,    /* heartbeat pong (or "3probe") */
    SIO_EIO_MESSAGE = 4, /* a message: carries a Socket.IO packet */
    SIO_EIO_UPGRADE = 5, /* the client switches to WebSocket */
    SIO_EIO_NOOP = 6,    /* nothing; ends a poll */
    SIO_EIO_BINARY = 7   /* "b" + base64: a binary message in a text payload */
};

/* Decodes one Engine.IO text packet: returns its type (SIO_EIO_*) and stores what follows the
 * type character in *data (for SIO_EIO_BINARY: the base64 text, still encoded). Returns -1 for
 * an empty packet or an unknown type character (a "parse error" in Node). */
int sio_eio_decode(const char *p, size_t len, sio_str *data);

/* Splits a polling payload (packets joined by the record separator 0x1E, A6). Start with
 * *pos = 0; each call stores the next packet in *pkt and returns 1, or returns 0 at the end.
 * An empty body holds one empty packet (which then fails sio_eio_decode, as in Node). */
int sio_eio_payload_next(const char *body, size_t len, size_t *pos, sio_str *pkt);

/* ====== Socket.IO ====== */

/* Socket.IO packet types (B1). */
enum sio_packet_type {
    SIO_PACKET_CONNECT = 0,
    SIO_PACKET_DISCONNECT = 1,
    SIO_PACKET_EVENT = 2,
    SIO_PACKET_ACK = 3,
    SIO_PACKET_CONNECT_ERROR = 4,
    SIO_PACKET_BINARY_EVENT = 5,
    SIO_PACKET_BINARY_ACK = 6
};

/* A decoded Socket.IO packet; slices point into the decoded text. */
struct sio_packet {
    int type;       /* SIO_PACKET_* */
    int nbins;      /* attachments announced (binary types; 0 otherwise) */
    sio_str nsp;    /* namespace, "/" when absent */
    int64_t ack_id; /* ack id, or -1 when absent */
    sio_str data;   /* the JSON payload ({p,0} when absent) */
    int count;      /* data is an array: its number of elements (0 otherwise) */
    sio_str first;  /* data is a non-empty array: its first element (for events, the name);
                       {NULL,0} otherwise */
};

/* Decodes a Socket.IO packet (the text after Engine.IO's '4') the way socket.io-parser does,
 * and checks that its payload fits its type (B2 decoder rules, B10):
 *   CONNECT: nothing or an object;  DISCONNECT: nothing;
 *   EVENT / BINARY_EVENT: a non-empty array whose first element is a number or a string that is
 *     not a reserved event name;  ACK / BINARY_ACK: an array;  CONNECT_ERROR: an object or string;
 *   binary types: "<count>-" with count <= SIO_PACKET_MAX_ATTACHMENTS, and, when count > 0,
 *     every {"_placeholder":true,...} object's "num" an integer in [0, count) (with count 0 a
 *     placeholder stays ordinary data, as in Node).
 * Also: JSON strict and complete, ack id at most SIO_PACKET_MAX_ACK_DIGITS digits, namespace at
 * most SIO_PACKET_MAX_NSP bytes. Returns 0, or -1 (a decode error: Node closes the session).
 * The payload is scanned once: `count` and `first` spare the caller a second walk. */
int sio_packet_decode(const char *p, size_t len, struct sio_packet *pk);

/* 1 if `name` is reserved (connect, connect_error, disconnect, disconnecting, newListener,
 * removeListener): a client may not send it and the server may not emit it. */
int sio_packet_reserved(const char *name, size_t len);

/* Writes the header of a packet: type, "<nbins>-" for binary types, the namespace followed by
 * ',' unless it is "/", and the ack id when >= 0. `out` must hold SIO_PACKET_HEADER_MAX bytes;
 * to stay inside it, nsp_len is capped at SIO_PACKET_MAX_NSP, nbins at 99 and the ack id at
 * SIO_PACKET_MAX_ACK_DIGITS digits. Returns the length written (no NUL). */
size_t sio_packet_header(char *out, int type, int nbins, const char *nsp, size_t nsp_len, int64_t ack_id);

#endif /* SIO_PACKET_H */
