/**
 * Crash test of the write-ahead-logged memory engine with real processes: a child process appends
 * from several concurrent producers under `storage.fsync: always` (and writes snapshots as it goes),
 * printing each append only after it resolved; the test kills it with SIGKILL at a random moment,
 * recovers the directory, and checks that every acknowledged append is present exactly once at its
 * acknowledged offset, that nothing stored fails its CRC, and that offsets have no gaps or reuse.
 * Several rounds run on the same directory, so each recovery starts from a previous crash.
 *
 * The same file is the child: with RAFKA_CRASH_CHILD set it runs the producers instead of tests.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WalMemoryEngine } from '../src/storage/memory-wal/wal-engine.js';
import { encodeBatch } from '../src/protocol/records/record.js';
import { readBatchHeader, verifyBatchCrc } from '../src/protocol/records/batch.js';

const TOPIC = 'crash';
const PARTITIONS = 2;
const PRODUCERS = 4;
const ROUNDS = 6;
const SNAPSHOT_BYTES = 256 * 1024;

if (process.env.RAFKA_CRASH_CHILD) {
  await child(process.env.RAFKA_CRASH_CHILD, Number(process.env.RAFKA_CRASH_ROUND));
} else {
  test('crash: kill -9 while appending with fsync always loses no acknowledged append and serves nothing corrupt', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'rafka-crash-wal-'));
    try {
      /** Acknowledged appends: record id → where the engine said it stored it. */
      const acked = new Map<number, { partition: number; offset: number }>();
      let lastAckedCommit = -1;
      for (let round = 0; round < ROUNDS; round++) {
        const outcome = await runChild(dir, round, 150 + Math.floor(Math.random() * 300));
        assert.equal(outcome.signal, 'SIGKILL', `round ${round}: the child was killed, not exited (${outcome.stderr})`);
        assert.ok(outcome.acks.length > 0, `round ${round}: appends were acknowledged before the kill`);
        for (const a of outcome.acks) {
          if (a.kind === 'commit') lastAckedCommit = Math.max(lastAckedCommit, a.value);
          else acked.set(a.id, { partition: a.partition, offset: a.offset });
        }
        await verify(dir, acked, lastAckedCommit, round);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

type Ack = { kind: 'append'; partition: number; id: number; offset: number } | { kind: 'commit'; value: number };

async function runChild(dir: string, round: number, killAfterMs: number) {
  const proc = spawn(process.execPath, [fileURLToPath(import.meta.url)], {
    env: { ...process.env, RAFKA_CRASH_CHILD: dir, RAFKA_CRASH_ROUND: String(round) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const acks: Ack[] = [];
  let buffered = '';
  let stderr = '';
  let killTimer: NodeJS.Timeout | undefined;
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  proc.stdout.on('data', (d: Buffer) => {
    buffered += d.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop()!; // a line cut by the kill was never completely acknowledged
    for (const line of lines) {
      if (line === 'ready') {
        killTimer = setTimeout(() => proc.kill('SIGKILL'), killAfterMs);
        continue;
      }
      const [kind, a, b, c] = line.split(' ');
      if (kind === 'a') acks.push({ kind: 'append', partition: Number(a), id: Number(b), offset: Number(c) });
      else if (kind === 'c') acks.push({ kind: 'commit', value: Number(a) });
    }
  });
  const safety = setTimeout(() => proc.kill('SIGKILL'), 20_000);
  const signal = await new Promise<NodeJS.Signals | null>((resolve) => proc.on('exit', (_code, sig) => resolve(sig)));
  clearTimeout(safety);
  clearTimeout(killTimer);
  return { signal, acks, stderr };
}

async function verify(dir: string, acked: Map<number, { partition: number; offset: number }>, lastAckedCommit: number, round: number) {
  const engine = new WalMemoryEngine({ path: dir });
  const meta = await engine.open();
  try {
    assert.deepEqual(meta.topics.map((t) => t.name), [TOPIC]);
    const stored = new Map<number, { partition: number; offset: number }>();
    for (let p = 0; p < PARTITIONS; p++) {
      const { logStartOffset, highWatermark } = engine.offsets(TOPIC, p);
      assert.equal(logStartOffset, 0);
      const { batches } = await engine.read(TOPIC, p, 0, Number.MAX_SAFE_INTEGER, true);
      let next = 0;
      for (const b of batches) {
        assert.ok(verifyBatchCrc(b), `round ${round}: partition ${p} batch at ${next} passes its CRC`);
        const h = readBatchHeader(b);
        assert.equal(h.baseOffset, next, `round ${round}: partition ${p}: no gap or reused offset`);
        assert.ok(!stored.has(h.baseTimestamp), `round ${round}: record ${h.baseTimestamp} is stored once`);
        stored.set(h.baseTimestamp, { partition: p, offset: h.baseOffset });
        next = h.baseOffset + h.lastOffsetDelta + 1;
      }
      assert.equal(next, highWatermark, `round ${round}: partition ${p}'s batches end at its high watermark`);
    }
    for (const [id, where] of acked) {
      assert.deepEqual(stored.get(id), where, `round ${round}: acknowledged record ${id} is where it was acknowledged`);
    }
    const committed = engine.fetchOffsets('crash-group').get(`${TOPIC}\u00000`);
    if (lastAckedCommit >= 0) assert.ok(committed !== undefined && committed.offset >= lastAckedCommit, `round ${round}: commit ${lastAckedCommit} kept`);
  } finally {
    await engine.close();
  }
}

/** The child: producers append until the process is killed; each line on stdout is an acknowledgement. */
async function child(dir: string, round: number): Promise<void> {
  const engine = new WalMemoryEngine({ path: dir, fsync: 'always', snapshotBytes: SNAPSHOT_BYTES });
  const meta = await engine.open();
  if (!meta.topics.some((t) => t.name === TOPIC)) {
    await engine.createTopic({ name: TOPIC, id: 'crash-topic-id-AAAAAAA', partitionCount: PARTITIONS, configs: {} });
  }
  // Pipes are written synchronously on Linux: a line is out of the process once write() returns.
  process.stdout.write('ready\n');
  const producer = async (p: number) => {
    for (let seq = 0; ; seq++) {
      const id = (round * PRODUCERS + p) * 1_000_000 + seq;
      const partition = (seq + p) % PARTITIONS;
      const bytes = await encodeBatch({ records: [{ value: Buffer.alloc(100 + ((seq * 397) % 3000), p), timestamp: id }] });
      const { baseOffset } = await engine.append(TOPIC, partition, { bytes, recordCount: 1, maxTimestamp: id });
      process.stdout.write(`a ${partition} ${id} ${baseOffset}\n`);
    }
  };
  const committer = async () => {
    for (let i = 0; ; i++) {
      const value = round * 1_000_000 + i;
      await engine.commitOffsets('crash-group', [{ topic: TOPIC, partition: 0, committed: { offset: value, leaderEpoch: 0, metadata: null, commitTimestampMs: 0 } }]);
      process.stdout.write(`c ${value}\n`);
    }
  };
  await Promise.all([...Array.from({ length: PRODUCERS }, (_, p) => producer(p)), committer()]);
}
