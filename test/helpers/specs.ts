/**
 * The Kafka message specs for the spec-reading tests: those of the pinned Kafka client jar, fetched
 * from Maven Central and cached outside the repository on first use (scripts/kafka-specs.ts), the same
 * input `npm run gen:protocol` uses. When the jar cannot be obtained (no cache, no local Maven copy, no
 * network) the tests that need it are skipped, saying why; with RAFKA_REQUIRE_CLIENTS=1 (CI) that is a
 * failure instead. A jar whose SHA-1 is not the pinned one is always a failure.
 */
import { loadJarSpecs, type MessageSpec } from '../../scripts/gen-protocol.js';
import { KAFKA_SPECS_SOURCE, SpecsUnavailableError } from '../../scripts/kafka-specs.js';

async function load(): Promise<{ specs: MessageSpec[]; skip: string | false }> {
  try {
    return { specs: await loadJarSpecs(), skip: false };
  } catch (e) {
    if (!(e instanceof SpecsUnavailableError)) throw e;
    const reason = `Kafka message specs unavailable (${KAFKA_SPECS_SOURCE}): ${e.message}`;
    if (process.env['RAFKA_REQUIRE_CLIENTS'] === '1') throw new Error(`${reason}; RAFKA_REQUIRE_CLIENTS=1 requires them`);
    return { specs: [], skip: reason };
  }
}

const loaded = await load();
/** Every spec of the jar, sorted by file name; empty when skipped. */
export const SPECS: readonly MessageSpec[] = loaded.specs;
/** false when the specs are present, else the reason the spec-reading tests are skipped. */
export const SPECS_SKIP: string | false = loaded.skip;
