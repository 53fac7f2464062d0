import { describe, expect, it } from 'vitest';
import { ChainIo } from '../engine/chain';
import { Op, parseSize } from '../engine/io';
import { runResult, type RunResult } from '../engine/result';
import { Simulation } from '../engine/simulation';
import { MemoryStoreFactory } from '../engine/storage/memory';
import type { ExpectedState } from '../engine/verify';
import { builtinRegistry } from '.';
import { CHUNK_SLOTS, chunkKey, type CacheEngine } from './cache';
import { POLICY_NAMES, createPolicy, type ArcPolicy, type CachePolicy } from './cache/policies';

const KEY = 'vm-01/disk-0';
type Json = Record<string, unknown>;

interface DiskOpts {
	cache?: Json | null;
	datastore?: Json;
	ssd?: Json;
	size?: string;
}

function scenario(workload: Json[], o: DiskOpts = {}): Json {
	const filters =
		o.cache === null ? [] : [{ type: 'cache', params: o.cache ?? {}, ...(o.ssd ? { devices: { ssd: o.ssd } } : {}) }];
	return {
		version: 1,
		name: 'cache-test',
		seed: 11,
		vms: [
			{
				name: 'vm-01',
				disks: [{ name: 'disk-0', size: o.size ?? '16m', datastore: o.datastore ?? { kind: 'nvme' }, policy: { filters }, workload }]
			}
		]
	};
}

async function create(s: Json, stores: MemoryStoreFactory, expected?: ExpectedState): Promise<Simulation> {
	return Simulation.create(s, {
		registry: builtinRegistry(),
		stores,
		...(expected ? { expected: new Map([[KEY, expected]]) } : {})
	});
}

async function run(s: Json, stores = new MemoryStoreFactory(), expected?: ExpectedState): Promise<{ sim: Simulation; r: RunResult; c: Json }> {
	const sim = await create(s, stores, expected);
	await sim.run();
	const r = runResult(sim);
	return { sim, r, c: r.filters.cache ?? {} };
}

function engine(sim: Simulation): CacheEngine {
	const f = sim.disk().chain.filters.find((x) => x.def.name === 'cache');
	if (!f) throw new Error('no cache filter');
	return f.state as CacheEngine;
}

function clean(r: RunResult): void {
	expect(r.verify.mismatches).toBe(0);
	expect(r.errors.count).toBe(0);
}

/** Reads the whole region back without any filter and returns the new mismatches. */
async function verifyDatastore(stores: MemoryStoreFactory, expected: ExpectedState, size: string): Promise<number> {
	const before = expected.mismatches;
	const readsBefore = expected.reads;
	const ios = Math.ceil(parseSize(size) / 65536);
	const { r } = await run(scenario([{ rw: 'read', bs: '64k', size, iodepth: 4, ios }], { cache: null }), stores, expected);
	expect(r.errors.count).toBe(0);
	expect(expected.reads).toBeGreaterThan(readsBefore);
	return expected.mismatches - before;
}

const UNALIGNED = [
	{ bs: 6656, pct: 35 },
	{ bs: 4096, pct: 25 },
	{ bs: 512, pct: 10 },
	{ bs: 1536, pct: 10 },
	{ bs: 20480, pct: 20 }
];

