/**
 * The transactional producer's state machine (KIP-98, KIP-447), as the Java client's
 * TransactionManager keeps it. The Producer owns one when `transactionalId` is set; this object talks
 * to the transaction coordinator (and, for offsets, the group coordinator), the producer sends the
 * records.
 *
 *   UNINITIALIZED ─initTransactions()─► INITIALIZING ─InitProducerId─► READY ─beginTransaction()─►
 *   IN_TRANSACTION ─commitTransaction()─► COMMITTING_TRANSACTION ─flush, EndTxn(commit)─► READY
 *                  ─abortTransaction()──► ABORTING_TRANSACTION ─unsent records dropped, EndTxn(abort)─► READY
 *   an abortable error (a batch failed, a group member fenced, …) ─► ABORTABLE_ERROR ─abortTransaction()─► …
 *   a fatal error (PRODUCER_FENCED, INVALID_PRODUCER_EPOCH from the coordinator,
 *   TRANSACTIONAL_ID_AUTHORIZATION_FAILED, INVALID_TXN_STATE, …) ─► FATAL_ERROR: every call throws it
 *
 * - Requests to the coordinators go one at a time, in call order (the Java client has one
 *   transactional request in flight). Each is retried while its answer is retriable —
 *   COORDINATOR_LOAD_IN_PROGRESS, CONCURRENT_TRANSACTIONS, NOT_COORDINATOR / COORDINATOR_NOT_AVAILABLE
 *   (the coordinator is looked up again), lost connections — for up to maxBlockMs; then the call
 *   fails with TransactionTimeoutError, and calling initTransactions/commitTransaction/
 *   abortTransaction again resumes where it stopped.
 * - Partitions join the transaction (AddPartitionsToTxn) before their first batch is sent: a batch for
 *   a partition not yet added waits in the producer's queue; partitions with waiting records go in one
 *   request.
 * - How each error code is treated follows the Java client's per-request handlers (SEVERITY below).
 * - An error that leaves our epoch unusable (UNKNOWN_PRODUCER_ID, INVALID_PRODUCER_ID_MAPPING, a
 *   batch that failed after it got a sequence number) is abortable, and the abort ends with an epoch
 *   bump: InitProducerId naming our producer id and epoch (KIP-360, v3+), after which every
 *   partition's sequence starts again at 0. The Java client renumbers the following batches instead
 *   in some of these cases; a bump is always correct and needs no bookkeeping per batch.
 * - Not implemented: transactions v2 (KIP-890 part 2, EndTxn v5: an epoch bump per transaction) and
 *   two-phase commit (KIP-939): the client caps those APIs below the versions that carry them.
 */
import { sleep, type Cluster } from './cluster.js';
import {
  AddOffsetsToTxnRequest,
  AddOffsetsToTxnResponse,
  AddPartitionsToTxnRequest,
  AddPartitionsToTxnResponse,
  ApiKey,
  EndTxnRequest,
  EndTxnResponse,
  InitProducerIdRequest,
  InitProducerIdResponse,
  TxnOffsetCommitRequest,
  TxnOffsetCommitResponse,
} from '../protocol/messages/index.js';
import type { Init, MessageCodec } from '../protocol/codec/message.js';
import { ErrorCode, isRetriable } from '../protocol/error-codes.js';
import {
  AbortableTransactionError,
  ClientClosedError,
  ConfigError,
  KafkaProtocolError,
  TransactionAbortedError,
  TransactionStateError,
  TransactionTimeoutError,
  UnsupportedVersionError,
  isRetriableError,
} from './errors.js';
import { CoordinatorKeyType, findCoordinator, type ConsumerGroupMetadata } from './group.js';
import type { TopicPartition } from './assignors.js';

export type TransactionState =
  | 'UNINITIALIZED'
  | 'INITIALIZING'
  | 'READY'
  | 'IN_TRANSACTION'
  | 'COMMITTING_TRANSACTION'
  | 'ABORTING_TRANSACTION'
  | 'ABORTABLE_ERROR'
  | 'FATAL_ERROR';

