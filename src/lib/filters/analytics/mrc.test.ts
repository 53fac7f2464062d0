/**
 * The analytics filter's algorithms on their own: reuse distances against a naive LRU stack, the
 * exact MRC against a simulated LRU cache, SHARDS against the exact curve (zipf workloads, three
 * seeds, and the real CloudPhysics vSCSI trace), HyperLogLog, and vscsiStats' bucket rules.
 */
import { HAVE_REAL_TRACE, REAL_VSCSI_TRACE } from '../../../../tests/shared-data';
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { Prng } from '../../engine/clock';
import { createOffsetPicker } from '../../engine/workload/distributions';
import { ReuseTracker } from './reuse';
import { ExactMrc } from './mrc-exact';
import { Shards, blockHash, SHARDS_P } from './shards';
import { HyperLogLog } from './hll';
import { IO_LENGTH_LIMITS, SEEK_DISTANCE_LIMITS, VscsiHistogram, VscsiStats } from './histograms';
import { HeatMap } from './heatmap';

/** Stack distances the slow way: position in an LRU list (most recent first). */
function naiveDistances(refs: number[]): number[] {
	const stack: number[] = [];
	return refs.map((b) => {
		const i = stack.indexOf(b);
		if (i >= 0) stack.splice(i, 1);
		stack.unshift(b);
		return i; // -1 = first access; else distinct blocks since the previous access
	});
}

/** Hits of a real LRU cache of `c` blocks. */
function lruHits(refs: ArrayLike<number>, c: number): number {
	const cache = new Map<number, true>();
	let hits = 0;
	for (let i = 0; i < refs.length; i++) {
		const b = refs[i];
		if (cache.has(b)) {
			hits++;
			cache.delete(b);
		} else if (cache.size >= c && c > 0) cache.delete(cache.keys().next().value!);
		if (c > 0) cache.set(b, true);
	}
	return hits;
}

function zipfRefs(seed: number, theta: number, units: number, n: number): Float64Array {
	const prng = new Prng(seed);
	const pick = createOffsetPicker({ kind: 'zipf', theta }, units);
	const out = new Float64Array(n);
	for (let i = 0; i < n; i++) out[i] = pick.pick(prng);
	return out;
}

function mae(a: ArrayLike<number>, b: ArrayLike<number>): number {
	let e = 0;
	for (let i = 0; i < a.length; i++) e += Math.abs(a[i] - b[i]);
	return e / a.length;
}

/** 101 cache sizes from 0 to the working set. */
function sizesUpTo(ws: number): number[] {
	return Array.from({ length: 101 }, (_, i) => Math.round((i * ws) / 100));
}

describe('ReuseTracker', () => {
	it('gives the LRU stack distance of every reference, across compactions', () => {
		const prng = new Prng(7);
		const refs: number[] = [];
		for (let i = 0; i < 5000; i++) refs.push(prng.next() < 0.7 ? prng.int(40) : prng.int(400) + 2 ** 40);
		const t = new ReuseTracker(16); // tiny: forces many compactions
		const got = refs.map((b) => t.access(b));
		expect(got).toEqual(naiveDistances(refs));
		expect(t.size).toBe(new Set(refs).size);
		// LRU order: least recently used first.
		const order = Array.from(t.lruOrder());
		const lastSeen = [...new Set([...refs].reverse())].reverse();
		expect(order).toEqual(lastSeen);
	});

	it('removes blocks from the stack', () => {
		const t = new ReuseTracker();
		for (const b of [1, 2, 3, 4]) t.access(b);
		t.remove(3);
		expect(t.access(1)).toBe(2); // 2 and 4 since; 3 is gone
		expect(t.has(3)).toBe(false);
		expect(t.access(3)).toBe(-1);
	});
});

describe('exact MRC (Mattson)', () => {
	it('equals the miss ratio of a simulated LRU cache at every size tried', () => {
		const refs = zipfRefs(3, 0.9, 4096, 20_000);
		const m = new ExactMrc();
		for (const b of refs) m.access(b);
		for (const c of [0, 1, 2, 10, 100, 500, 1000, 2000, 4096]) {
			expect(m.missRatio(c)).toBeCloseTo(1 - lruHits(refs, c) / refs.length, 12);
		}
		expect(m.missRatio(m.distinct)).toBeCloseTo(m.distinct / refs.length, 12); // only cold misses
	});
});

