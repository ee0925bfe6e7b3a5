/**
 * Transactions on the partitions' side without a coordinator: a verifier that lets chosen producers
 * write transactional batches to chosen partitions, batches, and read_committed reads at the wire.
 */
import type { Broker } from '../../src/broker/broker.js';
import type { RawClient } from './raw-client.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { FetchRequest, FetchResponse } from '../../src/protocol/messages/fetch.js';
import { ListOffsetsRequest, ListOffsetsResponse } from '../../src/protocol/messages/list-offsets.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { decodeBatches, encodeBatch, type DecodedBatch } from '../../src/protocol/records/record.js';

/** Install a verifier allowing exactly the producer/partition pairs added to the returned set (`pid/topic/partition`). */
export function allowTransactions(broker: Broker): Set<string> {
  const allowed = new Set<string>();
  broker.txnVerifier = {
    verifyTransactionalProduce: (producerId, _epoch, topic, partition) => (allowed.has(`${producerId}/${topic}/${partition}`) ? ErrorCode.NONE : ErrorCode.INVALID_TXN_STATE),
  };
  return allowed;
}

export function txnBatch(values: string[], producerId: number, producerEpoch: number, baseSequence: number): Promise<Buffer> {
  return encodeBatch({ records: values.map((v) => ({ value: Buffer.from(v) })), producerId, producerEpoch, baseSequence, isTransactional: true });
}

export interface FetchedPartition {
  errorCode: number;
  highWatermark: number;
  lastStableOffset: number;
  aborted: { producerId: number; firstOffset: number }[] | null;
  batches: DecodedBatch[];
  bytes: number;
}

export async function fetchPartition(
  client: RawClient,
  topic: string,
  partition: number,
  fetchOffset: number,
  o: { isolation?: number; version?: number; partitionMaxBytes?: number; minBytes?: number; maxWaitMs?: number } = {},
): Promise<FetchedPartition> {
  const res = await client.request(ApiKey.Fetch, o.version ?? 12, FetchRequest, FetchResponse, {
    maxWaitMs: o.maxWaitMs ?? 0,
    minBytes: o.minBytes ?? 0,
    maxBytes: 1 << 20,
    isolationLevel: o.isolation ?? 1,
    topics: [{ topic, partitions: [{ partition, fetchOffset: BigInt(fetchOffset), partitionMaxBytes: o.partitionMaxBytes ?? 1 << 20 }] }],
  });
  const p = res.responses[0]!.partitions[0]!;
  const records = (p.records as Buffer | null) ?? Buffer.alloc(0);
  return {
    errorCode: p.errorCode,
    highWatermark: Number(p.highWatermark),
    lastStableOffset: Number(p.lastStableOffset),
    aborted: p.abortedTransactions === null ? null : p.abortedTransactions.map((a) => ({ producerId: Number(a.producerId), firstOffset: Number(a.firstOffset) })),
    batches: records.length === 0 ? [] : await decodeBatches(records),
    bytes: records.length,
  };
}

/**
 * The values a read_committed consumer delivers from a fetch, as the Java consumer filters: records of
 * an aborted transaction (listed with its first offset; it ends at that producer's ABORT marker) and
 * control batches are skipped.
 */
export function committedValues(f: FetchedPartition): string[] {
  const aborted = [...(f.aborted ?? [])].sort((a, b) => a.firstOffset - b.firstOffset);
  const skipping = new Set<number>();
  const out: string[] = [];
  for (const b of f.batches) {
    const h = b.header;
    while (aborted.length > 0 && aborted[0]!.firstOffset <= h.baseOffset) skipping.add(aborted.shift()!.producerId);
    if (h.isControl) {
      if (b.records[0]?.control?.type === 0) skipping.delete(h.producerId);
      continue;
    }
    if (h.isTransactional && skipping.has(h.producerId)) continue;
    for (const r of b.records) out.push(r.value!.toString());
  }
  return out;
}

export async function listLatest(client: RawClient, topic: string, partition: number, isolationLevel: number): Promise<number> {
  const res = await client.request(ApiKey.ListOffsets, 7, ListOffsetsRequest, ListOffsetsResponse, {
    replicaId: -1,
    isolationLevel,
    topics: [{ name: topic, partitions: [{ partitionIndex: partition, timestamp: -1n }] }],
  });
  const p = res.topics[0]!.partitions[0]!;
  if (p.errorCode !== 0) throw new Error(`ListOffsets: error ${p.errorCode}`);
  return Number(p.offset);
}
