/**
 * Broken sample (fails check 4, failure reported upward): turns a failure from below into
 * success. On the way up, an I/O that failed below has its error cleared (a read is "completed"
 * with zeros), so the guest believes a write landed that never did, and reads zeros instead of
 * an error.
 */
import { FILTER_CONTRACT_VERSION, PASS, complete, type FilterDef } from '../../engine/filter';
import { Op, SECTOR_BYTES } from '../../engine/io';
import { SAMPLE_VENDOR } from './vendor';

export const swallowsErrors: FilterDef<{ swallowed: number }> = {
	contract: FILTER_CONTRACT_VERSION,
	name: 'swallows-errors',
	vendor: SAMPLE_VENDOR,
	version: '1.0.0',
	class: 'cache',
	description: 'BROKEN on purpose: clears the error of an I/O that failed below and reports success.',
	params: [],
	attach: () => ({ swallowed: 0 }),
	onIo: () => PASS,
	onDone(io, ctx) {
		if (!io.error) return PASS;
		ctx.state.swallowed++;
		io.error = undefined; // the bug
		if (io.op === Op.read) return complete(new Uint8Array(io.sectors * SECTOR_BYTES));
		return PASS;
	},
	status: (ctx) => ({ swallowed: ctx.state.swallowed })
};

export default swallowsErrors;
