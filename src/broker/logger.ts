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
 *
 * pino is loaded with the first line that passes the level, not before: a start that logs nothing
 * (the usual `rafka start` at info) does not pay the ~10 ms of loading it (issue 7's start-up budget).
 */
import { createRequire } from 'node:module';
import type { DestinationStream, Logger as PinoLogger } from 'pino';
import type { LogFields, LogLevel, Logger } from '../contracts/logger.js';

export type { Logger, LogFields, LogLevel };
export type LogFormat = 'text' | 'json';

const RANK: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

// pino is CommonJS: `require` loads it synchronously, on first use (see above).
const require = createRequire(import.meta.url);
let pinoModule: typeof import('pino').pino | undefined;
function loadPino(): typeof import('pino').pino {
  return (pinoModule ??= (require('pino') as typeof import('pino')).pino);
}

export function createLogger(level: LogLevel, sink?: (line: string) => void, format: LogFormat = 'text'): Logger {
  const at = RANK[level];
  let p: PinoLogger | null = null;
  const open = (): PinoLogger => {
    const pino = loadPino();
    const json = format === 'json';
    const destination: DestinationStream = json
      ? sink
        ? { write: (s: string) => sink(s.endsWith('\n') ? s.slice(0, -1) : s) }
        : pino.destination({ dest: 2, sync: true })
      : textDestination(sink ?? ((line) => process.stderr.write(line + '\n')));
    return pino(
      {
        level,
        // Text lines carry neither pid nor host name (one broker per terminal); JSON lines keep pino's pid.
        base: json ? { pid: process.pid } : null,
        timestamp: pino.stdTimeFunctions.isoTime,
        formatters: { level: (label) => ({ level: label }) },
      },
      destination,
    );
  };
  const line = (lvl: LogLevel) => (msg: string, fields?: LogFields) => {
    if (RANK[lvl] > at) return;
    p ??= open();
    if (fields === undefined) p[lvl](msg);
    else p[lvl](fields, msg);
  };
  return {
    error: line('error'),
    warn: line('warn'),
    info: line('info'),
    debug: line('debug'),
    enabled: (lvl) => RANK[lvl] <= at,
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