// Whole-run tests: generous timeouts, the machine running them may be shared.
describe('cache filter: reads', { timeout: 60_000 }, () => {
	it('a second pass over a small region hits ~100% and never reaches the datastore', async () => {
		const stores = new MemoryStoreFactory();
		// Fill 1 MiB without the cache, then read it twice through the cache.
		const w = await run(scenario([{ rw: 'write', bs: '64k', size: '1m', iodepth: 4, ios: 16 }], { cache: null }), stores);
		clean(w.r);
		const { sim, r, c } = await run(
			scenario([{ rw: 'read', bs: '4k', size: '1m', iodepth: 4, ios: 512 }], { cache: { mode: 'write-through' } }),
			stores,
			w.sim.disk().expected
		);
		clean(r);
		expect(r.verify.reads).toBe(512);
		expect(c.readMisses).toBe(256);
		expect(c.readHits).toBe(256);
		// The datastore saw the first pass only: 256 reads, nothing else.
		expect(sim.disk().chain.device.stats().requests).toBe(256);
		expect(c.populations).toBe(256);
		expect(c.occupancyBlocks).toBe(256);
	});

	it('a read hit while the population write is still in flight is served from memory', async () => {
		const stores = new MemoryStoreFactory();
		const w = await run(scenario([{ rw: 'write', bs: '64k', size: '256k', iodepth: 1, ios: 4 }], { cache: null }), stores);
		const { r, c } = await run(
			scenario([{ rw: 'read', bs: '4k', size: '64k', iodepth: 1, ios: 48 }], {
				cache: { mode: 'write-through' },
				// A slow SSD: its writes take 2 ms, so the second pass finds them in flight.
				ssd: { kind: 'nvme', params: { writeLatencyUs: 2000, jitter: 0, stallProb: 0 } }
			}),
			stores,
			w.sim.disk().expected
		);
		clean(r);
		expect(c.readHits).toBe(32);
		expect(c.memoryHits).toBeGreaterThan(0);
	});

	it('unaligned reads of cached blocks read just their sectors from the SSD', async () => {
		const stores = new MemoryStoreFactory();
		const w = await run(scenario([{ rw: 'write', bs: '64k', size: '512k', iodepth: 2, ios: 8 }], { cache: null }), stores);
		const { sim, r, c } = await run(
			scenario(
				[
					{ rw: 'read', bs: '4k', size: '512k', iodepth: 2, ios: 128 },
					// Starts with the fill; once it has passed, unaligned reads hit.
					{ rw: 'randread', bssplit: UNALIGNED, blockalign: 512, size: '512k', iodepth: 2, ios: 600, thinktimeUs: 200 }
				],
				{ cache: { mode: 'write-around' } }
			),
			stores,
			w.sim.disk().expected
		);
		clean(r);
		expect(c.readHits as number).toBeGreaterThan(300);
		expect(sim.disk().chain.device.stats().requests).toBeLessThan(128 + 400);
	});
});

