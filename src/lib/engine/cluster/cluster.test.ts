/**
 * The cluster end to end on small simulations: bundles and versions gate vMotion, DRS and
 * uninstall; policies attach and detach filters (a cache flushes on detach, a change waits for the
 * chain to drain, encryption re-lays the data out); control operations reach every filter after
 * the drain; snapshots keep and restore real data; power stops the guest; a clone copies through
 * both chains; faults hit only what they should. Every run ends with the guest's verification
 * clean unless a test says otherwise.
 */
import { describe, expect, it } from 'vitest';
import { builtinRegistry } from '../../filters';
import { DEFER, FILTER_CONTRACT_VERSION, PASS, type ControlEvent, type FilterDef } from '../filter';
import { SECTORS_PER_BLOCK } from '../io';
import { runResult } from '../result';
import type { ScenarioInput } from '../scenario/schema';
import { Simulation } from '../simulation';
import type { MemoryBlockStore } from '../storage/memory';
import { ClusterError } from './index';
import { listPoints } from '../../filters/replication';

type Vm = ScenarioInput['vms'][number];
type Disk = Vm['disks'][number];

function disk(o: Partial<Disk> = {}): Disk {
	return {
		name: 'disk-0',
		size: '64m',
		datastore: { kind: 'nvme' },
		workload: [{ rw: 'randrw', bs: '4k', rwmixread: 50, iodepth: 4, ios: 2000, size: '2m' }],
		...o
	};
}

function scenario(o: Partial<ScenarioInput> & { vms: Vm[] }): ScenarioInput {
	return { version: 1, name: 'cluster-test', seed: 11, hosts: [{ name: 'esx-01' }, { name: 'esx-02' }], ...o };
}

/** A filter that records control events (with the chain's in-flight count) and detach calls. */
function recorder(seen: { type: string; inFlight: number; host: string; sectors: number }[], simRef: { sim?: Simulation }): FilterDef<null> {
	return {
		contract: FILTER_CONTRACT_VERSION,
		name: 'recorder',
		vendor: 'test',
		version: '1.0.0',
		class: 'inspection',
		description: 'records control events',
		params: [],
		attach: () => null,
		onIo: () => PASS,
		onEvent(ev: ControlEvent, ctx) {
			seen.push({ type: ev.type, inFlight: simRef.sim!.disks.find((d) => d.info.vm === ctx.disk.vm)!.chain.inFlight, host: ctx.disk.host, sectors: ctx.disk.sectors });
		},
		detach(ctx) {
			seen.push({ type: 'detach-hook', inFlight: simRef.sim!.disks.find((d) => d.info.vm === ctx.disk.vm)!.chain.inFlight, host: ctx.disk.host, sectors: ctx.disk.sectors });
		}
	};
}

async function make(s: ScenarioInput, extra: FilterDef[] = []) {
	const registry = builtinRegistry();
	for (const d of extra) registry.register(d);
	return Simulation.create(s, { registry });
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array): boolean {
	if (!a || a.length !== b.length) return false;
	for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
	return true;
}

function expectClean(sim: Simulation): void {
	const r = runResult(sim);
	expect(r.verify.mismatches, JSON.stringify(r.verify.firstMismatch)).toBe(0);
	expect(r.verify.reads).toBeGreaterThan(0);
	expect(r.errors.count, JSON.stringify(r.errors.first[0])).toBe(0);
}

const WRITE_BACK = { type: 'cache', params: { mode: 'write-back', capacityBlocks: 256, destageMBps: 1 } };

