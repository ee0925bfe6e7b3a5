#!/usr/bin/env node
// Thin launcher: the CLI lives in src/cli and is compiled to dist/ by `npm install` (prepare).
// CommonJS (bin/package.json), unlike the rest of the package: see the thread pool below.
'use strict';

// libuv's thread pool runs every file write and fdatasync of the storage engines, with Node's 4
// threads unless UV_THREADPOOL_SIZE is set. A launcher default of 16 (many partitions' syncs at
// once) won a loaded A/B but lost every produce row of the quiet bench (bench/README.md, issue 22
// item 2), so Node's default stays. libuv reads the variable once, when the pool starts — and Node's
// ES module loader starts it to read the entry file: a CommonJS entry is where a default could be
// set, should a later measurement call for one; an operator's setting in the environment works.

// Node >= 22.1 can keep the compiled code of the modules on disk, so later starts skip compiling
// them (as npm and tsc do). Enabled before the CLI is imported, so that it covers the CLI's modules.
require('node:module').enableCompileCache?.();

import('../dist/src/cli/main.js').then(({ main }) =>
  main(process.argv.slice(2)).then(
    (code) => {
      if (typeof code === 'number') process.exitCode = code;
    },
    (err) => {
      console.error(`rafka: ${err instanceof Error ? err.message : String(err)}`);
      process.exitCode = 1;
    },
  ),
);
