/**
 * What one filter did with one I/O, read from a trace row: the outcome the table's badge shows
 * and the query's verdict filter matches. Shared by the worker's queries and the page (pure: no
 * imports but types, so the page does not pull in the engine).
 *
 * The trace keeps the verdict each filter returned on the way down and up, who ended the I/O and
 * its status. A filter that defers and later completes or fails the I/O keeps "defer" as its
 * down verdict, so the outcome also reads who ended it:
 *   - none: the filter never saw the I/O (a filter above completed or failed it, or it is the
 *     filter's own I/O issued below it);
 *   - complete / fail: the filter ended the I/O on the way down (at once, or after holding it),
 *     or, for fail, turned a success into a failure on the way up;
 *   - pass: the filter passed it down (at once, or after holding it) and did not fail it.
 * `held` says the filter deferred the I/O (down or up): the time it held it is deferred time.
 */
import type { TraceRow } from '../engine/trace';

export const TRACE_OPS = ['read', 'write', 'flush', 'unmap'] as const;
export type TraceOp = (typeof TRACE_OPS)[number];
export const TRACE_VERDICTS = ['pass', 'complete', 'fail', 'defer'] as const;
export type TraceVerdict = (typeof TRACE_VERDICTS)[number];
export const TRACE_SORT_KEYS = ['completion', 'id', 'issuedAt', 'latency', 'lba', 'size', 'device', 'deferred'] as const;
export type TraceSortKey = (typeof TRACE_SORT_KEYS)[number];

export type Outcome = 'none' | 'pass' | 'complete' | 'fail';

/** Verdict codes as the trace stores them (engine/filter.ts VerdictCode). */
const PASS = 1;
const COMPLETE = 2;
const FAIL = 3;
const DEFER = 4;

/**
 * The outcome at filter k. `failedHere` is needed only when the filter held the I/O and then
 * ended it: true when the I/O failed and no filter above k failed it on the way up.
 */
export function outcomeCode(k: number, down: number, up: number, reached: boolean, endedBy: number, failedHere: boolean): Outcome {
	if (!reached) return 'none';
	if (endedBy === k + 1) {
		if (down === FAIL) return 'fail';
		if (down === COMPLETE) return 'complete';
		if (down === DEFER) return failedHere ? 'fail' : 'complete';
	}
	if (up === FAIL) return 'fail';
	return 'pass';
}

export function isHeld(down: number, up: number): boolean {
	return down === DEFER || up === DEFER;
}

export interface FilterOutcome {
	outcome: Outcome;
	/** Deferred on the way down (held before passing, completing or failing it). */
	heldDown: boolean;
	/** Deferred on the way up (e.g. waiting for a remote acknowledgement). */
	heldUp: boolean;
}

/** What filter k did with a row's I/O. */
export function filterOutcome(row: TraceRow, k: number): FilterOutcome {
	const f = row.filters[k];
	if (!f) return { outcome: 'none', heldDown: false, heldUp: false };
	const reached = f.downIn >= 0 || f.upIn >= 0;
	let failedHere = false;
	if (row.status !== '' && row.endedBy === k + 1) {
		failedHere = true;
		for (let j = 0; j < k; j++) if (row.filters[j].up === FAIL) failedHere = false;
	}
	return { outcome: outcomeCode(k, f.down, f.up, reached, row.endedBy, failedHere), heldDown: f.down === DEFER, heldUp: f.up === DEFER };
}

/** True when filter k's badge shows verdict `v` (defer: the filter held the I/O). */
export function matchesVerdict(o: FilterOutcome, v: TraceVerdict): boolean {
	return v === 'defer' ? o.heldDown || o.heldUp : o.outcome === v;
}

export { PASS as VERDICT_PASS, COMPLETE as VERDICT_COMPLETE, FAIL as VERDICT_FAIL, DEFER as VERDICT_DEFER };
