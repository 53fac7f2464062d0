/**
 * A block trace replayed from a file the page streams in: the page sends the file's bytes in
 * chunks (File.stream or slices), the reader parses each chunk as it arrives into a record queue,
 * and the replay pulls records from that queue as the disk's guest stream. Neither the file nor
 * an object per record is ever held: only the records parsed and not yet replayed.
 *
 * Flow control both ways:
 * - the page waits (push resolves late) while more than HIGH_WATER records are queued, so a large
 *   file is read no faster than it is replayed;
 * - the replay never runs dry by mistake: TraceStream reads one record ahead and takes a failed
 *   read as the end of the trace, so records are handed to it only while one more is queued (or
 *   the input has ended). Otherwise the stream is `starved`: the session stops the clock until
 *   the next chunk arrives (virtual time does not move meanwhile, so trace timing is kept) and
 *   then refills the guest.
 */
import type { GuestStream } from '../engine/guest';
import type { AttachedStream, DiskStreamContext } from '../engine/simulation';
import { streamNameFrom } from '../engine/workload/spec';
import type { GuestIoSpec } from '../engine/workload/types';
import {
	askedTraceDisk,
	createTraceReader,
	TraceFormatError,
	TraceRecordBuffer,
	traceDiskProblem,
	traceDisks,
	TraceStream,
	type TraceFormat,
	type TraceReader,
	type TraceReaderOptions,
	type TraceTiming
} from '../engine/workload/traces/index';

/** Records queued beyond which the page's next chunk waits. */
export const HIGH_WATER = 1 << 17;
/** Queued records below which a waiting chunk is taken. */
export const LOW_WATER = 1 << 16;

/** Queue depth of a replay by timing (as the CLI's `--trace`): a trace's own timing is open-loop. */
export const REPLAY_IODEPTH: Record<TraceTiming, number> = { afap: 64, trace: 1024 };

export interface ReplayOptions {
	/** The file's name (for the log and the report). */
	fileName: string;
	format: TraceFormat;
	/** From the trace's timestamps, or as fast as possible. */
	timing: TraceTiming;
	/** The file's size in bytes (for the progress). */
	totalBytes: number;
	/** No data bytes: filters that support it simulate metadata only (large traces). */
	timingOnly?: boolean;
	/** Outstanding I/Os (default by timing). */
	iodepth?: number;
	/** Trace timing: virtual µs per trace µs (0.1 = ten times faster). Default 1. */
	timeScale?: number;
	/** The disk that replays it ("vm/disk"); default: the scenario's first disk. */
	diskKey?: string;
	/**
	 * The reader's options (which disk of an MSR file, which device and event of blkparse; see
	 * traceReaderOptions). A disk the whole file turns out not to hold ends the replay with an error.
	 */
	reader?: TraceReaderOptions;
}

export interface ReplayProgress {
	fileName: string;
	format: TraceFormat;
	timing: TraceTiming;
	diskKey: string;
	totalBytes: number;
	/** Bytes received and parsed so far. */
	bytes: number;
	/** I/O records parsed so far (all of the trace's once `ended`). */
	records: number;
	reads: number;
	writes: number;
	flushes: number;
	unmaps: number;
	/** Well-formed records with no disk I/O (other SCSI commands, requests without data). */
	skipped: number;
	/** Formats with several disks in a file (msr, blkparse): the disk replayed, once a record of it is seen. */
	disk?: string;
	/** Records of the file's other disks (MSR disks, blkparse devices), by id: not replayed. */
	otherDisks: Record<string, number>;
	/** Records handed to the guest so far. */
	issued: number;
	/** Records that reached beyond the disk (wrapped around). */
	wrapped: number;
	/** Trace timing: I/Os issued after their time, and the largest delay (µs). */
	late: number;
	maxLateUs: number;
	/** The page has sent the whole file. */
	ended: boolean;
	/** Every record was handed to the guest. */
	done: boolean;
	/** The file is malformed (with the position), or the replay was cancelled. */
	error?: string;
}

export class TraceReplay implements GuestStream {
	readonly reader: TraceReader;
	private readonly queue = new TraceRecordBuffer(4096);
	private inner: TraceStream | undefined;
	private disk: DiskStreamContext | undefined;
	private ended = false;
	private error: string | undefined;
	private dataWaiters: (() => void)[] = [];
	private roomWaiters: (() => void)[] = [];
	readonly diskKey: string;

	constructor(
		readonly options: ReplayOptions,
		diskKey: string
	) {
		this.reader = createTraceReader(options.format, options.reader);
		this.diskKey = diskKey;
	}

	/** The stream factory for SimulationOptions.streams. */
	attach = (disk: DiskStreamContext): AttachedStream[] => {
		this.disk = disk;
		// Named by its file, as the CLI's --trace names its stream: the CSV's job column.
		return [{ stream: this, iodepth: this.iodepth, name: streamNameFrom(this.options.fileName) }];
	};

	// ------------------------------------------------------------------ input (the page's chunks)

	/**
	 * Parses a chunk. Resolves once the queue has room for more (flow control). A malformed file
	 * throws the reader's error (with its position) and ends the replay.
	 */
	async push(chunk: Uint8Array): Promise<ReplayProgress> {
		if (this.error) throw new Error(this.error);
		if (this.ended) throw new Error('the trace has ended: no more chunks are taken');
		try {
			this.reader.push(chunk, this.queue.push);
		} catch (e) {
			this.fail(e);
			throw new Error(this.error);
		}
		this.wakeData();
		while (this.queue.pending > HIGH_WATER && !this.error && !this.ended) await new Promise<void>((r) => this.roomWaiters.push(r));
		return this.progress();
	}

