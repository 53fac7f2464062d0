/**
 * Least recently used: one list, a hit moves the block to the tail, the victim is the first
 * evictable block from the head. Not scan resistant: a one-time sequential scan larger than the
 * cache pushes everything else out.
 */
import { BlockLists, VICTIM_SCAN_LIMIT, type CachePolicy } from './policy';

export class LruPolicy implements CachePolicy {
	readonly name = 'lru' as const;
	private readonly l: BlockLists;

	constructor(readonly capacity: number) {
		this.l = new BlockLists(capacity + 1, 1);
	}

	get size(): number {
		return this.l.len[0];
	}

	has(block: number): boolean {
		return this.l.index.has(block);
	}

	hit(block: number): void {
		const n = this.l.find(block);
		if (n >= 0) this.l.moveToTail(n, 0);
	}

	miss(): boolean {
		return true;
	}

	victim(_incoming: number, evictable: (block: number) => boolean): number {
		const n = this.l.scan(0, evictable, VICTIM_SCAN_LIMIT);
		return n < 0 ? -1 : this.l.block[n];
	}

	insert(block: number): void {
		if (!this.l.index.has(block)) this.l.add(0, block);
	}

	remove(block: number): void {
		const n = this.l.find(block);
		if (n >= 0) this.l.delete(n);
	}

	save(): Float64Array {
		return Float64Array.from(this.l.blocks(0));
	}

	load(data: Float64Array, resident: (block: number) => boolean): void {
		for (const b of data) if (this.size < this.capacity && resident(b) && !this.has(b)) this.l.add(0, b);
	}

	stats(): Record<string, number> {
		return {};
	}
}
