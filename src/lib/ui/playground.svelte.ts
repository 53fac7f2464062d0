/**
 * The page's state: the scenario being edited (one VM, one disk in focus), the filter catalog,
 * the engine client, playback settings and the live series. Components read and change it; only
 * this class talks to the engine. Scenario edits are plain data (snapshotted before crossing to
 * the worker).
 */
import { EngineClient } from '$lib/worker/engine-client.svelte';
import type { FilterInfo, Frame, LoadInfo, ReplayOptions, SavedSession, StorageInfo, StoreChoice } from '$lib/worker/api';
import { chooseStore, explainStoreError, requestPersistentStorage, restoreNote, STORE_PREFERENCE_KEY, type StoreProblem } from '$lib/worker/storage-info';
import { editableScenario } from './links';
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
	/**
	 * The store the page's runs use: OPFS where the browser has it, else IndexedDB, or the
	 * user's remembered choice (memory among them). Settled by initStore().
	 */
	store = $state<StoreChoice>('memory');
	/** Stores this browser offers (from the worker), best first. */
	stores = $state<StoreChoice[]>([]);
	/**
	 * Runs on the memory store whatever `store` says. Lessons and embeds set it: their runs must
	 * never wipe or change the disks the user keeps in OPFS or IndexedDB.
	 */
	scratch = $state(false);
	/** Why the page runs in memory while `scratch`: a lesson, or a link opened beside saved disks. */
	scratchFor = $state<'lesson' | 'link'>('lesson');
	/**
	 * The next load starts from empty disks instead of keeping the saved ones: set when a share
	 * link or a file is opened, so its run is reproduced as it was made (same digest).
	 */
	freshNext = false;
	/** True once navigator.storage.persist() said yes; null before it was asked. */
	persisted = $state<boolean | null>(null);
	/** A store that cannot be used (full, held by another tab, missing), in words; null when all is well. */
	storeProblem = $state<StoreProblem | null>(null);
	/** What the latest load did with the saved disks (restored, or wiped and why). */
	restoreNotice = $state<{ kind: 'info' | 'warn'; text: string } | null>(null);
	/** A note about the store choice itself (a remembered store missing here). */
	storeNote = $state<string | null>(null);
	/** The workload preset last applied ('' when edited by hand or none). */
	preset = $state('');
	/** The scenario as last loaded into the engine (JSON), to tell when edits need a reload. */
	private loadedJson = $state('');
	readonly client: EngineClient;
	private readonly builder = new SeriesBuilder();
	private unsubscribe: () => void;
	private lastResultAt = 0;
	private lastState: Frame['state'] | undefined;

	constructor(client = new EngineClient()) {
		this.client = client;
		this.unsubscribe = client.onFrame((f) => this.onFrame(f));
	}

	async init(): Promise<void> {
		this.catalog = await this.client.api.catalog();
	}

	/** The store the next run uses (memory while `scratch`). */
	get runStore(): StoreChoice {
		return this.scratch ? 'memory' : this.store;
	}

	/**
	 * Settles the page's store: the remembered choice if this browser has it, else the best one
	 * offered; asks for persistent storage when the disks are kept.
	 */
	async initStore(): Promise<void> {
		let available: StoreChoice[] = ['memory'];
		try {
			const info = await this.client.api.storageInfo();
			this.storage = info;
			available = info.available;
		} catch {
			// an older worker: memory only
		}
		this.stores = available;
		const { store, note } = chooseStore(readPreference(), available);
		this.store = store;
		this.storeNote = note ?? null;
		if (store !== 'memory' && !this.scratch) void this.askPersistence();
	}

	/** navigator.storage.persist(), once the disks live in a store that persists. */
	async askPersistence(): Promise<void> {
		this.persisted = await requestPersistentStorage();
		void this.refreshStorage();
	}

	/**
	 * What the page's store holds from an earlier visit (null: nothing, memory, or scratch).
	 * Throws a store error (another tab holds the store…), which the page shows.
	 */
	async savedSession(): Promise<SavedSession | null> {
		if (this.runStore === 'memory') return null;
		this.storeProblem = null;
		try {
			return await this.client.api.savedSession(this.runStore);
		} catch (e) {
			this.showStoreError(e);
			throw e;
		}
	}

	/**
	 * Puts the scenario saved in the store into the page (the disks are restored by the next
	 * load, when they fit it). False when nothing usable was saved. Throws as savedSession does.
	 */
	async restoreSaved(): Promise<boolean> {
		const saved = await this.savedSession();
		if (!saved) return false;
		try {
			this.scenario = editableScenario(saved.scenario) as EditableScenario;
		} catch {
			return false; // not a scenario the page can edit: the next load starts afresh
		}
		this.selected = -1;
		this.preset = '';
		return true;
	}

	/**
	 * The page's first run: load, keeping the saved disks when they fit. Restored disks wait for
	 * Play (the user's data is not written to unasked); otherwise the run plays at once, as the
	 * page always did, so the digest shows.
	 */
	async start(): Promise<void> {
		if (this.runStore !== 'memory') {
			await this.load();
			const info = this.client.info;
			if (this.client.status === 'error' || (info?.restored && info.restoredBlocks > 0)) return;
		}
		await this.play();
	}

	/**
	 * Switches the page to another store (remembered unless `remember` is false, as for "play in
	 * memory in this tab"): the session saves and the old store is let go (another tab can then
	 * open it). The new store's saved session comes back if it has one (and waits for Play);
	 * otherwise the scenario on screen runs there, as on opening the page.
	 */
	async switchStore(store: StoreChoice, remember = true): Promise<void> {
		this.store = store;
		this.storeNote = null;
		this.storeProblem = null;
		this.restoreNotice = null;
		if (remember) writePreference(store);
		if (this.scratch) return;
		if (store !== 'memory') void this.askPersistence();
		try {
			await this.restoreSaved();
		} catch {
			return; // shown as the store problem
		}
		await this.start();
	}

	/** Tries the page's store again (after another tab let go of it). */
	async retryStore(): Promise<void> {
		this.storeProblem = null;
		try {
			await this.restoreSaved();
		} catch {
			return;
		}
		await this.start();
	}

	/** The page is going away: pause, so the worker saves the verification state with the disks. */
	checkpoint(): void {
		if (this.status === 'running') void this.client.api.pause();
	}

	private showStoreError(e: unknown): void {
		const name = e instanceof Error ? e.name : null;
		const message = e instanceof Error ? e.message : String(e);
		this.storeProblem = explainStoreError(name, message, this.runStore) ?? null;
	}

	private noteLoad(info: LoadInfo | undefined): void {
		if (!info) {
			this.storeProblem = explainStoreError(this.client.errorName, this.client.error ?? '', this.runStore) ?? null;
			return;
		}
		this.storeProblem = null;
		this.restoreNotice = this.runStore === 'memory' ? null : (restoreNote(info, this.runStore) ?? null);
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
		// A preset replaces an imported job's random map as well.
		if (s.randomMap !== undefined) w.randomMap = s.randomMap;
		else delete w.randomMap;
		for (const k of ['runtimeUs', 'size', 'offset', 'blockalign', 'ioSize', 'fsync', 'seqAdd'] as const) {
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

	/**
	 * Loads the scenario on the page's store. On OPFS or IndexedDB the disks saved there are kept
	 * when they fit the scenario (the same disks and filters) and the last session ended at rest;
	 * otherwise they are wiped and restoreNotice says why. A link or file opened just before
	 * (freshNext) starts from empty disks.
	 */
	async load(): Promise<void> {
		const store = this.runStore;
		const restore = store !== 'memory' && !this.freshNext;
		this.freshNext = false;
		this.startRun();
		const info = await this.client.load(this.snapshot(), store, undefined, restore);
		this.noteLoad(info);
		if (!info) return;
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
		const store = this.runStore;
		const restore = store !== 'memory' && !this.freshNext;
		this.freshNext = false;
		this.startRun();
		this.noteLoad(await this.client.load(this.snapshot(), store, replay, restore));
		if (this.client.status === 'error') return false;
		await this.client.api.setSpeed(this.speed);
		return true;
	}

	/** Stops the run, wipes the engine's stores (disks, sidecars, verification state) and loads the scenario afresh (0 I/Os). */
	async reset(): Promise<void> {
		await this.client.api.reset();
		this.freshNext = true;
		await this.load();
	}

	async setSpeed(usPerMs: number): Promise<void> {
		this.speed = usPerMs;
		if (this.client.info) await this.client.api.setSpeed(usPerMs);
	}

	async runToEnd(): Promise<void> {
		const store = this.runStore;
		const restore = store !== 'memory' && !this.freshNext;
		this.freshNext = false;
		this.startRun();
		const result = await this.client.run(this.snapshot(), store, restore);
		if (this.client.info) this.noteLoad(this.client.info);
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
		if (f.fault) this.storeProblem = explainStoreError(f.fault.name, f.error ?? f.fault.message, this.runStore) ?? null;
		if (f.state !== 'running' && f.state !== this.lastState) void this.refreshStorage();
		this.lastState = f.state;
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

/** The remembered store choice (localStorage may be missing or refuse). */
function readPreference(): string | null {
	try {
		return globalThis.localStorage?.getItem(STORE_PREFERENCE_KEY) ?? null;
	} catch {
		return null;
	}
}

function writePreference(store: StoreChoice): void {
	try {
		globalThis.localStorage?.setItem(STORE_PREFERENCE_KEY, store);
	} catch {
		// private mode or storage disabled: the choice lasts for this page only
	}
}
