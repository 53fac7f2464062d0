/**
 * The per-I/O trace: a bounded ring of completed rows, a digest over every row ever completed,
 * and row() reading back exactly what the chain wrote.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { VerdictCode } from '../../src/lib/engine/filter';
import { ByteCol, Col, F64_STRIDE, FIXED_F64_COLUMNS, FIXED_U8_COLUMNS, Trace, U8_STRIDE, loadTraceHasher } from '../../src/lib/engine/trace';

/** Opens and closes one row with values derived from k (two filters). */
function addRow(t: Trace, k: number, lba = k * 8): void {
	const r = t.open(k + 1, 0, k % 2, 0, lba, 8, k * 10, 2);
	t.live[r * F64_STRIDE + Col.deviceStart] = k * 10 + 1;
	t.live[r * F64_STRIDE + Col.deviceDone] = k * 10 + 2;
	t.live[r * F64_STRIDE + FIXED_F64_COLUMNS + 0] = k * 10; // filter 0 down-in
	t.liveU8[r * U8_STRIDE + FIXED_U8_COLUMNS + 0] = VerdictCode.pass;
	t.liveU8[r * U8_STRIDE + ByteCol.endedBy] = 0;
	t.close(r, k * 10 + 3, 0);
}

describe('Trace', () => {
	it('refuses to be built before the hasher is loaded', () => {
		expect(() => new Trace({ capacity: 4 })).toThrow('loadTraceHasher() must be awaited before a Trace is created');
	});

	describe('once loaded', () => {
		beforeAll(async () => {
			await loadTraceHasher();
		});

		it('the ring keeps the last N completed rows; older ones are gone', () => {
			const t = new Trace({ capacity: 3 });
			for (let k = 0; k < 5; k++) addRow(t, k);
			expect(t.completed).toBe(5);
			expect(t.held).toBe(3);
			expect(t.row(0)).toBeUndefined();
			expect(t.row(1)).toBeUndefined();
			expect([2, 3, 4].map((n) => t.row(n)!.id)).toEqual([3, 4, 5]);
			expect(t.row(5)).toBeUndefined();
		});

		it('the digest covers every row, not just those still in the ring', () => {
			const small = new Trace({ capacity: 1 });
			const big = new Trace({ capacity: 100 });
			const changed = new Trace({ capacity: 1 });
			for (let k = 0; k < 50; k++) {
				addRow(small, k);
				addRow(big, k);
				addRow(changed, k, k === 0 ? 999 : k * 8); // only the first row (long gone from the ring) differs
			}
			expect(small.digest()).toMatch(/^[0-9a-f]{16}$/);
			expect(small.digest()).toBe(big.digest());
			expect(changed.digest()).not.toBe(small.digest());
		});

		it('the digest does not depend on when it was asked for (mid-run digests, batch boundaries)', () => {
			const once = new Trace({ capacity: 8 });
			const often = new Trace({ capacity: 8 });
			for (let k = 0; k < 2500; k++) {
				addRow(once, k);
				addRow(often, k);
				if (k % 333 === 0) often.digest();
			}
			expect(often.digest()).toBe(once.digest());
			// and asking twice gives the same answer
			expect(once.digest()).toBe(once.digest());
		});

		it('every column of a row is in the digest: changing a verdict or a time changes it', () => {
			const digestWith = (edit: (t: Trace, r: number) => void) => {
				const t = new Trace({ capacity: 4 });
				const r = t.open(1, 0, 1, 0, 0, 8, 0, 2);
				edit(t, r);
				t.close(r, 5, 0);
				return t.digest();
			};
			const base = digestWith(() => {});
			expect(digestWith((t, r) => (t.liveU8[r * U8_STRIDE + FIXED_U8_COLUMNS + 3] = VerdictCode.defer))).not.toBe(base);
			expect(digestWith((t, r) => (t.live[r * F64_STRIDE + FIXED_F64_COLUMNS + 7] = 4))).not.toBe(base);
			expect(digestWith((t, r) => (t.live[r * F64_STRIDE + Col.deferredUs] = 1))).not.toBe(base);
			expect(digestWith(() => {})).toBe(base);
		});

		it('row() returns the fields the chain wrote', () => {
			const t = new Trace({ capacity: 4 });
			const r = t.open(42, 3, 0, 1, 1024, 16, 500, 2);
			const f = r * F64_STRIDE;
			const b = r * U8_STRIDE;
			t.live[f + Col.deviceStart] = 510;
			t.live[f + Col.deviceDone] = 600;
			t.live[f + Col.deferredUs] = 7;
			for (let k = 0; k < 8; k++) t.live[f + FIXED_F64_COLUMNS + k] = 500 + k;
			t.liveU8[b + FIXED_U8_COLUMNS + 0] = VerdictCode.pass;
			t.liveU8[b + FIXED_U8_COLUMNS + 1] = VerdictCode.fail;
			t.liveU8[b + FIXED_U8_COLUMNS + 2] = VerdictCode.defer;
			t.liveU8[b + FIXED_U8_COLUMNS + 3] = VerdictCode.complete;
			t.liveU8[b + ByteCol.endedBy] = 2;
			t.close(r, 650, 1);
			expect(t.row(0)).toEqual({
				id: 42,
				disk: 3,
				op: 0,
				origin: 'filter',
				stream: -1,
				lba: 1024,
				sectors: 16,
				issuedAt: 500,
				doneAt: 650,
				deviceStart: 510,
				deviceDone: 600,
				deferredUs: 7,
				status: 'EIO',
				endedBy: 2,
				filters: [
					{ downIn: 500, downOut: 501, upIn: 502, upOut: 503, down: VerdictCode.pass, up: VerdictCode.fail },
					{ downIn: 504, downOut: 505, upIn: 506, upOut: 507, down: VerdictCode.defer, up: VerdictCode.complete }
				]
			});
		});

		it("keeps each row's stream (the workload stream that issued it) through the ring and a growing pool", () => {
			const t = new Trace({ capacity: 50 });
			// 100 rows in flight at once: the live pool grows from 64 while rows hold streams.
			const rows = Array.from({ length: 100 }, (_, k) => t.open(k, 0, 1, k % 5 === 0 ? 1 : 0, k * 8, 8, k, 1, k % 5 === 0 ? -1 : k % 3));
			for (const r of rows) t.close(r, 1000, 0);
			expect(t.held).toBe(50);
			for (let n = 50; n < 100; n++) {
				const row = t.row(n)!;
				expect(row.id).toBe(n);
				expect(row.stream).toBe(n % 5 === 0 ? -1 : n % 3);
				expect(row.origin).toBe(n % 5 === 0 ? 'filter' : 'guest');
			}
			// Without a stream a row has none.
			const r = t.open(7, 0, 1, 1, 0, 8, 0, 0);
			t.close(r, 1, 0);
			expect(t.row(100)!.stream).toBe(-1);
		});

		it('the stream is not in the digest: the same rows from other streams digest alike', () => {
			const digest = (stream: (k: number) => number) => {
				const t = new Trace({ capacity: 16 });
				for (let k = 0; k < 1500; k++) {
					const r = t.open(k + 1, 0, k % 2, 0, k * 8, 8, k * 10, 2, stream(k));
					t.live[r * F64_STRIDE + Col.deviceStart] = k * 10 + 1;
					t.close(r, k * 10 + 3, 0);
				}
				return t.digest();
			};
			const none = digest(() => -1);
			expect(digest((k) => k % 7)).toBe(none);
			expect(digest(() => 1023)).toBe(none);
		});

		it('a fresh row has no device times, no verdicts, endedBy 255 (none) and deferredUs 0', () => {
			const t = new Trace({ capacity: 2 });
			const r = t.open(1, 0, 1, 0, 0, 8, 10, 1);
			t.close(r, 20, 0);
			const row = t.row(0)!;
			expect(row.deviceStart).not.toBeGreaterThanOrEqual(0);
			expect(row.deviceDone).not.toBeGreaterThanOrEqual(0);
			expect(row.filters).toHaveLength(1);
			expect(row.filters[0].down).toBe(VerdictCode.none);
			expect(row.endedBy).toBe(255);
			expect(row.deferredUs).toBe(0);
			expect(row.status).toBe('');
		});

		it('more than 64 rows in flight grow the live pool without losing any', () => {
			const t = new Trace({ capacity: 300 });
			const rows = Array.from({ length: 200 }, (_, k) => t.open(k, 0, 1, 0, k * 8, 8, k, 0));
			expect(new Set(rows).size).toBe(200);
			for (const [k, r] of [...rows.entries()].reverse()) t.close(r, 1000 + k, 0);
			expect(t.row(0)!.id).toBe(199);
			expect(t.row(199)!).toMatchObject({ id: 0, lba: 0, issuedAt: 0, doneAt: 1000 });
			expect(t.row(100)!).toMatchObject({ id: 99, lba: 99 * 8, issuedAt: 99, doneAt: 1099 });
		});

		it('rows completed before the live pool grows keep their place in the ring and the digest', () => {
			// The same rows, completed in the same order: one trace grows its pool midway, with
			// rows already in the ring and in the digest batch; the other never has two in flight.
			const grown = new Trace({ capacity: 500 });
			const flat = new Trace({ capacity: 500 });
			const row = (t: Trace, k: number) => t.open(k, 0, 1, 0, k * 8, 8, k, 3);
			for (let k = 0; k < 50; k++) grown.close(row(grown, k), 1000 + k, 0);
			const open = Array.from({ length: 150 }, (_, j) => row(grown, 50 + j));
			for (const [j, r] of open.entries()) grown.close(r, 1050 + j, 0);
			for (let k = 0; k < 200; k++) flat.close(row(flat, k), 1000 + k, 0);
			expect(grown.digest()).toBe(flat.digest());
			for (const n of [0, 49, 50, 199]) expect(grown.row(n)).toEqual(flat.row(n));
		});
	});
});
