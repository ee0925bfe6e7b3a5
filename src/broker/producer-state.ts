/**
 * Idempotent producers (KIP-98): per producer id, per partition, the current epoch and the last few
 * batches' sequence ranges. A retried batch that was already written is acknowledged again with its
 * original offsets and not written twice; a gap in sequences is OUT_OF_ORDER_SEQUENCE_NUMBER. The
 * Java client and librdkafka enable idempotence by default, so this is on every produce path.
 *
 * Held in memory; snapshotted per partition into storage and recovered at start from the newest
 * snapshot plus the batches after it (producer-state-snapshots.ts), as Kafka's ProducerStateManager
 * does: a batch retried across a restart is still answered as a duplicate, however much was written
 * since. A producer whose entry was forgotten past `producer.state.max.entries` gets
 * UNKNOWN_PRODUCER_ID for a sequence ≠ 0, and clients start over with a new producer id (KIP-360).
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

/** One of the last batches of a producer on a partition, kept to answer its retry as a duplicate. */
export interface CachedBatch {
  firstSeq: number;
  lastSeq: number;
  baseOffset: number;
  /** Last offset of the batch minus its base offset (Kafka's lastOffsetDelta). */
  lastOffsetDelta: number;
}

/** What is known of one producer on one partition: what a snapshot stores (producer-state-snapshot.ts). */
export interface ProducerEntry {
  producerId: number;
  epoch: number;
  /** Oldest first, at most DUPLICATE_WINDOW_BATCHES. */
  batches: CachedBatch[];
  /** Largest timestamp of the producer's last batch (-1 when unknown). */
  lastTimestamp: number;
  /** Transactions (KIP-98): the coordinator epoch of the producer's last marker here, -1 for none. */
  coordinatorEpoch: number;
  /**
   * Transactions: first offset of the producer's ongoing transaction on this partition, -1 for none.
   * Set by its first transactional batch, cleared by its COMMIT or ABORT marker; the partition's last
   * stable offset cannot pass it.
   */
  currentTxnFirstOffset: number;
}

/** A transaction aborted on a partition (Kafka's AbortedTxn): read_committed consumers skip its data. */
export interface AbortedTxn {
  producerId: number;
  firstOffset: number;
  /** Offset of its ABORT marker. */
  lastOffset: number;
}

/** A marker as the partition's producer state sees it (offset already assigned). */
export interface TxnMarkerIdentity {
  producerId: number;
  producerEpoch: number;
  coordinatorEpoch: number;
  commit: boolean;
}

interface Tracked {
  partition: string;
  entry: ProducerEntry;
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
  /** Part of a transaction (attributes bit 4): opens the producer's transaction on the partition. */
  isTransactional?: boolean;
}

/**
 * Handed to the function `exclusive` runs: `queued(b)` says the batch is now in the engine, with
 * its offsets (its append called, not yet durable), so a continuation may be appended behind it.
 */
export interface AppendSlot {
  queued(b: BatchIdentity): void;
  /**
   * For a call that went ahead (`continued`): settles once the calls it went ahead of have finished.
   * Its batch is recorded only after that, so batches are recorded in offset order.
   */
  readonly ahead: Promise<unknown> | null;
}

/** A producer's batch on a partition that is in the engine and not yet recorded or failed. */
interface InFlight {
  epoch: number;
  lastSeq: number;
  transactional: boolean;
}

/** What runs for one producer and partition: calls not yet past `queued`, and batches in flight. */
interface Lane {
  unqueued: number;
  inFlight: InFlight[];
}

