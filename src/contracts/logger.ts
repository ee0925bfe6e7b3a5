/** A sink for one-line log messages (the broker's logger: src/broker/logger.ts). */
export interface Logger {
  error(msg: string): void;
  warn(msg: string): void;
  info(msg: string): void;
  debug(msg: string): void;
}
