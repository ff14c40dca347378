/**
 * The raw compression algorithms, behind one synchronous shape. zlib, gzip and brotli come from
 * node:zlib; zstd from node:zlib where the runtime has it (Node >= 22.15), otherwise from the
 * optional `zstd-napi` package; lz4 from the optional `lz4-napi` package (a 4-byte little-endian size, then one LZ4 block: FORMAT.md §2.5).
 * Optional packages load once, asynchronously, in `loadAlgorithm`.
 */
import * as zlib from 'node:zlib';
import { ConfigurationError, DriverMissingError } from '../errors.js';

export const ALGORITHMS = ['zlib', 'gzip', 'brotli', 'lz4', 'zstd'] as const;
export type CompressionAlgorithm = (typeof ALGORITHMS)[number];

/** One byte per algorithm in every stored frame, so a ledger stays readable if its codec changes. */
export const ALGORITHM_CODES: Readonly<Record<CompressionAlgorithm, number>> = Object.freeze({
  zlib: 1,
  gzip: 2,
  brotli: 3,
  lz4: 4,
  zstd: 5,
});

export interface Algorithm {
  readonly name: CompressionAlgorithm;
  /** Whether `dictionary` is honoured (zlib/deflate, zstd, lz4); gzip and brotli ignore it. */
  readonly dictionaries: boolean;
  compress(input: Uint8Array, level: number | undefined, dictionary?: Buffer): Buffer;
  decompress(input: Uint8Array, dictionary?: Buffer): Buffer;
}

/** Valid level ranges, checked at construction. */
export const LEVELS: Readonly<Record<CompressionAlgorithm, [number, number]>> = Object.freeze({
  zlib: [0, 9],
  gzip: [0, 9],
  brotli: [0, 11],
  lz4: [0, 0],
  zstd: [1, 19],
});

export function isAlgorithm(x: unknown): x is CompressionAlgorithm {
  return typeof x === 'string' && (ALGORITHMS as readonly string[]).includes(x);
}

type ModuleLoader = (name: string) => Promise<unknown>;
const defaultLoader: ModuleLoader = (name) => import(name);

/** Import an optional package, or throw DriverMissingError naming it. */
export async function loadOptional<T>(
  name: string,
  feature: string,
  loader: ModuleLoader = defaultLoader,
): Promise<T> {
  try {
    const mod = (await loader(name)) as { default?: T } & T;
    return (mod.default ?? mod) as T;
  } catch (err) {
    throw new DriverMissingError(name, feature, { cause: err });
  }
}

const zlibAlg: Algorithm = {
  name: 'zlib',
  dictionaries: true,
  // Raw deflate: the zlib wrapper's 6 bytes of header and checksum are pure overhead per entry,
  // and the entry hash already detects any corruption of the decompressed text.
  compress: (b, level, dictionary) =>
    zlib.deflateRawSync(b, { level: level ?? 6, ...(dictionary ? { dictionary } : {}) }),
  decompress: (b, dictionary) => zlib.inflateRawSync(b, dictionary ? { dictionary } : {}),
};

const gzipAlg: Algorithm = {
  name: 'gzip',
  dictionaries: false,
  compress: (b, level) => zlib.gzipSync(b, { level: level ?? 6 }),
  decompress: (b) => zlib.gunzipSync(b),
};

