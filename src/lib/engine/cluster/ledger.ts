/**
 * Which acknowledged write each block of a disk holds last, so that a loss can be told in writes
 * as well as in blocks: a write is lost when a block it was the last to write comes back without
 * it. Fed by the guest on every acknowledged write (Guest.onWriteAck), so it is on the hot path:
 * pages of 1024 blocks in typed arrays, allocated on first touch, the last page cached.
 */
import { SECTORS_PER_BLOCK } from '../io';
import { Pages } from '../pages';

const PAGE_BITS = 10;
const PAGE = 1 << PAGE_BITS;

export class WriteLedger {
	/** page -> id of the last acknowledged write of each of its blocks (0 = none). */
	private readonly pages = new Pages(() => new Float64Array(PAGE));
	/** Acknowledged writes so far. */
	acked = 0;

	readonly record = (lba: number, sectors: number, ioId: number): void => {
		this.acked++;
		const end = lba + sectors;
		for (let b = Math.floor(lba / SECTORS_PER_BLOCK); b * SECTORS_PER_BLOCK < end; b++) {
			this.pages.touch(b >>> PAGE_BITS)[b & (PAGE - 1)] = ioId;
		}
	};

	/** The id of the last acknowledged write of a block, if any. */
	lastWrite(block: number): number | undefined {
		const id = this.pages.get(block >>> PAGE_BITS)?.[block & (PAGE - 1)];
		return id ? id : undefined;
	}

	/** The distinct acknowledged writes whose data the given blocks held last (sorted ids). */
	writesOf(blocks: Iterable<number>): number[] {
		const ids = new Set<number>();
		for (const b of blocks) {
			const id = this.lastWrite(b);
			if (id !== undefined) ids.add(id);
		}
		return [...ids].sort((a, b) => a - b);
	}

	copy(): WriteLedger {
		const l = new WriteLedger();
		l.assign(this);
		l.acked = this.acked;
		return l;
	}

	/** Copies another ledger's state (a clone, a failback, a revert). */
	assign(other: WriteLedger): void {
		this.pages.assign(other.pages, (p) => p.slice());
	}
}
