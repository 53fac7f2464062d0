/**
 * The filter contract (names are the playground's own; VMware's VMIOF names are not public).
 * A filter is a plain record of hooks, like a device-mapper target: `onIo` returns one of four
 * tagged verdicts, `onDone` sees the completion on the way back up.
 */
import type { Prng } from './clock';
import type { Io, IoError } from './io';
import type { DeviceModel, LinkModel } from './devices/types';
import type { BlockStore, SidecarStore } from './storage/types';

/** Bumped when the contract changes incompatibly; the registry refuses other versions. */
export const FILTER_CONTRACT_VERSION = 1;

/** VAIO filter classes, in the order the framework invokes them (top = guest side). */
export const FILTER_CLASSES = [
	'inspection',
	'compression',
	'encryption',
	'replication',
	'cache',
	'dataProvider',
	'datastoreIoControl'
] as const;
export type FilterClass = (typeof FILTER_CLASSES)[number];

// ---- parameters: one table per filter drives validation, the panel, links and docs ----

export type ParamValue = number | boolean | string;
export type ParamValues = Record<string, ParamValue>;

interface ParamBase {
	name: string;
	help: string;
	unit?: string;
}
export type ParamSpec =
	| (ParamBase & { type: 'int' | 'number'; default: number; min?: number; max?: number })
	| (ParamBase & { type: 'bool'; default: boolean })
	| (ParamBase & { type: 'enum'; default: string; choices: readonly string[] })
	| (ParamBase & { type: 'string'; default: string; maxLength?: number });

// ---- verdicts ----

export type Verdict =
	| { kind: 'pass' }
	| { kind: 'complete'; data?: Uint8Array }
	| { kind: 'fail'; error: IoError }
	| { kind: 'defer' };

export const PASS: Verdict = Object.freeze({ kind: 'pass' });
export const DEFER: Verdict = Object.freeze({ kind: 'defer' });
export function complete(data?: Uint8Array): Verdict {
	return { kind: 'complete', data };
}
export function fail(code: IoError['code'], message: string, source = ''): Verdict {
	return { kind: 'fail', error: { code, message, source } };
}

/** Numeric verdict codes for the trace. */
export const VerdictCode = { none: 0, pass: 1, complete: 2, fail: 3, defer: 4 } as const;

// ---- control operations the framework tells filters about ----

export type ControlEvent =
	| { type: 'snapshot-create'; snapshot: string }
	| { type: 'snapshot-revert'; snapshot: string }
	| { type: 'snapshot-delete'; snapshot: string }
	| { type: 'disk-grow'; sectors: number }
	| { type: 'power-on' }
	| { type: 'power-off' }
	| { type: 'suspend' }
	| { type: 'resume' }
	| { type: 'clone'; target: string }
	| { type: 'migrate'; toHost: string }
	| { type: 'attach' }
	| { type: 'detach' }
	| { type: 'bookmark'; label: string };

// ---- the context a filter works through ----

/** What the framework gives a filter instance (one per filter per disk). */
export interface FilterContext<S = unknown> {
	/** Current virtual time, µs. */
	readonly now: number;
	/** This instance's seeded PRNG (independent stream per filter per disk). */
	readonly prng: Prng;
	/** Validated parameters (defaults filled in). */
	readonly params: ParamValues;
	/** The filter's position in its chain, 0 = top (guest side). */
	readonly index: number;
	readonly disk: { readonly name: string; readonly vm: string; readonly host: string; readonly sectors: number };
	/** The instance state returned by attach(). */
	state: S;
	/** Persistent per-disk state (the VAIO sidecar file next to the disk). */
	readonly sidecar: SidecarStore;
	/**
	 * Timing-only mode: I/O carries no data (io.data is undefined, reads complete without
	 * bytes); a filter simulates its metadata and timing only.
	 */
	readonly timingOnly: boolean;

	/**
	 * Runs `fn` after `delayUs` of virtual time. If `fn` returns a Promise (an asynchronous store),
	 * the engine waits for it before the next event, so runs stay deterministic.
	 */
	after(delayUs: number, fn: () => void | Promise<void>): void;
	/**
	 * Charges `us` of work to the disk's I/O path from inside a hook: a blocking call. The disk
	 * processes nothing else until it has elapsed (that is the lesson: defer does not block).
	 */
	charge(us: number): void;

