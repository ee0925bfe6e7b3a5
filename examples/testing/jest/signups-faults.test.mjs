// A broker of this file's own, started inside the test file: Rafka loads its protocol codecs with
// import() when Jest's module sandbox refuses require() of an ES module, so startTestBroker, fault
// injection and virtual time work here as in node:test or Vitest.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { startTestBroker, uniqueName, waitFor } from 'rafka/testing';
import { connect, signUp, startMailer } from './signups.mjs';

let broker;
beforeAll(async () => {
  broker = await startTestBroker();
});
afterAll(() => broker.close());

test('a sign-up published while the partition leader is moving arrives once', async () => {
  const topic = uniqueName('signups');
  await broker.createTopics([{ topic, partitions: 1 }]);
  // The first two Produce requests are answered NOT_LEADER_OR_FOLLOWER: kafkajs refreshes its
  // metadata and retries, and the sign-up is written exactly once.
  broker.faults.inject({ api: 'Produce', topic, errorCode: 'NOT_LEADER_OR_FOLLOWER', times: 2 });
  const kafka = connect(broker.bootstrap);
  const sent = [];
  const stop = await startMailer(kafka, topic, uniqueName('mailer'), (user) => sent.push(user.email));
  try {
    await signUp(kafka, topic, { email: 'grace@example.com' });
    await waitFor(() => sent.length === 1);
    expect(broker.faults.history.filter((f) => f.api === 'Produce')).toHaveLength(2);
    expect(sent).toEqual(['grace@example.com']);
  } finally {
    await stop();
  }
});
