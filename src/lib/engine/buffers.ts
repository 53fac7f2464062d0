/**
 * I/O buffers carved from 1 MiB slabs. A new ArrayBuffer per 4 KiB I/O costs more than the rest
 * of the I/O's trip through a pass-through chain; a view into a slab costs a fraction of that,
 * and a slab is reclaimed by the garbage collector once every view into it is gone. Fresh slabs
 * are zero-filled, so a buffer starts as zeros.
 */
const SLAB_BYTES = 1 << 20;
const MAX_CARVED = 64 * 1024;

let slab = new ArrayBuffer(SLAB_BYTES);
let used = 0;

export function allocBuffer(bytes: number): Uint8Array {
	if (bytes > MAX_CARVED) return new Uint8Array(bytes);
	if (used + bytes > SLAB_BYTES) {
		slab = new ArrayBuffer(SLAB_BYTES);
		used = 0;
	}
	const view = new Uint8Array(slab, used, bytes);
	// Keep every buffer 8-byte aligned so word-wise views (verification, crypto) work.
	used += (bytes + 7) & ~7;
	return view;
}

// Buffers of the common 4 KiB size are recycled: the guest hands back a read buffer once it has
// verified the data, and a write buffer once the write is acknowledged (a filter that keeps a
// write's data longer copies it: the filter contract). Fresh memory costs page faults and
// garbage collection (in Chromium, writing fresh buffers to OPFS costs three times as much).
const pool4k: Uint8Array[] = [];
const POOL_MAX = 4096;

/** A buffer for data read from a device; returned with releaseReadBuffer after use. */
export function acquireReadBuffer(bytes: number): Uint8Array {
	if (bytes === 4096 && pool4k.length > 0) return pool4k.pop()!;
	return allocBuffer(bytes);
}

/** Gives back a buffer from acquireReadBuffer; nothing may use it afterwards. */
export function releaseReadBuffer(buf: Uint8Array): void {
	if (buf.length === 4096 && pool4k.length < POOL_MAX) pool4k.push(buf);
}

/** A buffer for a guest write's data, every byte of which the caller overwrites. */
export const acquireWriteBuffer = acquireReadBuffer;
/** Gives back a buffer from acquireWriteBuffer once the write is acknowledged. */
export const releaseWriteBuffer = releaseReadBuffer;

// A filter that completes a read with data of its own (zeros for never-written blocks, plaintext
// decrypted from a cache hit) may take that buffer from the pool too: lendReadBuffer records it,
// the chain notes it on the I/O it completes, and the guest gives it back with the device's
// buffer once it has checked the data. The lent buffers are remembered in a small ring, newest
// last: a read is completed soon after its buffer is lent, so the search from the newest ends at
// once (a WeakSet cost a hash-table insert and delete per read, and the collector's ephemeron
// work). A lent buffer never used for a completion, or used only after LENT_RING later loans,
// falls out of the ring and is simply collected instead of recycled.
const LENT_RING = 256;
const lentRing: (Uint8Array | undefined)[] = new Array(LENT_RING).fill(undefined);
let lentNext = 0;

/**
 * A pooled buffer for the data a filter completes a read with. Its bytes are unspecified (the
 * filter writes every one); the filter must not keep it once the read is completed with it.
 */
export function lendReadBuffer(bytes: number): Uint8Array {
	const b = acquireReadBuffer(bytes);
	lentRing[lentNext] = b;
	lentNext = (lentNext + 1) & (LENT_RING - 1);
	return b;
}

/** True (once) when `buf` came from lendReadBuffer: the caller now owns it for recycling. */
export function reclaimLent(buf: Uint8Array): boolean {
	for (let k = 1; k <= LENT_RING; k++) {
		const i = (lentNext - k) & (LENT_RING - 1);
		if (lentRing[i] === buf) {
			lentRing[i] = undefined;
			return true;
		}
	}
	return false;
}
