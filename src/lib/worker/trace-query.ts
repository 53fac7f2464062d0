/**
 * Queries over the trace ring for the page's trace table: filter (op, origin, status, a filter's
 * verdict) and sort (completion order, id, issue time, latency, LBA, size, device time, deferred
 * time) the completed rows the ring holds, then return one window of the result.
 *
 * Everything is read straight from the ring's typed arrays; only the window is turned into row
 * objects. The matching index (completion numbers, sorted) is kept until the query or the ring
 * changes, so scrolling through a sorted result costs one sort, not one per window. Without a
 * filter and in completion order no index is built at all.
 */
import { ByteCol, Col, F64_STRIDE, FIXED_F64_COLUMNS, FIXED_U8_COLUMNS, U8_STRIDE, type Trace, type TraceRow } from '../engine/trace';
import { isHeld, outcomeCode, TRACE_OPS, VERDICT_DEFER, VERDICT_FAIL, type TraceOp, type TraceSortKey, type TraceVerdict } from './trace-verdicts';

export { TRACE_OPS, TRACE_SORT_KEYS, TRACE_VERDICTS, type TraceOp, type TraceSortKey, type TraceVerdict } from './trace-verdicts';

/** Which rows: every field is optional, all given ones must hold. */
export interface TraceFilter {
	op?: TraceOp;
	origin?: 'guest' | 'filter';
	/** ok: completed without error; error: failed (any code). */
	status?: 'ok' | 'error';
	/** Only this disk (index in LoadInfo.disks). */
	disk?: number;
	/**
	 * A filter's name. Alone: the rows that filter saw (down or up). With `verdict`: the rows that
	 * filter gave that verdict.
	 */
	filter?: string;
	/**
	 * What the filter did (trace-verdicts.ts): pass, complete or fail the I/O (at once or after
	 * holding it; fail also on the way up), or defer it (held it, down or up). Without `filter`:
	 * any filter.
	 */
	verdict?: TraceVerdict;
}

/** Which rows, in which order. */
export interface TraceView extends TraceFilter {
	/** Default: completion order. */
	sortBy?: TraceSortKey;
	desc?: boolean;
}

export interface TraceQuery extends TraceView {
	/** Window of the result: positions [from, from + count). */
	from: number;
	count: number;
	/** The last `count` rows instead (a live table pinned to its end). */
	tail?: boolean;
	/**
	 * Keep a row in view while the ring changes under a live table: when completed row `n` is in
	 * the result at position p, the window starts at p + offset instead of `from`.
	 */
	anchor?: { n: number; offset: number };
}

/** A row of a query result: the trace row and its completion number (stable while the ring holds it). */
export interface TraceQueryRow extends TraceRow {
	n: number;
}

export interface TraceQueryResult {
	/** Rows that match (in the ring). */
	total: number;
	/** Position of the first row returned (from, clamped). */
	from: number;
	/** Position of the anchor row (-1: not asked, dropped or not matching). */
	anchorPos: number;
	rows: TraceQueryRow[];
	/** Rows the ring holds, and rows completed in the run (the ring keeps the last ones). */
	held: number;
	completed: number;
}

/** Filter names per disk, in chain order (the trace stores filter positions, not names). */
export type ChainNames = readonly (readonly string[])[];

/** The query's key without its window: results are cached per key. */
function keyOf(q: TraceView): string {
	return [q.op ?? '', q.origin ?? '', q.status ?? '', q.disk ?? '', q.filter ?? '', q.verdict ?? '', q.sortBy ?? 'completion', q.desc ? 1 : 0].join('|');
}

/** True when the query needs no index: every held row, in completion order. */
function plain(q: TraceView): boolean {
	return !q.op && !q.origin && !q.status && q.disk === undefined && !q.filter && !q.verdict && (q.sortBy ?? 'completion') === 'completion';
}

export class TraceQueries {
	private cacheKey = '';
	private cacheTrace: Trace | undefined;
	private cacheCompleted = -1;
	private index: Uint32Array | Float64Array = new Uint32Array(0);

	/** Runs a query over the rows `trace` holds. */
	query(trace: Trace, names: ChainNames, q: TraceQuery): TraceQueryResult {
		const first = trace.completed - trace.held;
		const held = trace.held;
		const count = Math.max(0, Math.floor(q.count));
		const index = plain(q) ? undefined : this.indexFor(trace, names, q);
		const total = index ? index.length : held;
		const anchorPos = q.anchor ? this.locate(trace, q, index, q.anchor.n) : -1;
		const from = clampFrom(q.tail ? total - count : anchorPos >= 0 ? anchorPos + q.anchor!.offset : q.from, total);
		const rows: TraceQueryRow[] = [];
		for (let p = from; p < Math.min(total, from + count); p++) {
			// Without an index, position p is completion number first + p (or from the end).
			const n = index ? index[p] : q.desc ? trace.completed - 1 - p : first + p;
			rows.push({ ...trace.row(n)!, n });
		}
		return { total, from, anchorPos, rows, held, completed: trace.completed };
	}

	/** Position of completion number `n` in a query's result (-1 when it does not match). */
	position(trace: Trace, names: ChainNames, q: TraceView, n: number): number {
		return this.locate(trace, q, plain(q) ? undefined : this.indexFor(trace, names, q), n);
	}

	private locate(trace: Trace, q: TraceView, index: Uint32Array | Float64Array | undefined, n: number): number {
		const first = trace.completed - trace.held;
		if (n < first || n >= trace.completed) return -1;
		if (index) return index.indexOf(n);
		return q.desc ? trace.completed - 1 - n : n - first;
	}

