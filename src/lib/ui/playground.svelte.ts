/**
 * The page's state: the scenario being edited (one VM, one disk in focus), the filter catalog,
 * the engine client, playback settings and the live series. Components read and change it; only
 * this class talks to the engine. Scenario edits are plain data (snapshotted before crossing to
 * the worker).
 */
import { EngineClient } from '$lib/worker/engine-client.svelte';
import type { FilterInfo, Frame, ReplayOptions, StorageInfo } from '$lib/worker/api';
import { FILTER_CLASSES, type FilterClass } from '$lib/engine/filter';
import { cloneWorkload, WORKLOAD_PRESETS } from '$lib/engine/workload/spec';
import { SeriesBuilder, type SeriesPoint } from './series';
import { defaultEditableScenario, type ChainEntry, type EditableScenario, type FilterDeviceEntry } from './editable-scenario';

export { defaultEditableScenario };
export type { ChainEntry, EditableScenario, FilterDeviceEntry, WorkloadEntry } from './editable-scenario';

/** Playback speeds offered, virtual µs per wall ms (Infinity = as fast as possible). */
export const SPEEDS = [
	{ label: 'Slow motion', usPerMs: 0.05 },
	{ label: '0.2 µs/ms', usPerMs: 0.2 },
	{ label: '1 µs/ms', usPerMs: 1 },
	{ label: 'Real time', usPerMs: 1000 },
	{ label: '10×', usPerMs: 10_000 },
	{ label: 'Max', usPerMs: Infinity }
] as const;

/** What the page shows as the run's state (data-state of the status line). */
export type PlayStatus = 'idle' | 'loading' | 'ready' | 'running' | 'paused' | 'done' | 'stopped' | 'error';

export type LogEntry = Frame['log'][number];

/** Wall time between summary refreshes while a run plays, ms. */
const RESULT_REFRESH_MS = 400;

export class Playground {
	scenario = $state<EditableScenario>(defaultEditableScenario());
	catalog = $state<FilterInfo[]>([]);
	speed = $state<number>(Infinity);
	/** Index of the filter whose panel is open (-1: none). */
	selected = $state(-1);
	/** The dock's tab (charts, trace or log): part of a share link. */
	view = $state<'charts' | 'trace' | 'log'>('charts');
	/** Live series of the current run. */
	series = $state.raw<SeriesPoint[]>([]);
	/** The run's event log so far (control operations, faults, filter messages). */
	log = $state.raw<LogEntry[]>([]);
	/** Runs started since the page opened (one run = one load of the scenario). */
	runs = $state(0);
	/** Where the disks live (store, persistence, usage and quota), refreshed after each load. */
	storage = $state<StorageInfo | null>(null);
	/** The workload preset last applied ('' when edited by hand or none). */
	preset = $state('');
	/** The scenario as last loaded into the engine (JSON), to tell when edits need a reload. */
	private loadedJson = $state('');
	readonly client: EngineClient;
	private readonly builder = new SeriesBuilder();
	private unsubscribe: () => void;
	private lastResultAt = 0;

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

	/** True when the scenario was edited since it was loaded (Play then starts a new run). */
	get dirty(): boolean {
		return this.loadedJson !== '' && JSON.stringify(this.scenario) !== this.loadedJson;
	}

