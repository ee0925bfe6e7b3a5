// Against the worker's broker from the global setup (vitest.config.mjs): each test uses topic and
// group names of its own, so test files sharing a broker never see each other's data.
import { afterEach, expect, test } from 'vitest';
import { uniqueName, waitFor, workerBootstrap } from 'rafka/testing';
import { connect, publishStock, startStockView } from './stock.mjs';

const kafka = connect(workerBootstrap());
const views = [];
afterEach(async () => Promise.all(views.splice(0).map((v) => v.stop())));

test('the view shows the latest level of each item', async () => {
  const topic = uniqueName('stock');
  const view = await startStockView(kafka, topic, uniqueName('view'));
  views.push(view);
  await publishStock(kafka, topic, 'apple', 3);
  await publishStock(kafka, topic, 'pear', 5);
  await publishStock(kafka, topic, 'apple', 2);
  await waitFor(() => view.levels.get('apple') === 2 && view.levels.get('pear') === 5);
  expect(Object.fromEntries(view.levels)).toEqual({ apple: 2, pear: 5 });
});

test('a view started later reads the levels from the beginning', async () => {
  const topic = uniqueName('stock');
  await publishStock(kafka, topic, 'plum', 7);
  const view = await startStockView(kafka, topic, uniqueName('view'));
  views.push(view);
  await waitFor(() => view.levels.get('plum') === 7);
});
