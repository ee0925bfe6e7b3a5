/**
 * The producer: `send(topic, messages)` resolves with each record's partition and offset.
 *
 * Pipeline (one owner: this object on the event loop):
 *
 *   send() ─► partitioner ─► per-partition open batch ─(full, linger over, flush)─► ready queue
 *         ─► drain(): one batch per partition per request, grouped by leader, ≤ maxInFlightPerPartition
 *            requests in flight per partition ─► Produce ─► offsets back to each send() promise
 *
 * - Batching: a batch closes when it reaches batchSizeBytes, or lingerMs after its first record once
 *   its partition has room in flight (Kafka's batch.size / linger.ms; defaults 512 KiB / 0 ms). While
 *   a partition's in-flight requests are at the limit its open batch keeps filling, so load alone
 *   makes batches large without adding latency when the producer is idle.
 * - Memory: every record's size is reserved against bufferMemoryBytes before it is accepted, and
 *   released when its batch completes. A send() that does not fit waits (backpressure) up to
 *   maxBlockMs, then fails with BufferFullError; memory never exceeds the limit plus one record.
 * - Idempotence (default on, KIP-98): an InitProducerId producer id and epoch, a sequence number per
 *   partition stamped on each batch the first time it is sent and kept across retries, at most 5
 *   batches in flight per partition (the broker's duplicate window). A retried batch that the broker
 *   already wrote is answered as a duplicate with its original offset, never written twice.
 *   When the broker has forgotten the producer (UNKNOWN_PRODUCER_ID, e.g. after a restart of a
 *   broker that keeps producer state in memory) or a batch failed for good (leaving a sequence gap),
 *   the producer takes a new producer id and renumbers the batches not yet acknowledged.
 * - Retries: retriable errors and lost connections put the batch back at the head of its partition's
 *   queue in sequence order, with exponential backoff, until deliveryTimeoutMs after the batch was
 *   created. Leader and topic errors (NOT_LEADER_OR_FOLLOWER, UNKNOWN_TOPIC_OR_PARTITION, …) refresh
 *   metadata first. While a partition has a batch waiting for retry, no newer batch of it is sent,
 *   so records of one partition stay in order.
 * - acks: 0 (no response, offsets are -1), 1 (leader) or -1/'all'. Idempotence needs acks=all: when
 *   acks is set to 0 or 1 and idempotence is not asked for, it is turned off, as the Java client does;
 *   asking for both is a ConfigError.
 * - Transactions (`transactionalId`, KIP-98): initTransactions(), beginTransaction(), send(),
 *   sendOffsetsToTransaction(), commitTransaction() / abortTransaction(); the state machine and the
 *   coordinator requests are src/client/transactions.ts. Here: batches are marked transactional, a
 *   partition's batches wait until AddPartitionsToTxn has added it, the producer id and epoch come
 *   from initTransactions (never renewed behind the application's back: a sequence problem makes the
 *   transaction abortable instead), and on abort (or an abortable error) the batches never sent are
 *   dropped, their sequence numbers given back.
 */
import { Cluster, sleep, type ClusterOptions } from './cluster.js';
import { DefaultPartitioner, type Partitioner } from './partitioner.js';
import { BatchBuilder, type RecordHeader } from '../protocol/records/record.js';
import {
  BASE_SEQUENCE_OFFSET,
  PRODUCER_EPOCH_OFFSET,
  PRODUCER_ID_OFFSET,
  updateBatchCrc,
  writeInt64,
} from '../protocol/records/batch.js';
import { compressionFromName, type CompressionName, type CompressionType } from '../protocol/records/compression.js';
import { ApiKey, InitProducerIdRequest, InitProducerIdResponse, ProduceRequest, ProduceResponse } from '../protocol/messages/index.js';
import { TransactionManager, type TransactionHost, type TransactionOffset, type TransactionState } from './transactions.js';
import type { ConsumerGroupMetadata } from './group.js';
import { ErrorCode } from '../protocol/error-codes.js';
import {
  BufferFullError,
  ClientClosedError,
  ConfigError,
  DeliveryTimeoutError,
  KafkaClientError,
  KafkaProtocolError,
  RecordTooLargeError,
  isRetriableError,
} from './errors.js';

/** See ProducerOptions.batchSizeBytes. */
export const DEFAULT_BATCH_SIZE_BYTES = 512 * 1024;

export interface ProducerOptions extends ClusterOptions {
  /** 0, 1 or -1 / 'all' (default 'all'). */
  acks?: 0 | 1 | -1 | 'all';
  /** Idempotent delivery (default true; needs acks=all). */
  idempotent?: boolean;
  compression?: CompressionName;
  /** gzip: zlib level; zstd: level. */
  compressionLevel?: number;
  /**
   * Close a partition's batch at this size (Kafka's batch.size; default 512 KiB — the Java client's
   * is 16 KiB, librdkafka's 1 MB). Nothing is allocated up front: a batch holds only the records
   * given to it, and with lingerMs 0 a partition with room in flight sends what it has at once, so a
   * large limit only lets batches grow while earlier requests are in flight: fewer, larger requests
   * under load. Unkeyed records move to another partition after this many bytes (KIP-794).
   */
  batchSizeBytes?: number;
  /**
   * Wait this long for more records before sending a batch that is not full (linger.ms). Default 0:
   * send at once when the partition has room in flight; under load batches still grow while earlier
   * requests are in flight (Kafka 4.0's default is 5 ms; set it for fewer, larger batches).
   */
  lingerMs?: number;
  /** Produce requests in flight per partition (default 5; at most 5 with idempotence). */
  maxInFlightPerPartition?: number;
  /** Largest Produce request (max.request.size, default 1 MiB); a larger record is refused. */
  maxRequestBytes?: number;
  /** Bytes of records held before send() waits (buffer.memory, default 32 MiB). */
  bufferMemoryBytes?: number;
  /** How long send() may wait for metadata or buffer space (max.block.ms, default 60 s). */
  maxBlockMs?: number;
  /** Give up on a record this long after send() (delivery.timeout.ms, default 120 s). */
  deliveryTimeoutMs?: number;
  /** Retries per batch (default: unlimited within deliveryTimeoutMs). */
  retries?: number;
  /** Custom partitioner for records without an explicit partition. */
  partitioner?: Partitioner;
  /**
   * Make this a transactional producer (Kafka's transactional.id): records are sent only inside
   * beginTransaction() … commitTransaction()/abortTransaction(), after initTransactions(). Needs
   * idempotence and acks=all (the defaults).
   */
  transactionalId?: string;
  /** How long the coordinator lets a transaction stay open before aborting it (transaction.timeout.ms, default 60 s). */
  transactionTimeoutMs?: number;
}

