/**
 * Resource limits, each enforced: `max.connections` (and its slot freed on close),
 * `max.connections.per.ip` with overrides, `connections.max.idle.ms` (idle connections, and
 * connections whose client stopped reading), backpressure on a consumer that stops reading (its
 * unwritten responses stay bounded and its requests stay unread), `queued.max.response.bytes`
 * (Fetches wait while the broker holds that much unwritten), `producer.state.max.entries`.
 * `socket.request.max.bytes` and `max.in.flight.requests.per.connection` are tested in
 * broker-protocol.test.ts, `group.max.size` in groups-protocol.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RawClient, decodeResponse } from './helpers/raw-client.js';
import { testBroker } from './helpers/broker.js';
import { apiVersionsOk, closedWithin, connectFrom, createTopic, idempotentBatch, mib, produce, sleep, waitFor } from './helpers/robust.js';
import { ApiKey } from '../src/protocol/messages/index.js';
import { FetchRequest, FetchResponse } from '../src/protocol/messages/fetch.js';
import { MetadataRequest, MetadataResponse } from '../src/protocol/messages/metadata.js';
import { encodeBatch } from '../src/protocol/records/record.js';
import { ErrorCode } from '../src/protocol/error-codes.js';
import { loadConfig, parseConfigText } from '../src/config/load.js';
import { parseConnectionOverrides } from '../src/broker/connection-limits.js';
import type { RunningBroker } from '../src/broker/index.js';
import { skipOrFail } from './helpers/skips.js';

test('max.connections: connections past it are closed at once, counted, and a closed one frees its slot', async (t) => {
  const b = await testBroker({ maxConnections: 3 });
  const clients: RawClient[] = [];
  try {
    for (let i = 0; i < 3; i++) clients.push(await RawClient.connect(b.port));
    for (const c of clients) assert.ok(await apiVersionsOk(c));
    const extra = await RawClient.connect(b.port); // the kernel accepts; the broker closes it unread
    assert.equal(await extra.waitClosed(), true, 'the 4th connection is closed');
    assert.equal(b.broker.connectionLimits.stats().refusedMaxConnections, 1);
    for (const c of clients) assert.ok(await apiVersionsOk(c), 'the admitted ones are still served');
    clients.shift()!.close();
    assert.ok(await waitFor(() => b.broker.connectionLimits.stats().open === 2), 'the closed connection is uncounted');
    const again = await RawClient.connect(b.port);
    clients.push(again);
    assert.ok(await apiVersionsOk(again), 'a new connection gets the freed slot');
    t.diagnostic(`limits: ${JSON.stringify(b.broker.connectionLimits.stats())}`);
  } finally {
    for (const c of clients) c.close();
    await b.close();
  }
});

test('max.connections.per.ip and its overrides: per address, past the limit closed at once', async (t) => {
  const b = await testBroker({ maxConnectionsPerIp: 2, maxConnectionsPerIpOverrides: '127.0.0.2:4, 127.0.0.3:0' });
  const sockets = [];
  try {
    // Linux routes all of 127.0.0.0/8 to loopback; elsewhere (macOS) only 127.0.0.1 may exist.
    const probe = await connectFrom(b.port, '127.0.0.2').catch(() => null);
    if (!probe) return skipOrFail(t, '127.0.0.2 is not a local address here');
    probe.destroy();
    await waitFor(() => b.broker.connectionLimits.stats().open === 0);
    for (let i = 0; i < 2; i++) sockets.push(await connectFrom(b.port, '127.0.0.1'));
    for (let i = 0; i < 4; i++) sockets.push(await connectFrom(b.port, '127.0.0.2'));
    await sleep(100);
    for (const s of sockets) assert.equal(s.destroyed, false);
    assert.equal(b.broker.connectionLimits.stats().open, 6);
    const third = await connectFrom(b.port, '127.0.0.1');
    assert.equal(await closedWithin(third, 3000), true, '127.0.0.1: the 3rd is over max.connections.per.ip=2');
    const fifth = await connectFrom(b.port, '127.0.0.2');
    assert.equal(await closedWithin(fifth, 3000), true, '127.0.0.2: the 5th is over its override of 4');
    const blocked = await connectFrom(b.port, '127.0.0.3');
    assert.equal(await closedWithin(blocked, 3000), true, '127.0.0.3: an override of 0 refuses every connection');
    assert.equal(b.broker.connectionLimits.stats().refusedPerIp, 3);
    sockets.shift()!.destroy();
    assert.ok(await waitFor(() => b.broker.connectionLimits.stats().open === 5));
    const replacement = await connectFrom(b.port, '127.0.0.1');
    sockets.push(replacement);
    assert.equal(await closedWithin(replacement, 300), false, 'a freed per-IP slot is reused');
    t.diagnostic(`limits: ${JSON.stringify(b.broker.connectionLimits.stats())}`);
  } finally {
    for (const s of sockets) s.destroy();
    await b.close();
  }
});

test('max.connections.per.ip.overrides: Kafka form checked by the config schema; IP addresses only', async () => {
  assert.deepEqual([...parseConnectionOverrides('127.0.0.1:5, ::1:7,::ffff:10.0.0.1:2')], [['127.0.0.1', 5], ['::1', 7], ['10.0.0.1', 2]]);
  assert.throws(() => parseConnectionOverrides('localhost:3'), /not an IP address/);
  assert.throws(() => parseConnectionOverrides('127.0.0.1'), /not ip:count/);
  assert.throws(() => parseConfigText('max.connections.per.ip.overrides: "127.0.0.1"\n', 'x.yaml'), /must have the form "ip:count,ip:count"/);
  assert.equal(parseConfigText('max.connections.per.ip.overrides: "127.0.0.1:3,10.1.2.3:0"\n', 'x.yaml').maxConnectionsPerIpOverrides, '127.0.0.1:3,10.1.2.3:0');
  const env = loadConfig({ env: { RAFKA_MAX_CONNECTIONS_PER_IP: '5', RAFKA_QUEUED_MAX_RESPONSE_BYTES: '2048', RAFKA_PRODUCER_STATE_MAX_ENTRIES: '9' } });
  assert.deepEqual([env.maxConnectionsPerIp, env.queuedMaxResponseBytes, env.producerStateMaxEntries], [5, 2048, 9]);
  await assert.rejects(testBroker({ maxConnectionsPerIpOverrides: 'broker.example:3' }), /not an IP address/);
});

test('connections.max.idle.ms: an idle connection is closed, a busy one is not', async () => {
  const b = await testBroker({ connectionsMaxIdleMs: 400 });
  const idle = await RawClient.connect(b.port);
  const busy = await RawClient.connect(b.port);
  try {
    assert.ok(await apiVersionsOk(idle));
    const started = Date.now();
    let closedAfter = -1;
    // The busy connection sends a request every 100 ms until the idle one is closed (and for 1 s at least).
    while (Date.now() - started < 1000 || (closedAfter < 0 && Date.now() - started < 10_000)) {
      assert.ok(await apiVersionsOk(busy), 'a connection with requests every 100 ms stays open');
      if (closedAfter < 0 && idle.closed) closedAfter = Date.now() - started;
      await sleep(100);
    }
    assert.ok(closedAfter >= 300, `the idle connection closed after ${closedAfter} ms (connections.max.idle.ms=400)`);
    assert.equal(busy.closed, false);
  } finally {
    idle.close();
    busy.close();
    await b.close();
  }
});

/** Produce `batches` batches of `bytes` bytes each (one record, random-ish content) to topic/0. */
async function fill(client: RawClient, topic: string, batches: number, bytes: number): Promise<void> {
  for (let i = 0; i < batches; i++) {
    const value = Buffer.alloc(bytes, i & 0xff);
    const res = await produce(client, topic, 0, await encodeBatch({ records: [{ value }] }));
    assert.equal(res.errorCode, 0);
  }
}

