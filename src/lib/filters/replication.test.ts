import { describe, expect, it } from 'vitest';
import { FILTER_CONTRACT_VERSION, PASS, type FilterDef } from '../engine/filter';
import { Op, SECTOR_BYTES, SECTORS_PER_BLOCK } from '../engine/io';
import { runResult, type RunResult } from '../engine/result';
import type { ScenarioInput } from '../engine/scenario/schema';
import { Simulation } from '../engine/simulation';
import { MemoryBlockStore, MemoryStoreFactory } from '../engine/storage/memory';
import type { BlockStore, SidecarStore, StoreFactory } from '../engine/storage/types';
import type { ExpectedState } from '../engine/verify';
import { builtinRegistry } from './index';
import { consistencyPoint, drainReplication, listPoints, replicationOf, testFailover } from './replication';

const KEY = 'vm-01/disk-0';
type Workloads = NonNullable<ScenarioInput['vms'][number]['disks'][number]['workload']>;
type Params = Record<string, number | string>;

/** Odd sizes on 512-byte boundaries: unaligned to 4 KiB blocks. */
const BSSPLIT = [
	{ bs: 4096, pct: 35 },
	{ bs: 6656, pct: 30 },
	{ bs: 1536, pct: 15 },
	{ bs: 16384, pct: 10 },
	{ bs: 36864, pct: 10 }
];

function workload(o: { ios?: number; runtimeUs?: number; rateIops?: number; mix?: number; qd?: number; region?: number }): Workloads {
	return [
		{
			rw: 'randrw',
			rwmixread: o.mix ?? 30,
			size: o.region ?? 8 * 2 ** 20,
			bssplit: BSSPLIT,
			blockalign: 512,
			iodepth: o.qd ?? 8,
			ios: o.ios ?? 0,
			runtimeUs: o.runtimeUs ?? 0,
			rateIops: o.rateIops ?? 0
		}
	];
}

function scenario(params: Params, wl: Workloads, link: { rttUs?: number; mbitPerSec?: number } = {}, seed = 11): ScenarioInput {
	return {
		version: 1,
		name: 'replication-test',
		seed,
		vms: [
			{
				name: 'vm-01',
				disks: [
					{
						name: 'disk-0',
						size: '64m',
						datastore: { kind: 'nvme' },
						policy: { filters: [{ type: 'replication', params, devices: { wan: { kind: 'wan', ...link } } }] },
						workload: wl
					}
				]
			}
		]
	};
}

async function create(sc: ScenarioInput, o: { stores?: MemoryStoreFactory; expected?: ExpectedState; registry?: ReturnType<typeof builtinRegistry> } = {}): Promise<Simulation> {
	return Simulation.create(sc, {
		registry: o.registry ?? builtinRegistry(),
		stores: o.stores ?? new MemoryStoreFactory(),
		expected: o.expected ? new Map([[KEY, o.expected]]) : undefined
	});
}

function stat(sim: Simulation, name: string): number | string {
	return replicationOf(sim).status()[name];
}
function num(sim: Simulation, name: string): number {
	return stat(sim, name) as number;
}

function clean(r: RunResult): void {
	expect(r.verify.mismatches).toBe(0);
	expect(r.errors.count).toBe(0);
	expect(r.verify.sectorsChecked).toBeGreaterThan(0);
}

/** Compares every allocated block of the source disk and of the replica, byte for byte. */
function expectReplicaEqualsSource(sim: Simulation, inner?: MemoryStoreFactory): number {
	const src = (inner ? inner.openBlockStore(`disk.${KEY}`, 0) : sim.disk().store) as MemoryBlockStore;
	const rep = (inner ? inner.openBlockStore(`dev.${KEY}.replication.replica`, 0) : replicationOf(sim).replica.store) as MemoryBlockStore;
	const blocks = new Set<number>([...src.blocks.keys(), ...rep.blocks.keys()]);
	const a = new Uint8Array(4096);
	const b = new Uint8Array(4096);
	let differ = 0;
	for (const blk of blocks) {
		src.read(blk * SECTORS_PER_BLOCK, a);
		rep.read(blk * SECTORS_PER_BLOCK, b);
		if (!sameBytes(a, b)) differ++;
	}
	expect(differ).toBe(0);
	// Some data really was written (not an empty comparison).
	expect(src.blocks.size).toBeGreaterThan(100);
	return blocks.size;
}

