/**
 * SNIA MSR Cambridge block traces (Narayanan et al., "Write off-loading", FAST 2008): CSV lines
 *
 *   Timestamp,Hostname,DiskNumber,Type,Offset,Size,ResponseTime
 *   128166372003061629,hm,1,Read,3154152448,4096,1234
 *
 * Timestamp is a Windows filetime (100 ns ticks since 1601), Type is Read or Write, Offset and
 * Size are bytes, ResponseTime is in ticks (ignored here). A header line is allowed; blank lines
 * are skipped. Type is read in any case (Read, read, WRITE). Another CSV is an error at its
 * first line; libCacheSim's vscsi CSV ("version,time,op,size,lbn") is named as such.
 * Filetimes are beyond 2^53 µs, so record times are µs since the file's first
 * record (computed exactly from the digits). Offsets are rounded down and ends up to whole
 * 512-byte sectors. A file holds one disk; should it hold several, the first disk seen (or the
 * one asked for: "host/disk", or "disk" for that number on the first host that has it) is
 * replayed and the others' records are counted by disk in the summary's otherDisks.
 */
import { Op } from '../../io';
import { LineTraceReader, quote } from './lines';
import { emit, extentProblem, otherDisk, skip, type TraceSink } from './types';

export interface MsrOptions {
	/**
	 * The disk to replay: "hostname/disknumber", or "disknumber" alone for the first host with
	 * that disk (default: the first disk in the file).
	 */
	disk?: string;
}

const DIGITS = /^\d+$/;
/** An MSR disk as asked for: "host/disk" or "disk". */
export const MSR_DISK = /^(?:([^/,\s]+)\/)?(\d+)$/;

export class MsrReader extends LineTraceReader {
	readonly format = 'msr' as const;
	/** The disk replayed ("host/disk"), fixed by the first record that matches. */
	private disk: string | undefined;
	private readonly wantHost: string | undefined;
	private readonly wantDisk: number | undefined;
	private seenRecord = false;
	/** The first timestamp split in two exact halves: ticks = hi·1e9 + lo. */
	private t0Hi = 0;
	private t0Lo = 0;

	constructor(options: MsrOptions = {}) {
		super();
		if (options.disk !== undefined) {
			const m = MSR_DISK.exec(options.disk.trim());
			if (!m) throw new RangeError(`msr: disk "${options.disk}" is not HOST/DISK or DISK (e.g. hm/0 or 0)`);
			this.wantHost = m[1];
			this.wantDisk = Number(m[2]);
		}
	}

	protected parseLine(line: string, sink: TraceSink): void {
		if (line.trim() === '') return;
		const f = line.split(',');
		if (!this.seenRecord && this.line <= 1 && /^\s*timestamp\s*$/i.test(f[0])) return; // header
		if (this.line <= 1 && f.map((x) => x.trim().toLowerCase()).join(',') === 'version,time,op,size,lbn')
			this.fail(
				`"${line.trim()}" is the header of libCacheSim's vscsi CSV (a vscsi trace as text, SCSI opcodes and sectors), not an MSR Cambridge trace: replay the binary .vscsi trace it was made from, as vscsi`
			);
		if (f.length !== 7)
			this.fail(`${f.length} fields, expected 7 (Timestamp,Hostname,DiskNumber,Type,Offset,Size,ResponseTime): ${quote(line)}`);
		const [ts, host, diskNo, type, offset, size, rt] = f.map((x) => x.trim());
		if (!DIGITS.test(ts) || ts.length > 20) this.fail(`Timestamp ${quote(ts)} is not a filetime (an integer of 100 ns ticks)`);
		if (!DIGITS.test(diskNo)) this.fail(`DiskNumber ${quote(diskNo)} is not an integer`);
		const t = type.toLowerCase();
		if (t !== 'read' && t !== 'write') this.fail(`Type ${quote(type)} is not Read or Write`);
		const off = this.integer('Offset', offset);
		const bytes = this.integer('Size', size);
		if (!DIGITS.test(rt)) this.fail(`ResponseTime ${quote(rt)} is not an integer`);

		const hi = ts.length > 9 ? Number(ts.slice(0, -9)) : 0;
		const lo = Number(ts.slice(-9));
		if (!this.seenRecord) {
			this.seenRecord = true;
			this.t0Hi = hi;
			this.t0Lo = lo;
		}
		const key = `${host}/${diskNo}`;
		if (this.disk === undefined && (this.wantDisk === undefined || (Number(diskNo) === this.wantDisk && (this.wantHost ?? host) === host))) {
			this.disk = key;
			this.summary.disk = key;
		}
		if (key !== this.disk) {
			otherDisk(this.summary, key);
			return;
		}
		if (bytes === 0) {
			skip(this.summary, 'zero size');
			return;
		}
		const lba = Math.floor(off / 512);
		const sectors = Math.ceil((off + bytes) / 512) - lba;
		const problem = extentProblem(lba, sectors);
		if (problem) this.fail(problem);
		const ticks = (hi - this.t0Hi) * 1e9 + (lo - this.t0Lo);
		emit(this.summary, sink, ticks / 10, t === 'read' ? Op.read : Op.write, lba, sectors);
	}

	private integer(name: string, text: string): number {
		if (!DIGITS.test(text)) this.fail(`${name} ${quote(text)} is not a whole number of bytes`);
		const v = Number(text);
		if (!Number.isSafeInteger(v)) this.fail(`${name} ${text} is too large`);
		return v;
	}
}
