/** Reading a topic to a known end with Rafka's own Consumer, for the client transaction tests. */
import assert from 'node:assert/strict';
import { Consumer, type ConsumerMessage, type IsolationLevel } from '../../src/client/index.js';

/**
 * Every message of the topic's partitions from offset 0 until each partition's position reaches its
 * `ends` entry (the log end offset: the position passes trailing markers too), at `isolation`; and
 * that nothing more comes.
 */
export async function readToEnd(bootstrap: string, topic: string, ends: readonly number[], isolation: IsolationLevel): Promise<{ messages: ConsumerMessage[]; positions: number[] }> {
  const consumer = new Consumer({ bootstrap, isolationLevel: isolation });
  try {
    consumer.assign(ends.map((_, partition) => ({ topic, partition, offset: 0 })));
    const messages: ConsumerMessage[] = [];
    const positions = () => ends.map((_, partition) => consumer.position({ topic, partition }) ?? -1);
    const deadline = Date.now() + 10_000;
    while (positions().some((p, i) => p < ends[i]!)) {
      if (Date.now() > deadline) throw new Error(`read ${messages.length} messages; positions ${positions().join(',')} short of ${ends.join(',')}`);
      const m = await consumer.next(50);
      if (m) messages.push(m);
    }
    assert.equal(await consumer.next(100), undefined, 'nothing past the end');
    return { messages, positions: positions() };
  } finally {
    await consumer.close();
  }
}

export const values = (ms: readonly ConsumerMessage[]): string[] => ms.map((m) => m.value!.toString());
