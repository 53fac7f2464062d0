/**
 * The cluster around a simulation's disks (`sim.cluster`): hosts with installed filter bundles,
 * VMs and their power state, storage policies, each disk's snapshot tree and datastore layer,
 * control operations, faults and the scenario's timed operations. Every public method is one
 * vCenter-like task: tasks run one at a time, each drives the virtual clock while it waits (the
 * other VMs keep running meanwhile), each is logged with its effect (sim.log and `history`), and
 * a refused task throws a ClusterError that says why and changes nothing.
 *
 * Call tasks while nothing else drives the clock (as for Simulation.control: a page pauses its
 * playback around them); a task started from a timed operation runs inside Simulation.run.
 *
 * The rules live in the modules beside this one: hosts-and-bundles.ts (bundles, versions),
 * policies.ts (policy changes), snapshots.ts (the snapshot tree), operations.ts (snapshot, power,
 * grow, clone, vMotion, maintenance, upgrade), faults.ts (host crash, datastore errors, filter
 * crash, WAN outage, DR failover/failback), drs.ts (placement), timed.ts (scenario operations).
 */
import { Prng } from '../clock';
import type { AttachedFilter } from '../chain';
import type { FilterDef } from '../filter';
import { resolveParams } from '../params';
import type { DiskRuntime, Simulation } from '../simulation';
import { ScenarioError, type BundleInput, type Operation, type PolicyConfig, type PolicyInput } from '../scenario/schema';
import { FilterResources } from './attachments';
import { DatastoreLayer, type DatastoreFault, type FaultOps } from './datastore';
import { ClusterError } from './errors';
import { HostRegistry, bundleOf, compareVersions, type Bundle, type Requirements } from './hosts-and-bundles';
import { WriteLedger } from './ledger';
import { SnapshotTree, type SnapshotInfo } from './snapshots';
import { applyPolicy, parsePolicy, type PolicyChange } from './policies';
import { recommend, type Placement } from './drs';
import * as ops from './operations';
import * as faults from './faults';
import { runTimed } from './timed';
import { scanDisk, type ScanResult } from './offline-io';

/** @internal A recovery scan of a disk, its VM's guests stopped and its chain drained meanwhile. */
export async function verifyDisk(c: Cluster, d: DiskRuntime): Promise<ScanResult> {
	// A timing-only run moves no bytes: there is nothing to compare.
	if (c.sim.scenario.run.timingOnly) return { blocks: 0, sectorsChecked: 0, lostBlocks: [], mismatchedSectors: 0, errors: [] };
	return c.paused(d.info.vm, async () => {
		await d.chain.drain();
		return scanDisk(c.sim, d.chain, d.expected);
	});
}

export { ClusterError } from './errors';
export type { Bundle } from './hosts-and-bundles';
export type { SnapshotInfo } from './snapshots';
export type { Placement } from './drs';
export type { PolicyChange } from './policies';
export type { CrashReport, DiskLoss, FailoverReport, FailbackReport } from './faults';
export type { CloneResult, MigrateResult, UpgradeResult } from './operations';

export type PowerState = 'on' | 'off' | 'suspended' | 'crashed' | 'failed-over';

export interface VmRecord {
	name: string;
	host: string;
	power: PowerState;
	/** The power state before the host crashed (restored by the restart). */
	powerBeforeCrash?: PowerState;
}

/** What the cluster keeps per disk beside the engine's DiskRuntime. */
export interface ClusterDisk {
	readonly key: string;
	/** The layer under the chain: snapshot copy-on-write and injected datastore errors. */
	readonly layer: DatastoreLayer;
	readonly snapshots: SnapshotTree;
	/** The storage policy the disk runs. */
	policy: PolicyConfig;
	readonly ledger: WriteLedger;
	/** The ledger at each snapshot (a revert brings it back). */
	readonly ledgers: Map<string, WriteLedger>;
}

