/** Helpers of the robustness tests (test/robust-*.test.ts) and the soak (scripts/soak.ts). */
import net from 'node:net';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { RawClient } from './raw-client.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { CreateTopicsRequest, CreateTopicsResponse } from '../../src/protocol/messages/create-topics.js';
import { ProduceRequest, ProduceResponse } from '../../src/protocol/messages/produce.js';
import { InitProducerIdRequest, InitProducerIdResponse } from '../../src/protocol/messages/init-producer-id.js';
import { ApiVersionsRequest, ApiVersionsResponse } from '../../src/protocol/messages/api-versions.js';
import { encodeBatch } from '../../src/protocol/records/record.js';
import { Writer } from '../../src/protocol/codec/writer.js';
import type { Init, MessageCodec } from '../../src/protocol/codec/message.js';
import { RequestHeader, requestHeaderVersion } from '../../src/protocol/messages/index.js';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Poll `check` every `everyMs` until it returns true; false when `timeoutMs` passed first. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 10_000, everyMs = 20): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(everyMs);
  }
}

/** A plain socket to the broker from a given local address (127.0.0.x are all loopback on Linux). */
export async function connectFrom(port: number, localAddress: string): Promise<net.Socket> {
  const s = net.connect({ port, host: '127.0.0.1', localAddress });
  s.on('error', () => {});
  await once(s, 'connect');
  return s;
}

/** Whether the broker closes `socket` within `timeoutMs`. */
export function closedWithin(socket: net.Socket, timeoutMs: number): Promise<boolean> {
  if (socket.destroyed || socket.readableEnded) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), timeoutMs);
    socket.once('close', () => {
      clearTimeout(t);
      resolve(true);
    });
    socket.resume(); // read to the end, so that a FIN is noticed
  });
}

/** ApiVersions v3 round trip: the connection is served. */
export async function apiVersionsOk(client: RawClient): Promise<boolean> {
  const res = await client.request(ApiKey.ApiVersions, 3, ApiVersionsRequest, ApiVersionsResponse, { clientSoftwareName: 'robust', clientSoftwareVersion: '1' });
  return res.errorCode === 0;
}

export async function createTopic(client: RawClient, name: string, partitions = 1, configs: { name: string; value: string }[] = []): Promise<void> {
  const res = await client.request(ApiKey.CreateTopics, 7, CreateTopicsRequest, CreateTopicsResponse, {
    topics: [{ name, numPartitions: partitions, replicationFactor: 1, configs }],
  });
  const code = res.topics[0]!.errorCode;
  if (code !== 0) throw new Error(`CreateTopics ${name}: error ${code}`);
}

export async function initProducerId(client: RawClient): Promise<{ producerId: number; producerEpoch: number }> {
  const res = await client.request(ApiKey.InitProducerId, 4, InitProducerIdRequest, InitProducerIdResponse, {
    transactionalId: null,
    transactionTimeoutMs: 60_000,
    producerId: -1n,
    producerEpoch: -1,
  });
  if (res.errorCode !== 0) throw new Error(`InitProducerId: error ${res.errorCode}`);
  return { producerId: Number(res.producerId), producerEpoch: res.producerEpoch };
}

/** One idempotent batch of `values`, `sequence` its first sequence number. */
export function idempotentBatch(values: string[], producerId: number, producerEpoch: number, sequence: number): Promise<Buffer> {
  return encodeBatch({ records: values.map((v) => ({ value: Buffer.from(v) })), producerId, producerEpoch, baseSequence: sequence });
}

/** A request frame (size prefix included) without a RawClient. */
export function requestFrame<Req>(apiKey: number, version: number, codec: MessageCodec<Req>, body: Init<Req>, correlationId: number): Buffer {
  const w = new Writer();
  w.int32(0);
  RequestHeader.encode(w, { requestApiKey: apiKey, requestApiVersion: version, correlationId, clientId: 'robust' }, requestHeaderVersion(apiKey, version));
  codec.encode(w, body, version);
  const frame = w.toBuffer();
  frame.writeInt32BE(frame.length - 4, 0);
  return frame;
}

/** A Produce v9 frame of one batch for one partition. */
export function produceFrame(topic: string, partition: number, records: Buffer, correlationId: number, acks = -1): Buffer {
  return requestFrame(ApiKey.Produce, 9, ProduceRequest, { acks, timeoutMs: 30_000, topicData: [{ name: topic, partitionData: [{ index: partition, records }] }] }, correlationId);
}

/** Produce one batch and return the partition's answer (error code and base offset). */
export async function produce(client: RawClient, topic: string, partition: number, records: Buffer): Promise<{ errorCode: number; baseOffset: number }> {
  const res = await client.request(ApiKey.Produce, 9, ProduceRequest, ProduceResponse, {
    acks: -1,
    timeoutMs: 30_000,
    topicData: [{ name: topic, partitionData: [{ index: partition, records }] }],
  });
  const p = res.responses[0]!.partitionResponses[0]!;
  return { errorCode: p.errorCode, baseOffset: Number(p.baseOffset) };
}

/** Resident set size of a process in bytes (Linux: /proc/PID/status), or null when unavailable. */
export function rssBytes(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

export function mib(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MiB`;
}
