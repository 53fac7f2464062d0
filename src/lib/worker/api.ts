/**
 * The one API between the page and the engine Worker (comlink). Both sides import this
 * interface: the Worker implements it, the page calls it through `Comlink.Remote<EngineApi>`.
 * Everything that crosses is structured-cloneable; frames transfer their typed arrays.
 */
import type { ControlEvent } from '../engine/filter';
import type { RunResult } from '../engine/result';
import type { TraceRow } from '../engine/trace';
import type { Frame, LoadInfo, SavedSession } from './session';
import type { FilterInfo } from '../filters/catalog';
import type { InstallOptions, InstallResult } from '../sandbox/custom-filters';
import type { CustomFilterReport } from '../sandbox/proxy';
import type { AnalyticsReport } from '../filters/analytics';
import type { TraceQuery, TraceQueryResult, TraceView } from './trace-query';
import type { ClusterOpResult, ClusterRequest, ClusterView } from './cluster-ops';
import type { ReplayOptions, ReplayProgress } from './trace-replay';
import type { FilterClass, ParamValue } from '../engine/filter';
import type { CertReport } from '../certify/report';

export type StoreChoice = 'memory' | 'opfs' | 'idb';

/** Where the disks live and how much room the browser gives them (navigator.storage). */
export interface StorageInfo {
	/** The session's store, or the one a load without a choice would use. */
	store: StoreChoice;
	/** True once the browser agreed to keep the data under storage pressure (ask from the page). */
	persisted: boolean;
	/** Bytes used by this origin and its quota (navigator.storage.estimate; 0 when unknown). */
	usage: number;
	quota: number;
	/** Stores this browser offers, best first. */
	available: StoreChoice[];
}

export interface EngineApi {
	/** Every registered filter type with its parameter table (for the palette and panels). */
	catalog(): FilterInfo[];
	/**
	 * Validates and builds a scenario (null: the default one). Throws a ScenarioError message, or
	 * a store error (StoreLockedError, StoreFullError, StoreUnavailableError by name) when the
	 * store cannot be opened. `store` defaults to OPFS where available, else IndexedDB; switching
	 * store saves the session and lets go of the previous store. With `restore`, the disks and
	 * the verification state saved in the store are kept when they fit this scenario (same disks
	 * and filters, saved at rest); otherwise the disks start empty and LoadInfo.discarded says
	 * why. With `replay`, a trace file that the page then streams in (replayPush, replayEnd)
	 * replaces the workload of one disk.
	 */
	load(scenario: unknown | null, store?: StoreChoice, replay?: ReplayOptions, restore?: boolean): Promise<LoadInfo>;
	/** What the store holds from an earlier session (null: nothing, or the memory store). Opens the store. */
	savedSession(store?: StoreChoice): Promise<SavedSession | null>;
	play(): void;
	pause(): void;
	stop(): void;
	/** Runs until one more guest I/O completes. */
	step(): Promise<void>;
	/** Virtual µs per wall ms; Infinity (or ≤ 0) = as fast as possible. */
	setSpeed(usPerMs: number): void;
	runToEnd(): Promise<RunResult>;
	result(): RunResult;
	control(diskKey: string | undefined, event: ControlEvent): Promise<void>;
	/** Wipes disks, sidecars and the saved session. */
	reset(): Promise<void>;
	/** Everything since the previous frame (call once per animation frame). */
	frame(): Frame;
	traceRows(from: number, count: number): TraceRow[];
	traceRange(): { first: number; end: number };
	/** A sorted, filtered window of the trace ring's rows (op, origin, status, a filter's verdict). */
	traceQuery(q: TraceQuery): TraceQueryResult;
	/** Position of completed row `n` in a query's result (-1 when it does not match or was dropped). */
	tracePosition(q: TraceView, n: number): number;
	/** The rows the trace ring holds as a file: CSV, or Chrome Trace Event JSON (Perfetto). */
	exportTrace(format: 'csv' | 'perfetto'): Blob;
	/** The analytics filter's histograms, heat map and MRC for a disk (default: the first); null without one. */
	analytics(diskKey?: string): AnalyticsReport | null;
	/** The store in use, persistence and the origin's usage and quota. */
	storageInfo(): Promise<StorageInfo>;
	/**
	 * Installs (or replaces) a custom filter from its TypeScript source: transpiled here, run in
	 * the sandbox Worker behind `ports` (from the page's SandboxHost, transferred), checked, and
	 * registered so scenarios can use it like a built-in. With `name`, the source must define that
	 * filter. A problem in the source comes back with its line instead of a throw. `options`: a
	 * custom bundle's vendor and version, and whether older versions keep running (InstallOptions).
	 */
	installCustomFilter(name: string | null, source: string, ports: { data: MessagePort; control: MessagePort }, options?: InstallOptions): Promise<InstallResult>;
	/** What went wrong in each custom filter's code (throws with their lines, a stopped sandbox). */
	customFilterReports(): CustomFilterReport[];
	/** The cluster: hosts with their bundles and versions, VMs (host, power, snapshots, disks and policies), latest operations. */
	clusterView(): ClusterView | null;
	/**
	 * Runs a control operation or fault on the live run (playback pauses around it). Resolves with
	 * its effect, or why it was refused; both are in the event log too.
	 */
	clusterOp(req: ClusterRequest): Promise<ClusterOpResult>;
	/** The next chunk of the trace file being replayed (transfer it); resolves when the replay has room for more. */
	replayPush(chunk: Uint8Array): Promise<ReplayProgress>;
	/** The trace file has been sent whole. */
	replayEnd(): ReplayProgress;
	replayStatus(): ReplayProgress | null;
	/**
	 * Runs the certification suite against a registered filter (built-in or custom) in the class
	 * and with the parameters given (default: its own class and defaults).
	 */
	certify(filter: string, options?: { cls?: FilterClass; params?: Record<string, ParamValue> }): Promise<CertReport>;
}

export type { InstallOptions, InstallResult, CustomFilterReport };
export type { ClusterOpResult, ClusterRequest, ClusterView, ReplayOptions, ReplayProgress, CertReport };
export type { Frame, LoadInfo, SavedSession, RunResult, FilterInfo, AnalyticsReport, TraceQuery, TraceQueryResult, TraceView };
