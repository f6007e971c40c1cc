// SPDX-License-Identifier: MIT
// The tutorial's part-4 server in Node, as private-messaging.md part IV describes it: the chat of
// part 3 with its session and message stores in Redis (RedisSessionStore, RedisMessageStore) and
// the Redis adapter. tests/e2e/chat-part4.test.mjs runs it beside ./sio-server --redis to check
// that the two share users, sessions and history through one Redis.
// (The tutorial uses ioredis and socket.io-redis; this fixture uses node-redis v4 and
// @socket.io/redis-adapter 8, already installed for the adapter tests: the Redis commands and
// keys are the same.)
//
// Usage: node tutorial-part4.js PORT REDIS_URL     (PORT 0 = any free port)
// Prints "listening on http://127.0.0.1:PORT" on stderr once it is subscribed.
'use strict';
const crypto = require('node:crypto');
const http = require('node:http');
const { Server } = require('socket.io');
const { createAdapter } = require('@socket.io/redis-adapter');
const { createClient } = require('redis');

const port = Number(process.argv[2] || 0);
const redisUrl = process.argv[3] || 'redis://127.0.0.1:6379';
const SESSION_TTL = 24 * 60 * 60;
const randomId = () => crypto.randomBytes(8).toString('hex');

class RedisSessionStore {
  constructor(client) { this.client = client; }
  async findSession(id) {
    const [userID, username, connected] = await this.client.hmGet(`session:${id}`, ['userID', 'username', 'connected']);
    return userID ? { userID, username, connected: connected === 'true' } : undefined;
  }
  saveSession(id, { userID, username, connected }) {
    this.client.multi()
      .hSet(`session:${id}`, { userID, username: String(username), connected: String(connected) })
      .expire(`session:${id}`, SESSION_TTL)
      .exec();
  }
  async findAllSessions() {
    const keys = new Set();
    let cursor = 0;
    do {
      const r = await this.client.scan(cursor, { MATCH: 'session:*', COUNT: 100 });
      cursor = Number(r.cursor);
      r.keys.forEach((k) => keys.add(k));
    } while (cursor !== 0);
    const multi = this.client.multi();
    for (const k of keys) multi.hmGet(k, ['userID', 'username', 'connected']);
    const results = keys.size ? await multi.exec() : [];
    return results
      .filter(([userID]) => userID)
      .map(([userID, username, connected]) => ({ userID, username, connected: connected === 'true' }));
  }
}

class RedisMessageStore {
  constructor(client) { this.client = client; }
  saveMessage(message) {
    const value = JSON.stringify(message);
    this.client.multi()
      .rPush(`messages:${message.from}`, value)
      .rPush(`messages:${message.to}`, value)
      .expire(`messages:${message.from}`, SESSION_TTL)
      .expire(`messages:${message.to}`, SESSION_TTL)
      .exec();
  }
  async findMessagesForUser(userID) {
    const results = await this.client.lRange(`messages:${userID}`, 0, -1);
    return results.map((r) => JSON.parse(r));
  }
}

async function main() {
  const client = createClient({ url: redisUrl });
  const sub = client.duplicate();
  client.on('error', (e) => process.stderr.write(`tutorial: redis error ${e && e.message}\n`));
  sub.on('error', () => {});
  await Promise.all([client.connect(), sub.connect()]);
  const sessionStore = new RedisSessionStore(client);
  const messageStore = new RedisMessageStore(client);

  const httpServer = http.createServer();
  const io = new Server(httpServer, { adapter: createAdapter(client, sub, { requestsTimeout: 5000 }) });

  io.use(async (socket, next) => {
    const sessionID = socket.handshake.auth.sessionID;
    if (sessionID) {
      const session = await sessionStore.findSession(sessionID);
      if (session) {
        socket.sessionID = sessionID;
        socket.userID = session.userID;
        socket.username = session.username;
        return next();
      }
    }
    const username = socket.handshake.auth.username;
    if (!username) return next(new Error('invalid username'));
    socket.sessionID = randomId();
    socket.userID = randomId();
    socket.username = username;
    next();
  });

  io.on('connection', async (socket) => {
    sessionStore.saveSession(socket.sessionID, { userID: socket.userID, username: socket.username, connected: true });
    socket.emit('session', { sessionID: socket.sessionID, userID: socket.userID });
    socket.join(socket.userID);

    const users = [];
    const [messages, sessions] = await Promise.all([
      messageStore.findMessagesForUser(socket.userID),
      sessionStore.findAllSessions(),
    ]);
    const messagesPerUser = new Map();
    messages.forEach((message) => {
      const { from, to } = message;
      const otherUser = socket.userID === from ? to : from;
      if (messagesPerUser.has(otherUser)) messagesPerUser.get(otherUser).push(message);
      else messagesPerUser.set(otherUser, [message]);
    });
    sessions.forEach((session) => {
      users.push({
        userID: session.userID,
        username: session.username,
        connected: session.connected,
        messages: messagesPerUser.get(session.userID) || [],
      });
    });
    socket.emit('users', users);

    socket.broadcast.emit('user connected', { userID: socket.userID, username: socket.username, connected: true, messages: [] });

    socket.on('private message', ({ content, to }) => {
      const message = { content, from: socket.userID, to };
      socket.to(to).to(socket.userID).emit('private message', message);
      messageStore.saveMessage(message);
    });

    socket.on('disconnect', async () => {
      const matchingSockets = await io.in(socket.userID).allSockets();
      const isDisconnected = matchingSockets.size === 0;
      if (isDisconnected) {
        socket.broadcast.emit('user disconnected', socket.userID);
        sessionStore.saveSession(socket.sessionID, { userID: socket.userID, username: socket.username, connected: false });
      }
    });
  });

  httpServer.listen(port, '127.0.0.1', () => {
    process.stderr.write(`listening on http://127.0.0.1:${httpServer.address().port}\n`);
  });
  const stop = () => { io.close(); Promise.allSettled([client.quit(), sub.quit()]).finally(() => process.exit(0)); };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((e) => { process.stderr.write(`tutorial: ${e && e.stack}\n`); process.exit(1); });
