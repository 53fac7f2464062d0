import { describe, expect, it } from 'vitest';
import { Batch } from './batch';

describe('Batch', () => {
	it('drains every item in order and is empty afterwards', () => {
		const b = new Batch<number>();
		for (let i = 0; i < 5; i++) b.push(i);
		expect(b.length).toBe(5);
		const seen: number[] = [];
		b.drain((x) => seen.push(x));
		expect(seen).toEqual([0, 1, 2, 3, 4]);
		expect(b.length).toBe(0);
		b.drain(() => {
			throw new Error('nothing to drain');
		});
	});

	it('items pushed during a drain wait for the next one, also when the drain is nested', () => {
		const b = new Batch<string>();
		b.push('a');
		b.push('b');
		const order: string[] = [];
		b.drain((x) => {
			order.push(x);
			b.push(x + '1');
			if (x === 'a') b.drain((y) => order.push('nested ' + y));
		});
		// The nested drain served what 'a' had queued; 'b1' is left.
		expect(order).toEqual(['a', 'nested a1', 'b']);
		const rest: string[] = [];
		b.drain((x) => rest.push(x));
		expect(rest).toEqual(['b1']);
		b.push('c');
		const last: string[] = [];
		b.drain((x) => last.push(x));
		expect(last).toEqual(['c']);
	});
});
