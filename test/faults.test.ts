/**
 * Fault injection (issue 20, item 3; src/broker/faults.ts) seen by a real client, kafkajs:
 * - a produce answered NOT_LEADER_OR_FOLLOWER twice is retried and written exactly once;
 * - a connection dropped after an idempotent produce was written: the retry is answered as a
 *   duplicate, no record twice — and, to show the drop is real, a non-idempotent producer does
 *   write it twice; a drop before handling writes nothing, so even that producer writes it once;
 * - a coordinator moving (NOT_COORDINATOR on the group APIs) and a forced rebalance: the group's
 *   consumer carries on and every record is consumed;
 * - throttling (throttle_time_ms, then the connection muted), a delay, a partial fetch response;
 * - every firing counted on its rule and in `faults.history`; the same rules from rafka.yaml,
 *   `rafka start --fault` and `startBroker({ faults })`; a bad rule refused with its reason.
 */
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel } from 'kafkajs';
import { startTestBroker, consumeAll, waitFor, uniqueName, type TestBroker } from '../src/testing/index.js';
import { FaultInjector, FaultSpecError, namesTopic } from '../src/broker/faults.js';
import { ErrorCode } from '../src/protocol/error-codes.js';
import { ApiKey, ProduceRequest, ProduceResponse, FetchRequest, FetchResponse } from '../src/protocol/messages/index.js';
import { parseConfigText, loadConfig } from '../src/config/load.js';
import { parseFaultFlag } from '../src/config/fault-entry.js';
import { main } from '../src/cli/main.js';
import type { BrokerConfig } from '../src/config/types.js';
import { RawClient } from './helpers/raw-client.js';
import { createTopic, idempotentBatch, initProducerId } from './helpers/robust.js';
import { notLeaderTwiceWrittenOnce } from './helpers/client-cases.js';

