// Run with: node --test --import rafka/testing/node-test examples/testing/node-test/
// rafka/testing/node-test starts a broker for this test process and puts its address in
// KAFKA_BOOTSTRAP; `broker` is that broker, for reset() and fault injection.
import { beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { broker } from 'rafka/testing/node-test';
import { waitFor } from 'rafka/testing';
import { connect, placeOrder, startBilling } from './orders.mjs';

const kafka = connect(process.env.KAFKA_BOOTSTRAP);

beforeEach(() => broker.reset()); // every test starts from an empty broker

test('an order placed is billed', async () => {
  const billed = [];
  const stop = await startBilling(kafka, (order) => billed.push(order.id));
  try {
    await placeOrder(kafka, { id: 'o-1', customer: 'c-42', amount: 10 });
    await waitFor(() => billed.length === 1);
    assert.deepEqual(billed, ['o-1']);
  } finally {
    await stop();
  }
});

test('an order is billed once when the broker loses the produce answer', async () => {
  // The produce is written, then the connection drops before the answer: the producer retries, and
  // idempotence makes the retry a duplicate instead of a second order.
  broker.faults.inject({ api: 'Produce', topic: 'orders', drop: 'after' });
  await placeOrder(kafka, { id: 'o-2', customer: 'c-7', amount: 5 });
  assert.equal(broker.faults.history.length, 1);
  assert.deepEqual((await broker.consumeAll('orders')).map((m) => JSON.parse(m.value.toString()).id), ['o-2']);
});

test('billing carries on, each order billed once, when the group coordinator moves', async () => {
  // NOT_COORDINATOR on the group's requests fails an offset commit and makes the consumer rejoin:
  // o-3 is delivered again, and billing must not bill it twice.
  const billed = [];
  const stop = await startBilling(kafka, (order) => billed.push(order.id));
  try {
    await placeOrder(kafka, { id: 'o-3', customer: 'c-1', amount: 1 });
    await waitFor(() => billed.includes('o-3'));
    const moved = broker.faults.moveCoordinator({ group: 'billing', times: 2 });
    await waitFor(() => moved.fired === 2);
    await placeOrder(kafka, { id: 'o-4', customer: 'c-1', amount: 2 });
    await waitFor(() => billed.includes('o-4'));
    assert.deepEqual(billed, ['o-3', 'o-4']);
  } finally {
    await stop();
  }
});
