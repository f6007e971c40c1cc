// SPDX-License-Identifier: MIT
// End-to-end tests of ./examples/conformance with the real socket.io-client from npm.
// The conformance server is the reference set-up of the upstream test suites (protocol.md B13):
// pingInterval 300, pingTimeout 200, connectTimeout 1000, CORS "*"; namespaces "/" and "/custom";
// on connection both emit `auth` with the handshake auth object; on "/": `message` -> `message-back`
// with the same arguments (binary included, any nesting), `message-with-ack` -> the ack is called
// with the same arguments.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { io, Manager } from 'socket.io-client';
import { ROOT, SIO_CONFORMANCE, startServer, stopServer, once, until } from './helpers.mjs';

// `only` is the transport the session must stay on; the default mix upgrades at some point.
const TRANSPORTS = [
  { name: 'websocket', opts: { transports: ['websocket'] }, only: 'websocket' },
  { name: 'polling', opts: { transports: ['polling'], upgrade: false }, only: 'polling' },
  { name: 'polling then upgrade (default)', opts: {} },
];

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

// Binary arrives as a Buffer or an ArrayBuffer depending on the transport: compare bytes.
function normalize(value) {
  if (value instanceof ArrayBuffer) return Buffer.from(value);
  if (ArrayBuffer.isView(value)) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (Array.isArray(value)) return value.map(normalize);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalize(v)]));
  }
  return value;
}

// Emits `message` with args and resolves with the arguments of the `message-back` that follows.
async function echo(socket, ...args) {
  const back = once(socket, 'message-back');
  socket.emit('message', ...args);
  try {
    return normalize(await back);
  } catch (err) {
    const engine = socket.io.engine;
    throw new Error(`${err.message} (socket connected: ${socket.connected}, engine ${engine?.readyState} ` +
      `on ${engine?.transport?.name})`);
  }
}

// 64 KiB of every byte value, to cross buffer and frame-size boundaries.
const BIG = Buffer.from(Array.from({ length: 65536 }, (_, i) => (i * 7 + 3) & 0xff));