describe('bundles, vMotion and DRS', () => {
	const hosts = [
		{ name: 'esx-01' },
		{ name: 'esx-02' },
		{ name: 'esx-03', bundles: [{ name: 'passthrough' }] },
		{ name: 'esx-04', bundles: [{ name: 'cache', version: '0.9.0' }] }
	];

	it('refuses a VM on a host without its filter, naming the field', async () => {
		await expect(
			make(scenario({ hosts, vms: [{ name: 'vm-01', host: 'esx-03', disks: [disk({ policy: { filters: [WRITE_BACK] } })] }] }))
		).rejects.toThrow(/vms\[0\]\.disks\[0\]\.policy\.filters\[0\]\.type: filter "cache" is not installed on host esx-03/);
	});

	it('vMotion: refused without the bundle or with an older version; allowed otherwise; the cache re-warms on the target', async () => {
		const sim = await make(scenario({ hosts, vms: [{ name: 'vm-01', host: 'esx-01', disks: [disk({ policy: { filters: [WRITE_BACK] } })] }] }));
		await sim.run({ untilUs: 20_000 });
		const c = sim.cluster;
		await expect(c.migrate('vm-01', 'esx-03')).rejects.toThrow(/host esx-03 lacks the filter bundle "cache"/);
		await expect(c.migrate('vm-01', 'esx-04')).rejects.toThrow(/has "cache" 0\.9\.0, older than 1\.0\.0/);
		expect(c.vm('vm-01').host).toBe('esx-01');
		const before = sim.disk().chain.filters[0].status();
		const ssdBefore = sim.disk().chain.filters[0].device('ssd').store;
		expect(before.occupancyBlocks).toBeGreaterThan(0);
		expect(before.dirtyBlocks).toBeGreaterThan(0);
		const r = await c.migrate('vm-01', 'esx-02');
		expect(r.message).toMatch(/cache: \d+ blocks dropped on esx-01, \d+ dirty destaged first; re-warms on esx-02/);
		expect(c.vm('vm-01').host).toBe('esx-02');
		expect(sim.disk().info.host).toBe('esx-02');
		const after = sim.disk().chain.filters[0];
		expect(after.disk.host).toBe('esx-02');
		// Attached anew on the target with the target host's SSD, cold (its sidecar described esx-01).
		expect(after.status().warmBlocks).toBe(0);
		expect(after.device('ssd').store).not.toBe(ssdBefore);
		expect((ssdBefore as MemoryBlockStore).blocks.size).toBeGreaterThan(0);
		await sim.run();
		expectClean(sim);
		expect(sim.disk().chain.filters[0].status().readHits).toBeGreaterThan(0);
		expect(c.history.map((h) => [h.op, h.ok])).toEqual([
			['vmotion', false],
			['vmotion', false],
			['vmotion', true]
		]);
	});

	it('DRS considers only hosts with every filter; maintenance mode evacuates through it', async () => {
		const sim = await make(
			scenario({
				hosts,
				vms: [
					{ name: 'vm-01', host: 'esx-01', disks: [disk({ policy: { filters: [WRITE_BACK] } })] },
					{ name: 'vm-02', host: 'esx-01', disks: [disk({ policy: { filters: [{ type: 'passthrough' }] } })] }
				]
			})
		);
		const c = sim.cluster;
		const p = c.drsRecommend('vm-01', ['esx-01']);
		expect(p.host).toBe('esx-02');
		expect(p.considered.find((x) => x.host === 'esx-03')!.reason).toMatch(/lacks the filter bundle "cache"/);
		expect(p.considered.find((x) => x.host === 'esx-04')!.reason).toMatch(/older than/);
		await sim.run({ untilUs: 10_000 });
		const m = await c.enterMaintenance('esx-01');
		expect(m.moved).toEqual(['vm-01 → esx-02', 'vm-02 → esx-03']);
		expect(c.hosts.get('esx-01').state).toBe('maintenance');
		await expect(c.migrate('vm-02', 'esx-01')).rejects.toThrow(/in maintenance mode/);
		await c.exitMaintenance('esx-01');
		const b = await c.drsBalance();
		expect(b.moves.length).toBe(0); // two hosts with one VM each
		await sim.run();
		expectClean(sim);
	});

	it('install reaches every host and a joining one; uninstall is refused while a disk uses the filter', async () => {
		const sim = await make(scenario({ vms: [{ name: 'vm-01', disks: [disk({ policy: { filters: [{ type: 'passthrough' }] } })] }] }));
		const c = sim.cluster;
		await expect(c.uninstallBundle('passthrough')).rejects.toThrow(/"passthrough" is in use by vm-01\/disk-0 \(policy "default"\)/);
		await c.uninstallBundle('delay');
		expect(c.hosts.list().every((h) => !h.bundles.has('delay'))).toBe(true);
		await c.installBundle({ name: 'delay', version: '2.0.0' });
		expect(c.hosts.list().map((h) => h.bundles.get('delay')?.version)).toEqual(['2.0.0', '2.0.0']);
		await c.addHost('esx-09');
		expect(c.hosts.get('esx-09').bundles.get('delay')?.version).toBe('2.0.0');
		// A custom filter installs as a bundle too.
		const custom: FilterDef<null> = { ...(builtinRegistry().get('passthrough') as FilterDef<null>), name: 'my-filter', version: '0.1.0', vendor: 'me' };
		await c.installBundle(custom);
		expect(c.hosts.get('esx-09').bundles.get('my-filter')).toEqual({ name: 'my-filter', vendor: 'me', version: '0.1.0' });
		expect(sim.options.registry.has('my-filter')).toBe(true);
	});

	it('a rolling upgrade goes host by host in maintenance mode, moving VMs away first', async () => {
		const sim = await make(
			scenario({
				hosts: [{ name: 'esx-01' }, { name: 'esx-02' }, { name: 'esx-03' }],
				vms: [
					{ name: 'vm-01', host: 'esx-01', disks: [disk({ policy: { filters: [WRITE_BACK] } })] },
					{ name: 'vm-02', host: 'esx-02', disks: [disk({ policy: { filters: [WRITE_BACK] } })] }
				]
			})
		);
		await sim.run({ untilUs: 10_000 });
		const r = await sim.cluster.upgradeBundle('cache', '1.1.0');
		expect(r.steps).toEqual([
			'esx-01: 1.0.0 → 1.1.0 in maintenance mode',
			'esx-02: 1.0.0 → 1.1.0 in maintenance mode',
			'esx-03: 1.0.0 → 1.1.0 in maintenance mode'
		]);
		expect(r.moved.length).toBeGreaterThanOrEqual(2);
		expect(sim.cluster.hosts.list().every((h) => h.state === 'connected' && h.bundles.get('cache')!.version === '1.1.0')).toBe(true);
		// A VM that runs 1.1.0 cannot go to a host left at 1.0.0.
		await sim.cluster.addHost('esx-old', [{ name: 'cache', version: '1.0.0' }]);
		await expect(sim.cluster.migrate('vm-01', 'esx-old')).rejects.toThrow(/older than 1\.1\.0/);
		await sim.run();
		expectClean(sim);
	});
});