export interface OperationRecord {
	id: number;
	/** Virtual µs at which the task started and ended. */
	t: number;
	endT: number;
	op: string;
	target: string;
	ok: boolean;
	/** The effect (or why it was refused). */
	message: string;
}

export interface HostSummary {
	name: string;
	state: string;
	bundles: Bundle[];
	vms: string[];
}

export interface ClusterSummary {
	hosts: HostSummary[];
	vms: { name: string; host: string; power: PowerState; disks: string[]; snapshots: string[] }[];
	bundles: Bundle[];
	operations: OperationRecord[];
}

export class Cluster {
	readonly hosts = new HostRegistry();
	readonly vms = new Map<string, VmRecord>();
	/** Named storage policies. */
	readonly policies = new Map<string, PolicyConfig>();
	/** Every task, in order. */
	readonly history: OperationRecord[] = [];
	/** Filter devices and sidecars of every disk (reused across re-attaches). */
	readonly resources = new FilterResources();
	/** DR failovers in effect, by source disk key. */
	readonly failovers = new Map<string, faults.DrState>();
	private readonly disks = new Map<string, ClusterDisk>();
	/**
	 * The code each bundle version runs ("name@version"), kept when a version is installed with
	 * its own FilterDef (a custom filter, or the code registered when the run was built). A custom
	 * bundle upgraded to new code keeps its old version's code here for the disks that still run
	 * it: a disk gets the new code when it attaches on a host that has the new version.
	 */
	private readonly code = new Map<string, FilterDef>();
	private jobs: (() => Promise<void>)[] = [];
	private driving = false;
	/** Tasks running now. */
	private active = 0;
	private pendingTimed = 0;
	private opSeq = 0;
	private prngSeq = 0;

	constructor(readonly sim: Simulation) {}

	/** No task running or queued and no timed operation pending. */
	get idle(): boolean {
		return this.pendingTimed === 0 && this.jobs.length === 0 && this.active === 0;
	}

	// ================================================================ setup

	/** Builds the cluster from the scenario once the disks exist (Simulation.create calls it). */
	init(): void {
		const s = this.sim.scenario;
		const registry = this.sim.options.registry;
		const resolve = (b: BundleInput, path: string): Bundle => {
			const def = registry.get(b.name);
			if (!def) throw new ScenarioError(`${path}.name`, `no filter "${b.name}" is registered (registered: ${registry.names().join(', ')})`);
			this.pinCode(def, b.version ?? def.version, true);
			return { name: b.name, vendor: b.vendor ?? def.vendor, version: b.version ?? def.version };
		};
		const catalog = s.cluster?.bundles
			? s.cluster.bundles.map((b, i) => resolve(b, `cluster.bundles[${i}]`))
			: registry.names().map((n) => bundleOf(registry.get(n)!));
		for (const n of registry.names()) this.pinCode(registry.get(n)!);
		for (const b of catalog) this.hosts.bundles.set(b.name, b);
		s.hosts.forEach((h, i) => this.hosts.join(h.name, h.bundles ? h.bundles.map((b, j) => resolve(b, `hosts[${i}].bundles[${j}]`)) : catalog));
		for (const p of s.cluster?.policies ?? []) this.policies.set(p.name, p);
		for (const vm of s.vms) this.vms.set(vm.name, { name: vm.name, host: vm.host, power: 'on' });
		for (const d of this.sim.disks) {
			this.register(d, d.config.policy!);
			const host = this.hosts.get(d.info.host);
			d.chain.filters.forEach((f) => {
				this.resources.attachedOn(f.sidecar, d.info.host);
				if (!host.bundles.has(f.def.name)) {
					const vi = s.vms.findIndex((v) => v.name === d.info.vm);
					const di = s.vms[vi].disks.findIndex((x) => x.name === d.info.name);
					const fi = d.config.policy!.filters.findIndex((a) => a.type === f.def.name);
					throw new ScenarioError(
						`vms[${vi}].disks[${di}].policy.filters[${fi}].type`,
						`filter "${f.def.name}" is not installed on host ${host.name} (installed: ${[...host.bundles.keys()].join(', ') || 'none'})`
					);
				}
			});
			if (!this.policies.has(d.config.policy!.name)) this.policies.set(d.config.policy!.name, d.config.policy!);
		}
	}

