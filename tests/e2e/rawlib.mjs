// SPDX-License-Identifier: MIT
// rawlib.mjs -- byte-exact clients for the raw end-to-end tests: HTTP/1.1 over node:net, RFC 6455
// WebSocket frames built and parsed by hand, and thin Engine.IO helpers (polling and WebSocket).
// Only node:net and node:crypto are used, so the tests see exactly the bytes the server sends and
// can send exactly the bytes they want (including broken ones). Every wait has a timeout.
import net from 'node:net';
import crypto from 'node:crypto';

export const RS = '\x1e'; // Engine.IO polling packet separator (ASCII record separator)
export const SID_RE = /^[A-Za-z0-9_-]{20}$/; // Engine.IO sid and Socket.IO socket id (A3)
export const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
export const RFC_KEY = 'dGhlIHNhbXBsZSBub25jZQ=='; // RFC 6455 §1.3 sample key
export const RFC_ACCEPT = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo='; // ... and its Sec-WebSocket-Accept

// Engine.IO error bodies (protocol.md A2), exact bytes.
export const EIO_ERRORS = {
  0: '{"code":0,"message":"Transport unknown"}',
  1: '{"code":1,"message":"Session ID unknown"}',
  2: '{"code":2,"message":"Bad handshake method"}',
  3: '{"code":3,"message":"Bad request"}',
  4: '{"code":4,"message":"Forbidden"}',
  5: '{"code":5,"message":"Unsupported protocol version"}',
};

export const EIO_PATH = '/socket.io/';
export const pollPath = (extra = '') => `${EIO_PATH}?EIO=4&transport=polling${extra}`;
export const wsPath = (extra = '') => `${EIO_PATH}?EIO=4&transport=websocket${extra}`;

// Lets the server's event loop pick up something we sent on another TCP connection when there is
// no observable answer to wait for (e.g. "a GET is now held"). Used sparingly, always commented.
export const settle = (ms = 100) => new Promise((r) => setTimeout(r, ms));

export function wsAccept(key) {
  return crypto.createHash('sha1').update(key + WS_GUID).digest('base64');
}

export function randomKey() {
  return crypto.randomBytes(16).toString('base64');
}