export type HeaderValue = Buffer | string | null;

export interface ProducerMessage {
  key?: Buffer | string | null;
  value: Buffer | string | null;
  headers?: Readonly<Record<string, HeaderValue>> | readonly { key: string; value: HeaderValue }[];
  partition?: number;
  /** Create time in ms; default now. */
  timestamp?: number;
}

export interface RecordMetadata {
  topic: string;
  partition: number;
  /** The record's offset; -1 with acks=0. */
  offset: number;
  /** The record's timestamp: its create time, or the broker's append time on LogAppendTime topics. */
  timestamp: number;
}

/** Estimated bytes of a record inside a batch beyond its key, value and headers (varints, attributes). */
const RECORD_OVERHEAD_BYTES = 21;
/** Bytes of a Produce request around one partition's batch (batch header, topic and partition fields). */
const REQUEST_OVERHEAD_BYTES = 200;

class SendCall {
  readonly results: RecordMetadata[];
  remaining: number;
  failed = false;
  constructor(
    n: number,
    readonly resolve: (r: RecordMetadata[]) => void,
    readonly reject: (e: Error) => void,
  ) {
    this.results = new Array(n);
    this.remaining = n;
  }
}

class Batch {
  /** Its records, encoded as they are appended (null once the batch is encoded for sending). */
  builder: BatchBuilder | null;
  calls: SendCall[] = [];
  indexes: number[] = [];
  timestamps: number[] = [];
  /** Size estimate of the batch in a request. */
  bytes = REQUEST_OVERHEAD_BYTES;
  /** Buffer memory reserved for its records (released when the batch completes). */
  reserved = 0;
  count = 0;
  encoded: Buffer | null = null;
  baseSequence = -1;
  /** Producer id generation the sequence belongs to. */
  pidGeneration = -1;
  attempts = 0;
  retryAt = 0;
  readonly deadline: number;
  done = false;
  private waiters: (() => void)[] | null = null;
  constructor(
    readonly tp: PartitionState,
    readonly createdAt: number,
    deliveryTimeoutMs: number,
    initialBytes: number,
  ) {
    this.deadline = createdAt + deliveryTimeoutMs;
    this.builder = new BatchBuilder(initialBytes);
  }
  whenDone(): Promise<void> {
    if (this.done) return Promise.resolve();
    return new Promise((r) => (this.waiters ??= []).push(r));
  }
  finish(): void {
    this.done = true;
    this.builder = null;
    this.encoded = null;
    if (this.waiters) for (const w of this.waiters.splice(0)) w();
  }
}

class PartitionState {
  open: Batch | null = null;
  readonly queue: Batch[] = [];
  readonly inFlightBatches = new Set<Batch>();
  nextSequence = 0;
  sequenceGeneration = -1;
  /** A batch failed and waits for retry: send nothing newer until the partition's requests are back. */
  retrying = false;
  /** Encoded bytes of the partition's last batch: the next one's buffer starts at about that size. */
  lastBatchBytes = 0;
  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {}
  get idle(): boolean {
    return this.open === null && this.queue.length === 0 && this.inFlightBatches.size === 0;
  }
}

export class Producer {
  readonly cluster: Cluster;
  private readonly acks: number;
  private readonly idempotent: boolean;
  private readonly compression: CompressionType;
  private readonly compressionLevel: number | undefined;
  private readonly batchSizeBytes: number;
  private readonly lingerMs: number;
  private readonly maxInFlight: number;
  private readonly maxRequestBytes: number;
  private readonly bufferMemoryBytes: number;
  private readonly maxBlockMs: number;
  private readonly deliveryTimeoutMs: number;
  private readonly retries: number;
  private readonly customPartitioner: Partitioner | undefined;
  private readonly partitioner: DefaultPartitioner;
  /** Per topic, its partitions' state by partition number. */
  private readonly partitions = new Map<string, PartitionState[]>();
  private readonly active = new Set<PartitionState>();
  private bufferedBytes = 0;
  private readonly memoryWaiters: { bytes: number; resolve: () => void }[] = [];
  private producerId = -1;
  private producerEpoch = -1;
  private pidGeneration = 0;
  private pidPromise: Promise<void> | null = null;
  private pidResetNeeded = false;
  private drainScheduled = false;
  private draining = false;
  private drainAgain = false;
  private lingerTimer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private flushAll = false;
  private closed = false;
  private metadataRefreshing = false;
  private fatalError: Error | null = null;
  /** send() calls that have not yet put all their records into batches. */
  private readonly appending = new Set<Promise<void>>();
  /** The transaction state machine of a transactional producer. */
  private readonly txn: TransactionManager | null;

