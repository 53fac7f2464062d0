/**
 * A block store holds a virtual disk's (or an SSD cache device's, a replica's, a sidecar's) real
 * bytes. Addressing is in 512-byte sectors. Stores are thin: only written blocks cost space, and
 * a never-written sector reads as zeros (the initial content that verification expects).
 *
 * Every method may return a Promise (IndexedDB is asynchronous; OPFS sync handles and memory are
 * not). The engine awaits only when a Promise comes back, so synchronous stores run at full speed.
 */
export interface BlockStore {
	readonly kind: StoreKind;
	/** Capacity in sectors (a thin disk's size, not what it occupies). */
	readonly sectors: number;
	/** Reads `dst.length / 512` sectors starting at `sector` into `dst`. */
	read(sector: number, dst: Uint8Array): void | Promise<void>;
	/** Writes `src.length / 512` sectors starting at `sector`. */
	write(sector: number, src: Uint8Array): void | Promise<void>;
	/** Deallocates a range; it reads as zeros afterwards. */
	unmap(sector: number, count: number): void | Promise<void>;
	/** Makes written data durable (no-op for memory). */
	flush(): void | Promise<void>;
	/** Bytes actually allocated (thin provisioning). */
	allocatedBytes(): number;
	/** Grows the capacity (disk grow); never shrinks. */
	resize(sectors: number): void | Promise<void>;
	close(): void | Promise<void>;
}

export type StoreKind = 'memory' | 'file' | 'opfs' | 'idb';

/** A small key-value store for a filter's per-disk persistent state (the VAIO sidecar). */
export interface SidecarStore {
	get(key: string): Uint8Array | undefined | Promise<Uint8Array | undefined>;
	set(key: string, value: Uint8Array): void | Promise<void>;
	delete(key: string): void | Promise<void>;
	keys(): string[] | Promise<string[]>;
}

/** Opens stores by name; one factory per backend (memory, file, OPFS, IndexedDB). */
export interface StoreFactory {
	readonly kind: StoreKind;
	openBlockStore(name: string, sectors: number): BlockStore | Promise<BlockStore>;
	openSidecar(name: string): SidecarStore | Promise<SidecarStore>;
	/** Deletes every store this factory created under its root (the "reset" button). */
	wipe(): void | Promise<void>;
}
