/**
 * In-memory stores. `MemoryBlockStore` is thin: a Map from 4 KiB block number to the block's
 * bytes, allocated on first write; a block never written reads as zeros. It is on the hot path of
 * the engine benchmark, so the aligned single-block read and write are one Map lookup and one
 * copy, with no allocation except a new block on its first write.
 */
import { BLOCK_BYTES, SECTOR_BYTES, SECTORS_PER_BLOCK } from '../io';
import { checkRange, sectorsOf, wholeBlocks } from './range';
import { allocBuffer } from '../buffers';
import type { BlockStore, SidecarStore, StoreFactory } from './types';

export class MemoryBlockStore implements BlockStore {
	readonly kind = 'memory' as const;
	/** Written blocks by 4 KiB block number. Exposed read-only for tests and debugging views. */
	readonly blocks = new Map<number, Uint8Array>();
	private capacity: number;

	constructor(sectors: number) {
		if (!Number.isSafeInteger(sectors) || sectors < 0) throw new RangeError(`bad capacity ${sectors}`);
		this.capacity = sectors;
	}

	get sectors(): number {
		return this.capacity;
	}

	read(sector: number, dst: Uint8Array): void {
		// Fast path: one aligned 4 KiB block. `sector % 8 === 0` also rejects NaN and fractions.
		if (
			dst.length === BLOCK_BYTES &&
			sector % SECTORS_PER_BLOCK === 0 &&
			sector >= 0 &&
			sector + SECTORS_PER_BLOCK <= this.capacity
		) {
			const b = this.blocks.get(sector / SECTORS_PER_BLOCK);
			if (b === undefined) dst.fill(0);
			else dst.set(b);
			return;
		}
		const n = sectorsOf('read', dst);
		checkRange('read', sector, n, this.capacity);
		const total = dst.length;
		let off = 0;
		let s = sector;
		while (off < total) {
			const block = Math.floor(s / SECTORS_PER_BLOCK);
			const inBlock = (s - block * SECTORS_PER_BLOCK) * SECTOR_BYTES;
			const chunk = Math.min(BLOCK_BYTES - inBlock, total - off);
			const b = this.blocks.get(block);
			if (b === undefined) dst.fill(0, off, off + chunk);
			else dst.set(b.subarray(inBlock, inBlock + chunk), off);
			off += chunk;
			s += chunk / SECTOR_BYTES;
		}
	}

	write(sector: number, src: Uint8Array): void {
		if (
			src.length === BLOCK_BYTES &&
			sector % SECTORS_PER_BLOCK === 0 &&
			sector >= 0 &&
			sector + SECTORS_PER_BLOCK <= this.capacity
		) {
			const block = sector / SECTORS_PER_BLOCK;
			let b = this.blocks.get(block);
			if (b === undefined) {
				b = allocBuffer(BLOCK_BYTES);
				this.blocks.set(block, b);
			}
			b.set(src);
			return;
		}
		const n = sectorsOf('write', src);
		checkRange('write', sector, n, this.capacity);
		const total = src.length;
		let off = 0;
		let s = sector;
		while (off < total) {
			const block = Math.floor(s / SECTORS_PER_BLOCK);
			const inBlock = (s - block * SECTORS_PER_BLOCK) * SECTOR_BYTES;
			const chunk = Math.min(BLOCK_BYTES - inBlock, total - off);
			let b = this.blocks.get(block);
			if (b === undefined) {
				b = allocBuffer(BLOCK_BYTES);
				this.blocks.set(block, b);
			}
			b.set(chunk === total ? src : src.subarray(off, off + chunk), inBlock);
			off += chunk;
			s += chunk / SECTOR_BYTES;
		}
	}

