// SPDX-License-Identifier: MIT
// Hostile HTTP/1.1 input (bad-inputs.md B1, cases 1-20), byte for byte, against the hardening
// server (tests/servers/hardening.c). Each case sends the exact bytes, asserts the exact answer
// (status, Connection: close, body; then the TCP close), and then ctx.check(): alice and bob,
// connected before any attack, still exchange private messages, and the server's descriptor
// count is back to its baseline. A last test per server repeats the cheap attacks 200 times and
// checks that the server's RSS stays bounded.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, SIO_SERVER } from './helpers.mjs';
import { RawConn, buildRequest, request, pollPath, show, EIO_ERRORS, Polling } from './rawlib.mjs';
import { useHardening, rssKb, rssGrowth, rssBound, privateMessage, sleep } from './badlib.mjs';

const TIMEOUT = { timeout: 120000 }; // per describe; every wait inside is bounded far below this
const b = (s) => Buffer.from(s, 'latin1');

// Sends `bytes` on a new connection and reads one response, then waits for the server to close.
async function answer(port, bytes, { timeoutMs = 5000 } = {}) {
  const conn = await RawConn.open(port);
  conn.write(bytes);
  const res = await conn.readResponse({ timeoutMs });
  const closed = await conn.waitEnd(timeoutMs);
  conn.destroy();
  return { res, closed };
}

// The answer to a request the server refuses: `status`, Connection: close, an empty body, and
// the TCP connection closed after it.
function assertRefused({ res, closed }, status, what) {
  const where = `${what}: the answer was "${show(res.raw)}"`;
  assert.equal(res.status, status, where);
  assert.match(res.header('connection') ?? '', /^close$/i, where);
  assert.equal(res.body.length, 0, where);
  assert.equal(closed, true, `${what}: the connection must be closed after the ${status}`);
}

const handshake = (port, extra = '') => `GET ${pollPath(extra)} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`;

