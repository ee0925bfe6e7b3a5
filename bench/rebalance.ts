/**
 * Rebalance time when a fourth member joins a group of three on a topic of 12 partitions: the
 * classic protocol (JoinGroup/SyncGroup, the Java client's default eager range assignor) against the
 * KIP-848 consumer protocol (`group.protocol=consumer`, the broker's uniform assignor), on Rafka
 * (memory engine) and on Apache Kafka 4.1.1, with the same Java client (kafka-clients 4.1.1,
 * test/clients/Kip848Consumer.java, one JVM per member). Both brokers run with their defaults
 * (heartbeat interval 5 s for the consumer protocol, the client's 3 s for the classic one) and
 * `group.initial.rebalance.delay.ms=0`, as bench/compare.ts starts them.
 *
 * Measured: from the moment the fourth member has subscribed (it prints S before its first poll)
 * until all four own three partitions each, disjoint, as each member prints its assignment.
 *
 *   npm run build && node dist/bench/rebalance.js [runs]      (default 3 runs per cell, median shown)
 *
 * RAFKA_BENCH_SYSTEMS=rafka-memory (or kafka) limits the systems.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { resolveKafka } from './kafka/maven.js';
import { compiledJavaClasspath } from './kafka/perf-tools.js';
import { kafkaSystem, rafkaSystem, type RunningSystem, type SystemSpec } from './kafka/systems.js';
import { median } from './compare.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const SOURCE = path.join(REPO, 'test', 'clients', 'Kip848Consumer.java');
const PARTITIONS = 12;
const SETTLE_TIMEOUT_MS = 120_000;

interface Member {
  child: ChildProcess;
  assignment: string[];
  subscribedAt: number | null;
}

function startMember(classpath: string, bootstrap: string, group: string, topic: string, protocol: 'classic' | 'consumer'): Member {
  const child = spawn('java', ['-cp', classpath, 'Kip848Consumer', bootstrap, group, 'names', topic, '-', '-', protocol], { stdio: ['pipe', 'pipe', 'ignore'] });
  const m: Member = { child, assignment: [], subscribedAt: null };
  let partial = '';
  child.stdout!.on('data', (d: Buffer) => {
    const parts = (partial + d.toString('utf8')).split('\n');
    partial = parts.pop()!;
    for (const line of parts) {
      if (line === 'S') m.subscribedAt = performance.now();
      else if (line === 'A' || line.startsWith('A ')) m.assignment = line.length > 2 ? line.slice(2).split(',') : [];
    }
  });
  return m;
}

function balanced(ms: Member[], each: number): boolean {
  const all = ms.flatMap((m) => m.assignment);
  return ms.every((m) => m.assignment.length === each) && new Set(all).size === PARTITIONS;
}

async function until(done: () => boolean, what: string): Promise<void> {
  const deadline = performance.now() + SETTLE_TIMEOUT_MS;
  while (!done()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function stopAll(ms: Member[]): Promise<void> {
  await Promise.all(
    ms.map(async (m) => {
      if (m.child.exitCode !== null) return;
      const exited = new Promise((r) => m.child.once('close', r));
      m.child.stdin!.end('stop\n');
      const timer = setTimeout(() => m.child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    }),
  );
}

/** One measurement: three members settle, a fourth joins; ms until four members own three each. */
async function once(sys: RunningSystem, classpath: string, protocol: 'classic' | 'consumer', run: number): Promise<number> {
  const topic = `rebalance-${protocol}-${run}`;
  const admin = new Kafka({ clientId: 'bench-rebalance', brokers: [sys.bootstrap], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 1 }] });
  await admin.disconnect();
  const group = `${topic}-group`;
  const members = [0, 1, 2].map(() => startMember(classpath, sys.bootstrap, group, topic, protocol));
  try {
    await until(() => balanced(members, 4), 'three members with four partitions each');
    const fourth = startMember(classpath, sys.bootstrap, group, topic, protocol);
    members.push(fourth);
    await until(() => fourth.subscribedAt !== null, 'the fourth member to subscribe');
    await until(() => balanced(members, 3), 'four members with three partitions each');
    return performance.now() - fourth.subscribedAt!;
  } finally {
    await stopAll(members);
  }
}

async function main(): Promise<void> {
  const runs = Number(process.argv[2] ?? 3);
  const runtime = await resolveKafka();
  if (!runtime.available) throw new Error(`Kafka jars unavailable: ${runtime.reason}`);
  const classpath = compiledJavaClasspath(SOURCE, runtime.classpath, runtime.cacheDir);
  const only = process.env.RAFKA_BENCH_SYSTEMS?.split(',').map((s) => s.trim());
  const specs: SystemSpec[] = [rafkaSystem(REPO, 'memory'), kafkaSystem(runtime, { fsyncEveryAppend: false })].filter((s) => !only || only.includes(s.name));
  const rows: string[] = [];
  for (const spec of specs) {
    const sys = await spec.start();
    try {
      for (const protocol of ['classic', 'consumer'] as const) {
        const times: number[] = [];
        for (let run = 0; run < runs; run++) {
          const ms = await once(sys, classpath, protocol, run);
          times.push(ms);
          console.error(`${spec.name} ${protocol} run ${run}: ${ms.toFixed(0)} ms`);
        }
        rows.push(`| ${spec.name} | ${protocol} | ${median(times).toFixed(0)} | ${times.map((t) => t.toFixed(0)).join(', ')} |`);
      }
    } finally {
      await sys.stop();
    }
  }
  console.log('| system | protocol | median ms | runs (ms) |');
  console.log('|--------|----------|----------:|-----------|');
  for (const r of rows) console.log(r);
}

main().catch((err: unknown) => {
  console.error((err as Error).stack ?? String(err));
  process.exitCode = 1;
});
