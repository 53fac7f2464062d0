/**
 * Check 1: every I/O completes exactly once.
 *
 * Over the mixed, the queue-depth-32 and the fault runs:
 * - the guest sees every I/O it issued complete exactly once, and the probe above (when the
 *   filter is not itself in the top class) sees each one come back up (onDone) exactly once;
 * - no I/O is held forever: when a run stops with guest I/O outstanding or I/O in the chain (no
 *   guest completion for `quietUs` of virtual time, or nothing left to happen), each such I/O is
 *   named with where it is held and since when;
 * - the filter never resumes, completes or fails an I/O it does not hold (one it never deferred,
 *   or one it has let go already: a second completion). The engine ignores such a call and logs
 *   "…(I/O #n) ignored: the filter does not hold that I/O"; every such line is a finding.
 */
import type { Bench } from '../harness';
import type { Finding, IoRef } from '../report';
import { runProblems, type Check, type CheckContext, type RunOutcome } from './check';

const IGNORED = /^(resume|complete|fail|resumeUp|failUp)\(I\/O #(\d+)\) ignored: the filter does not hold that I\/O/;

export const exactlyOnce: Check = {
	id: 'exactly-once',
	title: 'every I/O completes exactly once',
	async run(ctx: CheckContext) {
		const runs = [await ctx.mixed(), await ctx.qd32(), await ctx.faults()];
		const findings: Finding[] = [];
		let ios = 0;
		let misuse = 0;
		let held = 0;
		for (const o of runs) {
			findings.push(...runProblems(o));
			const b = o.bench;
			if (!b) continue;
			ios += b.guest.ios.size;
			findings.push(...completions(b));
			const heldHere = o.end.kind === 'finished' ? [] : b.heldFindings('never completed');
			held += heldHere.length;
			findings.push(...heldHere);
			const m = misuseFindings(b);
			misuse += m.length;
			findings.push(...m);
		}
		const passed = findings.length === 0 && runs.every((o) => o.bench !== undefined);
		const summary = passed
			? `${ios} guest I/Os in ${runs.length} runs (mixed, qd32, faults), each completed exactly once; the filter never let go of an I/O it did not hold`
			: [
					held ? `${held} I/O never completed` : '',
					misuse ? `${misuse} call${misuse > 1 ? 's' : ''} on an I/O the filter did not hold (ignored by the framework)` : '',
					findings.length - held - misuse > 0 ? `${findings.length - held - misuse} other problem${findings.length - held - misuse > 1 ? 's' : ''}` : ''
				]
					.filter(Boolean)
					.join('; ');
		return { passed, summary, findings };
	}
};

/** Guest I/Os completed more than once, or seen more (or less) than once by the probe above. */
function completions(b: Bench): Finding[] {
	const out: Finding[] = [];
	for (const r of b.guest.ios.values()) {
		if (r.completions > 1)
			out.push({ run: b.name, io: r.ref, t: r.doneAt, message: `the guest saw it complete ${r.completions} times` });
		if (!b.above || r.completions === 0) continue;
		const p = b.above.ios.get(r.ref.id);
		const dones = p?.dones ?? 0;
		if (dones !== 1)
			out.push({
				run: b.name,
				io: r.ref,
				t: r.doneAt,
				message: `completed at the guest, but the probe above saw it come back up ${dones} times`
			});
	}
	return out;
}

/** The engine's "ignored: the filter does not hold that I/O" lines for the filter under test. */
function misuseFindings(b: Bench): Finding[] {
	const out: Finding[] = [];
	const name = b.setup.def.name;
	for (const e of b.sim.log) {
		if (e.source !== name) continue;
		const m = IGNORED.exec(e.message);
		if (!m) continue;
		const id = Number(m[2]);
		const io: IoRef | undefined = b.guest.ios.get(id)?.ref ?? b.below?.ios.get(id)?.ref;
		const g = b.guest.ios.get(id);
		const state = g && g.completions > 0 && g.doneAt <= e.t ? ` (it had completed at t=${g.doneAt} µs)` : io ? '' : ` (I/O #${id})`;
		out.push({
			run: b.name,
			...(io ? { io } : {}),
			t: e.t,
			message: `${m[1]}() on an I/O the filter does not hold${state}: the framework ignored it (a second completion, or a completion of an I/O it never deferred)`
		});
	}
	return out;
}
