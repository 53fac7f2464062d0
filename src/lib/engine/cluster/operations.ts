/**
 * Control operations, orchestrated as vCenter tasks: each stops the VM's guests (nothing new is
 * issued), lets the chain drain and tells every filter of the disk (FilterChain.control: the
 * filter's chance to flush, bookmark or release deferred I/O) before the operation proceeds,
 * then lets the guests run again if the VM is powered on.
 *
 * - snapshot create / revert / delete: the disk's snapshot tree (snapshots.ts) keeps real data by
 *   copy-on-write at the datastore; filters are told first, so a write-back cache destages before
 *   the snapshot is taken (the datastore then holds the complete image) and drops its contents
 *   before a revert. A revert also brings back the guest's state at the snapshot (memory
 *   included, as a snapshot with memory does). Revert is refused on a disk with dedup, whose
 *   block map does not follow the disk back.
 * - disk grow: the store grows, then filters are told the new size (refused with snapshots).
 * - power on / off / suspend / resume: the guest stops issuing while the VM is off or suspended.
 *   Powering on a VM whose host is down or in maintenance mode lets DRS place it first.
 * - clone: the source is quiesced and told, a new disk is created with its own filters attached
 *   (the source's policy or another), and the data is copied through both chains (offline I/O).
 * - vMotion: refused unless the target host is connected and has every filter bundle at the
 *   version the VM runs or newer. Filters are told (migrate); the disk's host changes; filters
 *   with host-local devices (the cache's SSD, tiering's fast tier) attach anew on the target with
 *   the target host's device. The cache's hot data is NOT moved: the cache destages and drops
 *   its contents on the source host (its onEvent('migrate')) and re-warms on the target from the
 *   guest's reads, as host-local flash caches do without a peer copy.
 * - maintenance mode evacuates a host through DRS; a bundle upgrade goes host by host, each in
 *   maintenance mode, moving its VMs away first.
 */
import { createDevice, type DeviceSpec } from '../devices';
import { FilterChain, FilterInstance, type DiskInfo } from '../chain';
import type { ControlEvent, FilterDef } from '../filter';
import { Guest } from '../guest';
import { FilterRegistrationError } from '../registry';
import * as v from 'valibot';
import { WorkloadSchema, type BundleInput, type DiskConfig, type PolicyConfig, type PolicyInput, type WorkloadInput } from '../scenario/schema';
import { workloadSpec, type DiskRuntime } from '../simulation';
import { ExpectedState } from '../verify';
import { ContentSource } from '../workload/contents';
import { WorkloadStream } from '../workload/generator';
import { hasHostLocalDevices } from './attachments';
import { DatastoreLayer } from './datastore';
import { noHostReason, loads, recommend } from './drs';
import { ClusterError } from './errors';
import { bundleOf, bundleText, compareVersions, missingOn, type Bundle } from './hosts-and-bundles';
import type { Cluster } from './index';
import { copyBlocks } from './offline-io';
import { installFilters, parsePolicy } from './policies';

type Result = { message: string };

function hostOf(c: Cluster, name: string) {
	const h = c.hosts.hosts.get(name);
	if (!h) throw new ClusterError(`no host "${name}" (hosts: ${[...c.hosts.hosts.keys()].join(', ')})`);
	return h;
}

function running(c: Cluster, vm: string): void {
	const rec = c.vm(vm);
	if (rec.power === 'crashed') throw new ClusterError(`VM ${vm} is down (its host crashed): restart it first`);
	if (rec.power === 'failed-over') throw new ClusterError(`VM ${vm} runs at the DR site: fail back first`);
}

/** Tells every filter of the disk (after its in-flight I/O has drained). */
export function deliver(d: DiskRuntime, event: ControlEvent): Promise<void> {
	return d.chain.control(event);
}

/** If the disk replicates, records the guest's state at the consistency point just created. */
function recordPoint(d: DiskRuntime): number | undefined {
	for (const f of d.chain.filters) {
		const st = f.state as { expectedAt?: Map<number, ExpectedState>; lastPointId?: number } | undefined;
		if (f.def.name === 'replication' && st?.expectedAt && typeof st.lastPointId === 'number') {
			st.expectedAt.set(st.lastPointId, d.expected.copy());
			return st.lastPointId;
		}
	}
	return undefined;
}

// ================================================================ hosts and bundles

