import { InMemoryBackend, type MemoryRow } from '../../../src/backends/memory/memory-backend.js';
import type { StoredEntry } from '../../../src/entry/types.js';
import type { BackendFactory, Tamper } from '../harness.js';

type Row = MemoryRow;
interface State {
  rows: Row[];
  byId: Map<string, number>;
  tiles: Map<string, { level: number; index: number; width: number; hashes: Buffer }>;
  head: { size: number; lastHash: string | null; frontier: Buffer; rootHash: Buffer };
  checkpoints: { size: number; rootHash: Buffer; note: string; createdAtMs: number }[];
}

const stores = new Map<string, InMemoryBackend>();

// Test-only: reach into the backend's private state the way an attacker with memory access could.
function state(b: InMemoryBackend): State {
  return (b as unknown as { ledgers: Map<string, State> }).ledgers.get('default')!;
}

function toRow(index: number, r: Partial<StoredEntry>, base?: Row): Row {
  return {
    index,
    id: r.id ?? base!.id,
    ts: r.timestampMs ?? base!.ts,
    hash: r.hash ? r.hash.toString('hex') : base!.hash,
    body: r.body ?? base!.body,
    data: r.data !== undefined ? r.data : base!.data,
    salt: r.salt !== undefined ? (r.salt === null ? null : r.salt.toString('hex')) : base!.salt,
    sigs: r.signatures !== undefined ? r.signatures : base!.sigs,
  };
}

function tamper(b: InMemoryBackend): Tamper {
  const s = () => state(b);
  const reindex = () => {
    const st = s();
    st.byId = new Map(st.rows.map((r, i) => [r.id, i]));
  };
  return {
    async updateEntry(index, patch) {
      const st = s();
      const pos = st.rows.findIndex((r) => r.index === index);
      st.rows[pos] = toRow(index, patch, st.rows[pos]);
      reindex();
    },
    async readEntry(index) {
      const r = s().rows.find((x) => x.index === index);
      if (!r) return null;
      return {
        index: r.index,
        id: r.id,
        timestampMs: r.ts,
        hash: Buffer.from(r.hash, 'hex'),
        body: r.body,
        data: r.data,
        salt: r.salt === null ? null : Buffer.from(r.salt, 'hex'),
        signatures: r.sigs,
      };
    },
    async deleteEntry(index) {
      const st = s();
      st.rows = st.rows.filter((r) => r.index !== index);
      reindex();
    },
    async swapEntries(i, j) {
      const st = s();
      const a = st.rows.findIndex((r) => r.index === i);
      const c = st.rows.findIndex((r) => r.index === j);
      const ra = st.rows[a]!;
      const rc = st.rows[c]!;
      st.rows[a] = { ...rc, index: i };
      st.rows[c] = { ...ra, index: j };
      reindex();
    },
    async insertEntryAt(index, row) {
      const st = s();
      for (const r of st.rows) if (r.index >= index) r.index++;
      const pos = st.rows.findIndex((r) => r.index > index);
      st.rows.splice(pos < 0 ? st.rows.length : pos, 0, toRow(index, row as StoredEntry));
      reindex();
    },
    async setHead(head) {
      s().head = { ...head };
    },
    async writeTile(level, index, width, hashes) {
      s().tiles.set(`${level}/${index}`, { level, index, width, hashes });
    },
    async deleteAllTiles() {
      s().tiles.clear();
    },
    async deleteAllEntries() {
      s().rows = [];
      reindex();
    },
    async updateCheckpoint(size, patch) {
      const cp = s().checkpoints.find((c) => c.size === size)!;
      if (patch.rootHash) cp.rootHash = patch.rootHash;
      if (patch.note) cp.note = patch.note;
    },
    async deleteCheckpoints() {
      s().checkpoints = [];
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
