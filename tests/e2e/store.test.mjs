// SPDX-License-Identifier: MIT
// The file store of ./sio-server under crashes (store.c; docs in its header comment):
//   - kill -9 in the middle of a chat, with --appendfsync always (and everysec): after a restart
//     every message that some client received, and every session that some client was given,
//     is there;
//   - a torn last record (a write cut short) is dropped with a warning and the file truncated;
//   - a corrupt record in the middle is skipped with a warning and everything else loads;
//   - a file that is not a store is never touched: the server refuses to start.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { SIO_SERVER, startServer, until } from './helpers.mjs';
import { join, waitEvent, closeAll, tempDir, rmTemp } from './chatlib.mjs';

const storeFile = (dir) => path.join(dir, 'chat.aof');
const WS = { transports: ['websocket'] };

// Reconnects every client by its sessionID on `url` and returns, per client, its users list.
async function usersAfterRestart(url, clients) {
  const out = new Map();
  for (const c of clients) {
    const again = await join(url, { sessionID: c.sessionID }, WS);
    assert.equal(again.userID, c.userID, `${c.name}: the session survived`);
    out.set(c, again.received('users')[0]);
    again.socket.disconnect();
  }
  return out;
}

for (const policy of ['always', 'everysec']) {
  describe(`kill -9 mid-chat (--appendfsync ${policy})`, () => {
    it('every relayed message and every created session is there after the restart', async () => {
      const dataDir = tempDir('sio-crash-');
      const args = ['--data-dir', dataDir, '--appendfsync', policy, '--quiet'];
      let server = await startServer(SIO_SERVER, args);
      const clients = [];
      try {
        // Six users; each sends a stream of messages to the next one while the server is killed.
        for (let i = 0; i < 6; i++) clients.push(await join(server.url, { username: `user${i}` }, i % 2 ? WS : {}));
        let sending = true;
        const senders = clients.map(async (c, i) => {
          const to = clients[(i + 1) % clients.length];
          // At most 900 (under the 1000 kept per conversation), a few every couple of ms, so
          // that the kill lands while messages are in flight.
          for (let k = 0; sending && k < 900; k++) {
            c.socket.emit('private message', { content: `${c.name} #${k}`, to: to.userID });
            await new Promise((r) => setTimeout(r, 3));
          }
        });
        // Late arrivals: sessions created while messages fly.
        const late = [];
        for (let i = 0; i < 3; i++) late.push(await join(server.url, { username: `late${i}` }, WS));
        assert.ok(clients.every((c) => c.received('private message').length < 900), 'still sending');
        await until(() => clients.every((c) => c.received('private message').length >= 100), 10000, 'traffic');
        const killed = server;
        server = null;
        assert.equal(await killed.stop('SIGKILL'), 'SIGKILL');
        sending = false;
        const inFlight = clients.filter((c) => c.received('private message').length < 900).length;
        assert.ok(inFlight > 0, 'the kill must land while messages are still being sent');
        await Promise.all(senders);
        closeAll([...clients, ...late]);

        server = await startServer(SIO_SERVER, args);
        const lists = await usersAfterRestart(server.url, [...clients, ...late]);
        for (const [i, c] of clients.entries()) {
          const from = clients[(i + clients.length - 1) % clients.length];
          const got = c.received('private message').map((m) => m.content);
          assert.ok(got.length > 0);
          const stored = lists.get(c).find((u) => u.userID === from.userID).messages
            .filter((m) => m.from === from.userID).map((m) => m.content);
          // Everything the recipient got is stored, in the same order (stored may hold a few more:
          // saved, then killed before the relay left).
          assert.deepEqual(stored.slice(0, got.length), got, `${c.name}: stored history starts with every received message`);
          assert.ok(stored.every((text, k) => text === `${from.name} #${k}`), `${c.name}: no hole, no duplicate`);
        }
        const everyone = lists.get(late[2]).map((u) => u.username);
        assert.deepEqual(everyone, [...clients, ...late].map((c) => c.name), 'every session, in creation order');
      } finally {
        closeAll(clients);
        if (server) assert.equal(await server.stop(), 0, server.output());
        rmTemp(dataDir);
      }
    });
  });
}

// A short chat on a fresh data directory, then a clean stop. Returns { dataDir, alice, bob }.
async function chatThenStop(messages) {
  const dataDir = tempDir('sio-store-');
  const server = await startServer(SIO_SERVER, ['--data-dir', dataDir, '--quiet']);
  const alice = await join(server.url, { username: 'alice' }, WS);
  const bob = await join(server.url, { username: 'bob' }, WS);
  for (const content of messages) alice.socket.emit('private message', { content, to: bob.userID });
  await until(() => bob.received('private message').length === messages.length, 5000, 'messages');
  closeAll([alice, bob]);
  assert.equal(await server.stop(), 0);
  return { dataDir, alice, bob };
}

