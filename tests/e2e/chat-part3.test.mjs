// SPDX-License-Identifier: MIT
// End-to-end tests of ./sio-server (env SIO_SERVER): the tutorial's part 3, persistent messages
// (docs/private-messaging.md, part III), plus what sio adds: the file store by default, limits
// with clear errors, and the command line. With the real socket.io-client, and raw WebSockets
// for the exact bytes of III.3:
//   - everything of part 2 (sessions, tabs, offline users, the last-tab rule);
//   - `users` entries carry `messages`: the conversation with the connecting user, in order;
//   - `user connected` carries "messages": [];
//   - every relayed message is stored; a message that is dropped (over CHAT_MAX_CONTENT, no
//     content, unknown `to`) is neither relayed nor stored;
//   - usernames: missing/falsy -> exactly "invalid username"; not a string, longer than 64
//     bytes, control characters -> "invalid username: <why>";
//   - a restart with the file store (SIGTERM) restores users, sessions and history.
// Store crash recovery (kill -9, torn and corrupt records) is in store.test.mjs.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { SIO_SERVER, startServer, once, until } from './helpers.mjs';
import { destroyAll } from './rawlib.mjs';
import {
  TRANSPORT_MIXES, HEX16, chatClient, connect, connectExpectingError, join, waitEvent, closeAll,
  rawUser, rawSession, tempDir, rmTemp, freePort,
} from './chatlib.mjs';

// A part-3 user entry: {userID, username, connected, messages}.
const entry = (c, connected, messages = []) => ({ userID: c.userID, username: c.name, connected, messages });
const msg = (content, from, to) => ({ content, from: from.userID, to: to.userID });

// Starts sio-server on a fresh data directory (or the given one); stop with ctx.stop().
async function startChat(args = [], dir = undefined) {
  const dataDir = dir ?? tempDir('sio-data-');
  const server = await startServer(SIO_SERVER, ['--data-dir', dataDir, ...args]);
  return { server, dataDir };
}

describe('part 3 over raw WebSockets: the III.3 sequence byte for byte', () => {
  let ctx;
  before(async () => { ctx = await startChat(); });
  after(async () => {
    destroyAll();
    assert.equal(await ctx.server.stop(), 0, ctx.server.output());
    rmTemp(ctx.dataDir);
  });

  it('history in users, messages:[] in user connected, stored messages come back in order', async () => {
    const port = ctx.server.port;
    const alice = await rawUser(port, '{"username":"alice"}');
    const A = await rawSession(alice.eio);
    assert.equal(await alice.eio.next(), `42["users",[{"userID":"${A.userID}","username":"alice","connected":true,"messages":[]}]]`);
    const bob = await rawUser(port, '{"username":"bob"}');
    const B = await rawSession(bob.eio);
    assert.equal(await bob.eio.next(),
      `42["users",[{"userID":"${A.userID}","username":"alice","connected":true,"messages":[]},{"userID":"${B.userID}","username":"bob","connected":true,"messages":[]}]]`);
    assert.equal(await alice.eio.next(), `42["user connected",{"userID":"${B.userID}","username":"bob","connected":true,"messages":[]}]`);

    // Whitespace in the content is dropped (JSON.stringify(JSON.parse(x)) would do the same).
    bob.eio.send(`42["private message",{"content":"hello alice","to":"${A.userID}"}]`);
    const m1 = `{"content":"hello alice","from":"${B.userID}","to":"${A.userID}"}`;
    assert.equal(await alice.eio.next(), `42["private message",${m1}]`);
    alice.eio.send(`42["private message",{"content" : "hi bob" , "to":"${B.userID}"}]`);
    const m2 = `{"content":"hi bob","from":"${A.userID}","to":"${B.userID}"}`;
    assert.equal(await bob.eio.next(), `42["private message",${m2}]`);
    alice.eio.send(`42["private message",{"content":{ "a" : [1, 2] },"to":"${A.userID}"}]`);
    const m3 = `{"content":{"a":[1,2]},"from":"${A.userID}","to":"${A.userID}"}`;
    alice.eio.destroy();
    assert.equal(await bob.eio.next(), `42["user disconnected","${A.userID}"]`);

    const alice3 = await rawUser(port, `{"sessionID":"${A.sessionID}"}`);
    assert.deepEqual(await rawSession(alice3.eio), A);
    assert.equal(await alice3.eio.next(),
      `42["users",[{"userID":"${A.userID}","username":"alice","connected":true,"messages":[${m3}]},{"userID":"${B.userID}","username":"bob","connected":true,"messages":[${m1},${m2}]}]]`);
    assert.equal(await bob.eio.next(), `42["user connected",{"userID":"${A.userID}","username":"alice","connected":true,"messages":[]}]`);
    destroyAll();
  });
});

