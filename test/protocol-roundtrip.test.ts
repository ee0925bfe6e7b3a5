/**
 * Property tests for the generated codecs: every message (requests, responses, headers, data) at every
 * valid version. The arbitraries and the expected normal form are built here from the JSON specs
 * themselves, independently of the generator's output.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  inRange,
  isStructType,
  parseRange,
  camel,
  type FieldSpec,
  type MessageSpec,
} from '../scripts/gen-protocol.js';
import * as messages from '../src/protocol/messages/index.js';
import {
  API_SPECS,
  ApiKey,
  ApiVersionsRequest,
  ApiVersionsResponse,
  CreateTopicsRequest,
  FetchRequest,
  FetchResponse,
  MetadataRequest,
  ProduceRequest,
  RequestHeader,
  ResponseHeader,
  ListOffsetsRequest,
  requestHeaderVersion,
  responseHeaderVersion,
} from '../src/protocol/messages/index.js';
import type { MessageCodec } from '../src/protocol/codec/message.js';
import { Reader } from '../src/protocol/codec/reader.js';
import { Writer } from '../src/protocol/codec/writer.js';
import { DecodeError, EncodeError } from '../src/protocol/codec/errors.js';
import { ZERO_UUID } from '../src/protocol/codec/uuid.js';
import { SPECS as ALL_SPECS, SPECS_SKIP } from './helpers/specs.js';

type Obj = Record<string, unknown>;

test('Kafka message specs are present for the spec-driven property tests', { skip: SPECS_SKIP }, () => {
  assert.ok(ALL_SPECS.length > 180);
});
/** The specs that still have versions (Kafka 4 keeps removed APIs' specs with validVersions "none"; they have no codec). */
const SPECS = ALL_SPECS.filter((s) => s.validVersions !== 'none');
const NUM_RUNS = Number(process.env.RAFKA_FC_RUNS ?? 20);

function codecOf(spec: MessageSpec): MessageCodec<any> {
  const c = (messages as unknown as Record<string, MessageCodec<any>>)[spec.name];
  assert.ok(c, `no codec exported for ${spec.name}`);
  return c;
}

function versionsOf(spec: MessageSpec): number[] {
  const r = parseRange(spec.validVersions)!;
  const out: number[] = [];
  for (let v = r.lo; v <= r.hi; v++) out.push(v);
  return out;
}

function encode(codec: MessageCodec<any>, value: unknown, version: number): Buffer {
  const w = new Writer();
  codec.encode(w, value as never, version);
  return w.toBuffer();
}

/** Spec-driven model of one message: struct lookup, defaults, arbitraries and normalisation. */
class Model {
  private readonly common = new Map<string, FieldSpec[]>();
  constructor(readonly spec: MessageSpec) {
    for (const s of spec.commonStructs ?? []) this.common.set(s.name, s.fields);
  }

  base(f: FieldSpec): string {
    return f.type.startsWith('[]') ? f.type.slice(2) : f.type;
  }

  structFields(f: FieldSpec): FieldSpec[] {
    return f.fields ?? this.common.get(this.base(f))!;
  }

  isStruct(f: FieldSpec): boolean {
    return isStructType(this.base(f));
  }

  present(f: FieldSpec, v: number): boolean {
    return inRange(parseRange(f.versions), v);
  }

  nullableAt(f: FieldSpec, v: number): boolean {
    return inRange(parseRange(f.nullableVersions), v);
  }

  /** Nullable at some version the message still has (Kafka 4 dropped versions: ShareFetch's Records were nullable only at v0). */
  everNullable(f: FieldSpec): boolean {
    const n = parseRange(f.nullableVersions);
    const p = parseRange(f.versions);
    const m = parseRange(this.spec.validVersions);
    return n !== null && p !== null && m !== null && Math.max(n.lo, p.lo, m.lo) <= Math.min(n.hi, p.hi, m.hi);
  }

