/**
 * The cache's replacement policy interface, after Linux dm-cache-policy.h: the policy decides
 * (is a block resident, is it admitted, which block to evict), the filter moves the data (SSD
 * reads and writes, destage, population). A policy knows disk block numbers only; which SSD slot
 * holds a block, dirty state and in-flight I/O are the filter's business, which it expresses
 * through the `evictable` veto when it asks for a victim (dirty or busy blocks cannot go now).
 *
 * All policies keep their lists in typed arrays (BlockLists) so that the hot path allocates
 * nothing per access.
 */
import { IntMap } from '../../engine/intmap';

export interface CachePolicy {
	readonly name: PolicyName;
	/** Resident blocks the policy may hold. */
	readonly capacity: number;
	/** Resident blocks now. */
	readonly size: number;
	/** True when `block` is resident (no state change). */
	has(block: number): boolean;
	/** An access to a resident block: update recency / frequency. */
	hit(block: number): void;
	/**
	 * An access to a block that is not resident: the policy learns from it (ARC adapts on ghost
	 * hits) and says whether it would admit the block.
	 */
	miss(block: number): boolean;
	/**
	 * The resident block to evict so that `incoming` can be inserted, or -1 when every candidate
	 * is vetoed. Does not remove it (the filter calls remove(block, true) once it has freed the
	 * slot). May reorder internal queues, as a CLOCK hand does.
	 */
	victim(incoming: number, evictable: (block: number) => boolean): number;
	/** Makes a non-resident block resident (the caller guarantees size < capacity). */
	insert(block: number): void;
	/**
	 * Removes a resident block: `evicted` = a capacity eviction (history may remember it in a
	 * ghost list), otherwise an invalidation (the block's data changed elsewhere: forget it).
	 */
	remove(block: number, evicted: boolean): void;
	/** The policy's state (resident blocks in reload order, and its parameters) for the sidecar. */
	save(): Float64Array;
	/** Reloads what save() wrote; blocks for which `resident` is false are skipped. */
	load(data: Float64Array, resident: (block: number) => boolean): void;
	/** Policy-specific counters for the status panel. */
	stats(): Record<string, number>;
}

export type PolicyName = 'lru' | 'arc' | 's3fifo';
export const POLICY_NAMES: readonly PolicyName[] = ['lru', 'arc', 's3fifo'];

/** How many vetoed candidates a victim search skips before it gives up. */
export const VICTIM_SCAN_LIMIT = 256;

/**
 * Doubly linked lists of blocks in typed arrays, several lists sharing one node pool and one
 * block → node index. head = least recently inserted/used, tail = most recent.
 */
export class BlockLists {
	readonly block: Float64Array;
	readonly prev: Int32Array;
	readonly next: Int32Array;
	/** Which list a node is on (255 = free). */
	readonly list: Uint8Array;
	/** A small per-node counter (S3-FIFO's frequency). */
	readonly freq: Uint8Array;
	readonly head: Int32Array;
	readonly tail: Int32Array;
	readonly len: Int32Array;
	readonly index: IntMap;
	private readonly free: Int32Array;
	private freeTop: number;

	constructor(nodes: number, lists: number) {
		this.index = new IntMap(Math.min(nodes, 1 << 16));
		this.block = new Float64Array(nodes);
		this.prev = new Int32Array(nodes);
		this.next = new Int32Array(nodes);
		this.list = new Uint8Array(nodes).fill(255);
		this.freq = new Uint8Array(nodes);
		this.head = new Int32Array(lists).fill(-1);
		this.tail = new Int32Array(lists).fill(-1);
		this.len = new Int32Array(lists);
		this.free = new Int32Array(nodes);
		for (let i = 0; i < nodes; i++) this.free[i] = nodes - 1 - i;
		this.freeTop = nodes;
	}

	/** The node of `block`, or -1. */
	find(block: number): number {
		const n = this.index.get(block);
		return n === undefined ? -1 : n;
	}

	/** Adds `block` (not present) at the tail of list `l`. */
	add(l: number, block: number): number {
		if (this.freeTop === 0) throw new Error('cache policy: node pool exhausted');
		const n = this.free[--this.freeTop];
		this.block[n] = block;
		this.freq[n] = 0;
		this.index.set(block, n);
		this.link(n, l);
		return n;
	}

	/** Moves node n to the tail of list l (from whatever list it is on). */
	moveToTail(n: number, l: number): void {
		this.unlink(n);
		this.link(n, l);
	}

	/** Removes node n entirely. */
	delete(n: number): void {
		this.unlink(n);
		this.index.delete(this.block[n]);
		this.list[n] = 255;
		this.free[this.freeTop++] = n;
	}

	private link(n: number, l: number): void {
		const t = this.tail[l];
		this.prev[n] = t;
		this.next[n] = -1;
		if (t >= 0) this.next[t] = n;
		else this.head[l] = n;
		this.tail[l] = n;
		this.list[n] = l;
		this.len[l]++;
	}

	private unlink(n: number): void {
		const l = this.list[n];
		const p = this.prev[n];
		const x = this.next[n];
		if (p >= 0) this.next[p] = x;
		else this.head[l] = x;
		if (x >= 0) this.prev[x] = p;
		else this.tail[l] = p;
		this.len[l]--;
	}

	/** The blocks of list l, head to tail. */
	blocks(l: number): number[] {
		const out: number[] = [];
		for (let n = this.head[l]; n >= 0; n = this.next[n]) out.push(this.block[n]);
		return out;
	}

	/** First node from the head of list l whose block passes `ok`, within `limit` nodes; -1 if none. */
	scan(l: number, ok: (block: number) => boolean, limit: number): number {
		for (let n = this.head[l], k = 0; n >= 0 && k < limit; n = this.next[n], k++) if (ok(this.block[n])) return n;
		return -1;
	}
}
