/**
 * ListOffsets (key 2), versions 1–10 (v0 was removed in Kafka 4.0, KIP-896).
 * - `isolation_level` (v2+) 1, read_committed: latest is the last stable offset (txn-log.ts), and any
 *   other lookup (except earliest) finding an offset at or past it answers none, as Kafka's
 *   Partition.fetchOffsetForTimestamp does with its lastFetchableOffset.
 * - Special timestamps: -1 latest (the high watermark), -2 earliest (log start offset), -3 the record with the largest timestamp (v7+, KIP-734),
 *   -4 earliest local offset (v8+, KIP-405: all our data is local, so the log start offset), -5 last
 *   tiered offset (v9+, KIP-1005: nothing is tiered, so -1 as Kafka answers without remote storage).
 * - Any other timestamp: the first offset whose record timestamp is ≥ it, found by the batch's max
 *   timestamp and then its records; none → offset -1, timestamp -1.
 * - One offset per partition; a partition listed twice is INVALID_REQUEST, as Kafka does.
 * - Stored batches are decoded through decode-turns.ts (one at a time broker-wide, the request's
 *   decompression budget); a batch that cannot be decoded answers its RecordsError code.
 * - `current_leader_epoch` (v4+) larger than our 0 is UNKNOWN_LEADER_EPOCH. In a cluster (cluster.ts)
 *   the partition's epoch is checked (FENCED_LEADER_EPOCH below it), and a node that does not lead
 *   the partition answers NOT_LEADER_OR_FOLLOWER.
 * - ACLs: DESCRIBE on each topic, else TOPIC_AUTHORIZATION_FAILED for its partitions (authorizer.ts).
 */
import { ApiKey, ListOffsetsRequest, ListOffsetsResponse, type ListOffsetsResponseListOffsetsPartitionResponse } from '../../protocol/messages/index.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import type { Init } from '../../protocol/codec/message.js';
import type { DecodedRecord } from '../../protocol/records/record.js';
import { RecordsError } from '../../protocol/records/errors.js';
import { withDecodedBatch } from '../../protocol/records/decode-turns.js';
import { MAX_DECOMPRESSED_BATCH_BYTES } from '../../base/limits.js';
import type { RequestContext } from '../handler.js';
import { Pacer } from '../pacer.js';
import { AclOperation, ResourceType } from '../security/acls.js';
import { allowed } from '../security/request-authz.js';
import { defineHandler } from '../handler.js';
import type { Broker } from '../broker.js';
import { leaderError, partitionLeader } from '../cluster.js';
import { lastStableOffset } from '../txn-log.js';

const LATEST = -1;
const EARLIEST = -2;
const MAX_TIMESTAMP = -3;
const EARLIEST_LOCAL = -4;
const LATEST_TIERED = -5;
const READ_COMMITTED = 1;

type PartitionAnswer = Init<ListOffsetsResponseListOffsetsPartitionResponse>;

export default defineHandler({
  apiKey: ApiKey.ListOffsets,
  minVersion: 1,
  maxVersion: 10,
  request: ListOffsetsRequest,
  response: ListOffsetsResponse,
  async handle(req, ctx) {
    const v = ctx.apiVersion;
    const broker = ctx.broker;
    const seen = new Map<string, number>();
    for (const t of req.topics) for (const p of t.partitions) {
      const k = `${t.name}\u0000${p.partitionIndex}`;
      seen.set(k, (seen.get(k) ?? 0) + 1);
    }
    const topics = [];
    const pacer = new Pacer();
    for (const t of req.topics) {
      const partitions: PartitionAnswer[] = [];
      const describable = allowed(ctx, AclOperation.DESCRIBE, ResourceType.TOPIC, t.name);
      for (const p of t.partitions) {
        await pacer.step();
        const base = { partitionIndex: p.partitionIndex };
        if (!describable) {
          partitions.push({ ...base, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED });
          continue;
        }
        if (seen.get(`${t.name}\u0000${p.partitionIndex}`)! > 1) {
          partitions.push({ ...base, errorCode: ErrorCode.INVALID_REQUEST });
          continue;
        }
        if (!broker.topics.hasPartition(t.name, p.partitionIndex)) {
          partitions.push({ ...base, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION });
          continue;
        }
        const topic = broker.topics.get(t.name)!;
        const notLeader = leaderError(broker, ctx.nodeId, topic, p.partitionIndex, p.currentLeaderEpoch);
        if (notLeader !== ErrorCode.NONE) {
          partitions.push({ ...base, errorCode: notLeader });
          continue;
        }
        const found = await lookup(ctx, t.name, p.partitionIndex, Number(p.timestamp), v, v >= 2 && req.isolationLevel === READ_COMMITTED);
        partitions.push({
          ...base,
          errorCode: found.errorCode,
          timestamp: BigInt(found.timestamp),
          offset: BigInt(found.offset),
          leaderEpoch: found.offset >= 0 ? partitionLeader(broker, topic, p.partitionIndex).leaderEpoch : -1,
        });
      }
      topics.push({ name: t.name, partitions });
    }
    return { throttleTimeMs: 0, topics };
  },
  clientThrottlesFromVersion: 3,
  errorResponse(req, _v, errorCode) {
    return {
      topics: req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode, timestamp: -1n, offset: -1n })),
      })),
    };
  },
});

