/**
 * Disk failures through the broker (log engine): a full or read-only disk makes Produce answer
 * KAFKA_STORAGE_ERROR while the broker stays up, Fetch keeps serving what is stored, and producing
 * works again once the disk has room — first with injected errors (deterministic, any machine),
 * then with a real, tiny tmpfs filled to the last byte (when this machine lets the test mount one).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { testBroker } from './helpers/broker.js';
import { newLogEngine, tempDir } from './helpers/log-engine.js';
import { RawClient } from './helpers/raw-client.js';
import { fetchAll } from './helpers/fetch-all.js';
import { errnoError } from '../src/storage/log/files.js';
import { ApiKey } from '../src/protocol/messages/index.js';
import { ErrorCode } from '../src/protocol/error-codes.js';
import { ProduceRequest, ProduceResponse } from '../src/protocol/messages/produce.js';
import { CreateTopicsRequest, CreateTopicsResponse } from '../src/protocol/messages/create-topics.js';
import { encodeBatch } from '../src/protocol/records/record.js';
import { allowedSkip } from './helpers/skips.js';

async function produce(c: RawClient, topic: string, value: Buffer): Promise<{ errorCode: number; baseOffset: number }> {
  const records = await encodeBatch({ records: [{ value }] });
  const res = await c.request(ApiKey.Produce, 9, ProduceRequest, ProduceResponse, {
    acks: -1,
    timeoutMs: 5000,
    topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
  });
  const p = res.responses[0]!.partitionResponses[0]!;
  return { errorCode: p.errorCode, baseOffset: Number(p.baseOffset) };
}

async function createTopic(c: RawClient, name: string, configs: Record<string, string> = {}): Promise<void> {
  const res = await c.request(ApiKey.CreateTopics, 7, CreateTopicsRequest, CreateTopicsResponse, {
    topics: [{ name, numPartitions: 1, replicationFactor: 1, configs: Object.entries(configs).map(([k, value]) => ({ name: k, value })) }],
  });
  assert.equal(res.topics[0]!.errorCode, 0, res.topics[0]!.errorMessage ?? '');
}

test('injected ENOSPC / EROFS: Produce gets KAFKA_STORAGE_ERROR, Fetch still works, producing resumes', async () => {
  const d = tempDir();
  let fail: string | null = null;
  const engine = newLogEngine(d.dir, {
    faults: {
      beforeWrite: (file) => {
        if (fail && file.endsWith('.log')) throw errnoError(fail, 'write', file);
      },
    },
  });
  const b = await testBroker({ storage: engine });
  const c = await RawClient.connect(b.port);
  try {
    await createTopic(c, 'd');
    assert.deepEqual(await produce(c, 'd', Buffer.from('first')), { errorCode: 0, baseOffset: 0 });
    for (const code of ['ENOSPC', 'EROFS']) {
      fail = code;
      assert.equal((await produce(c, 'd', Buffer.from('lost'))).errorCode, ErrorCode.KAFKA_STORAGE_ERROR);
      assert.deepEqual((await fetchAll(b.port, 'd', 0)).map((r) => r.value!.toString()), ['first']);
    }
    fail = null;
    assert.deepEqual(await produce(c, 'd', Buffer.from('second')), { errorCode: 0, baseOffset: 1 });
    assert.deepEqual((await fetchAll(b.port, 'd', 0)).map((r) => r.value!.toString()), ['first', 'second']);
  } finally {
    c.close();
    await b.close();
    d.remove();
  }
});

test('a real full disk (2 MiB tmpfs): KAFKA_STORAGE_ERROR, reads go on, space freed by retention lets producing resume', async (t) => {
  const d = tempDir();
  const mnt = join(d.dir, 'mnt');
  mkdirSync(mnt);
  const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mnt], { encoding: 'utf8' });
  if (mount.status !== 0) {
    allowedSkip(t, 'tmpfs', `cannot mount a tmpfs here (${(mount.stderr || mount.error?.message || 'not permitted').trim()}); the injected-error test covers this path`);
    d.remove();
    return;
  }
  const b = await testBroker({ storage: { type: 'log', path: join(mnt, 'data') } });
  const c = await RawClient.connect(b.port);
  try {
    await createTopic(c, 'full', { 'internal.segment.bytes': '262144', 'retention.bytes': '524288' });
    const value = Buffer.alloc(64 * 1024, 7);
    let written = 0;
    let last = { errorCode: 0, baseOffset: -1 };
    while (written < 100) {
      last = await produce(c, 'full', value);
      if (last.errorCode !== 0) break;
      written++;
    }
    assert.equal(last.errorCode, ErrorCode.KAFKA_STORAGE_ERROR, `the disk filled up after ${written} records`);
    assert.ok(written > 5);
    const stored = await fetchAll(b.port, 'full', 0);
    assert.equal(stored.length, written, 'every acknowledged record is served, nothing more');
    assert.equal((await produce(c, 'full', value)).errorCode, ErrorCode.KAFKA_STORAGE_ERROR, 'still full, still up');
    // Retention (retention.bytes) deletes whole sealed segments and needs no space to do it.
    const report = await b.broker.maintenance.runOnce();
    assert.equal(report.logStartsMoved, 1, JSON.stringify(report));
    const again = await produce(c, 'full', Buffer.from('room again'));
    assert.deepEqual(again, { errorCode: 0, baseOffset: written }, 'offsets continue after the failures');
  } finally {
    c.close();
    await b.close();
    spawnSync('umount', [mnt]);
    rmSync(d.dir, { recursive: true, force: true });
  }
});
