// SPDX-License-Identifier: MIT
// Middleware that answers later (SIO_PENDING + sio_find_pending + sio_middleware_next), the C
// form of Node's `io.use((socket, next) => setTimeout(next, ms))`, end to end against the
// "/async" namespace of tests/servers/semantics.c: the real socket.io-client over both transports,
// plus raw WebSocket clients for what the stock client never does (a packet while pending).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { io } from 'socket.io-client';
import { SIO_SEMANTICS, startServer, until } from './helpers.mjs';
import { EioSocket, destroyAll, settle } from './rawlib.mjs';

const TRANSPORTS = [
  { name: 'websocket', opts: { transports: ['websocket'] } },
  { name: 'polling', opts: { transports: ['polling'], upgrade: false } },
];

let server;
const sockets = [];
before(async () => { server = await startServer(SIO_SEMANTICS); });
after(async () => {
  for (const s of sockets) s.disconnect();
  destroyAll();
  if (server) assert.equal(await server.stop(), 0, `server exit status; output:\n${server.output().slice(-4000)}`);
});

function client(nsp, opts) {
  const s = io(server.url + nsp, { forceNew: true, reconnection: false, ...opts });
  sockets.push(s);
  return s;
}

// Resolves to { connected: true } or { error } (the connect_error), whichever comes first.
function outcome(socket, timeoutMs = 8000) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('neither connect nor connect_error')), timeoutMs);
    socket.once('connect', () => { clearTimeout(t); resolve({ connected: true }); });
    socket.once('connect_error', (error) => { clearTimeout(t); resolve({ error }); });
  });
}

const logs = () => server.output().split('\n').filter((l) => l.startsWith('semantics: ')).map((l) => JSON.parse(l.slice(11)));

for (const { name, opts } of TRANSPORTS) {
  describe(`async middleware over ${name}`, { timeout: 60000 }, () => {
    it('lets the socket in after the delay; the next middleware and the connection handler run then', async () => {
      const started = Date.now();
      const s = client('/async', { ...opts, auth: { delay: 300 } });
      const r = await outcome(s);
      assert.deepEqual(r, { connected: true });
      assert.ok(Date.now() - started >= 250, 'connected before the middleware answered');
      const echoed = await new Promise((resolve) => { s.once('echo', (...a) => resolve(a)); s.emit('echo', 1, 'two'); });
      assert.deepEqual(echoed, [1, 'two']);
      const hs = await s.timeout(3000).emitWithAck('handshake');
      assert.deepEqual(hs.mw, ['async', 'async-second']); // both ran, in order
      assert.ok(logs().some((l) => l.type === 'connect' && l.nsp === '/async' && l.id === s.id));
      s.disconnect();
    });

    it('refuses later with a message and data', async () => {
      const s = client('/async', { ...opts, auth: { delay: 100, verdict: 'refuse' } });
      const r = await outcome(s);
      assert.equal(r.error?.message, 'refused later');
      assert.deepEqual(r.error?.data, { content: 'later' });
      assert.equal(s.connected, false);
    });

    it('a synchronous middleware after the pending one can still refuse', async () => {
      const s = client('/async', { ...opts, auth: { delay: 50, second: 'refuse' } });
      const r = await outcome(s);
      assert.equal(r.error?.message, 'refused by second');
    });

    it('a pending socket gets no broadcast, and counts in no room, until it is connected', async () => {
      const x = client('/async', { ...opts, auth: { delay: 0 } });
      assert.deepEqual(await outcome(x), { connected: true });
      const p = client('/async', { ...opts, auth: { delay: 800 } });
      const pEvents = [];
      p.onAny((e, ...a) => pEvents.push([e, ...a]));
      const pDone = outcome(p);
      await settle(200); // p's CONNECT is in; its middleware joined it to "waiting" and is pending
      // x is in "waiting" too (every /async socket is): it alone counts while p is pending
      assert.equal(await x.timeout(3000).emitWithAck('emit', { to: 'waiting' }, 'hello-waiting', 1), 1);
      assert.equal(await x.timeout(3000).emitWithAck('room-count', 'waiting'), 1);
      assert.deepEqual(await pDone, { connected: true });
      assert.equal(await x.timeout(3000).emitWithAck('room-count', 'waiting'), 2);
      assert.equal(await x.timeout(3000).emitWithAck('emit', { to: 'waiting' }, 'hello-waiting', 2), 2);
      await until(() => pEvents.length > 0, 3000, 'the broadcast after connecting');
      assert.deepEqual(pEvents, [['hello-waiting', 2]]);
      x.disconnect();
      p.disconnect();
    });

    it('a middleware run after a pending one may disconnect the socket itself; the server goes on', async () => {
      const d = client('/async', { ...opts, auth: { delay: 50, second: 'drop' } });
      const closed = new Promise((resolve) => d.io.once('close', (reason) => resolve(reason)));
      const r = await Promise.race([outcome(d), closed.then((reason) => ({ closed: reason }))]);
      assert.equal(r.connected, undefined, 'it connected although its middleware dropped it');
      const ok = client('/async', { ...opts, auth: { delay: 10 } });
      assert.deepEqual(await outcome(ok), { connected: true });
      ok.disconnect();
    });

    it('several pending at once are answered each to its own socket', async () => {
      const delays = [400, 50, 250, 0, 150];
      const ss = delays.map((delay, i) => client('/async', { ...opts, auth: { delay, verdict: i % 2 ? 'refuse' : 'ok' } }));
      const rs = await Promise.all(ss.map((s) => outcome(s)));
      rs.forEach((r, i) => {
        if (i % 2) assert.equal(r.error?.message, 'refused later', `socket ${i}`);
        else assert.deepEqual(r, { connected: true }, `socket ${i}`);
      });
      for (const [i, s] of ss.entries()) if (!(i % 2)) s.disconnect();
    });

    it('a client that leaves while pending is forgotten; the server goes on', async () => {
      const s = client('/async', { ...opts, auth: { delay: 600 } });
      await settle(150); // the CONNECT is in and pending
      s.disconnect();
      const before = logs().filter((l) => l.type === 'pending-gone').length;
      await until(() => logs().filter((l) => l.type === 'pending-gone').length > before, 5000, 'pending-gone logged');
      const again = client('/async', { ...opts, auth: { delay: 10 } });
      assert.deepEqual(await outcome(again), { connected: true });
      again.disconnect();
    });
  });
}

describe('async middleware, raw', { timeout: 30000 }, () => {
  it('an EVENT for a namespace still pending closes the session (invalid state, as Node)', async () => {
    const e = await EioSocket.connect(server.port);
    e.send('40/async,{"delay":1000}');
    await settle(100);
    e.send('42/async,["echo",1]');
    const r = await e.waitClose(3000);
    assert.ok(!r.packets.some((p) => String(p).startsWith('40/async,{"sid"')), 'connected after all');
  });

  it('a DISCONNECT while pending drops the socket; the session stays usable', async () => {
    const e = await EioSocket.connect(server.port);
    e.send('40/async,{"delay":300}');
    await settle(100);
    const gone = logs().filter((l) => l.type === 'pending-gone').length;
    e.send('41/async,');
    await until(() => logs().filter((l) => l.type === 'pending-gone').length > gone, 5000, 'pending-gone');
    e.send('40/async,{"delay":0}'); // the namespace can be joined again
    const p = await e.next(3000);
    assert.match(p, /^40\/async,\{"sid":"[A-Za-z0-9_-]{20}"\}$/);
    e.close();
  });
});
