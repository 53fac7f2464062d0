import { describe, expect, it } from 'vitest';
import { Prng } from '../clock';
import {
	createOffsetPicker,
	NormalPicker,
	ParetoPicker,
	RandomMapPicker,
	RankScrambler,
	RisingZipfPicker,
	UniformPicker,
	ZipfPicker
} from './distributions';

function draw(picker: { pick(p: Prng): number }, seed: number, n: number): number[] {
	const prng = new Prng(seed);
	const out: number[] = [];
	for (let i = 0; i < n; i++) out.push(picker.pick(prng));
	return out;
}

describe('RankScrambler', () => {
	it('is a bijection of [0, n) for small and odd sizes', () => {
		for (const n of [1, 2, 3, 5, 7, 8, 100, 1000, 4097, 65536, 100_003]) {
			const s = new RankScrambler(n);
			const seen = new Uint8Array(n);
			let bad = 0;
			for (let r = 0; r < n; r++) {
				const u = s.map(r);
				if (u >= 0 && u < n && Number.isInteger(u)) seen[u]++;
				else bad++;
			}
			expect(bad).toBe(0);
			expect(seen.every((c) => c === 1)).toBe(true);
		}
	});

	it('stays injective and in range beyond 2^32 units', () => {
		const n = 2 ** 33 + 12345;
		const s = new RankScrambler(n);
		const seen = new Set<number>();
		for (let r = 0; r < 20_000; r++) seen.add(s.map(r));
		for (let r = n - 1000; r < n; r++) seen.add(s.map(r));
		expect(seen.size).toBe(21_000);
		expect([...seen].every((u) => Number.isInteger(u) && u >= 0 && u < n)).toBe(true);
	});

	it('scatters the hottest ranks over the whole range', () => {
		const n = 5_000_000;
		const s = new RankScrambler(n);
		const units = Array.from({ length: 100 }, (_, r) => s.map(r));
		expect(Math.max(...units) - Math.min(...units)).toBeGreaterThan(n / 2);
		// Spread over all ten tenths of the region.
		const tenths = new Set(units.map((u) => Math.floor((u / n) * 10)));
		expect(tenths.size).toBe(10);
		expect(units[0]).not.toBe(0);
	});

	it('is deterministic', () => {
		expect(new RankScrambler(12345).map(77)).toBe(new RankScrambler(12345).map(77));
	});
});

describe('uniform', () => {
	it('stays in range and covers it evenly', () => {
		const n = 10;
		const counts = new Array(n).fill(0);
		for (const u of draw(new UniformPicker(n), 1, 100_000)) counts[u]++;
		for (const c of counts) expect(Math.abs(c / 100_000 - 0.1)).toBeLessThan(0.01);
	});

	it('handles more than 2^32 units', () => {
		const n = 2 ** 40;
		const xs = draw(new UniformPicker(n), 2, 1000);
		expect(xs.every((x) => x >= 0 && x < n && Number.isInteger(x))).toBe(true);
		expect(Math.max(...xs)).toBeGreaterThan(2 ** 39);
	});
});

