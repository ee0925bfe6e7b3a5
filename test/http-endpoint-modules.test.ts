/**
 * The HTTP endpoint runs on a worker thread of its own (src/broker/http/front-worker.ts): the
 * broker's thread loads none of node:http, and so none of what node:http can bring (on Node 24 an ESM
 * import of it reads its lazy `WebSocket`, `CloseEvent` and `MessageEvent` getters, which load undici
 * and http2). A request served on the broker's thread ran Node's stream code with other shapes than
 * the Kafka connections' and cost a busy broker its optimized produce path at every scrape
 * (front-protocol.ts). Checked in a fresh process, since this one may have loaded anything.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const brokerIndex = fileURLToPath(new URL('../src/broker/index.js', import.meta.url));
const consoleExtension = fileURLToPath(new URL('../src/console/extension.js', import.meta.url));

test("a broker serving /metrics, /health and the console has loaded none of node:http on its own thread", () => {
  // The script's client speaks HTTP over node:net, so that whatever of node:http the thread holds is
  // the broker's. The broker runs from `node -e`, whose --input-type flag a worker thread refuses:
  // the endpoint's worker must not inherit it.
  const script = `
    import net from 'node:net';
    const { startBroker } = await import(${JSON.stringify(brokerIndex)});
    const { CONSOLE_EXTENSION } = await import(${JSON.stringify(consoleExtension)});
    const broker = await startBroker({ port: 0, logLevel: 'warn', httpListener: '127.0.0.1:0', httpExtensions: [CONSOLE_EXTENSION] });
    const { port } = new URL(broker.httpUrl);
    const get = (path) => new Promise((resolve, reject) => {
      const s = net.connect(Number(port), '127.0.0.1', () => s.write('GET ' + path + ' HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n'));
      let b = '';
      s.setEncoding('utf8').on('data', (d) => (b += d)).on('end', () => resolve(b)).on('error', reject);
    });
    const metrics = await get('/metrics');
    const health = await get('/health');
    const overview = await get('/api/overview');
    await broker.close();
    console.log(JSON.stringify({
      loaded: process.moduleLoadList,
      metrics: metrics.startsWith('HTTP/1.1 200') && metrics.includes('rafka_broker_info') && metrics.includes('process_cpu_seconds_total') && metrics.includes('nodejs_heap_size_used_bytes'),
      health: health.startsWith('HTTP/1.1 200') && health.includes('alive'),
      console: overview.startsWith('HTTP/1.1 200') && overview.includes('clusterId'),
    }));
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { loaded: string[]; metrics: boolean; health: boolean; console: boolean };
  assert.ok(out.metrics, "/metrics answered with the broker's, the thread's and the process's series");
  assert.ok(out.health, '/health answered');
  assert.ok(out.console, "the console's API answered");
  assert.ok(out.loaded.includes('NativeModule worker_threads'), "the endpoint's worker was started");
  assert.deepEqual(
    out.loaded.filter((m) => /_http_|NativeModule https?$|undici|http2|http_parser/.test(m)),
    [],
    "nothing of node:http, undici or http2 on the broker's thread",
  );
});