// Generous timeouts: these tests do a few seconds of work and the machine is shared.
describe('SHARDS', { timeout: 60_000 }, () => {
	it('samples a block iff blockHash(block, salt) mod P < T, below and above 2^32', () => {
		const r = new Prng(9);
		for (const salt of [0, 1, 0xdeadbeef]) {
			const s = new Shards(0.5, 0, salt);
			for (let i = 0; i < 20_000; i++) {
				const b = i % 3 === 0 ? 2 ** 32 + r.int(2 ** 40) : i % 3 === 1 ? 2 ** 32 - 1 - r.int(1000) : r.int(2 ** 32);
				expect(s.access(b)).toBe((blockHash(b, salt) & (SHARDS_P - 1)) < s.threshold);
			}
		}
	});

	it('samples blocks by spatial hash: every reference of a sampled block, about R of the blocks', () => {
		const s = new Shards(0.1);
		const sampled = new Map<number, number>();
		const refs = zipfRefs(1, 0.5, 50_000, 60_000);
		for (const b of refs) if (s.access(b)) sampled.set(b, (sampled.get(b) ?? 0) + 1);
		const all = new Map<number, number>();
		for (const b of refs) all.set(b, (all.get(b) ?? 0) + 1);
		for (const [b, n] of sampled) expect(n).toBe(all.get(b));
		for (const b of all.keys()) expect(sampled.has(b)).toBe((blockHash(b) & (SHARDS_P - 1)) < s.threshold);
		expect(sampled.size / all.size).toBeGreaterThan(0.09);
		expect(sampled.size / all.size).toBeLessThan(0.11);
		expect(s.rate).toBeCloseTo(0.1, 6);
	});

	it('at R = 1 is the exact curve', () => {
		const refs = zipfRefs(2, 0.9, 8192, 30_000);
		const s = new Shards(1);
		const e = new ExactMrc();
		for (const b of refs) {
			s.access(b);
			e.access(b);
		}
		const sizes = sizesUpTo(e.distinct);
		expect(Array.from(s.missRatios(sizes))).toEqual(Array.from(e.missRatios(sizes)));
	});

	// Accuracy depends on the number of sampled blocks, so the traces are sized for it. zipf:0.9 over
	// 1 GiB of 4 KiB blocks, 300k references, touches ~90k blocks: fixed-rate SHARDS_adj at R = 0.01
	// samples only ~900 of them and its error ranges 0.005–0.026 with the hash salt (measured over 12
	// salts); at R = 0.1 it is ≤ 0.0104. Fixed-size SHARDS with smax = 8192 (the paper's 8K) stays
	// ≤ 0.0073 over 36 seed × salt pairs, and fixed-rate R = 0.1 on zipf:1.2 (~28k blocks) ≤ 0.0070:
	// those are the two checked here, with the salt varying along with the seed. R = 0.01 needs
	// working sets of millions of blocks (the paper's traces); the filter's default.
	for (const seed of [1, 2, 3]) {
		it(`is within MAE 0.01 of the exact LRU curve on zipf workloads (1 GiB, 300k refs, seed ${seed})`, () => {
			const check = (theta: number, shards: Shards) => {
				const refs = zipfRefs(seed, theta, 262_144, 300_000);
				const exact = new ExactMrc();
				for (const b of refs) {
					exact.access(b);
					shards.access(b);
				}
				const sizes = sizesUpTo(exact.distinct);
				const truth = exact.missRatios(sizes);
				// The curve is not trivial: it falls from 1 towards the cold-miss ratio.
				expect(truth[0]).toBe(1);
				expect(truth[50]).toBeLessThan(0.6);
				expect(truth[100]).toBeCloseTo(exact.distinct / refs.length, 9);
				expect(mae(shards.missRatios(sizes), truth)).toBeLessThanOrEqual(0.01);
				return exact;
			};
			const fixedSize = new Shards(1, 8192, seed);
			const e1 = check(0.9, fixedSize);
			expect(fixedSize.sampledBlocks).toBeLessThanOrEqual(8192);
			expect(fixedSize.rate).toBeLessThan(0.15); // it did sample
			expect(fixedSize.estimatedBlocks / e1.distinct).toBeGreaterThan(0.9);
			expect(fixedSize.estimatedBlocks / e1.distinct).toBeLessThan(1.1);
			const fixedRate = new Shards(0.1, 0, seed);
			const e2 = check(1.2, fixedRate);
			expect(fixedRate.sampledBlocks / e2.distinct).toBeGreaterThan(0.08);
			expect(fixedRate.sampledBlocks / e2.distinct).toBeLessThan(0.12);
		});
	}

	const tracePath = REAL_VSCSI_TRACE;
	it.skipIf(!HAVE_REAL_TRACE)('matches the exact curve on the real CloudPhysics vSCSI trace', () => {
		// Format v1: 32-byte records, little-endian (see the traces README).
		const buf = readFileSync(tracePath);
		const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
		const stats = new VscsiStats();
		const exact = new ExactMrc();
		const fixedSize = new Shards(1, 8192);
		const fixedRate = new Shards(0.1);
		let reads = 0;
		let writes = 0;
		let records = 0;
		for (let off = 0; off + 32 <= buf.length; off += 32) {
			const len = dv.getUint32(off + 4, true);
			const cmd = dv.getUint16(off + 12, true);
			const lba = Number(dv.getBigUint64(off + 16, true));
			const ts = Number(dv.getBigUint64(off + 24, true));
			const isRead = cmd === 0x28;
			if (isRead) reads++;
			else if (cmd === 0x2a) writes++;
			else continue;
			const sectors = Math.max(1, Math.ceil(len / 512));
			stats.arrive(isRead, lba, sectors, ts);
			stats.complete(isRead, ts, ts);
			// The curves on the first 30,000 records (318k block references, 175k blocks): the test
			// stays quick; the whole trace (1.14M references) gives the same agreement.
			if (++records > 30_000) continue;
			for (let b = Math.floor(lba / 8); b < Math.ceil((lba + sectors) / 8); b++) {
				exact.access(b);
				fixedSize.access(b);
				fixedRate.access(b);
			}
		}
		expect(reads).toBe(46_974);
		expect(writes).toBe(66_898);
		expect(stats.ioLength.all.count).toBe(reads + writes);
		expect(stats.ioLength.read.count).toBe(reads);
		// Unaligned sizes such as 6656 bytes exist and fall in the bucket (4096, 8191].
		expect(stats.ioLength.all.counts[IO_LENGTH_LIMITS.indexOf(8191)]).toBeGreaterThan(0);
		const sizes = sizesUpTo(exact.distinct);
		const truth = exact.missRatios(sizes);
		expect(mae(fixedSize.missRatios(sizes), truth)).toBeLessThanOrEqual(0.01);
		expect(mae(fixedRate.missRatios(sizes), truth)).toBeLessThanOrEqual(0.01);
	});
});

