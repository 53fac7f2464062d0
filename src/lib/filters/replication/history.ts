/**
 * The replica site's journal history, as journal-based DR products keep it (Zerto's journal,
 * RecoverPoint's copy journal): before a journal entry overwrites the replica, the replica's
 * before-image of that range is logged, so the replica can be rolled back to any consistency
 * point still inside the retention window. Consistency points are records of the same log.
 *
 * The log is a circular region of the remote journal device (its own store of real bytes): each
 * record is one header sector followed by the before-image. A record never straddles the end of
 * the region; when it does not fit, it goes to offset 0. Writing a record drops the oldest records
 * it overwrites; records older than the retention time are dropped by the filter's timer.
 * After a restart the log is found again by scanning headers from the persisted tail.
 */
import { SECTOR_BYTES } from '../../engine/io';
import type { BlockStore } from '../../engine/storage/types';
import { Deque } from './deque';

export const REC_UNDO = 1;
export const REC_POINT = 2;

/** Point kinds: what put the consistency point in the journal. */
export const POINT_SNAPSHOT = 1;
export const POINT_BOOKMARK = 2;

export interface HistRecord {
	/** Record number, monotonic across the log's life. */
	no: number;
	/** First sector of the record (its header) in the log region. */
	off: number;
	/** Sectors the record occupies (header + before-image). */
	len: number;
	kind: number;
	/** Undo: the replica range whose before-image follows. */
	lba: number;
	sectors: number;
	/** Filter time (virtual µs, continued across restarts) at which it was logged. */
	time: number;
	/** Undo: the write sequence number it undoes (0 for resync data); point: the journal position. */
	seq: number;
	/** Point: its id, kind (snapshot/bookmark) and label. */
	pid: number;
	pkind: number;
	label: string;
}

const MAGIC = 0x4a4c5052; // "RPLJ"
const MAX_LABEL_BYTES = 400;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Expired points remembered for error messages. */
const MAX_EXPIRED_KEPT = 64;

export class UndoLog {
	readonly records = new Deque<HistRecord>();
	/** Next record goes here (before wrap handling). */
	head = 0;
	nextNo = 1;
	/** Bytes of before-images held. */
	dataBytes = 0;
	/** Points dropped from the window (by time or space). */
	pointsExpired = 0;
	/** The last points dropped (id, label, time), so a failover to one can say it expired. */
	readonly recentlyExpired: { pid: number; label: string; time: number }[] = [];
	/** Points inside the window. */
	pointCount = 0;

	constructor(readonly capacity: number) {}

	get tailNo(): number {
		const r = this.records.peek();
		return r ? r.no : this.nextNo;
	}

	get tailOff(): number {
		const r = this.records.peek();
		return r ? r.off : this.head;
	}

	/**
	 * Chooses the offset of a record of `len` sectors and drops the oldest records it would
	 * overwrite. Returns the offset and how many records were dropped (the tail moved), or
	 * off = -1 when a record that large cannot fit at all.
	 */
	reserve(len: number): { off: number; dropped: number } {
		if (len > this.capacity) return { off: -1, dropped: 0 };
		let off = this.head;
		let dropped = 0;
		if (off + len > this.capacity) {
			// The end of the region is skipped: records still lying there are the oldest ones.
			for (let r = this.records.peek(); r && r.off >= this.head; r = this.records.peek()) {
				this.dropOldest();
				dropped++;
			}
			off = 0;
		}
		for (let r = this.records.peek(); r && r.off < off + len && off < r.off + r.len; r = this.records.peek()) {
			this.dropOldest();
			dropped++;
		}
		return { off, dropped };
	}

	/** Adds a record written at the offset reserve() returned. */
	commit(rec: HistRecord): void {
		this.records.push(rec);
		this.head = rec.off + rec.len;
		this.nextNo = rec.no + 1;
		if (rec.kind === REC_UNDO) this.dataBytes += rec.sectors * SECTOR_BYTES;
		else this.pointCount++;
	}

