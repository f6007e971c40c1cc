// SPDX-License-Identifier: MIT
// Issue 3's server semantics, end to end, with the real socket.io-client against the test server
// tests/servers/semantics.c (its event protocol is documented at the top of that file), plus the
// examples examples/echo and examples/rooms, plus python-socketio as a second, independent client.
// Docs: protocol.md B4 (namespaces, middleware), B5 (DISCONNECT), B6 (acks), B7 (binary), B8 (rooms,
// broadcasting, volatile), B9 (disconnect reasons), A2 (allowRequest).
//
// What only the server can see (disconnect reasons, the rooms a "disconnecting" hook sees) it logs
// on stderr as `semantics: {json}` lines, which the tests read from server.output().
// "X did not receive Y" is asserted after a fence: an event broadcast after Y to the same sockets.
// A socket receives packets in the order the server sent them, so once the fence has arrived
// everywhere, Y has arrived wherever it was going to.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { io, Manager } from 'socket.io-client';
import { ROOT, SIO_SEMANTICS, SIO_ECHO, SIO_ROOMS, startServer, once, until } from './helpers.mjs';
import { EioSocket, Polling, SID_RE, settle, destroyAll, show } from './rawlib.mjs';

const TIMEOUT = { timeout: 60000 }; // per describe; every individual wait is bounded far below this
const WS = { transports: ['websocket'] };
const POLLING = { transports: ['polling'], upgrade: false };
const TRANSPORTS = [
  { name: 'websocket', opts: WS },
  { name: 'polling', opts: POLLING },
];

// ====== Helpers ======

// Starts `bin` for one describe() and gives it a client factory; after(): every client
// disconnected, every raw connection destroyed, and the server stopped with exit status 0.
function useServer(bin = SIO_SEMANTICS, args = []) {
  const ctx = { sockets: [] };
  before(async () => { ctx.server = await startServer(bin, args); ctx.url = ctx.server.url; ctx.port = ctx.server.port; });
  after(async () => {
    for (const s of ctx.sockets) s.disconnect();
    destroyAll();
    if (ctx.server) assert.equal(await ctx.server.stop(), 0, `server exit status; output:\n${ctx.server.output().slice(-4000)}`);
  });
  // A socket as the tests use it: a fresh Manager, no reconnection, connect() called by the test.
  ctx.client = (nsp = '/', opts = {}) => {
    const s = io(ctx.url + nsp, { forceNew: true, reconnection: false, autoConnect: false, ...WS, ...opts });
    ctx.sockets.push(s);
    return s;
  };
  // A connected socket.
  ctx.connected = async (nsp = '/', opts = {}) => {
    const s = ctx.client(nsp, opts);
    await connect(s);
    return s;
  };
  return ctx;
}

// Calls connect() and resolves on `connect`; rejects with the message of a `connect_error`.
function connect(socket, timeoutMs = 10000) {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      clearTimeout(timer);
      socket.off('connect', onConnect);
      socket.off('connect_error', onError);
    };
    const onConnect = () => { cleanup(); resolve(); };
    const onError = (err) => { cleanup(); reject(new Error(`connect_error: ${err.message}`)); };
    const timer = setTimeout(() => { cleanup(); reject(new Error('timeout waiting for "connect"')); }, timeoutMs);
    socket.on('connect', onConnect);
    socket.on('connect_error', onError);
    socket.connect();
  });
}

// The opposite: calls connect() and resolves with the `connect_error` Error (its .data included).
function connectError(socket, timeoutMs = 10000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timeout waiting for "connect_error"')), timeoutMs);
    socket.once('connect', () => { clearTimeout(timer); reject(new Error('connected, but a connect_error was expected')); });
    socket.once('connect_error', (err) => { clearTimeout(timer); resolve(err); });
    socket.connect();
  });
}

// Binary arrives as a Buffer or an ArrayBuffer depending on the transport: compare bytes.
function normalize(value) {
  if (value instanceof ArrayBuffer) return Buffer.from(value);
  if (ArrayBuffer.isView(value)) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (Array.isArray(value)) return value.map(normalize);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalize(v)]));
  return value;
}

// emitWithAck with a bound: resolves with the first argument of the server's ack.
const ask = (s, ev, ...args) => s.timeout(5000).emitWithAck(ev, ...args);

// All arguments of the server's ack (the callback form).
const askAll = (s, ev, ...args) => new Promise((resolve, reject) => {
  s.timeout(5000).emit(ev, ...args, (err, ...back) => (err ? reject(err) : resolve(normalize(back))));
});

// The server's `semantics: {json}` log lines, parsed.
function logs(server) {
  return server.output().split('\n').filter((l) => l.startsWith('semantics: ')).map((l) => JSON.parse(l.slice(11)));
}

// Waits for a log entry matching `pred` and returns it.
async function waitLog(server, pred, what, timeoutMs = 5000) {
  let found;
  try {
    await until(() => (found = logs(server).find(pred)), timeoutMs, what);
  } catch (e) {
    throw new Error(`${e.message}; server log:\n${logs(server).map((l) => JSON.stringify(l)).join('\n')}`);
  }
  return found;
}
const gone = (server, id, type = 'disconnect') => waitLog(server, (l) => l.type === type && l.id === id, `"${type}" of ${id}`);

// Records every `event` each socket receives: rec.get(socket) is a list of argument lists.
function record(sockets, event) {
  const rec = new Map();
  for (const s of sockets) {
    rec.set(s, []);
    s.on(event, (...args) => rec.get(s).push(normalize(args)));
  }
  return rec;
}

// Broadcasts a `fence` event to every socket of `from`'s namespace and waits until each socket in
// `sockets` has it (see the top of the file).
let fences = 0;
async function fence(from, sockets) {
  const token = `fence-${++fences}`;
  const arrived = sockets.map((s) => once(s, 'fence'));
  await ask(from, 'emit', {}, 'fence', token);
  for (const got of await Promise.all(arrived)) assert.deepEqual(got, [token]);
}

