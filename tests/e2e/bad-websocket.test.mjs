// SPDX-License-Identifier: MIT
// Hostile WebSocket opening handshakes and frames (bad-inputs.md B3 cases 39-46, B4 cases 47-60),
// byte for byte, against the hardening server. Every error closes only the attacker's
// connection (a close frame with the expected code, then TCP); ctx.check() then proves that
// alice and bob, connected before, still chat and that the server's descriptors are back to
// their baseline.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  OP, RFC_KEY, show, wsPath, encodeFrame, closePayload, upgradeRequest, buildRequest, randomKey,
  RawConn, RawWebSocket, EioSocket,
} from './rawlib.mjs';
import { useHardening, rssKb, rssGrowth, rssBound, sleep } from './badlib.mjs';

const TIMEOUT = { timeout: 180000 }; // per describe; every wait inside is bounded far below this

// A WebSocket session joined to "/" (CONNECT reply and the session event read).
// Each attacker gets a room of its own, so that concurrent attackers hear nothing of each other.
let roomSeq = 0;
async function joined(port, username = 'attacker') {
  const eio = await EioSocket.connect(port, { timeoutMs: 5000 });
  eio.send(`40{"username":"${username}","room":"attack-${++roomSeq}"}`);
  assert.match(await eio.next(5000), /^40\{"sid":"[A-Za-z0-9_-]{20}"\}$/);
  assert.match(await eio.next(5000), /^42\["session",/);
  return eio;
}

// Sends bytes on a joined session and expects a close frame with `code`, then the TCP close.
async function expectClose(port, bytes, code, what) {
  const eio = await joined(port);
  eio.ws.conn.write(bytes);
  const r = await eio.waitClose(5000);
  assert.ok(r.close, `${what}: expected a close frame ${code}, got a bare TCP close (frames: ${JSON.stringify(r.frames.map((f) => show(f.payload)))})`);
  assert.equal(r.close.code, code, `${what}: close frame "${show(r.close.payload)}"`);
  assert.equal(await eio.ws.conn.waitEnd(5000), true, `${what}: TCP closed after the close frame`);
  assert.deepEqual(r.packets.filter((p) => typeof p !== 'string' || p[0] === '4').map(show), [], `${what}: no Socket.IO packet before the close`);
  eio.destroy();
}

// A handshake request the server must refuse before any 101: `status`, a text/html reason when
// `reason` is given, and the TCP connection closed.
async function expectRefusedUpgrade(port, bytes, status, reason, what) {
  const conn = await RawConn.open(port);
  conn.write(bytes);
  const res = await conn.readResponse({ timeoutMs: 5000 });
  const where = `${what}: the answer was "${show(res.raw)}"`;
  assert.equal(res.status, status, where);
  if (reason !== undefined) {
    assert.equal(res.header('content-type'), 'text/html', where);
    assert.equal(res.text, reason, where);
  }
  assert.equal(await conn.waitEnd(5000), true, `${what}: the connection must be closed`);
  conn.destroy();
  return res;
}

const upgradeHeaders = (key = RFC_KEY) => [['Connection', 'Upgrade'], ['Upgrade', 'websocket'], ['Sec-WebSocket-Version', '13'], ['Sec-WebSocket-Key', key]];
const frame = (opts) => encodeFrame(opts);
const text = (payload, opts = {}) => encodeFrame({ opcode: OP.TEXT, payload, ...opts });

describe('B3 WebSocket opening handshake (hardening server)', TIMEOUT, () => {
  const ctx = useHardening();

  it('39: missing Sec-WebSocket-Key -> 400 "Missing or invalid Sec-WebSocket-Key header"', async () => {
    await expectRefusedUpgrade(ctx.port, buildRequest({ port: ctx.port, path: wsPath(), headers: upgradeHeaders().slice(0, 3) }),
      400, 'Missing or invalid Sec-WebSocket-Key header', 'no key');
    await ctx.check('an upgrade without key');
  });

  it('40: key that is not base64 of 16 bytes -> 400', async () => {
    for (const key of ['abc', 'AAAAAAAAAAAAAAAAAAAA', 'AAAAAAAAAAAAAAAAAAAAAAAA', '!!!!!!!!!!!!!!!!!!!!!!==', `${RFC_KEY} x`, 'AAAAAAAAAAAAAAAAAAAAAA=']) {
      await expectRefusedUpgrade(ctx.port, upgradeRequest({ port: ctx.port, key }), 400, 'Missing or invalid Sec-WebSocket-Key header', `key "${key}"`);
    }
    await ctx.check('bad keys');
  });

  it('41: Sec-WebSocket-Version 12 (or none) -> 400 with Sec-WebSocket-Version naming 13', async () => {
    const res = await expectRefusedUpgrade(ctx.port, upgradeRequest({ port: ctx.port, version: '12' }), 400, undefined, 'version 12');
    assert.match(res.header('sec-websocket-version') ?? '', /(^|[ ,])13($|,)/, show(res.raw));
    const none = await expectRefusedUpgrade(ctx.port, buildRequest({ port: ctx.port, path: wsPath(), headers: [upgradeHeaders()[0], upgradeHeaders()[1], upgradeHeaders()[3]] }), 400, undefined, 'no version');
    assert.match(none.header('sec-websocket-version') ?? '', /(^|[ ,])13($|,)/, show(none.raw));
    await ctx.check('bad versions');
  });

  it('42: upgrade via POST -> 400', async () => {
    await expectRefusedUpgrade(ctx.port, buildRequest({ method: 'POST', port: ctx.port, path: wsPath(), headers: upgradeHeaders(), body: '' }), 400, undefined, 'POST upgrade');
    await ctx.check('a POST upgrade');
  });

  it('43: upgrade with an unknown sid -> 400 "Session ID unknown" before any 101', async () => {
    await expectRefusedUpgrade(ctx.port, upgradeRequest({ port: ctx.port, path: wsPath('&sid=AAAAAAAAAAAAAAAAAAAA') }), 400, 'Session ID unknown', 'unknown sid');
    await ctx.check('an upgrade with an unknown sid');
  });

  it('44: malformed Sec-WebSocket-Protocol "a b, ," -> 400 (Node)', async () => {
    await expectRefusedUpgrade(ctx.port, upgradeRequest({ port: ctx.port, headers: [['Sec-WebSocket-Protocol', 'a b, ,']] }), 400, undefined, 'protocol "a b, ,"');
    await ctx.check('a malformed subprotocol list');
  });

  it('44: whitespace-heavy Sec-WebSocket-Protocol values are judged in linear time (CVE-2021-32640)', async () => {
    // CVE-2021-32640 shape: long runs of spaces. Whatever the verdict, it comes at once.
    const t0 = Date.now();
    const conn = await RawConn.open(ctx.port);
    conn.write(upgradeRequest({ port: ctx.port, headers: [['Sec-WebSocket-Protocol', `a${' '.repeat(15000)}b`]] }));
    const res = await conn.readResponse({ timeoutMs: 5000 });
    assert.ok([101, 400, 431].includes(res.status), show(res.raw));
    assert.ok(Date.now() - t0 < 2000, `answered after ${Date.now() - t0} ms`);
    conn.destroy();
    await ctx.check('bad subprotocols');
  });

  it('45: permessage-deflate offered (or garbage extensions) -> 101 without Sec-WebSocket-Extensions; RSV1 then is 1002', async () => {
    for (const ext of ['permessage-deflate; client_max_window_bits', 'permessage-deflate; server_max_window_bits=7; x', 'constructor, __proto__; toString=1', ';;;,,,']) {
      const ws = await RawWebSocket.connect(ctx.port, { key: randomKey(), headers: [['Sec-WebSocket-Extensions', ext]] });
      assert.equal(ws.response.status, 101, `${ext}: ${show(ws.response.raw)}`);
      assert.equal(ws.response.header('sec-websocket-extensions'), undefined, `${ext}: no extension may be accepted`);
      const eio = new EioSocket(ws);
      assert.match(await eio.next(), /^0\{"sid"/);
      ws.sendFrame({ opcode: OP.TEXT, payload: '40{"username":"x"}', rsv: 4 });
      const r = await eio.waitClose(5000);
      assert.equal(r.close?.code, 1002, `${ext}: RSV1 frame must be 1002`);
      ws.destroy();
    }
    await ctx.check('extension offers');
  });

  it('46: frame bytes in the same segment as the upgrade: a valid frame is processed, garbage gets 101 then 1002', async () => {
    const ws = await RawWebSocket.connect(ctx.port, { key: randomKey(), after: text('40{"username":"glued"}') });
    assert.equal(ws.response.status, 101);
    const eio = new EioSocket(ws);
    assert.match(await eio.next(), /^0\{"sid"/);
    assert.match(await eio.next(), /^40\{"sid":"[A-Za-z0-9_-]{20}"\}$/);
    ws.destroy();
    for (const garbage of ['test', '\xc1\x80\x00\x00\x00\x00', '\x81\x05hello']) { // RSV bits; RSV+reserved opcode; unmasked
      const g = await RawWebSocket.connect(ctx.port, { key: randomKey(), after: Buffer.from(garbage, 'latin1') });
      assert.equal(g.response.status, 101, show(g.response.raw));
      const r = await g.waitClose(5000);
      assert.ok(r.close, `${show(garbage)}: a close frame`);
      assert.equal(r.close.code, 1002, `${show(garbage)}: close "${show(r.close.payload)}"`);
      g.destroy();
    }
    await ctx.check('frames glued to the upgrade');
  });
});

describe('B4 WebSocket framing (hardening server)', TIMEOUT, () => {
  const ctx = useHardening();

  const X = '421["echo","x"]';
  const cases = [
    [47, 'unmasked client frame', text(X, { mask: false }), 1002],
    [48, 'RSV1 set (nothing negotiated)', text(X, { rsv: 4 }), 1002],
    [48, 'RSV2 set', text(X, { rsv: 2 }), 1002],
    [48, 'RSV3 set', text(X, { rsv: 1 }), 1002],
    ...[3, 4, 5, 6, 7].map((op) => [49, `reserved data opcode 0x${op.toString(16)}`, frame({ opcode: op, payload: 'x' }), 1002]),
    ...[0xb, 0xc, 0xd, 0xe, 0xf].map((op) => [49, `reserved control opcode 0x${op.toString(16)}`, frame({ opcode: op, payload: 'x' }), 1002]),
    [50, 'continuation with no message started', frame({ opcode: OP.CONT, payload: 'x' }), 1002],
    [50, 'new text frame inside a fragmented message', Buffer.concat([text('42["echo",', { fin: false }), text('"x"]')]), 1002],
    [50, 'new binary frame inside a fragmented message', Buffer.concat([text('42["echo",', { fin: false }), frame({ opcode: OP.BINARY, payload: 'x' })]), 1002],
    [51, 'ping with a 126-byte payload', frame({ opcode: OP.PING, payload: Buffer.alloc(126, 0x61) }), 1002],
    [51, 'pong with a 126-byte payload', frame({ opcode: OP.PONG, payload: Buffer.alloc(126, 0x61) }), 1002],
    [51, 'close with a 126-byte payload', frame({ opcode: OP.CLOSE, payload: Buffer.concat([closePayload(1000), Buffer.alloc(124, 0x61)]) }), 1002],
    [51, 'ping with FIN=0', frame({ opcode: OP.PING, fin: false, payload: 'x' }), 1002],
    [51, 'close with FIN=0', frame({ opcode: OP.CLOSE, fin: false, payload: closePayload(1000) }), 1002],
    [53, 'invalid UTF-8 \\xc3\\x28', text(Buffer.from('42["echo","\xc3\x28"]', 'latin1')), 1007],
    [53, 'overlong \\xc0\\xaf', text(Buffer.from('42["echo","\xc0\xaf"]', 'latin1')), 1007],
    [53, 'surrogate \\xed\\xa0\\x80', text(Buffer.from('42["echo","\xed\xa0\x80"]', 'latin1')), 1007],
    [53, 'above U+10FFFF \\xf4\\x90\\x80\\x80', text(Buffer.from('42["echo","\xf4\x90\x80\x80"]', 'latin1')), 1007],
    [53, 'message ending inside a sequence', text(Buffer.from('42["echo","x"]\xe2\x82', 'latin1')), 1007],
    [53, 'invalid byte in the second fragment', Buffer.concat([text('42["echo","', { fin: false }), frame({ opcode: OP.CONT, payload: Buffer.from('\xff"]', 'latin1') })]), 1007],
    [54, 'close frame with a 1-byte payload', frame({ opcode: OP.CLOSE, payload: Buffer.from([3]) }), 1002],
    ...[0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535].map((c) => [54, `close code ${c} on the wire`, frame({ opcode: OP.CLOSE, payload: closePayload(c) }), 1002]),
    [54, 'close reason with invalid UTF-8', frame({ opcode: OP.CLOSE, payload: closePayload(1000, Buffer.from([0xc3, 0x28])) }), 1007],
    [55, 'header announcing 2,000,000 bytes (> 1e6)', frame({ payload: Buffer.alloc(0), length: 2000000 }), 1009],
    [55, 'header announcing 1,000,001 bytes', frame({ payload: Buffer.alloc(0), length: 1000001 }), 1009],
    [56, '64-bit length with the MSB set', Buffer.from([0x81, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0x10, 1, 2, 3, 4]), 1009],
    [56, '64-bit length 2^63 - 1', Buffer.from([0x81, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4]), 1009],
  ];

  for (const [n, name, bytes, code] of cases) {
    it(`${n}: ${name} -> close ${code}`, async () => {
      await expectClose(ctx.port, bytes, code, name);
      await ctx.check(name);
    });
  }

  it('52: a ping between the fragments of a message -> pong at once, same payload; message reassembled; unsolicited pong ignored', async () => {
    const eio = await joined(ctx.port);
    eio.ws.sendFrame({ opcode: OP.TEXT, fin: false, payload: '421["echo","a' });
    eio.ws.sendFrame({ opcode: OP.PING, payload: 'hey' });
    const f = await eio.ws.readFrame(5000);
    assert.equal(f.opcode, OP.PONG, `expected the pong first, got opcode ${f.opcode}`);
    assert.equal(f.payload.toString(), 'hey');
    eio.ws.sendFrame({ opcode: OP.PONG, payload: 'unsolicited' });
    eio.ws.sendFrame({ opcode: OP.PING, payload: Buffer.alloc(125, 0x62) }); // the largest control frame
    const f2 = await eio.ws.readFrame(5000);
    assert.equal(f2.opcode, OP.PONG);
    assert.equal(f2.payload.length, 125);
    eio.ws.sendFrame({ opcode: OP.CONT, payload: 'b"]' });
    assert.equal(await eio.next(5000), '431["ab"]');
    eio.destroy();
    await ctx.check('a ping between fragments');
  });

  it('53: a code point split across fragments is valid', async () => {
    const eio = await joined(ctx.port);
    const bytes = Buffer.from('421["echo","é€😀"]');
    for (let i = 0; i < bytes.length; i++) { // one byte per fragment: every split position
      eio.ws.sendFrame({ opcode: i === 0 ? OP.TEXT : OP.CONT, fin: i === bytes.length - 1, payload: bytes.subarray(i, i + 1) });
    }
    assert.equal(await eio.next(5000), '431["é€😀"]');
    eio.destroy();
    await ctx.check('split code points');
  });

  it('54: a valid close 1000 (and 3000, 4999 with a reason) is echoed, then TCP is closed', async () => {
    for (const [code, reason] of [[1000, ''], [3000, 'bye'], [4999, 'ünïcode']]) {
      const eio = await joined(ctx.port);
      eio.ws.sendClose(code, reason);
      const r = await eio.waitClose(5000);
      assert.ok(r.close, `close ${code}: a close frame is sent back`);
      assert.equal(r.close.code, code);
      assert.equal(await eio.ws.conn.waitEnd(5000), true, 'TCP closed');
      eio.destroy();
    }
    const eio = await joined(ctx.port); // an empty close payload: echoed without a code
    eio.ws.sendFrame({ opcode: OP.CLOSE, payload: Buffer.alloc(0) });
    const r = await eio.waitClose(5000);
    assert.ok(r.close);
    assert.equal(r.close.payload.length, 0);
    eio.destroy();
    await ctx.check('clean closes');
  });

  it('57: 1e6 one-byte fragments, or 1e5 empty ones -> close 1008/1009 with bounded memory', async () => {
    for (const [label, payload, total] of [['one-byte', Buffer.from('a'), 1000000], ['empty', Buffer.alloc(0), 100000]]) {
      const eio = await joined(ctx.port);
      const rss0 = rssKb(ctx.pid);
      eio.ws.sendFrame({ opcode: OP.TEXT, fin: false, payload: '42["echo","' });
      const one = frame({ opcode: OP.CONT, fin: false, payload, mask: Buffer.from([1, 2, 3, 4]) });
      const batch = Buffer.concat(Array.from({ length: 1000 }, () => one));
      // Batches of 1000 with a pause after each: once the server has sent its close frame we
      // stop writing, as a peer that reads would (writing into a closed socket makes the kernel
      // answer RST, and the client then loses the close frame it has not read yet).
      for (let sent = 0; sent < total && !eio.ws.conn.ended && !eio.ws.conn.buf.length; sent += 1000) {
        eio.ws.conn.write(batch);
        await sleep(5);
      }
      const r = await eio.waitClose(10000);
      assert.ok(r.close, `${label}: a close frame`);
      assert.ok([1008, 1009].includes(r.close.code), `${label}: close ${r.close.code}`);
      const grown = rssKb(ctx.pid) - rss0;
      assert.ok(grown < rssBound(ctx.bin, 8192), `${label} fragments: RSS grew by ${grown} KiB`);
      eio.destroy();
    }
    await ctx.check('fragment floods');
  });

  it('58: valid frames delivered one byte per read (header and mask split at every position)', async () => {
    const eio = await joined(ctx.port);
    for (const payload of ['421["echo","slow"]', `422["echo","${'m'.repeat(200)}"]`]) { // 7-bit and 16-bit lengths
      const bytes = text(payload);
      for (const byte of bytes) {
        eio.ws.conn.write(Buffer.from([byte]));
        await sleep(1); // one byte per segment (TCP_NODELAY): the parser must resume anywhere
      }
    }
    assert.equal(await eio.next(5000), '431["slow"]');
    assert.equal(await eio.next(5000), `432["${'m'.repeat(200)}"]`);
    eio.destroy();
    await ctx.check('byte-split frames');
  });

  it('59: data frames after the peer\'s close frame are ignored; TCP closed', async () => {
    const eio = await joined(ctx.port);
    eio.ws.conn.write(Buffer.concat([frame({ opcode: OP.CLOSE, payload: closePayload(1000) }), text('421["echo","late"]'), text('422["echo","later"]')]));
    const r = await eio.waitClose(5000);
    assert.equal(r.close?.code, 1000);
    assert.deepEqual(r.packets.map(show), [], 'nothing answered after the close');
    assert.equal(await eio.ws.conn.waitEnd(5000), true);
    eio.destroy();
    await ctx.check('frames after a close');
  });

  it('60: a fragmented message over maxHttpBufferSize in small fragments -> 1009', async () => {
    const eio = await joined(ctx.port);
    eio.ws.sendFrame({ opcode: OP.TEXT, fin: false, payload: '42["echo","' });
    const chunk = Buffer.alloc(60000, 0x61);
    for (let i = 0; i < 20 && !eio.ws.conn.ended && !eio.ws.conn.buf.length; i++) {
      eio.ws.sendFrame({ opcode: OP.CONT, fin: false, payload: chunk });
      await sleep(5); // stop writing once the close frame is there (see 57)
    }
    const r = await eio.waitClose(10000);
    assert.equal(r.close?.code, 1009, `close: ${r.close ? r.close.code : 'none'}`);
    eio.destroy();
    await ctx.check('a fragmented oversize message');
  });

  it('memory: 200 repetitions of the framing attacks keep RSS bounded', async (t) => {
    const pick = cases.filter((_, i) => i % 3 === 0);
    const { base, growth } = await rssGrowth(ctx.pid, async (i) => {
      const [, name, bytes, code] = pick[i % pick.length];
      await expectClose(ctx.port, bytes, code, name);
    }, { n: 200 * pick.length });
    t.diagnostic(`RSS ${base} KiB before, +${growth} KiB after ${200 * pick.length} attacks (200 of each)`);
    const bound = rssBound(ctx.bin, 8 * 1024);
    assert.ok(growth < bound, `RSS grew by ${growth} KiB (from ${base} KiB); bound ${bound} KiB`);
    await ctx.check('the repetitions');
  });
});

