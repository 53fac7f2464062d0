/**
 * IndexedDB stores (through idb-keyval): the fallback where OPFS sync access handles are missing,
 * and selectable everywhere. One database (default "vaio") with two object stores:
 *   blocks:   `${name}:${chunkIndex}` → Uint8Array of 64 KiB (16 blocks), only for chunks ever
 *             written (thin); `${name}:m` → the store's manifest { v: 1, sectors }
 *   sidecars: `${sidecar}:${key}` → Uint8Array
 * In keys, a store's or sidecar's name has `%` and `:` escaped, so `${name}:` is a prefix no other
 * name shares and a store's keys are the range [`${name}:`, `${name};`).
 *
 * Speed: one IndexedDB write costs ≈ 1.5 ms whatever its size up to tens of KiB, so 4 KiB I/Os go
 * to a write-back cache of chunks inside the store: reads and writes of cached chunks (and of
 * chunks never written) are synchronous; a miss on a stored chunk fetches it (async). Dirty
 * chunks are written by flush() in ONE transaction (puts, deletions and the manifest together,
 * as setMany does), and automatically when more than `dirtyChunks` are dirty (that write's
 * Promise then waits for it: back-pressure). A read after a write sees it, flushed or not.
 *
 * Durability: the IndexedDB transaction is atomic, so a crash (tab closed) loses at most what was
 * written since the last completed flush, and never leaves a chunk half-written.
 *
 * Ordering: operations apply in the order they are called. While one waits for a fetch, later
 * ones queue behind it (their fetches start at once, in parallel).
 */
import { get, del, promisifyRequest, set, type UseStore } from 'idb-keyval';
import { SECTOR_BYTES } from '../io';
import { estimate, fullMessage, isQuotaError, StoreFullError, StoreLockedError, StoreUnavailableError } from './errors';
import { takeLock } from './locks';
import { escapeKeyPart } from './names';
import { checkRange, sectorsOf } from './range';
import type { BlockStore, SidecarStore, StoreFactory } from './types';

export const CHUNK_BYTES = 64 * 1024;
const CHUNK_SECTORS = CHUNK_BYTES / SECTOR_BYTES;
const BLOCKS = 'blocks';
const SIDECARS = 'sidecars';

interface Chunk {
	data: Uint8Array;
	/** Bumped on every change; `saved` is the version last written to IndexedDB. */
	version: number;
	saved: number;
}

interface Manifest {
	v: 1;
	sectors: number;
}

export interface IdbStoreOptions {
	/** Chunks kept in memory per store (clean ones are evicted first-in first-out). Default 256 (16 MiB). */
	cacheChunks?: number;
	/** Dirty chunks that trigger an automatic flush. Default 64 (4 MiB). */
	dirtyChunks?: number;
}

/** The key range of everything under `prefix:`. */
function prefixRange(prefix: string): IDBKeyRange {
	return IDBKeyRange.bound(`${prefix}:`, `${prefix};`, false, true);
}

async function fullError(e: unknown, what: string): Promise<unknown> {
	if (!isQuotaError(e)) return e;
	const est = await estimate();
	return new StoreFullError(fullMessage(what, est?.usage, est?.quota), est?.usage, est?.quota);
}

export class IdbBlockStore implements BlockStore {
	readonly kind = 'idb' as const;
	private capacity: number;
	private readonly cache = new Map<number, Chunk>();
	private lastTouched = -1;
	/** Chunks that exist (stored, or created since and not yet flushed). */
	private readonly exists: Set<number>;
	private readonly dirty = new Set<number>();
	private readonly pendingDeletes = new Set<number>();
	private readonly loading = new Map<number, Promise<void>>();
	/** Bumped whenever a chunk is deleted: a fetch that started before must not insert stale bytes. */
	private deletions = 0;
	private manifestDirty: boolean;
	/** Data operations waiting in the queue; while > 0, new operations queue too (order). */
	private waiting = 0;
	private tail: Promise<void> = Promise.resolve();
	private closing: Promise<void> | undefined;
	private isClosed = false;
	private readonly cacheChunks: number;
	private readonly dirtyChunks: number;

