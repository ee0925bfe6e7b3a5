/**
 * Record batches of a few KiB that unpack to millions of records or headers, sent to every place
 * the broker decodes records: a compacted topic (keys checked at produce), a topic whose
 * `compression.type` re-encodes batches, a topic with timestamp bounds, a hook that reads records,
 * ListOffsets by timestamp and the log cleaner reading a stored batch. Also the per-request
 * decompression budget: three batches in one request that unpack to 100 MB each.
 *
 * Against a broker process (log engine), measured from outside: each produce is answered within a
 * bound with the partition's error (INVALID_RECORD / MESSAGE_TOO_LARGE) and nothing stored, a
 * healthy client is answered throughout, the broker stays under a memory bound.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startBrokerProcess, stop, type BrokerProcess } from './helpers/broker-process.js';
import { RawClient, decodeResponse } from './helpers/raw-client.js';
import { bigValueBatch, checkWatch, headerBomb, recordBomb, Watch } from './helpers/adversarial.js';
import { createTopic, sleep } from './helpers/robust.js';
import { ApiKey } from '../src/protocol/messages/index.js';
import { ProduceRequest, ProduceResponse } from '../src/protocol/messages/produce.js';
import { ListOffsetsRequest, ListOffsetsResponse } from '../src/protocol/messages/list-offsets.js';
import { IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse } from '../src/protocol/messages/incremental-alter-configs.js';
import { ErrorCode } from '../src/protocol/error-codes.js';
import { Compression } from '../src/protocol/records/compression.js';
import { encodeBatch } from '../src/protocol/records/record.js';

const ANSWER_BOUND_MS = 20_000;
const onLinux = process.platform === 'linux';

async function produceMany(port: number, parts: { topic: string; partition: number; records: Buffer }[]): Promise<{ ms: number; codes: number[] }> {
  const c = await RawClient.connect(port);
  try {
    const byTopic = new Map<string, { index: number; records: Buffer }[]>();
    for (const p of parts) {
      if (!byTopic.has(p.topic)) byTopic.set(p.topic, []);
      byTopic.get(p.topic)!.push({ index: p.partition, records: p.records });
    }
    const t0 = performance.now();
    const frame = c.frame(ApiKey.Produce, 9, ProduceRequest, { acks: -1, timeoutMs: 30_000, topicData: [...byTopic].map(([name, partitionData]) => ({ name, partitionData })) });
    c.write(frame);
    const answer = await c.readFrame(ANSWER_BOUND_MS);
    assert.ok(answer !== null, 'the produce is answered, not closed');
    const res = decodeResponse(answer, ApiKey.Produce, 9, ProduceResponse);
    return { ms: performance.now() - t0, codes: res.responses.flatMap((t) => t.partitionResponses.map((p) => p.errorCode)) };
  } finally {
    c.close();
  }
}

async function logEnd(port: number, topic: string, partition: number, timestamp = -1n): Promise<{ errorCode: number; offset: bigint }> {
  const c = await RawClient.connect(port);
  try {
    const res = await c.request(ApiKey.ListOffsets, 7, ListOffsetsRequest, ListOffsetsResponse, {
      replicaId: -1,
      isolationLevel: 0,
      topics: [{ name: topic, partitions: [{ partitionIndex: partition, timestamp, currentLeaderEpoch: -1 }] }],
    });
    const p = res.topics[0]!.partitions[0]!;
    return { errorCode: p.errorCode, offset: p.offset };
  } finally {
    c.close();
  }
}

test('record batches that expand, at every place records are decoded', { skip: !onLinux && 'reads /proc', timeout: 300_000 }, async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rafka-adversarial-records-'));
  const config = path.join(dir, 'rafka.yaml');
  // A hook that reads every produced record (stamp-headers adds headers to each).
  writeFileSync(config, 'hooks:\n  - builtin: stamp-headers\n    topics: [hooked]\n');
  let b: BrokerProcess | null = null;
  const watchers: Watch[] = [];
  try {
    b = await startBrokerProcess(['--config', config, '--storage', 'log', '--data-dir', path.join(dir, 'data'), '--log-level', 'error'], {
      env: { RAFKA_LOG_RETENTION_CHECK_INTERVAL_MS: '300' },
    });
    const admin = await RawClient.connect(b.port);
    await createTopic(admin, 'compacted', 3, [{ name: 'cleanup.policy', value: 'compact' }]);
    await createTopic(admin, 'recoded', 1, [{ name: 'compression.type', value: 'gzip' }]);
    await createTopic(admin, 'bounded', 1, [{ name: 'message.timestamp.before.max.ms', value: '3600000' }]);
    await createTopic(admin, 'hooked', 1);
    await createTopic(admin, 'plain', 1, [{ name: 'internal.segment.bytes', value: '1024' }]);
    admin.close();

    // Built before the watch starts: building them stalls this process, not the broker.
    const headers60M = await headerBomb(60_000_000);
    const headers1M = await headerBomb(1_000_000);
    const records20M = await recordBomb(20_000_000);
    const recordsAndHeaders = await recordBomb(300_000, 1); // 600,000 records + headers: past the limit while decoding
    const big = await bigValueBatch(100 * 1024 * 1024);
    t.diagnostic(`batches on the wire: 60M headers ${headers60M.length} B, 20M records ${records20M.length} B, 300k records + headers ${recordsAndHeaders.length} B, 100 MB value ${big.length} B`);

    const watch = new Watch(b.child.pid!, b.port);
    watchers.push(watch);
    await watch.start();

    const cases: [string, { topic: string; partition: number; records: Buffer }[], number[]][] = [
      ['compacted: one record with 60M headers', [{ topic: 'compacted', partition: 0, records: headers60M }], [ErrorCode.INVALID_RECORD]],
      // 120 MB unpacked each: the third is past the request's 256 MiB budget and is not unpacked.
      ['compacted: three of them in one request', [0, 1, 2].map((p) => ({ topic: 'compacted', partition: p, records: headers60M })), [ErrorCode.INVALID_RECORD, ErrorCode.INVALID_RECORD, ErrorCode.MESSAGE_TOO_LARGE]],
      ['compacted: 20M records', [{ topic: 'compacted', partition: 0, records: records20M }], [ErrorCode.INVALID_RECORD]],
      ['compacted: 300k records with a header each', [{ topic: 'compacted', partition: 0, records: recordsAndHeaders }], [ErrorCode.INVALID_RECORD]],
      ['compression.type=gzip: 60M headers', [{ topic: 'recoded', partition: 0, records: headers60M }], [ErrorCode.INVALID_RECORD]],
      ['timestamp bounds: 300k records with a header each', [{ topic: 'bounded', partition: 0, records: recordsAndHeaders }], [ErrorCode.INVALID_RECORD]],
      ['hook reading records: 1M headers', [{ topic: 'hooked', partition: 0, records: headers1M }], [ErrorCode.INVALID_RECORD]],
      [
        'compacted: three 100 MB batches in one request (the per-request decompression budget)',
        [0, 1, 2].map((p) => ({ topic: 'compacted', partition: p, records: big })),
        [ErrorCode.NONE, ErrorCode.NONE, ErrorCode.MESSAGE_TOO_LARGE],
      ],
    ];
    for (const [name, parts, expected] of cases) {
      const { ms, codes } = await produceMany(b.port, parts);
      t.diagnostic(`${name}: answered in ${ms.toFixed(0)} ms with ${codes.join(', ')} (healthy worst so far ${watch.worstLatencyMs.toFixed(0)} ms)`);
      assert.deepEqual(codes, expected, name);
    }
    // Nothing of the refused batches was stored.
    assert.equal((await logEnd(b.port, 'recoded', 0)).offset, 0n);
    assert.equal((await logEnd(b.port, 'bounded', 0)).offset, 0n);
    assert.equal((await logEnd(b.port, 'hooked', 0)).offset, 0n);

    // A plain topic stores batches without decoding them; decoding happens later. ListOffsets by
    // timestamp, then the cleaner once the topic turns compacted (a later batch rolls the 1 KiB
    // segment so the bomb's segment can be cleaned).
    const stored = await produceMany(b.port, [{ topic: 'plain', partition: 0, records: headers60M }]);
    assert.deepEqual(stored.codes, [ErrorCode.NONE]);
    const byTime = await logEnd(b.port, 'plain', 0, 0n);
    assert.equal(byTime.errorCode, ErrorCode.INVALID_RECORD);
    const c = await RawClient.connect(b.port);
    const altered = await c.request(ApiKey.IncrementalAlterConfigs, 1, IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse, {
      resources: [{ resourceType: 2, resourceName: 'plain', configs: [{ name: 'cleanup.policy', configOperation: 0, value: 'compact' }] }],
      validateOnly: false,
    });
    assert.equal(altered.responses[0]!.errorCode, ErrorCode.NONE);
    c.close();
    const filler = await encodeBatch({ records: [{ key: Buffer.from('k'), value: Buffer.alloc(2048) }], compression: Compression.none });
    assert.deepEqual((await produceMany(b.port, [{ topic: 'plain', partition: 0, records: filler }])).codes, [ErrorCode.NONE]);
    // The cleaner reads the bomb's (now inactive) segment, refuses it and says so; the broker goes on.
    const cleanerRefused = () => /log maintenance of plain-0 failed: .*record headers are more than/.test(b!.stderr());
    for (let i = 0; i < 100 && !cleanerRefused(); i++) await sleep(100);
    assert.ok(cleanerRefused(), `the cleaner met the stored batch; stderr: ${b.stderr().slice(-2000)}`);

    await checkWatch(watch, b.port, (m) => t.diagnostic(m));
  } finally {
    for (const w of watchers) await w.stop().catch(() => {});
    if (b) await stop(b);
    rmSync(dir, { recursive: true, force: true });
  }
});
