/**
 * Linux blktrace as printed by blkparse in its default format, one event per line:
 *
 *   8,0    3        1     0.000000000   697  Q   W 223490 + 8 [kjournald]
 *   MAJ,MIN CPU   SEQ    SECONDS.NANOS  PID ACTION RWBS SECTOR + COUNT [PROCESS]
 *
 * A request appears several times as it moves through the block layer (Q queued, G get
 * request, I inserted, D dispatched to the driver, C completed, M/F merged, A remapped, X split,
 * B bounced, P/U plug and unplug, m a scheduler's message, …). One action is replayed; the
 * others are read and passed over:
 * - D (the default): what the driver handed to the device, after the block layer merged and
 *   sorted requests. A trace taken inside a VM shows at D exactly what its virtual disk received,
 *   which is what a VAIO filter sees; merged requests appear once, as they reached the device.
 * - Q (`event: 'Q'`): what was submitted to the block layer, before merging, i.e. what the
 *   application and file system asked for.
 *
 * RWBS is [F]OP[F][A][B][S][M]: a leading F is a preflush, OP one of D (discard), W (write),
 * R (read), N (no data) or, from blkparse with zoned commands, ZA (zone append) and ZR, ZRA, ZF,
 * ZO, ZC (zone reset, reset all, finish, open, close); a trailing F is FUA, A read-ahead, B a
 * barrier (old versions), S sync, M metadata. With sectors: D is an unmap, W and ZA a write
 * (a zone append at the sector printed, the zone's start), R a read; a leading F makes the
 * request two I/Os, a flush and then the data (what the block layer sends to a disk with a
 * write cache; at D it has already split them, "FN" then "WS"). FUA is a plain write (the
 * engine has no write-through flag). Without sectors, a request with an F (the flush "FN", a
 * preflush on an empty write "FWS") is a flush; N and other requests without data are skipped,
 * and so are the zone management commands (no data moves). Times are the trace's seconds since
 * its start, in µs. The first device seen (or the one asked for, "8,0") is replayed; events of
 * other devices are counted by device in the summary's otherDisks.
 *
 * The statistics blkparse prints at the end end the events: per program with -s ("NAME (PID)"
 * or "NAME" then " Reads Queued: …"), per CPU and in total ("CPU0 (8,0):", "Total (8,0):"),
 * "Throughput", "Events", "Skips". Any other line that is not an event is an error, named by its
 * line number.
 *
 * Events of the replayed action are read strictly: after RWBS blkparse prints one of
 * "SECTOR + COUNT", nothing (a request without sectors), or the byte count of a SCSI
 * pass-through command, each optionally followed by "(ELAPSED)" or "(CDB bytes)" and
 * "[PROCESS]". Anything else there is a broken line, not a request without data. Other actions
 * (G, I, M, C, P, U, m, …) print other fields: not checked.
 */
import { Op, type OpCode } from '../../io';
import { LineTraceReader, quote } from './lines';
import { emit, extentProblem, otherDisk, skip, TraceFormatError, type TraceSink } from './types';

export interface BlkparseOptions {
	/** The action replayed: D (dispatch, the default) or Q (queue). */
	event?: 'D' | 'Q';
	/** The device to replay, "MAJ,MIN" (default: the first device in the trace). */
	device?: string;
}

