/**
 * Invalid scenarios get one line that names the field (a dotted path) and the reason, whether the
 * schema catches it (parseScenario) or building the simulation does (filters, params, classes,
 * devices): `vms[0].disks[0].workload[0].bs: must be a multiple of 512 bytes`.
 */
import { describe, expect, it } from 'vitest';
import { ScenarioError, parseScenario, type ScenarioInput } from '../../src/lib/engine/scenario/schema';
import { Simulation } from '../../src/lib/engine/simulation';
import { runResult } from '../../src/lib/engine/result';
import { builtinRegistry } from '../../src/lib/filters';
import { testFilter } from './driver';
import { registryWith } from './scenarios';

type Edit = (s: any) => void;

function base(): any {
	return {
		version: 1,
		vms: [{ name: 'vm-01', disks: [{ name: 'disk-0', size: '1g', datastore: { kind: 'null' }, workload: [{ bs: '4k', ios: 10 }] }] }]
	};
}

const disk = (edit: (d: any) => void): Edit => (s) => edit(s.vms[0].disks[0]);
const policy = (filters: unknown[]): Edit => disk((d) => (d.policy = { filters }));

/** The ScenarioError that building the edited scenario throws. */
async function errorOf(edit: Edit, registry = builtinRegistry()): Promise<ScenarioError> {
	const s = base();
	edit(s);
	try {
		await Simulation.create(s as ScenarioInput, { registry });
	} catch (e) {
		expect(e).toBeInstanceOf(ScenarioError);
		const err = e as ScenarioError;
		// one line: "<path>: <reason>"
		expect(err.message).not.toContain('\n');
		expect(err.message).toBe(`${err.path}: ${err.reason}`);
		return err;
	}
	throw new Error('the scenario was accepted');
}

