/**
 * A simulation: a validated scenario turned into hosts, VMs, disks (each with a datastore device
 * model, a block store of real bytes, a filter chain and a guest workload), one scheduler and one
 * trace. `run` drives the virtual clock; it awaits only when an asynchronous store answers with a
 * Promise, so a run is the same, event for event, whichever store holds the bytes.
 */
import { macrotask } from './macrotask';
import { NO_EVENT, Prng, Scheduler } from './clock';
import { FilterChain, type AttachedFilter, type ChainEnv, type DiskInfo } from './chain';
import { createDevice, createLink, type DeviceSpec } from './devices';
import type { ControlEvent, FilterDef, FilterDevice, FilterDeviceSpec } from './filter';
import { Guest, type GuestStream } from './guest';
import { SECTOR_BYTES } from './io';
import { ParamError, paramScenarioError, resolveParams } from './params';
import type { FilterRegistry } from './registry';
import { ScenarioError, parseScenario, type DiskConfig, type Scenario, type WorkloadInput } from './scenario/schema';
import { MemoryStoreFactory } from './storage/memory';
import type { BlockStore, StoreFactory } from './storage/types';
import { Cluster } from './cluster/index';
import { DatastoreLayer } from './cluster/datastore';
import { Trace, loadTraceHasher } from './trace';
import { ExpectedState } from './verify';
import { ContentSource } from './workload/contents';
import { WorkloadStream } from './workload/generator';
import { defaultWorkload } from './workload/spec';
import type { WorkloadSpec } from './workload/types';

export interface SimulationOptions {
	registry: FilterRegistry;
	/** Where disks, filter devices and sidecars keep their bytes (default: memory). */
	stores?: StoreFactory;
	/** Restores the guest's expected state per disk (after a reload); key = "vm/disk". */
	expected?: Map<string, ExpectedState>;
	/**
	 * Guest streams that replace the scenario's workload of a disk (key "vm/disk"), such as a
	 * trace replay. Each factory is called once, while its disk is built.
	 */
	streams?: Map<string, (disk: DiskStreamContext) => AttachedStream[]>;
}

/** What a stream factory gets from the disk it feeds. */
export interface DiskStreamContext {
	/** "vm/disk" */
	key: string;
	/** Disk size in 512-byte sectors. */
	sectors: number;
	/** The disk's source of write content ids (shared by all its streams). */
	contents: ContentSource;
	/** The PRNG the disk's workload streams fork from. */
	prng: Prng;
}

/** A stream to attach to a disk's guest, with its queue depth and think time. */
export interface AttachedStream {
	stream: GuestStream;
	iodepth: number;
	thinktimeUs?: number;
	/** The stream's name in the exports and results (a trace replay: its file's); see Guest.streamName. */
	name?: string;
}

export interface LogEntry {
	t: number;
	source: string;
	message: string;
}

export interface DiskRuntime {
	info: DiskInfo;
	/** "vm/disk" */
	key: string;
	config: DiskConfig;
	chain: FilterChain;
	guest: Guest;
	store: BlockStore;
	expected: ExpectedState;
}

export class Simulation {
	readonly sched = new Scheduler();
	readonly disks: DiskRuntime[] = [];
	readonly log: LogEntry[] = [];
	trace!: Trace;
	/** Events processed so far. */
	events = 0;
	/**
	 * The cluster around the disks: hosts and filter bundles, storage policies, snapshots, control
	 * operations (power, vMotion, clone, grow, DRS), faults and the scenario's timed operations.
	 */
	readonly cluster: Cluster = new Cluster(this);
	private ioSeq = 0;
	private started = false;

	private constructor(
		readonly scenario: Scenario,
		readonly options: SimulationOptions
	) {}

	/** Validates `input` (throws ScenarioError naming the field) and builds the simulation. */
	static async create(input: unknown, options: SimulationOptions): Promise<Simulation> {
		const scenario = parseScenario(input);
		await loadTraceHasher();
		const sim = new Simulation(scenario, options);
		sim.trace = new Trace({ capacity: scenario.run.traceCapacity });
		await sim.build();
		sim.cluster.init();
		return sim;
	}

	private env(): ChainEnv {
		return {
			sched: this.sched,
			trace: this.trace,
			nextIoId: () => ++this.ioSeq,
			log: (source, message) => this.addLog(source, message),
			timingOnly: this.scenario.run.timingOnly
		};
	}

	/** A new I/O id (the framework's own offline I/O: clone, failback, verification scans). */
	nextIoId(): number {
		return ++this.ioSeq;
	}

