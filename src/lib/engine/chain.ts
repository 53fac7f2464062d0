/**
 * A disk's filter chain, with VAIO's rules:
 * - filters are invoked in class order on the way down, and in reverse order on the way up;
 * - a verdict is pass, complete, fail or defer; a deferred I/O is held by its filter while other
 *   I/Os keep flowing, and goes no further until the filter resumes, completes or fails it;
 * - when a filter completes or fails an I/O, only the filters before it (above it) are told;
 * - a hook that charges time (a blocking call) holds the disk's single I/O path: every other I/O
 *   of the disk waits, which is what distinguishes blocking from deferring.
 */
import type { Prng } from './clock';
import { Scheduler, type Lane } from './clock';
import {
	FILTER_CLASSES,
	VerdictCode,
	type ControlEvent,
	type FilterContext,
	type FilterDef,
	type FilterDevice,
	type ParamValues,
	type Verdict
} from './filter';
import { Op, SECTOR_BYTES, type Io, type IoError, type IoOrigin, type OpCode } from './io';
import { acquireReadBuffer, reclaimLent, releaseReadBuffer } from './buffers';
import type { DeviceModel } from './devices/types';
import type { BlockStore, SidecarStore } from './storage/types';
import { ParamError, paramScenarioError } from './params';
import { Col, ERROR_CODES, F64_STRIDE, FIXED_F64_COLUMNS, FIXED_U8_COLUMNS, U8_STRIDE, ByteCol, type Trace } from './trace';

/** I/O life-cycle states inside the chain. */
const enum Stage {
	Down = 1,
	HeldDown = 2,
	Device = 3,
	Up = 4,
	HeldUp = 5,
	Done = 6
}

/** The engine's I/O: the public Io fields plus the chain's bookkeeping. */
export class ChainIo implements Io {
	data: Uint8Array | undefined;
	error: IoError | undefined = undefined;
	/** Per-filter slots (see Io), made on first use: most I/O never needs them. */
	get slots(): unknown[] {
		return (this.slotList ??= []);
	}
	private slotList: unknown[] | undefined = undefined;
	/** Live trace row. */
	row = -1;
	stage: Stage = Stage.Down;
	/** Filter index where the I/O is (or is held). */
	at = 0;
	heldSince = 0;
	/** The verdict of a blocking hook, applied once the path is free again. */
	heldVerdict: Verdict | undefined = undefined;
	/** Topmost filter index that sees this I/O (0 for guest I/O, origin + 1 for filter I/O). */
	top = 0;
	/** Filter index that completed or failed it, -1 = device. */
	endedBy = -2;
	onDone: ((io: ChainIo) => void) | undefined = undefined;
	/** The buffer the device read into; the guest recycles it once it has checked the data. */
	deviceBuffer: Uint8Array | undefined = undefined;
	/** A buffer a filter completed the read with from lendReadBuffer; recycled likewise. */
	lentBuffer: Uint8Array | undefined = undefined;
	/** The filter instance that issued it (filter I/O): a dead instance's callbacks are not run. */
	owner: FilterInstance | undefined = undefined;
	/** The issuer's own record of the I/O (the guest's spec), so completion needs no closure. */
	tag: unknown = undefined;
	/** The guest's write buffer, recycled once the write is acknowledged. */
	written: Uint8Array | undefined = undefined;
	/** The chain's list of live I/Os (intrusive, no allocation): abort() and failHeld() walk it. */
	prevLive: ChainIo | undefined = undefined;
	nextLive: ChainIo | undefined = undefined;
	/** The next I/O waiting for the path after this one (FilterChain's queue of waiters). */
	nextWaiting: ChainIo | undefined = undefined;

	/** Gives the read's pooled buffers back (once whoever reads io.data is done with it). */
	releaseBuffers(): void {
		if (this.deviceBuffer) releaseReadBuffer(this.deviceBuffer);
		if (this.lentBuffer) releaseReadBuffer(this.lentBuffer);
		this.deviceBuffer = this.lentBuffer = this.data = undefined;
	}

	/** A filter completed the read with `data`: a lent buffer is taken back with the I/O. */
	completedWith(data: Uint8Array): void {
		this.data = data;
		if (this.lentBuffer === undefined && reclaimLent(data)) this.lentBuffer = data;
	}

