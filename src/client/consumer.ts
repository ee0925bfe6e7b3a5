/**
 * The consumer: `for await (const message of consumer)` after `subscribe()` (a group) or `assign()`
 * (chosen partitions, no group).
 *
 * - Fetching runs ahead of the application on connections of its own (a long poll never delays
 *   heartbeats or commits): per leader broker, a long poll for partitions at the end of their log
 *   and up to two fetches for partitions that have data to read; long polls never hold both data
 *   connections, so a poll that waits for new records never holds back refilling a partition the
 *   application has drained. Prefetch is bounded: a partition is
 *   fetched again only when less than `maxPartitionBytes` of it is buffered, and nothing is fetched
 *   while `maxBufferedBytes` are buffered in total, so memory stays bounded however slow the
 *   application is.
 * - Positions: `position` is the next offset the application will see; a message counts as consumed
 *   once it has been handed out. Commits (auto every autoCommitIntervalMs, on revocation, on close,
 *   or `commit()`) store positions, Kafka's "next offset to read".
 * - A partition without a position starts from the group's committed offset, else by
 *   autoOffsetReset: 'earliest', 'latest' (the default, as Kafka) or 'none' (an error). An
 *   OFFSET_OUT_OF_RANGE answer applies the same policy.
 * - `seek()` moves a position and drops what was prefetched for that partition (an epoch per
 *   partition discards the answer of a fetch already in flight). `pause()` stops fetching and
 *   delivering a partition; `resume()` continues.
 * - Transactions: `isolationLevel: 'read_committed'` fetches with isolation_level 1 (the broker serves
 *   only what is below the last stable offset) and drops the records of aborted transactions using
 *   the answer's aborted_transactions, as the Java client's CompletedFetch does; the default is
 *   'read_uncommitted', as Kafka's. Control batches (transaction markers) are never handed out in
 *   either mode, and the position moves past them (and past aborted batches) once the application
 *   has taken the records before them, so a committed position never points at a marker.
 */
import { Cluster, sleep, type ClusterOptions } from './cluster.js';
import { GroupMembership } from './group.js';
import {
  ASSIGNORS,
  type Assignor,
  type TopicPartition,
} from './assignors.js';
import { ApiKey, FetchRequest, FetchResponse, ListOffsetsRequest, ListOffsetsResponse, OffsetFetchRequest, OffsetFetchResponse } from '../protocol/messages/index.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { ZERO_UUID } from '../protocol/codec/uuid.js';
import { iterateBatches, verifyBatchCrc, RECORDS_OFFSET, type BatchHeader } from '../protocol/records/batch.js';
import { Compression, decompress, isCompressionType } from '../protocol/records/compression.js';
import { RecordsError } from '../protocol/records/errors.js';
import { decodeMessages, type ConsumerMessage } from './records.js';
import { fetchCommittedOffsets, type ConsumerGroupMetadata } from './group.js';
import { ControlRecordType, decodeControlRecord } from '../protocol/records/record.js';
import { ClientClosedError, ConfigError, KafkaClientError, KafkaProtocolError, isRetriableError } from './errors.js';

export type { TopicPartition } from './assignors.js';
export type { ConsumerMessage } from './records.js';

/** A consumer's fetch connections per leader: two for partitions with data, one long poll. */
type FetchSlot = 'fetch' | 'fetch2' | 'poll';

export interface ConsumerOptions extends ClusterOptions {
  /** Join this consumer group when subscribing (required for subscribe(), optional for assign()). */
  groupId?: string;
  /** Static membership (KIP-345). */
  groupInstanceId?: string;
  autoOffsetReset?: 'earliest' | 'latest' | 'none';
  /** Commit consumed positions every autoCommitIntervalMs (default true with a group). */
  autoCommit?: boolean;
  autoCommitIntervalMs?: number;
  sessionTimeoutMs?: number;
  /** How long the coordinator waits for members to rejoin (Kafka's max.poll.interval.ms, default 5 min). */
  rebalanceTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  /** Assignors by preference (default ['range', 'cooperative-sticky'], as the Java client). */
  assignors?: (keyof typeof ASSIGNORS | Assignor)[];
  maxWaitMs?: number;
  minBytes?: number;
  /** Per Fetch request (fetch.max.bytes, default 50 MiB). */
  maxBytes?: number;
  /** Per partition and request (max.partition.fetch.bytes, default 1 MiB). */
  maxPartitionBytes?: number;
  /** Bound on prefetched record bytes in memory (default 32 MiB). */
  maxBufferedBytes?: number;
  onPartitionsAssigned?: (tps: TopicPartition[]) => void | Promise<void>;
  onPartitionsRevoked?: (tps: TopicPartition[]) => void | Promise<void>;
  onPartitionsLost?: (tps: TopicPartition[]) => void | Promise<void>;
  /**
   * 'read_committed': only records of committed transactions (and non-transactional ones), up to the
   * last stable offset. Default 'read_uncommitted' (Kafka's isolation.level default).
   */
  isolationLevel?: IsolationLevel;
}

export type IsolationLevel = 'read_uncommitted' | 'read_committed';

