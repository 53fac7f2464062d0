import { HAVE_REAL_TRACE, REAL_VSCSI_TRACE } from '../../../../../tests/shared-data';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Prng } from '../../clock';
import { Op } from '../../io';
import { builtinRegistry } from '../../../filters';
import { heldRows } from '../../export/rows';
import { runResult } from '../../result';
import { Simulation } from '../../simulation';
import { ContentSource } from '../contents';
import {
	BlkparseReader,
	ChunkedTraceSource,
	createTraceReader,
	MsrReader,
	readTrace,
	TraceFormatError,
	TraceRecordBuffer,
	TraceStream,
	traceFormatFromName,
	VscsiReader,
	type TraceRecord
} from './index';

// The real trace's bytes; empty where the shared data is missing (those tests skip).
const realBytes = HAVE_REAL_TRACE ? new Uint8Array(readFileSync(REAL_VSCSI_TRACE)) : new Uint8Array(0);

/** A vscsi record, v1 (32 bytes) or v2 (40 bytes). */
function vscsi(version: 1 | 2, cmd: number, bytes: number, lba: number, timeUs: number, serial = 0x80000001): Uint8Array {
	const b = new Uint8Array(version === 1 ? 32 : 40);
	const v = new DataView(b.buffer);
	const u64 = (off: number, x: number) => {
		v.setUint32(off, x % 2 ** 32, true);
		v.setUint32(off + 4, Math.floor(x / 2 ** 32), true);
	};
	if (version === 1) {
		v.setUint32(0, serial, true);
		v.setUint32(4, bytes, true);
		v.setUint32(8, 1, true);
		v.setUint16(12, cmd, true);
		v.setUint16(14, 0x100, true);
	} else {
		v.setUint16(0, cmd, true);
		v.setUint16(2, 0x200, true);
		v.setUint32(4, serial, true);
		v.setUint32(8, bytes, true);
		v.setUint32(12, 1, true);
		u64(32, 1234); // response time
	}
	u64(16, lba);
	u64(24, timeUs);
	return b;
}

function concat(parts: Uint8Array[]): Uint8Array {
	const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
	let o = 0;
	for (const p of parts) {
		out.set(p, o);
		o += p.length;
	}
	return out;
}

function records(buf: TraceRecordBuffer): TraceRecord[] {
	return Array.from({ length: buf.length }, (_, i) => buf.at(i));
}

function errorOf(fn: () => unknown): TraceFormatError {
	try {
		fn();
	} catch (e) {
		if (e instanceof TraceFormatError) return e;
		throw e;
	}
	throw new Error('no error');
}

