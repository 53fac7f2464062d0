/**
 * The waterfall of one I/O: what the Waterfall component draws, as plain data. One lane for the
 * guest (issue to completion), one per filter in chain order (down in→out, up in→out, the parts
 * the filter held the I/O, its verdicts), one for the device (service time). A lane the I/O never
 * reached says why: a filter above completed it, a filter above failed it (VAIO tells only the
 * filters above a failing one: those below are "not told"), or it is a filter's own I/O issued
 * below that filter.
 */
import type { TraceRow } from '$lib/engine/trace';
import { filterOutcome, type Outcome } from '$lib/worker/trace-verdicts';
import { fmtUs } from './format';

export const VERDICT_LABELS = ['', 'pass', 'complete', 'fail', 'defer'] as const;

export interface Span {
	from: number;
	to: number;
	/** The filter held the I/O for this part (deferred). */
	held: boolean;
}

export type LaneState = 'seen' | 'not-reached' | 'not-told' | 'not-on-path';

export interface WaterfallLane {
	kind: 'guest' | 'filter' | 'device';
	/** Filter position (filters only). */
	index: number;
	label: string;
	/** The filter's class (filters only), for its colour. */
	cls: string;
	state: LaneState;
	/** Why a lane is empty, or what happened there. */
	note: string;
	/** From entering on the way down until leaving on the way up (filters), issue to done (guest). */
	span?: { from: number; to: number };
	down?: Span;
	up?: Span;
	/** Device service time. */
	service?: { from: number; to: number };
	/** Verdicts returned on the way down and up ('' when none). */
	downVerdict: string;
	upVerdict: string;
	outcome: Outcome;
	/** This filter ended the I/O (completed or failed it), or the device served it. */
	ended: boolean;
	/** The I/O failed and this lane was told of it (on the way up). */
	toldOfFailure: boolean;
}

export interface WaterfallModel {
	start: number;
	end: number;
	latency: number;
	failed: boolean;
	status: string;
	lanes: WaterfallLane[];
	/** Who ended the I/O: a filter's name, "device", or "". */
	endedBy: string;
}

export interface ChainFilterInfo {
	name: string;
	class: string;
}

const has = (t: number) => t >= 0;

