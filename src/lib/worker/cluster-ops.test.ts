/**
 * The page's cluster operations through the session: the view lists hosts with their bundles,
 * VMs with their disks and snapshots, and where each VM could move; an operation returns its
 * effect, or why it was refused, and the same line reaches the frame's log; a host crash with a
 * write-back cache reports the acknowledged writes it lost; a malformed request is refused with
 * the field.
 */
import { describe, expect, it } from 'vitest';
import { EngineSession } from './session';
import { builtinRegistry } from '../filters';
import { MemoryStoreFactory } from '../engine/storage/memory';

const session = () => new EngineSession({ registry: builtinRegistry(), stores: new MemoryStoreFactory(), yieldNow: () => Promise.resolve() });

function scenario(filters: unknown[], ios = 3000) {
	return {
		version: 1,
		name: 'cluster-ops',
		seed: 5,
		hosts: [{ name: 'esx-01' }, { name: 'esx-02' }, { name: 'esx-03', bundles: [{ name: 'passthrough' }] }],
		vms: [
			{
				name: 'vm-01',
				host: 'esx-01',
				disks: [{ name: 'disk-0', size: '64m', policy: { filters }, workload: [{ rw: 'randwrite', bs: '4k', iodepth: 8, ios, size: '8m' }] }]
			}
		]
	};
}

const WRITE_BACK = { type: 'cache', params: { mode: 'write-back', capacityBlocks: 2048, destageMBps: 1 } };

