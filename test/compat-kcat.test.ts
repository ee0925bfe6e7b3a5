/**
 * Real-client compatibility: kcat (librdkafka) produces and consumes through the broker, and every
 * key, value, header, partition and offset must come back exactly as sent. Covers null/empty keys
 * and values, multi-byte UTF-8, a ~100 KB value, every compression codec, an idempotent producer,
 * many small batches, metadata (-L) and offsets by timestamp (-Q).
 *
 * Skipped when kcat is not on PATH, unless RAFKA_REQUIRE_CLIENTS=1 (CI), which makes that a failure.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import type { RunningBroker } from '../src/broker/index.js';
import { testBroker } from './helpers/broker.js';
import { findKcat, requireClient, run, skipUnless } from './helpers/external.js';

const kcat = findKcat();

/** One message as kcat's JSON consumer prints it (headers flattened name, value, name, value...). */
interface Msg {
  key: string | null;
  payload: string | null;
  headers: (string | null)[];
}

interface KcatJsonMessage {
  topic: string;
  partition: number;
  offset: number;
  tstype: string;
  ts: number;
  headers?: (string | null)[];
  key: string | null;
  payload: string | null;
}

const CODECS = [
  ['snappy', 2],
  ['lz4', 3],
  ['gzip', 1],
  ['zstd', 4],
] as const;

/** ~100 KB of mixed one- to four-byte UTF-8, no newline (kcat's message delimiter). */
function bigValue(): string {
  const unit = 'abcdefghij:0123456789-ü-€-😀-';
  let s = '';
  while (Buffer.byteLength(s) < 100_000) s += unit;
  return s;
}

/** Parse the header fields of a stored magic-v2 record batch. */
function batchInfo(batch: Buffer): { baseOffset: number; codec: number; producerId: bigint; baseSequence: number; count: number } {
  return {
    baseOffset: Number(batch.readBigInt64BE(0)),
    codec: batch.readInt16BE(21) & 0x07,
    producerId: batch.readBigInt64BE(43),
    baseSequence: batch.readInt32BE(53),
    count: batch.readInt32BE(57),
  };
}

