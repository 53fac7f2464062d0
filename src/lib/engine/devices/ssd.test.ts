import { describe, expect, it } from 'vitest';
import { Prng } from '../clock';
import { Op, type OpCode } from '../io';
import { createNvme, createSataSsd, NVME_DEFAULTS, SATA_SSD_DEFAULTS, type SsdModel } from './ssd';

const K4 = 4096;
const MIB = 1 << 20;

/** Closed loop at queue depth 1: each request is issued when the previous completes. */
function qd1(dev: SsdModel, op: OpCode, bytes: number, n: number, prng = new Prng(99)): number[] {
	const lat: number[] = [];
	let now = 0;
	for (let i = 0; i < n; i++) {
		const end = dev.schedule(now, op, prng.int(1 << 28) * 8, bytes);
		lat.push(end - now);
		now = end;
	}
	return lat;
}

const mean = (a: number[]) => a.reduce((s, x) => s + x, 0) / a.length;

describe('SSD models', () => {
	it('same seed ⇒ same latencies; another seed ⇒ different', () => {
		const a = qd1(createNvme({}, new Prng(1)), Op.read, K4, 200);
		const b = qd1(createNvme({}, new Prng(1)), Op.read, K4, 200);
		const c = qd1(createNvme({}, new Prng(2)), Op.read, K4, 200);
		expect(a).toEqual(b);
		expect(c).not.toEqual(a);
		expect(new Set(a).size).toBeGreaterThan(190); // jitter really varies per request
	});

	it('without jitter, a 4 KiB read at idle takes latency + bytes / bandwidth exactly', () => {
		const d = createNvme({ jitter: 0, stallProb: 0 }, new Prng(1));
		expect(d.schedule(1000, Op.read, 0, K4)).toBeCloseTo(1000 + 80 + K4 / 3000, 9);
		expect(d.schedule(5000, Op.write, 0, K4)).toBeCloseTo(5000 + 20 + K4 / 2000, 9);
		expect(d.schedule(9000, Op.unmap, 0, MIB)).toBeCloseTo(9000 + NVME_DEFAULTS.unmapUs, 9);
	});

	it('queue depth 1 means match the presets (NVMe ≈ 80 µs read, SATA ≈ 120 µs) with a few % jitter', () => {
		const nvme = qd1(createNvme({}, new Prng(3)), Op.read, K4, 20000);
		expect(mean(nvme)).toBeGreaterThan(80);
		expect(mean(nvme)).toBeLessThan(83);
		const sorted = [...nvme].sort((x, y) => x - y);
		const p50 = sorted[10000];
		expect(sorted[1000] / p50).toBeGreaterThan(0.9); // a few %, not tens of %
		expect(sorted[18999] / p50).toBeLessThan(1.12);
		const sata = qd1(createSataSsd({}, new Prng(3)), Op.read, K4, 20000);
		expect(mean(sata)).toBeGreaterThan(120);
		expect(mean(sata)).toBeLessThan(130);
		expect(mean(qd1(createNvme({}, new Prng(3)), Op.write, K4, 5000))).toBeLessThan(25);
		expect(mean(qd1(createSataSsd({}, new Prng(3)), Op.write, K4, 5000))).toBeLessThan(65);
	});

	it('the stall tail raises the mean by stallProb × stallUs', () => {
		const base = mean(qd1(createNvme({ stallProb: 0 }, new Prng(4)), Op.read, K4, 20000));
		const tail = mean(qd1(createNvme({ stallProb: 0.1, stallUs: 1000 }, new Prng(4)), Op.read, K4, 20000));
		expect(tail - base).toBeGreaterThan(80);
		expect(tail - base).toBeLessThan(120);
	});

	it('more outstanding requests than channels ⇒ waits grow in steps of one service time', () => {
		const d = createNvme({ jitter: 0, stallProb: 0 }, new Prng(1));
		const ends: number[] = [];
		for (let i = 0; i < 4 * 32; i++) ends.push(d.schedule(0, Op.read, i * 8, K4));
		const waves = [0, 1, 2, 3].map((w) => mean(ends.slice(w * 32, w * 32 + 32)));
		for (let w = 1; w < 4; w++) expect(waves[w] - waves[w - 1]).toBeGreaterThan(79);
		expect(d.stats().queuedUs).toBeGreaterThan(32 * (80 + 160 + 240));
		// Within the channel count, nobody waits for a channel (only for the shared interface).
		const e = createNvme({ jitter: 0, stallProb: 0 }, new Prng(1));
		for (let i = 0; i < 32; i++) e.schedule(0, Op.read, i * 8, K4);
		expect(e.stats().queuedUs).toBeLessThan(32 * 32 * (K4 / 3000));
	});

	it('small I/O saturates the channels: IOPS ≈ channels / latency', () => {
		for (const [make, p] of [
			[createNvme, NVME_DEFAULTS],
			[createSataSsd, SATA_SSD_DEFAULTS]
		] as const) {
			const d = make({}, new Prng(5));
			const n = 20000;
			let last = 0;
			for (let i = 0; i < n; i++) last = Math.max(last, d.schedule(0, Op.read, i * 8, K4));
			const iops = n / (last / 1e6);
			const expected = (p.channels / p.readLatencyUs) * 1e6;
			expect(iops / expected).toBeGreaterThan(0.95);
			expect(iops / expected).toBeLessThan(1.03);
		}
	});

	it('large I/O saturates the interface: MB/s ≈ bandwidth', () => {
		for (const [make, p] of [
			[createNvme, NVME_DEFAULTS],
			[createSataSsd, SATA_SSD_DEFAULTS]
		] as const) {
			for (const [op, bw] of [
				[Op.read, p.readMBps],
				[Op.write, p.writeMBps]
			] as const) {
				const d = make({}, new Prng(6));
				let last = 0;
				for (let i = 0; i < 300; i++) last = Math.max(last, d.schedule(0, op, i * 2048, MIB));
				const mbps = (300 * MIB) / last;
				expect(mbps / bw).toBeGreaterThan(0.97);
				expect(mbps / bw).toBeLessThanOrEqual(1);
			}
		}
	});

	it('the queue depth (NCQ) caps parallelism below the channel count', () => {
		const d = createSataSsd({ queueDepth: 2, jitter: 0, stallProb: 0 }, new Prng(1));
		let last = 0;
		for (let i = 0; i < 8; i++) last = Math.max(last, d.schedule(0, Op.read, 0, 512));
		expect(last).toBeGreaterThan(4 * 120); // 8 requests, 2 at a time
		const e = createSataSsd({ jitter: 0, stallProb: 0 }, new Prng(1));
		let last8 = 0;
		for (let i = 0; i < 8; i++) last8 = Math.max(last8, e.schedule(0, Op.read, 0, 512));
		expect(last8).toBeLessThan(121 + 8 * (512 / 550));
	});

	it('a flush completes flushUs after every earlier write', () => {
		const d = createNvme({}, new Prng(8));
		let lastWrite = 0;
		for (let i = 0; i < 50; i++) lastWrite = Math.max(lastWrite, d.schedule(0, Op.write, i * 256, 128 * 1024));
		d.schedule(0, Op.read, 0, MIB); // reads do not hold a flush back
		expect(d.schedule(10, Op.flush, 0, 0)).toBeCloseTo(lastWrite + NVME_DEFAULTS.flushUs, 9);
		expect(d.schedule(lastWrite + 1000, Op.flush, 0, 0)).toBe(lastWrite + 1000 + NVME_DEFAULTS.flushUs);
	});

	it('stats: counts, data bytes, and latency = busy + queued', () => {
		const d = createSataSsd({}, new Prng(9));
		const prng = new Prng(10);
		let sumLat = 0;
		let bytes = 0;
		let now = 0;
		for (let i = 0; i < 5000; i++) {
			now += prng.exp(20);
			const op = (prng.int(10) < 7 ? Op.read : prng.int(2) ? Op.write : prng.int(2) ? Op.flush : Op.unmap) as OpCode;
			const b = op === Op.flush ? 0 : (1 + prng.int(32)) * K4;
			if (op === Op.read || op === Op.write) bytes += b;
			sumLat += d.schedule(now, op, prng.int(1 << 20) * 8, b) - now;
		}
		const s = d.stats();
		expect(s.requests).toBe(5000);
		expect(s.bytes).toBe(bytes);
		expect(s.busyUs + s.queuedUs).toBeCloseTo(sumLat, 3);
		expect(s.queuedUs).toBeGreaterThan(0);
	});

	it('rejects bad overrides', () => {
		expect(() => createNvme({ channels: 0 }, new Prng(1))).toThrow(/channels/);
		expect(() => createNvme({ channels: 2.5 }, new Prng(1))).toThrow(/integer/);
		expect(() => createSataSsd({ readMBps: Number.NaN }, new Prng(1))).toThrow(/finite/);
		expect(() => createNvme({ bogus: 1 } as never, new Prng(1))).toThrow(/unknown parameter "bogus"/);
	});
});