const EVENT = /^\s*(\d+),(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\.(\d+)\s+(\d+)\s+([A-Za-z]{1,2})\s+([A-Z]+)(?:\s+(.*))?$/;
/** RWBS: a preflush F, the operation, then FUA F, read-ahead A, barrier B, sync S, metadata M. */
const RWBS = /^(F?)(Z(?:RA|[ARFOC])|[DWRN])[FABSM]*$/;
/** After RWBS: the fields before "[PROCESS]" (PROCESS may hold anything, spaces and brackets too). */
const FIELDS = /^([^[]*?)\s*(?:\[.*\])?$/;
const ELAPSED = /^\(\s*\d+\)$/;
const SECTOR_EXTENT = /^(\S+)\s*\+\s*(\S*)(?:\s+(\(\s*\d+\)))?$/;
const PASS_THROUGH = /^\d+(?:\s+\([0-9A-Fa-f ]*\))?$/;
const DIGITS = /^\d+$/;
/** A device as asked for: "MAJ,MIN". */
export const BLKPARSE_DEVICE = /^(\d+)\s*,\s*(\d+)$/;
const TRAILER = /^(?:(?:CPU\d+|Total|Throughput|Events)\s*\(|Skips:)/;
/** The first line of a block of statistics, after its title (per program with -s: "NAME (PID)"). */
const STATS = /^\s*Reads Queued:/;

export class BlkparseReader extends LineTraceReader {
	readonly format = 'blkparse' as const;
	readonly event: 'D' | 'Q';
	private device: string | undefined;
	private inTrailer = false;
	/** A line that is not an event, held until the next tells whether it titles statistics. */
	private held: { line: string; at: number } | undefined;

	constructor(options: BlkparseOptions = {}) {
		super();
		this.event = options.event ?? 'D';
		if (this.event !== 'D' && this.event !== 'Q') throw new RangeError(`blkparse: event must be D or Q, got ${String(options.event)}`);
		if (options.device !== undefined) {
			const d = BLKPARSE_DEVICE.exec(options.device.trim());
			if (!d) throw new RangeError(`blkparse: device "${options.device}" is not MAJ,MIN (e.g. 8,0)`);
			this.device = `${Number(d[1])},${Number(d[2])}`;
		}
	}

	protected parseLine(line: string, sink: TraceSink): void {
		if (this.inTrailer) {
			// Statistics end one blkparse output: an event after them is a second output appended.
			if (EVENT.test(line))
				this.fail(`an event after blkparse's closing statistics (two outputs in one file? replay each alone): ${quote(line)}`);
			return;
		}
		if (this.held) {
			// blkparse -s titles each program's statistics with its name: the events are over.
			if (STATS.test(line)) {
				this.inTrailer = true;
				return;
			}
			this.failHeld();
		}
		if (line.trim() === '') return;
		if (TRAILER.test(line)) {
			this.inTrailer = true;
			return;
		}
		const m = EVENT.exec(line);
		if (!m) {
			if (/^Input file .* added$/.test(line)) return;
			this.held = { line, at: this.line };
			return;
		}
		const action = m![8];
		if (action !== this.event) return;
		const rwbs = m![9];
		const r = RWBS.exec(rwbs);
		if (!r) this.fail(`RWBS ${quote(rwbs)} is not one blkparse prints ([F]OP[F][A][S][M], OP one of R, W, D, N, ZA, ZR, ZRA, ZF, ZO, ZC): ${quote(line)}`);
		const preflush = r![1] === 'F';
		const kind = r![2];
		const fields = FIELDS.exec((m![10] ?? '').trim());
		if (!fields) this.fail(`text after [PROCESS]: ${quote(line)}`);
		const ext = this.extent(fields![1], rwbs);
		const device = `${Number(m![1])},${Number(m![2])}`;
		this.device ??= device;
		if (device !== this.device) {
			otherDisk(this.summary, device);
			return;
		}
		this.summary.disk = device;
		if (ext === 'pass-through') {
			skip(this.summary, `SCSI pass-through (${rwbs})`);
			return;
		}
		const nanos = m![6];
		if (nanos.length > 9) this.fail(`time ${m![5]}.${nanos} has more than 9 decimals`);
		const timeUs = Number(m![5]) * 1e6 + Number(nanos.padEnd(9, '0')) / 1000;
		if (!Number.isFinite(timeUs) || timeUs > 1e15) this.fail(`time ${m![5]}.${nanos} is out of range`);
		const sectors = ext ? ext.sectors : 0;
		if (kind.startsWith('Z') && kind !== 'ZA') {
			skip(this.summary, `zone management (${kind})`);
			return;
		}
		let op: OpCode | -1;
		if (sectors > 0) op = kind === 'D' ? Op.unmap : kind === 'W' || kind === 'ZA' ? Op.write : kind === 'R' ? Op.read : -1;
		else op = rwbs.includes('F') ? Op.flush : -1;
		if (op === -1) {
			skip(this.summary, sectors > 0 ? `RWBS ${rwbs}` : `no data (${rwbs})`);
			return;
		}
		if (op === Op.flush) {
			emit(this.summary, sink, timeUs, op, 0, 0);
			return;
		}
		const lba = ext!.lba;
		const problem = extentProblem(lba, sectors);
		if (problem) this.fail(problem);
		// A preflush: the device's cache is flushed before the data is written.
		if (preflush) emit(this.summary, sink, timeUs, Op.flush, 0, 0);
		emit(this.summary, sink, timeUs, op, lba, sectors);
	}

	protected override finish(): void {
		if (this.held && !this.inTrailer) this.failHeld();
	}

	/** The held line was not a statistics title: it is not blkparse output. */
	private failHeld(): never {
		const { line, at } = this.held!;
		throw new TraceFormatError(
			this.format,
			`line ${at}`,
			`not a blkparse event (expected "MAJ,MIN CPU SEQ SECONDS PID ACTION RWBS …"): ${quote(line)}`
		);
	}

	/**
	 * The extent of a replayed event from the fields after RWBS: null for a request without
	 * sectors, 'pass-through' for a SCSI command's byte count. A broken field is an error.
	 */
	private extent(fields: string, rwbs: string): { lba: number; sectors: number } | null | 'pass-through' {
		if (fields === '' || ELAPSED.test(fields)) return null;
		const e = SECTOR_EXTENT.exec(fields);
		if (e) {
			if (!DIGITS.test(e[1])) this.fail(`sector ${quote(e[1])} is not a whole number (in ${quote(fields)})`);
			if (e[2] === '') this.fail(`the sector count is missing after "${e[1]} +"`);
			if (!DIGITS.test(e[2])) this.fail(`sector count ${quote(e[2])} is not a whole number (in ${quote(fields)})`);
			const lba = Number(e[1]);
			if (!Number.isSafeInteger(lba)) this.fail(`sector ${e[1]} is too large`);
			return { lba, sectors: Number(e[2]) };
		}
		if (PASS_THROUGH.test(fields)) return 'pass-through';
		return this.fail(`expected "SECTOR + COUNT" or nothing before [PROCESS] after RWBS ${rwbs}, got ${quote(fields)}`);
	}
}
