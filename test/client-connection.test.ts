/**
 * The client's connection layer: ApiVersions negotiation picks the highest version both sides
 * support; many pipelined requests on one connection each get their own answer; a request without
 * an answer times out and closes the connection; an unreachable broker is a ConnectionError; the
 * cluster reconnects after a broker restart; errors carry Kafka's code, name and retriable flag.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { testBroker } from './helpers/broker.js';
import { TestProxy } from './helpers/proxy.js';
import { Cluster, Connection, ConnectionError, KafkaProtocolError, Producer, RequestTimeoutError } from '../src/client/index.js';
import { API_SPECS, ApiKey, ListOffsetsRequest, ListOffsetsResponse, MetadataRequest, MetadataResponse } from '../src/protocol/messages/index.js';
import { supportedApiVersions } from '../src/broker/api/index.js';
import { MemoryEngine } from '../src/storage/memory/memory-engine.js';

test('ApiVersions negotiation: the highest version both sides support, for every API', async () => {
  const broker = await testBroker();
  const conn = await Connection.connect({ host: '127.0.0.1', port: broker.port });
  try {
    // Versions whose semantics the client does not implement (topic ids in Produce v13, …) are never chosen.
    const clientMax = new Map<number, number>([[ApiKey.Produce, 12], [ApiKey.Metadata, 12], [ApiKey.OffsetCommit, 9], [ApiKey.OffsetFetch, 9], [ApiKey.DescribeGroups, 5], [ApiKey.InitProducerId, 5]]);
    for (const range of supportedApiVersions()) {
      const ours = Math.min(API_SPECS.get(range.apiKey)!.maxVersion, clientMax.get(range.apiKey) ?? Infinity);
      assert.equal(conn.version(range.apiKey), Math.min(ours, range.maxVersion), `api ${range.apiKey}`);
    }
    assert.equal(conn.version(ApiKey.Produce), 12, 'the broker serves v13, the client names topics: v12');
    assert.equal(conn.version(ApiKey.Metadata, 4), 4, 'a caller may cap the version');
    // An API the broker does not offer is refused before anything is sent.
    assert.throws(() => conn.version(ApiKey.ElectLeaders), /does not support/);
  } finally {
    conn.close();
    await broker.close();
  }
});

test('pipelining: 200 requests in flight on one connection, each answered with its own response', async () => {
  const broker = await testBroker({ numPartitions: 4 });
  const conn = await Connection.connect({ host: '127.0.0.1', port: broker.port });
  try {
    await conn.request(ApiKey.Metadata, MetadataRequest, MetadataResponse, { topics: [{ name: 'pipe' }], allowAutoTopicCreation: true });
    const all = Array.from({ length: 200 }, (_, i) =>
      i % 2 === 0
        ? conn.request(ApiKey.Metadata, MetadataRequest, MetadataResponse, { topics: [{ name: `pipe-${i}` }], allowAutoTopicCreation: false }).then((r) => r.topics[0]!.name)
        : conn.request(ApiKey.ListOffsets, ListOffsetsRequest, ListOffsetsResponse, { replicaId: -1, topics: [{ name: 'pipe', partitions: [{ partitionIndex: i % 4, timestamp: -1n }] }] }).then((r) => `p${r.topics[0]!.partitions[0]!.partitionIndex}`),
    );
    assert.ok(conn.inFlight > 100, 'requests really were pipelined');
    const answers = await Promise.all(all);
    answers.forEach((a, i) => assert.equal(a, i % 2 === 0 ? `pipe-${i}` : `p${i % 4}`));
    assert.equal(conn.inFlight, 0);
  } finally {
    conn.close();
    await broker.close();
  }
});

test('a request without an answer times out with RequestTimeoutError and closes the connection', async () => {
  const proxy = await TestProxy.start();
  const broker = await testBroker({ advertisedPort: proxy.port });
  proxy.target = { host: '127.0.0.1', port: broker.port };
  const conn = await Connection.connect({ host: '127.0.0.1', port: proxy.port, requestTimeoutMs: 150 });
  try {
    proxy.holdResponses = true;
    const started = Date.now();
    const pending = [1, 2].map(() => conn.request(ApiKey.Metadata, MetadataRequest, MetadataResponse, { topics: [] }));
    for (const p of pending) await assert.rejects(p, (e: unknown) => e instanceof RequestTimeoutError && e.retriable && e.code === 'RAFKA_REQUEST_TIMEOUT');
    assert.ok(Date.now() - started >= 140);
    assert.equal(conn.closed, true, 'a late answer must not be matched to a later request');
    // Later requests fail at once with the reason the connection closed.
    await assert.rejects(conn.request(ApiKey.Metadata, MetadataRequest, MetadataResponse, { topics: [] }), RequestTimeoutError);
  } finally {
    proxy.release();
    await proxy.close();
    await broker.close();
  }
});

test('an unreachable broker is a retriable ConnectionError', async () => {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  await assert.rejects(Connection.connect({ host: '127.0.0.1', port }), (e: unknown) => e instanceof ConnectionError && e.retriable && e.code === 'RAFKA_CONNECTION');
  const producer = new Producer({ bootstrap: `127.0.0.1:${port}`, maxBlockMs: 300, retryBackoffMs: 20 });
  await assert.rejects(producer.send('t', { value: 'x' }), ConnectionError);
  await producer.close();
});

test('the cluster reconnects after a broker restart', async () => {
  const engine = new MemoryEngine();
  let broker = await testBroker({ storage: engine });
  const port = broker.port;
  const cluster = new Cluster({ bootstrap: broker.bootstrap, retryBackoffMs: 20 });
  try {
    await cluster.refreshMetadata(['reconnect']);
    const first = await cluster.connection(1);
    await broker.close();
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(first.closed, true);
    broker = await testBroker({ storage: engine, port });
    await cluster.refreshMetadata();
    const second = await cluster.connection(1);
    assert.notEqual(second, first);
    assert.equal(second.closed, false);
    assert.ok(cluster.topics.get('reconnect'));
  } finally {
    await cluster.close();
    await broker.close();
  }
});

test('KafkaProtocolError carries Kafka code, name and retriable flag', () => {
  const e = new KafkaProtocolError(6, 'topic-0');
  assert.equal(e.errorCode, 6);
  assert.equal(e.type, 'NOT_LEADER_OR_FOLLOWER');
  assert.equal(e.code, 'NOT_LEADER_OR_FOLLOWER');
  assert.equal(e.retriable, true);
  assert.match(e.message, /NOT_LEADER_OR_FOLLOWER: topic-0/);
  const fatal = new KafkaProtocolError(36);
  assert.equal(fatal.retriable, false);
  assert.equal(fatal.type, 'TOPIC_ALREADY_EXISTS');
});