	private constructor(
		readonly name: string,
		private readonly prefix: string,
		private readonly blocks: UseStore,
		sectors: number,
		existing: Set<number>,
		manifest: Manifest | undefined,
		options: IdbStoreOptions,
		private readonly onClosed?: (s: IdbBlockStore) => void
	) {
		this.capacity = Math.max(sectors, manifest?.sectors ?? 0);
		this.exists = existing;
		this.manifestDirty = manifest === undefined || this.capacity !== manifest.sectors;
		this.cacheChunks = Math.max(4, options.cacheChunks ?? 256);
		this.dirtyChunks = Math.max(1, Math.min(options.dirtyChunks ?? 64, this.cacheChunks - 2));
	}

	/** Opens (or creates) the store `name` in the object store behind `blocks`. */
	static async open(
		name: string,
		blocks: UseStore,
		sectors: number,
		options: IdbStoreOptions = {},
		onClosed?: (s: IdbBlockStore) => void
	): Promise<IdbBlockStore> {
		if (!Number.isSafeInteger(sectors) || sectors < 0) throw new RangeError(`bad capacity ${sectors}`);
		const prefix = escapeKeyPart(name);
		const [manifest, keys] = await blocks('readonly', (os) =>
			Promise.all([
				promisifyRequest(os.get(`${prefix}:m`)) as Promise<Manifest | undefined>,
				promisifyRequest(os.getAllKeys(prefixRange(prefix)))
			])
		);
		const existing = new Set<number>();
		const start = prefix.length + 1;
		for (const k of keys) {
			const rest = String(k).slice(start);
			if (/^\d+$/.test(rest)) existing.add(Number(rest));
		}
		return new IdbBlockStore(name, prefix, blocks, sectors, existing, manifest, options, onClosed);
	}

	get sectors(): number {
		return this.capacity;
	}

	get closed(): boolean {
		return this.isClosed || this.closing !== undefined;
	}

	private live(what: string): void {
		if (this.isClosed || this.closing) throw new Error(`${what}: disk "${this.name}" is closed`);
	}

	private key(ci: number): string {
		return `${this.prefix}:${ci}`;
	}

	// ---- operations ----

	read(sector: number, dst: Uint8Array): void | Promise<void> {
		this.live('read');
		const n = sectorsOf('read', dst);
		checkRange('read', sector, n, this.capacity);
		if (n === 0) return;
		if (this.waiting === 0) {
			const ci = Math.floor(sector / CHUNK_SECTORS);
			if (sector + n <= (ci + 1) * CHUNK_SECTORS) {
				// Within one chunk (the common case): no allocation.
				const chunk = this.cache.get(ci);
				if (chunk !== undefined) {
					const off = (sector - ci * CHUNK_SECTORS) * SECTOR_BYTES;
					dst.set(chunk.data.subarray(off, off + dst.length));
					this.touch(ci, chunk);
					return;
				}
				if (!this.exists.has(ci)) {
					dst.fill(0);
					return;
				}
			} else if (this.missing(sector, n, false).length === 0) {
				this.readCached(sector, dst);
				return;
			}
		}
		return this.enqueue(
			() => this.missing(sector, n, false),
			() => this.readCached(sector, dst)
		);
	}

