import { describe, expect, it } from 'vitest';
import { Op } from '../io';
import { createNull } from './null';

describe('null device', () => {
	it('completes at once by default, with no queueing however many are outstanding', () => {
		const d = createNull();
		for (let i = 0; i < 1000; i++) expect(d.schedule(123, Op.write, i * 8, 4096)).toBe(123);
		expect(d.stats()).toEqual({ requests: 1000, bytes: 4096000, busyUs: 0, queuedUs: 0 });
	});

	it('a fixed latency applies to every op; only reads and writes count as bytes', () => {
		const d = createNull({ latencyUs: 7 });
		expect(d.schedule(10, Op.read, 0, 512)).toBe(17);
		expect(d.schedule(10, Op.flush, 0, 0)).toBe(17);
		expect(d.schedule(10, Op.unmap, 0, 1 << 20)).toBe(17);
		expect(d.stats()).toEqual({ requests: 3, bytes: 512, busyUs: 21, queuedUs: 0 });
	});
});
