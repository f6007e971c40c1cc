#!/usr/bin/env node
// SPDX-License-Identifier: MIT
// soak.mjs -- the soak driver of `make soak` and `make test-valgrind` (issue 6).
//
// Starts the hardening server (tests/servers/hardening.c) with short timers and small output
// limits, connects two "anchor" clients and --hold long-lived chat clients (connected all along,
// a random pair of them exchanging private messages every few ms), and then runs short client
// lives, many at once, for --seconds (and until at least --clients of them have connected; at
// most three times --seconds):
//   - WebSocket chat pairs (raw, byte-exact): join a room, echo with ack, private messages both
//     ways, then leave politely (41 + close frame), with a close frame only, by closing TCP, or
//     with a reset (RST);
//   - polling clients (raw): handshake, CONNECT, echo with ack, then POST "1" or simply vanish
//     (the heartbeat reaps them);
//   - real socket.io-client clients (polling, then the upgrade to WebSocket): echo, disconnect;
//   - bad clients (about a quarter): every attack of bad-inputs.md B1-B6 in turn (garbage HTTP,
//     bad handshakes, broken frames, Socket.IO violations, slowloris, slow bodies, half-open
//     sessions, slow readers under a flood, resets in the middle of writes, unused handshakes).
// Good clients must all succeed; bad ones only must not hurt anyone. The anchors exchange private
// messages all along (their latency is printed). At the end every client is gone, and the
// server's descriptor count must be back to its baseline and its RSS within a bound of it; then
// the server is stopped with SIGTERM and must exit 0 (no sanitizer report).
//
// With --valgrind the server runs under `valgrind --leak-check=full --error-exitcode=99`
// (timers lengthened, since valgrind is ~20x slower): the run must end with exit status 0 and
// "ERROR SUMMARY: 0 errors" (RSS is not checked there: valgrind's own memory dominates it).
//
// Usage: node tests/soak/soak.mjs [--server PATH] [--seconds N] [--clients N] [--hold N]
//                                 [--concurrency N] [--valgrind] [--seed N]
// Exit status 0 when every check passed, 1 otherwise.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { io } from 'socket.io-client';
import { startServer, until } from '../e2e/helpers.mjs';
import {
  RawConn, RawWebSocket, EioSocket, Polling, request, buildRequest, upgradeRequest, pollPath, wsPath, encodeFrame,
  closePayload, OP, RS, randomKey,
} from '../e2e/rawlib.mjs';
import { ChatClient, privateMessage, fdCount, rssKb, sleep } from '../e2e/badlib.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

// ====== Options ======

function parseArgs(argv) {
  const o = { server: path.join(ROOT, 'build', 'hardening'), seconds: 120, clients: 3000, hold: -1, concurrency: 0, valgrind: false, seed: Date.now() % 100000 };
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i];
    const v = () => { if (i + 1 >= argv.length) usage(`${a} needs a value`); return argv[++i]; };
    if (a === '--server') o.server = path.resolve(v());
    else if (a === '--seconds') o.seconds = Number(v());
    else if (a === '--clients') o.clients = Number(v());
    else if (a === '--concurrency') o.concurrency = Number(v());
    else if (a === '--hold') o.hold = Number(v());
    else if (a === '--seed') o.seed = Number(v());
    else if (a === '--valgrind') o.valgrind = true;
    else usage(`unknown argument ${a}`);
  }
  if (!(o.seconds > 0) || !(o.clients > 0)) usage('--seconds and --clients must be positive');
  if (!o.concurrency) o.concurrency = Math.max(10, Math.min(o.valgrind ? 40 : 150, Math.ceil(o.clients / 10)));
  if (o.hold < 0) o.hold = o.valgrind ? 100 : 1000;
  return o;
}

function usage(msg) {
  process.stderr.write(`soak: ${msg}\nusage: node tests/soak/soak.mjs [--server PATH] [--seconds N] [--clients N] [--hold N] [--concurrency N] [--valgrind] [--seed N]\n`);
  process.exit(2);
}

const opt = parseArgs(process.argv);

