// The test file `npm run bench` times (bench/testkit.ts): 20 tests, each on a fresh topic of its own,
// each producing 10 records with kafkajs and consuming them back in a consumer group — what a typical
// service's Kafka tests do — against the broker `--import rafka/testing/node-test` starts.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel } from 'kafkajs';
import { uniqueName, waitFor } from 'rafka/testing';

const kafka = new Kafka({ clientId: 'bench-testkit', brokers: [process.env.KAFKA_BOOTSTRAP], logLevel: logLevel.NOTHING, retry: { initialRetryTime: 20, retries: 8 } });
const producer = kafka.producer();
before(() => producer.connect());
after(() => producer.disconnect());

for (let i = 1; i <= 20; i++) {
  test(`test ${i}: produce 10 records to a fresh topic and consume them in a group`, async () => {
    const topic = uniqueName('bench-topic');
    await producer.send({ topic, messages: Array.from({ length: 10 }, (_, n) => ({ key: `k${n}`, value: `v${n}` })) });
    const consumer = kafka.consumer({ groupId: uniqueName('bench-group'), maxWaitTimeInMs: 100 });
    const seen = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({ eachMessage: async ({ message }) => void seen.push(message.value.toString()) });
      await waitFor(() => seen.length === 10, { timeoutMs: 20_000 });
      assert.deepEqual(seen, Array.from({ length: 10 }, (_, n) => `v${n}`));
    } finally {
      await consumer.disconnect();
    }
  });
}