	/** @internal Registers a disk (at build, or created by a clone or a failover). */
	register(d: DiskRuntime, policy: PolicyConfig): ClusterDisk {
		const layer = d.chain.store;
		if (!(layer instanceof DatastoreLayer)) throw new Error(`disk ${d.key} has no datastore layer`);
		const cd: ClusterDisk = { key: d.key, layer, snapshots: new SnapshotTree(layer.inner), policy, ledger: new WriteLedger(), ledgers: new Map() };
		this.disks.set(d.key, cd);
		// The ledger names the writes a crash lost, which only a data run can tell (the scan after a
		// crash reads the disk back); a timing-only run skips it.
		if (!this.sim.scenario.run.timingOnly) d.guest.onWriteAck = cd.ledger.record;
		return cd;
	}

	/** Schedules the scenario's timed operations (Simulation.start calls it). */
	scheduleOperations(): void {
		const list = this.sim.scenario.operations;
		this.pendingTimed += list.length;
		const ignore = () => {
			// Refused or failed: recorded in the history and the log; the run goes on.
		};
		for (const op of list)
			this.sim.sched.at(op.atUs, () => {
				this.jobs.push(() =>
					this.perform(op.op, timedTarget(op), () => runTimed(this, op))
						.then(ignore, ignore)
						.finally(() => this.pendingTimed--)
				);
				return this.kick();
			});
	}

	// ================================================================ lookups

	vm(name: string): VmRecord {
		const vm = this.vms.get(name);
		if (!vm) throw new ClusterError(`no VM "${name}" (VMs: ${[...this.vms.keys()].join(', ')})`);
		return vm;
	}

	/** The disks of a VM, in order. */
	disksOf(vm: string): DiskRuntime[] {
		return this.sim.disks.filter((d) => d.info.vm === vm);
	}

	/** A VM's disk by name (default: its only disk). */
	diskOf(vm: string, disk?: string): DiskRuntime {
		const list = this.disksOf(this.vm(vm).name);
		if (disk === undefined) {
			if (list.length !== 1) throw new ClusterError(`VM ${vm} has ${list.length} disks (${list.map((d) => d.info.name).join(', ')}): name one`);
			return list[0];
		}
		const d = list.find((x) => x.info.name === disk);
		if (!d) throw new ClusterError(`VM ${vm} has no disk "${disk}" (disks: ${list.map((x) => x.info.name).join(', ')})`);
		return d;
	}

	clusterDisk(key: string): ClusterDisk {
		const cd = this.disks.get(key);
		if (!cd) throw new Error(`disk ${key} is not registered with the cluster`);
		return cd;
	}

	/** The snapshots of a VM (the same on all its disks), in creation order. */
	snapshotNames(vm: string): string[] {
		const d = this.disksOf(vm)[0];
		return d ? this.clusterDisk(d.key).snapshots.names() : [];
	}

	snapshots(vm: string, disk?: string): SnapshotInfo[] {
		return this.clusterDisk(this.diskOf(vm, disk).key).snapshots.list();
	}

	/** What a VM needs on a host: every filter of its disks, at the version its host runs or newer. */
	requirements(vm: string): Requirements {
		const rec = this.vm(vm);
		const host = this.hosts.hosts.get(rec.host);
		const needs: Requirements = new Map();
		for (const d of this.disksOf(vm))
			for (const f of d.chain.filters) {
				const b = host?.bundles.get(f.def.name);
				const min = b?.version ?? '0';
				const have = needs.get(f.def.name);
				if (have === undefined || compareVersions(have, min) < 0) needs.set(f.def.name, min);
			}
		return needs;
	}

	/** The code of bundle `name` at `version`: what that version was installed with, else the registry's. */
	codeFor(name: string, version: string | undefined): FilterDef | undefined {
		return (version === undefined ? undefined : this.code.get(`${name}@${version}`)) ?? this.sim.options.registry.get(name);
	}

