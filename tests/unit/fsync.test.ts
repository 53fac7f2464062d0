/**
 * fio's fsync=N: a flush after every N writes. A write-back cache must destage everything dirty
 * before it completes a flush (SCSI SYNCHRONIZE CACHE), so only the writes after the last flush
 * stay dirty.
 */
import { describe, expect, it } from 'vitest';
import { runScenario } from '../../src/lib/engine/index';

const scenario = (fsync: number) => ({
	version: 1,
	seed: 5,
	vms: [
		{
			name: 'vm',
			disks: [
				{
					name: 'd',
					size: '64m',
					datastore: { kind: 'hdd' },
					policy: { filters: [{ type: 'cache', params: { mode: 'write-back', destageMBps: 0, capacityMiB: 16 } }] },
					workload: [{ rw: 'write', bs: '4k', iodepth: 1, ios: 640, fsync }]
				}
			]
		}
	]
});

describe('fsync', () => {
	it('flushes a write-back cache every N writes', async () => {
		const without = await runScenario(scenario(0));
		const with64 = await runScenario(scenario(64));
		expect(without.filters.cache.dirtyBlocks).toBe(640);
		expect(with64.ops.flush.ios).toBe(9);
		expect(with64.filters.cache.dirtyBlocks).toBe(64);
		expect(with64.ops.write.ios).toBe(640);
		expect(with64.verify.mismatches + with64.errors.count).toBe(0);
		// Each flush waits for 64 destages to the HDD: the flushes are slow, the writes are not.
		expect(with64.ops.flush.latencyUs.p50).toBeGreaterThan(20 * with64.ops.write.latencyUs.p50);
	});
});
