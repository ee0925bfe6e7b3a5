/**
 * `rafka start` loads only what accepting a produce needs (issue 7: start-up time and idle memory):
 * no ajv (the config validator is precompiled), no yaml without a config file, no compression or
 * rocksdb binding, no codec module but those of the APIs used, no prom-client without
 * `http.listener`, no pino before a line is logged and no re2js before a regex subscription. A regression here costs every start
 * tens of milliseconds and megabytes, and no functional test would notice.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RawClient } from './helpers/raw-client.js';
import { ApiKey, CreateTopicsRequest, CreateTopicsResponse, ProduceRequest, ProduceResponse } from '../src/protocol/messages/index.js';
import { encodeBatch } from '../src/protocol/records/record.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(REPO, 'bin', 'rafka.js');

/** CommonJS preload: on SIGUSR2, write the CommonJS module cache and the mapped native libraries. */
const PRELOAD = `
const fs = require('fs');
process.on('SIGUSR2', () => {
  const natives = fs.readFileSync('/proc/self/maps', 'utf8').split('\\n').filter((l) => l.endsWith('.node')).map((l) => l.split(/\\s+/).pop());
  fs.writeFileSync(process.env.RAFKA_TEST_LOADED, JSON.stringify({ modules: Object.keys(require.cache), natives: [...new Set(natives)] }));
});
`;

interface Loaded {
  modules: string[];
  natives: string[];
}

async function loadedAfterFirstProduce(args: string[]): Promise<Loaded> {
  const dir = mkdtempSync(join(tmpdir(), 'rafka-lean-'));
  const preload = join(dir, 'preload.cjs');
  const out = join(dir, 'loaded.json');
  writeFileSync(preload, PRELOAD);
  const child = spawn(process.execPath, ['--require', preload, BIN, 'start', '--host', '127.0.0.1', '--port', '0', '--log-level', 'warn', ...args], {
    cwd: dir,
    env: { PATH: process.env.PATH, RAFKA_TEST_LOADED: out },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let client: RawClient | null = null;
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let text = '';
      child.stdout.on('data', (d: Buffer) => {
        text += d.toString();
        const m = /listening on [^\s]+:(\d+)/.exec(text);
        if (m) resolve(Number(m[1]));
      });
      child.once('exit', (code) => reject(new Error(`rafka exited with ${code}: ${text}`)));
    });
    client = await RawClient.connect(port);
    await client.request(ApiKey.CreateTopics, 7, CreateTopicsRequest, CreateTopicsResponse, {
      topics: [{ name: 't', numPartitions: 1, replicationFactor: 1 }],
      timeoutMs: 5000,
    });
    const res = await client.request(ApiKey.Produce, 9, ProduceRequest, ProduceResponse, {
      acks: 1,
      timeoutMs: 5000,
      topicData: [{ name: 't', partitionData: [{ index: 0, records: await encodeBatch({ records: [{ value: Buffer.from('v') }] }) }] }],
    });
    assert.equal(res.responses[0]!.partitionResponses[0]!.errorCode, 0);
    child.kill('SIGUSR2');
    for (let i = 0; i < 100; i++) {
      try {
        return JSON.parse(readFileSync(out, 'utf8')) as Loaded;
      } catch {
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    throw new Error('the broker did not report what it loaded');
  } finally {
    client?.close();
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

function packagesOf(loaded: Loaded): Set<string> {
  const names = new Set<string>();
  for (const f of [...loaded.modules, ...loaded.natives]) {
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(f);
    if (m) names.add(m[1]!);
  }
  return names;
}

function codecModules(loaded: Loaded): string[] {
  return loaded.modules
    .map((f) => /dist\/src\/protocol\/messages\/([a-z0-9-]+\.js)$/.exec(f)?.[1])
    .filter((f): f is string => f !== undefined)
    .sort();
}

/** Packages that must not be loaded to accept a produce (ajv: its runtime helpers only). */
function assertLean(loaded: Loaded, also: string[] = []): void {
  const packages = packagesOf(loaded);
  // prom-client only with http.listener; pino only once a line is logged (none at --log-level warn
  // here); re2js with the first regex subscription of a consumer-protocol group.
  for (const p of ['snappy', 'lz4-napi', 'zstd-napi', '@nxtedition/rocksdb', 'prom-client', 'pino', 're2js', ...also]) assert.ok(!packages.has(p), `${p} was loaded`);
  // The precompiled config validator uses one small ajv runtime helper; ajv itself stays unloaded.
  assert.deepEqual(loaded.modules.filter((f) => f.includes('node_modules/ajv/') && !f.includes('/ajv/dist/runtime/')), []);
  for (const n of loaded.natives) assert.match(n, /@node-rs\/crc32/, `native library ${n} was loaded`);
  // Codecs load on first use (codec/lazy.ts): at most those of CreateTopics and Produce (the headers
  // and ApiVersions' response are imported, not required, so this cache does not list them).
  for (const f of codecModules(loaded)) assert.ok(['create-topics.js', 'produce.js'].includes(f), `codec module ${f} was loaded`);
}

test('a memory broker without a config file loads no yaml, ajv, compression or rocksdb binding', async () => {
  assertLean(await loadedAfterFirstProduce(['--storage', 'memory']), ['yaml']);
});

test('with a config file, a log-engine broker loads yaml but no ajv, compression or rocksdb binding', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rafka-lean-cfg-'));
  try {
    const config = join(dir, 'rafka.yaml');
    writeFileSync(config, `storage:\n  type: log\n  path: ${JSON.stringify(join(dir, 'data'))}\ngroup.initial.rebalance.delay.ms: 0\n`);
    assertLean(await loadedAfterFirstProduce(['--config', config]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
