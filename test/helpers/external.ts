/**
 * Outside clients the compatibility tests drive (kcat, Python's confluent-kafka), found on this
 * machine, and a bounded way to run them.
 *
 * A missing client skips its tests with a message naming the client and how to install it, unless
 * RAFKA_REQUIRE_CLIENTS=1 (CI sets it): then the same message fails the test, so CI can never pass
 * by skipping. Use it as
 *
 *   const kcat = findKcat();
 *   describe('kcat', { skip: skipUnless(kcat) }, () => {
 *     before(() => requireClient(kcat));   // fails here when the client is required but missing
 *     ...
 *   });
 */
import { spawn, spawnSync } from 'node:child_process';
import { compiledJavaClasspath } from '../../bench/kafka/perf-tools.js';
import { resolveKafka, type KafkaFlavor } from '../../bench/kafka/maven.js';

export interface ExternalClient {
  /** Human name, e.g. "kcat". */
  readonly name: string;
  /** The executable to run. */
  readonly command: string;
  /** Version line reported by the client, when found. */
  readonly version: string | null;
  /** Why the client cannot be used (and how to install it), or null when it can. */
  readonly missing: string | null;
}

/** True when a missing client must fail the tests instead of skipping them (CI). */
export function clientsRequired(): boolean {
  return process.env.RAFKA_REQUIRE_CLIENTS === '1';
}

/**
 * For node:test's `skip` option: the reason to skip when the client is missing and not required,
 * otherwise false (the test runs, and `requireClient` fails it if the client is missing).
 */
export function skipUnless(client: ExternalClient): string | false {
  if (client.missing === null || clientsRequired()) return false;
  return client.missing;
}

/** Throw (failing the test or hook) if the client is missing; call it first in the test or `before`. */
export function requireClient(client: ExternalClient): void {
  if (client.missing !== null) {
    throw new Error(`${client.missing}${clientsRequired() ? ' (RAFKA_REQUIRE_CLIENTS=1: a missing client is a failure)' : ''}`);
  }
}

/** Whether the test should go on: skips it through `t.skip` when the client is missing and not required. */
export function useClient(t: { skip(message?: string): void }, client: ExternalClient): boolean {
  const reason = skipUnless(client);
  if (reason !== false) {
    t.skip(reason);
    return false;
  }
  requireClient(client);
  return true;
}

let kcatCache: ExternalClient | undefined;
let chromiumCache: ExternalClient | undefined;
let confluentCache: ExternalClient | undefined;

