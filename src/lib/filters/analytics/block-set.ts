/**
 * A set of 4 KiB block numbers as a paged bitmap: one bit per block, in pages of 32768 blocks
 * (128 MiB of disk, 4 KiB of bitmap) allocated on first touch. The analytics filter adds every
 * block of every I/O to its working set; a hash set of millions of numbers spends most of its
 * time growing and rehashing, a bitmap only sets a bit. Lists its blocks in ascending order.
 */
import { Pages } from '../../engine/pages';

const PAGE_BITS = 15;
const PAGE_BLOCKS = 1 << PAGE_BITS;
const PAGE_WORDS = PAGE_BLOCKS / 32;

/** Page number of block b: a shift while b fits 31 bits (a float division and floor cost more). */
function pageOf(b: number): number {
	return b < 2 ** 31 ? b >>> PAGE_BITS : Math.floor(b / PAGE_BLOCKS);
}

/** Set bits of a 32-bit integer. */
function popcount32(x: number): number {
	x -= (x >>> 1) & 0x55555555;
	x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
	x = (x + (x >>> 4)) & 0x0f0f0f0f;
	return Math.imul(x, 0x01010101) >>> 24;
}

export class BlockSet {
	private readonly pages = new Pages(() => new Int32Array(PAGE_WORDS));
	/** Distinct blocks added. */
	size = 0;

	/** Adds block b (a non-negative integer); true when it was not in the set. */
	add(b: number): boolean {
		const no = pageOf(b);
		const page = this.pages.touch(no);
		const i = b - no * PAGE_BLOCKS;
		const w = i >>> 5;
		const bit = 1 << (i & 31);
		const v = page[w];
		if (v & bit) return false;
		page[w] = v | bit;
		this.size++;
		return true;
	}

	/** Adds blocks first … end − 1, a 32-block word at a time (an I/O's blocks are a range). */
	addRange(first: number, end: number): void {
		for (let b = first; b < end; ) {
			const no = pageOf(b);
			const page = this.pages.touch(no);
			const base = no * PAGE_BLOCKS;
			const stop = Math.min(end, base + PAGE_BLOCKS) - base;
			for (let i = b - base; i < stop; ) {
				const w = i >>> 5;
				const lo = i & 31;
				const bits = Math.min(32 - lo, stop - i);
				const mask = bits === 32 ? -1 : ((1 << bits) - 1) << lo;
				const v = page[w];
				const fresh = mask & ~v;
				if (fresh !== 0) {
					page[w] = v | fresh;
					this.size += popcount32(fresh);
				}
				i += bits;
			}
			b = base + stop;
		}
	}

	has(b: number): boolean {
		const no = pageOf(b);
		const page = this.pages.get(no);
		if (!page) return false;
		const i = b - no * PAGE_BLOCKS;
		return (page[i >>> 5] & (1 << (i & 31))) !== 0;
	}

	/** Calls fn with every block, ascending: a plain loop, where a generator would resume once per block (the switch to a HyperLogLog passes a million). */
	forEach(fn: (b: number) => void): void {
		for (const no of this.pages.numbers()) {
			const page = this.pages.get(no)!;
			const base = no * PAGE_BLOCKS;
			for (let w = 0; w < PAGE_WORDS; w++) {
				let v = page[w];
				while (v !== 0) {
					const low = v & -v;
					fn(base + w * 32 + (31 - Math.clz32(low)));
					v ^= low;
				}
			}
		}
	}

	/** The blocks, ascending. */
	toArray(): Float64Array {
		const out = new Float64Array(this.size);
		let k = 0;
		this.forEach((b) => {
			out[k++] = b;
		});
		return out;
	}
}
