/**
 * Small scenario builders for tests that run a whole Simulation (guest, verification, metrics).
 */
import { builtinRegistry } from '../../src/lib/filters';
import type { FilterDef } from '../../src/lib/engine/filter';
import type { FilterRegistry } from '../../src/lib/engine/registry';
import type { ScenarioInput } from '../../src/lib/engine/scenario/schema';
import { Simulation } from '../../src/lib/engine/simulation';
import { runResult, type RunResult } from '../../src/lib/engine/result';

type Disk = ScenarioInput['vms'][number]['disks'][number];
export type FilterAttachmentInput = NonNullable<NonNullable<Disk['policy']>['filters']>[number];
export type WorkloadInput = NonNullable<Disk['workload']>[number];

export interface OneDisk {
	filters?: FilterAttachmentInput[];
	workload?: WorkloadInput[];
	datastore?: Disk['datastore'];
	size?: Disk['size'];
	seed?: number;
	allowCleartextFilters?: boolean;
	traceCapacity?: number;
}

/** One host, one VM, one disk (1 GiB on a null device completing at once unless given). */
export function oneDisk(o: OneDisk = {}): ScenarioInput {
	return {
		version: 1,
		name: 'test',
		seed: o.seed ?? 7,
		vms: [
			{
				name: 'vm-01',
				disks: [
					{
						name: 'disk-0',
						size: o.size ?? '1g',
						datastore: o.datastore ?? { kind: 'null' },
						policy: { allowCleartextFilters: o.allowCleartextFilters ?? false, filters: o.filters ?? [] },
						workload: o.workload ?? [{ rw: 'randrw', bs: '4k', iodepth: 8, ios: 500 }]
					}
				]
			}
		],
		run: { traceCapacity: o.traceCapacity ?? 4096 }
	};
}

/** The built-in filters plus the given test filters, in one fresh registry. */
export function registryWith(...defs: FilterDef[]): FilterRegistry {
	const r = builtinRegistry();
	for (const d of defs) r.register(d);
	return r;
}

/** Builds and runs a scenario to the end; returns the simulation and its summary. */
export async function runSim(scenario: ScenarioInput, registry: FilterRegistry = builtinRegistry()): Promise<{ sim: Simulation; result: RunResult }> {
	const sim = await Simulation.create(scenario, { registry });
	await sim.run();
	return { sim, result: runResult(sim) };
}