// Shows bytes readably in assertion messages: printable ASCII as is, the rest as \xNN.
export function show(bytes) {
  const b = Buffer.isBuffer(bytes) ? bytes : Buffer.from(String(bytes));
  let s = '';
  for (const c of b) s += c >= 0x20 && c < 0x7f && c !== 0x5c ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`;
  return s;
}

// ====== Raw TCP connection with a receive buffer ======

const liveConns = new Set(); // every RawConn not yet closed, for destroyAll()

// Destroys every connection the tests left open (call it in after(), before stopping the server).
export function destroyAll() {
  for (const c of liveConns) c.destroy();
}

// One TCP connection. Received bytes accumulate in `buf`; readers take() a prefix of it with a
// parser function `(buf, conn) => null | { value, used }` (null = need more bytes).
export class RawConn {
  constructor(socket) {
    this.socket = socket;
    this.buf = Buffer.alloc(0);
    this.ended = false; // peer sent FIN (or the socket closed)
    this.closed = false; // socket fully closed
    this.error = null;
    this.waiters = new Set();
    liveConns.add(this);
    socket.on('data', (d) => { this.buf = Buffer.concat([this.buf, d]); this.wake(); });
    socket.on('end', () => { this.ended = true; this.wake(); });
    socket.on('error', (e) => { this.error = e; this.ended = true; this.wake(); });
    socket.on('close', () => { liveConns.delete(this); this.closed = true; this.ended = true; this.wake(); });
  }

  static open(port, { host = '127.0.0.1', timeoutMs = 3000 } = {}) {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host });
      socket.setNoDelay(true);
      const timer = setTimeout(() => { socket.destroy(); reject(new Error(`connect to ${host}:${port} timed out`)); }, timeoutMs);
      socket.once('connect', () => { clearTimeout(timer); resolve(new RawConn(socket)); });
      socket.once('error', (e) => { clearTimeout(timer); reject(e); });
    });
  }

  wake() { for (const w of [...this.waiters]) w(); }

  write(data) {
    if (this.closed) return false;
    try { return this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data); } catch { return false; }
  }

  // Waits until parse() returns a value, consumes the bytes it used and returns the value.
  take(parse, timeoutMs, what) {
    return new Promise((resolve, reject) => {
      let timer;
      const done = (err, val) => { clearTimeout(timer); this.waiters.delete(check); err ? reject(err) : resolve(val); };
      const check = () => {
        let r;
        try { r = parse(this.buf, this); } catch (e) { done(e); return; }
        if (r) { this.buf = this.buf.subarray(r.used); done(null, r.value); return; }
        if (this.ended) done(new Error(`connection closed while waiting for ${what}; unparsed bytes: "${show(this.buf)}"`));
      };
      timer = setTimeout(() => done(new Error(`timeout (${timeoutMs} ms) waiting for ${what}; received so far: "${show(this.buf)}"`)), timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  // Resolves true once the peer has closed the connection (FIN or reset), false at the timeout.
  waitEnd(timeoutMs) {
    return new Promise((resolve) => {
      let timer;
      const check = () => { if (this.ended) { clearTimeout(timer); this.waiters.delete(check); resolve(true); } };
      timer = setTimeout(() => { this.waiters.delete(check); resolve(false); }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  // HTTP/1.1 response (see parseResponse). method: the request's method (HEAD has no body).
  readResponse({ timeoutMs = 3000, method = 'GET' } = {}) {
    return this.take((b, c) => parseResponse(b, { method, ended: c.ended }), timeoutMs, 'an HTTP response');
  }

  // n pipelined responses, in order.
  async readResponses(n, opts = {}) {
    const out = [];
    for (let i = 0; i < n; i++) out.push(await this.readResponse(opts));
    return out;
  }

  // One WebSocket frame from the server (see parseFrame).
  readFrame(timeoutMs = 3000) {
    return this.take((b) => parseFrame(b), timeoutMs, 'a WebSocket frame');
  }

  close() { this.socket.end(); }
  destroy() { this.socket.destroy(); }
}

// ====== HTTP/1.1 ======

// Builds exact request bytes. headers: array of [name, value] (order kept) or an object.
// Adds Host unless given (host: null omits it) and Content-Length when there is a body.
export function buildRequest({ method = 'GET', path = '/', headers = [], body = null, port = 0, host } = {}) {
  const list = Array.isArray(headers) ? [...headers] : Object.entries(headers);
  const has = (n) => list.some(([k]) => k.toLowerCase() === n);
  if (host !== null && !has('host')) list.unshift(['Host', host ?? `127.0.0.1:${port}`]);
  const bodyBuf = body == null ? null : Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
  if (bodyBuf && !has('content-length') && !has('transfer-encoding')) list.push(['Content-Length', String(bodyBuf.length)]);
  const head = `${method} ${path} HTTP/1.1\r\n${list.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
  return bodyBuf ? Buffer.concat([Buffer.from(head, 'latin1'), bodyBuf]) : Buffer.from(head, 'latin1');
}

// Parses one response at the start of buf. Returns null while incomplete, else
// { value: response, used }. A response is { status, reason, version, headers: [[name, value]...]
// (order and case as received), header(name) (first value, case-insensitive, or undefined),
// headerAll(name), body: Buffer, text: string, chunked: boolean, raw: Buffer (all its bytes) }.
// Bodies: none for 1xx/204/304 and HEAD; chunked; Content-Length; otherwise until the peer closes.
export function parseResponse(buf, { method = 'GET', ended = false } = {}) {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) {
    if (ended && buf.length) throw new Error(`truncated HTTP response head: "${show(buf)}"`);
    return null;
  }
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  const m = lines[0].match(/^(HTTP\/\d\.\d) (\d{3})(?: (.*))?$/);
  if (!m) throw new Error(`bad status line: "${show(lines[0])}"`);
  const headers = lines.slice(1).map((l) => {
    const i = l.indexOf(':');
    if (i <= 0) throw new Error(`bad header line: "${show(l)}"`);
    return [l.slice(0, i), l.slice(i + 1).trim()];
  });
  const res = {
    version: m[1], status: Number(m[2]), reason: m[3] ?? '', headers, chunked: false,
    header(n) { const h = headers.find(([k]) => k.toLowerCase() === n.toLowerCase()); return h && h[1]; },
    headerAll(n) { return headers.filter(([k]) => k.toLowerCase() === n.toLowerCase()).map(([, v]) => v); },
  };
  let pos = end + 4;
  const te = res.header('transfer-encoding');
  const cl = res.header('content-length');
  if ((res.status >= 100 && res.status < 200) || res.status === 204 || res.status === 304 || method === 'HEAD') {
    res.body = Buffer.alloc(0);
  } else if (te && /chunked/i.test(te)) {
    res.chunked = true;
    const parts = [];
    for (;;) {
      const le = buf.indexOf('\r\n', pos);
      if (le < 0) return null;
      const size = parseInt(buf.subarray(pos, le).toString('latin1').split(';')[0], 16);
      if (Number.isNaN(size)) throw new Error(`bad chunk size: "${show(buf.subarray(pos, le))}"`);
      if (size === 0) {
        // Trailer section: lines up to an empty line.
        let t = le + 2;
        for (;;) {
          const tl = buf.indexOf('\r\n', t);
          if (tl < 0) return null;
          if (tl === t) { pos = tl + 2; break; }
          t = tl + 2;
        }
        break;
      }
      if (buf.length < le + 2 + size + 2) return null;
      parts.push(buf.subarray(le + 2, le + 2 + size));
      pos = le + 2 + size + 2;
    }
    res.body = Buffer.concat(parts);
  } else if (cl !== undefined) {
    const n = Number(cl);
    if (!Number.isInteger(n) || n < 0) throw new Error(`bad Content-Length: "${cl}"`);
    if (buf.length < pos + n) return null;
    res.body = buf.subarray(pos, pos + n);
    pos += n;
  } else {
    if (!ended) return null; // body delimited by the connection close
    res.body = buf.subarray(pos);
    pos = buf.length;
  }
  res.body = Buffer.from(res.body);
  res.text = res.body.toString('utf8');
  res.raw = Buffer.from(buf.subarray(0, pos));
  return { value: res, used: pos };
}

