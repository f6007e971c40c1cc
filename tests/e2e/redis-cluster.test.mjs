// SPDX-License-Identifier: MIT
// Issue 7, end to end: several ./sio-server processes (the tutorial's part-3 chat with --redis)
// joined through a real redis-server, a mixed cluster with a stock Node socket.io +
// @socket.io/redis-adapter peer (tests/redis-peer), and the Redis faults (not running at start,
// SIGKILLed and restarted mid-chat, garbage on the channels).
//
// Every test starts its own redis-server on a free loopback port (no persistence) and its own
// nodes, and stops all of them by PID. Without redis-server the suite prints a SKIPPED banner.
// The clients are the stock socket.io-client, websocket transport only (no sticky sessions here).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { io } from 'socket.io-client';
import { startServer, until } from './helpers.mjs';
import { chatClient, connect, waitEvent, freePort } from './chatlib.mjs';
import { SKIP, WS, PEER, PEER_DIR, mp, sleep, redisCmd, startRedis, clusterReady, chatUser, sioNode, teardown, sendUntilDelivered } from './redislib.mjs';

const TIMEOUT = { timeout: 120000 };

// A broadcast as @socket.io/redis-adapter publishes it: [uid, packet, opts].
const bcast = (uid, data, opts = {}) =>
  mp([uid, { type: 2, data, nsp: '/' }, { rooms: [], except: [], flags: {}, ...opts }]);

// Sends one private message and waits for it at every client of `rcpts`.
async function sendAndExpect(from, to, rcpts, content, timeoutMs = 5000) {
  from.socket.emit('private message', { content, to });
  for (const r of rcpts) {
    const m = await waitEvent(r, 'private message', (x) => x.content === content, timeoutMs);
    assert.deepEqual(m, { content, from: from.userID, to });
  }
}

// ---------------------------------------------------------------------------------------------

describe('two sio nodes through Redis: the chat across nodes', { ...TIMEOUT, skip: SKIP }, () => {
  const st = { clients: [], servers: [], redis: [], dirs: [] };
  let redis, A, B, alice, bob1, bob2, carol;
  after(() => teardown(st));

  it('cross-node broadcasts, private messages by userID, a user on both nodes, the cluster-wide last-tab check', async () => {
    redis = await startRedis(await freePort());
    st.redis.push(redis);
    // Both nodes keep sessions and messages in Redis (the tutorial's part 4), so a session made
    // on B is known on A.
    B = await sioNode(redis.url);
    st.servers.push(B);
    A = await sioNode(redis.url);
    st.servers.push(A);
    await clusterReady(redis.port, 2);
    bob1 = await chatUser(B.url, { username: 'bob' });
    st.clients.push(bob1);

    // alice on A: bob on B hears "user connected" (socket.broadcast from A, through Redis).
    alice = await chatUser(A.url, { username: 'alice' });
    st.clients.push(alice);
    const uc = await waitEvent(bob1, 'user connected', (u) => u.userID === alice.userID, 5000);
    assert.equal(uc.username, 'alice');
    // carol on B: alice on A hears it (B to A).
    carol = await chatUser(B.url, { username: 'carol' });
    st.clients.push(carol);
    assert.equal((await waitEvent(alice, 'user connected', (u) => u.userID === carol.userID, 5000)).username, 'carol');

    // Private messages both ways, by userID room.
    await sendAndExpect(alice, bob1.userID, [bob1], 'A to B: hello bob');
    await sendAndExpect(bob1, alice.userID, [alice], 'B to A: hello alice');
    await sendAndExpect(carol, alice.userID, [alice], 'B to A: from carol');

    // bob's second tab, on A (same session, so the same userID): the userID room spans the nodes.
    bob2 = chatClient(A.url, { sessionID: bob1.sessionID }, WS);
    st.clients.push(bob2);
    await connect(bob2.socket);
    await waitEvent(bob2, 'users', () => true, 10000);
    assert.equal(bob2.userID, bob1.userID);
    await sendAndExpect(alice, bob1.userID, [bob1, bob2], 'to both of bob\'s tabs');
    // From bob's tab on A: alice and bob's other tab (on B) get it; the sender's socket does not.
    await sendAndExpect(bob2, alice.userID, [alice, bob1], 'from bob\'s tab on A');
    await sleep(300);
    assert.equal(bob2.received('private message').filter((m) => m.content === 'from bob\'s tab on A').length, 0,
      'the sending tab does not get its own message');
    // Exactly once each, although A delivers locally and B through Redis.
    assert.equal(bob1.received('private message').filter((m) => m.content === 'to both of bob\'s tabs').length, 1);
    assert.equal(bob2.received('private message').filter((m) => m.content === 'to both of bob\'s tabs').length, 1);

    // bob's tab on A leaves: A has no bob socket left, but B has one -> no "user disconnected".
    bob2.socket.disconnect();
    await sleep(1500); // the SOCKETS round trip takes milliseconds; a wrong answer would be here by now
    assert.equal(alice.received('user disconnected').filter((id) => id === bob1.userID).length, 0,
      'no "user disconnected" while bob still has a tab on node B');
    assert.equal(carol.received('user disconnected').filter((id) => id === bob1.userID).length, 0);
    // His last tab (on B) leaves: now everyone hears it, once.
    const t0 = Date.now();
    bob1.socket.disconnect();
    await waitEvent(alice, 'user disconnected', (id) => id === bob1.userID, 8000);
    await waitEvent(carol, 'user disconnected', (id) => id === bob1.userID, 8000);
    const ms = Date.now() - t0;
    assert.ok(ms < 4500, `the cluster-wide count answered in ${ms} ms (a 5 s timeout means a node did not answer)`);
    await sleep(300);
    assert.equal(alice.received('user disconnected').filter((id) => id === bob1.userID).length, 1);

    alice.socket.disconnect();
    carol.socket.disconnect();
    assert.equal(await A.stop(), 0);
    assert.equal(await B.stop(), 0);
  });
});

