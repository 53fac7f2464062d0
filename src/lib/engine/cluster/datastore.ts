/**
 * The datastore layer: what sits between a disk's filter chain and its block store, at the
 * device, where no filter sees it. It does two things for the cluster:
 * - copy-on-write for snapshots: before a write or an unmap changes a 4 KiB block for the first
 *   time since the current snapshot, the block's old bytes go to the snapshot tree
 *   (snapshots.ts), so every snapshot keeps real data;
 * - error injection: an I/O that touches a failing LBA range fails at the device (EIO, source
 *   "device"), as a datastore with bad sectors or a lost path answers. The chain reports a store
 *   error exactly like that, so the filters above see an ordinary device failure.
 * Otherwise every call goes straight to the store below.
 */
import { Op, SECTOR_BYTES, SECTORS_PER_BLOCK, type OpName } from '../io';
import type { BlockStore, StoreKind } from '../storage/types';

/** Who keeps the old bytes of blocks about to change (the snapshot tree). */
export interface CowTarget {
	/** Preserves blocks [first, end) not yet preserved for the current snapshot, reading `store`. */
	preserve(first: number, end: number): void | Promise<void>;
}

export type FaultOps = 'read' | 'write' | 'all';

/** An LBA range of the datastore that fails I/O. */
export interface DatastoreFault {
	readonly id: number;
	readonly fromSector: number;
	/** Exclusive. */
	readonly toSector: number;
	readonly ops: FaultOps;
	/** I/Os failed so far. */
	hits: number;
}

export class DatastoreLayer implements BlockStore {
	/** Set while the disk has snapshots. */
	cow: CowTarget | undefined = undefined;
	readonly faults: DatastoreFault[] = [];
	private faultSeq = 0;

	constructor(readonly inner: BlockStore) {}

	get kind(): StoreKind {
		return this.inner.kind;
	}

	get sectors(): number {
		return this.inner.sectors;
	}

	read(sector: number, dst: Uint8Array): void | Promise<void> {
		if (this.faults.length > 0) this.check(Op.read, sector, dst.length / SECTOR_BYTES);
		return this.inner.read(sector, dst);
	}

	write(sector: number, src: Uint8Array): void | Promise<void> {
		const n = src.length / SECTOR_BYTES;
		if (this.faults.length > 0) this.check(Op.write, sector, n);
		if (this.cow) {
			const p = this.cow.preserve(Math.floor(sector / SECTORS_PER_BLOCK), Math.ceil((sector + n) / SECTORS_PER_BLOCK));
			if (p) return p.then(() => this.inner.write(sector, src));
		}
		return this.inner.write(sector, src);
	}

	unmap(sector: number, count: number): void | Promise<void> {
		if (this.faults.length > 0) this.check(Op.unmap, sector, count);
		if (this.cow && count > 0) {
			const p = this.cow.preserve(Math.floor(sector / SECTORS_PER_BLOCK), Math.ceil((sector + count) / SECTORS_PER_BLOCK));
			if (p) return p.then(() => this.inner.unmap(sector, count));
		}
		return this.inner.unmap(sector, count);
	}

	flush(): void | Promise<void> {
		return this.inner.flush();
	}

	allocatedBytes(): number {
		return this.inner.allocatedBytes();
	}

	resize(sectors: number): void | Promise<void> {
		return this.inner.resize(sectors);
	}

	close(): void | Promise<void> {
		return this.inner.close();
	}

	/** Makes [fromSector, toSector) fail the given operations until removed. */
	addFault(fromSector: number, toSector: number, ops: FaultOps): DatastoreFault {
		const f: DatastoreFault = { id: ++this.faultSeq, fromSector, toSector, ops, hits: 0 };
		this.faults.push(f);
		return f;
	}

	removeFault(id: number): DatastoreFault | undefined {
		const i = this.faults.findIndex((f) => f.id === id);
		return i < 0 ? undefined : this.faults.splice(i, 1)[0];
	}

	private check(op: number, sector: number, count: number): void {
		const end = sector + count;
		for (const f of this.faults) {
			if (end <= f.fromSector || sector >= f.toSector) continue;
			if (f.ops === 'read' ? op !== Op.read : f.ops === 'write' ? op === Op.read : false) continue;
			f.hits++;
			const name: OpName = op === Op.read ? 'read' : op === Op.write ? 'write' : 'unmap';
			throw new Error(`datastore error: ${name} of sectors ${sector}..${end - 1} touches the failing range ${f.fromSector}..${f.toSector - 1}`);
		}
	}
}
