/**
 * Every API handler, one module per API key (NN-name.ts), imported on first use (registry.ts).
 * Adding an API = adding its module, then `npm run build && npm run gen:handlers` to list it in
 * table.ts (a test fails until the table matches the modules).
 */
export { HANDLERS, supportedApiVersions } from './registry.js';
