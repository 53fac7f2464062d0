/**
 * Compare mode: two scenarios (the same workload and seed through two chains), each in its own
 * engine Worker (one EngineClient per side). A run first goes as fast as possible for the
 * summary and the digests, then is replayed at a shared virtual-time pace so the two live series
 * (IOPS, latency, a filter gauge) can be drawn over each other on one time axis.
 */
import { EngineClient } from '$lib/worker/engine-client.svelte';
import type { RunResult } from '$lib/worker/api';
import { SeriesBuilder, type SeriesPoint } from './series';

export type SidePhase = 'idle' | 'running' | 'replaying' | 'done' | 'error';

export class CompareSide {
	readonly client: EngineClient;
	series = $state.raw<SeriesPoint[]>([]);
	result = $state.raw<RunResult | null>(null);
	phase = $state<SidePhase>('idle');
	error = $state<string | null>(null);
	#builder = new SeriesBuilder();
	#unsubscribe: () => void;
	#replayDone: (() => void) | null = null;
	/** Bumped by each run and replay: a stale one does not touch the phase. */
	#token = 0;

	constructor() {
		this.client = new EngineClient();
		this.#unsubscribe = this.client.onFrame((f) => {
			if (this.#builder.add(f)) this.series = [...this.#builder.points];
			if (f.state !== 'running' && this.#replayDone) {
				this.#replayDone();
				this.#replayDone = null;
			}
		});
	}

	destroy(): void {
		this.#unsubscribe();
		this.client.destroy();
	}

	/** Runs the scenario to the end as fast as possible; the summary and digest. */
	async run(scenario: unknown): Promise<RunResult | null> {
		const token = ++this.#token;
		this.phase = 'running';
		this.error = null;
		this.result = null;
		this.series = [];
		// Compare runs in memory: its two runs must start from empty disks (the digests are
		// compared) and must never wipe the disks the user keeps in OPFS or IndexedDB.
		const r = await this.client.run(scenario, 'memory');
		if (token !== this.#token) return null;
		if (!r) {
			this.phase = 'error';
			this.error = this.client.error ?? 'the run failed';
			return null;
		}
		this.result = r;
		return r;
	}

	/** Plays the scenario again at `usPerMs` for its live series (points of at least `minSpanUs`). */
	async replay(scenario: unknown, usPerMs: number, minSpanUs: number): Promise<void> {
		const token = ++this.#token;
		this.phase = 'replaying';
		this.#builder = new SeriesBuilder(minSpanUs, 2000);
		this.series = [];
		const info = await this.client.load(scenario, 'memory');
		if (token !== this.#token) return;
		if (!info) {
			this.phase = 'error';
			this.error = this.client.error ?? 'the replay failed to load';
			return;
		}
		const finished = new Promise<void>((resolve) => (this.#replayDone = resolve));
		await this.client.api.setSpeed(usPerMs);
		await this.client.play();
		await finished;
		if (token !== this.#token) return;
		this.phase = this.client.status === 'error' ? 'error' : 'done';
		if (this.phase === 'error') this.error = this.client.error;
	}

	/** Stops a replay (the summary stays). */
	async stop(): Promise<void> {
		if (this.phase !== 'replaying') return;
		try {
			await this.client.api.stop();
		} catch {
			// nothing loaded
		}
		this.#replayDone?.();
		this.#replayDone = null;
	}
}

/**
 * Values of both sides' series on one grid of `n` times from 0 to the later end: each grid time
 * takes the point whose window covers it; after a side's last point, NaN (its line ends).
 */
export function overlay(a: SeriesPoint[], b: SeriesPoint[], n = 160): { t: number[]; at: (side: SeriesPoint[], get: (p: SeriesPoint) => number) => number[] } {
	const end = Math.max(a.at(-1)?.t ?? 0, b.at(-1)?.t ?? 0);
	const t = Array.from({ length: n }, (_, i) => (end * (i + 1)) / n);
	const at = (side: SeriesPoint[], get: (p: SeriesPoint) => number) => {
		const out: number[] = [];
		let k = 0;
		for (const g of t) {
			while (k < side.length && side[k].t < g) k++;
			out.push(k < side.length ? get(side[k]) : NaN);
		}
		return out;
	};
	return { t, at };
}
