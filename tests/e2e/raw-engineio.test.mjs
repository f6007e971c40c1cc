// SPDX-License-Identifier: MIT
// Engine.IO v4 on the wire, byte for byte (docs: protocol.md Part A, bad-inputs.md B1-B2).
// Raw HTTP and WebSocket over node:net; no Socket.IO client library involved.
// The chat server (examples/chat-part1, env SIO_CHAT1) runs with the tutorial's defaults: pingInterval 25000,
// pingTimeout 20000, maxPayload 1000000, CORS origin http://localhost:8080. The conformance
// server (examples/conformance) runs with 300/200 ms timers, connectTimeout 1000 and CORS "*".
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, until, SIO_CHAT1, SIO_CONFORMANCE } from './helpers.mjs';
import {
  RS, SID_RE, RFC_KEY, RFC_ACCEPT, EIO_ERRORS, OP, pollPath, wsPath, settle, show, wsAccept, randomKey,
  RawConn, buildRequest, request, RawWebSocket, EioSocket, Polling, destroyAll,
} from './rawlib.mjs';

const TIMEOUT = { timeout: 30000 }; // per describe; every individual wait is bounded far below this

// A polling handshake body, exactly as Node writes it (A4): keys in this order, nothing else.
const openBody = (sid, upgrades, pingInterval, pingTimeout, maxPayload) =>
  `0{"sid":"${sid}","upgrades":${JSON.stringify(upgrades)},"pingInterval":${pingInterval},"pingTimeout":${pingTimeout},"maxPayload":${maxPayload}}`;

// Asserts an Engine.IO JSON error response (A2): status, Content-Type and exact body.
function assertEioError(res, code) {
  const where = `response was: "${show(res.raw)}"`;
  assert.equal(res.status, code === 4 ? 403 : 400, where);
  assert.equal(res.header('content-type'), 'application/json', where);
  assert.equal(res.text, EIO_ERRORS[code], where);
}

// Starts a server for one describe() and stops it afterwards; stop() must exit 0 (a crash or a
// sanitizer report fails the suite).
function useServer(bin, args = []) {
  const ctx = {};
  before(async () => { ctx.server = await startServer(bin, args); ctx.port = ctx.server.port; });
  after(async () => {
    destroyAll();
    if (ctx.server) assert.equal(await ctx.server.stop(), 0, `server exit status; output:\n${ctx.server.output()}`);
  });
  return ctx;
}

// ====== Handshake ======

describe('polling handshake (chat server defaults)', TIMEOUT, () => {
  const srv = useServer(SIO_CHAT1);

  it('answers 200 text/plain with the open packet, keys in Node order', async () => {
    const res = await request(srv.port, { path: pollPath('&t=u3k11lrt') });
    assert.equal(res.status, 200, show(res.raw));
    assert.equal(res.header('content-type'), 'text/plain; charset=UTF-8');
    assert.equal(res.text[0], '0', 'open packet type');
    const open = JSON.parse(res.text.slice(1));
    assert.deepEqual(Object.keys(open), ['sid', 'upgrades', 'pingInterval', 'pingTimeout', 'maxPayload']);
    assert.match(open.sid, SID_RE);
    assert.equal(res.text, openBody(open.sid, ['websocket'], 25000, 20000, 1000000));
  });

  it('marks polling responses cache-control: no-store', async () => {
    const res = await request(srv.port, { path: pollPath() });
    assert.equal(res.header('cache-control'), 'no-store', show(res.raw));
  });

  it('gives every handshake a new sid', async () => {
    const a = await new Polling(srv.port).handshake();
    const b = await new Polling(srv.port).handshake();
    assert.notEqual(a.open.sid, b.open.sid);
  });

  it('ignores unknown query parameters (application data)', async () => {
    const res = await request(srv.port, { path: pollPath('&t=abc&foo=bar&x=%20y') });
    assert.equal(res.status, 200, show(res.raw));
    assert.equal(res.text[0], '0');
  });
});

describe('polling handshake (conformance server)', TIMEOUT, () => {
  const srv = useServer(SIO_CONFORMANCE);

  it('advertises pingInterval 300 and pingTimeout 200', async () => {
    const res = await request(srv.port, { path: pollPath() });
    assert.equal(res.status, 200, show(res.raw));
    const open = JSON.parse(res.text.slice(1));
    assert.match(open.sid, SID_RE);
    assert.equal(res.text, openBody(open.sid, ['websocket'], 300, 200, 1000000));
  });
});