	write(sector: number, src: Uint8Array): void | Promise<void> {
		this.live('write');
		const n = sectorsOf('write', src);
		checkRange('write', sector, n, this.capacity);
		if (n === 0) return;
		if (this.waiting === 0) {
			const ci = Math.floor(sector / CHUNK_SECTORS);
			if (sector + n <= (ci + 1) * CHUNK_SECTORS) {
				let chunk = this.cache.get(ci);
				if (chunk === undefined && !this.exists.has(ci)) chunk = this.create(ci);
				if (chunk !== undefined) {
					chunk.data.set(src, (sector - ci * CHUNK_SECTORS) * SECTOR_BYTES);
					chunk.version++;
					this.dirty.add(ci);
					this.touch(ci, chunk);
					return this.afterChange();
				}
			}
			if (this.missing(sector, n, true).length === 0) {
				this.writeCached(sector, src);
				return this.afterChange();
			}
		}
		// The caller may reuse `src` once we return: keep a copy for later.
		const copy = src.slice();
		return this.enqueue(
			() => this.missing(sector, n, true),
			() => this.writeCached(sector, copy)
		).then(() => this.afterChange());
	}

	/**
	 * Whole chunks in the range are deleted; partly covered ones have the sectors zeroed (and are
	 * deleted if nothing else is left in them). The capacity's partial last chunk counts as
	 * whole when the range reaches the capacity.
	 */
	unmap(sector: number, count: number): void | Promise<void> {
		this.live('unmap');
		checkRange('unmap', sector, count, this.capacity);
		if (count === 0 || this.exists.size === 0) return;
		const need = () => this.unmapNeeds(sector, count);
		if (this.waiting === 0 && need().length === 0) {
			this.unmapCached(sector, count);
			return this.afterChange();
		}
		return this.enqueue(need, () => this.unmapCached(sector, count)).then(() => this.afterChange());
	}

	/** Writes every dirty chunk, deletion and the manifest in one transaction (after queued operations). */
	flush(): Promise<void> {
		if (this.isClosed) return Promise.reject(new Error(`flush: disk "${this.name}" is closed`));
		return this.flushQueued();
	}

	private flushQueued(): Promise<void> {
		const p = this.tail.then(() => this.writeBack());
		this.tail = p.catch(() => undefined);
		return p;
	}

	/** 64 KiB per stored chunk (what IndexedDB holds for this store, give or take its overhead). */
	allocatedBytes(): number {
		return this.exists.size * CHUNK_BYTES;
	}

	resize(sectors: number): void {
		this.live('resize');
		if (!Number.isSafeInteger(sectors) || sectors < this.capacity) {
			throw new RangeError(`resize: ${sectors} sectors; a store only grows (now ${this.capacity})`);
		}
		if (sectors === this.capacity) return;
		this.capacity = sectors;
		this.manifestDirty = true;
	}

	/** Flushes and drops the cache; idempotent. A failed flush rejects, but the store is closed. */
	close(): Promise<void> {
		if (this.closing) return this.closing;
		if (this.isClosed) return Promise.resolve();
		this.closing = (async () => {
			try {
				await this.flushQueued();
			} finally {
				this.isClosed = true;
				this.cache.clear();
				this.dirty.clear();
				this.onClosed?.(this);
			}
		})();
		return this.closing;
	}

	/** Drops everything unflushed and closes (the factory's wipe). */
	discard(): void {
		this.isClosed = true;
		this.closing ??= Promise.resolve();
		this.cache.clear();
		this.dirty.clear();
		this.pendingDeletes.clear();
		this.onClosed?.(this);
	}

	/** Chunks in memory, dirty chunks (for tests and debugging views). */
	cacheStats(): { cached: number; dirty: number; stored: number } {
		return { cached: this.cache.size, dirty: this.dirty.size, stored: this.exists.size };
	}

	// ---- internals ----

	private touch(ci: number, chunk: Chunk): void {
		if (this.lastTouched === ci) return;
		this.cache.delete(ci);
		this.cache.set(ci, chunk);
		this.lastTouched = ci;
	}

	private create(ci: number): Chunk {
		const chunk: Chunk = { data: new Uint8Array(CHUNK_BYTES), version: 0, saved: -1 };
		this.cache.set(ci, chunk);
		this.lastTouched = ci;
		this.exists.add(ci);
		this.pendingDeletes.delete(ci);
		this.dirty.add(ci);
		return chunk;
	}

