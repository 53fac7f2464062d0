/**
 * The bucket of a value among sorted integer upper limits (vscsiStats' rule: the first limit ≥
 * the value; one more bucket above the last), in a few steps instead of a binary search.
 *
 * The analytics filter looks up eight buckets per I/O; a binary search takes five or six
 * dependent steps, whose branches on random values (seek distances, interarrival times) are
 * hard to predict. Instead the value's magnitude class (sign and bit length of ⌈v⌉) picks where
 * to start, and a short forward scan passes the limits of that class: vscsiStats' limits are
 * roughly logarithmic, so a class holds at most three of them.
 */

/** Magnitude classes of integers: 0 … 31 for −(2^31 − 1) … 0, 32 … 62 for 1 … 2^31 − 1. */
const CLASSES = 64;

/** Class of an integer c with |c| < 2^31, ascending with c. */
function classOf(c: number): number {
	return c > 0 ? 63 - Math.clz32(c) : Math.clz32(-c) - 1;
}

/** Smallest integer of class k. */
function classStart(k: number): number {
	return k >= 32 ? 2 ** (k - 32) : -(2 ** (31 - k) - 1);
}

export class BucketIndex {
	private readonly limits: Float64Array;
	private readonly first: number;
	private readonly last: number;
	/** Per class: index of the first limit ≥ the class's smallest integer. */
	private readonly start = new Uint8Array(CLASSES);

	/** `limits`: ascending integers, fewer than 256, each of magnitude below 2^31. */
	constructor(limits: readonly number[]) {
		if (limits.length === 0 || limits.length > 255) throw new RangeError('BucketIndex needs 1 to 255 limits');
		for (let i = 0; i < limits.length; i++) {
			const l = limits[i];
			if (!Number.isInteger(l) || Math.abs(l) >= 2 ** 31 || (i > 0 && l <= limits[i - 1]))
				throw new RangeError('BucketIndex limits must be ascending integers below 2^31 in magnitude');
		}
		this.limits = Float64Array.from(limits);
		this.first = limits[0];
		this.last = limits[limits.length - 1];
		for (let k = 0; k < CLASSES; k++) {
			const lo = classStart(k);
			let i = 0;
			while (i < limits.length && limits[i] < lo) i++;
			this.start[k] = i;
		}
	}

	/** Index of the first limit ≥ v, or limits.length when v is above the last (or NaN). */
	of(v: number): number {
		if (v <= this.first) return 0;
		if (!(v <= this.last)) return this.limits.length;
		// first < v ≤ last, so |⌈v⌉| < 2^31. Limits before the start of ⌈v⌉'s class are below
		// that class's smallest integer, hence below ⌈v⌉ and (being integers) below v.
		const l = this.limits;
		let i = this.start[classOf(Math.ceil(v))];
		while (l[i] < v) i++;
		return i;
	}
}
