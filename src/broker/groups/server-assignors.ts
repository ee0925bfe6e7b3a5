/**
 * The server-side assignors of KIP-848 consumer groups, under the names Kafka registers them
 * (`group.consumer.assignors`; a member picks one with its `group.remote.assignor`, the heartbeat's
 * ServerAssignor). Pure functions of the members, their subscriptions and the topics: the
 * coordinator (consumer-groups.ts) calls them when the group epoch moves past the assignment epoch.
 *
 * - `uniform` (Kafka's UniformAssignor): balance first (member counts differ by at most one among
 *   members that can take the same partitions), stickiness second. Each member keeps what the last
 *   target assignment gave it while that is still subscribed and exists; partitions nobody holds go
 *   to the least loaded subscribed member; then partitions move from the most to the least loaded
 *   member subscribed to their topic until no move narrows the gap. Kafka gets the same properties
 *   from its homogeneous and heterogeneous builders; the exact partition placement may differ.
 * - `range` (Kafka's RangeAssignor): per topic, the subscribed members sorted by instance id (else
 *   member id) get contiguous ranges, the first `partitions % members` one partition more, so members
 *   subscribed to the same co-partitioned topics get the same partition numbers of each.
 *
 * Topics are identified by topic id, as in the heartbeat.
 */

/** Topic id → partitions. */
export type Assignment = ReadonlyMap<string, ReadonlySet<number>>;

export interface AssignorMember {
  readonly memberId: string;
  readonly instanceId: string | null;
  /** Topic ids the member subscribes to (by name or by regex) that exist. */
  readonly subscribedTopicIds: ReadonlySet<string>;
  /** The member's part of the previous target assignment. */
  readonly previous: Assignment;
}

export interface AssignorTopic {
  readonly name: string;
  readonly partitions: number;
}

export interface ServerAssignor {
  readonly name: string;
  /** memberId → assignment, for every member given (an empty map for members with nothing). */
  assign(members: readonly AssignorMember[], topics: ReadonlyMap<string, AssignorTopic>): Map<string, Assignment>;
}

/** The assignors Rafka has, by the name members and `group.consumer.assignors` use. */
export const SERVER_ASSIGNORS: ReadonlyMap<string, ServerAssignor> = new Map<string, ServerAssignor>([
  ['uniform', { name: 'uniform', assign: uniformAssign }],
  ['range', { name: 'range', assign: rangeAssign }],
]);

/** Kafka's class names of its assignors, accepted in `group.consumer.assignors` as Kafka accepts them. */
export const ASSIGNOR_CLASS_NAMES: ReadonlyMap<string, string> = new Map([
  ['org.apache.kafka.coordinator.group.assignor.UniformAssignor', 'uniform'],
  ['org.apache.kafka.coordinator.group.assignor.RangeAssignor', 'range'],
]);

function memberOrder(a: AssignorMember, b: AssignorMember): number {
  const ka = a.instanceId ?? a.memberId;
  const kb = b.instanceId ?? b.memberId;
  return ka < kb ? -1 : ka > kb ? 1 : a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0;
}

function freeze(work: Map<string, Map<string, Set<number>>>): Map<string, Assignment> {
  return new Map([...work].map(([id, byTopic]) => [id, new Map([...byTopic].filter(([, ps]) => ps.size > 0))]));
}

function add(a: Map<string, Set<number>>, topicId: string, p: number): void {
  let s = a.get(topicId);
  if (!s) a.set(topicId, (s = new Set()));
  s.add(p);
}

function rangeAssign(members: readonly AssignorMember[], topics: ReadonlyMap<string, AssignorTopic>): Map<string, Assignment> {
  const out = new Map<string, Map<string, Set<number>>>(members.map((m) => [m.memberId, new Map()]));
  const sorted = [...members].sort(memberOrder);
  for (const [topicId, topic] of [...topics].sort(([, a], [, b]) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const subscribers = sorted.filter((m) => m.subscribedTopicIds.has(topicId));
    if (subscribers.length === 0) continue;
    const per = Math.floor(topic.partitions / subscribers.length);
    const extra = topic.partitions % subscribers.length;
    let next = 0;
    subscribers.forEach((m, i) => {
      const n = per + (i < extra ? 1 : 0);
      for (let k = 0; k < n; k++) add(out.get(m.memberId)!, topicId, next++);
    });
  }
  return freeze(out);
}

function uniformAssign(members: readonly AssignorMember[], topics: ReadonlyMap<string, AssignorTopic>): Map<string, Assignment> {
  const sorted = [...members].sort(memberOrder);
  const work = new Map<string, Map<string, Set<number>>>(sorted.map((m) => [m.memberId, new Map()]));
  const count = new Map<string, number>(sorted.map((m) => [m.memberId, 0]));
  const owner = new Map<string, string>(); // `${topicId}:${p}` → member id
  const key = (t: string, p: number) => `${t}:${p}`;
  const give = (memberId: string, t: string, p: number) => {
    add(work.get(memberId)!, t, p);
    count.set(memberId, count.get(memberId)! + 1);
    owner.set(key(t, p), memberId);
  };
  const take = (memberId: string, t: string, p: number) => {
    work.get(memberId)!.get(t)!.delete(p);
    count.set(memberId, count.get(memberId)! - 1);
    owner.delete(key(t, p));
  };
  // 1. Stickiness: keep what the previous target gave, while still subscribed and existing.
  for (const m of sorted) {
    for (const [t, ps] of m.previous) {
      const topic = topics.get(t);
      if (!topic || !m.subscribedTopicIds.has(t)) continue;
      for (const p of [...ps].sort((a, b) => a - b)) if (p < topic.partitions && !owner.has(key(t, p))) give(m.memberId, t, p);
    }
  }
  const subscribers = new Map<string, AssignorMember[]>();
  for (const [t] of topics) subscribers.set(t, sorted.filter((m) => m.subscribedTopicIds.has(t)));
  const leastLoaded = (t: string): AssignorMember | undefined => {
    let best: AssignorMember | undefined;
    for (const m of subscribers.get(t) ?? []) if (best === undefined || count.get(m.memberId)! < count.get(best.memberId)!) best = m;
    return best;
  };
  // 2. Every partition nobody holds goes to the least loaded member subscribed to its topic.
  for (const [t, topic] of [...topics].sort(([, a], [, b]) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    for (let p = 0; p < topic.partitions; p++) {
      if (owner.has(key(t, p))) continue;
      const m = leastLoaded(t);
      if (m) give(m.memberId, t, p);
    }
  }
  // 3. Balance: move a partition from a member to a less loaded one subscribed to its topic while
  // that narrows the gap by two or more. Each move lowers the sum of squared counts, so this ends;
  // the bound is a guard against a bug, never reached by a correct loop.
  const bound = 4 * (owner.size + 1) * (sorted.length + 1);
  for (let moves = 0; moves < bound; moves++) {
    let moved = false;
    const byLoad = [...sorted].sort((a, b) => count.get(b.memberId)! - count.get(a.memberId)!);
    outer: for (const from of byLoad) {
      const fromCount = count.get(from.memberId)!;
      for (const [t, ps] of work.get(from.memberId)!) {
        if (ps.size === 0) continue;
        const to = leastLoaded(t);
        if (!to || count.get(to.memberId)! > fromCount - 2) continue;
        const p = Math.max(...ps);
        take(from.memberId, t, p);
        give(to.memberId, t, p);
        moved = true;
        break outer;
      }
    }
    if (!moved) break;
  }
  return freeze(work);
}