  constructor(opts: ProducerOptions) {
    this.cluster = new Cluster(opts);
    const acks = opts.acks === 'all' || opts.acks === undefined ? -1 : opts.acks;
    if (acks !== 0 && acks !== 1 && acks !== -1) throw new ConfigError(`acks must be 0, 1, -1 or 'all', not ${String(opts.acks)}`);
    this.acks = acks;
    if (opts.idempotent === true && acks !== -1) throw new ConfigError('an idempotent producer needs acks=all (-1)');
    this.idempotent = opts.idempotent ?? acks === -1;
    const compression = compressionFromName(opts.compression ?? 'none');
    if (compression === undefined) throw new ConfigError(`unknown compression ${String(opts.compression)}`);
    this.compression = compression;
    this.compressionLevel = opts.compressionLevel;
    this.batchSizeBytes = opts.batchSizeBytes ?? DEFAULT_BATCH_SIZE_BYTES;
    this.lingerMs = opts.lingerMs ?? 0;
    this.maxInFlight = opts.maxInFlightPerPartition ?? 5;
    if (this.idempotent && this.maxInFlight > 5) throw new ConfigError('an idempotent producer allows at most 5 requests in flight per partition');
    if (this.maxInFlight < 1) throw new ConfigError('maxInFlightPerPartition must be at least 1');
    this.maxRequestBytes = opts.maxRequestBytes ?? 1_048_576;
    this.bufferMemoryBytes = opts.bufferMemoryBytes ?? 32 * 1024 * 1024;
    this.maxBlockMs = opts.maxBlockMs ?? 60_000;
    this.deliveryTimeoutMs = opts.deliveryTimeoutMs ?? 120_000;
    this.retries = opts.retries ?? Infinity;
    this.customPartitioner = opts.partitioner;
    this.partitioner = new DefaultPartitioner(this.batchSizeBytes);
    this.txn = null;
    if (opts.transactionalId !== undefined) {
      // As the Java client: a transactional producer is idempotent, which needs acks=all.
      if (opts.idempotent === false) throw new ConfigError('a transactional producer needs idempotence (idempotent must not be false)');
      if (acks !== -1) throw new ConfigError('a transactional producer needs acks=all (-1)');
      const timeout = opts.transactionTimeoutMs ?? 60_000;
      if (!Number.isInteger(timeout) || timeout <= 0) throw new ConfigError(`transactionTimeoutMs must be a positive integer, not ${String(opts.transactionTimeoutMs)}`);
      this.txn = new TransactionManager(this.transactionHost(), { transactionalId: opts.transactionalId, transactionTimeoutMs: timeout, maxBlockMs: this.maxBlockMs });
    }
  }

  /** Bytes of records accepted and not yet acknowledged (bounded by bufferMemoryBytes). */
  get bufferedBytesNow(): number {
    return this.bufferedBytes;
  }

  /** The producer id and epoch in use (idempotent producers), for tests and diagnostics. */
  get producerIdentity(): { producerId: number; producerEpoch: number } {
    return { producerId: this.producerId, producerEpoch: this.producerEpoch };
  }

  /**
   * Connect and (idempotent) obtain a producer id. Optional: send() does it on first use. A
   * transactional producer obtains its id in initTransactions() instead.
   */
  async connect(): Promise<void> {
    if (this.closed) throw new ClientClosedError('producer');
    await this.cluster.anyConnection();
    if (this.idempotent && !this.txn) await this.ensureProducerId();
  }

  // ------------------------------------------------------------------------------------------------
  // Transactions (src/client/transactions.ts)
  // ------------------------------------------------------------------------------------------------

  /** The transaction state (Java's TransactionManager states), or null for a non-transactional producer. */
  get transactionState(): TransactionState | null {
    return this.txn?.state ?? null;
  }

  /**
   * Register the transactional id with its coordinator (FindCoordinator, InitProducerId): the
   * producer id and a new epoch, which fences any earlier producer with the same id and aborts its
   * open transaction. Once, before the first transaction.
   */
  async initTransactions(): Promise<void> {
    const txn = this.transactional('initTransactions');
    if (this.closed) throw new ClientClosedError('producer');
    await txn.initTransactions();
  }

  /** Start a transaction: send() is allowed until commitTransaction() or abortTransaction(). */
  beginTransaction(): void {
    this.transactional('beginTransaction').beginTransaction();
  }

  /**
   * Commit a consumer group's offsets (the next offsets to consume) with the transaction: they become
   * the group's committed offsets only if it commits (read-process-write, exactly once). `group` is
   * the consuming Consumer's groupMetadata(), so a consumer fenced by a rebalance cannot commit
   * (KIP-447); a group id alone commits without that check.
   */
  async sendOffsetsToTransaction(offsets: readonly TransactionOffset[], group: ConsumerGroupMetadata | string): Promise<void> {
    const txn = this.transactional('sendOffsetsToTransaction');
    const meta = typeof group === 'string' ? { groupId: group, generationId: -1, memberId: '', groupInstanceId: null } : group;
    await txn.sendOffsets(offsets, meta);
  }

  /** Send every record of the transaction, then commit it. */
  async commitTransaction(): Promise<void> {
    await this.transactional('commitTransaction').commitTransaction();
  }

  /** Abort the transaction: records not sent yet are dropped, the sent ones hidden from read_committed readers. */
  async abortTransaction(): Promise<void> {
    await this.transactional('abortTransaction').abortTransaction();
  }

  private transactional(method: string): TransactionManager {
    if (!this.txn) throw new ConfigError(`${method}() needs a transactional producer (the transactionalId option)`);
    return this.txn;
  }

  private transactionHost(): TransactionHost {
    const producer = this; // for the getter, which has its own `this`
    return {
      cluster: this.cluster,
      get closed(): boolean {
        return producer.closed;
      },
      identity: () => ({ producerId: this.producerId, producerEpoch: this.producerEpoch }),
      setIdentity: (producerId: number, producerEpoch: number) => {
        this.producerId = producerId;
        this.producerEpoch = producerEpoch;
        this.pidGeneration++;
      },
      flush: () => this.flush(),
      abortUnsent: (e: Error) => this.abortUnsent(e),
      settleSent: () => this.settleSent(),
      failAll: (e: Error) => this.failEverything(e),
      wake: () => this.scheduleDrain(),
    };
  }

