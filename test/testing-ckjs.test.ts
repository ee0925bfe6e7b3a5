/**
 * Issue 20's four client cases with @confluentinc/kafka-javascript (librdkafka underneath, through its
 * KafkaJS-compatible API), as test/faults.test.ts, test/testing-virtual-time.test.ts and
 * test/testing-cluster.test.ts show them with kafkajs:
 * - a produce answered NOT_LEADER_OR_FOLLOWER twice is retried and written exactly once;
 * - a connection dropped after an idempotent produce was written: no record twice (and, to show the
 *   drop is real, a producer without idempotence writes it twice);
 * - a consumer whose heartbeats are held back is removed after session.timeout.ms of virtual time,
 *   its partition reassigned to the other member;
 * - a 3-broker startCluster whose partition leader is stopped (and started, and moved): producer and
 *   consumer group carry on, each record written and consumed once.
 * The first and the last are written once for both clients, in test/helpers/client-cases.ts.
 *
 * librdkafka keeps its own timers on real time (heartbeats, its local session check, backoffs): on
 * virtual time the clock moves in steps with real pauses long enough for its heartbeat interval, and
 * the whole session test stays well inside one session timeout of real time, so librdkafka's own
 * check never fires first.
 *
 * The client is a native build outside the dependencies (test/helpers/confluent-js.ts): without it
 * these tests skip saying how to build it; CI (RAFKA_REQUIRE_CLIENTS=1) builds it and fails without it.
 */
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ManualClock } from '../src/base/clock.js';
import { advanceUntil, consumeAll, startCluster, startTestBroker, uniqueName, type TestBroker, type TestCluster } from '../src/testing/index.js';
import { requireClient, skipUnless } from './helpers/external.js';
import { findConfluentJs, type CkjsConsumer, type ConfluentJs } from './helpers/confluent-js.js';
import { carryOnThroughLeaderChanges, notLeaderTwiceWrittenOnce } from './helpers/client-cases.js';

const ckjs = findConfluentJs();
const skip = skipUnless(ckjs);

/** The loaded client (requireClient has thrown if it is missing). */
function client(): ConfluentJs {
  requireClient(ckjs);
  return ckjs.module!;
}

type CkjsKafka = InstanceType<ConfluentJs['KafkaJS']['Kafka']>;

function kafkaFor(brokers: readonly string[], clientId: string): CkjsKafka {
  const { KafkaJS } = client();
  return new KafkaJS.Kafka({
    kafkaJS: { brokers: [...brokers], clientId, logLevel: KafkaJS.logLevel.NOTHING, retry: { initialRetryTime: 20, maxRetryTime: 500, retries: 8 } },
    // A stopped broker is retried soon, not after librdkafka's 10 s maximum backoff.
    'reconnect.backoff.ms': 20,
    'reconnect.backoff.max.ms': 500,
    'retry.backoff.ms': 20,
    'retry.backoff.max.ms': 500,
  });
}

describe('@confluentinc/kafka-javascript: fault injection', { skip, timeout: 120_000 }, () => {
  let b: TestBroker;
  let kafka: CkjsKafka;
  before(async () => {
    requireClient(ckjs);
    b = await startTestBroker();
    kafka = kafkaFor([b.bootstrap], 'ckjs-faults');
  });
  after(() => b?.close());
  beforeEach(() => b.reset());

  async function send(topic: string, value: string, idempotent: boolean): Promise<void> {
    const producer = kafka.producer({ kafkaJS: { idempotent, acks: -1 }, 'linger.ms': 0 });
    await producer.connect();
    try {
      await producer.send({ topic, messages: [{ key: 'k', value }] });
    } finally {
      await producer.disconnect();
    }
  }

  it('a produce answered NOT_LEADER_OR_FOLLOWER twice is retried and written exactly once', async () => {
    for (const idempotent of [false, true]) {
      await notLeaderTwiceWrittenOnce(b, (topic, value) => send(topic, value, idempotent), `idempotent=${idempotent}`);
    }
  });

  it('a connection dropped after an idempotent produce was written: no record twice', async () => {
    const topic = uniqueName('ckjs-drop-after');
    await b.createTopics([topic]);
    const rule = b.faults.inject({ api: 'Produce', topic, drop: 'after' });
    await send(topic, 'exactly once', true);
    assert.equal(rule.fired, 1);
    assert.deepEqual((await consumeAll(b, topic)).map((r) => r.value?.toString()), ['exactly once']);

    // The same drop with a producer without idempotence: the write happened, librdkafka's retry writes again.
    const plain = uniqueName('ckjs-drop-after-plain');
    await b.createTopics([plain]);
    const plainRule = b.faults.inject({ api: 'Produce', topic: plain, drop: 'after' });
    await send(plain, 'twice', false);
    assert.equal(plainRule.fired, 1);
    assert.deepEqual((await consumeAll(b, plain)).map((r) => r.value?.toString()), ['twice', 'twice']);
  });
});

