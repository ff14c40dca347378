#!/usr/bin/env node
/** `signledger` executable (ESM only; built to dist/cli.mjs). */
import { installProcessHandlers } from './errors.js';
import { run } from './program.js';

// A broken stdout pipe is not an error; crashes exit 2 with one line (never 1, "tampering found").
installProcessHandlers();
process.exitCode = await run(process.argv);
