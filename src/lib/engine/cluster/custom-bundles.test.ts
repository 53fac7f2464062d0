/**
 * Custom filters as bundles: a FilterDef (what the editor's sandbox proxy is to the engine)
 * installs cluster-wide, attaches through a storage policy and runs I/O; a new version of its
 * code goes through the rolling upgrade (host by host, in maintenance mode), and each disk switches
 * to the new code when it attaches on an upgraded host, from the same sidecar; a host left at the
 * old version keeps the old code; refused installs and upgrades change nothing.
 */
import { describe, expect, it } from 'vitest';
import { builtinRegistry } from '../../filters';
import { FILTER_CONTRACT_VERSION, PASS, type FilterDef } from '../filter';
import { runResult } from '../result';
import type { ScenarioInput } from '../scenario/schema';
import { Simulation } from '../simulation';

interface Counter {
	ios: number;
	/** I/Os counted by earlier instances (read from the sidecar at attach). */
	before: number;
}

/** A custom filter whose version shows in its status; it keeps its I/O count in its sidecar. */
function counter(version: string, vendor = 'me'): FilterDef<Counter> {
	return {
		contract: FILTER_CONTRACT_VERSION,
		name: 'io-counter',
		vendor,
		version,
		class: 'inspection',
		description: `counts I/Os (code ${version})`,
		params: [{ name: 'label', type: 'string', default: 'x', help: 'a label' }],
		async attach(ctx) {
			const raw = await ctx.sidecar.get('count');
			return { ios: 0, before: raw ? new DataView(raw.buffer, raw.byteOffset).getUint32(0) : 0 };
		},
		onIo(_io, ctx) {
			ctx.state.ios++;
			return PASS;
		},
		async onEvent(_ev, ctx) {
			const b = new Uint8Array(4);
			new DataView(b.buffer).setUint32(0, ctx.state.before + ctx.state.ios);
			await ctx.sidecar.set('count', b);
		},
		status: (ctx) => ({ code: version, ios: ctx.state.ios, before: ctx.state.before })
	};
}

function scenario(): ScenarioInput {
	return {
		version: 1,
		name: 'custom-bundles',
		seed: 3,
		hosts: [{ name: 'esx-01' }, { name: 'esx-02' }, { name: 'esx-03' }],
		vms: ['vm-01', 'vm-02'].map((name, i) => ({
			name,
			host: i === 0 ? 'esx-01' : 'esx-02',
			disks: [
				{
					name: 'disk-0',
					size: '64m',
					datastore: { kind: 'nvme' as const },
					policy: { filters: [{ type: 'passthrough' }] },
					workload: [{ rw: 'randrw' as const, bs: '4k', rwmixread: 50, iodepth: 4, ios: 3000, size: '2m' }]
				}
			]
		}))
	};
}

function expectClean(sim: Simulation): void {
	const r = runResult(sim);
	expect(r.verify.mismatches, JSON.stringify(r.verify.firstMismatch)).toBe(0);
	expect(r.verify.reads).toBeGreaterThan(0);
	expect(r.errors.count, JSON.stringify(r.errors.first[0])).toBe(0);
}

const withCounter = { name: 'counted', filters: [{ type: 'io-counter', params: { label: 'a' } }, { type: 'passthrough', class: 'cache' as const }] };

