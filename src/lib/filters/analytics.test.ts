/**
 * The analytics filter in a chain: it sees every guest I/O, never changes it and costs no virtual
 * time; its vscsiStats histograms, working set and heat map match workloads whose answers are known;
 * its SHARDS curve agrees with the exact LRU curve of the same run; its state survives a power-off
 * and restart through the sidecar. The algorithms alone are tested in analytics/mrc.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { Simulation } from '../engine/simulation';
import { runResult, type RunResult } from '../engine/result';
import { MemoryStoreFactory } from '../engine/storage/memory';
import type { FilterInstance } from '../engine/chain';
import { builtinRegistry } from '.';
import { analyticsReport, meanAbsError, type AnalyticsState } from './analytics';
import { IO_LENGTH_LIMITS, SEEK_DISTANCE_LIMITS } from './analytics/histograms';

const KEY = 'vm-01/disk-0';

function scenario(o: {
	seed?: number;
	size?: string;
	filters: unknown[];
	workload: Record<string, unknown>[];
}): unknown {
	return {
		version: 1,
		name: 'analytics-test',
		seed: o.seed ?? 1,
		vms: [
			{
				name: 'vm-01',
				disks: [{ name: 'disk-0', size: o.size ?? '4g', datastore: { kind: 'nvme' }, policy: { filters: o.filters }, workload: o.workload }]
			}
		]
	};
}

/** zipf:0.9 over the first GiB, 70 % reads, odd sizes at 512-byte alignment. */
const zipfMix = (ios: number) => ({
	rw: 'randrw',
	rwmixread: 70,
	bssplit: [
		{ bs: 4096, pct: 50 },
		{ bs: 6656, pct: 30 },
		{ bs: 16384, pct: 20 }
	],
	blockalign: 512,
	iodepth: 16,
	size: '1g',
	ios,
	randomDistribution: { kind: 'zipf', theta: 0.9 }
});

async function run(sc: unknown, stores = new MemoryStoreFactory(), expected?: Simulation['disks'][number]['expected']) {
	const sim = await Simulation.create(sc, {
		registry: builtinRegistry(),
		stores,
		...(expected ? { expected: new Map([[KEY, expected]]) } : {})
	});
	await sim.run();
	return { sim, r: runResult(sim) };
}

function instance(sim: Simulation): FilterInstance {
	const f = sim.disk().chain.filters.find((x) => x.def.name === 'analytics');
	if (!f) throw new Error('no analytics filter');
	return f;
}
const stateOf = (sim: Simulation) => instance(sim).state as AnalyticsState;

function clean(r: RunResult): void {
	expect(r.verify.mismatches).toBe(0);
	expect(r.errors.count).toBe(0);
	expect(r.verify.reads).toBeGreaterThan(0);
}