// ---------------------------------------------------------------------------------------------

describe('a mixed cluster: sio + a Node socket.io with @socket.io/redis-adapter', { ...TIMEOUT, skip: SKIP }, () => {
  const st = { clients: [], servers: [], redis: [], dirs: [] };
  after(() => teardown(st));

  it('broadcasts both ways, binary from Node, Node fetchSockets() completes, SOCKETS answered by Node', async () => {
    assert.ok(fs.existsSync(path.join(PEER_DIR, 'node_modules', '@socket.io', 'redis-adapter')),
      'tests/redis-peer is not installed: run `make test-e2e` (it runs npm ci there)');
    const redis = await startRedis(await freePort());
    st.redis.push(redis);
    const S = await sioNode(redis.url);
    st.servers.push(S);
    const N = await startServer(process.execPath, [PEER, '0', redis.url], { timeoutMs: 15000 });
    st.servers.push(N);
    await clusterReady(redis.port, 2);

    const sam = await chatUser(S.url, { username: 'sam' });
    st.clients.push(sam);
    const p = io(N.url, { forceNew: true, reconnection: false, ...WS });
    const pEvents = [];
    p.onAny((e, ...a) => pEvents.push([e, ...a]));
    st.clients.push({ socket: p });
    await new Promise((resolve, reject) => { p.once('connect', resolve); p.once('connect_error', reject); });
    const pGot = (event, pred = () => true, timeoutMs = 5000) => {
      let hit;
      return until(() => (hit = pEvents.find(([e, a]) => e === event && pred(a))), timeoutMs, `node client: "${event}"`)
        .then(() => hit[1]);
    };

    // Node -> sio: io.to(sam's userID room).emit(...) reaches sam on the sio node.
    assert.equal(await p.timeout(5000).emitWithAck('to', { room: sam.userID, event: 'from node', payload: { x: 1, s: 'é€' } }), 'ok');
    assert.deepEqual(await waitEvent(sam, 'from node', () => true, 5000), { x: 1, s: 'é€' });
    // ... and to sam's socket id (a single-room broadcast on socket.io#/#<sid>#).
    await p.timeout(5000).emitWithAck('to', { room: sam.socket.id, event: 'to my sid', payload: [1, null, true] });
    assert.deepEqual(await waitEvent(sam, 'to my sid', () => true, 5000), [1, null, true]);
    // Binary from Node (msgpack bin) arrives as a binary attachment.
    await p.timeout(5000).emitWithAck('tobin', { room: sam.userID, event: 'bin' });
    const bin = await waitEvent(sam, 'bin', () => true, 5000);
    assert.ok(Buffer.isBuffer(bin) || bin instanceof ArrayBuffer, `binary arrived as ${typeof bin}`);
    assert.deepEqual([...Buffer.from(bin)], [1, 2, 3, 255]);

    // sio -> Node: the Node client joins a room named like a userID; sam's private message to it
    // (socket.to(to).to(userID).emit on sio) reaches it.
    const R = 'feedfacecafebeef';
    await p.timeout(5000).emitWithAck('join', { room: R });
    sam.socket.emit('private message', { content: 'sio to node', to: R });
    assert.deepEqual(await pGot('private message', (m) => m.content === 'sio to node'),
      { content: 'sio to node', from: sam.userID, to: R });
    // A sio socket.broadcast reaches the Node node's client too.
    const tom = await chatUser(S.url, { username: 'tom' });
    st.clients.push(tom);
    assert.equal((await pGot('user connected', (u) => u.userID === tom.userID)).username, 'tom');

    // Node's io.fetchSockets() completes (the sio node answers REMOTE_FETCH) and lists sio's sockets.
    const f = await p.timeout(9000).emitWithAck('fetch');
    assert.ok(f.ok, `fetchSockets failed: ${f.error}`);
    assert.ok(f.ms < 4500, `fetchSockets took ${f.ms} ms (5 s is the timeout)`);
    for (const id of [sam.socket.id, tom.socket.id, p.id]) assert.ok(f.ids.includes(id), `${id} in ${JSON.stringify(f.ids)}`);
    assert.equal(f.ids.length, 3);
    const c = await p.timeout(9000).emitWithAck('count', { room: sam.userID });
    assert.deepEqual(c, { ok: true, n: 1 });

    // sio's cluster-wide count asks the Node node too: tom leaves (nobody else in his room) ->
    // "user disconnected" quickly on both nodes; then the Node client joins sam's userID room and
    // sam leaves -> the Node node answers 1 -> no "user disconnected" for sam.
    let t0 = Date.now();
    tom.socket.disconnect();
    await waitEvent(sam, 'user disconnected', (id) => id === tom.userID, 8000);
    await pGot('user disconnected', (id) => id === tom.userID, 8000);
    const ms = Date.now() - t0;
    assert.ok(ms < 4500, `the count took ${ms} ms: the Node node did not answer the SOCKETS request`);
    const vic = await chatUser(S.url, { username: 'vic' });
    st.clients.push(vic);
    await p.timeout(5000).emitWithAck('join', { room: sam.userID });
    t0 = Date.now();
    sam.socket.disconnect();
    await sleep(1500);
    assert.equal(vic.received('user disconnected').filter((id) => id === sam.userID).length, 0,
      'sam\'s userID room still has a socket on the Node node: no "user disconnected"');

    p.disconnect();
    vic.socket.disconnect();
    assert.equal(await S.stop(), 0);
    assert.equal(await N.stop(), 0);
  });
});

