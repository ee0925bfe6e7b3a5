/**
 * `rafka produce TOPIC`: one record per input line, from stdin or --file.
 *
 * - Plain lines: the line is the value; with `-k SEP` the text before the first SEP is the key (a
 *   line without SEP has no key). `-H name=value` adds headers to every record.
 * - `--json`: each line is an object `{"value": …, "key": …, "headers": {…} | [{"key","value"}],
 *   "partition": n, "timestamp": ms}` (only value is required; strings or null) — the shape
 *   `rafka consume --json` prints, so one's output can be fed to the other. The summary is JSON too.
 * - Records go through Rafka's producer (idempotent with acks=all, batched, retried); at most
 *   MAX_PENDING_RECORDS await their acknowledgement, so a large input streams through in bounded memory.
 * - A progress bar with the rate goes to stderr when it is a terminal and the input is not (a file
 *   or a pipe); --progress / --no-progress decide otherwise.
 * - A malformed line stops the input: what was sent before it is flushed, then exit 1 naming the line.
 *   SIGINT/SIGTERM end the input the same way, but exit 0 with the summary of what was produced.
 */
import { createReadStream, fstatSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import cliProgress from 'cli-progress';
import { Producer, type ProducerMessage, type RecordMetadata } from '../../client/producer.js';
import { compressionFromName, type CompressionName } from '../../protocol/records/compression.js';
import { Admin } from '../../client/admin.js';
import { clientOptions, collect, intArg, keyValue, printJson, printLine, reach, requireTopic, withCommon, type CommonOptions, type OpsIO } from './common.js';

/** Records sent and not yet acknowledged; sending waits below this. */
const MAX_PENDING_RECORDS = 10_000;
/** Redraw the progress bar at most this often. */
const PROGRESS_INTERVAL_MS = 100;

interface ProduceOptions extends CommonOptions {
  file?: string;
  keySeparator?: string;
  header?: [string, string][];
  partition?: number;
  acks: 0 | 1 | -1;
  compression: CompressionName;
  progress?: boolean;
}

/** A malformed input line: exit 1 naming it. */
class InputError extends Error {}

function parseAcks(value: string): 0 | 1 | -1 {
  if (value === 'all' || value === '-1') return -1;
  if (value === '0') return 0;
  if (value === '1') return 1;
  throw new InvalidArgumentError(`must be 0, 1 or all (got "${value}")`);
}

function parseCompression(value: string): CompressionName {
  if (compressionFromName(value as CompressionName) === undefined) throw new InvalidArgumentError(`must be none, gzip, snappy, lz4 or zstd (got "${value}")`);
  return value as CompressionName;
}

const text = (v: unknown, what: string, line: number): string | null => {
  if (v === null || v === undefined) return null;
  if (typeof v !== 'string') throw new InputError(`line ${line}: ${what} must be a string or null`);
  return v;
};

/** One `--json` input line as a message. */
function jsonMessage(line: string, n: number): ProducerMessage {
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch (e) {
    throw new InputError(`line ${n}: invalid JSON (${(e as Error).message})`);
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new InputError(`line ${n}: expected a JSON object with a "value"`);
  const r = o as Record<string, unknown>;
  if (!('value' in r)) throw new InputError(`line ${n}: no "value"`);
  const m: ProducerMessage = { value: text(r.value, 'value', n), key: text(r.key, 'key', n) };
  if (r.headers !== undefined && r.headers !== null) {
    if (Array.isArray(r.headers)) {
      m.headers = r.headers.map((h: unknown) => {
        const hh = h as { key?: unknown; value?: unknown } | null;
        if (typeof hh !== 'object' || hh === null || typeof hh.key !== 'string') throw new InputError(`line ${n}: each header must be {"key": string, "value": string|null}`);
        return { key: hh.key, value: text(hh.value, `header ${hh.key}`, n) };
      });
    } else if (typeof r.headers === 'object') {
      m.headers = Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k, text(v, `header ${k}`, n)]));
    } else {
      throw new InputError(`line ${n}: "headers" must be an object or an array`);
    }
  }
  if (r.partition !== undefined && r.partition !== null) {
    if (!Number.isInteger(r.partition) || (r.partition as number) < 0) throw new InputError(`line ${n}: "partition" must be a non-negative integer`);
    m.partition = r.partition as number;
  }
  if (r.timestamp !== undefined && r.timestamp !== null) {
    if (!Number.isSafeInteger(r.timestamp)) throw new InputError(`line ${n}: "timestamp" must be an integer (ms since the epoch)`);
    m.timestamp = r.timestamp as number;
  }
  return m;
}

