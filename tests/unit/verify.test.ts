/**
 * Verification (fio verify): every read is checked against the guest's expected state, so a filter
 * that corrupts data is caught, and naming the sector; a failed write makes its sectors unknown,
 * so later reads of them are not falsely flagged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SECTOR_BYTES } from '../../src/lib/engine/io';
import { ExpectedState, UNKNOWN_CONTENT, ZERO_CONTENT, contentBlock, fillWrite, useSimdCheck } from '../../src/lib/engine/verify';
import { oneDisk, runSim } from './scenarios';

/** Small region, reads and writes mixed, so reads hit written blocks often. */
const mixed = (ios = 600) => [{ rw: 'randrw' as const, bs: '4k', iodepth: 8, ios, size: '256k', rwmixread: 50 }];

describe('verification in a run', () => {
	it('a clean chain: every read is checked, nothing mismatches', async () => {
		const { result } = await runSim(oneDisk({ filters: [{ type: 'passthrough' }], workload: mixed() }));
		expect(result.verify.reads).toBeGreaterThan(200);
		expect(result.verify.sectorsChecked).toBe(result.verify.reads * 8);
		expect(result.verify.mismatches).toBe(0);
		expect(result.verify.firstMismatch).toBeUndefined();
	});

	it('flaky corrupt-read: every corrupted read is caught, and firstMismatch names the sector', async () => {
		const { sim, result } = await runSim(
			oneDisk({ filters: [{ type: 'flaky', params: { mode: 'corrupt-read', ops: 'read' } }], workload: mixed() })
		);
		const corrupted = result.filters.flaky.corrupted as number;
		expect(corrupted).toBe(result.verify.reads);
		expect(result.verify.mismatches).toBe(corrupted);
		const m = result.verify.firstMismatch!;
		// flaky flips the middle byte of the buffer: byte 2048 of a 4 KiB read is the first byte
		// of its fifth sector, the low byte of that sector's content-id header.
		const row = firstRow(sim, m.ioId);
		expect(row.op).toBe(0);
		expect(m.sector).toBe(row.lba + 4);
		expect(m.foundContent).toBe((m.expectedContent ^ 0xff) >>> 0);
	});

	it('flaky corrupt-write: the bad bytes land on the disk and a later read of them is caught', async () => {
		const { sim, result } = await runSim(
			oneDisk({ filters: [{ type: 'flaky', params: { mode: 'corrupt-write', ops: 'write', probability: 0.3 } }], workload: mixed(800) })
		);
		expect(result.filters.flaky.corrupted as number).toBeGreaterThan(0);
		expect(result.verify.mismatches).toBeGreaterThan(0);
		const m = result.verify.firstMismatch!;
		expect(m.sector % 8).toBe(4);
		expect(m.expectedContent).not.toBe(ZERO_CONTENT);
		expect(m.foundContent).toBe((m.expectedContent ^ 0xff) >>> 0);
		expect(firstRow(sim, m.ioId).op).toBe(0); // found by a read
	});

	it('the same corruption outside the range the filter is told to corrupt is not reported', async () => {
		const { result } = await runSim(
			oneDisk({
				filters: [{ type: 'flaky', params: { mode: 'corrupt-read', ops: 'read', fromSector: 0, toSector: 64 } }],
				workload: mixed()
			})
		);
		expect(result.verify.mismatches).toBe(result.filters.flaky.corrupted);
		expect(result.verify.mismatches).toBeGreaterThan(0);
		expect(result.verify.mismatches).toBeLessThan(result.verify.reads);
		expect(result.verify.firstMismatch!.sector).toBeLessThan(64);
	});

	it('flaky fail: the guest counts errors, and the failed writes leave their sectors unknown', async () => {
		const { sim, result } = await runSim(
			oneDisk({ filters: [{ type: 'flaky', params: { mode: 'fail', ops: 'write', fromSector: 0, toSector: 64 } }], workload: mixed() })
		);
		expect(result.errors.count).toBeGreaterThan(0);
		expect(result.errors.count).toBe(result.filters.flaky.failed);
		expect(result.errors.first[0]).toMatchObject({ code: 'EIO', source: 'flaky' });
		const expected = sim.disk().expected;
		for (const e of sim.disk().guest.errors) {
			expect(e.op).toBe(1);
			for (let s = e.lba; s < e.lba + 8; s++) expect(expected.contentOf(s)).toBe(UNKNOWN_CONTENT);
		}
		expect(result.verify.mismatches).toBe(0);
	});

	it('writes failing part of the time: reads after a failed write over written data are not falsely flagged', async () => {
		// Healthy for 3 ms, failing writes for 3 ms, repeating: a block written in a healthy period and
		// rewritten (unsuccessfully) in a failing one still holds the old bytes on the disk.
		const { result } = await runSim(
			oneDisk({
				datastore: { kind: 'null', params: { latencyUs: 20 } },
				filters: [{ type: 'flaky', params: { mode: 'fail', ops: 'write', upUs: 3000, downUs: 3000 } }],
				workload: mixed(3000)
			})
		);
		expect(result.errors.count).toBeGreaterThan(100);
		expect(result.ops.write.ios - result.ops.write.errors).toBeGreaterThan(100);
		expect(result.verify.sectorsChecked).toBeGreaterThan(0);
		expect(result.verify.mismatches).toBe(0);
	});
});

