// The end-to-end demo: a broker, a producer and a consumer in one process (npm run demo).
// Build first (npm run build); the demo itself lives in src/client/demo.ts.
import { runDemo } from '../dist/src/client/demo.js';

await runDemo({ messages: Number(process.argv[2] ?? 10) });