	constructor(
		readonly id: number,
		readonly op: OpCode,
		public lba: number,
		public sectors: number,
		data: Uint8Array | undefined,
		readonly origin: IoOrigin,
		readonly issuedAt: number,
		readonly stream: number
	) {
		this.data = data;
	}
}

/** One filter attached to this chain. */
export interface AttachedFilter {
	def: FilterDef;
	/** The class it runs in: its own, or the one the scenario chose for a configurable filter. */
	cls: string;
	params: ParamValues;
	/** Devices the scenario gave the filter, by role. */
	devices: Record<string, FilterDevice>;
	sidecar: SidecarStore;
	prng: Prng;
	/** Where the scenario attaches it (vms[i].disks[j].policy.filters[k]), for error messages. */
	path?: string;
}

/** Per-filter counters kept by the framework (the filter's own status comes from status()). */
export interface FilterCounters {
	pass: number;
	complete: number;
	fail: number;
	defer: number;
	upFail: number;
	upDefer: number;
	deferredUs: number;
	chargedUs: number;
	errors: number;
}

export interface DiskInfo {
	/** Index of the disk in the simulation (trace column). */
	index: number;
	name: string;
	vm: string;
	host: string;
	sectors: number;
}

/** What a chain needs from the simulation around it. */
export interface ChainEnv {
	sched: Scheduler;
	trace: Trace;
	/** No data moves (timing-only mode): stores are not touched, reads carry no bytes. */
	timingOnly: boolean;
	nextIoId(): number;
	log(source: string, message: string): void;
}

export class FilterChain {
	readonly filters: FilterInstance[] = [];
	/** The disk's I/O path is busy (a blocking hook) until this virtual time. */
	pathBusyUntil = 0;
	/** I/Os inside the chain (guest and filter I/O). */
	inFlight = 0;
	/**
	 * Set by abort() (the host crashed, or the chain was replaced): nothing in it moves any more,
	 * whatever its I/Os and its filters' timers had scheduled.
	 */
	dead = false;
	private draining: (() => void)[] = [];
	private liveHead: ChainIo | undefined = undefined;
	/**
	 * The scheduler lane of this disk's I/O path: the continuations of blocking hooks and the
	 * wake of the I/Os waiting for the path, all at the path's busy-until time.
	 */
	private readonly lane: Lane;
	/**
	 * I/Os waiting for the path while a blocking hook holds it, first come first served (an
	 * intrusive queue through ChainIo.nextWaiting). One wake event serves them all: they go on in
	 * order while the path stays free, and the rest wait for the next wake. (Waking each of them
	 * at every busy-until time cost ~8 events per I/O behind a filter that charges CPU per write.)
	 */
	private waitHead: ChainIo | undefined = undefined;
	private waitTail: ChainIo | undefined = undefined;
	/** Whether a wake of the waiters is scheduled. */
	private wakePending = false;

	constructor(
		readonly env: ChainEnv,
		readonly disk: DiskInfo,
		readonly device: DeviceModel,
		readonly store: BlockStore
	) {
		this.lane = env.sched.lane();
	}

	/** Orders attachments by class; refuses two filters of one class. */
	static order<T extends AttachedFilter>(filters: T[], classOf: (f: T) => string, cleartextFirst: boolean): T[] {
		const seen = new Map<string, string>();
		for (const f of filters) {
			const cls = classOf(f);
			const other = seen.get(cls);
			if (other !== undefined)
				throw new Error(`filters "${other}" and "${f.def.name}" are both of class ${cls}: a disk takes one filter per class`);
			seen.set(cls, f.def.name);
		}
		return [...filters].sort((a, b) => rank(classOf(a), cleartextFirst) - rank(classOf(b), cleartextFirst));
	}

	/** Attaches filters (already in chain order); runs each attach hook. */
	async attach(filters: AttachedFilter[]): Promise<void> {
		for (const a of filters) {
			const inst = new FilterInstance(this, this.filters.length, a);
			this.filters.push(inst);
			try {
				inst.state = await a.def.attach(inst);
			} catch (e) {
				// A parameter the filter itself refuses (beyond its table's checks) is bad input.
				if (e instanceof ParamError && a.path !== undefined) throw paramScenarioError(a.path, e);
				throw e;
			}
		}
	}

