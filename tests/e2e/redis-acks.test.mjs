// SPDX-License-Identifier: MIT
// Issue 7, end to end: broadcasts with acks and socketsJoin / socketsLeave / disconnectSockets
// across a mixed cluster -- two sio nodes (the semantics test server with --redis, which exposes
// sio_op_emit_with_ack, sio_op_join/leave/disconnect as events) and a stock Node socket.io +
// @socket.io/redis-adapter peer (tests/redis-peer) -- then the same requests and responses from
// a hostile publisher.
//
// Every describe starts its own redis-server on a free loopback port and its own nodes, and stops
// all of them by PID. Without redis-server the suite prints a SKIPPED banner. The clients are the
// stock socket.io-client, websocket transport only.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { io } from 'socket.io-client';
import { SIO_SEMANTICS, startServer, stopServer, until } from './helpers.mjs';
import { freePort } from './chatlib.mjs';
import {
  PEER, PEER_DIR, SKIP, clusterReady, mp, notepack, redisCmd, redisPipeline, redisSubscriber, sleep, startRedis,
} from './redislib.mjs';

const TIMEOUT = { timeout: 120000 };

// A connected client named `name`; handlers: { event: (args..., cb) => ... }.
async function client(url, name, handlers = {}) {
  const socket = io(url, { forceNew: true, reconnection: false, transports: ['websocket'] });
  for (const [event, fn] of Object.entries(handlers)) socket.on(event, fn);
  const events = [];
  socket.onAny((e, ...a) => events.push([e, ...a]));
  const gone = new Promise((resolve) => socket.on('disconnect', resolve));
  await new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  });
  return { name, socket, id: socket.id, events, gone };
}

// Answers an "ask" with {who, q} (the client's name and the question).
const answer = (who, extra = {}) => (q, cb) => cb({ who, q, ...extra });
const whos = (responses) => responses.map((r) => r && r.who).sort();

// The rooms of a client: the semantics server's "rooms" and the peer's both ack the list.
const roomsOf = (c) => c.socket.timeout(5000).emitWithAck('rooms');
async function untilRooms(c, pred, what) {
  let last;
  await until(async () => pred((last = await roomsOf(c))), 5000, `${c.name}: ${what} (rooms ${JSON.stringify(last)})`);
}

// A sio_op_emit_with_ack from a client of a semantics node: resolves with
// { n: local recipients, result: {tag, err, responses} }.
async function sioAsk(c, spec, event, ...args) {
  const tag = `t${Math.random()}`;
  const result = new Promise((resolve) => {
    const on = (r) => { if (r.tag === tag) { c.socket.off('emit-with-ack-result', on); resolve(r); } };
    c.socket.on('emit-with-ack-result', on);
  });
  const n = await c.socket.timeout(5000).emitWithAck('emit-with-ack', { ...spec, tag }, event, ...args);
  return { n, result: await Promise.race([result, sleep(15000).then(() => { throw new Error(`${c.name}: no result for ${event}`); })]) };
}

async function teardown(st) {
  for (const c of st.clients) c.socket.disconnect();
  const errors = [];
  for (const s of st.servers) {
    try { await stopServer(s); } catch (e) { errors.push(e); }
  }
  for (const r of st.redis) await r.stop('SIGKILL');
  if (errors.length) throw errors[0];
}

// ---------------------------------------------------------------------------------------------

