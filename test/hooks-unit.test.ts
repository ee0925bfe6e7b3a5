/**
 * The hook system on its own (no broker, no sockets): lazy batches and what re-encoding keeps,
 * the runner's order, refusals, failures, timeouts, selectors and throttles, the error responses
 * for every API and version, the built-in hooks' logic, and loading hooks from specs and modules.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writer } from '../src/protocol/codec/writer.js';
import { Reader } from '../src/protocol/codec/reader.js';
import { encodeBatch, decodeBatch } from '../src/protocol/records/record.js';
import { validateBatches, readBatchHeader, TimestampType, verifyBatchCrc, type ValidatedBatch } from '../src/protocol/records/batch.js';
import { Compression, type CompressionType } from '../src/protocol/records/compression.js';
import { HANDLERS } from '../src/broker/api/index.js';
import { ErrorCode } from '../src/protocol/error-codes.js';
import { ConfigError, parseConfigText, loadConfig } from '../src/config/load.js';
import { DEFAULT_CONFIG } from '../src/config/defaults.js';
import type { RequestContext, ServedApi } from '../src/broker/handler.js';
import type { Logger } from '../src/broker/logger.js';
import { LazyBatch } from '../src/hooks/batch.js';
import { HookRunner, compileSelector } from '../src/hooks/runner.js';
import { createHooks } from '../src/hooks/load.js';
import { throttleTimeMs } from '../src/hooks/builtin/rate-limit.js';
import { SampledRate } from '../src/base/rates.js';
import { jsonSchemaHook } from '../src/hooks/builtin/json-schema.js';
import { redactHook } from '../src/hooks/builtin/redact.js';
import { auditResources, firstError } from '../src/hooks/builtin/audit-log.js';
import type { Hook } from '../src/hooks/types.js';

function memoryLog(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    error: (m) => lines.push(`ERROR ${m}`),
    warn: (m) => lines.push(`WARN ${m}`),
    info: (m) => lines.push(`INFO ${m}`),
    debug: (m) => lines.push(`DEBUG ${m}`),
  };
}

function fakeCtx(apiKey = 0, apiVersion = 9): RequestContext & { closed: string | null } {
  const ctx = {
    broker: { storage: { offsets: () => ({ logStartOffset: 0, highWatermark: 0 }) }, isClosing: false } as never,
    security: {} as never, // hooks see RequestScope only
    apiKey,
    apiVersion,
    correlationId: 7,
    clientId: 'unit-client',
    principal: 'User:unit',
    closed: null as string | null,
    connection: {
      remote: '10.0.0.1:5000',
      remoteAddress: '10.0.0.1',
      close(reason: string) {
        ctx.closed = reason;
      },
    },
  };
  return ctx;
}

/** The registry's entry for an API with a stand-in `handle` (its error response and throttle version stay the module's). */
function served(apiKey: number, handle: (req: any) => unknown): ServedApi {
  return { ...HANDLERS.get(apiKey)!, handle } as ServedApi;
}

function runner(hooks: Hook[], log = memoryLog(), timeoutMs = 200): HookRunner {
  return new HookRunner(hooks, { timeoutMs, log });
}

async function produced(opts: Parameters<typeof encodeBatch>[0]): Promise<ValidatedBatch> {
  return validateBatches(await encodeBatch(opts), { produceVersion: 9 })[0]!;
}

const records = (n: number) => Array.from({ length: n }, (_, i) => ({ key: Buffer.from(`k${i}`), value: Buffer.from(JSON.stringify({ i, secret: `s${i}` })), timestamp: 1_700_000_000_000 + i }));

