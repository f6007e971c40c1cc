// SPDX-License-Identifier: MIT
// Issue 7, sticky sessions: nginx in front of several ./sio-server nodes joined through Redis,
// with the stock socket.io-client, using the example configurations in examples/nginx/ as they
// are shipped (only the addresses are rewritten):
//   - sio-cluster.conf: each node marks its Engine.IO sids with --sid-prefix nK and nginx routes
//     every request that carries a sid to the node that made it; polling-only, default (polling
//     then upgrade) and websocket-only clients on different nodes chat with each other;
//   - sio-websocket-only.conf: plain round-robin, websocket-only clients, no stickiness needed;
//   - the negative control: the same round-robin with polling gets 400 "Session ID unknown".
//
// Every test starts its own redis-server, nodes and nginx (one process: master_process off) on
// free loopback ports, with nginx's pid, logs and temp files in a temp dir, and stops all of them
// by PID. Without nginx or redis-server the suite prints a SKIPPED banner.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { ROOT, SIO_SERVER, startServer, stopServer, until } from './helpers.mjs';
import { chatClient, connect, connectExpectingError, waitEvent, freePort, tempDir, rmTemp, HEX16 } from './chatlib.mjs';
import { REDIS_SERVER, startRedis, clusterReady } from './redislib.mjs';

const TIMEOUT = { timeout: 60000 };
const EXAMPLES = path.join(ROOT, 'examples', 'nginx');
const STICKY_CONF = path.join(EXAMPLES, 'sio-cluster.conf');
const WS_ONLY_CONF = path.join(EXAMPLES, 'sio-websocket-only.conf');
const POLLING = { transports: ['polling'], upgrade: false };
const DEFAULT = {};
const WEBSOCKET = { transports: ['websocket'] };

// nginx is often in /usr/sbin, which is not on a user's PATH.
function findNginx() {
  if (process.env.NGINX) return process.env.NGINX;
  const r = spawnSync('sh', ['-c', 'command -v nginx || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; }'],
    { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() ? r.stdout.trim() : null;
}
const NGINX = findNginx();
const missing = [!NGINX && 'nginx', !REDIS_SERVER && 'redis-server'].filter(Boolean).join(' and ');
if (missing) {
  console.log([
    '',
    '#####################################################################',
    `### SKIPPED: nginx tests (${missing} not installed;`,
    '### as root, tests/deps.sh installs them with apt-get)',
    '#####################################################################',
    '',
  ].join('\n'));
}
const SKIP = missing ? `SKIPPED: ${missing} not installed` : false;

// Every nginx started here, killed on exit if a test failed before stopping it.
const children = new Set();
process.on('exit', () => { for (const p of children) { try { p.kill('SIGKILL'); } catch { /* gone */ } } });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- nginx ----

// The example `file` with the addresses of this test: `listen` on 127.0.0.1:port, one map line
// ("~^nK" 127.0.0.1:P;) and one upstream line (server 127.0.0.1:P;) per node in place of the
// example's. Throws if the example no longer has the lines this relies on.
function renderConf(file, port, nodes) {
  const text = fs.readFileSync(file, 'utf8');
  const seen = { map: 0, server: 0, listen: 0 };
  const lines = text.split('\n').flatMap((line) => {
    let m;
    if ((m = line.match(/^(\s*)"~\^\w+"\s+127\.0\.0\.1:\d+;$/))) {
      return seen.map++ ? [] : nodes.map((n) => `${m[1]}"~^${n.prefix}"   127.0.0.1:${n.port};`);
    }
    if ((m = line.match(/^(\s*)server 127\.0\.0\.1:\d+;$/))) {
      return seen.server++ ? [] : nodes.map((n) => `${m[1]}server 127.0.0.1:${n.port};`);
    }
    if ((m = line.match(/^(\s*)listen \d+;$/))) {
      seen.listen++;
      return [`${m[1]}listen 127.0.0.1:${port};`];
    }
    return [line];
  });
  assert.ok(seen.server > 0 && seen.listen === 1, `${file}: no upstream server lines or no single listen line`);
  if (file === STICKY_CONF) assert.ok(seen.map > 0, `${file}: no "~^nK" map lines`);
  return lines.join('\n');
}

// Starts nginx with `file` (rendered by renderConf) included in a minimal main configuration:
// one process in the foreground, pid, logs and temp paths in its own temp dir, an access log
// that records where each request went ($upstream_addr). Resolves to
// { port, url, dir, accessLog(), stop() } once it accepts connections.
async function startNginx(file, nodes) {
  const dir = tempDir('sio-nginx-');
  const port = await freePort();
  fs.writeFileSync(path.join(dir, 'sio.conf'), renderConf(file, port, nodes));
  const t = (name) => path.join(dir, name);
  fs.writeFileSync(t('nginx.conf'), [
    'daemon off;',
    'master_process off;',
    `pid ${t('nginx.pid')};`,
    `error_log ${t('error.log')} info;`,
    'events { worker_connections 512; }',
    'http {',
    '    log_format sio "$request_method $request_uri $status up=$upstream_addr";',
    `    access_log ${t('access.log')} sio;`,
    ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((k) => `    ${k}_temp_path ${t(k)};`),
    `    include ${t('sio.conf')};`,
    '}',
    '',
  ].join('\n'));
  const proc = spawn(NGINX, ['-c', t('nginx.conf'), '-p', `${dir}/`, '-e', t('error.log')],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(proc);
  let out = '';
  proc.stdout.on('data', (d) => { out += d; });
  proc.stderr.on('data', (d) => { out += d; });
  const exited = new Promise((resolve) => proc.on('exit', (code, sig) => { children.delete(proc); resolve(code ?? sig); }));
  const errors = () => `${out}${fs.existsSync(t('error.log')) ? fs.readFileSync(t('error.log'), 'utf8') : ''}`;
  await until(async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`nginx exited: ${errors()}`);
    return new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); });
      s.on('error', () => resolve(false));
    });
  }, 10000, `nginx on port ${port}`);
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    dir,
    errors,
    // The access log as [{ method, uri, status, up }] (nginx writes each line when the request ends).
    accessLog: () => fs.readFileSync(t('access.log'), 'utf8').split('\n').filter(Boolean).map((l) => {
      const [method, uri, status, up] = l.split(' ');
      return { method, uri, status: Number(status), up: up.slice(3) };
    }),
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM'); // fast shutdown
      return exited;
    },
  };
}

