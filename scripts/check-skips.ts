/**
 * CI's guard against silent skips: reads the TAP output of `npm test` (a file, or stdin) and fails
 * when a test was skipped for a reason that is not on the allow-list in test/helpers/skips.ts.
 *
 *   npm test | tee test.tap; node dist/scripts/check-skips.js test.tap
 *
 * Under RAFKA_REQUIRE_CLIENTS=1 the tests themselves fail instead of skipping for anything but a
 * listed reason; this catches a skip added without going through those helpers.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ALLOWED_SKIPS } from '../test/helpers/skips.js';

export interface SkipReport {
  allowed: { test: string; reason: string }[];
  refused: { test: string; reason: string }[];
}

/** `ok 12 - name # SKIP reason` (node:test's TAP reporter, subtests indented). */
const SKIP_LINE = /^\s*ok \d+ - (.*?) # SKIP\b\s*(.*)$/i;
const ALLOWED_PREFIX = /^allowed skip \(([a-z0-9-]+)\):/;

export function checkSkips(tap: string): SkipReport {
  const report: SkipReport = { allowed: [], refused: [] };
  for (const line of tap.split('\n')) {
    const m = SKIP_LINE.exec(line);
    if (!m) continue;
    const test = m[1]!;
    const reason = m[2]!.trim();
    const id = ALLOWED_PREFIX.exec(reason)?.[1];
    if (id !== undefined && Object.hasOwn(ALLOWED_SKIPS, id)) report.allowed.push({ test, reason });
    else report.refused.push({ test, reason });
  }
  return report;
}

function main(argv: string[]): number {
  const tap = readFileSync(argv[0] ?? 0, 'utf8');
  const r = checkSkips(tap);
  for (const s of r.allowed) process.stdout.write(`skip allowed: ${s.test}: ${s.reason}\n`);
  for (const s of r.refused) process.stderr.write(`skip NOT on the allow-list (test/helpers/skips.ts): ${s.test}: ${s.reason || '(no reason)'}\n`);
  process.stdout.write(`check-skips: ${r.allowed.length} allowed, ${r.refused.length} refused\n`);
  return r.refused.length === 0 ? 0 : 1;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = main(process.argv.slice(2));
}
