import { describe, expect, it } from 'vitest';
import { BlockSet } from './block-set';
import { Prng } from '../../engine/clock';

describe('BlockSet', () => {
	it('counts distinct blocks and iterates them in ascending order, like a sorted Set', () => {
		const r = new Prng(3);
		const set = new BlockSet();
		const ref = new Set<number>();
		for (let i = 0; i < 50_000; i++) {
			// Mostly a small range (repeats), some far away (new pages), some past 2^32.
			const b = i % 5 === 0 ? r.int(1 << 20) * 4099 : i % 7 === 0 ? 2 ** 33 + r.int(1000) : r.int(20_000);
			expect(set.add(b)).toBe(!ref.has(b));
			ref.add(b);
		}
		expect(set.size).toBe(ref.size);
		expect(Array.from(set.toArray())).toEqual([...ref].sort((a, b) => a - b));
		expect(set.has(2 ** 33 + 1001)).toBe(false);
		for (const b of [...ref].slice(0, 100)) expect(set.has(b)).toBe(true);
	});

	it('handles word boundaries: bit 31 and block 0', () => {
		const set = new BlockSet();
		for (const b of [0, 31, 32, 63, 32767, 32768]) set.add(b);
		expect(Array.from(set.toArray())).toEqual([0, 31, 32, 63, 32767, 32768]);
		expect(set.add(31)).toBe(false);
		expect(set.size).toBe(6);
	});

	it('adds ranges as adding each block would, across words and pages', () => {
		const r = new Prng(5);
		const set = new BlockSet();
		const ref = new BlockSet();
		for (let i = 0; i < 20_000; i++) {
			// Short I/O-like ranges and long ones crossing words and 32768-block pages, some past 2^31 and 2^32.
			const base = i % 9 === 0 ? 2 ** 31 - 40_000 : i % 11 === 0 ? 2 ** 32 + r.int(1 << 20) : 0;
			const first = base + r.int(200_000);
			const end = first + (i % 5 === 0 ? r.int(70_000) : r.int(300));
			set.addRange(first, end);
			for (let b = first; b < end; b++) ref.add(b);
			if (i % 1000 === 0) expect(set.size).toBe(ref.size);
		}
		expect(set.size).toBe(ref.size);
		expect(set.toArray()).toEqual(ref.toArray());
	});
});
