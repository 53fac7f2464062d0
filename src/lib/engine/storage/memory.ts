/**
 * In-memory stores. `MemoryBlockStore` is thin: 4 KiB blocks are allocated on first write and a
 * block never written reads as zeros. The blocks live in 1 MiB arenas, found through an IntMap
 * from block number to slot: one number per block instead of one buffer object per block, so a
 * store of a million blocks is a few hundred objects for the garbage collector. It is on the hot
 * path of the engine benchmark: the aligned single-block read and write are one table lookup and
 * one copy.
 */
import { BLOCK_BYTES, SECTOR_BYTES, SECTORS_PER_BLOCK } from '../io';
import { checkRange, sectorsOf, wholeBlocks } from './range';
import type { BlockStore, SidecarStore, StoreFactory } from './types';
import { IntMap } from '../intmap';
import { returnArenas, takeSpareArena } from './arena-pool';

/** Blocks per arena (1 MiB). */
const ARENA_SHIFT = 8;
const ARENA_BLOCKS = 1 << ARENA_SHIFT;
const ARENA_MASK = ARENA_BLOCKS - 1;

export class MemoryBlockStore implements BlockStore {
	readonly kind = 'memory' as const;
	private capacity: number;
	/** block number -> slot */
	private readonly slotOf = new IntMap<number>();
	private arenas: Uint8Array[] = [];
	/** Per arena: true when it came from the spare pool, so its never-used slots hold stale bytes. */
	private stale: boolean[] = [];
	/** Slots never used yet start here; slots of unmapped blocks are reused first. */
	private nextSlot = 0;
	private readonly freeSlots: number[] = [];
	/** Written blocks by 4 KiB block number (views into the arenas), read-only, for tests and debugging views; iterates in no particular order. */
	readonly blocks: ReadonlyMap<number, Uint8Array> = new BlockView(this.slotOf, (slot) => this.bytesOf(slot));

	constructor(sectors: number) {
		if (!Number.isSafeInteger(sectors) || sectors < 0) throw new RangeError(`bad capacity ${sectors}`);
		this.capacity = sectors;
	}

	get sectors(): number {
		return this.capacity;
	}

	/** The 4 KiB of a slot (a view into its arena). */
	private bytesOf(slot: number): Uint8Array {
		const off = (slot & ARENA_MASK) * BLOCK_BYTES;
		return this.arenas[slot >>> ARENA_SHIFT].subarray(off, off + BLOCK_BYTES);
	}

	/** A slot for a block written for the first time; zeroed when `zero` (a partial write). */
	private newSlot(block: number, zero: boolean): number {
		let slot: number;
		if (this.freeSlots.length > 0) {
			slot = this.freeSlots.pop()!;
			if (zero) this.bytesOf(slot).fill(0);
		} else {
			slot = this.nextSlot++;
			if ((slot & ARENA_MASK) === 0) {
				const spare = takeSpareArena();
				this.arenas.push(spare ?? new Uint8Array(ARENA_BLOCKS * BLOCK_BYTES));
				this.stale.push(spare !== undefined);
			}
			// A new arena is zero-filled; a reused one is not.
			if (zero && this.stale[slot >>> ARENA_SHIFT]) this.bytesOf(slot).fill(0);
		}
		this.slotOf.set(block, slot);
		return slot;
	}

	read(sector: number, dst: Uint8Array): void {
		// Fast path: one aligned 4 KiB block. `sector % 8 === 0` also rejects NaN and fractions.
		if (
			dst.length === BLOCK_BYTES &&
			sector % SECTORS_PER_BLOCK === 0 &&
			sector >= 0 &&
			sector + SECTORS_PER_BLOCK <= this.capacity
		) {
			const slot = this.slotOf.get(sector / SECTORS_PER_BLOCK);
			if (slot === undefined) dst.fill(0);
			else dst.set(this.bytesOf(slot));
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
			const slot = this.slotOf.get(block);
			if (slot === undefined) dst.fill(0, off, off + chunk);
			else dst.set(this.bytesOf(slot).subarray(inBlock, inBlock + chunk), off);
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
			let slot = this.slotOf.get(block);
			if (slot === undefined) slot = this.newSlot(block, false);
			this.arenas[slot >>> ARENA_SHIFT].set(src, (slot & ARENA_MASK) * BLOCK_BYTES);
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
			let slot = this.slotOf.get(block);
			if (slot === undefined) slot = this.newSlot(block, chunk < BLOCK_BYTES);
			const at = (slot & ARENA_MASK) * BLOCK_BYTES + inBlock;
			this.arenas[slot >>> ARENA_SHIFT].set(chunk === total ? src : src.subarray(off, off + chunk), at);
			off += chunk;
			s += chunk / SECTOR_BYTES;
		}
	}