export function produceCommand(program: Command, io: OpsIO): void {
  withCommon(program.command('produce').description('produce records from stdin or a file, one per line'), 'input lines are JSON objects {"value","key","headers","partition","timestamp"}; print the summary as JSON')
    .argument('<topic>', 'topic to produce to')
    .option('--file <path>', 'read lines from this file instead of stdin')
    .option('-k, --key-separator <sep>', 'split each line at the first SEP into key and value')
    .option('-H, --header <name=value>', 'add a header to every record (repeatable)', collect(keyValue))
    .option('-p, --partition <n>', 'produce to this partition (default: by key, else spread)', intArg(0, 1_000_000))
    .addOption(new Option('--acks <acks>', 'acknowledgement: 0, 1 or all').argParser(parseAcks).default(-1, 'all'))
    .addOption(new Option('--compression <codec>', 'none, gzip, snappy, lz4 or zstd').argParser(parseCompression).default('none'))
    .option('--progress', 'always show a progress bar on stderr')
    .option('--no-progress', 'never show a progress bar')
    .action(async (topic: string, opts: ProduceOptions) => {
      if (opts.keySeparator === '') throw new InvalidArgumentError('the key separator must not be empty');
      const admin = new Admin(clientOptions(opts, io));
      try {
        await reach(admin.cluster, opts, io);
        await requireTopic(admin, topic);
      } finally {
        await admin.close();
      }
      const producer = new Producer({ ...clientOptions(opts, io), acks: opts.acks, compression: opts.compression, maxBlockMs: opts.timeout * 2 });
      try {
        await reach(producer.cluster, opts, io);
        const summary = await produceLines(producer, topic, opts, io);
        if (opts.json) await printJson(io, summary);
        else {
          const where = summary.partitions.filter((p) => p.firstOffset >= 0).map((p) => `partition ${p.partition}: offsets ${p.firstOffset}-${p.lastOffset}`).join(', ');
          await printLine(io, `produced ${summary.records} record${summary.records === 1 ? '' : 's'} to ${topic}${where ? ` (${where})` : ''}`);
        }
      } finally {
        await producer.close();
      }
    });
}

interface Summary {
  topic: string;
  records: number;
  partitions: { partition: number; records: number; firstOffset: number; lastOffset: number }[];
}

