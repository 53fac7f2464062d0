/**
 * The discrete-event scheduler: virtual time in microseconds, events ordered by (time, seq) so
 * that two events at the same instant run in the order they were scheduled. Nothing here reads a
 * wall clock; a run is a pure function of its scenario and seed.
 */
// The seeded PRNG lives in prng.ts (the custom filter sandbox bundles it); imported from here too.
export { Prng } from './prng';

export type EventFn = () => void | Promise<void>;
/** An event handler that takes the argument it was scheduled with (no closure per event). */
export type EventFnWithArg<A> = (arg: A) => void | Promise<void>;

/** What runNext returns when no event is left. */
export const NO_EVENT: unique symbol = Symbol('no event');

/**
 * A lane: events whose times never decrease (a disk's I/O path: I/Os waiting for it to be free,
 * and what a blocking hook does once its time is spent), kept in the order they were scheduled,
 * with sequence numbers from the scheduler's one counter. The scheduler merges its lanes with its
 * heap by (time, seq), so events run in exactly the order a heap of them all would give; a lane
 * only saves the heap work (with a queue of I/Os waiting for a busy path, most events are these).
 */
export class Lane {
	// A ring that only grows: emptying a lane keeps its storage, so a lane that fills and drains
	// per I/O allocates nothing (truncating arrays released it, and refilling them re-allocated
	// it over and over), and nothing is ever moved down.
	times = new Float64Array(64);
	/** Sequence numbers (exact in a double up to 2^53). */
	seqs = new Float64Array(64);
	fns: (EventFnWithArg<any> | undefined)[] = new Array(64).fill(undefined);
	args: unknown[] = new Array(64).fill(undefined);
	/** Ring index of the next event. */
	head = 0;
	/** Number of events queued. */
	count = 0;
	/** Ring size - 1 (a power of two). */
	mask = 63;
	/** In the scheduler's list of lanes with events (see Scheduler.lanes). */
	active = false;

	get length(): number {
		return this.count;
	}

	/** Doubles the ring, the events from index 0 in order. */
	grow(): void {
		const cap = this.mask + 1;
		const times = new Float64Array(2 * cap);
		const seqs = new Float64Array(2 * cap);
		const fns: (EventFnWithArg<any> | undefined)[] = new Array(2 * cap).fill(undefined);
		const args: unknown[] = new Array(2 * cap).fill(undefined);
		for (let i = 0; i < this.count; i++) {
			const j = (this.head + i) & this.mask;
			times[i] = this.times[j];
			seqs[i] = this.seqs[j];
			fns[i] = this.fns[j];
			args[i] = this.args[j];
		}
		this.times = times;
		this.seqs = seqs;
		this.fns = fns;
		this.args = args;
		this.head = 0;
		this.mask = 2 * cap - 1;
	}
}

export class Scheduler {
	/** Current virtual time, µs. */
	now = 0;
	private seq = 0;
	// A binary heap kept in parallel arrays: fewer objects per event than a heap of records.
	private times: number[] = [];
	private seqs: number[] = [];
	private fns: EventFnWithArg<any>[] = [];
	private args: unknown[] = [];
	/**
	 * The lanes that hold events, in no particular order (seq numbers break every tie). A lane
	 * joins when it gets an event and leaves when it empties, so an idle lane costs the run loop
	 * nothing and a lane whose chain is gone (a crash, a policy change) is not kept.
	 */
	private readonly lanes: Lane[] = [];

	get pending(): number {
		let n = this.fns.length;
		for (let i = 0; i < this.lanes.length; i++) n += this.lanes[i].length;
		return n;
	}

	/** A new lane (see Lane): the caller schedules on it events whose times never decrease. */
	lane(): Lane {
		return new Lane();
	}

	/**
	 * Runs `fn(arg)` at `time` (never earlier than now), queued on `lane`. A time earlier than the
	 * lane's last goes to the heap instead, so the order stays exact whatever the caller does.
	 */
	atLane<A>(lane: Lane, time: number, fn: EventFnWithArg<A>, arg: A): void {
		if (!(time >= this.now)) time = this.now; // also catches NaN
		const n = lane.count;
		if (n > 0 && time < lane.times[(lane.head + n - 1) & lane.mask]) {
			this.at(time, fn, arg);
			return;
		}
		if (n > lane.mask) lane.grow();
		const e = (lane.head + n) & lane.mask;
		lane.count = n + 1;
		lane.times[e] = time;
		lane.seqs[e] = this.seq++;
		lane.fns[e] = fn;
		lane.args[e] = arg;
		if (!lane.active) {
			lane.active = true;
			this.lanes.push(lane);
		}
	}

