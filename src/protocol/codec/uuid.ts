/**
 * Kafka UUIDs travel as 16 raw bytes. In memory we keep Kafka's own printable form (URL-safe base64
 * without padding, 22 characters, as `Uuid.toString()` prints it) so ids can be map keys and shown
 * to people as Kafka's tools show them.
 */
import { randomBytes } from 'node:crypto';

export const ZERO_UUID = 'AAAAAAAAAAAAAAAAAAAAAA';

export function uuidFromBytes(bytes: Buffer): string {
  return bytes.toString('base64url');
}

export function uuidToBytes(uuid: string): Buffer {
  const bytes = Buffer.from(uuid, 'base64url');
  if (bytes.length !== 16) throw new TypeError(`not a Kafka UUID: ${JSON.stringify(uuid)}`);
  return bytes;
}

/** A random version-4 UUID that is neither zero nor starts with '-' (Kafka's Uuid.randomUuid rule). */
export function randomUuid(): string {
  for (;;) {
    const b = randomBytes(16);
    b[6] = (b[6]! & 0x0f) | 0x40;
    b[8] = (b[8]! & 0x3f) | 0x80;
    const s = uuidFromBytes(b);
    if (s !== ZERO_UUID && !s.startsWith('-')) return s;
  }
}