/** The states each state may be entered from (the Java client's State.isTransitionValid). */
const ENTERED_FROM: Readonly<Record<TransactionState, readonly TransactionState[] | 'any'>> = {
  UNINITIALIZED: ['INITIALIZING'],
  INITIALIZING: ['UNINITIALIZED', 'ABORTING_TRANSACTION'],
  READY: ['INITIALIZING', 'COMMITTING_TRANSACTION', 'ABORTING_TRANSACTION'],
  IN_TRANSACTION: ['READY'],
  COMMITTING_TRANSACTION: ['IN_TRANSACTION'],
  ABORTING_TRANSACTION: ['IN_TRANSACTION', 'ABORTABLE_ERROR'],
  ABORTABLE_ERROR: ['IN_TRANSACTION', 'COMMITTING_TRANSACTION', 'ABORTABLE_ERROR', 'INITIALIZING'],
  FATAL_ERROR: 'any',
};

/** The requests the manager sends, for the severity table. */
type TxnRequest = 'InitProducerId' | 'AddPartitionsToTxn' | 'AddOffsetsToTxn' | 'TxnOffsetCommit' | 'EndTxn';

/**
 * What an error answer does to the transaction, per request, as the Java client's handlers decide
 * (codes Kafka marks retriable never get here: they are retried). 'bump': abortable, and the abort
 * bumps the epoch. Codes not listed: the request's `other`.
 */
const SEVERITY: Readonly<Record<TxnRequest, { codes: ReadonlyMap<number, Severity>; other: Severity }>> = (() => {
  const common: [number, Severity][] = [
    [ErrorCode.PRODUCER_FENCED, 'fatal'],
    [ErrorCode.INVALID_PRODUCER_EPOCH, 'fatal'], // a coordinator's answer before KIP-588 (PRODUCER_FENCED since)
    [ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, 'fatal'],
    [ErrorCode.CLUSTER_AUTHORIZATION_FAILED, 'fatal'],
    [ErrorCode.TRANSACTION_ABORTABLE, 'abortable'],
    [ErrorCode.UNKNOWN_PRODUCER_ID, 'bump'],
    [ErrorCode.INVALID_PRODUCER_ID_MAPPING, 'bump'],
  ];
  const table = (extra: [number, Severity][], other: Severity) => ({ codes: new Map([...common, ...extra]), other });
  return {
    InitProducerId: table([[ErrorCode.UNKNOWN_PRODUCER_ID, 'fatal'], [ErrorCode.INVALID_PRODUCER_ID_MAPPING, 'fatal']], 'fatal'),
    // Java: a partition error it does not know (TOPIC_AUTHORIZATION_FAILED, …) makes the transaction abortable.
    AddPartitionsToTxn: table([[ErrorCode.INVALID_TXN_STATE, 'fatal']], 'abortable'),
    AddOffsetsToTxn: table([[ErrorCode.GROUP_AUTHORIZATION_FAILED, 'abortable']], 'fatal'),
    // KIP-447: a member of an old generation (a zombie after a rebalance) cannot commit; the
    // application aborts and continues from the group's committed offsets.
    TxnOffsetCommit: table(
      [
        [ErrorCode.GROUP_AUTHORIZATION_FAILED, 'abortable'],
        [ErrorCode.FENCED_INSTANCE_ID, 'abortable'],
        [ErrorCode.UNKNOWN_MEMBER_ID, 'abortable'],
        [ErrorCode.ILLEGAL_GENERATION, 'abortable'],
      ],
      'fatal',
    ),
    EndTxn: table([[ErrorCode.INVALID_TXN_STATE, 'fatal']], 'fatal'),
  };
})();
type Severity = 'fatal' | 'abortable' | 'bump';

/**
 * Answers after which the coordinator is looked up again before the retry (Java's handlers; a
 * coordinator that is loading is just asked again).
 */
const LOOKUP_AGAIN_CODES = new Set<number>([ErrorCode.NOT_COORDINATOR, ErrorCode.COORDINATOR_NOT_AVAILABLE]);

