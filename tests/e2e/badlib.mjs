// SPDX-License-Identifier: MIT
// badlib.mjs -- shared machinery of the hostile-input and fault suites (tests/e2e/bad-*.test.mjs,
// docs: bad-inputs.md B1-B6) and of the soak driver (tests/soak/soak.mjs).
//
//   - /proc readers for the server process: open descriptors, VmRSS, CPU time;
//   - ChatClient: a well-behaved raw WebSocket chat client of the hardening server that reads all
//     the time in the background (answering the server's pings), so it can sit through an attack
//     and then prove the server still serves it; it uses node:net directly (not rawlib's RawConn),
//     so rawlib's destroyAll() ends every attack connection and never a victim;
//   - useHardening(): one hardening server per describe() with two victims (alice and bob)
//     connected before any attack, and ctx.check(), run after every attack: the attack's
//     connections are destroyed, alice and bob exchange private messages both ways, and the
//     server's descriptor count comes back to what it was before the attack (bounded wait).
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, until, SIO_HARDENING } from './helpers.mjs';
import { OP, encodeFrame, parseFrame, upgradeRequest, parseResponse, randomKey, show, destroyAll, wsPath } from './rawlib.mjs';

// ====== The server process, from /proc ======

// Descriptors the process holds (entries of /proc/<pid>/fd).
export function fdCount(pid) {
  return fs.readdirSync(`/proc/${pid}/fd`).length;
}

// Resident set size in KiB (VmRSS of /proc/<pid>/status).
export function rssKb(pid) {
  const m = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m);
  return m ? Number(m[1]) : 0;
}

// CPU time (user + system) the process has used, in ms (fields 14 and 15 of /proc/<pid>/stat,
// in clock ticks of 10 ms: CLK_TCK is 100 on Linux).
export function cpuMs(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // rest[0] is field 3
  return (Number(rest[11]) + Number(rest[12])) * 10;
}

// True when the binary is an ASan build (by its path, build/asan/...): memory bounds are looser
// there, since ASan keeps freed memory in quarantine and adds shadow memory.
export const isAsan = (bin) => /(^|\/)asan\//.test(bin);

// The RSS bound to assert for a server binary: `kb` for a normal build. Under ASan freed memory
// stays resident in the quarantine (256 MiB by default) and shadow memory comes on top, so RSS
// says little there; the bound then only catches runaway growth (the leak check at exit and
// the valgrind run are the real memory checks).
// Under valgrind (SIO_VALGRIND=1, `make test-valgrind`) the tool's own memory dominates too.
export const underValgrind = process.env.SIO_VALGRIND === '1';
export const rssBound = (bin, kb) => (isAsan(bin) || underValgrind ? kb + 320 * 1024 : kb);

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ====== A well-behaved chat client on a raw WebSocket ======

let clientSeq = 0;

export class ChatClient {
  constructor(socket) {
    this.socket = socket;
    this.buf = Buffer.alloc(0);
    this.inbox = [];      // Engine.IO packets received (strings; Buffers for binary), pings excluded
    this.waiters = new Set();
    this.ended = false;   // TCP closed by the peer (or error)
    this.close = null;    // the server's close frame, if one came
    this.pings = 0;
    this.headDone = false;
    this.response = null; // the upgrade response
    socket.on('data', (d) => { this.buf = Buffer.concat([this.buf, d]); this.pump(); });
    socket.on('end', () => { this.ended = true; this.wake(); });
    socket.on('error', () => { this.ended = true; this.wake(); });
    socket.on('close', () => { this.ended = true; this.wake(); });
  }

  wake() { for (const w of [...this.waiters]) w(); }

  pump() {
    if (!this.headDone) {
      const r = parseResponse(this.buf, { ended: this.ended });
      if (!r) return;
      this.response = r.value;
      this.buf = this.buf.subarray(r.used);
      this.headDone = true;
    }
    for (;;) {
      const r = parseFrame(this.buf);
      if (!r) break;
      this.buf = this.buf.subarray(r.used);
      const f = r.value;
      if (f.opcode === OP.CLOSE) { this.close = f; continue; }
      if (f.opcode === OP.TEXT) {
        if (f.text === '2') { this.pings++; this.sendText('3'); continue; }
        this.inbox.push(f.text);
      } else if (f.opcode === OP.BINARY) {
        this.inbox.push(f.payload);
      }
    }
    this.wake();
  }

