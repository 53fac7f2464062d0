/**
 * ARC, the Adaptive Replacement Cache (Megiddo & Modha, FAST 2003). Resident blocks live in T1
 * (seen once recently) or T2 (seen at least twice); ghost lists B1 and B2 remember blocks
 * evicted from each. A miss that hits B1 says "recency was undervalued" and grows the target
 * size p of T1; a hit in B2 shrinks it. The victim comes from T1 when |T1| exceeds p (or equals
 * it and the incoming block is a B2 ghost), else from T2. A one-time scan only ever passes
 * through T1, so the frequently used blocks in T2 survive it: ARC is scan resistant.
 *
 * Mapping onto the decide/act interface: the filter asks for a victim, frees its slot and calls
 * remove(victim, true), which moves it to its ghost list; then insert(x) puts x in T2 when it
 * was a ghost and in T1 otherwise, and trims the ghosts so that |T1|+|B1| ≤ c and the total
 * ≤ 2c (the paper's case IV bookkeeping). When the preferred list has no evictable block the
 * other list is tried.
 */
import { BlockLists, VICTIM_SCAN_LIMIT, type CachePolicy } from './policy';

const T1 = 0;
const T2 = 1;
const B1 = 2;
const B2 = 3;

export class ArcPolicy implements CachePolicy {
	readonly name = 'arc' as const;
	private readonly l: BlockLists;
	/** Target size of T1. */
	p = 0;
	ghostHits = 0;

	constructor(readonly capacity: number) {
		this.l = new BlockLists(2 * capacity + 2, 4);
	}

	get size(): number {
		return this.l.len[T1] + this.l.len[T2];
	}

	has(block: number): boolean {
		const n = this.l.find(block);
		return n >= 0 && this.l.list[n] <= T2;
	}

	hit(block: number): void {
		const n = this.l.find(block);
		if (n >= 0 && this.l.list[n] <= T2) this.l.moveToTail(n, T2);
	}

	miss(block: number): boolean {
		const l = this.l;
		const n = l.find(block);
		if (n < 0) return true;
		const c = this.capacity;
		if (l.list[n] === B1) {
			this.ghostHits++;
			this.p = Math.min(c, this.p + Math.max(1, l.len[B2] / l.len[B1]));
		} else if (l.list[n] === B2) {
			this.ghostHits++;
			this.p = Math.max(0, this.p - Math.max(1, l.len[B1] / l.len[B2]));
		}
		return true;
	}

	victim(incoming: number, evictable: (block: number) => boolean): number {
		const l = this.l;
		const n = l.find(incoming);
		const inB2 = n >= 0 && l.list[n] === B2;
		const t1 = l.len[T1];
		const fromT1 = t1 > 0 && (t1 > this.p || (inB2 && t1 >= Math.floor(this.p)));
		const first = fromT1 ? T1 : T2;
		let v = l.scan(first, evictable, VICTIM_SCAN_LIMIT);
		if (v < 0) v = l.scan(first === T1 ? T2 : T1, evictable, VICTIM_SCAN_LIMIT);
		return v < 0 ? -1 : l.block[v];
	}

	insert(block: number): void {
		const l = this.l;
		const n = l.find(block);
		if (n >= 0) {
			if (l.list[n] <= T2) return;
			l.moveToTail(n, T2);
		} else l.add(T1, block);
		this.trim();
	}

	remove(block: number, evicted: boolean): void {
		const l = this.l;
		const n = l.find(block);
		if (n < 0 || l.list[n] > T2) return;
		if (evicted) {
			l.moveToTail(n, l.list[n] === T1 ? B1 : B2);
			this.trim();
		} else l.delete(n);
	}

	/** Keeps |T1| + |B1| ≤ c and |T1|+|T2|+|B1|+|B2| ≤ 2c by dropping the oldest ghosts. */
	private trim(): void {
		const l = this.l;
		const c = this.capacity;
		while (l.len[T1] + l.len[B1] > c && l.len[B1] > 0) l.delete(l.head[B1]);
		while (l.len[T1] + l.len[T2] + l.len[B1] + l.len[B2] > 2 * c) {
			if (l.len[B2] > 0) l.delete(l.head[B2]);
			else if (l.len[B1] > 0) l.delete(l.head[B1]);
			else break;
		}
	}

	/** [p, |T1|, T1 blocks oldest first, T2 blocks oldest first]. Ghosts are not kept. */
	save(): Float64Array {
		const t1 = this.l.blocks(T1);
		const t2 = this.l.blocks(T2);
		const out = new Float64Array(2 + t1.length + t2.length);
		out[0] = this.p;
		out[1] = t1.length;
		out.set(t1, 2);
		out.set(t2, 2 + t1.length);
		return out;
	}

	load(data: Float64Array, resident: (block: number) => boolean): void {
		if (data.length < 2) return;
		this.p = Math.min(this.capacity, Math.max(0, data[0] || 0));
		const t1 = data[1];
		for (let i = 2; i < data.length; i++) {
			const b = data[i];
			if (this.size >= this.capacity || !resident(b) || this.l.find(b) >= 0) continue;
			this.l.add(i - 2 < t1 ? T1 : T2, b);
		}
	}

	stats(): Record<string, number> {
		const l = this.l;
		return { arcP: Math.round(this.p * 100) / 100, arcT1: l.len[T1], arcT2: l.len[T2], arcB1: l.len[B1], arcB2: l.len[B2], arcGhostHits: this.ghostHits };
	}
}