for (const mix of TRANSPORT_MIXES) {
  describe(`part 3 with socket.io-client over ${mix.name}`, () => {
    let ctx;
    const clients = [];
    const user = async (auth) => { const c = await join(ctx.server.url, auth, mix.opts); clients.push(c); return c; };
    before(async () => { ctx = await startChat(); });
    after(async () => {
      closeAll(clients);
      assert.equal(await ctx.server.stop(), 0, ctx.server.output());
      rmTemp(ctx.dataDir);
    });

    it('sessions, tabs, history per conversation, offline users', async () => {
      const alice = await user({ username: 'alice' });
      assert.match(alice.userID, HEX16);
      assert.deepEqual(alice.received('users'), [[entry(alice, true)]]);
      const bob = await user({ username: 'bob' });
      const carol = await user({ username: 'carol' });
      assert.deepEqual(carol.received('users'), [[entry(alice, true), entry(bob, true), entry(carol, true)]]);
      assert.deepEqual(await waitEvent(alice, 'user connected', (u) => u.userID === carol.userID), entry(carol, true));

      const CONTENTS = ['hello', 42, { text: 'an object', n: [1, 2.5, -3], ok: true, nothing: null }, 'héllo 😀',
        'record\u001eseparator', '', 'quote " backslash \\ newline \n tab \t'];
      // One side after the other, so that the stored order is known.
      for (const content of CONTENTS) bob.socket.emit('private message', { content, to: alice.userID });
      await until(() => alice.received('private message').length === CONTENTS.length, 5000, 'alice');
      for (const content of CONTENTS) alice.socket.emit('private message', { content, to: bob.userID });
      alice.socket.emit('private message', { content: 'to carol', to: carol.userID });
      alice.socket.emit('private message', { content: 'to me', to: alice.userID });
      await until(() => bob.received('private message').length === CONTENTS.length, 5000, 'bob');
      await waitEvent(carol, 'private message');
      assert.deepEqual(alice.received('private message'), CONTENTS.map((c) => msg(c, bob, alice)));
      assert.deepEqual(bob.received('private message'), CONTENTS.map((c) => msg(c, alice, bob)));

      // A second tab of alice: history grouped by the other user, in order; her own notes on
      // her own entry.
      const alice2 = await user({ sessionID: alice.sessionID });
      alice2.name = 'alice';
      const history = [];
      for (const c of CONTENTS) history.push(msg(c, bob, alice));
      for (const c of CONTENTS) history.push(msg(c, alice, bob));
      assert.deepEqual(alice2.received('users'), [[
        entry(alice, true, [msg('to me', alice, alice)]),
        entry(bob, true, history),
        entry(carol, true, [msg('to carol', alice, carol)]),
      ]]);
      // carol sees only her conversation with alice.
      carol.socket.disconnect();
      await waitEvent(bob, 'user disconnected', (id) => id === carol.userID);
      const carol2 = await user({ sessionID: carol.sessionID });
      carol2.name = 'carol';
      assert.deepEqual(carol2.received('users'), [[
        entry(alice, true, [msg('to carol', alice, carol)]), entry(bob, true), entry(carol, true),
      ]]);
      // carol leaves for good: she stays in the list, offline, with her history.
      carol2.socket.disconnect();
      await waitEvent(alice, 'user disconnected', (id) => id === carol.userID);
      const dave = await user({ username: 'dave' });
      assert.deepEqual(dave.received('users')[0].map((u) => [u.username, u.connected, u.messages.length]),
        [['alice', true, 0], ['bob', true, 0], ['carol', false, 0], ['dave', true, 0]]);

      // The sender's other tab gets the message; the last-tab rule.
      alice2.socket.emit('private message', { content: 'from tab 2', to: bob.userID });
      assert.deepEqual(await waitEvent(alice, 'private message', (m) => m.content === 'from tab 2'), msg('from tab 2', alice, bob));
      alice.socket.disconnect();
      bob.socket.emit('private message', { content: 'still there?', to: alice.userID });
      await waitEvent(alice2, 'private message', (m) => m.content === 'still there?');
      assert.equal(bob.received('user disconnected').filter((id) => id === alice.userID).length, 0);
      alice2.socket.disconnect();
      await waitEvent(bob, 'user disconnected', (id) => id === alice.userID);
      await waitEvent(dave, 'user disconnected', (id) => id === alice.userID);
    });

    it('bad payloads and unknown recipients are dropped, never stored', async () => {
      const erin = await user({ username: 'erin' });
      const frank = await user({ username: 'frank' });
      for (const bad of [null, 'text', 42, { content: 'no to' }, { content: 'x', to: 42 }, { content: 'x', to: [frank.userID] },
        { content: 'unknown', to: '0000000000000000' }, { content: 'socket id', to: frank.socket.id }, { to: frank.userID }]) {
        erin.socket.emit('private message', bad);
      }
      let acked = false;
      erin.socket.emit('private message', { content: 'with an ack', to: frank.userID }, () => { acked = true; });
      erin.socket.emit('private message', { content: 'last', to: frank.userID });
      await waitEvent(frank, 'private message', (m) => m.content === 'last');
      assert.deepEqual(frank.received('private message').map((m) => m.content), ['with an ack', 'last']);
      assert.equal(acked, false, 'no ACK');
      frank.socket.disconnect();
      const frank2 = await user({ sessionID: frank.sessionID });
      const erinEntry = frank2.received('users')[0].find((u) => u.userID === erin.userID);
      assert.deepEqual(erinEntry.messages.map((m) => m.content), ['with an ack', 'last']);
    });
  });
}

