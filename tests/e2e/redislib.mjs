// SPDX-License-Identifier: MIT
// Helpers of the Redis end-to-end tests (redis-cluster, redis-acks, redis-slow, chat-part4,
// nginx): start redis-server on a free loopback port and stop it by PID, a minimal RESP2 client
// (one command per connection, a pipeline, a raw subscriber) for looking at what the nodes wrote,
// "n nodes are subscribed", the Node reference peer (tests/redis-peer), msgpack both ways (an
// encoder with notepack.io's choices for what the tests send; notepack.io itself, from the peer's
// packages, to decode), chat users, sio nodes, and a teardown that stops everything a test
// started. Without redis-server, SKIP is set and a SKIPPED banner is printed once.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { ROOT, SIO_SERVER, startServer, stopServer, until } from './helpers.mjs';
import { chatClient, connect, waitEvent, rmTemp, HEX16 } from './chatlib.mjs';

export const WS = { transports: ['websocket'] };
export const PEER_DIR = path.join(ROOT, 'tests', 'redis-peer');
export const PEER = path.join(PEER_DIR, 'node-peer.js');

// notepack.io, the codec of @socket.io/redis-adapter (null if the peer is not installed).
export function notepack() {
  const dir = path.join(PEER_DIR, 'node_modules', 'notepack.io');
  return fs.existsSync(dir) ? createRequire(path.join(PEER_DIR, 'package.json'))('notepack.io') : null;
}

function findRedis() {
  if (process.env.REDIS_SERVER) return process.env.REDIS_SERVER;
  const r = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}
export const REDIS_SERVER = findRedis();
if (!REDIS_SERVER) {
  console.log([
    '',
    '#####################################################################',
    '### SKIPPED: every Redis test (redis-server is not installed;      ###',
    '### as root, tests/deps.sh installs it with apt-get)               ###',
    '#####################################################################',
    '',
  ].join('\n'));
}
export const SKIP = !REDIS_SERVER && 'SKIPPED: redis-server is not installed';

// Everything this file spawns, killed on exit if a test failed before stopping it.
const children = new Set();
process.on('exit', () => { for (const p of children) { try { p.kill('SIGKILL'); } catch { /* gone */ } } });

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- a minimal RESP2 client: one command per connection ----

export function respEncode(args) {
  const parts = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = Buffer.isBuffer(a) ? a : Buffer.from(String(a));
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

// Parses one reply at buf[i]; returns [value, next] or null when incomplete. Bulk strings come
// back as Buffers.
export function respParse(buf, i = 0) {
  if (i >= buf.length) return null;
  const eol = buf.indexOf('\r\n', i);
  if (eol < 0) return null;
  const line = buf.toString('latin1', i + 1, eol);
  switch (buf[i]) {
    case 0x2b: return [line, eol + 2]; // +
    case 0x2d: return [new Error(line), eol + 2]; // -
    case 0x3a: return [Number(line), eol + 2]; // :
    case 0x24: { // $
      const n = Number(line);
      if (n < 0) return [null, eol + 2];
      if (buf.length < eol + 2 + n + 2) return null;
      return [Buffer.from(buf.subarray(eol + 2, eol + 2 + n)), eol + 2 + n + 2];
    }
    case 0x2a: { // *
      const n = Number(line);
      let j = eol + 2;
      const out = [];
      for (let k = 0; k < n; k++) {
        const r = respParse(buf, j);
        if (!r) return null;
        out.push(r[0]);
        j = r[1];
      }
      return [out, j];
    }
    default: throw new Error(`bad RESP from redis: ${buf.toString('latin1')}`);
  }
}

const text = (v) => (Buffer.isBuffer(v) ? v.toString('latin1') : Array.isArray(v) ? v.map(text) : v);

// One command on its own connection; resolves with the reply (bulk strings as latin1 text).
export function redisCmd(port, ...args) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => { sock.destroy(); reject(new Error(`redis ${args[0]}: timeout`)); }, 3000);
    sock.on('connect', () => sock.write(respEncode(args)));
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      const r = respParse(buf);
      if (!r) return;
      clearTimeout(timer);
      sock.destroy();
      if (r[0] instanceof Error) reject(r[0]); else resolve(text(r[0]));
    });
    sock.on('error', (e) => { clearTimeout(timer); reject(e); });
  });
}

