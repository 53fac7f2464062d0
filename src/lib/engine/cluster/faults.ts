/**
 * Faults.
 *
 * Host crash. The host's volatile memory is gone: every chain of its VMs is killed at once
 * (FilterChain.abort: whatever its I/Os and filters' timers had scheduled never happens, so
 * nothing more lands on any store), the guest I/O in flight was never acknowledged (its sectors
 * become unknown, counted as lost in flight, not as errors the guest saw: the guest died too), and
 * every filter's in-memory state is lost. Stores keep their bytes: the datastore, the sidecars
 * and the host's SSDs. The VMs then restart
 * - on another host (vSphere HA, placed by DRS among hosts with the VMs' filters): each filter
 *   attaches anew from its sidecar with the new host's devices. The crashed host's SSD is not
 *   reachable there, so a write-back cache's dirty blocks that were not destaged are lost (a
 *   filter with host-local devices starts cold: its sidecar described the crashed host), unless
 *   the cache protects them with copies on peer hosts' flash (its `writeBackPeers` parameter, as
 *   PernixData FVP does; filters/cache/peer.ts): then the cache attaching on the new host reads
 *   them back from a peer and destages them before the VM runs, and nothing acknowledged is lost;
 * - on the same host once it has rebooted (`rebootUs`): the SSD is back with its contents and the
 *   cache's sidecar, so the cache comes back warm with its dirty blocks and destages them;
 * - or not at all (they wait for hostRecover or restartVm).
 * The loss is reported exactly: at the crash, the blocks the write-back cache held dirty that the
 * datastore did not have yet (read from the cache's sidecar map and compared with the datastore);
 * after the restart, a recovery scan reads every block the guest had written through the new
 * chain and compares it with what the guest had acknowledged, naming the blocks that came back
 * without their last acknowledged write and those writes (WriteLedger). Those blocks are then no
 * longer verified (the loss is known; the run's verification counts only what happens after).
 *
 * Datastore errors: an LBA range of a disk's datastore fails I/O at the device (datastore.ts).
 * Filter crash: the filter's user world dies (FilterInstance.crash): I/O through it fails for its
 * disk only, other disks and VMs are untouched; a restart attaches it anew from its sidecar.
 * WAN outage: the replication links go down for a while (link.up = false).
 * DR: failover brings the replica up at a consistency point as a disk at the DR site (the
 * replication filter's testFailover builds the image and checks it); the VM's workload continues
 * there; failback writes the DR disk back through the source chain and the VM comes home.
 */
import { FilterChain, FilterInstance } from '../chain';
import { SECTOR_BYTES, SECTORS_PER_BLOCK } from '../io';
import type { DiskRuntime } from '../simulation';
import { getJson } from '../storage/sidecar-json';
import { UNKNOWN_CONTENT, type ExpectedState } from '../verify';
import { CHUNK_SLOTS, KEY_META, chunkKey } from '../../filters/cache';
import { existingPeerCopy } from '../../filters/cache/peer';
import { expiredPoint, listPoints, testFailover, type PointInfo } from '../../filters/replication';
import type { FaultOps, DatastoreFault } from './datastore';
import { noHostReason, recommend } from './drs';
import { ClusterError } from './errors';
import type { Cluster } from './index';
import { copyBlocks, scanDisk } from './offline-io';
import { createDisk, deliver } from './operations';
import { installFilters } from './policies';

type Result = { message: string };

export interface CrashOptions {
	/** other-host (default): HA restarts the VMs elsewhere; same-host: after `rebootUs`; none: they stay down. */
	restart?: 'other-host' | 'same-host' | 'none';
	/** How long the host takes to come back (same-host), µs. Default 5 s. */
	rebootUs?: number;
}

/** What a restart found on one disk. */
export interface DiskLoss {
	key: string;
	/** Where the VM restarted. */
	host: string;
	/** Blocks read back and compared. */
	checkedBlocks: number;
	/** Blocks that came back without their last acknowledged write. */
	lostBlocks: number[];
	/** The acknowledged writes whose data is gone (ids of the last write of each lost block). */
	lostWriteIds: number[];
	/** Filters whose sidecar was emptied because it described the crashed host's devices. */
	startedCold: string[];
	readErrors: number;
}

