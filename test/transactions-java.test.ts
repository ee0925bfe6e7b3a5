/**
 * The stock Java client (org.apache.kafka:kafka-clients 4.1.1 from Maven Central) running an
 * exactly-once read-process-write loop (test/clients/EosLoop.java: a group consumer with
 * read_committed and manual offsets, a transactional producer, sendOffsetsToTransaction, commit),
 * killed with SIGKILL in the middle and restarted with the same transactional.id: the restarted
 * instance's InitProducerId fences the old epoch (aborting whatever transaction the kill left open),
 * and afterwards the output topic read with read_committed holds every input record exactly once,
 * transformed, in input order per partition.
 *
 * Skipped when java, javac, Maven or Maven Central is missing, unless RAFKA_REQUIRE_CLIENTS=1 (CI).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import type { RunningBroker } from '../src/broker/index.js';
import { testBroker } from './helpers/broker.js';
import { findJavaClient, useClient, type JavaClient } from './helpers/external.js';

/** The program lives in the source tree: dist/test/x.js -> ../../test/clients/EosLoop.java. */
const SOURCE = fileURLToPath(new URL('../../test/clients/EosLoop.java', import.meta.url));
const PARTITIONS = 3;
const RECORDS = 2000;
const TXN_ID = 'java-eos-loop';

interface Loop {
  child: ChildProcess;
  lines: string[];
  stderr: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startLoop(java: JavaClient, bootstrap: string, sleepMs: number, untilCaughtUp: boolean): Loop {
  const child = spawn(java.command, ['-cp', java.classpath, 'EosLoop', bootstrap, 'eos-in', 'eos-out', 'eos-group', TXN_ID, String(sleepMs), String(untilCaughtUp)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const loop: Loop = { child, lines: [], stderr: [], exited: new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal }))) };
  let partial = '';
  child.stdout!.on('data', (d: Buffer) => {
    const text = partial + d.toString('utf8');
    const parts = text.split('\n');
    partial = parts.pop()!;
    loop.lines.push(...parts);
  });
  child.stderr!.on('data', (d: Buffer) => loop.stderr.push(d.toString('utf8')));
  return loop;
}

async function until(what: string, loop: Loop, done: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (loop.child.exitCode !== null || loop.child.signalCode !== null) {
      throw new Error(`EosLoop exited (${loop.child.exitCode ?? loop.child.signalCode}) before ${what}\nstdout:\n${loop.lines.slice(-10).join('\n')}\nstderr:\n${loop.stderr.join('').slice(-4000)}`);
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}\nstdout:\n${loop.lines.slice(-10).join('\n')}\nstderr:\n${loop.stderr.join('').slice(-4000)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** eos-out's records per partition, read by a kafkajs group consumer until `expect` arrive (or 30 s), then 1 s more. */
async function readAll(kafka: Kafka, readUncommitted: boolean, expect: number): Promise<{ outputs: string[][]; count: number }> {
  const consumer = kafka.consumer({ groupId: `java-eos-verify-${readUncommitted ? 'uncommitted' : 'committed'}`, readUncommitted });
  await consumer.connect();
  await consumer.subscribe({ topic: 'eos-out', fromBeginning: true });
  const outputs: string[][] = Array.from({ length: PARTITIONS }, () => []);
  let count = 0;
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      outputs[partition]!.push(message.value!.toString('utf8'));
      count++;
    },
  });
  const deadline = Date.now() + 30_000;
  while (count < expect && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  await new Promise((r) => setTimeout(r, 1000)); // a duplicate would arrive after the last expected record
  await consumer.disconnect();
  return { outputs, count };
}

const committedTxns = (loop: Loop): number => loop.lines.filter((l) => l.startsWith('committed ')).length;

