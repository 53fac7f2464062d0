/**
 * The per-I/O trace as CSV (RFC 4180): one row per completed I/O the trace ring holds, oldest
 * first. Times are virtual µs; a time that never happened (the I/O did not reach the device, or
 * that filter) is an empty cell. Columns:
 *
 *   id, disk ("vm/disk"), op, origin (guest | filter), job (the fio job, i.e. workload stream,
 *   that issued a guest I/O: the stream's name, e.g. a job file's [job] name, or vaio, vaio-1, …
 *   as a job file export names unnamed streams; empty for filter I/O), lba, sectors, issuedAt, doneAt, latency
 *   (doneAt − issuedAt), deviceStart, deviceDone, deferredUs (total time held by filters),
 *   status (ok or an error code), endedBy (device, a filter's name, or empty),
 *   then for each filter position k = 1, 2, … of the longest chain:
 *   f<k>.name, f<k>.downIn, f<k>.downOut, f<k>.upIn, f<k>.upOut, f<k>.down, f<k>.up
 *   (the verdicts on the way down and up: pass, complete, fail, defer, or empty).
 */
import type { TraceRow } from '../trace';
import { diskKey, endedByName, filterNames, heldRows, jobName, opName, verdictName, type ExportSource } from './rows';

const FIXED = [
	'id',
	'disk',
	'op',
	'origin',
	'job',
	'lba',
	'sectors',
	'issuedAt',
	'doneAt',
	'latency',
	'deviceStart',
	'deviceDone',
	'deferredUs',
	'status',
	'endedBy'
] as const;
const PER_FILTER = ['name', 'downIn', 'downOut', 'upIn', 'upOut', 'down', 'up'] as const;

/** Filter positions to give columns to: the longest chain of any disk. */
function filterSlots(src: ExportSource): number {
	return src.disks.reduce((m, d) => Math.max(m, d.chain.filters.length), 0);
}

export function csvHeader(src: ExportSource): string[] {
	const out: string[] = [...FIXED];
	for (let k = 1; k <= filterSlots(src); k++) for (const c of PER_FILTER) out.push(`f${k}.${c}`);
	return out;
}

/** A row's cells, as strings, in header order. */
export function csvCells(src: ExportSource, r: TraceRow, slots = filterSlots(src)): string[] {
	const t = (x: number) => (x < 0 ? '' : String(x));
	const names = filterNames(src, r.disk);
	const out = [
		String(r.id),
		diskKey(src, r.disk),
		opName(r.op),
		r.origin,
		jobName(src, r),
		String(r.lba),
		String(r.sectors),
		t(r.issuedAt),
		t(r.doneAt),
		t(r.doneAt - r.issuedAt),
		t(r.deviceStart),
		t(r.deviceDone),
		String(r.deferredUs),
		r.status === '' ? 'ok' : r.status,
		endedByName(src, r)
	];
	for (let k = 0; k < slots; k++) {
		const f = r.filters[k];
		if (!f) out.push('', '', '', '', '', '', '');
		else out.push(names[k] ?? '', t(f.downIn), t(f.downOut), t(f.upIn), t(f.upOut), verdictName(f.down), verdictName(f.up));
	}
	return out;
}

function csvLine(cells: string[]): string {
	return cells.map((c) => (/[",\r\n]/.test(c) ? `"${c.replace(/"/g, '""')}"` : c)).join(',');
}

/** The CSV text in pieces of up to `linesPerChunk` lines (write them as they come). */
export function* csvChunks(src: ExportSource, linesPerChunk = 4096): Generator<string> {
	const slots = filterSlots(src);
	let buf: string[] = [csvLine(csvHeader(src))];
	for (const r of heldRows(src)) {
		buf.push(csvLine(csvCells(src, r, slots)));
		if (buf.length >= linesPerChunk) {
			yield buf.join('\n') + '\n';
			buf = [];
		}
	}
	if (buf.length > 0) yield buf.join('\n') + '\n';
}

export function toCsv(src: ExportSource): string {
	let s = '';
	for (const c of csvChunks(src)) s += c;
	return s;
}