	/** @internal Records that `version` of a bundle runs `def` (with `keep`, only if no code is recorded for it yet). */
	pinCode(def: FilterDef, version = def.version, keep = false): void {
		const k = `${def.name}@${version}`;
		if (keep && this.code.has(k)) return;
		this.code.set(k, def);
	}

	/**
	 * @internal The filters of a policy opened on `host` (Simulation.attachments), each with the
	 * code of the bundle version that host has installed.
	 */
	async attachmentsOn(
		path: string,
		key: string,
		cfg: { size: number; policy: PolicyConfig },
		prng: Prng,
		host: string
	): Promise<AttachedFilter[]> {
		const list = await this.sim.attachments(path, key, cfg, this.sim.stores, prng, host);
		const h = this.hosts.hosts.get(host);
		return list.map((a, i) => {
			const def = this.codeFor(a.def.name, h?.bundles.get(a.def.name)?.version);
			if (!def || def === a.def) return a;
			return { ...a, def, params: resolveParams(def, cfg.policy.filters[i]?.params) };
		});
	}

	/** Which disks use a filter type (for uninstall). */
	usersOf(filter: string): string[] {
		const out: string[] = [];
		for (const d of this.sim.disks) if (d.chain.filters.some((f) => f.def.name === filter)) out.push(`${d.key} (policy "${this.clusterDisk(d.key).policy.name}")`);
		return out;
	}

