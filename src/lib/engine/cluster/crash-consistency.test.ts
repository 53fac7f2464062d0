/**
 * Crash consistency in the spirit of CrashMonkey: the host is crashed at many seeded points of a
 * run (after a seeded number of events, so anywhere: mid-write, mid-destage, mid-commit), the VM
 * is recovered, and what survives is checked block by block against what the guest had
 * acknowledged.
 * - write-through cache + sync replication: no acknowledged write is lost, neither on the disk
 *   after recovery nor on the replica at the moment of the crash;
 * - write-back cache, restarted on another host: the blocks that come back without their last
 *   acknowledged write are exactly the ones the cache held dirty and had not destaged (predicted
 *   at the crash from the cache's own state); restarted on the same host (its SSD survives),
 *   nothing is lost;
 * - write-back cache protected by a copy on a peer host (writeBackPeers): restarted on another
 *   host, nothing is lost: the undestaged dirty blocks come back from the peer and are destaged;
 *   the protection costs each write the peer's acknowledgement over the network model;
 * - async replication: at the crash, the replica is exactly the source after writes 1..n in the
 *   order the guest issued them (a write-order-consistent prefix).
 */
import { describe, expect, it } from 'vitest';
import { builtinRegistry } from '../../filters';
import { runResult } from '../result';
import type { CacheEngine } from '../../filters/cache';
import { replicationOf } from '../../filters/replication';
import { Prng } from '../clock';
import { FILTER_CONTRACT_VERSION, PASS, type FilterDef } from '../filter';
import { Op, SECTOR_BYTES, SECTORS_PER_BLOCK } from '../io';
import type { ScenarioInput } from '../scenario/schema';
import { Simulation } from '../simulation';
import { UNKNOWN_CONTENT } from '../verify';
import type { BlockStore } from '../storage/types';

type Filters = NonNullable<NonNullable<ScenarioInput['vms'][number]['disks'][number]['policy']>['filters']>;

function scenario(filters: Filters, ios: number, seed: number): ScenarioInput {
	return {
		version: 1,
		name: 'crash-consistency',
		seed,
		hosts: [{ name: 'esx-01' }, { name: 'esx-02' }],
		vms: [
			{
				name: 'vm-01',
				host: 'esx-01',
				disks: [
					{
						name: 'disk-0',
						size: '64m',
						datastore: { kind: 'nvme' },
						policy: { filters },
						workload: [{ rw: 'randrw', bs: '4k', rwmixread: 30, iodepth: 8, ios, size: '2m' }]
					}
				]
			}
		],
		run: { traceCapacity: 1024 }
	};
}

/** Checks every block the guest has written against a store holding the disk's plain bytes. */
async function mismatchesOn(sim: Simulation, store: BlockStore): Promise<{ checked: number; bad: number }> {
	const d = sim.disk();
	const check = d.expected.copy();
	const buf = new Uint8Array(SECTORS_PER_BLOCK * SECTOR_BYTES);
	for (const b of d.expected.blockList()) {
		await store.read(b * SECTORS_PER_BLOCK, buf);
		check.checkRead(b * SECTORS_PER_BLOCK, SECTORS_PER_BLOCK, buf, 0);
	}
	return { checked: check.sectorsChecked, bad: check.mismatches };
}

function blockUnknown(sim: Simulation, b: number): boolean {
	const e = sim.disk().expected;
	for (let s = b * SECTORS_PER_BLOCK; s < (b + 1) * SECTORS_PER_BLOCK; s++) if (e.contentOf(s) !== UNKNOWN_CONTENT) return false;
	return true;
}

/** The cache's dirty blocks as it holds them in memory (white box: its slot flags, DIRTY = 2). */
function dirtyInMemory(sim: Simulation): Set<number> {
	const eng = sim.disk().chain.filters.find((f) => f.def.name === 'cache')!.state as CacheEngine;
	const flags = (eng as unknown as { flags: Uint8Array }).flags;
	const out = new Set<number>();
	eng.map.forEach((slot, block) => {
		if (flags[slot] & 2) out.add(block);
	});
	return out;
}

