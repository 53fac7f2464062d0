/**
 * Analytics (class inspection): sees the guest's I/O as issued, never changes it (always PASS) and
 * costs no virtual time (unless a modelled CPU charge per I/O is set). It keeps:
 *
 * - VMware vscsiStats' histograms, each for all commands, reads and writes, with vscsiStats' own
 *   bucket limits (see analytics/histograms.ts): I/O length, seek distance (LBNs from the previous
 *   command's last LBN, so sequential = +1), outstanding I/Os at arrival (the new one included),
 *   latency (completion − arrival at this filter, µs) and interarrival time (µs). Only reads and
 *   writes are histogrammed (flush and unmap are counted apart), as vscsiStats does for data
 *   commands. The first command of a run has no seek distance or interarrival sample.
 * - Working-set size: distinct 4 KiB blocks touched, and written. Exact (a Set) up to
 *   `wsExactLimit` blocks; beyond that it switches to a HyperLogLog (2^14 registers, ≈ 0.8 %
 *   standard error) and says so (`workingSetExact` 0).
 * - An LBA heat map: `heatBuckets` LBA buckets × time windows of reads and writes (I/Os by first
 *   sector); windows merge pairwise when the run outgrows `heatMaxWindows`.
 * - An online LRU miss-ratio curve with SHARDS (Waldspurger et al., FAST 2015): fixed-rate
 *   SHARDS_adj at `shardsRate`, or fixed-size SHARDS with at most `shardsMaxBlocks` sampled blocks
 *   (better for small runs: exact until that many blocks, then sampling). Each 4 KiB block an I/O
 *   touches is one reference (reads and writes alike: a unified cache). With `exactMrc` the exact
 *   curve (Mattson's stack algorithm, every reference) is kept beside it, for comparison.
 *
 * Persistence: vscsiStats' histograms are statistics of a run, but a long-lived MRC is worth
 * keeping, so at power-off and suspend (with `persist`) the filter saves everything to its sidecar
 * in binary form (histograms, counters, working set or its HyperLogLog, heat map, the SHARDS
 * sample in LRU order with its distance histogram, and the exact tracker when on) and reads it back
 * in attach. A new run's clock starts at 0, so positions and arrival times start fresh and the heat
 * map continues after the saved time. State saved under other MRC or heat-map parameters is
 * dropped (that part starts fresh). A crash without power-off resumes from the last save.
 *
 * The full histograms, heat map and MRC arrays for charts: `analyticsReport(state)`.
 */
import { BlockSet } from './analytics/block-set';
import { FILTER_CONTRACT_VERSION, PASS, type FilterContext, type FilterDef } from '../engine/filter';
import { Op, SECTORS_PER_BLOCK, BLOCK_BYTES, type Io } from '../engine/io';
import { VscsiStats, type MetricName, type SplitData } from './analytics/histograms';
import { HeatMap } from './analytics/heatmap';
import { HyperLogLog } from './analytics/hll';
import { ExactMrc } from './analytics/mrc-exact';
import { Shards } from './analytics/shards';

const MIB_BLOCKS = 2 ** 20 / BLOCK_BYTES;

/** A set of block numbers that turns into a HyperLogLog past a limit. */
class BlockCounter {
	set: BlockSet | null = new BlockSet();
	hll: HyperLogLog | null = null;
	constructor(readonly limit: number) {}

	/** Adds blocks first … end − 1. */
	addRange(first: number, end: number): void {
		const s = this.set;
		if (s) {
			s.addRange(first, end);
			// Past the limit the set becomes a HyperLogLog of the same blocks (registers keep a
			// maximum per block, so it does not matter which blocks came before the switch).
			if (s.size > this.limit) {
				const h = new HyperLogLog();
				s.forEach((x) => h.add(x));
				this.hll = h;
				this.set = null;
			}
		} else for (let b = first; b < end; b++) this.hll!.add(b);
	}

	get exact(): boolean {
		return this.set !== null;
	}

