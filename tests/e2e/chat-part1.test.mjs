// SPDX-License-Identifier: MIT
// End-to-end tests of examples/chat-part1 (env SIO_CHAT1), the private-messaging chat of Socket.IO's
// tutorial (part 1), driven by the real socket.io-client from npm. What the server must do
// (docs/private-messaging.md, sections 0 and I):
//   - middleware: auth.username missing or falsy ("", null, false, 0) -> connect_error "invalid username"
//   - on connection: `users` [{userID: socket.id, username}, ...] (every connected socket, in
//     connection order, including the new one) to the new socket; `user connected`
//     {userID, username} to every other socket
//   - `private message` {content, to} -> `private message` {content, from: sender id} to the socket(s)
//     `to` (a socket id or an array of them), never to the sender; bad payloads are ignored
//   - on disconnect: `user disconnected` <socket id> to everyone else
//   - SIGTERM/SIGINT: every client sees "transport close", the process exits 0
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { io, Manager } from 'socket.io-client';
import { SIO_CHAT1, startServer, stopServer, once, until } from './helpers.mjs';

// The three ways the stock client can talk to the server.
const TRANSPORT_MIXES = [
  { name: 'polling then upgrade (default)', opts: {}, finalTransport: 'websocket' },
  { name: 'websocket only', opts: { transports: ['websocket'] }, finalTransport: 'websocket' },
  { name: 'polling only', opts: { transports: ['polling'], upgrade: false }, finalTransport: 'polling' },
];

// A chat user as the tutorial's front-end makes it: autoConnect false, then socket.auth and
// connect(). Every event the client receives is recorded in `events` as [name, ...args], so tests
// can wait for an event that may already have arrived and check what else arrived.
function chatClient(url, name, opts = {}) {
  const socket = io(url, { forceNew: true, reconnection: false, autoConnect: false, ...opts });
  const events = [];
  socket.onAny((event, ...args) => events.push([event, ...args]));
  const client = {
    name,
    socket,
    events,
    // The arguments of every received `event`, oldest first (one argument per event in this app).
    received: (event) => events.filter(([e]) => e === event).map(([, arg]) => arg),
  };
  if (name !== undefined) socket.auth = { username: name };
  return client;
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

// Calls connect() and resolves with the Error of the `connect_error` that must follow.
function connectExpectingError(socket, timeoutMs = 10000) {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      clearTimeout(timer);
      socket.off('connect', onConnect);
      socket.off('connect_error', onError);
    };
    const onConnect = () => { cleanup(); reject(new Error('connected although a connect_error was expected')); };
    const onError = (err) => { cleanup(); resolve(err); };
    const timer = setTimeout(() => { cleanup(); reject(new Error('timeout waiting for "connect_error"')); }, timeoutMs);
    socket.on('connect', onConnect);
    socket.on('connect_error', onError);
    socket.connect();
  });
}

// Resolves with the argument of the first recorded `event` (past or future) that matches `pred`.
async function waitEvent(client, event, pred = () => true, timeoutMs = 5000) {
  let hit;
  await until(() => (hit = client.events.find(([e, arg]) => e === event && pred(arg))), timeoutMs,
    `${client.name}: "${event}"`);
  return hit[1];
}

// The `private message` payloads a client received after the first `skip` ones.
const messagesSince = (client, skip) => client.received('private message').slice(skip);

// Asserts the reason of a `disconnect` event (its arguments as once() returns them); the message
// carries the client's details (e.g. the HTTP status of a failed poll) to help debugging.
function assertReason([reason, details], expected, who = 'client') {
  const info = details ? ` (${details.description ?? ''} ${details.context?.code ?? details.context?.status ?? ''}` +
    ` ${details.context?.responseText ?? details.message ?? ''})` : '';
  assert.equal(reason, expected, `${who} disconnect reason${info}`);
}

function closeAll(clients) {
  for (const c of clients) c.socket.disconnect();
}

// Both directions once, so that each client's transport is settled (upgrade finished on the
// server, a fresh poll outstanding) before the server is stopped.
async function roundTrip(a, b, tag) {
  a.socket.emit('private message', { content: `${tag} a->b`, to: b.socket.id });
  await waitEvent(b, 'private message', (m) => m.content === `${tag} a->b`);
  b.socket.emit('private message', { content: `${tag} b->a`, to: a.socket.id });
  await waitEvent(a, 'private message', (m) => m.content === `${tag} b->a`);
}