	private deleteChunk(ci: number): void {
		if (!this.exists.has(ci) && !this.cache.has(ci)) return;
		this.cache.delete(ci);
		this.dirty.delete(ci);
		this.exists.delete(ci);
		this.pendingDeletes.add(ci);
		this.deletions++;
		if (this.lastTouched === ci) this.lastTouched = -1;
	}

	/** Stored chunks the range touches that are not in memory (for a write: unless wholly overwritten). */
	private missing(sector: number, n: number, write: boolean): number[] {
		const out: number[] = [];
		const first = Math.floor(sector / CHUNK_SECTORS);
		const last = Math.floor((sector + n - 1) / CHUNK_SECTORS);
		const consider = (ci: number) => {
			if (!this.exists.has(ci) || this.cache.has(ci)) return;
			if (write && sector <= ci * CHUNK_SECTORS && sector + n >= (ci + 1) * CHUNK_SECTORS) return;
			out.push(ci);
		};
		if (last - first + 1 > this.exists.size) {
			for (const ci of this.exists) if (ci >= first && ci <= last) consider(ci);
		} else {
			for (let ci = first; ci <= last; ci++) consider(ci);
		}
		return out;
	}

	private readCached(sector: number, dst: Uint8Array): void {
		const total = dst.length;
		let off = 0;
		let s = sector;
		while (off < total) {
			const ci = Math.floor(s / CHUNK_SECTORS);
			const inChunk = (s - ci * CHUNK_SECTORS) * SECTOR_BYTES;
			const len = Math.min(CHUNK_BYTES - inChunk, total - off);
			const chunk = this.cache.get(ci);
			if (chunk === undefined) dst.fill(0, off, off + len);
			else dst.set(chunk.data.subarray(inChunk, inChunk + len), off);
			off += len;
			s += len / SECTOR_BYTES;
		}
	}

	private writeCached(sector: number, src: Uint8Array): void {
		const total = src.length;
		let off = 0;
		let s = sector;
		while (off < total) {
			const ci = Math.floor(s / CHUNK_SECTORS);
			const inChunk = (s - ci * CHUNK_SECTORS) * SECTOR_BYTES;
			const len = Math.min(CHUNK_BYTES - inChunk, total - off);
			let chunk = this.cache.get(ci);
			if (chunk === undefined) {
				// Never written, or wholly overwritten now (`missing` fetched every other case).
				chunk = this.create(ci);
			}
			chunk.data.set(src.subarray(off, off + len), inChunk);
			chunk.version++;
			this.dirty.add(ci);
			this.touch(ci, chunk);
			off += len;
			s += len / SECTOR_BYTES;
		}
	}

	/** Whole chunks of an unmap range: [first, end) chunk indexes. */
	private wholeChunks(sector: number, count: number): [number, number] {
		const end = sector + count;
		const first = Math.ceil(sector / CHUNK_SECTORS);
		let last = Math.floor(end / CHUNK_SECTORS);
		if (end === this.capacity) last = Math.ceil(end / CHUNK_SECTORS);
		return [first, Math.max(first, last)];
	}

	/** The partly covered chunks of an unmap that are stored but not in memory. */
	private unmapNeeds(sector: number, count: number): number[] {
		const [first, end] = this.wholeChunks(sector, count);
		const out: number[] = [];
		const partial = (ci: number) => {
			if ((ci < first || ci >= end) && this.exists.has(ci) && !this.cache.has(ci) && !out.includes(ci)) out.push(ci);
		};
		partial(Math.floor(sector / CHUNK_SECTORS));
		partial(Math.floor((sector + count - 1) / CHUNK_SECTORS));
		return out;
	}

