/**
 * The guest side of one disk: workload streams keep their queue depth of I/Os outstanding, each
 * write carries real bytes generated from its content ids, every read is verified against the
 * expected state, and I/Os that overlap one still in flight wait for it (as fio's
 * serialize_overlap), so the expected state of every sector is always well defined.
 */
import { Scheduler } from './clock';
import { ChainIo, type FilterChain } from './chain';
import { Op, SECTOR_BYTES, SECTORS_PER_BLOCK } from './io';
import { acquireWriteBuffer, releaseWriteBuffer } from './buffers';
import { GuestMetrics } from './metrics';
import { IntMap } from './intmap';
import { ExpectedState, UNKNOWN_CONTENT, ZERO_CONTENT, fillWrite } from './verify';
import type { GuestIoSpec } from './workload/types';

/**
 * What the guest needs from a source of I/O: the fio-like WorkloadStream, or a trace replay.
 * `nextIssueTime` is the earliest virtual time the next I/O may be issued (rate limits, trace
 * timestamps); `next` hands it out.
 */
export interface GuestStream {
	readonly done: boolean;
	nextIssueTime(now: number): number;
	next(now: number): GuestIoSpec | null;
	/**
	 * Told when an I/O that `next` handed out is issued: at once, or later when it waited for an
	 * overlapping I/O (a trace replay measures lateness at issue, not when the record was taken).
	 */
	onIssue?(spec: GuestIoSpec, now: number): void;
}

interface StreamState {
	stream: GuestStream;
	index: number;
	/** The stream's name (its fio job's), when it has one: the exports' job column. */
	name: string | undefined;
	iodepth: number;
	thinktimeUs: number;
	inFlight: number;
	/** An I/O that waits for an overlapping one to complete. */
	parked: GuestIoSpec | undefined;
	wakeAt: number;
	/**
	 * This stream's own metrics (fio's per-job results). Kept only when the disk runs more than
	 * one stream: a single stream's are the disk's, and a copy would double the latency samples.
	 */
	metrics: GuestMetrics | undefined;
}

export interface GuestErrorRecord {
	ioId: number;
	op: number;
	lba: number;
	code: string;
	message: string;
	source: string;
}

/** Completions handled inside a completion before the refill goes through the scheduler. */
const MAX_INLINE_DEPTH = 32;

export class Guest {
	private depth = 0;
	readonly metrics = new GuestMetrics();
	readonly streams: StreamState[] = [];
	/**
	 * Sectors with a guest I/O in flight, as a bit mask per 4 KiB block (bit k = sector k of the
	 * block). I/O that shares a block but no sector runs concurrently, as on a real disk; only
	 * I/O whose sectors overlap waits (a later write must not pass an earlier one, and a read
	 * must see a definite state to be verified). Real traces are mostly unaligned: waiting per
	 * block would serialise I/O that merely shares one.
	 */
	private readonly busySectors = new IntMap();
	/** Errors that reached the guest. */
	readonly errors: GuestErrorRecord[] = [];
	errorCount = 0;
	/** When false, no new I/O is issued (a paused or powered-off VM). */
	running = true;
	/** Called whenever an I/O completes (for live frames). */
	onComplete: ((io: ChainIo) => void) | undefined;
	/** Told of every acknowledged write (the cluster's ledger of which write each block holds). */
	onWriteAck: ((lba: number, sectors: number, ioId: number) => void) | undefined;
	/**
	 * Set while the VM's host crashes: the I/O in flight then was never acknowledged and the
	 * guest died with it, so it is no error the guest saw. Its sectors become unknown; it is
	 * counted in `lostInFlight`.
	 */
	crashing = false;
	lostInFlight = 0;

	constructor(
		private readonly sched: Scheduler,
		/** The disk's chain; replaced when the VM restarts after a host crash or fails over. */
		public chain: FilterChain,
		readonly expected: ExpectedState,
		private readonly nextIoId: () => number,
		/** No data: writes carry no bytes and reads are not verified. */
		private readonly timingOnly = false
	) {}

