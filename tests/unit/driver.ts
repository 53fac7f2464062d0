/**
 * A chainable, headless test driver for one disk's filter chain (in the style of tldraw's
 * TestEditor): it builds a chain from in-test filter definitions, records every hook call into
 * one shared log as (filter, hook, ioId, time), drives the virtual clock by hand and reads the
 * verdicts back from the trace, so tests read like the rules they check:
 *
 *   const t = await ChainDriver.create([a, b, c], { device: { kind: 'null', params: { latencyUs: 100 } } });
 *   t.submit(write(0, 8)).advance(50).expectCalls(['a.onIo#1', 'b.onIo#1']).advance(100).expectVerdict(1, 'b', 'complete');
 *
 * The chain is the engine's own FilterChain (ordered by FilterChain.order, attached with its
 * attach hooks), on a Scheduler, a Trace, a device model from devices/index.ts and a
 * MemoryBlockStore. Everything is synchronous: an event that returns a Promise is refused (use a
 * Simulation to test asynchronous stores).
 */
import { expect } from 'vitest';
import { ChainIo, FilterChain, type AttachedFilter, type ChainEnv } from '../../src/lib/engine/chain';
import { Prng, Scheduler } from '../../src/lib/engine/clock';
import { createDevice, type DeviceModel, type DeviceSpec } from '../../src/lib/engine/devices';
import {
	FILTER_CONTRACT_VERSION,
	PASS,
	VerdictCode,
	type FilterClass,
	type FilterDef,
	type FilterDevice,
	type FilterDeviceSpec
} from '../../src/lib/engine/filter';
import { Op, SECTOR_BYTES, type IoError, type OpCode } from '../../src/lib/engine/io';
import { resolveParams } from '../../src/lib/engine/params';
import { FilterRegistry } from '../../src/lib/engine/registry';
import { MemoryBlockStore, MemorySidecarStore } from '../../src/lib/engine/storage/memory';
import { Col, F64_STRIDE, FIXED_U8_COLUMNS, Trace, U8_STRIDE, loadTraceHasher, type TraceRow } from '../../src/lib/engine/trace';

// ---- I/O specs ----

export interface IoSpec {
	op: OpCode;
	lba: number;
	sectors: number;
	data?: Uint8Array;
}

/** A write of `sectors` sectors at `lba`; every byte is `fill` (default: the low byte of lba + 1). */
export function write(lba: number, sectors: number, fill = (lba + 1) & 0xff): IoSpec {
	return { op: Op.write, lba, sectors, data: new Uint8Array(sectors * SECTOR_BYTES).fill(fill) };
}
export function read(lba: number, sectors: number): IoSpec {
	return { op: Op.read, lba, sectors };
}
export function flush(): IoSpec {
	return { op: Op.flush, lba: 0, sectors: 0 };
}
export function unmap(lba: number, sectors: number): IoSpec {
	return { op: Op.unmap, lba, sectors };
}

// ---- test filters ----

type Hooks = Partial<Pick<FilterDef, 'attach' | 'detach' | 'onIo' | 'onDone' | 'onEvent' | 'status' | 'params' | 'devices'>>;

/**
 * A plain FilterDef for a test: name and class given, every other field filled with a valid
 * default (onIo passes, attach returns {}), so a test writes only the hooks it is about.
 */
export function testFilter(name: string, cls: FilterClass, hooks: Hooks = {}): FilterDef {
	return {
		contract: FILTER_CONTRACT_VERSION,
		name,
		vendor: 'test',
		version: '0.0.1',
		class: cls,
		description: `test filter ${name}`,
		params: [],
		attach: () => ({}),
		onIo: () => PASS,
		...hooks
	};
}

/** A filter in the driver: its definition, optionally placed in another class, with parameters. */
export type FilterInput = FilterDef | { def: FilterDef; class?: FilterClass; params?: Record<string, unknown> };

// ---- the driver ----

