/**
 * The remote site: messages arrive from the link in order; their items are applied to the replica
 * disk strictly one after another in stream order, so the replica is always the source's state
 * after some prefix of its writes (outside a resync). Before an entry overwrites the replica, the
 * replica's before-image of that range is logged in the journal history (undo log), which is what
 * lets a test failover roll the replica back to any consistency point of the retention window.
 * Each applied item sends a cumulative ack back over the link (RTT/2, lost while the link is down).
 */
import type { FilterContext, FilterDevice } from '../../engine/filter';
import { allocBuffer, releaseReadBuffer, releaseWriteBuffer } from '../../engine/buffers';
import { Op, SECTOR_BYTES } from '../../engine/io';
import { isPromise, type MaybePromise } from '../../engine/storage/sidecar-json';
import { deviceIo } from '../sdk';
import { Deque } from './deque';
import { REC_POINT, REC_UNDO, UndoLog, type HistRecord } from './history';
import { Item, Kind } from './journal';

export interface ReplicaHost {
	readonly ctx: FilterContext<unknown>;
	/** Filter time: virtual µs, continued across restarts. */
	time(): number;
	/** Sends the replica's cumulative ack back to the source. */
	ack(): void;
	/** Persists the history's tail (before records are overwritten). */
	persistMeta(): MaybePromise<void>;
	/** A consistency point could not be kept. */
	pointLost(label: string): void;
}

export class ReplicaSite {
	/** Highest write sequence applied (the replica = source after writes 1..appliedSeq, when consistent). */
	appliedSeq = 0;
	/** Highest stream item applied. */
	appliedItem = 0;
	/** Write-order consistent (false during a resync). */
	consistent = true;
	/** After a resync: consistent again once appliedSeq reaches this (-1 = not waiting). */
	consistentFrom = -1;
	appliedBytes = 0;
	appliedItems = 0;
	deviceErrors = 0;
	private busy = false;
	private inKick = false;
	private readonly rq = new Deque<Item>();
	private undoBuf: Uint8Array | undefined;

	constructor(
		private readonly host: ReplicaHost,
		readonly replica: FilterDevice,
		readonly journal: FilterDevice,
		readonly log: UndoLog,
		/** Keep before-images (retention window > 0). */
		readonly historyOn: boolean
	) {}

	/** Nothing received is waiting or being applied. */
	get idle(): boolean {
		return !this.busy && this.rq.length === 0;
	}

	get queued(): number {
		return this.rq.length;
	}

	/** A message arrived: its items join the apply queue in order. */
	receive(items: Item[]): void {
		for (const it of items) this.rq.push(it);
		this.kick();
	}

	/** A status request from the source (after the link came back): answer with an ack. */
	ping(): void {
		this.host.ack();
	}

	private kick(): void {
		if (this.inKick) return;
		this.inKick = true;
		try {
			while (!this.busy) {
				const item = this.rq.shift();
				if (!item) break;
				this.busy = true;
				this.apply(item);
			}
		} finally {
			this.inKick = false;
		}
	}

	private apply(item: Item): void {
		switch (item.kind) {
			case Kind.write:
			case Kind.unmap:
			case Kind.resync:
				if (this.historyOn) {
					const ctx = this.host.ctx;
					deviceIo(ctx, this.replica, Op.read, item.lba, item.sectors, undefined, (before, err) => {
						if (err || !before) {
							this.deviceErrors++;
							ctx.log(`replica read failed: ${err?.message ?? 'no data'}; history reset`);
							this.log.reset();
							this.write(item);
							return;
						}
						this.logUndo(item, before);
					});
				} else this.write(item);
				return;
			case Kind.point:
				this.logPoint(item);
				return;
			case Kind.resyncBegin:
				this.consistent = false;
				this.consistentFrom = -1;
				this.finish(item);
				return;
			case Kind.resyncEnd:
				if (item.seq > this.appliedSeq) this.appliedSeq = item.seq;
				this.consistentFrom = item.consistentAt;
				this.finish(item);
				return;
			default:
				this.finish(item);
		}
	}

