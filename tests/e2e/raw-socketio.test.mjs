// SPDX-License-Identifier: MIT
// Socket.IO v5 packets on a raw WebSocket (and polling), byte for byte (docs: protocol.md B2, B4,
// B5, B7, B10, B11; private-messaging.md part I; bad-inputs.md B5).
// Conformance server (examples/conformance) unless a describe() says otherwise: namespaces "/" and
// "/custom"; on connect it emits "auth" with the handshake auth; "message" -> "message-back" with
// the same arguments; "message-with-ack" -> ack with the same arguments. Its heartbeat is 300/200 ms,
// so EioSocket answers the server's pings (`2` -> `3`) while the tests read.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, SIO_CHAT1, SIO_CONFORMANCE } from './helpers.mjs';
import { RS, SID_RE, EIO_ERRORS, show, EioSocket, Polling, request, pollPath, destroyAll } from './rawlib.mjs';

const TIMEOUT = { timeout: 30000 }; // per describe; every individual wait is bounded far below this
const PH0 = '{"_placeholder":true,"num":0}'; // attachment placeholder (B7), keys in this order

// Starts a server for one describe() and stops it afterwards; stop() must exit 0.
function useServer(bin, args = []) {
  const ctx = {};
  before(async () => { ctx.server = await startServer(bin, args); ctx.port = ctx.server.port; });
  after(async () => {
    destroyAll();
    if (ctx.server) assert.equal(await ctx.server.stop(), 0, `server exit status; output:\n${ctx.server.output()}`);
  });
  return ctx;
}

// Reads a CONNECT reply `40[/ns,]{"sid":"…"}` and returns the socket id.
async function connectReply(eio, nsp = '') {
  const p = await eio.next();
  const m = typeof p === 'string' && p.match(new RegExp(`^40${nsp ? `${nsp},` : ''}\\{"sid":"([^"]*)"\\}$`));
  assert.ok(m, `expected 40${nsp ? `${nsp},` : ''}{"sid":"…"}, got "${show(p)}"`);
  assert.match(m[1], SID_RE);
  return m[1];
}

// A WebSocket session connected to "/" of the conformance server (CONNECT reply and auth read).
async function joinedConformance(port) {
  const eio = await EioSocket.connect(port);
  eio.send('40');
  eio.socketId = await connectReply(eio);
  assert.equal(await eio.next(), '42["auth",{}]');
  return eio;
}

describe('CONNECT over WebSocket (conformance server)', TIMEOUT, () => {
  const srv = useServer(SIO_CONFORMANCE);

  it('40 -> 40{"sid":…} with a new id, then the auth event with {}', async () => {
    const eio = await EioSocket.connect(srv.port);
    eio.send('40');
    const id = await connectReply(eio);
    assert.notEqual(id, eio.sid, 'the socket id differs from the Engine.IO sid (A3)');
    assert.equal(await eio.next(), '42["auth",{}]');
    eio.destroy();
  });

  it('40{"token":"abc"} -> the auth event carries the auth object', async () => {
    const eio = await EioSocket.connect(srv.port);
    eio.send('40{"token":"abc"}');
    await connectReply(eio);
    assert.equal(await eio.next(), '42["auth",{"token":"abc"}]');
    eio.destroy();
  });

  it('40/custom,{"a":1} -> 40/custom,{"sid":…} and the auth event on /custom', async () => {
    const eio = await EioSocket.connect(srv.port);
    eio.send('40/custom,{"a":1}');
    const id = await connectReply(eio, '/custom');
    assert.notEqual(id, eio.sid);
    assert.equal(await eio.next(), '42/custom,["auth",{"a":1}]');
    eio.destroy();
  });

  it('two namespaces on one session get two different socket ids', async () => {
    const eio = await joinedConformance(srv.port);
    eio.send('40/custom,');
    const custom = await connectReply(eio, '/custom');
    assert.notEqual(custom, eio.socketId);
    assert.equal(await eio.next(), '42/custom,["auth",{}]');
    eio.destroy();
  });

  it('40/nope, -> exactly 44/nope,{"message":"Invalid namespace"}; the session stays open', async () => {
    const eio = await EioSocket.connect(srv.port);
    eio.send('40/nope,');
    assert.equal(await eio.next(), '44/nope,{"message":"Invalid namespace"}');
    eio.send('40/nope'); // no comma: the namespace runs to the end of the packet
    assert.equal(await eio.next(), '44/nope,{"message":"Invalid namespace"}');
    eio.send('40');
    await connectReply(eio);
    assert.equal(await eio.next(), '42["auth",{}]');
    eio.destroy();
  });

  it('41 leaves the namespace; a new 40 on the same session gets a new socket id', async () => {
    const eio = await joinedConformance(srv.port);
    eio.send('41');
    // A round trip on another namespace, so the DISCONNECT is surely processed before the next
    // CONNECT (Node handles DISCONNECT one tick later and would see "CONNECT twice").
    eio.send('40/custom,');
    await connectReply(eio, '/custom');
    assert.equal(await eio.next(), '42/custom,["auth",{}]');
    eio.send('40');
    const again = await connectReply(eio);
    assert.notEqual(again, eio.socketId);
    assert.equal(await eio.next(), '42["auth",{}]');
    eio.destroy();
  });
});

