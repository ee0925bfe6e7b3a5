/**
 * The classic consumer protocol's embedded bytes (Kafka's ConsumerProtocol), as the coordinator
 * reads and writes them when a group moves between protocols (KIP-848 online migration): a classic
 * member's subscription in its JoinGroup protocol metadata, and the assignment handed to it in
 * SyncGroup. Each starts with an int16 version; a newer version than ours is read at ours (every
 * version extends the one before), as Kafka's ConsumerProtocol does.
 *
 * Who calls it: the coordinators (coordinator.ts, consumer-groups.ts), on the broker's event loop.
 */
import { requestElementBudget } from '../../base/limits.js';
import { Reader } from '../../protocol/codec/reader.js';
import { Writer } from '../../protocol/codec/writer.js';
import { ConsumerProtocolAssignment, ConsumerProtocolSubscription } from '../../protocol/messages/index.js';
import type { Assignment } from './server-assignors.js';

/** A classic member's subscription, topics by name. */
export interface ClassicSubscription {
  readonly topics: readonly string[];
  /** Partitions the member reports owning (v1+, cooperative clients); empty before. */
  readonly ownedPartitions: readonly { topic: string; partitions: readonly number[] }[];
  readonly rackId: string | null;
}

/** A member's bytes, read under the same element budget as a request of their size. */
function reader(bytes: Buffer): Reader {
  return new Reader(bytes).limitElements(requestElementBudget(bytes.length));
}

/** The version an embedded message starts with; throws on a negative one or too few bytes. */
export function embeddedVersion(bytes: Buffer): number {
  const v = new Reader(bytes).int16();
  if (v < 0) throw new Error(`negative consumer protocol version ${v}`);
  return v;
}

/** Decode a JoinGroup protocol's metadata as a subscription; throws when it is not one. */
export function decodeClassicSubscription(bytes: Buffer): ClassicSubscription {
  const r = reader(bytes);
  const version = r.int16();
  if (version < 0) throw new Error(`negative consumer protocol version ${version}`);
  const s = ConsumerProtocolSubscription.decode(r, Math.min(version, ConsumerProtocolSubscription.maxVersion));
  return { topics: s.topics, ownedPartitions: version >= 1 ? s.ownedPartitions : [], rackId: version >= 3 ? s.rackId : null };
}

/** Decode a classic assignment (SyncGroup bytes) into partitions by topic name; empty bytes: none. */
export function decodeClassicAssignment(bytes: Buffer): { topic: string; partitions: number[] }[] {
  if (bytes.length === 0) return [];
  const r = reader(bytes);
  const version = r.int16();
  if (version < 0) throw new Error(`negative consumer protocol version ${version}`);
  return ConsumerProtocolAssignment.decode(r, Math.min(version, ConsumerProtocolAssignment.maxVersion)).assignedPartitions;
}

/**
 * Encode an assignment (topic id → partitions) as a classic member reads it, at the version of the
 * member's own subscription (capped at ours), as Kafka's prepareAssignment does. Topics no longer
 * known by id are left out.
 */
export function encodeClassicAssignment(a: Assignment, version: number, topicName: (id: string) => string | undefined): Buffer {
  const v = Math.min(Math.max(version, 0), ConsumerProtocolAssignment.maxVersion);
  const assignedPartitions: { topic: string; partitions: number[] }[] = [];
  for (const [id, ps] of a) {
    const topic = topicName(id);
    if (topic === undefined || ps.size === 0) continue;
    assignedPartitions.push({ topic, partitions: [...ps].sort((x, y) => x - y) });
  }
  const w = new Writer(64);
  w.int16(v);
  ConsumerProtocolAssignment.encode(w, { assignedPartitions, userData: null }, v);
  return w.toBuffer();
}
