// Development only: run the TypeScript worker from source (tests, tsx). The published package runs
// the built dist/verify-worker.mjs instead. tsx's loader must be registered inside the worker thread.
import { register } from 'tsx/esm/api';

register();
await import('./verify-worker.ts');