describe('zipf with θ = 0 and θ < 0 (fio accepts both)', () => {
	it('θ = 0 is uniform, as in fio: the uniform picker, the same draws as random', () => {
		for (const theta of [0, -0]) {
			const z = createOffsetPicker({ kind: 'zipf', theta }, 1000);
			expect(z).toBeInstanceOf(UniformPicker);
			expect(draw(z, 3, 500)).toEqual(draw(createOffsetPicker({ kind: 'random' }, 1000), 3, 500));
		}
		// Every unit gets its share (16 units, as measured with fio: no unit stands out).
		const counts = new Array(16).fill(0);
		for (const u of draw(createOffsetPicker({ kind: 'zipf', theta: 0 }, 16), 9, 160_000)) counts[u]++;
		for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(500);
	});

	for (const [n, a] of [
		[16, 1],
		[16, 50],
		[1000, 0.5],
		[1000, 1.8],
		[1000, 3],
		[3, 0.01]
	]) {
		it(`θ = -${a} over ${n} units: rank frequencies follow k^${a} (k = 1..N, rank N the hottest)`, () => {
			const z = createOffsetPicker({ kind: 'zipf', theta: -a }, n) as RisingZipfPicker;
			expect(z).toBeInstanceOf(RisingZipfPicker);
			let total = 0;
			for (let k = 1; k <= n; k++) total += Math.pow(k, a);
			const prng = new Prng(5);
			// Count the uniforms drawn: the rejection keeps about 3/4 of its proposals or more.
			let uniforms = 0;
			const counting = { next: () => (uniforms++, prng.next()) } as Prng;
			const samples = 100_000;
			const counts = new Float64Array(n);
			let bad = 0;
			for (let i = 0; i < samples; i++) {
				const r = z.rank(counting);
				if (Number.isInteger(r) && r >= 0 && r < n) counts[r]++;
				else bad++;
			}
			expect(bad).toBe(0);
			for (let j = 0; j < Math.min(n, 5); j++) {
				const expected = Math.pow(n - j, a) / total; // rank j is k = N − j
				expect(Math.abs(counts[j] / samples - expected), `rank ${j}`).toBeLessThan(Math.max(0.004, expected * 0.05));
			}
			expect(uniforms / samples).toBeLessThan(2 / 0.74);
		});
	}

	it('θ < 0: picks are scrambled ranks, deterministic per seed; a single unit is always 0', () => {
		const z = createOffsetPicker({ kind: 'zipf', theta: -2 }, 1_000_000) as RisingZipfPicker;
		expect(draw(z, 5, 200)).toEqual(draw(z, 5, 200));
		expect(draw(z, 5, 200)).not.toEqual(draw(z, 6, 200));
		const prng = new Prng(5);
		const first = draw(z, 5, 20);
		expect(first).toEqual(Array.from({ length: 20 }, () => z.scrambler.map(z.rank(prng))));
		expect(draw(createOffsetPicker({ kind: 'zipf', theta: -3 }, 1), 1, 50).every((u) => u === 0)).toBe(true);
		expect(() => new RisingZipfPicker(10, Infinity)).toThrow(/finite/);
	});
});

describe('zipf', () => {
	it('rejects theta ≤ 0', () => {
		expect(() => new ZipfPicker(10, 0)).toThrow(/theta/);
		expect(() => new ZipfPicker(10, -1)).toThrow(/theta/);
	});

	for (const theta of [0.8, 1, 1.2, 2]) {
		it(`rank frequencies follow 1/k^θ (θ=${theta})`, () => {
			const n = 1000;
			let hn = 0;
			for (let k = 1; k <= n; k++) hn += Math.pow(k, -theta);
			const z = new ZipfPicker(n, theta);
			const prng = new Prng(7);
			const samples = 200_000;
			const counts = new Float64Array(n);
			let bad = 0;
			for (let i = 0; i < samples; i++) {
				const r = z.rank(prng);
				if (r >= 0 && r < n && Number.isInteger(r)) counts[r]++;
				else bad++;
			}
			expect(bad).toBe(0);
			for (let k = 0; k < 5; k++) {
				const expected = Math.pow(k + 1, -theta) / hn;
				expect(Math.abs(counts[k] / samples - expected)).toBeLessThan(Math.max(0.004, expected * 0.05));
			}
		});
	}

	it('5 million units: the top 1% of units get most accesses and rank 0 is the hottest unit', () => {
		const n = 5_000_000;
		const z = new ZipfPicker(n, 1.2);
		const prng = new Prng(11);
		const samples = 200_000;
		const counts = new Map<number, number>();
		let top = 0;
		for (let i = 0; i < samples; i++) {
			const r = z.rank(prng);
			if (r < n / 100) top++;
			const u = z.scrambler.map(r);
			counts.set(u, (counts.get(u) ?? 0) + 1);
		}
		// Theory: H(50 000, 1.2) / H(5 000 000, 1.2) ≈ 0.94.
		expect(top / samples).toBeGreaterThan(0.9);
		let best = -1;
		let bestCount = 0;
		for (const [u, c] of counts) if (c > bestCount) [best, bestCount] = [u, c];
		expect(best).toBe(z.scrambler.map(0));
	});

	it('pick is deterministic per seed and differs across seeds', () => {
		const z = createOffsetPicker({ kind: 'zipf', theta: 1.2 }, 1_000_000);
		expect(draw(z, 5, 200)).toEqual(draw(z, 5, 200));
		expect(draw(z, 5, 200)).not.toEqual(draw(z, 6, 200));
	});

	it('works with a single unit', () => {
		expect(draw(new ZipfPicker(1, 1.2), 1, 50).every((u) => u === 0)).toBe(true);
	});
});

