/**
 * The filter authoring API in one module: what a filter's source imports. In the playground's
 * editor the same names come from `'vaio'` (the custom filter sandbox provides that module);
 * filters in this repository import them from here. The names are the playground's own: VMware's
 * VMIOF function and constant names are not public.
 */
export { DEFER, FILTER_CLASSES, FILTER_CONTRACT_VERSION, PASS, complete, fail } from '../engine/filter';
export type { ControlEvent, FilterClass, FilterContext, FilterDef, ParamSpec, ParamValues, Verdict } from '../engine/filter';
export { BLOCK_BYTES, OP_NAMES, Op, SECTOR_BYTES } from '../engine/io';
export type { Io, IoError, OpCode } from '../engine/io';
export { deviceIo } from './sdk';
