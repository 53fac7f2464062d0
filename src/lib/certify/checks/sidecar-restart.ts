/**
 * Check 6: sidecar state survives a restart.
 *
 * A random write run (4 KiB to 64 KiB, aligned) ends with a power-off; then a new Simulation is
 * built with the same memory store factory (the same disk bytes, filter devices and sidecars) and
 * the guest's expected state from the first one: the filter is attached again (its attach reads
 * its sidecar) and the whole region is read back. Every sector must read as the guest last wrote
 * it, with no error: what a filter keeps only in memory (a remap table, a cache map with dirty
 * blocks) is lost in a restart, and reads through the new instance show it.
 */
import { MemoryStoreFactory } from '../../engine/storage/memory';
import { DISK_KEY, type Bench } from '../harness';
import type { Finding } from '../report';
import { restartReadPlan, restartWritePlan } from '../workloads';
import { guestErrorFindings, mismatchFindings, type Check, type CheckContext } from './check';

export const sidecarRestart: Check = {
	id: 'sidecar-restart',
	title: 'sidecar state survives a restart',
	async run(ctx: CheckContext) {
		const stores = new MemoryStoreFactory();
		const findings: Finding[] = [];
		let before: Bench;
		try {
			before = await ctx.bench('restart-write', { streams: restartWritePlan(ctx.ios(600)), stores });
		} catch (e) {
			return fail(`the run could not start: ${(e as Error).message}`, 'restart-write');
		}
		const end = await before.run();
		const endProblem = before.endFinding(end);
		if (endProblem) return { passed: false, summary: 'the write run before the restart did not finish', findings: [endProblem, ...before.heldFindings('never completed')] };
		findings.push(...guestErrorFindings(before));
		const off = await before.control({ type: 'power-off' }, false);
		if (!off.ok) return { passed: false, summary: 'power-off before the restart did not complete', findings: [{ run: before.name, t: before.now, message: off.reason }] };

		let after: Bench;
		try {
			after = await ctx.bench('restart-read', {
				streams: restartReadPlan(),
				stores,
				expected: new Map([[DISK_KEY, before.disk.expected]])
			});
		} catch (e) {
			return fail(`the filter could not be attached again after the restart: ${(e as Error).message}`, 'restart-read');
		}
		const end2 = await after.run();
		const p2 = after.endFinding(end2);
		if (p2) findings.push(p2, ...after.heldFindings('never completed'));
		findings.push(...mismatchFindings(after, ' after the restart'), ...guestErrorFindings(after));
		const writes = [...before.guest.ios.values()].filter((r) => r.ref.op === 'write').length;
		const checked = after.disk.expected.sectorsChecked;
		const passed = findings.length === 0;
		return {
			passed,
			summary: passed
				? `${writes} writes, power-off, restart: ${after.guest.ios.size} reads after the restart verified ${checked} sectors, 0 mismatches`
				: `after ${writes} writes and a restart, ${after.badSectors} sector${after.badSectors === 1 ? '' : 's'} read back wrong in ${after.badReads.length} read${after.badReads.length === 1 ? '' : 's'}${findings.length > after.badReads.length ? ` (and ${findings.length - after.badReads.length} other problems)` : ''}`,
			findings
		};
	}
};

function fail(message: string, run: string) {
	return { passed: false, summary: message, findings: [{ run, message }] };
}