describe('fault injection with kafkajs', { timeout: 120_000 }, () => {
  let b: TestBroker;
  let kafka: Kafka;
  before(async () => {
    b = await startTestBroker();
    kafka = new Kafka({ clientId: 'faults', brokers: [b.bootstrap], logLevel: logLevel.NOTHING, retry: { initialRetryTime: 20, retries: 8 } });
  });
  after(() => b.close());
  beforeEach(() => b.reset());

  async function send(topic: string, value: string, options: { idempotent?: boolean } = {}): Promise<void> {
    const producer = kafka.producer({ idempotent: options.idempotent ?? false, maxInFlightRequests: options.idempotent ? 1 : undefined, allowAutoTopicCreation: true });
    await producer.connect();
    try {
      await producer.send({ topic, messages: [{ key: 'k', value }] });
    } finally {
      await producer.disconnect();
    }
  }

  it('a produce answered NOT_LEADER_OR_FOLLOWER twice is retried and written exactly once', async () => {
    for (const idempotent of [false, true]) {
      await notLeaderTwiceWrittenOnce(b, (topic, value) => send(topic, value, { idempotent }), `idempotent=${idempotent}`);
    }
  });

  it('a connection dropped after an idempotent produce was written: the retry is a duplicate, no record twice', async () => {
    const topic = uniqueName('drop-after');
    await b.createTopics([topic]);
    const rule = b.faults.inject({ api: 'Produce', topic, drop: 'after' });
    await send(topic, 'exactly once', { idempotent: true });
    assert.equal(rule.fired, 1);
    assert.deepEqual((await consumeAll(b, topic)).map((r) => r.value?.toString()), ['exactly once']);

    // The same drop with a producer without idempotence: the write happened, the retry writes again.
    const plain = uniqueName('drop-after-plain');
    await b.createTopics([plain]);
    b.faults.inject({ api: 'Produce', topic: plain, drop: 'after' });
    await send(plain, 'twice');
    assert.deepEqual((await consumeAll(b, plain)).map((r) => r.value?.toString()), ['twice', 'twice']);
  });

  it('a connection dropped before the produce is handled writes nothing: one record even without idempotence', async () => {
    const topic = uniqueName('drop-before');
    await b.createTopics([topic]);
    const rule = b.faults.inject({ api: 'Produce', topic, drop: 'before', times: 2 });
    await send(topic, 'once');
    assert.equal(rule.fired, 2);
    assert.deepEqual((await consumeAll(b, topic)).map((r) => r.value?.toString()), ['once']);
  });

  it('a coordinator moving (NOT_COORDINATOR) and a forced rebalance: the group consumer carries on', async () => {
    const topic = uniqueName('moving');
    const groupId = uniqueName('moving-group');
    await b.createTopics([{ topic, partitions: 2 }]);
    const consumer = kafka.consumer({ groupId, sessionTimeout: 6_000, heartbeatInterval: 100, maxWaitTimeInMs: 50, retry: { initialRetryTime: 20, retries: 10 } });
    const seen: string[] = [];
    let joins = 0;
    consumer.on(consumer.events.GROUP_JOIN, () => joins++);
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void seen.push(message.value!.toString()) });
    try {
      await send(topic, 'before');
      await waitFor(() => seen.includes('before'), { message: 'first record consumed' });
      const generation = b.broker.groups.group(groupId)!.generationId;

      const moved = b.faults.moveCoordinator({ group: groupId, times: 3 });
      await waitFor(() => moved.fired === 3, { message: 'the group APIs met NOT_COORDINATOR three times' });
      await send(topic, 'after the move');
      await waitFor(() => seen.includes('after the move'), { message: 'consumed after the coordinator moved' });
      assert.ok(b.faults.history.filter((h) => h.rule === moved.id).every((h) => h.errorCode === ErrorCode.NOT_COORDINATOR));

      const joinsBefore = joins;
      assert.equal(b.faults.rebalance(groupId), true);
      await waitFor(() => joins > joinsBefore && b.broker.groups.group(groupId)!.is('Stable'), { message: 'the group rejoined' });
      assert.ok(b.broker.groups.group(groupId)!.generationId > generation);
      await send(topic, 'after the rebalance');
      await waitFor(() => seen.includes('after the rebalance'), { message: 'consumed after the forced rebalance' });
      assert.equal(b.faults.history.at(-1)!.kind, 'rebalance');
      assert.deepEqual([...new Set(seen)].sort(), ['after the move', 'after the rebalance', 'before']);

      // The same as a rule: the group's next heartbeat finds it rebalancing.
      const rule = b.faults.inject({ api: 'Heartbeat', group: groupId, rebalance: true });
      const joinsNow = joins;
      await waitFor(() => rule.fired === 1 && joins > joinsNow && b.broker.groups.group(groupId)!.is('Stable'), { message: 'rebalanced by a rule' });
    } finally {
      await consumer.disconnect();
    }
  });

  it('a partial fetch response: the consumer fetches again and gets every record once', async () => {
    const topic = uniqueName('partial');
    await b.createTopics([topic]);
    for (const v of ['a', 'b', 'c']) await send(topic, v);
    // What a consumer receives: the first two batches whole and half of the third.
    const raw = await RawClient.connect(b.port);
    try {
      const fetch = () =>
        raw.request(ApiKey.Fetch, 12, FetchRequest, FetchResponse, {
          maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20,
          topics: [{ topic, partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }] }],
        });
      const whole = (await fetch()).responses[0]!.partitions[0]!.records as Buffer;
      b.faults.inject({ api: 'Fetch', partialFetch: true });
      const cut = (await fetch()).responses[0]!.partitions[0]!.records as Buffer;
      const third = whole.length - batchStarts(whole)[2]!;
      assert.equal(cut.length, whole.length - third + Math.floor(third / 2));
      assert.ok(whole.subarray(0, cut.length).equals(cut));
    } finally {
      raw.close();
    }
    const rule = b.faults.inject({ api: 'Fetch', topic, partialFetch: true, times: 3 });
    const consumer = kafka.consumer({ groupId: uniqueName('partial-group'), maxWaitTimeInMs: 50 });
    const seen: string[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void seen.push(message.value!.toString()) });
    try {
      await waitFor(() => seen.length >= 3 && rule.fired === 3, { message: 'all three consumed through partial responses' });
      assert.deepEqual(seen, ['a', 'b', 'c']);
    } finally {
      await consumer.disconnect();
    }
  });

  it('throttling: the response carries throttle_time_ms and the connection is muted for it', async () => {
    const raw = await RawClient.connect(b.port);
    try {
      await createTopic(raw, 'throttled', 1);
      const pid = await initProducerId(raw);
      b.faults.inject({ api: 'Produce', throttleMs: 300 });
      const produce = async (seq: number) =>
        raw.request(ApiKey.Produce, 9, ProduceRequest, ProduceResponse, {
          transactionalId: null, acks: -1, timeoutMs: 5000,
          topicData: [{ name: 'throttled', partitionData: [{ index: 0, records: await idempotentBatch([`v${seq}`], pid.producerId, pid.producerEpoch, seq) }] }],
        });
      const first = await produce(0);
      assert.equal(first.throttleTimeMs, 300);
      assert.equal(first.responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.NONE, 'a throttled request is still handled');
      const started = Date.now();
      const second = await produce(1);
      assert.ok(Date.now() - started >= 250, 'the next request on the connection waits out the mute');
      assert.equal(second.throttleTimeMs, 0);
      // A connection closed while muted takes its mute with it: nothing is left to check per request.
      b.faults.inject({ api: 'Produce', throttleMs: 300 });
      await produce(2);
      assert.equal(b.faults.active, true, 'muted');
      raw.close();
      await waitFor(() => !b.faults.active, { message: 'the mute went with the connection' });
    } finally {
      raw.close();
    }
  });

  it('a delay holds the request at least that long', async () => {
    const topic = uniqueName('slow');
    await b.createTopics([topic]);
    const rule = b.faults.inject({ api: 'Produce', delayMs: 300 });
    const started = Date.now();
    await send(topic, 'late');
    assert.ok(Date.now() - started >= 300);
    assert.equal(rule.fired, 1);
    assert.deepEqual((await consumeAll(b, topic)).map((r) => r.value?.toString()), ['late']);
  });

  it('a rule matches by API, topic, partition, group and client id; the first matching rule fires', async () => {
    const topic = uniqueName('match');
    await b.createTopics([{ topic, partitions: 2 }]);
    const onOther = b.faults.inject({ api: 'Produce', topic, partition: 1, errorCode: 'NOT_LEADER_OR_FOLLOWER', times: 'always' });
    const onOtherClient = b.faults.inject({ api: ['Produce'], clientId: 'somebody else', errorCode: 'NOT_LEADER_OR_FOLLOWER' });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, messages: [{ partition: 0, value: 'p0' }] });
    await producer.disconnect();
    assert.equal(onOther.fired, 0);
    assert.equal(onOtherClient.fired, 0);
    assert.equal(onOther.remaining, Infinity);
    onOther.remove();
    onOtherClient.remove();
    assert.equal(b.faults.active, false);
  });
});

