/**
 * The discrete-event scheduler ((time, seq) order, ties in insertion order, never backwards) and
 * the seeded PRNG (determinism, ranges, independent forks).
 */
import { describe, expect, it } from 'vitest';
import { NO_EVENT, Prng, Scheduler } from '../../src/lib/engine/clock';

/** Runs every event, returning [time, label] in execution order. */
function drain(s: Scheduler, log: [number, string][]): [number, string][] {
	for (let fn = s.pop(); fn; fn = s.pop()) fn();
	return log;
}

describe('Scheduler', () => {
	it('runs events in time order, ties in the order they were scheduled', () => {
		const s = new Scheduler();
		const log: [number, string][] = [];
		const ev = (t: number, label: string) => s.at(t, () => void log.push([s.now, label]));
		ev(5, 'a');
		ev(3, 'b');
		ev(5, 'c');
		ev(3, 'd');
		ev(0, 'e');
		ev(5, 'f');
		expect(drain(s, log)).toEqual([
			[0, 'e'],
			[3, 'b'],
			[3, 'd'],
			[5, 'a'],
			[5, 'c'],
			[5, 'f']
		]);
	});

	it('matches a stable sort by time over thousands of events with many ties', () => {
		const s = new Scheduler();
		const rng = new Prng(99);
		const want: [number, number][] = [];
		const got: [number, number][] = [];
		for (let i = 0; i < 5000; i++) {
			const t = rng.int(50); // 50 distinct times: ~100 ties each
			want.push([t, i]);
			s.at(t, () => void got.push([s.now, i]));
		}
		want.sort((a, b) => a[0] - b[0]); // Array.prototype.sort is stable
		for (let fn = s.pop(); fn; fn = s.pop()) fn();
		expect(got).toEqual(want);
	});

	it('an event scheduled for now from inside an event runs after the events already due now', () => {
		const s = new Scheduler();
		const log: [number, string][] = [];
		s.at(10, () => {
			log.push([s.now, 'first']);
			s.after(0, () => void log.push([s.now, 'spawned']));
		});
		s.at(10, () => void log.push([s.now, 'second']));
		s.at(11, () => void log.push([s.now, 'later']));
		expect(drain(s, log)).toEqual([
			[10, 'first'],
			[10, 'second'],
			[10, 'spawned'],
			[11, 'later']
		]);
	});

	it('time never goes backwards: a past time, a negative delay or NaN means now', () => {
		const s = new Scheduler();
		const log: [number, string][] = [];
		s.at(100, () => {
			s.at(50, () => void log.push([s.now, 'past']));
			s.after(-5, () => void log.push([s.now, 'negative']));
			s.at(NaN, () => void log.push([s.now, 'nan']));
		});
		drain(s, log);
		expect(log).toEqual([
			[100, 'past'],
			[100, 'negative'],
			[100, 'nan']
		]);
	});

	it('after(d) is relative to now; pop advances the clock; peekTime and pending describe the queue', () => {
		const s = new Scheduler();
		expect(s.peekTime()).toBe(Infinity);
		expect(s.pop()).toBeUndefined();
		s.at(40, () => s.after(15, () => {}));
		s.at(20, () => {});
		expect(s.pending).toBe(2);
		expect(s.peekTime()).toBe(20);
		s.pop()!();
		expect(s.now).toBe(20);
		s.pop()!();
		expect(s.now).toBe(40);
		expect(s.peekTime()).toBe(55);
		expect(s.pending).toBe(1);
	});
});

describe('Scheduler lanes', () => {
	it('events on lanes run in exactly the (time, seq) order one heap of them all gives, also when scheduled from inside events', () => {
		// The same seeded schedule twice: all on the heap, then with two lanes. Each lane gets
		// non-decreasing times (a disk's busy-until time), now and then exactly now or an earlier
		// time (which atLane sends to the heap). Events schedule more events as they run.
		const run = (useLanes: boolean): string[] => {
			const rng = new Prng(7);
			const s = new Scheduler();
			const lanes = useLanes ? [s.lane(), s.lane()] : [];
			const laneTime = [0, 0];
			const log: string[] = [];
			let id = 0;
			const put = (depth: number): void => {
				const label = id++;
				const fn = (d: number) => {
					log.push(`${s.now}:${label}`);
					if (d < 3) for (let j = rng.int(3); j > 0; j--) put(d + 1);
				};
				const k = rng.int(3);
				if (k === 2) {
					s.at(s.now + rng.int(4), fn, depth);
					return;
				}
				laneTime[k] = Math.max(laneTime[k], s.now) + (rng.int(4) === 0 ? 0 : rng.int(3));
				const r = rng.int(10);
				const t = r === 0 ? s.now : r === 1 ? laneTime[k] - 1 : laneTime[k];
				if (useLanes) s.atLane(lanes[k], t, fn, depth);
				else s.at(t, fn, depth);
			};
			// Enough that a lane outgrows its ring, and wraps around it while holding events.
			for (let i = 0; i < 6000; i++) put(0);
			expect(s.pending).toBe(6000);
			for (let r = s.runNext(); r !== NO_EVENT; r = s.runNext());
			expect(s.pending).toBe(0);
			return log;
		};
		const heap = run(false);
		expect(heap.length).toBeGreaterThan(12000);
		expect(run(true)).toEqual(heap);
	});
});