describe('cache filter: writes', { timeout: 60_000 }, () => {
	const hddRandWrite = (mode: string) =>
		scenario([{ rw: 'randwrite', bs: '4k', size: '8m', iodepth: 4, ios: 300 }], {
			datastore: { kind: 'hdd' },
			cache: { mode, capacityMiB: 16, destageMBps: 0 }
		});

	it('write-back completes writes far faster than write-through on an HDD datastore', async () => {
		const wt = await run(hddRandWrite('write-through'));
		const stores = new MemoryStoreFactory();
		const wb = await run(hddRandWrite('write-back'), stores);
		clean(wt.r);
		clean(wb.r);
		const wtMean = wt.r.ops.write.latencyUs.mean;
		const wbMean = wb.r.ops.write.latencyUs.mean;
		expect(wtMean).toBeGreaterThan(2000);
		expect(wbMean * 20).toBeLessThan(wtMean);
		expect(wb.c.dirtyBlocks as number).toBeGreaterThan(250);
		expect(wt.c.dirtyBlocks).toBe(0);
		// Power-off destages everything: then the datastore alone holds the right data.
		await wb.sim.control(KEY, { type: 'power-off' });
		expect(engine(wb.sim).status().dirtyBlocks).toBe(0);
		expect(await verifyDatastore(stores, wb.sim.disk().expected, '8m')).toBe(0);
	});

	it('destages in the background at the configured rate until nothing is dirty', async () => {
		const stores = new MemoryStoreFactory();
		const s = scenario(
			[
				{ rw: 'write', bs: '4k', size: '1m', iodepth: 8, ios: 256 },
				// Keeps the VM busy elsewhere for ~0.4 s of virtual time.
				{ rw: 'randread', bs: '4k', offset: '8m', size: '1m', iodepth: 1, ios: 40, rateIops: 100 }
			],
			{ cache: { mode: 'write-back', destageMBps: 4, dirtyHighPct: 100 } }
		);
		const sim = await create(s, stores);
		await sim.run({ untilUs: 100_000 });
		const e = engine(sim);
		// 4 MB/s = one 4 KiB block per 1024 µs: about 98 of the 256 blocks after 100 ms.
		const mid = e.status();
		expect(mid.dirtyBlocks as number).toBeGreaterThan(256 - 110);
		expect(mid.dirtyBlocks as number).toBeLessThan(256 - 85);
		await sim.run();
		const r = runResult(sim);
		clean(r);
		const c = r.filters.cache;
		expect(c.dirtyBlocks).toBe(0);
		expect(c.destagedBytes).toBe(256 * 4096);
		expect(await verifyDatastore(stores, sim.disk().expected, '1m')).toBe(0);
	});

	it('a guest flush completes only after every dirty block is on the datastore', async () => {
		const stores = new MemoryStoreFactory();
		const { sim, r, c } = await run(
			scenario([{ rw: 'randwrite', bs: '4k', size: '512k', iodepth: 4, ios: 200 }], { cache: { mode: 'write-back', destageMBps: 0 } }),
			stores
		);
		clean(r);
		const dirty = c.dirtyBlocks as number;
		expect(dirty).toBeGreaterThan(50);
		expect(c.destages).toBe(0);
		const chain = sim.disk().chain;
		const writesBefore = chain.device.stats().requests;
		const io = new ChainIo(1e9, Op.flush, 0, 0, undefined, 'guest', sim.sched.now, 0);
		const done = await sim.settle(new Promise<ChainIo>((resolve) => chain.submit(io, resolve)));
		expect(done.error).toBeUndefined();
		const st = engine(sim).status();
		expect(st.dirtyBlocks).toBe(0);
		expect(st.destages).toBe(dirty);
		// The dirty blocks, then the flush itself, reached the datastore.
		expect(chain.device.stats().requests).toBe(writesBefore + dirty + 1);
		expect(await verifyDatastore(stores, sim.disk().expected, '512k')).toBe(0);
	});

	it('flushMode commit: a guest flush goes straight down, the dirty blocks stay on the SSD', async () => {
		const stores = new MemoryStoreFactory();
		const { sim, r, c } = await run(
			scenario([{ rw: 'randwrite', bs: '4k', size: '512k', iodepth: 4, ios: 200 }], { cache: { mode: 'write-back', destageMBps: 0, flushMode: 'commit' } }),
			stores
		);
		clean(r);
		const dirty = c.dirtyBlocks as number;
		expect(dirty).toBeGreaterThan(50);
		const chain = sim.disk().chain;
		const writesBefore = chain.device.stats().requests;
		const t0 = sim.sched.now;
		const io = new ChainIo(1e9, Op.flush, 0, 0, undefined, 'guest', t0, 0);
		const done = await sim.settle(new Promise<ChainIo>((resolve) => chain.submit(io, resolve)));
		expect(done.error).toBeUndefined();
		const st = engine(sim).status();
		expect(st.dirtyBlocks).toBe(dirty);
		expect(st.destages).toBe(0);
		// Only the flush itself reached the datastore.
		expect(chain.device.stats().requests).toBe(writesBefore + 1);
		// A power-off still destages everything.
		await sim.control(sim.disk().key, { type: 'power-off' });
		expect(engine(sim).status().dirtyBlocks).toBe(0);
		expect(await verifyDatastore(stores, sim.disk().expected, '512k')).toBe(0);
	});

	it('snapshot-create destages all dirty blocks first', async () => {
		const stores = new MemoryStoreFactory();
		const { sim, c } = await run(
			scenario([{ rw: 'randwrite', bssplit: UNALIGNED, blockalign: 512, size: '512k', iodepth: 4, ios: 300 }], {
				cache: { mode: 'write-back', destageMBps: 0 }
			}),
			stores
		);
		expect(c.dirtyBlocks as number).toBeGreaterThan(0);
		await sim.control(KEY, { type: 'snapshot-create', snapshot: 's1' });
		expect(engine(sim).status().dirtyBlocks).toBe(0);
		expect(await verifyDatastore(stores, sim.disk().expected, '512k')).toBe(0);
	});

	it('rewrites during destage keep the block dirty and the datastore ends right', async () => {
		const stores = new MemoryStoreFactory();
		const { sim, r, c } = await run(
			scenario([{ rw: 'randrw', rwmixread: 30, bssplit: UNALIGNED, blockalign: 512, size: '128k', iodepth: 4, ios: 1500 }], {
				datastore: { kind: 'hdd' },
				cache: { mode: 'write-back', destageMBps: 200, destageDepth: 8 }
			}),
			stores
		);
		clean(r);
		expect(c.destageRaces as number).toBeGreaterThan(0);
		expect(c.waitedForDestage as number).toBeGreaterThan(0);
		await sim.control(KEY, { type: 'power-off' });
		expect(engine(sim).status().dirtyBlocks).toBe(0);
		expect(await verifyDatastore(stores, sim.disk().expected, '128k')).toBe(0);
	});
});

