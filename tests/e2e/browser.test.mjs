// SPDX-License-Identifier: MIT
// The chat page in a real browser: Debian's chromium (/usr/bin/chromium) driven by
// playwright-core (no browser download), against ./sio-server serving web/ itself.
//   - two browser contexts (alice, bob) pick usernames, see each other online, exchange
//     messages; the unread mark appears and goes;
//   - a second tab of alice (same context, so same localStorage) comes back as alice without
//     asking, with the history; a message sent from it shows in alice's first tab;
//   - alice offline only when her last tab closes;
//   - the server restarts (file store): the pages reconnect by themselves, same users, same
//     history;
//   - a refused username shows the server's connect_error message.
// Screenshots of each step go to tests/artifacts/ (UPDATE_SCREENSHOT=1 also copies 03-chat-alice
// to docs/screenshot.png, the README's picture).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, SIO_SERVER, startServer } from './helpers.mjs';
import { freePort, tempDir, rmTemp } from './chatlib.mjs';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = path.join(ROOT, 'tests', 'artifacts');
const haveChromium = fs.existsSync(CHROMIUM);
if (!haveChromium) {
  console.log([
    '################################################################',
    `### SKIPPED: browser test (${CHROMIUM} is missing;            `,
    '### as root, tests/deps.sh installs it: apt-get install chromium)',
    '################################################################',
  ].join('\n'));
}

