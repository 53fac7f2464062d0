/**
 * The engine's seeded PRNG, in a module of its own that imports only detmath: the custom filter
 * sandbox ships this module, bundled, to its Worker (sandbox/host.ts), so custom filters draw the
 * same numbers from the same seed as built-in ones, from this one implementation.
 */
import { ln } from './detmath';

/**
 * Seeded PRNG: xoshiro128** (Blackman & Vigna), seeded through splitmix32. 32-bit integer math
 * only, so Node and every browser produce the same sequence.
 */
export class Prng {
	private a: number;
	private b: number;
	private c: number;
	private d: number;
	/** The second normal of the last polar-method pair, not yet handed out. */
	private spare = 0;
	private hasSpare = false;

	constructor(seed: number) {
		let s = seed >>> 0;
		const next = () => {
			s = (s + 0x9e3779b9) | 0;
			let z = s;
			z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
			z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
			return (z ^ (z >>> 16)) >>> 0;
		};
		this.a = next();
		this.b = next();
		this.c = next();
		this.d = next();
	}

	/** Uniform 32-bit unsigned integer. */
	u32(): number {
		const r = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
		const t = this.b << 9;
		this.c ^= this.a;
		this.d ^= this.b;
		this.b ^= this.c;
		this.a ^= this.d;
		this.c ^= t;
		this.d = rotl(this.d, 11);
		return r;
	}

	/** Uniform in [0, 1) with 32 bits of resolution. */
	next(): number {
		return this.u32() / 4294967296;
	}

	/** Uniform integer in [0, n). */
	int(n: number): number {
		if (n <= 4294967296) return Math.floor(this.next() * n);
		// Large ranges (big disks in sectors): combine two draws for 53 bits.
		return Math.floor((this.u32() * 2097152 + (this.u32() >>> 11)) / 9007199254740992 * n);
	}

	/** Exponential with the given mean. */
	exp(mean: number): number {
		return -ln(1 - this.next()) * mean;
	}

	/**
	 * Standard normal by Marsaglia's polar method: each accepted pair of uniforms gives two
	 * independent normals; the second is kept for the next call. No trigonometry (cheaper than
	 * Box–Muller, and the SSD model draws one per request); ln and sqrt give the same bits in
	 * every engine (detmath.ts).
	 */
	normal(): number {
		if (this.hasSpare) {
			this.hasSpare = false;
			return this.spare;
		}
		let u: number;
		let v: number;
		let s: number;
		do {
			u = 2 * this.next() - 1;
			v = 2 * this.next() - 1;
			s = u * u + v * v;
		} while (s >= 1 || s === 0);
		const f = Math.sqrt((-2 * ln(s)) / s);
		this.spare = v * f;
		this.hasSpare = true;
		return u * f;
	}

	/** A child generator with an independent stream, derived deterministically. */
	fork(salt: number): Prng {
		return new Prng((this.u32() ^ Math.imul(salt + 1, 0x9e3779b1)) >>> 0);
	}
}

function rotl(x: number, k: number): number {
	return (x << k) | (x >>> (32 - k));
}
