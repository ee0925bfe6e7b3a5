/**
 * Consumer group membership with the classic protocol (KIP-62 heartbeats, KIP-345 static members,
 * KIP-394 member id required, KIP-429 cooperative rebalancing):
 *
 *   FindCoordinator ─► JoinGroup ─► (leader: assign) SyncGroup ─► stable: Heartbeat every
 *   heartbeatIntervalMs ─► REBALANCE_IN_PROGRESS ─► rejoin ... ─► LeaveGroup on close
 *
 * Heartbeats run on their own timer, on their own connection to the coordinator, independent of the
 * application: a consumer whose application is busy with a message (awaiting, not blocking the event
 * loop) stays in the group.
 *
 * Revocation: with an eager protocol (range, roundrobin) every owned partition is revoked (callback,
 * then a commit of the consumed positions) before JoinGroup; with cooperative-sticky only the
 * partitions the new assignment takes away, after SyncGroup, followed by one more rebalance so their
 * new owners get them. Either way a partition's position is committed before anyone else may fetch
 * it, so a group delivers each record once when members come and go cleanly.
 */
import type { Cluster } from './cluster.js';
import { sleep } from './cluster.js';
import {
  ApiKey,
  FindCoordinatorRequest,
  FindCoordinatorResponse,
  HeartbeatRequest,
  HeartbeatResponse,
  JoinGroupRequest,
  JoinGroupResponse,
  LeaveGroupRequest,
  LeaveGroupResponse,
  OffsetCommitRequest,
  OffsetCommitResponse,
  OffsetFetchRequest,
  OffsetFetchResponse,
  SyncGroupRequest,
  SyncGroupResponse,
} from '../protocol/messages/index.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { ClientClosedError, KafkaProtocolError, isRetriableError } from './errors.js';
import {
  decodeAssignment,
  decodeSubscription,
  encodeAssignment,
  encodeSubscription,
  type Assignor,
  type TopicPartition,
} from './assignors.js';

export interface GroupOptions {
  groupId: string;
  groupInstanceId?: string | null;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  heartbeatIntervalMs: number;
  assignors: Assignor[];
}

/** What the membership needs from its consumer. */
export interface GroupHost {
  subscription(): string[];
  owned(): TopicPartition[];
  /** Partitions taken away: the consumer runs the callback, commits and stops fetching them. */
  revoke(tps: TopicPartition[]): Promise<void>;
  /** Partitions lost without a chance to commit (membership expired). */
  lose(tps: TopicPartition[]): Promise<void>;
  assign(added: TopicPartition[]): Promise<void>;
  /** A fatal group error (e.g. GROUP_AUTHORIZATION_FAILED) for the application. */
  fail(e: Error): void;
}

const key = (tp: TopicPartition) => `${tp.topic}\u0000${tp.partition}`;

function minus(a: TopicPartition[], b: TopicPartition[]): TopicPartition[] {
  const s = new Set(b.map(key));
  return a.filter((tp) => !s.has(key(tp)));
}

export class GroupMembership {
  memberId = '';
  generationId = -1;
  protocolName: string | null = null;
  leaderId = '';
  coordinatorId = -1;
  /** Number of completed rebalances (SyncGroup answers) of this member. */
  rebalances = 0;
  private needRejoin = true;
  private closed = false;
  private loop: Promise<void> | null = null;
  private wakeLoop: (() => void) | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private lastHeartbeatOk = Date.now();
  private stableWaiters: (() => void)[] = [];
  /** As leader: the partition counts the current assignment was computed from. */
  private assignedCounts: Map<string, number> | null = null;
  private checkingMetadata = false;
  private readonly groupInstanceId: string | null;

  constructor(
    private readonly cluster: Cluster,
    readonly opts: GroupOptions,
    private readonly host: GroupHost,
  ) {
    this.groupInstanceId = opts.groupInstanceId ?? null;
  }

  get stable(): boolean {
    return !this.needRejoin && this.generationId >= 0;
  }

  /** Start (or restart after a subscription change) the membership loop. */
  start(): void {
    this.needRejoin = true;
    if (!this.loop) this.loop = this.run();
    this.wake();
  }

  /** Ask for a rebalance (e.g. the subscription changed). */
  requestRejoin(): void {
    this.needRejoin = true;
    this.wake();
  }

  /** Resolves once the member has an assignment (or the membership is closed). */
  whenStable(): Promise<void> {
    if (this.stable || this.closed) return Promise.resolve();
    return new Promise((r) => this.stableWaiters.push(r));
  }

