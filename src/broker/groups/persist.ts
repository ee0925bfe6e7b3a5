/**
 * The stored form of a group's metadata (StorageEngine.putGroupMetadata values): what Kafka keeps in
 * its GroupMetadataValue record — protocol type, generation, selected protocol, leader, when the
 * group entered its state, and each member with its client id, host, timeouts, subscription (the
 * selected protocol's metadata) and assignment. Offsets are stored apart, through commitOffsets.
 *
 * Layout, big-endian, in Kafka's primitive encodings (src/protocol/codec):
 *   int16 format version (1)
 *   nullable string protocol type, int32 generation, nullable string protocol name,
 *   nullable string leader, int64 state timestamp ms (-1 = none)
 *   int32 member count, then per member:
 *     string member id, nullable string group instance id, string client id, string client host,
 *     int32 rebalance timeout ms, int32 session timeout ms, bytes subscription, bytes assignment
 *
 * The value is checked when read back: a bad value is reported (and that group skipped), never
 * half-loaded.
 */
import { Reader } from '../../protocol/codec/reader.js';
import { Writer } from '../../protocol/codec/writer.js';

export const GROUP_METADATA_FORMAT = 1;

export interface StoredMember {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  rebalanceTimeoutMs: number;
  sessionTimeoutMs: number;
  subscription: Buffer;
  assignment: Buffer;
}

export interface StoredGroup {
  protocolType: string | null;
  generationId: number;
  protocolName: string | null;
  leaderId: string | null;
  stateTimestampMs: number | null;
  members: StoredMember[];
}

export function encodeGroupMetadata(g: StoredGroup): Buffer {
  const w = new Writer();
  w.int16(GROUP_METADATA_FORMAT);
  w.nullableString(g.protocolType);
  w.int32(g.generationId);
  w.nullableString(g.protocolName);
  w.nullableString(g.leaderId);
  w.int64(BigInt(g.stateTimestampMs ?? -1));
  w.int32(g.members.length);
  for (const m of g.members) {
    w.string(m.memberId);
    w.nullableString(m.groupInstanceId);
    w.string(m.clientId);
    w.string(m.clientHost);
    w.int32(m.rebalanceTimeoutMs);
    w.int32(m.sessionTimeoutMs);
    w.bytes(m.subscription);
    w.bytes(m.assignment);
  }
  return w.toBuffer();
}

/** Decode a stored value; throws (DecodeError or Error) when it is not one we wrote. */
export function decodeGroupMetadata(value: Buffer): StoredGroup {
  const r = new Reader(value);
  const format = r.int16();
  if (format !== GROUP_METADATA_FORMAT) throw new Error(`unknown group metadata format ${format}`);
  const protocolType = r.nullableString();
  const generationId = r.int32();
  const protocolName = r.nullableString();
  const leaderId = r.nullableString();
  const ts = Number(r.int64());
  const count = r.arrayLength(4 * 2 + 2 * 4);
  const members: StoredMember[] = [];
  for (let i = 0; i < count; i++) {
    members.push({
      memberId: r.string(),
      groupInstanceId: r.nullableString(),
      clientId: r.string(),
      clientHost: r.string(),
      rebalanceTimeoutMs: r.int32(),
      sessionTimeoutMs: r.int32(),
      // Copies: the engine may reuse the buffer it handed us.
      subscription: Buffer.from(r.bytes()),
      assignment: Buffer.from(r.bytes()),
    });
  }
  if (r.remaining !== 0) throw new Error(`${r.remaining} bytes after the group metadata`);
  if (generationId < 0) throw new Error(`negative generation ${generationId}`);
  if (leaderId !== null && !members.some((m) => m.memberId === leaderId)) throw new Error(`leader ${leaderId} is not a member`);
  return { protocolType, generationId, protocolName, leaderId, stateTimestampMs: ts < 0 ? null : ts, members };
}

