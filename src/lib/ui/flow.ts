/**
 * The flow view's model, pure (no DOM): where an I/O goes through the topology and when.
 *
 * An I/O's path is a list of stops, each with the virtual time it arrived and left: the guest, each
 * filter it entered on the way down (on the down lane), the device (arriving on the down lane,
 * leaving on the up lane), each filter on the way up (on the up lane), and the guest again. A
 * filter that completes or fails an I/O turns it around: the path crosses to the up lane at that
 * filter and only the filters above it are visited on the way up. A filter's own I/O (a cache
 * destage, say) starts and ends at the filter that issued it. Times not reached yet are -1 in the
 * frame rows, Infinity (still there) or undefined (not yet) here.
 *
 * Stops are placed with the Topology layout (lib/ui/topology.ts), so the animation lines up with
 * the diagram; `stopPoint` gives a stop's coordinates in the layout's user units.
 */
import { EVENT_FIXED, EVENT_PER_FILTER, EventCol } from '../worker/session';
import type { TopologyLayout } from './topology';

export type StopKind = 'guest' | 'filter' | 'device';
export type Lane = 'down' | 'up';

export interface Stop {
	kind: StopKind;
	lane: Lane;
	/** Chain index for filter stops. */
	k: number;
	/** Virtual µs it arrived here (always known for the stops listed). */
	arrive: number;
	/** Virtual µs it left (Infinity: not yet). */
	leave: number;
	/** Held here by a defer verdict (down or up) while there. */
	deferred: boolean;
}

export type Verdict = 'pass' | 'complete' | 'fail' | 'defer';

export interface IoPath {
	id: number;
	op: number;
	/** A filter's own I/O (not the guest's). */
	own: boolean;
	stops: Stop[];
	/** Index of the stop after which the I/O is a completion (green) or a failure (red). */
	turnAt: number;
	/** How it ends: 'pass' (the device completed it), 'complete' (a filter did) or 'fail'. */
	outcome: Exclude<Verdict, 'defer'>;
	/** True once the row is complete (the last stop is the end of the path). */
	done: boolean;
}

const DEFER = 4;
const COMPLETE = 2;
const FAIL = 3;

const t = (v: number) => (v >= 0 ? v : undefined);

/**
 * The path of the event at `o` in a frame's sample or live rows (EVENT_STRIDE layout), for a
 * chain of `n` filters.
 */
export function ioPath(rows: Float64Array, o: number, n: number): IoPath {
	const at = (k: number, w: number) => rows[o + EVENT_FIXED + k * EVENT_PER_FILTER + w];
	const downIn = (k: number) => t(at(k, 0));
	const downOut = (k: number) => t(at(k, 1));
	const upIn = (k: number) => t(at(k, 2));
	const upOut = (k: number) => t(at(k, 3));
	const issued = rows[o + EventCol.issuedAt];
	const doneAt = t(rows[o + EventCol.doneAt]);
	const devStart = t(rows[o + EventCol.deviceStart]);
	const devDone = t(rows[o + EventCol.deviceDone]);
	const status = rows[o + EventCol.status];
	const endedBy = rows[o + EventCol.endedBy]; // k+1 = filter k, 0 = device, 255 = not yet/none

	// The topmost filter that saw it: 0 for guest I/O; a filter's own I/O enters below its filter.
	let top = 0;
	while (top < n && downIn(top) === undefined) top++;
	const own = n > 0 && top > 0;
	const origin: Stop['kind'] = own ? 'filter' : 'guest';
	const originK = own ? top - 1 : -1;

	const stops: Stop[] = [{ kind: origin, lane: 'down', k: originK, arrive: issued, leave: issued, deferred: false }];
	let turnedAt = -1;
	for (let k = top; k < n; k++) {
		const a = downIn(k);
		if (a === undefined) break;
		const out = downOut(k);
		const v = at(k, 4);
		stops.push({ kind: 'filter', lane: 'down', k, arrive: a, leave: out ?? Infinity, deferred: v === DEFER });
		const turned =
			v === COMPLETE ||
			v === FAIL ||
			endedBy === k + 1 ||
			(out !== undefined && devStart === undefined && (k + 1 >= n || downIn(k + 1) === undefined) && k > top && upIn(k - 1) !== undefined);
		if (turned) {
			turnedAt = k;
			if (out !== undefined) stops.push({ kind: 'filter', lane: 'up', k, arrive: out, leave: out, deferred: false });
			break;
		}
		if (out === undefined) break; // still in this filter
	}
	let turnAt: number;
	let outcome: IoPath['outcome'] = status !== 0 ? 'fail' : 'pass';
	const lastDown = stops[stops.length - 1];
	const reachedBottom = turnedAt < 0 && lastDown.leave !== Infinity;
	if (turnedAt >= 0) {
		turnAt = stops.length - 1;
		if (status === 0) outcome = 'complete';
	} else if (reachedBottom && devStart !== undefined) {
		stops.push({ kind: 'device', lane: 'down', k: n, arrive: devStart, leave: devDone ?? Infinity, deferred: false });
		if (devDone !== undefined) stops.push({ kind: 'device', lane: 'up', k: n, arrive: devDone, leave: devDone, deferred: false });
		turnAt = stops.length - 1;
	} else turnAt = stops.length; // not turned yet
	// The way up: filters above the turn, in reverse order.
	const from = turnedAt >= 0 ? turnedAt - 1 : n - 1;
	if (stops[stops.length - 1].lane === 'up') {
		for (let k = from; k >= top; k--) {
			const a = upIn(k);
			if (a === undefined) break;
			const out = upOut(k);
			stops.push({ kind: 'filter', lane: 'up', k, arrive: a, leave: out ?? Infinity, deferred: at(k, 5) === DEFER });
			if (out === undefined) break;
		}
	}
	let done = false;
	if (doneAt !== undefined) {
		stops.push({ kind: origin, lane: 'up', k: originK, arrive: doneAt, leave: Infinity, deferred: false });
		done = true;
	}
	return { id: rows[o + EventCol.id], op: rows[o + EventCol.op], own, stops, turnAt, outcome, done };
}

