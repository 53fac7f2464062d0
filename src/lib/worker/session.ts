/**
 * One engine session: the simulation that the Worker owns, its playback (virtual time mapped to
 * wall time at a chosen speed, or as fast as possible), single-stepping, control operations, and
 * the frames the page pulls once per animation frame (aggregates plus a bounded sample of I/O
 * events in typed arrays). No DOM here: the same class runs in the Worker and in Node tests.
 *
 * The wall clock is read here (playback is about wall time) and never inside the engine.
 */
import { runResult, type RunResult } from '../engine/result';
import { Simulation } from '../engine/simulation';
import type { ControlEvent } from '../engine/filter';
import type { FilterRegistry } from '../engine/registry';
import type { StoreFactory } from '../engine/storage/types';
import { ExpectedState } from '../engine/verify';
import { Col, F64_STRIDE, U8_STRIDE, type TraceRow } from '../engine/trace';
import type { ChainIo } from '../engine/chain';
import { parseScenario, type Scenario } from '../engine/scenario/schema';
import { analyticsReport, type AnalyticsReport, type AnalyticsState } from '../filters/analytics';
import { TraceQueries, type TraceQuery, type TraceQueryResult, type TraceView } from './trace-query';
import { csvChunks } from '../engine/export/csv';
import { perfettoChunks } from '../engine/export/perfetto';
import { clusterView, runClusterOp, type ClusterOpResult, type ClusterRequest, type ClusterView } from './cluster-ops';
import { TraceReplay, type ReplayOptions, type ReplayProgress } from './trace-replay';
import { storeFault, watchStores, type StoreFault } from './store-watch';

export type PlayState = 'empty' | 'ready' | 'running' | 'paused' | 'finished' | 'stopped' | 'error';

/** Columns of one sampled I/O event in Frame.sample (Float64Array, EVENT_STRIDE per event). */
export const EventCol = { id: 0, disk: 1, op: 2, status: 3, issuedAt: 4, doneAt: 5, deviceStart: 6, deviceDone: 7, endedBy: 8, lba: 9, sectors: 10 } as const;
export const EVENT_FIXED = 11;
/** Per filter k (up to 8): down-in, down-out, up-in, up-out, down verdict, up verdict. */
export const EVENT_PER_FILTER = 6;
export const EVENT_STRIDE = EVENT_FIXED + 8 * EVENT_PER_FILTER;

export interface LoadInfo {
	name: string;
	seed: number;
	disks: { key: string; sizeBytes: number; chain: { name: string; class: string; index: number }[] }[];
	/** True when disks and verification state were restored from an earlier session. */
	restored: boolean;
	/** Blocks whose content the restored verification state knows (0 when not restored). */
	restoredBlocks: number;
	/**
	 * Why the disks saved by an earlier session were not reused (they were wiped): the disks or
	 * their filters changed, or that session stopped mid-run. Absent when nothing was discarded.
	 */
	discarded?: string;
}

/** What an earlier session left in the store (see EngineSession.savedSession). */
export interface SavedSession {
	/** Its scenario (as the engine parsed it). */
	scenario: unknown;
	/**
	 * True when it stopped while I/O was running (the tab closed mid-run, or the final save
	 * failed): its disks may hold writes its saved verification state does not know, so the
	 * disks are not reused.
	 */
	interrupted: boolean;
}

export interface FrameWindow {
	fromUs: number;
	toUs: number;
	ios: number;
	reads: number;
	writes: number;
	bytes: number;
	/** Bytes of the reads and of the writes among them. */
	readBytes: number;
	writeBytes: number;
	errors: number;
	/** Latency percentiles of the I/Os completed in this window, µs (0 when none). */
	p50: number;
	p99: number;
	max: number;
}