describe('cache filter: I/O the guest does not serialise (from a filter above)', { timeout: 60_000 }, () => {
	for (const mode of ['write-through', 'write-back', 'write-around'])
		it(`${mode}: a read miss that overlaps a write in flight does not populate stale data`, async () => {
			const sim = await create(
				scenario([], { cache: { mode }, datastore: { kind: 'null', params: { latencyUs: 100 } } }),
				new MemoryStoreFactory()
			);
			const chain = sim.disk().chain;
			let id = 1e9;
			const submit = (op: 0 | 1, fill = 0) =>
				new Promise<ChainIo>((resolve) =>
					chain.submit(new ChainIo(id++, op, 64, 8, op === Op.write ? new Uint8Array(4096).fill(fill) : undefined, 'filter', sim.sched.now, -1), resolve)
				);
			// The read reaches the datastore first and gets the old (zero) bytes; the write lands after.
			const [r1, w] = await sim.settle(Promise.all([submit(Op.read), submit(Op.write, 0xab)]));
			expect(r1.error).toBeUndefined();
			expect(w.error).toBeUndefined();
			expect(r1.data![0]).toBe(0);
			const r2 = await sim.settle(submit(Op.read));
			expect(r2.data!.every((x) => x === 0xab)).toBe(true);
		});
});

describe('cache filter: overlapping writes from a filter above', { timeout: 60_000 }, () => {
	for (const mode of ['write-through', 'write-back'])
		it(`${mode}: two concurrent partial writes to one cached block both survive (read-modify-write is serialised)`, async () => {
			const sim = await create(scenario([], { cache: { mode } }), new MemoryStoreFactory());
			const chain = sim.disk().chain;
			let id = 1e9;
			const submit = (op: 0 | 1, lba: number, sectors: number, fill = 0) =>
				new Promise<ChainIo>((resolve) =>
					chain.submit(
						new ChainIo(id++, op, lba, sectors, op === Op.write ? new Uint8Array(sectors * 512).fill(fill) : undefined, 'filter', sim.sched.now, -1),
						resolve
					)
				);
			// Make block 8 resident and dirty (write-back) or clean (write-through), its copy on the SSD only.
			await sim.settle(submit(Op.write, 64, 8, 0x01));
			await sim.settle(new Promise<void>((r) => sim.sched.after(5000, r)));
			const [a, b] = await sim.settle(Promise.all([submit(Op.write, 64, 2, 0x11), submit(Op.write, 68, 2, 0x22)]));
			expect(a.error).toBeUndefined();
			expect(b.error).toBeUndefined();
			const r = await sim.settle(submit(Op.read, 64, 8));
			const sector = (k: number) => r.data![k * 512];
			expect([0, 1, 2, 3, 4, 5, 6, 7].map(sector)).toEqual([0x11, 0x11, 0x01, 0x01, 0x22, 0x22, 0x01, 0x01]);
			expect(engine(sim).status().waitedForWrite as number).toBeGreaterThanOrEqual(1);
		});
});

describe('cache filter: integrity in every mode and policy', { timeout: 60_000 }, () => {
	for (const mode of ['write-through', 'write-back', 'write-around'])
		for (const policy of ['lru', 'arc', 's3fifo'])
			it(`${mode} / ${policy}: a mixed unaligned workload reads back right, and so does the datastore after power-off`, async () => {
				const stores = new MemoryStoreFactory();
				const { sim, r, c } = await run(
					scenario([{ rw: 'randrw', rwmixread: 55, bssplit: UNALIGNED, blockalign: 512, size: '2m', iodepth: 8, ios: 1500 }], {
						cache: { mode, policy, capacityBlocks: 192, destageMBps: 20 }
					}),
					stores
				);
				clean(r);
				expect(r.verify.reads).toBeGreaterThan(600);
				expect(c.readHits as number).toBeGreaterThan(0);
				if (mode !== 'write-around') expect(c.evictions as number).toBeGreaterThan(0);
				if (mode === 'write-back') expect(c.destages as number).toBeGreaterThan(0);
				await sim.control(KEY, { type: 'power-off' });
				expect(engine(sim).status().dirtyBlocks).toBe(0);
				expect(await verifyDatastore(stores, sim.disk().expected, '2m')).toBe(0);
			});
});

