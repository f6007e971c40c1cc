// SPDX-License-Identifier: MIT
// Static files of ./sio-server (static.c) over real HTTP, raw bytes on the wire so that nothing
// normalises the paths on the way: the chat page itself from web/, content types, caching
// (ETag, If-None-Match -> 304, Cache-Control), HEAD, 405, 404, and every traversal shape
// (%2e%2e, /../, %00, backslash, a symlink out of the root) refused without leaking a byte.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, SIO_SERVER, startServer } from './helpers.mjs';
import { request, show } from './rawlib.mjs';
import { tempDir, rmTemp } from './chatlib.mjs';

describe('the chat page from web/ (the default --web-dir)', () => {
  let server;
  before(async () => { server = await startServer(SIO_SERVER, ['--store', 'memory', '--quiet', '--web-dir', path.join(ROOT, 'web')]); });
  after(async () => { assert.equal(await server.stop(), 0, server.output()); });

  it('GET / is web/index.html, and every file the page loads is served with its type', async () => {
    const page = await request(server.port, { path: '/' });
    assert.equal(page.status, 200, show(page.raw));
    assert.equal(page.header('content-type'), 'text/html; charset=utf-8');
    assert.equal(page.text, fs.readFileSync(path.join(ROOT, 'web', 'index.html'), 'utf8'));
    const assets = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]).filter((u) => !u.startsWith('data:'));
    assert.deepEqual(assets.sort(), ['app.js', 'style.css']);
    const types = { 'app.js': 'text/javascript; charset=utf-8', 'sio-client.js': 'text/javascript; charset=utf-8', 'style.css': 'text/css; charset=utf-8' };
    for (const [file, type] of Object.entries(types)) {
      const res = await request(server.port, { path: `/${file}` });
      assert.equal(res.status, 200, `${file}: ${show(res.raw)}`);
      assert.equal(res.header('content-type'), type, file);
      assert.equal(res.body.length, fs.statSync(path.join(ROOT, 'web', file)).size, file);
    }
  });

  it('nothing on the page comes from the internet', () => {
    for (const file of fs.readdirSync(path.join(ROOT, 'web'))) {
      const text = fs.readFileSync(path.join(ROOT, 'web', file), 'utf8');
      assert.doesNotMatch(text, /(src|href)="(https?:)?\/\//, file);
      assert.doesNotMatch(text, /import .* from ['"]https?:/, file);
      assert.doesNotMatch(text, /@import\s+url\(/, file);
    }
  });
});

describe('static file rules (--web-dir on a temp directory)', () => {
  let server;
  let tmp;
  before(async () => {
    tmp = tempDir('sio-web-');
    const web = path.join(tmp, 'web');
    fs.mkdirSync(path.join(web, 'sub'), { recursive: true });
    fs.writeFileSync(path.join(web, 'index.html'), '<p>index</p>\n');
    fs.writeFileSync(path.join(web, 'sub', 'index.html'), '<p>sub</p>\n');
    fs.writeFileSync(path.join(web, 'a b.txt'), 'spaced\n');
    fs.writeFileSync(path.join(web, 'pic.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47]));
    fs.writeFileSync(path.join(web, 'data.json'), '{}');
    fs.writeFileSync(path.join(web, 'blob'), 'no extension');
    fs.writeFileSync(path.join(tmp, 'secret.txt'), 'TOP-SECRET-OUTSIDE-THE-ROOT\n');
    fs.symlinkSync(path.join(tmp, 'secret.txt'), path.join(web, 'link.txt'));
    fs.symlinkSync(tmp, path.join(web, 'up'));
    fs.symlinkSync('index.html', path.join(web, 'alias.html'));
    server = await startServer(SIO_SERVER, ['--store', 'memory', '--quiet', '--web-dir', web]);
  });
  after(async () => {
    assert.equal(await server.stop(), 0, server.output());
    rmTemp(tmp);
  });
  const get = (p, opts = {}) => request(server.port, { path: p, ...opts });

  it('content types by extension, percent-decoding, directories', async () => {
    const cases = [
      ['/index.html', 200, 'text/html; charset=utf-8'], ['/pic.png', 200, 'image/png'], ['/data.json', 200, 'application/json'],
      ['/blob', 200, 'application/octet-stream'], ['/a%20b.txt', 200, 'text/plain; charset=utf-8'],
      ['/sub/', 200, 'text/html; charset=utf-8'], ['/alias.html', 200, 'text/html; charset=utf-8'],
      ['/index.html?v=2', 200, 'text/html; charset=utf-8'],
    ];
    for (const [p, status, type] of cases) {
      const res = await get(p);
      assert.equal(res.status, status, `${p}: ${show(res.raw)}`);
      assert.equal(res.header('content-type'), type, p);
      assert.equal(res.header('x-content-type-options'), 'nosniff', p);
    }
    assert.equal((await get('/sub/')).text, '<p>sub</p>\n');
  });

  it('404 for what is not there', async () => {
    for (const p of ['/missing.html', '/sub', '/sub/missing', '/index.html/']) {
      const res = await get(p);
      assert.equal(res.status, 404, `${p}: ${show(res.raw)}`);
    }
  });

  it('traversal shapes are refused and never leak a file outside the root', async () => {
    const shapes = {
      '/../secret.txt': 400, '/%2e%2e/secret.txt': 400, '/%2E%2E/secret.txt': 400, '/..%2fsecret.txt': 400,
      '/.%2e/secret.txt': 400, '/sub/../../secret.txt': 400, '/sub/%2e%2e/%2e%2e/secret.txt': 400,
      '/index.html%00.png': 400, '/%00': 400, '/..\\secret.txt': 400, '/%5c..%5csecret.txt': 400, '/%zz': 400,
      '/link.txt': 404, '/up/secret.txt': 404, '/%252e%252e/secret.txt': 404,
      '/../../../../../../etc/passwd': 400,
    };
    for (const [p, status] of Object.entries(shapes)) {
      const res = await get(p);
      assert.equal(res.status, status, `${p}: ${show(res.raw)}`);
      assert.ok(!res.text.includes('TOP-SECRET') && !res.text.includes('root:'), `${p} leaked a file`);
    }
    // What counts is where the path resolves: out through a symlink and back in is inside.
    assert.equal((await get('/up/web/index.html')).status, 200);
    // The server is fine afterwards.
    assert.equal((await get('/')).status, 200);
  });

  it('GET and HEAD only; HEAD has the headers and no body', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      const res = await get('/index.html', { method, body: method === 'DELETE' ? null : 'x' });
      assert.equal(res.status, 405, `${method}: ${show(res.raw)}`);
      assert.equal(res.header('allow'), 'GET, HEAD');
    }
    const head = await get('/index.html', { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.header('content-length'), '13');
    assert.equal(head.body.length, 0);
    assert.ok(head.header('etag'));
  });

  it('caching: ETag, If-None-Match -> 304, no-cache for HTML, max-age for the rest', async () => {
    const page = await get('/index.html');
    const etag = page.header('etag');
    assert.match(etag, /^"[0-9a-f]+-[0-9a-f]+"$/);
    assert.equal(page.header('cache-control'), 'no-cache');
    assert.match((await get('/pic.png')).header('cache-control'), /^public, max-age=\d+$/);
    for (const inm of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
      const res = await get('/index.html', { headers: [['If-None-Match', inm]] });
      assert.equal(res.status, 304, `If-None-Match: ${inm}: ${show(res.raw)}`);
      assert.equal(res.header('etag'), etag);
      assert.equal(res.body.length, 0);
    }
    assert.equal((await get('/index.html', { headers: [['If-None-Match', '"other"']] })).status, 200);
    // A change of the file changes the ETag.
    fs.writeFileSync(path.join(tmp, 'web', 'index.html'), '<p>index, changed</p>\n');
    const changed = await get('/index.html', { headers: [['If-None-Match', etag]] });
    assert.equal(changed.status, 200);
    assert.notEqual(changed.header('etag'), etag);
  });

  it('Socket.IO still owns /socket.io/', async () => {
    const res = await get('/socket.io/?EIO=4&transport=polling');
    assert.equal(res.status, 200);
    assert.match(res.text, /^0\{"sid":/);
  });
});