describe('storage policies', () => {
	it('detaching a write-back cache flushes its dirty blocks first (through FilterDef.detach); the datastore is then complete', async () => {
		const seen: { type: string; inFlight: number; host: string; sectors: number }[] = [];
		const ref: { sim?: Simulation } = {};
		const sim = await make(
			scenario({ vms: [{ name: 'vm-01', disks: [disk({ policy: { name: 'gold', filters: [{ type: 'recorder' }, WRITE_BACK] } })] }] }),
			[recorder(seen, ref)]
		);
		ref.sim = sim;
		await sim.run({ untilUs: 30_000 });
		const d = sim.disk();
		expect(d.chain.filters[1].status().dirtyBlocks).toBeGreaterThan(0);
		const r = await sim.cluster.applyPolicy('vm-01', undefined, { name: 'silver', filters: [{ type: 'recorder' }] });
		expect(r.detached).toEqual(['cache']);
		expect(r.kept).toEqual(['recorder']);
		expect(d.chain.filters.map((f) => f.def.name)).toEqual(['recorder']);
		// Every block the guest acknowledged is on the datastore itself now.
		const raw = d.store as MemoryBlockStore;
		const check = d.expected.copy();
		for (const b of d.expected.blockList()) check.checkRead(b * SECTORS_PER_BLOCK, SECTORS_PER_BLOCK, raw.blocks.get(b) ?? new Uint8Array(4096), 0);
		expect(check.mismatches).toBe(0);
		// Attaching the recorder-only policy back to a cache policy: refused while snapshots exist.
		await sim.cluster.snapshotCreate('vm-01', 's1');
		await expect(sim.cluster.applyPolicy('vm-01', undefined, 'gold')).rejects.toThrow(/VM vm-01 has snapshots \(s1\): a storage policy cannot change/);
		await sim.cluster.snapshotDelete('vm-01', 's1');
		const back = await sim.cluster.applyPolicy('vm-01', undefined, 'gold');
		expect(back.attached).toEqual(['cache']);
		await sim.run();
		expectClean(sim);
	});

	it('a policy change drains the chain before filters move (no I/O inside while they attach or detach)', async () => {
		const seen: { type: string; inFlight: number; host: string; sectors: number }[] = [];
		const ref: { sim?: Simulation } = {};
		const holder: FilterDef<null> = {
			contract: FILTER_CONTRACT_VERSION,
			name: 'holder',
			vendor: 'test',
			version: '1.0.0',
			class: 'replication',
			description: 'holds each I/O 500 µs',
			params: [],
			attach: () => null,
			onIo(io, ctx) {
				ctx.after(500, () => ctx.resume(io));
				return DEFER;
			}
		};
		const sim = await make(
			scenario({ vms: [{ name: 'vm-01', disks: [disk({ policy: { filters: [{ type: 'holder' }, { type: 'passthrough', class: 'cache' }] } })] }] }),
			[recorder(seen, ref), holder]
		);
		ref.sim = sim;
		await sim.run({ untilUs: 5_000 });
		expect(sim.disk().chain.inFlight).toBeGreaterThan(0);
		const kept = sim.disk().chain.filters[1];
		await sim.cluster.applyPolicy('vm-01', undefined, { filters: [{ type: 'recorder' }, { type: 'passthrough', class: 'cache' }] });
		expect(sim.disk().chain.filters.map((f) => f.def.name)).toEqual(['recorder', 'passthrough']);
		await sim.cluster.applyPolicy('vm-01', undefined, { filters: [{ type: 'passthrough', class: 'cache' }] });
		// The filter that stays is the same instance (its state kept), moved to its new position.
		expect(sim.disk().chain.filters.length).toBe(1);
		expect(sim.disk().chain.filters[0]).toBe(kept);
		expect(kept.index).toBe(0);
		expect(kept.counters.pass).toBeGreaterThan(0);
		expect(seen.filter((s) => s.type === 'detach-hook')).toEqual([{ type: 'detach-hook', inFlight: 0, host: 'esx-01', sectors: 131072 }]);
		await sim.run();
		expectClean(sim);
	});

	it('adding encryption to a disk with data re-lays it out: the data stays readable and the datastore holds ciphertext', async () => {
		const sim = await make(scenario({ vms: [{ name: 'vm-01', disks: [disk({ workload: [{ rw: 'randrw', bs: '4k', iodepth: 4, ios: 800, size: '1m' }] })] }] }));
		await sim.run({ untilUs: 10_000 });
		const d = sim.disk();
		const written = d.expected.blockList().length;
		const r = await sim.cluster.applyPolicy('vm-01', undefined, { name: 'encrypted', filters: [{ type: 'encryption' }] });
		expect(r.relayout).toBe(true);
		expect(r.rewrittenBlocks).toBe(written);
		const raw = d.store as MemoryBlockStore;
		let plaintext = 0;
		for (const b of d.expected.blockList()) {
			const bytes = raw.blocks.get(b);
			if (bytes && new Uint32Array(bytes.buffer, bytes.byteOffset, 1)[0] === d.expected.contentOf(b * SECTORS_PER_BLOCK)) plaintext++;
		}
		expect(plaintext).toBe(0);
		const scan = await sim.cluster.verify('vm-01');
		expect(scan.lostBlocks).toEqual([]);
		await sim.run();
		expectClean(sim);
	});
});