	get count(): number {
		return this.set ? this.set.size : Math.round(this.hll!.estimate());
	}
}

export interface AnalyticsState {
	stats: VscsiStats;
	ios: number;
	reads: number;
	writes: number;
	/** Flushes, unmaps. */
	others: number;
	readBytes: number;
	writtenBytes: number;
	/** 4 KiB block references (the MRC's trace length). */
	blockRefs: number;
	/** Completions with an error. */
	errors: number;
	ws: BlockCounter;
	wsWritten: BlockCounter;
	heat: HeatMap;
	shards: Shards;
	exact: ExactMrc | null;
	/** Virtual time of earlier runs (restored), so the heat map continues after them. */
	clockOffsetUs: number;
	cpuUsPerIo: number;
	mrcPoints: number;
	/** Sidecar state was restored in attach. */
	restored: boolean;
}

const PARAMS = [
	{ name: 'shardsRate', type: 'number', default: 1, min: 1 / (1 << 24), max: 1, help: 'SHARDS sampling rate R = T/P (P = 2^24): a block is sampled iff hash(block) mod P < T. 1 = every block (exact). With shardsMaxBlocks > 0 this is the starting rate.' },
	{ name: 'shardsMaxBlocks', type: 'int', default: 8192, min: 0, max: 1 << 22, unit: 'blocks', help: 'Fixed-size SHARDS (the default, as the SHARDS paper recommends): at most this many sampled blocks; the rate drops as needed, so the curve is exact on small runs and accurate on large ones in bounded memory. 0 = fixed-rate SHARDS_adj at shardsRate (a fixed rate samples too few blocks on a small run: its curve is then far off).' },
	{ name: 'shardsSalt', type: 'int', default: 0, min: 0, max: 0xffffffff, help: 'Varies the spatial hash, hence which blocks are in the sample.' },
	{ name: 'exactMrc', type: 'bool', default: false, help: 'Also keep the exact LRU miss-ratio curve (Mattson, every reference; memory grows with the working set).' },
	{ name: 'mrcPoints', type: 'int', default: 100, min: 2, max: 10000, help: 'Cache sizes in the reported curve, evenly spaced from 0 to the working-set size.' },
	{ name: 'wsExactLimit', type: 'int', default: 1 << 20, min: 0, max: 1 << 23, unit: 'blocks', help: 'Working-set size is counted exactly up to this many 4 KiB blocks, then with a HyperLogLog (≈ 0.8 % error).' },
	{ name: 'heatBuckets', type: 'int', default: 256, min: 1, max: 4096, help: 'LBA buckets of the heat map across the disk.' },
	{ name: 'heatWindowUs', type: 'number', default: 1_000_000, min: 1, max: 1e12, unit: 'µs', help: 'Initial time window of the heat map (doubles when the run outgrows heatMaxWindows).' },
	{ name: 'heatMaxWindows', type: 'int', default: 120, min: 2, max: 10_000, help: 'Time windows kept by the heat map.' },
	{ name: 'cpuUsPerIo', type: 'number', default: 0, min: 0, max: 1_000_000, unit: 'µs', help: 'Modelled CPU cost per I/O, charged as a blocking call on the I/O path (0 = free).' },
	{ name: 'persist', type: 'bool', default: true, help: 'Save histograms, working set, heat map and MRC state to the sidecar at power-off and suspend, and restore them at attach.' }
] as const satisfies FilterDef['params'];

