/**
 * The engine's side of a custom filter: a proxy FilterDef whose hooks forward to the filter's
 * sandbox Worker over a MessagePort (protocol.ts), and the watchdog that stops a sandbox that
 * does not answer.
 *
 * Hooks are synchronous and the sandbox is across postMessage, so:
 * - onIo sends the request at once and returns DEFER; it schedules `ctx.after(0, …)` whose
 *   callback returns the promise of the reply and applies it (the verdict, the I/O's changes, the
 *   effects). The engine's run loop awaits a promise returned by a timer callback before the next
 *   event, so the reply takes effect at the virtual time of the request, every run the same.
 *   Requests of I/Os issued at one instant are in flight together (pipelined), answered in order.
 * - onDone the same way, releasing the I/O with resumeUp / failUp.
 * - the filter's timers (ctx.after in the sandbox) are engine timers whose callback asks the
 *   sandbox to run the user's function and awaits the answer.
 *
 * Failures (the filter's, never the engine's):
 * - a throw in a hook fails that I/O with EFILTER, with the message and the line in the user's
 *   source; it is logged and counted in the report;
 * - a sandbox that gives no reply for `budgetMs` of wall time (a hang) is stopped: the page's
 *   iframe terminates its Worker (control port), every I/O the filter holds or was asked about
 *   fails with ETIMEDOUT, and the filter is marked crashed: from then on its I/O fails at once
 *   (EFILTER), because passing it through could skip work the filter exists to do (encrypting,
 *   replicating). A failed write is never acknowledged, so the guest's verification treats its
 *   sectors as unknown: no acknowledged data is lost. Install the filter again to recover.
 *
 * The wall clock (the watchdog) lives here, outside src/lib/engine: the engine itself stays a
 * pure function of scenario and seed.
 */
import { DEFER, FILTER_CLASSES, FILTER_CONTRACT_VERSION, fail, type ControlEvent, type FilterContext, type FilterDef, type FilterDevice, type ParamSpec } from '../engine/filter';
import { BLOCK_BYTES, OP_NAMES, Op, SECTOR_BYTES, type Io, type IoError, type OpCode } from '../engine/io';
import { releaseReadBuffer } from '../engine/buffers';
import { deviceIo } from '../filters/sdk';
import { ERROR_CODES } from '../engine/trace';
import { checkFilterDef } from '../engine/registry';
import { SIDECAR_LIMITS, type ControlMessage, type Effect, type FilterDescription, type HookError, type IoMsg, type InstanceInfo, type IoPatch, type Reply, type Request, type SdkConstants } from './protocol';
import { problemLine, type SourceProblem } from './transpile';

/** A MessagePort, or anything with the same two members (tests use fakes). */
export interface PortLike {
	postMessage(message: unknown, transfer?: Transferable[]): void;
	onmessage: ((e: MessageEvent) => void) | null;
	close?(): void;
}

/** Wall-clock timers for the watchdog (injected by tests). */
export interface WatchdogTimers {
	set(fn: () => void, ms: number): unknown;
	clear(handle: unknown): void;
}

export const realTimers: WatchdogTimers = {
	set: (fn, ms) => setTimeout(fn, ms),
	clear: (h) => clearTimeout(h as ReturnType<typeof setTimeout>)
};

/** Default watchdog budget: wall ms without any reply while a request is outstanding. */
export const WATCHDOG_MS = 1000;

export class SandboxStopped extends Error {
	override name = 'SandboxStopped';
}

type RequestBody = Request extends infer R ? (R extends { seq: number } ? Omit<R, 'seq'> : never) : never;

/**
 * One sandbox Worker, seen from the engine: ordered requests with replies matched by sequence
 * number, and a progress watchdog: while any request is outstanding, some reply must come within
 * `budgetMs`, or the sandbox is stopped and every outstanding request rejects.
 */
export class SandboxConnection {
	/** Why the sandbox was stopped, once it was. */
	stopped: string | undefined;
	private seq = 0;
	private readonly pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
	private timer: unknown = undefined;

	constructor(
		private readonly port: PortLike,
		private readonly options: { budgetMs?: number; timers?: WatchdogTimers; control?: PortLike; onStop?: (reason: string) => void } = {}
	) {
		port.onmessage = (e: MessageEvent) => this.receive(e.data as Reply);
	}