// A port nobody listens on right now (for the restart test, which needs a fixed port).
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// Message contents that must come back exactly as sent (content is any JSON value).
const CONTENTS = [
  'hello alice',
  42,
  { text: 'an object', n: [1, 2.5, -3], nested: { ok: true, nothing: null } },
  'héllo 😀',
  'record\u001eseparator', // \x1e separates packets in a polling payload
  '',
  'quote " backslash \\ newline \n tab \t',
];

for (const mix of TRANSPORT_MIXES) {
  describe(`chat over ${mix.name}`, () => {
    let server;
    let alice, bob, carol;
    const clients = [];
    const user = (name) => { const c = chatClient(server.url, name, mix.opts); clients.push(c); return c; };

    before(async () => { server = await startServer(SIO_CHAT1); });
    after(async () => {
      closeAll(clients);
      await stopServer(server);
    });

    it('alice connects and receives users = [alice]', async () => {
      alice = user('alice');
      await connect(alice.socket);
      const users = await waitEvent(alice, 'users');
      assert.deepEqual(users, [{ userID: alice.socket.id, username: 'alice' }]);
      // Socket ids are 20 characters of base64url (15 random bytes).
      assert.match(alice.socket.id, /^[A-Za-z0-9_-]{20}$/);
      // The default client starts with polling and must end up on WebSocket.
      await until(() => alice.socket.io.engine.transport.name === mix.finalTransport, 5000,
        `transport ${mix.finalTransport}`);
      assert.equal(alice.socket.io.engine.transport.name, mix.finalTransport);
    });

    it('bob connects: alice gets "user connected", bob gets users = [alice, bob]', async () => {
      bob = user('bob');
      await connect(bob.socket);
      const users = await waitEvent(bob, 'users');
      assert.deepEqual(users, [
        { userID: alice.socket.id, username: 'alice' },
        { userID: bob.socket.id, username: 'bob' },
      ]);
      const connected = await waitEvent(alice, 'user connected');
      assert.deepEqual(connected, { userID: bob.socket.id, username: 'bob' });
      assert.equal(alice.received('user connected').length, 1);
      assert.equal(bob.received('user connected').length, 0);
      await until(() => bob.socket.io.engine.transport.name === mix.finalTransport, 5000,
        `transport ${mix.finalTransport}`);
    });

    it('private messages are relayed both ways with exactly the payload sent', async () => {
      const aliceSkip = alice.received('private message').length;
      const bobSkip = bob.received('private message').length;
      for (const content of CONTENTS) {
        bob.socket.emit('private message', { content, to: alice.socket.id });
        alice.socket.emit('private message', { content, to: bob.socket.id });
      }
      await until(() => messagesSince(alice, aliceSkip).length >= CONTENTS.length, 5000, 'alice messages');
      await until(() => messagesSince(bob, bobSkip).length >= CONTENTS.length, 5000, 'bob messages');
      // In order on each connection, each exactly once.
      assert.deepEqual(messagesSince(alice, aliceSkip), CONTENTS.map((content) => ({ content, from: bob.socket.id })));
      assert.deepEqual(messagesSince(bob, bobSkip), CONTENTS.map((content) => ({ content, from: alice.socket.id })));
    });

    it('a message to yourself is not delivered', async () => {
      const aliceSkip = alice.received('private message').length;
      const bobSkip = bob.received('private message').length;
      alice.socket.emit('private message', { content: 'to myself', to: alice.socket.id });
      // The server handles alice's packets in order, so once bob has "ping" the self-message has been
      // handled; bob's answer then reaches alice after anything the server sent her for it.
      alice.socket.emit('private message', { content: 'ping', to: bob.socket.id });
      await waitEvent(bob, 'private message', (m) => m.content === 'ping');
      bob.socket.emit('private message', { content: 'pong', to: alice.socket.id });
      await waitEvent(alice, 'private message', (m) => m.content === 'pong');
      assert.deepEqual(messagesSince(alice, aliceSkip), [{ content: 'pong', from: bob.socket.id }]);
      assert.deepEqual(messagesSince(bob, bobSkip), [{ content: 'ping', from: alice.socket.id }]);
    });

    it('"to" as an array reaches every listed socket exactly once, never the sender', async () => {
      carol = user('carol');
      await connect(carol.socket);
      assert.deepEqual(await waitEvent(carol, 'users'), [
        { userID: alice.socket.id, username: 'alice' },
        { userID: bob.socket.id, username: 'bob' },
        { userID: carol.socket.id, username: 'carol' },
      ]);
      await waitEvent(alice, 'user connected', (u) => u.userID === carol.socket.id);
      await waitEvent(bob, 'user connected', (u) => u.userID === carol.socket.id);

      const skip = [alice, bob, carol].map((c) => c.received('private message').length);
      bob.socket.emit('private message', { content: 'to both', to: [alice.socket.id, carol.socket.id] });
      // Duplicates and the sender's own id in the list change nothing.
      bob.socket.emit('private message', {
        content: 'dup', to: [alice.socket.id, bob.socket.id, alice.socket.id],
      });
      bob.socket.emit('private message', { content: 'end', to: alice.socket.id });
      bob.socket.emit('private message', { content: 'end', to: carol.socket.id });
      // A round trip to bob shows that nothing was queued for him either.
      alice.socket.emit('private message', { content: 'end', to: bob.socket.id });
      for (const c of [alice, bob, carol]) await waitEvent(c, 'private message', (m) => m.content === 'end');
      const fromBob = (content) => ({ content, from: bob.socket.id });
      assert.deepEqual(messagesSince(alice, skip[0]), [fromBob('to both'), fromBob('dup'), fromBob('end')]);
      assert.deepEqual(messagesSince(carol, skip[2]), [fromBob('to both'), fromBob('end')]);
      assert.deepEqual(messagesSince(bob, skip[1]), [{ content: 'end', from: alice.socket.id }]);
    });

    it('bad payloads are ignored, the server keeps relaying', async () => {
      const skip = [alice, bob, carol].map((c) => c.received('private message').length);
      const bad = [
        [], // no argument at all
        [null],
        ['notAnObject'],
        [42],
        [[alice.socket.id]],
        [{ to: 123, content: 'to is a number' }],
        [{ to: true, content: 'to is a boolean' }],
        [{ to: { id: alice.socket.id }, content: 'to is an object' }],
        [{ content: null }],
        [{ content: 'missing to' }],
        [{ content: 'unknown to', to: 'AAAAAAAAAAAAAAAAAAAA' }],
      ];
      for (const args of bad) bob.socket.emit('private message', ...args);
      // An ack id on a private message: delivered as usual, but no ACK comes back.
      let acked = false;
      bob.socket.emit('private message', { content: 'with ack', to: alice.socket.id }, () => { acked = true; });
      bob.socket.emit('private message', { content: 'still relaying', to: alice.socket.id });
      bob.socket.emit('private message', { content: 'still relaying', to: carol.socket.id });
      await waitEvent(alice, 'private message', (m) => m.content === 'still relaying');
      await waitEvent(carol, 'private message', (m) => m.content === 'still relaying');
      // A round trip to bob: an ACK or a stray message would have reached him before this.
      alice.socket.emit('private message', { content: 'after the bad ones', to: bob.socket.id });
      await waitEvent(bob, 'private message', (m) => m.content === 'after the bad ones');
      assert.deepEqual(messagesSince(alice, skip[0]), [
        { content: 'with ack', from: bob.socket.id },
        { content: 'still relaying', from: bob.socket.id },
      ]);
      assert.deepEqual(messagesSince(carol, skip[2]), [{ content: 'still relaying', from: bob.socket.id }]);
      assert.deepEqual(messagesSince(bob, skip[1]), [{ content: 'after the bad ones', from: alice.socket.id }]);
      assert.equal(acked, false, 'the server must not acknowledge "private message"');
      for (const c of [alice, bob, carol]) assert.equal(c.socket.connected, true, `${c.name} still connected`);
    });

    it('alice disconnects: the others get "user disconnected" with her id', async () => {
      const aliceId = alice.socket.id;
      const reason = once(alice.socket, 'disconnect');
      alice.socket.disconnect();
      assertReason(await reason, 'io client disconnect', 'alice');
      assert.equal(await waitEvent(bob, 'user disconnected'), aliceId);
      assert.equal(await waitEvent(carol, 'user disconnected'), aliceId);
      // Bob and carol can still talk, and nothing else was broadcast.
      bob.socket.emit('private message', { content: 'alice left', to: carol.socket.id });
      await waitEvent(carol, 'private message', (m) => m.content === 'alice left');
      assert.deepEqual(bob.received('user disconnected'), [aliceId]);
      assert.deepEqual(carol.received('user disconnected'), [aliceId]);
      assert.deepEqual(alice.received('user connected').map((u) => u.username), ['bob', 'carol']);
      assert.deepEqual(bob.received('user connected').map((u) => u.username), ['carol']);
      assert.deepEqual(carol.received('user connected'), []);
      // Every server event carries exactly one argument.
      for (const c of [alice, bob, carol]) {
        for (const [event, ...args] of c.events) assert.equal(args.length, 1, `${c.name}: "${event}" arguments`);
      }
    });

    it('invalid usernames get connect_error "invalid username"; the same client can then connect', async () => {
      const watcher = carol; // still connected: must not hear about rejected sockets
      const client = user(undefined);
      // No auth at all (the client sends a bare CONNECT), then falsy usernames.
      const attempts = [undefined, {}, { username: '' }, { username: null }, { username: false }, { username: 0 }];
      for (const auth of attempts) {
        client.socket.auth = auth;
        const err = await connectExpectingError(client.socket);
        assert.equal(err.message, 'invalid username', `auth ${JSON.stringify(auth)}`);
        assert.equal(client.socket.connected, false);
      }
      client.socket.auth = { username: 'dave' };
      client.name = 'dave';
      await connect(client.socket);
      assert.deepEqual(await waitEvent(client, 'users'), [
        { userID: bob.socket.id, username: 'bob' },
        { userID: carol.socket.id, username: 'carol' },
        { userID: client.socket.id, username: 'dave' },
      ]);
      await waitEvent(watcher, 'user connected', (u) => u.userID === client.socket.id);
      // carol joined after alice and bob, so dave is the only user she has seen arrive.
      assert.deepEqual(watcher.received('user connected'), [{ userID: client.socket.id, username: 'dave' }]);
      // The rejected attempts produced no events on the client either.
      assert.deepEqual(client.events.map(([e]) => e), ['users']);
      const daveId = client.socket.id;
      client.socket.disconnect();
      await waitEvent(watcher, 'user disconnected', (id) => id === daveId);
    });

    it('the server exits 0 on SIGTERM and the clients see "transport close"', async () => {
      await roundTrip(bob, carol, 'before SIGTERM');
      const reasons = [bob, carol].map((c) => once(c.socket, 'disconnect'));
      assert.equal(await server.stop(), 0);
      for (const r of reasons) assertReason(await r, 'transport close');
    });
  });
}