	dropOldest(): void {
		const r = this.records.shift();
		if (!r) return;
		if (r.kind === REC_UNDO) this.dataBytes -= r.sectors * SECTOR_BYTES;
		else {
			this.pointsExpired++;
			this.pointCount--;
			this.recentlyExpired.push({ pid: r.pid, label: r.label, time: r.time });
			if (this.recentlyExpired.length > MAX_EXPIRED_KEPT) this.recentlyExpired.shift();
		}
	}

	/** Drops records logged before `time`; returns how many. */
	trimOlderThan(time: number): number {
		let n = 0;
		for (let r = this.records.peek(); r && r.time < time; r = this.records.peek()) {
			this.dropOldest();
			n++;
		}
		return n;
	}

	/** Forgets the whole history (a record too large for the log breaks the undo chain). */
	reset(): void {
		while (this.records.length > 0) this.dropOldest();
	}

	/** Consistency points still inside the window, oldest first. */
	points(): HistRecord[] {
		const out: HistRecord[] = [];
		for (const r of this.records) if (r.kind === REC_POINT) out.push(r);
		return out;
	}

	/** Virtual time of the oldest record, or undefined when the log is empty. */
	oldestTime(): number | undefined {
		return this.records.peek()?.time;
	}

	/** Writes `rec`'s header into the first sector of `buf`. */
	static encodeHeader(rec: HistRecord, buf: Uint8Array): void {
		const v = new DataView(buf.buffer, buf.byteOffset, SECTOR_BYTES);
		v.setUint32(0, MAGIC, true);
		v.setUint32(4, rec.kind, true);
		v.setFloat64(8, rec.no, true);
		v.setFloat64(16, rec.seq, true);
		v.setFloat64(24, rec.lba, true);
		v.setUint32(32, rec.sectors, true);
		v.setUint32(36, rec.pkind, true);
		v.setFloat64(40, rec.time, true);
		v.setFloat64(48, rec.pid, true);
		const label = encoder.encode(rec.label).subarray(0, MAX_LABEL_BYTES);
		v.setUint32(56, label.length, true);
		buf.set(label, 64);
	}

	/** Parses a header sector at log offset `off`; undefined when it is not one. */
	static decodeHeader(buf: Uint8Array, off: number): HistRecord | undefined {
		const v = new DataView(buf.buffer, buf.byteOffset, SECTOR_BYTES);
		if (v.getUint32(0, true) !== MAGIC) return undefined;
		const kind = v.getUint32(4, true);
		if (kind !== REC_UNDO && kind !== REC_POINT) return undefined;
		const sectors = v.getUint32(32, true);
		const labelLen = v.getUint32(56, true);
		if (labelLen > MAX_LABEL_BYTES) return undefined;
		return {
			no: v.getFloat64(8, true),
			off,
			len: 1 + (kind === REC_UNDO ? sectors : 0),
			kind,
			seq: v.getFloat64(16, true),
			lba: v.getFloat64(24, true),
			sectors: kind === REC_UNDO ? sectors : 0,
			pkind: v.getUint32(36, true),
			time: v.getFloat64(40, true),
			pid: v.getFloat64(48, true),
			label: decoder.decode(buf.subarray(64, 64 + labelLen))
		};
	}

	/**
	 * Rebuilds the index after a restart: follows records from the persisted tail while each
	 * header is the next record number (at the expected offset, or at 0 after a wrap).
	 */
	async scan(store: BlockStore, tailNo: number, tailOff: number): Promise<void> {
		this.reset();
		this.pointsExpired = 0;
		this.pointCount = 0;
		const hdr = new Uint8Array(SECTOR_BYTES);
		const read = async (off: number): Promise<HistRecord | undefined> => {
			if (off < 0 || off >= this.capacity) return undefined;
			await store.read(off, hdr);
			return UndoLog.decodeHeader(hdr, off);
		};
		this.head = tailOff;
		this.nextNo = tailNo;
		let no = tailNo;
		let off = tailOff;
		for (;;) {
			let rec = await read(off);
			if (!rec || rec.no !== no) {
				if (off === 0) break;
				off = 0;
				rec = await read(0);
				if (!rec || rec.no !== no) break;
			}
			if (rec.off + rec.len > this.capacity) break;
			this.commit(rec);
			no++;
			off = rec.off + rec.len;
		}
	}
}