export interface DriverOptions {
	/** The datastore device (default: a null device completing at once). */
	device?: Extract<FilterDeviceSpec, { kind: 'nvme' | 'sata-ssd' | 'hdd' | 'null' }>;
	/** Disk size in sectors (default 1 GiB). */
	sectors?: number;
	seed?: number;
	/** vSphere's allowCleartextFilters: encryption moves to the bottom. */
	allowCleartextFilters?: boolean;
	traceCapacity?: number;
	/** Devices per filter name and role, as FilterDevice objects. */
	filterDevices?: Record<string, Record<string, FilterDevice>>;
}

/** One recorded hook call. */
export interface Call {
	filter: string;
	hook: 'attach' | 'detach' | 'onIo' | 'onDone' | 'onEvent';
	/** The I/O's id; -1 for attach, detach and onEvent. */
	ioId: number;
	time: number;
	/** io.error.code at the time of the call (the way up of a failed I/O). */
	error: IoError['code'] | undefined;
}

/** How an I/O ended, as the issuer saw it. */
export interface Completion {
	id: number;
	at: number;
	error: IoError | undefined;
	/** A read's data. */
	data: Uint8Array | undefined;
}

export type VerdictName = 'none' | 'pass' | 'complete' | 'fail' | 'defer';
const VERDICT_NAMES: VerdictName[] = [];
for (const [k, v] of Object.entries(VerdictCode)) VERDICT_NAMES[v] = k as VerdictName;

/** "a.onIo#1", plus "@time" and "!CODE" when the expected string has them. */
function formatCall(c: Call, shape = '@!'): string {
	let s = c.ioId >= 0 ? `${c.filter}.${c.hook}#${c.ioId}` : `${c.filter}.${c.hook}`;
	if (shape.includes('!') && c.error) s += `!${c.error}`;
	if (shape.includes('@')) s += `@${c.time}`;
	return s;
}

export class ChainDriver {
	readonly sched = new Scheduler();
	readonly trace: Trace;
	readonly chain: FilterChain;
	readonly device: DeviceModel;
	readonly store: MemoryBlockStore;
	readonly registry = new FilterRegistry();
	/** Every hook call, in order. */
	readonly calls: Call[] = [];
	/** The chain's log (ctx.log, hook errors, ignored resumes). */
	readonly log: { t: number; source: string; message: string }[] = [];
	/** Completions by I/O id (guest I/O submitted through the driver). */
	readonly completions = new Map<number, Completion>();
	/** Ids in the order they completed. */
	readonly completionOrder: number[] = [];
	private readonly ios = new Map<number, ChainIo>();
	private ioSeq = 0;
	private cursor = 0;
	/** Id of the last I/O submitted. */
	lastId = 0;

	private constructor(opts: DriverOptions) {
		this.trace = new Trace({ capacity: opts.traceCapacity ?? 4096 });
		const env: ChainEnv = {
			sched: this.sched,
			trace: this.trace,
			nextIoId: () => ++this.ioSeq,
			timingOnly: false,
			log: (source, message) => this.log.push({ t: this.sched.now, source, message })
		};
		const sectors = opts.sectors ?? 2 ** 21;
		const spec = opts.device ?? { kind: 'null' };
		this.device = createDevice({ kind: spec.kind, ...spec.params } as DeviceSpec, new Prng(opts.seed ?? 1).fork(1));
		this.store = new MemoryBlockStore(sectors);
		this.chain = new FilterChain(env, { index: 0, name: 'disk-0', vm: 'vm-01', host: 'esx-01', sectors }, this.device, this.store);
	}

	/** Builds the chain: filters are registered in a fresh registry, ordered by class and attached. */
	static async create(filters: FilterInput[], opts: DriverOptions = {}): Promise<ChainDriver> {
		await loadTraceHasher();
		const t = new ChainDriver(opts);
		const root = new Prng(opts.seed ?? 1);
		const attached: AttachedFilter[] = filters.map((input, i) => {
			const { def, cls, params } =
				'def' in input ? { def: input.def, cls: input.class ?? input.def.class, params: input.params } : { def: input, cls: input.class, params: undefined };
			const wrapped = t.recorded(def);
			t.registry.register(wrapped);
			return {
				def: wrapped,
				params: resolveParams(wrapped, params),
				devices: opts.filterDevices?.[def.name] ?? {},
				sidecar: new MemorySidecarStore(),
				prng: root.fork(i),
				cls
			};
		});
		await t.chain.attach(FilterChain.order(attached, (a) => a.cls, opts.allowCleartextFilters ?? false));
		// The attach calls stay in `calls`; expectCalls starts after them.
		t.cursor = t.calls.length;
		return t;
	}