export interface CrashedDisk {
	key: string;
	/** Guest I/Os in flight at the crash (never acknowledged; their sectors are unknown now). */
	inFlightLost: number;
	/**
	 * Blocks a write-back cache held dirty, acknowledged, and not yet on the datastore: what a
	 * restart on another host loses. Read from the cache's sidecar map and checked against the
	 * datastore's bytes.
	 */
	undestaged: number[];
	/** The comparison with the datastore is exact (no filter below the cache changes the bytes). */
	undestagedExact: boolean;
	/** Of those, the blocks a peer host holds a copy of (write-back protection): recovered at the restart. */
	peerProtected: number[];
}

export interface CrashReport extends Result {
	host: string;
	restart: NonNullable<CrashOptions['restart']>;
	disks: CrashedDisk[];
	recovered: DiskLoss[];
	/** VMs left down (and why). */
	down: string[];
}

function hostOf(c: Cluster, name: string) {
	const h = c.hosts.hosts.get(name);
	if (!h) throw new ClusterError(`no host "${name}" (hosts: ${[...c.hosts.hosts.keys()].join(', ')})`);
	return h;
}

function sleep(c: Cluster, us: number): Promise<void> {
	return new Promise((resolve) => c.sim.sched.after(us, resolve));
}

function blockKnown(d: DiskRuntime, b: number): boolean {
	for (let s = b * SECTORS_PER_BLOCK; s < Math.min((b + 1) * SECTORS_PER_BLOCK, d.info.sectors); s++)
		if (d.expected.contentOf(s) !== UNKNOWN_CONTENT) return true;
	return false;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
	if (a.length !== b.length) return false;
	for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
	return true;
}

/**
 * The blocks a (crashed) cache held dirty whose bytes the datastore does not have: the cache's
 * sidecar map lists its dirty blocks (a write-back write is acknowledged only after its dirty
 * record is committed), and those whose SSD copy equals the datastore's were destaged already.
 */
export async function undestagedBlocks(c: Cluster, d: DiskRuntime): Promise<{ blocks: number[]; exact: boolean }> {
	const i = d.chain.filters.findIndex((f) => f.def.name === 'cache');
	if (i < 0) return { blocks: [], exact: true };
	const inst = d.chain.filters[i];
	const meta = await getJson<{ capacityBlocks: number; chunkSlots: number }>(inst.sidecar, KEY_META);
	if (!meta || meta.chunkSlots !== CHUNK_SLOTS) return { blocks: [], exact: true };
	const ssd = inst.device('ssd').store;
	if (!ssd) return { blocks: [], exact: false };
	const raw = c.clusterDisk(d.key).layer.inner;
	const exact = i === d.chain.filters.length - 1;
	const out: number[] = [];
	for (let k = 0; k * CHUNK_SLOTS < meta.capacityBlocks; k++) {
		const bytes = await inst.sidecar.get(chunkKey(k));
		if (!bytes) continue;
		const copy = bytes.slice();
		const f = new Float64Array(copy.buffer, 0, Math.floor(copy.length / 8));
		for (let j = 0; j < f.length; j++) {
			const v = f[j];
			if (!(v < -1)) continue;
			const block = -v - 2;
			const slot = k * CHUNK_SLOTS + j;
			const n = Math.min(SECTORS_PER_BLOCK, d.info.sectors - block * SECTORS_PER_BLOCK);
			if (n <= 0 || !blockKnown(d, block)) continue;
			const a = new Uint8Array(n * SECTOR_BYTES);
			const b = new Uint8Array(n * SECTOR_BYTES);
			await ssd.read(slot * SECTORS_PER_BLOCK, a);
			await raw.read(block * SECTORS_PER_BLOCK, b);
			if (!exact || !sameBytes(a, b)) out.push(block);
		}
	}
	return { blocks: out.sort((x, y) => x - y), exact };
}

