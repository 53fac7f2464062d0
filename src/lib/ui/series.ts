/**
 * Live time series for the charts, built from the frames the worker streams. Each frame covers a
 * window of virtual time; windows are merged into points of at least `minSpanUs` (or `maxFrames`
 * frames, for slow motion) so a chart gets steady points whatever the frame rate, and only the
 * last `capacity` points are kept.
 */
import type { Frame } from '$lib/worker/api';

export interface SeriesPoint {
	/** End of the point's window, virtual µs. */
	t: number;
	iops: number;
	mbps: number;
	readIops: number;
	writeIops: number;
	readMbps: number;
	writeMbps: number;
	p50: number;
	p99: number;
	/** Filter gauges at the end of the window, by "filter.counter" (e.g. "cache.readHitRatio"). */
	gauges: Record<string, number>;
}

/**
 * Filter counters that make sense as live gauges (the rest are totals shown in panels). The names
 * are the filters' own status() keys; series.test.ts checks each against a real run.
 */
export const GAUGES: Record<string, string[]> = {
	cache: ['readHitRatio', 'writeHitRatio', 'dirtyBlocks', 'occupancyPct'],
	dedup: ['dedupRatio', 'physicalBlocks', 'logicalBlocks'],
	replication: ['rpoUs', 'lagBytes', 'lagWrites', 'journalBytes'],
	tiering: ['fastShare', 'fastShareRecent'],
	analytics: ['workingSetBlocks']
};

/** Points a series keeps (the oldest are dropped). */
export const SERIES_CAPACITY = 600;

export class SeriesBuilder {
	readonly points: SeriesPoint[] = [];
	private acc = empty(-1);
	private frames = 0;

	/**
	 * A point closes once it spans `minSpanUs` of virtual time, or after `maxFrames` frames with
	 * completions (slow motion: a millisecond of virtual time can take many wall seconds).
	 */
	constructor(
		readonly minSpanUs = 1000,
		readonly capacity = SERIES_CAPACITY,
		readonly maxFrames = 30
	) {}

	clear(): void {
		this.points.length = 0;
		this.acc = empty(-1);
		this.frames = 0;
	}

	/** Adds a frame; returns true when a new point was emitted. */
	add(f: Frame): boolean {
		const w = f.window;
		const a = this.acc;
		if (a.from < 0) a.from = w.fromUs;
		a.ios += w.ios;
		a.reads += w.reads;
		a.writes += w.writes;
		a.bytes += w.bytes;
		a.readBytes += w.readBytes;
		a.writeBytes += w.writeBytes;
		// Percentiles of merged windows: an I/O-weighted mean of the windows' percentiles.
		a.p50 += w.p50 * w.ios;
		a.p99 = Math.max(a.p99, w.p99);
		a.weight += w.ios;
		this.frames++;
		const span = w.toUs - a.from;
		const enough = span >= this.minSpanUs || (this.frames >= this.maxFrames && a.ios > 0);
		if (!enough && f.state === 'running') return false;
		if (span <= 0) return false;
		const perS = 1e6 / span;
		this.points.push({
			t: w.toUs,
			iops: a.ios * perS,
			mbps: (a.bytes / 1e6) * perS,
			readIops: a.reads * perS,
			writeIops: a.writes * perS,
			readMbps: (a.readBytes / 1e6) * perS,
			writeMbps: (a.writeBytes / 1e6) * perS,
			p50: a.weight ? a.p50 / a.weight : 0,
			p99: a.p99,
			gauges: gauges(f)
		});
		if (this.points.length > this.capacity) this.points.splice(0, this.points.length - this.capacity);
		this.acc = empty(w.toUs);
		this.frames = 0;
		return true;
	}
}

function empty(from: number) {
	return { from, ios: 0, reads: 0, writes: 0, bytes: 0, readBytes: 0, writeBytes: 0, p50: 0, p99: 0, weight: 0 };
}

function gauges(f: Frame): Record<string, number> {
	const out: Record<string, number> = {};
	for (const filter of f.filters) {
		const keys = GAUGES[filter.name];
		if (!keys) continue;
		for (const k of keys) {
			const v = filter.status[k];
			if (typeof v === 'number') out[`${filter.name}.${k}`] = v;
		}
	}
	return out;
}