/** Produce errors after which the producer is unusable (the rest make the transaction abortable). */
const FATAL_PRODUCE_CODES = new Set<number>([ErrorCode.PRODUCER_FENCED, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, ErrorCode.CLUSTER_AUTHORIZATION_FAILED]);

/**
 * Retry delay for CONCURRENT_TRANSACTIONS on the first AddPartitionsToTxn of a transaction: the
 * previous transaction's markers are being written and are done in milliseconds (the Java client's
 * 20 ms for the same case, instead of retry.backoff.ms).
 */
const CONCURRENT_TRANSACTIONS_RETRY_MS = 20;

/** What the manager needs from its producer. */
export interface TransactionHost {
  readonly cluster: Cluster;
  readonly closed: boolean;
  /** The producer id and epoch the producer stamps on batches. */
  identity(): { producerId: number; producerEpoch: number };
  /** Use this producer id and epoch from now on: every partition's sequence starts again at 0. */
  setIdentity(producerId: number, producerEpoch: number): void;
  /** Send everything buffered and wait until each batch is acknowledged or failed. */
  flush(): Promise<void>;
  /** Fail every batch not yet sent with `e` (the partitions' sequences go back to the first of them). */
  abortUnsent(e: Error): void;
  /** Wait until the batches already sent are acknowledged or failed (retries included). */
  settleSent(): Promise<void>;
  /** Fail everything buffered with `e` and refuse further sends (a fatal error). */
  failAll(e: Error): void;
  /** Partitions were added to the transaction: their batches may go now. */
  wake(): void;
}

export interface TransactionOptions {
  transactionalId: string;
  transactionTimeoutMs: number;
  maxBlockMs: number;
}

/** Offsets for sendOffsetsToTransaction: the next offset to consume, per partition. */
export type TransactionOffset = TopicPartition & { offset: number; metadata?: string | null; leaderEpoch?: number };

const tpKey = (topic: string, partition: number) => `${topic}\u0000${partition}`;

export class TransactionManager {
  readonly transactionalId: string;
  readonly transactionTimeoutMs: number;
  private readonly maxBlockMs: number;
  private current: TransactionState = 'UNINITIALIZED';
  /** The error that put us in ABORTABLE_ERROR or FATAL_ERROR. */
  private lastError: Error | null = null;
  private coordinatorId = -1;
  private readonly groupCoordinators = new Map<string, number>();
  /** Partitions AddPartitionsToTxn added to this transaction: their batches may be sent. */
  private readonly added = new Set<string>();
  /** Partitions with records, not yet asked for. */
  private readonly toAdd = new Map<string, TopicPartition>();
  /** Partitions of the AddPartitionsToTxn in flight. */
  private readonly adding = new Set<string>();
  private addRequest: Promise<void> | null = null;
  /** The coordinator has a transaction for us (a partition or a group was added): EndTxn is needed. */
  private started = false;
  /** Our epoch is unusable after this transaction (sequence gap, producer id unknown): bump it when aborting. */
  private epochBumpRequired = false;
  /** Coordinator requests run one at a time, in call order. */
  private queue: Promise<unknown> = Promise.resolve();
  private pendingInit: Promise<void> | null = null;
  private completing: Promise<void> | null = null;
  /** Counts beginTransaction() calls: which transaction a waiting send() belongs to. */
  private transactionNumber = 0;
  /** Errors whose state change is done (the call that meets one again throws it as it is). */
  private readonly judged = new WeakSet<Error>();

  constructor(
    private readonly host: TransactionHost,
    opts: TransactionOptions,
  ) {
    if (opts.transactionalId === '') throw new ConfigError('transactionalId must not be empty');
    this.transactionalId = opts.transactionalId;
    this.transactionTimeoutMs = opts.transactionTimeoutMs;
    this.maxBlockMs = opts.maxBlockMs;
  }

  get state(): TransactionState {
    return this.current;
  }

  // ------------------------------------------------------------------------------------------------
  // The application's calls
  // ------------------------------------------------------------------------------------------------