/** Memory stores behind Promises, like IndexedDB: every store and sidecar call is asynchronous. */
class AsyncStores implements StoreFactory {
	readonly kind = 'idb' as const;
	constructor(readonly inner = new MemoryStoreFactory()) {}
	openBlockStore(name: string, sectors: number): BlockStore {
		const s = this.inner.openBlockStore(name, sectors);
		return {
			kind: 'idb',
			get sectors() {
				return s.sectors;
			},
			read: async (a, d) => s.read(a, d),
			write: async (a, d) => s.write(a, d),
			unmap: async (a, n) => s.unmap(a, n),
			flush: async () => s.flush(),
			allocatedBytes: () => s.allocatedBytes(),
			resize: async (n) => s.resize(n),
			close: async () => s.close()
		};
	}
	openSidecar(name: string): SidecarStore {
		const c = this.inner.openSidecar(name);
		return { get: async (k) => c.get(k), set: async (k, v) => c.set(k, v), delete: async (k) => c.delete(k), keys: async () => c.keys() };
	}
	wipe(): void {}
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
	if (a.length !== b.length) return false;
	for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
	return true;
}

describe('replication: sync', { timeout: 60_000 }, () => {
	it('a write completes only after the remote ack (≥ RTT); reads are unaffected', async () => {
		const sim = await create(scenario({ mode: 'sync' }, workload({ ios: 600, mix: 50 }), { rttUs: 20_000 }));
		await sim.run();
		const r = runResult(sim);
		clean(r);
		expect(r.ops.write.ios).toBeGreaterThan(200);
		expect(r.ops.write.latencyUs.p50).toBeGreaterThanOrEqual(20_000);
		expect(r.ops.write.latencyUs.p50).toBeLessThan(60_000);
		expect(r.ops.read.latencyUs.p50).toBeLessThan(1_000);
		// Every acknowledged write had been applied at the replica: nothing left to ship.
		expect(num(sim, 'journalEntries')).toBe(0);
		expect(num(sim, 'inflightBytes')).toBe(0);
		expect(num(sim, 'appliedSeq')).toBe(num(sim, 'lastSeq'));
		expect(num(sim, 'lastSeq')).toBe(r.ops.write.ios);
		expect(num(sim, 'rpoUs')).toBe(0);
		expectReplicaEqualsSource(sim);
	});

	it('syncOnLinkDown=degrade: writes complete locally during an outage, then sync resumes', async () => {
		const sim = await create(scenario({ mode: 'sync', syncOnLinkDown: 'degrade' }, workload({ runtimeUs: 1_500_000, rateIops: 400 }), { rttUs: 20_000 }));
		const link = replicationOf(sim).link;
		await sim.run({ untilUs: 400_000 });
		const before = sim.disk().guest.metrics.ops[Op.write].latency.values().length;
		link.up = false;
		await sim.run({ untilUs: 800_000 });
		expect(stat(sim, 'linkState')).toBe('down');
		expect(num(sim, 'degraded')).toBe(1);
		expect(num(sim, 'journalEntries')).toBeGreaterThan(10);
		const lat = [...sim.disk().guest.metrics.ops[Op.write].latency.values()].slice(before + 8);
		// Once the outage is seen, writes complete at local speed.
		expect(lat.length).toBeGreaterThan(50);
		const sorted = lat.sort((x, y) => x - y);
		expect(sorted[sorted.length >> 1]).toBeLessThan(5_000);
		link.up = true;
		await sim.run();
		await drainReplication(sim);
		const r = runResult(sim);
		clean(r);
		expect(num(sim, 'degradedWrites')).toBeGreaterThan(50);
		expect(num(sim, 'degraded')).toBe(0);
		expect(stat(sim, 'linkState')).toBe('up');
		expect(num(sim, 'failedWrites')).toBe(0);
		expectReplicaEqualsSource(sim);
	});

	it('syncOnLinkDown=degrade: sync resumes while writes keep coming faster than one per round trip', async () => {
		const sim = await create(scenario({ mode: 'sync', syncOnLinkDown: 'degrade' }, workload({ runtimeUs: 3_000_000, rateIops: 400 }), { rttUs: 20_000 }));
		const link = replicationOf(sim).link;
		await sim.run({ untilUs: 400_000 });
		link.up = false;
		await sim.run({ untilUs: 900_000 });
		expect(num(sim, 'degraded')).toBe(1);
		link.up = true;
		// A second after the link is back (400 writes/s, 20 ms RTT: never an empty queue).
		await sim.run({ untilUs: 1_900_000 });
		expect(num(sim, 'degraded')).toBe(0);
		const back = sim.log.find((l) => l.message === 'in sync again');
		expect(back?.t).toBeGreaterThan(900_000);
		const degradedThen = num(sim, 'degradedWrites');
		const before = sim.disk().guest.metrics.ops[Op.write].latency.values().length;
		await sim.run({ untilUs: 2_900_000 });
		// From then on every write waits for its remote ack again.
		const lat = [...sim.disk().guest.metrics.ops[Op.write].latency.values()].slice(before);
		expect(lat.length).toBeGreaterThan(200);
		expect(Math.min(...lat)).toBeGreaterThanOrEqual(20_000);
		expect(num(sim, 'degradedWrites')).toBe(degradedThen);
		await sim.run();
		await drainReplication(sim);
		clean(runResult(sim));
		expectReplicaEqualsSource(sim);
	});

	it('syncOnLinkDown=fail: writes fail with EIO while the link is down, reads still work', async () => {
		const sim = await create(scenario({ mode: 'sync', syncOnLinkDown: 'fail' }, workload({ runtimeUs: 1_200_000, rateIops: 400, mix: 50 }), { rttUs: 20_000 }));
		const link = replicationOf(sim).link;
		await sim.run({ untilUs: 300_000 });
		link.up = false;
		await sim.run({ untilUs: 700_000 });
		link.up = true;
		// The filter notices the link is back at its next poll (pollMs = 100).
		await sim.run({ untilUs: 810_000 });
		const failedDuring = sim.disk().guest.errorCount;
		const writesBefore = sim.disk().guest.metrics.ops[Op.write].ios;
		await sim.run();
		await drainReplication(sim);
		const r = runResult(sim);
		expect(r.verify.mismatches).toBe(0);
		expect(r.verify.sectorsChecked).toBeGreaterThan(0);
		expect(failedDuring).toBeGreaterThan(50);
		// Failures happened only in the outage, all writes, all from the replication filter.
		expect(r.errors.count).toBe(failedDuring);
		expect(r.ops.write.ios - writesBefore).toBeGreaterThan(50);
		expect(r.ops.read.errors).toBe(0);
		expect(r.errors.first.every((e) => e.code === 'EIO' && e.source === 'replication' && e.op === Op.write)).toBe(true);
		expect(num(sim, 'failedWrites')).toBe(failedDuring);
		// The journal never overflowed: fail mode never acknowledges an unreplicated write.
		expect(num(sim, 'overflows')).toBe(0);
		expect(num(sim, 'degradedWrites')).toBe(0);
		expectReplicaEqualsSource(sim);
	});
});

