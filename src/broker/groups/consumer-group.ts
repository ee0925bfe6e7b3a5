/**
 * One KIP-848 consumer group (`group.protocol=consumer`): its members, the group epoch, the target
 * assignment and its epoch, and which member holds each partition at which epoch — the data of
 * Kafka's ConsumerGroup and ConsumerGroupMember — plus the reconciliation of one member towards its
 * target (Kafka's CurrentAssignmentBuilder), restated in `reconcile`.
 *
 * Who calls it: only the consumer-group coordinator (consumer-groups.ts), on the broker's event loop.
 * Nothing here schedules or stores anything.
 *
 * Epochs: the group epoch moves whenever the membership or a subscription changes (or the topics a
 * subscription resolves to); the target assignment is recomputed for the new group epoch and gets
 * that epoch; each member then reconciles towards its target. A member first revokes the partitions
 * it must give up (staying at its epoch, UNREVOKED_PARTITIONS), then moves to the target epoch and
 * receives its new partitions — except those another member still holds (UNRELEASED_PARTITIONS),
 * which it gets once released. So a partition is never held by two members at once.
 *
 * States (Kafka's ConsumerGroupState), derived from the data:
 *   Empty (no member) · Assigning (group epoch > assignment epoch) · Reconciling (a member is not
 *   yet at the assignment epoch, or waits for a revocation or a release) · Stable.
 */
import type { Assignment } from './server-assignors.js';

export type ConsumerGroupState = 'Empty' | 'Assigning' | 'Reconciling' | 'Stable' | 'Dead';

/** Kafka's MemberState. */
export type MemberState = 'stable' | 'unrevoked_partitions' | 'unreleased_partitions';

/** A static member that left with epoch -2 and may come back within its session timeout. */
export const LEAVE_GROUP_STATIC_MEMBER_EPOCH = -2;
export const LEAVE_GROUP_MEMBER_EPOCH = -1;

export const EMPTY_ASSIGNMENT: Assignment = new Map();

/**
 * What a member speaking the classic protocol inside a consumer group keeps (Kafka's
 * ClassicMemberMetadata): its session timeout and its JoinGroup protocols (name + subscription bytes).
 */
export interface ClassicMemberMetadata {
  readonly sessionTimeoutMs: number;
  readonly protocols: readonly { readonly name: string; readonly metadata: Buffer }[];
}

export interface ConsumerMember {
  readonly memberId: string;
  readonly instanceId: string | null;
  readonly rackId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  readonly rebalanceTimeoutMs: number;
  readonly subscribedTopicNames: readonly string[];
  readonly subscribedTopicRegex: string | null;
  readonly serverAssignor: string | null;
  readonly memberEpoch: number;
  readonly previousMemberEpoch: number;
  readonly state: MemberState;
  /** Partitions the member may use now. */
  readonly assigned: Assignment;
  /** Partitions the member must give up before it moves to the next epoch. */
  readonly pendingRevocation: Assignment;
  /** Set for a classic member (JoinGroup/SyncGroup/Heartbeat) of a consumer group; null for KIP-848 members. */
  readonly classic: ClassicMemberMetadata | null;
}

export function newMember(memberId: string): ConsumerMember {
  return {
    memberId,
    instanceId: null,
    rackId: null,
    clientId: '',
    clientHost: '',
    rebalanceTimeoutMs: -1,
    subscribedTopicNames: [],
    subscribedTopicRegex: null,
    serverAssignor: null,
    memberEpoch: 0,
    previousMemberEpoch: 0,
    state: 'stable',
    assigned: EMPTY_ASSIGNMENT,
    pendingRevocation: EMPTY_ASSIGNMENT,
    classic: null,
  };
}

function classicEquals(a: ClassicMemberMetadata | null, b: ClassicMemberMetadata | null): boolean {
  if (a === null || b === null) return a === b;
  return (
    a.sessionTimeoutMs === b.sessionTimeoutMs &&
    a.protocols.length === b.protocols.length &&
    a.protocols.every((p, i) => p.name === b.protocols[i]!.name && p.metadata.equals(b.protocols[i]!.metadata))
  );
}

