import { describe, expect, it } from 'vitest';
import { Prng } from '../clock';
import { ServerPool } from './queue';

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