describe('lazy batches', () => {
  test('header fields need no decoding; records() decodes once', async () => {
    const h = await produced({ records: records(3), compression: Compression.gzip });
    const b = new LazyBatch('t', 0, h, h.buffer, 'produce');
    assert.equal(b.recordCount, 3);
    assert.equal(b.compression, 'gzip');
    assert.equal(b.idempotent, false);
    assert.equal(b.isDecoded, false);
    const [a, again] = await Promise.all([b.records(), b.records()]);
    assert.equal(a, again);
    assert.equal(b.changed, false);
    assert.deepEqual(a!.map((r) => r.keyText()), ['k0', 'k1', 'k2']);
  });

  for (const [name, codec] of Object.entries(Compression) as [string, CompressionType][]) {
    test(`a changed ${name} batch is re-encoded with ${name}, its offsets and producer fields kept`, async () => {
      const src = await encodeBatch({ records: records(4), compression: codec, baseOffset: 1000, partitionLeaderEpoch: 3, producerId: 77, producerEpoch: 2, baseSequence: 40 });
      const b = new LazyBatch('t', 0, readBatchHeader(src), src, 'fetch');
      const rs = await b.records();
      rs[1]!.setHeader('stamp', 'yes');
      rs[2]!.value = Buffer.from('changed');
      const { bytes, recordCount } = await b.reencode();
      assert.equal(recordCount, 4);
      assert.ok(verifyBatchCrc(bytes!));
      const out = await decodeBatch(bytes!);
      assert.equal(out.header.compression, codec);
      assert.equal(out.header.baseOffset, 1000);
      assert.equal(out.header.partitionLeaderEpoch, 3);
      assert.equal(out.header.producerId, 77);
      assert.equal(out.header.producerEpoch, 2);
      assert.equal(out.header.baseSequence, 40);
      assert.deepEqual(out.records.map((r) => r.offset), [1000, 1001, 1002, 1003]);
      assert.deepEqual(out.records.map((r) => r.timestamp), [0, 1, 2, 3].map((i) => 1_700_000_000_000 + i));
      assert.equal(out.records[1]!.headers[0]!.key, 'stamp');
      assert.equal(out.records[2]!.value!.toString(), 'changed');
      assert.equal(out.records[3]!.value!.toString(), JSON.stringify({ i: 3, secret: 's3' }));
    });
  }

  test('fetch: dropped records leave offset gaps; the batch keeps its last offset', async () => {
    const src = await encodeBatch({ records: records(5), baseOffset: 50 });
    const b = new LazyBatch('t', 0, readBatchHeader(src), src, 'fetch');
    const rs = await b.records();
    rs[1]!.drop();
    rs[4]!.drop();
    const out = await decodeBatch((await b.reencode()).bytes!);
    assert.deepEqual(out.records.map((r) => r.offset), [50, 52, 53]);
    assert.equal(out.header.lastOffset, 54);
    assert.equal(out.header.recordCount, 3);
  });

  test('produce, not idempotent: drops renumber the batch; dropping all leaves nothing to write', async () => {
    const h = await produced({ records: records(4) });
    const b = new LazyBatch('t', 0, h, h.buffer, 'produce');
    const rs = await b.records();
    rs[0]!.drop();
    rs[2]!.drop();
    const out = await decodeBatch((await b.reencode()).bytes!);
    assert.deepEqual(out.records.map((r) => r.offsetDelta), [0, 1]);
    assert.equal(out.header.lastOffsetDelta, 1);
    assert.deepEqual(out.records.map((r) => r.key!.toString()), ['k1', 'k3']);
    rs[1]!.drop();
    rs[3]!.drop();
    assert.deepEqual(await b.reencode(), { bytes: null, recordCount: 0 });
  });

  test('produce, idempotent: drops keep offset deltas and lastOffsetDelta (sequence numbers stay consistent)', async () => {
    const h = await produced({ records: records(4), producerId: 9, producerEpoch: 0, baseSequence: 100 });
    const b = new LazyBatch('t', 0, h, h.buffer, 'produce');
    const rs = await b.records();
    rs[3]!.drop();
    const out = await decodeBatch((await b.reencode()).bytes!);
    assert.deepEqual(out.records.map((r) => r.offsetDelta), [0, 1, 2]);
    assert.equal(out.header.lastOffsetDelta, 3);
    assert.equal(out.header.baseSequence, 100);
    for (const r of rs) r.drop();
    const empty = await b.reencode();
    const eh = readBatchHeader(empty.bytes!);
    assert.equal(empty.recordCount, 0);
    assert.equal(eh.lastOffsetDelta, 3);
    assert.equal(eh.producerId, 9);
    assert.ok(verifyBatchCrc(empty.bytes!));
  });

  test('LogAppendTime batches keep the broker time and timestamp type', async () => {
    const src = await encodeBatch({ records: records(2), timestampType: TimestampType.logAppendTime, now: 1_800_000_000_000, baseOffset: 7 });
    const b = new LazyBatch('t', 0, readBatchHeader(src), src, 'fetch');
    (await b.records())[0]!.value = Buffer.from('x');
    const out = await decodeBatch((await b.reencode()).bytes!);
    assert.equal(out.header.timestampType, TimestampType.logAppendTime);
    assert.equal(out.header.maxTimestamp, 1_800_000_000_000);
    assert.equal(out.header.baseTimestamp, readBatchHeader(src).baseTimestamp);
  });
});

