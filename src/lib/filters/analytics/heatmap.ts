/**
 * An LBA heat map: a fixed number of LBA buckets across the disk × time windows, with read and
 * write counts (I/Os, by their first sector). When the run outgrows `maxWindows` windows, adjacent
 * windows are merged pairwise and the window doubles, so the map always covers the whole run in
 * bounded memory.
 */
export class HeatMap {
	readonly reads: Uint32Array;
	readonly writes: Uint32Array;
	/** Windows used so far. */
	windows = 0;

	constructor(
		readonly buckets: number,
		readonly sectorsPerBucket: number,
		public windowUs: number,
		readonly maxWindows: number
	) {
		this.reads = new Uint32Array(buckets * maxWindows);
		this.writes = new Uint32Array(buckets * maxWindows);
	}

	static forDisk(diskSectors: number, buckets: number, windowUs: number, maxWindows: number): HeatMap {
		return new HeatMap(buckets, Math.max(1, Math.ceil(diskSectors / buckets)), windowUs, maxWindows);
	}

	/** Counts one I/O starting at `lba` at time `t` (µs since the map's origin). */
	add(isRead: boolean, lba: number, t: number): void {
		let w = Math.floor(t / this.windowUs);
		while (w >= this.maxWindows) {
			this.halve();
			w = Math.floor(t / this.windowUs);
		}
		let b = Math.floor(lba / this.sectorsPerBucket);
		if (b >= this.buckets) b = this.buckets - 1;
		(isRead ? this.reads : this.writes)[w * this.buckets + b]++;
		if (w >= this.windows) this.windows = w + 1;
	}

	/** Merges windows 2i and 2i+1 into i; the window doubles. */
	private halve(): void {
		const nb = this.buckets;
		for (const a of [this.reads, this.writes]) {
			for (let i = 0; i < this.maxWindows; i++) {
				for (let b = 0; b < nb; b++) {
					const s0 = 2 * i < this.maxWindows ? a[2 * i * nb + b] : 0;
					const s1 = 2 * i + 1 < this.maxWindows ? a[(2 * i + 1) * nb + b] : 0;
					a[i * nb + b] = s0 + s1;
				}
			}
		}
		this.windowUs *= 2;
		this.windows = Math.ceil(this.windows / 2);
	}

	/** Rows (one per window used) of per-bucket counts. */
	rows(which: 'reads' | 'writes'): number[][] {
		const a = which === 'reads' ? this.reads : this.writes;
		const out: number[][] = [];
		for (let w = 0; w < this.windows; w++) out.push(Array.from(a.subarray(w * this.buckets, (w + 1) * this.buckets)));
		return out;
	}
}
