// The conformance suite through the SQLite writer thread (groups of 256 or more commit on it; the
// rest on the main connection, in order behind it).
import { SQLiteBackend } from '../../src/backends/sqlite/sqlite-backend.js';
import { factory, sqlitePath } from './factories/sqlite.js';
import { describeConformance } from './suite.js';

describeConformance({
  ...factory,
  name: 'sqlite (writerThread)',
  async open(key) {
    const opened = await factory.open(key);
    await opened.backend.close();
    return { ...opened, backend: new SQLiteBackend({ path: sqlitePath(key), writerThread: true }) };
  },
});
