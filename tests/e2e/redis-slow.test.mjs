// SPDX-License-Identifier: MIT
// Issue 7's "slow subscriber" fault: Redis closes a subscriber whose output buffer passes its
// client-output-buffer-limit for pubsub (redis.conf's default is "32mb 8mb 60"; here it is set low
// so the test stays small). The node that was too slow -- here a sio node SIGSTOPped while its
// channel fills -- must notice the lost connection when it runs again, reconnect, subscribe
// again, and deliver cross-node messages as before; its local clients never notice.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { until } from './helpers.mjs';
import { freePort, waitEvent } from './chatlib.mjs';
import { SKIP, sleep, redisCmd, startRedis, clusterReady, chatUser, sioNode, teardown, sendUntilDelivered } from './redislib.mjs';

// Clients that have a pattern subscription (every node has one, PSUBSCRIBE socket.io#/#*).
async function patternSubscribers(port) {
  const list = await redisCmd(port, 'CLIENT', 'LIST');
  return list.split('\n').filter((l) => / psub=[1-9]/.test(l)).length;
}

describe('a slow subscriber cut off by Redis', { timeout: 120000, skip: SKIP }, () => {
  const st = { clients: [], servers: [], redis: [], dirs: [] };
  after(() => teardown(st));

  it('the stopped node loses its subscription, then reconnects, resubscribes and delivers again', async () => {
    const redis = await startRedis(await freePort());
    st.redis.push(redis);
    const A = await sioNode(redis.url);
    const B = await sioNode(redis.url);
    st.servers.push(A, B);
    await clusterReady(redis.port, 2);
    const alice = await chatUser(A.url, { username: 'alice' });
    const bob = await chatUser(B.url, { username: 'bob' });
    const bea = await chatUser(B.url, { username: 'bea' });
    st.clients.push(alice, bob, bea);
    await sendUntilDelivered(alice, bob.userID, bob, 'before');

    // 256 KiB at once, or 64 KiB for a second: then Redis closes the subscriber.
    assert.equal(await redisCmd(redis.port, 'CONFIG', 'SET', 'client-output-buffer-limit', 'pubsub 262144 65536 1'), 'OK');
    B.proc.kill('SIGSTOP');
    try {
      // Not a valid broadcast (nodes that read it ignore it). The kernel's socket buffers take the
      // first megabytes; what does not fit piles up in Redis until the limit cuts B off.
      const big = 'x'.repeat(1 << 20);
      for (let i = 0; i < 64 && (await patternSubscribers(redis.port)) === 2; i++) {
        await redisCmd(redis.port, 'PUBLISH', 'socket.io#/#', big);
      }
      await until(async () => (await patternSubscribers(redis.port)) === 1, 10000, "Redis closing the stopped node's subscriber");
    } finally {
      B.proc.kill('SIGCONT');
    }
    // B runs again: it reads what was left, sees the connection closed, and comes back.
    await clusterReady(redis.port, 2);
    assert.match(B.output(), /connection lost/);
    await sendUntilDelivered(alice, bob.userID, bob, 'after, A to B');
    await sendUntilDelivered(bob, alice.userID, alice, 'after, B to A');
    // B's own clients went on as if nothing happened.
    bea.socket.emit('private message', { content: 'local on B', to: bob.userID });
    assert.equal((await waitEvent(bob, 'private message', (m) => m.content === 'local on B', 5000)).from, bea.userID);
    assert.equal(bob.socket.connected && bea.socket.connected, true);
    await sleep(50);
  });
});
