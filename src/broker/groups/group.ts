/**
 * One classic consumer group and its members: the data of Kafka's group state machine and the
 * bookkeeping rules that keep it consistent (leader, static-member index, protocol votes, members
 * awaiting JoinGroup/SyncGroup answers). The decisions — when to rebalance, when a join phase ends,
 * who is evicted — are the coordinator's (coordinator.ts); this file never schedules anything.
 *
 * Who calls it: only the GroupCoordinator, on the broker's event loop.
 *
 * States (Kafka's ClassicGroupState):
 *
 *   Empty ──join──▶ PreparingRebalance ──all joined / timeout──▶ CompletingRebalance ──leader sync──▶ Stable
 *     ▲                  ▲     │ (no member left)                     │                                │
 *     └──────────────────┼─────┘                                      └──────── member change ◀────────┘
 *                        └──────────────────────────────────────────────────── member change
 *   Dead: deleted (DeleteGroups, retention) — any reference still held answers as if it were gone.
 */
import { ErrorCode } from '../../protocol/error-codes.js';
import { requestElementBudget } from '../../base/limits.js';
import { Reader } from '../../protocol/codec/reader.js';
import { ConsumerProtocolSubscription } from '../../protocol/messages/index.js';

export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

/** The states a group may move to each state from (Kafka's valid previous states). */
const VALID_PREVIOUS: Readonly<Record<GroupState, readonly GroupState[]>> = {
  Empty: ['PreparingRebalance'],
  PreparingRebalance: ['Stable', 'CompletingRebalance', 'Empty'],
  CompletingRebalance: ['PreparingRebalance'],
  Stable: ['CompletingRebalance'],
  Dead: ['Stable', 'PreparingRebalance', 'CompletingRebalance', 'Empty', 'Dead'],
};

/** The protocol type consumers use; groups of this type have subscriptions we can read. */
export const CONSUMER_PROTOCOL_TYPE = 'consumer';

export const EMPTY_BYTES: Buffer = Buffer.alloc(0);

export interface GroupProtocol {
  name: string;
  metadata: Buffer;
}

/** What a JoinGroup request is answered with (every version's fields; handlers pick theirs). */
export interface JoinOutcome {
  errorCode: number;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  leader: string;
  skipAssignment: boolean;
  memberId: string;
  members: { memberId: string; groupInstanceId: string | null; metadata: Buffer }[];
}

export interface SyncOutcome {
  errorCode: number;
  protocolType: string | null;
  protocolName: string | null;
  assignment: Buffer;
}

export function joinError(errorCode: number, memberId: string): JoinOutcome {
  return { errorCode, generationId: -1, protocolType: null, protocolName: null, leader: '', skipAssignment: false, memberId, members: [] };
}

export function syncError(errorCode: number): SyncOutcome {
  return { errorCode, protocolType: null, protocolName: null, assignment: EMPTY_BYTES };
}

export type JoinResponder = (outcome: JoinOutcome) => void;
export type SyncResponder = (outcome: SyncOutcome) => void;

export class GroupMember {
  /** Answer of a JoinGroup parked until the join phase completes; null when none is waiting. */
  private joinResponder: JoinResponder | null = null;
  private syncResponder: SyncResponder | null = null;
  /** Set until the member's first join phase completes: new members can expire while they wait. */
  isNew = false;
  assignment: Buffer = EMPTY_BYTES;

  constructor(
    readonly memberId: string,
    readonly groupInstanceId: string | null,
    readonly clientId: string,
    readonly clientHost: string,
    public rebalanceTimeoutMs: number,
    public sessionTimeoutMs: number,
    readonly protocolType: string,
    public protocols: GroupProtocol[],
  ) {}

  get isAwaitingJoin(): boolean {
    return this.joinResponder !== null;
  }

  get isAwaitingSync(): boolean {
    return this.syncResponder !== null;
  }

  /**
   * Park (or clear) this member's JoinGroup answer. Kafka drops a superseded future; here each parked
   * answer holds a connection's request queue, so a superseded one is answered REBALANCE_IN_PROGRESS
   * (clients retry the join on it) instead of being left hanging.
   */
  setJoinResponder(r: JoinResponder | null): void {
    const old = this.joinResponder;
    this.joinResponder = r;
    if (old && r) old(joinError(ErrorCode.REBALANCE_IN_PROGRESS, this.memberId));
  }

  setSyncResponder(r: SyncResponder | null): void {
    const old = this.syncResponder;
    this.syncResponder = r;
    if (old && r) old(syncError(ErrorCode.REBALANCE_IN_PROGRESS));
  }