export class ProducerStateManager {
  /** Every entry; Map order is least-recently-written first (what `producer.state.max.entries` evicts). */
  private readonly entries = new Map<string, Tracked>();
  /** The same entries by partition (`topic\0partition`), then producer id: what a snapshot holds. */
  private readonly byPartition = new Map<string, Map<number, ProducerEntry>>();
  /**
   * Idempotent appends under way per partition, each with a lower bound of the offset it gets (the
   * high watermark just before its `storage.append`): a snapshot is taken below all of them
   * (`snapshotOffset`), since their batches may be in the log before they are recorded here.
   */
  private readonly appending = new Map<string, Map<number, number>>();
  private nextAppendId = 0;
  /**
   * The tail of each producer/partition's chain of appends in progress. An entry exists only while an
   * append runs, and each connection runs at most max.in.flight.requests.per.connection requests at
   * a time, so it is bounded by connections times that.
   */
  private readonly running = new Map<string, Promise<unknown>>();
  /** Per producer and partition while something runs for it (see `exclusive`'s `continuing`). */
  private readonly lanes = new Map<string, Lane>();
  /** Open transactions by partition: producer id → first offset (mirrors entries' currentTxnFirstOffset). */
  private readonly ongoing = new Map<string, Map<number, number>>();
  /**
   * The aborted-transactions index by partition, in marker-offset order (Kafka's TransactionIndex).
   * Kept whole in memory and in every snapshot; entries below the log start are dropped.
   */
  private readonly aborted = new Map<string, AbortedTxn[]>();