export interface Frame {
	seq: number;
	state: PlayState;
	nowUs: number;
	events: number;
	ios: number;
	errors: number;
	inFlight: number;
	verify: { reads: number; mismatches: number; firstMismatch?: { sector: number; expectedContent: number; foundContent: number; ioId: number } };
	window: FrameWindow;
	/** Per filter (all disks): framework counters plus the filter's own status. */
	filters: { disk: string; name: string; index: number; status: Record<string, number | string> }[];
	/** Sampled completed I/Os since the last frame: `sampleCount` rows of EVENT_STRIDE. */
	sample: Float64Array;
	sampleCount: number;
	/** Completed I/Os since the last frame (the sample is a subset when this is larger). */
	completedSinceLast: number;
	/**
	 * I/Os in flight at `nowUs` (up to a limit), in the sample's layout: what has not happened yet
	 * is -1 (doneAt always). The flow view draws them where they are now.
	 */
	live: Float64Array;
	liveCount: number;
	log: { t: number; source: string; message: string }[];
	error?: string;
	/** The store fault that stopped the run (storage full, store held by another tab…). */
	fault?: StoreFault;
}

export interface SessionOptions {
	registry: FilterRegistry;
	stores: StoreFactory;
	/** Yields to the host's event loop (MessageChannel in a Worker, setImmediate in Node). */
	yieldNow?: () => Promise<void>;
	/** Wall clock in ms (performance.now). */
	wallMs?: () => number;
	/** Most I/O events per frame. */
	sampleLimit?: number;
	/** Most in-flight I/Os per frame. */
	liveLimit?: number;
}

const SAVED_SCENARIO = 'scenario.json';
const SAVED_EXPECTED = 'expected.json';
/** Present while I/O may be running: written before it starts, deleted by the save after it stops. */
const SAVED_RUNNING = 'running';
/** Wall time one playback slice may take before yielding, ms. */
const SLICE_MS = 8;

export class EngineSession {
	sim: Simulation | undefined;
	state: PlayState = 'empty';
	/** Virtual µs per wall ms; Infinity = as fast as possible. */
	speed = Infinity;
	error: string | undefined;
	/** The first store fault of this run (the run stops on it). */
	fault: StoreFault | undefined;

	/** The stores, watched for faults unless they are memory (see store-watch.ts). */
	private readonly stores: StoreFactory;
	private scenario: Scenario | undefined;
	private playToken = 0;
	private anchorWall = 0;
	private anchorVirtual = 0;
	private frameSeq = 0;
	private logSent = 0;
	private completedAtLastFrame = 0;
	private windowFrom = 0;
	private readonly latencies: number[] = [];
	private windowReads = 0;
	private windowWrites = 0;
	private windowBytes = 0;
	private windowReadBytes = 0;
	private windowWriteBytes = 0;
	private windowErrors = 0;
	private readonly sampleLimit: number;
	private readonly liveLimit: number;
	private readonly yieldNow: () => Promise<void>;
	private readonly wallMs: () => number;
	private completedIos = 0;
	private readonly queries = new TraceQueries();
	/** The play loop now running (resolves when it stops). */
	private loop: Promise<void> = Promise.resolve();
	/** A trace file being streamed in and replayed (trace-replay.ts). */
	private replay: TraceReplay | undefined;
	/** The latest save (saves run one at a time, in order). */
	private saving: Promise<unknown> = Promise.resolve();
	/** Events per Simulation.run call while playing. */
	private readonly eventsPerRun: number;
	/** The "running" marker is in the store (since the last save at rest). */
	private markedRunning = false;

	constructor(private readonly options: SessionOptions) {
		this.stores = options.stores.kind === 'memory' ? options.stores : watchStores(options.stores, (f) => (this.fault ??= f));
		// A watched store's fault is seen between runs of events: shorter runs stop sooner after one.
		this.eventsPerRun = this.stores === options.stores ? 4096 : 256;
		this.sampleLimit = options.sampleLimit ?? 256;
		this.liveLimit = options.liveLimit ?? 128;
		this.yieldNow = options.yieldNow ?? (() => new Promise((r) => setTimeout(r, 0)));
		this.wallMs = options.wallMs ?? (() => performance.now());
	}

