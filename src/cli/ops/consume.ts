/**
 * `rafka consume TOPIC`, with kcat's options where kcat has one:
 *
 * - `-o beginning|end|stored|N|-N|s@MS`: where to start (kcat's default: end). Without a group the
 *   offsets are looked up (ListOffsets) and the partitions assigned directly; `-N` is N before the
 *   end, `s@MS` the first record at or after that timestamp. With `-g GROUP` the consumer joins the
 *   group and starts at its committed offsets, beginning/end being the reset policy where it has
 *   none; the group's offsets are committed as it goes and on exit.
 * - `-p N` one partition (default all), `-c N` stop after N records, `-e` stop at the end: once
 *   every partition's position reaches the end offset it had when consuming began (with
 *   `--isolation read_committed`, its last stable offset: records of aborted transactions are
 *   skipped, and an open transaction's are not waited for).
 * - Output: `-f FMT` kcat's template (%s value, %S value size, %k key, %K key size, %t topic,
 *   %p partition, %o offset, %T timestamp, %h headers as n=v,…, %% a percent sign; \n \r \t \\
 *   \xXX escapes), default '%s\n'; keys and values are written as the bytes stored. `--json`: one
 *   object per line, {topic, partition, offset, timestamp, key, value, headers: [{key, value}]},
 *   key/value/header values as UTF-8 text or null — what `rafka produce --json` reads.
 * - SIGINT/SIGTERM stop cleanly (exit 0); so does a closed stdout (`| head`).
 */
import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import { Consumer, type ConsumerMessage, type IsolationLevel } from '../../client/consumer.js';
import type { TopicPartition } from '../../client/assignors.js';
import type { Admin } from '../../client/admin.js';
import { KafkaProtocolError } from '../../client/errors.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { clientOptions, intArg, reach, UsageError, withAdmin, withCommon, write, type CommonOptions, type OpsIO } from './common.js';

/** How many records one poll hands over at most (they are written to stdout in one piece). */
const POLL_MAX_RECORDS = 500;
/** How long one poll waits, and so how soon a signal or -e is noticed. */
const POLL_WAIT_MS = 200;

type StartSpec =
  | { kind: 'beginning' }
  | { kind: 'end' }
  | { kind: 'stored' }
  | { kind: 'absolute'; offset: number }
  | { kind: 'relative'; back: number }
  | { kind: 'timestamp'; ms: number };

interface ConsumeOptions extends CommonOptions {
  offset?: StartSpec;
  partition?: number;
  group?: string;
  count?: number;
  exit?: boolean;
  format?: (m: ConsumerMessage) => Buffer;
  isolation?: IsolationLevel;
}

export function parseStart(value: string): StartSpec {
  if (value === 'beginning') return { kind: 'beginning' };
  if (value === 'end') return { kind: 'end' };
  if (value === 'stored') return { kind: 'stored' };
  let m = /^(\d+)$/.exec(value);
  if (m) return { kind: 'absolute', offset: Number(m[1]) };
  m = /^-(\d+)$/.exec(value);
  if (m) return { kind: 'relative', back: Number(m[1]) };
  m = /^s@(\d+)$/.exec(value);
  if (m) return { kind: 'timestamp', ms: Number(m[1]) };
  throw new InvalidArgumentError(`must be beginning, end, stored, N, -N or s@TIMESTAMP_MS (got "${value}")`);
}

const ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', '\\': '\\' };