function resolveBundle(c: Cluster, b: BundleInput): Bundle {
	const def = c.sim.options.registry.get(b.name);
	if (!def) throw new ClusterError(`no filter "${b.name}" is registered (a bundle installs a registered filter type)`);
	c.pinCode(def, b.version ?? def.version, true);
	return { name: b.name, vendor: b.vendor ?? def.vendor, version: b.version ?? def.version };
}

export async function addHost(c: Cluster, name: string, bundles?: BundleInput[]): Promise<Result> {
	if (c.hosts.hosts.has(name)) throw new ClusterError(`host "${name}" is in the cluster already`);
	const h = c.hosts.join(name, bundles?.map((b) => resolveBundle(c, b)));
	return { message: `host ${name} joined with ${h.bundleList().map(bundleText).join(', ') || 'no bundles'}` };
}

function isFilterDef(x: BundleInput | FilterDef): x is FilterDef {
	return typeof (x as FilterDef).onIo === 'function';
}

export async function install(c: Cluster, x: BundleInput | FilterDef): Promise<Result & { hosts: string[] }> {
	const registry = c.sim.options.registry;
	let bundle: Bundle;
	if (isFilterDef(x)) {
		// Checked before anything is registered: a refused install changes nothing.
		const have = c.hosts.bundles.get(x.name);
		if (have && have.version !== x.version)
			throw new ClusterError(`"${x.name}" ${have.version} is installed: upgrade it to ${x.version} instead (host by host, in maintenance mode)`);
		const old = registry.get(x.name);
		if (old && old !== x && c.usersOf(x.name).length > 0)
			throw new ClusterError(`filter "${x.name}" is in use by ${c.usersOf(x.name).join(', ')}: detach it before installing other code under its name`);
		try {
			if (old) registry.replace(x);
			else registry.register(x);
		} catch (e) {
			if (e instanceof FilterRegistrationError) throw new ClusterError(e.message);
			throw e;
		}
		bundle = bundleOf(x);
		c.pinCode(x);
	} else {
		bundle = resolveBundle(c, x);
	}
	let got;
	try {
		got = c.hosts.install(bundle);
	} catch (e) {
		throw new ClusterError(e instanceof Error ? e.message : String(e));
	}
	const down = c.hosts.list().filter((h) => h.state === 'down').map((h) => h.name);
	const hosts = got.map((h) => h.name);
	return {
		hosts,
		message:
			`${bundleText(bundle)} installed cluster-wide` +
			(hosts.length ? ` (on ${hosts.join(', ')})` : ' (every host had it)') +
			(down.length ? `; ${down.join(', ')} down: gets it when it comes back` : '')
	};
}

export async function uninstall(c: Cluster, name: string): Promise<Result> {
	if (!c.hosts.bundles.has(name) && !c.hosts.list().some((h) => h.bundles.has(name)))
		throw new ClusterError(`no bundle "${name}" is installed`);
	const users = c.usersOf(name);
	if (users.length > 0)
		throw new ClusterError(`filter "${name}" is in use by ${users.join(', ')}: change those disks' storage policy to detach it first`);
	const from = c.hosts.uninstall(name);
	return { message: `${name} uninstalled from ${from.map((h) => h.name).join(', ') || 'no host'}` };
}

export async function enterMaintenance(c: Cluster, host: string): Promise<Result & { moved: string[]; notes: string[] }> {
	const h = hostOf(c, host);
	if (h.state !== 'connected') throw new ClusterError(`host ${host} is ${h.state === 'down' ? 'down' : 'in maintenance mode already'}`);
	const moved: string[] = [];
	const notes: string[] = [];
	for (const vm of [...c.vms.values()]) {
		if (vm.host !== host || vm.power === 'crashed' || vm.power === 'failed-over') continue;
		const p = recommend(c, vm.name, [host]);
		if (!p.host) throw new ClusterError(`host ${host} cannot enter maintenance mode: ${noHostReason(p)}`);
		for (const n of await moveVm(c, vm.name, p.host)) notes.push(`${vm.name}/${n}`);
		moved.push(`${vm.name} → ${p.host}`);
	}
	h.state = 'maintenance';
	return { moved, notes, message: `host ${host} in maintenance mode${moved.length ? `; moved ${moved.join(', ')}` : '; no VMs to move'}` };
}

