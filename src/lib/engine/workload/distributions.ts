/**
 * Offset pickers for random workloads: each picks a unit index in [0, units), where a unit is one
 * blockalign-sized slot of the stream's region. Like fio's random_distribution:
 *
 * - `random`: uniform.
 * - `zipf:θ`: P(rank k) ∝ 1/(k+1)^θ, sampled by rejection-inversion (Hörmann & Derflinger 1996),
 *   O(1) expected time and memory for any number of units (fio precomputes ζ(N) in O(N)).
 *   θ = 0 is uniform and θ < 0 puts the weight on the high ranks, as in fio (see createOffsetPicker).
 * - `pareto:h`: fio's formula, n = (N−1)·u^p with p = ln h / ln(1−h): a share max(h, 1−h) of the
 *   accesses lands on the hottest min(h, 1−h) of the units (h = 0.2 or 0.8 ⇒ 80/20, 0.9 ⇒ 90/10).
 * - `normal[:dev%]`: fio's gauss.c, the mean of 12 uniforms (σ ≈ 1/12 of the region) plus a
 *   uniform deviation of dev % of the region (see NormalPicker).
 * - `zoned:A/S:…`: a zone by its access share, then a uniform unit in it (see ZonedPicker).
 *
 * Zipf, pareto and normal produce a rank (zipf, pareto: 0 = hottest); as fio hashes it to an offset,
 * the rank goes through a deterministic bijection (`RankScrambler`) so the hot units are scattered
 * over the region instead of packed at its start. Rank 0 is still the most frequent unit.
 *
 * Pickers take the PRNG per call and allocate nothing on the hot path; only the random-map picker
 * keeps state (its place in the current pass).
 */
import type { Prng } from '../clock';
import type { RandomDistribution } from './types';
import { exp, expm1, ln, log1p, pow } from '../detmath';

export interface OffsetPicker {
	/** Number of units the picker chooses from. */
	readonly units: number;
	/** A unit index in [0, units). */
	pick(prng: Prng): number;
}

/** Largest unit count the pickers accept (the scrambler's exact-integer arithmetic needs it). */
export const MAX_UNITS = 2 ** 50;

/**
 * Builds the picker for `dist` over `units` units (units ≥ 1). With `randomMap`, a uniform
 * `random` picker visits each unit once per pass (fio's default random map); the other
 * distributions draw with replacement either way.
 */
export function createOffsetPicker(dist: RandomDistribution, units: number, randomMap = false): OffsetPicker {
	if (!Number.isInteger(units) || units < 1 || units > MAX_UNITS) {
		throw new RangeError(`offset picker: units must be an integer in [1, 2^50], got ${units}`);
	}
	switch (dist.kind) {
		case 'random':
			return randomMap ? new RandomMapPicker(units) : new UniformPicker(units);
		case 'zipf':
			// fio refuses only θ = 1, so zipf:0 and negative θ are valid job files. fio's zipf
			// weighs rank k (1..N) by 1/k^θ (zipf.c: ζ(N) = Σ 1/k^θ, then Gray et al.'s
			// approximate inverse with α = 1/(1−θ), η = (1 − (2/N)^(1−θ)) / (1 − ζ(2)/ζ(N))).
			// With θ = 0 every weight is 1: ζ(N) = N, α = 1, η = 1, and fio draws 1 + ⌊N·u⌋, a
			// uniform rank (measured with fio 3.33: zipf:0 spreads I/O over the blocks like
			// random). So θ = 0 is the uniform picker here, not a special case of the sampler.
			if (dist.theta === 0) return new UniformPicker(units);
			// θ < 0: the weights k^|θ| grow with the rank (fio measured: zipf:-1 over 16 blocks
			// gives them I/O roughly in proportion 1..16, zipf:-50 nearly all on one block).
			if (dist.theta < 0) return new RisingZipfPicker(units, -dist.theta);
			return new ZipfPicker(units, dist.theta);
		case 'pareto':
			return new ParetoPicker(units, dist.h);
		case 'normal':
			return new NormalPicker(units, dist.sigmaPct);
		case 'zoned':
			return new ZonedPicker(units, dist.zones);
		default: {
			const never: never = dist;
			throw new Error(`unknown random distribution ${JSON.stringify(never)}`);
		}
	}
}

