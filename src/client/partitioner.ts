/**
 * Partitioners. The default matches the Java producer's (BuiltInPartitioner since Kafka 3.3, KIP-794)
 * so that a key lands on the same partition whichever client wrote it:
 *
 * - a record with an explicit partition goes there;
 * - a keyed record goes to `toPositive(murmur2(keyBytes)) % numPartitions`, over all partitions
 *   (available or not), exactly as `BuiltInPartitioner.partitionForKey`;
 * - an unkeyed record goes to a "sticky" partition, which changes once `batchSizeBytes` bytes have
 *   been produced to it (KIP-794's uniform sticky partitioner), chosen at random among partitions
 *   that have a leader. This fills whole batches instead of spraying tiny ones.
 *
 * A null key is "no key"; an empty key (zero bytes) is a key and is hashed.
 */

/** Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2): a signed 32-bit result. */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  const m = 0x5bd1e995;
  const r = 24;
  let h = (0x9747b28c ^ length) | 0;
  const length4 = length >> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = data[i4]! | (data[i4 + 1]! << 8) | (data[i4 + 2]! << 16) | (data[i4 + 3]! << 24);
    k = Math.imul(k, m);
    k ^= k >>> r;
    k = Math.imul(k, m);
    h = Math.imul(h, m);
    h ^= k;
  }
  // Java's switch falls through from case 3 to case 1; written out without fall-through here.
  const tail = length & ~3;
  const rest = length & 3;
  if (rest === 3) h ^= data[tail + 2]! << 16;
  if (rest >= 2) h ^= data[tail + 1]! << 8;
  if (rest >= 1) {
    h ^= data[tail]!;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/** Kafka's Utils.toPositive: clears the sign bit (not Math.abs: abs(MIN_VALUE) is negative). */
export function toPositive(n: number): number {
  return n & 0x7fffffff;
}

/** The partition the Java client's default partitioner picks for a key. */
export function partitionForKey(key: Uint8Array, numPartitions: number): number {
  return toPositive(murmur2(key)) % numPartitions;
}

export interface PartitionerInput {
  topic: string;
  key: Buffer | null;
  /** Partitions of the topic. */
  numPartitions: number;
  /** Partitions that currently have a leader (for unkeyed records). */
  availablePartitions: readonly number[];
}

/** A custom partitioner returns a partition number for each record. */
export type Partitioner = (input: PartitionerInput) => number;

/** The default: murmur2 for keys, uniform sticky for unkeyed records (see the file comment). */
export class DefaultPartitioner {
  private readonly sticky = new Map<string, { partition: number; bytes: number }>();

  constructor(private readonly batchSizeBytes: number) {}

  partition(input: PartitionerInput, recordBytes: number): number {
    return this.partitionOf(input.topic, input.key, input.numPartitions, input.availablePartitions, recordBytes);
  }

  /** partition() without the input object (the producer calls it once per record). */
  partitionOf(topic: string, key: Buffer | null, numPartitions: number, availablePartitions: readonly number[], recordBytes: number): number {
    if (key !== null) return partitionForKey(key, numPartitions);
    let s = this.sticky.get(topic);
    if (!s || s.bytes >= this.batchSizeBytes || s.partition >= numPartitions) {
      s = { partition: this.nextSticky(numPartitions, availablePartitions, s?.partition), bytes: 0 };
      this.sticky.set(topic, s);
    }
    s.bytes += recordBytes;
    return s.partition;
  }

  private nextSticky(numPartitions: number, availablePartitions: readonly number[], previous: number | undefined): number {
    const avail = availablePartitions.length > 0 ? availablePartitions : [...Array(numPartitions).keys()];
    if (avail.length === 1) return avail[0]!;
    for (;;) {
      const p = avail[Math.floor(Math.random() * avail.length)]!;
      if (p !== previous) return p;
    }
  }
}
