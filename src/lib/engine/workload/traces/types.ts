/**
 * What every block-trace reader shares: the record it yields, the streaming reader interface,
 * the summary it keeps, the error it throws, and a columnar record queue.
 *
 * Readers are incremental: feed them chunks of bytes as they arrive (a File read in slices, a
 * Node stream) and they hand each complete record to a sink as four numbers, so neither the file
 * nor an object per record has to exist in memory. Malformed input is a TraceFormatError that
 * names the position (record and byte offset for binary formats, line for text) and the reason.
 */
import { Op, SECTOR_BYTES, type OpCode } from '../../io';

export type TraceFormat = 'vscsi' | 'msr' | 'blkparse';
export const TRACE_FORMATS: readonly TraceFormat[] = ['vscsi', 'msr', 'blkparse'];

/** One I/O of a trace: when (µs, the reader's time base), what, where (512-byte sectors). */
export interface TraceRecord {
	timeUs: number;
	op: OpCode;
	lba: number;
	sectors: number;
}

/** Receives records one by one (numbers, not objects, so that nothing is allocated per record). */
export type TraceSink = (timeUs: number, op: OpCode, lba: number, sectors: number) => void;

export interface TraceSummary {
	/** Records handed to the sink (the trace's I/Os). */
	records: number;
	reads: number;
	writes: number;
	flushes: number;
	unmaps: number;
	/** Well-formed records that carry no disk I/O (other SCSI commands, requests without data). */
	skipped: number;
	/** Why, with a count each ("SCSI opcode 0x12", "zero size", …). */
	skippedWhy: Record<string, number>;
	/** Formats with several disks in a file (msr, blkparse): the one replayed, once a record of it is seen. */
	disk?: string;
	/** Records of the file's other disks, by id ("hm/1", "8,16"): I/O, but not for the disk replayed. */
	otherDisks: Record<string, number>;
	/** One past the highest sector any record touches (the disk must be at least this large). */
	endSector: number;
	/** Time of the first record and the latest time seen, µs (NaN before the first record). */
	firstTimeUs: number;
	lastTimeUs: number;
	/** Input bytes consumed so far (for a progress bar). */
	bytes: number;
}

export interface TraceReader {
	readonly format: TraceFormat;
	/** Parses a chunk; complete records go to `sink`, a partial one waits for the next chunk. */
	push(chunk: Uint8Array, sink: TraceSink): void;
	/** End of input: flushes what is left; a partial record is an error. */
	end(sink: TraceSink): void;
	readonly summary: TraceSummary;
}

/** Malformed trace input: `where` names the position ("record 13 at byte 384", "line 7"). */
export class TraceFormatError extends Error {
	override name = 'TraceFormatError';
	constructor(
		readonly format: TraceFormat,
		readonly where: string,
		readonly reason: string
	) {
		super(`${format} ${where}: ${reason}`);
	}
}

/** Largest I/O a record may carry: 64 MiB (a corrupt length field is caught here). */
export const MAX_RECORD_BYTES = 64 * 2 ** 20;
/** Largest disk a trace may address: 64 TiB, the VMDK maximum, in sectors. */
export const MAX_TRACE_SECTORS = (64 * 2 ** 40) / SECTOR_BYTES;

export function emptySummary(): TraceSummary {
	return {
		records: 0,
		reads: 0,
		writes: 0,
		flushes: 0,
		unmaps: 0,
		skipped: 0,
		skippedWhy: {},
		otherDisks: {},
		endSector: 0,
		firstTimeUs: NaN,
		lastTimeUs: NaN,
		bytes: 0
	};
}

/** Why an extent cannot be a disk I/O, or null when it can. */
export function extentProblem(lba: number, sectors: number): string | null {
	if (sectors * SECTOR_BYTES > MAX_RECORD_BYTES) return `${sectors * SECTOR_BYTES} bytes is larger than 64 MiB (a corrupt length?)`;
	if (lba + sectors > MAX_TRACE_SECTORS) return `sector ${lba} + ${sectors} is beyond 64 TiB, the largest virtual disk (a corrupt LBA?)`;
	return null;
}

