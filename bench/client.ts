/**
 * `npm run bench:client [-- --quick]`: produce and consume throughput of the Rafka client against
 * kafkajs and @platformatic/kafka, one run, the same broker (in its own process, memory engine),
 * 100 B and 1 KiB records.
 *
 * Produce: the application keeps 16 send() calls of 100 records each outstanding, acks=all, no
 * compression, one topic of 4 partitions, unkeyed records; each client's defaults otherwise (ours is
 * idempotent, kafkajs is not). Consume: from the beginning of that topic until every record was
 * seen, timed from the start of fetching (kafkajs: its GROUP_JOIN event); ours with assign(),
 * kafkajs in a group with eachBatch (its fastest path), @platformatic/kafka in a group with its
 * message stream from the earliest offset (timed from consume()). Prints a table and writes
 * bench/results/client-<date>.json.
 */
import { fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { Consumer as PlatformaticConsumer, Producer as PlatformaticProducer } from '@platformatic/kafka';
import { Admin, Consumer, Producer } from '../src/client/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..');
const quick = process.argv.includes('--quick');

interface Row {
  client: string;
  workload: string;
  recordBytes: number;
  records: number;
  seconds: number;
  recordsPerSec: number;
  mbPerSec: number;
}

const CALL_RECORDS = 100;
const OUTSTANDING = 16;
const PARTITIONS = 4;

function row(client: string, workload: string, recordBytes: number, records: number, ns: bigint): Row {
  const seconds = Number(ns) / 1e9;
  return { client, workload, recordBytes, records, seconds: +seconds.toFixed(3), recordsPerSec: Math.round(records / seconds), mbPerSec: +((records * recordBytes) / seconds / 1e6).toFixed(1) };
}

async function pump(total: number, send: () => Promise<unknown>): Promise<void> {
  let started = 0;
  await Promise.all(
    Array.from({ length: OUTSTANDING }, async () => {
      while (started < total / CALL_RECORDS) {
        started++;
        await send();
      }
    }),
  );
}