describe('control operations', () => {
	it('snapshot create / revert / delete keep real data; filters are told after the drain', async () => {
		const seen: { type: string; inFlight: number; host: string; sectors: number }[] = [];
		const ref: { sim?: Simulation } = {};
		const sim = await make(scenario({ vms: [{ name: 'vm-01', disks: [disk({ policy: { filters: [{ type: 'recorder' }, WRITE_BACK] } })] }] }), [
			recorder(seen, ref)
		]);
		ref.sim = sim;
		const d = sim.disk();
		await sim.run({ untilUs: 20_000 });
		expect(d.chain.filters[1].status().dirtyBlocks).toBeGreaterThan(0);
		await sim.cluster.snapshotCreate('vm-01', 'before');
		const image = new Map([...(d.store as MemoryBlockStore).blocks].map(([b, bytes]) => [b, bytes.slice()]));
		const expectedAt = d.expected.copy();
		// The cache destaged first: the datastore alone holds what the guest had acknowledged.
		const check = expectedAt.copy();
		for (const b of expectedAt.blockList()) check.checkRead(b * SECTORS_PER_BLOCK, SECTORS_PER_BLOCK, image.get(b) ?? new Uint8Array(4096), 0);
		expect(check.sectorsChecked).toBeGreaterThan(0);
		expect(check.mismatches).toBe(0);
		await sim.run({ untilUs: 60_000 });
		expect(sim.cluster.clusterDisk(d.key).snapshots.cowBlocks).toBeGreaterThan(0);
		await sim.cluster.snapshotCreate('vm-01', 'later');
		await sim.run({ untilUs: 80_000 });
		const rv = await sim.cluster.snapshotRevert('vm-01', 'before');
		expect(rv.blocksWritten).toBeGreaterThan(0);
		const now = (d.store as MemoryBlockStore).blocks;
		const differ = [...image].filter(([b, bytes]) => !sameBytes(now.get(b), bytes)).map(([b]) => b);
		expect(differ).toEqual([]);
		expect([...now.keys()].filter((b) => !image.has(b))).toEqual([]);
		expect(d.expected.toJSON()).toEqual(expectedAt.toJSON());
		expect(sim.cluster.snapshots('vm-01').map((s) => [s.name, s.current])).toEqual([
			['before', true],
			['later', false]
		]);
		await sim.cluster.snapshotDelete('vm-01', 'later');
		await sim.cluster.snapshotDelete('vm-01', 'before');
		expect(sim.cluster.clusterDisk(d.key).layer.cow).toBeUndefined();
		expect(seen.map((s) => s.type)).toEqual(['snapshot-create', 'snapshot-create', 'snapshot-revert', 'snapshot-delete', 'snapshot-delete']);
		expect(seen.every((s) => s.inFlight === 0)).toBe(true);
		await sim.run();
		expectClean(sim);
	}, 20_000);

	it('disk grow: the store grows and filters see the new size; refused with snapshots', async () => {
		const seen: { type: string; inFlight: number; host: string; sectors: number }[] = [];
		const ref: { sim?: Simulation } = {};
		const sim = await make(scenario({ vms: [{ name: 'vm-01', disks: [disk({ policy: { filters: [{ type: 'recorder' }] } })] }] }), [recorder(seen, ref)]);
		ref.sim = sim;
		await sim.cluster.snapshotCreate('vm-01', 's');
		await expect(sim.cluster.growDisk('vm-01', undefined, 128 * 2 ** 20)).rejects.toThrow(/cannot grow/);
		await sim.cluster.snapshotDelete('vm-01', 's');
		await expect(sim.cluster.growDisk('vm-01', undefined, 32 * 2 ** 20)).rejects.toThrow(/only grows/);
		await sim.cluster.growDisk('vm-01', undefined, 128 * 2 ** 20);
		expect(sim.disk().store.sectors).toBe(262144);
		expect(seen.at(-1)).toEqual({ type: 'disk-grow', inFlight: 0, host: 'esx-01', sectors: 262144 });
	});

	it('power off stops the guest (no I/O issued while off); filters hear power-off and power-on', async () => {
		const seen: { type: string; inFlight: number; host: string; sectors: number }[] = [];
		const ref: { sim?: Simulation } = {};
		const sim = await make(scenario({ vms: [{ name: 'vm-01', disks: [disk({ policy: { filters: [{ type: 'recorder' }] } })] }] }), [recorder(seen, ref)]);
		ref.sim = sim;
		await sim.run({ untilUs: 10_000 });
		await sim.cluster.powerOff('vm-01');
		const issued = sim.disk().guest.metrics.ios;
		expect(await sim.run({ untilUs: 200_000 })).toBe(true); // nothing to do while off
		expect(sim.disk().guest.metrics.ios).toBe(issued);
		await expect(sim.cluster.powerOff('vm-01')).rejects.toThrow(/powered off/);
		await sim.cluster.powerOn('vm-01');
		await sim.run();
		expect(sim.disk().guest.finished).toBe(true);
		expect(seen.map((s) => s.type)).toEqual(['power-off', 'power-on']);
		expectClean(sim);
	});

	it('clone: a new disk with its own filters; the data is copied through both chains (offline, the source powered off)', async () => {
		const sim = await make(
			scenario({ vms: [{ name: 'vm-01', disks: [disk({ policy: { filters: [{ type: 'encryption' }] }, workload: [{ rw: 'randrw', bs: '4k', iodepth: 4, ios: 800, size: '1m' }] })] }] })
		);
		await sim.run({ untilUs: 20_000 });
		await sim.cluster.powerOff('vm-01');
		const r = await sim.cluster.clone('vm-01', undefined, { host: 'esx-02', workload: [{ rw: 'randrw', bs: '4k', iodepth: 2, ios: 300, size: '2m' }], powerOn: true });
		expect(r.key).toBe('vm-01-clone/disk-0');
		expect(r.copiedBlocks).toBe(sim.disk().expected.blockList().length);
		const clone = sim.disk(r.key);
		expect(clone.chain.filters.map((f) => f.def.name)).toEqual(['encryption']);
		expect(clone.info.host).toBe('esx-02');
		// Its own key (one per VM): the ciphertext differs from the source's.
		const a = (sim.disk().store as MemoryBlockStore).blocks;
		const b = (clone.store as MemoryBlockStore).blocks;
		const block = sim.disk().expected.blockList()[0];
		expect(b.get(block)).toBeDefined();
		expect(b.get(block)).not.toEqual(a.get(block));
		const scan = await sim.cluster.verify('vm-01-clone');
		expect(scan.lostBlocks).toEqual([]);
		expect(scan.blocks).toBeGreaterThan(0);
		await sim.run();
		expect(clone.guest.metrics.ios).toBe(300);
		expect(clone.expected.mismatches).toBe(0);
		expect(clone.expected.reads).toBeGreaterThan(0);
	});
});

