/**
 * What travels over the replication link: journal entries (one per guest write or unmap, in
 * write order), resync data (changed blocks read back from the source), consistency points, and
 * the markers that bracket a resynchronisation. Entries are numbered twice: `seq` is the write's
 * place in the source's write order, `no` its place in the link's stream (acks are cumulative).
 */
import { SECTORS_PER_BLOCK } from '../../engine/io';
import type { Io } from '../../engine/io';

export const Kind = {
	write: 1,
	unmap: 2,
	/** Blocks read back from the source during a resync (not in write order). */
	resync: 3,
	/** A consistency point (snapshot or user bookmark). */
	point: 4,
	/** The replica stops being write-order consistent. */
	resyncBegin: 5,
	/** Resync complete: consistent again once entries up to `consistentAt` are applied. */
	resyncEnd: 6
} as const;

/** Wire overhead of one item (its header: kind, numbers, range, checksum). */
export const ITEM_HEADER_BYTES = 64;

export class Item {
	/** Position in the link's stream (set when shipped). */
	no = 0;
	/** Shipped and applied at the replica, and the ack came back. */
	acked = false;
	/** Dropped from the journal (overflow): its blocks are tracked by the bitmap instead. */
	dropped = false;
	/** The local write is still in flight below the filter. */
	local = false;
	/** False while its changed-block bit is being persisted (asynchronous sidecars). */
	ready = true;
	/** A sync-mode guest write waiting (onDone deferred) for this item's remote ack. */
	waiter: Io | undefined = undefined;
	/** resyncEnd: the replica is consistent once the entries up to this sequence are applied. */
	consistentAt = 0;
	/** point: id, kind and label. */
	pid = 0;
	pkind = 0;
	label = '';

	constructor(
		readonly kind: number,
		/** Write sequence number (write/unmap), journal position (point), last covered write (resyncEnd). */
		readonly seq: number,
		readonly lba: number,
		readonly sectors: number,
		public data: Uint8Array | undefined,
		/** Filter time when it entered the journal. */
		readonly time: number,
		/** Bytes on the wire. */
		readonly bytes: number
	) {}

	get firstBlock(): number {
		return Math.floor(this.lba / SECTORS_PER_BLOCK);
	}

	get endBlock(): number {
		return Math.ceil((this.lba + this.sectors) / SECTORS_PER_BLOCK);
	}

	/** Carries a range of the disk (write, unmap, resync). */
	get hasRange(): boolean {
		return this.kind === Kind.write || this.kind === Kind.unmap || this.kind === Kind.resync;
	}
}

/** A guest write issued while the filter tracks changes in the bitmap instead of the journal. */
export class TrackedWrite {
	constructor(
		readonly firstBlock: number,
		readonly endBlock: number
	) {}
}
