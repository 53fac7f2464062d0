/**
 * A bitmap of 4 KiB blocks (changed-block tracking). One bit per block, a population count kept
 * up to date, and a scan for the next set bit that skips empty bytes.
 */
export class BlockBitmap {
	bits: Uint8Array;
	/** Set bits. */
	count = 0;

	constructor(public blocks: number) {
		this.bits = new Uint8Array(Math.ceil(blocks / 8));
	}

	get(b: number): boolean {
		return (this.bits[b >>> 3] & (1 << (b & 7))) !== 0;
	}

	/** Sets bit b; true when it was clear. */
	set(b: number): boolean {
		const i = b >>> 3;
		const m = 1 << (b & 7);
		const v = this.bits[i];
		if (v & m) return false;
		this.bits[i] = v | m;
		this.count++;
		return true;
	}

	/** Clears bit b; true when it was set. */
	clear(b: number): boolean {
		const i = b >>> 3;
		const m = 1 << (b & 7);
		const v = this.bits[i];
		if (!(v & m)) return false;
		this.bits[i] = v & ~m;
		this.count--;
		return true;
	}

	/** First set bit at or after `from` (no wrap), or -1. */
	nextSet(from: number): number {
		const n = this.blocks;
		let b = from;
		while (b < n) {
			const i = b >>> 3;
			const v = this.bits[i] >>> (b & 7);
			if (v === 0) {
				b = (i + 1) << 3;
				continue;
			}
			const found = b + (31 - Math.clz32(v & -v));
			return found < n ? found : -1;
		}
		return -1;
	}

	/** Grows to `blocks` (never shrinks). */
	resize(blocks: number): void {
		if (blocks <= this.blocks) return;
		const bits = new Uint8Array(Math.ceil(blocks / 8));
		bits.set(this.bits);
		this.bits = bits;
		this.blocks = blocks;
	}

	/** Recomputes `count` after the bytes were loaded from elsewhere. */
	recount(): void {
		let c = 0;
		const bits = this.bits;
		for (let i = 0; i < bits.length; i++) {
			let v = bits[i];
			while (v) {
				v &= v - 1;
				c++;
			}
		}
		this.count = c;
	}
}