function firstRow(sim: Awaited<ReturnType<typeof runSim>>['sim'], id: number) {
	const t = sim.trace;
	for (let n = t.completed - t.held; n < t.completed; n++) {
		const r = t.row(n)!;
		if (r.id === id) return r;
	}
	throw new Error(`I/O #${id} is not in the trace`);
}

it('reads are checked in WebAssembly SIMD where it exists (Node has it)', () => {
	expect(useSimdCheck(true)).toBe(true);
});

// Every check below runs twice: in WebAssembly SIMD (the default) and in JavaScript.
for (const simd of [true, false]) {
	describe(`ExpectedState (${simd ? 'WebAssembly SIMD' : 'JavaScript'} read check)`, () => {
		beforeAll(() => {
			useSimdCheck(simd);
		});
		afterAll(() => {
			useSimdCheck(true);
		});

		const bytes = (lba: number, sectors: number, ids: number[]) => {
			const b = new Uint8Array(sectors * SECTOR_BYTES);
			fillWrite(lba, sectors, Uint32Array.from(ids), b);
			return b;
		};

		it('a never-written sector is expected to read as zeros', () => {
			const s = new ExpectedState();
			expect(s.contentOf(12345)).toBe(ZERO_CONTENT);
			expect(s.checkRead(0, 8, new Uint8Array(4096), 1)).toBe(0);
			const bad = new Uint8Array(4096);
			bad[100] = 1;
			expect(s.checkRead(0, 8, bad, 2)).toBe(1);
			expect(s.firstMismatch).toEqual({ sector: 0, expectedContent: 0, foundContent: 0, ioId: 2 });
		});

		it('an acknowledged write is expected back byte for byte; one flipped byte names its sector', () => {
			const s = new ExpectedState();
			s.recordWrite(16, 16, Uint32Array.from([7, 9]));
			expect(s.checkRead(16, 16, bytes(16, 16, [7, 9]), 1)).toBe(0);
			const bad = bytes(16, 16, [7, 9]);
			bad[11 * 512 + 300] ^= 1;
			expect(s.checkRead(16, 16, bad, 5)).toBe(1);
			expect(s.firstMismatch).toEqual({ sector: 27, expectedContent: 9, foundContent: 9, ioId: 5 });
			expect(s).toMatchObject({ reads: 2, sectorsChecked: 32, mismatches: 1 });
		});

		it('every single flipped bit of a block is caught, in aligned and unaligned buffers', () => {
			const s = new ExpectedState();
			s.recordWrite(8, 8, Uint32Array.from([41]));
			for (const offset of [0, 1, 4]) {
				const backing = new Uint8Array(4096 + 8);
				const buf = backing.subarray(offset, offset + 4096);
				fillWrite(8, 8, Uint32Array.from([41]), buf);
				expect(s.checkRead(8, 8, buf, 0)).toBe(0);
				for (let i = 0; i < 4096; i++) {
					const bit = 1 << (i % 8);
					buf[i] ^= bit;
					expect(s.checkRead(8, 8, buf, i), `byte ${i} at offset ${offset}`).toBe(1);
					buf[i] ^= bit;
				}
			}
			// A never-written block reads as zeros; any set bit is caught.
			const zeros = new Uint8Array(4096);
			for (let i = 0; i < 4096; i++) {
				zeros[i] = 0x80 >> (i % 8);
				expect(s.checkRead(64, 8, zeros, i), `zero block, byte ${i}`).toBe(1);
				zeros[i] = 0;
			}
		});

		it('contents differ from each other and from zeros; a block read from the wrong place is caught', () => {
			const a = contentBlock(5).slice();
			const b = contentBlock(6).slice();
			expect(a).not.toEqual(b);
			expect(contentBlock(5)).toEqual(a); // the same id, the same bytes (dedup relies on it)
			const s = new ExpectedState();
			s.recordWrite(0, 8, Uint32Array.from([5]));
			s.recordWrite(8, 8, Uint32Array.from([5]));
			expect(s.checkRead(0, 8, b, 1)).toBe(8);
			// Content 5's block written at block 1, read back at block 0: the same id, so it matches;
			// but its sectors swapped in place do not (each header names its slot).
			const swapped = a.slice();
			swapped.copyWithin(0, 512, 1024);
			expect(s.checkRead(0, 8, swapped, 2)).toBe(1);
		});

		it('the first mismatch stays the first', () => {
			const s = new ExpectedState();
			s.checkRead(0, 1, new Uint8Array(512).fill(1), 1);
			s.checkRead(8, 1, new Uint8Array(512).fill(1), 2);
			expect(s.firstMismatch!.ioId).toBe(1);
			expect(s.mismatches).toBe(2);
		});

		it('unaligned writes are tracked per sector', () => {
			const s = new ExpectedState();
			s.recordWrite(3, 2, Uint32Array.from([42]));
			expect([2, 3, 4, 5].map((k) => s.contentOf(k))).toEqual([0, 42, 42, 0]);
			// the whole block: zeros around the written sectors
			const block = new Uint8Array(4096);
			block.set(bytes(3, 2, [42]), 3 * 512);
			expect(s.checkRead(0, 8, block, 1)).toBe(0);
			// a write covering the rest collapses the block back to one id per block
			s.recordWrite(0, 8, Uint32Array.from([43]));
			expect(s.trackedBlocks).toBe(1);
			expect(s.contentOf(3)).toBe(43);
		});

		it('unknown sectors are not checked; unmapped sectors are expected as zeros', () => {
			const s = new ExpectedState();
			s.recordWrite(0, 16, Uint32Array.from([5, 6]));
			s.recordFill(0, 8, UNKNOWN_CONTENT);
			s.recordFill(8, 8, ZERO_CONTENT);
			const garbage = new Uint8Array(8192).fill(0x5a);
			garbage.fill(0, 4096);
			expect(s.checkRead(0, 16, garbage, 1)).toBe(0);
			expect(s.sectorsChecked).toBe(8);
			expect(s.trackedBlocks).toBe(1); // the zeroed block is no longer tracked
		});

		it('survives toJSON/fromJSON (the expected state persists with the disks)', () => {
			const s = new ExpectedState();
			s.recordWrite(0, 8, Uint32Array.from([11]));
			s.recordWrite(9, 3, Uint32Array.from([12]));
			const t = ExpectedState.fromJSON(JSON.parse(JSON.stringify(s.toJSON())));
			for (let k = 0; k < 16; k++) expect(t.contentOf(k)).toBe(s.contentOf(k));
		});

		it('a content block names its id and slot at the start of every sector; equal ids are equal bytes', () => {
			const a = contentBlock(77).slice();
			const w = new Uint32Array(a.buffer);
			for (let k = 0; k < 8; k++) expect([w[k * 128], w[k * 128 + 1]]).toEqual([77, k]);
			expect(contentBlock(77)).toEqual(a);
			expect(contentBlock(78)).not.toEqual(a);
			expect(contentBlock(ZERO_CONTENT)).toEqual(new Uint8Array(4096));
		});

		it('a long read, over several windows, of mixed, unknown and unwritten blocks: every bad sector is counted', () => {
			// 300 sectors from sector 5: partial blocks at both ends, more than two 128-sector windows.
			const lba = 5;
			const sectors = 300;
			const s = new ExpectedState();
			const firstBlock = Math.floor(lba / 8);
			const blocks = Math.ceil((lba + sectors) / 8) - firstBlock;
			const ids = Array.from({ length: blocks }, (_, b) => 1000 + b);
			s.recordWrite(lba, sectors, Uint32Array.from(ids));
			s.recordFill(40, 3, UNKNOWN_CONTENT); // a mixed block with unknown sectors
			s.recordFill(64, 8, ZERO_CONTENT); // an unmapped block: zeros
			s.recordWrite(130, 2, Uint32Array.from([77])); // a mixed block of two contents
			const data = new Uint8Array(sectors * SECTOR_BYTES);
			fillWrite(lba, sectors, Uint32Array.from(ids), data);
			data.fill(0, (64 - lba) * SECTOR_BYTES, (72 - lba) * SECTOR_BYTES);
			data.set(bytes(130, 2, [77]), (130 - lba) * SECTOR_BYTES);
			data.fill(0xee, (40 - lba) * SECTOR_BYTES, (43 - lba) * SECTOR_BYTES); // unknown: not checked
			expect(s.checkRead(lba, sectors, data, 1)).toBe(0);
			expect(s.sectorsChecked).toBe(sectors - 3);
			// Flip one byte in several sectors, some adjacent, in every kind of block and window.
			const bad = [5, 6, 7, 64, 71, 131, 132, 133, 134, 200, 303, 304];
			for (const b of bad) data[(b - lba) * SECTOR_BYTES + ((b * 37) % SECTOR_BYTES)] ^= 0x10;
			expect(s.checkRead(lba, sectors, data, 2)).toBe(bad.length);
			expect(s.firstMismatch!.sector).toBe(5);
			expect(s.firstMismatch!.ioId).toBe(2);
			expect(s.mismatches).toBe(bad.length);
		});
	});
}
