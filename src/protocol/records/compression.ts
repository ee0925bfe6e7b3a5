/**
 * Record-batch compression codecs, in the exact wire framings Kafka uses (see the "Compression codecs"
 * section of the protocol README):
 *
 * - gzip (1): an RFC 1952 stream (node:zlib). Multi-member streams are accepted.
 * - snappy (2): written with xerial framing, as the Java client's snappy-java `SnappyOutputStream` does
 *   (magic `\x82SNAPPY\0`, int32 version 1, int32 compatible version 1, then `[int32 BE length][raw
 *   snappy block]` chunks of up to 32 KiB of input). Read: xerial framing (also several concatenated
 *   xerial streams) when the magic is present, otherwise one bare raw snappy block — exactly the two
 *   forms snappy-java's `SnappyInputStream`, and therefore Kafka, accepts.
 * - lz4 (3): the LZ4 *frame* format (magic 0x184D2204). The frame is built and parsed here around
 *   lz4-napi's block functions so that (a) we write what Kafka's `Lz4BlockOutputStream` writes — 64 KiB
 *   independent blocks, no block or content checksum, correct header checksum (KIP-57) — and (b) the
 *   decompressed-size limit is enforced block by block. Reading follows Kafka's `Lz4BlockInputStream`:
 *   version 01, reserved bits and the dictionary-id flag clear, independent blocks required ("Dependent
 *   block stream is unsupported"), block max size 64 KiB..4 MiB, header checksum verified, block
 *   checksums verified when present; unlike Kafka we also verify a content checksum when present.
 *   Bytes after the end mark are ignored, as Kafka does.
 * - zstd (4): standard Zstandard frames (zstd-napi), several concatenated frames accepted.
 *
 * Every `decompress` takes a limit on the decompressed size and throws DecompressionLimitError
 * (errorCode MESSAGE_TOO_LARGE) as soon as the output would pass it, without first materialising the
 * whole output. Malformed compressed data throws RecordsError with errorCode INVALID_RECORD.
 *
 * The snappy, lz4 and zstd native calls are synchronous (they are fast, and the inputs are batches of
 * at most a few MiB); gzip uses zlib's thread pool in the async API.
 *
 * The three native bindings are loaded on first use, not at import: batches stay compressed as
 * received, so a broker without hooks or compaction may never need them, and loading them costs
 * start-up time (~15 ms) and resident memory (~2 MiB) for nothing.
 */
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import type * as Zlib from 'node:zlib';
import { DecompressionLimitError, INVALID_RECORD, RecordsError, UNSUPPORTED_COMPRESSION_TYPE } from './errors.js';
import { MAX_DECOMPRESSED_BATCH_BYTES } from '../../base/limits.js';

/** Compression codec ids as stored in bits 0-2 of the batch attributes. */
export const Compression = {
  none: 0,
  gzip: 1,
  snappy: 2,
  lz4: 3,
  zstd: 4,
} as const;

export type CompressionType = (typeof Compression)[keyof typeof Compression];

const NAMES = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
export type CompressionName = (typeof NAMES)[number];

/** Kafka's name for a codec id ('none', 'gzip', 'snappy', 'lz4', 'zstd'). */
export function compressionName(type: CompressionType): CompressionName {
  const name = NAMES[type];
  if (name === undefined) throw unsupported(type);
  return name;
}

/** Codec id for a Kafka codec name (as in the `compression.type` config); undefined when unknown. */
export function compressionFromName(name: string): CompressionType | undefined {
  const i = (NAMES as readonly string[]).indexOf(name);
  return i < 0 ? undefined : (i as CompressionType);
}

export function isCompressionType(id: number): id is CompressionType {
  return Number.isInteger(id) && id >= 0 && id <= 4;
}

/** Default decompressed-size limit when the caller gives none (src/base/limits.ts). */
export const DEFAULT_MAX_DECOMPRESSED_BYTES = MAX_DECOMPRESSED_BATCH_BYTES;

export interface CompressOptions {
  /** gzip: zlib level (default 6, as Java's GZIPOutputStream); zstd: level (default 3). Ignored by snappy/lz4. */
  level?: number;
}

// ---- native bindings, loaded on first use ---------------------------------------------------------

const require = createRequire(import.meta.url);
let zlibModule: typeof Zlib | undefined;
function zlib(): typeof Zlib {
  return (zlibModule ??= require('node:zlib') as typeof Zlib);
}
type Snappy = typeof import('snappy');
type Lz4 = typeof import('lz4-napi');
type Zstd = typeof import('zstd-napi');
type ZstdBinding = typeof import('zstd-napi/binding.js');
let snappyModule: Snappy | undefined;
let lz4Module: Lz4 | undefined;
let zstdModule: Zstd | undefined;
let zstdBindingModule: ZstdBinding | undefined;

