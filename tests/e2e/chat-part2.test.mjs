// SPDX-License-Identifier: MIT
// End-to-end tests of examples/chat-part2 (env SIO_CHAT2): the tutorial's part 2, persistent
// user ids (docs/private-messaging.md, part II), with the real socket.io-client and, for the
// exact bytes of II.6, with raw WebSockets:
//   - a new user gets `session` {sessionID, userID} (16 hex each); auth.sessionID restores it
//     (username ignored); an unknown sessionID without username -> "invalid username";
//   - `users` lists every stored session {userID, username, connected}, offline users included;
//   - `user connected` goes to every other socket, the same user's other tabs included;
//   - `private message` {content, from, to} reaches every tab of `to` and the sender's other tabs;
//   - `user disconnected` only when the user's last tab is gone.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { SIO_CHAT2, startServer } from './helpers.mjs';
import { EioSocket, destroyAll } from './rawlib.mjs';
import {
  TRANSPORT_MIXES, HEX16, chatClient, connect, connectExpectingError, join, waitEvent, closeAll, user2,
  rawUser, rawSession,
} from './chatlib.mjs';

describe('part 2 over raw WebSockets: the II.6 sequence byte for byte', () => {
  let server;
  before(async () => { server = await startServer(SIO_CHAT2); });
  after(async () => {
    destroyAll();
    if (server) assert.equal(await server.stop(), 0, server.output());
  });

  it('sessions, a second tab, private messages to every tab, the last tab, a return', async () => {
    const port = server.port;
    const alice = await rawUser(port, '{"username":"alice"}');
    const A = await rawSession(alice.eio);
    assert.equal(await alice.eio.next(), `42["users",[{"userID":"${A.userID}","username":"alice","connected":true}]]`);

    const alice2 = await rawUser(port, `{"sessionID":"${A.sessionID}"}`);
    assert.deepEqual(await rawSession(alice2.eio), A);
    const aliceEntry = `{"userID":"${A.userID}","username":"alice","connected":true}`;
    assert.equal(await alice2.eio.next(), `42["users",[${aliceEntry}]]`);
    assert.equal(await alice.eio.next(), `42["user connected",${aliceEntry}]`);

    const bob = await rawUser(port, '{"username":"bob"}');
    const B = await rawSession(bob.eio);
    assert.notEqual(B.userID, A.userID);
    const bobEntry = `{"userID":"${B.userID}","username":"bob","connected":true}`;
    assert.equal(await bob.eio.next(), `42["users",[${aliceEntry},${bobEntry}]]`);
    assert.equal(await alice.eio.next(), `42["user connected",${bobEntry}]`);
    assert.equal(await alice2.eio.next(), `42["user connected",${bobEntry}]`);

    bob.eio.send(`42["private message",{"content":"hello alice","to":"${A.userID}"}]`);
    const toAlice = `42["private message",{"content":"hello alice","from":"${B.userID}","to":"${A.userID}"}]`;
    assert.equal(await alice.eio.next(), toAlice);
    assert.equal(await alice2.eio.next(), toAlice);
    alice.eio.send(`42["private message",{"content":"hi bob","to":"${B.userID}"}]`);
    const toBob = `42["private message",{"content":"hi bob","from":"${A.userID}","to":"${B.userID}"}]`;
    assert.equal(await bob.eio.next(), toBob);
    assert.equal(await alice2.eio.next(), toBob, "the sender's other tab");

    // alice closes one tab: nothing is sent (a round trip proves bob got nothing else).
    alice.eio.destroy();
    await new Promise((r) => setTimeout(r, 100));
    alice2.eio.send(`42["private message",{"content":"still here","to":"${B.userID}"}]`);
    assert.equal(await bob.eio.next(), `42["private message",{"content":"still here","from":"${A.userID}","to":"${B.userID}"}]`);
    // ...and the last one: now bob hears it.
    alice2.eio.destroy();
    assert.equal(await bob.eio.next(), `42["user disconnected","${A.userID}"]`);

    // alice comes back later: same user, and the users list shows both online.
    const alice3 = await rawUser(port, `{"sessionID":"${A.sessionID}"}`);
    assert.deepEqual(await rawSession(alice3.eio), A);
    assert.equal(await alice3.eio.next(), `42["users",[${aliceEntry},${bobEntry}]]`);
    assert.equal(await bob.eio.next(), `42["user connected",${aliceEntry}]`);

    // An unknown sessionID without a username is refused; the raw session can try again.
    const nope = await EioSocket.connect(port);
    nope.send('40{"sessionID":"nope"}');
    assert.equal(await nope.next(), '44{"message":"invalid username"}');
    nope.send('40{"sessionID":"0000000000000000","username":"zed"}');
    assert.match(await nope.next(), /^40\{"sid":"[A-Za-z0-9_-]{20}"\}$/, 'unknown sessionID + username: a new session');
    const Z = await rawSession(nope);
    assert.notEqual(Z.sessionID, '0000000000000000');
    // No messages in part 2: the users entries have exactly three keys.
    const users = JSON.parse((await nope.next()).slice(2))[1];
    assert.deepEqual(users.map((u) => Object.keys(u)), users.map(() => ['userID', 'username', 'connected']));
    destroyAll();
  });
});

