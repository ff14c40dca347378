export { ALGORITHMS, type CompressionAlgorithm } from './algorithms.js';
export { Compressor, type CompressorOptions } from './compressor.js';
export { type EntryCodecState, TextCodec, UNDECODABLE } from './text-codec.js';