describe('WebSocket handshake', TIMEOUT, () => {
  const srv = useServer(SIO_CHAT1);

  it('answers 101 with the RFC 6455 accept value and sends the open packet with "upgrades":[]', async () => {
    const ws = await RawWebSocket.connect(srv.port, { key: RFC_KEY });
    const res = ws.response;
    assert.equal(res.status, 101, show(res.raw));
    assert.equal(res.header('sec-websocket-accept'), RFC_ACCEPT);
    assert.equal(res.header('upgrade')?.toLowerCase(), 'websocket');
    assert.match(res.header('connection') ?? '', /\bupgrade\b/i);
    const f = await ws.readFrame();
    assert.equal(f.fin, true);
    assert.equal(f.rsv, 0);
    assert.equal(f.opcode, OP.TEXT);
    const open = JSON.parse(f.text.slice(1));
    assert.match(open.sid, SID_RE);
    assert.equal(f.text, openBody(open.sid, [], 25000, 20000, 1000000));
    // A 107-byte payload fits the 7-bit length: 81 6b, then the text (unmasked).
    assert.equal(f.raw.subarray(0, 2).toString('hex'), '816b');
    ws.destroy();
  });

  it('computes Sec-WebSocket-Accept for any key', async () => {
    const key = randomKey();
    const ws = await RawWebSocket.connect(srv.port, { key });
    assert.equal(ws.response.status, 101);
    assert.equal(ws.response.header('sec-websocket-accept'), wsAccept(key));
    ws.destroy();
  });

  it('never accepts permessage-deflate (no Sec-WebSocket-Extensions in the 101)', async () => {
    const ws = await RawWebSocket.connect(srv.port, {
      headers: [['Sec-WebSocket-Extensions', 'permessage-deflate; client_max_window_bits']],
    });
    assert.equal(ws.response.status, 101);
    assert.equal(ws.response.header('sec-websocket-extensions'), undefined);
    ws.destroy();
  });

  it('refuses an upgrade with an unknown sid before any 101, and closes the connection', async () => {
    const ws = await RawWebSocket.connect(srv.port, { path: wsPath('&sid=AAAAAAAAAAAAAAAAAAAA') });
    assert.equal(ws.response.status, 400, show(ws.response.raw));
    assert.equal(await ws.conn.waitEnd(2000), true, 'TCP connection closed after the 400');
  });
});

describe('WebSocket handshake (conformance server)', TIMEOUT, () => {
  const srv = useServer(SIO_CONFORMANCE);

  it('sends the open packet with the conformance timers', async () => {
    const eio = await EioSocket.connect(srv.port);
    assert.equal(eio.openText, openBody(eio.sid, [], 300, 200, 1000000));
    eio.destroy();
  });
});

// ====== Error responses (A2, bad-inputs B2 21-25) ======

describe('Engine.IO error responses', TIMEOUT, () => {
  const srv = useServer(SIO_CHAT1);
  const get = (path, opts = {}) => request(srv.port, { path, ...opts });

  it('transport=foo -> 400 code 0', async () => assertEioError(await get('/socket.io/?EIO=4&transport=foo'), 0));
  it('transport=__proto__ -> 400 code 0', async () => assertEioError(await get('/socket.io/?EIO=4&transport=__proto__'), 0));
  it('transport missing -> 400 code 0', async () => assertEioError(await get('/socket.io/?EIO=4'), 0));
  it('EIO missing -> 400 code 5', async () => assertEioError(await get('/socket.io/?transport=polling'), 5));
  it('EIO=3 -> 400 code 5', async () => assertEioError(await get('/socket.io/?EIO=3&transport=polling'), 5));
  it('EIO=4&EIO=3 (the last value wins) -> 400 code 5', async () =>
    assertEioError(await get('/socket.io/?EIO=4&EIO=3&transport=polling'), 5));
  it('unknown sid -> 400 code 1', async () => assertEioError(await get(pollPath('&sid=AAAAAAAAAAAAAAAAAAAA')), 1));
  it('overlong sid -> 400 code 1', async () => assertEioError(await get(pollPath(`&sid=${'A'.repeat(300)}`)), 1));
  it('POST handshake (no sid) -> 400 code 2', async () =>
    assertEioError(await request(srv.port, { method: 'POST', path: pollPath(), body: '40' }), 2));
  it('transport=websocket without upgrade headers -> 400 code 3', async () => assertEioError(await get(wsPath()), 3));

  it('a path outside /socket.io/ -> 404', async () => {
    assert.equal((await get('/nope')).status, 404);
    assert.equal((await get('/')).status, 404);
    // No trailing slash: not an Engine.IO request (A1).
    assert.equal((await get('/socket.io?EIO=4&transport=polling')).status, 404);
  });

  it('keeps serving after all of the above', async () => {
    const res = await get(pollPath());
    assert.equal(res.status, 200);
  });
});

