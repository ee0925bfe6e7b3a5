/**
 * Captures golden protocol bytes from independent encoders: requests as the Apache Kafka Java client
 * and librdkafka (through kcat) send them, and the answers Apache Kafka itself gives. Run by hand,
 * once per refresh, never by CI:
 *
 *   npx tsc -p tsconfig.json && node dist/scripts/capture-golden.js
 *
 * What it does:
 * 1. Resolves Apache Kafka (bench/kafka/maven.ts: Maven Central into ~/.cache/rafka-bench, never into
 *    the repository) and starts one KRaft node (bench/kafka/systems.ts) whose advertised listener is a
 *    recording TCP proxy (test/helpers/proxy.ts), so the bootstrap connection and every connection a
 *    client opens after reading Metadata go through the proxy. The proxy changes no byte.
 * 2. Drives through it scripts/GoldenClients.java (ours, compiled with javac against kafka-clients)
 *    and a fixed list of kcat commands (KCAT_STEPS).
 * 3. Splits each connection's two byte streams into size-prefixed frames, pairs every request with
 *    its response by correlation id, keeps only requests whose client.id starts with "golden-"
 *    (the broker also connects to itself through its advertised listener, e.g. to send transaction
 *    markers; those are not a client's bytes), and writes one exchange per client, API key and
 *    version to test/fixtures/golden/<client>/ as the exact wire frames, size prefix included:
 *    `<key>-<Name>-v<version>-request.bin` and `...-response.bin`, plus `captured.json` (what each
 *    file holds, and how many exchanges of that kind were seen).
 *
 * The Kafka version (broker and Java client alike) is bench/kafka/maven.ts's default, or
 * RAFKA_BENCH_KAFKA_VERSION; kcat is the one on PATH (RAFKA_KCAT).
 *
 * Of several exchanges of one kind it keeps the one with the largest response that still fits in
 * MAX_EXCHANGE_BYTES (more content covers more of the codec; the cap keeps fixtures small), else
 * the smallest. The client folders are emptied first, so a run replaces a capture whole.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveKafka } from '../bench/kafka/maven.js';
import { kafkaSystem } from '../bench/kafka/systems.js';
import { compiledJavaClasspath } from '../bench/kafka/perf-tools.js';
import { TestProxy } from '../test/helpers/proxy.js';
import { findKcat, run } from '../test/helpers/external.js';
import { API_SPECS } from '../src/protocol/messages/index.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const OUT_DIR = path.join(REPO, 'test', 'fixtures', 'golden');
/** Request + response bytes above which an exchange is kept only when there is no smaller one. */
const MAX_EXCHANGE_BYTES = 16 * 1024;
const CLIENT_TIMEOUT_MS = 180_000;

interface Exchange {
  connection: number;
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
  request: Buffer;
  response: Buffer;
}

/** The kcat commands, in order; `B` is replaced by the bootstrap address. Each has its own client.id. */
const KCAT_STEPS: { what: string; args: string[]; input?: string }[] = [
  { what: 'metadata of the whole cluster', args: ['-b', 'B', '-L', '-X', 'client.id=golden-kcat-metadata'] },
  {
    what: 'idempotent produce of 3 keyed records with a header (the topic is auto-created)',
    args: ['-b', 'B', '-P', '-t', 'golden-kcat', '-p', '0', '-K', ':', '-H', 'h=v', '-X', 'client.id=golden-kcat-producer', '-X', 'enable.idempotence=true'],
    input: 'k0:value-0\nk1:value-1\nk2:value-2\n',
  },
  {
    what: 'transactional produce of 1 record',
    args: ['-b', 'B', '-P', '-t', 'golden-kcat', '-p', '0', '-X', 'client.id=golden-kcat-txn', '-X', 'transactional.id=golden-kcat-tx'],
    input: 'in-a-transaction\n',
  },
  {
    what: 'consume 3 records in a group, offsets auto-committed on close',
    args: ['-b', 'B', '-G', 'golden-kcat-group', '-c', '3', '-X', 'client.id=golden-kcat-consumer', '-X', 'auto.offset.reset=earliest', '-X', 'auto.commit.interval.ms=100', 'golden-kcat'],
  },
  { what: 'offset for a timestamp (-Q)', args: ['-b', 'B', '-Q', '-t', 'golden-kcat:0:-1', '-X', 'client.id=golden-kcat-query'] },
  {
    what: 'consume from the beginning without a group, exit at the end',
    args: ['-b', 'B', '-C', '-t', 'golden-kcat', '-p', '0', '-o', 'beginning', '-e', '-X', 'client.id=golden-kcat-fetch'],
  },
];

