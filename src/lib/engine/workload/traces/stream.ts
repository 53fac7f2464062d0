/**
 * Trace replay as a guest stream: the records of a TraceSource become guest I/Os.
 *
 * - Timing 'trace': record k is issued at start + (t_k − t_0)·timeScale, where t_0 is the first
 *   record's time and start the virtual time the replay began; the stream's queue depth only
 *   bounds how many are outstanding (an I/O whose time has come waits while the queue is full, or
 *   while an overlapping I/O is in flight, and counts as late). Lateness is measured when the
 *   guest issues the I/O (GuestStream.onIssue), not when the record is taken: an I/O parked behind
 *   an overlapping one is issued later. Timestamps that go backwards are issued at once.
 * - Timing 'afap' (as fast as possible): the next record is issued whenever the queue has room.
 * Writes carry fresh content ids from the disk's ContentSource (optionally with a dedupe
 * percentage); reads are verified as every guest read is. A record beyond the end of the disk
 * wraps around (modulo the disk; one that would still cross the end is moved to end there).
 * One record of lookahead is kept in fields; per I/O the stream allocates only the spec the guest
 * holds while the I/O is in flight and, for a write, its content ids.
 */
import type { GuestStream } from '../../guest';
import { Op, SECTORS_PER_BLOCK, type OpCode } from '../../io';
import type { ContentSource } from '../contents';
import type { GuestIoSpec } from '../types';
import type { TraceRecord, TraceSource } from './types';

export type TraceTiming = 'trace' | 'afap';

export interface TraceStreamOptions {
	/** Disk size in sectors. */
	diskSectors: number;
	contents: ContentSource;
	timing: TraceTiming;
	/** Trace timing: virtual µs per trace µs (0.1 replays ten times faster). Default 1. */
	timeScale?: number;
	/** Percentage of written blocks that repeat earlier content (default 0: all fresh). */
	dedupePercentage?: number;
	/** Replay at most this many records (0 = all). */
	maxRecords?: number;
}

export class TraceStream implements GuestStream {
	/** Records handed out, by kind. */
	issued = 0;
	reads = 0;
	writes = 0;
	flushes = 0;
	unmaps = 0;
	/** Records moved because they reached beyond the disk. */
	wrapped = 0;
	/** Trace timing: I/Os issued after their time, and the largest delay (µs). */
	late = 0;
	maxLateUs = 0;
	/** Trace timing: the due time of the I/O handed out last, until it is issued. */
	private lastSpec: GuestIoSpec | undefined;
	private lastDue = 0;
	/** Older I/Os handed out and not issued yet (rare: the guest parks at most one per stream). */
	private readonly waiting = new Map<GuestIoSpec, number>();

	private readonly next_: TraceRecord = { timeUs: 0, op: Op.read, lba: 0, sectors: 0 };
	private has = false;
	private t0 = 0;
	private startAt = -1;
	private readonly scale: number;
	private readonly maxRecords: number;

	constructor(
		private readonly source: TraceSource,
		private readonly options: TraceStreamOptions
	) {
		if (!(options.diskSectors >= 1)) throw new RangeError(`trace replay: the disk must have at least one sector`);
		const scale = options.timeScale ?? 1;
		if (!(scale > 0) || !Number.isFinite(scale)) throw new RangeError(`trace replay: timeScale must be > 0, got ${scale}`);
		this.scale = scale;
		this.maxRecords = options.maxRecords ?? 0;
		this.advance();
		this.t0 = this.next_.timeUs;
	}

	get done(): boolean {
		return !this.has;
	}

	nextIssueTime(now: number): number {
		if (!this.has || this.options.timing === 'afap') return now;
		if (this.startAt < 0) this.startAt = now;
		const due = this.due();
		return due > now ? due : now;
	}

	next(now: number): GuestIoSpec | null {
		if (!this.has) return null;
		if (this.startAt < 0) this.startAt = now;
		const r = this.next_;
		const due = this.options.timing === 'trace' ? this.due() : 0;
		const op = r.op as OpCode;
		let lba = r.lba;
		let sectors = r.sectors;
		const disk = this.options.diskSectors;
		if (lba + sectors > disk) {
			this.wrapped++;
			if (sectors > disk) sectors = disk;
			lba = lba % disk;
			if (lba + sectors > disk) lba = disk - sectors;
		}
		let spec: GuestIoSpec;
		switch (op) {
			case Op.write: {
				const first = Math.floor(lba / SECTORS_PER_BLOCK);
				const end = Math.ceil((lba + sectors) / SECTORS_PER_BLOCK);
				spec = { op, lba, sectors, contents: this.options.contents.fill(new Uint32Array(end - first), this.options.dedupePercentage ?? 0) };
				this.writes++;
				break;
			}
			case Op.read:
				spec = { op, lba, sectors };
				this.reads++;
				break;
			case Op.flush:
				spec = { op, lba: 0, sectors: 0 };
				this.flushes++;
				break;
			default:
				spec = { op, lba, sectors };
				this.unmaps++;
		}
		this.issued++;
		this.advance();
		if (this.options.timing === 'trace') {
			if (this.lastSpec) this.waiting.set(this.lastSpec, this.lastDue);
			this.lastSpec = spec;
			this.lastDue = due;
		}
		return spec;
	}

	/** The guest issued `spec` at `now`: late if after its time in the trace. */
	onIssue(spec: GuestIoSpec, now: number): void {
		let due: number;
		if (spec === this.lastSpec) {
			due = this.lastDue;
			this.lastSpec = undefined;
		} else {
			const d = this.waiting.get(spec);
			if (d === undefined) return;
			this.waiting.delete(spec);
			due = d;
		}
		const lateBy = now - due;
		if (lateBy > 0) {
			this.late++;
			if (lateBy > this.maxLateUs) this.maxLateUs = lateBy;
		}
	}

	private due(): number {
		return this.startAt + (this.next_.timeUs - this.t0) * this.scale;
	}

	private advance(): void {
		this.has = (this.maxRecords === 0 || this.issued < this.maxRecords) && this.source.read(this.next_);
	}
}
