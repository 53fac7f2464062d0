/**
 * SHARDS: Spatially Hashed Approximate Reuse Distance Sampling (Waldspurger, Park, Garthwaite and
 * Ahmad, "Efficient MRC Construction with SHARDS", FAST 2015).
 *
 * - A reference to block L is sampled iff hash(L) mod P < T; the sampling rate is R = T/P. Since
 *   the decision depends on the block only, a sampled block has all its references sampled, and
 *   reuse distances among sampled references are those of a uniform spatial sample of the blocks.
 * - The reuse distance of a sampled reference, computed among sampled references only, is scaled
 *   by 1/R to estimate the full trace's distance.
 * - Fixed-rate SHARDS_adj (default): the histogram is normalised by the expected number of samples
 *   N·R (N = all references) and the difference N·R − Ns is added to the first bucket, which removes
 *   most of the error from hot blocks being over- or under-represented in the sample (paper §4.3).
 * - Fixed-size SHARDS (smax > 0): at most smax distinct blocks are tracked; when one more would
 *   join, the blocks with the largest hash leave the sample, T becomes that hash, R = T/P drops,
 *   and the counts recorded so far are rescaled by R_new/R_old (paper §5.2).
 *
 * P = 2^24 as in the paper; the hash is MurmurHash3's 32-bit finaliser applied to both halves of
 * the 4 KiB block number (block numbers exceed 32 bits on large disks).
 */
import { DistanceHistogram, ReuseTracker } from './reuse';

export const SHARDS_P = 1 << 24;
const P_MASK = SHARDS_P - 1;

/** MurmurHash3 fmix32. */
export function fmix32(h: number): number {
	h ^= h >>> 16;
	h = Math.imul(h, 0x85ebca6b);
	h ^= h >>> 13;
	h = Math.imul(h, 0xc2b2ae35);
	h ^= h >>> 16;
	return h >>> 0;
}

/** A well-mixed 32-bit hash of a block number (an integer below 2^53). */
export function blockHash(block: number, salt = 0): number {
	const hi = Math.floor(block / 4294967296) >>> 0;
	return fmix32((block >>> 0) ^ highSeed(hi, salt));
}

/** What blockHash mixes into the low 32 bits: the high 32 bits and the salt, hashed. */
function highSeed(hi: number, salt: number): number {
	return fmix32(hi ^ Math.imul(salt, 0x85ebca6b) ^ 0x9e3779b9);
}

export class Shards {
	/** Threshold: sample iff hash mod P < T. */
	threshold: number;
	/** References seen (sampled or not). */
	refs = 0;
	/** Sampled references (fixed-rate: counted; fixed-size: weight after rescaling). */
	sampledRefs = 0;
	readonly tracker = new ReuseTracker(1 << 10);
	/** Distances binned at the initial rate's resolution (1/R0 blocks per bin). */
	readonly hist: DistanceHistogram;
	/** Fixed-size mode: max-heap of (hash, block) over the tracked blocks. */
	private readonly heapHash: number[] = [];
	private readonly heapBlock: number[] = [];
	/** highSeed of blocks below 2^32 (all of them on disks up to 16 TiB), computed once. */
	private readonly lowBlocksSeed: number;

	/**
	 * @param rate initial sampling rate R in (0, 1]
	 * @param smax fixed-size variant: maximum tracked blocks (0 = fixed-rate)
	 * @param salt varies the hash, hence which blocks are in the sample
	 * @param binBlocks histogram resolution in blocks (default and minimum 1/R: one bin per
	 *   sampled distance); coarser bins bound the memory of fixed-size SHARDS on large disks
	 */
	constructor(
		rate: number,
		readonly smax = 0,
		readonly salt = 0,
		binBlocks = 0
	) {
		this.threshold = Math.max(1, Math.min(SHARDS_P, Math.round(rate * SHARDS_P)));
		this.lowBlocksSeed = highSeed(0, salt);
		this.hist = new DistanceHistogram(Math.max(SHARDS_P / this.threshold, binBlocks));
	}

	/** Current sampling rate R = T/P. */
	get rate(): number {
		return this.threshold / SHARDS_P;
	}

	/** Distinct blocks in the sample. */
	get sampledBlocks(): number {
		return this.tracker.size;
	}

	/** One reference to a block. Returns true when it was sampled. */
	access(block: number): boolean {
		this.refs++;
		const h = (block < 4294967296 ? fmix32(block ^ this.lowBlocksSeed) : blockHash(block, this.salt)) & P_MASK;
		if (h >= this.threshold) return false;
		const fresh = this.smax > 0 && !this.tracker.has(block);
		if (fresh) {
			if (this.tracker.size >= this.smax) {
				// The sample is full: the largest hash leaves (maybe this block's) and T drops to it.
				const oldRate = this.rate;
				if (this.heapHash.length === 0 || h >= this.heapHash[0]) this.threshold = h;
				else {
					const top = this.heapHash[0];
					while (this.heapHash.length > 0 && this.heapHash[0] === top) {
						this.tracker.remove(this.heapBlock[0]);
						this.pop();
					}
					this.threshold = top;
				}
				const f = this.rate / oldRate;
				this.hist.scale(f);
				this.sampledRefs *= f;
				if (h >= this.threshold) return false;
			}
			this.push(h, block);
		}
		const d = this.tracker.access(block);
		this.sampledRefs++;
		this.hist.add(d < 0 ? -1 : d / this.rate, 1);
		return true;
	}

	/**
	 * Miss ratios at cache sizes (blocks). Fixed-rate: SHARDS_adj. Fixed-size: normalised by the
	 * (rescaled) sampled weight.
	 */
	missRatios(sizes: ArrayLike<number>): Float64Array {
		const expected = this.refs * this.rate;
		if (!(expected > 0)) return new Float64Array(sizes.length).fill(1);
		return this.hist.missRatios(sizes, expected - this.hist.total, expected);
	}

	missRatio(size: number): number {
		return this.missRatios([size])[0];
	}

	/** Estimated distinct blocks of the whole trace (sampled distinct / R). */
	get estimatedBlocks(): number {
		return this.tracker.size / this.rate;
	}

	// ---- fixed-size: a max-heap of the tracked blocks by hash ----

	private push(h: number, b: number): void {
		const H = this.heapHash;
		const B = this.heapBlock;
		let i = H.length;
		H.push(h);
		B.push(b);
		while (i > 0) {
			const p = (i - 1) >> 1;
			if (H[p] >= h) break;
			H[i] = H[p];
			B[i] = B[p];
			i = p;
		}
		H[i] = h;
		B[i] = b;
	}

	private pop(): void {
		const H = this.heapHash;
		const B = this.heapBlock;
		const h = H.pop()!;
		const b = B.pop()!;
		const n = H.length;
		if (n === 0) return;
		let i = 0;
		for (;;) {
			let c = 2 * i + 1;
			if (c >= n) break;
			if (c + 1 < n && H[c + 1] > H[c]) c++;
			if (H[c] <= h) break;
			H[i] = H[c];
			B[i] = B[c];
			i = c;
		}
		H[i] = h;
		B[i] = b;
	}

	/** Rebuilds the fixed-size heap from the tracked blocks (after a restore). */
	rebuildHeap(): void {
		this.heapHash.length = 0;
		this.heapBlock.length = 0;
		if (this.smax <= 0) return;
		for (const b of this.tracker.lruOrder()) this.push(blockHash(b, this.salt) & P_MASK, b);
	}
}