	/** A guest I/O enters the chain at the top. */
	submit(io: ChainIo, onDone: (io: ChainIo) => void): void {
		io.onDone = onDone;
		io.top = 0;
		this.begin(io);
		this.down(io, 0);
	}

	/** Delivers a control operation: waits for in-flight I/O to drain, then tells every filter. */
	async control(event: ControlEvent): Promise<void> {
		await this.drain();
		for (const f of this.filters) {
			if (!f.def.onEvent) continue;
			try {
				await f.def.onEvent(event, f);
			} catch (e) {
				this.env.log(f.def.name, `onEvent(${event.type}) threw: ${errorText(e)}`);
			}
		}
	}

	/** Calls every filter's checkpoint hook, in class order (see FilterDef.checkpoint). */
	async checkpoint(): Promise<void> {
		if (this.dead) return;
		for (const f of this.filters) {
			if (!f.def.checkpoint || f.dead) continue;
			try {
				await f.def.checkpoint(f);
			} catch (e) {
				this.env.log(f.def.name, `checkpoint threw: ${errorText(e)}`);
			}
		}
	}

	/** Resolves when no I/O is inside the chain (filters may still be destaging: they own that). */
	drain(): Promise<void> {
		if (this.inFlight === 0) return Promise.resolve();
		return new Promise((resolve) => this.draining.push(resolve));
	}

	/**
	 * Kills the chain, as a host crash does: every step its I/Os and its filters' timers had
	 * scheduled becomes a no-op (nothing more reaches the store), guest I/O in flight completes at
	 * once with `error` (it was never acknowledged), filter I/O is dropped. Returns the number of
	 * guest I/Os that were in flight.
	 */
	abort(error: IoError): number {
		this.dead = true;
		for (const f of this.filters) f.dead = true;
		const t = this.env.trace;
		const now = this.env.sched.now;
		const code = Math.max(1, ERROR_CODES.indexOf(error.code));
		let guest = 0;
		while (this.liveHead) {
			const io = this.liveHead;
			this.unlink(io);
			io.stage = Stage.Done;
			io.error = { ...error };
			t.liveU8[io.row * U8_STRIDE + ByteCol.endedBy] = 255;
			t.close(io.row, now, code);
			io.row = -1;
			const cb = io.onDone;
			io.onDone = undefined;
			if (io.owner === undefined) {
				guest++;
				cb?.(io);
			}
		}
		this.inFlight = 0;
		this.dropWaiters();
		const waiting = this.draining;
		this.draining = [];
		for (const w of waiting) w();
		return guest;
	}

	/**
	 * Fails every I/O that filter i holds (deferred on the way down or up): the filter crashed,
	 * so nobody will resume them. Each goes on up as a failure, as if the filter had failed it.
	 */
	failHeld(i: number, error: IoError): number {
		let n = 0;
		for (let io = this.liveHead; io; io = io.nextLive) {
			if (io.at !== i) continue;
			if (io.stage === Stage.HeldDown) {
				this.endHeld(io, i, undefined, { ...error });
				n++;
			} else if (io.stage === Stage.HeldUp) {
				this.resumeHeldUp(io, i, { ...error });
				n++;
			}
		}
		return n;
	}

	/** Calls fn for every I/O inside the chain (guest and filter I/O), newest first. */
	forEachLive(fn: (io: ChainIo) => void): void {
		for (let io = this.liveHead; io; io = io.nextLive) fn(io);
	}

	private unlink(io: ChainIo): void {
		if (io.prevLive) io.prevLive.nextLive = io.nextLive;
		else if (this.liveHead === io) this.liveHead = io.nextLive;
		if (io.nextLive) io.nextLive.prevLive = io.prevLive;
		io.prevLive = io.nextLive = undefined;
	}

	// ---- the way down ----

	private begin(io: ChainIo): void {
		this.inFlight++;
		const head = this.liveHead;
		io.nextLive = head;
		if (head) head.prevLive = io;
		this.liveHead = io;
		io.row = this.env.trace.open(
			io.id,
			this.disk.index,
			io.op,
			io.origin === 'guest' ? 0 : 1,
			io.lba,
			io.sectors,
			io.issuedAt,
			this.filters.length,
			io.stream
		);
	}

