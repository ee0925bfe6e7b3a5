// A broker of this file's own on virtual time (`clock: 'manual'`): a view whose heartbeats stop
// (held back by an injected delay) is removed after its session timeout, and the other view takes
// over its partition — tested in a fraction of a second instead of waiting out the timeout.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { advanceUntil, startTestBroker } from 'rafka/testing';
import { connect, publishStock, startStockView } from './stock.mjs';

const SESSION_MS = 10_000;
let broker;
beforeAll(async () => {
  broker = await startTestBroker({ clock: 'manual' });
  await broker.createTopics([{ topic: 'stock', partitions: 2 }]);
});
afterAll(() => broker.close());

test('a stuck view is removed after its session timeout and the other one takes over', async () => {
  const a = await startStockView(connect(broker.bootstrap, 'view-a'), 'stock', 'views', { sessionTimeoutMs: SESSION_MS });
  const b = await startStockView(connect(broker.bootstrap, 'view-b'), 'stock', 'views', { sessionTimeoutMs: SESSION_MS });
  try {
    // Virtual time moves only when told: in steps, so that kafkajs's long polls end and it heartbeats.
    await advanceUntil(broker.clock, () => a.assigned === 1 && b.assigned === 1);
    broker.faults.inject({ api: 'Heartbeat', clientId: 'view-a', delayMs: 300_000, times: 'always' });
    const from = broker.clock.now();
    await advanceUntil(broker.clock, () => b.assigned === 2);
    // Its last heartbeat was at most one step (100 ms) before the fault; the session counts from it.
    expect(broker.clock.now() - from).toBeGreaterThanOrEqual(SESSION_MS - 100);
    // b reads both partitions now: every item's level reaches it.
    await publishStock(connect(broker.bootstrap), 'stock', 'fig', 1);
    await publishStock(connect(broker.bootstrap), 'stock', 'kiwi', 4);
    await advanceUntil(broker.clock, () => b.levels.get('fig') === 1 && b.levels.get('kiwi') === 4);
  } finally {
    broker.faults.clear();
    broker.faults.wakeAll();
    let stopped = false;
    const stopping = Promise.all([a.stop(), b.stop()]).finally(() => (stopped = true));
    await advanceUntil(broker.clock, () => stopped); // kafkajs ends its long poll before it leaves
    await stopping;
  }
});