// ====== Polling sessions (A7, A10, A11) ======

describe('polling session (chat server)', TIMEOUT, () => {
  const srv = useServer(SIO_CHAT1);

  it('POST 40{auth} -> ok; GET -> CONNECT reply and the users event, batched', async () => {
    const poll = new Polling(srv.port);
    await poll.handshake();
    const post = await poll.post('40{"username":"alice"}');
    assert.equal(post.status, 200, show(post.raw));
    assert.equal(post.header('content-type'), 'text/html');
    assert.equal(post.text, 'ok');
    const res = await poll.get();
    assert.equal(res.status, 200, show(res.raw));
    assert.equal(res.header('content-type'), 'text/plain; charset=UTF-8');
    const m = res.text.match(/^40\{"sid":"([A-Za-z0-9_-]{20})"\}\x1e/);
    assert.ok(m, `CONNECT reply expected first, got "${show(res.text)}"`);
    const id = m[1];
    assert.notEqual(id, poll.sid, 'the socket id differs from the Engine.IO sid');
    assert.equal(res.text, `40{"sid":"${id}"}${RS}42["users",[{"userID":"${id}","username":"alice"}]]`);
  });

  it('a second concurrent GET -> 400; the held GET gets the close packet; the sid is gone', async () => {
    const poll = new Polling(srv.port);
    await poll.handshake();
    const first = poll.get({ timeoutMs: 5000 }); // nothing queued: the server holds it
    await settle(); // no observable "GET is held" signal: give the server a moment to read it
    const second = await poll.get();
    assert.equal(second.status, 400, show(second.raw));
    assert.equal(second.text, '', 'Node answers the duplicate GET with an empty body');
    const held = await first;
    assert.equal(held.status, 200, show(held.raw));
    assert.equal(held.text, '1');
    assertEioError(await poll.get(), 1);
  });

  it('POST 1 closes the session: POST ok, held GET gets noop 6, then 400 code 1', async () => {
    const poll = new Polling(srv.port);
    await poll.handshake();
    const held = poll.get({ timeoutMs: 5000 });
    await settle(); // let the server hold the GET first
    const post = await poll.post('1');
    assert.equal(post.status, 200, show(post.raw));
    assert.equal(post.text, 'ok');
    const h = await held;
    assert.equal(h.status, 200, show(h.raw));
    assert.equal(h.text, '6');
    assertEioError(await poll.get(), 1);
  });

  it('a client ping 2 is a protocol error in v4: the session is closed', async () => {
    const poll = new Polling(srv.port);
    await poll.handshake();
    const held = poll.get({ timeoutMs: 5000 });
    await settle(); // let the server hold the GET first
    await poll.post('2'); // Node answers ok; the status is not part of the contract
    const h = await held;
    assert.equal(h.status, 200, show(h.raw));
    assert.equal(h.text, '1', 'the held GET carries the close packet');
    assertEioError(await poll.get(), 1);
  });

  it('an undecodable packet closes the session; the next GET gets 400 code 1', async () => {
    const poll = new Polling(srv.port);
    await poll.handshake();
    await poll.post('9abc'); // Node: 200 ok, session closed with "parse error" (a 400 is acceptable)
    assertEioError(await poll.get(), 1);
  });

  it('keep-alive: two pipelined handshakes on one connection get two responses, in order', async () => {
    const conn = await RawConn.open(srv.port);
    const one = buildRequest({ port: srv.port, path: pollPath('&t=first111') });
    const two = buildRequest({ port: srv.port, path: pollPath('&t=second22') });
    conn.write(Buffer.concat([one, two])); // a single write: both requests in one segment
    const [a, b] = await conn.readResponses(2);
    for (const r of [a, b]) {
      assert.equal(r.status, 200, show(r.raw));
      assert.match(r.text, /^0\{"sid":"[A-Za-z0-9_-]{20}","upgrades":\["websocket"\]/);
    }
    assert.notEqual(JSON.parse(a.text.slice(1)).sid, JSON.parse(b.text.slice(1)).sid);
    // The connection is still usable afterwards.
    conn.write(buildRequest({ port: srv.port, path: pollPath() }));
    assert.equal((await conn.readResponse()).status, 200);
    conn.destroy();
  });
});

describe('heartbeat over polling (conformance: pingInterval 300, pingTimeout 200)', TIMEOUT, () => {
  const srv = useServer(SIO_CONFORMANCE);

  // Joins "/" first so that connectTimeout (1000 ms) cannot be what ends the session.
  async function joined() {
    const poll = new Polling(srv.port);
    const t0 = Date.now();
    await poll.handshake();
    assert.equal((await poll.post('40')).text, 'ok');
    const got = await poll.collect(2);
    assert.match(got[0], /^40\{"sid":"[A-Za-z0-9_-]{20}"\}$/);
    assert.equal(got[1], '42["auth",{}]');
    return { poll, t0 };
  }

  it('pings after pingInterval; without a pong the session is gone soon after', async () => {
    const { poll, t0 } = await joined();
    const res = await poll.get({ timeoutMs: 1000 });
    assert.equal(res.status, 200, show(res.raw));
    assert.equal(res.text, '2', 'the server ping');
    assert.ok(Date.now() - t0 >= 250, `ping came ${Date.now() - t0} ms after the handshake, before pingInterval`);
    // No pong: gone by pingInterval + pingTimeout (500 ms); allow scheduling slack up to ~1.3 s.
    // A GET held at the deadline is answered 1; after that every request gets 400 code 1.
    const seen = [];
    await until(async () => {
      const r = await poll.get({ timeoutMs: 1000 });
      seen.push(r.status === 200 ? r.text : `${r.status} ${r.text}`);
      return r.status === 400 && r.text === EIO_ERRORS[1];
    }, 1000, `the session to expire (answers so far: ${JSON.stringify(seen)})`);
    assert.ok(seen.every((s) => s === '1' || s.startsWith('400')), `unexpected answers: ${JSON.stringify(seen)}`);
  });

  it('with pongs the session stays alive past 1.5 s', async () => {
    const { poll, t0 } = await joined();
    let pings = 0;
    while (Date.now() - t0 < 1600) {
      const res = await poll.get({ timeoutMs: 1000 });
      assert.equal(res.status, 200, show(res.raw));
      for (const p of res.packets) {
        assert.equal(p, '2', `only pings expected, got "${show(p)}"`);
        pings++;
        const pong = await poll.post('3');
        assert.equal(pong.text, 'ok', show(pong.raw));
      }
    }
    assert.ok(pings >= 3, `expected a ping about every 300 ms, got ${pings} in 1.6 s`);
  });
});

// ====== maxHttpBufferSize (A7 POST, A8) ======

describe('maxHttpBufferSize 1000 (chat --max-http-buffer-size 1000)', TIMEOUT, () => {
  const srv = useServer(SIO_CHAT1, ['--max-http-buffer-size', '1000']);
  // An event nobody listens for, padded to exactly n bytes: 42["ignored","aaa…"].
  const padded = (n) => `42["ignored","${'a'.repeat(n - 16)}"]`;

  it('advertises maxPayload 1000', async () => {
    const res = await request(srv.port, { path: pollPath() });
    const open = JSON.parse(res.text.slice(1));
    assert.equal(res.text, openBody(open.sid, ['websocket'], 25000, 20000, 1000));
  });

  it('accepts a 1000-byte POST and answers 413 to a 1001-byte one', async () => {
    const poll = new Polling(srv.port);
    await poll.handshake();
    assert.equal((await poll.post('40{"username":"alice"}')).text, 'ok');
    assert.equal((await poll.collect(2)).length, 2);
    assert.equal(padded(1000).length, 1000);
    const ok = await poll.post(padded(1000));
    assert.equal(ok.status, 200, show(ok.raw));
    assert.equal(ok.text, 'ok');
    const big = await poll.post(padded(1001));
    assert.equal(big.status, 413, show(big.raw));
  });

  it('closes a WebSocket with 1009 on a 1001-byte message', async () => {
    const eio = await EioSocket.connect(srv.port);
    eio.send(padded(1001));
    const r = await eio.waitClose(2000);
    assert.ok(r.close, `expected a close frame, got TCP close (${JSON.stringify(r)})`);
    assert.equal(r.close.code, 1009);
  });

  it('lets a 1000-byte WebSocket message through', async () => {
    const alice = await EioSocket.connect(srv.port);
    alice.send('40{"username":"alice"}');
    assert.match(await alice.next(), /^40\{"sid"/);
    assert.match(await alice.next(), /^42\["users"/);
    alice.send(padded(1000));
    // Still alive: alice hears about the next user.
    const bob = await EioSocket.connect(srv.port);
    bob.send('40{"username":"bob"}');
    assert.match(await alice.next(), /^42\["user connected",\{"userID":"[A-Za-z0-9_-]{20}","username":"bob"\}\]$/);
    alice.destroy();
    bob.destroy();
  });
});

// ====== CORS (A12) ======

const vary = (res) => res.headerAll('vary').join(', ');
const preflight = (port, origin, extra = '') => request(port, {
  method: 'OPTIONS', path: pollPath(extra),
  headers: [['Origin', origin], ['Access-Control-Request-Method', 'POST'], ['Access-Control-Request-Headers', 'content-type']],
});

describe('CORS with the default origin http://localhost:8080', TIMEOUT, () => {
  const srv = useServer(SIO_CHAT1);

  it('GET responses carry the fixed origin and Vary: Origin, with or without Origin', async () => {
    for (const headers of [[], [['Origin', 'http://localhost:8080']], [['Origin', 'http://evil.test']]]) {
      const res = await request(srv.port, { path: pollPath(), headers });
      assert.equal(res.status, 200);
      assert.equal(res.header('access-control-allow-origin'), 'http://localhost:8080', show(res.raw));
      assert.equal(vary(res), 'Origin', show(res.raw));
      assert.equal(res.header('access-control-allow-credentials'), undefined);
    }
  });

  it('POST answers and JSON error answers carry them too', async () => {
    const poll = new Polling(srv.port);
    await poll.handshake();
    const post = await poll.post('40{"username":"alice"}');
    assert.equal(post.header('access-control-allow-origin'), 'http://localhost:8080', show(post.raw));
    assert.equal(vary(post), 'Origin');
    const err = await request(srv.port, { path: '/socket.io/?EIO=4&transport=foo' });
    assertEioError(err, 0);
    assert.equal(err.header('access-control-allow-origin'), 'http://localhost:8080', show(err.raw));
    assert.equal(vary(err), 'Origin');
  });

  it('answers an OPTIONS preflight itself with 204', async () => {
    for (const extra of ['', '&sid=AAAAAAAAAAAAAAAAAAAA']) { // any query string: no sid check
      const res = await preflight(srv.port, 'http://evil.test', extra);
      assert.equal(res.status, 204, show(res.raw));
      assert.equal(res.header('access-control-allow-origin'), 'http://localhost:8080');
      assert.equal(vary(res), 'Origin, Access-Control-Request-Headers');
      assert.equal(res.header('access-control-allow-methods'), 'GET,HEAD,PUT,PATCH,POST,DELETE');
      assert.equal(res.header('access-control-allow-headers'), 'content-type');
      assert.equal(res.header('access-control-allow-credentials'), undefined);
      assert.equal(res.body.length, 0);
      if (res.header('content-length') !== undefined) assert.equal(res.header('content-length'), '0');
    }
  });
});

describe('CORS with two origins (--cors-origin http://a.test --cors-origin http://b.test)', TIMEOUT, () => {
  const srv = useServer(SIO_CHAT1, ['--cors-origin', 'http://a.test', '--cors-origin', 'http://b.test']);

  it('echoes a listed Origin', async () => {
    for (const origin of ['http://a.test', 'http://b.test']) {
      const res = await request(srv.port, { path: pollPath(), headers: [['Origin', origin]] });
      assert.equal(res.status, 200);
      assert.equal(res.header('access-control-allow-origin'), origin, show(res.raw));
      assert.equal(vary(res), 'Origin');
    }
  });

  it('omits Access-Control-Allow-Origin for any other Origin (or none)', async () => {
    for (const headers of [[['Origin', 'http://evil.test']], []]) {
      const res = await request(srv.port, { path: pollPath(), headers });
      assert.equal(res.status, 200);
      assert.equal(res.header('access-control-allow-origin'), undefined, show(res.raw));
      assert.equal(vary(res), 'Origin');
    }
    const pre = await preflight(srv.port, 'http://evil.test');
    assert.equal(pre.status, 204, show(pre.raw));
    assert.equal(pre.header('access-control-allow-origin'), undefined, show(pre.raw));
  });

  it('echoes a listed Origin in a preflight', async () => {
    const pre = await preflight(srv.port, 'http://b.test');
    assert.equal(pre.status, 204, show(pre.raw));
    assert.equal(pre.header('access-control-allow-origin'), 'http://b.test');
  });
});

describe('CORS with --cors-credentials', TIMEOUT, () => {
  const srv = useServer(SIO_CHAT1, ['--cors-credentials']);

  it('adds Access-Control-Allow-Credentials: true to responses and preflights', async () => {
    const res = await request(srv.port, { path: pollPath(), headers: [['Origin', 'http://localhost:8080']] });
    assert.equal(res.header('access-control-allow-origin'), 'http://localhost:8080', show(res.raw));
    assert.equal(res.header('access-control-allow-credentials'), 'true', show(res.raw));
    const pre = await preflight(srv.port, 'http://localhost:8080');
    assert.equal(pre.status, 204);
    assert.equal(pre.header('access-control-allow-credentials'), 'true', show(pre.raw));
  });
});

// ====== Upgrade from polling to WebSocket, by hand (A9) ======

describe('upgrade from polling to WebSocket (chat server)', TIMEOUT, () => {
  const srv = useServer(SIO_CHAT1);

  it('2probe/3probe, noop for the held GET, 5, then polling is refused and the WebSocket carries traffic', async () => {
    // 1-2: polling session, CONNECT as alice.
    const poll = new Polling(srv.port);
    await poll.handshake();
    assert.equal((await poll.post('40{"username":"alice"}')).text, 'ok');
    const first = await poll.get();
    const aliceId = first.text.match(/^40\{"sid":"([A-Za-z0-9_-]{20})"\}/)?.[1];
    assert.ok(aliceId, show(first.raw));

    // The probe WebSocket with the sid: 101, and no open packet on it.
    const ws = await RawWebSocket.connect(srv.port, { path: wsPath(`&sid=${poll.sid}`), key: randomKey() });
    assert.equal(ws.response.status, 101, show(ws.response.raw));
    const held = poll.get({ timeoutMs: 5000 }); // the client keeps polling until it pauses
    await settle(); // let the server hold it

    // 3: the probe.
    ws.sendText('2probe');
    const probe = await ws.readFrame();
    assert.equal(probe.opcode, OP.TEXT);
    assert.equal(probe.text, '3probe', 'the only thing the server may write before 5');
    assert.equal(probe.raw.toString('hex'), '81063370726f6265');

    // 4: the held GET is ended with a noop.
    const h = await held;
    assert.equal(h.status, 200, show(h.raw));
    assert.equal(h.text, '6');

    // 5: upgrade. Polling is gone for this sid.
    ws.sendText('5');
    await settle(); // the 5 travels on another TCP connection than the next GET
    assertEioError(await poll.get(), 3);

    // 6: traffic flows on the WebSocket, both ways.
    const eio = new EioSocket(ws);
    const bob = await EioSocket.connect(srv.port);
    bob.send('40{"username":"bob"}');
    const bobId = (await bob.next()).match(/^40\{"sid":"([A-Za-z0-9_-]{20})"\}$/)?.[1];
    assert.ok(bobId);
    assert.equal(await eio.next(), `42["user connected",{"userID":"${bobId}","username":"bob"}]`);
    assert.equal(await bob.next(), `42["users",[{"userID":"${aliceId}","username":"alice"},{"userID":"${bobId}","username":"bob"}]]`);
    eio.send(`42["private message",{"content":"over ws","to":"${bobId}"}]`);
    assert.equal(await bob.next(), `42["private message",{"content":"over ws","from":"${aliceId}"}]`);
    eio.destroy();
    bob.destroy();
  });
});