/** kcat's -f template, compiled once into a function of a message. */
export function compileFormat(template: string): (m: ConsumerMessage) => Buffer {
  type Part = string | ((m: ConsumerMessage) => Buffer | string);
  const parts: Part[] = [];
  let lit = '';
  for (let i = 0; i < template.length; i++) {
    const c = template[i]!;
    if (c === '\\' && i + 1 < template.length) {
      const e = template[i + 1]!;
      if (e in ESCAPES) {
        lit += ESCAPES[e];
        i++;
        continue;
      }
      const hex = /^x([0-9a-fA-F]{2})/.exec(template.slice(i + 1));
      if (hex) {
        lit += String.fromCharCode(parseInt(hex[1]!, 16));
        i += 3;
        continue;
      }
      lit += c;
      continue;
    }
    if (c !== '%') {
      lit += c;
      continue;
    }
    const t = template[++i];
    let part: Part;
    switch (t) {
      case '%':
        lit += '%';
        continue;
      case 's':
        part = (m) => m.value ?? '';
        break;
      case 'S':
        part = (m) => String(m.value?.length ?? -1);
        break;
      case 'k':
        part = (m) => m.key ?? '';
        break;
      case 'K':
        part = (m) => String(m.key?.length ?? -1);
        break;
      case 't':
        part = (m) => m.topic;
        break;
      case 'p':
        part = (m) => String(m.partition);
        break;
      case 'o':
        part = (m) => String(m.offset);
        break;
      case 'T':
        part = (m) => String(m.timestamp);
        break;
      case 'h':
        part = (m) => m.headers.map((h) => `${h.key}=${h.value?.toString('utf8') ?? ''}`).join(',');
        break;
      default:
        throw new InvalidArgumentError(t === undefined ? 'the format ends with a lone %' : `unknown format token %${t} (known: %s %S %k %K %t %p %o %T %h %%)`);
    }
    if (lit) parts.push(lit);
    lit = '';
    parts.push(part);
  }
  if (lit) parts.push(lit);
  return (m) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : toBuffer(p(m)))));
}

function toBuffer(v: Buffer | string): Buffer {
  return typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
}

function jsonLine(m: ConsumerMessage): Buffer {
  const o = {
    topic: m.topic,
    partition: m.partition,
    offset: m.offset,
    timestamp: m.timestamp,
    key: m.key?.toString('utf8') ?? null,
    value: m.value?.toString('utf8') ?? null,
    headers: m.headers.map((h) => ({ key: h.key, value: h.value?.toString('utf8') ?? null })),
  };
  return Buffer.from(JSON.stringify(o) + '\n', 'utf8');
}

export function consumeCommand(program: Command, io: OpsIO): void {
  withCommon(program.command('consume').description('print records of a topic (kcat -C)'), 'print one JSON object per record {topic, partition, offset, timestamp, key, value, headers}')
    .argument('<topic>', 'topic to consume')
    .option('-o, --offset <where>', 'start at beginning, end, stored (with -g), N, -N (N before the end) or s@TIMESTAMP_MS (default: end)', parseStart)
    .option('-p, --partition <n>', 'only this partition (default: all)', intArg(0, 1_000_000))
    .option('-g, --group <id>', 'consume as a member of this consumer group, committing its offsets')
    .option('-c, --count <n>', 'exit after this many records', intArg(1))
    .option('-e, --exit', 'exit once the end of every partition is reached')
    .option('-f, --format <template>', "kcat's output template, e.g. '%k %s %p %o %T %h\\n' (default '%s\\n')", compileFormat)
    .addOption(
      new Option('--isolation <level>', 'read_committed: only records of committed transactions, up to the last stable offset (default read_uncommitted)').choices([
        'read_uncommitted',
        'read_committed',
      ]),
    )
    .action(async (topic: string, opts: ConsumeOptions) => {
      const start = opts.offset ?? { kind: opts.group !== undefined ? 'stored' : 'end' };
      if (opts.group !== undefined) {
        if (opts.partition !== undefined) throw new UsageError('-p cannot be combined with -g (the group assigns partitions)');
        if (!['beginning', 'end', 'stored'].includes(start.kind)) throw new UsageError('with -g, -o takes beginning, end or stored (a group starts at its committed offsets)');
      } else if (start.kind === 'stored') {
        throw new UsageError('-o stored needs a group (-g)');
      }
      // Look the topic and its offsets up first: a missing topic or partition fails at once.
      const plan = await withAdmin(opts, io, (admin) => planStart(admin, topic, opts.partition, opts.group === undefined ? start : null, opts.isolation));
      await consume(topic, plan, start, opts, io);
    });
}

interface Plan {
  partitions: number[];
  /** Start offset per partition (no group). */
  offsets: Map<number, number>;
}