  private wake(): void {
    const w = this.wakeLoop;
    this.wakeLoop = null;
    w?.();
  }

  private async run(): Promise<void> {
    let attempt = 0;
    while (!this.closed) {
      if (!this.needRejoin) {
        await new Promise<void>((r) => (this.wakeLoop = r));
        continue;
      }
      try {
        await this.joinAndSync();
        attempt = 0;
      } catch (e) {
        if (this.closed) break;
        if (!isRetriableError(e) && !(e instanceof KafkaProtocolError && REJOIN_CODES.has(e.errorCode))) {
          this.host.fail(e as Error);
          await sleep(this.cluster.backoff(attempt++));
        } else {
          await sleep(this.cluster.backoff(attempt++));
        }
      }
    }
  }

  // ------------------------------------------------------------------------------------------------
  // Coordinator
  // ------------------------------------------------------------------------------------------------

  async coordinator(): Promise<number> {
    if (this.coordinatorId >= 0) return this.coordinatorId;
    this.coordinatorId = await findCoordinator(this.cluster, CoordinatorKeyType.group, this.opts.groupId);
    return this.coordinatorId;
  }

  /** A request to the coordinator; coordinator errors make the next call look it up again. */
  async toCoordinator<Req, Res extends object>(
    apiKey: number,
    req: import('../protocol/codec/message.js').MessageCodec<Req>,
    res: import('../protocol/codec/message.js').MessageCodec<Res>,
    body: (version: number) => import('../protocol/codec/message.js').Init<Req>,
    timeoutMs?: number,
  ): Promise<Res> {
    const node = await this.coordinator();
    try {
      const r = await this.cluster.send(node, apiKey, req, res, body, { purpose: 'group', ...(timeoutMs ? { timeoutMs } : {}) });
      const code = (r as { errorCode?: number }).errorCode;
      if (code !== undefined && COORDINATOR_CODES.has(code)) this.coordinatorId = -1;
      return r;
    } catch (e) {
      if (isRetriableError(e)) this.coordinatorId = -1;
      throw e;
    }
  }

  // ------------------------------------------------------------------------------------------------
  // Join / Sync
  // ------------------------------------------------------------------------------------------------

  private async joinAndSync(): Promise<void> {
    this.stopHeartbeat();
    const eager = this.rebalanceProtocol() === 'eager';
    if (eager) {
      const owned = this.host.owned();
      if (owned.length > 0) await this.host.revoke(owned);
    }
    const topics = this.host.subscription();
    const owned = this.host.owned();
    const protocols = this.opts.assignors.map((a) => ({
      name: a.name,
      metadata: encodeSubscription(topics, a.protocol === 'cooperative' ? owned : [], this.generationId, a.userData ? a.userData(this.generationId) : null),
    }));
    const joinTimeout = Math.max(this.cluster.requestTimeoutMs, this.opts.rebalanceTimeoutMs + 5000);
    let join: JoinGroupResponse;
    for (;;) {
      join = await this.toCoordinator(ApiKey.JoinGroup, JoinGroupRequest, JoinGroupResponse, () => ({
        groupId: this.opts.groupId,
        sessionTimeoutMs: this.opts.sessionTimeoutMs,
        rebalanceTimeoutMs: this.opts.rebalanceTimeoutMs,
        memberId: this.memberId,
        groupInstanceId: this.groupInstanceId,
        protocolType: 'consumer',
        protocols,
        reason: null,
      }), joinTimeout);
      if (join.errorCode === ErrorCode.MEMBER_ID_REQUIRED) {
        // KIP-394: the coordinator hands out the member id; join again with it.
        this.memberId = join.memberId;
        continue;
      }
      break;
    }
    if (join.errorCode !== ErrorCode.NONE) {
      this.onMembershipError(join.errorCode);
      throw new KafkaProtocolError(join.errorCode, `JoinGroup ${this.opts.groupId}`);
    }
    this.memberId = join.memberId;
    this.generationId = join.generationId;
    this.protocolName = join.protocolName;
    this.leaderId = join.leader;
    let assignments: { memberId: string; assignment: Buffer }[] = [];
    this.assignedCounts = null;
    if (join.leader === join.memberId && !join.skipAssignment) assignments = await this.leaderAssign(join);
    const sync = await this.toCoordinator(ApiKey.SyncGroup, SyncGroupRequest, SyncGroupResponse, () => ({
      groupId: this.opts.groupId,
      generationId: this.generationId,
      memberId: this.memberId,
      groupInstanceId: this.groupInstanceId,
      protocolType: 'consumer',
      protocolName: this.protocolName,
      assignments,
    }), joinTimeout);
    if (sync.errorCode !== ErrorCode.NONE) {
      this.onMembershipError(sync.errorCode);
      throw new KafkaProtocolError(sync.errorCode, `SyncGroup ${this.opts.groupId}`);
    }
    const assigned = decodeAssignment(sync.assignment);
    const before = this.host.owned();
    const revoked = minus(before, assigned);
    const added = minus(assigned, before);
    this.needRejoin = false;
    this.rebalances++;
    this.lastHeartbeatOk = Date.now();
    this.startHeartbeat();
    if (revoked.length > 0) {
      await this.host.revoke(revoked);
      // KIP-429: the partitions we gave up go to their new owners in a follow-up rebalance.
      if (this.rebalanceProtocol() === 'cooperative') this.needRejoin = true;
    }
    await this.host.assign(added);
    if (!this.needRejoin) for (const w of this.stableWaiters.splice(0)) w();
  }