export async function exitMaintenance(c: Cluster, host: string): Promise<Result> {
	const h = hostOf(c, host);
	if (h.state !== 'maintenance') throw new ClusterError(`host ${host} is not in maintenance mode`);
	h.state = 'connected';
	return { message: `host ${host} left maintenance mode` };
}

export interface UpgradeResult extends Result {
	/** What happened on each host, in order. */
	steps: string[];
	moved: string[];
	/** The new version runs other code than the old one (a custom filter's new version). */
	newCode: boolean;
}

export async function upgrade(c: Cluster, name: string, version: string, def?: FilterDef): Promise<UpgradeResult> {
	const cur = c.hosts.bundles.get(name);
	if (!cur) throw new ClusterError(`bundle "${name}" is not installed cluster-wide: install it`);
	if (compareVersions(version, cur.version) <= 0) throw new ClusterError(`"${name}" ${version} is not newer than the installed ${cur.version}`);
	const registry = c.sim.options.registry;
	if (def) {
		if (def.name !== name) throw new ClusterError(`the code given defines filter "${def.name}", not "${name}"`);
		if (def.version !== version) throw new ClusterError(`the code given is ${name} ${def.version}, not ${version}`);
	}
	// New code for the new version: given, or registered already (a custom filter's new version).
	const next = def ?? registry.get(name);
	const newCode = next !== undefined && next.version === version && next !== c.codeFor(name, cur.version);
	if (newCode) {
		// The versions hosts run now keep their code for the disks that still run it.
		for (const v of new Set([cur.version, ...c.hosts.list().map((h) => h.bundles.get(name)?.version)]))
			if (v !== undefined) c.pinCode(c.codeFor(name, v)!, v, true);
		if (def && registry.get(name) !== def) {
			try {
				registry.replace(def);
			} catch (e) {
				if (e instanceof FilterRegistrationError) throw new ClusterError(e.message);
				throw e;
			}
		}
		c.pinCode(next, version);
	}
	const steps: string[] = [];
	const moved: string[] = [];
	const switched: string[] = [];
	for (const h of c.hosts.list()) {
		if (h.state === 'down') {
			steps.push(`${h.name}: down, gets ${version} when it comes back`);
			continue;
		}
		const hb = h.bundles.get(name);
		if (hb && compareVersions(hb.version, version) >= 0) continue;
		const was = h.state;
		if (was === 'connected') {
			const r = await enterMaintenance(c, h.name);
			moved.push(...r.moved);
			if (newCode) switched.push(...r.notes.filter((n) => n.includes(`${name} ${version} attached anew`)));
		}
		h.bundles.set(name, { ...cur, version });
		if (was === 'connected') h.state = 'connected';
		steps.push(`${h.name}: ${hb ? `${hb.version} → ${version}` : `${version} installed`}${was === 'connected' ? ' in maintenance mode' : ''}`);
	}
	c.hosts.bundles.set(name, { ...cur, version });
	return {
		steps,
		moved,
		newCode,
		message:
			`${name} upgraded to ${version}${newCode ? ' (new code)' : ''}: ${steps.join('; ')}` +
			(moved.length ? `; VMs moved: ${moved.join(', ')}` : '') +
			(newCode ? `; new code: ${switched.length ? switched.join(', ') : 'no disk uses it yet'}` : '')
	};
}

// ================================================================ snapshots

export async function snapshotCreate(c: Cluster, vm: string, name: string, description: string): Promise<Result> {
	running(c, vm);
	if (c.snapshotNames(vm).includes(name)) throw new ClusterError(`VM ${vm} has a snapshot "${name}" already`);
	const notes: string[] = [];
	await c.paused(vm, async () => {
		for (const d of c.disksOf(vm)) {
			const dirty = statusNumber(d, 'dirtyBlocks');
			await deliver(d, { type: 'snapshot-create', snapshot: name });
			const point = recordPoint(d);
			const cd = c.clusterDisk(d.key);
			cd.snapshots.create(name, c.sim.sched.now, d.expected, description);
			// Timing-only runs move no bytes: there is nothing to copy on write.
			if (!c.sim.scenario.run.timingOnly) cd.layer.cow = cd.snapshots;
			cd.ledgers.set(name, cd.ledger.copy());
			notes.push(
				`${d.info.name}: copy-on-write from now` +
					(dirty ? ` (the cache destaged ${dirty} dirty blocks first)` : '') +
					(point !== undefined ? `, replication point #${point}` : '')
			);
		}
	});
	return { message: `snapshot "${name}" of ${vm}; ${notes.join('; ')}` };
}