  /**
   * Fail every batch not sent yet with `e` (Java's abortUndrainedBatches). Batches sent at least once
   * stay (their outcome decides the sequence); those never sent are the end of their partition's
   * sequence, so the next sequence goes back to the first of them.
   */
  private abortUnsent(e: Error): void {
    for (const tp of this.active) {
      if (tp.open) this.closeOpen(tp);
      let rollback = -1;
      const kept: Batch[] = [];
      for (const b of tp.queue) {
        if (b.attempts > 0) {
          kept.push(b);
          continue;
        }
        if (rollback < 0 && b.baseSequence >= 0 && b.pidGeneration === this.pidGeneration) rollback = b.baseSequence;
        this.failBatch(b, e);
      }
      tp.queue.splice(0, tp.queue.length, ...kept);
      if (rollback >= 0) tp.nextSequence = rollback;
    }
  }

  /** Wait until every batch that was sent is acknowledged or failed (queued retries included). */
  private async settleSent(): Promise<void> {
    const pending: Promise<void>[] = [];
    for (const tp of this.active) {
      for (const b of tp.queue) pending.push(b.whenDone());
      for (const b of tp.inFlightBatches) pending.push(b.whenDone());
    }
    this.scheduleDrain();
    await Promise.all(pending);
  }

  send(topic: string, message: ProducerMessage): Promise<RecordMetadata>;
  send(topic: string, messages: readonly ProducerMessage[]): Promise<RecordMetadata[]>;
  async send(topic: string, input: ProducerMessage | readonly ProducerMessage[]): Promise<RecordMetadata | RecordMetadata[]> {
    const single = !Array.isArray(input);
    const messages = single ? [input as ProducerMessage] : (input as readonly ProducerMessage[]);
    // flush() must see records whose send() is still waiting for metadata or memory.
    let appended!: () => void;
    const entered = new Promise<void>((r) => (appended = r));
    this.appending.add(entered);
    const results = this.sendMany(topic, messages, () => {
      this.appending.delete(entered);
      appended();
    });
    const r = await results;
    return single ? r[0]! : r;
  }

  private async sendMany(topic: string, messages: readonly ProducerMessage[], appended: () => void): Promise<RecordMetadata[]> {
    let acked: { promise: Promise<RecordMetadata[]> };
    try {
      acked = await this.appendAll(topic, messages);
    } finally {
      appended();
    }
    return acked.promise;
  }

