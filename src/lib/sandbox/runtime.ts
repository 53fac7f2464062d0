/**
 * The custom filter's side of the sandbox: the code that runs in the filter's own Worker, around
 * the user's module. It
 * - hardens the Worker's global scope before any user code runs: no network (fetch, XHR,
 *   WebSocket, EventSource, WebTransport, importScripts), no storage (indexedDB, caches,
 *   navigator.storage, locks), no wall clock or unseeded randomness (setTimeout, Date.now,
 *   performance.now, Math.random: use ctx.after, ctx.now and ctx.prng), no more workers, no
 *   messages to anyone but the engine. (The sandboxed iframe the Worker starts from already gives
 *   it an opaque origin, so the app's OPFS and IndexedDB are out of reach whatever the code
 *   finds, and its CSP refuses network and eval; this is the second wall.)
 * - loads the user module (transpiled TypeScript, an ES module whose default export is the
 *   filter) with `import 'vaio'` resolved to the filter SDK;
 * - answers the engine's requests (protocol.ts) one at a time, in order: it calls the hook with a
 *   mirror of the filter context and sends back the verdict, the effects and the status;
 * - reports a throw with the line in the user's source: sucrase keeps lines, and the module is
 *   its own blob URL, so the first stack frame in that URL gives the line.
 *
 * `sandboxRuntime` must be self-contained: the page ships it to the Worker as its source text
 * (`sandboxRuntime.toString()`), so it may use only its parameters and the Worker's globals.
 * Only type imports above this line. ctx.prng is the engine's own Prng (engine/prng.ts), handed in
 * as `options.Prng`: the page ships that module bundled into the Worker's source (host.ts), the
 * in-thread harness passes the class itself. One implementation, so custom and built-in filters
 * draw the same numbers from the same seed.
 */
import type { Prng } from '../engine/prng';
import type { Effect, FilterDescription, HookError, IoMsg, IoPatch, Reply, Request, SdkConstants, VerdictMsg } from './protocol';

/** The port the runtime answers on (a MessagePort, or a fake in tests). */
export interface RuntimePort {
	postMessage(message: Reply): void;
	onmessage: ((e: { data: Request }) => void) | null;
}

export interface RuntimeOptions {
	/** Imports a module from its URL; in the Worker `(u) => import(u)` (kept out of bundlers' sight). */
	importModule: (url: string) => Promise<Record<string, unknown>>;
	/** Turns module source into an importable URL; default: a blob URL. Node tests use data: URLs. */
	moduleUrl?: (code: string) => string;
	/** The port, when the host hands it over directly (tests); else the first message brings it. */
	port?: RuntimePort;
	/** Harden the global scope (default true; tests that run in the test's own thread say false). */
	harden?: boolean;
	/** The engine's PRNG class (engine/prng.ts): in the Worker, from its bundled source (host.ts). */
	Prng: new (seed: number) => Prng;
}

/** ctx.prng in a custom filter: the engine's Prng methods, and nothing else of it. */
export interface SandboxPrng {
	next(): number;
	u32(): number;
	int(n: number): number;
	exp(mean: number): number;
	normal(): number;
	fork(salt: number): SandboxPrng;
}