export async function snapshotRevert(c: Cluster, vm: string, name: string): Promise<Result & { blocksWritten: number }> {
	running(c, vm);
	if (!c.snapshotNames(vm).includes(name)) throw new ClusterError(`VM ${vm} has no snapshot "${name}" (snapshots: ${c.snapshotNames(vm).join(', ') || 'none'})`);
	for (const d of c.disksOf(vm))
		if (d.chain.filters.some((f) => f.def.name === 'dedup'))
			throw new ClusterError(`${d.key} runs dedup, whose block map does not follow the disk back to a snapshot: revert is not supported with it`);
	let blocks = 0;
	await c.paused(vm, async () => {
		for (const d of c.disksOf(vm)) {
			await deliver(d, { type: 'snapshot-revert', snapshot: name });
			const cd = c.clusterDisk(d.key);
			const r = await cd.snapshots.revert(name);
			d.expected.assign(r.expected);
			const ledger = cd.ledgers.get(name);
			if (ledger) cd.ledger.assign(ledger);
			blocks += r.blocksWritten;
		}
	});
	return { blocksWritten: blocks, message: `${vm} reverted to "${name}": ${blocks} blocks restored; the state since is discarded` };
}

export async function snapshotDelete(c: Cluster, vm: string, name: string): Promise<Result & { mergedBlocks: number }> {
	running(c, vm);
	if (!c.snapshotNames(vm).includes(name)) throw new ClusterError(`VM ${vm} has no snapshot "${name}" (snapshots: ${c.snapshotNames(vm).join(', ') || 'none'})`);
	let merged = 0;
	let consolidated = false;
	await c.paused(vm, async () => {
		for (const d of c.disksOf(vm)) {
			await deliver(d, { type: 'snapshot-delete', snapshot: name });
			const cd = c.clusterDisk(d.key);
			const r = await cd.snapshots.delete(name);
			cd.ledgers.delete(name);
			merged += r.mergedBlocks;
			if (r.consolidated) {
				cd.layer.cow = undefined;
				consolidated = true;
			}
		}
	});
	return {
		mergedBlocks: merged,
		message: `snapshot "${name}" of ${vm} deleted: ${merged} blocks merged${consolidated ? '; no snapshot left, copy-on-write stops' : ''}`
	};
}

// ================================================================ disk grow, power, bookmark

export async function growDisk(c: Cluster, d: DiskRuntime, bytes: number): Promise<Result> {
	running(c, d.info.vm);
	if (!Number.isSafeInteger(bytes) || bytes % 512 !== 0) throw new ClusterError(`a disk size must be a multiple of 512 bytes (got ${bytes})`);
	const sectors = bytes / 512;
	if (sectors <= d.info.sectors) throw new ClusterError(`${d.key} has ${d.info.sectors * 512} bytes: a disk only grows`);
	const snaps = c.snapshotNames(d.info.vm);
	if (snaps.length) throw new ClusterError(`VM ${d.info.vm} has snapshots (${snaps.join(', ')}): a disk with snapshots cannot grow`);
	const before = d.info.sectors;
	await c.paused(d.info.vm, async () => {
		await d.chain.drain();
		await c.clusterDisk(d.key).layer.resize(sectors);
		d.info.sectors = sectors;
		await deliver(d, { type: 'disk-grow', sectors });
	});
	return { message: `${d.key} grew from ${before * 512} to ${bytes} bytes; filters told` };
}

export type PowerOp = 'power-on' | 'power-off' | 'suspend' | 'resume';

