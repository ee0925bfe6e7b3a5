// The stock levels read with @platformatic/kafka instead of kafkajs, against the worker's broker from
// the global setup. @platformatic/kafka is optional here (the repository installs it only for its
// client bench): without it this test is skipped.
import { expect, test } from 'vitest';
import { uniqueName, waitFor, workerBootstrap } from 'rafka/testing';
import { connect, publishStock } from './stock.mjs';

const platformatic = await import('@platformatic/kafka').catch(() => null);

test.skipIf(platformatic === null)('a @platformatic/kafka consumer group reads the levels kafkajs published', async () => {
  const { Consumer, stringDeserializers } = platformatic;
  const topic = uniqueName('stock');
  await publishStock(connect(workerBootstrap()), topic, 'lime', 9);
  await publishStock(connect(workerBootstrap()), topic, 'lime', 8);
  const consumer = new Consumer({ clientId: 'stock-platformatic', groupId: uniqueName('view'), bootstrapBrokers: [workerBootstrap()], deserializers: stringDeserializers });
  const levels = new Map();
  const stream = await consumer.consume({ topics: [topic], mode: 'earliest' });
  try {
    stream.on('data', (m) => levels.set(m.key, Number(m.value)));
    await waitFor(() => levels.get('lime') === 8);
    expect(Object.fromEntries(levels)).toEqual({ lime: 8 });
  } finally {
    await stream.close();
    await consumer.close();
  }
});