export const analytics: FilterDef<AnalyticsState> = {
	contract: FILTER_CONTRACT_VERSION,
	name: 'analytics',
	vendor: 'VAIO Playground',
	version: '1.0.0',
	class: 'inspection',
	timingOnly: true,
	description: 'vscsiStats histograms, working set, LBA heat map and a SHARDS miss-ratio curve of the guest I/O; never changes I/O.',
	params: PARAMS,

	async attach(ctx) {
		const p = ctx.params;
		const s: AnalyticsState = {
			stats: new VscsiStats(),
			ios: 0,
			reads: 0,
			writes: 0,
			others: 0,
			readBytes: 0,
			writtenBytes: 0,
			blockRefs: 0,
			errors: 0,
			ws: new BlockCounter(p.wsExactLimit as number),
			wsWritten: new BlockCounter(p.wsExactLimit as number),
			heat: HeatMap.forDisk(ctx.disk.sectors, p.heatBuckets as number, p.heatWindowUs as number, p.heatMaxWindows as number),
			// Distance bins: 1/R blocks, but at most 2^18 bins across the disk (fixed-size SHARDS from
			// R = 1 on a large disk would otherwise keep one bin per block).
			shards: new Shards(
				p.shardsRate as number,
				p.shardsMaxBlocks as number,
				p.shardsSalt as number,
				Math.ceil(ctx.disk.sectors / SECTORS_PER_BLOCK / 2 ** 18)
			),
			exact: p.exactMrc ? new ExactMrc() : null,
			clockOffsetUs: 0,
			cpuUsPerIo: p.cpuUsPerIo as number,
			mrcPoints: p.mrcPoints as number,
			restored: false
		};
		if (p.persist) await restore(ctx, s);
		return s;
	},

	onIo(io: Io, ctx) {
		const s = ctx.state;
		const op = io.op;
		if (op === Op.read || op === Op.write) {
			const isRead = op === Op.read;
			const now = ctx.now;
			s.ios++;
			if (isRead) {
				s.reads++;
				s.readBytes += io.sectors * 512;
			} else {
				s.writes++;
				s.writtenBytes += io.sectors * 512;
			}
			s.stats.arrive(isRead, io.lba, io.sectors, now);
			io.slots[ctx.index] = now;
			s.heat.add(isRead, io.lba, s.clockOffsetUs + now);
			const first = Math.floor(io.lba / SECTORS_PER_BLOCK);
			const end = Math.ceil((io.lba + io.sectors) / SECTORS_PER_BLOCK);
			s.blockRefs += end - first;
			s.ws.addRange(first, end);
			if (!isRead) s.wsWritten.addRange(first, end);
			const exact = s.exact;
			for (let b = first; b < end; b++) {
				s.shards.access(b);
				if (exact) exact.access(b);
			}
		} else s.others++;
		if (s.cpuUsPerIo > 0) ctx.charge(s.cpuUsPerIo);
		return PASS;
	},

	onDone(io, ctx) {
		const s = ctx.state;
		const arrived = io.slots[ctx.index];
		if (typeof arrived === 'number' && (io.op === Op.read || io.op === Op.write)) {
			s.stats.complete(io.op === Op.read, arrived, ctx.now);
			if (io.error) s.errors++;
		}
		return PASS;
	},

	async onEvent(event, ctx) {
		if ((event.type === 'power-off' || event.type === 'suspend') && ctx.params.persist) await save(ctx);
	},

	// The page's save at rest: the histograms, working set and MRC come back after a reload.
	async checkpoint(ctx) {
		if (ctx.params.persist) await save(ctx);
	},

	status(ctx) {
		const s = ctx.state;
		const st = s.stats;
		const [m64, m256, m1g] = s.shards.missRatios([64 * MIB_BLOCKS, 256 * MIB_BLOCKS, 1024 * MIB_BLOCKS]);
		const out: Record<string, number> = {
			ios: s.ios,
			reads: s.reads,
			writes: s.writes,
			otherCommands: s.others,
			readBytes: s.readBytes,
			writtenBytes: s.writtenBytes,
			errors: s.errors,
			blockRefs: s.blockRefs,
			workingSetBlocks: s.ws.count,
			workingSetWrittenBlocks: s.wsWritten.count,
			workingSetBytes: s.ws.count * BLOCK_BYTES,
			workingSetExact: s.ws.exact && s.wsWritten.exact ? 1 : 0,
			meanIoBytes: round(st.ioLength.all.mean),
			meanLatencyUs: round(st.latency.all.mean),
			meanReadLatencyUs: round(st.latency.read.mean),
			meanWriteLatencyUs: round(st.latency.write.mean),
			maxLatencyUs: st.latency.all.count > 0 ? round(st.latency.all.max) : 0,
			meanOutstandingIOs: round(st.outstandingIOs.all.mean),
			meanInterarrivalUs: round(st.interarrival.all.mean),
			sequentialPct: st.seekDistance.all.count > 0 ? round((100 * sequentialCount(s)) / st.seekDistance.all.count) : 0,
			sampledRefs: round(s.shards.sampledRefs),
			sampledBlocks: s.shards.sampledBlocks,
			shardsRate: round(s.shards.rate),
			missRatioAt64MiB: round(m64),
			missRatioAt256MiB: round(m256),
			missRatioAt1GiB: round(m1g),
			restored: s.restored ? 1 : 0
		};
		if (s.exact) {
			const [e64, e256, e1g] = s.exact.missRatios([64 * MIB_BLOCKS, 256 * MIB_BLOCKS, 1024 * MIB_BLOCKS]);
			out.exactMissRatioAt64MiB = round(e64);
			out.exactMissRatioAt256MiB = round(e256);
			out.exactMissRatioAt1GiB = round(e1g);
			const sizes = mrcSizes(s);
			out.mrcMeanAbsError = round(meanAbsError(s.shards.missRatios(sizes), s.exact.missRatios(sizes)));
		}
		return out;
	}
};

