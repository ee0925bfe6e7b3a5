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