describe('the runner', () => {
  test('a stage no hook implements is null (the broker skips it entirely)', () => {
    const r = runner([{ name: 'only-after', afterProduce() {} }]);
    assert.equal(r.beforeProduce, null);
    assert.equal(r.beforeFetch, null);
    assert.equal(r.afterFetch, null);
    assert.equal(r.handle, null);
    assert.equal(r.onConnection, null);
    assert.equal(r.topicPolicy, null);
    assert.notEqual(r.afterProduce, null);
  });

  test('hooks run in order, each seeing the previous one\'s changes; the first refusal ends the stage', async () => {
    const seen: string[] = [];
    const r = runner([
      { name: 'a', async beforeProduce({ batch }) { seen.push('a'); for (const rec of await batch.records()) rec.setHeader('order', 'a'); } },
      { name: 'b', async beforeProduce({ batch }) { seen.push(`b saw ${(await batch.records())[0]!.header('order')}`); return { errorCode: ErrorCode.POLICY_VIOLATION, message: 'no' }; } },
      { name: 'c', beforeProduce() { seen.push('c'); } },
    ]);
    const h = await produced({ records: records(1) });
    const out = await r.beforeProduce!(fakeCtx(), 't', 0, h);
    assert.deepEqual(seen, ['a', 'b saw a']);
    assert.equal((out as { errorCode: number }).errorCode, ErrorCode.POLICY_VIOLATION);
    assert.equal((out as { errorMessage: string }).errorMessage, 'no');
  });

  test('a hook that never asks for records leaves the batch untouched (same object, no decode)', async () => {
    const r = runner([{ name: 'peek', beforeProduce({ batch }) { assert.equal(batch.recordCount, 2); } }]);
    const h = await produced({ records: records(2), compression: Compression.zstd });
    assert.equal(await r.beforeProduce!(fakeCtx(), 't', 0, h), h);
  });

  test('a refusal without a code is POLICY_VIOLATION; record errors carry batch indexes', async () => {
    const r = runner([{ name: 'p', beforeProduce: () => ({ message: 'nope', recordErrors: [{ index: 1, message: 'bad one' }] }) }]);
    const out = (await r.beforeProduce!(fakeCtx(), 't', 0, await produced({ records: records(2) }))) as any;
    assert.equal(out.errorCode, ErrorCode.POLICY_VIOLATION);
    assert.deepEqual(out.recordErrors, [{ batchIndex: 1, batchIndexErrorMessage: 'bad one' }]);
  });

  test('a throwing hook: UNKNOWN_SERVER_ERROR with the hook named, and one log line', async () => {
    const log = memoryLog();
    const r = runner([{ name: 'boom', beforeProduce() { throw new Error('kaput'); } }], log);
    const out = (await r.beforeProduce!(fakeCtx(), 't', 3, await produced({ records: records(1) }))) as any;
    assert.equal(out.errorCode, ErrorCode.UNKNOWN_SERVER_ERROR);
    assert.equal(out.errorMessage, 'hook "boom" (beforeProduce) failed: kaput');
    assert.equal(log.lines.filter((l) => l.startsWith('ERROR hook "boom" (beforeProduce) failed: kaput (t-3 from 10.0.0.1:5000')).length, 1);
  });

  test('a slow hook: REQUEST_TIMED_OUT after hook.timeout.ms, and its signal aborts', async () => {
    const log = memoryLog();
    let aborted: Promise<void> | null = null;
    const r = runner(
      [{ name: 'slow', beforeProduce(ctx) { aborted = new Promise((res) => ctx.signal.addEventListener('abort', () => res())); return new Promise(() => {}); } }],
      log,
      50,
    );
    const out = (await r.beforeProduce!(fakeCtx(), 't', 0, await produced({ records: records(1) }))) as any;
    assert.equal(out.errorCode, ErrorCode.REQUEST_TIMED_OUT);
    assert.match(out.errorMessage, /hook "slow" \(beforeProduce\) did not finish within hook\.timeout\.ms=50/);
    await aborted;
    assert.equal(log.lines.filter((l) => l.startsWith('WARN hook "slow"')).length, 1);
  });

  test('topic selectors: names, /regex/ strings, RegExp, functions; patterns match whole names', () => {
    const m = compileSelector(['orders', '/audit-.*/', /^pay(ments)?$/])!;
    assert.equal(m('orders'), true);
    assert.equal(m('orders2'), false);
    assert.equal(m('audit-x'), true);
    assert.equal(m('x-audit-x'), false);
    assert.equal(m('payments'), true);
    assert.equal(compileSelector(undefined), null);
    assert.equal(compileSelector((t) => t.length === 2)!('ab'), true);
  });

  test('hooks apply only to their topics', async () => {
    let calls = 0;
    const r = runner([{ name: 'orders-only', topics: 'orders', beforeProduce() { calls++; } }]);
    const h = await produced({ records: records(1) });
    await r.beforeProduce!(fakeCtx(), 'other', 0, h);
    await r.beforeProduce!(fakeCtx(), 'orders', 0, h);
    assert.equal(calls, 1);
  });

  test('a misspelt stage or a duplicate name is refused when the hook is registered', () => {
    assert.throws(() => runner([{ name: 'x', beforeProduct() {} } as Hook]), /unknown method "beforeProduct" \(did you mean "beforeProduce"\?\)/);
    assert.throws(() => runner([{ name: 'x' }, { name: 'x' }]), /two hooks are named "x"/);
    assert.throws(() => runner([{ name: '' } as Hook]), /non-empty string "name"/);
  });

  test('onRequest answers with an error response; onResponse sees it; apis limit where hooks run', async () => {
    const seen: string[] = [];
    const r = runner([
      { name: 'deny', apis: ['CreateTopics'], onRequest: () => ({ errorCode: ErrorCode.POLICY_VIOLATION, message: 'read-only cluster' }) },
      { name: 'watch', onResponse(ctx) { seen.push(`${ctx.apiName}:${JSON.stringify(ctx.response.topics?.[0]?.errorCode ?? null)}`); } },
    ]);
    let handled = 0;
    const handle = () => { handled++; return { topics: [] }; };
    const out = (await r.handle!(served(19, handle), { topics: [{ name: 'x', numPartitions: 1 }] }, fakeCtx(19, 7))) as any;
    assert.equal(handled, 0);
    assert.deepEqual(out.topics[0], { name: 'x', errorCode: ErrorCode.POLICY_VIOLATION, errorMessage: 'read-only cluster', numPartitions: -1, replicationFactor: -1, configs: null });
    await r.handle!(served(3, handle), {}, fakeCtx(3, 12));
    assert.equal(handled, 1);
    assert.deepEqual(seen, ['CreateTopics:44', 'Metadata:null']);
  });

  test('onRequest may rewrite the request; a refused acks=0 produce closes the connection', async () => {
    const r = runner([{ name: 'rw', onRequest: (ctx) => (ctx.request.acks === 0 ? { errorCode: ErrorCode.POLICY_VIOLATION } : { request: { ...ctx.request, rewritten: true } }) }]);
    let got: any = null;
    const handler = served(0, (req: unknown) => ((got = req), { responses: [] }));
    await r.handle!(handler, { acks: 1, topicData: [] }, fakeCtx());
    assert.equal(got.rewritten, true);
    const ctx = fakeCtx();
    assert.equal(await r.handle!(handler, { acks: 0, topicData: [] }, ctx), null);
    assert.match(ctx.closed!, /refused by a hook/);
  });

  test('a throttle is put in the response and mutes the connection (KIP-219); old versions are delayed', async () => {
    const r = runner([{ name: 'q', onRequest: () => ({ throttleTimeMs: 200 }) }]);
    const handler = served(0, () => ({ responses: [], throttleTimeMs: 0 }));
    const ctx = fakeCtx(0, 9);
    const t0 = Date.now();
    const out = (await r.handle!(handler, { acks: 1, topicData: [] }, ctx)) as any;
    assert.equal(out.throttleTimeMs, 200);
    assert.ok(Date.now() - t0 < 200, 'v9 answers at once');
    assert.equal(r.isMuted(ctx.connection), true);
    await r.handle!(handler, { acks: 1, topicData: [] }, ctx); // waits out the mute
    assert.ok(Date.now() - t0 >= 199, 'the next request waited for the mute'); // timers may fire 1 ms early by Date.now()
    const old = fakeCtx(0, 5);
    const t1 = Date.now();
    await r.handle!(handler, { acks: 1, topicData: [] }, old);
    assert.ok(Date.now() - t1 >= 199, 'v5 (before KIP-219) gets a delayed answer');
  });

  test('onTopicCreate adjusts configs and partitions or refuses with POLICY_VIOLATION', async () => {
    const r = runner([
      {
        name: 'policy',
        onTopicCreate(ctx) {
          if (ctx.topic.startsWith('tmp')) return { message: 'no temporary topics' };
          ctx.configs['retention.ms'] = '1000';
          ctx.partitions = Math.max(ctx.partitions, 3);
        },
      },
    ]);
    assert.deepEqual(await r.topicPolicy!.create({ name: 'a', partitions: 1, replicationFactor: 1, configs: {}, origin: 'create-topics' }), {
      partitions: 3,
      configs: { 'retention.ms': '1000' },
    });
    await assert.rejects(r.topicPolicy!.create({ name: 'tmp1', partitions: 1, replicationFactor: 1, configs: {}, origin: 'auto-create' }), (e: any) => e.errorCode === ErrorCode.POLICY_VIOLATION && e.message === 'no temporary topics');
  });

  test('afterFetch: fail closed — a throwing hook empties the partition and gives it the error', async () => {
    const r = runner([{ name: 'bad', afterFetch() { throw new Error('x'); } }]);
    const batch = await encodeBatch({ records: records(1), baseOffset: 0 });
    const data: any = { errorCode: 0, highWatermark: 1n, records: batch };
    await r.afterFetch!(fakeCtx(1, 12), [{ partitions: [{ topic: 't', partition: 0, fetchOffset: 0, maxBytes: 1000, errorCode: 0 }] }], [{ partitions: [data] }]);
    assert.equal(data.errorCode, ErrorCode.UNKNOWN_SERVER_ERROR);
    assert.equal(data.records.length, 0);
  });

  test('afterFetch: an emptied batch is dropped when another follows, kept (empty) when it is last', async () => {
    const r = runner([{ name: 'drop-odd', async afterFetch({ batches }) { for (const b of batches) for (const rec of await b.records()) if (rec.offset % 2 === 1) rec.drop(); } }]);
    const b1 = await encodeBatch({ records: records(1), baseOffset: 1 });
    const b2 = await encodeBatch({ records: records(1), baseOffset: 2 });
    const b3 = await encodeBatch({ records: records(1), baseOffset: 3 });
    const data: any = { errorCode: 0, highWatermark: 4n, records: [Buffer.concat([b1, b2]), b3] };
    await r.afterFetch!(fakeCtx(1, 12), [{ partitions: [{ topic: 't', partition: 0, fetchOffset: 1, maxBytes: 1 << 20, errorCode: 0 }] }], [{ partitions: [data] }]);
    const offsets = (data.records as Buffer[]).map((b) => [readBatchHeader(b).baseOffset, readBatchHeader(b).recordCount]);
    assert.deepEqual(offsets, [[2, 1], [3, 0]]);
  });
});

