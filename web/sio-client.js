// SPDX-License-Identifier: MIT
// sio-client.js -- a small Socket.IO v4 client, written to be read.
//
// It speaks the client side of the protocol that sio (and Node's socket.io) serves, over a
// WebSocket only (no long-polling, no upgrade), with text packets only (no binary):
//
//   Engine.IO v4, one packet per WebSocket message, the first character is the type:
//     0 open     server -> client  {"sid","upgrades","pingInterval","pingTimeout","maxPayload"}
//     1 close    either way        the session is over
//     2 ping     server -> client  answer with 3 within pingTimeout, or the server hangs up
//     3 pong     client -> server
//     4 message  either way        carries one Socket.IO packet (below)
//
//   Socket.IO v5, inside an Engine.IO message ("4..."), on the namespace "/" (no prefix needed):
//     0 CONNECT        client: 0{auth}           server: 0{"sid":"<socket id>"}
//     1 DISCONNECT     either way: the socket leaves the namespace
//     2 EVENT          2["event",arg1,...]      (or 2<ackId>[...] when an answer is wanted)
//     3 ACK            3<ackId>[reply,...]
//     4 CONNECT_ERROR  server: 4{"message":"..."} (the middleware said no)
//
// So `socket.emit("private message", {content: "hi", to: "x"})` becomes the WebSocket text
// 42["private message",{"content":"hi","to":"x"}].
//
// The API copies the stock socket.io-client for what the chat page needs: io(url, opts),
// socket.auth, connect(), disconnect(), emit(event, ...args[, ackCallback]), on(event, fn),
// off(event, fn), onAny(fn), connected, id, and the events "connect", "connect_error",
// "disconnect". Like the stock client it reconnects by itself after a lost connection (with
// exponential backoff and jitter) and sends CONNECT again with the current socket.auth; it does
// not retry after a CONNECT_ERROR (the application decides), nor after disconnect().

const EIO = { OPEN: '0', CLOSE: '1', PING: '2', PONG: '3', MESSAGE: '4' };
const SIO = { CONNECT: '0', DISCONNECT: '1', EVENT: '2', ACK: '3', CONNECT_ERROR: '4' };

// Events the library emits itself; the server may not use these names.
const RESERVED = new Set(['connect', 'connect_error', 'disconnect']);

export class Socket {
  // url: the server, e.g. "http://localhost:3000" (default: the page's own origin).
  // opts: autoConnect (true), path ("/socket.io/"), reconnection (true),
  //       reconnectionDelay (1000 ms), reconnectionDelayMax (5000 ms), randomizationFactor (0.5).
  constructor(url, opts = {}) {
    this.url = url || window.location.origin;
    this.opts = {
      autoConnect: true, path: '/socket.io/', reconnection: true,
      reconnectionDelay: 1000, reconnectionDelayMax: 5000, randomizationFactor: 0.5, ...opts,
    };
    this.auth = opts.auth;   // sent with every CONNECT; the application may change it
    this.id = undefined;     // the socket id from the CONNECT reply
    this.connected = false;  // true between "connect" and "disconnect"
    this.handlers = new Map(); // event name -> [functions]
    this.anyHandlers = [];   // onAny() listeners
    this.sendBuffer = [];    // packets emitted while disconnected, sent on connect
    this.acks = new Map();   // ack id -> callback
    this.nextAckId = 0;
    this.ws = null;          // the current WebSocket
    this.attempts = 0;       // failed reconnection attempts in a row (for the backoff)
    this.wanted = false;     // true from connect() until disconnect() or a CONNECT_ERROR
    this.pingTimer = null;   // fires when the server has been silent for too long
    this.retryTimer = null;  // the next reconnection attempt
    if (this.opts.autoConnect) this.connect();
  }

  // ---- The application's side ----

  on(event, fn) {
    if (!this.handlers.has(event)) this.handlers.set(event, []);
    this.handlers.get(event).push(fn);
    return this;
  }

  off(event, fn) {
    const list = this.handlers.get(event) || [];
    this.handlers.set(event, fn ? list.filter((f) => f !== fn) : []);
    return this;
  }

  onAny(fn) {
    this.anyHandlers.push(fn);
    return this;
  }

  // Sends an event. A function as the last argument asks the server for an acknowledgement and
  // is called with the server's reply.
  emit(event, ...args) {
    if (RESERVED.has(event)) throw new Error(`"${event}" is a reserved event name`);
    let id = '';
    if (typeof args[args.length - 1] === 'function') {
      id = String(this.nextAckId++);
      this.acks.set(id, args.pop());
    }
    const packet = EIO.MESSAGE + SIO.EVENT + id + JSON.stringify([event, ...args]);
    if (this.connected) this.ws.send(packet);
    else this.sendBuffer.push(packet); // as the stock client: delivered once connected
    return this;
  }

  // Opens the connection (or does nothing if it is already open or opening).
  connect() {
    this.wanted = true;
    clearTimeout(this.retryTimer);
    if (!this.ws) this.open();
    return this;
  }

