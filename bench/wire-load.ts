/**
 * The wire-level load shared by bench/run.ts and bench/hooks.ts. Produce: `connections` raw
 * connections, each keeping `pipeline` Produce requests (v9, acks=1, one pre-encoded batch each) in
 * flight, spread over the topic's partitions, until each has had `batchesPerConnection` answered.
 * Nearly free on the client side, so the figure is the broker's. Resolves with the seconds taken.
 */
import { RawClient, decodeResponse } from '../test/helpers/raw-client.js';
import { ApiKey } from '../src/protocol/messages/index.js';
import { ProduceRequest, ProduceResponse } from '../src/protocol/messages/produce.js';
import { FetchRequest, FetchResponse } from '../src/protocol/messages/fetch.js';
import { CreateTopicsRequest, CreateTopicsResponse } from '../src/protocol/messages/create-topics.js';

/** Create `topic` with `partitions` partitions (replication factor 1) on the broker at `port`, or throw. */
export async function createBenchTopic(port: number, topic: string, partitions: number): Promise<void> {
  const client = await RawClient.connect(port);
  try {
    const created = await client.request(ApiKey.CreateTopics, 7, CreateTopicsRequest, CreateTopicsResponse, {
      topics: [{ name: topic, numPartitions: partitions, replicationFactor: 1 }],
    });
    if (created.topics[0]!.errorCode !== 0) throw new Error(`could not create the bench topic ${topic}`);
  } finally {
    client.close();
  }
}

export interface WireProduceOptions {
  topic: string;
  partitions: number;
  batch: Buffer;
  connections: number;
  pipeline: number;
  batchesPerConnection: number;
  /** How long to wait for one answer (default 30 s). */
  timeoutMs?: number;
  /** Called after each answer with the batches answered so far over all connections (the metrics row's scrapes). */
  onAnswered?: (answered: number) => void;
}

export async function pipelinedProduce(port: number, o: WireProduceOptions): Promise<number> {
  const clients = await Promise.all(Array.from({ length: o.connections }, () => RawClient.connect(port)));
  const started = process.hrtime.bigint();
  let answeredTotal = 0;
  try {
    await Promise.all(
      clients.map(async (client, ci) => {
        let sent = 0;
        let answered = 0;
        const frame = (i: number) =>
          client.frame(ApiKey.Produce, 9, ProduceRequest, {
            acks: 1,
            timeoutMs: 30_000,
            topicData: [{ name: o.topic, partitionData: [{ index: (ci + i) % o.partitions, records: o.batch }] }],
          });
        while (sent < Math.min(o.pipeline, o.batchesPerConnection)) client.write(frame(sent++));
        while (answered < o.batchesPerConnection) {
          const res = decodeResponse((await client.readFrame(o.timeoutMs ?? 30_000))!, ApiKey.Produce, 9, ProduceResponse);
          const code = res.responses[0]!.partitionResponses[0]!.errorCode;
          if (code !== 0) throw new Error(`produce error ${code}`);
          answered++;
          o.onAnswered?.(++answeredTotal);
          if (sent < o.batchesPerConnection) client.write(frame(sent++));
        }
      }),
    );
    return Number(process.hrtime.bigint() - started) / 1e9;
  } finally {
    for (const c of clients) c.close();
  }
}

/**
 * Fetch every partition of `topic` from offset 0 on one raw connection (Fetch v12, all partitions
 * per request, 8 MiB per partition) until a fetch brings nothing new, walking batch headers only
 * (base offset + last offset delta give the next offset). Resolves with [records, seconds].
 */
export async function fetchEverything(port: number, topic: string, partitions: number): Promise<[number, number]> {
  const client = await RawClient.connect(port);
  const offsets = new Array<number>(partitions).fill(0);
  let records = 0;
  const started = process.hrtime.bigint();
  try {
    for (;;) {
      const res = await client.request(ApiKey.Fetch, 12, FetchRequest, FetchResponse, {
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: 50 << 20,
        topics: [{ topic, partitions: offsets.map((o, p) => ({ partition: p, fetchOffset: BigInt(o), partitionMaxBytes: 8 << 20 })) }],
      });
      let got = 0;
      for (const p of res.responses[0]!.partitions) {
        if (p.errorCode !== 0) throw new Error(`fetch error ${p.errorCode}`);
        const bytes = p.records as Buffer;
        for (let at = 0; at + 61 <= bytes.length; ) {
          const base = Number(bytes.readBigInt64BE(at));
          const next = base + bytes.readInt32BE(at + 23) + 1;
          got += next - Math.max(base, offsets[p.partitionIndex]!);
          offsets[p.partitionIndex] = next;
          at += 12 + bytes.readInt32BE(at + 8);
        }
      }
      records += got;
      if (got === 0) break;
    }
    return [records, Number(process.hrtime.bigint() - started) / 1e9];
  } finally {
    client.close();
  }
}
