// @ts-check
/**
 * Record filtering on produce: records whose `level` field (JSON value) is below `options.minLevel`
 * are dropped before they reach the log; a record with a value that is not JSON refuses the batch.
 *
 * Works with idempotent producers: the dropped records' offsets stay unused (as in a compacted
 * batch), so the producer's sequence numbers still match (docs/hooks.md).
 *
 *   hooks:
 *     - module: ./drop-debug.js
 *       topics: ["/logs\\..*\/"]
 *       options: { minLevel: info }
 */
import { ErrorCode } from 'rafka';

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error'];

/** @type {import('rafka').HookFactory<{ minLevel?: string }>} */
export default function dropDebug(options) {
  const min = LEVELS.indexOf(options.minLevel ?? 'info');
  if (min < 0) throw new TypeError(`drop-debug: unknown minLevel ${options.minLevel}`);
  return {
    name: 'drop-debug',
    async beforeProduce({ batch }) {
      for (const r of await batch.records()) {
        let level;
        try {
          level = /** @type {{ level?: string }} */ (r.valueJson())?.level;
        } catch {
          return { errorCode: ErrorCode.INVALID_RECORD, message: `record ${r.index} is not JSON`, recordErrors: [{ index: r.index, message: 'not JSON' }] };
        }
        if (level !== undefined && LEVELS.indexOf(level) < min) r.drop();
      }
    },
  };
}
