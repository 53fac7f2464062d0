import { describe, expect, it } from 'vitest';
import { createWanLink, LINK_DEFAULTS } from './link';

describe('WAN link', () => {
	it('defaults: 20 ms RTT, 100 Mbit/s = 12.5 bytes/µs', () => {
		const l = createWanLink();
		expect(l.rttUs).toBe(20000);
		expect(l.bytesPerUs).toBe(12.5);
		expect(LINK_DEFAULTS.mbitPerSec).toBe(100);
	});

	it('1 MB takes 80 ms to serialise plus RTT/2 to arrive', () => {
		const l = createWanLink();
		expect(l.send(1000, 1e6)).toBeCloseTo(1000 + 80000 + 10000, 6);
		expect(l.transmitFreeAt).toBeCloseTo(81000, 6);
		expect(createWanLink().send(0, 0)).toBe(10000); // a tiny message: one-way delay
	});

	it('serialises in order: a small message sent after a big one arrives after it', () => {
		const l = createWanLink({ rttUs: 1000, mbitPerSec: 8 }); // 1 byte/µs
		const big = l.send(0, 100000);
		const small = l.send(10, 10);
		expect(big).toBe(100000 + 500);
		expect(small).toBe(100000 + 10 + 500);
		expect(small).toBeGreaterThan(big);
		// Once the link has drained, a message starts on arrival.
		expect(l.send(300000, 100)).toBe(300000 + 100 + 500);
	});

	it('throughput of back-to-back messages equals the bandwidth', () => {
		const l = createWanLink({ mbitPerSec: 1000 });
		let last = 0;
		for (let i = 0; i < 1000; i++) last = l.send(0, 65536);
		expect((1000 * 65536) / (last - l.rttUs / 2)).toBeCloseTo(125, 6);
		expect(l.stats()).toEqual({ messages: 1000, bytes: 1000 * 65536, busyUs: expect.closeTo(1000 * 65536 / 125, 3) });
	});

	it('an outage loses messages sent while down; the link resumes when up', () => {
		const l = createWanLink();
		l.up = false;
		expect(l.send(0, 4096)).toBe(Infinity);
		expect(l.stats().messages).toBe(0);
		l.up = true;
		expect(l.send(5000, 0)).toBe(15000);
		expect(l.stats().messages).toBe(1);
	});

	it('rejects bad parameters', () => {
		expect(() => createWanLink({ mbitPerSec: 0 })).toThrow(/mbitPerSec/);
		expect(() => createWanLink({ rttUs: -1 })).toThrow(/rttUs/);
	});
});
