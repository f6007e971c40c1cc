// SPDX-License-Identifier: MIT
// RFC 6455 basics under Engine.IO, byte for byte (docs: protocol.md A8, bad-inputs.md B3-B4).
// Conformance server: "message" is echoed as "message-back", so a reassembled message is visible.
// Every error case must close only that connection; the test then checks a fresh one still works.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, SIO_CONFORMANCE } from './helpers.mjs';
import {
  OP, RFC_KEY, show, wsPath, encodeFrame, closePayload, upgradeRequest,
  RawConn, RawWebSocket, EioSocket, buildRequest, destroyAll,
} from './rawlib.mjs';

const TIMEOUT = { timeout: 30000 }; // per describe; every individual wait is bounded far below this

function useServer(bin, args = []) {
  const ctx = {};
  before(async () => { ctx.server = await startServer(bin, args); ctx.port = ctx.server.port; });
  after(async () => {
    destroyAll();
    if (ctx.server) assert.equal(await ctx.server.stop(), 0, `server exit status; output:\n${ctx.server.output()}`);
  });
  return ctx;
}

// A WebSocket session joined to "/" (CONNECT reply and the auth event read).
async function joined(port) {
  const eio = await EioSocket.connect(port);
  eio.send('40');
  assert.match(await eio.next(), /^40\{"sid":"[A-Za-z0-9_-]{20}"\}$/);
  assert.equal(await eio.next(), '42["auth",{}]');
  return eio;
}

async function assertStillServing(port) {
  const eio = await joined(port);
  eio.send('42["message","ok"]');
  assert.equal(await eio.next(), '42["message-back","ok"]');
  eio.destroy();
}

