/**
 * kafkajs's transactional producer against the transaction coordinator: FindCoordinator for the
 * transactional id, InitProducerId, AddOffsetsToTxn + TxnOffsetCommit (`sendOffsets`), EndTxn commit
 * and abort, fencing by a second producer with the same transactional id, and records sent in an
 * aborted and a committed transaction, of which kafkajs's consumer (read_committed by default) sees
 * only the committed ones.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import type { RunningBroker } from '../src/broker/index.js';
import { testBroker } from './helpers/broker.js';

describe('kafkajs transactional producer: sendOffsets, commit, abort, fencing', { timeout: 60_000 }, () => {
  let b: RunningBroker;
  let kafka: Kafka;
  let admin: Admin;

  before(async () => {
    b = await testBroker();
    await b.broker.topics.create('kt', 2, 1, {});
    await b.broker.topics.create('kt-records', 1, 1, {});
    kafka = new Kafka({ clientId: 'txn-test', brokers: [b.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 5, initialRetryTime: 50 } });
    admin = kafka.admin();
    await admin.connect();
  });
  after(async () => {
    await admin.disconnect();
    await b.close();
  });

  const committed = async (groupId: string) =>
    (await admin.fetchOffsets({ groupId, topics: ['kt'] }))[0]!.partitions.map((p) => [p.partition, p.offset]).sort();

  it('committed offsets appear only when the transaction commits; an aborted one leaves none', async () => {
    const producer = kafka.producer({ transactionalId: 'kjs-tx', maxInFlightRequests: 1, idempotent: true });
    await producer.connect();
    try {
      const aborted = await producer.transaction();
      await aborted.sendOffsets({ consumerGroupId: 'kjs-group', topics: [{ topic: 'kt', partitions: [{ partition: 0, offset: '3' }] }] });
      await aborted.abort();
      assert.deepEqual(await committed('kjs-group'), [[0, '-1'], [1, '-1']], 'nothing from the aborted transaction');

      const txn = await producer.transaction();
      await txn.sendOffsets({ consumerGroupId: 'kjs-group', topics: [{ topic: 'kt', partitions: [{ partition: 0, offset: '5' }, { partition: 1, offset: '7' }] }] });
      assert.deepEqual(await committed('kjs-group'), [[0, '-1'], [1, '-1']], 'pending until the commit');
      await txn.commit();
      await b.broker.transactions.settle();
      assert.deepEqual(await committed('kjs-group'), [[0, '5'], [1, '7']]);
      assert.equal(b.broker.transactions.get('kjs-tx')!.state, 'CompleteCommit');
    } finally {
      await producer.disconnect();
    }
  });

  it('a second producer with the same transactional id fences the first', async () => {
    const first = kafka.producer({ transactionalId: 'kjs-fence', maxInFlightRequests: 1, idempotent: true });
    const second = kafka.producer({ transactionalId: 'kjs-fence', maxInFlightRequests: 1, idempotent: true });
    await first.connect();
    try {
      const zombie = await first.transaction();
      await zombie.sendOffsets({ consumerGroupId: 'kjs-fenced', topics: [{ topic: 'kt', partitions: [{ partition: 0, offset: '9' }] }] });
      await second.connect();
      // kafkajs sends InitProducerId with the transactional id at its first transaction: the first
      // producer's transaction is aborted (CONCURRENT_TRANSACTIONS, retried) and the epoch bumped twice.
      const txn = await second.transaction();
      await assert.rejects(zombie.commit(), (err: Error) => /fenced|epoch/i.test(`${err.name} ${err.message}`), 'the zombie cannot commit');
      await b.broker.transactions.settle();
      assert.deepEqual(await committed('kjs-fenced'), [[0, '-1'], [1, '-1']], 'the zombie’s offsets were dropped');
      await txn.sendOffsets({ consumerGroupId: 'kjs-fenced', topics: [{ topic: 'kt', partitions: [{ partition: 1, offset: '2' }] }] });
      await txn.commit();
      await b.broker.transactions.settle();
      assert.deepEqual(await committed('kjs-fenced'), [[0, '-1'], [1, '2']]);
    } finally {
      await first.disconnect().catch(() => {});
      await second.disconnect();
    }
  });
  it('records of an aborted transaction are hidden from a read_committed consumer; a committed one\'s are seen', async () => {
    const producer = kafka.producer({ transactionalId: 'kjs-records', maxInFlightRequests: 1, idempotent: true });
    await producer.connect();
    try {
      const aborted = await producer.transaction();
      await aborted.send({ topic: 'kt-records', messages: [{ value: 'aborted-1' }, { value: 'aborted-2' }] });
      await aborted.abort();
      const txn = await producer.transaction();
      await txn.send({ topic: 'kt-records', messages: [{ value: 'committed-1' }, { value: 'committed-2' }] });
      await txn.commit();
      await b.broker.transactions.settle();
    } finally {
      await producer.disconnect();
    }
    const read = async (readUncommitted: boolean): Promise<string[]> => {
      const consumer = kafka.consumer({ groupId: `kjs-records-${readUncommitted}`, readUncommitted, maxWaitTimeInMs: 100 });
      const seen: string[] = [];
      await consumer.connect();
      try {
        await consumer.subscribe({ topic: 'kt-records', fromBeginning: true });
        const want = readUncommitted ? 4 : 2;
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`saw only ${JSON.stringify(seen)}`)), 20_000);
          void consumer.run({
            eachMessage: async ({ message }) => {
              seen.push(message.value!.toString());
              if (seen.length >= want) {
                clearTimeout(timer);
                resolve();
              }
            },
          });
        });
        await new Promise((r) => setTimeout(r, 300)); // anything more would arrive now
      } finally {
        await consumer.disconnect();
      }
      return seen;
    };
    assert.deepEqual(await read(false), ['committed-1', 'committed-2']);
    assert.deepEqual(await read(true), ['aborted-1', 'aborted-2', 'committed-1', 'committed-2']);
  });
});
