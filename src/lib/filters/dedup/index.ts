/**
 * The dedup filter's fingerprint index (VDO's UDS index, in miniature): fingerprint -> the
 * physical block that last stored content with that fingerprint. It is advice, not truth: the
 * filter compares bytes before it shares a block, so a wrong or stale entry costs a read, never
 * data. One entry per fingerprint (a newer block with a colliding fingerprint replaces the
 * older one) and at most one fingerprint per physical block.
 *
 * The fingerprint is xxh64 of the 4 KiB block (xxhash-wasm, the hash the engine's trace digest
 * already loads), cut to 53 bits so it is a plain number and a fast Map key. A test hook replaces
 * the function to force collisions.
 *
 * The index may be bounded (`limit` entries): the oldest entry is evicted first, as a bounded
 * dedup index forgets old advice; a forgotten block is still valid data, it is just no longer
 * found by new writes.
 */
import xxhash from 'xxhash-wasm';
import { f64View } from './map';
import { IntMap } from '../../engine/intmap';

export type FingerprintFn = (block: Uint8Array) => number;

let h64Raw: ((input: Uint8Array, seed?: bigint) => bigint) | undefined;
let loading: Promise<void> | undefined;
let override: FingerprintFn | undefined;
const MASK53 = (1n << 53n) - 1n;

/** Loads the WebAssembly hash once; await before calling fingerprint(). */
export function loadFingerprint(): Promise<void> {
	loading ??= xxhash().then((api) => {
		h64Raw = api.h64Raw;
	});
	return loading;
}

/** The 53-bit fingerprint of a 4 KiB block. */
export function fingerprint(block: Uint8Array): number {
	if (override) return override(block);
	if (!h64Raw) throw new Error('dedup: loadFingerprint() was not awaited');
	return Number(h64Raw(block) & MASK53);
}

/** Test hook: replaces the fingerprint function (undefined restores xxh64). */
export function setFingerprintForTest(fn: FingerprintFn | undefined): void {
	override = fn;
}

export class FingerprintIndex {
	/** fingerprint -> physical block; insertion order = age (oldest first). */
	private readonly byFp = new Map<number, number>();
	/** physical block -> fingerprint, for the blocks the index points at (never iterated). */
	private readonly byPhys = new IntMap<number>();
	evictions = 0;

	constructor(public limit = 0) {}

	get size(): number {
		return this.byFp.size;
	}

	lookup(fp: number): number | undefined {
		return this.byFp.get(fp);
	}

	/** Records that `p` now holds content with fingerprint `fp` (replacing older advice). */
	insert(fp: number, p: number): void {
		const old = this.byFp.get(fp);
		if (old !== undefined) {
			this.byPhys.delete(old);
			this.byFp.delete(fp);
		}
		const oldFp = this.byPhys.get(p);
		if (oldFp !== undefined) this.byFp.delete(oldFp);
		this.byFp.set(fp, p);
		this.byPhys.set(p, fp);
		if (this.limit > 0)
			while (this.byFp.size > this.limit) {
				const [f, q] = this.byFp.entries().next().value as [number, number];
				this.byFp.delete(f);
				this.byPhys.delete(q);
				this.evictions++;
			}
	}

	/** Forgets the entry pointing at `p` (the block was freed or its write failed). */
	removePhys(p: number): void {
		const fp = this.byPhys.get(p);
		if (fp === undefined) return;
		this.byPhys.delete(p);
		if (this.byFp.get(fp) === p) this.byFp.delete(fp);
	}

	/** The fingerprint the index holds for `p`, if any. */
	fingerprintOf(p: number): number | undefined {
		return this.byPhys.get(p);
	}

	entries(): IterableIterator<[number, number]> {
		return this.byFp.entries();
	}

	/** [fingerprint, physical] pairs, oldest first; `keep` filters out entries. */
	encode(keep: (p: number) => boolean): Uint8Array {
		const out = new Float64Array(2 * this.byFp.size);
		let i = 0;
		for (const [fp, p] of this.byFp) {
			if (!keep(p)) continue;
			out[i++] = fp;
			out[i++] = p;
		}
		return new Uint8Array(out.buffer, 0, i * 8);
	}

	decode(bytes: Uint8Array, keep: (p: number) => boolean): void {
		this.byFp.clear();
		this.byPhys.clear();
		const a = f64View(bytes);
		for (let i = 0; i + 1 < a.length; i += 2) if (keep(a[i + 1])) this.insert(a[i], a[i + 1]);
	}
}
