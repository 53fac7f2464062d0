/**
 * Lognormal latency jitter with mean 1: the factor exp(σZ − σ²/2), Z standard normal, that a
 * device model multiplies its media latency by.
 *
 * Drawn by inverse transform from one uniform: the factor's quantile function
 * Q(u) = exp(σ·√2·erfinv(2u − 1) − σ²/2) is tabulated once per σ at CELLS + 1 points and
 * interpolated linearly between them. A draw is then one uniform, a multiply and two table reads,
 * where a normal (Marsaglia's polar method: two or three uniforms, a logarithm and a square root)
 * and an exponential cost a tenth of a timing-only run through two SSDs. The outer EXACT_CELLS
 * cells at each end (u below 0.8 % or above 99.2 %, |Z| > 2.4), where Q bends too fast for a
 * straight line, are computed exactly. Inside, the interpolated quantile is within 1e-6 of the
 * exact one at σ = 0.05 and within 5e-5 at σ = 2 (the test measures both): far below what the
 * model claims to know of a drive.
 *
 * Deterministic in every engine: the table and the tails come from stdlib's erfinv and exp (IEEE
 * arithmetic only, see detmath.ts), and a draw uses + − × only.
 */
import type { Prng } from '../clock';
import { erfinv, exp } from '../detmath';

/** Cells of the quantile table (a power of two). */
const CELLS = 8192;
/** Cells at each end computed exactly instead of interpolated (1.6 % of the draws). */
const EXACT_CELLS = 64;

/** The exact factor at uniform u in (0, 1). */
export function lognormalQuantile(sigma: number, u: number): number {
	return exp(sigma * Math.SQRT2 * erfinv(2 * u - 1) - (sigma * sigma) / 2);
}

export class LognormalJitter {
	private readonly q = new Float64Array(CELLS + 1);

	constructor(readonly sigma: number) {
		if (!(sigma > 0)) throw new RangeError(`lognormal jitter needs σ > 0, got ${sigma}`);
		for (let i = EXACT_CELLS; i <= CELLS - EXACT_CELLS; i++) this.q[i] = lognormalQuantile(sigma, i / CELLS);
	}

	/** One factor (mean 1), from one uniform draw of `prng`. */
	draw(prng: Prng): number {
		const x = prng.next() * CELLS;
		const i = Math.floor(x);
		// The outer cells exactly (u = 0 is moved to half of the smallest uniform step).
		if (i < EXACT_CELLS || i >= CELLS - EXACT_CELLS) return lognormalQuantile(this.sigma, x > 0 ? x / CELLS : 2 ** -33);
		const q = this.q;
		return q[i] + (x - i) * (q[i + 1] - q[i]);
	}
}

const tables = new Map<number, LognormalJitter>();

/** The jitter of a given σ, shared by every device that uses it (the table is read-only). */
export function lognormalJitter(sigma: number): LognormalJitter {
	let t = tables.get(sigma);
	if (!t) tables.set(sigma, (t = new LognormalJitter(sigma)));
	return t;
}
