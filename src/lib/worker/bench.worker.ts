/**
 * A dev-only Worker for `npm run bench:browser` (page /dev/bench): raw OPFS sync-access-handle
 * 4 KiB random writes and reads, then the same pattern through the engine — six pass-through
 * filters, one per class, on OPFS disks, real data, verification on — so the two are measured
 * in one run on one page. The wall clock is read here, never in the engine.
 */
import * as Comlink from 'comlink';
import { OpfsStoreFactory, type SyncHandle } from '../engine/storage/opfs';
import { Simulation } from '../engine/simulation';
import { runResult } from '../engine/result';
import { FILTER_CLASSES } from '../engine/filter';
import { builtinRegistry } from '../filters';
import { Prng } from '../engine/clock';

const BLOCK = 4096;
/** 64 MiB region of 4 KiB blocks, as the engine's workload uses. */
const REGION_BLOCKS = 16384;

export interface OpfsBenchResult {
	ops: number;
	rawWriteIops: number;
	rawReadIops: number;
	rawIops: number;
	engineWriteIops: number;
	engineReadIops: number;
	engineIops: number;
	ratio: number;
	mismatches: number;
}

async function raw(ops: number): Promise<{ writeS: number; readS: number }> {
	const root = await navigator.storage.getDirectory();
	const dir = await root.getDirectoryHandle('vaio-bench-raw', { create: true });
	const file = await dir.getFileHandle('disk.img', { create: true });
	const h = await (file as unknown as { createSyncAccessHandle(): Promise<SyncHandle> }).createSyncAccessHandle();
	try {
		h.truncate(0);
		const buf = new Uint8Array(BLOCK);
		const r = new Prng(7);
		let t = performance.now();
		for (let i = 0; i < ops; i++) {
			buf[0] = i & 255;
			h.write(buf, { at: r.int(REGION_BLOCKS) * BLOCK });
		}
		const writeS = (performance.now() - t) / 1000;
		t = performance.now();
		for (let i = 0; i < ops; i++) h.read(buf, { at: r.int(REGION_BLOCKS) * BLOCK });
		const readS = (performance.now() - t) / 1000;
		return { writeS, readS };
	} finally {
		h.close();
		await root.removeEntry('vaio-bench-raw', { recursive: true });
	}
}

function scenario(rw: 'randwrite' | 'randread', ops: number) {
	return {
		version: 1,
		seed: 7,
		vms: [
			{
				name: 'vm',
				disks: [
					{
						name: 'disk',
						size: '20g',
						datastore: { kind: 'null' },
						policy: { filters: FILTER_CLASSES.slice(0, 6).map((c) => ({ type: 'passthrough', class: c })) },
						workload: [{ rw, bs: '4k', iodepth: 32, ios: ops, size: '64m' }]
					}
				]
			}
		]
	};
}

async function engine(ops: number): Promise<{ writeS: number; readS: number; mismatches: number }> {
	const stores = await OpfsStoreFactory.create({ root: 'vaio-bench-engine' });
	try {
		await stores.wipe();
		const registry = builtinRegistry();
		// Timed like the raw loop: from the first I/O (files open, handles created) to the last.
		const writer = await Simulation.create(scenario('randwrite', ops), { registry, stores });
		let t = performance.now();
		await writer.run();
		const writeS = (performance.now() - t) / 1000;
		const expected = new Map([[writer.disk().key, writer.disk().expected]]);
		const reader = await Simulation.create(scenario('randread', ops), { registry, stores, expected });
		t = performance.now();
		await reader.run();
		const readS = (performance.now() - t) / 1000;
		const r = runResult(reader);
		return { writeS, readS, mismatches: r.verify.mismatches + r.errors.count };
	} finally {
		await stores.wipe();
		await (stores as unknown as { release?: () => Promise<void> }).release?.();
	}
}

const api = {
	/**
	 * Raw and engine runs alternate `rounds` times and the fastest of each phase is kept, so a
	 * busy machine (other processes on two cores) hurts both alike.
	 */
	async opfs(ops: number, rounds = 3): Promise<OpfsBenchResult> {
		// Warm-up: JIT and OPFS file creation, not measured.
		await raw(500);
		await engine(500);
		const r = { writeS: Infinity, readS: Infinity };
		const e = { writeS: Infinity, readS: Infinity, mismatches: 0 };
		for (let i = 0; i < rounds; i++) {
			const ri = await raw(ops);
			r.writeS = Math.min(r.writeS, ri.writeS);
			r.readS = Math.min(r.readS, ri.readS);
			const ei = await engine(ops);
			e.writeS = Math.min(e.writeS, ei.writeS);
			e.readS = Math.min(e.readS, ei.readS);
			e.mismatches += ei.mismatches;
		}
		const rawIops = (2 * ops) / (r.writeS + r.readS);
		const engineIops = (2 * ops) / (e.writeS + e.readS);
		return {
			ops,
			rawWriteIops: ops / r.writeS,
			rawReadIops: ops / r.readS,
			rawIops,
			engineWriteIops: ops / e.writeS,
			engineReadIops: ops / e.readS,
			engineIops,
			ratio: engineIops / rawIops,
			mismatches: e.mismatches
		};
	}
};

export type BenchApi = typeof api;
Comlink.expose(api);
