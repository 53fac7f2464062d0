/**
 * Which acknowledged write each block of a disk holds last, so that a loss can be told in writes
 * as well as in blocks: a write is lost when a block it was the last to write comes back without
 * it. Fed by the guest on every acknowledged write (Guest.onWriteAck).
 */
import { SECTORS_PER_BLOCK } from '../io';

export class WriteLedger {
	/** block -> id of the last acknowledged write that touched it. */
	private readonly last = new Map<number, number>();
	/** Acknowledged writes so far. */
	acked = 0;

	readonly record = (lba: number, sectors: number, ioId: number): void => {
		this.acked++;
		const end = lba + sectors;
		for (let b = Math.floor(lba / SECTORS_PER_BLOCK); b * SECTORS_PER_BLOCK < end; b++) this.last.set(b, ioId);
	};

	/** The id of the last acknowledged write of a block, if any. */
	lastWrite(block: number): number | undefined {
		return this.last.get(block);
	}

	/** The distinct acknowledged writes whose data the given blocks held last (sorted ids). */
	writesOf(blocks: Iterable<number>): number[] {
		const ids = new Set<number>();
		for (const b of blocks) {
			const id = this.last.get(b);
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

	/** Copies another ledger's state (a clone, a failback). */
	assign(other: WriteLedger): void {
		this.last.clear();
		for (const [b, id] of other.last) this.last.set(b, id);
	}
}