interface Found {
  errorCode: number;
  offset: number;
  timestamp: number;
}

async function lookup(ctx: RequestContext, topic: string, partition: number, timestamp: number, v: number, readCommitted: boolean): Promise<Found> {
  try {
    const broker: Broker = ctx.broker;
    const offsets = broker.storage.offsets(topic, partition);
    const lastFetchable = readCommitted ? lastStableOffset(broker, topic, partition, offsets) : offsets.highWatermark;
    const found = await find(ctx, topic, partition, timestamp, v, lastFetchable);
    if (timestamp === EARLIEST || timestamp === EARLIEST_LOCAL || timestamp === LATEST || found.offset < lastFetchable) return found;
    return { errorCode: found.errorCode, offset: -1, timestamp: -1 };
  } catch (err) {
    if (err instanceof RecordsError) return { errorCode: err.errorCode, offset: -1, timestamp: -1 };
    throw err;
  }
}

/** The records of a stored batch, decoded within the request's limits (see decode-turns.ts). */
function recordsOf(ctx: RequestContext, batch: Buffer): Promise<DecodedRecord[]> {
  return withDecodedBatch(ctx, batch, MAX_DECOMPRESSED_BATCH_BYTES, (b) => b.records);
}

/** The lookup itself; latest is `lastFetchable` (the high watermark, or the LSO for read_committed). */
async function find(ctx: RequestContext, topic: string, partition: number, timestamp: number, v: number, lastFetchable: number): Promise<Found> {
  const broker: Broker = ctx.broker;
  const { logStartOffset } = broker.storage.offsets(topic, partition);
  const none: Found = { errorCode: ErrorCode.NONE, offset: -1, timestamp: -1 };
  switch (timestamp) {
    case LATEST:
      return { errorCode: ErrorCode.NONE, offset: lastFetchable, timestamp: -1 };
    case EARLIEST:
      return { errorCode: ErrorCode.NONE, offset: logStartOffset, timestamp: -1 };
    case EARLIEST_LOCAL:
      if (v >= 8) return { errorCode: ErrorCode.NONE, offset: logStartOffset, timestamp: -1 };
      break;
    case LATEST_TIERED:
      if (v >= 9) return none;
      break;
    case MAX_TIMESTAMP:
      if (v >= 7) {
        const batch = await broker.storage.findMaxTimestampBatch(topic, partition);
        if (!batch) return none;
        const records = await recordsOf(ctx, batch);
        let best: { offset: number; timestamp: number } | null = null;
        for (const r of records) if (r.offset >= logStartOffset && (!best || r.timestamp > best.timestamp)) best = r;
        return best ? { errorCode: ErrorCode.NONE, offset: best.offset, timestamp: best.timestamp } : none;
      }
      break;
  }
  if (timestamp < 0) {
    return { errorCode: ErrorCode.UNSUPPORTED_VERSION, offset: -1, timestamp: -1 };
  }
  const batch = await broker.storage.findBatchByTimestamp(topic, partition, timestamp);
  if (!batch) return none;
  const records = await recordsOf(ctx, batch);
  for (const r of records) {
    if (r.offset >= logStartOffset && r.timestamp >= timestamp) return { errorCode: ErrorCode.NONE, offset: r.offset, timestamp: r.timestamp };
  }
  return none;
}
