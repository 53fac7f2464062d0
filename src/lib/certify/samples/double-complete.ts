/**
 * Broken sample (fails check 1, exactly once): defers every I/O for 20 µs, then lets it go
 * twice: resume(io) and, "to be sure", complete(io). The second call is on an I/O the filter
 * no longer holds; the framework ignores it and logs "complete(I/O #n) ignored: the filter does
 * not hold that I/O". In VAIO a second completion of a request is a use-after-completion bug.
 */
import { DEFER, FILTER_CONTRACT_VERSION, type FilterDef } from '../../engine/filter';
import { SAMPLE_VENDOR } from './vendor';

export const doubleComplete: FilterDef<null> = {
	contract: FILTER_CONTRACT_VERSION,
	name: 'double-complete',
	vendor: SAMPLE_VENDOR,
	version: '1.0.0',
	class: 'cache',
	description: 'BROKEN on purpose: resumes each deferred I/O and then completes it too (a second completion).',
	params: [],
	attach: () => null,
	onIo(io, ctx) {
		ctx.after(20, () => {
			ctx.resume(io);
			ctx.complete(io); // the bug: the I/O was already let go
		});
		return DEFER;
	}
};

export default doubleComplete;
