/**
 * Every test skip that CI (RAFKA_REQUIRE_CLIENTS=1) tolerates, with why; any other skip fails there.
 *
 * A test that cannot run here calls `skipOrFail(t, reason)`: it skips locally, saying why, and fails
 * under RAFKA_REQUIRE_CLIENTS=1. Only a condition listed in ALLOWED_SKIPS may skip in CI, through
 * `allowedSkip(t, id, detail)`, whose message starts with `allowed skip (id):`. scripts/check-skips.ts
 * reads the TAP output of `npm test` and fails CI on any skip without a listed id, so a skip can
 * never hide a failure (.ci/run).
 */
import { clientsRequired } from './external.js';

export const ALLOWED_SKIPS = {
  /**
   * Mounting a tmpfs needs CAP_SYS_ADMIN, which CI containers often lack and must not be given for a
   * test; the injected-error test in the same file covers the same KAFKA_STORAGE_ERROR path.
   */
  tmpfs: 'mounting a 2 MiB tmpfs needs privileges; the injected ENOSPC test covers the same path',
} as const;

export type AllowedSkip = keyof typeof ALLOWED_SKIPS;

interface Skippable {
  skip(message?: string): void;
}

/** The message an allowed skip carries; scripts/check-skips.ts recognises it. */
export function allowedSkipMessage(id: AllowedSkip, detail: string): string {
  return `allowed skip (${id}): ${detail}`;
}

/** Skip for a listed reason, in CI too. */
export function allowedSkip(t: Skippable, id: AllowedSkip, detail: string): void {
  t.skip(allowedSkipMessage(id, detail));
}

/** Skip saying why; under RAFKA_REQUIRE_CLIENTS=1 (CI) fail instead. */
export function skipOrFail(t: Skippable, reason: string): void {
  if (clientsRequired()) throw new Error(`${reason} (RAFKA_REQUIRE_CLIENTS=1: this skip is not on the allow-list in test/helpers/skips.ts)`);
  t.skip(reason);
}
