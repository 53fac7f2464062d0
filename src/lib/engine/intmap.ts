/**
 * A hash map from non-negative integer keys (block numbers, up to 2^53) to values: keys in a
 * typed array, values in a plain one, open addressing with linear probing and backward-shift
 * deletion (no tombstones).
 *
 * Why not a Map: the hot maps of a run (a cache's block → slot map, its policy's index, the
 * guest's blocks in flight) see an insert and a delete per I/O. A Map re-allocates its table
 * every few thousand of those, which with millions of entries is most of a timing-only run's
 * garbage; this table is allocated once per doubling and never otherwise.
 */
const EMPTY = -1;

export class IntMap<V = number> {
	private keys: Float64Array;
	private vals: (V | undefined)[];
	private mask: number;
	/** Number of entries. */
	size = 0;

	/** `expected`: the number of entries it should hold without growing. */
	constructor(expected = 16) {
		let cap = 16;
		while (cap < expected * 2) cap *= 2;
		this.keys = new Float64Array(cap).fill(EMPTY);
		this.vals = new Array<V | undefined>(cap).fill(undefined);
		this.mask = cap - 1;
	}

	private slotOf(key: number): number {
		// Mix the low and high 32 bits (keys may exceed 2^32), then Fibonacci hashing.
		const h = Math.imul((key | 0) ^ ((key / 4294967296) | 0), 0x9e3779b1);
		return (h ^ (h >>> 15)) & this.mask;
	}

	/** The value of `key`, or undefined (as a Map answers, so call sites read the same). */
	get(key: number): V | undefined {
		const keys = this.keys;
		const mask = this.mask;
		for (let i = this.slotOf(key); ; i = (i + 1) & mask) {
			const k = keys[i];
			if (k === key) return this.vals[i];
			if (k === EMPTY) return undefined;
		}
	}

	has(key: number): boolean {
		const keys = this.keys;
		const mask = this.mask;
		for (let i = this.slotOf(key); ; i = (i + 1) & mask) {
			const k = keys[i];
			if (k === key) return true;
			if (k === EMPTY) return false;
		}
	}

	set(key: number, value: V): void {
		if (!(key >= 0 && key <= Number.MAX_SAFE_INTEGER && Math.floor(key) === key)) throw new RangeError(`IntMap key must be a non-negative integer, got ${key}`);
		const keys = this.keys;
		const mask = this.mask;
		for (let i = this.slotOf(key); ; i = (i + 1) & mask) {
			const k = keys[i];
			if (k === key) {
				this.vals[i] = value;
				return;
			}
			if (k === EMPTY) {
				keys[i] = key;
				this.vals[i] = value;
				if (++this.size * 2 > keys.length) this.grow();
				return;
			}
		}
	}

	/** Removes `key`; returns whether it was there. */
	delete(key: number): boolean {
		const keys = this.keys;
		const vals = this.vals;
		const mask = this.mask;
		let i = this.slotOf(key);
		for (; ; i = (i + 1) & mask) {
			const k = keys[i];
			if (k === key) break;
			if (k === EMPTY) return false;
		}
		// Backward-shift: move later entries of the probe run into the hole, so lookups never
		// stop early at it.
		let hole = i;
		for (let j = (i + 1) & mask; ; j = (j + 1) & mask) {
			const k = keys[j];
			if (k === EMPTY) break;
			const home = this.slotOf(k);
			// Entry j may move to the hole when its home is not cyclically in (hole, j].
			if (((j - home) & mask) >= ((j - hole) & mask)) {
				keys[hole] = k;
				vals[hole] = vals[j];
				hole = j;
			}
		}
		keys[hole] = EMPTY;
		vals[hole] = undefined;
		this.size--;
		return true;
	}

	clear(): void {
		this.keys.fill(EMPTY);
		this.vals.fill(undefined);
		this.size = 0;
	}

	/** Calls fn for every entry (in table order, which is not insertion order). */
	forEach(fn: (value: V, key: number) => void): void {
		const keys = this.keys;
		for (let i = 0; i < keys.length; i++) if (keys[i] !== EMPTY) fn(this.vals[i] as V, keys[i]);
	}

	/** The entries (in table order, which is not insertion order). */
	*entries(): Generator<[number, V]> {
		const keys = this.keys;
		for (let i = 0; i < keys.length; i++) if (keys[i] !== EMPTY) yield [keys[i], this.vals[i] as V];
	}

	private grow(): void {
		const oldKeys = this.keys;
		const oldVals = this.vals;
		const cap = oldKeys.length * 2;
		this.keys = new Float64Array(cap).fill(EMPTY);
		this.vals = new Array<V | undefined>(cap).fill(undefined);
		this.mask = cap - 1;
		this.size = 0;
		for (let i = 0; i < oldKeys.length; i++) if (oldKeys[i] !== EMPTY) this.set(oldKeys[i], oldVals[i] as V);
	}
}
