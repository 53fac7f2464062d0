/**
 * Metrics: exact percentiles by nearest rank (the value at rank ⌈p/100·n⌉ of the sorted samples),
 * found by selection, and the guest's counters.
 */
import { describe, expect, it } from 'vitest';
import { Op } from '../../src/lib/engine/io';
import { GuestMetrics, Samples, summarize } from '../../src/lib/engine/metrics';
import { Prng } from '../../src/lib/engine/clock';

function samples(values: number[]): Samples {
	const s = new Samples();
	for (const v of values) s.push(v);
	return s;
}

/** 1..n in a scrambled order, so sorting is exercised. */
function oneTo(n: number): Samples {
	const vals = Array.from({ length: n }, (_, i) => i + 1);
	for (let i = n - 1; i > 0; i--) {
		const j = (i * 7919) % (i + 1);
		[vals[i], vals[j]] = [vals[j], vals[i]];
	}
	return samples(vals);
}

describe('Samples.percentile (nearest rank)', () => {
	it('1..100: p50 = 50, p90 = 90, p99 = 99, p100 = 100, p0 = the minimum', () => {
		const s = oneTo(100);
		expect([0, 1, 50, 90, 99, 100].map((p) => s.percentile(p))).toEqual([1, 1, 50, 90, 99, 100]);
	});

	it('p99.9 is the real p99.9, not the maximum: 999 of 1..1000, 9990 of 1..10000', () => {
		expect(oneTo(1000).percentile(99.9)).toBe(999);
		expect(oneTo(10_000).percentile(99.9)).toBe(9990);
		expect(oneTo(10_000).percentile(99.99)).toBe(9999);
		expect(oneTo(2000).percentile(99.9)).toBe(1998);
		expect(oneTo(3000).percentile(99.9)).toBe(2997);
	});

	it('every integer percentile of 1..100 is itself (no off-by-one from floating point)', () => {
		const s = oneTo(100);
		for (let p = 1; p <= 100; p++) expect(s.percentile(p)).toBe(p);
	});

	it('ranks round up between samples: p50 of [10, 20] is 10, p51 is 20; p25 of 1..10 is 3', () => {
		expect(samples([20, 10]).percentile(50)).toBe(10);
		expect(samples([20, 10]).percentile(51)).toBe(20);
		expect(oneTo(10).percentile(25)).toBe(3);
	});

	it('sorts numerically, re-sorts after more samples, and is 0 when empty', () => {
		const s = samples([100, 9, 25]);
		expect(s.percentile(50)).toBe(25);
		s.push(1);
		s.push(2);
		expect(s.percentile(50)).toBe(9);
		expect(s.max()).toBe(100);
		expect(new Samples().percentile(50)).toBe(0);
		expect(new Samples().mean()).toBe(0);
	});

	it('grows beyond its initial capacity', () => {
		const s = oneTo(5000);
		expect(s.length).toBe(5000);
		expect(s.percentile(50)).toBe(2500);
		expect(s.mean()).toBe(2500.5);
	});

	it('union makes one sample with every value of the parts', () => {
		const parts = [samples([5, 1, 9, 3]), samples([]), samples([2, 2, 8]), samples([7])];
		const u = Samples.union(parts);
		expect([...u.values()].sort((a, b) => a - b)).toEqual([1, 2, 2, 3, 5, 7, 8, 9]);
		expect(u.percentile(50)).toBe(3);
		const big = samples([4, 6]);
		big.pushAll(oneTo(3000));
		expect(big.length).toBe(3002);
		expect(big.percentile(100)).toBe(3000);
	});

	it('selection gives the value of the sorted array at every rank, on random data with ties and on sorted input', () => {
		const rng = new Prng(42);
		const cases: number[][] = [
			Array.from({ length: 20_000 }, () => rng.next() * 1000),
			Array.from({ length: 20_000 }, () => rng.int(7)), // a handful of distinct values
			Array.from({ length: 5000 }, (_, i) => i), // ascending
			Array.from({ length: 5000 }, (_, i) => 5000 - i), // descending
			Array.from({ length: 3000 }, () => 250) // all equal
		];
		const ps = [0, 0.1, 1, 25, 50, 50, 75, 90, 99, 99.9, 99.99, 100];
		for (const vals of cases) {
			const sorted = [...vals].sort((a, b) => a - b);
			const oracle = ps.map((p) => sorted[Math.min(vals.length - 1, Math.max(0, Math.ceil((p / 100) * vals.length * (1 - 1e-12)) - 1))]);
			// Asked together, in a scrambled order, and one at a time.
			const s = samples(vals);
			const order = [7, 3, 11, 0, 5, 9, 1, 10, 2, 8, 4, 6];
			expect(s.percentiles(order.map((i) => ps[i]))).toEqual(order.map((i) => oracle[i]));
			expect(ps.map((p) => s.percentile(p))).toEqual(oracle);
			expect(s.max()).toBe(sorted[sorted.length - 1]);
			// Selection only reorders: the same values are all still there.
			expect([...s.values()].sort((a, b) => a - b)).toEqual(sorted);
		}
	});

	it('summarize reports p50, p90, p99, p99.9, mean and max', () => {
		expect(summarize(oneTo(1000))).toEqual({ p50: 500, p90: 900, p99: 990, p999: 999, mean: 500.5, max: 1000 });
	});
});

describe('GuestMetrics', () => {
	it('counts I/Os, bytes and errors per op; IOPS over virtual time from first issue to last completion', () => {
		const m = new GuestMetrics();
		m.issued(100);
		m.issued(100);
		m.issued(150);
		m.done(Op.read, 4096, 50, false, 150);
		m.done(Op.write, 8192, 100, true, 200);
		m.done(Op.read, 4096, 150, false, 300);
		expect(m.ios).toBe(3);
		expect(m.ops[Op.read]).toMatchObject({ ios: 2, bytes: 8192, errors: 0 });
		expect(m.ops[Op.write]).toMatchObject({ ios: 1, bytes: 8192, errors: 1 });
		expect(m.errors).toBe(1);
		expect(m.bytes).toBe(16384);
		expect(m.elapsedS).toBeCloseTo(200e-6, 12);
		expect(m.iops).toBeCloseTo(15_000, 6);
		expect(m.maxOutstanding).toBe(3);
		expect(m.allLatencies().percentile(50)).toBe(100);
		expect([...m.allLatencies().values()].sort((a, b) => a - b)).toEqual([50, 100, 150]);
	});

	it('outstanding I/Os are a time-weighted mean', () => {
		const m = new GuestMetrics();
		m.issued(0);
		m.issued(0);
		m.done(Op.write, 4096, 100, false, 100); // 2 outstanding for 100 µs
		m.done(Op.write, 4096, 200, false, 200); // then 1 for 100 µs
		expect(m.meanOutstanding).toBe(1.5);
		expect(m.outstanding).toBe(0);
	});
});
