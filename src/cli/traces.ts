/**
 * `vaio run --trace FILE`: a block trace replayed on the default VM's disk. The file is read
 * twice, in chunks, never whole: once to count its records and find the highest sector (the disk
 * is sized to hold it), then again while the replay pulls records.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { defaultScenario, type ScenarioInput } from '../lib/engine/index';
import type { AttachedStream, DiskStreamContext } from '../lib/engine/simulation';
import { streamNameFrom } from '../lib/engine/workload/spec';
import {
	askedTraceDisk,
	ChunkedTraceSource,
	createTraceReader,
	traceDiskProblem,
	traceDisks,
	TraceStream,
	type TraceFormat,
	type TraceReaderOptions,
	type TraceSummary,
	type TraceTiming
} from '../lib/engine/workload/traces/index';
import { UsageError } from './args';
import type { ChainFilter } from './chain';

const CHUNK_BYTES = 1 << 20;
const MiB = 2 ** 20;

/** Queue depth of a replay: as fast as possible keeps 64 in flight; trace timing is open-loop. */
export const DEFAULT_TRACE_IODEPTH: Record<TraceTiming, number> = { afap: 64, trace: 1024 };

export interface TraceRunOptions {
	file: string;
	format: TraceFormat;
	reader: TraceReaderOptions;
	timing: TraceTiming;
	/** Trace timing: replay this many times faster. */
	speed: number;
	iodepth: number;
	/** Replay at most this many records (--ios). */
	maxRecords?: number;
}

/** Calls `each` with successive chunks of the file (one buffer, reused: readers copy what they keep). */
function forEachChunk(file: string, each: (chunk: Uint8Array) => void): void {
	const fd = fs.openSync(file, 'r');
	try {
		const buf = new Uint8Array(CHUNK_BYTES);
		for (;;) {
			const n = fs.readSync(fd, buf, 0, buf.length, null);
			if (n === 0) break;
			each(buf.subarray(0, n));
		}
	} finally {
		fs.closeSync(fd);
	}
}

/**
 * First pass: the trace's summary (throws TraceFormatError on malformed input, and UsageError
 * when --trace-disk names a disk the file does not have, or a disk number several hosts have).
 */
export function scanTrace(o: TraceRunOptions): TraceSummary {
	const reader = createTraceReader(o.format, o.reader);
	const sink = () => {};
	forEachChunk(o.file, (c) => reader.push(c, sink));
	reader.end(sink);
	checkTraceDisk(o, reader.summary);
	return reader.summary;
}

function checkTraceDisk(o: TraceRunOptions, summary: TraceSummary): void {
	const asked = askedTraceDisk(o.reader);
	if (asked === undefined) return;
	const problem = traceDiskProblem(o.format, asked, traceDisks(summary).map((d) => d.id), o.file, o.reader.blkparse?.event);
	if (problem) throw new UsageError(`--trace-disk ${asked}: ${problem.message}`);
}

/** The default VM and disk, sized to hold every sector the trace touches, with the given chain. */
export function traceScenario(o: TraceRunOptions, summary: TraceSummary, chain: ChainFilter[] | undefined, traceRows: number | undefined): ScenarioInput {
	const s = defaultScenario();
	const base = path.basename(o.file);
	s.name = `trace: ${base}`;
	s.description = `${o.format} trace ${base} (${summary.records} I/O records), timing ${o.timing === 'afap' ? 'as fast as possible' : 'from the trace'}.`;
	const disk = s.vms[0].disks[0];
	if (chain !== undefined) disk.policy = { ...disk.policy, filters: chain.map((f) => ({ ...f })) };
	disk.size = Math.max(MiB, Math.ceil((summary.endSector * 512) / MiB) * MiB);
	disk.workload = [];
	if (traceRows !== undefined) s.run = { traceCapacity: traceRows };
	return s;
}