// Generous timeouts: these tests do a few seconds of work and the machine is shared.
describe('analytics filter', { timeout: 60_000 }, () => {
	it('sees every guest I/O, passes it unchanged at no virtual time, and its SHARDS curve matches the exact one', async () => {
		const workload = [zipfMix(25_000)];
		const { sim, r } = await run(
			scenario({
				filters: [{ type: 'analytics', params: { exactMrc: true, shardsRate: 1, shardsMaxBlocks: 8192 } }],
				workload
			})
		);
		clean(r);
		const st = r.filters.analytics;
		expect(st.ios).toBe(r.ios);
		expect(st.reads).toBe(r.ops.read.ios);
		expect(st.writes).toBe(r.ops.write.ios);
		expect(st.verdictPass).toBe(r.ios);
		expect(st.verdictComplete).toBe(0);
		expect(st.verdictDefer).toBe(0);
		expect(st.chargedUs).toBe(0);

		// The same run through a neutral inspection filter with both hooks (flaky that never fires)
		// has the same trace, bit for bit: analytics changed no I/O and took no virtual time.
		const { r: bare } = await run(scenario({ filters: [{ type: 'flaky', class: 'inspection', params: { probability: 0 } }], workload }));
		expect(bare.filters.flaky.failed).toBe(0);
		expect(r.traceDigest).toBe(bare.traceDigest);
		expect(r.elapsedUs).toBe(bare.elapsedUs);

		// Latency measured at the top of the chain is the guest's latency.
		expect(st.meanLatencyUs as number).toBeCloseTo(r.latencyUs.mean, 3);

		const rep = analyticsReport(stateOf(sim));
		for (const [name, h] of Object.entries(rep.histograms)) {
			expect(h.all.counts.reduce((a, b) => a + b, 0)).toBe(h.all.count);
			// Seek distance and interarrival need a predecessor: none for the first read and write.
			const firsts = name === 'seekDistance' || name === 'interarrival' ? 1 : 0;
			expect(h.read.count + h.write.count + firsts).toBe(h.all.count);
		}
		expect(rep.histograms.ioLength.all.count).toBe(r.ios);
		expect(rep.histograms.latency.all.count).toBe(r.ios);
		expect(rep.histograms.outstandingIOs.all.max).toBe(16);
		// bssplit 4096 / 6656 / 16384 at 50 / 30 / 20 %: buckets 4096, 8191 and 16384.
		const len = rep.histograms.ioLength.all.counts;
		const share = (limit: number) => len[IO_LENGTH_LIMITS.indexOf(limit as (typeof IO_LENGTH_LIMITS)[number])] / r.ios;
		expect(share(4096)).toBeCloseTo(0.5, 1);
		expect(share(8191)).toBeCloseTo(0.3, 1);
		expect(share(16384)).toBeCloseTo(0.2, 1);

		// MRC: ~50k block references; the SHARDS estimate against Mattson's exact curve.
		expect(st.blockRefs).toBeGreaterThan(45_000);
		expect(rep.mrc.exactMissRatio).toBeDefined();
		expect(rep.mrc.missRatio[0]).toBe(1);
		expect(rep.mrc.exactMissRatio![50]).toBeLessThan(0.7);
		expect(meanAbsError(rep.mrc.missRatio, rep.mrc.exactMissRatio!)).toBeLessThanOrEqual(0.01);
		expect(st.mrcMeanAbsError).toBeLessThanOrEqual(0.01);
		expect(st.sampledBlocks).toBeLessThanOrEqual(8192);
		expect(st.shardsRate).toBeLessThan(1);
		// The whole region fits in 1 GiB: no misses but cold ones there.
		expect(st.exactMissRatioAt1GiB).toBeCloseTo((st.workingSetBlocks as number) / (st.blockRefs as number), 6);
		// Working set: exact, within the 1 GiB region (262,144 blocks).
		expect(st.workingSetExact).toBe(1);
		expect(st.workingSetBlocks).toBeGreaterThan(10_000);
		expect(st.workingSetBlocks).toBeLessThanOrEqual(262_144 + 4);
		expect(st.workingSetWrittenBlocks).toBeLessThan(st.workingSetBlocks as number);
		// Heat map: 256 buckets of 16 MiB over 4 GiB; the region is the first 64 buckets.
		let inside = 0;
		let outside = 0;
		for (const rows of [rep.heatMap.reads, rep.heatMap.writes])
			for (const row of rows) row.forEach((n, b) => (b < 64 ? (inside += n) : (outside += n)));
		expect(inside).toBe(r.ios);
		expect(outside).toBe(0);
	});

	it('reports vscsiStats histograms of a sequential stream: lengths, seek +1, QD 1, interarrival = latency', async () => {
		const { sim, r } = await run(
			scenario({
				size: '64m',
				filters: [{ type: 'analytics', params: { heatBuckets: 64, wsExactLimit: 100 } }],
				workload: [{ rw: 'write', bs: 6656, iodepth: 1, size: '1m', ios: 400 }]
			})
		);
		expect(r.verify.mismatches).toBe(0);
		expect(r.errors.count).toBe(0);
		const h = analyticsReport(stateOf(sim)).histograms;
		const len = h.ioLength.write.counts;
		// 1 MiB = 157 × 6656 + 3584: every 158th write is cut short at the region's end, then it wraps.
		expect(len[IO_LENGTH_LIMITS.indexOf(8191)]).toBe(398);
		expect(len[IO_LENGTH_LIMITS.indexOf(4095)]).toBe(2);
		expect(h.ioLength.read.count).toBe(0);
		const seek = h.seekDistance.write.counts;
		expect(seek[SEEK_DISTANCE_LIMITS.indexOf(1)]).toBe(397); // sequential
		expect(seek[SEEK_DISTANCE_LIMITS.indexOf(-1000)]).toBe(2); // the wraps: 0 − 2047 ∈ (−5000, −1000]
		expect(h.seekDistance.write.min).toBe(-2047);
		expect(h.outstandingIOs.all.max).toBe(1);
		expect(h.outstandingIOs.all.min).toBe(1);
		// At queue depth 1, each interarrival is the previous I/O's latency: the same histogram but
		// for the last I/O's latency.
		expect(h.interarrival.all.count).toBe(399);
		expect(h.latency.all.count).toBe(400);
		let diff = 0;
		h.latency.all.counts.forEach((n, k) => (diff += n - h.interarrival.all.counts[k]));
		expect(diff).toBe(1);
		expect(h.latency.all.counts.every((n, k) => n - h.interarrival.all.counts[k] >= 0)).toBe(true);
		expect(h.interarrival.all.sum).toBeLessThan(h.latency.all.sum);
		expect(h.interarrival.all.sum).toBeGreaterThanOrEqual(h.latency.all.sum - h.latency.all.max - 1e-6);
		expect(h.latency.write.min).toBeGreaterThan(0);
		const st = r.filters.analytics;
		expect(st.sequentialPct).toBeCloseTo(99.5, 1);
		// 1 MiB region = 256 blocks, all written; past wsExactLimit = 100 blocks it is a HyperLogLog.
		expect(st.workingSetExact).toBe(0);
		expect(Math.abs((st.workingSetBlocks as number) - 256)).toBeLessThanOrEqual(3);
		expect(Math.abs((st.workingSetWrittenBlocks as number) - 256)).toBeLessThanOrEqual(3);
		const heat = analyticsReport(stateOf(sim)).heatMap;
		expect(heat.sectorsPerBucket).toBe(2048); // 64 MiB / 64
		expect(heat.writes.reduce((a, row) => a + row[0], 0)).toBe(400);
		expect(heat.writes.reduce((a, row) => a + row.reduce((x, y) => x + y, 0), 0)).toBe(400);
		expect(heat.reads.flat().every((n) => n === 0)).toBe(true);
	});

	it('measures latency over everything below it and counts failed I/O', async () => {
		const { r } = await run(
			scenario({
				filters: [
					{ type: 'analytics' },
					{ type: 'delay', class: 'cache', params: { readUs: 2000, writeUs: 0 } },
					{ type: 'flaky', params: { probability: 0.05, ops: 'write' } }
				],
				workload: [{ rw: 'randrw', bs: 4096, iodepth: 8, size: '64m', ios: 2000 }]
			})
		);
		expect(r.verify.mismatches).toBe(0);
		const st = r.filters.analytics;
		expect(r.errors.count).toBeGreaterThan(0);
		expect(st.errors).toBe(r.errors.count);
		expect(st.meanReadLatencyUs).toBeGreaterThanOrEqual(2000);
		expect(st.meanWriteLatencyUs).toBeLessThan(2000);
		expect(st.meanLatencyUs as number).toBeCloseTo(r.latencyUs.mean, 3);
	});

	it('charges a modelled CPU cost per I/O when asked', async () => {
		const wl = [{ rw: 'randread', bs: 4096, iodepth: 4, size: '64m', ios: 1000 }];
		const { r: free } = await run(scenario({ filters: [{ type: 'analytics' }], workload: wl }));
		const { r: paid } = await run(scenario({ filters: [{ type: 'analytics', params: { cpuUsPerIo: 50 } }], workload: wl }));
		clean(paid);
		expect(paid.filters.analytics.chargedUs).toBe(50 * 1000);
		expect(paid.elapsedUs).toBeGreaterThan(free.elapsedUs);
	});

	it('is deterministic', async () => {
		const sc = scenario({ seed: 9, filters: [{ type: 'analytics', params: { shardsRate: 0.1 } }], workload: [zipfMix(3000)] });
		const a = await run(sc);
		const b = await run(sc);
		expect(b.r.traceDigest).toBe(a.r.traceDigest);
		expect(b.r.filters.analytics).toEqual(a.r.filters.analytics);
		expect(analyticsReport(stateOf(b.sim))).toEqual(analyticsReport(stateOf(a.sim)));
	});

	it('saves its state at power-off and continues from it after a restart', async () => {
		const stores = new MemoryStoreFactory();
		const params = { exactMrc: true, shardsRate: 0.5, heatWindowUs: 10_000 };
		const sc = (seed: number) => scenario({ seed, filters: [{ type: 'analytics', params }], workload: [zipfMix(4000)] });
		const first = await run(sc(1), stores);
		clean(first.r);
		await first.sim.control(KEY, { type: 'power-off' });
		const before = analyticsReport(stateOf(first.sim));
		const s1 = stateOf(first.sim);

		// A new simulation on the same stores: attach reads the sidecar back.
		const second = await Simulation.create(sc(2), {
			registry: builtinRegistry(),
			stores,
			expected: new Map([[KEY, first.sim.disk().expected]])
		});
		const s2 = stateOf(second);
		expect(s2.restored).toBe(true);
		const after = analyticsReport(s2);
		// Identical, but for the heat map's origin: the new run's clock starts at 0.
		expect(after.heatMap.originUs).toBe(-first.sim.sched.now);
		expect({ ...after, heatMap: { ...after.heatMap, originUs: 0 } }).toEqual({ ...before, heatMap: { ...before.heatMap, originUs: 0 } });
		expect(Array.from(s2.shards.tracker.lruOrder())).toEqual(Array.from(s1.shards.tracker.lruOrder()));
		expect(Array.from(s2.exact!.tracker.lruOrder())).toEqual(Array.from(s1.exact!.tracker.lruOrder()));

		await second.run();
		const r2 = runResult(second);
		clean(r2);
		const st = r2.filters.analytics;
		expect(st.restored).toBe(1);
		expect(st.ios).toBe(first.r.ios + r2.ios);
		expect(st.blockRefs).toBe((first.r.filters.analytics.blockRefs as number) + (stateOf(second).blockRefs - s1.blockRefs));
		// The second run's references reuse blocks of the first: its cold misses are fewer than a
		// fresh tracker's would be, so the curve really continued.
		expect(s2.exact!.hist.cold).toBe(s2.exact!.distinct);
		expect(s2.exact!.refs).toBe(st.blockRefs);
		expect(st.mrcMeanAbsError).toBeLessThanOrEqual(0.02);
		// The heat map continues after the first run's windows.
		const heat = analyticsReport(s2).heatMap;
		const total = [...heat.reads, ...heat.writes].flat().reduce((a, b) => a + b, 0);
		expect(total).toBe(st.ios);

		// With persist off, nothing is read back.
		const third = await Simulation.create(
			scenario({ filters: [{ type: 'analytics', params: { ...params, persist: false } }], workload: [zipfMix(10)] }),
			{ registry: builtinRegistry(), stores }
		);
		expect(stateOf(third).restored).toBe(false);
		expect(stateOf(third).ios).toBe(0);
	});
});