class PartitionState {
  /** Next offset to hand to the application; null until initialised. */
  position: number | null = null;
  /** Next offset to fetch. */
  fetchOffset = -1;
  buffer: ConsumerMessage[] = [];
  head = 0;
  bufferedBytes = 0;
  paused = false;
  /** Being revoked: nothing more is handed out while its position is committed. */
  revoking = false;
  /** Left out of a fetch because its buffer was full: wake the fetcher once it drains. */
  blocked = false;
  /** Changes on every seek/reset: answers of fetches sent before are dropped. */
  epoch = 0;
  fetching = false;
  retryAt = 0;
  lastCommitted = -1;
  /** End of what can be read as of the last answer: the high watermark, or with read_committed the last stable offset. */
  endOffset = -1;
  /**
   * Positions to move to once the application has taken the message at `after`: past control
   * batches and aborted batches that followed it in a fetch (in offset order).
   */
  skips: { after: number; to: number }[] = [];
  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {}
  get buffered(): number {
    return this.buffer.length - this.head;
  }
  clear(): void {
    this.buffer = [];
    this.head = 0;
    this.bufferedBytes = 0;
  }
}

const tpKey = (topic: string, partition: number) => `${topic}\u0000${partition}`;

export class Consumer implements AsyncIterable<ConsumerMessage> {
  readonly cluster: Cluster;
  readonly groupId: string | null;
  private readonly opts: ConsumerOptions;
  private readonly assignors: Assignor[];
  private readonly autoCommit: boolean;
  private readonly reset: 'earliest' | 'latest' | 'none';
  private readonly maxBufferedBytes: number;
  private readonly maxPartitionBytes: number;
  private group: GroupMembership | null = null;
  private simple: GroupMembership | null = null;
  private topics: string[] = [];
  private readonly parts = new Map<string, PartitionState>();
  private order: PartitionState[] = [];
  private rr = 0;
  private bufferedBytes = 0;
  /** Fetch connections in use per leader: 'fetch' and 'fetch2' for data, 'poll' (see startFetches). */
  private readonly fetchingLeaders = new Map<number, Set<FetchSlot>>();
  private fetchLoopRunning = false;
  private wakeFetch: (() => void) | null = null;
  private wakePending = false;
  /** Fetching stopped at maxBufferedBytes: wake the fetcher when the application makes room. */
  private totalBlocked = false;
  private wakeReader: (() => void) | null = null;
  private error: Error | null = null;
  private closed = false;
  private autoCommitTimer: NodeJS.Timeout | null = null;
  private positionsToInit = false;
  /** Fetch isolation_level: 0 read_uncommitted, 1 read_committed. */
  private readonly isolation: 0 | 1;

  constructor(opts: ConsumerOptions) {
    this.opts = opts;
    this.cluster = new Cluster(opts);
    this.groupId = opts.groupId ?? null;
    this.reset = opts.autoOffsetReset ?? 'latest';
    if (!['earliest', 'latest', 'none'].includes(this.reset)) throw new ConfigError(`autoOffsetReset must be earliest, latest or none`);
    this.autoCommit = (opts.autoCommit ?? true) && this.groupId !== null;
    const isolationLevel = opts.isolationLevel ?? 'read_uncommitted';
    if (isolationLevel !== 'read_uncommitted' && isolationLevel !== 'read_committed') throw new ConfigError(`isolationLevel must be read_uncommitted or read_committed, not ${String(opts.isolationLevel)}`);
    this.isolation = isolationLevel === 'read_committed' ? 1 : 0;
    this.maxBufferedBytes = opts.maxBufferedBytes ?? 32 * 1024 * 1024;
    this.maxPartitionBytes = opts.maxPartitionBytes ?? 1_048_576;
    this.assignors = (opts.assignors ?? ['range', 'cooperative-sticky']).map((a) => {
      if (typeof a !== 'string') return a;
      const found = ASSIGNORS[a];
      if (!found) throw new ConfigError(`unknown assignor ${a}`);
      return found;
    });
    if (this.assignors.length === 0) throw new ConfigError('at least one assignor is needed');
  }

  /** Group member id (empty before joining). */
  get memberId(): string {
    return this.group?.memberId ?? '';
  }

  get generationId(): number {
    return this.group?.generationId ?? -1;
  }

  /** The assignor the group chose. */
  get protocolName(): string | null {
    return this.group?.protocolName ?? null;
  }

  /**
   * The group membership a transactional producer's sendOffsetsToTransaction() needs (KIP-447): the
   * coordinator refuses offsets from a member of an older generation.
   */
  groupMetadata(): ConsumerGroupMetadata {
    if (!this.groupId) throw new ConfigError('groupMetadata() needs a groupId');
    return {
      groupId: this.groupId,
      generationId: this.group?.generationId ?? -1,
      memberId: this.group?.memberId ?? '',
      groupInstanceId: this.opts.groupInstanceId ?? null,
    };
  }

  /** Completed rebalances of this member. */
  get rebalances(): number {
    return this.group?.rebalances ?? 0;
  }

  /** Record bytes prefetched and not yet handed out. */
  get bufferedBytesNow(): number {
    return this.bufferedBytes;
  }