  private rebalanceProtocol(): 'eager' | 'cooperative' {
    const chosen = this.opts.assignors.find((a) => a.name === this.protocolName);
    if (chosen) return chosen.protocol;
    // Before the first join: cooperative only when every assignor we offer is cooperative (as Java).
    return this.opts.assignors.every((a) => a.protocol === 'cooperative') ? 'cooperative' : 'eager';
  }

  private async leaderAssign(join: JoinGroupResponse): Promise<{ memberId: string; assignment: Buffer }[]> {
    const assignor = this.opts.assignors.find((a) => a.name === join.protocolName);
    if (!assignor) throw new KafkaProtocolError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, `the coordinator chose ${join.protocolName}, which this consumer does not offer`);
    const members = join.members.map((m) => decodeSubscription(m.memberId, m.groupInstanceId, m.metadata));
    const topics = [...new Set(members.flatMap((m) => m.topics))];
    const counts = new Map<string, number>();
    await this.cluster.refreshMetadata(topics);
    for (const t of topics) {
      try {
        counts.set(t, (await this.cluster.topic(t)).partitions.length);
      } catch {
        counts.set(t, 0); // a topic that does not exist gets no partitions, as in Java
      }
    }
    this.assignedCounts = counts;
    const result = assignor.assign(members, counts);
    return members.map((m) => ({ memberId: m.memberId, assignment: encodeAssignment(result.get(m.memberId) ?? []) }));
  }

  private onMembershipError(code: number): void {
    if (code === ErrorCode.UNKNOWN_MEMBER_ID || code === ErrorCode.ILLEGAL_GENERATION || code === ErrorCode.FENCED_INSTANCE_ID) {
      this.memberId = code === ErrorCode.ILLEGAL_GENERATION ? this.memberId : '';
      this.generationId = -1;
      const owned = this.host.owned();
      if (owned.length > 0) void this.host.lose(owned);
    }
    this.needRejoin = true;
  }

  // ------------------------------------------------------------------------------------------------
  // Heartbeats
  // ------------------------------------------------------------------------------------------------

  private startHeartbeat(): void {
    this.stopHeartbeat();
    const tick = async () => {
      this.heartbeatTimer = null;
      if (this.closed || this.needRejoin) return;
      const gen = this.generationId;
      try {
        const res = await this.toCoordinator(ApiKey.Heartbeat, HeartbeatRequest, HeartbeatResponse, () => ({
          groupId: this.opts.groupId,
          generationId: gen,
          memberId: this.memberId,
          groupInstanceId: this.groupInstanceId,
        }));
        if (this.closed || gen !== this.generationId) return;
        if (res.errorCode === ErrorCode.NONE) this.lastHeartbeatOk = Date.now();
        else if (res.errorCode === ErrorCode.REBALANCE_IN_PROGRESS) {
          this.requestRejoin();
          return;
        } else if (!COORDINATOR_CODES.has(res.errorCode)) {
          this.onMembershipError(res.errorCode);
          this.wake();
          return;
        }
      } catch {
        /* connection trouble: try again next tick; the session may still be alive */
      }
      if (Date.now() - this.lastHeartbeatOk > this.opts.sessionTimeoutMs) {
        // Our session has surely expired at the coordinator: our partitions are someone else's now.
        this.onMembershipError(ErrorCode.UNKNOWN_MEMBER_ID);
        this.wake();
        return;
      }
      if (this.assignedCounts && this.cluster.metadataStale) this.checkPartitionCounts();
      if (!this.closed && !this.needRejoin) this.heartbeatTimer = setTimeout(tick, this.opts.heartbeatIntervalMs);
    };
    this.heartbeatTimer = setTimeout(tick, this.opts.heartbeatIntervalMs);
  }

  /**
   * The leader watches the subscribed topics' partition counts (refreshed every metadataMaxAgeMs) and
   * asks for a rebalance when one changed, so new partitions get consumed (as the Java leader does).
   */
  private checkPartitionCounts(): void {
    const counts = this.assignedCounts;
    if (!counts || this.checkingMetadata) return;
    this.checkingMetadata = true;
    void this.cluster
      .refreshMetadata(counts.keys())
      .then(() => {
        if (this.assignedCounts !== counts) return;
        for (const [topic, n] of counts) {
          const now = this.cluster.topics.get(topic)?.partitions.length ?? 0;
          if (now !== n) {
            this.requestRejoin();
            return;
          }
        }
      }, () => {})
      .finally(() => {
        this.checkingMetadata = false;
      });
  }

  private stopHeartbeat(): void {
    if (this.heartbeatTimer) clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = null;
  }

  // ------------------------------------------------------------------------------------------------
  // Offsets
  // ------------------------------------------------------------------------------------------------

  /** Commit offsets (the next offset to read per partition). Throws on any partition's error. */
  async commit(offsets: { topic: string; partition: number; offset: number; metadata?: string | null }[]): Promise<void> {
    if (offsets.length === 0) return;
    const byTopic = new Map<string, { partitionIndex: number; committedOffset: bigint; committedMetadata: string | null }[]>();
    for (const o of offsets) {
      let l = byTopic.get(o.topic);
      if (!l) byTopic.set(o.topic, (l = []));
      l.push({ partitionIndex: o.partition, committedOffset: BigInt(o.offset), committedMetadata: o.metadata ?? '' });
    }
    const topics = [...byTopic].map(([name, partitions]) => ({ name, partitions }));
    const res = await this.toCoordinator(ApiKey.OffsetCommit, OffsetCommitRequest, OffsetCommitResponse, () => ({
      groupId: this.opts.groupId,
      generationIdOrMemberEpoch: this.generationId,
      memberId: this.memberId,
      groupInstanceId: this.groupInstanceId,
      topics,
    }));
    for (const t of res.topics) {
      for (const p of t.partitions) {
        if (p.errorCode === ErrorCode.NONE) continue;
        if (COORDINATOR_CODES.has(p.errorCode)) this.coordinatorId = -1;
        if (p.errorCode === ErrorCode.REBALANCE_IN_PROGRESS) this.requestRejoin();
        else if (p.errorCode === ErrorCode.UNKNOWN_MEMBER_ID || p.errorCode === ErrorCode.ILLEGAL_GENERATION) this.onMembershipError(p.errorCode), this.wake();
        throw new KafkaProtocolError(p.errorCode, `OffsetCommit ${t.name}-${p.partitionIndex}`);
      }
    }
  }

  /** Committed offsets (-1 when none) for the given partitions. */
  async committed(tps: TopicPartition[]): Promise<Map<string, number>> {
    return fetchCommittedOffsets(this.cluster, this.opts.groupId, tps, (v, b) => this.toCoordinator(ApiKey.OffsetFetch, OffsetFetchRequest, OffsetFetchResponse, b));
  }

  /** Leave the group (LeaveGroup) and stop heartbeating. */
  async leave(): Promise<void> {
    this.closed = true;
    this.stopHeartbeat();
    this.wake();
    for (const w of this.stableWaiters.splice(0)) w();
    if (this.memberId === '' || this.coordinatorId < 0) return;
    try {
      await this.toCoordinator(ApiKey.LeaveGroup, LeaveGroupRequest, LeaveGroupResponse, (v) =>
        v >= 3 ? { groupId: this.opts.groupId, members: [{ memberId: this.memberId, groupInstanceId: this.groupInstanceId, reason: 'the consumer is being closed' }] } : { groupId: this.opts.groupId, memberId: this.memberId },
        5000,
      );
    } catch {
      /* the session times out at the coordinator anyway */
    }
    this.generationId = -1;
  }

  /** Close without leaving (static members keep their place until the session times out). */
  stop(): void {
    this.closed = true;
    this.stopHeartbeat();
    this.wake();
  }

  get isClosed(): boolean {
    return this.closed;
  }
}

