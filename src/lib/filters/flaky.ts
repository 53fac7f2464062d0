/**
 * Injects faults like dm-flakey: I/O in a sector range (or all I/O) fails, or has its data
 * corrupted, during "down" periods of a schedule (up for upUs, then down for downUs, repeating),
 * or with a probability. Failing I/O teaches who is told of a failure (only the filters above);
 * corrupting reads teaches that verification catches what a filter does wrong.
 */
import { FILTER_CONTRACT_VERSION, PASS, fail, type FilterDef, type Verdict } from '../engine/filter';
import { Op, type Io } from '../engine/io';

interface FlakyState {
	failed: number;
	corrupted: number;
}

export const flaky: FilterDef<FlakyState> = {
	contract: FILTER_CONTRACT_VERSION,
	name: 'flaky',
	vendor: 'VAIO Playground',
	version: '1.0.0',
	class: 'datastoreIoControl',
	classConfigurable: true,
	timingOnly: true,
	description: 'Fails or corrupts I/O on a schedule, an LBA range or at random (dm-flakey).',
	params: [
		{ name: 'mode', type: 'enum', default: 'fail', choices: ['fail', 'corrupt-read', 'corrupt-write'], help: 'fail: the I/O fails with EIO; corrupt-read: data read is altered on the way up; corrupt-write: data is altered on the way down.' },
		{ name: 'ops', type: 'enum', default: 'all', choices: ['all', 'read', 'write'], help: 'Which operations are affected.' },
		{ name: 'upUs', type: 'number', default: 0, min: 0, max: 1e12, unit: 'µs', help: 'Healthy period of the schedule (0 with downUs 0 = always faulty).' },
		{ name: 'downUs', type: 'number', default: 0, min: 0, max: 1e12, unit: 'µs', help: 'Faulty period of the schedule.' },
		{ name: 'probability', type: 'number', default: 1, min: 0, max: 1, help: 'Chance that an eligible I/O is affected.' },
		{ name: 'fromSector', type: 'int', default: 0, min: 0, max: 2 ** 47, unit: 'sector', help: 'First sector of the affected range.' },
		{ name: 'toSector', type: 'int', default: 0, min: 0, max: 2 ** 47, unit: 'sector', help: 'End of the affected range (exclusive); 0 = end of disk.' }
	],
	attach: () => ({ failed: 0, corrupted: 0 }),
	onIo(io, ctx): Verdict {
		if (!affected(io, ctx.params, ctx.now, ctx.disk.sectors) || ctx.prng.next() >= (ctx.params.probability as number))
			return PASS;
		if (ctx.params.mode === 'fail') {
			ctx.state.failed++;
			return fail('EIO', `flaky: injected failure at sector ${io.lba}`);
		}
		if (ctx.params.mode === 'corrupt-write' && io.op === Op.write && io.data) {
			const copy = io.data.slice();
			copy[copy.length >> 1] ^= 0xff;
			io.data = copy;
			ctx.state.corrupted++;
		} else if (ctx.params.mode === 'corrupt-read' && io.op === Op.read) io.slots[ctx.index] = true;
		return PASS;
	},
	onDone(io, ctx) {
		if (io.slots[ctx.index] === true && io.data && !io.error) {
			io.data[io.data.length >> 1] ^= 0xff;
			ctx.state.corrupted++;
		}
		return PASS;
	},
	status: (ctx) => ({ failed: ctx.state.failed, corrupted: ctx.state.corrupted })
};

function affected(io: Io, p: Record<string, unknown>, now: number, diskSectors: number): boolean {
	if (io.op !== Op.read && io.op !== Op.write) return p.ops === 'all' && p.mode === 'fail';
	if (p.ops === 'read' && io.op !== Op.read) return false;
	if (p.ops === 'write' && io.op !== Op.write) return false;
	const from = p.fromSector as number;
	const to = (p.toSector as number) || diskSectors;
	if (io.lba + io.sectors <= from || io.lba >= to) return false;
	const up = p.upUs as number;
	const down = p.downUs as number;
	if (up + down > 0 && now % (up + down) < up) return false;
	return true;
}