function snappy(): Snappy {
  return (snappyModule ??= require('snappy') as Snappy);
}
function lz4(): Lz4 {
  return (lz4Module ??= require('lz4-napi') as Lz4);
}
function zstd(): Zstd {
  return (zstdModule ??= require('zstd-napi') as Zstd);
}
function zstdBinding(): ZstdBinding {
  return (zstdBindingModule ??= require('zstd-napi/binding.js') as ZstdBinding);
}

function unsupported(type: number): RecordsError {
  return new RecordsError(UNSUPPORTED_COMPRESSION_TYPE, `unknown compression type id ${type}`);
}

function corrupt(codec: string, message: string): RecordsError {
  return new RecordsError(INVALID_RECORD, `${codec}: ${message}`);
}

function checkLimit(limit: number): void {
  if (!(limit >= 0)) throw new RangeError(`invalid decompression limit ${limit}`);
}

// ---------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------

/** Compress `data` with the given codec, in Kafka's framing. `none` returns `data` itself. */
export async function compress(type: CompressionType, data: Buffer, opts: CompressOptions = {}): Promise<Buffer> {
  if (type === Compression.gzip) return gzipAsync(data, gzipOptions(opts));
  return compressSync(type, data, opts);
}

/**
 * Decompress `data` (the compressed records of one batch). Throws DecompressionLimitError when the
 * output would exceed `maxBytes`, RecordsError(INVALID_RECORD) when the data is malformed and
 * RecordsError(UNSUPPORTED_COMPRESSION_TYPE) for an unknown codec. `none` returns `data` itself
 * (still subject to the limit).
 */
export async function decompress(
  type: CompressionType,
  data: Buffer,
  maxBytes: number = DEFAULT_MAX_DECOMPRESSED_BYTES,
): Promise<Buffer> {
  if (type === Compression.gzip) {
    checkLimit(maxBytes);
    try {
      return await gunzipAsync(data, { maxOutputLength: Math.max(1, maxBytes) });
    } catch (e) {
      throw gunzipError(e, maxBytes);
    }
  }
  return decompressSync(type, data, maxBytes);
}

/** Synchronous `compress` (gzip runs on the calling thread). */
export function compressSync(type: CompressionType, data: Buffer, opts: CompressOptions = {}): Buffer {
  switch (type) {
    case Compression.none:
      return data;
    case Compression.gzip:
      return zlib().gzipSync(data, gzipOptions(opts));
    case Compression.snappy:
      return xerialCompress(data);
    case Compression.lz4:
      return lz4FrameCompress(data);
    case Compression.zstd:
      return zstd().compress(data, { compressionLevel: opts.level ?? 3 });
    default:
      throw unsupported(type);
  }
}

/** Synchronous `decompress` (gzip runs on the calling thread). */
export function decompressSync(
  type: CompressionType,
  data: Buffer,
  maxBytes: number = DEFAULT_MAX_DECOMPRESSED_BYTES,
): Buffer {
  checkLimit(maxBytes);
  switch (type) {
    case Compression.none:
      if (data.length > maxBytes) throw new DecompressionLimitError(maxBytes);
      return data;
    case Compression.gzip:
      try {
        return zlib().gunzipSync(data, { maxOutputLength: Math.max(1, maxBytes) });
      } catch (e) {
        throw gunzipError(e, maxBytes);
      }
    case Compression.snappy:
      return snappyDecompress(data, maxBytes);
    case Compression.lz4:
      return lz4FrameDecompress(data, maxBytes);
    case Compression.zstd:
      return zstdDecompress(data, maxBytes);
    default:
      throw unsupported(type);
  }
}

// ---------------------------------------------------------------------------------------------
// gzip
// ---------------------------------------------------------------------------------------------

function gzipAsync(data: Buffer, opts: Zlib.ZlibOptions): Promise<Buffer> {
  return promisify(zlib().gzip)(data, opts);
}
function gunzipAsync(data: Buffer, opts: Zlib.ZlibOptions): Promise<Buffer> {
  return promisify(zlib().gunzip)(data, opts);
}

function gzipOptions(opts: CompressOptions): Zlib.ZlibOptions {
  return { level: opts.level ?? 6 };
}