describe('cache filter: eviction policies', { timeout: 60_000 }, () => {
	// A hot set of 128 blocks read at 10k IO/s, polluted by a one-time sequential scan at 15k IO/s,
	// in a cache of 256 blocks.
	const scan = (policy: string) =>
		scenario(
			[
				{ rw: 'randread', bs: '4k', size: '512k', iodepth: 2, ios: 2400, rateIops: 10000 },
				{ rw: 'read', bs: '4k', offset: '1m', size: '14m', iodepth: 2, ios: 3600, rateIops: 15000 }
			],
			{ cache: { mode: 'write-through', policy, capacityBlocks: 256 } }
		);

	it('ARC and S3-FIFO keep the hot set through a scan; LRU does not', async () => {
		const lru = await run(scan('lru'));
		const arc = await run(scan('arc'));
		const s3 = await run(scan('s3fifo'));
		for (const x of [lru, arc, s3]) clean(x.r);
		const ratio = (x: { c: Json }) => x.c.readHitRatio as number;
		expect(ratio(arc)).toBeGreaterThan(ratio(lru) + 0.08);
		expect(ratio(s3)).toBeGreaterThan(ratio(lru) + 0.08);
		// Hot reads are 40 % of all reads: the scan-resistant policies hit nearly all of them.
		expect(ratio(arc)).toBeGreaterThan(0.33);
		expect(ratio(s3)).toBeGreaterThan(0.33);
		expect(arc.c.arcT2 as number).toBeGreaterThan(100);
	});

	it('is deterministic: the same scenario gives the same trace digest', async () => {
		const s = scenario([{ rw: 'randrw', bssplit: UNALIGNED, blockalign: 512, size: '1m', iodepth: 8, ios: 500 }], {
			cache: { mode: 'write-back', capacityBlocks: 64 }
		});
		const a = await run(s);
		const b = await run(s);
		expect(a.r.traceDigest).toBe(b.r.traceDigest);
		expect(a.c).toEqual(b.c);
	});
});

