/**
 * Fuzzing the readers of users' files with seeded mutations of valid inputs (bit flips,
 * truncation, duplicated, deleted, swapped and garbage lines, mangled numbers, random chunking).
 * Whatever comes in, a parser returns a result or throws its own error naming the position
 * (FILE:LINE for fio; record and byte offset, or line, for traces): never another exception (no
 * TypeError from a missing field), never a non-Error, never a hang. What parses must also replay
 * (traces) or format and parse back to the same specs (fio).
 */
import { HAVE_REAL_TRACE, REAL_VSCSI_TRACE } from '../../../../tests/shared-data';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Prng } from '../clock';
import { ContentSource } from './contents';
import { FioParseError, formatFioJob, parseFioJob } from './fio';
import { readTrace, TraceFormatError, TraceStream, type TraceFormat } from './traces/index';

// VAIO_FUZZ_CASES and VAIO_FUZZ_SEED fuzz deeper or elsewhere on demand (the defaults are the CI run).
const CASES_PER_FORMAT = Number(process.env.VAIO_FUZZ_CASES ?? 2000);
const SEED = Number(process.env.VAIO_FUZZ_SEED ?? 0);
const TIMEOUT = 60_000 + CASES_PER_FORMAT * 10;

const FIO_CORPUS = [
	`# SSD speeds at queue depth 4
[global]
bs=4k
ioengine=libaio
iodepth=4
size=10g
direct=1
runtime=60
filename=ssd.test.file

[seq-read]
rw=read
stonewall

[rand-read]
rw=randread
random_distribution=zipf:1.1
`,
	`[iometer]
bssplit=512/10:1k/5:2k/5:4k/60:8k/2:16k/4:32k/4:64k/10
rw=randrw
rwmixread=80
size=4g
iodepth=64
`,
	`[global]
time_based
runtime=2m
kb_base=1000

[writers]
rw=randrw
rwmixwrite=30
blocksize_range=4k-16k
numjobs=3
size=256m
offset_increment=256m
io_size=1g
number_ios=10k
rate_iops=500,500
thinktime=250us
dedupe_percentage=30
randseed=99
verify=md5
`
];

const MSR_CORPUS = [
	'Timestamp,Hostname,DiskNumber,Type,Offset,Size,ResponseTime',
	'128166372003061629,hm,1,Read,3154152448,4096,1234',
	'128166372003061639,hm,1,Write,3154156544,6144,99',
	'128166372013061629,hm,2,Write,0,512,5',
	'128166372013061630,hm,1,Write,1000,100,7',
	'128166372023061630,hm,1,Read,8192,65536,7'
].join('\r\n');

const BLKPARSE_CORPUS = `  8,0    3        1     0.000000000   697  Q   W 223490 + 8 [kjournald]
  8,0    3        2     0.000001829   697  G   W 223490 + 8 [kjournald]
  8,0    3        3     0.000004176   697  P   N [kjournald]
  8,0    3        6     0.000010505   697  D   W 223490 + 8 [kjournald]
  8,0    0       10     0.000110000   800  D   R 1000 + 32 [cat]
  8,0    1        0     0.000120000  2385  m   N cfq2385 alloced
  8,16   1       11     0.000130000   900  D   W 5 + 8 [dd]
  8,0    1       13     0.000201000   950  D FWS [jbd2/sda1-8]
  8,0    1       14     0.000300000   960  D  DS 4096 + 2048 [fstrim]
  8,0    3       15     0.000355234     0  C   W 223490 + 8 [0]
CPU0 (8,0):
 Reads Queued:           2,       16KiB	 Writes Queued:           1,        4KiB
`;

const VSCSI_CORPUS = (() => {
	if (!HAVE_REAL_TRACE) return new Uint8Array(0);
	const real = new Uint8Array(readFileSync(REAL_VSCSI_TRACE)).subarray(0, 32 * 48);
	// Append v2 records built from the first v1 records, so both versions are mutated.
	const v2 = new Uint8Array(40 * 8);
	const src = new DataView(real.buffer, real.byteOffset);
	const dst = new DataView(v2.buffer);
	for (let i = 0; i < 8; i++) {
		const s = i * 32;
		const d = i * 40;
		dst.setUint16(d, src.getUint16(s + 12, true), true);
		dst.setUint16(d + 2, 0x200, true);
		dst.setUint32(d + 4, src.getUint32(s, true), true);
		dst.setUint32(d + 8, src.getUint32(s + 4, true), true);
		dst.setUint32(d + 12, src.getUint32(s + 8, true), true);
		for (let k = 16; k < 32; k++) v2[d + k] = real[s + k];
		dst.setUint32(d + 32, 100 + i, true);
	}
	const out = new Uint8Array(real.length + v2.length);
	out.set(real);
	out.set(v2, real.length);
	return out;
})();

const enc = new TextEncoder();
const dec = new TextDecoder();

function pick<T>(p: Prng, xs: readonly T[]): T {
	return xs[p.int(xs.length)];
}

