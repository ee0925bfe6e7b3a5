/**
 * What the maintenance loop (src/broker/maintenance.ts) needs to know about compaction, in a module
 * of its own so that the broker does not import the log engine unless it runs it.
 */
import type { CleanOptions, CleanResult } from './log-cleaner.js';

/** An engine whose logs can be compacted (the maintenance loop looks for this). */
export interface CompactingEngine {
  compact(topic: string, partition: number, options: CleanOptions): Promise<CleanResult>;
}

export function isCompactingEngine(e: unknown): e is CompactingEngine {
  return typeof (e as CompactingEngine | null)?.compact === 'function';
}