	private unmapCached(sector: number, count: number): void {
		const end = sector + count;
		const [first, last] = this.wholeChunks(sector, count);
		if (last - first > this.exists.size) {
			for (const ci of [...this.exists]) if (ci >= first && ci < last) this.deleteChunk(ci);
		} else {
			for (let ci = first; ci < last; ci++) this.deleteChunk(ci);
		}
		// The partial chunks at either end.
		for (const ci of new Set([Math.floor(sector / CHUNK_SECTORS), Math.floor((end - 1) / CHUNK_SECTORS)])) {
			if (ci >= first && ci < last) continue;
			const chunk = this.cache.get(ci);
			if (chunk === undefined) continue; // never written
			const base = ci * CHUNK_SECTORS;
			const from = Math.max(sector, base);
			const to = Math.min(end, base + CHUNK_SECTORS);
			chunk.data.fill(0, (from - base) * SECTOR_BYTES, (to - base) * SECTOR_BYTES);
			chunk.version++;
			this.dirty.add(ci);
			if (isAllZero(chunk.data)) this.deleteChunk(ci);
		}
	}

	/** Runs `op` in call order once every chunk `need()` lists is in memory. */
	private enqueue(need: () => number[], op: () => void): Promise<void> {
		this.waiting++;
		for (const ci of need()) void this.fetch(ci).catch(() => undefined); // start fetches now
		const p = this.tail.then(async () => {
			for (;;) {
				const m = need();
				if (m.length === 0) {
					op();
					return;
				}
				await Promise.all(m.map((ci) => this.fetch(ci)));
			}
		});
		const done = p.finally(() => {
			this.waiting--;
		});
		this.tail = done.catch(() => undefined);
		return done;
	}

	private fetch(ci: number): Promise<void> {
		let p = this.loading.get(ci);
		if (p) return p;
		const deletions = this.deletions;
		p = get<Uint8Array>(this.key(ci), this.blocks)
			.then((data) => {
				if (this.cache.has(ci) || !this.exists.has(ci) || this.deletions !== deletions || this.isClosed) return;
				const chunk: Chunk = { data: data ?? new Uint8Array(CHUNK_BYTES), version: 0, saved: 0 };
				this.cache.set(ci, chunk);
			})
			.finally(() => {
				this.loading.delete(ci);
			});
		this.loading.set(ci, p);
		return p;
	}

	/** After a change: flush when too much is dirty (the caller waits), evict clean chunks when too many. */
	private afterChange(): void | Promise<void> {
		if (this.dirty.size > this.dirtyChunks) return this.flushQueued();
		if (this.cache.size > this.cacheChunks) this.evict();
	}

	/** Evicts clean chunks, least recently used first, down to 3/4 of the cache size. */
	private evict(): void {
		const target = Math.floor((this.cacheChunks * 3) / 4);
		for (const [ci, chunk] of this.cache) {
			if (this.cache.size <= target) break;
			if (!this.dirty.has(ci) && chunk.version === chunk.saved) {
				this.cache.delete(ci);
				if (this.lastTouched === ci) this.lastTouched = -1;
			}
		}
	}

	private async writeBack(): Promise<void> {
		if (this.isClosed) return;
		const puts: [number, Chunk, number][] = [];
		for (const ci of this.dirty) {
			const chunk = this.cache.get(ci);
			if (chunk) puts.push([ci, chunk, chunk.version]);
		}
		const deletes = [...this.pendingDeletes];
		this.pendingDeletes.clear();
		const manifest: Manifest | undefined = this.manifestDirty ? { v: 1, sectors: this.capacity } : undefined;
		this.manifestDirty = false;
		if (puts.length === 0 && deletes.length === 0 && !manifest) return;
		try {
			await this.blocks('readwrite', (os) => {
				for (const ci of deletes) os.delete(this.key(ci));
				for (const [ci, chunk] of puts) {
					// put() clones now: later writes to the chunk bump its version and stay dirty.
					if (this.cache.get(ci) === chunk) os.put(chunk.data, this.key(ci));
				}
				if (manifest) os.put(manifest, `${this.prefix}:m`);
				return promisifyRequest(os.transaction);
			});
		} catch (e) {
			for (const ci of deletes) if (!this.exists.has(ci)) this.pendingDeletes.add(ci);
			if (manifest) this.manifestDirty = true;
			throw await fullError(e, `writing ${puts.length} chunks of the disk "${this.name}" to IndexedDB was refused`);
		}
		for (const [ci, chunk, version] of puts) {
			if (chunk.version === version) {
				chunk.saved = version;
				if (this.cache.get(ci) === chunk) this.dirty.delete(ci);
			}
		}
		if (this.cache.size > this.cacheChunks) this.evict();
	}
}