function garbageLine(p: Prng): string {
	const kinds = [
		() => '',
		() => '[',
		() => '[]',
		() => '[global',
		() => '=',
		() => 'bs=',
		() => 'rw=randread:',
		() => 'size=99999999999999999999999t',
		() => `${pick(p, ['bs', 'size', 'iodepth', 'runtime', 'thinktime', 'rwmixread', 'bssplit', 'bsrange', 'random_distribution', 'numjobs'])}=${pick(p, ['-1', '0', '1e9', '0x', '4k,', ',', ':', '%', 'zipf:', '4k/', '1.5', 'nan', '4kk'])}`,
		() => '8,0 0 1 0.1 1 D W 1 + ',
		() => '8,0 0 1 99999999999999999999.1 1 D W 1 + 8 [x]',
		() => '1,2,3,4,5,6,7',
		() => ',,,,,,',
		() => 'CPU1 (8,0):',
		() => Array.from({ length: 1 + p.int(40) }, () => String.fromCharCode(p.int(0x7f))).join(''),
		() => Array.from({ length: 1 + p.int(20) }, () => String.fromCharCode(0x80 + p.int(0x3000))).join('')
	];
	return pick(p, kinds)();
}

/** One to three mutations of a text. */
function mutateText(p: Prng, text: string): string {
	let t = text;
	const n = 1 + p.int(3);
	for (let m = 0; m < n; m++) {
		const lines = t.split('\n');
		const i = p.int(Math.max(1, lines.length));
		switch (p.int(8)) {
			case 0: {
				// A bit flip, in the UTF-8 bytes.
				const b = enc.encode(t);
				if (b.length > 0) b[p.int(b.length)] ^= 1 << p.int(8);
				t = dec.decode(b);
				break;
			}
			case 1:
				t = t.slice(0, p.int(t.length + 1));
				break;
			case 2:
				lines.splice(i, 0, lines[i] ?? '');
				t = lines.join('\n');
				break;
			case 3:
				lines.splice(i, 0, garbageLine(p));
				t = lines.join('\n');
				break;
			case 4:
				lines.splice(i, 1);
				t = lines.join('\n');
				break;
			case 5: {
				const j = p.int(Math.max(1, lines.length));
				[lines[i], lines[j]] = [lines[j], lines[i]];
				t = lines.join('\n');
				break;
			}
			case 6:
				// A number made huge, negative, fractional or empty.
				t = t.replace(/\d+/g, (d) => (p.next() < 0.15 ? pick(p, ['', '-' + d, d + '.5', d + '99999999999', '0', '18446744073709551616']) : d));
				break;
			default:
				t = t.replace(/[=,:+\][]/g, (c) => (p.next() < 0.1 ? pick(p, ['', ' ', c + c, ';', '#']) : c));
		}
	}
	return t;
}

/** One to three mutations of binary data. */
function mutateBytes(p: Prng, data: Uint8Array): Uint8Array {
	let b = data.slice();
	const n = 1 + p.int(3);
	for (let m = 0; m < n; m++) {
		switch (p.int(6)) {
			case 0:
				if (b.length) b[p.int(b.length)] ^= 1 << p.int(8);
				break;
			case 1:
				b = b.slice(0, p.int(b.length + 1));
				break;
			case 2: {
				// Duplicate a record-sized slice somewhere (possibly out of step).
				const len = pick(p, [32, 40, 16, 1 + p.int(64)]);
				const from = p.int(Math.max(1, b.length));
				const at = p.int(b.length + 1);
				const piece = b.slice(from, from + len);
				const out = new Uint8Array(b.length + piece.length);
				out.set(b.subarray(0, at));
				out.set(piece, at);
				out.set(b.subarray(at), at + piece.length);
				b = out;
				break;
			}
			case 3: {
				const garbage = Uint8Array.from({ length: 1 + p.int(48) }, () => p.int(256));
				const at = p.int(b.length + 1);
				const out = new Uint8Array(b.length + garbage.length);
				out.set(b.subarray(0, at));
				out.set(garbage, at);
				out.set(b.subarray(at), at + garbage.length);
				b = out;
				break;
			}
			case 4: {
				// A field set to an extreme value (length, LBA, timestamp bytes).
				if (b.length > 8) {
					const at = p.int(b.length - 8);
					b.fill(pick(p, [0, 0xff, 0x7f]), at, at + 1 + p.int(8));
				}
				break;
			}
			default: {
				const at = p.int(b.length + 1);
				b = Uint8Array.from([...b.subarray(0, at), ...b.subarray(Math.min(b.length, at + 1 + p.int(40)))]);
			}
		}
	}
	return b;
}

