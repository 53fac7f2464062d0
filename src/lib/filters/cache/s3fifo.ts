/**
 * S3-FIFO (Yang et al., "FIFO queues are all you need for cache eviction", SOSP 2023): a small
 * FIFO S (10 % of the cache) admits new blocks, a main FIFO M holds blocks that proved useful, a
 * ghost FIFO G remembers blocks recently evicted from S. Each resident block has a 2-bit access
 * counter. Evicting from S: a block hit at least `promoteHits` times since insertion moves to M,
 * else it leaves (into G). The default is 2, libCacheSim's `move-to-main-threshold=2`: a block
 * hit once in S (one re-reference soon after a scan touched it) is not yet proof of reuse.
 * Evicting from M: a block with a non-zero counter is decremented and reinserted (a CLOCK pass),
 * else it leaves. A miss that finds the block in G inserts it straight into M. One-hit wonders
 * (a sequential scan) only pass through S, so M keeps the working set: scan resistant.
 *
 * Filling an empty cache (as the reference implementation in libCacheSim does, unlike the paper's
 * first version): once S holds its 10 %, new blocks go to M until the first eviction. Otherwise S
 * would take the whole cache while it fills and keep it, since each miss then evicts from S and
 * inserts into S, and only promotions shrink it.
 */
import { BlockLists, VICTIM_SCAN_LIMIT, type CachePolicy } from './policy';

/** libCacheSim's S3FIFO `move-to-main-threshold` default. */
export const S3_PROMOTE_HITS_DEFAULT = 2;

const S = 0;
const M = 1;
const G = 2;

export class S3FifoPolicy implements CachePolicy {
	readonly name = 's3fifo' as const;
	private readonly l: BlockLists;
	private readonly smallTarget: number;
	private readonly ghostCap: number;
	ghostHits = 0;
	promotions = 0;
	/** Whether anything was evicted yet (until then, S stops growing at its target). */
	private evicted = false;

	/**
	 * @param promoteHits hits in S that move a block to M when S evicts it (1..3: the counter
	 *   saturates at 3).
	 */
	constructor(
		readonly capacity: number,
		readonly promoteHits = S3_PROMOTE_HITS_DEFAULT
	) {
		if (!Number.isInteger(promoteHits) || promoteHits < 1 || promoteHits > 3) throw new RangeError(`promoteHits ${promoteHits}: 1..3`);
		this.smallTarget = Math.max(1, Math.round(capacity * 0.1));
		this.ghostCap = capacity;
		this.l = new BlockLists(capacity + this.ghostCap + 2, 3);
	}

	get size(): number {
		return this.l.len[S] + this.l.len[M];
	}

	has(block: number): boolean {
		const n = this.l.find(block);
		return n >= 0 && this.l.list[n] !== G;
	}

	hit(block: number): void {
		const n = this.l.find(block);
		if (n >= 0 && this.l.list[n] !== G && this.l.freq[n] < 3) this.l.freq[n]++;
	}

	miss(block: number): boolean {
		if (this.l.find(block) >= 0) this.ghostHits++;
		return true;
	}

	victim(_incoming: number, evictable: (block: number) => boolean): number {
		const l = this.l;
		this.evicted = true;
		let v: number;
		if (l.len[S] >= this.smallTarget || l.len[M] === 0) {
			v = this.fromSmall(evictable);
			if (v < 0) v = this.fromMain(evictable);
		} else {
			v = this.fromMain(evictable);
			if (v < 0) v = this.fromSmall(evictable);
		}
		return v < 0 ? -1 : l.block[v];
	}

	private fromSmall(ok: (block: number) => boolean): number {
		const l = this.l;
		let skipped = 0;
		for (let n = l.head[S]; n >= 0 && skipped < VICTIM_SCAN_LIMIT; ) {
			const next = l.next[n];
			if (l.freq[n] >= this.promoteHits) {
				l.freq[n] = 0;
				l.moveToTail(n, M);
				this.promotions++;
			} else if (ok(l.block[n])) return n;
			else skipped++;
			n = next;
		}
		return -1;
	}

	private fromMain(ok: (block: number) => boolean): number {
		const l = this.l;
		let skipped = 0;
		const maxSteps = 4 * l.len[M] + VICTIM_SCAN_LIMIT;
		for (let n = l.head[M], steps = 0; n >= 0 && skipped < VICTIM_SCAN_LIMIT && steps < maxSteps; steps++) {
			const next = l.next[n];
			if (l.freq[n] > 0) {
				l.freq[n]--;
				l.moveToTail(n, M);
				n = next >= 0 ? next : l.head[M];
				continue;
			}
			if (ok(l.block[n])) return n;
			skipped++;
			n = next;
		}
		return -1;
	}

	insert(block: number): void {
		const l = this.l;
		const n = l.find(block);
		if (n >= 0) {
			if (l.list[n] !== G) return;
			l.delete(n);
			l.add(M, block);
		} else l.add(!this.evicted && l.len[S] >= this.smallTarget ? M : S, block);
	}

	remove(block: number, evicted: boolean): void {
		const l = this.l;
		const n = l.find(block);
		if (n < 0 || l.list[n] === G) return;
		if (evicted && l.list[n] === S) {
			l.moveToTail(n, G);
			while (l.len[G] > this.ghostCap) l.delete(l.head[G]);
		} else l.delete(n);
	}

	/** [|S|, S blocks oldest first, M blocks oldest first]. Counters and ghosts are not kept. */
	save(): Float64Array {
		const s = this.l.blocks(S);
		const m = this.l.blocks(M);
		const out = new Float64Array(1 + s.length + m.length);
		out[0] = s.length;
		out.set(s, 1);
		out.set(m, 1 + s.length);
		return out;
	}

	load(data: Float64Array, resident: (block: number) => boolean): void {
		if (data.length < 1) return;
		const s = data[0];
		for (let i = 1; i < data.length; i++) {
			const b = data[i];
			if (this.size >= this.capacity || !resident(b) || this.l.find(b) >= 0) continue;
			this.l.add(i - 1 < s ? S : M, b);
		}
	}

	stats(): Record<string, number> {
		const l = this.l;
		return { s3Small: l.len[S], s3Main: l.len[M], s3Ghost: l.len[G], s3GhostHits: this.ghostHits, s3Promotions: this.promotions };
	}
}