	/**
	 * A block wholly inside the range is deleted (it stops costing space); a partly covered one
	 * has the covered sectors zeroed. The final block of a capacity that is not a multiple of
	 * 8 sectors counts as whole when the range covers its sectors up to the capacity.
	 */
	unmap(sector: number, count: number): void {
		checkRange('unmap', sector, count, this.capacity);
		if (count === 0 || this.blocks.size === 0) return;
		const end = sector + count;
		const [firstWhole, endWhole] = wholeBlocks(sector, end, this.capacity);
		if (endWhole <= firstWhole) {
			// The range lies within one block, or within two adjacent partial blocks.
			this.zeroPartial(sector, end);
			return;
		}
		this.zeroPartial(sector, firstWhole * SECTORS_PER_BLOCK);
		this.zeroPartial(endWhole * SECTORS_PER_BLOCK, end);
		if (endWhole - firstWhole > this.blocks.size) {
			// A large range over a sparse map (e.g. a whole-disk trim): walk the map instead.
			for (const block of this.blocks.keys()) {
				if (block >= firstWhole && block < endWhole) this.blocks.delete(block);
			}
		} else {
			for (let block = firstWhole; block < endWhole; block++) this.blocks.delete(block);
		}
	}

	/** Zeroes sectors [from, to) that lie in written blocks (at most two blocks' worth). */
	private zeroPartial(from: number, to: number): void {
		let s = from;
		while (s < to) {
			const block = Math.floor(s / SECTORS_PER_BLOCK);
			const blockEnd = Math.min((block + 1) * SECTORS_PER_BLOCK, to);
			const b = this.blocks.get(block);
			if (b !== undefined) {
				const base = block * SECTORS_PER_BLOCK;
				b.fill(0, (s - base) * SECTOR_BYTES, (blockEnd - base) * SECTOR_BYTES);
			}
			s = blockEnd;
		}
	}

	flush(): void {}

	allocatedBytes(): number {
		return this.blocks.size * BLOCK_BYTES;
	}

	/** Grows the capacity; a smaller capacity throws RangeError (a store never shrinks). */
	resize(sectors: number): void {
		if (!Number.isSafeInteger(sectors) || sectors < this.capacity) {
			throw new RangeError(`resize: ${sectors} sectors; a store only grows (now ${this.capacity})`);
		}
		this.capacity = sectors;
	}

	/** Nothing to release; the bytes stay (the factory hands the same store out again). */
	close(): void {}
}

/** A sidecar in memory. Values are copied in and out; `keys()` is sorted. */
export class MemorySidecarStore implements SidecarStore {
	private readonly values = new Map<string, Uint8Array>();

	get(key: string): Uint8Array | undefined {
		const v = this.values.get(key);
		return v === undefined ? undefined : v.slice();
	}

	set(key: string, value: Uint8Array): void {
		// A value of the same size is overwritten in place (get() hands out copies, so nobody else
		// holds the stored bytes): a bitmap page rewritten on every write costs no allocation.
		const old = this.values.get(key);
		if (old !== undefined && old.length === value.length) old.set(value);
		else this.values.set(key, new Uint8Array(value));
	}

	delete(key: string): void {
		this.values.delete(key);
	}

	keys(): string[] {
		return [...this.values.keys()].sort();
	}
}

/**
 * Keeps stores by name, so opening a name again returns the same store and bytes (how tests
 * simulate a restart). Reopening with a larger capacity grows the store; a smaller one keeps
 * the existing capacity.
 */
export class MemoryStoreFactory implements StoreFactory {
	readonly kind = 'memory' as const;
	private readonly stores = new Map<string, MemoryBlockStore>();
	private readonly sidecars = new Map<string, MemorySidecarStore>();

	openBlockStore(name: string, sectors: number): MemoryBlockStore {
		let store = this.stores.get(name);
		if (store === undefined) {
			store = new MemoryBlockStore(sectors);
			this.stores.set(name, store);
		} else if (sectors > store.sectors) {
			store.resize(sectors);
		}
		return store;
	}

	openSidecar(name: string): MemorySidecarStore {
		let sidecar = this.sidecars.get(name);
		if (sidecar === undefined) {
			sidecar = new MemorySidecarStore();
			this.sidecars.set(name, sidecar);
		}
		return sidecar;
	}

	/** Names of the block stores this factory holds, sorted. */
	blockStoreNames(): string[] {
		return [...this.stores.keys()].sort();
	}

	/** Forgets every store: opening a name afterwards gives a fresh, empty one. */
	wipe(): void {
		this.stores.clear();
		this.sidecars.clear();
	}
}
