/**
 * `--fio-out FILE`: the run's workload as a fio job file fio accepts (the page's Export, in the
 * CLI): the first disk's streams, one [job] each, with the scenario's seed as randseed and the
 * disk's size as filesize in the jobs that cover the whole disk. Written before the run, so a scenario, a --fio job with its
 * overrides, or --ios can be turned into a job file to run on a real device.
 */
import { formatFioJob } from '../lib/engine/workload/fio';
import { workloadSpec } from '../lib/engine/simulation';
import type { Scenario } from '../lib/engine/scenario/schema';

export class FioOutError extends Error {}

/** The job file's text: a stream's [job] is its name (a --fio file's job names), else vaio, vaio-1, … */
export function fioJobText(scenario: Scenario): string {
	const vm = scenario.vms[0];
	const disk = vm?.disks[0];
	if (!disk || disk.workload.length === 0) throw new FioOutError('the first disk has no workload to export');
	const more = scenario.vms.reduce((n, v) => n + v.disks.length, 0) - 1;
	try {
		const text = formatFioJob(
			disk.workload.map((w) => ({ name: w.name, spec: workloadSpec(w) })),
			{ title: `VAIO Playground: ${scenario.name} (${vm.name}/${disk.name})`, seed: scenario.seed, diskBytes: disk.size }
		);
		return more > 0 ? text.replace('\n', `\n; Only ${vm.name}/${disk.name}: the scenario's ${more} other disk(s) are not in this file.\n`) : text;
	} catch (e) {
		throw new FioOutError(e instanceof Error ? e.message : String(e));
	}
}
