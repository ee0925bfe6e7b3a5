/**
 * The three attacks of issue 14, from an attacker process (this one) against `rafka start` with
 * default settings (its own process, the default `log` engine, in a temporary data directory), while
 * a well-behaved client in a third process sends ApiVersions every 100 ms:
 *
 * 1. response amplification: a topic with 10,000 partitions, then Metadata requests (~10 KB) naming
 *    it 2,000 times, from 4 connections as fast as they are answered;
 * 2. decode amplification: Metadata requests of 30 million and 10 million empty topic names (57 MB,
 *    19 MB), from 4 connections, each sent again once the broker closed the previous one;
 * 3. record amplification: a `cleanup.policy=compact` topic, and Produce requests carrying three
 *    zstd batches of ~11 KB that each unpack to one record with 60 million empty headers (120 MB),
 *    from 4 connections.
 *
 * Each runs for --seconds (default 10). Passes (exit 0) when the broker is alive at the end, its
 * resident memory (VmRSS sampled from /proc, and VmHWM) stayed under 1 GiB, and every healthy
 * request was answered within 1 s; prints the figures. Usage: node dist/scripts/attack.js [--seconds N]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { parseArgs } from 'node:util';
import { startBrokerProcess, stop } from '../test/helpers/broker-process.js';
import { RawClient, decodeResponse } from '../test/helpers/raw-client.js';
import { CreateTopicsRequest, CreateTopicsResponse } from '../src/protocol/messages/create-topics.js';
import { createTopic, sleep } from '../test/helpers/robust.js';
import { describeReport, headerBomb, Watch } from '../test/helpers/adversarial.js';
import { Writer } from '../src/protocol/codec/writer.js';
import { ApiKey, RequestHeader, requestHeaderVersion } from '../src/protocol/messages/index.js';
import { MetadataRequest } from '../src/protocol/messages/metadata.js';
import { ProduceRequest } from '../src/protocol/messages/produce.js';

const RSS_LIMIT_BYTES = 1024 * 1024 * 1024;
const LATENCY_LIMIT_MS = 1000;
const CONNECTIONS = 4;

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '10' } } });
const seconds = Number(values.seconds);

function frame(apiKey: number, version: number, encode: (w: Writer) => void): Buffer {
  const w = new Writer();
  w.int32(0);
  RequestHeader.encode(w, { requestApiKey: apiKey, requestApiVersion: version, correlationId: 1, clientId: 'attacker' }, requestHeaderVersion(apiKey, version));
  encode(w);
  const f = w.toBuffer();
  f.writeInt32BE(f.length - 4, 0);
  return f;
}

/** Metadata v1 of `n` empty names, written directly (an array of 30 million objects would stall this process). */
function emptyNames(n: number): Buffer {
  const body = Buffer.alloc(4 + 2 * n); // int32 count, then int16 length 0 per name
  body.writeInt32BE(n, 0);
  return frame(ApiKey.Metadata, 1, (w) => w.raw(body));
}

/** Send `request` on `connections` sockets for `ms`, each again as soon as it was answered or closed. */
async function hammer(port: number, request: Buffer, ms: number): Promise<{ answered: number; closed: number }> {
  const deadline = Date.now() + ms;
  let answered = 0;
  let closed = 0;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (Date.now() < deadline) {
        const socket = net.connect({ port, host: '127.0.0.1' });
        socket.on('error', () => {});
        const outcome = await new Promise<'answered' | 'closed'>((resolve) => {
          let got = 0;
          let size = -1;
          socket.on('data', (d: Buffer) => {
            if (size < 0 && d.length >= 4) size = d.readInt32BE(0);
            got += d.length;
            if (size >= 0 && got >= size + 4) resolve('answered');
          });
          socket.on('close', () => resolve('closed'));
          socket.write(request);
        });
        socket.destroy();
        if (outcome === 'answered') answered++;
        else closed++;
      }
    }),
  );
  return { answered, closed };
}