const brotliAlg: Algorithm = {
  name: 'brotli',
  dictionaries: false,
  compress: (b, level) =>
    zlib.brotliCompressSync(b, {
      params: {
        [zlib.constants.BROTLI_PARAM_QUALITY]: level ?? 5,
        [zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_TEXT,
        [zlib.constants.BROTLI_PARAM_SIZE_HINT]: b.byteLength,
      },
    }),
  decompress: (b) => zlib.brotliDecompressSync(b),
};

interface Lz4Napi {
  compressSync(data: Buffer, dict?: Buffer | null): Buffer;
  uncompressSync(data: Uint8Array, dict?: Buffer | null): Buffer;
}

function lz4Alg(m: Lz4Napi): Algorithm {
  return {
    name: 'lz4',
    dictionaries: true,
    compress: (b, _level, dictionary) =>
      m.compressSync(Buffer.from(b.buffer, b.byteOffset, b.byteLength), dictionary ?? null),
    decompress: (b, dictionary) => m.uncompressSync(b, dictionary ?? null),
  };
}

interface ZstdNapi {
  Compressor: new () => {
    compress(b: Uint8Array): Buffer;
    loadDictionary(d: Uint8Array): void;
    setParameters(p: {
      compressionLevel?: number;
      contentSizeFlag?: boolean;
      checksumFlag?: boolean;
      dictIDFlag?: boolean;
    }): void;
  };
  Decompressor: new () => { decompress(b: Uint8Array): Buffer; loadDictionary(d: Uint8Array): void };
}

function zstdNapiAlg(m: ZstdNapi): Algorithm {
  // One native context per (level, dictionary): creating a context and loading a dictionary costs
  // far more than compressing one entry.
  const cctx = new Map<string, InstanceType<ZstdNapi['Compressor']>>();
  const dctx = new Map<Buffer | undefined, InstanceType<ZstdNapi['Decompressor']>>();
  const dictIds = new WeakMap<Buffer, number>();
  let nextDict = 1;
  const idOf = (d: Buffer | undefined) => {
    if (!d) return 0;
    let id = dictIds.get(d);
    if (id === undefined) {
      id = nextDict++;
      dictIds.set(d, id);
    }
    return id;
  };
  return {
    name: 'zstd',
    dictionaries: true,
    compress: (b, level, dictionary) => {
      const key = `${level ?? 3}/${idOf(dictionary)}`;
      let c = cctx.get(key);
      if (!c) {
        c = new m.Compressor();
        c.setParameters({
          compressionLevel: level ?? 3,
          checksumFlag: false,
          dictIDFlag: false,
          contentSizeFlag: true,
        });
        if (dictionary) c.loadDictionary(dictionary);
        cctx.set(key, c);
      }
      return c.compress(b);
    },
    decompress: (b, dictionary) => {
      let d = dctx.get(dictionary);
      if (!d) {
        d = new m.Decompressor();
        if (dictionary) d.loadDictionary(dictionary);
        dctx.set(dictionary, d);
      }
      return d.decompress(b);
    },
  };
}

type NodeZstd = {
  zstdCompressSync?: (b: Uint8Array, o?: unknown) => Buffer;
  zstdDecompressSync?: (b: Uint8Array, o?: unknown) => Buffer;
  constants: Record<string, number>;
};

function nodeZstdAlg(z: Required<NodeZstd>): Algorithm {
  return {
    name: 'zstd',
    // node:zlib's zstd takes no dictionary on the versions we target; entries compress alone.
    dictionaries: false,
    compress: (b, level) =>
      z.zstdCompressSync(b, { params: { [z.constants.ZSTD_c_compressionLevel ?? 100]: level ?? 3 } }),
    decompress: (b) => z.zstdDecompressSync(b),
  };
}

const loaded = new Map<CompressionAlgorithm, Algorithm>([
  ['zlib', zlibAlg],
  ['gzip', gzipAlg],
  ['brotli', brotliAlg],
]);

/** Load (once) and return an algorithm; DriverMissingError when its optional package is absent. */
export async function loadAlgorithm(name: CompressionAlgorithm, loader?: ModuleLoader): Promise<Algorithm> {
  if (!isAlgorithm(name))
    throw new ConfigurationError(`unknown compression algorithm ${JSON.stringify(name)}`);
  const hit = loaded.get(name);
  if (hit && !loader) return hit;
  let alg: Algorithm;
  if (name === 'lz4') {
    alg = lz4Alg(await loadOptional<Lz4Napi>('lz4-napi', 'lz4 compression', loader));
  } else {
    // Prefer zstd-napi when installed: it takes dictionaries, which per-entry compression needs.
    const z = zlib as unknown as NodeZstd;
    const native = typeof z.zstdCompressSync === 'function' && typeof z.zstdDecompressSync === 'function';
    try {
      alg = zstdNapiAlg(await loadOptional<ZstdNapi>('zstd-napi', 'zstd compression', loader));
    } catch (err) {
      if (!native || loader) throw err;
      alg = nodeZstdAlg(z as Required<NodeZstd>);
    }
  }
  if (!loader) loaded.set(name, alg);
  return alg;
}

/** An algorithm already loaded (every node:zlib one always is), or undefined. */
export function loadedAlgorithm(name: CompressionAlgorithm): Algorithm | undefined {
  return loaded.get(name);
}
