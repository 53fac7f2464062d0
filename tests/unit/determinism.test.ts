/**
 * Same scenario and seed ⇒ the same trace digest (and the same summary); another seed ⇒ another
 * digest. The digest does not depend on how the run was sliced, on the trace ring's size, or on
 * whether the store answers synchronously or with Promises.
 */
import { describe, expect, it } from 'vitest';
import { runResult } from '../../src/lib/engine/result';
import { Simulation } from '../../src/lib/engine/simulation';
import { MemoryStoreFactory } from '../../src/lib/engine/storage/memory';
import type { BlockStore, SidecarStore, StoreFactory } from '../../src/lib/engine/storage/types';
import { builtinRegistry } from '../../src/lib/filters';
import { oneDisk, runSim, type FilterAttachmentInput, type OneDisk } from './scenarios';

/** A scenario where the seed matters everywhere: device jitter, a random filter, random offsets. */
function busy(o: OneDisk = {}) {
	return oneDisk({
		datastore: { kind: 'nvme' },
		filters: [
			{ type: 'delay', params: { readUs: 30, writeUs: 50 } },
			{ type: 'flaky', params: { mode: 'fail', ops: 'write', probability: 0.05 } }
		],
		workload: [
			{ rw: 'randrw', bs: '4k', iodepth: 16, ios: 1500, size: '8m' },
			{ rw: 'write', bs: '64k', iodepth: 2, ios: 100, offset: '512m' }
		],
		...o
	});
}

/** Every store operation answers with a Promise (as IndexedDB does). */
class AsyncStores implements StoreFactory {
	readonly kind = 'idb' as const;
	private readonly inner = new MemoryStoreFactory();
	async openBlockStore(name: string, sectors: number): Promise<BlockStore> {
		const s = this.inner.openBlockStore(name, sectors);
		const later = <T>(fn: () => T) => Promise.resolve().then(fn);
		return {
			kind: 'idb',
			get sectors() {
				return s.sectors;
			},
			read: (sector, dst) => later(() => s.read(sector, dst)),
			write: (sector, src) => {
				const copy = src.slice(); // the caller may reuse its buffer once the promise settles
				return later(() => s.write(sector, copy));
			},
			unmap: (sector, count) => later(() => s.unmap(sector, count)),
			flush: () => later(() => s.flush()),
			allocatedBytes: () => s.allocatedBytes(),
			resize: (n) => later(() => s.resize(n)),
			close: () => later(() => s.close())
		};
	}
	async openSidecar(name: string): Promise<SidecarStore> {
		return this.inner.openSidecar(name);
	}
	wipe(): void {
		this.inner.wipe();
	}
}

describe('determinism', () => {
	it('the same scenario and seed give the same digest and the same summary', async () => {
		const a = (await runSim(busy())).result;
		const b = (await runSim(busy())).result;
		expect(a.ios).toBe(1600);
		expect(a.errors.count).toBeGreaterThan(0); // the random filter did act
		expect(a.traceDigest).toBe(b.traceDigest);
		expect(b).toEqual(a);
	});

	it('another seed gives another digest', async () => {
		const a = (await runSim(busy({ seed: 7 }))).result;
		const b = (await runSim(busy({ seed: 8 }))).result;
		expect(b.traceDigest).not.toBe(a.traceDigest);
		expect(b.ios).toBe(a.ios);
	});

	it('another chain gives another digest (a 1 µs longer delay)', async () => {
		const a = (await runSim(busy())).result;
		const filters: FilterAttachmentInput[] = [
			{ type: 'delay', params: { readUs: 30, writeUs: 51 } },
			{ type: 'flaky', params: { mode: 'fail', ops: 'write', probability: 0.05 } }
		];
		const b = (await runSim(busy({ filters }))).result;
		expect(b.traceDigest).not.toBe(a.traceDigest);
	});

	it('the digest covers every I/O, whatever the size of the trace ring', async () => {
		const small = (await runSim(busy({ traceCapacity: 1 }))).result;
		const big = (await runSim(busy({ traceCapacity: 10_000 }))).result;
		expect(small.traceRows).toBe(big.traceRows);
		expect(small.traceDigest).toBe(big.traceDigest);
	});

	it('running in slices of virtual time or of events, with digests asked for on the way, changes nothing', async () => {
		const whole = (await runSim(busy())).result;

		const byTime = await Simulation.create(busy(), { registry: builtinRegistry() });
		for (let t = 1000; !(await byTime.run({ untilUs: t })); t += 1000) byTime.trace.digest();
		const byEvents = await Simulation.create(busy(), { registry: builtinRegistry() });
		while (!(await byEvents.run({ maxEvents: 777 }))) byEvents.trace.digest();

		expect(runResult(byTime).traceDigest).toBe(whole.traceDigest);
		expect(runResult(byEvents).traceDigest).toBe(whole.traceDigest);
		expect(runResult(byEvents)).toEqual({ ...whole, events: byEvents.events });
	});

	it('a store that answers with Promises gives the same run as a synchronous one', async () => {
		const sync = (await runSim(busy())).result;
		const sim = await Simulation.create(busy(), { registry: builtinRegistry(), stores: new AsyncStores() });
		await sim.run();
		const async = runResult(sim);
		expect(async.traceDigest).toBe(sync.traceDigest);
		expect(async.verify).toEqual(sync.verify);
		expect(async.verify.sectorsChecked).toBeGreaterThan(0);
	});
});

describe('run limits', () => {
	it('a caller time limit of 0 pauses the run; only run.maxRuntimeUs ends it', async () => {
		const { Simulation } = await import('../../src/lib/engine/simulation');
		const { builtinRegistry } = await import('../../src/lib/filters');
		const scenario = { version: 1, vms: [{ name: 'vm', disks: [{ name: 'd', size: '64m', workload: [{ ios: 100 }] }] }] };
		const sim = await Simulation.create(scenario, { registry: builtinRegistry() });
		expect(await sim.run({ untilUs: 0 })).toBe(false);
		expect(await sim.run()).toBe(true);
		const limited = await Simulation.create({ ...scenario, run: { maxRuntimeUs: 50 } }, { registry: builtinRegistry() });
		expect(await limited.run()).toBe(true);
		expect(limited.sched.now).toBeLessThanOrEqual(50);
	});
});
