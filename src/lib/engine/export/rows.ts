/**
 * What the exports read from a finished (or paused) simulation: the completed trace rows the
 * ring still holds, for each disk its key, its filters' names in chain order, and the names of
 * its workload streams (fio jobs), which issued the guest I/O.
 */
import { OP_NAMES } from '../io';
import type { Trace, TraceRow } from '../trace';
import { exportedJobName } from '../workload/fio';

/** The parts of a Simulation an export needs (a Simulation is one). */
export interface ExportSource {
	readonly trace: Trace;
	readonly disks: readonly {
		readonly key: string;
		readonly chain: { readonly filters: readonly { readonly def: { readonly name: string } }[] };
		/** The names of the disk's streams (Guest.streamName). */
		readonly guest: { streamName(stream: number): string | undefined };
	}[];
}

/** Which rows an export holds: completion indices [first, first + count) out of `completed`. */
export interface ExportedRows {
	first: number;
	count: number;
	/** Rows completed in the run (the digest covers them all). */
	completed: number;
	/** True when the ring dropped older rows: the export holds only the last `count`. */
	truncated: boolean;
}

export function exportedRows(src: ExportSource): ExportedRows {
	const t = src.trace;
	return { first: t.completed - t.held, count: t.held, completed: t.completed, truncated: t.held < t.completed };
}

/** Every held row, oldest first (completion order). */
export function* heldRows(src: ExportSource): Generator<TraceRow> {
	const { first, count } = exportedRows(src);
	for (let n = first; n < first + count; n++) {
		const r = src.trace.row(n);
		if (r) yield r;
	}
}

export const VERDICT_NAMES = ['', 'pass', 'complete', 'fail', 'defer'] as const;

export function verdictName(code: number): string {
	return VERDICT_NAMES[code] ?? `verdict ${code}`;
}

export function opName(op: number): string {
	return OP_NAMES[op] ?? `op ${op}`;
}

/** Filter names of disk `disk`, in chain order. */
export function filterNames(src: ExportSource, disk: number): string[] {
	return src.disks[disk]?.chain.filters.map((f) => f.def.name) ?? [];
}

/** Who ended the I/O: "device", a filter's name, or "" (none). */
export function endedByName(src: ExportSource, row: TraceRow): string {
	if (row.endedBy === 0) return 'device';
	if (row.endedBy === 255) return '';
	return filterNames(src, row.disk)[row.endedBy - 1] ?? `filter ${row.endedBy}`;
}

export function diskKey(src: ExportSource, disk: number): string {
	return src.disks[disk]?.key ?? `disk ${disk}`;
}

/**
 * The job (workload stream) that issued a row's I/O: the stream's name, i.e. its scenario's
 * workload[k].name (a fio job file's [job] name, numjobs clones "name.0", "name.1", …, as
 * `--json` names its `streams`) or a trace replay's file; an unnamed stream gets the [job] name a
 * fio job file export gives it (`--fio-out`, the page's Export fio job): "vaio", "vaio-1", …
 * "" for filter I/O and the framework's own (no stream).
 */
export function jobName(src: ExportSource, row: TraceRow): string {
	if (row.stream < 0) return '';
	return src.disks[row.disk]?.guest.streamName(row.stream) ?? exportedJobName(row.stream);
}