  defaultOf(f: FieldSpec): unknown {
    const d = f.default;
    if (f.type.startsWith('[]')) return d === 'null' ? null : [];
    if (this.isStruct(f)) return d === 'null' ? null : this.defaultStruct(this.structFields(f));
    switch (f.type) {
      case 'records':
        return this.everNullable(f) ? null : Buffer.alloc(0);
      case 'bytes':
        return d === 'null' ? null : Buffer.alloc(0);
      case 'string':
        return d === 'null' && this.everNullable(f) ? null : String(d ?? '');
      case 'uuid':
        return ZERO_UUID;
      case 'bool':
        return d === true || d === 'true';
      case 'int64':
        return BigInt(d ?? 0);
      default:
        return Number(d ?? 0);
    }
  }

  defaultStruct(fields: FieldSpec[]): Obj {
    const o: Obj = {};
    for (const f of fields) o[camel(f.name)] = this.defaultOf(f);
    return o;
  }

  /** The value the decoder must return for `value` encoded at version v. */
  normalise(fields: FieldSpec[], value: Obj, v: number): Obj {
    const o: Obj = {};
    for (const f of fields) {
      const p = camel(f.name);
      const x = value[p];
      if (!this.present(f, v) || x === undefined) o[p] = this.defaultOf(f);
      else if (x === null) o[p] = null;
      else if (this.isStruct(f)) {
        const sf = this.structFields(f);
        o[p] = f.type.startsWith('[]') ? (x as Obj[]).map((e) => this.normalise(sf, e, v)) : this.normalise(sf, x as Obj, v);
      } else if (f.type === 'records') {
        o[p] = Buffer.isBuffer(x) ? x : Buffer.concat(x as Buffer[]);
      } else if (Array.isArray(x)) o[p] = [...x];
      else o[p] = x;
    }
    return o;
  }

  primitive(type: string): fc.Arbitrary<unknown> {
    const bytes = fc.uint8Array({ maxLength: 8 }).map((b) => Buffer.from(b));
    switch (type) {
      case 'int8':
        return fc.integer({ min: -128, max: 127 });
      case 'int16':
        return fc.integer({ min: -32768, max: 32767 });
      case 'int32':
        return fc.integer({ min: -2147483648, max: 2147483647 });
      case 'uint16':
        return fc.integer({ min: 0, max: 65535 });
      case 'uint32':
        return fc.integer({ min: 0, max: 4294967295 });
      case 'int64':
        return fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
      case 'float64':
        return fc.double();
      case 'bool':
        return fc.boolean();
      case 'uuid':
        return fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Buffer.from(b).toString('base64url'));
      case 'string':
        return fc.string({ unit: 'binary', maxLength: 6 });
      case 'bytes':
        return bytes;
      case 'records':
        return fc.oneof(bytes, fc.array(bytes, { maxLength: 3 }));
      default:
        throw new Error(`unknown type ${type}`);
    }
  }

  /** A value for field f, valid when encoded at version v (garbage of the right type when absent). */
  field(f: FieldSpec, v: number): fc.Arbitrary<unknown> {
    const present = this.present(f, v);
    const isArray = f.type.startsWith('[]');
    let arb: fc.Arbitrary<unknown>;
    if (this.isStruct(f)) {
      const s = this.struct(this.structFields(f), v);
      arb = isArray ? fc.array(s, { maxLength: 2 }) : s;
    } else {
      const p = this.primitive(this.base(f));
      arb = isArray ? fc.array(p, { maxLength: 3 }) : p;
    }
    const nullable = present ? this.nullableAt(f, v) : this.everNullable(f);
    if (nullable) arb = fc.option(arb, { nil: null, freq: 3 });
    // Sometimes leave the field out: the encoder must write its default.
    return fc.option(arb, { nil: undefined, freq: 5 });
  }

  struct(fields: FieldSpec[], v: number): fc.Arbitrary<Obj> {
    const rec: Record<string, fc.Arbitrary<unknown>> = {};
    for (const f of fields) rec[camel(f.name)] = this.field(f, v);
    return fc.record(rec) as fc.Arbitrary<Obj>;
  }
}

