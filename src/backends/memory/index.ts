export { InMemoryBackend } from './memory-backend.js';