  /** Join the group and consume `topics`. */
  subscribe(topics: string | readonly string[]): void {
    this.checkOpen();
    if (!this.groupId) throw new ConfigError('subscribe() needs a groupId; use assign() without a group');
    this.topics = [...new Set(typeof topics === 'string' ? [topics] : topics)];
    this.cluster.addTopics(this.topics);
    if (!this.group) {
      this.group = new GroupMembership(
        this.cluster,
        {
          groupId: this.groupId,
          groupInstanceId: this.opts.groupInstanceId ?? null,
          sessionTimeoutMs: this.opts.sessionTimeoutMs ?? 45_000,
          rebalanceTimeoutMs: this.opts.rebalanceTimeoutMs ?? 300_000,
          heartbeatIntervalMs: this.opts.heartbeatIntervalMs ?? 3000,
          assignors: this.assignors,
        },
        {
          subscription: () => this.topics,
          owned: () => this.assignment(),
          revoke: (tps) => this.revoke(tps, true),
          lose: (tps) => this.revoke(tps, false),
          assign: (tps) => this.addPartitions(tps),
          fail: (e) => this.setError(e),
        },
      );
      this.group.start();
      if (this.autoCommit) this.startAutoCommit();
    } else {
      this.group.requestRejoin();
    }
    this.startFetchLoop();
  }

  /** Consume exactly these partitions, without group membership. `offset` sets the start position. */
  assign(tps: readonly (TopicPartition & { offset?: number })[]): void {
    this.checkOpen();
    if (this.group) throw new ConfigError('assign() cannot be combined with subscribe()');
    const wanted = new Set(tps.map((t) => tpKey(t.topic, t.partition)));
    for (const [k, p] of this.parts) if (!wanted.has(k)) this.dropPartition(p);
    for (const t of tps) {
      let p = this.parts.get(tpKey(t.topic, t.partition));
      if (!p) {
        p = new PartitionState(t.topic, t.partition);
        this.parts.set(tpKey(t.topic, t.partition), p);
        this.order.push(p);
      }
      if (t.offset !== undefined) this.setPosition(p, t.offset);
    }
    this.cluster.addTopics(tps.map((t) => t.topic));
    this.positionsToInit = true;
    if (this.autoCommit && !this.autoCommitTimer) this.startAutoCommit();
    this.startFetchLoop();
    this.wake();
  }

  /** Partitions assigned to this consumer now. */
  assignment(): TopicPartition[] {
    return this.order.map((p) => ({ topic: p.topic, partition: p.partition }));
  }

  /** Resolves once the group has given this member its assignment (immediately without a group). */
  async ready(): Promise<void> {
    if (this.group) await this.group.whenStable();
  }

  seek(tp: TopicPartition & { offset: number }): void {
    const p = this.parts.get(tpKey(tp.topic, tp.partition));
    if (!p) throw new KafkaClientError('RAFKA_NOT_ASSIGNED', `${tp.topic}-${tp.partition} is not assigned to this consumer`, false);
    this.setPosition(p, tp.offset);
    this.wake();
  }

  pause(tps: readonly TopicPartition[]): void {
    for (const tp of tps) {
      const p = this.parts.get(tpKey(tp.topic, tp.partition));
      if (p) p.paused = true;
    }
  }

  resume(tps: readonly TopicPartition[]): void {
    for (const tp of tps) {
      const p = this.parts.get(tpKey(tp.topic, tp.partition));
      if (p) p.paused = false;
    }
    this.wake();
  }

  paused(): TopicPartition[] {
    return this.order.filter((p) => p.paused).map((p) => ({ topic: p.topic, partition: p.partition }));
  }

  /** Next offset the application will receive for a partition (null before it is known). */
  position(tp: TopicPartition): number | null {
    return this.parts.get(tpKey(tp.topic, tp.partition))?.position ?? null;
  }

  /** Committed offsets of the group (-1 where none). */
  async committed(tps: readonly TopicPartition[]): Promise<Map<string, number>> {
    if (!this.groupId) throw new ConfigError('committed() needs a groupId');
    return this.fetchCommitted([...tps]);
  }