	/** The run's state as the page shows it. */
	get status(): PlayStatus {
		const c = this.client;
		if (c.status === 'error') return 'error';
		if (c.status === 'loading') return 'loading';
		if (c.status === 'running') return 'running';
		switch (c.frame?.state) {
			case 'finished':
				return 'done';
			case 'paused':
				return 'paused';
			case 'ready':
				return 'ready';
			case 'running':
				return 'running';
			case 'stopped':
				return 'stopped';
			case 'error':
				return 'error';
		}
		return c.status === 'done' ? 'done' : 'idle';
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

	/** The classes in the order the chain invokes them (top = guest side). */
	get classOrder(): FilterClass[] {
		return [...FILTER_CLASSES].sort((a, b) => this.rank(a) - this.rank(b));
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
		this.selected = this.chain.findIndex((e) => e.type === type && this.classOf(e) === (cls ?? info.class));
	}

	removeFilter(index: number): void {
		this.chain.splice(index, 1);
		this.selected = -1;
	}

	setParam(index: number, name: string, value: number | boolean | string): void {
		this.chain[index].params[name] = value;
	}

	/** Back to the parameter table's defaults and the filter's default devices. */
	resetParams(index: number): void {
		this.chain[index].params = {};
		delete this.chain[index].devices;
	}

	/** Why filter `index` cannot move to class `cls`, or undefined when it can. */
	whyNotClass(index: number, cls: FilterClass): string | undefined {
		const entry = this.chain[index];
		if (!entry) return 'no such filter';
		if (!this.info(entry.type)?.classConfigurable) return `the ${entry.type} filter's class is fixed`;
		const taken = this.chain.find((e, i) => i !== index && this.classOf(e) === cls);
		if (taken) return `the chain already has a ${cls} filter ("${taken.type}"): VAIO allows one filter per class`;
		return undefined;
	}

	/** Moves a configurable-class filter to another class (the chain re-sorts). */
	setClass(index: number, cls: FilterClass): void {
		const problem = this.whyNotClass(index, cls);
		if (problem) throw new Error(problem);
		const entry = this.chain[index];
		entry.class = cls;
		this.sortChain(entry);
	}

	/** Sets (or, with undefined, clears back to the filter's default) the device of a role. */
	setDevice(index: number, role: string, spec: FilterDeviceEntry | undefined): void {
		const entry = this.chain[index];
		if (spec === undefined) {
			if (entry.devices) delete entry.devices[role];
			return;
		}
		entry.devices ??= {};
		entry.devices[role] = spec;
	}

	setCleartext(on: boolean): void {
		this.disk.policy.allowCleartextFilters = on;
		this.sortChain(this.chain[this.selected]);
	}

	applyPreset(id: string): void {
		const p = WORKLOAD_PRESETS.find((x) => x.id === id);
		if (!p) return;
		const s = cloneWorkload(p.spec);
		const w = this.disk.workload[0];
		w.rw = s.rw;
		w.bs = s.bs;
		w.iodepth = s.iodepth;
		w.rwmixread = s.rwmixread;
		w.ios = s.ios;
		w.randomDistribution = s.randomDistribution;
		w.dedupePercentage = s.dedupePercentage;
		w.thinktimeUs = s.thinktimeUs;
		w.rateIops = s.rateIops;
		if (s.bssplit) w.bssplit = s.bssplit;
		else delete w.bssplit;
		for (const k of ['runtimeUs', 'size', 'offset', 'blockalign', 'ioSize', 'fsync'] as const) {
			const v = s[k];
			if (v) w[k] = v;
			else delete w[k];
		}
		this.preset = id;
	}

	/** The scenario as plain data for the worker. */
	snapshot(): EditableScenario {
		return $state.snapshot(this.scenario) as EditableScenario;
	}

	async load(): Promise<void> {
		this.startRun();
		await this.client.load(this.snapshot());
		await this.client.api.setSpeed(this.speed);
		void this.refreshStorage();
	}

	async refreshStorage(): Promise<void> {
		try {
			this.storage = await this.client.api.storageInfo();
		} catch {
			// not available (an older worker, or no navigator.storage): keep the placeholder
		}
	}

	async play(): Promise<void> {
		if (this.needsLoad()) await this.load();
		if (this.client.status === 'error') return;
		await this.client.api.setSpeed(this.speed);
		await this.client.play();
	}

	async pause(): Promise<void> {
		await this.client.pause();
		await this.refreshResult();
	}

	async step(): Promise<void> {
		if (this.needsLoad()) await this.load();
		if (this.client.status === 'error') return;
		await this.client.step();
		await this.refreshResult();
	}

	/**
	 * Loads the scenario with a trace file replacing the first disk's workload (not started; the
	 * file is then streamed in through client.api.replayPush). False when the load failed.
	 */
	async loadReplay(replay: ReplayOptions): Promise<boolean> {
		this.startRun();
		await this.client.load(this.snapshot(), 'memory', replay);
		if (this.client.status === 'error') return false;
		await this.client.api.setSpeed(this.speed);
		return true;
	}

	/** Stops the run, wipes the engine's stores and loads the scenario afresh (0 I/Os). */
	async reset(): Promise<void> {
		await this.client.api.reset();
		await this.load();
	}

	async setSpeed(usPerMs: number): Promise<void> {
		this.speed = usPerMs;
		if (this.client.info) await this.client.api.setSpeed(usPerMs);
	}

	async runToEnd(): Promise<void> {
		this.startRun();
		const result = await this.client.run(this.snapshot());
		if (result) this.log = result.log;
		void this.refreshStorage();
	}

	/** Fetches the run's summary so far (totals, percentiles, digest of the trace so far). */
	async refreshResult(): Promise<void> {
		if (!this.client.info) return;
		const run = this.runs;
		this.lastResultAt = performance.now();
		try {
			const r = await this.client.api.result();
			if (run === this.runs) this.client.result = r;
		} catch {
			// no scenario loaded (e.g. reset in between): keep what is shown
		}
	}

	private needsLoad(): boolean {
		const s = this.client.frame?.state;
		return !this.client.info || this.dirty || s === 'finished' || s === 'stopped' || s === 'error' || s === 'empty' || this.client.status === 'error';
	}

	private startRun(): void {
		this.runs += 1;
		this.builder.clear();
		this.series = [];
		this.log = [];
		this.client.result = null;
		this.loadedJson = JSON.stringify(this.scenario);
	}

	private onFrame(f: Frame): void {
		if (this.builder.add(f)) this.series = [...this.builder.points];
		if (f.log.length > 0) this.log = [...this.log, ...f.log].slice(-5000);
		if (f.state === 'running' && performance.now() - this.lastResultAt > RESULT_REFRESH_MS) void this.refreshResult();
	}

	private sortChain(keep?: ChainEntry): void {
		const order = (e: ChainEntry) => this.rank(this.classOf(e));
		this.disk.policy.filters.sort((a, b) => order(a) - order(b));
		if (keep) this.selected = this.chain.indexOf(keep);
	}
}
