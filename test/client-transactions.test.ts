/**
 * Rafka's own client with transactions, against the broker's transaction coordinator: the
 * transactional Producer (initTransactions, begin, send, sendOffsetsToTransaction, commit, abort, its
 * state machine and errors) and the read_committed Consumer (aborted records dropped, the last stable
 * offset respected, control batches never handed out and passed by the position).
 * Outside clients reading what this producer writes: client-transactions-interop.test.ts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { testBroker } from './helpers/broker.js';
import { readToEnd, values } from './helpers/client-read.js';
import { TestProxy } from './helpers/proxy.js';
import { ApiKey } from '../src/protocol/messages/index.js';
import { ErrorCode } from '../src/protocol/error-codes.js';
import type { RunningBroker } from '../src/broker/index.js';
import {
  AbortableTransactionError,
  Admin,
  ConfigError,
  Consumer,
  KafkaProtocolError,
  Producer,
  TransactionAbortedError,
  TransactionStateError,
} from '../src/client/index.js';

async function until(fn: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const isCode = (code: string) => (e: unknown) => e instanceof KafkaProtocolError && e.code === code;

describe('client transactions', () => {
  let b: RunningBroker;
  let admin: Admin;
  const producers: Producer[] = [];
  const txProducer = (transactionalId: string, extra: Partial<ConstructorParameters<typeof Producer>[0]> = {}) => {
    const p = new Producer({ bootstrap: b.bootstrap, transactionalId, retryBackoffMs: 10, ...extra });
    producers.push(p);
    return p;
  };
  before(async () => {
    b = await testBroker({ groupInitialRebalanceDelayMs: 0, transactionAbortTimedOutTransactionCleanupIntervalMs: 100 });
    admin = new Admin({ bootstrap: b.bootstrap });
    await admin.createTopics([
      { topic: 'tx-vis', numPartitions: 2 },
      { topic: 'tx-lso', numPartitions: 1 },
      { topic: 'tx-interleave', numPartitions: 1 },
      { topic: 'tx-unsent', numPartitions: 1 },
      { topic: 'tx-zombie', numPartitions: 1 },
      { topic: 'tx-timeout', numPartitions: 1 },
      { topic: 'rpw-in', numPartitions: 2 },
      { topic: 'rpw-out', numPartitions: 2 },
    ]);
  });
  after(async () => {
    for (const p of producers) await p.close({ timeoutMs: 1000 }).catch(() => {});
    await admin.close();
    await b.close();
  });

  test('options and the state machine: calls in the wrong state are refused', async () => {
    assert.throws(() => new Producer({ bootstrap: b.bootstrap, transactionalId: 't', idempotent: false }), ConfigError);
    assert.throws(() => new Producer({ bootstrap: b.bootstrap, transactionalId: 't', acks: 1 }), ConfigError);
    assert.throws(() => new Producer({ bootstrap: b.bootstrap, transactionalId: '' }), ConfigError);
    const plain = new Producer({ bootstrap: b.bootstrap });
    producers.push(plain);
    await assert.rejects(plain.initTransactions(), ConfigError);
    assert.equal(plain.transactionState, null);

    const p = txProducer('tx-states');
    assert.equal(p.transactionState, 'UNINITIALIZED');
    await assert.rejects(p.send('tx-vis', { value: 'x' }), TransactionStateError);
    assert.throws(() => p.beginTransaction(), TransactionStateError);
    await p.initTransactions();
    assert.equal(p.transactionState, 'READY');
    await assert.rejects(p.initTransactions(), TransactionStateError, 'initTransactions only once');
    await assert.rejects(p.send('tx-vis', { value: 'x' }), TransactionStateError, 'send outside a transaction');
    await assert.rejects(p.commitTransaction(), TransactionStateError);
    await assert.rejects(p.abortTransaction(), TransactionStateError);
    await assert.rejects(p.sendOffsetsToTransaction([{ topic: 'tx-vis', partition: 0, offset: 1 }], 'g'), TransactionStateError);
    p.beginTransaction();
    assert.throws(() => p.beginTransaction(), TransactionStateError);
    // A transaction with nothing in it needs no EndTxn (the coordinator would answer INVALID_TXN_STATE).
    await p.commitTransaction();
    assert.equal(p.transactionState, 'READY');
    p.beginTransaction();
    await p.abortTransaction();
    assert.equal(p.transactionState, 'READY');
    const id = p.producerIdentity;
    assert.equal(b.broker.transactions.get('tx-states')!.producerId, id.producerId);
  });

  test('commit and abort: read_committed sees committed records only, read_uncommitted all; markers never', async () => {
    const p = txProducer('tx-vis');
    await p.initTransactions();
    p.beginTransaction();
    await p.send('tx-vis', [{ value: 'a1', partition: 0 }, { value: 'a2', partition: 1 }]);
    await p.abortTransaction();
    p.beginTransaction();
    await p.send('tx-vis', [{ value: 'c1', partition: 0 }, { value: 'c2', partition: 1 }]);
    await p.commitTransaction();
    p.beginTransaction();
    await p.send('tx-vis', { value: 'c3', partition: 0 });
    await p.commitTransaction();
    await b.broker.transactions.settle();
    // Per partition: records and a marker per transaction (p0: a1 ABORT c1 COMMIT c3 COMMIT).
    const ends = [6, 4];
    const committed = await readToEnd(b.bootstrap, 'tx-vis', ends, 'read_committed');
    assert.deepEqual(values(committed.messages).sort(), ['c1', 'c2', 'c3']);
    assert.deepEqual(committed.positions, ends, 'the position moves past the final markers');
    const all = await readToEnd(b.bootstrap, 'tx-vis', ends, 'read_uncommitted');
    assert.deepEqual(values(all.messages.filter((m) => m.partition === 0)), ['a1', 'c1', 'c3']);
    assert.deepEqual(values(all.messages.filter((m) => m.partition === 1)), ['a2', 'c2']);
    assert.deepEqual(all.positions, ends);
    assert.equal(b.broker.transactions.get('tx-vis')!.state, 'CompleteCommit');
  });

  test('interleaved transactions of two producers on one partition: only the committed one is read', async () => {
    const a = txProducer('tx-interleave-a');
    const c = txProducer('tx-interleave-c');
    await Promise.all([a.initTransactions(), c.initTransactions()]);
    a.beginTransaction();
    c.beginTransaction();
    for (const i of [1, 2, 3]) {
      await a.send('tx-interleave', { value: `a${i}` });
      await c.send('tx-interleave', { value: `c${i}` });
    }
    await a.abortTransaction();
    a.beginTransaction();
    await a.send('tx-interleave', { value: 'a4' }); // a later transaction of the aborted producer
    await c.commitTransaction();
    await a.commitTransaction();
    await b.broker.transactions.settle();
    const ends = [10]; // 7 records, 3 markers
    assert.deepEqual(values((await readToEnd(b.bootstrap, 'tx-interleave', ends, 'read_committed')).messages), ['c1', 'c2', 'c3', 'a4']);
    assert.deepEqual(values((await readToEnd(b.bootstrap, 'tx-interleave', ends, 'read_uncommitted')).messages), ['a1', 'c1', 'a2', 'c2', 'a3', 'c3', 'a4']);
    // Starting inside the aborted transaction (at a2): the answer still lists it, so a2 and a3 are dropped.
    const mid = new Consumer({ bootstrap: b.bootstrap, isolationLevel: 'read_committed' });
    try {
      mid.assign([{ topic: 'tx-interleave', partition: 0, offset: 2 }]);
      const got = [];
      for (let i = 0; i < 3; i++) got.push((await mid.next(5000))!.value!.toString());
      assert.deepEqual(got, ['c2', 'c3', 'a4']);
    } finally {
      await mid.close();
    }
  });

  test('read_committed stops at the last stable offset while a transaction is open', async () => {
    const plain = new Producer({ bootstrap: b.bootstrap });
    producers.push(plain);
    await plain.send('tx-lso', { value: 'before' });
    const p = txProducer('tx-lso');
    await p.initTransactions();
    p.beginTransaction();
    await p.send('tx-lso', [{ value: 'open-1' }, { value: 'open-2' }]);
    const rc = new Consumer({ bootstrap: b.bootstrap, isolationLevel: 'read_committed' });
    const ru = new Consumer({ bootstrap: b.bootstrap });
    try {
      rc.assign([{ topic: 'tx-lso', partition: 0, offset: 0 }]);
      ru.assign([{ topic: 'tx-lso', partition: 0, offset: 0 }]);
      assert.equal((await rc.next(5000))!.value!.toString(), 'before');
      assert.equal(await rc.next(300), undefined, 'nothing of the open transaction');
      assert.deepEqual(values([(await ru.next(5000))!, (await ru.next(5000))!, (await ru.next(5000))!]), ['before', 'open-1', 'open-2']);
      await p.commitTransaction();
      assert.deepEqual(values([(await rc.next(5000))!, (await rc.next(5000))!]), ['open-1', 'open-2']);
      await until(() => rc.position({ topic: 'tx-lso', partition: 0 }) === 4, 5000, 'the position past the COMMIT marker');
    } finally {
      await rc.close();
      await ru.close();
    }
    // latest with read_committed is the last stable offset: a new consumer starts behind the open transaction.
    p.beginTransaction();
    await p.send('tx-lso', { value: 'open-3' });
    const latest = new Consumer({ bootstrap: b.bootstrap, isolationLevel: 'read_committed', autoOffsetReset: 'latest' });
    try {
      latest.assign([{ topic: 'tx-lso', partition: 0 }]);
      await until(() => latest.position({ topic: 'tx-lso', partition: 0 }) !== null, 5000, 'a position');
      assert.equal(latest.position({ topic: 'tx-lso', partition: 0 }), 4);
      await p.commitTransaction();
      assert.equal((await latest.next(5000))!.value!.toString(), 'open-3');
    } finally {
      await latest.close();
    }
  });

  test('abort drops records not yet sent (TransactionAbortedError); the next transaction continues the sequence', async () => {
    const p = txProducer('tx-unsent', { lingerMs: 60_000 });
    await p.initTransactions();
    p.beginTransaction();
    const sent = p.send('tx-unsent', { value: 'sent' });
    await p.flush();
    assert.equal((await sent).offset, 0);
    const dropped = p.send('tx-unsent', [{ value: 'dropped-1' }, { value: 'dropped-2' }]).then(
      () => null,
      (e: unknown) => e,
    );
    await until(() => p.bufferedBytesNow > 0, 5000, 'the records to wait in their batch');
    await p.abortTransaction();
    assert.ok((await dropped) instanceof TransactionAbortedError);
    assert.equal(p.bufferedBytesNow, 0, 'their memory is released');
    p.beginTransaction();
    const later = p.send('tx-unsent', { value: 'after' });
    await p.commitTransaction();
    assert.equal((await later).offset, 2, 'after the ABORT marker; no sequence gap for the dropped records');
    await b.broker.transactions.settle();
    assert.deepEqual(values((await readToEnd(b.bootstrap, 'tx-unsent', [4], 'read_uncommitted')).messages), ['sent', 'after']);
    assert.deepEqual(values((await readToEnd(b.bootstrap, 'tx-unsent', [4], 'read_committed')).messages), ['after']);
  });

  test('read-process-write: the group\'s offsets move only when the transaction commits; a stale generation is refused', async () => {
    const plain = new Producer({ bootstrap: b.bootstrap });
    producers.push(plain);
    const inputs = Array.from({ length: 20 }, (_, i) => `in-${i}`);
    await plain.send('rpw-in', inputs.map((value, i) => ({ value, partition: i % 2 })));
    const consumer = new Consumer({ bootstrap: b.bootstrap, groupId: 'rpw', autoCommit: false, autoOffsetReset: 'earliest', isolationLevel: 'read_committed' });
    const tps = [0, 1].map((partition) => ({ topic: 'rpw-in', partition }));
    const key = (tp: { topic: string; partition: number }) => `${tp.topic}\u0000${tp.partition}`;
    const p = txProducer('rpw');
    try {
      consumer.subscribe('rpw-in');
      await consumer.ready();
      await p.initTransactions();
      const positions = () => tps.flatMap((tp) => {
        const offset = consumer.position(tp);
        return offset === null ? [] : [{ ...tp, offset }];
      });
      const processed = async (n: number) => {
        p.beginTransaction();
        const sends: Promise<unknown>[] = [];
        for (let i = 0; i < n; i++) {
          const m = await consumer.next(5000);
          assert.ok(m, `input ${i} of ${n}`);
          sends.push(p.send('rpw-out', { value: `out-${m.value!.toString()}`, partition: m.partition }));
        }
        await Promise.all(sends);
        await p.sendOffsetsToTransaction(positions(), consumer.groupMetadata());
      };
      const meta = consumer.groupMetadata();
      assert.equal(meta.groupId, 'rpw');
      assert.ok(meta.generationId >= 1 && meta.memberId !== '');

      // 1) Aborted: the offsets sent with it are dropped.
      await processed(10);
      await p.abortTransaction();
      await b.broker.transactions.settle();
      const none = await consumer.committed(tps);
      assert.deepEqual(tps.map((tp) => none.get(key(tp))), [-1, -1]);

      // 2) The application starts again from the committed offsets (none: the beginning), and commits.
      for (const tp of tps) consumer.seek({ ...tp, offset: 0 });
      await processed(20);
      await p.commitTransaction();
      await b.broker.transactions.settle();
      const done = await consumer.committed(tps);
      assert.deepEqual(tps.map((tp) => done.get(key(tp))), [10, 10]);

      // 3) KIP-447: offsets of a member of another generation are refused; the transaction is then
      //    abortable (commit refused, abort works) and the next one goes through.
      p.beginTransaction();
      await p.send('rpw-out', { value: 'stale', partition: 0 });
      await assert.rejects(p.sendOffsetsToTransaction(positions(), { ...meta, generationId: meta.generationId + 1 }), isCode('ILLEGAL_GENERATION'));
      assert.equal(p.transactionState, 'ABORTABLE_ERROR');
      await assert.rejects(p.commitTransaction(), (e: unknown) => e instanceof AbortableTransactionError && e.cause instanceof KafkaProtocolError && e.cause.code === 'ILLEGAL_GENERATION');
      await assert.rejects(p.send('rpw-out', { value: 'refused' }), AbortableTransactionError);
      await p.abortTransaction();
      assert.equal(p.transactionState, 'READY');
      p.beginTransaction();
      await p.send('rpw-out', { value: 'after-abortable', partition: 1 });
      await p.commitTransaction();
      await b.broker.transactions.settle();
    } finally {
      await consumer.close();
    }
    const ends = (await admin.listOffsets('rpw-out')).sort((x, y) => x.partition - y.partition).map((o) => o.offset);
    const out = values((await readToEnd(b.bootstrap, 'rpw-out', ends, 'read_committed')).messages);
    assert.deepEqual(out.filter((v) => v.startsWith('out-')).sort(), inputs.map((v) => `out-${v}`).sort(), 'each input once');
    assert.deepEqual(out.filter((v) => !v.startsWith('out-')), ['after-abortable']);
    assert.equal(values((await readToEnd(b.bootstrap, 'rpw-out', ends, 'read_uncommitted')).messages).length, 10 + 20 + 2, 'the aborted records are in the log');
  });

  test('a zombie is fenced: a second initTransactions with the same id makes the first producer fail for good', async () => {
    const zombie = txProducer('tx-zombie');
    await zombie.initTransactions();
    zombie.beginTransaction();
    await zombie.send('tx-zombie', { value: 'zombie' });
    const fresh = txProducer('tx-zombie');
    await fresh.initTransactions(); // aborts the zombie's open transaction (CONCURRENT_TRANSACTIONS, retried)
    assert.equal(fresh.producerIdentity.producerId, zombie.producerIdentity.producerId);
    assert.ok(fresh.producerIdentity.producerEpoch > zombie.producerIdentity.producerEpoch);
    await assert.rejects(zombie.commitTransaction(), isCode('PRODUCER_FENCED'));
    assert.equal(zombie.transactionState, 'FATAL_ERROR');
    assert.throws(() => zombie.beginTransaction(), isCode('PRODUCER_FENCED'));
    await assert.rejects(zombie.send('tx-zombie', { value: 'more' }), isCode('PRODUCER_FENCED'));
    await assert.rejects(zombie.abortTransaction(), isCode('PRODUCER_FENCED'));
    fresh.beginTransaction();
    await fresh.send('tx-zombie', { value: 'fresh' });
    await fresh.commitTransaction();
    await b.broker.transactions.settle();
    const { messages } = await readToEnd(b.bootstrap, 'tx-zombie', [4], 'read_committed');
    assert.deepEqual(values(messages), ['fresh']);
  });

  test('a transaction past its timeout is aborted by the broker: the next call gets PRODUCER_FENCED', async () => {
    const p = txProducer('tx-timeout', { transactionTimeoutMs: 300 });
    await p.initTransactions();
    p.beginTransaction();
    await p.send('tx-timeout', { value: 'late' });
    await until(() => b.broker.transactions.get('tx-timeout')?.state === 'CompleteAbort', 10_000, 'the broker to abort the transaction');
    await assert.rejects(p.commitTransaction(), isCode('PRODUCER_FENCED'));
    assert.equal(p.transactionState, 'FATAL_ERROR');
    const { messages } = await readToEnd(b.bootstrap, 'tx-timeout', [2], 'read_committed');
    assert.deepEqual(values(messages), []);
  });
});

test('abort gives back the sequence numbers of batches numbered but never sent (answers held by a proxy)', async () => {
  const proxy = await TestProxy.start();
  const b = await testBroker({ advertisedPort: proxy.port });
  proxy.target = { host: '127.0.0.1', port: b.port };
  // One batch per record, one in flight: the second and third are numbered together when the
  // second is sent, so the third waits with a sequence number of its own.
  const p = new Producer({ bootstrap: `127.0.0.1:${proxy.port}`, transactionalId: 'tx-seq', maxInFlightPerPartition: 1, batchSizeBytes: 1, retryBackoffMs: 10 });
  const produces = () => proxy.requestsByApi.get(ApiKey.Produce) ?? 0;
  // Chunks the broker sent (held or not): an answer must be at the proxy before it is released,
  // or it would arrive once holding resumed and stay held.
  let answers = 0;
  proxy.tap = (_connection, from) => {
    if (from === 'broker') answers++;
  };
  try {
    await b.broker.topics.create('tx-seq', 1, 1, {});
    await p.initTransactions();
    p.beginTransaction();
    await p.send('tx-seq', { value: 'r0' }); // sequence 0
    proxy.holdResponses = true;
    const answered = answers;
    const r1 = p.send('tx-seq', { value: 'r1' }); // sequence 1, its answer held
    await until(() => produces() === 2 && answers > answered, 15_000, 'r1 sent and its answer held');
    const r2 = p.send('tx-seq', { value: 'r2' }).then(
      (m) => m,
      (e: unknown) => e as Error,
    );
    const r3 = p.send('tx-seq', { value: 'r3' }).then(
      () => null,
      (e: unknown) => e,
    );
    await until(() => p.bufferedBytesNow > 0 && produces() === 2, 15_000, 'r2 and r3 queued');
    proxy.release();
    proxy.holdResponses = true;
    await r1;
    await until(() => produces() === 3, 15_000, 'r2 sent (sequence 2), r3 numbered 3 and waiting');
    const aborting = p.abortTransaction();
    assert.ok((await r3) instanceof TransactionAbortedError, 'r3 was never sent');
    proxy.release();
    await aborting;
    const written = await r2;
    assert.ok(!(written instanceof Error), `r2: ${String(written)}`);
    assert.equal(written.offset, 2, 'r2 was written before the abort');
    p.beginTransaction();
    assert.equal((await p.send('tx-seq', { value: 'r4' })).offset, 4, 'sequence 3 again: no gap for r3');
    await p.commitTransaction();
    await b.broker.transactions.settle();
    const ends = [6];
    assert.deepEqual(values((await readToEnd(b.bootstrap, 'tx-seq', ends, 'read_committed')).messages), ['r4']);
    assert.deepEqual(values((await readToEnd(b.bootstrap, 'tx-seq', ends, 'read_uncommitted')).messages), ['r0', 'r1', 'r2', 'r4']);
  } finally {
    proxy.release();
    await p.close({ timeoutMs: 1000 });
    await b.close();
    await proxy.close();
  }
});

describe('client transactions: coordinator answers (injected by an onRequest hook)', () => {
  let b: RunningBroker;
  /** Error codes to answer, in order, to the next requests of each API key (then the real handler). */
  const faults = new Map<number, number[]>();
  const seen = new Map<number, number>();
  const producers: Producer[] = [];
  const txProducer = (transactionalId: string) => {
    const p = new Producer({ bootstrap: b.bootstrap, transactionalId, retryBackoffMs: 5, retryBackoffMaxMs: 20 });
    producers.push(p);
    return p;
  };
  before(async () => {
    b = await testBroker({
      hooks: [
        {
          name: 'inject-coordinator-errors',
          onRequest(ctx) {
            seen.set(ctx.apiKey, (seen.get(ctx.apiKey) ?? 0) + 1);
            const code = faults.get(ctx.apiKey)?.shift();
            return code === undefined ? undefined : { errorCode: code };
          },
        },
      ],
    });
    await b.broker.topics.create('inj', 1, 1, {});
  });
  after(async () => {
    for (const p of producers) await p.close({ timeoutMs: 1000 }).catch(() => {});
    await b.close();
  });

  test('retriable answers are retried, NOT_COORDINATOR / COORDINATOR_NOT_AVAILABLE after a new FindCoordinator', async () => {
    faults.set(ApiKey.FindCoordinator, [ErrorCode.COORDINATOR_NOT_AVAILABLE]);
    faults.set(ApiKey.InitProducerId, [ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, ErrorCode.NOT_COORDINATOR, ErrorCode.CONCURRENT_TRANSACTIONS]);
    faults.set(ApiKey.AddPartitionsToTxn, [ErrorCode.CONCURRENT_TRANSACTIONS, ErrorCode.NOT_COORDINATOR]);
    faults.set(ApiKey.AddOffsetsToTxn, [ErrorCode.COORDINATOR_LOAD_IN_PROGRESS]);
    faults.set(ApiKey.TxnOffsetCommit, [ErrorCode.NOT_COORDINATOR, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS]);
    faults.set(ApiKey.EndTxn, [ErrorCode.CONCURRENT_TRANSACTIONS, ErrorCode.COORDINATOR_NOT_AVAILABLE]);
    seen.clear();
    const p = txProducer('inj-retry');
    await p.initTransactions();
    p.beginTransaction();
    assert.equal((await p.send('inj', { value: 'v' })).offset, 0);
    await p.sendOffsetsToTransaction([{ topic: 'inj', partition: 0, offset: 1 }], 'inj-group');
    await p.commitTransaction();
    for (const [api, left] of faults) assert.deepEqual(left, [], `every injected answer to api ${api} was met`);
    assert.equal(seen.get(ApiKey.InitProducerId), 4);
    assert.equal(seen.get(ApiKey.EndTxn), 3);
    // Lookups: the transaction coordinator's (refused once, so twice), again after each
    // NOT_COORDINATOR / COORDINATOR_NOT_AVAILABLE (InitProducerId, AddPartitionsToTxn, EndTxn), and
    // the group's for TxnOffsetCommit, again after its NOT_COORDINATOR; COORDINATOR_LOAD_IN_PROGRESS
    // and CONCURRENT_TRANSACTIONS are retried without one, as in the Java client.
    assert.equal(seen.get(ApiKey.FindCoordinator), 7);
    await b.broker.transactions.settle();
    assert.deepEqual(values((await readToEnd(b.bootstrap, 'inj', [2], 'read_committed')).messages), ['v']);
    const c = new Consumer({ bootstrap: b.bootstrap, groupId: 'inj-group' });
    try {
      assert.equal((await c.committed([{ topic: 'inj', partition: 0 }])).get('inj\u00000'), 1);
    } finally {
      await c.close();
    }
  });

  test('TRANSACTIONAL_ID_AUTHORIZATION_FAILED is fatal', async () => {
    faults.clear();
    faults.set(ApiKey.InitProducerId, [ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED]);
    const p = txProducer('inj-fatal');
    await assert.rejects(p.initTransactions(), isCode('TRANSACTIONAL_ID_AUTHORIZATION_FAILED'));
    assert.equal(p.transactionState, 'FATAL_ERROR');
    assert.throws(() => p.beginTransaction(), isCode('TRANSACTIONAL_ID_AUTHORIZATION_FAILED'));
    await assert.rejects(p.initTransactions(), isCode('TRANSACTIONAL_ID_AUTHORIZATION_FAILED'));
  });

  test('TRANSACTION_ABORTABLE makes the transaction abortable; after the abort the producer goes on', async () => {
    faults.clear();
    const p = txProducer('inj-abortable');
    await p.initTransactions();
    p.beginTransaction();
    await p.send('inj', { value: 'aborted' });
    faults.set(ApiKey.AddOffsetsToTxn, [ErrorCode.TRANSACTION_ABORTABLE]);
    await assert.rejects(p.sendOffsetsToTransaction([{ topic: 'inj', partition: 0, offset: 1 }], 'inj-group-2'), isCode('TRANSACTION_ABORTABLE'));
    assert.equal(p.transactionState, 'ABORTABLE_ERROR');
    assert.throws(() => p.beginTransaction(), AbortableTransactionError);
    const epoch = p.producerIdentity.producerEpoch;
    await p.abortTransaction();
    assert.equal(p.producerIdentity.producerEpoch, epoch, 'no epoch bump needed');
    p.beginTransaction();
    await p.send('inj', { value: 'committed' });
    await p.commitTransaction();
  });

  test('UNKNOWN_PRODUCER_ID from EndTxn: abortable, and the abort bumps the epoch (KIP-360); sequences start again', async () => {
    faults.clear();
    const p = txProducer('inj-bump');
    await p.initTransactions();
    const before = p.producerIdentity;
    p.beginTransaction();
    await p.send('inj', [{ value: 'b1' }, { value: 'b2' }]);
    faults.set(ApiKey.EndTxn, [ErrorCode.UNKNOWN_PRODUCER_ID]);
    await assert.rejects(p.commitTransaction(), isCode('UNKNOWN_PRODUCER_ID'));
    assert.equal(p.transactionState, 'ABORTABLE_ERROR');
    await p.abortTransaction();
    assert.deepEqual(p.producerIdentity, { producerId: before.producerId, producerEpoch: before.producerEpoch + 1 });
    p.beginTransaction();
    await p.send('inj', { value: 'b3' });
    await p.commitTransaction();
    await b.broker.transactions.settle();
    assert.equal(b.broker.transactions.get('inj-bump')!.state, 'CompleteCommit');
  });
});
