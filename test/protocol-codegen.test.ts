/**
 * The committed src/protocol/messages/ must be exactly what scripts/gen-protocol.ts generates from the
 * Kafka specs of the pinned client jar (regenerate with `npm run build && npm run gen:protocol`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultOutDir, generate } from '../scripts/gen-protocol.js';
import * as messages from '../src/protocol/messages/index.js';
import type { MessageCodec } from '../src/protocol/codec/message.js';
import { SPECS, SPECS_SKIP } from './helpers/specs.js';

test('generated protocol files match the specs', { skip: SPECS_SKIP }, () => {
  const files = generate(SPECS);
  const outDir = defaultOutDir();
  assert.ok(files.size > 90, `expected ~101 generated files, got ${files.size}`);
  const differ: string[] = [];
  for (const [name, text] of files) {
    let onDisk: string | null = null;
    try {
      onDisk = readFileSync(join(outDir, name), 'utf8');
    } catch {
      onDisk = null;
    }
    if (onDisk !== text) differ.push(onDisk === null ? `${name} (missing)` : name);
  }
  for (const f of readdirSync(outDir)) {
    if (f.endsWith('.ts') && !files.has(f)) differ.push(`${f} (not generated)`);
  }
  assert.deepEqual(differ, [], 'run `npm run build && npm run gen:protocol` and commit the result');
});

test('generation is deterministic', { skip: SPECS_SKIP }, () => {
  const a = generate(SPECS);
  const b = generate(SPECS);
  assert.deepEqual([...a.keys()], [...b.keys()]);
  for (const [k, v] of a) assert.equal(b.get(k), v, k);
  assert.deepEqual([...a.keys()], [...a.keys()].sort());
});

test('one file per API, header and data spec; no about prose in the output', { skip: SPECS_SKIP }, () => {
  const files = generate(SPECS);
  for (const name of [
    'produce.ts', 'api-versions.ts', 'create-topics.ts', 'describe-cluster.ts', 'init-producer-id.ts',
    'incremental-alter-configs.ts', 'request-header.ts', 'response-header.ts', 'consumer-protocol-subscription.ts',
    'k-raft-version-record.ts', 'index.ts',
  ]) {
    assert.ok(files.has(name), name);
  }
  // Kafka 4.1.1: 89 APIs (keys 0–92 without the removed 4–7) + 2 headers + 9 data specs + index.
  assert.equal(files.size, 101);
  for (const removed of ['leader-and-isr.ts', 'stop-replica.ts', 'update-metadata.ts', 'controlled-shutdown.ts']) {
    assert.ok(!files.has(removed), `${removed}: its spec has validVersions "none"`);
  }
  const produce = files.get('produce.ts')!;
  assert.ok(!produce.includes('The number of acknowledgments'), 'about text leaked into generated code');
});

test('the index exports every codec lazily, with the same name, key and versions as its module', async () => {
  const outDir = defaultOutDir();
  let codecs = 0;
  for (const f of readdirSync(outDir).filter((f) => f.endsWith('.ts') && f !== 'index.ts')) {
    const mod = (await import(`../src/protocol/messages/${f.replace(/\.ts$/, '.js')}`)) as Record<string, MessageCodec<unknown>>;
    for (const [name, real] of Object.entries(mod)) {
      const lazy = (messages as unknown as Record<string, MessageCodec<unknown>>)[name];
      assert.ok(lazy, `${name} is not exported by the index`);
      const meta = (c: MessageCodec<unknown>) => [c.name, c.apiKey, c.minVersion, c.maxVersion, c.flexibleMinVersion];
      assert.deepEqual(meta(lazy), meta(real), name);
      codecs++;
    }
  }
  assert.equal(codecs, 189);
});