describe('pareto', () => {
	it('rejects h outside (0, 1)', () => {
		expect(() => new ParetoPicker(10, 0)).toThrow(/pareto/);
		expect(() => new ParetoPicker(10, 1)).toThrow(/pareto/);
	});

	for (const [h, hotFraction, share] of [
		[0.2, 0.2, 0.8],
		[0.8, 0.2, 0.8],
		[0.9, 0.1, 0.9],
		[0.1, 0.1, 0.9]
	]) {
		it(`h=${h}: the hottest ${hotFraction * 100}% of units get ~${share * 100}% of accesses`, () => {
			const n = 1_000_000;
			const p = new ParetoPicker(n, h);
			const prng = new Prng(3);
			const samples = 100_000;
			let hot = 0;
			let bad = 0;
			for (let i = 0; i < samples; i++) {
				const r = p.rank(prng);
				if (!(r >= 0 && r < n && Number.isInteger(r))) bad++;
				if (r < hotFraction * n) hot++;
			}
			expect(bad).toBe(0);
			expect(Math.abs(hot / samples - share)).toBeLessThan(0.01);
		});
	}

	it('scatters: picked units land all over the region', () => {
		const n = 1_000_000;
		const xs = draw(createOffsetPicker({ kind: 'pareto', h: 0.9 }, n), 4, 10_000);
		expect(xs.every((x) => x >= 0 && x < n)).toBe(true);
		const tenths = new Set(xs.map((u) => Math.floor((u / n) * 10)));
		expect(tenths.size).toBe(10);
	});
});

describe('normal (fio gauss.c)', () => {
	const stats = (xs: number[]) => {
		const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
		return { mean, sd: Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length) };
	};
	const ranks = (p: NormalPicker, seed: number, count: number) => {
		const prng = new Prng(seed);
		return Array.from({ length: count }, () => p.rank(prng));
	};

	it('bare normal is the mean of 12 uniforms: centred, sigma = 1/12 of the region', () => {
		const n = 1_000_000;
		const p = new NormalPicker(n, 0);
		expect(p.stddev).toBe(0);
		const { mean, sd } = stats(ranks(p, 9, 50_000));
		expect(Math.abs(mean / n - 0.5)).toBeLessThan(0.003);
		expect(Math.abs(sd / n - 1 / 12)).toBeLessThan(0.002);
	});

	it('normal:N adds a uniform deviation of N % of the region (variance adds up)', () => {
		const n = 1_000_000;
		const p = new NormalPicker(n, 30);
		expect(p.stddev).toBe(300_000);
		const { mean, sd } = stats(ranks(p, 9, 50_000));
		expect(Math.abs(mean / n - 0.5)).toBeLessThan(0.005);
		// (1/12)² + 0.3²/12: sd ≈ 0.1202 of the region, not the 0.3 a Gaussian σ of 30 % would give.
		expect(Math.abs(sd / n - Math.sqrt(1 / 144 + 0.09 / 12))).toBeLessThan(0.003);
	});

	it('caps the deviation at half the region, as fio does', () => {
		expect(new NormalPicker(1000, 80).stddev).toBe(500);
		expect(new NormalPicker(1000, 0.01).stddev).toBe(1); // rounded up
	});

	it('scatters the bell over the region through the rank scrambler', () => {
		const n = 1_000_000;
		const p = new NormalPicker(n, 0);
		const a = new Prng(4);
		const b = new Prng(4);
		for (let i = 0; i < 100; i++) expect(p.pick(a)).toBe(p.scrambler.map(p.rank(b)));
		const tenths = new Set(draw(p, 4, 10_000).map((u) => Math.floor((u / n) * 10)));
		expect(tenths.size).toBe(10);
	});

	it('stays in range and terminates on tiny regions and wide deviations', () => {
		for (const n of [1, 2, 3, 1000]) {
			for (const dev of [0, 50, 99.9]) {
				const xs = draw(new NormalPicker(n, dev), 10, 5_000);
				expect(xs.every((x) => Number.isInteger(x) && x >= 0 && x < n)).toBe(true);
			}
		}
	});

	it('refuses what fio refuses (deviation 100 or more)', () => {
		expect(() => new NormalPicker(100, 100)).toThrow(/\[0, 100\)/);
		expect(() => new NormalPicker(100, -1)).toThrow(/\[0, 100\)/);
	});
});

