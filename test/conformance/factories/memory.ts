import { InMemoryBackend, type MemoryRow } from '../../../src/backends/memory/memory-backend.js';
import type { BackendFactory, Tamper } from '../harness.js';

interface State {
  tiles: Map<string, { level: number; index: number; width: number; hashes: Buffer }>;
  head: { size: number; lastHash: string | null; frontier: Buffer; rootHash: Buffer };
  checkpoints: { size: number; rootHash: Buffer; note: string; createdAtMs: number }[];
}

const stores = new Map<string, InMemoryBackend>();

// Test-only: reach into the backend's private state the way an attacker with memory access could.
function state(b: InMemoryBackend): State {
  return (b as unknown as { ledgers: Map<string, State> }).ledgers.get('default')!;
}

/**
 * Entry tampering goes through the backend's raw-row hooks: they write the compact columns directly
 * (the same representation appends produce), so reads see exactly the edited rows.
 */
function tamper(b: InMemoryBackend): Tamper {
  const rows = () => b._unsafeSnapshot();
  const store = (rs: MemoryRow[]) => b._unsafeReplace(rs);
  return {
    async updateEntry(index, patch) {
      const pos = rows().findIndex((r) => r.index === index);
      b._unsafeSet(pos, { ...rows()[pos]!, ...patch });
    },
    async readEntry(index) {
      return rows().find((x) => x.index === index) ?? null;
    },
    async deleteEntry(index) {
      store(rows().filter((r) => r.index !== index));
    },
    async swapEntries(i, j) {
      const rs = rows();
      const a = rs.findIndex((r) => r.index === i);
      const c = rs.findIndex((r) => r.index === j);
      const ra = rs[a]!;
      const rc = rs[c]!;
      rs[a] = { ...rc, index: i };
      rs[c] = { ...ra, index: j };
      store(rs);
    },
    async insertEntryAt(index, row) {
      const rs = rows();
      for (const r of rs) if (r.index >= index) r.index++;
      const pos = rs.findIndex((r) => r.index > index);
      rs.splice(pos < 0 ? rs.length : pos, 0, { ...row, index });
      store(rs);
    },
    async setHead(head) {
      state(b).head = { ...head };
    },
    async writeTile(level, index, width, hashes) {
      state(b).tiles.set(`${level}/${index}`, { level, index, width, hashes });
    },
    async deleteAllTiles() {
      state(b).tiles.clear();
    },
    async deleteAllEntries() {
      store([]);
    },
    async updateCheckpoint(size, patch) {
      const cp = state(b).checkpoints.find((c) => c.size === size)!;
      if (patch.rootHash) cp.rootHash = patch.rootHash;
      if (patch.note) cp.note = patch.note;
    },
    async deleteCheckpoints() {
      state(b).checkpoints = [];
    },
  };
}

export const factory: BackendFactory = {
  name: 'memory',
  available: true,
  async open(key) {
    let b = stores.get(key);
    if (!b) {
      b = new InMemoryBackend();
      stores.set(key, b);
    }
    return { backend: b, tamper: tamper(b) };
  },
  async cleanup(key) {
    stores.delete(key);
  },
};
