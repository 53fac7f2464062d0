/**
 * Broken sample (fails check 2, data integrity): an alignment bug. A write that does not start
 * on a 4 KiB boundary is sent down starting at the boundary below (its start "rounded down", as a
 * buggy alignment helper would), so its bytes land on the wrong sectors. Aligned I/O, which most
 * workloads issue, is untouched: only the mixed, unaligned workload of check 2 sees the damage.
 */
import { FILTER_CONTRACT_VERSION, PASS, type FilterDef } from '../../engine/filter';
import { Op, SECTORS_PER_BLOCK } from '../../engine/io';
import { SAMPLE_VENDOR } from './vendor';

export const corruptsData: FilterDef<{ shifted: number }> = {
	contract: FILTER_CONTRACT_VERSION,
	name: 'corrupts-data',
	vendor: SAMPLE_VENDOR,
	version: '1.0.0',
	class: 'compression',
	description: 'BROKEN on purpose: writes that start inside a 4 KiB block land at the start of the block.',
	params: [],
	attach: () => ({ shifted: 0 }),
	onIo(io, ctx) {
		const off = io.lba % SECTORS_PER_BLOCK;
		if (io.op === Op.write && off !== 0) {
			io.lba -= off; // the bug
			ctx.state.shifted++;
		}
		return PASS;
	},
	status: (ctx) => ({ shifted: ctx.state.shifted })
};

export default corruptsData;