	/** Moves an I/O down from filter index i. */
	down(io: ChainIo, i: number): void {
		if (this.dead) return;
		const sched = this.env.sched;
		const filters = this.filters;
		const n = filters.length;
		io.stage = Stage.Down;
		for (; i < n; i++) {
			const now = sched.now;
			const f = filters[i];
			io.at = i;
			this.stamp(io, i, 0, now, false);
			if (this.pathBusyUntil > now) {
				this.waitForPath(io);
				return;
			}
			let v: Verdict;
			f.charged = 0;
			f.inHook = true;
			try {
				v = f.def.onIo(io, f);
			} catch (e) {
				v = { kind: 'fail', error: { code: 'EFILTER', message: `onIo threw: ${errorText(e)}`, source: f.def.name } };
				f.counters.errors++;
				this.env.log(f.def.name, `onIo threw on I/O #${io.id}: ${errorText(e)}`);
			}
			f.inHook = false;
			if (v === undefined || v === null || typeof v !== 'object' || typeof v.kind !== 'string')
				v = { kind: 'fail', error: { code: 'EFILTER', message: 'onIo returned no verdict', source: f.def.name } };
			if (f.charged > 0) {
				// A blocking hook: the whole disk waits, then the verdict takes effect.
				const until = now + f.charged;
				f.counters.chargedUs += f.charged;
				this.pathBusyUntil = until;
				io.heldVerdict = v;
				sched.atLane(this.lane, until, this.applyDownFn, io);
				return;
			}
			if (v.kind !== 'pass') {
				this.applyDown(io, i, v);
				return;
			}
			f.counters.pass++;
			this.verdict(io, i, false, VerdictCode.pass);
			this.stamp(io, i, 1, now, true);
		}
		this.toDevice(io);
	}

	// ---- waiting for the path ----

	/** Queues an I/O that found the path busy at filter io.at (stamped and staged there already). */
	private waitForPath(io: ChainIo): void {
		if (this.waitTail) this.waitTail.nextWaiting = io;
		else this.waitHead = io;
		this.waitTail = io;
		if (!this.wakePending) {
			this.wakePending = true;
			this.env.sched.atLane(this.lane, this.pathBusyUntil, this.wakeWaitersFn, undefined);
		}
	}

	/**
	 * At the path's busy-until time: the waiters go on, oldest first, while the path is free. One
	 * that takes it (its hook charges) leaves the rest waiting, and they are woken again when
	 * that hook's time is spent, after its own continuation (scheduled earlier on the lane).
	 */
	private readonly wakeWaitersFn = (): void => {
		this.wakePending = false;
		if (this.dead) return;
		const sched = this.env.sched;
		for (let io = this.waitHead; io; io = this.waitHead) {
			if (this.pathBusyUntil > sched.now) {
				this.wakePending = true;
				sched.atLane(this.lane, this.pathBusyUntil, this.wakeWaitersFn, undefined);
				return;
			}
			this.waitHead = io.nextWaiting;
			if (!this.waitHead) this.waitTail = undefined;
			io.nextWaiting = undefined;
			if (io.stage === Stage.Down) this.down(io, io.at);
			else this.up(io, io.at);
		}
	};

	private dropWaiters(): void {
		for (let io = this.waitHead; io; ) {
			const next = io.nextWaiting;
			io.nextWaiting = undefined;
			io = next;
		}
		this.waitHead = this.waitTail = undefined;
	}

	// Continuations after a blocking hook, bound once and scheduled with the I/O as argument (no
	// closure per I/O). The I/O waits at filter io.at meanwhile; nothing else moves it, and the
	// hook's verdict waits in io.heldVerdict.
	private readonly applyDownFn = (io: ChainIo) => this.applyDown(io, io.at, this.takeVerdict(io));
	private readonly applyUpFn = (io: ChainIo) => this.applyUp(io, io.at, this.takeVerdict(io));

	private takeVerdict(io: ChainIo): Verdict {
		const v = io.heldVerdict!;
		io.heldVerdict = undefined;
		return v;
	}