/**
 * fio's zoned distribution: a zone by its access percentage, then a uniform unit inside it. Zone
 * k covers units [⌊N·s_k/100⌋, ⌊N·s_{k+1}/100⌋) of the region, s_k the sizes before it (zones lie
 * in order from the region's start, unscrambled, as in fio); a zone that rounds to no unit gets
 * the one unit at its start. Sizes adding up to less than 100 leave a tail never picked.
 */
export class ZonedPicker implements OffsetPicker {
	private readonly cum: Float64Array;
	private readonly first: Float64Array;
	private readonly count: Float64Array;

	constructor(
		readonly units: number,
		zones: readonly { accessPct: number; sizePct: number }[]
	) {
		const live = zones.filter((z) => z.accessPct > 0);
		this.cum = new Float64Array(live.length);
		this.first = new Float64Array(live.length);
		this.count = new Float64Array(live.length);
		let acc = 0;
		let k = 0;
		let before = 0;
		for (const z of zones) {
			const from = Math.min(units - 1, Math.floor((units * before) / 100));
			before += z.sizePct;
			const to = Math.min(units, Math.floor((units * before) / 100));
			if (z.accessPct <= 0) continue;
			this.cum[k] = acc += z.accessPct;
			this.first[k] = from;
			this.count[k] = Math.max(1, to - from);
			k++;
		}
	}

	pick(prng: Prng): number {
		const cum = this.cum;
		const r = prng.next() * cum[cum.length - 1];
		let i = 0;
		while (i < cum.length - 1 && r >= cum[i]) i++;
		return this.first[i] + prng.int(this.count[i]);
	}
}

export class UniformPicker implements OffsetPicker {
	constructor(readonly units: number) {}
	pick(prng: Prng): number {
		return prng.int(this.units);
	}
}

/** k with 2^(k−1) < n ≤ 2^k, for n an integer in [1, 2^50] (`what` names n in the error). */
function enclosingBits(n: number, what: string): number {
	if (!Number.isInteger(n) || n < 1 || n > MAX_UNITS) throw new RangeError(`${what} must be an integer in [1, 2^50], got ${n}`);
	let bits = 0;
	while (2 ** bits < n) bits++;
	return bits;
}

/**
 * fio's random map: every unit once per pass, in a random order; after a full pass a new pass
 * starts in a new order. fio keeps a bitmap (axmap) of the units done; a bitmap here would take
 * units/8 bytes (16 GiB for 64 TiB in 512-byte units), so the pass is instead a seeded
 * permutation, walked by index: a 4-round Feistel network on the enclosing even power of two
 * (a bijection whatever the round function), cycle-walked back into [0, units). O(1) memory and
 * at most ~4 steps per pick on average. Each pass draws its round keys from the PRNG.
 *
 * Differences from fio: fio draws uniformly and, on a unit already done, takes the next free
 * one near it, so its order is not quite a uniform permutation; and fio also marks the units a
 * larger I/O covers (bssplit sizes above blockalign), where here only the first unit counts.
 */
export class RandomMapPicker implements OffsetPicker {
	readonly units: number;
	/** Picks done in the current pass (a new pass starts at 0). */
	private done = 0;
	private readonly halfBits: number;
	private readonly halfSize: number;
	private readonly halfMask: number;
	private readonly keys = new Uint32Array(4);

	constructor(units: number) {
		const bits = enclosingBits(units, 'random map: units');
		this.units = units;
		this.halfBits = Math.max(1, Math.ceil(bits / 2)); // ≤ 25: halves fit in 32-bit integers
		this.halfSize = 2 ** this.halfBits;
		this.halfMask = this.halfSize - 1;
	}