export async function power(c: Cluster, vm: string, op: PowerOp): Promise<Result> {
	running(c, vm);
	const rec = c.vm(vm);
	const from = rec.power;
	const want: Record<PowerOp, [string[], 'on' | 'off' | 'suspended']> = {
		'power-on': [['off'], 'on'],
		'power-off': [['on', 'suspended'], 'off'],
		suspend: [['on'], 'suspended'],
		resume: [['suspended'], 'on']
	};
	const [allowed, to] = want[op];
	if (!allowed.includes(from)) throw new ClusterError(`VM ${vm} is ${from === 'suspended' ? 'suspended' : `powered ${from}`}: cannot ${op}`);
	let placed = '';
	if (op === 'power-on' || op === 'resume') {
		const h = hostOf(c, rec.host);
		const missing = h.state === 'connected' ? missingOn(h, c.requirements(vm)) : `host ${h.name} is ${h.state}`;
		if (missing) {
			const p = recommend(c, vm, [rec.host]);
			if (!p.host) throw new ClusterError(`cannot ${op} ${vm}: ${missing}, and ${noHostReason(p)}`);
			placed = `; DRS placed it on ${p.host} (${missing})`;
			await moveVm(c, vm, p.host);
		}
	}
	await c.paused(vm, async () => {
		for (const d of c.disksOf(vm)) await deliver(d, { type: op });
		rec.power = to;
	});
	const what = { 'power-on': 'powered on', 'power-off': 'powered off', suspend: 'suspended', resume: 'resumed' }[op];
	return { message: `${vm} ${what} on ${rec.host}${placed}${to === 'on' ? '' : '; its guest issues no I/O'}` };
}

export async function bookmark(c: Cluster, d: DiskRuntime, label: string): Promise<Result & { point: number }> {
	running(c, d.info.vm);
	let point: number | undefined;
	await c.paused(d.info.vm, async () => {
		await deliver(d, { type: 'bookmark', label });
		point = recordPoint(d);
	});
	if (point === undefined) return { point: -1, message: `bookmark "${label}" on ${d.key} (no replication filter records it)` };
	return { point, message: `bookmark "${label}" on ${d.key}: replication consistency point #${point}` };
}

// ================================================================ clone

export interface CloneOptions {
	/** The clone's VM: an existing VM gets the disk, a new one is created (default "<vm>-clone"). */
	targetVm?: string;
	/** Default: the source disk's name. */
	targetDisk?: string;
	/** Host of a new VM (default: the source's host). */
	host?: string;
	/** Power the new VM on (default: off). */
	powerOn?: boolean;
	/** The clone's storage policy (default: the source's). */
	policy?: PolicyInput | string;
	/** A workload for the clone's guest (as a scenario writes it). */
	workload?: v.InferInput<typeof WorkloadSchema>[];
}

export interface CloneResult extends Result {
	key: string;
	copiedBlocks: number;
}

/** @internal Creates a disk (a clone, a DR copy) with its filters attached and a stopped guest. */
export async function createDisk(
	c: Cluster,
	spec: { vm: string; name: string; host: string; sectors: number; datastore: DiskConfig['datastore']; policy: PolicyConfig; workload: WorkloadInput[]; env: FilterChain['env'] }
): Promise<DiskRuntime> {
	const sim = c.sim;
	const key = `${spec.vm}/${spec.name}`;
	if (sim.disks.some((d) => d.key === key)) throw new ClusterError(`disk ${key} exists already`);
	const info: DiskInfo = { index: sim.disks.length, name: spec.name, vm: spec.vm, host: spec.host, sectors: spec.sectors };
	const prng = c.prngFor(key);
	const device = createDevice({ kind: spec.datastore.kind, ...spec.datastore.params } as DeviceSpec, prng.fork(1));
	const raw = await sim.stores.openBlockStore(`disk.${key}`, spec.sectors);
	const chain = new FilterChain(spec.env, info, device, new DatastoreLayer(raw));
	let ordered;
	try {
		const list = await c.attachmentsOn(`${key}.policy`, key, { size: spec.sectors * 512, policy: spec.policy }, prng.fork(2), spec.host);
		ordered = FilterChain.order(list, (a) => a.cls, spec.policy.allowCleartextFilters);
	} catch (e) {
		throw new ClusterError(e instanceof Error ? e.message : String(e));
	}
	await installFilters(chain, ordered, spec.host, c);
	const expected = new ExpectedState();
	const guest = new Guest(sim.sched, chain, expected, () => sim.nextIoId(), sim.scenario.run.timingOnly);
	guest.running = false;
	const contents = new ContentSource(prng.fork(3));
	const wprng = prng.fork(4);
	spec.workload.forEach((w, k) => {
		const ws = workloadSpec(w);
		guest.addStream(new WorkloadStream(ws, spec.sectors, wprng.fork(k), contents, k), ws.iodepth, ws.thinktimeUs, w.name);
	});
	const config: DiskConfig = { name: spec.name, size: spec.sectors * 512, datastore: spec.datastore, policy: spec.policy, workload: spec.workload };
	const rt: DiskRuntime = { info, key, config, chain, guest, store: raw, expected };
	sim.disks.push(rt);
	c.register(rt, spec.policy);
	return rt;
}

