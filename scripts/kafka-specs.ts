/**
 * The Kafka message specs the protocol generator reads: `common/message/*.json` inside the Apache
 * Kafka client jar, one pinned release from Maven Central. Nothing of Kafka's is committed; the jar
 * is cached outside the repository.
 *
 * Where the jar comes from, first that exists:
 *   1. the cache, `$RAFKA_CACHE_DIR` or `$XDG_CACHE_HOME/rafka` or `~/.cache/rafka`;
 *   2. the local Maven repository, `~/.m2/repository/org/apache/kafka/kafka-clients/<version>/`;
 *   3. Maven Central over HTTPS, with the `.sha1` file published beside the jar.
 * Whatever the source, the jar's SHA-1 must equal the one pinned here (a local copy that does not
 * is ignored) and, when downloaded, the published one too, so a changed artifact is refused rather
 * than silently generating other code.
 *
 * To move to a newer Kafka: set KAFKA_CLIENTS_VERSION and KAFKA_CLIENTS_SHA1 (the content of
 * `kafka-clients-<version>.jar.sha1` on Maven Central), run `npm run build && npm run gen:protocol`,
 * and review what changed in src/protocol/messages/ (new versions stay unadvertised until a handler
 * implements them).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { unzipSync } from 'fflate';

export const KAFKA_CLIENTS_VERSION = '4.1.1';
/** SHA-1 of kafka-clients-4.1.1.jar as published on Maven Central. */
export const KAFKA_CLIENTS_SHA1 = '094cb8f39c3157038ec9577634d310a2bf5fb516';

const JAR_NAME = `kafka-clients-${KAFKA_CLIENTS_VERSION}.jar`;
const CENTRAL_URL = `https://repo1.maven.org/maven2/org/apache/kafka/kafka-clients/${KAFKA_CLIENTS_VERSION}/${JAR_NAME}`;
const SPEC_PREFIX = 'common/message/';
/** A download that takes longer than this is treated as "registry unreachable". */
const DOWNLOAD_TIMEOUT_MS = 120_000;
/** The 4.1.1 jar is about 9.8 MB; anything far larger is not the artifact we want. */
const JAR_BYTES_MAX = 64 * 1024 * 1024;

/** The jar could not be obtained (no cache, no local Maven copy, Maven Central unreachable). */
export class SpecsUnavailableError extends Error {
  override name = 'SpecsUnavailableError';
}

export function cacheDir(): string {
  const env = process.env['RAFKA_CACHE_DIR'];
  if (env) return env;
  const xdg = process.env['XDG_CACHE_HOME'];
  return join(xdg ? xdg : join(homedir(), '.cache'), 'rafka');
}

function sha1(bytes: Uint8Array): string {
  return createHash('sha1').update(bytes).digest('hex');
}

function verified(bytes: Uint8Array, from: string): Uint8Array {
  const got = sha1(bytes);
  if (got !== KAFKA_CLIENTS_SHA1) {
    // Not "unavailable": a wrong artifact is an error even when tests would otherwise skip.
    throw new Error(`${from}: SHA-1 ${got} is not the pinned ${KAFKA_CLIENTS_SHA1} of ${JAR_NAME}; refusing it`);
  }
  return bytes;
}

async function download(url: string): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS) });
  } catch (e) {
    throw new SpecsUnavailableError(`cannot reach ${url}: ${(e as Error).cause ? String((e as Error).cause) : (e as Error).message}`);
  }
  if (!res.ok) throw new SpecsUnavailableError(`${url}: HTTP ${res.status}`);
  const length = Number(res.headers.get('content-length') ?? 0);
  if (length > JAR_BYTES_MAX) throw new Error(`${url}: ${length} bytes is more than ${JAR_BYTES_MAX}`);
  const body = new Uint8Array(await res.arrayBuffer());
  if (body.length > JAR_BYTES_MAX) throw new Error(`${url}: ${body.length} bytes is more than ${JAR_BYTES_MAX}`);
  return body;
}

/** The verified jar's bytes, from the cache, the local Maven repository or Maven Central (then cached). */
export async function kafkaClientsJar(): Promise<Uint8Array> {
  const cached = join(cacheDir(), JAR_NAME);
  const m2 = join(homedir(), '.m2/repository/org/apache/kafka/kafka-clients', KAFKA_CLIENTS_VERSION, JAR_NAME);
  // A local copy that does not verify (a torn download, a damaged disk) is passed over, not trusted;
  // only the copy from Maven Central is final.
  for (const local of [cached, m2]) {
    if (!existsSync(local)) continue;
    const bytes = readFileSync(local);
    if (sha1(bytes) === KAFKA_CLIENTS_SHA1) return bytes;
    process.stderr.write(`kafka-specs: ${local} is not the pinned ${JAR_NAME} (SHA-1 ${sha1(bytes)}); ignoring it\n`);
  }
  const published = new TextDecoder().decode(await download(`${CENTRAL_URL}.sha1`)).trim().split(/\s+/)[0];
  if (published !== KAFKA_CLIENTS_SHA1) {
    throw new Error(`${CENTRAL_URL}.sha1 says ${published}, not the pinned ${KAFKA_CLIENTS_SHA1}; refusing a changed artifact`);
  }
  const jar = verified(await download(CENTRAL_URL), CENTRAL_URL);
  mkdirSync(cacheDir(), { recursive: true });
  // Write then rename, so a concurrent reader never sees half a jar.
  const tmp = `${cached}.${process.pid}.tmp`;
  writeFileSync(tmp, jar);
  renameSync(tmp, cached);
  return jar;
}

/** Every `common/message/*.json` in the jar, by file name (e.g. `ProduceRequest.json`), as text. */
export async function kafkaSpecFiles(): Promise<Map<string, string>> {
  const jar = await kafkaClientsJar();
  const entries = unzipSync(jar, {
    filter: (f) => f.name.startsWith(SPEC_PREFIX) && f.name.endsWith('.json') && !f.name.slice(SPEC_PREFIX.length).includes('/'),
  });
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const files = new Map<string, string>();
  for (const name of Object.keys(entries).sort()) files.set(name.slice(SPEC_PREFIX.length), decoder.decode(entries[name]!));
  if (files.size === 0) throw new Error(`${JAR_NAME} has no ${SPEC_PREFIX}*.json`);
  return files;
}

/** Where the specs came from, for messages and generated-file headers. */
export const KAFKA_SPECS_SOURCE = `org.apache.kafka:kafka-clients:${KAFKA_CLIENTS_VERSION}`;
