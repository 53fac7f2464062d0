/**
 * Check 3: defer does not stall other I/Os.
 *
 * The queue-depth-32 run (4 KiB random read/write, 32 guest I/Os outstanding at all times) with
 * every trace row kept. From the trace's per-filter stamps of the filter under test (index k):
 *   - held:  a guest I/O is held while deferred, on the way down from its arrival at k until k
 *            resumes, completes or fails it; on the way up from its arrival back at k until k
 *            lets it continue;
 *   - below: an I/O is below k from when it leaves k downward until it is back up at k, and a
 *            filter I/O of k's own (submitBelow) from its issue to its completion;
 *   - let go: k lets an I/O go whenever one leaves it, downward or upward, or k completes or
 *            fails one.
 * Two ways to stall, both failures:
 *   1. Serializing. Look at every instant (after all events of that virtual time) at which k
 *      holds at least one I/O deferred on the way down. If there are at least 8 such instants at
 *      which something is below k, and at none of them is more than one I/O below k, then k lets
 *      one I/O at a time past itself while the others wait: it serializes the disk. A correct
 *      deferring filter (delay, dm-delay) holds I/Os side by side and others pass meanwhile.
 *   2. Idling. The longest span of virtual time during which k holds at least one deferred I/O,
 *      has nothing below it, and lets nothing go must not exceed budgets.stallUs (default 100 ms):
 *      then the disk sits idle for the filter's sake (work held back until some far-off timer).
 *      A filter that waits for its own device or link (a cache's SSD, a replication ack) waits
 *      much less than that.
 * A filter that never defers passes (it cannot stall anything by deferring).
 */
import { VerdictCode } from '../../engine/filter';
import type { TraceRow } from '../../engine/trace';
import { opName, timeText, type Finding, type IoRef } from '../report';
import { runProblems, setupFailed, type Check, type CheckContext } from './check';

/** Instants with deferred I/O held and something below, needed to judge serialization. */
export const MIN_SERIAL_INSTANTS = 8;

interface Ev {
	t: number;
	heldDown: number;
	heldUp: number;
	below: number;
	letGo: boolean;
}

interface Hold {
	io: IoRef;
	from: number;
	to: number;
	up: boolean;
}