	/** Where disks, filter devices and sidecars keep their bytes. */
	get stores(): StoreFactory {
		return (this.storeFactory ??= this.options.stores ?? new MemoryStoreFactory());
	}
	private storeFactory: StoreFactory | undefined;

	addLog(source: string, message: string): void {
		if (this.log.length < 10_000) this.log.push({ t: this.sched.now, source, message });
	}

	private async build(): Promise<void> {
		const s = this.scenario;
		const stores = this.stores;
		const root = new Prng(s.seed);
		const env = this.env();
		for (const [vi, vm] of s.vms.entries()) {
			for (const [di, d] of vm.disks.entries()) {
				const path = `vms[${vi}].disks[${di}]`;
				const key = `${vm.name}/${d.name}`;
				const diskPrng = root.fork(this.disks.length);
				const sectors = Math.floor(d.size / SECTOR_BYTES);
				const info: DiskInfo = { index: this.disks.length, name: d.name, vm: vm.name, host: vm.host, sectors };
				const device = at(`${path}.datastore`, () =>
					createDevice({ kind: d.datastore.kind, ...d.datastore.params } as DeviceSpec, diskPrng.fork(1))
				);
				const store = await stores.openBlockStore(`disk.${key}`, sectors);
				// The datastore layer under the chain: snapshot copy-on-write and injected errors.
				const chain = new FilterChain(env, info, device, new DatastoreLayer(store));
				const attached = await this.attachments(path, key, d, stores, diskPrng.fork(2), vm.host);
				const ordered = at(`${path}.policy.filters`, () =>
					FilterChain.order(attached, (a) => a.cls, d.policy!.allowCleartextFilters)
				);
				await chain.attach(ordered);
				const expected = this.options.expected?.get(key) ?? new ExpectedState();
				const guest = new Guest(this.sched, chain, expected, () => ++this.ioSeq, this.scenario.run.timingOnly);
				const contents = new ContentSource(diskPrng.fork(3));
				const wprng = diskPrng.fork(4);
				const custom = this.options.streams?.get(key);
				if (custom) for (const a of custom({ key, sectors, contents, prng: wprng })) guest.addStream(a.stream, a.iodepth, a.thinktimeUs ?? 0, a.name);
				else
					d.workload.forEach((w, k) => {
						const spec = workloadSpec(w);
						const stream = at(`${path}.workload[${k}]`, () => new WorkloadStream(spec, sectors, wprng.fork(k), contents, k));
						guest.addStream(stream, spec.iodepth, spec.thinktimeUs, w.name);
					});
				this.disks.push({ info, key, config: d, chain, guest, store, expected });
			}
		}
		for (const key of this.options.streams?.keys() ?? [])
			if (!this.disks.some((d) => d.key === key))
				throw new ScenarioError('vms', `streams are given for disk "${key}", which the scenario does not have (disks: ${this.disks.map((d) => d.key).join(', ')})`);
	}

	/**
	 * Opens the filters of a disk's policy on `host`: resolved parameters, devices, sidecar.
	 * Devices and sidecars are opened once per disk and reused when the cluster attaches filters
	 * again; a host-local device (a cache's SSD) belongs to the host (cluster/attachments.ts).
	 */
	async attachments(
		path: string,
		key: string,
		d: Pick<DiskConfig, 'size' | 'policy'>,
		stores: StoreFactory,
		prng: Prng,
		host: string
	): Promise<AttachedFilter[]> {
		const out: AttachedFilter[] = [];
		for (const [fi, a] of d.policy!.filters.entries()) {
			const fpath = `${path}.policy.filters[${fi}]`;
			const def = this.options.registry.get(a.type);
			if (!def)
				throw new ScenarioError(`${fpath}.type`, `unknown filter "${a.type}" (registered: ${this.options.registry.names().join(', ')})`);
			if (a.class !== undefined && a.class !== def.class && !def.classConfigurable)
				throw new ScenarioError(`${fpath}.class`, `filter "${def.name}" is of class ${def.class}; its class cannot be changed`);
			if (this.scenario.run.timingOnly && !def.timingOnly)
				throw new ScenarioError(`${fpath}.type`, `filter "${def.name}" needs the data and does not run in timing-only mode (run.timingOnly)`);
			const params = paramsAt(fpath, () => resolveParams(def, a.params));
			const devices: Record<string, FilterDevice> = {};
			checkDeviceRoles(fpath, def, a.devices);
			// The scenario's devices override the filter's defaults, role by role.
			const specs = { ...(def.devices ?? {}), ...a.devices } as Record<string, FilterDeviceSpec>;
			for (const [role, spec] of Object.entries(specs)) {
				devices[role] = await this.cluster.resources.device(key, def, role, spec, host, async (suffix) => {
					if (spec.kind === 'wan')
						return { model: undefined, link: createLink({ rttUs: spec.rttUs, mbitPerSec: spec.mbitPerSec }), store: undefined };
					const model = at(`${fpath}.devices.${role}`, () =>
						createDevice({ kind: spec.kind, ...spec.params } as DeviceSpec, prng.fork(100 + fi))
					);
					// Sized like the disk; stores are thin, so only what the filter writes costs space.
					const store = await stores.openBlockStore(`dev.${key}.${def.name}.${role}${suffix}`, Math.floor(d.size / SECTOR_BYTES));
					return { model, link: undefined, store };
				});
			}
			const cls = a.class ?? def.class;
			// Named by class too: one type may run twice in one chain (a configurable class).
			const sidecarName = `sidecar.${key}.${cls}.${def.name}`;
			const sidecar = await this.cluster.resources.sidecar(sidecarName, () => stores.openSidecar(sidecarName));
			out.push({ def, params, devices, sidecar, prng: prng.fork(fi), cls, path: fpath });
		}
		return out;
	}

