/**
 * The transaction coordinator on its own (src/broker/transactions/): Kafka's state machine, fencing,
 * per-outcome error codes, markers through a recording TxnMarkerWriter, timeouts, expiration,
 * persistence through the storage engine and restart recovery of PrepareCommit/PrepareAbort.
 */
import { SYSTEM_CLOCK } from '../src/base/clock.js';
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryEngine } from '../src/storage/memory/memory-engine.js';
import { defaultConfig } from '../src/config/defaults.js';
import { createLogger } from '../src/broker/logger.js';
import { EngineFaults } from '../src/broker/engine-faults.js';
import { StorageError } from '../src/storage/errors.js';
import { ErrorCode } from '../src/protocol/error-codes.js';
import { TransactionCoordinator } from '../src/broker/transactions/coordinator.js';
import { encodeTxn, decodeTxn, type TxnOffset } from '../src/broker/transactions/metadata.js';
import type { TxnMarkerWriter } from '../src/contracts/transactions.js';
import type { StorageEngine } from '../src/storage/engine.js';

type Marker = { topic: string; partition: number; producerId: number; producerEpoch: number; coordinatorEpoch: number; commit: boolean };

/** Records every marker; `answer` decides each one's error code; `gate` holds markers until opened. */
class RecordingMarkers implements TxnMarkerWriter {
  readonly written: Marker[] = [];
  answer: (m: Marker) => number = () => ErrorCode.NONE;
  private gate: Promise<void> | null = null;
  private release: (() => void) | null = null;
  hold(): void {
    this.gate = new Promise((r) => (this.release = r));
  }
  open(): void {
    this.release?.();
    this.gate = null;
  }
  async writeTxnMarker(topic: string, partition: number, m: Omit<Marker, 'topic' | 'partition'>): Promise<number> {
    if (this.gate) await this.gate;
    const marker = { topic, partition, ...m };
    const code = this.answer(marker);
    if (code === ErrorCode.NONE) this.written.push(marker);
    return code;
  }
}

interface Rig {
  c: TransactionCoordinator;
  storage: StorageEngine;
  markers: RecordingMarkers;
  applied: { groupId: string; offsets: TxnOffset[] }[];
  clock: { now: number };
}

async function rig(opts: { storage?: StorageEngine; config?: Partial<ReturnType<typeof defaultConfig>> } = {}): Promise<Rig> {
  const storage = opts.storage ?? new MemoryEngine();
  if (!opts.storage) await storage.open();
  const config = { ...defaultConfig(), ...opts.config };
  const log = createLogger('error');
  const markers = new RecordingMarkers();
  const applied: Rig['applied'] = [];
  const clock = { now: 1_000_000 };
  let nextId = 100;
  const c = new TransactionCoordinator({
    config,
    storage,
    log,
    engineFaults: new EngineFaults(log),
    allocateProducerId: async () => nextId++,
    markers: () => markers,
    applyTxnOffsets: async (groupId, offsets) => void applied.push({ groupId, offsets }),
    clock: { ...SYSTEM_CLOCK, now: () => clock.now },
  });
  await c.load();
  return { c, storage, markers, applied, clock };
}

const P0 = { topic: 't', partition: 0 };
const P1 = { topic: 't', partition: 1 };

async function begin(r: Rig, id = 'tx'): Promise<{ producerId: number; producerEpoch: number }> {
  const init = await r.c.initProducerId(id, 60_000, null);
  assert.equal(init.errorCode, ErrorCode.NONE);
  assert.equal(await r.c.addToTransaction(id, init.producerId, init.producerEpoch, [P0, P1]), ErrorCode.NONE);
  return init;
}