describe('EVENT, ACK and binary over WebSocket (conformance server)', TIMEOUT, () => {
  const srv = useServer(SIO_CONFORMANCE);

  it('421["message-with-ack",1,"2"] -> 431[1,"2"]', async () => {
    const eio = await joinedConformance(srv.port);
    eio.send('421["message-with-ack",1,"2"]');
    assert.equal(await eio.next(), '431[1,"2"]');
    eio.destroy();
  });

  it('42["message",1,"2",{"3":[true]}] -> 42["message-back",1,"2",{"3":[true]}] byte-exact', async () => {
    const eio = await joinedConformance(srv.port);
    eio.send('42["message",1,"2",{"3":[true]}]');
    assert.equal(await eio.next(), '42["message-back",1,"2",{"3":[true]}]');
    eio.destroy();
  });

  it('binary event: text 451-[…placeholder…] + binary frame -> same shape back', async () => {
    const eio = await joinedConformance(srv.port);
    eio.send(`451-["message",${PH0}]`);
    eio.send(Buffer.from([1, 2, 3]));
    assert.equal(await eio.next(), `451-["message-back",${PH0}]`); // a text frame
    const att = await eio.next();
    assert.ok(Buffer.isBuffer(att), `attachment in a binary frame, got "${show(att)}"`);
    assert.equal(att.toString('hex'), '010203', 'raw bytes, no type byte');
    eio.destroy();
  });

  it('binary ack: 451-1["message-with-ack",…] + binary -> 461-1[…placeholder…] + binary', async () => {
    const eio = await joinedConformance(srv.port);
    eio.send(`451-1["message-with-ack",${PH0}]`);
    eio.send(Buffer.from([0xde, 0xad]));
    assert.equal(await eio.next(), `461-1[${PH0}]`);
    assert.deepEqual(await eio.next(), Buffer.from([0xde, 0xad]));
    eio.destroy();
  });

  it('an ACK with an unknown id is ignored', async () => {
    const eio = await joinedConformance(srv.port);
    eio.send('43999[1]');
    eio.send('42["message","still here"]');
    assert.equal(await eio.next(), '42["message-back","still here"]');
    eio.destroy();
  });
});

describe('EVENT and binary over polling (conformance server)', TIMEOUT, () => {
  const srv = useServer(SIO_CONFORMANCE);

  it('POST 451-[…]\\x1ebAQID -> GET brings 451-["message-back",…] and bAQID', async () => {
    const poll = new Polling(srv.port);
    await poll.handshake();
    assert.equal((await poll.post('40')).text, 'ok');
    const [reply, auth] = await poll.collect(2);
    assert.match(reply, /^40\{"sid":"[A-Za-z0-9_-]{20}"\}$/);
    assert.equal(auth, '42["auth",{}]');
    const post = await poll.post(`451-["message",${PH0}]${RS}bAQID`);
    assert.equal(post.status, 200, show(post.raw));
    assert.equal(post.text, 'ok');
    assert.deepEqual(await poll.collect(2), [`451-["message-back",${PH0}]`, 'bAQID']);
  });

  it('event with ack over polling', async () => {
    const poll = new Polling(srv.port);
    await poll.handshake();
    await poll.post('40{"token":"abc"}');
    assert.equal((await poll.collect(2))[1], '42["auth",{"token":"abc"}]');
    await poll.post('420["message-with-ack","hi",{"x":null}]');
    assert.deepEqual(await poll.collect(1), ['430["hi",{"x":null}]']);
  });
});

