/**
 * Fetch sessions (KIP-227): the broker's CPU per fetch for a consumer tailing 1,000 partitions with
 * nothing new, fetched sessionless (epoch -1: every request names every partition and every answer
 * lists every partition, as every fetch did before sessions) and incrementally (one full fetch opens
 * a session; then each request names no partition and each answer lists none). One raw connection,
 * one fetch at a time (max_wait_ms 0), as a consumer that polls; the broker is bench/run.ts's child
 * process and its CPU time is read around each run. Also the request and response sizes per fetch.
 */
import { RawClient, decodeResponse } from '../test/helpers/raw-client.js';
import { ApiKey } from '../src/protocol/messages/index.js';
import { FetchRequest, FetchResponse } from '../src/protocol/messages/fetch.js';
import { CreateTopicsRequest, CreateTopicsResponse } from '../src/protocol/messages/create-topics.js';
import type { Init } from '../src/protocol/codec/message.js';

export const SESSION_BENCH_PARTITIONS = 1000;
const FETCH_VERSION = 12;

export interface FetchSessionRow {
  mode: 'sessionless' | 'incremental';
  partitions: number;
  fetches: number;
  seconds: number;
  brokerCpuSeconds: number;
  brokerCpuUsPerFetch: number;
  requestBytesPerFetch: number;
  responseBytesPerFetch: number;
}

export interface FetchSessionBenchOptions {
  port: number;
  quick: boolean;
  /** The broker process's CPU seconds so far (user + system). */
  brokerCpuSeconds: () => Promise<number>;
}

export async function runFetchSessionBench(o: FetchSessionBenchOptions): Promise<FetchSessionRow[]> {
  const fetches = o.quick ? 300 : 2000;
  const client = await RawClient.connect(o.port);
  try {
    const topic = 'bench-sessions';
    const created = await client.request(ApiKey.CreateTopics, 7, CreateTopicsRequest, CreateTopicsResponse, {
      topics: [{ name: topic, numPartitions: SESSION_BENCH_PARTITIONS, replicationFactor: 1 }],
    });
    if (created.topics[0]!.errorCode !== 0) throw new Error(`could not create ${topic}: error ${created.topics[0]!.errorCode}`);
    const all = { topic, partitions: Array.from({ length: SESSION_BENCH_PARTITIONS }, (_, p) => ({ partition: p, fetchOffset: 0n, partitionMaxBytes: 1 << 20 })) };
    const base = { maxWaitMs: 0, minBytes: 0, maxBytes: 50 << 20 };

    const sessionless = await measure(o, client, fetches, () => ({ ...base, sessionId: 0, sessionEpoch: -1, topics: [all] }), SESSION_BENCH_PARTITIONS);

    const opened = await client.request(ApiKey.Fetch, FETCH_VERSION, FetchRequest, FetchResponse, { ...base, sessionId: 0, sessionEpoch: 0, topics: [all] });
    if (opened.errorCode !== 0 || opened.sessionId === 0) throw new Error(`no fetch session was created (error ${opened.errorCode})`);
    let epoch = 1;
    const incremental = await measure(o, client, fetches, () => ({ ...base, sessionId: opened.sessionId, sessionEpoch: epoch++, topics: [] }), 0);
    await client.request(ApiKey.Fetch, FETCH_VERSION, FetchRequest, FetchResponse, { ...base, sessionId: opened.sessionId, sessionEpoch: -1, topics: [] });
    return [
      { mode: 'sessionless', ...sessionless },
      { mode: 'incremental', ...incremental },
    ];
  } finally {
    client.close();
  }
}

async function measure(
  o: FetchSessionBenchOptions,
  client: RawClient,
  fetches: number,
  body: () => Init<FetchRequest>,
  expectListed: number,
): Promise<Omit<FetchSessionRow, 'mode'>> {
  let requestBytes = 0;
  let responseBytes = 0;
  const cpuBefore = await o.brokerCpuSeconds();
  const started = process.hrtime.bigint();
  for (let i = 0; i < fetches; i++) {
    const frame = client.frame(ApiKey.Fetch, FETCH_VERSION, FetchRequest, body());
    requestBytes += frame.length;
    client.write(frame);
    const answer = (await client.readFrame(30_000))!;
    responseBytes += answer.length + 4;
    const res = decodeResponse(answer, ApiKey.Fetch, FETCH_VERSION, FetchResponse);
    const listed = res.responses.reduce((n, t) => n + t.partitions.length, 0);
    if (res.errorCode !== 0 || listed !== expectListed) throw new Error(`fetch ${i}: error ${res.errorCode}, ${listed} partitions listed (expected ${expectListed})`);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const brokerCpuSeconds = (await o.brokerCpuSeconds()) - cpuBefore;
  return {
    partitions: SESSION_BENCH_PARTITIONS,
    fetches,
    seconds,
    brokerCpuSeconds,
    brokerCpuUsPerFetch: (brokerCpuSeconds / fetches) * 1e6,
    requestBytesPerFetch: Math.round(requestBytes / fetches),
    responseBytesPerFetch: Math.round(responseBytes / fetches),
  };
}

export function formatFetchSessionTable(rows: readonly FetchSessionRow[]): string {
  const lines = [
    `| fetch, ${SESSION_BENCH_PARTITIONS} idle partitions | fetches | seconds | broker CPU µs/fetch | request bytes | response bytes |`,
    '|---|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    const what = r.mode === 'sessionless' ? 'sessionless (epoch -1), full every time' : 'incremental session (KIP-227)';
    lines.push(`| ${what} | ${r.fetches} | ${r.seconds.toFixed(2)} | ${r.brokerCpuUsPerFetch.toFixed(0)} | ${r.requestBytesPerFetch} | ${r.responseBytesPerFetch} |`);
  }
  return lines.join('\n');
}