	/**
	 * Validates and builds a scenario (not started). With `restore`, the guest's expected state
	 * saved by an earlier session is reloaded, so reads of data written then are verified too.
	 * With `replay`, a trace file (streamed in by replayPush) replaces the workload of one disk.
	 */
	async load(input: unknown, restore = false, replayOptions?: ReplayOptions): Promise<LoadInfo> {
		this.pause();
		this.replay?.cancel('another scenario was loaded');
		this.replay = undefined;
		// The run being replaced saves its state first (its play loop does on the way out).
		await this.loop;
		await this.saving.catch(() => undefined);
		const scenario = parseScenario(input);
		let replay: TraceReplay | undefined;
		if (replayOptions) {
			const key = replayOptions.diskKey ?? `${scenario.vms[0].name}/${scenario.vms[0].disks[0].name}`;
			replay = new TraceReplay(replayOptions, key);
			if (replayOptions.timingOnly) scenario.run = { ...scenario.run, timingOnly: true };
		}
		let expected: Map<string, ExpectedState> | undefined;
		let discarded: string | undefined;
		this.fault = undefined;
		const saved = restore ? await this.savedSession() : undefined;
		if (saved) {
			// Restore only onto disks laid out and filtered as they were when saved: data written
			// through another chain (say, without encryption) would not read back through this one.
			if (!sameStorage(saved.scenario, scenario)) discarded = 'the saved disks have another layout or other filters than this scenario';
			else if (saved.interrupted)
				discarded = 'the last session stopped while I/O was running, so its disks may hold writes its saved verification state does not know';
			else {
				expected = await this.savedExpected();
				if (!expected) discarded = 'no verification state was saved with them';
			}
		}
		const restored = expected !== undefined;
		if (!restored) {
			// A fresh run starts from empty disks: the guest's expected state is fresh too, so bytes
			// left by an earlier run (the same session, or a store that persists) would read back as
			// mismatches.
			this.sim = undefined;
			await this.stores.wipe();
			this.markedRunning = false;
		}
		const sim = await Simulation.create(scenario, {
			registry: this.options.registry,
			stores: this.stores,
			expected,
			...(replay ? { streams: new Map([[replay.diskKey, replay.attach]]) } : {})
		});
		this.sim = sim;
		this.replay = replay;
		if (replay) sim.addLog('replay', `${replay.options.format} trace ${replay.options.fileName} (${replay.options.totalBytes} bytes) replaces the workload of ${replay.diskKey}, timing ${replay.options.timing === 'afap' ? 'as fast as possible' : 'from the trace'}`);
		this.scenario = scenario;
		this.state = 'ready';
		this.error = undefined;
		this.frameSeq = 0;
		this.logSent = 0;
		this.completedAtLastFrame = 0;
		this.completedIos = 0;
		this.resetWindow(0);
		for (const d of sim.disks) d.guest.onComplete = (io) => this.onGuestComplete(io);
		await this.save(true);
		let restoredBlocks = 0;
		for (const e of expected?.values() ?? []) restoredBlocks += e.trackedBlocks;
		return {
			name: scenario.name,
			seed: scenario.seed,
			restored,
			restoredBlocks,
			...(discarded ? { discarded } : {}),
			disks: sim.disks.map((d) => ({
				key: d.key,
				sizeBytes: d.config.size,
				chain: d.chain.filters.map((f) => ({ name: f.def.name, class: f.cls, index: f.index }))
			}))
		};
	}

	/** The scenario saved by an earlier session, if any. */
	async savedScenario(): Promise<unknown | undefined> {
		return (await this.savedSession())?.scenario;
	}

	/** What an earlier session (or this one) saved in the store: its scenario, and whether it was interrupted. */
	async savedSession(): Promise<SavedSession | undefined> {
		const side = await this.stores.openSidecar('session');
		const bytes = await side.get(SAVED_SCENARIO);
		if (!bytes) return undefined;
		let scenario: unknown;
		try {
			scenario = JSON.parse(new TextDecoder().decode(bytes));
		} catch {
			return undefined; // unreadable: as if nothing was saved (a load then wipes the disks)
		}
		return { scenario, interrupted: (await side.get(SAVED_RUNNING)) !== undefined };
	}

	setSpeed(usPerMs: number): void {
		this.speed = usPerMs > 0 ? usPerMs : Infinity;
		this.anchor();
	}