/** Start offsets of the record batches in `bytes` (baseOffset int64, batchLength int32, …). */
function batchStarts(bytes: Buffer): number[] {
  const starts: number[] = [];
  for (let at = 0; at + 12 <= bytes.length; at += 12 + bytes.readInt32BE(at + 8)) starts.push(at);
  return starts;
}

describe('fault rules: what they match and what they refuse', () => {
  const noTopics = () => undefined;

  it('namesTopic finds a topic and a partition in Produce, Fetch, ListOffsets, OffsetCommit and DeleteTopics shapes', () => {
    const produce = { topicData: [{ name: 't', partitionData: [{ index: 3, records: Buffer.alloc(1) }] }] };
    assert.equal(namesTopic(produce, 't', undefined, noTopics, 0), true);
    assert.equal(namesTopic(produce, 't', 3, noTopics, 0), true);
    assert.equal(namesTopic(produce, 't', 2, noTopics, 0), false);
    assert.equal(namesTopic(produce, 'u', undefined, noTopics, 0), false);
    const fetchById = { topics: [{ topic: '', topicId: 'id-1', partitions: [{ partition: 0 }] }] };
    assert.equal(namesTopic(fetchById, 't', 0, (id) => (id === 'id-1' ? 't' : undefined), 0), true);
    assert.equal(namesTopic({ topics: [{ name: 't', partitions: [{ partitionIndex: 5 }] }] }, 't', 5, noTopics, 0), true);
    assert.equal(namesTopic({ groupId: 'g', topics: [{ name: 't', partitionIndexes: [7] }] }, 't', 7, noTopics, 0), true);
    assert.equal(namesTopic({ topicNames: ['a', 't'] }, 't', undefined, noTopics, 0), true);
    assert.equal(namesTopic({ protocols: [{ name: 't', metadata: Buffer.alloc(0) }] }, 'x', undefined, noTopics, 0), false);
  });

  it('a rule with no effect, two effects, an unknown API or error, or a bad number is refused with its reason', () => {
    const f = new FaultInjector({ log: { error() {}, warn() {}, info() {}, debug() {} }, topicName: () => undefined, forceRebalance: () => false });
    const refused = (spec: object, why: RegExp) => assert.throws(() => f.inject(spec), (e: unknown) => e instanceof FaultSpecError && why.test(e.message));
    refused({ api: 'Produce' }, /exactly one effect.*got none/);
    refused({ api: 'Produce', errorCode: 'NOT_COORDINATOR', delayMs: 5 }, /errorCode and delayMs/);
    refused({ api: 'Prodce', delayMs: 5 }, /unknown API "Prodce"/);
    refused({ api: 'Produce', errorCode: 'NOT_A_LEADER' }, /unknown error "NOT_A_LEADER"/);
    refused({ api: 'Produce', errorCode: 0 }, /not a Kafka error/);
    refused({ api: 'Produce', delayMs: -1 }, /delayMs must be an integer/);
    refused({ api: 'Produce', delayMs: 5, times: 0 }, /times must be a positive integer/);
    refused({ api: 'Produce', partition: 1, delayMs: 5 }, /partition needs topic/);
    refused({ api: 'Produce', partialFetch: true }, /Fetch only/);
    refused({ api: 'Heartbeat', rebalance: true }, /needs group/);
    refused({ api: 'Produce', drop: 'during' }, /drop must be one of before, after/);
    refused({ api: 'Produce', delay: 5 }, /unknown fault key "delay"/);
    assert.equal(f.active, false);
    const ok = f.inject({ errorCode: 6 });
    assert.equal(ok.kind, 'error');
    assert.equal(f.active, true);
    f.clear();
    assert.equal(f.active, false);
  });
});

