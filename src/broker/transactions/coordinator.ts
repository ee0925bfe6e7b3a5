/**
 * The transaction coordinator (KIP-98, KIP-447, KIP-890 part 1 — not "transactions v2"): the one
 * owner of every transactional id's state. InitProducerId (with a transactional id),
 * AddPartitionsToTxn, AddOffsetsToTxn, EndTxn, DescribeTransactions and ListTransactions call it; the
 * produce path asks it (TxnProduceVerifier) whether a transactional batch belongs to an ongoing
 * transaction. Its rules are Kafka's TransactionCoordinator / TransactionMetadata, restated here:
 *
 * - InitProducerId: a new transactional id gets a fresh producer id at epoch 0; a known one gets its
 *   epoch bumped (a new producer id once the epoch is exhausted), which fences the previous producer.
 *   An Ongoing transaction is first aborted with the epoch bumped (the client gets
 *   CONCURRENT_TRANSACTIONS and retries, so the epoch is bumped a second time); PrepareCommit/
 *   PrepareAbort answer CONCURRENT_TRANSACTIONS until the markers are written. KIP-360: a request
 *   naming its producer id and epoch continues after an error, or is fenced (PRODUCER_FENCED).
 * - EndTxn is acknowledged once PrepareCommit/PrepareAbort is stored; the markers are then written
 *   to every partition (TxnMarkerWriter, the log side) and the groups' pending offsets applied or
 *   dropped, retried until they succeed, and the transaction becomes CompleteCommit/CompleteAbort.
 *   A Prepare* state found at start is completed the same way (restart recovery).
 * - A transaction Ongoing for longer than its timeout is aborted by the coordinator with the epoch
 *   bumped, so its producer is fenced; an idle transactional id is forgotten after
 *   `transactional.id.expiration.ms`.
 *
 * State changes are prepared (`pending`), stored through the engine, then applied; only one is in
 * flight per transactional id, and the others are answered CONCURRENT_TRANSACTIONS meanwhile, as Kafka
 * does. A failed write answers NOT_COORDINATOR (Kafka's answer when its transaction log append fails
 * on the coordinator's own log), which clients retry after looking the coordinator up again.
 *
 * On a storage of its own this broker coordinates every transactional id at coordinator epoch 0.
 * Brokers sharing a PostgreSQL database (docs/cluster.md) spread the transactional ids as they
 * spread groups: the broker that takes one claims it in the database at epoch + 1 (Kafka: the leader
 * epoch of its `__transaction_state` partition), calls `adopt` to reload its state (a Prepare* one
 * is completed, an Ongoing one times out as usual), writes that epoch into its markers, and is fenced
 * in the database if another broker took the id since (`forget` then drops it here).
 *
 * Callers: handlers and timers on the broker's event loop.
 */
import { SYSTEM_CLOCK, type Clock } from '../../base/clock.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import type { BrokerConfig } from '../../config/types.js';
import type { StorageEngine } from '../../storage/engine.js';
import type { Logger } from '../../contracts/logger.js';
import type { TxnMarkerWriter, TxnProduceVerifier } from '../../contracts/transactions.js';
import type { EngineFaults } from '../engine-faults.js';
import { KeyedTimer } from '../groups/timer.js';
import {
  MAX_PRODUCER_EPOCH,
  NO_PRODUCER_EPOCH,
  NO_PRODUCER_ID,
  TransactionMetadata,
  decodeTxn,
  encodeTxn,
  isEpochExhausted,
  partitionKey,
  type TxnFacts,
  type TxnOffset,
  type TxnPartition,
  type TxnState,
} from './metadata.js';

/** The coordinator epoch written in every marker: one broker, one unchanging coordinator. */
export const COORDINATOR_EPOCH = 0;
/** Wait before retrying a marker or completion write that failed (Kafka retries markers until they succeed). */
export const MARKER_RETRY_BACKOFF_MS = 100;

/** What the coordinator needs of the broker. */
export interface TxnCoordinatorDeps {
  readonly config: BrokerConfig;
  readonly storage: StorageEngine;
  readonly log: Logger;
  readonly engineFaults: EngineFaults;
  /** A producer id never handed out before (the broker's counter, shared with idempotent producers). */
  allocateProducerId(): Promise<number>;
  /** The log side's marker writer, read when markers are written (the broker may set it after construction). */
  markers(): TxnMarkerWriter;
  /** The group coordinator: store a committed transaction's offsets of one group as its committed offsets. */
  applyTxnOffsets(groupId: string, offsets: TxnOffset[]): Promise<void>;
  /** Transaction timeouts, id expiry and marker retries run on it (default: the system clock). */
  readonly clock?: Clock;
  /** The coordinator epoch held for a transactional id, written into its markers (default: COORDINATOR_EPOCH). */
  coordinatorEpoch?(transactionalId: string): number;
  /**
   * Brokers sharing a database: a transactional id's state as stored, for verifying a produce to a
   * partition led here when another broker coordinates the id (null: none stored).
   */
  storedState?(transactionalId: string): Promise<Buffer | null>;
  /**
   * Brokers sharing a database: transactional offsets are kept by the group's coordinator in the
   * database (pending until the transaction ends), not in the transaction's state, so the group's
   * coordinator never writes a transactional id another broker coordinates (docs/cluster.md).
   */
  txnOffsets?: SharedTxnOffsets;
}