  /**
   * Find the coordinator and take the producer id for the transactional id, fencing earlier producers
   * of it (their open transaction is aborted by the coordinator first).
   */
  initTransactions(): Promise<void> {
    if (this.pendingInit) return this.pendingInit;
    this.throwIfFatal();
    this.transition('INITIALIZING');
    const p = this.serial(() => this.initProducerId(false)).then(
      () => this.transition('READY'),
      (e: unknown) => {
        // Out of time (or closed): the application may call initTransactions again.
        if (this.current === 'INITIALIZING') this.transition('UNINITIALIZED');
        throw this.settled(e);
      },
    );
    this.pendingInit = p.finally(() => (this.pendingInit = null));
    return this.pendingInit;
  }

  beginTransaction(): void {
    this.throwIfError();
    this.transition('IN_TRANSACTION');
    this.transactionNumber++;
  }

  /**
   * Throws unless a send() may add records now (Java's failIfNotReadyForSend); returns the number of
   * the transaction the records belong to, for failIfTransactionMoved.
   */
  failIfNotReadyForSend(): number {
    this.throwIfError();
    if (this.current === 'UNINITIALIZED' || this.current === 'INITIALIZING') {
      throw new TransactionStateError(`transactional id ${this.transactionalId}: cannot send before initTransactions() completes`);
    }
    if (this.current !== 'IN_TRANSACTION') throw new TransactionStateError(`transactional id ${this.transactionalId}: cannot send in state ${this.current} (call beginTransaction() first)`);
    return this.transactionNumber;
  }

  /**
   * For a send() that passed failIfNotReadyForSend for transaction `n` and then waited (metadata,
   * buffer memory): throws unless its records may still join that transaction. A commit begun
   * meanwhile takes them (its flush waits for such sends, as the Java client's send() has appended
   * before commitTransaction() can start); an abort or an error does not.
   */
  failIfTransactionMoved(n: number): void {
    this.throwIfError();
    if (n !== this.transactionNumber || (this.current !== 'IN_TRANSACTION' && this.current !== 'COMMITTING_TRANSACTION')) {
      throw new TransactionStateError(`transactional id ${this.transactionalId}: the transaction this send() began in has ended (state ${this.current})`);
    }
  }

  /** Commit the consumer group's offsets with this transaction (AddOffsetsToTxn, then TxnOffsetCommit). */
  async sendOffsets(offsets: readonly TransactionOffset[], group: ConsumerGroupMetadata): Promise<void> {
    this.throwIfError();
    if (this.current !== 'IN_TRANSACTION') throw new TransactionStateError(`transactional id ${this.transactionalId}: cannot send offsets in state ${this.current} (no transaction in progress)`);
    if (!group.groupId) throw new ConfigError('sendOffsetsToTransaction needs the consumer group metadata of a group (Consumer.groupMetadata())');
    if (group.generationId > 0 && group.memberId === '') throw new ConfigError('group metadata with a generation must name its member id');
    if (offsets.length === 0) return;
    await this.serial(async () => {
      try {
        const ids = this.host.identity();
        const added = await this.toCoordinator(
          'AddOffsetsToTxn',
          ApiKey.AddOffsetsToTxn,
          AddOffsetsToTxnRequest,
          AddOffsetsToTxnResponse,
          () => ({ transactionalId: this.transactionalId, producerId: BigInt(ids.producerId), producerEpoch: ids.producerEpoch, groupId: group.groupId }),
          (r) => [r.errorCode],
          this.txnCoordinator,
        );
        if (added.errorCode !== ErrorCode.NONE) throw this.failWith('AddOffsetsToTxn', added.errorCode, `group ${group.groupId}`);
        this.started = true;
        await this.commitOffsets(offsets, group, ids);
      } catch (e) {
        throw this.settled(e);
      }
    });
  }

  /** Flush, then EndTxn(commit). Calling it again after a TransactionTimeoutError resumes. */
  commitTransaction(): Promise<void> {
    if (this.current === 'COMMITTING_TRANSACTION') return this.completing ?? this.complete(true);
    this.throwIfError();
    this.transition('COMMITTING_TRANSACTION');
    return this.complete(true);
  }

