/**
 * The precompiled config validator (src/config/file-shape-validator.ts): it must be exactly what
 * scripts/gen-config-validator.ts generates from the schema (regenerate with `npm run build && npm
 * run gen:config`), and it must judge every input as ajv compiling the schema at run time would.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { VALIDATOR_OPTIONS, defaultValidatorPath, generateValidator } from '../scripts/gen-config-validator.js';
import { configFileSchema, validateFileShape } from '../src/config/schema.js';

test('the committed validator is what the generator makes of the schema', () => {
  assert.equal(readFileSync(defaultValidatorPath(), 'utf8'), generateValidator(), 'run `npm run build && npm run gen:config` and commit the result');
});

test('the precompiled validator gives the errors ajv gives at run time', () => {
  const runtime = new Ajv(VALIDATOR_OPTIONS).compile(configFileSchema());
  const samples: unknown[] = [
    {},
    { port: 9092, host: '0.0.0.0', storage: { type: 'log', path: '/data' } },
    { port: 'x', 'num.partitions': 0, 'log.level': 'loud', nope: 1 },
    { storage: { type: 'rocks', storage_type: 'memory', path: '', extra: true } },
    { 'max.connections.per.ip.overrides': 'a:1, b:2' },
    { 'max.connections.per.ip.overrides': 'a:x' },
    { 'advertised.host': null, 'advertised.port': 70000, 'cluster.id': '' },
    { 'topic.defaults': { 'retention.ms': 1000, 'cleanup.policy': ['compact', 'delete'], 'nope.ms': 1, 'segment.ms': { a: 1 } } },
    { 'topic.defaults': { 'cleanup.policy': [{}] } },
    { hooks: [{ builtin: 'redact', topics: ['a'], apis: ['produce', 0] }, { module: '', export: 3, surprise: 1 }, 'x'] },
    { hooks: { builtin: 'redact' } },
    [],
    'text',
    null,
  ];
  for (const data of samples) {
    const expected = runtime(data);
    assert.equal(validateFileShape(data), expected, JSON.stringify(data));
    assert.deepEqual(validateFileShape.errors ?? null, runtime.errors ?? null, JSON.stringify(data));
  }
});