// Waits for the next `event` on s whose first argument's tag is `tag`.
function result(s, event, tag, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { s.off(event, h); reject(new Error(`timeout waiting for "${event}" tag ${tag}`)); }, timeoutMs);
    const h = (r) => { if (r && r.tag === tag) { clearTimeout(timer); s.off(event, h); resolve(normalize(r)); } };
    s.on(event, h);
  });
}

const sorted = (list) => [...list].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

// The 3-attachment payload of the server's `binary` event (tests/servers/semantics.c, examples/echo.c).
const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
const THREE = { file: Buffer.from([1, 2, 3]), parts: [Buffer.from('hello'), { deep: ALL_BYTES }], name: 'three' };

// ====== Namespaces and middleware ======

describe('namespaces: several on one connection, dynamic ones, middleware errors with data', TIMEOUT, () => {
  const ctx = useServer();

  it('"/", "/admin" and "/dynamic-42" are multiplexed on one Manager, each with its own socket', async () => {
    const manager = new Manager(ctx.url, { reconnection: false, autoConnect: false, ...WS });
    const root = manager.socket('/');
    const admin = manager.socket('/admin', { auth: { token: 'ok' } });
    const dyn = manager.socket('/dynamic-42');
    ctx.sockets.push(root, admin, dyn);
    await Promise.all([connect(root), connect(admin), connect(dyn)]);
    assert.equal(admin.io, root.io);
    assert.equal(dyn.io, root.io);
    const engineId = root.io.engine.id;
    const ids = new Set([root.id, admin.id, dyn.id]);
    assert.equal(ids.size, 3, 'three different socket ids');
    for (const id of ids) assert.match(id, SID_RE);

    const [hr, ha, hd] = await Promise.all([ask(root, 'handshake', {}), ask(admin, 'handshake', {}), ask(dyn, 'handshake', {})]);
    assert.deepEqual([hr.nsp, hr.id, hr.mw], ['/', root.id, ['root']]);
    assert.deepEqual([ha.nsp, ha.id, ha.mw], ['/admin', admin.id, ['admin']]);
    assert.deepEqual([hd.nsp, hd.id, hd.mw], ['/dynamic-42', dyn.id, ['dynamic-parent']]);

    // Packets are routed by namespace: each echo comes back on its own socket only.
    const echoes = record([root, admin, dyn], 'echo');
    root.emit('echo', 'on /');
    admin.emit('echo', 'on /admin');
    dyn.emit('echo', 'on /dynamic-42');
    await until(() => [root, admin, dyn].every((s) => echoes.get(s).length === 1), 5000, 'three echoes');
    assert.deepEqual(echoes.get(root), [['on /']]);
    assert.deepEqual(echoes.get(admin), [['on /admin']]);
    assert.deepEqual(echoes.get(dyn), [['on /dynamic-42']]);

    // The same room name in two namespaces is two rooms; a namespace-wide emit stays in its namespace.
    assert.deepEqual(await ask(root, 'join', 'shared'), [root.id, 'shared']);
    assert.deepEqual(await ask(admin, 'join', 'shared'), [admin.id, 'shared']);
    const msgs = record([root, admin, dyn], 'msg');
    assert.equal(await ask(root, 'emit', { to: 'shared' }, 'msg', 'root room'), 1);
    assert.equal(await ask(dyn, 'emit', {}, 'msg', 'dynamic all'), 1);
    // io.of("/admin").emit() from a handler of "/".
    assert.equal(await ask(root, 'emit', { nsp: '/admin' }, 'msg', 'to admin'), 1);
    await Promise.all([fence(root, [root]), fence(admin, [admin]), fence(dyn, [dyn])]);
    assert.deepEqual(msgs.get(root), [['root room']]);
    assert.deepEqual(msgs.get(admin), [['to admin']]);
    assert.deepEqual(msgs.get(dyn), [['dynamic all']]);

    // Leaving one namespace keeps the others and the session.
    const adminId = admin.id;
    admin.disconnect();
    await gone(ctx.server, adminId);
    assert.deepEqual(await askAll(root, 'echo-ack', 'still here'), ['still here']);
    assert.deepEqual(await askAll(dyn, 'echo-ack', 'me too'), ['me too']);
    assert.equal(root.io.engine.id, engineId, 'same Engine.IO session');
  });

  it('a dynamic namespace is created on demand by the predicate; others get "Invalid namespace"', async () => {
    const a = await ctx.connected('/dynamic-7');
    const b = await ctx.connected('/dynamic-8');
    assert.equal((await ask(a, 'handshake', {})).nsp, '/dynamic-7');
    assert.equal((await ask(b, 'handshake', {})).nsp, '/dynamic-8');
    // Two children are two namespaces: a namespace-wide emit in one does not reach the other.
    const msgs = record([a, b], 'msg');
    assert.equal(await ask(a, 'emit', {}, 'msg', 'seven'), 1);
    await Promise.all([fence(a, [a]), fence(b, [b])]);
    assert.deepEqual(msgs.get(a), [['seven']]);
    assert.deepEqual(msgs.get(b), []);
    // A second client on an existing child joins the same namespace.
    const a2 = await ctx.connected('/dynamic-7');
    assert.equal(await ask(a2, 'emit', {}, 'msg', 'both'), 2);

    for (const nsp of ['/dynamic-x', '/dynamic-', '/dynamic-4x2', '/nope', '/admin2']) {
      const err = await connectError(ctx.client(nsp));
      assert.equal(err.message, 'Invalid namespace', nsp);
    }
  });

  it('the parent\'s middleware runs for every child and can refuse', async () => {
    const err = await connectError(ctx.client('/dynamic-9', { auth: { reject: true } }));
    assert.equal(err.message, 'rejected by parent');
    assert.equal(err.data, undefined);
    const ok = await ctx.connected('/dynamic-9', { auth: { reject: false } });
    assert.deepEqual((await ask(ok, 'handshake', {})).mw, ['dynamic-parent']);
  });

  it('middleware refusal with data: err.message and err.data as sio_reject_data() set them', async () => {
    for (const auth of [{ token: 'wrong' }, {}, undefined]) {
      const s = ctx.client('/admin', auth === undefined ? {} : { auth });
      const err = await connectError(s);
      assert.equal(err.message, 'not authorized');
      assert.deepEqual(err.data, { content: 'Please retry later' });
      assert.equal(s.connected, false);
    }
    // Without data: no err.data at all.
    const err = await connectError(ctx.client('/', { auth: { fail: true } }));
    assert.equal(err.message, 'failed without data');
    assert.equal(err.data, undefined);
  });

  it('a refused namespace does not disturb the others on the same connection, and may be retried', async () => {
    const root = await ctx.connected('/');
    const admin = root.io.socket('/admin', { auth: { token: 'bad' } });
    ctx.sockets.push(admin);
    const err = await connectError(admin);
    assert.deepEqual([err.message, err.data], ['not authorized', { content: 'Please retry later' }]);
    assert.equal(root.connected, true);
    assert.deepEqual(await askAll(root, 'echo-ack', 1), [1]);
    admin.auth = { token: 'ok' };
    await connect(admin);
    assert.equal(admin.io.engine.id, root.io.engine.id);
    assert.equal((await ask(admin, 'handshake', {})).nsp, '/admin');
  });
});