/** Which of `blocks` a write-back cache on the disk has copied to its peers (writeBackPeers). */
function peerHeld(d: DiskRuntime, blocks: number[]): number[] {
	const inst = d.chain.filters.find((f) => f.def.name === 'cache');
	if (!inst || !((inst.params.writeBackPeers as number | undefined) ?? 0)) return [];
	let copy;
	try {
		copy = existingPeerCopy(inst.device('peer'));
	} catch {
		return [];
	}
	return copy ? blocks.filter((b) => copy.get(b) !== undefined) : [];
}

/** @internal A new chain for a disk on `host`: every filter attaches anew from its sidecar. */
export async function rebuildChain(c: Cluster, d: DiskRuntime, host: string): Promise<string[]> {
	const cd = c.clusterDisk(d.key);
	const old = d.chain;
	if (!old.dead) old.abort({ code: 'ECANCELED', message: 'chain replaced', source: 'framework' });
	d.info.host = host;
	const list = await c.attachmentsOn(`${d.key}.policy`, d.key, { size: d.info.sectors * 512, policy: cd.policy }, c.prngFor(d.key), host);
	const cold = await c.resources.wipeForeignSidecars(list, host);
	const chain = new FilterChain(old.env, d.info, old.device, old.store);
	await installFilters(chain, FilterChain.order(list, (a) => a.cls, cd.policy.allowCleartextFilters), host, c);
	d.chain = chain;
	d.guest.chain = chain;
	return cold;
}

/** @internal Restarts a crashed VM on `host` and checks each disk for what was lost. */
export async function restartOn(c: Cluster, vmName: string, host: string): Promise<DiskLoss[]> {
	const vm = c.vm(vmName);
	vm.host = host;
	const losses: DiskLoss[] = [];
	for (const d of c.disksOf(vmName)) {
		const cold = await rebuildChain(c, d, host);
		const loss: DiskLoss = { key: d.key, host, checkedBlocks: 0, lostBlocks: [], lostWriteIds: [], startedCold: cold, readErrors: 0 };
		if (!c.sim.scenario.run.timingOnly) {
			const scan = await scanDisk(c.sim, d.chain, d.expected);
			loss.checkedBlocks = scan.blocks;
			loss.lostBlocks = scan.lostBlocks;
			loss.readErrors = scan.errors.length;
			loss.lostWriteIds = c.clusterDisk(d.key).ledger.writesOf(scan.lostBlocks);
			for (const b of scan.lostBlocks)
				d.expected.recordFill(b * SECTORS_PER_BLOCK, Math.min(SECTORS_PER_BLOCK, d.info.sectors - b * SECTORS_PER_BLOCK), UNKNOWN_CONTENT);
		}
		losses.push(loss);
	}
	const before = vm.powerBeforeCrash ?? 'off';
	vm.power = before === 'on' ? 'on' : before === 'suspended' ? 'suspended' : 'off';
	vm.powerBeforeCrash = undefined;
	if (vm.power === 'on') {
		for (const d of c.disksOf(vmName)) await deliver(d, { type: 'power-on' });
		c.resumeGuests(vmName);
	}
	return losses;
}

function lossText(l: DiskLoss): string {
	return (
		`${l.key} on ${l.host}: ${l.lostBlocks.length} of ${l.checkedBlocks} blocks lost` +
		(l.lostBlocks.length ? ` (${l.lostWriteIds.length} acknowledged writes; blocks ${preview(l.lostBlocks)})` : '') +
		(l.startedCold.length ? `; started cold: ${l.startedCold.join(', ')}` : '')
	);
}

function preview(xs: number[]): string {
	return xs.length <= 8 ? xs.join(', ') : `${xs.slice(0, 8).join(', ')}, … ${xs.length - 8} more`;
}

