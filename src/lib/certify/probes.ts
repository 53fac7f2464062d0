/**
 * What the suite observes, and how, without changing what it observes:
 *
 * - Probe filters: tiny FilterDefs of other classes (class-configurable) placed above and below
 *   the filter under test. They record every hook call (onIo on the way down, onDone on the way
 *   up) per I/O and pass everything. The probe below can wrap the flaky filter and inject its
 *   faults while the suite arms it.
 * - The guest's view: every I/O the guest hands the chain, and every completion it gets back
 *   (the chain's submit, wrapped for one disk).
 * - The filter under test, instrumented: its hooks are called unchanged, with its own context
 *   seen through a forwarding proxy, so that the blocking time each hook call and each timer
 *   callback charges (ctx.charge) can be attributed to that call.
 */
import { FILTER_CONTRACT_VERSION, PASS, type FilterContext, type FilterDef, type Verdict } from '../engine/filter';
import type { ChainIo, FilterChain, FilterInstance } from '../engine/chain';
import type { Io, IoError } from '../engine/io';
import { opName, type IoRef } from './report';

export const PROBE_ABOVE = 'certify-probe-above';
export const PROBE_BELOW = 'certify-probe-below';
export const PROBE_VENDOR = 'VAIO Playground (certification)';

// ---- the probe filters ----

/** What a probe saw of one I/O. */
export interface ProbeIoRecord {
	ref: IoRef;
	/** onIo calls (the way down) and the time of the first. */
	downs: number;
	downAt: number;
	/** The I/O already carried an error on its way down (a failure told downward). */
	errorDown: IoError | undefined;
	/** The probe's inner filter (flaky) failed it here. */
	failedHere: boolean;
	/** onDone calls (the way up) and the time of the first. */
	dones: number;
	doneAt: number;
	/** The error it carried on its way up through the probe. */
	errorUp: IoError | undefined;
}

export class ProbeLog {
	readonly ios = new Map<number, ProbeIoRecord>();
	/** Failures the probe's inner filter injected. */
	injected = 0;

	constructor(readonly name: string) {}

	down(io: Io, now: number): ProbeIoRecord {
		let r = this.ios.get(io.id);
		if (!r) {
			r = {
				ref: refOf(io),
				downs: 0,
				downAt: now,
				errorDown: undefined,
				failedHere: false,
				dones: 0,
				doneAt: -1,
				errorUp: undefined
			};
			this.ios.set(io.id, r);
		}
		r.downs++;
		if (io.error && !r.errorDown) r.errorDown = { ...io.error };
		return r;
	}

	up(io: Io, now: number): ProbeIoRecord {
		const r = this.ios.get(io.id) ?? this.down(io, now);
		r.dones++;
		if (r.dones === 1) {
			r.doneAt = now;
			r.errorUp = io.error ? { ...io.error } : undefined;
		}
		return r;
	}
}

/**
 * A probe: records every hook call into `log` and otherwise behaves as `inner` (passthrough, or
 * flaky while `armed()` says so; disarmed, it passes everything without asking flaky).
 */
export function probeDef(name: string, inner: FilterDef, log: ProbeLog, armed?: () => boolean): FilterDef {
	return {
		contract: FILTER_CONTRACT_VERSION,
		name,
		vendor: PROBE_VENDOR,
		version: '1.0.0',
		class: 'inspection',
		classConfigurable: true,
		description: `Certification probe: records every hook call${inner.name === 'passthrough' ? '' : ` and acts as ${inner.name} while armed`}.`,
		params: inner.params,
		...(inner.devices ? { devices: inner.devices } : {}),
		attach: (ctx) => inner.attach(ctx),
		onIo(io, ctx): Verdict {
			const r = log.down(io, ctx.now);
			const v = armed === undefined || armed() ? inner.onIo(io, ctx) : PASS;
			if (v.kind === 'fail') {
				r.failedHere = true;
				log.injected++;
			}
			return v;
		},
		onDone(io, ctx): Verdict {
			log.up(io, ctx.now);
			return inner.onDone ? inner.onDone(io, ctx) : PASS;
		}
	};
}

export function refOf(io: Pick<Io, 'id' | 'op' | 'lba' | 'sectors' | 'origin'>): IoRef {
	return { id: io.id, op: opName(io.op), lba: io.lba, sectors: io.sectors, origin: io.origin };
}

// ---- the guest's view ----

export interface GuestIoRecord {
	ref: IoRef;
	issuedAt: number;
	completions: number;
	doneAt: number;
	error: IoError | undefined;
	/** The engine's I/O while it is in flight (to say where it is held), dropped on completion. */
	io: ChainIo | undefined;
}

/** Every I/O the guest hands one disk's chain, and every completion it gets back. */
export class GuestLog {
	readonly ios = new Map<number, GuestIoRecord>();
	readonly inFlight = new Set<GuestIoRecord>();
	completed = 0;
	/** Completions of an I/O that had completed already. */
	extraCompletions = 0;
	lastDoneAt = 0;

	constructor(chain: FilterChain) {
		const submit = chain.submit.bind(chain);
		chain.submit = (io: ChainIo, onDone: (io: ChainIo) => void) => {
			const r: GuestIoRecord = {
				ref: refOf(io),
				issuedAt: chain.env.sched.now,
				completions: 0,
				doneAt: -1,
				error: undefined,
				io
			};
			this.ios.set(io.id, r);
			this.inFlight.add(r);
			submit(io, (done) => {
				r.completions++;
				const now = chain.env.sched.now;
				if (r.completions === 1) {
					r.doneAt = now;
					r.error = done.error ? { ...done.error } : undefined;
					r.io = undefined;
					this.inFlight.delete(r);
					this.completed++;
					this.lastDoneAt = now;
				} else this.extraCompletions++;
				onDone(done);
			});
		};
	}
}