// A small deterministic PRNG (mulberry32), so a failing run can be replayed with --seed.
let rngState = opt.seed >>> 0;
function rand() {
  rngState = (rngState + 0x6d2b79f5) >>> 0;
  let t = rngState;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (arr) => arr[Math.floor(rand() * arr.length)];

// Timers: short, so that abandoned sessions are reaped within the run; longer under valgrind.
const slow = opt.valgrind ? 2.5 : 1;
const T = {
  pingInterval: 2000 * slow, pingTimeout: 2000 * slow, request: 2000 * slow, connect: 3000 * slow, upgrade: 3000 * slow,
};
const WAIT = 15000 * slow; // bound on any wait of a good client
const SERVER_ARGS = [
  '--ping-interval', String(T.pingInterval), '--ping-timeout', String(T.pingTimeout),
  '--http-request-timeout', String(T.request), '--connect-timeout', String(T.connect), '--upgrade-timeout', String(T.upgrade),
  '--output-hard-limit', String(4 << 20), '--output-soft-limit', String(1 << 20), '--output-soft-seconds', '2',
  '--max-http-buffer-size', '100000',
];

// ====== Bookkeeping ======

const stats = { started: 0, done: 0, good: 0, bad: 0, errors: [], kinds: {} };
let port = 0;
const log = (s) => process.stdout.write(`soak: ${s}\n`);

function fail(kind, err) {
  stats.errors.push(`${kind}: ${err && err.stack ? err.stack.split('\n').slice(0, 3).join(' | ') : err}`);
  if (stats.errors.length <= 10) log(`ERROR ${kind}: ${err && err.message ? err.message : err}`);
}

// Runs fn with a hard deadline; the connections it opened are its own business (it destroys them).
function bounded(ms, what, fn) {
  let timer;
  return Promise.race([
    fn().finally(() => clearTimeout(timer)),
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms); }),
  ]);
}

let userSeq = 0;
const room = () => `soak-${Math.floor(rand() * 40)}`;

// ====== Good clients ======

async function leave(c) {
  switch (Math.floor(rand() * 4)) {
    case 0: // polite: DISCONNECT, then a close frame; the server echoes the close
      c.sendText('41');
      c.socket.write(encodeFrame({ opcode: OP.CLOSE, payload: closePayload(1000) }));
      await c.waitEnd(WAIT);
      break;
    case 1: // a close frame only
      c.socket.write(encodeFrame({ opcode: OP.CLOSE, payload: closePayload(1001, 'going away') }));
      await c.waitEnd(WAIT);
      break;
    case 2: // TCP close without a word
      c.socket.end();
      break;
    default: // reset
      c.socket.resetAndDestroy();
  }
  c.destroy();
}

async function goodPair() {
  const r = room();
  const a = await ChatClient.connect(port, { username: `a${++userSeq}`, room: r, timeoutMs: WAIT });
  let b;
  try {
    b = await ChatClient.connect(port, { username: `b${userSeq}`, room: r, timeoutMs: WAIT });
    for (let k = 1; k <= 2; k++) {
      a.sendText(`42${k}["echo","ping ${k}",{"n":[${k},true,null]}]`);
      await a.expect(`43${k}["ping ${k}",{"n":[${k},true,null]}]`, WAIT, 'an echo ack');
    }
    await privateMessage(a, b, `hello ${b.id}`, WAIT);
    await privateMessage(b, a, `hi ${a.id} ✓`, WAIT);
    await leave(b);
    await leave(a);
  } finally {
    a.destroy();
    b?.destroy();
  }
}