describe('fault rules from configuration', () => {
  it('rafka.yaml faults: and --fault flags (added after the file) reach the broker config', async () => {
    const file = parseConfigText(
      ['faults:', '  - api: [JoinGroup, Heartbeat]', '    group: g1', '    errorCode: NOT_COORDINATOR', '    times: 2', '  - api: Fetch', '    partialFetch: true', '    times: always'].join('\n'),
    );
    assert.deepEqual(file.faults, [
      { api: ['JoinGroup', 'Heartbeat'], group: 'g1', errorCode: 'NOT_COORDINATOR', times: 2 },
      { api: 'Fetch', partialFetch: true, times: 'always' },
    ]);
    assert.throws(() => parseConfigText('faults:\n  - api: Produce\n    delay: 5\n'), /faults\.0\.delay: unknown key "delay" \(did you mean "delayMs"\?\)/);

    assert.deepEqual(parseFaultFlag('api=Produce,errorCode=NOT_LEADER_OR_FOLLOWER,times=2'), { spec: { api: 'Produce', errorCode: 'NOT_LEADER_OR_FOLLOWER', times: 2 } });
    assert.deepEqual(parseFaultFlag('api=JoinGroup|Heartbeat,group=g,rebalance=true'), { spec: { api: ['JoinGroup', 'Heartbeat'], group: 'g', rebalance: true } });
    assert.deepEqual(parseFaultFlag('api=Produce,delay=5'), { problem: 'unknown key "delay" (keys: api, topic, partition, group, clientId, times, errorCode, delayMs, drop, throttleMs, partialFetch, rebalance)' });

    let started: Partial<BrokerConfig> | undefined;
    const lines: string[] = [];
    const code = await main(['start', '--port', '0', '--storage', 'memory', '--fault', 'api=Produce,errorCode=NOT_LEADER_OR_FOLLOWER,times=2', '--fault', 'api=Metadata,delayMs=10'], {
      env: {},
      stdout: (l) => lines.push(l),
      stderr: (l) => lines.push(l),
      forceExitAfterMs: null,
      startBroker: async (config) => {
        started = config;
        setImmediate(() => process.emit('SIGTERM', 'SIGTERM'));
        return { bootstrap: '127.0.0.1:1', host: '127.0.0.1', port: 1, clusterId: 'c', close: async () => {} };
      },
    });
    assert.equal(code, 0, lines.join('\n'));
    assert.deepEqual(started?.faults, [
      { api: 'Produce', errorCode: 'NOT_LEADER_OR_FOLLOWER', times: 2 },
      { api: 'Metadata', delayMs: 10 },
    ]);
    assert.equal(await main(['start', '--fault', 'api=Produce,times=x'], { env: {}, stdout: () => {}, stderr: () => {}, forceExitAfterMs: null }), 2);
    assert.deepEqual(loadConfig({ file: null, env: {} }).faults, []);
  });

  it('startBroker({ faults }) installs them; a bad one stops the start naming its place', async () => {
    const b = await startTestBroker({ faults: [{ api: 'Produce', errorCode: 'NOT_LEADER_OR_FOLLOWER', times: 2 }] });
    try {
      assert.deepEqual(b.faults.rulesInstalled.map((r) => [r.kind, r.remaining]), [['error', 2]]);
    } finally {
      await b.close();
    }
    await assert.rejects(startTestBroker({ faults: [{ api: 'Produce', delayMs: 1 }, { api: 'Produce', errorCode: 'NOPE' }] }), /faults\[1\]: unknown error "NOPE"/);
  });
});