	get budgetMs(): number {
		return this.options.budgetMs ?? WATCHDOG_MS;
	}

	get outstanding(): number {
		return this.pending.size;
	}

	request(body: RequestBody, transfer: Transferable[] = []): Promise<Reply> {
		if (this.stopped) return Promise.reject(new SandboxStopped(this.stopped));
		const seq = ++this.seq;
		const p = new Promise<Reply>((resolve, reject) => this.pending.set(seq, { resolve, reject }));
		try {
			this.port.postMessage({ ...body, seq } as Request, transfer);
		} catch (e) {
			this.pending.delete(seq);
			return Promise.reject(new Error(`could not send to the sandbox: ${e instanceof Error ? e.message : String(e)}`));
		}
		if (this.timer === undefined) this.arm();
		return p;
	}

	/** Stops the sandbox: its Worker is terminated, outstanding requests reject. */
	stop(reason: string): void {
		if (this.stopped) return;
		this.stopped = reason;
		this.disarm();
		const kill: ControlMessage = { t: 'kill', reason };
		try {
			this.options.control?.postMessage(kill);
		} catch {
			/* the page is gone: so is the iframe */
		}
		this.port.onmessage = null;
		this.port.close?.();
		const waiting = [...this.pending.values()];
		this.pending.clear();
		for (const w of waiting) w.reject(new SandboxStopped(reason));
		this.options.onStop?.(reason);
	}

	private receive(reply: Reply): void {
		if (this.stopped || !reply || typeof reply.seq !== 'number') return;
		const w = this.pending.get(reply.seq);
		if (!w) return;
		this.pending.delete(reply.seq);
		this.disarm();
		if (this.pending.size > 0) this.arm();
		w.resolve(reply);
	}

	private arm(): void {
		const timers = this.options.timers ?? realTimers;
		this.timer = timers.set(() => {
			this.timer = undefined;
			this.stop(`no reply within ${this.budgetMs} ms: the watchdog stopped the sandbox (an endless loop?)`);
		}, this.budgetMs);
	}

	private disarm(): void {
		if (this.timer === undefined) return;
		(this.options.timers ?? realTimers).clear(this.timer);
		this.timer = undefined;
	}
}

/** The constants the sandbox's `vaio` module exports, from the engine's own definitions. */
export function sdkConstants(): SdkConstants {
	return {
		FILTER_CONTRACT_VERSION,
		FILTER_CLASSES: [...FILTER_CLASSES],
		Op: { ...Op },
		OP_NAMES: [...OP_NAMES],
		SECTOR_BYTES,
		BLOCK_BYTES,
		ERROR_CODES: ERROR_CODES.filter((c) => c !== ''),
		SIDECAR_LIMITS: { ...SIDECAR_LIMITS }
	};
}

/** One error in user code, aggregated by hook, line and message. */
export interface CustomFilterError extends HookError {
	count: number;
	/** The first I/O it failed, if any. */
	ioId?: number;
}

export interface CustomFilterReport {
	name: string;
	/** Why the sandbox was stopped (the filter is crashed), if it was. */
	stopped?: string;
	errors: CustomFilterError[];
}

/** The engine-side record of one filter instance (one disk). */
interface ProxyInstance {
	iid: number;
	ctx: FilterContext<ProxyInstance>;
	/** I/Os the user's filter holds (it returned defer): id → I/O and direction. */
	held: Map<number, { io: Io; up: boolean }>;
	status: Record<string, number | string> | undefined;
}

const HOOK_NAMES = ['attach', 'detach', 'onIo', 'onDone', 'onEvent', 'status'] as const;
const MAX_ERRORS = 50;

/** A custom filter: its proxy definition and the sandbox behind it. */
export class CustomFilter {
	readonly def: FilterDef<ProxyInstance>;
	private readonly errors = new Map<string, CustomFilterError>();
	private readonly instances = new Map<number, ProxyInstance>();
	private nextIid = 0;
	private heldFailed = false;
	private readonly hasOnDone: boolean;