// ====== socket.handshake ======

describe('socket.handshake: headers, query, url, address, time, auth', TIMEOUT, () => {
  const ctx = useServer();

  for (const transport of TRANSPORTS) {
    it(`over ${transport.name}`, async () => {
      const before = Date.now();
      const s = ctx.client('/', {
        ...transport.opts,
        extraHeaders: { 'X-Test': 'yes' },
        query: { foo: 'bar baz', n: '1' },
        auth: { token: 'abc', n: 1, nested: { list: [true, null] } },
      });
      await connect(s);
      const after = Date.now();
      const hs = await ask(s, 'handshake', {
        headers: ['x-test', 'X-TEST', 'host', 'not-sent'],
        query: ['foo', 'n', 'EIO', 'transport', 'absent'],
      });
      assert.equal(hs.id, s.id);
      assert.equal(hs.nsp, '/');
      assert.deepEqual(hs.headers, { 'x-test': 'yes', 'X-TEST': 'yes', host: `127.0.0.1:${ctx.port}`, 'not-sent': null });
      assert.deepEqual(hs.query, { foo: 'bar baz', n: '1', EIO: '4', transport: transport.name, absent: null });
      assert.match(hs.url, /^\/socket\.io\/\?/);
      assert.match(hs.url, /[?&]EIO=4(&|$)/);
      assert.match(hs.url, new RegExp(`[?&]transport=${transport.name}(&|$)`));
      assert.match(hs.url, /[?&]foo=bar(%20|\+)baz(&|$)/);
      assert.doesNotMatch(hs.url, /[?&]sid=/, 'the url of the first request, which has no sid');
      assert.equal(hs.address, '127.0.0.1');
      assert.equal(typeof hs.time, 'number');
      assert.ok(hs.time >= before - 1000 && hs.time <= after + 1000, `time ${hs.time} not in [${before}, ${after}]`);
      assert.deepEqual(hs.auth, { token: 'abc', n: 1, nested: { list: [true, null] } });
      assert.equal(hs.connected, true);
    });
  }

  it('without auth, handshake.auth is {}', async () => {
    const s = await ctx.connected('/');
    assert.deepEqual((await ask(s, 'handshake', {})).auth, {});
  });

  it('after an upgrade the handshake is still the first (polling) request\'s', async () => {
    const s = ctx.client('/', { transports: ['polling', 'websocket'], query: { q: 'x' } });
    await connect(s);
    await until(() => s.io.engine.transport.name === 'websocket', 5000, 'the upgrade');
    const hs = await ask(s, 'handshake', { query: ['transport', 'q'] });
    assert.deepEqual(hs.query, { transport: 'polling', q: 'x' });
  });
});

// ====== Rooms and broadcasting ======

