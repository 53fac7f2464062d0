import { describe, expect, it } from 'vitest';
import type { FilterInstance } from '../engine/chain';
import { Op, SECTOR_BYTES } from '../engine/io';
import { runResult } from '../engine/result';
import type { ScenarioInput } from '../engine/scenario/schema';
import { Simulation } from '../engine/simulation';
import { MemoryStoreFactory } from '../engine/storage/memory';
import { ExpectedState } from '../engine/verify';
import { builtinRegistry } from './index';
import type { TieringState } from './tiering';

const KEY = 'vm-01/disk-0';
type Workloads = NonNullable<ScenarioInput['vms'][number]['disks'][number]['workload']>;
type Params = Record<string, number>;

/** Odd sizes (6656 = 13 sectors, 1536) on 512-byte boundaries: unaligned to extents and blocks. */
const BSSPLIT = [
	{ bs: 4096, pct: 35 },
	{ bs: 6656, pct: 30 },
	{ bs: 1536, pct: 15 },
	{ bs: 16384, pct: 10 },
	{ bs: 36864, pct: 10 }
];

function zipf(o: { region: number; ios: number; theta?: number; rw?: 'randrw' | 'randread'; mix?: number; qd?: number }): Workloads {
	return [
		{
			rw: o.rw ?? 'randrw',
			rwmixread: o.mix ?? 70,
			size: o.region,
			bssplit: BSSPLIT,
			blockalign: 512,
			iodepth: o.qd ?? 8,
			ios: o.ios,
			randomDistribution: { kind: 'zipf', theta: o.theta ?? 1.2 }
		}
	];
}

type Device = { kind: 'nvme' | 'sata-ssd' | 'hdd'; params?: Record<string, number> };

function scenario(params: Params, workload: Workloads, seed = 7, devices: { datastore?: Device; fast?: Device } = {}): ScenarioInput {
	return {
		version: 1,
		name: 'tiering-test',
		seed,
		vms: [
			{
				name: 'vm-01',
				disks: [
					{
						name: 'disk-0',
						size: '1g',
						datastore: devices.datastore ?? { kind: 'hdd' },
						policy: { filters: [{ type: 'tiering', params, devices: devices.fast ? { fast: devices.fast } : {} }] },
						workload
					}
				]
			}
		]
	};
}

async function create(sc: ScenarioInput, stores = new MemoryStoreFactory(), expected?: ExpectedState): Promise<Simulation> {
	return Simulation.create(sc, {
		registry: builtinRegistry(),
		stores,
		expected: expected ? new Map([[KEY, expected]]) : undefined
	});
}

function tier(sim: Simulation): FilterInstance {
	return sim.disk().chain.filters.find((f) => f.def.name === 'tiering')!;
}
function state(sim: Simulation): TieringState {
	return tier(sim).state as TieringState;
}
function stat(sim: Simulation, name: string): number {
	return tier(sim).status()[name] as number;
}
function placement(sim: Simulation): [number, number][] {
	const st = state(sim);
	const out: [number, number][] = [];
	st.slotOwner.forEach((e, sl) => {
		if (e >= 0) out.push([e, sl]);
	});
	return out;
}

/**
 * Reads the first `sectors` of the disk straight from the stores, extent by extent, and counts
 * the sectors that differ from what the guest expects. `tiers`: each extent from the tier the
 * placement map names; `capacity`: everything from the datastore (the VMDK alone).
 */
function imageMismatches(sim: Simulation, sectors: number, via: 'tiers' | 'capacity'): number {
	const d = sim.disk();
	const st = state(sim);
	const expected = ExpectedState.fromJSON(d.expected.toJSON());
	let bad = 0;
	for (let e = 0; e * st.S < sectors; e++) {
		const len = Math.min(st.S, sectors - e * st.S);
		const buf = new Uint8Array(len * SECTOR_BYTES);
		const x = st.ext.get(e);
		if (via === 'tiers' && x !== undefined && x.slot >= 0) void st.fast.store!.read(x.slot * st.S, buf);
		else void d.store.read(e * st.S, buf);
		bad += expected.checkRead(e * st.S, len, buf, -1);
	}
	return bad;
}