  /** Answer the parked JoinGroup, if any; true when there was one. */
  completeJoin(outcome: JoinOutcome): boolean {
    const r = this.joinResponder;
    if (!r) return false;
    this.joinResponder = null;
    r(outcome);
    return true;
  }

  completeSync(outcome: SyncOutcome): boolean {
    const r = this.syncResponder;
    if (!r) return false;
    this.syncResponder = null;
    r(outcome);
    return true;
  }

  /**
   * Whether an expiring session timer should spare this member: members waiting for a join or sync
   * answer cannot heartbeat, so they are spared — unless they are new (their JoinGroup may come from
   * a client that already gave up; Kafka expires those after the new-member join timeout).
   */
  hasSatisfiedHeartbeat(): boolean {
    if (this.isNew) return false;
    return this.isAwaitingJoin || this.isAwaitingSync;
  }

  /** Same protocols, in the same order, with the same metadata bytes. */
  matches(protocols: readonly GroupProtocol[]): boolean {
    if (protocols.length !== this.protocols.length) return false;
    return protocols.every((p, i) => p.name === this.protocols[i]!.name && p.metadata.equals(this.protocols[i]!.metadata));
  }

  /** The member's most preferred protocol among the candidates (it lists them in preference order). */
  vote(candidates: ReadonlySet<string>): string {
    const p = this.protocols.find((x) => candidates.has(x.name));
    if (!p) throw new Error(`member ${this.memberId} supports none of the candidate protocols`);
    return p.name;
  }

  metadata(protocolName: string | null): Buffer {
    if (protocolName === null) return EMPTY_BYTES;
    return this.protocols.find((p) => p.name === protocolName)?.metadata ?? EMPTY_BYTES;
  }
}

export class ClassicGroup {
  state: GroupState = 'Empty';
  previousState: GroupState = 'Empty';
  /** When the group entered its current state (ms); offsets of an Empty group expire from here. */
  stateTimestampMs: number | null = null;
  protocolType: string | null = null;
  protocolName: string | null = null;
  generationId = 0;
  leaderId: string | null = null;
  /** Topics the members subscribe to, when the group uses the consumer protocol and it parsed. */
  subscribedTopics: ReadonlySet<string> | null = null;
  /** A member joined during the initial rebalance delay: the delay is extended once more. */
  newMemberAdded = false;

  readonly members = new Map<string, GroupMember>();
  /** group.instance.id → member id of the static member holding it. */
  private readonly staticMembers = new Map<string, string>();
  /** Member ids handed out with MEMBER_ID_REQUIRED whose second JoinGroup has not arrived (KIP-394). */
  readonly pendingJoinMembers = new Set<string>();
  /** Members of the current generation that have not sent SyncGroup yet. */
  readonly pendingSyncMembers = new Set<string>();
  private numAwaitingJoin = 0;
  /** Protocol name → how many members support it. */
  private readonly protocolSupport = new Map<string, number>();

  constructor(
    readonly groupId: string,
    private readonly now: () => number,
  ) {}

  is(state: GroupState): boolean {
    return this.state === state;
  }

  transitionTo(target: GroupState): void {
    if (!VALID_PREVIOUS[target].includes(this.state)) {
      throw new Error(`group ${this.groupId}: invalid transition ${this.state} -> ${target}`);
    }
    this.previousState = this.state;
    this.state = target;
    this.stateTimestampMs = this.now();
  }

  /** Whether a member change may start a rebalance now (else it may end the running join phase). */
  canRebalance(): boolean {
    return VALID_PREVIOUS.PreparingRebalance.includes(this.state);
  }

  get usesConsumerProtocol(): boolean {
    return this.protocolType === CONSUMER_PROTOCOL_TYPE;
  }

  member(memberId: string): GroupMember | undefined {
    return this.members.get(memberId);
  }

  isLeader(memberId: string): boolean {
    return this.leaderId === memberId;
  }

  staticMemberId(groupInstanceId: string): string | undefined {
    return this.staticMembers.get(groupInstanceId);
  }

  get numAwaitingJoinResponse(): number {
    return this.numAwaitingJoin;
  }

  hasAllMembersJoined(): boolean {
    return this.members.size === this.numAwaitingJoin && this.pendingJoinMembers.size === 0;
  }