/** Where the path is at virtual time `vt`: the stop reached last, and the fraction of the way to the next. */
export function pathAt(path: IoPath, vt: number): { index: number; frac: number; held: boolean } {
	const s = path.stops;
	let i = 0;
	while (i + 1 < s.length && s[i + 1].arrive <= vt) i++;
	const here = s[i];
	if (i + 1 < s.length && vt > here.leave) {
		const next = s[i + 1];
		const span = next.arrive - here.leave;
		return { index: i, frac: span > 0 ? Math.min(1, (vt - here.leave) / span) : 1, held: false };
	}
	return { index: i, frac: 0, held: here.deferred && vt < here.leave };
}

/** The colour class of a path at stop `index` (held: deferred there now). */
export function verdictAt(path: IoPath, index: number, held: boolean): Verdict {
	if (held) return 'defer';
	if (index >= path.turnAt) return path.outcome;
	return 'pass';
}

/** Coordinates of a stop in the layout's user units (undefined if the layout lacks it). */
export function stopPoint(layout: TopologyLayout, s: Pick<Stop, 'kind' | 'lane' | 'k'>): { x: number; y: number } | undefined {
	const x = s.lane === 'down' ? layout.lanes.down : layout.lanes.up;
	switch (s.kind) {
		case 'guest':
			return { x, y: layout.guest.y + layout.guest.h - 8 };
		case 'device':
			return { x, y: layout.datastore.y + layout.datastore.h / 2 };
		case 'filter': {
			const slot = layout.slots.find((sl) => sl.filter?.index === s.k);
			return slot ? { x, y: slot.box.y + slot.box.h / 2 } : undefined;
		}
	}
}

/** A stretch between two consecutive stops, for the flow (high-rate) view. */
export interface Segment {
	key: string;
	from: Pick<Stop, 'kind' | 'lane' | 'k'>;
	to: Pick<Stop, 'kind' | 'lane' | 'k'>;
}

const stopKey = (s: Pick<Stop, 'kind' | 'lane' | 'k'>) => `${s.kind}${s.kind === 'filter' ? s.k : ''}:${s.lane}`;

export function segmentKey(a: Pick<Stop, 'kind' | 'lane' | 'k'>, b: Pick<Stop, 'kind' | 'lane' | 'k'>): string {
	return `${stopKey(a)}>${stopKey(b)}`;
}

/** I/Os per segment in a frame's rows, by colour and op. */
export interface SegmentCounts {
	segment: Segment;
	pass: number;
	complete: number;
	fail: number;
	writes: number;
	total: number;
}

/** Counts how many of `count` rows crossed each segment (completed rows: their whole path). */
export function countSegments(rows: Float64Array, count: number, stride: number, n: number, into = new Map<string, SegmentCounts>()): Map<string, SegmentCounts> {
	for (let i = 0; i < count; i++) {
		const p = ioPath(rows, i * stride, n);
		const s = p.stops;
		for (let j = 0; j + 1 < s.length; j++) {
			const key = segmentKey(s[j], s[j + 1]);
			let c = into.get(key);
			if (!c) {
				c = { segment: { key, from: s[j], to: s[j + 1] }, pass: 0, complete: 0, fail: 0, writes: 0, total: 0 };
				into.set(key, c);
			}
			const v = j + 1 >= p.turnAt ? p.outcome : 'pass'; // a segment takes the colour of where it leads
			c[v]++;
			if (p.op === 1) c.writes++;
			c.total++;
		}
	}
	return into;
}