function fetchFrame(client: RawClient, topic: string, maxBytes: number, correlationId: number): Buffer {
  return client.frame(ApiKey.Fetch, 12, FetchRequest, {
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes,
    topics: [{ topic, partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: maxBytes }] }],
  }, correlationId);
}

function statsOf(b: RunningBroker, client: RawClient) {
  const remote = `${client.socket.localAddress}:${client.socket.localPort}`;
  return b.broker.connectionStats().find((s) => s.remote === remote || s.remote === `::ffff:${remote}`);
}

test('a consumer that stops reading: its unwritten responses stay at one, its requests stay unread, others are served', async (t) => {
  const b = await testBroker();
  const admin = await RawClient.connect(b.port);
  const stuck = await RawClient.connect(b.port);
  const healthy = await RawClient.connect(b.port);
  try {
    await createTopic(admin, 'slow');
    await fill(admin, 'slow', 8, 900_000); // ~7 MB
    const FETCH_BYTES = 4 << 20;
    const FETCHES = 20; // 20 × ~4 MB of responses asked for, ~80 MB
    stuck.socket.pause(); // never reads: the kernel buffers fill, then Node's, then the broker must stop
    stuck.write(Buffer.concat(Array.from({ length: FETCHES }, (_, i) => fetchFrame(stuck, 'slow', FETCH_BYTES, 1000 + i))));
    assert.ok(await waitFor(() => statsOf(b, stuck)?.waitingDrain === true, 10_000), 'the stuck connection ends up waiting for drain');
    await sleep(500); // would the broker go on handling (and buffering) its requests? it must not
    const s = statsOf(b, stuck)!;
    t.diagnostic(`stuck consumer: ${mib(s.queuedResponseBytes)} unwritten in the broker, ${s.inFlight} requests unanswered, reading paused ${s.readingPaused}; broker-wide ${mib(b.broker.responseBudget.stats().heldBytes)}`);
    assert.ok(s.queuedResponseBytes <= FETCH_BYTES + 65536, `at most one response unwritten (${s.queuedResponseBytes} bytes)`);
    assert.ok(s.inFlight >= 1, 'requests wait, unanswered');
    assert.equal(s.readingPaused, true, 'its socket is not read meanwhile');
    // Another client is served as usual.
    const meta = await healthy.request(ApiKey.Metadata, 12, MetadataRequest, MetadataResponse, { topics: null });
    assert.equal(meta.brokers.length, 1);
    const f = decodeResponse((await (healthy.write(fetchFrame(healthy, 'slow', 1 << 20, 7)), healthy.readFrame()))!, ApiKey.Fetch, 12, FetchResponse, 7);
    assert.equal(f.responses[0]!.partitions[0]!.errorCode, 0);
    // When it reads again, every answer arrives, in order.
    stuck.socket.resume();
    for (let i = 0; i < FETCHES; i++) {
      const res = decodeResponse((await stuck.readFrame(20_000))!, ApiKey.Fetch, 12, FetchResponse, 1000 + i);
      assert.equal(res.responses[0]!.partitions[0]!.errorCode, 0);
    }
    assert.ok(await waitFor(() => b.broker.responseBudget.stats().heldBytes === 0), 'all written: nothing counted any more');
  } finally {
    admin.close();
    stuck.close();
    healthy.close();
    await b.close();
  }
});

