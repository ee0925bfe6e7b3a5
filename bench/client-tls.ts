/**
 * What TLS and SASL cost Rafka's client (issue 18 item 5): produce and consume throughput of the
 * Rafka client against one broker (its own process, memory engine) through its PLAINTEXT, SSL and
 * SASL_SSL (SCRAM-SHA-512) listeners, `npm run bench:client-tls [-- --quick]`. The workload is
 * bench/client.ts's: 16 send() calls of 100 records outstanding, acks=all, 4 partitions; consume
 * reads the topic back with assign(). Each figure is the median of 3 rounds (1 quick) in which the
 * listeners take turns. The CA and the broker's certificate are made with openssl in a temporary
 * directory (test/helpers/certs.ts). Results: bench/results/client-tls-<date>.json.
 */
import { fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startBroker } from '../src/broker/index.js';
import { Admin, Consumer, Producer, type ClusterOptions } from '../src/client/index.js';
import { makePki } from '../test/helpers/certs.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..');
const PASSWORD = 'bench-scram-password';
const CALL_RECORDS = 100;
const OUTSTANDING = 16;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

async function produce(opts: ClusterOptions, topic: string, total: number, value: Buffer): Promise<number> {
  const producer = new Producer(opts);
  const messages = Array.from({ length: CALL_RECORDS }, () => ({ value }));
  await producer.send(topic, { value });
  let started = 0;
  const t = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: OUTSTANDING }, async () => {
      while (started < total / CALL_RECORDS) {
        started++;
        await producer.send(topic, messages);
      }
    }),
  );
  const s = Number(process.hrtime.bigint() - t) / 1e9;
  await producer.close();
  return s;
}

async function consume(opts: ClusterOptions, topic: string, partitions: number, expect: number): Promise<number> {
  const consumer = new Consumer(opts);
  consumer.assign(Array.from({ length: partitions }, (_, partition) => ({ topic, partition, offset: 0 })));
  let seen = 0;
  const t = process.hrtime.bigint();
  for await (const _m of consumer) if (++seen >= expect) break;
  const s = Number(process.hrtime.bigint() - t) / 1e9;
  await consumer.close();
  return s;
}

async function main(quick: boolean): Promise<void> {
  const pki = await makePki();
  const child = fork(fileURLToPath(import.meta.url), ['--broker', pki.serverKeystore], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    const ports = await new Promise<Record<string, number>>((resolve, reject) => {
      child.once('message', (m) => resolve(m as Record<string, number>));
      child.once('exit', (code) => reject(new Error(`broker exited with ${code}`)));
    });
    const ssl = { ca: [pki.caPem] };
    const setups: Record<string, ClusterOptions> = {
      PLAINTEXT: { bootstrap: `127.0.0.1:${ports.PLAINTEXT}` },
      SSL: { bootstrap: `127.0.0.1:${ports.SSL}`, ssl },
      'SASL_SSL SCRAM-SHA-512': { bootstrap: `127.0.0.1:${ports.SASL_SSL}`, ssl, sasl: { mechanism: 'scram-sha-512', username: 'bench', password: PASSWORD } },
    };
    const names = Object.keys(setups);
    const rounds = quick ? 1 : 3;
    const admin = new Admin(setups.PLAINTEXT!);
    const rows: { listener: string; workload: string; recordBytes: number; records: number; recordsPerSec: number; mbPerSec: number; rounds: number[] }[] = [];
    const loads: number[] = [];
    for (const recordBytes of [100, 1024]) {
      const total = quick ? 20_000 : recordBytes === 100 ? 500_000 : 200_000;
      const value = Buffer.alloc(recordBytes, 0x61);
      const secs = new Map<string, number[]>();
      const add = (k: string, s: number) => secs.set(k, [...(secs.get(k) ?? []), s]);
      for (let round = 0; round < rounds; round++) {
        loads.push(os.loadavg()[0]!);
        const order = names.map((_, i) => names[(i + round) % names.length]!);
        const topicOf = (n: string) => `tls-bench-${n.replace(/\W+/g, '-')}-${recordBytes}-r${round}`;
        await admin.createTopics(order.map((n) => ({ topic: topicOf(n), numPartitions: 4 })));
        for (const n of order) add(`${n}/produce`, await produce(setups[n]!, topicOf(n), total, value));
        for (const n of order) add(`${n}/consume`, await consume(setups[n]!, topicOf(n), 4, total + 1));
        await admin.deleteTopics(order.map(topicOf));
      }
      for (const workload of ['produce', 'consume']) {
        for (const n of names) {
          const records = total + (workload === 'consume' ? 1 : 0);
          const s = secs.get(`${n}/${workload}`)!;
          const m = median(s);
          rows.push({ listener: n, workload, recordBytes, records, recordsPerSec: Math.round(records / m), mbPerSec: +((records * recordBytes) / m / 1e6).toFixed(1), rounds: s.map((x) => Math.round(records / x)) });
        }
      }
    }
    await admin.close();
    const result = { machine: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, node: process.version }, quick, loadAverage: loads.map((l) => +l.toFixed(2)), rows };
    console.log(`Rafka client over TLS/SASL, ${result.machine.cpu} × ${result.machine.cores}, node ${process.version}; median of ${rounds}; load average ${Math.min(...loads).toFixed(2)}–${Math.max(...loads).toFixed(2)}`);
    for (const r of rows) {
      const plain = rows.find((x) => x.listener === 'PLAINTEXT' && x.workload === r.workload && x.recordBytes === r.recordBytes)!;
      console.log(`${r.listener.padEnd(24)} ${r.workload.padEnd(8)} ${String(r.recordBytes).padStart(5)} B ${String(r.recordsPerSec).padStart(10)} records/s ${r.mbPerSec.toFixed(1).padStart(7)} MB/s  ${(r.recordsPerSec / plain.recordsPerSec).toFixed(2)}× plaintext   rounds ${r.rounds.join(' / ')}`);
    }
    const dir = path.join(repoRoot, 'bench', 'results');
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `client-tls-${new Date().toISOString().slice(0, 10)}${quick ? '-quick' : ''}.json`);
    writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
    console.log(`wrote ${path.relative(repoRoot, file)}`);
  } finally {
    child.kill('SIGTERM');
    await pki.cleanup();
  }
}

// The broker process: `client-tls.js --broker <keystore>` reports its listeners' ports over IPC.
if (process.argv[2] === '--broker') {
  const broker = await startBroker({
    listeners: ['PLAINTEXT://127.0.0.1:0', 'SSL://127.0.0.1:0', 'SASL_SSL://127.0.0.1:0'],
    sslKeystoreLocation: process.argv[3]!,
    saslEnabledMechanisms: ['SCRAM-SHA-512'],
    saslUsers: [{ name: 'bench', password: PASSWORD }],
    logLevel: 'warn',
  });
  process.send?.(Object.fromEntries(broker.listeners.map((l) => [l.name, l.port])));
  process.on('SIGTERM', () => void broker.close().then(() => process.exit(0)));
} else if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main(process.argv.includes('--quick'));
}