  /**
   * Drop the records not yet sent (their send() rejects with TransactionAbortedError), wait for those
   * already sent, then EndTxn(abort). Works in ABORTABLE_ERROR; calling it again resumes.
   */
  abortTransaction(): Promise<void> {
    if (this.current === 'ABORTING_TRANSACTION') return this.completing ?? this.complete(false);
    this.throwIfFatal();
    this.transition('ABORTING_TRANSACTION');
    return this.complete(false);
  }

  // ------------------------------------------------------------------------------------------------
  // The producer's calls
  // ------------------------------------------------------------------------------------------------

  /** A record for this partition was accepted: the partition must join the transaction. */
  maybeAddPartition(topic: string, partition: number): void {
    const k = tpKey(topic, partition);
    if (this.added.has(k) || this.adding.has(k) || this.toAdd.has(k)) return;
    this.toAdd.set(k, { topic, partition });
  }

  /** Whether batches of this partition may be sent (it is in the transaction). */
  isSendAllowed(topic: string, partition: number): boolean {
    return this.added.has(tpKey(topic, partition));
  }

  /** Send AddPartitionsToTxn for the partitions waiting for it, unless a request is in flight. */
  addPartitionsSoon(): void {
    if (this.addRequest || this.toAdd.size === 0) return;
    if (this.current !== 'IN_TRANSACTION' && this.current !== 'COMMITTING_TRANSACTION') return;
    const list = [...this.toAdd.values()];
    this.toAdd.clear();
    for (const tp of list) this.adding.add(tpKey(tp.topic, tp.partition));
    this.addRequest = this.serial(() => this.addPartitions(list))
      .catch(() => {
        /* the state change (abortable or fatal) fails the waiting batches */
      })
      .finally(() => {
        for (const tp of list) this.adding.delete(tpKey(tp.topic, tp.partition));
        this.addRequest = null;
        this.host.wake();
      });
  }

  /**
   * A batch failed for good (after its retries). `hadSequence`: it was sent with a sequence number
   * the broker may or may not have taken, so this epoch's sequence has a gap.
   */
  onBatchFailed(e: Error, hadSequence: boolean): void {
    const code = e instanceof KafkaProtocolError ? e.errorCode : -1;
    if (FATAL_PRODUCE_CODES.has(code) || e instanceof UnsupportedVersionError) {
      this.fatal(e);
      return;
    }
    if (hadSequence) this.epochBumpRequired = true;
    this.abortable(e);
  }

  // ------------------------------------------------------------------------------------------------
  // Requests
  // ------------------------------------------------------------------------------------------------

  private async initProducerId(bump: boolean): Promise<void> {
    const ids = this.host.identity();
    const res = await this.toCoordinator(
      'InitProducerId',
      ApiKey.InitProducerId,
      InitProducerIdRequest,
      InitProducerIdResponse,
      // KIP-360 (v3+): naming our producer id and epoch bumps the epoch only if we are still its
      // current producer; a plain InitProducerId would fence whoever took the id over.
      (v) => ({
        transactionalId: this.transactionalId,
        transactionTimeoutMs: this.transactionTimeoutMs,
        producerId: bump && v >= 3 ? BigInt(ids.producerId) : -1n,
        producerEpoch: bump && v >= 3 ? ids.producerEpoch : -1,
      }),
      (r) => [r.errorCode],
      this.txnCoordinator,
    );
    if (res.errorCode !== ErrorCode.NONE) throw this.failWith('InitProducerId', res.errorCode, `transactional id ${this.transactionalId}`);
    this.host.setIdentity(Number(res.producerId), res.producerEpoch);
    this.epochBumpRequired = false;
  }

