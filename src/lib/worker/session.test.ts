import { describe, expect, it } from 'vitest';
import { EngineSession, EVENT_FIXED, EVENT_STRIDE, EventCol } from './session';
import { builtinRegistry } from '../filters';
import { MemoryStoreFactory } from '../engine/storage/memory';
import { defaultScenario, runScenario } from '../engine/index';

function scenario(ios: number, extra: Record<string, unknown> = {}) {
	return {
		version: 1,
		seed: 3,
		vms: [
			{
				name: 'vm',
				disks: [
					{
						name: 'd',
						size: '64m',
						policy: { filters: [{ type: 'delay', params: { readUs: 200, writeUs: 200 } }] },
						workload: [{ rw: 'randrw', bs: '4k', iodepth: 4, ios, ...extra }]
					}
				]
			}
		]
	};
}

const session = (stores = new MemoryStoreFactory(), wall = { t: 0 }) =>
	new EngineSession({ registry: builtinRegistry(), stores, wallMs: () => wall.t, yieldNow: () => Promise.resolve() });

describe('EngineSession', () => {
	it('runs to the same digest as runScenario', async () => {
		const s = session();
		await s.load(defaultScenario());
		const r = await s.runToEnd();
		expect(s.state).toBe('finished');
		expect(r.traceDigest).toBe((await runScenario(defaultScenario())).traceDigest);
	});

	it('steps exactly one guest I/O at a time', async () => {
		const s = session();
		await s.load(scenario(20));
		for (let i = 1; i <= 3; i++) {
			await s.step();
			expect(s.frame().ios).toBe(i);
		}
		expect(s.state).toBe('paused');
	});

	it('maps virtual time to wall time at the chosen speed', async () => {
		const wall = { t: 0 };
		const s = session(new MemoryStoreFactory(), wall);
		await s.load(scenario(100_000));
		s.setSpeed(10); // 10 virtual µs per wall ms
		// The wall clock advances 1 ms each time it is read: playback keeps pace with it.
		let reads = 0;
		const clock = { t: 0 };
		(s as unknown as { wallMs: () => number }).wallMs = () => (reads++ > 400 ? (s.pause(), clock.t) : (clock.t += 1));
		await s.play();
		const f = s.frame();
		expect(f.nowUs).toBeGreaterThan(0);
		// Never ahead of the wall clock times the speed.
		expect(f.nowUs).toBeLessThanOrEqual(clock.t * 10 + 1);
		expect(f.state).toBe('paused');
	});

	it('frames carry a bounded sample and the window of completions', async () => {
		const s = new EngineSession({ registry: builtinRegistry(), stores: new MemoryStoreFactory(), yieldNow: () => Promise.resolve(), sampleLimit: 16 });
		await s.load(scenario(500));
		await s.runToEnd();
		const f = s.frame();
		expect(f.completedSinceLast).toBe(500);
		expect(f.sampleCount).toBe(16);
		expect(f.sample.length).toBe(16 * EVENT_STRIDE);
		expect(f.window.ios).toBe(500);
		expect(f.window.p50).toBeGreaterThan(200); // the delay filter adds 200 µs
		for (let i = 0; i < 16; i++) expect(f.sample[i * EVENT_STRIDE + EventCol.doneAt]).toBeGreaterThan(f.sample[i * EVENT_STRIDE + EventCol.issuedAt]);
		expect(s.frame().completedSinceLast).toBe(0);
	});

	it('frames carry the I/Os in flight where they are now (times not reached yet are -1)', async () => {
		const s = session();
		await s.load(scenario(50));
		// The delay filter defers each I/O for 200 µs: stop inside the first ones' delay.
		await s.sim!.run({ untilUs: 100, maxEvents: 1_000_000 });
		const f = s.frame();
		expect(f.liveCount).toBe(4); // iodepth 4
		expect(f.live.length).toBe(4 * EVENT_STRIDE);
		for (let i = 0; i < f.liveCount; i++) {
			const o = i * EVENT_STRIDE;
			expect(f.live[o + EventCol.doneAt]).toBe(-1);
			expect(f.live[o + EventCol.deviceStart]).toBe(-1);
			expect(f.live[o + EVENT_FIXED + 0]).toBeGreaterThanOrEqual(0); // down-in of the delay filter
			expect(f.live[o + EVENT_FIXED + 1]).toBe(-1); // still held there (down-out not yet)
			expect(f.live[o + EVENT_FIXED + 4]).toBe(4); // down verdict: defer
		}
		await s.runToEnd();
		expect(s.frame().liveCount).toBe(0);
	});

	it("serves the analytics filter's report, and null without the filter", async () => {
		const s = session();
		await s.load(scenario(200));
		expect(s.analytics()).toBeNull();
		const withAnalytics = scenario(200);
		withAnalytics.vms[0].disks[0].policy.filters = [{ type: 'analytics', params: {} as { readUs: number; writeUs: number } }];
		await s.load(withAnalytics);
		await s.runToEnd();
		const r = s.analytics('vm/d')!;
		expect(r.ios).toBe(200);
		expect(r.histograms.ioLength.all.count).toBe(200);
		expect(r.mrc.missRatio.length).toBe(r.mrc.sizesBytes.length);
		expect(s.analytics('vm/other')).toBeNull();
	});

	it('a fresh load starts from empty disks: no mismatches from an earlier run', async () => {
		const s = session();
		await s.load(scenario(2000, { rw: 'randwrite' }));
		await s.runToEnd();
		await s.load(scenario(2000, { rw: 'randread' }));
		const r = await s.runToEnd();
		expect(r.verify.reads).toBeGreaterThan(0);
		expect(r.verify.mismatches).toBe(0);
	});

	it('plays at a finite speed from time 0 (a wall clock that has not moved yet is not the end)', async () => {
		const s = session();
		await s.load(scenario(50));
		s.setSpeed(1);
		// The wall clock stands still for the first reads (coarse timers), then moves 1 ms a read.
		let reads = 0;
		let t = 0;
		(s as unknown as { wallMs: () => number }).wallMs = () => (reads++ < 6 ? 0 : reads > 200 ? (s.pause(), t) : (t += 1));
		await s.play();
		expect(s.state).toBe('paused');
		expect(s.frame().nowUs).toBeGreaterThan(0);
	});

	it('keeps disks and verification state for the next session, and reset wipes them', async () => {
		const stores = new MemoryStoreFactory();
		const a = session(stores);
		await a.load(scenario(2000, { rw: 'randwrite' }));
		await a.runToEnd();
		const b = session(stores);
		const saved = await b.savedScenario();
		expect(saved).toBeDefined();
		const info = await b.load(scenario(2000, { rw: 'randread' }), true);
		expect(info.restored).toBe(true);
		const r = await b.runToEnd();
		// Reads of what the first session wrote are verified against what it wrote.
		expect(r.verify.sectorsChecked).toBeGreaterThan(0);
		expect(r.verify.mismatches).toBe(0);
		await b.reset();
		expect(await session(stores).savedScenario()).toBeUndefined();
	});

	it('a bad scenario is refused with the field and the reason', async () => {
		const s = session();
		await expect(s.load({ version: 1, vms: [{ name: 'vm', disks: [{ name: 'd', size: 'big' }] }] })).rejects.toThrow(
			'vms[0].disks[0].size'
		);
	});
});

describe('restoring a session', () => {
	it('does not restore onto disks whose chain changed, and starts them empty', async () => {
		const stores = new MemoryStoreFactory();
		const a = session(stores);
		await a.load(scenario(2000, { rw: 'randwrite' }));
		await a.runToEnd();
		const changed = scenario(2000, { rw: 'randread' });
		changed.vms[0].disks[0].policy.filters[0].params.readUs = 100;
		const b = session(stores);
		const info = await b.load(changed, true);
		expect(info.restored).toBe(false);
		const r = await b.runToEnd();
		// The disks were wiped: what is read is zeros, as the fresh expected state says.
		expect(r.verify.mismatches).toBe(0);
	});
});