	addStream(stream: GuestStream, iodepth: number, thinktimeUs: number, name?: string): void {
		this.streams.push({
			stream,
			index: this.streams.length,
			name,
			iodepth: Math.max(1, iodepth),
			thinktimeUs,
			inFlight: 0,
			parked: undefined,
			wakeAt: -1,
			metrics: undefined
		});
		// Every stream is added before the guest issues its first I/O, so each sees all of its own.
		if (this.streams.length > 1) for (const t of this.streams) t.metrics ??= new GuestMetrics();
	}

	/** The name of stream `i` (a scenario's workload[i].name, a trace replay's file), if it has one. */
	streamName(i: number): string | undefined {
		return this.streams[i]?.name;
	}

	/** The metrics of stream `i`: its own, or the disk's when it is the only one. */
	streamMetrics(i: number): GuestMetrics {
		return this.streams[i]?.metrics ?? this.metrics;
	}

	start(): void {
		for (const s of this.streams) this.fill(s);
	}

	/** True when every stream has finished and nothing is in flight. */
	get finished(): boolean {
		for (const s of this.streams) if (!s.stream.done || s.inFlight > 0 || s.parked) return false;
		return true;
	}

	/** Issues I/Os until the stream's queue is full, it must wait, or it is done. */
	private fill(s: StreamState): void {
		const now = this.sched.now;
		while (this.running && s.inFlight < s.iodepth) {
			let spec = s.parked;
			if (spec) {
				if (this.overlaps(spec)) return;
				s.parked = undefined;
			} else {
				if (s.stream.done) return;
				const t = s.stream.nextIssueTime(now);
				if (t > now) {
					if (s.wakeAt !== t) {
						s.wakeAt = t;
						this.sched.at(t, () => this.fill(s));
					}
					return;
				}
				const next = s.stream.next(now);
				if (!next) return;
				spec = next;
				if (this.overlaps(spec)) {
					s.parked = spec;
					return;
				}
			}
			this.issue(s, spec);
		}
	}

	private issue(s: StreamState, spec: GuestIoSpec): void {
		const now = this.sched.now;
		let data: Uint8Array | undefined;
		if (spec.op === Op.write && !this.timingOnly) {
			data = acquireWriteBuffer(spec.sectors * SECTOR_BYTES);
			fillWrite(spec.lba, spec.sectors, spec.contents!, data);
		}
		const io = new ChainIo(this.nextIoId(), spec.op, spec.lba, spec.sectors, data, 'guest', now, s.index);
		io.tag = spec;
		io.written = data;
		this.mark(spec, true);
		s.inFlight++;
		this.metrics.issued(now);
		s.metrics?.issued(now);
		s.stream.onIssue?.(spec, now);
		this.chain.submit(io, this.completedFn);
	}

	/** completed() bound once: every guest I/O carries its spec and stream, no closure per I/O. */
	private readonly completedFn = (io: ChainIo) => this.completed(io);

