/**
 * Check 4: failure is reported only upward.
 *
 * The fault run: the probe below the filter wraps the flaky filter in the bottom class
 * (datastoreIoControl), which fails 20 % of all I/O reaching it (reads, writes, and the filter's
 * own I/O, anywhere on the disk, so a filter that remaps addresses is hit too) during a random
 * read/write phase; then the faults stop and the whole region is read back and verified.
 *
 *  (a) A failure never travels down. The probe below must never see an I/O arrive already
 *      carrying an error, nor see one go back up through it with an error raised above it (by
 *      the filter under test or higher): when a filter fails an I/O, only the filters before it
 *      are told. A failure the filter raises itself reaches the guest (and the probe above).
 *  (b) A failure below reaches the guest. A guest I/O the probe below saw fail must fail at the
 *      guest, unless the filter retried it successfully: the probe below then saw an I/O of the
 *      filter's own, of the same operation, covering the failed range, succeed after the failure
 *      and before the guest's completion. And since a write whose failure was hidden did not land,
 *      the read-back must find every sector as the guest was told it was written.
 *
 * Not applicable when the filter's own class is the bottom one: no filter can sit below it.
 */
import { PROBE_BELOW, type ProbeIoRecord } from '../probes';
import { timeText, type Finding } from '../report';
import { mismatchFindings, runProblems, setupFailed, type Check, type CheckContext } from './check';

export const failureUpward: Check = {
	id: 'failure-upward',
	title: 'failure is reported only upward',
	async run(ctx: CheckContext) {
		const o = await ctx.faults();
		const b = o.bench;
		if (!b) return setupFailed(o);
		const below = b.below;
		if (!below)
			return {
				passed: true,
				skipped: true,
				summary: `not applicable: the filter is in the bottom class (${ctx.setup.cls}); no filter can be below it to fail I/O`,
				findings: []
			};
		const name = ctx.setup.def.name;
		const findings: Finding[] = [...runProblems(o)];
		let downward = 0;
		for (const r of below.ios.values()) {
			if (r.errorDown) {
				downward++;
				findings.push({
					run: b.name,
					io: r.ref,
					t: r.downAt,
					message: `reached the probe below already failed (${r.errorDown.code} from ${r.errorDown.source}: ${r.errorDown.message}): a failure was told downward`
				});
			} else if (r.errorUp && !r.failedHere && r.errorUp.source !== 'device' && r.errorUp.source !== PROBE_BELOW) {
				downward++;
				findings.push({
					run: b.name,
					io: r.ref,
					t: r.doneAt,
					message: `went back up through the probe below with a failure raised above it (${r.errorUp.code} from ${r.errorUp.source}): a failure was told downward`
				});
			}
		}

		// Filter I/Os of the filter's own that succeeded below: candidate retries.
		const own = [...below.ios.values()].filter((r) => r.ref.origin === 'filter' && r.dones > 0 && !r.errorUp);
		let failedBelow = 0;
		let reachedGuest = 0;
		let retried = 0;
		let swallowed = 0;
		for (const g of b.guest.ios.values()) {
			const r = below.ios.get(g.ref.id);
			// Failed by flaky in the probe's onIo (the probe's onDone is not called then), or below it.
			if (!r || !(r.failedHere || (r.errorUp && r.dones > 0 && (r.errorUp.source === 'device' || r.errorUp.source === PROBE_BELOW)))) continue;
			failedBelow++;
			const failedAt = r.failedHere ? r.downAt : r.doneAt;
			const how = r.failedHere ? 'EIO injected by flaky' : `${r.errorUp!.code} from ${r.errorUp!.source}`;
			if (g.completions === 0) continue; // never completed: check 1's finding (and the run's)
			if (g.error) {
				reachedGuest++;
				continue;
			}
			if (isRetried(r, failedAt, own, g.doneAt)) {
				retried++;
				continue;
			}
			swallowed++;
			findings.push({
				run: b.name,
				io: g.ref,
				t: g.doneAt,
				message: `failed below at t=${timeText(failedAt)} (${how}) but completed successfully at the guest, with no successful retry below: the failure was swallowed`
			});
		}
		const fromFilter = [...b.guest.ios.values()].filter((g) => g.error?.source === name).length;
		const bad = mismatchFindings(b, ' (a write whose failure was hidden from the guest?)');
		findings.push(...bad);
		const passed = findings.length === 0;
		const facts = `${below.injected} faults injected below; ${failedBelow} guest I/Os failed below: ${reachedGuest} failed at the guest, ${retried} retried successfully${swallowed ? `, ${swallowed} swallowed` : ''}; ${fromFilter} failed by the filter itself${downward ? `; ${downward} failures told downward` : ', none told downward'}; read-back ${b.badSectors ? `found ${b.badSectors} wrong sectors` : 'clean'}`;
		return {
			passed,
			summary: below.injected === 0 && passed ? `${facts} (no fault reached the filter's path: nothing to judge)` : facts,
			findings
		};
	}
};

/** Whether a successful filter I/O of the same op covered the failed range between failure and completion. */
function isRetried(failed: ProbeIoRecord, failedAt: number, own: ProbeIoRecord[], guestDoneAt: number): boolean {
	const start = failed.ref.lba;
	const end = start + failed.ref.sectors;
	const spans = own
		.filter((r) => r.ref.op === failed.ref.op && r.downAt >= failedAt && r.doneAt <= guestDoneAt && r.ref.lba < end && r.ref.lba + r.ref.sectors > start)
		.map((r) => [r.ref.lba, r.ref.lba + r.ref.sectors] as const)
		.sort((x, y) => x[0] - y[0]);
	let covered = start;
	for (const [s, e] of spans) {
		if (s > covered) return false;
		covered = Math.max(covered, e);
		if (covered >= end) return true;
	}
	return covered >= end;
}