describe('200 clients at once', () => {
  const COUNT = 200;
  const PAIRS = 100;
  let server;
  let observer;
  const clients = [];

  before(async () => { server = await startServer(SIO_CHAT1); });
  after(async () => {
    closeAll(clients);
    if (observer) observer.socket.disconnect();
    await stopServer(server);
  });

  it('all connect (spread over the three transport mixes) and each gets a users list with itself', async () => {
    // The observer is there before everyone and sees every arrival and departure.
    observer = chatClient(server.url, 'observer', { transports: ['websocket'] });
    await connect(observer.socket);
    await waitEvent(observer, 'users');
    for (let i = 0; i < COUNT; i++) {
      clients.push(chatClient(server.url, `user${i}`, TRANSPORT_MIXES[i % TRANSPORT_MIXES.length].opts));
    }
    await Promise.all(clients.map((c) => connect(c.socket, 30000)));
    await until(() => clients.every((c) => c.received('users').length === 1), 30000, 'every users list');
    for (const c of clients) {
      const users = c.received('users')[0];
      assert.ok(users.some((u) => u.userID === c.socket.id && u.username === c.name), `${c.name} is in its own list`);
      assert.equal(users[0].userID, observer.socket.id, `${c.name}: the observer connected first`);
      assert.equal(new Set(users.map((u) => u.userID)).size, users.length, `${c.name}: no duplicate ids`);
    }
    // Whoever the server accepted last saw everybody.
    assert.equal(Math.max(...clients.map((c) => c.received('users')[0].length)), COUNT + 1);
    await until(() => observer.received('user connected').length === COUNT, 30000, 'observer: every arrival');
    assert.deepEqual(
      new Set(observer.received('user connected').map((u) => `${u.userID} ${u.username}`)),
      new Set(clients.map((c) => `${c.socket.id} ${c.name}`)),
    );
  });

  it(`${PAIRS} random pairs exchange a message and every one arrives once`, async () => {
    // A fixed-seed generator keeps a failing run reproducible.
    let seed = 12345;
    const random = (n) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
    const expected = new Map(clients.map((c) => [c, []]));
    for (let k = 0; k < PAIRS; k++) {
      const from = clients[random(COUNT)];
      let to;
      do to = clients[random(COUNT)]; while (to === from);
      const content = { k, text: `message ${k} from ${from.name} to ${to.name}` };
      from.socket.emit('private message', { content, to: to.socket.id });
      expected.get(to).push({ content, from: from.socket.id });
    }
    const total = () => clients.reduce((n, c) => n + c.received('private message').length, 0);
    await until(() => total() >= PAIRS, 30000, `${PAIRS} messages`);
    const byK = (a, b) => a.content.k - b.content.k;
    for (const c of clients) {
      assert.deepEqual([...c.received('private message')].sort(byK), expected.get(c).sort(byK), c.name);
    }
    assert.equal(total(), PAIRS);
  });

  it('all disconnect cleanly: the observer hears about each one once', async () => {
    const ids = clients.map((c) => c.socket.id);
    closeAll(clients);
    await until(() => observer.received('user disconnected').length >= COUNT, 30000, 'observer: every departure');
    const gone = observer.received('user disconnected');
    assert.equal(gone.length, COUNT);
    assert.deepEqual(new Set(gone), new Set(ids));
    // The server is still healthy: a newcomer sees only the observer and itself.
    const late = chatClient(server.url, 'late');
    clients.push(late);
    await connect(late.socket);
    assert.deepEqual(await waitEvent(late, 'users'), [
      { userID: observer.socket.id, username: 'observer' },
      { userID: late.socket.id, username: 'late' },
    ]);
  });

  it('the server exits 0 on SIGTERM', async () => {
    assert.equal(await server.stop(), 0);
  });
});