describe('error responses for refused requests', () => {
  const sampleRequest: Record<number, unknown> = {
    0: { acks: 1, topicData: [{ name: 't', topicId: 'AAAAAAAAAAAAAAAAAAAAAA', partitionData: [{ index: 0, records: null }] }] },
    1: { topics: [{ topic: 't', topicId: 'AAAAAAAAAAAAAAAAAAAAAA', partitions: [{ partition: 0 }] }] },
    2: { topics: [{ name: 't', partitions: [{ partitionIndex: 0 }] }] },
    3: { topics: [{ name: 't', topicId: 'AAAAAAAAAAAAAAAAAAAAAA' }] },
    8: { topics: [{ name: 't', partitions: [{ partitionIndex: 0 }] }] },
    9: { groups: [{ groupId: 'g' }], topics: [{ name: 't', partitionIndexes: [0] }] },
    10: { coordinatorKeys: ['g'] },
    11: { memberId: 'm' },
    15: { groups: ['g'] },
    19: { topics: [{ name: 't' }] },
    20: { topics: [{ name: 't', topicId: 'AAAAAAAAAAAAAAAAAAAAAA' }], topicNames: ['t'] },
    21: { topics: [{ name: 't', partitions: [{ partitionIndex: 0 }] }] },
    24: { v3AndBelowTopics: [{ name: 't', partitions: [0] }] },
    27: { markers: [{ producerId: 1n, producerEpoch: 0, transactionResult: true, topics: [{ name: 't', partitionIndexes: [0] }], coordinatorEpoch: 0 }] },
    28: { topics: [{ name: 't', partitions: [{ partitionIndex: 0 }] }] },
    30: { creations: [{ resourceType: 2, resourceName: 't', resourcePatternType: 3, principal: 'User:a', host: '*', operation: 3, permissionType: 3 }] },
    31: { filters: [{ resourceTypeFilter: 1, resourceNameFilter: null, patternTypeFilter: 1, principalFilter: null, hostFilter: null, operation: 1, permissionType: 1 }] },
    32: { resources: [{ resourceType: 2, resourceName: 't' }] },
    33: { resources: [{ resourceType: 2, resourceName: 't' }] },
    37: { topics: [{ name: 't' }] },
    42: { groupsNames: ['g'] },
    44: { resources: [{ resourceType: 2, resourceName: 't' }] },
    61: { topics: [{ name: 't', partitionIndexes: [0] }] },
    49: { entries: [{ entity: [{ entityType: 'user', entityName: 'u' }], ops: [] }] },
    51: { deletions: [{ name: 'u', mechanism: 1 }], upsertions: [] },
    65: { transactionalIds: ['tx'] },
    69: { groupIds: ['g'] },
    75: { topics: [{ name: 't' }] },
  };
  test('every served API has one, and it encodes at every served version', async () => {
    for (const h of HANDLERS.values()) {
      for (let v = h.minVersion; v <= h.maxVersion; v++) {
        const body = await h.errorResponse(sampleRequest[h.apiKey] ?? {}, v, ErrorCode.POLICY_VIOLATION, 'm');
        assert.ok(body, `${h.response.name} has no error form`);
        const w = new Writer();
        h.response.encode(w, body as never, v);
        const decoded = h.response.decode(new Reader(w.toBuffer()), v) as Record<string, unknown>;
        assert.notEqual(JSON.stringify(decoded, (_k, x) => (typeof x === 'bigint' ? String(x) : x)).indexOf('44'), -1, `${h.response.name} v${v} carries the code`);
      }
    }
  });
});

