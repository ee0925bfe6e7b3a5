/**
 * Golden bytes captured from independent encoders (test/fixtures/golden/, made by
 * scripts/capture-golden.ts; its README says how): requests exactly as the Apache Kafka Java client
 * 4.1.1 and librdkafka 2.0.2 sent them, responses exactly as Apache Kafka 4.1.1 answered.
 *
 * For every captured frame: the size prefix is the frame's length, Rafka's codecs decode the header
 * and the body consuming every byte, and encoding the decoded header and body gives the same bytes.
 * Record batches inside Produce requests and Fetch responses are decoded too (CRC-32C checked), and
 * a few facts of the run are checked against what the clients were told to send.
 *
 * The codecs skip tagged fields they do not know (KIP-482) instead of keeping them, so a capture
 * carrying one would fail the byte-for-byte check: rightly, since it means the codec lacks a field
 * the peer sends. None of the captures has one.
 *
 * No captured exchange is passed over in silence: a version Rafka's codecs do not have must be in
 * EXPECTED_MISSING (with the reason), and an entry there that has become decodable fails the test
 * until it is removed.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  API_SPECS,
  RequestHeader,
  ResponseHeader,
  requestHeaderVersion,
  responseHeaderVersion,
} from '../src/protocol/messages/index.js';
import type { Init, MessageCodec } from '../src/protocol/codec/message.js';
import { Reader } from '../src/protocol/codec/reader.js';
import { Writer } from '../src/protocol/codec/writer.js';
import { decodeBatches, type DecodedBatch } from '../src/protocol/records/record.js';

const GOLDEN_DIR = fileURLToPath(new URL('../../test/fixtures/golden/', import.meta.url));

/**
 * Captured `<client folder>/<key>-<Api>-v<version>` exchanges that Rafka's generated codecs cannot
 * decode yet, with the reason. Keep it empty when possible; never let a new capture land here
 * without saying why.
 */
const EXPECTED_MISSING: ReadonlyMap<string, string> = new Map<string, string>([]);

interface CapturedExchange {
  file: string;
  apiKey: number;
  api: string;
  apiVersion: number;
  clientId: string | null;
  correlationId: number;
  requestBytes: number;
  responseBytes: number;
  exchangesSeen: number;
}

interface Capture {
  captured: string;
  broker: string;
  client: string;
  exchanges: CapturedExchange[];
}

const clientDirs = readdirSync(GOLDEN_DIR)
  .filter((d) => statSync(path.join(GOLDEN_DIR, d)).isDirectory())
  .sort();

function loadCapture(dir: string): Capture {
  return JSON.parse(readFileSync(path.join(GOLDEN_DIR, dir, 'captured.json'), 'utf8')) as Capture;
}

/** Decode `frame` (size prefix, header, body), assert every byte is used, then re-encode it exactly. */
function roundTrip<H, B>(
  frame: Buffer,
  header: MessageCodec<H>,
  headerVersion: number,
  body: MessageCodec<B>,
  version: number,
): { header: H; body: B } {
  const r = new Reader(frame);
  assert.equal(r.int32(), frame.length - 4, 'size prefix');
  const h = header.decode(r, headerVersion);
  const b = body.decode(r, version);
  assert.equal(r.remaining, 0, `${body.name} v${version}: ${r.remaining} bytes not consumed`);

  const w = new Writer();
  w.int32(frame.length - 4);
  header.encode(w, h as Init<H>, headerVersion); // a decoded value is a complete Init
  body.encode(w, b as Init<B>, version);
  const ours = w.toBuffer();
  if (!ours.equals(frame)) {
    const at = [...frame].findIndex((byte, i) => ours[i] !== byte);
    assert.fail(
      `${body.name} v${version}: re-encoded bytes differ from the captured frame at byte ${at < 0 ? frame.length : at} ` +
        `(captured ${frame.length} bytes, re-encoded ${ours.length})\ncaptured:   ${frame.toString('hex')}\nre-encoded: ${ours.toString('hex')}`,
    );
  }
  return { header: h, body: b };
}

/** Every value under a key named `key`, anywhere in a decoded message. */
function valuesNamed(value: unknown, key: string, out: unknown[] = []): unknown[] {
  if (Array.isArray(value)) for (const v of value) valuesNamed(v, key, out);
  else if (value !== null && typeof value === 'object' && !Buffer.isBuffer(value)) {
    for (const [k, v] of Object.entries(value)) {
      if (k === key) out.push(v);
      valuesNamed(v, key, out);
    }
  }
  return out;
}

