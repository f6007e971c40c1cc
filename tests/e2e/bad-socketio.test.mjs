// SPDX-License-Identifier: MIT
// Hostile Socket.IO packets (bad-inputs.md B5, cases 61-69) on the WebSocket transport, byte for
// byte, against the hardening server (--max-namespaces 4 --max-rooms 8, so both limits are
// reachable). A protocol violation closes the attacker's Engine.IO session and nothing else: no
// Socket.IO packet is sent about it, and ctx.check() then proves that alice and bob (connected
// before) still chat and that the server's descriptors are back to their baseline.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { show, EioSocket, Polling, encodeFrame, OP } from './rawlib.mjs';
import { useHardening, rssGrowth, rssBound } from './badlib.mjs';

const TIMEOUT = { timeout: 120000 }; // per describe; every wait inside is bounded far below this
const PH = (n) => `{"_placeholder":true,"num":${n}}`;
const ID_RE = /^40\{"sid":"([A-Za-z0-9_-]{20})"\}$/;

let roomSeq = 0;
// A WebSocket session joined to "/" in a room of its own (CONNECT reply and session event read).
async function joined(port, username = 'attacker') {
  const eio = await EioSocket.connect(port, { timeoutMs: 5000 });
  eio.send(`40{"username":"${username}","room":"attack-${++roomSeq}"}`);
  const m = (await eio.next(5000)).match(ID_RE);
  assert.ok(m, 'CONNECT reply');
  eio.id = m[1];
  assert.match(await eio.next(5000), /^42\["session",/);
  return eio;
}

// The session is closed without any Socket.IO packet about it.
async function assertClosed(eio, what) {
  const r = await eio.waitClose(5000);
  const sio = r.packets.filter((p) => typeof p !== 'string' || p[0] === '4');
  assert.deepEqual(sio.map(show), [], `${what}: no Socket.IO packet before the close`);
  eio.destroy();
}

// Sends `packets` (strings = text, Buffers = binary) on a joined session (or a bare one) and
// expects the session to be closed.
async function expectViolation(port, packets, { join = true } = {}) {
  const eio = join ? await joined(port) : await EioSocket.connect(port, { timeoutMs: 5000 });
  for (const p of packets) eio.send(p);
  await assertClosed(eio, packets.map((p) => (Buffer.isBuffer(p) ? `<binary ${p.toString('hex')}>` : p)).join(' then ').slice(0, 200));
}

// The session is still open and serves an echo with ack.
async function assertAlive(eio, what) {
  eio.send('4277["echo","alive"]');
  let p;
  do p = await eio.next(5000); while (p !== '4377["alive"]' && !(typeof p === 'string' && /^42\["(user connected|user disconnected)"/.test(p)));
  assert.equal(p, '4377["alive"]', `${what}: the session must still be open`);
}

describe('B5 Socket.IO packets (hardening --max-namespaces 4 --max-rooms 8)', TIMEOUT, () => {
  const ctx = useHardening(['--max-namespaces', '4', '--max-rooms', '8']);

  it('61: an event before CONNECT -> session closed at once', async () => {
    await expectViolation(ctx.port, ['42["echo","x"]'], { join: false });
    await expectViolation(ctx.port, ['421["echo","x"]'], { join: false });
    // The same over polling: the POST is answered, then the session is gone.
    const poll = new Polling(ctx.port);
    await poll.handshake();
    await poll.post('42["echo","x"]');
    const g = await poll.get();
    assert.ok(g.status === 400 || g.packets.at(-1) === '1', `GET after the violation: "${show(g.raw)}"`);
    assert.ok(!g.packets.some((p) => p.startsWith('4')), `no Socket.IO packet: "${show(g.raw)}"`);
    await ctx.check('an event before CONNECT');
  });

  it('62: CONNECT to an unknown namespace -> exactly 44/nope,{"message":"Invalid namespace"}; the session stays', async () => {
    const eio = await EioSocket.connect(ctx.port);
    eio.send('40/nope,');
    assert.equal(await eio.next(), '44/nope,{"message":"Invalid namespace"}');
    eio.send('40/nope');
    assert.equal(await eio.next(), '44/nope,{"message":"Invalid namespace"}');
    eio.send('40/n1x,{"username":"a"}'); // not /^\/n\d+$/
    assert.equal(await eio.next(), '44/n1x,{"message":"Invalid namespace"}');
    eio.send(`40/${'a'.repeat(5000)},`); // far over SIO_MAX_NSP_NAME: refused or closed, never a crash
    const p = await eio.next().catch(() => null);
    if (p !== null) {
      assert.match(p, /^44\//, `an overlong namespace: "${show(p).slice(0, 100)}"`);
      eio.send('40{"username":"late"}');
      assert.match(await eio.next(), ID_RE);
    }
    eio.destroy();
    await ctx.check('unknown namespaces');
  });

  it('62 (limit): max_namespaces 4 -> the fifth CONNECT gets CONNECT_ERROR "Too many namespaces"; the session stays', async () => {
    const eio = await joined(ctx.port, 'ns');
    for (const n of [1, 2, 3]) {
      eio.send(`40/n${n},{"username":"ns"}`);
      assert.match(await eio.next(), new RegExp(`^40/n${n},\\{"sid":"[A-Za-z0-9_-]{20}"\\}$`));
      assert.match(await eio.next(), new RegExp(`^42/n${n},\\["session",`));
    }
    eio.send('40/n4,{"username":"ns"}');
    assert.equal(await eio.next(), '44/n4,{"message":"Too many namespaces"}');
    await assertAlive(eio, 'after the namespace limit');
    eio.send('41/n3,'); // leaving one makes room again
    eio.send('4278["echo","after leaving"]'); // a round trip: the DISCONNECT has been processed
    assert.equal(await eio.next(), '4378["after leaving"]');
    eio.send('40/n4,{"username":"ns"}');
    assert.match(await eio.next(), /^40\/n4,\{"sid":"[A-Za-z0-9_-]{20}"\}$/);
    eio.destroy();
    await ctx.check('the namespace limit');
  });

  it('62 (limit): a DISCONNECT frees its slot for a CONNECT in the same read (packets are processed in order)', async () => {
    const eio = await joined(ctx.port, 'ns');
    for (const n of [1, 2, 3]) {
      eio.send(`40/n${n},{"username":"ns"}`);
      assert.match(await eio.next(), new RegExp(`^40/n${n},\\{"sid":"[A-Za-z0-9_-]{20}"\\}$`));
      assert.match(await eio.next(), new RegExp(`^42/n${n},\\["session",`));
    }
    eio.ws.conn.write(Buffer.concat([encodeFrame({ opcode: OP.TEXT, payload: '41/n3,' }), encodeFrame({ opcode: OP.TEXT, payload: '40/n4,{"username":"ns"}' })]));
    assert.match(await eio.next(), /^40\/n4,\{"sid":"[A-Za-z0-9_-]{20}"\}$/);
    eio.destroy();
    await ctx.check('the namespace limit');
  });

  it('max_rooms 8: the ninth named room is refused with SIO_ERR_LIMIT; the socket keeps working', async () => {
    const eio = await joined(ctx.port, 'rooms'); // already in 1 named room (its attack room)
    for (let i = 1; i <= 7; i++) {
      eio.send(`42${i}["join","r${i}"]`);
      assert.equal(await eio.next(), `43${i}[0,${i + 2}]`); // rc 0; own id room + attack room + r1..ri
    }
    eio.send('4299["join","r8"]');
    assert.equal(await eio.next(), '4399[-4,9]', 'SIO_ERR_LIMIT (-4), still 9 rooms');
    await assertAlive(eio, 'after the room limit');
    eio.destroy();
    await ctx.check('the room limit');
  });

  it('63: CONNECT twice to "/" -> close', async () => {
    await expectViolation(ctx.port, ['40{"username":"again"}']);
    await ctx.check('CONNECT twice');
  });

  it('63: the client sends CONNECT_ERROR 44{} -> close', async () => {
    await expectViolation(ctx.port, ['44{}']);
    await expectViolation(ctx.port, ['44"x"'], { join: false });
    await ctx.check('a client CONNECT_ERROR');
  });

  it('63: CONNECT with a non-object payload (40"x", 40[1], 40null, 40/n1,"x") or broken JSON -> close', async () => {
    for (const p of ['40"x"', '40[1]', '40null', '40/n1,"x"', '40{"username":"a"', '40{"username":"a"}x']) {
      await expectViolation(ctx.port, [p], { join: false });
    }
    await ctx.check('non-object CONNECT payloads');
  });

  it('63: DISCONNECT with a payload (41"x") -> close', async () => {
    await expectViolation(ctx.port, ['41"x"']);
    await expectViolation(ctx.port, ['41{}']);
    await ctx.check('a DISCONNECT with a payload');
  });

  it('64: unknown packet type 49 / 4a, bad JSON 42["echo", empty array 42[] -> close', async () => {
    for (const p of ['49', '47[]', '4a', '42["echo"', '42[]', '42{}', '42"echo"', '42["echo"]]', '42["echo",]', '42["echo" "x"]']) {
      await expectViolation(ctx.port, [p]);
    }
    await ctx.check('undecodable packets');
  });

  it('65: event name not a string or number -> close', async () => {
    for (const p of ['42[{"toString":"foo"}]', '42[null]', '42[true,"x"]', '42[["echo"]]', '42[{}]']) {
      await expectViolation(ctx.port, [p]);
    }
    await ctx.check('non-string event names');
  });

  it('65: reserved event names -> close', async () => {
    for (const name of ['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener']) {
      await expectViolation(ctx.port, [`42["${name}","x"]`]);
    }
    await ctx.check('reserved event names');
  });

  it('65: an event named "error" (and a numeric name) is an ordinary event: no crash, the session stays', async () => {
    const eio = await joined(ctx.port);
    eio.send('42["error","boom"]');
    eio.send('421["error","boom"]'); // no handler: no ack, nothing happens
    eio.send('42[1,"x"]');
    eio.send('42["__proto__","x"]');
    eio.send('42["constructor","x"]');
    eio.send(`42["${'e'.repeat(300)}","x"]`); // longer than SIO_MAX_EVENT_NAME: matches nothing
    await assertAlive(eio, 'after "error" and friends');
    eio.destroy();
    await ctx.check('an "error" event');
  });

  it('66: ack ids: 1 and 15 digits are echoed; 16 and 21 digits close; an ACK for an unknown id is ignored', async () => {
    const eio = await joined(ctx.port);
    eio.send('421["echo","x"]');
    assert.equal(await eio.next(), '431["x"]');
    eio.send('42999999999999999["echo","x"]');
    assert.equal(await eio.next(), '43999999999999999["x"]');
    eio.send('43999[1]');
    eio.send('43123456789012345["unknown"]');
    await assertAlive(eio, 'after ACKs for unknown ids');
    eio.destroy();
    await expectViolation(ctx.port, ['429999999999999999["echo","x"]']); // 16 digits
    await expectViolation(ctx.port, ['42100000000000000000000["echo","x"]']); // 1e20: 21 digits
    await expectViolation(ctx.port, [`42${'9'.repeat(400)}["echo","x"]`]);
    await expectViolation(ctx.port, ['42abc["echo","x"]']);
    await ctx.check('ack ids');
  });

  it('67: binary attachments: a valid one is echoed (positive control); 0 attachments deliver at once', async () => {
    const eio = await joined(ctx.port);
    eio.send(`451-1["echo",${PH(0)}]`);
    eio.send(Buffer.from([1, 2, 3]));
    assert.equal(await eio.next(), `461-1[${PH(0)}]`);
    assert.deepEqual(await eio.next(), Buffer.from([1, 2, 3]));
    eio.send('450-2["echo","x"]');
    assert.equal(await eio.next(), '432["x"]');
    eio.destroy();
    await ctx.check('valid attachments');
  });

  it('67: 11 attachments, non-numeric, negative or missing count, bad placeholders, text while pending, stray binary -> close', async () => {
    const bin = Buffer.from([9]);
    const bad = [
      [`4511-["echo",${PH(0)}]`],
      [`45x-["echo",${PH(0)}]`, bin],
      [`45-1-["echo",${PH(0)}]`, bin],
      [`451["echo",${PH(0)}]`, bin],
      [`4599999999999999999999-["echo",${PH(0)}]`],
      ['451-["echo",{"_placeholder":true,"num":"splice"}]', bin],
      ['451-["echo",{"_placeholder":true,"num":1}]', bin],
      ['451-["echo",{"_placeholder":true,"num":-1}]', bin],
      ['451-["echo",{"_placeholder":true,"num":0.5}]', bin],
      ['451-["echo",{"_placeholder":true,"num":"0"}]', bin],
      ['451-["echo",{"_placeholder":true}]', bin],
      [`452-["echo",${PH(0)},${PH(1)}]`, bin, '42["echo","text while pending"]'],
      [bin],
      [`451-["ignored",${PH(0)}]`, bin, bin], // one attachment too many
    ];
    for (const packets of bad) await expectViolation(ctx.port, packets);
    await ctx.check('bad attachments');
  });

  it('67: a string "_placeholder":"true" is plain data (or a close); never a crash', async () => {
    const eio = await joined(ctx.port);
    eio.send('421["echo",{"_placeholder":"true","num":0}]');
    const p = await eio.next().catch(() => null);
    if (p !== null) {
      assert.equal(p, '431[{"_placeholder":"true","num":0}]');
      await assertAlive(eio, 'after a string placeholder');
    }
    eio.destroy();
    await ctx.check('a string placeholder');
  });

  it('68: a JSON nesting bomb -> close, no stack overflow; depth 64 is accepted, 65 is not', async () => {
    await expectViolation(ctx.port, [`42["echo",${'['.repeat(100000)}${']'.repeat(100000)}]`]);
    await expectViolation(ctx.port, [`42["echo",${'{"a":'.repeat(50000)}1${'}'.repeat(50000)}]`]);
    await expectViolation(ctx.port, [`42["echo",${'['.repeat(100000)}`]); // never closed
    // The event array is level 1, so 63 more levels make 64 (SIO_JSON_MAX_DEPTH): accepted.
    const eio = await joined(ctx.port);
    const deep = `${'['.repeat(63)}${']'.repeat(63)}`;
    eio.send(`421["echo",${deep}]`);
    assert.equal(await eio.next(), `431[${deep}]`);
    eio.destroy();
    await expectViolation(ctx.port, [`421["echo",${'['.repeat(64)}${']'.repeat(64)}]`]);
    await ctx.check('nesting bombs');
  });

  it('68: lone surrogates, \\u0000, 400-digit numbers, duplicate keys -> no crash; re-encoded as JSON.stringify does', async () => {
    const eio = await joined(ctx.port);
    const cases = [
      ['"\\ud800"', '"\\ud800"'],
      ['"\\udc00\\ud800x"', '"\\udc00\\ud800x"'],
      ['"\\ud83d\\ude00"', '"😀"'],
      ['"a\\u0000b\\u001e"', '"a\\u0000b\\u001e"'],
      ['"\\u00e9\\/\\b"', '"é/\\b"'],
      ['"\\u2028"', '"\u2028"'],
    ];
    let id = 10;
    for (const [input, want] of cases) {
      eio.send(`42${id}["echo-decoded",${input}]`);
      assert.equal(await eio.next(), `43${id}[${want}]`, `echo-decoded ${input}`);
      id++;
    }
    const relayed = ['9'.repeat(400), `-${'1'.repeat(400)}e-99999`, '{"a":1,"a":2}', '"\\ud800"', '1e400'];
    for (const v of relayed) {
      eio.send(`42${id}["echo",${v}]`);
      assert.equal(await eio.next(), `43${id}[${v}]`, `echo ${v.slice(0, 40)}`);
      id++;
    }
    eio.destroy();
    await ctx.check('odd JSON values');
  });

  it('69: tutorial handlers with hostile data: bad usernames are refused, odd private messages reach no one', async () => {
    const eio = await EioSocket.connect(ctx.port);
    for (const auth of ['{"username":""}', '{}', '{"username":null}', '{"username":123}', '{"username":false}', `{"sessionID":"${'s'.repeat(10240)}"}`, '{"username":{"toString":"x"}}']) {
      eio.send(`40${auth}`);
      assert.equal(await eio.next(), '44{"message":"invalid username"}', `auth ${auth.slice(0, 60)}`);
    }
    eio.send(`40{"sessionID":"${'s'.repeat(10240)}","username":"mallory","room":"victims"}`); // lookup miss: username wins
    const m = (await eio.next()).match(ID_RE);
    assert.ok(m);
    const mallory = m[1];
    assert.match(await eio.next(), /^42\["session",\{"userID":"[A-Za-z0-9_-]{20}","username":"mallory","room":"victims"\}\]$/);
    await ctx.bob.expect((p) => p.startsWith(`42["user connected",{"userID":"${mallory}"`), 5000, 'mallory joining');
    const bob = ctx.bob.id;
    for (const msg of [
      '{"to":123,"content":"n"}', '{"content":"no to"}', '{"to":"AAAAAAAAAAAAAAAAAAAA","content":"unknown"}',
      '"notAnObject"', 'null', '[1,2]', `{"to":["${bob}"],"content":"array"}`, `{"to":"${bob}x","content":"near miss"}`,
      `{"to":"${mallory}","content":"to myself"}`, `{"to":{"toString":"${bob}"},"content":"object"}`,
    ]) eio.send(`42["private message",${msg}]`);
    eio.send('42["private message"]');
    eio.send(`42["private message",{"to":"${bob}","content":null}]`); // intended: delivered with null
    eio.send(`42["private message",{"to":"${bob}","content":"marker"}]`);
    await ctx.bob.expect((p) => p.includes('"private message"'), 5000, 'the first delivered message').then((p) =>
      assert.equal(p, `42["private message",{"content":null,"from":"${mallory}"}]`, 'nothing but the intended messages reaches bob'));
    assert.equal(await ctx.bob.expect((p) => p.includes('"private message"'), 5000, 'the marker'),
      `42["private message",{"content":"marker","from":"${mallory}"}]`);
    assert.ok(!ctx.alice.inbox.some((p) => typeof p === 'string' && p.startsWith('42["private message"')), 'alice got none of them');
    await assertAlive(eio, 'mallory after the odd messages');
    eio.destroy();
    await ctx.bob.expect(`42["user disconnected","${mallory}"]`, 5000, 'mallory leaving');
    await ctx.check('hostile tutorial data');
  });

  it('memory: 200 repetitions of the B5 violations keep RSS bounded', async (t) => {
    const attacks = [
      ['49'], ['42["echo"'], ['42[null]'], ['42["disconnect"]'], ['429999999999999999["echo"]'],
      [`4511-["echo",${PH(0)}]`], [`42["echo",${'['.repeat(2000)}`], ['40{"username":"again"}'],
    ];
    const { base, growth } = await rssGrowth(ctx.pid, (i) => expectViolation(ctx.port, attacks[i % attacks.length]), { n: 200 * attacks.length });
    t.diagnostic(`RSS ${base} KiB before, +${growth} KiB after ${200 * attacks.length} attacks (200 of each)`);
    const bound = rssBound(ctx.bin, 8 * 1024);
    assert.ok(growth < bound, `RSS grew by ${growth} KiB (from ${base} KiB); bound ${bound} KiB`);
    await ctx.check('the repetitions');
  });
});

describe('B5 case 62: connectTimeout after a refused CONNECT (hardening --connect-timeout 800)', TIMEOUT, () => {
  const ctx = useHardening(['--connect-timeout', '800']);

  it('62: a session that only tried unknown namespaces is closed after connectTimeout', async () => {
    const eio = await EioSocket.connect(ctx.port);
    eio.send('40/nope,');
    assert.equal(await eio.next(), '44/nope,{"message":"Invalid namespace"}');
    const t0 = Date.now();
    const r = await eio.waitClose(5000);
    assert.deepEqual(r.packets.map(show), [], 'nothing but the close');
    assert.ok(Date.now() - t0 < 4000, `closed ${Date.now() - t0} ms later`);
    eio.destroy();
    await ctx.check('connectTimeout');
  });
});
