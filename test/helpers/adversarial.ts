/**
 * Hostile inputs whose cost to the broker is far beyond their size on the wire, and a watch that
 * measures what they do to a broker process from outside it. Used by test/adversarial-*.test.ts and
 * scripts/attack.ts.
 *
 * - amplifiedRequests(): for every served API, at its lowest and highest version, and for each of
 *   its arrays (top level, and one level down: topics → partitions), a request whose array holds as
 *   many minimal elements as fit in a few MiB. Element shapes are found from the codecs themselves
 *   (an element is tried as a struct of defaults, then as each primitive), so a new API or version
 *   is covered without editing this file.
 * - headerBomb() / recordBomb(): compressed batches of a few KiB that unpack to one record with
 *   millions of empty headers, or to millions of tiny records.
 * - Watch: a healthy client in its own process sending ApiVersions every `everyMs` (its worst
 *   latency), and the broker process's VmRSS sampled from /proc (its peak; VmHWM at the end).
 */
import { readFileSync } from 'node:fs';
import { Writer } from '../../src/protocol/codec/writer.js';
import { API_SPECS, RequestHeader, requestHeaderVersion } from '../../src/protocol/messages/index.js';
import type { MessageCodec } from '../../src/protocol/codec/message.js';
import { Reader } from '../../src/protocol/codec/reader.js';
import { ZERO_UUID } from '../../src/protocol/codec/uuid.js';
import { supportedApiVersions } from '../../src/broker/api/index.js';
import { crc32c } from '../../src/protocol/records/crc32c.js';
import { Compression, compress, type CompressionType } from '../../src/protocol/records/compression.js';
import { spawn, type ChildProcess } from 'node:child_process';
import assert from 'node:assert/strict';
import { RawClient } from './raw-client.js';
import { apiVersionsOk } from './robust.js';
import { fileURLToPath } from 'node:url';

const HEALTHY_CLIENT = fileURLToPath(new URL('./healthy-client.js', import.meta.url));

/** One amplified request: what it is, and its frame (size prefix included). */
export interface Amplified {
  name: string;
  apiKey: number;
  version: number;
  elements: number;
  frame: Buffer;
}

/** Bytes of wire each amplified request aims at (its array's elements fill about this much). */
export const AMPLIFIED_TARGET_BYTES = 4 * 1024 * 1024;
/** Elements per amplified array, at most. */
export const AMPLIFIED_MAX_ELEMENTS = 3_000_000;

type Obj = Record<string, unknown>;
const CANDIDATES: unknown[] = [{}, 0, '', 0n, false, ZERO_UUID];

function encodeBody(codec: MessageCodec<unknown>, body: unknown, version: number): Buffer | null {
  try {
    const w = new Writer();
    codec.encode(w, body as never, version);
    return w.toBuffer();
  } catch {
    return null;
  }
}

function decodeBody(codec: MessageCodec<unknown>, bytes: Buffer, version: number): Obj | null {
  try {
    return codec.decode(new Reader(bytes), version) as Obj;
  } catch {
    return null;
  }
}

/** The request with the array at `path` holding `elements`, everything else its default. */
function withArray(path: string[], elements: unknown[]): Obj {
  const root: Obj = {};
  let at = root;
  for (let i = 0; i < path.length - 1; i++) {
    const next: Obj = {};
    at[path[i]!] = [next];
    at = next;
  }
  at[path[path.length - 1]!] = elements;
  return root;
}

/** A minimal element that the array at `path` accepts (and the request decodes again), or undefined. */
function minimalElement(codec: MessageCodec<unknown>, version: number, path: string[]): unknown {
  for (const c of CANDIDATES) {
    const bytes = encodeBody(codec, withArray(path, [c]), version);
    if (bytes !== null && decodeBody(codec, bytes, version) !== null) return c;
  }
  return undefined;
}