export async function clone(c: Cluster, d: DiskRuntime, o: CloneOptions): Promise<CloneResult> {
	running(c, d.info.vm);
	const src = c.vm(d.info.vm);
	const targetVm = o.targetVm ?? `${src.name}-clone`;
	const existing = c.vms.get(targetVm);
	const host = existing ? existing.host : (o.host ?? src.host);
	const h = hostOf(c, host);
	if (!existing && h.state !== 'connected') throw new ClusterError(`host ${host} is ${h.state}: the clone cannot be placed there`);
	let policy = c.clusterDisk(d.key).policy;
	if (o.policy !== undefined) {
		const p = typeof o.policy === 'string' ? c.policies.get(o.policy) : parsePolicy(o.policy);
		if (!p) throw new ClusterError(`no storage policy "${String(o.policy)}"`);
		policy = p;
	}
	const missing = missingOn(h, new Map(policy.filters.map((f) => [f.type, '0'] as const)));
	if (missing) throw new ClusterError(`the clone's policy "${policy.name}" cannot run there: ${missing}`);
	const name = o.targetDisk ?? d.info.name;
	let clone!: DiskRuntime;
	let copied = 0;
	await c.paused(d.info.vm, async () => {
		await deliver(d, { type: 'clone', target: `${targetVm}/${name}` });
		clone = await createDisk(c, {
			vm: targetVm,
			name,
			host,
			sectors: d.info.sectors,
			datastore: d.config.datastore,
			policy,
			workload: (o.workload ?? []).map((w, i) => {
				const r = v.safeParse(WorkloadSchema, w);
				if (!r.success) throw new ClusterError(`the clone's workload[${i}]: ${r.issues[0].message}`);
				return r.output;
			}),
			env: d.chain.env
		});
		if (!existing) c.vms.set(targetVm, { name: targetVm, host, power: 'off' });
		if (!c.sim.scenario.run.timingOnly) {
			const r = await copyBlocks(c.sim, d.chain, clone.chain, d.expected.blockList());
			if (r.errors.length) throw new ClusterError(`copying ${d.key} to ${clone.key} failed: ${r.errors[0].message}`);
			copied = r.copied;
		}
		clone.expected.assign(d.expected);
		c.clusterDisk(clone.key).ledger.assign(c.clusterDisk(d.key).ledger);
	});
	if (o.powerOn && !existing) await power(c, targetVm, 'power-on');
	else if (existing && existing.power === 'on') c.resumeGuests(targetVm);
	return {
		key: clone.key,
		copiedBlocks: copied,
		message: `${d.key} cloned to ${clone.key} on ${host} (policy "${policy.name}": ${clone.chain.filters.map((f) => f.def.name).join(' → ') || 'no filters'}); ${copied} blocks copied through both chains`
	};
}

// ================================================================ vMotion and DRS

export interface MigrateResult extends Result {
	from: string;
	to: string;
}

function statusNumber(d: DiskRuntime, key: string): number {
	let n = 0;
	for (const f of d.chain.filters) {
		const v = f.status()[key];
		if (typeof v === 'number') n += v;
	}
	return n;
}

/**
 * The filters of a disk that must attach anew on `host`: those with host-local devices (with that
 * host's devices; their sidecars, which describe the old host's devices, are emptied first), and
 * those whose bundle version on `host` runs other code than the instance (a custom filter's new
 * version after an upgrade: it attaches from the same sidecar). Returns what attached anew: a
 * filter's name, with the version for new code ("my-filter 1.1.0").
 */
export async function rehostFilters(c: Cluster, d: DiskRuntime, host: string): Promise<string[]> {
	const cd = c.clusterDisk(d.key);
	const list = await c.attachmentsOn(`${d.key}.policy`, d.key, { size: d.info.sectors * 512, policy: cd.policy }, c.prngFor(d.key), host);
	const chosen = new Map<number, (typeof list)[number]>();
	const newCode = new Set<number>();
	d.chain.filters.forEach((inst, i) => {
		const a = list.find((x) => x.def.name === inst.def.name && x.cls === inst.cls);
		if (!a) return;
		if (a.def !== inst.def) newCode.add(i);
		if (a.def !== inst.def || hasHostLocalDevices(a.def, a)) chosen.set(i, a);
	});
	if (chosen.size === 0) return [];
	await c.resources.wipeForeignSidecars([...chosen.values()], host);
	const names: string[] = [];
	for (let i = d.chain.filters.length - 1; i >= 0; i--) {
		const a = chosen.get(i);
		if (!a) continue;
		d.chain.filters[i].dead = true;
		const inst = new FilterInstance(d.chain, i, a);
		d.chain.filters[i] = inst;
		inst.state = await a.def.attach(inst);
		c.resources.attachedOn(a.sidecar, host);
		names.push(newCode.has(i) ? `${a.def.name} ${a.def.version}` : a.def.name);
	}
	return names;
}

