/**
 * test/clients/Kip848Consumer.java driven from a test: one JVM per group member (KIP-848 or classic
 * protocol), its printed assignments and records collected, waits with a deadline that report the
 * members' state, and the checks the group tests share (assignments disjoint and covering).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import type { RunningBroker } from '../../src/broker/index.js';
import { testBroker } from './broker.js';
import { findJavaClient, type JavaClient } from './external.js';

/** The consumer's source; compiled by findJavaClient. */
export const KIP848_CONSUMER_SOURCE = fileURLToPath(new URL('../../../test/clients/Kip848Consumer.java', import.meta.url));

export interface Consumer {
  name: string;
  child: ChildProcess;
  lines: string[];
  stderr: string[];
  /** Every assignment it printed, in order. */
  assignments: string[][];
  /** topic/partition/offset → value of every record it read. */
  records: string[];
  exited: Promise<number | null>;
}

export function start(java: JavaClient, b: RunningBroker, name: string, group: string, mode: 'names' | 'regex', spec: string, instanceId = '-', protocol: 'consumer' | 'classic' = 'consumer'): Consumer {
  const child = spawn(java.command, ['-cp', java.classpath, 'Kip848Consumer', b.bootstrap, group, mode, spec, instanceId, '-', protocol], { stdio: ['pipe', 'pipe', 'pipe'] });
  const c: Consumer = { name, child, lines: [], stderr: [], assignments: [], records: [], exited: new Promise((resolve) => child.on('close', (code) => resolve(code))) };
  let partial = '';
  child.stdout!.on('data', (d: Buffer) => {
    const parts = (partial + d.toString('utf8')).split('\n');
    partial = parts.pop()!;
    for (const line of parts) {
      c.lines.push(line);
      if (line.startsWith('A ')) c.assignments.push(line.slice(2) === '' ? [] : line.slice(2).split(','));
      else if (line === 'A') c.assignments.push([]);
      else if (line.startsWith('R ')) {
        const [, topic, partition, offset] = line.split(' ');
        c.records.push(`${topic}/${partition}/${offset}`);
      }
    }
  });
  child.stderr!.on('data', (d: Buffer) => c.stderr.push(d.toString('utf8')));
  return c;
}

export const current = (c: Consumer): string[] => c.assignments.at(-1) ?? [];

export async function until(what: string, cs: Consumer[], done: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    for (const c of cs) {
      if (c.child.exitCode !== null || c.child.signalCode !== null) {
        throw new Error(`${c.name} exited (${c.child.exitCode ?? c.child.signalCode}) before ${what}\nstdout:\n${c.lines.slice(-10).join('\n')}\nstderr:\n${c.stderr.join('').slice(-4000)}`);
      }
    }
    if (Date.now() > deadline) {
      const state = cs.map((c) => `${c.name}: ${current(c).join(',')} (${c.records.length} records)`).join('\n');
      throw new Error(`timed out waiting for ${what}\n${state}\n${cs.map((c) => c.stderr.join('').slice(-2000)).join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function stop(c: Consumer): Promise<void> {
  c.child.stdin!.end('stop\n');
  const code = await c.exited;
  assert.equal(code, 0, `${c.name} exit code\n${c.stderr.join('').slice(-4000)}`);
  assert.equal(c.lines.at(-1), 'CLOSED');
}

export function disjointCover(cs: Consumer[], all: string[]): boolean {
  const seen = cs.flatMap(current);
  return seen.length === all.length && new Set(seen).size === all.length && all.every((p) => seen.includes(p));
}

export async function produce(producer: Producer, topic: string, partitions: number, from: number, n: number): Promise<void> {
  const messages = Array.from({ length: n }, (_, i) => ({ value: `v${from + i}`, partition: (from + i) % partitions }));
  await producer.send({ topic, messages });
}

/**
 * What a suite of Java group tests shares: the compiled consumer, a broker with short KIP-848
 * heartbeats (so reconciliation steps follow each other quickly), a kafkajs producer, and every
 * consumer it started (killed at tear-down if still running). Nothing starts when Java is missing.
 */
export class JavaGroupFixture {
  b: RunningBroker | undefined;
  java!: JavaClient;
  producer!: Producer;
  private readonly running: Consumer[] = [];

  constructor(private readonly clientId: string) {}

  async setUp(): Promise<void> {
    this.java = await findJavaClient(KIP848_CONSUMER_SOURCE);
    if (this.java.missing !== null) return;
    this.b = await testBroker({ groupConsumerHeartbeatIntervalMs: 300 });
    this.producer = new Kafka({ clientId: this.clientId, brokers: [this.b.bootstrap], logLevel: logLevel.NOTHING }).producer();
    await this.producer.connect();
  }

  async tearDown(): Promise<void> {
    for (const c of this.running) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
    await this.producer?.disconnect();
    await this.b?.close();
  }

  run(...args: Parameters<typeof start> extends [JavaClient, RunningBroker, ...infer R] ? R : never): Consumer {
    const c = start(this.java, this.b!, ...args);
    this.running.push(c);
    return c;
  }
}