describe('the chat page in Chromium', { skip: !haveChromium && `SKIPPED: ${CHROMIUM} is not installed` }, () => {
  let browser;
  let server;
  let port;
  let dataDir;
  const pageErrors = [];
  const serverArgs = () => ['--data-dir', dataDir, '--web-dir', path.join(ROOT, 'web'), '--port', String(port)];

  before(async () => {
    const { chromium } = await import('playwright-core');
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    dataDir = tempDir('sio-browser-');
    port = await freePort();
    server = await startServer(SIO_SERVER, serverArgs());
    // launch() gives the browser a fresh temporary --user-data-dir of its own (and removes it on
    // close); each newContext() is a separate profile (its own localStorage).
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });

  after(async () => {
    if (browser) await browser.close();
    if (server) assert.equal(await server.stop(), 0, server.output());
    rmTemp(dataDir);
  });

  const shot = (page, name) => page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });

  async function openPage(context) {
    const page = await context.newPage();
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('console', (msg) => { if (msg.type() === 'error') pageErrors.push(msg.text()); });
    await page.goto(`http://127.0.0.1:${port}/`);
    return page;
  }

  async function login(page, username) {
    await page.locator('#username-input').fill(username);
    await page.locator('#username-form button').click();
    await page.locator('#users li', { hasText: `${username} (yourself)` }).waitFor();
  }

  // The list entry of `name` on `page`.
  const userItem = (page, name) => page.locator('#users li.user').filter({ has: page.locator('.name', { hasText: new RegExp(`^${name}( \\(yourself\\))?$`) }) });
  const messages = (page) => page.locator('#messages .content').allTextContents();

  async function send(page, text) {
    await page.locator('#message-input').fill(text);
    await page.locator('#send').click();
  }

  it('two people chat, a second tab joins, the server restarts, nothing is lost', async () => {
    const ctxAlice = await browser.newContext({ viewport: { width: 960, height: 600 } });
    const ctxBob = await browser.newContext({ viewport: { width: 960, height: 600 } });
    const alice1 = await openPage(ctxAlice);
    await alice1.locator('#username-form').waitFor();
    await shot(alice1, '01-login');
    await login(alice1, 'alice');
    const bob = await openPage(ctxBob);
    await login(bob, 'bob');

    // Each sees the other online; self first.
    await userItem(alice1, 'bob').locator('.status', { hasText: 'online' }).waitFor();
    assert.deepEqual(await bob.locator('#users li .name').allTextContents(), ['bob (yourself)', 'alice']);

    // alice writes to bob: bob gets an unread mark until he opens the conversation.
    await userItem(alice1, 'bob').click();
    await send(alice1, 'Hi Bob! This page is served by a C server.');
    await userItem(bob, 'alice').locator('.new-messages').waitFor();
    await shot(bob, '02-unread');
    await userItem(bob, 'alice').click();
    assert.equal(await userItem(bob, 'alice').locator('.new-messages').count(), 0, 'read now');
    await bob.locator('#messages .content', { hasText: 'Hi Bob!' }).waitFor();
    await send(bob, 'Hello Alice, nice to see you.');
    await alice1.locator('#messages .content', { hasText: 'Hello Alice' }).waitFor();

    // A second tab of alice: the same browser profile, so the same sessionID: no login form.
    const alice2 = await openPage(ctxAlice);
    await alice2.locator('#users li', { hasText: 'alice (yourself)' }).waitFor();
    assert.equal(await alice2.locator('#login').isHidden(), true);
    await userItem(alice2, 'bob').click();
    await alice2.locator('#messages .content', { hasText: 'Hello Alice' }).waitFor();
    assert.deepEqual(await messages(alice2), ['Hi Bob! This page is served by a C server.', 'Hello Alice, nice to see you.']);
    await send(alice2, 'Sent from my second tab.');
    await bob.locator('#messages .content', { hasText: 'second tab' }).waitFor();
    await alice1.locator('#messages .content', { hasText: 'second tab' }).waitFor(); // the sender's other tab
    await shot(alice1, '03-chat-alice');
    await shot(bob, '04-chat-bob');

    // alice closes her first tab: still online for bob; then the second: offline.
    await alice1.close();
    await bob.waitForTimeout(300);
    assert.equal(await userItem(bob, 'alice').locator('.status').textContent(), 'online');
    await alice2.close();
    await userItem(bob, 'alice').locator('.status', { hasText: 'offline' }).waitFor();
    await shot(bob, '05-alice-offline');

    // The server restarts on the same port and data directory; bob's page reconnects by itself.
    assert.equal(await server.stop(), 0);
    await bob.locator('#status.offline').waitFor();
    server = await startServer(SIO_SERVER, serverArgs());
    await bob.locator('#status.online').waitFor({ timeout: 20000 });
    assert.deepEqual(await bob.locator('#users li .name').allTextContents(), ['bob (yourself)', 'alice']);
    assert.equal(await userItem(bob, 'alice').locator('.status').textContent(), 'offline');
    // alice comes back in a new tab: her session and the whole history survived the restart.
    const alice3 = await openPage(ctxAlice);
    await alice3.locator('#users li', { hasText: 'alice (yourself)' }).waitFor();
    await userItem(bob, 'alice').locator('.status', { hasText: 'online' }).waitFor();
    await userItem(alice3, 'bob').click();
    await alice3.locator('#messages .content', { hasText: 'second tab' }).waitFor();
    assert.deepEqual(await messages(alice3), [
      'Hi Bob! This page is served by a C server.', 'Hello Alice, nice to see you.', 'Sent from my second tab.',
    ]);
    await send(alice3, 'We survived a restart.');
    await bob.locator('#messages .content', { hasText: 'survived a restart' }).waitFor();
    await shot(bob, '06-after-restart');
    if (process.env.UPDATE_SCREENSHOT) {
      fs.mkdirSync(path.join(ROOT, 'docs'), { recursive: true });
      fs.copyFileSync(path.join(ARTIFACTS, '03-chat-alice.png'), path.join(ROOT, 'docs', 'screenshot.png'));
    }
    await ctxAlice.close();
    await ctxBob.close();
  });

  it('a refused username shows the server\'s connect_error message', async () => {
    const ctx = await browser.newContext({ viewport: { width: 960, height: 600 } });
    const page = await openPage(ctx);
    await page.locator('#username-input').fill('é'.repeat(40)); // 40 characters, 80 bytes
    await page.locator('#username-form button').click();
    await page.locator('#login-error', { hasText: 'invalid username: longer than 64 bytes' }).waitFor();
    await shot(page, '07-connect-error');
    // Another name works from the same page.
    await login(page, 'carol');
    await ctx.close();
  });

  it('no errors in the pages', () => {
    assert.deepEqual(pageErrors.filter((e) => !/WebSocket connection to .* failed/.test(e)), []);
  });
});
