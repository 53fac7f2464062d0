/**
 * One fio-like workload stream: hands the engine guest I/Os (op, lba, sectors, write contents).
 *
 * Semantics follow fio:
 * - Sequential modes (read, write, rw) walk the region from its start and wrap at its end; as in
 *   fio, reads and writes keep separate positions. The last I/O before the end is shortened.
 *   With `seqAdd` (fio's rw=MODE:N) the next offset is the end of the last I/O plus seqAdd, as
 *   fio 3.33 does (io_u.c, get_next_seq_offset): past the region's end it wraps to the start (and
 *   a job without ios, runtimeUs or ioSize ends there: one pass, as fio's rw=read:8k stops at the
 *   end of the file); before the region's start it wraps to the region's end plus seqAdd (so
 *   rw=read:-8k with bs=4k over 64k reads 0, 56k, 52k, … 4k, 0, 56k, …).
 * - Random modes (randread, randwrite, randrw) pick a unit of `blockalign` bytes (default: the
 *   block size, or the smallest bssplit size) with the distribution; an I/O that would cross the
 *   region end is shortened to end there. Offsets may repeat (fio's norandommap) unless
 *   `randomMap` is set with the uniform distribution: then each unit comes once per pass.
 * - rwmixread is the percentage of reads in randrw and rw; bssplit picks a size per I/O by weight.
 * - Stops after `ios` I/Os or once `now ≥ runtimeUs`, whichever is set (0 = unset). With neither,
 *   it stops once it has issued `size` bytes (fio's io_size = size): one pass over the region for
 *   sequential modes, size/bs I/Os for random ones. `ioSize` (fio's io_size) sets that byte limit
 *   explicitly; it applies together with `ios` and `runtimeUs` (the first limit reached stops).
 * - rate_iops: I/O k (0-based) is not issued before firstIssue + k·1e6/rateIops (`nextIssueTime`);
 *   like fio, a stream that fell behind may catch up. Thinktime is the engine's to apply.
 *
 * Each concern draws from its own fork of the stream's PRNG (offsets, mix, sizes), so changing
 * the mix does not reshuffle the offsets. Content ids come from the disk's shared ContentSource.
 */
import type { Prng } from '../clock';
import { Op, SECTOR_BYTES, SECTORS_PER_BLOCK, type OpCode } from '../io';
import type { ContentSource } from './contents';
import { createOffsetPicker, type OffsetPicker } from './distributions';
import { cloneWorkload, isSequential, validateWorkload } from './spec';
import type { GuestIoSpec, WorkloadSpec } from './types';

export class WorkloadStream {
	/** A private copy of the spec the stream was built from. */
	readonly spec: Readonly<WorkloadSpec>;
	readonly streamIndex: number;
	/** First sector of the region. */
	readonly regionStart: number;
	/** Length of the region in sectors (clamped to the end of the disk). */
	readonly regionSectors: number;
	readonly sequential: boolean;
	/** Units random offsets are picked from (region / blockalign); 0 for sequential modes. */
	readonly units: number;

	/** I/Os handed out so far. */
	issued = 0;
	reads = 0;
	writes = 0;
	/** Sectors handed out so far. */
	sectorsIssued = 0;

	private readonly regionEnd: number;
	private readonly readPct: number;
	private readonly alignSectors: number;
	private readonly picker: OffsetPicker | null;
	/** Block sizes in sectors, and cumulative weights (last = total) when there are several. */
	private readonly sizes: Float64Array;
	private readonly cumWeights: Float64Array;
	private readonly maxIos: number;
	private readonly runtimeUs: number;
	/** Stop once this many sectors were issued (Infinity when ios or runtime is set). */
	private readonly sectorLimit: number;
	private readonly intervalUs: number;
	private readonly dedupe: number;
	private readonly offRng: Prng;
	private readonly mixRng: Prng;
	private readonly bsRng: Prng;
	private readonly contents: ContentSource;
	private readPos: number;
	private writePos: number;
	private firstIssueAt = -1;
	private stopped = false;
	/** Writes since the last flush (fio fsync=N). */
	private writesSinceFlush = 0;
	private readonly fsync: number;
	private readonly trim: boolean;
	/** fio's rw=MODE:N, in sectors (0: contiguous). */
	private readonly seqAdd: number;
	/** A sequential pass with holes ends the stream at the region's end (no ios/runtime/ioSize). */
	private readonly stopAtEnd: boolean;
	/** Flushes and unmaps issued (flushes do not count toward `ios`, as in fio). */
	flushes = 0;
	unmaps = 0;

