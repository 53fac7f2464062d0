import { describe, expect, it } from 'vitest';
import { Prng } from '../clock';
import { LognormalJitter, lognormalQuantile } from './jitter';

/** A stand-in generator whose next() returns the given uniforms in turn. */
function fixed(...us: number[]): Prng {
	let i = 0;
	return { next: () => us[i++ % us.length] } as unknown as Prng;
}

describe('LognormalJitter', () => {
	it('follows the exact lognormal quantile: within 1e-6 at σ = 0.05 and 5e-5 at σ = 2', () => {
		for (const [sigma, tol] of [
			[0.05, 1e-6],
			[0.5, 1e-5],
			[2, 5e-5]
		]) {
			const j = new LognormalJitter(sigma);
			let worst = 0;
			// Points between the table's nodes (where interpolation is worst), over the whole range.
			for (let k = 0; k < 20_000; k++) {
				const u = (k + 0.5) / 20_000;
				const exact = lognormalQuantile(sigma, u);
				worst = Math.max(worst, Math.abs(j.draw(fixed(u)) / exact - 1));
			}
			expect(worst).toBeLessThan(tol);
		}
	});

	it('is exact in the outer cells, and finite and positive at u = 0', () => {
		const j = new LognormalJitter(0.3);
		for (const u of [1e-9, 1e-5, 0.005, 0.995, 1 - 1e-5, 1 - 2 ** -32]) expect(j.draw(fixed(u))).toBe(lognormalQuantile(0.3, u));
		const atZero = j.draw(fixed(0));
		expect(atZero).toBeGreaterThan(0);
		expect(atZero).toBeLessThan(j.draw(fixed(1e-9)));
	});

	it('has mean 1 and the lognormal spread (σ = 0.05 and 0.5, 400k seeded draws)', () => {
		for (const sigma of [0.05, 0.5]) {
			const j = new LognormalJitter(sigma);
			const prng = new Prng(11);
			const n = 400_000;
			const xs = new Float64Array(n);
			let sum = 0;
			for (let i = 0; i < n; i++) sum += xs[i] = j.draw(prng);
			expect(Math.abs(sum / n - 1)).toBeLessThan(sigma * 0.01);
			xs.sort();
			for (const p of [0.01, 0.5, 0.99]) expect(xs[Math.floor(p * n)] / lognormalQuantile(sigma, p) - 1).toBeCloseTo(0, 2);
		}
	});

	it('refuses σ ≤ 0 (no jitter is the caller\u2019s case)', () => {
		expect(() => new LognormalJitter(0)).toThrow(/σ > 0/);
	});
});