describe('a mixed cluster (2 sio nodes + a Node node): acks and remote joins both ways', { ...TIMEOUT, skip: SKIP }, () => {
  const st = { clients: [], servers: [], redis: [] };
  let S1, S2, N, a1, a2, b1, n1;
  after(() => teardown(st));

  before(async () => {
    assert.ok(fs.existsSync(path.join(PEER_DIR, 'node_modules', '@socket.io', 'redis-adapter')),
      'tests/redis-peer is not installed: run `make test-e2e` (it runs npm ci there)');
    const redis = await startRedis(await freePort());
    st.redis.push(redis);
    S1 = await startServer(SIO_SEMANTICS, ['--redis', redis.url], { timeoutMs: 15000 });
    st.servers.push(S1);
    S2 = await startServer(SIO_SEMANTICS, ['--redis', redis.url], { timeoutMs: 15000 });
    st.servers.push(S2);
    N = await startServer(process.execPath, [PEER, '0', redis.url], { timeoutMs: 15000 });
    st.servers.push(N);
    await clusterReady(redis.port, 3);
    // "ask" is answered by everyone (a2 with binary); "ask2" only by a1 and n1.
    a1 = await client(S1.url, 'a1', { ask: answer('a1'), ask2: answer('a1') });
    a2 = await client(S1.url, 'a2', { ask: answer('a2', { bin: Buffer.from([1, 2, 3]) }) });
    b1 = await client(S2.url, 'b1', { ask: answer('b1') });
    n1 = await client(N.url, 'n1', { ask: answer('n1'), ask2: answer('n1') });
    st.clients.push(a1, a2, b1, n1);
  });

  it("a Node node's io.timeout(t).emit(ev, cb) gets the acks of the sio nodes' clients", async () => {
    const r = await n1.socket.timeout(10000).emitWithAck('askall', { event: 'ask', timeout: 3000, payload: 'q1' });
    assert.equal(r.err, null, `Node reported an error: ${JSON.stringify(r)}`);
    assert.deepEqual(whos(r.responses), ['a1', 'a2', 'b1', 'n1']);
    for (const x of r.responses) assert.equal(x.q, 'q1');
    // a2's answer held a Buffer: it crossed Redis as msgpack bin and came back to n1 as binary.
    const fromA2 = r.responses.find((x) => x.who === 'a2');
    assert.deepEqual([...Buffer.from(fromA2.bin)], [1, 2, 3]);
    for (const c of [a1, a2, b1, n1]) assert.equal(c.events.filter(([e]) => e === 'ask').length, 1, `${c.name}: one "ask"`);

    // Recipients that do not answer (a2 and b1 have no "ask2" handler) are counted by their
    // nodes: Node waits for them and reports the timeout with the answers it has.
    const r2 = await n1.socket.timeout(10000).emitWithAck('askall', { event: 'ask2', timeout: 1500, payload: 'q2' });
    assert.equal(r2.err, 'operation has timed out');
    assert.deepEqual(whos(r2.responses), ['a1', 'n1']);
  });

  it('sio_op_emit_with_ack gets the acks of clients on the Node node and on the other sio node', async () => {
    const { n, result } = await sioAsk(a1, { timeout: 3000 }, 'ask', 'q3');
    assert.equal(n, 2, 'the return value counts the local recipients');
    assert.equal(result.err, null, JSON.stringify(result));
    assert.deepEqual(whos(result.responses), ['a1', 'a2', 'b1', 'n1']);
    for (const x of result.responses) assert.equal(x.q, 'q3');

    // From the other sio node, whose only local recipient is the asker.
    const fromB = await sioAsk(b1, { timeout: 3000 }, 'ask', 'q4');
    assert.equal(fromB.n, 1);
    assert.equal(fromB.result.err, null);
    assert.deepEqual(whos(fromB.result.responses), ['a1', 'a2', 'b1', 'n1']);

    // Silent recipients on the other nodes: the timeout, with the answers that came.
    const silent = await sioAsk(a1, { timeout: 1500 }, 'ask2', 'q5');
    assert.equal(silent.result.err, 'operation has timed out');
    assert.deepEqual(whos(silent.result.responses), ['a1', 'n1']);

    // A room whose members are all on other nodes: no local recipient, the others answer.
    await n1.socket.timeout(5000).emitWithAck('join', { room: 'grp' });
    await b1.socket.timeout(5000).emitWithAck('join', 'grp');
    const grp = await sioAsk(a1, { timeout: 3000, to: 'grp' }, 'ask', 'q6');
    assert.equal(grp.n, 0);
    assert.equal(grp.result.err, null);
    assert.deepEqual(whos(grp.result.responses), ['b1', 'n1']);

    // .local: this node's sockets only, reported as soon as they answered.
    const loc = await sioAsk(a1, { timeout: 3000, local: true }, 'ask', 'q7');
    assert.equal(loc.result.err, null);
    assert.deepEqual(whos(loc.result.responses), ['a1', 'a2']);
    assert.equal(b1.events.filter(([e, q]) => e === 'ask' && q === 'q7').length, 0);
    assert.equal(n1.events.filter(([e, q]) => e === 'ask' && q === 'q7').length, 0);
  });

  it('socketsJoin / socketsLeave / disconnectSockets from sio reach the Node node and the other sio node', async () => {
    assert.equal(await a1.socket.timeout(5000).emitWithAck('sockets-join', {}, 'all-x'), 2, 'local count');
    for (const c of [a1, a2, b1, n1]) await untilRooms(c, (r) => r.includes('all-x'), 'joined all-x');

    // except a remote socket id; to a room; and .local (not published).
    await a1.socket.timeout(5000).emitWithAck('sockets-join', { except: b1.id }, 'not-b1');
    await a1.socket.timeout(5000).emitWithAck('sockets-join', { to: 'grp' }, 'grp-too');
    await a1.socket.timeout(5000).emitWithAck('sockets-join', { local: true }, 'only-s1');
    // Requests are applied in order: once the marker arrives, the ones before it were applied.
    await a1.socket.timeout(5000).emitWithAck('sockets-join', {}, 'marker1');
    for (const c of [b1, n1]) await untilRooms(c, (r) => r.includes('marker1'), 'marker1');
    for (const c of [a1, a2]) assert.ok((await roomsOf(c)).includes('only-s1'));
    assert.deepEqual((await roomsOf(n1)).filter((r) => ['not-b1', 'grp-too', 'only-s1'].includes(r)).sort(), ['grp-too', 'not-b1']);
    assert.deepEqual((await roomsOf(b1)).filter((r) => ['not-b1', 'grp-too', 'only-s1'].includes(r)).sort(), ['grp-too']);
    assert.deepEqual((await roomsOf(a1)).filter((r) => ['not-b1', 'grp-too'].includes(r)), ['not-b1']);

    assert.equal(await a1.socket.timeout(5000).emitWithAck('sockets-leave', { to: 'all-x', except: a2.id }, 'all-x'), 1);
    for (const c of [a1, b1, n1]) await untilRooms(c, (r) => !r.includes('all-x'), 'left all-x');
    assert.ok((await roomsOf(a2)).includes('all-x'), 'a2 was excepted');

    // disconnectSockets: two victims in "doomed", one on each other node, and one bystander.
    const d1 = await client(N.url, 'd1');
    const d2 = await client(S2.url, 'd2');
    st.clients.push(d1, d2);
    await d1.socket.timeout(5000).emitWithAck('join', { room: 'doomed' });
    await d2.socket.timeout(5000).emitWithAck('join', 'doomed');
    assert.equal(await a1.socket.timeout(5000).emitWithAck('sockets-disconnect', { to: 'doomed' }, false), 0);
    const reasons = await Promise.race([Promise.all([d1.gone, d2.gone]), sleep(5000).then(() => 'still connected')]);
    assert.deepEqual(reasons, ['io server disconnect', 'io server disconnect']);
    assert.ok(n1.socket.connected && b1.socket.connected);
  });

  it('socketsJoin / socketsLeave / disconnectSockets from the Node node reach both sio nodes', async () => {
    assert.equal(await n1.socket.timeout(5000).emitWithAck('socketsJoin', { room: 'from-node' }), 'ok');
    for (const c of [a1, a2, b1, n1]) await untilRooms(c, (r) => r.includes('from-node'), 'joined from-node');

    await n1.socket.timeout(5000).emitWithAck('socketsLeave', { to: 'from-node', except: a1.id, room: 'from-node' });
    for (const c of [a2, b1, n1]) await untilRooms(c, (r) => !r.includes('from-node'), 'left from-node');
    assert.ok((await roomsOf(a1)).includes('from-node'), 'a1 was excepted');

    await n1.socket.timeout(5000).emitWithAck('socketsJoin', { to: ['grp', a2.id], room: 'picked' });
    for (const c of [a2, b1, n1]) await untilRooms(c, (r) => r.includes('picked'), 'joined picked');
    assert.ok(!(await roomsOf(a1)).includes('picked'));

    const d3 = await client(S1.url, 'd3');
    const d4 = await client(S2.url, 'd4');
    st.clients.push(d3, d4);
    await d3.socket.timeout(5000).emitWithAck('join', 'doomed2');
    await d4.socket.timeout(5000).emitWithAck('join', 'doomed2');
    await n1.socket.timeout(5000).emitWithAck('disconnectSockets', { to: 'doomed2', close: true });
    const reasons = await Promise.race([Promise.all([d3.gone, d4.gone]), sleep(5000).then(() => 'still connected')]);
    assert.ok(Array.isArray(reasons), 'both disconnected');
    assert.ok(a1.socket.connected && b1.socket.connected && n1.socket.connected);

    // The cluster still works after all of the above; every node exits cleanly.
    const { result } = await sioAsk(a2, { timeout: 3000 }, 'ask', 'last');
    assert.equal(result.err, null);
    assert.deepEqual(whos(result.responses), ['a1', 'a2', 'b1', 'n1']);
    for (const c of st.clients) c.socket.disconnect();
    for (const s of [S1, S2, N]) assert.equal(await s.stop(), 0);
  });
});

