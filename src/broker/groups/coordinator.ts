/**
 * The group coordinator (classic protocol): the one owner of every consumer group and of committed
 * offsets. Handlers for JoinGroup, SyncGroup, Heartbeat, LeaveGroup, OffsetCommit, OffsetFetch,
 * OffsetDelete, ListGroups, DescribeGroups and DeleteGroups call it; it runs on the broker's event
 * loop like them. Its rules are Kafka's (GroupMetadataManager / ClassicGroup in Kafka's
 * group-coordinator module), restated here:
 *
 * - Join phase. The first member of an Empty group starts a rebalance that waits
 *   `group.initial.rebalance.delay.ms`, extended (up to the rebalance timeout) while new members keep
 *   arriving. Later rebalances end as soon as every member has rejoined, or at the largest
 *   rebalance timeout, when members that did not rejoin are dropped (static ones are kept).
 * - JoinGroup v4+ from a dynamic member without a member id is answered MEMBER_ID_REQUIRED with an
 *   id to join with (KIP-394); that id is pending until the second JoinGroup or its session timeout.
 * - Sync phase. The leader gets every member's metadata for the selected protocol (the protocol all
 *   members support that most prefer) and sends the assignment in SyncGroup; followers' SyncGroups
 *   wait for it. Members that do not sync within the rebalance timeout are dropped.
 * - Sessions. Every member must heartbeat (or commit) within its session timeout, else it is
 *   removed and the group rebalances; members waiting for a join/sync answer are spared.
 * - Static members (KIP-345): a known group.instance.id joining without a member id takes over the
 *   old member id (which is fenced: FENCED_INSTANCE_ID) and, in a Stable group whose protocol does
 *   not change, gets its old assignment back without a rebalance.
 * - Offsets are written through the storage engine; group metadata (generation, protocol, leader,
 *   members with assignments) is written at each generation and assignment and reloaded at start.
 *   Offsets of an Empty group expire `offsets.retention.minutes` after it became empty; an Empty
 *   group left without offsets is deleted.
 *
 * Storage writes of one group (metadata, offset commits and deletes, expiry) go through one queue
 * per group, so they reach the engine in the order they were decided. State changes never wait for a
 * write except where Kafka's do (the assignment is handed out once it is stored).
 */
import { SYSTEM_CLOCK, type Clock } from '../../base/clock.js';
import { randomUUID } from 'node:crypto';
import { ErrorCode } from '../../protocol/error-codes.js';
import type { BrokerConfig } from '../../config/types.js';
import type { CommittedOffset, GroupOffsetEntry, StorageEngine } from '../../storage/engine.js';
import type { Logger } from '../logger.js';
import type { Topic } from '../topics.js';
import {
  CONSUMER_PROTOCOL_TYPE,
  ClassicGroup,
  EMPTY_BYTES,
  GroupMember,
  joinError,
  syncError,
  type GroupProtocol,
  type GroupState,
  type JoinOutcome,
  type JoinResponder,
  type SyncOutcome,
  type SyncResponder,
} from './group.js';
import { CONSUMER_GROUP_METADATA_FORMAT, CONSUMER_GROUP_METADATA_FORMAT_V2, decodeGroupMetadata, encodeGroupMetadata, storedGroupFormat, type StoredGroup } from './persist.js';
import {
  ConsumerGroups,
  type ClassicGroupSnapshot,
  type ConsumerHeartbeatArgs,
  type ConsumerHeartbeatOutcome,
  type DescribedConsumerGroup,
  type DowngradedGroup,
} from './consumer-groups.js';
import { embeddedVersion, encodeClassicAssignment } from './classic-protocol.js';
import { GroupConfigs } from './group-configs.js';
import { KeyedTimer } from './timer.js';
import { consumerGroupLag, type PartitionLag } from './lag.js';

/**
 * How long a new member's JoinGroup may stay parked before the member is dropped (Kafka's fixed
 * 5 minutes): a client that timed out and retried must not leave defunct members behind forever.
 */
export const NEW_MEMBER_JOIN_TIMEOUT_MS = 300_000;

/** OffsetCommit's `retention_time_ms` default: no retention of its own (Kafka's DEFAULT_RETENTION_TIME). */
export const DEFAULT_RETENTION_TIME_MS = -1;

/**
 * The error a failed storage write is answered with. Kafka maps a failed append to the offsets
 * topic (KAFKA_STORAGE_ERROR on the coordinator's log) to NOT_COORDINATOR, which every client
 * treats as "find the coordinator again and retry".
 */
export const STORAGE_FAILURE = ErrorCode.NOT_COORDINATOR;

/** What the coordinator needs of the broker. */
export interface CoordinatorDeps {
  readonly config: BrokerConfig;
  readonly storage: StorageEngine;
  readonly log: Logger;
  readonly topics: {
    get(name: string): Topic | undefined;
    getById(id: string): Topic | undefined;
    list(): Topic[];
    hasPartition(name: string, partition: number): boolean;
    /** Moves on every topic change (consumer-protocol groups re-resolve their subscriptions). */
    readonly version: number;
  };
  /** Session, join and sync deadlines and offset expiry run on it (default: the system clock). */
  readonly clock?: Clock;
}

export interface JoinArgs {
  groupId: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  memberId: string;
  groupInstanceId: string | null;
  protocolType: string;
  protocols: GroupProtocol[];
  reason: string | null;
  apiVersion: number;
  clientId: string;
  /** Kafka's form of the client's address, e.g. `/127.0.0.1`. */
  clientHost: string;
}

export interface SyncArgs {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  protocolType: string | null;
  protocolName: string | null;
  assignments: { memberId: string; assignment: Buffer }[];
  apiVersion: number;
}

export interface MemberIdentity {
  memberId: string;
  groupInstanceId: string | null;
  reason: string | null;
}

export interface LeaveOutcome {
  errorCode: number;
  members: { memberId: string; groupInstanceId: string | null; errorCode: number }[];
}

export interface CommitPartition {
  partitionIndex: number;
  committedOffset: bigint;
  committedLeaderEpoch: number;
  committedMetadata: string | null;
}

export interface CommitArgs {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  apiVersion: number;
  /**
   * OffsetCommit v2–4 `retention_time_ms`: -1 (the default, and every later version) leaves expiry
   * to `offsets.retention.minutes`; any other value makes the offsets expire that long after the commit.
   */
  retentionTimeMs: number;
  topics: { name: string; partitions: CommitPartition[] }[];
}

export interface PartitionResult {
  partitionIndex: number;
  errorCode: number;
}

export interface TopicPartitionsResult {
  name: string;
  partitions: PartitionResult[];
}

export interface FetchedOffset {
  partitionIndex: number;
  committedOffset: bigint;
  committedLeaderEpoch: number;
  metadata: string | null;
  errorCode: number;
}

export interface FetchOutcome {
  errorCode: number;
  topics: { name: string; partitions: FetchedOffset[] }[];
}

export interface ListedGroup {
  groupId: string;
  protocolType: string;
  groupState: string;
  groupType: 'classic' | 'consumer';
}

export interface DescribedGroup {
  errorCode: number;
  /** Why a group is described as Dead when it exists (a consumer-protocol group; DescribeGroups v6+). */
  errorMessage?: string;
  groupId: string;
  groupState: GroupState;
  protocolType: string;
  protocolData: string;
  members: {
    memberId: string;
    groupInstanceId: string | null;
    clientId: string;
    clientHost: string;
    memberMetadata: Buffer;
    memberAssignment: Buffer;
  }[];
}

type StoredOffset = CommittedOffset & { topic: string; partition: number };

/** A group as the offset retention pass sees it, classic or consumer-protocol. */
interface RetentionSubject {
  readonly groupId: string;
  /** Still the live group under its id. */
  current(): boolean;
  /** From when an offset's retention counts, or null when the group's offsets do not expire now. */
  base(): ((o: StoredOffset) => number) | null;
  subscribed(topic: string): boolean;
  empty(): boolean;
  remove(): Promise<number>;
}

const NO_OFFSET: Omit<FetchedOffset, 'partitionIndex' | 'errorCode'> = { committedOffset: -1n, committedLeaderEpoch: -1, metadata: '' };

export class GroupCoordinator {
  private readonly groups = new Map<string, ClassicGroup>();
  private readonly timer: KeyedTimer;
  /** Per group: the tail of its queue of storage writes. */
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly inFlight = new Set<Promise<unknown>>();
  /**
   * loading: not serving yet; active; stopping: the broker is shutting down — requests already read
   * are still served (offsets are committed) but nothing parks or schedules any more; closed.
   */
  private phase: 'loading' | 'active' | 'stopping' | 'closed' = 'loading';
  /** The coordinator's clock (ms since the epoch); tests of expiry substitute their own. */
  now: () => number;
  /** KIP-848 consumer-protocol groups (consumer-groups.ts); group ids are shared with classic groups. */
  readonly consumer: ConsumerGroups;
  /** Per-group config overrides (KIP-848: consumer.session.timeout.ms, consumer.heartbeat.interval.ms). */
  readonly configs: GroupConfigs;