async function produceLines(producer: Producer, topic: string, opts: ProduceOptions, io: OpsIO): Promise<Summary> {
  const input = opts.file !== undefined ? createReadStream(opts.file) : io.stdin;
  const opened = new Promise<void>((resolve, reject) => {
    if (opts.file === undefined) return resolve();
    input.once('open', () => resolve());
    input.once('error', reject);
  });
  await opened.catch((e: NodeJS.ErrnoException) => {
    throw new InputError(`cannot read ${opts.file}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
  });
  const headers = opts.header ?? [];
  const sep = opts.keySeparator;
  const perPartition = new Map<number, { records: number; firstOffset: number; lastOffset: number }>();
  let acked = 0;
  let failure: Error | null = null;
  let pending = 0;
  let wakeSender: (() => void) | null = null;
  let wakeDrained: (() => void) | null = null;
  let bytesRead = 0;

  const progress = startProgress(opts, io, inputSize(opts, io));
  const onAck = (md: RecordMetadata) => {
    acked++;
    const p = perPartition.get(md.partition);
    if (!p) perPartition.set(md.partition, { records: 1, firstOffset: md.offset, lastOffset: md.offset });
    else {
      p.records++;
      if (md.offset >= 0) {
        p.firstOffset = p.firstOffset < 0 ? md.offset : Math.min(p.firstOffset, md.offset);
        p.lastOffset = Math.max(p.lastOffset, md.offset);
      }
    }
  };
  const settled = () => {
    pending--;
    if (wakeSender && pending < MAX_PENDING_RECORDS) {
      const w = wakeSender;
      wakeSender = null;
      w();
    }
    if (pending === 0) wakeDrained?.();
  };

  const lines = createInterface({ input, crlfDelay: Infinity });
  // Ctrl-C ends the input: what was read is still sent and acknowledged before the summary.
  const endInput = () => lines.close();
  process.on('SIGINT', endInput);
  process.on('SIGTERM', endInput);
  let n = 0;
  try {
    for await (const line of lines) {
      n++;
      bytesRead += Buffer.byteLength(line) + 1;
      if (failure) break;
      let m: ProducerMessage;
      if (opts.json) {
        if (line.trim() === '') continue;
        m = jsonMessage(line, n);
      } else if (sep !== undefined && line.includes(sep)) {
        const i = line.indexOf(sep);
        m = { key: line.slice(0, i), value: line.slice(i + sep.length) };
      } else {
        m = { value: line };
      }
      if (headers.length > 0) m.headers = [...(Array.isArray(m.headers) ? m.headers : Object.entries(m.headers ?? {}).map(([key, value]) => ({ key, value }))), ...headers.map(([key, value]) => ({ key, value }))];
      if (opts.partition !== undefined) m.partition = opts.partition;
      pending++;
      producer.send(topic, m).then(onAck, (e: Error) => void (failure ??= e)).finally(settled);
      progress?.tick(n, bytesRead);
      if (pending >= MAX_PENDING_RECORDS) await new Promise<void>((r) => (wakeSender = r));
    }
  } finally {
    process.off('SIGINT', endInput);
    process.off('SIGTERM', endInput);
    lines.close();
    if (opts.file !== undefined) input.destroy();
    await producer.flush();
    // Every send() settled (acknowledged or failed), not only the batches flush() waited for: a
    // record refused before it reached a batch (an unknown partition) fails without one.
    if (pending > 0) await new Promise<void>((r) => (wakeDrained = r));
    progress?.stop(n, bytesRead);
  }
  if (failure) throw failure;
  return {
    topic,
    records: acked,
    partitions: [...perPartition].sort((a, b) => a[0] - b[0]).map(([partition, p]) => ({ partition, ...p })),
  };
}

/** Bytes of input when known (a file, or stdin redirected from one), for the bar's percentage. */
function inputSize(opts: ProduceOptions, io: OpsIO): number | null {
  try {
    const st = opts.file !== undefined ? statSync(opts.file) : fstatSync(io.stdin.fd);
    return st.isFile() ? st.size : null;
  } catch {
    return null;
  }
}

interface Progress {
  tick(records: number, bytes: number): void;
  stop(records: number, bytes: number): void;
}

function startProgress(opts: ProduceOptions, io: OpsIO, total: number | null): Progress | null {
  const show = opts.progress ?? (io.stderr.isTTY === true && (opts.file !== undefined || io.stdin.isTTY !== true));
  if (!show) return null;
  const known = total !== null && total > 0;
  const bar = new cliProgress.SingleBar(
    {
      stream: io.stderr,
      format: known ? '{bar} {percentage}% | {records} records | {rate} records/s' : '{records} records | {rate} records/s',
      noTTYOutput: io.stderr.isTTY !== true,
      notTTYSchedule: 1000,
      hideCursor: false,
      clearOnComplete: false,
    },
    cliProgress.Presets.shades_classic,
  );
  const started = Date.now();
  let last = 0;
  const payload = (records: number) => ({ records, rate: Math.round(records / Math.max(0.001, (Date.now() - started) / 1000)) });
  bar.start(known ? total : 1, 0, payload(0));
  return {
    tick(records, bytes) {
      const now = Date.now();
      if (now - last < PROGRESS_INTERVAL_MS) return;
      last = now;
      bar.update(known ? Math.min(bytes, total) : 0, payload(records));
    },
    stop(records, bytes) {
      bar.update(known ? Math.min(bytes, total) : 1, payload(records));
      bar.stop();
    },
  };
}
