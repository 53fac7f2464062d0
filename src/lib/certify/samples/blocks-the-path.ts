/**
 * Broken sample (fails check 7, no blocking): does its work as a blocking call on the I/O path,
 * 5 ms per I/O (ctx.charge(5000), say a synchronous call to a remote service). While it runs the
 * whole disk waits: every other I/O of the VM queues behind it. The same wait deferred (return
 * DEFER, resume from a timer) would cost the disk nothing.
 */
import { FILTER_CONTRACT_VERSION, PASS, type FilterDef } from '../../engine/filter';
import { SAMPLE_VENDOR } from './vendor';

export const blocksThePath: FilterDef<null> = {
	contract: FILTER_CONTRACT_VERSION,
	name: 'blocks-the-path',
	vendor: SAMPLE_VENDOR,
	version: '1.0.0',
	class: 'encryption',
	description: 'BROKEN on purpose: charges 5 ms of blocking time on the I/O path for every I/O.',
	params: [],
	attach: () => null,
	onIo(_io, ctx) {
		ctx.charge(5000); // the bug: a blocking call on the I/O path
		return PASS;
	}
};

export default blocksThePath;