	pick(prng: Prng): number {
		if (this.done === this.units) this.done = 0;
		if (this.done === 0) for (let k = 0; k < 4; k++) this.keys[k] = prng.u32();
		return this.permute(this.done++);
	}

	/** The unit at position `i` of the current pass (a bijection of [0, units)). */
	permute(i: number): number {
		let x = i;
		do x = this.feistel(x);
		while (x >= this.units);
		return x;
	}

	private feistel(x: number): number {
		let l = Math.floor(x / this.halfSize);
		let r = x - l * this.halfSize;
		for (let k = 0; k < 4; k++) {
			let z = Math.imul(r ^ this.keys[k], 0x9e3779b1);
			z = Math.imul(z ^ (z >>> 15), 0x85ebca6b);
			z ^= z >>> 13;
			const next = (l ^ z) & this.halfMask;
			l = r;
			r = next;
		}
		return l * this.halfSize + r;
	}
}

/**
 * A bijection of [0, n): x ↦ ((x ⊕ (x >> s))·A + C) mod 2^k on the enclosing power of two, with
 * cycle-walking back into [0, n). Each step is a permutation of [0, 2^k), so walking the cycle
 * from x < n always returns into [0, n); since n > 2^(k−1), at most ~2 steps on average.
 */
export class RankScrambler {
	readonly n: number;
	private readonly bits: number;
	private readonly mask: number;
	private readonly shift: number;
	private readonly add: number;

	constructor(n: number) {
		const bits = enclosingBits(n, 'rank scrambler: n');
		this.n = n;
		this.bits = bits;
		this.mask = bits >= 32 ? 0xffffffff : (1 << bits) - 1;
		this.shift = Math.max(1, bits >> 1);
		// An additive constant so that rank 0 does not land on unit 0.
		this.add = Math.floor(0.6180339887498949 * 2 ** bits);
	}

	/** The unit that popularity rank `rank` (in [0, n)) maps to. */
	map(rank: number): number {
		const n = this.n;
		if (n <= 2) return rank;
		let x = rank;
		if (this.bits <= 32) {
			const mask = this.mask;
			const s = this.shift;
			const c = this.add;
			do {
				x = ((Math.imul((x ^ (x >>> s)) >>> 0, MULT) + c) & mask) >>> 0;
			} while (x >= n);
			return x;
		}
		do x = this.stepWide(x);
		while (x >= n);
		return x;
	}

	/** The same step for 2^k > 2^32, in exact float arithmetic (all intermediates < 2^53). */
	private stepWide(x: number): number {
		const k = this.bits;
		const m = 2 ** k;
		const hiPart = Math.floor(x / 2 ** this.shift);
		// x ⊕ (x >> s) on numbers up to 2^50: xor the two 25-bit halves separately.
		x = xorWide(x, hiPart);
		// (x·A) mod 2^k with x = xh·2^26 + xl: xh·A < 2^45, xl·A < 2^43 (A < 2^17).
		const xh = Math.floor(x / 2 ** 26);
		const xl = x - xh * 2 ** 26;
		const prod = ((xh * MULT_WIDE) % 2 ** (k - 26)) * 2 ** 26 + xl * MULT_WIDE;
		return (prod + this.add) % m;
	}
}

const MULT = 0x2c9277b5; // odd
const MULT_WIDE = 0x1b873; // odd, < 2^17

function xorWide(a: number, b: number): number {
	const lo = ((a % 2 ** 25) ^ (b % 2 ** 25)) >>> 0;
	const hi = (Math.floor(a / 2 ** 25) ^ Math.floor(b / 2 ** 25)) >>> 0;
	return hi * 2 ** 25 + lo;
}