function round(x: number): number {
	return Math.round(x * 1e6) / 1e6;
}

/** Commands whose seek distance was exactly +1 (sequential): the bucket "1". */
function sequentialCount(s: AnalyticsState): number {
	const h = s.stats.seekDistance.all;
	return h.counts[h.limits.indexOf(1)];
}

export function meanAbsError(a: ArrayLike<number>, b: ArrayLike<number>): number {
	let e = 0;
	for (let i = 0; i < a.length; i++) e += Math.abs(a[i] - b[i]);
	return a.length > 0 ? e / a.length : 0;
}

/** The curve's cache sizes (blocks): mrcPoints sizes evenly spaced from 0 to the working set. */
export function mrcSizes(s: AnalyticsState): number[] {
	const n = s.mrcPoints;
	const top = Math.max(1, s.ws.count);
	const sizes: number[] = [];
	for (let i = 0; i < n; i++) sizes.push(Math.round((i * top) / (n - 1)));
	return sizes;
}

/** Everything the page's charts need. */
export interface AnalyticsReport {
	ios: number;
	reads: number;
	writes: number;
	/** vscsiStats histograms: limits (upper bucket limits; one more bucket above the last), counts per all/read/write. */
	histograms: Record<MetricName, SplitData>;
	workingSet: { blocks: number; writtenBlocks: number; bytes: number; method: 'exact' | 'hyperloglog' };
	heatMap: {
		buckets: number;
		sectorsPerBucket: number;
		windowUs: number;
		/** Start of window 0 on the run's clock (negative after a restore: earlier runs). */
		originUs: number;
		reads: number[][];
		writes: number[][];
	};
	mrc: {
		method: 'shards-adj' | 'shards-fixed-size';
		rate: number;
		refs: number;
		sampledRefs: number;
		sampledBlocks: number;
		/** Cache sizes, in 4 KiB blocks and bytes. */
		sizesBlocks: number[];
		sizesBytes: number[];
		missRatio: number[];
		/** With exactMrc: the exact LRU curve at the same sizes. */
		exactMissRatio?: number[];
	};
}