describe('B1 HTTP/1.1 parser (hardening server, defaults)', TIMEOUT, () => {
  const ctx = useHardening();

  it('1: non-HTTP bytes (a TLS ClientHello) -> 400 + close', async () => {
    const hello = Buffer.from('16030100a5010000a10303' + '00'.repeat(32) + '000020c02bc02fc02cc030cca9cca8c013c014009c009d002f0035c012000a0100', 'hex');
    assertRefused(await answer(ctx.port, hello), 400, 'TLS ClientHello');
    await ctx.check('a TLS ClientHello');
  });

  it('2: request line without HTTP version -> 400 + close (no HTTP/0.9 handshake)', async () => {
    const r = await answer(ctx.port, b(`GET ${pollPath()}\r\n\r\n`));
    assertRefused(r, 400, 'no version');
    assert.ok(!r.res.text.includes('"sid"'), 'no handshake served');
    await ctx.check('a request line without version');
  });

  it('3: bare LF line endings -> 400 + close', async () => {
    assertRefused(await answer(ctx.port, b(`GET ${pollPath()} HTTP/1.1\nHost: x\n\n`)), 400, 'bare LF');
    assertRefused(await answer(ctx.port, b(`GET ${pollPath()} HTTP/1.1\r\nHost: x\n\r\n`)), 400, 'one bare LF');
    await ctx.check('bare LF line endings');
  });

  it('4: a 17 KB header -> 431 + close; an endless header costs no more than the limit', async () => {
    const big = b(`GET ${pollPath()} HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(17 * 1024)}\r\n\r\n`);
    assertRefused(await answer(ctx.port, big), 431, '17 KB header');
    // A header that never ends: the server must answer 431 once it has 16 KB, not buffer 8 MB.
    const rss0 = rssKb(ctx.pid);
    const conn = await RawConn.open(ctx.port);
    conn.write(b(`GET ${pollPath()} HTTP/1.1\r\nHost: x\r\nX-Endless: `));
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    for (let sent = 0; sent < 8 * 1024 * 1024 && !conn.ended; sent += chunk.length) {
      conn.write(chunk);
      await new Promise((r) => setImmediate(r));
    }
    const res = await conn.readResponse({ timeoutMs: 5000 });
    assert.equal(res.status, 431, show(res.raw));
    assert.equal(await conn.waitEnd(5000), true, 'closed after the 431');
    const grown = rssKb(ctx.pid) - rss0;
    assert.ok(grown < rssBound(ctx.bin, 4096), `RSS grew by ${grown} KiB while an endless header was sent (limit: 16 KiB of head)`);
    await ctx.check('an oversized header');
  });

  it('5: a 20 KB request-target -> 414 + close (SIO_HTTP_MAX_TARGET 8192; Node would say 431)', async () => {
    const r = await answer(ctx.port, b(`GET ${pollPath(`&q=${'a'.repeat(20 * 1024)}`)} HTTP/1.1\r\nHost: x\r\n\r\n`));
    assertRefused(r, 414, '20 KB target');
    await ctx.check('an oversized request-target');
  });

  it('6: 2001 header lines with Upgrade/Sec-WebSocket-Key after them -> 431 + close', async () => {
    const many = 'a:b\r\n'.repeat(2001);
    const req = b(`GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\n${many}` +
      `Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`);
    assert.ok(req.length < 16384, 'under the size limit: only the count is over');
    assertRefused(await answer(ctx.port, req), 431, '2001 header lines');
    // 65 lines (one over SIO_HTTP_MAX_HEADERS 64) is already too many; 63 plus Host is fine.
    const n = (k) => Array.from({ length: k }, (_, i) => `a${i}: b\r\n`).join('');
    assertRefused(await answer(ctx.port, b(`GET ${pollPath()} HTTP/1.1\r\nHost: x\r\n${n(64)}\r\n`)), 431, '65 header lines');
    const ok = await request(ctx.port, { raw: b(`GET ${pollPath()} HTTP/1.1\r\nHost: x\r\n${n(63)}\r\n`) });
    assert.equal(ok.status, 200, show(ok.raw));
    await ctx.check('too many header lines');
  });

  it('7: header name with a space or a non-token byte -> 400 + close', async () => {
    for (const line of ['Bad Header: x', 'Bad(Header): x', 'X-A : x', '\x7fX: y', ': empty']) {
      assertRefused(await answer(ctx.port, b(`GET ${pollPath()} HTTP/1.1\r\nHost: x\r\n${line}\r\n\r\n`)), 400, JSON.stringify(line));
    }
    await ctx.check('bad header names');
  });

  it('8: obs-fold continuation line -> 400 + close', async () => {
    assertRefused(await answer(ctx.port, b(`GET ${pollPath()} HTTP/1.1\r\nHost: x\r\nX-A: y\r\n z\r\n\r\n`)), 400, 'obs-fold (space)');
    assertRefused(await answer(ctx.port, b(`GET ${pollPath()} HTTP/1.1\r\nHost: x\r\nX-A: y\r\n\tz\r\n\r\n`)), 400, 'obs-fold (tab)');
    await ctx.check('obs-fold');
  });

  it('9: CTL or NUL in the request-target or a header value -> 400 + close', async () => {
    assertRefused(await answer(ctx.port, b(`GET ${pollPath()} HTTP/1.1\r\nHost: x\r\nOrigin: http://a\x01b\r\n\r\n`)), 400, 'CTL in Origin');
    assertRefused(await answer(ctx.port, b(`GET ${pollPath()} HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n`)), 400, 'NUL in a value');
    assertRefused(await answer(ctx.port, b(`GET ${pollPath('&x=a\x00b')} HTTP/1.1\r\nHost: x\r\n\r\n`)), 400, 'NUL in the target');
    assertRefused(await answer(ctx.port, b(`GET ${pollPath('&x=a\x7fb')} HTTP/1.1\r\nHost: x\r\n\r\n`)), 400, 'DEL in the target');
    await ctx.check('control bytes');
  });

  it('10: two different Content-Length values -> 400 + close', async () => {
    const poll = new Polling(ctx.port);
    await poll.handshake();
    const req = b(`POST ${pollPath(`&sid=${poll.sid}`)} HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n40x`);
    assertRefused(await answer(ctx.port, req), 400, 'Content-Length 2 and 3');
    await ctx.check('two Content-Length values');
  });

  it('11: Content-Length with Transfer-Encoding: chunked (smuggling shape) -> 400 + close', async () => {
    const poll = new Polling(ctx.port);
    await poll.handshake();
    const req = b(`POST ${pollPath(`&sid=${poll.sid}`)} HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n40\r\n0\r\n\r\n`);
    assertRefused(await answer(ctx.port, req), 400, 'CL + TE');
    const req2 = b(`POST ${pollPath(`&sid=${poll.sid}`)} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n2\r\n40\r\n0\r\n\r\n`);
    assertRefused(await answer(ctx.port, req2), 400, 'TE + CL');
    await ctx.check('Content-Length with Transfer-Encoding');
  });

  it('12: negative, non-numeric and 25-digit Content-Length -> 400 + close', async () => {
    for (const v of ['-1', 'abc', '1234567890123456789012345', '18446744073709551617', '1e3', '0x10', '+5', '']) {
      const req = b(`POST ${pollPath('&sid=AAAAAAAAAAAAAAAAAAAA')} HTTP/1.1\r\nHost: x\r\nContent-Length: ${v}\r\n\r\n40`);
      assertRefused(await answer(ctx.port, req), 400, `Content-Length "${v}"`);
    }
    await ctx.check('bad Content-Length values');
  });

  it('13: chunked POST bodies -> 411 Length Required + close (chunked is not supported), malformed ones too', async () => {
    const poll = new Polling(ctx.port);
    await poll.handshake();
    const head = `POST ${pollPath(`&sid=${poll.sid}`)} HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n`;
    for (const body of ['2\r\n40\r\n0\r\n\r\n', 'zz\r\n40\r\n0\r\n\r\n', '11111111111111111\r\n40\r\n', '2\r\n40XX0\r\n\r\n']) {
      assertRefused(await answer(ctx.port, b(head + body)), 411, `chunked body ${JSON.stringify(body)}`);
    }
    // The session was not touched by any of it.
    assert.equal((await poll.post('40{"username":"carol"}')).text, 'ok');
    const got = await poll.collect(2);
    assert.match(got[0], /^40\{"sid":"[A-Za-z0-9_-]{20}"\}$/);
    await ctx.check('chunked bodies');
  });

  it('14: HTTP/1.1 without Host -> 400 + close (HTTP/1.0 without Host is fine)', async () => {
    assertRefused(await answer(ctx.port, b(`GET ${pollPath()} HTTP/1.1\r\n\r\n`)), 400, 'no Host');
    const ten = await answer(ctx.port, b(`GET ${pollPath()} HTTP/1.0\r\n\r\n`));
    assert.equal(ten.res.status, 200, show(ten.res.raw));
    assert.match(ten.res.text, /^0\{"sid":"[A-Za-z0-9_-]{20}"/);
    await ctx.check('requests without Host');
  });

  it('14 (RFC 9112 §3.2 MUST): two Host header lines -> 400 + close', async () => {
    assertRefused(await answer(ctx.port, b(`GET ${pollPath()} HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n`)), 400, 'two Host headers');
    await ctx.check('two Host headers');
  });

  it('15: unknown method BREW -> 400 code 2 on the Engine.IO path, 400 or 501 elsewhere; no crash', async () => {
    const r = await request(ctx.port, { method: 'BREW', path: pollPath() });
    assert.equal(r.status, 400, show(r.raw));
    assert.equal(r.text, EIO_ERRORS[2]);
    const other = await request(ctx.port, { method: 'BREW', path: '/coffee' });
    assert.ok([400, 501].includes(other.status), `BREW /coffee: expected 400 (Node) or 501 (RFC 9110), got "${show(other.raw)}"`);
    await ctx.check('an unknown method');
  });

  it('16: two pipelined requests in one segment -> both answered, in order', async () => {
    const conn = await RawConn.open(ctx.port);
    conn.write(b(handshake(ctx.port, '&t=first') + `GET /nope HTTP/1.1\r\nHost: x\r\n\r\n` + handshake(ctx.port, '&t=third')));
    const [one, two, three] = await conn.readResponses(3);
    assert.equal(one.status, 200, show(one.raw));
    assert.match(one.text, /^0\{"sid"/);
    assert.equal(two.status, 404, show(two.raw));
    assert.equal(three.status, 200, show(three.raw));
    assert.notEqual(one.text, three.text);
    conn.destroy();
    await ctx.check('pipelined requests');
  });

  it('17: requests split at every byte boundary -> same answers as unsplit', async () => {
    const poll = new Polling(ctx.port);
    await poll.handshake();
    const conn = await RawConn.open(ctx.port);
    const reqs = [
      b(handshake(ctx.port)),
      buildRequest({ method: 'POST', port: ctx.port, path: pollPath(`&sid=${poll.sid}`), headers: [['Content-Type', 'text/plain;charset=UTF-8']], body: '40{"username":"dave"}' }),
    ];
    for (const req of reqs) {
      for (const byte of req) {
        conn.write(Buffer.from([byte]));
        await sleep(1); // one byte per segment (TCP_NODELAY); the server must resume where it stopped
      }
      const res = await conn.readResponse({ timeoutMs: 5000 });
      assert.equal(res.status, 200, show(res.raw));
      if (req === reqs[0]) assert.match(res.text, /^0\{"sid":"[A-Za-z0-9_-]{20}"/);
      else assert.equal(res.text, 'ok');
    }
    conn.destroy();
    const got = await poll.collect(2);
    assert.match(got[0], /^40\{"sid":"[A-Za-z0-9_-]{20}"\}$/);
    assert.match(got[1], /^42\["session",\{"userID":"[A-Za-z0-9_-]{20}","username":"dave","room":"lobby"\}\]$/);
    await ctx.check('byte-split requests');
  });

  it('20: paths outside /socket.io/ -> 404; traversal shapes never reach a file', async () => {
    for (const p of ['/', '/nope', '/socket.io', '/../../etc/passwd', '/%2e%2e/%2e%2e/etc/passwd', '/a/%00', '//etc/passwd', '/..%2f..%2fetc%2fpasswd']) {
      const res = await request(ctx.port, { path: p });
      assert.equal(res.status, 404, `${p}: ${show(res.raw)}`);
      assert.ok(!res.text.includes('root:'), `${p} served /etc/passwd`);
    }
    // Under the Engine.IO path a traversal is just a request without a transport.
    const res = await request(ctx.port, { path: '/socket.io/../../etc/passwd' });
    assert.equal(res.status, 400, show(res.raw));
    assert.equal(res.text, EIO_ERRORS[0]);
    await ctx.check('paths outside /socket.io/');
  });

  it('memory: 200 repetitions of the cheap B1 attacks keep RSS bounded', async (t) => {
    const attacks = [
      () => answer(ctx.port, b('\x16\x03\x01\x00\xa5\x01\x00')),
      () => answer(ctx.port, b(`GET ${pollPath()} HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(17 * 1024)}\r\n\r\n`)),
      () => answer(ctx.port, b(`GET ${pollPath()}\n\n`)),
      () => answer(ctx.port, b(`POST ${pollPath('&sid=AAAAAAAAAAAAAAAAAAAA')} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n40x`)),
      () => answer(ctx.port, b(`GET ${pollPath()} HTTP/1.1\r\nHost: x\r\nX-A: y\r\n z\r\n\r\n`)),
      () => request(ctx.port, { path: pollPath() }), // a handshake left unused (expires later)
    ];
    const { base, growth } = await rssGrowth(ctx.pid, (i) => attacks[i % attacks.length](), { n: 200 * attacks.length });
    t.diagnostic(`RSS ${base} KiB before, +${growth} KiB after ${200 * attacks.length} attacks (200 of each)`);
    const bound = rssBound(ctx.bin, 8 * 1024);
    assert.ok(growth < bound, `RSS grew by ${growth} KiB (from ${base} KiB) over the repetitions; bound ${bound} KiB`);
    await ctx.check('the repetitions');
  });
});

describe('B1 slow clients (hardening --http-request-timeout 500 --http-keepalive-timeout 700)', TIMEOUT, () => {
  const ctx = useHardening(['--http-request-timeout', '500', '--http-keepalive-timeout', '700']);

  // alice <-> bob round trips while `during` runs; resolves to the slowest one (ms).
  async function latencyDuring(during) {
    let stop = false;
    let worst = 0;
    let n = 0;
    const pinger = (async () => {
      while (!stop) {
        worst = Math.max(worst, await privateMessage(ctx.alice, ctx.bob, `latency ${n++}`));
        await sleep(20);
      }
    })();
    try { await during(); } finally { stop = true; }
    await pinger;
    return { worst, n };
  }

  it('18: slowloris (headers trickled, never finished) -> closed at the request deadline; others unaffected', async () => {
    const conns = [];
    const { worst, n } = await latencyDuring(async () => {
      for (let i = 0; i < 50; i++) {
        const c = await RawConn.open(ctx.port);
        c.t0 = Date.now();
        c.write(b(`GET ${pollPath()} HTTP/1.1\r\nHost: x\r\n`));
        conns.push(c);
      }
      // Trickle one header line every 100 ms; the head never ends.
      const trickle = setInterval(() => { for (const c of conns) if (!c.ended) c.write(b('X-a: b\r\n')); }, 100);
      try {
        for (const c of conns) {
          assert.equal(await c.waitEnd(10000), true, 'a slowloris connection must be closed');
          c.t1 = Date.now();
        }
      } finally { clearInterval(trickle); }
    });
    for (const c of conns) {
      assert.equal(c.buf.length, 0, `nothing is answered to an unfinished head, got "${show(c.buf)}"`);
      assert.ok(c.t1 - c.t0 >= 400, `closed after ${c.t1 - c.t0} ms, before the 500 ms deadline`);
    }
    assert.ok(n > 0 && worst < 3000, `alice<->bob round trips during the attack: ${n}, worst ${worst} ms (generous bound 3000 ms)`);
    await ctx.check('slowloris');
  });

  it('19: slow body (Content-Length 100, 2 bytes, stall) -> closed at the request deadline', async () => {
    const poll = new Polling(ctx.port);
    await poll.handshake();
    const c = await RawConn.open(ctx.port);
    const t0 = Date.now();
    c.write(b(`POST ${pollPath(`&sid=${poll.sid}`)} HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n40`));
    assert.equal(await c.waitEnd(10000), true, 'the stalled POST must be closed');
    assert.ok(Date.now() - t0 >= 400, `closed after ${Date.now() - t0} ms, before the deadline`);
    assert.equal(c.buf.length, 0, `nothing answered: "${show(c.buf)}"`);
    await ctx.check('a slow body');
  });

  it('an idle keep-alive connection is closed after http_keepalive_timeout; a held GET is not', async () => {
    const c = await RawConn.open(ctx.port);
    c.write(b(handshake(ctx.port)));
    const res = await c.readResponse({ timeoutMs: 5000 });
    assert.equal(res.status, 200, show(res.raw));
    const t0 = Date.now();
    assert.equal(await c.waitEnd(5000), true, 'the idle keep-alive connection must be closed');
    assert.ok(Date.now() - t0 >= 600, `closed ${Date.now() - t0} ms after the answer (keep-alive timeout 700 ms)`);
    // A long-poll GET is held past both deadlines (the heartbeat covers it, 25 s here).
    const poll = new Polling(ctx.port);
    await poll.handshake();
    const held = await RawConn.open(ctx.port);
    held.write(buildRequest({ port: ctx.port, path: poll.url() }));
    assert.equal(await held.waitEnd(1500), false, 'a held GET must not be closed by the HTTP deadlines');
    assert.equal((await poll.post('40{"username":"kept"}')).text, 'ok');
    const got = await held.readResponse({ timeoutMs: 5000 });
    assert.match(got.text, /^40\{"sid":"[A-Za-z0-9_-]{20}"\}/);
    held.destroy();
    await ctx.check('keep-alive deadlines');
  });

  it('the deadline counts from the first byte: a head finished in time is served', async () => {
    const c = await RawConn.open(ctx.port);
    const req = b(handshake(ctx.port));
    c.write(req.subarray(0, 10));
    await sleep(200); // well inside the 500 ms deadline
    c.write(req.subarray(10));
    const res = await c.readResponse({ timeoutMs: 5000 });
    assert.equal(res.status, 200, show(res.raw));
    c.destroy();
    await ctx.check('a slow but timely head');
  });
});

describe('B1 case 20: path traversal on the static route (sio-server --web-dir)', TIMEOUT, () => {
  let server;
  let tmp;

  it('20: traversal shapes get 400/404 and never a file outside the web root', async (t) => {
    const help = await new Promise((resolve) => {
      import('node:child_process').then(({ execFile }) => execFile(SIO_SERVER, ['--help'], (err, out, errOut) => resolve(`${out}${errOut}`)));
    });
    if (!/--web-dir/.test(help)) { t.skip(`${SIO_SERVER} has no --web-dir`); return; }
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sio-traversal-'));
    fs.mkdirSync(path.join(tmp, 'web'));
    fs.writeFileSync(path.join(tmp, 'web', 'index.html'), '<p>hello</p>\n');
    fs.writeFileSync(path.join(tmp, 'secret.txt'), 'TOP-SECRET-OUTSIDE-THE-ROOT\n');
    fs.symlinkSync(path.join(tmp, 'secret.txt'), path.join(tmp, 'web', 'link.txt'));
    server = await startServer(SIO_SERVER, ['--store', 'memory', '--quiet', '--web-dir', path.join(tmp, 'web')]);
    try {
      const ok = await request(server.port, { path: '/index.html' });
      assert.equal(ok.status, 200, show(ok.raw));
      for (const p of ['/../secret.txt', '/%2e%2e/secret.txt', '/%2E%2E%2Fsecret.txt', '/..%2fsecret.txt', '/.%2e/secret.txt',
        '/index.html%00.txt', '/%00', '/..\\secret.txt', '/%5c..%5csecret.txt', '/link.txt', '/./../secret.txt', '/%252e%252e/secret.txt',
        '/../../../../../../etc/passwd']) {
        const res = await request(server.port, { path: p });
        assert.ok([400, 404].includes(res.status), `${p}: expected 400 or 404, got "${show(res.raw)}"`);
        assert.ok(!res.text.includes('TOP-SECRET') && !res.text.includes('root:'), `${p} served a file outside the root`);
      }
    } finally {
      assert.equal(await server.stop(), 0, server.output());
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});