	/** Starts or resumes playback; resolves when playback stops (pause, finish, error). */
	async play(): Promise<void> {
		const sim = this.requireSim();
		if (this.state === 'finished' || this.state === 'stopped' || this.state === 'running') return;
		this.state = 'running';
		const token = ++this.playToken;
		this.anchor();
		let release!: () => void;
		this.loop = new Promise<void>((r) => (release = r));
		try {
			await this.markRunning();
			while (this.playToken === token && this.state === 'running') {
				if (this.replay?.starved) {
					// The trace's next chunk is on its way: the clock waits for it.
					await this.replay.waitForData();
					this.anchor();
					if (!this.replay.starved) this.refillReplay();
					continue;
				}
				const sliceEnd = this.wallMs() + SLICE_MS;
				let done = false;
				while (!done && this.wallMs() < sliceEnd && !this.replay?.starved) {
					const untilUs = this.speed === Infinity ? Infinity : this.anchorVirtual + (this.wallMs() - this.anchorWall) * this.speed;
					// Nothing is due before the wall clock moves on. (Also: Simulation.run reports
					// "done" for untilUs 0 when maxRuntimeUs is 0, i.e. no limit, so never ask it that.)
					if (untilUs <= 0) break;
					done = await sim.run({ untilUs, maxEvents: this.replay?.eventBudget(this.eventsPerRun) ?? this.eventsPerRun });
					if (this.fault) break;
					if (done && this.replayPending()) {
						// Not the end: the trace has more to come (a chunk may have arrived meanwhile).
						done = false;
						this.refillReplay();
					}
					if (this.speed !== Infinity && sim.sched.peekTime() > untilUs) break; // caught up with the wall
				}
				if (this.fault) {
					this.stopOnFault();
					break;
				}
				if (done) {
					this.state = 'finished';
					break;
				}
				await this.yieldNow();
			}
		} catch (e) {
			this.fail(e);
		} finally {
			// Paused, finished, stopped or failed: the disks and the verification state are saved
			// together before anything else may run (a load waits for this loop).
			await this.save();
			release();
		}
	}

	pause(): void {
		this.playToken++;
		if (this.state === 'running') this.state = 'paused';
	}

	/** Stops playback for good (the run can be inspected but not resumed). */
	stop(): void {
		this.playToken++;
		if (this.sim) this.state = 'stopped';
	}

	/** Runs until one more guest I/O completes (or the run ends). */
	async step(): Promise<void> {
		const sim = this.requireSim();
		this.pause();
		if (this.state === 'finished' || this.state === 'stopped') return;
		const target = this.completedIos + 1;
		try {
			await this.markRunning();
			while (this.completedIos < target) {
				if (this.replay?.starved) break; // the trace's next chunk has not arrived
				if (await sim.run({ maxEvents: 1 })) {
					this.state = 'finished';
					break;
				}
				if (this.fault) break;
			}
			if (this.fault) this.stopOnFault();
			else if (this.state !== 'finished') this.state = 'paused';
		} catch (e) {
			this.fail(e);
		}
		await this.save();
	}

	/** Runs to the end as fast as possible and returns the summary. */
	async runToEnd(): Promise<RunResult> {
		this.setSpeed(Infinity);
		await this.play();
		if (this.state === 'error') {
			const e = new Error(this.error);
			if (this.fault) e.name = this.fault.name; // the page tells store faults apart by name
			throw e;
		}
		return this.result();
	}

	result(): RunResult {
		return runResult(this.requireSim());
	}

	/** Delivers a control operation while the run is live (playback pauses around it). */
	async control(diskKey: string | undefined, event: ControlEvent): Promise<void> {
		const sim = this.requireSim();
		const wasRunning = this.state === 'running';
		this.pause();
		await this.loop;
		await this.markRunning();
		await sim.control(diskKey, event);
		if (this.fault) this.stopOnFault();
		await this.save();
		if (wasRunning && this.state === 'paused') void this.play();
	}

	/** Wipes every store and the saved session (the page's "reset"). */
	async reset(): Promise<void> {
		this.stop();
		await this.loop;
		await this.saving.catch(() => undefined);
		this.sim = undefined;
		this.scenario = undefined;
		this.state = 'empty';
		this.fault = undefined;
		this.error = undefined;
		this.markedRunning = false;
		await this.stores.wipe();
	}

