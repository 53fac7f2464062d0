/**
 * Per-stream results (fio's per-job report): each workload stream's I/Os, rates and latencies are
 * its own, they add up to the disk's, and a disk with one stream reports the disk's own metrics.
 */
import { describe, expect, it } from 'vitest';
import { runResult } from '../../src/lib/engine/result';
import { oneDisk, runSim } from './scenarios';

/** Two streams that differ in operation, size and depth, on an NVMe device (latency varies). */
function twoStreams() {
	return oneDisk({
		datastore: { kind: 'nvme' },
		workload: [
			{ rw: 'randread', bs: '4k', iodepth: 16, ios: 1200, size: '64m' },
			{ rw: 'write', bs: '64k', iodepth: 2, ios: 150, offset: '512m' }
		]
	});
}

describe('per-stream results', () => {
	it('each stream counts its own I/Os, bytes and latencies; together they are the disk', async () => {
		const { sim, result: r } = await runSim(twoStreams());
		expect(r.streams.map((s) => [s.disk, s.stream, s.ios])).toEqual([
			['vm-01/disk-0', 0, 1200],
			['vm-01/disk-0', 1, 150]
		]);
		const [reads, writes] = r.streams;
		expect([reads.ops.read.ios, reads.ops.write.ios, writes.ops.read.ios, writes.ops.write.ios]).toEqual([1200, 0, 0, 150]);
		expect(reads.ops.read.latencyUs).toEqual(r.ops.read.latencyUs);
		expect(writes.ops.write.latencyUs).toEqual(r.ops.write.latencyUs);
		// Rates are over each stream's own elapsed time, not the run's.
		expect(writes.mbps).toBeCloseTo((150 * 65536) / writes.elapsedUs, 9);
		expect(reads.iops).toBeCloseTo((1200 / reads.elapsedUs) * 1e6, 6);
		expect(Math.max(reads.elapsedUs, writes.elapsedUs)).toBeLessThanOrEqual(r.elapsedUs + 1e-6);
		expect(sim.disks[0].guest.streams.every((s) => s.metrics !== undefined)).toBe(true);
	});

	it('a one-stream disk keeps no second copy: its stream is the disk', async () => {
		const { sim, result: r } = await runSim(oneDisk({ datastore: { kind: 'nvme' } }));
		expect(sim.disks[0].guest.streams[0].metrics).toBeUndefined();
		expect(r.streams).toHaveLength(1);
		expect(r.streams[0]).toMatchObject({ ios: r.ios, iops: r.iops, elapsedUs: r.elapsedUs, latencyUs: r.latencyUs, ops: r.ops });
	});

	it('asking for the results twice gives the same numbers (percentiles do not disturb the live samples)', async () => {
		const { sim, result: first } = await runSim(oneDisk({ datastore: { kind: 'nvme' } }));
		expect(runResult(sim)).toEqual(first);
	});
});