  // Opens a WebSocket session and joins "/" as `username` in `room`. Resolves to the client,
  // with .sid (Engine.IO), .id (socket id) and .session (the "session" event's object).
  static async connect(port, { username = `user${++clientSeq}`, room = 'lobby', auth = null, timeoutMs = 10000 } = {}) {
    const socket = net.connect({ port, host: '127.0.0.1' });
    socket.setNoDelay(true);
    const c = new ChatClient(socket);
    await new Promise((resolve, reject) => {
      const t = setTimeout(() => { socket.destroy(); reject(new Error('connect timed out')); }, timeoutMs);
      socket.once('connect', () => { clearTimeout(t); resolve(); });
      socket.once('error', (e) => { clearTimeout(t); reject(e); });
    });
    socket.write(upgradeRequest({ port, path: wsPath(), key: randomKey() }));
    await c.until(() => c.headDone, timeoutMs, 'the upgrade response');
    if (c.response.status !== 101) {
      c.destroy();
      throw new Error(`upgrade answered ${c.response.status}: "${show(c.response.raw)}"`);
    }
    const open = await c.next(timeoutMs);
    if (typeof open !== 'string' || open[0] !== '0') throw new Error(`expected the open packet, got "${show(open)}"`);
    c.sid = JSON.parse(open.slice(1)).sid;
    c.username = username;
    c.sendText(`40${JSON.stringify(auth ?? { username, room })}`);
    const reply = await c.next(timeoutMs);
    const m = typeof reply === 'string' && reply.match(/^40\{"sid":"([A-Za-z0-9_-]{20})"\}$/);
    if (!m) throw new Error(`expected a CONNECT reply, got "${show(reply)}"`);
    c.id = m[1];
    const session = await c.next(timeoutMs);
    if (typeof session !== 'string' || !session.startsWith('42["session",')) throw new Error(`expected the session event, got "${show(session)}"`);
    c.session = JSON.parse(session.slice(2))[1];
    return c;
  }