describe('InitProducerId with a transactional id', () => {
  test('a new id gets a fresh producer id at epoch 0; each init bumps the epoch; checks first', async () => {
    const r = await rig();
    const a = await r.c.initProducerId('tx', 60_000, null);
    assert.deepEqual(a, { errorCode: ErrorCode.NONE, producerId: 100, producerEpoch: 0 });
    const b = await r.c.initProducerId('tx', 30_000, null);
    assert.deepEqual(b, { errorCode: ErrorCode.NONE, producerId: 100, producerEpoch: 1 });
    assert.equal(r.c.get('tx')!.timeoutMs, 30_000);
    assert.equal((await r.c.initProducerId('', 60_000, null)).errorCode, ErrorCode.INVALID_REQUEST);
    assert.equal((await r.c.initProducerId('tx', 0, null)).errorCode, ErrorCode.INVALID_TRANSACTION_TIMEOUT);
    assert.equal((await r.c.initProducerId('tx', 900_001, null)).errorCode, ErrorCode.INVALID_TRANSACTION_TIMEOUT, 'above transaction.max.timeout.ms');
    assert.equal((await r.c.initProducerId('tx', 900_000, null)).errorCode, ErrorCode.NONE);
    // The old epoch is fenced everywhere.
    assert.equal(await r.c.addToTransaction('tx', 100, 0, [P0]), ErrorCode.PRODUCER_FENCED);
    assert.equal(await r.c.endTransaction('tx', 100, 1, true), ErrorCode.PRODUCER_FENCED);
  });

  test('KIP-360: a producer naming its id and epoch continues; a retry gets the same epoch; others are fenced', async () => {
    const r = await rig();
    const a = await r.c.initProducerId('tx', 60_000, null);
    const b = await r.c.initProducerId('tx', 60_000, { producerId: a.producerId, producerEpoch: 0 });
    assert.deepEqual([b.errorCode, b.producerEpoch], [ErrorCode.NONE, 1]);
    assert.equal(r.c.get('tx')!.lastProducerEpoch, 0);
    const retry = await r.c.initProducerId('tx', 60_000, { producerId: a.producerId, producerEpoch: 0 });
    assert.deepEqual([retry.errorCode, retry.producerEpoch], [ErrorCode.NONE, 1], 'a retry whose answer was lost: same epoch');
    assert.equal((await r.c.initProducerId('tx', 60_000, { producerId: 999, producerEpoch: 1 })).errorCode, ErrorCode.PRODUCER_FENCED, 'another producer id');
    await r.c.initProducerId('tx', 60_000, null); // a new producer: epoch 2, last epoch forgotten
    assert.equal((await r.c.initProducerId('tx', 60_000, { producerId: a.producerId, producerEpoch: 1 })).errorCode, ErrorCode.PRODUCER_FENCED, 'a zombie');
  });

  test('an exhausted epoch rotates to a new producer id at epoch 0', async () => {
    const storage = new MemoryEngine();
    await storage.open();
    const facts = {
      producerId: 7, lastProducerId: -1, producerEpoch: 32766, lastProducerEpoch: -1, timeoutMs: 60_000, state: 'CompleteCommit' as const,
      partitions: new Map(), groups: new Set<string>(), offsets: new Map(), startMs: 5, updateMs: 5,
    };
    await storage.putTransactionState('old', encodeTxn(facts));
    const r = await rig({ storage });
    const next = await r.c.initProducerId('old', 60_000, null);
    assert.deepEqual(next, { errorCode: ErrorCode.NONE, producerId: 100, producerEpoch: 0 });
    assert.equal(r.c.get('old')!.lastProducerId, 7);
    assert.equal(r.c.verifyTransactionalProduce(7, 32766, 't', 0), ErrorCode.INVALID_TXN_STATE, 'the old id is no longer mapped');
  });

  test('an ongoing transaction is aborted with the epoch bumped first: CONCURRENT_TRANSACTIONS, then a second bump', async () => {
    const r = await rig();
    const p = await begin(r);
    const first = await r.c.initProducerId('tx', 60_000, null);
    assert.equal(first.errorCode, ErrorCode.CONCURRENT_TRANSACTIONS);
    await r.c.settle();
    assert.deepEqual(
      r.markers.written.map((m) => [m.partition, m.commit, m.producerEpoch]),
      [
        [0, false, 1],
        [1, false, 1],
      ],
      'abort markers at the fencing epoch',
    );
    assert.equal(r.c.get('tx')!.state, 'CompleteAbort');
    const second = await r.c.initProducerId('tx', 60_000, null);
    assert.deepEqual([second.errorCode, second.producerId, second.producerEpoch], [ErrorCode.NONE, p.producerId, 2]);
  });
});