export const deferNoStall: Check = {
	id: 'defer-no-stall',
	title: 'defer does not stall other I/Os (queue depth 32)',
	async run(ctx: CheckContext) {
		const o = await ctx.qd32();
		const b = o.bench;
		if (!b) return setupFailed(o);
		const findings: Finding[] = [...runProblems(o)];
		const trace = b.sim.trace;
		const k = b.testedIndex;
		const evs: Ev[] = [];
		const holds: Hold[] = [];
		const ev = (t: number, heldDown: number, heldUp: number, below: number, letGo: boolean) => evs.push({ t, heldDown, heldUp, below, letGo });
		const first = trace.completed - trace.held;
		for (let n = first; n < trace.completed; n++) {
			const row = trace.row(n) as TraceRow;
			const f = row.filters[k];
			if (!f) continue;
			const io: IoRef = { id: row.id, op: opName(row.op), lba: row.lba, sectors: row.sectors, origin: row.origin };
			if (f.downIn < 0 && f.downOut < 0 && f.upIn < 0 && f.upOut < 0) {
				// Not seen by k: a filter I/O of k's own, below k for its whole life.
				if (row.origin === 'filter') {
					ev(row.issuedAt, 0, 0, 1, false);
					ev(row.doneAt, 0, 0, -1, false);
				}
				continue;
			}
			if (f.down === VerdictCode.defer && f.downIn >= 0 && f.downOut >= 0) {
				ev(f.downIn, 1, 0, 0, false);
				ev(f.downOut, -1, 0, 0, false);
				holds.push({ io, from: f.downIn, to: f.downOut, up: false });
			}
			if (f.downOut >= 0) ev(f.downOut, 0, 0, 0, true);
			const endedBelow = row.endedBy === 0 || (row.endedBy !== 255 && row.endedBy - 1 > k);
			if (endedBelow && f.downOut >= 0 && f.upIn >= 0) {
				ev(f.downOut, 0, 0, 1, false);
				ev(f.upIn, 0, 0, -1, false);
			}
			if (f.up === VerdictCode.defer && f.upIn >= 0 && f.upOut >= 0) {
				ev(f.upIn, 0, 1, 0, false);
				ev(f.upOut, 0, -1, 0, false);
				holds.push({ io, from: f.upIn, to: f.upOut, up: true });
			}
			if (f.upOut >= 0) ev(f.upOut, 0, 0, 0, true);
		}
		if (trace.completed > trace.held)
			findings.push({ run: b.name, message: `only the last ${trace.held} of ${trace.completed} trace rows were kept; the analysis covers those` });

		evs.sort((a, c) => a.t - c.t);
		let heldDown = 0;
		let heldUp = 0;
		let below = 0;
		let maxHeld = 0;
		let instants = 0;
		let instantsBelow = 0;
		let maxBelowWhileHeld = 0;
		let open = -1;
		const stalls: { from: number; to: number }[] = [];
		for (let i = 0; i < evs.length; ) {
			const t = evs[i].t;
			let letGo = false;
			for (; i < evs.length && evs[i].t === t; i++) {
				const e = evs[i];
				heldDown += e.heldDown;
				heldUp += e.heldUp;
				below += e.below;
				letGo ||= e.letGo;
			}
			const held = heldDown + heldUp;
			maxHeld = Math.max(maxHeld, held);
			if (heldDown > 0) {
				instants++;
				if (below > 0) instantsBelow++;
				maxBelowWhileHeld = Math.max(maxBelowWhileHeld, below);
			}
			const stalled = held > 0 && below === 0;
			if (open >= 0 && (letGo || !stalled)) {
				stalls.push({ from: open, to: t });
				open = -1;
			}
			if (open < 0 && stalled) open = t;
		}
		if (open >= 0) stalls.push({ from: open, to: b.now });

		const deferrals = holds.length;
		const budget = ctx.setup.budgets.stallUs;
		const longest = stalls.reduce((m, s) => Math.max(m, s.to - s.from), 0);
		const serializes = instantsBelow >= MIN_SERIAL_INSTANTS && maxBelowWhileHeld <= 1;
		if (serializes) {
			const longestHolds = [...holds].filter((h) => !h.up).sort((x, y) => y.to - y.from - (x.to - x.from)).slice(0, 3);
			findings.push({
				run: b.name,
				message: `it serializes: at each of ${instants} instants with deferred I/O held (up to ${maxHeld} at once) at most ${maxBelowWhileHeld} I/O was below it, so the others waited their turn instead of flowing past`
			});
			for (const h of longestHolds)
				findings.push({ run: b.name, io: h.io, t: h.from, message: `waited ${timeText(h.to - h.from)} deferred at the filter while at most one other I/O was below it` });
		}
		for (const s of stalls.filter((x) => x.to - x.from > budget).sort((x, y) => y.to - y.from - (x.to - x.from)).slice(0, 5)) {
			const h = holds.find((x) => x.from <= s.from && x.to >= s.to) ?? holds.find((x) => x.from <= s.from && x.to > s.from);
			findings.push({
				run: b.name,
				...(h ? { io: h.io } : {}),
				t: s.from,
				message: `stalled for ${timeText(s.to - s.from)} (budget ${timeText(budget)}): deferred I/O held, nothing below the filter and nothing let go`
			});
		}
		const passed = findings.length === 0;
		const facts =
			deferrals === 0
				? `the filter deferred none of ${b.guest.ios.size} I/Os (nothing to stall)`
				: `${deferrals} deferrals (up to ${maxHeld} held at once); while I/O was held deferred, up to ${maxBelowWhileHeld} I/O${maxBelowWhileHeld === 1 ? ' was' : 's were'} below the filter${instantsBelow < MIN_SERIAL_INSTANTS && instants > 0 ? ` (${instantsBelow} such instants: too few to judge serialization)` : ''}; longest stall ${timeText(longest)} (budget ${timeText(budget)})`;
		return { passed, summary: passed ? facts : `${serializes ? 'the filter serializes deferred I/O' : 'the filter stalls the disk'}: ${facts}`, findings };
	}
};