/**
 * Zipf over ranks 1..N with exponent θ > 0 by rejection-inversion (Hörmann & Derflinger,
 * "Rejection-inversion to generate variates from monotone discrete distributions", 1996), as in
 * Apache Commons RNG's RejectionInversionZipfSampler. Valid for θ = 1 as well.
 */
export class ZipfPicker implements OffsetPicker {
	readonly units: number;
	readonly scrambler: RankScrambler;
	private readonly theta: number;
	private readonly hIntegralX1: number;
	private readonly hIntegralN: number;
	private readonly s: number;

	constructor(units: number, theta: number) {
		if (!(theta > 0) || !Number.isFinite(theta)) {
			throw new RangeError(`zipf: theta must be a finite number > 0, got ${theta}`);
		}
		this.units = units;
		this.theta = theta;
		this.scrambler = new RankScrambler(units);
		this.hIntegralX1 = this.hIntegral(1.5) - 1;
		this.hIntegralN = this.hIntegral(units + 0.5);
		this.s = 2 - this.hIntegralInverse(this.hIntegral(2.5) - this.h(2));
	}

	/** A popularity rank in [0, units): 0 is the most frequent. */
	rank(prng: Prng): number {
		const n = this.units;
		const x1 = this.hIntegralX1;
		const xn = this.hIntegralN;
		for (;;) {
			const u = xn + prng.next() * (x1 - xn);
			const x = this.hIntegralInverse(u);
			let k = Math.floor(x + 0.5);
			if (k < 1) k = 1;
			else if (k > n) k = n;
			if (k - x <= this.s || u >= this.hIntegral(k + 0.5) - this.h(k)) return k - 1;
		}
	}

	pick(prng: Prng): number {
		return this.scrambler.map(this.rank(prng));
	}

	/** H(x) = ((x^(1−θ)) − 1)/(1−θ), or ln x for θ = 1, computed stably. */
	private hIntegral(x: number): number {
		const logX = ln(x);
		return helper2((1 - this.theta) * logX) * logX;
	}

	private h(x: number): number {
		return exp(-this.theta * ln(x));
	}

	private hIntegralInverse(x: number): number {
		let t = x * (1 - this.theta);
		if (t < -1) t = -1; // limit for rounding errors
		return exp(helper1(t) * x);
	}
}

/**
 * Zipf with a negative exponent −a (a > 0): P(rank k) ∝ k^a over ranks 1..N, so the last rank is
 * the hottest. Counted from it, j = N − k (returned as the rank, 0 = hottest), P(j) ∝ (1 − j/N)^a.
 * Sampled by rejection from a geometric proposal P'(j) ∝ e^(−a·j/N), truncated to [0, N):
 * (1 − x)^a ≤ e^(−a·x), so a draw is kept with probability (1 − j/N)^a / e^(−a·j/N) ≤ 1
 * (about 3/4 of the draws or more, for any a and N). O(1) memory and expected time.
 */
export class RisingZipfPicker implements OffsetPicker {
	readonly units: number;
	readonly scrambler: RankScrambler;
	private readonly a: number;
	/** Rate of the proposal per rank, a/N. */
	private readonly lambda: number;
	/** 1 − e^(−a): the proposal's mass below N, for inverting its truncated CDF. */
	private readonly mass: number;

	constructor(units: number, a: number) {
		if (!(a > 0) || !Number.isFinite(a)) throw new RangeError(`zipf: a negative theta must be finite, got ${-a}`);
		this.units = units;
		this.a = a;
		this.scrambler = new RankScrambler(units);
		this.lambda = a / units;
		this.mass = -expm1(-a);
	}

	/** A popularity rank in [0, units): 0 is the most frequent. */
	rank(prng: Prng): number {
		const n = this.units;
		for (;;) {
			let j = Math.floor(-log1p(-prng.next() * this.mass) / this.lambda);
			if (j > n - 1) j = n - 1; // rounding
			if (j <= 0) return 0; // the ratio is 1 there
			if (prng.next() < exp(this.a * log1p(-j / n) + this.lambda * j)) return j;
		}
	}