describe('@confluentinc/kafka-javascript: group sessions on virtual time', { skip, timeout: 120_000 }, () => {
  let b: TestBroker<ManualClock>;
  before(async () => {
    requireClient(ckjs);
    b = await startTestBroker({ clock: 'manual' });
  });
  after(() => b?.close());

  /** Virtual: the broker's session timer. librdkafka checks the same value on real time itself. */
  const SESSION_MS = 6_000;
  /** Per step of virtual time, with STEP_PAUSE_MS of real time after it: several real heartbeats of the live member per step. */
  const STEP_MS = 200;
  const STEP_PAUSE_MS = 25;

  function memberClients(groupId: string): string[] {
    const g = b.broker.groups.group(groupId);
    return g === undefined ? [] : [...g.members.values()].map((m) => m.clientId).sort();
  }

  it('a consumer whose heartbeats are held back is removed after session.timeout.ms of virtual time, its partition reassigned', async () => {
    const topic = uniqueName('ckjs-session');
    const groupId = uniqueName('ckjs-group');
    await b.createTopics([{ topic, partitions: 2 }]);
    const consumers = new Map<string, CkjsConsumer>();
    const advance = <T>(condition: () => T, message: string) =>
      advanceUntil(b.clock, condition, { stepMs: STEP_MS, pauseMs: STEP_PAUSE_MS, timeoutMs: 30_000, message });
    const held = (clientId: string) => consumers.get(clientId)?.assignment().length ?? -1;
    try {
      for (const clientId of ['ckjs-a', 'ckjs-b']) {
        const c = kafkaFor([b.bootstrap], clientId).consumer({
          kafkaJS: { groupId, sessionTimeout: SESSION_MS, heartbeatInterval: 10, rebalanceTimeout: 60_000, maxWaitTimeInMs: 100 },
        });
        await c.connect();
        await c.subscribe({ topics: [topic] });
        await c.run({ eachMessage: async () => {} });
        consumers.set(clientId, c);
      }
      await advance(() => held('ckjs-a') === 1 && held('ckjs-b') === 1 && memberClients(groupId).length === 2, 'both members hold one partition');

      // From here ckjs-a's heartbeats wait five minutes of virtual time before they are handled.
      b.faults.inject({ api: 'Heartbeat', clientId: 'ckjs-a', delayMs: 300_000, times: 'always' });
      const started = process.hrtime.bigint();
      const from = b.clock.now();
      await advance(() => b.clock.now() - from >= SESSION_MS - 1_000, 'most of a session passes');
      assert.deepEqual(memberClients(groupId), ['ckjs-a', 'ckjs-b'], 'removed before its session timed out');
      await advance(() => held('ckjs-b') === 2 && memberClients(groupId).join() === 'ckjs-b', 'ckjs-a removed and ckjs-b holds both partitions');
      // Its last heartbeat was answered at most a step before the fault; the session counts from it.
      assert.ok(b.clock.now() - from >= SESSION_MS - STEP_MS, `removed after ${b.clock.now() - from} ms of virtual time`);
      const wall = Number(process.hrtime.bigint() - started) / 1e6;
      assert.ok(wall < SESSION_MS, `took ${wall} ms of real time, more than the session timeout itself`);
    } finally {
      b.faults.clear();
      b.faults.wakeAll();
      // Their long polls end on virtual time: keep it moving while they leave.
      let closed = false;
      const closing = Promise.all([...consumers.values()].map((c) => c.disconnect())).finally(() => (closed = true));
      await advance(() => closed, 'consumers disconnected');
      await closing;
    }
  });
});

describe('@confluentinc/kafka-javascript: startCluster', { skip, timeout: 120_000 }, () => {
  let c: TestCluster;
  before(async () => {
    requireClient(ckjs);
    c = await startCluster({ brokers: 3 });
  });
  after(() => c?.close());

  it('an idempotent producer and a consumer group carry on while the partition leader is stopped and started again, and while a leader moves', async () => {
    const topic = uniqueName('ckjs-carry-on');
    await c.createTopics([{ topic, partitions: 1 }]);
    const kafka = kafkaFor(c.bootstrapServers, 'ckjs-cluster');
    const producer = kafka.producer({ kafkaJS: { idempotent: true, acks: -1 }, 'linger.ms': 0 });
    const consumer = kafka.consumer({ kafkaJS: { groupId: uniqueName('ckjs-carry-on-group'), fromBeginning: true, maxWaitTimeInMs: 50, heartbeatInterval: 200, sessionTimeout: 6_000 } });
    const seen: string[] = [];
    await producer.connect();
    await consumer.connect();
    await consumer.subscribe({ topics: [topic] });
    await consumer.run({ eachMessage: async ({ message }) => void seen.push(message.value!.toString()) });
    await carryOnThroughLeaderChanges(c, topic, {
      send: (value) => producer.send({ topic, messages: [{ value }] }),
      seen,
      stop: async () => {
        await consumer.disconnect();
        await producer.disconnect();
      },
    });
  });
});
