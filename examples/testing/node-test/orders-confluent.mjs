// The orders app of orders.mjs written with @confluentinc/kafka-javascript (librdkafka underneath)
// through its KafkaJS-compatible API: the client's settings go in a `kafkaJS` block, librdkafka's own
// properties beside it; `fromBeginning` is set on the consumer, `subscribe` takes `topics`.
import confluent from '@confluentinc/kafka-javascript';

const { Kafka, logLevel } = confluent.KafkaJS;

export function connect(bootstrap) {
  return new Kafka({ kafkaJS: { clientId: 'orders-example', brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { initialRetryTime: 50, retries: 8 } } });
}

/** Publish one order, keyed by customer so a customer's orders stay in order. */
export async function placeOrder(kafka, order) {
  const producer = kafka.producer({ kafkaJS: { idempotent: true }, 'linger.ms': 0 });
  await producer.connect();
  try {
    await producer.send({ topic: 'orders', messages: [{ key: order.customer, value: JSON.stringify(order) }] });
  } finally {
    await producer.disconnect();
  }
}

/** Bill every order once (from the beginning of `orders`), skipping redelivered ones by id; returns a stop function. */
export async function startBilling(kafka, bill) {
  const billed = new Set();
  const consumer = kafka.consumer({ kafkaJS: { groupId: 'billing', fromBeginning: true, maxWaitTimeInMs: 100, heartbeatInterval: 200 } });
  await consumer.connect();
  await consumer.subscribe({ topics: ['orders'] });
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
