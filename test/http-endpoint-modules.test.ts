/**
 * The HTTP endpoint loads node:http and nothing it does not use (src/broker/http/server.ts). On
 * Node 24 an ESM import of node:http reads its lazy `WebSocket`, `CloseEvent` and `MessageEvent`
 * getters, which load undici and http2: megabytes of live heap that every mark-compact of a busy
 * broker walks. Checked in a fresh process, since this one may have loaded anything.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const brokerIndex = fileURLToPath(new URL('../src/broker/index.js', import.meta.url));

test('a broker with its HTTP endpoint serving /metrics has loaded neither undici nor http2', () => {
  // The script's own client takes node:http the CommonJS way too: an ESM import of it would load
  // undici in the child by itself. The broker runs from `node -e`, whose --input-type flag a worker
  // thread refuses: the exposition worker must not inherit it.
  const script = `
    import { createRequire } from 'node:module';
    const require = createRequire(import.meta.url);
    const http = require('node:http');
    const { startBroker } = await import(${JSON.stringify(brokerIndex)});
    const broker = await startBroker({ port: 0, logLevel: 'warn', httpListener: '127.0.0.1:0' });
    const text = await new Promise((resolve, reject) => {
      http.get(broker.httpUrl + '/metrics', (res) => { let b = ''; res.on('data', (d) => (b += d)); res.on('end', () => resolve(b)); }).on('error', reject);
    });
    await broker.close();
    console.log(JSON.stringify({ loaded: process.moduleLoadList, metrics: text.includes('rafka_broker_info') && text.includes('process_cpu_seconds_total') && text.includes('nodejs_heap_size_used_bytes') }));
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { loaded: string[]; metrics: boolean };
  assert.ok(out.metrics, "/metrics answered with the broker's, the thread's and the process's series");
  assert.ok(out.loaded.includes('NativeModule _http_server'), 'node:http serves the endpoint');
  assert.deepEqual(
    out.loaded.filter((m) => /undici|http2/.test(m)),
    [],
    'nothing of undici or http2 was loaded',
  );
});