	/** The definition with every hook wrapped to log its calls first. */
	private recorded(def: FilterDef): FilterDef {
		const calls = this.calls;
		const note = (hook: Call['hook'], ioId: number, time: number, error?: IoError) =>
			calls.push({ filter: def.name, hook, ioId, time, error: error?.code });
		const w: FilterDef = { ...def };
		w.attach = (ctx) => (note('attach', -1, ctx.now), def.attach(ctx));
		w.onIo = (io, ctx) => (note('onIo', io.id, ctx.now, io.error), def.onIo(io, ctx));
		if (def.onDone) w.onDone = (io, ctx) => (note('onDone', io.id, ctx.now, io.error), def.onDone!(io, ctx));
		if (def.onEvent) w.onEvent = (ev, ctx) => (note('onEvent', -1, ctx.now), def.onEvent!(ev, ctx));
		if (def.detach) w.detach = (ctx) => (note('detach', -1, ctx.now), def.detach!(ctx));
		return w;
	}

	// ---- driving ----

	get now(): number {
		return this.sched.now;
	}

	/** Filter names in chain order (top first). */
	get order(): string[] {
		return this.chain.filters.map((f) => f.def.name);
	}

	/** Issues a guest I/O now (or at virtual time `at`); its id is 1, 2, ... in submission order. */
	submit(spec: IoSpec, opts: { at?: number } = {}): this {
		const id = ++this.ioSeq;
		this.lastId = id;
		const go = () => {
			const data = spec.data ? spec.data.slice() : undefined;
			const io = new ChainIo(id, spec.op, spec.lba, spec.sectors, data, 'guest', this.sched.now, 0);
			this.ios.set(id, io);
			this.chain.submit(io, (done) => {
				this.completions.set(id, { id, at: this.sched.now, error: done.error, data: done.data });
				this.completionOrder.push(id);
			});
		};
		if (opts.at === undefined) go();
		else this.sched.at(opts.at, go);
		return this;
	}

	/** Runs every event up to now + us, then sets the clock to now + us. */
	advance(us: number): this {
		const target = this.sched.now + us;
		while (this.sched.peekTime() <= target) this.step();
		this.sched.now = target;
		return this;
	}

	/** Runs until no event is left (the clock stays at the last event). */
	run(maxEvents = 1_000_000): this {
		let n = 0;
		while (this.sched.pending > 0) {
			if (++n > maxEvents) throw new Error(`driver: still busy after ${maxEvents} events`);
			this.step();
		}
		return this;
	}

	private step(): void {
		const fn = this.sched.pop()!;
		const r = fn();
		if (r !== undefined) throw new Error('driver: an event returned a Promise; use a Simulation for asynchronous stores');
	}

	// ---- reading ----

	/** Chain index of a filter by name. */
	indexOf(filter: string): number {
		const i = this.order.indexOf(filter);
		if (i < 0) throw new Error(`driver: no filter "${filter}" in the chain (${this.order.join(', ')})`);
		return i;
	}

	/** The framework's instance of a filter (its counters, state, context). */
	instance(filter: string) {
		return this.chain.filters[this.indexOf(filter)];
	}

	/** I/O hook calls (onIo, onDone) of one filter, or its calls of one hook, formatted "a.onIo#1". */
	callsOf(filter: string, hook?: Call['hook']): string[] {
		return this.calls
			.filter((c) => c.filter === filter && (hook === undefined ? c.ioId >= 0 : c.hook === hook))
			.map((c) => formatCall(c, ''));
	}

	/** The completed trace row of an I/O, or undefined while it is in flight (or out of the ring). */
	row(id: number): TraceRow | undefined {
		const t = this.trace;
		for (let n = t.completed - 1; n >= t.completed - t.held; n--) {
			const r = t.row(n)!;
			if (r.id === id) return r;
		}
		return undefined;
	}