describe('rooms and broadcasting (to, except, several rooms, broadcast, namespace-wide, socketsJoin …)', TIMEOUT, () => {
  const ctx = useServer();
  let A, B, C, D, all, msgs;

  before(async () => {
    [A, B, C, D] = await Promise.all([0, 1, 2, 3].map(() => ctx.connected('/')));
    all = [A, B, C, D];
    msgs = record(all, 'msg');
  });

  // The `msg` events each socket got since the last call (after a fence), as first arguments.
  async function delivered(from = D) {
    await fence(from, all);
    const out = all.map((s) => msgs.get(s).map((args) => args[0]));
    for (const s of all) msgs.get(s).length = 0;
    return out;
  }

  it('join acks the rooms, own id first; sio_socket_in', async () => {
    assert.deepEqual(await ask(A, 'rooms'), [A.id]);
    assert.deepEqual(await ask(A, 'join', 'r1'), [A.id, 'r1']);
    assert.deepEqual(await ask(B, 'join', ['r1', 'r2']), [B.id, 'r1', 'r2']);
    assert.deepEqual(await ask(C, 'join', 'r2'), [C.id, 'r2']);
    assert.deepEqual(await ask(A, 'join', 'r1'), [A.id, 'r1'], 'joining twice is a no-op');
    assert.equal(await ask(A, 'in', 'r1'), true);
    assert.equal(await ask(A, 'in', 'r2'), false);
    assert.equal(await ask(A, 'in', A.id), true, 'the own id room counts');
    assert.equal(await ask(A, 'in', B.id), false);
    assert.equal(await ask(D, 'room-count', 'r1'), 2);
    assert.equal(await ask(D, 'room-count', 'r2'), 2);
    assert.equal(await ask(D, 'room-count', A.id), 1);
    assert.equal(await ask(D, 'room-count', 'nobody'), 0);
  });

  it('to several rooms: each member once (B is in both)', async () => {
    assert.equal(await ask(D, 'emit', { to: ['r1', 'r2'] }, 'msg', 'r1+r2'), 3);
    assert.deepEqual(await delivered(), [['r1+r2'], ['r1+r2'], ['r1+r2'], []]);
  });

  it('except removes the members of a room', async () => {
    assert.equal(await ask(D, 'emit', { to: ['r1', 'r2'], except: 'r2' }, 'msg', 'r1-r2'), 1);
    assert.equal(await ask(D, 'emit', { except: ['r1', C.id] }, 'msg', 'all-r1-C'), 1);
    assert.deepEqual(await delivered(), [['r1-r2'], [], [], ['all-r1-C']]);
  });

  it('broadcast excludes the sender; socket.to(room) too, even when the sender is in the room', async () => {
    assert.equal(await ask(B, 'emit', { broadcast: true }, 'msg', 'from B'), 3);
    assert.equal(await ask(B, 'emit', { broadcast: true, to: 'r1' }, 'msg', 'B to r1'), 1);
    assert.equal(await ask(B, 'emit', { broadcast: true, to: ['r1', 'r2'], except: A.id }, 'msg', 'B to r1+r2 but A'), 1);
    assert.deepEqual(await delivered(), [['from B', 'B to r1'], [], ['from B', 'B to r1+r2 but A'], ['from B']]);
  });

  it('namespace-wide emit reaches everyone, the requester included; a socket id is a room', async () => {
    assert.equal(await ask(D, 'emit', {}, 'msg', 'everyone'), 4);
    assert.equal(await ask(D, 'emit', { to: C.id }, 'msg', 'just C'), 1);
    assert.equal(await ask(D, 'emit', { to: [C.id, A.id, 'r1'] }, 'msg', 'C, A, r1'), 3);
    assert.equal(await ask(D, 'emit', { local: true }, 'msg', 'local'), 4);
    assert.deepEqual(await delivered(), [['everyone', 'C, A, r1', 'local'], ['everyone', 'C, A, r1', 'local'],
      ['everyone', 'just C', 'C, A, r1', 'local'], ['everyone', 'local']]);
  });

  it('binary broadcast: every recipient gets the attachments', async () => {
    const file = Buffer.from([0xde, 0xad, 0xbe, 0xef]);
    assert.equal(await ask(D, 'emit', { to: 'r2' }, 'msg', { file, list: [Buffer.from('x')] }), 2);
    const got = await delivered();
    assert.deepEqual(got[1], [{ file, list: [Buffer.from('x')] }]);
    assert.deepEqual(got[2], [{ file, list: [Buffer.from('x')] }]);
    assert.deepEqual([got[0], got[3]], [[], []]);
  });

  it('leave, then the room no longer reaches the socket', async () => {
    assert.deepEqual(await ask(A, 'leave', 'r1'), [A.id]);
    assert.deepEqual(await ask(A, 'leave', 'never-joined'), [A.id]);
    assert.equal(await ask(D, 'emit', { to: 'r1' }, 'msg', 'r1 after A left'), 1);
    assert.deepEqual(await delivered(), [[], ['r1 after A left'], [], []]);
  });

  it('fetchSockets-style iteration (sio_op_each): each selected socket once', async () => {
    assert.deepEqual(sorted(await ask(D, 'each', { to: ['r1', 'r2'] })), sorted([B.id, C.id]));
    assert.deepEqual(sorted(await ask(D, 'each', {})), sorted(all.map((s) => s.id)));
    assert.deepEqual(sorted(await ask(D, 'each', { except: 'r2' })), sorted([A.id, D.id]));
    assert.deepEqual(await ask(D, 'each', { to: 'empty' }), []);
    assert.deepEqual(sorted(await ask(B, 'each', { broadcast: true, to: 'r2' })), [C.id]);
  });

  it('socketsJoin / socketsLeave on a selection', async () => {
    assert.equal(await ask(D, 'sockets-join', { to: 'r2' }, 'r3'), 2);
    assert.deepEqual(sorted(await ask(D, 'each', { to: 'r3' })), sorted([B.id, C.id]));
    assert.deepEqual(await ask(C, 'rooms'), [C.id, 'r2', 'r3']);
    assert.equal(await ask(D, 'sockets-leave', { to: 'r3', except: C.id }, 'r3'), 1);
    assert.deepEqual(await ask(D, 'each', { to: 'r3' }), [C.id]);
    assert.equal(await ask(D, 'room-count', 'r3'), 1);
  });

  it('disconnecting sees the rooms; then the socket has left all of them', async () => {
    assert.deepEqual(sorted(await ask(B, 'rooms')), sorted([B.id, 'r1', 'r2']));
    const id = B.id;
    B.disconnect();
    const ing = await gone(ctx.server, id, 'disconnecting');
    const ed = await gone(ctx.server, id);
    // Node (socket.ts _onclose): "disconnecting" runs with the socket still in its rooms and still
    // connected; then it leaves every room, connected becomes false, and "disconnect" runs.
    assert.deepEqual({
      reason: ing.reason,
      ownIdFirst: ing.rooms[0] === id,
      roomsDuring: sorted(ing.rooms),
      idRoomCountDuring: ing.count,
      connectedDuring: ing.connected,
      reasonAfter: ed.reason,
      roomsAfter: ed.rooms,
      idRoomCountAfter: ed.count,
      connectedAfter: ed.connected,
    }, {
      reason: 'client namespace disconnect',
      ownIdFirst: true,
      roomsDuring: sorted([id, 'r1', 'r2']),
      idRoomCountDuring: 1, // sio_room_count(nsp, id) still sees it
      connectedDuring: 1, // socket.connected is still true in "disconnecting"
      reasonAfter: 'client namespace disconnect',
      roomsAfter: 0, // sio_socket_rooms() in "disconnect": none (Node: socket.rooms is empty)
      idRoomCountAfter: 0,
      connectedAfter: 0,
    });
    assert.equal(await ask(D, 'room-count', 'r1'), 0, 'r1 is gone with its last member');
    assert.equal(await ask(D, 'room-count', 'r2'), 1);
  });

  it('disconnectSockets on a selection: "io server disconnect" on the client, "server namespace disconnect" on the server', async () => {
    all = all.filter((s) => s !== B);
    const cGone = once(C, 'disconnect');
    const cId = C.id; // the client forgets its id when disconnected
    assert.equal(await ask(D, 'sockets-disconnect', { to: 'r2' }, false), 1);
    assert.equal((await cGone)[0], 'io server disconnect');
    const ed = await gone(ctx.server, cId);
    assert.equal(ed.reason, 'server namespace disconnect');
    assert.equal(await ask(D, 'room-count', 'r2'), 0);
    assert.equal(A.connected && D.connected, true);
  });
});

