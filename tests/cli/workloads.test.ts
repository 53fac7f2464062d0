/**
 * `vaio run` with workloads from users' own files: fio job files (--fio) and block traces
 * (--trace). Each test spawns
 * `node bin/vaio.js …` from a temporary directory, as tests/cli/vaio.test.ts does.
 */
import { HAVE_REAL_TRACE, REAL_VSCSI_TRACE } from '../shared-data';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { parseFioJob } from '../../src/lib/engine/workload/fio';
import { runVaio, expectBadInput, type Outcome } from './run-vaio';

const REAL_TRACE = REAL_VSCSI_TRACE;
const TIMEOUT = 60_000;


let dir: string;

const vaio = (...args: string[]): Promise<Outcome> => runVaio(args, { cwd: dir, timeoutMs: TIMEOUT });


const JOB = `; two jobs sharing [global]
[global]
ioengine=libaio
direct=1
bs=4k
iodepth=8
size=64m
randseed=11

[reader]
rw=randread
number_ios=1500

[writer]
rw=randwrite
number_ios=500
numjobs=2
stonewall
`;

beforeAll(() => {
	dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vaio-workloads-test-'));
	fs.writeFileSync(path.join(dir, 'job.fio'), JOB);
	fs.writeFileSync(path.join(dir, 'typo.fio'), '[job]\nrw=randread\niodpeth=4\n');
	fs.writeFileSync(path.join(dir, 'far.fio'), '[job]\nrw=read\nbs=1m\noffset=30g\nsize=8m\n');
	fs.writeFileSync(path.join(dir, 'stripes.fio'), '[stripe]\nrw=write\nbs=64k\nnumjobs=3\noffset_increment=30g\nio_size=2g\nnumber_ios=10\n');
	fs.writeFileSync(
		path.join(dir, 'hm_0.csv'),
		[
			'128166372003061629,hm,0,Write,4096,8192,10',
			'128166372003161629,hm,0,Read,4096,4096,10',
			'128166372003261629,hm,0,Read,1048576,65536,10',
			'128166372003361629,hm,1,Read,0,512,10'
		].join('\n') + '\n'
	);
	fs.writeFileSync(
		path.join(dir, 'sda.txt'),
		[
			'  8,0    0        1     0.000000000   100  Q   W 2048 + 8 [dd]',
			'  8,0    0        2     0.000001000   100  Q   W 2056 + 8 [dd]',
			'  8,0    0        3     0.000002000   100  D   W 2048 + 16 [dd]',
			'  8,0    0        4     0.000100000   100  C   W 2048 + 16 [0]',
			'  8,0    0        5     0.000200000   200  Q   R 2048 + 16 [cat]',
			'  8,0    0        6     0.000201000   200  D   R 2048 + 16 [cat]'
		].join('\n') + '\n'
	);
	fs.writeFileSync(
		path.join(dir, 'two.blkparse'),
		[
			'  8,0    0        1     0.000000000   100  D   W 2048 + 8 [dd]',
			'  8,16   1        1     0.000001000   100  D   W 0 + 8 [dd]',
			'  8,16   1        2     0.000002000   100  D  WS 8 + 8 [dd]'
		].join('\n') + '\n'
	);
	fs.writeFileSync(path.join(dir, 'hosts.csv'), '128166372003061629,hm,0,Write,0,4096,10\n128166372003061639,prn,0,Write,0,4096,10\n');
	fs.writeFileSync(path.join(dir, 'x.vscsi'), new Uint8Array(32));
	fs.writeFileSync(path.join(dir, 'broken.blkparse'), '  8,0 0 1 0.000000000 100 D W 2048 + 8 [dd]\n  8,0 0 2 0.000001000 100 D W 2056 + 8x [dd]\n');
	fs.writeFileSync(path.join(dir, 'broken.csv'), '128166372003061629,hm,0,Write,4096,8192,10\n128166372003061630,hm,0,Write,4096\n');
});

