/**
 * A well-behaved client in its own process (so the stalls of whoever builds hostile requests do not
 * count against the broker): sends ApiVersions to 127.0.0.1:PORT every EVERY_MS and prints each round
 * trip in ms, one per line; `fail <reason>` and exit 1 when the connection closes or an answer takes
 * longer than TIMEOUT_MS. Usage: node healthy-client.js PORT EVERY_MS TIMEOUT_MS
 */
import { RawClient } from './raw-client.js';
import { ApiKey } from '../../src/protocol/messages/index.js';
import { ApiVersionsRequest } from '../../src/protocol/messages/api-versions.js';

const [port, everyMs, timeoutMs] = process.argv.slice(2).map(Number) as [number, number, number];
const client = await RawClient.connect(port);
for (;;) {
  const t0 = performance.now();
  client.write(client.frame(ApiKey.ApiVersions, 3, ApiVersionsRequest, { clientSoftwareName: 'healthy', clientSoftwareVersion: '1' }));
  let answer: Buffer | null;
  try {
    answer = await client.readFrame(timeoutMs);
  } catch (err) {
    process.stdout.write(`fail ${(err as Error).message}\n`);
    process.exit(1);
  }
  if (answer === null) {
    process.stdout.write('fail the broker closed the healthy connection\n');
    process.exit(1);
  }
  process.stdout.write(`${(performance.now() - t0).toFixed(2)}\n`);
  await new Promise((r) => setTimeout(r, everyMs));
}