	constructor(
		readonly conn: SandboxConnection,
		description: FilterDescription
	) {
		const f = description.fields;
		const hooks = description.hooks;
		this.hasOnDone = hooks.onDone === 'function';
		const self = this;
		const def: FilterDef<ProxyInstance> = {
			contract: f.contract as number,
			name: f.name as string,
			vendor: f.vendor as string,
			version: f.version as string,
			class: f.class as FilterDef['class'],
			classConfigurable: f.classConfigurable === true,
			description: f.description as string,
			params: (f.params ?? []) as ParamSpec[],
			attach: (ctx) => self.attach(ctx),
			onIo: (io, ctx) => self.onIo(io, ctx),
			status: (ctx) => self.status(ctx)
		};
		if (f.timingOnly === true) (def as { timingOnly?: boolean }).timingOnly = true;
		// Plain data from the module (the registry checks it when the filter is installed).
		if (f.devices !== undefined) (def as { devices?: unknown }).devices = f.devices;
		if (this.hasOnDone) def.onDone = (io, ctx) => self.onDone(io, ctx);
		if (hooks.onEvent === 'function') def.onEvent = (event, ctx) => self.onEvent(event, ctx);
		if (hooks.detach === 'function') def.detach = (ctx) => self.detach(ctx);
		this.def = def;
	}

	get name(): string {
		return this.def.name;
	}

	report(): CustomFilterReport {
		return { name: this.name, ...(this.conn.stopped ? { stopped: this.conn.stopped } : {}), errors: [...this.errors.values()].map((e) => ({ ...e })) };
	}

	/** Stops the sandbox (a reinstall replaces it). */
	dispose(reason = 'replaced'): void {
		this.conn.stop(reason);
	}

	// ---- hooks ----

	private async attach(ctx: FilterContext<ProxyInstance>): Promise<ProxyInstance> {
		if (this.conn.stopped) throw new Error(`custom filter "${this.name}" was stopped (${this.conn.stopped}): install it again`);
		const inst: ProxyInstance = { iid: ++this.nextIid, ctx, held: new Map(), status: undefined };
		this.instances.set(inst.iid, inst);
		const d = ctx.disk;
		const def = this.def;
		const timingOnly = (ctx as { timingOnly?: boolean }).timingOnly === true;
		let reply: Reply;
		try {
			const sidecar = await sidecarEntries(ctx.sidecar);
			reply = await this.conn.request({
				t: 'attach',
				iid: inst.iid,
				now: ctx.now,
				info: {
					index: ctx.index,
					disk: { name: d.name, vm: d.vm, host: d.host, sectors: d.sectors },
					params: { ...ctx.params },
					seed: ctx.prng.u32(),
					...(timingOnly ? { timingOnly } : {}),
					...(sidecar.length > 0 ? { sidecar } : {}),
					...(def.devices ? deviceInfo(ctx, Object.keys(def.devices)) : {})
				}
			});
		} catch (e) {
			throw new Error(`custom filter "${this.name}": attach: ${errorText(e)}`);
		}
		if (reply.status) inst.status = reply.status;
		if (reply.error) {
			this.record(reply.error);
			throw new Error(`custom filter "${this.name}": ${hookText(reply.error)}`);
		}
		// Effects of attach (timers it set, logs, sidecar writes) take effect with the instance's state in place.
		ctx.state = inst;
		await this.applyEffects(reply.effects);
		return inst;
	}

	private onIo(io: Io, ctx: FilterContext<ProxyInstance>) {
		const inst = ctx.state;
		if (this.conn.stopped || !inst) return fail('EFILTER', `custom filter "${this.name}" is stopped (${this.conn.stopped ?? 'not attached'})`);
		const msg = ioMsg(io);
		const reply = this.conn.request({ t: 'io', iid: inst.iid, now: ctx.now, io: msg }, msg.data ? [msg.data.buffer as ArrayBuffer] : []);
		ctx.after(0, () =>
			reply.then(
				(r) => this.applyVerdict(inst, io, false, r),
				(e) => this.lost(inst, io, false, e)
			)
		);
		return DEFER;
	}

	private onDone(io: Io, ctx: FilterContext<ProxyInstance>) {
		const inst = ctx.state;
		if (this.conn.stopped || !inst) {
			if (io.error) return { kind: 'pass' as const };
			return { kind: 'fail' as const, error: { code: 'ETIMEDOUT' as const, message: `custom filter "${this.name}" is stopped (${this.conn.stopped ?? 'not attached'})`, source: this.name } };
		}
		const msg = ioMsg(io);
		const reply = this.conn.request({ t: 'done', iid: inst.iid, now: ctx.now, io: msg }, msg.data ? [msg.data.buffer as ArrayBuffer] : []);
		ctx.after(0, () =>
			reply.then(
				(r) => this.applyVerdict(inst, io, true, r),
				(e) => this.lost(inst, io, true, e)
			)
		);
		return DEFER;
	}

