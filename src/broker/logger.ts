/**
 * The broker's own log: pino (issue 21), filtered by level, to stderr or a sink (tests), in one of two
 * forms (`log.format`):
 *
 * - `text` (the default): `<ISO time> <LEVEL> <message>` and then the line's fields as `key=value`,
 *   one line each — what people read in a terminal, and what tests match.
 * - `json`: pino's own line, one JSON object a line: `{"level":"info","time":"…","pid":…,"msg":"…",…fields}`,
 *   for log shippers. `level` is the label, not pino's number, so a reader needs no table.
 *
 * Lines are written synchronously (pino.destination with `sync: true`): a broker killed right after a
 * line, or exiting on a fatal error, has written it.
 */
import { pino, type DestinationStream } from 'pino';
import type { LogFields, LogLevel, Logger } from '../contracts/logger.js';

export type { Logger, LogFields, LogLevel };
export type LogFormat = 'text' | 'json';

export function createLogger(level: LogLevel, sink?: (line: string) => void, format: LogFormat = 'text'): Logger {
  const json = format === 'json';
  const destination: DestinationStream = json
    ? sink
      ? { write: (s: string) => sink(s.endsWith('\n') ? s.slice(0, -1) : s) }
      : pino.destination({ dest: 2, sync: true })
    : textDestination(sink ?? ((line) => process.stderr.write(line + '\n')));
  const p = pino(
    {
      level,
      // Text lines carry neither pid nor host name (one broker per terminal); JSON lines keep pino's pid.
      base: json ? { pid: process.pid } : null,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
  const at = (lvl: LogLevel) => (msg: string, fields?: LogFields) => (fields === undefined ? p[lvl](msg) : p[lvl](fields, msg));
  return {
    error: at('error'),
    warn: at('warn'),
    info: at('info'),
    debug: at('debug'),
    enabled: (lvl) => p.isLevelEnabled(lvl),
  };
}

/**
 * pino serialises every line as JSON; text mode turns that line back into `<time> <LEVEL> <msg>
 * key=value…`. The extra parse is paid per line written (lines below the level are never built), and
 * the line needs no formatting code of its own besides this.
 */
function textDestination(sink: (line: string) => void): DestinationStream {
  return {
    write(s: string) {
      const { time, level, msg, ...fields } = JSON.parse(s) as Record<string, unknown>;
      let line = `${String(time)} ${String(level).toUpperCase()} ${String(msg ?? '')}`;
      for (const [k, v] of Object.entries(fields)) line += ` ${k}=${textValue(v)}`;
      sink(line);
    },
  };
}

/** A field's value in a text line: bare when it is one word, else JSON-quoted so the line stays parseable. */
function textValue(v: unknown): string {
  if (typeof v === 'string') return v !== '' && /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  return JSON.stringify(v) ?? String(v);
}
