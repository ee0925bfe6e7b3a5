/**
 * Idempotent producers (KIP-98): per producer id, per partition, the current epoch and the last few
 * batches' sequence ranges. A retried batch that was already written is acknowledged again with its
 * original offsets and not written twice; a gap in sequences is OUT_OF_ORDER_SEQUENCE_NUMBER. The
 * Java client and librdkafka enable idempotence by default, so this is on every produce path.
 *
 * Held in memory and rebuilt at start from the newest batches of each partition's log
 * (producer-state-rebuild.ts), as Kafka rebuilds it from the log: a batch retried across a restart
 * is still answered as a duplicate. A producer whose last batch lies before the scanned tail, or
 * whose entry was forgotten past `producer.state.max.entries`, gets UNKNOWN_PRODUCER_ID for a
 * sequence ≠ 0, and clients start over with a new producer id (KIP-360).
 *
 * Check, append and record happen as one step per producer and partition (`exclusive`): a retry
 * arriving on a new connection while the original is still being written waits for it, and is then
 * answered as its duplicate instead of being written a second time.
 *
 * Called only from the broker's event loop.
 */
import { ErrorCode } from '../protocol/error-codes.js';
import { invariant } from '../base/assert.js';

/** Kafka keeps the metadata of the last 5 batches per producer and partition for duplicate checks. */
export const DUPLICATE_WINDOW_BATCHES = 5;
/** Producer ids handed out per storage write: the counter is persisted a block ahead. */
export const PRODUCER_ID_BLOCK = 1000;
/**
 * Default of `producer.state.max.entries`: producer/partition entries kept; the least recently
 * written are forgotten past it.
 */
export const MAX_PRODUCER_STATE_ENTRIES = 100_000;

interface CachedBatch {
  firstSeq: number;
  lastSeq: number;
  baseOffset: number;
}

interface ProducerEntry {
  epoch: number;
  batches: CachedBatch[];
}

export type SequenceCheck =
  | { kind: 'append' }
  | { kind: 'duplicate'; baseOffset: number }
  | { kind: 'error'; errorCode: number; message: string };

export interface BatchIdentity {
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
}

export class ProducerStateManager {
  private readonly entries = new Map<string, ProducerEntry>();
  /**
   * The tail of each producer/partition's chain of appends in progress. An entry exists only while an
   * append runs, and each connection runs one request at a time, so it is bounded by connections.
   */
  private readonly running = new Map<string, Promise<unknown>>();

  constructor(private readonly maxEntries = MAX_PRODUCER_STATE_ENTRIES) {
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) throw new Error(`producer.state.max.entries must be >= 1 (got ${maxEntries})`);
  }

  /**
   * Run `fn` (check, append, record) after every earlier call for the same producer and partition
   * has finished, so that the sequence check always sees the outcome of the batch before it.
   * Without contention (one connection per producer, requests handled in order) it runs at once.
   */
  async exclusive<T>(topic: string, partition: number, producerId: number, fn: () => Promise<T>): Promise<T> {
    const key = ProducerStateManager.key(topic, partition, producerId);
    const before = this.running.get(key);
    const mine = (before ? before.then(fn, fn) : fn()) as Promise<T>;
    const tail = mine.catch(() => {});
    this.running.set(key, tail);
    try {
      return await mine;
    } finally {
      if (this.running.get(key) === tail) this.running.delete(key);
    }
  }

  private static key(topic: string, partition: number, producerId: number): string {
    return `${topic}\u0000${partition}\u0000${producerId}`;
  }

  /** Decide what to do with a batch from an idempotent producer (producerId ≥ 0). */
  check(topic: string, partition: number, b: BatchIdentity): SequenceCheck {
    const entry = this.entries.get(ProducerStateManager.key(topic, partition, b.producerId));
    const lastSeq = lastSequence(b.baseSequence, b.recordCount);
    if (!entry) {
      if (b.baseSequence === 0) return { kind: 'append' };
      return {
        kind: 'error',
        errorCode: ErrorCode.UNKNOWN_PRODUCER_ID,
        message: `Found no record of producerId=${b.producerId} on the broker at sequence ${b.baseSequence}.`,
      };
    }
    if (b.producerEpoch < entry.epoch) {
      return {
        kind: 'error',
        errorCode: ErrorCode.INVALID_PRODUCER_EPOCH,
        message: `Epoch of producer ${b.producerId} at offset is ${b.producerEpoch}, which is smaller than the last seen epoch ${entry.epoch}`,
      };
    }
    if (b.producerEpoch > entry.epoch) {
      if (b.baseSequence === 0) return { kind: 'append' };
      return {
        kind: 'error',
        errorCode: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
        message: `Invalid sequence number for new epoch of producer ${b.producerId}: ${b.producerEpoch} (request epoch), ${b.baseSequence} (seq. number), ${entry.epoch} (current producer epoch)`,
      };
    }
    for (const c of entry.batches) {
      if (c.firstSeq === b.baseSequence && c.lastSeq === lastSeq) return { kind: 'duplicate', baseOffset: c.baseOffset };
    }
    const last = entry.batches[entry.batches.length - 1];
    const expected = last ? nextSequence(last.lastSeq) : 0;
    if (b.baseSequence !== expected) {
      return {
        kind: 'error',
        errorCode: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
        message: `Out of order sequence number for producer ${b.producerId} at offset: ${b.baseSequence} (incoming seq. number), ${last?.lastSeq ?? -1} (current end sequence number)`,
      };
    }
    return { kind: 'append' };
  }

  /** Remember a batch that was appended at `baseOffset`. */
  record(topic: string, partition: number, b: BatchIdentity, baseOffset: number): void {
    const key = ProducerStateManager.key(topic, partition, b.producerId);
    let entry = this.entries.get(key);
    if (entry) this.entries.delete(key); // re-insert: Map order is our least-recently-written order
    // check() refused an older epoch before the batch was written: a producer's epoch only grows.
    invariant(entry === undefined || b.producerEpoch >= entry.epoch, 'a producer epoch never goes back', b.producerEpoch, entry?.epoch);
    if (!entry || b.producerEpoch > entry.epoch) entry = { epoch: b.producerEpoch, batches: [] };
    entry.batches.push({ firstSeq: b.baseSequence, lastSeq: lastSequence(b.baseSequence, b.recordCount), baseOffset });
    if (entry.batches.length > DUPLICATE_WINDOW_BATCHES) entry.batches.shift();
    this.entries.set(key, entry);
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  /** Forget a deleted topic's producers. */
  dropTopic(topic: string): void {
    const prefix = `${topic}\u0000`;
    for (const key of [...this.entries.keys()]) if (key.startsWith(prefix)) this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }

  /** Appends waiting for or running under `exclusive` (tests, diagnostics). */
  get appendsRunning(): number {
    return this.running.size;
  }
}

/** Sequences wrap from Int32.MAX to 0 (Kafka's DefaultRecordBatch.incrementSequence). */
function nextSequence(seq: number): number {
  return seq === 0x7fffffff ? 0 : seq + 1;
}

function lastSequence(base: number, count: number): number {
  const last = base + count - 1;
  return last > 0x7fffffff ? last - 0x80000000 : last;
}
