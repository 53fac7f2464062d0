/**
 * The physical block allocator of the dedup filter: it hands out 4 KiB blocks of the backing
 * store (the disk below). Like a log-structured allocator (VDO's slabs are filled in order), it
 * bumps a high-water mark through never-used blocks first, so unique data written in sequence
 * lands in consecutive physical blocks and sequential reads stay contiguous; released blocks go
 * on a free stack and are reused before the mark moves on.
 *
 * Blocks are never overwritten in place while referenced: a block is released only when its
 * reference count drops to zero (and, in the filter, only once the metadata that stopped
 * referencing it is persisted).
 */
export class PhysicalAllocator {
	/** Blocks below the high-water mark have been handed out at least once. */
	high = 0;
	/** Released blocks, reused last-in first-out. */
	private free: number[] = [];

	constructor(
		/** Physical capacity in 4 KiB blocks (the backing disk's size). */
		public capacity: number
	) {}

	/** A free block, or -1 when the physical space is exhausted. */
	allocate(): number {
		if (this.free.length > 0) return this.free.pop()!;
		if (this.high < this.capacity) return this.high++;
		return -1;
	}

	/** Returns a block to the free stack. */
	release(p: number): void {
		this.free.push(p);
	}

	/** Blocks that can be allocated now. */
	get freeBlocks(): number {
		return this.capacity - this.high + this.free.length;
	}

	/** Blocks handed out and not released. */
	get allocated(): number {
		return this.high - this.free.length;
	}

	/** Disk grow: more physical space (never shrinks). */
	grow(capacity: number): void {
		if (capacity > this.capacity) this.capacity = capacity;
	}

	/**
	 * Rebuilds the allocator after a reload: every block below `high` that `inUse` does not claim
	 * is free (the lowest is reused first).
	 */
	rebuild(high: number, inUse: (p: number) => boolean): void {
		this.high = Math.min(high, this.capacity);
		this.free = [];
		for (let p = this.high - 1; p >= 0; p--) if (!inUse(p)) this.free.push(p);
	}

	/** True when `p` is on the free stack (for invariant checks; linear). */
	isFree(p: number): boolean {
		return p >= this.high || this.free.includes(p);
	}
}