	/** Logs the before-image, then overwrites the replica (undo logging: log first). */
	private logUndo(item: Item, before: Uint8Array): void {
		const len = 1 + item.sectors;
		const { off, dropped } = this.log.reserve(len);
		if (off < 0) {
			// Larger than the whole log: the undo chain cannot be kept.
			this.log.reset();
			this.afterPersist(this.host.persistMeta(), () => this.write(item));
			return;
		}
		const rec: HistRecord = {
			no: this.log.nextNo,
			off,
			len,
			kind: REC_UNDO,
			lba: item.lba,
			sectors: item.sectors,
			time: this.host.time(),
			seq: item.kind === Kind.resync ? 0 : item.seq,
			pid: 0,
			pkind: 0,
			label: ''
		};
		const buf = this.undoBuffer(len * SECTOR_BYTES);
		UndoLog.encodeHeader(rec, buf);
		buf.set(before, SECTOR_BYTES);
		releaseReadBuffer(before);
		const go = () =>
			deviceIo(this.host.ctx, this.journal, Op.write, off, len, buf, (_d, err) => {
				if (err) {
					this.deviceErrors++;
					this.log.reset();
				} else this.log.commit(rec);
				this.write(item);
			});
		if (dropped > 0) this.afterPersist(this.host.persistMeta(), go);
		else go();
	}

	/**
	 * The buffer an undo record is built in. Items are applied one at a time and the journal
	 * store copies what it is given, so one buffer serves every record of the usual size.
	 */
	private undoBuffer(bytes: number): Uint8Array {
		if (this.undoBuf === undefined || this.undoBuf.length !== bytes) this.undoBuf = allocBuffer(bytes);
		return this.undoBuf;
	}

	private logPoint(item: Item): void {
		if (!this.historyOn || !this.consistent) {
			this.host.pointLost(item.label);
			this.finish(item);
			return;
		}
		const { off, dropped } = this.log.reserve(1);
		const rec: HistRecord = {
			no: this.log.nextNo,
			off,
			len: 1,
			kind: REC_POINT,
			lba: 0,
			sectors: 0,
			time: this.host.time(),
			seq: item.seq,
			pid: item.pid,
			pkind: item.pkind,
			label: item.label
		};
		const buf = new Uint8Array(SECTOR_BYTES);
		UndoLog.encodeHeader(rec, buf);
		const go = () =>
			deviceIo(this.host.ctx, this.journal, Op.write, off, 1, buf, (_d, err) => {
				if (err) {
					this.deviceErrors++;
					this.host.pointLost(item.label);
				} else this.log.commit(rec);
				this.finish(item);
			});
		if (dropped > 0) this.afterPersist(this.host.persistMeta(), go);
		else go();
	}

	private write(item: Item): void {
		const op = item.kind === Kind.unmap ? Op.unmap : Op.write;
		deviceIo(this.host.ctx, this.replica, op, item.lba, item.sectors, op === Op.write ? item.data : undefined, (_d, err) => {
			if (err) {
				this.deviceErrors++;
				this.host.ctx.log(`replica ${op === Op.write ? 'write' : 'unmap'} failed: ${err.message}`);
			}
			this.appliedBytes += item.sectors * SECTOR_BYTES;
			this.finish(item);
		});
	}

	private finish(item: Item): void {
		this.appliedItem = item.no;
		if (item.kind === Kind.write || item.kind === Kind.unmap) this.appliedSeq = item.seq;
		if (!this.consistent && this.consistentFrom >= 0 && this.appliedSeq >= this.consistentFrom) {
			this.consistent = true;
			this.consistentFrom = -1;
		}
		this.appliedItems++;
		// A write's journal copy is the filter's own pooled buffer, and the replica store has its
		// bytes now (stores copy): it goes back to the pool.
		if (item.kind === Kind.write && item.data) releaseWriteBuffer(item.data);
		item.data = undefined;
		this.host.ack();
		this.busy = false;
		this.kick();
	}

	private afterPersist(p: MaybePromise<void>, fn: () => void): void {
		// Continued from a timer whose Promise the engine awaits, so runs stay deterministic.
		if (isPromise(p))
			this.host.ctx.after(0, () =>
				p.then(fn, (e) => {
					this.host.ctx.log(`sidecar write failed: ${(e as Error).message}`);
					fn();
				})
			);
		else fn();
	}
}