describe('schema errors name the field path and the reason', () => {
	it.each<[string, Edit, string]>([
		['bs not a multiple of 512', disk((d) => (d.workload[0].bs = 1000)), 'vms[0].disks[0].workload[0].bs: must be a multiple of 512 bytes'],
		['bs as text', disk((d) => (d.workload[0].bs = '1000')), 'vms[0].disks[0].workload[0].bs: must be a multiple of 512 bytes'],
		['bssplit bs', disk((d) => (d.workload[0].bssplit = [{ bs: 700, pct: 100 }])), 'vms[0].disks[0].workload[0].bssplit[0].bs: must be a multiple of 512 bytes'],
		['unknown field in a workload', disk((d) => (d.workload[0].blocksize = 4096)), 'vms[0].disks[0].workload[0].blocksize: unknown field (blocksize is not allowed here)'],
		['unknown top-level field', (s) => (s.seeds = 3), 'seeds: unknown field (seeds is not allowed here)'],
		['unknown field in a filter attachment', policy([{ type: 'delay', param: {} }]), 'vms[0].disks[0].policy.filters[0].param: unknown field (param is not allowed here)'],
		['wrong schema version', (s) => (s.version = 2), 'version: must be 1 (the scenario schema version)'],
		['missing vms', (s) => delete s.vms, 'vms: is required'],
		['missing disk name', disk((d) => delete d.name), 'vms[0].disks[0].name: is required'],
		['no VM', (s) => (s.vms = []), 'vms: a scenario needs at least one VM'],
		['VM without disks', (s) => (s.vms[0].disks = []), 'vms[0].disks: a VM needs at least one disk'],
		['bad size text', disk((d) => (d.size = '20 gigs')), 'vms[0].disks[0].size: not a size: "20 gigs"'],
		['disk too small', disk((d) => (d.size = 512)), 'vms[0].disks[0].size: 512 bytes is outside 4096..70368744177664'],
		['bad name', (s) => (s.vms[0].name = 'my vm'), 'vms[0].name: must be 1–64 letters, digits, dots, dashes or underscores'],
		['unknown host', (s) => (s.vms[0].host = 'esx-09'), 'vms[0].host: host "esx-09" is not in hosts (esx-01)'],
		['duplicate host', (s) => (s.hosts = [{ name: 'esx-01' }, { name: 'esx-01' }]), 'hosts[1].name: duplicate host "esx-01"'],
		['duplicate VM', (s) => s.vms.push({ ...s.vms[0] }), 'vms[1].name: duplicate VM "vm-01"'],
		['duplicate disk', (s) => s.vms[0].disks.push({ name: 'disk-0' }), 'vms[0].disks[1].name: duplicate disk "disk-0"'],
		['offset beyond the disk', disk((d) => (d.workload[0].offset = '2g')), "vms[0].disks[0].workload[0].offset: 2147483648 is beyond the disk's 1073741824 bytes"],
		['unknown filter class', policy([{ type: 'passthrough', class: 'storage' }]), 'vms[0].disks[0].policy.filters[0].class: Expected ("inspection" | "compression" | "encryption" | "replication" | "cache" | "dataProvider" | "datastoreIoControl") but received "storage"'],
		['unknown datastore kind', disk((d) => (d.datastore = { kind: 'floppy' })), 'vms[0].disks[0].datastore.kind: Expected ("nvme" | "sata-ssd" | "hdd" | "null") but received "floppy"'],
		['iodepth 0', disk((d) => (d.workload[0].iodepth = 0)), 'vms[0].disks[0].workload[0].iodepth: Expected >=1 but received 0'],
		['randomMap not a flag', disk((d) => (d.workload[0].randomMap = 'yes')), 'vms[0].disks[0].workload[0].randomMap: Expected boolean but received "yes"'],
		['zipf θ below -100', disk((d) => (d.workload[0].randomDistribution = { kind: 'zipf', theta: -101 })), 'vms[0].disks[0].workload[0].randomDistribution.theta: Expected >=-100 but received -101'],
		['normal deviation 100, which fio refuses', disk((d) => (d.workload[0].randomDistribution = { kind: 'normal', sigmaPct: 100 })), 'vms[0].disks[0].workload[0].randomDistribution.sigmaPct: must be below 100 (fio refuses normal:100)'],
		['stream name empty', disk((d) => (d.workload[0].name = '')), 'vms[0].disks[0].workload[0].name: must not be empty (leave the name out for the default vaio, vaio-1, …)'],
		['stream name not a string', disk((d) => (d.workload[0].name = 7)), 'vms[0].disks[0].workload[0].name: must be a string (a fio job name)'],
		['stream name too long', disk((d) => (d.workload[0].name = 'j'.repeat(65))), 'vms[0].disks[0].workload[0].name: must be at most 64 characters, got 65'],
		['stream name with ";"', disk((d) => (d.workload[0].name = 'a;b')), 'vms[0].disks[0].workload[0].name: must not contain ";" or "#" (fio reads them as the start of a comment, in a [section] line too)'],
		['stream name with "#"', disk((d) => (d.workload[0].name = '#1')), 'vms[0].disks[0].workload[0].name: must not contain ";" or "#" (fio reads them as the start of a comment, in a [section] line too)'],
		['stream name with a line break', disk((d) => (d.workload[0].name = 'a\nb')), 'vms[0].disks[0].workload[0].name: must not contain tabs, line breaks or other control characters'],
		['stream name with a blank at the end', disk((d) => (d.workload[0].name = 'reader ')), 'vms[0].disks[0].workload[0].name: must not begin or end with a blank'],
		['stream name fio reads as [global]', disk((d) => (d.workload[0].name = 'global-reader')), 'vms[0].disks[0].workload[0].name: must not start with "global" (fio reads a [global…] section as options for the jobs, not as a job)'],
		[
			'two streams of a disk with one name',
			disk((d) => (d.workload = [{ name: 'r' }, { name: 'w' }, { name: 'r' }])),
			'vms[0].disks[0].workload[2].name: duplicate stream name "r": workload[0] has it too (the streams of a disk need different names)'
		],
		[
			'two streams of a clone with one name',
			(s) => (s.operations = [{ atUs: 0, op: 'clone', vm: 'vm-01', workload: [{ name: 'x' }, { name: 'x' }] }]),
			'operations[0].workload[1].name: duplicate stream name "x": workload[0] has it too (the streams of a disk need different names)'
		]
	])('%s', async (_what, edit, message) => {
		expect((await errorOf(edit)).message).toBe(message);
		// parseScenario alone gives the same error for what the schema can see
		const s = base();
		edit(s);
		expect(() => parseScenario(s)).toThrow(message);
	});
});

describe('stream names', () => {
	it('take what fio takes in a section name: blanks, brackets, "=", quotes, non-ASCII; the same name on two disks', async () => {
		const s = base();
		s.vms[0].disks[0].workload = [{ name: 'oltp [hot].0', ios: 5 }, { name: 'log=writer "a"', ios: 5 }, { name: 'ünï', ios: 5 }, { ios: 5 }];
		s.vms[0].disks.push({ name: 'disk-1', size: '1g', datastore: { kind: 'null' }, workload: [{ name: 'oltp [hot].0', ios: 5 }] });
		const sim = await Simulation.create(s as ScenarioInput, { registry: builtinRegistry() });
		await sim.run();
		expect(runResult(sim).streams.map((x) => [x.disk, x.stream, x.job])).toEqual([
			['vm-01/disk-0', 0, 'oltp [hot].0'],
			['vm-01/disk-0', 1, 'log=writer "a"'],
			['vm-01/disk-0', 2, 'ünï'],
			['vm-01/disk-0', 3, undefined],
			['vm-01/disk-1', 0, 'oltp [hot].0']
		]);
	});
});

describe('distributions fio accepts are valid scenarios', () => {
	it('zipf θ = 0 (uniform) and θ < 0 build and run', async () => {
		for (const theta of [0, -2, -100, 100]) {
			const s = base();
			disk((d) => (d.workload[0] = { rw: 'randread', bs: '4k', ios: 50, randomDistribution: { kind: 'zipf', theta } }))(s);
			const sim = await Simulation.create(s as ScenarioInput, { registry: builtinRegistry() });
			await sim.run();
			expect(runResult(sim).ios).toBe(50);
		}
	});
});