/** Clients that send Fetches for 4 MiB responses and never read, until the broker holds `bytes` unwritten. */
async function stuckConsumers(b: RunningBroker, topic: string, until: () => boolean): Promise<RawClient[]> {
  const stuck: RawClient[] = [];
  for (let i = 0; i < 6 && !until(); i++) {
    const c = await RawClient.connect(b.port);
    c.socket.pause();
    c.write(Buffer.concat(Array.from({ length: 6 }, (_, j) => fetchFrame(c, topic, 4 << 20, 100 + j))));
    stuck.push(c);
    await waitFor(() => statsOf(b, c)?.waitingDrain === true, 5000);
  }
  return stuck;
}

test('queued.max.response.bytes: at the cap Fetches wait and other requests go on; room lets them through', async (t) => {
  const CAP = 1 << 20;
  const b = await testBroker({ queuedMaxResponseBytes: CAP });
  const admin = await RawClient.connect(b.port);
  const healthy = await RawClient.connect(b.port);
  let stuck: RawClient[] = [];
  try {
    await createTopic(admin, 'capped');
    await fill(admin, 'capped', 8, 900_000);
    stuck = await stuckConsumers(b, 'capped', () => b.broker.responseBudget.full);
    assert.equal(b.broker.responseBudget.full, true, `the stuck consumers hold ${b.broker.responseBudget.stats().heldBytes} bytes unwritten`);
    let answered = false;
    const fetchAnswered = (async () => {
      healthy.write(fetchFrame(healthy, 'capped', 1 << 20, 55));
      const res = decodeResponse((await healthy.readFrame(15_000))!, ApiKey.Fetch, 12, FetchResponse, 55);
      answered = true;
      return res;
    })();
    await sleep(300);
    assert.equal(answered, false, 'the Fetch waits for room');
    const other = await admin.request(ApiKey.Metadata, 12, MetadataRequest, MetadataResponse, { topics: null });
    assert.equal(other.brokers.length, 1, 'other requests (another connection) are answered');
    const held = b.broker.responseBudget.stats();
    // The stuck consumers go away (unread data makes their close a reset): their bytes are released.
    for (const c of stuck) c.close();
    const res = await fetchAnswered;
    assert.equal(res.responses[0]!.partitions[0]!.errorCode, 0);
    assert.ok(await waitFor(() => stuck.every((c) => statsOf(b, c) === undefined)));
    const after = b.broker.responseBudget.stats();
    t.diagnostic(`cap ${mib(CAP)}: ${stuck.length} stuck consumer(s) held ${mib(held.heldBytes)} (peak ${mib(after.peakBytes)}), ${after.waits} Fetch waited; after they left ${mib(after.heldBytes)}`);
    assert.ok(after.waits >= 1);
    assert.ok(after.heldBytes < CAP);
  } finally {
    admin.close();
    healthy.close();
    for (const c of stuck) c.close();
    await b.close();
  }
});