	/** @internal A fresh deterministic PRNG for filters attached again. */
	prngFor(key: string): Prng {
		let h = (this.sim.scenario.seed ^ 0x5bd1e995) >>> 0;
		for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193) >>> 0;
		return new Prng((h ^ Math.imul(++this.prngSeq, 0x9e3779b1)) >>> 0);
	}

	/**
	 * @internal Runs `fn` with the VM's guests stopped (nothing new is issued; I/O in flight
	 * finishes), then lets them issue again if the VM is powered on.
	 */
	async paused<T>(vm: string, fn: () => Promise<T>): Promise<T> {
		const disks = this.disksOf(vm);
		for (const d of disks) d.guest.running = false;
		try {
			return await fn();
		} finally {
			this.resumeGuests(vm);
		}
	}

	/** @internal Lets a powered-on VM's guests issue I/O again. */
	resumeGuests(vm: string): void {
		const rec = this.vms.get(vm);
		if (!rec || rec.power !== 'on') return;
		for (const d of this.disksOf(vm)) {
			if (d.chain.dead || this.failovers.has(d.key)) continue;
			d.guest.running = true;
			d.guest.start();
		}
	}

	/** @internal An entry in the run's event log. */
	log(source: string, message: string): void {
		this.sim.addLog(source, message);
	}

	summary(): ClusterSummary {
		return {
			hosts: this.hosts.list().map((h) => ({
				name: h.name,
				state: h.state,
				bundles: h.bundleList(),
				vms: [...this.vms.values()].filter((v) => v.host === h.name).map((v) => v.name)
			})),
			vms: [...this.vms.values()].map((v) => ({
				name: v.name,
				host: v.host,
				power: v.power,
				disks: this.disksOf(v.name).map((d) => d.info.name),
				snapshots: this.snapshotNames(v.name)
			})),
			bundles: [...this.hosts.bundles.values()],
			operations: [...this.history]
		};
	}

	// ================================================================ tasks

	/** Runs `fn` as a task: after the tasks before it, with the clock driven until it is done. */
	private task<T extends { message: string }>(op: string, target: string, fn: () => Promise<T>): Promise<T> {
		return new Promise<T>((resolve, reject) => {
			this.jobs.push(async () => {
				// Counted as running until just before the caller hears back (it may check `idle`).
				this.active++;
				let r: T;
				try {
					r = await this.perform(op, target, fn);
				} catch (e) {
					this.active--;
					reject(e);
					return;
				}
				this.active--;
				resolve(r);
			});
			void this.kick();
		});
	}

	/** Runs `fn` now and records its effect (its `message`) or why it was refused, in the history and the log. */
	private async perform<T extends { message: string }>(op: string, target: string, fn: () => Promise<T>): Promise<T> {
		const t = this.sim.sched.now;
		const id = ++this.opSeq;
		try {
			const r = await fn();
			this.history.push({ id, t, endT: this.sim.sched.now, op, target, ok: true, message: r.message });
			this.log('cluster', `${op} ${target}: ${r.message}`);
			return r;
		} catch (e) {
			const msg = e instanceof Error ? e.message : String(e);
			const refused = e instanceof ClusterError;
			this.history.push({ id, t, endT: this.sim.sched.now, op, target, ok: false, message: `${refused ? 'refused' : 'failed'}: ${msg}` });
			this.log('cluster', `${op} ${target} ${refused ? 'refused' : 'failed'}: ${msg}`);
			throw e;
		}
	}

	/** Drives queued tasks with the clock running (unless a driver is already at work). */
	private kick(): Promise<void> | undefined {
		if (this.driving) return undefined;
		this.driving = true;
		const loop = async () => {
			while (this.jobs.length) await this.jobs.shift()!();
		};
		return this.sim.settle(loop()).finally(() => {
			this.driving = false;
			if (this.jobs.length) void this.kick();
		});
	}

	// ================================================================ hosts and bundles

	/** A host joins the cluster; it gets the cluster's bundles (or exactly `bundles`). */
	addHost(name: string, bundles?: BundleInput[]): Promise<{ message: string }> {
		return this.task('host-add', name, () => ops.addHost(this, name, bundles));
	}

	/**
	 * Installs a filter bundle cluster-wide. Give a FilterDef to install a custom filter (from the
	 * editor): it is registered (or replaces an unused registration) and installed at its version.
	 * A bundle installed at another version is refused: upgrade it (upgradeBundle).
	 */
	installBundle(bundle: BundleInput | FilterDef): Promise<{ message: string; hosts: string[] }> {
		return this.task('install', 'name' in bundle ? bundle.name : '?', () => ops.install(this, bundle));
	}

	/**
	 * Upgrades a bundle host by host: each host enters maintenance mode (its VMs move away first).
	 * With a FilterDef of that name and version (a custom filter's new code), or when the registry
	 * already holds code of that version, the new version runs that code: each disk switches to it
	 * when it attaches on an upgraded host (the moves of the rolling upgrade take every VM of an
	 * upgraded host to one); until then it runs the code it attached with.
	 */
	upgradeBundle(name: string, version: string, def?: FilterDef): Promise<ops.UpgradeResult> {
		return this.task('upgrade', `${name} ${version}`, () => ops.upgrade(this, name, version, def));
	}

	/** Removes a bundle from the cluster; refused while any disk uses the filter. */
	uninstallBundle(name: string): Promise<{ message: string }> {
		return this.task('uninstall', name, () => ops.uninstall(this, name));
	}

	enterMaintenance(host: string): Promise<{ message: string; moved: string[]; notes: string[] }> {
		return this.task('maintenance-enter', host, () => ops.enterMaintenance(this, host));
	}

	exitMaintenance(host: string): Promise<{ message: string }> {
		return this.task('maintenance-exit', host, () => ops.exitMaintenance(this, host));
	}

	// ================================================================ policies

	/** Adds or replaces a named storage policy. */
	definePolicy(policy: PolicyInput): PolicyConfig {
		const p = parsePolicy(policy);
		this.policies.set(p.name, p);
		return p;
	}

	/** Applies a storage policy (or a named one) to a disk: attaches and detaches filters. */
	applyPolicy(vm: string, disk: string | undefined, policy: PolicyInput | string): Promise<PolicyChange> {
		return this.task('policy', `${vm}/${disk ?? ''}`, async () => {
			const p = typeof policy === 'string' ? this.policies.get(policy) : parsePolicy(policy);
			if (!p) throw new ClusterError(`no storage policy "${String(policy)}" (policies: ${[...this.policies.keys()].join(', ')})`);
			return applyPolicy(this, this.diskOf(vm, disk), p);
		});
	}

	// ================================================================ control operations

	snapshotCreate(vm: string, name: string, description = ''): Promise<{ message: string }> {
		return this.task('snapshot-create', `${vm} "${name}"`, () => ops.snapshotCreate(this, vm, name, description));
	}

	snapshotRevert(vm: string, name: string): Promise<{ message: string; blocksWritten: number }> {
		return this.task('snapshot-revert', `${vm} "${name}"`, () => ops.snapshotRevert(this, vm, name));
	}

	snapshotDelete(vm: string, name: string): Promise<{ message: string; mergedBlocks: number }> {
		return this.task('snapshot-delete', `${vm} "${name}"`, () => ops.snapshotDelete(this, vm, name));
	}

	/** Grows a disk to `bytes` (refused while the VM has snapshots, as vSphere refuses it). */
	growDisk(vm: string, disk: string | undefined, bytes: number): Promise<{ message: string }> {
		return this.task('disk-grow', `${vm}/${disk ?? ''}`, () => ops.growDisk(this, this.diskOf(vm, disk), bytes));
	}

	powerOn(vm: string): Promise<{ message: string }> {
		return this.task('power-on', vm, () => ops.power(this, vm, 'power-on'));
	}

	powerOff(vm: string): Promise<{ message: string }> {
		return this.task('power-off', vm, () => ops.power(this, vm, 'power-off'));
	}

	suspend(vm: string): Promise<{ message: string }> {
		return this.task('suspend', vm, () => ops.power(this, vm, 'suspend'));
	}

	resume(vm: string): Promise<{ message: string }> {
		return this.task('resume', vm, () => ops.power(this, vm, 'resume'));
	}

	/** Bookmarks a consistency point in the disk's replication journal (for DR failover). */
	bookmark(vm: string, disk: string | undefined, label: string): Promise<{ message: string; point: number }> {
		return this.task('bookmark', `${vm} "${label}"`, () => ops.bookmark(this, this.diskOf(vm, disk), label));
	}

	/** Clones a disk (the VM may be on or off): a new disk with its filters attached, data copied through both chains. */
	clone(vm: string, disk: string | undefined, options: ops.CloneOptions = {}): Promise<ops.CloneResult> {
		return this.task('clone', `${vm}/${disk ?? ''}`, () => ops.clone(this, this.diskOf(vm, disk), options));
	}

	/** vMotion: refused when the target lacks a filter bundle (or has an older version). */
	migrate(vm: string, host: string): Promise<ops.MigrateResult> {
		return this.task('vmotion', `${vm} → ${host}`, () => ops.migrate(this, vm, host));
	}

	/** Where DRS would place a VM (no change). */
	drsRecommend(vm: string, exclude: string[] = []): Placement {
		return recommend(this, vm, exclude);
	}

	/** Moves a VM to the host DRS recommends (if it is not there). */
	drsPlace(vm: string): Promise<{ message: string; host: string }> {
		return this.task('drs-place', vm, () => ops.drsPlace(this, vm));
	}

	/** Evens the powered-on VMs across hosts (each move a vMotion, only to hosts with the VM's filters). */
	drsBalance(): Promise<{ message: string; moves: string[] }> {
		return this.task('drs-balance', 'cluster', () => ops.drsBalance(this));
	}

	// ================================================================ faults

	/**
	 * The host fails: volatile memory is lost (I/O in flight, filters' in-memory state), its SSDs
	 * keep their contents. restart: other-host (HA restarts the VMs where DRS says; host-local
	 * cache contents stay behind and are lost), same-host (the VMs wait `rebootUs` for the host to
	 * come back and find its SSD again), none (they stay down). The report tells the loss exactly.
	 */
	hostCrash(host: string, options: faults.CrashOptions = {}): Promise<faults.CrashReport> {
		return this.task('host-crash', host, () => faults.hostCrash(this, host, options));
	}

	/** A host that was down comes back (with the bundles installed meanwhile); VMs waiting for it restart. */
	hostRecover(host: string): Promise<{ message: string; restarted: faults.DiskLoss[] }> {
		return this.task('host-recover', host, () => faults.hostRecover(this, host));
	}

	/** Restarts a crashed VM (on `host`, or where DRS places it). */
	restartVm(vm: string, host?: string): Promise<{ message: string; disks: faults.DiskLoss[] }> {
		return this.task('vm-restart', vm, () => faults.restartVm(this, vm, host));
	}

	/** Makes an LBA range of a disk's datastore fail I/O (for `durationUs`, or until cleared). */
	datastoreError(
		vm: string,
		disk: string | undefined,
		options: { fromSector?: number; sectors?: number; ops?: FaultOps; durationUs?: number } = {}
	): Promise<{ message: string; fault: DatastoreFault }> {
		return this.task('datastore-error', `${vm}/${disk ?? ''}`, () => faults.datastoreError(this, this.diskOf(vm, disk), options));
	}

	clearDatastoreError(vm: string, disk: string | undefined, id?: number): Promise<{ message: string }> {
		return this.task('datastore-error-clear', `${vm}/${disk ?? ''}`, () => faults.clearDatastoreError(this, this.diskOf(vm, disk), id));
	}

	/** A filter's user world crashes: only its VM's I/O through it fails. */
	filterCrash(vm: string, disk: string | undefined, filter: string): Promise<{ message: string; failedHeld: number }> {
		return this.task('filter-crash', `${vm}/${disk ?? ''} ${filter}`, () => faults.filterCrash(this, this.diskOf(vm, disk), filter));
	}

	/** A crashed filter is started again: it attaches anew from its sidecar. */
	filterRestart(vm: string, disk: string | undefined, filter: string): Promise<{ message: string }> {
		return this.task('filter-restart', `${vm}/${disk ?? ''} ${filter}`, () => faults.filterRestart(this, this.diskOf(vm, disk), filter));
	}

	/** The WAN links of replication (of one disk, or all) go down for `durationUs`. */
	wanOutage(durationUs: number, vm?: string, disk?: string): Promise<{ message: string; links: number }> {
		return this.task('wan-outage', vm ? `${vm}/${disk ?? ''}` : 'all links', () =>
			faults.wanOutage(this, durationUs, vm === undefined ? undefined : this.diskOf(vm, disk))
		);
	}

	/** Fails a disk over to its replica at a consistency point: the VM runs at the DR site from the replica's image. */
	drFailover(vm: string, disk?: string, options: { point?: number | string; host?: string } = {}): Promise<faults.FailoverReport> {
		return this.task('dr-failover', `${vm}/${disk ?? ''}`, () => faults.drFailover(this, this.diskOf(vm, disk), options));
	}

	/** Brings a failed-over disk home: what changed at the DR site is written back through the source chain. */
	drFailback(vm: string, disk?: string): Promise<faults.FailbackReport> {
		return this.task('dr-failback', `${vm}/${disk ?? ''}`, () => faults.drFailback(this, this.diskOf(vm, disk)));
	}

	/** Reads every block the guest wrote through the disk's chain and compares (recovery check). */
	verify(vm: string, disk?: string): Promise<ScanResult & { message: string }> {
		return this.task('verify', `${vm}/${disk ?? ''}`, async () => {
			const d = this.diskOf(vm, disk);
			const r = await verifyDisk(this, d);
			return { ...r, message: `${r.blocks} blocks read, ${r.lostBlocks.length} differ from what the guest acknowledged${r.errors.length ? `, ${r.errors.length} read errors` : ''}` };
		});
	}
}

function timedTarget(op: Operation): string {
	const o = op as Record<string, unknown>;
	const parts = [o.vm, o.disk, o.host, o.name, o.filter, o.label].filter((x) => typeof x === 'string');
	return parts.join(' ') || 'cluster';
}