describe('churn: clients that leave as soon as they arrive', () => {
  const ROUNDS = 40;
  const PER_ROUND = 10;
  let server;
  let observer;
  const clients = [];

  before(async () => { server = await startServer(SIO_CHAT1); });
  after(async () => {
    closeAll(clients);
    observer?.socket.disconnect();
    await stopServer(server);
  });

  it(`${ROUNDS} rounds of ${PER_ROUND} clients (every mix) connecting and disconnecting at once`, async () => {
    observer = chatClient(server.url, 'observer', { transports: ['polling'], upgrade: false });
    await connect(observer.socket);
    const ids = [];
    for (let round = 0; round < ROUNDS; round++) {
      const batch = Array.from({ length: PER_ROUND }, (_, i) =>
        chatClient(server.url, `r${round}u${i}`, TRANSPORT_MIXES[(round + i) % TRANSPORT_MIXES.length].opts));
      clients.push(...batch);
      // Each one leaves the moment its users list arrives, while the others are still arriving.
      await Promise.all(batch.map(async (c) => {
        await connect(c.socket);
        const users = await waitEvent(c, 'users');
        assert.ok(users.some((u) => u.userID === c.socket.id), `${c.name} is in its own list`);
        ids.push(c.socket.id);
        c.socket.disconnect();
      }));
    }
    const total = ROUNDS * PER_ROUND;
    await until(() => observer.received('user disconnected').length >= total, 20000, 'every departure');
    // Every arrival and every departure was announced exactly once.
    assert.deepEqual(observer.received('user connected').map((u) => u.userID).sort(), [...ids].sort());
    assert.deepEqual([...observer.received('user disconnected')].sort(), [...ids].sort());
    // The server is still serving.
    const late = chatClient(server.url, 'late');
    clients.push(late);
    await connect(late.socket);
    assert.deepEqual(await waitEvent(late, 'users'), [
      { userID: observer.socket.id, username: 'observer' },
      { userID: late.socket.id, username: 'late' },
    ]);
  });

  it('the server exits 0 on SIGTERM', async () => {
    assert.equal(await server.stop(), 0);
  });
});

