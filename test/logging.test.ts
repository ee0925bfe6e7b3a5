/**
 * The broker's log (issue 21, item 4): pino underneath, `log.format: text|json`, the level filter,
 * and at `log.level: debug` one line per request with its API, version, client id and duration — and
 * nothing from the request's content.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../src/broker/logger.js';
import { startBroker } from '../src/broker/index.js';
import { RawClient } from './helpers/raw-client.js';
import { ApiKey } from '../src/protocol/messages/index.js';
import { ApiVersionsRequest, ApiVersionsResponse } from '../src/protocol/messages/api-versions.js';
import { CreateTopicsRequest, CreateTopicsResponse } from '../src/protocol/messages/create-topics.js';

const ISO = '\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z';

test('text lines: time, level, message, then the fields as key=value (quoted when not one word)', () => {
  const lines: string[] = [];
  const log = createLogger('info', (l) => lines.push(l));
  log.warn('disk almost full');
  log.info('request', { api: 'Produce', apiVersion: 9, clientId: 'my app', remote: '127.0.0.1:5000', ok: true, none: null });
  log.debug('not written at info');
  assert.equal(lines.length, 2);
  assert.match(lines[0]!, new RegExp(`^${ISO} WARN disk almost full$`));
  assert.match(lines[1]!, new RegExp(`^${ISO} INFO request api=Produce apiVersion=9 clientId="my app" remote=127\\.0\\.0\\.1:5000 ok=true none=null$`));
  assert.equal(log.enabled?.('debug'), false);
  assert.equal(log.enabled?.('info'), true);
});

test('json lines: one object a line with the level as a word, the time, the pid, the message and the fields', () => {
  const lines: string[] = [];
  const log = createLogger('debug', (l) => lines.push(l), 'json');
  log.error('boom\nwith a stack', { topic: 'orders' });
  log.debug('detail');
  assert.equal(lines.length, 2);
  const first = JSON.parse(lines[0]!) as Record<string, unknown>;
  assert.deepEqual(Object.keys(first).sort(), ['level', 'msg', 'pid', 'time', 'topic']);
  assert.equal(first.level, 'error');
  assert.equal(first.msg, 'boom\nwith a stack');
  assert.equal(first.topic, 'orders');
  assert.equal(first.pid, process.pid);
  assert.match(String(first.time), new RegExp(`^${ISO}$`));
  assert.equal((JSON.parse(lines[1]!) as { level: string }).level, 'debug');
});

test('log.level debug: one line per request with API, version, client id and duration; none at info', async () => {
  for (const level of ['debug', 'info'] as const) {
    const lines: string[] = [];
    const b = await startBroker({ port: 0, logger: createLogger(level, (l) => lines.push(l)) });
    const c = await RawClient.connect(b.port);
    try {
      await c.request(ApiKey.ApiVersions, 3, ApiVersionsRequest, ApiVersionsResponse, { clientSoftwareName: 'test', clientSoftwareVersion: '1' });
      await c.request(ApiKey.CreateTopics, 7, CreateTopicsRequest, CreateTopicsResponse, {
        topics: [{ name: 'logged', numPartitions: 1, replicationFactor: 1, configs: [{ name: 'retention.ms', value: '1234567' }] }],
        timeoutMs: 5000,
      });
    } finally {
      c.close();
      await b.close();
    }
    const requests = lines.filter((l) => / DEBUG request /.test(l));
    if (level === 'info') {
      assert.deepEqual(requests, []);
      assert.equal(b.broker.requestObserver, null, 'at info without metrics, nothing observes requests');
      continue;
    }
    assert.equal(requests.length, 2, lines.join('\n'));
    const re = (api: string, v: number) =>
      new RegExp(`^${ISO} DEBUG request api=${api} apiVersion=${v} correlationId=\\d+ clientId=rafka-test remote=127\\.0\\.0\\.1:\\d+ durationMs=\\d+(\\.\\d+)?$`);
    assert.match(requests[0]!, re('ApiVersions', 3));
    assert.match(requests[1]!, re('CreateTopics', 7));
    // The request's content (here a topic config value) is not in the line.
    assert.ok(!requests[1]!.includes('1234567'));
  }
});