	/** The lane whose next event comes before the heap's (by time, then seq), if any. */
	private laneFirst(): Lane | undefined {
		const lanes = this.lanes;
		let best: Lane | undefined;
		let bt = Infinity;
		let bs = Infinity;
		if (this.fns.length > 0) {
			bt = this.times[0];
			bs = this.seqs[0];
		}
		for (let i = 0; i < lanes.length; i++) {
			const l = lanes[i];
			const h = l.head;
			const t = l.times[h];
			if (t < bt || (t === bt && l.seqs[h] < bs)) {
				best = l;
				bt = t;
				bs = l.seqs[h];
			}
		}
		return best;
	}

	/** Takes a lane's next event (advancing the clock to it); `arg` is left in laneArg. */
	private takeLane(l: Lane): EventFnWithArg<any> {
		const h = l.head;
		this.now = l.times[h];
		const fn = l.fns[h]!;
		this.laneArg = l.args[h];
		l.fns[h] = undefined;
		l.args[h] = undefined;
		l.head = (h + 1) & l.mask;
		if (--l.count === 0) {
			l.active = false;
			const lanes = this.lanes;
			const k = lanes.indexOf(l);
			lanes[k] = lanes[lanes.length - 1];
			lanes.pop();
		}
		return fn;
	}
	private laneArg: unknown = undefined;

	/** Runs `fn` at now + delay (delay ≥ 0). */
	after(delay: number, fn: EventFn): void {
		this.at(this.now + (delay > 0 ? delay : 0), fn);
	}

	/** Runs `fn` at absolute virtual time `time` (never earlier than now). */
	at(time: number, fn: EventFn): void;
	/** Runs `fn(arg)` at `time`: hot paths pass a bound handler and an argument, not a closure. */
	at<A>(time: number, fn: EventFnWithArg<A>, arg: A): void;
	at(time: number, fn: EventFnWithArg<any>, arg?: unknown): void {
		if (!(time >= this.now)) time = this.now; // also catches NaN
		const times = this.times;
		const seqs = this.seqs;
		const fns = this.fns;
		const args = this.args;
		const s = this.seq++;
		let i = fns.length;
		times.push(time);
		seqs.push(s);
		fns.push(fn);
		args.push(arg);
		while (i > 0) {
			const p = (i - 1) >> 1;
			if (times[p] < time || (times[p] === time && seqs[p] < s)) break;
			times[i] = times[p];
			seqs[i] = seqs[p];
			fns[i] = fns[p];
			args[i] = args[p];
			i = p;
		}
		times[i] = time;
		seqs[i] = s;
		fns[i] = fn;
		args[i] = arg;
	}

	/** Time of the next event, or Infinity. */
	peekTime(): number {
		const l = this.lanes.length > 0 ? this.laneFirst() : undefined;
		if (l !== undefined) return l.times[l.head];
		return this.fns.length > 0 ? this.times[0] : Infinity;
	}

	/** Removes the next event, advances the clock to it and returns it as a function to call. */
	pop(): EventFn | undefined {
		const l = this.lanes.length > 0 ? this.laneFirst() : undefined;
		let fn: EventFnWithArg<any>;
		let arg: unknown;
		if (l !== undefined) {
			fn = this.takeLane(l);
			arg = this.laneArg;
			this.laneArg = undefined;
		} else {
			if (this.fns.length === 0) return undefined;
			fn = this.fns[0];
			arg = this.args[0];
			this.removeTop();
		}
		return arg === undefined ? (fn as EventFn) : () => fn(arg);
	}

	/** Runs the next event (advancing the clock to it); NO_EVENT when none is left. */
	runNext(): void | Promise<void> | typeof NO_EVENT {
		const l = this.lanes.length > 0 ? this.laneFirst() : undefined;
		if (l !== undefined) {
			const fn = this.takeLane(l);
			const arg = this.laneArg;
			this.laneArg = undefined;
			return fn(arg);
		}
		if (this.fns.length === 0) return NO_EVENT;
		const fn = this.fns[0];
		const arg = this.args[0];
		this.removeTop();
		return fn(arg);
	}

	private removeTop(): void {
		const fns = this.fns;
		const n = fns.length;
		const times = this.times;
		const seqs = this.seqs;
		const args = this.args;
		this.now = times[0];
		const lastT = times[n - 1];
		const lastS = seqs[n - 1];
		const lastF = fns[n - 1];
		const lastA = args[n - 1];
		times.pop();
		seqs.pop();
		fns.pop();
		args.pop();
		const m = n - 1;
		if (m > 0) {
			let i = 0;
			for (;;) {
				const l = 2 * i + 1;
				if (l >= m) break;
				const r = l + 1;
				let c = l;
				if (r < m && (times[r] < times[l] || (times[r] === times[l] && seqs[r] < seqs[l]))) c = r;
				if (times[c] > lastT || (times[c] === lastT && seqs[c] > lastS)) break;
				times[i] = times[c];
				seqs[i] = seqs[c];
				fns[i] = fns[c];
				args[i] = args[c];
				i = c;
			}
			times[i] = lastT;
			seqs[i] = lastS;
			fns[i] = lastF;
			args[i] = lastA;
		}
	}
}
