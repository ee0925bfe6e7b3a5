/**
 * Partition assignors for the classic consumer group protocol, with the names the Java client
 * registers, so mixed groups of Java, librdkafka and Rafka consumers agree on the protocol:
 *
 * - `range` (RangeAssignor): per topic, the partitions in order are split into contiguous ranges over
 *   the members subscribed to it, sorted by member id; the first `n % m` members get one extra.
 * - `roundrobin` (RoundRobinAssignor): all partitions of all topics, sorted by topic then partition,
 *   dealt in turn to the members sorted by member id, skipping members not subscribed to the topic.
 * - `cooperative-sticky` (CooperativeStickyAssignor, KIP-429): keeps every member's owned partitions
 *   where it can, gives new partitions to the least loaded members, then moves partitions from the
 *   most to the least loaded until counts differ by at most one. A partition that moves from one
 *   member to another is left out of this round's assignment: its old owner revokes it, rejoins, and
 *   the follow-up rebalance gives it to the new owner (KIP-429's two-phase move).
 *
 * Eager assignors (range, roundrobin) make every member give up all partitions before rejoining; the
 * cooperative one only the partitions that move.
 */
import { Reader } from '../protocol/codec/reader.js';
import { Writer } from '../protocol/codec/writer.js';
import {
  ConsumerProtocolAssignment,
  ConsumerProtocolSubscription,
  type ConsumerProtocolSubscription as Subscription,
} from '../protocol/messages/index.js';

export type RebalanceProtocol = 'eager' | 'cooperative';

export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface MemberSubscription {
  memberId: string;
  groupInstanceId: string | null;
  topics: string[];
  /** Partitions the member owns now (subscription v1+), for sticky assignors. */
  ownedPartitions: TopicPartition[];
  /** Generation the owned partitions belong to (subscription v2+, or cooperative-sticky user data); -1 unknown. */
  generation: number;
  userData: Buffer | null;
}

/** memberId → assigned partitions. */
export type GroupAssignment = Map<string, TopicPartition[]>;

export interface Assignor {
  /** Protocol name in JoinGroup (Kafka's names: range, roundrobin, cooperative-sticky). */
  readonly name: string;
  readonly protocol: RebalanceProtocol;
  /** User data this member puts in its subscription. */
  userData?(generation: number): Buffer | null;
  /** Compute the assignment; `partitionCounts` holds the number of partitions of every subscribed topic. */
  assign(members: MemberSubscription[], partitionCounts: ReadonlyMap<string, number>): GroupAssignment;
}