	private applyDown(io: ChainIo, i: number, v: Verdict): void {
		const f = this.filters[i];
		const now = this.env.sched.now;
		switch (v.kind) {
			case 'pass':
				f.counters.pass++;
				this.verdict(io, i, false, VerdictCode.pass);
				this.stamp(io, i, 1, now, true);
				this.down(io, i + 1);
				return;
			case 'defer':
				f.counters.defer++;
				this.verdict(io, i, false, VerdictCode.defer);
				io.stage = Stage.HeldDown;
				io.at = i;
				io.heldSince = now;
				return;
			case 'complete':
				f.counters.complete++;
				this.verdict(io, i, false, VerdictCode.complete);
				this.stamp(io, i, 1, now, true);
				this.endAt(io, i, v.data, undefined);
				return;
			case 'fail':
				f.counters.fail++;
				this.verdict(io, i, false, VerdictCode.fail);
				this.stamp(io, i, 1, now, true);
				this.endAt(io, i, undefined, { ...v.error, source: v.error.source || f.def.name });
				return;
			default:
				this.endAt(io, i, undefined, { code: 'EFILTER', message: `unknown verdict "${String((v as { kind: unknown }).kind)}"`, source: f.def.name });
		}
	}

	/** Filter i completed or failed the I/O: the way up starts at the filter above it. */
	private endAt(io: ChainIo, i: number, data: Uint8Array | undefined, error: IoError | undefined): void {
		io.endedBy = i;
		if (error) io.error = error;
		else if (io.op === Op.read && !this.env.timingOnly) {
			if (data && data.length === io.sectors * SECTOR_BYTES) io.completedWith(data);
			else if (!io.data || io.data.length !== io.sectors * SECTOR_BYTES)
				io.error = {
					code: 'EFILTER',
					message: `completed a read of ${io.sectors * SECTOR_BYTES} bytes with ${data ? data.length : 'no'} bytes of data`,
					source: this.filters[i].def.name
				};
		}
		this.up(io, i - 1);
	}

	// ---- the device ----

	private toDevice(io: ChainIo): void {
		const sched = this.env.sched;
		io.stage = Stage.Device;
		io.at = this.filters.length;
		const now = sched.now;
		const done = this.device.schedule(now, io.op, io.lba, io.sectors * SECTOR_BYTES);
		const t = this.env.trace;
		t.live[io.row * F64_STRIDE + Col.deviceStart] = now;
		sched.at(done, this.deviceDoneFn, io);
	}

	/** deviceDone bound once: scheduled with the I/O as argument, no closure per I/O. */
	private readonly deviceDoneFn = (io: ChainIo) => this.deviceDone(io);

	private deviceDone(io: ChainIo): void | Promise<void> {
		if (this.dead) return;
		const t = this.env.trace;
		t.live[io.row * F64_STRIDE + Col.deviceDone] = this.env.sched.now;
		io.endedBy = -1;
		let r: void | Promise<void>;
		try {
			r = this.storeOp(io);
		} catch (e) {
			io.error = { code: 'EIO', message: `store: ${errorText(e)}`, source: 'device' };
			r = undefined;
		}
		if (r && typeof (r as Promise<void>).then === 'function')
			return (r as Promise<void>).then(
				() => this.up(io, this.filters.length - 1),
				(e) => {
					io.error = { code: 'EIO', message: `store: ${errorText(e)}`, source: 'device' };
					this.up(io, this.filters.length - 1);
				}
			);
		this.up(io, this.filters.length - 1);
	}

	private storeOp(io: ChainIo): void | Promise<void> {
		if (this.env.timingOnly) return;
		const store = this.store;
		switch (io.op) {
			case Op.read: {
				const buf = acquireReadBuffer(io.sectors * SECTOR_BYTES);
				io.data = buf;
				io.deviceBuffer = buf;
				return store.read(io.lba, buf);
			}
			case Op.write:
				if (!io.data || io.data.length !== io.sectors * SECTOR_BYTES)
					throw new Error(`write of ${io.sectors} sectors carries ${io.data?.length ?? 0} bytes`);
				return store.write(io.lba, io.data);
			case Op.flush:
				return store.flush();
			case Op.unmap:
				return store.unmap(io.lba, io.sectors);
		}
	}

	// ---- the way up ----