// Sends one request on a new TCP connection and reads one response. The connection is then
// closed, unless keep: true (the response then has .conn). Returns the response.
export async function request(port, opts = {}) {
  const { timeoutMs = 3000, keep = false } = opts;
  const conn = await RawConn.open(port);
  try {
    conn.write(opts.raw ?? buildRequest({ port, ...opts }));
    const res = await conn.readResponse({ timeoutMs, method: opts.method ?? 'GET' });
    if (keep) res.conn = conn;
    return res;
  } finally {
    if (!keep) conn.destroy();
  }
}

// ====== WebSocket (RFC 6455) ======

export const OP = { CONT: 0x0, TEXT: 0x1, BINARY: 0x2, CLOSE: 0x8, PING: 0x9, PONG: 0xa };

// Encodes one frame. payload: string (UTF-8) or Buffer. mask: true (random key, the client's
// duty), false (unmasked: an error test), or a 4-byte Buffer. rsv: 3-bit value (RSV1 = 4).
// length: lie about the payload length in the header (the real payload is still appended).
// len64: force the 8-byte length form.
export function encodeFrame({ opcode = OP.TEXT, payload = Buffer.alloc(0), fin = true, rsv = 0, mask = true, length, len64 = false } = {}) {
  const data = Buffer.isBuffer(payload) ? payload : Buffer.from(payload, 'utf8');
  const len = length ?? data.length;
  const head = [((fin ? 0x80 : 0) | ((rsv & 7) << 4) | (opcode & 0x0f))];
  const maskBit = mask ? 0x80 : 0;
  let ext;
  if (len < 126 && !len64) { head.push(maskBit | len); ext = Buffer.alloc(0); }
  else if (len < 0x10000 && !len64) { head.push(maskBit | 126); ext = Buffer.alloc(2); ext.writeUInt16BE(len); }
  else { head.push(maskBit | 127); ext = Buffer.alloc(8); ext.writeBigUInt64BE(BigInt(len)); }
  if (!mask) return Buffer.concat([Buffer.from(head), ext, data]);
  const key = Buffer.isBuffer(mask) ? mask : crypto.randomBytes(4);
  const masked = Buffer.alloc(data.length);
  for (let i = 0; i < data.length; i++) masked[i] = data[i] ^ key[i & 3];
  return Buffer.concat([Buffer.from(head), ext, key, masked]);
}