/** The sandbox Worker's program. Self-contained: see the note at the top of this file. */
export function sandboxRuntime(scope: Record<string, any>, options: RuntimeOptions): void {
	'use strict';
	const MAX_LOGS_PER_REPLY = 200;
	const MAX_LOG_CHARS = 1000;
	const HOOKS = ['attach', 'detach', 'onIo', 'onDone', 'onEvent', 'status'];
	const FIELDS = ['contract', 'name', 'vendor', 'version', 'class', 'classConfigurable', 'timingOnly', 'description'];

	// ---- capture what the runtime needs, then harden the scope ----
	const BlobCtor = scope.Blob;
	const urlApi = scope.URL;
	const moduleUrl =
		options.moduleUrl ?? ((code: string) => urlApi.createObjectURL(new BlobCtor([code], { type: 'text/javascript' })));
	const clone: (v: unknown) => unknown =
		typeof scope.structuredClone === 'function' ? (v) => scope.structuredClone(v) : (v) => JSON.parse(JSON.stringify(v));

	function deny(name: string, why: string): void {
		const thrower = () => {
			throw new Error(`${name} is not available in a custom filter (${why})`);
		};
		try {
			Object.defineProperty(scope, name, { get: thrower, set: () => undefined, configurable: false });
		} catch {
			try {
				scope[name] = undefined;
			} catch {
				/* a property we cannot change: the opaque origin and the CSP still apply */
			}
		}
	}

	if (options.harden !== false) {
		const network = 'no network';
		for (const n of ['fetch', 'XMLHttpRequest', 'WebSocket', 'WebSocketStream', 'EventSource', 'WebTransport', 'importScripts'])
			deny(n, network);
		const storage = 'no storage but the filter API';
		for (const n of ['indexedDB', 'caches', 'webkitRequestFileSystem', 'webkitResolveLocalFileSystemURL']) deny(n, storage);
		for (const n of ['Worker', 'SharedWorker', 'BroadcastChannel', 'postMessage']) deny(n, 'a filter talks only to the engine');
		const clock = 'use ctx.after: filters run on the virtual clock';
		for (const n of ['setTimeout', 'setInterval', 'clearTimeout', 'clearInterval', 'requestAnimationFrame']) deny(n, clock);
		deny('navigator', 'no storage, locks or network');
		try {
			scope.Math.random = () => {
				throw new Error('Math.random is not available in a custom filter (use ctx.prng: seeded, so runs replay)');
			};
			scope.Date.now = () => {
				throw new Error('Date.now is not available in a custom filter (use ctx.now: virtual µs)');
			};
			if (scope.performance) deny('performance', 'use ctx.now: virtual µs');
		} catch {
			/* frozen intrinsics: nothing to do */
		}
	}

	// ---- the SDK: what `import { PASS, … } from 'vaio'` gives ----
	const PASS = Object.freeze({ kind: 'pass' });
	const DEFER = Object.freeze({ kind: 'defer' });
	const sdkValues: Record<string, unknown> = {
		PASS,
		DEFER,
		complete: (data?: Uint8Array) => ({ kind: 'complete', data }),
		fail: (code: string, message: string) => ({ kind: 'fail', error: { code, message, source: '' } })
	};

	// ---- state ----
	let port: RuntimePort | undefined;
	let def: Record<string, any> | undefined;
	let userUrl = '';
	let errorCodes: readonly string[] = [];
	let nextTid = 0;
	let effects: Effect[] = [];
	let droppedLogs = 0;
	let logsInReply = 0;
	let queue: Promise<void> = Promise.resolve();
	/** The I/O whose hook or timer is running (a timer set now is about it). */
	let currentIo: number | undefined;

	interface IoRec {
		io: Record<string, any>;
		raw: () => Uint8Array | undefined;
		set: (d: Uint8Array | undefined) => void;
		touched: boolean;
		lba: number;
		sectors: number;
		held: '' | 'down' | 'up';
	}
	interface Instance {
		iid: number;
		ctx: Record<string, any>;
		ios: Map<number, IoRec>;
		/** Timers by id, with the I/O whose hook (or timer) set them, if any. */
		timers: Map<number, { fn: () => unknown; io: number | undefined }>;
		/** Callbacks of the filter's own I/O and device I/O in flight, by request id (likewise). */
		pending: Map<number, { fn: (...args: unknown[]) => unknown; io: number | undefined; link?: true }>;
		/** Device roles → kind, as the engine gave them, and each link's round-trip time. */
		devices: Record<string, 'storage' | 'link'>;
		linkRttUs: Record<string, number>;
	}
	let nextRid = 0;
	const instances = new Map<number, Instance>();

	// ---- helpers ----
	function errorText(e: unknown): string {
		try {
			if (e instanceof Error) return `${e.name && e.name !== 'Error' ? e.name + ': ' : ''}${e.message}`;
			return String(e);
		} catch {
			return 'an exception that cannot be printed';
		}
	}

	function hookError(hook: string, e: unknown): HookError {
		const out: HookError = { hook, message: errorText(e) };
		let stack = '';
		try {
			stack = String((e as { stack?: unknown })?.stack ?? '');
		} catch {
			/* a hostile getter */
		}
		const at = userUrl ? stack.indexOf(userUrl + ':') : -1;
		if (at >= 0) {
			const m = /^:(\d+):(\d+)/.exec(stack.slice(at + userUrl.length));
			if (m) {
				out.line = Number(m[1]);
				out.column = Number(m[2]);
			}
		}
		return out;
	}

	function push(e: Effect): void {
		effects.push(e);
	}

	function makeIo(m: IoMsg): IoRec {
		let data = m.data;
		const io: Record<string, any> = {
			id: m.id,
			op: m.op,
			lba: m.lba,
			sectors: m.sectors,
			origin: m.origin,
			issuedAt: m.issuedAt,
			stream: m.stream,
			slots: [],
			error: m.error
		};
		const rec: IoRec = {
			io,
			raw: () => data,
			set: (d) => {
				data = d;
			},
			touched: false,
			lba: m.lba,
			sectors: m.sectors,
			held: ''
		};
		Object.defineProperty(io, 'data', {
			enumerable: true,
			get: () => {
				rec.touched = true;
				return data;
			},
			set: (v) => {
				rec.touched = true;
				data = v;
			}
		});
		return rec;
	}

	/** What changed in the I/O since it was last sent either way. */
	function patchOf(rec: IoRec): IoPatch | undefined {
		const p: IoPatch = {};
		let any = false;
		const io = rec.io;
		if (io.lba !== rec.lba && typeof io.lba === 'number') {
			p.lba = io.lba;
			rec.lba = io.lba;
			any = true;
		}
		if (io.sectors !== rec.sectors && typeof io.sectors === 'number') {
			p.sectors = io.sectors;
			rec.sectors = io.sectors;
			any = true;
		}
		if (rec.touched) {
			rec.touched = false;
			const d = rec.raw();
			if (d instanceof Uint8Array) {
				p.data = d;
				any = true;
			}
		}
		return any ? p : undefined;
	}

	function idOf(io: unknown, what: string): number {
		const id = (io as { id?: unknown } | null)?.id;
		if (typeof id !== 'number') throw new TypeError(`ctx.${what}(io): io is not an I/O`);
		return id;
	}

	function codeOf(code: unknown): string {
		return typeof code === 'string' && errorCodes.includes(code) ? code : 'EFILTER';
	}

	const PrngClass = options.Prng;

	/**
	 * ctx.prng: a frozen view of one of the engine's Prng objects (its methods, not its state);
	 * fork gives a view of the child the same way.
	 */
	function prngView(p: Prng): SandboxPrng {
		const view: SandboxPrng = {
			next: () => p.next(),
			u32: () => p.u32(),
			int: (n: number) => p.int(n),
			exp: (mean: number) => p.exp(mean),
			normal: () => p.normal(),
			fork: (salt: number) => prngView(p.fork(salt))
		};
		return Object.freeze(view);
	}

	let sidecarLimits: SdkConstants['SIDECAR_LIMITS'] = { keys: 0, keyChars: 0, bytes: 0 };

	/**
	 * ctx.sidecar: a mirror of the filter's sidecar as it was at attach. Reads are synchronous;
	 * every change is sent to the engine with the reply, which writes it to the disk's sidecar
	 * store before its next event (so a restart finds it). Values are copied both ways: what the
	 * filter does to a buffer afterwards changes nothing stored.
	 */
	function makeSidecar(iid: number, initial: [string, Uint8Array][] | undefined): Record<string, unknown> {
		const kv = new Map<string, Uint8Array>(initial ?? []);
		let bytes = 0;
		for (const v of kv.values()) bytes += v.byteLength;
		const keyOf = (key: unknown, what: string): string => {
			if (typeof key !== 'string' || key.length === 0 || key.length > sidecarLimits.keyChars)
				throw new TypeError(`ctx.sidecar.${what}(key): the key must be a string of 1 to ${sidecarLimits.keyChars} characters`);
			return key;
		};
		return Object.freeze({
			get(key: unknown): Uint8Array | undefined {
				const v = kv.get(keyOf(key, 'get'));
				return v === undefined ? undefined : v.slice();
			},
			set(key: unknown, value: unknown): void {
				const k = keyOf(key, 'set');
				if (!(value instanceof Uint8Array)) throw new TypeError(`ctx.sidecar.set("${k}", value): value must be a Uint8Array`);
				const old = kv.get(k);
				if (old === undefined && kv.size >= sidecarLimits.keys) throw new RangeError(`ctx.sidecar.set("${k}"): a custom filter's sidecar holds at most ${sidecarLimits.keys} keys`);
				const total = bytes - (old?.byteLength ?? 0) + value.byteLength;
				if (total > sidecarLimits.bytes)
					throw new RangeError(`ctx.sidecar.set("${k}"): the sidecar would hold ${total} bytes, more than the ${sidecarLimits.bytes} a custom filter may keep`);
				const copy = value.slice();
				kv.set(k, copy);
				bytes = total;
				push({ k: 'sidecarSet', iid, key: k, value: copy.slice() });
			},
			delete(key: unknown): void {
				const k = keyOf(key, 'delete');
				const old = kv.get(k);
				if (old === undefined) return;
				kv.delete(k);
				bytes -= old.byteLength;
				push({ k: 'sidecarDelete', iid, key: k });
			},
			keys(): string[] {
				return [...kv.keys()];
			}
		});
	}

	/** Checks the arguments of an own or device I/O; returns the data to send (a copy). */
	function ioArgs(what: string, op: unknown, lba: unknown, sectors: unknown, data: unknown, done: unknown): Uint8Array | undefined {
		if (typeof op !== 'number' || !(op in sdkOpNames)) throw new TypeError(`${what}: op ${String(op)} is not an Op (Op.read, Op.write, Op.flush, Op.unmap)`);
		if (!Number.isSafeInteger(lba) || (lba as number) < 0) throw new RangeError(`${what}: lba ${String(lba)} is not a sector number ≥ 0`);
		if (!Number.isSafeInteger(sectors) || (sectors as number) < 0) throw new RangeError(`${what}: sectors ${String(sectors)} is not a count ≥ 0`);
		if (typeof done !== 'function') throw new TypeError(`${what}: done is not a function`);
		if (op === opWrite) {
			if (!(data instanceof Uint8Array) || data.length !== (sectors as number) * sectorBytes)
				throw new TypeError(`${what}: a write needs data, a Uint8Array of sectors × ${sectorBytes} bytes`);
			return data.slice();
		}
		return undefined;
	}
	/** Op codes → names, the write code and the sector size, from the engine's constants at load. */
	const sdkOpNames: Record<number, string> = {};
	let opWrite = -1;
	let sectorBytes = 0;

	/**
	 * The 'vaio' module's deviceIo: I/O on one of the filter's storage devices. It keeps no state
	 * of its own (the handle from ctx.device carries the submit function, under a registered
	 * symbol), so any copy of the module works with any sandbox's handles.
	 */
	function deviceIo(ctx: unknown, device: unknown, op: unknown, lba: unknown, sectors: unknown, data: unknown, done: unknown): void {
		const submit = device !== null && typeof device === 'object' ? (device as Record<symbol, unknown>)[Symbol.for('vaio.deviceIo')] : undefined;
		if (typeof submit !== 'function') throw new TypeError('deviceIo(ctx, device, …): device is not one that ctx.device(role) returned');
		submit(ctx, op, lba, sectors, data, done);
	}

	/**
	 * Files `done` under a new request id until the engine answers it (an 'own' or 'deviceDone'
	 * request), with the I/O whose hook or timer asked, as timers are.
	 */
	function awaitCompletion(inst: Instance, done: unknown, link: boolean): number {
		const rid = ++nextRid;
		inst.pending.set(rid, { fn: done as (...args: unknown[]) => unknown, io: currentIo, ...(link ? { link: true as const } : {}) });
		return rid;
	}

	/** The 'vaio' module's linkSend: a message of `bytes` over one of the filter's network links. */
	function linkSend(ctx: unknown, link: unknown, bytes: unknown, done: unknown): void {
		const send = link !== null && typeof link === 'object' ? (link as Record<symbol, unknown>)[Symbol.for('vaio.linkSend')] : undefined;
		if (typeof send !== 'function') throw new TypeError('linkSend(ctx, link, …): link is not a network link that ctx.device(role) returned');
		send(ctx, bytes, done);
	}

	function unavailable(what: string): never {
		throw new Error(`${what} is not available in custom filters (see the filter authoring docs)`);
	}

	function makeContext(iid: number, info: Extract<Request, { t: 'attach' }>['info']): Instance {
		const inst: Instance = { iid, ctx: {}, ios: new Map(), timers: new Map(), pending: new Map(), devices: { ...(info.devices ?? {}) }, linkRttUs: { ...(info.linkRttUs ?? {}) } };
		const hasOnDone = typeof def?.onDone === 'function';
		const rec = (io: unknown, what: string) => inst.ios.get(idOf(io, what));
		const ctx: Record<string, any> = {
			now: 0,
			prng: prngView(new PrngClass(info.seed)),
			params: Object.freeze({ ...info.params }),
			index: info.index,
			disk: Object.freeze({ ...info.disk }),
			timingOnly: info.timingOnly === true,
			state: undefined,
			after(delayUs: number, fn: () => unknown) {
				if (typeof fn !== 'function') throw new TypeError('ctx.after(delayUs, fn): fn is not a function');
				const d = Number(delayUs);
				if (!(d >= 0) || !Number.isFinite(d)) throw new RangeError(`ctx.after: delay ${String(delayUs)} is not a number of µs ≥ 0`);
				const tid = ++nextTid;
				inst.timers.set(tid, { fn, io: currentIo });
				push({ k: 'timer', iid, tid, delayUs: d });
			},
			charge(us: number) {
				const n = Number(us);
				if (n > 0 && Number.isFinite(n)) push({ k: 'charge', iid, us: n });
			},
			log(message: unknown) {
				if (++logsInReply > MAX_LOGS_PER_REPLY) {
					droppedLogs++;
					return;
				}
				let text = String(message);
				if (droppedLogs > 0) {
					text = `(${droppedLogs} log lines dropped) ${text}`;
					droppedLogs = 0;
				}
				push({ k: 'log', iid, message: text.slice(0, MAX_LOG_CHARS) });
			},
			resume(io: unknown) {
				const r = rec(io, 'resume');
				const id = idOf(io, 'resume');
				push({ k: 'resume', iid, id, patch: r ? patchOf(r) : undefined });
				if (r && r.held === 'down') {
					r.held = '';
					if (!hasOnDone) inst.ios.delete(id);
				}
			},
			complete(io: unknown, data?: Uint8Array) {
				if (data !== undefined && !(data instanceof Uint8Array)) throw new TypeError('ctx.complete(io, data): data must be a Uint8Array');
				const id = idOf(io, 'complete');
				const r = inst.ios.get(id);
				push({ k: 'complete', iid, id, data, patch: r ? patchOf(r) : undefined });
				inst.ios.delete(id);
			},
			fail(io: unknown, code: unknown, message: unknown) {
				const id = idOf(io, 'fail');
				push({ k: 'fail', iid, id, code: codeOf(code), message: String(message ?? '') });
				inst.ios.delete(id);
			},
			resumeUp(io: unknown) {
				const r = rec(io, 'resumeUp');
				const id = idOf(io, 'resumeUp');
				push({ k: 'resumeUp', iid, id, patch: r ? patchOf(r) : undefined });
				inst.ios.delete(id);
			},
			failUp(io: unknown, code: unknown, message: unknown) {
				const id = idOf(io, 'failUp');
				push({ k: 'failUp', iid, id, code: codeOf(code), message: String(message ?? '') });
				inst.ios.delete(id);
			},
			submitBelow(op: unknown, lba: unknown, sectors: unknown, data: unknown, done: unknown) {
				const bytes = ioArgs('ctx.submitBelow', op, lba, sectors, data, done);
				const rid = awaitCompletion(inst, done, false);
				push({ k: 'submitBelow', iid, rid, op: op as number, lba: lba as number, sectors: sectors as number, ...(bytes ? { data: bytes } : {}) });
			},
			device(role: unknown) {
				const kind = typeof role === 'string' && Object.prototype.hasOwnProperty.call(inst.devices, role) ? inst.devices[role] : undefined;
				if (!kind) throw new Error(`ctx.device(${JSON.stringify(role)}): the filter has no such device (has: ${Object.keys(inst.devices).join(', ') || 'none: declare them in "devices"'})`);
				if (kind === 'link') {
					const sendOn = (c: unknown, bytes: unknown, done: unknown) => {
						if (c !== ctx) throw new TypeError('linkSend(ctx, link, …): the link belongs to another filter instance');
						if (!Number.isSafeInteger(bytes) || (bytes as number) < 0) throw new RangeError(`linkSend: bytes ${String(bytes)} is not a whole number ≥ 0`);
						if (typeof done !== 'function') throw new TypeError('linkSend: done is not a function');
						const rid = awaitCompletion(inst, done, true);
						push({ k: 'linkSend', iid, rid, role: role as string, bytes: bytes as number });
					};
					const link = { role, kind, rttUs: inst.linkRttUs[role as string] ?? 0 };
					Object.defineProperty(link, Symbol.for('vaio.linkSend'), { value: sendOn });
					return Object.freeze(link);
				}
				const submit = (c: unknown, op: unknown, lba: unknown, sectors: unknown, data: unknown, done: unknown) => {
					if (c !== ctx) throw new TypeError('deviceIo(ctx, device, …): the device belongs to another filter instance');
					const bytes = ioArgs('deviceIo', op, lba, sectors, data, done);
					const rid = awaitCompletion(inst, done, false);
					push({ k: 'deviceIo', iid, rid, role: role as string, op: op as number, lba: lba as number, sectors: sectors as number, ...(bytes ? { data: bytes } : {}) });
				};
				const handle = { role, kind };
				Object.defineProperty(handle, Symbol.for('vaio.deviceIo'), { value: submit });
				return Object.freeze(handle);
			},
			sidecar: makeSidecar(iid, info.sidecar)
		};
		inst.ctx = ctx;
		return inst;
	}

	function verdictOf(v: unknown, hook: string): VerdictMsg {
		const kind = (v as { kind?: unknown } | null)?.kind;
		if (kind === 'pass' || kind === 'defer') return { kind };
		if (kind === 'complete') {
			const data = (v as { data?: unknown }).data;
			if (data !== undefined && !(data instanceof Uint8Array)) throw new TypeError(`${hook} returned complete(data) with data that is not a Uint8Array`);
			return { kind, data: data as Uint8Array | undefined };
		}
		if (kind === 'fail') {
			const err = (v as { error?: { code?: unknown; message?: unknown } }).error ?? {};
			return { kind, code: codeOf(err.code), message: String(err.message ?? '') };
		}
		if (hook === 'onDone' && (v === undefined || v === null)) return { kind: 'pass' };
		throw new TypeError(`${hook} returned no verdict (return PASS, DEFER, complete(…) or fail(…))`);
	}

	function statusOf(inst: Instance | undefined): Record<string, number | string> | undefined {
		if (!inst || typeof def?.status !== 'function') return undefined;
		try {
			const s = def.status(inst.ctx);
			const out: Record<string, number | string> = {};
			if (s && typeof s === 'object')
				for (const [k, v] of Object.entries(s).slice(0, 32)) out[k] = typeof v === 'number' ? v : String(v).slice(0, 200);
			return out;
		} catch (e) {
			return { statusError: errorText(e) };
		}
	}

	function isThenable(r: unknown): r is Promise<unknown> {
		return !!r && typeof (r as { then?: unknown }).then === 'function';
	}

	function describe(d: unknown): FilterDescription {
		const type = d === null ? 'null' : typeof d;
		const fields: Record<string, unknown> = {};
		const hooks: Record<string, string> = {};
		if (type === 'object' || type === 'function') {
			const o = d as Record<string, unknown>;
			for (const k of FIELDS) {
				const v = o[k];
				fields[k] = typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || v === undefined ? v : `<${typeof v}>`;
			}
			try {
				fields.params = o.params === undefined ? undefined : clone(o.params);
			} catch {
				fields.params = '<not plain data>';
			}
			try {
				fields.devices = o.devices === undefined ? undefined : clone(o.devices);
			} catch {
				fields.devices = '<not plain data>';
			}
			for (const h of HOOKS) hooks[h] = typeof o[h];
		}
		return { type, fields, hooks };
	}

	async function load(js: string, sdk: SdkConstants): Promise<FilterDescription> {
		errorCodes = sdk.ERROR_CODES;
		sidecarLimits = sdk.SIDECAR_LIMITS;
		Object.assign(sdkValues, {
			FILTER_CONTRACT_VERSION: sdk.FILTER_CONTRACT_VERSION,
			FILTER_CLASSES: Object.freeze([...sdk.FILTER_CLASSES]),
			Op: Object.freeze({ ...sdk.Op }),
			OP_NAMES: Object.freeze([...sdk.OP_NAMES]),
			SECTOR_BYTES: sdk.SECTOR_BYTES,
			BLOCK_BYTES: sdk.BLOCK_BYTES,
			deviceIo,
			linkSend
		});
		for (const [name, code] of Object.entries(sdk.Op)) sdkOpNames[code] = name;
		opWrite = sdk.Op.write;
		sectorBytes = sdk.SECTOR_BYTES;
		// Published on the global object, where the generated 'vaio' module reads it.
		(scope as Record<symbol, unknown>)[Symbol.for('vaio.sdk')] = Object.freeze({ ...sdkValues });
		const sdkSource =
			`const s = globalThis[Symbol.for('vaio.sdk')];\n` +
			Object.keys(sdkValues)
				.map((k) => `export const ${k} = s.${k};`)
				.join('\n') +
			'\nexport default s;\n';
		const sdkUrl = moduleUrl(sdkSource);
		// `from 'vaio'` (or 'vaio/filter') → the SDK module; same line count, so lines still match.
		const code = js.replace(/(\bfrom\s*|\bimport\s*\(?\s*)(['"])vaio(?:\/filter)?\2/g, (_m, pre: string) => pre + JSON.stringify(sdkUrl));
		userUrl = moduleUrl(`${code}\n// vaio custom filter ${++nextTid}\n`);
		const mod = await options.importModule(userUrl);
		def = mod.default as Record<string, any> | undefined;
		return describe(def);
	}

	async function handle(req: Request): Promise<void> {
		const reply: Reply = { seq: req.seq, effects: [] };
		let hook: string = req.t;
		let inst: Instance | undefined;
		let rec: IoRec | undefined;
		currentIo = undefined;
		try {
			if (req.t === 'load') {
				hook = 'load';
				reply.description = await load(req.js, req.sdk);
			} else {
				if (!def) throw new Error('the filter module is not loaded');
				if (req.t === 'attach') {
					hook = 'attach';
					inst = makeContext(req.iid, req.info);
					instances.set(req.iid, inst);
					inst.ctx.now = req.now;
					const r = def.attach(inst.ctx);
					inst.ctx.state = isThenable(r) ? await r : r;
				} else {
					inst = instances.get(req.iid);
					if (!inst) throw new Error(`no filter instance ${req.iid}`);
					const ctx = inst.ctx;
					ctx.now = req.now;
					if (req.t === 'io') {
						hook = 'onIo';
						currentIo = req.io.id;
						rec = makeIo(req.io);
						inst.ios.set(req.io.id, rec);
						const v = verdictOf(def.onIo(rec.io, ctx), hook);
						reply.verdict = v;
						reply.patch = patchOf(rec);
						if (v.kind === 'defer') rec.held = 'down';
						else if (v.kind !== 'pass' || typeof def.onDone !== 'function') inst.ios.delete(req.io.id);
					} else if (req.t === 'done') {
						hook = 'onDone';
						currentIo = req.io.id;
						rec = inst.ios.get(req.io.id) ?? makeIo(req.io);
						inst.ios.set(req.io.id, rec);
						if (req.io.data !== undefined) rec.set(req.io.data);
						rec.io.error = req.io.error;
						rec.touched = false;
						const v = verdictOf(def.onDone(rec.io, ctx), hook);
						reply.verdict = v;
						reply.patch = patchOf(rec);
						if (v.kind === 'defer') rec.held = 'up';
						else inst.ios.delete(req.io.id);
					} else if (req.t === 'timer') {
						hook = 'timer';
						const t = inst.timers.get(req.tid);
						inst.timers.delete(req.tid);
						if (t) {
							currentIo = t.io;
							const r = t.fn();
							if (isThenable(r)) await r;
						}
					} else if (req.t === 'own' || req.t === 'deviceDone') {
						hook = req.t === 'own' ? 'submitBelow callback' : 'device callback';
						const p = inst.pending.get(req.rid);
						inst.pending.delete(req.rid);
						if (p) {
							currentIo = p.io;
							const err = req.t === 'deviceDone' && req.error !== undefined ? new Error(req.error) : undefined;
							const r = req.t === 'own' ? p.fn(makeIo(req.io).io) : p.link ? p.fn(err) : p.fn(req.data, err);
							if (isThenable(r)) await r;
						}
					} else if (req.t === 'event') {
						hook = 'onEvent';
						if (typeof def.onEvent === 'function') {
							const r = def.onEvent(req.event, ctx);
							if (isThenable(r)) await r;
						}
					} else if (req.t === 'detach') {
						hook = 'detach';
						if (typeof def.detach === 'function') {
							const r = def.detach(ctx);
							if (isThenable(r)) await r;
						}
						instances.delete(req.iid);
					}
				}
			}
		} catch (e) {
			reply.error = hookError(hook, e);
			// A hook that threw on an I/O fails that I/O: the filter forgets it. So does a timer
			// that threw, for the I/O it was set for, if the filter still holds it.
			if (rec && inst && (req.t === 'io' || req.t === 'done')) inst.ios.delete(req.io.id);
			if ((req.t === 'timer' || req.t === 'own' || req.t === 'deviceDone') && inst && currentIo !== undefined && inst.ios.get(currentIo)?.held) {
				reply.ioId = currentIo;
				inst.ios.delete(currentIo);
			}
			delete reply.verdict;
		}
		currentIo = undefined;
		reply.effects = effects;
		effects = [];
		logsInReply = 0;
		const status = statusOf(inst);
		if (status) reply.status = status;
		try {
			port!.postMessage(reply);
		} catch (e) {
			// Something in the reply cannot be cloned (user data in a log or status): say so.
			port!.postMessage({ seq: req.seq, effects: [], error: { hook, message: `the reply could not be sent: ${errorText(e)}` } });
		}
	}

	function listen(p: RuntimePort): void {
		port = p;
		p.onmessage = (e) => {
			const req = e.data;
			queue = queue.then(() => handle(req));
		};
	}

	if (options.port) listen(options.port);
	else
		scope.onmessage = (e: { data: { port?: RuntimePort } }) => {
			if (port || !e.data?.port) return;
			scope.onmessage = null;
			listen(e.data.port);
		};
}