describe('faults', () => {
	it('a filter crash fails only its VM’s I/O through it; a restart attaches it again', async () => {
		const f = [{ type: 'delay', params: { readUs: 100, writeUs: 100 } }];
		const sim = await make(
			scenario({
				vms: [
					{ name: 'vm-01', disks: [disk({ policy: { filters: f } })] },
					{ name: 'vm-02', disks: [disk({ policy: { filters: f } })] }
				]
			})
		);
		await sim.run({ untilUs: 20_000 });
		const crash = await sim.cluster.filterCrash('vm-01', undefined, 'delay');
		expect(crash.failedHeld).toBeGreaterThan(0);
		await sim.run({ untilUs: 40_000 });
		const [d1, d2] = sim.disks;
		expect(d1.guest.errorCount).toBeGreaterThan(0);
		expect(d1.guest.errors.every((e) => e.code === 'EFILTER' && e.source === 'delay')).toBe(true);
		expect(d2.guest.errorCount).toBe(0);
		const errorsAtRestart = d1.guest.errorCount;
		await sim.cluster.filterRestart('vm-01', undefined, 'delay');
		await sim.run();
		expect(d1.guest.errorCount).toBe(errorsAtRestart);
		expect(d1.guest.finished && d2.guest.finished).toBe(true);
		expect(d1.expected.mismatches + d2.expected.mismatches).toBe(0);
	});

	it('datastore errors on an LBA range fail exactly the I/O that touches it, at the device, for a while', async () => {
		const sim = await make(scenario({ vms: [{ name: 'vm-01', disks: [disk({ policy: { filters: [{ type: 'passthrough' }] } })] }] }));
		await sim.run({ untilUs: 5_000 });
		await sim.cluster.datastoreError('vm-01', undefined, { fromSector: 0, sectors: 1024, ops: 'write', durationUs: 20_000 });
		await sim.run();
		const g = sim.disk().guest;
		expect(g.errorCount).toBeGreaterThan(0);
		expect(g.errors.every((e) => e.source === 'device' && e.op === 1 && e.lba < 1024 && /datastore error/.test(e.message))).toBe(true);
		expect(g.errors.every((e) => e.ioId > 0)).toBe(true);
		expect(sim.disk().expected.mismatches).toBe(0);
		expect(sim.log.some((l) => /datastore errors on vm-01\/disk-0 sectors 0\.\.1023 cleared/.test(l.message))).toBe(true);
	});

	it('a WAN outage takes the replication link down for its duration', async () => {
		const sim = await make(
			scenario({ vms: [{ name: 'vm-01', disks: [disk({ policy: { filters: [{ type: 'replication', devices: { wan: { kind: 'wan', rttUs: 2000 } } }] } })] }] })
		);
		await sim.run({ untilUs: 10_000 });
		const r = await sim.cluster.wanOutage(50_000, 'vm-01');
		expect(r.links).toBe(1);
		await sim.run({ untilUs: sim.sched.now + 20_000 });
		expect(sim.disk().chain.filters[0].status().linkState).toBe('down');
		await sim.run();
		expect(sim.disk().chain.filters[0].status().linkDowns).toBeGreaterThan(0);
		expectClean(sim);
	});

	it('DR: failover to the replica at a consistency point, the workload continues there, failback brings it home', async () => {
		const sim = await make(
			scenario({
				vms: [
					{
						name: 'vm-01',
						disks: [
							disk({
								policy: { filters: [{ type: 'replication', devices: { wan: { kind: 'wan', rttUs: 2000, mbitPerSec: 1000 } } }] },
								workload: [{ rw: 'randrw', bs: '4k', rwmixread: 50, iodepth: 4, ios: 4000, size: '2m', rateIops: 4000 }]
							})
						]
					}
				]
			})
		);
		await sim.run({ untilUs: 20_000 });
		const bm = await sim.cluster.bookmark('vm-01', undefined, 'app-consistent');
		expect(bm.point).toBeGreaterThan(0);
		// The point is usable once the replica has applied it (async: behind the source).
		await expect(sim.cluster.drFailover('vm-01', undefined, { point: 'app-consistent' })).rejects.toThrow(/not at the replica yet/);
		while (!listPoints(sim).length && !sim.finished) await sim.run({ untilUs: sim.sched.now + 10_000 });
		expect(listPoints(sim).map((p) => p.label)).toEqual(['app-consistent']);
		const fo = await sim.cluster.drFailover('vm-01', undefined, { point: 'app-consistent' });
		expect(fo.mismatches).toBe(0);
		expect(fo.sectorsChecked).toBeGreaterThan(0);
		expect(sim.cluster.vm('vm-01').power).toBe('failed-over');
		const dr = sim.disk(fo.drKey);
		const srcIos = sim.disk().guest.metrics.ios;
		await sim.run({ untilUs: sim.sched.now + 30_000 });
		expect(sim.disk().guest.metrics.ios).toBe(srcIos);
		expect(dr.guest.metrics.ios).toBeGreaterThan(0);
		expect(dr.expected.mismatches).toBe(0);
		const fb = await sim.cluster.drFailback('vm-01');
		expect(fb.copiedBlocks).toBeGreaterThan(0);
		expect(sim.cluster.vm('vm-01').power).toBe('on');
		const scan = await sim.cluster.verify('vm-01');
		expect(scan.lostBlocks).toEqual([]);
		await sim.run();
		expectClean(sim);
	}, 20_000);
});

