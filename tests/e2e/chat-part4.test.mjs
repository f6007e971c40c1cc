// SPDX-License-Identifier: MIT
// The tutorial's part 4, end to end: ./sio-server --redis keeps its sessions and messages in
// Redis under the tutorial's keys (session:<sessionID> hash, messages:<userID> list, 24 h TTL),
// next to the tutorial's own part-4 server in Node (tests/redis-peer/tutorial-part4.js) on the
// same Redis. Users, sessions and history made on one are seen on the other; private messages go
// both ways; the asynchronous middleware (a session looked up in Redis) behaves as part 3's.
// Every test starts its own redis-server and nodes on free loopback ports and stops them by PID.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, startServer } from './helpers.mjs';
import { chatClient, connect, connectExpectingError, waitEvent, freePort, HEX16 } from './chatlib.mjs';
import { SKIP, WS, sleep, redisCmd, startRedis, clusterReady, chatUser, sioNode, teardown } from './redislib.mjs';

const TIMEOUT = { timeout: 120000 };
const TUTORIAL = path.join(ROOT, 'tests', 'redis-peer', 'tutorial-part4.js');

// The hash as a JS object (HGETALL's flat list).
async function hgetall(port, key) {
  const flat = await redisCmd(port, 'HGETALL', key);
  const o = {};
  for (let i = 0; i < flat.length; i += 2) o[flat[i]] = flat[i + 1];
  return o;
}

const byID = (users) => Object.fromEntries(users.map((u) => [u.userID, u]));

