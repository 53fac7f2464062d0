/**
 * The cluster as the page sees it and works it, on the Worker's side: `clusterView` turns
 * `sim.cluster` into plain data (hosts with their installed bundles and versions, VMs with their
 * host, power state, snapshots and disks with their policy, where each VM could move), and
 * `runClusterOp` performs one operation the page asked for. A request is written like a scenario's
 * timed operation without its time (`{ op: 'vmotion', vm, host }`), validated by the scenario
 * schema, and run through the cluster's public methods, so it is one task like any other: logged
 * in the run's event log with its effect (or why it was refused) and kept in the history.
 *
 * No DOM, no comlink: the session calls these (and Node tests do).
 */
import * as v from 'valibot';
import { OperationSchema, type Operation, type OperationInput } from '../engine/scenario/schema';
import type { Simulation } from '../engine/simulation';
import { ClusterError, type Bundle, type OperationRecord, type PowerState } from '../engine/cluster/index';
import type { FaultOps } from '../engine/cluster/datastore';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** One operation as the page asks for it: a timed operation without `atUs`, or clearing a datastore fault. */
export type ClusterRequest =
	| DistributiveOmit<OperationInput, 'atUs'>
	| { op: 'datastore-error-clear'; vm: string; disk?: string; id?: number };

export type ClusterOpName = ClusterRequest['op'];

/** What an operation did: its effect, or why it was refused (nothing changed then). */
export interface ClusterOpResult {
	ok: boolean;
	/** Refused by a cluster rule (ClusterError), as opposed to failed (a filter or store error). */
	refused: boolean;
	op: string;
	message: string;
	/** The operation's report (a crash's lost blocks, a failover's point, …) as plain data. */
	detail?: Record<string, unknown>;
	/** Virtual µs when it started and ended. */
	t: number;
	endT: number;
}

export interface DiskView {
	key: string;
	name: string;
	sizeBytes: number;
	host: string;
	/** The storage policy the disk runs and the filters it attaches, in chain order. */
	policy: string;
	filters: { name: string; cls: string; crashed: boolean }[];
	allowCleartextFilters: boolean;
	/** The chain is gone (its host crashed and the VM has not restarted). */
	dead: boolean;
	/** Failed over to a DR copy (key), if so. */
	failedOverTo?: string;
	/** Datastore error ranges in effect. */
	faults: { id: number; fromSector: number; toSector: number; ops: FaultOps; hits: number }[];
	/** Guest I/Os so far (issued by this disk's workload). */
	ios: number;
}

export interface VmView {
	name: string;
	host: string;
	power: PowerState;
	snapshots: { name: string; parent?: string; current: boolean; createdAt: number; blocks: number }[];
	disks: DiskView[];
	/** Every host as a vMotion or restart target: can it take this VM, and why not. */
	targets: { host: string; ok: boolean; reason: string }[];
}

export interface ClusterView {
	hosts: { name: string; state: string; bundles: Bundle[]; vms: string[] }[];
	/** Bundles installed cluster-wide (what a joining host gets). */
	bundles: Bundle[];
	vms: VmView[];
	policies: string[];
	/** The latest operations, oldest first. */
	operations: OperationRecord[];
	/** Virtual µs now. */
	nowUs: number;
}

const MAX_OPERATIONS = 50;

export function clusterView(sim: Simulation): ClusterView {
	const c = sim.cluster;
	const s = c.summary();
	const vms: VmView[] = s.vms.map((vm) => {
		const disks: DiskView[] = c.disksOf(vm.name).map((d) => {
			const cd = c.clusterDisk(d.key);
			return {
				key: d.key,
				name: d.info.name,
				sizeBytes: d.info.sectors * 512,
				host: d.info.host,
				policy: cd.policy.name,
				filters: d.chain.filters.map((f) => ({ name: f.def.name, cls: f.cls, crashed: f.dead && !d.chain.dead })),
				allowCleartextFilters: cd.policy.allowCleartextFilters,
				dead: d.chain.dead,
				...(c.failovers.has(d.key) ? { failedOverTo: c.failovers.get(d.key)!.dr } : {}),
				faults: cd.layer.faults.map((f) => ({ id: f.id, fromSector: f.fromSector, toSector: f.toSector, ops: f.ops, hits: f.hits })),
				ios: d.guest.metrics.ios
			};
		});
		let snapshots: VmView['snapshots'] = [];
		if (disks.length > 0)
			snapshots = c.clusterDisk(disks[0].key).snapshots.list().map((x) => ({
				name: x.name,
				...(x.parent !== undefined ? { parent: x.parent } : {}),
				current: x.current,
				createdAt: x.createdAt,
				blocks: x.blocks
			}));
		let targets: VmView['targets'] = [];
		try {
			targets = c.drsRecommend(vm.name).considered.map((x) => ({ host: x.host, ok: x.ok, reason: x.reason }));
		} catch {
			// a VM whose disks are gone has no requirements to check
		}
		return { name: vm.name, host: vm.host, power: vm.power, snapshots, disks, targets };
	});
	return {
		hosts: s.hosts.map((h) => ({ name: h.name, state: h.state, bundles: h.bundles.map((b) => ({ ...b })), vms: [...h.vms] })),
		bundles: s.bundles.map((b) => ({ ...b })),
		vms,
		policies: [...c.policies.keys()],
		operations: s.operations.slice(-MAX_OPERATIONS).map((o) => ({ ...o })),
		nowUs: sim.sched.now
	};
}

