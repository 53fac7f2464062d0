/**
 * Check 5: control events are handled and leave no held I/O.
 *
 * A 4 KiB random read/write run at queue depth 16 is interrupted by, in turn, snapshot-create,
 * power-off (then power-on), migrate (to another host) and detach, each delivered as the
 * framework does (Simulation.control: the guest pauses, the chain drains, every filter's onEvent
 * runs while the clock runs), with a budget of `controlUs` of virtual time. For each:
 *   - the operation completes: the chain drains (the filter releases what it holds) and every
 *     onEvent settles within the budget;
 *   - afterwards no I/O is inside the chain, and the filter's status shows no held work (by the
 *     playground's convention, a status counter named `held`, `heldIos`, `heldReads` or
 *     `heldWrites` counts the I/Os a filter holds now: it must be 0);
 *   - the run can continue: after each operation but detach the guest resumes, and the next
 *     I/Os (a queue's worth and more) complete; none is held back by the filter;
 *   - nothing is lost meanwhile: every read verifies and no I/O fails.
 */
import type { ControlEvent } from '../../engine/filter';
import type { Bench } from '../harness';
import type { Finding } from '../report';
import { controlPlan } from '../workloads';
import { guestErrorFindings, mismatchFindings, type Check, type CheckContext } from './check';

/** Status counters that, by convention, count the I/Os a filter holds now. */
export const HELD_STATUS_KEYS = ['held', 'heldIos', 'heldReads', 'heldWrites'] as const;

const STEP = 120;

export const controlEvents: Check = {
	id: 'control-events',
	title: 'control events are handled and leave no held I/O',
	async run(ctx: CheckContext) {
		const step = ctx.ios(STEP);
		let b: Bench;
		try {
			b = await ctx.bench('control', { streams: controlPlan(step * 1000) });
		} catch (e) {
			return { passed: false, summary: 'the control run could not start', findings: [{ run: 'control', message: `the run could not start: ${(e as Error).message}` }] };
		}
		const findings: Finding[] = [];
		const done: string[] = [];
		const events: [ControlEvent, ControlEvent?][] = [
			[{ type: 'snapshot-create', snapshot: 'certify-snap-1' }],
			[{ type: 'power-off' }, { type: 'power-on' }],
			[{ type: 'migrate', toHost: 'esx-02' }],
			[{ type: 'detach' }]
		];
		const advance = async (label: string): Promise<boolean> => {
			const target = b.guest.completed + step;
			const end = await b.run(() => b.guest.completed >= target);
			if (b.guest.completed >= target) return true;
			const f = b.endFinding(end);
			findings.push({
				run: b.name,
				t: b.now,
				message: `${label}: the run could not continue: ${b.guest.completed - (target - step)} of ${step} I/Os completed${f ? ` (${f.message})` : ''}`
			});
			findings.push(...b.heldFindings(`${label}, held`));
			return false;
		};

		let ok = await advance('before the first control operation');
		for (const [event, then] of events) {
			if (!ok) break;
			const label = event.type;
			const r = await b.control(event, false);
			if (!r.ok) {
				findings.push({ run: b.name, t: b.now, message: r.reason });
				findings.push(...b.heldFindings(`${label} could not proceed`));
				ok = false;
				break;
			}
			findings.push(...leftovers(b, label));
			if (then) {
				const r2 = await b.control(then, false);
				if (!r2.ok) {
					findings.push({ run: b.name, t: b.now, message: r2.reason });
					ok = false;
					break;
				}
				findings.push(...leftovers(b, `${label} + ${then.type}`));
			}
			done.push(then ? `${label}/${then.type}` : label);
			if (event.type !== 'detach') {
				b.resumeGuest();
				ok = await advance(`after ${label}`);
			}
		}
		findings.push(...mismatchFindings(b), ...guestErrorFindings(b));
		const passed = findings.length === 0;
		return {
			passed,
			summary: passed
				? `${done.join(', ')}: each completed with no I/O left in the chain or held, and the run continued (${b.guest.completed} I/Os, all verified)`
				: `${findings.length} problem${findings.length > 1 ? 's' : ''}${done.length ? ` (handled: ${done.join(', ')})` : ''}`,
			findings
		};
	}
};

/** I/O left in the chain, or held according to the filter's status, right after an operation. */
function leftovers(b: Bench, label: string): Finding[] {
	const out: Finding[] = [];
	if (b.disk.chain.inFlight > 0) out.push(...b.heldFindings(`after ${label}, left inside the chain`));
	const status = b.tested.status();
	for (const k of HELD_STATUS_KEYS) {
		const v = status[k];
		if (typeof v === 'number' && v > 0)
			out.push({ run: b.name, t: b.now, message: `after ${label}, the filter's status shows ${k} = ${v}: it still holds work` });
	}
	return out;
}
