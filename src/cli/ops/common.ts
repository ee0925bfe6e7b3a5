/**
 * What every operations command (`rafka topics|produce|consume|groups|configs|cluster|transactions|
 * producers`) shares: the connection options, output as a table or JSON, and the errors that decide
 * the exit code.
 *
 * Exit codes a script can rely on: 0 success; 1 the broker refused (a Kafka error code, printed by
 * Kafka's name) or could not be reached; 2 bad usage (unknown flag, missing or malformed argument).
 * Every failure is one line on stderr, `rafka: …`, never a stack trace.
 */
import { Command, InvalidArgumentError } from 'commander';
import Table from 'cli-table3';
import type { Cluster, ClusterOptions } from '../../client/cluster.js';
import { Admin } from '../../client/admin.js';
import { ConnectionError, KafkaProtocolError, TlsError } from '../../client/errors.js';
import { clientSecurity, ignoredSettings, readClientSettings, type ClientSecurity } from './client-config.js';

/** Where the brokers are when neither -b nor $RAFKA_BOOTSTRAP says: Kafka's default listener. */
export const DEFAULT_BOOTSTRAP = '127.0.0.1:9092';
export const BOOTSTRAP_ENV = 'RAFKA_BOOTSTRAP';
/** --timeout's default: long enough for a broker under load, short enough for a script to notice a dead one. */
export const DEFAULT_TIMEOUT_MS = 15_000;
/** A connection attempt gives up after this long (or --timeout, when shorter). */
const CONNECT_TIMEOUT_MS = 5_000;

/** Bad usage found after parsing (a malformed value, a missing choice): exit 2. */
export class UsageError extends Error {}

export interface CommonOptions {
  bootstrap?: string;
  json?: boolean;
  timeout: number;
  /** Kafka client properties (security.protocol, sasl.*, ssl.*): client-config.ts. */
  commandConfig?: string;
  /** -X NAME=VALUE client settings, over those of commandConfig. */
  property?: [string, string][];
}

/** The process environment the commands read ($RAFKA_BOOTSTRAP) and the streams they write. */
export interface OpsIO {
  env: NodeJS.ProcessEnv;
  stdout: typeof process.stdout;
  stderr: typeof process.stderr;
  stdin: typeof process.stdin;
}

/** An integer option value within [min, max]; anything else is a usage error naming the value. */
export function intArg(min: number, max: number = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`must be an integer (got "${value}")`);
    if (n < min || n > max) throw new InvalidArgumentError(`must be between ${min} and ${max} (got ${n})`);
    return n;
  };
}

/** For repeatable options: each occurrence appends to the list. */
export function collect<T>(parse: (value: string) => T): (value: string, previous: T[] | undefined) => T[] {
  return (value, previous) => [...(previous ?? []), parse(value)];
}

/** `name=value` (the value may contain '='). */
export function keyValue(value: string): [string, string] {
  const i = value.indexOf('=');
  if (i <= 0) throw new InvalidArgumentError(`expected NAME=VALUE (got "${value}")`);
  return [value.slice(0, i), value.slice(i + 1)];
}

/** Adds -b/--bootstrap, --json (with its meaning for this command) and --timeout. */
export function withCommon(cmd: Command, json = 'print JSON instead of a table'): Command {
  return cmd
    .option('-b, --bootstrap <host:port,...>', `brokers to connect to (default: $${BOOTSTRAP_ENV}, else ${DEFAULT_BOOTSTRAP})`)
    .option('--json', json)
    .option('--timeout <ms>', 'give up on an unresponsive broker after this long', intArg(1, 3_600_000), DEFAULT_TIMEOUT_MS)
    .option('--command-config <file>', 'Kafka client properties: security.protocol, sasl.mechanism, sasl.jaas.config, ssl.truststore.location, …')
    .option('-X, --property <name=value>', 'a Kafka client setting, as in --command-config (repeatable; wins over the file)', collect(keyValue));
}

/** Settings are read once per command (a command may make several clients). */
const securityOf = new WeakMap<CommonOptions, ClientSecurity>();

function security(opts: CommonOptions, io: OpsIO): ClientSecurity {
  let sec = securityOf.get(opts);
  if (!sec) {
    const settings = readClientSettings(opts.commandConfig, opts.property);
    sec = clientSecurity(settings);
    const ignored = ignoredSettings(settings);
    if (ignored.length > 0) io.stderr.write(`rafka: note: client settings not used by rafka: ${ignored.join(', ')}\n`);
    securityOf.set(opts, sec);
  }
  return sec;
}