describe('timed operations in the scenario', () => {
	it('run at their virtual times, in order; a refused one is recorded and the run goes on; the run is deterministic', async () => {
		const build = () => make(
			scenario({
				hosts: [{ name: 'esx-01' }, { name: 'esx-02' }, { name: 'esx-03', bundles: [{ name: 'passthrough' }] }],
				vms: [{ name: 'vm-01', disks: [disk({ policy: { filters: [WRITE_BACK] } })] }],
				operations: [
					{ atUs: 10_000, op: 'snapshot-create', vm: 'vm-01', name: 's1' },
					{ atUs: 20_000, op: 'vmotion', vm: 'vm-01', host: 'esx-03' },
					{ atUs: 20_000, op: 'vmotion', vm: 'vm-01', host: 'esx-02' },
					{ atUs: 30_000, op: 'snapshot-delete', vm: 'vm-01', name: 's1' },
					{ atUs: 300_000, op: 'power-off', vm: 'vm-01' }
				]
			})
		);
		const sim = await build();
		await sim.run();
		const again = await build();
		await again.run();
		expect(again.trace.digest()).toBe(sim.trace.digest());
		expect(again.cluster.history).toEqual(sim.cluster.history);
		const h = sim.cluster.history;
		expect(h.map((x) => [x.op, x.ok])).toEqual([
			['snapshot-create', true],
			['vmotion', false],
			['vmotion', true],
			['snapshot-delete', true],
			['power-off', true]
		]);
		expect(h[0].t).toBe(10_000);
		expect(h[4].t).toBe(300_000);
		expect(sim.cluster.vm('vm-01').host).toBe('esx-02');
		expect(runResult(sim).verify.mismatches).toBe(0);
	});

	it('refuses operations that name an unknown VM or host, with the field', async () => {
		await expect(
			make(scenario({ vms: [{ name: 'vm-01', disks: [disk()] }], operations: [{ atUs: 1, op: 'vmotion', vm: 'vm-01', host: 'nowhere' }] }))
		).rejects.toThrow(/operations\[0\]\.host: host "nowhere" is not in hosts/);
		await expect(make(scenario({ vms: [{ name: 'vm-01', disks: [disk()] }], operations: [{ atUs: 1, op: 'power-off', vm: 'vm-9' }] }))).rejects.toThrow(
			/operations\[0\]\.vm: VM "vm-9"/
		);
	});
});

describe('errors', () => {
	it('are ClusterErrors', async () => {
		const sim = await make(scenario({ vms: [{ name: 'vm-01', disks: [disk()] }] }));
		await expect(sim.cluster.migrate('vm-01', 'esx-01')).rejects.toBeInstanceOf(ClusterError);
	});
});
