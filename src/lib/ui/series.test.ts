import { describe, expect, it } from 'vitest';
import { EngineSession } from '$lib/worker/session';
import { builtinRegistry } from '$lib/filters';
import { MemoryStoreFactory } from '$lib/engine/storage/memory';
import { GAUGES, SeriesBuilder } from './series';

/** One disk with every filter that has gauges. */
function scenario() {
	const filters = Object.keys(GAUGES).map((type) => ({ type, params: {} }));
	return {
		version: 1,
		seed: 7,
		vms: [{ name: 'vm', disks: [{ name: 'd', size: '64m', policy: { filters }, workload: [{ rw: 'randrw', bs: '4k', iodepth: 8, ios: 400, dedupePercentage: 50 }] }] }]
	};
}

describe('series', () => {
	it("GAUGES name the filters' real status counters", async () => {
		const s = new EngineSession({ registry: builtinRegistry(), stores: new MemoryStoreFactory(), yieldNow: () => Promise.resolve() });
		await s.load(scenario());
		await s.runToEnd();
		const f = s.frame();
		for (const [name, keys] of Object.entries(GAUGES)) {
			const status = f.filters.find((x) => x.name === name)?.status;
			expect(status, name).toBeDefined();
			for (const k of keys) expect(typeof status![k], `${name}.${k}`).toBe('number');
		}
		const b = new SeriesBuilder();
		expect(b.add(f)).toBe(true);
		const p = b.points[0];
		for (const [name, keys] of Object.entries(GAUGES)) for (const k of keys) expect(p.gauges[`${name}.${k}`], `${name}.${k}`).toBeTypeOf('number');
		expect(p.readIops + p.writeIops).toBeCloseTo(p.iops, 6);
		expect(p.readMbps + p.writeMbps).toBeCloseTo(p.mbps, 6);
	});

	it('merges short windows into points of at least minSpanUs', () => {
		const b = new SeriesBuilder(1000);
		const frame = (from: number, to: number, ios: number, state = 'running') =>
			({
				state,
				filters: [],
				window: { fromUs: from, toUs: to, ios, reads: ios, writes: 0, bytes: ios * 4096, readBytes: ios * 4096, writeBytes: 0, errors: 0, p50: 100, p99: 200, max: 300 }
			}) as never;
		expect(b.add(frame(0, 400, 4))).toBe(false);
		expect(b.add(frame(400, 1000, 6))).toBe(true);
		expect(b.points[0]).toMatchObject({ t: 1000, iops: 10_000, readIops: 10_000, writeIops: 0, p50: 100, p99: 200 });
		// The last frame of a run closes a point whatever its span.
		expect(b.add(frame(1000, 1100, 1, 'finished'))).toBe(true);
		expect(b.points.length).toBe(2);
		// Slow motion: after maxFrames frames with completions, a point closes however short.
		const slow = new SeriesBuilder(1000, 600, 3);
		expect(slow.add(frame(0, 1, 0))).toBe(false);
		expect(slow.add(frame(1, 2, 1))).toBe(false);
		expect(slow.add(frame(2, 3, 0))).toBe(true);
		expect(slow.points[0]).toMatchObject({ t: 3, iops: 1e6 / 3 });
	});
});
