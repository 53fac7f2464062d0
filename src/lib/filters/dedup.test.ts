import { afterEach, describe, expect, it } from 'vitest';
import { Simulation } from '../engine/simulation';
import { runResult } from '../engine/result';
import { ChainIo } from '../engine/chain';
import { BLOCK_BYTES, Op, SECTOR_BYTES, type OpCode } from '../engine/io';
import { MemoryStoreFactory } from '../engine/storage/memory';
import type { MemoryBlockStore } from '../engine/storage/memory';
import { ZERO_CONTENT, contentBlock, fillWrite } from '../engine/verify';
import type { WorkloadInput } from '../engine/scenario/schema';
import { builtinRegistry } from './index';
import { dedupInvariants, setFingerprintForTest, type DedupState } from './dedup';

const KEY = 'vm-01/disk-0';
const MiB = 2 ** 20;

function scenario(workload: WorkloadInput[], params: Record<string, number | boolean> = {}, size = 64 * MiB, seed = 7) {
	return {
		version: 1,
		seed,
		vms: [
			{
				name: 'vm-01',
				disks: [{ name: 'disk-0', size, datastore: { kind: 'nvme' }, policy: { filters: [{ type: 'dedup', params }] }, workload }]
			}
		]
	};
}

async function create(sc: unknown, stores: MemoryStoreFactory, prev?: Simulation): Promise<Simulation> {
	return Simulation.create(sc, {
		registry: builtinRegistry(),
		stores,
		expected: prev ? new Map([[KEY, prev.disk().expected]]) : undefined
	});
}

async function run(sc: unknown, stores: MemoryStoreFactory, prev?: Simulation): Promise<Simulation> {
	const sim = await create(sc, stores, prev);
	await sim.run();
	return sim;
}

function state(sim: Simulation): DedupState {
	return sim.disk().chain.filters.find((f) => f.def.name === 'dedup')!.state as DedupState;
}

function status(sim: Simulation): Record<string, number> {
	return runResult(sim).filters.dedup as Record<string, number>;
}

function expectClean(sim: Simulation): void {
	const r = runResult(sim);
	expect(r.errors.count, JSON.stringify(r.errors.first)).toBe(0);
	expect(r.verify.mismatches, JSON.stringify(r.verify.firstMismatch)).toBe(0);
	expect(dedupInvariants(state(sim))).toEqual([]);
}

/** Distinct contents the guest expects on the disk (aligned whole-block writes only). */
function distinctContents(sim: Simulation): number {
	const ids = new Set<number>();
	for (const [, v] of sim.disk().expected.toJSON()) {
		if (typeof v !== 'number') throw new Error('mixed block');
		ids.add(v);
	}
	return ids.size;
}

function belowStore(sim: Simulation): MemoryBlockStore {
	return sim.disk().store as MemoryBlockStore;
}

let ioSeq = 1e9;
/** A guest I/O submitted by hand; the clock runs until it completes; expected state follows. */
async function guestIo(sim: Simulation, op: OpCode, lba: number, sectors: number, contents?: number[]): Promise<ChainIo> {
	const d = sim.disk();
	let data: Uint8Array | undefined;
	if (op === Op.write) {
		data = new Uint8Array(sectors * SECTOR_BYTES);
		fillWrite(lba, sectors, Uint32Array.from(contents!), data);
	}
	const io = new ChainIo(++ioSeq, op, lba, sectors, data, 'guest', sim.sched.now, 0);
	const done = await sim.settle(new Promise<ChainIo>((resolve) => d.chain.submit(io, resolve)));
	if (!done.error) {
		if (op === Op.write) d.expected.recordWrite(lba, sectors, Uint32Array.from(contents!));
		else if (op === Op.unmap) d.expected.recordFill(lba, sectors, ZERO_CONTENT);
		else if (op === Op.read) d.expected.checkRead(lba, sectors, done.data!, done.id);
	}
	return done;
}

afterEach(() => setFingerprintForTest(undefined));

