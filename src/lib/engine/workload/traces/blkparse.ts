/**
 * Linux blktrace as printed by blkparse in its default format, one event per line:
 *
 *   8,0    3        1     0.000000000   697  Q   W 223490 + 8 [kjournald]
 *   MAJ,MIN CPU   SEQ    SECONDS.NANOS  PID ACTION RWBS SECTOR + COUNT [PROCESS]
 *
 * A request appears several times as it moves through the block layer (Q queued, G get
 * request, I inserted, D dispatched to the driver, C completed, M/F merged, …). One action is
 * replayed; the others are read and passed over:
 * - D (the default): what the driver handed to the device, after the block layer merged and
 *   sorted requests. A trace taken inside a VM shows at D exactly what its virtual disk received,
 *   which is what a VAIO filter sees; merged requests appear once, as they reached the device.
 * - Q (`event: 'Q'`): what was submitted to the block layer, before merging, i.e. what the
 *   application and file system asked for.
 * RWBS: D (discard) is an unmap, W a write, R a read; an F without data (a flush request, or a
 * FUA/preflush marker on an empty request) is a flush; a write with F (FWS) is a write. N and
 * records with no sectors otherwise carry no I/O and are skipped. Times are the trace's seconds
 * since its start, in µs. The first device seen (or the one asked for, "8,0") is replayed;
 * events of other devices are counted as skipped. The summary blkparse prints at the end
 * ("CPU0 (8,0):", "Total (8,0):", …) ends the events; a line that is none of these is an error.
 */
import { Op, type OpCode } from '../../io';
import { LineTraceReader, quote } from './lines';
import { emit, extentProblem, skip, type TraceSink } from './types';

export interface BlkparseOptions {
	/** The action replayed: D (dispatch, the default) or Q (queue). */
	event?: 'D' | 'Q';
	/** The device to replay, "MAJ,MIN" (default: the first device in the trace). */
	device?: string;
}

const EVENT = /^\s*(\d+),(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\.(\d+)\s+(\d+)\s+([A-Za-z]{1,2})\s+([A-Z]+)(?:\s+(.*))?$/;
const EXTENT = /^(\d+)\s*\+\s*(\d+)\b/;
const TRAILER = /^(?:(?:CPU\d+|Total|Throughput|Events)\s*\(|Skips:)/;

export class BlkparseReader extends LineTraceReader {
	readonly format = 'blkparse' as const;
	readonly event: 'D' | 'Q';
	private device: string | undefined;
	private inTrailer = false;

	constructor(options: BlkparseOptions = {}) {
		super();
		this.event = options.event ?? 'D';
		if (this.event !== 'D' && this.event !== 'Q') throw new RangeError(`blkparse: event must be D or Q, got ${String(options.event)}`);
		this.device = options.device;
	}

	protected parseLine(line: string, sink: TraceSink): void {
		if (this.inTrailer) return;
		if (line.trim() === '') return;
		if (TRAILER.test(line)) {
			this.inTrailer = true;
			return;
		}
		const m = EVENT.exec(line);
		if (!m) {
			if (/^Input file .* added$/.test(line)) return;
			this.fail(`not a blkparse event (expected "MAJ,MIN CPU SEQ SECONDS PID ACTION RWBS …"): ${quote(line)}`);
		}
		const action = m![8];
		if (action !== this.event) return;
		const device = `${m![1]},${m![2]}`;
		this.device ??= device;
		if (device !== this.device) {
			skip(this.summary, `device ${device}`);
			return;
		}
		const nanos = m![6];
		if (nanos.length > 9) this.fail(`time ${m![5]}.${nanos} has more than 9 decimals`);
		const timeUs = Number(m![5]) * 1e6 + Number(nanos.padEnd(9, '0')) / 1000;
		if (!Number.isFinite(timeUs) || timeUs > 1e15) this.fail(`time ${m![5]}.${nanos} is out of range`);
		const rwbs = m![9];
		const rest = m![10] ?? '';
		const ext = EXTENT.exec(rest);
		const sectors = ext ? Number(ext[2]) : 0;
		let op: OpCode | -1;
		if (sectors > 0) op = rwbs.includes('D') ? Op.unmap : rwbs.includes('W') ? Op.write : rwbs.includes('R') ? Op.read : -1;
		else op = rwbs.includes('F') ? Op.flush : -1;
		if (op === -1) {
			skip(this.summary, sectors > 0 ? `RWBS ${rwbs}` : `no data (${rwbs})`);
			return;
		}
		if (op === Op.flush) {
			emit(this.summary, sink, timeUs, op, 0, 0);
			return;
		}
		const lba = Number(ext![1]);
		if (!Number.isSafeInteger(lba)) this.fail(`sector ${ext![1]} is too large`);
		const problem = extentProblem(lba, sectors);
		if (problem) this.fail(problem);
		emit(this.summary, sink, timeUs, op, lba, sectors);
	}
}
