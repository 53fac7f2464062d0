import { describe, expect, it } from 'vitest';
import { EngineSession, EVENT_FIXED, EVENT_STRIDE, EventCol } from './session';
import { builtinRegistry } from '../filters';
import { MemoryStoreFactory, type MemoryBlockStore } from '../engine/storage/memory';
import { StoreFullError } from '../engine/storage/errors';
import type { StoreFactory } from '../engine/storage/types';
import { defaultScenario, runScenario } from '../engine/index';
import { DEFER, FILTER_CONTRACT_VERSION, PASS, type FilterDef } from '../engine/filter';
import { Op } from '../engine/io';

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

/**
 * A memory factory that calls itself a browser store (so the session watches it for faults) and
 * refuses a write that would allocate a new block once `budget` blocks are allocated, as a full
 * quota does: the refused write changes nothing, and every earlier block stays as it was.
 */
function quotaStores(budget: { blocks: number }) {
	const mem = new MemoryStoreFactory();
	const wrapped = new Map<string, MemoryBlockStore>();
	let sessionSaves = 0;
	const factory: StoreFactory & { saves: () => number } = {
		kind: 'idb',
		saves: () => sessionSaves,
		openBlockStore(name, sectors) {
			const s = mem.openBlockStore(name, sectors);
			if (!wrapped.has(name)) {
				const write = s.write.bind(s);
				s.write = (sector: number, src: Uint8Array) => {
					const first = Math.floor(sector / 8);
					const last = Math.floor((sector + src.length / 512 - 1) / 8);
					let fresh = 0;
					for (let b = first; b <= last; b++) if (!s.blocks.has(b)) fresh++;
					let used = 0;
					for (const st of wrapped.values()) used += st.blocks.size;
					if (fresh > 0 && used + fresh > budget.blocks) throw new StoreFullError(`storage is full: writing ${src.length} bytes to the disk "${name}" was refused`);
					write(sector, src);
				};
				wrapped.set(name, s);
			}
			return s;
		},
		openSidecar(name) {
			const side = mem.openSidecar(name);
			if (name !== 'session') return side;
			return {
				get: (k: string) => side.get(k),
				set: (k: string, v: Uint8Array) => {
					sessionSaves++;
					return side.set(k, v);
				},
				delete: (k: string) => side.delete(k),
				keys: () => side.keys()
			};
		},
		wipe() {
			wrapped.clear();
			mem.wipe();
		}
	};
	return factory;
}