/** @internal Moves a VM (running: vMotion; off: a cold migration) without the checks. */
export async function moveVm(c: Cluster, vm: string, to: string): Promise<string[]> {
	const rec = c.vm(vm);
	const from = rec.host;
	const notes: string[] = [];
	await c.paused(vm, async () => {
		for (const d of c.disksOf(vm)) {
			const hot = statusNumber(d, 'occupancyBlocks');
			const dirty = statusNumber(d, 'dirtyBlocks');
			await deliver(d, { type: 'migrate', toHost: to });
			d.info.host = to;
			const rehosted = await rehostFilters(c, d, to);
			if (rehosted.length)
				notes.push(
					`${d.info.name}: ${rehosted.join(', ')} attached anew on ${to}` +
						(rehosted.includes('cache') ? ` (cache: ${hot} blocks dropped on ${from}${dirty ? `, ${dirty} dirty destaged first` : ''}; re-warms on ${to})` : '')
				);
		}
		rec.host = to;
	});
	return notes;
}

export async function migrate(c: Cluster, vm: string, to: string): Promise<MigrateResult> {
	running(c, vm);
	const rec = c.vm(vm);
	const h = hostOf(c, to);
	if (rec.host === to) throw new ClusterError(`VM ${vm} is on ${to} already`);
	if (h.state !== 'connected') throw new ClusterError(`vMotion of ${vm} to ${to} refused: host ${to} is ${h.state === 'down' ? 'down' : 'in maintenance mode'}`);
	const missing = missingOn(h, c.requirements(vm));
	if (missing) throw new ClusterError(`vMotion of ${vm} to ${to} refused: ${missing}`);
	const from = rec.host;
	const notes = await moveVm(c, vm, to);
	return { from, to, message: `${vm} ${rec.power === 'on' ? 'vMotioned' : 'migrated'} ${from} → ${to}${notes.length ? `; ${notes.join('; ')}` : ''}` };
}

export async function drsPlace(c: Cluster, vm: string): Promise<Result & { host: string }> {
	running(c, vm);
	const rec = c.vm(vm);
	const p = recommend(c, vm);
	if (!p.host) throw new ClusterError(noHostReason(p));
	if (p.host === rec.host) return { host: p.host, message: `${vm} stays on ${p.host}` };
	const from = rec.host;
	await moveVm(c, vm, p.host);
	return { host: p.host, message: `DRS moved ${vm} ${from} → ${p.host}` };
}

export async function drsBalance(c: Cluster): Promise<Result & { moves: string[] }> {
	const moves: string[] = [];
	for (let round = 0; round < 64; round++) {
		const load = loads(c);
		const up = c.hosts.list().filter((h) => h.state === 'connected');
		if (up.length < 2) break;
		const busiest = up.reduce((a, b) => ((load.get(b.name) ?? 0) > (load.get(a.name) ?? 0) ? b : a));
		const targets = up.filter((h) => h !== busiest).sort((a, b) => (load.get(a.name) ?? 0) - (load.get(b.name) ?? 0));
		let moved = false;
		for (const t of targets) {
			if ((load.get(busiest.name) ?? 0) - (load.get(t.name) ?? 0) <= 1) break;
			const vm = [...c.vms.values()].find((v) => v.host === busiest.name && v.power === 'on' && !missingOn(t, c.requirements(v.name)));
			if (!vm) continue;
			await moveVm(c, vm.name, t.name);
			moves.push(`${vm.name} ${busiest.name} → ${t.name}`);
			moved = true;
			break;
		}
		if (!moved) break;
	}
	return { moves, message: moves.length ? `DRS moved ${moves.join(', ')}` : 'DRS: the cluster is balanced (or no VM can move to a host with its filters)' };
}
