/**
 * vscsiStats' workload histograms (VMware ESXi, `vscsiStats -p all`), with its exact bucket limits.
 *
 * The bucket limits are those printed by a real ESXi host in `vscsiStats -p all -c` output (CSV
 * "Frequency,Histogram Bucket Limit" sections), as kept in the public fixture
 * er0080/vscsiStats-helper, tests/fixtures/sample_vscsiStats.csv. A bucket counts the values v with
 * previous limit < v ≤ limit; the first bucket takes everything ≤ its limit and one extra bucket
 * (printed by vscsiStats with the last limit repeated) takes everything above the last limit.
 *
 * Each metric is kept three times, as vscsiStats does: all commands, reads only, writes only
 * ("IO lengths of Read commands", "distance … between successive Read commands", "outstanding Read
 * IOs when a new Read IO is issued", "interarrival time for Reads", …). Like vscsiStats, every
 * histogram also carries min, max, mean and count.
 */
import { BucketIndex } from './bucket-index';

/** "Histogram: IO lengths of commands" (bytes). */
export const IO_LENGTH_LIMITS = [
	512, 1024, 2048, 4095, 4096, 8191, 8192, 16383, 16384, 32768, 49152, 65535, 65536, 81920, 131072, 262144, 524288
] as const;

/**
 * "Histogram: distance (in LBNs) between successive commands". vscsiStats measures from the last
 * LBN of the previous command, so a perfectly sequential stream lands in the bucket "1" (the
 * sample above has its sequential log writes there and none in "0"); re-reading the same sector
 * gives 0, and going backwards gives negative distances.
 */
export const SEEK_DISTANCE_LIMITS = [
	-500000, -100000, -50000, -10000, -5000, -1000, -500, -128, -64, -32, -16, -8, -6, -4, -2, -1, 0, 1, 2, 4, 6, 8, 16,
	32, 64, 128, 500, 1000, 5000, 10000, 50000, 100000, 500000
] as const;

/** "Histogram: number of outstanding IOs when a new IO is issued" (the new I/O included: min 1). */
export const OUTSTANDING_LIMITS = [1, 2, 4, 6, 8, 12, 16, 20, 24, 28, 32, 64] as const;

/** "Histogram: latency of IOs in Microseconds (us)". */
export const LATENCY_LIMITS_US = [1, 10, 100, 500, 1000, 5000, 15000, 30000, 50000, 100000] as const;

/** "Histogram: latency of IO interarrival time in Microseconds (us)". */
export const INTERARRIVAL_LIMITS_US = [1, 10, 100, 500, 1000, 5000, 15000, 30000, 50000, 100000] as const;

/** One vscsiStats histogram: counts per bucket (limits.length + 1 buckets) and summary values. */
export class VscsiHistogram {
	readonly limits: readonly number[];
	readonly counts: Float64Array;
	count = 0;
	sum = 0;
	min = Infinity;
	max = -Infinity;
	private readonly index: BucketIndex;

	/** `index`: a BucketIndex of these limits, when one is at hand to share. */
	constructor(limits: readonly number[], index = new BucketIndex(limits)) {
		this.limits = limits;
		this.counts = new Float64Array(limits.length + 1);
		this.index = index;
	}

	add(v: number): void {
		this.addIn(this.index.of(v), v);
	}

	/** Adds `v`, whose bucket `k` the caller already looked up (for two histograms of one value). */
	addIn(k: number, v: number): void {
		this.counts[k]++;
		this.count++;
		this.sum += v;
		if (v < this.min) this.min = v;
		if (v > this.max) this.max = v;
	}

	get mean(): number {
		return this.count > 0 ? this.sum / this.count : 0;
	}

	/** A plain copy for reports and the sidecar. */
	toJSON(): HistogramData {
		return {
			limits: [...this.limits],
			counts: Array.from(this.counts),
			count: this.count,
			min: this.count > 0 ? this.min : 0,
			max: this.count > 0 ? this.max : 0,
			mean: this.mean,
			sum: this.sum
		};
	}

	/** Restores counts saved by toJSON (ignored if the limits differ). */
	load(d: HistogramData): void {
		if (d.counts.length !== this.counts.length || d.limits.some((x, i) => x !== this.limits[i])) return;
		this.counts.set(d.counts);
		this.count = d.count;
		this.sum = d.sum;
		this.min = d.count > 0 ? d.min : Infinity;
		this.max = d.count > 0 ? d.max : -Infinity;
	}
}

export interface HistogramData {
	/** Upper bucket limits; counts has one more bucket, for values above the last limit. */
	limits: number[];
	counts: number[];
	count: number;
	min: number;
	max: number;
	mean: number;
	sum: number;
}