/** Pending transactional offsets in a database brokers share (the postgres engine's rafka_txn_offsets). */
export interface SharedTxnOffsets {
  /** At the group's coordinator: `check` gets the transaction's stored state in the storing transaction; the offsets are stored when it answers NONE. */
  put(transactionalId: string, groupId: string, check: (state: Buffer | null) => number, offsets: readonly TxnOffset[]): Promise<number>;
  /** At the transaction's coordinator: its pending offsets, by group. */
  read(transactionalId: string): Promise<Map<string, TxnOffset[]>>;
  /** At the transaction's coordinator, the transaction ended: its pending offsets deleted (fenced as its state writes are). */
  drop(transactionalId: string): Promise<void>;
  /** At the group's coordinator: the group's partitions with a pending offset (`topic\0partition`). */
  pending(groupId: string): Promise<Set<string>>;
}

export interface InitResult {
  errorCode: number;
  producerId: number;
  producerEpoch: number;
}

export interface DescribedTxn {
  errorCode: number;
  state: TxnState | '';
  producerId: number;
  producerEpoch: number;
  timeoutMs: number;
  startMs: number;
  partitions: TxnPartition[];
}

export interface ListedTxn {
  transactionalId: string;
  producerId: number;
  state: TxnState;
}

export class TransactionCoordinator implements TxnProduceVerifier {
  private readonly txns = new Map<string, TransactionMetadata>();
  /** Current producer id → transactional id (the produce path knows only the producer id). */
  private readonly byProducerId = new Map<number, string>();
  private readonly timer: KeyedTimer;
  /** Storage writes and marker rounds in flight (close waits for them). */
  private readonly inFlight = new Set<Promise<unknown>>();
  private phase: 'loading' | 'active' | 'closed' = 'loading';

  constructor(private readonly deps: TxnCoordinatorDeps) {
    this.timer = new KeyedTimer((key, err) => deps.log.error(`transaction coordinator timer ${key}: ${(err as Error).stack ?? String(err)}`), deps.clock);
  }

  private now(): number {
    return (this.deps.clock ?? SYSTEM_CLOCK).now();
  }

  private get isClosed(): boolean {
    return this.phase === 'closed';
  }

  /** False while loading and once closed: requests are answered COORDINATOR_NOT_AVAILABLE. */
  get isActive(): boolean {
    return this.phase === 'active';
  }

  // ---- lifecycle ---------------------------------------------------------------------------------

  /**
   * Load every stored transactional id, then complete the transactions a crash left in
   * PrepareCommit/PrepareAbort (markers written again, offsets applied or dropped), as Kafka's
   * coordinator does when it loads `__transaction_state`. Ongoing transactions stay Ongoing: their
   * timeout aborts them unless the producer ends them first.
   */
  async load(opts: { shared?: boolean } = {}): Promise<void> {
    // Shared with other brokers: ids are loaded one by one as this broker takes them (adopt).
    if (!opts.shared) for (const [id, value] of this.deps.storage.transactionStates()) this.loadOne(id, value);
    this.phase = 'active';
    for (const m of this.txns.values()) this.resume(m);
    this.scheduleTimeouts();
    this.scheduleExpiration();
    if (this.txns.size > 0) this.deps.log.info(`transaction coordinator loaded ${this.txns.size} transactional id(s)`);
  }

  private loadOne(id: string, value: Buffer): TransactionMetadata | null {
    let facts: TxnFacts;
    try {
      facts = decodeTxn(value);
    } catch (err) {
      this.deps.log.error(`transactional id ${id}: stored state unreadable (${(err as Error).message}); not loaded`);
      return null;
    }
    const m = new TransactionMetadata(id, facts);
    this.txns.set(id, m);
    this.byProducerId.set(m.producerId, id);
    return m;
  }

  /** A loaded Prepare* transaction: its markers are written again, then it completes. */
  private resume(m: TransactionMetadata): void {
    if (m.state === 'PrepareCommit' || m.state === 'PrepareAbort') this.background(this.writeMarkers(m), `completing ${m.transactionalId}`);
  }

  /**
   * This broker coordinates the transactional id from now on (the storage has just claimed it and
   * read its state): whatever was held of it before is replaced by the stored state, and a Prepare*
   * transaction is completed, as Kafka's coordinator does when it loads a `__transaction_state` partition.
   */
  adopt(transactionalId: string): void {
    this.forget(transactionalId);
    const value = this.deps.storage.transactionStates().get(transactionalId);
    const m = value === undefined ? null : this.loadOne(transactionalId, value);
    if (m !== null && this.isActive) this.resume(m);
  }

