/**
 * The exact LRU miss-ratio curve (Mattson et al., 1970): every reference's stack distance, with no
 * sampling, through the Fenwick-tree tracker (O(log n) per reference, memory ∝ distinct blocks).
 * It is the reference the SHARDS estimate is checked against, and an option of the filter for
 * small disks.
 */
import { DistanceHistogram, ReuseTracker } from './reuse';

export class ExactMrc {
	readonly tracker = new ReuseTracker(1 << 14);
	readonly hist = new DistanceHistogram(1);

	/** References seen. */
	get refs(): number {
		return this.hist.total;
	}

	/** Distinct blocks seen. */
	get distinct(): number {
		return this.tracker.size;
	}

	/** One reference to a block. */
	access(block: number): void {
		this.hist.add(this.tracker.access(block), 1);
	}

	/** Miss ratio of an LRU cache of `sizes[i]` blocks over all references so far. */
	missRatios(sizes: ArrayLike<number>): Float64Array {
		return this.hist.missRatios(sizes);
	}

	missRatio(size: number): number {
		return this.missRatios([size])[0];
	}
}