  /**
   * Commit offsets: the given ones (offset = the next offset to read), or every assigned partition's
   * current position.
   */
  async commit(offsets?: readonly (TopicPartition & { offset: number })[]): Promise<void> {
    if (!this.groupId) throw new ConfigError('commit() needs a groupId');
    const list =
      offsets?.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset })) ??
      this.order.filter((p) => p.position !== null && p.position !== p.lastCommitted).map((p) => ({ topic: p.topic, partition: p.partition, offset: p.position! }));
    if (list.length === 0) return;
    await this.commitList(list);
  }

  private async commitList(list: { topic: string; partition: number; offset: number }[]): Promise<void> {
    if (this.group) await this.group.commit(list);
    else await this.standaloneCommit(list);
    for (const o of list) {
      const p = this.parts.get(tpKey(o.topic, o.partition));
      if (p) p.lastCommitted = o.offset;
    }
  }

  /** Commit for a consumer without membership (assign() with a groupId): generation -1, no member id. */
  private standaloneCommit(list: { topic: string; partition: number; offset: number }[]): Promise<void> {
    const g = this.simpleGroup();
    return this.cluster.retry(() => g.commit(list));
  }

  /** Group access without membership (Kafka's "simple consumer" commits with generation -1). */
  private simpleGroup(): GroupMembership {
    const none = async () => {};
    return (this.simple ??= new GroupMembership(
      this.cluster,
      { groupId: this.groupId!, sessionTimeoutMs: 0, rebalanceTimeoutMs: 0, heartbeatIntervalMs: 0, assignors: [] },
      { subscription: () => [], owned: () => [], revoke: none, lose: none, assign: none, fail: () => {} },
    ));
  }

  private fetchCommitted(tps: TopicPartition[]): Promise<Map<string, number>> {
    const g = this.group ?? this.simpleGroup();
    return fetchCommittedOffsets(this.cluster, this.groupId!, tps, (_v, body) => g.toCoordinator(ApiKey.OffsetFetch, OffsetFetchRequest, OffsetFetchResponse, body));
  }

  private startAutoCommit(): void {
    const interval = this.opts.autoCommitIntervalMs ?? 5000;
    const tick = () => {
      this.autoCommitTimer = null;
      if (this.closed) return;
      const p = this.group && !this.group.stable ? Promise.resolve() : this.commit().catch(() => {});
      void p.finally(() => {
        if (!this.closed) this.autoCommitTimer = setTimeout(tick, interval);
      });
    };
    this.autoCommitTimer = setTimeout(tick, interval);
  }

  // ------------------------------------------------------------------------------------------------
  // Assignment changes (called by the group membership)
  // ------------------------------------------------------------------------------------------------

  private async revoke(tps: TopicPartition[], commit: boolean): Promise<void> {
    // Stop handing out messages of these partitions first: the committed position must be final.
    for (const tp of tps) {
      const p = this.parts.get(tpKey(tp.topic, tp.partition));
      if (p) p.revoking = true;
    }
    if (commit) {
      try {
        await this.opts.onPartitionsRevoked?.(tps);
      } catch (e) {
        this.setError(e as Error);
      }
      if (this.autoCommit) {
        const list = tps
          .map((tp) => this.parts.get(tpKey(tp.topic, tp.partition)))
          .filter((p): p is PartitionState => !!p && p.position !== null && p.position !== p.lastCommitted)
          .map((p) => ({ topic: p.topic, partition: p.partition, offset: p.position! }));
        try {
          await this.commitList(list);
        } catch {
          /* the next owner re-reads from the last commit: at-least-once */
        }
      }
    } else {
      try {
        await this.opts.onPartitionsLost?.(tps);
      } catch (e) {
        this.setError(e as Error);
      }
    }
    for (const tp of tps) {
      const p = this.parts.get(tpKey(tp.topic, tp.partition));
      if (p) this.dropPartition(p);
    }
  }

  private async addPartitions(tps: TopicPartition[]): Promise<void> {
    for (const tp of tps) {
      if (this.parts.has(tpKey(tp.topic, tp.partition))) continue;
      const p = new PartitionState(tp.topic, tp.partition);
      this.parts.set(tpKey(tp.topic, tp.partition), p);
      this.order.push(p);
    }
    this.positionsToInit = true;
    try {
      await this.opts.onPartitionsAssigned?.(tps);
    } catch (e) {
      this.setError(e as Error);
    }
    this.wake();
  }

  private dropPartition(p: PartitionState): void {
    this.bufferedBytes -= p.bufferedBytes;
    p.clear();
    p.skips = [];
    p.epoch++;
    this.parts.delete(tpKey(p.topic, p.partition));
    this.order = this.order.filter((x) => x !== p);
  }

  private setPosition(p: PartitionState, offset: number): void {
    this.bufferedBytes -= p.bufferedBytes;
    p.clear();
    p.skips = [];
    p.epoch++;
    p.position = offset;
    p.fetchOffset = offset;
    p.retryAt = 0;
  }

  private setError(e: Error): void {
    this.error ??= e;
    this.wakeReaderNow();
  }

  // ------------------------------------------------------------------------------------------------
  // Fetching
  // ------------------------------------------------------------------------------------------------

  private wake(): void {
    const w = this.wakeFetch;
    this.wakeFetch = null;
    if (w) w();
    else this.wakePending = true; // the loop is busy: it must look again before sleeping
  }

  private wakeReaderNow(): void {
    const w = this.wakeReader;
    this.wakeReader = null;
    w?.();
  }

  private startFetchLoop(): void {
    if (this.fetchLoopRunning) return;
    this.fetchLoopRunning = true;
    void this.fetchLoop().finally(() => {
      this.fetchLoopRunning = false;
    });
  }

  private async fetchLoop(): Promise<void> {
    let attempt = 0;
    while (!this.closed) {
      try {
        if (this.positionsToInit) {
          this.positionsToInit = false;
          await this.initPositions();
        }
        this.wakePending = false;
        this.startFetches();
        attempt = 0;
        if (this.wakePending || this.positionsToInit) continue;
        // Sleep until something changes: a fetch answered, a message taken, a seek, an assignment.
        let timer: NodeJS.Timeout | undefined;
        await new Promise<void>((r) => {
          this.wakeFetch = r;
          timer = setTimeout(r, this.nextRetryDelay());
        });
        clearTimeout(timer);
      } catch (e) {
        if (this.closed) return;
        if (!isRetriableError(e)) this.setError(e as Error);
        this.positionsToInit = true;
        await sleep(this.cluster.backoff(attempt++));
      }
    }
  }

  private nextRetryDelay(): number {
    const now = Date.now();
    let next = 1000;
    for (const p of this.order) if (p.retryAt > now) next = Math.min(next, p.retryAt - now);
    return Math.max(1, next);
  }

  /** Give partitions without a position one: committed offset, else the reset policy. */
  private async initPositions(): Promise<void> {
    const missing = this.order.filter((p) => p.position === null);
    if (missing.length === 0) return;
    let committed = new Map<string, number>();
    if (this.groupId) committed = await this.fetchCommitted(missing.map((p) => ({ topic: p.topic, partition: p.partition })));
    const toReset: PartitionState[] = [];
    for (const p of missing) {
      if (p.position !== null || !this.parts.has(tpKey(p.topic, p.partition))) continue;
      const c = committed.get(tpKey(p.topic, p.partition)) ?? -1;
      if (c >= 0) {
        this.setPosition(p, c);
        p.lastCommitted = c;
      } else toReset.push(p);
    }
    if (toReset.length > 0) await this.resetOffsets(toReset);
  }

  private async resetOffsets(parts: PartitionState[]): Promise<void> {
    if (this.reset === 'none') {
      throw new KafkaClientError('RAFKA_NO_OFFSET', `no committed offset and autoOffsetReset is 'none' for ${parts.map((p) => `${p.topic}-${p.partition}`).join(', ')}`, false);
    }
    const ts = this.reset === 'earliest' ? -2n : -1n;
    const epochs = new Map(parts.map((p) => [p, p.epoch]));
    const offsets = await listOffsets(this.cluster, parts.map((p) => ({ topic: p.topic, partition: p.partition, timestamp: ts })), this.isolation);
    for (const p of parts) {
      if (epochs.get(p) !== p.epoch || !this.parts.has(tpKey(p.topic, p.partition))) continue; // seeked meanwhile
      const o = offsets.get(tpKey(p.topic, p.partition));
      if (o !== undefined && o >= 0) this.setPosition(p, o);
    }
  }

  /** Send a Fetch to every leader that has fetchable partitions and no fetch in flight. */
  private startFetches(): boolean {
    if (this.bufferedBytes >= this.maxBufferedBytes) {
      this.totalBlocked = true;
      return false;
    }
    const now = Date.now();
    const byLeader = new Map<number, { behind: PartitionState[]; caughtUp: PartitionState[] }>();
    let needMetadata = false;
    for (const p of this.order) {
      if (p.position === null || p.paused || p.revoking || p.fetching || p.retryAt > now) continue;
      if (p.bufferedBytes >= this.maxPartitionBytes) {
        p.blocked = true;
        continue;
      }
      const t = this.cluster.topics.get(p.topic);
      const leader = t?.partitions[p.partition]?.leader ?? -1;
      if (leader < 0) {
        needMetadata = true;
        continue;
      }
      let l = byLeader.get(leader);
      if (!l) byLeader.set(leader, (l = { behind: [], caughtUp: [] }));
      // At the end of its log as of the last answer: a fetch of such partitions only is a long poll.
      if (p.endOffset >= 0 && p.fetchOffset >= p.endOffset) l.caughtUp.push(p);
      else l.behind.push(p);
    }
    if (needMetadata) {
      void this.cluster.refreshMetadata().then(() => this.wake(), () => {});
    }
    // Per leader, on connections of their own: a long poll for partitions at the end of their log,
    // and up to two fetches for partitions with records to read (disjoint partitions). A long poll
    // waits up to maxWaitMs for new records; were long polls to hold both data connections,
    // partitions the application has just drained (left out of earlier fetches because their
    // buffers were full) would wait for them. So partitions at the end of their log that missed the
    // poll ride along with a data fetch (which the broker answers at once anyway), or, with nothing
    // else to fetch, take a second long poll on one data connection while the other one is free.
    let started = false;
    for (const [leader, { behind, caughtUp }] of byLeader) {
      let slots = this.fetchingLeaders.get(leader);
      if (!slots) this.fetchingLeaders.set(leader, (slots = new Set()));
      let waiting = caughtUp;
      if (waiting.length > 0 && !slots.has('poll')) {
        slots.add('poll');
        void this.fetchFrom(leader, waiting, 'poll');
        waiting = [];
        started = true;
      }
      let slot: FetchSlot | null = null;
      if (behind.length > 0) slot = !slots.has('fetch') ? 'fetch' : !slots.has('fetch2') ? 'fetch2' : null;
      else if (waiting.length > 0 && !slots.has('fetch') && !slots.has('fetch2')) slot = 'fetch2';
      if (slot === null) continue;
      slots.add(slot);
      void this.fetchFrom(leader, [...behind, ...waiting], slot);
      started = true;
    }
    return started;
  }

  private async fetchFrom(leader: number, list: PartitionState[], slot: FetchSlot): Promise<void> {
    const epochs = list.map((p) => p.epoch);
    const offsets = list.map((p) => p.fetchOffset);
    for (const p of list) p.fetching = true;
    try {
      const useIds = list.every((p) => (this.cluster.topics.get(p.topic)?.topicId ?? ZERO_UUID) !== ZERO_UUID);
      const byTopic = new Map<string, { partition: number; fetchOffset: bigint; partitionMaxBytes: number }[]>();
      for (let i = 0; i < list.length; i++) {
        const p = list[i]!;
        let l = byTopic.get(p.topic);
        if (!l) byTopic.set(p.topic, (l = []));
        l.push({ partition: p.partition, fetchOffset: BigInt(offsets[i]!), partitionMaxBytes: this.maxPartitionBytes });
      }
      const room = Math.max(this.maxPartitionBytes, this.maxBufferedBytes - this.bufferedBytes);
      const res = await this.cluster.send(
        leader,
        ApiKey.Fetch,
        FetchRequest,
        FetchResponse,
        () => ({
          maxWaitMs: this.opts.maxWaitMs ?? 500,
          minBytes: this.opts.minBytes ?? 1,
          maxBytes: Math.min(this.opts.maxBytes ?? 52_428_800, room),
          isolationLevel: this.isolation,
          sessionId: 0,
          sessionEpoch: -1,
          topics: [...byTopic].map(([topic, partitions]) => ({ topic, topicId: this.cluster.topics.get(topic)?.topicId ?? ZERO_UUID, partitions })),
          forgottenTopicsData: [],
          rackId: '',
        }),
        { purpose: slot, ...(useIds ? {} : { version: Math.min(12, (await this.cluster.connection(leader, slot)).version(ApiKey.Fetch)) }) },
      );
      if (res.errorCode !== ErrorCode.NONE) throw new KafkaProtocolError(res.errorCode, 'Fetch');
      const index = new Map(list.map((p, i) => [tpKey(p.topic, p.partition), i]));
      let refresh = false;
      for (const t of res.responses) {
        const topic = t.topic || this.cluster.topicById(t.topicId)?.name || '';
        for (const pd of t.partitions) {
          const i = index.get(tpKey(topic, pd.partitionIndex));
          if (i === undefined) continue;
          const p = list[i]!;
          if (p.epoch !== epochs[i] || !this.parts.has(tpKey(p.topic, p.partition))) continue; // seeked or revoked meanwhile
          // read_committed: the broker serves nothing past the last stable offset, so that is where
          // a partition is caught up (the Java consumer measures its lag against the LSO too).
          p.endOffset = Number(this.isolation === 1 && pd.lastStableOffset >= 0n ? pd.lastStableOffset : pd.highWatermark);
          if (pd.errorCode === ErrorCode.NONE) {
            await this.addRecords(p, pd.records as Buffer | null, offsets[i]!, this.isolation === 1 ? pd.abortedTransactions : null);
          } else if (pd.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) {
            p.position = null;
            this.positionsToInit = true;
            if (this.reset === 'none') this.setError(new KafkaProtocolError(pd.errorCode, `${p.topic}-${p.partition} at offset ${offsets[i]}`));
          } else if (Cluster.needsMetadataRefresh(pd.errorCode) || Cluster.retriable(pd.errorCode)) {
            refresh ||= Cluster.needsMetadataRefresh(pd.errorCode);
            p.retryAt = Date.now() + this.cluster.backoff(0);
          } else {
            this.setError(new KafkaProtocolError(pd.errorCode, `Fetch ${p.topic}-${p.partition}`));
            p.retryAt = Date.now() + this.cluster.retryBackoffMaxMs;
          }
        }
      }
      if (refresh) await this.cluster.refreshMetadata().catch(() => {});
    } catch (e) {
      if (!this.closed) {
        for (const p of list) p.retryAt = Date.now() + this.cluster.backoff(1);
        if (!isRetriableError(e)) this.setError(e as Error);
        else void this.cluster.refreshMetadata().catch(() => {});
      }
    } finally {
      for (const p of list) p.fetching = false;
      this.fetchingLeaders.get(leader)?.delete(slot);
      this.wake();
    }
  }

  /**
   * Decode a fetched partition's records into its buffer, from `fetchOffset` on. Control batches are
   * skipped. With read_committed, `aborted` is the answer's aborted_transactions, and batches of
   * aborted transactions are dropped as the Java client's CompletedFetch drops them: an aborted
   * transaction's producer counts as aborted from the first batch that reaches the transaction's
   * first offset until that producer's ABORT marker, and its transactional batches meanwhile are
   * skipped.
   */
  private async addRecords(p: PartitionState, records: Buffer | null, fetchOffset: number, aborted: readonly { producerId: bigint; firstOffset: bigint }[] | null): Promise<void> {
    if (!records || records.length === 0) return;
    const epoch = p.epoch;
    const out: ConsumerMessage[] = [];
    let bytes = 0;
    let next = fetchOffset;
    // read_committed bookkeeping: aborted transactions by first offset, and the producers inside one.
    const pending = (aborted ?? []).map((a) => ({ producerId: Number(a.producerId), firstOffset: Number(a.firstOffset) })).sort((a, b) => a.firstOffset - b.firstOffset);
    let nextAborted = 0;
    const abortedProducers = new Set<number>();
    for (const h of iterateBatches(records, { allowPartial: true })) {
      if (aborted && h.producerId >= 0) {
        while (nextAborted < pending.length && pending[nextAborted]!.firstOffset <= h.lastOffset) abortedProducers.add(pending[nextAborted++]!.producerId);
        if (h.isControl) {
          if (abortedProducers.has(h.producerId) && (await this.controlType(p, records, h)) === ControlRecordType.abort) abortedProducers.delete(h.producerId);
        } else if (h.isTransactional && abortedProducers.has(h.producerId)) {
          next = Math.max(next, h.lastOffset + 1);
          continue;
        }
      }
      if (h.lastOffset < fetchOffset) continue;
      // Control batches (transaction markers) are never handed out; the position moves past them.
      if (h.isControl) {
        next = Math.max(next, h.lastOffset + 1);
        continue;
      }
      const data = await this.batchData(p, records, h);
      const before = out.length;
      bytes += decodeMessages(p.topic, p.partition, h, data, fetchOffset, out) + 40 * (out.length - before);
      next = Math.max(next, h.lastOffset + 1);
    }
    if (epoch !== p.epoch || !this.parts.has(tpKey(p.topic, p.partition))) return;
    p.fetchOffset = Math.max(p.fetchOffset, next);
    if (p.head > 0 && p.head === p.buffer.length) p.clear();
    for (const m of out) p.buffer.push(m);
    p.bufferedBytes += bytes;
    this.bufferedBytes += bytes;
    // Batches skipped at the end of what was fetched: the position passes them once the application
    // has taken the last message before them (at once when nothing is buffered).
    const last = p.buffered > 0 ? p.buffer[p.buffer.length - 1]!.offset : -1;
    if (last < 0) {
      if (p.position !== null && next > p.position) p.position = next;
    } else if (next > last + 1) p.skips.push({ after: last, to: next });
    if (out.length > 0) this.wakeReaderNow();
  }

  /** A batch's records, CRC-checked (Kafka's check.crcs) and decompressed. */
  private async batchData(p: PartitionState, records: Buffer, h: BatchHeader): Promise<Buffer> {
    if (!verifyBatchCrc(records, h.position)) throw new RecordsError(2, `record batch at offset ${h.baseOffset} of ${p.topic}-${p.partition} fails its CRC check`);
    if (!isCompressionType(h.compression)) throw new RecordsError(76, `unknown compression type id ${h.compression}`);
    const body = records.subarray(h.position + RECORDS_OFFSET, h.position + h.byteLength);
    return h.compression === Compression.none ? body : await decompress(h.compression, body);
  }

  /** The type of a control batch's record (ControlRecordType), -1 when it has none that parses. */
  private async controlType(p: PartitionState, records: Buffer, h: BatchHeader): Promise<number> {
    const one: ConsumerMessage[] = [];
    decodeMessages(p.topic, p.partition, h, await this.batchData(p, records, h), h.baseOffset, one);
    const first = one[0];
    return first ? (decodeControlRecord(first.key, first.value)?.type ?? -1) : -1;
  }

  // ------------------------------------------------------------------------------------------------
  // Delivery to the application
  // ------------------------------------------------------------------------------------------------

  /** The next buffered message, or undefined when none is ready. */
  private take(): ConsumerMessage | undefined {
    const n = this.order.length;
    for (let i = 0; i < n; i++) {
      const p = this.order[(this.rr + i) % n]!;
      if (p.paused || p.revoking || p.buffered === 0) continue;
      const m = p.buffer[p.head]!;
      p.buffer[p.head] = undefined as unknown as ConsumerMessage;
      p.head++;
      const bytes = 40 + (m.key?.length ?? 0) + (m.value?.length ?? 0);
      p.bufferedBytes -= bytes;
      this.bufferedBytes -= bytes;
      p.position = m.offset + 1;
      while (p.skips.length > 0 && p.skips[0]!.after <= m.offset) p.position = Math.max(p.position, p.skips.shift()!.to);
      if (p.head === p.buffer.length) {
        p.clear();
        this.rr = (this.rr + i + 1) % n;
      } else if (p.head >= 1024) {
        p.buffer = p.buffer.slice(p.head);
        p.head = 0;
        this.rr = (this.rr + i) % n;
      }
      // Wake the fetcher only on the transitions it waits for, not on every message.
      if (p.blocked && p.bufferedBytes < this.maxPartitionBytes) {
        p.blocked = false;
        this.wake();
      }
      if (this.totalBlocked && this.bufferedBytes < this.maxBufferedBytes / 2) {
        this.totalBlocked = false;
        this.wake();
      }
      return m;
    }
    return undefined;
  }

  /**
   * Wait for the next message. Rejects with the consumer's error (e.g. no offset and reset 'none'),
   * or ClientClosedError once closed. `timeoutMs` resolves undefined when nothing came in time.
   */
  async next(timeoutMs = Infinity): Promise<ConsumerMessage | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.error) {
        const e = this.error;
        this.error = null;
        throw e;
      }
      if (this.closed) throw new ClientClosedError('consumer');
      const m = this.take();
      if (m) return m;
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((r) => {
        this.wakeReader = r;
        if (left !== Infinity) timer = setTimeout(r, left);
      });
      clearTimeout(timer);
    }
  }

  /** Up to `max` messages: what is buffered now, or waits up to timeoutMs for at least one. */
  async poll(max = 500, timeoutMs = 1000): Promise<ConsumerMessage[]> {
    const first = await this.next(timeoutMs);
    if (!first) return [];
    const out = [first];
    while (out.length < max) {
      const m = this.take();
      if (!m) break;
      out.push(m);
    }
    return out;
  }

  /**
   * `for await (const m of consumer)`: ends when the consumer is closed (or the loop breaks; the
   * consumer stays open). A hand-written iterator: a buffered message is handed out without the
   * extra promise hops of an async generator.
   */
  [Symbol.asyncIterator](): AsyncIterator<ConsumerMessage> {
    const done: IteratorResult<ConsumerMessage> = { value: undefined, done: true };
    return {
      next: (): Promise<IteratorResult<ConsumerMessage>> => {
        if (this.error === null && !this.closed) {
          const m = this.take();
          if (m) return Promise.resolve({ value: m, done: false });
        }
        return this.next().then(
          (value) => (value ? { value, done: false } : done),
          (e: unknown) => {
            if (e instanceof ClientClosedError) return done;
            throw e;
          },
        );
      },
      return: (): Promise<IteratorResult<ConsumerMessage>> => Promise.resolve(done),
    };
  }

  private checkOpen(): void {
    if (this.closed) throw new ClientClosedError('consumer');
  }

  /** Commit (auto-commit), revoke, leave the group and close the connections. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.autoCommitTimer) clearTimeout(this.autoCommitTimer);
    this.autoCommitTimer = null;
    if (this.group) {
      const owned = this.assignment();
      if (owned.length > 0 && this.group.stable) await this.revoke(owned, true);
      // A static member (KIP-345) keeps its place: it does not leave, so a restart within the
      // session timeout causes no rebalance (as the Java client's close()).
      if (this.opts.groupInstanceId) this.group.stop();
      else await this.group.leave();
    } else if (this.autoCommit) {
      await this.commit().catch(() => {});
    }
    this.closed = true;
    this.wake();
    this.wakeReaderNow();
    await this.cluster.close();
  }
}

/**
 * ListOffsets for partitions (timestamp -2 earliest, -1 latest, -3 max timestamp, else by time).
 * `isolationLevel` 1 (read_committed): latest is the last stable offset.
 */