describe('damaged store files', () => {
  it('a torn last record is dropped with a warning, the file truncated, the rest loaded', async () => {
    const { dataDir, alice, bob } = await chatThenStop(['one', 'two', 'three']);
    const file = storeFile(dataDir);
    const good = fs.readFileSync(file);
    const lines = good.toString().split('\n');
    // Half of a copy of the last record, as a write cut short by a crash would leave it.
    const torn = lines[lines.length - 2].slice(0, 40);
    fs.appendFileSync(file, torn);
    const server = await startServer(SIO_SERVER, ['--data-dir', dataDir]);
    try {
      assert.match(server.output(), new RegExp(`torn record at the end \\(offset ${good.length}, ${torn.length} bytes\\): dropped`));
      assert.equal(fs.statSync(file).size, good.length, 'truncated back to the last good record');
      const lists = await usersAfterRestart(server.url, [alice, bob]);
      const history = lists.get(bob).find((u) => u.userID === alice.userID).messages.map((m) => m.content);
      assert.deepEqual(history, ['one', 'two', 'three']);
    } finally {
      assert.equal(await server.stop(), 0, server.output());
    }
    // A restart after that is clean.
    const again = await startServer(SIO_SERVER, ['--data-dir', dataDir]);
    assert.doesNotMatch(again.output(), /torn|corrupt/);
    assert.equal(await again.stop(), 0);
    rmTemp(dataDir);
  });

  it('a corrupt record in the middle is skipped with a warning; everything else loads and appends go on', async () => {
    const { dataDir, alice, bob } = await chatThenStop(['first', 'SECRET-TWO', 'third']);
    const file = storeFile(dataDir);
    const bytes = fs.readFileSync(file);
    const at = bytes.indexOf('SECRET-TWO');
    assert.ok(at > 0);
    bytes[at] = 'X'.charCodeAt(0); // one flipped byte: the CRC no longer matches
    fs.writeFileSync(file, bytes);
    let server = await startServer(SIO_SERVER, ['--data-dir', dataDir]);
    try {
      assert.match(server.output(), /store: .*chat\.aof: corrupt data at offset \d+ \(\d+ bytes\): skipped/);
      assert.match(server.output(), /2 sessions, 2 messages/);
      assert.equal(fs.statSync(file).size, bytes.length, 'the file is left as it is');
      const a = await join(server.url, { sessionID: alice.sessionID }, WS);
      const b = await join(server.url, { sessionID: bob.sessionID }, WS);
      const history = b.received('users')[0].find((u) => u.userID === alice.userID).messages.map((m) => m.content);
      assert.deepEqual(history, ['first', 'third']);
      a.socket.emit('private message', { content: 'fourth', to: b.userID });
      await waitEvent(b, 'private message');
      closeAll([a, b]);
    } finally {
      assert.equal(await server.stop(), 0, server.output());
    }
    server = await startServer(SIO_SERVER, ['--data-dir', dataDir]);
    try {
      assert.match(server.output(), /corrupt data at offset/, 'still reported (until a compaction rewrites the file)');
      const b = await join(server.url, { sessionID: bob.sessionID }, WS);
      const history = b.received('users')[0].find((u) => u.userID === alice.userID).messages.map((m) => m.content);
      assert.deepEqual(history, ['first', 'third', 'fourth']);
      b.socket.disconnect();
    } finally {
      assert.equal(await server.stop(), 0, server.output());
      rmTemp(dataDir);
    }
  });

  it('a file that is not a store is refused, and left untouched', () => {
    const dataDir = tempDir('sio-store-');
    fs.writeFileSync(storeFile(dataDir), 'my precious data\n');
    const r = spawnSync(SIO_SERVER, ['--data-dir', dataDir, '--port', '0'], { encoding: 'utf8', timeout: 5000 });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /not a sio chat store/);
    assert.equal(fs.readFileSync(storeFile(dataDir), 'utf8'), 'my precious data\n');
    rmTemp(dataDir);
  });

  it('the file is readable: one JSON record per line, with length and CRC-32', async () => {
    const { dataDir, alice, bob } = await chatThenStop(['hello']);
    const lines = fs.readFileSync(storeFile(dataDir), 'utf8').split('\n');
    assert.equal(lines[0], 'SIOCHAT 1');
    const records = lines.slice(1, -1).map((l) => l.match(/^([SM]) (\d+) ([0-9a-f]{8}) (.*)$/));
    assert.ok(records.every(Boolean), lines.join('\n'));
    for (const [, , len, , json] of records) assert.equal(Buffer.byteLength(json), Number(len));
    const parsed = records.map(([, type, , , json]) => [type, JSON.parse(json)]);
    assert.deepEqual(parsed.map(([t]) => t).join(''), 'SSMSS', 'alice, bob, the message, both offline');
    assert.deepEqual(parsed[2][1], { content: 'hello', from: alice.userID, to: bob.userID });
    assert.deepEqual(Object.keys(parsed[0][1]), ['sessionID', 'userID', 'username', 'connected']);
    assert.equal(parsed[0][1].sessionID, alice.sessionID);
    rmTemp(dataDir);
  });
});