	pick(prng: Prng): number {
		return this.scrambler.map(this.rank(prng));
	}
}

/** log(1+x)/x, accurate near 0. */
function helper1(x: number): number {
	return Math.abs(x) > 1e-8 ? log1p(x) / x : 1 - x * (0.5 - x * (1 / 3 - 0.25 * x));
}

/** (exp(x)−1)/x, accurate near 0. */
function helper2(x: number): number {
	return Math.abs(x) > 1e-8 ? expm1(x) / x : 1 + x * 0.5 * (1 + x * (1 / 3) * (1 + 0.25 * x));
}

/** fio's pareto: n = (N−1)·u^p, p = ln h / ln(1−h), turned into a rank (0 = hottest). */
export class ParetoPicker implements OffsetPicker {
	readonly units: number;
	readonly scrambler: RankScrambler;
	private readonly power: number;
	private readonly hotAtTop: boolean;

	constructor(units: number, h: number) {
		if (!(h > 0 && h < 1)) throw new RangeError(`pareto: h must be in (0, 1), got ${h}`);
		this.units = units;
		this.scrambler = new RankScrambler(units);
		this.power = ln(h) / ln(1 - h);
		// p < 1 piles the mass near N−1, p > 1 near 0: count ranks from the heavy end.
		this.hotAtTop = this.power < 1;
	}

	/** A popularity rank in [0, units): 0 is the most frequent. */
	rank(prng: Prng): number {
		const n = this.units;
		const v = pow(prng.next(), this.power); // [0, 1)
		let r = this.hotAtTop ? Math.floor((1 - v) * n) : Math.floor(v * n);
		if (r >= n) r = n - 1;
		else if (r < 0) r = 0;
		return r;
	}

	pick(prng: Prng): number {
		return this.scrambler.map(this.rank(prng));
	}
}

/**
 * fio's gauss.c: the mean of 12 uniform draws over [0, N] (rounded up), a bell of σ ≈ N/12 around
 * the centre, widened by a uniform deviation of ±stddev/2 where stddev = ⌈devPct % · N⌉ (at most
 * N/2; 0 for bare `normal`). A deviation that would leave [0, N) is halved until it fits, as fio
 * does. fio then hashes the value to scatter the hot units over the region; like zipf and pareto
 * here, it goes through the RankScrambler instead (a bijection, so the bell's counts are kept
 * exactly, where fio's hash may fold two values onto one unit).
 */
export class NormalPicker implements OffsetPicker {
	readonly units: number;
	readonly scrambler: RankScrambler;
	/** fio's gs->stddev: the width of the uniform deviation, in units. */
	readonly stddev: number;

	constructor(units: number, devPct: number) {
		if (!(devPct >= 0 && devPct < 100)) {
			throw new RangeError(`normal: the deviation must be a percentage in [0, 100), got ${devPct}`);
		}
		this.units = units;
		this.scrambler = new RankScrambler(units);
		this.stddev = devPct === 0 ? 0 : Math.min(Math.ceil((devPct * units) / 100), Math.floor(units / 2));
	}

	/** The unscattered value in [0, units): the bell, centred at units/2. */
	rank(prng: Prng): number {
		const n = this.units;
		let sum = 0;
		for (let i = 0; i < 12; i++) sum += prng.int(n + 1);
		sum = Math.floor((sum + 11) / 12);
		if (this.stddev > 0) {
			let dev = Math.floor(this.stddev * prng.next()) - Math.trunc(this.stddev / 2);
			// fio's unsigned sum also halves a deviation that would go below 0; stopping at 0
			// avoids its endless loop when sum = N and the deviation is already 0.
			while (dev !== 0 && (sum + dev >= n || sum + dev < 0)) dev = Math.trunc(dev / 2);
			sum += dev;
		}
		return sum % n;
	}

	pick(prng: Prng): number {
		return this.scrambler.map(this.rank(prng));
	}
}