afterAll(() => {
	if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe.concurrent('vaio run --fio', () => {
	test('each job is a stream of the one disk; the chain comes from --chain; warnings on stderr', { timeout: TIMEOUT }, async ({ expect }) => {
		const o = await vaio('run', '--fio', 'job.fio', '--chain', 'none', '--metrics-out', 'fio-metrics.json');
		expect(o.code, o.stderr).toBe(0);
		expect(o.stderr).toBe('vaio: warning: job.fio:18: stonewall is not modelled: jobs run one after another in fio; here all jobs run at once\n');
		expect(o.stdout).toMatch(/^fio: job\.fio: \(seed=11, 1 disk, store=memory\) chain: no filters$/m);
		expect(o.stdout).toMatch(/^ {2}workload: fio job file job\.fio: 3 jobs \(reader, writer\.0, writer\.1\)$/m);
		expect(o.stdout).toMatch(/^ {4}ignored \(does not apply to a simulated disk\): ioengine, direct$/m);
		const r = JSON.parse(fs.readFileSync(path.join(dir, 'fio-metrics.json'), 'utf8'));
		expect(r.scenario).toBe('fio: job.fio');
		expect(r.seed).toBe(11);
		expect(r.ios).toBe(2500);
		expect(r.ops.read.ios).toBe(1500);
		expect(r.ops.write.ios).toBe(1000);
		expect(r.disks).toEqual([expect.objectContaining({ chain: [] })]);
		expect(r.verify.mismatches).toBe(0);
		expect(r.fio).toEqual({
			file: 'job.fio',
			jobs: ['reader', 'writer.0', 'writer.1'],
			ignored: ['ioengine', 'direct'],
			warnings: [expect.stringMatching(/^job\.fio:18: stonewall/)],
			notes: []
		});
	});

	test('fio example-style files: a backwards read, a file smaller than its size, fill_device', { timeout: TIMEOUT }, async ({ expect }) => {
		// Backwards through a 1m file in 4k reads, a file whose size= is the I/O amount, and a fill.
		fs.writeFileSync(
			path.join(dir, 'shapes.fio'),
			'[global]\nbs=4k\nthreads=1\n\n[backwards]\nrw=read:-8k\nsize=1m\n\n[small-file]\nfilename=data\nfilesize=1m\nsize=256k\nrw=randread\n\n[fill]\nrw=write\nbs=64k\noffset=20479m\nfill_device=1\nstonewall\n'
		);
		const o = await vaio('run', '--fio', 'shapes.fio', '--chain', 'none', '--json', '--csv-out', 'shapes.csv');
		expect(o.code, o.stderr).toBe(0);
		expect(o.stderr).toBe('vaio: warning: shapes.fio:20: stonewall is not modelled: jobs run one after another in fio; here all jobs run at once\n');
		const r = JSON.parse(o.stdout);
		expect(r.fio.ignored).toEqual(['threads', 'filename']);
		const lines = fs.readFileSync(path.join(dir, 'shapes.csv'), 'utf8').trim().split('\n');
		const cols = lines[0].split(',');
		const rows = lines.slice(1).map((l) => l.split(','));
		const of = (job: string) => rows.filter((x) => x[cols.indexOf('job')] === job).map((x) => Number(x[cols.indexOf('lba')]));
		// 1m = 2048 sectors: 0, then 1m - 8k, 1m - 12k, …
		expect(of('backwards').slice(0, 4)).toEqual([0, 2032, 2024, 2016]);
		expect(of('backwards')).toHaveLength(256);
		// 256k of 4k reads spread over the 1m file (2048 sectors).
		expect(of('small-file')).toHaveLength(64);
		expect(Math.max(...of('small-file'))).toBeGreaterThanOrEqual(1024);
		expect(Math.max(...of('small-file'))).toBeLessThan(2048);
		// fill_device: from its offset to the end of the 20 GiB disk (1m) in 64k writes, then done.
		expect(of('fill')).toEqual(Array.from({ length: 16 }, (_, k) => (20479 * 2 ** 20) / 512 + k * 128));
	});

	test('--fio-out writes the run\'s workload as a job file that reads back to the same jobs', { timeout: TIMEOUT }, async ({ expect }) => {
		const o = await vaio('run', '--fio', 'job.fio', '--chain', 'none', '--ios', '300', '--fio-out', 'back.fio');
		expect(o.code, o.stderr).toBe(0);
		const text = fs.readFileSync(path.join(dir, 'back.fio'), 'utf8');
		const again = parseFioJob(text, 'back.fio');
		const original = parseFioJob(JOB, 'job.fio');
		expect(again.jobs.map((j) => j.name)).toEqual(original.jobs.map((j) => j.name));
		for (const [i, j] of again.jobs.entries()) {
			const want = original.jobs[i].spec;
			expect(j.spec).toMatchObject({ rw: want.rw, bs: want.bs, iodepth: want.iodepth, ios: 300 });
		}
		expect(again.seed).toBe(11);
		// A replay has no generated workload to export.
		const t = await vaio('run', '--trace', 'hm_0.csv', '--fio-out', 'nope.fio');
		expectBadInput(expect, t, /^vaio: --fio-out nope\.fio: a trace replay has no generated workload/);
		expect(fs.existsSync(path.join(dir, 'nope.fio'))).toBe(false);
	});

	test('a job reaching past 20 GiB gets a disk that holds it', { timeout: TIMEOUT }, async ({ expect }) => {
		const o = await vaio('run', '--fio', 'far.fio', '--describe');
		expect(o.code, o.stderr).toBe(0);
		const s = JSON.parse(o.stdout);
		expect(s.vms[0].disks[0].size).toBe(30 * 2 ** 30 + 8 * 2 ** 20);
		expect(s.vms[0].disks[0].workload[0]).toMatchObject({ rw: 'read', bs: 2 ** 20, offset: 30 * 2 ** 30, size: 8 * 2 ** 20, iodepth: 1 });
	});

	test('clones without a size at growing offsets: the disk holds the io_size of the last one', { timeout: TIMEOUT }, async ({ expect }) => {
		const o = await vaio('run', '--fio', 'stripes.fio', '--describe');
		expect(o.code, o.stderr).toBe(0);
		const d = JSON.parse(o.stdout).vms[0].disks[0];
		expect(d.size).toBe(60 * 2 ** 30 + 2 * 2 ** 30);
		expect(d.workload.map((w: { offset: number; size: number }) => [w.offset, w.size])).toEqual([
			[0, 0],
			[30 * 2 ** 30, 0],
			[60 * 2 ** 30, 0]
		]);
	});

	test('a misspelt option is bad input with FILE:LINE and a suggestion; --fio excludes a scenario file', { timeout: TIMEOUT }, async ({ expect }) => {
		const [a, b] = await Promise.all([vaio('run', '--fio', 'typo.fio'), vaio('run', 's.json', '--fio', 'job.fio')]);
		expectBadInput(expect, a, /^vaio: typo\.fio:3: unknown option "iodpeth" \(did you mean iodepth\?\)$/);
		expectBadInput(expect, b, /^vaio: run: give a scenario file or --fio, not both/);
	});
});

describe.concurrent('vaio run --trace', () => {
	test.skipIf(!HAVE_REAL_TRACE)('the real vscsi trace: ios counts the records replayed, the op split matches, reads verify', { timeout: TIMEOUT }, async ({ expect }) => {
		const o = await vaio('run', '--trace', REAL_TRACE, '--chain', 'none', '--timing', 'afap', '--ios', '3000', '--json');
		expect(o.code, o.stderr).toBe(0);
		expect(o.stderr).toBe('');
		const r = JSON.parse(o.stdout);
		expect(r.scenario).toBe('trace: cloudPhysicsIO.vscsi');
		expect(r.ios).toBe(3000);
		expect(r.ops.read.ios + r.ops.write.ios).toBe(3000);
		expect(r.verify.mismatches).toBe(0);
		expect(r.trace).toMatchObject({ format: 'vscsi', records: 113_872, writes: 66_898, reads: 46_974, skipped: 0, replayed: 3000, timing: 'afap', iodepth: 64 });
		expect(r.trace.diskBytes).toBeGreaterThanOrEqual(65_595_583 * 512);
		expect(r.outstanding.max).toBeLessThanOrEqual(64);
	});

	test('MSR CSV (format from the name) in trace time; blkparse Q events at ten times the speed', { timeout: TIMEOUT }, async ({ expect }) => {
		const [msr, q] = await Promise.all([
			vaio('run', '--trace', 'hm_0.csv', '--metrics-out', 'msr.json'),
			vaio('run', '--trace', 'sda.txt', '--format', 'blkparse', '--blkparse-event', 'Q', '--speed', '10', '--json')
		]);
		for (const o of [msr, q]) expect(o.code, o.stderr).toBe(0);
		expect(msr.stdout).toMatch(/^ {2}workload: msr trace hm_0\.csv: 3 I\/O records \(reads=2, writes=1\), replayed 3, timing from the trace$/m);
		expect(msr.stdout).toMatch(/^ {4}other disks: 1 records not replayed \(hm\/1: 1\); replayed: hm\/0, choose with --trace-disk$/m);
		expect(msr.stdout).not.toMatch(/no disk I\/O/);
		const m = JSON.parse(fs.readFileSync(path.join(dir, 'msr.json'), 'utf8'));
		expect(m.ios).toBe(3);
		expect(m.trace).toMatchObject({ format: 'msr', records: 3, reads: 2, writes: 1, skipped: 0, skippedWhy: {}, disk: 'hm/0', otherDisks: { 'hm/1': 1 }, timing: 'trace', diskBytes: 2 ** 21 });
		// The replay takes the trace's 20 ms (the last record issues at 20 ms).
		expect(m.elapsedUs).toBeGreaterThan(20_000);
		expect(m.verify.sectorsChecked).toBe(8 + 128);
		// The replayed stream is named by its file (the exports' job column too).
		expect(m.streams.map((s: { job?: string }) => s.job)).toEqual(['hm_0.csv']);
		const r = JSON.parse(q.stdout);
		expect(r.ios).toBe(3);
		expect(r.streams.map((s: { job?: string }) => s.job)).toEqual(['sda.txt']);
		expect(r.trace).toMatchObject({ format: 'blkparse', event: 'Q', records: 3, writes: 2, reads: 1, speed: 10 });
		// The Q events span 201 µs of trace; at ten times the speed the last one issues at 20.1 µs.
		expect(r.elapsedUs).toBeLessThan(201);
	});

	test('--trace-disk replays another disk of an MSR file or another blkparse device', { timeout: TIMEOUT }, async ({ expect }) => {
		const [byKey, byNumber, dev] = await Promise.all([
			vaio('run', '--trace', 'hm_0.csv', '--trace-disk', 'hm/1', '--json'),
			vaio('run', '--trace', 'hm_0.csv', '--trace-disk', '1', '--json'),
			vaio('run', '--trace', 'two.blkparse', '--trace-disk', '8,16', '--json')
		]);
		for (const o of [byKey, byNumber, dev]) expect(o.code, o.stderr).toBe(0);
		for (const o of [byKey, byNumber]) {
			const r = JSON.parse(o.stdout);
			expect(r.ios).toBe(1);
			expect(r.trace).toMatchObject({ records: 1, reads: 1, disk: 'hm/1', otherDisks: { 'hm/0': 3 } });
		}
		const d = JSON.parse(dev.stdout);
		expect(d.ios).toBe(2);
		expect(d.trace).toMatchObject({ records: 2, writes: 2, disk: '8,16', otherDisks: { '8,0': 1 } });
	});

	test('--trace-disk: a disk the file does not have, an ambiguous number, a malformed id, a vscsi trace', { timeout: TIMEOUT }, async ({ expect }) => {
		const [absent, absentDev, ambiguous, badMsr, badDev, vscsi] = await Promise.all([
			vaio('run', '--trace', 'hm_0.csv', '--trace-disk', 'hm/7'),
			vaio('run', '--trace', 'two.blkparse', '--trace-disk', '8,32'),
			vaio('run', '--trace', 'hosts.csv', '--trace-disk', '0'),
			vaio('run', '--trace', 'hm_0.csv', '--trace-disk', '8,0'),
			vaio('run', '--trace', 'two.blkparse', '--trace-disk', 'sda'),
			vaio('run', '--trace', 'x.vscsi', '--trace-disk', '0')
		]);
		expectBadInput(expect, absent, /^vaio: --trace-disk hm\/7: no records of disk hm\/7 in hm_0\.csv \(it has: hm\/0, hm\/1\)$/);
		expectBadInput(expect, absentDev, /^vaio: --trace-disk 8,32: no D events of device 8,32 in two\.blkparse \(it has: 8,0, 8,16\)$/);
		expectBadInput(expect, ambiguous, /^vaio: --trace-disk 0: several hosts have disk 0 \(hm\/0, prn\/0\): give HOST\/DISK$/);
		expectBadInput(expect, badMsr, /^vaio: --trace-disk: "8,0" is not an MSR disk, HOST\/DISK or DISK \(e\.g\. hm\/0 or 0\)$/);
		expectBadInput(expect, badDev, /^vaio: --trace-disk: "sda" is not a blkparse device, MAJ,MIN \(e\.g\. 8,0\)$/);
		expectBadInput(expect, vscsi, /^vaio: --trace-disk: only with msr or blkparse traces \(a vscsi trace is one disk\)$/);
	});

	test('a blkparse event with a broken sector, count or RWBS is bad input naming its line', { timeout: TIMEOUT }, async ({ expect }) => {
		const o = await vaio('run', '--trace', 'broken.blkparse');
		expectBadInput(expect, o, /^vaio: broken\.blkparse: blkparse line 2: sector count "8x" is not a whole number \(in "2056 \+ 8x"\)$/);
	});

	test('a malformed trace is bad input naming the position; a trace needs a format', { timeout: TIMEOUT }, async ({ expect }) => {
		const [a, b] = await Promise.all([vaio('run', '--trace', 'broken.csv'), vaio('run', '--trace', 'job.fio')]);
		expectBadInput(expect, a, /^vaio: broken\.csv: msr line 2: 5 fields, expected 7 \(Timestamp,Hostname,DiskNumber,Type,Offset,Size,ResponseTime\): "128166372003061630,hm,0,Write,4096"$/);
		expectBadInput(expect, b, /^vaio: --trace job\.fio: give --format vscsi, msr or blkparse \(the file name does not tell\)$/);
	});
});

describe.concurrent('vaio run exports', () => {
	test('--csv-out, --perfetto-out and --metrics-out write the trace and the summary', { timeout: TIMEOUT }, async ({ expect }) => {
		const o = await vaio('run', '--ios', '500', '--chain', 'passthrough,delay:cache', '--csv-out', 'io.csv', '--perfetto-out', 'io.json', '--metrics-out', 'm.json', '--json');
		expect(o.code, o.stderr).toBe(0);
		expect(o.stderr).toBe('');
		const r = JSON.parse(o.stdout);
		expect(r.exports).toEqual({ rows: { first: 0, count: 500, completed: 500, truncated: false }, files: { csv: 'io.csv', perfetto: 'io.json', metrics: 'm.json' } });
		const csv = fs.readFileSync(path.join(dir, 'io.csv'), 'utf8').trimEnd().split('\n');
		expect(csv).toHaveLength(501);
		expect(csv[0]).toMatch(/^id,disk,op,origin,job,lba,sectors,issuedAt,doneAt,latency,deviceStart,deviceDone,deferredUs,status,endedBy,f1\.name,/);
		expect(csv[1]).toMatch(/^1,vm-01\/disk-0,(read|write),guest,vaio,\d+,8,0,/);
		const trace = JSON.parse(fs.readFileSync(path.join(dir, 'io.json'), 'utf8'));
		expect(trace.traceEvents.filter((e: { name: string }) => e.name === 'thread_name').map((e: { args: { name: string } }) => e.args.name)).toEqual(['guest', 'passthrough', 'delay', 'device']);
		expect(trace.otherData).toMatchObject({ scenario: 'chain: passthrough+delay', rowsExported: 500, truncated: false });
		const metrics = JSON.parse(fs.readFileSync(path.join(dir, 'm.json'), 'utf8'));
		expect(metrics.traceDigest).toBe(r.traceDigest);
		expect(metrics.ios).toBe(500);
		expect(metrics.filters).toEqual(r.filters);
	});

	test('a ring smaller than the run: the export says which I/Os it holds; an unwritable path is bad input', { timeout: TIMEOUT }, async ({ expect }) => {
		const [a, b] = await Promise.all([
			vaio('run', '--ios', '300', '--rows', '100', '--csv-out', 'last.csv'),
			vaio('run', '--csv-out', 'no/such/dir/x.csv')
		]);
		expect(a.code, a.stderr).toBe(0);
		expect(a.stderr).toBe('vaio: note: the exported trace holds the last 100 of the 300 I/Os (the trace ring); keep more with --rows N (at most 500000)\n');
		expect(fs.readFileSync(path.join(dir, 'last.csv'), 'utf8').trimEnd().split('\n')).toHaveLength(101);
		expectBadInput(expect, b, /^vaio: --csv-out no\/such\/dir\/x\.csv: no such file$/);
	});
});
