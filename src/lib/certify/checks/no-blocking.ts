/**
 * Check 7: no blocking on the I/O path beyond a budget.
 *
 * A hook that charges time (ctx.charge: a blocking call) holds the disk's single I/O path: every
 * other I/O of the disk waits (that is VAIO's lesson; defer does not block). Over the mixed, the
 * queue-depth-32 and the fault runs, the framework's counter chargedUs of the filter divided by
 * the guest I/Os must stay within budgets.chargePerIoUs (default 50 µs per I/O on average), and
 * no single hook call (onIo, onDone) or timer callback may charge more than
 * budgets.chargePerCallUs (default 1 ms).
 */
import type { ChargeRecord } from '../probes';
import { timeText, type Finding } from '../report';
import { runProblems, type Check, type CheckContext } from './check';

export const noBlocking: Check = {
	id: 'no-blocking',
	title: 'no blocking on the I/O path beyond a budget',
	async run(ctx: CheckContext) {
		const runs = [await ctx.mixed(), await ctx.qd32(), await ctx.faults()];
		const { chargePerIoUs, chargePerCallUs } = ctx.setup.budgets;
		const findings: Finding[] = [];
		let charged = 0;
		let ios = 0;
		let max: (ChargeRecord & { run: string }) | undefined;
		let over = 0;
		for (const o of runs) {
			const b = o.bench;
			if (!b) {
				findings.push(...runProblems(o));
				continue;
			}
			charged += b.tested.counters.chargedUs;
			ios += b.guest.ios.size;
			const m = b.calls.max;
			if (m && (!max || m.us > max.us)) max = { ...m, run: b.name };
			over += b.calls.overCount;
			for (const c of b.calls.over)
				if (findings.length < 20)
					findings.push({
						run: b.name,
						...(c.io ? { io: c.io } : {}),
						t: c.t,
						message: `${c.call} charged ${timeText(c.us)} of blocking time (budget ${timeText(chargePerCallUs)} per call): the whole disk waited`
					});
		}
		const mean = ios > 0 ? charged / ios : 0;
		if (mean > chargePerIoUs)
			findings.unshift({
				message: `${timeText(mean)} of blocking time per I/O on average (${timeText(charged)} over ${ios} I/Os; budget ${timeText(chargePerIoUs)})`
			});
		const passed = findings.length === 0;
		const worst = max ? `; largest single charge ${timeText(max.us)} in ${max.call}` : '; nothing charged';
		return {
			passed,
			summary: `${timeText(mean)} per I/O on average (budget ${timeText(chargePerIoUs)})${worst} (budget ${timeText(chargePerCallUs)} per call)${over ? `; ${over} calls over budget` : ''}`,
			findings
		};
	}
};
