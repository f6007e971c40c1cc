// SPDX-License-Identifier: MIT
// Helpers shared by the tests of the tutorial's chat, parts 2 and 3 (chat-part2, chat-part3,
// store, browser): a stock socket.io-client user that behaves like the tutorial's front-end
// (sessionID kept and sent again on reconnection), raw-WebSocket users for byte-exact checks,
// temp directories and free ports.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { io } from 'socket.io-client';
import { until } from './helpers.mjs';
import { EioSocket } from './rawlib.mjs';

// The three ways the stock client can talk to the server.
export const TRANSPORT_MIXES = [
  { name: 'polling then upgrade (default)', opts: {} },
  { name: 'websocket only', opts: { transports: ['websocket'] } },
  { name: 'polling only', opts: { transports: ['polling'], upgrade: false } },
];

export const HEX16 = /^[0-9a-f]{16}$/;

// A chat user as the tutorial's front-end makes it: autoConnect false, socket.auth, connect().
// On "session" it does what App.vue does: socket.auth = { sessionID }, so that a reconnection
// restores the same user. Every received event is recorded in `events` as [name, arg].
export function chatClient(url, auth, opts = {}) {
  const socket = io(url, { forceNew: true, reconnection: false, autoConnect: false, ...opts });
  const events = [];
  socket.onAny((event, ...args) => events.push([event, ...args]));
  const client = {
    socket,
    events,
    name: auth?.username ?? auth?.sessionID ?? 'anonymous',
    sessionID: undefined,
    userID: undefined,
    received: (event) => events.filter(([e]) => e === event).map(([, arg]) => arg),
    // Forget what was received so far (e.g. before a reconnection).
    clear: () => { events.length = 0; },
  };
  socket.on('session', ({ sessionID, userID }) => {
    socket.auth = { sessionID };
    client.sessionID = sessionID;
    client.userID = userID;
  });
  socket.auth = auth;
  return client;
}

// Calls connect() and resolves on `connect`; rejects with the message of a `connect_error`.
export function connect(socket, timeoutMs = 10000) {
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
export function connectExpectingError(socket, timeoutMs = 10000) {
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

// Connects a chat user and waits for its `session` and `users` events.
export async function join(url, auth, opts = {}) {
  const c = chatClient(url, auth, opts);
  await connect(c.socket);
  await waitEvent(c, 'users');
  return c;
}

// Resolves with the argument of the first recorded `event` (past or future) that matches `pred`.
export async function waitEvent(client, event, pred = () => true, timeoutMs = 5000) {
  let hit;
  await until(() => (hit = client.events.find(([e, arg]) => e === event && pred(arg))), timeoutMs,
    `${client.name}: "${event}"`);
  return hit[1];
}

export function closeAll(clients) {
  for (const c of clients) c.socket.disconnect();
}

// A user entry of a part-2 `users` list / `user connected` event.
export const user2 = (c, connected = true) => ({ userID: c.userID, username: c.name, connected });

// A port nobody listens on right now (for restarts on a fixed port).
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// A new temporary directory (removed by rmTemp).
export const tempDir = (prefix = 'sio-chat-') => fs.mkdtempSync(path.join(os.tmpdir(), prefix));
export const rmTemp = (dir) => { if (dir) fs.rmSync(dir, { recursive: true, force: true }); };

// A raw WebSocket user for byte-exact checks: connects, sends 40<auth>, checks the CONNECT reply.
// Resolves to { eio, sid } (eio.next() reads the next packet as text).
export async function rawUser(port, auth) {
  const eio = await EioSocket.connect(port);
  eio.send(`40${auth}`);
  const reply = await eio.next();
  const m = reply.match(/^40\{"sid":"([A-Za-z0-9_-]{20})"\}$/);
  if (!m) throw new Error(`CONNECT reply expected, got "${reply}"`);
  return { eio, sid: m[1] };
}

// Reads the `session` packet of a raw user and returns { sessionID, userID } (and checks its bytes).
export async function rawSession(eio) {
  const text = await eio.next();
  const m = text.match(/^42\["session",\{"sessionID":"([0-9a-f]{16})","userID":"([0-9a-f]{16})"\}\]$/);
  if (!m) throw new Error(`session event expected, got "${text}"`);
  return { sessionID: m[1], userID: m[2] };
}