/** Size-prefixed frames of one direction of one connection; a torn tail (connection cut) is dropped. */
function frames(chunks: Buffer[]): Buffer[] {
  const all = Buffer.concat(chunks);
  const out: Buffer[] = [];
  let at = 0;
  while (at + 4 <= all.length) {
    const end = at + 4 + all.readInt32BE(at);
    if (end > all.length) break;
    out.push(all.subarray(at, end));
    at = end;
  }
  return out;
}

/** API key, version, correlation id and client id: the part of every request header (v1, v2) before any tagged field. */
function requestHeader(frame: Buffer): Omit<Exchange, 'connection' | 'request' | 'response'> {
  const clientIdLength = frame.readInt16BE(12);
  return {
    apiKey: frame.readInt16BE(4),
    apiVersion: frame.readInt16BE(6),
    correlationId: frame.readInt32BE(8),
    clientId: clientIdLength < 0 ? null : frame.toString('utf8', 14, 14 + clientIdLength),
  };
}

type Header = ReturnType<typeof requestHeader>;

function pairExchanges(streams: Map<number, { client: Buffer[]; broker: Buffer[] }>): { exchanges: Exchange[]; unanswered: Header[] } {
  const exchanges: Exchange[] = [];
  const unanswered: Header[] = [];
  for (const [connection, s] of streams) {
    const responses = new Map(frames(s.broker).map((f) => [f.readInt32BE(4), f] as const));
    for (const request of frames(s.client)) {
      const h = requestHeader(request);
      const response = responses.get(h.correlationId);
      if (response === undefined) unanswered.push(h);
      else exchanges.push({ connection, ...h, request, response });
    }
  }
  return { exchanges, unanswered };
}

function pick(candidates: Exchange[]): Exchange {
  const size = (e: Exchange) => e.request.length + e.response.length;
  const fitting = candidates.filter((e) => size(e) <= MAX_EXCHANGE_BYTES);
  if (fitting.length > 0) return fitting.reduce((a, b) => (b.response.length > a.response.length ? b : a));
  return candidates.reduce((a, b) => (size(b) < size(a) ? b : a));
}

function apiName(apiKey: number): string {
  return API_SPECS.get(apiKey)?.name ?? `ApiKey${apiKey}`;
}

function writeClient(dir: string, exchanges: Exchange[], about: Record<string, unknown>): string[] {
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(dir)) rmSync(path.join(dir, f));
  const byKind = new Map<string, Exchange[]>();
  for (const e of exchanges) {
    const kind = `${String(e.apiKey).padStart(2, '0')}-${apiName(e.apiKey)}-v${e.apiVersion}`;
    byKind.set(kind, [...(byKind.get(kind) ?? []), e]);
  }
  const kinds = [...byKind.keys()].sort();
  const files = kinds.map((kind) => {
    const all = byKind.get(kind)!;
    const e = pick(all);
    writeFileSync(path.join(dir, `${kind}-request.bin`), e.request);
    writeFileSync(path.join(dir, `${kind}-response.bin`), e.response);
    return {
      file: kind,
      apiKey: e.apiKey,
      api: apiName(e.apiKey),
      apiVersion: e.apiVersion,
      clientId: e.clientId,
      correlationId: e.correlationId,
      requestBytes: e.request.length,
      responseBytes: e.response.length,
      exchangesSeen: all.length,
    };
  });
  writeFileSync(path.join(dir, 'captured.json'), JSON.stringify({ ...about, exchanges: files }, null, 2) + '\n');
  return kinds;
}

