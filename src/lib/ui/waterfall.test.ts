import { beforeAll, describe, expect, it } from 'vitest';
import { EngineSession } from '$lib/worker/session';
import { builtinRegistry } from '$lib/filters';
import { MemoryStoreFactory } from '$lib/engine/storage/memory';
import type { TraceQueryRow } from '$lib/worker/trace-query';
import { waterfallModel, type ChainFilterInfo } from './waterfall';

const chain: ChainFilterInfo[] = [
	{ name: 'cache', class: 'cache' },
	{ name: 'flaky', class: 'datastoreIoControl' }
];

describe('waterfall model of one I/O', () => {
	let s: EngineSession;
	const first = (q: Parameters<EngineSession['traceQuery']>[0]): TraceQueryRow => {
		const r = s.traceQuery(q).rows[0];
		expect(r, JSON.stringify(q)).toBeDefined();
		return r;
	};
	beforeAll(async () => {
		s = new EngineSession({ registry: builtinRegistry(), stores: new MemoryStoreFactory(), yieldNow: () => Promise.resolve() });
		await s.load({
			version: 1,
			name: 'waterfall',
			seed: 5,
			vms: [
				{
					name: 'vm',
					disks: [
						{
							name: 'd',
							size: '16m',
							policy: { filters: [{ type: 'cache', params: { mode: 'write-back', capacityMiB: 8 } }, { type: 'flaky', params: { probability: 0.05 } }] },
							workload: [{ rw: 'randrw', bs: '4k', rwmixread: 60, iodepth: 8, ios: 2000, randomDistribution: { kind: 'zipf', theta: 1.2 } }]
						}
					]
				}
			]
		});
		await s.runToEnd();
	});

	it('has a lane for the guest, each filter and the device', () => {
		const m = waterfallModel(first({ origin: 'guest', from: 0, count: 1 }), chain);
		expect(m.lanes.map((l) => l.kind)).toEqual(['guest', 'filter', 'filter', 'device']);
		expect(m.lanes.map((l) => l.label)).toEqual(['guest', 'cache', 'flaky', 'device']);
	});

	it('a failed I/O: the failing filter ends it, only the filters above are told, lanes below are "not told"', () => {
		const row = first({ filter: 'flaky', verdict: 'fail', origin: 'guest', from: 0, count: 1 });
		const m = waterfallModel(row, chain);
		expect(m.failed).toBe(true);
		const [guest, cache, flaky, device] = m.lanes;
		expect(guest.toldOfFailure).toBe(true);
		expect(cache.state).toBe('seen');
		expect(cache.toldOfFailure).toBe(true);
		expect(flaky.outcome).toBe('fail');
		expect(flaky.ended).toBe(true);
		expect(flaky.downVerdict).toBe('fail');
		expect(device.state).toBe('not-told');
		expect(device.note).toMatch(/not told/);
		expect(device.service).toBeUndefined();
		expect(m.endedBy).toBe('flaky');
	});

	it('a read completed in the cache: held while the SSD reads, lanes below not reached', () => {
		const row = first({ filter: 'cache', verdict: 'complete', op: 'read', from: 0, count: 1 });
		const m = waterfallModel(row, chain);
		const [, cache, flaky, device] = m.lanes;
		expect(cache.outcome).toBe('complete');
		expect(cache.down).toBeDefined();
		expect(cache.down!.held).toBe(cache.downVerdict === 'defer');
		expect(flaky.state).toBe('not-reached');
		expect(device.state).toBe('not-reached');
		expect(device.note).toMatch(/cache completed it/);
	});

	it('a filter\'s own I/O (a destage) is not on the path of the filters above its issuer', () => {
		const row = first({ origin: 'filter', status: 'ok', from: 0, count: 1 });
		const m = waterfallModel(row, chain);
		expect(m.lanes[0].label).toBe('cache (own I/O)');
		expect(m.lanes[1].state).toBe('not-on-path');
		expect(m.lanes[2].state).toBe('seen');
		expect(m.lanes[3].service).toBeDefined();
	});

	it('times lie within the guest span, and down precedes up', () => {
		for (const row of s.traceQuery({ from: 0, count: 300 }).rows) {
			const m = waterfallModel(row, chain);
			for (const l of m.lanes) {
				for (const sp of [l.span, l.down, l.up, l.service]) {
					if (!sp) continue;
					expect(sp.from).toBeGreaterThanOrEqual(m.start);
					expect(sp.to).toBeLessThanOrEqual(m.end);
					expect(sp.to).toBeGreaterThanOrEqual(sp.from);
				}
				if (l.down && l.up) expect(l.up.from).toBeGreaterThanOrEqual(l.down.to);
			}
		}
	});
});