/** FindCoordinator key types: a consumer group's coordinator, or a transactional id's (KIP-98). */
export const CoordinatorKeyType = { group: 0, transaction: 1 } as const;

/**
 * The node id of the coordinator for a group or transactional id (FindCoordinator; v4+ batches keys,
 * one key here). The coordinator is added to the known brokers if metadata has not named it yet.
 * Throws KafkaProtocolError with the answer's code (COORDINATOR_NOT_AVAILABLE is retriable).
 */
export async function findCoordinator(cluster: Cluster, keyType: number, key: string): Promise<number> {
  const res = await cluster.send(undefined, ApiKey.FindCoordinator, FindCoordinatorRequest, FindCoordinatorResponse, (v) =>
    v >= 4 ? { keyType, coordinatorKeys: [key] } : { key, keyType },
  );
  let c: { nodeId: number; host: string; port: number; errorCode: number; errorMessage: string | null };
  if (res.coordinators.length > 0) c = res.coordinators[0]!;
  else c = res;
  if (c.errorCode !== ErrorCode.NONE) throw new KafkaProtocolError(c.errorCode, c.errorMessage ?? `FindCoordinator ${key}`);
  if (!cluster.brokers.has(c.nodeId)) cluster.brokers.set(c.nodeId, { nodeId: c.nodeId, host: c.host, port: c.port, rack: null });
  return c.nodeId;
}

