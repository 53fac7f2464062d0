/**
 * The page's side of the engine Worker: one wrapper class per worker (as svelte.dev's Bundler).
 * It owns the Worker and its comlink proxy, exposes the latest load info, frame and result as
 * reactive state, drops answers that a newer request has made stale, and pulls one frame per
 * animation frame while a run is live.
 *
 * Construct it in onMount/$effect (a Worker cannot be created while prerendering) and call
 * destroy() in the cleanup.
 */
import * as Comlink from 'comlink';
import type { EngineApi, Frame, LoadInfo, ReplayOptions, RunResult, StoreChoice } from './api';

export type EngineStatus = 'idle' | 'loading' | 'running' | 'done' | 'error';

/** What the client needs of the remote API (a comlink Remote, or a fake in tests). */
export type EngineRemote = {
	[K in keyof EngineApi]: (...args: Parameters<EngineApi[K]>) => Promise<Awaited<ReturnType<EngineApi[K]>>>;
};

export class EngineClient {
	info = $state<LoadInfo | null>(null);
	/** The latest summary (kept while a new run is in progress). */
	result = $state<RunResult | null>(null);
	/** The latest frame pulled from the worker. */
	frame = $state.raw<Frame | null>(null);
	error = $state<string | null>(null);
	/**
	 * The error's name when it is a store fault the page explains (StoreFullError,
	 * StoreLockedError, StoreUnavailableError), else null.
	 */
	errorName = $state<string | null>(null);
	status = $state<EngineStatus>('idle');
	/** Completed runs since the client was created. */
	runs = $state(0);
	/** Wall time of the latest completed run as seen by the page, ms (display only). */
	wallMs = $state<number | null>(null);

	readonly api: EngineRemote;
	#worker: Worker | undefined;
	#latest = 0;
	#framesWanted = false;
	#frameListeners = new Set<(f: Frame) => void>();

	constructor(api?: EngineRemote) {
		if (api) this.api = api;
		else {
			this.#worker = new Worker(new URL('./engine.worker.ts', import.meta.url), { type: 'module' });
			this.#worker.addEventListener('error', (e: ErrorEvent) => {
				e.preventDefault();
				this.#fail(e.message || 'the engine worker failed to start');
			});
			this.api = Comlink.wrap<EngineApi>(this.#worker) as unknown as EngineRemote;
		}
	}

	/** Loads a scenario (null: the default) and runs it to the end as fast as possible (restore: as in load). */
	async run(scenario: unknown | null = null, store: StoreChoice = 'memory', restore = false): Promise<RunResult | undefined> {
		const token = ++this.#latest;
		const started = performance.now();
		this.status = 'running';
		try {
			const info = await this.api.load(plain(scenario), store, undefined, restore);
			if (token !== this.#latest) return;
			this.info = info;
			const result = await this.api.runToEnd();
			if (token !== this.#latest) return; // a newer run superseded this one
			this.result = result;
			this.error = null;
			this.errorName = null;
			this.status = 'done';
			this.runs += 1;
			this.wallMs = performance.now() - started;
			this.frame = await this.api.frame();
			return result;
		} catch (e) {
			if (token !== this.#latest) return;
			this.#failWith(e);
		}
	}

	/**
	 * Loads a scenario for live playback (play/pause/step), without running it. With `replay`, a
	 * trace file (streamed in afterwards through api.replayPush) replaces one disk's workload.
	 */
	async load(scenario: unknown | null, store: StoreChoice = 'memory', replay?: ReplayOptions, restore = false): Promise<LoadInfo | undefined> {
		const token = ++this.#latest;
		this.status = 'loading';
		try {
			const info = await this.api.load(plain(scenario), store, replay, restore);
			if (token !== this.#latest) return;
			this.info = info;
			this.error = null;
			this.errorName = null;
			this.status = 'idle';
			// Delivered, not just kept: it carries what loading logged (a filter's attach messages).
			this.#deliver(await this.api.frame());
			return info;
		} catch (e) {
			if (token === this.#latest) this.#failWith(e);
		}
	}

	async play(): Promise<void> {
		this.status = 'running';
		await this.api.play();
		this.#pullFrames();
	}

	async pause(): Promise<void> {
		await this.api.pause();
	}

	async step(): Promise<void> {
		await this.api.step();
		this.#deliver(await this.api.frame());
	}

	/** Pulls one frame now (after a control operation while paused: its log entries and its window). */
	async pull(): Promise<void> {
		this.#deliver(await this.api.frame());
	}

	/** Subscribes to frames; returns the unsubscribe function. */
	onFrame(fn: (f: Frame) => void): () => void {
		this.#frameListeners.add(fn);
		return () => this.#frameListeners.delete(fn);
	}

	destroy(): void {
		this.#framesWanted = false;
		this.#latest = -1;
		this.#worker?.terminate();
	}

	/** One frame request per animation frame, never more than one outstanding. */
	#pullFrames(): void {
		if (this.#framesWanted) return;
		this.#framesWanted = true;
		const tick = async () => {
			if (!this.#framesWanted) return;
			try {
				const f = await this.api.frame();
				this.#deliver(f);
				if (f.state !== 'running') {
					this.#framesWanted = false;
					this.status = f.state === 'error' ? 'error' : f.state === 'finished' ? 'done' : 'idle';
					if (f.state === 'finished') this.result = await this.api.result();
					return;
				}
			} catch (e) {
				this.#framesWanted = false;
				this.#failWith(e);
				return;
			}
			requestAnimationFrame(() => void tick());
		};
		requestAnimationFrame(() => void tick());
	}

	#deliver(f: Frame): void {
		this.frame = f;
		if (f.error) this.error = f.error;
		if (f.fault) this.errorName = f.fault.name;
		for (const fn of this.#frameListeners) fn(f);
	}

	#fail(message: string, name: string | null = null): void {
		this.error = message;
		this.errorName = name;
		this.status = 'error';
	}

	/** A rejected call: comlink keeps the error's name, so store faults stay recognisable. */
	#failWith(e: unknown): void {
		const name = e instanceof Error && e.name.startsWith('Store') ? e.name : null;
		this.#fail(e instanceof Error ? e.message : String(e), name);
	}
}

/** $state proxies do not survive structured cloning: send plain data. */
function plain<T>(value: T): T {
	return value === null || typeof value !== 'object' ? value : (JSON.parse(JSON.stringify(value)) as T);
}
