/**
 * A scenario's timed operations (`operations: [{ atUs, op, … }]`): each runs as a cluster task at
 * its virtual time (Cluster.scheduleOperations), so `vaio run scenario.json` replays snapshots,
 * vMotions, crashes and failovers exactly, run after run. A refused operation is recorded (and
 * logged) and the run goes on.
 */
import type { Operation } from '../scenario/schema';
import { ClusterError } from './errors';
import * as faults from './faults';
import * as ops from './operations';
import { applyPolicy, parsePolicy } from './policies';
import { verifyDisk, type Cluster } from './index';

export async function runTimed(c: Cluster, op: Operation): Promise<{ message: string }> {
	switch (op.op) {
		case 'snapshot-create':
			return ops.snapshotCreate(c, op.vm, op.name, op.description ?? '');
		case 'snapshot-revert':
			return ops.snapshotRevert(c, op.vm, op.name);
		case 'snapshot-delete':
			return ops.snapshotDelete(c, op.vm, op.name);
		case 'disk-grow':
			return ops.growDisk(c, c.diskOf(op.vm, op.disk), op.size);
		case 'power-on':
		case 'power-off':
		case 'suspend':
		case 'resume':
			return ops.power(c, op.vm, op.op);
		case 'drs-place':
			return ops.drsPlace(c, op.vm);
		case 'drs-balance':
			return ops.drsBalance(c);
		case 'clone':
			return ops.clone(c, c.diskOf(op.vm, op.disk), {
				targetVm: op.targetVm,
				targetDisk: op.targetDisk,
				host: op.host,
				powerOn: op.powerOn,
				policy: op.policy,
				workload: op.workload
			});
		case 'vmotion':
			return ops.migrate(c, op.vm, op.host);
		case 'policy': {
			const p = typeof op.policy === 'string' ? c.policies.get(op.policy) : parsePolicy(op.policy);
			if (!p) throw new ClusterError(`no storage policy "${String(op.policy)}" (policies: ${[...c.policies.keys()].join(', ')})`);
			return applyPolicy(c, c.diskOf(op.vm, op.disk), p);
		}
		case 'install':
			return ops.install(c, op.bundle);
		case 'upgrade':
			return ops.upgrade(c, op.name, op.version);
		case 'uninstall':
			return ops.uninstall(c, op.name);
		case 'host-add':
			return ops.addHost(c, op.host, op.bundles);
		case 'maintenance-enter':
			return ops.enterMaintenance(c, op.host);
		case 'maintenance-exit':
			return ops.exitMaintenance(c, op.host);
		case 'host-recover':
			return faults.hostRecover(c, op.host);
		case 'host-crash':
			return faults.hostCrash(c, op.host, { restart: op.restart, rebootUs: op.rebootUs });
		case 'vm-restart':
			return faults.restartVm(c, op.vm, op.host);
		case 'datastore-error':
			return faults.datastoreError(c, c.diskOf(op.vm, op.disk), {
				fromSector: op.fromSector,
				sectors: op.sectors,
				ops: op.ops,
				durationUs: op.durationUs
			});
		case 'filter-crash':
			return faults.filterCrash(c, c.diskOf(op.vm, op.disk), op.filter);
		case 'filter-restart':
			return faults.filterRestart(c, c.diskOf(op.vm, op.disk), op.filter);
		case 'wan-outage':
			return faults.wanOutage(c, op.durationUs, op.vm === undefined ? undefined : c.diskOf(op.vm, op.disk));
		case 'bookmark':
			return ops.bookmark(c, c.diskOf(op.vm, op.disk), op.label);
		case 'dr-failover':
			return faults.drFailover(c, c.diskOf(op.vm, op.disk), { point: op.point, host: op.host });
		case 'dr-failback':
			return faults.drFailback(c, c.diskOf(op.vm, op.disk));
		case 'verify': {
			const disks = op.vm === undefined ? c.sim.disks.filter((d) => !d.chain.dead) : [c.diskOf(op.vm, op.disk)];
			const parts: string[] = [];
			for (const d of disks) {
				const r = await verifyDisk(c, d);
				parts.push(`${d.key}: ${r.blocks} blocks read, ${r.lostBlocks.length} differ${r.errors.length ? `, ${r.errors.length} read errors` : ''}`);
			}
			return { message: parts.join('; ') || 'no disk to verify' };
		}
	}
}