  /**
   * Another broker coordinates the transactional id now: dropped here (its state stays stored). A
   * marker round or write still running for it stops at its next step (`owns` fails).
   */
  forget(transactionalId: string): void {
    const m = this.txns.get(transactionalId);
    if (m === undefined) return;
    this.txns.delete(transactionalId);
    if (this.byProducerId.get(m.producerId) === transactionalId) this.byProducerId.delete(m.producerId);
  }

  /** Whether `m` is still the state this coordinator holds for its id (not forgotten nor replaced since). */
  private owns(m: TransactionMetadata): boolean {
    return this.txns.get(m.transactionalId) === m;
  }

  /** Stop timers and retries and wait for writes in flight (call before storage closes). */
  async close(): Promise<void> {
    this.phase = 'closed';
    this.timer.stop();
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** Run work nobody waits for (markers, timeouts): tracked for close, and a throw (a bug) logged. */
  private background(p: Promise<unknown>, what: string): void {
    this.track(p).catch((err: unknown) => this.deps.log.error(`transaction coordinator, ${what}: ${(err as Error).stack ?? String(err)}`));
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p)).catch(() => {});
    return p;
  }

  // ---- storing transitions -------------------------------------------------------------------------

  /** Prepare, store and apply a transition; NONE or the error to answer (NOT_COORDINATOR on a failed write). */
  private async transit(m: TransactionMetadata, next: TxnFacts): Promise<number> {
    // Forgotten (another broker took the id) while a caller waited: nothing of it may be written.
    if (!this.owns(m)) return ErrorCode.NOT_COORDINATOR;
    m.prepare(next);
    try {
      const write = this.track(this.deps.storage.putTransactionState(m.transactionalId, next.state === 'Dead' ? null : encodeTxn(next)));
      m.pendingWrite = write;
      await write;
    } catch (err) {
      m.pending = null;
      m.pendingWrite = null;
      const answer = this.deps.engineFaults.answer(`store transaction state of ${m.transactionalId}`, err);
      return answer.errorCode === ErrorCode.KAFKA_STORAGE_ERROR ? ErrorCode.NOT_COORDINATOR : answer.errorCode;
    }
    if (m.producerId !== next.producerId) {
      if (this.byProducerId.get(m.producerId) === m.transactionalId) this.byProducerId.delete(m.producerId);
    }
    m.pendingWrite = null;
    m.complete(next);
    this.byProducerId.set(m.producerId, m.transactionalId);
    return ErrorCode.NONE;
  }

  // ---- InitProducerId ------------------------------------------------------------------------------

  /**
   * InitProducerId with a transactional id. `expected` is the producer id and epoch a v3+ request
   * names (KIP-360), or null. PRODUCER_FENCED is returned as such; the handler maps it per version.
   */
  async initProducerId(transactionalId: string, timeoutMs: number, expected: { producerId: number; producerEpoch: number } | null): Promise<InitResult> {
    const fail = (errorCode: number): InitResult => ({ errorCode, producerId: -1, producerEpoch: -1 });
    if (!this.isActive) return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    if (transactionalId === '') return fail(ErrorCode.INVALID_REQUEST);
    if (timeoutMs <= 0 || timeoutMs > this.deps.config.transactionMaxTimeoutMs) return fail(ErrorCode.INVALID_TRANSACTION_TIMEOUT);
    let m = this.txns.get(transactionalId);
    if (!m) {
      const producerId = await this.newProducerId(transactionalId);
      if (producerId === null) return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE);
      // Another InitProducerId for the same new id may have created it while we waited.
      m = this.txns.get(transactionalId);
      if (!m) {
        m = new TransactionMetadata(transactionalId, {
          producerId,
          lastProducerId: NO_PRODUCER_ID,
          producerEpoch: NO_PRODUCER_EPOCH,
          lastProducerEpoch: NO_PRODUCER_EPOCH,
          timeoutMs,
          state: 'Empty',
          partitions: new Map(),
          groups: new Set(),
          offsets: new Map(),
          startMs: -1,
          updateMs: this.now(),
        });
        this.txns.set(transactionalId, m);
      }
    }
    if (m.pending !== null) return fail(ErrorCode.CONCURRENT_TRANSACTIONS);
    if (expected !== null && !validExpectedProducerId(m, expected)) return fail(ErrorCode.PRODUCER_FENCED);
    switch (m.state) {
      case 'PrepareCommit':
      case 'PrepareAbort':
        return fail(ErrorCode.CONCURRENT_TRANSACTIONS);
      case 'Ongoing': {
        // Abort the ongoing transaction first, fencing its producer; the client retries on
        // CONCURRENT_TRANSACTIONS and then gets the epoch bumped a second time.
        const code = await this.abortWithFence(m);
        return fail(code === ErrorCode.NONE ? ErrorCode.CONCURRENT_TRANSACTIONS : code);
      }
      case 'Empty':
      case 'CompleteCommit':
      case 'CompleteAbort':
        break;
      case 'Dead':
      case 'PrepareEpochFence':
        throw new Error(`transactional id ${transactionalId} found in state ${m.state}, which is never kept`);
    }
    let next: TxnFacts | number;
    if (isEpochExhausted(m.producerEpoch) && (expected === null || expected.producerEpoch === m.producerEpoch)) {
      const newId = await this.newProducerId(transactionalId);
      if (newId === null) return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE);
      if (m.pending !== null || (m.state !== 'Empty' && m.state !== 'CompleteCommit' && m.state !== 'CompleteAbort')) return fail(ErrorCode.CONCURRENT_TRANSACTIONS);
      next = { ...this.emptyFrom(m, timeoutMs), producerId: newId, lastProducerId: m.producerId, producerEpoch: 0, lastProducerEpoch: expected !== null ? m.producerEpoch : NO_PRODUCER_EPOCH };
    } else {
      next = this.incrementEpoch(m, timeoutMs, expected?.producerEpoch ?? null);
    }
    if (typeof next === 'number') return fail(next);
    const code = await this.transit(m, next);
    if (code !== ErrorCode.NONE) return fail(code);
    this.deps.log.info(`transactional id ${transactionalId}: producer id ${m.producerId}, epoch ${m.producerEpoch}`);
    return { errorCode: ErrorCode.NONE, producerId: m.producerId, producerEpoch: m.producerEpoch };
  }

  /** A fresh producer id, or null when its counter could not be stored (logged). */
  private async newProducerId(transactionalId: string): Promise<number | null> {
    try {
      return await this.deps.allocateProducerId();
    } catch (err) {
      this.deps.log.error(`InitProducerId ${transactionalId}: could not persist the producer id counter: ${(err as Error).message}`);
      return null;
    }
  }

  private emptyFrom(m: TransactionMetadata, timeoutMs: number): TxnFacts {
    return { ...m.facts(), state: 'Empty', timeoutMs, partitions: new Map(), groups: new Set(), offsets: new Map(), startMs: -1, updateMs: this.now() };
  }

  /** Kafka's prepareIncrementProducerEpoch: the next Empty state, or PRODUCER_FENCED. */
  private incrementEpoch(m: TransactionMetadata, timeoutMs: number, expectedEpoch: number | null): TxnFacts | number {
    const base = this.emptyFrom(m, timeoutMs);
    const bumped = m.producerEpoch + 1;
    if (expectedEpoch === null) return { ...base, producerEpoch: bumped, lastProducerEpoch: NO_PRODUCER_EPOCH };
    // Continuing after an error with no other producer initialized since: bump both epochs.
    if (m.producerEpoch === NO_PRODUCER_EPOCH || expectedEpoch === m.producerEpoch) return { ...base, producerEpoch: bumped, lastProducerEpoch: m.producerEpoch };
    // A retry of a bump whose answer was lost: the current epoch again.
    if (expectedEpoch === m.lastProducerEpoch) return { ...base, producerEpoch: m.producerEpoch, lastProducerEpoch: m.lastProducerEpoch };
    return ErrorCode.PRODUCER_FENCED;
  }

  /**
   * Abort the Ongoing transaction with the epoch bumped (Kafka's PrepareEpochFence then PrepareAbort):
   * the old producer is fenced by the coordinator and, through the markers, by every partition.
   */
  private async abortWithFence(m: TransactionMetadata): Promise<number> {
    const epoch = m.hasFailedEpochFence || m.producerEpoch === MAX_PRODUCER_EPOCH ? m.producerEpoch : m.producerEpoch + 1;
    const next: TxnFacts = { ...m.facts(), state: 'PrepareAbort', producerEpoch: epoch, lastProducerEpoch: NO_PRODUCER_EPOCH, updateMs: this.now() };
    const code = await this.transit(m, next);
    if (code !== ErrorCode.NONE) {
      m.hasFailedEpochFence = epoch !== m.producerEpoch;
      return code;
    }
    m.hasFailedEpochFence = false;
    this.background(this.writeMarkers(m), `completing ${m.transactionalId}`);
    return ErrorCode.NONE;
  }

  // ---- AddPartitionsToTxn / AddOffsetsToTxn ------------------------------------------------------------

  /** Add partitions (and groups, for AddOffsetsToTxn) to the producer's transaction, starting it if needed. */
  async addToTransaction(transactionalId: string, producerId: number, producerEpoch: number, partitions: readonly TxnPartition[], groups: readonly string[] = []): Promise<number> {
    if (!this.isActive) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (transactionalId === '') return ErrorCode.INVALID_REQUEST;
    const m = this.txns.get(transactionalId);
    if (!m || m.producerId !== producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
    if (m.producerEpoch !== producerEpoch) return ErrorCode.PRODUCER_FENCED;
    if (m.pending !== null || m.state === 'PrepareCommit' || m.state === 'PrepareAbort') return ErrorCode.CONCURRENT_TRANSACTIONS;
    const known = partitions.every((p) => m.partitions.has(partitionKey(p.topic, p.partition))) && groups.every((g) => m.groups.has(g));
    if (m.state === 'Ongoing' && known) return ErrorCode.NONE; // nothing new: answered without a write
    const now = this.now();
    const next: TxnFacts = { ...m.facts(), state: 'Ongoing', updateMs: now, startMs: m.state === 'Ongoing' ? m.startMs : now };
    for (const p of partitions) next.partitions.set(partitionKey(p.topic, p.partition), { topic: p.topic, partition: p.partition });
    for (const g of groups) next.groups.add(g);
    return this.transit(m, next);
  }

  // ---- EndTxn ------------------------------------------------------------------------------------

  /** EndTxn from the client: NONE once PrepareCommit/PrepareAbort is stored (markers follow). */
  async endTransaction(transactionalId: string, producerId: number, producerEpoch: number, commit: boolean): Promise<number> {
    if (!this.isActive) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (transactionalId === '') return ErrorCode.INVALID_REQUEST;
    const m = this.txns.get(transactionalId);
    if (!m || m.producerId !== producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
    // Strict equality for clients: only the coordinator bumps epochs.
    if (producerEpoch !== m.producerEpoch) return ErrorCode.PRODUCER_FENCED;
    if (m.pending !== null) return ErrorCode.CONCURRENT_TRANSACTIONS;
    switch (m.state) {
      case 'Ongoing':
        break;
      case 'CompleteCommit':
        return commit ? ErrorCode.NONE : ErrorCode.INVALID_TXN_STATE; // a retried commit succeeds
      case 'CompleteAbort':
        return commit ? ErrorCode.INVALID_TXN_STATE : ErrorCode.NONE;
      case 'PrepareCommit':
        return commit ? ErrorCode.CONCURRENT_TRANSACTIONS : ErrorCode.INVALID_TXN_STATE;
      case 'PrepareAbort':
        return commit ? ErrorCode.INVALID_TXN_STATE : ErrorCode.CONCURRENT_TRANSACTIONS;
      case 'Empty':
        return ErrorCode.INVALID_TXN_STATE;
      case 'Dead':
      case 'PrepareEpochFence':
        throw new Error(`transactional id ${transactionalId} found in state ${m.state}, which is never kept`);
    }
    const next: TxnFacts = { ...m.facts(), state: commit ? 'PrepareCommit' : 'PrepareAbort', updateMs: this.now() };
    const code = await this.transit(m, next);
    if (code === ErrorCode.NONE) this.background(this.writeMarkers(m), `completing ${m.transactionalId}`);
    return code;
  }

  /**
   * Write the markers of a PrepareCommit/PrepareAbort transaction to each of its partitions, retried
   * until written (a deleted topic's partitions are dropped), then end the groups' pending offsets,
   * then store CompleteCommit/CompleteAbort. Stops when the coordinator closes: the Prepare* state is
   * stored, and the next start completes it.
   */
  private async writeMarkers(m: TransactionMetadata): Promise<void> {
    const commit = m.state === 'PrepareCommit';
    const { producerId, producerEpoch } = m;
    const coordinatorEpoch = this.deps.coordinatorEpoch?.(m.transactionalId) ?? COORDINATOR_EPOCH;
    const left = new Map(m.partitions);
    while (left.size > 0) {
      // Taken by another broker meanwhile: it completes the transaction from the stored state.
      if (!this.owns(m)) return;
      const results = await Promise.all(
        [...left].map(async ([key, p]) => {
          let code: number;
          try {
            code = await this.deps.markers().writeTxnMarker(p.topic, p.partition, { producerId, producerEpoch, coordinatorEpoch, commit });
          } catch (err) {
            code = this.deps.engineFaults.answer(`write transaction marker to ${p.topic}-${p.partition}`, err).errorCode;
          }
          return [key, p, code] as const;
        }),
      );
      for (const [key, p, code] of results) {
        if (code === ErrorCode.NONE) left.delete(key);
        else if (code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) {
          this.deps.log.info(`transactional id ${m.transactionalId}: ${p.topic}-${p.partition} is gone; no marker written there`);
          left.delete(key);
        } else if (code === ErrorCode.INVALID_PRODUCER_EPOCH || code === ErrorCode.TRANSACTION_COORDINATOR_FENCED) {
          // The partition has seen a newer producer epoch or coordinator epoch, so nothing was written
          // and retrying cannot succeed; Kafka's coordinator stops sending this marker too. With
          // coordinator epochs that only rise (claims in the database) this never happens: say so loudly.
          this.deps.log.error(`transactional id ${m.transactionalId}: marker for ${p.topic}-${p.partition} refused (error ${code}): the partition has a newer epoch; not retried`);
          left.delete(key);
        } else this.deps.log.warn(`transactional id ${m.transactionalId}: marker for ${p.topic}-${p.partition} failed (error ${code}); retrying`);
      }
      if (left.size > 0 && !(await this.backoff())) return;
    }
    // A committed transaction's offsets become the groups' committed offsets; an aborted one's are dropped.
    const offsets = new Map([...m.offsets].map(([groupId, o]) => [groupId, [...o.values()]]));
    const shared = this.deps.txnOffsets;
    if (shared !== undefined && commit) {
      for (;;) {
        if (!this.owns(m)) return;
        try {
          for (const [groupId, list] of await shared.read(m.transactionalId)) offsets.set(groupId, [...(offsets.get(groupId) ?? []), ...list]);
          break;
        } catch (err) {
          this.deps.log.warn(`transactional id ${m.transactionalId}: reading its pending offsets failed (${(err as Error).message}); retrying`);
          if (!(await this.backoff())) return;
        }
      }
    }
    for (const [groupId, list] of commit ? offsets : []) {
      for (;;) {
        if (!this.owns(m)) return;
        try {
          await this.deps.applyTxnOffsets(groupId, list);
          break;
        } catch (err) {
          this.deps.log.warn(`transactional id ${m.transactionalId}: storing the offsets of group ${groupId} failed (${(err as Error).message}); retrying`);
          if (!(await this.backoff())) return;
        }
      }
    }
    // Applied or aborted: the pending rows go before the transaction completes, so the next
    // transaction of this id starts with none (a new one's offsets are stored only once it is Ongoing).
    if (shared !== undefined && m.groups.size > 0) {
      for (;;) {
        if (!this.owns(m)) return;
        try {
          await shared.drop(m.transactionalId);
          break;
        } catch (err) {
          this.deps.log.warn(`transactional id ${m.transactionalId}: dropping its pending offsets failed (${(err as Error).message}); retrying`);
          if (!(await this.backoff())) return;
        }
      }
    }
    for (;;) {
      if (!this.owns(m)) return;
      const next: TxnFacts = { ...m.facts(), state: commit ? 'CompleteCommit' : 'CompleteAbort', partitions: new Map(), groups: new Set(), offsets: new Map(), updateMs: this.now() };
      if ((await this.transit(m, next)) === ErrorCode.NONE) return;
      if (!(await this.backoff())) return;
    }
  }

  /** Wait before a retry; false once the coordinator closed (stop retrying). */
  private async backoff(): Promise<boolean> {
    if (this.isClosed) return false;
    // Not unref'd: a transaction being completed is work the process must finish (close stops it).
    await (this.deps.clock ?? SYSTEM_CLOCK).sleep(MARKER_RETRY_BACKOFF_MS);
    return !this.isClosed;
  }

  // ---- the produce path (TxnProduceVerifier) ---------------------------------------------------------

  verifyTransactionalProduce(producerId: number, producerEpoch: number, topic: string, partition: number, transactionalId: string | null = null): number | Promise<number> {
    // Brokers sharing a database: an id coordinated by another broker is checked against its stored
    // state (Kafka's leader asks the coordinator, AddPartitionsToTxn v4 verifyOnly; here the
    // coordinator's answer to AddPartitionsToTxn was given only once that state was stored).
    if (transactionalId !== null && this.deps.storedState && !this.txns.has(transactionalId)) return this.verifyStored(transactionalId, producerId, producerEpoch, topic, partition);
    const id = this.byProducerId.get(producerId);
    const m = id === undefined ? undefined : this.txns.get(id);
    return verifyAgainst(m, producerId, producerEpoch, topic, partition);
  }

  private async verifyStored(transactionalId: string, producerId: number, producerEpoch: number, topic: string, partition: number): Promise<number> {
    let value: Buffer | null;
    try {
      value = await this.deps.storedState!(transactionalId);
    } catch (err) {
      // The database away: the producer retries (Produce's retriable storage answer).
      this.deps.log.warn(`verifying a transactional produce of ${transactionalId}: ${(err as Error).message}`);
      return ErrorCode.KAFKA_STORAGE_ERROR;
    }
    let facts: TxnFacts | undefined;
    try {
      facts = value === null ? undefined : decodeTxn(value);
    } catch {
      facts = undefined;
    }
    return verifyAgainst(facts, producerId, producerEpoch, topic, partition);
  }

  /**
   * TxnOffsetCommit, the transaction side (KIP-447; the group side checks generation and member
   * first): the producer's ongoing transaction must include the group (AddOffsetsToTxn came first);
   * the offsets are stored with the transaction and become the group's committed offsets only when it
   * commits. An old epoch is INVALID_PRODUCER_EPOCH, as Kafka's offsets-log append answers it.
   */
  async commitTxnOffsets(transactionalId: string, producerId: number, producerEpoch: number, groupId: string, offsets: readonly TxnOffset[]): Promise<number> {
    if (!this.isActive) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (this.deps.txnOffsets) return this.storeSharedOffsets(this.deps.txnOffsets, transactionalId, producerId, producerEpoch, groupId, offsets);
    const m = this.txns.get(transactionalId);
    if (!m || m.producerId !== producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
    // Wait for a transition in flight (an AddPartitionsToTxn of the same producer): offsets are
    // stored after it, never answered CONCURRENT_TRANSACTIONS, which TxnOffsetCommit does not have.
    while (m.pendingWrite !== null) await m.pendingWrite.catch(() => {});
    if (this.txns.get(transactionalId) !== m || m.producerId !== producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
    if (producerEpoch !== m.producerEpoch) return ErrorCode.INVALID_PRODUCER_EPOCH;
    if (m.state !== 'Ongoing' || !m.groups.has(groupId)) return ErrorCode.INVALID_TXN_STATE;
    if (offsets.length === 0) return ErrorCode.NONE;
    const next: TxnFacts = { ...m.facts(), updateMs: this.now() };
    let group = next.offsets.get(groupId);
    if (!group) next.offsets.set(groupId, (group = new Map()));
    for (const o of offsets) group.set(partitionKey(o.topic, o.partition), o);
    return this.transit(m, next);
  }

  /**
   * Brokers sharing a database, at the group's coordinator: the offsets are stored pending in the
   * database, checked against the transaction's stored state in the same PostgreSQL transaction
   * (Kafka's group coordinator appends them to the group's __consumer_offsets partition, KIP-890
   * verifying the transaction; the transaction's coordinator stored AddOffsetsToTxn before answering
   * it). The transaction's own state is not written, so its coordinator is never fenced by this.
   */
  private async storeSharedOffsets(shared: SharedTxnOffsets, transactionalId: string, producerId: number, producerEpoch: number, groupId: string, offsets: readonly TxnOffset[]): Promise<number> {
    const check = (value: Buffer | null): number => {
      let facts: TxnFacts | undefined;
      try {
        facts = value === null ? undefined : decodeTxn(value);
      } catch {
        facts = undefined;
      }
      if (!facts || facts.producerId !== producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
      if (producerEpoch !== facts.producerEpoch) return ErrorCode.INVALID_PRODUCER_EPOCH;
      if (facts.state !== 'Ongoing' || !facts.groups.has(groupId)) return ErrorCode.INVALID_TXN_STATE;
      return ErrorCode.NONE;
    };
    try {
      return await shared.put(transactionalId, groupId, check, offsets);
    } catch (err) {
      // The group taken by another broker meanwhile (fenced), or the database away: retriable.
      const answer = this.deps.engineFaults.answer(`store transactional offsets of group ${groupId}`, err);
      return answer.errorCode === ErrorCode.KAFKA_STORAGE_ERROR ? ErrorCode.NOT_COORDINATOR : answer.errorCode;
    }
  }

  /**
   * The group's partitions (`topic\0partition`) with an offset a transaction has not yet committed or
   * dropped (OffsetFetch with require_stable answers them UNSTABLE_OFFSET_COMMIT). Brokers sharing a
   * database keep them there: see `sharedPendingOffsets`.
   */
  pendingOffsets(groupId: string): ReadonlySet<string> {
    const out = new Set<string>();
    for (const m of this.txns.values()) for (const key of m.offsets.get(groupId)?.keys() ?? []) out.add(key);
    return out;
  }

  /** Brokers sharing a database: the group's pending offsets as stored there (one query; another broker's transaction may hold them); null otherwise. */
  sharedPendingOffsets(groupId: string): Promise<ReadonlySet<string>> | null {
    return this.deps.txnOffsets?.pending(groupId) ?? null;
  }

  // ---- timeouts and expiration -----------------------------------------------------------------------

  private scheduleTimeouts(): void {
    this.timer.schedule('abort-timed-out', this.deps.config.transactionAbortTimedOutTransactionCleanupIntervalMs, () => {
      this.abortTimedOutTransactions();
      this.scheduleTimeouts();
    });
  }

  private scheduleExpiration(): void {
    this.timer.schedule('expire-ids', this.deps.config.transactionRemoveExpiredTransactionCleanupIntervalMs, () => {
      this.background(this.expireTransactionalIds(), 'expiring transactional ids');
      this.scheduleExpiration();
    });
  }

  /** Abort (fencing the producer) every Ongoing transaction older than its timeout; returns how many were started. */
  abortTimedOutTransactions(): number {
    const now = this.now();
    let n = 0;
    for (const m of this.txns.values()) {
      if (m.state !== 'Ongoing' || m.pending !== null || m.startMs + m.timeoutMs >= now) continue;
      this.deps.log.info(`transactional id ${m.transactionalId}: transaction timed out after ${m.timeoutMs} ms; aborting it and fencing producer ${m.producerId}`);
      this.background(this.abortWithFence(m), `aborting ${m.transactionalId} after its timeout`);
      n++;
    }
    return n;
  }

  /** Forget transactional ids with no transaction in progress, idle for transactional.id.expiration.ms. */
  async expireTransactionalIds(): Promise<string[]> {
    const now = this.now();
    const expired: string[] = [];
    const idle = [...this.txns.values()].filter(
      (m) => !m.inTransaction && m.pending === null && m.updateMs + this.deps.config.transactionalIdExpirationMs <= now,
    );
    await Promise.all(
      idle.map(async (m) => {
        const code = await this.transit(m, { ...m.facts(), state: 'Dead', partitions: new Map(), groups: new Set(), offsets: new Map() });
        if (code !== ErrorCode.NONE) return;
        this.txns.delete(m.transactionalId);
        if (this.byProducerId.get(m.producerId) === m.transactionalId) this.byProducerId.delete(m.producerId);
        expired.push(m.transactionalId);
      }),
    );
    if (expired.length > 0) this.deps.log.info(`expired ${expired.length} transactional id(s)`);
    return expired;
  }

  // ---- admin -------------------------------------------------------------------------------------

  describe(transactionalId: string): DescribedTxn {
    const none: DescribedTxn = { errorCode: ErrorCode.NONE, state: '', producerId: -1, producerEpoch: -1, timeoutMs: -1, startMs: -1, partitions: [] };
    if (!this.isActive) return { ...none, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE };
    if (transactionalId === '') return { ...none, errorCode: ErrorCode.INVALID_REQUEST };
    const m = this.txns.get(transactionalId);
    if (!m || m.state === 'Dead') return { ...none, errorCode: ErrorCode.TRANSACTIONAL_ID_NOT_FOUND };
    return {
      errorCode: ErrorCode.NONE,
      state: m.state,
      producerId: m.producerId,
      producerEpoch: m.producerEpoch,
      timeoutMs: m.timeoutMs,
      startMs: m.startMs,
      partitions: [...m.partitions.values()],
    };
  }

  /**
   * Transactional ids matching every filter given (an empty filter matches all): states, producer
   * ids, and (ListTransactions v1, KIP-994) begun more than `minDurationMs` ago (-1: no filter).
   * As Kafka, the duration counts from the start timestamp, -1 for an id without a transaction, so
   * such ids always pass it.
   */
  list(states: readonly string[], producerIds: readonly number[], minDurationMs = -1): ListedTxn[] {
    const now = this.now();
    const out: ListedTxn[] = [];
    for (const m of this.txns.values()) {
      if (m.state === 'Dead') continue;
      if (states.length > 0 && !states.includes(m.state)) continue;
      if (producerIds.length > 0 && !producerIds.includes(m.producerId)) continue;
      if (minDurationMs >= 0 && now - m.startMs <= minDurationMs) continue;
      out.push({ transactionalId: m.transactionalId, producerId: m.producerId, state: m.state });
    }
    return out;
  }

  /** The state of one transactional id (tests, diagnostics). */
  get(transactionalId: string): Readonly<TransactionMetadata> | undefined {
    return this.txns.get(transactionalId);
  }

  /**
   * Forget every transactional id and its transaction (broker.reset(), between tests), once the
   * writes and marker rounds under way have settled; their stored state is deleted too.
   */
  async reset(): Promise<void> {
    if (!this.isActive) return;
    await this.settle();
    const ids = new Set([...this.txns.keys(), ...this.deps.storage.transactionStates().keys()]);
    this.txns.clear();
    this.byProducerId.clear();
    for (const id of ids) await this.deps.storage.putTransactionState(id, null);
  }

  /** Marker rounds, fences and writes still in flight (tests: wait for them). */
  async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }
}

/** KIP-890 part 1: may the producer append a transactional batch to the partition, given its transactional id's state? */
function verifyAgainst(m: Pick<TxnFacts, 'producerId' | 'producerEpoch' | 'state' | 'partitions'> | undefined, producerId: number, producerEpoch: number, topic: string, partition: number): number {
  // Kafka's verification answers the producer only INVALID_PRODUCER_EPOCH or INVALID_TXN_STATE
  // (AddPartitionsToTxnManager turns the coordinator's other answers, an unknown producer id
  // mapping among them, into INVALID_TXN_STATE): Produce has no INVALID_PRODUCER_ID_MAPPING.
  if (!m || m.producerId !== producerId) return ErrorCode.INVALID_TXN_STATE;
  // The produce response has no PRODUCER_FENCED: an old epoch is INVALID_PRODUCER_EPOCH, as Kafka's
  // partition leader answers a fenced transactional batch.
  if (producerEpoch !== m.producerEpoch) return ErrorCode.INVALID_PRODUCER_EPOCH;
  if (m.state !== 'Ongoing' || !m.partitions.has(partitionKey(topic, partition))) return ErrorCode.INVALID_TXN_STATE;
  return ErrorCode.NONE;
}

/**
 * KIP-360: a request naming a producer id and epoch is fenced unless the id was just created (no
 * epoch yet), it names the current producer id (its epoch is checked when bumping), or it names the
 * previous producer id with an exhausted epoch (a retry of a rotation whose answer was lost).
 */
function validExpectedProducerId(m: TransactionMetadata, e: { producerId: number; producerEpoch: number }): boolean {
  return m.producerEpoch === NO_PRODUCER_EPOCH || e.producerId === m.producerId || (e.producerId === m.lastProducerId && isEpochExhausted(e.producerEpoch));
}