// ====== volatile ======

describe('volatile: delivered when the transport is writable, dropped when it is not', TIMEOUT, () => {
  const ctx = useServer();

  it('a WebSocket client gets a volatile emit', async () => {
    const [a, d] = await Promise.all([ctx.connected('/'), ctx.connected('/')]);
    const got = once(a, 'msg');
    await ask(d, 'emit', { volatile: true, broadcast: true }, 'msg', 'volatile');
    assert.deepEqual(await got, ['volatile']);
  });

  it('a polling client with a GET pending gets it; without one it is dropped, a normal emit is kept', async () => {
    const d = await ctx.connected('/');
    const p = new Polling(ctx.port);
    await p.handshake();
    assert.equal((await p.post('40')).text, 'ok');
    const [reply] = await p.collect(1);
    assert.match(reply, /^40\{"sid":"[A-Za-z0-9_-]{20}"\}$/);

    // No GET pending now: the volatile packet is dropped, the next one is queued.
    await ask(d, 'emit', { volatile: true, broadcast: true }, 'msg', 'dropped');
    await ask(d, 'emit', { broadcast: true }, 'msg', 'kept');
    assert.deepEqual(await p.collect(1), ['42["msg","kept"]']);

    // A GET held by the server: the transport is writable, the volatile packet goes out.
    const held = p.collect(1, { timeoutMs: 5000 });
    await settle(200); // no observable "the GET is now held"; give the server's loop time to take it
    await ask(d, 'emit', { volatile: true, broadcast: true }, 'msg', 'delivered');
    assert.deepEqual(await held, ['42["msg","delivered"]']);
  });

  it('many volatile emits in a row never crash the server and never reorder', async () => {
    const [a, d] = await Promise.all([ctx.connected('/'), ctx.connected('/', POLLING)]);
    const seen = record([a, d], 'msg');
    for (let i = 0; i < 50; i++) d.emit('emit', { volatile: true }, 'msg', i);
    await fence(a, [a, d]);
    for (const s of [a, d]) {
      const nums = seen.get(s).map((args) => args[0]);
      assert.deepEqual(nums, [...nums].sort((x, y) => x - y), 'in order');
      assert.equal(new Set(nums).size, nums.length, 'no duplicates');
    }
    assert.ok(seen.get(a).length > 0, 'the WebSocket client got some');
  });
});

// ====== Acks, both ways ======

for (const transport of TRANSPORTS) {
  describe(`acks over ${transport.name}: client->server, server->client with and without timeout`, TIMEOUT, () => {
    const ctx = useServer();
    let s;
    before(async () => { s = await ctx.connected('/', transport.opts); });

    it('client->server: the handler acks with the same arguments, binary included', async () => {
      assert.deepEqual(await askAll(s, 'echo-ack'), []);
      assert.deepEqual(await askAll(s, 'echo-ack', 1, 'two', { three: [3, null] }), [1, 'two', { three: [3, null] }]);
      const bin = { a: Buffer.from([1, 2]), b: [Buffer.from([]), { c: Buffer.from('nested') }] };
      assert.deepEqual(await askAll(s, 'echo-ack', 'x', bin), ['x', bin]);
    });

    it('server->client: the client\'s ack arguments come back to the server', async () => {
      s.on('q', (n, cb) => cb('answer', { n }));
      const r = result(s, 'server-ack-result', 1);
      assert.equal(await ask(s, 'server-ack', { timeout: 5000, tag: 1 }, 'q', 7), 0);
      assert.deepEqual(await r, { tag: 1, err: null, reply: ['answer', { n: 7 }] });
    });

    it('server->client: a client that withholds its ack -> "operation has timed out"', async () => {
      let asked = 0;
      s.on('ignored', () => { asked++; });
      const r = result(s, 'server-ack-result', 2);
      assert.equal(await ask(s, 'server-ack', { timeout: 200, tag: 2 }, 'ignored', 'x'), 0);
      assert.deepEqual(await r, { tag: 2, err: 'operation has timed out', reply: [] });
      assert.equal(asked, 1);
    });

    it('server->client: an ack after the timeout is ignored (one result only)', async () => {
      let answered = false;
      s.on('late', (cb) => setTimeout(() => { cb('too late'); answered = true; }, 400));
      const results = [];
      s.on('server-ack-result', (r) => { if (r.tag === 3) results.push(r); });
      assert.equal(await ask(s, 'server-ack', { timeout: 100, tag: 3 }, 'late'), 0);
      await until(() => answered, 5000, 'the late answer');
      assert.deepEqual(await askAll(s, 'echo-ack', 'after'), ['after']); // the late ack has been processed
      assert.deepEqual(results, [{ tag: 3, err: 'operation has timed out', reply: [] }]);
    });

    it('server->client without a timeout waits as long as it takes', async () => {
      s.on('slow', (cb) => setTimeout(() => cb('slow but sure'), 300));
      const r = result(s, 'server-ack-result', 4);
      assert.equal(await ask(s, 'server-ack', { timeout: 0, tag: 4 }, 'slow'), 0);
      assert.deepEqual(await r, { tag: 4, err: null, reply: ['slow but sure'] });
    });

    it('server->client: binary in the client\'s ack (BINARY_ACK from the client)', async () => {
      const bytes = Buffer.from([0, 1, 2, 255]);
      s.on('give-binary', (cb) => cb(bytes, { deep: [Buffer.from('deep')] }));
      const r = result(s, 'server-ack-result', 5);
      assert.equal(await ask(s, 'server-ack', { timeout: 5000, tag: 5 }, 'give-binary'), 0);
      assert.deepEqual(await r, { tag: 5, err: null, reply: [bytes, { deep: [Buffer.from('deep')] }] });
    });

    it('several server acks in flight are matched to their own answers', async () => {
      s.on('id', (n, cb) => setTimeout(() => cb(n * 10), 50 * (5 - n)));
      const rs = [1, 2, 3, 4].map((n) => result(s, 'server-ack-result', `multi-${n}`));
      for (const n of [1, 2, 3, 4]) assert.equal(await ask(s, 'server-ack', { timeout: 5000, tag: `multi-${n}` }, 'id', n), 0);
      const got = await Promise.all(rs);
      assert.deepEqual(got.map((r) => r.reply), [[10], [20], [30], [40]]);
    });
  });
}