	/** Moves an I/O up from filter index i (toward 0), then completes it. */
	up(io: ChainIo, i: number): void {
		if (this.dead) return;
		const sched = this.env.sched;
		const filters = this.filters;
		io.stage = Stage.Up;
		for (; i >= io.top; i--) {
			const now = sched.now;
			const f = filters[i];
			io.at = i;
			this.stamp(io, i, 2, now, false);
			if (!f.def.onDone) {
				this.stamp(io, i, 3, now, true);
				continue;
			}
			if (this.pathBusyUntil > now) {
				this.waitForPath(io);
				return;
			}
			let v: Verdict;
			f.charged = 0;
			f.inHook = true;
			try {
				v = f.def.onDone(io, f);
			} catch (e) {
				v = { kind: 'fail', error: { code: 'EFILTER', message: `onDone threw: ${errorText(e)}`, source: f.def.name } };
				f.counters.errors++;
				this.env.log(f.def.name, `onDone threw on I/O #${io.id}: ${errorText(e)}`);
			}
			f.inHook = false;
			if (v === undefined || v === null || typeof v !== 'object') v = { kind: 'pass' };
			if (f.charged > 0) {
				const until = now + f.charged;
				f.counters.chargedUs += f.charged;
				this.pathBusyUntil = until;
				io.heldVerdict = v;
				sched.atLane(this.lane, until, this.applyUpFn, io);
				return;
			}
			if (v.kind !== 'pass') {
				this.applyUp(io, i, v);
				return;
			}
			this.verdict(io, i, true, VerdictCode.pass);
			this.stamp(io, i, 3, now, true);
		}
		this.finish(io);
	}

	private applyUp(io: ChainIo, i: number, v: Verdict): void {
		const f = this.filters[i];
		const now = this.env.sched.now;
		if (v.kind === 'defer') {
			f.counters.upDefer++;
			this.verdict(io, i, true, VerdictCode.defer);
			io.stage = Stage.HeldUp;
			io.at = i;
			io.heldSince = now;
			return;
		}
		if (v.kind === 'fail') {
			// Success turned into failure: the filters above are told of a failure.
			f.counters.upFail++;
			io.error = { ...v.error, source: v.error.source || f.def.name };
			this.verdict(io, i, true, VerdictCode.fail);
		} else if (v.kind === 'complete' && v.data && io.op === Op.read) {
			// A filter may substitute the data read (decryption hands plaintext up).
			io.completedWith(v.data);
			this.verdict(io, i, true, VerdictCode.complete);
		} else this.verdict(io, i, true, VerdictCode.pass);
		this.stamp(io, i, 3, now, true);
		this.up(io, i - 1);
	}

	private finish(io: ChainIo): void {
		io.stage = Stage.Done;
		const t = this.env.trace;
		const b = io.row * U8_STRIDE;
		t.liveU8[b + ByteCol.endedBy] = io.endedBy === -1 ? 0 : io.endedBy >= 0 ? io.endedBy + 1 : 255;
		t.close(io.row, this.env.sched.now, io.error ? Math.max(1, ERROR_CODES.indexOf(io.error.code)) : 0);
		io.row = -1;
		this.inFlight--;
		this.unlink(io);
		const cb = io.onDone;
		io.onDone = undefined;
		if (io.owner === undefined || !io.owner.dead) cb?.(io);
		if (this.inFlight === 0 && this.draining.length > 0) {
			const waiting = this.draining;
			this.draining = [];
			for (const w of waiting) w();
		}
	}

	// ---- held I/O, driven by the filter through its context ----

	/** Checks that filter i holds `io` in the given stage; logs and returns false otherwise. */
	holds(i: number, io: Io, stage: Stage, what: string): io is ChainIo {
		const c = io as ChainIo;
		if (c instanceof ChainIo && c.stage === stage && c.at === i && c.row >= 0) return true;
		const f = this.filters[i];
		f.counters.errors++;
		this.env.log(f.def.name, `${what}(I/O #${io?.id}) ignored: the filter does not hold that I/O`);
		return false;
	}

	release(io: ChainIo, i: number): void {
		const f = this.filters[i];
		const now = this.env.sched.now;
		const held = now - io.heldSince;
		f.counters.deferredUs += held;
		this.env.trace.live[io.row * F64_STRIDE + Col.deferredUs] += held;
	}

	resumeDown(io: ChainIo, i: number): void {
		this.release(io, i);
		io.stage = Stage.Down;
		this.stamp(io, i, 1, this.env.sched.now, true);
		// Continue as a new event: never re-enter the chain from inside another hook.
		this.env.sched.after(0, () => this.down(io, i + 1));
	}

	endHeld(io: ChainIo, i: number, data: Uint8Array | undefined, error: IoError | undefined): void {
		this.release(io, i);
		io.stage = Stage.Down;
		this.stamp(io, i, 1, this.env.sched.now, true);
		this.env.sched.after(0, () => this.endAt(io, i, data, error));
	}

