#!/usr/bin/env node
/** `signledger` executable (ESM only; built to dist/cli.mjs). */
import { run } from './program.js';

process.exitCode = await run(process.argv);
