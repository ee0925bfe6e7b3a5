/** The end-to-end demo (npm run demo) runs, sends and receives every message, and prints each step. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runDemo } from '../src/client/demo.js';


test('demo: a broker, a producer and a consumer in one process', async () => {
  const lines: string[] = [];
  const r = await runDemo({ messages: 12, print: (l) => lines.push(l) });
  assert.equal(r.sent, 12);
  assert.equal(r.received, 12);
  assert.equal(lines.filter((l) => l.includes(' sent ')).length, 12);
  assert.equal(lines.filter((l) => l.includes(' received ')).length, 12);
  assert.match(lines.at(-1)!, /done: 12 sent, 12 received/);
});
