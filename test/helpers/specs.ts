/**
 * Where the Kafka message specs are (../shared/kafka-protocol/message beside the repository, or
 * RAFKA_PROTOCOL_SPEC_DIR). Tests that read them are skipped, saying why, when they are absent (a
 * clone on its own); CI, which has them, sets RAFKA_REQUIRE_CLIENTS=1 and then their absence fails.
 */
import { existsSync } from 'node:fs';
import { defaultSpecDir } from '../../scripts/gen-protocol.js';

export const SPEC_DIR = defaultSpecDir();

function specsSkip(): string | false {
  if (existsSync(SPEC_DIR)) return false;
  const reason = `Kafka message specs not found at ${SPEC_DIR} (set RAFKA_PROTOCOL_SPEC_DIR to the kafka-protocol/message folder)`;
  if (process.env.RAFKA_REQUIRE_CLIENTS === '1') throw new Error(`${reason}; RAFKA_REQUIRE_CLIENTS=1 requires them`);
  return reason;
}

/** false when the specs are present, else the reason the spec-reading tests are skipped. */
export const SPECS_SKIP = specsSkip();