  constructor(private readonly deps: CoordinatorDeps) {
    const clock = deps.clock ?? SYSTEM_CLOCK;
    this.now = () => clock.now();
    this.timer = new KeyedTimer((key, err) => deps.log.error(`group coordinator timer ${key}: ${(err as Error).stack ?? String(err)}`), clock);
    const self = this;
    this.configs = new GroupConfigs(deps.config, deps.storage, deps.log);
    this.consumer = new ConsumerGroups({
      groupConfigs: this.configs,
      config: deps.config,
      storage: deps.storage,
      log: deps.log,
      topics: deps.topics,
      timer: this.timer,
      now: () => this.now(),
      serial: (groupId, fn) => this.serial(groupId, fn),
      classicGroup: (groupId) => {
        const g = this.groups.get(groupId);
        if (!g || g.is('Dead')) return null;
        return g.is('Empty') && g.pendingJoinMembers.size === 0 ? 'empty' : 'members';
      },
      classicGroupSnapshot: (groupId) => this.classicGroupSnapshot(groupId),
      dropClassicGroup: (groupId, upgraded) => (upgraded ? this.dropUpgradedClassicGroup(groupId) : this.dropEmptyClassicGroup(groupId)),
      installClassicGroup: (groupId, downgraded) => this.installDowngradedGroup(groupId, downgraded),
      get serving() {
        if (!self.isActive) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
        return self.isStopping ? ErrorCode.NOT_COORDINATOR : 'active';
      },
    });
  }

  private get config(): BrokerConfig {
    return this.deps.config;
  }

  /** False while loading and once closed: requests are answered COORDINATOR_NOT_AVAILABLE. */
  get isActive(): boolean {
    return this.phase === 'active' || this.phase === 'stopping';
  }

  /** Joining and syncing (which may park a request) stop at shutdown: NOT_COORDINATOR, as Kafka answers. */
  private get isStopping(): boolean {
    return this.phase === 'stopping';
  }

  // ---- lifecycle ---------------------------------------------------------------------------------

  /** Rebuild groups from stored metadata and committed offsets; then start serving. */
  async load(): Promise<void> {
    const storage = this.deps.storage;
    this.configs.load();
    for (const [groupId, value] of storage.groupMetadata()) this.restoreStored(groupId, value);
    for (const groupId of storage.listOffsetGroups()) {
      if (!this.groups.has(groupId) && !this.consumer.has(groupId)) this.groups.set(groupId, new ClassicGroup(groupId, () => this.now()));
    }
    this.phase = 'active';
    this.consumer.startTimers();
    for (const group of this.groups.values()) {
      for (const m of group.members.values()) this.scheduleHeartbeat(group, m, m.sessionTimeoutMs);
      if (group.members.size > this.config.groupMaxSize) {
        this.prepareRebalance(group, `loaded with ${group.members.size} members, over group.max.size=${this.config.groupMaxSize}`);
      }
    }
    const loaded = this.groups.size + [...this.consumer.all()].length;
    if (loaded > 0) this.deps.log.info(`group coordinator loaded ${loaded} group(s)`);
    this.scheduleRetention();
  }

  /** One stored group back in memory (classic or consumer protocol); logged and skipped when unreadable. */
  private restoreStored(groupId: string, value: Buffer): void {
    let stored: StoredGroup;
    try {
      if (value.length >= 2 && [CONSUMER_GROUP_METADATA_FORMAT, CONSUMER_GROUP_METADATA_FORMAT_V2].includes(storedGroupFormat(value))) {
        this.consumer.restore(groupId, value);
        return;
      }
      stored = decodeGroupMetadata(value);
    } catch (err) {
      this.deps.log.error(`group ${groupId}: stored metadata unreadable (${(err as Error).message}); group not loaded`);
      return;
    }
    this.groups.set(groupId, this.restore(groupId, stored));
  }

  /**
   * Brokers sharing a database (src/broker/shared-cluster.ts): this broker no longer coordinates the
   * group. It is forgotten without a storage write (the new coordinator owns the stored state now);
   * members parked in JoinGroup or SyncGroup are answered NOT_COORDINATOR and look for the new one.
   */
  unload(groupId: string): void {
    const g = this.groups.get(groupId);
    if (g) {
      for (const m of [...g.members.values()]) {
        g.completeJoin(m, joinError(ErrorCode.NOT_COORDINATOR, m.memberId));
        m.completeSync(syncError(ErrorCode.NOT_COORDINATOR));
        this.timer.cancel(heartbeatKey(groupId, m.memberId));
      }
      this.forgetClassicGroup(g);
    }
    this.consumer.drop(groupId);
  }

  /** This broker coordinates the group now: rebuild it from what storage holds (just reloaded from the database). */
  reload(groupId: string): void {
    this.unload(groupId);
    const storage = this.deps.storage;
    const value = storage.groupMetadata().get(groupId);
    if (value !== undefined) this.restoreStored(groupId, value);
    else if (storage.fetchOffsets(groupId).size > 0) this.groups.set(groupId, new ClassicGroup(groupId, () => this.now()));
    if (this.phase !== 'active') return;
    const group = this.groups.get(groupId);
    if (group) for (const m of group.members.values()) this.scheduleHeartbeat(group, m, m.sessionTimeoutMs);
    this.consumer.startTimers(groupId);
  }

  /** Group ids in memory, classic and consumer protocol. */
  loadedGroupIds(): string[] {
    return [...this.groups.keys(), ...[...this.consumer.all()].map((g) => g.groupId)];
  }

  private restore(groupId: string, s: StoredGroup): ClassicGroup {
    const g = new ClassicGroup(groupId, () => this.now());
    g.protocolType = s.protocolType;
    g.generationId = s.generationId;
    g.protocolName = s.protocolName;
    for (const sm of s.members) {
      const protocols = s.protocolName === null ? [] : [{ name: s.protocolName, metadata: sm.subscription }];
      const m = new GroupMember(sm.memberId, sm.groupInstanceId, sm.clientId, sm.clientHost, sm.rebalanceTimeoutMs, sm.sessionTimeoutMs, s.protocolType ?? '', protocols);
      m.assignment = sm.assignment;
      g.add(m, null);
    }
    g.leaderId = s.leaderId;
    // Kafka loads a group with members as Stable and one without as Empty.
    g.state = g.members.size > 0 ? 'Stable' : 'Empty';
    g.stateTimestampMs = s.stateTimestampMs;
    g.subscribedTopics = g.computeSubscribedTopics();
    return g;
  }

  /**
   * Begin shutdown: answer every parked JoinGroup/SyncGroup with NOT_COORDINATOR (as Kafka does when
   * it unloads a group, so clients look for the coordinator again) and stop all timers. Requests the
   * broker already read are still served — a consumer's last offset commit is stored — but JoinGroup
   * and SyncGroup are answered NOT_COORDINATOR from now on. `close` finishes.
   */
  shutdown(): void {
    if (this.phase === 'stopping' || this.phase === 'closed') return;
    this.phase = 'stopping';
    this.timer.stop();
    for (const g of this.groups.values()) {
      for (const m of g.members.values()) {
        g.completeJoin(m, joinError(ErrorCode.NOT_COORDINATOR, m.memberId));
        m.completeSync(syncError(ErrorCode.NOT_COORDINATOR));
      }
    }
  }

  /** Finish shutdown: wait for every queued storage write (call before storage closes). */
  async close(): Promise<void> {
    this.shutdown();
    await this.flush();
    this.phase = 'closed';
  }