/** A program from a Debian package, found by running it with `args` (its version flag). */
function probeDebianProgram(o: { name: string; command: string; args: string[]; pkg: string; notFound: string; timeoutMs: number; version: (out: string) => string }): ExternalClient {
  const r = spawnSync(o.command, o.args, { encoding: 'utf8', timeout: o.timeoutMs });
  let missing: string | null = null;
  let version: string | null = null;
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
    missing = `${o.command} ${o.notFound}: install the Debian package ${o.pkg} (apt-get install ${o.pkg})`;
  } else if (r.error || r.status !== 0) {
    missing = `${o.command} ${o.args.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`}): ${(r.stderr ?? '').trim()}; reinstall the Debian package ${o.pkg}`;
  } else {
    version = o.version(`${r.stdout}${r.stderr}`);
  }
  return { name: o.name, command: o.command, version, missing };
}

/** `kcat` on PATH (the Debian/Ubuntu package `kcat`, librdkafka built in). */
export function findKcat(): ExternalClient {
  kcatCache ??= probeDebianProgram({
    name: 'kcat',
    command: process.env.RAFKA_KCAT ?? 'kcat',
    args: ['-V'],
    pkg: 'kcat',
    notFound: 'not found on PATH',
    timeoutMs: 10_000,
    version: (out) => out.split('\n').find((l) => /^Version /.test(l.trim()))?.trim() ?? (out.split('\n')[0] ?? '').trim(),
  });
  return kcatCache;
}

/**
 * Debian's `chromium`, which playwright-core drives for the web console's tests
 * (test/slow/console-browser.test.ts); RAFKA_CHROMIUM names another binary.
 */
export function findChromium(): ExternalClient {
  chromiumCache ??= probeDebianProgram({
    name: 'chromium',
    command: process.env.RAFKA_CHROMIUM ?? '/usr/bin/chromium',
    args: ['--version'],
    pkg: 'chromium',
    notFound: 'not found (or set RAFKA_CHROMIUM)',
    timeoutMs: 20_000,
    version: (out) => (out.split('\n').find((l) => /Chromium/.test(l)) ?? out).trim(),
  });
  return chromiumCache;
}

/** `python3` that can `import confluent_kafka` (pip install confluent-kafka). */
export function findConfluentKafka(): ExternalClient {
  if (confluentCache) return confluentCache;
  const command = process.env.RAFKA_PYTHON ?? 'python3';
  const r = spawnSync(command, ['-c', 'import confluent_kafka; print(confluent_kafka.version()[0], confluent_kafka.libversion()[0])'], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  let missing: string | null = null;
  let version: string | null = null;
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
    missing = `${command} not found on PATH: install Python 3, then pip install confluent-kafka`;
  } else if (r.error || r.status !== 0) {
    const why = (r.stderr ?? '').trim().split('\n').pop() ?? r.error?.message ?? `exit ${r.status}`;
    missing = `${command} cannot import confluent_kafka (${why}): pip install confluent-kafka`;
  } else {
    const [py, lib] = r.stdout.trim().split(/\s+/);
    version = `confluent-kafka ${py}, librdkafka ${lib}`;
  }
  confluentCache = { name: 'confluent-kafka', command, version, missing };
  return confluentCache;
}

/** A Java program of ours compiled against Apache Kafka's client jars, ready to run with `java -cp classpath`. */
export interface JavaClient extends ExternalClient {
  /** Our compiled classes, then kafka-clients and its dependencies; empty when missing. */
  readonly classpath: string;
}

/**
 * `java` plus the stock Java client (org.apache.kafka:kafka-clients, with the rest of Apache Kafka
 * 4.1.1 as bench/kafka/maven.ts resolves it from Maven Central into ~/.cache/rafka-bench, outside the
 * repository; with flavor 'streams', kafka-streams and its dependencies instead), and `source` (one
 * of our .java files) compiled against them with javac.
 */
export async function findJavaClient(source: string, flavor: KafkaFlavor = 'broker'): Promise<JavaClient> {
  const javac = spawnSync('javac', ['-version'], { encoding: 'utf8', timeout: 20_000 });
  if (javac.error || javac.status !== 0) {
    return { name: 'java', command: 'java', version: null, classpath: '', missing: 'javac not found on PATH: install a JDK 17+ (apt-get install openjdk-17-jdk-headless) and Maven (apt-get install maven)' };
  }
  const kafka = await resolveKafka(undefined, flavor);
  if (!kafka.available) return { name: 'java', command: 'java', version: null, classpath: '', missing: kafka.reason };
  try {
    const classpath = compiledJavaClasspath(source, kafka.classpath, kafka.cacheDir);
    return { name: 'java', command: 'java', version: `${kafka.javaVersion}, ${flavor === 'streams' ? 'kafka-streams' : 'kafka-clients'} ${kafka.version}`, classpath, missing: null };
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    return { name: 'java', command: 'java', version: null, classpath: '', missing: `javac ${source} failed: ${e.stderr?.toString('utf8') ?? e.message}` };
  }
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
  ms: number;
}

export interface RunOptions {
  /** Written to the child's stdin, which is then closed (stdin is always closed). */
  input?: string | Buffer;
  /** Kill the child (SIGKILL) and reject after this long; default 20 s. */
  timeoutMs?: number;
  /** Reject unless the exit code is 0 (default true). */
  check?: boolean;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * Run a command to completion with a hard timeout, so a hanging client fails its test instead of
 * stalling CI. The rejection message carries the command line, exit status and stderr.
 */
export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  const check = options.check ?? true;
  const started = Date.now();
  const shown = [command, ...args.map((a) => (a.length > 80 ? `${a.slice(0, 77)}...` : a))].join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], cwd: options.cwd, env: options.env });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.stdin.on('error', () => {}); // the child may exit before reading all its input
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`${shown}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const result: RunResult = { code, signal, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8'), ms: Date.now() - started };
      const tail = result.stderr.length > 4000 ? `...${result.stderr.slice(-4000)}` : result.stderr;
      if (timedOut) reject(new Error(`${shown}: timed out after ${timeoutMs} ms (killed)\nstderr:\n${tail}`));
      else if (check && code !== 0) reject(new Error(`${shown}: exit ${code ?? signal}\nstderr:\n${tail}`));
      else resolve(result);
    });
    child.stdin.end(options.input ?? '');
  });
}