// ---------------------------------------------------------------------------------------------

describe('broadcasts with acks from a hand-written node and a hostile publisher', { ...TIMEOUT, skip: SKIP }, () => {
  const st = { clients: [], servers: [], redis: [] };
  let redis, S, c1, resp;
  after(async () => { resp?.close(); await teardown(st); });
  const RESP = 'socket.io-response#/#';
  const REQ = 'socket.io-request#/#';
  const opts = (timeout) => ({ rooms: [], except: [], flags: { timeout } });
  const packet = (...data) => ({ type: 2, data, nsp: '/' });
  const pub = (ch, payload) => redisCmd(redis.port, 'PUBLISH', ch, payload);
  // The responses seen for requestId `rid`, decoded (JSON or msgpack, as Node does; the
  // malformed ones this test publishes itself are skipped).
  const np = notepack();
  const decode = (p) => { try { return p[0] === 0x7b ? JSON.parse(p) : np.decode(p); } catch { return null; } };
  const responses = (rid) => resp.messages.map(({ payload }) => decode(payload)).filter((r) => r && r.requestId === rid);

  before(async () => {
    assert.ok(np, 'tests/redis-peer is not installed (notepack.io): run `make test-e2e`');
    redis = await startRedis(await freePort());
    st.redis.push(redis);
    S = await startServer(SIO_SEMANTICS, ['--redis', redis.url], { timeoutMs: 15000 });
    st.servers.push(S);
    await clusterReady(redis.port, 1);
    c1 = await client(S.url, 'c1', {
      hask: (x, cb) => cb({ who: 'c1', got: x }),
      slow: (x, cb) => setTimeout(() => cb({ who: 'c1' }), 700),
      // "hsilent" is never answered
    });
    st.clients.push(c1);
    resp = await redisSubscriber(redis.port, [RESP]);
  });

  it('answers a type 7 request as @socket.io/redis-adapter does: 8 (JSON), then 9 (msgpack) per ack', async () => {
    await pub(REQ, mp({ uid: 'zz', requestId: 'h-ok', type: 7, packet: packet('hask', Buffer.from([7, 8])), opts: opts(2000) }));
    await until(() => responses('h-ok').length === 2, 5000, 'the count and the ack for h-ok');
    const [count, ack] = responses('h-ok');
    assert.deepEqual(count, { type: 8, requestId: 'h-ok', clientCount: 1 });
    assert.equal(ack.type, 9);
    assert.equal(ack.packet.who, 'c1');
    // The binary argument reached the client as binary and came back as msgpack bin.
    assert.ok(Buffer.isBuffer(ack.packet.got), `got ${JSON.stringify(ack.packet.got)}`);
    assert.deepEqual([...ack.packet.got], [7, 8]);
    const raw = resp.messages.find(({ payload }) => payload[0] === 0x7b && JSON.parse(payload).requestId === 'h-ok').payload;
    assert.equal(raw.toString(), '{"type":8,"requestId":"h-ok","clientCount":1}');

    // A JSON type 7 (Node parses either form) and rooms: nobody here is in "nowhere".
    await pub(REQ, JSON.stringify({ uid: 'zz', requestId: 'h-json', type: 7, packet: packet('hask', 1), opts: { ...opts(2000), rooms: ['nowhere'] } }));
    await until(() => responses('h-json').length === 1, 5000, 'the count for h-json');
    assert.equal(responses('h-json')[0].clientCount, 0);
  });

  it('ignores malformed type 7 requests, forged counts and unknown requestIds', async () => {
    const before = c1.events.length;
    const bad = [
      mp({ uid: 'zz', requestId: 'b1', type: 7, packet: 'x', opts: 1 }),
      mp({ uid: 'zz', type: 7, packet: packet('hask', 1), opts: opts(1000) }), // no requestId
      mp({ uid: 'zz', requestId: 5, type: 7, packet: packet('hask', 1), opts: opts(1000) }),
      mp({ uid: 'zz', requestId: 'r'.repeat(1000), type: 7, packet: packet('hask', 1), opts: opts(1000) }),
      mp({ uid: 'zz', requestId: '', type: 7, packet: packet('hask', 1), opts: opts(1000) }),
      mp({ uid: 'zz', requestId: 'b2', type: 7, packet: { type: 2, data: [], nsp: '/' }, opts: opts(1000) }),
      mp({ uid: 'zz', requestId: 'b3', type: 7, packet: { type: 2, data: ['hask'], nsp: '/elsewhere' }, opts: opts(1000) }),
      mp({ uid: 'zz', requestId: 'b4', type: 7, packet: { type: 3, data: ['hask'] }, opts: opts(1000) }),
      mp({ uid: 'zz', requestId: 'b5', type: 7, packet: packet('connect'), opts: opts(1000) }), // reserved name
      mp({ uid: 'zz', requestId: 'b6', type: 7, packet: packet('hask'), opts: { rooms: 5, except: [], flags: {} } }),
      mp({ uid: 'zz', requestId: 'b7', type: 7, packet: packet('hask'), opts: { rooms: [], except: [[1]], flags: {} } }),
      mp({ uid: 'zz', requestId: 'b8', type: 7, packet: packet('hask', ...new Array(12).fill(Buffer.from([1]))), opts: opts(1000) }),
      Buffer.concat([mp({ uid: 'zz', requestId: 'b9', type: 7, packet: packet('hask'), opts: opts(1000) }), Buffer.from([0])]),
      Buffer.from([0x85, 0xa3, 0x75]), // truncated
      Buffer.from([0xdf, 0xff, 0xff, 0xff, 0xff]), // map32 of 4G pairs
    ];
    for (const p of bad) await pub(REQ, p);
    // Odd but well-formed timeouts are replaced (5 s, or capped); the request is answered.
    await pub(REQ, mp({ uid: 'zz', requestId: 'b10', type: 7, packet: packet('hask', 'neg'), opts: opts(-5) }));
    await pub(REQ, mp({ uid: 'zz', requestId: 'b11', type: 7, packet: packet('hask', 'huge'), opts: opts(1e300) }));
    await until(() => responses('b10').length === 2 && responses('b11').length === 2, 5000, 'b10 and b11 answered');
    for (const rid of ['b1', 'b2', 'b3', 'b4', 'b5', 'b6', 'b7', 'b8', 'b9', '']) assert.deepEqual(responses(rid), [], rid);
    assert.deepEqual(c1.events.slice(before).map(([e, x]) => `${e}:${x}`).sort(), ['hask:huge', 'hask:neg']);

    // sio's own broadcast with acks, with a hand-written node in the cluster: this subscriber of
    // the request channel counts as one (NUMSUB), so sio waits for its count. Forged counts
    // (not integers in range) and acks for unknown requestIds come first; then a valid count of 1
    // and one ack. The result has exactly c1's answer and the hand-written one, without error.
    const reqs = await redisSubscriber(redis.port, [REQ]);
    try {
      const asked = sioAsk(c1, { timeout: 4000 }, 'slow', 'q');
      await until(() => reqs.messages.length >= 1, 5000, 'sio\'s type 7 request');
      const req = np.decode(reqs.messages[0].payload);
      assert.equal(req.type, 7);
      assert.match(req.requestId, /^[\w-]{20}$/);
      assert.deepEqual(req.packet, { type: 2, data: ['slow', 'q'], nsp: '/' });
      assert.deepEqual(req.opts, { rooms: [], except: [], flags: { timeout: 4000 } });
      assert.equal(typeof req.uid, 'string');
      const rid = req.requestId;
      for (const clientCount of [1e12, -1, 'x', 1.5, null, 2 ** 31, 1e300]) {
        await pub(RESP, JSON.stringify({ type: 8, requestId: rid, clientCount }));
      }
      await pub(RESP, mp({ type: 9, requestId: 'nope', packet: { who: 'forged' } }));
      await pub(RESP, JSON.stringify({ type: 9, requestId: 'nope', packet: { who: 'forged' } }));
      await pub(RESP, mp({ type: 9, requestId: rid, packet: { who: 'too early' } }).subarray(0, 10)); // truncated
      await pub(RESP, JSON.stringify({ type: 8, requestId: rid, clientCount: 1 }));
      await pub(RESP, mp({ type: 9, requestId: rid, packet: { who: 'hand-written' } }));
      const { n, result } = await asked;
      assert.equal(n, 1);
      assert.equal(result.err, null, JSON.stringify(result));
      assert.deepEqual(whos(result.responses), ['c1', 'hand-written']);
      // Late answers for a finished request are ignored.
      await pub(RESP, mp({ type: 9, requestId: rid, packet: { who: 'late' } }));
    } finally {
      reqs.close();
    }
    await clusterReady(redis.port, 1, 5000);
  });

  it('other nodes\' broadcasts with acks in flight are capped (256); they expire at their timeout', async () => {
    // In one write, and with a 3 s timeout: none expires while the flood is read.
    const N = 300;
    const flood = [];
    for (let i = 0; i < N; i++) {
      flood.push(['PUBLISH', REQ, mp({ uid: 'zz', requestId: `f${i}`, type: 7, packet: packet('hsilent', i), opts: opts(3000) })]);
    }
    await redisPipeline(redis.port, flood);
    const counted = () => {
      let n = 0;
      for (let i = 0; i < N; i++) n += responses(`f${i}`).length;
      return n;
    };
    await until(() => counted() >= 256, 5000, 'the counts of the flood');
    await sleep(300);
    assert.equal(counted(), 256, 'ADAPTER_MAX_REMOTE_ACKS requests answered, the rest ignored');
    assert.equal(c1.events.filter(([e]) => e === 'hsilent').length, 256);
    // Their pending acks time out after 3 s; then new requests are answered again.
    await sleep(3200);
    await pub(REQ, mp({ uid: 'zz', requestId: 'after', type: 7, packet: packet('hask', 'after'), opts: opts(2000) }));
    await until(() => responses('after').length === 2, 5000, 'a request after the flood expired');
    assert.match(S.output(), /too many broadcasts with acks/);
    assert.equal(S.proc.exitCode, null);
    c1.socket.disconnect();
    assert.equal(await S.stop(), 0);
  });
});