/** Names of the array fields of `o`. */
function arrayFields(o: Obj | null): string[] {
  return o === null ? [] : Object.keys(o).filter((k) => Array.isArray(o[k]));
}

function frameOf(apiKey: number, version: number, body: Buffer, correlationId: number): Buffer {
  const w = new Writer();
  w.int32(0);
  RequestHeader.encode(w, { requestApiKey: apiKey, requestApiVersion: version, correlationId, clientId: 'adversary' }, requestHeaderVersion(apiKey, version));
  w.raw(body);
  const frame = w.toBuffer();
  frame.writeInt32BE(frame.length - 4, 0);
  return frame;
}

/**
 * Every (API, version, array) of the served APIs as an amplified request (see the file comment):
 * with as many elements as fill `targetBytes`, or, when `elements` is given, with that many (to
 * drive the handlers just under the broker's element limit).
 */
export function* amplifiedRequests(targetBytes = AMPLIFIED_TARGET_BYTES, elements?: number): Generator<Amplified> {
  let correlationId = 1;
  for (const api of supportedApiVersions()) {
    const spec = API_SPECS.get(api.apiKey);
    if (spec === undefined) continue;
    const codec = spec.request as MessageCodec<unknown>;
    const versions = [...new Set([Math.max(api.minVersion, codec.minVersion), api.maxVersion])];
    for (const version of versions) {
      const empty = encodeBody(codec, {}, version);
      if (empty === null) continue;
      const paths: string[][] = arrayFields(decodeBody(codec, empty, version)).map((f) => [f]);
      for (const top of [...paths]) {
        const el = minimalElement(codec, version, top);
        if (el === undefined || typeof el !== 'object') continue;
        const one = decodeBody(codec, encodeBody(codec, withArray(top, [el]), version)!, version);
        const inner = (one?.[top[0]!] as Obj[] | undefined)?.[0] ?? null;
        for (const f of arrayFields(inner)) paths.push([...top, f]);
      }
      for (const path of paths) {
        const el = minimalElement(codec, version, path);
        if (el === undefined) continue;
        const size1 = encodeBody(codec, withArray(path, [el]), version)!.length;
        const size2 = encodeBody(codec, withArray(path, [el, el]), version)!.length;
        const perElement = Math.max(1, size2 - size1);
        const n = elements ?? Math.min(AMPLIFIED_MAX_ELEMENTS, Math.floor(targetBytes / perElement));
        const body = encodeBody(codec, withArray(path, new Array(n).fill(el)), version);
        if (body === null) continue;
        yield { name: `${codec.name} v${version} ${path.join('.')}[${n}]`, apiKey: api.apiKey, version, elements: n, frame: frameOf(api.apiKey, version, body, correlationId++) };
      }
    }
  }
}

// ---- record batches that expand --------------------------------------------------------------------

function writeVarint(out: number[], v: number): void {
  let u = ((v << 1) ^ (v >> 31)) >>> 0;
  while (u >= 0x80) {
    out.push((u & 0x7f) | 0x80);
    u >>>= 7;
  }
  out.push(u);
}

/** A v2 batch around already-encoded (and compressed) records; CRC computed. */
export function rawBatch(records: Buffer, recordCount: number, compression: CompressionType, opts: { timestamp?: number } = {}): Buffer {
  const ts = opts.timestamp ?? Date.now();
  const b = Buffer.alloc(61 + records.length);
  b.writeBigInt64BE(0n, 0);
  b.writeInt32BE(b.length - 12, 8);
  b.writeInt32BE(-1, 12);
  b.writeInt8(2, 16);
  b.writeInt16BE(compression, 21);
  b.writeInt32BE(recordCount - 1, 23);
  b.writeBigInt64BE(BigInt(ts), 27);
  b.writeBigInt64BE(BigInt(ts), 35);
  b.writeBigInt64BE(-1n, 43);
  b.writeInt16BE(-1, 51);
  b.writeInt32BE(-1, 53);
  b.writeInt32BE(recordCount, 57);
  records.copy(b, 61);
  b.writeUInt32BE(crc32c(b.subarray(21)), 17);
  return b;
}