/**
 * What a transactional producer needs to commit a consumer's offsets in a transaction (KIP-447):
 * `Consumer.groupMetadata()`. The coordinator refuses the commit of a member that is no longer in the
 * group's current generation, so a zombie consumer cannot commit after a rebalance.
 */
export interface ConsumerGroupMetadata {
  groupId: string;
  /** -1 outside a generation (assign() with a groupId). */
  generationId: number;
  /** '' outside a generation. */
  memberId: string;
  groupInstanceId: string | null;
}

/** Coordinator moved or is loading: find it again and retry. */
const COORDINATOR_CODES = new Set<number>([ErrorCode.NOT_COORDINATOR, ErrorCode.COORDINATOR_NOT_AVAILABLE, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS]);
/** Errors after which a rejoin is the cure, not a failure for the application. */
const REJOIN_CODES = new Set<number>([
  ErrorCode.UNKNOWN_MEMBER_ID,
  ErrorCode.ILLEGAL_GENERATION,
  ErrorCode.REBALANCE_IN_PROGRESS,
  ErrorCode.MEMBER_ID_REQUIRED,
  ErrorCode.NOT_COORDINATOR,
  ErrorCode.COORDINATOR_NOT_AVAILABLE,
  ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
  ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
]);

/**
 * OffsetFetch for one group, in the v8+ (groups array) or older (one group) form. `send` delivers the
 * request to the group's coordinator.
 */
export async function fetchCommittedOffsets(
  cluster: Cluster,
  groupId: string,
  tps: TopicPartition[] | null,
  send: (version: number, body: (v: number) => import('../protocol/codec/message.js').Init<OffsetFetchRequest>) => Promise<OffsetFetchResponse>,
): Promise<Map<string, number>> {
  let topics: { name: string; partitionIndexes: number[] }[] | null = null;
  if (tps) {
    const byTopic = new Map<string, number[]>();
    for (const tp of tps) {
      let l = byTopic.get(tp.topic);
      if (!l) byTopic.set(tp.topic, (l = []));
      l.push(tp.partition);
    }
    topics = [...byTopic].map(([name, partitionIndexes]) => ({ name, partitionIndexes }));
  }
  return cluster.retry(async () => {
    const res = await send(-1, (v) => (v >= 8 ? { groups: [{ groupId, topics }], requireStable: true } : { groupId, topics, requireStable: true }));
    const out = new Map<string, number>();
    const groupError = res.groups.length > 0 ? res.groups[0]!.errorCode : res.errorCode;
    if (groupError !== ErrorCode.NONE) throw new KafkaProtocolError(groupError, `OffsetFetch ${groupId}`);
    const list = res.groups.length > 0 ? res.groups[0]!.topics : res.topics;
    for (const t of list) {
      for (const p of t.partitions) {
        if (p.errorCode !== ErrorCode.NONE) throw new KafkaProtocolError(p.errorCode, `OffsetFetch ${groupId} ${t.name}-${p.partitionIndex}`);
        out.set(`${t.name}\u0000${p.partitionIndex}`, Number(p.committedOffset));
      }
    }
    return out;
  });
}

export { ClientClosedError };