describe('dedup filter', { timeout: 60_000 }, () => {
	it('shows a dedup ratio of 2.0 (±2 %) for dedupe_percentage 50, one physical block per distinct content', async () => {
		const blocks = 65536;
		const stores = new MemoryStoreFactory();
		const sim = await run(
			scenario([{ rw: 'write', bs: 65536, iodepth: 16, ios: 0, size: blocks * BLOCK_BYTES, dedupePercentage: 50 }], {}, 512 * MiB),
			stores
		);
		expectClean(sim);
		const st = status(sim);
		const distinct = distinctContents(sim);
		expect(st.logicalBlocks).toBe(blocks);
		expect(st.physicalBlocks).toBe(distinct);
		expect(Math.abs(st.dedupRatio - 2)).toBeLessThanOrEqual(0.04);
		expect(st.bytesSaved).toBe((blocks - distinct) * BLOCK_BYTES);
		expect(st.dedupHits).toBe(blocks - distinct);
		expect(st.hashCollisions).toBe(0);
		expect(st.indexEntries).toBe(distinct);
		expect(st.freeBlocks).toBe((512 * MiB) / BLOCK_BYTES - distinct);
		// Duplicates were never written below: the thin store holds only the unique blocks.
		expect(belowStore(sim).allocatedBytes()).toBe(distinct * BLOCK_BYTES);
	}, 30_000);

	it('releases blocks on overwrite (refcounts and physical count drop) and reads back after restarts', async () => {
		const n = 2048;
		const region = { size: n * BLOCK_BYTES, ios: 0 };
		const stores = new MemoryStoreFactory();
		const cap = (64 * MiB) / BLOCK_BYTES;

		// 1. n unique blocks, written in sequence: one contiguous physical run, passed down remapped.
		const s1 = await run(scenario([{ rw: 'write', bs: 65536, iodepth: 8, ...region, dedupePercentage: 0 }]), stores);
		expectClean(s1);
		let st = status(s1);
		expect(st.logicalBlocks).toBe(n);
		expect(st.physicalBlocks).toBe(n);
		expect(st.passedDown).toBe(n / 16);
		await s1.control(KEY, { type: 'power-off' });

		// 2. Restart; every block rewritten with one content (dedupe 100): n−1 physical blocks freed.
		const s2 = await run(scenario([{ rw: 'write', bs: 65536, iodepth: 8, ...region, dedupePercentage: 100 }]), stores, s1);
		expectClean(s2);
		st = status(s2);
		expect(st.logicalBlocks).toBe(n);
		expect(st.physicalBlocks).toBe(1);
		expect(st.dedupRatio).toBe(n);
		const only = [...state(s2).map.refs.keys()][0];
		expect(state(s2).map.refCount(only)).toBe(n);
		await s2.control(KEY, { type: 'power-off' });
		st = status(s2);
		expect(st.freeBlocks).toBe(cap - 1);
		expect(st.pendingFreeBlocks).toBe(0);
		expect(belowStore(s2).allocatedBytes()).toBe(BLOCK_BYTES);

		// 3. Restart; the first half rewritten with fresh contents: the shared block loses n/2 − 1
		// references (the new run's first content equals it, as ids restart at 1).
		const s3 = await run(scenario([{ rw: 'write', bs: 65536, iodepth: 8, size: (n / 2) * BLOCK_BYTES, ios: 0, dedupePercentage: 0 }]), stores, s2);
		expectClean(s3);
		st = status(s3);
		expect(st.logicalBlocks).toBe(n);
		expect(st.physicalBlocks).toBe(n / 2);
		expect(state(s3).map.refCount(only)).toBe(n / 2 + 1);
		await s3.control(KEY, { type: 'power-off' });

		// 4. Restart; read everything back (unaligned sizes): verified against all three phases.
		const s4 = await run(
			scenario([{ rw: 'randread', bssplit: [{ bs: 6656, pct: 50 }, { bs: 65536, pct: 50 }], blockalign: 512, iodepth: 8, ...region, ios: 600 }]),
			stores,
			s3
		);
		expectClean(s4);
		expect(runResult(s4).verify.sectorsChecked).toBeGreaterThan(20_000);
		expect(status(s4).physicalBlocks).toBe(n / 2);
	}, 30_000);

	it('releases blocks on unmap, zeroes partial unmaps, and frees everything when all is unmapped', async () => {
		const n = 512;
		const stores = new MemoryStoreFactory();
		const sim = await run(scenario([{ rw: 'write', bs: 16384, iodepth: 4, ios: 0, size: n * BLOCK_BYTES, dedupePercentage: 50 }], { persistIntervalUs: 0 }), stores);
		expectClean(sim);
		const before = status(sim);
		expect(before.physicalBlocks).toBe(distinctContents(sim));

		// Unmap the first half: the logical count drops by n/2; blocks still shared stay.
		expect((await guestIo(sim, Op.unmap, 0, (n / 2) * 8)).error).toBeUndefined();
		let st = status(sim);
		expect(st.logicalBlocks).toBe(n / 2);
		expect(st.physicalBlocks).toBe(distinctContents(sim));
		expect(st.physicalBlocks).toBeLessThan(before.physicalBlocks);
		// Freed blocks wait for the metadata to be persisted; a guest flush does that.
		expect(st.pendingFreeBlocks).toBe(before.physicalBlocks - st.physicalBlocks);
		expect((await guestIo(sim, Op.flush, 0, 0)).error).toBeUndefined();
		st = status(sim);
		expect(st.pendingFreeBlocks).toBe(0);
		expect(belowStore(sim).allocatedBytes()).toBe(st.physicalBlocks * BLOCK_BYTES);

		// A partial unmap (sectors 3..5 of block n/2) zeroes those sectors only.
		expect((await guestIo(sim, Op.unmap, (n / 2) * 8 + 3, 3)).error).toBeUndefined();
		const rd = await guestIo(sim, Op.read, (n / 2) * 8, 16);
		expect(rd.data!.subarray(3 * 512, 6 * 512).every((x) => x === 0)).toBe(true);
		expect(rd.data!.subarray(0, 4)).not.toEqual(new Uint8Array(4));
		// Unmapped blocks read as zeros without reading below.
		const zero = await guestIo(sim, Op.read, 8, 40);
		expect(zero.data!.every((x) => x === 0)).toBe(true);
		expect(sim.disk().expected.mismatches).toBe(0);

		// An all-zero block is not stored: writing zeros over a mapped block releases it.
		const zeroBefore = status(sim);
		expect(sim.disk().expected.contentOf((n / 2 + 2) * 8)).not.toBe(ZERO_CONTENT);
		expect((await guestIo(sim, Op.write, (n / 2 + 2) * 8, 8, [ZERO_CONTENT])).error).toBeUndefined();
		st = status(sim);
		expect(st.zeroBlocks).toBe(zeroBefore.zeroBlocks + 1);
		expect(st.logicalBlocks).toBe(zeroBefore.logicalBlocks - 1);
		const z = await guestIo(sim, Op.read, (n / 2 + 2) * 8, 8);
		expect(z.data!.every((x) => x === 0)).toBe(true);

		// Unmap everything: nothing is referenced, everything is free after a persist.
		expect((await guestIo(sim, Op.unmap, 0, n * 8)).error).toBeUndefined();
		await sim.control(KEY, { type: 'power-off' });
		st = status(sim);
		expect(st.logicalBlocks).toBe(0);
		expect(st.physicalBlocks).toBe(0);
		expect(st.indexEntries).toBe(0);
		expect(st.freeBlocks).toBe((64 * MiB) / BLOCK_BYTES);
		expect(belowStore(sim).allocatedBytes()).toBe(0);
		expect(dedupInvariants(state(sim))).toEqual([]);
	}, 30_000);

	it('verifies with zero mismatches on a mixed unaligned read/write workload with dedupe 50, and after a restart', async () => {
		const stores = new MemoryStoreFactory();
		const region = { size: 2 * MiB };
		const mixed = scenario(
			[
				{
					rw: 'randrw',
					rwmixread: 50,
					bssplit: [
						{ bs: 6656, pct: 40 },
						{ bs: 4096, pct: 25 },
						{ bs: 12800, pct: 20 },
						{ bs: 512, pct: 10 },
						{ bs: 65536, pct: 5 }
					],
					blockalign: 512,
					iodepth: 16,
					ios: 6000,
					...region,
					dedupePercentage: 50
				}
			],
			{ persistIntervalUs: 2000 }
		);
		const sim = await run(mixed, stores);
		expectClean(sim);
		const r = runResult(sim);
		expect(r.verify.reads).toBeGreaterThan(2500);
		const st = status(sim);
		expect(st.rmwReads).toBeGreaterThan(100);
		expect(st.dedupHits).toBeGreaterThan(100);
		expect(st.verifyReads).toBeGreaterThan(0);
		expect(st.persists).toBeGreaterThan(1);
		expect(st.dedupRatio).toBeGreaterThan(1);
		await sim.control(KEY, { type: 'power-off' });
		const checkedBefore = runResult(sim).verify.sectorsChecked;

		// Restart: a fresh simulation reloads the sidecar; a full sequential read checks every sector.
		const again = await run(
			scenario([{ rw: 'read', bssplit: [{ bs: 6656, pct: 60 }, { bs: 28672, pct: 40 }], iodepth: 8, ...region, ios: 0 }]),
			stores,
			sim
		);
		expectClean(again);
		expect(runResult(again).verify.sectorsChecked - checkedBefore).toBe((2 * MiB) / SECTOR_BYTES);
		expect(status(again).logicalBlocks).toBe(st.logicalBlocks);
		expect(status(again).physicalBlocks).toBe(st.physicalBlocks);
	}, 30_000);

	it('keeps a consistent image across an unclean stop, and loses nothing flushed', async () => {
		const stores = new MemoryStoreFactory();
		const wl = scenario(
			[{ rw: 'randrw', rwmixread: 30, bssplit: [{ bs: 6656, pct: 50 }, { bs: 16384, pct: 50 }], blockalign: 512, iodepth: 16, ios: 3000, dedupePercentage: 50, size: MiB }],
			{ persistIntervalUs: 500 }
		);
		// Stopped mid-run (writes in flight, blocks freed but not yet reusable): no power-off.
		const crashed = await create(wl, stores);
		await crashed.run({ untilUs: 20_000 });
		expect(crashed.disk().chain.inFlight).toBeGreaterThan(0);
		expect(status(crashed).persists).toBeGreaterThan(3);
		const reloaded = await create(scenario([{ rw: 'read', bs: 4096, ios: 1 }]), stores);
		const r = state(reloaded);
		expect(dedupInvariants(r)).toEqual([]);
		expect(r.map.l2p.size).toBeGreaterThan(0);
		// Every block of the reloaded map holds bytes guest writes put there: each sector is a
		// whole sector of some written content (or zeros), and no block is all zeros.
		const below = belowStore(reloaded);
		const buf = new Uint8Array(BLOCK_BYTES);
		const view = new DataView(buf.buffer);
		const bad: number[] = [];
		for (const p of r.map.refs.keys()) {
			below.read(p * 8, buf);
			let written = 0;
			for (let k = 0; k < 8; k++) {
				const id = view.getUint32(k * SECTOR_BYTES, true);
				const want = id === 0 ? undefined : contentBlock(id);
				if (id !== 0) written++;
				for (let i = k * SECTOR_BYTES; i < (k + 1) * SECTOR_BYTES; i++)
					if (buf[i] !== (want ? want[i] : 0)) {
						bad.push(p);
						break;
					}
			}
			if (written === 0) bad.push(p);
		}
		expect(bad).toEqual([]);

		// A clean run, then a guest flush, then an unclean stop: every acknowledged write is there.
		const stores2 = new MemoryStoreFactory();
		const done = await run(scenario(wl.vms[0].disks[0].workload, { persistIntervalUs: 1e9 }), stores2);
		expectClean(done);
		expect((await guestIo(done, Op.flush, 0, 0)).error).toBeUndefined();
		const after = await run(scenario([{ rw: 'read', bs: 12800, iodepth: 4, size: MiB, ios: 0 }]), stores2, done);
		expectClean(after);
	}, 30_000);

	it('catches a forced fingerprint collision with the byte comparison (no wrong sharing)', async () => {
		setFingerprintForTest(() => 42);
		const stores = new MemoryStoreFactory();
		const sim = await run(scenario([{ rw: 'read', bs: 4096, ios: 1 }]), stores);
		// A, then B (same fingerprint, other bytes): a collision, stored apart.
		await guestIo(sim, Op.write, 0, 8, [101]);
		await guestIo(sim, Op.write, 8, 8, [202]);
		let st = status(sim);
		expect(st.hashCollisions).toBe(1);
		expect(st.physicalBlocks).toBe(2);
		// A again: the index now names B's block; the bytes differ, so A is stored again.
		await guestIo(sim, Op.write, 16, 8, [101]);
		st = status(sim);
		expect(st.hashCollisions).toBe(2);
		expect(st.physicalBlocks).toBe(3);
		// The latest advice (A) matches: shared.
		await guestIo(sim, Op.write, 24, 8, [101]);
		st = status(sim);
		expect(st.dedupHits).toBe(1);
		expect(st.physicalBlocks).toBe(3);
		expect(st.logicalBlocks).toBe(4);
		const rd = await guestIo(sim, Op.read, 0, 32);
		expect(rd.data!.subarray(4096, 8192)).toEqual(contentBlock(202));
		expect(sim.disk().expected.mismatches).toBe(0);
		expect(dedupInvariants(state(sim))).toEqual([]);

		// A whole workload with every fingerprint equal: verification still finds no wrong data.
		const wl = await run(
			scenario([
				{ rw: 'randrw', rwmixread: 40, bssplit: [{ bs: 6656, pct: 50 }, { bs: 8192, pct: 50 }], blockalign: 512, iodepth: 8, ios: 1500, dedupePercentage: 50, size: MiB }
			]),
			new MemoryStoreFactory()
		);
		expectClean(wl);
		const w = status(wl);
		expect(w.hashCollisions).toBeGreaterThan(100);
		expect(w.indexEntries).toBe(1);
	}, 30_000);

	it('reads never-written blocks as zeros without reading below (and without nesting completions)', async () => {
		const sim = await run(scenario([{ rw: 'randread', bs: 4096, iodepth: 1, ios: 5000 }]), new MemoryStoreFactory());
		expectClean(sim);
		const r = runResult(sim);
		expect(r.verify.reads).toBe(5000);
		// Only the guest's I/O in the trace: the filter issued nothing below.
		expect(r.traceRows).toBe(5000);
	}, 30_000);

	it('stays correct with a bounded index (old advice forgotten) and without discards', async () => {
		const sc = (params: Record<string, number | boolean>) =>
			scenario([{ rw: 'randrw', bssplit: [{ bs: 6656, pct: 50 }, { bs: 16384, pct: 50 }], blockalign: 512, iodepth: 8, ios: 1500, dedupePercentage: 50, size: MiB }], params);
		const bounded = await run(sc({ indexLimit: 16, discard: false }), new MemoryStoreFactory());
		expectClean(bounded);
		const b = status(bounded);
		expect(b.indexEntries).toBeLessThanOrEqual(16);
		expect(b.indexEvictions).toBeGreaterThan(100);
		expect(b.discardedBlocks).toBe(0);
		const full = status(await run(sc({}), new MemoryStoreFactory()));
		expect(full.dedupHits).toBeGreaterThan(b.dedupHits);
		expect(full.discardedBlocks).toBeGreaterThan(0);
	}, 30_000);

	it('is deterministic: same scenario and seed, same trace digest and counters', async () => {
		const sc = scenario([
			{ rw: 'randrw', bssplit: [{ bs: 6656, pct: 50 }, { bs: 12288, pct: 50 }], blockalign: 512, iodepth: 8, ios: 800, dedupePercentage: 50, size: MiB }
		]);
		const a = runResult(await run(sc, new MemoryStoreFactory()));
		const b = runResult(await run(sc, new MemoryStoreFactory()));
		expect(a.traceDigest).toBe(b.traceDigest);
		expect(a.filters.dedup).toEqual(b.filters.dedup);
		expect(a.verify.mismatches).toBe(0);
	}, 30_000);
});
