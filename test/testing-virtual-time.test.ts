/**
 * Virtual time (issue 20, item 4): `startBroker({ clock: 'manual' })` and `broker.clock.advance(ms)`
 * drive what waits in the broker — group sessions (classic, with kafkajs and Rafka's client, and
 * KIP-848), transaction timeouts, retention, fetch long polls, LogAppendTime, injected delays — so a
 * test of "the consumer is kicked out after session.timeout.ms" takes a fraction of a second of
 * real time. ManualClock itself is tested first: order, intervals, timers set by timers, errors.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel, type Consumer as KafkaConsumer } from 'kafkajs';
import { ManualClock, SYSTEM_CLOCK } from '../src/base/clock.js';
import { startBroker } from '../src/broker/index.js';
import { advanceUntil, startTestBroker, uniqueName, waitFor, type TestBroker } from '../src/testing/index.js';
import { Consumer } from '../src/client/consumer.js';
import { Producer } from '../src/client/producer.js';
import { RawClient } from './helpers/raw-client.js';
import { tempDir } from './helpers/log-engine.js';
import { ErrorCode } from '../src/protocol/error-codes.js';
import {
  ApiKey,
  ConsumerGroupHeartbeatRequest,
  ConsumerGroupHeartbeatResponse,
  FetchRequest,
  FetchResponse,
} from '../src/protocol/messages/index.js';
import { randomUuid } from '../src/protocol/codec/uuid.js';

function wallMs(since: bigint): number {
  return Number(process.hrtime.bigint() - since) / 1e6;
}

describe('ManualClock', () => {
  it('runs due timers in time order, reading each one its own due time, and intervals until cleared', async () => {
    const clock = new ManualClock(1_000);
    const seen: string[] = [];
    clock.setTimeout(() => seen.push(`b@${clock.now()}`), 30);
    clock.setTimeout(() => seen.push(`a@${clock.now()}`), 10);
    const late = clock.setTimeout(() => seen.push('never'), 100);
    const every = clock.setInterval(() => seen.push(`i@${clock.now()}`), 20);
    // A timer set by a timer runs in the same advance when it falls due within it.
    clock.setTimeout(() => clock.setTimeout(() => seen.push(`nested@${clock.now()}`), 5), 40);
    clock.clearTimeout(late);
    await clock.advance(50);
    assert.equal(clock.now(), 1_050);
    assert.deepEqual(seen, ['a@1010', 'i@1020', 'b@1030', 'i@1040', 'nested@1045']);
    clock.clearTimeout(every);
    await clock.advance(1_000);
    assert.equal(seen.length, 5);
    assert.deepEqual(clock.pending(), []);
  });

  it('lets the promises a timer starts settle before the next timer runs', async () => {
    const clock = new ManualClock(0);
    const seen: string[] = [];
    clock.setTimeout(() => void Promise.resolve().then(() => Promise.resolve()).then(() => seen.push('first settled')), 1);
    clock.setTimeout(() => seen.push('second'), 2);
    await clock.advance(2);
    assert.deepEqual(seen, ['first settled', 'second']);
  });

  it('runs a timer due now without an advance, and sleep waits for virtual time', async () => {
    const clock = new ManualClock(0);
    let ran = false;
    clock.setTimeout(() => (ran = true), 0);
    await new Promise((r) => setImmediate(r));
    assert.equal(ran, true);
    let slept = false;
    const sleeping = clock.sleep(1_000).then(() => (slept = true));
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(slept, false);
    await clock.advance(1_000);
    await sleeping;
    assert.equal(slept, true);
  });

  it('refuses a negative or non-finite advance, and rethrows what a timer threw after finishing the advance', async () => {
    const clock = new ManualClock(0);
    await assert.rejects(clock.advance(-1), RangeError);
    await assert.rejects(clock.advance(Infinity), RangeError);
    let after = false;
    clock.setTimeout(() => {
      throw new Error('boom');
    }, 1);
    clock.setTimeout(() => (after = true), 2);
    await assert.rejects(clock.advance(5), /boom/);
    assert.equal(after, true);
    assert.equal(clock.now(), 5);
  });

  it('the system clock is Node’s', async () => {
    const before = Date.now();
    assert.ok(Math.abs(SYSTEM_CLOCK.now() - before) < 1_000);
    let fired = false;
    SYSTEM_CLOCK.setTimeout(() => (fired = true), 1);
    await SYSTEM_CLOCK.sleep(10);
    assert.equal(fired, true);
  });
});

describe('a broker on virtual time', { timeout: 60_000 }, () => {
  let b: TestBroker<ManualClock>;
  before(async () => {
    b = await startTestBroker({ clock: 'manual' });
  });
  after(() => b.close());

  it('exposes its ManualClock, and startBroker() without the option keeps the system clock', async () => {
    assert.ok(b.clock instanceof ManualClock);
    assert.equal(b.broker.clock, b.clock);
    const real = await startBroker({ port: 0, host: '127.0.0.1', logLevel: 'error' });
    try {
      assert.equal(real.clock, SYSTEM_CLOCK);
    } finally {
      await real.close();
    }
  });

  it('answers a long poll when advance() reaches its max_wait_ms, not before', async () => {
    const topic = uniqueName('longpoll');
    await b.createTopics([topic]);
    const raw = await RawClient.connect(b.port);
    try {
      const started = process.hrtime.bigint();
      let answered = false;
      const fetching = raw
        .request(ApiKey.Fetch, 12, FetchRequest, FetchResponse, {
          maxWaitMs: 60_000, minBytes: 1, maxBytes: 1 << 20, sessionId: 0, sessionEpoch: -1,
          topics: [{ topic, partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }] }],
        })
        .then((r) => ((answered = true), r));
      const parkedAt = b.clock.now();
      await waitFor(() => b.clock.pending().includes(parkedAt + 60_000), { message: 'the fetch is parked for 60 s of virtual time' });
      await b.clock.advance(59_999);
      await new Promise((r) => setTimeout(r, 20));
      assert.equal(answered, false, 'answered before max_wait_ms had passed');
      await b.clock.advance(1);
      const res = await fetching;
      assert.equal(res.responses[0]!.partitions[0]!.errorCode, ErrorCode.NONE);
      assert.ok(wallMs(started) < 5_000);
    } finally {
      raw.close();
    }
  });

  it('stamps LogAppendTime with virtual time', async () => {
    const topic = uniqueName('logappend');
    await b.createTopics([{ topic, configs: { 'message.timestamp.type': 'LogAppendTime' } }]);
    await b.clock.advance(123_456);
    const at = b.clock.now();
    const producer = new Producer({ bootstrap: b.bootstrap });
    try {
      await producer.send(topic, { value: 'v' });
    } finally {
      await producer.close();
    }
    const [m] = await b.consumeAll(topic);
    assert.equal(Number(m!.timestamp), at);
  });

  it('delays an injected delayMs fault by virtual time', async () => {
    const topic = uniqueName('delayed');
    await b.createTopics([topic]);
    b.faults.inject({ api: 'Produce', delayMs: 30_000 });
    const producer = new Producer({ bootstrap: b.bootstrap });
    try {
      let done = false;
      const sending = producer.send(topic, { value: 'late' }).then(() => (done = true));
      const from = b.clock.now();
      await waitFor(() => b.clock.pending().includes(from + 30_000), { message: 'the produce is held for 30 s of virtual time' });
      assert.equal(done, false);
      await b.clock.advance(30_000);
      await sending;
      assert.equal(b.faults.history.at(-1)!.atMs, from);
    } finally {
      await producer.close();
    }
  });
});

describe('group sessions on virtual time', { timeout: 60_000 }, () => {
  let b: TestBroker<ManualClock>;
  before(async () => {
    b = await startTestBroker({ clock: 'manual' });
  });
  after(() => b.close());

  const SESSION_MS = 3_000;

  /** Members of a classic group on the broker, by client id. */
  function memberClients(groupId: string): string[] {
    const g = b.broker.groups.group(groupId);
    return g === undefined ? [] : [...g.members.values()].map((m) => m.clientId).sort();
  }

  it('kafkajs: a consumer whose heartbeats are held back is removed after session.timeout.ms of virtual time, its partition reassigned', async () => {
    const topic = uniqueName('kjs-session');
    const groupId = uniqueName('kjs-group');
    await b.createTopics([{ topic, partitions: 2 }]);
    const assigned = new Map<string, number>();
    const consumers: KafkaConsumer[] = [];
    const running: Promise<void>[] = [];
    for (const clientId of ['kjs-a', 'kjs-b']) {
      const kafka = new Kafka({ clientId, brokers: [b.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 20, initialRetryTime: 20 } });
      const c = kafka.consumer({ groupId, sessionTimeout: SESSION_MS, heartbeatInterval: 1, maxWaitTimeInMs: 100, rebalanceTimeout: 10_000 });
      c.on(c.events.GROUP_JOIN, (e) => assigned.set(clientId, (e.payload.memberAssignment[topic] ?? []).length));
      await c.connect();
      await c.subscribe({ topic });
      // run() resolves once the member has joined: the second one's join waits for the first to rejoin,
      // which it does after its next long poll — an advance away.
      running.push(c.run({ eachMessage: async () => {} }));
      consumers.push(c);
    }
    try {
      await advanceUntil(b.clock, () => assigned.get('kjs-a') === 1 && assigned.get('kjs-b') === 1 && memberClients(groupId).length === 2, {
        message: 'both members hold one partition',
      });
      await Promise.all(running);
      // From here kjs-a's heartbeats wait an hour of virtual time before they are handled.
      b.faults.inject({ api: 'Heartbeat', clientId: 'kjs-a', delayMs: 300_000, times: 'always' });
      const started = process.hrtime.bigint();
      const from = b.clock.now();
      await advanceUntil(b.clock, () => b.clock.now() - from >= SESSION_MS - 500, { message: 'most of a session passes' });
      assert.deepEqual(memberClients(groupId), ['kjs-a', 'kjs-b'], 'removed before its session timed out');
      await advanceUntil(b.clock, () => assigned.get('kjs-b') === 2 && memberClients(groupId).join() === 'kjs-b', {
        message: 'kjs-a removed and kjs-b holds both partitions',
      });
      // Its last heartbeat came at most one step (100 ms) before the fault; the session counts from it.
      assert.ok(b.clock.now() - from >= SESSION_MS - 100, `removed after ${b.clock.now() - from} ms of virtual time`);
      const wall = wallMs(started);
      assert.ok(wall < SESSION_MS, `took ${wall} ms of real time, more than the session timeout itself`);
    } finally {
      b.faults.clear();
      b.faults.wakeAll();
      // kafkajs waits for its long polls to end before it disconnects: keep time moving meanwhile.
      let closed = false;
      const closing = Promise.all(consumers.map((c) => c.disconnect())).finally(() => (closed = true));
      await advanceUntil(b.clock, () => closed, { message: 'kafkajs consumers disconnected' });
      await closing;
    }
  });

  it('Rafka client: the same, its heartbeats on their own timer', async () => {
    const topic = uniqueName('rafka-session');
    const groupId = uniqueName('rafka-group');
    await b.createTopics([{ topic, partitions: 2 }]);
    const consumers = ['rafka-a', 'rafka-b'].map(
      (clientId) => new Consumer({ bootstrap: b.bootstrap, clientId, groupId, sessionTimeoutMs: SESSION_MS, heartbeatIntervalMs: 20, maxWaitMs: 100, autoOffsetReset: 'earliest' }),
    );
    const [a, bee] = consumers as [Consumer, Consumer];
    try {
      for (const c of consumers) c.subscribe(topic);
      await advanceUntil(b.clock, () => a.assignment().length === 1 && bee.assignment().length === 1, { message: 'both members hold one partition' });
      b.faults.inject({ api: 'Heartbeat', clientId: 'rafka-a', delayMs: 300_000, times: 'always' });
      const started = process.hrtime.bigint();
      const from = b.clock.now();
      await advanceUntil(b.clock, () => b.clock.now() - from >= SESSION_MS - 500, { message: 'most of a session passes' });
      assert.deepEqual(memberClients(groupId), ['rafka-a', 'rafka-b']);
      await advanceUntil(b.clock, () => bee.assignment().length === 2 && memberClients(groupId).join() === 'rafka-b', {
        message: 'rafka-a removed and rafka-b holds both partitions',
      });
      assert.ok(b.clock.now() - from >= SESSION_MS - 100);
      const wall = wallMs(started);
      assert.ok(wall < SESSION_MS, `took ${wall} ms of real time, more than the session timeout itself`);
    } finally {
      b.faults.clear();
      b.faults.wakeAll();
      await Promise.all(consumers.map((c) => c.close()));
    }
  });

  it('KIP-848: a member that stops heartbeating is fenced after group.consumer.session.timeout.ms, the other gets its partitions', async () => {
    const topic = uniqueName('kip848-session');
    const groupId = uniqueName('kip848-group');
    await b.createTopics([{ topic, partitions: 2 }]);
    const sessionMs = b.broker.config.groupConsumerSessionTimeoutMs;
    type Owned = { topicId: string; partitions: number[] }[];
    const members = await Promise.all([0, 1].map(async () => ({ c: await RawClient.connect(b.port), id: randomUuid(), epoch: 0, parts: [] as Owned, owned: 0 })));
    // A member that reports what it owns and takes what it is given, at once (revocations included).
    const beat = async (m: (typeof members)[number], join = false) => {
      const r = await m.c.request(ApiKey.ConsumerGroupHeartbeat, 1, ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse, {
        groupId, memberId: m.id, memberEpoch: join ? 0 : m.epoch, instanceId: null,
        ...(join ? { rebalanceTimeoutMs: 30_000, subscribedTopicNames: [topic], subscribedTopicRegex: null, serverAssignor: null } : {}),
        topicPartitions: m.parts,
      });
      assert.equal(r.errorCode, ErrorCode.NONE, `${r.errorCode} ${r.errorMessage}`);
      m.epoch = r.memberEpoch;
      if (r.assignment !== null) m.parts = r.assignment.topicPartitions.map((t) => ({ topicId: t.topicId, partitions: [...t.partitions] }));
      m.owned = m.parts.reduce((n, t) => n + t.partitions.length, 0);
    };
    const [a, bee] = members as [(typeof members)[number], (typeof members)[number]];
    try {
      await beat(a, true);
      await beat(bee, true);
      for (let i = 0; i < 10 && !(a.owned === 1 && bee.owned === 1); i++) for (const m of members) await beat(m);
      assert.deepEqual([a.owned, bee.owned], [1, 1]);
      // Only bee heartbeats from now on, once per virtual second.
      const from = b.clock.now();
      while (b.clock.now() - from < sessionMs - 1_000) {
        await b.clock.advance(1_000);
        await beat(bee);
      }
      assert.equal(bee.owned, 1, 'a was fenced before its session timed out');
      for (let i = 0; i < 5 && (bee.owned as number) !== 2; i++) {
        await b.clock.advance(1_000);
        await beat(bee);
      }
      assert.equal(bee.owned, 2);
      assert.ok(b.clock.now() - from >= sessionMs);
    } finally {
      for (const m of members) m.c.close();
    }
  });
});

