/**
 * Broken sample (fails check 5, control events): freezes on a control operation and never thaws.
 *
 * On snapshot-create, migrate, clone or suspend it "quiesces": from then on it defers every I/O,
 * waiting for a thaw (snapshot-delete or resume) that the framework has no reason to send. After
 * the operation the VM's I/O is held forever: the run cannot continue, and the filter's status
 * shows the held I/Os. (Power-off is handled: the next power-on thaws it.) A correct filter
 * finishes what it holds before the operation proceeds and holds nothing afterwards.
 */
import { DEFER, FILTER_CONTRACT_VERSION, PASS, type FilterDef } from '../../engine/filter';
import type { Io } from '../../engine/io';
import { SAMPLE_VENDOR } from './vendor';

interface FreezeState {
	frozen: boolean;
	held: Io[];
}

export const holdsIoAcrossControlEvent: FilterDef<FreezeState> = {
	contract: FILTER_CONTRACT_VERSION,
	name: 'holds-io-across-control-event',
	vendor: SAMPLE_VENDOR,
	version: '1.0.0',
	class: 'replication',
	description: 'BROKEN on purpose: after a snapshot or a migration it holds every I/O, waiting for a thaw that never comes.',
	params: [],
	attach: () => ({ frozen: false, held: [] }),
	onIo(io, ctx) {
		if (!ctx.state.frozen) return PASS;
		ctx.state.held.push(io);
		return DEFER;
	},
	onEvent(event, ctx) {
		const s = ctx.state;
		switch (event.type) {
			case 'snapshot-create':
			case 'migrate':
			case 'clone':
			case 'suspend':
			case 'power-off':
				s.frozen = true; // the bug: nothing ever thaws a snapshot or a migration
				return;
			case 'snapshot-delete':
			case 'resume':
			case 'power-on':
				s.frozen = false;
				for (const io of s.held.splice(0)) ctx.resume(io);
				return;
		}
	},
	status: (ctx) => ({ held: ctx.state.held.length, frozen: ctx.state.frozen ? 1 : 0 })
};

export default holdsIoAcrossControlEvent;