/** The full histograms, heat map and MRC arrays of an analytics instance (its ctx.state). */
export function analyticsReport(s: AnalyticsState): AnalyticsReport {
	const wsBlocks = s.ws.count;
	const sizes = mrcSizes(s);
	return {
		ios: s.ios,
		reads: s.reads,
		writes: s.writes,
		histograms: s.stats.toJSON(),
		workingSet: {
			blocks: wsBlocks,
			writtenBlocks: s.wsWritten.count,
			bytes: wsBlocks * BLOCK_BYTES,
			method: s.ws.exact && s.wsWritten.exact ? 'exact' : 'hyperloglog'
		},
		heatMap: {
			buckets: s.heat.buckets,
			sectorsPerBucket: s.heat.sectorsPerBucket,
			windowUs: s.heat.windowUs,
			originUs: -s.clockOffsetUs,
			reads: s.heat.rows('reads'),
			writes: s.heat.rows('writes')
		},
		mrc: {
			method: s.shards.smax > 0 ? 'shards-fixed-size' : 'shards-adj',
			rate: s.shards.rate,
			refs: s.shards.refs,
			sampledRefs: s.shards.sampledRefs,
			sampledBlocks: s.shards.sampledBlocks,
			sizesBlocks: sizes,
			sizesBytes: sizes.map((b) => b * BLOCK_BYTES),
			missRatio: Array.from(s.shards.missRatios(sizes)),
			...(s.exact ? { exactMissRatio: Array.from(s.exact.missRatios(sizes)) } : {})
		}
	};
}

// ---- sidecar: binary state saved at power-off, read back in attach ----

const KEY = 'analytics.';
const FORMAT = 1;

interface Meta {
	format: number;
	counters: [ios: number, reads: number, writes: number, others: number, readBytes: number, writtenBytes: number, blockRefs: number, errors: number];
	histograms: Record<MetricName, SplitData>;
	clockOffsetUs: number;
	ws: { exact: boolean; writtenExact: boolean };
	heat: { buckets: number; sectorsPerBucket: number; maxWindows: number; initialWindowUs: number; windowUs: number; windows: number };
	shards: { rate: number; smax: number; salt: number; threshold: number; refs: number; sampledRefs: number; cold: number; total: number };
	exact: { cold: number; total: number } | null;
}

function f64Bytes(a: Float64Array): Uint8Array {
	return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}
function u32Bytes(a: Uint32Array): Uint8Array {
	return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}
function asF64(b: Uint8Array): Float64Array {
	return new Float64Array(b.slice().buffer);
}
function asU32(b: Uint8Array): Uint32Array {
	return new Uint32Array(b.slice().buffer);
}

async function save(ctx: FilterContext<AnalyticsState>): Promise<void> {
	const s = ctx.state;
	const p = ctx.params;
	const sc = ctx.sidecar;
	const meta: Meta = {
		format: FORMAT,
		counters: [s.ios, s.reads, s.writes, s.others, s.readBytes, s.writtenBytes, s.blockRefs, s.errors],
		histograms: s.stats.toJSON(),
		clockOffsetUs: s.clockOffsetUs + ctx.now,
		ws: { exact: s.ws.exact, writtenExact: s.wsWritten.exact },
		heat: {
			buckets: s.heat.buckets,
			sectorsPerBucket: s.heat.sectorsPerBucket,
			maxWindows: s.heat.maxWindows,
			initialWindowUs: p.heatWindowUs as number,
			windowUs: s.heat.windowUs,
			windows: s.heat.windows
		},
		shards: {
			rate: p.shardsRate as number,
			smax: s.shards.smax,
			salt: s.shards.salt,
			threshold: s.shards.threshold,
			refs: s.shards.refs,
			sampledRefs: s.shards.sampledRefs,
			cold: s.shards.hist.cold,
			total: s.shards.hist.total
		},
		exact: s.exact ? { cold: s.exact.hist.cold, total: s.exact.hist.total } : null
	};
	const counterBytes = (c: BlockCounter) => (c.set ? f64Bytes(c.set.toArray()) : c.hll!.registers.slice());
	await sc.set(KEY + 'ws', counterBytes(s.ws));
	await sc.set(KEY + 'wsw', counterBytes(s.wsWritten));
	await sc.set(KEY + 'heat.r', u32Bytes(s.heat.reads.slice(0, s.heat.windows * s.heat.buckets)));
	await sc.set(KEY + 'heat.w', u32Bytes(s.heat.writes.slice(0, s.heat.windows * s.heat.buckets)));
	await sc.set(KEY + 'shards.lru', f64Bytes(s.shards.tracker.lruOrder()));
	await sc.set(KEY + 'shards.hist', f64Bytes(s.shards.hist.weights()));
	if (s.exact) {
		await sc.set(KEY + 'exact.lru', f64Bytes(s.exact.tracker.lruOrder()));
		await sc.set(KEY + 'exact.hist', f64Bytes(s.exact.hist.weights()));
	}
	// Meta last: a save interrupted before it leaves the previous meta, which restore checks first.
	await sc.set(KEY + 'meta', new TextEncoder().encode(JSON.stringify(meta)));
}