/** A metric kept for all commands, reads and writes. */
export class Split {
	readonly all: VscsiHistogram;
	readonly read: VscsiHistogram;
	readonly write: VscsiHistogram;
	private readonly index: BucketIndex;
	constructor(limits: readonly number[]) {
		this.index = new BucketIndex(limits);
		this.all = new VscsiHistogram(limits, this.index);
		this.read = new VscsiHistogram(limits, this.index);
		this.write = new VscsiHistogram(limits, this.index);
	}
	/** Adds `v` to "all" and to the read or write histogram (one bucket lookup for both). */
	add(isRead: boolean, v: number): void {
		const k = this.index.of(v);
		this.all.addIn(k, v);
		(isRead ? this.read : this.write).addIn(k, v);
	}
	toJSON(): SplitData {
		return { all: this.all.toJSON(), read: this.read.toJSON(), write: this.write.toJSON() };
	}
	load(d: SplitData | undefined): void {
		if (!d) return;
		this.all.load(d.all);
		this.read.load(d.read);
		this.write.load(d.write);
	}
}

export interface SplitData {
	all: HistogramData;
	read: HistogramData;
	write: HistogramData;
}

export type MetricName = 'ioLength' | 'seekDistance' | 'outstandingIOs' | 'latency' | 'interarrival';

/**
 * The five vscsiStats metrics (the "closest of the previous 16" seek variant is left out). The
 * caller feeds it arrivals and completions; it keeps the previous command's end and arrival time
 * and the outstanding counts itself.
 */
export class VscsiStats {
	readonly ioLength = new Split(IO_LENGTH_LIMITS);
	readonly seekDistance = new Split(SEEK_DISTANCE_LIMITS);
	readonly outstandingIOs = new Split(OUTSTANDING_LIMITS);
	readonly latency = new Split(LATENCY_LIMITS_US);
	readonly interarrival = new Split(INTERARRIVAL_LIMITS_US);

	/** Outstanding commands now: all, reads, writes. */
	outstanding = 0;
	outstandingReads = 0;
	outstandingWrites = 0;
	/** Last LBN of the previous command (all / reads / writes); NaN before the first. */
	private lastEnd = NaN;
	private lastReadEnd = NaN;
	private lastWriteEnd = NaN;
	/** Arrival time of the previous command (all / reads / writes); NaN before the first. */
	private lastAt = NaN;
	private lastReadAt = NaN;
	private lastWriteAt = NaN;

	/** A read or write arrives at `now` (µs): lba and length in 512-byte sectors. */
	arrive(isRead: boolean, lba: number, sectors: number, now: number): void {
		this.ioLength.add(isRead, sectors * 512);
		const end = lba + (sectors > 0 ? sectors - 1 : 0);
		// Seek distance: from the last LBN of the previous command (sequential = +1).
		if (this.lastEnd === this.lastEnd) this.seekDistance.all.add(lba - this.lastEnd);
		this.lastEnd = end;
		if (this.lastAt === this.lastAt) this.interarrival.all.add(now - this.lastAt);
		this.lastAt = now;
		this.outstanding++;
		this.outstandingIOs.all.add(this.outstanding);
		if (isRead) {
			if (this.lastReadEnd === this.lastReadEnd) this.seekDistance.read.add(lba - this.lastReadEnd);
			this.lastReadEnd = end;
			if (this.lastReadAt === this.lastReadAt) this.interarrival.read.add(now - this.lastReadAt);
			this.lastReadAt = now;
			this.outstandingReads++;
			this.outstandingIOs.read.add(this.outstandingReads);
		} else {
			if (this.lastWriteEnd === this.lastWriteEnd) this.seekDistance.write.add(lba - this.lastWriteEnd);
			this.lastWriteEnd = end;
			if (this.lastWriteAt === this.lastWriteAt) this.interarrival.write.add(now - this.lastWriteAt);
			this.lastWriteAt = now;
			this.outstandingWrites++;
			this.outstandingIOs.write.add(this.outstandingWrites);
		}
	}

	/** The command that arrived at `arrivedAt` completes at `now`. */
	complete(isRead: boolean, arrivedAt: number, now: number): void {
		this.latency.add(isRead, now - arrivedAt);
		this.outstanding--;
		if (isRead) this.outstandingReads--;
		else this.outstandingWrites--;
	}

	toJSON(): Record<MetricName, SplitData> {
		return {
			ioLength: this.ioLength.toJSON(),
			seekDistance: this.seekDistance.toJSON(),
			outstandingIOs: this.outstandingIOs.toJSON(),
			latency: this.latency.toJSON(),
			interarrival: this.interarrival.toJSON()
		};
	}

	/** Restores saved histograms (positions and clocks start fresh: a new run has a new clock). */
	load(d: Partial<Record<MetricName, SplitData>>): void {
		this.ioLength.load(d.ioLength);
		this.seekDistance.load(d.seekDistance);
		this.outstandingIOs.load(d.outstandingIOs);
		this.latency.load(d.latency);
		this.interarrival.load(d.interarrival);
	}
}