describe('WebSocket framing (conformance server)', TIMEOUT, () => {
  const srv = useServer(SIO_CONFORMANCE);

  it('reassembles a fragmented text message', async () => {
    const eio = await joined(srv.port);
    eio.ws.sendFrame({ opcode: OP.TEXT, fin: false, payload: '42["message",' });
    eio.ws.sendFrame({ opcode: OP.CONT, fin: false, payload: '"frag' });
    eio.ws.sendFrame({ opcode: OP.CONT, fin: true, payload: 'mented"]' });
    assert.equal(await eio.next(), '42["message-back","fragmented"]');
    eio.destroy();
  });

  it('answers a ping between fragments at once with the same payload', async () => {
    const eio = await joined(srv.port);
    eio.ws.sendFrame({ opcode: OP.TEXT, fin: false, payload: '42["message","a' });
    eio.ws.sendFrame({ opcode: OP.PING, payload: 'hey' });
    let f = await eio.ws.readFrame();
    while (f.opcode === OP.TEXT && f.text === '2') { eio.send('3'); f = await eio.ws.readFrame(); }
    assert.equal(f.opcode, OP.PONG);
    assert.equal(f.payload.toString(), 'hey');
    eio.ws.sendFrame({ opcode: OP.PONG, payload: 'unsolicited' }); // ignored
    eio.ws.sendFrame({ opcode: OP.CONT, payload: 'b"]' });
    assert.equal(await eio.next(), '42["message-back","ab"]');
    eio.destroy();
  });

  it('accepts a UTF-8 code point split across fragments', async () => {
    const eio = await joined(srv.port);
    const bytes = Buffer.from('42["message","é"]'); // é = c3 a9
    const cut = bytes.indexOf(0xc3) + 1;
    eio.ws.sendFrame({ opcode: OP.TEXT, fin: false, payload: bytes.subarray(0, cut) });
    eio.ws.sendFrame({ opcode: OP.CONT, payload: bytes.subarray(cut) });
    assert.equal(await eio.next(), '42["message-back","é"]');
    eio.destroy();
  });

  it('handles a frame delivered one byte per write', async () => {
    const eio = await joined(srv.port);
    const frame = encodeFrame({ opcode: OP.TEXT, payload: '42["message","slow"]' });
    for (const b of frame) {
      eio.ws.conn.write(Buffer.from([b]));
      await new Promise((r) => setImmediate(r));
    }
    assert.equal(await eio.next(), '42["message-back","slow"]');
    eio.destroy();
  });

  it('processes a frame that arrives in the same write as the upgrade request', async () => {
    const ws = await RawWebSocket.connect(srv.port, { after: encodeFrame({ opcode: OP.TEXT, payload: '40' }) });
    assert.equal(ws.response.status, 101);
    const eio = new EioSocket(ws);
    assert.match(await eio.next(), /^0\{"sid"/);
    assert.match(await eio.next(), /^40\{"sid":"[A-Za-z0-9_-]{20}"\}$/);
    eio.destroy();
  });

  it('echoes a close 1000 and closes the TCP connection', async () => {
    const eio = await joined(srv.port);
    eio.ws.sendClose(1000);
    const r = await eio.waitClose(2000);
    assert.ok(r.close, 'a close frame is sent back');
    assert.equal(r.close.code, 1000);
    assert.equal(await eio.ws.conn.waitEnd(2000), true, 'TCP closed');
  });

  // [name, frame bytes to send after joining, expected close code]
  const CASES = [
    ['unmasked client frame', encodeFrame({ payload: '42["message","x"]', mask: false }), 1002],
    ['RSV1 set (nothing negotiated)', encodeFrame({ payload: '42["message","x"]', rsv: 4 }), 1002],
    ['RSV2 set', encodeFrame({ payload: '42["message","x"]', rsv: 2 }), 1002],
    ['reserved data opcode 0x3', encodeFrame({ opcode: 0x3, payload: 'x' }), 1002],
    ['reserved control opcode 0xB', encodeFrame({ opcode: 0xb, payload: 'x' }), 1002],
    ['continuation with no message started', encodeFrame({ opcode: OP.CONT, payload: 'x' }), 1002],
    ['new text frame inside a fragmented message', Buffer.concat([
      encodeFrame({ opcode: OP.TEXT, fin: false, payload: '42["message",' }),
      encodeFrame({ opcode: OP.TEXT, payload: '"x"]' })]), 1002],
    ['control frame with a 126-byte payload', encodeFrame({ opcode: OP.PING, payload: Buffer.alloc(126, 0x61) }), 1002],
    ['fragmented ping (FIN=0)', encodeFrame({ opcode: OP.PING, fin: false, payload: 'x' }), 1002],
    ['close frame with a 1-byte payload', encodeFrame({ opcode: OP.CLOSE, payload: Buffer.from([3]) }), 1002],
    ['close code 1005 on the wire', encodeFrame({ opcode: OP.CLOSE, payload: closePayload(1005) }), 1002],
    ['invalid UTF-8 in a text message', encodeFrame({ payload: Buffer.from('42["message","\xc3\x28"]', 'latin1') }), 1007],
    ['overlong UTF-8', encodeFrame({ payload: Buffer.from('42["message","\xc0\xaf"]', 'latin1') }), 1007],
    ['UTF-16 surrogate in UTF-8', encodeFrame({ payload: Buffer.from('42["message","\xed\xa0\x80"]', 'latin1') }), 1007],
    ['header announcing 2,000,000 bytes', encodeFrame({ payload: Buffer.alloc(0), length: 2000000 }), 1009],
  ];

  for (const [name, bytes, code] of CASES) {
    it(`${name} -> close ${code}; a fresh connection still works`, async () => {
      const eio = await joined(srv.port);
      eio.ws.conn.write(bytes);
      const r = await eio.waitClose(2000);
      assert.ok(r.close, `expected a close frame ${code}, got a bare TCP close`);
      assert.equal(r.close.code, code, `close frame "${show(r.close.payload)}"`);
      eio.destroy();
      await assertStillServing(srv.port);
    });
  }

  it('garbage in the same write as the upgrade request -> 101, then close 1002', async () => {
    const ws = await RawWebSocket.connect(srv.port, { after: Buffer.from('test') });
    assert.equal(ws.response.status, 101);
    const r = await ws.waitClose(2000);
    assert.ok(r.close, 'a close frame');
    assert.equal(r.close.code, 1002);
    ws.destroy();
    await assertStillServing(srv.port);
  });
});

describe('WebSocket opening handshake errors (conformance server)', TIMEOUT, () => {
  const srv = useServer(SIO_CONFORMANCE);

  async function send(bytes) {
    const conn = await RawConn.open(srv.port);
    conn.write(bytes);
    const res = await conn.readResponse();
    conn.destroy();
    return res;
  }

  it('missing Sec-WebSocket-Key -> 400', async () => {
    const res = await send(buildRequest({
      port: srv.port, path: wsPath(),
      headers: [['Connection', 'Upgrade'], ['Upgrade', 'websocket'], ['Sec-WebSocket-Version', '13']],
    }));
    assert.equal(res.status, 400, show(res.raw));
  });

  it('a key that is not base64 of 16 bytes -> 400', async () => {
    assert.equal((await send(upgradeRequest({ port: srv.port, key: 'abc' }))).status, 400);
  });

  it('Sec-WebSocket-Version: 12 -> 400 naming version 13', async () => {
    const res = await send(upgradeRequest({ port: srv.port, version: '12' }));
    assert.ok(res.status === 400 || res.status === 426, show(res.raw));
    assert.match(res.header('sec-websocket-version') ?? '', /\b13\b/, show(res.raw));
  });

  it('upgrade by POST -> 400', async () => {
    const res = await send(buildRequest({
      method: 'POST', port: srv.port, path: wsPath(), body: '',
      headers: [['Connection', 'Upgrade'], ['Upgrade', 'websocket'], ['Sec-WebSocket-Version', '13'], ['Sec-WebSocket-Key', RFC_KEY]],
    }));
    assert.equal(res.status, 400, show(res.raw));
  });

  it('still serves a proper upgrade afterwards', async () => {
    await assertStillServing(srv.port);
  });
});