async function restore(ctx: FilterContext<AnalyticsState>, s: AnalyticsState): Promise<void> {
	const sc = ctx.sidecar;
	const p = ctx.params;
	const raw = await sc.get(KEY + 'meta');
	if (!raw) return;
	let meta: Meta;
	try {
		meta = JSON.parse(new TextDecoder().decode(raw)) as Meta;
	} catch {
		ctx.log('analytics: unreadable sidecar state, starting fresh');
		return;
	}
	if (meta.format !== FORMAT) return;
	[s.ios, s.reads, s.writes, s.others, s.readBytes, s.writtenBytes, s.blockRefs, s.errors] = meta.counters;
	s.stats.load(meta.histograms);
	s.clockOffsetUs = meta.clockOffsetUs;

	const loadCounter = async (c: BlockCounter, key: string, exact: boolean) => {
		const b = await sc.get(KEY + key);
		if (!b) return;
		if (exact && c.set) for (const x of asF64(b)) c.addRange(x, x + 1);
		else if (!exact) {
			c.set = null;
			c.hll = new HyperLogLog();
			c.hll.registers.set(b.subarray(0, c.hll.registers.length));
		}
	};
	await loadCounter(s.ws, 'ws', meta.ws.exact);
	await loadCounter(s.wsWritten, 'wsw', meta.ws.writtenExact);

	const h = meta.heat;
	if (
		h.buckets === s.heat.buckets &&
		h.sectorsPerBucket === s.heat.sectorsPerBucket &&
		h.maxWindows === s.heat.maxWindows &&
		h.initialWindowUs === (p.heatWindowUs as number)
	) {
		const r = await sc.get(KEY + 'heat.r');
		const w = await sc.get(KEY + 'heat.w');
		if (r && w) {
			s.heat.reads.set(asU32(r));
			s.heat.writes.set(asU32(w));
			s.heat.windowUs = h.windowUs;
			s.heat.windows = h.windows;
		}
	} else s.clockOffsetUs = 0;

	const m = meta.shards;
	if (m.rate === (p.shardsRate as number) && m.smax === s.shards.smax && m.salt === s.shards.salt) {
		const lru = await sc.get(KEY + 'shards.lru');
		const hist = await sc.get(KEY + 'shards.hist');
		if (lru && hist) {
			const sh = s.shards;
			for (const b of asF64(lru)) sh.tracker.access(b);
			sh.threshold = m.threshold;
			sh.refs = m.refs;
			sh.sampledRefs = m.sampledRefs;
			sh.hist.load(asF64(hist), m.cold, m.total);
			sh.rebuildHeap();
		}
	}
	if (meta.exact && s.exact) {
		const lru = await sc.get(KEY + 'exact.lru');
		const hist = await sc.get(KEY + 'exact.hist');
		if (lru && hist) {
			for (const b of asF64(lru)) s.exact.tracker.access(b);
			s.exact.hist.load(asF64(hist), meta.exact.cold, meta.exact.total);
		}
	}
	s.restored = true;
	ctx.log(`analytics: restored ${s.ios} I/Os of statistics from the sidecar`);
}
