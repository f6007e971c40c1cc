// SPDX-License-Identifier: MIT
// Issue 3's wire details that the stock client hides, byte for byte, on raw sockets
// (docs: protocol.md A2 code 4, A13 cookie, B2/B4 CONNECT_ERROR, B6 server ack ids, B7 BINARY_ACK,
// B13 the bare Engine.IO echo).
// Servers: tests/servers/semantics.c (event protocol at the top of that file), examples/eio-echo
// (bare Engine.IO only) and examples/conformance (Socket.IO on /socket.io/ and bare Engine.IO on
// /engine.io/, heartbeat 300/200 ms, so the raw clients here answer pings while they read).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Socket as EioClient } from 'engine.io-client';
import { startServer, once, until, SIO_SEMANTICS, SIO_EIO_ECHO, SIO_CONFORMANCE } from './helpers.mjs';
import {
  RS, SID_RE, EIO_ERRORS, show, settle, EioSocket, Polling, RawWebSocket, request, pollPath, wsPath, destroyAll, randomKey,
} from './rawlib.mjs';

const TIMEOUT = { timeout: 30000 }; // per describe; every individual wait is bounded far below this
const PH = (n) => `{"_placeholder":true,"num":${n}}`; // attachment placeholder (B7), keys in this order
// The semantics server's 3-attachment payload and its attachments.
const THREE_JSON = `{"file":${PH(0)},"parts":[${PH(1)},{"deep":${PH(2)}}],"name":"three"}`;
const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
const THREE_BINS = [Buffer.from([1, 2, 3]), Buffer.from('hello'), ALL_BYTES];