function byMemberId(a: MemberSubscription, b: MemberSubscription): number {
  // Java sorts by group.instance.id when present (static members), else member id.
  const ka = a.groupInstanceId ?? a.memberId;
  const kb = b.groupInstanceId ?? b.memberId;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

function emptyAssignment(members: MemberSubscription[]): GroupAssignment {
  return new Map(members.map((m) => [m.memberId, [] as TopicPartition[]]));
}

export const rangeAssignor: Assignor = {
  name: 'range',
  protocol: 'eager',
  assign(members, partitionCounts) {
    const out = emptyAssignment(members);
    const topics = [...new Set(members.flatMap((m) => m.topics))].sort();
    for (const topic of topics) {
      const n = partitionCounts.get(topic) ?? 0;
      const subs = members.filter((m) => m.topics.includes(topic)).sort(byMemberId);
      const per = Math.floor(n / subs.length);
      const extra = n % subs.length;
      subs.forEach((m, i) => {
        const start = per * i + Math.min(i, extra);
        const len = per + (i < extra ? 1 : 0);
        for (let p = start; p < start + len; p++) out.get(m.memberId)!.push({ topic, partition: p });
      });
    }
    return out;
  },
};

export const roundRobinAssignor: Assignor = {
  name: 'roundrobin',
  protocol: 'eager',
  assign(members, partitionCounts) {
    const out = emptyAssignment(members);
    const sorted = [...members].sort(byMemberId);
    const topics = [...new Set(members.flatMap((m) => m.topics))].sort();
    let i = 0;
    for (const topic of topics) {
      const n = partitionCounts.get(topic) ?? 0;
      for (let p = 0; p < n; p++) {
        // Next member (circularly) subscribed to this topic.
        for (let tries = 0; tries < sorted.length; tries++) {
          const m = sorted[i % sorted.length]!;
          i++;
          if (m.topics.includes(topic)) {
            out.get(m.memberId)!.push({ topic, partition: p });
            break;
          }
        }
      }
    }
    return out;
  },
};

const tpKey = (t: string, p: number) => `${t}\u0000${p}`;

export const cooperativeStickyAssignor: Assignor = {
  name: 'cooperative-sticky',
  protocol: 'cooperative',
  /** Java's CooperativeStickyAssignor puts the generation in its user data (int32). */
  userData(generation) {
    const b = Buffer.alloc(4);
    b.writeInt32BE(generation, 0);
    return b;
  },
  assign(members, partitionCounts) {
    const sorted = [...members].sort(byMemberId);
    const subscribed = new Map(sorted.map((m) => [m.memberId, new Set(m.topics)]));
    const current = new Map<string, TopicPartition[]>(sorted.map((m) => [m.memberId, []]));
    // 1. Keep valid owned partitions; a partition claimed twice goes to the highest generation.
    const claimed = new Map<string, { memberId: string; generation: number }>();
    for (const m of sorted) {
      for (const tp of m.ownedPartitions) {
        if (!subscribed.get(m.memberId)!.has(tp.topic) || tp.partition >= (partitionCounts.get(tp.topic) ?? 0)) continue;
        const k = tpKey(tp.topic, tp.partition);
        const prev = claimed.get(k);
        if (!prev || m.generation > prev.generation) claimed.set(k, { memberId: m.memberId, generation: m.generation });
      }
    }
    for (const [k, c] of claimed) {
      const [topic, p] = k.split('\u0000') as [string, string];
      current.get(c.memberId)!.push({ topic, partition: Number(p) });
    }
    const count = (id: string) => current.get(id)!.length;
    // 2. Unowned partitions to the least loaded eligible member.
    const topics = [...new Set(sorted.flatMap((m) => m.topics))].sort();
    for (const topic of topics) {
      const n = partitionCounts.get(topic) ?? 0;
      const eligible = sorted.filter((m) => subscribed.get(m.memberId)!.has(topic));
      for (let p = 0; p < n; p++) {
        if (claimed.has(tpKey(topic, p))) continue;
        let best = eligible[0]!;
        for (const m of eligible) if (count(m.memberId) < count(best.memberId)) best = m;
        current.get(best.memberId)!.push({ topic, partition: p });
      }
    }
    // 3. Balance: move from the most to the least loaded member while counts differ by more than one.
    const limit = topics.reduce((s, t) => s + (partitionCounts.get(t) ?? 0), 0) * sorted.length + 1;
    for (let step = 0; step < limit; step++) {
      let moved = false;
      const byLoad = [...sorted].sort((a, b) => count(b.memberId) - count(a.memberId) || byMemberId(a, b));
      outer: for (const heavy of byLoad) {
        for (const light of [...byLoad].reverse()) {
          if (count(heavy.memberId) - count(light.memberId) <= 1) continue;
          const list = current.get(heavy.memberId)!;
          for (let i = list.length - 1; i >= 0; i--) {
            if (subscribed.get(light.memberId)!.has(list[i]!.topic)) {
              current.get(light.memberId)!.push(list.splice(i, 1)[0]!);
              moved = true;
              break outer;
            }
          }
        }
      }
      if (!moved) break;
    }
    // 4. KIP-429: a partition owned by another member is assigned only after its owner revoked it.
    const owner = new Map<string, string>();
    for (const m of sorted) for (const tp of m.ownedPartitions) owner.set(tpKey(tp.topic, tp.partition), m.memberId);
    const out: GroupAssignment = new Map();
    for (const m of sorted) {
      const list = current.get(m.memberId)!.filter((tp) => {
        const o = owner.get(tpKey(tp.topic, tp.partition));
        return o === undefined || o === m.memberId;
      });
      list.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
      out.set(m.memberId, list);
    }
    return out;
  },
};

export const ASSIGNORS: Readonly<Record<string, Assignor>> = {
  range: rangeAssignor,
  roundrobin: roundRobinAssignor,
  'cooperative-sticky': cooperativeStickyAssignor,
};

// ------------------------------------------------------------------------------------------------
// ConsumerProtocol: subscription and assignment bytes inside JoinGroup / SyncGroup
// ------------------------------------------------------------------------------------------------

/** Subscription version we write (v3: owned partitions, generation, rack; Kafka 3.5+). */
export const SUBSCRIPTION_VERSION = 3;
export const ASSIGNMENT_VERSION = 3;

function groupByTopic(tps: readonly TopicPartition[]): { topic: string; partitions: number[] }[] {
  const m = new Map<string, number[]>();
  for (const tp of tps) {
    let l = m.get(tp.topic);
    if (!l) m.set(tp.topic, (l = []));
    l.push(tp.partition);
  }
  return [...m].map(([topic, partitions]) => ({ topic, partitions: partitions.sort((a, b) => a - b) }));
}

function flatten(list: readonly { topic: string; partitions: readonly number[] }[]): TopicPartition[] {
  return list.flatMap((t) => t.partitions.map((partition) => ({ topic: t.topic, partition })));
}

/** ConsumerProtocol.serializeSubscription: int16 version, then the struct at that version. */
export function encodeSubscription(topics: readonly string[], owned: readonly TopicPartition[], generation: number, userData: Buffer | null, rackId: string | null = null): Buffer {
  const w = new Writer(128);
  w.int16(SUBSCRIPTION_VERSION);
  ConsumerProtocolSubscription.encode(w, { topics: [...topics].sort(), userData, ownedPartitions: groupByTopic(owned), generationId: generation, rackId }, SUBSCRIPTION_VERSION);
  return w.toBuffer();
}

/**
 * ConsumerProtocol.deserializeSubscription. A version newer than ours is read as our newest, as the
 * Java client does: new versions only append fields.
 */
export function decodeSubscription(memberId: string, groupInstanceId: string | null, bytes: Buffer): MemberSubscription {
  const r = new Reader(bytes);
  const version = Math.min(r.int16(), ConsumerProtocolSubscription.maxVersion);
  const s: Subscription = ConsumerProtocolSubscription.decode(r, Math.max(0, version));
  let generation = s.generationId ?? -1;
  if (version < 2 && s.userData && s.userData.length >= 4) generation = s.userData.readInt32BE(0);
  return { memberId, groupInstanceId, topics: s.topics, ownedPartitions: flatten(s.ownedPartitions ?? []), generation, userData: s.userData };
}

export function encodeAssignment(tps: readonly TopicPartition[], userData: Buffer | null = null): Buffer {
  const w = new Writer(128);
  w.int16(ASSIGNMENT_VERSION);
  ConsumerProtocolAssignment.encode(w, { assignedPartitions: groupByTopic(tps), userData }, ASSIGNMENT_VERSION);
  return w.toBuffer();
}

export function decodeAssignment(bytes: Buffer): TopicPartition[] {
  if (bytes.length === 0) return [];
  const r = new Reader(bytes);
  const version = Math.min(r.int16(), ConsumerProtocolAssignment.maxVersion);
  const a = ConsumerProtocolAssignment.decode(r, Math.max(0, version));
  return flatten(a.assignedPartitions);
}
