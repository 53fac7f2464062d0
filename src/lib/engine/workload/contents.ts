/**
 * Content ids for written 4 KiB blocks, one source per disk (shared by all its streams, so ids are
 * unique per disk). A fresh id comes from a counter starting at 1; 0 means "never written" and
 * 0xffffffff is verify.ts's UNKNOWN_CONTENT, so neither is ever handed out.
 *
 * With dedupe percentage p (fio's dedupe_percentage, applied per 4 KiB block), each block reuses,
 * with probability p/100, the id of an earlier block: one chosen uniformly among the last
 * `poolSize` fresh ids. Since fresh ids are consecutive, that pool is the range
 * [fresh − poolSize + 1, fresh]: no table is kept. The very first block is always fresh.
 */
import type { Prng } from '../clock';

/** Default size of the pool of earlier ids a duplicate block picks from. */
export const DEDUPE_POOL = 65536;
/** Largest id handed out (0xffffffff is reserved for "unknown content"). */
export const MAX_CONTENT_ID = 0xfffffffe;

export class ContentSource {
	private readonly prng: Prng;
	private readonly poolSize: number;
	private last = 0;
	private _blocks = 0;
	private _fresh = 0;

	constructor(prng: Prng, poolSize = DEDUPE_POOL) {
		if (!Number.isInteger(poolSize) || poolSize < 1) {
			throw new RangeError(`ContentSource: poolSize must be an integer ≥ 1, got ${poolSize}`);
		}
		this.prng = prng;
		this.poolSize = poolSize;
	}

	/** Blocks handed out so far (fresh + duplicate). */
	get blocks(): number {
		return this._blocks;
	}

	/** Fresh (never seen before) ids handed out so far: the number of unique contents. */
	get unique(): number {
		return this._fresh;
	}

	/** The content id for one written block, given the writing stream's dedupe percentage. */
	next(dedupePercentage: number): number {
		this._blocks++;
		const last = this.last;
		if (last > 0 && dedupePercentage > 0 && this.prng.next() * 100 < dedupePercentage) {
			const span = last < this.poolSize ? last : this.poolSize;
			return last - this.prng.int(span);
		}
		this._fresh++;
		// After 2^32 − 2 fresh ids the counter wraps (ids then repeat; far beyond any playground run).
		const id = last >= MAX_CONTENT_ID ? 1 : last + 1;
		this.last = id;
		return id;
	}

	/** Fills `out` with one id per block. */
	fill(out: Uint32Array, dedupePercentage: number): Uint32Array {
		for (let i = 0; i < out.length; i++) out[i] = this.next(dedupePercentage);
		return out;
	}
}
