/**
 * One run of the suite (a "bench"): a one-VM, one-disk simulation whose chain is
 *
 *     probe above (inspection) → the filter under test (its class) → probe below (datastoreIoControl)
 *
 * (a probe is left out when the filter's own class is the top or the bottom one), with the
 * memory store factory, the guest's view recorded, and the filter under test instrumented. The
 * probes sit in the extreme classes, so with only three filters in the chain they are the
 * filter's immediate neighbours whatever its class.
 *
 * Everything is bounded, so that a broken filter cannot hang the suite: a run stops when no guest
 * I/O has completed for `quietUs` of virtual time or after a number of events; a control
 * operation stops after `controlUs` of virtual time or when it waits on nothing that can happen.
 */
import { macrotask } from '../engine/macrotask';
import type { FilterInstance } from '../engine/chain';
import { errorText } from '../engine/chain';
import { FILTER_CLASSES, type ControlEvent, type FilterClass, type FilterDef, type FilterDeviceSpec, type ParamValue } from '../engine/filter';
import { FilterRegistry } from '../engine/registry';
import { Simulation, type DiskRuntime } from '../engine/simulation';
import { MemoryStoreFactory } from '../engine/storage/memory';
import type { ExpectedState } from '../engine/verify';
import { passthrough } from '../filters/passthrough';
import { flaky } from '../filters/flaky';
import { CallLog, GuestLog, PROBE_ABOVE, PROBE_BELOW, ProbeLog, instrument, probeDef, whereIs } from './probes';
import { timeText, type Budgets, type Finding } from './report';
import { DISK_BYTES, type StreamPlan } from './workloads';

export const VM = 'certify-vm';
export const DISK = 'disk-0';
export const DISK_KEY = `${VM}/${DISK}`;
const TOP: FilterClass = FILTER_CLASSES[0];
const BOTTOM: FilterClass = FILTER_CLASSES[FILTER_CLASSES.length - 1];

/** Events one run may process at most (a filter spinning on timers cannot keep the suite busy). */
export const MAX_EVENTS_PER_RUN = 3_000_000;

/** What every run of one certification shares. */
export interface SuiteSetup {
	def: FilterDef;
	cls: FilterClass;
	params: Record<string, ParamValue>;
	devices: Record<string, FilterDeviceSpec>;
	seed: number;
	scale: number;
	budgets: Budgets;
}

/** Faults the probe below injects (through flaky) while armed. */
export interface FaultPlan {
	params: Record<string, ParamValue>;
}

export interface BenchOptions {
	streams: StreamPlan;
	faults?: FaultPlan;
	stores?: MemoryStoreFactory;
	expected?: Map<string, ExpectedState>;
	/** Completed trace rows kept (check 3 reads them all). */
	traceCapacity?: number;
}

/** A read that returned other bytes than the guest expects (its first wrong sector). */
export interface BadRead {
	ioId: number;
	/** Wrong sectors in the read. */
	sectors: number;
	t: number;
	firstSector: number;
	expectedContent: number;
	expectedSlot: number;
	/** The content id and slot found in the sector's header (meaningless if it is not a pattern). */
	foundContent: number;
	foundSlot: number;
}

/** How a run ended. */
export interface RunEnd {
	kind: 'finished' | 'quiet' | 'drained' | 'events' | 'crashed';
	t: number;
	message?: string;
}

export class Bench {
	readonly guest: GuestLog;
	readonly calls: CallLog;
	/** Whether the probe below injects faults now. */
	armed = true;
	/** Reads of this run that returned other bytes than the guest expects. */
	readonly badReads: BadRead[] = [];
	badSectors = 0;
	end: RunEnd | undefined;

	private constructor(
		readonly name: string,
		readonly setup: SuiteSetup,
		readonly sim: Simulation,
		readonly disk: DiskRuntime,
		readonly above: ProbeLog | undefined,
		readonly below: ProbeLog | undefined,
		calls: CallLog,
		readonly stores: MemoryStoreFactory
	) {
		this.guest = new GuestLog(disk.chain);
		this.calls = calls;
		// Every verified read that mismatches, for this run only (the expected state may carry over
		// from a run before a restart, with its own counters).
		const expected = disk.expected;
		const check = expected.checkRead.bind(expected);
		expected.checkRead = (lba, sectors, data, ioId) => {
			const before = expected.firstMismatch;
			expected.firstMismatch = undefined;
			const bad = check(lba, sectors, data, ioId);
			const first = expected.firstMismatch as ExpectedState['firstMismatch'];
			expected.firstMismatch = before ?? first;
			if (bad > 0 && first) {
				this.badSectors += bad;
				if (this.badReads.length < 100) {
					// Each sector of a written pattern starts with its content id and its slot in the block.
					const off = (first.sector - lba) * 512 + 4;
					const foundSlot = off + 4 <= data.length ? (data[off] | (data[off + 1] << 8) | (data[off + 2] << 16) | (data[off + 3] << 24)) >>> 0 : -1;
					this.badReads.push({
						ioId,
						sectors: bad,
						t: sim.sched.now,
						firstSector: first.sector,
						expectedContent: first.expectedContent,
						expectedSlot: first.sector % 8,
						foundContent: first.foundContent,
						foundSlot
					});
				}
			}
			return bad;
		};
	}