/** Checks a request against the scenario schema's operation table; a problem comes back as text. */
export function parseClusterRequest(req: ClusterRequest): { ok: true; op: Operation } | { ok: false; message: string } {
	const r = v.safeParse(OperationSchema, { ...(req as object), atUs: 0 });
	if (r.success) return { ok: true, op: r.output };
	const issue = r.issues[0];
	const path = issue.path?.map((p) => String(p.key)).join('.') ?? '';
	return { ok: false, message: `${path ? `${path}: ` : ''}${issue.message}` };
}

/**
 * Runs one operation on the simulation's cluster (the clock is driven until it is done). Never
 * throws for a refused or failed operation: the result says so, as the event log does.
 */
export async function runClusterOp(sim: Simulation, req: ClusterRequest): Promise<ClusterOpResult> {
	const t = sim.sched.now;
	const op = typeof (req as { op?: unknown })?.op === 'string' ? (req as { op: string }).op : '?';
	try {
		const r = await dispatch(sim, req);
		const { message, ...rest } = r as { message: string } & Record<string, unknown>;
		return { ok: true, refused: false, op, message, detail: plain(rest), t, endT: sim.sched.now };
	} catch (e) {
		const message = e instanceof Error ? e.message : String(e);
		return { ok: false, refused: e instanceof ClusterError, op, message, t, endT: sim.sched.now };
	}
}

async function dispatch(sim: Simulation, req: ClusterRequest): Promise<{ message: string }> {
	const c = sim.cluster;
	if (req.op === 'datastore-error-clear') return c.clearDatastoreError(req.vm, req.disk, req.id);
	const parsed = parseClusterRequest(req);
	if (!parsed.ok) throw new ClusterError(`${req.op}: ${parsed.message}`);
	const o = parsed.op;
	switch (o.op) {
		case 'snapshot-create':
			return c.snapshotCreate(o.vm, o.name, o.description ?? '');
		case 'snapshot-revert':
			return c.snapshotRevert(o.vm, o.name);
		case 'snapshot-delete':
			return c.snapshotDelete(o.vm, o.name);
		case 'disk-grow':
			return c.growDisk(o.vm, o.disk, o.size);
		case 'power-on':
			return c.powerOn(o.vm);
		case 'power-off':
			return c.powerOff(o.vm);
		case 'suspend':
			return c.suspend(o.vm);
		case 'resume':
			return c.resume(o.vm);
		case 'drs-place':
			return c.drsPlace(o.vm);
		case 'drs-balance':
			return c.drsBalance();
		case 'clone':
			return c.clone(o.vm, o.disk, { targetVm: o.targetVm, targetDisk: o.targetDisk, host: o.host, powerOn: o.powerOn, policy: o.policy, workload: o.workload });
		case 'vmotion':
			return c.migrate(o.vm, o.host);
		case 'policy':
			return c.applyPolicy(o.vm, o.disk, o.policy);
		case 'install':
			return c.installBundle(o.bundle);
		case 'upgrade':
			return c.upgradeBundle(o.name, o.version);
		case 'uninstall':
			return c.uninstallBundle(o.name);
		case 'host-add':
			return c.addHost(o.host, o.bundles);
		case 'maintenance-enter':
			return c.enterMaintenance(o.host);
		case 'maintenance-exit':
			return c.exitMaintenance(o.host);
		case 'host-recover':
			return c.hostRecover(o.host);
		case 'host-crash':
			return c.hostCrash(o.host, { restart: o.restart, rebootUs: o.rebootUs });
		case 'vm-restart':
			return c.restartVm(o.vm, o.host);
		case 'datastore-error':
			return c.datastoreError(o.vm, o.disk, { fromSector: o.fromSector, sectors: o.sectors, ops: o.ops, durationUs: o.durationUs });
		case 'filter-crash':
			return c.filterCrash(o.vm, o.disk, o.filter);
		case 'filter-restart':
			return c.filterRestart(o.vm, o.disk, o.filter);
		case 'wan-outage':
			return c.wanOutage(o.durationUs, o.vm, o.disk);
		case 'bookmark':
			return c.bookmark(o.vm, o.disk, o.label);
		case 'dr-failover':
			return c.drFailover(o.vm, o.disk, { point: o.point, host: o.host });
		case 'dr-failback':
			return c.drFailback(o.vm, o.disk);
		case 'verify': {
			if (o.vm === undefined) {
				const parts: string[] = [];
				for (const d of sim.disks.filter((x) => !x.chain.dead)) parts.push((await c.verify(d.info.vm, d.info.name)).message);
				return { message: parts.join('; ') || 'no disk to verify' };
			}
			return c.verify(o.vm, o.disk);
		}
	}
}

/** A report as structured-cloneable plain data (no Maps, class instances or functions). */
function plain(x: Record<string, unknown>): Record<string, unknown> | undefined {
	if (Object.keys(x).length === 0) return undefined;
	try {
		return JSON.parse(JSON.stringify(x)) as Record<string, unknown>;
	} catch {
		return undefined;
	}
}