/** The stream factory for Simulation's `streams` option; `close` releases the file. */
export function traceStreams(o: TraceRunOptions): {
	factory: (disk: DiskStreamContext) => AttachedStream[];
	stream: () => TraceStream | undefined;
	close: () => void;
} {
	let fd: number | undefined;
	let stream: TraceStream | undefined;
	const buf = new Uint8Array(CHUNK_BYTES);
	const close = () => {
		if (fd !== undefined) fs.closeSync(fd);
		fd = undefined;
	};
	const factory = (disk: DiskStreamContext): AttachedStream[] => {
		fd = fs.openSync(o.file, 'r');
		const source = new ChunkedTraceSource(createTraceReader(o.format, o.reader), () => {
			if (fd === undefined) return null;
			const n = fs.readSync(fd, buf, 0, buf.length, null);
			if (n === 0) {
				close();
				return null;
			}
			return buf.subarray(0, n);
		});
		stream = new TraceStream(source, {
			diskSectors: disk.sectors,
			contents: disk.contents,
			timing: o.timing,
			timeScale: 1 / o.speed,
			maxRecords: o.maxRecords
		});
		// Named by its file: the exports' job column and --json's streams[].job.
		return [{ stream, iodepth: o.iodepth, name: streamNameFrom(path.basename(o.file)) }];
	};
	return { factory, stream: () => stream, close };
}

/** What the JSON output says about the replay. */
export function traceReport(o: TraceRunOptions, summary: TraceSummary, s: TraceStream | undefined, diskBytes: number) {
	return {
		file: o.file,
		format: o.format,
		records: summary.records,
		reads: summary.reads,
		writes: summary.writes,
		flushes: summary.flushes,
		unmaps: summary.unmaps,
		skipped: summary.skipped,
		skippedWhy: summary.skippedWhy,
		...(summary.disk !== undefined ? { disk: summary.disk } : {}),
		otherDisks: summary.otherDisks,
		spanUs: summary.records > 0 ? summary.lastTimeUs - summary.firstTimeUs : 0,
		replayed: s?.issued ?? 0,
		timing: o.timing,
		speed: o.speed,
		iodepth: o.iodepth,
		diskBytes,
		wrapped: s?.wrapped ?? 0,
		late: { ios: s?.late ?? 0, maxUs: s?.maxLateUs ?? 0 },
		...(o.format === 'blkparse' ? { event: o.reader.blkparse?.event ?? 'D' } : {})
	};
}

export function traceSummaryLines(r: ReturnType<typeof traceReport>): string[] {
	const skipped = Object.entries(r.skippedWhy)
		.map(([k, v]) => `${k}: ${v}`)
		.join(', ');
	const timing =
		r.timing === 'afap' ? `as fast as possible at iodepth ${r.iodepth}` : `from the trace${r.speed !== 1 ? ` at ${r.speed}× speed` : ''}`;
	const out = [
		`  workload: ${r.format} trace ${r.file}: ${r.records} I/O records (reads=${r.reads}, writes=${r.writes}` +
			(r.flushes ? `, flushes=${r.flushes}` : '') +
			(r.unmaps ? `, unmaps=${r.unmaps}` : '') +
			`), replayed ${r.replayed}, timing ${timing}`
	];
	if (r.skipped) out.push(`    skipped (no disk I/O): ${r.skipped} (${skipped})`);
	const others = Object.entries(r.otherDisks);
	if (others.length)
		out.push(
			`    other disks: ${others.reduce((a, [, n]) => a + n, 0)} records not replayed (${others.map(([d, n]) => `${d}: ${n}`).join(', ')}); replayed: ${r.disk}, choose with --trace-disk`
		);
	if (r.late.ios) out.push(`    late: ${r.late.ios} I/Os issued after their trace time (queue full or overlapping I/O), at most ${Math.round(r.late.maxUs)}µs`);
	if (r.wrapped) out.push(`    wrapped: ${r.wrapped} records beyond the disk`);
	return out;
}