  /** Resolves once every storage write started so far has settled. */
  async flush(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  // ---- JoinGroup ---------------------------------------------------------------------------------

  joinGroup(a: JoinArgs): Promise<JoinOutcome> {
    if (!this.isActive) return Promise.resolve(joinError(ErrorCode.COORDINATOR_NOT_AVAILABLE, a.memberId));
    if (this.isStopping) return Promise.resolve(joinError(ErrorCode.NOT_COORDINATOR, a.memberId));
    if (a.groupId === '') return Promise.resolve(joinError(ErrorCode.INVALID_GROUP_ID, a.memberId));
    if (a.sessionTimeoutMs < this.config.groupMinSessionTimeoutMs || a.sessionTimeoutMs > this.config.groupMaxSessionTimeoutMs) {
      return Promise.resolve(joinError(ErrorCode.INVALID_SESSION_TIMEOUT, a.memberId));
    }
    return new Promise((resolve) => this.join(a, resolve));
  }

  private join(a: JoinArgs, respond: JoinResponder): void {
    const isUnknown = a.memberId === '';
    const consumerGroup = this.consumer.get(a.groupId);
    if (consumerGroup) {
      // A classic member joining a consumer-protocol group with members is served by that group, as
      // one of its classic members (KIP-848's online migration, consumer-groups.ts classicJoin). An
      // empty one is replaced by a classic group, as Kafka does; its offsets stay.
      if (consumerGroup.members.size > 0) {
        this.consumer.classicJoin(consumerGroup, a).then(respond, (err: unknown) => {
          this.deps.log.error(`group ${a.groupId}: classic join into the consumer group failed: ${(err as Error).stack ?? String(err)}`);
          respond(joinError(ErrorCode.UNKNOWN_SERVER_ERROR, a.memberId));
        });
        return;
      }
      this.consumer.drop(a.groupId);
      this.serial(a.groupId, () => this.deps.storage.putGroupMetadata(a.groupId, null)).catch((err: unknown) =>
        this.deps.log.warn(`group ${a.groupId}: could not remove the replaced consumer group: ${(err as Error).message}`),
      );
    }
    let group = this.groups.get(a.groupId);
    if (!group) {
      // A member id for a group that does not exist is stale (the group expired or was deleted).
      if (!isUnknown) return respond(joinError(ErrorCode.UNKNOWN_MEMBER_ID, a.memberId));
      group = new ClassicGroup(a.groupId, () => this.now());
      this.groups.set(a.groupId, group);
    }
    if (!this.acceptJoiningMember(group, a.memberId)) {
      if (group.members.has(a.memberId)) this.removeMember(group, a.memberId, ErrorCode.GROUP_MAX_SIZE_REACHED);
      respond(joinError(ErrorCode.GROUP_MAX_SIZE_REACHED, ''));
      this.maybeCompleteJoinPhase(group);
      return;
    }
    if (isUnknown) this.joinNewMember(a, group, respond);
    else this.joinExistingMember(a, group, respond);
  }

  /** `group.max.size`: existing members are always let back in; new ones only while there is room. */
  private acceptJoiningMember(group: ClassicGroup, memberId: string): boolean {
    const max = this.config.groupMaxSize;
    switch (group.state) {
      case 'Empty':
      case 'Dead':
        return true;
      case 'PreparingRebalance':
        // Counting members that rejoined (not all members) lets the last ones to rejoin be turned
        // away when the group is over the limit (e.g. after the limit was lowered).
        return group.member(memberId)?.isAwaitingJoin === true || group.numAwaitingJoinResponse < max;
      case 'CompletingRebalance':
      case 'Stable':
        return group.members.has(memberId) || group.members.size < max;
    }
  }

  private joinNewMember(a: JoinArgs, group: ClassicGroup, respond: JoinResponder): void {
    if (group.is('Dead')) return respond(joinError(ErrorCode.COORDINATOR_NOT_AVAILABLE, ''));
    if (!group.supportsProtocols(a.protocolType, a.protocols)) return respond(joinError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, ''));
    const newMemberId = `${a.groupInstanceId ?? a.clientId}-${randomUUID()}`;
    if (a.groupInstanceId !== null) {
      const existing = group.staticMemberId(a.groupInstanceId);
      if (existing !== undefined) return this.replaceStaticMember(a, group, existing, newMemberId, respond);
      return this.addMember(a, group, newMemberId, respond);
    }
    if (a.apiVersion >= 4) {
      // KIP-394: hand out the id and have the client join again with it, so a client that retries
      // after a timeout cannot leave nameless members behind. The id lives for one session timeout.
      group.pendingJoinMembers.add(newMemberId);
      this.timer.schedule(heartbeatKey(group.groupId, newMemberId), a.sessionTimeoutMs, () => this.expireHeartbeat(group, newMemberId));
      return respond(joinError(ErrorCode.MEMBER_ID_REQUIRED, newMemberId));
    }
    this.addMember(a, group, newMemberId, respond);
  }