describe('vscsi', () => {
	it.skipIf(!HAVE_REAL_TRACE)('reads the real CloudPhysics trace: 113,872 records, 66,898 writes, 46,974 reads', () => {
		const { records: r, summary } = readTrace('vscsi', realBytes);
		expect(summary).toMatchObject({ records: 113_872, writes: 66_898, reads: 46_974, flushes: 0, unmaps: 0, skipped: 0, bytes: realBytes.length });
		expect(r.length).toBe(113_872);
		expect(r.at(0)).toEqual({ timeUs: 0x51fbe82cf22, op: Op.write, lba: 0x028f1a09, sectors: 1 });
		// About two hours of trace.
		expect(summary.lastTimeUs - summary.firstTimeUs).toBeGreaterThan(7190e6);
		expect(summary.lastTimeUs - summary.firstTimeUs).toBeLessThan(7210e6);
		// Sizes are whole sectors but often not whole 4 KiB blocks.
		let unaligned = 0;
		for (let i = 0; i < r.length; i++) if (r.sectors[i] % 8 !== 0) unaligned++;
		expect(unaligned).toBeGreaterThan(1000);
	});

	it.skipIf(!HAVE_REAL_TRACE)('gives the same records however the input is cut into chunks', () => {
		const part = realBytes.subarray(0, 32 * 3000);
		const whole = records(readTrace('vscsi', part).records);
		for (const chunkBytes of [1, 5, 31, 33, 4096]) expect(records(readTrace('vscsi', part, { chunkBytes }).records)).toEqual(whole);
	});

	it('tells v1 from v2 per record; reads, writes, flush; skips other commands and empty transfers', () => {
		const data = concat([
			vscsi(1, 0x28, 4096, 100, 10),
			vscsi(2, 0x2a, 6656, 200, 20),
			vscsi(2, 0x35, 0, 0, 25),
			vscsi(1, 0x12, 36, 0, 30),
			vscsi(1, 0x88, 1000, 300, 40),
			vscsi(2, 0x2a, 0, 400, 50),
			// A v1 record whose serial's top byte is 2 has a 2 in byte 3 too: byte 15 decides.
			vscsi(1, 0x8a, 512, 500, 60, 0x02000000)
		]);
		for (const chunkBytes of [1, 3, 1 << 20]) {
			const { records: r, summary } = readTrace('vscsi', data, { chunkBytes });
			expect(records(r)).toEqual([
				{ timeUs: 10, op: Op.read, lba: 100, sectors: 8 },
				{ timeUs: 20, op: Op.write, lba: 200, sectors: 13 },
				{ timeUs: 25, op: Op.flush, lba: 0, sectors: 0 },
				{ timeUs: 40, op: Op.read, lba: 300, sectors: 2 },
				{ timeUs: 60, op: Op.write, lba: 500, sectors: 1 }
			]);
			expect(summary).toMatchObject({ records: 5, reads: 2, writes: 2, flushes: 1, skipped: 2, skippedWhy: { 'SCSI opcode 0x12': 1, 'zero length': 1 }, endSector: 501 });
		}
	});

	it('names the record and byte offset of malformed input', () => {
		const good = vscsi(1, 0x28, 4096, 1, 1);
		expect(errorOf(() => readTrace('vscsi', concat([good, good, good.subarray(0, 20)]))).message).toBe(
			'vscsi record 3 at byte 64: the input ends inside a record: 20 bytes left, a record is 32 (v1) or 40 (v2) bytes (a truncated file?)'
		);
		const garbage = new Uint8Array(32).fill(0x41);
		expect(errorOf(() => readTrace('vscsi', concat([good, garbage]))).message).toMatch(
			/^vscsi record 2 at byte 32: no vscsi version: byte 15 is 0x41 \(1 in a v1 record\), byte 3 is 0x41 \(2 in a v2 record\)/
		);
		expect(errorOf(() => readTrace('vscsi', concat([good, vscsi(2, 0x28, 2 ** 30, 0, 0)]))).message).toMatch(
			/^vscsi record 2 at byte 32: 1073741824 bytes is larger than 64 MiB/
		);
		expect(errorOf(() => readTrace('vscsi', concat([good, good, vscsi(1, 0x2a, 512, 2 ** 40, 0)]))).message).toMatch(
			/^vscsi record 3 at byte 64: sector 1099511627776 \+ 1 is beyond 64 TiB/
		);
		const e = errorOf(() => readTrace('vscsi', concat([good, vscsi(1, 0x2a, 512, 0, 2 ** 60)])));
		expect(e.where).toBe('record 2 at byte 32');
		expect(e.reason).toMatch(/^timestamp .* is beyond 2\^53$/);
	});
});

