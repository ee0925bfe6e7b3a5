/**
 * Incremental fetch sessions (KIP-227) at exact wire versions, with a raw client: a full fetch opens
 * a session; incremental fetches list only partitions with records, errors or moved offsets; epochs
 * (INVALID_FETCH_SESSION_EPOCH, also for a fetch overtaken by the next one), unknown sessions
 * (FETCH_SESSION_ID_NOT_FOUND), topic ids vs names (FETCH_SESSION_TOPIC_ID_ERROR), forgotten topics by
 * name (v12) and by id (v13+), adding partitions, closing (epoch -1), a full fetch replacing its
 * session, a session emptied by forgetting, sessionless fetches, v7 (the first version with
 * sessions), long polling over a session, the fetch-order rotation under max_bytes, and the cache's
 * slot bound. Then the cache itself with its own clock: eviction as Kafka's (stale first, then a
 * smaller session past the eviction age), epoch wrap-around and the partition budget.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { testBroker } from './helpers/broker.js';
import { RawClient } from './helpers/raw-client.js';
import { ApiKey } from '../src/protocol/messages/index.js';
import { FetchRequest, FetchResponse } from '../src/protocol/messages/fetch.js';
import { ProduceRequest, ProduceResponse } from '../src/protocol/messages/produce.js';
import { MetadataRequest, MetadataResponse } from '../src/protocol/messages/metadata.js';
import { DeleteRecordsRequest, DeleteRecordsResponse } from '../src/protocol/messages/delete-records.js';
import { encodeBatch } from '../src/protocol/records/record.js';
import { ErrorCode } from '../src/protocol/error-codes.js';
import type { Init } from '../src/protocol/codec/message.js';
import type { RunningBroker } from '../src/broker/index.js';
import { CachedPartition, FetchSessionCache, INVALID_SESSION_ID, nextEpoch, partitionKey, type FetchPartitionParams } from '../src/broker/fetch-sessions.js';

let b: RunningBroker;
let client: RawClient;

before(async () => {
  b = await testBroker({ maxIncrementalFetchSessionCacheSlots: 4 });
  client = await RawClient.connect(b.port);
  await b.broker.topics.create('fs-a', 3, 1, {});
  await b.broker.topics.create('fs-b', 2, 1, {});
});

after(async () => {
  client?.close();
  await b?.close();
});

async function produce(topic: string, partition: number, n = 1): Promise<void> {
  const batch = await encodeBatch({ records: Array.from({ length: n }, (_, i) => ({ value: Buffer.from(`${topic}-${partition}-${i}`) })) });
  const res = await client.request(ApiKey.Produce, 9, ProduceRequest, ProduceResponse, {
    acks: -1,
    timeoutMs: 1000,
    topicData: [{ name: topic, partitionData: [{ index: partition, records: batch }] }],
  });
  assert.equal(res.responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.NONE);
}

function fetch(version: number, body: Init<FetchRequest>, c: RawClient = client): Promise<FetchResponse> {
  return c.request(ApiKey.Fetch, version, FetchRequest, FetchResponse, { maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, ...body });
}

const part = (partition: number, fetchOffset = 0n, partitionMaxBytes = 1 << 20) => ({ partition, fetchOffset, partitionMaxBytes });

/** [topic (name, or id from v13), partition, errorCode, record bytes, high watermark] of each listed partition. */
function listed(res: FetchResponse, v: number): [string, number, number, number, number][] {
  return res.responses.flatMap((t) =>
    t.partitions.map((p): [string, number, number, number, number] => [
      v >= 13 ? t.topicId : t.topic,
      p.partitionIndex,
      p.errorCode,
      p.records === null ? 0 : Buffer.isBuffer(p.records) ? p.records.length : p.records.reduce((n, x) => n + x.length, 0),
      Number(p.highWatermark),
    ]),
  );
}

const names = (res: FetchResponse, v = 12) => listed(res, v).map(([t, p]) => `${t}-${p}`);