const dir = mkdtempSync(join(tmpdir(), 'rafka-attack-'));
const broker = await startBrokerProcess(['--data-dir', join(dir, 'data')], { timeoutMs: 60_000 });
const pid = broker.child.pid!;
let failed = false;
try {
  console.log(`broker pid ${pid} on port ${broker.port} (rafka start, default settings)`);
  const admin = await RawClient.connect(broker.port);
  const t0 = Date.now();
  // Creating 10,000 partition directories on the log engine takes a while: wait up to 5 minutes.
  admin.write(admin.frame(ApiKey.CreateTopics, 7, CreateTopicsRequest, { topics: [{ name: 'wide', numPartitions: 10_000, replicationFactor: 1 }], timeoutMs: 300_000 }));
  const created = await admin.readFrame(300_000);
  if (created === null) throw new Error('CreateTopics: connection closed');
  const res = decodeResponse(created, ApiKey.CreateTopics, 7, CreateTopicsResponse);
  if (res.topics[0]!.errorCode !== 0) throw new Error(`CreateTopics wide: error ${res.topics[0]!.errorCode}`);
  await createTopic(admin, 'compacted', 3, [{ name: 'cleanup.policy', value: 'compact' }]);
  admin.close();
  console.log(`setup: topics created in ${Date.now() - t0} ms`);

  const metadata2000 = frame(ApiKey.Metadata, 12, (w) => MetadataRequest.encode(w, { topics: new Array(2000).fill({ name: 'wide' }), allowAutoTopicCreation: false }, 12));
  const names30M = emptyNames(30_000_000);
  const names10M = emptyNames(10_000_000);
  const bomb = await headerBomb(60_000_000);
  const produce3 = frame(ApiKey.Produce, 9, (w) =>
    ProduceRequest.encode(w, { acks: -1, timeoutMs: 30_000, topicData: [{ name: 'compacted', partitionData: [0, 1, 2].map((index) => ({ index, records: bomb })) }] }, 9),
  );

  const watch = new Watch(pid, broker.port, 100, 30_000);
  await watch.start();
  const runs: [string, Buffer][] = [
    [`1. Metadata naming a 10,000-partition topic 2,000 times (${metadata2000.length} B)`, metadata2000],
    [`2a. Metadata with 30,000,000 empty names (${names30M.length} B)`, names30M],
    [`2b. Metadata with 10,000,000 empty names (${names10M.length} B)`, names10M],
    [`3. Produce of 3 batches that unpack to 60M headers each (${produce3.length} B)`, produce3],
  ];
  for (const [name, request] of runs) {
    const before = watch.worstLatencyMs;
    const r = await hammer(broker.port, request, seconds * 1000);
    console.log(`${name}: ${r.answered} answered, ${r.closed} closed in ${seconds} s (healthy worst so far ${watch.worstLatencyMs.toFixed(0)} ms, before ${before.toFixed(0)} ms)`);
  }
  await sleep(200);
  const report = await watch.stop();
  const alive = broker.child.exitCode === null && broker.child.signalCode === null;
  console.log(`broker ${alive ? 'alive' : 'DEAD'}; ${describeReport(report)}${report.failures.length > 0 ? `; failures: ${report.failures.join('; ')}` : ''}`);
  const peak = Math.max(report.peakRssBytes ?? 0, report.hwmBytes ?? 0);
  if (!alive) failed = true;
  if (peak >= RSS_LIMIT_BYTES) failed = true;
  if (report.failures.length > 0 || report.worstLatencyMs > LATENCY_LIMIT_MS) failed = true;
} catch (err) {
  console.error(`attack: ${(err as Error).stack ?? String(err)}`);
  failed = true;
} finally {
  await stop(broker);
  rmSync(dir, { recursive: true, force: true });
}
console.log(failed ? 'FAIL' : 'PASS: alive, under 1 GiB, healthy client answered within 1 s throughout');
process.exit(failed ? 1 : 0);