/**
 * One record (key "k", no value) with `headers` empty headers (2 bytes each), compressed: the
 * issue's attack uses 60 million (120 MB unpacked, a few KiB packed).
 */
export async function headerBomb(headers: number, compression: CompressionType = Compression.zstd): Promise<Buffer> {
  const head: number[] = [];
  head.push(0); // attributes
  writeVarint(head, 0); // timestamp delta (varlong, same encoding for 0)
  writeVarint(head, 0); // offset delta
  writeVarint(head, 1); // key length
  head.push(0x6b); // "k"
  writeVarint(head, -1); // value null
  writeVarint(head, headers);
  const bodyLength = head.length + headers * 2;
  const len: number[] = [];
  writeVarint(len, bodyLength);
  const raw = Buffer.alloc(len.length + bodyLength);
  Buffer.from([...len, ...head]).copy(raw, 0);
  for (let i = len.length + head.length; i < raw.length; i += 2) raw[i + 1] = 0x01; // key "" (0), value null (-1)
  return rawBatch(await compress(compression, raw), 1, compression);
}

/** `count` minimal records (key "k", null value, `headers` empty headers each), compressed. */
export async function recordBomb(count: number, headers = 0, compression: CompressionType = Compression.zstd): Promise<Buffer> {
  // Length 7 + 2 per header (zig-zag doubled): attributes, timestamp delta, offset delta (0 for all:
  // the decoder does not care), key length 1, "k", value null, the header count, empty headers.
  if (headers > 63) throw new RangeError('at most 63 headers per record here (one-byte varints)');
  const rec = Buffer.from([(7 + 2 * headers) * 2, 0, 0, 0, 2, 0x6b, 1, headers * 2, ...new Array<number>(headers).fill(0).flatMap(() => [0, 1])]);
  const raw = Buffer.alloc(rec.length * count);
  for (let i = 0; i < count; i++) rec.copy(raw, i * rec.length);
  return rawBatch(await compress(compression, raw), count, compression);
}

/** One record (key "k") whose value is `valueBytes` zero bytes, compressed: valid, and large unpacked. */
export async function bigValueBatch(valueBytes: number, compression: CompressionType = Compression.zstd): Promise<Buffer> {
  const head: number[] = [0, 0, 0];
  writeVarint(head, 1);
  head.push(0x6b);
  writeVarint(head, valueBytes);
  const tail = [0]; // no headers
  const len: number[] = [];
  writeVarint(len, head.length + valueBytes + tail.length);
  const raw = Buffer.alloc(len.length + head.length + valueBytes + tail.length);
  Buffer.from([...len, ...head]).copy(raw, 0);
  return rawBatch(await compress(compression, raw), 1, compression);
}

// ---- watching a broker process ---------------------------------------------------------------------