describe('part 4: sio and the tutorial\'s Node server share one Redis', { ...TIMEOUT, skip: SKIP }, () => {
  const st = { clients: [], servers: [], redis: [], dirs: [] };
  after(() => teardown(st));

  it('sessions, users, private messages and history across a sio node and a Node node', async () => {
    assert.ok(fs.existsSync(path.join(ROOT, 'tests', 'redis-peer', 'node_modules', 'redis')),
      'tests/redis-peer is not installed: run `make test-e2e` (it runs npm ci there)');
    const redis = await startRedis(await freePort());
    st.redis.push(redis);
    const S = await sioNode(redis.url);
    st.servers.push(S);
    const N = await startServer(process.execPath, [TUTORIAL, '0', redis.url], { timeoutMs: 15000 });
    st.servers.push(N);
    await clusterReady(redis.port, 2);

    // alice registers on the Node server: her session is in Redis, as the tutorial writes it.
    const alice = await chatUser(N.url, { username: 'alice' });
    st.clients.push(alice);
    assert.deepEqual(await hgetall(redis.port, `session:${alice.sessionID}`),
      { userID: alice.userID, username: 'alice', connected: 'true' });

    // bob registers on sio: his "users" list has alice, read from Redis, and himself.
    const bob = chatClient(S.url, { username: 'bob' }, WS);
    st.clients.push(bob);
    await connect(bob.socket);
    const bobUsers = byID(await waitEvent(bob, 'users', () => true, 10000));
    assert.match(bob.userID, HEX16);
    assert.deepEqual(bobUsers[alice.userID], { userID: alice.userID, username: 'alice', connected: true, messages: [] });
    assert.deepEqual(bobUsers[bob.userID], { userID: bob.userID, username: 'bob', connected: true, messages: [] });
    // sio wrote bob's session the tutorial's way: the same fields, connected "true", a 24 h TTL.
    assert.deepEqual(await hgetall(redis.port, `session:${bob.sessionID}`),
      { userID: bob.userID, username: 'bob', connected: 'true' });
    const ttl = await redisCmd(redis.port, 'TTL', `session:${bob.sessionID}`);
    assert.ok(ttl > 86000 && ttl <= 86400, `TTL ${ttl}`);
    // alice (on Node) hears that bob connected (sio's broadcast through the adapter).
    assert.equal((await waitEvent(alice, 'user connected', (u) => u.userID === bob.userID, 5000)).username, 'bob');

    // Private messages both ways.
    alice.socket.emit('private message', { content: 'hi bob, from Node', to: bob.userID });
    assert.deepEqual(await waitEvent(bob, 'private message', (m) => m.content === 'hi bob, from Node', 5000),
      { content: 'hi bob, from Node', from: alice.userID, to: bob.userID });
    bob.socket.emit('private message', { content: 'hi alice, from sio', to: alice.userID });
    assert.deepEqual(await waitEvent(alice, 'private message', (m) => m.content === 'hi alice, from sio', 5000),
      { content: 'hi alice, from sio', from: bob.userID, to: alice.userID });

    // Both messages are in both lists, as the tutorial stores them (compact JSON, keys in order).
    const want = [
      JSON.stringify({ content: 'hi bob, from Node', from: alice.userID, to: bob.userID }),
      JSON.stringify({ content: 'hi alice, from sio', from: bob.userID, to: alice.userID }),
    ];
    let lists;
    for (let i = 0; i < 100; i++) { // the saves are fire-and-forget on both servers
      lists = [await redisCmd(redis.port, 'LRANGE', `messages:${bob.userID}`, '0', '-1'),
        await redisCmd(redis.port, 'LRANGE', `messages:${alice.userID}`, '0', '-1')];
      if (lists[0].length >= 2 && lists[1].length >= 2) break;
      await sleep(20);
    }
    assert.deepEqual(lists, [want, want]);
    const mttl = await redisCmd(redis.port, 'TTL', `messages:${bob.userID}`);
    assert.ok(mttl > 86000 && mttl <= 86400, `TTL ${mttl}`);

    // alice comes back on sio with the session the Node server made: same user, and the history.
    alice.socket.disconnect();
    await waitEvent(bob, 'user disconnected', (id) => id === alice.userID, 8000);
    const alice2 = chatClient(S.url, { sessionID: alice.sessionID }, WS);
    st.clients.push(alice2);
    await connect(alice2.socket);
    const a2Users = byID(await waitEvent(alice2, 'users', () => true, 10000));
    assert.equal(alice2.userID, alice.userID);
    assert.equal(alice2.sessionID, alice.sessionID);
    assert.deepEqual(a2Users[bob.userID].messages, want.map((t) => JSON.parse(t)));
    assert.equal(a2Users[alice.userID].username, 'alice');

    // bob comes back on Node with sio's session: same user, the same history.
    bob.socket.disconnect();
    await waitEvent(alice2, 'user disconnected', (id) => id === bob.userID, 8000);
    // the cluster-wide "last tab?" check ended in connected "false", written by sio
    for (let i = 0; i < 100 && (await hgetall(redis.port, `session:${bob.sessionID}`)).connected !== 'false'; i++) await sleep(20);
    assert.equal((await hgetall(redis.port, `session:${bob.sessionID}`)).connected, 'false');
    const bob2 = chatClient(N.url, { sessionID: bob.sessionID }, WS);
    st.clients.push(bob2);
    await connect(bob2.socket);
    const b2Users = byID(await waitEvent(bob2, 'users', () => true, 10000));
    assert.equal(bob2.userID, bob.userID);
    assert.deepEqual(b2Users[alice.userID].messages, want.map((t) => JSON.parse(t)));
    assert.equal(b2Users[alice.userID].connected, true);

    alice2.socket.disconnect();
    bob2.socket.disconnect();
  });

  it('the session lookup: unknown or malformed sessionIDs fall back to the username rule; a message to oneself is stored once', async () => {
    const redis = await startRedis(await freePort());
    st.redis.push(redis);
    const S = await sioNode(redis.url);
    st.servers.push(S);
    await clusterReady(redis.port, 1);

    // An unknown sessionID without a username: exactly part 3's answer.
    const ghost = chatClient(S.url, { sessionID: '0123456789abcdef' }, WS);
    assert.equal((await connectExpectingError(ghost.socket)).message, 'invalid username');
    const odd = chatClient(S.url, { sessionID: 'not-an-id' }, WS);
    assert.equal((await connectExpectingError(odd.socket)).message, 'invalid username');
    // An unknown sessionID with a username: a new session.
    const dora = await chatUser(S.url, { sessionID: 'fedcba9876543210', username: 'dora' });
    st.clients.push(dora);
    assert.notEqual(dora.sessionID, 'fedcba9876543210');
    // A username that Redis gives back as a string with quotes and unicode survives the round trip.
    const eve = await chatUser(S.url, { username: 'eve "the" ✓' });
    st.clients.push(eve);
    eve.socket.disconnect();
    await sleep(200);
    const eve2 = chatClient(S.url, { sessionID: eve.sessionID }, WS);
    st.clients.push(eve2);
    await connect(eve2.socket);
    const users = byID(await waitEvent(eve2, 'users', () => true, 10000));
    assert.equal(users[eve.userID].username, 'eve "the" ✓');
    assert.equal(users[dora.userID].username, 'dora');

    // To oneself: dora's other tabs only, and one entry in her list (the tutorial pushes two).
    dora.socket.emit('private message', { content: 'note to self', to: dora.userID });
    for (let i = 0; i < 100 && (await redisCmd(redis.port, 'LLEN', `messages:${dora.userID}`)) < 1; i++) await sleep(20);
    await sleep(100);
    assert.equal(await redisCmd(redis.port, 'LLEN', `messages:${dora.userID}`), 1);

    // Garbage another writer left under the same keys is skipped, not relayed or fatal.
    await redisCmd(redis.port, 'HSET', 'session:zzzz', 'userID', 'NOT HEX', 'username', 'x', 'connected', 'true');
    await redisCmd(redis.port, 'SET', 'session:string', 'not a hash');
    await redisCmd(redis.port, 'RPUSH', `messages:${dora.userID}`, '{"broken', '[1,2]', '"str"');
    const dora2 = chatClient(S.url, { sessionID: dora.sessionID }, WS);
    st.clients.push(dora2);
    await connect(dora2.socket);
    const d2 = await waitEvent(dora2, 'users', () => true, 10000);
    assert.deepEqual(d2.map((u) => u.username).sort(), ['dora', 'eve "the" ✓']);
    assert.deepEqual(byID(d2)[dora.userID].messages, [{ content: 'note to self', from: dora.userID, to: dora.userID }]);
  });

  it('Redis down: a returning user is refused with a clear error (not made a new user); a new user still chats locally', async () => {
    const redis = await startRedis(await freePort());
    st.redis.push(redis);
    const S = await sioNode(redis.url);
    st.servers.push(S);
    await clusterReady(redis.port, 1);
    const fred = await chatUser(S.url, { username: 'fred' });
    st.clients.push(fred);
    fred.socket.disconnect();
    await redis.stop('SIGKILL');
    await sleep(200);
    const back = chatClient(S.url, { sessionID: fred.sessionID }, WS);
    assert.equal((await connectExpectingError(back.socket)).message, 'server error: the session store is unavailable');
    // New users still get in, see themselves, and can message each other on this node.
    const gus = await chatUser(S.url, { username: 'gus' });
    const hal = await chatUser(S.url, { username: 'hal' });
    st.clients.push(gus, hal);
    const gl = gus.received('users')[0];
    assert.deepEqual(gl.map((u) => u.userID), [gus.userID]);
    gus.socket.emit('private message', { content: 'still here', to: hal.userID });
    assert.equal((await waitEvent(hal, 'private message', (m) => m.content === 'still here', 5000)).from, gus.userID);
  });
});