describe('server restart mid-session', () => {
  let port;
  let server;
  let alice; // reconnects by itself
  const others = [];

  before(async () => {
    port = await freePort();
    server = await startServer(SIO_CHAT1, ['--port', String(port)]);
  });
  after(async () => {
    alice?.socket.disconnect();
    closeAll(others);
    await stopServer(server);
  });

  it('SIGTERM closes every client with "transport close"; the client reconnects to a new server on the same port', async () => {
    assert.equal(server.port, port);
    alice = chatClient(server.url, 'alice', {
      reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 200,
    });
    // A polling-only client checks that polling sessions are closed cleanly too.
    const bob = chatClient(server.url, 'bob', { transports: ['polling'], upgrade: false });
    others.push(bob);
    await connect(alice.socket);
    await connect(bob.socket);
    const firstId = alice.socket.id;
    await waitEvent(alice, 'users');
    await until(() => alice.socket.io.engine.transport.name === 'websocket', 5000, 'upgrade');
    await roundTrip(alice, bob, 'first');

    const disconnected = once(alice.socket, 'disconnect', 10000);
    const bobDisconnected = once(bob.socket, 'disconnect', 10000);
    assert.equal(await server.stop('SIGTERM'), 0, 'exit code after SIGTERM');
    assertReason(await disconnected, 'transport close', 'alice (websocket)');
    assertReason(await bobDisconnected, 'transport close', 'bob (polling)');

    const reconnected = once(alice.socket, 'connect', 15000);
    server = await startServer(SIO_CHAT1, ['--port', String(port)]);
    await reconnected;
    const newId = alice.socket.id;
    assert.notEqual(newId, firstId);
    const users = await waitEvent(alice, 'users', (list) => list.some((u) => u.userID === newId), 5000);
    assert.deepEqual(users, [{ userID: newId, username: 'alice' }]);
  });

  it('SIGINT also closes every client with "transport close" and exits 0', async () => {
    await until(() => alice.socket.io.engine.transport.name === 'websocket', 5000, 'upgrade after reconnecting');
    const carol = chatClient(server.url, 'carol', { transports: ['polling'], upgrade: false });
    others.push(carol);
    await connect(carol.socket);
    await roundTrip(alice, carol, 'second');
    const disconnected = once(alice.socket, 'disconnect', 10000);
    const carolDisconnected = once(carol.socket, 'disconnect', 10000);
    assert.equal(await server.stop('SIGINT'), 0, 'exit code after SIGINT');
    assertReason(await disconnected, 'transport close', 'alice (websocket)');
    assertReason(await carolDisconnected, 'transport close', 'carol (polling)');
    alice.socket.disconnect(); // stop reconnecting
  });
});

