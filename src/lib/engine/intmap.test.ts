import { describe, expect, it } from 'vitest';
import { IntMap } from './intmap';
import { Prng } from './clock';

describe('IntMap', () => {
	it('agrees with a Map through a long random mix of set, get, has and delete (with growth and collisions)', () => {
		const m = new IntMap(4);
		const ref = new Map<number, number>();
		const prng = new Prng(11);
		// Keys from a small range collide and form long probe runs; a few exceed 2^32.
		const key = () => (prng.next() < 0.05 ? 2 ** 40 + prng.int(64) : prng.int(5000));
		for (let i = 0; i < 200_000; i++) {
			const k = key();
			const r = prng.next();
			if (r < 0.45) {
				const v = prng.int(1 << 30);
				m.set(k, v);
				ref.set(k, v);
			} else if (r < 0.8) expect(m.delete(k)).toBe(ref.delete(k));
			else {
				expect(m.get(k)).toBe(ref.get(k));
				expect(m.has(k)).toBe(ref.has(k));
			}
			expect(m.size).toBe(ref.size);
		}
		for (const [k, v] of ref) expect(m.get(k)).toBe(v);
		const seen = new Map<number, number>();
		m.forEach((v, k) => seen.set(k, v));
		expect(seen).toEqual(ref);
		expect(new Map(m.entries())).toEqual(ref);
	});

	it('refuses keys it cannot hold', () => {
		const m = new IntMap();
		expect(() => m.set(-1, 0)).toThrow(/non-negative integer/);
		expect(() => m.set(1.5, 0)).toThrow(/non-negative integer/);
		expect(() => m.set(NaN, 0)).toThrow(/non-negative integer/);
	});

	it('clear empties it', () => {
		const m = new IntMap();
		for (let k = 0; k < 100; k++) m.set(k, k);
		m.clear();
		expect(m.size).toBe(0);
		expect(m.has(5)).toBe(false);
		m.set(5, 1);
		expect(m.get(5)).toBe(1);
	});
});