export async function hostCrash(c: Cluster, host: string, o: CrashOptions): Promise<CrashReport> {
	const h = hostOf(c, host);
	if (h.state === 'down') throw new ClusterError(`host ${host} is down already`);
	const restart = o.restart ?? 'other-host';
	h.state = 'down';
	const vms = [...c.vms.values()].filter((v) => v.host === host && v.power !== 'crashed' && v.power !== 'failed-over');
	const disks: CrashedDisk[] = [];
	for (const vm of vms) {
		vm.powerBeforeCrash = vm.power;
		vm.power = 'crashed';
		for (const d of c.disksOf(vm.name)) {
			d.guest.running = false;
			d.guest.crashing = true;
			let lost: number;
			try {
				lost = d.chain.abort({ code: 'EIO', message: `host ${host} crashed`, source: 'host' });
			} finally {
				d.guest.crashing = false;
			}
			const u = c.sim.scenario.run.timingOnly ? { blocks: [], exact: true } : await undestagedBlocks(c, d);
			disks.push({ key: d.key, inFlightLost: lost, undestaged: u.blocks, undestagedExact: u.exact, peerProtected: peerHeld(d, u.blocks) });
		}
	}
	const recovered: DiskLoss[] = [];
	const down: string[] = [];
	if (restart === 'other-host') {
		for (const vm of vms) {
			const p = recommend(c, vm.name, [host]);
			if (p.host) recovered.push(...(await restartOn(c, vm.name, p.host)));
			else down.push(`${vm.name}: ${noHostReason(p)}`);
		}
	} else if (restart === 'same-host') {
		await sleep(c, o.rebootUs ?? 5_000_000);
		h.state = 'connected';
		c.hosts.catchUp(h);
		for (const vm of vms) recovered.push(...(await restartOn(c, vm.name, host)));
	} else for (const vm of vms) down.push(`${vm.name}: waits for the host`);
	const parts = [
		`host ${host} crashed with ${vms.length} VMs`,
		...disks.map(
			(d) =>
				`${d.key}: ${d.inFlightLost} I/Os in flight lost, ${d.undestaged.length} acknowledged blocks not destaged` +
				(d.peerProtected.length ? ` (${d.peerProtected.length} with a copy on a peer host)` : '')
		),
		...recovered.map(lossText),
		...down.map((x) => `${x} (down)`)
	];
	return { host, restart, disks, recovered, down, message: parts.join('; ') };
}

export async function hostRecover(c: Cluster, host: string): Promise<Result & { restarted: DiskLoss[] }> {
	const h = hostOf(c, host);
	if (h.state !== 'down') throw new ClusterError(`host ${host} is not down`);
	h.state = 'connected';
	const got = c.hosts.catchUp(h);
	const restarted: DiskLoss[] = [];
	for (const vm of [...c.vms.values()]) if (vm.host === host && vm.power === 'crashed') restarted.push(...(await restartOn(c, vm.name, host)));
	return {
		restarted,
		message:
			`host ${host} is back` +
			(got.length ? ` and got ${got.map((b) => `${b.name} ${b.version}`).join(', ')}` : '') +
			(restarted.length ? `; ${restarted.map(lossText).join('; ')}` : '')
	};
}

export async function restartVm(c: Cluster, vmName: string, host?: string): Promise<Result & { disks: DiskLoss[] }> {
	const vm = c.vm(vmName);
	if (vm.power !== 'crashed') throw new ClusterError(`VM ${vmName} is not down (it is ${vm.power})`);
	let target = host;
	if (target === undefined) {
		const p = recommend(c, vmName);
		if (!p.host) throw new ClusterError(noHostReason(p));
		target = p.host;
	} else {
		const h = hostOf(c, target);
		if (h.state !== 'connected') throw new ClusterError(`host ${target} is ${h.state}`);
		const verdict = recommend(c, vmName).considered.find((x) => x.host === target);
		if (verdict && !verdict.ok) throw new ClusterError(`${vmName} cannot restart on ${target}: ${verdict.reason}`);
	}
	const disks = await restartOn(c, vmName, target);
	return { disks, message: `${vmName} restarted on ${target}; ${disks.map(lossText).join('; ')}` };
}

// ================================================================ datastore, filter, WAN

