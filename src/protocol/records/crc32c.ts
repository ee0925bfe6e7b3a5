/**
 * CRC-32C (Castagnoli), the checksum of record batches, from @node-rs/crc32 (hardware instructions
 * where the CPU has them).
 *
 * Loaded with require() rather than `import`: the package is CommonJS, and importing CommonJS from an
 * ES module makes Node start its CommonJS export scanner, which costs ~3 ms of every broker start.
 */
import { createRequire } from 'node:module';

type Crc32 = typeof import('@node-rs/crc32');

/** CRC-32C of `input`, continuing from `initialState` (a previous result) when given. */
export const crc32c: Crc32['crc32c'] = (createRequire(import.meta.url)('@node-rs/crc32') as Crc32).crc32c;
