/**
 * The HTTP endpoint (issue 21): GET /metrics after known traffic shows exactly the requests, error
 * codes, bytes, offsets, sizes and consumer lag that traffic made; hook and fsync metrics count real
 * calls; /health and /ready follow the broker's life (503 while storage recovers and while shutting
 * down); anything else is 404/405. Every figure below is derived from what the test itself sent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startBroker } from '../src/broker/index.js';
import { Broker } from '../src/broker/broker.js';
import { createLogger } from '../src/broker/logger.js';
import { BrokerMetrics } from '../src/broker/metrics/metrics.js';
import { HttpEndpoint, send, startHttpEndpoint } from '../src/broker/http/server.js';
import { DEFAULT_CONFIG } from '../src/config/defaults.js';
import { MemoryEngine } from '../src/storage/memory/memory-engine.js';
import { RawClient } from './helpers/raw-client.js';
import { scrape, sample } from './helpers/prometheus.js';
import { ApiKey } from '../src/protocol/messages/index.js';
import { CreateTopicsRequest, CreateTopicsResponse } from '../src/protocol/messages/create-topics.js';
import { ProduceRequest, ProduceResponse } from '../src/protocol/messages/produce.js';
import { FetchRequest, FetchResponse } from '../src/protocol/messages/fetch.js';
import { OffsetCommitRequest, OffsetCommitResponse } from '../src/protocol/messages/offset-commit.js';
import { encodeBatch } from '../src/protocol/records/record.js';
import { ErrorCode } from '../src/protocol/error-codes.js';

const quiet = () => createLogger('error', () => {});
const DASHBOARD = fileURLToPath(new URL('../../docs/grafana/rafka.json', import.meta.url));

async function createTopic(c: RawClient, name: string, partitions: number): Promise<void> {
  const res = await c.request(ApiKey.CreateTopics, 7, CreateTopicsRequest, CreateTopicsResponse, {
    topics: [{ name, numPartitions: partitions, replicationFactor: 1 }],
    timeoutMs: 5000,
  });
  assert.equal(res.topics[0]!.errorCode, ErrorCode.NONE);
}

async function produce(c: RawClient, topic: string, partition: number, records: Buffer): Promise<number> {
  const res = await c.request(ApiKey.Produce, 9, ProduceRequest, ProduceResponse, {
    acks: 1,
    timeoutMs: 5000,
    topicData: [{ name: topic, partitionData: [{ index: partition, records }] }],
  });
  return res.responses[0]!.partitionResponses[0]!.errorCode;
}

function batchOf(n: number, bytes: number): Promise<Buffer> {
  return encodeBatch({ records: Array.from({ length: n }, (_, i) => ({ value: Buffer.alloc(bytes, i) })) });
}

test('GET /metrics after known traffic: requests, error codes, bytes, offsets, sizes and consumer lag, exactly', async () => {
  const b = await startBroker({ port: 0, httpListener: '127.0.0.1:0', logger: quiet() });
  const c = await RawClient.connect(b.port);
  try {
    assert.match(b.httpUrl ?? '', /^http:\/\/127\.0\.0\.1:\d+$/);
    await createTopic(c, 'm', 2);
    const b0 = await batchOf(3, 100);
    const b1 = await batchOf(2, 50);
    assert.equal(await produce(c, 'm', 0, b0), ErrorCode.NONE);
    assert.equal(await produce(c, 'm', 1, b1), ErrorCode.NONE);
    // Partition 7 of a 2-partition topic: one UNKNOWN_TOPIC_OR_PARTITION in a Produce response.
    assert.equal(await produce(c, 'm', 7, b1), ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    const commit = await c.request(ApiKey.OffsetCommit, 9, OffsetCommitRequest, OffsetCommitResponse, {
      groupId: 'lagging',
      generationIdOrMemberEpoch: -1,
      topics: [{ name: 'm', partitions: [{ partitionIndex: 0, committedOffset: 1n }, { partitionIndex: 1, committedOffset: 0n }] }],
    });
    assert.deepEqual(commit.topics[0]!.partitions.map((p) => p.errorCode), [ErrorCode.NONE, ErrorCode.NONE]);
    const fetched = await c.request(ApiKey.Fetch, 12, FetchRequest, FetchResponse, {
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      topics: [{ topic: 'm', partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }] }],
    });
    assert.equal((fetched.responses[0]!.partitions[0]!.records as Buffer).length, b0.length);

    const s = await scrape(b.httpUrl!);
    assert.equal(s.contentType, 'text/plain; version=0.0.4; charset=utf-8');
    // Requests per API and version, and the error codes their responses carried.
    assert.equal(sample(s, 'rafka_requests_total', { api: 'CreateTopics', version: '7' }), 1);
    assert.equal(sample(s, 'rafka_requests_total', { api: 'Produce', version: '9' }), 3);
    assert.equal(sample(s, 'rafka_requests_total', { api: 'OffsetCommit', version: '9' }), 1);
    assert.equal(sample(s, 'rafka_requests_total', { api: 'Fetch', version: '12' }), 1);
    assert.equal(sample(s, 'rafka_request_errors_total', { api: 'Produce', error: 'UNKNOWN_TOPIC_OR_PARTITION' }), 1);
    assert.equal([...s.samples.keys()].filter((k) => k.startsWith('rafka_request_errors_total')).length, 1, 'no other error was counted');
    assert.equal(sample(s, 'rafka_request_duration_seconds_count', { api: 'Produce', version: '9' }), 3);
    assert.equal(sample(s, 'rafka_request_duration_seconds_bucket', { api: 'Produce', version: '9', le: '+Inf' }), 3);
    // Bytes and records in per topic (the two appended batches), bytes out (partition 0's batch).
    assert.equal(sample(s, 'rafka_topic_bytes_in_total', { topic: 'm' }), b0.length + b1.length);
    assert.equal(sample(s, 'rafka_topic_records_in_total', { topic: 'm' }), 5);
    assert.equal(sample(s, 'rafka_topic_bytes_out_total', { topic: 'm' }), b0.length);
    // Per partition: log start and end offsets, size.
    for (const [p, end, bytes] of [['0', 3, b0.length], ['1', 2, b1.length]] as const) {
      assert.equal(sample(s, 'rafka_partition_log_start_offset', { topic: 'm', partition: p }), 0);
      assert.equal(sample(s, 'rafka_partition_log_end_offset', { topic: 'm', partition: p }), end);
      assert.equal(sample(s, 'rafka_partition_size_bytes', { topic: 'm', partition: p }), bytes);
    }
    // The memory engine keeps no segments: no series rather than a made-up count.
    assert.ok(![...s.samples.keys()].some((k) => k.startsWith('rafka_partition_segments')));
    // Consumer lag: partition 0 committed at 1 of 3, partition 1 at 0 of 2; the group has no members.
    assert.equal(sample(s, 'rafka_group_lag', { group: 'lagging', topic: 'm', partition: '0' }), 2);
    assert.equal(sample(s, 'rafka_group_lag', { group: 'lagging', topic: 'm', partition: '1' }), 2);
    assert.equal(sample(s, 'rafka_group_committed_offset', { group: 'lagging', topic: 'm', partition: '0' }), 1);
    assert.equal(sample(s, 'rafka_group_state', { group: 'lagging', state: 'Empty' }), 1);
    assert.equal(sample(s, 'rafka_group_state', { group: 'lagging', state: 'Stable' }), 0);
    assert.equal(sample(s, 'rafka_group_members', { group: 'lagging' }), 0);
    // Connections, queues and purgatories at rest.
    assert.equal(sample(s, 'rafka_connections', { listener: 'kafka' }), 1);
    assert.equal(sample(s, 'rafka_connections_accepted_total', { listener: 'kafka' }), 1);
    assert.equal(sample(s, 'rafka_requests_in_flight'), 0);
    assert.equal(sample(s, 'rafka_fetch_purgatory_size'), 0);
    assert.equal(sample(s, 'rafka_request_queue_bytes'), 0);
    assert.equal(sample(s, 'rafka_broker_ready'), 1);
    assert.equal(sample(s, 'rafka_broker_info', { node_id: '1', cluster_id: b.clusterId, storage: 'memory' }), 1);
    // Node's own: event-loop lag, heap, GC, CPU (prom-client's default set, src/broker/metrics/process.ts).
    assert.ok(sample(s, 'nodejs_eventloop_lag_seconds') >= 0);
    assert.ok(sample(s, 'nodejs_eventloop_lag_p99_seconds') >= sample(s, 'nodejs_eventloop_lag_p50_seconds'));
    assert.ok(sample(s, 'nodejs_heap_size_used_bytes') > 0);
    assert.ok(sample(s, 'nodejs_heap_size_total_bytes') >= sample(s, 'nodejs_heap_size_used_bytes'));
    assert.ok(sample(s, 'nodejs_heap_space_size_used_bytes', { space: 'old' }) > 0);
    assert.match(s.text, /^# TYPE nodejs_gc_duration_seconds histogram$/m);
    const cpu = sample(s, 'process_cpu_seconds_total');
    assert.ok(cpu > 0);
    assert.ok(Math.abs(cpu - sample(s, 'process_cpu_user_seconds_total') - sample(s, 'process_cpu_system_seconds_total')) < 1e-6);
    assert.ok(sample(s, 'process_resident_memory_bytes') > 0);
    // prom-client rounds the start time to the second, so it is never later than now rounded.
    assert.ok(sample(s, 'process_start_time_seconds') <= Math.round(Date.now() / 1000));
    // Every metric the Grafana dashboard queries is one this endpoint serves.
    const exprs = JSON.stringify((JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: unknown[] }).panels);
    const queried = new Set([...exprs.matchAll(/\b((?:rafka|nodejs|process)_[a-z0-9_]+)/g)].map((m) => m[1]!.replace(/_(bucket|sum|count)$/, '')));
    assert.ok(queried.size > 20, `only ${queried.size} metrics found in the dashboard`);
    const served = new Set([...s.text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
    assert.deepEqual([...queried].filter((n) => !served.has(n)), [], 'dashboard queries metrics the endpoint does not serve');

    // More traffic moves the counters and the lag by exactly that much; a long poll sits in the purgatory.
    const poll = c.request(ApiKey.Fetch, 12, FetchRequest, FetchResponse, {
      maxWaitMs: 10_000,
      minBytes: 1,
      maxBytes: 1 << 20,
      topics: [{ topic: 'm', partitions: [{ partition: 1, fetchOffset: 2n, partitionMaxBytes: 1 << 20 }] }],
    });
    await new Promise((r) => setTimeout(r, 50));
    const polling = await scrape(b.httpUrl!);
    assert.equal(sample(polling, 'rafka_fetch_purgatory_size'), 1);
    assert.equal(sample(polling, 'rafka_requests_in_flight'), 1);
    const producer = await RawClient.connect(b.port);
    const b2 = await batchOf(4, 10);
    assert.equal(await produce(producer, 'm', 1, b2), ErrorCode.NONE);
    await poll;
    producer.close();
    const after = await scrape(b.httpUrl!);
    assert.equal(sample(after, 'rafka_requests_total', { api: 'Produce', version: '9' }), 4);
    assert.equal(sample(after, 'rafka_topic_bytes_in_total', { topic: 'm' }), b0.length + b1.length + b2.length);
    assert.equal(sample(after, 'rafka_topic_bytes_out_total', { topic: 'm' }), b0.length + b2.length);
    assert.equal(sample(after, 'rafka_group_lag', { group: 'lagging', topic: 'm', partition: '1' }), 6);
    assert.equal(sample(after, 'rafka_fetch_purgatory_size'), 0);
    assert.equal(sample(after, 'rafka_connections_accepted_total', { listener: 'kafka' }), 2);
  } finally {
    c.close();
    await b.close();
  }
});

test('hook calls, failures and durations; a deleted topic leaves the scrape', async () => {
  const b = await startBroker({
    port: 0,
    httpListener: '127.0.0.1:0',
    logger: quiet(),
    hooks: [
      { name: 'watcher', afterProduce() {} },
      {
        name: 'picky',
        beforeProduce(ctx: { topic: string }) {
          if (ctx.topic === 'boom') throw new Error('picky hook fails on purpose');
        },
      },
    ],
  });
  const c = await RawClient.connect(b.port);
  try {
    await createTopic(c, 'fine', 1);
    await createTopic(c, 'boom', 1);
    for (let i = 0; i < 3; i++) assert.equal(await produce(c, 'fine', 0, await batchOf(1, 10)), ErrorCode.NONE);
    assert.notEqual(await produce(c, 'boom', 0, await batchOf(1, 10)), ErrorCode.NONE);
    const s = await scrape(b.httpUrl!);
    assert.equal(sample(s, 'rafka_hook_calls_total', { hook: 'picky', stage: 'beforeProduce' }), 4);
    assert.equal(sample(s, 'rafka_hook_failures_total', { hook: 'picky', stage: 'beforeProduce', reason: 'error' }), 1);
    assert.equal(sample(s, 'rafka_hook_call_duration_seconds_count', { hook: 'picky', stage: 'beforeProduce' }), 4);
    // afterProduce runs only for appended batches.
    assert.equal(sample(s, 'rafka_hook_calls_total', { hook: 'watcher', stage: 'afterProduce' }), 3);
    assert.equal(sample(s, 'rafka_topic_records_in_total', { topic: 'fine' }), 3);

    await b.broker.topics.delete('fine');
    const gone = await scrape(b.httpUrl!);
    assert.ok(![...gone.samples.keys()].some((k) => k.includes('topic="fine"')), 'the deleted topic has no series left');
  } finally {
    c.close();
    await b.close();
  }
});

test('log engine: fsync latency histogram and segment counts', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rafka-metrics-'));
  try {
    const b = await startBroker({ port: 0, httpListener: '127.0.0.1:0', logger: quiet(), storage: { type: 'log', path: dir, fsync: 'always' } });
    const c = await RawClient.connect(b.port);
    try {
      await createTopic(c, 'durable', 1);
      const before = sample(await scrape(b.httpUrl!), 'rafka_storage_fsync_duration_seconds_count');
      for (let i = 0; i < 3; i++) assert.equal(await produce(c, 'durable', 0, await batchOf(2, 10)), ErrorCode.NONE);
      const s = await scrape(b.httpUrl!);
      // fsync: always, one append at a time: each acknowledged produce waited for its own fsync.
      assert.equal(sample(s, 'rafka_storage_fsync_duration_seconds_count') - before, 3);
      assert.equal(sample(s, 'rafka_partition_segments', { topic: 'durable', partition: '0' }), 1);
      assert.equal(sample(s, 'rafka_partition_log_end_offset', { topic: 'durable', partition: '0' }), 6);
      assert.equal(sample(s, 'rafka_broker_info', { node_id: '1', cluster_id: b.clusterId, storage: 'log' }), 1);
    } finally {
      c.close();
      await b.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('/health and /ready follow the broker: 503 before storage is recovered and while shutting down', async () => {
  const config = { ...DEFAULT_CONFIG, host: '127.0.0.1', port: 0, httpListener: '127.0.0.1:0' };
  const metrics = new BrokerMetrics();
  const broker = new Broker(config, new MemoryEngine(), quiet());
  broker.metrics = metrics;
  // A hook whose close() the test releases: the broker is shutting down until then.
  let releaseClose!: () => void;
  const closeGate = new Promise<void>((resolve) => (releaseClose = resolve));
  const { HookRunner } = await import('../src/hooks/runner.js');
  broker.hooks = new HookRunner([{ name: 'slow-close', close: () => closeGate }], { timeoutMs: 5000, log: quiet() });
  const endpoint = await startHttpEndpoint(broker, metrics, '127.0.0.1:0');
  const get = async (path: string, init?: RequestInit) => {
    const res = await fetch(`${endpoint.url}${path}`, init);
    return { status: res.status, body: await res.text(), allow: res.headers.get('allow') };
  };

  const early = await get('/ready');
  assert.equal(early.status, 503);
  assert.deepEqual(JSON.parse(early.body), { ready: false, storageRecovered: false, listening: false, closing: false });
  assert.equal((await get('/health')).status, 200);

  await broker.start();
  const ready = await get('/ready');
  assert.equal(ready.status, 200);
  assert.deepEqual(JSON.parse(ready.body), { ready: true, storageRecovered: true, listening: true, closing: false });
  assert.deepEqual(JSON.parse((await get('/health')).body), { status: 'alive' });
  assert.equal((await get('/nope')).status, 404);
  const post = await get('/metrics', { method: 'POST', body: 'x' });
  assert.equal(post.status, 405);
  assert.equal(post.allow, 'GET, HEAD');
  const head = await fetch(`${endpoint.url}/ready`, { method: 'HEAD' });
  assert.equal(head.status, 200);

  const closed = broker.close();
  await new Promise((r) => setTimeout(r, 20));
  const closing = await get('/ready');
  assert.equal(closing.status, 503);
  assert.equal(JSON.parse(closing.body).closing, true);
  assert.equal((await get('/health')).status, 200, 'alive while draining');
  releaseClose();
  await closed;
  await assert.rejects(fetch(`${endpoint.url}/health`), 'the endpoint closes with the broker');
});

test('without http.listener there is no endpoint and no metrics object', async () => {
  const b = await startBroker({ port: 0, logger: quiet() });
  try {
    assert.equal(b.httpUrl, null);
    assert.equal(b.broker.metrics, null);
    assert.equal(b.broker.requestObserver, null, 'no observer at all: the request path reads no clock');
  } finally {
    await b.close();
  }
});

test('the endpoint can take more: a handler mounted at / (a console) serves every path the exact routes do not', async () => {
  const errors: string[] = [];
  const endpoint = new HttpEndpoint((m) => errors.push(m))
    .route('/health', (_req, res) => send(res, 200, 'text/plain', 'alive'))
    .mount('/', (req, res) => send(res, 200, 'text/plain', `console ${req.url}`))
    .mount('/api/', () => {
      throw new Error('broken handler');
    });
  await endpoint.listen('127.0.0.1:0');
  try {
    const text = async (path: string) => {
      const res = await fetch(`${endpoint.url}${path}`);
      return `${res.status} ${await res.text()}`;
    };
    assert.equal(await text('/health'), '200 alive');
    assert.equal(await text('/'), '200 console /');
    assert.equal(await text('/topics/orders?partition=1'), '200 console /topics/orders?partition=1');
    // The longest prefix wins; a handler that throws is a 500 and one log line, not a crash.
    assert.equal(await text('/api/x'), '500 internal error\n');
    assert.equal(errors.length, 1);
    assert.match(errors[0]!, /^http GET \/api\/x: Error: broken handler/);
  } finally {
    await endpoint.close();
  }
});

test("a request's body is read on the endpoint's worker only when a handler asks, within the handler's limit", async () => {
  const endpoint = new HttpEndpoint(() => {}).mount(
    '/echo',
    async (req, res) => {
      const body = await req.readBody(10);
      if (body === null) return send(res, 413, 'text/plain', 'over\n');
      send(res, 200, 'text/plain', `got ${body.length}: ${body.toString('utf8')}`);
    },
    ['POST'],
  );
  await endpoint.listen('127.0.0.1:0');
  try {
    const post = async (body: string, chunked: boolean) => {
      const stream = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(new TextEncoder().encode(body));
          c.close();
        },
      });
      const res = await fetch(`${endpoint.url}/echo`, { method: 'POST', body: chunked ? stream : body, duplex: 'half' } as RequestInit);
      return `${res.status} ${await res.text()}`;
    };
    assert.equal(await post('hello', false), '200 got 5: hello');
    assert.equal(await post('hello', true), '200 got 5: hello', 'a chunked body, no Content-Length');
    assert.equal(await post('0123456789', true), '200 got 10: 0123456789');
    assert.equal(await post('0123456789+', true), '413 over\n', 'one byte over the limit, found while reading');
    assert.equal(await post('x'.repeat(100_000), false), '413 over\n');
  } finally {
    await endpoint.close();
  }
});

test("the endpoint's worker, if it stops, is replaced on the same port", async () => {
  const errors: string[] = [];
  const endpoint = new HttpEndpoint((m) => errors.push(m)).route('/health', (_req, res) => send(res, 200, 'text/plain', 'alive'));
  await endpoint.listen('127.0.0.1:0');
  try {
    assert.equal((await fetch(`${endpoint.url}/health`)).status, 200);
    await (endpoint as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
    let status = 0;
    for (let i = 0; i < 100 && status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 50));
      status = await fetch(`${endpoint.url}/health`, { signal: AbortSignal.timeout(1000) }).then(
        (r) => r.status,
        () => 0,
      );
    }
    assert.equal(status, 200, 'answering again');
    assert.deepEqual(errors, ["the HTTP endpoint's worker exited (code 1); starting another"]);
  } finally {
    await endpoint.close();
  }
});