async function topicId(name: string): Promise<string> {
  const meta = await client.request(ApiKey.Metadata, 12, MetadataRequest, MetadataResponse, { topics: [{ name }] });
  return meta.topics[0]!.topicId;
}

describe('fetch sessions over the wire', { timeout: 60_000 }, () => {
  it('a full fetch opens a session; incremental fetches list only partitions with news', async () => {
    await produce('fs-a', 0, 2);
    const full = await fetch(12, { sessionId: 0, sessionEpoch: 0, topics: [{ topic: 'fs-a', partitions: [part(0), part(1), part(2)] }] });
    assert.equal(full.errorCode, ErrorCode.NONE);
    assert.notEqual(full.sessionId, INVALID_SESSION_ID, 'a session was created');
    assert.deepEqual(names(full), ['fs-a-0', 'fs-a-1', 'fs-a-2'], 'a full fetch lists every partition');
    const id = full.sessionId;
    assert.equal(b.broker.fetchSessions.get(id)!.partitions.size, 3);

    // Epoch 1: the consumer moved partition 0 past its records; nothing changed since.
    let res = await fetch(12, { sessionId: id, sessionEpoch: 1, topics: [{ topic: 'fs-a', partitions: [part(0, 2n)] }] });
    assert.equal(res.errorCode, ErrorCode.NONE);
    assert.equal(res.sessionId, id);
    assert.deepEqual(listed(res, 12), [], 'nothing new: nothing listed');

    // New records on partition 1 only: the session fetches from its cached offset 0.
    await produce('fs-a', 1, 3);
    res = await fetch(12, { sessionId: id, sessionEpoch: 2, topics: [] });
    assert.deepEqual(
      listed(res, 12).map(([t, p, e, bytes, hw]) => [t, p, e, bytes > 0, hw]),
      [['fs-a', 1, ErrorCode.NONE, true, 3]],
    );
    // The consumer moves on: nothing new again.
    res = await fetch(12, { sessionId: id, sessionEpoch: 3, topics: [{ topic: 'fs-a', partitions: [part(1, 3n)] }] });
    assert.deepEqual(listed(res, 12), []);

    // A moved high watermark is news even without records. Partition 1 returned records, so it went to
    // the end of the session's order; with max_bytes 1 only the first batch found, partition 2's, comes
    // back (KIP-74), and partition 1 is listed for its high watermark alone.
    await produce('fs-a', 1, 1);
    await produce('fs-a', 2, 1);
    res = await fetch(12, { sessionId: id, sessionEpoch: 4, maxBytes: 1, topics: [] });
    assert.deepEqual(
      listed(res, 12).map(([t, p, e, bytes, hw]) => [t, p, e, bytes > 0, hw]),
      [
        ['fs-a', 2, ErrorCode.NONE, true, 1],
        ['fs-a', 1, ErrorCode.NONE, false, 4],
      ],
    );

    // A moved log start offset is news too.
    const del = await client.request(ApiKey.DeleteRecords, 2, DeleteRecordsRequest, DeleteRecordsResponse, {
      topics: [{ name: 'fs-a', partitions: [{ partitionIndex: 0, offset: 1n }] }],
      timeoutMs: 1000,
    });
    assert.equal(del.topics[0]!.partitions[0]!.errorCode, ErrorCode.NONE);
    res = await fetch(12, { sessionId: id, sessionEpoch: 5, topics: [{ topic: 'fs-a', partitions: [part(1, 4n), part(2, 1n)] }] });
    assert.deepEqual(
      res.responses.flatMap((t) => t.partitions.map((p) => [t.topic, p.partitionIndex, Number(p.logStartOffset)])),
      [['fs-a', 0, 1]],
    );

    // Close it (epoch -1 with its id): answered in full, without a session.
    res = await fetch(12, { sessionId: id, sessionEpoch: -1, topics: [{ topic: 'fs-a', partitions: [part(0, 1n)] }] });
    assert.equal(res.errorCode, ErrorCode.NONE);
    assert.equal(res.sessionId, INVALID_SESSION_ID);
    assert.deepEqual(names(res), ['fs-a-0']);
    assert.equal(b.broker.fetchSessions.get(id), undefined, 'closed');
    res = await fetch(12, { sessionId: id, sessionEpoch: 6, topics: [] });
    assert.equal(res.errorCode, ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
    assert.equal(res.sessionId, INVALID_SESSION_ID);
    assert.deepEqual(res.responses, []);
  });

  it('session errors: unknown id, wrong epoch (the session survives), names vs topic ids', async () => {
    let res = await fetch(12, { sessionId: 123456, sessionEpoch: 1, topics: [] });
    assert.equal(res.errorCode, ErrorCode.FETCH_SESSION_ID_NOT_FOUND);

    const full = await fetch(12, { sessionEpoch: 0, topics: [{ topic: 'fs-b', partitions: [part(0)] }] });
    const id = full.sessionId;
    assert.notEqual(id, INVALID_SESSION_ID);
    for (const epoch of [2, 7, 2147483647]) {
      res = await fetch(12, { sessionId: id, sessionEpoch: epoch, topics: [] });
      assert.equal(res.errorCode, ErrorCode.INVALID_FETCH_SESSION_EPOCH, `epoch ${epoch}`);
      assert.equal(res.sessionId, INVALID_SESSION_ID);
      assert.deepEqual(res.responses, []);
    }
    res = await fetch(12, { sessionId: id, sessionEpoch: 1, topics: [] });
    assert.equal(res.errorCode, ErrorCode.NONE, 'a refused epoch does not move the session');
    assert.equal(res.sessionId, id);

    // A session opened by name cannot be continued by id (v13+), nor the other way round.
    res = await fetch(13, { sessionId: id, sessionEpoch: 2, topics: [] });
    assert.equal(res.errorCode, ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR);
    const byId = await fetch(13, { sessionEpoch: 0, topics: [{ topicId: await topicId('fs-b'), partitions: [part(0)] }] });
    assert.notEqual(byId.sessionId, INVALID_SESSION_ID);
    res = await fetch(12, { sessionId: byId.sessionId, sessionEpoch: 1, topics: [] });
    assert.equal(res.errorCode, ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR);
    // Neither refusal used up an epoch.
    assert.equal((await fetch(12, { sessionId: id, sessionEpoch: 2, topics: [] })).errorCode, ErrorCode.NONE);
    assert.equal((await fetch(13, { sessionId: byId.sessionId, sessionEpoch: 1, topics: [] })).errorCode, ErrorCode.NONE);
    await fetch(12, { sessionId: id, sessionEpoch: -1, topics: [] });
    await fetch(13, { sessionId: byId.sessionId, sessionEpoch: -1, topics: [] });
  });

  it('adds partitions, forgets topics by name (v12), and a session emptied by forgetting closes', async () => {
    const full = await fetch(12, { sessionEpoch: 0, topics: [{ topic: 'fs-b', partitions: [part(0)] }] });
    const id = full.sessionId;
    // Add fs-b-1 and an unknown topic: both listed (new to the answer), the unknown one with its error.
    let res = await fetch(12, { sessionId: id, sessionEpoch: 1, topics: [{ topic: 'fs-b', partitions: [part(1)] }, { topic: 'fs-none', partitions: [part(0)] }] });
    assert.deepEqual(
      listed(res, 12).map(([t, p, e]) => [t, p, e]),
      [
        ['fs-b', 1, ErrorCode.NONE],
        ['fs-none', 0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      ],
    );
    // Errors are listed every time; quiet partitions are not.
    res = await fetch(12, { sessionId: id, sessionEpoch: 2, topics: [] });
    assert.deepEqual(names(res), ['fs-none-0']);
    // Forget the unknown topic, and fs-b-0: new data there is no longer fetched.
    res = await fetch(12, { sessionId: id, sessionEpoch: 3, topics: [], forgottenTopicsData: [{ topic: 'fs-none', partitions: [0] }, { topic: 'fs-b', partitions: [0] }] });
    assert.deepEqual(names(res), []);
    assert.deepEqual([...b.broker.fetchSessions.get(id)!.partitions.keys()], [partitionKey('fs-b', 1)]);
    await produce('fs-b', 0, 1);
    res = await fetch(12, { sessionId: id, sessionEpoch: 4, topics: [] });
    assert.deepEqual(names(res), []);
    await produce('fs-b', 1, 1);
    res = await fetch(12, { sessionId: id, sessionEpoch: 5, topics: [] });
    assert.deepEqual(names(res), ['fs-b-1']);
    // Forgetting the last partition closes the session; the fetch is answered sessionless.
    res = await fetch(12, { sessionId: id, sessionEpoch: 6, topics: [], forgottenTopicsData: [{ topic: 'fs-b', partitions: [1] }] });
    assert.equal(res.errorCode, ErrorCode.NONE);
    assert.equal(res.sessionId, INVALID_SESSION_ID);
    assert.equal(b.broker.fetchSessions.get(id), undefined);
  });

  it('v13+: topics and forgotten topics by id; an unknown id is an error listed every time', async () => {
    const idA = await topicId('fs-a');
    const idB = await topicId('fs-b');
    const unknown = 'AAAAAAAAAAAAAAAAAAAAAQ';
    // fs-a-0 from its end (offset 2): only news is listed later.
    const full = await fetch(17, { sessionEpoch: 0, topics: [{ topicId: idA, partitions: [part(0, 2n)] }, { topicId: unknown, partitions: [part(0)] }] });
    assert.deepEqual(
      listed(full, 17).map(([t, p, e]) => [t, p, e]),
      [
        [idA, 0, ErrorCode.NONE],
        [unknown, 0, ErrorCode.UNKNOWN_TOPIC_ID],
      ],
    );
    const id = full.sessionId;
    let res = await fetch(17, { sessionId: id, sessionEpoch: 1, topics: [{ topicId: idB, partitions: [part(0)] }] });
    // Listed in the session's order: the unknown id (an error, every time), then the added partition.
    assert.deepEqual(
      listed(res, 17).map(([t, p, e]) => [t, p, e]),
      [
        [unknown, 0, ErrorCode.UNKNOWN_TOPIC_ID],
        [idB, 0, ErrorCode.NONE],
      ],
    );
    res = await fetch(17, { sessionId: id, sessionEpoch: 2, topics: [], forgottenTopicsData: [{ topicId: unknown, partitions: [0] }, { topicId: idB, partitions: [0] }] });
    assert.deepEqual(listed(res, 17), []);
    assert.deepEqual([...b.broker.fetchSessions.get(id)!.partitions.keys()], [partitionKey(idA, 0)]);
    await produce('fs-a', 0, 1);
    res = await fetch(17, { sessionId: id, sessionEpoch: 3, topics: [] });
    assert.deepEqual(listed(res, 17).map(([t, p, e, bytes]) => [t, p, e, bytes > 0]), [[idA, 0, ErrorCode.NONE, true]]);
    await fetch(17, { sessionId: id, sessionEpoch: -1, topics: [] });
  });

  it('a full fetch naming its session replaces it; epoch -1 without an id and v7 work as Kafka', async () => {
    const first = await fetch(12, { sessionEpoch: 0, topics: [{ topic: 'fs-a', partitions: [part(1)] }] });
    const second = await fetch(12, { sessionId: first.sessionId, sessionEpoch: 0, topics: [{ topic: 'fs-a', partitions: [part(2)] }] });
    assert.notEqual(second.sessionId, INVALID_SESSION_ID);
    assert.notEqual(second.sessionId, first.sessionId);
    assert.equal(b.broker.fetchSessions.get(first.sessionId), undefined, 'the old session was closed');
    assert.equal((await fetch(12, { sessionId: first.sessionId, sessionEpoch: 1, topics: [] })).errorCode, ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
    await fetch(12, { sessionId: second.sessionId, sessionEpoch: -1, topics: [] });

    const before = b.broker.fetchSessions.stats().sessions;
    const sessionless = await fetch(12, { sessionId: 0, sessionEpoch: -1, topics: [{ topic: 'fs-a', partitions: [part(1)] }] });
    assert.equal(sessionless.sessionId, INVALID_SESSION_ID);
    assert.deepEqual(names(sessionless), ['fs-a-1']);
    assert.equal(b.broker.fetchSessions.stats().sessions, before, 'no session for a sessionless fetch');
    // v4–6 have no session fields: always sessionless.
    const v6 = await fetch(6, { topics: [{ topic: 'fs-a', partitions: [part(1)] }] });
    assert.equal(v6.sessionId, 0);
    assert.equal(b.broker.fetchSessions.stats().sessions, before);

    // v7, the first version with sessions (not flexible).
    const v7 = await fetch(7, { sessionEpoch: 0, topics: [{ topic: 'fs-a', partitions: [part(1, 3n)] }] });
    assert.notEqual(v7.sessionId, INVALID_SESSION_ID);
    await produce('fs-a', 1, 1);
    const inc = await fetch(7, { sessionId: v7.sessionId, sessionEpoch: 1, topics: [] });
    assert.deepEqual(names(inc), ['fs-a-1']);
    await fetch(7, { sessionId: v7.sessionId, sessionEpoch: -1, topics: [] });
  });

  it('long polling over a session; a fetch overtaken by the next epoch gets INVALID_FETCH_SESSION_EPOCH', async () => {
    const hw = Number(b.broker.storage.offsets('fs-b', 1).highWatermark);
    const full = await fetch(12, { sessionEpoch: 0, topics: [{ topic: 'fs-b', partitions: [part(1, BigInt(hw))] }] });
    const id = full.sessionId;
    // Epoch 1 waits for data; produce wakes it with only the partition that got records.
    const waiting = fetch(12, { sessionId: id, sessionEpoch: 1, maxWaitMs: 5000, minBytes: 1, topics: [] });
    await new Promise((r) => setTimeout(r, 100));
    const t0 = Date.now();
    const other = await RawClient.connect(b.port);
    try {
      const producer = other;
      const batch = await encodeBatch({ records: [{ value: Buffer.from('wake') }] });
      await producer.request(ApiKey.Produce, 9, ProduceRequest, ProduceResponse, { acks: -1, timeoutMs: 1000, topicData: [{ name: 'fs-b', partitionData: [{ index: 1, records: batch }] }] });
      const woken = await waiting;
      assert.ok(Date.now() - t0 < 4000, 'woken by the produce, not by the timeout');
      assert.equal(woken.errorCode, ErrorCode.NONE);
      assert.deepEqual(names(woken), ['fs-b-1']);

      // Epoch 2 waits (nothing new: fetching from the new end); epoch 3 from another connection
      // overtakes it, so when epoch 2 answers, the session has moved on.
      const overtaken = fetch(12, { sessionId: id, sessionEpoch: 2, maxWaitMs: 600, minBytes: 1, topics: [{ topic: 'fs-b', partitions: [part(1, BigInt(hw + 1))] }] });
      await new Promise((r) => setTimeout(r, 100));
      const next = await fetch(12, { sessionId: id, sessionEpoch: 3, topics: [] }, other);
      assert.equal(next.errorCode, ErrorCode.NONE);
      const late = await overtaken;
      assert.equal(late.errorCode, ErrorCode.INVALID_FETCH_SESSION_EPOCH);
      assert.equal(late.sessionId, id, 'with the session id, as Kafka');
      assert.deepEqual(late.responses, []);
      await fetch(12, { sessionId: id, sessionEpoch: 4, topics: [] }, other);
      await fetch(12, { sessionId: id, sessionEpoch: -1, topics: [] }, other);
    } finally {
      other.close();
    }
  });

  it('max_bytes: partitions that returned records go to the end of the session, so every partition gets its turn', async () => {
    await b.broker.topics.create('fs-rot', 3, 1, {});
    for (let p = 0; p < 3; p++) await produce('fs-rot', p, 1);
    // max_bytes 1: only the first batch found is returned (KIP-74).
    const full = await fetch(12, { sessionEpoch: 0, maxBytes: 1, topics: [{ topic: 'fs-rot', partitions: [part(0), part(1), part(2)] }] });
    const withRecords = (res: FetchResponse) => listed(res, 12).filter(([, , , bytes]) => bytes > 0).map(([t, p]) => `${t}-${p}`);
    assert.deepEqual(withRecords(full), ['fs-rot-0']);
    const id = full.sessionId;
    let res = await fetch(12, { sessionId: id, sessionEpoch: 1, maxBytes: 1, topics: [{ topic: 'fs-rot', partitions: [part(0, 1n)] }] });
    assert.deepEqual(withRecords(res), ['fs-rot-1']);
    // New records on partition 1 again: partition 2 still comes first, partition 1 having moved to the end.
    await produce('fs-rot', 1, 1);
    res = await fetch(12, { sessionId: id, sessionEpoch: 2, maxBytes: 1, topics: [{ topic: 'fs-rot', partitions: [part(1, 1n)] }] });
    assert.deepEqual(withRecords(res), ['fs-rot-2']);
    assert.deepEqual([...b.broker.fetchSessions.get(id)!.partitions.keys()], ['fs-rot\u00000', 'fs-rot\u00001', 'fs-rot\u00002']);
    res = await fetch(12, { sessionId: id, sessionEpoch: 3, maxBytes: 1, topics: [{ topic: 'fs-rot', partitions: [part(2, 1n)] }] });
    assert.deepEqual(withRecords(res), ['fs-rot-1']);
    await fetch(12, { sessionId: id, sessionEpoch: -1, topics: [] });
  });

  it('the cache holds max.incremental.fetch.session.cache.slots sessions; then full fetches get none', async () => {
    const ids: number[] = [];
    const start = b.broker.fetchSessions.stats().sessions;
    for (let i = start; i < 4; i++) ids.push((await fetch(12, { sessionEpoch: 0, topics: [{ topic: 'fs-a', partitions: [part(0, 1n)] }] })).sessionId);
    assert.equal(b.broker.fetchSessions.stats().sessions, 4);
    assert.ok(ids.every((id) => id !== INVALID_SESSION_ID));
    // Every session is young: a fifth, even a larger one, finds no room and is answered without one.
    const none = await fetch(12, { sessionEpoch: 0, topics: [{ topic: 'fs-a', partitions: [part(0, 1n), part(1), part(2)] }] });
    assert.equal(none.errorCode, ErrorCode.NONE);
    assert.equal(none.sessionId, INVALID_SESSION_ID);
    assert.equal(listed(none, 12).length, 3, 'answered in full all the same');
    for (const id of ids) await fetch(12, { sessionId: id, sessionEpoch: -1, topics: [] });
    assert.equal(b.broker.fetchSessions.stats().sessions, start);
  });
});

describe('the fetch session cache (Kafka\'s eviction rules, with its own clock)', () => {
  const params = (topic: string, partition: number): FetchPartitionParams => ({
    key: partitionKey(topic, partition),
    topicKey: topic,
    partition,
    fetchOffset: 0n,
    maxBytes: 1000,
    currentLeaderEpoch: -1,
  });
  const session = (n: number, topic = 't') => Array.from({ length: n }, (_, i) => new CachedPartition(params(topic, i)));

  it('evicts the least recently used session once stale, else a smaller one past the eviction age', () => {
    let now = 1_000_000;
    const cache = new FetchSessionCache(2, () => now, 1000);
    const a = cache.maybeCreate(false, session(5));
    now += 10;
    const small = cache.maybeCreate(false, session(2));
    assert.ok(a !== 0 && small !== 0);
    // Full, nothing stale or old enough: no session, whatever its size.
    now += 10;
    assert.equal(cache.maybeCreate(false, session(10)), INVALID_SESSION_ID);
    // Past the eviction age (at their last use), the smallest session goes for a larger new one...
    now += 1500;
    const use = (id: number) => {
      const s = cache.get(id)!;
      const ctx = cache.newContext({ sessionId: id, epoch: s.epoch, usesTopicIds: false, fetchData: new Map(), toForget: [] });
      assert.equal(ctx.kind, 'incremental');
    };
    use(a);
    use(small);
    assert.equal(cache.maybeCreate(false, session(2)), INVALID_SESSION_ID, 'not for one of the same size');
    const big = cache.maybeCreate(false, session(3));
    assert.notEqual(big, INVALID_SESSION_ID);
    assert.equal(cache.get(small), undefined, 'the smaller session was evicted');
    assert.ok(cache.get(a));
    assert.equal(cache.stats().evictions, 1);
    // ...and a session unused for longer than the eviction age goes for any new one, larger or not.
    now += 500;
    use(big);
    now += 600; // a: unused for 1100 ms; big: 600 ms
    const tiny = cache.maybeCreate(false, session(1));
    assert.notEqual(tiny, INVALID_SESSION_ID);
    assert.equal(cache.get(a), undefined, 'the stale session was evicted');
    assert.deepEqual(cache.stats(), { sessions: 2, partitionsCached: 4, created: 4, evictions: 2, incrementalFetches: 3 });
  });

  it('no slots: no sessions', () => {
    const cache = new FetchSessionCache(0);
    assert.equal(cache.maybeCreate(false, session(3)), INVALID_SESSION_ID);
    assert.equal(cache.stats().sessions, 0);
  });

  it('epochs wrap from 2^31 - 1 to 1, and final stays final', () => {
    assert.equal(nextEpoch(0), 1);
    assert.equal(nextEpoch(41), 42);
    assert.equal(nextEpoch(2147483647), 1);
    assert.equal(nextEpoch(-1), -1);
  });

  it('the partition budget: a full fetch past it gets no session, an incremental one loses its session', () => {
    let now = 0;
    const cache = new FetchSessionCache(10, () => now, 1000, 6);
    const a = cache.maybeCreate(false, session(4, 'a'));
    assert.notEqual(a, INVALID_SESSION_ID);
    assert.equal(cache.maybeCreate(false, session(3, 'b')), INVALID_SESSION_ID, '4 + 3 > 6');
    const b2 = cache.maybeCreate(false, session(2, 'b'));
    assert.notEqual(b2, INVALID_SESSION_ID);
    assert.equal(cache.stats().partitionsCached, 6);
    // Adding a partition to a full budget: the session is closed, as if evicted.
    const ctx = cache.newContext({ sessionId: b2, epoch: 1, usesTopicIds: false, fetchData: new Map([[partitionKey('b', 9), params('b', 9)]]), toForget: [] });
    assert.deepEqual(ctx, { kind: 'error', errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND });
    assert.equal(cache.get(b2), undefined);
    assert.equal(cache.stats().partitionsCached, 4);
    // Updating partitions it already has costs nothing.
    const upd = cache.newContext({ sessionId: a, epoch: 1, usesTopicIds: false, fetchData: new Map([[partitionKey('a', 0), params('a', 0)]]), toForget: [] });
    assert.equal(upd.kind, 'incremental');
    // A stale session makes room for a new one past the budget.
    now += 2000;
    const c = cache.maybeCreate(false, session(5, 'c'));
    assert.notEqual(c, INVALID_SESSION_ID);
    assert.equal(cache.get(a), undefined);
    assert.equal(cache.stats().partitionsCached, 5);
  });
});