/** Chain stages (chain.ts's Stage, which is not exported), for saying where an I/O is. */
const STAGE_TEXT: Record<number, string> = {
	1: 'on its way down',
	2: 'deferred (held on the way down)',
	3: 'at the device',
	4: 'on its way up',
	5: 'deferred on the way up',
	6: 'done'
};
export const STAGE_HELD_DOWN = 2;
export const STAGE_HELD_UP = 5;

/** Where an in-flight I/O is: "deferred (held on the way down) by cache since t=…". */
export function whereIs(io: ChainIo, chain: FilterChain): { text: string; heldBy?: string; since?: number } {
	const stage = io.stage as number;
	const f = chain.filters[io.at];
	if (stage === STAGE_HELD_DOWN || stage === STAGE_HELD_UP)
		return { text: `${STAGE_TEXT[stage]} by ${f?.def.name ?? `filter ${io.at}`}`, heldBy: f?.def.name, since: io.heldSince };
	if (stage === 3) return { text: STAGE_TEXT[3] };
	return { text: `${STAGE_TEXT[stage] ?? `in stage ${stage}`}${f ? ` at ${f.def.name}` : ''}` };
}

// ---- the filter under test, instrumented ----

export interface ChargeRecord {
	us: number;
	/** onIo, onDone, or timer (a ctx.after callback). */
	call: 'onIo' | 'onDone' | 'timer';
	io?: IoRef;
	t: number;
}

/** Blocking time charged by each call of the filter under test. */
export class CallLog {
	hookCalls = 0;
	chargedCalls = 0;
	max: ChargeRecord | undefined;
	/** Calls that charged more than the per-call budget (the first ones). */
	readonly over: ChargeRecord[] = [];
	overCount = 0;

	constructor(readonly perCallBudgetUs: number) {}

	note(rec: ChargeRecord): void {
		this.chargedCalls++;
		if (!this.max || rec.us > this.max.us) this.max = rec;
		if (rec.us > this.perCallBudgetUs) {
			this.overCount++;
			if (this.over.length < 20) this.over.push(rec);
		}
	}
}

/**
 * The filter under test with its hooks wrapped: each is called as it would be (same `this`, same
 * arguments, its context behind a proxy that forwards every property and method to the real one),
 * and the time each call charged is noted.
 */
export function instrument(def: FilterDef, calls: CallLog): FilterDef {
	const proxies = new WeakMap<object, FilterContext>();
	const px = (ctx: FilterContext): FilterContext => {
		let p = proxies.get(ctx);
		if (!p) {
			p = contextProxy(ctx as unknown as FilterInstance, calls);
			proxies.set(ctx, p);
		}
		return p;
	};
	const hook = (call: 'onIo' | 'onDone', fn: (io: Io, ctx: FilterContext) => Verdict) => (io: Io, ctx: FilterContext): Verdict => {
		const inst = ctx as unknown as FilterInstance;
		calls.hookCalls++;
		try {
			return fn.call(def, io, px(ctx));
		} finally {
			// The engine zeroes `charged` before each hook; what is there now is this call's.
			if (inst.charged > 0) calls.note({ us: inst.charged, call, io: refOf(io), t: inst.now });
		}
	};
	const out: FilterDef = {
		contract: def.contract,
		name: def.name,
		vendor: def.vendor,
		version: def.version,
		class: def.class,
		...(def.classConfigurable !== undefined ? { classConfigurable: def.classConfigurable } : {}),
		description: def.description,
		params: def.params,
		...(def.devices ? { devices: def.devices } : {}),
		attach: (ctx) => def.attach.call(def, px(ctx)),
		onIo: hook('onIo', def.onIo)
	};
	if (def.onDone) out.onDone = hook('onDone', def.onDone);
	if (def.detach) out.detach = (ctx) => def.detach!.call(def, px(ctx));
	if (def.onEvent) out.onEvent = (ev, ctx) => def.onEvent!.call(def, ev, px(ctx));
	if (def.status) out.status = (ctx) => def.status!.call(def, px(ctx));
	return out;
}

function contextProxy(inst: FilterInstance, calls: CallLog): FilterContext {
	const bound = new Map<PropertyKey, unknown>();
	const after = (delayUs: number, fn: () => void | Promise<void>) =>
		inst.after(delayUs, () => {
			const before = inst.counters.chargedUs;
			const t = inst.now;
			const settle = () => {
				const us = inst.counters.chargedUs - before;
				if (us > 0) calls.note({ us, call: 'timer', t });
			};
			const r = fn();
			if (r && typeof (r as Promise<void>).then === 'function')
				return (r as Promise<void>).then(settle, (e) => {
					settle();
					throw e;
				});
			settle();
		});
	return new Proxy(inst, {
		get(target, prop) {
			if (prop === 'after') return after;
			const v = Reflect.get(target, prop, target);
			if (typeof v !== 'function' || prop === 'state') return v;
			let b = bound.get(prop);
			if (b === undefined) {
				b = (v as (...a: unknown[]) => unknown).bind(target);
				bound.set(prop, b);
			}
			return b;
		},
		set(target, prop, value) {
			return Reflect.set(target, prop, value, target);
		}
	}) as unknown as FilterContext;
}