export function assignmentEquals(a: Assignment, b: Assignment): boolean {
  let na = 0;
  for (const [t, ps] of a) {
    if (ps.size === 0) continue;
    na++;
    const qs = b.get(t);
    if (!qs || qs.size !== ps.size) return false;
    for (const p of ps) if (!qs.has(p)) return false;
  }
  let nb = 0;
  for (const ps of b.values()) if (ps.size > 0) nb++;
  return na === nb;
}

export function assignmentSize(a: Assignment): number {
  let n = 0;
  for (const ps of a.values()) n += ps.size;
  return n;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export function memberEquals(a: ConsumerMember, b: ConsumerMember): boolean {
  return (
    a.memberId === b.memberId &&
    a.instanceId === b.instanceId &&
    a.rackId === b.rackId &&
    a.clientId === b.clientId &&
    a.clientHost === b.clientHost &&
    a.rebalanceTimeoutMs === b.rebalanceTimeoutMs &&
    sameList(a.subscribedTopicNames, b.subscribedTopicNames) &&
    a.subscribedTopicRegex === b.subscribedTopicRegex &&
    a.serverAssignor === b.serverAssignor &&
    a.memberEpoch === b.memberEpoch &&
    a.previousMemberEpoch === b.previousMemberEpoch &&
    a.state === b.state &&
    assignmentEquals(a.assigned, b.assigned) &&
    assignmentEquals(a.pendingRevocation, b.pendingRevocation) &&
    classicEquals(a.classic, b.classic)
  );
}

/** The subscription as it decides the assignment changed (names as a set, the regex). */
export function subscriptionChanged(a: ConsumerMember, b: ConsumerMember): boolean {
  if (a.subscribedTopicRegex !== b.subscribedTopicRegex || a.serverAssignor !== b.serverAssignor) return true;
  const sa = new Set(a.subscribedTopicNames);
  const sb = new Set(b.subscribedTopicNames);
  return sa.size !== sb.size || [...sa].some((t) => !sb.has(t));
}

/** Owned partitions as the heartbeat reports them (topic id → partitions); null: not reported. */
export type Owned = ReadonlyMap<string, ReadonlySet<number>> | null;

export function isSubset(owned: Owned, of: Assignment): boolean {
  if (owned === null) return true;
  for (const [t, ps] of owned) {
    const qs = of.get(t);
    for (const p of ps) if (!qs?.has(p)) return false;
  }
  return true;
}

/** A topic a group subscribes to, as it was when the group last looked (its partition count). */
export interface SubscribedTopic {
  readonly id: string;
  readonly partitions: number;
}

export class ConsumerGroup {
  groupEpoch = 0;
  assignmentEpoch = 0;
  readonly members = new Map<string, ConsumerMember>();
  /** instance id → member id. */
  readonly staticMembers = new Map<string, string>();
  /** member id → its target assignment. */
  readonly targetAssignment = new Map<string, Assignment>();
  /** topic id → partition → epoch of the member holding it (assigned or pending revocation). */
  private readonly partitionEpochs = new Map<string, Map<number, number>>();
  /**
   * The topics the members' subscriptions resolved to when the target assignment was last
   * computed (name → id and partition count). A change of these bumps the group epoch.
   */
  subscriptionMetadata: ReadonlyMap<string, SubscribedTopic> = new Map();
  /** The topic-manager version the subscription metadata was computed at (-1: never). */
  topicsVersion = -1;
  /** When the group entered its current state (ms); offsets of an Empty group expire from here. */
  stateTimestampMs: number | null = null;
  private lastState: ConsumerGroupState = 'Empty';
  dead = false;

  constructor(
    readonly groupId: string,
    private readonly now: () => number,
  ) {
    this.stateTimestampMs = now();
  }

  get state(): ConsumerGroupState {
    if (this.dead) return 'Dead';
    if (this.members.size === 0) return 'Empty';
    if (this.groupEpoch > this.assignmentEpoch) return 'Assigning';
    for (const m of this.members.values()) {
      if (m.memberEpoch !== this.assignmentEpoch || m.state !== 'stable') return 'Reconciling';
    }
    return 'Stable';
  }

  /** Record a state change's time (call after any change). */
  noteState(): void {
    const s = this.state;
    if (s !== this.lastState) {
      this.lastState = s;
      this.stateTimestampMs = this.now();
    }
  }

  staticMember(instanceId: string): ConsumerMember | undefined {
    const id = this.staticMembers.get(instanceId);
    return id === undefined ? undefined : this.members.get(id);
  }

  currentPartitionEpoch(topicId: string, partition: number): number {
    return this.partitionEpochs.get(topicId)?.get(partition) ?? -1;
  }

  /** Add or replace a member, keeping the static index and the partition epochs right. */
  updateMember(m: ConsumerMember): void {
    const old = this.members.get(m.memberId);
    if (old) {
      this.removePartitionEpochs(old.assigned);
      this.removePartitionEpochs(old.pendingRevocation);
      if (old.instanceId !== null && this.staticMembers.get(old.instanceId) === old.memberId) this.staticMembers.delete(old.instanceId);
    }
    this.members.set(m.memberId, m);
    if (m.instanceId !== null) this.staticMembers.set(m.instanceId, m.memberId);
    this.addPartitionEpochs(m.assigned, m.memberEpoch);
    this.addPartitionEpochs(m.pendingRevocation, m.memberEpoch);
  }

  removeMember(memberId: string): void {
    const old = this.members.get(memberId);
    if (!old) return;
    this.removePartitionEpochs(old.assigned);
    this.removePartitionEpochs(old.pendingRevocation);
    this.members.delete(memberId);
    if (old.instanceId !== null && this.staticMembers.get(old.instanceId) === memberId) this.staticMembers.delete(old.instanceId);
    this.targetAssignment.delete(memberId);
  }

  private addPartitionEpochs(a: Assignment, epoch: number): void {
    for (const [t, ps] of a) {
      let m = this.partitionEpochs.get(t);
      if (!m) this.partitionEpochs.set(t, (m = new Map()));
      for (const p of ps) {
        // A partition held by two members is a broken invariant of the reconciliation.
        if (m.has(p)) throw new Error(`group ${this.groupId}: partition ${t}-${p} is already held at epoch ${m.get(p)}`);
        m.set(p, epoch);
      }
    }
  }

  private removePartitionEpochs(a: Assignment): void {
    for (const [t, ps] of a) {
      const m = this.partitionEpochs.get(t);
      if (!m) continue;
      for (const p of ps) m.delete(p);
      if (m.size === 0) this.partitionEpochs.delete(t);
    }
  }

  /** Whether offsets of a topic are in use (for OffsetDelete and retention). */
  isSubscribedToTopic(topic: string): boolean {
    return this.subscriptionMetadata.has(topic);
  }

  /** How many members speak the classic protocol. */
  numClassicMembers(): number {
    let n = 0;
    for (const m of this.members.values()) if (m.classic !== null) n++;
    return n;
  }

  /** Every member but `memberId` speaks the classic protocol, and that one does not (Kafka's allMembersUseClassicProtocolExcept). */
  allMembersUseClassicProtocolExcept(memberId: string): boolean {
    const m = this.members.get(memberId);
    return m !== undefined && m.classic === null && this.numClassicMembers() === this.members.size - 1;
  }

  /**
   * Whether a classic member's JoinGroup protocols fit the group (Kafka's supportsClassicProtocols):
   * protocol type `consumer`, and one protocol name every classic member supports (any, when the
   * group has no member).
   */
  supportsClassicProtocols(protocolType: string, names: readonly string[]): boolean {
    if (protocolType !== 'consumer') return false;
    if (this.members.size === 0) return names.length > 0;
    const classic = [...this.members.values()].filter((m) => m.classic !== null);
    return names.some((name) => classic.every((m) => m.classic!.protocols.some((p) => p.name === name)));
  }

  /** A member in UNRELEASED_PARTITIONS still waits for a partition another member holds (Kafka's waitingOnUnreleasedPartition). */
  waitingOnUnreleasedPartition(m: ConsumerMember): boolean {
    if (m.state !== 'unreleased_partitions') return false;
    for (const [t, ps] of this.targetAssignment.get(m.memberId) ?? EMPTY_ASSIGNMENT) {
      const have = m.assigned.get(t);
      for (const p of ps) if (!have?.has(p) && this.currentPartitionEpoch(t, p) !== -1) return true;
    }
    return false;
  }

  /** The assignor the group uses: the one most members chose, else the default (Kafka's preferredServerAssignor). */
  preferredAssignor(defaultName: string): string {
    const votes = new Map<string, number>();
    for (const m of this.members.values()) if (m.serverAssignor !== null) votes.set(m.serverAssignor, (votes.get(m.serverAssignor) ?? 0) + 1);
    let best = defaultName;
    let most = 0;
    for (const [name, n] of votes) {
      if (n > most) {
        best = name;
        most = n;
      }
    }
    return best;
  }
}

function toMutable(a: Assignment): Map<string, Set<number>> {
  return new Map([...a].map(([t, ps]) => [t, new Set(ps)]));
}

function ownsAny(owned: Owned, a: Assignment): boolean {
  if (owned === null) return true;
  for (const [t, ps] of owned) {
    const qs = a.get(t);
    if (!qs) continue;
    for (const p of ps) if (qs.has(p)) return true;
  }
  return false;
}

/**
 * One reconciliation step of a member towards its target (Kafka's CurrentAssignmentBuilder.build):
 * `owned` is what the member reports owning in this heartbeat (null when not reported).
 */
export function reconcile(
  member: ConsumerMember,
  targetEpoch: number,
  target: Assignment,
  owned: Owned,
  partitionEpoch: (topicId: string, partition: number) => number,
): ConsumerMember {
  switch (member.state) {
    case 'stable':
      if (member.memberEpoch !== targetEpoch) return nextAssignment(member, member.memberEpoch, targetEpoch, target, owned, partitionEpoch);
      return member;
    case 'unrevoked_partitions':
      // Wait until the member no longer reports any partition it must revoke.
      if (owned === null || ownsAny(owned, member.pendingRevocation)) return member;
      return nextAssignment(member, member.memberEpoch + 1, targetEpoch, target, owned, partitionEpoch);
    case 'unreleased_partitions':
      return nextAssignment(member, member.memberEpoch, targetEpoch, target, owned, partitionEpoch);
  }
}

function nextAssignment(
  member: ConsumerMember,
  memberEpoch: number,
  targetEpoch: number,
  target: Assignment,
  owned: Owned,
  partitionEpoch: (topicId: string, partition: number) => number,
): ConsumerMember {
  let hasUnreleased = false;
  const assigned = new Map<string, Set<number>>();
  const revoking = new Map<string, Set<number>>();
  const pending = new Map<string, Set<number>>();
  const topicIds = new Set([...target.keys(), ...member.assigned.keys()]);
  for (const t of topicIds) {
    const want = target.get(t) ?? new Set<number>();
    const had = member.assigned.get(t) ?? new Set<number>();
    const keep = new Set([...had].filter((p) => want.has(p)));
    const revoke = new Set([...had].filter((p) => !keep.has(p)));
    const give = new Set<number>();
    for (const p of want) {
      if (keep.has(p)) continue;
      // Held by another member (at any epoch) and not one this member is itself revoking: unreleased.
      if (partitionEpoch(t, p) !== -1 && !member.pendingRevocation.get(t)?.has(p)) hasUnreleased = true;
      else give.add(p);
    }
    if (keep.size > 0) assigned.set(t, keep);
    if (revoke.size > 0) revoking.set(t, revoke);
    if (give.size > 0) pending.set(t, give);
  }
  const with_ = (state: MemberState, epoch: number, a: Assignment, r: Assignment): ConsumerMember => ({
    ...member,
    state,
    // Kafka's updateMemberEpoch: the previous epoch is always the one the member had.
    previousMemberEpoch: member.memberEpoch,
    memberEpoch: epoch,
    assigned: a,
    pendingRevocation: r,
  });
  if (revoking.size > 0 && ownsAny(owned, revoking)) {
    // Revoke first, staying at the current epoch until the member confirms.
    return with_('unrevoked_partitions', memberEpoch, assigned, revoking);
  }
  if (pending.size > 0) {
    const next = toMutable(assigned);
    for (const [t, ps] of pending) {
      let s = next.get(t);
      if (!s) next.set(t, (s = new Set()));
      for (const p of ps) s.add(p);
    }
    return with_(hasUnreleased ? 'unreleased_partitions' : 'stable', targetEpoch, next, EMPTY_ASSIGNMENT);
  }
  return with_(hasUnreleased ? 'unreleased_partitions' : 'stable', targetEpoch, assigned, EMPTY_ASSIGNMENT);
}