function expectClean(sim: Simulation): ReturnType<typeof runResult> {
	const r = runResult(sim);
	expect(r.errors.count).toBe(0);
	expect(r.verify.mismatches).toBe(0);
	expect(stat(sim, 'migrationErrors')).toBe(0);
	return r;
}

const MiB = 2 ** 20;

// Whole-run tests: generous timeouts, the machine running them may be shared.
describe('tiering filter', { timeout: 60_000 }, () => {
	it('ends a zipf:1.2 workload with most hot I/O on the fast tier', async () => {
		// 256 MiB of zipf:1.2 over a 16 MiB fast tier (1/16 of the region) in 64 KiB extents.
		const sim = await create(
			scenario({ extentKiB: 64, fastCapacityMiB: 16, halfLifeMs: 2000, migrationMBps: 64 }, zipf({ region: 256 * MiB, ios: 10_000 }))
		);
		// Every completed guest read/write, to compute what the best possible placement would give.
		const done: { t: number; lba: number; sectors: number }[] = [];
		sim.disk().guest.onComplete = (io) => {
			if (io.op === Op.read || io.op === Op.write) done.push({ t: sim.sched.now, lba: io.lba, sectors: io.sectors });
		};
		const slices: { t: number; fast: number; all: number }[] = [];
		for (let t = 1e6; ; t += 1e6) {
			const finished = await sim.run({ untilUs: t });
			const s = tier(sim).status();
			slices.push({ t, fast: s.fastIos as number, all: (s.fastIos as number) + (s.capacityIos as number) + (s.splitIos as number) });
			if (finished) break;
		}
		expectClean(sim);
		const total = slices[slices.length - 1].all;
		const first = slices[0].fast / slices[0].all;
		// The last quarter of the run's I/Os, on slice boundaries.
		const k = slices.findIndex((s) => s.all >= 0.75 * total);
		const from = slices[k];
		const last = slices[slices.length - 1];
		const lastShare = (last.fast - from.fast) / (last.all - from.all);

		// The best static placement for those same I/Os: the 256 extents they touch most.
		const S = 128;
		const window = done.filter((d) => d.t > from.t);
		const hits = new Map<number, number>();
		for (const d of window)
			for (let e = Math.floor(d.lba / S); e <= Math.floor((d.lba + d.sectors - 1) / S); e++) hits.set(e, (hits.get(e) ?? 0) + 1);
		const best = new Set([...hits].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, 256).map(([e]) => e));
		let oracle = 0;
		for (const d of window) {
			let all = true;
			for (let e = Math.floor(d.lba / S); e <= Math.floor((d.lba + d.sectors - 1) / S); e++) if (!best.has(e)) all = false;
			if (all) oracle++;
		}
		const oracleShare = oracle / window.length;

		// Measured (seed 7): first second 0.34, last quarter 0.75, oracle 0.83 (seeds 1-5: last
		// quarter 0.74-0.77). The workload generator scatters zipf's hot 512-byte units over the
		// region, so even the best 256 extents, chosen with hindsight on the window's own I/Os,
		// serve only ~83 %; an online policy that must first see heat stays a few points below.
		// A uniform workload would give 16/256 = 6 %.
		expect(first).toBeLessThan(0.45);
		expect(lastShare).toBeGreaterThan(0.65);
		expect(lastShare - first).toBeGreaterThan(0.3);
		expect(lastShare).toBeGreaterThan(0.85 * oracleShare);
		expect(stat(sim, 'fastExtents')).toBeGreaterThanOrEqual(250);
		expect(stat(sim, 'fastShareRecent')).toBeGreaterThan(0.65);
		expect(stat(sim, 'fastShareRead')).toBeGreaterThan(0.5);
		expect(stat(sim, 'fastShareWrite')).toBeGreaterThan(0.5);
	});

	// Garbage-collection stalls make SSDs complete requests out of order: a copy's read may
	// overtake a guest write issued before it, unless the copy waits for writes in flight.
	const STALLS = { stallProb: 0.3, stallUs: 5000 };
	it.each([
		['an HDD datastore', {}],
		['SSD tiers that reorder', { datastore: { kind: 'sata-ssd', params: STALLS }, fast: { kind: 'nvme', params: STALLS } }]
	] as [string, { datastore?: Device; fast?: Device }][])('keeps every byte right with mixed unaligned I/O over tiers and during migrations (%s)', async (_name, devices) => {
		// 16 KiB extents (a 36 KiB I/O spans three), a 1 MiB fast tier of 64 slots over 8 MiB of
		// zipf:0.9, fast decay and a high migration rate: constant churn under guest I/O.
		const sim = await create(
			scenario(
				{ extentKiB: 16, fastCapacityMiB: 1, halfLifeMs: 200, migrationMBps: 200, promoteMinHeat: 1, hysteresis: 0.1, migrationConcurrency: 8 },
				zipf({ region: 8 * MiB, ios: 6000, theta: 0.9, mix: 50, qd: 16 }),
				7,
				devices
			)
		);
		await sim.run();
		const r = expectClean(sim);
		const s = tier(sim).status();
		expect(r.verify.reads).toBeGreaterThan(2500);
		expect(s.splitIos as number).toBeGreaterThan(100);
		expect(s.fastIos as number).toBeGreaterThan(1000);
		expect(s.promotions as number).toBeGreaterThan(100);
		// Demotions of written extents copy data back; writes arrived while extents moved.
		expect((s.demotions as number) - (s.cleanDemotions as number)).toBeGreaterThan(20);
		expect(s.heldTotal as number).toBeGreaterThan(5);
		expect(s.ioDuringMigration as number).toBeGreaterThan(5);
		expect(s.heldIos).toBe(0);
		// The stores, read through the placement map, hold exactly what the guest wrote.
		expect(imageMismatches(sim, (8 * MiB) / SECTOR_BYTES, 'tiers')).toBe(0);
		// ... and the datastore alone does not (dirty extents live on the fast tier only).
		expect(imageMismatches(sim, (8 * MiB) / SECTOR_BYTES, 'capacity')).toBeGreaterThan(0);
	});

	it('moves no more than migrationMBps × time + one extent', async () => {
		// Every touched extent qualifies (promoteMinHeat 0) and the fast tier never fills: the
		// bandwidth is the only limit.
		const rate = 4; // MB/s = bytes per µs
		const extent = 64 * 1024;
		const sim = await create(
			scenario(
				{ extentKiB: 64, fastCapacityMiB: 256, migrationMBps: rate, promoteMinHeat: 0, migrationConcurrency: 8 },
				zipf({ region: 256 * MiB, ios: 3000, theta: 0.8 })
			)
		);
		let checks = 0;
		for (let t = 250_000; ; t += 250_000) {
			const finished = await sim.run({ untilUs: t });
			expect(stat(sim, 'bytesMoved')).toBeLessThanOrEqual(rate * sim.sched.now + extent);
			checks++;
			if (finished) break;
		}
		expectClean(sim);
		expect(checks).toBeGreaterThan(20);
		// The bound is reached, not merely respected: the migrator used the bandwidth it had.
		expect(stat(sim, 'bytesMoved')).toBeGreaterThan(0.8 * rate * sim.sched.now);
		expect(stat(sim, 'fastExtents')).toBeLessThan(4096);
	});

	it('restores placement and heat from the sidecar: data reads back from the right tier', async () => {
		const stores = new MemoryStoreFactory();
		const params = { extentKiB: 64, fastCapacityMiB: 4, halfLifeMs: 1000, migrationMBps: 64 };
		const region = 64 * MiB;
		const sim1 = await create(scenario(params, zipf({ region, ios: 4000, mix: 50 })), stores);
		await sim1.run();
		expectClean(sim1);
		const map1 = placement(sim1);
		expect(map1.length).toBeGreaterThan(30);
		expect(stat(sim1, 'dirtyFastExtents')).toBeGreaterThan(10);
		// The datastore alone is stale: reading from the wrong tier would show.
		expect(imageMismatches(sim1, region / SECTOR_BYTES, 'capacity')).toBeGreaterThan(0);

		// A crash (no power-off), then a restart with another extent size: the stored geometry wins.
		const sim2 = await create(scenario({ ...params, extentKiB: 128 }, zipf({ region, ios: 2000, rw: 'randread' }), 11), stores, sim1.disk().expected);
		expect(placement(sim2)).toEqual(map1);
		expect(stat(sim2, 'extentKiB')).toBe(64);
		expect(stat(sim2, 'dirtyFastExtents')).toBe(map1.length); // after a crash every fast extent counts as dirty
		expect(stat(sim2, 'trackedExtents')).toBeGreaterThan(30); // the heat table came back
		const hottest = [...map1].map(([e]) => state(sim2).policy.heat(e, 0));
		expect(Math.max(...hottest)).toBeGreaterThan(1);
		const readsBefore = sim2.disk().expected.reads;
		await sim2.run();
		const r2 = expectClean(sim2);
		expect(r2.verify.reads).toBe(2000 + readsBefore);
		expect(stat(sim2, 'fastShareRead')).toBeGreaterThan(0.4);

		// A clean shutdown keeps the clean flags: snapshot-create copies dirty extents back
		// (the VMDK is complete), power-off records a clean shutdown.
		const dirty = stat(sim2, 'dirtyFastExtents');
		expect(dirty).toBeGreaterThan(10);
		await sim2.control(KEY, { type: 'snapshot-create', snapshot: 's1' });
		expect(stat(sim2, 'dirtyFastExtents')).toBe(0);
		expect(stat(sim2, 'syncs')).toBe(dirty);
		expect(imageMismatches(sim2, region / SECTOR_BYTES, 'capacity')).toBe(0);
		await sim2.control(KEY, { type: 'power-off' });
		// Restarted with half the fast tier: the coldest extents go back to capacity.
		const sim3 = await create(scenario({ ...params, fastCapacityMiB: 2 }, zipf({ region, ios: 1500, mix: 50 }), 12), stores, sim2.disk().expected);
		expect(stat(sim3, 'dirtyFastExtents')).toBe(0);
		expect(placement(sim3)).toEqual(placement(sim2));
		await sim3.run();
		expectClean(sim3);
		expect(stat(sim3, 'fastExtents')).toBeLessThanOrEqual(32);
		expect(stat(sim3, 'demotions')).toBeGreaterThanOrEqual(placement(sim2).length - 32);
		expect(imageMismatches(sim3, region / SECTOR_BYTES, 'tiers')).toBe(0);
	});

	it('detach copies the fast tier back: the datastore alone holds the disk', async () => {
		const region = 32 * MiB;
		const sim = await create(scenario({ extentKiB: 64, fastCapacityMiB: 2, halfLifeMs: 1000 }, zipf({ region, ios: 2500, mix: 40 })));
		await sim.run();
		expectClean(sim);
		expect(stat(sim, 'dirtyFastExtents')).toBeGreaterThan(5);
		expect(imageMismatches(sim, region / SECTOR_BYTES, 'capacity')).toBeGreaterThan(0);
		await sim.control(KEY, { type: 'detach' });
		expect(stat(sim, 'fastExtents')).toBe(0);
		expect(imageMismatches(sim, region / SECTOR_BYTES, 'capacity')).toBe(0);
	});

	it('is deterministic: same scenario and seed, same trace and counters', async () => {
		const sc = scenario(
			{ extentKiB: 16, fastCapacityMiB: 1, halfLifeMs: 200, migrationMBps: 100, promoteMinHeat: 1 },
			zipf({ region: 4 * MiB, ios: 1500, theta: 0.9, mix: 50 })
		);
		const a = await create(sc);
		await a.run();
		const b = await create(sc);
		await b.run();
		const ra = runResult(a);
		const rb = runResult(b);
		expect(ra.traceDigest).toBe(rb.traceDigest);
		expect(ra.filters.tiering).toEqual(rb.filters.tiering);
		expect(ra.filters.tiering.promotions as number).toBeGreaterThan(10);
	});
});