describe('built-in hooks', () => {
  test('rate: Kafka\'s windowed rate and throttle formula', () => {
    const rate = new SampledRate(11, 1000);
    rate.record(2_000_000, 0);
    assert.equal(rate.windowSize(0), 10_000); // at least samples - 1 windows
    assert.equal(rate.rate(0), 200_000);
    assert.equal(throttleTimeMs(rate.rate(0), 100_000, rate.windowSize(0), 11_000), 10_000);
    assert.equal(throttleTimeMs(50_000, 100_000, 10_000, 11_000), 0);
    rate.record(10, 11_500); // the first sample has left the window
    assert.equal(rate.rate(11_500), 1);
  });

  test('json-schema refuses the batch with one record error per invalid record', async () => {
    const hook = await jsonSchemaHook({ schema: { type: 'object', required: ['id'], properties: { id: { type: 'integer' } } } }, { baseDir: '.', log: memoryLog() });
    const h = await produced({ records: [{ value: Buffer.from('{"id":1}') }, { value: Buffer.from('{"id":"x"}') }, { value: Buffer.from('nope') }, { value: null }] });
    const out = (await runner([hook]).beforeProduce!(fakeCtx(), 'typed', 0, h)) as any;
    assert.equal(out.errorCode, ErrorCode.INVALID_RECORD);
    assert.equal(out.errorMessage, '2 of 4 record(s) fail the JSON Schema of topic typed; record 1: value/id must be integer');
    assert.equal(out.recordErrors.length, 2);
    assert.equal(out.recordErrors[0].batchIndex, 1);
    assert.equal(out.recordErrors[1].batchIndex, 2);
    assert.match(out.recordErrors[1].batchIndexErrorMessage, /^value is not JSON: /);
  });

  test('redact rewrites nested fields, arrays and wildcards; leaves non-JSON alone', async () => {
    const hook = await redactHook({ fields: ['card.number', 'items.price', 'secrets.*'] }, { baseDir: '.', log: memoryLog() });
    const value = { card: { number: '4111', name: 'A' }, items: [{ price: 1 }, { price: 2 }], secrets: { a: 1, b: 2 } };
    const src = await encodeBatch({ records: [{ value: Buffer.from(JSON.stringify(value)) }, { value: Buffer.from('plain') }], baseOffset: 0 });
    const data: any = { errorCode: 0, highWatermark: 2n, records: src };
    await runner([hook]).afterFetch!(fakeCtx(1, 12), [{ partitions: [{ topic: 't', partition: 0, fetchOffset: 0, maxBytes: 1 << 20, errorCode: 0 }] }], [{ partitions: [data] }]);
    const out = await decodeBatch((data.records as Buffer[])[0]!);
    assert.deepEqual(JSON.parse(out.records[0]!.value!.toString()), { card: { number: '***', name: 'A' }, items: [{ price: '***' }, { price: '***' }], secrets: { a: '***', b: '***' } });
    assert.equal(out.records[1]!.value!.toString(), 'plain');
  });

  test('audit summaries and the first error of a response', () => {
    const res = { responses: [{ name: 't', partitionResponses: [{ index: 0, errorCode: 87, baseOffset: -1n }] }] };
    assert.deepEqual(auditResources('Produce', { topicData: [{ name: 't', partitionData: [{ index: 0, records: Buffer.alloc(10) }] }] }, res), [
      { topic: 't', partition: 0, bytes: 10, errorCode: 87, baseOffset: '-1' },
    ]);
    assert.equal(firstError(res), 87);
    assert.equal(firstError({ topics: [{ errorCode: 0 }] }), 0);
  });
});

