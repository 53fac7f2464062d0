/**
 * Run metrics: I/O counts and bytes per operation, exact latency percentiles (every guest
 * latency is kept, so p99.9 is the real p99.9, not a bucket edge), and outstanding I/Os as a
 * time-weighted average.
 */
import { OP_NAMES, type OpCode } from './io';

/**
 * A growable Float64Array of samples. Percentiles are found by selection (quickselect), not by
 * sorting: a run keeps every latency, and sorting millions of them cost a tenth of a
 * timing-only run. Selection reorders the values; their order carries no meaning.
 */
export class Samples {
	private data = new Float64Array(1024);
	length = 0;

	push(v: number): void {
		if (this.length === this.data.length) this.reserve(this.length + 1);
		this.data[this.length++] = v;
	}

	/** Appends every value of `other`. */
	pushAll(other: Samples): void {
		if (other.length === 0) return;
		this.reserve(this.length + other.length);
		this.data.set(other.values(), this.length);
		this.length += other.length;
	}

	/** Every value of `parts`, as one sample. */
	static union(parts: Samples[]): Samples {
		const out = new Samples();
		out.reserve(parts.reduce((n, p) => n + p.length, 0));
		for (const p of parts) out.pushAll(p);
		return out;
	}

	private reserve(n: number): void {
		if (n <= this.data.length) return;
		let cap = this.data.length * 2;
		while (cap < n) cap *= 2;
		const d = new Float64Array(cap);
		d.set(this.values());
		this.data = d;
	}

	/** Percentile by the nearest-rank method (p in 0..100). */
	percentile(p: number): number {
		return this.length === 0 ? 0 : this.percentiles([p])[0];
	}

	/**
	 * Several percentiles at once (nearest rank, p in 0..100), in the order asked. Ranks are
	 * selected in ascending order, each in the part above the previous one, so p50, p90, p99
	 * and p99.9 together cost about two passes over the values.
	 */
	percentiles(ps: readonly number[]): number[] {
		const n = this.length;
		if (n === 0) return ps.map(() => 0);
		const ranks = ps.map((p) => nearestRankIndex(p, n));
		const order = ranks.map((_, i) => i).sort((a, b) => ranks[a] - ranks[b]);
		const out = new Array<number>(ps.length);
		let lo = 0;
		for (const i of order) {
			const k = ranks[i];
			if (k >= lo) {
				select(this.data, lo, n - 1, k);
				lo = k + 1;
			}
			out[i] = this.data[k];
		}
		return out;
	}

	mean(): number {
		let s = 0;
		for (let i = 0; i < this.length; i++) s += this.data[i];
		return this.length ? s / this.length : 0;
	}

	max(): number {
		let m = -Infinity;
		for (let i = 0; i < this.length; i++) if (this.data[i] > m) m = this.data[i];
		return this.length ? m : 0;
	}

	/** The raw values, in no particular order (a view; do not keep it across pushes). */
	values(): Float64Array {
		return this.data.subarray(0, this.length);
	}
}

/** The 0-based index of the nearest rank ⌈p/100·n⌉ among n sorted values. */
function nearestRankIndex(p: number, n: number): number {
	// The product carries floating-point noise (0.999 · 1000 is 999.0000000000001), which must
	// not push an exact rank up by one: shave it off first.
	const rank = Math.ceil((p / 100) * n * (1 - 1e-12));
	return Math.min(n - 1, Math.max(0, rank - 1));
}

/**
 * Reorders a[lo..hi] so that a[k] holds the value it would hold if a[lo..hi] were sorted, with
 * nothing greater before it and nothing smaller after it (Hoare's quickselect, median-of-three
 * pivots: deterministic, and even on runs of equal values). A range that does not shrink fast
 * enough is sorted instead, which bounds the worst case at O(n log n).
 */
function select(a: Float64Array, lo: number, hi: number, k: number): void {
	let budget = 2 * (32 - Math.clz32(hi - lo + 1)) + 8;
	while (hi > lo) {
		if (hi - lo < 16 || budget-- === 0) {
			a.subarray(lo, hi + 1).sort();
			return;
		}
		const mid = lo + ((hi - lo) >> 1);
		// Median of a[lo], a[mid], a[hi] as the pivot.
		const x = a[lo];
		const y = a[mid];
		const z = a[hi];
		const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
		let i = lo;
		let j = hi;
		while (i <= j) {
			while (a[i] < pivot) i++;
			while (a[j] > pivot) j--;
			if (i <= j) {
				const t = a[i];
				a[i] = a[j];
				a[j] = t;
				i++;
				j--;
			}
		}
		// Now a[lo..j] <= pivot <= a[i..hi], and a[j+1..i-1] (if any) equal the pivot.
		if (k <= j) hi = j;
		else if (k >= i) lo = i;
		else return;
	}
}

export interface LatencySummary {
	p50: number;
	p90: number;
	p99: number;
	p999: number;
	mean: number;
	max: number;
}

export function summarize(s: Samples): LatencySummary {
	const [p50, p90, p99, p999] = s.percentiles([50, 90, 99, 99.9]);
	return { p50, p90, p99, p999, mean: s.mean(), max: s.max() };
}

export interface OpMetrics {
	ios: number;
	bytes: number;
	errors: number;
	latency: Samples;
}

/** Guest-side metrics of one disk (or of a whole run, when merged). */
export class GuestMetrics {
	readonly ops: OpMetrics[] = OP_NAMES.map(() => ({ ios: 0, bytes: 0, errors: 0, latency: new Samples() }));
	/** I/Os completed (of every operation). */
	ios = 0;
	firstIssue = Infinity;
	lastDone = 0;
	outstanding = 0;
	maxOutstanding = 0;
	private outstandingArea = 0;
	private lastChange = 0;

	issued(now: number): void {
		if (now < this.firstIssue) this.firstIssue = now;
		this.account(now);
		this.outstanding++;
		if (this.outstanding > this.maxOutstanding) this.maxOutstanding = this.outstanding;
	}

	done(op: OpCode, bytes: number, latencyUs: number, failed: boolean, now: number): void {
		this.account(now);
		this.outstanding--;
		const m = this.ops[op];
		m.ios++;
		m.bytes += bytes;
		if (failed) m.errors++;
		m.latency.push(latencyUs);
		this.ios++;
		if (now > this.lastDone) this.lastDone = now;
	}

	/** The latencies of every operation, as one sample (built on demand: one per run's end). */
	allLatencies(): Samples {
		return Samples.union(this.ops.map((o) => o.latency));
	}

	/** Virtual seconds from first issue to last completion. */
	get elapsedS(): number {
		return this.ios === 0 ? 0 : (this.lastDone - this.firstIssue) / 1e6;
	}

	get iops(): number {
		const s = this.elapsedS;
		return s > 0 ? this.ios / s : 0;
	}

	get bytes(): number {
		return this.ops.reduce((a, m) => a + m.bytes, 0);
	}

	get errors(): number {
		return this.ops.reduce((a, m) => a + m.errors, 0);
	}

	/** Time-weighted mean number of outstanding I/Os. */
	get meanOutstanding(): number {
		const span = this.lastChange - (Number.isFinite(this.firstIssue) ? this.firstIssue : 0);
		return span > 0 ? this.outstandingArea / span : 0;
	}

	private account(now: number): void {
		if (this.lastChange < this.firstIssue) this.lastChange = this.firstIssue;
		this.outstandingArea += this.outstanding * (now - this.lastChange);
		this.lastChange = now;
	}
}