export async function listOffsets(cluster: Cluster, items: { topic: string; partition: number; timestamp: bigint }[], isolationLevel: 0 | 1 = 0): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  let todo = items;
  await cluster.retry(async () => {
    await cluster.refreshMetadata(todo.map((i) => i.topic));
    const byLeader = new Map<number, typeof items>();
    for (const it of todo) {
      const leader = cluster.topics.get(it.topic)?.partitions[it.partition]?.leader ?? -1;
      if (leader < 0) throw new KafkaProtocolError(cluster.topicErrors.get(it.topic) || ErrorCode.LEADER_NOT_AVAILABLE, `${it.topic}-${it.partition}`);
      let l = byLeader.get(leader);
      if (!l) byLeader.set(leader, (l = []));
      l.push(it);
    }
    const failed: typeof items = [];
    let firstError: KafkaProtocolError | null = null;
    await Promise.all(
      [...byLeader].map(async ([leader, list]) => {
        const topics = new Map<string, { partitionIndex: number; timestamp: bigint }[]>();
        for (const it of list) {
          let l = topics.get(it.topic);
          if (!l) topics.set(it.topic, (l = []));
          l.push({ partitionIndex: it.partition, timestamp: it.timestamp });
        }
        const res = await cluster.send(leader, ApiKey.ListOffsets, ListOffsetsRequest, ListOffsetsResponse, {
          replicaId: -1,
          isolationLevel,
          topics: [...topics].map(([name, partitions]) => ({ name, partitions })),
        });
        for (const t of res.topics) {
          for (const p of t.partitions) {
            if (p.errorCode !== ErrorCode.NONE) {
              firstError ??= new KafkaProtocolError(p.errorCode, `ListOffsets ${t.name}-${p.partitionIndex}`);
              failed.push({ topic: t.name, partition: p.partitionIndex, timestamp: list.find((i) => i.topic === t.name && i.partition === p.partitionIndex)?.timestamp ?? -1n });
              continue;
            }
            out.set(tpKey(t.name, p.partitionIndex), Number(p.offset));
          }
        }
      }),
    );
    todo = failed;
    if (firstError) throw firstError;
  });
  return out;
}
