/**
 * Delays I/O like dm-delay: each I/O is deferred for a modelled time and then passed on, so other
 * I/Os keep flowing meanwhile. With `blocking` on, the same wait is a blocking call on the disk's
 * I/O path instead: the whole disk stalls. Comparing the two is VAIO's defer lesson.
 */
import { DEFER, FILTER_CONTRACT_VERSION, PASS, type FilterDef } from '../engine/filter';
import { Op, type Io } from '../engine/io';

interface DelayState {
	delayed: number;
	held: number;
	maxHeld: number;
}

export const delay: FilterDef<DelayState> = {
	contract: FILTER_CONTRACT_VERSION,
	name: 'delay',
	vendor: 'VAIO Playground',
	version: '1.0.0',
	class: 'inspection',
	classConfigurable: true,
	timingOnly: true,
	description: 'Defers each I/O for a fixed time (dm-delay), or blocks the disk for it.',
	params: [
		{ name: 'readUs', type: 'number', default: 1000, min: 0, max: 10_000_000, unit: 'µs', help: 'Delay applied to reads.' },
		{ name: 'writeUs', type: 'number', default: 1000, min: 0, max: 10_000_000, unit: 'µs', help: 'Delay applied to writes, flushes and unmaps.' },
		{
			name: 'blocking',
			type: 'bool',
			default: false,
			help: 'Wait with a blocking call on the I/O path (stalls the whole disk) instead of deferring.'
		}
	],
	attach: () => ({ delayed: 0, held: 0, maxHeld: 0 }),
	onIo(io: Io, ctx) {
		const us = (io.op === Op.read ? ctx.params.readUs : ctx.params.writeUs) as number;
		if (us <= 0) return PASS;
		const s = ctx.state;
		s.delayed++;
		if (ctx.params.blocking) {
			ctx.charge(us);
			return PASS;
		}
		s.held++;
		if (s.held > s.maxHeld) s.maxHeld = s.held;
		ctx.after(us, () => {
			s.held--;
			ctx.resume(io);
		});
		return DEFER;
	},
	status: (ctx) => ({ delayed: ctx.state.delayed, held: ctx.state.held, maxHeld: ctx.state.maxHeld })
};