	/**
	 * Stops playback and waits until the state is saved (before the worker lets go of the
	 * stores, e.g. when the page switches to another store). The session is not used again.
	 */
	async close(): Promise<void> {
		this.pause();
		await this.loop;
		await this.saving.catch(() => undefined);
		this.playToken++;
	}

	/** What happened since the last frame: called by the page once per animation frame. */
	frame(): Frame {
		const sim = this.sim;
		const now = sim?.sched.now ?? 0;
		const completed = sim?.trace.completed ?? 0;
		const since = completed - this.completedAtLastFrame;
		const { sample, count } = sim ? this.sampleRows(this.completedAtLastFrame, completed) : { sample: new Float64Array(0), count: 0 };
		this.completedAtLastFrame = completed;
		const live = sim ? this.liveRows() : { sample: new Float64Array(0), count: 0 };
		const lat = this.latencies.sort((a, b) => a - b);
		const pct = (p: number) => (lat.length ? lat[Math.min(lat.length - 1, Math.max(0, Math.ceil((p / 100) * lat.length) - 1))] : 0);
		const window: FrameWindow = {
			fromUs: this.windowFrom,
			toUs: now,
			ios: lat.length,
			reads: this.windowReads,
			writes: this.windowWrites,
			bytes: this.windowBytes,
			readBytes: this.windowReadBytes,
			writeBytes: this.windowWriteBytes,
			errors: this.windowErrors,
			p50: pct(50),
			p99: pct(99),
			max: lat.length ? lat[lat.length - 1] : 0
		};
		this.resetWindow(now);
		let reads = 0;
		let mismatches = 0;
		let firstMismatch: Frame['verify']['firstMismatch'];
		let errors = 0;
		let inFlight = 0;
		let ios = 0;
		const filters: Frame['filters'] = [];
		for (const d of sim?.disks ?? []) {
			reads += d.expected.reads;
			mismatches += d.expected.mismatches;
			firstMismatch ??= d.expected.firstMismatch;
			errors += d.guest.errorCount;
			inFlight += d.guest.metrics.outstanding;
			ios += d.guest.metrics.ios;
			for (const f of d.chain.filters) filters.push({ disk: d.key, name: f.def.name, index: f.index, status: f.status() });
		}
		const log = sim ? sim.log.slice(this.logSent) : [];
		this.logSent += log.length;
		return {
			seq: ++this.frameSeq,
			state: this.state,
			nowUs: now,
			events: sim?.events ?? 0,
			ios,
			errors,
			inFlight,
			verify: { reads, mismatches, ...(firstMismatch ? { firstMismatch } : {}) },
			window,
			filters,
			sample,
			sampleCount: count,
			completedSinceLast: since,
			live: live.sample,
			liveCount: live.count,
			log,
			...(this.error ? { error: this.error } : {}),
			...(this.fault && this.state === 'error' ? { fault: this.fault } : {})
		};
	}

	/** Completed trace rows [from, from + count) that the ring still holds. */
	traceRows(from: number, count: number): TraceRow[] {
		const t = this.requireSim().trace;
		const lo = Math.max(from, t.completed - t.held);
		const hi = Math.min(from + count, t.completed);
		const out: TraceRow[] = [];
		for (let n = lo; n < hi; n++) out.push(t.row(n)!);
		return out;
	}

	/** The analytics filter's report (histograms, heat map, MRC) of a disk (default: the first), or null without one. */
	analytics(diskKey?: string): AnalyticsReport | null {
		const disk = this.sim?.disks.find((d) => diskKey === undefined || d.key === diskKey);
		const f = disk?.chain.filters.find((x) => x.def.name === 'analytics');
		return f && f.state ? analyticsReport(f.state as AnalyticsState) : null;
	}

	/** Range of completed-row indexes the trace ring holds. */
	traceRange(): { first: number; end: number } {
		const t = this.sim?.trace;
		return t ? { first: t.completed - t.held, end: t.completed } : { first: 0, end: 0 };
	}