async function planStart(admin: Admin, topic: string, partition: number | undefined, start: StartSpec | null, isolationLevel: IsolationLevel | undefined): Promise<Plan> {
  const [t] = await admin.describeTopics([topic]);
  let partitions = t!.partitions.filter(Boolean).map((p) => p.partition);
  if (partition !== undefined) {
    if (!partitions.includes(partition)) throw new KafkaProtocolError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `${topic} has no partition ${partition}`);
    partitions = [partition];
  }
  const offsets = new Map<number, number>();
  if (start === null) return { partitions, offsets };
  // read_committed: "end" is the last stable offset, where such a consumer stops.
  const lookup = async (spec: 'earliest' | 'latest' | { timestamp: number }) => new Map((await admin.listOffsets(topic, spec, { isolationLevel })).map((o) => [o.partition, o.offset]));
  switch (start.kind) {
    case 'beginning':
    case 'end': {
      const found = await lookup(start.kind === 'beginning' ? 'earliest' : 'latest');
      for (const p of partitions) offsets.set(p, found.get(p) ?? 0);
      break;
    }
    case 'absolute':
      for (const p of partitions) offsets.set(p, start.offset);
      break;
    case 'relative': {
      const [earliest, latest] = await Promise.all([lookup('earliest'), lookup('latest')]);
      for (const p of partitions) offsets.set(p, Math.max(earliest.get(p) ?? 0, (latest.get(p) ?? 0) - start.back));
      break;
    }
    case 'timestamp': {
      const [byTime, latest] = await Promise.all([lookup({ timestamp: start.ms }), lookup('latest')]);
      // No record at or after the timestamp: start at the end, as kcat.
      for (const p of partitions) offsets.set(p, (byTime.get(p) ?? -1) >= 0 ? byTime.get(p)! : (latest.get(p) ?? 0));
      break;
    }
    case 'stored':
      break;
  }
  return { partitions, offsets };
}

async function consume(topic: string, plan: Plan, start: StartSpec, opts: ConsumeOptions, io: OpsIO): Promise<void> {
  const consumer = new Consumer({
    ...clientOptions(opts, io),
    groupId: opts.group,
    autoOffsetReset: start.kind === 'beginning' ? 'earliest' : 'latest',
    isolationLevel: opts.isolation,
    // The CLI is short-lived and often interrupted: don't hold a partition for 45 s after a kill -9.
    sessionTimeoutMs: 10_000,
    heartbeatIntervalMs: 1000,
  });
  let stopped = false;
  const stop = () => {
    stopped = true;
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  io.stdout.on('error', stop);
  const format = opts.json ? jsonLine : (opts.format ?? compileFormat('%s\\n'));
  try {
    await reach(consumer.cluster, opts, io);
    if (opts.group !== undefined) consumer.subscribe(topic);
    else consumer.assign(plan.partitions.map((partition) => ({ topic, partition, offset: plan.offsets.get(partition)! })));
    let ends: Map<string, number> | null = null;
    if (opts.exit) {
      await consumer.ready();
      ends = await endOffsets(consumer, opts, io);
    }
    let delivered = 0;
    const atEnd = (): boolean => {
      if (!ends) return false;
      for (const tp of consumer.assignment()) {
        const pos = consumer.position(tp);
        const end = ends.get(`${tp.partition}`);
        if (end === undefined || pos === null || pos < end) return false;
      }
      return true;
    };
    while (!stopped && !(opts.count !== undefined && delivered >= opts.count) && !atEnd()) {
      const max = opts.count !== undefined ? Math.min(POLL_MAX_RECORDS, opts.count - delivered) : POLL_MAX_RECORDS;
      const batch = await consumer.poll(max, POLL_WAIT_MS);
      if (batch.length === 0) continue;
      delivered += batch.length;
      await write(io.stdout, Buffer.concat(batch.map(format)));
    }
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    io.stdout.off('error', stop);
    await consumer.close();
  }
}

/** The end offset of each assigned partition now (-e stops when every position reaches it). */
async function endOffsets(consumer: Consumer, opts: ConsumeOptions, io: OpsIO): Promise<Map<string, number>> {
  const tps: TopicPartition[] = consumer.assignment();
  const topics = [...new Set(tps.map((tp) => tp.topic))];
  const out = new Map<string, number>();
  await withAdmin(opts, io, async (admin) => {
    for (const t of topics) for (const o of await admin.listOffsets(t, 'latest', { isolationLevel: opts.isolation })) out.set(`${o.partition}`, o.offset);
  });
  return out;
}