// Sends every command of `cmds` (arrays of arguments) at once on one connection; resolves once
// all are answered (with how many replies came).
export function redisPipeline(port, cmds) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    let replies = 0;
    const timer = setTimeout(() => { sock.destroy(); reject(new Error('redis pipeline: timeout')); }, 10000);
    sock.on('connect', () => sock.write(Buffer.concat(cmds.map(respEncode))));
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      for (let r; (r = respParse(buf));) {
        buf = buf.subarray(r[1]);
        if (++replies === cmds.length) {
          clearTimeout(timer);
          sock.destroy();
          resolve(replies);
        }
      }
    });
    sock.on('error', (e) => { clearTimeout(timer); reject(e); });
  });
}

// SUBSCRIBEs `channels` on a connection of its own; resolves once every subscription is
// confirmed to { messages: [{ channel, payload: Buffer }], close() }.
export function redisSubscriber(port, channels) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    const messages = [];
    let buf = Buffer.alloc(0);
    let confirmed = 0;
    const timer = setTimeout(() => { sock.destroy(); reject(new Error('redis SUBSCRIBE: timeout')); }, 3000);
    sock.on('connect', () => sock.write(respEncode(['SUBSCRIBE', ...channels])));
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      for (let r; (r = respParse(buf));) {
        buf = buf.subarray(r[1]);
        const [kind, channel, payload] = r[0];
        if (text(kind) === 'subscribe' && ++confirmed === channels.length) {
          clearTimeout(timer);
          resolve({ messages, close: () => sock.destroy() });
        } else if (text(kind) === 'message') {
          messages.push({ channel: text(channel), payload });
        }
      }
    });
    sock.on('error', (e) => { clearTimeout(timer); reject(e); });
  });
}

// Starts redis-server on `port` (loopback, no persistence); resolves once it answers PING.
export async function startRedis(port) {
  const proc = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--save', '',
    '--appendonly', 'no', '--daemonize', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(proc);
  let out = '';
  proc.stdout.on('data', (d) => { out += d; });
  proc.stderr.on('data', (d) => { out += d; });
  const exited = new Promise((resolve) => proc.on('exit', (code, sig) => { children.delete(proc); resolve(code ?? sig); }));
  await until(async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`redis-server exited: ${out}`);
    return (await redisCmd(port, 'PING').catch(() => null)) === 'PONG';
  }, 10000, `redis-server on port ${port}`);
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    proc,
    output: () => out,
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}

// Resolves once `n` nodes are subscribed: n subscribers of the request channel, n clients with
// a pattern subscription.
export async function clusterReady(port, n, timeoutMs = 20000) {
  let last = 'no answer';
  try {
    await until(async () => {
      try {
        const [, subs] = await redisCmd(port, 'PUBSUB', 'NUMSUB', 'socket.io-request#/#');
        // PUBSUB NUMPAT counts unique patterns (every node has the same one): count the clients.
        const list = await redisCmd(port, 'CLIENT', 'LIST');
        const pats = list.split('\n').filter((l) => / psub=[1-9]/.test(l)).length;
        last = `NUMSUB ${subs}, clients with a pattern ${pats}`;
        return subs === n && pats === n;
      } catch (e) { last = String(e.message); return false; }
    }, timeoutMs);
  } catch {
    throw new Error(`timeout waiting for ${n} nodes subscribed on redis port ${port} (last: ${last})`);
  }
}

// ---- a minimal msgpack encoder (notepack.io's choices for what the tests send) ----