  private async addPartitions(list: TopicPartition[]): Promise<void> {
    if (this.current !== 'IN_TRANSACTION' && this.current !== 'COMMITTING_TRANSACTION') return;
    const byTopic = new Map<string, number[]>();
    for (const tp of list) {
      let l = byTopic.get(tp.topic);
      if (!l) byTopic.set(tp.topic, (l = []));
      l.push(tp.partition);
    }
    const ids = this.host.identity();
    try {
      const res = await this.toCoordinator(
        'AddPartitionsToTxn',
        ApiKey.AddPartitionsToTxn,
        AddPartitionsToTxnRequest,
        AddPartitionsToTxnResponse,
        // v0-3, the client's form (v4+ batches transactions for brokers verifying produce requests).
        () => ({
          v3AndBelowTransactionalId: this.transactionalId,
          v3AndBelowProducerId: BigInt(ids.producerId),
          v3AndBelowProducerEpoch: ids.producerEpoch,
          v3AndBelowTopics: [...byTopic].map(([name, partitions]) => ({ name, partitions })),
        }),
        addPartitionsCodes,
        this.txnCoordinator,
        (code) => code === ErrorCode.CONCURRENT_TRANSACTIONS && this.added.size === 0,
      );
      const failed = firstError(addPartitionsCodes(res));
      if (failed !== ErrorCode.NONE) throw this.failWith('AddPartitionsToTxn', failed, list.map((tp) => `${tp.topic}-${tp.partition}`).join(', '));
      for (const tp of list) this.added.add(tpKey(tp.topic, tp.partition));
      this.started = true;
    } catch (e) {
      // The batches cannot be sent without their partitions in the transaction.
      if (e instanceof TransactionTimeoutError) this.abortable(e);
      throw this.settled(e);
    }
  }

  /** TxnOffsetCommit to the group's coordinator (retried as a whole: committing an offset twice is harmless). */
  private async commitOffsets(offsets: readonly TransactionOffset[], group: ConsumerGroupMetadata, ids: { producerId: number; producerEpoch: number }): Promise<void> {
    const byTopic = new Map<string, { partitionIndex: number; committedOffset: bigint; committedLeaderEpoch: number; committedMetadata: string | null }[]>();
    for (const o of offsets) {
      let l = byTopic.get(o.topic);
      if (!l) byTopic.set(o.topic, (l = []));
      l.push({ partitionIndex: o.partition, committedOffset: BigInt(o.offset), committedLeaderEpoch: o.leaderEpoch ?? -1, committedMetadata: o.metadata ?? '' });
    }
    const topics = [...byTopic].map(([name, partitions]) => ({ name, partitions }));
    const coordinator = {
      get: async () => {
        let node = this.groupCoordinators.get(group.groupId);
        if (node === undefined) this.groupCoordinators.set(group.groupId, (node = await findCoordinator(this.host.cluster, CoordinatorKeyType.group, group.groupId)));
        return node;
      },
      forget: () => this.groupCoordinators.delete(group.groupId),
    };
    const res = await this.toCoordinator(
      'TxnOffsetCommit',
      ApiKey.TxnOffsetCommit,
      TxnOffsetCommitRequest,
      TxnOffsetCommitResponse,
      (v) => {
        // The member's identity (KIP-447) needs v3+; without it the coordinator could not fence a zombie.
        if (v < 3 && (group.generationId !== -1 || group.memberId !== '' || group.groupInstanceId !== null)) {
          throw new UnsupportedVersionError(`the group coordinator offers TxnOffsetCommit up to v${v}; committing with group metadata needs v3 (Kafka 2.5)`);
        }
        return {
          transactionalId: this.transactionalId,
          groupId: group.groupId,
          producerId: BigInt(ids.producerId),
          producerEpoch: ids.producerEpoch,
          generationId: group.generationId,
          memberId: group.memberId,
          groupInstanceId: group.groupInstanceId,
          topics,
        };
      },
      (r) => r.topics.flatMap((t) => t.partitions.map((p) => p.errorCode)),
      coordinator,
    );
    for (const t of res.topics) {
      for (const p of t.partitions) {
        if (p.errorCode !== ErrorCode.NONE) throw this.failWith('TxnOffsetCommit', p.errorCode, `group ${group.groupId} ${t.name}-${p.partitionIndex}`);
      }
    }
  }