describe('limits', () => {
  let ctx;
  const clients = [];
  before(async () => { ctx = await startChat(); });
  after(async () => {
    closeAll(clients);
    assert.equal(await ctx.server.stop(), 0, ctx.server.output());
    rmTemp(ctx.dataDir);
  });
  const attempt = async (auth) => {
    const c = chatClient(ctx.server.url, auth, { transports: ['websocket'] });
    clients.push(c);
    return (await connectExpectingError(c.socket)).message;
  };

  it('usernames: falsy -> exactly "invalid username"; other refusals say why', async () => {
    for (const auth of [undefined, {}, { username: '' }, { username: null }, { username: false }, { username: 0 }]) {
      assert.equal(await attempt(auth), 'invalid username', JSON.stringify(auth));
    }
    assert.equal(await attempt({ username: 42 }), 'invalid username: must be a string');
    assert.equal(await attempt({ username: { name: 'x' } }), 'invalid username: must be a string');
    assert.equal(await attempt({ username: 'x'.repeat(65) }), 'invalid username: longer than 64 bytes');
    assert.equal(await attempt({ username: 'é'.repeat(33) }), 'invalid username: longer than 64 bytes', '66 bytes of UTF-8');
    for (const name of ['bell\u0007', 'new\nline', 'tab\there', 'del\u007f', 'c1\u0085', 'nul\u0000']) {
      assert.equal(await attempt({ username: name }), 'invalid username: control characters are not allowed', JSON.stringify(name));
    }
    assert.equal(await attempt({ username: 'lone \ud800 surrogate' }), 'invalid username: not valid Unicode (lone surrogate)');
    // 64 bytes exactly, and non-ASCII text, are fine; the name comes back as sent.
    for (const name of ['y'.repeat(64), 'é'.repeat(32), 'Zoë 😀', 'quote " and \\ backslash']) {
      const c = await join(ctx.server.url, { username: name }, { transports: ['websocket'] });
      clients.push(c);
      assert.equal(c.received('users')[0].find((u) => u.userID === c.userID).username, name);
    }
  });

  it('a content over 64 KiB of JSON is dropped and logged, never relayed or stored; 64 KiB passes', async () => {
    const a = await join(ctx.server.url, { username: 'big-a' }, { transports: ['websocket'] });
    const b = await join(ctx.server.url, { username: 'big-b' }, { transports: ['polling'], upgrade: false });
    clients.push(a, b);
    const fits = 'x'.repeat(65536 - 2); // 65536 bytes with its quotes
    const over = 'y'.repeat(65536 - 1);
    a.socket.emit('private message', { content: over, to: b.userID });
    a.socket.emit('private message', { content: fits, to: b.userID });
    a.socket.emit('private message', { content: 'after', to: b.userID });
    await waitEvent(b, 'private message', (m) => m.content === 'after', 10000);
    assert.deepEqual(b.received('private message').map((m) => m.content.length), [fits.length, 5]);
    await until(() => /dropped a message from [0-9a-f]{16} to [0-9a-f]{16}: content is 65537 bytes, over 65536/.test(ctx.server.output()),
      5000, 'the log line');
    b.socket.disconnect();
    const b2 = await join(ctx.server.url, { sessionID: b.sessionID }, { transports: ['websocket'] });
    clients.push(b2);
    const history = b2.received('users')[0].find((u) => u.userID === a.userID).messages;
    assert.deepEqual(history.map((m) => m.content.length), [fits.length, 5]);
    assert.equal(a.socket.connected, true, 'the sender stays connected');
  });

  it('each conversation keeps its last 1000 messages', async () => {
    const a = await join(ctx.server.url, { username: 'chatty' }, { transports: ['websocket'] });
    const b = await join(ctx.server.url, { username: 'patient' }, { transports: ['websocket'] });
    clients.push(a, b);
    for (let i = 0; i < 1010; i++) a.socket.emit('private message', { content: i, to: b.userID });
    await waitEvent(b, 'private message', (m) => m.content === 1009, 20000);
    assert.equal(b.received('private message').length, 1010, 'all relayed');
    const b2 = await join(ctx.server.url, { sessionID: b.sessionID }, { transports: ['websocket'] });
    clients.push(b2);
    const kept = b2.received('users')[0].find((u) => u.userID === a.userID).messages.map((m) => m.content);
    assert.equal(kept.length, 1000);
    assert.equal(kept[0], 10);
    assert.equal(kept[999], 1009);
  });
});