	constructor(spec: WorkloadSpec, diskSectors: number, prng: Prng, contents: ContentSource, streamIndex: number) {
		const where = `workload stream ${streamIndex}`;
		const errs = validateWorkload(spec);
		if (!Number.isInteger(diskSectors) || diskSectors < 1) errs.push(`disk size must be ≥ 1 sector, got ${diskSectors}`);
		if (errs.length > 0) throw new Error(`${where}: ${errs.join('; ')}`);

		this.spec = cloneWorkload(spec);
		this.streamIndex = streamIndex;
		this.contents = contents;
		this.sequential = isSequential(spec.rw);

		const start = spec.offset / SECTOR_BYTES;
		if (start >= diskSectors) {
			throw new Error(`${where}: offset ${spec.offset} is at or beyond the end of the disk (${diskSectors * SECTOR_BYTES} bytes)`);
		}
		const room = diskSectors - start;
		const want = spec.size > 0 ? spec.size / SECTOR_BYTES : room;
		this.regionStart = start;
		this.regionSectors = Math.min(want, room);
		this.regionEnd = start + this.regionSectors;

		this.readPct =
			spec.rw === 'read' || spec.rw === 'randread'
				? 100
				: spec.rw === 'write' || spec.rw === 'randwrite'
					? 0
					: spec.rwmixread;

		const split = spec.bssplit && spec.bssplit.length > 0 ? spec.bssplit.filter((b) => b.pct > 0) : null;
		if (split) {
			this.sizes = Float64Array.from(split, (b) => b.bs / SECTOR_BYTES);
			this.cumWeights = new Float64Array(split.length);
			let acc = 0;
			split.forEach((b, i) => (this.cumWeights[i] = acc += b.pct));
		} else {
			this.sizes = Float64Array.of(spec.bs / SECTOR_BYTES);
			this.cumWeights = Float64Array.of(1);
		}
		let minSize = Infinity;
		for (const s of this.sizes) minSize = Math.min(minSize, s);
		this.alignSectors = (spec.blockalign ?? minSize * SECTOR_BYTES) / SECTOR_BYTES;

		if (this.sequential) {
			this.units = 0;
			this.picker = null;
		} else {
			this.units = Math.floor(this.regionSectors / this.alignSectors);
			if (this.units < 1) {
				throw new Error(
					`${where}: the region (${this.regionSectors * SECTOR_BYTES} bytes) is smaller than blockalign (${this.alignSectors * SECTOR_BYTES} bytes)`
				);
			}
			this.picker = createOffsetPicker(spec.randomDistribution, this.units, spec.randomMap === true);
		}

		this.maxIos = spec.ios;
		this.runtimeUs = spec.runtimeUs;
		this.sectorLimit =
			spec.ioSize !== undefined && spec.ioSize > 0
				? spec.ioSize / SECTOR_BYTES
				: spec.ios > 0 || spec.runtimeUs > 0
					? Infinity
					: this.regionSectors;
		this.intervalUs = spec.rateIops > 0 ? 1e6 / spec.rateIops : 0;
		this.dedupe = spec.dedupePercentage;
		this.offRng = prng.fork(1);
		this.mixRng = prng.fork(2);
		this.bsRng = prng.fork(3);
		this.readPos = start;
		this.writePos = start;
		this.fsync = spec.fsync ?? 0;
		this.trim = spec.rw === 'trim' || spec.rw === 'randtrim';
		this.seqAdd = this.sequential && spec.seqAdd ? spec.seqAdd / SECTOR_BYTES : 0;
		this.stopAtEnd = this.seqAdd > 0 && this.sectorLimit === this.regionSectors;
	}