/**
 * The stored form of a KIP-848 consumer group (format 2, same StorageEngine.putGroupMetadata slot):
 * what Kafka keeps in its ConsumerGroupMetadata, PartitionMetadata, MemberMetadata, TargetAssignment
 * and CurrentMemberAssignment records, in one value.
 *
 *   int16 format (2), int32 group epoch, int32 assignment epoch, int64 state timestamp ms (-1 none)
 *   int32 count, then per subscribed topic: string name, uuid id, int32 partitions
 *   int32 count, then per member:
 *     string member id, nullable string instance id, nullable string rack id, string client id,
 *     string client host, int32 rebalance timeout ms, int32 count + strings subscribed topic names,
 *     nullable string regex, nullable string server assignor, int32 member epoch,
 *     int32 previous member epoch, int8 state (0 stable, 1 unrevoked, 2 unreleased),
 *     assignment assigned, assignment pending revocation, assignment target
 *   assignment: int32 count, then per topic: uuid id, int32 count + int32 partitions
 *
 * Format 3 (written since the online migration between protocols) adds to each member, after its
 * target: int8 1 and the classic member's metadata — int32 session timeout ms, int32 count, then per
 * JoinGroup protocol: string name, bytes metadata — or int8 0 for a KIP-848 member. Format 2 values
 * are still read (their members are all KIP-848 members).
 */
export const CONSUMER_GROUP_METADATA_FORMAT_V2 = 2;
export const CONSUMER_GROUP_METADATA_FORMAT = 3;

export interface StoredConsumerMember {
  memberId: string;
  instanceId: string | null;
  rackId: string | null;
  clientId: string;
  clientHost: string;
  rebalanceTimeoutMs: number;
  subscribedTopicNames: string[];
  subscribedTopicRegex: string | null;
  serverAssignor: string | null;
  memberEpoch: number;
  previousMemberEpoch: number;
  state: number;
  assigned: Map<string, Set<number>>;
  pendingRevocation: Map<string, Set<number>>;
  target: Map<string, Set<number>>;
  classic: { sessionTimeoutMs: number; protocols: { name: string; metadata: Buffer }[] } | null;
}

export interface StoredConsumerGroup {
  groupEpoch: number;
  assignmentEpoch: number;
  stateTimestampMs: number | null;
  topics: { name: string; id: string; partitions: number }[];
  members: StoredConsumerMember[];
}

/** The format of a stored group value (1 classic, 2 or 3 consumer); throws on a value too short to say. */
export function storedGroupFormat(value: Buffer): number {
  return new Reader(value).int16();
}

function writeAssignment(w: Writer, a: ReadonlyMap<string, ReadonlySet<number>>): void {
  const topics = [...a].filter(([, ps]) => ps.size > 0);
  w.int32(topics.length);
  for (const [id, ps] of topics) {
    w.uuid(id);
    w.int32(ps.size);
    for (const p of [...ps].sort((x, y) => x - y)) w.int32(p);
  }
}

function readAssignment(r: Reader): Map<string, Set<number>> {
  const out = new Map<string, Set<number>>();
  const n = r.arrayLength(20);
  for (let i = 0; i < n; i++) {
    const id = r.uuid();
    const count = r.arrayLength(4, true);
    const ps = new Set<number>();
    for (let k = 0; k < count; k++) {
      const p = r.int32();
      if (p < 0) throw new Error(`negative partition ${p}`);
      ps.add(p);
    }
    out.set(id, ps);
  }
  return out;
}