describe('AddPartitionsToTxn, the produce verifier and EndTxn', () => {
  test('commit: acknowledged once PrepareCommit is stored, markers to every partition, then CompleteCommit', async () => {
    const r = await rig();
    const p = await begin(r);
    const m = r.c.get('tx')!;
    assert.equal(m.state, 'Ongoing');
    assert.equal(m.startMs, r.clock.now);
    assert.equal(r.c.verifyTransactionalProduce(p.producerId, p.producerEpoch, 't', 1), ErrorCode.NONE);
    assert.equal(r.c.verifyTransactionalProduce(p.producerId, p.producerEpoch, 't', 2), ErrorCode.INVALID_TXN_STATE, 'partition not added');
    assert.equal(r.c.verifyTransactionalProduce(p.producerId, p.producerEpoch + 1, 't', 1), ErrorCode.INVALID_PRODUCER_EPOCH);
    assert.equal(r.c.verifyTransactionalProduce(4242, 0, 't', 1), ErrorCode.INVALID_TXN_STATE);
    assert.equal(await r.c.addToTransaction('tx', p.producerId, p.producerEpoch, [P0]), ErrorCode.NONE, 'already added: no write');

    r.markers.hold();
    assert.equal(await r.c.endTransaction('tx', p.producerId, p.producerEpoch, true), ErrorCode.NONE);
    assert.equal(r.c.get('tx')!.state, 'PrepareCommit');
    assert.equal(decodeTxn(r.storage.transactionStates().get('tx')!).state, 'PrepareCommit', 'stored before the answer');
    assert.equal(r.c.verifyTransactionalProduce(p.producerId, p.producerEpoch, 't', 1), ErrorCode.INVALID_TXN_STATE, 'no longer ongoing');
    // While the markers are written.
    assert.equal(await r.c.endTransaction('tx', p.producerId, p.producerEpoch, true), ErrorCode.CONCURRENT_TRANSACTIONS);
    assert.equal(await r.c.endTransaction('tx', p.producerId, p.producerEpoch, false), ErrorCode.INVALID_TXN_STATE);
    assert.equal(await r.c.addToTransaction('tx', p.producerId, p.producerEpoch, [P0]), ErrorCode.CONCURRENT_TRANSACTIONS);
    assert.equal((await r.c.initProducerId('tx', 60_000, null)).errorCode, ErrorCode.CONCURRENT_TRANSACTIONS);
    r.markers.open();
    await r.c.settle();
    assert.deepEqual(r.markers.written.map((x) => [x.topic, x.partition, x.commit, x.producerId, x.producerEpoch, x.coordinatorEpoch]).sort(), [
      ['t', 0, true, p.producerId, 0, 0],
      ['t', 1, true, p.producerId, 0, 0],
    ]);
    const done = r.c.get('tx')!;
    assert.equal(done.state, 'CompleteCommit');
    assert.equal(done.partitions.size, 0);
    assert.equal(decodeTxn(r.storage.transactionStates().get('tx')!).state, 'CompleteCommit');
    // Retries after completion.
    assert.equal(await r.c.endTransaction('tx', p.producerId, p.producerEpoch, true), ErrorCode.NONE, 'a retried commit succeeds');
    assert.equal(await r.c.endTransaction('tx', p.producerId, p.producerEpoch, false), ErrorCode.INVALID_TXN_STATE);
    // The next transaction starts with its first partition, at the same epoch (no transactions v2).
    assert.equal(await r.c.addToTransaction('tx', p.producerId, p.producerEpoch, [P1]), ErrorCode.NONE);
    assert.equal(r.c.get('tx')!.state, 'Ongoing');
  });

  test('EndTxn errors: no transaction, other producer id, other epoch, unknown or empty id', async () => {
    const r = await rig();
    const p = await r.c.initProducerId('tx', 60_000, null);
    assert.equal(await r.c.endTransaction('tx', p.producerId, p.producerEpoch, true), ErrorCode.INVALID_TXN_STATE, 'Empty');
    assert.equal(await r.c.endTransaction('tx', p.producerId + 1, p.producerEpoch, true), ErrorCode.INVALID_PRODUCER_ID_MAPPING);
    assert.equal(await r.c.endTransaction('tx', p.producerId, p.producerEpoch + 1, true), ErrorCode.PRODUCER_FENCED, 'epochs must match exactly');
    assert.equal(await r.c.endTransaction('nope', p.producerId, 0, true), ErrorCode.INVALID_PRODUCER_ID_MAPPING);
    assert.equal(await r.c.endTransaction('', p.producerId, 0, true), ErrorCode.INVALID_REQUEST);
    assert.equal(await r.c.addToTransaction('nope', p.producerId, 0, [P0]), ErrorCode.INVALID_PRODUCER_ID_MAPPING);
  });

  test('abort: markers with commit=false; a failed marker is retried, a deleted partition dropped', async () => {
    const r = await rig();
    const p = await begin(r);
    let failures = 2;
    r.markers.answer = (m) => (m.partition === 1 ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : failures-- > 0 ? ErrorCode.KAFKA_STORAGE_ERROR : ErrorCode.NONE);
    assert.equal(await r.c.endTransaction('tx', p.producerId, p.producerEpoch, false), ErrorCode.NONE);
    await r.c.settle();
    assert.deepEqual(r.markers.written.map((m) => [m.partition, m.commit]), [[0, false]]);
    assert.equal(r.c.get('tx')!.state, 'CompleteAbort');
    assert.equal(await r.c.endTransaction('tx', p.producerId, p.producerEpoch, false), ErrorCode.NONE, 'a retried abort succeeds');
  });

  test('a failed state write answers NOT_COORDINATOR and changes nothing', async () => {
    const storage = new MemoryEngine();
    await storage.open();
    let fail = false;
    const put = storage.putTransactionState.bind(storage);
    storage.putTransactionState = async (id, v) => {
      if (fail) throw new StorageError('disk gone');
      return put(id, v);
    };
    const r = await rig({ storage });
    const p = await begin(r);
    fail = true;
    assert.equal(await r.c.endTransaction('tx', p.producerId, p.producerEpoch, true), ErrorCode.NOT_COORDINATOR);
    assert.equal(r.c.get('tx')!.state, 'Ongoing');
    assert.equal(r.c.get('tx')!.pending, null);
    fail = false;
    assert.equal(await r.c.endTransaction('tx', p.producerId, p.producerEpoch, true), ErrorCode.NONE, 'the retry works');
    await r.c.settle();
    assert.equal(r.c.get('tx')!.state, 'CompleteCommit');
  });
});

