import { describe, expect, it } from 'vitest';
import { HeatPolicy, type PlacementView } from './policy';

/** A placement with `slots` fast slots holding `fast` (extents), some of them migrating. */
function view(slots: number, fast: number[], migrating: number[] = []): PlacementView {
	return {
		freeSlots: Math.max(0, slots - fast.length),
		overCapacity: Math.max(0, fast.length - slots),
		isFast: (e) => fast.includes(e),
		movable: (e) => !migrating.includes(e),
		forEachFast: (fn) => fast.forEach(fn)
	};
}

const H = 1_000_000; // half-life, µs

describe('HeatPolicy', () => {
	it('halves heat every half-life and adds new accesses to the decayed value', () => {
		const p = new HeatPolicy({ halfLifeUs: H, promoteMinHeat: 1, hysteresis: 0.5 });
		p.touch(3, 0, 8);
		expect(p.heat(3, H)).toBeCloseTo(4, 9);
		expect(p.heat(3, 3 * H)).toBeCloseTo(1, 9);
		p.touch(3, 2 * H, 1);
		expect(p.heat(3, 2 * H)).toBeCloseTo(3, 9);
		expect(p.heat(99, 5 * H)).toBe(0);
	});

	it('promotes the hottest capacity extent above the threshold while slots are free', () => {
		const p = new HeatPolicy({ halfLifeUs: H, promoteMinHeat: 2, hysteresis: 0.5 });
		for (let i = 0; i < 5; i++) p.touch(10, i, 1);
		for (let i = 0; i < 3; i++) p.touch(20, i, 1);
		p.touch(30, 0, 1);
		expect(p.decide(10, view(4, []))).toMatchObject({ kind: 'promote', extent: 10 });
		// 10 is on the fast tier now; 20 is next; 30 is below the threshold.
		expect(p.decide(10, view(4, [10]))).toMatchObject({ kind: 'promote', extent: 20 });
		expect(p.decide(10, view(4, [10, 20]))).toBeUndefined();
		// A migrating extent is skipped.
		expect(p.decide(10, view(4, [10], [20]))).toBeUndefined();
	});

	it('keeps remembering candidates that were not touched since the last decision', () => {
		const p = new HeatPolicy({ halfLifeUs: H, promoteMinHeat: 1, hysteresis: 0 });
		for (let i = 0; i < 4; i++) p.touch(7, 0, 1);
		for (let i = 0; i < 3; i++) p.touch(8, 0, 1);
		expect(p.decide(0, view(1, [], [7]))).toMatchObject({ extent: 8 });
		// Nothing touched since: 7 is still a candidate (from the top list), now movable.
		expect(p.decide(H, view(2, [8]))).toMatchObject({ kind: 'promote', extent: 7 });
	});

	it('when full, demotes the coldest fast extent only for a clearly hotter candidate', () => {
		const p = new HeatPolicy({ halfLifeUs: H, promoteMinHeat: 1, hysteresis: 0.5 });
		for (let i = 0; i < 10; i++) p.touch(1, 0, 1); // fast, hot
		for (let i = 0; i < 4; i++) p.touch(2, 0, 1); // fast, colder
		for (let i = 0; i < 5; i++) p.touch(3, 0, 1); // capacity: 5 < 4 × 1.5
		expect(p.decide(0, view(2, [1, 2]))).toBeUndefined();
		for (let i = 0; i < 2; i++) p.touch(3, 0, 1); // 7 > 6
		expect(p.decide(0, view(2, [1, 2]))).toMatchObject({ kind: 'demote', extent: 2 });
		// After the demotion frees a slot, the candidate is promoted.
		p.demoted(2);
		expect(p.decide(0, view(2, [1]))).toMatchObject({ kind: 'promote', extent: 3 });
	});

	it('demotes the coldest fast extent while the fast tier holds more than its capacity', () => {
		const p = new HeatPolicy({ halfLifeUs: H, promoteMinHeat: 1, hysteresis: 0.5 });
		p.touch(1, 0, 5);
		p.touch(2, 0, 3);
		p.touch(3, 0, 9);
		expect(p.decide(0, view(1, [1, 2, 3]))).toMatchObject({ kind: 'demote', extent: 2 });
		expect(p.decide(0, view(1, [1, 3], [1]))).toMatchObject({ kind: 'demote', extent: 3 });
		expect(p.decide(0, view(1, [3]))).toBeUndefined();
	});

	it('exports a pruned heat table and imports it back', () => {
		const p = new HeatPolicy({ halfLifeUs: H, promoteMinHeat: 1, hysteresis: 0.5 });
		p.touch(1, 0, 4);
		p.touch(2, 0, 0.001);
		const saved = p.exportHeat(H, 0.01);
		expect(saved).toEqual([[1, 2]]);
		expect(p.tracked).toBe(1);
		const q = new HeatPolicy({ halfLifeUs: H, promoteMinHeat: 1, hysteresis: 0.5 });
		q.importHeat(saved, 0);
		expect(q.heat(1, 0)).toBe(2);
		expect(q.decide(0, view(1, []))).toMatchObject({ kind: 'promote', extent: 1 });
	});
});