// ====== Broadcast with acks ======

describe('broadcast with acks: the responses of every recipient, or a timeout with those so far', TIMEOUT, () => {
  const ctx = useServer();
  let A, B, C, D;

  before(async () => {
    [A, B, C, D] = await Promise.all([ctx.connected('/'), ctx.connected('/', POLLING), ctx.connected('/'), ctx.connected('/')]);
    A.on('poll', (x, cb) => cb(`a:${x}`));
    B.on('poll', (x, cb) => cb(`b:${x}`));
    C.on('poll', (x, cb) => cb({ c: x }));
    for (const s of [A, B, C]) await ask(s, 'join', 'acks');
  });

  it('every recipient answers: err null, one response each', async () => {
    const r = result(D, 'emit-with-ack-result', 'all');
    assert.equal(await ask(D, 'emit-with-ack', { to: 'acks', timeout: 5000, tag: 'all' }, 'poll', 1), 3);
    const got = await r;
    assert.equal(got.err, null);
    assert.deepEqual(sorted(got.responses), sorted(['a:1', 'b:1', { c: 1 }]));
  });

  it('socket.broadcast with acks excludes the sender', async () => {
    const r = result(A, 'emit-with-ack-result', 'bcast');
    assert.equal(await ask(A, 'emit-with-ack', { broadcast: true, to: 'acks', timeout: 5000, tag: 'bcast' }, 'poll', 2), 2);
    assert.deepEqual(sorted((await r).responses), sorted(['b:2', { c: 2 }]));
  });

  it('one recipient withholds its answer: "operation has timed out" with the others\' responses', async () => {
    const E = await ctx.connected('/');
    let asked = false;
    E.on('poll', () => { asked = true; }); // never answers
    await ask(E, 'join', 'acks');
    const r = result(D, 'emit-with-ack-result', 'partial');
    assert.equal(await ask(D, 'emit-with-ack', { to: 'acks', timeout: 500, tag: 'partial' }, 'poll', 3), 4);
    const got = await r;
    assert.equal(got.err, 'operation has timed out');
    assert.deepEqual(sorted(got.responses), sorted(['a:3', 'b:3', { c: 3 }]));
    assert.equal(asked, true);
    E.disconnect();
  });

  it('no recipient: err null, []', async () => {
    const r = result(D, 'emit-with-ack-result', 'none');
    assert.equal(await ask(D, 'emit-with-ack', { to: 'empty-room', timeout: 1000, tag: 'none' }, 'poll', 4), 0);
    assert.deepEqual(await r, { tag: 'none', err: null, responses: [] });
  });
});

// ====== Binary ======

for (const transport of TRANSPORTS) {
  describe(`binary both ways over ${transport.name}, nested attachments`, TIMEOUT, () => {
    const ctx = useServer();
    let s;
    before(async () => { s = await ctx.connected('/', transport.opts); });

    it('client->server->client: an echo with attachments at every depth', async () => {
      const payload = [
        'text',
        Buffer.from([1, 2, 3]),
        { file: Buffer.from([0, 255, 10, 13, 0x1e]), list: [Buffer.from('first'), Buffer.from([])], meta: { n: 5 } },
        [[{ deep: [Buffer.from([42])] }]],
      ];
      const back = once(s, 'echo');
      s.emit('echo', ...payload);
      assert.deepEqual(normalize(await back), payload);
    });

    it('ten attachments (the limit) in one event', async () => {
      const ten = Array.from({ length: 10 }, (_, i) => Buffer.from([i, i, i]));
      const back = once(s, 'echo');
      s.emit('echo', { ten });
      assert.deepEqual(normalize(await back), [{ ten }]);
    });

    it('a server-built event with 3 nested attachments', async () => {
      const got = once(s, 'binary');
      s.emit('binary');
      assert.deepEqual(normalize(await got), [THREE]);
    });

    it('a server ack with 3 nested attachments (BINARY_ACK)', async () => {
      const ack = askAll(s, 'binary');
      assert.deepEqual(await ack, [THREE]);
    });

    it('64 KiB attachment both ways', async () => {
      const big = Buffer.from(Array.from({ length: 65536 }, (_, i) => (i * 7 + 3) & 0xff));
      assert.deepEqual(await askAll(s, 'echo-ack', { big }), [{ big }]);
    });
  });
}

// ====== onAny / onAnyOutgoing ======

