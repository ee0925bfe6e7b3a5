/** A sink for one-line log messages (the broker's logger: src/broker/logger.ts, backed by pino). */
export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

/**
 * Structured fields of one line: JSON keys in `log.format: json`, `key=value` after the message in
 * text. Values are plain scalars; nothing secret (passwords, tokens, record contents) goes here.
 */
export type LogFields = Readonly<Record<string, string | number | boolean | null>>;

export interface Logger {
  error(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  debug(msg: string, fields?: LogFields): void;
  /**
   * Whether lines at `level` are written, so that a caller can skip building a line nobody reads
   * (the per-request debug line). Absent: every level is.
   */
  enabled?(level: LogLevel): boolean;
}