describe('server options with the real client', () => {
  const clients = [];
  after(() => closeAll(clients));
  const user = (url, name, opts) => { const c = chatClient(url, name, opts); clients.push(c); return c; };

  it('--ping-interval/--ping-timeout: clients that answer stay; one that stops answering is dropped', async () => {
    const server = await startServer(SIO_CHAT1, ['--ping-interval', '200', '--ping-timeout', '300']);
    try {
      const alice = user(server.url, 'alice', { transports: ['websocket'] });
      const bob = user(server.url, 'bob', { transports: ['polling'], upgrade: false });
      const carol = user(server.url, 'carol', { transports: ['websocket'] });
      for (const c of [alice, bob, carol]) await connect(c.socket);
      const pings = new Map();
      for (const c of [alice, bob]) {
        pings.set(c, 0);
        c.socket.io.engine.on('ping', () => pings.set(c, pings.get(c) + 1));
      }
      // carol's client keeps receiving pings but no longer answers them (as a frozen tab would).
      const engine = carol.socket.io.engine;
      const send = engine._sendPacket.bind(engine);
      engine._sendPacket = (type, ...rest) => (type === 'pong' ? undefined : send(type, ...rest));
      const carolId = carol.socket.id;
      assert.equal(await waitEvent(alice, 'user disconnected', () => true, 5000), carolId);
      await once(carol.socket, 'disconnect', 5000).catch(() => {}); // any reason; it may already be gone
      // alice and bob answered every ping and are still there.
      await until(() => pings.get(alice) >= 3 && pings.get(bob) >= 3, 5000, 'three pings each');
      assert.equal(alice.socket.connected, true);
      assert.equal(bob.socket.connected, true);
      await roundTrip(alice, bob, 'after heartbeats');
      assert.deepEqual(bob.received('user disconnected'), [carolId]);
    } finally {
      closeAll(clients);
      assert.equal(await server.stop(), 0);
    }
  });

  it('--max-http-buffer-size is advertised and a larger message closes the sender only', async () => {
    const server = await startServer(SIO_CHAT1, ['--max-http-buffer-size', '1000']);
    try {
      for (const transport of [{ transports: ['websocket'] }, { transports: ['polling'], upgrade: false }]) {
        const alice = user(server.url, 'alice', transport);
        const bob = user(server.url, 'bob', { transports: ['websocket'] });
        await connect(alice.socket);
        await connect(bob.socket);
        assert.equal(alice.socket.io.engine._maxPayload, 1000, 'maxPayload in the open packet');
        // Just under the limit passes...
        const fits = 'x'.repeat(900);
        alice.socket.emit('private message', { content: fits, to: bob.socket.id });
        assert.equal((await waitEvent(bob, 'private message', (m) => m.content === fits)).from, alice.socket.id);
        // ...a packet over it closes alice's connection; bob only sees her leave.
        const aliceId = alice.socket.id;
        const gone = once(alice.socket, 'disconnect', 5000);
        alice.socket.emit('private message', { content: 'y'.repeat(2000), to: bob.socket.id });
        await gone;
        assert.equal(await waitEvent(bob, 'user disconnected', (id) => id === aliceId), aliceId);
        assert.deepEqual(bob.received('private message').map((m) => m.content), [fits]);
        bob.socket.disconnect();
      }
    } finally {
      closeAll(clients);
      assert.equal(await server.stop(), 0);
    }
  });

  it('--connect-timeout: a session that never joins a namespace is closed', async () => {
    const server = await startServer(SIO_CHAT1, ['--connect-timeout', '300']);
    // A Manager opens the Engine.IO session without connecting any namespace.
    const manager = new Manager(server.url, { reconnection: false, autoConnect: false, transports: ['websocket'] });
    try {
      const closed = once(manager, 'close', 5000);
      manager.open();
      await once(manager, 'open', 5000);
      const [reason] = await closed;
      assert.equal(reason, 'transport close');
    } finally {
      manager.engine?.close();
      assert.equal(await server.stop(), 0);
    }
  });

  it('--host binds the given address and prints it', async () => {
    const server = await startServer(SIO_CHAT1, ['--host', '127.0.0.1']);
    try {
      assert.match(server.output(), /listening on http:\/\/127\.0\.0\.1:\d+/);
      const alice = user(server.url, 'alice');
      await connect(alice.socket);
      assert.deepEqual(await waitEvent(alice, 'users'), [{ userID: alice.socket.id, username: 'alice' }]);
    } finally {
      closeAll(clients);
      assert.equal(await server.stop(), 0);
    }
  });
});

describe('command line', () => {
  const run = (...args) => spawnSync(SIO_CHAT1, args, { encoding: 'utf8', timeout: 5000 });

  it('--help prints the usage and exits 0', () => {
    const r = run('--help');
    assert.equal(r.status, 0, r.stderr);
    const out = r.stdout + r.stderr;
    assert.match(out, /usage/i);
    assert.match(out, /--port/);
  });

  it('--version prints a version and exits 0', () => {
    const r = run('--version');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout + r.stderr, /\d+\.\d+/);
  });

  it('an unknown flag exits 2 with a one-line error', () => {
    const r = run('--bogus');
    assert.equal(r.status, 2, `exit status (stderr: ${r.stderr})`);
    const err = r.stderr.trim();
    assert.notEqual(err, '', 'an error message on stderr');
    assert.equal(err.split('\n').length, 1, `one line, got:\n${r.stderr}`);
    assert.match(err, /bogus/);
  });
});