	resumeHeldUp(io: ChainIo, i: number, error: IoError | undefined): void {
		this.release(io, i);
		io.stage = Stage.Up;
		if (error) io.error = error;
		this.stamp(io, i, 3, this.env.sched.now, true);
		this.env.sched.after(0, () => this.up(io, i - 1));
	}

	/** A filter's own I/O enters below filter i. */
	submitFrom(
		i: number,
		op: OpCode,
		lba: number,
		sectors: number,
		data: Uint8Array | undefined,
		done: (io: Io) => void,
		owner?: FilterInstance
	): void {
		const io = new ChainIo(this.env.nextIoId(), op, lba, sectors, data, 'filter', this.env.sched.now, -1);
		io.onDone = done as (io: ChainIo) => void;
		io.owner = owner;
		io.top = i + 1;
		this.begin(io);
		this.env.sched.after(0, () => this.down(io, i + 1));
	}

	// ---- trace helpers ----

	/** which: 0 down-in, 1 down-out, 2 up-in, 3 up-out. `overwrite` false keeps the first stamp. */
	private stamp(io: ChainIo, i: number, which: number, now: number, overwrite: boolean): void {
		const a = this.env.trace.live;
		const k = io.row * F64_STRIDE + FIXED_F64_COLUMNS + 4 * i + which;
		if (overwrite || a[k] < 0) a[k] = now;
	}

	private verdict(io: ChainIo, i: number, up: boolean, code: number): void {
		this.env.trace.liveU8[io.row * U8_STRIDE + FIXED_U8_COLUMNS + 2 * i + (up ? 1 : 0)] = code;
	}
}

/** One filter on one disk: its definition, state, counters, and the context it is handed. */
export class FilterInstance implements FilterContext<unknown> {
	state: unknown = undefined;
	readonly counters: FilterCounters = {
		pass: 0,
		complete: 0,
		fail: 0,
		defer: 0,
		upFail: 0,
		upDefer: 0,
		deferredUs: 0,
		chargedUs: 0,
		errors: 0
	};
	/** Time charged by the hook now running. */
	charged = 0;
	inHook = false;
	/**
	 * The instance is gone (its host crashed, it crashed, or it was detached or replaced): its
	 * timers do not fire, its own I/O is dropped, its calls on held I/O are ignored.
	 */
	dead = false;
	/** Replaced by a stub that fails every I/O when the filter crashes (see crash()). */
	def: FilterDef;
	/** The class this instance runs in. */
	readonly cls: string;
	readonly params: ParamValues;
	readonly prng: Prng;
	readonly sidecar: SidecarStore;
	readonly timingOnly: boolean;
	private readonly devices: Record<string, FilterDevice>;

	constructor(
		private readonly chain: FilterChain,
		/** Position in the chain; changes only while the chain is drained (a policy change). */
		public index: number,
		a: AttachedFilter
	) {
		this.def = a.def;
		this.cls = a.cls;
		this.params = a.params;
		this.prng = a.prng;
		this.sidecar = a.sidecar;
		this.devices = a.devices;
		this.timingOnly = chain.env.timingOnly;
	}

	get now(): number {
		return this.chain.env.sched.now;
	}

	/** The disk, live: its size after a grow and its host after a vMotion. */
	get disk(): FilterContext['disk'] {
		return this.chain.disk;
	}

	/**
	 * The filter's user world crashed: its in-memory state is gone. I/O that reaches it from now
	 * on fails (EFILTER) on the way down and on the way up; I/O it held fails; its timers stop.
	 * Only this disk's chain is affected. Returns the number of held I/Os failed.
	 */
	crash(message: string): number {
		const error: IoError = { code: 'EFILTER', message, source: this.def.name };
		this.dead = true;
		this.state = undefined;
		this.def = {
			...this.def,
			attach: () => undefined,
			detach: undefined,
			onIo: () => ({ kind: 'fail', error }),
			onDone: (io) => (io.error ? { kind: 'pass' } : { kind: 'fail', error }),
			onEvent: undefined,
			status: () => ({ crashed: message })
		};
		return this.chain.failHeld(this.index, error);
	}