// Close frame payload: 2-byte code + UTF-8 reason; code undefined = empty payload.
export function closePayload(code, reason = '') {
  if (code === undefined) return Buffer.alloc(0);
  const b = Buffer.alloc(2);
  b.writeUInt16BE(code);
  return Buffer.concat([b, Buffer.isBuffer(reason) ? reason : Buffer.from(reason, 'utf8')]);
}

// Parses one server frame. Returns null while incomplete, else { value: frame, used }.
// frame = { fin, rsv, opcode, masked, payload: Buffer, text (for text/close), code/reason (close;
// code 1005 when the payload is empty, as a peer reports it), raw: Buffer }.
// Server frames must be unmasked (RFC 6455 §5.1): a masked one throws.
export function parseFrame(buf) {
  if (buf.length < 2) return null;
  const fin = (buf[0] & 0x80) !== 0;
  const rsv = (buf[0] >> 4) & 7;
  const opcode = buf[0] & 0x0f;
  const masked = (buf[1] & 0x80) !== 0;
  let len = buf[1] & 0x7f;
  let pos = 2;
  if (len === 126) { if (buf.length < 4) return null; len = buf.readUInt16BE(2); pos = 4; }
  else if (len === 127) { if (buf.length < 10) return null; len = Number(buf.readBigUInt64BE(2)); pos = 10; }
  if (masked) throw new Error(`server sent a masked frame (RFC 6455 §5.1 forbids it): "${show(buf.subarray(0, 16))}"`);
  if (buf.length < pos + len) return null;
  const payload = Buffer.from(buf.subarray(pos, pos + len));
  const frame = { fin, rsv, opcode, masked, payload, raw: Buffer.from(buf.subarray(0, pos + len)) };
  if (opcode === OP.TEXT) frame.text = payload.toString('utf8');
  if (opcode === OP.CLOSE) {
    frame.code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
    frame.reason = payload.length > 2 ? payload.subarray(2).toString('utf8') : '';
  }
  return { value: frame, used: pos + len };
}

// Upgrade request bytes (the stock Node client's headers, A8). Extra headers appended in order.
export function upgradeRequest({ port, path = wsPath(), key = RFC_KEY, headers = [], version = '13' } = {}) {
  return buildRequest({
    port, path,
    headers: [['Connection', 'Upgrade'], ['Upgrade', 'websocket'], ['Sec-WebSocket-Version', version], ['Sec-WebSocket-Key', key], ...headers],
  });
}

// A WebSocket client connection over RawConn.
export class RawWebSocket {
  constructor(conn, response) {
    this.conn = conn;
    this.response = response; // the 101 (or whatever the server answered)
  }

  // Opens TCP, sends the upgrade request and reads the response. Resolves to a RawWebSocket even
  // when the answer is not 101 (check ws.response.status); `after` bytes are written in the same
  // write as the request (frames glued to the upgrade).
  static async connect(port, { path = wsPath(), key = RFC_KEY, headers = [], after = null, timeoutMs = 3000 } = {}) {
    const conn = await RawConn.open(port);
    const req = upgradeRequest({ port, path, key, headers });
    conn.write(after ? Buffer.concat([req, after]) : req);
    const res = await conn.readResponse({ timeoutMs });
    return new RawWebSocket(conn, res);
  }

