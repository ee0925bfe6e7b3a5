// A small app to test: stock levels are published to a topic, keyed by item, and a stock view (a
// consumer group member) folds them into the current level of each item. Plain kafkajs; the
// bootstrap address and the topic come from the caller.
import { Kafka, logLevel } from 'kafkajs';

export function connect(bootstrap, clientId = 'stock-example') {
  return new Kafka({ clientId, brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { initialRetryTime: 20, retries: 8 } });
}

/** Publish an item's new stock level. */
export async function publishStock(kafka, topic, item, count) {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    await producer.send({ topic, messages: [{ key: item, value: String(count) }] });
  } finally {
    await producer.disconnect();
  }
}

/**
 * The current level of every item, kept by a member of consumer group `groupId`. `levels` is the
 * view; `assigned` how many partitions this member reads now; `stop()` leaves the group.
 */
export async function startStockView(kafka, topic, groupId, options = {}) {
  const levels = new Map();
  const view = { levels, assigned: 0, stop: async () => {} };
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100, heartbeatInterval: 1, sessionTimeout: options.sessionTimeoutMs ?? 10_000 });
  consumer.on(consumer.events.GROUP_JOIN, (e) => (view.assigned = (e.payload.memberAssignment[topic] ?? []).length));
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  view.running = consumer.run({ eachMessage: async ({ message }) => void levels.set(message.key.toString(), Number(message.value.toString())) });
  view.stop = () => consumer.disconnect();
  return view;
}