describe('catch-all listeners: onAny sees every incoming event, onAnyOutgoing every outgoing one', TIMEOUT, () => {
  const ctx = useServer();

  it('records names and arguments in order', async () => {
    const [s, other] = await Promise.all([ctx.connected('/'), ctx.connected('/')]);
    const echoed = once(s, 'echo');
    s.emit('echo', 1, 'a');
    await echoed;
    s.emit('nobody-listens', { x: 1 });
    await ask(s, 'rooms');
    const bin = once(s, 'binary');
    s.emit('binary');
    await bin;
    const msg = once(s, 'msg');
    await ask(other, 'emit', { to: s.id }, 'msg', 'broadcast to s'); // a broadcast counts as outgoing too
    await msg;
    const log = await ask(s, 'any-log');
    assert.deepEqual(log.incoming, ['echo', 'nobody-listens', 'rooms', 'binary', 'any-log']);
    assert.deepEqual(log.outgoing, [
      { name: 'echo', args: [1, 'a'] },
      { name: 'binary', nbins: 3 },
      { name: 'msg', args: ['broadcast to s'] },
    ]);
    // Acks are not events: they appear in neither list; `other` saw only its own request.
    assert.deepEqual(await ask(other, 'any-log'), { incoming: ['emit', 'any-log'], outgoing: [] });
  });
});

// ====== Disconnect reasons ======

describe('disconnect reasons as Node names them', TIMEOUT, () => {
  const ctx = useServer();

  it('"client namespace disconnect": socket.disconnect() on the client', async () => {
    const s = await ctx.connected('/');
    const id = s.id;
    s.disconnect();
    assert.equal((await gone(ctx.server, id)).reason, 'client namespace disconnect');
  });

  it('"server namespace disconnect": sio_disconnect(s, 0); the session stays for the other namespace', async () => {
    const s = await ctx.connected('/');
    const admin = s.io.socket('/admin', { auth: { token: 'ok' } });
    ctx.sockets.push(admin);
    await connect(admin);
    const clientSide = once(admin, 'disconnect');
    const adminId = admin.id; // the client forgets its id when disconnected
    admin.emit('disconnect-me', false);
    assert.equal((await clientSide)[0], 'io server disconnect');
    assert.equal((await gone(ctx.server, adminId)).reason, 'server namespace disconnect');
    assert.equal(s.connected, true);
    assert.deepEqual(await askAll(s, 'echo-ack', 'alive'), ['alive']);
  });

  for (const transport of TRANSPORTS) {
    it(`"transport close": the client closes the Engine.IO connection (${transport.name})`, async () => {
      const s = await ctx.connected('/', transport.opts);
      const id = s.id;
      s.io.engine.close();
      assert.equal((await gone(ctx.server, id)).reason, 'transport close');
    });
  }

  it('"parse error": an undecodable Engine.IO packet', async () => {
    const eio = await EioSocket.connect(ctx.port);
    eio.send('40');
    const id = JSON.parse((await eio.next()).slice(2)).sid;
    eio.send('x');
    assert.equal((await gone(ctx.server, id)).reason, 'parse error');
    eio.destroy();
  });

  it('"transport error": a ping from the client (v4 forbids it)', async () => {
    const eio = await EioSocket.connect(ctx.port);
    eio.send('40');
    const id = JSON.parse((await eio.next()).slice(2)).sid;
    eio.send('2');
    assert.equal((await gone(ctx.server, id)).reason, 'transport error');
    eio.destroy();
  });
});

// Its own server: a session closed with packets still queued is the case most likely to go wrong
// inside the server, and a crash here must not hide the results of the other tests.
describe('sio_disconnect(s, 1): every namespace gets DISCONNECT, then the session closes', TIMEOUT, () => {
  const ctx = useServer();

  for (const transport of TRANSPORTS) {
    it(`sio_disconnect(s, 1) disconnects every namespace of the client and closes the session (${transport.name})`, async () => {
      const s = await ctx.connected('/', transport.opts);
      const admin = s.io.socket('/admin', { auth: { token: 'ok' } });
      ctx.sockets.push(admin);
      await connect(admin);
      const ids = [s.id, admin.id];
      const both = [once(s, 'disconnect'), once(admin, 'disconnect')];
      const engineClosed = once(s.io.engine, 'close');
      s.emit('disconnect-me', true);
      // The client must see the DISCONNECT packets (then it does not reconnect), not just the close.
      assert.deepEqual((await Promise.all(both)).map((args) => args[0]), ['io server disconnect', 'io server disconnect']);
      await engineClosed;
      for (const id of ids) assert.equal((await gone(ctx.server, id)).reason, 'server namespace disconnect');
    });
  }
});

describe('"ping timeout": a raw WebSocket client that stops answering pings (pingInterval 200, pingTimeout 200)', TIMEOUT, () => {
  const ctx = useServer(SIO_SEMANTICS, ['--ping-interval', '200', '--ping-timeout', '200']);

  it('the silent client is dropped with "ping timeout"; a real client stays', async () => {
    const real = await ctx.connected('/');
    const eio = await EioSocket.connect(ctx.port, { autoPong: false });
    eio.send('40');
    let p;
    do p = await eio.next(); while (p === '2');
    const m = p.match(/^40\{"sid":"([^"]+)"\}$/);
    assert.ok(m, `expected the CONNECT reply, got "${show(p)}"`);
    const ed = await gone(ctx.server, m[1]);
    assert.equal(ed.reason, 'ping timeout');
    eio.destroy();
    // The real client answered its pings all along.
    assert.equal(real.connected, true);
    assert.deepEqual(await askAll(real, 'echo-ack', 'pong'), ['pong']);
  });
});