  /** The largest rebalance timeout among the members: how long a join or sync phase may take. */
  rebalanceTimeoutMs(): number {
    let max = 0;
    for (const m of this.members.values()) max = Math.max(max, m.rebalanceTimeoutMs);
    return max;
  }

  /**
   * Check a request's member id (and group.instance.id) against the group. A static member whose
   * instance id is held by a different member id is fenced (KIP-345); an unknown id is unknown.
   * Returns an error code, NONE when the member is valid.
   */
  validateMember(memberId: string, groupInstanceId: string | null): number {
    if (groupInstanceId !== null) {
      const holder = this.staticMembers.get(groupInstanceId);
      if (holder === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
      if (holder !== memberId) return ErrorCode.FENCED_INSTANCE_ID;
    }
    return this.members.has(memberId) ? ErrorCode.NONE : ErrorCode.UNKNOWN_MEMBER_ID;
  }

  add(member: GroupMember, respond: JoinResponder | null): void {
    if (member.groupInstanceId !== null) {
      if (this.staticMembers.has(member.groupInstanceId)) {
        throw new Error(`group ${this.groupId}: static member ${member.groupInstanceId} is already a member`);
      }
      this.staticMembers.set(member.groupInstanceId, member.memberId);
    }
    if (this.members.size === 0) this.protocolType = member.protocolType;
    if (this.protocolType !== member.protocolType) throw new Error(`group ${this.groupId}: member protocol type differs`);
    if (this.leaderId === null) this.leaderId = member.memberId;
    this.members.set(member.memberId, member);
    this.countProtocols(member, 1);
    member.setJoinResponder(respond);
    if (member.isAwaitingJoin) this.numAwaitingJoin++;
    this.pendingJoinMembers.delete(member.memberId);
  }

  /** Remove a member (or pending member id). A new leader is the first remaining member. */
  remove(memberId: string): GroupMember | undefined {
    const m = this.members.get(memberId);
    if (m) {
      this.members.delete(memberId);
      this.countProtocols(m, -1);
      if (m.isAwaitingJoin) this.numAwaitingJoin--;
      if (m.groupInstanceId !== null) this.staticMembers.delete(m.groupInstanceId);
    }
    if (this.leaderId === memberId) this.leaderId = this.members.keys().next().value ?? null;
    this.pendingJoinMembers.delete(memberId);
    this.pendingSyncMembers.delete(memberId);
    return m;
  }

  /** Park (or clear) a member's JoinGroup answer, keeping the awaiting count right. */
  setJoinResponder(member: GroupMember, respond: JoinResponder | null): void {
    const was = member.isAwaitingJoin;
    member.setJoinResponder(respond);
    if (!was && member.isAwaitingJoin) this.numAwaitingJoin++;
    else if (was && !member.isAwaitingJoin) this.numAwaitingJoin--;
  }

  completeJoin(member: GroupMember, outcome: JoinOutcome): boolean {
    if (!member.completeJoin(outcome)) return false;
    this.numAwaitingJoin--;
    return true;
  }

  updateMember(member: GroupMember, protocols: GroupProtocol[], rebalanceTimeoutMs: number, sessionTimeoutMs: number, respond: JoinResponder | null): void {
    this.countProtocols(member, -1);
    member.protocols = protocols;
    this.countProtocols(member, 1);
    member.rebalanceTimeoutMs = rebalanceTimeoutMs;
    member.sessionTimeoutMs = sessionTimeoutMs;
    this.setJoinResponder(member, respond);
  }

  /**
   * A static member rejoined with an unknown member id: a new member id takes over the instance id
   * and the old one's assignment. Whoever still waits on the old id is fenced at once.
   */
  replaceStaticMember(groupInstanceId: string, oldMemberId: string, newMemberId: string): GroupMember {
    const old = this.members.get(oldMemberId);
    if (!old) throw new Error(`group ${this.groupId}: cannot replace unknown member ${oldMemberId}`);
    this.members.delete(oldMemberId);
    if (old.isAwaitingJoin) this.numAwaitingJoin--;
    old.completeJoin(joinError(ErrorCode.FENCED_INSTANCE_ID, oldMemberId));
    old.completeSync(syncError(ErrorCode.FENCED_INSTANCE_ID));
    const fresh = new GroupMember(
      newMemberId,
      old.groupInstanceId,
      old.clientId,
      old.clientHost,
      old.rebalanceTimeoutMs,
      old.sessionTimeoutMs,
      old.protocolType,
      old.protocols,
    );
    fresh.assignment = old.assignment;
    this.members.set(newMemberId, fresh);
    if (this.leaderId === oldMemberId) this.leaderId = newMemberId;
    this.staticMembers.set(groupInstanceId, newMemberId);
    this.pendingSyncMembers.delete(oldMemberId);
    return fresh;
  }

  /**
   * Whether a joining member's protocols fit the group: any non-empty protocol list while Empty;
   * afterwards the same protocol type and at least one protocol every current member supports.
   */
  supportsProtocols(protocolType: string, protocols: readonly GroupProtocol[]): boolean {
    if (this.is('Empty')) return protocolType !== '' && protocols.length > 0;
    return this.protocolType === protocolType && protocols.some((p) => (this.protocolSupport.get(p.name) ?? 0) === this.members.size);
  }

  /** The protocol every member supports that most members prefer (Kafka's vote). */
  selectProtocol(): string {
    if (this.members.size === 0) throw new Error(`group ${this.groupId}: cannot select a protocol without members`);
    const candidates = new Set([...this.protocolSupport].filter(([, n]) => n === this.members.size).map(([name]) => name));
    const votes = new Map<string, number>();
    for (const m of this.members.values()) {
      const choice = m.vote(candidates);
      votes.set(choice, (votes.get(choice) ?? 0) + 1);
    }
    let best: string | null = null;
    let bestVotes = -1;
    for (const [name, n] of votes) {
      if (n > bestVotes) {
        best = name;
        bestVotes = n;
      }
    }
    return best!;
  }

  /**
   * Make sure the leader is among the members that rejoined; false when no member rejoined at all
   * (the join phase cannot end yet).
   */
  maybeElectNewJoinedLeader(): boolean {
    if (this.leaderId === null) return false;
    const leader = this.members.get(this.leaderId);
    if (leader?.isAwaitingJoin) return true;
    for (const m of this.members.values()) {
      if (m.isAwaitingJoin) {
        this.leaderId = m.memberId;
        return true;
      }
    }
    return false;
  }

  /** Start the next generation: CompletingRebalance with the selected protocol, or Empty. */
  initNextGeneration(): void {
    this.generationId++;
    if (this.members.size > 0) {
      this.protocolName = this.selectProtocol();
      this.subscribedTopics = this.computeSubscribedTopics();
      this.transitionTo('CompletingRebalance');
    } else {
      this.protocolName = null;
      this.subscribedTopics = this.computeSubscribedTopics();
      this.transitionTo('Empty');
    }
    this.pendingSyncMembers.clear();
  }

  /** The members as the leader's JoinGroup answer lists them, with their selected-protocol metadata. */
  joinMembers(): JoinOutcome['members'] {
    return [...this.members.values()].map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, metadata: m.metadata(this.protocolName) }));
  }

  /**
   * Topics the members subscribe to (consumer protocol only; every version of the subscription
   * starts with the v0 fields, so it is read at v0 as Kafka does). null when unknown.
   */
  computeSubscribedTopics(): ReadonlySet<string> | null {
    if (this.protocolType !== CONSUMER_PROTOCOL_TYPE) return null;
    if (this.members.size === 0) return new Set();
    if (this.protocolName === null) return null;
    const topics = new Set<string>();
    for (const m of this.members.values()) {
      const parsed = parseSubscriptionTopics(m.metadata(this.protocolName));
      if (parsed === null) return null;
      for (const t of parsed) topics.add(t);
    }
    return topics;
  }

  /** Whether offsets of a topic are in use: subscribed, or unknown for a consumer-protocol group. */
  isSubscribedToTopic(topic: string): boolean {
    if (this.subscribedTopics !== null) return this.subscribedTopics.has(topic);
    return this.usesConsumerProtocol;
  }

  private countProtocols(member: GroupMember, delta: number): void {
    for (const p of member.protocols) this.protocolSupport.set(p.name, (this.protocolSupport.get(p.name) ?? 0) + delta);
  }
}

/**
 * The topic list of a consumer-protocol subscription: an int16 version, then the message; every
 * version starts with v0's fields, so it is read at v0 (as Kafka does). null when it does not parse,
 * or would decode to more elements than src/base/limits.ts allows for its size.
 */
export function parseSubscriptionTopics(bytes: Buffer): string[] | null {
  try {
    // The member's own bytes, decoded under the same element budget as a request of their size.
    const r = new Reader(bytes).limitElements(requestElementBudget(bytes.length));
    if (r.int16() < 0) return null;
    return ConsumerProtocolSubscription.decode(r, 0).topics;
  } catch {
    return null;
  }
}