describe('cache filter: persistence', { timeout: 60_000 }, () => {
	it('a write-back cache comes back warm with its dirty blocks after a restart, and reads back right', async () => {
		const stores = new MemoryStoreFactory();
		const size = '2m';
		const cacheParams = { mode: 'write-back', destageMBps: 0, capacityBlocks: 1024 };
		const first = await run(
			scenario([{ rw: 'randrw', rwmixread: 30, bssplit: UNALIGNED, blockalign: 512, size, iodepth: 8, ios: 1200 }], { cache: cacheParams }),
			stores
		);
		clean(first.r);
		const dirty = first.c.dirtyBlocks as number;
		const cached = first.c.occupancyBlocks as number;
		expect(dirty).toBeGreaterThan(100);
		const expected = first.sim.disk().expected;
		// The sidecar holds the map (slot -> block, dirty flag).
		const chunk = (await engine(first.sim).ctx.sidecar.get(chunkKey(0)))!;
		const map = new Float64Array(chunk.slice().buffer);
		expect(map.length).toBe(CHUNK_SLOTS);
		expect(map.filter((v) => v < -1).length).toBe(dirty);

		// The datastore alone is stale: the dirty data lives only on the SSD.
		expect(await verifyDatastore(stores, expected, size)).toBeGreaterThan(0);

		// Restart (no power-off): the cache is warm and dirty, and every read is right.
		const before = expected.mismatches;
		const second = await run(scenario([{ rw: 'read', bssplit: UNALIGNED, size, iodepth: 4, ios: 320 }], { cache: cacheParams }), stores, expected);
		expect(second.r.errors.count).toBe(0);
		expect(expected.mismatches - before).toBe(0);
		expect(second.c.warmDirty).toBe(dirty);
		expect(second.c.warmBlocks).toBe(cached);
		expect(second.c.readHits as number).toBeGreaterThan(0);

		// Power-off destages; then the datastore alone is right.
		await second.sim.control(KEY, { type: 'power-off' });
		expect(engine(second.sim).status().dirtyBlocks).toBe(0);
		expect(await verifyDatastore(stores, expected, size)).toBe(0);
	});

	it('survives a restart in the middle of background work (populations, destages, evictions)', async () => {
		const stores = new MemoryStoreFactory();
		const size = '2m';
		const cacheParams = { mode: 'write-back', destageMBps: 30, capacityBlocks: 160, commitIntervalMs: 50 };
		const first = await run(
			scenario([{ rw: 'randrw', rwmixread: 60, bssplit: UNALIGNED, blockalign: 512, size, iodepth: 8, ios: 1500 }], {
				cache: cacheParams,
				ssd: { kind: 'sata-ssd' }
			}),
			stores
		);
		clean(first.r);
		expect(first.c.evictions as number).toBeGreaterThan(0);
		const expected = first.sim.disk().expected;
		for (let round = 0; round < 2; round++) {
			const before = expected.mismatches;
			const next = await run(
				scenario([{ rw: 'randrw', rwmixread: 60, bssplit: UNALIGNED, blockalign: 512, size, iodepth: 8, ios: 800 }], {
					cache: cacheParams,
					ssd: { kind: 'sata-ssd' }
				}),
				stores,
				expected
			);
			expect(next.r.errors.count).toBe(0);
			expect(expected.mismatches - before).toBe(0);
			expect(next.c.warmBlocks as number).toBeGreaterThan(0);
		}
		const before = expected.mismatches;
		const last = await run(scenario([{ rw: 'read', bs: '16k', size, iodepth: 4, ios: 128 }], { cache: cacheParams, ssd: { kind: 'sata-ssd' } }), stores, expected);
		expect(expected.mismatches - before).toBe(0);
		await last.sim.control(KEY, { type: 'detach' });
		expect(await verifyDatastore(stores, expected, size)).toBe(0);
	});

	it('a write-back cache restarted in write-around mode still serves and destages its dirty blocks', async () => {
		const stores = new MemoryStoreFactory();
		const mixed = (ios: number) => [{ rw: 'randrw', rwmixread: 50, bssplit: UNALIGNED, blockalign: 512, size: '1m', iodepth: 8, ios }];
		const first = await run(scenario(mixed(800), { cache: { mode: 'write-back', destageMBps: 0, capacityBlocks: 512 } }), stores);
		clean(first.r);
		expect(first.c.dirtyBlocks as number).toBeGreaterThan(50);
		const expected = first.sim.disk().expected;
		const before = expected.mismatches;
		const second = await run(scenario(mixed(800), { cache: { mode: 'write-around', destageMBps: 5, capacityBlocks: 512 } }), stores, expected);
		expect(second.r.errors.count).toBe(0);
		expect(expected.mismatches - before).toBe(0);
		expect(second.c.warmDirty).toBe(first.c.dirtyBlocks);
		await second.sim.control(KEY, { type: 'suspend' });
		expect(engine(second.sim).status().dirtyBlocks).toBe(0);
		expect(await verifyDatastore(stores, expected, '1m')).toBe(0);
	});

	it('migrate destages and drops the host-local cache, durably', async () => {
		const stores = new MemoryStoreFactory();
		const params = { mode: 'write-back', destageMBps: 0, capacityBlocks: 512 };
		const w = [{ rw: 'randrw', rwmixread: 50, bssplit: UNALIGNED, blockalign: 512, size: '1m', iodepth: 8, ios: 600 }];
		const first = await run(scenario(w, { cache: params }), stores);
		clean(first.r);
		expect(first.c.occupancyBlocks as number).toBeGreaterThan(100);
		await first.sim.control(KEY, { type: 'migrate', toHost: 'esx-02' });
		const st = engine(first.sim).status();
		expect(st.dirtyBlocks).toBe(0);
		expect(st.occupancyBlocks).toBe(0);
		const expected = first.sim.disk().expected;
		expect(await verifyDatastore(stores, expected, '1m')).toBe(0);
		const before = expected.mismatches;
		const again = await run(scenario(w, { cache: params }), stores, expected);
		expect(again.c.warmBlocks).toBe(0);
		expect(again.r.errors.count).toBe(0);
		expect(expected.mismatches - before).toBe(0);
	});

	it('a clean cache whose capacity changes starts cold', async () => {
		const stores = new MemoryStoreFactory();
		const first = await run(scenario([{ rw: 'read', bs: '4k', size: '256k', iodepth: 2, ios: 64 }], { cache: { capacityBlocks: 128 } }), stores);
		await first.sim.control(KEY, { type: 'power-off' });
		const same = await run(scenario([{ rw: 'read', bs: '4k', size: '256k', iodepth: 2, ios: 64 }], { cache: { capacityBlocks: 128 } }), stores);
		expect(same.c.warmBlocks).toBe(64);
		expect(same.c.readHits).toBe(64);
		const bigger = await run(scenario([{ rw: 'read', bs: '4k', size: '256k', iodepth: 2, ios: 64 }], { cache: { capacityBlocks: 256 } }), stores);
		expect(bigger.c.warmBlocks).toBe(0);
		expect(bigger.c.capacityBlocks).toBe(256);
	});
});