for (const spec of SPECS) {
  test(`roundtrip ${spec.name} at every version`, () => {
    const codec = codecOf(spec);
    const model = new Model(spec);
    const vr = parseRange(spec.validVersions)!;
    assert.equal(codec.minVersion, vr.lo);
    assert.equal(codec.maxVersion, vr.hi);
    assert.equal(codec.flexibleMinVersion, parseRange(spec.flexibleVersions)?.lo ?? -1);
    for (const v of versionsOf(spec)) {
      fc.assert(
        fc.property(model.struct(spec.fields, v), (value) => {
          const bytes = encode(codec, value, v);
          const r = new Reader(bytes);
          const decoded = codec.decode(r, v);
          assert.equal(r.remaining, 0, `${spec.name} v${v}: ${r.remaining} bytes left after decode`);
          assert.deepStrictEqual(decoded, model.normalise(spec.fields, value, v));
          const again = encode(codec, decoded, v);
          assert.ok(again.equals(bytes), `${spec.name} v${v}: re-encoding the decoded value changed the bytes`);
        }),
        { numRuns: NUM_RUNS },
      );
    }
    assert.throws(() => codec.decode(new Reader(Buffer.alloc(64)), vr.hi + 1), DecodeError);
    assert.throws(() => codec.decode(new Reader(Buffer.alloc(64)), vr.lo - 1), DecodeError);
    assert.throws(() => encode(codec, {}, vr.hi + 1), EncodeError);
  });
}

function decodeOnlyThrowsDecodeError(codec: MessageCodec<any>, bytes: Buffer, v: number): boolean {
  try {
    codec.decode(new Reader(bytes), v);
    return true;
  } catch (e) {
    if (e instanceof DecodeError) return false;
    throw e;
  }
}

test('random bytes, mutations and truncations only ever throw DecodeError', () => {
  for (const spec of SPECS) {
    const codec = codecOf(spec);
    const model = new Model(spec);
    for (const v of versionsOf(spec)) {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 48 }), (b) => {
          decodeOnlyThrowsDecodeError(codec, Buffer.from(b), v);
        }),
        { numRuns: 10 },
      );
      for (const value of fc.sample(model.struct(spec.fields, v), 2)) {
        const bytes = encode(codec, value, v);
        // Every proper prefix is missing bytes the full decode reads, so it must fail.
        for (let n = 0; n < bytes.length; n++) {
          assert.equal(decodeOnlyThrowsDecodeError(codec, bytes.subarray(0, n), v), false, `${spec.name} v${v} prefix ${n}`);
        }
        if (bytes.length === 0) continue;
        fc.assert(
          fc.property(fc.nat(bytes.length - 1), fc.integer({ min: 0, max: 255 }), (at, byte) => {
            const m = Buffer.from(bytes);
            m[at] = byte;
            decodeOnlyThrowsDecodeError(codec, m, v);
          }),
          { numRuns: 10 },
        );
      }
    }
  }
});

// ---------------------------------------------------------------------------------------------
// Specific cases
// ---------------------------------------------------------------------------------------------

function hex(b: Buffer): string {
  return b.toString('hex');
}

test('unknown tagged fields are skipped, at top level and in nested structs', () => {
  // ApiVersionsRequest v3: compact ClientSoftwareName, compact ClientSoftwareVersion, tag section.
  const plain = encode(ApiVersionsRequest, { clientSoftwareName: 'a', clientSoftwareVersion: 'b' }, 3);
  assert.equal(hex(plain), '0261' + '0262' + '00');
  const withTags = Buffer.from('0261' + '0262' + '02' + '07' + '03' + 'aabbcc' + '2a' + '00', 'hex');
  const r = new Reader(withTags);
  assert.deepEqual(ApiVersionsRequest.decode(r, 3), { clientSoftwareName: 'a', clientSoftwareVersion: 'b' });
  assert.equal(r.remaining, 0);

  // MetadataRequest v9: topic element struct gets an unknown tag; the rest still decodes.
  const w = new Writer();
  w.compactArrayLength(1); // topics
  w.compactString('t'); // name (v9 has no TopicId)
  w.uvarint(1).uvarint(99).uvarint(2).raw(Buffer.from([1, 2])); // unknown tag 99 in the topic struct
  w.bool(true).bool(false).bool(true); // allowAutoTopicCreation, includeClusterAuthorizedOperations, includeTopicAuthorizedOperations
  w.uvarint(0);
  const buf = w.toBuffer();
  const r2 = new Reader(buf);
  const m = MetadataRequest.decode(r2, 9);
  assert.equal(r2.remaining, 0);
  assert.deepEqual(m.topics, [{ topicId: ZERO_UUID, name: 't' }]);
  assert.equal(m.allowAutoTopicCreation, true);
  assert.equal(m.includeTopicAuthorizedOperations, true);
});