  /** Put the records into batches; resolves once they are all in (with the promise of their offsets). */
  private async appendAll(topic: string, messages: readonly ProducerMessage[]): Promise<{ promise: Promise<RecordMetadata[]> }> {
    if (this.closed) throw new ClientClosedError('producer');
    if (this.fatalError) throw this.fatalError;
    const transaction = this.txn?.failIfNotReadyForSend() ?? -1;
    if (messages.length === 0) return { promise: Promise.resolve([]) };
    const blockDeadline = Date.now() + this.maxBlockMs;
    const info = await this.cluster.topic(topic, blockDeadline);
    // The transaction may have been aborted (or failed) while we waited for metadata.
    this.txn?.failIfTransactionMoved(transaction);
    let numPartitions = info.partitions.length;
    let available: number[] | null = null;
    let resolveCall!: (r: RecordMetadata[]) => void;
    let rejectCall!: (e: Error) => void;
    const promise = new Promise<RecordMetadata[]>((res, rej) => {
      resolveCall = res;
      rejectCall = rej;
    });
    const call = new SendCall(messages.length, resolveCall, rejectCall);
    const now = Date.now();
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i]!;
      // No object per record: its fields go straight into the partition's batch (BatchBuilder).
      const key = toBuffer(m.key);
      const value = toBuffer(m.value);
      const headers = m.headers ? toHeaders(m.headers) : undefined;
      const timestamp = m.timestamp ?? now;
      const bytes = recordBytes(key, value, headers);
      // Checked before anything is reserved: the batch builder would refuse the record (RangeError, TypeError).
      const invalid = invalidRecord(timestamp, headers);
      if (invalid) {
        this.failCall(call, invalid);
        break;
      }
      if (bytes + REQUEST_OVERHEAD_BYTES > this.maxRequestBytes) {
        this.failCall(call, new RecordTooLargeError(`a record of ${bytes} bytes is larger than maxRequestBytes (${this.maxRequestBytes})`));
        break;
      }
      if (bytes > this.bufferMemoryBytes) {
        this.failCall(call, new RecordTooLargeError(`a record of ${bytes} bytes is larger than bufferMemoryBytes (${this.bufferMemoryBytes})`));
        break;
      }
      if (this.bufferedBytes + bytes > this.bufferMemoryBytes) {
        try {
          await this.reserveSlow(bytes, blockDeadline);
        } catch (e) {
          this.failCall(call, e as Error);
          break;
        }
        if (this.closed) {
          this.failCall(call, new ClientClosedError('producer'));
          break;
        }
        const refused = this.txnRefusal(transaction);
        if (refused) {
          this.release(bytes);
          this.failCall(call, refused);
          break;
        }
        numPartitions = this.cluster.topics.get(topic)?.partitions.length ?? numPartitions;
        available = null;
      } else {
        this.bufferedBytes += bytes;
      }
      let partition: number;
      if (m.partition !== undefined) {
        partition = m.partition;
        if (!Number.isInteger(partition) || partition < 0 || partition >= numPartitions) {
          this.bufferedBytes -= bytes;
          this.wakeMemoryWaiters();
          this.failCall(call, new KafkaProtocolError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `partition ${partition} of ${topic} does not exist (${numPartitions} partitions)`));
          break;
        }
      } else {
        available ??= availablePartitions(this.cluster, topic);
        partition = this.customPartitioner
          ? this.customPartitioner({ topic, key, numPartitions, availablePartitions: available })
          : this.partitioner.partitionOf(topic, key, numPartitions, available, bytes);
      }
      this.append(topic, partition, key, value, headers, timestamp, bytes, call, i, now);
    }
    this.scheduleDrain();
    return { promise };
  }

  /** Why a transactional producer cannot take records of `transaction` now (null when it can, or is not transactional). */
  private txnRefusal(transaction: number): Error | null {
    try {
      this.txn?.failIfTransactionMoved(transaction);
      return null;
    } catch (e) {
      return e as Error;
    }
  }

  private append(topic: string, partition: number, key: Buffer | null, value: Buffer | null, headers: RecordHeader[] | undefined, timestamp: number, bytes: number, call: SendCall, index: number, now: number): void {
    let byPartition = this.partitions.get(topic);
    if (!byPartition) this.partitions.set(topic, (byPartition = []));
    let tp = byPartition[partition];
    if (!tp) byPartition[partition] = tp = new PartitionState(topic, partition);
    let b = tp.open;
    if (b && b.count > 0 && (b.bytes + bytes > this.batchSizeBytes || b.bytes + bytes > this.maxRequestBytes)) {
      this.closeOpen(tp);
      b = null;
    }
    if (!b) {
      // Sized like the partition's last batch, so that a steady stream rarely grows the buffer.
      const initialBytes = Math.min(Math.max(tp.lastBatchBytes, 4096), this.batchSizeBytes + bytes);
      b = new Batch(tp, now, this.deliveryTimeoutMs, initialBytes);
      tp.open = b;
      this.active.add(tp);
      this.armLinger();
    }
    this.txn?.maybeAddPartition(topic, partition);
    b.builder!.append(key, value, headers, timestamp);
    b.calls.push(call);
    b.indexes.push(index);
    b.timestamps.push(timestamp);
    b.bytes += bytes;
    b.reserved += bytes;
    b.count++;
    if (b.bytes >= this.batchSizeBytes) {
      this.closeOpen(tp);
      this.scheduleDrain();
    }
  }

  private closeOpen(tp: PartitionState): void {
    const b = tp.open;
    if (!b) return;
    tp.open = null;
    tp.queue.push(b);
  }

  private async reserveSlow(bytes: number, deadline: number): Promise<void> {
    // Waiting for memory: send what is buffered now rather than let the linger timer hold it.
    this.flushAll = true;
    this.scheduleDrain();
    await new Promise<void>((resolve, reject) => {
      const waiter = { bytes, resolve: () => resolve() };
      const left = deadline - Date.now();
      const timer = setTimeout(() => {
        const i = this.memoryWaiters.indexOf(waiter);
        if (i >= 0) {
          this.memoryWaiters.splice(i, 1);
          reject(new BufferFullError(`no room for ${bytes} bytes in bufferMemoryBytes (${this.bufferMemoryBytes}) within maxBlockMs (${this.maxBlockMs})`));
        }
      }, Math.max(0, left));
      waiter.resolve = () => {
        clearTimeout(timer);
        resolve();
      };
      this.memoryWaiters.push(waiter);
      this.wakeMemoryWaiters();
    });
  }

  /** Hand freed memory to waiting send() calls, oldest first (the waiter's bytes are reserved here). */
  private wakeMemoryWaiters(): void {
    while (this.memoryWaiters.length > 0) {
      const w = this.memoryWaiters[0]!;
      if (this.bufferedBytes + w.bytes > this.bufferMemoryBytes && !this.closed) return;
      this.memoryWaiters.shift();
      this.bufferedBytes += w.bytes;
      w.resolve();
    }
  }

  private release(bytes: number): void {
    this.bufferedBytes -= bytes;
    if (this.memoryWaiters.length > 0) this.wakeMemoryWaiters();
  }

  private failCall(call: SendCall, e: Error): void {
    if (call.failed) return;
    call.failed = true;
    call.reject(e);
  }

  // ------------------------------------------------------------------------------------------------
  // Sender
  // ------------------------------------------------------------------------------------------------

  private armLinger(): void {
    if (this.lingerTimer || this.lingerMs === 0) return;
    this.lingerTimer = setTimeout(() => {
      this.lingerTimer = null;
      this.scheduleDrain();
    }, this.lingerMs);
  }

  private scheduleDrain(): void {
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    setImmediate(() => {
      this.drainScheduled = false;
      void this.drain();
    });
  }

  private async drain(): Promise<void> {
    if (this.draining) {
      this.drainAgain = true;
      return;
    }
    this.draining = true;
    try {
      do {
        this.drainAgain = false;
        await this.drainOnce();
      } while (this.drainAgain);
    } catch (e) {
      // A bug or a fatal producer-id failure: fail what is buffered rather than hang.
      this.failEverything(e instanceof Error ? e : new Error(String(e)));
    } finally {
      this.draining = false;
    }
  }

  /** One round: close the batches that may go, pick one per partition, encode and send them per leader. */
  private async drainOnce(): Promise<void> {
    const now = Date.now();
    this.closeReadyBatches(now);
    if (this.idempotent && !this.txn) {
      await this.ensureProducerId();
      if (this.closedAndEmpty()) return;
    }
    const byLeader = this.pickBatches(now);
    if (byLeader.size === 0) return;
    await this.encodeAndSend(byLeader);
  }

  /**
   * Close open batches that can go now: linger over (or flush), and room in flight for the
   * partition. A batch that cannot be sent yet stays open and keeps filling (up to batchSizeBytes),
   * so a busy partition sends fewer, larger batches — as the Java client's accumulator does, where a
   * batch takes records until it is drained. Arms the linger timer for the rest.
   */
  private closeReadyBatches(now: number): void {
    let nextLinger = Infinity;
    const flushAll = this.flushAll;
    this.flushAll = false;
    for (const tp of this.active) {
      const b = tp.open;
      if (!b) continue;
      const sendable = tp.queue.length === 0 && tp.inFlightBatches.size < this.maxInFlight && !tp.retrying;
      if (flushAll) this.closeOpen(tp);
      else if (now - b.createdAt >= this.lingerMs) {
        if (sendable) this.closeOpen(tp);
      } else nextLinger = Math.min(nextLinger, b.createdAt + this.lingerMs);
    }
    if (nextLinger !== Infinity && !this.lingerTimer) {
      this.lingerTimer = setTimeout(() => {
        this.lingerTimer = null;
        this.scheduleDrain();
      }, Math.max(1, nextLinger - now));
    }
  }

  /** At most one batch per partition for this round (now in flight), grouped by the partition's leader. */
  private pickBatches(now: number): Map<number, Batch[]> {
    const byLeader = new Map<number, Batch[]>();
    const sizes = new Map<number, number>();
    let needMetadata = false;
    let needPartitionsAdded = false;
    let nextRetry = Infinity;
    for (const tp of this.active) {
      if (tp.idle) {
        this.active.delete(tp);
        continue;
      }
      this.expire(tp, now);
      const head = tp.queue[0];
      if (!head) continue;
      // KIP-98: a partition's first batch of a transaction waits until AddPartitionsToTxn added it.
      if (this.txn && !this.txn.isSendAllowed(tp.topic, tp.partition)) {
        needPartitionsAdded = true;
        continue;
      }
      if (tp.inFlightBatches.size >= this.maxInFlight) continue;
      if (tp.retrying && tp.inFlightBatches.size > 0) continue;
      if (head.retryAt > now) {
        nextRetry = Math.min(nextRetry, head.retryAt);
        continue;
      }
      const leader = this.cluster.topics.get(tp.topic)?.partitions[tp.partition]?.leader ?? -1;
      if (leader < 0) {
        needMetadata = true;
        continue;
      }
      const size = sizes.get(leader) ?? 0;
      if (size > 0 && size + head.bytes > this.maxRequestBytes) {
        this.drainAgain = true;
        continue;
      }
      if (this.idempotent && head.pidGeneration !== this.pidGeneration && !this.stampSequences(tp)) continue;
      tp.queue.shift();
      tp.inFlightBatches.add(head);
      tp.retrying = false;
      sizes.set(leader, size + head.bytes);
      let list = byLeader.get(leader);
      if (!list) byLeader.set(leader, (list = []));
      list.push(head);
    }
    if (needMetadata) this.refreshMetadataSoon();
    if (needPartitionsAdded) this.txn!.addPartitionsSoon();
    if (nextRetry !== Infinity) this.armRetry(nextRetry - now);
    return byLeader;
  }

  /**
   * Number the partition's queued batches under the current producer id; false when the partition
   * must wait for answers to the old id first.
   */
  private stampSequences(tp: PartitionState): boolean {
    if (tp.sequenceGeneration !== this.pidGeneration) {
      // A new producer id: this partition's sequence starts again at 0, once every answer to
      // the old id is back (nothing of the partition in flight), and every batch not yet
      // acknowledged is renumbered under the new id.
      if (tp.inFlightBatches.size > 0) return false;
      tp.sequenceGeneration = this.pidGeneration;
      tp.nextSequence = 0;
      for (const q of tp.queue) q.pidGeneration = -1;
    }
    // Number every unstamped batch of the queue in order (new batches while others are in flight).
    for (const q of tp.queue) {
      if (q.pidGeneration === this.pidGeneration) continue;
      q.pidGeneration = this.pidGeneration;
      q.baseSequence = tp.nextSequence;
      tp.nextSequence = (tp.nextSequence + q.count) % 0x80000000;
      if (q.encoded) this.restamp(q);
    }
    return true;
  }

  /** Encode (compression may run on the thread pool) and send, one request per leader. */
  private async encodeAndSend(byLeader: Map<number, Batch[]>): Promise<void> {
    const encodes: Promise<void>[] = [];
    for (const list of byLeader.values()) for (const b of list) if (!b.encoded) encodes.push(this.encode(b));
    if (encodes.length > 0) await Promise.all(encodes);
    for (const [leader, list] of byLeader) this.sendRequest(leader, list);
    // More may be sendable right away (other batches queued behind these, in-flight room left).
    for (const tp of this.active) {
      if (tp.queue.length > 0 && tp.inFlightBatches.size < this.maxInFlight && !tp.retrying && (!this.txn || this.txn.isSendAllowed(tp.topic, tp.partition))) this.drainAgain = true;
    }
  }

  private closedAndEmpty(): boolean {
    return this.closed && this.active.size === 0;
  }

  private async encode(b: Batch): Promise<void> {
    const builder = b.builder!;
    b.tp.lastBatchBytes = builder.sizeInBytes;
    b.encoded = await builder.finish({
      compression: this.compression,
      ...(this.compressionLevel !== undefined ? { compressionLevel: this.compressionLevel } : {}),
      producerId: this.idempotent ? this.producerId : -1,
      producerEpoch: this.idempotent ? this.producerEpoch : -1,
      baseSequence: this.idempotent ? b.baseSequence : -1,
      isTransactional: this.txn !== null,
    });
    b.builder = null; // the encoded batch is all we need from now on
  }

  /** Write a new producer id, epoch and base sequence into an encoded batch and fix its CRC. */
  private restamp(b: Batch): void {
    const buf = b.encoded!;
    writeInt64(buf, PRODUCER_ID_OFFSET, this.producerId);
    buf.writeInt16BE(this.producerEpoch, PRODUCER_EPOCH_OFFSET);
    buf.writeInt32BE(b.baseSequence, BASE_SEQUENCE_OFFSET);
    updateBatchCrc(buf);
  }

  private expire(tp: PartitionState, now: number): void {
    while (tp.queue.length > 0 && tp.queue[0]!.deadline <= now) {
      const b = tp.queue.shift()!;
      const sequenced = b.pidGeneration === this.pidGeneration && b.baseSequence >= 0;
      const e = new DeliveryTimeoutError(`${b.count} record(s) for ${tp.topic}-${tp.partition} expired after ${this.deliveryTimeoutMs} ms`);
      if (this.txn) this.txn.onBatchFailed(e, sequenced);
      else if (sequenced) this.pidResetNeeded = true;
      this.failBatch(b, e);
    }
  }

  private sendRequest(leader: number, batches: Batch[]): void {
    const topics = new Map<string, { index: number; records: Buffer }[]>();
    for (const b of batches) {
      let l = topics.get(b.tp.topic);
      if (!l) topics.set(b.tp.topic, (l = []));
      l.push({ index: b.tp.partition, records: b.encoded! });
      b.attempts++;
    }
    const body = {
      transactionalId: this.txn?.transactionalId ?? null,
      acks: this.acks,
      timeoutMs: this.cluster.requestTimeoutMs,
      topicData: [...topics].map(([name, partitionData]) => ({ name, partitionData })),
    };
    const expectResponse = this.acks !== 0;
    this.cluster
      .send(leader, ApiKey.Produce, ProduceRequest, ProduceResponse, body, { expectResponse })
      .then(
        (res) => {
          if (!expectResponse) {
            for (const b of batches) this.completeBatch(b, -1, -1);
            return;
          }
          this.onResponse(batches, res);
        },
        (e: unknown) => {
          for (const b of batches) this.onBatchError(b, e instanceof Error ? e : new Error(String(e)));
        },
      )
      .finally(() => this.scheduleDrain());
  }

  private onResponse(batches: Batch[], res: ProduceResponse): void {
    const byKey = new Map<string, ProduceResponse['responses'][number]['partitionResponses'][number]>();
    for (const t of res.responses) for (const p of t.partitionResponses) byKey.set(`${t.name}\u0000${p.index}`, p);
    for (const b of batches) {
      const p = byKey.get(`${b.tp.topic}\u0000${b.tp.partition}`);
      if (!p) {
        this.onBatchError(b, new KafkaProtocolError(ErrorCode.UNKNOWN_SERVER_ERROR, `no answer for ${b.tp.topic}-${b.tp.partition}`));
        continue;
      }
      if (p.errorCode === ErrorCode.NONE || p.errorCode === ErrorCode.DUPLICATE_SEQUENCE_NUMBER) {
        this.completeBatch(b, Number(p.baseOffset), Number(p.logAppendTimeMs));
      } else {
        const detail = p.errorMessage ?? (p.recordErrors.length ? p.recordErrors.map((r) => `record ${r.batchIndex}: ${r.batchIndexErrorMessage}`).join('; ') : null);
        this.onBatchError(b, new KafkaProtocolError(p.errorCode, detail ? `${b.tp.topic}-${b.tp.partition}: ${detail}` : `${b.tp.topic}-${b.tp.partition}`));
      }
    }
  }

  private completeBatch(b: Batch, baseOffset: number, logAppendTime: number): void {
    const tp = b.tp;
    tp.inFlightBatches.delete(b);
    const calls = b.calls;
    const indexes = b.indexes;
    for (let i = 0; i < calls.length; i++) {
      const call = calls[i]!;
      if (call.failed) continue;
      call.results[indexes[i]!] = {
        topic: tp.topic,
        partition: tp.partition,
        offset: baseOffset < 0 ? -1 : baseOffset + i,
        timestamp: logAppendTime >= 0 ? logAppendTime : b.timestamps[i]!,
      };
      if (--call.remaining === 0) call.resolve(call.results);
    }
    this.release(b.reserved);
    b.finish();
  }

  private failBatch(b: Batch, e: Error): void {
    b.tp.inFlightBatches.delete(b);
    for (const call of b.calls) this.failCall(call, e);
    this.release(b.reserved);
    b.finish();
  }

  private onBatchError(b: Batch, e: Error): void {
    const tp = b.tp;
    tp.inFlightBatches.delete(b);
    const code = e instanceof KafkaProtocolError ? e.errorCode : -2;
    const now = Date.now();
    // A later batch refused because an earlier one of the same partition is being retried.
    const earlierPending = tp.queue.some((q) => q.baseSequence >= 0 && q.baseSequence < b.baseSequence && q.pidGeneration === b.pidGeneration) || [...tp.inFlightBatches].some((q) => q.baseSequence < b.baseSequence);
    // Retriable: Kafka's retriable codes, lost connections and timeouts (idempotence makes the
    // resend safe). Anything else — a fatal code, an unsupported version, a closed client — is final.
    let retry = isRetriableError(e);
    if (this.idempotent && code === ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER && earlierPending) retry = true;
    // (A transactional producer keeps its id: these errors make its transaction abortable, below.)
    if (this.idempotent && !this.txn && (code === ErrorCode.UNKNOWN_PRODUCER_ID || (code === ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER && !earlierPending) || code === ErrorCode.INVALID_PRODUCER_EPOCH)) {
      // The broker lost (or never had) our state: new producer id, renumber what is not acknowledged.
      this.pidResetNeeded = true;
      retry = true;
    }
    if (this.closed && this.fatalError) retry = false;
    if (retry && b.attempts <= this.retries && now + this.cluster.backoff(b.attempts) < b.deadline) {
      b.retryAt = now + this.cluster.backoff(b.attempts - 1);
      // Back in its place: in sequence order (unstamped batches after stamped ones, in arrival order).
      let i = 0;
      while (i < tp.queue.length && tp.queue[i]!.baseSequence >= 0 && tp.queue[i]!.pidGeneration === b.pidGeneration && tp.queue[i]!.baseSequence < b.baseSequence) i++;
      tp.queue.splice(i, 0, b);
      tp.retrying = true;
      this.active.add(tp);
      if (code === -2 || Cluster.needsMetadataRefresh(code)) this.refreshMetadataSoon();
      this.armRetry(b.retryAt - now);
      return;
    }
    const err = retry && e instanceof KafkaClientError ? new DeliveryTimeoutError(`gave up on ${b.count} record(s) for ${tp.topic}-${tp.partition} after ${b.attempts} attempt(s): ${e.message}`, { cause: e }) : e;
    // The failed batch leaves a gap in the sequence: a new producer id, or (transactions) an
    // abortable transaction whose abort bumps the epoch.
    if (this.txn) this.txn.onBatchFailed(err, b.pidGeneration === this.pidGeneration && b.baseSequence >= 0);
    else if (this.idempotent) this.pidResetNeeded = true;
    this.failBatch(b, err);
  }

  private armRetry(delayMs: number): void {
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.scheduleDrain();
    }, Math.max(1, delayMs));
  }

  private refreshMetadataSoon(): void {
    if (this.metadataRefreshing || this.cluster.isClosed) return;
    this.metadataRefreshing = true;
    this.cluster
      .refreshMetadata()
      .catch(() => {})
      .finally(() => {
        this.metadataRefreshing = false;
        this.scheduleDrain();
      });
  }

  private async ensureProducerId(): Promise<void> {
    if (this.producerId >= 0 && !this.pidResetNeeded) return;
    if (!this.pidPromise) {
      this.pidPromise = (async () => {
        // Only renumber when nothing is in flight: answers to the old id must come back first.
        while (this.pidResetNeeded && this.anyInFlight()) await sleep(5);
        this.pidResetNeeded = false;
        const res = await this.cluster.retry(
          () => this.cluster.send(undefined, ApiKey.InitProducerId, InitProducerIdRequest, InitProducerIdResponse, { transactionalId: null, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 }).then((r) => {
            if (r.errorCode !== ErrorCode.NONE) throw new KafkaProtocolError(r.errorCode, 'InitProducerId');
            return r;
          }),
          { deadline: Date.now() + this.maxBlockMs },
        );
        this.producerId = Number(res.producerId);
        this.producerEpoch = res.producerEpoch;
        this.pidGeneration++;
      })().finally(() => {
        this.pidPromise = null;
      });
    }
    await this.pidPromise;
  }

  private anyInFlight(): boolean {
    for (const tp of this.active) if (tp.inFlightBatches.size > 0) return true;
    return false;
  }

  private failEverything(e: Error): void {
    this.fatalError = e;
    for (const tp of this.active) {
      if (tp.open) this.closeOpen(tp);
      for (const b of tp.queue.splice(0)) this.failBatch(b, e);
    }
  }

  // ------------------------------------------------------------------------------------------------
  // flush / close
  // ------------------------------------------------------------------------------------------------

  /** Send everything buffered now and wait until each of those records is acknowledged or failed. */
  async flush(): Promise<void> {
    while (this.appending.size > 0) await Promise.all([...this.appending]);
    const pending: Promise<void>[] = [];
    for (const tp of this.active) {
      if (tp.open) pending.push(tp.open.whenDone());
      for (const b of tp.queue) pending.push(b.whenDone());
      for (const b of tp.inFlightBatches) pending.push(b.whenDone());
    }
    this.flushAll = true;
    this.scheduleDrain();
    await Promise.all(pending);
  }

  /**
   * Flush, then close the connections. With `timeoutMs`, records still unsent after it fail with
   * ClientClosedError. Calling close() twice is harmless.
   */
  async close(opts: { timeoutMs?: number } = {}): Promise<void> {
    if (this.closed) return;
    const timeoutMs = opts.timeoutMs ?? this.deliveryTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.flush(), new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
    this.closed = true;
    this.failEverything(new ClientClosedError('producer'));
    for (const w of this.memoryWaiters.splice(0)) w.resolve();
    for (const tp of this.active) for (const b of [...tp.inFlightBatches]) this.failBatch(b, new ClientClosedError('producer'));
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.cluster.close();
  }
}

