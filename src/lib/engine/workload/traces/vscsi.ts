/**
 * VMware vscsi traces: the binary records that vscsiStats tracing writes (and libCacheSim
 * reads), little-endian, in two versions told apart by a version field in every record:
 *
 *   v1, 32 bytes: u32 serial, u32 length (bytes), u32 scatter-gather count, u16 SCSI command,
 *                 u16 version (version = value >> 8 = 1), u64 LBA (512-byte sectors),
 *                 u64 timestamp (µs)
 *   v2, 40 bytes: u16 SCSI command, u16 version (>> 8 = 2), u32 serial, u32 length, u32 sg count,
 *                 u64 LBA, u64 timestamp (µs), u64 response time (µs)
 *
 * The version is read per record: byte 15 is the version's high byte in a v1 record (1), byte 3
 * in a v2 record (2). Byte 15 of a v2 record is the top byte of its scatter-gather count, never 1
 * (that would be 16 million segments), so byte 15 = 1 means v1 even when byte 3 happens to be 2
 * (a v1 serial number such as 0x02…); otherwise byte 3 = 2 means v2, and anything else is an
 * error. READ(6/10/12/16) and WRITE(6/10/12/16) (and WRITE AND VERIFY) become reads and
 * writes; SYNCHRONIZE CACHE becomes a flush; other commands (INQUIRY, TEST UNIT READY, UNMAP
 * whose ranges are in the data, …) are counted as skipped. A length that is not a multiple of
 * 512 is rounded up to whole sectors; a zero length is skipped. Timestamps are kept as they are
 * (µs since the tracer's epoch).
 */
import { Op, SECTOR_BYTES, type OpCode } from '../../io';
import {
	emit,
	emptySummary,
	extentProblem,
	skip,
	TraceFormatError,
	type TraceReader,
	type TraceSink,
	type TraceSummary
} from './types';

const V1_BYTES = 32;
const V2_BYTES = 40;

/** SCSI opcode → Op, or -1 for commands that carry no disk I/O. */
const OPCODE = new Int8Array(256).fill(-1);
for (const c of [0x08, 0x28, 0xa8, 0x88]) OPCODE[c] = Op.read;
for (const c of [0x0a, 0x2a, 0xaa, 0x8a, 0x2e, 0xae, 0x8e]) OPCODE[c] = Op.write;
for (const c of [0x35, 0x91]) OPCODE[c] = Op.flush;

export class VscsiReader implements TraceReader {
	readonly format = 'vscsi' as const;
	readonly summary: TraceSummary = emptySummary();
	/** Bytes of a record split across chunks. */
	private readonly carry = new Uint8Array(V2_BYTES);
	private readonly carryView = new DataView(this.carry.buffer);
	private carryLen = 0;
	/** Byte offset of the next record in the input, and its 1-based number. */
	private offset = 0;
	private index = 1;

	push(chunk: Uint8Array, sink: TraceSink): void {
		this.summary.bytes += chunk.length;
		let p = 0;
		if (this.carryLen > 0) {
			const take = Math.min(V2_BYTES - this.carryLen, chunk.length);
			this.carry.set(chunk.subarray(0, take), this.carryLen);
			const avail = this.carryLen + take;
			const len = this.recordLength(this.carry, 0, avail);
			if (len === 0) {
				this.carryLen = avail;
				return;
			}
			this.parse(this.carryView, 0, len, sink);
			p = len - this.carryLen;
			this.carryLen = 0;
		}
		const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
		const n = chunk.length;
		while (p < n) {
			const len = this.recordLength(chunk, p, n - p);
			if (len === 0) break;
			this.parse(view, p, len, sink);
			p += len;
		}
		if (p < n) {
			this.carry.set(chunk.subarray(p), 0);
			this.carryLen = n - p;
		}
	}

	end(_sink: TraceSink): void {
		if (this.carryLen > 0)
			this.fail(`the input ends inside a record: ${this.carryLen} bytes left, a record is ${V1_BYTES} (v1) or ${V2_BYTES} (v2) bytes (a truncated file?)`);
	}

	/** 32 or 40 for a record at `off`, 0 when more bytes are needed to tell; throws when neither. */
	private recordLength(buf: Uint8Array, off: number, avail: number): number {
		if (avail < 16) return 0;
		let version: number;
		if (buf[off + 15] === 1) version = 1;
		else if (buf[off + 3] === 2) version = 2;
		else
			return this.fail(
				`no vscsi version: byte 15 is 0x${hex(buf[off + 15])} (1 in a v1 record), byte 3 is 0x${hex(buf[off + 3])} (2 in a v2 record); not a vscsi trace, or out of step`
			);
		const len = version === 1 ? V1_BYTES : V2_BYTES;
		return avail < len ? 0 : len;
	}

	private parse(view: DataView, off: number, len: number, sink: TraceSink): void {
		const v1 = len === V1_BYTES;
		const cmd = view.getUint16(off + (v1 ? 12 : 0), true) & 0xff;
		const bytes = view.getUint32(off + (v1 ? 4 : 8), true);
		const lba = this.u64(view, off + 16, 'LBA');
		const time = this.u64(view, off + 24, 'timestamp');
		const op = OPCODE[cmd] as OpCode | -1;
		if (op === -1) skip(this.summary, `SCSI opcode 0x${hex(cmd)}`);
		else if (op === Op.flush) emit(this.summary, sink, time, op, 0, 0);
		else if (bytes === 0) skip(this.summary, 'zero length');
		else {
			const sectors = Math.ceil(bytes / SECTOR_BYTES);
			const problem = extentProblem(lba, sectors);
			if (problem) this.fail(problem);
			emit(this.summary, sink, time, op, lba, sectors);
		}
		this.offset += len;
		this.index++;
	}

	private u64(view: DataView, off: number, what: string): number {
		const lo = view.getUint32(off, true);
		const hi = view.getUint32(off + 4, true);
		if (hi >= 0x200000) this.fail(`${what} ${hi.toString(16)}${lo.toString(16).padStart(8, '0')}h is beyond 2^53`);
		return hi * 0x100000000 + lo;
	}

	private fail(reason: string): never {
		throw new TraceFormatError('vscsi', `record ${this.index} at byte ${this.offset}`, reason);
	}
}

function hex(n: number): string {
	return n.toString(16).padStart(2, '0');
}