test('every flexible message skips an unknown top-level tagged field', () => {
  let checked = 0;
  for (const spec of SPECS) {
    const codec = codecOf(spec);
    const model = new Model(spec);
    for (const v of versionsOf(spec)) {
      if (codec.flexibleMinVersion < 0 || v < codec.flexibleMinVersion) continue;
      // All defaults: no tagged field is written, so the body ends with an empty tag section (00).
      const plain = encode(codec, {}, v);
      assert.equal(plain[plain.length - 1], 0, `${spec.name} v${v}`);
      const w = new Writer();
      w.uvarint(2).uvarint(1000).uvarint(3).raw(Buffer.from('abcdef', 'hex')).uvarint(20000).uvarint(0);
      const withUnknown = Buffer.concat([plain.subarray(0, plain.length - 1), w.toBuffer()]);
      const r = new Reader(withUnknown);
      assert.deepStrictEqual(codec.decode(r, v), model.normalise(spec.fields, {}, v), `${spec.name} v${v}`);
      assert.equal(r.remaining, 0);
      checked++;
    }
  }
  assert.ok(checked > 100);
});

test('a known tagged field must fill exactly its declared size', () => {
  // FetchRequest v12 ClusterId is tag 0 (compact nullable string).
  const good = encode(FetchRequest, { clusterId: 'abc', replicaId: -1 }, 12);
  const decoded = FetchRequest.decode(new Reader(good), 12);
  assert.equal(decoded.clusterId, 'abc');
  // The top-level tag section is at the end: count 1, tag 0, size 4, then 04 'abc'.
  assert.equal(hex(good.subarray(good.length - 7)), '010004' + '04616263');
  const tooBig = Buffer.concat([good.subarray(0, good.length - 5), Buffer.from('05' + '04616263' + '00', 'hex')]);
  assert.throws(() => FetchRequest.decode(new Reader(tooBig), 12), DecodeError);
  const tooSmall = Buffer.concat([good.subarray(0, good.length - 5), Buffer.from('03' + '04616263', 'hex')]);
  assert.throws(() => FetchRequest.decode(new Reader(tooSmall), 12), DecodeError);
});

test('tagged fields are written only when they differ from the default', () => {
  const plain = encode(FetchResponse, { responses: [{ topicId: ZERO_UUID, partitions: [{ partitionIndex: 0 }] }] }, 12);
  const withLeader = encode(
    FetchResponse,
    { responses: [{ partitions: [{ partitionIndex: 0, currentLeader: { leaderId: 1, leaderEpoch: 5 } }] }] },
    12,
  );
  assert.ok(withLeader.length > plain.length);
  const sameAsDefault = encode(
    FetchResponse,
    { responses: [{ partitions: [{ partitionIndex: 0, currentLeader: { leaderId: -1, leaderEpoch: -1 } }] }] },
    12,
  );
  assert.ok(sameAsDefault.equals(plain));
  const d = FetchResponse.decode(new Reader(withLeader), 12);
  assert.deepEqual(d.responses[0]!.partitions[0]!.currentLeader, { leaderId: 1, leaderEpoch: 5 });
  assert.deepEqual(FetchResponse.decode(new Reader(plain), 12).responses[0]!.partitions[0]!.currentLeader, {
    leaderId: -1,
    leaderEpoch: -1,
  });
});

