// A small app to test: orders are published to `orders`, and a billing service (a consumer group)
// bills each order once. Plain kafkajs; the bootstrap address comes from the caller.
import { Kafka, logLevel } from 'kafkajs';

export function connect(bootstrap) {
  return new Kafka({ clientId: 'orders-example', brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { initialRetryTime: 50, retries: 8 } });
}

/** Publish one order, keyed by customer so a customer's orders stay in order. */
export async function placeOrder(kafka, order) {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    await producer.send({ topic: 'orders', messages: [{ key: order.customer, value: JSON.stringify(order) }] });
  } finally {
    await producer.disconnect();
  }
}

/**
 * Bill every order once (from the beginning of `orders`); returns a stop function. A consumer group
 * delivers at least once: after a rebalance or a failed offset commit, records since the last
 * committed offset come again — so orders already billed are skipped by id (here in memory; a real
 * service keeps this where it keeps its bills). The coordinator test in orders.test.mjs fails
 * without it.
 */
export async function startBilling(kafka, bill) {
  const billed = new Set();
  const consumer = kafka.consumer({ groupId: 'billing', maxWaitTimeInMs: 100, heartbeatInterval: 200 });
  await consumer.connect();
  await consumer.subscribe({ topic: 'orders', fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const order = JSON.parse(message.value.toString());
      if (billed.has(order.id)) return;
      billed.add(order.id);
      bill(order);
    },
  });
  return () => consumer.disconnect();
}