	/** A sorted, filtered window of the rows the trace ring holds (see trace-query.ts). */
	traceQuery(q: TraceQuery): TraceQueryResult {
		const sim = this.sim;
		if (!sim) return { total: 0, from: 0, anchorPos: -1, rows: [], held: 0, completed: 0 };
		return this.queries.query(sim.trace, this.chainNames(sim), q);
	}

	/** Position of completed row `n` in a query's result, or -1. */
	tracePosition(q: TraceView, n: number): number {
		const sim = this.sim;
		return sim ? this.queries.position(sim.trace, this.chainNames(sim), q, n) : -1;
	}

	/** The rows the trace ring holds as a file: CSV, or Chrome Trace Event JSON for Perfetto. */
	exportTrace(format: 'csv' | 'perfetto'): Blob {
		const sim = this.requireSim();
		if (format === 'csv') return new Blob([...csvChunks(sim)], { type: 'text/csv' });
		const options = this.scenario ? { scenario: this.scenario.name, seed: this.scenario.seed } : {};
		return new Blob([...perfettoChunks(sim, options)], { type: 'application/json' });
	}

	/** The cluster as plain data (null before a scenario is loaded). */
	clusterView(): ClusterView | null {
		return this.sim ? clusterView(this.sim) : null;
	}

	/**
	 * Runs a cluster operation on the live run (cluster-ops.ts): playback pauses around it, the
	 * workloads start if they had not, and its effect (or why it was refused) is in the log.
	 */
	async clusterOp(req: ClusterRequest): Promise<ClusterOpResult> {
		const sim = this.requireSim();
		const wasRunning = this.state === 'running';
		this.pause();
		await this.loop;
		await this.markRunning();
		sim.start();
		const r = await runClusterOp(sim, req);
		if (this.state === 'ready' || (this.state === 'finished' && !sim.finished)) this.state = 'paused';
		if (this.fault) this.stopOnFault();
		await this.save();
		if (wasRunning && this.state === 'paused') void this.play();
		return r;
	}

	/** The next chunk of the trace file being replayed; resolves when the replay has room for more. */
	replayPush(chunk: Uint8Array): Promise<ReplayProgress> {
		if (!this.replay) return Promise.reject(new Error('no trace replay is loaded'));
		return this.replay.push(chunk);
	}

	/** The whole trace file has been sent. */
	replayEnd(): ReplayProgress {
		if (!this.replay) throw new Error('no trace replay is loaded');
		const p = this.replay.end();
		if (p.error) this.sim?.addLog('replay', `${p.fileName}: ${p.error}`);
		else {
			const others = Object.entries(p.otherDisks);
			const notes = [
				...(p.skipped ? [`${p.skipped} records without disk I/O skipped`] : []),
				...(others.length ? [`records of other disks not replayed: ${others.map(([d, n]) => `${d}: ${n}`).join(', ')}`] : [])
			];
			this.sim?.addLog('replay', `${p.fileName}: all ${p.bytes} bytes read, ${p.records} I/O records${p.disk !== undefined ? ` of disk ${p.disk}` : ''}${notes.length ? ` (${notes.join('; ')})` : ''}`);
		}
		return p;
	}

	replayStatus(): ReplayProgress | null {
		return this.replay?.progress() ?? null;
	}

	/** The guest of the replaying disk asks its stream again (a chunk arrived after it ran dry). */
	private refillReplay(): void {
		const d = this.sim?.disks.find((x) => x.key === this.replay?.diskKey);
		if (d && d.guest.running) d.guest.start();
	}

	/** A trace replay has records to come and its disk's guest would issue them. */
	private replayPending(): boolean {
		if (!this.replay || this.replay.done) return false;
		const d = this.sim?.disks.find((x) => x.key === this.replay!.diskKey);
		return !!d && d.guest.running && !d.chain.dead;
	}

	private chainNames(sim: Simulation): string[][] {
		return sim.disks.map((d) => d.chain.filters.map((f) => f.def.name));
	}

	private onGuestComplete(io: ChainIo): void {
		this.completedIos++;
		this.latencies.push(this.sim!.sched.now - io.issuedAt);
		const bytes = io.sectors * 512;
		if (io.op === 0) {
			this.windowReads++;
			this.windowReadBytes += bytes;
		} else if (io.op === 1) {
			this.windowWrites++;
			this.windowWriteBytes += bytes;
		}
		this.windowBytes += bytes;
		if (io.error) this.windowErrors++;
	}