// Protocol violations (B10): the server closes the Engine.IO session (a close frame, or the TCP
// connection), sends no Socket.IO packet about it, and keeps serving everyone else.
// `before`: '40' = join "/" first (which also cancels connectTimeout, so only the violation can
// close the session), '' = send the bad packet right after the handshake.
const VIOLATIONS = [
  ['an event for a namespace not joined', '40', '42/custom,["message"]'],
  ['unknown packet type', '40', '49'],
  ['unknown packet type with data', '40', '4abc'],
  ['bad JSON', '40', '42["message"'],
  ['empty event array', '40', '42[]'],
  ['non-array event', '40', '42{}'],
  ['event name null', '40', '42[null]'],
  ['event name an object', '40', '42[{"toString":"foo"}]'],
  ['reserved event name', '40', '42["disconnect"]'],
  ['more than 10 attachments', '40', `4511-["message",${PH0}]`],
  ['non-numeric attachment count', '40', `45x-["message",${PH0}]`],
  ['CONNECT twice to the same namespace', '40', '40'],
  ['DISCONNECT with a payload', '40', '41"x"'],
  ['CONNECT_ERROR from the client', '40', '44{}'],
  ['non-object CONNECT payload', '40', '40/custom,"x"'],
  ['empty Engine.IO message', '40', '4'],
  ['stray binary message', '40', Buffer.from([1, 2, 3])],
  ['text while an attachment is pending', '40', [`451-["message",${PH0}]`, '42["message"]']],
];

describe('protocol violations close the session (conformance server)', TIMEOUT, () => {
  const srv = useServer(SIO_CONFORMANCE);

  async function assertClosedBy(eio) {
    const r = await eio.waitClose(2000);
    const sio = r.packets.filter((p) => typeof p !== 'string' || p[0] === '4');
    assert.deepEqual(sio.map(show), [], 'no Socket.IO packet before the close');
    return r;
  }

  it('42["message"] before any CONNECT', async () => {
    const eio = await EioSocket.connect(srv.port);
    const t0 = Date.now();
    eio.send('42["message"]');
    await assertClosedBy(eio);
    // connectTimeout (1000 ms) would close this session too; the violation must do it at once.
    assert.ok(Date.now() - t0 < 800, `closed only after ${Date.now() - t0} ms: by connectTimeout?`);
    const fresh = await joinedConformance(srv.port);
    fresh.destroy();
  });

  for (const [name, pre, bad] of VIOLATIONS) {
    const label = Array.isArray(bad) ? bad.join(' then ') : Buffer.isBuffer(bad) ? `binary ${bad.toString('hex')}` : bad;
    it(`${label} (${name}) -> close; a fresh connection still works`, async () => {
      const eio = pre ? await joinedConformance(srv.port) : await EioSocket.connect(srv.port);
      for (const p of Array.isArray(bad) ? bad : [bad]) eio.send(p);
      await assertClosedBy(eio);
      const fresh = await joinedConformance(srv.port);
      fresh.send('42["message","after"]');
      assert.equal(await fresh.next(), '42["message-back","after"]');
      fresh.destroy();
    });
  }

  it('over polling: the next GET gets the close packet, then the sid is unknown', async () => {
    const poll = new Polling(srv.port);
    await poll.handshake();
    await poll.post('40');
    await poll.collect(2);
    await poll.post('49'); // a Socket.IO decode error: the server closes the session (A11)
    const res = await poll.get();
    assert.equal(res.status, 200, show(res.raw));
    assert.equal(res.packets.at(-1), '1', `close packet last, got "${show(res.text)}"`);
    assert.ok(res.packets.slice(0, -1).every((p) => p === '6'), `only noops before it, got "${show(res.text)}"`);
    const after = await request(srv.port, { path: pollPath(`&sid=${poll.sid}`) });
    assert.equal(after.status, 400, show(after.raw));
    assert.equal(after.text, EIO_ERRORS[1]);
  });
});

