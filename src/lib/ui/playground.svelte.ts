/**
 * The page's state: the scenario being edited (one VM, one disk in focus), the filter catalog,
 * the engine client, playback settings and the live series. Components read and change it; only
 * this class talks to the engine. Scenario edits are plain data (snapshotted before crossing to
 * the worker).
 */
import { EngineClient } from '$lib/worker/engine-client.svelte';
import type { FilterInfo, Frame } from '$lib/worker/api';
import { FILTER_CLASSES, type FilterClass } from '$lib/engine/filter';
import { WORKLOAD_PRESETS } from '$lib/engine/workload/spec';
import { SeriesBuilder, type SeriesPoint } from './series';

export interface ChainEntry {
	type: string;
	class?: FilterClass;
	params: Record<string, number | boolean | string>;
	devices?: Record<string, unknown>;
}

export interface WorkloadEntry {
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
	randomDistribution: { kind: 'random' } | { kind: 'zipf'; theta: number } | { kind: 'pareto'; h: number } | { kind: 'normal'; sigmaPct: number };
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
			datastore: { kind: 'nvme' | 'sata-ssd' | 'hdd' | 'null'; params: Record<string, number> };
			policy: { name: string; allowCleartextFilters: boolean; filters: ChainEntry[] };
			workload: WorkloadEntry[];
		}[];
	}[];
}

/** Playback speeds offered, virtual µs per wall ms (Infinity = as fast as possible). */
export const SPEEDS = [
	{ label: 'Slow motion', usPerMs: 0.05 },
	{ label: '0.2 µs/ms', usPerMs: 0.2 },
	{ label: '1 µs/ms', usPerMs: 1 },
	{ label: 'Real time', usPerMs: 1000 },
	{ label: '10×', usPerMs: 10_000 },
	{ label: 'Max', usPerMs: Infinity }
] as const;

export function defaultEditableScenario(): EditableScenario {
	const w = WORKLOAD_PRESETS.find((p) => p.id === 'oltp')?.spec;
	return {
		version: 1,
		name: 'playground',
		description: '',
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
						datastore: { kind: 'sata-ssd', params: {} },
						policy: { name: 'default', allowCleartextFilters: false, filters: [] },
						workload: [
							{
								rw: w?.rw ?? 'randrw',
								bs: w?.bs ?? 8192,
								iodepth: w?.iodepth ?? 16,
								rwmixread: w?.rwmixread ?? 70,
								ios: 20_000,
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

export class Playground {
	scenario = $state<EditableScenario>(defaultEditableScenario());
	catalog = $state<FilterInfo[]>([]);
	speed = $state<number>(Infinity);
	/** Index of the filter whose panel is open (-1: none). */
	selected = $state(-1);
	/** Live series of the current run. */
	series = $state.raw<SeriesPoint[]>([]);
	readonly client: EngineClient;
	private readonly builder = new SeriesBuilder();
	private unsubscribe: () => void;

	constructor(client = new EngineClient()) {
		this.client = client;
		this.unsubscribe = client.onFrame((f) => this.onFrame(f));
	}

	async init(): Promise<void> {
		this.catalog = await this.client.api.catalog();
	}

	destroy(): void {
		this.unsubscribe();
		this.client.destroy();
	}

	get disk() {
		return this.scenario.vms[0].disks[0];
	}

	get chain(): ChainEntry[] {
		return this.disk.policy.filters;
	}

	info(type: string): FilterInfo | undefined {
		return this.catalog.find((f) => f.name === type);
	}

	classOf(entry: ChainEntry): FilterClass {
		return entry.class ?? this.info(entry.type)?.class ?? 'inspection';
	}

	/** Position of a class in the chain, honouring allowCleartextFilters (encryption last). */
	rank(cls: FilterClass): number {
		if (this.disk.policy.allowCleartextFilters && cls === 'encryption') return FILTER_CLASSES.length;
		return FILTER_CLASSES.indexOf(cls);
	}

	/** Why a filter cannot be added, or undefined when it can. */
	whyNot(type: string, cls?: FilterClass): string | undefined {
		const info = this.info(type);
		if (!info) return `unknown filter "${type}"`;
		const c = cls ?? info.class;
		const taken = this.chain.find((e) => this.classOf(e) === c);
		if (taken) return `the chain already has a ${c} filter ("${taken.type}"): VAIO allows one filter per class`;
		return undefined;
	}

	/** Adds a filter with default parameters, in class order. */
	addFilter(type: string, cls?: FilterClass): void {
		const problem = this.whyNot(type, cls);
		if (problem) throw new Error(problem);
		const info = this.info(type)!;
		const entry: ChainEntry = { type, params: {} };
		if (info.classConfigurable && cls) entry.class = cls;
		this.chain.push(entry);
		this.sortChain();
		this.selected = this.chain.indexOf(this.chain.find((e) => e.type === type && this.classOf(e) === (cls ?? info.class))!);
	}

	removeFilter(index: number): void {
		this.chain.splice(index, 1);
		this.selected = -1;
	}

	setParam(index: number, name: string, value: number | boolean | string): void {
		this.chain[index].params[name] = value;
	}

	setCleartext(on: boolean): void {
		this.disk.policy.allowCleartextFilters = on;
		this.sortChain();
	}

	applyPreset(id: string): void {
		const p = WORKLOAD_PRESETS.find((x) => x.id === id);
		if (!p) return;
		const w = this.disk.workload[0];
		Object.assign(w, {
			rw: p.spec.rw,
			bs: p.spec.bs,
			bssplit: p.spec.bssplit,
			iodepth: p.spec.iodepth,
			rwmixread: p.spec.rwmixread,
			randomDistribution: p.spec.randomDistribution,
			dedupePercentage: p.spec.dedupePercentage,
			thinktimeUs: p.spec.thinktimeUs,
			rateIops: p.spec.rateIops
		});
	}

	/** The scenario as plain data for the worker. */
	snapshot(): EditableScenario {
		return $state.snapshot(this.scenario) as EditableScenario;
	}

	async load(): Promise<void> {
		this.builder.clear();
		this.series = [];
		await this.client.load(this.snapshot());
		await this.client.api.setSpeed(this.speed);
	}

	async play(): Promise<void> {
		if (!this.client.info || this.client.frame?.state === 'finished') await this.load();
		await this.client.api.setSpeed(this.speed);
		await this.client.play();
	}

	async pause(): Promise<void> {
		await this.client.pause();
	}

	async step(): Promise<void> {
		if (!this.client.info || this.client.frame?.state === 'finished') await this.load();
		await this.client.step();
	}

	async setSpeed(usPerMs: number): Promise<void> {
		this.speed = usPerMs;
		if (this.client.info) await this.client.api.setSpeed(usPerMs);
	}

	async runToEnd(): Promise<void> {
		this.builder.clear();
		this.series = [];
		await this.client.run(this.snapshot());
	}

	private onFrame(f: Frame): void {
		if (this.builder.add(f)) this.series = [...this.builder.points];
	}

	private sortChain(): void {
		const order = (e: ChainEntry) => this.rank(this.classOf(e));
		this.disk.policy.filters.sort((a, b) => order(a) - order(b));
	}
}
