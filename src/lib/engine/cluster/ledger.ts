/**
 * Which acknowledged write each block of a disk holds last, so that a loss can be told in writes
 * as well as in blocks: a write is lost when a block it was the last to write comes back without
 * it. Fed by the guest on every acknowledged write (Guest.onWriteAck), so it is on the hot path:
 * one IntMap from block to write id. (Pages of 1024 blocks cost 8 KiB per page that a random
 * write touched first: tens of MiB of fresh memory over a large disk, for one number per write.)
 */
import { SECTORS_PER_BLOCK } from '../io';
import { IntMap } from '../intmap';

export class WriteLedger {
	/** block -> id of the last acknowledged write of that block (0 = none). */
	private ids = new IntMap<number>();
	/** Acknowledged writes so far. */
	acked = 0;

	readonly record = (lba: number, sectors: number, ioId: number): void => {
		this.acked++;
		const end = lba + sectors;
		for (let b = Math.floor(lba / SECTORS_PER_BLOCK); b * SECTORS_PER_BLOCK < end; b++) {
			this.ids.set(b, ioId);
		}
	};

	/** The id of the last acknowledged write of a block, if any. */
	lastWrite(block: number): number | undefined {
		const id = this.ids.get(block);
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
		const ids = new IntMap<number>(other.ids.size);
		other.ids.forEach((id, b) => ids.set(b, id));
		this.ids = ids;
	}
}