describe('msr (SNIA MSR Cambridge CSV)', () => {
	const CSV = [
		'Timestamp,Hostname,DiskNumber,Type,Offset,Size,ResponseTime',
		'128166372003061629,hm,1,Read,3154152448,4096,1234',
		'128166372003061639,hm,1,Write,3154156544,6144,99\r',
		'',
		'128166372013061629,hm,2,Write,0,512,5',
		'128166372013061630,hm,1,write,1000,100,7',
		'128166372003061600,hm,1,Read,512,0,7'
	].join('\n');

	it('reads records; time is µs since the first record, exactly; other disks are counted apart, empty I/O is skipped', () => {
		for (const chunkBytes of [1, 7, 1 << 20]) {
			const { records: r, summary } = readTrace('msr', CSV, { chunkBytes });
			expect(records(r)).toEqual([
				{ timeUs: 0, op: Op.read, lba: 6160454, sectors: 8 },
				{ timeUs: 1, op: Op.write, lba: 6160462, sectors: 12 },
				{ timeUs: 1_000_000.1, op: Op.write, lba: 1, sectors: 2 }
			]);
			expect(summary).toMatchObject({ records: 3, reads: 1, writes: 2, skipped: 1, disk: 'hm/1', otherDisks: { 'hm/2': 1 } });
			expect(summary.skippedWhy).toEqual({ 'zero size': 1 });
		}
	});

	it('replays another disk when asked, by HOST/DISK or by the disk number', () => {
		for (const disk of ['hm/2', '2', ' 2 ']) {
			const { records: r, summary } = readTrace('msr', CSV, { msr: { disk } });
			expect(records(r)).toEqual([{ timeUs: 1_000_000, op: Op.write, lba: 0, sectors: 1 }]);
			expect(summary).toMatchObject({ disk: 'hm/2', otherDisks: { 'hm/1': 4 } });
		}
		// A disk number on several hosts: the first host that has it; the other is another disk.
		const two = `${CSV}\n128166372013061631,prn,2,Read,0,512,5\n`;
		expect(readTrace('msr', two, { msr: { disk: '2' } }).summary).toMatchObject({ records: 1, disk: 'hm/2', otherDisks: { 'hm/1': 4, 'prn/2': 1 } });
		expect(readTrace('msr', two, { msr: { disk: 'prn/2' } }).summary).toMatchObject({ records: 1, reads: 1, disk: 'prn/2', otherDisks: { 'hm/1': 4, 'hm/2': 1 } });
		// A disk that is not in the file: nothing replayed, every disk listed.
		expect(readTrace('msr', CSV, { msr: { disk: 'hm/7' } }).summary).toMatchObject({ records: 0, otherDisks: { 'hm/1': 4, 'hm/2': 1 } });
		expect(readTrace('msr', CSV, { msr: { disk: 'hm/7' } }).summary.disk).toBeUndefined();
		expect(() => new MsrReader({ disk: 'hm:1' })).toThrow('msr: disk "hm:1" is not HOST/DISK or DISK (e.g. hm/0 or 0)');
	});

	it('names the line and the field of malformed input', () => {
		const bad = (line: string) => errorOf(() => readTrace('msr', `128166372003061629,hm,1,Read,0,4096,1\n${line}\n`)).message;
		expect(bad('128166372003061629,hm,1,Read,0,4096')).toMatch(/^msr line 2: 6 fields, expected 7/);
		expect(bad('12816637200306162x,hm,1,Read,0,4096,1')).toMatch(/^msr line 2: Timestamp "12816637200306162x" is not a filetime/);
		expect(bad('128166372003061629,hm,1,Trim,0,4096,1')).toBe('msr line 2: Type "Trim" is not Read or Write');
		expect(bad('128166372003061629,hm,1,Read,-5,4096,1')).toMatch(/^msr line 2: Offset "-5" is not a whole number of bytes/);
		expect(bad('128166372003061629,hm,1,Read,0,999999999,1')).toMatch(/^msr line 2: 1000000000 bytes is larger than 64 MiB/);
		expect(errorOf(() => readTrace('msr', 'a'.repeat(70_000))).message).toMatch(/^msr line 1: longer than 65536 characters/);
	});

	it("names libCacheSim's vscsi CSV for what it is, at its header line", () => {
		// libCacheSim ships its vscsi sample also as CSV: version, time (µs), SCSI opcode, bytes, sector.
		const csv = 'version,time,op,size,lbn\n1,33898,2a,512,42932745\n1,33899,28,6144,31954535\n';
		const e = errorOf(() => readTrace('msr', csv));
		expect(e.where).toBe('line 1');
		expect(e.reason).toMatch(/^"version,time,op,size,lbn" is the header of libCacheSim's vscsi CSV .*not an MSR Cambridge trace: replay the binary \.vscsi trace/);
		// Its records without the header are still just not MSR: 5 fields, at line 1.
		expect(errorOf(() => readTrace('msr', '1,33898,2a,512,42932745\n')).message).toMatch(/^msr line 1: 5 fields, expected 7/);
		// MSR's Type in any case, with or without the header, with the ResponseTime column read and ignored.
		const { records: r } = readTrace('msr', '128166372003061629,usr,0,READ,1024,4096,30\n128166372003061639,usr,0,write,512,512,2833\n');
		expect(records(r)).toEqual([
			{ timeUs: 0, op: Op.read, lba: 2, sectors: 8 },
			{ timeUs: 1, op: Op.write, lba: 1, sectors: 1 }
		]);
	});
});

describe('blkparse', () => {
	const OUT = `  8,0    3        1     0.000000000   697  Q   W 223490 + 8 [kjournald]
  8,0    3        2     0.000001829   697  G   W 223490 + 8 [kjournald]
  8,0    3        3     0.000004176   697  P   N [kjournald]
  8,0    3        4     0.000005177   697  I   W 223490 + 8 [kjournald]
  8,0    3        5     0.000008548   697  U   N [kjournald] 1
  8,0    3        6     0.000010505   697  D   W 223490 + 8 [kjournald]
  8,0    0        7     0.000100000   800  Q   R 1000 + 16 [cat]
  8,0    0        8     0.000101000   800  Q   R 1016 + 16 [cat]
  8,0    0        9     0.000102000   800  M   R 1016 + 16 [cat]
  8,0    0       10     0.000110000   800  D   R 1000 + 32 [cat]
  8,0    1        0     0.000120000  2385  m   N cfq2385 alloced
  8,16   1       11     0.000130000   900  D   W 5 + 8 [dd]
  8,0    1       12     0.000200000   950  Q FWS [jbd2/sda1-8]
  8,0    1       13     0.000201000   950  D FWS [jbd2/sda1-8]
  8,0    1       14     0.000300000   960  D  DS 4096 + 2048 [fstrim]
  8,0    3       15     0.000355234     0  C   W 223490 + 8 [0]
CPU0 (8,0):
 Reads Queued:           2,       16KiB	 Writes Queued:           1,        4KiB
Total (8,0):
 Reads Queued:           2,       16KiB	 Writes Queued:           1,        4KiB
Throughput (R/W): 0KiB/s / 0KiB/s
Events (8,0): 16 entries
`;

	it('replays D events by default: merged requests as the device got them, flushes and discards', () => {
		for (const chunkBytes of [1, 13, 1 << 20]) {
			const { records: r, summary } = readTrace('blkparse', OUT, { chunkBytes });
			expect(records(r)).toEqual([
				{ timeUs: 10.505, op: Op.write, lba: 223490, sectors: 8 },
				{ timeUs: 110, op: Op.read, lba: 1000, sectors: 32 },
				{ timeUs: 201, op: Op.flush, lba: 0, sectors: 0 },
				{ timeUs: 300, op: Op.unmap, lba: 4096, sectors: 2048 }
			]);
			expect(summary).toMatchObject({ records: 4, skipped: 0, disk: '8,0', otherDisks: { '8,16': 1 } });
		}
	});

	it('replays Q events when asked: what was submitted, before merging', () => {
		const { records: r } = readTrace('blkparse', OUT, { blkparse: { event: 'Q' } });
		expect(records(r)).toEqual([
			{ timeUs: 0, op: Op.write, lba: 223490, sectors: 8 },
			{ timeUs: 100, op: Op.read, lba: 1000, sectors: 16 },
			{ timeUs: 101, op: Op.read, lba: 1016, sectors: 16 },
			{ timeUs: 200, op: Op.flush, lba: 0, sectors: 0 }
		]);
	});

	it('replays another device when asked; the others are counted by device', () => {
		for (const device of ['8,16', '8, 16']) {
			const { records: r, summary } = readTrace('blkparse', OUT, { blkparse: { device } });
			expect(records(r)).toEqual([{ timeUs: 130, op: Op.write, lba: 5, sectors: 8 }]);
			expect(summary).toMatchObject({ disk: '8,16', otherDisks: { '8,0': 4 } });
		}
		const none = readTrace('blkparse', OUT, { blkparse: { device: '8,32' } }).summary;
		expect(none).toMatchObject({ records: 0, otherDisks: { '8,0': 4, '8,16': 1 } });
		expect(none.disk).toBeUndefined();
		expect(() => new BlkparseReader({ device: 'sda' })).toThrow('blkparse: device "sda" is not MAJ,MIN (e.g. 8,0)');
	});

	it('names the line of malformed input', () => {
		expect(errorOf(() => readTrace('blkparse', `${OUT.split('\n')[0]}\nhello world\n`)).message).toBe(
			'blkparse line 2: not a blkparse event (expected "MAJ,MIN CPU SEQ SECONDS PID ACTION RWBS …"): "hello world"'
		);
		expect(errorOf(() => readTrace('blkparse', '8,0 1 1 0.1 5 D W 1 + 999999999 [x]\n')).message).toMatch(/^blkparse line 1: .* is larger than 64 MiB/);
	});

	it('a replayed event with a broken sector, count or RWBS is an error naming the line, not a request without data', () => {
		const lines = OUT.split('\n');
		const at12 = (event: string) => [...lines.slice(0, 11), event, ...lines.slice(12)].join('\n');
		const bad = (event: string) => errorOf(() => readTrace('blkparse', at12(event))).message;
		const head = '8,0 0 2 0.001010000 1234 D';
		expect(bad(`${head} RA abc + 256 [cat]`)).toBe('blkparse line 12: sector "abc" is not a whole number (in "abc + 256")');
		expect(bad(`${head} RA 1000 - 256 [cat]`)).toBe('blkparse line 12: expected "SECTOR + COUNT" or nothing before [PROCESS] after RWBS RA, got "1000 - 256"');
		expect(bad(`${head} RA 1000 + [cat]`)).toBe('blkparse line 12: the sector count is missing after "1000 +"');
		expect(bad(`${head} RA 1000 + 256x [cat]`)).toBe('blkparse line 12: sector count "256x" is not a whole number (in "1000 + 256x")');
		expect(bad(`${head} ZZ 1000 + 256 [cat]`)).toMatch(/^blkparse line 12: RWBS "ZZ" is not one blkparse prints \(\[F\]OP\[F\]\[A\]\[S\]\[M\], OP one of R, W, D, N, ZA/);
		expect(bad(`${head} SW 1000 + 256 [cat]`)).toMatch(/^blkparse line 12: RWBS "SW" is not one blkparse prints/);
		expect(bad(`${head} R 1000 + 8 [cat] trailing`)).toMatch(/^blkparse line 12: text after \[PROCESS\]/);
		// The same line with a sound extent reads.
		const { records: r } = readTrace('blkparse', at12(`${head} RA 1000 + 256 [cat]`), { blkparse: { device: '8,0' } });
		expect(records(r)).toContainEqual({ timeUs: 1010, op: Op.read, lba: 1000, sectors: 256 });
	});

	it('still reads what blkparse prints: other actions, elapsed times, pass-through commands, odd process names', () => {
		const out = [
			'  8,0    0        1     0.000000000  1234  A  WS 2048 + 8 <- (8,1) 0',
			'  8,0    0        2     0.000001000  1234  Q  WS 2048 + 8 [kworker/u8:2]',
			'  8,0    0        3     0.000002000  1234  X  WS 2048 / 2052 [kworker/u8:2]',
			'  8,0    0        4     0.000003000  1234  UT  N [Web Content] 2',
			'  8,0    0        5     0.000004000  1234  D  WS 2048 + 8 (    1000) [Web Content]',
			'  8,0    0        6     0.000005000  1234  D  RM 4096 + 16 [a [weird] name]',
			'  8,0    0        7     0.000006000  1234  D   R 36 (12 01 00 00 24 00) [sg_inq]',
			'  8,0    0        8     0.000007000  1234  D   N 0 [sg_inq]',
			'  8,0    0        9     0.000008000  1234  D   N (     12) [swapper/0]',
			'  8,0    0       10     0.000009000  1234  D FWFS [jbd2/sda1-8]',
			'  8,0    0       11     0.000010000  1234  D  WB 100 + 8 [old-barrier]',
			'  8,0    0       12     0.000011000  1234  D  WS 200 + 8',
			'  8,0    0       13     0.000012000  1234  C  WS 2048 + 8 [0]',
			'  8,0    0        0     0.000013000     0  m   N cfq1234S / complete rqnoidle 0',
			'CPU0 (8,0):',
			' Reads Queued:           0,        0KiB\t Writes Queued:           1,        4KiB'
		].join('\n');
		const { records: r, summary } = readTrace('blkparse', out);
		expect(records(r)).toEqual([
			{ timeUs: 4, op: Op.write, lba: 2048, sectors: 8 },
			{ timeUs: 5, op: Op.read, lba: 4096, sectors: 16 },
			{ timeUs: 9, op: Op.flush, lba: 0, sectors: 0 },
			{ timeUs: 10, op: Op.write, lba: 100, sectors: 8 },
			{ timeUs: 11, op: Op.write, lba: 200, sectors: 8 }
		]);
		expect(summary.skippedWhy).toEqual({ 'SCSI pass-through (R)': 1, 'SCSI pass-through (N)': 1, 'no data (N)': 1 });
	});

	it('per-program statistics (blkparse -s) end the events, titled "NAME (PID)" or, with -h, "NAME"', () => {
		const events = [
			'  8,0   58       85     2.060068386   894  Q FWS [jbd2/dm-0-8]',
			'  8,0   58       87     2.060071340   894  I FWS (     852) [jbd2/dm-0-8]',
			'  8,0   58       90     2.079275640  1863  D  WS 940872528 + 8 [kworker/58:2]'
		];
		const stats = (title: string) => [
			title,
			' Reads Queued:           0,        0KiB\t Writes Queued:           1,       24KiB',
			' Read Dispatches:        0,        0KiB\t Write Dispatches:        1,       24KiB',
			' Allocation wait:        0        \t Allocation wait:         4',
			'kworker/58:2 (1863)',
			' Reads Queued:           0,        0KiB\t Writes Queued:           2,        8KiB',
			'CPU58 (8,0):',
			' Reads Queued:           0,        0KiB\t Writes Queued:           3,       32KiB'
		];
		for (const title of ['jbd2/dm-0-8 (894)', 'jbd2/dm-0-8', 'Web Content (77)']) {
			for (const chunkBytes of [1, 1 << 20]) {
				const { records: r, summary } = readTrace('blkparse', [...events, ...stats(title)].join('\n') + '\n', { chunkBytes });
				expect(records(r)).toEqual([{ timeUs: 2_079_275.64, op: Op.write, lba: 940872528, sectors: 8 }]);
				expect(summary).toMatchObject({ records: 1, skipped: 0, disk: '8,0' });
			}
		}
		// An event after the statistics (a second output appended) is an error at its line, not dropped.
		const twice = [...events, ...stats('jbd2/dm-0-8 (894)'), events[2]];
		const e2 = errorOf(() => readTrace('blkparse', twice.join('\n') + '\n'));
		expect(e2.message).toBe(`blkparse line ${twice.length}: an event after blkparse's closing statistics (two outputs in one file? replay each alone): "${events[2].trim()}"`);
		// A line that is not an event and titles no statistics is still an error, at its own line:
		// before another event, before a line that is not statistics, or at the end of the file.
		for (const after of [[events[2]], ['hello'], []]) {
			const e = errorOf(() => readTrace('blkparse', [events[0], 'influxd (2414)', ...after].join('\n')));
			expect(e.message).toBe('blkparse line 2: not a blkparse event (expected "MAJ,MIN CPU SEQ SECONDS PID ACTION RWBS …"): "influxd (2414)"');
		}
	});

	it('a request with a preflush and data is a flush and then the write, as the block layer sends it', () => {
		// The same fsync seen at Q (one request: preflush + write + FUA) and at D (split by the block layer).
		const out = [
			'  8,0    3        1     0.000000000   594  A FWFSM 43781957 + 17 <- (8,4) 18782021',
			'  8,0    3        2     0.000001967   594  Q FWFSM 43781957 + 17 [(null)]',
			'  8,0    3        3     0.000006490   594  G FWFSM 43781957 + 17 [(null)]',
			'  8,0    3        4     0.000031145   195  D  FN [kworker/3:1H]',
			'  8,0    2        7     0.001628764     0  C  FN 0 [0]',
			'  8,0    2        8     0.001671798   323  D WSM 43781957 + 17 [kworker/2:1H]',
			'  8,0    2        9     0.001843458     0  C WSM 43781957 + 17 [0]',
			'  8,0    2       10     0.001863050   323  D  FN [kworker/2:1H]',
			'  8,0    2       11     0.002735974     0  C  FN 0 [0]',
			'  8,0    2       12     0.002742812     0  C WSM 43781957 [0]',
			'  8,0    2       13     0.003000000   323  D FWS 500 + 8 [md0_raid1]',
			'  8,0    2       14     0.003100000   323  D WFS 600 + 8 [kworker/2:1H]'
		].join('\n');
		const q = readTrace('blkparse', out, { blkparse: { event: 'Q' } });
		expect(records(q.records)).toEqual([
			{ timeUs: 1.967, op: Op.flush, lba: 0, sectors: 0 },
			{ timeUs: 1.967, op: Op.write, lba: 43781957, sectors: 17 }
		]);
		expect(q.summary).toMatchObject({ records: 2, flushes: 1, writes: 1 });
		const d = readTrace('blkparse', out);
		expect(records(d.records)).toEqual([
			{ timeUs: 31.145, op: Op.flush, lba: 0, sectors: 0 },
			{ timeUs: 1671.798, op: Op.write, lba: 43781957, sectors: 17 },
			{ timeUs: 1863.05, op: Op.flush, lba: 0, sectors: 0 },
			// A driver that gets the preflush with the data: flush, then write.
			{ timeUs: 3000, op: Op.flush, lba: 0, sectors: 0 },
			{ timeUs: 3000, op: Op.write, lba: 500, sectors: 8 },
			// FUA alone (a trailing F): a write.
			{ timeUs: 3100, op: Op.write, lba: 600, sectors: 8 }
		]);
		expect(d.summary).toMatchObject({ records: 6, flushes: 3, writes: 3 });
	});

	it('zoned commands: a zone append is a write; zone reset, finish, open and close move no data and are skipped', () => {
		const out = [
			'259,0   23        1     4.888123821 17964  Q  ZAS 262144 + 8 [dd]',
			'259,0   23        4     4.888544410  1062  D  ZAS 262144 + 8 [kworker/23:1H]',
			'259,0   23        5     4.888602319   127  C  ZAS 262144 + 8 [0]',
			'259,0   23        6     4.900000000  1062  D   ZR 524288 + 0 [blkzone]',
			'259,0   23        7     4.900100000  1062  D  ZRA 0 + 0 [blkzone]',
			'259,0   23        8     4.900200000  1062  D   ZF 786432 + 0 [blkzone]',
			'259,0   23        9     4.900300000  1062  D  ZOS 786432 + 0 [blkzone]',
			'259,0   23       10     4.900400000  1062  D   ZC 786432 + 0 [blkzone]'
		].join('\n');
		const { records: r, summary } = readTrace('blkparse', out);
		expect(records(r)).toEqual([{ timeUs: 4_888_544.41, op: Op.write, lba: 262144, sectors: 8 }]);
		// A zone finish is not a flush, though its RWBS has an F.
		expect(summary).toMatchObject({ records: 1, writes: 1, flushes: 0, skipped: 5 });
		expect(summary.skippedWhy).toEqual({
			'zone management (ZR)': 1,
			'zone management (ZRA)': 1,
			'zone management (ZF)': 1,
			'zone management (ZO)': 1,
			'zone management (ZC)': 1
		});
	});
});

describe('trace format from the file name', () => {
	it.each([
		['a.vscsi', 'vscsi'],
		['x/cloudPhysicsIO.vscsi', 'vscsi'],
		['hm_0.csv', 'msr'],
		['sda.blkparse', 'blkparse'],
		['sda.blktrace.txt', 'blkparse'],
		['trace.bin', undefined]
	])('%s → %s', (name, format) => expect(traceFormatFromName(name)).toBe(format));
});

describe('TraceStream', () => {
	const buffer = (recs: [number, number, number, number][]) => {
		const b = new TraceRecordBuffer(2);
		for (const [t, op, lba, n] of recs) b.push(t, op as 0, lba, n);
		return b;
	};
	const contents = () => new ContentSource(new Prng(1));

	it('trace timing: issues at the record times relative to the first, scaled', () => {
		const s = new TraceStream(buffer([[1000, Op.read, 0, 8], [1500, Op.write, 8, 8], [1400, Op.read, 16, 1]]), {
			diskSectors: 1000,
			contents: contents(),
			timing: 'trace',
			timeScale: 2
		});
		expect(s.nextIssueTime(50)).toBe(50);
		const r0 = s.next(50)!;
		expect(r0).toEqual({ op: Op.read, lba: 0, sectors: 8 });
		s.onIssue(r0, 50);
		expect(s.nextIssueTime(60)).toBe(1050);
		const w = s.next(1100)!;
		expect(w).toMatchObject({ op: Op.write, lba: 8, sectors: 8 });
		expect(w.contents).toHaveLength(1);
		// Lateness counts when the guest issues the I/O, not when the record is taken.
		expect(s.late).toBe(0);
		s.onIssue(w, 1100);
		expect(s.late).toBe(1);
		expect(s.maxLateUs).toBe(50);
		// A timestamp that goes backwards is due at once.
		expect(s.nextIssueTime(1100)).toBe(1100);
		const back = s.next(1100)!;
		expect(back).toEqual({ op: Op.read, lba: 16, sectors: 1 });
		s.onIssue(back, 1100);
		expect(s.late).toBe(2); // due at 850, issued at 1100
		expect(s.maxLateUs).toBe(250);
		expect(s.done).toBe(true);
		expect(s.next(2000)).toBeNull();
	});

	it('as fast as possible: always due now; wraps records beyond the disk; stops at maxRecords', () => {
		const s = new TraceStream(buffer([[0, Op.write, 995, 10], [9, Op.read, 2500, 4], [1, Op.flush, 0, 0], [2, Op.unmap, 8, 8]]), {
			diskSectors: 1000,
			contents: contents(),
			timing: 'afap',
			maxRecords: 3
		});
		expect(s.nextIssueTime(7)).toBe(7);
		const w = s.next(7)!;
		expect(w).toMatchObject({ op: Op.write, lba: 990, sectors: 10 });
		expect(w.contents).toHaveLength(2);
		expect(s.next(7)).toEqual({ op: Op.read, lba: 500, sectors: 4 });
		expect(s.next(7)).toEqual({ op: Op.flush, lba: 0, sectors: 0 });
		expect(s.done).toBe(true);
		expect({ issued: s.issued, reads: s.reads, writes: s.writes, flushes: s.flushes, wrapped: s.wrapped }).toEqual({ issued: 3, reads: 1, writes: 1, flushes: 1, wrapped: 2 });
	});

	it.skipIf(!HAVE_REAL_TRACE)('replays the real trace record for record from a chunked source', () => {
		let pos = 0;
		const source = new ChunkedTraceSource(createTraceReader('vscsi'), () => {
			if (pos >= realBytes.length) return null;
			const c = realBytes.subarray(pos, pos + 65536);
			pos += c.length;
			return c;
		});
		const s = new TraceStream(source, { diskSectors: 2 ** 27, contents: contents(), timing: 'afap' });
		while (s.next(0));
		expect({ issued: s.issued, reads: s.reads, writes: s.writes, wrapped: s.wrapped }).toEqual({ issued: 113_872, reads: 46_974, writes: 66_898, wrapped: 0 });
	});
});

describe('Simulation streams hook', () => {
	const scenario = (sizeBytes: number) => ({
		version: 1,
		seed: 5,
		vms: [{ name: 'vm', disks: [{ name: 'd', size: sizeBytes, policy: { filters: [{ type: 'passthrough' }] }, workload: [] }] }]
	});

	it.skipIf(!HAVE_REAL_TRACE)('replays a trace in place of the scenario workload; every record is an I/O; reads verify', async () => {
		const first = realBytes.subarray(0, 32 * 2000);
		const { summary } = readTrace('vscsi', first);
		const reader = new VscsiReader();
		let fed = false;
		const source = new ChunkedTraceSource(reader, () => (fed ? null : ((fed = true), first)));
		let stream: TraceStream | undefined;
		const sim = await Simulation.create(scenario(Math.ceil((summary.endSector * 512) / 2 ** 20) * 2 ** 20), {
			registry: builtinRegistry(),
			streams: new Map([
				[
					'vm/d',
					(d) => {
						stream = new TraceStream(source, { diskSectors: d.sectors, contents: d.contents, timing: 'afap' });
						return [{ stream, iodepth: 16 }];
					}
				]
			])
		});
		await sim.run();
		const r = runResult(sim);
		expect(r.ios).toBe(2000);
		expect(r.ops.read.ios).toBe(summary.reads);
		expect(r.ops.write.ios).toBe(summary.writes);
		expect(r.verify.mismatches).toBe(0);
		expect(r.errors.count).toBe(0);
		expect(stream!.issued).toBe(2000);
		expect(r.outstanding.max).toBeLessThanOrEqual(16);
	});

	/** Replays `buf` in trace time on one disk; returns the stream and each I/O's issue time, in record order. */
	async function replayInTraceTime(buf: TraceRecordBuffer, endSector: number, iodepth = 1024) {
		let stream: TraceStream | undefined;
		const sim = await Simulation.create(scenario(Math.max(1, Math.ceil((endSector * 512) / 2 ** 20)) * 2 ** 20), {
			registry: builtinRegistry(),
			streams: new Map([
				[
					'vm/d',
					(d) => {
						stream = new TraceStream(buf, { diskSectors: d.sectors, contents: d.contents, timing: 'trace' });
						return [{ stream, iodepth }];
					}
				]
			])
		});
		await sim.run();
		// The guest issues a stream's I/Os in the order it took them, so I/O ids follow the records.
		const rows = [...heldRows(sim)].sort((a, b) => a.id - b.id);
		return { stream: stream!, issuedAt: rows.map((r) => r.issuedAt) };
	}

	/** Late I/Os and the largest delay, from issue times against the record times. */
	function lateness(times: number[], issuedAt: number[]): { ios: number; maxUs: number } {
		let ios = 0;
		let maxUs = 0;
		issuedAt.forEach((t, i) => {
			const by = t - (times[i] - times[0]);
			if (by > 0) {
				ios++;
				maxUs = Math.max(maxUs, by);
			}
		});
		return { ios, maxUs };
	}

	it('trace timing: an I/O that waits for an overlapping one is late from its issue, not from when it was taken', async () => {
		// Eight writes of the same sector at the same time: each waits for the one before.
		const csv = Array.from({ length: 8 }, () => `128166372003061629,hm,0,Write,0,512,1`).join('\n');
		const { records: buf, summary } = readTrace('msr', csv);
		const { stream, issuedAt } = await replayInTraceTime(buf, summary.endSector);
		expect(issuedAt).toHaveLength(8);
		expect(issuedAt[0]).toBe(0);
		expect(stream.late).toBe(7);
		expect(stream.maxLateUs).toBe(issuedAt[7]);
		expect(stream.maxLateUs).toBeGreaterThan(0);
	});

	it.skipIf(!HAVE_REAL_TRACE)('trace timing: late and its maximum agree with the issue times of the real trace', async () => {
		const { records: buf, summary } = readTrace('vscsi', realBytes.subarray(0, 32 * 5000));
		const times = records(buf).map((r) => r.timeUs);
		// At queue depth 2 the trace's bursts fill the queue: I/Os wait for a free slot, and for
		// overlapping ones, and are late by as much.
		const { stream, issuedAt } = await replayInTraceTime(buf, summary.endSector, 2);
		expect(issuedAt).toHaveLength(times.length);
		const want = lateness(times, issuedAt);
		expect(want.ios).toBeGreaterThan(0);
		expect({ ios: stream.late, maxUs: stream.maxLateUs }).toEqual(want);
	});

	it('names a disk the scenario does not have', async () => {
		await expect(
			Simulation.create(scenario(2 ** 20), { registry: builtinRegistry(), streams: new Map([['vm/nope', () => []]]) })
		).rejects.toThrow(/streams are given for disk "vm\/nope", which the scenario does not have \(disks: vm\/d\)/);
	});
});

describe('readers are incremental', () => {
	it('report the bytes consumed as they go (for a progress bar)', () => {
		const r = new MsrReader();
		const sink = () => {};
		r.push(new TextEncoder().encode('128166372003061629,hm,1,Read,0,4096,1\n1281663720'), sink);
		expect(r.summary).toMatchObject({ records: 1, bytes: 48 });
		r.push(new TextEncoder().encode('03061629,hm,1,Read,0,4096,1\n'), sink);
		r.end(sink);
		expect(r.summary).toMatchObject({ records: 2, bytes: 76 });
		expect(new BlkparseReader().event).toBe('D');
	});
});
