#!/usr/bin/env node
// Thin launcher: the CLI lives in src/cli and is compiled to dist/ by `npm install` (prepare).
// CommonJS (bin/package.json), unlike the rest of the package: see the thread pool below.
'use strict';

// libuv's thread pool runs every file write and fdatasync of the storage engines. Node starts it
// with 4 threads, so with more than 4 partitions written at once their syncs wait for each other
// although the disk takes them together (bench/README.md, issue 22 item 2). libuv reads
// UV_THREADPOOL_SIZE once, when the pool starts — and Node's ES module loader starts it to read the
// entry file, before an ES module entry's first line runs. A CommonJS entry runs first. A value the
// operator set wins.
const THREAD_POOL_THREADS = 16;
if (process.env.UV_THREADPOOL_SIZE === undefined) process.env.UV_THREADPOOL_SIZE = String(THREAD_POOL_THREADS);

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
