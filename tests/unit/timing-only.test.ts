/**
 * Timing-only mode moves no bytes, yet must model time exactly as a run with data does: for
 * filters whose decisions do not depend on content (cache, analytics, delay), the trace — every
 * I/O's times and verdicts through every filter — is the same, digest for digest.
 */
import { describe, expect, it } from 'vitest';
import { runScenario } from '../../src/lib/engine/index';

function scenario(timingOnly: boolean, filters: unknown[], rw = 'randrw') {
	return {
		version: 1,
		seed: 11,
		vms: [
			{
				name: 'vm',
				disks: [
					{
						name: 'd',
						size: '256m',
						datastore: { kind: 'hdd' },
						policy: { filters },
						workload: [
							{
								rw,
								bssplit: [
									{ bs: 4096, pct: 60 },
									{ bs: 6656, pct: 20 },
									{ bs: 16384, pct: 20 }
								],
								blockalign: 512,
								iodepth: 16,
								ios: 4000,
								size: '64m',
								randomDistribution: { kind: 'zipf', theta: 1.1 }
							}
						]
					}
				]
			}
		],
		run: { timingOnly }
	};
}

const CHAINS: [string, unknown[]][] = [
	['cache write-back + analytics', [{ type: 'analytics' }, { type: 'cache', params: { mode: 'write-back', capacityMiB: 8 } }]],
	['cache write-through', [{ type: 'cache', params: { mode: 'write-through', capacityMiB: 8, policy: 'lru' } }]],
	['delay + flaky', [{ type: 'delay', params: { readUs: 300, writeUs: 100 } }, { type: 'flaky', params: { probability: 0.01 } }]]
];

describe('timing-only mode', () => {
	it.each(CHAINS)('%s: the same trace as with data', async (_name, filters) => {
		const withData = await runScenario(scenario(false, filters));
		const timing = await runScenario(scenario(true, filters));
		expect(timing.traceDigest).toBe(withData.traceDigest);
		expect(timing.ios).toBe(withData.ios);
		expect(timing.latencyUs).toEqual(withData.latencyUs);
		for (const [name, status] of Object.entries(withData.filters))
			for (const key of ['readHitRatio', 'dirtyBlocks', 'evictions', 'workingSetBlocks'])
				if (key in status) expect(timing.filters[name][key]).toBe(status[key]);
		expect(timing.verify.reads).toBe(0);
		expect(withData.verify.reads).toBeGreaterThan(0);
		expect(withData.verify.mismatches).toBe(0);
	});

	it('refuses a filter that needs the data, naming it', async () => {
		await expect(runScenario(scenario(true, [{ type: 'encryption' }]))).rejects.toThrow(
			'vms[0].disks[0].policy.filters[0].type: filter "encryption" needs the data and does not run in timing-only mode'
		);
	});
});
