// SPDX-License-Identifier: MIT
// Shared helpers for the end-to-end tests: start a built server on a free port, stop it by PID,
// and wait for things with a timeout (never sleep-and-hope).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
// Binaries under test; `make test` points these at the ASan build for the sanitizer pass.
export const SIO_SERVER = process.env.SIO_SERVER || path.join(ROOT, 'sio-server');
export const SIO_CONFORMANCE = process.env.SIO_CONFORMANCE || path.join(ROOT, 'examples', 'conformance');
// The tutorial's chat, one program per part: part 1 and part 2 are examples (SIO_SERVER is part 3).
export const SIO_CHAT1 = process.env.SIO_CHAT1 || path.join(ROOT, 'examples', 'chat-part1');
export const SIO_CHAT2 = process.env.SIO_CHAT2 || path.join(ROOT, 'examples', 'chat-part2');
// The issue-3 test server (tests/servers/semantics.c, built as build/semantics) and the examples.
export const SIO_SEMANTICS = process.env.SIO_SEMANTICS || path.join(ROOT, 'build', 'semantics');
export const SIO_ECHO = process.env.SIO_ECHO || path.join(ROOT, 'examples', 'echo');
export const SIO_ROOMS = process.env.SIO_ROOMS || path.join(ROOT, 'examples', 'rooms');
export const SIO_EIO_ECHO = process.env.SIO_EIO_ECHO || path.join(ROOT, 'examples', 'eio-echo');
// The issue-6 hostile-input / fault test server (tests/servers/hardening.c, built as build/hardening).
export const SIO_HARDENING = process.env.SIO_HARDENING || path.join(ROOT, 'build', 'hardening');

// Starts `bin` with `args` plus `--port 0` (unless args already has --port), waits for its
// "listening on http://HOST:PORT" line on stderr, and resolves to
// { port, url, proc, output(), stop(signal) }. stop() sends SIGTERM (or the given signal) and
// resolves to the exit code; it rejects if the server wrote a sanitizer report.
export function startServer(bin, args = [], { timeoutMs = 10000, env = {} } = {}) {
  const fullArgs = args.includes('--port') ? args : [...args, '--port', '0'];
  const proc = spawn(bin, fullArgs, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  const onData = (d) => { out += d.toString(); };
  proc.stdout.on('data', onData);
  proc.stderr.on('data', onData);
  const exited = new Promise((resolve) => proc.on('exit', (code, sig) => resolve(code ?? sig)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out}`)), timeoutMs);
    const check = () => {
      const m = out.match(/listening on http:\/\/([^\s:]+):(\d+)/);
      if (!m) return;
      clearTimeout(timer);
      proc.stderr.off('data', check);
      const port = Number(m[2]);
      resolve({
        port,
        url: `http://127.0.0.1:${port}`,
        proc,
        output: () => out,
        exited,
        async stop(signal = 'SIGTERM') {
          if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
          const code = await exited;
          if (/ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:/.test(out)) {
            throw new Error(`sanitizer report from ${path.basename(bin)}:\n${out}`);
          }
          return code;
        },
      });
    };
    proc.stderr.on('data', check);
    proc.on('exit', () => { clearTimeout(timer); reject(new Error(`server exited early: ${out}`)); });
  });
}

// Resolves with the event's arguments (an array) the next time `emitter` emits `event`;
// rejects after timeoutMs.
export function once(emitter, event, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, handler);
      reject(new Error(`timeout waiting for "${event}"`));
    }, timeoutMs);
    const handler = (...args) => { clearTimeout(timer); resolve(args); };
    emitter.once(event, handler);
  });
}

// Resolves once predicate() is true, polling every 10 ms; rejects after timeoutMs.
export async function until(predicate, timeoutMs = 5000, what = 'condition') {
  const end = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > end) throw new Error(`timeout waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

// For after() hooks: stops `server` (if a test has not done so already) and throws, quoting the end
// of its output, if it had died by itself (a crash) or wrote a sanitizer report.
export async function stopServer(server) {
  if (!server) return;
  const diedByItself = !server.proc.killed && (server.proc.exitCode !== null || server.proc.signalCode !== null);
  const code = await server.stop();
  if (diedByItself) {
    throw new Error(`${path.basename(server.proc.spawnfile)} exited by itself (${code}):\n${server.output().slice(-4000)}`);
  }
}
