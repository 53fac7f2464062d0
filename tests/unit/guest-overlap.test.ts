/**
 * The guest's ordering rule: guest I/O whose sectors overlap runs one after the other (in issue
 * order); I/O that only shares a 4 KiB block runs concurrently, as on a real disk. Real traces
 * are mostly unaligned, so waiting per block would serialise most of a replay.
 */
import { describe, expect, it } from 'vitest';
import { builtinRegistry } from '../../src/lib/filters';
import { Simulation, type AttachedStream, type DiskStreamContext } from '../../src/lib/engine/simulation';
import { runResult } from '../../src/lib/engine/result';
import { Op, type OpCode } from '../../src/lib/engine/io';
import type { GuestStream } from '../../src/lib/engine/guest';
import type { GuestIoSpec } from '../../src/lib/engine/workload/types';
import { oneDisk } from './scenarios';

/** All the given I/Os at time 0, in order. */
function burst(ios: { op: OpCode; lba: number; sectors: number }[], disk: DiskStreamContext): GuestStream {
	let i = 0;
	return {
		get done() {
			return i >= ios.length;
		},
		nextIssueTime: () => 0,
		next(): GuestIoSpec | null {
			const io = ios[i++];
			if (!io) return null;
			if (io.op !== Op.write) return { ...io };
			const first = Math.floor(io.lba / 8);
			const blocks = Math.ceil((io.lba + io.sectors) / 8) - first;
			return { ...io, contents: disk.contents.fill(new Uint32Array(blocks), 0) };
		}
	};
}

async function run(ios: { op: OpCode; lba: number; sectors: number }[]) {
	const streams = new Map<string, (d: DiskStreamContext) => AttachedStream[]>([['vm-01/disk-0', (d) => [{ stream: burst(ios, d), iodepth: 64 }]]]);
	// An HDD: every I/O takes milliseconds, so concurrency shows in the queue depth and the end time.
	const sim = await Simulation.create(oneDisk({ datastore: { kind: 'hdd' }, workload: [] }), { registry: builtinRegistry(), streams });
	await sim.run();
	return { sim, result: runResult(sim) };
}

describe('guest ordering of overlapping I/O', () => {
	it('eight 512-byte writes to the eight sectors of one block are in flight together', async () => {
		const { result } = await run(Array.from({ length: 8 }, (_, k) => ({ op: Op.write, lba: 800 + k, sectors: 1 })));
		expect(result.ios).toBe(8);
		expect(result.outstanding.max).toBe(8);
		expect(result.verify.mismatches).toBe(0);
	});

	it('writes that overlap in a sector wait for each other, and the later one wins', async () => {
		const ios = [
			{ op: Op.write, lba: 800, sectors: 3 },
			{ op: Op.write, lba: 802, sectors: 3 },
			{ op: Op.read, lba: 800, sectors: 8 }
		];
		const { result, sim } = await run(ios);
		expect(result.outstanding.max).toBe(1);
		expect(result.verify.mismatches).toBe(0);
		// The read saw the second write's sector 802 (it checked all eight sectors and found none wrong).
		expect(result.verify.sectorsChecked).toBe(8);
		expect(sim.disk().guest.metrics.ops[Op.write].ios).toBe(2);
	});
});
