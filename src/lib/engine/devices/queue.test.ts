import { describe, expect, it } from 'vitest';
import { Prng } from '../clock';
import { ServerPool, SlotPool } from './queue';

describe('ServerPool', () => {
	it('serialises jobs on one server', () => {
		const q = new ServerPool(1);
		expect(q.book(0, 10)).toBe(0);
		expect(q.book(0, 10)).toBe(10);
		expect(q.book(5, 10)).toBe(20);
		expect(q.book(100, 10)).toBe(100); // idle server: starts on arrival
		expect(q.earliest()).toBe(110);
	});

	it('runs k jobs in parallel, the (k+1)th waits for the earliest free server', () => {
		const q = new ServerPool(3);
		expect([q.book(0, 30), q.book(0, 10), q.book(0, 20)]).toEqual([0, 0, 0]);
		expect(q.book(0, 5)).toBe(10);
		expect(q.book(0, 5)).toBe(15); // the server freed at 10 is busy until 15 again
		expect(q.book(0, 5)).toBe(20);
		expect(q.busyAt(21)).toBe(2);
		expect(q.allFreeAt()).toBe(30);
	});

	it('matches a brute-force model of k free-at times on random workloads', () => {
		const prng = new Prng(7);
		for (const k of [1, 2, 5, 8, 33]) {
			const q = new ServerPool(k);
			const ref = new Array<number>(k).fill(0);
			let now = 0;
			for (let i = 0; i < 2000; i++) {
				now += prng.exp(3);
				const service = prng.exp(10 * k);
				let m = 0;
				for (let j = 1; j < k; j++) if (ref[j] < ref[m]) m = j;
				const expected = Math.max(now, ref[m]);
				ref[m] = expected + service;
				expect(q.book(now, service)).toBe(expected);
			}
			expect(q.allFreeAt()).toBe(Math.max(...ref));
		}
	});

	it('replaceEarliest lets a caller hold a server until a time learned later', () => {
		const q = new ServerPool(2);
		q.replaceEarliest(50);
		q.replaceEarliest(20);
		expect(q.earliest()).toBe(20);
		q.replaceEarliest(70);
		expect(q.earliest()).toBe(50);
		q.reset();
		expect(q.allFreeAt()).toBe(0);
	});

	it('rejects a bad server count', () => {
		expect(() => new ServerPool(0)).toThrow(RangeError);
		expect(() => new ServerPool(1.5)).toThrow(RangeError);
	});
});

describe('SlotPool', () => {
	it('admits exactly as a ServerPool used through earliest() and replaceEarliest(), for arrivals in time order', () => {
		const prng = new Prng(9);
		for (const k of [1, 3, 32, 1024]) {
			const slots = new SlotPool(k);
			const ref = new ServerPool(k);
			let now = 0;
			for (let i = 0; i < 5000; i++) {
				// Bursts of simultaneous arrivals, idle gaps, and service times long enough to fill all k.
				if (prng.next() < 0.7) now += prng.exp(prng.next() < 0.05 ? 500 : 2);
				const expected = Math.max(now, ref.earliest());
				const admit = slots.admit(now);
				expect(admit).toBe(expected);
				const end = admit + prng.exp(20 * Math.min(k, 40));
				ref.replaceEarliest(end);
				slots.hold(end);
				expect(slots.busyAt(now)).toBe(ref.busyAt(now));
			}
		}
	});

	it('a full pool admits at the earliest completion', () => {
		const s = new SlotPool(2);
		expect(s.admit(0)).toBe(0);
		s.hold(50);
		expect(s.admit(0)).toBe(0);
		s.hold(20);
		expect(s.admit(5)).toBe(20);
		s.hold(70);
		expect(s.admit(60)).toBe(60); // the slot that ended at 50 is free again
		expect(() => new SlotPool(0)).toThrow(RangeError);
	});
});