// One HTTP request on its own connection; resolves to { status, body }.
function request(url, method = 'GET', body) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent: false, timeout: 5000,
      headers: body ? { 'Content-Type': 'text/plain;charset=UTF-8', 'Content-Length': Buffer.byteLength(body) } : {} },
    (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { data += d; });
      res.on('end', () => resolve({ status: res.statusCode, body: data }));
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url}: timeout`)));
    req.on('error', reject);
    req.end(body);
  });
}

// Closes the polling session `sid` on its node directly (not through nginx), as a client would
// (a close packet), so that the node does not wait for it at shutdown.
async function closeSession(nodes, sid) {
  const node = nodes.find((x) => x.prefix === sid.slice(0, 2));
  const r = await request(`${node.server.url}/socket.io/?EIO=4&transport=polling&sid=${sid}`, 'POST', '1');
  assert.deepEqual(r, { status: 200, body: 'ok' });
}

// ---- the cluster ----

// Starts redis-server, `n` chat nodes (--sid-prefix n1, n2, ...) and nginx with `conf`; waits
// until every node has subscribed. Everything goes into `st` for teardown().
async function startCluster(st, n, conf) {
  const redis = await startRedis(await freePort());
  st.redis.push(redis);
  const nodes = [];
  for (let k = 1; k <= n; k++) {
    const s = await startServer(SIO_SERVER, ['--store', 'memory', '--redis', redis.url, '--sid-prefix', `n${k}`],
      { timeoutMs: 15000 });
    st.servers.push(s);
    nodes.push({ prefix: `n${k}`, port: s.port, server: s });
  }
  await clusterReady(redis.port, n);
  const nginx = await startNginx(conf, nodes);
  st.nginx.push(nginx);
  return { redis, nodes, nginx };
}

// Stops what a test started: clients, nginx, the nodes (each must exit 0 by itself on SIGTERM,
// without a sanitizer report), redis-server; removes nginx's temp dir.
async function teardown(st) {
  for (const c of st.clients) c.socket.disconnect();
  // Lets the clients' close packets through before nginx goes. Only a matter of speed: a node
  // that still has a polling session at shutdown waits up to 2 s for its last GET.
  if (st.clients.length) await sleep(200);
  const errors = [];
  await Promise.all(st.servers.map(async (s) => {
    try {
      const code = await s.stop();
      if (code !== 0) errors.push(new Error(`a node exited with ${code}:\n${s.output().slice(-3000)}`));
    } catch (e) { errors.push(e); }
  }));
  for (const x of st.nginx) await x.stop();
  for (const r of st.redis) await r.stop('SIGKILL');
  for (const x of st.nginx) rmTemp(x.dir);
  st.clients = []; st.nginx = []; st.servers = []; st.redis = [];
  if (errors.length) throw errors[0];
}

const newState = () => ({ clients: [], nginx: [], servers: [], redis: [] });

// ---- chat users ----

// The node a client's Engine.IO session lives on, from its sid's prefix ("n1"...).
const nodeOf = (c) => c.socket.io.engine.id.slice(0, 2);

// Connects `name` through `url` with client options `opts`; resolves once it has its session
// and its users list. With default options, also waits for the upgrade to WebSocket.
async function chatUser(st, url, name, opts) {
  const c = chatClient(url, { username: name }, opts);
  st.clients.push(c);
  await connect(c.socket);
  await waitEvent(c, 'users', () => true, 10000);
  assert.match(c.userID, HEX16);
  if (opts === DEFAULT) {
    await until(() => c.socket.io.engine.transport.name === 'websocket', 10000, `${name}: the upgrade to websocket`);
  }
  return c;
}

// Every user sends a private message to every user on another node; each arrives, exactly as
// the chat delivers it. Resolves with the number of cross-node messages.
async function crossNodeMessages(users) {
  let n = 0;
  for (const from of users) {
    for (const to of users) {
      if (nodeOf(from) === nodeOf(to)) continue;
      const content = `${from.name}@${nodeOf(from)} -> ${to.name}@${nodeOf(to)}`;
      from.socket.emit('private message', { content, to: to.userID });
      const m = await waitEvent(to, 'private message', (x) => x.content === content, 8000);
      assert.deepEqual(m, { content, from: from.userID, to: to.userID });
      n++;
    }
  }
  return n;
}

// The sessions are on every node: the sid prefixes of `users` cover n1..nN.
function assertSpread(users, n) {
  const on = new Set(users.map(nodeOf));
  for (let k = 1; k <= n; k++) assert.ok(on.has(`n${k}`), `no session on n${k}: ${users.map((u) => u.socket.io.engine.id)}`);
}

// Every request through nginx that carried a sid reached the node of that sid's prefix.
function assertRoutedBySid(nginx, nodes) {
  const port = Object.fromEntries(nodes.map((x) => [x.prefix, `127.0.0.1:${x.port}`]));
  let withSid = 0;
  for (const r of nginx.accessLog()) {
    const m = r.uri.match(/[?&]sid=([A-Za-z0-9_-]{2})/);
    if (!m || !port[m[1]]) continue; // no sid, or a prefix no node has (any node may answer)
    withSid++;
    assert.equal(r.up, port[m[1]], `${r.method} ${r.uri} went to ${r.up}`);
  }
  assert.ok(withSid > 0, 'no request with a sid in the access log');
}

// ---------------------------------------------------------------------------------------------

describe('nginx with sid-prefix routing (examples/nginx/sio-cluster.conf)', { ...TIMEOUT, skip: SKIP }, () => {
  const st = newState();
  after(() => teardown(st));

  it('raw requests: handshakes go to every node, every request with a sid to the node that made it', async () => {
    const { nodes, nginx } = await startCluster(st, 2, STICKY_CONF);
    const base = `${nginx.url}/socket.io/?EIO=4&transport=polling`;
    const sids = [];
    for (let i = 0; i < 4; i++) {
      const r = await request(base);
      assert.equal(r.status, 200);
      const m = r.body.match(/^0\{"sid":"((n[12])[A-Za-z0-9_-]{18})"/);
      assert.ok(m, `handshake answer: ${r.body}`);
      sids.push(m[1]);
    }
    assert.deepEqual(new Set(sids.map((s) => s.slice(0, 2))), new Set(['n1', 'n2']), `sids ${sids}`);
    // Each session: CONNECT, read the CONNECT reply and the chat's first events, then several
    // POSTs; every one finds its session, whichever node it is on.
    for (const sid of sids) {
      const url = `${base}&sid=${sid}`;
      assert.deepEqual(await request(url, 'POST', `40{"username":"raw-${sid.slice(0, 4)}"}`), { status: 200, body: 'ok' });
      const got = await request(url);
      assert.equal(got.status, 200);
      assert.match(got.body, /^40\{"sid":"[A-Za-z0-9_-]{20}"\}\x1e42\["session"/);
      for (let i = 0; i < 4; i++) {
        const msg = `42["private message",{"content":"hi ${i}","to":"0123456789abcdef"}]`;
        assert.deepEqual(await request(url, 'POST', msg), { status: 200, body: 'ok' });
      }
    }
    // A sid with a prefix no node has goes to any node, which does not know it.
    const bad = await request(`${base}&sid=zz${sids[0].slice(2)}`);
    assert.equal(bad.status, 400);
    assert.equal(bad.body, '{"code":1,"message":"Session ID unknown"}');
    await sleep(100); // nginx logs a request once its response is sent
    assertRoutedBySid(nginx, nodes);
    for (const sid of sids) await closeSession(nodes, sid);
    await teardown(st);
  });

  for (const [name, opts] of [['polling-only', POLLING], ['default (polling then upgrade)', DEFAULT],
    ['websocket-only', WEBSOCKET]]) {
    it(`two nodes, ${name} clients: sessions on both nodes, private messages both ways`, async () => {
      const { nodes, nginx } = await startCluster(st, 2, STICKY_CONF);
      const users = [];
      for (const u of ['alice', 'bob', 'carol', 'dave']) users.push(await chatUser(st, nginx.url, u, opts));
      assertSpread(users, 2);
      assert.ok(await crossNodeMessages(users) >= 6);
      await sleep(100);
      if (opts !== WEBSOCKET) assertRoutedBySid(nginx, nodes);
      // The transport really is the one asked for, all along.
      const want = opts === POLLING ? 'polling' : 'websocket';
      for (const u of users) assert.equal(u.socket.io.engine.transport.name, want, u.name);
      await teardown(st);
    });
  }

  it('three nodes, every kind of client: sessions on all three, private messages between all of them', async () => {
    const { nodes, nginx } = await startCluster(st, 3, STICKY_CONF);
    const users = [];
    const kinds = [POLLING, DEFAULT, WEBSOCKET];
    for (let i = 0; i < 6; i++) users.push(await chatUser(st, nginx.url, `u${i}`, kinds[i % 3]));
    assertSpread(users, 3);
    assert.ok(await crossNodeMessages(users) >= 12);
    await sleep(100);
    assertRoutedBySid(nginx, nodes);
    // A user who leaves is announced on the other nodes (a broadcast through Redis).
    users[0].socket.disconnect();
    for (const u of users.slice(1)) await waitEvent(u, 'user disconnected', (id) => id === users[0].userID, 8000);
    await teardown(st);
  });
});

describe('nginx round-robin without stickiness (examples/nginx/sio-websocket-only.conf)', { ...TIMEOUT, skip: SKIP }, () => {
  const st = newState();
  after(() => teardown(st));

  it('websocket-only clients need no stickiness: sessions on both nodes, private messages both ways', async () => {
    const { nginx } = await startCluster(st, 2, WS_ONLY_CONF);
    const users = [];
    for (const u of ['alice', 'bob', 'carol', 'dave']) users.push(await chatUser(st, nginx.url, u, WEBSOCKET));
    assertSpread(users, 2);
    assert.ok(await crossNodeMessages(users) >= 6);
    await teardown(st);
  });

  it('negative control: polling through round-robin gets 400 "Session ID unknown"', async () => {
    const { nodes, nginx } = await startCluster(st, 2, WS_ONLY_CONF);
    const base = `${nginx.url}/socket.io/?EIO=4&transport=polling`;
    // With two nodes, round-robin alternates: a handshake on one node, the next request (with
    // its sid) on the other, which does not know the session.
    for (let i = 0; i < 3; i++) {
      const hs = await request(base);
      assert.equal(hs.status, 200);
      const sid = hs.body.match(/"sid":"([A-Za-z0-9_-]{20})"/)[1];
      const r = await request(`${base}&sid=${sid}`, 'POST', '40{"username":"lost"}');
      assert.equal(r.status, 400, `request ${i}: the session's second request found it (${r.body})`);
      assert.equal(r.body, '{"code":1,"message":"Session ID unknown"}');
      await sleep(50);
      const log = nginx.accessLog().filter((x) => x.uri.includes(sid));
      const own = nodes.find((x) => x.prefix === sid.slice(0, 2));
      assert.equal(log.length, 1);
      assert.notEqual(log[0].up, `127.0.0.1:${own.port}`, 'the request went to the node of the sid');
      await closeSession(nodes, sid);
    }
    // The stock client, polling only: its first request after the handshake meets the other
    // node, so it never connects.
    for (let i = 0; i < 3; i++) {
      const c = chatClient(nginx.url, { username: `polling${i}` }, POLLING);
      st.clients.push(c);
      const failed = connectExpectingError(c.socket, 10000);
      let sid;
      c.socket.io.engine.on('handshake', (d) => { sid = d.sid; });
      const err = await failed;
      assert.match(err.message, /^xhr (poll|post) error$/, err.message);
      assert.match(sid ?? '', /^n[12]/, 'the handshake itself went through');
      await closeSession(nodes, sid);
    }
    await teardown(st);
  });
});