	/** Up to sampleLimit rows evenly spread over [from, to), packed for transfer. */
	private sampleRows(from: number, to: number): { sample: Float64Array; count: number } {
		const t = this.sim!.trace;
		const lo = Math.max(from, t.completed - t.held);
		const n = Math.max(0, to - lo);
		const count = Math.min(n, this.sampleLimit);
		const out = new Float64Array(count * EVENT_STRIDE);
		for (let i = 0; i < count; i++) {
			const slot = (lo + Math.floor((i * n) / count)) % t.capacity;
			packRow(out, i * EVENT_STRIDE, t.f64, slot * F64_STRIDE, t.u8, slot * U8_STRIDE);
		}
		return { sample: out, count };
	}

	/**
	 * In-flight rows of the trace's live pool, oldest I/O first. A row is in flight from open()
	 * (which fills it with -1) until close() (which sets doneAt), so doneAt = -1 marks it.
	 */
	private liveRows(): { sample: Float64Array; count: number } {
		const t = this.sim!.trace;
		const rows: number[] = [];
		const n = t.live.length / F64_STRIDE;
		for (let r = 0; r < n; r++) if (t.live[r * F64_STRIDE + Col.doneAt] === -1) rows.push(r);
		rows.sort((a, b) => t.live[a * F64_STRIDE + Col.id] - t.live[b * F64_STRIDE + Col.id]);
		const count = Math.min(rows.length, this.liveLimit);
		const out = new Float64Array(count * EVENT_STRIDE);
		for (let i = 0; i < count; i++) packRow(out, i * EVENT_STRIDE, t.live, rows[i] * F64_STRIDE, t.liveU8, rows[i] * U8_STRIDE);
		return { sample: out, count };
	}

	private resetWindow(now: number): void {
		this.windowFrom = now;
		this.latencies.length = 0;
		this.windowReads = 0;
		this.windowWrites = 0;
		this.windowBytes = 0;
		this.windowReadBytes = 0;
		this.windowWriteBytes = 0;
		this.windowErrors = 0;
	}

	private anchor(): void {
		this.anchorWall = this.wallMs();
		this.anchorVirtual = this.sim?.sched.now ?? 0;
	}

	private fail(e: unknown): void {
		this.state = 'error';
		this.fault ??= storeFault(e);
		this.error = e instanceof Error ? e.message : String(e);
	}

	/** A store fault stops the run: nothing more is issued, and the page is told which store and why. */
	private stopOnFault(): void {
		this.playToken++;
		this.state = 'error';
		this.error = `The run stopped: ${this.fault!.message}`;
		this.sim?.addLog('store', this.error);
	}

	/** Writes the "running" marker before I/O may run (see SavedSession.interrupted). */
	private async markRunning(): Promise<void> {
		if (this.markedRunning || !this.scenario) return;
		await this.saving.catch(() => undefined);
		const side = await this.stores.openSidecar('session');
		await side.set(SAVED_RUNNING, new Uint8Array(1));
		this.markedRunning = true;
	}

	private requireSim(): Simulation {
		if (!this.sim) throw new Error('no scenario is loaded');
		return this.sim;
	}

	/**
	 * Saves the scenario and the guest's expected state next to the disks, one save at a time.
	 * Errors are thrown when `report` is set (a load that cannot save fails); otherwise a failed
	 * save only leaves the "running" marker in place, so the disks are not reused later.
	 */
	private save(report = false): Promise<void> {
		const p = this.saving.catch(() => undefined).then(() => this.saveNow());
		this.saving = p;
		return report ? p : p.catch((e: unknown) => this.saveFailed(e));
	}