describe('replication: async', { timeout: 60_000 }, () => {
	it('writes complete at local speed; lag grows when the write rate exceeds the link', async () => {
		// 10 Mbit/s = 1.25 MB/s; ~8.5 KB average writes.
		const slow = await create(scenario({ mode: 'async' }, workload({ runtimeUs: 1_000_000, rateIops: 80, qd: 4, mix: 10 }), { mbitPerSec: 10 }));
		const fast = await create(scenario({ mode: 'async' }, workload({ runtimeUs: 1_000_000, rateIops: 1000, qd: 4, mix: 10 }), { mbitPerSec: 10 }));
		const samples = async (sim: Simulation) => {
			const out: { lag: number; rpo: number }[] = [];
			for (const t of [250_000, 500_000, 750_000, 1_000_000]) {
				await sim.run({ untilUs: t });
				out.push({ lag: num(sim, 'lagBytes'), rpo: num(sim, 'rpoUs') });
			}
			await sim.run();
			return out;
		};
		const s = await samples(slow);
		const f = await samples(fast);
		// Below the bandwidth the lag stays around one message.
		for (const x of s) expect(x.rpo).toBeLessThan(60_000);
		// Above it, the journal and the RPO keep growing.
		for (let i = 1; i < f.length; i++) {
			expect(f[i].lag).toBeGreaterThan(f[i - 1].lag);
			expect(f[i].rpo).toBeGreaterThan(f[i - 1].rpo);
		}
		expect(f[3].rpo).toBeGreaterThan(400_000);
		expect(f[3].lag).toBeGreaterThan(3 * 2 ** 20);
		const rf = runResult(fast);
		clean(rf);
		expect(rf.ops.write.latencyUs.p50).toBeLessThan(1_000);
		clean(runResult(slow));
		await drainReplication(fast);
		expect(num(fast, 'rpoUs')).toBe(0);
		expect(num(fast, 'lagBytes')).toBe(0);
		expect(num(fast, 'appliedSeq')).toBe(num(fast, 'lastSeq'));
		expect(num(fast, 'overflows')).toBe(0);
		expectReplicaEqualsSource(fast);
	});

	it('the replica is always a write-order prefix of the source', async () => {
		// A probe above replication records every write in the order replication sees it.
		const writes: { lba: number; data: Uint8Array }[] = [];
		const probe: FilterDef = {
			contract: FILTER_CONTRACT_VERSION,
			name: 'probe',
			vendor: 'test',
			version: '1',
			class: 'inspection',
			description: 'records writes',
			params: [],
			attach: () => ({}),
			onIo(io) {
				if (io.op === Op.write) writes.push({ lba: io.lba, data: io.data!.slice() });
				return PASS;
			}
		};
		const sc = scenario({ mode: 'async', shipBatchKiB: 32 }, workload({ runtimeUs: 1_500_000, rateIops: 800, mix: 20, region: 2 * 2 ** 20 }), { mbitPerSec: 40 });
		sc.vms[0].disks[0].policy!.filters!.unshift({ type: 'probe' });
		const sim = await create(sc, { registry: builtinRegistry().register(probe) });
		const rep = replicationOf(sim);
		const replica = rep.replica.store as MemoryBlockStore;
		const replay = new MemoryBlockStore(sim.disk().info.sectors);
		let replayed = 0;
		let lastApplied = 0;
		let checks = 0;
		let partial = 0;
		let seen = 0;
		const blocks = new Set<number>();
		const a = new Uint8Array(4096);
		const b = new Uint8Array(4096);
		for (let t = 37_000; t < 1_600_000; t += 29_000 + ((t * 7) % 23_000)) {
			await sim.run({ untilUs: t });
			const applied = rep.remote.appliedSeq;
			expect(applied).toBeGreaterThanOrEqual(lastApplied);
			expect(applied).toBeLessThanOrEqual(writes.length);
			expect(rep.remote.consistent).toBe(true);
			lastApplied = applied;
			while (replayed < applied) {
				const w = writes[replayed++];
				replay.write(w.lba, w.data);
			}
			if (applied < writes.length) partial++;
			// Every block any write touched so far: the replica holds exactly the prefix's bytes.
			for (; seen < writes.length; seen++) {
				const w = writes[seen];
				const end = w.lba + w.data.length / SECTOR_BYTES;
				for (let k = Math.floor(w.lba / 8); k * 8 < end; k++) blocks.add(k);
			}
			for (const k of blocks) {
				replay.read(k * 8, a);
				replica.read(k * 8, b);
				if (!sameBytes(a, b)) expect.fail(`block ${k} differs from the replay of writes 1..${applied}`);
			}
			checks++;
		}
		expect(checks).toBeGreaterThan(20);
		// The replica really lagged behind at most of the moments checked (not a trivial prefix).
		expect(partial).toBeGreaterThan(checks / 2);
		expect(lastApplied).toBeGreaterThan(200);
		await sim.run();
		clean(runResult(sim));
	});
});