	private async onEvent(event: ControlEvent, ctx: FilterContext<ProxyInstance>): Promise<void> {
		const inst = ctx.state;
		if (this.conn.stopped || !inst) return;
		try {
			const r = await this.conn.request({ t: 'event', iid: inst.iid, now: ctx.now, event: plain(event) });
			await this.applyReply(inst, r);
		} catch (e) {
			this.lost(inst, undefined, false, e);
		}
	}

	private async detach(ctx: FilterContext<ProxyInstance>): Promise<void> {
		const inst = ctx.state;
		if (this.conn.stopped || !inst) return;
		try {
			const r = await this.conn.request({ t: 'detach', iid: inst.iid, now: ctx.now });
			await this.applyReply(inst, r);
		} catch (e) {
			this.lost(inst, undefined, false, e);
		}
		this.instances.delete(inst.iid);
	}

	private status(ctx: FilterContext<ProxyInstance>): Record<string, number | string> {
		const inst = ctx.state;
		const own = inst?.status ?? {};
		return this.conn.stopped ? { ...own, sandbox: 'stopped' } : { ...own };
	}

	// ---- replies ----

	private fireTimer(inst: ProxyInstance, tid: number): Promise<void> | void {
		if (this.conn.stopped) return;
		return this.conn.request({ t: 'timer', iid: inst.iid, now: inst.ctx.now, tid }).then(
			(r) => this.applyReply(inst, r),
			(e) => this.lost(inst, undefined, false, e)
		);
	}

