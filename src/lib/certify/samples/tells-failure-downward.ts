/**
 * Broken sample (fails check 4, failure reported only upward): tells a failure downward.
 *
 * It keeps a list of bad 4 KiB blocks (blocks on which an I/O failed below). A later I/O touching
 * a bad block is failed by the filter itself, which is fine, but the wrong way: instead of
 * returning a fail verdict (which tells only the filters above it), it marks the I/O failed
 * (io.error) and passes it down anyway "so that the layers below know". The filters below then
 * see a failed I/O they did not fail; the device even performs it. In VAIO, when a filter fails
 * an I/O, only the filters before it are told.
 */
import { FILTER_CONTRACT_VERSION, PASS, type FilterDef } from '../../engine/filter';
import { blockSpan } from '../../engine/io';
import { SAMPLE_VENDOR } from './vendor';

const NAME = 'tells-failure-downward';

interface BadBlockState {
	bad: Set<number>;
	toldDown: number;
}

export const tellsFailureDownward: FilterDef<BadBlockState> = {
	contract: FILTER_CONTRACT_VERSION,
	name: NAME,
	vendor: SAMPLE_VENDOR,
	version: '1.0.0',
	class: 'replication',
	description: 'BROKEN on purpose: fails I/O to blocks that failed before by marking it failed and passing it down.',
	params: [],
	attach: () => ({ bad: new Set(), toldDown: 0 }),
	onIo(io, ctx) {
		const [first, end] = blockSpan(io.lba, io.sectors);
		for (let b = first; b < end; b++)
			if (ctx.state.bad.has(b)) {
				// The bug: the failure travels down with the I/O instead of up from here.
				io.error = { code: 'EIO', message: `block ${b} failed before`, source: NAME };
				ctx.state.toldDown++;
				break;
			}
		return PASS;
	},
	onDone(io, ctx) {
		if (io.error && io.error.source !== NAME) {
			const [first, end] = blockSpan(io.lba, io.sectors);
			for (let b = first; b < end; b++) ctx.state.bad.add(b);
		}
		return PASS;
	},
	status: (ctx) => ({ badBlocks: ctx.state.bad.size, toldDown: ctx.state.toldDown })
};

export default tellsFailureDownward;