	private completed(io: ChainIo): void {
		const now = this.sched.now;
		const s = this.streams[io.stream];
		const spec = io.tag as GuestIoSpec;
		const contents = spec.contents;
		const written = io.written;
		io.tag = io.written = undefined;
		this.mark(spec, false);
		s.inFlight--;
		if (this.crashing) {
			this.lostInFlight++;
			if (spec.op === Op.write || spec.op === Op.unmap) this.expected.recordFill(spec.lba, spec.sectors, UNKNOWN_CONTENT);
			io.releaseBuffers();
			return;
		}
		const failed = io.error !== undefined;
		this.metrics.done(io.op, io.sectors * SECTOR_BYTES, now - io.issuedAt, failed, now);
		s.metrics?.done(io.op, io.sectors * SECTOR_BYTES, now - io.issuedAt, failed, now);
		if (failed) {
			this.errorCount++;
			if (this.errors.length < 100)
				this.errors.push({
					ioId: io.id,
					op: io.op,
					lba: io.lba,
					code: io.error!.code,
					message: io.error!.message,
					source: io.error!.source
				});
			// A failed write may or may not have reached the disk: its sectors are unknown now.
			if (spec.op === Op.write || spec.op === Op.unmap) this.expected.recordFill(spec.lba, spec.sectors, UNKNOWN_CONTENT);
		} else if (this.timingOnly) {
			// Nothing to record or check: no bytes moved.
		} else if (spec.op === Op.write) this.expected.recordWrite(spec.lba, spec.sectors, contents!);
		else if (spec.op === Op.unmap) this.expected.recordFill(spec.lba, spec.sectors, ZERO_CONTENT);
		else if (spec.op === Op.read) this.expected.checkRead(spec.lba, spec.sectors, io.data!, io.id);
		this.onComplete?.(io);
		if (!failed && spec.op === Op.write) {
			this.onWriteAck?.(spec.lba, spec.sectors, io.id);
			// Acknowledged: nobody holds the guest's buffer any more (a filter that keeps a write's
			// data copies it). A failed write's buffer is left alone: a part of it may still be in
			// flight below the filter that failed it.
			if (written) {
				if (io.data === written) io.data = undefined;
				releaseWriteBuffer(written);
			}
		}
		if (io.deviceBuffer || io.lentBuffer) io.releaseBuffers();
		// A filter that completes I/O inside onIo brings the completion back on the issuing stack:
		// refilling inline then recurses. Past a small depth, refill from a new event instead.
		if (s.thinktimeUs > 0) this.sched.after(s.thinktimeUs, () => this.fill(s));
		else if (this.depth >= MAX_INLINE_DEPTH) this.sched.after(0, () => this.fill(s));
		else {
			this.depth++;
			try {
				this.fill(s);
			} finally {
				this.depth--;
			}
		}
		// Another stream may have parked behind this I/O.
		if (this.streams.length > 1) for (const o of this.streams) if (o !== s && o.parked) this.fill(o);
	}

	/**
	 * The expected state to save beside the disks while I/O may be in flight (a pause, a stop on
	 * a store fault): a write or unmap not acknowledged yet may or may not have reached the disk,
	 * so its sectors are unknown in the saved copy. The live state is left as it is: if the run
	 * goes on, the I/O completes and records what it wrote.
	 */
	expectedToSave(): ExpectedState {
		let copy: ExpectedState | undefined;
		this.chain.forEachLive((io) => {
			if (io.origin !== 'guest' || (io.op !== Op.write && io.op !== Op.unmap)) return;
			// The guest's own range: a filter below may have remapped io.lba on the way down.
			const spec = io.tag as GuestIoSpec | undefined;
			if (!spec) return;
			copy ??= ExpectedState.fromJSON(this.expected.toJSON());
			copy.recordFill(spec.lba, spec.sectors, UNKNOWN_CONTENT);
		});
		return copy ?? this.expected;
	}

	private overlaps(spec: GuestIoSpec): boolean {
		const m = this.busySectors;
		if (m.size === 0) return false;
		const end = spec.lba + spec.sectors;
		for (let b = Math.floor(spec.lba / SECTORS_PER_BLOCK); b * SECTORS_PER_BLOCK < end; b++) {
			const busy = m.get(b);
			if (busy !== undefined && (busy & sectorMask(b, spec.lba, end)) !== 0) return true;
		}
		return false;
	}

	/** Marks (`on`) or clears the I/O's sectors; only issued after overlaps() said no. */
	private mark(spec: GuestIoSpec, on: boolean): void {
		const end = spec.lba + spec.sectors;
		const m = this.busySectors;
		for (let b = Math.floor(spec.lba / SECTORS_PER_BLOCK); b * SECTORS_PER_BLOCK < end; b++) {
			const bits = sectorMask(b, spec.lba, end);
			const busy = m.get(b) ?? 0;
			if (on) {
				if ((busy & bits) !== 0) throw new Error(`guest: I/O at sector ${spec.lba} issued over one in flight`);
				m.set(b, busy | bits);
			} else if ((busy & ~bits) === 0) m.delete(b);
			else m.set(b, busy & ~bits);
		}
	}
}

/** Bit k set for each sector k of block `b` that [lba, end) covers. */
function sectorMask(b: number, lba: number, end: number): number {
	const base = b * SECTORS_PER_BLOCK;
	const from = lba > base ? lba - base : 0;
	const to = end < base + SECTORS_PER_BLOCK ? end - base : SECTORS_PER_BLOCK;
	return ((1 << to) - 1) & ~((1 << from) - 1);
}