function gunzipError(e: unknown, maxBytes: number): Error {
  if (e instanceof RecordsError) return e;
  const err = e as NodeJS.ErrnoException;
  if (err?.code === 'ERR_BUFFER_TOO_LARGE') return new DecompressionLimitError(maxBytes);
  return corrupt('gzip', err?.message ?? String(e));
}

// ---------------------------------------------------------------------------------------------
// snappy (xerial framing)
// ---------------------------------------------------------------------------------------------

/** `\x82SNAPPY\0` */
export const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_BYTES = 16;
/** snappy-java's SnappyOutputStream default block size. */
const XERIAL_BLOCK_BYTES = 32 * 1024;

function isXerialHeaderAt(data: Buffer, pos: number): boolean {
  if (data.length - pos < XERIAL_MAGIC.length) return false;
  for (let i = 0; i < XERIAL_MAGIC.length; i++) if (data[pos + i] !== XERIAL_MAGIC[i]) return false;
  return true;
}

function xerialCompress(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  const header = Buffer.alloc(XERIAL_HEADER_BYTES);
  XERIAL_MAGIC.copy(header, 0);
  header.writeInt32BE(1, 8); // version
  header.writeInt32BE(1, 12); // minimum compatible version
  parts.push(header);
  let total = XERIAL_HEADER_BYTES;
  for (let pos = 0; pos < data.length; pos += XERIAL_BLOCK_BYTES) {
    const block = snappy().compressSync(data.subarray(pos, Math.min(pos + XERIAL_BLOCK_BYTES, data.length)));
    const len = Buffer.allocUnsafe(4);
    len.writeInt32BE(block.length, 0);
    parts.push(len, block);
    total += 4 + block.length;
  }
  return Buffer.concat(parts, total);
}

/** The uncompressed length a raw snappy block declares in its preamble (an unsigned LEB128 varint). */
function snappyDeclaredLength(block: Buffer): number {
  let value = 0;
  for (let i = 0; i < 5 && i < block.length; i++) {
    const b = block[i]!;
    value += (b & 0x7f) * 2 ** (7 * i);
    if ((b & 0x80) === 0) return value;
  }
  throw corrupt('snappy', 'invalid block length preamble');
}

function snappyBlock(block: Buffer, total: number, maxBytes: number): Buffer {
  const n = snappyDeclaredLength(block);
  if (total + n > maxBytes) throw new DecompressionLimitError(maxBytes);
  let out: Buffer;
  try {
    out = snappy().uncompressSync(block, { asBuffer: true }) as Buffer;
  } catch (e) {
    throw corrupt('snappy', (e as Error).message);
  }
  if (out.length !== n) throw corrupt('snappy', `block declared ${n} bytes but produced ${out.length}`);
  return out;
}

function snappyDecompress(data: Buffer, maxBytes: number): Buffer {
  if (!isXerialHeaderAt(data, 0)) return snappyBlock(data, 0, maxBytes);
  const parts: Buffer[] = [];
  let total = 0;
  let pos = 0;
  while (pos < data.length) {
    if (isXerialHeaderAt(data, pos)) {
      // A (possibly concatenated) stream header; snappy-java skips these too.
      if (data.length - pos < XERIAL_HEADER_BYTES) throw corrupt('snappy', 'truncated xerial header');
      pos += XERIAL_HEADER_BYTES;
      continue;
    }
    if (data.length - pos < 4) throw corrupt('snappy', 'truncated xerial chunk length');
    const n = data.readInt32BE(pos);
    pos += 4;
    if (n < 0 || n > data.length - pos) throw corrupt('snappy', `xerial chunk of ${n} bytes overruns the data`);
    if (n === 0) continue;
    const out = snappyBlock(data.subarray(pos, pos + n), total, maxBytes);
    pos += n;
    total += out.length;
    parts.push(out);
  }
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts, total);
}

// ---------------------------------------------------------------------------------------------
// lz4 (frame format)
// ---------------------------------------------------------------------------------------------

export const LZ4_FRAME_MAGIC = 0x184d2204;
/** FLG: version 01, independent blocks, no checksums, no content size (Kafka's Lz4BlockOutputStream). */
const LZ4_FLG = 0x60;
/** BD: 64 KiB maximum block size (block size id 4), Kafka's default. */
const LZ4_BD = 0x40;
const LZ4_BLOCK_BYTES = 64 * 1024;
const LZ4_UNCOMPRESSED_BIT = 0x80000000;