  constructor(private readonly maxEntries = MAX_PRODUCER_STATE_ENTRIES) {
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) throw new Error(`producer.state.max.entries must be >= 1 (got ${maxEntries})`);
  }

  /**
   * Run `fn` (check, append, record) after every earlier call for the same producer and partition
   * has finished, so that the sequence check always sees the outcome of the batch before it.
   * Without contention (one connection per producer, requests handled in order) it runs at once.
   *
   * Pipelining (issue 22): with `continuing` — a batch that is the exact next one (same epoch, same
   * transactional flag, the next sequence) after the producer's last batch in flight on the
   * partition, with nothing else waiting — `fn` runs at once instead of after that batch is durable;
   * it must then skip the sequence check (it was just made here) and must not wait for anything
   * before its append. The caller promises the engine fails every append called after a failed
   * one and resolves them in call order (StorageCapabilities.appendsFailInOrder): if the batch
   * before fails, this one fails too, so the recorded sequences never have a gap. `fn` is told
   * which way it runs.
   */
  async exclusive<T>(
    topic: string,
    partition: number,
    producerId: number,
    fn: (slot: AppendSlot, continued: boolean) => Promise<T>,
    continuing: BatchIdentity | null = null,
  ): Promise<T> {
    const key = ProducerStateManager.key(topic, partition, producerId);
    let lane = this.lanes.get(key);
    if (!lane) this.lanes.set(key, (lane = { unqueued: 0, inFlight: [] }));
    const continued = continuing !== null && continues(lane, continuing);
    const l = lane;
    l.unqueued++;
    let counted = true;
    let mine: InFlight | null = null;
    const before = this.running.get(key);
    const slot: AppendSlot = {
      ahead: continued ? (before ?? null) : null,
      queued(b: BatchIdentity) {
        if (!counted) return;
        counted = false;
        l.unqueued--;
        mine = { epoch: b.producerEpoch, lastSeq: lastSequence(b.baseSequence, b.recordCount), transactional: b.isTransactional === true };
        l.inFlight.push(mine);
      },
    };
    const run = () => fn(slot, continued);
    const result = (continued || !before ? run() : before.then(run, run)) as Promise<T>;
    // Later calls wait for this one, and (when it went ahead) for the ones it went ahead of.
    const tail = continued && before ? Promise.all([before, result.catch(() => {})]) : result.catch(() => {});
    this.running.set(key, tail);
    try {
      return await result;
    } finally {
      if (counted) l.unqueued--;
      if (mine !== null) l.inFlight.splice(l.inFlight.indexOf(mine), 1);
      if (l.unqueued === 0 && l.inFlight.length === 0 && this.lanes.get(key) === l) this.lanes.delete(key);
      if (this.running.get(key) === tail) this.running.delete(key);
    }
  }

  private static key(topic: string, partition: number, producerId: number): string {
    return `${topic}\u0000${partition}\u0000${producerId}`;
  }

  /**
   * Decide what to do with a batch from an idempotent producer (producerId ≥ 0). After the sequence
   * checks, as Kafka's ProducerAppendInfo.appendDataBatch: a non-transactional batch from a producer
   * whose transaction is open on the partition is INVALID_TXN_STATE.
   */
  check(topic: string, partition: number, b: BatchIdentity): SequenceCheck {
    const outcome = this.checkSequence(topic, partition, b);
    if (outcome.kind !== 'append' || b.isTransactional === true) return outcome;
    const entry = this.entries.get(ProducerStateManager.key(topic, partition, b.producerId))?.entry;
    if (entry && entry.currentTxnFirstOffset >= 0) {
      return { kind: 'error', errorCode: ErrorCode.INVALID_TXN_STATE, message: `Expected transactional write from producer ${b.producerId} (its transaction began at offset ${entry.currentTxnFirstOffset})` };
    }
    return outcome;
  }

  private checkSequence(topic: string, partition: number, b: BatchIdentity): SequenceCheck {
    const entry = this.entries.get(ProducerStateManager.key(topic, partition, b.producerId))?.entry;
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
  record(topic: string, partition: number, b: BatchIdentity, baseOffset: number, maxTimestamp = -1): void {
    const key = ProducerStateManager.key(topic, partition, b.producerId);
    let entry = this.entries.get(key)?.entry;
    // check() refused an older epoch before the batch was written (replay skips one): a producer's epoch only grows.
    invariant(entry === undefined || b.producerEpoch >= entry.epoch, 'a producer epoch never goes back', b.producerEpoch, entry?.epoch);
    if (!entry) {
      entry = { producerId: b.producerId, epoch: b.producerEpoch, batches: [], lastTimestamp: -1, coordinatorEpoch: -1, currentTxnFirstOffset: -1 };
    } else if (b.producerEpoch > entry.epoch) {
      // A new epoch starts a new sequence; an open transaction (and the coordinator epoch) stays until its marker.
      entry = { ...entry, epoch: b.producerEpoch, batches: [] };
    }
    if (b.isTransactional === true && entry.currentTxnFirstOffset < 0) {
      entry.currentTxnFirstOffset = baseOffset;
      this.setOngoing(topic, partition, b.producerId, baseOffset);
    }
    entry.batches.push({ firstSeq: b.baseSequence, lastSeq: lastSequence(b.baseSequence, b.recordCount), baseOffset, lastOffsetDelta: b.recordCount - 1 });
    if (entry.batches.length > DUPLICATE_WINDOW_BATCHES) entry.batches.shift();
    entry.lastTimestamp = maxTimestamp;
    this.put(topic, partition, entry);
  }

  /**
   * Replay a batch read from the log at start-up (after a snapshot). A batch the entry already holds,
   * or one older than its newest (the snapshot was taken while later batches were being recorded),
   * changes nothing, so replaying from any offset at or below the snapshot's is exact.
   */
  replay(topic: string, partition: number, b: BatchIdentity, baseOffset: number, maxTimestamp: number): void {
    const entry = this.entries.get(ProducerStateManager.key(topic, partition, b.producerId))?.entry;
    const newest = entry?.batches[entry.batches.length - 1];
    if (entry && (b.producerEpoch < entry.epoch || (newest !== undefined && baseOffset <= newest.baseOffset))) return;
    this.record(topic, partition, b, baseOffset, maxTimestamp);
  }

  /** (Re)insert an entry as the most recently written, evicting the least recent past the limit. */
  private put(topic: string, partition: number, entry: ProducerEntry): void {
    const key = ProducerStateManager.key(topic, partition, entry.producerId);
    const pkey = partitionKey(topic, partition);
    const tracked = this.entries.get(key) ?? { partition: pkey, entry };
    tracked.entry = entry;
    this.entries.delete(key); // re-insert: Map order is our least-recently-written order
    this.entries.set(key, tracked);
    let producers = this.byPartition.get(pkey);
    if (!producers) this.byPartition.set(pkey, (producers = new Map()));
    producers.set(entry.producerId, entry);
    while (this.entries.size > this.maxEntries) {
      // A producer with an open transaction is never forgotten (Kafka does not expire one either): its
      // first offset holds the partition's last stable offset, and its marker must find it. Those are
      // bounded by the coordinator's open transactions, so the limit is exceeded by at most them.
      let victim: [string, Tracked] | undefined;
      for (const e of this.entries) {
        if (e[1].entry.currentTxnFirstOffset < 0) {
          victim = e;
          break;
        }
      }
      if (victim === undefined) break;
      this.entries.delete(victim[0]);
      this.forget(victim[1].partition, victim[1].entry.producerId);
    }
  }

  /**
   * Record a COMMIT/ABORT marker written at `offset` (live, after the append, or replayed at start):
   * the producer's open transaction on the partition, if it began before the marker, is closed and,
   * on ABORT, added to the aborted-transactions index, which is returned. The marker's epochs become
   * the producer's (a bumped epoch starts a new sequence). Idempotent, so replaying from any offset at
   * or below a snapshot's is exact: a marker older than what the entry holds changes nothing.
   */
  recordMarker(topic: string, partition: number, m: TxnMarkerIdentity, offset: number, timestamp: number): AbortedTxn | null {
    let entry = this.entries.get(ProducerStateManager.key(topic, partition, m.producerId))?.entry;
    if (entry && m.producerEpoch < entry.epoch) return null;
    if (!entry) {
      entry = { producerId: m.producerId, epoch: m.producerEpoch, batches: [], lastTimestamp: -1, coordinatorEpoch: -1, currentTxnFirstOffset: -1 };
    } else if (m.producerEpoch > entry.epoch) {
      entry = { ...entry, epoch: m.producerEpoch, batches: [] };
    }
    let aborted: AbortedTxn | null = null;
    const first = entry.currentTxnFirstOffset;
    if (first >= 0 && first < offset) {
      if (!m.commit) aborted = { producerId: m.producerId, firstOffset: first, lastOffset: offset };
      entry.currentTxnFirstOffset = -1;
      this.ongoing.get(partitionKey(topic, partition))?.delete(m.producerId);
    }
    entry.coordinatorEpoch = Math.max(entry.coordinatorEpoch, m.coordinatorEpoch);
    entry.lastTimestamp = timestamp;
    this.put(topic, partition, entry);
    if (aborted) this.addAborted(topic, partition, aborted);
    return aborted;
  }

  /**
   * Why a marker may not be written for the producer, or null: an epoch older than the producer's
   * (Kafka's checkProducerEpoch: INVALID_PRODUCER_EPOCH) or a coordinator epoch older than the one of
   * its last marker (TRANSACTION_COORDINATOR_FENCED).
   */
  checkMarker(topic: string, partition: number, m: TxnMarkerIdentity): { errorCode: number; message: string } | null {
    const entry = this.entries.get(ProducerStateManager.key(topic, partition, m.producerId))?.entry;
    if (!entry) return null;
    if (m.producerEpoch < entry.epoch) {
      return { errorCode: ErrorCode.INVALID_PRODUCER_EPOCH, message: `Marker epoch ${m.producerEpoch} of producer ${m.producerId} is older than its epoch ${entry.epoch}` };
    }
    if (m.coordinatorEpoch < entry.coordinatorEpoch) {
      return { errorCode: ErrorCode.TRANSACTION_COORDINATOR_FENCED, message: `Coordinator epoch ${m.coordinatorEpoch} is older than ${entry.coordinatorEpoch}` };
    }
    return null;
  }

  /** Whether the producer at this epoch has a transaction open on the partition (a batch of it was appended, no marker yet). */
  inTransaction(topic: string, partition: number, producerId: number, producerEpoch: number): boolean {
    const entry = this.entries.get(ProducerStateManager.key(topic, partition, producerId))?.entry;
    return entry !== undefined && entry.epoch === producerEpoch && entry.currentTxnFirstOffset >= 0;
  }

  /** The producer's current epoch on the partition, or -1 when it is unknown there. */
  epochOf(topic: string, partition: number, producerId: number): number {
    return this.entries.get(ProducerStateManager.key(topic, partition, producerId))?.entry.epoch ?? -1;
  }

  /**
   * First offset of the oldest open transaction on the partition (Kafka's firstUnstableOffset), or
   * null when none is open. Open transactions per partition are few (one per transactional producer
   * writing to it), so this is a short scan.
   */
  firstUnstableOffset(topic: string, partition: number): number | null {
    const open = this.ongoing.get(partitionKey(topic, partition));
    if (!open || open.size === 0) return null;
    let min = Infinity;
    for (const first of open.values()) min = Math.min(min, first);
    return min;
  }

  /**
   * The aborted transactions that overlap [from, upTo): last offset ≥ from and first offset < upTo,
   * in marker order (what Fetch returns to read_committed consumers).
   */
  abortedTransactions(topic: string, partition: number, from: number, upTo: number): AbortedTxn[] {
    const list = this.aborted.get(partitionKey(topic, partition));
    if (!list) return [];
    const out: AbortedTxn[] = [];
    for (let i = firstEndingAtOrAfter(list, from); i < list.length; i++) {
      if (list[i]!.firstOffset < upTo) out.push(list[i]!);
    }
    return out;
  }

  /** The partition's whole aborted-transactions index (what a snapshot stores). */
  partitionAborted(topic: string, partition: number): readonly AbortedTxn[] {
    return this.aborted.get(partitionKey(topic, partition)) ?? [];
  }

  /**
   * Forget aborted transactions wholly below the log start (retention, DeleteRecords): no fetch can
   * reach them any more. Kafka drops them with their segment's .txnindex.
   */
  truncateAbortedBelow(topic: string, partition: number, logStartOffset: number): void {
    const pkey = partitionKey(topic, partition);
    const list = this.aborted.get(pkey);
    if (!list) return;
    const keepFrom = firstEndingAtOrAfter(list, logStartOffset);
    if (keepFrom === 0) return;
    if (keepFrom === list.length) this.aborted.delete(pkey);
    else list.splice(0, keepFrom);
  }

  /**
   * Forget these aborted transactions (compaction removed all their data; matched by producer and
   * marker offset). Kafka's cleaner leaves them out of the cleaned segment's .txnindex.
   */
  dropAborted(topic: string, partition: number, emptied: readonly { producerId: number; lastOffset: number }[]): void {
    const pkey = partitionKey(topic, partition);
    const list = this.aborted.get(pkey);
    if (!list) return;
    const gone = new Set(emptied.map((a) => `${a.producerId}:${a.lastOffset}`));
    const kept = list.filter((a) => !gone.has(`${a.producerId}:${a.lastOffset}`));
    if (kept.length === 0) this.aborted.delete(pkey);
    else this.aborted.set(pkey, kept);
  }

  /** Insert in marker-offset order; an entry for the same marker (a replay) is not added twice. */
  private addAborted(topic: string, partition: number, a: AbortedTxn): void {
    const pkey = partitionKey(topic, partition);
    let list = this.aborted.get(pkey);
    if (!list) this.aborted.set(pkey, (list = []));
    const at = firstEndingAtOrAfter(list, a.lastOffset);
    if (list[at]?.lastOffset === a.lastOffset) return;
    list.splice(at, 0, a);
  }

  private setOngoing(topic: string, partition: number, producerId: number, firstOffset: number): void {
    const pkey = partitionKey(topic, partition);
    let open = this.ongoing.get(pkey);
    if (!open) this.ongoing.set(pkey, (open = new Map()));
    open.set(producerId, firstOffset);
  }

  private forget(pkey: string, producerId: number): void {
    const producers = this.byPartition.get(pkey);
    producers?.delete(producerId);
    if (producers?.size === 0) this.byPartition.delete(pkey);
  }

  /** The entries of one partition (what a snapshot stores); the caller must not change them. */
  partitionEntries(topic: string, partition: number): ProducerEntry[] {
    return [...(this.byPartition.get(partitionKey(topic, partition))?.values() ?? [])];
  }

  /** Take a loaded snapshot as the partition's state (at start-up, before replay). */
  load(topic: string, partition: number, entries: readonly ProducerEntry[], aborted: readonly AbortedTxn[] = []): void {
    for (const e of entries) {
      this.put(topic, partition, e);
      if (e.currentTxnFirstOffset >= 0) this.setOngoing(topic, partition, e.producerId, e.currentTxnFirstOffset);
    }
    for (const a of aborted) this.addAborted(topic, partition, a);
  }

  /**
   * An idempotent append to the partition starts: `lowerBound` is at most the offset it will get
   * (the high watermark now). Call `appendDone` with the returned id once it is recorded or failed.
   */
  appendStarted(topic: string, partition: number, lowerBound: number): number {
    const pkey = partitionKey(topic, partition);
    let running = this.appending.get(pkey);
    if (!running) this.appending.set(pkey, (running = new Map()));
    const id = this.nextAppendId++;
    running.set(id, lowerBound);
    return id;
  }

  appendDone(topic: string, partition: number, id: number): void {
    const pkey = partitionKey(topic, partition);
    const running = this.appending.get(pkey);
    running?.delete(id);
    if (running?.size === 0) this.appending.delete(pkey);
  }

  /**
   * The offset a snapshot taken now stands for: every idempotent batch below it is recorded. That is
   * the high watermark, or lower while appends are under way (their batches may already be in the
   * log, unrecorded). Batches at or above it that are recorded already are skipped by `replay`.
   */
  snapshotOffset(topic: string, partition: number, highWatermark: number): number {
    let offset = highWatermark;
    for (const lowerBound of this.appending.get(partitionKey(topic, partition))?.values() ?? []) offset = Math.min(offset, lowerBound);
    return offset;
  }

  /** Forget a deleted topic's producers. */
  dropTopic(topic: string): void {
    const prefix = `${topic}\u0000`;
    for (const pkey of [...this.ongoing.keys()]) if (pkey.startsWith(prefix)) this.ongoing.delete(pkey);
    for (const pkey of [...this.aborted.keys()]) if (pkey.startsWith(prefix)) this.aborted.delete(pkey);
    for (const [key, tracked] of [...this.entries]) {
      if (!key.startsWith(prefix)) continue;
      this.entries.delete(key);
      this.forget(tracked.partition, tracked.entry.producerId);
    }
  }

  /**
   * Forget one partition's producers and transactions: its leadership moved to another broker, which
   * rebuilds them from the shared log; this broker does the same if it leads the partition again.
   */
  dropPartition(topic: string, partition: number): void {
    const pkey = partitionKey(topic, partition);
    this.ongoing.delete(pkey);
    this.aborted.delete(pkey);
    for (const producerId of [...(this.byPartition.get(pkey)?.keys() ?? [])]) this.entries.delete(ProducerStateManager.key(topic, partition, producerId));
    this.byPartition.delete(pkey);
  }

  /**
   * Forget every producer and transaction of every partition (broker.reset(), once topics are gone).
   * Appends under way keep their bookkeeping (`running`, `appending`): they finish on their own.
   */
  reset(): void {
    this.entries.clear();
    this.byPartition.clear();
    this.ongoing.clear();
    this.aborted.clear();
  }

  get size(): number {
    return this.entries.size;
  }

  /** Appends waiting for or running under `exclusive` (tests, diagnostics). */
  get appendsRunning(): number {
    return this.running.size;
  }
}

/** Index of the first aborted transaction whose marker is at or after `offset` (binary search). */
function firstEndingAtOrAfter(list: readonly AbortedTxn[], offset: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]!.lastOffset < offset) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/** Sequences wrap from Int32.MAX to 0 (Kafka's DefaultRecordBatch.incrementSequence). */
/** Whether `b` may go ahead: it is the exact next batch after the last one in flight, and nothing waits. */
function continues(lane: Lane, b: BatchIdentity): boolean {
  const last = lane.inFlight[lane.inFlight.length - 1];
  return (
    lane.unqueued === 0 &&
    last !== undefined &&
    last.epoch === b.producerEpoch &&
    last.transactional === (b.isTransactional === true) &&
    b.baseSequence === nextSequence(last.lastSeq)
  );
}

function nextSequence(seq: number): number {
  return seq === 0x7fffffff ? 0 : seq + 1;
}

function lastSequence(base: number, count: number): number {
  const last = base + count - 1;
  return last > 0x7fffffff ? last - 0x80000000 : last;
}
