import type { OpCode } from '../io';

export type RwMode = 'read' | 'write' | 'randread' | 'randwrite' | 'randrw' | 'rw' | 'trim' | 'randtrim';

/**
 * fio's random_distribution: random, zipf:θ (θ ≠ 1 for fio; 0 is uniform, θ < 0 favours the
 * high ranks), pareto:h, normal (sigmaPct: fio's normal:N,
 * the deviation added to the 12-uniform bell, as % of the region; 0 = bare `normal`).
 */
export type RandomDistribution =
	| { kind: 'random' }
	| { kind: 'zipf'; theta: number }
	| { kind: 'pareto'; h: number }
	| { kind: 'normal'; sigmaPct: number }
	/**
	 * fio's zoned:A/S:…: zone k takes accessPct of the I/Os, spread uniformly over the next
	 * sizePct of the region (zones in order from the region's start; sizes may leave a tail that
	 * is never accessed). The accessPct add up to 100.
	 */
	| { kind: 'zoned'; zones: ZoneSplit[] };

/** One zone of a zoned distribution: share of the I/Os and of the region, in percent. */
export interface ZoneSplit {
	accessPct: number;
	sizePct: number;
}

/** One block-size bucket of fio's bssplit (bytes, weight in percent). */
export interface BsSplit {
	bs: number;
	pct: number;
}

/**
 * One workload stream, in the spirit of a fio job. Sizes in bytes; times in virtual µs.
 * A disk may run several streams; each has its own region, mix and seed-derived PRNG.
 */
export interface WorkloadSpec {
	rw: RwMode;
	/** Block size in bytes (multiple of 512). Ignored when bssplit is given. */
	bs: number;
	bssplit?: BsSplit[];
	/** Alignment of random offsets in bytes (multiple of 512); default = bs (fio's blockalign). */
	blockalign?: number;
	/** Outstanding I/Os this stream keeps in flight. */
	iodepth: number;
	/** Percentage of reads in mixed modes (randrw, rw). */
	rwmixread: number;
	/** Region: [offset, offset + size) in bytes; size 0 = to the end of the disk. */
	offset: number;
	size: number;
	/** Stop after this many I/Os (0 = no limit). */
	ios: number;
	/** Stop issuing after this much virtual time (0 = no limit). */
	runtimeUs: number;
	/**
	 * Stop once this many bytes were issued, also when `ios` or `runtimeUs` is set (fio's
	 * io_size; a multiple of 512). Absent: the stream stops after one pass over the region only
	 * when neither `ios` nor `runtimeUs` is set.
	 */
	ioSize?: number;
	randomDistribution: RandomDistribution;
	/**
	 * fio's random map (fio without norandommap): with the uniform `random` distribution, each
	 * unit of the region is picked at most once per pass over it. Absent or false: offsets are
	 * drawn with replacement (fio's norandommap); other distributions always are.
	 */
	randomMap?: boolean;
	/** Percentage of written blocks whose content repeats earlier content (fio dedupe_percentage). */
	dedupePercentage: number;
	/** Idle time after each I/O completes before the next is issued, µs (fio thinktime). */
	thinktimeUs: number;
	/** Cap on issue rate (0 = none), fio rate_iops. */
	rateIops: number;
	/** Issue a flush (SYNCHRONIZE CACHE) after every N writes (0 = never), fio fsync. */
	fsync?: number;
	/**
	 * Sequential modes only: bytes added to the next offset after each I/O (fio's rw=MODE:N,
	 * ddir_seq_add), a multiple of 512. Positive leaves holes (rw=write:4k writes every other 4k
	 * block); negative walks back (rw=read:-8k reads a region backwards with 4k blocks). Absent or 0:
	 * contiguous. Ignored by the random modes. See WorkloadStream for the wrap at the region's ends.
	 */
	seqAdd?: number;
}

/** One guest I/O produced by a stream. */
export interface GuestIoSpec {
	op: OpCode;
	/** First sector. */
	lba: number;
	/** Length in sectors. */
	sectors: number;
	/**
	 * For writes: the content id of each 4 KiB block the write touches, in order (see verify.ts:
	 * sector s of the write carries slice s % 8 of its block's content). 0 never appears here.
	 */
	contents?: Uint32Array;
}
