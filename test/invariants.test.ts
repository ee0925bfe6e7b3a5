/**
 * The hot path's invariants (src/base/assert.ts) fire when broken: the helper itself, the batch
 * header checked right before it is written, producer epochs that never go back. Through the broker,
 * a broken invariant in an engine is an internal error (broker-engine-faults.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { invariant, InvariantError } from '../src/base/assert.js';
import { assertWritableBatch } from '../src/protocol/records/batch.js';
import { encodeBatch } from '../src/protocol/records/record.js';
import { ProducerStateManager } from '../src/broker/producer-state.js';

test('invariant: passes silently, throws InvariantError naming what broke and the numbers', () => {
  invariant(1 < 2, 'one is less than two');
  assert.throws(() => invariant(false, 'offsets go up', 5, 3), (e: unknown) => e instanceof InvariantError && e.message === 'invariant broken: offsets go up (5, 3)');
  assert.throws(() => invariant(false, 'no detail'), /^InvariantError: invariant broken: no detail$/);
});

test('a batch is checked right before it is written: framing, magic, offsets taken', async () => {
  const batch = await encodeBatch({ records: [{ value: Buffer.from('a') }, { value: Buffer.from('b') }] });
  assertWritableBatch(batch, 2);
  assert.throws(() => assertWritableBatch(batch, 3), /takes lastOffsetDelta \+ 1 offsets \(1, 3\)/);
  assert.throws(() => assertWritableBatch(batch.subarray(0, batch.length - 1), 2), /as long as its length field says/);
  const wrongMagic = Buffer.from(batch);
  wrongMagic.writeInt8(1, 16);
  assert.throws(() => assertWritableBatch(wrongMagic, 2), /magic 2 \(1\)/);
  assert.throws(() => assertWritableBatch(batch.subarray(0, 20), 2), /at least its header/);
});

test('producer state never records an older epoch than it holds', () => {
  const p = new ProducerStateManager();
  p.record('t', 0, { producerId: 1, producerEpoch: 3, baseSequence: 0, recordCount: 1 } as never, 0);
  p.record('t', 0, { producerId: 1, producerEpoch: 4, baseSequence: 0, recordCount: 1 } as never, 1);
  assert.throws(() => p.record('t', 0, { producerId: 1, producerEpoch: 3, baseSequence: 1, recordCount: 1 } as never, 2), /a producer epoch never goes back \(3, 4\)/);
});