describe('sessions that stop', () => {
	it('a store fault stops the run with the disk and the reason; what was written before verifies after a reload', async () => {
		const budget = { blocks: 600 };
		const stores = quotaStores(budget);
		const a = session(stores as unknown as MemoryStoreFactory);
		await a.load(scenario(4000, { rw: 'randwrite' }));
		await expect(a.runToEnd()).rejects.toMatchObject({ name: 'StoreFullError' });
		expect(a.state).toBe('error');
		const f = a.frame();
		expect(f.state).toBe('error');
		expect(f.fault?.name).toBe('StoreFullError');
		expect(f.error).toMatch(/^The run stopped: storage is full: writing \d+ bytes to the disk "disk\.vm\/d" was refused/);
		// It stopped at the first refusal (not after failing thousands of I/Os).
		expect(f.ios).toBeLessThan(1000);
		expect(f.errors).toBeGreaterThan(0);
		expect(f.errors).toBeLessThan(100);
		// The next session (a reload) finds the disks and the verification state, saved at the stop.
		budget.blocks = 1e9;
		const b = session(stores as unknown as MemoryStoreFactory);
		expect((await b.savedSession())?.interrupted).toBe(false);
		const info = await b.load(scenario(4000, { rw: 'randread' }), true);
		expect(info.restored).toBe(true);
		expect(info.restoredBlocks).toBeGreaterThan(500);
		const r = await b.runToEnd();
		expect(r.verify.sectorsChecked).toBeGreaterThan(0);
		expect(r.verify.mismatches).toBe(0);
	});

	it('writes in flight when the session saves are saved as unknown: a reload finds no false mismatch', async () => {
		// Holds every write on its way up, after the disk has it, for 5 ms: a pause always finds
		// writes on the disk that the guest has not been told of (and may never be).
		const holdUp: FilterDef = {
			contract: FILTER_CONTRACT_VERSION,
			name: 'hold-up',
			vendor: 'test',
			version: '1.0.0',
			class: 'inspection',
			description: 'Holds completed writes for 5 ms.',
			params: [],
			attach: () => ({}),
			onIo: () => PASS,
			onDone(io, ctx) {
				if (io.op !== Op.write) return PASS;
				ctx.after(5000, () => ctx.resumeUp(io));
				return DEFER;
			}
		};
		const registry = builtinRegistry().register(holdUp);
		const stores = new MemoryStoreFactory();
		const wall = { t: 0 };
		const make = () => new EngineSession({ registry, stores, wallMs: () => wall.t, yieldNow: () => Promise.resolve() });
		// 64 blocks: the reads after the reload cover every one of them.
		const tiny = (ios: number, rw: string) => ({
			version: 1,
			seed: 5,
			vms: [{ name: 'vm', disks: [{ name: 'd', size: '256k', policy: { filters: [{ type: 'hold-up' }] }, workload: [{ rw, bs: '4k', iodepth: 8, ios }] }] }]
		});
		const a = make();
		await a.load(tiny(100_000, 'randwrite'));
		(a as unknown as { wallMs: () => number }).wallMs = () => {
			if (a.frame().ios > 200) a.pause();
			return (wall.t += 1);
		};
		await a.play();
		expect(a.state).toBe('paused');
		expect(a.frame().inFlight).toBeGreaterThan(0);
		const b = make();
		const info = await b.load(tiny(3000, 'randread'), true);
		expect(info.restored).toBe(true);
		const r = await b.runToEnd();
		expect(r.verify.sectorsChecked).toBeGreaterThan(0);
		expect(r.verify.mismatches).toBe(0);
	});

	it('pausing saves the verification state with the disks', async () => {
		const stores = new MemoryStoreFactory();
		const wall = { t: 0 };
		const a = session(stores, wall);
		await a.load(scenario(100_000, { rw: 'randwrite' }));
		// Pause once some writes are done (the wall clock is read around every slice).
		(a as unknown as { wallMs: () => number }).wallMs = () => {
			if (a.frame().ios > 300) a.pause();
			return (wall.t += 1);
		};
		await a.play();
		expect(a.state).toBe('paused');
		const b = session(stores);
		expect((await b.savedSession())?.interrupted).toBe(false);
		const info = await b.load(scenario(3000, { rw: 'randread' }), true);
		expect(info.restored).toBe(true);
		const r = await b.runToEnd();
		expect(r.verify.sectorsChecked).toBeGreaterThan(0);
		expect(r.verify.mismatches).toBe(0);
	});

	// Dedup persists its map at a guest flush, a power-off or on a timer, none of which a short
	// run reaches: the page's save has the filters checkpoint, or reads after a reload would
	// find the map of an earlier moment.
	const withChain = (ios: number, filters: string[], extra: Record<string, unknown>) => {
		const sc = scenario(ios, extra);
		sc.vms[0].disks[0].policy = { filters: filters.map((type) => ({ type })) } as never;
		return sc;
	};
	for (const filters of [['dedup'], ['analytics', 'dedup', 'encryption', 'replication', 'cache', 'tiering']]) {
		it(`a reload after a finished and after a paused run reads back every write through ${filters.join(', ')}`, async () => {
			for (const pauseMidRun of [false, true]) {
				const stores = new MemoryStoreFactory();
				const wall = { t: 0 };
				const a = session(stores, wall);
				await a.load(withChain(pauseMidRun ? 100_000 : 1500, filters, { rw: 'randrw', rwmixread: 30, size: '2m', dedupePercentage: 50 }));
				if (pauseMidRun) {
					(a as unknown as { wallMs: () => number }).wallMs = () => {
						if (a.frame().ios > 600) a.pause();
						return (wall.t += 1);
					};
					await a.play();
					expect(a.state).toBe('paused');
				} else await a.runToEnd();
				const b = session(stores);
				const info = await b.load(withChain(1500, filters, { rw: 'randread', size: '2m' }), true);
				expect(info.restored).toBe(true);
				const r = await b.runToEnd();
				expect(r.verify.sectorsChecked).toBeGreaterThan(0);
				expect(r.verify.mismatches, `pause mid-run: ${pauseMidRun}`).toBe(0);
				if (filters.includes('analytics')) expect(Number(r.filters.analytics.ios)).toBeGreaterThan(1500); // continues the first run's counts
			}
		});
	}

	it('a session that stopped mid-run is not restored: its disks are wiped and the page is told why', async () => {
		const stores = new MemoryStoreFactory();
		const a = session(stores);
		await a.load(scenario(2000, { rw: 'randwrite' }));
		await a.runToEnd();
		// As if the tab closed while I/O was running: the marker written before I/O is still there.
		await (await stores.openSidecar('session')).set('running', new Uint8Array(1));
		const b = session(stores);
		expect((await b.savedSession())?.interrupted).toBe(true);
		const info = await b.load(scenario(2000, { rw: 'randread' }), true);
		expect(info.restored).toBe(false);
		expect(info.discarded).toMatch(/stopped while I\/O was running/);
		const r = await b.runToEnd();
		expect(r.verify.mismatches).toBe(0); // zeros, as the fresh state expects
		expect((await session(stores).savedSession())?.interrupted).toBe(false);
	});

	it('disks saved without their verification state are not reused', async () => {
		const stores = new MemoryStoreFactory();
		const a = session(stores);
		await a.load(scenario(2000, { rw: 'randwrite' }));
		await a.runToEnd();
		await (await stores.openSidecar('session')).delete('expected.json');
		const info = await session(stores).load(scenario(2000, { rw: 'randread' }), true);
		expect(info.restored).toBe(false);
		expect(info.discarded).toMatch(/no verification state/);
	});

	it('a changed layout says why the saved disks were not reused', async () => {
		const stores = new MemoryStoreFactory();
		const a = session(stores);
		await a.load(scenario(500, { rw: 'randwrite' }));
		await a.runToEnd();
		const bigger = scenario(500);
		bigger.vms[0].disks[0].size = '128m';
		const info = await session(stores).load(bigger, true);
		expect(info.restored).toBe(false);
		expect(info.discarded).toMatch(/another layout or other filters/);
		// Without a saved session (or without asking to restore) nothing is "discarded".
		expect((await session(new MemoryStoreFactory()).load(bigger, true)).discarded).toBeUndefined();
	});

	it('step saves as it goes: the session is never left marked as running', async () => {
		const stores = new MemoryStoreFactory();
		const a = session(stores);
		await a.load(scenario(50, { rw: 'randwrite' }));
		await a.step();
		await a.step();
		expect((await session(stores).savedSession())?.interrupted).toBe(false);
	});
});