function procStatus(pid: number, field: 'VmRSS' | 'VmHWM'): number | null {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

export interface WatchReport {
  /** Highest VmRSS sampled, and VmHWM (the kernel's own peak) at the end; null without /proc. */
  peakRssBytes: number | null;
  hwmBytes: number | null;
  /** Healthy requests answered, and their worst and median round trip. */
  answered: number;
  worstLatencyMs: number;
  medianLatencyMs: number;
  /** A healthy request failed (connection closed or no answer within `timeoutMs`). */
  failures: string[];
}

/** A healthy client (its own process: healthy-client.ts) and an RSS sampler, started by start(). */
export class Watch {
  private stopped = false;
  private peak: number | null = null;
  private latencies: number[] = [];
  private failures: string[] = [];
  private sampler: Promise<void> | null = null;
  private client: ChildProcess | null = null;
  private clientExited: Promise<void> | null = null;

  constructor(
    private readonly pid: number,
    private readonly port: number,
    private readonly everyMs = 100,
    private readonly timeoutMs = 10_000,
  ) {}

  async start(): Promise<void> {
    this.sampler = this.sample();
    const child = spawn(process.execPath, [HEALTHY_CLIENT, String(this.port), String(this.everyMs), String(this.timeoutMs)], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.client = child;
    this.clientExited = new Promise((resolve) => child.on('exit', () => resolve()));
    let buffered = '';
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout!.on('data', (d: Buffer) => {
      buffered += d.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        if (line.startsWith('fail ')) this.failures.push(line.slice(5));
        else this.latencies.push(Number(line));
      }
    });
    void this.clientExited.then(() => {
      if (!this.stopped && this.failures.length === 0) this.failures.push(`the healthy client exited: ${stderr}`);
    });
    // Started once it has its first answer.
    const deadline = Date.now() + 10_000;
    while (this.latencies.length === 0 && this.failures.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  }

  private async sample(): Promise<void> {
    while (!this.stopped) {
      const rss = procStatus(this.pid, 'VmRSS');
      if (rss !== null) this.peak = Math.max(this.peak ?? 0, rss);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Worst round trip so far (ms). */
  get worstLatencyMs(): number {
    return this.latencies.length === 0 ? 0 : Math.max(...this.latencies);
  }

  async stop(): Promise<WatchReport> {
    if (!this.stopped) {
      this.stopped = true;
      this.client?.kill('SIGKILL');
      await this.clientExited;
      await this.sampler;
    }
    const sorted = [...this.latencies].sort((a, b) => a - b);
    return {
      peakRssBytes: this.peak,
      hwmBytes: procStatus(this.pid, 'VmHWM'),
      answered: sorted.length,
      worstLatencyMs: sorted.length === 0 ? 0 : sorted[sorted.length - 1]!,
      medianLatencyMs: sorted.length === 0 ? 0 : sorted[Math.floor(sorted.length / 2)]!,
      failures: this.failures,
    };
  }
}

/** Bounds the adversarial suites hold a broker to (the attack script's are tighter: 1 GiB, 1 s). */
export const SUITE_RSS_BOUND_BYTES = 768 * 1024 * 1024;
/** Generous: CI runs two test files at once on 2 cores. */
export const SUITE_LATENCY_BOUND_MS = 2000;

/** One line of figures for a test's diagnostics or the attack script's output. */
export function describeReport(r: WatchReport): string {
  return `broker peak RSS ${mib(r.peakRssBytes)} (VmHWM ${mib(r.hwmBytes)}); healthy client: ${r.answered} answers, median ${r.medianLatencyMs.toFixed(1)} ms, worst ${r.worstLatencyMs.toFixed(0)} ms`;
}

/**
 * Stop the watch, report its figures through `diagnostic`, and assert the suite's bounds: no healthy
 * request failed or waited too long, the broker's peak RSS stayed under the bound, it still answers.
 */
export async function checkWatch(watch: Watch, port: number, diagnostic: (m: string) => void): Promise<void> {
  const report = await watch.stop();
  diagnostic(describeReport(report));
  assert.deepEqual(report.failures, []);
  assert.ok(report.worstLatencyMs < SUITE_LATENCY_BOUND_MS, `healthy client waited ${report.worstLatencyMs.toFixed(0)} ms`);
  if (report.hwmBytes !== null) assert.ok(report.hwmBytes < SUITE_RSS_BOUND_BYTES, `broker peak RSS ${mib(report.hwmBytes)}`);
  const c = await RawClient.connect(port);
  try {
    assert.ok(await apiVersionsOk(c), 'the broker still answers');
  } finally {
    c.close();
  }
}

export function mib(bytes: number | null): string {
  return bytes === null ? 'n/a' : `${(bytes / 1048576).toFixed(0)} MiB`;
}
