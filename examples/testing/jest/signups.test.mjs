// Against the worker's broker from the global setup (jest.config.mjs), with names of its own per test.
import { expect, test } from '@jest/globals';
import { uniqueName, waitFor, workerBootstrap } from 'rafka/testing';
import { connect, signUp, startMailer } from './signups.mjs';

const kafka = connect(workerBootstrap());

test('a sign-up gets a welcome mail', async () => {
  const topic = uniqueName('signups');
  const sent = [];
  const stop = await startMailer(kafka, topic, uniqueName('mailer'), (user) => sent.push(user.email));
  try {
    await signUp(kafka, topic, { email: 'ada@example.com' });
    await waitFor(() => sent.length === 1);
    expect(sent).toEqual(['ada@example.com']);
  } finally {
    await stop();
  }
});

test('every sign-up gets its mail, in order per user', async () => {
  const topic = uniqueName('signups');
  const sent = [];
  const stop = await startMailer(kafka, topic, uniqueName('mailer'), (user) => sent.push(`${user.email}:${user.step}`));
  try {
    for (let step = 1; step <= 3; step++) await signUp(kafka, topic, { email: 'lin@example.com', step });
    await waitFor(() => sent.length === 3);
    expect(sent).toEqual(['lin@example.com:1', 'lin@example.com:2', 'lin@example.com:3']);
  } finally {
    await stop();
  }
});
