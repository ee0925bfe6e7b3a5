/**
 * One transactional id's coordinator state (Kafka's TransactionMetadata, KIP-98): the producer id and
 * epoch handed out for it, the state of its current transaction, the partitions and consumer groups
 * the transaction touches, and its timestamps. Its stored form is what the storage engine keeps per
 * transactional id (`putTransactionState`); Kafka keeps the same facts in `__transaction_state`.
 *
 * States and the transitions Kafka allows (TransactionState.validPreviousStates):
 *
 *   Empty             ← Empty, CompleteCommit, CompleteAbort       (InitProducerId: epoch bumped)
 *   Ongoing           ← Ongoing, Empty, CompleteCommit, CompleteAbort (AddPartitionsToTxn/AddOffsetsToTxn)
 *   PrepareCommit     ← Ongoing                                     (EndTxn commit: acknowledged once stored)
 *   PrepareAbort      ← Ongoing, PrepareEpochFence                  (EndTxn abort, timeout, fencing init)
 *   CompleteCommit    ← PrepareCommit                               (every marker written)
 *   CompleteAbort     ← PrepareAbort
 *   PrepareEpochFence ← Ongoing      (in memory only: the epoch bump on the way to PrepareAbort)
 *   Dead              ← Empty, CompleteCommit, CompleteAbort         (transactional.id.expiration.ms)
 *
 * A transition is prepared (`pending` set: other requests get CONCURRENT_TRANSACTIONS), written, and
 * only then applied; a failed write clears `pending` and changes nothing. Callers: the transaction
 * coordinator (coordinator.ts) only.
 */
import { invariant } from '../../base/assert.js';
import type { GroupOffsetEntry } from '../../storage/engine.js';

export type TxnState = 'Empty' | 'Ongoing' | 'PrepareCommit' | 'PrepareAbort' | 'CompleteCommit' | 'CompleteAbort' | 'Dead' | 'PrepareEpochFence';

/** Kafka's state ids (TransactionState.id), used in the stored form and in invariant messages. */
const STATE_IDS: Record<TxnState, number> = {
  Empty: 0,
  Ongoing: 1,
  PrepareCommit: 2,
  PrepareAbort: 3,
  CompleteCommit: 4,
  CompleteAbort: 5,
  Dead: 6,
  PrepareEpochFence: 7,
};
const STATES_BY_ID = new Map<number, TxnState>(Object.entries(STATE_IDS).map(([k, v]) => [v, k as TxnState]));

export const ALL_STATES: readonly TxnState[] = Object.keys(STATE_IDS) as TxnState[];

const VALID_PREVIOUS: Record<TxnState, readonly TxnState[]> = {
  Empty: ['Empty', 'CompleteCommit', 'CompleteAbort'],
  Ongoing: ['Ongoing', 'Empty', 'CompleteCommit', 'CompleteAbort'],
  PrepareCommit: ['Ongoing'],
  PrepareAbort: ['Ongoing', 'PrepareEpochFence'],
  CompleteCommit: ['PrepareCommit'],
  CompleteAbort: ['PrepareAbort'],
  Dead: ['Empty', 'CompleteCommit', 'CompleteAbort'],
  PrepareEpochFence: ['Ongoing'],
};

/** Kafka's RecordBatch.NO_PRODUCER_ID / NO_PRODUCER_EPOCH. */
export const NO_PRODUCER_ID = -1;
export const NO_PRODUCER_EPOCH = -1;
/** Epochs are int16; the coordinator keeps the last one (Short.MAX_VALUE) for fencing (TransactionMetadata.isEpochExhausted). */
export const MAX_PRODUCER_EPOCH = 32767;

export function isEpochExhausted(epoch: number): boolean {
  return epoch >= MAX_PRODUCER_EPOCH - 1;
}

export interface TxnPartition {
  readonly topic: string;
  readonly partition: number;
}

/** An offset a transaction commits for a group (TxnOffsetCommit): applied on commit, dropped on abort. */
export type TxnOffset = GroupOffsetEntry & { committed: NonNullable<GroupOffsetEntry['committed']> };

/** The stored facts of a transactional id: everything but the in-memory pending transition. */
export interface TxnFacts {
  producerId: number;
  /** The producer id before the last rotation (epoch exhaustion), for KIP-360 retries; -1 if none. */
  lastProducerId: number;
  producerEpoch: number;
  /** The epoch before the last InitProducerId with an expected epoch (KIP-360 retry detection); -1 if none. */
  lastProducerEpoch: number;
  timeoutMs: number;
  state: TxnState;
  /** Partitions of the current transaction, by `topic\0partition`. */
  partitions: Map<string, TxnPartition>;
  /** Consumer groups whose offsets the current transaction commits (AddOffsetsToTxn). */
  groups: Set<string>;
  /** Offsets the transaction commits (TxnOffsetCommit), per group, by `topic\0partition`. */
  offsets: Map<string, Map<string, TxnOffset>>;
  /** When the current transaction began (its first partition or group); -1 when none. */
  startMs: number;
  /** The last change; transactional.id.expiration.ms counts from it. */
  updateMs: number;
}

/** Partitions and offsets are keyed as committed offsets are (`topic\0partition`). */
export { offsetKey as partitionKey } from '../../storage/engine.js';
import { offsetKey as partitionKey } from '../../storage/engine.js';

/**
 * A transactional id's state: the stored facts (TxnFacts, declared once there and assigned by the
 * constructor and by `complete`) and the transition in flight.
 */
