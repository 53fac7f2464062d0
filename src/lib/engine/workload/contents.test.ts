import { describe, expect, it } from 'vitest';
import { Prng } from '../clock';
import { ContentSource } from './contents';

function run(seed: number, p: number, n: number, pool?: number): Uint32Array {
	const src = new ContentSource(new Prng(seed), pool);
	const out = new Uint32Array(n);
	return src.fill(out, p);
}

describe('ContentSource', () => {
	it('without dedupe hands out 1, 2, 3, … (never 0)', () => {
		expect([...run(1, 0, 5)]).toEqual([1, 2, 3, 4, 5]);
	});

	it('p=50 over 100,000 blocks: half of the blocks are duplicates', () => {
		const src = new ContentSource(new Prng(42));
		const ids = src.fill(new Uint32Array(100_000), 50);
		const unique = new Set(ids).size;
		expect(Math.abs(unique / ids.length - 0.5)).toBeLessThan(0.01);
		expect(src.unique).toBe(unique);
		expect(src.blocks).toBe(100_000);
	});

	for (const p of [20, 80]) {
		it(`p=${p}: unique fraction is ${100 - p}%`, () => {
			const ids = run(7, p, 100_000);
			expect(Math.abs(new Set(ids).size / ids.length - (1 - p / 100))).toBeLessThan(0.01);
		});
	}

	it('a duplicate reuses an earlier id from the recent pool; the first block is fresh', () => {
		const pool = 1000;
		const ids = run(3, 60, 50_000, pool);
		expect(ids[0]).toBe(1);
		let maxSoFar = 0;
		let bad = 0;
		for (const id of ids) {
			if (id === 0) bad++;
			if (id > maxSoFar + 1) bad++; // a fresh id is always the next counter value
			if (id <= maxSoFar && id <= maxSoFar - pool) bad++; // reuse comes from the last `pool` ids
			if (id > maxSoFar) maxSoFar = id;
		}
		expect(bad).toBe(0);
	});

	it('p=100 repeats the first id forever', () => {
		expect([...run(5, 100, 10)]).toEqual(new Array(10).fill(1));
	});

	it('is deterministic per seed', () => {
		expect(run(9, 50, 2000)).toEqual(run(9, 50, 2000));
		expect(run(9, 50, 2000)).not.toEqual(run(10, 50, 2000));
	});

	it('is shared: two writers never get the same fresh id', () => {
		const src = new ContentSource(new Prng(1));
		const a = src.fill(new Uint32Array(100), 0);
		const b = src.fill(new Uint32Array(100), 0);
		expect(new Set([...a, ...b]).size).toBe(200);
	});

	it('rejects a bad pool size', () => {
		expect(() => new ContentSource(new Prng(1), 0)).toThrow(/poolSize/);
	});
});