	/** A filter's verdict on an I/O, read from the trace (the live row while the I/O is in flight). */
	verdict(id: number, filter: string, dir: 'down' | 'up' = 'down'): VerdictName {
		const k = this.indexOf(filter);
		const r = this.row(id);
		if (r) return VERDICT_NAMES[dir === 'down' ? r.filters[k].down : r.filters[k].up];
		const io = this.ios.get(id);
		if (!io || io.row < 0) throw new Error(`driver: I/O #${id} is neither in flight nor in the trace`);
		return VERDICT_NAMES[this.trace.liveU8[io.row * U8_STRIDE + FIXED_U8_COLUMNS + 2 * k + (dir === 'up' ? 1 : 0)]];
	}

	/** Who ended an I/O: a filter's name, 'device', or undefined while in flight. */
	endedBy(id: number): string | undefined {
		const r = this.row(id);
		if (!r) return undefined;
		return r.endedBy === 0 ? 'device' : r.endedBy === 255 ? 'none' : this.order[r.endedBy - 1];
	}

	/** Whether the I/O reached the device (its trace row has a device start time). */
	reachedDevice(id: number): boolean {
		const r = this.row(id);
		if (r) return r.deviceStart >= 0;
		const io = this.ios.get(id)!;
		return this.trace.live[io.row * F64_STRIDE + Col.deviceStart] >= 0;
	}

	// ---- expectations (chainable) ----

	/** The hook calls since the previous expectCalls, formatted "a.onIo#1" ("@t" / "!CODE" if written). */
	expectCalls(expected: string[]): this {
		const fresh = this.calls.slice(this.cursor);
		this.cursor = this.calls.length;
		const actual = fresh.map((c, i) => formatCall(c, shapeOf(expected[i])));
		expect(actual, `hook calls up to t=${this.now}`).toEqual(expected);
		return this;
	}

	expectNoCalls(): this {
		return this.expectCalls([]);
	}

	/** Drops the calls so far from what the next expectCalls sees. */
	skipCalls(): this {
		this.cursor = this.calls.length;
		return this;
	}

	expectVerdict(id: number, filter: string, verdict: VerdictName, dir: 'down' | 'up' = 'down'): this {
		expect(this.verdict(id, filter, dir), `${dir} verdict of ${filter} on I/O #${id}`).toBe(verdict);
		return this;
	}

	/** The I/O has completed; optionally at a time, with an error code (null = success), ended by whom. */
	expectDone(id: number, want: { at?: number; error?: IoError['code'] | null; source?: string; by?: string } = {}): this {
		const c = this.completions.get(id);
		expect(c, `I/O #${id} completed by t=${this.now}`).toBeDefined();
		if (want.at !== undefined) expect(c!.at, `completion time of I/O #${id}`).toBe(want.at);
		if (want.error !== undefined) expect(c!.error?.code ?? null, `error of I/O #${id}`).toBe(want.error);
		if (want.source !== undefined) expect(c!.error?.source, `error source of I/O #${id}`).toBe(want.source);
		if (want.by !== undefined) expect(this.endedBy(id), `who ended I/O #${id}`).toBe(want.by);
		return this;
	}

	expectPending(id: number): this {
		expect(this.completions.has(id), `I/O #${id} still in flight at t=${this.now}`).toBe(false);
		return this;
	}

	expectCompletionOrder(ids: number[]): this {
		expect(this.completionOrder).toEqual(ids);
		return this;
	}

	expectReachedDevice(id: number, reached: boolean): this {
		expect(this.reachedDevice(id), `I/O #${id} reached the device`).toBe(reached);
		return this;
	}

	expectInFlight(n: number): this {
		expect(this.chain.inFlight, `I/Os in the chain at t=${this.now}`).toBe(n);
		return this;
	}
}

function shapeOf(s: string | undefined): string {
	if (s === undefined) return '';
	return (s.includes('@') ? '@' : '') + (s.includes('!') ? '!' : '');
}
