/**
 * LRU stack (reuse) distances in O(log n) per reference, the way Mattson's stack algorithm is
 * usually made fast: every tracked block has one marker at the logical time of its last access in
 * a Fenwick tree; the number of distinct other blocks touched since a block's previous access is
 * the number of markers after that time. Timestamps are compacted (renumbered in order) when the
 * tree is full, so memory stays proportional to the number of distinct blocks, not of references.
 */
import { IntMap } from '../../engine/intmap';

export class ReuseTracker {
	/** block -> logical time (1-based) of its last access. */
	private readonly last = new IntMap<number>();
	/** logical time -> block accessed then (for compaction and LRU order). */
	private blockAt: Float64Array;
	/** Fenwick tree over logical times: 1 where a block's last access is. */
	private tree: Int32Array;
	private cap: number;
	/** Next logical time. */
	private t = 1;

	constructor(initialCapacity = 1 << 12) {
		this.cap = Math.max(16, initialCapacity);
		this.tree = new Int32Array(this.cap + 1);
		this.blockAt = new Float64Array(this.cap + 1);
	}

	/** Distinct blocks tracked. */
	get size(): number {
		return this.last.size;
	}

	has(block: number): boolean {
		return this.last.has(block);
	}

	/**
	 * Records an access to `block`; returns the number of distinct other blocks accessed since its
	 * previous access (its LRU stack distance minus one: a cache of c blocks hits iff result < c),
	 * or -1 for a first access.
	 */
	access(block: number): number {
		if (this.t > this.cap) this.compact();
		const prev = this.last.get(block);
		let d = -1;
		if (prev !== undefined) {
			// Markers are all at times < t: those after prev are the distinct blocks since.
			d = this.last.size - this.prefix(prev);
			this.update(prev, -1);
		}
		const t = this.t++;
		this.update(t, 1);
		this.blockAt[t] = block;
		this.last.set(block, t);
		return d;
	}

	/** Stops tracking `block` (fixed-size SHARDS drops blocks that leave the sample). */
	remove(block: number): void {
		const prev = this.last.get(block);
		if (prev === undefined) return;
		this.update(prev, -1);
		this.last.delete(block);
	}

	/** Tracked blocks from least to most recently used. */
	lruOrder(): Float64Array {
		const out = new Float64Array(this.last.size);
		let k = 0;
		for (let ts = 1; ts < this.t; ts++) {
			const b = this.blockAt[ts];
			if (this.last.get(b) === ts) out[k++] = b;
		}
		return out;
	}

	/** Renumbers live markers 1..n in time order and resizes the tree to twice that (at least). */
	private compact(): void {
		const order = this.lruOrder();
		const n = order.length;
		this.cap = Math.max(this.cap, 2 * n, 16);
		this.tree = new Int32Array(this.cap + 1);
		this.blockAt = new Float64Array(this.cap + 1);
		for (let i = 0; i < n; i++) {
			const ts = i + 1;
			this.blockAt[ts] = order[i];
			this.last.set(order[i], ts);
			this.tree[ts] = 1;
		}
		// Linear-time Fenwick build.
		const tree = this.tree;
		for (let i = 1; i <= this.cap; i++) {
			const j = i + (i & -i);
			if (j <= this.cap) tree[j] += tree[i];
		}
		this.t = n + 1;
	}

	private update(i: number, delta: number): void {
		const tree = this.tree;
		const cap = this.cap;
		for (; i <= cap; i += i & -i) tree[i] += delta;
	}

	private prefix(i: number): number {
		const tree = this.tree;
		let s = 0;
		for (; i > 0; i -= i & -i) s += tree[i];
		return s;
	}
}

/**
 * A histogram of (scaled) reuse distances in blocks with bins of `binBlocks` blocks, plus the
 * weight of cold (first) references. missRatio(c) = 1 − weight(distance < c) / total. Rescaling
 * every weight (fixed-size SHARDS lowering its rate) is O(1): the stored values are multiplied by
 * a common factor on the way out.
 */
export class DistanceHistogram {
	/** Stored weights; the real weight of bin k is bins[k] · factor. */
	bins: Float64Array;
	/** Highest bin used + 1. */
	used = 0;
	private coldStored = 0;
	private totalStored = 0;
	private factor = 1;

	constructor(readonly binBlocks: number) {
		this.bins = new Float64Array(1024);
	}

	/** Weight of cold (first) references. */
	get cold(): number {
		return this.coldStored * this.factor;
	}

	/** Weight of all references. */
	get total(): number {
		return this.totalStored * this.factor;
	}

	/** Adds `weight` at distance `distance` (blocks), or a cold reference when distance < 0. */
	add(distance: number, weight: number): void {
		const w = weight / this.factor;
		this.totalStored += w;
		if (distance < 0) {
			this.coldStored += w;
			return;
		}
		const k = Math.floor(distance / this.binBlocks + 1e-9);
		if (k >= this.bins.length) {
			let n = this.bins.length * 2;
			while (n <= k) n *= 2;
			const grown = new Float64Array(n);
			grown.set(this.bins);
			this.bins = grown;
		}
		this.bins[k] += w;
		if (k >= this.used) this.used = k + 1;
	}

	/** Multiplies every weight by `f` (fixed-size SHARDS when its rate drops). */
	scale(f: number): void {
		this.factor *= f;
		// Keep stored values in a sane range (factors compound as the rate keeps dropping).
		if (this.factor < 1e-150) this.normalise();
	}

	/** Real weights per bin (bins 0 … used−1). */
	weights(): Float64Array {
		const out = this.bins.slice(0, this.used);
		if (this.factor !== 1) for (let k = 0; k < out.length; k++) out[k] *= this.factor;
		return out;
	}

	/** Replaces the contents with real weights per bin (a restore). */
	load(weights: Float64Array, cold: number, total: number): void {
		this.bins = new Float64Array(Math.max(1024, weights.length));
		this.bins.set(weights);
		this.used = weights.length;
		this.coldStored = cold;
		this.totalStored = total;
		this.factor = 1;
	}

	private normalise(): void {
		this.load(this.weights(), this.cold, this.total);
	}

	/**
	 * Miss ratios at the given cache sizes (blocks, ascending or not). `extraHits` is added to bin 0
	 * and `total` replaces the recorded total (SHARDS_adj); hits are the bins k with k·binBlocks < c.
	 */
	missRatios(sizes: ArrayLike<number>, extraHits = 0, total = this.total): Float64Array {
		const out = new Float64Array(sizes.length);
		if (!(total > 0)) return out.fill(1);
		// Cumulative weights once, then one lookup per size.
		const f = this.factor;
		const cum = new Float64Array(this.used + 1);
		for (let k = 0; k < this.used; k++) cum[k + 1] = cum[k] + this.bins[k] * f;
		for (let i = 0; i < sizes.length; i++) {
			const c = sizes[i];
			if (!(c > 0)) {
				out[i] = 1;
				continue;
			}
			// Bins k < c / binBlocks count as hits.
			const n = Math.min(this.used, Math.ceil(c / this.binBlocks - 1e-9));
			const hits = cum[n] + extraHits;
			const m = 1 - hits / total;
			out[i] = m < 0 ? 0 : m > 1 ? 1 : m;
		}
		return out;
	}
}