function lz4FrameCompress(data: Buffer): Buffer {
  const header = Buffer.allocUnsafe(7);
  header.writeUInt32LE(LZ4_FRAME_MAGIC, 0);
  header[4] = LZ4_FLG;
  header[5] = LZ4_BD;
  header[6] = (xxhash32(header, 4, 6) >>> 8) & 0xff;
  const parts: Buffer[] = [header];
  let total = header.length;
  for (let pos = 0; pos < data.length; pos += LZ4_BLOCK_BYTES) {
    const chunk = data.subarray(pos, Math.min(pos + LZ4_BLOCK_BYTES, data.length));
    // lz4-napi prepends the uncompressed size (4 bytes LE) to the raw LZ4 block.
    const block = lz4().compressSync(chunk).subarray(4);
    const size = Buffer.allocUnsafe(4);
    if (block.length < chunk.length) {
      size.writeUInt32LE(block.length, 0);
      parts.push(size, block);
      total += 4 + block.length;
    } else {
      size.writeUInt32LE((chunk.length | LZ4_UNCOMPRESSED_BIT) >>> 0, 0);
      parts.push(size, chunk);
      total += 4 + chunk.length;
    }
  }
  const end = Buffer.alloc(4); // end mark
  parts.push(end);
  total += 4;
  return Buffer.concat(parts, total);
}

function lz4FrameDecompress(data: Buffer, maxBytes: number): Buffer {
  const fail = (m: string) => corrupt('lz4', m);
  if (data.length < 7) throw fail('truncated frame header');
  if (data.readUInt32LE(0) !== LZ4_FRAME_MAGIC) throw fail('not an LZ4 frame (bad magic)');
  const flg = data[4]!;
  const bd = data[5]!;
  if (flg >> 6 !== 1) throw fail(`frame version ${flg >> 6} is unsupported`);
  if ((flg & 0x03) !== 0) throw fail('reserved FLG bits (or dictionary id) set'); // Kafka: "Reserved bits must be 0"
  if ((flg & 0x20) === 0) throw fail('dependent block stream is unsupported');
  const blockChecksum = (flg & 0x10) !== 0;
  const hasContentSize = (flg & 0x08) !== 0;
  const contentChecksum = (flg & 0x04) !== 0;
  if ((bd & 0x8f) !== 0) throw fail('reserved BD bits set');
  const sizeId = (bd >> 4) & 7;
  if (sizeId < 4) throw fail(`block size id ${sizeId} is invalid`);
  const maxBlock = 1 << (2 * sizeId + 8);

  let pos = 6;
  let contentSize = -1;
  if (hasContentSize) {
    if (data.length < pos + 9) throw fail('truncated frame header');
    const cs = data.readBigUInt64LE(pos);
    if (cs > BigInt(maxBytes)) throw new DecompressionLimitError(maxBytes);
    contentSize = Number(cs);
    pos += 8;
  }
  if (((xxhash32(data, 4, pos) >>> 8) & 0xff) !== data[pos]) throw fail('frame descriptor checksum mismatch');
  pos++;

  const parts: Buffer[] = [];
  let total = 0;
  for (;;) {
    if (data.length - pos < 4) throw fail('premature end of stream');
    const word = data.readUInt32LE(pos);
    pos += 4;
    if (word === 0) break; // end mark
    const stored = (word & LZ4_UNCOMPRESSED_BIT) !== 0;
    const size = word & 0x7fffffff;
    if (size > maxBlock) throw fail(`block size ${size} exceeds the frame's maximum ${maxBlock}`);
    if (data.length - pos < size + (blockChecksum ? 4 : 0)) throw fail('premature end of stream');
    const block = data.subarray(pos, pos + size);
    pos += size;
    if (blockChecksum) {
      if (xxhash32(block, 0, block.length) !== data.readUInt32LE(pos)) throw fail('block checksum mismatch');
      pos += 4;
    }
    let out: Buffer;
    if (stored) {
      out = block;
    } else {
      // lz4-napi's block decoder wants the size prepended; it treats it as the output capacity and
      // fails rather than writing past it, so no block can expand beyond the frame's block maximum.
      const input = Buffer.allocUnsafe(4 + size);
      input.writeUInt32LE(maxBlock, 0);
      block.copy(input, 4);
      try {
        out = lz4().uncompressSync(input);
      } catch (e) {
        throw fail((e as Error).message);
      }
    }
    total += out.length;
    if (total > maxBytes) throw new DecompressionLimitError(maxBytes);
    parts.push(out);
  }
  const result = parts.length === 1 ? parts[0]! : Buffer.concat(parts, total);
  if (contentChecksum) {
    if (data.length - pos < 4) throw fail('premature end of stream');
    if (xxhash32(result, 0, result.length) !== data.readUInt32LE(pos)) throw fail('content checksum mismatch');
  }
  if (contentSize >= 0 && contentSize !== total) throw fail(`frame declared ${contentSize} bytes but held ${total}`);
  return result;
}