describe('kcat (librdkafka) compatibility', { skip: skipUnless(kcat), timeout: 60_000 }, () => {
  let b: RunningBroker;
  const topic = `kcat-compat-${randomBytes(4).toString('hex')}`;
  /** What was produced to each partition, in order: offsets must be 0, 1, 2... */
  const expected = new Map<number, Msg[]>([
    [0, []],
    [1, []],
    [2, []],
  ]);
  /** What kcat consumed, filled by the consume test and used by the later ones. */
  const consumed = new Map<number, KcatJsonMessage[]>();

  before(async () => {
    requireClient(kcat);
    b = await testBroker();
    const kafka = new Kafka({ clientId: 'compat-kcat-admin', brokers: [b.bootstrap], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    try {
      assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true }), true);
    } finally {
      await admin.disconnect();
    }
  });

  after(async () => {
    await b?.close();
  });

  /**
   * Produce `lines` (`key:value` per line; kcat's -K:) to one partition in one kcat run and record what
   * the consumer must see. `nullEmpty` is kcat's -Z: an empty key or value is sent as null.
   */
  async function produce(partition: number, lines: string[], headers: string[], extra: string[] = [], nullEmpty = false): Promise<void> {
    const args = ['-P', '-b', b.bootstrap, '-t', topic, '-p', String(partition), '-K:', '-m', '10'];
    for (const h of headers) args.push('-H', h);
    if (nullEmpty) args.push('-Z');
    args.push(...extra);
    await run(kcat.command, args, { input: `${lines.join('\n')}\n`, timeoutMs: 20_000 });
    const flatHeaders: (string | null)[] = [];
    for (const h of headers) {
      const eq = h.indexOf('=');
      if (eq < 0) flatHeaders.push(h, null);
      else flatHeaders.push(h.slice(0, eq), h.slice(eq + 1));
    }
    for (const line of lines) {
      const colon = line.indexOf(':');
      let key: string | null = colon < 0 ? null : line.slice(0, colon);
      let payload: string | null = colon < 0 ? line : line.slice(colon + 1);
      if (nullEmpty && key === '') key = null;
      if (nullEmpty && payload === '') payload = null;
      expected.get(partition)!.push({ key, payload, headers: flatHeaders });
    }
  }

  async function consume(partition: number, extra: string[] = ['-o', 'beginning']): Promise<KcatJsonMessage[]> {
    const r = await run(kcat.command, ['-C', '-b', b.bootstrap, '-t', topic, '-p', String(partition), '-e', '-J', '-q', '-m', '10', ...extra], {
      timeoutMs: 20_000,
    });
    return r.stdout
      .toString('utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as KcatJsonMessage);
  }

  async function queryOffset(partition: number, timestamp: number): Promise<number> {
    const r = await run(kcat.command, ['-Q', '-b', b.bootstrap, '-t', `${topic}:${partition}:${timestamp}`, '-J', '-m', '10'], { timeoutMs: 20_000 });
    const out = JSON.parse(r.stdout.toString('utf8')) as Record<string, Record<string, { partition: number; offset: number; err?: string }>>;
    const entry = out[topic]?.[String(partition)];
    assert.ok(entry, `kcat -Q answer has no ${topic}[${partition}]: ${r.stdout.toString('utf8')}`);
    assert.equal(entry.err, undefined, `kcat -Q ${topic}:${partition}:${timestamp}: ${entry.err}`);
    return entry.offset;
  }

  it('produces keyed messages with headers, null/empty keys and values, UTF-8 and a 100 KB value', async () => {
    await produce(
      0,
      [
        'key-a:value-a',
        'key-empty-value:',
        'line-without-key-delimiter',
        ':empty-key',
        'ключ:héllo wörld — 日本語 🎉 𝄞',
        'key-colons:value:with:colons',
        `big:${bigValue()}`,
        'after-big:tail',
      ],
      ['h1=v1', 'utf8-hdr=värde ✓ 日本', 'empty=', 'null-header', 'eq=a=b', 'h1=duplicate'],
    );
    await produce(0, ['null-value:', ':null-key', 'both:set'], ['run=nulls'], [], true);
    // Partition 1: an idempotent producer, then a plain one sending many small batches.
    const idem = Array.from({ length: 50 }, (_, i) => `idem-${i}:value-${i}`);
    await produce(1, idem, ['run=idempotent'], ['-X', 'enable.idempotence=true']);
    const small = Array.from({ length: 120 }, (_, i) => `batch-${i}:v${i}`);
    await produce(1, small, [], ['-X', 'batch.num.messages=7', '-X', 'linger.ms=20']);
    // Partition 2: one run per compression codec, with compressible values.
    for (const [codec] of CODECS) {
      const lines = Array.from({ length: 5 }, (_, i) => `${codec}-${i}:${`${codec} compressible `.repeat(200)}${i}`);
      await produce(2, lines, [`codec=${codec}`], ['-z', codec]);
    }
  });

  it('consumes every message back with the same key, value, headers, partition and offset', async () => {
    for (const [partition, want] of expected) {
      const got = await consume(partition);
      consumed.set(partition, got);
      assert.equal(got.length, want.length, `partition ${partition}: consumed ${got.length} messages, produced ${want.length}`);
      got.forEach((m, i) => {
        const where = `partition ${partition} offset ${i}`;
        assert.equal(m.topic, topic, where);
        assert.equal(m.partition, partition, where);
        assert.equal(m.offset, i, `${where}: offsets must be consecutive from 0`);
        assert.equal(m.tstype, 'create', where);
        assert.ok(Math.abs(m.ts - Date.now()) < 120_000, `${where}: timestamp ${m.ts} is not the producer's clock`);
        assert.deepEqual({ key: m.key, payload: m.payload, headers: m.headers ?? [] }, want[i], where);
      });
    }
    // The 100 KB value survived byte for byte (deepEqual above), and is really that big.
    assert.ok(Buffer.byteLength(consumed.get(0)!.find((m) => m.key === 'big')!.payload!) >= 100_000);
  });

  it('starts a consumer in the middle of a compressed batch at the exact offset', async () => {
    const got = await consume(2, ['-o', '7', '-c', '5']);
    assert.deepEqual(
      got.map((m) => [m.offset, m.key]),
      [7, 8, 9, 10, 11].map((o) => [o, expected.get(2)![o]!.key]),
    );
  });

  /** The stored batches of a partition (white-box: what kcat really sent). */
  async function storedBatches(partition: number) {
    return (await b.broker.storage.read(topic, partition, 0, 64 * 1024 * 1024, true)).batches.map(batchInfo);
  }

  // Each kcat -z run must reach the broker compressed with that codec. librdkafka silently sends a
  // batch uncompressed when it decides from ApiVersions that the broker lacks the codec, so these
  // tests check the stored batches' attributes, not only the round trip.
  // (librdkafka enables LZ4 only when the broker also advertises FindCoordinator: rdkafka_feature.c.)
  for (const [codec, id] of CODECS) {
    it(`stores kcat's -z ${codec} batches compressed with ${codec}`, async () => {
      const first = expected.get(2)!.findIndex((m) => m.key === `${codec}-0`);
      const batches = (await storedBatches(2)).filter((x) => x.baseOffset >= first && x.baseOffset < first + 5);
      assert.ok(batches.length >= 1);
      assert.deepEqual(
        batches.map((x) => x.codec),
        batches.map(() => id),
        `codec ids of the batches holding offsets ${first}-${first + 4} (0 = none: librdkafka decided not to compress; run kcat with -d msg to see why)`,
      );
    });
  }

  it('stores the idempotent run with a producer id and sequences, the plain run without, in small batches', async () => {
    const p1 = await storedBatches(1);
    const idem = p1.filter((x) => x.baseOffset < 50);
    const plain = p1.filter((x) => x.baseOffset >= 50);
    assert.ok(idem.length >= 1 && idem.every((x) => x.producerId >= 0n), 'the enable.idempotence=true run wrote batches with a producer id');
    assert.equal(idem[0]!.baseSequence, 0);
    let next = 0;
    for (const x of idem) {
      assert.equal(x.baseSequence, next, 'sequences continue batch to batch');
      next += x.count;
    }
    assert.ok(plain.every((x) => x.producerId === -1n), 'the plain run wrote batches without a producer id');
    assert.ok(plain.length >= Math.ceil(120 / 7), `batch.num.messages=7 should give at least 18 batches, got ${plain.length}`);
  });

  it('lists the topic and the broker in metadata (-L)', async () => {
    for (const args of [[], ['-t', topic]]) {
      const r = await run(kcat.command, ['-L', '-J', '-b', b.bootstrap, '-m', '10', ...args], { timeoutMs: 20_000 });
      const md = JSON.parse(r.stdout.toString('utf8')) as {
        controllerid: number;
        brokers: { id: number; name: string }[];
        topics: { topic: string; error?: string; partitions: { partition: number; leader: number; replicas: { id: number }[]; isrs: { id: number }[] }[] }[];
      };
      assert.deepEqual(md.brokers, [{ id: 1, name: `${b.host}:${b.port}` }]);
      assert.equal(md.controllerid, 1);
      const t = md.topics.find((x) => x.topic === topic);
      assert.ok(t, `topic ${topic} missing from kcat -L ${args.join(' ')}`);
      assert.equal(t.error, undefined);
      assert.deepEqual(
        [...t.partitions].sort((x, y) => x.partition - y.partition),
        [0, 1, 2].map((p) => ({ partition: p, leader: 1, replicas: [{ id: 1 }], isrs: [{ id: 1 }] })),
      );
    }
  });

  it('finds offsets by timestamp (-Q)', async () => {
    const p2 = consumed.get(2);
    assert.ok(p2 && p2.length === 20, 'needs the consume test to have run');
    const firstAtOrAfter = (ts: number) => p2.find((m) => m.ts >= ts)?.offset ?? -1;
    const lz4First = p2.find((m) => m.key === 'lz4-0')!;
    const zstdLast = p2[p2.length - 1]!;
    for (const ts of [p2[0]!.ts, lz4First.ts, lz4First.ts - 1, zstdLast.ts]) {
      assert.equal(await queryOffset(2, ts), firstAtOrAfter(ts), `partition 2, timestamp ${ts}`);
    }
    assert.equal(await queryOffset(2, zstdLast.ts + 1), -1, 'a timestamp after every message has no offset');
    assert.equal(await queryOffset(2, -2), 0, 'earliest');
    assert.equal(await queryOffset(2, -1), 20, 'latest');
    assert.equal(await queryOffset(0, -1), expected.get(0)!.length, 'latest of partition 0');
  });
});