describe('replication: unmap', { timeout: 60_000 }, () => {
	it('unmaps replicate in order, and a point before an unmap still has the data', async () => {
		// A filter above replication writes a pattern far from the guest's region, then unmaps an
		// unaligned range of it (its own I/O goes through replication like any other).
		const BASE = 65_536; // sector of 32 MiB
		const pattern = new Uint8Array(64 * 1024);
		for (let i = 0; i < pattern.length; i++) pattern[i] = (i * 7 + 3) & 0xff;
		const trimmer: FilterDef = {
			contract: FILTER_CONTRACT_VERSION,
			name: 'trimmer',
			vendor: 'test',
			version: '1',
			class: 'inspection',
			description: 'writes then unmaps',
			params: [],
			attach(ctx) {
				ctx.after(50_000, () => ctx.submitBelow(Op.write, BASE, 128, pattern, () => undefined));
				ctx.after(400_000, () => ctx.submitBelow(Op.unmap, BASE + 13, 37, undefined, () => undefined));
				return {};
			},
			onIo: () => PASS
		};
		const sc = scenario({ mode: 'async' }, workload({ runtimeUs: 700_000, rateIops: 300, region: 2 * 2 ** 20 }));
		sc.vms[0].disks[0].policy!.filters!.unshift({ type: 'trimmer' });
		const sim = await create(sc, { registry: builtinRegistry().register(trimmer) });
		await sim.run({ untilUs: 200_000 });
		const p = await consistencyPoint(sim, KEY, { type: 'bookmark', label: 'before-unmap' });
		await sim.run();
		await drainReplication(sim);
		clean(runResult(sim));
		expectReplicaEqualsSource(sim);
		const replica = replicationOf(sim).replica.store as MemoryBlockStore;
		const got = new Uint8Array(64 * 1024);
		replica.read(BASE, got);
		const want = pattern.slice();
		want.fill(0, 13 * SECTOR_BYTES, 50 * SECTOR_BYTES);
		expect(sameBytes(got, want)).toBe(true);
		// At the point (before the unmap) the image still holds the whole pattern.
		const f = await testFailover(sim, KEY, p.id);
		// The guest never wrote there (the filter did), so the guest's view differs exactly on the
		// blocks the unmap touched (sectors 8..55 of the pattern); everywhere else it matches.
		expect(f.mismatches).toBe(48);
		expect(f.firstMismatch!.sector).toBe(BASE + 8);
		expect(f.sectorsChecked).toBeGreaterThan(500);
		await f.image.read(BASE, got);
		expect(sameBytes(got, pattern)).toBe(true);
	});
});