	/** Forgets a block; its slot is reused by the next new block. */
	private drop(block: number): void {
		const slot = this.slotOf.get(block);
		if (slot === undefined) return;
		this.slotOf.delete(block);
		this.freeSlots.push(slot);
	}

	/**
	 * A block wholly inside the range is deleted (it stops costing space); a partly covered one
	 * has the covered sectors zeroed. The final block of a capacity that is not a multiple of
	 * 8 sectors counts as whole when the range covers its sectors up to the capacity.
	 */
	unmap(sector: number, count: number): void {
		checkRange('unmap', sector, count, this.capacity);
		if (count === 0 || this.slotOf.size === 0) return;
		const end = sector + count;
		const [firstWhole, endWhole] = wholeBlocks(sector, end, this.capacity);
		if (endWhole <= firstWhole) {
			// The range lies within one block, or within two adjacent partial blocks.
			this.zeroPartial(sector, end);
			return;
		}
		this.zeroPartial(sector, firstWhole * SECTORS_PER_BLOCK);
		this.zeroPartial(endWhole * SECTORS_PER_BLOCK, end);
		if (endWhole - firstWhole > this.slotOf.size) {
			// A large range over a sparse map (e.g. a whole-disk trim): walk the map instead.
			const inRange: number[] = [];
			this.slotOf.forEach((_slot, block) => {
				if (block >= firstWhole && block < endWhole) inRange.push(block);
			});
			for (const block of inRange) this.drop(block);
		} else {
			for (let block = firstWhole; block < endWhole; block++) this.drop(block);
		}
	}

	/** Zeroes sectors [from, to) that lie in written blocks (at most two blocks' worth). */
	private zeroPartial(from: number, to: number): void {
		let s = from;
		while (s < to) {
			const block = Math.floor(s / SECTORS_PER_BLOCK);
			const blockEnd = Math.min((block + 1) * SECTORS_PER_BLOCK, to);
			const slot = this.slotOf.get(block);
			if (slot !== undefined) {
				const base = block * SECTORS_PER_BLOCK;
				this.bytesOf(slot).fill(0, (s - base) * SECTOR_BYTES, (blockEnd - base) * SECTOR_BYTES);
			}
			s = blockEnd;
		}
	}

	flush(): void {}

	allocatedBytes(): number {
		return this.slotOf.size * BLOCK_BYTES;
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

	/**
	 * Forgets every block and gives the arenas to the spare pool for the next store (the factory's
	 * wipe). The store is empty afterwards, as if new.
	 */
	release(): void {
		returnArenas(this.arenas);
		this.arenas = [];
		this.stale = [];
		this.slotOf.clear();
		this.freeSlots.length = 0;
		this.nextSlot = 0;
	}
}

/** A read-only Map view of a store's blocks: block number -> its 4 KiB (a view into an arena). */
class BlockView implements ReadonlyMap<number, Uint8Array> {
	constructor(
		private readonly slotOf: IntMap<number>,
		private readonly bytesOf: (slot: number) => Uint8Array
	) {}

	get size(): number {
		return this.slotOf.size;
	}

	has(block: number): boolean {
		return this.slotOf.has(block);
	}

	get(block: number): Uint8Array | undefined {
		const slot = this.slotOf.get(block);
		return slot === undefined ? undefined : this.bytesOf(slot);
	}

	*keys(): MapIterator<number> {
		for (const [block] of this.slotOf.entries()) yield block;
	}

	*values(): MapIterator<Uint8Array> {
		for (const [, slot] of this.slotOf.entries()) yield this.bytesOf(slot);
	}

	*entries(): MapIterator<[number, Uint8Array]> {
		for (const [block, slot] of this.slotOf.entries()) yield [block, this.bytesOf(slot)];
	}

	[Symbol.iterator](): MapIterator<[number, Uint8Array]> {
		return this.entries();
	}

	forEach(fn: (value: Uint8Array, key: number, map: ReadonlyMap<number, Uint8Array>) => void): void {
		this.slotOf.forEach((slot, block) => fn(this.bytesOf(slot), block, this));
	}
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

	/**
	 * Forgets every store: opening a name afterwards gives a fresh, empty one. Their memory goes
	 * to the spare arena pool (wipe is called with every store closed).
	 */
	wipe(): void {
		for (const store of this.stores.values()) store.release();
		this.stores.clear();
		this.sidecars.clear();
	}
}
