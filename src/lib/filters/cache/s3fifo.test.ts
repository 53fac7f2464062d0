/**
 * S3-FIFO's queue sizes: S is the small share of the cache (10 %) once it is full, whatever the
 * cache saw while it filled, and a one-time scan does not push out what proved useful.
 */
import { describe, expect, it } from 'vitest';
import { S3FifoPolicy } from './s3fifo';

/** The cache's side of a miss: evict when full (any block may go), then insert. */
function miss(p: S3FifoPolicy, block: number, resident: Set<number>, capacity: number): void {
	p.miss(block);
	if (resident.size >= capacity) {
		const v = p.victim(block, () => true);
		expect(v).toBeGreaterThanOrEqual(0);
		p.remove(v, true);
		resident.delete(v);
	}
	p.insert(block);
	resident.add(block);
}

describe('S3-FIFO', () => {
	it('fills with S at its 10 %, the rest in M, and keeps S there under a stream of one-time blocks', () => {
		const cap = 1000;
		const p = new S3FifoPolicy(cap);
		const resident = new Set<number>();
		for (let b = 0; b < cap; b++) miss(p, b, resident, cap);
		expect(p.stats()).toMatchObject({ s3Small: 100, s3Main: 900 });
		// A scan of new blocks afterwards goes through S only: M keeps its 900.
		for (let b = cap; b < 5 * cap; b++) miss(p, b, resident, cap);
		const st = p.stats();
		expect(st.s3Small + st.s3Main).toBe(cap);
		expect(st.s3Small).toBeLessThanOrEqual(100);
		expect(resident.size).toBe(cap);
		for (let b = 100; b < cap; b++) expect(p.has(b)).toBe(true);
	});

	it('moves a block from S to M after promoteHits hits (2 by default, as libCacheSim), else drops it to the ghost queue', () => {
		const cap = 100;
		// Fill, then push 200 one-time blocks through S so the cache has evicted and S is steady.
		const run = (promoteHits: number | undefined, hitsOnProbe: number) => {
			const p = promoteHits === undefined ? new S3FifoPolicy(cap) : new S3FifoPolicy(cap, promoteHits);
			const resident = new Set<number>();
			for (let b = 0; b < 3 * cap; b++) miss(p, b, resident, cap);
			const probe = 10_000;
			miss(p, probe, resident, cap);
			for (let i = 0; i < hitsOnProbe; i++) p.hit(probe);
			const before = p.stats().s3Promotions;
			// Enough new blocks to cycle S (10 blocks) several times over.
			for (let b = 20_000; b < 20_050; b++) miss(p, b, resident, cap);
			return { resident: p.has(probe), promoted: p.stats().s3Promotions - before };
		};
		expect(run(undefined, 1)).toEqual({ resident: false, promoted: 0 });
		expect(run(undefined, 2)).toEqual({ resident: true, promoted: 1 });
		expect(run(2, 1).resident).toBe(false);
		expect(run(1, 1)).toEqual({ resident: true, promoted: 1 });
		expect(run(3, 2).resident).toBe(false);
		expect(run(3, 3).resident).toBe(true);
		expect(() => new S3FifoPolicy(cap, 0)).toThrow(RangeError);
		expect(() => new S3FifoPolicy(cap, 4)).toThrow(RangeError);
	});
});
