/**
 * Decoding the records of a batch on behalf of a request (the produce path's compacted-topic keys,
 * timestamp bounds and compression.type; ListOffsets by timestamp; hooks that read records): the one
 * door through which a request's batches are decompressed.
 *
 * - Broker-wide, one batch is decompressed and decoded at a time (a FIFO queue): a batch may unpack
 *   to 128 MiB and half a million objects, and many requests doing that at once — the partitions of
 *   one request are appended concurrently — would add those up outside any limit. The caller's work
 *   on the records runs inside its turn, so at most one batch's records are alive at once.
 * - Per request, the decompressed bytes of all its batches together are bounded
 *   (REQUEST_DECOMPRESSED_BYTES_MAX): past it the rest fail with MESSAGE_TOO_LARGE, without being
 *   decompressed, so one request cannot keep the queue for long.
 * - The decode itself yields to the event loop (decodeBatch), so other connections are served while
 *   a long one runs.
 */
import { decodeBatch, type DecodedBatch, type DecodeBatchOptions } from './record.js';
import { DecompressionLimitError } from './errors.js';
import { REQUEST_DECOMPRESSED_BYTES_MAX } from '../../base/limits.js';
import { Mutex } from '../../base/mutex.js';

const turns = new Mutex();
/** Decompressed bytes each request (by its context object) may still produce. */
const budgets = new WeakMap<object, { left: number }>();

/**
 * Decode `buf`'s batch (limit: `maxDecompressedBytes`, and what is left of the budget of the request
 * whose context is `ctx`) and run `use` on it, in the process's one decoding turn. Throws what
 * decodeBatch throws (RecordsError). `verifyCrc` as for decodeBatch.
 */
export function withDecodedBatch<T>(
  ctx: object | undefined,
  buf: Buffer,
  maxDecompressedBytes: number,
  use: (batch: DecodedBatch) => Promise<T> | T,
  verifyCrc = true,
): Promise<T> {
  return turns.run(async () => {
    // Turns follow one another through promise callbacks, which run before any I/O: without this
    // pause a queue of large decompressions would hold the event loop for all of them together.
    await new Promise<void>((resolve) => setImmediate(resolve));
    let budget: { left: number } | undefined;
    if (ctx !== undefined) {
      budget = budgets.get(ctx);
      if (budget === undefined) budgets.set(ctx, (budget = { left: REQUEST_DECOMPRESSED_BYTES_MAX }));
    }
    const limitedByBudget = budget !== undefined && budget.left < maxDecompressedBytes;
    const limit = limitedByBudget ? budget!.left : maxDecompressedBytes;
    const opts: DecodeBatchOptions = {
      maxDecompressedBytes: limit,
      verifyCrc,
      // Counted even when the records then fail to decode: the work was done.
      onDecompressed: (bytes) => {
        if (budget !== undefined) budget.left -= bytes;
      },
    };
    let batch: DecodedBatch;
    try {
      batch = await decodeBatch(buf, opts);
    } catch (err) {
      if (err instanceof DecompressionLimitError && limitedByBudget) {
        budget!.left = 0;
        throw new DecompressionLimitError(
          limit,
          `the request's batches decompress to more than ${REQUEST_DECOMPRESSED_BYTES_MAX} bytes together (the broker's limit for one request)`,
        );
      }
      throw err;
    }
    return use(batch);
  });
}