  sendFrame(opts) { return this.conn.write(encodeFrame(opts)); }
  sendText(text, opts = {}) { return this.sendFrame({ ...opts, opcode: OP.TEXT, payload: text }); }
  sendBinary(bytes, opts = {}) { return this.sendFrame({ ...opts, opcode: OP.BINARY, payload: Buffer.from(bytes) }); }
  sendPing(payload = '') { return this.sendFrame({ opcode: OP.PING, payload }); }
  sendClose(code, reason = '') { return this.sendFrame({ opcode: OP.CLOSE, payload: closePayload(code, reason) }); }
  readFrame(timeoutMs = 3000) { return this.conn.readFrame(timeoutMs); }

  // Reads frames until a close frame or the end of TCP. Resolves to { frames (everything read
  // before, close frame excluded), close (the close frame or null), tcpClosed }. Rejects at the
  // timeout. onFrame(frame) may answer frames on the way (e.g. Engine.IO pings).
  async waitClose(timeoutMs = 3000, onFrame = null) {
    const frames = [];
    const end = Date.now() + timeoutMs;
    for (;;) {
      const left = end - Date.now();
      if (left <= 0) throw new Error(`timeout (${timeoutMs} ms) waiting for the server to close; frames: ${JSON.stringify(frames.map(describeFrame))}`);
      let f;
      try { f = await this.conn.readFrame(left); } catch (e) {
        if (this.conn.ended && !/masked/.test(e.message)) return { frames, close: null, tcpClosed: true, rest: show(this.conn.buf) };
        throw e;
      }
      if (f.opcode === OP.CLOSE) return { frames, close: f, tcpClosed: this.conn.ended };
      frames.push(f);
      if (onFrame) onFrame(f);
    }
  }

  close() { this.conn.close(); }
  destroy() { this.conn.destroy(); }
}

export function describeFrame(f) {
  if (f.opcode === OP.TEXT) return `text "${show(f.payload)}"`;
  if (f.opcode === OP.BINARY) return `binary ${f.payload.toString('hex')}`;
  if (f.opcode === OP.CLOSE) return `close ${f.code} "${f.reason}"`;
  return `opcode ${f.opcode} "${show(f.payload)}"`;
}

// ====== Engine.IO over WebSocket ======

// An Engine.IO session on a raw WebSocket. next() returns the next Engine.IO packet: a string for
// a text frame, a Buffer for a binary frame. Server pings (`2`) are answered with `3` and skipped
// unless autoPong is false. Frames must be whole (FIN set, no RSV bits): anything else throws.
export class EioSocket {
  constructor(ws, { autoPong = true } = {}) {
    this.ws = ws;
    this.autoPong = autoPong;
    this.pings = 0; // pings seen (and answered when autoPong)
  }

  // WebSocket handshake without sid; checks the 101 and reads the open packet.
  // Resolves to an EioSocket with .open (parsed JSON) and .openText (exact text).
  static async connect(port, { path = wsPath(), key, autoPong = true, timeoutMs = 3000 } = {}) {
    const ws = await RawWebSocket.connect(port, { path, key: key ?? randomKey(), timeoutMs });
    if (ws.response.status !== 101) {
      ws.destroy();
      throw new Error(`WebSocket handshake answered ${ws.response.status}: "${show(ws.response.raw)}"`);
    }
    const eio = new EioSocket(ws, { autoPong });
    const first = await eio.frame(timeoutMs);
    if (typeof first !== 'string' || first[0] !== '0') throw new Error(`first packet is not an open packet: "${show(first)}"`);
    eio.openText = first;
    eio.open = JSON.parse(first.slice(1));
    eio.sid = eio.open.sid;
    return eio;
  }

  async frame(timeoutMs) {
    const f = await this.ws.readFrame(timeoutMs);
    if (f.opcode === OP.CLOSE) throw new Error(`server closed the WebSocket (${f.code} "${f.reason}") while a packet was expected`);
    if (!f.fin || f.rsv) throw new Error(`unexpected frame flags: ${describeFrame(f)} fin=${f.fin} rsv=${f.rsv}`);
    if (f.opcode === OP.TEXT) return f.text;
    if (f.opcode === OP.BINARY) return f.payload;
    throw new Error(`unexpected frame: ${describeFrame(f)}`);
  }

