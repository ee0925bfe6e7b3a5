/** Read every record of a partition through the broker's Fetch API and decode it with our codec. */
import { RawClient } from './raw-client.js';
import { FetchRequest, FetchResponse } from '../../src/protocol/messages/fetch.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { decodeBatches, type DecodedRecord } from '../../src/protocol/records/record.js';

export async function fetchAll(port: number, topic: string, partition: number, version = 12): Promise<DecodedRecord[]> {
  const client = await RawClient.connect(port);
  try {
    const out: DecodedRecord[] = [];
    let offset = 0;
    for (;;) {
      const res = await client.request(ApiKey.Fetch, version, FetchRequest, FetchResponse, {
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: 1 << 20,
        topics: [{ topic, partitions: [{ partition, fetchOffset: BigInt(offset), partitionMaxBytes: 1 << 20 }] }],
      });
      const p = res.responses[0]!.partitions[0]!;
      if (p.errorCode !== 0) throw new Error(`fetch error ${p.errorCode}`);
      const records = p.records as Buffer | null;
      if (!records || records.length === 0) return out;
      for (const batch of await decodeBatches(records)) {
        for (const r of batch.records) if (r.offset >= offset) out.push(r);
      }
      offset = out.length ? out[out.length - 1]!.offset + 1 : offset;
      if (offset >= Number(p.highWatermark)) return out;
    }
  } finally {
    client.close();
  }
}
