// SPDX-License-Identifier: MIT
// Hostile Engine.IO handshakes and long-polling (bad-inputs.md B2, cases 21-38), byte for byte,
// against the hardening server. After every case ctx.check(): alice and bob (connected before the
// attack) still chat, and the server's descriptor count is back to its baseline.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RawConn, RawWebSocket, EioSocket, Polling, buildRequest, request, pollPath, wsPath, show, EIO_ERRORS, RS, randomKey, settle } from './rawlib.mjs';
import { useHardening, rssGrowth, rssBound } from './badlib.mjs';

const TIMEOUT = { timeout: 120000 }; // per describe; every wait inside is bounded far below this

// Asserts an Engine.IO JSON error (protocol.md A2): status, Content-Type and the exact body.
function assertEioError(res, code, status = 400) {
  const where = `response was: "${show(res.raw)}"`;
  assert.equal(res.status, status, where);
  assert.equal(res.header('content-type'), 'application/json', where);
  assert.equal(res.text, EIO_ERRORS[code], where);
}

// A polling session joined to "/" as `username` in room `room`.
async function pollingUser(port, username, room = 'lobby') {
  const poll = new Polling(port);
  await poll.handshake();
  assert.equal((await poll.post(`40${JSON.stringify({ username, room })}`)).text, 'ok');
  const [reply, session] = await poll.collect(2);
  poll.id = reply.match(/^40\{"sid":"([A-Za-z0-9_-]{20})"\}$/)?.[1];
  assert.ok(poll.id, `CONNECT reply: "${show(reply)}"`);
  assert.match(session, /^42\["session",/);
  return poll;
}

// Starts a GET for the session on its own connection and leaves it held by the server.
async function heldGet(poll) {
  const conn = await RawConn.open(poll.port);
  conn.write(buildRequest({ port: poll.port, path: poll.url() }));
  await settle(); // no observable "the GET is held" signal: give the server a moment to read it
  return conn;
}

describe('B2 Engine.IO handshake and polling (hardening --upgrade-timeout 500)', TIMEOUT, () => {
  const ctx = useHardening(['--upgrade-timeout', '500']);
  const get = (p) => request(ctx.port, { path: p });

  it('21: transport=foo / __proto__ / constructor / webtransport / missing -> 400 code 0', async () => {
    for (const t of ['foo', '__proto__', 'constructor', 'webtransport', 'POLLING', 'polling%00']) {
      assertEioError(await get(`/socket.io/?EIO=4&transport=${t}`), 0);
    }
    assertEioError(await get('/socket.io/?EIO=4'), 0);
    await ctx.check('unknown transports');
  });

  it('22: EIO missing, EIO=3, EIO=4&EIO=3, EIO=04, EIO=abc -> 400 code 5', async () => {
    for (const q of ['transport=polling', 'EIO=3&transport=polling', 'EIO=4&EIO=3&transport=polling', 'EIO=04&transport=polling', 'EIO=abc&transport=polling', 'EIO=&transport=polling']) {
      assertEioError(await get(`/socket.io/?${q}`), 5);
    }
    await ctx.check('unsupported protocol versions');
  });

  it('23: unknown, overlong, non-base64 sid -> 400 code 1', async () => {
    for (const sid of ['AAAAAAAAAAAAAAAAAAAA', 'A'.repeat(300), '!!!!!!!!!!!!!!!!!!!!', '%00%00', 'AAAAAAAAAAAAAAAAAAA', '__proto__']) {
      assertEioError(await get(pollPath(`&sid=${sid}`)), 1);
      assertEioError(await request(ctx.port, { method: 'POST', path: pollPath(`&sid=${sid}`), body: '40' }), 1);
    }
    await ctx.check('unknown sids');
  });

  it('24: handshake by POST or PUT (no sid) -> 400 code 2', async () => {
    assertEioError(await request(ctx.port, { method: 'POST', path: pollPath(), body: '40' }), 2);
    assertEioError(await request(ctx.port, { method: 'PUT', path: pollPath(), body: '40' }), 2);
    await ctx.check('handshakes by POST');
  });

  it('25: transport=websocket without upgrade headers -> 400 code 3', async () => {
    assertEioError(await get(wsPath()), 3);
    await ctx.check('a websocket handshake without upgrade');
  });

  it('26: PUT / DELETE with a valid sid -> an error status, no crash; the session is unharmed', async () => {
    const poll = await pollingUser(ctx.port, 'p26');
    for (const method of ['PUT', 'DELETE', 'PATCH']) {
      const res = await request(ctx.port, { method, path: poll.url(), body: method === 'DELETE' ? null : '42["echo","x"]' });
      assert.ok([400, 405].includes(res.status), `${method}: expected 400 or 405, got "${show(res.raw)}"`);
    }
    assert.equal((await poll.post('42["echo","still"]')).text, 'ok');
    assert.deepEqual(await poll.collect(1), ['42["echo","still"]']);
    await ctx.check('PUT/DELETE on a session');
  });

  it('27: two concurrent GETs -> the second gets 400, the held one gets "1", then the sid is unknown', async () => {
    const poll = await pollingUser(ctx.port, 'p27', 'victims');
    const held = await heldGet(poll);
    const second = await poll.get();
    assert.equal(second.status, 400, show(second.raw));
    assert.equal(second.text, '');
    const first = await held.readResponse({ timeoutMs: 5000 });
    assert.equal(first.status, 200, show(first.raw));
    assert.equal(first.text, '1');
    assertEioError(await poll.get(), 1);
    await ctx.alice.expect(`42["user disconnected","${poll.id}"]`, 5000, 'p27 leaving');
    await ctx.check('two concurrent GETs');
  });

  it('28: two concurrent POSTs -> the second gets 400 and the session is closed', async () => {
    const poll = await pollingUser(ctx.port, 'p28', 'victims');
    // POST #1 is in flight: its head and 2 of its 20 body bytes are sent, the rest later.
    const body1 = '42["echo","first!!"]';
    const c1 = await RawConn.open(ctx.port);
    const req1 = buildRequest({ method: 'POST', port: ctx.port, path: poll.url(), headers: [['Content-Type', 'text/plain;charset=UTF-8']], body: body1 });
    c1.write(req1.subarray(0, req1.length - body1.length + 2));
    await settle(); // no signal for "the server has read the partial POST"
    const second = await poll.post('42["echo","second"]');
    assert.equal(second.status, 400, `the overlapping POST: "${show(second.raw)}"`);
    c1.write(req1.subarray(req1.length - body1.length + 2));
    await c1.readResponse({ timeoutMs: 5000 }).catch(() => null); // its answer is not specified
    c1.destroy();
    const after = await poll.get();
    assert.ok(after.status === 400 || after.packets.at(-1) === '1', `the session must be closed, GET answered "${show(after.raw)}"`);
    await ctx.check('two concurrent POSTs');
  });

  it('29: POST body of 1,000,001 bytes -> 413, and the session is closed', async () => {
    const poll = await pollingUser(ctx.port, 'p29', 'victims');
    const conn = await RawConn.open(ctx.port);
    const head = `POST ${poll.url()} HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: 1000001\r\n\r\n`;
    conn.write(Buffer.concat([Buffer.from(head), Buffer.alloc(65536, 0x61)])); // the rest never needs sending
    const res = await conn.readResponse({ timeoutMs: 5000 });
    assert.equal(res.status, 413, show(res.raw));
    assert.equal(res.body.length, 0);
    assert.equal(await conn.waitEnd(5000), true, 'closed after the 413');
    assertEioError(await poll.get(), 1);
    await ctx.alice.expect(`42["user disconnected","${poll.id}"]`, 5000, 'p29 leaving');
    // Exactly 1,000,000 bytes are fine (a padded event nobody listens to).
    const ok = await pollingUser(ctx.port, 'p29b');
    const big = `42["ignored","${'a'.repeat(1000000 - 16)}"]`;
    assert.equal(big.length, 1000000);
    const r = await ok.post(big, { timeoutMs: 10000 });
    assert.equal(r.status, 200, show(r.raw).slice(0, 200));
    await ctx.check('an oversized POST');
  });

  it('30: POST with Content-Type application/octet-stream -> 400, the request completes, the session closes', async () => {
    const poll = await pollingUser(ctx.port, 'p30', 'victims');
    const res = await request(ctx.port, { method: 'POST', path: poll.url(), body: '42["echo","x"]', headers: [['Content-Type', 'application/octet-stream']] });
    assert.equal(res.status, 400, show(res.raw));
    assert.equal(res.body.length, 0);
    assertEioError(await poll.get(), 1);
    await ctx.alice.expect(`42["user disconnected","${poll.id}"]`, 5000, 'p30 leaving');
    await ctx.check('an octet-stream POST');
  });

  it('31: invalid Engine.IO packet type (POST 9abc) -> ok; session closed; next GET 400 code 1', async () => {
    const poll = await pollingUser(ctx.port, 'p31');
    const res = await poll.post('9abc');
    assert.ok(res.status === 200 || res.status === 400, show(res.raw));
    if (res.status === 200) assert.equal(res.text, 'ok');
    assertEioError(await poll.get(), 1);
    for (const bad of ['', 'x', `b!!!`, `4${RS}${RS}`]) { // empty, unknown type, bad base64, empty packets
      const p = await pollingUser(ctx.port, 'p31b');
      await p.post(bad);
      const g = await p.get();
      assert.ok(g.status === 400 || g.packets.at(-1) === '1', `${JSON.stringify(bad)}: the session must be closed, GET answered "${show(g.raw)}"`);
    }
    await ctx.check('undecodable packets');
  });

  it('32: client PING "2" in EIO4 -> session closed (held GET gets "1")', async () => {
    const poll = await pollingUser(ctx.port, 'p32', 'victims');
    const held = await heldGet(poll);
    await poll.post('2');
    const h = await held.readResponse({ timeoutMs: 5000 });
    assert.equal(h.status, 200, show(h.raw));
    assert.equal(h.text, '1');
    assertEioError(await poll.get(), 1);
    await ctx.alice.expect(`42["user disconnected","${poll.id}"]`, 5000, 'p32 leaving');
    await ctx.check('a client ping');
  });

  it('33: empty message packet "4" -> Socket.IO decode error -> session closed', async () => {
    const poll = await pollingUser(ctx.port, 'p33', 'victims');
    await poll.post('4');
    const g = await poll.get();
    assert.ok((g.status === 200 && g.packets.at(-1) === '1') || (g.status === 400 && g.text === EIO_ERRORS[1]), `GET answered "${show(g.raw)}"`);
    await ctx.alice.expect(`42["user disconnected","${poll.id}"]`, 5000, 'p33 leaving');
    await ctx.check('an empty message');
  });

  it('34: batched 40 and an event in one POST -> no crash, consistent state', async () => {
    const poll = new Polling(ctx.port);
    await poll.handshake();
    const res = await poll.post(`40{"username":"p34"}${RS}42["echo","x"]`);
    assert.equal(res.status, 200, show(res.raw));
    const g = await poll.get();
    assert.equal(g.status, 200, show(g.raw));
    if (g.packets.at(-1) === '1') {
      // Closed, as Node does: then the sid is gone.
      assertEioError(await poll.get(), 1);
    } else {
      // Processed in order, as a sequential server may: CONNECT reply, session, then the echo.
      const all = [...g.packets];
      while (all.length < 3) all.push(...(await poll.collect(1)));
      assert.match(all[0], /^40\{"sid":"[A-Za-z0-9_-]{20}"\}$/);
      assert.match(all[1], /^42\["session",\{"userID":"[A-Za-z0-9_-]{20}","username":"p34","room":"lobby"\}\]$/);
      assert.equal(all[2], '42["echo","x"]');
      assert.equal((await poll.post('42["echo","y"]')).text, 'ok');
      assert.deepEqual(await poll.collect(1), ['42["echo","y"]']);
    }
    await ctx.check('a batched CONNECT and event');
  });

  it('36: client disconnects while a GET is pending -> session closed at once, resources freed', async () => {
    const poll = await pollingUser(ctx.port, 'p36', 'victims');
    const held = await heldGet(poll);
    held.destroy();
    // Heartbeat is 25 s here: the disconnect must come from the lost GET, well before that.
    await ctx.alice.expect(`42["user disconnected","${poll.id}"]`, 5000, 'p36 leaving when its GET connection went');
    // Node forgets the sid at once (400 code 1). Handing the close packet "1" (after a noop, or
    // not) to one more GET first is allowed by protocol.md A11; after that the sid is unknown.
    const g = await poll.get();
    if (g.status === 200) {
      assert.ok(g.text === '1' || g.text === '6\x1e1', show(g.raw));
      assertEioError(await poll.get(), 1);
    } else {
      assertEioError(g, 1);
    }
    await ctx.check('a vanished long-poll');
  });

  it('37: upgrade never completed -> probe closed after upgradeTimeout, polling keeps working; a second probe is refused', async () => {
    const poll = await pollingUser(ctx.port, 'p37');
    const ws = await RawWebSocket.connect(ctx.port, { path: wsPath(`&sid=${poll.sid}`), key: randomKey() });
    assert.equal(ws.response.status, 101, show(ws.response.raw));
    const held = await heldGet(poll);
    ws.sendText('2probe');
    const probe = await ws.readFrame(5000);
    assert.equal(probe.text, '3probe');
    const noop = await held.readResponse({ timeoutMs: 5000 });
    assert.equal(noop.text, '6', 'the held GET is ended with a noop');
    held.destroy();
    // A second WebSocket for the same sid while the first is probing: refused before any 101
    // (or answered 101 and closed at once, as Node does).
    const ws2 = await RawWebSocket.connect(ctx.port, { path: wsPath(`&sid=${poll.sid}`), key: randomKey() });
    if (ws2.response.status === 101) {
      const r = await ws2.waitClose(2000);
      assert.ok(r.close || r.tcpClosed, 'a second probe answered 101 must be closed at once');
    } else {
      assert.equal(ws2.response.status, 400, show(ws2.response.raw));
      assert.equal(await ws2.conn.waitEnd(2000), true);
    }
    // No "5": the probe is closed after upgradeTimeout (500 ms), polling goes on.
    const t0 = Date.now();
    const closed = await ws.waitClose(5000);
    assert.ok(closed.close || closed.tcpClosed);
    assert.deepEqual(closed.frames.map((f) => f.text), [], 'nothing but 3probe on a probe');
    assert.ok(Date.now() - t0 < 4000, `the probe was closed ${Date.now() - t0} ms later`);
    assert.equal((await poll.post('42["echo","after probe"]')).text, 'ok');
    assert.deepEqual(await poll.collect(1), ['42["echo","after probe"]']);
    await ctx.check('an upgrade never completed');
  });

  it('38: upgrade packet "5" on a fresh WebSocket session -> ignored', async () => {
    const eio = await EioSocket.connect(ctx.port);
    eio.send('5');
    eio.send('40{"username":"p38"}');
    assert.match(await eio.next(), /^40\{"sid":"[A-Za-z0-9_-]{20}"\}$/);
    assert.match(await eio.next(), /^42\["session",/);
    eio.destroy();
    await ctx.check('a stray upgrade packet');
  });

  it('memory: 200 repetitions of the cheap B2 attacks keep RSS bounded', async (t) => {
    const attacks = [
      () => get('/socket.io/?EIO=4&transport=__proto__'),
      () => get('/socket.io/?EIO=3&transport=polling'),
      () => get(pollPath(`&sid=${'A'.repeat(300)}`)),
      async () => { const p = await pollingUser(ctx.port, 'm'); await p.post('9abc'); await p.get(); },
      async () => { const p = await pollingUser(ctx.port, 'm'); await request(ctx.port, { method: 'POST', path: p.url(), body: '42["x"]', headers: [['Content-Type', 'application/octet-stream']] }); },
      async () => { const p = await pollingUser(ctx.port, 'm'); const h = await heldGet(p); h.destroy(); },
    ];
    const { base, growth } = await rssGrowth(ctx.pid, (i) => attacks[i % attacks.length](), { n: 200 * attacks.length });
    t.diagnostic(`RSS ${base} KiB before, +${growth} KiB after ${200 * attacks.length} attacks (200 of each)`);
    const bound = rssBound(ctx.bin, 8 * 1024);
    assert.ok(growth < bound, `RSS grew by ${growth} KiB (from ${base} KiB); bound ${bound} KiB`);
    await ctx.check('the repetitions');
  });
});

describe('B2 heartbeat (hardening --ping-interval 300 --ping-timeout 200)', TIMEOUT, () => {
  const ctx = useHardening(['--ping-interval', '300', '--ping-timeout', '200']);

  it('35: client stops polling -> session removed after pingInterval+pingTimeout; later GET 400 code 1', async () => {
    const t0 = Date.now(); // before the handshake: the server's timers start after this
    const poll = await pollingUser(ctx.port, 'p35', 'victims');
    // No GET, no POST from here on. The victims keep ponging (they read in the background).
    await ctx.alice.expect(`42["user disconnected","${poll.id}"]`, 5000, 'p35 timing out');
    const dt = Date.now() - t0;
    assert.ok(dt >= 450, `gone ${dt} ms after the handshake, before pingInterval + pingTimeout (500 ms)`);
    assertEioError(await poll.get(), 1);
    await ctx.check('a client that stopped polling');
  });
});

