/**
 * Broken sample (fails check 6, sidecar state survives a restart): a log-structured remapper
 * that keeps its remap table only in memory.
 *
 * Every write goes to fresh space in the upper half of the disk (a bump allocator) and the table
 * records, sector by sector, where each guest sector now lives; reads are sent (or split and
 * assembled) accordingly. While the filter instance lives, every read is right. But the table is
 * never written to the sidecar: after a restart (a new instance, attach with an empty table)
 * reads go to the guest's own addresses, where nothing was ever written, and return zeros.
 */
import { DEFER, FILTER_CONTRACT_VERSION, PASS, complete, fail, type FilterDef } from '../../engine/filter';
import { Op, SECTOR_BYTES, SECTORS_PER_BLOCK, type Io } from '../../engine/io';
import { SAMPLE_VENDOR } from './vendor';

interface RemapState {
	/** 4 KiB block → the physical sector of each of its 8 sectors (-1: never written). */
	map: Map<number, Int32Array>;
	next: number;
	limit: number;
	splitReads: number;
}

/** What a remapped I/O carries in its slot: the guest's own first sector, and (writes) where it went. */
interface Slot {
	lba: number;
	phys: number;
}

function physOf(s: RemapState, sector: number): number {
	const m = s.map.get(Math.floor(sector / SECTORS_PER_BLOCK));
	return m ? m[sector % SECTORS_PER_BLOCK] : -1;
}

function setPhys(s: RemapState, sector: number, phys: number): void {
	const b = Math.floor(sector / SECTORS_PER_BLOCK);
	let m = s.map.get(b);
	if (!m) s.map.set(b, (m = new Int32Array(SECTORS_PER_BLOCK).fill(-1)));
	m[sector % SECTORS_PER_BLOCK] = phys;
}

/** Runs of [guest offset, length, physical start or -1] covering the I/O. */
function runsOf(s: RemapState, io: Io): [number, number, number][] {
	const runs: [number, number, number][] = [];
	for (let k = 0; k < io.sectors; k++) {
		const p = physOf(s, io.lba + k);
		const last = runs[runs.length - 1];
		if (last && ((p < 0 && last[2] < 0) || (p >= 0 && last[2] >= 0 && last[2] + last[1] === p))) last[1]++;
		else runs.push([k, 1, p]);
	}
	return runs;
}

export const forgetsStateOnRestart: FilterDef<RemapState> = {
	contract: FILTER_CONTRACT_VERSION,
	name: 'forgets-state-on-restart',
	vendor: SAMPLE_VENDOR,
	version: '1.0.0',
	class: 'dataProvider',
	description: 'BROKEN on purpose: remaps writes to fresh space but keeps the remap table only in memory.',
	params: [],
	attach: (ctx) => {
		const half = Math.floor(ctx.disk.sectors / 2 / SECTORS_PER_BLOCK) * SECTORS_PER_BLOCK;
		return { map: new Map(), next: half, limit: ctx.disk.sectors, splitReads: 0 }; // the bug: nothing read from the sidecar
	},
	onIo(io, ctx) {
		const s = ctx.state;
		if (io.op === Op.write) {
			if (s.next + io.sectors > s.limit) return fail('ENOSPC', 'remap space exhausted');
			const slot: Slot = { lba: io.lba, phys: s.next };
			s.next += io.sectors;
			io.slots[ctx.index] = slot;
			io.lba = slot.phys;
			return PASS;
		}
		if (io.op === Op.unmap) {
			for (let k = 0; k < io.sectors; k++) if (physOf(s, io.lba + k) >= 0) setPhys(s, io.lba + k, -1);
			return complete();
		}
		if (io.op !== Op.read) return PASS;
		const runs = runsOf(s, io);
		if (runs.length === 1) {
			if (runs[0][2] < 0) return PASS; // never written: the guest's own address reads zeros
			io.slots[ctx.index] = { lba: io.lba, phys: runs[0][2] } satisfies Slot;
			io.lba = runs[0][2];
			return PASS;
		}
		// Split: read each mapped run, assemble, complete.
		s.splitReads++;
		const buf = new Uint8Array(io.sectors * SECTOR_BYTES);
		let pending = 0;
		let failed = false;
		const finish = () => {
			if (--pending > 0) return;
			if (failed) ctx.fail(io, 'EIO', 'a piece of a split read failed');
			else ctx.complete(io, buf);
		};
		pending++;
		for (const [off, n, p] of runs) {
			if (p < 0) continue;
			pending++;
			ctx.submitBelow(Op.read, p, n, undefined, (piece) => {
				if (piece.error || !piece.data) failed = true;
				else buf.set(piece.data, off * SECTOR_BYTES);
				finish();
			});
		}
		ctx.after(0, finish);
		return DEFER;
	},
	onDone(io, ctx) {
		const slot = io.slots[ctx.index] as Slot | undefined;
		if (!slot) return PASS;
		io.slots[ctx.index] = undefined;
		if (io.op === Op.write && !io.error) for (let k = 0; k < io.sectors; k++) setPhys(ctx.state, slot.lba + k, slot.phys + k);
		io.lba = slot.lba;
		return PASS;
	},
	status: (ctx) => ({ mappedBlocks: ctx.state.map.size, splitReads: ctx.state.splitReads })
};

export default forgetsStateOnRestart;