  async next(timeoutMs = 3000) {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const p = await this.frame(Math.max(1, end - Date.now()));
      if (p === '2' && this.autoPong) { this.pings++; this.send('3'); continue; }
      return p;
    }
  }

  // Sends a text packet (string) or a binary message (Buffer / array of bytes).
  send(packet) {
    return typeof packet === 'string' ? this.ws.sendText(packet) : this.ws.sendBinary(packet);
  }

  // Server close (close frame or TCP close) within timeoutMs, answering pings meanwhile.
  // Resolves to { packets (Engine.IO packets seen before, pings excluded), close, tcpClosed }.
  async waitClose(timeoutMs = 3000) {
    const r = await this.ws.waitClose(timeoutMs, (f) => {
      if (this.autoPong && f.opcode === OP.TEXT && f.text === '2') { this.pings++; this.send('3'); }
    });
    const packets = r.frames.filter((f) => !(f.opcode === OP.TEXT && f.text === '2'))
      .map((f) => (f.opcode === OP.TEXT ? f.text : f.payload));
    return { ...r, packets };
  }

  close() { this.ws.close(); }
  destroy() { this.ws.destroy(); }
}

// ====== Engine.IO over HTTP long-polling ======

export function splitPayload(body) {
  const s = Buffer.isBuffer(body) ? body.toString('utf8') : body;
  return s === '' ? [] : s.split(RS);
}

// A polling session: every request goes on its own TCP connection (like a browser's parallel
// connections), so a held GET never blocks a POST.
export class Polling {
  constructor(port, { path = EIO_PATH, headers = [] } = {}) {
    this.port = port;
    this.base = path;
    this.headers = headers;
    this.sid = null;
  }

  url() {
    const t = crypto.randomBytes(6).toString('base64url').slice(0, 8);
    return `${this.base}?EIO=4&transport=polling&t=${t}${this.sid ? `&sid=${this.sid}` : ''}`;
  }

  // Handshake GET. Resolves to the response, with .open (parsed JSON); sets this.sid.
  async handshake({ timeoutMs = 3000 } = {}) {
    const res = await request(this.port, { path: this.url(), headers: this.headers, timeoutMs });
    if (res.status !== 200 || res.text[0] !== '0') throw new Error(`handshake failed: "${show(res.raw)}"`);
    res.open = JSON.parse(res.text.slice(1));
    this.sid = res.open.sid;
    return res;
  }

  // GET (receive). Resolves to the response, with .packets (body split on \x1e).
  async get({ timeoutMs = 3000 } = {}) {
    const res = await request(this.port, { path: this.url(), headers: this.headers, timeoutMs });
    res.packets = res.status === 200 ? splitPayload(res.body) : [];
    return res;
  }

  // POST (send). body: a string, or an array of packets joined with \x1e.
  post(body, { timeoutMs = 3000, headers = [] } = {}) {
    const text = Array.isArray(body) ? body.join(RS) : body;
    return request(this.port, {
      method: 'POST', path: this.url(), body: text, timeoutMs,
      headers: [...this.headers, ['Content-Type', 'text/plain;charset=UTF-8'], ...headers],
    });
  }

  // GETs until `count` packets other than pings have arrived (answering each ping with a POSTed
  // `3`), or rejects at the timeout. Resolves to the packets (strings).
  async collect(count, { timeoutMs = 3000 } = {}) {
    const end = Date.now() + timeoutMs;
    const got = [];
    while (got.length < count) {
      const left = end - Date.now();
      if (left <= 0) throw new Error(`timeout collecting ${count} packets; got ${JSON.stringify(got)}`);
      const res = await this.get({ timeoutMs: left });
      if (res.status !== 200) throw new Error(`GET answered ${res.status} while collecting: "${show(res.raw)}" (got ${JSON.stringify(got)})`);
      for (const p of res.packets) {
        if (p === '2') await this.post('3');
        else got.push(p);
      }
    }
    return got;
  }
}