describe('cache policies (decide only)', () => {
	/** Drives a policy as the filter does: hit, or miss + victim + remove + insert. */
	function access(p: CachePolicy, b: number, veto: (b: number) => boolean = () => true): boolean {
		if (p.has(b)) {
			p.hit(b);
			return true;
		}
		if (!p.miss(b)) return false;
		if (p.size >= p.capacity) {
			const v = p.victim(b, veto);
			if (v < 0) return false;
			p.remove(v, true);
		}
		p.insert(b);
		return false;
	}

	it('LRU evicts the least recently used block and respects the veto', () => {
		const p = createPolicy('lru', 4);
		for (const b of [1, 2, 3, 4]) access(p, b);
		access(p, 1);
		expect(p.victim(9, () => true)).toBe(2);
		expect(p.victim(9, (b) => b !== 2)).toBe(3);
		expect(p.victim(9, () => false)).toBe(-1);
		p.remove(3, false);
		expect(p.size).toBe(3);
		expect(Array.from(p.save())).toEqual([2, 4, 1]);
	});

	it('ARC promotes re-used blocks to T2 and adapts p on a B1 ghost hit', () => {
		const p = createPolicy('arc', 4) as ArcPolicy;
		for (const b of [1, 2, 3, 4]) access(p, b);
		access(p, 1);
		access(p, 2);
		expect(p.stats().arcT2).toBe(2);
		access(p, 5); // evicts 3 (LRU of T1) into B1
		expect(p.has(3)).toBe(false);
		expect(p.stats().arcB1).toBe(1);
		access(p, 3); // a ghost hit: p grows, 3 comes back into T2
		expect(p.p).toBeGreaterThan(0);
		expect(p.stats().arcGhostHits).toBe(1);
		expect(p.has(3)).toBe(true);
		expect(p.stats().arcT2).toBe(3);
	});

	for (const name of POLICY_NAMES)
		it(`${name}: a hot set used twice ${name === 'lru' ? 'does not survive' : 'survives'} a one-time scan`, () => {
			const p = createPolicy(name, 100);
			for (let round = 0; round < 3; round++) for (let b = 0; b < 50; b++) access(p, b);
			for (let b = 1000; b < 3000; b++) {
				access(p, b);
				if (b % 20 === 0) for (let h = 0; h < 50; h += 7) access(p, h);
			}
			let hot = 0;
			for (let b = 0; b < 50; b++) if (p.has(b)) hot++;
			if (name === 'lru') expect(hot).toBeLessThan(20);
			else expect(hot).toBeGreaterThanOrEqual(45);
			expect(p.size).toBeLessThanOrEqual(100);
		});

	for (const name of POLICY_NAMES)
		it(`${name}: save/load keeps the resident set, skipping blocks no longer cached`, () => {
			const p = createPolicy(name, 8);
			for (const b of [1, 2, 3, 4, 5, 6, 7, 8, 1, 2]) access(p, b);
			const q = createPolicy(name, 8);
			q.load(p.save(), (b) => b !== 5);
			for (const b of [1, 2, 3, 4, 6, 7, 8]) expect(q.has(b)).toBe(true);
			expect(q.has(5)).toBe(false);
			expect(q.size).toBe(7);
		});
});