const P1 = 0x9e3779b1 | 0;
const P2 = 0x85ebca77 | 0;
const P3 = 0xc2b2ae3d | 0;
const P4 = 0x27d4eb2f | 0;
const P5 = 0x165667b1 | 0;

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function u32le(b: Buffer, i: number): number {
  return b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24);
}

/** XXH32 of buf[start, end) (used by the LZ4 frame format for its header and block checksums). */
export function xxhash32(buf: Buffer, start = 0, end = buf.length, seed = 0): number {
  let i = start;
  let h: number;
  if (end - start >= 16) {
    let v1 = (seed + P1 + P2) | 0;
    let v2 = (seed + P2) | 0;
    let v3 = seed | 0;
    let v4 = (seed - P1) | 0;
    const limit = end - 16;
    while (i <= limit) {
      v1 = Math.imul(rotl((v1 + Math.imul(u32le(buf, i), P2)) | 0, 13), P1);
      v2 = Math.imul(rotl((v2 + Math.imul(u32le(buf, i + 4), P2)) | 0, 13), P1);
      v3 = Math.imul(rotl((v3 + Math.imul(u32le(buf, i + 8), P2)) | 0, 13), P1);
      v4 = Math.imul(rotl((v4 + Math.imul(u32le(buf, i + 12), P2)) | 0, 13), P1);
      i += 16;
    }
    h = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) | 0;
  } else {
    h = (seed + P5) | 0;
  }
  h = (h + (end - start)) | 0;
  while (i + 4 <= end) {
    h = Math.imul(rotl((h + Math.imul(u32le(buf, i), P3)) | 0, 17), P4);
    i += 4;
  }
  while (i < end) {
    h = Math.imul(rotl((h + Math.imul(buf[i]!, P5)) | 0, 11), P1);
    i++;
  }
  h ^= h >>> 15;
  h = Math.imul(h, P2);
  h ^= h >>> 13;
  h = Math.imul(h, P3);
  h ^= h >>> 16;
  return h >>> 0;
}

// ---------------------------------------------------------------------------------------------
// zstd
// ---------------------------------------------------------------------------------------------

let dctx: InstanceType<ZstdBinding['DCtx']> | undefined;
const ZSTD_OUT_CHUNK = 128 * 1024;

function zstdDecompress(data: Buffer, maxBytes: number): Buffer {
  const binding = zstdBinding();
  const ctx = (dctx ??= new binding.DCtx());
  try {
    // Fast path: one frame whose header declares its size.
    let declared: number | null = null;
    try {
      if (binding.findFrameCompressedSize(data) === data.length) declared = binding.getFrameContentSize(data);
    } catch {
      declared = null; // let the streaming decoder report the problem
    }
    if (declared !== null) {
      if (declared > maxBytes) throw new DecompressionLimitError(maxBytes);
      const out = Buffer.allocUnsafe(declared);
      const n = ctx.decompress(out, data);
      if (n !== declared) throw corrupt('zstd', `frame declared ${declared} bytes but produced ${n}`);
      return out;
    }
    // Streaming with bounded output chunks: never holds more than maxBytes (+1 chunk) of output.
    const parts: Buffer[] = [];
    let total = 0;
    let src = data;
    let frameDone = false;
    for (;;) {
      const room = maxBytes - total;
      const dst = Buffer.allocUnsafe(Math.min(Math.max(ZSTD_OUT_CHUNK, src.length), room + 1));
      const [ret, produced, consumed] = ctx.decompressStream(dst, src);
      total += produced;
      if (total > maxBytes) throw new DecompressionLimitError(maxBytes);
      if (produced > 0) parts.push(dst.subarray(0, produced));
      src = src.subarray(consumed);
      frameDone = ret === 0;
      if (frameDone && src.length === 0) break;
      if (produced === 0 && consumed === 0) {
        throw corrupt('zstd', frameDone ? 'trailing data after the last frame' : 'truncated frame');
      }
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, total);
  } catch (e) {
    ctx.reset(binding.ResetDirective.sessionOnly);
    if (e instanceof RecordsError) throw e;
    throw corrupt('zstd', (e as Error).message);
  }
}
