/**
 * kill -9 and transactions on every durable engine: a broker process writes transactions (committed,
 * aborted, one left open) and is killed with SIGKILL; the restarted broker must hold the same open
 * transaction (the LSO stops at it; its ABORT marker closes it and enters the index) and the same
 * aborted-transactions index, so read_committed sees exactly the committed data. A clean restart after
 * that must too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { RawClient } from './helpers/raw-client.js';
import { REPO, cleanEnv } from './helpers/broker-process.js';
import { tempDir } from './helpers/log-engine.js';
import { testBroker } from './helpers/broker.js';
import { committedValues, fetchPartition, listLatest } from './helpers/txn.js';
import type { StorageConfig } from '../src/config/types.js';

async function writeThenKill9(engine: string, dir: string): Promise<number> {
  const child = spawn(process.execPath, [join(REPO, 'dist', 'test', 'helpers', 'txn-writer.js'), engine, dir], { env: cleanEnv() });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  try {
    return await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`writer not ready in 60 s; stderr=${err}`)), 60_000);
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /READY (\d+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      });
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`writer exited before READY; stderr=${err}`));
      });
    });
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
}

for (const engine of ['log', 'memory', 'rocksdb'] as const) {
  test(`open transactions and the aborted-transactions index are exact after kill -9 (${engine === 'memory' ? 'memory+WAL' : engine} engine)`, { timeout: 120_000 }, async () => {
    const data = tempDir('rafka-txn-kill-');
    try {
      const fillers = await writeThenKill9(engine, data.dir);
      const storage: Partial<StorageConfig> = { type: engine, path: data.dir };
      const expectCommitted = ['p2-a', 'p2-b'];
      const check = async (port: number, when: string, p3Open: boolean) => {
        const client = await RawClient.connect(port);
        try {
          const rc = await fetchPartition(client, 'tx', 0, 0);
          const values = committedValues(rc).filter((v) => !v.startsWith('f'));
          const fillerSeen = committedValues(rc).filter((v) => v.startsWith('f')).length;
          if (p3Open) {
            // p3-a sits after the last filler of the first 50: the LSO stops there.
            assert.equal(rc.lastStableOffset, 55, `${when}: the open transaction holds the LSO`);
            assert.deepEqual(values, expectCommitted, `${when}: committed data only`);
            assert.equal(fillerSeen, 50, `${when}: no data past the LSO`);
            assert.deepEqual(rc.aborted, [{ producerId: 1, firstOffset: 0 }], `${when}: what is returned overlaps only the first abort`);
          } else {
            assert.equal(rc.lastStableOffset, rc.highWatermark, `${when}: nothing open`);
            assert.deepEqual(values, expectCommitted, `${when}: committed data only`);
            assert.equal(fillerSeen, fillers, `${when}: every filler record`);
            assert.deepEqual(rc.aborted, [{ producerId: 1, firstOffset: 0 }, { producerId: 4, firstOffset: 56 }, { producerId: 3, firstOffset: 55 }], `${when}: the index, in marker order`);
          }
          assert.equal(await listLatest(client, 'tx', 0, 1), rc.lastStableOffset);
        } finally {
          client.close();
        }
      };
      let b = await testBroker({ storage });
      try {
        assert.equal(b.broker.producerRecovery?.fromSnapshot, 1, 'recovery loaded a snapshot taken before the kill and replayed the tail after it');
        assert.ok(b.broker.producerRecovery.batchesReplayed > 0);
        await check(b.port, 'after kill -9', true);
        assert.equal(await b.broker.txnMarkers.writeTxnMarker('tx', 0, { producerId: 3, producerEpoch: 0, coordinatorEpoch: 0, commit: false }), 0);
        await check(b.port, 'after its abort', false);
      } finally {
        await b.close();
      }
      b = await testBroker({ storage });
      try {
        await check(b.port, 'after a clean restart', false);
      } finally {
        await b.close();
      }
    } finally {
      data.remove();
    }
  });
}