describe('Prng', () => {
	const take = (p: Prng, n: number) => Array.from({ length: n }, () => p.u32());

	it('the same seed gives the same sequence; a different seed another', () => {
		expect(take(new Prng(12345), 1000)).toEqual(take(new Prng(12345), 1000));
		const a = take(new Prng(1), 100);
		const b = take(new Prng(2), 100);
		expect(a.filter((x, i) => x === b[i]).length).toBe(0);
	});

	it('is xoshiro128** seeded by splitmix32: known first values (Node and browsers agree)', () => {
		expect(take(new Prng(1), 4)).toEqual([2442144158, 3238099751, 3819917871, 2104621829]);
		expect(take(new Prng(0xdeadbeef), 4)).toEqual([2306529437, 2576298207, 1250671110, 2699168992]);
		expect(take(new Prng(1).fork(3), 2)).toEqual([1161950954, 2027120707]);
	});

	it('seeds are taken as unsigned 32-bit: 2^32 + 1 is seed 1', () => {
		expect(take(new Prng(2 ** 32 + 1), 8)).toEqual(take(new Prng(1), 8));
	});

	it('u32 is an unsigned 32-bit integer; next is in [0, 1); int(n) is an integer in [0, n)', () => {
		const p = new Prng(7);
		let sum = 0;
		let maxBig = 0;
		const bad: string[] = [];
		for (let i = 0; i < 20_000; i++) {
			const u = p.u32();
			if (!(Number.isInteger(u) && u >= 0 && u < 2 ** 32)) bad.push(`u32 ${u}`);
			const x = p.next();
			if (!(x >= 0 && x < 1)) bad.push(`next ${x}`);
			sum += x;
			const k = p.int(10);
			if (!(Number.isInteger(k) && k >= 0 && k < 10)) bad.push(`int(10) ${k}`);
			const big = p.int(2 ** 40); // beyond 32 bits: a 20 TiB disk in sectors
			if (!(Number.isInteger(big) && big >= 0 && big < 2 ** 40)) bad.push(`int(2^40) ${big}`);
			maxBig = Math.max(maxBig, big);
		}
		expect(bad).toEqual([]);
		expect(sum / 20_000).toBeGreaterThan(0.49);
		expect(sum / 20_000).toBeLessThan(0.51);
		expect(maxBig).toBeGreaterThan(2 ** 39); // the upper half of a big range is reachable
	});

	it('int covers every value of a small range, about evenly', () => {
		const p = new Prng(3);
		const counts = new Array(6).fill(0);
		for (let i = 0; i < 60_000; i++) counts[p.int(6)]++;
		for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(500);
	});

	it('exp has the given mean; normal has mean 0 and sd 1', () => {
		const p = new Prng(11);
		let e = 0;
		let n = 0;
		let n2 = 0;
		const N = 50_000;
		for (let i = 0; i < N; i++) {
			e += p.exp(100);
			const z = p.normal();
			n += z;
			n2 += z * z;
		}
		expect(e / N).toBeGreaterThan(98);
		expect(e / N).toBeLessThan(102);
		expect(Math.abs(n / N)).toBeLessThan(0.02);
		expect(Math.sqrt(n2 / N)).toBeGreaterThan(0.98);
		expect(Math.sqrt(n2 / N)).toBeLessThan(1.02);
	});

	it('forks are independent: drawing from a child does not change the parent or its siblings', () => {
		const p1 = new Prng(5);
		const p2 = new Prng(5);
		const c1 = p1.fork(1);
		const c2 = p2.fork(1);
		const s1 = p1.fork(2);
		const s2 = p2.fork(2);
		take(c1, 500); // only one family draws from its first child
		expect(take(p1, 20)).toEqual(take(p2, 20));
		expect(take(s1, 20)).toEqual(take(s2, 20));
		expect(take(c1, 20)).not.toEqual(take(c2, 20)); // c2 is 500 draws behind c1
	});

	it('forks with different salts, or from different parent states, give different streams', () => {
		const a = take(new Prng(5).fork(1), 50);
		const b = take(new Prng(5).fork(2), 50);
		const parent = new Prng(5);
		const c = take(parent.fork(1), 50);
		const d = take(parent.fork(1), 50); // same salt, parent has moved on
		expect(a).toEqual(c);
		expect(a.filter((x, i) => x === b[i]).length).toBe(0);
		expect(c.filter((x, i) => x === d[i]).length).toBe(0);
		const root = take(new Prng(5), 50);
		expect(a.filter((x, i) => x === root[i]).length).toBe(0);
	});
});