describe('crash consistency', () => {
	it('write-through cache + sync replication: 20 crashes, no acknowledged write lost on the disk or the replica', async () => {
		const sim = await Simulation.create(
			scenario(
				[
					{ type: 'replication', params: { mode: 'sync' }, devices: { wan: { kind: 'wan', rttUs: 400, mbitPerSec: 10_000 }, replica: { kind: 'nvme' } } },
					{ type: 'cache', params: { mode: 'write-through', capacityBlocks: 128 } }
				],
				5000,
				21
			),
			{ registry: builtinRegistry() }
		);
		const prng = new Prng(2024);
		let replicaChecked = 0;
		let diskChecked = 0;
		for (let i = 0; i < 20; i++) {
			await sim.run({ maxEvents: 150 + prng.int(500) });
			if (sim.finished) break;
			const report = await sim.cluster.hostCrash('esx-01', { restart: 'none' });
			expect(report.disks[0].undestaged).toEqual([]);
			// The replica at the moment of the crash: every acknowledged write is there.
			const rep = await mismatchesOn(sim, replicationOf(sim).replica.store!);
			expect(rep.bad, `replica after crash ${i}`).toBe(0);
			replicaChecked += rep.checked;
			const back = await sim.cluster.hostRecover('esx-01');
			expect(back.restarted).toHaveLength(1);
			expect(back.restarted[0].lostBlocks, `disk after crash ${i}`).toEqual([]);
			expect(back.restarted[0].readErrors).toBe(0);
			diskChecked += back.restarted[0].checkedBlocks;
		}
		expect(replicaChecked).toBeGreaterThan(0);
		expect(diskChecked).toBeGreaterThan(0);
		expect(sim.cluster.history.filter((h) => h.op === 'host-crash').length).toBeGreaterThanOrEqual(15);
		await sim.run();
		expect(sim.disk().expected.mismatches).toBe(0);
		expect(sim.disk().guest.errorCount).toBe(0);
		expect(sim.disk().guest.lostInFlight).toBeGreaterThan(0);
	}, 60_000);

	it('write-back cache: restarted elsewhere, the lost blocks are exactly the undestaged dirty ones; restarted on the same host, none', async () => {
		const sim = await Simulation.create(
			scenario([{ type: 'cache', params: { mode: 'write-back', capacityBlocks: 384, destageMBps: 20, commitIntervalMs: 5 } }], 6000, 5),
			{ registry: builtinRegistry() }
		);
		const prng = new Prng(77);
		let lostTotal = 0;
		let writesLost = 0;
		let sameHostDirty = 0;
		let alreadyDestaged = 0;
		let crashes = 0;
		for (let i = 0; i < 20; i++) {
			await sim.run({ maxEvents: 250 + prng.int(550) });
			if (sim.finished) break;
			crashes++;
			const host = sim.cluster.vm('vm-01').host;
			const dirty = dirtyInMemory(sim);
			const sameHost = i % 5 === 4;
			const report = await sim.cluster.hostCrash(host, sameHost ? { restart: 'same-host', rebootUs: 1000 } : { restart: 'other-host' });
			const predicted = report.disks[0].undestaged;
			const loss = report.recovered[0];
			expect(report.disks[0].undestagedExact).toBe(true);
			// What the cache's sidecar says was dirty and not on the datastore was dirty in memory.
			for (const b of predicted) expect(dirty.has(b), `block ${b} predicted lost but not dirty (crash ${i})`).toBe(true);
			if (sameHost) {
				// Same host: its SSD and the cache's sidecar are back, the dirty blocks are destaged later.
				expect(loss.host).toBe(host);
				expect(loss.lostBlocks, `crash ${i}`).toEqual([]);
				expect(loss.startedCold).toEqual([]);
				sameHostDirty += predicted.length;
			} else {
				expect(loss.host).not.toBe(host);
				expect(loss.lostBlocks, `crash ${i}`).toEqual(predicted);
				expect(loss.startedCold.length).toBe(1);
				lostTotal += loss.lostBlocks.length;
				writesLost += loss.lostWriteIds.length;
				if (loss.lostBlocks.length > 0) {
					expect(loss.lostWriteIds.length).toBeGreaterThan(0);
					expect(loss.lostWriteIds.length).toBeLessThanOrEqual(loss.lostBlocks.length);
				}
				// The other dirty blocks were being written at the crash (never acknowledged, unknown
				// now), or their latest data had reached the datastore already (a cache that came back
				// warm reloads blocks as dirty whose clean record had not been committed).
				const raw = sim.disk().store;
				const buf = new Uint8Array(4096);
				for (const b of dirty) {
					if (predicted.includes(b) || blockUnknown(sim, b)) continue;
					raw.read(b * SECTORS_PER_BLOCK, buf);
					const check = sim.disk().expected.copy();
					expect(check.checkRead(b * SECTORS_PER_BLOCK, SECTORS_PER_BLOCK, buf, 0), `block ${b} (crash ${i})`).toBe(0);
					alreadyDestaged++;
				}
				await sim.cluster.hostRecover(host);
			}
		}
		expect(crashes).toBeGreaterThanOrEqual(15);
		expect(lostTotal).toBeGreaterThan(0);
		expect(writesLost).toBeGreaterThan(0);
		expect(sameHostDirty).toBeGreaterThan(0);
		await sim.run();
		// The losses were reported; what the guest reads afterwards is checked as usual.
		expect(sim.disk().expected.mismatches).toBe(0);
		expect(sim.disk().guest.errorCount).toBe(0);
	}, 60_000);

	it('write-back cache with a peer copy (writeBackPeers 1): restarted elsewhere, no acknowledged write is lost', async () => {
		const sim = await Simulation.create(
			scenario([{ type: 'cache', params: { mode: 'write-back', capacityBlocks: 384, destageMBps: 20, commitIntervalMs: 5, writeBackPeers: 1 } }], 6000, 5),
			{ registry: builtinRegistry() }
		);
		const prng = new Prng(77);
		let undestagedTotal = 0;
		let crashes = 0;
		for (let i = 0; i < 20; i++) {
			await sim.run({ maxEvents: 250 + prng.int(550) });
			if (sim.finished) break;
			crashes++;
			const host = sim.cluster.vm('vm-01').host;
			const sameHost = i % 5 === 4;
			const report = await sim.cluster.hostCrash(host, sameHost ? { restart: 'same-host', rebootUs: 1000 } : { restart: 'other-host' });
			const undestaged = report.disks[0].undestaged;
			// Every acknowledged dirty block not on the datastore has a copy on the peer.
			expect(report.disks[0].peerProtected, `crash ${i}`).toEqual(undestaged);
			const loss = report.recovered[0];
			expect(loss.lostBlocks, `crash ${i}`).toEqual([]);
			expect(loss.lostWriteIds).toEqual([]);
			expect(loss.readErrors).toBe(0);
			if (!sameHost) {
				expect(loss.host).not.toBe(host);
				// The new host's cache started cold and destaged what it recovered from the peer.
				expect(loss.startedCold.length).toBe(1);
				const st = sim.disk().chain.filters[0].status();
				expect(st.peerRecovered as number, `crash ${i}`).toBeGreaterThanOrEqual(undestaged.length);
				if (undestaged.length) expect(report.message).toContain(`${undestaged.length} acknowledged blocks not destaged (${undestaged.length} with a copy on a peer host)`);
				undestagedTotal += undestaged.length;
				await sim.cluster.hostRecover(host);
			}
		}
		expect(crashes).toBeGreaterThanOrEqual(15);
		// The crashes did hit dirty data that only the peer copy saved.
		expect(undestagedTotal).toBeGreaterThan(0);
		await sim.run();
		expect(sim.disk().expected.mismatches).toBe(0);
		expect(sim.disk().guest.errorCount).toBe(0);
	}, 60_000);

	it('the peer copy costs each write-back write its transfer and round trip on the peer link', async () => {
		const mean = async (writeBackPeers: number, rttUs: number) => {
			const sim = await Simulation.create(
				scenario(
					[{ type: 'cache', params: { mode: 'write-back', capacityBlocks: 1024, writeBackPeers }, devices: { peer: { kind: 'wan', rttUs, mbitPerSec: 10_000 } } }],
					400,
					9
				),
				{ registry: builtinRegistry() }
			);
			await sim.run();
			const r = runResult(sim);
			expect(r.verify.mismatches).toBe(0);
			return { write: r.ops.write.latencyUs.mean, read: r.ops.read.latencyUs.mean, status: r.filters.cache };
		};
		const off = await mean(0, 500);
		const near = await mean(1, 100);
		const far = await mean(1, 500);
		const two = await mean(2, 500);
		// The SSD write and the copy to the peer overlap; the write waits for the slower: the
		// peer's round trip plus the transfer (4 KiB at 10 Gbit/s ≈ 3.3 µs), a second copy one
		// more transfer.
		expect(off.write).toBeLessThan(100);
		expect(near.write).toBeGreaterThanOrEqual(100 + 3.3);
		expect(far.write).toBeGreaterThanOrEqual(500 + 3.3);
		expect(far.write - near.write).toBeGreaterThan(350);
		expect(two.write).toBeGreaterThan(far.write);
		// Reads are not slowed by it (beyond the queueing behind slower writes).
		expect(far.read).toBeLessThan(far.write);
		expect(far.status.peerCopies as number).toBeGreaterThan(0);
		expect(off.status.peerCopies).toBeUndefined();
	}, 60_000);

	it('async replication: at every crash the replica is the source after writes 1..appliedSeq, in issue order', async () => {
		const prng = new Prng(99);
		let behind = 0;
		for (let i = 0; i < 8; i++) {
			const writes: { lba: number; data: Uint8Array }[] = [];
			const recorder: FilterDef<null> = {
				contract: FILTER_CONTRACT_VERSION,
				name: 'recorder',
				vendor: 'test',
				version: '1.0.0',
				class: 'inspection',
				description: 'records writes in the order they go down',
				params: [],
				attach: () => null,
				onIo(io) {
					if (io.op === Op.write) writes.push({ lba: io.lba, data: io.data!.slice() });
					return PASS;
				}
			};
			const registry = builtinRegistry().register(recorder);
			const sim = await Simulation.create(
				scenario(
					[{ type: 'recorder' }, { type: 'replication', params: { mode: 'async' }, devices: { wan: { kind: 'wan', rttUs: 4000, mbitPerSec: 200 } } }],
					1500,
					100 + i
				),
				{ registry }
			);
			await sim.run({ maxEvents: 300 + prng.int(2500) });
			await sim.cluster.hostCrash('esx-01', { restart: 'none' });
			const r = replicationOf(sim);
			const applied = r.remote.appliedSeq;
			expect(applied).toBeLessThanOrEqual(writes.length);
			if (applied < writes.length) behind++;
			// The prefix image: writes 1..applied, in order.
			const prefix = new Map<number, Uint8Array>();
			for (const w of writes.slice(0, applied)) prefix.set(w.lba / SECTORS_PER_BLOCK, w.data);
			const touched = new Set(writes.map((w) => w.lba / SECTORS_PER_BLOCK));
			const buf = new Uint8Array(4096);
			const zero = new Uint8Array(4096);
			let bad = 0;
			for (const b of touched) {
				await r.replica.store!.read(b * SECTORS_PER_BLOCK, buf);
				const want = prefix.get(b) ?? zero;
				for (let k = 0; k < 4096; k++)
					if (buf[k] !== want[k]) {
						bad++;
						break;
					}
			}
			expect(bad, `crash point ${i}: replica differs from the prefix of ${applied} writes in ${bad} blocks`).toBe(0);
		}
		expect(behind).toBeGreaterThanOrEqual(5);
	}, 60_000);
});
