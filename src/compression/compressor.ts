/**
 * `Compressor`: the user-facing codec (`new Compressor({ algorithm: 'zstd', level: 3 })`), and the
 * framing backends use to store entry texts compressed.
 *
 * Compression is below the commitment: hashes, proofs and signatures are always over the
 * uncompressed canonical text, and a backend decodes before anything is verified.
 *
 * Stored frame: [algorithm code][dictionary id][payload]. Code 0 means the text is stored as
 * UTF-8 because compressing did not make it smaller; dictionary id 0 means none. Small entries
 * compress poorly alone, so a backend may train a raw-content dictionary from its first entries
 * (`trainDictionary`) and store it with the ledger; frames name the dictionary they need.
 */
import { ConfigurationError, StorageError } from '../errors.js';
import {
  ALGORITHM_CODES,
  type Algorithm,
  type CompressionAlgorithm,
  isAlgorithm,
  LEVELS,
  loadAlgorithm,
  loadedAlgorithm,
} from './algorithms.js';

export interface CompressorOptions {
  algorithm: CompressionAlgorithm;
  /** Algorithm level (zlib/gzip 0-9, default 6; brotli 0-11, default 5; zstd 1-19, default 3; lz4 has none). */
  level?: number;
  /**
   * Learn a dictionary from the ledger's first entries (default true where the algorithm takes
   * one: zlib, zstd, lz4). `trainAfter` entries are sampled (default 256).
   */
  dictionary?: boolean | { trainAfter?: number; maxBytes?: number };
}

const CODE_TO_NAME = new Map<number, CompressionAlgorithm>(
  Object.entries(ALGORITHM_CODES).map(([k, v]) => [v, k as CompressionAlgorithm]),
);

const HEX_RUN = /[0-9a-f]{16,}/g;

export class Compressor {
  readonly algorithm: CompressionAlgorithm;
  readonly level: number | undefined;
  /** Entries a backend stores before it trains a dictionary (0: never). */
  readonly trainAfter: number;
  readonly dictionaryBytes: number;
  private alg: Algorithm | undefined;
  private loading: Promise<this> | undefined;

  constructor(options: CompressorOptions) {
    if (options === null || typeof options !== 'object')
      throw new ConfigurationError('Compressor takes { algorithm, level? }');
    const { algorithm, level } = options;
    if (!isAlgorithm(algorithm)) {
      throw new ConfigurationError(
        `unknown compression algorithm ${JSON.stringify(algorithm)}; use zlib, gzip, brotli, lz4 or zstd`,
      );
    }
    const [lo, hi] = LEVELS[algorithm];
    if (level !== undefined && (!Number.isInteger(level) || level < lo || level > hi)) {
      throw new ConfigurationError(
        algorithm === 'lz4'
          ? 'lz4 takes no level'
          : `${algorithm} level must be an integer from ${lo} to ${hi}`,
      );
    }
    this.algorithm = algorithm;
    this.level = level;
    const dict = options.dictionary ?? true;
    const wants = dict !== false && algorithm !== 'gzip' && algorithm !== 'brotli';
    const cfg = typeof dict === 'object' ? dict : {};
    const trainAfter = cfg.trainAfter ?? 256;
    if (!Number.isInteger(trainAfter) || trainAfter < 1)
      throw new ConfigurationError('dictionary.trainAfter must be a positive integer');
    const maxBytes = cfg.maxBytes ?? 16 * 1024;
    if (!Number.isInteger(maxBytes) || maxBytes < 256 || maxBytes > 1024 * 1024) {
      throw new ConfigurationError('dictionary.maxBytes must be an integer from 256 to 1048576');
    }
    this.trainAfter = wants ? trainAfter : 0;
    this.dictionaryBytes = maxBytes;
    this.alg = loadedAlgorithm(algorithm);
  }

  /** Load the algorithm (and its optional package). Throws DriverMissingError when it is not installed. */
  init(): Promise<this> {
    if (this.alg) return Promise.resolve(this);
    this.loading ??= loadAlgorithm(this.algorithm).then(
      (a) => {
        this.alg = a;
        return this;
      },
      (err) => {
        this.loading = undefined;
        throw err;
      },
    );
    return this.loading;
  }

  private get a(): Algorithm {
    if (!this.alg)
      throw new ConfigurationError(`call await compressor.init() before using ${this.algorithm}`);
    return this.alg;
  }

  /** Whether dictionaries are used by this algorithm as loaded. */
  get usesDictionary(): boolean {
    return this.trainAfter > 0 && this.a.dictionaries;
  }

  /** Compress bytes or text (no framing). */
  compress(input: Uint8Array | string, dictionary?: Buffer): Buffer {
    const b = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
    return this.a.compress(b, this.level, dictionary);
  }

  decompress(input: Uint8Array, dictionary?: Buffer): Buffer {
    return this.a.decompress(input, dictionary);
  }

  /**
   * A raw-content dictionary from sample texts: their structure (keys, constant values), with long
   * hex runs (digests, which never repeat) removed, newest samples last where matches are cheapest.
   */
  trainDictionary(samples: readonly string[]): Buffer {
    const parts: Buffer[] = [];
    const seen = new Set<string>();
    let total = 0;
    for (let i = samples.length - 1; i >= 0 && total < this.dictionaryBytes; i--) {
      const s = samples[i]!.replace(HEX_RUN, '');
      if (seen.has(s)) continue;
      seen.add(s);
      const b = Buffer.from(s, 'utf8');
      parts.unshift(b);
      total += b.length;
    }
    const all = Buffer.concat(parts);
    return all.length > this.dictionaryBytes
      ? Buffer.from(all.subarray(all.length - this.dictionaryBytes))
      : all;
  }

  /** Frame a text for storage; `dict` is [id 1..255, bytes] of the dictionary to use. */
  encodeText(text: string, dict?: readonly [number, Buffer]): Buffer {
    const raw = Buffer.from(text, 'utf8');
    const useDict = dict && this.a.dictionaries ? dict : undefined;
    const packed = this.a.compress(raw, this.level, useDict?.[1]);
    if (packed.length >= raw.length) {
      const out = Buffer.allocUnsafe(raw.length + 2);
      out[0] = 0;
      out[1] = 0;
      raw.copy(out, 2);
      return out;
    }
    const out = Buffer.allocUnsafe(packed.length + 2);
    out[0] = ALGORITHM_CODES[this.algorithm];
    out[1] = useDict ? useDict[0] : 0;
    packed.copy(out, 2);
    return out;
  }

  /**
   * Decode a stored frame. `dictionaries` maps ids to bytes. Frames written with another algorithm
   * decode if that algorithm is loaded. Throws StorageError on anything undecodable.
   */
  decodeText(frame: Uint8Array, dictionaries: ReadonlyMap<number, Buffer>): string {
    if (frame.byteLength < 2) throw new StorageError('compressed value is truncated');
    const code = frame[0]!;
    const body = frame.subarray(2);
    if (code === 0) return Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
    const name = CODE_TO_NAME.get(code);
    const alg = name === this.algorithm ? this.alg : name ? loadedAlgorithm(name) : undefined;
    if (!alg) throw new StorageError(`value compressed with unknown or unloaded algorithm code ${code}`);
    const id = frame[1]!;
    const dict = id === 0 ? undefined : dictionaries.get(id);
    if (id !== 0 && !dict)
      throw new StorageError(`value needs compression dictionary ${id}, which is not stored`);
    try {
      return alg.decompress(body, dict).toString('utf8');
    } catch (err) {
      throw new StorageError(`cannot decompress a stored value: ${(err as Error).message}`, { cause: err });
    }
  }
}