export interface TransactionMetadata extends TxnFacts {}
export class TransactionMetadata {
  /** The write of the transition in flight (others wait for it or answer CONCURRENT_TRANSACTIONS). */
  pendingWrite: Promise<unknown> | null = null;
  /** The state a transition in flight leads to; null when none. */
  pending: TxnState | null = null;
  /** An epoch fence was written and failed: the next fence reuses the bumped epoch (Kafka's hasFailedEpochFence). */
  hasFailedEpochFence = false;

  constructor(
    readonly transactionalId: string,
    f: TxnFacts,
  ) {
    Object.assign(this, f);
  }

  facts(): TxnFacts {
    return {
      producerId: this.producerId,
      lastProducerId: this.lastProducerId,
      producerEpoch: this.producerEpoch,
      lastProducerEpoch: this.lastProducerEpoch,
      timeoutMs: this.timeoutMs,
      state: this.state,
      partitions: new Map(this.partitions),
      groups: new Set(this.groups),
      offsets: new Map([...this.offsets].map(([g, m]) => [g, new Map(m)])),
      startMs: this.startMs,
      updateMs: this.updateMs,
    };
  }

  /** Mark `next` as the transition in flight; a transition Kafka does not allow is a bug. */
  prepare(next: TxnFacts): void {
    invariant(this.pending === null, 'one transaction state transition at a time', STATE_IDS[this.state], STATE_IDS[this.pending ?? 'Dead']);
    invariant(VALID_PREVIOUS[next.state].includes(this.state), 'a valid transaction state transition', STATE_IDS[this.state], STATE_IDS[next.state]);
    invariant(next.producerId >= 0, 'a transaction state names a producer id', next.producerId);
    invariant(next.state === 'Dead' || next.producerEpoch >= 0, 'a live transaction state has an epoch', next.producerEpoch);
    this.pending = next.state;
  }

  /** Apply a prepared transition once it is stored. */
  complete(next: TxnFacts): void {
    invariant(this.pending === next.state, 'the stored transition is the prepared one', STATE_IDS[this.pending ?? 'Dead'], STATE_IDS[next.state]);
    this.pending = null;
    Object.assign(this, next);
  }

  /** Ongoing, PrepareCommit or PrepareAbort: a transaction not yet complete. */
  get inTransaction(): boolean {
    return this.state === 'Ongoing' || this.state === 'PrepareCommit' || this.state === 'PrepareAbort';
  }
}

// ---- stored form ---------------------------------------------------------------------------------

/** Version of the stored form; a value with another version is not loaded (and logged). */
const STORED_VERSION = 0;

interface StoredTxn {
  v: number;
  pid: number;
  lastPid: number;
  epoch: number;
  lastEpoch: number;
  timeoutMs: number;
  state: number;
  partitions: [string, number][];
  groups: string[];
  /** [group, topic, partition, offset, leader epoch, metadata, commit timestamp] */
  offsets: [string, string, number, number, number, string | null, number][];
  startMs: number;
  updateMs: number;
}

export function encodeTxn(f: TxnFacts): Buffer {
  const s: StoredTxn = {
    v: STORED_VERSION,
    pid: f.producerId,
    lastPid: f.lastProducerId,
    epoch: f.producerEpoch,
    lastEpoch: f.lastProducerEpoch,
    timeoutMs: f.timeoutMs,
    state: STATE_IDS[f.state],
    partitions: [...f.partitions.values()].map((p) => [p.topic, p.partition]),
    groups: [...f.groups],
    offsets: [...f.offsets].flatMap(([g, m]) =>
      [...m.values()].map((o): StoredTxn['offsets'][number] => [g, o.topic, o.partition, o.committed.offset, o.committed.leaderEpoch, o.committed.metadata, o.committed.commitTimestampMs]),
    ),
    startMs: f.startMs,
    updateMs: f.updateMs,
  };
  return Buffer.from(JSON.stringify(s), 'utf8');
}

/** Decode a stored value; throws on anything this version did not write. */
export function decodeTxn(value: Buffer): TxnFacts {
  const s = JSON.parse(value.toString('utf8')) as StoredTxn;
  if (s.v !== STORED_VERSION) throw new Error(`stored transaction state version ${String(s.v)} is not ${STORED_VERSION}`);
  const state = STATES_BY_ID.get(s.state);
  if (state === undefined || state === 'PrepareEpochFence' || state === 'Dead') throw new Error(`stored transaction state ${String(s.state)} is not a stored state`);
  const ints = [s.pid, s.lastPid, s.epoch, s.lastEpoch, s.timeoutMs, s.startMs, s.updateMs];
  if (!ints.every((n) => Number.isSafeInteger(n)) || !Array.isArray(s.partitions) || !Array.isArray(s.groups) || !Array.isArray(s.offsets)) {
    throw new Error('stored transaction state has malformed fields');
  }
  const offsets = new Map<string, Map<string, TxnOffset>>();
  for (const [g, topic, partition, offset, leaderEpoch, metadata, commitTimestampMs] of s.offsets) {
    let m = offsets.get(g);
    if (!m) offsets.set(g, (m = new Map()));
    m.set(partitionKey(topic, partition), { topic, partition, committed: { offset, leaderEpoch, metadata, commitTimestampMs } });
  }
  return {
    producerId: s.pid,
    lastProducerId: s.lastPid,
    producerEpoch: s.epoch,
    lastProducerEpoch: s.lastEpoch,
    timeoutMs: s.timeoutMs,
    state,
    partitions: new Map(s.partitions.map(([topic, partition]) => [partitionKey(topic, partition), { topic, partition }])),
    groups: new Set(s.groups),
    offsets,
    startMs: s.startMs,
    updateMs: s.updateMs,
  };
}
