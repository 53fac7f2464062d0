/**
 * A multi-server FIFO queue: `size` identical servers, each with the virtual time (µs) at which it
 * becomes free. A job arriving at `now` starts at max(now, earliest free server) and holds that
 * server for its service time. Jobs must be booked in arrival order.
 *
 * The free-at times live in a binary min-heap in one Float64Array, so booking is O(log size) and
 * allocates nothing: the engine books several hundred thousand requests per wall second.
 */
export class ServerPool {
	readonly size: number;
	private readonly freeAt: Float64Array;

	constructor(size: number) {
		if (!Number.isInteger(size) || size < 1) throw new RangeError(`server count must be an integer ≥ 1, got ${size}`);
		this.size = size;
		this.freeAt = new Float64Array(size);
	}

	/** The earliest time at which some server is free. */
	earliest(): number {
		return this.freeAt[0];
	}

	/**
	 * Books a job arriving at `now` that needs `serviceUs` of one server; returns its start time
	 * (the job completes at start + serviceUs).
	 */
	book(now: number, serviceUs: number): number {
		const free = this.freeAt[0];
		const start = now > free ? now : free;
		this.replaceEarliest(start + serviceUs);
		return start;
	}

	/**
	 * Gives the earliest-free server a new free-at time `t`. For callers that learn a job's end
	 * only after taking the server (e.g. a queue slot held until completion of later stages).
	 */
	replaceEarliest(t: number): void {
		siftDown(this.freeAt, this.freeAt.length, t);
	}

	/** How many servers are busy at time `t` (O(size); for status displays, not the hot path). */
	busyAt(t: number): number {
		let busy = 0;
		const h = this.freeAt;
		for (let i = 0; i < h.length; i++) if (h[i] > t) busy++;
		return busy;
	}

	/** The time at which every server is free. */
	allFreeAt(): number {
		let m = 0;
		const h = this.freeAt;
		for (let i = 0; i < h.length; i++) if (h[i] > m) m = h[i];
		return m;
	}

	/** All servers free at time 0. */
	reset(): void {
		this.freeAt.fill(0);
	}
}

/**
 * `size` identical slots (a device's queue entries), each held from a request's admission to its
 * completion, for requests that arrive in time order. Same answers as a ServerPool used through
 * earliest() and replaceEarliest(), but cheaper when few of many slots are busy (an NVMe queue of
 * 1024 entries at queue depth 32): a slot freed by `now` is as good as any other free slot to
 * every later request, so only the busy ones are kept in the heap.
 */
export class SlotPool {
	readonly size: number;
	/** Completion times of the busy slots: a binary min-heap in the first `busy` entries. */
	private readonly heap: Float64Array;
	private busy = 0;

	constructor(size: number) {
		if (!Number.isInteger(size) || size < 1) throw new RangeError(`slot count must be an integer ≥ 1, got ${size}`);
		this.size = size;
		this.heap = new Float64Array(size);
	}

	/**
	 * When a request arriving at `now` (never earlier than the previous one) gets a slot: `now`
	 * if one is free by then, else the earliest completion.
	 */
	admit(now: number): number {
		const h = this.heap;
		// Completions up to now free their slots (popped, not kept: later arrivals are later still).
		while (this.busy > 0 && h[0] <= now) this.popTop();
		return this.busy < this.size ? now : h[0];
	}

	/** Holds the slot admit() gave until `end`. */
	hold(end: number): void {
		const h = this.heap;
		if (this.busy < this.size) {
			// A free slot becomes busy: sift `end` up from the bottom.
			let i = this.busy++;
			while (i > 0) {
				const p = (i - 1) >> 1;
				if (h[p] <= end) break;
				h[i] = h[p];
				i = p;
			}
			h[i] = end;
			return;
		}
		siftDown(h, this.busy, end);
	}

	/** How many slots are busy at time `t` ≥ the last arrival. */
	busyAt(t: number): number {
		let n = 0;
		for (let i = 0; i < this.busy; i++) if (this.heap[i] > t) n++;
		return n;
	}

	private popTop(): void {
		const last = this.heap[--this.busy];
		if (this.busy > 0) siftDown(this.heap, this.busy, last);
	}
}

/** Replaces the root of the min-heap in h[0..n) with `t` and sifts it down to its place. */
function siftDown(h: Float64Array, n: number, t: number): void {
	let i = 0;
	for (;;) {
		const l = 2 * i + 1;
		if (l >= n) break;
		const r = l + 1;
		const c = r < n && h[r] < h[l] ? r : l;
		if (h[c] >= t) break;
		h[i] = h[c];
		i = c;
	}
	h[i] = t;
}
