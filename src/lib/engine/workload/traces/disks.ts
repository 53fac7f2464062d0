/**
 * The disk of a multi-disk trace, as the CLI's `--trace-disk` and the page's disk chooser take
 * it: an MSR disk "HOST/DISK" (or "DISK", that number on the first host that has it), a blkparse
 * device "MAJ,MIN". By default the first disk in the file replays; the others' records are
 * counted in the summary's otherDisks. A vscsi trace is one disk.
 *
 * - traceReaderOptions: the reader's options for a disk id (a malformed id is a TraceDiskError);
 * - traceDisks: the disks a summary has seen, first one first, with their record counts;
 * - traceDiskProblem: why an id asked for is not a disk of the file (absent, or a number several
 *   MSR hosts have), from the disks the file holds.
 */
import { BLKPARSE_DEVICE } from './blkparse';
import type { TraceReaderOptions } from './index';
import { MSR_DISK } from './msr';
import type { TraceFormat, TraceSummary } from './types';

/** A disk id that does not fit the format (the message is the reason, without the option's name). */
export class TraceDiskError extends Error {
	override name = 'TraceDiskError';
}

/** A trace's disk and its records (all of them, with those skipped for carrying no I/O). */
export interface TraceDisk {
	id: string;
	records: number;
}

/** The reader's options for a disk (undefined: the first in the file) and blkparse event; throws TraceDiskError. */
export function traceReaderOptions(format: TraceFormat, disk?: string, blkparseEvent: 'D' | 'Q' = 'D'): TraceReaderOptions {
	if (disk !== undefined && format === 'vscsi') throw new TraceDiskError('only with msr or blkparse traces (a vscsi trace is one disk)');
	if (format === 'msr') {
		if (disk !== undefined && !MSR_DISK.test(disk)) throw new TraceDiskError(`"${disk}" is not an MSR disk, HOST/DISK or DISK (e.g. hm/0 or 0)`);
		return disk !== undefined ? { msr: { disk } } : {};
	}
	if (format === 'blkparse') {
		if (disk !== undefined && !BLKPARSE_DEVICE.test(disk)) throw new TraceDiskError(`"${disk}" is not a blkparse device, MAJ,MIN (e.g. 8,0)`);
		return { blkparse: { event: blkparseEvent, ...(disk !== undefined ? { device: disk } : {}) } };
	}
	return {};
}

/** The disk a reader was asked for, if any. */
export function askedTraceDisk(options: TraceReaderOptions | undefined): string | undefined {
	return options?.msr?.disk ?? options?.blkparse?.device;
}

/** The disks a summary has seen: the replayed one first (with its skipped records), then the others as met. */
export function traceDisks(summary: Pick<TraceSummary, 'disk' | 'records' | 'skipped' | 'otherDisks'>): TraceDisk[] {
	const out: TraceDisk[] = summary.disk !== undefined ? [{ id: summary.disk, records: summary.records + summary.skipped }] : [];
	for (const [id, records] of Object.entries(summary.otherDisks)) out.push({ id, records });
	return out;
}

/**
 * Why `asked` is not one disk of a file holding `disks` (ids, first one first), or null when it
 * is: `missing` (no such disk) or `ambiguous` (an MSR number several hosts have). `file` names
 * the file in the message.
 */
export function traceDiskProblem(
	format: TraceFormat,
	asked: string,
	disks: readonly string[],
	file: string,
	blkparseEvent: 'D' | 'Q' = 'D'
): { kind: 'missing' | 'ambiguous'; message: string } | null {
	const matches = disks.filter((id) => sameTraceDisk(format, asked, id));
	if (matches.length === 0) {
		const what = format === 'blkparse' ? `${blkparseEvent} events of device` : 'records of disk';
		return { kind: 'missing', message: `no ${what} ${asked} in ${file} (${disks.length ? `it has: ${disks.join(', ')}` : 'it has none'})` };
	}
	// MSR by number alone: the same number on another host is a different disk.
	if (matches.length > 1) return { kind: 'ambiguous', message: `several hosts have disk ${asked} (${matches.join(', ')}): give HOST/DISK` };
	return null;
}

/** True when the id asked for names disk `id` of the file. */
function sameTraceDisk(format: TraceFormat, asked: string, id: string): boolean {
	if (format === 'msr') {
		const a = MSR_DISK.exec(asked.trim());
		const d = MSR_DISK.exec(id);
		return !!a && !!d && Number(a[2]) === Number(d[2]) && (a[1] === undefined || a[1] === d[1]);
	}
	if (format === 'blkparse') {
		const a = BLKPARSE_DEVICE.exec(asked.trim());
		const d = BLKPARSE_DEVICE.exec(id);
		return !!a && !!d && Number(a[1]) === Number(d[1]) && Number(a[2]) === Number(d[2]);
	}
	return false;
}
