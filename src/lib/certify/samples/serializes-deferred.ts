/**
 * Broken sample (fails check 3, defer does not stall): lets one I/O at a time past itself. Each
 * arriving I/O is deferred into a FIFO while another is below; when that one comes back up, the
 * next is resumed. The disk's queue depth collapses to one: defer is used as a lock, and every
 * other I/O stalls behind the one in flight.
 */
import { DEFER, FILTER_CONTRACT_VERSION, PASS, type FilterDef } from '../../engine/filter';
import type { Io } from '../../engine/io';
import { SAMPLE_VENDOR } from './vendor';

interface SerialState {
	/** Guest I/Os below the filter now (0 or 1). */
	below: number;
	queue: Io[];
	maxQueued: number;
}

export const serializesDeferred: FilterDef<SerialState> = {
	contract: FILTER_CONTRACT_VERSION,
	name: 'serializes-deferred',
	vendor: SAMPLE_VENDOR,
	version: '1.0.0',
	class: 'replication',
	description: 'BROKEN on purpose: holds every I/O until the one below it has completed (one at a time).',
	params: [],
	attach: () => ({ below: 0, queue: [], maxQueued: 0 }),
	onIo(io, ctx) {
		const s = ctx.state;
		if (s.below === 0) {
			s.below = 1;
			return PASS;
		}
		s.queue.push(io);
		s.maxQueued = Math.max(s.maxQueued, s.queue.length);
		return DEFER;
	},
	onDone(io, ctx) {
		const s = ctx.state;
		const next = s.queue.shift();
		if (next) ctx.resume(next);
		else s.below = 0;
		return PASS;
	},
	status: (ctx) => ({ held: ctx.state.queue.length, maxQueued: ctx.state.maxQueued })
};

export default serializesDeferred;