async function goodPolling() {
  const poll = new Polling(port);
  await poll.handshake({ timeoutMs: WAIT });
  const post = await poll.post(`40{"username":"p${++userSeq}","room":"${room()}"}`, { timeoutMs: WAIT });
  if (post.text !== 'ok') throw new Error(`CONNECT POST answered ${post.status} ${post.text}`);
  const got = await poll.collect(2, { timeoutMs: WAIT });
  if (!/^40\{"sid":/.test(got[0])) throw new Error(`CONNECT reply: ${got[0]}`);
  await poll.post(`427["echo","over polling"]`, { timeoutMs: WAIT });
  const end = Date.now() + WAIT;
  for (let done = false; !done;) { // other packets (user connected/disconnected of the room) may come first
    for (const p of await poll.collect(1, { timeoutMs: Math.max(1, end - Date.now()) })) {
      if (p === '437["over polling"]') done = true;
      else if (!p.startsWith('42["user')) throw new Error(`unexpected packet ${p}`);
    }
  }
  if (rand() < 0.5) await poll.post('1', { timeoutMs: WAIT }); // else: vanish, the heartbeat reaps it
}

async function realClient() {
  const socket = io(`http://127.0.0.1:${port}`, { forceNew: true, reconnection: false, auth: { username: `io${++userSeq}`, room: room() }, timeout: WAIT });
  try {
    await new Promise((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', reject);
    });
    const reply = await socket.timeout(WAIT).emitWithAck('echo', 'real client', { deep: [1, 2] });
    if (reply !== 'real client') throw new Error(`echo ack: ${JSON.stringify(reply)}`);
    const bin = await socket.timeout(WAIT).emitWithAck('echo', Buffer.from([0xde, 0xad]));
    if (!bin || Buffer.from(bin).toString('hex') !== 'dead') throw new Error(`binary echo ack: ${JSON.stringify(bin)}`);
  } finally {
    socket.disconnect();
  }
}

// ====== Bad clients: every attack of bad-inputs.md, one per life ======

const b = (s) => Buffer.from(s, 'latin1');
const hs = () => `GET ${pollPath()} HTTP/1.1\r\nHost: x\r\n`;

// Sends bytes on a raw connection, reads what comes for a moment, then destroys it.
async function raw(bytes, { linger = 300 } = {}) {
  const c = await RawConn.open(port, { timeoutMs: WAIT });
  try {
    for (const part of Array.isArray(bytes) ? bytes : [bytes]) c.write(part);
    await c.waitEnd(linger);
  } finally { c.destroy(); }
}

// A joined raw WebSocket session (EioSocket) in a room of its own.
async function joinedWs() {
  const eio = await EioSocket.connect(port, { timeoutMs: WAIT });
  eio.send(`40{"username":"x${++userSeq}","room":"bad-${userSeq}"}`);
  await eio.next(WAIT);
  await eio.next(WAIT);
  return eio;
}

async function wsAttack(bytes) {
  const eio = await joinedWs();
  try {
    eio.ws.conn.write(bytes);
    await eio.ws.conn.waitEnd(2000);
  } finally { eio.destroy(); }
}

const frame = (o) => encodeFrame(o);
const text = (p, o = {}) => encodeFrame({ opcode: OP.TEXT, payload: p, ...o });
const PH0 = '{"_placeholder":true,"num":0}';

const BAD = [
  // B1 HTTP
  ['tls hello', () => raw(Buffer.from('16030100a5010000a10303', 'hex'))],
  ['no version', () => raw(b(`GET ${pollPath()}\r\n\r\n`))],
  ['bare LF', () => raw(b(`GET ${pollPath()} HTTP/1.1\nHost: x\n\n`))],
  ['17 KB header', () => raw(b(`${hs()}X-Big: ${'a'.repeat(17 * 1024)}\r\n\r\n`))],
  ['20 KB target', () => raw(b(`GET ${pollPath(`&q=${'a'.repeat(20 * 1024)}`)} HTTP/1.1\r\nHost: x\r\n\r\n`))],
  ['2001 headers', () => raw(b(`${hs()}${'a:b\r\n'.repeat(2001)}\r\n`))],
  ['bad header name', () => raw(b(`${hs()}Bad Header: x\r\n\r\n`))],
  ['obs-fold', () => raw(b(`${hs()}X-A: y\r\n z\r\n\r\n`))],
  ['CTL in value', () => raw(b(`${hs()}Origin: http://a\x01b\r\n\r\n`))],
  ['two CL', () => raw(b(`POST ${pollPath('&sid=AAAAAAAAAAAAAAAAAAAA')} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n40x`))],
  ['CL + TE', () => raw(b(`POST ${pollPath()} HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n40\r\n0\r\n\r\n`))],
  ['bad CL', () => raw(b(`POST ${pollPath()} HTTP/1.1\r\nHost: x\r\nContent-Length: 1234567890123456789012345\r\n\r\n40`))],
  ['chunked', () => raw(b(`POST ${pollPath()} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n40\r\n0\r\n\r\n`))],
  ['no host', () => raw(b(`GET ${pollPath()} HTTP/1.1\r\n\r\n`))],
  ['BREW', () => raw(b(`BREW / HTTP/1.1\r\nHost: x\r\n\r\n`))],
  ['pipelined', () => raw(b(`${hs()}\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\n${hs()}\r\n`))],
  ['byte split', async () => {
    const c = await RawConn.open(port, { timeoutMs: WAIT });
    try {
      for (const x of b(`${hs()}\r\n`)) { c.write(Buffer.from([x])); await sleep(1); }
      await c.readResponse({ timeoutMs: WAIT });
    } finally { c.destroy(); }
  }],
  ['slowloris', async () => {
    const c = await RawConn.open(port, { timeoutMs: WAIT });
    try {
      c.write(b(hs()));
      const end = Date.now() + T.request * 3;
      while (!c.ended && Date.now() < end) { c.write(b('X-a: b\r\n')); await sleep(200); }
      if (!c.ended) throw new Error('a slowloris connection outlived the request deadline');
    } finally { c.destroy(); }
  }],
  ['slow body', async () => {
    const c = await RawConn.open(port, { timeoutMs: WAIT });
    try {
      c.write(b(`POST ${pollPath('&sid=AAAAAAAAAAAAAAAAAAAA')} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n40`));
      if (!(await c.waitEnd(T.request * 3))) throw new Error('a stalled body outlived the request deadline');
    } finally { c.destroy(); }
  }],
  ['traversal', () => request(port, { path: '/%2e%2e/%2e%2e/etc/passwd', timeoutMs: WAIT })],
  // B2 Engine.IO
  ['__proto__ transport', () => request(port, { path: '/socket.io/?EIO=4&transport=__proto__', timeoutMs: WAIT })],
  ['EIO=3', () => request(port, { path: '/socket.io/?EIO=3&transport=polling', timeoutMs: WAIT })],
  ['unknown sid', () => request(port, { path: pollPath(`&sid=${'A'.repeat(300)}`), timeoutMs: WAIT })],
  ['POST handshake', () => request(port, { method: 'POST', path: pollPath(), body: '40', timeoutMs: WAIT })],
  ['unused handshake', () => request(port, { path: pollPath(), timeoutMs: WAIT })],
  ['two GETs', async () => {
    const poll = new Polling(port);
    await poll.handshake({ timeoutMs: WAIT });
    const c = await RawConn.open(port, { timeoutMs: WAIT });
    try {
      c.write(buildRequest({ port, path: poll.url() }));
      await sleep(50);
      await poll.get({ timeoutMs: WAIT });
      await c.readResponse({ timeoutMs: WAIT });
    } finally { c.destroy(); }
  }],
  ['9abc', async () => { const p = new Polling(port); await p.handshake({ timeoutMs: WAIT }); await p.post('9abc', { timeoutMs: WAIT }); }],
  ['octet-stream', async () => {
    const p = new Polling(port);
    await p.handshake({ timeoutMs: WAIT });
    await request(port, { method: 'POST', path: p.url(), body: '40', headers: [['Content-Type', 'application/octet-stream']], timeoutMs: WAIT });
  }],
  ['413', async () => {
    const p = new Polling(port);
    await p.handshake({ timeoutMs: WAIT });
    await raw(b(`POST ${p.url()} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000001\r\n\r\n${'a'.repeat(1000)}`));
  }],
  ['client ping', async () => { const p = new Polling(port); await p.handshake({ timeoutMs: WAIT }); await p.post('2', { timeoutMs: WAIT }); }],
  ['batched', async () => { const p = new Polling(port); await p.handshake({ timeoutMs: WAIT }); await p.post(`40{"username":"bt"}${RS}42["echo","x"]`, { timeoutMs: WAIT }); }],
  ['vanished GET', async () => {
    const p = new Polling(port);
    await p.handshake({ timeoutMs: WAIT });
    await p.post('40{"username":"vg"}', { timeoutMs: WAIT });
    const c = await RawConn.open(port, { timeoutMs: WAIT });
    c.write(buildRequest({ port, path: p.url() }));
    await sleep(30);
    c.destroy();
  }],
  ['probe never finished', async () => {
    const p = new Polling(port);
    await p.handshake({ timeoutMs: WAIT });
    const ws = await RawWebSocket.connect(port, { path: wsPath(`&sid=${p.sid}`), key: randomKey(), timeoutMs: WAIT });
    try { ws.sendText('2probe'); await ws.conn.waitEnd(300); } finally { ws.destroy(); }
  }],
  // B3 handshake
  ['no key', () => raw(buildRequest({ port, path: wsPath(), headers: [['Connection', 'Upgrade'], ['Upgrade', 'websocket'], ['Sec-WebSocket-Version', '13']] }))],
  ['bad key', () => raw(upgradeRequest({ port, key: 'abc' }))],
  ['version 12', () => raw(upgradeRequest({ port, version: '12' }))],
  ['glued garbage', () => raw(Buffer.concat([upgradeRequest({ port, key: randomKey() }), b('test')]))],
  ['protocol spaces', () => raw(upgradeRequest({ port, key: randomKey(), headers: [['Sec-WebSocket-Protocol', `a${' '.repeat(10000)}b`]] }))],
  // B4 frames
  ['unmasked', () => wsAttack(text('42["echo","x"]', { mask: false }))],
  ['RSV1', () => wsAttack(text('42["echo","x"]', { rsv: 4 }))],
  ['opcode 3', () => wsAttack(frame({ opcode: 3, payload: 'x' }))],
  ['cont first', () => wsAttack(frame({ opcode: OP.CONT, payload: 'x' }))],
  ['big ping', () => wsAttack(frame({ opcode: OP.PING, payload: Buffer.alloc(126) }))],
  ['bad utf8', () => wsAttack(text(Buffer.from('42["echo","\xc3\x28"]', 'latin1')))],
  ['close 1005', () => wsAttack(frame({ opcode: OP.CLOSE, payload: closePayload(1005) }))],
  ['2 MB header', () => wsAttack(frame({ payload: Buffer.alloc(0), length: 2000000 }))],
  ['MSB length', () => wsAttack(Buffer.from([0x81, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0x10, 1, 2, 3, 4]))],
  ['fragment flood', () => wsAttack(Buffer.concat([text('42["echo","', { fin: false }), ...Array.from({ length: 1100 }, () => frame({ opcode: OP.CONT, fin: false, payload: Buffer.alloc(0) }))]))],
  ['oversize fragments', () => wsAttack(Buffer.concat([text('42["echo","', { fin: false }), frame({ opcode: OP.CONT, fin: false, payload: Buffer.alloc(60000, 0x61) }), frame({ opcode: OP.CONT, fin: false, payload: Buffer.alloc(60000, 0x61) })]))],
  ['data after close', () => wsAttack(Buffer.concat([frame({ opcode: OP.CLOSE, payload: closePayload(1000) }), text('421["echo","late"]')]))],
  // B5 Socket.IO
  ['event before CONNECT', async () => { const e = await EioSocket.connect(port, { timeoutMs: WAIT }); try { e.send('42["echo","x"]'); await e.ws.conn.waitEnd(2000); } finally { e.destroy(); } }],
  ['unknown nsp', async () => { const e = await EioSocket.connect(port, { timeoutMs: WAIT }); try { e.send('40/nope,'); await e.next(WAIT); } finally { e.destroy(); } }],
  ['49', () => wsAttack(text('49'))],
  ['bad JSON', () => wsAttack(text('42["echo"'))],
  ['null name', () => wsAttack(text('42[null]'))],
  ['reserved name', () => wsAttack(text('42["disconnect"]'))],
  ['16-digit ack', () => wsAttack(text('429999999999999999["echo","x"]'))],
  ['11 attachments', () => wsAttack(text(`4511-["echo",${PH0}]`))],
  ['splice placeholder', () => wsAttack(Buffer.concat([text('451-["echo",{"_placeholder":true,"num":"splice"}]'), frame({ opcode: OP.BINARY, payload: Buffer.from([1]) })]))],
  ['text while pending', () => wsAttack(Buffer.concat([text(`451-["echo",${PH0}]`), text('42["echo"]')]))],
  ['stray binary', () => wsAttack(frame({ opcode: OP.BINARY, payload: Buffer.from([1, 2]) }))],
  ['nesting bomb', () => wsAttack(text(`42["echo",${'['.repeat(20000)}${']'.repeat(20000)}]`))],
  ['CONNECT twice', () => wsAttack(text('40{"username":"again"}'))],
  ['hostile pm', async () => {
    const e = await joinedWs();
    try {
      for (const m of ['{"to":123}', '"notAnObject"', '{"content":null}', '{"to":"AAAAAAAAAAAAAAAAAAAA","content":"x"}']) e.send(`42["private message",${m}]`);
      e.send('421["echo-decoded","\\ud800\\u0000"]');
      await e.next(WAIT);
    } finally { e.destroy(); }
  }],
  // B6 faults
  ['half-open', async () => { // joins, then never reads or pongs again: reaped by the heartbeat
    const eio = await joinedWs();
    eio.ws.conn.socket.pause();
    setTimeout(() => eio.destroy(), (T.pingInterval + T.pingTimeout) * 3).unref?.();
  }],
  ['silent handshake', async () => { // a WebSocket handshake, then nothing: connectTimeout closes it
    const s = net.connect({ port, host: '127.0.0.1' });
    s.on('error', () => {});
    s.write(upgradeRequest({ port, key: randomKey() }));
    s.resume();
    setTimeout(() => s.destroy(), T.connect * 3).unref?.();
  }],
  ['reset mid-flood', async () => {
    const c = await ChatClient.connect(port, { username: `r${++userSeq}`, room: `rst-${userSeq}`, timeoutMs: WAIT });
    c.sendText(`42["flood",{"room":"rst-${userSeq}","count":8,"size":32768}]`);
    await sleep(Math.floor(rand() * 3));
    c.socket.resetAndDestroy();
  }],
  ['slow reader', async () => {
    const r = `slow-${++userSeq}`;
    const s = await ChatClient.connect(port, { username: `s${userSeq}`, room: r, timeoutMs: WAIT });
    const f = await ChatClient.connect(port, { username: `f${userSeq}`, room: `ctl-${userSeq}`, timeoutMs: WAIT });
    try {
      s.socket.pause();
      for (let i = 0; i < 40; i++) { // up to 10 MiB: over the 4 MiB hard cap
        f.sendText(`42${i}["flood",{"room":"${r}","count":4,"size":65536}]`);
        const ack = await f.expect((p) => typeof p === 'string' && p.startsWith(`43${i}[`), WAIT, 'a flood ack');
        if (ack === `43${i}[0]`) break; // nobody got it: the slow reader has been closed
        await sleep(20);
      }
    } finally { s.destroy(); f.destroy(); }
  }],
  ['mid-close broadcast', async () => {
    const r = `mid-${++userSeq}`;
    const ms = [];
    try {
      for (let i = 0; i < 4; i++) ms.push(await ChatClient.connect(port, { username: `m${userSeq}_${i}`, room: r, timeoutMs: WAIT }));
      const big = text(`42["flood",{"room":"${r}","count":4,"size":8192}]`);
      ms[0].socket.write(Buffer.concat([big, b('garbage!')]));
      ms[1].socket.write(Buffer.concat([big, frame({ opcode: OP.CLOSE, payload: closePayload(1000) })]));
      ms[2].socket.write(text('42["disconnect-me",true]'));
      ms[3].socket.resetAndDestroy();
      await sleep(100);
    } finally { for (const m of ms) m.destroy(); }
  }],
];

// Calls malloc_trim(0) in the server through gdb (when gdb is installed and may attach) and
// returns the server's RSS afterwards in KiB, or null.
function mallocTrim(pid) {
  try {
    execFileSync('gdb', ['-p', String(pid), '-batch', '-ex', 'call (int)malloc_trim(0)'], { stdio: 'ignore', timeout: 60000 });
    return rssKb(pid);
  } catch {
    return null;
  }
}

// ====== The run ======

const KINDS = [
  [0.45, 'ws pair', goodPair, true],
  [0.15, 'polling', goodPolling, true],
  [0.12, 'socket.io-client', realClient, true],
  [0.28, 'bad', null, false],
];

let badIndex = 0;
async function life() {
  let x = rand();
  let kind = KINDS[KINDS.length - 1];
  for (const k of KINDS) { if (x < k[0]) { kind = k; break; } x -= k[0]; }
  let [, name, fn, good] = kind;
  if (!good) {
    const [badName, badFn] = BAD[badIndex++ % BAD.length]; // every attack in turn
    name = `bad: ${badName}`;
    fn = badFn;
  }
  stats.started += name === 'ws pair' ? 2 : 1;
  stats.kinds[name] = (stats.kinds[name] || 0) + 1;
  try {
    await bounded(WAIT * 4, name, fn);
    if (good) stats.good++;
    else stats.bad++;
  } catch (e) {
    if (good) fail(name, e);
    else stats.bad++; // a bad client may be cut off in any way; only the server's health counts
  }
  stats.done++;
}

async function main() {
  log(`seed ${opt.seed}; ${opt.seconds} s of load, at least ${opt.clients} short-lived clients (${opt.concurrency} at once) and ${opt.hold} held ones; server ${opt.server}${opt.valgrind ? ' under valgrind' : ''}`);
  let server;
  let vgLog = null;
  if (opt.valgrind) {
    vgLog = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sio-valgrind-')), 'valgrind.log');
    server = await startServer('valgrind', ['--leak-check=full', '--error-exitcode=99', `--log-file=${vgLog}`, opt.server, ...SERVER_ARGS], { timeoutMs: 60000 });
  } else {
    server = await startServer(opt.server, SERVER_ARGS);
  }
  port = server.port;
  const pid = server.proc.pid;
  let ok = true;
  const check = (cond, msg) => { if (!cond) { ok = false; log(`FAIL ${msg}`); } else log(`ok   ${msg}`); };
  const held = [];
  try {
    const anchorA = await ChatClient.connect(port, { username: 'anchorA', room: 'anchors', timeoutMs: WAIT });
    const anchorB = await ChatClient.connect(port, { username: 'anchorB', room: 'anchors', timeoutMs: WAIT });
    await privateMessage(anchorA, anchorB, 'warm-up', WAIT);
    await sleep(500);
    const baseFds = fdCount(pid);
    const baseRss = rssKb(pid);
    log(`baseline: ${baseFds} descriptors, RSS ${baseRss} KiB`);

    // Sampling: peaks, and a progress line every 5 s.
    const t0 = Date.now();
    let peakFds = 0;
    let peakRss = 0;
    let worst = 0;
    let rounds = 0;
    let heldRounds = 0;
    const sample = () => { peakFds = Math.max(peakFds, fdCount(pid)); peakRss = Math.max(peakRss, rssKb(pid)); };
    const sampler = setInterval(sample, 1000);
    const progress = setInterval(() => {
      log(`${Math.round((Date.now() - t0) / 1000)} s: ${held.length} held, ${stats.started} short-lived started, ${stats.done} lives done (${stats.good} good, ${stats.bad} bad), ${stats.errors.length} errors; server ${fdCount(pid)} fds, RSS ${rssKb(pid)} KiB; anchors ${rounds} rounds (worst ${worst} ms), held pairs ${heldRounds}`);
    }, 5000);

    // The held clients: connected for the whole run, in 50 rooms.
    let next = 0;
    await Promise.all(Array.from({ length: 50 }, async () => {
      while (next < opt.hold) {
        const i = next++;
        try { held.push(await ChatClient.connect(port, { username: `held${i}`, room: `held-${i % 50}`, timeoutMs: WAIT })); } catch (e) { fail('held client', e); }
      }
    }));
    log(`${held.length} held clients connected; server ${fdCount(pid)} fds, RSS ${rssKb(pid)} KiB`);

    // The anchors and random held pairs talk all along; the anchors' worst round trip is the
    // latency figure.
    let stop = false;
    const talkers = [
      (async () => {
        while (!stop) {
          try {
            worst = Math.max(worst, await privateMessage(anchorA, anchorB, `round ${rounds}`, WAIT));
            worst = Math.max(worst, await privateMessage(anchorB, anchorA, `round ${rounds}`, WAIT));
            rounds++;
          } catch (e) { fail('anchors', e); }
          await sleep(200);
        }
      })(),
      ...Array.from({ length: Math.min(10, Math.floor(held.length / 2)) }, (_, w) => (async () => {
        // Worker w only uses held clients i with i % 10 == w, so no client has two waiters.
        const mine = held.filter((_, i) => i % 10 === w);
        while (!stop && mine.length >= 2) {
          const a = pick(mine);
          let b2 = pick(mine);
          if (a === b2) continue;
          try { await privateMessage(a, b2, `held ${heldRounds}`, WAIT); heldRounds++; } catch (e) { fail('held pair', e); }
          a.inbox.length = 0; // their room's user connected/disconnected notices are not needed
          b2.inbox.length = 0;
          await sleep(50);
        }
      })()),
    ];

    const deadline = t0 + opt.seconds * 1000;
    const hardDeadline = t0 + opt.seconds * 3000;
    await Promise.all(Array.from({ length: opt.concurrency }, async () => {
      while ((Date.now() < deadline || stats.started < opt.clients) && Date.now() < hardDeadline) await life();
    }));
    stop = true;
    await Promise.all(talkers);
    const elapsed = (Date.now() - t0) / 1000;
    sample();
    log(`load over after ${elapsed.toFixed(1)} s: ${stats.started} short-lived clients, ${stats.done} lives (${stats.good} good, ${stats.bad} bad); ${held.length} held clients, ${heldRounds} held-pair messages; peak ${peakFds} fds, RSS ${peakRss} KiB`);
    log(`lives by kind: ${Object.entries(stats.kinds).map(([k, v]) => `${k}=${v}`).join(', ')}`);

    // The held clients leave, in every way there is.
    await Promise.all(held.map((c) => leave(c).catch(() => c.destroy())));
    clearInterval(progress);
    clearInterval(sampler);

    // Everything the load left (half-open sessions, unused handshakes) is reaped by the timers.
    let fds = 0;
    try {
      await until(() => (fds = fdCount(pid)) <= baseFds, (T.pingInterval + T.pingTimeout + T.connect) * 4, 'descriptors back to the baseline');
    } catch { /* reported below */ }
    check(fds <= baseFds, `descriptors back to the baseline: ${fds} (baseline ${baseFds}, peak ${peakFds})`);
    await privateMessage(anchorA, anchorB, 'after the soak', WAIT);
    await privateMessage(anchorB, anchorA, 'after the soak', WAIT);
    const late = await ChatClient.connect(port, { username: 'late', room: 'anchors', timeoutMs: WAIT });
    await privateMessage(late, anchorA, 'a new client after the soak', WAIT);
    late.destroy();
    check(true, `the anchors still chat, a new client is served (anchors: ${rounds} rounds, worst round trip ${worst} ms)`);
    if (!opt.valgrind) {
      // Sessions expire a heartbeat after their last client left; give the allocator a moment.
      const bound = /(^|\/)asan\//.test(opt.server) ? 320 * 1024 : 32 * 1024;
      let rss = 0;
      try { await until(() => (rss = rssKb(pid)) <= baseRss + bound, 45000, "RSS"); } catch { /* reported below */ }
      check(rss <= baseRss + bound, `RSS back within ${bound} KiB of the baseline: ${rss} KiB (baseline ${baseRss} KiB, peak ${peakRss} KiB)`);
      // Most of what remains is free memory glibc keeps for reuse, not live data. When gdb can
      // attach, ask the allocator to give it back (malloc_trim(0)) and hold RSS to a tight bound.
      if (!/(^|\/)asan\//.test(opt.server)) {
        const trimmed = mallocTrim(pid);
        if (trimmed === null) log('note: gdb could not attach; the tight RSS check after malloc_trim(0) is skipped');
        else check(trimmed <= baseRss + 8 * 1024, `RSS after malloc_trim(0) (free memory returned to the system): ${trimmed} KiB (baseline ${baseRss} KiB; bound +8192 KiB)`);
      }
    }
    check(stats.errors.length === 0, `good clients without errors (${stats.good} good lives, ${stats.errors.length} errors)`);
    check(stats.started + held.length >= opt.clients, `clients connected: ${stats.started} short-lived + ${held.length} held`);
    anchorA.destroy();
    anchorB.destroy();
  } catch (e) {
    ok = false;
    log(`FAIL ${e.stack}`);
  } finally {
    for (const c of held) c.destroy();
    let code;
    try { code = await server.stop(); } catch (e) { code = e.message; }
    check(code === 0, `server exit status ${code}`);
    if (vgLog) {
      const text = fs.existsSync(vgLog) ? fs.readFileSync(vgLog, 'utf8') : '';
      const summary = text.match(/ERROR SUMMARY: (\d+) errors/);
      const leaks = text.split('\n').filter((l) => /(definitely|indirectly|possibly) lost:|still reachable:|All heap blocks were freed/.test(l)).map((l) => l.replace(/^==\d+== */, ''));
      log(`valgrind: ${summary ? summary[0] : 'no summary'}; ${leaks.join('; ') || 'no leak lines'} (log: ${vgLog})`);
      check(summary && summary[1] === '0', 'valgrind: 0 errors');
      if (!(summary && summary[1] === '0')) process.stdout.write(text.slice(0, 20000));
      else fs.rmSync(path.dirname(vgLog), { recursive: true, force: true }); // kept only when it has something to say
    }
  }
  for (const e of stats.errors.slice(0, 20)) log(`error: ${e}`);
  log(ok ? 'PASS' : 'FAILED');
  process.exit(ok ? 0 : 1);
}

main();