describe('building errors name the field path and the reason', () => {
	it('unknown filter type', async () => {
		const e = await errorOf(policy([{ type: 'passthrough' }, { type: 'nope', class: 'cache' }]));
		expect(e.path).toBe('vms[0].disks[0].policy.filters[1].type');
		expect(e.reason).toMatch(/^unknown filter "nope" \(registered: .*\bpassthrough\b.*\)$/);
	});

	it('bad filter parameter value, naming the parameter', async () => {
		expect((await errorOf(policy([{ type: 'delay', params: { readUs: -5 } }]))).message).toBe(
			'vms[0].disks[0].policy.filters[0].params.readUs: filter "delay" parameter "readUs": -5 is below the minimum 0 µs'
		);
		expect((await errorOf(policy([{ type: 'flaky', params: { mode: 'explode' } }]))).message).toBe(
			'vms[0].disks[0].policy.filters[0].params.mode: filter "flaky" parameter "mode": "explode" is not one of fail, corrupt-read, corrupt-write'
		);
	});

	it('unknown filter parameter, naming it and the known ones', async () => {
		expect((await errorOf(policy([{ type: 'delay', params: { speed: 1 } }]))).message).toBe(
			'vms[0].disks[0].policy.filters[0].params.speed: filter "delay": unknown parameter "speed" (known: readUs, writeUs, blocking)'
		);
	});

	it('duplicate class, naming both filters and the class', async () => {
		expect((await errorOf(policy([{ type: 'delay', class: 'cache' }, { type: 'passthrough', class: 'cache' }]))).message).toBe(
			'vms[0].disks[0].policy.filters: filters "delay" and "passthrough" are both of class cache: a disk takes one filter per class'
		);
	});

	it('a class change on a filter whose class is fixed', async () => {
		const registry = registryWith(testFilter('fixed', 'cache'));
		expect((await errorOf(policy([{ type: 'fixed', class: 'inspection' }]), registry)).message).toBe(
			'vms[0].disks[0].policy.filters[0].class: filter "fixed" is of class cache; its class cannot be changed'
		);
		// naming its own class is fine
		const s = base();
		policy([{ type: 'fixed', class: 'cache' }])(s);
		await expect(Simulation.create(s, { registry })).resolves.toBeInstanceOf(Simulation);
	});

	it('unknown device parameter, for the datastore and for a filter device', async () => {
		const ds = await errorOf(disk((d) => (d.datastore = { kind: 'nvme', params: { warp: 9 } })));
		expect(ds.path).toBe('vms[0].disks[0].datastore');
		expect(ds.reason).toMatch(/^nvme: unknown parameter "warp" \(known: readLatencyUs, /);
		const fd = await errorOf(policy([{ type: 'cache', devices: { ssd: { kind: 'nvme', params: { warp: 1 } } } }]));
		expect(fd.path).toBe('vms[0].disks[0].policy.filters[0].devices.ssd');
		expect(fd.reason).toMatch(/^nvme: unknown parameter "warp"/);
	});

	it('a device role the filter does not have, and a device of the wrong sort', async () => {
		expect((await errorOf(policy([{ type: 'cache', devices: { sdd: { kind: 'nvme' } } }]))).message).toBe(
			'vms[0].disks[0].policy.filters[0].devices.sdd: filter "cache" has no device "sdd" (its devices: ssd, peer)'
		);
		expect((await errorOf(policy([{ type: 'delay', devices: { ssd: { kind: 'nvme' } } }]))).message).toBe(
			'vms[0].disks[0].policy.filters[0].devices.ssd: filter "delay" has no device "ssd" (it uses no devices)'
		);
		expect((await errorOf(policy([{ type: 'replication', devices: { wan: { kind: 'nvme' } } }]))).message).toBe(
			'vms[0].disks[0].policy.filters[0].devices.wan.kind: filter "replication" uses "wan" as a network link: kind must be wan, not nvme'
		);
		expect((await errorOf(policy([{ type: 'cache', devices: { ssd: { kind: 'wan' } } }]))).path).toBe('vms[0].disks[0].policy.filters[0].devices.ssd.kind');
	});

	it('a parameter the filter refuses when it attaches (a key id the KMS cannot have)', async () => {
		for (const keyId of ['foo', 'kms:vm-01:0']) {
			const e = await errorOf(policy([{ type: 'encryption', params: { keyId } }]));
			expect(e.path).toBe('vms[0].disks[0].policy.filters[0].params.keyId');
			expect(e.reason).toContain(`"${keyId}" is not a KMS key id`);
		}
	});

	it('the first problem is the one reported', async () => {
		const e = await errorOf((s) => {
			s.vms[0].host = 'nowhere';
			s.vms[0].disks[0].workload[0].bs = 100;
		});
		// schema errors come before reference checks
		expect(e.path).toBe('vms[0].disks[0].workload[0].bs');
	});
});