describe('HyperLogLog', () => {
	it('sets the registers of its definition: index from one 32-bit hash of both halves, rank from a second', () => {
		const fmix = (h: number) => {
			h ^= h >>> 16;
			h = Math.imul(h, 0x85ebca6b);
			h ^= h >>> 13;
			h = Math.imul(h, 0xc2b2ae35);
			h ^= h >>> 16;
			return h >>> 0;
		};
		const ref = new Uint8Array(1 << 14);
		const h = new HyperLogLog();
		const r = new Prng(4);
		for (let i = 0; i < 50_000; i++) {
			const b = i % 2 === 0 ? r.int(2 ** 32) : 2 ** 32 + r.int(2 ** 45);
			h.add(b);
			const h1 = fmix((b >>> 0) ^ fmix((Math.floor(b / 2 ** 32) >>> 0) ^ 0x27d4eb2f));
			const h2 = fmix(h1 ^ 0x165667b1);
			const rank = h2 === 0 ? 33 : Math.clz32(h2) + 1;
			ref[h1 >>> 18] = Math.max(ref[h1 >>> 18], rank);
		}
		expect(h.registers).toEqual(ref);
	});

	it('estimates 200k distinct block numbers within 3 %', () => {
		const h = new HyperLogLog();
		for (let i = 0; i < 200_000; i++) h.add(i * 7919 + 2 ** 36);
		for (let i = 0; i < 50_000; i++) h.add(i * 7919 + 2 ** 36); // repeats change nothing
		expect(Math.abs(h.estimate() / 200_000 - 1)).toBeLessThan(0.03);
		const small = new HyperLogLog();
		for (let i = 0; i < 300; i++) small.add(i);
		expect(Math.abs(small.estimate() - 300)).toBeLessThan(10);
	});
});