function toBuffer(v: Buffer | string | null | undefined): Buffer | null {
  if (v === null || v === undefined) return null;
  return typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
}

function toHeaders(h: NonNullable<ProducerMessage['headers']>): RecordHeader[] {
  if (Array.isArray(h)) return (h as readonly { key: string; value: HeaderValue }[]).map((x) => ({ key: x.key, value: toBuffer(x.value) }));
  return Object.entries(h as Record<string, HeaderValue>).map(([key, value]) => ({ key, value: toBuffer(value) }));
}

/** Why a record cannot be encoded, or null: the checks of BatchBuilder.append, made up front. */
function invalidRecord(timestamp: number, headers: readonly RecordHeader[] | undefined): Error | null {
  if (!Number.isSafeInteger(timestamp)) return new RangeError(`invalid timestamp ${timestamp}`);
  if (headers) for (const h of headers) if (typeof h.key !== 'string') return new TypeError('a header key must be a string');
  return null;
}

function recordBytes(key: Buffer | null, value: Buffer | null, headers: readonly RecordHeader[] | undefined): number {
  let n = RECORD_OVERHEAD_BYTES + (key?.length ?? 0) + (value?.length ?? 0);
  if (headers) for (const h of headers) n += 10 + h.key.length * 3 + (h.value?.length ?? 0);
  return n;
}

function availablePartitions(cluster: Cluster, topic: string): number[] {
  const t = cluster.topics.get(topic);
  if (!t) return [];
  const out: number[] = [];
  for (const p of t.partitions) if (p && p.leader >= 0) out.push(p.partition);
  return out;
}
