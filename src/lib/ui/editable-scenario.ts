/**
 * The scenario as the page edits it: plain data in the engine's schema (sizes in bytes), one VM
 * with one disk in focus. No runes and only relative imports, so Node (the e2e tests, the CLI)
 * can build the same scenario the page starts with.
 */
import type { FilterClass } from '../engine/filter';

export interface ChainEntry {
	type: string;
	class?: FilterClass;
	params: Record<string, number | boolean | string>;
	/** Devices by role (e.g. ssd, wan, replica), as the scenario schema writes them. */
	devices?: Record<string, FilterDeviceEntry>;
}

export type StorageKind = 'nvme' | 'sata-ssd' | 'hdd' | 'null';

export type FilterDeviceEntry =
	| { kind: StorageKind; params?: Record<string, number> }
	| { kind: 'wan'; rttUs?: number; mbitPerSec?: number };

export type RandomDistributionEntry =
	| { kind: 'random' }
	| { kind: 'zipf'; theta: number }
	| { kind: 'pareto'; h: number }
	| { kind: 'normal'; sigmaPct: number }
	| { kind: 'zoned'; zones: { accessPct: number; sizePct: number }[] };

export interface WorkloadEntry {
	/** The stream's name (its fio job's [section]); absent: vaio, vaio-1, … by position. */
	name?: string;
	rw: string;
	bs: number;
	iodepth: number;
	rwmixread: number;
	ios: number;
	runtimeUs?: number;
	size?: number;
	offset?: number;
	blockalign?: number;
	bssplit?: { bs: number; pct: number }[];
	/** Bytes to issue before stopping (fio io_size), from an imported job file. */
	ioSize?: number;
	/** A flush after every N writes (fio fsync), from an imported job file. */
	fsync?: number;
	/** Sequential modes: bytes added to the next offset after each I/O (fio rw=MODE:N), from an imported job file. */
	seqAdd?: number;
	randomDistribution: RandomDistributionEntry;
	/** fio's random map (each block once per pass), from an imported job file without norandommap. */
	randomMap?: boolean;
	dedupePercentage: number;
	thinktimeUs: number;
	rateIops: number;
}

export interface EditableScenario {
	version: 1;
	name: string;
	description: string;
	seed: number;
	hosts: { name: string }[];
	vms: {
		name: string;
		host: string;
		disks: {
			name: string;
			size: number;
			datastore: { kind: StorageKind; params: Record<string, number> };
			policy: { name: string; allowCleartextFilters: boolean; filters: ChainEntry[] };
			workload: WorkloadEntry[];
		}[];
	}[];
}

/**
 * What the page loads with and runs once on load: the engine's default scenario (engine/index.ts
 * defaultScenario) written out in the page's form: 4 KiB random 70/30 at queue depth 32 on NVMe
 * through a pass-through filter. Same trace, same digest (the e2e smoke test checks both).
 */
export function defaultEditableScenario(): EditableScenario {
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
						size: 20 * 2 ** 30,
						datastore: { kind: 'nvme', params: {} },
						policy: {
							name: 'default',
							allowCleartextFilters: false,
							filters: [{ type: 'passthrough', class: 'inspection', params: {} }]
						},
						workload: [
							{
								rw: 'randrw',
								bs: 4096,
								iodepth: 32,
								rwmixread: 70,
								ios: 10_000,
								randomDistribution: { kind: 'random' },
								dedupePercentage: 0,
								thinktimeUs: 0,
								rateIops: 0
							}
						]
					}
				]
			}
		]
	};
}
