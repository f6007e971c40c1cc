// SPDX-License-Identifier: MIT
// The Node reference peer of tests/e2e/redis-cluster.test.mjs: a stock socket.io server with the
// stock @socket.io/redis-adapter (classic Pub/Sub, node-redis v4), joined to the same Redis as the
// sio nodes under test.
//
// Usage: node node-peer.js PORT REDIS_URL      (PORT 0 = any free port)
// Prints "listening on http://127.0.0.1:PORT" on stderr once the adapter is subscribed, and one
// line "peer: ..." per thing it receives.
//
// Events a client can send (all optional acks are answered):
//   join  {room}                     -> socket.join(room)                               ack("ok")
//   to    {room, event, payload}     -> io.to(room).emit(event, payload)                 ack("ok")
//   tobin {room, event}              -> io.to(room).emit(event, Buffer [1,2,3,255])      ack("ok")
//   fetch                            -> ack({ ok, ids } | { ok: false, error }) from io.fetchSockets()
//   count {room}                     -> ack({ ok, n }) from io.in(room).fetchSockets()
//   serverCount                      -> ack(await io.of("/").adapter.serverCount())
//   rooms                            -> ack([...socket.rooms])
//   askall {event, timeout, payload} -> io.timeout(timeout).emit(event, payload, cb): ack({ err, responses })
//                                       once cb runs (err: null or the error's message)
//   socketsJoin  {to, except, room}  -> io.in(to).except(except).socketsJoin(room)      ack("ok")
//   socketsLeave {to, except, room}  -> ... .socketsLeave(room)                           ack("ok")
//   disconnectSockets {to, except, close} -> ... .disconnectSockets(close)               ack("ok")
//   (to, except: a room, a list of rooms, or absent)
'use strict';
const http = require('node:http');
const { Server } = require('socket.io');
const { createAdapter } = require('@socket.io/redis-adapter');
const { createClient } = require('redis');

const port = Number(process.argv[2] || 0);
const redisUrl = process.argv[3] || 'redis://127.0.0.1:6379';
const log = (...a) => process.stderr.write(`peer: ${a.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join(' ')}\n`);

async function main() {
  const pub = createClient({ url: redisUrl });
  const sub = pub.duplicate();
  pub.on('error', (e) => log('redis pub error', String(e && e.message)));
  sub.on('error', (e) => log('redis sub error', String(e && e.message)));
  await Promise.all([pub.connect(), sub.connect()]);

  const httpServer = http.createServer();
  const io = new Server(httpServer, { adapter: createAdapter(pub, sub, { requestsTimeout: 5000 }) });

  io.on('connection', (socket) => {
    log('connection', socket.id);
    socket.onAny((event, ...args) => log('event', socket.id, event, args.filter((a) => typeof a !== 'function')));
    socket.on('join', ({ room } = {}, cb) => {
      socket.join(String(room));
      if (typeof cb === 'function') cb('ok');
    });
    socket.on('to', ({ room, event, payload } = {}, cb) => {
      io.to(String(room)).emit(String(event), payload);
      if (typeof cb === 'function') cb('ok');
    });
    socket.on('tobin', ({ room, event } = {}, cb) => {
      io.to(String(room)).emit(String(event), Buffer.from([1, 2, 3, 255]));
      if (typeof cb === 'function') cb('ok');
    });
    socket.on('fetch', async (cb) => {
      const t0 = Date.now();
      try {
        const sockets = await io.fetchSockets();
        cb({ ok: true, ids: sockets.map((s) => s.id), ms: Date.now() - t0 });
      } catch (e) {
        cb({ ok: false, error: String(e && e.message), ms: Date.now() - t0 });
      }
    });
    socket.on('count', async ({ room } = {}, cb) => {
      try {
        const sockets = await io.in(String(room)).fetchSockets();
        cb({ ok: true, n: sockets.length });
      } catch (e) {
        cb({ ok: false, error: String(e && e.message) });
      }
    });
    socket.on('serverCount', async (cb) => {
      try { cb(await io.of('/').adapter.serverCount()); } catch (e) { cb(-1); }
    });
    socket.on('rooms', (cb) => {
      if (typeof cb === 'function') cb([...socket.rooms]);
    });
    socket.on('askall', ({ event, timeout, payload } = {}, cb) => {
      io.timeout(Number(timeout)).emit(String(event), payload, (err, responses) => {
        if (typeof cb === 'function') cb({ err: err ? String(err.message) : null, responses });
      });
    });
    // io.in(to).except(except): the selection of socketsJoin/socketsLeave/disconnectSockets.
    const select = ({ to, except } = {}) => {
      let op = io.of('/');
      if (to !== undefined) op = op.in(to);
      if (except !== undefined) op = op.except(except);
      return op;
    };
    socket.on('socketsJoin', (spec = {}, cb) => {
      select(spec).socketsJoin(String(spec.room));
      if (typeof cb === 'function') cb('ok');
    });
    socket.on('socketsLeave', (spec = {}, cb) => {
      select(spec).socketsLeave(String(spec.room));
      if (typeof cb === 'function') cb('ok');
    });
    socket.on('disconnectSockets', (spec = {}, cb) => {
      if (typeof cb === 'function') cb('ok'); // before: the caller may be among those disconnected
      select(spec).disconnectSockets(!!spec.close);
    });
    socket.on('disconnect', (reason) => log('disconnect', socket.id, reason));
  });

  httpServer.listen(port, '127.0.0.1', () => {
    process.stderr.write(`listening on http://127.0.0.1:${httpServer.address().port}\n`);
  });

  const stop = () => {
    io.close();
    Promise.allSettled([pub.quit(), sub.quit()]).finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((e) => {
  process.stderr.write(`peer: fatal: ${e && e.stack}\n`);
  process.exit(1);
});
