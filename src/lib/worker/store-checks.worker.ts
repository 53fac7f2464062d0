/**
 * A dev-only Worker (used by /dev/store-checks and tests/e2e/stores.spec.ts): runs the store
 * conformance checks of `engine/storage/store-checks.ts` against the OPFS and IndexedDB
 * factories in a real browser, plus the probes the e2e tests need: persistence across a reload,
 * a crash (reload without flush), another tab holding the stores, a full quota, and a small
 * benchmark of raw OPFS sync-handle I/O against the stores. Exposed with comlink.
 */
import * as Comlink from 'comlink';
import { factoryChecks, runChecks, type CheckResult } from '../engine/storage/store-checks';
import { OpfsStoreFactory, opfsAvailable } from '../engine/storage/opfs';
import { IdbStoreFactory } from '../engine/storage/idb';
import { MemoryStoreFactory } from '../engine/storage/memory';
import type { BlockStore, StoreFactory } from '../engine/storage/types';

export type Backend = 'opfs' | 'idb' | 'memory';

export interface BackendResults {
	backend: Backend;
	results: CheckResult[];
	ms: number;
}

export interface ProbeError {
	name: string;
	message: string;
}

const BLOCK = 4096;
const SPB = 8;
const DISK_SECTORS = (20 * 2 ** 30) / 512; // a 20 GiB disk

function factory(backend: Backend, root: string, lock = true): Promise<StoreFactory> {
	if (backend === 'opfs') return OpfsStoreFactory.create({ root, lock });
	if (backend === 'idb') return IdbStoreFactory.create({ dbName: root, lock });
	return Promise.resolve(new MemoryStoreFactory());
}

async function release(f: StoreFactory): Promise<void> {
	await (f as { release?: () => Promise<void> }).release?.();
}

/** Deterministic bytes for block `n` of generation `gen`. */
function blockBytes(n: number, gen: number): Uint8Array {
	const out = new Uint8Array(BLOCK);
	const w = new Uint32Array(out.buffer);
	let x = (Math.imul(n + 1, 0x9e3779b1) ^ Math.imul(gen + 7, 0x85ebca6b)) | 1;
	for (let i = 0; i < w.length; i++) {
		x ^= x << 13;
		x ^= x >>> 17;
		x ^= x << 5;
		w[i] = x;
	}
	return out;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
	if (a.length !== b.length) return false;
	for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
	return true;
}

/** Scattered block numbers over the whole 20 GiB disk (deterministic). */
function scattered(count: number, salt: number): number[] {
	const out: number[] = [];
	let x = 0x2545f491 ^ salt;
	const blocks = DISK_SECTORS / SPB;
	for (let i = 0; i < count; i++) {
		x ^= x << 13;
		x ^= x >>> 17;
		x ^= x << 5;
		out.push((x >>> 0) % blocks);
	}
	return [...new Set(out)];
}

async function readBlock(store: BlockStore, block: number): Promise<Uint8Array> {
	const dst = new Uint8Array(BLOCK);
	await store.read(block * SPB, dst);
	return dst;
}

const asError = (e: unknown): ProbeError => ({
	name: (e as Error)?.name ?? 'Error',
	message: (e as Error)?.message ?? String(e)
});

/** Factories a probe keeps open across calls (the lock tests hold one). */
const held = new Map<string, { factory: StoreFactory; stores: BlockStore[] }>();

