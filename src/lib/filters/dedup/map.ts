/**
 * The dedup filter's logical-to-physical block map and the physical blocks' reference counts.
 * A logical 4 KiB block that is absent from the map was never written (or was unmapped, or held
 * only zeros): it reads as zeros and costs no physical block. Each mapping holds one reference on
 * its physical block; a block whose count drops to zero is free.
 *
 * Both are Maps keyed by block number, so memory follows the blocks written, not the disk's size
 * (a 20 GiB thin disk costs nothing until written). The reference counts are not persisted: they
 * are rebuilt from the map on reload, as a recovery rebuild does.
 */
export class BlockMap {
	/** logical block -> physical block */
	readonly l2p = new Map<number, number>();
	/** physical block -> references (mappings plus transient holds by in-progress writes) */
	readonly refs = new Map<number, number>();

	get(logical: number): number | undefined {
		return this.l2p.get(logical);
	}

	/** Takes a reference on `p`. */
	ref(p: number): void {
		this.refs.set(p, (this.refs.get(p) ?? 0) + 1);
	}

	/** Drops a reference on `p`; returns true when that was the last one (the block is free). */
	unref(p: number): boolean {
		const n = this.refs.get(p);
		if (n === undefined) throw new Error(`dedup: unref of unreferenced physical block ${p}`);
		if (n <= 1) {
			this.refs.delete(p);
			return true;
		}
		this.refs.set(p, n - 1);
		return false;
	}

	refCount(p: number): number {
		return this.refs.get(p) ?? 0;
	}

	/**
	 * Points `logical` at `p` (undefined = unmapped), taking a reference on `p` first, and returns
	 * the previous physical block (whose reference the caller must drop), or -1.
	 */
	remap(logical: number, p: number | undefined): number {
		const old = this.l2p.get(logical);
		if (p === undefined) this.l2p.delete(logical);
		else {
			this.ref(p);
			this.l2p.set(logical, p);
		}
		return old === undefined ? -1 : old;
	}

	/** Serialises mappings as [logical, physical] pairs (Float64: block numbers exceed 2^32). */
	encode(override?: Map<number, number>): Uint8Array {
		const out = new Float64Array(2 * this.l2p.size + 2 * (override?.size ?? 0));
		let i = 0;
		for (const [l, p] of this.l2p) {
			if (override?.has(l)) continue;
			out[i++] = l;
			out[i++] = p;
		}
		if (override)
			for (const [l, p] of override) {
				if (p < 0) continue;
				out[i++] = l;
				out[i++] = p;
			}
		return new Uint8Array(out.buffer, 0, i * 8);
	}

	/** Loads mappings written by encode() and rebuilds the reference counts. */
	decode(bytes: Uint8Array): void {
		this.l2p.clear();
		this.refs.clear();
		const a = f64View(bytes);
		for (let i = 0; i + 1 < a.length; i += 2) {
			this.l2p.set(a[i], a[i + 1]);
			this.ref(a[i + 1]);
		}
	}
}

/** A Float64Array over `bytes` (copied when unaligned). */
export function f64View(bytes: Uint8Array): Float64Array {
	if (bytes.byteOffset % 8 === 0) return new Float64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >>> 3);
	return new Float64Array(bytes.slice().buffer, 0, bytes.byteLength >>> 3);
}