function isAllZero(data: Uint8Array): boolean {
	const words = new Int32Array(data.buffer, data.byteOffset, data.length >> 2);
	for (let i = 0; i < words.length; i++) if (words[i] !== 0) return false;
	return true;
}

/** A sidecar in the sidecars object store: one record per key. Values are copied in and out. */
export class IdbSidecarStore implements SidecarStore {
	private readonly prefix: string;
	constructor(
		readonly name: string,
		private readonly store: UseStore
	) {
		this.prefix = escapeKeyPart(name);
	}

	async get(key: string): Promise<Uint8Array | undefined> {
		const v = await get<Uint8Array>(`${this.prefix}:${key}`, this.store);
		return v === undefined ? undefined : new Uint8Array(v);
	}

	async set(key: string, value: Uint8Array): Promise<void> {
		try {
			await set(`${this.prefix}:${key}`, value.slice(), this.store);
		} catch (e) {
			throw await fullError(e, `saving ${value.length} bytes under "${key}" in the sidecar "${this.name}" was refused`);
		}
	}

	async delete(key: string): Promise<void> {
		await del(`${this.prefix}:${key}`, this.store);
	}

	async keys(): Promise<string[]> {
		const keys = await this.store('readonly', (os) => promisifyRequest(os.getAllKeys(prefixRange(this.prefix))));
		const start = this.prefix.length + 1;
		return keys.map((k) => String(k).slice(start)).sort();
	}
}

export interface IdbFactoryOptions extends IdbStoreOptions {
	/** Database name (default "vaio"). */
	dbName?: string;
	/** Take the Web Lock `vaio-store-idb:<dbName>` for the factory's lifetime (default true). */
	lock?: boolean;
}

/** True where IndexedDB exists. */
export function idbAvailable(): boolean {
	return typeof (globalThis as { indexedDB?: unknown }).indexedDB === 'object' && globalThis.indexedDB !== null;
}

/** Opens the database with both object stores, upgrading it if one is missing. */
async function openDatabase(name: string): Promise<IDBDatabase> {
	const open = (version?: number) => {
		const req = version === undefined ? indexedDB.open(name) : indexedDB.open(name, version);
		req.onupgradeneeded = () => {
			const db = req.result;
			for (const s of [BLOCKS, SIDECARS]) if (!db.objectStoreNames.contains(s)) db.createObjectStore(s);
		};
		return promisifyRequest(req);
	};
	let db = await open();
	if (!db.objectStoreNames.contains(BLOCKS) || !db.objectStoreNames.contains(SIDECARS)) {
		const version = db.version + 1;
		db.close();
		db = await open(version);
	}
	// Another context deleting or upgrading the database: let it (our next operation fails loudly).
	db.onversionchange = () => db.close();
	return db;
}

function useStore(db: IDBDatabase, storeName: string): UseStore {
	return (mode, callback) => Promise.resolve().then(() => callback(db.transaction(storeName, mode).objectStore(storeName)));
}

/**
 * Opens IndexedDB stores in one database. Create it with `IdbStoreFactory.create()` (in the
 * engine's Worker or a page); it holds a Web Lock on the database until `release()`, so a second
 * tab gets a clear error. Opening a name that is open returns the same store.
 */
