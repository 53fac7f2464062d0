import { describe, expect, it } from 'vitest';
import { EVENT_FIXED, EVENT_PER_FILTER, EVENT_STRIDE, EventCol, EngineSession } from '$lib/worker/session';
import { builtinRegistry } from '$lib/filters';
import { MemoryStoreFactory } from '$lib/engine/storage/memory';
import { countSegments, ioPath, pathAt, verdictAt } from './flow';

/** One event row: fixed columns, then per filter [downIn, downOut, upIn, upOut, down, up]. */
function row(fixed: Partial<Record<keyof typeof EventCol, number>>, filters: number[][]): Float64Array {
	const a = new Float64Array(EVENT_STRIDE).fill(-1);
	a[EventCol.status] = 0;
	a[EventCol.endedBy] = 255;
	for (const [k, v] of Object.entries(fixed)) a[EventCol[k as keyof typeof EventCol]] = v;
	filters.forEach((f, k) => a.set(f, EVENT_FIXED + k * EVENT_PER_FILTER));
	return a;
}

const kinds = (p: ReturnType<typeof ioPath>) => p.stops.map((s) => `${s.kind}${s.kind === 'filter' ? s.k : ''}:${s.lane}`);

describe('ioPath', () => {
	it('goes down every filter to the device and back up', () => {
		const r = row({ id: 1, op: 0, issuedAt: 10, deviceStart: 10, deviceDone: 110, doneAt: 110, endedBy: 0 }, [
			[10, 10, 110, 110, 1, 1],
			[10, 10, 110, 110, 1, 1]
		]);
		const p = ioPath(r, 0, 2);
		expect(kinds(p)).toEqual(['guest:down', 'filter0:down', 'filter1:down', 'device:down', 'device:up', 'filter1:up', 'filter0:up', 'guest:up']);
		expect(p.outcome).toBe('pass');
		expect(p.done).toBe(true);
		expect(pathAt(p, 50)).toEqual({ index: 3, frac: 0, held: false }); // at the device
		expect(pathAt(p, 200).index).toBe(7);
	});

	it('turns around at a filter that completes it (a cache hit), green from there', () => {
		const r = row({ id: 2, op: 0, issuedAt: 0, doneAt: 30, endedBy: 2 }, [
			[0, 0, 30, 30, 1, 1],
			[0, 30, -1, -1, 4, 0],
			[-1, -1, -1, -1, 0, 0]
		]);
		const p = ioPath(r, 0, 3);
		expect(kinds(p)).toEqual(['guest:down', 'filter0:down', 'filter1:down', 'filter1:up', 'filter0:up', 'guest:up']);
		expect(p.outcome).toBe('complete');
		// Held (deferred) in filter 1 until 30: amber, then green on the way up.
		const at = pathAt(p, 10);
		expect(at).toEqual({ index: 2, frac: 0, held: true });
		expect(verdictAt(p, at.index, at.held)).toBe('defer');
		expect(verdictAt(p, 3, false)).toBe('complete');
		expect(verdictAt(p, 1, false)).toBe('pass');
	});

	it('a failed I/O goes up from the failing filter, red, and only the filters above are told', () => {
		const r = row({ id: 3, op: 1, issuedAt: 0, doneAt: 5, status: 1, endedBy: 2 }, [
			[0, 0, 5, 5, 1, 1],
			[0, 5, -1, -1, 3, 0]
		]);
		const p = ioPath(r, 0, 2);
		expect(kinds(p)).toEqual(['guest:down', 'filter0:down', 'filter1:down', 'filter1:up', 'filter0:up', 'guest:up']);
		expect(p.outcome).toBe('fail');
		expect(verdictAt(p, p.turnAt, false)).toBe('fail');
	});

	it('an I/O in flight ends where it is now', () => {
		const r = row({ id: 4, op: 1, issuedAt: 0, deviceStart: 2 }, [
			[0, 1, -1, -1, 1, 0],
			[1, 2, -1, -1, 1, 0]
		]);
		const p = ioPath(r, 0, 2);
		expect(kinds(p)).toEqual(['guest:down', 'filter0:down', 'filter1:down', 'device:down']);
		expect(p.done).toBe(false);
		expect(p.stops.at(-1)!.leave).toBe(Infinity);
	});

	it("a filter's own I/O starts and ends at the filter that issued it", () => {
		const r = row({ id: 5, op: 1, issuedAt: 50, deviceStart: 50, deviceDone: 90, doneAt: 90, endedBy: 0 }, [
			[-1, -1, -1, -1, 0, 0],
			[50, 50, 90, 90, 1, 1]
		]);
		const p = ioPath(r, 0, 2);
		expect(p.own).toBe(true);
		expect(kinds(p)).toEqual(['filter0:down', 'filter1:down', 'device:down', 'device:up', 'filter1:up', 'filter0:up']);
	});
});

describe('countSegments', () => {
	it("counts each segment of the sampled I/Os' paths, from a real run", async () => {
		const s = new EngineSession({ registry: builtinRegistry(), stores: new MemoryStoreFactory(), yieldNow: () => Promise.resolve() });
		await s.load({
			version: 1,
			seed: 2,
			vms: [{ name: 'vm', disks: [{ name: 'd', size: '16m', policy: { filters: [{ type: 'analytics' }, { type: 'cache' }] }, workload: [{ rw: 'randread', bs: '4k', iodepth: 4, ios: 300, size: '1m' }] }] }]
		});
		await s.runToEnd();
		const f = s.frame();
		const counts = countSegments(f.sample, f.sampleCount, EVENT_STRIDE, 2);
		const guestIn = counts.get('guest:down>filter0:down')!;
		expect(guestIn.total).toBe(f.sampleCount);
		// A 1 MiB working set in the cache: most reads are hits that turn around at the cache.
		const hits = counts.get('filter1:down>filter1:up');
		expect(hits?.complete).toBeGreaterThan(0);
		const device = counts.get('device:down>device:up');
		expect((hits?.total ?? 0) + (device?.total ?? 0)).toBeGreaterThanOrEqual(f.sampleCount);
	});
});