describe('vscsiStats histograms', () => {
	it('count a value in the first bucket whose limit is ≥ it, and above the last limit in the extra bucket', () => {
		const h = new VscsiHistogram(IO_LENGTH_LIMITS);
		for (const v of [512, 513, 4095, 4096, 6656, 524288, 524289, 1 << 20]) h.add(v);
		const at = (limit: number) => h.counts[IO_LENGTH_LIMITS.indexOf(limit as (typeof IO_LENGTH_LIMITS)[number])];
		expect(at(512)).toBe(1);
		expect(at(1024)).toBe(1);
		expect(at(4095)).toBe(1);
		expect(at(4096)).toBe(1);
		expect(at(8191)).toBe(1); // 6656
		expect(at(524288)).toBe(1);
		expect(h.counts[IO_LENGTH_LIMITS.length]).toBe(2);
		expect(h.count).toBe(8);
		expect(h.min).toBe(512);
		expect(h.max).toBe(1 << 20);
	});

	it('measure seek distance from the previous command’s last LBN (sequential = +1), per read and write', () => {
		const s = new VscsiStats();
		s.arrive(true, 1000, 8, 0); // LBNs 1000..1007
		s.arrive(true, 1008, 8, 10); // sequential: +1
		s.arrive(false, 0, 13, 20); // write: back to 0 (all: 0 − 1015 = −1015)
		s.arrive(true, 1016, 8, 30); // read after read 1008..1015: +1; all: 1016 − 12 = 1004
		const idx = (v: number) => SEEK_DISTANCE_LIMITS.indexOf(v as (typeof SEEK_DISTANCE_LIMITS)[number]);
		expect(s.seekDistance.read.counts[idx(1)]).toBe(2);
		expect(s.seekDistance.read.count).toBe(2);
		expect(s.seekDistance.write.count).toBe(0); // a first write has no predecessor
		expect(s.seekDistance.all.counts[idx(1)]).toBe(1);
		expect(s.seekDistance.all.counts[idx(-1000)]).toBe(1); // −1015 ∈ (−5000, −1000]
		expect(s.seekDistance.all.counts[idx(5000)]).toBe(1); // 1004 ∈ (1000, 5000]
		expect(s.outstandingIOs.all.max).toBe(4);
		expect(s.outstandingIOs.read.max).toBe(3);
		expect(s.outstandingIOs.write.max).toBe(1);
		expect(s.interarrival.all.mean).toBe(10);
		expect(s.interarrival.read.mean).toBe(15);
		s.complete(true, 0, 250);
		expect(s.latency.read.counts[3]).toBe(1); // 250 µs ∈ (100, 500]
		expect(s.outstanding).toBe(3);
	});
});

describe('heat map', () => {
	it('keeps every I/O when windows merge', () => {
		const h = HeatMap.forDisk(1 << 20, 16, 100, 4);
		let n = 0;
		for (let t = 0; t < 2000; t += 7) {
			h.add(t % 3 === 0, (t * 997) % (1 << 20), t);
			n++;
		}
		let total = 0;
		for (const a of [h.reads, h.writes]) for (const x of a) total += x;
		expect(total).toBe(n);
		expect(h.windowUs).toBe(800); // 100 → 200 → 400 → 800: 2000 µs fit in 4 windows
		expect(h.windows).toBe(3);
	});
});