	after(delayUs: number, fn: () => void | Promise<void>): void {
		// The timer's promise (an asynchronous store) is awaited by the run loop before the next
		// event, so a run is identical whichever store holds the bytes. Scheduled as a handler
		// bound once plus the callback as its argument: no wrapper closure per timer.
		const sched = this.chain.env.sched;
		sched.at(sched.now + (delayUs > 0 ? delayUs : 0), this.runTimer, fn);
	}

	private readonly timerError = (e: unknown): void => {
		this.counters.errors++;
		this.chain.env.log(this.def.name, `timer threw: ${errorText(e)}`);
	};

	private readonly runTimer = (fn: () => void | Promise<void>): void | Promise<void> => {
		if (this.dead || this.chain.dead) return;
		try {
			const r = fn();
			if (r && typeof (r as Promise<void>).then === 'function') return (r as Promise<void>).then(undefined, this.timerError);
		} catch (e) {
			this.timerError(e);
		}
	};

	charge(us: number): void {
		if (!(us > 0)) return;
		if (this.inHook) this.charged += us;
		else {
			// Outside a hook (a timer): the path is busy from now on.
			const c = this.chain;
			c.pathBusyUntil = Math.max(c.pathBusyUntil, this.now) + us;
			this.counters.chargedUs += us;
		}
	}

	resume(io: Io): void {
		if (this.dead) return;
		if (this.chain.holds(this.index, io, Stage.HeldDown, 'resume')) this.chain.resumeDown(io, this.index);
	}

	complete(io: Io, data?: Uint8Array): void {
		if (this.dead) return;
		if (this.chain.holds(this.index, io, Stage.HeldDown, 'complete')) {
			this.counters.complete++;
			this.chain.endHeld(io, this.index, data, undefined);
		}
	}

	fail(io: Io, code: IoError['code'], message: string): void {
		if (this.dead) return;
		if (this.chain.holds(this.index, io, Stage.HeldDown, 'fail')) {
			this.counters.fail++;
			this.chain.endHeld(io, this.index, undefined, { code, message, source: this.def.name });
		}
	}

	resumeUp(io: Io): void {
		if (this.dead) return;
		if (this.chain.holds(this.index, io, Stage.HeldUp, 'resumeUp')) this.chain.resumeHeldUp(io, this.index, undefined);
	}

	failUp(io: Io, code: IoError['code'], message: string): void {
		if (this.dead) return;
		if (this.chain.holds(this.index, io, Stage.HeldUp, 'failUp')) {
			this.counters.upFail++;
			this.chain.resumeHeldUp(io, this.index, { code, message, source: this.def.name });
		}
	}

	submitBelow(op: OpCode, lba: number, sectors: number, data: Uint8Array | undefined, done: (io: Io) => void): void {
		if (this.dead) return;
		this.chain.submitFrom(this.index, op, lba, sectors, data, done, this);
	}

	device(name: string): FilterDevice {
		const d = this.devices[name];
		if (!d) throw new Error(`filter "${this.def.name}" has no device "${name}" (has: ${Object.keys(this.devices).join(', ') || 'none'})`);
		return d;
	}

	log(message: string): void {
		this.chain.env.log(this.def.name, message);
	}

	/** The filter's status counters (its own, plus the framework's). */
	status(): Record<string, number | string> {
		let own: Record<string, number | string> = {};
		try {
			own = this.def.status?.(this) ?? {};
		} catch (e) {
			own = { statusError: errorText(e) };
		}
		return { ...own, ...prefixed(this.counters) };
	}
}

function prefixed(c: FilterCounters): Record<string, number> {
	return {
		verdictPass: c.pass,
		verdictComplete: c.complete,
		verdictFail: c.fail,
		verdictDefer: c.defer,
		upFail: c.upFail,
		upDefer: c.upDefer,
		deferredUs: c.deferredUs,
		chargedUs: c.chargedUs,
		hookErrors: c.errors
	};
}

/**
 * Position of a class in the chain. With allowCleartextFilters, encryption moves to the bottom
 * (just above the datastore) so replication, cache and the rest see cleartext.
 */
export function rank(cls: string, cleartextFirst: boolean): number {
	const i = FILTER_CLASSES.indexOf(cls as (typeof FILTER_CLASSES)[number]);
	if (cleartextFirst && cls === 'encryption') return FILTER_CLASSES.length;
	return i;
}

export function errorText(e: unknown): string {
	return e instanceof Error ? e.message : String(e);
}