	/** Forgets the cached index (a new run). */
	clear(): void {
		this.cacheKey = '';
		this.cacheTrace = undefined;
		this.cacheCompleted = -1;
		this.index = new Uint32Array(0);
	}

	private indexFor(trace: Trace, names: ChainNames, q: TraceView): Uint32Array | Float64Array {
		const key = keyOf(q);
		if (key === this.cacheKey && trace === this.cacheTrace && trace.completed === this.cacheCompleted) return this.index;
		const index = buildIndex(trace, names, q);
		this.cacheKey = key;
		this.cacheTrace = trace;
		this.cacheCompleted = trace.completed;
		this.index = index;
		return index;
	}
}

function clampFrom(from: number, total: number): number {
	return Math.max(0, Math.min(Math.floor(from) || 0, Math.max(0, total - 1)));
}

/** Completion numbers of the matching rows, in the query's order. */
export function buildIndex(trace: Trace, names: ChainNames, q: TraceView): Uint32Array | Float64Array {
	const first = trace.completed - trace.held;
	const end = trace.completed;
	const f64 = trace.f64;
	const u8 = trace.u8;
	const cap = trace.capacity;
	const op = q.op ? TRACE_OPS.indexOf(q.op) : -1;
	const origin = q.origin === undefined ? -1 : q.origin === 'guest' ? 0 : 1;
	const verdict = q.verdict;
	// The filter's position on each disk (-1: that disk's chain does not have it).
	const filterAt = q.filter ? names.map((list) => list.indexOf(q.filter!)) : undefined;

	// Completion numbers go past 2^32 only after four billion I/Os; use doubles then.
	const out = end > 0xffffffff ? new Float64Array(trace.held) : new Uint32Array(trace.held);
	let len = 0;
	for (let n = first; n < end; n++) {
		const slot = n % cap;
		const f = slot * F64_STRIDE;
		const b = slot * U8_STRIDE;
		if (op >= 0 && u8[b + ByteCol.op] !== op) continue;
		if (origin >= 0 && u8[b + ByteCol.origin] !== origin) continue;
		if (q.status === 'ok' && u8[b + ByteCol.status] !== 0) continue;
		if (q.status === 'error' && u8[b + ByteCol.status] === 0) continue;
		if (q.disk !== undefined && f64[f + Col.disk] !== q.disk) continue;
		if (filterAt || verdict) {
			const nF = u8[b + ByteCol.filters];
			let lo = 0;
			let hi = nF;
			if (filterAt) {
				const k = filterAt[f64[f + Col.disk]] ?? -1;
				if (k < 0 || k >= nF) continue;
				lo = k;
				hi = k + 1;
			}
			let hit = false;
			for (let k = lo; k < hi && !hit; k++) {
				const t = f + FIXED_F64_COLUMNS + 4 * k;
				const reached = f64[t] >= 0 || f64[t + 2] >= 0;
				if (!verdict) {
					hit = reached; // seen by the filter, on the way down or up
					continue;
				}
				const down = u8[b + FIXED_U8_COLUMNS + 2 * k];
				const up = u8[b + FIXED_U8_COLUMNS + 2 * k + 1];
				if (verdict === 'defer') {
					hit = isHeld(down, up);
					continue;
				}
				const endedBy = u8[b + ByteCol.endedBy];
				let failedHere = false;
				if (down === VERDICT_DEFER && endedBy === k + 1 && u8[b + ByteCol.status] !== 0) {
					failedHere = true;
					for (let j = 0; j < k; j++) if (u8[b + FIXED_U8_COLUMNS + 2 * j + 1] === VERDICT_FAIL) failedHere = false;
				}
				hit = outcomeCode(k, down, up, reached, endedBy, failedHere) === verdict;
			}
			if (!hit) continue;
		}
		out[len++] = n;
	}
	const index = out.subarray(0, len);
	const sortBy = q.sortBy ?? 'completion';
	if (sortBy === 'completion') {
		if (q.desc) index.reverse();
		return index;
	}
	// Sort keys by position, then positions by key (ties: completion order, either direction).
	const keys = new Float64Array(len);
	for (let i = 0; i < len; i++) keys[i] = sortKey(f64, (index[i] % cap) * F64_STRIDE, sortBy);
	const order = new Uint32Array(len);
	for (let i = 0; i < len; i++) order[i] = i;
	const sign = q.desc ? -1 : 1;
	order.sort((a, b) => sign * (keys[a] - keys[b]) || a - b);
	const sorted = index instanceof Uint32Array ? new Uint32Array(len) : new Float64Array(len);
	for (let i = 0; i < len; i++) sorted[i] = index[order[i]];
	return sorted;
}

function sortKey(f64: Float64Array, f: number, by: TraceSortKey): number {
	switch (by) {
		case 'id':
			return f64[f + Col.id];
		case 'issuedAt':
			return f64[f + Col.issuedAt];
		case 'latency':
			return f64[f + Col.doneAt] - f64[f + Col.issuedAt];
		case 'lba':
			return f64[f + Col.lba];
		case 'size':
			return f64[f + Col.sectors];
		case 'device':
			// An I/O that never reached the device sorts below one served in 0 µs.
			return f64[f + Col.deviceStart] < 0 ? -1 : f64[f + Col.deviceDone] - f64[f + Col.deviceStart];
		case 'deferred':
			return f64[f + Col.deferredUs];
		default:
			return 0;
	}
}