describe('cluster operations from the page', () => {
	it('lists hosts, bundles, VMs, disks and targets', async () => {
		const s = session();
		await s.load(scenario([WRITE_BACK]));
		const v = s.clusterView()!;
		expect(v.hosts.map((h) => h.name)).toEqual(['esx-01', 'esx-02', 'esx-03']);
		expect(v.hosts[2].bundles.map((b) => b.name)).toEqual(['passthrough']);
		expect(v.hosts[0].bundles.find((b) => b.name === 'cache')?.version).toMatch(/^\d+\.\d+/);
		const vm = v.vms[0];
		expect(vm).toMatchObject({ name: 'vm-01', host: 'esx-01', power: 'on' });
		expect(vm.disks[0]).toMatchObject({ key: 'vm-01/disk-0', policy: 'default', sizeBytes: 64 * 2 ** 20 });
		expect(vm.disks[0].filters.map((f) => f.name)).toEqual(['cache']);
		expect(vm.targets.find((t) => t.host === 'esx-03')).toMatchObject({ ok: false, reason: expect.stringMatching(/lacks the filter bundle "cache"/) });
		expect(vm.targets.find((t) => t.host === 'esx-02')?.ok).toBe(true);
		// Structured-cloneable (it crosses the Worker boundary).
		expect(structuredClone(v)).toEqual(v);
	});

	it('a snapshot shows in the view and the log; a policy change is refused while it exists; a vMotion without the bundle is refused with the reason', async () => {
		const s = session();
		await s.load(scenario([WRITE_BACK]));
		s.frame();
		const snap = await s.clusterOp({ op: 'snapshot-create', vm: 'vm-01', name: 'snap-1' });
		expect(snap.ok).toBe(true);
		expect(s.clusterView()!.vms[0].snapshots.map((x) => x.name)).toEqual(['snap-1']);
		const log = s.frame().log.map((e) => `${e.source}: ${e.message}`);
		expect(log.some((l) => /^cluster: snapshot-create vm-01 "snap-1": /.test(l))).toBe(true);
		expect(s.state).toBe('paused'); // the workload started with the operation

		const pol = await s.clusterOp({ op: 'policy', vm: 'vm-01', disk: 'disk-0', policy: { name: 'none', filters: [] } });
		expect(pol).toMatchObject({ ok: false, refused: true });
		expect(pol.message).toMatch(/snapshot/);

		const mv = await s.clusterOp({ op: 'vmotion', vm: 'vm-01', host: 'esx-03' });
		expect(mv).toMatchObject({ ok: false, refused: true });
		expect(mv.message).toMatch(/host esx-03 lacks the filter bundle "cache"/);
		expect(s.frame().log.some((e) => /vmotion vm-01 → esx-03 refused: .*lacks the filter bundle "cache"/.test(e.message))).toBe(true);
		expect(s.clusterView()!.vms[0].host).toBe('esx-01');

		const ok = await s.clusterOp({ op: 'vmotion', vm: 'vm-01', host: 'esx-02' });
		expect(ok.ok).toBe(true);
		expect(s.clusterView()!.vms[0].host).toBe('esx-02');
		const r = await s.runToEnd();
		expect(r.verify.mismatches).toBe(0);
	});

	it('a host crash with a write-back cache reports the acknowledged writes it lost', async () => {
		const s = session();
		await s.load(scenario([WRITE_BACK], 4000));
		// Run a while so the cache holds dirty blocks, then crash the VM's host.
		s.sim!.start();
		await s.sim!.run({ untilUs: 30_000 });
		const r = await s.clusterOp({ op: 'host-crash', host: 'esx-01', restart: 'other-host' });
		expect(r.ok).toBe(true);
		const detail = r.detail as { disks: { undestaged: number[] }[]; recovered: { lostBlocks: number[]; lostWriteIds: number[]; host: string }[] };
		expect(detail.disks[0].undestaged.length).toBeGreaterThan(0);
		expect(detail.recovered[0].host).toBe('esx-02');
		expect(detail.recovered[0].lostBlocks.length).toBe(detail.disks[0].undestaged.length);
		expect(detail.recovered[0].lostWriteIds.length).toBeGreaterThan(0);
		expect(r.message).toMatch(/acknowledged blocks not destaged/);
		expect(r.message).toMatch(/blocks lost \(\d+ acknowledged writes/);
		const v = s.clusterView()!;
		expect(v.hosts[0].state).toBe('down');
		expect(v.vms[0].host).toBe('esx-02');
	});

	it('adds a host without bundles and refuses moving there; a bad request names the field', async () => {
		const s = session();
		await s.load(scenario([{ type: 'passthrough' }]));
		const add = await s.clusterOp({ op: 'host-add', host: 'esx-09', bundles: [] });
		expect(add.ok).toBe(true);
		expect(s.clusterView()!.hosts.find((h) => h.name === 'esx-09')!.bundles).toEqual([]);
		const mv = await s.clusterOp({ op: 'vmotion', vm: 'vm-01', host: 'esx-09' });
		expect(mv.refused).toBe(true);
		expect(mv.message).toMatch(/esx-09 lacks the filter bundle "passthrough"/);
		const bad = await s.clusterOp({ op: 'disk-grow', vm: 'vm-01', size: -5 } as never);
		expect(bad).toMatchObject({ ok: false, refused: true });
		expect(bad.message).toMatch(/^disk-grow: size/);
		const un = await s.clusterOp({ op: 'uninstall', name: 'passthrough' });
		expect(un.refused).toBe(true);
		expect(un.message).toMatch(/in use by vm-01\/disk-0/);
	});

	it('faults and DR from the page: WAN outage, bookmark, failover and failback, filter crash, datastore errors, verify', async () => {
		const s = session();
		const repl = { type: 'replication', devices: { wan: { kind: 'wan', rttUs: 2000, mbitPerSec: 1000 } } };
		const input = scenario([repl]);
		input.vms[0].disks[0].workload = [{ rw: 'randrw', bs: '4k', iodepth: 4, ios: 4000, size: '2m', rateIops: 4000 } as never];
		await s.load(input);
		s.sim!.start();
		await s.sim!.run({ untilUs: 20_000 });
		expect((await s.clusterOp({ op: 'wan-outage', durationUs: 5_000, vm: 'vm-01' })).message).toMatch(/1 WAN link\(s\) down/);
		const bm = await s.clusterOp({ op: 'bookmark', vm: 'vm-01', label: 'bm-1' });
		expect(bm.message).toMatch(/consistency point #\d+/);
		// Wait until the replica has the point, then fail over and back.
		for (let i = 0; i < 50; i++) {
			const fo = await s.clusterOp({ op: 'dr-failover', vm: 'vm-01' });
			if (fo.ok) break;
			expect(fo.message).toMatch(/not at the replica yet|no consistency point/);
			await s.sim!.run({ untilUs: s.sim!.sched.now + 10_000 });
		}
		const v = s.clusterView()!;
		expect(v.vms.find((x) => x.name === 'vm-01')!.power).toBe('failed-over');
		expect(v.vms[0].disks[0].failedOverTo).toMatch(/-dr\//);
		const fb = await s.clusterOp({ op: 'dr-failback', vm: 'vm-01' });
		expect(fb.ok).toBe(true);
		expect(s.clusterView()!.vms[0].power).toBe('on');

		const crash = await s.clusterOp({ op: 'filter-crash', vm: 'vm-01', disk: 'disk-0', filter: 'replication' });
		expect(crash.ok).toBe(true);
		expect(s.clusterView()!.vms[0].disks[0].filters[0].crashed).toBe(true);
		expect((await s.clusterOp({ op: 'filter-restart', vm: 'vm-01', disk: 'disk-0', filter: 'replication' })).ok).toBe(true);
		expect(s.clusterView()!.vms[0].disks[0].filters[0].crashed).toBe(false);

		const ds = await s.clusterOp({ op: 'datastore-error', vm: 'vm-01', disk: 'disk-0', fromSector: 0, sectors: 2048, ops: 'write', durationUs: 0 });
		expect(ds.ok).toBe(true);
		expect(s.clusterView()!.vms[0].disks[0].faults).toHaveLength(1);
		expect((await s.clusterOp({ op: 'datastore-error-clear', vm: 'vm-01', disk: 'disk-0' })).ok).toBe(true);
		expect(s.clusterView()!.vms[0].disks[0].faults).toHaveLength(0);
		const ver = await s.clusterOp({ op: 'verify', vm: 'vm-01', disk: 'disk-0' });
		expect(ver.message).toMatch(/blocks read, \d+ differ/);
	}, 60_000);

	it('an operation while the run plays pauses it around the operation, then it plays on to the end', async () => {
		const s = new EngineSession({ registry: builtinRegistry(), stores: new MemoryStoreFactory(), yieldNow: () => new Promise((r) => setImmediate(r)) });
		await s.load(scenario([{ type: 'passthrough' }], 20_000));
		const playing = s.play();
		await new Promise((r) => setTimeout(r, 30));
		expect(s.state).toBe('running');
		const r = await s.clusterOp({ op: 'snapshot-create', vm: 'vm-01', name: 'live' });
		expect(r.ok).toBe(true);
		expect(s.state).toBe('running');
		await playing;
		while (s.state === 'running') await new Promise((x) => setTimeout(x, 10));
		expect(s.state).toBe('finished');
		const res = s.result();
		expect(res.ios).toBe(20_000);
		expect(res.verify.mismatches).toBe(0);
	}, 60_000);
});