describe('restart with the file store', () => {
  it('SIGTERM, restart on the same data dir: sessions, users (offline) and history are back; clients reconnect as themselves', async () => {
    const port = await freePort();
    const dataDir = tempDir('sio-data-');
    let server = await startServer(SIO_SERVER, ['--data-dir', dataDir, '--port', String(port)]);
    const url = server.url;
    const opts = { reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 300, transports: ['websocket'] };
    const alice = chatClient(url, { username: 'alice' }, opts);
    const bob = chatClient(url, { username: 'bob' }, opts);
    const carol = chatClient(url, { username: 'carol' }, { transports: ['websocket'] });
    try {
      for (const c of [alice, bob, carol]) { await connect(c.socket); await waitEvent(c, 'users'); }
      carol.socket.disconnect();
      alice.socket.emit('private message', { content: 'before the restart', to: bob.userID });
      await waitEvent(bob, 'private message');
      bob.socket.emit('private message', { content: { reply: true }, to: alice.userID });
      await waitEvent(alice, 'private message');

      const gone = [once(alice.socket, 'disconnect', 10000), once(bob.socket, 'disconnect', 10000)];
      assert.equal(await server.stop('SIGTERM'), 0);
      await Promise.all(gone);
      const aliceID = alice.userID;
      alice.clear();
      bob.clear();
      const back = [once(alice.socket, 'connect', 15000), once(bob.socket, 'connect', 15000)];
      server = await startServer(SIO_SERVER, ['--data-dir', dataDir, '--port', String(port)]);
      assert.match(server.output(), /store: .*chat\.aof: 3 sessions, 2 messages/);
      await Promise.all(back);
      // Same users (the client sent its sessionID again), same history.
      // (bob may reconnect before or after alice: his `connected` depends on that)
      const users = await waitEvent(alice, 'users', (list) => list.length === 3, 10000);
      assert.equal(alice.userID, aliceID);
      assert.deepEqual(users.map((u) => [u.username, u.userID]), [['alice', aliceID], ['bob', bob.userID], ['carol', carol.userID]]);
      assert.equal(users[2].connected, false, 'carol is offline');
      assert.deepEqual(users[1].messages, [
        { content: 'before the restart', from: aliceID, to: bob.userID },
        { content: { reply: true }, from: bob.userID, to: aliceID },
      ]);
      // And they can go on chatting.
      alice.socket.emit('private message', { content: 'after the restart', to: bob.userID });
      await waitEvent(bob, 'private message', (m) => m.content === 'after the restart');
    } finally {
      closeAll([alice, bob, carol]);
      assert.equal(await server.stop(), 0, server.output());
      rmTemp(dataDir);
    }
  });

  it('--store memory forgets everything on restart (the tutorial\'s stores)', async () => {
    let server = await startServer(SIO_SERVER, ['--store', 'memory']);
    assert.match(server.output(), /store: memory/);
    const a = await join(server.url, { username: 'alice' });
    a.socket.disconnect();
    assert.equal(await server.stop(), 0);
    server = await startServer(SIO_SERVER, ['--store', 'memory']);
    try {
      const again = chatClient(server.url, { sessionID: a.sessionID });
      assert.equal((await connectExpectingError(again.socket)).message, 'invalid username');
    } finally {
      assert.equal(await server.stop(), 0, server.output());
    }
  });
});