	private async saveNow(): Promise<void> {
		const sim = this.sim;
		const scenario = this.scenario;
		if (!sim || !scenario) return;
		const stores = this.stores as { flushAll?: () => void | Promise<void>; closeAll?: () => void | Promise<void> };
		// The disks first: after a crash the saved state must not be newer than the bytes. If the
		// flush fails, nothing below runs: the marker stays and the disks are not reused.
		await stores.flushAll?.();
		// Then the filters' own state (dedup's map, analytics' histograms) that they would
		// otherwise persist only at a guest flush, a power-off or on a timer.
		if (!this.fault) await sim.checkpoint();
		// Storage is full: close the disks (a browser releases the room it reserved ahead of open
		// files) so the small verification state still fits. The run cannot go on anyway.
		if (this.fault?.name === 'StoreFullError') await stores.closeAll?.();
		const side = await this.stores.openSidecar('session');
		const enc = new TextEncoder();
		await side.set(SAVED_SCENARIO, enc.encode(JSON.stringify(scenario)));
		// Writes still in flight are saved as unknown: they may or may not have reached the disk.
		const expected = Object.fromEntries(sim.disks.map((d) => [d.key, d.guest.expectedToSave().toJSON()]));
		await side.set(SAVED_EXPECTED, enc.encode(JSON.stringify(expected)));
		if (this.state !== 'running' && this.markedRunning) {
			await side.delete(SAVED_RUNNING);
			this.markedRunning = false;
		}
	}

	private saveFailed(e: unknown): void {
		const why = e instanceof Error ? e.message : String(e);
		const note = `the verification state could not be saved (${why}): these disks will not be reused after a reload`;
		this.sim?.addLog('store', note);
		if (this.state === 'error' && this.error && !this.error.includes(note)) this.error += ` Also, ${note}.`;
	}

	private async savedExpected(): Promise<Map<string, ExpectedState> | undefined> {
		const side = await this.stores.openSidecar('session');
		const bytes = await side.get(SAVED_EXPECTED);
		if (!bytes) return undefined;
		try {
			const obj = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, [number, number | number[]][]>;
			return new Map(Object.entries(obj).map(([k, v]) => [k, ExpectedState.fromJSON(v)]));
		} catch {
			return undefined;
		}
	}
}

/** Packs one trace row (f64 columns at f, u8 columns at b) into an event at out[o]. */
function packRow(out: Float64Array, o: number, f64: Float64Array, f: number, u8: Uint8Array, b: number): void {
	out[o + EventCol.id] = f64[f + Col.id];
	out[o + EventCol.disk] = f64[f + Col.disk];
	out[o + EventCol.op] = u8[b + 0];
	out[o + EventCol.status] = u8[b + 2];
	out[o + EventCol.issuedAt] = f64[f + Col.issuedAt];
	out[o + EventCol.doneAt] = f64[f + Col.doneAt];
	out[o + EventCol.deviceStart] = f64[f + Col.deviceStart];
	out[o + EventCol.deviceDone] = f64[f + Col.deviceDone];
	out[o + EventCol.endedBy] = u8[b + 3];
	out[o + EventCol.lba] = f64[f + Col.lba];
	out[o + EventCol.sectors] = f64[f + Col.sectors];
	const nF = u8[b + 4];
	for (let k = 0; k < nF; k++) {
		const p = o + EVENT_FIXED + k * EVENT_PER_FILTER;
		const q = f + 9 + 4 * k;
		out[p] = f64[q];
		out[p + 1] = f64[q + 1];
		out[p + 2] = f64[q + 2];
		out[p + 3] = f64[q + 3];
		out[p + 4] = u8[b + 5 + 2 * k];
		out[p + 5] = u8[b + 5 + 2 * k + 1];
	}
	// Filters the chain does not have: -1 (never happened), like unreached ones.
	for (let k = nF; k < 8; k++) out.fill(-1, o + EVENT_FIXED + k * EVENT_PER_FILTER, o + EVENT_FIXED + k * EVENT_PER_FILTER + 4);
}

/** True when two scenarios give the same disks the same size, datastore and filter chain. */
export function sameStorage(saved: unknown, next: Scenario): boolean {
	if (saved === undefined) return false;
	let prev: Scenario;
	try {
		prev = parseScenario(saved);
	} catch {
		return false;
	}
	const shape = (sc: Scenario) =>
		JSON.stringify(sc.vms.map((vm) => vm.disks.map((d) => [vm.name, d.name, d.size, d.datastore, d.policy])));
	return shape(prev) === shape(next);
}