describe('replication: consistency points and test failover', { timeout: 60_000 }, () => {
	it('recovers every point in the retention window with zero mismatches', async () => {
		const sim = await create(scenario({ mode: 'async', retentionSec: 30 }, workload({ runtimeUs: 1_600_000, rateIops: 600, mix: 30, region: 1 * 2 ** 20 }), { mbitPerSec: 50 }));
		const pts: { id: number; expected: ExpectedState }[] = [];
		await sim.run({ untilUs: 400_000 });
		pts.push(await consistencyPoint(sim, KEY, { type: 'bookmark', label: 'before-upgrade' }));
		await sim.run({ untilUs: 800_000 });
		pts.push(await consistencyPoint(sim, KEY, { type: 'snapshot-create', snapshot: 's1' }));
		await sim.run({ untilUs: 1_200_000 });
		pts.push(await consistencyPoint(sim, KEY, { type: 'bookmark', label: 'after-upgrade' }));
		await sim.run();
		await drainReplication(sim);
		clean(runResult(sim));
		const listed = listPoints(sim);
		expect(listed.map((p) => p.label)).toEqual(['before-upgrade', 's1', 'after-upgrade']);
		expect(listed.map((p) => p.kind)).toEqual(['bookmark', 'snapshot', 'bookmark']);
		expect(listed.every((p) => p.verifiable)).toBe(true);
		for (const p of pts) {
			const f = await testFailover(sim, KEY, p.id);
			expect(f.mismatches).toBe(0);
			expect(f.sectorsChecked).toBeGreaterThan(500);
		}
		// By label too.
		expect((await testFailover(sim, KEY, 's1')).mismatches).toBe(0);
		// The rollback really happened: the first point's image is not today's disk, and the
		// current replica does not match the first point.
		const first = await testFailover(sim, KEY, pts[0].id, sim.disk().expected);
		expect(first.mismatches).toBeGreaterThan(100);
		// The image reader returns the point's bytes: equal to the source at no point after.
		expect(num(sim, 'points')).toBe(3);
		expect(num(sim, 'pointsLost')).toBe(0);
		expect(num(sim, 'historyBytes')).toBeGreaterThan(1 * 2 ** 20);
		expectReplicaEqualsSource(sim);
	});

	it('points older than the retention window are dropped; newer ones stay recoverable', async () => {
		const sim = await create(scenario({ mode: 'async', retentionSec: 0.5 }, workload({ runtimeUs: 1_400_000, rateIops: 400, region: 1 * 2 ** 20 }), { mbitPerSec: 50 }));
		await sim.run({ untilUs: 200_000 });
		const old = await consistencyPoint(sim, KEY, { type: 'bookmark', label: 'old' });
		await sim.run({ untilUs: 1_100_000 });
		const recent = await consistencyPoint(sim, KEY, { type: 'bookmark', label: 'recent' });
		await sim.run();
		await drainReplication(sim);
		clean(runResult(sim));
		expect(listPoints(sim).map((p) => p.label)).toEqual(['recent']);
		expect(num(sim, 'pointsExpired')).toBe(1);
		await expect(testFailover(sim, KEY, old.id)).rejects.toThrow(/retention window/);
		// A DR failover to it says why it cannot, by label and by id.
		await expect(sim.cluster.drFailover('vm-01', undefined, { point: 'old' })).rejects.toThrow(/"old" of vm-01\/disk-0 \(taken at 0\.2\d* s\) has expired/);
		await expect(sim.cluster.drFailover('vm-01', undefined, { point: old.id })).rejects.toThrow(/has expired: it left the journal's retention window/);
		const f = await testFailover(sim, KEY, recent.id);
		expect(f.mismatches).toBe(0);
		expect(f.sectorsChecked).toBeGreaterThan(100);
		expect(num(sim, 'windowUs')).toBeLessThanOrEqual(600_000);
	});
});

describe('replication: link outage', { timeout: 60_000 }, () => {
	it('journal up to its bound, then the bitmap, then a resync: the replica equals the source again', async () => {
		const sim = await create(
			scenario({ mode: 'async', journalMaxMiB: 1, retentionSec: 30 }, workload({ runtimeUs: 2_500_000, rateIops: 500, mix: 30, region: 4 * 2 ** 20 }), { mbitPerSec: 100 })
		);
		const rep = replicationOf(sim);
		await sim.run({ untilUs: 300_000 });
		const pre = await consistencyPoint(sim, KEY, { type: 'bookmark', label: 'pre-outage' });
		await sim.run({ untilUs: 500_000 });
		expect(num(sim, 'rpoUs')).toBeLessThan(50_000);
		rep.link.up = false;
		// Short outage: the journal holds it.
		await sim.run({ untilUs: 600_000 });
		expect(stat(sim, 'linkState')).toBe('down');
		expect(stat(sim, 'state')).toBe('journal');
		const j1 = num(sim, 'journalBytes');
		expect(j1).toBeGreaterThan(100_000);
		expect(num(sim, 'rpoUs')).toBeGreaterThan(80_000);
		// Longer: the journal hits its bound and the filter falls back to the bitmap.
		await sim.run({ untilUs: 1_400_000 });
		expect(num(sim, 'overflows')).toBe(1);
		expect(stat(sim, 'state')).toBe('bitmap');
		expect(num(sim, 'journalBytes')).toBeLessThanOrEqual(2 ** 20);
		expect(num(sim, 'dirtyBlocks')).toBeGreaterThan(200);
		expect(num(sim, 'rpoUs')).toBeGreaterThan(800_000);
		// Still consistent (stale) before the resync starts.
		expect(num(sim, 'consistent')).toBe(1);
		const points = await consistencyPoint(sim, KEY, { type: 'bookmark', label: 'during-outage' });
		expect(num(sim, 'pointsLost')).toBe(1);
		rep.link.up = true;
		// Resync: the replica is not write-order consistent until it is over.
		let sawInconsistent = false;
		let sawResync = false;
		for (let t = 1_420_000; t < 2_500_000; t += 10_000) {
			await sim.run({ untilUs: t });
			if (num(sim, 'consistent') === 0) sawInconsistent = true;
			if (stat(sim, 'state') === 'resync' || stat(sim, 'state') === 'catchup') sawResync = true;
			expect(num(sim, 'rpoUs')).toBeGreaterThanOrEqual(0);
		}
		expect(sawInconsistent).toBe(true);
		expect(sawResync).toBe(true);
		await sim.run();
		await drainReplication(sim);
		clean(runResult(sim));
		expect(stat(sim, 'state')).toBe('journal');
		expect(num(sim, 'consistent')).toBe(1);
		expect(num(sim, 'resyncs')).toBe(1);
		expect(num(sim, 'resyncedBytes')).toBeGreaterThan(200 * 4096);
		expect(num(sim, 'dirtyBlocks')).toBe(0);
		expect(num(sim, 'trackedBlocks')).toBe(0);
		expect(num(sim, 'rpoUs')).toBe(0);
		expectReplicaEqualsSource(sim);
		// A point taken before the outage survives the resync (the history undoes it too).
		expect((await testFailover(sim, KEY, pre.id)).mismatches).toBe(0);
		expect(points.id).toBeGreaterThan(pre.id);
		await expect(testFailover(sim, KEY, points.id)).rejects.toThrow();
	});
});

describe('replication: resync under load', { timeout: 60_000 }, () => {
	it('blocks rewritten while their resync read is in flight are shipped again', async () => {
		// A small hot region, written hard while the resync reads it back, on a datastore whose
		// writes take longer than its reads: a resync read can overtake a write issued before it.
		const sc = scenario({ mode: 'async', journalMaxMiB: 0.25, resyncChunkKiB: 64 }, workload({ runtimeUs: 1_200_000, rateIops: 2500, qd: 16, mix: 20, region: 512 * 1024 }), { mbitPerSec: 100 });
		sc.vms[0].disks[0].datastore = { kind: 'nvme', params: { writeLatencyUs: 1500, readLatencyUs: 40 } };
		const sim = await create(sc);
		const rep = replicationOf(sim);
		await sim.run({ untilUs: 200_000 });
		rep.link.up = false;
		await sim.run({ untilUs: 500_000 });
		expect(stat(sim, 'state')).toBe('bitmap');
		rep.link.up = true;
		await sim.run();
		await drainReplication(sim);
		clean(runResult(sim));
		expect(num(sim, 'resyncedBytes')).toBeGreaterThan(2 ** 20);
		expect(num(sim, 'consistent')).toBe(1);
		expectReplicaEqualsSource(sim);
	});
});

describe('replication: persistence', { timeout: 60_000 }, () => {
	it('a restart resynchronises what the replica lacked and keeps the consistency points', async () => {
		const stores = new MemoryStoreFactory();
		const sc1 = scenario({ mode: 'async', journalMaxMiB: 1, retentionSec: 60 }, workload({ runtimeUs: 1_000_000, rateIops: 500, region: 4 * 2 ** 20 }));
		const sim1 = await create(sc1, { stores });
		await sim1.run({ untilUs: 300_000 });
		const p = await consistencyPoint(sim1, KEY, { type: 'snapshot-create', snapshot: 'before-restart' });
		await sim1.run({ untilUs: 500_000 });
		replicationOf(sim1).link.up = false;
		await sim1.run();
		// The workload is over with writes only in the journal (memory) and the bitmap.
		clean(runResult(sim1));
		expect(num(sim1, 'overflows')).toBeGreaterThan(0);
		expect(num(sim1, 'trackedBlocks')).toBeGreaterThan(100);
		const lastSeq = num(sim1, 'lastSeq');

		// The host restarts: a new simulation over the same stores, a short read-mostly workload.
		const sc2 = scenario({ mode: 'async', journalMaxMiB: 1, retentionSec: 60 }, workload({ ios: 300, mix: 70, region: 4 * 2 ** 20 }), {}, 12);
		const sim2 = await create(sc2, { stores, expected: sim1.disk().expected });
		expect(num(sim2, 'trackedBlocks')).toBeGreaterThan(100);
		expect(num(sim2, 'lastSeq')).toBeGreaterThanOrEqual(lastSeq - 100);
		expect(listPoints(sim2).map((x) => x.label)).toEqual(['before-restart']);
		await sim2.run();
		await drainReplication(sim2);
		clean(runResult(sim2));
		expect(num(sim2, 'resyncs')).toBe(1);
		expect(num(sim2, 'consistent')).toBe(1);
		expect(num(sim2, 'trackedBlocks')).toBe(0);
		expectReplicaEqualsSource(sim2);
		// The point from before the restart is still recoverable.
		const f = await testFailover(sim2, KEY, p.id, p.expected);
		expect(f.mismatches).toBe(0);
		expect(f.sectorsChecked).toBeGreaterThan(100);
	});

	it('works the same over asynchronous stores and sidecars (outage, resync, restart, failover)', async () => {
		const sc = scenario({ mode: 'async', journalMaxMiB: 0.5 }, workload({ runtimeUs: 900_000, rateIops: 400, region: 2 * 2 ** 20 }));
		const once = async () => {
			const stores = new AsyncStores();
			const sim = await create(sc, { stores: stores as unknown as MemoryStoreFactory });
			await sim.run({ untilUs: 200_000 });
			const p = await consistencyPoint(sim, KEY, { type: 'bookmark', label: 'p' });
			await sim.run({ untilUs: 350_000 });
			expect(listPoints(sim).map((x) => x.label)).toEqual(['p']);
			replicationOf(sim).link.up = false;
			await sim.run();
			expect(num(sim, 'overflows')).toBe(1);
			clean(runResult(sim));
			const sim2 = await create(scenario({ mode: 'async' }, workload({ ios: 200, region: 2 * 2 ** 20 })), {
				stores: stores as unknown as MemoryStoreFactory,
				expected: sim.disk().expected
			});
			await sim2.run();
			await drainReplication(sim2);
			clean(runResult(sim2));
			expect(num(sim2, 'consistent')).toBe(1);
			expectReplicaEqualsSource(sim2, stores.inner);
			expect((await testFailover(sim2, KEY, p.id, p.expected)).mismatches).toBe(0);
			return runResult(sim).traceDigest + runResult(sim2).traceDigest;
		};
		expect(await once()).toBe(await once());
	});

	it('is deterministic: same scenario and seed, same trace digest', async () => {
		const sc = scenario({ mode: 'sync' }, workload({ ios: 300 }), { rttUs: 5_000 });
		const a = await create(sc);
		await a.run();
		const b = await create(sc);
		await b.run();
		expect(runResult(a).traceDigest).toBe(runResult(b).traceDigest);
		expect(num(a, 'shippedBytes')).toBe(num(b, 'shippedBytes'));
	});
});