  private joinExistingMember(a: JoinArgs, group: ClassicGroup, respond: JoinResponder): void {
    if (group.is('Dead')) return respond(joinError(ErrorCode.COORDINATOR_NOT_AVAILABLE, a.memberId));
    if (!group.supportsProtocols(a.protocolType, a.protocols)) return respond(joinError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, a.memberId));
    if (group.pendingJoinMembers.has(a.memberId) && a.groupInstanceId === null) return this.addMember(a, group, a.memberId, respond);
    const error = group.validateMember(a.memberId, a.groupInstanceId);
    if (error !== ErrorCode.NONE) return respond(joinError(error, a.memberId));
    const member = group.member(a.memberId)!;
    switch (group.state) {
      case 'PreparingRebalance':
        return this.updateMemberThenRebalance(a, group, member, respond, 'member rejoining during PreparingRebalance');
      case 'CompletingRebalance':
        // The same metadata again: the member missed the join answer; give it the current one.
        if (member.matches(a.protocols)) return respond(this.currentJoin(group, a.memberId, group.isLeader(a.memberId)));
        return this.updateMemberThenRebalance(a, group, member, respond, 'member metadata changed during CompletingRebalance');
      case 'Stable':
        // A leader's JoinGroup always rebalances (it may have seen topic metadata change).
        if (group.isLeader(a.memberId)) return this.updateMemberThenRebalance(a, group, member, respond, 'leader rejoined');
        if (!member.matches(a.protocols)) return this.updateMemberThenRebalance(a, group, member, respond, 'member metadata changed');
        return respond(this.currentJoin(group, a.memberId, false));
      case 'Empty':
      case 'Dead':
        return respond(joinError(ErrorCode.UNKNOWN_MEMBER_ID, a.memberId));
    }
  }

  private currentJoin(group: ClassicGroup, memberId: string, withMembers: boolean, leader = group.leaderId ?? '', skipAssignment = false): JoinOutcome {
    return {
      errorCode: ErrorCode.NONE,
      generationId: group.generationId,
      protocolType: group.protocolType,
      protocolName: group.protocolName,
      leader,
      skipAssignment,
      memberId,
      members: withMembers ? group.joinMembers() : [],
    };
  }

  private addMember(a: JoinArgs, group: ClassicGroup, memberId: string, respond: JoinResponder): void {
    const member = new GroupMember(memberId, a.groupInstanceId, a.clientId, a.clientHost, a.rebalanceTimeoutMs, a.sessionTimeoutMs, a.protocolType, a.protocols);
    member.isNew = true;
    // During the initial rebalance each new member extends the delay once more.
    if (group.is('PreparingRebalance') && group.previousState === 'Empty') group.newMemberAdded = true;
    group.add(member, respond);
    this.scheduleHeartbeat(group, member, NEW_MEMBER_JOIN_TIMEOUT_MS);
    this.maybePrepareRebalanceOrCompleteJoin(group, `new member ${memberId} joined${a.reason ? ` (${a.reason})` : ''}`);
  }

  private updateMemberThenRebalance(a: JoinArgs, group: ClassicGroup, member: GroupMember, respond: JoinResponder, reason: string): void {
    group.updateMember(member, a.protocols, a.rebalanceTimeoutMs, a.sessionTimeoutMs, respond);
    this.maybePrepareRebalanceOrCompleteJoin(group, `${reason}: ${member.memberId}${a.reason ? ` (${a.reason})` : ''}`);
  }

  /** KIP-345: a known static member restarted and joined without its member id. */
  private replaceStaticMember(a: JoinArgs, group: ClassicGroup, oldMemberId: string, newMemberId: string, respond: JoinResponder): void {
    const leaderBefore = group.leaderId ?? '';
    this.timer.cancel(heartbeatKey(group.groupId, oldMemberId));
    const member = group.replaceStaticMember(a.groupInstanceId!, oldMemberId, newMemberId);
    this.scheduleHeartbeat(group, member, member.sessionTimeoutMs);
    const before = { protocols: member.protocols, rebalanceTimeoutMs: member.rebalanceTimeoutMs, sessionTimeoutMs: member.sessionTimeoutMs };
    group.updateMember(member, a.protocols, a.rebalanceTimeoutMs, a.sessionTimeoutMs, respond);
    switch (group.state) {
      case 'Stable': {
        if (group.protocolName !== group.selectProtocol()) {
          return this.maybePrepareRebalanceOrCompleteJoin(group, `static member ${a.groupInstanceId} rejoined with other protocols`);
        }
        // No rebalance: store the new member id, then give the member the current generation. From
        // v9 the leader is told to skip assignment; before, the answer names the old leader id so a
        // returning leader acts as a follower and just fetches its assignment (Kafka's behaviour).
        const generation = group.generationId;
        this.persist(group).then(
          () => {
            // A rebalance that started meanwhile answers the member itself.
            if (!this.isCurrent(group) || group.member(newMemberId) !== member || !group.is('Stable') || group.generationId !== generation) return;
            if (a.apiVersion >= 9) {
              const isLeader = group.isLeader(newMemberId);
              group.completeJoin(member, this.currentJoin(group, newMemberId, isLeader, group.leaderId ?? '', isLeader));
            } else {
              group.completeJoin(member, this.currentJoin(group, newMemberId, false, leaderBefore));
            }
          },
          (err: unknown) => {
            this.deps.log.warn(`group ${group.groupId}: could not store static member ${a.groupInstanceId}: ${(err as Error).message}; reverting`);
            if (group.member(newMemberId) !== member || group.generationId !== generation) return;
            group.updateMember(member, before.protocols, before.rebalanceTimeoutMs, before.sessionTimeoutMs, null);
            const restored = group.replaceStaticMember(a.groupInstanceId!, newMemberId, oldMemberId);
            this.timer.cancel(heartbeatKey(group.groupId, newMemberId));
            this.scheduleHeartbeat(group, restored, restored.sessionTimeoutMs);
            respond({ ...joinError(STORAGE_FAILURE, ''), generationId: group.generationId, leader: leaderBefore });
          },
        );
        return;
      }
      case 'CompletingRebalance':
        // The leader may already hold the old member id in its assignment: rebalance.
        return this.prepareRebalance(group, `static member ${a.groupInstanceId} rejoined during CompletingRebalance`);
      case 'PreparingRebalance':
        return this.maybeCompleteJoinPhase(group);
      case 'Empty':
      case 'Dead':
        throw new Error(`group ${group.groupId}: static member ${a.groupInstanceId} known while ${group.state}`);
    }
  }

  // ---- the rebalance -----------------------------------------------------------------------------

  private maybePrepareRebalanceOrCompleteJoin(group: ClassicGroup, reason: string): void {
    if (group.canRebalance()) this.prepareRebalance(group, reason);
    else this.maybeCompleteJoinPhase(group);
  }

  private prepareRebalance(group: ClassicGroup, reason: string): void {
    // Members waiting for an assignment must rejoin instead.
    if (group.is('CompletingRebalance')) this.resetAndPropagateAssignment(group, ErrorCode.REBALANCE_IN_PROGRESS);
    group.pendingSyncMembers.clear();
    this.timer.cancel(syncKey(group.groupId));
    const initial = group.is('Empty');
    if (initial) {
      const delayMs = this.config.groupInitialRebalanceDelayMs;
      const remainingMs = Math.max(group.rebalanceTimeoutMs() - delayMs, 0);
      this.timer.schedule(joinKey(group.groupId), delayMs, () => this.tryCompleteInitialRebalance(group, delayMs, remainingMs));
    }
    group.transitionTo('PreparingRebalance');
    this.deps.log.info(`group ${group.groupId}: preparing to rebalance (generation ${group.generationId}): ${reason}`);
    if (!initial) this.maybeCompleteJoinElseSchedule(group);
  }

  private maybeCompleteJoinElseSchedule(group: ClassicGroup): void {
    if (group.hasAllMembersJoined()) return this.completeJoin(group);
    this.timer.schedule(joinKey(group.groupId), group.rebalanceTimeoutMs(), () => {
      if (this.isCurrent(group)) this.completeJoin(group);
    });
  }

  private tryCompleteInitialRebalance(group: ClassicGroup, delayMs: number, remainingMs: number): void {
    if (!this.isCurrent(group)) return;
    if (group.newMemberAdded && remainingMs !== 0) {
      group.newMemberAdded = false;
      const nextDelayMs = Math.min(this.config.groupInitialRebalanceDelayMs, remainingMs);
      const nextRemainingMs = Math.max(remainingMs - delayMs, 0);
      this.timer.schedule(joinKey(group.groupId), nextDelayMs, () => this.tryCompleteInitialRebalance(group, nextDelayMs, nextRemainingMs));
      return;
    }
    this.completeJoin(group);
  }

  /** End the join phase early when every member has rejoined (never during the initial delay). */
  private maybeCompleteJoinPhase(group: ClassicGroup): void {
    if (!group.is('PreparingRebalance')) return;
    if (group.previousState === 'Empty') return;
    if (!group.hasAllMembersJoined()) return;
    this.completeJoin(group);
  }

  private completeJoin(group: ClassicGroup): void {
    this.timer.cancel(joinKey(group.groupId));
    for (const m of [...group.members.values()]) {
      if (!m.isAwaitingJoin && m.groupInstanceId === null) this.removeMember(group, m.memberId, ErrorCode.UNKNOWN_MEMBER_ID);
    }
    if (group.is('Dead')) return;
    if (!group.maybeElectNewJoinedLeader() && group.members.size > 0) {
      // Only static members remain and none rejoined: wait another rebalance timeout (their
      // sessions expire meanwhile if they are gone).
      this.timer.schedule(joinKey(group.groupId), group.rebalanceTimeoutMs(), () => {
        if (this.isCurrent(group)) this.completeJoin(group);
      });
      return;
    }
    group.initNextGeneration();
    if (group.is('Empty')) {
      this.deps.log.info(`group ${group.groupId}: generation ${group.generationId} is empty`);
      this.persist(group).catch((err: unknown) => this.deps.log.warn(`group ${group.groupId}: could not store empty generation: ${(err as Error).message}`));
      return;
    }
    this.deps.log.info(`group ${group.groupId}: generation ${group.generationId} with ${group.members.size} member(s), protocol ${group.protocolName}`);
    for (const m of group.members.values()) {
      group.completeJoin(m, this.currentJoin(group, m.memberId, group.isLeader(m.memberId)));
      this.scheduleHeartbeat(group, m, m.sessionTimeoutMs);
      m.isNew = false;
      group.pendingSyncMembers.add(m.memberId);
    }
    const generation = group.generationId;
    this.timer.schedule(syncKey(group.groupId), group.rebalanceTimeoutMs(), () => this.expirePendingSync(group, generation));
  }

  /** The sync phase timed out: drop the members that never sent SyncGroup, and rebalance. */
  private expirePendingSync(group: ClassicGroup, generation: number): void {
    if (!this.isCurrent(group) || group.generationId !== generation) return;
    if (!group.is('CompletingRebalance') && !group.is('Stable')) return;
    if (group.pendingSyncMembers.size === 0) return;
    const missing = [...group.pendingSyncMembers];
    for (const id of missing) this.removeMember(group, id, ErrorCode.UNKNOWN_MEMBER_ID);
    this.prepareRebalance(group, `members ${missing.join(', ')} did not sync in time`);
  }

  private resetAndPropagateAssignment(group: ClassicGroup, errorCode: number): void {
    for (const m of group.members.values()) m.assignment = EMPTY_BYTES;
    this.propagateAssignment(group, errorCode);
  }

  private propagateAssignment(group: ClassicGroup, errorCode: number): void {
    const ok = errorCode === ErrorCode.NONE;
    for (const m of group.members.values()) {
      const answered = m.completeSync({
        errorCode,
        protocolType: ok ? group.protocolType : null,
        protocolName: ok ? group.protocolName : null,
        assignment: m.assignment,
      });
      // Sessions restart when the assignment is handed out (a member could not heartbeat meanwhile).
      if (answered) this.scheduleHeartbeat(group, m, m.sessionTimeoutMs);
    }
  }

  /**
   * Remove a member: cancel its session, answer anything it still waits on (UNKNOWN_MEMBER_ID, so a
   * live client rejoins), drop it from the group. Callers decide whether the group rebalances.
   */
  private removeMember(group: ClassicGroup, memberId: string, errorCode: number): void {
    this.timer.cancel(heartbeatKey(group.groupId, memberId));
    const m = group.member(memberId);
    if (m) {
      group.completeJoin(m, joinError(errorCode, ''));
      m.completeSync(syncError(errorCode));
    }
    group.remove(memberId);
  }

  // ---- sessions ----------------------------------------------------------------------------------

  private scheduleHeartbeat(group: ClassicGroup, member: GroupMember, timeoutMs: number): void {
    const memberId = member.memberId;
    this.timer.schedule(heartbeatKey(group.groupId, memberId), timeoutMs, () => this.expireHeartbeat(group, memberId));
  }

  private expireHeartbeat(group: ClassicGroup, memberId: string): void {
    if (!this.isCurrent(group)) return;
    if (group.pendingJoinMembers.has(memberId)) {
      group.remove(memberId);
      if (group.is('PreparingRebalance') && group.hasAllMembersJoined()) this.completeJoin(group);
      return;
    }
    const member = group.member(memberId);
    if (!member || member.hasSatisfiedHeartbeat()) return;
    this.deps.log.info(`group ${group.groupId}: member ${memberId} session expired; removing it`);
    this.removeMember(group, memberId, ErrorCode.UNKNOWN_MEMBER_ID);
    if (group.is('Stable') || group.is('CompletingRebalance')) this.maybePrepareRebalanceOrCompleteJoin(group, `member ${memberId} session expired`);
    else if (group.is('PreparingRebalance') && group.hasAllMembersJoined()) this.completeJoin(group);
  }

  // ---- SyncGroup, Heartbeat, LeaveGroup ----------------------------------------------------------

  syncGroup(a: SyncArgs): Promise<SyncOutcome> {
    if (!this.isActive) return Promise.resolve(syncError(ErrorCode.COORDINATOR_NOT_AVAILABLE));
    if (this.isStopping) return Promise.resolve(syncError(ErrorCode.NOT_COORDINATOR));
    if (a.groupId === '') return Promise.resolve(syncError(ErrorCode.INVALID_GROUP_ID));
    // From v5 (KIP-559) the protocol type and name are mandatory.
    if (a.apiVersion >= 5 && (a.protocolType === null || a.protocolName === null)) return Promise.resolve(syncError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
    const consumerGroup = this.consumer.get(a.groupId);
    if (consumerGroup) return this.consumer.classicSync(consumerGroup, a);
    const group = this.groups.get(a.groupId);
    if (!group || group.is('Empty')) return Promise.resolve(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
    const error = this.validateSync(group, a);
    if (error !== ErrorCode.NONE) return Promise.resolve(syncError(error));
    switch (group.state) {
      case 'PreparingRebalance':
        return Promise.resolve(syncError(ErrorCode.REBALANCE_IN_PROGRESS));
      case 'CompletingRebalance':
        return new Promise((resolve) => this.syncDuringCompletingRebalance(group, a, resolve));
      case 'Stable': {
        this.removePendingSync(group, a.memberId);
        const m = group.member(a.memberId)!;
        return Promise.resolve({ errorCode: ErrorCode.NONE, protocolType: group.protocolType, protocolName: group.protocolName, assignment: m.assignment });
      }
      default:
        throw new Error(`group ${group.groupId}: SyncGroup reached state ${group.state}`);
    }
  }

  private validateSync(group: ClassicGroup, a: SyncArgs): number {
    if (group.is('Dead')) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const error = group.validateMember(a.memberId, a.groupInstanceId);
    if (error !== ErrorCode.NONE) return error;
    if (a.generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
    if (inconsistent(a.protocolType, group.protocolType) || inconsistent(a.protocolName, group.protocolName)) return ErrorCode.INCONSISTENT_GROUP_PROTOCOL;
    return ErrorCode.NONE;
  }

  private syncDuringCompletingRebalance(group: ClassicGroup, a: SyncArgs, respond: SyncResponder): void {
    group.member(a.memberId)!.setSyncResponder(respond);
    this.removePendingSync(group, a.memberId);
    if (!group.isLeader(a.memberId)) return;
    // The leader's assignment: every member gets its part (an empty one when the leader left it out).
    const assignment = new Map<string, Buffer>();
    for (const x of a.assignments) assignment.set(x.memberId, Buffer.from(x.assignment));
    for (const id of group.members.keys()) if (!assignment.has(id)) assignment.set(id, EMPTY_BYTES);
    const generation = group.generationId;
    this.persist(group, assignment).then(
      () => {
        if (!this.isCurrent(group) || !group.is('CompletingRebalance') || group.generationId !== generation) return;
        for (const m of group.members.values()) m.assignment = assignment.get(m.memberId) ?? EMPTY_BYTES;
        this.propagateAssignment(group, ErrorCode.NONE);
        group.transitionTo('Stable');
        this.deps.log.info(`group ${group.groupId}: generation ${generation} is stable`);
      },
      (err: unknown) => {
        this.deps.log.warn(`group ${group.groupId}: could not store the assignment of generation ${generation}: ${(err as Error).message}`);
        if (!this.isCurrent(group) || !group.is('CompletingRebalance') || group.generationId !== generation) return;
        this.resetAndPropagateAssignment(group, STORAGE_FAILURE);
        this.maybePrepareRebalanceOrCompleteJoin(group, 'storing the assignment failed');
      },
    );
  }

  private removePendingSync(group: ClassicGroup, memberId: string): void {
    group.pendingSyncMembers.delete(memberId);
    if (group.pendingSyncMembers.size === 0) this.timer.cancel(syncKey(group.groupId));
  }

  heartbeat(a: { groupId: string; generationId: number; memberId: string; groupInstanceId: string | null }): number {
    if (!this.isActive) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (a.groupId === '') return ErrorCode.INVALID_GROUP_ID;
    const consumerGroup = this.consumer.get(a.groupId);
    if (consumerGroup) return this.consumer.classicHeartbeat(consumerGroup, a);
    const group = this.groups.get(a.groupId);
    if (!group) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (group.is('Dead')) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const error = group.validateMember(a.memberId, a.groupInstanceId);
    if (error !== ErrorCode.NONE) return error;
    if (a.generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
    switch (group.state) {
      case 'Empty':
        return ErrorCode.UNKNOWN_MEMBER_ID;
      case 'PreparingRebalance':
        this.scheduleHeartbeat(group, group.member(a.memberId)!, group.member(a.memberId)!.sessionTimeoutMs);
        return ErrorCode.REBALANCE_IN_PROGRESS;
      default:
        // Members may heartbeat right after their join answer, before the group is Stable.
        this.scheduleHeartbeat(group, group.member(a.memberId)!, group.member(a.memberId)!.sessionTimeoutMs);
        return ErrorCode.NONE;
    }
  }

  async leaveGroup(groupId: string, identities: readonly MemberIdentity[]): Promise<LeaveOutcome> {
    if (!this.isActive) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, members: [] };
    if (groupId === '') return { errorCode: ErrorCode.INVALID_GROUP_ID, members: [] };
    const consumerGroup = this.consumer.get(groupId);
    if (consumerGroup) return this.consumer.classicLeave(consumerGroup, identities);
    const group = this.groups.get(groupId);
    const answer = (x: MemberIdentity, errorCode: number) => ({ memberId: x.memberId, groupInstanceId: x.groupInstanceId, errorCode });
    if (!group) return { errorCode: ErrorCode.NONE, members: identities.map((x) => answer(x, ErrorCode.UNKNOWN_MEMBER_ID)) };
    if (group.is('Dead')) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, members: [] };
    const members = [];
    let left = 0;
    for (const x of identities) {
      let errorCode: number = ErrorCode.NONE;
      if (x.memberId === '') {
        // An admin removes a static member by its instance id alone (KIP-345).
        const id = x.groupInstanceId === null ? undefined : group.staticMemberId(x.groupInstanceId);
        if (id === undefined) errorCode = ErrorCode.UNKNOWN_MEMBER_ID;
        else this.removeMember(group, id, ErrorCode.UNKNOWN_MEMBER_ID);
      } else if (group.pendingJoinMembers.has(x.memberId)) {
        this.removeMember(group, x.memberId, ErrorCode.UNKNOWN_MEMBER_ID);
      } else {
        errorCode = group.validateMember(x.memberId, x.groupInstanceId);
        if (errorCode === ErrorCode.NONE) this.removeMember(group, x.memberId, ErrorCode.UNKNOWN_MEMBER_ID);
      }
      if (errorCode === ErrorCode.NONE) {
        left++;
        this.deps.log.info(`group ${groupId}: member ${x.memberId || x.groupInstanceId} left${x.reason ? ` (${x.reason})` : ''}`);
      }
      members.push(answer(x, errorCode));
    }
    if (left > 0) {
      if (group.is('Stable') || group.is('CompletingRebalance')) this.maybePrepareRebalanceOrCompleteJoin(group, `${left} member(s) left`);
      else if (group.is('PreparingRebalance')) this.maybeCompleteJoinPhase(group);
    }
    return { errorCode: ErrorCode.NONE, members };
  }

  // ---- committed offsets -------------------------------------------------------------------------

  async commitOffsets(a: CommitArgs): Promise<TopicPartitionsResult[]> {
    const all = (errorCode: number) => a.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode })) }));
    if (!this.isActive) return all(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    // Per partition: unknown topics and partitions first, as Kafka checks them before the group.
    const errors: number[][] = a.topics.map((t) => t.partitions.map((p) => (this.deps.topics.hasPartition(t.name, p.partitionIndex) ? ErrorCode.NONE : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)));
    if (errors.every((ps) => ps.every((e) => e !== ErrorCode.NONE))) return result(a.topics, errors);

    const consumerGroup = this.consumer.get(a.groupId);
    if (consumerGroup) {
      // A consumer-protocol group: the generation field carries the member epoch (KIP-848).
      const groupError = this.consumer.validateCommit(consumerGroup, a.memberId, a.generationId, false, a.apiVersion);
      if (groupError !== ErrorCode.NONE) return all(groupError);
    } else {
      let group = this.groups.get(a.groupId);
      if (!group) {
        if (a.generationId >= 0) {
          // From v9 a missing group is reported as such; before, as a stale generation.
          return all(a.apiVersion >= 9 ? ErrorCode.GROUP_ID_NOT_FOUND : ErrorCode.ILLEGAL_GENERATION);
        }
        // Generation -1: an admin tool or a consumer that assigns partitions itself ("simple" group).
        group = new ClassicGroup(a.groupId, () => this.now());
        this.groups.set(a.groupId, group);
      }
      const groupError = this.validateCommit(group, a);
      if (groupError !== ErrorCode.NONE) return all(groupError);
      // Committing keeps a member's session alive, as a heartbeat would.
      const member = group.member(a.memberId);
      if (member && (group.is('Stable') || group.is('PreparingRebalance'))) this.scheduleHeartbeat(group, member, member.sessionTimeoutMs);
    }

    const nowMs = this.now();
    const entries: GroupOffsetEntry[] = [];
    a.topics.forEach((t, ti) =>
      t.partitions.forEach((p, pi) => {
        if (errors[ti]![pi] !== ErrorCode.NONE) return;
        const committed = this.committedOffset(p, nowMs, a.retentionTimeMs);
        if (typeof committed === 'number') errors[ti]![pi] = committed;
        else entries.push({ topic: t.name, partition: p.partitionIndex, committed });
      }),
    );
    if (entries.length > 0) {
      try {
        await this.serial(a.groupId, () => this.deps.storage.commitOffsets(a.groupId, entries));
      } catch (err) {
        this.deps.log.error(`group ${a.groupId}: storing ${entries.length} offset(s) failed: ${(err as Error).message}`);
        const stored = new Set(entries.map((e) => `${e.topic}\u0000${e.partition}`));
        a.topics.forEach((t, ti) =>
          t.partitions.forEach((p, pi) => {
            if (stored.has(`${t.name}\u0000${p.partitionIndex}`)) errors[ti]![pi] = STORAGE_FAILURE;
          }),
        );
      }
    }
    return result(a.topics, errors);
  }

  /**
   * One partition's offset as a commit (OffsetCommit, TxnOffsetCommit) gives it, or the error it is
   * refused with: OFFSET_METADATA_TOO_LARGE past `offset.metadata.max.bytes`, INVALID_REQUEST for an
   * offset storage cannot hold (offsets are numbers, exact below 2^53: a larger one is not real).
   * A `retentionTimeMs` other than -1 (OffsetCommit v2–4) sets the offset's expire timestamp to the
   * commit time plus it, as Kafka's OffsetMetadataManager does (a negative one expires at once).
   */
  committedOffset(
    p: { committedOffset: bigint; committedLeaderEpoch: number; committedMetadata: string | null },
    commitTimestampMs: number,
    retentionTimeMs = DEFAULT_RETENTION_TIME_MS,
  ): CommittedOffset | number {
    if (p.committedMetadata !== null && p.committedMetadata.length > this.config.offsetMetadataMaxBytes) return ErrorCode.OFFSET_METADATA_TOO_LARGE;
    const offset = Number(p.committedOffset);
    if (!Number.isSafeInteger(offset)) return ErrorCode.INVALID_REQUEST;
    const committed: CommittedOffset = { offset, leaderEpoch: p.committedLeaderEpoch, metadata: p.committedMetadata ?? '', commitTimestampMs };
    if (retentionTimeMs !== DEFAULT_RETENTION_TIME_MS) committed.expireTimestampMs = commitTimestampMs + retentionTimeMs;
    return committed;
  }

  /**
   * Kafka's checks of an offset commit against a classic group (ClassicGroup.validateOffsetCommit).
   * A transactional one (TxnOffsetCommit, KIP-447) skips the two checks that only protect plain
   * commits: no member id and generation while the group has members, and a rebalance in progress.
   */
  private validateCommit(group: ClassicGroup, a: Pick<CommitArgs, 'generationId' | 'memberId' | 'groupInstanceId'>, transactional = false): number {
    if (group.is('Dead')) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    // Generation -1 into an Empty group: admin tools and self-assigning consumers.
    if (a.generationId < 0 && group.is('Empty')) return ErrorCode.NONE;
    if (a.generationId >= 0 || a.memberId !== '' || a.groupInstanceId !== null) {
      const error = group.validateMember(a.memberId, a.groupInstanceId);
      if (error !== ErrorCode.NONE) return error;
      if (a.generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
    } else if (!transactional && !group.is('Empty')) {
      // No member id and no generation (v0, or an admin) while the group has members.
      return ErrorCode.UNKNOWN_MEMBER_ID;
    }
    // The member has its new generation but not its assignment yet.
    if (!transactional && group.is('CompletingRebalance')) return ErrorCode.REBALANCE_IN_PROGRESS;
    return ErrorCode.NONE;
  }

  /**
   * The group side of TxnOffsetCommit (KIP-447): the member and generation the producer names must
   * be current, so a zombie of an old generation cannot commit. A group not known yet is created as a
   * "simple" group for generation -1, as for a plain commit; for a real generation it is
   * ILLEGAL_GENERATION (TxnOffsetCommit has no GROUP_ID_NOT_FOUND).
   */
  validateTransactionalCommit(a: { groupId: string; generationId: number; memberId: string; groupInstanceId: string | null }): number {
    if (!this.isActive) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const consumerGroup = this.consumer.get(a.groupId);
    if (consumerGroup) return this.consumer.validateCommit(consumerGroup, a.memberId, a.generationId, true, 0);
    let group = this.groups.get(a.groupId);
    if (!group) {
      if (a.generationId >= 0) return ErrorCode.ILLEGAL_GENERATION;
      group = new ClassicGroup(a.groupId, () => this.now());
      this.groups.set(a.groupId, group);
    }
    return this.validateCommit(group, a, true);
  }

  /**
   * Store a committed transaction's offsets as the group's committed offsets (the transaction
   * coordinator calls this once the transaction is PrepareCommit; it retries on a throw).
   */
  async applyTransactionalOffsets(groupId: string, offsets: readonly GroupOffsetEntry[]): Promise<void> {
    let group = this.groups.get(groupId);
    if (!this.consumer.has(groupId) && (!group || group.is('Dead'))) {
      // Deleted since the commit was made: the offsets still land, under a simple group, as Kafka's
      // marker makes the pending offsets of the group's partition visible whatever happened to it.
      group = new ClassicGroup(groupId, () => this.now());
      this.groups.set(groupId, group);
    }
    const live = offsets.filter((o) => this.deps.topics.hasPartition(o.topic, o.partition));
    if (live.length > 0) await this.serial(groupId, () => this.deps.storage.commitOffsets(groupId, live));
  }

  /**
   * Committed offsets of one group: the partitions asked for (-1 where nothing is committed), or
   * every committed partition when `topics` is null.
   */
  fetchOffsets(
    groupId: string,
    topics: readonly { name: string; partitionIndexes: readonly number[] }[] | null,
    member: { memberId: string | null; memberEpoch: number } | null = null,
  ): FetchOutcome {
    if (!this.isActive) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, topics: [] };
    const consumerGroup = this.consumer.get(groupId);
    if (consumerGroup && member !== null) {
      // OffsetFetch v9+ (KIP-848): a consumer-protocol member must name its current epoch.
      const errorCode = this.consumer.validateFetch(consumerGroup, member.memberId, member.memberEpoch);
      if (errorCode !== ErrorCode.NONE) return { errorCode, topics: [] };
    }
    const group = this.groups.get(groupId);
    // A Dead group has no offsets to show (Kafka answers as for an unknown group: nothing committed).
    const stored: ReadonlyMap<string, StoredOffset> = group?.is('Dead') ? new Map() : this.deps.storage.fetchOffsets(groupId);
    const answer = (o: StoredOffset): Omit<FetchedOffset, 'partitionIndex' | 'errorCode'> => ({
      committedOffset: BigInt(o.offset),
      committedLeaderEpoch: o.leaderEpoch,
      metadata: o.metadata ?? '',
    });
    if (topics === null) {
      const byTopic = new Map<string, FetchedOffset[]>();
      for (const o of [...stored.values()].sort((x, y) => (x.topic < y.topic ? -1 : x.topic > y.topic ? 1 : x.partition - y.partition))) {
        let list = byTopic.get(o.topic);
        if (!list) byTopic.set(o.topic, (list = []));
        list.push({ partitionIndex: o.partition, errorCode: ErrorCode.NONE, ...answer(o) });
      }
      return { errorCode: ErrorCode.NONE, topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })) };
    }
    return {
      errorCode: ErrorCode.NONE,
      topics: topics.map((t) => ({
        name: t.name,
        partitions: t.partitionIndexes.map((p) => {
          const o = stored.get(`${t.name}\u0000${p}`);
          return { partitionIndex: p, errorCode: ErrorCode.NONE, ...(o ? answer(o) : NO_OFFSET) };
        }),
      })),
    };
  }

  /** OffsetDelete (KIP-496): remove a group's offsets of topics it does not consume. */
  async deleteOffsets(groupId: string, topics: readonly { name: string; partitions: readonly number[] }[]): Promise<{ errorCode: number; topics: TopicPartitionsResult[] }> {
    if (!this.isActive) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, topics: [] };
    if (groupId === '') return { errorCode: ErrorCode.INVALID_GROUP_ID, topics: [] };
    const errors: number[][] = topics.map((t) => t.partitions.map((p) => (this.deps.topics.hasPartition(t.name, p) ? ErrorCode.NONE : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)));
    const consumerGroup = this.consumer.get(groupId);
    const classic = this.groups.get(groupId);
    const group: { isSubscribedToTopic(topic: string): boolean } | undefined = consumerGroup ?? classic;
    if (!group || (classic && classic.is('Dead'))) return { errorCode: ErrorCode.GROUP_ID_NOT_FOUND, topics: [] };
    // A group with members may only lose offsets when it uses the consumer protocol (whose
    // subscriptions tell which topics are in use); a consumer-protocol group always does.
    if (classic && !classic.is('Empty') && !classic.usesConsumerProtocol) return { errorCode: ErrorCode.NON_EMPTY_GROUP, topics: [] };
    const stored = this.deps.storage.fetchOffsets(groupId);
    const entries: GroupOffsetEntry[] = [];
    topics.forEach((t, ti) => {
      const subscribed = group.isSubscribedToTopic(t.name);
      t.partitions.forEach((p, pi) => {
        if (errors[ti]![pi] !== ErrorCode.NONE) return;
        if (subscribed) errors[ti]![pi] = ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC;
        else if (stored.has(`${t.name}\u0000${p}`)) entries.push({ topic: t.name, partition: p, committed: null });
      });
    });
    if (entries.length > 0) {
      try {
        await this.serial(groupId, () => this.deps.storage.commitOffsets(groupId, entries));
      } catch (err) {
        this.deps.log.error(`group ${groupId}: deleting offsets failed: ${(err as Error).message}`);
        return { errorCode: STORAGE_FAILURE, topics: [] };
      }
    }
    return { errorCode: ErrorCode.NONE, topics: result(topics.map((t) => ({ name: t.name, partitions: t.partitions.map((partitionIndex) => ({ partitionIndex })) })), errors) };
  }

  // ---- fault injection and test isolation -------------------------------------------------------

  /**
   * Start a rebalance of a group with members now, as a member joining would (fault injection,
   * src/broker/faults.ts): members learn it from their next heartbeat (REBALANCE_IN_PROGRESS) and
   * rejoin. False when the group has no members or is rebalancing already.
   */
  forceRebalance(groupId: string, reason: string): boolean {
    const group = this.groups.get(groupId);
    if (this.phase !== 'active' || group === undefined || group.members.size === 0) return false;
    if (group.is('PreparingRebalance') || !group.canRebalance()) return false;
    this.prepareRebalance(group, reason);
    return true;
  }

  /**
   * Drop every group and committed offset (`broker.reset()`, between tests). Members still waiting
   * in JoinGroup or SyncGroup are answered UNKNOWN_MEMBER_ID, as when their group is gone, so a
   * client still running rejoins a fresh group.
   */
  async reset(): Promise<void> {
    if (this.phase !== 'active') return;
    await this.flush();
    const retention = this.timer.has('offsets-retention');
    this.timer.cancelAll();
    const groups = [...this.groups.values()];
    this.groups.clear();
    for (const g of [...this.consumer.all()]) this.consumer.drop(g.groupId);
    for (const g of groups) {
      for (const m of [...g.members.values()]) {
        g.completeJoin(m, joinError(ErrorCode.UNKNOWN_MEMBER_ID, ''));
        m.completeSync(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
      }
      g.transitionTo('Dead');
    }
    const storage = this.deps.storage;
    const ids = new Set([...storage.listOffsetGroups(), ...storage.groupMetadata().keys()]);
    for (const groupId of ids) {
      await storage.deleteGroupOffsets(groupId);
      await storage.putGroupMetadata(groupId, null);
    }
    await this.configs.reset();
    if (retention) this.scheduleRetention();
  }

  // ---- consumer-protocol groups (KIP-848) --------------------------------------------------------

  /** ConsumerGroupHeartbeat: join, heartbeat or leave a consumer-protocol group (consumer-groups.ts). */
  consumerGroupHeartbeat(a: ConsumerHeartbeatArgs): Promise<ConsumerHeartbeatOutcome> {
    return this.consumer.heartbeat(a);
  }

  /** ConsumerGroupDescribe of one group. */
  consumerGroupDescribe(groupId: string, includeAuthorizedOperations: boolean): DescribedConsumerGroup {
    return this.consumer.describe(groupId, includeAuthorizedOperations);
  }

  // ---- admin views -------------------------------------------------------------------------------

  /** ListGroups: every group, filtered by state (case-insensitive, v4+) and type (v5+). */
  listGroups(statesFilter: readonly string[], typesFilter: readonly string[]): { errorCode: number; groups: ListedGroup[] } {
    if (!this.isActive) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, groups: [] };
    const states = new Set(statesFilter.map((s) => s.trim().toLowerCase()));
    const types = new Set(typesFilter.map((s) => s.trim().toLowerCase()));
    const groups: ListedGroup[] = [];
    for (const g of this.groups.values()) {
      if (states.size > 0 && !states.has(g.state.toLowerCase())) continue;
      if (types.size > 0 && !types.has('classic')) continue;
      groups.push({ groupId: g.groupId, protocolType: g.protocolType ?? '', groupState: g.state, groupType: 'classic' });
    }
    for (const g of this.consumer.all()) {
      if (states.size > 0 && !states.has(g.state.toLowerCase())) continue;
      if (types.size > 0 && !types.has('consumer')) continue;
      groups.push({ groupId: g.groupId, protocolType: CONSUMER_PROTOCOL_TYPE, groupState: g.state, groupType: 'consumer' });
    }
    return { errorCode: ErrorCode.NONE, groups };
  }

  /**
   * DescribeGroups of one group. An unknown group is described as Dead without error, as Kafka
   * does. Member metadata is shown only when Stable (it is the selected protocol's).
   */
  describeGroup(groupId: string): DescribedGroup {
    const none: DescribedGroup = { errorCode: ErrorCode.NONE, groupId, groupState: 'Dead', protocolType: '', protocolData: '', members: [] };
    if (!this.isActive) return { ...none, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, groupState: 'Dead' };
    // DescribeGroups describes classic groups only: a consumer-protocol group reads as Dead (from v6
    // GROUP_ID_NOT_FOUND with this message), as Kafka answers; ConsumerGroupDescribe describes it.
    if (this.consumer.has(groupId)) return { ...none, errorMessage: `Group ${groupId} is not a classic group.` };
    const g = this.groups.get(groupId);
    if (!g) return none;
    const stable = g.is('Stable');
    return {
      errorCode: ErrorCode.NONE,
      groupId,
      groupState: g.state,
      protocolType: g.protocolType ?? '',
      protocolData: stable ? (g.protocolName ?? '') : '',
      members: [...g.members.values()].map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        memberMetadata: stable ? m.metadata(g.protocolName) : EMPTY_BYTES,
        memberAssignment: m.assignment,
      })),
    };
  }

  /** DeleteGroups: only groups without members; their offsets and metadata go with them. */
  async deleteGroups(groupIds: readonly string[]): Promise<{ groupId: string; errorCode: number }[]> {
    const out: { groupId: string; errorCode: number }[] = [];
    for (const groupId of groupIds) {
      if (!this.isActive) {
        out.push({ groupId, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE });
        continue;
      }
      const cg = this.consumer.get(groupId);
      if (cg) {
        out.push({ groupId, errorCode: cg.members.size > 0 ? ErrorCode.NON_EMPTY_GROUP : await this.deleteConsumerGroup(groupId) });
        continue;
      }
      const g = this.groups.get(groupId);
      if (!g || g.is('Dead')) out.push({ groupId, errorCode: ErrorCode.GROUP_ID_NOT_FOUND });
      else if (!g.is('Empty')) out.push({ groupId, errorCode: ErrorCode.NON_EMPTY_GROUP });
      else out.push({ groupId, errorCode: await this.deleteGroup(g) });
    }
    return out;
  }

  /** Remove an Empty group at once, then its offsets and metadata from storage. */
  private async deleteGroup(group: ClassicGroup): Promise<number> {
    const groupId = group.groupId;
    this.forgetClassicGroup(group);
    return this.deleteStoredGroup(groupId);
  }

  /** Remove an Empty consumer-protocol group, then its offsets and metadata from storage. */
  private deleteConsumerGroup(groupId: string): Promise<number> {
    this.consumer.drop(groupId);
    return this.deleteStoredGroup(groupId);
  }

  private forgetClassicGroup(group: ClassicGroup): void {
    const groupId = group.groupId;
    group.transitionTo('Dead');
    this.groups.delete(groupId);
    this.timer.cancel(joinKey(groupId));
    this.timer.cancel(syncKey(groupId));
    for (const id of group.pendingJoinMembers) this.timer.cancel(heartbeatKey(groupId, id));
  }

  /**
   * A consumer-protocol member joins where an empty classic group is: the classic group goes (its
   * offsets stay, they belong to the group id), as Kafka replaces an empty classic group.
   */
  private dropEmptyClassicGroup(groupId: string): void {
    const g = this.groups.get(groupId);
    if (g && g.is('Empty')) this.forgetClassicGroup(g);
  }

  // ---- online migration between protocols (KIP-848) ---------------------------------------------

  /** A classic group with members as the online upgrade reads it (consumer-groups.ts upgrade). */
  private classicGroupSnapshot(groupId: string): ClassicGroupSnapshot | null {
    const g = this.groups.get(groupId);
    if (!g || g.is('Dead') || g.members.size === 0) return null;
    return {
      generationId: g.generationId,
      protocolType: g.protocolType,
      protocolName: g.protocolName,
      members: [...g.members.values()].map((m) => ({ ...memberIdentity(m), protocols: m.protocols, assignment: m.assignment })),
    };
  }

  /**
   * The online upgrade took this classic group's members into a consumer group: answer what they
   * wait for with REBALANCE_IN_PROGRESS (they join again, now served by the consumer group) and
   * forget the classic group. Its stored metadata is overwritten by the consumer group's.
   */
  private dropUpgradedClassicGroup(groupId: string): void {
    const g = this.groups.get(groupId);
    if (!g) return;
    for (const m of g.members.values()) {
      this.timer.cancel(heartbeatKey(groupId, m.memberId));
      g.completeJoin(m, joinError(ErrorCode.REBALANCE_IN_PROGRESS, m.memberId));
      m.completeSync(syncError(ErrorCode.REBALANCE_IN_PROGRESS));
    }
    this.forgetClassicGroup(g);
  }

  /**
   * The online downgrade (Kafka's ClassicGroup.fromConsumerGroup): a Stable classic group at the
   * consumer group's epoch whose members hold their target assignments, stored, then rebalanced
   * ("Downgrade group … from consumer to classic").
   */
  private installDowngradedGroup(groupId: string, d: DowngradedGroup): void {
    const g = new ClassicGroup(groupId, () => this.now());
    g.protocolType = CONSUMER_PROTOCOL_TYPE;
    g.generationId = d.generationId;
    for (const dm of d.members) {
      g.add(new GroupMember(dm.memberId, dm.groupInstanceId, dm.clientId, dm.clientHost, dm.rebalanceTimeoutMs, dm.sessionTimeoutMs, CONSUMER_PROTOCOL_TYPE, [...dm.protocols]), null);
    }
    g.state = 'Stable';
    g.stateTimestampMs = this.now();
    g.protocolName = g.selectProtocol();
    g.subscribedTopics = g.computeSubscribedTopics();
    for (const dm of d.members) {
      const m = g.member(dm.memberId)!;
      let version = 0;
      try {
        version = embeddedVersion(m.metadata(g.protocolName));
      } catch {
        // Unreadable: the assignment is written at v0, which every client reads.
      }
      m.assignment = encodeClassicAssignment(dm.assignment, version, (id) => this.deps.topics.getById(id)?.name);
    }
    this.groups.set(groupId, g);
    this.persist(g).catch((err: unknown) => this.deps.log.warn(`group ${groupId}: could not store the downgraded group: ${(err as Error).message}`));
    for (const m of g.members.values()) this.scheduleHeartbeat(g, m, m.sessionTimeoutMs);
    this.prepareRebalance(g, `Downgrade group ${groupId} from consumer to classic.`);
  }

  private async deleteStoredGroup(groupId: string): Promise<number> {
    try {
      await this.serial(groupId, async () => {
        await this.deps.storage.deleteGroupOffsets(groupId);
        await this.deps.storage.putGroupMetadata(groupId, null);
      });
      this.deps.log.info(`group ${groupId}: deleted`);
      return ErrorCode.NONE;
    } catch (err) {
      this.deps.log.error(`group ${groupId}: deleting from storage failed: ${(err as Error).message}`);
      return STORAGE_FAILURE;
    }
  }

  // ---- offset retention --------------------------------------------------------------------------

  private scheduleRetention(): void {
    this.timer.schedule('offsets-retention', this.config.offsetsRetentionCheckIntervalMs, () => {
      this.expireOffsets()
        .catch((err: unknown) => this.deps.log.error(`offset retention: ${(err as Error).message}`))
        .finally(() => {
          if (this.isActive) this.scheduleRetention();
        });
    });
  }

  /**
   * One retention pass (every `offsets.retention.check.interval.ms`): expire offsets per Kafka's
   * rules, then delete Empty groups left without offsets. Offsets expire
   * `offsets.retention.minutes` after
   * - the group became Empty (groups that had members: their clock starts when the last one left);
   * - their commit, for groups that never had members (simple groups), and for topics a Stable
   *   consumer-protocol group no longer subscribes to;
   * except that an offset committed with its own retention (OffsetCommit v2–4 `retention_time_ms`)
   * expires at its expire timestamp instead, in the same cases (Kafka's OffsetExpirationConditionImpl).
   * Resolves with the ids of the groups it deleted.
   */
  async expireOffsets(): Promise<string[]> {
    if (this.phase !== 'active') return [];
    const retentionMs = this.config.offsetsRetentionMinutes * 60_000;
    const deleted: string[] = [];
    const subjects: RetentionSubject[] = [
      ...[...this.groups.values()].map((group) => ({
        groupId: group.groupId,
        current: () => this.isCurrent(group),
        base: () => this.expiryBase(group),
        subscribed: (topic: string) => group.isSubscribedToTopic(topic),
        empty: () => group.is('Empty'),
        remove: () => this.deleteGroup(group),
      })),
      ...[...this.consumer.all()].map((group) => ({
        groupId: group.groupId,
        current: () => this.consumer.get(group.groupId) === group,
        // Kafka's consumer groups: offsets expire from the time the group became empty, and those of
        // topics it no longer subscribes to from their commit.
        base: (): ((o: StoredOffset) => number) => (group.members.size === 0 ? (o) => group.stateTimestampMs ?? o.commitTimestampMs : (o) => o.commitTimestampMs),
        subscribed: (topic: string) => group.members.size > 0 && group.isSubscribedToTopic(topic),
        empty: () => group.members.size === 0,
        remove: () => this.deleteConsumerGroup(group.groupId),
      })),
    ];
    for (const group of subjects) {
      if (this.phase !== 'active') break;
      const allGone = await this.serial(group.groupId, async () => {
        if (!group.current()) return false;
        const base = group.base();
        // A copy: the engine's map may change under us once we write.
        const stored = [...this.deps.storage.fetchOffsets(group.groupId).values()];
        if (base === null) return stored.length === 0;
        const nowMs = this.now();
        const expired: GroupOffsetEntry[] = [];
        for (const o of stored) {
          if (group.subscribed(o.topic)) continue;
          const expiredNow = o.expireTimestampMs !== undefined ? nowMs >= o.expireTimestampMs : nowMs - base(o) >= retentionMs;
          if (expiredNow) expired.push({ topic: o.topic, partition: o.partition, committed: null });
        }
        if (expired.length > 0) {
          await this.deps.storage.commitOffsets(group.groupId, expired);
          this.deps.log.info(`group ${group.groupId}: ${expired.length} committed offset(s) expired`);
        }
        return expired.length === stored.length;
      });
      if (allGone && this.phase === 'active' && group.current() && group.empty()) {
        if ((await group.remove()) === ErrorCode.NONE) deleted.push(group.groupId);
      }
    }
    return deleted;
  }

  /** From when an offset's retention counts, or null when the group's offsets do not expire now. */
  private expiryBase(group: ClassicGroup): ((o: StoredOffset) => number) | null {
    if (group.protocolType === null) return (o) => o.commitTimestampMs;
    if (group.is('Empty')) {
      const since = group.stateTimestampMs;
      return (o) => since ?? o.commitTimestampMs;
    }
    if (group.usesConsumerProtocol && group.subscribedTopics !== null && group.is('Stable')) return (o) => o.commitTimestampMs;
    return null;
  }

  // ---- storage -----------------------------------------------------------------------------------

  /** Store the group's metadata (with `assignment` instead of the members' current one, if given). */
  private persist(group: ClassicGroup, assignment?: ReadonlyMap<string, Buffer>): Promise<void> {
    const value = encodeGroupMetadata({
      protocolType: group.protocolType,
      generationId: group.generationId,
      protocolName: group.protocolName,
      leaderId: group.leaderId,
      stateTimestampMs: group.stateTimestampMs,
      members: [...group.members.values()].map((m) => ({
        ...memberIdentity(m),
        subscription: m.metadata(group.protocolName),
        assignment: assignment?.get(m.memberId) ?? m.assignment,
      })),
    });
    return this.serial(group.groupId, () => this.deps.storage.putGroupMetadata(group.groupId, value));
  }

  /** Run a storage operation of a group after the ones queued before it (failures don't block the queue). */
  private serial<T>(groupId: string, fn: () => Promise<T>): Promise<T> {
    const tail = this.queues.get(groupId) ?? Promise.resolve();
    const run = tail.then(fn, fn);
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.queues.set(groupId, settled);
    this.inFlight.add(settled);
    void settled.then(() => {
      this.inFlight.delete(settled);
      if (this.queues.get(groupId) === settled) this.queues.delete(groupId);
    });
    return run;
  }

  // ---- helpers -----------------------------------------------------------------------------------

  /** The group is still the live one under its id (not deleted, not replaced by a new one). */
  private isCurrent(group: ClassicGroup): boolean {
    return this.groups.get(group.groupId) === group && !group.is('Dead');
  }

  /** Consumer lag of a group: per committed partition, high watermark minus committed offset. */
  lag(groupId: string): PartitionLag[] {
    return consumerGroupLag(this.deps.storage, this.deps.topics, groupId);
  }

  /** Diagnostics and tests: the live group object (never modify it). */
  group(groupId: string): ClassicGroup | undefined {
    return this.groups.get(groupId);
  }
}

/** What identifies a classic member and its timeouts, as it is stored and as it migrates. */
function memberIdentity(m: GroupMember) {
  return {
    memberId: m.memberId,
    groupInstanceId: m.groupInstanceId,
    clientId: m.clientId,
    clientHost: m.clientHost,
    rebalanceTimeoutMs: m.rebalanceTimeoutMs,
    sessionTimeoutMs: m.sessionTimeoutMs,
  };
}

function heartbeatKey(groupId: string, memberId: string): string {
  return `heartbeat\u0000${groupId}\u0000${memberId}`;
}

function joinKey(groupId: string): string {
  return `join\u0000${groupId}`;
}

function syncKey(groupId: string): string {
  return `sync\u0000${groupId}`;
}

function inconsistent(requested: string | null, current: string | null): boolean {
  return requested !== null && current !== null && requested !== current;
}

function result(topics: readonly { name: string; partitions: readonly { partitionIndex: number }[] }[], errors: number[][]): TopicPartitionsResult[] {
  return topics.map((t, ti) => ({ name: t.name, partitions: t.partitions.map((p, pi) => ({ partitionIndex: p.partitionIndex, errorCode: errors[ti]![pi]! })) }));
}