// ---------------------------------------------------------------------------------------------

describe('Redis faults', { ...TIMEOUT, skip: SKIP }, () => {
  const st = { clients: [], servers: [], redis: [], dirs: [] };
  let port, redis, A, B, alice, dave, bob;
  after(() => teardown(st));

  it('Redis not running at start: the nodes start, local delivery works; cross-node once it is up', async () => {
    port = await freePort();
    const url = `redis://127.0.0.1:${port}`;
    A = await sioNode(url);
    B = await sioNode(url);
    st.servers.push(A, B);
    alice = await chatUser(A.url, { username: 'alice' });
    dave = await chatUser(A.url, { username: 'dave' });
    bob = await chatUser(B.url, { username: 'bob' });
    st.clients.push(alice, dave, bob);
    await sendAndExpect(alice, dave.userID, [dave], 'local, no redis');
    await sendAndExpect(dave, alice.userID, [alice], 'local back, no redis');

    redis = await startRedis(port);
    st.redis.push(redis);
    await clusterReady(port, 2, 30000);
    await sendUntilDelivered(alice, bob.userID, bob, 'after redis came up A->B');
    await sendUntilDelivered(bob, alice.userID, alice, 'after redis came up B->A');
    assert.equal(A.proc.exitCode, null);
    assert.equal(B.proc.exitCode, null);
  });

  it('Redis SIGKILLed mid-chat: local delivery goes on; restarted on the same port: cross-node resumes', async () => {
    assert.ok(redis, 'needs the previous test');
    await redis.stop('SIGKILL');
    st.redis.splice(st.redis.indexOf(redis), 1);
    await sendAndExpect(alice, dave.userID, [dave], 'local while redis is dead');
    await sendAndExpect(dave, alice.userID, [alice], 'local back while redis is dead');
    // A user leaving while Redis is away: the cluster count cannot be asked; it must still end
    // (within its 5 s) and tell the local users.
    const erin = await chatUser(A.url, { username: 'erin' });
    st.clients.push(erin);
    erin.socket.disconnect();
    await waitEvent(alice, 'user disconnected', (id) => id === erin.userID, 9000);
    await sleep(500); // let the nodes notice the outage and start their backoff
    await sendAndExpect(alice, dave.userID, [dave], 'local, redis still dead');

    redis = await startRedis(port);
    st.redis.push(redis);
    await clusterReady(port, 2, 30000);
    await sendUntilDelivered(alice, bob.userID, bob, 'after the restart A->B');
    await sendUntilDelivered(bob, alice.userID, alice, 'after the restart B->A');
    // Broadcasts too: a new user on B is announced on A.
    const fay = await chatUser(B.url, { username: 'fay' });
    st.clients.push(fay);
    await waitEvent(alice, 'user connected', (u) => u.userID === fay.userID, 5000);
  });

  it('garbage published on the channels is ignored; the nodes keep working and exit 0', async () => {
    assert.ok(redis, 'needs the previous tests');
    const deep = (n) => Buffer.concat([Buffer.alloc(n, 0x91), Buffer.from([0x01])]);
    const str = (s) => mp(s);
    const goodPacket = { type: 2, data: ['garbage-test', 1], nsp: '/' };
    const goodOpts = { rooms: [], except: [], flags: {} };
    const garbage = [
      Buffer.alloc(0),
      Buffer.from('hello'),
      Buffer.from('{"type":2,"data":["json-not-msgpack"],"nsp":"/"}'),
      Buffer.from([0x93, 0xa6, 0x61, 0x62]), // truncated
      Buffer.from([0x93]), // truncated array
      Buffer.from([0xc1]), // never-used byte
      Buffer.from([0x80]), // root is a map
      Buffer.from([0x01]), // root is an int
      str('just a string'),
      mp([1, 2, 3]), // wrong element types
      mp(['zz', 'packet', 'opts']),
      mp(['zz', goodPacket]), // 2 elements
      mp(['zz', goodPacket, goodOpts, 'extra']),
      Buffer.concat([Buffer.from([0x93]), str('zz'), Buffer.from([0xd4, 0x01, 0x00]), mp(goodOpts)]), // fixext1 packet
      Buffer.concat([Buffer.from([0x93]), str('zz'), Buffer.from([0x83]), str('type'), Buffer.from([0x02]), str('data'), Buffer.from([0x92]), str('ext'),
        Buffer.from([0xc7, 0x03, 0x05, 1, 2, 3]), str('nsp'), str('/'), mp(goodOpts)]), // ext8 inside data
      Buffer.concat([Buffer.from([0x93]), str('zz'), Buffer.from([0xd8, 0xff]), Buffer.alloc(16, 0x41), mp(goodOpts)]), // fixext16 type -1
      Buffer.concat([Buffer.from([0x93]), str('zz'), Buffer.from([0xc9, 0xff, 0xff, 0xff, 0xff, 0x01])]), // ext32 huge
      deep(100000), // 100000 nested arrays
      Buffer.concat([Buffer.from([0x93]), str('zz'), deep(5000), mp(goodOpts)]),
      Buffer.concat([Buffer.from([0x93]), str('zz'), Buffer.from([0x82, 0x01, 0x02, 0xc0, 0x03]), mp(goodOpts)]), // int/nil keys
      Buffer.concat([Buffer.from([0x93]), str('zz'), Buffer.from([0x81]), mp(['k']), Buffer.from([0x01]), mp(goodOpts)]), // array key
      Buffer.from([0xdd, 0xff, 0xff, 0xff, 0xff]), // array32, 4G elements, no data
      Buffer.from([0xdf, 0xff, 0xff, 0xff, 0xff]), // map32
      Buffer.from([0xdb, 0xff, 0xff, 0xff, 0xff, 0x61]), // str32 4G
      Buffer.from([0xc6, 0x7f, 0xff, 0xff, 0xff, 0x00]), // bin32 2G
      Buffer.concat([Buffer.from([0x93]), str('zz'), Buffer.from([0xcb]), Buffer.alloc(8, 0xff), mp(goodOpts)]), // NaN packet
      mp(['zz', { type: 2, data: 'not an array', nsp: '/' }, goodOpts]),
      mp(['zz', { type: 2, data: [], nsp: '/' }, goodOpts]),
      mp(['zz', { type: 2, data: [12345, 'x'], nsp: '/' }, goodOpts]),
      mp(['zz', { type: 2, data: [{ a: 1 }], nsp: '/' }, goodOpts]),
      mp(['zz', { type: 99, data: ['x'], nsp: '/' }, goodOpts]),
      mp(['zz', { type: 2, data: ['x'], nsp: 7 }, goodOpts]),
      mp(['zz', { type: 2, data: ['x'], nsp: '/nope' }, goodOpts]),
      mp(['zz', goodPacket, { rooms: 5, except: 'x', flags: [] }]),
      mp(['zz', goodPacket, { rooms: [1, null, {}], except: [[]], flags: { volatile: 'yes', timeout: -1 } }]),
      mp(['zz', goodPacket, 'opts is a string']),
      mp([null, goodPacket, goodOpts]),
      mp([{}, goodPacket, goodOpts]),
      mp(['zz', { type: 2, data: ['connect'], nsp: '/' }, goodOpts]), // a reserved event name
      mp(['zz', { type: 2, data: ['big', 'a'.repeat(70000)], nsp: '/' }, goodOpts]),
    ];
    const requests = [
      Buffer.from('{'),
      Buffer.from('{"type":0'),
      Buffer.from('{"type":0}'),
      Buffer.from('{"type":"0","requestId":5,"uid":1}'),
      Buffer.from('{"uid":"zz","requestId":"r1","type":0,"rooms":"notarray"}'),
      Buffer.from('{"uid":"zz","requestId":"r2","type":5,"opts":7}'),
      Buffer.from('{"uid":"zz","requestId":"r3","type":1,"extra":' + '['.repeat(10000) + ']'.repeat(10000) + '}'),
      Buffer.from('{"uid":"zz","type":2,"opts":{"rooms":5},"rooms":[1,2]}'),
      Buffer.from('{"uid":"zz","type":4,"opts":{"rooms":["no-such-room"]},"close":"maybe"}'),
      Buffer.from('{"uid":"zz","type":6,"data":"x"}'),
      Buffer.from('{"uid":"zz","requestId":"r4","type":42}'),
      mp({ uid: 'zz', requestId: 'r5', type: 7, packet: 'x', opts: 1 }),
      Buffer.from([0x85, 0xa3]), // truncated msgpack request
      deep(100000),
    ];
    const responses = [
      Buffer.from('{"requestId":"nope","sockets":["a"]}'),
      Buffer.from('{"requestId":5,"sockets":"x"}'),
      Buffer.from('{"type":8,"requestId":"nope","clientCount":-1}'),
      mp({ type: 9, requestId: 'nope', packet: [1] }),
      Buffer.from('}{'),
    ];
    const channels = [
      ['socket.io#/#', garbage],
      [`socket.io#/#${alice.userID}#`, garbage.slice(0, 12)],
      [`socket.io#/#${alice.socket.id}#`, garbage.slice(0, 12)],
      ['socket.io-request#/#', requests],
      ['socket.io-response#/#', responses],
    ];
    for (const [ch, list] of channels) {
      for (const payload of list) await redisCmd(port, 'PUBLISH', ch, payload);
    }

    // A well-formed broadcast from a made-up node is delivered to everyone on both nodes: the
    // channel is read, and nothing above broke the subscriber connections.
    await redisCmd(port, 'PUBLISH', 'socket.io#/#', bcast('zzzzzz', ['injected', { ok: true }]));
    for (const c of [alice, dave, bob]) assert.deepEqual(await waitEvent(c, 'injected', () => true, 5000), { ok: true });
    // A room broadcast by a made-up node, on the room channel, to bob's userID room only.
    await redisCmd(port, 'PUBLISH', `socket.io#/#${bob.userID}#`, bcast('zzzzzz', ['roomcast', 2], { rooms: [bob.userID] }));
    assert.equal(await waitEvent(bob, 'roomcast', () => true, 5000), 2);
    await sleep(200);
    assert.equal(alice.received('roomcast').length, 0);
    // JSON on the broadcast channel is not msgpack: never delivered. (Some of the other payloads
    // are well-formed enough to be delivered, as Node would; only survival is checked for them.)
    for (const c of [alice, dave, bob]) {
      assert.ok(!c.events.some(([e]) => e === 'json-not-msgpack'), `${c.name} got a JSON payload as an event`);
    }

    // The chat works as before, locally and across nodes.
    await sendAndExpect(alice, bob.userID, [bob], 'after the garbage A->B');
    await sendAndExpect(bob, alice.userID, [alice], 'after the garbage B->A');
    await sendAndExpect(alice, dave.userID, [dave], 'after the garbage, local');
    await clusterReady(port, 2, 5000);
    assert.equal(A.proc.exitCode, null, `A died:\n${A.output().slice(-3000)}`);
    assert.equal(B.proc.exitCode, null, `B died:\n${B.output().slice(-3000)}`);

    for (const c of st.clients) c.socket.disconnect();
    assert.equal(await A.stop(), 0);
    assert.equal(await B.stop(), 0);
  });
});
