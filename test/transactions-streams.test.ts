/**
 * Kafka Streams 4.1.1 (org.apache.kafka:kafka-streams from Maven Central) with
 * processing.guarantee=exactly_once_v2 against Rafka: examples/streams-wordcount/WordCount.java
 * counts the words of lines produced with kafkajs; Streams creates its repartition and changelog
 * topics, joins its group, and commits each interval's output, changelog writes and input offsets in
 * one transaction. The output topic read with read_committed (kafkajs, readUncommitted: false) ends
 * with the right count for every word (the last value per key).
 *
 * Skipped when java, javac, Maven or Maven Central is missing, unless RAFKA_REQUIRE_CLIENTS=1 (CI).
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import type { RunningBroker } from '../src/broker/index.js';
import { testBroker } from './helpers/broker.js';
import { findJavaClient, useClient } from './helpers/external.js';

/** The program lives in the source tree: dist/test/x.js -> ../../examples/streams-wordcount/WordCount.java. */
const SOURCE = fileURLToPath(new URL('../../examples/streams-wordcount/WordCount.java', import.meta.url));
const PARTITIONS = 2;
const LINES = [
  'the quick brown fox',
  'jumps over the lazy dog',
  'The dog barks',
  'a fox, a dog, the end',
  'exactly once: once and only once',
];

function expectedCounts(lines: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of lines) {
    for (const w of line.toLowerCase().split(/\W+/)) if (w !== '') counts.set(w, (counts.get(w) ?? 0) + 1);
  }
  return counts;
}

describe('Kafka Streams 4.1.1: exactly_once_v2 word count', { timeout: 120_000 }, () => {
  let b: RunningBroker | undefined;
  let child: ChildProcess | undefined;
  let stateDir: string | undefined;
  after(async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await b?.close();
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  });

  it('the read_committed output ends with each word\'s count', async (t) => {
    const java = await findJavaClient(SOURCE, 'streams');
    if (!useClient(t, java)) return;
    b = await testBroker();
    await b.broker.topics.create('words-in', PARTITIONS, 1, {});
    await b.broker.topics.create('words-out', PARTITIONS, 1, {});

    const kafka = new Kafka({ clientId: 'streams-test', brokers: [b.bootstrap], logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    // Two rounds, the second after Streams has processed the first, so counts are updated in place.
    const first = LINES.slice(0, 3);
    const second = LINES.slice(3);
    await producer.send({ topic: 'words-in', messages: first.map((value, i) => ({ key: `k${i}`, value })) });

    stateDir = mkdtempSync(path.join(os.tmpdir(), 'rafka-streams-state-'));
    child = spawn(java.command, ['-Xmx256M', '-cp', java.classpath, 'WordCount', b.bootstrap, 'words-in', 'words-out', 'wordcount-test', stateDir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: string[] = [];
    child.stdout!.on('data', (d: Buffer) => out.push(d.toString('utf8')));
    child.stderr!.on('data', (d: Buffer) => out.push(d.toString('utf8')));
    const log = (): string => out.join('').slice(-6000);

    const latest = new Map<string, number>();
    const consumer = kafka.consumer({ groupId: 'streams-test-verify', readUncommitted: false });
    await consumer.connect();
    await consumer.subscribe({ topic: 'words-out', fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        latest.set(message.key!.toString('utf8'), Number(message.value!.readBigInt64BE(0)));
      },
    });
    const sameAs = (want: Map<string, number>): boolean => want.size === latest.size && [...want].every(([w, n]) => latest.get(w) === n);
    const until = async (what: string, done: () => boolean, ms: number): Promise<void> => {
      const deadline = Date.now() + ms;
      while (!done()) {
        if (child!.exitCode !== null || child!.signalCode !== null) throw new Error(`WordCount exited (${child!.exitCode ?? child!.signalCode}) before ${what}\n${log()}`);
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; output so far ${JSON.stringify([...latest])}\n${log()}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    try {
      await until('the counts of the first lines', () => sameAs(expectedCounts(first)), 60_000);
      await producer.send({ topic: 'words-in', messages: second.map((value, i) => ({ key: `k${i + first.length}`, value })) });
      await until('the counts of all lines', () => sameAs(expectedCounts(LINES)), 30_000);
    } finally {
      await consumer.disconnect();
      await producer.disconnect();
    }
    // Streams made its internal topics through CreateTopics, and its exactly_once_v2 producer
    // (transactional.id <application.id>-<process id>-<thread>) committed transactions here.
    const internal = b.broker.topics.list().map((topic) => topic.name).filter((n) => n.startsWith('wordcount-test-'));
    assert.ok(internal.some((n) => n.endsWith('-repartition')), `a repartition topic among ${internal.join(', ')}`);
    assert.ok(internal.some((n) => n.endsWith('-changelog')), `a changelog topic among ${internal.join(', ')}`);
    const txns = b.broker.transactions.list([], []).filter((x) => x.transactionalId.startsWith('wordcount-test-'));
    assert.equal(txns.length, 1, `one Streams transactional id: ${JSON.stringify(txns)}`);
    child.kill('SIGTERM');
    const exit = await new Promise<number | null>((resolve) => child!.on('close', (code) => resolve(code)));
    assert.ok(exit === 0 || exit === 143, `WordCount stopped cleanly (exit ${exit})\n${log()}`);
    assert.match(log(), /state RUNNING/);
    t.diagnostic(`${java.version}; final counts ${JSON.stringify(Object.fromEntries(latest))}`);
  });
});