export function mp(v) {
  if (v === null || v === undefined) return Buffer.from([0xc0]);
  if (v === true) return Buffer.from([0xc3]);
  if (v === false) return Buffer.from([0xc2]);
  if (Buffer.isBuffer(v)) {
    if (v.length < 256) return Buffer.concat([Buffer.from([0xc4, v.length]), v]);
    const h = Buffer.alloc(5); h[0] = 0xc6; h.writeUInt32BE(v.length, 1);
    return Buffer.concat([h, v]);
  }
  if (typeof v === 'number') {
    if (Number.isInteger(v) && v >= 0 && v < 128) return Buffer.from([v]);
    if (Number.isInteger(v) && v < 0 && v >= -32) return Buffer.from([v & 0xff]);
    if (Number.isInteger(v) && v >= 0 && v <= 0xffffffff) { const b = Buffer.alloc(5); b[0] = 0xce; b.writeUInt32BE(v, 1); return b; }
    const b = Buffer.alloc(9); b[0] = 0xcb; b.writeDoubleBE(v, 1); return b;
  }
  if (typeof v === 'string') {
    const s = Buffer.from(v);
    if (s.length < 32) return Buffer.concat([Buffer.from([0xa0 | s.length]), s]);
    if (s.length < 256) return Buffer.concat([Buffer.from([0xd9, s.length]), s]);
    if (s.length < 65536) { const h = Buffer.alloc(3); h[0] = 0xda; h.writeUInt16BE(s.length, 1); return Buffer.concat([h, s]); }
    const h = Buffer.alloc(5); h[0] = 0xdb; h.writeUInt32BE(s.length, 1);
    return Buffer.concat([h, s]);
  }
  if (Array.isArray(v)) {
    const h = v.length < 16 ? Buffer.from([0x90 | v.length]) : Buffer.from([0xdc, v.length >> 8, v.length & 0xff]);
    return Buffer.concat([h, ...v.map(mp)]);
  }
  const keys = Object.keys(v);
  const h = keys.length < 16 ? Buffer.from([0x80 | keys.length]) : Buffer.from([0xde, keys.length >> 8, keys.length & 0xff]);
  return Buffer.concat([h, ...keys.flatMap((k) => [mp(k), mp(v[k])])]);
}

// ---- chat helpers ----

// A chat user (the tutorial's front-end) on websocket; resolves once it has its session and users.
export async function chatUser(url, auth) {
  const c = chatClient(url, auth, WS);
  await connect(c.socket);
  await waitEvent(c, 'users', () => true, 10000);
  assert.match(c.userID, HEX16);
  return c;
}

// Sends private messages from `from` to userID `to` (a new content each try, every 300 ms) until
// `rcpt` receives one of them: cross-node delivery after a (re)subscription, which Pub/Sub gives
// no way to observe directly. Resolves with the delivered message.
export async function sendUntilDelivered(from, to, rcpt, tag, timeoutMs = 15000) {
  const sent = new Set();
  let n = 0;
  let hit;
  const end = Date.now() + timeoutMs;
  while (!hit) {
    if (Date.now() > end) throw new Error(`${tag}: no message from ${from.name} reached ${rcpt.name} in ${timeoutMs} ms`);
    const content = `${tag} #${n++}`;
    sent.add(content);
    from.socket.emit('private message', { content, to });
    const stop = Date.now() + 300;
    while (!hit && Date.now() < stop) {
      hit = rcpt.received('private message').find((m) => sent.has(m.content));
      if (!hit) await sleep(10);
    }
  }
  return hit;
}

export const sioNode = (redisUrl, extra = []) =>
  startServer(SIO_SERVER, ['--store', 'memory', '--redis', redisUrl, ...extra], { timeoutMs: 15000 });

// Stops everything a test started: clients, then servers (each must exit 0 by itself on SIGTERM),
// then redis-server.
export async function teardown(st) {
  for (const c of st.clients ?? []) c.socket?.disconnect?.();
  const errors = [];
  for (const s of st.servers ?? []) {
    try { await stopServer(s); } catch (e) { errors.push(e); } // throws if it had died by itself
  }
  for (const r of st.redis ?? []) await r.stop('SIGKILL');
  for (const d of st.dirs ?? []) rmTemp(d);
  if (errors.length) throw errors[0];
}

