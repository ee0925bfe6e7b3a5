/** The broker's own log lines: one line each, to stderr, filtered by level. */
export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

const RANK: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

import type { Logger } from '../contracts/logger.js';

export type { Logger };

export function createLogger(level: LogLevel, sink: (line: string) => void = (l) => process.stderr.write(l + '\n')): Logger {
  const at = RANK[level];
  const line = (lvl: LogLevel, msg: string) => {
    if (RANK[lvl] <= at) sink(`${new Date().toISOString()} ${lvl.toUpperCase()} ${msg}`);
  };
  return {
    error: (m) => line('error', m),
    warn: (m) => line('warn', m),
    info: (m) => line('info', m),
    debug: (m) => line('debug', m),
  };
}
