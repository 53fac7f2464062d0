import { describe, expect, it } from 'vitest';
import { BucketIndex } from './bucket-index';
import { INTERARRIVAL_LIMITS_US, IO_LENGTH_LIMITS, LATENCY_LIMITS_US, OUTSTANDING_LIMITS, SEEK_DISTANCE_LIMITS } from './histograms';
import { Prng } from '../../engine/clock';

/** The definition: the first limit ≥ v, else one past the last. */
function linear(limits: readonly number[], v: number): number {
	let i = 0;
	while (i < limits.length && !(v <= limits[i])) i++;
	return i;
}

describe('BucketIndex', () => {
	const sets: (readonly number[])[] = [IO_LENGTH_LIMITS, SEEK_DISTANCE_LIMITS, OUTSTANDING_LIMITS, LATENCY_LIMITS_US, INTERARRIVAL_LIMITS_US, [0], [-7], [-(2 ** 31) + 1, 2 ** 31 - 1], [3, 4, 5, 6, 7, 8, 1000]];

	it('finds the bucket a linear scan finds, on random values of every magnitude', () => {
		const r = new Prng(11);
		for (const limits of sets) {
			const index = new BucketIndex(limits);
			for (let n = 0; n < 20_000; n++) {
				const mag = 2 ** r.int(34);
				const v = (r.next() < 0.5 ? -1 : 1) * (r.next() < 0.5 ? r.int(mag) : r.next() * mag);
				expect(index.of(v)).toBe(linear(limits, v));
			}
		}
	});

	it('handles the limits themselves, their neighbours and the odd values', () => {
		for (const limits of sets) {
			const index = new BucketIndex(limits);
			const values = limits.flatMap((l) => [l - 1, l - 0.5, l - 1e-9, l, l + 1e-9, l + 0.5, l + 1]);
			values.push(0, -0, 0.25, -0.25, 2 ** 31, -(2 ** 31), 2 ** 53, Infinity, -Infinity, NaN);
			for (const v of values) expect(index.of(v)).toBe(linear(limits, v));
		}
	});

	it('refuses limits it cannot index', () => {
		expect(() => new BucketIndex([])).toThrow(RangeError);
		expect(() => new BucketIndex([2, 1])).toThrow(RangeError);
		expect(() => new BucketIndex([0.5])).toThrow(RangeError);
		expect(() => new BucketIndex([2 ** 31])).toThrow(RangeError);
	});
});
