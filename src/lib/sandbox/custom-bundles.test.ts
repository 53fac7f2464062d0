/**
 * Custom filters from the editor as cluster bundles, end to end in one thread: the source is
 * transpiled and loaded into an in-process sandbox (the same protocol as the page's sandboxed
 * Worker), registered with the bundle's vendor and version, installed cluster-wide, attached to a
 * disk through a storage policy and run; a new version of its source goes through the rolling
 * upgrade while the old version's sandbox keeps serving the disks that still run it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { builtinRegistry } from '../filters';
import { TEMPLATE_SOURCE } from '../filters/template-source';
import { runResult } from '../engine/result';
import { Simulation } from '../engine/simulation';
import type { ScenarioInput } from '../engine/scenario/schema';
import { CustomFilters, type InstallOptions, type InstallResult } from './custom-filters';
import { inProcessSandbox, ManualTimers, type InProcessSandbox } from './harness';
import type { PortLike } from './proxy';
import type { ControlMessage } from './protocol';

const open: InProcessSandbox[] = [];
afterEach(() => {
	for (const s of open.splice(0)) s.close();
});

function setup() {
	const registry = builtinRegistry();
	const kills: ControlMessage[] = [];
	return { registry, kills, custom: new CustomFilters(registry, new Set(registry.names()), { timers: new ManualTimers() }) };
}

async function install(s: ReturnType<typeof setup>, source: string, options?: InstallOptions): Promise<InstallResult> {
	const sb = inProcessSandbox();
	open.push(sb);
	const control: PortLike = { postMessage: (m) => s.kills.push(m as ControlMessage), onmessage: null };
	return s.custom.install(null, source, { data: sb.port, control }, options);
}

/** The template with a marker in its status, so the code version that ran shows. */
function templateV(marker: string): string {
	return TEMPLATE_SOURCE.replace('return { reads: s.reads,', `return { code: '${marker}', reads: s.reads,`);
}

function scenario(): ScenarioInput {
	return {
		version: 1,
		name: 'custom-bundle',
		seed: 8,
		hosts: [{ name: 'esx-01' }, { name: 'esx-02' }],
		vms: [
			{
				name: 'vm-01',
				host: 'esx-01',
				disks: [
					{
						name: 'disk-0',
						size: '16m',
						datastore: { kind: 'nvme' },
						policy: { filters: [{ type: 'passthrough', class: 'cache' }] },
						workload: [{ rw: 'randrw', bs: '4k', iodepth: 4, ios: 6000, size: '1m' }]
					}
				]
			}
		]
	};
}

describe('custom bundles from filter source', () => {
	it('take the bundle vendor and version; other versions keep running; a bad version changes nothing', async () => {
		const s = setup();
		const a = await install(s, templateV('a'), { as: { vendor: 'acme', version: '1.0.0' }, keepVersions: true });
		expect(a.ok && a.filter).toMatchObject({ name: 'my-filter', vendor: 'acme', version: '1.0.0' });
		const b = await install(s, templateV('b'), { as: { vendor: 'acme', version: '1.1.0' }, keepVersions: true });
		expect(b.ok).toBe(true);
		expect(s.registry.get('my-filter')!.version).toBe('1.1.0');
		expect(s.custom.has('my-filter', '1.0.0') && s.custom.has('my-filter', '1.1.0')).toBe(true);
		expect(s.kills).toEqual([]);
		// The same version again replaces that version only.
		await install(s, templateV('b2'), { as: { vendor: 'acme', version: '1.1.0' }, keepVersions: true });
		expect(s.kills).toEqual([{ t: 'kill', reason: 'replaced by a new version of "my-filter"' }]);
		expect(s.custom.has('my-filter', '1.0.0')).toBe(true);

		const bad = await install(s, templateV('c'), { as: { version: '2.x' } });
		expect(!bad.ok && bad.problem).toMatchObject({ kind: 'bundle', message: 'bundle version "2.x" is not a version such as 1.2.0' });
		const noVendor = await install(s, templateV('c'), { as: { vendor: '  ' } });
		expect(!noVendor.ok && noVendor.problem.message).toBe('bundle vendor must be 1 to 64 characters');
		const syntax = await install(s, 'export default {\n  name: "x",\n  onIo(io: ) {}\n};\n', { as: { version: '3.0.0' } });
		expect(!syntax.ok && syntax.problem).toMatchObject({ kind: 'syntax', line: 3 });
		expect(s.registry.get('my-filter')!.version).toBe('1.1.0');
		expect(s.custom.has('my-filter', '1.0.0')).toBe(true);
	});

	it('install cluster-wide, attach through a policy, run I/O; the upgrade switches each disk to the new code', async () => {
		const s = setup();
		const sim = await Simulation.create(scenario(), { registry: s.registry });
		const c = sim.cluster;
		await sim.run({ untilUs: 2_000 });
		const v1 = await install(s, templateV('v1'), { as: { vendor: 'acme', version: '1.0.0' }, keepVersions: true });
		expect(v1.ok).toBe(true);
		// What the page sends: the registered type as a bundle.
		const inst = await c.installBundle({ name: 'my-filter', version: '1.0.0', vendor: 'acme' });
		expect(inst.message).toBe('my-filter 1.0.0 (acme) installed cluster-wide (on esx-01, esx-02)');
		await c.applyPolicy('vm-01', 'disk-0', { name: 'custom', filters: [{ type: 'my-filter' }, { type: 'passthrough', class: 'cache' }] });
		await sim.run({ untilUs: 6_000 });
		const f1 = sim.disk().chain.filters[0];
		expect(f1.def.name).toBe('my-filter');
		expect(f1.status()).toMatchObject({ code: 'v1' });
		const seen1 = (f1.status().reads as number) + (f1.status().writes as number);
		expect(seen1).toBeGreaterThan(0);

		const v2 = await install(s, templateV('v2'), { as: { vendor: 'acme', version: '1.1.0' }, keepVersions: true });
		expect(v2.ok).toBe(true);
		// The running disk still runs 1.0.0 in the old sandbox until it moves.
		expect(sim.disk().chain.filters[0].status()).toMatchObject({ code: 'v1' });
		const u = await c.upgradeBundle('my-filter', '1.1.0');
		expect(u.newCode).toBe(true);
		expect(u.steps).toEqual(['esx-01: 1.0.0 → 1.1.0 in maintenance mode', 'esx-02: 1.0.0 → 1.1.0 in maintenance mode']);
		expect(sim.finished).toBe(false);
		await sim.run();
		const f2 = sim.disk().chain.filters[0];
		expect(f2.status()).toMatchObject({ code: 'v2' });
		expect((f2.status().reads as number) + (f2.status().writes as number)).toBeGreaterThan(0);
		const r = runResult(sim);
		expect(r.verify.mismatches).toBe(0);
		expect(r.verify.reads).toBeGreaterThan(0);
		expect(r.errors.count).toBe(0);
		expect(r.cluster.hosts.map((h) => h.bundles.find((b) => b.name === 'my-filter'))).toEqual([
			{ name: 'my-filter', vendor: 'acme', version: '1.1.0' },
			{ name: 'my-filter', vendor: 'acme', version: '1.1.0' }
		]);
	});
});
