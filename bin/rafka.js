#!/usr/bin/env node
// Thin launcher: the CLI lives in src/cli and is compiled to dist/ by `npm install` (prepare).
import module from 'node:module';

// Node >= 22.1 can keep the compiled code of the modules on disk, so later starts skip compiling
// them (as npm and tsc do). Enabled before the CLI is imported, so that it covers the CLI's modules.
module.enableCompileCache?.();

const { main } = await import('../dist/src/cli/main.js');

main(process.argv.slice(2)).then(
  (code) => {
    if (typeof code === 'number') process.exitCode = code;
  },
  (err) => {
    console.error(`rafka: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