  /** The end of a transaction: commit (flush first) or abort (drop what is unsent), EndTxn, READY. */
  private complete(commit: boolean): Promise<void> {
    const run = async () => {
      if (commit) {
        await this.host.flush();
        // A batch that failed during the flush made the transaction abortable: no commit.
        this.throwIfError();
      } else {
        this.host.abortUnsent(new TransactionAbortedError());
        this.toAdd.clear();
        // Sent batches must finish (retries included): whether they were written decides our sequences.
        await this.host.settleSent();
      }
      await this.serial(async () => {
        const skipEndTxn = !this.started || (!commit && this.lastError instanceof KafkaProtocolError && this.lastError.errorCode === ErrorCode.INVALID_PRODUCER_ID_MAPPING);
        if (!skipEndTxn) {
          const ids = this.host.identity();
          const res = await this.toCoordinator(
            'EndTxn',
            ApiKey.EndTxn,
            EndTxnRequest,
            EndTxnResponse,
            () => ({ transactionalId: this.transactionalId, producerId: BigInt(ids.producerId), producerEpoch: ids.producerEpoch, committed: commit }),
            (r) => [r.errorCode],
            this.txnCoordinator,
          );
          if (res.errorCode !== ErrorCode.NONE) {
            const severity = severityOf('EndTxn', res.errorCode);
            // Aborting, an unknown producer id needs no EndTxn: the epoch bump below ends it.
            if (commit || severity !== 'bump') throw this.failWith('EndTxn', res.errorCode, commit ? 'commit' : 'abort');
            this.epochBumpRequired = true;
          }
        }
        if (!commit && this.epochBumpRequired) await this.initProducerId(true);
      });
      this.added.clear();
      this.toAdd.clear();
      this.started = false;
      this.lastError = null;
      this.transition('READY');
    };
    const p = run().catch((e: unknown) => {
      throw this.settled(e);
    });
    this.completing = p.finally(() => (this.completing = null));
    return this.completing;
  }

  /** The transaction coordinator of our transactional id (looked up once, again after coordinator errors). */
  private readonly txnCoordinator = {
    get: async (): Promise<number> => {
      if (this.coordinatorId < 0) this.coordinatorId = await findCoordinator(this.host.cluster, CoordinatorKeyType.transaction, this.transactionalId);
      return this.coordinatorId;
    },
    forget: (): void => {
      this.coordinatorId = -1;
    },
  };

  /**
   * Send a request to a coordinator until its answer (`codes`: every error code in it) has no
   * retriable error, or maxBlockMs passes (TransactionTimeoutError). An answer with a non-retriable
   * error is returned for the caller to judge; a request that cannot be sent (no common version, a
   * non-retriable FindCoordinator answer) throws.
   */
  private async toCoordinator<Req, Res>(
    what: TxnRequest,
    apiKey: number,
    req: MessageCodec<Req>,
    res: MessageCodec<Res>,
    body: (version: number) => Init<Req>,
    codes: (r: Res) => number[],
    coordinator: { get(): Promise<number>; forget(): void },
    fastRetry?: (code: number) => boolean,
  ): Promise<Res> {
    const deadline = Date.now() + this.maxBlockMs;
    for (let attempt = 0; ; attempt++) {
      let why: Error;
      let wait: number | null = null;
      try {
        const node = await coordinator.get();
        const r = await this.host.cluster.send(node, apiKey, req, res, body);
        const errors = codes(r).filter((c) => c !== ErrorCode.NONE && c !== ErrorCode.OPERATION_NOT_ATTEMPTED);
        if (errors.length === 0 || errors.some((c) => !isRetriable(c))) return r;
        if (errors.some((c) => LOOKUP_AGAIN_CODES.has(c))) coordinator.forget();
        why = new KafkaProtocolError(errors[0]!, `${what} for transactional id ${this.transactionalId}`);
        if (fastRetry?.(errors[0]!)) wait = CONCURRENT_TRANSACTIONS_RETRY_MS;
      } catch (e) {
        if (!isRetriableError(e)) throw e;
        coordinator.forget();
        why = e as Error;
      }
      if (this.host.closed) throw new ClientClosedError('producer');
      wait ??= this.host.cluster.backoff(attempt);
      if (Date.now() + wait > deadline) {
        throw new TransactionTimeoutError(`${what} for transactional id ${this.transactionalId} did not succeed within maxBlockMs (${this.maxBlockMs} ms): ${why.message}`, { cause: why });
      }
      await sleep(wait);
    }
  }