describe('timeouts, expiration, persistence', () => {
  test('a transaction past its timeout is aborted and its producer fenced', async () => {
    const r = await rig();
    const p = await r.c.initProducerId('tx', 1_000, null);
    await r.c.addToTransaction('tx', p.producerId, p.producerEpoch, [P0]);
    r.clock.now += 1_000;
    assert.equal(r.c.abortTimedOutTransactions(), 0, 'not past it yet');
    r.clock.now += 1;
    assert.equal(r.c.abortTimedOutTransactions(), 1);
    await r.c.settle();
    assert.equal(r.c.get('tx')!.state, 'CompleteAbort');
    assert.equal(r.c.get('tx')!.producerEpoch, p.producerEpoch + 1);
    assert.deepEqual(r.markers.written.map((m) => [m.commit, m.producerEpoch]), [[false, p.producerEpoch + 1]]);
    assert.equal(await r.c.endTransaction('tx', p.producerId, p.producerEpoch, true), ErrorCode.PRODUCER_FENCED);
    assert.equal(r.c.verifyTransactionalProduce(p.producerId, p.producerEpoch, 't', 0), ErrorCode.INVALID_PRODUCER_EPOCH);
  });

  test('an idle transactional id expires after transactional.id.expiration.ms; one in a transaction does not', async () => {
    const r = await rig({ config: { transactionalIdExpirationMs: 10_000 } });
    await r.c.initProducerId('idle', 60_000, null);
    await begin(r, 'busy');
    r.clock.now += 10_000;
    assert.deepEqual(await r.c.expireTransactionalIds(), ['idle']);
    assert.equal(r.c.get('idle'), undefined);
    assert.equal(r.storage.transactionStates().has('idle'), false, 'removed from storage');
    assert.equal(r.c.describe('idle').errorCode, ErrorCode.TRANSACTIONAL_ID_NOT_FOUND);
    assert.ok(r.c.get('busy'));
  });

  test('state survives a restart; PrepareCommit found at start is completed, with its offsets applied', async () => {
    const storage = new MemoryEngine();
    await storage.open();
    const r1 = await rig({ storage });
    const p = await r1.c.initProducerId('tx', 60_000, null);
    await r1.c.addToTransaction('tx', p.producerId, p.producerEpoch, [P0], ['g']);
    const offset: TxnOffset = { topic: 't', partition: 0, committed: { offset: 42, leaderEpoch: -1, metadata: 'm', commitTimestampMs: 1 } };
    assert.equal(await r1.c.commitTxnOffsets('tx', p.producerId, p.producerEpoch, 'g', [offset]), ErrorCode.NONE);
    assert.deepEqual([...r1.c.pendingOffsets('g')], ['t\u00000']);
    r1.markers.hold(); // "crash" before any marker is written
    assert.equal(await r1.c.endTransaction('tx', p.producerId, p.producerEpoch, true), ErrorCode.NONE);
    assert.equal(decodeTxn(storage.transactionStates().get('tx')!).state, 'PrepareCommit');

    const r2 = await rig({ storage }); // a new coordinator on the same storage: load completes it
    await r2.c.settle();
    assert.deepEqual(r2.markers.written.map((m) => [m.topic, m.partition, m.commit, m.producerId]), [['t', 0, true, p.producerId]]);
    assert.deepEqual(r2.applied, [{ groupId: 'g', offsets: [offset] }]);
    assert.equal(r2.c.get('tx')!.state, 'CompleteCommit');
    assert.equal(r2.c.pendingOffsets('g').size, 0);
    assert.equal(r2.c.get('tx')!.producerEpoch, p.producerEpoch);
    r1.markers.open();
  });

  test('TxnOffsetCommit: only for a group added to the ongoing transaction; dropped on abort', async () => {
    const r = await rig();
    const p = await r.c.initProducerId('tx', 60_000, null);
    const o: TxnOffset = { topic: 't', partition: 3, committed: { offset: 1, leaderEpoch: -1, metadata: '', commitTimestampMs: 1 } };
    assert.equal(await r.c.commitTxnOffsets('tx', p.producerId, p.producerEpoch, 'g', [o]), ErrorCode.INVALID_TXN_STATE, 'no AddOffsetsToTxn');
    assert.equal(await r.c.addToTransaction('tx', p.producerId, p.producerEpoch, [], ['g']), ErrorCode.NONE);
    assert.equal(r.c.get('tx')!.state, 'Ongoing', 'a group alone begins the transaction');
    assert.equal(await r.c.commitTxnOffsets('tx', p.producerId, p.producerEpoch, 'other', [o]), ErrorCode.INVALID_TXN_STATE);
    assert.equal(await r.c.commitTxnOffsets('tx', p.producerId, p.producerEpoch + 1, 'g', [o]), ErrorCode.INVALID_PRODUCER_EPOCH);
    assert.equal(await r.c.commitTxnOffsets('tx', p.producerId, p.producerEpoch, 'g', [o]), ErrorCode.NONE);
    assert.equal(await r.c.endTransaction('tx', p.producerId, p.producerEpoch, false), ErrorCode.NONE);
    await r.c.settle();
    assert.deepEqual(r.applied, [], 'aborted offsets are never applied');
    assert.equal(r.c.pendingOffsets('g').size, 0);
  });

  test('DescribeTransactions and ListTransactions views', async () => {
    const r = await rig();
    const p = await begin(r, 'a');
    await r.c.initProducerId('b', 60_000, null);
    const d = r.c.describe('a');
    assert.deepEqual([d.state, d.producerId, d.timeoutMs, d.startMs, d.partitions.length], ['Ongoing', p.producerId, 60_000, r.clock.now, 2]);
    assert.deepEqual(r.c.list([], []).map((t) => [t.transactionalId, t.state]), [['a', 'Ongoing'], ['b', 'Empty']]);
    assert.deepEqual(r.c.list(['Ongoing'], []).map((t) => t.transactionalId), ['a']);
    assert.deepEqual(r.c.list([], [p.producerId]).map((t) => t.transactionalId), ['a']);
    assert.deepEqual(r.c.list(['NoSuchState'], []), []);
    r.clock.now += 5_000;
    assert.deepEqual(r.c.list(['Ongoing'], [], 5_000), [], 'begun exactly 5 s ago: not older than the filter');
    assert.deepEqual(r.c.list(['Ongoing'], [], 4_999).map((t) => t.transactionalId), ['a']);
  });
});