	/**
	 * Status, effects and a thrown error of a reply that carries no verdict. Returns a promise when
	 * a sidecar write is still landing: the engine awaits it before its next event.
	 */
	private applyReply(inst: ProxyInstance, r: Reply): Promise<void> | undefined {
		if (r.status) inst.status = r.status;
		const landing = this.applyEffects(r.effects);
		if (r.error) {
			const held = r.ioId !== undefined ? inst.held.get(r.ioId) : undefined;
			this.record(r.error, r.ioId);
			this.hookErrorCount(inst);
			inst.ctx.log(`${r.error.hook} threw${held ? ` on I/O #${r.ioId}` : ''}${r.error.line ? ` at line ${r.error.line}` : ''}: ${r.error.message}`);
			if (held) {
				// The timer was finishing that I/O: it fails, rather than staying held for ever.
				inst.held.delete(r.ioId!);
				this.release(inst.ctx, held.io, held.up, { code: 'EFILTER', message: hookText(r.error) });
			}
		}
		return landing;
	}

	/** Applies a hook's reply to its I/O; a promise as in applyReply. */
	private applyVerdict(inst: ProxyInstance, io: Io, up: boolean, r: Reply): Promise<void> | undefined {
		const landing = this.applyEffects(r.effects);
		this.applyVerdictOnly(inst, io, up, r);
		return landing;
	}

	private applyVerdictOnly(inst: ProxyInstance, io: Io, up: boolean, r: Reply): void {
		const ctx = inst.ctx;
		if (r.status) inst.status = r.status;
		if (r.error || !r.verdict) {
			const err = r.error ?? { hook: up ? 'onDone' : 'onIo', message: 'the sandbox sent no verdict' };
			this.record(err, io.id);
			this.hookErrorCount(inst);
			const text = hookText(err);
			ctx.log(`${err.hook} threw on I/O #${io.id}${err.line ? ` at line ${err.line}` : ''}: ${err.message}`);
			this.release(ctx, io, up, { code: 'EFILTER', message: text });
			return;
		}
		const bad = r.patch ? applyPatch(io, r.patch) : undefined;
		if (bad) {
			const err: HookError = { hook: up ? 'onDone' : 'onIo', message: bad };
			this.record(err, io.id);
			this.hookErrorCount(inst);
			ctx.log(`${err.hook} on I/O #${io.id}: ${bad}`);
			this.release(ctx, io, up, { code: 'EFILTER', message: bad });
			return;
		}
		const v = r.verdict;
		switch (v.kind) {
			case 'pass':
				this.release(ctx, io, up, undefined);
				return;
			case 'defer':
				inst.held.set(io.id, { io, up });
				return;
			case 'complete':
				if (!up) ctx.complete(io, v.data);
				else {
					if (v.data && io.op === Op.read) io.data = v.data;
					ctx.resumeUp(io);
				}
				return;
			case 'fail':
				this.release(ctx, io, up, { code: v.code as IoError['code'], message: v.message });
				return;
		}
	}

	/** Lets a deferred I/O go on (down or up), or fails it there. */
	private release(ctx: FilterContext<ProxyInstance>, io: Io, up: boolean, error: { code: IoError['code']; message: string } | undefined): void {
		if (up) {
			if (error) ctx.failUp(io, error.code, error.message);
			else ctx.resumeUp(io);
		} else if (error) ctx.fail(io, error.code, error.message);
		else ctx.resume(io);
	}

	/** Applies effects in order; returns a promise while sidecar writes are landing. */
	private applyEffects(effects: Effect[]): Promise<void> | undefined {
		let landing: Promise<unknown>[] | undefined;
		for (const e of effects) {
			const inst = this.instances.get(e.iid);
			if (!inst) continue;
			const ctx = inst.ctx;
			switch (e.k) {
				case 'sidecarSet':
				case 'sidecarDelete': {
					const w = this.writeSidecar(ctx, e);
					if (w) (landing ??= []).push(w);
					break;
				}
				case 'submitBelow':
					this.submitBelow(inst, e);
					break;
				case 'deviceIo':
					this.deviceIo(inst, e);
					break;
				case 'linkSend':
					this.linkSend(inst, e);
					break;
				case 'timer':
					ctx.after(e.delayUs, () => this.fireTimer(inst, e.tid));
					break;
				case 'charge':
					ctx.charge(e.us);
					break;
				case 'log':
					ctx.log(e.message);
					break;
				case 'resume':
				case 'complete':
				case 'fail':
				case 'resumeUp':
				case 'failUp': {
					const up = e.k === 'resumeUp' || e.k === 'failUp';
					const h = inst.held.get(e.id);
					if (!h || h.up !== up) {
						this.hookErrorCount(inst);
						ctx.log(`ctx.${e.k}(I/O #${e.id}) ignored: the filter does not hold that I/O ${up ? 'on the way up' : 'on the way down'}`);
						break;
					}
					inst.held.delete(e.id);
					const io = h.io;
					const bad = 'patch' in e && e.patch ? applyPatch(io, e.patch) : undefined;
					if (bad) {
						ctx.log(`ctx.${e.k}(I/O #${e.id}): ${bad}`);
						this.release(ctx, io, up, { code: 'EFILTER', message: bad });
					} else if (e.k === 'resume' || e.k === 'resumeUp') this.release(ctx, io, up, undefined);
					else if (e.k === 'complete') ctx.complete(io, e.data);
					else this.release(ctx, io, up, { code: e.code as IoError['code'], message: e.message });
					break;
				}
			}
		}
		return landing && Promise.all(landing).then(() => undefined);
	}

	/**
	 * The filter's own I/O (ctx.submitBelow in the sandbox): issued below now; its completion is
	 * sent to the sandbox, whose callback runs (and its effects apply) at that virtual time.
	 */
	private submitBelow(inst: ProxyInstance, e: Extract<Effect, { k: 'submitBelow' }>): void {
		const ctx = inst.ctx;
		const bad = ownIoProblem(e, ctx.disk.sectors);
		if (bad) {
			this.callbackFailed(inst, e.rid, 'ctx.submitBelow', bad);
			return;
		}
		ctx.submitBelow(e.op as OpCode, e.lba, e.sectors, e.data, (io) => {
			const msg = ioMsg(io);
			this.answer(inst, { t: 'own', iid: inst.iid, now: ctx.now, rid: e.rid, io: msg }, msg.data ? [msg.data.buffer as ArrayBuffer] : []);
		});
	}

	/** deviceIo on one of the filter's storage devices: the device's timing model and store. */
	private deviceIo(inst: ProxyInstance, e: Extract<Effect, { k: 'deviceIo' }>): void {
		const ctx = inst.ctx;
		let device: FilterDevice;
		try {
			device = ctx.device(e.role);
		} catch (err) {
			this.callbackFailed(inst, e.rid, 'deviceIo', errorText(err));
			return;
		}
		const bad = !device.store || !device.model ? `device "${e.role}" is a network link, not storage` : ownIoProblem(e, device.store.sectors);
		if (bad) {
			this.callbackFailed(inst, e.rid, 'deviceIo', bad);
			return;
		}
		deviceIo(ctx, device, e.op as OpCode, e.lba, e.sectors, e.data, (data, err) => {
			// A copy for the sandbox; the device's (pooled) read buffer goes back to the engine.
			const copy = data?.slice();
			if (data) releaseReadBuffer(data);
			this.answer(inst, { t: 'deviceDone', iid: inst.iid, now: ctx.now, rid: e.rid, ...(copy ? { data: copy } : {}), ...(err ? { error: errorText(err) } : {}) }, copy ? [copy.buffer as ArrayBuffer] : []);
		});
	}

	/**
	 * A message over one of the filter's WAN links (serialised at the link's bandwidth, arriving
	 * RTT/2 after its last byte): the sandbox's done runs at its arrival, or at once with an error
	 * while the link is down (the message is lost).
	 */
	private linkSend(inst: ProxyInstance, e: Extract<Effect, { k: 'linkSend' }>): void {
		const ctx = inst.ctx;
		let link: FilterDevice['link'];
		try {
			link = ctx.device(e.role).link;
		} catch (err) {
			this.callbackFailed(inst, e.rid, 'deviceIo', errorText(err));
			return;
		}
		if (!link || !Number.isSafeInteger(e.bytes) || e.bytes < 0) {
			this.callbackFailed(inst, e.rid, 'deviceIo', link ? `bad message size ${e.bytes}` : `device "${e.role}" is storage, not a network link`);
			return;
		}
		const arrive = link.send(ctx.now, e.bytes);
		if (arrive === Infinity) {
			this.answer(inst, { t: 'deviceDone', iid: inst.iid, now: ctx.now, rid: e.rid, error: `link "${e.role}" is down: the message is lost` }, []);
			return;
		}
		ctx.after(arrive - ctx.now, () => this.answer(inst, { t: 'deviceDone', iid: inst.iid, now: ctx.now, rid: e.rid }, []));
	}

	/** An own or device I/O the engine refuses: the filter's callback gets the error, at once. */
	private callbackFailed(inst: ProxyInstance, rid: number, what: 'ctx.submitBelow' | 'deviceIo', message: string): void {
		const ctx = inst.ctx;
		ctx.log(`${what}: ${message}`);
		this.hookErrorCount(inst);
		if (what === 'deviceIo') this.answer(inst, { t: 'deviceDone', iid: inst.iid, now: ctx.now, rid, error: message }, []);
		else {
			const error = { code: 'EINVAL', message, source: this.name };
			this.answer(inst, { t: 'own', iid: inst.iid, now: ctx.now, rid, io: { id: -1, op: 0, lba: 0, sectors: 0, origin: 'filter', issuedAt: ctx.now, stream: -1, error } }, []);
		}
	}

	/**
	 * Sends a completion to the sandbox and applies its reply at the next event of this instant
	 * (as onIo does): the engine awaits it, so every run is the same.
	 */
	private answer(inst: ProxyInstance, req: RequestBody, transfer: Transferable[]): void {
		if (this.conn.stopped) return;
		const reply = this.conn.request(req, transfer);
		inst.ctx.after(0, () =>
			reply.then(
				(r) => this.applyReply(inst, r),
				(err) => this.lost(inst, undefined, false, err)
			)
		);
	}

	/**
	 * A ctx.sidecar change from the sandbox, written to the instance's sidecar store. The runtime
	 * checked it already; it is checked again here, where the store is. A store that refuses the
	 * write is logged: the filter's mirror has the change, the store does not.
	 */
	private writeSidecar(ctx: FilterContext<ProxyInstance>, e: Extract<Effect, { k: 'sidecarSet' | 'sidecarDelete' }>): Promise<unknown> | undefined {
		if (typeof e.key !== 'string' || e.key.length === 0 || e.key.length > SIDECAR_LIMITS.keyChars) return undefined;
		const failed = (err: unknown) => ctx.log(`sidecar ${e.k === 'sidecarSet' ? 'write' : 'delete'} of "${e.key}" failed: ${errorText(err)}`);
		try {
			let r: void | Promise<void>;
			if (e.k === 'sidecarDelete') r = ctx.sidecar.delete(e.key);
			else {
				if (!(e.value instanceof Uint8Array) || e.value.byteLength > SIDECAR_LIMITS.bytes) return undefined;
				r = ctx.sidecar.set(e.key, e.value);
			}
			return r ? r.catch(failed) : undefined;
		} catch (err) {
			failed(err);
			return undefined;
		}
	}

	/**
	 * The sandbox is gone (watchdog, or it could not be reached): the I/O whose reply was awaited
	 * fails with ETIMEDOUT, and so, once, does every I/O the filter held.
	 */
	private lost(inst: ProxyInstance, io: Io | undefined, up: boolean, e: unknown): void {
		const reason = this.conn.stopped ?? errorText(e);
		if (!this.heldFailed) {
			this.heldFailed = true;
			this.record({ hook: 'watchdog', message: reason });
			for (const other of this.instances.values()) {
				other.ctx.log(`sandbox stopped: ${reason}; its in-flight I/O fails with ETIMEDOUT, later I/O fails until the filter is installed again`);
				for (const [id, h] of other.held) {
					other.held.delete(id);
					this.release(other.ctx, h.io, h.up, { code: 'ETIMEDOUT', message: `custom filter "${this.name}": ${reason}` });
				}
			}
		}
		if (io) this.release(inst.ctx, io, up, { code: 'ETIMEDOUT', message: `custom filter "${this.name}": ${reason}` });
	}

	private record(err: HookError, ioId?: number): void {
		const key = `${err.hook}|${err.line ?? 0}|${err.message}`;
		const known = this.errors.get(key);
		if (known) known.count++;
		else if (this.errors.size < MAX_ERRORS) this.errors.set(key, { ...err, count: 1, ...(ioId !== undefined ? { ioId } : {}) });
	}

	/** The framework's per-instance error counter (hookErrors in status), where the context has one. */
	private hookErrorCount(inst: ProxyInstance): void {
		const c = (inst.ctx as { counters?: { errors: number } }).counters;
		if (c) c.errors++;
	}
}

// ---- installing ----

export type InstallOutcome = { ok: true; filter: CustomFilter } | { ok: false; problem: SourceProblem };

/**
 * Loads transpiled filter code into a connected sandbox and checks its default export with the
 * registry's rules (checkFilterDef, on a description of it: the hooks themselves stay in the
 * sandbox). `source` is the author's TypeScript, for the lines of problems.
 */
export async function loadCustomFilter(conn: SandboxConnection, js: string, source: string): Promise<InstallOutcome> {
	let reply: Reply;
	try {
		reply = await conn.request({ t: 'load', js, sdk: sdkConstants() });
	} catch (e) {
		return { ok: false, problem: { kind: 'timeout', message: `loading the filter: ${errorText(e)}`, line: 0, column: 0 } };
	}
	if (reply.error) return { ok: false, problem: { kind: 'load', message: `the module threw while loading: ${reply.error.message}`, line: reply.error.line ?? 0, column: reply.error.column ?? 0 } };
	const d = reply.description;
	if (!d) return { ok: false, problem: { kind: 'load', message: 'the sandbox did not describe the module', line: 0, column: 0 } };
	const problem = describeProblem(d);
	if (problem) {
		const name = typeof d.fields.name === 'string' ? d.fields.name : '?';
		return { ok: false, problem: { kind: 'contract', message: `filter "${name}": ${problem}`, line: problemLine(source, problem), column: 1 } };
	}
	return { ok: true, filter: new CustomFilter(conn, d) };
}

/** checkFilterDef's verdict on the described module (plus what must be plain data to cross to the engine). */
export function describeProblem(d: FilterDescription): string | undefined {
	if (d.type === 'undefined') return 'the module has no default export (write `export default { … }`)';
	if (d.type !== 'object') return `the default export is a ${d.type}, not a filter object`;
	const stub = () => undefined;
	const rebuilt: Record<string, unknown> = { ...d.fields };
	for (const h of HOOK_NAMES) {
		const t = d.hooks[h];
		rebuilt[h] = t === 'function' ? stub : t === 'undefined' || t === undefined ? undefined : `<${t}>`;
	}
	const problem = checkFilterDef(rebuilt);
	if (problem) return problem;
	if (d.fields.params === '<not plain data>') return '"params" must be plain data (no functions)';
	if (d.fields.devices === '<not plain data>') return '"devices" must be plain data (no functions)';
	return undefined;
}

// ---- helpers ----

function ioMsg(io: Io): IoMsg {
	const m: IoMsg = {
		id: io.id,
		op: io.op,
		lba: io.lba,
		sectors: io.sectors,
		origin: io.origin,
		issuedAt: io.issuedAt,
		stream: io.stream
	};
	// A copy: the engine's buffer stays the guest's (or the device's) and is never detached.
	if (io.data) m.data = io.data.slice();
	if (io.error) m.error = { ...io.error };
	return m;
}

/** Everything a sidecar store holds, [key, bytes] in key order (sent to the sandbox at attach). */
async function sidecarEntries(store: FilterContext<unknown>['sidecar']): Promise<[string, Uint8Array][]> {
	const out: [string, Uint8Array][] = [];
	for (const key of [...(await store.keys())].sort()) {
		const v = await store.get(key);
		if (v !== undefined) out.push([key, v.slice()]);
	}
	return out;
}

/** What the sandbox is told of the filter's devices, as the scenario built them: each one's kind, each link's RTT. */
function deviceInfo(ctx: FilterContext<unknown>, roles: string[]): Pick<InstanceInfo, 'devices' | 'linkRttUs'> {
	const devices: Record<string, 'storage' | 'link'> = {};
	const linkRttUs: Record<string, number> = {};
	for (const role of roles) {
		const link = ctx.device(role).link;
		devices[role] = link ? 'link' : 'storage';
		if (link) linkRttUs[role] = link.rttUs;
	}
	return { devices, linkRttUs };
}

/** Why an own or device I/O from the sandbox cannot be issued (the runtime checked the types). */
function ownIoProblem(e: { op: number; lba: number; sectors: number; data?: Uint8Array }, capacity: number): string | undefined {
	if (!(e.op in OP_NAMES)) return `op ${e.op} is not an Op`;
	if (!Number.isSafeInteger(e.lba) || !Number.isSafeInteger(e.sectors) || e.lba < 0 || e.sectors < 0) return `bad range lba ${e.lba} + ${e.sectors}`;
	if (e.lba + e.sectors > capacity) return `sectors ${e.lba}..${e.lba + e.sectors} are beyond the end (${capacity} sectors)`;
	if (e.op === Op.write && (!(e.data instanceof Uint8Array) || e.data.length !== e.sectors * SECTOR_BYTES)) return 'a write needs sectors × 512 bytes of data';
	return undefined;
}

/** Applies the sandbox's changes to the engine's I/O; returns a problem instead when they are invalid. */
function applyPatch(io: Io, p: IoPatch): string | undefined {
	if (p.lba !== undefined) {
		if (!Number.isInteger(p.lba) || p.lba < 0) return `io.lba was set to ${p.lba}, not a sector number`;
		io.lba = p.lba;
	}
	if (p.sectors !== undefined) {
		if (!Number.isInteger(p.sectors) || p.sectors < 0) return `io.sectors was set to ${p.sectors}`;
		io.sectors = p.sectors;
	}
	if (p.data !== undefined) {
		if (!(p.data instanceof Uint8Array)) return 'io.data was set to something that is not a Uint8Array';
		if ((io.op === Op.read || io.op === Op.write) && p.data.length !== io.sectors * SECTOR_BYTES)
			return `io.data was set to ${p.data.length} bytes; the I/O has ${io.sectors * SECTOR_BYTES}`;
		io.data = p.data;
	}
	return undefined;
}

function hookText(e: HookError): string {
	if (e.hook === 'watchdog') return e.message;
	return `${e.hook} threw${e.line ? ` (line ${e.line})` : ''}: ${e.message}`;
}

function errorText(e: unknown): string {
	return e instanceof Error ? e.message : String(e);
}

function plain<T>(v: T): T {
	return JSON.parse(JSON.stringify(v)) as T;
}