async function main(): Promise<void> {
  const runtime = await resolveKafka();
  if (!runtime.available) throw new Error(`Apache Kafka is not available: ${runtime.reason}`);
  const kcat = findKcat();
  if (kcat.missing !== null) throw new Error(kcat.missing);
  const librdkafka = /librdkafka ([\d.]+)/.exec(kcat.version ?? '')?.[1];
  if (librdkafka === undefined) throw new Error(`cannot read librdkafka's version from kcat -V: ${kcat.version}`);
  const javaCp = compiledJavaClasspath(path.join(REPO, 'scripts', 'GoldenClients.java'), runtime.classpath, runtime.cacheDir);

  const streams = new Map<number, { client: Buffer[]; broker: Buffer[] }>();
  const proxy = await TestProxy.start();
  proxy.tap = (connection, from, bytes) => {
    let s = streams.get(connection);
    if (s === undefined) streams.set(connection, (s = { client: [], broker: [] }));
    s[from].push(Buffer.from(bytes));
  };
  const bootstrap = `127.0.0.1:${proxy.port}`;
  console.log(`starting Apache Kafka ${runtime.version} (${runtime.javaVersion}), advertised through the proxy at ${bootstrap}`);
  const kafka = await kafkaSystem(runtime, { fsyncEveryAppend: false, advertisedPort: proxy.port }).start();
  proxy.target = { host: '127.0.0.1', port: kafka.port };
  try {
    const java = await run('java', ['-Xmx512M', '-cp', javaCp, 'GoldenClients', bootstrap], { timeoutMs: CLIENT_TIMEOUT_MS });
    process.stdout.write(java.stdout);
    for (const step of KCAT_STEPS) {
      console.log(`golden-kcat: ${step.what}`);
      await run(kcat.command, step.args.map((a) => (a === 'B' ? bootstrap : a)), { input: step.input, timeoutMs: 60_000 });
    }
    // Every client process has exited, so each of its bytes went through the proxy; a moment more
    // for the broker's last answers (e.g. to a LeaveGroup sent while closing) to be read.
    await new Promise((r) => setTimeout(r, 1000));
  } catch (err) {
    console.error(kafka.logTail());
    throw err;
  } finally {
    await proxy.close();
    await kafka.stop();
  }

  const { exchanges, unanswered } = pairExchanges(streams);
  const date = new Date().toISOString().slice(0, 10);
  const common = { captured: date, broker: `Apache Kafka ${runtime.version} (KRaft, one combined node)`, tool: 'scripts/capture-golden.ts' };
  const clients = [
    { dir: `kafka-clients-${runtime.version}`, prefix: 'golden-java-', client: `org.apache.kafka:kafka-clients:${runtime.version} (${runtime.javaVersion}) driven by scripts/GoldenClients.java` },
    { dir: `librdkafka-${librdkafka}`, prefix: 'golden-kcat-', client: `${kcat.version} driven by KCAT_STEPS in scripts/capture-golden.ts` },
  ];
  for (const c of clients) {
    const mine = exchanges.filter((e) => e.clientId?.startsWith(c.prefix));
    const kinds = writeClient(path.join(OUT_DIR, c.dir), mine, { ...common, client: c.client });
    console.log(`${c.dir}: ${mine.length} exchanges, ${kinds.length} kept: ${kinds.join(' ')}`);
  }
  // Not kept: requests of other client ids (the broker's own connections) and unanswered ones.
  const foreign = exchanges.filter((e) => !clients.some((c) => e.clientId?.startsWith(c.prefix)));
  console.log(`not kept: ${foreign.length} exchanges of other client ids (${[...new Set(foreign.map((e) => e.clientId))].join(', ') || 'none'}), ${unanswered.length} requests without an answer${unanswered.map((h) => ` (${h.clientId}: ${apiName(h.apiKey)} v${h.apiVersion})`).join('')}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
