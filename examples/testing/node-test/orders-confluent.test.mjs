// The tests of orders.test.mjs against orders-confluent.mjs, the same app on
// @confluentinc/kafka-javascript: the broker, its reset() and its faults are the same whatever the
// client. That client is a native build (the repository builds it with
// bench/install-confluent-client.sh; in your project `npm install @confluentinc/kafka-javascript`
// downloads a prebuilt one): without it these tests are skipped.
import { beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { broker } from 'rafka/testing/node-test';
import { waitFor } from 'rafka/testing';

const app = await import('./orders-confluent.mjs').catch((err) => err);
const skip = app instanceof Error ? `@confluentinc/kafka-javascript is not installed: ${app.message.split('\n')[0]}` : false;

describe('the orders app on @confluentinc/kafka-javascript', { skip }, () => {
  const { connect, placeOrder, startBilling } = app;
  const kafka = skip ? null : connect(process.env.KAFKA_BOOTSTRAP);

  beforeEach(() => broker.reset());

  test('an order placed is billed', async () => {
    const billed = [];
    const stop = await startBilling(kafka, (order) => billed.push(order.id));
    try {
      await placeOrder(kafka, { id: 'o-1', customer: 'c-42', amount: 10 });
      await waitFor(() => billed.length === 1, { timeoutMs: 15_000 });
      assert.deepEqual(billed, ['o-1']);
    } finally {
      await stop();
    }
  });

  test('an order is billed once when the broker loses the produce answer', async () => {
    // Written, then the connection drops before the answer: librdkafka retries, and idempotence makes
    // the retry a duplicate instead of a second order.
    broker.faults.inject({ api: 'Produce', topic: 'orders', drop: 'after' });
    await placeOrder(kafka, { id: 'o-2', customer: 'c-7', amount: 5 });
    assert.equal(broker.faults.history.length, 1);
    assert.deepEqual((await broker.consumeAll('orders')).map((m) => JSON.parse(m.value.toString()).id), ['o-2']);
  });

  test('billing carries on, each order billed once, when the group coordinator moves', async () => {
    const billed = [];
    const stop = await startBilling(kafka, (order) => billed.push(order.id));
    try {
      await placeOrder(kafka, { id: 'o-3', customer: 'c-1', amount: 1 });
      await waitFor(() => billed.includes('o-3'), { timeoutMs: 15_000 });
      const moved = broker.faults.moveCoordinator({ group: 'billing', times: 2 });
      await waitFor(() => moved.fired === 2, { timeoutMs: 15_000 });
      await placeOrder(kafka, { id: 'o-4', customer: 'c-1', amount: 2 });
      await waitFor(() => billed.includes('o-4'), { timeoutMs: 15_000 });
      assert.deepEqual(billed, ['o-3', 'o-4']);
    } finally {
      await stop();
    }
  });
});