async function main(): Promise<void> {
  const child = fork(path.join(here, 'broker-process.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m: any) => resolve(m.port));
    child.once('exit', (code) => reject(new Error(`broker exited with ${code}`)));
  });
  const bootstrap = `127.0.0.1:${port}`;
  const rows: Row[] = [];
  const admin = new Admin({ bootstrap });
  const kafka = new Kafka({ clientId: 'bench', brokers: [bootstrap], logLevel: logLevel.NOTHING });
  try {
    for (const recordBytes of [100, 1024]) {
      const total = quick ? 20_000 : recordBytes === 100 ? 1_000_000 : 300_000;
      const value = Buffer.alloc(recordBytes, 0x61);
      const messages = Array.from({ length: CALL_RECORDS }, () => ({ value }));

      // --- produce ---
      const ourTopic = `bench-rafka-${recordBytes}`;
      const theirTopic = `bench-kafkajs-${recordBytes}`;
      const platTopic = `bench-platformatic-${recordBytes}`;
      await admin.createTopics([
        { topic: ourTopic, numPartitions: PARTITIONS },
        { topic: theirTopic, numPartitions: PARTITIONS },
        { topic: platTopic, numPartitions: PARTITIONS },
      ]);

      const producer = new Producer({ bootstrap });
      await producer.send(ourTopic, { value }); // connect, metadata, producer id
      let t = process.hrtime.bigint();
      await pump(total, () => producer.send(ourTopic, messages));
      rows.push(row('rafka', 'produce', recordBytes, total, process.hrtime.bigint() - t));
      await producer.close();

      const kp = kafka.producer();
      await kp.connect();
      await kp.send({ topic: theirTopic, messages: [{ value }] });
      t = process.hrtime.bigint();
      await pump(total, () => kp.send({ topic: theirTopic, acks: -1, messages }));
      rows.push(row('kafkajs', 'produce', recordBytes, total, process.hrtime.bigint() - t));
      await kp.disconnect();

      const pp = new PlatformaticProducer({ clientId: 'bench', bootstrapBrokers: [bootstrap], acks: -1 });
      const platMessages = messages.map((m) => ({ topic: platTopic, value: m.value }));
      await pp.send({ messages: [{ topic: platTopic, value }] });
      t = process.hrtime.bigint();
      await pump(total, () => pp.send({ messages: platMessages }));
      rows.push(row('platformatic', 'produce', recordBytes, total, process.hrtime.bigint() - t));
      await pp.close();

      // --- consume (each client reads the topic it wrote: total + 1 records) ---
      const expect = total + 1;
      const consumer = new Consumer({ bootstrap, autoOffsetReset: 'earliest' });
      await consumer.cluster.refreshMetadata([ourTopic]);
      const first = process.hrtime.bigint();
      consumer.assign(Array.from({ length: PARTITIONS }, (_, partition) => ({ topic: ourTopic, partition })));
      let seen = 0;
      for await (const _m of consumer) {
        if (++seen === expect) break;
      }
      rows.push(row('rafka', 'consume', recordBytes, expect, process.hrtime.bigint() - first));
      await consumer.close();

      const kc = kafka.consumer({ groupId: `bench-${recordBytes}`, maxBytesPerPartition: 1 << 20, maxBytes: 50 << 20 });
      await kc.connect();
      await kc.subscribe({ topic: theirTopic, fromBeginning: true });
      let kseen = 0;
      // Timed from the moment kafkajs has joined its group and starts fetching.
      let kfirst = 0n;
      kc.on(kc.events.GROUP_JOIN, () => {
        kfirst = process.hrtime.bigint();
      });
      let kdone!: () => void;
      const finished = new Promise<void>((r) => (kdone = r));
      let kend = 0n;
      await kc.run({
        autoCommit: true,
        eachBatch: async ({ batch }) => {
          kseen += batch.messages.length;
          if (kseen >= expect && kend === 0n) {
            kend = process.hrtime.bigint();
            kdone();
          }
        },
      });
      await finished;
      rows.push(row('kafkajs', 'consume', recordBytes, expect, kend - kfirst));
      await kc.disconnect();

      const pc = new PlatformaticConsumer({ groupId: `bench-plat-${recordBytes}`, clientId: 'bench', bootstrapBrokers: [bootstrap], maxBytes: 50 << 20 });
      const pfirst = process.hrtime.bigint();
      const stream = await pc.consume({ topics: [platTopic], mode: 'earliest', autocommit: false });
      let pseen = 0;
      for await (const _m of stream) {
        if (++pseen === expect) break;
      }
      rows.push(row('platformatic', 'consume', recordBytes, expect, process.hrtime.bigint() - pfirst));
      await stream.close();
      await pc.close(true);
    }
  } finally {
    await admin.close();
    child.kill('SIGTERM');
  }

  console.log(`client throughput, ${os.cpus()[0]?.model ?? 'cpu'} × ${os.cpus().length}, node ${process.version}${quick ? ' (quick)' : ''}`);
  console.log('client       workload  record  records     seconds   records/s      MB/s');
  for (const r of rows) {
    console.log(`${r.client.padEnd(12)} ${r.workload.padEnd(9)} ${String(r.recordBytes).padStart(6)} ${String(r.records).padStart(8)} ${r.seconds.toFixed(3).padStart(11)} ${String(r.recordsPerSec).padStart(11)} ${r.mbPerSec.toFixed(1).padStart(9)}`);
  }
  for (const recordBytes of [100, 1024]) {
    for (const w of ['produce', 'consume']) {
      const ours = rows.find((r) => r.client === 'rafka' && r.workload === w && r.recordBytes === recordBytes)!;
      const theirs = rows.find((r) => r.client === 'kafkajs' && r.workload === w && r.recordBytes === recordBytes)!;
      const plat = rows.find((r) => r.client === 'platformatic' && r.workload === w && r.recordBytes === recordBytes)!;
      console.log(
        `${w} ${recordBytes} B: rafka / kafkajs = ${(ours.recordsPerSec / theirs.recordsPerSec).toFixed(2)}× (target ≥ 2), rafka / @platformatic/kafka = ${(ours.recordsPerSec / plat.recordsPerSec).toFixed(2)}× (target ≥ 1.2)`,
      );
    }
  }
  const dir = path.join(repoRoot, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `client-${new Date().toISOString().slice(0, 10)}${quick ? '-quick' : ''}.json`);
  writeFileSync(file, JSON.stringify({ machine: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, node: process.version }, rows }, null, 2) + '\n');
  console.log(`wrote ${path.relative(repoRoot, file)}`);
}

await main();
