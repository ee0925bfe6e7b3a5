/**
 * The client Admin's KIP-664 methods against a broker holding an ongoing and a completed transaction
 * (made by kafkajs's transactional producer): describeTransactions (at each id's coordinator),
 * listTransactions with its state, producer-id and duration filters, describeProducers (at each
 * partition's leader); and groupLag and apiVersions, which `rafka groups describe` and `rafka
 * cluster` print.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel, type Producer as KafkaProducer } from 'kafkajs';
import { testBroker } from './helpers/broker.js';
import type { RunningBroker } from '../src/broker/index.js';
import { Admin, Consumer, KafkaProtocolError, Producer } from '../src/client/index.js';

describe('admin: transactions, producers, lag, API versions', { timeout: 120_000 }, () => {
  let broker: RunningBroker;
  let admin: Admin;
  let kafka: Kafka;
  const producers: KafkaProducer[] = [];
  let openPid = -1;
  let donePid = -1;

  before(async () => {
    broker = await testBroker({ autoCreateTopicsEnable: false });
    admin = new Admin({ bootstrap: broker.bootstrap });
    await admin.createTopics([{ topic: 'at', numPartitions: 3 }]);
    kafka = new Kafka({ clientId: 'admin-txn', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
    const done = kafka.producer({ transactionalId: 'at-done', idempotent: true, maxInFlightRequests: 1 });
    const open = kafka.producer({ transactionalId: 'at-open', idempotent: true, maxInFlightRequests: 1 });
    producers.push(done, open);
    await done.connect();
    await open.connect();
    const t1 = await done.transaction();
    await t1.send({ topic: 'at', messages: [{ value: 'c1', partition: 0 }, { value: 'c2', partition: 1 }] });
    await t1.commit();
    await broker.broker.transactions.settle();
    // The ongoing one writes after two plain records, so its first offset on partition 2 is 2.
    const plain = new Producer({ bootstrap: broker.bootstrap });
    await plain.send('at', [{ value: 'p1', partition: 2 }, { value: 'p2', partition: 2 }]);
    await plain.close();
    const t2 = await open.transaction();
    await t2.send({ topic: 'at', messages: [{ value: 'o1', partition: 2 }, { value: 'o2', partition: 0 }] });
    openPid = broker.broker.transactions.get('at-open')!.producerId;
    donePid = broker.broker.transactions.get('at-done')!.producerId;
  });
  after(async () => {
    for (const p of producers) await p.disconnect().catch(() => {});
    await admin.close();
    await broker.close();
  });

  test('describeTransactions: an ongoing transaction with its partitions, a completed one without', async () => {
    const [open, done] = await admin.describeTransactions(['at-open', 'at-done']);
    assert.equal(open!.transactionalId, 'at-open');
    assert.equal(open!.coordinatorId, 1);
    assert.equal(open!.state, 'Ongoing');
    assert.equal(open!.producerId, openPid);
    assert.equal(open!.producerEpoch, broker.broker.transactions.get('at-open')!.producerEpoch);
    assert.equal(open!.transactionTimeoutMs, broker.broker.transactions.get('at-open')!.timeoutMs);
    assert.ok(open!.transactionStartTimeMs !== null && Date.now() - open!.transactionStartTimeMs < 60_000 && Date.now() >= open!.transactionStartTimeMs);
    assert.deepEqual(
      [...open!.topicPartitions].sort((a, b) => a.partition - b.partition),
      [{ topic: 'at', partition: 0 }, { topic: 'at', partition: 2 }],
    );
    // Kafka keeps the start time of the last transaction after it completes; so does Rafka.
    assert.ok(done!.transactionStartTimeMs !== null && done!.transactionStartTimeMs <= open!.transactionStartTimeMs!);
    assert.deepEqual({ ...done!, transactionTimeoutMs: 0, transactionStartTimeMs: 0 }, {
      transactionalId: 'at-done',
      coordinatorId: 1,
      state: 'CompleteCommit',
      producerId: donePid,
      producerEpoch: broker.broker.transactions.get('at-done')!.producerEpoch,
      transactionTimeoutMs: 0,
      transactionStartTimeMs: 0,
      topicPartitions: [],
    });
    await assert.rejects(admin.describeTransactions(['at-open', 'at-nobody']), (e: unknown) => e instanceof KafkaProtocolError && e.type === 'TRANSACTIONAL_ID_NOT_FOUND' && e.message.includes('at-nobody'));
  });

  test('listTransactions: every id, or by state, producer id and duration', async () => {
    const all = await admin.listTransactions();
    assert.deepEqual(all, [
      { transactionalId: 'at-done', producerId: donePid, state: 'CompleteCommit', coordinatorId: 1 },
      { transactionalId: 'at-open', producerId: openPid, state: 'Ongoing', coordinatorId: 1 },
    ]);
    assert.deepEqual((await admin.listTransactions({ states: ['Ongoing'] })).map((t) => t.transactionalId), ['at-open']);
    assert.deepEqual((await admin.listTransactions({ states: ['PrepareAbort'] })).map((t) => t.transactionalId), []);
    assert.deepEqual((await admin.listTransactions({ producerIds: [donePid] })).map((t) => t.transactionalId), ['at-done']);
    assert.deepEqual((await admin.listTransactions({ states: ['Ongoing'], producerIds: [donePid] })).map((t) => t.transactionalId), []);
    // KIP-994: only transactions running longer than the filter.
    assert.deepEqual((await admin.listTransactions({ states: ['Ongoing'], durationFilterMs: 0 })).map((t) => t.transactionalId), ['at-open']);
    assert.deepEqual(await admin.listTransactions({ states: ['Ongoing'], durationFilterMs: 3_600_000 }), []);
  });

  test('describeProducers: the ongoing transaction start offset, the sequence, the marker epoch', async () => {
    const [p0, p2] = await admin.describeProducers([{ topic: 'at', partition: 0 }, { topic: 'at', partition: 2 }]);
    assert.equal(p0!.partition, 0);
    const byPid = new Map(p0!.activeProducers.map((a) => [a.producerId, a]));
    // Partition 0: the committed transaction's record (offset 0) and its marker (1), then the ongoing one's record at 2.
    assert.equal(byPid.get(donePid)!.currentTransactionStartOffset, null);
    assert.equal(byPid.get(donePid)!.lastSequence, 0);
    assert.notEqual(byPid.get(donePid)!.coordinatorEpoch, null);
    assert.equal(byPid.get(openPid)!.currentTransactionStartOffset, 2);
    assert.equal(byPid.get(openPid)!.lastSequence, 0);
    assert.ok(byPid.get(openPid)!.lastTimestamp > 0);
    const onTwo = p2!.activeProducers.find((a) => a.producerId === openPid)!;
    assert.equal(onTwo.currentTransactionStartOffset, 2);
    assert.equal(onTwo.coordinatorEpoch, null);
    // The plain idempotent producer of p1/p2 is there too, with no transaction.
    assert.ok(p2!.activeProducers.some((a) => a.producerId !== openPid && a.currentTransactionStartOffset === null && a.lastSequence === 1));
    await assert.rejects(admin.describeProducers([{ topic: 'at', partition: 9 }]), (e: unknown) => e instanceof KafkaProtocolError && e.type === 'UNKNOWN_TOPIC_OR_PARTITION');
  });

  test('groupLag: committed, log end and lag per partition, with the member consuming it', async () => {
    await admin.createTopics([{ topic: 'lag', numPartitions: 2 }]);
    const p = new Producer({ bootstrap: broker.bootstrap });
    await p.send('lag', [{ value: 'a', partition: 0 }, { value: 'b', partition: 0 }, { value: 'c', partition: 1 }]);
    await p.close();
    await admin.alterGroupOffsets('lag-group', [{ topic: 'lag', partition: 0, offset: 1 }]);
    assert.deepEqual(await admin.groupLag('lag-group'), [{ topic: 'lag', partition: 0, committedOffset: 1, logEndOffset: 2, lag: 1, memberId: null, clientId: null }]);

    const c = new Consumer({ bootstrap: broker.bootstrap, groupId: 'lag-group', autoOffsetReset: 'earliest', clientId: 'lagger', autoCommit: false });
    try {
      c.subscribe('lag');
      await c.ready();
      const rows = await admin.groupLag('lag-group');
      assert.deepEqual(rows.map((r) => [r.partition, r.committedOffset, r.logEndOffset, r.lag, r.clientId]), [[0, 1, 2, 1, 'lagger'], [1, -1, 1, null, 'lagger']]);
      assert.ok(rows.every((r) => r.memberId === c.memberId));
    } finally {
      await c.close();
    }
    // Deleting the topic drops the group's offsets for it, as Kafka does.
    await admin.deleteTopics(['lag']);
    assert.deepEqual(await admin.groupLag('lag-group'), []);
  });

  test('apiVersions: what the broker offers and the version this client uses', async () => {
    const apis = await admin.apiVersions();
    const byName = new Map(apis.map((a) => [a.name, a]));
    for (const name of ['Produce', 'Fetch', 'DescribeTransactions', 'ListTransactions', 'DescribeProducers']) assert.ok(byName.has(name), name);
    assert.deepEqual(byName.get('ListTransactions'), { apiKey: 66, name: 'ListTransactions', minVersion: 0, maxVersion: 1, usableVersion: 1 });
    assert.deepEqual(apis.map((a) => a.apiKey), [...apis.map((a) => a.apiKey)].sort((x, y) => x - y));
    assert.deepEqual(await admin.apiVersions(1), apis);
  });
});
