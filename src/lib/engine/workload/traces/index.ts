/**
 * Block-trace readers (vscsi, SNIA MSR CSV, blkparse text) and their replay as a guest stream.
 */
import { BlkparseReader, type BlkparseOptions } from './blkparse';
import { MsrReader, type MsrOptions } from './msr';
import { TraceRecordBuffer, type TraceFormat, type TraceReader, type TraceSummary } from './types';
import { VscsiReader } from './vscsi';

export * from './types';
export { BlkparseReader, BLKPARSE_DEVICE, type BlkparseOptions } from './blkparse';
export { MsrReader, MSR_DISK, type MsrOptions } from './msr';
export { VscsiReader } from './vscsi';
export { TraceStream, type TraceStreamOptions, type TraceTiming } from './stream';
export { askedTraceDisk, TraceDiskError, traceDiskProblem, traceDisks, traceReaderOptions, type TraceDisk } from './disks';

export interface TraceReaderOptions {
	msr?: MsrOptions;
	blkparse?: BlkparseOptions;
}

export function createTraceReader(format: TraceFormat, options: TraceReaderOptions = {}): TraceReader {
	switch (format) {
		case 'vscsi':
			return new VscsiReader();
		case 'msr':
			return new MsrReader(options.msr);
		case 'blkparse':
			return new BlkparseReader(options.blkparse);
		default:
			throw new RangeError(`unknown trace format "${String(format)}" (vscsi, msr, blkparse)`);
	}
}

/** The format a file name suggests (.vscsi, .csv, .blkparse/.blktrace/.txt), or undefined. */
export function traceFormatFromName(name: string): TraceFormat | undefined {
	const n = name.toLowerCase();
	if (/\.vscsi(\.bin)?$/.test(n)) return 'vscsi';
	if (/\.csv$/.test(n)) return 'msr';
	if (/\.(blkparse|blktrace|blk)(\.txt)?$/.test(n)) return 'blkparse';
	return undefined;
}

/**
 * Reads a whole trace held in memory (bytes, or text for the text formats) in chunks of
 * `chunkBytes`, as a stream would arrive. For tests and small files; large files go through a
 * ChunkedTraceSource instead.
 */
export function readTrace(
	format: TraceFormat,
	data: Uint8Array | string,
	options: TraceReaderOptions & { chunkBytes?: number } = {}
): { records: TraceRecordBuffer; summary: TraceSummary } {
	const reader = createTraceReader(format, options);
	const records = new TraceRecordBuffer();
	const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
	const step = Math.max(1, options.chunkBytes ?? 1 << 20);
	for (let p = 0; p < bytes.length; p += step) reader.push(bytes.subarray(p, Math.min(bytes.length, p + step)), records.push);
	reader.end(records.push);
	return { records, summary: reader.summary };
}