const api = {
	opfsAvailable(): boolean {
		return opfsAvailable();
	},

	/** Runs every conformance check through each backend's factory (under its own root). */
	async runChecks(backends: Backend[]): Promise<BackendResults[]> {
		const out: BackendResults[] = [];
		for (const backend of backends) {
			const t0 = performance.now();
			let f: StoreFactory | undefined;
			const suite = factoryChecks(`${backend} factory`, async () => (f = await factory(backend, `vaio-checks-${backend}`)));
			const results = await runChecks(suite);
			if (f) await release(f);
			out.push({ backend, results, ms: performance.now() - t0 });
		}
		return out;
	},

	/**
	 * Writes generation `gen` of `count` scattered blocks on a 20 GiB disk, and a sidecar value;
	 * `flush` = false leaves the last `unflushed` blocks unflushed (a crash probe: the page is then
	 * reloaded without closing anything).
	 */
	async writeDisk(backend: Backend, root: string, gen: number, count: number, unflushed = 0): Promise<{ blocks: number; fileBytes?: number }> {
		const f = await factory(backend, root);
		const store = await f.openBlockStore('disk.vm1/disk0', DISK_SECTORS);
		const blocks = scattered(count, 1);
		const flushedPart = blocks.length - unflushed;
		for (let i = 0; i < flushedPart; i++) await store.write(blocks[i] * SPB, blockBytes(blocks[i], gen));
		await (f as { flushAll?: () => Promise<void> }).flushAll?.();
		const side = await f.openSidecar('sidecar.vm1/disk0.cache');
		await side.set('state', blockBytes(gen, 999));
		for (let i = flushedPart; i < blocks.length; i++) await store.write(blocks[i] * SPB, blockBytes(blocks[i], gen + 1));
		// Keep the factory (and its lock) for the page's lifetime, as the engine worker does.
		held.set(root, { factory: f, stores: [store] });
		return { blocks: blocks.length, fileBytes: (store as { fileBytes?: () => number }).fileBytes?.() };
	},

	/**
	 * Reads the disk back. Blocks [0, count - unflushed) must hold generation `gen`; the last
	 * `unflushed` ones may hold gen + 1 or read as zeros (written after the last flush), but
	 * nothing else. Returns the problems found (empty = fine).
	 */
	async verifyDisk(backend: Backend, root: string, gen: number, count: number, unflushed = 0): Promise<{ problems: string[]; kept: number; lost: number }> {
		const f = await factory(backend, root);
		const store = await f.openBlockStore('disk.vm1/disk0', 8);
		const problems: string[] = [];
		if (store.sectors !== DISK_SECTORS) problems.push(`capacity ${store.sectors}, expected ${DISK_SECTORS}`);
		const blocks = scattered(count, 1);
		const flushedPart = blocks.length - unflushed;
		let kept = 0;
		let lost = 0;
		for (let i = 0; i < blocks.length; i++) {
			const got = await readBlock(store, blocks[i]);
			if (i < flushedPart) {
				if (!equal(got, blockBytes(blocks[i], gen))) problems.push(`block ${blocks[i]} (flushed) differs`);
			} else if (equal(got, blockBytes(blocks[i], gen + 1))) kept++;
			else if (got.every((b) => b === 0)) lost++;
			else problems.push(`block ${blocks[i]} (unflushed) holds neither its new bytes nor zeros`);
		}
		const state = await (await f.openSidecar('sidecar.vm1/disk0.cache')).get('state');
		if (!state || !equal(state, blockBytes(gen, 999))) problems.push('sidecar value differs');
		// The store is usable after a crash: new writes do not disturb the old blocks.
		const fresh = scattered(64, 2);
		for (const b of fresh) await store.write(b * SPB, blockBytes(b, gen + 2));
		await store.flush();
		for (const b of fresh) if (!equal(await readBlock(store, b), blockBytes(b, gen + 2))) problems.push(`new block ${b} differs`);
		for (let i = 0; i < flushedPart; i++) {
			if (fresh.includes(blocks[i])) continue;
			if (!equal(await readBlock(store, blocks[i]), blockBytes(blocks[i], gen))) problems.push(`block ${blocks[i]} changed by new writes`);
		}
		await release(f);
		return { problems, kept, lost };
	},

	/** Opens the stores under `root` and keeps them open (and locked) until `releaseHeld`. */
	async hold(backend: Backend, root: string, lock = true): Promise<ProbeError | null> {
		try {
			const f = await factory(backend, root, lock);
			const store = await f.openBlockStore('disk.vm1/disk0', DISK_SECTORS);
			held.set(root, { factory: f, stores: [store] });
			return null;
		} catch (e) {
			return asError(e);
		}
	},

	async releaseHeld(root: string): Promise<void> {
		const h = held.get(root);
		held.delete(root);
		if (h) await release(h.factory);
	},

	/**
	 * Writes 4 KiB blocks until the store reports it is full (or `maxBlocks`), then checks that
	 * every block written before still reads back. Run it under a small quota.
	 */
	async fill(backend: Backend, root: string, maxBlocks: number): Promise<{ error: ProbeError | null; written: number; problems: string[] }> {
		const f = await factory(backend, root);
		let written = 0;
		let error: ProbeError | null = null;
		let store: BlockStore;
		try {
			store = await f.openBlockStore('disk.fill', DISK_SECTORS);
		} catch (e) {
			await release(f);
			return { error: asError(e), written, problems: ['the store could not be opened'] };
		}
		try {
			for (; written < maxBlocks; written++) {
				await store.write(written * SPB, blockBytes(written, 5));
				if (written % 64 === 63) await store.flush();
			}
			await store.flush();
		} catch (e) {
			error = asError(e);
		}
		const problems: string[] = [];
		// Blocks before the last flush must be intact (IndexedDB: everything flushed; OPFS: all written).
		const check = backend === 'idb' ? written - (written % 64) - 64 : written;
		for (let b = 0; b < check; b++) {
			if (!equal(await readBlock(store, b), blockBytes(b, 5))) {
				problems.push(`block ${b} differs after the store filled up`);
				if (problems.length > 5) break;
			}
		}
		try {
			await f.wipe();
		} catch (e) {
			problems.push(`wipe failed: ${(e as Error).message}`);
		}
		await release(f);
		return { error, written, problems };
	},

	async wipe(backend: Backend, root: string): Promise<void> {
		const h = held.get(root);
		held.delete(root);
		const f = h?.factory ?? (await factory(backend, root));
		await f.wipe();
		await release(f);
	},

	async estimate(): Promise<{ usage: number; quota: number }> {
		const e = await navigator.storage.estimate();
		return { usage: e.usage ?? 0, quota: e.quota ?? 0 };
	},

	/**
	 * 4 KiB random writes and reads over a 64 MiB region: raw OPFS sync handle (preallocated
	 * file) against the OPFS store (first writes, which append slots, then overwrites) and the
	 * IndexedDB store. Returns operations per second.
	 */
	async bench(ops: number): Promise<Record<string, number>> {
		const region = 16384; // blocks: 64 MiB
		const pos: number[] = [];
		let x = 0x1234567;
		for (let i = 0; i < ops; i++) {
			x ^= x << 13;
			x ^= x >>> 17;
			x ^= x << 5;
			pos.push((x >>> 0) % region);
		}
		const buf = blockBytes(1, 1);
		const dst = new Uint8Array(BLOCK);
		const out: Record<string, number> = {};
		const rate = (t0: number) => Math.round(ops / ((performance.now() - t0) / 1000));

		// Raw sync access handle.
		const opfsRoot = await navigator.storage.getDirectory();
		await opfsRoot.removeEntry('vaio-bench', { recursive: true }).catch(() => undefined);
		const dir = await opfsRoot.getDirectoryHandle('vaio-bench', { create: true });
		const fh = (await dir.getFileHandle('raw.bin', { create: true })) as unknown as {
			createSyncAccessHandle(): Promise<{
				write(b: Uint8Array, o: { at: number }): number;
				read(b: Uint8Array, o: { at: number }): number;
				truncate(n: number): void;
				flush(): void;
				close(): void;
			}>;
		};
		const h = await fh.createSyncAccessHandle();
		h.truncate(region * BLOCK);
		const of = await OpfsStoreFactory.create({ root: 'vaio-bench-store', lock: false });
		await of.wipe();
		const os = await of.openBlockStore('bench', DISK_SECTORS);
		const best = (key: string, v: number) => (out[key] = Math.max(out[key] ?? 0, v));
		let t0 = performance.now();
		for (let i = 0; i < ops; i++) os.write(pos[i] * SPB, buf);
		out.opfsStoreFirstWrite = rate(t0);
		t0 = performance.now();
		os.flush();
		out.opfsStoreFlushMs = Math.round((performance.now() - t0) * 10) / 10;
		t0 = performance.now();
		for (let i = 0; i < ops; i++) h.write(buf, { at: pos[i] * BLOCK });
		out.rawFirstWrite = rate(t0);
		h.flush();
		// Alternate raw and store rounds; keep each one's best (the first rounds warm the JIT).
		for (let round = 0; round < 3; round++) {
			t0 = performance.now();
			for (let i = 0; i < ops; i++) h.write(buf, { at: pos[i] * BLOCK });
			best('rawWrite', rate(t0));
			t0 = performance.now();
			for (let i = 0; i < ops; i++) os.write(pos[i] * SPB, buf);
			best('opfsStoreWrite', rate(t0));
			t0 = performance.now();
			for (let i = 0; i < ops; i++) h.read(dst, { at: pos[i] * BLOCK });
			best('rawRead', rate(t0));
			t0 = performance.now();
			for (let i = 0; i < ops; i++) os.read(pos[i] * SPB, dst);
			best('opfsStoreRead', rate(t0));
		}
		h.close();
		out.opfsStoreFileBytes = os.fileBytes();
		await of.wipe();
		await of.release();

		// The IndexedDB store (write-back cache of 64 KiB chunks).
		const idf = await IdbStoreFactory.create({ dbName: 'vaio-bench', lock: false });
		await idf.wipe();
		const is = await idf.openBlockStore('bench', DISK_SECTORS);
		t0 = performance.now();
		for (let i = 0; i < ops; i++) {
			const p = is.write(pos[i] * SPB, buf);
			if (p) await p;
		}
		await is.flush();
		out.idbStoreWrite = rate(t0);
		t0 = performance.now();
		for (let i = 0; i < ops; i++) {
			const p = is.read(pos[i] * SPB, dst);
			if (p) await p;
		}
		out.idbStoreRead = rate(t0);
		await is.close();
		const cold = await idf.openBlockStore('bench', DISK_SECTORS);
		t0 = performance.now();
		for (let i = 0; i < ops; i++) {
			const p = cold.read(pos[i] * SPB, dst);
			if (p) await p;
		}
		out.idbStoreColdRead = rate(t0);
		await idf.wipe();
		await idf.release();
		await opfsRoot.removeEntry('vaio-bench', { recursive: true }).catch(() => undefined);
		return out;
	}
};

export type StoreChecksApi = typeof api;

Comlink.expose(api);