export async function datastoreError(
	c: Cluster,
	d: DiskRuntime,
	o: { fromSector?: number; sectors?: number; ops?: FaultOps; durationUs?: number }
): Promise<Result & { fault: DatastoreFault }> {
	const from = o.fromSector ?? 0;
	const to = o.sectors ? from + o.sectors : d.info.sectors;
	if (from >= d.info.sectors || to <= from) throw new ClusterError(`sectors ${from}..${to - 1} are not on ${d.key} (${d.info.sectors} sectors)`);
	const layer = c.clusterDisk(d.key).layer;
	const fault = layer.addFault(from, to, o.ops ?? 'all');
	const dur = o.durationUs ?? 0;
	if (dur > 0)
		c.sim.sched.after(dur, () => {
			if (layer.removeFault(fault.id)) c.log('cluster', `datastore errors on ${d.key} sectors ${from}..${to - 1} cleared (${fault.hits} I/Os failed)`);
		});
	return {
		fault,
		message: `${d.key}: ${fault.ops === 'all' ? 'I/O' : `${fault.ops}s`} to sectors ${from}..${to - 1} fail at the datastore${dur > 0 ? ` for ${dur} µs` : ''}`
	};
}

export async function clearDatastoreError(c: Cluster, d: DiskRuntime, id?: number): Promise<Result> {
	const layer = c.clusterDisk(d.key).layer;
	const gone = id === undefined ? layer.faults.splice(0) : [layer.removeFault(id)].filter((f) => f !== undefined);
	if (gone.length === 0) throw new ClusterError(`no datastore error${id === undefined ? 's' : ` #${id}`} on ${d.key}`);
	return { message: `${d.key}: ${gone.length} datastore error range(s) cleared (${gone.reduce((a, f) => a + f!.hits, 0)} I/Os had failed)` };
}

function filterIndex(d: DiskRuntime, filter: string): number {
	const i = d.chain.filters.findIndex((f) => f.def.name === filter || f.cls === filter);
	if (i < 0) throw new ClusterError(`${d.key} has no filter "${filter}" (chain: ${d.chain.filters.map((f) => f.def.name).join(', ') || 'none'})`);
	return i;
}

export async function filterCrash(c: Cluster, d: DiskRuntime, filter: string): Promise<Result & { failedHeld: number }> {
	if (d.chain.dead) throw new ClusterError(`${d.key} is down`);
	const inst = d.chain.filters[filterIndex(d, filter)];
	if (inst.dead) throw new ClusterError(`${inst.def.name} on ${d.key} has crashed already`);
	const n = inst.crash(`${inst.def.name} crashed (its user world died)`);
	return {
		failedHeld: n,
		message: `${inst.def.name} on ${d.key} crashed: its in-memory state is lost, ${n} I/Os it held failed, I/O of ${d.info.vm} through it fails until it restarts; other VMs are not affected`
	};
}

export async function filterRestart(c: Cluster, d: DiskRuntime, filter: string): Promise<Result> {
	const i = filterIndex(d, filter);
	const inst = d.chain.filters[i];
	if (!inst.dead || d.chain.dead) throw new ClusterError(`${inst.def.name} on ${d.key} has not crashed`);
	const cd = c.clusterDisk(d.key);
	await c.paused(d.info.vm, async () => {
		await d.chain.drain();
		const list = await c.attachmentsOn(`${d.key}.policy`, d.key, { size: d.info.sectors * 512, policy: cd.policy }, c.prngFor(d.key), d.info.host);
		const a = list.find((x) => x.def.name === inst.def.name && x.cls === inst.cls);
		if (!a) throw new ClusterError(`${inst.def.name} is no longer in ${d.key}'s policy`);
		const fresh = new FilterInstance(d.chain, i, a);
		d.chain.filters[i] = fresh;
		fresh.state = await a.def.attach(fresh);
		c.resources.attachedOn(a.sidecar, d.info.host);
	});
	return { message: `${inst.def.name} on ${d.key} restarted: attached anew from its sidecar` };
}

export async function wanOutage(c: Cluster, durationUs: number, d?: DiskRuntime): Promise<Result & { links: number }> {
	const links = new Set(
		(d ? c.resources.devicesOf(d.key) : c.resources.allDevices())
			.filter((x) => !c.resources.isLan(x))
			.map((x) => x.link)
			.filter((l) => l !== undefined)
	);
	if (links.size === 0) throw new ClusterError(`no WAN link ${d ? `on ${d.key}` : 'in the cluster'} (replication uses one)`);
	for (const l of links) l.up = false;
	c.sim.sched.after(durationUs, () => {
		for (const l of links) l.up = true;
		c.log('cluster', `WAN outage over: ${links.size} link(s) up again`);
	});
	return { links: links.size, message: `${links.size} WAN link(s) down for ${durationUs} µs` };
}

// ================================================================ DR failover and failback

export interface DrState {
	src: string;
	dr: string;
	point: PointInfo;
}

export interface FailoverReport extends Result {
	point: PointInfo;
	/** The DR copy's disk ("<vm>-dr/<disk>"). */
	drKey: string;
	copiedBlocks: number;
	/** Sectors of the replica image that differ from what the guest had acknowledged at the point. */
	mismatches: number;
	sectorsChecked: number;
}

export interface FailbackReport extends Result {
	copiedBlocks: number;
}

export async function drFailover(c: Cluster, d: DiskRuntime, o: { point?: number | string; host?: string }): Promise<FailoverReport> {
	if (c.sim.scenario.run.timingOnly) throw new ClusterError('a DR failover needs the data: not in a timing-only run');
	if (c.failovers.has(d.key)) throw new ClusterError(`${d.key} is failed over already`);
	if (!d.chain.filters.some((f) => f.def.name === 'replication' && !f.dead)) throw new ClusterError(`${d.key} does not replicate (no replication filter)`);
	const points = listPoints(c.sim, d.key).filter((p) => p.verifiable);
	const point =
		o.point === undefined
			? points[points.length - 1]
			: [...points].reverse().find((p) => (typeof o.point === 'number' ? p.id === o.point : p.label === o.point));
	if (!point) {
		const r = d.chain.filters.find((f) => f.def.name === 'replication')!.state as { lastPointId?: number; expectedAt?: Map<number, unknown> };
		const expired = o.point === undefined ? undefined : expiredPoint(c.sim, d.key, o.point);
		if (expired)
			throw new ClusterError(
				`consistency point ${JSON.stringify(o.point)} of ${d.key} (taken at ${(expired.timeUs / 1e6).toFixed(3)} s) has expired: it left the journal's retention window (retentionSec)`
			);
		const pending = o.point !== undefined && typeof o.point === 'number' ? (r.expectedAt?.has(o.point) ?? false) : (r.lastPointId ?? 0) > 0;
		throw new ClusterError(
			pending
				? `consistency point ${JSON.stringify(o.point ?? 'latest')} of ${d.key} is not at the replica yet (the replica is behind the source)`
				: `no consistency point ${o.point === undefined ? '' : `${JSON.stringify(o.point)} `}with a recorded guest state on ${d.key} (take a snapshot or a bookmark)`
		);
	}
	const vm = c.vm(d.info.vm);
	if (vm.power === 'on' || vm.power === 'suspended') {
		// A planned failover: the source stops cleanly first.
		await c.paused(vm.name, async () => {
			for (const x of c.disksOf(vm.name)) if (!x.chain.dead) await deliver(x, { type: 'power-off' });
			vm.power = 'failed-over';
		});
	} else vm.power = 'failed-over';
	const f = await testFailover(c.sim, d.key, point.id);
	const drHost = o.host ?? 'dr-site';
	if (!c.hosts.hosts.has(drHost)) c.hosts.join(drHost);
	const drVm = `${vm.name}-dr`;
	const dr = await createDisk(c, {
		vm: drVm,
		name: d.info.name,
		host: drHost,
		sectors: d.info.sectors,
		datastore: d.config.datastore,
		policy: { name: 'dr', allowCleartextFilters: false, filters: [] },
		workload: [],
		env: d.chain.env
	});
	if (!c.vms.has(drVm)) c.vms.set(drVm, { name: drVm, host: drHost, power: 'on' });
	const expectedAtPoint = expectedAt(d, point.id);
	if (!expectedAtPoint) throw new ClusterError(`no guest state recorded for point #${point.id}`);
	const blocks = new Set([...expectedAtPoint.blockList(), ...d.expected.blockList()]);
	const raw = c.clusterDisk(dr.key).layer.inner;
	const buf = new Uint8Array(SECTORS_PER_BLOCK * SECTOR_BYTES);
	for (const b of [...blocks].sort((x, y) => x - y)) {
		const n = Math.min(SECTORS_PER_BLOCK, d.info.sectors - b * SECTORS_PER_BLOCK);
		if (n <= 0) continue;
		const view = buf.subarray(0, n * SECTOR_BYTES);
		await f.image.read(b * SECTORS_PER_BLOCK, view);
		await raw.write(b * SECTORS_PER_BLOCK, view);
	}
	dr.expected.assign(expectedAtPoint);
	// The VM's workload goes on at the DR site.
	for (const s of d.guest.streams) dr.guest.addStream(s.stream, s.iodepth, s.thinktimeUs);
	d.guest.running = false;
	c.failovers.set(d.key, { src: d.key, dr: dr.key, point });
	c.resumeGuests(drVm);
	return {
		point,
		drKey: dr.key,
		copiedBlocks: blocks.size,
		mismatches: f.mismatches,
		sectorsChecked: f.sectorsChecked,
		message: `${d.key} failed over to ${dr.key} on ${drHost} at point #${point.id} "${point.label}": ${blocks.size} blocks from the replica, ${f.mismatches} sectors differ from what the guest had acknowledged there; the workload continues at the DR site`
	};
}

function expectedAt(d: DiskRuntime, point: number): ExpectedState | undefined {
	for (const f of d.chain.filters) {
		const st = f.state as { expectedAt?: Map<number, ExpectedState> } | undefined;
		if (f.def.name === 'replication' && st?.expectedAt) return st.expectedAt.get(point);
	}
	return undefined;
}

export async function drFailback(c: Cluster, d: DiskRuntime): Promise<FailbackReport> {
	const st = c.failovers.get(d.key);
	if (!st) throw new ClusterError(`${d.key} is not failed over`);
	const dr = c.sim.disk(st.dr);
	const vm = c.vm(d.info.vm);
	const drVm = c.vm(dr.info.vm);
	dr.guest.running = false;
	await dr.chain.drain();
	if (d.chain.dead) {
		const h = c.hosts.hosts.get(vm.host);
		let host = h && h.state === 'connected' ? vm.host : undefined;
		if (!host) {
			const p = recommend(c, vm.name, [vm.host]);
			if (!p.host) throw new ClusterError(`failback of ${d.key}: ${noHostReason(p)}`);
			host = p.host;
		}
		await rebuildChain(c, d, host);
		vm.host = host;
	}
	// What the DR disk holds now, and what the source had written (the DR copy may have dropped it).
	const blocks = [...new Set([...dr.expected.blockList(), ...d.expected.blockList()])].sort((a, b) => a - b);
	const r = await copyBlocks(c.sim, dr.chain, d.chain, blocks);
	if (r.errors.length) throw new ClusterError(`failback of ${d.key}: ${r.errors[0].message}`);
	d.expected.assign(dr.expected);
	c.clusterDisk(d.key).ledger.assign(c.clusterDisk(dr.key).ledger);
	drVm.power = 'off';
	c.failovers.delete(d.key);
	vm.power = 'on';
	for (const x of c.disksOf(vm.name)) await deliver(x, { type: 'power-on' });
	c.resumeGuests(vm.name);
	return { copiedBlocks: r.copied, message: `${d.key} failed back from ${dr.key}: ${r.copied} blocks written back through the source chain; the VM runs on ${vm.host} again` };
}