describe('custom filter bundles', () => {
	it('installs cluster-wide, attaches through a policy and runs I/O', async () => {
		const sim = await Simulation.create(scenario(), { registry: builtinRegistry() });
		const c = sim.cluster;
		await sim.run({ untilUs: 5_000 });
		const v1 = counter('1.0.0');
		const r = await c.installBundle(v1);
		expect(r.hosts).toEqual(['esx-01', 'esx-02', 'esx-03']);
		expect(c.hosts.list().map((h) => h.bundles.get('io-counter'))).toEqual(Array(3).fill({ name: 'io-counter', vendor: 'me', version: '1.0.0' }));
		const p = await c.applyPolicy('vm-01', 'disk-0', withCounter);
		expect(p.attached).toContain('io-counter');
		await sim.run();
		const f = sim.disk('vm-01/disk-0').chain.filters[0];
		expect(f.def).toBe(v1);
		expect(f.status().ios).toBeGreaterThan(100);
		expectClean(sim);
		// Uninstall is refused while the disk uses it.
		await expect(c.uninstallBundle('io-counter')).rejects.toThrow(/in use by vm-01\/disk-0/);
	});

	it('a new version goes host by host in maintenance mode; each disk switches code on an upgraded host, from its sidecar', async () => {
		const sim = await Simulation.create(scenario(), { registry: builtinRegistry() });
		const c = sim.cluster;
		const v1 = counter('1.0.0');
		const v2 = counter('1.1.0');
		await c.installBundle(v1);
		await c.applyPolicy('vm-01', 'disk-0', withCounter);
		await c.applyPolicy('vm-02', 'disk-0', withCounter);
		await sim.run({ untilUs: 20_000 });
		const counted = sim.disk('vm-01/disk-0').chain.filters[0].status().ios as number;
		expect(counted).toBeGreaterThan(0);

		// Installing other code at another version is refused: that is an upgrade. Nothing changes.
		await expect(c.installBundle(v2)).rejects.toThrow(/"io-counter" 1\.0\.0 is installed: upgrade it to 1\.1\.0 instead/);
		expect(sim.options.registry.get('io-counter')).toBe(v1);
		// The code given must be the version named.
		await expect(c.upgradeBundle('io-counter', '1.2.0', v2)).rejects.toThrow(/the code given is io-counter 1\.1\.0, not 1\.2\.0/);

		const u = await c.upgradeBundle('io-counter', '1.1.0', v2);
		expect(u.newCode).toBe(true);
		expect(u.steps).toEqual([
			'esx-01: 1.0.0 → 1.1.0 in maintenance mode',
			'esx-02: 1.0.0 → 1.1.0 in maintenance mode',
			'esx-03: 1.0.0 → 1.1.0 in maintenance mode'
		]);
		expect(u.message).toMatch(/io-counter upgraded to 1\.1\.0 \(new code\)/);
		expect(c.hosts.list().every((h) => h.state === 'connected' && h.bundles.get('io-counter')!.version === '1.1.0')).toBe(true);
		expect(sim.options.registry.get('io-counter')).toBe(v2);
		// Every VM was moved off each host as it was upgraded, and now runs the new code, which
		// found the old instances' count in the sidecar (written at the migrate event).
		for (const key of ['vm-01/disk-0', 'vm-02/disk-0']) {
			const f = sim.disk(key).chain.filters.find((x) => x.def.name === 'io-counter')!;
			expect(f.def, key).toBe(v2);
			expect(f.status().code).toBe('1.1.0');
			expect(f.status().before as number).toBeGreaterThan(0);
			expect(f.params.label).toBe('a');
		}
		expect(u.message).toMatch(/new code: vm-0\d\/disk-0: io-counter 1\.1\.0 attached anew on esx-0\d, vm-0\d\/disk-0: io-counter 1\.1\.0 attached anew on esx-0\d/);

		// A host left at the old version runs the old code: a clone placed there attaches 1.0.0.
		await c.addHost('esx-old', [{ name: 'passthrough' }, { name: 'io-counter', version: '1.0.0' }]);
		await expect(c.migrate('vm-01', 'esx-old')).rejects.toThrow(/has "io-counter" 1\.0\.0, older than 1\.1\.0/);
		const clone = await c.clone('vm-01', 'disk-0', { targetVm: 'vm-03', host: 'esx-old' });
		expect(sim.disk(clone.key).chain.filters.find((x) => x.def.name === 'io-counter')!.def).toBe(v1);

		await sim.run();
		expectClean(sim);
	});

	it('a refused upgrade or bad code changes nothing', async () => {
		const sim = await Simulation.create(scenario(), { registry: builtinRegistry() });
		const c = sim.cluster;
		const v1 = counter('1.0.0');
		await c.installBundle(v1);
		const bad = { ...counter('2.0.0'), params: [{ name: 'label', type: 'string', default: 'x', help: 'a' }, { name: 'label', type: 'int', default: 1, help: 'b' }] } as FilterDef;
		await expect(c.upgradeBundle('io-counter', '2.0.0', bad)).rejects.toThrow(/filter "io-counter": params\[1\] "label": duplicate name/);
		expect(sim.options.registry.get('io-counter')).toBe(v1);
		expect(c.hosts.bundles.get('io-counter')!.version).toBe('1.0.0');
		await expect(c.upgradeBundle('io-counter', '0.9.0', counter('0.9.0'))).rejects.toThrow(/not newer than the installed 1\.0\.0/);
		await expect(c.upgradeBundle('io-counter', '1.1.0', { ...counter('1.1.0'), name: 'other' })).rejects.toThrow(/defines filter "other", not "io-counter"/);
		expect(c.history.filter((h) => !h.ok).map((h) => h.op)).toEqual(['upgrade', 'upgrade', 'upgrade']);
		// A label-only upgrade of a built-in keeps its code.
		const cache = sim.options.registry.get('cache');
		const u = await c.upgradeBundle('cache', '1.1.0');
		expect(u.newCode).toBe(false);
		expect(c.codeFor('cache', '1.1.0')).toBe(cache);
	});
});