	/** True once the stream will issue nothing more (a runtime stop is seen by `next`). */
	get done(): boolean {
		return (
			this.stopped ||
			(this.maxIos > 0 && this.issued >= this.maxIos) ||
			this.sectorsIssued >= this.sectorLimit
		);
	}

	get iodepth(): number {
		return this.spec.iodepth;
	}

	/** Idle time the engine waits after a completion before issuing the next I/O, µs. */
	get thinktimeUs(): number {
		return this.spec.thinktimeUs;
	}

	/** Earliest virtual time (≥ now) the next I/O may be issued under rate_iops. */
	nextIssueTime(now: number): number {
		if (this.intervalUs === 0 || this.firstIssueAt < 0) return now;
		const t = this.firstIssueAt + this.issued * this.intervalUs;
		return t > now ? t : now;
	}

	/**
	 * The next I/O, or null when the stream is done. Without `out` a new object is returned (safe
	 * to keep); with `out` the fields are written into it and it is returned (no allocation but the
	 * write's `contents` array, which is always fresh).
	 */
	next(now: number, out?: GuestIoSpec): GuestIoSpec | null {
		if (this.stopped) return null;
		if ((this.runtimeUs > 0 && now >= this.runtimeUs) || this.done) {
			this.stopped = true;
			return null;
		}

		if (this.fsync > 0 && this.writesSinceFlush >= this.fsync) {
			this.writesSinceFlush = 0;
			this.flushes++;
			if (out) {
				out.op = Op.flush;
				out.lba = 0;
				out.sectors = 0;
				out.contents = undefined;
				return out;
			}
			return { op: Op.flush, lba: 0, sectors: 0 };
		}
		const readPct = this.readPct;
		const op: OpCode = this.trim
			? Op.unmap
			: readPct >= 100
				? Op.read
				: readPct <= 0
					? Op.write
					: this.mixRng.next() * 100 < readPct
						? Op.read
						: Op.write;

		let size = this.sizes[0];
		const cum = this.cumWeights;
		if (cum.length > 1) {
			const r = this.bsRng.next() * cum[cum.length - 1];
			let i = 0;
			while (i < cum.length - 1 && r >= cum[i]) i++;
			size = this.sizes[i];
		}

		const end = this.regionEnd;
		let lba: number;
		let sectors: number;
		if (this.picker === null) {
			lba = op === Op.read ? this.readPos : this.writePos;
			sectors = end - lba < size ? end - lba : size;
			let pos = lba + sectors + this.seqAdd;
			if (pos >= end) {
				pos = this.regionStart;
				if (this.stopAtEnd) this.stopped = true;
			} else if (pos < this.regionStart) {
				// fio's backwards wrap: to the region's end plus the (negative) add.
				pos = end + this.seqAdd;
				if (pos < this.regionStart) {
					const r = this.regionSectors;
					pos = this.regionStart + ((((pos - this.regionStart) % r) + r) % r);
				}
			}
			if (op === Op.read) this.readPos = pos;
			else this.writePos = pos;
		} else {
			lba = this.regionStart + this.picker.pick(this.offRng) * this.alignSectors;
			sectors = end - lba < size ? end - lba : size;
		}

		let contents: Uint32Array | undefined;
		if (op === Op.write) {
			const first = Math.floor(lba / SECTORS_PER_BLOCK);
			const last = Math.ceil((lba + sectors) / SECTORS_PER_BLOCK);
			contents = this.contents.fill(new Uint32Array(last - first), this.dedupe);
			this.writes++;
			this.writesSinceFlush++;
		} else if (op === Op.unmap) this.unmaps++;
		else this.reads++;

		if (this.firstIssueAt < 0) this.firstIssueAt = now;
		this.issued++;
		this.sectorsIssued += sectors;

		if (out) {
			out.op = op;
			out.lba = lba;
			out.sectors = sectors;
			out.contents = contents;
			return out;
		}
		return { op, lba, sectors, contents };
	}
}