	/** A deferred I/O (onIo returned defer) goes on down to the next filter. */
	resume(io: Io): void;
	/** A deferred I/O is completed by this filter (for a read, `data` is what the guest reads). */
	complete(io: Io, data?: Uint8Array): void;
	/** A deferred I/O fails here; only the filters above this one are told. */
	fail(io: Io, code: IoError['code'], message: string): void;
	/** An I/O whose onDone returned defer continues up. */
	resumeUp(io: Io): void;
	/** An I/O whose onDone returned defer continues up as a failure. */
	failUp(io: Io, code: IoError['code'], message: string): void;

	/**
	 * Issues the filter's own I/O (destage, migrate, remap) to the filters below it and the
	 * device; `done` runs when it completes (io.error set on failure).
	 */
	submitBelow(op: Io['op'], lba: number, sectors: number, data: Uint8Array | undefined, done: (io: Io) => void): void;

	/** A device the filter was given by the scenario (e.g. 'ssd' for the cache, 'wan' link). */
	device(name: string): FilterDevice;
	/** An event in the run's log (shown in the page's event log). */
	log(message: string): void;
}

/** A device spec as a scenario writes it: a storage device (with its own store) or a WAN link. */
export type FilterDeviceSpec =
	| { kind: 'nvme' | 'sata-ssd' | 'hdd' | 'null'; params?: Record<string, number> }
	| { kind: 'wan'; rttUs?: number; mbitPerSec?: number };

/** A device a filter owns: its timing model and its own store of real bytes. */
export interface FilterDevice {
	readonly model: DeviceModel | undefined;
	readonly link: LinkModel | undefined;
	readonly store: BlockStore | undefined;
}

/**
 * A filter type. Required: contract, name, vendor, version, class, params, attach, onIo.
 * Every hook is called with the instance's context; the instance state lives in ctx.state.
 */
export interface FilterDef<S = any> {
	contract: number;
	name: string;
	vendor: string;
	version: string;
	class: FilterClass;
	/** The passthrough filter lets a scenario choose its class. */
	classConfigurable?: boolean;
	description: string;
	params: readonly ParamSpec[];
	/** True when the filter works in timing-only mode (no data bytes; metadata and timing only). */
	timingOnly?: boolean;
	/**
	 * Devices the filter needs, by role, with the spec used when the scenario gives none: e.g.
	 * { ssd: { kind: 'nvme' } } for a cache, { wan: { kind: 'wan' }, replica: { kind: 'sata-ssd' } }.
	 */
	devices?: Readonly<Record<string, FilterDeviceSpec>>;
	/** Called when attached to a disk (also after a restart: read the sidecar here). */
	attach(ctx: FilterContext<S>): S | Promise<S>;
	/** Called before detach: release everything held (deferred I/O, dirty data). */
	detach?(ctx: FilterContext<S>): void | Promise<void>;
	/**
	 * Every I/O on the way down. Must return a verdict. A write's data (io.data) belongs to the
	 * I/O until it is acknowledged (the guest reuses the buffer): a filter that keeps it longer
	 * (a journal, a cache copy) must copy it, and a filter that transforms it puts its result in
	 * a new buffer (replacing io.data), never into the guest's.
	 */
	onIo(io: Io, ctx: FilterContext<S>): Verdict;
	/**
	 * On the way up, for I/O this filter passed down. May pass, fail or defer. The data of a read
	 * (io.data) belongs to the I/O until the guest has it: a filter that keeps it must copy it.
	 */
	onDone?(io: Io, ctx: FilterContext<S>): Verdict;
	/** Control operations; the operation proceeds when the returned promise settles. */
	onEvent?(event: ControlEvent, ctx: FilterContext<S>): void | Promise<void>;
	/**
	 * The playground's own hook, not VAIO's: the host saves the disks at rest (the page saves on
	 * pause, step and stop, so a reload finds them). The stores below have just been flushed;
	 * write to the sidecar what a restart needs to read back what was acknowledged. No I/O, no
	 * virtual time: the clock is stopped and I/O may be in flight (persist its old state).
	 */
	checkpoint?(ctx: FilterContext<S>): void | Promise<void>;
	/** Counters for status panels and the CLI's JSON. */
	status?(ctx: FilterContext<S>): Record<string, number | string>;
}
