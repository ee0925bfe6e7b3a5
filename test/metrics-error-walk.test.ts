/**
 * rafka_request_errors_total counts every non-zero `errorCode` of a response. Produce and Fetch
 * answers are walked by their schema's shortcut (src/broker/metrics/metrics.ts, SCHEMA_ERROR_WALKS),
 * every other API by the generic walk: the shortcut must find exactly what the generic walk finds,
 * on answers as the handlers build them and on bodies a hook reshaped. (Counted end to end, through
 * a live broker's scrape: test/metrics-http.test.ts.)
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiKey } from '../src/protocol/messages/index.js';
import { forEachErrorCode, forEachResponseErrorCode } from '../src/broker/metrics/metrics.js';

function codes(walk: (found: (code: number, arg: string[]) => void, arg: string[]) => void): number[] {
  const out: string[] = [];
  walk((code, arg) => arg.push(String(code)), out);
  return out.map(Number).sort((a, b) => a - b);
}

const produce = {
  throttleTimeMs: 0,
  responses: [
    {
      name: 'a',
      topicId: '',
      partitionResponses: [
        { index: 0, errorCode: 0, baseOffset: 5n, logAppendTimeMs: -1n, logStartOffset: 0n, recordErrors: [], errorMessage: null, currentLeader: { leaderId: -1, leaderEpoch: -1 } },
        { index: 1, errorCode: 87, baseOffset: -1n, logAppendTimeMs: -1n, logStartOffset: 0n, recordErrors: [{ batchIndex: 2, batchIndexErrorMessage: 'bad' }], errorMessage: 'x', currentLeader: { leaderId: -1, leaderEpoch: -1 } },
      ],
    },
    { name: 'b', topicId: '', partitionResponses: [{ index: 0, errorCode: 3, baseOffset: -1n, logAppendTimeMs: -1n, logStartOffset: -1n, recordErrors: [], errorMessage: null, currentLeader: { leaderId: -1, leaderEpoch: -1 } }] },
  ],
  nodeEndpoints: [],
};

const fetch = {
  throttleTimeMs: 0,
  errorCode: 0,
  sessionId: 0,
  responses: [
    {
      topic: 't',
      topicId: '',
      partitions: [
        { partitionIndex: 0, errorCode: 1, highWatermark: 0n, lastStableOffset: 0n, logStartOffset: 0n, divergingEpoch: { epoch: -1, endOffset: -1n }, currentLeader: { leaderId: -1, leaderEpoch: -1 }, snapshotId: { endOffset: -1n, epoch: -1 }, abortedTransactions: null, preferredReadReplica: -1, records: Buffer.alloc(3) },
        { partitionIndex: 1, errorCode: 0, highWatermark: 0n, lastStableOffset: 0n, logStartOffset: 0n, divergingEpoch: { epoch: -1, endOffset: -1n }, currentLeader: { leaderId: -1, leaderEpoch: -1 }, snapshotId: { endOffset: -1n, epoch: -1 }, abortedTransactions: [{ producerId: 1n, firstOffset: 0n }], preferredReadReplica: -1, records: null },
      ],
    },
  ],
  nodeEndpoints: [],
};

test('error codes: the Produce and Fetch shortcuts find what the generic walk finds', () => {
  for (const [apiKey, body, expected] of [
    [ApiKey.Produce, produce, [3, 87]],
    [ApiKey.Fetch, fetch, [1]],
    [ApiKey.Fetch, { ...fetch, errorCode: 71 }, [1, 71]],
    // Reshaped by a hook: no topic array, a topic without its partition array, a stray array body.
    [ApiKey.Produce, { responses: null, errorCode: 2 }, [2]],
    [ApiKey.Produce, { responses: [{ name: 'a', partitionResponses: undefined, errorCode: 7 }, produce.responses[1]] }, [3, 7]],
    [ApiKey.Fetch, { responses: [{ topic: 't', partitions: 'x', nested: { errorCode: 9 } }] }, [9]],
    [ApiKey.Produce, [{ errorCode: 4 }], [4]],
  ] as [number, object, number[]][]) {
    const shortcut = codes((found, arg) => forEachResponseErrorCode(apiKey, body, found, arg));
    const generic = codes((found, arg) => forEachErrorCode(body, found, arg));
    assert.deepEqual(shortcut, expected);
    assert.deepEqual(shortcut, generic);
  }
});