  /** Run coordinator requests one at a time, in call order. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => {});
    return run;
  }

  // ------------------------------------------------------------------------------------------------
  // State
  // ------------------------------------------------------------------------------------------------

  private transition(target: TransactionState): void {
    const from = ENTERED_FROM[target];
    if (from !== 'any' && !from.includes(this.current)) {
      throw new TransactionStateError(`transactional id ${this.transactionalId}: invalid transition from state ${this.current} to state ${target}`);
    }
    this.current = target;
  }

  /** The error answer `code` of request `what`: the state change it causes; returns the error to throw. */
  private failWith(what: TxnRequest, code: number, detail: string): Error {
    const e = new KafkaProtocolError(code, `${what} ${detail}`);
    const severity = severityOf(what, code);
    if (severity === 'fatal') return this.fatal(e);
    if (severity === 'bump') this.epochBumpRequired = true;
    return this.abortable(e);
  }

  private fatal(e: Error): Error {
    if (this.current === 'FATAL_ERROR') return this.lastError!;
    this.judged.add(e);
    this.lastError = e;
    this.transition('FATAL_ERROR');
    this.host.failAll(e);
    return e;
  }

  private abortable(e: Error): Error {
    this.judged.add(e);
    // Already aborting (the abort is what the error asks for), beyond help, or already abortable
    // (the first error stays the reason). READY/UNINITIALIZED have no batches and no requests that
    // could fail this way.
    if (this.current !== 'IN_TRANSACTION' && this.current !== 'COMMITTING_TRANSACTION' && this.current !== 'INITIALIZING') return e;
    this.lastError = e;
    this.transition('ABORTABLE_ERROR');
    // Records not yet sent cannot be committed any more (Java's abortUndrainedBatches(lastError)).
    this.host.abortUnsent(e);
    return e;
  }

  /**
   * The error a failed call throws: errors whose state change is done (failWith, fatal, abortable),
   * timeouts and closing as they are; anything else unexpected (no common version, an unexpected
   * FindCoordinator answer) is fatal, as in the Java client.
   */
  private settled(e: unknown): Error {
    const err = e instanceof Error ? e : new Error(String(e));
    if (err instanceof TransactionTimeoutError || err instanceof ClientClosedError) return err;
    if (this.judged.has(err) || err instanceof TransactionStateError || err instanceof AbortableTransactionError) return err;
    return this.fatal(err);
  }

  private throwIfFatal(): void {
    if (this.current === 'FATAL_ERROR') throw this.lastError!;
  }

  /** Java's maybeFailWithError: a fatal error as it is; an abortable one wrapped (only abort works). */
  private throwIfError(): void {
    this.throwIfFatal();
    if (this.current === 'ABORTABLE_ERROR') {
      throw new AbortableTransactionError(`transactional id ${this.transactionalId}: the transaction must be aborted (abortTransaction())`, this.lastError!);
    }
  }
}

function severityOf(what: TxnRequest, code: number): Severity {
  const s = SEVERITY[what];
  return s.codes.get(code) ?? s.other;
}

/** Every error code of an AddPartitionsToTxn answer (v0-3: per partition). */
function addPartitionsCodes(r: AddPartitionsToTxnResponse): number[] {
  return [r.errorCode, ...r.resultsByTopicV3AndBelow.flatMap((t) => t.resultsByPartition.map((p) => p.partitionErrorCode))];
}

/** The first error code of an answer, OPERATION_NOT_ATTEMPTED (another partition's fault) last. */
function firstError(codes: number[]): number {
  const real = codes.find((c) => c !== ErrorCode.NONE && c !== ErrorCode.OPERATION_NOT_ATTEMPTED);
  if (real !== undefined) return real;
  return codes.includes(ErrorCode.OPERATION_NOT_ATTEMPTED) ? ErrorCode.OPERATION_NOT_ATTEMPTED : ErrorCode.NONE;
}
