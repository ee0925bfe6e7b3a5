/**
 * The web console in a real browser (issue 21): playwright-core drives Debian's headless Chromium
 * through every page against a live broker with data, and checks what a person sees — the counts on
 * the overview, the topics table, a created topic, a changed config, messages as JSON, a message
 * produced from the page and one produced elsewhere appearing in the live tail, a group's members and
 * lag (and the lag falling to 0 after a reset), the configuration, a deleted topic gone, a
 * read-only console offering no writes, and pages the authorizer refuses saying "Not authorized" and
 * what is missing instead of a blank page or an empty table, and the console over HTTPS answering
 * the principal of the browser's client certificate (http.ssl.client.auth: required). A screenshot of each page goes to artifacts/console/ (CI keeps
 * them; the best are docs/images/console-*.png in the README).
 *
 * Slow (Chromium's start and a few seconds of traffic for the sparklines): run by `npm run test:slow`.
 * Without Chromium it skips saying how to install it, and fails under RAFKA_REQUIRE_CLIENTS=1.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { startBroker, type RunningBroker } from '../../src/index.js';
import { createLogger } from '../../src/broker/logger.js';
import { Admin } from '../../src/client/admin.js';
import { Producer } from '../../src/client/producer.js';
import { Consumer } from '../../src/client/consumer.js';
import { findChromium, requireClient, skipUnless } from '../helpers/external.js';
import { findOpenssl, makePki } from '../helpers/certs.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const SHOTS = join(REPO, 'artifacts', 'console');
const chromium = findChromium();
const openssl = findOpenssl();

/** Retry `check` until it passes or `ms` is up (the page polls the API every 1–5 s). */
async function eventually(check: () => Promise<void>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

async function text(page: Page, selector: string): Promise<string> {
  return (await page.locator(selector).first().innerText()).replace(/\s+/g, ' ').trim();
}

/** A table row's cells, each trimmed, joined by one space. */
async function cells(row: Locator): Promise<string> {
  return (await row.locator('td').allTextContents()).map((c) => c.replace(/\s+/g, ' ').trim()).join(' ');
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

async function seed(b: RunningBroker): Promise<void> {
  const admin = new Admin({ bootstrap: b.bootstrap });
  const producer = new Producer({ bootstrap: b.bootstrap, lingerMs: 0 });
  try {
    await admin.createTopics([
      { topic: 'orders', numPartitions: 2 },
      { topic: 'payments', numPartitions: 3, configs: { 'retention.ms': '86400000' } },
    ]);
    const orders = Array.from({ length: 20 }, (_, i) => ({
      partition: 0,
      key: `customer-${i % 4}`,
      value: JSON.stringify({ order: 1000 + i, item: ['tea', 'coffee', 'cake'][i % 3], qty: 1 + (i % 5) }),
      headers: { source: 'web' },
    }));
    await producer.send('orders', orders);
    await producer.send('orders', { partition: 1, key: null, value: Buffer.from([0xde, 0xad, 0xbe, 0xef]) });
    // billing: committed 5 of orders-0 and left, so it is Empty with a lag of 15.
    await admin.alterGroupOffsets('billing', [{ topic: 'orders', partition: 0, offset: 5 }]);
  } finally {
    await producer.close();
    await admin.close();
  }
}

/** The super user of aliceBroker's brokers. */
const ADMIN_SASL = { mechanism: 'SCRAM-SHA-512' as const, username: 'admin', password: 'admin-browser-Pw' };

/** A broker with SCRAM users admin (super user) and alice, the authorizer on, and a browser context logged in as alice (HTTP Basic). */
async function aliceBroker(browser: Browser, password: string): Promise<{ sec: RunningBroker; context: BrowserContext }> {
  const sec = await startBroker({
    port: 0,
    listeners: ['SASL_PLAINTEXT://127.0.0.1:0'],
    saslEnabledMechanisms: ['SCRAM-SHA-512'],
    saslUsers: [
      { name: 'admin', password: ADMIN_SASL.password },
      { name: 'alice', password },
    ],
    authorizerEnabled: true,
    superUsers: 'User:admin',
    httpListener: '127.0.0.1:0',
    logger: createLogger('error', () => {}),
  });
  const context = await browser.newContext({ httpCredentials: { username: 'alice', password }, viewport: { width: 1280, height: 860 } });
  return { sec, context };
}

describe('web console in Chromium', { skip: skipUnless(chromium) }, () => {
  let b: RunningBroker;
  let browser: Browser;
  let page: Page;
  let traffic: Producer;
  let shipping: Consumer;
  let stopTraffic = false;
  let trafficDone: Promise<void> = Promise.resolve();
  /** Script errors and CSP violations in the page: none may happen. */
  const pageErrors: string[] = [];

  before(async () => {
    requireClient(chromium);
    mkdirSync(SHOTS, { recursive: true });
    b = await startBroker({ port: 0, httpListener: '127.0.0.1:0', httpConsoleReadOnly: false, logger: createLogger('error', () => {}) });
    await seed(b);
    // A steady trickle into payments (the sparklines) and a live group consuming it (shipping).
    traffic = new Producer({ bootstrap: b.bootstrap, lingerMs: 5 });
    trafficDone = (async () => {
      for (let i = 0; !stopTraffic; i++) {
        await traffic.send('payments', { key: `p${i}`, value: JSON.stringify({ payment: i, amount: (i * 7) % 100 }) });
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    shipping = new Consumer({ bootstrap: b.bootstrap, groupId: 'shipping', autoOffsetReset: 'earliest', clientId: 'shipping-service' });
    shipping.subscribe(['payments']);
    await shipping.poll(10, 10_000);
    const { chromium: pw } = await import('playwright-core');
    browser = await pw.launch({ executablePath: chromium.command, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
    page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    page.setDefaultTimeout(10_000);
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('console', (m) => {
      if (m.type() === 'error' && /Content Security Policy/.test(m.text())) pageErrors.push(m.text());
    });
  });

  after(async () => {
    assert.deepEqual(pageErrors, []);
    stopTraffic = true;
    await trafficDone.catch(() => {});
    await traffic?.close();
    await shipping?.close();
    await browser?.close();
    await b?.close();
  });

  test('overview: broker, counts and throughput sparklines', async () => {
    await page.goto(`${b.httpUrl}/`);
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    assert.match(await text(page, '[aria-label=broker]'), new RegExp(`Cluster id ${b.clusterId}`));
    assert.match(await text(page, '[aria-label=broker]'), /Storage memory/);
    assert.match(await text(page, '[aria-label=counts]'), /Topics 2 Partitions 5 Consumer groups 2/);
    // The sampler takes one sample every 2 s: wait for a few with traffic in them.
    await eventually(async () => {
      assert.ok((await page.locator('.spark-line').count()) === 3, 'three sparklines drawn');
      assert.doesNotMatch(await text(page, '.spark[data-label="Records in"] .spark-value'), /^0\/s$/);
    }, 15_000);
  });

  test('topics: the table, and a topic created from the page', async () => {
    await page.getByRole('link', { name: 'Topics' }).click();
    const orders = page.locator('tr[data-topic=orders]');
    await orders.waitFor();
    assert.match(await cells(orders), /^orders 2 21 [\d.]+ (B|KiB) 0$/);
    const form = page.getByRole('form', { name: 'create topic' });
    await form.getByLabel('Name', { exact: true }).fill('events');
    await form.getByLabel('Partitions', { exact: true }).fill('4');
    await form.getByLabel(/Configs/).fill('cleanup.policy=compact\nretention.ms=3600000');
    await form.getByRole('button', { name: 'Create topic' }).click();
    await page.getByText('Created topic events.').waitFor();
    await page.locator('tr[data-topic=events]').waitFor();
    assert.equal(await cells(page.locator('tr[data-topic=events]')), 'events 4 0 0 B 2');
    assert.equal(b.broker.topics.get('events')?.configs['cleanup.policy'], 'compact');
    await shot(page, 'topics');
  });

  test('a topic: partitions, offsets, configs, and a config changed from the page', async () => {
    await page.locator('tr[data-topic=orders] a').click();
    await page.getByRole('heading', { name: 'Topic orders' }).waitFor();
    const p0 = page.locator('[aria-label=partitions] tr[data-partition="0"]');
    await p0.waitFor();
    assert.match(await cells(p0), /^0 1 0 20 20 [\d.]+ (B|KiB) –$/);
    const form = page.getByRole('form', { name: 'alter config' });
    await form.getByLabel('Name', { exact: true }).fill('retention.ms');
    await form.getByLabel('Value', { exact: true }).fill('7200000');
    await form.getByRole('button', { name: 'Set config' }).click();
    const row = page.locator('[aria-label=configs] tr[data-config="retention.ms"]');
    await eventually(async () => assert.match(await cells(row), /^retention\.ms 7200000 DYNAMIC_TOPIC_CONFIG/));
    assert.equal(b.broker.topics.get('orders')?.configs['retention.ms'], '7200000');
    await shot(page, 'topic');
  });

  test('messages: the latest as JSON, hex for binary, and the live tail showing a new message', async () => {
    await page.getByRole('link', { name: 'Messages' }).click();
    await page.locator('[aria-label=messages] tr[data-offset="19"]').waitFor();
    assert.equal(await page.locator('[aria-label=messages] tbody tr').count(), 20);
    await page.getByLabel('Show as').selectOption('json');
    const last = page.locator('[aria-label=messages] tr[data-offset="19"]');
    assert.match((await last.locator('pre.value').textContent()) ?? '', /\{\n {2}"order": 1019,\n {2}"item": "coffee",\n {2}"qty": 5\n\}/);
    assert.equal(await last.locator('pre.key').textContent(), 'customer-3');
    assert.match((await last.locator('.header').textContent()) ?? '', /source: web/);

    await page.getByLabel('Partition').selectOption('1');
    await page.locator('[aria-label=messages] tr[data-offset="0"]').waitFor();
    await eventually(async () => assert.match((await page.locator('[aria-label=messages] tr[data-offset="0"] pre.value').textContent()) ?? '', /^00000000 {2}de ad be ef/));

    await page.getByLabel('Partition').selectOption('0');
    await page.getByLabel('Show as').selectOption('text');
    await page.locator('[aria-label=messages] tr[data-offset="19"]').waitFor();
    await page.getByLabel('Live tail').check();
    const producer = new Producer({ bootstrap: b.bootstrap, lingerMs: 0 });
    try {
      await producer.send('orders', { partition: 0, key: 'tail', value: 'appeared while tailing' });
    } finally {
      await producer.close();
    }
    await page.getByText('appeared while tailing').waitFor({ timeout: 10_000 });
    await shot(page, 'messages');
    await page.getByLabel('Live tail').uncheck();
  });

  test('produce from the page: the answer names the offset, and the browser shows the message', async () => {
    await page.getByRole('link', { name: 'Produce' }).click();
    const form = page.getByRole('form', { name: 'produce' });
    await form.getByLabel('Partition').selectOption('0');
    await form.getByLabel('Key', { exact: true }).fill('from-the-console');
    await form.getByLabel('Value', { exact: true }).fill('{"order": 2000, "item": "scone", "qty": 2}');
    await form.getByLabel(/Headers/).fill('trace-id=abc123');
    await form.getByRole('button', { name: 'Produce' }).click();
    await page.getByText('Produced to partition 0 at offset 21.').waitFor();
    await shot(page, 'produce');
    await page.getByRole('link', { name: 'Messages' }).click();
    const row = page.locator('[aria-label=messages] tr[data-offset="21"]');
    await row.waitFor();
    assert.equal(await row.locator('pre.key').textContent(), 'from-the-console');
    assert.match((await row.locator('.header').textContent()) ?? '', /trace-id: abc123/);
  });

  test('consumer groups: states, members, lag per partition over time, and a reset of the empty group', async () => {
    await page.getByRole('link', { name: 'Consumer groups' }).click();
    await page.locator('tr[data-group=billing]').waitFor();
    await eventually(async () => assert.match(await cells(page.locator('tr[data-group=billing]')), /^billing \S+ Empty 0 1 17$/));
    await eventually(async () => assert.match(await cells(page.locator('tr[data-group=shipping]')), /^shipping consumer Stable 1 3 \d+$/));

    await page.locator('tr[data-group=shipping] a').click();
    await page.getByRole('heading', { name: 'Group shipping' }).waitFor();
    assert.match(await text(page, '[aria-label=members]'), /shipping-service/);
    assert.match(await text(page, '[aria-label=members]'), /payments-0, payments-1, payments-2/);

    await page.getByRole('link', { name: 'Consumer groups' }).click();
    await page.locator('tr[data-group=billing] a').click();
    await page.getByRole('heading', { name: 'Group billing' }).waitFor();
    const lag = page.locator('[aria-label=lag] tr[data-tp="orders-0"] td.lag');
    await eventually(async () => assert.equal(await lag.textContent(), '17'));
    // Two polls, two points of the lag chart.
    await eventually(async () => assert.ok(((await page.locator('path.chart-line[data-series=total]').getAttribute('d')) ?? '').includes('L')));
    const form = page.getByRole('form', { name: 'reset offsets' });
    await form.locator('select[name=reset-to]').selectOption('latest');
    await form.getByRole('button', { name: 'Reset offsets' }).click();
    await page.getByText(/Reset orders: partition 0 to 22, partition 1 to 1\./).waitFor();
    await eventually(async () => assert.equal(await lag.textContent(), '0'));
    assert.match(await text(page, '.total-lag'), /^0$/);
    await shot(page, 'group'); // the chart shows the drop
  });

  test('configuration: the settings with their meaning', async () => {
    await page.getByRole('link', { name: 'Configuration' }).click();
    const row = page.locator('tr[data-setting="http.console.read.only"]');
    await row.waitFor();
    assert.match(await cells(row), /^http\.console\.read\.only false The web console only looks/);
    assert.match(await cells(page.locator('tr[data-setting="num.partitions"]')), /^num\.partitions 1 /);
    await shot(page, 'config');
  });

  test('delete a topic from its page after typing its name', async () => {
    await page.goto(`${b.httpUrl}/#/topics/events`);
    const form = page.getByRole('form', { name: 'delete topic' });
    const button = form.getByRole('button', { name: 'Delete topic' });
    assert.equal(await button.isDisabled(), true);
    await form.getByLabel(/Type the topic's name/).fill('events');
    await button.click();
    await page.getByRole('heading', { name: 'Topics' }).waitFor();
    await page.locator('tr[data-topic=orders]').waitFor();
    assert.equal(await page.locator('tr[data-topic=events]').count(), 0);
    assert.equal(b.broker.topics.get('events'), undefined);
  });

  test('overview again, after the traffic of the tests: the sparklines have history', async () => {
    await page.getByRole('link', { name: 'Overview' }).click();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    await eventually(async () => assert.match(await text(page, '.spark[data-label="Bytes in"] small'), /· ([4-9]|\d\d+) samples/), 15_000);
    await shot(page, 'overview');
  });

  test('a read-only console (the default) offers no writes', async () => {
    const ro = await startBroker({ port: 0, httpListener: '127.0.0.1:0', logger: createLogger('error', () => {}) });
    try {
      const admin = new Admin({ bootstrap: ro.bootstrap });
      await admin.createTopics([{ topic: 'audit', numPartitions: 1 }]);
      await admin.close();
      await page.goto(`${ro.httpUrl}/#/topics`);
      await page.locator('tr[data-topic=audit]').waitFor();
      assert.equal(await page.getByRole('form', { name: 'create topic' }).count(), 0);
      await page.locator('.read-only-note').waitFor();
      await page.goto(`${ro.httpUrl}/#/topics/audit/produce`);
      await page.locator('.read-only-note').waitFor();
      assert.equal(await page.getByRole('form', { name: 'produce' }).count(), 0);
    } finally {
      await ro.close();
    }
  });

  test('refused by the authorizer: the overview, the configuration and a topic\'s messages say what is not authorized', async () => {
    const password = 'alice-refused-Pw';
    const { sec, context } = await aliceBroker(browser, password);
    try {
      const admin = new Admin({ bootstrap: sec.listeners[0]!.bootstrap, sasl: ADMIN_SASL });
      const producer = new Producer({ bootstrap: sec.listeners[0]!.bootstrap, sasl: ADMIN_SASL, lingerMs: 0 });
      try {
        await admin.createTopics([{ topic: 'readable' }, { topic: 'listed-only' }]);
        await producer.send('readable', { key: 'k', value: 'alice may read this' });
        await producer.send('listed-only', { key: 'k', value: 'alice may not read this' });
        // alice may open both topics' pages (DESCRIBE, DESCRIBE_CONFIGS) and READ only `readable`.
        await admin.createAcls(
          ['readable', 'listed-only'].flatMap((topic) =>
            (topic === 'readable' ? ['read', 'describe_configs'] : ['describe', 'describe_configs']).map((operation) => ({
              resourceType: 'topic' as const, resourceName: topic, principal: 'User:alice', operation: operation as 'read', permission: 'allow' as const,
            })),
          ),
        );
      } finally {
        await producer.close();
        await admin.close();
      }
      const p = await context.newPage();
      p.setDefaultTimeout(10_000);
      p.on('pageerror', (err) => pageErrors.push(err.message));
      const refusal = async (title: string, reason: string) => {
        const box = p.getByRole('alert', { name: 'not authorized' });
        await box.waitFor();
        assert.equal(await text(p, 'main h1'), title);
        assert.equal(await box.locator('h2').innerText(), 'Not authorized');
        assert.equal(await box.locator('.refused-reason').innerText(), reason);
      };

      await p.goto(`${sec.httpUrl}/#/`);
      await refusal('Overview', 'User:alice is not authorized to DESCRIBE cluster kafka-cluster.');
      await shot(p, 'refused');
      await p.goto(`${sec.httpUrl}/#/config`);
      await refusal('Configuration', 'User:alice is not authorized to DESCRIBE_CONFIGS cluster kafka-cluster.');

      await p.goto(`${sec.httpUrl}/#/topics/listed-only/messages`);
      await refusal('Topic listed-only', 'User:alice is not authorized to READ topic listed-only.');
      assert.equal(await p.locator('[aria-label=messages]').isVisible(), false, 'no empty table under the refusal');
      await p.getByLabel('Live tail').check();
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(await p.getByLabel('Live tail').isChecked(), false, 'the tail stops at a refusal');
      await p.getByRole('alert', { name: 'not authorized' }).waitFor();

      // A topic she may read: the messages, no refusal.
      await p.goto(`${sec.httpUrl}/#/topics/readable/messages`);
      await p.locator('[aria-label=messages] tr[data-offset="0"]').waitFor();
      assert.equal(await text(p, '[aria-label=messages] tr[data-offset="0"] pre.value'), 'alice may read this');
      assert.equal(await p.getByRole('alert', { name: 'not authorized' }).count(), 0);
    } finally {
      await context.close();
      await sec.close();
    }
  });

  test('over HTTPS with a client certificate: the certificate\'s principal is who the console answers', { skip: skipUnless(openssl) }, async () => {
    requireClient(openssl);
    const pki = await makePki();
    const sec = await startBroker({
      port: 0,
      listeners: ['SASL_PLAINTEXT://127.0.0.1:0'],
      saslEnabledMechanisms: ['SCRAM-SHA-512'],
      saslUsers: [{ name: 'admin', password: 'admin-cert-Pw' }],
      authorizerEnabled: true,
      superUsers: 'User:admin',
      sslPrincipalMappingRules: 'RULE:^CN=([^,]+),OU=eng,O=acme$/$1/,DEFAULT',
      httpListener: '127.0.0.1:0',
      httpSslEnabled: true,
      httpSslKeystoreLocation: pki.serverKeystore,
      httpSslTruststoreLocation: pki.caFile,
      httpSslClientAuth: 'required',
      logger: createLogger('error', () => {}),
    });
    // Chromium does not trust the test CA: the server's certificate is not what this test checks.
    const context = await browser.newContext({
      ignoreHTTPSErrors: true,
      clientCertificates: [{ origin: sec.httpUrl!, cert: Buffer.from(pki.clientCertPem), key: Buffer.from(pki.clientKeyPem) }],
      viewport: { width: 1280, height: 860 },
    });
    try {
      assert.match(sec.httpUrl!, /^https:/);
      const admin = new Admin({ bootstrap: sec.listeners[0]!.bootstrap, sasl: { mechanism: 'SCRAM-SHA-512', username: 'admin', password: 'admin-cert-Pw' } });
      try {
        await admin.createTopics([{ topic: 'for-app-1' }, { topic: 'not-for-app-1' }]);
        await admin.createAcls([
          { resourceType: 'cluster', resourceName: 'kafka-cluster', principal: 'User:app-1', operation: 'describe', permission: 'allow' },
          { resourceType: 'topic', resourceName: 'for-app-1', principal: 'User:app-1', operation: 'describe', permission: 'allow' },
        ]);
      } finally {
        await admin.close();
      }
      const p = await context.newPage();
      p.setDefaultTimeout(10_000);
      p.on('pageerror', (err) => pageErrors.push(err.message));
      await p.goto(`${sec.httpUrl}/#/`);
      await p.locator('[aria-label=broker]').waitFor();
      assert.match(await text(p, '[aria-label=counts]'), /Topics 2 /);
      await p.goto(`${sec.httpUrl}/#/topics`);
      await p.locator('tr[data-topic=for-app-1]').waitFor();
      assert.equal(await p.locator('tr[data-topic=not-for-app-1]').count(), 0);
      await p.goto(`${sec.httpUrl}/#/config`);
      await p.getByRole('alert', { name: 'not authorized' }).waitFor();
      assert.equal(await text(p, '.refused-reason'), 'User:app-1 is not authorized to DESCRIBE_CONFIGS cluster kafka-cluster.');
      // Without the certificate the handshake itself is refused: nothing of the page is served.
      const bare = await browser.newContext({ ignoreHTTPSErrors: true });
      try {
        await assert.rejects((await bare.newPage()).goto(`${sec.httpUrl}/`));
      } finally {
        await bare.close();
      }
    } finally {
      await context.close();
      await sec.close();
      await pki.cleanup();
    }
  });

  test('behind authentication: the browser logs in with Basic credentials and sees what its principal may describe', async () => {
    const password = 'alice-browser-Pw';
    const { sec, context } = await aliceBroker(browser, password);
    try {
      const admin = new Admin({ bootstrap: sec.listeners[0]!.bootstrap, sasl: ADMIN_SASL });
      try {
        await admin.createTopics([{ topic: 'alice-topic' }, { topic: 'not-for-alice' }]);
        await admin.createAcls([{ resourceType: 'topic', resourceName: 'alice-topic', principal: 'User:alice', operation: 'read', permission: 'allow' }]);
      } finally {
        await admin.close();
      }
      // Without credentials the page itself is refused, with a Basic challenge.
      const anonymous = await fetch(`${sec.httpUrl}/`);
      assert.equal(anonymous.status, 401);
      assert.match(anonymous.headers.get('www-authenticate') ?? '', /^Basic /);
      const p = await context.newPage();
      p.setDefaultTimeout(10_000);
      await p.goto(`${sec.httpUrl}/#/topics`);
      await p.locator('tr[data-topic=alice-topic]').waitFor();
      assert.equal(await p.locator('tr[data-topic=not-for-alice]').count(), 0);
    } finally {
      await context.close();
      await sec.close();
    }
  });
});
