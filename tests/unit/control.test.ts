/**
 * Control operations (snapshot, power, migrate, ...): the framework drains the disk's in-flight
 * I/O before it tells the filters (dm-delay's presuspend), tells them in chain order, and the
 * operation ends when the filters' promises settle, in virtual time. The guest issues nothing
 * meanwhile and resumes afterwards.
 */
import { describe, expect, it } from 'vitest';
import { DEFER, type ControlEvent } from '../../src/lib/engine/filter';
import { runResult } from '../../src/lib/engine/result';
import { Simulation } from '../../src/lib/engine/simulation';
import { testFilter } from './driver';
import { oneDisk, registryWith } from './scenarios';

interface Seen {
	filter: string;
	type: string;
	now: number;
	inFlight: number;
	held: number;
}

/** A filter that holds every I/O for 300 µs; a filter whose onEvent takes `eventUs` of virtual time. */
function setup(eventUs: number, seen: Seen[], simRef: { sim?: Simulation }) {
	let held = 0;
	const note = (filter: string, ev: ControlEvent, now: number) =>
		void seen.push({ filter, type: ev.type, now, inFlight: simRef.sim!.disk().chain.inFlight, held });
	const holder = testFilter('holder', 'inspection', {
		onIo(io, ctx) {
			held++;
			ctx.after(300, () => {
				held--;
				ctx.resume(io);
			});
			return DEFER;
		},
		onEvent: (ev, ctx) => note('holder', ev, ctx.now)
	});
	const slow = testFilter('slow', 'cache', {
		onEvent(ev, ctx) {
			note('slow', ev, ctx.now);
			if (eventUs > 0) return new Promise<void>((resolve) => ctx.after(eventUs, resolve));
		}
	});
	return registryWith(holder, slow);
}

async function build(eventUs: number, ios = 200) {
	const seen: Seen[] = [];
	const ref: { sim?: Simulation } = {};
	const registry = setup(eventUs, seen, ref);
	const sim = await Simulation.create(
		oneDisk({ filters: [{ type: 'slow' }, { type: 'holder' }], workload: [{ rw: 'randwrite', bs: '4k', iodepth: 8, ios }] }),
		{ registry }
	);
	ref.sim = sim;
	return { sim, seen };
}

function issueTimes(sim: Simulation): number[] {
	const t = sim.trace;
	const out: number[] = [];
	for (let n = t.completed - t.held; n < t.completed; n++) out.push(t.row(n)!.issuedAt);
	return out;
}

describe('control operations', () => {
	it('drain in-flight I/O before any filter is told, then tell the filters in chain order', async () => {
		const { sim, seen } = await build(0);
		await sim.run({ untilUs: 1000 });
		const t0 = sim.sched.now;
		expect(sim.disk().chain.inFlight).toBe(8);
		await sim.control(undefined, { type: 'snapshot-create', snapshot: 's1' });
		expect(seen.map((s) => [s.filter, s.type])).toEqual([
			['holder', 'snapshot-create'],
			['slow', 'snapshot-create']
		]);
		for (const s of seen) expect(s).toMatchObject({ inFlight: 0, held: 0 });
		// the I/Os held at t0 needed up to 300 µs more
		expect(seen[0].now).toBeGreaterThan(t0);
		expect(seen[0].now).toBeLessThanOrEqual(t0 + 300);
		expect(seen[1].now).toBe(seen[0].now);
	});

	it('a filter whose onEvent returns a promise delays the end of the operation in virtual time', async () => {
		const { sim, seen } = await build(1000);
		await sim.run({ untilUs: 1000 });
		const t0 = sim.sched.now;
		await sim.control(undefined, { type: 'snapshot-create', snapshot: 's1' });
		const told = seen[1].now;
		expect(sim.sched.now).toBe(told + 1000);
		expect(await sim.run()).toBe(true);
		const r = runResult(sim);
		expect(r.ios).toBe(200);
		// the guest issued nothing from the start of the operation to its end, and resumed right at the end
		const times = issueTimes(sim);
		expect(times.filter((t) => t > t0 && t < told + 1000)).toEqual([]);
		expect(Math.min(...times.filter((t) => t > t0))).toBe(told + 1000);
	});

	it('works on an idle disk (nothing to drain) and before the run started', async () => {
		const { sim, seen } = await build(500, 16);
		await sim.control(undefined, { type: 'power-on' });
		expect(seen.map((s) => [s.filter, s.now])).toEqual([
			['holder', 0],
			['slow', 0]
		]);
		expect(sim.sched.now).toBe(500);
		expect(await sim.run()).toBe(true);
		expect(runResult(sim).ios).toBe(16);
		expect(Math.min(...issueTimes(sim))).toBe(500);
	});

	it('on one disk, the operation keeps its own virtual time while another disk keeps running', async () => {
		const seen: [string, number][] = [];
		const f1 = testFilter('f1', 'inspection', { onEvent: (_e, ctx) => void seen.push(['f1', ctx.now]) });
		const f2 = testFilter('f2', 'cache', { onEvent: async (_e, ctx) => void seen.push(['f2', ctx.now]) });
		const f3 = testFilter('f3', 'dataProvider', {
			onEvent: (_e, ctx) =>
				new Promise<void>((resolve) => {
					seen.push(['f3', ctx.now]);
					ctx.after(100, resolve);
				})
		});
		const disk = (name: string, filters: { type: string }[]) => ({
			name,
			size: '1g',
			datastore: { kind: 'null' as const, params: { latencyUs: 7 } },
			policy: { filters },
			workload: [{ rw: 'randwrite' as const, bs: '4k', iodepth: 1, ios: 1000 }]
		});
		const sim = await Simulation.create(
			{ version: 1, vms: [{ name: 'vm', disks: [disk('d0', [{ type: 'f1' }, { type: 'f2' }, { type: 'f3' }]), disk('d1', [])] }] },
			{ registry: registryWith(f1, f2, f3) }
		);
		await sim.run({ untilUs: 1000 });
		const d1Before = sim.disk('vm/d1').guest.metrics.ios;
		await sim.control('vm/d0', { type: 'snapshot-create', snapshot: 's' });
		const t = seen[0][1];
		// every filter is told at the instant the drain ended, and the operation ends 100 µs later,
		// however many events the other disk has queued meanwhile
		expect(seen).toEqual([
			['f1', t],
			['f2', t],
			['f3', t]
		]);
		expect(t).toBeLessThanOrEqual(1007);
		expect(sim.sched.now).toBe(t + 100);
		expect(sim.disk('vm/d1').guest.metrics.ios - d1Before).toBeGreaterThan(10); // d1 was not paused
	});

	it('a throwing onEvent is logged and the operation proceeds', async () => {
		const boom = testFilter('boom', 'inspection', {
			onEvent() {
				throw new Error('sidecar corrupt');
			}
		});
		let told = 0;
		const after = testFilter('after', 'cache', { onEvent: () => void told++ });
		const sim = await Simulation.create(oneDisk({ filters: [{ type: 'boom' }, { type: 'after' }] }), {
			registry: registryWith(boom, after)
		});
		await sim.control(undefined, { type: 'suspend' });
		expect(told).toBe(1);
		expect(sim.log.map((l) => `${l.source}: ${l.message}`)).toContain('boom: onEvent(suspend) threw: sidecar corrupt');
	});
});
