/**
 * The handler table (src/broker/api/table.ts) lists what every handler module declares, so that
 * ApiVersions and dispatch need not import the modules: it must be exactly what
 * scripts/gen-handler-table.ts generates from them (`npm run build && npm run gen:handlers`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { defaultTablePath, generateHandlerTable } from '../scripts/gen-handler-table.js';
import { HANDLERS } from '../src/broker/api/index.js';
import { HANDLER_TABLE } from '../src/broker/api/table.js';
import { API_SPECS } from '../src/protocol/messages/index.js';

test('the committed handler table is what the generator makes of the handler modules', async () => {
  assert.equal(readFileSync(defaultTablePath(), 'utf8'), await generateHandlerTable(), 'run `npm run build && npm run gen:handlers` and commit the result');
});

test('every registered API stands in for its module with the same versions and codecs', async () => {
  assert.deepEqual([...HANDLERS.keys()], HANDLER_TABLE.map((e) => e.apiKey));
  for (const entry of HANDLER_TABLE) {
    const { default: real } = await entry.load();
    const registered = HANDLERS.get(entry.apiKey)!;
    assert.equal(registered.minVersion, real.minVersion);
    assert.equal(registered.maxVersion, real.maxVersion);
    assert.equal(registered.advertisedMinVersion, real.advertisedMinVersion);
    assert.equal(registered.request, real.request, `API ${entry.apiKey}: the handler's request codec is the index's`);
    assert.equal(registered.response, real.response);
    assert.equal(registered.request, API_SPECS.get(entry.apiKey)!.request);
    assert.equal(registered.clientThrottlesFromVersion, real.clientThrottlesFromVersion);
  }
});

test('every handler module states its error response and its first client-throttling version (KIP-219)', async () => {
  for (const entry of HANDLER_TABLE) {
    const { default: real } = await entry.load();
    assert.equal(typeof real.errorResponse, 'function', `API ${entry.apiKey}: errorResponse`);
    const from = real.clientThrottlesFromVersion;
    assert.ok(from === null || (Number.isInteger(from) && from >= 0 && from <= real.maxVersion), `API ${entry.apiKey}: clientThrottlesFromVersion ${String(from)}`);
  }
});
