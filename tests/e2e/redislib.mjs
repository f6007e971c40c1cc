// SPDX-License-Identifier: MIT
// Helpers for end-to-end tests that run a real redis-server: find it, start it on a loopback
// port (no persistence) and stop it by PID, send it one command, and wait until a number of sio
// nodes have subscribed. (The same approach as redis-cluster.test.mjs, which has its own copy.)
import { spawn, spawnSync } from 'node:child_process';
import net from 'node:net';
import { until } from './helpers.mjs';

// The redis-server binary ($REDIS_SERVER, else the one on PATH), or null when there is none.
export function findRedis() {
  if (process.env.REDIS_SERVER) return process.env.REDIS_SERVER;
  const r = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

// Every redis-server started here, killed on exit if a test failed before stopping it.
const children = new Set();
process.on('exit', () => { for (const p of children) { try { p.kill('SIGKILL'); } catch { /* gone */ } } });

function respEncode(args) {
  const parts = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = Buffer.isBuffer(a) ? a : Buffer.from(String(a));
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

// Parses one RESP2 reply at buf[i]; returns [value, next] or null when incomplete.
function respParse(buf, i = 0) {
  if (i >= buf.length) return null;
  const eol = buf.indexOf('\r\n', i);
  if (eol < 0) return null;
  const line = buf.toString('latin1', i + 1, eol);
  switch (buf[i]) {
    case 0x2b: return [line, eol + 2]; // +
    case 0x2d: return [new Error(line), eol + 2]; // -
    case 0x3a: return [Number(line), eol + 2]; // :
    case 0x24: { // $
      const n = Number(line);
      if (n < 0) return [null, eol + 2];
      if (buf.length < eol + 2 + n + 2) return null;
      return [buf.subarray(eol + 2, eol + 2 + n).toString('latin1'), eol + 2 + n + 2];
    }
    case 0x2a: { // *
      const n = Number(line);
      let j = eol + 2;
      const out = [];
      for (let k = 0; k < n; k++) {
        const r = respParse(buf, j);
        if (!r) return null;
        out.push(r[0]);
        j = r[1];
      }
      return [out, j];
    }
    default: throw new Error(`bad RESP from redis: ${buf.toString('latin1')}`);
  }
}

// Sends one command on a new connection; resolves with the reply (rejects on an error reply).
export function redisCmd(port, ...args) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => { sock.destroy(); reject(new Error(`redis ${args[0]}: timeout`)); }, 3000);
    sock.on('connect', () => sock.write(respEncode(args)));
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      const r = respParse(buf);
      if (!r) return;
      clearTimeout(timer);
      sock.destroy();
      if (r[0] instanceof Error) reject(r[0]); else resolve(r[0]);
    });
    sock.on('error', (e) => { clearTimeout(timer); reject(e); });
  });
}

// Starts `bin` (a redis-server) on `port` (loopback, no persistence); resolves once it answers
// PING, to { port, url, proc, output(), stop(signal) }.
export async function startRedis(bin, port) {
  const proc = spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '',
    '--appendonly', 'no', '--daemonize', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(proc);
  let out = '';
  proc.stdout.on('data', (d) => { out += d; });
  proc.stderr.on('data', (d) => { out += d; });
  const exited = new Promise((resolve) => proc.on('exit', (code, sig) => { children.delete(proc); resolve(code ?? sig); }));
  await until(async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`redis-server exited: ${out}`);
    return (await redisCmd(port, 'PING').catch(() => null)) === 'PONG';
  }, 10000, `redis-server on port ${port}`);
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    proc,
    output: () => out,
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}

// Resolves once `n` nodes are subscribed: n subscribers of the request channel, n clients with
// a pattern subscription.
export async function clusterReady(port, n, timeoutMs = 20000) {
  let last = 'no answer';
  try {
    await until(async () => {
      try {
        const [, subs] = await redisCmd(port, 'PUBSUB', 'NUMSUB', 'socket.io-request#/#');
        // PUBSUB NUMPAT counts unique patterns (every node has the same one): count the clients.
        const list = await redisCmd(port, 'CLIENT', 'LIST');
        const pats = list.split('\n').filter((l) => / psub=[1-9]/.test(l)).length;
        last = `NUMSUB ${subs}, clients with a pattern ${pats}`;
        return subs === n && pats === n;
      } catch (e) { last = String(e.message); return false; }
    }, timeoutMs);
  } catch {
    throw new Error(`timeout waiting for ${n} nodes subscribed on redis port ${port} (last: ${last})`);
  }
}