  until(pred, timeoutMs, what) {
    return new Promise((resolve, reject) => {
      let t;
      const check = () => {
        if (!pred()) return;
        clearTimeout(t);
        this.waiters.delete(check);
        resolve();
      };
      t = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`timeout (${timeoutMs} ms) waiting for ${what}; inbox: ${JSON.stringify(this.inbox.slice(-5).map(show))}`));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  // The next packet (oldest first).
  async next(timeoutMs = 5000) {
    await this.until(() => this.inbox.length > 0 || this.ended, timeoutMs, 'a packet');
    if (!this.inbox.length) throw new Error(`connection closed while a packet was expected (close: ${this.close ? this.close.code : 'none'})`);
    return this.inbox.shift();
  }

  // The first packet for which pred(packet) is true; the packets before it are dropped.
  async expect(pred, timeoutMs = 5000, what = 'a matching packet') {
    const match = typeof pred === 'string' ? (p) => p === pred : pred;
    const find = () => this.inbox.findIndex((p) => match(p));
    await this.until(() => find() >= 0 || this.ended, timeoutMs, what);
    const i = find();
    if (i < 0) throw new Error(`connection closed while waiting for ${what}; inbox: ${JSON.stringify(this.inbox.slice(-5).map(show))}`);
    const p = this.inbox[i];
    this.inbox.splice(0, i + 1);
    return p;
  }

  // Resolves true once the server has closed the connection, false at the timeout.
  async waitEnd(timeoutMs) {
    try { await this.until(() => this.ended, timeoutMs, 'the end'); return true; } catch { return false; }
  }

  sendText(text) { if (!this.socket.destroyed) this.socket.write(encodeFrame({ opcode: OP.TEXT, payload: text })); }
  sendBinary(bytes) { if (!this.socket.destroyed) this.socket.write(encodeFrame({ opcode: OP.BINARY, payload: Buffer.from(bytes) })); }
  emit(event, ...args) { this.sendText(`42${JSON.stringify([event, ...args])}`); }
  destroy() { this.socket.destroy(); }
}

// a sends b a private message and b must receive exactly it. Resolves to the round trip in ms.
export async function privateMessage(a, b, content, timeoutMs = 10000) {
  const t0 = Date.now();
  a.sendText(`42${JSON.stringify(['private message', { to: b.id, content }])}`);
  const want = `42${JSON.stringify(['private message', { content, from: a.id }])}`;
  await b.expect(want, timeoutMs, `private message "${content}" from ${a.username} to ${b.username}`);
  return Date.now() - t0;
}

// ====== One hardening server per describe(), with two victims ======

let tagSeq = 0;

// Starts build/hardening (SIO_HARDENING) with `args` before the describe's tests; alice and bob
// join room "victims". ctx: { server, port, pid, alice, bob, baseFds, check(what) }.
// opts.prefix: a command to run the server through (e.g. sh -c 'ulimit -n 64 && exec "$0" "$@"'), the
// server binary and its arguments following it; opts.victims: false for none; opts.env: extra env.
export function useHardening(args = [], { victims = true, bin = SIO_HARDENING, prefix = [], env = {} } = {}) {
  const ctx = { bin };
  before(async () => {
    const exe = prefix.length ? prefix[0] : bin;
    const fullArgs = prefix.length ? [...prefix.slice(1), bin, ...args] : args;
    ctx.server = await startServer(exe, fullArgs.includes('--port') ? fullArgs : [...fullArgs, '--port', '0'], { env });
    ctx.port = ctx.server.port;
    ctx.pid = ctx.server.proc.pid;
    if (victims) {
      ctx.alice = await ChatClient.connect(ctx.port, { username: 'alice', room: 'victims' });
      ctx.bob = await ChatClient.connect(ctx.port, { username: 'bob', room: 'victims' });
      await ctx.alice.expect(`42["user connected",{"userID":"${ctx.bob.id}","username":"bob"}]`, 5000, 'bob joining');
    }
    ctx.baseFds = fdCount(ctx.pid);
  });
  after(async () => {
    destroyAll();
    ctx.alice?.destroy();
    ctx.bob?.destroy();
    if (ctx.server) assert.equal(await ctx.server.stop(), 0, `server exit status; output:\n${ctx.server.output().slice(-4000)}`);
  });
  // After an attack: its connections go, alice and bob still chat both ways, and the server's
  // descriptor count is back to the baseline (bounded wait: the server sees the FIN/RST first).
  ctx.check = async (what = 'the attack', { fdTimeoutMs = 10000 } = {}) => {
    destroyAll();
    assert.ok(ctx.server.proc.exitCode === null && ctx.server.proc.signalCode === null,
      `the server died during ${what}:\n${ctx.server.output().slice(-4000)}`);
    if (ctx.alice) {
      const tag = `after ${what} #${++tagSeq}`;
      await privateMessage(ctx.alice, ctx.bob, tag);
      await privateMessage(ctx.bob, ctx.alice, tag);
    }
    let fds = 0;
    await until(() => (fds = fdCount(ctx.pid)) <= ctx.baseFds, fdTimeoutMs,
      `the server's descriptors to return to ${ctx.baseFds} after ${what} (now ${fds})`);
  };
  return ctx;
}

// Repeats `attack(i)` n times (`concurrency` at once) and returns the RSS growth in KiB measured
// from after a warm-up of `warm` repetitions (allocator pools and caches fill up first).
export async function rssGrowth(pid, attack, { n = 200, warm = 20, concurrency = 4 } = {}) {
  for (let i = 0; i < warm; i++) await attack(i);
  const base = rssKb(pid);
  let next = 0;
  const worker = async () => { while (next < n) await attack(next++); };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { base, growth: rssKb(pid) - base, now: rssKb(pid) };
}

export const basename = (p) => path.basename(p);
