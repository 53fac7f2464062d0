/**
 * Spare 1 MiB arenas of memory stores that were wiped, for the next memory store to reuse.
 *
 * Why: a fresh arena's pages are mapped by the kernel on first touch, one page fault (and a
 * kernel zeroing) per 4 KiB, and the arena is freed only when the garbage collector finds it.
 * A playground that runs scenario after scenario, each writing hundreds of MiB, paid that on
 * every run. A reused arena is already mapped; it is not zeroed either: a store zeroes a reused
 * block only when a write covers part of it (a whole-block write overwrites it).
 *
 * The pool keeps at most SPARE_ARENAS_MAX arenas; beyond that, wiped arenas are left to the
 * garbage collector as before. A program that stops using memory stores (the page's worker when
 * the disks move to OPFS or IndexedDB) drops the pool.
 */

/** Arenas the pool keeps at most (1 MiB each). */
export const SPARE_ARENAS_MAX = 256;

const spare: Uint8Array[] = [];

/** An arena from the pool (its bytes are stale: not zeroed), or undefined when it is empty. */
export function takeSpareArena(): Uint8Array | undefined {
	return spare.pop();
}

/** Gives arenas back (their owner forgets them); returns how many the pool kept. */
export function returnArenas(arenas: readonly Uint8Array[]): number {
	let kept = 0;
	for (const a of arenas) {
		if (spare.length >= SPARE_ARENAS_MAX) break;
		spare.push(a);
		kept++;
	}
	return kept;
}

/** Arenas in the pool now. */
export function spareArenaCount(): number {
	return spare.length;
}

/** Lets the garbage collector have every spare arena (no memory store will need them soon). */
export function dropSpareArenas(): void {
	spare.length = 0;
}