	/** Starts the workloads and schedules the scenario's timed operations (idempotent). */
	start(): void {
		if (this.started) return;
		this.started = true;
		this.cluster.scheduleOperations();
		for (const d of this.disks) d.guest.start();
	}

	/** The disk "vm/disk" (or the only disk when `key` is omitted). */
	disk(key?: string): DiskRuntime {
		const d = key === undefined ? this.disks[0] : this.disks.find((x) => x.key === key);
		if (!d) throw new Error(`no disk "${key}" (disks: ${this.disks.map((x) => x.key).join(', ')})`);
		return d;
	}

	/**
	 * Delivers a control operation to every filter of a disk (after its in-flight I/O drains),
	 * running the clock meanwhile so deferred I/O and destages can finish.
	 */
	async control(key: string | undefined, event: ControlEvent): Promise<void> {
		const d = this.disk(key);
		this.addLog(d.key, `control: ${event.type}`);
		const wasRunning = d.guest.running;
		d.guest.running = false;
		await this.settle(d.chain.control(event));
		d.guest.running = wasRunning;
		if (wasRunning && this.started) d.guest.start();
	}

	/**
	 * Lets every filter of every disk persist what a restart needs, with the clock stopped (the
	 * page's save at rest; call after flushing the stores). See FilterDef.checkpoint.
	 */
	async checkpoint(): Promise<void> {
		for (const d of this.disks) await d.chain.checkpoint();
	}

	/**
	 * Keeps the clock running until `p` settles: a control operation waits for I/O to drain and
	 * for filters to act (a cache flush needs device time). Before the clock moves on, the
	 * operation's promise chain runs to quiescence (a macrotask turn), so it settles, or tells the
	 * next filter, or schedules its own timers, at the virtual time it belongs to, however many
	 * awaits it takes and whatever else (another disk) has events queued.
	 */
	async settle<T>(p: Promise<T>): Promise<T> {
		let settled = false;
		let idleTurns = 0;
		const q = p.finally(() => {
			settled = true;
		});
		while (!settled) {
			if (!(this.sched.peekTime() <= this.sched.now)) {
				await macrotask();
				if (settled) break;
			}
			const fn = this.sched.pop();
			if (!fn) {
				// Nothing left in virtual time: the operation waits on something outside it (an
				// asynchronous store), which may yet schedule timers. Look again shortly, but not
				// forever: a filter whose promise can never settle must not hang the run.
				if (++idleTurns > MAX_IDLE_TURNS)
					throw new Error('a control operation never finished: a filter is waiting for something that cannot happen (nothing is left to run)');
				await Promise.race([q, new Promise((r) => setTimeout(r, 1))]);
				continue;
			}
			idleTurns = 0;
			this.events++;
			const r = fn();
			if (r !== undefined) await r;
			await null;
		}
		return q;
	}

	/**
	 * True when every workload is done (or its VM is off, suspended or down), no I/O is in any
	 * chain and no timed operation is pending.
	 */
	get finished(): boolean {
		// In-flight I/O first: it is the cheap test and the common answer while a run is going.
		for (const d of this.disks) if (d.chain.inFlight > 0) return false;
		for (const d of this.disks) if (d.guest.running && !d.guest.finished) return false;
		return this.cluster.idle;
	}

