/**
 * Running test/clients/python_client.py (confluent-kafka, i.e. librdkafka) with one JSON job on its
 * stdin and its one JSON document of results on stdout. RAFKA_LIBRDKAFKA_DEBUG (e.g.
 * `protocol,cgrp`) turns librdkafka's debug contexts on; their log, like the script's, goes to
 * stderr, which is shown when that or RAFKA_TEST_LOG is set.
 */
import { fileURLToPath } from 'node:url';
import { run } from './external.js';

/** The script lives in the source tree: dist/test/helpers/x.js -> ../../../test/clients/python_client.py. */
export const PYTHON_CLIENT_SCRIPT = fileURLToPath(new URL('../../../test/clients/python_client.py', import.meta.url));

export async function runPythonJob<T>(python: string, job: Record<string, unknown>, timeoutMs = 45_000): Promise<T> {
  const debug = process.env.RAFKA_LIBRDKAFKA_DEBUG;
  const out = await run(python, [PYTHON_CLIENT_SCRIPT], { input: JSON.stringify(debug ? { ...job, debug } : job), timeoutMs });
  if (debug || process.env.RAFKA_TEST_LOG) process.stderr.write(out.stderr);
  try {
    return JSON.parse(out.stdout.toString('utf8')) as T;
  } catch {
    throw new Error(`python_client.py printed no JSON:\n${out.stdout.toString('utf8')}\nstderr:\n${out.stderr.slice(-4000)}`);
  }
}