export function bootstrapOf(opts: CommonOptions, io: OpsIO): string {
  const b = opts.bootstrap ?? io.env[BOOTSTRAP_ENV];
  return b !== undefined && b.trim() !== '' ? b : DEFAULT_BOOTSTRAP;
}

/** Options for a Producer/Consumer/Admin of the CLI. */
export function clientOptions(opts: CommonOptions, io: OpsIO): ClusterOptions {
  return {
    bootstrap: bootstrapOf(opts, io),
    clientId: 'rafka-cli',
    connectTimeoutMs: Math.min(CONNECT_TIMEOUT_MS, opts.timeout),
    requestTimeoutMs: opts.timeout,
    ...security(opts, io),
  };
}

/**
 * Connect once before doing anything: an unreachable broker is one clear error within seconds
 * instead of retries until the request deadline.
 */
export async function reach(cluster: Cluster, opts: CommonOptions, io: OpsIO): Promise<void> {
  try {
    await cluster.anyConnection();
  } catch (e) {
    // A refused login or certificate is its own clear message, not "unreachable".
    if (e instanceof TlsError || e instanceof KafkaProtocolError) throw e;
    const why = e instanceof Error ? e.message : String(e);
    throw new ConnectionError(`no broker reachable at ${bootstrapOf(opts, io)} (${why})`);
  }
}

/** An Admin that has reached a broker; closed by `withAdmin`. */
export async function withAdmin<T>(opts: CommonOptions, io: OpsIO, fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = new Admin(clientOptions(opts, io));
  try {
    await reach(admin.cluster, opts, io);
    return await fn(admin);
  } finally {
    await admin.close();
  }
}

/**
 * Fail at once on a topic that does not exist: the clients retry UNKNOWN_TOPIC_OR_PARTITION (it is
 * retriable, since a topic may be being created) until their deadline, which a CLI should not.
 */
export async function requireTopic(admin: Admin, topic: string): Promise<void> {
  await admin.describeTopics([topic]);
}

/** `TOPIC` or `TOPIC:PARTITION`. */
export function parseTopicPartition(value: string): { topic: string; partition: number | null } {
  const m = /^(.+?)(?::(\d+))?$/.exec(value);
  if (!m || m[1]!.includes(':')) throw new UsageError(`expected TOPIC or TOPIC:PARTITION (got "${value}")`);
  return { topic: m[1]!, partition: m[2] === undefined ? null : Number(m[2]) };
}

// --------------------------------------------------------------------------------------------------
// Output
// --------------------------------------------------------------------------------------------------

export type Cell = string | number | boolean | null | undefined;

/** Writes to stdout, waiting when the pipe is full (a slow reader, `| less`) instead of buffering without bound. */
export function write(stream: NodeJS.WritableStream, data: string | Uint8Array): Promise<void> {
  if (stream.write(data)) return Promise.resolve();
  // A closed pipe (`| head`) never drains: its error ends the wait as well.
  return new Promise((resolve) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('error', done);
      resolve();
    };
    stream.once('drain', done);
    stream.once('error', done);
  });
}

export function printJson(io: OpsIO, value: unknown): Promise<void> {
  return write(io.stdout, JSON.stringify(value, null, 2) + '\n');
}

function cellText(c: Cell): string {
  if (c === null || c === undefined || c === '') return '-';
  return String(c);
}

/**
 * A table: boxed on a terminal; plain aligned columns otherwise, so `awk '{print $1}'` works on it.
 * No colours, so piped output has no escape codes.
 */
export function renderTable(head: string[], rows: Cell[][], tty: boolean): string {
  if (!tty) {
    const t = new Table({
      head,
      chars: { top: '', 'top-mid': '', 'top-left': '', 'top-right': '', bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '', left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '' },
      style: { head: [], border: [], 'padding-left': 0, 'padding-right': 2 },
    });
    for (const r of rows) t.push(r.map(cellText));
    return t.toString().split('\n').map((l) => l.trimEnd()).join('\n') + '\n';
  }
  const t = new Table({ head, style: { head: [], border: [] } });
  for (const r of rows) t.push(r.map(cellText));
  return t.toString() + '\n';
}

export function printTable(io: OpsIO, head: string[], rows: Cell[][]): Promise<void> {
  return write(io.stdout, renderTable(head, rows, io.stdout.isTTY === true));
}

export function printLine(io: OpsIO, line: string): Promise<void> {
  return write(io.stdout, line + '\n');
}

/** Milliseconds since the epoch as ISO 8601 (tables); -1 / null as none. */
export function isoTime(ms: number | null): string | null {
  return ms === null || ms < 0 ? null : new Date(ms).toISOString();
}
