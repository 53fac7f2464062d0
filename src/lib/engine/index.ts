/**
 * The engine's public face: build a simulation from a scenario, run it, summarise it. The same
 * functions serve the CLI (Node) and the Worker (browser).
 */
import { builtinRegistry } from '../filters';
import type { FilterRegistry } from './registry';
import { runResult, type RunResult } from './result';
import { Simulation } from './simulation';
import type { ScenarioInput } from './scenario/schema';
import type { StoreFactory } from './storage/types';

export type { RunResult } from './result';
export type { Scenario, ScenarioInput } from './scenario/schema';
export { ScenarioError, parseScenario, SCENARIO_VERSION } from './scenario/schema';
export { Simulation } from './simulation';

/** One VM, one 20 GiB NVMe-backed disk, a pass-through inspection filter, 4 KiB 70/30 random at QD 32. */
export function defaultScenario(): ScenarioInput {
	return {
		version: 1,
		name: 'default',
		description: '4 KiB random 70/30 read/write at queue depth 32 through a pass-through filter.',
		seed: 42,
		hosts: [{ name: 'esx-01' }],
		vms: [
			{
				name: 'vm-01',
				host: 'esx-01',
				disks: [
					{
						name: 'disk-0',
						size: '20g',
						datastore: { kind: 'nvme' },
						policy: { filters: [{ type: 'passthrough', class: 'inspection' }] },
						workload: [{ rw: 'randrw', bs: '4k', rwmixread: 70, iodepth: 32, ios: 10_000 }]
					}
				]
			}
		]
	};
}

export interface RunOptions {
	registry?: FilterRegistry;
	stores?: StoreFactory;
}

/** Validates, builds and runs a scenario to the end; returns its summary. */
export async function runScenario(scenario: unknown, options: RunOptions = {}): Promise<RunResult> {
	const sim = await Simulation.create(scenario, { registry: options.registry ?? builtinRegistry(), stores: options.stores });
	await sim.run();
	const result = runResult(sim);
	// Stores of the run's own: nobody can read them after this, so their memory serves the next run.
	if (!options.stores) await sim.stores.wipe();
	return result;
}
