/**
 * The test kit's figure (issue 20): the wall time of a test file of 20 tests, each on a fresh topic
 * (bench/testkit/twenty-topics.test.mjs: kafkajs produce + group consume), run as a user runs it —
 * `node --test --import rafka/testing/node-test`, the broker started in the test process — from
 * spawn to exit; beside the start-up of Apache Kafka 4.1.1 (KRaft, bench/kafka/) measured in the
 * same run: its storage format, then spawn until a client's Metadata names a broker — what a test
 * suite on a containerless Kafka waits before its first test (Testcontainers adds a container on top).
 */
import path from 'node:path';
import { runNodeTest } from '../test/helpers/node-test-run.js';
import { resolveKafka } from './kafka/maven.js';
import { kafkaSystem } from './kafka/systems.js';

export interface TestkitResult {
  /** Tests in the file, and how many passed. */
  tests: number;
  passed: number;
  /** Spawn of `node --test` to its exit (broker start, 20 tests, shutdown), median of the runs. */
  fileWallMs: number;
  /** node:test's own duration_ms of the same runs (median). */
  runnerDurationMs: number;
  runs: number;
  kafka: { version: string; formatMs: number; startToMetadataMs: number; startToFirstProduceMs: number } | { unavailable: string };
}

const FILE = path.join('bench', 'testkit', 'twenty-topics.test.mjs');
const TESTS = 20;

export async function runTestkitBench(o: { repoRoot: string; quick: boolean; kafka: boolean; log: (line: string) => void }): Promise<TestkitResult> {
  const runs = o.quick ? 1 : 3;
  const walls: number[] = [];
  const durations: number[] = [];
  let passed = 0;
  for (let i = 0; i < runs; i++) {
    const env = { ...process.env };
    delete env.KAFKA_BOOTSTRAP;
    const r = await runNodeTest(['--import', 'rafka/testing/node-test', FILE], { cwd: o.repoRoot, env });
    passed = Number(/^# pass (\d+)$/m.exec(r.out)?.[1] ?? 0);
    if (r.code !== 0 || passed !== TESTS) throw new Error(`testkit bench: ${FILE} failed (exit ${r.code}, ${passed}/${TESTS} passed)\n${r.out.slice(-2000)}`);
    walls.push(r.wallMs);
    durations.push(r.durationMs);
    o.log(`testkit: run ${i + 1}/${runs}: ${r.wallMs.toFixed(0)} ms`);
  }
  return { tests: TESTS, passed, fileWallMs: median(walls), runnerDurationMs: median(durations), runs, kafka: o.kafka ? await kafkaStartup(o.log) : { unavailable: 'not run (--no-kafka)' } };
}

async function kafkaStartup(log: (line: string) => void): Promise<TestkitResult['kafka']> {
  const runtime = await resolveKafka();
  if (!runtime.available) return { unavailable: runtime.reason };
  log(`testkit: starting Apache Kafka ${runtime.version}`);
  const sys = await kafkaSystem(runtime, { fsyncEveryAppend: false }).start();
  try {
    return { version: runtime.version, formatMs: sys.prepareMs, startToMetadataMs: sys.startToMetadataMs, startToFirstProduceMs: sys.startToFirstProduceMs };
  } finally {
    await sys.stop();
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export function formatTestkitTable(r: TestkitResult): string {
  const lines = [`| test kit (median of ${r.runs}) | ms |`, '|---|---:|'];
  lines.push(`| rafka/testing: node --test file of ${r.tests} tests, each a fresh topic (spawn to exit, broker included) | ${r.fileWallMs.toFixed(0)} |`);
  lines.push(`| … node:test's duration_ms of that run | ${r.runnerDurationMs.toFixed(0)} |`);
  if ('unavailable' in r.kafka) lines.push(`| Apache Kafka start-up | unavailable: ${r.kafka.unavailable} |`);
  else {
    lines.push(`| Apache Kafka ${r.kafka.version} (KRaft): storage format | ${r.kafka.formatMs.toFixed(0)} |`);
    lines.push(`| Apache Kafka ${r.kafka.version}: spawn until a client's Metadata names a broker | ${r.kafka.startToMetadataMs.toFixed(0)} |`);
    lines.push(`| Apache Kafka ${r.kafka.version}: spawn until the first acknowledged produce | ${r.kafka.startToFirstProduceMs.toFixed(0)} |`);
  }
  return lines.join('\n');
}