// ====== The chat server (private-messaging part I) ======

describe('chat server (part I) over raw WebSockets', TIMEOUT, () => {
  const srv = useServer(SIO_CHAT1);

  it('CONNECT_ERROR for a missing username keeps the session; alice and bob chat byte-exact', async () => {
    // anon: rejected by the middleware, then accepted as alice on the same session.
    const alice = await EioSocket.connect(srv.port);
    alice.send('40{}');
    assert.equal(await alice.next(), '44{"message":"invalid username"}');
    alice.send('40{"username":""}');
    assert.equal(await alice.next(), '44{"message":"invalid username"}');
    alice.send('40{"username":"alice"}');
    const A = await connectReply(alice);
    assert.notEqual(A, alice.sid);
    assert.equal(await alice.next(), `42["users",[{"userID":"${A}","username":"alice"}]]`);

    // bob joins: the users list (connection order, bob included), and alice is told.
    const bob = await EioSocket.connect(srv.port);
    bob.send('40{"username":"bob"}');
    const B = await connectReply(bob);
    assert.equal(await bob.next(), `42["users",[{"userID":"${A}","username":"alice"},{"userID":"${B}","username":"bob"}]]`);
    assert.equal(await alice.next(), `42["user connected",{"userID":"${B}","username":"bob"}]`);

    // private messages, both ways.
    bob.send(`42["private message",{"content":"hello alice","to":"${A}"}]`);
    assert.equal(await alice.next(), `42["private message",{"content":"hello alice","from":"${B}"}]`);
    alice.send(`42["private message",{"content":"hi bob","to":"${B}"}]`);
    assert.equal(await bob.next(), `42["private message",{"content":"hi bob","from":"${A}"}]`);

    // A message to yourself goes nowhere; content is relayed as any JSON value.
    alice.send(`42["private message",{"content":"to me","to":"${A}"}]`);
    alice.send(`42["private message",{"content":{"n":[1,2.5,null]},"to":"${B}"}]`);
    assert.equal(await bob.next(), `42["private message",{"content":{"n":[1,2.5,null]},"from":"${A}"}]`);

    // bob closes his WebSocket: alice gets the bare string id.
    bob.ws.sendClose(1000);
    const closed = await bob.waitClose(2000);
    if (closed.close) assert.equal(closed.close.code, 1000, 'a close 1000 is echoed');
    bob.destroy();
    assert.equal(await alice.next(), `42["user disconnected","${B}"]`);
    alice.destroy();
  });

  it('42["message"] before any CONNECT closes the session', async () => {
    const eio = await EioSocket.connect(srv.port);
    eio.send('42["private message",{"content":"x","to":"y"}]');
    const r = await eio.waitClose(2000);
    assert.deepEqual(r.packets.filter((p) => typeof p !== 'string' || p[0] === '4').map(show), []);
  });
});

describe('connectTimeout (chat --connect-timeout 500)', TIMEOUT, () => {
  const srv = useServer(SIO_CHAT1, ['--connect-timeout', '500']);

  it('closes a session that never sends CONNECT', async () => {
    const eio = await EioSocket.connect(srv.port);
    const r = await eio.waitClose(1500);
    assert.deepEqual(r.packets.map(show), [], 'nothing but the close');
  });

  it('closes it even after a refused CONNECT', async () => {
    const eio = await EioSocket.connect(srv.port);
    eio.send('40{}');
    assert.equal(await eio.next(), '44{"message":"invalid username"}');
    await eio.waitClose(1500);
  });

  it('leaves a session that joined in time alone', async () => {
    const eio = await EioSocket.connect(srv.port);
    eio.send('40{"username":"carol"}');
    await connectReply(eio);
    assert.match(await eio.next(), /^42\["users",/);
    await assert.rejects(eio.waitClose(1000), /timeout/, 'the session must stay open');
    eio.destroy();
  });
});
