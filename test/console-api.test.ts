/**
 * The web console's JSON API (src/console/api.ts) against a live broker: what each route answers
 * after known traffic, that writes are refused while the console is read-only (the default), and that
 * every bad request is a clean 4xx naming the problem (limits, types, unknown names, cross-origin).
 * The page itself is driven in a real browser by test/slow/console-browser.test.ts.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, type RunningBroker } from '../src/index.js';
import { createLogger } from '../src/broker/logger.js';
import { Producer } from '../src/client/producer.js';
import { Consumer } from '../src/client/consumer.js';
import { Admin } from '../src/client/admin.js';
import { brokerSettings, BROWSE_MAX_MESSAGES } from '../src/console/api.js';
import { CONSOLE_BODY_MAX_BYTES } from '../src/console/http-json.js';
import { DEFAULT_CONFIG } from '../src/config/defaults.js';

const quiet = () => createLogger('error', () => {});

interface Answer {
  status: number;
  body: any;
  headers: Headers;
}

function client(base: string) {
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> => {
    const init: RequestInit = { method, headers: { ...headers } };
    if (body !== undefined) {
      init.body = typeof body === 'string' ? body : JSON.stringify(body);
      init.headers = { 'Content-Type': 'application/json', ...headers };
    }
    const res = await fetch(`${base}${path}`, init);
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: kept as text
    }
    return { status: res.status, body: parsed, headers: res.headers };
  };
  return {
    get: (p: string) => call('GET', p),
    post: (p: string, b: unknown, h?: Record<string, string>) => call('POST', p, b, h),
    patch: (p: string, b: unknown) => call('PATCH', p, b),
    del: (p: string) => call('DELETE', p),
    call,
  };
}

async function seed(b: RunningBroker): Promise<void> {
  const admin = new Admin({ bootstrap: b.bootstrap });
  const producer = new Producer({ bootstrap: b.bootstrap, lingerMs: 0 });
  try {
    await admin.createTopics([{ topic: 'orders', numPartitions: 2 }]);
    for (let i = 0; i < 5; i++) await producer.send('orders', { partition: 0, key: `k${i}`, value: JSON.stringify({ n: i }), headers: { source: 'seed' } });
    await producer.send('orders', { partition: 1, key: null, value: Buffer.from([0xff, 0x00, 0x01]) });
  } finally {
    await producer.close();
    await admin.close();
  }
}

describe('console API, read-only (the default)', () => {
  let b: RunningBroker;
  let api: ReturnType<typeof client>;
  before(async () => {
    b = await startBroker({ port: 0, httpListener: '127.0.0.1:0', logger: quiet() });
    api = client(b.httpUrl!);
    await seed(b);
  });
  after(() => b.close());

  test('overview: broker, counts, throughput totals', async () => {
    const r = await api.get('/api/overview');
    assert.equal(r.status, 200);
    assert.equal(r.body.broker.nodeId, 1);
    assert.equal(r.body.broker.clusterId, b.clusterId);
    assert.equal(r.body.broker.storage, 'memory');
    assert.equal(r.body.counts.topics, 1);
    assert.equal(r.body.counts.partitions, 2);
    assert.equal(r.body.throughput.totals.recordsIn, 6);
    assert.equal(r.body.readOnly, true);
    assert.deepEqual(r.body.broker.listeners, [{ name: 'PLAINTEXT', protocol: 'PLAINTEXT', address: b.bootstrap }]);
  });

  test('topics: partitions, messages and sizes from the broker; configs through DescribeConfigs', async () => {
    const list = await api.get('/api/topics');
    assert.equal(list.status, 200);
    assert.equal(list.body.topics.length, 1);
    const t = list.body.topics[0];
    assert.equal(t.name, 'orders');
    assert.equal(t.partitions, 2);
    assert.equal(t.messages, 6);
    assert.ok(t.sizeBytes > 0);
    const d = await api.get('/api/topics/orders');
    assert.equal(d.status, 200);
    assert.deepEqual(
      d.body.partitions.map((p: any) => [p.partition, p.logStartOffset, p.highWatermark]),
      [
        [0, 0, 5],
        [1, 0, 1],
      ],
    );
    const retention = d.body.configs.find((c: any) => c.name === 'retention.ms');
    assert.equal(retention.value, '604800000');
    assert.equal(retention.isDefault, true);
  });

  test('browse: from the beginning, an offset, the end, a timestamp; keys, values and headers as sent', async () => {
    const all = await api.get('/api/topics/orders/messages?partition=0&from=beginning');
    assert.equal(all.status, 200);
    assert.equal(all.body.messages.length, 5);
    const m0 = all.body.messages[0];
    assert.equal(m0.offset, 0);
    assert.equal(Buffer.from(m0.key.data, 'base64').toString(), 'k0');
    assert.deepEqual(JSON.parse(Buffer.from(m0.value.data, 'base64').toString()), { n: 0 });
    assert.deepEqual(
      m0.headers.map((h: any) => [h.key, Buffer.from(h.value.data, 'base64').toString()]),
      [['source', 'seed']],
    );
    assert.equal(all.body.nextOffset, 5);

    const from3 = await api.get('/api/topics/orders/messages?partition=0&from=offset&offset=3&limit=1');
    assert.deepEqual(from3.body.messages.map((m: any) => m.offset), [3]);
    assert.equal(from3.body.nextOffset, 4);

    const last2 = await api.get('/api/topics/orders/messages?partition=0&from=end&limit=2');
    assert.deepEqual(last2.body.messages.map((m: any) => m.offset), [3, 4]);

    const past = await api.get('/api/topics/orders/messages?partition=0&from=offset&offset=99');
    assert.deepEqual([past.body.messages.length, past.body.start, past.body.nextOffset], [0, 5, 5]);

    const byTime = await api.get(`/api/topics/orders/messages?partition=0&from=timestamp&timestamp=${m0.timestamp}`);
    assert.equal(byTime.body.messages[0].offset, 0);
    const future = await api.get(`/api/topics/orders/messages?partition=0&from=timestamp&timestamp=${Date.now() + 3_600_000}`);
    assert.equal(future.body.messages.length, 0);

    const binary = await api.get('/api/topics/orders/messages?partition=1');
    assert.equal(binary.body.messages[0].key, null);
    assert.deepEqual([...Buffer.from(binary.body.messages[0].value.data, 'base64')], [0xff, 0x00, 0x01]);
  });

  test('browse refuses bad parameters with 400 and unknown topics with 404', async () => {
    for (const q of ['partition=2', 'partition=-1', 'partition=x', `limit=${BROWSE_MAX_MESSAGES + 1}`, 'limit=0', 'from=middle', 'from=offset', 'from=timestamp&timestamp=soon']) {
      const r = await api.get(`/api/topics/orders/messages?${q}`);
      assert.equal(r.status, 400, q);
      assert.equal(typeof r.body.error, 'string');
    }
    const r = await api.get('/api/topics/nope/messages');
    assert.equal(r.status, 404);
    assert.equal(r.body.kafkaError, 'UNKNOWN_TOPIC_OR_PARTITION');
  });

  test('writes are refused with 403 while read-only, and nothing changes', async () => {
    const create = await api.post('/api/topics', { name: 'new', partitions: 1 });
    assert.equal(create.status, 403);
    assert.match(create.body.error, /read-only \(http\.console\.read\.only: true\)/);
    assert.equal((await api.post('/api/topics/orders/messages', { value: 'x' })).status, 403);
    assert.equal((await api.del('/api/topics/orders')).status, 403);
    assert.equal((await api.patch('/api/topics/orders/configs', { set: { 'retention.ms': '1000' } })).status, 403);
    assert.equal((await api.post('/api/groups/g/reset-offsets', { topic: 'orders', to: 'earliest' })).status, 403);
    assert.deepEqual(
      b.broker.topics.list().map((t) => t.name),
      ['orders'],
    );
    assert.equal(b.broker.storage.offsets('orders', 0).highWatermark, 5);
  });

  test('unknown routes are 404, wrong methods 405 with Allow', async () => {
    assert.equal((await api.get('/api/nope')).status, 404);
    const r = await api.call('DELETE', '/api/topics');
    assert.equal(r.status, 405);
    assert.equal(r.headers.get('allow'), 'GET, POST');
    // A method no console route takes is refused by the endpoint before the API sees it.
    assert.equal((await api.call('PUT', '/api/topics')).status, 405);
    assert.equal((await api.call('POST', '/app.js')).status, 405);
  });

  test('the page and its assets are served with a strict Content-Security-Policy', async () => {
    const page = await fetch(`${b.httpUrl}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    assert.match(await page.text(), /<script type="module" src="\/app.js">/);
    const js = await fetch(`${b.httpUrl}/app.js`);
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type') ?? '', /javascript/);
    assert.ok((await js.text()).length > 1000);
    assert.equal((await fetch(`${b.httpUrl}/app.css`)).status, 200);
    assert.equal((await fetch(`${b.httpUrl}/nope.js`)).status, 404);
    // /metrics, /health and /ready are still the endpoint's own.
    assert.equal((await fetch(`${b.httpUrl}/health`)).status, 200);
  });
});

describe('console API, read-write (http.console.read.only: false)', () => {
  let b: RunningBroker;
  let api: ReturnType<typeof client>;
  before(async () => {
    b = await startBroker({ port: 0, httpListener: '127.0.0.1:0', httpConsoleReadOnly: false, logger: quiet() });
    api = client(b.httpUrl!);
    await seed(b);
  });
  after(() => b.close());

  test('create a topic (201), again (409 TOPIC_ALREADY_EXISTS), with a bad config (400) or name (400)', async () => {
    const r = await api.post('/api/topics', { name: 'events', partitions: 3, configs: { 'retention.ms': '3600000' } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.partitions, 3);
    assert.equal(b.broker.topics.get('events')?.partitionCount, 3);
    assert.equal(b.broker.topics.get('events')?.configs['retention.ms'], '3600000');
    const again = await api.post('/api/topics', { name: 'events' });
    assert.equal(again.status, 409);
    assert.equal(again.body.kafkaError, 'TOPIC_ALREADY_EXISTS');
    const badConfig = await api.post('/api/topics', { name: 'x1', configs: { 'retention.ms': 'soon' } });
    assert.equal(badConfig.status, 400);
    assert.equal(badConfig.body.kafkaError, 'INVALID_CONFIG');
    const badName = await api.post('/api/topics', { name: 'no spaces' });
    assert.equal(badName.status, 400);
    assert.equal(badName.body.kafkaError, 'INVALID_TOPIC_EXCEPTION');
    assert.equal((await api.post('/api/topics', { partitions: 1 })).status, 400);
    assert.equal((await api.post('/api/topics', { name: 'x2', partitions: 0 })).status, 400);
  });

  test('alter configs: set and remove an override', async () => {
    const set = await api.patch('/api/topics/orders/configs', { set: { 'retention.ms': '1000', 'cleanup.policy': 'compact' } });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    const d = await api.get('/api/topics/orders');
    const retention = d.body.configs.find((c: any) => c.name === 'retention.ms');
    assert.deepEqual([retention.value, retention.source], ['1000', 'DYNAMIC_TOPIC_CONFIG']);
    assert.equal((await api.patch('/api/topics/orders/configs', { delete: ['retention.ms', 'cleanup.policy'] })).status, 200);
    assert.deepEqual(b.broker.topics.get('orders')?.configs, {});
    const bad = await api.patch('/api/topics/orders/configs', { set: { 'no.such.config': '1' } });
    assert.equal(bad.status, 400);
    assert.equal((await api.patch('/api/topics/orders/configs', {})).status, 400);
  });

  test('produce: key, value and headers land as sent; the answer names partition and offset', async () => {
    const r = await api.post('/api/topics/orders/messages', { key: 'hello', value: '{"a":1}', headers: [{ key: 'h', value: 'v' }], partition: 1 });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.deepEqual([r.body.partition, r.body.offset], [1, 1]);
    const read = await api.get('/api/topics/orders/messages?partition=1&from=offset&offset=1');
    const m = read.body.messages[0];
    assert.equal(Buffer.from(m.key.data, 'base64').toString(), 'hello');
    assert.equal(Buffer.from(m.value.data, 'base64').toString(), '{"a":1}');
    assert.equal(Buffer.from(m.headers[0].value.data, 'base64').toString(), 'v');
    const b64 = await api.post('/api/topics/orders/messages', { value: Buffer.from([1, 2, 3]).toString('base64'), encoding: 'base64', partition: 1 });
    assert.equal(b64.status, 201);
    const again = await api.get('/api/topics/orders/messages?partition=1&from=offset&offset=2');
    assert.deepEqual([...Buffer.from(again.body.messages[0].value.data, 'base64')], [1, 2, 3]);
    assert.equal((await api.post('/api/topics/orders/messages', { value: 'x', partition: 9 })).status, 400);
    assert.equal((await api.post('/api/topics/orders/messages', { value: 5 })).status, 400);
    assert.equal((await api.post('/api/topics/nope/messages', { value: 'x' })).status, 404);
  });

  test('bodies: over the limit 413, not JSON 415/400, cross-origin 403', async () => {
    const big = await api.post('/api/topics/orders/messages', { value: 'x'.repeat(CONSOLE_BODY_MAX_BYTES) });
    assert.equal(big.status, 413);
    assert.equal((await api.call('POST', '/api/topics', 'name=x', { 'Content-Type': 'application/x-www-form-urlencoded' })).status, 415);
    assert.equal((await api.post('/api/topics', '{"name":')).status, 400);
    assert.equal((await api.post('/api/topics', '[1]')).status, 400);
    const csrf = await api.post('/api/topics', { name: 'evil' }, { Origin: 'http://evil.example' });
    assert.equal(csrf.status, 403);
    assert.equal(b.broker.topics.get('evil'), undefined);
    const same = await api.post('/api/topics', { name: 'same-origin' }, { Origin: b.httpUrl! });
    assert.equal(same.status, 201);
  });

  test('groups: members, assignment and lag; reset offsets only while the group is empty', async () => {
    const consumer = new Consumer({ bootstrap: b.bootstrap, groupId: 'billing', autoCommit: false, autoOffsetReset: 'earliest' });
    try {
      consumer.subscribe(['orders']);
      let got = 0;
      while (got < 2) got += (await consumer.poll(2 - got, 5000)).length;
      await consumer.commit([{ topic: 'orders', partition: 0, offset: 2 }]);
      const list = await api.get('/api/groups');
      assert.equal(list.status, 200);
      const g = list.body.groups.find((x: any) => x.groupId === 'billing');
      assert.equal(g.state, 'Stable');
      assert.equal(g.members, 1);
      assert.equal(g.totalLag, 3);
      const d = await api.get('/api/groups/billing');
      assert.equal(d.body.members.length, 1);
      assert.deepEqual(
        d.body.members[0].assignment.map((a: any) => `${a.topic}-${a.partition}`).sort(),
        ['orders-0', 'orders-1'],
      );
      const p0 = d.body.lag.find((l: any) => l.partition === 0);
      assert.deepEqual([p0.committedOffset, p0.logEndOffset, p0.lag], [2, 5, 3]);
      const busy = await api.post('/api/groups/billing/reset-offsets', { topic: 'orders', to: 'earliest' });
      assert.equal(busy.status, 409);
      assert.equal(busy.body.kafkaError, 'NON_EMPTY_GROUP');
    } finally {
      await consumer.close();
    }
    const reset = await api.post('/api/groups/billing/reset-offsets', { topic: 'orders', to: 'latest' });
    assert.equal(reset.status, 200, JSON.stringify(reset.body));
    assert.deepEqual(reset.body.offsets, [
      { partition: 0, offset: 5 },
      { partition: 1, offset: b.broker.storage.offsets('orders', 1).highWatermark },
    ]);
    const toOffset = await api.post('/api/groups/billing/reset-offsets', { topic: 'orders', to: 'offset', offset: 1 });
    assert.deepEqual(toOffset.body.offsets.map((o: any) => o.offset), [1, 1]);
    assert.equal((await api.get('/api/groups/billing')).body.totalLag, 4 + (b.broker.storage.offsets('orders', 1).highWatermark - 1));
    assert.equal((await api.post('/api/groups/billing/reset-offsets', { topic: 'orders', to: 'yesterday' })).status, 400);
    assert.equal((await api.get('/api/groups/nobody')).status, 404);
  });

  test('delete a topic', async () => {
    assert.equal((await api.post('/api/topics', { name: 'doomed' })).status, 201);
    const r = await api.del('/api/topics/doomed');
    assert.equal(r.status, 200);
    assert.equal(b.broker.topics.get('doomed'), undefined);
    assert.equal((await api.del('/api/topics/doomed')).status, 404);
  });
});

test('configuration: every setting shown, secrets and URL passwords redacted', async () => {
  const settings = brokerSettings({
    ...DEFAULT_CONFIG,
    sslKeyPassword: 'hunter2',
    storage: { ...DEFAULT_CONFIG.storage, type: 'postgres', url: 'postgres://rafka:s3cret@db:5432/rafka' },
  });
  const byKey = new Map(settings.map((s) => [s.key, s]));
  assert.equal(byKey.get('ssl.key.password')?.value, '[redacted]');
  assert.equal(byKey.get('storage.url')?.value, 'postgres://rafka:[redacted]@db:5432/rafka');
  assert.equal(byKey.get('http.console.read.only')?.value, true);
  assert.equal(byKey.get('num.partitions')?.value, 1);
  assert.ok(!JSON.stringify(settings).includes('hunter2'));
  assert.ok(!JSON.stringify(settings).includes('s3cret'));
});

test('a broker started from src/broker/index.ts without httpExtensions serves no console', async () => {
  const { startBroker: bare } = await import('../src/broker/index.js');
  const b = await bare({ port: 0, httpListener: '127.0.0.1:0', logger: quiet() });
  try {
    assert.equal((await fetch(`${b.httpUrl}/api/overview`)).status, 404);
    assert.equal((await fetch(`${b.httpUrl}/metrics`)).status, 200);
  } finally {
    await b.close();
  }
});