/** Counts a record in the summary and hands it on. */
export function emit(s: TraceSummary, sink: TraceSink, timeUs: number, op: OpCode, lba: number, sectors: number): void {
	s.records++;
	if (op === Op.read) s.reads++;
	else if (op === Op.write) s.writes++;
	else if (op === Op.flush) s.flushes++;
	else s.unmaps++;
	if (lba + sectors > s.endSector) s.endSector = lba + sectors;
	if (s.records === 1) s.firstTimeUs = s.lastTimeUs = timeUs;
	else if (timeUs > s.lastTimeUs) s.lastTimeUs = timeUs;
	sink(timeUs, op, lba, sectors);
}

/** Counts a record of a disk that is not the one replayed. */
export function otherDisk(s: TraceSummary, id: string): void {
	s.otherDisks[id] = (s.otherDisks[id] ?? 0) + 1;
}

export function skip(s: TraceSummary, why: string): void {
	s.skipped++;
	s.skippedWhy[why] = (s.skippedWhy[why] ?? 0) + 1;
}

/** A source the replay pulls records from: fills `out` and returns true, or false at the end. */
export interface TraceSource {
	read(out: TraceRecord): boolean;
}

/**
 * A growable columnar queue of records (16 + 5 bytes each): `push` is a TraceSink, `read`
 * makes it a TraceSource. Reading everything empties it and resets it for reuse.
 */
export class TraceRecordBuffer implements TraceSource {
	time: Float64Array;
	lba: Float64Array;
	sectors: Uint32Array;
	op: Uint8Array;
	length = 0;
	head = 0;

	constructor(capacity = 1024) {
		const n = Math.max(16, capacity | 0);
		this.time = new Float64Array(n);
		this.lba = new Float64Array(n);
		this.sectors = new Uint32Array(n);
		this.op = new Uint8Array(n);
	}

	/** Records not read yet. */
	get pending(): number {
		return this.length - this.head;
	}

	readonly push: TraceSink = (timeUs, op, lba, sectors) => {
		if (this.length === this.time.length) this.grow();
		const i = this.length++;
		this.time[i] = timeUs;
		this.op[i] = op;
		this.lba[i] = lba;
		this.sectors[i] = sectors;
	};

	read(out: TraceRecord): boolean {
		if (this.head >= this.length) {
			this.head = this.length = 0;
			return false;
		}
		const i = this.head++;
		out.timeUs = this.time[i];
		out.op = this.op[i] as OpCode;
		out.lba = this.lba[i];
		out.sectors = this.sectors[i];
		return true;
	}

	/** Record i as an object (tests, tables). */
	at(i: number): TraceRecord {
		return { timeUs: this.time[i], op: this.op[i] as OpCode, lba: this.lba[i], sectors: this.sectors[i] };
	}

	private grow(): void {
		// Drop what was read before growing, so a queue that is drained as it fills stays small.
		if (this.head > 0) {
			const n = this.length - this.head;
			this.time.copyWithin(0, this.head, this.length);
			this.lba.copyWithin(0, this.head, this.length);
			this.sectors.copyWithin(0, this.head, this.length);
			this.op.copyWithin(0, this.head, this.length);
			this.head = 0;
			this.length = n;
			if (n < this.time.length) return;
		}
		const cap = this.time.length * 2;
		const t = new Float64Array(cap);
		t.set(this.time);
		const l = new Float64Array(cap);
		l.set(this.lba);
		const s = new Uint32Array(cap);
		s.set(this.sectors);
		const o = new Uint8Array(cap);
		o.set(this.op);
		this.time = t;
		this.lba = l;
		this.sectors = s;
		this.op = o;
	}
}

/**
 * A TraceSource that parses as it goes: it pulls the next chunk of bytes (`nextChunk` returns
 * null at the end of the input) only when the records parsed so far are used up, so a trace of
 * any size replays in the memory of one chunk plus the records in it.
 */
export class ChunkedTraceSource implements TraceSource {
	private readonly queue = new TraceRecordBuffer();
	private ended = false;

	constructor(
		readonly reader: TraceReader,
		private readonly nextChunk: () => Uint8Array | null
	) {}

	read(out: TraceRecord): boolean {
		while (this.queue.pending === 0 && !this.ended) {
			const chunk = this.nextChunk();
			if (chunk === null) {
				this.ended = true;
				this.reader.end(this.queue.push);
			} else this.reader.push(chunk, this.queue.push);
		}
		return this.queue.read(out);
	}
}