	/**
	 * Runs until the workloads finish, the virtual time `untilUs` is reached, or `maxEvents` have
	 * been processed. Returns true when the run is finished.
	 */
	async run(limit: { untilUs?: number; maxEvents?: number } = {}): Promise<boolean> {
		this.start();
		const sched = this.sched;
		const untilUs = Math.min(limit.untilUs ?? Infinity, this.scenario.run.maxRuntimeUs || Infinity);
		const stopAt = this.events + (limit.maxEvents ?? Infinity);
		const timed = untilUs !== Infinity;
		while (this.events < stopAt) {
			if (this.finished) return true;
			// (With no time limit the next event's time need not be looked up: nothing exceeds it.)
			if (timed && sched.peekTime() > untilUs) {
				if (Number.isFinite(untilUs)) sched.now = Math.max(sched.now, untilUs);
				// The run's own time limit ends it; a caller's limit only pauses it.
				const limitUs = this.scenario.run.maxRuntimeUs;
				return this.finished || (limitUs > 0 && untilUs >= limitUs);
			}
			const r = sched.runNext();
			if (r === NO_EVENT) return true;
			this.events++;
			if (r !== undefined) await r;
		}
		return this.finished;
	}
}

/** Empty-queue turns (≈ 1 ms of wall time each) a control operation may wait for a store. */
const MAX_IDLE_TURNS = 5000;

/** Runs `fn`; rethrows its error as a ScenarioError at `path`. */
function at<T>(path: string, fn: () => T): T {
	try {
		return fn();
	} catch (e) {
		if (e instanceof ScenarioError) throw e;
		throw new ScenarioError(path, e instanceof Error ? e.message : String(e));
	}
}

/** Like at(), for a filter's parameters: a ParamError that names its parameter is put at it. */
function paramsAt<T>(fpath: string, fn: () => T): T {
	try {
		return fn();
	} catch (e) {
		if (e instanceof ParamError) throw paramScenarioError(fpath, e);
		if (e instanceof ScenarioError) throw e;
		throw new ScenarioError(`${fpath}.params`, e instanceof Error ? e.message : String(e));
	}
}

/**
 * The scenario may give a filter only the devices it declares, each of the same sort (a storage
 * device where the filter expects one, a network link where it expects a link): a misspelt role
 * would otherwise be ignored, and a wrong sort fail deep inside the filter at run time.
 */
function checkDeviceRoles(fpath: string, def: FilterDef, given: Record<string, FilterDeviceSpec> | undefined): void {
	const declared = def.devices ?? {};
	for (const [role, spec] of Object.entries(given ?? {})) {
		const want = declared[role];
		if (!want)
			throw new ScenarioError(
				`${fpath}.devices.${role}`,
				`filter "${def.name}" has no device "${role}" (${Object.keys(declared).length ? `its devices: ${Object.keys(declared).join(', ')}` : 'it uses no devices'})`
			);
		const isLink = (k: string) => k === 'wan';
		if (isLink(spec.kind) !== isLink(want.kind))
			throw new ScenarioError(
				`${fpath}.devices.${role}.kind`,
				isLink(want.kind)
					? `filter "${def.name}" uses "${role}" as a network link: kind must be wan, not ${spec.kind}`
					: `filter "${def.name}" uses "${role}" as a storage device (nvme, sata-ssd, hdd or null), not a ${spec.kind} link`
			);
	}
}

/** A workload as written in a scenario, with the defaults filled in. */
export function workloadSpec(w: WorkloadInput): WorkloadSpec {
	const d = defaultWorkload();
	return {
		rw: w.rw ?? d.rw,
		bs: w.bs ?? d.bs,
		bssplit: w.bssplit,
		blockalign: w.blockalign,
		iodepth: w.iodepth ?? d.iodepth,
		rwmixread: w.rwmixread ?? d.rwmixread,
		offset: w.offset ?? d.offset,
		size: w.size ?? d.size,
		ios: w.ios ?? d.ios,
		runtimeUs: w.runtimeUs ?? d.runtimeUs,
		...(w.ioSize !== undefined ? { ioSize: w.ioSize } : {}),
		randomDistribution: w.randomDistribution ?? d.randomDistribution,
		// Only when given: scenarios without it keep drawing with replacement (and their digests).
		...(w.randomMap !== undefined ? { randomMap: w.randomMap } : {}),
		dedupePercentage: w.dedupePercentage ?? d.dedupePercentage,
		thinktimeUs: w.thinktimeUs ?? d.thinktimeUs,
		rateIops: w.rateIops ?? d.rateIops,
		fsync: w.fsync ?? 0,
		...(w.seqAdd ? { seqAdd: w.seqAdd } : {})
	};
}
