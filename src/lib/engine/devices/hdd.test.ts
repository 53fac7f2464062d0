import { describe, expect, it } from 'vitest';
import { Prng } from '../clock';
import { Op } from '../io';
import { createHdd, HDD_DEFAULTS } from './hdd';

const K4 = 4096;
const CAP_SECTORS = HDD_DEFAULTS.capacityBytes / 512;
const REV = 60e6 / 7200;

/** IOPS at queue depth 1 (closed loop) for a list of starting sectors. */
function iopsQd1(lbas: number[], seed = 1): number {
	const d = createHdd({}, new Prng(seed));
	let now = 0;
	for (const lba of lbas) now = d.schedule(now, Op.read, lba, K4);
	return lbas.length / (now / 1e6);
}

describe('HDD model', () => {
	it('sequential 4 KiB is far faster than random 4 KiB at queue depth 1 (> 20×)', () => {
		const n = 3000;
		const seq = Array.from({ length: n }, (_, i) => i * 8);
		const prng = new Prng(42);
		const rnd = Array.from({ length: n }, () => prng.int(CAP_SECTORS / 8) * 8);
		const seqIops = iopsQd1(seq);
		const rndIops = iopsQd1(rnd);
		expect(seqIops / rndIops).toBeGreaterThan(20);
		// A 7200 rpm drive does on the order of a hundred random IOPS.
		expect(rndIops).toBeGreaterThan(80);
		expect(rndIops).toBeLessThan(150);
	});

	it('a sequential continuation costs overhead + transfer only', () => {
		const d = createHdd({}, new Prng(1));
		const first = d.schedule(0, Op.read, 1000, K4);
		expect(first).toBeGreaterThan(HDD_DEFAULTS.minSeekUs); // the head was at 0: a seek
		const second = d.schedule(first, Op.write, 1008, K4);
		expect(second - first).toBeCloseTo(HDD_DEFAULTS.overheadUs + K4 / HDD_DEFAULTS.transferMBps, 9);
		// Re-reading the same block is not a continuation: it costs a rotation wait.
		const third = d.schedule(second, Op.read, 1008, K4);
		expect(third - second).toBeGreaterThan(HDD_DEFAULTS.minSeekUs);
	});

	it('seek time grows with distance up to the full stroke', () => {
		const d = createHdd({}, new Prng(1));
		expect(d.seekUs(0)).toBe(0);
		const s = [1, 1e3, 1e6, 1e8, CAP_SECTORS / 3, CAP_SECTORS].map((x) => d.seekUs(x));
		for (let i = 1; i < s.length; i++) expect(s[i]).toBeGreaterThan(s[i - 1]);
		expect(s[0]).toBeGreaterThanOrEqual(HDD_DEFAULTS.minSeekUs);
		expect(d.seekUs(CAP_SECTORS)).toBeCloseTo(HDD_DEFAULTS.fullStrokeUs, 9);
		expect(d.seekUs(-CAP_SECTORS * 2)).toBeCloseTo(HDD_DEFAULTS.fullStrokeUs, 9);
	});

	it('rotational latency is uniform in [0, one revolution) for non-sequential access', () => {
		const d = createHdd({}, new Prng(3));
		const far = CAP_SECTORS / 2;
		const fixed = HDD_DEFAULTS.overheadUs + d.seekUs(far) + K4 / HDD_DEFAULTS.transferMBps;
		const rot: number[] = [];
		let now = 0;
		for (let i = 0; i < 4000; i++) {
			// Alternate between two places half a disk apart: the seek is the same every time.
			const end = d.schedule(now, Op.read, i % 2 ? far : 0, K4);
			if (i > 0) rot.push(end - now - fixed);
			now = end;
		}
		expect(Math.min(...rot)).toBeGreaterThanOrEqual(-1e-6);
		expect(Math.max(...rot)).toBeLessThan(REV);
		const m = rot.reduce((a, b) => a + b, 0) / rot.length;
		expect(m / (REV / 2)).toBeGreaterThan(0.95);
		expect(m / (REV / 2)).toBeLessThan(1.05);
	});

	it('has one actuator: simultaneous requests are served one after another', () => {
		const d = createHdd({}, new Prng(1));
		const a = d.schedule(0, Op.read, 0, K4); // head at 0: sequential, no seek
		const b = d.schedule(0, Op.read, 8, K4);
		const c = d.schedule(0, Op.read, 16, K4);
		const svc = HDD_DEFAULTS.overheadUs + K4 / HDD_DEFAULTS.transferMBps;
		expect(a).toBeCloseTo(svc, 9);
		expect(b).toBeCloseTo(2 * svc, 9);
		expect(c).toBeCloseTo(3 * svc, 9);
		expect(d.stats().queuedUs).toBeCloseTo(svc + 2 * svc, 9);
		expect(d.stats().busyUs).toBeCloseTo(3 * svc, 9);
	});

	it('same seed ⇒ same latencies; another seed ⇒ different', () => {
		const run = (seed: number) => {
			const d = createHdd({}, new Prng(seed));
			const w = new Prng(5);
			const out: number[] = [];
			let now = 0;
			for (let i = 0; i < 300; i++) {
				const end = d.schedule(now, Op.read, w.int(CAP_SECTORS / 8) * 8, K4);
				out.push(end - now);
				now = end;
			}
			return out;
		};
		expect(run(1)).toEqual(run(1));
		expect(run(2)).not.toEqual(run(1));
	});

	it('flush and unmap cost fixed times and do not move the head', () => {
		const d = createHdd({}, new Prng(1));
		let t = d.schedule(0, Op.write, 0, K4);
		const f = d.schedule(t, Op.flush, 0, 0);
		expect(f - t).toBeCloseTo(HDD_DEFAULTS.flushUs, 9);
		const u = d.schedule(f, Op.unmap, 1e9, 1 << 20);
		expect(u - f).toBeCloseTo(HDD_DEFAULTS.unmapUs, 9);
		t = d.schedule(u, Op.write, 8, K4); // still continues the first write
		expect(t - u).toBeCloseTo(HDD_DEFAULTS.overheadUs + K4 / HDD_DEFAULTS.transferMBps, 9);
		expect(d.stats()).toMatchObject({ requests: 4, bytes: 2 * K4 });
	});
});