test('connections.max.idle.ms also closes a connection whose client stopped reading, releasing what it held', async () => {
  const b = await testBroker({ connectionsMaxIdleMs: 500 });
  const admin = await RawClient.connect(b.port);
  let stuck: RawClient[] = [];
  try {
    await createTopic(admin, 'unread');
    await fill(admin, 'unread', 8, 900_000);
    admin.close();
    stuck = await stuckConsumers(b, 'unread', () => b.broker.responseBudget.stats().heldBytes > 0);
    assert.ok(b.broker.responseBudget.stats().heldBytes > 0);
    // (The clients are paused and would not notice a FIN: look at the broker's side.)
    assert.ok(await waitFor(() => stuck.every((c) => statsOf(b, c) === undefined), 15_000), 'closed without reading for connections.max.idle.ms');
    assert.equal(b.broker.responseBudget.stats().heldBytes, 0);
  } finally {
    admin.close();
    for (const c of stuck) c.close();
    await b.close();
  }
});

test('producer.state.max.entries: the least recently written producer is forgotten past the limit', async () => {
  const b = await testBroker({ producerStateMaxEntries: 3 });
  const client = await RawClient.connect(b.port);
  try {
    await createTopic(client, 'pstate');
    for (let pid = 1; pid <= 5; pid++) {
      const r = await produce(client, 'pstate', 0, await idempotentBatch([`p${pid}-0`], pid, 0, 0));
      assert.equal(r.errorCode, 0);
    }
    assert.equal(b.broker.producers.size, 3);
    const forgotten = await produce(client, 'pstate', 0, await idempotentBatch(['p1-1'], 1, 0, 1));
    assert.equal(forgotten.errorCode, ErrorCode.UNKNOWN_PRODUCER_ID, 'producer 1 was the least recently written');
    const kept = await produce(client, 'pstate', 0, await idempotentBatch(['p5-1'], 5, 0, 1));
    assert.equal(kept.errorCode, 0);
    const dup = await produce(client, 'pstate', 0, await idempotentBatch(['p5-1'], 5, 0, 1));
    assert.deepEqual(dup, kept, 'a retry of a remembered batch is its duplicate');
  } finally {
    client.close();
    await b.close();
  }
});