describe('RandomMapPicker (fio random map)', () => {
	it('visits every unit once per pass, then starts a new pass in another order', () => {
		for (const n of [1, 2, 3, 5, 7, 8, 100, 1000, 4097, 65536, 100_003]) {
			const picks = draw(new RandomMapPicker(n), 3, 3 * n);
			for (let pass = 0; pass < 3; pass++) {
				const seen = new Uint8Array(n);
				for (const u of picks.slice(pass * n, (pass + 1) * n)) {
					expect(Number.isInteger(u) && u >= 0 && u < n, `n=${n}: ${u}`).toBe(true);
					seen[u]++;
				}
				expect(seen.every((c) => c === 1), `n=${n} pass ${pass}`).toBe(true);
			}
			if (n >= 100) expect(picks.slice(n, 2 * n)).not.toEqual(picks.slice(0, n));
		}
	});

	it('is not a sweep: a pass is spread over the region from its start', () => {
		const n = 1_000_000;
		const first = draw(new RandomMapPicker(n), 5, 1000);
		expect(new Set(first.map((u) => Math.floor((u / n) * 10))).size).toBe(10);
		// Successive picks are not neighbours.
		const steps = first.slice(1).filter((u, i) => Math.abs(u - first[i]) <= 1).length;
		expect(steps).toBeLessThan(5);
	});

	it('works on the largest regions with constant memory, the same for the same seed', () => {
		const n = 2 ** 50 - 3;
		const a = draw(new RandomMapPicker(n), 6, 20_000);
		expect(a.every((u) => Number.isInteger(u) && u >= 0 && u < n)).toBe(true);
		expect(new Set(a).size).toBe(a.length);
		expect(draw(new RandomMapPicker(n), 6, 20_000)).toEqual(a);
		expect(draw(new RandomMapPicker(n), 7, 10)).not.toEqual(a.slice(0, 10));
	});

	it('is what createOffsetPicker gives for uniform offsets with randomMap, and only then', () => {
		expect(createOffsetPicker({ kind: 'random' }, 100, true)).toBeInstanceOf(RandomMapPicker);
		expect(createOffsetPicker({ kind: 'random' }, 100)).toBeInstanceOf(UniformPicker);
		expect(createOffsetPicker({ kind: 'zipf', theta: 1.2 }, 100, true)).toBeInstanceOf(ZipfPicker);
	});
});

describe('createOffsetPicker', () => {
	it('rejects bad unit counts', () => {
		expect(() => createOffsetPicker({ kind: 'random' }, 0)).toThrow(/units/);
		expect(() => createOffsetPicker({ kind: 'random' }, 1.5)).toThrow(/units/);
	});
});