export class IdbStoreFactory implements StoreFactory {
	readonly kind = 'idb' as const;
	private readonly openStores = new Map<string, IdbBlockStore>();
	private readonly opening = new Map<string, Promise<IdbBlockStore>>();
	private readonly blocks: UseStore;
	private readonly sidecars: UseStore;
	private released = false;

	private constructor(
		readonly dbName: string,
		private readonly db: IDBDatabase,
		private readonly options: IdbStoreOptions,
		private releaseLock: (() => void) | undefined
	) {
		this.blocks = useStore(db, BLOCKS);
		this.sidecars = useStore(db, SIDECARS);
	}

	static async create(options: IdbFactoryOptions = {}): Promise<IdbStoreFactory> {
		const dbName = options.dbName ?? 'vaio';
		if (!idbAvailable()) throw new StoreUnavailableError('IndexedDB is not available in this browser context');
		let release: (() => void) | undefined;
		if (options.lock !== false) {
			release = await takeLock(`vaio-store-idb:${dbName}`);
			if (!release) {
				throw new StoreLockedError(
					`the playground's disks (IndexedDB "${dbName}") are open in another tab: close that tab, or continue there`
				);
			}
		}
		try {
			const db = await openDatabase(dbName);
			return new IdbStoreFactory(dbName, db, options, release);
		} catch (e) {
			release?.();
			throw e;
		}
	}

	openBlockStore(name: string, sectors: number): Promise<IdbBlockStore> {
		if (this.released) return Promise.reject(new Error('the IndexedDB store factory was released'));
		const open = this.openStores.get(name);
		if (open && !open.closed) {
			if (sectors > open.sectors) open.resize(sectors);
			return Promise.resolve(open);
		}
		const pending = this.opening.get(name);
		if (pending) {
			return pending.then((s) => {
				if (sectors > s.sectors) s.resize(sectors);
				return s;
			});
		}
		const p = IdbBlockStore.open(name, this.blocks, sectors, this.options, (s) => {
			if (this.openStores.get(name) === s) this.openStores.delete(name);
		})
			.then((s) => {
				this.openStores.set(name, s);
				return s;
			})
			.finally(() => this.opening.delete(name));
		this.opening.set(name, p);
		return p;
	}

	openSidecar(name: string): IdbSidecarStore {
		return new IdbSidecarStore(name, this.sidecars);
	}

	/** Flushes every open store (see OpfsStoreFactory.flushAll). */
	async flushAll(): Promise<void> {
		await Promise.allSettled([...this.opening.values()]);
		await Promise.all([...this.openStores.values()].filter((s) => !s.closed).map((s) => s.flush()));
	}

	/** Flushes and closes every open store. */
	async closeAll(): Promise<void> {
		await Promise.allSettled([...this.opening.values()]);
		const results = await Promise.allSettled([...this.openStores.values()].map((s) => s.close()));
		this.openStores.clear();
		const failed = results.find((r) => r.status === 'rejected');
		if (failed) throw (failed as PromiseRejectedResult).reason;
	}

	/** Drops every open store's unflushed data and clears both object stores. */
	async wipe(): Promise<void> {
		await Promise.allSettled([...this.opening.values()]);
		for (const s of [...this.openStores.values()]) s.discard();
		this.openStores.clear();
		const tx = this.db.transaction([BLOCKS, SIDECARS], 'readwrite');
		tx.objectStore(BLOCKS).clear();
		tx.objectStore(SIDECARS).clear();
		await promisifyRequest(tx);
	}

	/** Closes every store, the database connection, and releases the Web Lock. */
	async release(): Promise<void> {
		if (this.released) return;
		this.released = true;
		try {
			await this.closeAll();
		} finally {
			this.db.close();
			this.releaseLock?.();
			this.releaseLock = undefined;
		}
	}
}