/** Every record batch in a decoded message's `records` fields, decoded with its CRC checked. */
async function recordBatches(message: unknown): Promise<DecodedBatch[]> {
  const out: DecodedBatch[] = [];
  for (const records of valuesNamed(message, 'records')) {
    if (records === null) continue;
    assert.ok(Buffer.isBuffer(records), 'a decoded records field is one buffer');
    out.push(...(await decodeBatches(records)));
  }
  return out;
}

const PRODUCE = 0;
const FETCH = 1;
const METADATA = 3;
const API_VERSIONS = 18;

/** The values the capture's producers wrote (scripts/GoldenClients.java and KCAT_STEPS). */
const PRODUCED_VALUE = /^(value-\d|in-a-transaction)$/;

async function checkExchange(dir: string, e: CapturedExchange): Promise<void> {
  const request = readFileSync(path.join(GOLDEN_DIR, dir, `${e.file}-request.bin`));
  const response = readFileSync(path.join(GOLDEN_DIR, dir, `${e.file}-response.bin`));
  assert.equal(request.length, e.requestBytes);
  assert.equal(response.length, e.responseBytes);
  const api = API_SPECS.get(e.apiKey);
  assert.ok(api !== undefined, `no codec for API key ${e.apiKey}`);
  assert.equal(api.name, e.api);

  const req = roundTrip(request, RequestHeader, requestHeaderVersion(e.apiKey, e.apiVersion), api.request, e.apiVersion);
  assert.deepEqual(req.header, {
    requestApiKey: e.apiKey,
    requestApiVersion: e.apiVersion,
    correlationId: e.correlationId,
    clientId: e.clientId,
  });
  const res = roundTrip(response, ResponseHeader, responseHeaderVersion(e.apiKey, e.apiVersion), api.response, e.apiVersion);
  assert.equal(res.header.correlationId, e.correlationId);

  // The frames also say what the clients were asked to do.
  if (e.apiKey === PRODUCE || e.apiKey === FETCH) {
    const batches = await recordBatches(e.apiKey === PRODUCE ? req.body : res.body);
    const values = batches.flatMap((b) => b.records.filter((r) => !b.header.isControl).map((r) => r.value?.toString('utf8')));
    assert.ok(values.length > 0, `${e.file}: no records`);
    for (const v of values) assert.match(v ?? '(null)', PRODUCED_VALUE);
  }
  if (e.apiKey === METADATA) {
    const hosts = valuesNamed(res.body, 'host');
    assert.ok(hosts.length > 0 && hosts.every((h) => h === '127.0.0.1'), `${e.file}: brokers ${JSON.stringify(hosts)}`);
  }
  if (e.apiKey === API_VERSIONS) {
    assert.equal((res.body as { errorCode: number }).errorCode, 0);
  }
}

test('the golden folder holds captures of both clients, and nothing the manifests do not list', () => {
  assert.deepEqual(clientDirs, ['kafka-clients-4.1.1', 'librdkafka-2.0.2']);
  for (const dir of clientDirs) {
    const capture = loadCapture(dir);
    const listed = capture.exchanges.flatMap((e) => [`${e.file}-request.bin`, `${e.file}-response.bin`]);
    const present = readdirSync(path.join(GOLDEN_DIR, dir)).filter((f) => f !== 'captured.json').sort();
    assert.deepEqual(present, listed.sort(), dir);
    for (const e of capture.exchanges) {
      assert.equal(e.file, `${String(e.apiKey).padStart(2, '0')}-${e.api}-v${e.apiVersion}`);
    }
  }
});

for (const dir of clientDirs) {
  const capture = loadCapture(dir);
  describe(`golden ${dir} (${capture.broker}, captured ${capture.captured})`, () => {
    for (const e of capture.exchanges) {
      const id = `${dir}/${e.file}`;
      const missing = EXPECTED_MISSING.get(id);
      const api = API_SPECS.get(e.apiKey);
      const decodable = api !== undefined && e.apiVersion >= api.request.minVersion && e.apiVersion <= api.request.maxVersion;
      if (missing !== undefined) {
        test(`${e.file}: expected missing (${missing})`, () => {
          assert.equal(decodable, false, `${id} is decodable now: remove it from EXPECTED_MISSING`);
        });
      } else {
        test(`${e.file} (${e.clientId}): request and response decode and re-encode byte for byte`, async () => {
          assert.ok(decodable, `${id}: Rafka has no codec for ${e.api} v${e.apiVersion}; add it to EXPECTED_MISSING with the reason, or regenerate the codecs`);
          await checkExchange(dir, e);
        });
      }
    }
  });
}