describe('loading hooks', () => {
  test('built-ins by name, modules by path with export and options, in the given order', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rafka-hooks-'));
    try {
      writeFileSync(
        join(dir, 'mine.mjs'),
        `export const factory = (options, ctx) => ({ name: 'mine-' + options.suffix, beforeProduce() {} });\nexport default { name: 'plain', afterProduce() {} };\n`,
      );
      const r = await createHooks(
        [
          { builtin: 'stamp-headers' },
          { module: './mine.mjs', export: 'factory', options: { suffix: 'x' }, baseDir: dir },
          { module: join(dir, 'mine.mjs') },
          { name: 'inline', beforeFetch() {} },
        ],
        { timeoutMs: 100, log: memoryLog() },
      );
      assert.deepEqual(r.names, ['stamp-headers', 'mine-x', 'plain', 'inline']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('problems are ConfigErrors naming the entry; hooks already opened are closed again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rafka-hooks-'));
    try {
      writeFileSync(join(dir, 'm.mjs'), `export const a = 1;\n`);
      const audit = join(dir, 'audit.jsonl');
      await assert.rejects(
        createHooks(
          [
            { builtin: 'audit-log', options: { path: audit } },
            { builtin: 'json-shema' },
            { module: './m.mjs', export: 'b', baseDir: dir },
            { builtin: 'redact', module: 'x' },
          ],
          { timeoutMs: 100, log: memoryLog() },
        ),
        (e: unknown) => {
          assert.ok(e instanceof ConfigError);
          assert.equal(
            e.message,
            [
              'hooks[1] (builtin json-shema): unknown built-in hook "json-shema" (built-ins: json-schema, stamp-headers, redact, audit-log, rate-limit)',
              'hooks[2] (module ./m.mjs): the module has no export "b" (exports: a)',
              'hooks[3] (builtin redact): give exactly one of "builtin" and "module"',
            ].join('\n'),
          );
          return true;
        },
      );
      assert.equal(readFileSync(audit, 'utf8'), '');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('hooks in rafka.yaml', () => {
  test('entries are read in order, with the file\'s directory for relative paths; hook.timeout.ms is a setting', () => {
    const out = parseConfigText(
      ['hook.timeout.ms: 250', 'hooks:', '  - builtin: json-schema', '    topics: [orders, "/audit-.*/"]', '    options: { schemaFile: s.json }', '  - module: ./m.js', '    export: x', '    apis: [Produce, 19]', ''].join('\n'),
      '/etc/rafka/rafka.yaml',
    );
    assert.equal(out.hookTimeoutMs, 250);
    assert.deepEqual(out.hooks, [
      { builtin: 'json-schema', topics: ['orders', '/audit-.*/'], options: { schemaFile: 's.json' }, baseDir: '/etc/rafka' },
      { module: './m.js', export: 'x', apis: ['Produce', 19], baseDir: '/etc/rafka' },
    ]);
    assert.equal(DEFAULT_CONFIG.hookTimeoutMs, 1000);
    assert.deepEqual(DEFAULT_CONFIG.hooks, []);
    assert.equal(loadConfig({ env: { RAFKA_HOOK_TIMEOUT_MS: '40' } }).hookTimeoutMs, 40);
  });

  test('mistakes are reported with their line and column', () => {
    const problems = (text: string) => {
      try {
        parseConfigText(text, 'r.yaml');
      } catch (e) {
        assert.ok(e instanceof ConfigError);
        return e.message;
      }
      return assert.fail('expected a ConfigError');
    };
    assert.equal(problems('hooks:\n  - builtin: json-shema\n'), 'r.yaml:2:14: hooks.0.builtin: must be one of json-schema, stamp-headers, redact, audit-log, rate-limit (got "json-shema")');
    assert.equal(problems('hooks:\n  - builtin: redact\n    module: ./x.js\n'), 'r.yaml:2:5: hooks.0: give exactly one of "builtin" and "module"');
    assert.equal(problems('hooks:\n  - module: ./x.js\n    topic: [a]\n'), 'r.yaml:3:5: hooks.0.topic: unknown key "topic" (did you mean "topics"?)');
    assert.equal(problems('hook.timeout.ms: 0\n'), 'r.yaml:1:18: hook.timeout.ms: must be >= 1 (got 0)');
  });
});