for (const transport of TRANSPORTS) {
  describe(`conformance server over ${transport.name}`, () => {
    let server;
    const sockets = [];
    // A socket as the tests use it: fresh manager, no reconnection, connect() called by the test.
    const client = (nsp = '/', extra = {}) => {
      const s = io(server.url + nsp, {
        forceNew: true, reconnection: false, autoConnect: false, ...transport.opts, ...extra,
      });
      sockets.push(s);
      return s;
    };

    before(async () => { server = await startServer(SIO_CONFORMANCE); });
    after(async () => {
      for (const s of sockets) s.disconnect();
      await stopServer(server);
    });

    it('"auth" carries the auth object sent with CONNECT', async () => {
      const s = client();
      const auth = { token: 'abc', n: 1, nested: { list: [1, 'two', null, false] }, text: 'héllo 😀' };
      s.auth = auth;
      const got = once(s, 'auth');
      await connect(s);
      assert.deepEqual(await got, [auth]);
      if (transport.only) assert.equal(s.io.engine.transport.name, transport.only);
    });

    it('without auth the handshake auth object is {}', async () => {
      const s = client();
      const got = once(s, 'auth');
      await connect(s);
      assert.deepEqual(await got, [{}]);
    });

    it('"message" comes back as "message-back" with the same arguments', async () => {
      const s = client();
      await connect(s);
      assert.deepEqual(await echo(s, 1, '2', { a: [true, null] }), [1, '2', { a: [true, null] }]);
      assert.deepEqual(await echo(s), []);
      assert.deepEqual(await echo(s, 'héllo 😀', 'record\u001eseparator', -1.5, [[], {}]),
        ['héllo 😀', 'record\u001eseparator', -1.5, [[], {}]]);
    });

    it('binary arguments round trip byte-exact, at any nesting depth', async () => {
      const s = client();
      await connect(s);
      const bytes = Buffer.from([1, 2, 3]);
      assert.deepEqual(await echo(s, bytes), [bytes]);

      const nested = {
        file: Buffer.from([0, 255, 10, 13, 0x1e]),
        list: [Buffer.from('first'), Buffer.from([])],
        meta: { name: 'x.bin', size: 5 },
      };
      assert.deepEqual(await echo(s, nested), [nested]);

      // Several attachments among plain arguments, one of them large.
      assert.deepEqual(await echo(s, 'text', BIG, { deep: [[Buffer.from([42])]] }, 7),
        ['text', BIG, { deep: [[Buffer.from([42])]] }, 7]);
    });

    it('"message-with-ack" calls the ack with the same arguments', async () => {
      const s = client();
      await connect(s);
      const bytes = Buffer.from([1, 2, 3]);
      // emitWithAck resolves with the first argument of the ack.
      assert.equal(await s.timeout(5000).emitWithAck('message-with-ack', 1, bytes), 1);
      // The callback form sees all of them.
      const args = await new Promise((resolve, reject) => {
        s.timeout(5000).emit('message-with-ack', 1, bytes, { file: BIG }, (err, ...back) => (err ? reject(err) : resolve(back)));
      });
      assert.deepEqual(normalize(args), [1, bytes, { file: BIG }]);
      // An ack with binary only.
      assert.deepEqual(normalize(await s.timeout(5000).emitWithAck('message-with-ack', bytes)), bytes);
    });

    it('the connection survives several heartbeats (pingInterval 300 ms)', async () => {
      const s = client();
      await connect(s);
      let pings = 0;
      let disconnected = null;
      s.io.engine.on('ping', () => { pings += 1; });
      s.on('disconnect', (reason) => { disconnected = reason; });
      await until(() => pings >= 3 || disconnected, 5000, 'three pings');
      assert.equal(disconnected, null, 'disconnect reason');
      assert.equal(s.connected, true);
      assert.deepEqual(await echo(s, 'still here'), ['still here']);
      assert.equal(s.io.engine.transport.name, transport.only ?? 'websocket');
    });

    it('the /custom namespace connects and emits "auth"', async () => {
      const s = client('/custom');
      s.auth = { ns: 'custom' };
      const got = once(s, 'auth');
      await connect(s);
      assert.deepEqual(await got, [{ ns: 'custom' }]);
    });

    it('an unknown namespace gets connect_error "Invalid namespace"', async () => {
      const s = client('/nope');
      await assert.rejects(connect(s), { message: 'connect_error: Invalid namespace' });
      assert.equal(s.connected, false);
    });

    it('two namespaces are multiplexed on one manager', async () => {
      const main = client('/');
      main.auth = { ns: 'main' };
      const custom = main.io.socket('/custom', { auth: { ns: 'custom' } });
      sockets.push(custom);
      const mainAuth = once(main, 'auth');
      const customAuth = once(custom, 'auth');
      await connect(main);
      await connect(custom);
      assert.equal(custom.io, main.io, 'same Manager');
      assert.deepEqual(await mainAuth, [{ ns: 'main' }]);
      assert.deepEqual(await customAuth, [{ ns: 'custom' }]);
      assert.notEqual(main.id, custom.id);
      const engineId = main.io.engine.id;

      // An unknown namespace on the same connection fails alone.
      const nope = main.io.socket('/nope');
      sockets.push(nope);
      await assert.rejects(connect(nope), { message: 'connect_error: Invalid namespace' });
      assert.equal(main.connected, true);
      assert.equal(custom.connected, true);

      assert.deepEqual(await echo(main, 'on /', Buffer.from([9])), ['on /', Buffer.from([9])]);
      // Leaving /custom keeps the session and the "/" socket.
      custom.disconnect();
      assert.deepEqual(await echo(main, 'after leaving /custom'), ['after leaving /custom']);
      assert.equal(main.io.engine.id, engineId, 'still the same Engine.IO session');
    });

    it('a Manager created explicitly serves both namespaces', async () => {
      const manager = new Manager(server.url, { reconnection: false, autoConnect: false, ...transport.opts });
      const main = manager.socket('/', { auth: { who: 'main' } });
      const custom = manager.socket('/custom', { auth: { who: 'custom' } });
      sockets.push(main, custom);
      const auths = [once(main, 'auth'), once(custom, 'auth')];
      await Promise.all([connect(main), connect(custom)]);
      assert.deepEqual(await auths[0], [{ who: 'main' }]);
      assert.deepEqual(await auths[1], [{ who: 'custom' }]);
      assert.deepEqual(await echo(main, { x: Buffer.from('mux') }), [{ x: Buffer.from('mux') }]);
    });

    it('the server exits 0 on SIGTERM', async () => {
      const s = client();
      await connect(s);
      const disconnected = once(s, 'disconnect');
      assert.equal(await server.stop(), 0);
      await disconnected;
    });
  });
}

// A second client that is not the JavaScript one: python-socketio (Debian's python3-socketio).
// Skipped when that package is not installed.
const PYTHON = '/usr/bin/python3';
const hasPythonClient = spawnSync(PYTHON, ['-c', 'import socketio'], { stdio: 'ignore' }).status === 0;

describe('python-socketio client against the conformance server', { skip: !hasPythonClient && 'python3-socketio is not installed' }, () => {
  let server;
  before(async () => { server = await startServer(SIO_CONFORMANCE); });
  after(async () => { await stopServer(server); });

  // Runs tests/e2e/python_client.py; resolves to { code, out }.
  const runPython = (...args) => new Promise((resolve, reject) => {
    const proc = spawn(PYTHON, [path.join(ROOT, 'tests', 'e2e', 'python_client.py'), ...args],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout.on('data', (d) => { out += d; });
    proc.stderr.on('data', (d) => { out += d; });
    const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error(`python client timed out:\n${out}`)); }, 30000);
    proc.on('exit', (code) => { clearTimeout(timer); resolve({ code, out }); });
  });

  for (const transport of ['websocket', 'polling']) {
    it(`auth, text, binary and acks over ${transport}`, async () => {
      const { code, out } = await runPython(server.url, transport);
      assert.equal(code, 0, out);
      assert.match(out, /all checks passed/);
    });
  }

  it('the server exits 0 on SIGTERM', async () => {
    assert.equal(await server.stop(), 0);
  });
});