describe('Java client (kafka-clients 4.1.1): exactly-once read-process-write, killed -9 and restarted', { timeout: 150_000 }, () => {
  let b: RunningBroker | undefined;
  const loops: Loop[] = [];
  let java: JavaClient;
  before(async () => {
    java = await findJavaClient(SOURCE);
  });
  after(async () => {
    for (const l of loops) if (l.child.exitCode === null && l.child.signalCode === null) l.child.kill('SIGKILL');
    await b?.close();
  });

  it('each input record is in the read_committed output exactly once, in order per partition', async (t) => {
    if (!useClient(t, java)) return;
    b = await testBroker();
    await b.broker.topics.create('eos-in', PARTITIONS, 1, {});
    await b.broker.topics.create('eos-out', PARTITIONS, 1, {});

    const kafka = new Kafka({ clientId: 'java-eos-test', brokers: [b.bootstrap], logLevel: logLevel.NOTHING });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const inputs: string[][] = Array.from({ length: PARTITIONS }, () => []);
    for (let i = 0; i < RECORDS; i++) inputs[i % PARTITIONS]!.push(`v${i}`);
    for (let p = 0; p < PARTITIONS; p++) {
      await producer.send({ topic: 'eos-in', messages: inputs[p]!.map((value) => ({ key: value, value, partition: p })) });
    }
    await producer.disconnect();

    // The first instance sleeps 200 ms inside each transaction (after its sends and offsets, before
    // its commit); it is killed after 8 commits, at a moment its open transaction has records in the
    // output log (a partition's first unstable offset is set), so the restart must abort them.
    const first = startLoop(java, b.bootstrap, 200, false);
    loops.push(first);
    const openWithRecords = (): boolean =>
      Array.from({ length: PARTITIONS }, (_, p) => b!.broker.producers.firstUnstableOffset('eos-out', p)).some((o) => o !== null);
    await until('the first instance to commit 8 transactions and write into a 9th', first, () => committedTxns(first) >= 8 && openWithRecords(), 60_000);
    first.child.kill('SIGKILL');
    await first.exited;
    const killed = b.broker.transactions.get(TXN_ID)!;
    const { producerId, producerEpoch: epochBefore } = killed;
    assert.equal(killed.state, 'Ongoing', 'killed inside a transaction');
    const processedFirst = Number(first.lines.filter((l) => l.startsWith('committed ')).pop()!.split(' ')[3]);
    assert.ok(processedFirst < RECORDS, `killed mid-stream (${processedFirst} of ${RECORDS} processed)`);

    const second = startLoop(java, b.bootstrap, 0, true);
    loops.push(second);
    await until('the second instance to initialize', second, () => second.lines.includes('initialized'), 30_000);
    // The restarted instance's InitProducerId bumped the epoch of the same producer id: the old one is fenced.
    const fenced = b.broker.transactions.get(TXN_ID)!;
    assert.equal(fenced.producerId, producerId);
    assert.ok(fenced.producerEpoch > epochBefore, `epoch ${fenced.producerEpoch} > ${epochBefore}`);
    await until('the second instance to catch up', second, () => second.lines.some((l) => l.startsWith('caught-up ')), 60_000);
    const exit = await second.exited;
    assert.equal(exit.code, 0, second.stderr.join('').slice(-4000));
    await b.broker.transactions.settle();

    const { outputs } = await readAll(kafka, false, RECORDS);
    for (let p = 0; p < PARTITIONS; p++) {
      assert.deepEqual(outputs[p], inputs[p]!.map((v) => `out-${v}`), `partition ${p}: each input once, transformed, in order`);
    }
    const txn = b.broker.transactions.get(TXN_ID)!;
    assert.equal(txn.state, 'CompleteCommit');

    // The records of the transaction the kill left open are in the log, aborted: read_uncommitted sees them.
    const { count: uncommitted } = await readAll(kafka, true, RECORDS + 1);
    assert.ok(uncommitted > RECORDS, `read_uncommitted sees the aborted records too (${uncommitted} > ${RECORDS})`);
    t.diagnostic(`${java.version}; killed after ${processedFirst} records; epoch ${epochBefore} -> ${fenced.producerEpoch}; ${uncommitted - RECORDS} aborted records in the log`);
  });
});
