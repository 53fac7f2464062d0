/**
 * Run metrics: I/O counts and bytes per operation, exact latency percentiles (every guest
 * latency is kept, so p99.9 is the real p99.9, not a bucket edge), and outstanding I/Os as a
 * time-weighted average.
 */
import { OP_NAMES, type OpCode } from './io';

/** A growable Float64Array of samples. */
export class Samples {
	private data = new Float64Array(1024);
	length = 0;
	private sorted = true;

	push(v: number): void {
		if (this.length === this.data.length) this.reserve(this.length + 1);
		this.data[this.length++] = v;
		this.sorted = false;
	}

	/** Appends every value of `other`. */
	pushAll(other: Samples): void {
		if (other.length === 0) return;
		this.reserve(this.length + other.length);
		this.data.set(other.values(), this.length);
		this.length += other.length;
		this.sorted = false;
	}

	/**
	 * Every value of `parts`, as one sorted sample: each part is sorted (its own percentiles
	 * need that anyway) and the parts merged, which is linear where sorting the union is not.
	 */
	static union(parts: Samples[]): Samples {
		const out = new Samples();
		out.reserve(parts.reduce((n, p) => n + p.length, 0));
		const views = parts.filter((p) => p.length > 0).map((p) => p.sortedValues());
		const at = views.map(() => 0);
		const data = out.data;
		let n = 0;
		for (;;) {
			let best = -1;
			for (let k = 0; k < views.length; k++)
				if (at[k] < views[k].length && (best < 0 || views[k][at[k]] < views[best][at[best]])) best = k;
			if (best < 0) break;
			data[n++] = views[best][at[best]++];
		}
		out.length = n;
		out.sorted = true;
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

	/** The values in ascending order (a view; do not keep it across pushes). */
	sortedValues(): Float64Array {
		const view = this.data.subarray(0, this.length);
		if (!this.sorted) {
			view.sort();
			this.sorted = true;
		}
		return view;
	}

	/** Percentile by the nearest-rank method (p in 0..100). */
	percentile(p: number): number {
		if (this.length === 0) return 0;
		const view = this.sortedValues();
		// Nearest rank ⌈p/100·n⌉. The product carries floating-point noise (0.999 · 1000 is
		// 999.0000000000001), which must not push an exact rank up by one: shave it off first.
		const rank = Math.ceil((p / 100) * this.length * (1 - 1e-12));
		return view[Math.min(this.length - 1, Math.max(0, rank - 1))];
	}

	mean(): number {
		let s = 0;
		for (let i = 0; i < this.length; i++) s += this.data[i];
		return this.length ? s / this.length : 0;
	}

	max(): number {
		return this.length ? this.percentile(100) : 0;
	}

	/** The raw values (a view; do not keep it across pushes). */
	values(): Float64Array {
		return this.data.subarray(0, this.length);
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
	return {
		p50: s.percentile(50),
		p90: s.percentile(90),
		p99: s.percentile(99),
		p999: s.percentile(99.9),
		mean: s.mean(),
		max: s.max()
	};
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