// Starts a server for one describe() and stops it afterwards; stop() must exit 0.
function useServer(bin, args = []) {
  const ctx = {};
  before(async () => { ctx.server = await startServer(bin, args); ctx.port = ctx.server.port; });
  after(async () => {
    destroyAll();
    if (ctx.server) assert.equal(await ctx.server.stop(), 0, `server exit status; output:\n${ctx.server.output().slice(-4000)}`);
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

// A WebSocket session connected to "/" (and to the namespaces given, with their auth).
async function joined(port, extra = []) {
  const eio = await EioSocket.connect(port);
  eio.send('40');
  eio.ids = { '/': await connectReply(eio) };
  for (const [nsp, auth] of extra) {
    eio.send(`40${nsp},${auth ?? ''}`);
    eio.ids[nsp] = await connectReply(eio, nsp);
  }
  return eio;
}

// The next packet must be exactly `expected` (a string, or a Buffer for a binary message).
async function expectPacket(eio, expected, what = '') {
  const p = await eio.next();
  if (Buffer.isBuffer(expected)) {
    assert.ok(Buffer.isBuffer(p), `${what}: expected a binary message, got "${show(p)}"`);
    assert.equal(p.toString('hex'), expected.toString('hex'), what);
  } else {
    assert.equal(typeof p === 'string' ? p : `<binary ${p.toString('hex')}>`, expected, what);
  }
}

// ====== CONNECT_ERROR ======

describe('CONNECT_ERROR bytes: middleware message and data, dynamic namespaces', TIMEOUT, () => {
  const srv = useServer(SIO_SEMANTICS);

  const cases = [
    ['40/admin,{"token":"bad"}', '44/admin,{"message":"not authorized","data":{"content":"Please retry later"}}'],
    ['40/admin,', '44/admin,{"message":"not authorized","data":{"content":"Please retry later"}}'],
    ['40/admin', '44/admin,{"message":"not authorized","data":{"content":"Please retry later"}}'],
    ['40{"fail":true}', '44{"message":"failed without data"}'],
    ['40/dynamic-x,', '44/dynamic-x,{"message":"Invalid namespace"}'],
    ['40/dynamic-7,{"reject":1}', '44/dynamic-7,{"message":"rejected by parent"}'],
    ['40/nope', '44/nope,{"message":"Invalid namespace"}'],
  ];
  for (const [send, expected] of cases) {
    it(`${send} -> ${expected}`, async () => {
      const eio = await EioSocket.connect(srv.port);
      eio.send(send);
      assert.equal(await eio.next(), expected);
      // The session stays: a CONNECT that passes still works on it.
      eio.send('40/admin,{"token":"ok"}');
      await connectReply(eio, '/admin');
      eio.destroy();
    });
  }

  it('40/dynamic-42, -> 40/dynamic-42,{"sid":…}, and its events carry the namespace', async () => {
    const eio = await EioSocket.connect(srv.port);
    eio.send('40/dynamic-42,');
    await connectReply(eio, '/dynamic-42');
    eio.send('42/dynamic-42,3["echo-ack","x"]');
    assert.equal(await eio.next(), '43/dynamic-42,3["x"]');
    eio.destroy();
  });

  it('the same refusal over polling', async () => {
    const p = new Polling(srv.port);
    await p.handshake();
    assert.equal((await p.post('40/admin,{"token":"no"}')).text, 'ok');
    assert.deepEqual(await p.collect(1), ['44/admin,{"message":"not authorized","data":{"content":"Please retry later"}}']);
  });
});

// ====== Server ack ids ======

describe('server->client acks: ids from a per-namespace counter starting at 0', TIMEOUT, () => {
  const srv = useServer(SIO_SEMANTICS);

  it('"/" and "/admin" each start at 0; answers (ACK and BINARY_ACK) reach the right callback', async () => {
    const eio = await joined(srv.port, [['/admin', '{"token":"ok"}']]);
    eio.send('42["server-ack",{"timeout":0,"tag":1},"q",1]');
    assert.equal(await eio.next(), '420["q",1]');
    eio.send('42/admin,["server-ack",{"timeout":0,"tag":2},"q",2]');
    assert.equal(await eio.next(), '42/admin,0["q",2]');
    eio.send('42["server-ack",{"timeout":0,"tag":3},"q",3]');
    assert.equal(await eio.next(), '421["q",3]');

    eio.send('430["a"]');
    assert.equal(await eio.next(), '42["server-ack-result",{"tag":1,"err":null,"reply":["a"]}]');
    // A BINARY_ACK from the client: its attachment comes back in the result.
    eio.send(`461-1[${PH(0)},"x"]`);
    eio.send(Buffer.from([0xde, 0xad]));
    assert.equal(await eio.next(), `451-["server-ack-result",{"tag":3,"err":null,"reply":[${PH(0)},"x"]}]`);
    await expectPacket(eio, Buffer.from([0xde, 0xad]), 'the attachment of the result');
    eio.send('43/admin,0["x"]');
    assert.equal(await eio.next(), '42/admin,["server-ack-result",{"tag":2,"err":null,"reply":["x"]}]');

    // Answered ids are forgotten; unknown ids are ignored; an ACK in the wrong namespace too.
    eio.send('430["again"]');
    eio.send('4399["unknown"]');
    eio.send('43/admin,1["not issued in /admin"]');
    eio.send('425["echo-ack","fence"]');
    assert.equal(await eio.next(), '435["fence"]', 'nothing came before the fence');
    eio.destroy();
  });

  it('the counter is shared by every socket of the namespace (Node: nsp._ids)', async () => {
    const eio = await joined(srv.port, [['/admin', '{"token":"ok"}']]);
    eio.send('42["server-ack",{"timeout":0,"tag":4},"q",4]');
    assert.equal(await eio.next(), '422["q",4]');
    eio.send('42/admin,["server-ack",{"timeout":0,"tag":5},"q",5]');
    assert.equal(await eio.next(), '42/admin,1["q",5]');
    eio.destroy();
  });

  it('timeout: the result says "operation has timed out" and a late ACK is ignored', async () => {
    const eio = await joined(srv.port);
    eio.send('42["server-ack",{"timeout":100,"tag":"t"},"q","t"]');
    const m = (await eio.next()).match(/^42(\d+)\["q","t"\]$/);
    assert.ok(m, 'an EVENT with an ack id');
    assert.equal(await eio.next(1000), '42["server-ack-result",{"tag":"t","err":"operation has timed out","reply":[]}]');
    eio.send(`43${m[1]}["late"]`);
    eio.send('427["echo-ack","fence"]');
    assert.equal(await eio.next(), '437["fence"]', 'no second result');
    eio.destroy();
  });

  it('the ack ids over polling look the same', async () => {
    const p = new Polling(srv.port);
    await p.handshake();
    await p.post('40/admin,{"token":"ok"}');
    assert.match((await p.collect(1))[0], /^40\/admin,\{"sid":"[A-Za-z0-9_-]{20}"\}$/);
    await p.post('42/admin,["server-ack",{"timeout":0,"tag":6},"q"]');
    assert.deepEqual(await p.collect(1), ['42/admin,2["q"]']);
    await p.post('43/admin,2[{"n":1}]');
    assert.deepEqual(await p.collect(1), ['42/admin,["server-ack-result",{"tag":6,"err":null,"reply":[{"n":1}]}]']);
  });
});

// ====== BINARY_ACK and BINARY_EVENT encoding ======

describe('BINARY_EVENT / BINARY_ACK from the server, byte for byte', TIMEOUT, () => {
  const srv = useServer(SIO_SEMANTICS);

  it('WebSocket: 453-["binary",…] + 3 binary frames, then 463-1[…] + 3 binary frames', async () => {
    const eio = await joined(srv.port);
    eio.send('421["binary"]');
    assert.equal(await eio.next(), `453-["binary",${THREE_JSON}]`);
    for (const b of THREE_BINS) await expectPacket(eio, b, 'event attachment');
    assert.equal(await eio.next(), `463-1[${THREE_JSON}]`);
    for (const b of THREE_BINS) await expectPacket(eio, b, 'ack attachment');
    eio.destroy();
  });

  it('WebSocket: the client\'s attachment echoed in an ack: 461-2[{placeholder}] + the bytes', async () => {
    const eio = await joined(srv.port, [['/admin', '{"token":"ok"}']]);
    eio.send(`451-2["echo-ack",${PH(0)}]`);
    eio.send(Buffer.from([1, 2]));
    assert.equal(await eio.next(), `461-2[${PH(0)}]`);
    await expectPacket(eio, Buffer.from([1, 2]));
    eio.send(`452-/admin,9["echo-ack",{"a":${PH(1)},"b":${PH(0)}}]`);
    eio.send(Buffer.from([0xaa]));
    eio.send(Buffer.from([0xbb]));
    assert.equal(await eio.next(), `462-/admin,9[{"a":${PH(1)},"b":${PH(0)}}]`);
    await expectPacket(eio, Buffer.from([0xaa]));
    await expectPacket(eio, Buffer.from([0xbb]));
    eio.destroy();
  });

  it('polling: the same packets, attachments as b<base64>', async () => {
    const p = new Polling(srv.port);
    await p.handshake();
    await p.post('40');
    await p.collect(1);
    await p.post(`451-2["echo-ack",${PH(0)}]${RS}bAQI=`);
    assert.deepEqual(await p.collect(2), [`461-2[${PH(0)}]`, 'bAQI=']);
    await p.post('421["binary"]');
    const b64 = THREE_BINS.map((b) => `b${b.toString('base64')}`);
    assert.deepEqual(await p.collect(8), [`453-["binary",${THREE_JSON}]`, ...b64, `463-1[${THREE_JSON}]`, ...b64]);
  });
});

// ====== Server-side disconnect with close_session ======

describe('sio_disconnect(s, 1) over polling with a GET held: DISCONNECTs first, the close packet later', TIMEOUT, () => {
  const srv = useServer(SIO_SEMANTICS);

  it('the held GET gets 41/admin, and 41; the close packet comes in a later body (as Node: 6\\x1e1)', async () => {
    const p = new Polling(srv.port);
    await p.handshake();
    await p.post('40');
    await p.collect(1);
    await p.post('40/admin,{"token":"ok"}');
    await p.collect(1);
    const held = p.get({ timeoutMs: 5000 });
    await settle(200); // no observable "the GET is now held"; give the server's loop time to take it
    assert.equal((await p.post('42["disconnect-me",true]')).text, 'ok');
    const bodies = [];
    let res = await held;
    while (res.status === 200) {
      bodies.push(res.packets);
      if (res.packets.includes('1')) break;
      res = await p.get({ timeoutMs: 5000 });
    }
    const all = bodies.flat();
    assert.deepEqual(all.filter((x) => x.startsWith('41')).sort(), ['41', '41/admin,'], JSON.stringify(bodies));
    assert.equal(all.at(-1), '1', `the session ends with a close packet: ${JSON.stringify(bodies)}`);
    // socket.io-client 4.8 handles packets on the next tick but a close packet at once: in the same
    // body, the close wins and the client reports "transport close" (and would reconnect).
    assert.ok(!bodies.find((b) => b.includes('1')).some((x) => x.startsWith('41')),
      `DISCONNECT packets and the close packet must not share a body: ${JSON.stringify(bodies)}`);
    const after = await p.get();
    assert.deepEqual([after.status, after.text], [400, EIO_ERRORS[1]]);
  });
});

// ====== Cookie ======

describe('cookie "io": Set-Cookie on the polling handshake only', TIMEOUT, () => {
  const srv = useServer(SIO_SEMANTICS);

  it('the polling handshake sets io=<sid>; Path=/; HttpOnly; SameSite=Lax', async () => {
    const p = new Polling(srv.port);
    const res = await p.handshake();
    assert.deepEqual(res.headerAll('set-cookie'), [`io=${p.sid}; Path=/; HttpOnly; SameSite=Lax`]);
    // Later requests of the session: no cookie.
    const post = await p.post('40');
    assert.equal(post.status, 200);
    assert.deepEqual(post.headerAll('set-cookie'), []);
    const get = await p.get();
    assert.equal(get.status, 200);
    assert.deepEqual(get.headerAll('set-cookie'), []);
  });

  it('no Set-Cookie on a WebSocket handshake\'s 101', async () => {
    const ws = await RawWebSocket.connect(srv.port, { key: randomKey() });
    assert.equal(ws.response.status, 101);
    assert.deepEqual(ws.response.headerAll('set-cookie'), [], show(ws.response.raw));
    ws.destroy();
  });

  it('no Set-Cookie on the 101 of an upgrade', async () => {
    const p = new Polling(srv.port);
    await p.handshake();
    const ws = await RawWebSocket.connect(srv.port, { path: wsPath(`&sid=${p.sid}`), key: randomKey() });
    assert.equal(ws.response.status, 101);
    assert.deepEqual(ws.response.headerAll('set-cookie'), [], show(ws.response.raw));
    ws.destroy();
  });
});

// ====== allowRequest ======

describe('allow_request: 403 {"code":4,…} on a refused polling handshake', TIMEOUT, () => {
  const srv = useServer(SIO_SEMANTICS);

  it('?deny=1 -> 403 application/json {"code":4,"message":"Forbidden"}', async () => {
    const res = await request(srv.port, { path: pollPath('&deny=1') });
    assert.equal(res.status, 403, show(res.raw));
    assert.match(res.header('content-type') ?? '', /^application\/json/);
    assert.equal(res.text, EIO_ERRORS[4]);
    assert.equal(res.body.length, 32);
  });

  it('the hook\'s own message is the message: ?deny=custom -> {"code":4,"message":"Go away"}', async () => {
    const res = await request(srv.port, { path: pollPath('&deny=custom') });
    assert.equal(res.status, 403);
    assert.equal(res.text, '{"code":4,"message":"Go away"}');
  });

  it('a refused WebSocket handshake gets a plain 400 before any 101', async () => {
    const ws = await RawWebSocket.connect(srv.port, { path: wsPath('&deny=1'), key: randomKey() });
    assert.equal(ws.response.status, 400, show(ws.response.raw));
    assert.equal(await ws.conn.waitEnd(3000), true, 'the connection is closed');
  });

  it('only handshakes are checked: requests with a sid pass', async () => {
    const p = new Polling(srv.port);
    await p.handshake();
    const res = await request(srv.port, {
      method: 'POST', path: pollPath(`&sid=${p.sid}&deny=1`), body: '40',
      headers: [['Content-Type', 'text/plain;charset=UTF-8']],
    });
    assert.equal(res.status, 200, show(res.raw));
    assert.equal(res.text, 'ok');
    assert.match((await p.collect(1))[0], /^40\{"sid":/);
  });

  it('other handshakes are let in', async () => {
    const res = await request(srv.port, { path: pollPath('&deny=0') });
    assert.equal(res.status, 200);
    assert.equal(res.text[0], '0');
  });
});

// ====== Bare Engine.IO ======

const EIO = '/engine.io/';
const eioPoll = (extra = '') => `${EIO}?EIO=4&transport=polling${extra}`;
const eioWs = (extra = '') => `${EIO}?EIO=4&transport=websocket${extra}`;

for (const { name, bin, ping } of [
  { name: 'examples/eio-echo', bin: SIO_EIO_ECHO, ping: [25000, 20000] },
  { name: 'examples/conformance', bin: SIO_CONFORMANCE, ping: [300, 200] },
]) {
  describe(`bare Engine.IO echo on /engine.io/ (${name})`, TIMEOUT, () => {
    const srv = useServer(bin);

    it('polling handshake: the open packet with the server\'s timers', async () => {
      const res = await request(srv.port, { path: eioPoll() });
      assert.equal(res.status, 200, show(res.raw));
      assert.equal(res.text[0], '0');
      const open = JSON.parse(res.text.slice(1));
      assert.deepEqual(Object.keys(open), ['sid', 'upgrades', 'pingInterval', 'pingTimeout', 'maxPayload']);
      assert.match(open.sid, SID_RE);
      assert.deepEqual([open.upgrades, open.pingInterval, open.pingTimeout, open.maxPayload], [['websocket'], ...ping, 1000000]);
    });

    it('polling: text and binary messages come back as sent', async () => {
      const p = new Polling(srv.port, { path: EIO });
      await p.handshake();
      assert.equal((await p.post(['4hello', 'bAQIDBA==', '4héllo 😀', '4'])).text, 'ok');
      assert.deepEqual(await p.collect(4), ['4hello', 'bAQIDBA==', '4héllo 😀', '4']);
    });

    it('WebSocket: text frames and binary frames come back as sent', async () => {
      const eio = await EioSocket.connect(srv.port, { path: eioWs() });
      assert.deepEqual(eio.open.upgrades, []);
      assert.deepEqual([eio.open.pingInterval, eio.open.pingTimeout], ping);
      eio.send('4hello');
      assert.equal(await eio.next(), '4hello');
      eio.send(Buffer.from([1, 2, 3, 4]));
      await expectPacket(eio, Buffer.from([1, 2, 3, 4]));
      eio.send('4😀');
      assert.equal(await eio.next(), '4😀');
      const big = Buffer.alloc(70000, 7);
      eio.send(big);
      await expectPacket(eio, big, '70000 bytes');
      eio.destroy();
    });

    it('polling then upgrade: the echo continues on the WebSocket', async () => {
      const p = new Polling(srv.port, { path: EIO });
      await p.handshake();
      // An upgrade WebSocket gets no open packet: wrap the raw one without EioSocket.connect().
      const raw = await RawWebSocket.connect(srv.port, { path: eioWs(`&sid=${p.sid}`), key: randomKey() });
      assert.equal(raw.response.status, 101);
      const up = new EioSocket(raw);
      up.send('2probe');
      assert.equal(await up.next(), '3probe');
      up.send('5');
      up.send('4over ws');
      assert.equal(await up.next(), '4over ws');
      const after = await request(srv.port, { path: eioPoll(`&sid=${p.sid}`) });
      assert.equal(after.status, 400, 'polling is gone for this sid');
      up.destroy();
    });

    it('the real engine.io-client: open, upgrade, echo text and binary', async () => {
      const client = new EioClient(`http://127.0.0.1:${srv.port}`, { path: EIO });
      try {
        const opened = once(client, 'open');
        const upgraded = once(client, 'upgrade');
        await opened;
        await upgraded;
        assert.equal(client.transport.name, 'websocket');
        const got = [];
        client.on('message', (m) => got.push(m));
        client.send('text message');
        client.send(Buffer.from([9, 8, 7]));
        await until(() => got.length >= 2, 5000, 'two echoes');
        assert.equal(got[0], 'text message');
        assert.equal(Buffer.from(got[1]).toString('hex'), '090807');
      } finally {
        client.close();
      }
    });

    it('error answers follow Engine.IO: unknown sid -> 400 code 1, EIO=3 -> 400 code 5', async () => {
      const r1 = await request(srv.port, { path: eioPoll('&sid=AAAAAAAAAAAAAAAAAAAA') });
      assert.deepEqual([r1.status, r1.text], [400, EIO_ERRORS[1]]);
      const r5 = await request(srv.port, { path: `${EIO}?EIO=3&transport=polling` });
      assert.deepEqual([r5.status, r5.text], [400, EIO_ERRORS[5]]);
    });

    if (name === 'examples/eio-echo') {
      it('serves no Socket.IO: /socket.io/ is 404, and logs open/close with the reason', async () => {
        const res = await request(srv.port, { path: pollPath() });
        assert.equal(res.status, 404, show(res.raw));
        const eio = await EioSocket.connect(srv.port, { path: eioWs() });
        eio.ws.sendClose(1000);
        await eio.ws.waitClose(3000).catch(() => {});
        await until(() => srv.server.output().includes(`close ${eio.sid} (transport close)`), 5000, 'the close log line');
        assert.match(srv.server.output(), new RegExp(`open ${eio.sid}\\n`));
        assert.match(srv.server.output(), new RegExp(`close ${eio.sid} \\(transport close\\)`));
        eio.destroy();
      });
    } else {
      it('Socket.IO on /socket.io/ in the same process keeps working', async () => {
        const eio = await EioSocket.connect(srv.port);
        eio.send('40');
        await connectReply(eio);
        assert.equal(await eio.next(), '42["auth",{}]');
        eio.send('421["message-with-ack","x"]');
        assert.equal(await eio.next(), '431["x"]');
        // Engine.IO messages on /engine.io/ are not Socket.IO packets: "40" is echoed, not a CONNECT.
        const bare = await EioSocket.connect(srv.port, { path: eioWs() });
        bare.send('440');
        assert.equal(await bare.next(), '440');
        eio.destroy();
        bare.destroy();
      });
    }
  });
}