test('null and empty strings/arrays are distinct, flexible and not', () => {
  // ProduceRequest TransactionalId: nullable string from v3, compact from v9.
  const nul3 = encode(ProduceRequest, { transactionalId: null, topicData: [] }, 3);
  const empty3 = encode(ProduceRequest, { transactionalId: '', topicData: [] }, 3);
  assert.equal(hex(nul3.subarray(0, 2)), 'ffff');
  assert.equal(hex(empty3.subarray(0, 2)), '0000');
  assert.equal(ProduceRequest.decode(new Reader(nul3), 3).transactionalId, null);
  assert.equal(ProduceRequest.decode(new Reader(empty3), 3).transactionalId, '');
  const nul9 = encode(ProduceRequest, { transactionalId: null }, 9);
  const empty9 = encode(ProduceRequest, { transactionalId: '' }, 9);
  assert.equal(nul9[0], 0);
  assert.equal(empty9[0], 1);
  assert.equal(ProduceRequest.decode(new Reader(nul9), 9).transactionalId, null);
  assert.equal(ProduceRequest.decode(new Reader(empty9), 9).transactionalId, '');

  // MetadataRequest Topics: nullable array from v1 (null = all topics), compact from v9; not nullable in v0.
  const all1 = encode(MetadataRequest, { topics: null }, 1);
  const none1 = encode(MetadataRequest, { topics: [] }, 1);
  assert.equal(hex(all1), 'ffffffff');
  assert.equal(hex(none1), '00000000');
  assert.equal(MetadataRequest.decode(new Reader(all1), 1).topics, null);
  assert.deepEqual(MetadataRequest.decode(new Reader(none1), 1).topics, []);
  const all9 = encode(MetadataRequest, { topics: null }, 9);
  const none9 = encode(MetadataRequest, { topics: [] }, 9);
  assert.equal(all9[0], 0);
  assert.equal(none9[0], 1);
  assert.equal(MetadataRequest.decode(new Reader(all9), 9).topics, null);
  assert.deepEqual(MetadataRequest.decode(new Reader(none9), 9).topics, []);
  assert.throws(() => encode(MetadataRequest, { topics: null }, 0), EncodeError);
  assert.throws(() => MetadataRequest.decode(new Reader(Buffer.from('ffffffff', 'hex')), 0), DecodeError);
  // A non-nullable string refuses null both ways.
  assert.throws(() => encode(ProduceRequest, { topicData: [{ name: null as unknown as string }] }, 3), EncodeError);
  assert.throws(() => ProduceRequest.decode(new Reader(Buffer.from('ffff' + '0001' + '00000000' + '00000001' + 'ffff', 'hex')), 3), DecodeError);
});

test('int64 fields are bigints', () => {
  const bytes = encode(ListOffsetsRequest, {
    replicaId: -1,
    topics: [{ name: 't', partitions: [{ partitionIndex: 0, timestamp: -2n }] }],
  }, 1);
  const d = ListOffsetsRequest.decode(new Reader(bytes), 1);
  assert.equal(typeof d.topics[0]!.partitions[0]!.timestamp, 'bigint');
  assert.equal(d.topics[0]!.partitions[0]!.timestamp, -2n);
  const big = 2n ** 63n - 1n;
  const b2 = encode(ListOffsetsRequest, { topics: [{ name: 't', partitions: [{ timestamp: big }] }] }, 1);
  assert.equal(ListOffsetsRequest.decode(new Reader(b2), 1).topics[0]!.partitions[0]!.timestamp, big);
});

test('header versions: ApiVersions responses always use header v0 (KIP-511)', () => {
  for (let v = 0; v <= 4; v++) assert.equal(responseHeaderVersion(ApiKey.ApiVersions, v), 0);
  assert.equal(requestHeaderVersion(ApiKey.ApiVersions, 3), 2);
  assert.equal(requestHeaderVersion(ApiKey.ApiVersions, 2), 1);
  assert.equal(requestHeaderVersion(ApiKey.Produce, 9), 2);
  assert.equal(requestHeaderVersion(ApiKey.Produce, 8), 1);
  assert.equal(responseHeaderVersion(ApiKey.Produce, 9), 1);
  assert.equal(responseHeaderVersion(ApiKey.Produce, 8), 0);
  assert.equal(responseHeaderVersion(ApiKey.Metadata, 12), 1);
  assert.equal(requestHeaderVersion(ApiKey.SaslHandshake, 1), 1);
  // An ApiVersions response at v3 with header v0: just the correlation id, no tag section.
  const w = new Writer();
  ResponseHeader.encode(w, { correlationId: 7 }, responseHeaderVersion(ApiKey.ApiVersions, 3));
  assert.equal(hex(w.toBuffer()), '00000007');
  const w1 = new Writer();
  ResponseHeader.encode(w1, { correlationId: 7 }, 1);
  assert.equal(hex(w1.toBuffer()), '0000000700');
  // Request header v2: ClientId stays an int16-length string, then a tag section.
  const w2 = new Writer();
  RequestHeader.encode(w2, { requestApiKey: 18, requestApiVersion: 3, correlationId: 1, clientId: 'ab' }, 2);
  assert.equal(hex(w2.toBuffer()), '0012' + '0003' + '00000001' + '0002' + '6162' + '00');
  const w3 = new Writer();
  RequestHeader.encode(w3, { requestApiKey: 18, requestApiVersion: 3, correlationId: 1, clientId: null }, 2);
  assert.equal(hex(w3.toBuffer()), '0012000300000001ffff00');
  assert.equal(RequestHeader.decode(new Reader(w3.toBuffer()), 2).clientId, null);
});