  // Leaves for good: DISCONNECT, then close; no reconnection.
  disconnect() {
    this.wanted = false;
    clearTimeout(this.retryTimer);
    if (this.ws) {
      if (this.connected) this.send(EIO.MESSAGE + SIO.DISCONNECT);
      this.send(EIO.CLOSE);
      this.closeTransport('io client disconnect');
    }
    return this;
  }

  // ---- Engine.IO: the WebSocket and the heartbeat ----

  open() {
    const u = new URL(this.opts.path, this.url);
    u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
    u.search = '?EIO=4&transport=websocket';
    const ws = new WebSocket(u.href);
    this.ws = ws;
    ws.onmessage = (e) => { if (this.ws === ws) this.onEnginePacket(String(e.data)); };
    ws.onclose = () => { if (this.ws === ws) this.closeTransport('transport close'); };
    ws.onerror = () => { /* onclose follows and does the work */ };
  }

  send(text) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(text);
  }

  onEnginePacket(data) {
    const type = data[0];
    const body = data.slice(1);
    if (type === EIO.OPEN) {
      const open = JSON.parse(body);
      this.pingDeadline = open.pingInterval + open.pingTimeout; // the server pings us, not the reverse
      this.armPing();
      // Join the namespace "/": 40 followed by the auth object, if there is one.
      this.send(EIO.MESSAGE + SIO.CONNECT + (this.auth ? JSON.stringify(this.auth) : ''));
    } else if (type === EIO.PING) {
      this.armPing();
      this.send(EIO.PONG);
    } else if (type === EIO.CLOSE) {
      this.closeTransport('transport close');
    } else if (type === EIO.MESSAGE) {
      this.onSocketPacket(body);
    }
  }

  // If no ping arrives within pingInterval + pingTimeout, the connection is dead.
  armPing() {
    clearTimeout(this.pingTimer);
    this.pingTimer = setTimeout(() => this.closeTransport('ping timeout'), this.pingDeadline);
  }

  // The WebSocket is gone (or must go): tell the application, and reconnect if it still wants.
  closeTransport(reason) {
    const ws = this.ws;
    this.ws = null;
    clearTimeout(this.pingTimer);
    if (ws) {
      ws.onmessage = ws.onclose = ws.onerror = null;
      try { ws.close(); } catch { /* already closed */ }
    }
    const wasConnected = this.connected;
    this.connected = false;
    this.id = undefined;
    if (wasConnected) this.fire('disconnect', reason);
    else if (this.wanted && reason !== 'io client disconnect') this.fire('connect_error', new Error('websocket error'));
    if (this.wanted && this.opts.reconnection) this.scheduleReconnect();
  }

  // Exponential backoff: reconnectionDelay * 2^attempts, capped, +/- randomizationFactor.
  scheduleReconnect() {
    const { reconnectionDelay: base, reconnectionDelayMax: max, randomizationFactor: jitter } = this.opts;
    let delay = Math.min(max, base * 2 ** this.attempts);
    delay += (Math.random() * 2 - 1) * jitter * delay;
    this.attempts++;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => { if (this.wanted && !this.ws) this.open(); }, Math.min(max, delay));
  }

  // ---- Socket.IO: packets on the namespace "/" ----

  onSocketPacket(p) {
    const type = p[0];
    let i = 1;
    if (p[i] === '/') { // another namespace ("/admin,..."): not ours
      return;
    }
    let ackId = '';
    while (i < p.length && p[i] >= '0' && p[i] <= '9') ackId += p[i++];
    const json = p.length > i ? JSON.parse(p.slice(i)) : undefined;
    if (type === SIO.CONNECT) {
      this.id = json.sid;
      this.connected = true;
      this.attempts = 0;
      this.fire('connect');
      for (const packet of this.sendBuffer.splice(0)) this.ws.send(packet);
    } else if (type === SIO.CONNECT_ERROR) {
      // The middleware refused us. Like the stock client: no retry, the session is closed, and
      // the application decides what to do (e.g. ask for another username).
      this.wanted = false;
      const err = new Error(json && json.message);
      if (json && json.data !== undefined) err.data = json.data;
      this.send(EIO.CLOSE);
      this.closeTransport('io client disconnect');
      this.fire('connect_error', err);
    } else if (type === SIO.EVENT) {
      const [event, ...args] = json;
      if (ackId) args.push((...reply) => this.send(EIO.MESSAGE + SIO.ACK + ackId + JSON.stringify(reply)));
      for (const fn of this.anyHandlers) fn(event, ...args);
      this.fire(event, ...args);
    } else if (type === SIO.ACK) {
      const fn = this.acks.get(ackId);
      this.acks.delete(ackId);
      if (fn) fn(...json);
    } else if (type === SIO.DISCONNECT) {
      this.wanted = false; // the server sent us away: do not come back by ourselves
      this.closeTransport('io server disconnect');
    }
  }

  fire(event, ...args) {
    for (const fn of [...(this.handlers.get(event) || [])]) fn(...args);
  }
}

// Same shape as the stock client's entry point: const socket = io(url, { autoConnect: false }).
export function io(url, opts) {
  return new Socket(url, opts);
}