describe('command line (sio-server)', () => {
  const run = (args, opts = {}) => spawnSync(SIO_SERVER, args, { encoding: 'utf8', timeout: 5000, ...opts });

  it('--help lists the store and web flags', () => {
    const r = run(['--help']);
    assert.equal(r.status, 0);
    for (const flag of ['--store', '--data-dir', '--appendfsync', '--web-dir', '--port', '--quiet']) assert.match(r.stdout, new RegExp(flag));
  });

  it('bad values exit 2 with one line', () => {
    for (const args of [['--store', 'redis'], ['--appendfsync', 'sometimes'], ['--data-dir'], ['--web-dir', ''], ['--bogus']]) {
      const r = run(args);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
  });

  it('an explicit --web-dir that does not exist is an error; a missing default ./web is not', async () => {
    const tmp = tempDir();
    try {
      const r = run(['--store', 'memory', '--web-dir', path.join(tmp, 'nope')]);
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /nope/);
      // Started from a directory without web/ (startServer has no cwd option: spawn it here).
      const proc = spawn(SIO_SERVER, ['--store', 'memory', '--port', '0'], { cwd: tmp, stdio: ['ignore', 'ignore', 'pipe'] });
      let out = '';
      proc.stderr.on('data', (d) => { out += d; });
      const exited = new Promise((resolve) => proc.on('exit', (code) => resolve(code)));
      try {
        await until(() => /listening on http:\/\/[^:]+:\d+/.test(out), 5000, 'listening');
        assert.match(out, /no chat page/);
        const port = out.match(/listening on http:\/\/[^:]+:(\d+)/)[1];
        const res = await fetch(`http://127.0.0.1:${port}/`);
        assert.equal(res.status, 404);
      } finally {
        proc.kill('SIGTERM');
        assert.equal(await exited, 0, out);
      }
      assert.equal(fs.existsSync(path.join(tmp, 'data')), false, '--store memory writes nothing');
    } finally {
      rmTemp(tmp);
    }
  });

  it('a second server on the same data directory is refused', async () => {
    const ctx = await startChat();
    try {
      const r = run(['--data-dir', ctx.dataDir, '--port', '0']);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /in use by another process/);
    } finally {
      assert.equal(await ctx.server.stop(), 0);
      rmTemp(ctx.dataDir);
    }
  });

  it('a data directory that cannot be created is an error', () => {
    const r = run(['--data-dir', '/nonexistent/sio/data']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /\/nonexistent\/sio\/data/);
  });
});

