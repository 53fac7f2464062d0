/**
 * Browser-safe storage: the interfaces, the memory stores and the sidecar JSON helpers.
 * The Node file stores live in `./file` and are deliberately NOT re-exported here.
 */
export * from './types';
export * from './range';
export * from './memory';
export * from './sidecar-json';