	/** Builds the simulation (attach hooks run here and may throw: the caller reports it). */
	static async create(name: string, setup: SuiteSetup, opts: BenchOptions): Promise<Bench> {
		const { def, cls } = setup;
		const calls = new CallLog(setup.budgets.chargePerCallUs);
		const above = cls !== TOP ? new ProbeLog(PROBE_ABOVE) : undefined;
		const below = cls !== BOTTOM ? new ProbeLog(PROBE_BELOW) : undefined;
		const registry = new FilterRegistry().register(instrument(def, calls));
		const filters: object[] = [];
		if (above) {
			registry.register(probeDef(PROBE_ABOVE, passthrough, above));
			filters.push({ type: PROBE_ABOVE, class: TOP });
		}
		filters.push({
			type: def.name,
			...(def.classConfigurable ? { class: cls } : {}),
			params: setup.params,
			devices: setup.devices
		});
		let bench: Bench | undefined;
		if (below) {
			const inner = opts.faults ? flaky : passthrough;
			registry.register(probeDef(PROBE_BELOW, inner, below, opts.faults ? () => bench?.armed === true : undefined));
			filters.push({ type: PROBE_BELOW, class: BOTTOM, ...(opts.faults ? { params: opts.faults.params } : {}) });
		}
		const stores = opts.stores ?? new MemoryStoreFactory();
		const scenario = {
			version: 1,
			name: `certify ${def.name}: ${name}`,
			seed: setup.seed,
			hosts: [{ name: 'esx-01' }, { name: 'esx-02' }],
			vms: [
				{
					name: VM,
					host: 'esx-01',
					disks: [{ name: DISK, size: DISK_BYTES, datastore: { kind: 'nvme' }, policy: { filters } }]
				}
			],
			run: { traceCapacity: opts.traceCapacity ?? 256 }
		};
		const sim = await Simulation.create(scenario, {
			registry,
			stores,
			...(opts.expected ? { expected: opts.expected } : {}),
			streams: new Map([[DISK_KEY, opts.streams]])
		});
		bench = new Bench(name, setup, sim, sim.disk(DISK_KEY), above, below, calls, stores);
		return bench;
	}

	get now(): number {
		return this.sim.sched.now;
	}

	/** The filter under test in the chain. */
	get tested(): FilterInstance {
		return this.disk.chain.filters[this.testedIndex];
	}

	get testedIndex(): number {
		return this.above ? 1 : 0;
	}

	/**
	 * Runs until the workload has finished and the chain is empty, or stops: `quiet` when no guest
	 * I/O completed for budgets.quietUs of virtual time while some was outstanding, `drained` when
	 * nothing is left to happen but I/O is still in the chain, `events` at the event limit,
	 * `crashed` when the engine threw (a filter broke an invariant the engine relies on).
	 * `until` stops earlier, once it returns true (checked between batches of events).
	 */
	async run(until?: () => boolean): Promise<RunEnd> {
		const sim = this.sim;
		const sched = sim.sched;
		const quiet = this.setup.budgets.quietUs;
		const start = sim.events;
		let progressAt = sched.now;
		let completed = this.guest.completed;
		try {
			sim.start();
			for (;;) {
				if (this.guest.completed !== completed) {
					completed = this.guest.completed;
					progressAt = this.guest.lastDoneAt;
				}
				if (sim.finished) return (this.end = { kind: 'finished', t: sched.now });
				if (until?.()) return { kind: 'finished', t: sched.now };
				const next = sched.peekTime();
				if (next === Infinity) return (this.end = { kind: 'drained', t: sched.now });
				if (next - progressAt > quiet && this.guest.inFlight.size + this.disk.chain.inFlight > 0)
					return (this.end = { kind: 'quiet', t: sched.now });
				if (sim.events - start > MAX_EVENTS_PER_RUN) return (this.end = { kind: 'events', t: sched.now });
				await sim.run({ maxEvents: until ? 64 : 4096 });
			}
		} catch (e) {
			return (this.end = { kind: 'crashed', t: sched.now, message: errorText(e) });
		}
	}