	/** The page has sent the whole file. A record cut short at the end is an error. */
	end(): ReplayProgress {
		if (!this.ended && !this.error) {
			try {
				this.reader.end(this.queue.push);
				this.checkDisk();
			} catch (e) {
				this.fail(e);
			}
			this.ended = true;
		}
		this.wakeData();
		this.wakeRoom();
		return this.progress();
	}

	/** The whole file read: a disk asked for that it does not hold (or an MSR number several hosts have) is an error. */
	private checkDisk(): void {
		const asked = askedTraceDisk(this.options.reader);
		if (asked === undefined) return;
		const ids = traceDisks(this.reader.summary).map((d) => d.id);
		const problem = traceDiskProblem(this.options.format, asked, ids, this.options.fileName, this.options.reader?.blkparse?.event);
		if (problem) throw new Error(problem.message);
	}

	/** Stops the replay (a new scenario was loaded): waiting chunks are let go. */
	cancel(reason = 'the replay was cancelled'): void {
		if (!this.error && !(this.ended && this.done)) this.error = reason;
		this.wakeData();
		this.wakeRoom();
	}

	/** Records queued and not handed out (the one the stream holds ahead is not counted). */
	get queued(): number {
		return this.queue.pending;
	}

	/** Outstanding I/Os of the replay. */
	get iodepth(): number {
		return Math.max(1, this.options.iodepth ?? REPLAY_IODEPTH[this.options.timing]);
	}

	/**
	 * Events the clock may run before the session looks again. One event hands out at most
	 * about a queue depth of records (a wake-up of trace timing, a refill and the completions a
	 * filter brings back inline), so this many cannot run the queue dry before their last one:
	 * the clock stops where the records sent so far run out, not later.
	 */
	eventBudget(max = 4096): number {
		if (this.ended || this.error) return max;
		return Math.max(1, Math.min(max, Math.floor(this.queue.pending / (this.iodepth + 33))));
	}

	/** True while the guest would run dry only because the next chunk has not arrived. */
	get starved(): boolean {
		return !this.ended && !this.error && this.queue.pending === 0;
	}

	/** Resolves when a chunk (or the end) arrives, or after `maxMs` wall ms. */
	waitForData(maxMs = 50): Promise<void> {
		if (!this.starved) return Promise.resolve();
		return new Promise<void>((resolve) => {
			const id = setTimeout(resolve, maxMs);
			this.dataWaiters.push(() => {
				clearTimeout(id);
				resolve();
			});
		});
	}

	progress(): ReplayProgress {
		const s = this.reader.summary;
		const i = this.inner;
		return {
			fileName: this.options.fileName,
			format: this.options.format,
			timing: this.options.timing,
			diskKey: this.diskKey,
			totalBytes: this.options.totalBytes,
			bytes: s.bytes,
			records: s.records,
			reads: s.reads,
			writes: s.writes,
			flushes: s.flushes,
			unmaps: s.unmaps,
			skipped: s.skipped,
			...(s.disk !== undefined ? { disk: s.disk } : {}),
			otherDisks: { ...s.otherDisks },
			issued: i?.issued ?? 0,
			wrapped: i?.wrapped ?? 0,
			late: i?.late ?? 0,
			maxLateUs: i?.maxLateUs ?? 0,
			ended: this.ended,
			done: this.done,
			...(this.error ? { error: this.error } : {})
		};
	}

	// ------------------------------------------------------------------ GuestStream (the guest pulls)

	get done(): boolean {
		if (this.error) return true;
		if (!this.ended) return false;
		return this.inner ? this.inner.done : this.queue.pending === 0;
	}

	nextIssueTime(now: number): number {
		return this.inner && !this.error ? this.inner.nextIssueTime(now) : now;
	}

	next(now: number): GuestIoSpec | null {
		if (this.error) return null;
		if (!this.inner) {
			if (this.queue.pending === 0 || !this.disk) return null;
			// Reads the first record ahead (its time is the replay's origin).
			this.inner = new TraceStream(this.queue, {
				diskSectors: this.disk.sectors,
				contents: this.disk.contents,
				timing: this.options.timing,
				timeScale: this.options.timeScale ?? 1
			});
		}
		// The stream reads one record ahead after handing one out: only with one queued (or at the end).
		if (!this.ended && this.queue.pending === 0) return null;
		const spec = this.inner.next(now);
		if (this.roomWaiters.length > 0 && this.queue.pending <= LOW_WATER) this.wakeRoom();
		return spec;
	}

	onIssue(spec: GuestIoSpec, now: number): void {
		this.inner?.onIssue(spec, now);
	}

	private fail(e: unknown): void {
		this.error = e instanceof TraceFormatError || e instanceof Error ? e.message : String(e);
		this.wakeData();
		this.wakeRoom();
	}

	private wakeData(): void {
		const w = this.dataWaiters;
		this.dataWaiters = [];
		for (const fn of w) fn();
	}

	private wakeRoom(): void {
		const w = this.roomWaiters;
		this.roomWaiters = [];
		for (const fn of w) fn();
	}
}