describe('"server shutting down": SIGTERM disconnects every socket, which still sees its rooms', TIMEOUT, () => {
  const ctx = useServer();

  it('exits 0 after logging the reason for every socket of every namespace', async () => {
    const s = await ctx.connected('/');
    const admin = s.io.socket('/admin', { auth: { token: 'ok' } });
    ctx.sockets.push(admin);
    await connect(admin);
    await ask(s, 'join', 'before-shutdown');
    const p = await ctx.connected('/dynamic-1', POLLING);
    const ids = [s.id, admin.id, p.id];
    const clientSaw = once(s, 'disconnect');
    assert.equal(await ctx.server.stop(), 0, ctx.server.output());
    for (const id of ids) {
      const ing = logs(ctx.server).find((l) => l.type === 'disconnecting' && l.id === id);
      const ed = logs(ctx.server).find((l) => l.type === 'disconnect' && l.id === id);
      assert.ok(ing && ed, `both hooks ran for ${id}; log:\n${ctx.server.output()}`);
      assert.equal(ing.reason, 'server shutting down');
      assert.equal(ed.reason, 'server shutting down');
      assert.equal(ing.rooms[0], id);
    }
    assert.deepEqual(logs(ctx.server).find((l) => l.type === 'disconnecting' && l.id === ids[0]).rooms, [ids[0], 'before-shutdown']);
    const [reason] = await clientSaw;
    assert.match(reason, /^(transport close|transport error|io server disconnect)$/);
  });
});

// ====== allowRequest ======

describe('allow_request refuses a handshake: 403 {"code":4,"message":"Forbidden"}', TIMEOUT, () => {
  const ctx = useServer();

  it('polling handshake with ?deny=1', async () => {
    const res = await fetch(`${ctx.url}/socket.io/?EIO=4&transport=polling&deny=1`);
    assert.equal(res.status, 403);
    assert.deepEqual(await res.json(), { code: 4, message: 'Forbidden' });
  });

  for (const transport of TRANSPORTS) {
    it(`the client gets a connect_error and no session (${transport.name})`, async () => {
      const s = ctx.client('/', { ...transport.opts, query: { deny: '1' } });
      const err = await connectError(s);
      assert.match(err.message, /(xhr poll|websocket) error/);
      assert.equal(s.connected, false);
      // The same client without the query is let in.
      const ok = await ctx.connected('/', transport.opts);
      assert.equal(ok.connected, true);
    });
  }
});

// ====== The examples ======

describe('examples/echo: echo, acks, binary', TIMEOUT, () => {
  const ctx = useServer(SIO_ECHO);

  for (const transport of TRANSPORTS) {
    it(`over ${transport.name}`, async () => {
      const s = await ctx.connected('/', transport.opts);
      const back = once(s, 'echo');
      s.emit('echo', 1, { file: Buffer.from([9, 8]), list: [Buffer.from('x')] });
      assert.deepEqual(normalize(await back), [1, { file: Buffer.from([9, 8]), list: [Buffer.from('x')] }]);
      assert.deepEqual(await askAll(s, 'anything', 'back', { b: Buffer.from([1]) }), ['back', { b: Buffer.from([1]) }]);
      assert.deepEqual(await askAll(s, 'echo', 'acked too'), ['acked too']);
      const bin = once(s, 'binary');
      s.emit('binary');
      assert.deepEqual(normalize(await bin), [THREE]);
    });
  }
});

describe('examples/rooms: join, leave, say, rooms, announce', TIMEOUT, () => {
  const ctx = useServer(SIO_ROOMS);

  it('say reaches the room but the sender; announce reaches everyone', async () => {
    const [a, b, c] = await Promise.all([ctx.connected('/'), ctx.connected('/'), ctx.connected('/', POLLING)]);
    assert.deepEqual(await ask(a, 'join', { room: 'lobby' }), [a.id, 'lobby']);
    assert.deepEqual(await ask(b, 'join', { room: 'lobby' }), [b.id, 'lobby']);
    assert.deepEqual(await ask(c, 'rooms'), [c.id]);
    const said = record([a, b, c], 'said');
    a.emit('say', { room: 'lobby', text: 'hi lobby' });
    const ann = [a, b, c].map((s) => once(s, 'announce'));
    c.emit('announce', { text: 'hello all' });
    for (const got of await Promise.all(ann)) assert.deepEqual(got, [{ text: 'hello all', from: c.id }]);
    // `say` was sent before `announce` on a's connection and is processed first by the server.
    assert.deepEqual(said.get(b), [[{ room: 'lobby', text: 'hi lobby', from: a.id }]]);
    assert.deepEqual(said.get(a), []);
    assert.deepEqual(said.get(c), []);
    assert.deepEqual(await ask(b, 'leave', { room: 'lobby' }), [b.id]);
  });
});

// ====== A second, independent client: python-socketio ======

const PYTHON = '/usr/bin/python3';
const hasPython = spawnSync(PYTHON, ['-c', 'import socketio'], { stdio: 'ignore' }).status === 0;
if (!hasPython) {
  console.log([
    '*'.repeat(78),
    `*** SKIPPED: python-socketio tests (${PYTHON} cannot import socketio).`,
    '*** Install: apt-get install -y python3-socketio python3-requests python3-websocket',
    '*'.repeat(78),
  ].join('\n'));
}

describe('python-socketio client against the semantics server', { ...TIMEOUT, skip: !hasPython && 'SKIPPED: python3-socketio is not installed' }, () => {
  const ctx = useServer();

  const runPython = (...args) => new Promise((resolve, reject) => {
    const proc = spawn(PYTHON, [path.join(ROOT, 'tests', 'e2e', 'python_client.py'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout.on('data', (d) => { out += d; });
    proc.stderr.on('data', (d) => { out += d; });
    const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error(`python client timed out:\n${out}`)); }, 30000);
    proc.on('exit', (code) => { clearTimeout(timer); resolve({ code, out }); });
  });

  for (const transport of ['websocket', 'polling']) {
    it(`namespaces, middleware data, handshake, acks both ways, binary, rooms over ${transport}`, async () => {
      const { code, out } = await runPython(ctx.url, transport, 'semantics');
      assert.equal(code, 0, out);
      assert.match(out, /all checks passed/);
      // The server saw python leave both namespaces.
      await until(() => logs(ctx.server).filter((l) => l.type === 'disconnect' && l.nsp === '/admin').length >= 1, 5000, 'the /admin disconnect');
    });
  }
});