test('API registry', () => {
  assert.equal(API_SPECS.size, 89);
  assert.equal(ApiKey.Produce, 0);
  assert.equal(ApiKey.Fetch, 1);
  assert.equal(ApiKey.ApiVersions, 18);
  assert.equal(ApiKey.ReadShareGroupStateSummary, 87);
  assert.equal(ApiKey.DeleteShareGroupOffsets, 92);
  assert.equal(API_SPECS.has(4), false, 'LeaderAndIsr was removed in Kafka 4');
  const produce = API_SPECS.get(0)!;
  assert.equal(produce.name, 'Produce');
  assert.equal(produce.request, ProduceRequest);
  assert.equal(produce.minVersion, 3);
  assert.equal(produce.maxVersion, 13);
  assert.equal(produce.flexibleMinVersion, 9);
  assert.equal(produce.latestVersionUnstable, false);
  assert.deepEqual(produce.listeners, ['broker']);
  assert.equal(API_SPECS.get(17)!.flexibleMinVersion, -1);
  assert.equal(API_SPECS.get(26)!.latestVersionUnstable, false);
  assert.equal(API_SPECS.get(8)!.latestVersionUnstable, true, 'OffsetCommit v10 (topic ids) is unstable in 4.1');
  assert.equal(API_SPECS.get(18)!.response, ApiVersionsResponse);
  for (const [key, s] of API_SPECS) {
    assert.equal(s.apiKey, key);
    assert.equal(s.request.apiKey, key);
    assert.equal(s.response.apiKey, key);
    assert.equal(s.request.maxVersion, s.response.maxVersion);
  }
});

test('a hostile array count fails with DecodeError without allocating', () => {
  const before = process.memoryUsage().arrayBuffers;
  // CreateTopicsRequest v0: Topics array count 0x7fffffff followed by a few bytes.
  const hostile = Buffer.from('7fffffff' + '0001' + '61', 'hex');
  assert.throws(() => CreateTopicsRequest.decode(new Reader(hostile), 0), DecodeError);
  // Compact form (v5): uvarint count+1 = 0xffffffff.
  const hostileCompact = Buffer.from('ffffffff0f' + '0261', 'hex');
  assert.throws(() => CreateTopicsRequest.decode(new Reader(hostileCompact), 5), DecodeError);
  // An int32 array ([]int32 replicas) with a count that needs more bytes than remain.
  const w = new Writer();
  w.arrayLength(1).string('t').int32(1).int16(1).arrayLength(1).int32(0).arrayLength(1000).int32(5);
  assert.throws(() => CreateTopicsRequest.decode(new Reader(w.toBuffer()), 0), DecodeError);
  // Many tagged fields claimed, none present.
  assert.throws(() => ApiVersionsRequest.decode(new Reader(Buffer.from('0100' + '0100' + 'ffffffff0f', 'hex')), 3), DecodeError);
  assert.ok(process.memoryUsage().arrayBuffers - before < 16 * 1024 * 1024);
});

test('records accept a list of buffers and decode to one Buffer', () => {
  const a = Buffer.from('0102', 'hex');
  const b = Buffer.from('030405', 'hex');
  for (const v of [3, 9]) {
    const bytes = encode(ProduceRequest, { acks: -1, timeoutMs: 1000, topicData: [{ name: 't', partitionData: [{ index: 0, records: [a, b] }] }] }, v);
    const d = ProduceRequest.decode(new Reader(bytes), v);
    const rec = d.topicData[0]!.partitionData[0]!.records;
    assert.ok(Buffer.isBuffer(rec));
    assert.equal(hex(rec), '0102030405');
    assert.equal(d.acks, -1);
  }
});