describe('transactions and retention on virtual time', { timeout: 60_000 }, () => {
  it('a transaction left open is aborted by advance() past transaction.timeout.ms', async () => {
    const b = await startTestBroker({ clock: 'manual' });
    try {
      const topic = uniqueName('txn-timeout');
      await b.createTopics([topic]);
      const kafka = new Kafka({ clientId: 'txn', brokers: [b.bootstrap], logLevel: logLevel.NOTHING });
      const producer = kafka.producer({ transactionalId: 'slow-tx', idempotent: true, maxInFlightRequests: 1, transactionTimeout: 60_000 });
      await producer.connect();
      try {
        const txn = await producer.transaction();
        await txn.send({ topic, messages: [{ value: 'never committed' }] });
        const state = () => b.broker.transactions.list([], []).find((t) => t.transactionalId === 'slow-tx')?.state;
        assert.equal(state(), 'Ongoing');
        // The timeout counts from the transaction's start; the check runs every
        // transaction.abort.timed.out.transaction.cleanup.interval.ms (10 s).
        await b.clock.advance(59_000);
        assert.equal(state(), 'Ongoing');
        await b.clock.advance(11_000);
        await waitFor(() => state() === 'CompleteAbort', { message: 'aborted by the coordinator' });
        await assert.rejects(txn.commit(), (err: Error & { type?: string }) => /PRODUCER_FENCED|INVALID_PRODUCER_EPOCH/.test(String(err.type)));
      } finally {
        await producer.disconnect();
      }
    } finally {
      await b.close();
    }
  });

  it('retention deletes an old segment of the log engine when advance() reaches the next check', async () => {
    const dir = tempDir('virtual-retention-');
    const b = await startTestBroker({ clock: 'manual', storage: { type: 'log', path: dir.dir } });
    try {
      const topic = uniqueName('retained');
      // LogAppendTime: the records' timestamps are virtual time too, and segment.ms rolls a segment per batch.
      await b.createTopics([{ topic, configs: { 'retention.ms': '3600000', 'segment.ms': '1000', 'message.timestamp.type': 'LogAppendTime' } }]);
      const producer = new Producer({ bootstrap: b.bootstrap });
      const t0 = b.clock.now();
      try {
        await producer.send(topic, { value: 'old-1' });
        await b.clock.advance(2_000);
        await producer.send(topic, { value: 'old-2' });
        await b.clock.advance(1_000_000);
        await producer.send(topic, { value: 'new' });
      } finally {
        await producer.close();
      }
      const logStart = () => b.broker.storage.offsets(topic, 0).logStartOffset;
      const interval = b.broker.config.logRetentionCheckIntervalMs;
      // Every check up to here found nothing older than retention.ms (old-1 passes it after t0 + 3 600 000).
      await b.clock.set(t0 + 3_600_000);
      assert.equal(logStart(), 0, 'retained early');
      // old-2 passes retention.ms after t0 + 3 602 000: one check falls in the next interval after that.
      await b.clock.set(t0 + 3_602_000 + interval);
      await waitFor(() => logStart() === 2, { message: 'the two old segments deleted' });
      assert.deepEqual((await b.consumeAll(topic)).map((m) => m.value?.toString()), ['new']);
    } finally {
      await b.close();
      dir.remove();
    }
  });
});
