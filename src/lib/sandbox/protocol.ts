/**
 * The messages between the engine (a proxy FilterDef in the engine Worker) and a custom filter's
 * sandbox (its own Worker, started from a sandboxed iframe). One union per direction, shared by
 * both sides; everything is structured-cloneable.
 *
 * The engine asks, the sandbox answers, in order, on one MessagePort: every request carries a
 * sequence number and gets exactly one reply with the same number. A reply carries the hook's
 * result (a verdict for onIo/onDone) and the effects the user code asked for through its context
 * while the hook ran (timers, resume/complete/fail of held I/O, logs, charges), which the proxy
 * applies in order, at the virtual time of the request, before the engine's next event.
 */

/** What the sandbox is told about an I/O. `data` is a copy (the engine keeps its own buffer). */
export interface IoMsg {
	id: number;
	op: number;
	lba: number;
	sectors: number;
	origin: 'guest' | 'filter';
	issuedAt: number;
	stream: number;
	data?: Uint8Array;
	error?: { code: string; message: string; source: string };
}

/** Changes the user code made to an I/O (sent with the verdict or effect that releases it). */
export interface IoPatch {
	lba?: number;
	sectors?: number;
	/** The I/O's bytes after the hook, when the hook read or replaced io.data. */
	data?: Uint8Array;
}

export type VerdictMsg =
	| { kind: 'pass' }
	| { kind: 'defer' }
	| { kind: 'complete'; data?: Uint8Array }
	| { kind: 'fail'; code: string; message: string };

/** Something the user code asked for through ctx; `iid` names the filter instance. */
export type Effect =
	| { k: 'timer'; iid: number; tid: number; delayUs: number }
	| { k: 'charge'; iid: number; us: number }
	| { k: 'log'; iid: number; message: string }
	| { k: 'resume'; iid: number; id: number; patch?: IoPatch }
	| { k: 'complete'; iid: number; id: number; data?: Uint8Array; patch?: IoPatch }
	| { k: 'fail'; iid: number; id: number; code: string; message: string }
	| { k: 'resumeUp'; iid: number; id: number; patch?: IoPatch }
	| { k: 'failUp'; iid: number; id: number; code: string; message: string }
	/** ctx.sidecar.set / delete: written to the disk's sidecar store before the engine's next event. */
	| { k: 'sidecarSet'; iid: number; key: string; value: Uint8Array }
	| { k: 'sidecarDelete'; iid: number; key: string }
	/** ctx.submitBelow: the filter's own I/O to the filters below; answered by an 'own' request. */
	| { k: 'submitBelow'; iid: number; rid: number; op: number; lba: number; sectors: number; data?: Uint8Array }
	/** linkSend on one of the filter's network links; answered by a 'deviceDone' request at arrival. */
	| { k: 'linkSend'; iid: number; rid: number; role: string; bytes: number }
	/** deviceIo on one of the filter's storage devices; answered by a 'deviceDone' request. */
	| { k: 'deviceIo'; iid: number; rid: number; role: string; op: number; lba: number; sectors: number; data?: Uint8Array };

/** A throw (or a broken return value) in user code, with its line in the user's source. */
export interface HookError {
	hook: string;
	message: string;
	/** 1-based line and column in the user's source, when the stack names them. */
	line?: number;
	column?: number;
}

/** The parts of the default export that can be checked without running it (see describe()). */
export interface FilterDescription {
	/** typeof the default export ('object' for a filter). */
	type: string;
	fields: Record<string, unknown>;
	/** typeof each hook: 'function', 'undefined', or what it is instead. */
	hooks: Record<string, string>;
}

/** The engine-side constants the sandbox's 'vaio' module exports. */
export interface SdkConstants {
	FILTER_CONTRACT_VERSION: number;
	FILTER_CLASSES: readonly string[];
	Op: Record<string, number>;
	OP_NAMES: readonly string[];
	SECTOR_BYTES: number;
	BLOCK_BYTES: number;
	ERROR_CODES: readonly string[];
	/** Bounds of ctx.sidecar (kept by the runtime, not exported to the filter module). */
	SIDECAR_LIMITS: { keys: number; keyChars: number; bytes: number };
}

export interface InstanceInfo {
	index: number;
	disk: { name: string; vm: string; host: string; sectors: number };
	params: Record<string, number | boolean | string>;
	/** Seeds the instance's PRNG (drawn from the engine's PRNG for the instance). */
	seed: number;
	/** The run carries no data bytes (the engine's timing-only mode). */
	timingOnly?: boolean;
	/**
	 * What the filter's sidecar holds at attach, [key, bytes] (see SIDECAR_LIMITS): the sandbox
	 * keeps a mirror, so ctx.sidecar.get is synchronous, and sends every change back as an effect.
	 */
	sidecar?: [string, Uint8Array][];
	/** The filter's devices: role → 'storage' (a device with a store: deviceIo) or 'link' (a WAN link: linkSend). */
	devices?: Record<string, 'storage' | 'link'>;
	/** Round-trip time of each link device, µs (a link's fixed property, given to its handle). */
	linkRttUs?: Record<string, number>;
}

/**
 * Bounds of a custom filter's sidecar (checked in the sandbox, where the author sees the error,
 * and again by the engine): a sidecar is metadata (maps, journals, counters), not a second disk.
 */
export const SIDECAR_LIMITS = { keys: 1024, keyChars: 200, bytes: 16 * 2 ** 20 } as const;

/** Engine → sandbox. */
export type Request =
	| { t: 'load'; seq: number; js: string; sdk: SdkConstants }
	| { t: 'attach'; seq: number; iid: number; now: number; info: InstanceInfo }
	| { t: 'io'; seq: number; iid: number; now: number; io: IoMsg }
	| { t: 'done'; seq: number; iid: number; now: number; io: IoMsg }
	| { t: 'timer'; seq: number; iid: number; now: number; tid: number }
	| { t: 'event'; seq: number; iid: number; now: number; event: unknown }
	| { t: 'detach'; seq: number; iid: number; now: number }
	/** The filter's own I/O (ctx.submitBelow `rid`) completed: `io` as it came back up. */
	| { t: 'own'; seq: number; iid: number; now: number; rid: number; io: IoMsg }
	/** A deviceIo (`rid`) completed: a read's bytes, or the error. */
	| { t: 'deviceDone'; seq: number; iid: number; now: number; rid: number; data?: Uint8Array; error?: string };

/** Sandbox → engine: one per request. */
export interface Reply {
	seq: number;
	/** 'load' only: what the module's default export looks like. */
	description?: FilterDescription;
	/** onIo / onDone only. */
	verdict?: VerdictMsg;
	/** Changes to the I/O of an onIo / onDone request. */
	patch?: IoPatch;
	effects: Effect[];
	/** The filter's status() after the request (when it has one). */
	status?: Record<string, number | string>;
	error?: HookError;
	/** A timer that threw: the held I/O it was set for (which therefore fails). */
	ioId?: number;
}

/** Page → sandbox iframe (the iframe starts, and on request stops, the sandbox Worker). */
export type IframeRequest = { type: 'spawn'; id: string; runtime: string; data: MessagePort; control: MessagePort };
/** Sandbox iframe → page. */
export type IframeEvent =
	| { type: 'ready' }
	| { type: 'spawned'; id: string }
	| { type: 'killed'; id: string; reason: string }
	| { type: 'worker-error'; id: string; message: string };
/** Engine → sandbox iframe, on the control port. */
export type ControlMessage = { t: 'kill'; reason: string };