export function waterfallModel(row: TraceRow, chain: readonly ChainFilterInfo[]): WaterfallModel {
	const failed = row.status !== '';
	const n = row.filters.length;
	const nameOf = (k: number) => chain[k]?.name ?? `filter ${k + 1}`;
	// The filter that ended the I/O on the way down (-1: the device or none).
	const endedAt = row.endedBy >= 1 && row.endedBy !== 255 ? row.endedBy - 1 : -1;
	const endedBy = row.endedBy === 0 ? 'device' : endedAt >= 0 ? nameOf(endedAt) : '';
	// A filter's own I/O enters below its issuer: the first filter with a time, or the device.
	let top = 0;
	if (row.origin === 'filter') {
		top = n;
		for (let k = 0; k < n; k++)
			if (has(row.filters[k].downIn) || has(row.filters[k].upIn)) {
				top = k;
				break;
			}
	}
	const issuer = row.origin === 'filter' && top > 0 ? nameOf(top - 1) : 'a filter';
	// The filter that failed the I/O on the way up (turned success into failure), if any.
	let upFailAt = -1;
	for (let k = 0; k < n; k++) if (row.filters[k].up === 3) upFailAt = k;

	const lanes: WaterfallLane[] = [];
	lanes.push({
		kind: 'guest',
		index: -1,
		label: row.origin === 'guest' ? 'guest' : `${issuer} (own I/O)`,
		cls: '',
		state: 'seen',
		note: `${row.origin === 'guest' ? 'guest latency' : `issued by ${issuer} below itself; took`} ${fmtUs(row.doneAt - row.issuedAt)}`,
		span: { from: row.issuedAt, to: row.doneAt },
		downVerdict: '',
		upVerdict: '',
		outcome: failed ? 'fail' : 'complete',
		ended: false,
		toldOfFailure: failed
	});

	const unreached = (k: number): { state: LaneState; note: string } => {
		if (k < top) return { state: 'not-on-path', note: `above ${issuer}: not on this I/O's path` };
		if (endedAt >= 0 && endedAt < k) {
			if (failed && filterOutcome(row, endedAt).outcome === 'fail')
				return { state: 'not-told', note: `not told: ${nameOf(endedAt)} failed the I/O above` };
			return { state: 'not-reached', note: `not reached: ${nameOf(endedAt)} completed it` };
		}
		return { state: 'not-reached', note: 'not reached' };
	};

	for (let k = 0; k < n; k++) {
		const f = row.filters[k];
		const o = filterOutcome(row, k);
		const base = { kind: 'filter' as const, index: k, label: nameOf(k), cls: chain[k]?.class ?? '', downVerdict: VERDICT_LABELS[f.down] ?? '', upVerdict: VERDICT_LABELS[f.up] ?? '', outcome: o.outcome };
		if (o.outcome === 'none') {
			lanes.push({ ...base, ...unreached(k), ended: false, toldOfFailure: false });
			continue;
		}
		const lane: WaterfallLane = {
			...base,
			state: 'seen',
			note: '',
			ended: endedAt === k,
			// Told of the failure: filters above the one that failed it (down) or that turned it into a failure (up).
			toldOfFailure: failed && (endedAt >= 0 ? k < endedAt : upFailAt >= 0 ? k < upFailAt : true)
		};
		const spanEnd = has(f.upOut) ? f.upOut : has(f.downOut) ? f.downOut : f.downIn;
		const spanStart = has(f.downIn) ? f.downIn : f.upIn;
		lane.span = { from: spanStart, to: Math.max(spanStart, spanEnd) };
		if (has(f.downIn)) lane.down = { from: f.downIn, to: has(f.downOut) ? f.downOut : f.downIn, held: o.heldDown };
		if (has(f.upIn)) lane.up = { from: f.upIn, to: has(f.upOut) ? f.upOut : f.upIn, held: o.heldUp };
		lane.note = laneNote(o.outcome, o.heldDown, o.heldUp, lane, failed, upFailAt === k);
		lanes.push(lane);
	}

	const dev: WaterfallLane = {
		kind: 'device',
		index: n,
		label: 'device',
		cls: '',
		state: 'seen',
		note: '',
		downVerdict: '',
		upVerdict: '',
		outcome: 'none',
		ended: row.endedBy === 0,
		toldOfFailure: false
	};
	if (has(row.deviceStart)) {
		const to = has(row.deviceDone) ? row.deviceDone : row.deviceStart;
		dev.service = { from: row.deviceStart, to };
		dev.span = { from: row.deviceStart, to };
		const deviceFailed = failed && row.endedBy === 0 && upFailAt < 0;
		dev.outcome = deviceFailed ? 'fail' : 'complete';
		dev.note = `${deviceFailed ? `failed (${row.status}) after` : 'served in'} ${fmtUs(to - row.deviceStart)}`;
	} else Object.assign(dev, unreached(n));
	lanes.push(dev);

	return { start: row.issuedAt, end: row.doneAt, latency: row.doneAt - row.issuedAt, failed, status: row.status || 'ok', lanes, endedBy };
}

function laneNote(outcome: Outcome, heldDown: boolean, heldUp: boolean, lane: WaterfallLane, failed: boolean, failedUp: boolean): string {
	const parts: string[] = [];
	const d = (s?: Span) => (s ? s.to - s.from : 0);
	if (heldDown) parts.push(`held ${fmtUs(d(lane.down))} on the way down`);
	if (heldUp) parts.push(`held ${fmtUs(d(lane.up))} on the way up`);
	if (outcome === 'complete') parts.unshift('completed the I/O');
	else if (outcome === 'fail') parts.unshift(failedUp ? 'turned success into failure on the way up' : 'failed the I/O');
	else if (failed && lane.toldOfFailure) parts.push('told of the failure');
	return parts.join('; ');
}