	/**
	 * Delivers a control operation as Simulation.control does (the guest pauses, the chain drains,
	 * every filter's onEvent runs, the clock runs meanwhile), but bounded: it gives up after
	 * budgets.controlUs of virtual time, or when it waits for something nothing can bring about
	 * (the chain will not drain, or an onEvent promise that no event can settle). The guest resumes
	 * afterwards unless `resumeGuest` is false (a powered-off VM).
	 */
	async control(event: ControlEvent, resumeGuest = true): Promise<{ ok: true } | { ok: false; reason: string }> {
		const sim = this.sim;
		const d = this.disk;
		sim.addLog(d.key, `control: ${event.type}`);
		d.guest.running = false;
		const p = d.chain.control(event);
		const r = await settleBounded(sim, p, sim.sched.now + this.setup.budgets.controlUs);
		if (r !== 'settled') {
			const why =
				d.chain.inFlight > 0
					? `the chain did not drain (${d.chain.inFlight} I/O still inside it)`
					: r === 'rejected'
						? 'it failed'
						: `a filter's onEvent(${event.type}) did not finish`;
			return { ok: false, reason: `${event.type}: ${why} ${r === 'timeout' ? `within ${this.setup.budgets.controlUs} µs of virtual time` : r === 'rejected' ? '' : '(it waits for something nothing will do)'}`.trim() };
		}
		if (resumeGuest) this.resumeGuest();
		return { ok: true };
	}

	/** The guest issues I/O again (after a control operation that left it paused). */
	resumeGuest(): void {
		this.disk.guest.running = true;
		this.disk.guest.start();
	}

	/** Guest I/Os still inside the chain, as findings saying where each is held and since when. */
	heldFindings(what: string): Finding[] {
		const out: Finding[] = [];
		for (const r of this.guest.inFlight) {
			const io = r.io;
			if (!io) continue;
			const w = whereIs(io, this.disk.chain);
			out.push({
				run: this.name,
				io: r.ref,
				t: r.issuedAt,
				message: `${what}: issued at t=${timeText(r.issuedAt)}, still ${w.text}${w.since !== undefined ? ` since t=${timeText(w.since)}` : ''} at t=${timeText(this.now)}`
			});
		}
		const own = this.disk.chain.inFlight - this.guest.inFlight.size;
		if (own > 0)
			out.push({ run: this.name, t: this.now, message: `${what}: ${own} I/O of the filters' own (submitBelow) still inside the chain` });
		return out;
	}

	/** A run that did not end normally, as a finding. */
	endFinding(end: RunEnd): Finding | undefined {
		switch (end.kind) {
			case 'finished':
				return undefined;
			case 'crashed':
				return { run: this.name, t: end.t, message: `the engine stopped with an error: ${end.message}` };
			case 'events':
				return { run: this.name, t: end.t, message: `the run did not finish within ${MAX_EVENTS_PER_RUN} events` };
			case 'quiet':
				return {
					run: this.name,
					t: end.t,
					message: `no guest I/O completed for ${timeText(this.setup.budgets.quietUs)} with ${this.guest.inFlight.size} outstanding`
				};
			case 'drained':
				return {
					run: this.name,
					t: end.t,
					message: `nothing was left to happen (no event queued) with ${this.guest.inFlight.size} guest I/O outstanding and ${this.disk.chain.inFlight} I/O in the chain`
				};
		}
	}
}


/**
 * Simulation.settle with bounds: runs events until `p` settles, letting the promise chain run to
 * quiescence (a macrotask turn) before the clock moves; gives up past `deadlineUs` or when no
 * event is left and a few macrotask turns have not settled it (memory stores answer at once, so
 * nothing outside virtual time can settle it any more).
 */
export async function settleBounded(sim: Simulation, p: Promise<unknown>, deadlineUs: number): Promise<'settled' | 'rejected' | 'timeout' | 'hung'> {
	let state: 'pending' | 'settled' | 'rejected' = 'pending';
	p.then(
		() => (state = 'settled'),
		(e) => {
			state = 'rejected';
			sim.addLog('certify', `control operation failed: ${errorText(e)}`);
		}
	);
	const sched = sim.sched;
	let idle = 0;
	let events = 0;
	while (state === 'pending') {
		if (!(sched.peekTime() <= sched.now)) {
			await macrotask();
			if (state !== 'pending') break;
		}
		const next = sched.peekTime();
		if ((next !== Infinity && next > deadlineUs) || events > MAX_EVENTS_PER_RUN) return 'timeout';
		const fn = sched.pop();
		if (!fn) {
			// Nothing left in virtual time. With memory stores a few macrotask turns settle anything
			// that can settle; a custom filter's hooks answer from its sandbox Worker, so after those
			// turns wait in short wall-clock steps (virtual time does not move meanwhile) before
			// judging the operation hung.
			if (++idle > IDLE_TURNS + IDLE_WAITS) return 'hung';
			if (idle <= IDLE_TURNS) await macrotask();
			else await Promise.race([p.then(noop, noop), new Promise((r) => setTimeout(r, 1))]);
			continue;
		}
		idle = 0;
		events++;
		sim.events++;
		const r = fn();
		if (r !== undefined) await r;
		await null;
	}
	return state;
}

/** Macrotask turns, then ~1 ms waits, that a control operation may take with no event queued. */
const IDLE_TURNS = 20;
const IDLE_WAITS = 500;
const noop = () => {};