export function encodeConsumerGroup(g: StoredConsumerGroup): Buffer {
  const w = new Writer();
  w.int16(CONSUMER_GROUP_METADATA_FORMAT);
  w.int32(g.groupEpoch);
  w.int32(g.assignmentEpoch);
  w.int64(BigInt(g.stateTimestampMs ?? -1));
  w.int32(g.topics.length);
  for (const t of g.topics) {
    w.string(t.name);
    w.uuid(t.id);
    w.int32(t.partitions);
  }
  w.int32(g.members.length);
  for (const m of g.members) {
    w.string(m.memberId);
    w.nullableString(m.instanceId);
    w.nullableString(m.rackId);
    w.string(m.clientId);
    w.string(m.clientHost);
    w.int32(m.rebalanceTimeoutMs);
    w.int32(m.subscribedTopicNames.length);
    for (const t of m.subscribedTopicNames) w.string(t);
    w.nullableString(m.subscribedTopicRegex);
    w.nullableString(m.serverAssignor);
    w.int32(m.memberEpoch);
    w.int32(m.previousMemberEpoch);
    w.int8(m.state);
    writeAssignment(w, m.assigned);
    writeAssignment(w, m.pendingRevocation);
    writeAssignment(w, m.target);
    if (m.classic === null) {
      w.int8(0);
    } else {
      w.int8(1);
      w.int32(m.classic.sessionTimeoutMs);
      w.int32(m.classic.protocols.length);
      for (const p of m.classic.protocols) {
        w.string(p.name);
        w.bytes(p.metadata);
      }
    }
  }
  return w.toBuffer();
}

/** Decode a stored consumer group; throws when it is not one we wrote. */
export function decodeConsumerGroup(value: Buffer): StoredConsumerGroup {
  const r = new Reader(value);
  const format = r.int16();
  if (format !== CONSUMER_GROUP_METADATA_FORMAT && format !== CONSUMER_GROUP_METADATA_FORMAT_V2) throw new Error(`not a consumer group (format ${format})`);
  const groupEpoch = r.int32();
  const assignmentEpoch = r.int32();
  const ts = Number(r.int64());
  const topics: StoredConsumerGroup['topics'] = [];
  const nt = r.arrayLength(2 + 16 + 4);
  for (let i = 0; i < nt; i++) topics.push({ name: r.string(), id: r.uuid(), partitions: r.int32() });
  const members: StoredConsumerMember[] = [];
  const nm = r.arrayLength(2 * 4 + 4 * 5);
  for (let i = 0; i < nm; i++) {
    const memberId = r.string();
    const instanceId = r.nullableString();
    const rackId = r.nullableString();
    const clientId = r.string();
    const clientHost = r.string();
    const rebalanceTimeoutMs = r.int32();
    const names: string[] = [];
    const nn = r.arrayLength(2);
    for (let k = 0; k < nn; k++) names.push(r.string());
    const subscribedTopicRegex = r.nullableString();
    const serverAssignor = r.nullableString();
    const memberEpoch = r.int32();
    const previousMemberEpoch = r.int32();
    const state = r.int8();
    if (state < 0 || state > 2) throw new Error(`unknown member state ${state}`);
    const assigned = readAssignment(r);
    const pendingRevocation = readAssignment(r);
    const target = readAssignment(r);
    let classic: StoredConsumerMember['classic'] = null;
    if (format === CONSUMER_GROUP_METADATA_FORMAT) {
      const flag = r.int8();
      if (flag !== 0 && flag !== 1) throw new Error(`bad classic member flag ${flag}`);
      if (flag === 1) {
        const sessionTimeoutMs = r.int32();
        const protocols: { name: string; metadata: Buffer }[] = [];
        const np = r.arrayLength(2 + 4);
        // Copies: the engine may reuse the buffer it handed us.
        for (let k = 0; k < np; k++) protocols.push({ name: r.string(), metadata: Buffer.from(r.bytes()) });
        if (protocols.length === 0) throw new Error(`classic member ${memberId} without protocols`);
        classic = { sessionTimeoutMs, protocols };
      }
    }
    members.push({
      memberId, instanceId, rackId, clientId, clientHost, rebalanceTimeoutMs, subscribedTopicNames: names, subscribedTopicRegex, serverAssignor,
      memberEpoch, previousMemberEpoch, state, assigned, pendingRevocation, target, classic,
    });
  }
  if (r.remaining !== 0) throw new Error(`${r.remaining} bytes after the consumer group metadata`);
  if (groupEpoch < 0 || assignmentEpoch < 0 || assignmentEpoch > groupEpoch) throw new Error(`bad epochs ${groupEpoch}/${assignmentEpoch}`);
  return { groupEpoch, assignmentEpoch, stateTimestampMs: ts < 0 ? null : ts, topics, members };
}