/** Parses; returns 'ok' or 'error', and fails the test on anything but a positioned parse error. */
function outcome(what: string, fn: () => void, isOurs: (e: Error) => boolean, position: RegExp): 'ok' | 'error' {
	try {
		fn();
		return 'ok';
	} catch (e) {
		if (!(e instanceof Error)) throw new Error(`${what}: threw a non-Error: ${String(e)}`);
		if (!isOurs(e)) throw new Error(`${what}: threw ${e.name}: ${e.message}\n${e.stack}`);
		if (!position.test(e.message)) throw new Error(`${what}: error without a position: ${e.message}`);
		return 'error';
	}
}

describe('fuzz: fio job files', () => {
	it(`${CASES_PER_FORMAT} mutated job files: a result, or FILE:LINE: reason`, { timeout: TIMEOUT }, () => {
		const p = new Prng(20_261_126 + SEED);
		const tally = { ok: 0, error: 0 };
		for (let n = 0; n < CASES_PER_FORMAT; n++) {
			const text = mutateText(p, pick(p, FIO_CORPUS));
			const what = `fio case ${n}: ${JSON.stringify(text).slice(0, 300)}`;
			const r = outcome(
				what,
				() => {
					const res = parseFioJob(text, 'fuzz.fio');
					// What parses formats to a file that parses to the same specs.
					const back = parseFioJob(formatFioJob(res.jobs, { seed: res.seed }), 'back.fio');
					if (JSON.stringify(back.jobs.map((j) => j.spec)) !== JSON.stringify(res.jobs.map((j) => j.spec)))
						throw new Error(`${what}: format/parse changed the specs`);
				},
				(e) => e instanceof FioParseError,
				/^(fuzz|back)\.fio:\d+: \S/
			);
			tally[r]++;
		}
		// Both outcomes occur: the mutations are neither all harmless nor all fatal.
		expect(tally.ok).toBeGreaterThan(CASES_PER_FORMAT / 10);
		expect(tally.error).toBeGreaterThan(CASES_PER_FORMAT / 10);
	});
});

const TRACE_POSITION = /^(vscsi record \d+ at byte \d+|msr line \d+|blkparse line \d+): \S/;

function fuzzTrace(format: TraceFormat, seed: number, mutate: (p: Prng) => Uint8Array): { ok: number; error: number } {
	const p = new Prng(seed + SEED * 7919);
	const tally = { ok: 0, error: 0 };
	for (let n = 0; n < CASES_PER_FORMAT; n++) {
		const data = mutate(p);
		const chunkBytes = pick(p, [1, 3, 32, 40, 100, 1 << 20]);
		const r = outcome(
			`${format} case ${n} (${data.length} bytes, chunks of ${chunkBytes})`,
			() => {
				const { records, summary } = readTrace(format, data, { chunkBytes });
				if (records.length !== summary.records) throw new Error('summary and records disagree');
				// Whatever was read replays on a small disk (records beyond it wrap).
				const s = new TraceStream(records, { diskSectors: 4096, contents: new ContentSource(new Prng(1)), timing: 'trace' });
				let now = 0;
				while (!s.done) {
					now = s.nextIssueTime(now);
					const io = s.next(now);
					if (!io || io.lba < 0 || io.lba + io.sectors > 4096 || !Number.isFinite(now)) throw new Error(`bad replay: ${JSON.stringify(io)} at ${now}`);
				}
			},
			(e) => e instanceof TraceFormatError,
			TRACE_POSITION
		);
		tally[r]++;
	}
	return tally;
}

describe('fuzz: traces', () => {
	it.skipIf(!HAVE_REAL_TRACE)(`${CASES_PER_FORMAT} mutated vscsi traces: records, or the record and byte offset`, { timeout: TIMEOUT }, () => {
		const t = fuzzTrace('vscsi', 1, (p) => mutateBytes(p, VSCSI_CORPUS));
		expect(t.ok).toBeGreaterThan(CASES_PER_FORMAT / 20);
		expect(t.error).toBeGreaterThan(CASES_PER_FORMAT / 10);
	});

	it(`${CASES_PER_FORMAT} mutated MSR CSV files: records, or the line`, { timeout: TIMEOUT }, () => {
		const t = fuzzTrace('msr', 2, (p) => (p.next() < 0.2 ? mutateBytes(p, enc.encode(MSR_CORPUS)) : enc.encode(mutateText(p, MSR_CORPUS))));
		expect(t.ok).toBeGreaterThan(CASES_PER_FORMAT / 20);
		expect(t.error).toBeGreaterThan(CASES_PER_FORMAT / 10);
	});

	it(`${CASES_PER_FORMAT} mutated blkparse outputs: records, or the line`, { timeout: TIMEOUT }, () => {
		const t = fuzzTrace('blkparse', 3, (p) => (p.next() < 0.2 ? mutateBytes(p, enc.encode(BLKPARSE_CORPUS)) : enc.encode(mutateText(p, BLKPARSE_CORPUS))));
		expect(t.ok).toBeGreaterThan(CASES_PER_FORMAT / 20);
		expect(t.error).toBeGreaterThan(CASES_PER_FORMAT / 10);
	});
});