for (const mix of TRANSPORT_MIXES) {
  describe(`part 2 with socket.io-client over ${mix.name}`, () => {
    let server;
    const clients = [];
    const user = async (auth) => { const c = await join(server.url, auth, mix.opts); clients.push(c); return c; };

    before(async () => { server = await startServer(SIO_CHAT2); });
    after(async () => {
      closeAll(clients);
      if (server) assert.equal(await server.stop(), 0, server.output());
    });

    it('sessions, tabs, offline users, private messages and the last-tab rule', async () => {
      const alice = await user({ username: 'alice' });
      assert.match(alice.sessionID, HEX16);
      assert.match(alice.userID, HEX16);
      assert.notEqual(alice.sessionID, alice.userID);
      assert.deepEqual(alice.received('users'), [[user2(alice)]]);

      // A second tab: same session, username ignored.
      const alice2 = await user({ sessionID: alice.sessionID, username: 'mallory' });
      assert.equal(alice2.userID, alice.userID);
      assert.equal(alice2.sessionID, alice.sessionID);
      alice2.name = 'alice';
      assert.deepEqual(alice2.received('users'), [[user2(alice)]]);
      assert.deepEqual(await waitEvent(alice, 'user connected'), user2(alice), 'the other tab is told too');

      const bob = await user({ username: 'bob' });
      assert.deepEqual(bob.received('users'), [[user2(alice), user2(bob)]]);
      for (const c of [alice, alice2]) assert.deepEqual(await waitEvent(c, 'user connected', (u) => u.userID === bob.userID), user2(bob));

      // carol comes and goes: she stays in the list, offline.
      const carol = await user({ username: 'carol' });
      carol.socket.disconnect();
      assert.equal(await waitEvent(bob, 'user disconnected', (id) => id === carol.userID), carol.userID);
      const dave = await user({ username: 'dave' });
      assert.deepEqual(dave.received('users'), [[user2(alice), user2(bob), user2(carol, false), user2(dave)]]);

      // bob -> alice reaches both of alice's tabs; alice -> bob reaches bob and alice's other tab.
      bob.socket.emit('private message', { content: 'hello alice', to: alice.userID });
      const m1 = { content: 'hello alice', from: bob.userID, to: alice.userID };
      for (const c of [alice, alice2]) assert.deepEqual(await waitEvent(c, 'private message'), m1);
      alice.socket.emit('private message', { content: { rich: [1, 'two'] }, to: bob.userID });
      const m2 = { content: { rich: [1, 'two'] }, from: alice.userID, to: bob.userID };
      assert.deepEqual(await waitEvent(bob, 'private message'), m2);
      assert.deepEqual(await waitEvent(alice2, 'private message', (m) => m.from === alice.userID), m2);
      // to oneself: only the other tab.
      alice.socket.emit('private message', { content: 'note to self', to: alice.userID });
      await waitEvent(alice2, 'private message', (m) => m.content === 'note to self');
      // Bad payloads are ignored (no `to` string); the server keeps relaying.
      for (const bad of [null, 'text', { content: 'no to' }, { content: 'x', to: 42 }, { content: 'x', to: [bob.userID] }]) {
        bob.socket.emit('private message', bad);
      }
      bob.socket.emit('private message', { content: 'after the bad ones', to: alice.userID });
      await waitEvent(alice, 'private message', (m) => m.content === 'after the bad ones');
      assert.deepEqual(alice.received('private message').map((m) => m.content), ['hello alice', 'after the bad ones']);
      assert.deepEqual(bob.received('private message').map((m) => m.content), [{ rich: [1, 'two'] }]);
      assert.equal(dave.received('private message').length, 0);

      // alice closes one tab: nobody hears of it; the other: everybody does, once.
      alice.socket.disconnect();
      bob.socket.emit('private message', { content: 'ping', to: alice.userID });
      await waitEvent(alice2, 'private message', (m) => m.content === 'ping');
      assert.equal(bob.received('user disconnected').filter((id) => id === alice.userID).length, 0);
      alice2.socket.disconnect();
      for (const c of [bob, dave]) await waitEvent(c, 'user disconnected', (id) => id === alice.userID);

      // She comes back with her sessionID: same user, online again.
      const alice3 = await user({ sessionID: alice.sessionID });
      alice3.name = 'alice';
      assert.equal(alice3.userID, alice.userID);
      assert.deepEqual(alice3.received('users'), [[user2(alice), user2(bob), user2(carol, false), user2(dave)]]);
      assert.deepEqual(bob.received('user disconnected').filter((id) => id === alice.userID), [alice.userID]);
    });

    it('connect_error "invalid username" for a missing name or an unknown session', async () => {
      for (const auth of [undefined, {}, { username: '' }, { sessionID: 'nope' }, { sessionID: 42 }, { sessionID: '' }]) {
        const c = chatClient(server.url, auth, mix.opts);
        clients.push(c);
        const err = await connectExpectingError(c.socket);
        assert.equal(err.message, 'invalid username', JSON.stringify(auth));
      }
      // An unknown sessionID with a username: a new session.
      const c = chatClient(server.url, { sessionID: '0123456789abcdef', username: 'erin' }, mix.opts);
      clients.push(c);
      await connect(c.socket);
      await waitEvent(c, 'users');
      assert.notEqual(c.sessionID, '0123456789abcdef');
    });
  });
}

describe('part 2 keeps sessions in memory only', () => {
  it('after a restart the old sessionID is unknown: "invalid username"', async () => {
    let server = await startServer(SIO_CHAT2);
    const alice = await join(server.url, { username: 'alice' });
    alice.socket.disconnect();
    assert.equal(await server.stop(), 0);
    server = await startServer(SIO_CHAT2);
    try {
      const again = chatClient(server.url, { sessionID: alice.sessionID });
      assert.equal((await connectExpectingError(again.socket)).message, 'invalid username');
    } finally {
      assert.equal(await server.stop(), 0, server.output());
    }
  });
});
