/**
 * What `vaio run` reports beyond the totals: timing-only runs saying so, per-stream (fio job)
 * results, the analytics filter's histograms (--analytics-out and the summary), the time a run
 * ended after background work, and the rows the exports hold. Each test spawns
 * `node bin/vaio.js …` from a temporary directory, as tests/cli/vaio.test.ts does.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { runVaio, type Outcome } from './run-vaio';

const TIMEOUT = 60_000;


let dir: string;

const vaio = (...args: string[]): Promise<Outcome> => runVaio(args, { cwd: dir, timeoutMs: TIMEOUT });

const read = (f: string) => fs.readFileSync(path.join(dir, f), 'utf8');
const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);

/** Column `name` of a CSV without quoted cells (the trace export's rows have none). */
function csvColumn(text: string, name: string): string[] {
	const [head, ...rows] = text.trim().split('\n');
	const k = head.split(',').indexOf(name);
	return rows.map((r) => r.split(',')[k]);
}

/** Two fio jobs that differ in every way a per-job report can show. */
const TWO_JOBS = `[global]
bs=4k
size=256m
[reader]
rw=randread
iodepth=16
number_ios=3000
[writer]
rw=write
bs=64k
iodepth=4
offset=512m
number_ios=500
`;

/** A write-back cache whose dirty blocks are destaged at a power-off long after the workload. */
const DRAIN = {
	version: 1,
	name: 'wb-drain',
	seed: 5,
	vms: [
		{
			name: 'vm',
			disks: [
				{
					name: 'd',
					size: '1g',
					policy: { filters: [{ type: 'cache', params: { mode: 'write-back', destageMBps: 20 } }] },
					workload: [{ rw: 'randwrite', bs: '4k', iodepth: 8, ios: 2000 }]
				}
			]
		}
	],
	operations: [{ atUs: 50_000, op: 'power-off', vm: 'vm' }]
};

/** Two named streams in a scenario file (not a --fio run) in disjoint regions; the second's starts at 512 MiB. */
const NAMED = {
	version: 1,
	name: 'named',
	seed: 3,
	vms: [
		{
			name: 'vm',
			disks: [
				{
					name: 'd',
					size: '1g',
					workload: [
						{ name: 'oltp [hot]', rw: 'randrw', bs: '8k', iodepth: 8, size: '256m', ios: 1500 },
						{ name: 'log=writer', rw: 'write', bs: '64k', iodepth: 2, offset: '512m', ios: 300 }
					]
				}
			]
		}
	]
};

beforeAll(() => {
	dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vaio-report-test-'));
	fs.writeFileSync(path.join(dir, 'named.json'), JSON.stringify(NAMED));
	const unnamed = structuredClone(NAMED) as { vms: { disks: { workload: { name?: string }[] }[] }[] };
	for (const w of unnamed.vms[0].disks[0].workload) delete w.name;
	fs.writeFileSync(path.join(dir, 'unnamed.json'), JSON.stringify(unnamed));
	const twice = structuredClone(NAMED);
	twice.vms[0].disks[0].workload[1].name = 'oltp [hot]';
	fs.writeFileSync(path.join(dir, 'twice.json'), JSON.stringify(twice));
	fs.writeFileSync(path.join(dir, 'two.fio'), TWO_JOBS);
	fs.writeFileSync(path.join(dir, 'drain.json'), JSON.stringify(DRAIN));
});

afterAll(() => {
	if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe.concurrent('vaio run reports', () => {
	test('a timing-only run says so in the summary and in --json; a normal run does not', { timeout: TIMEOUT }, async ({ expect }) => {
		const [text, js, normal] = await Promise.all([
			vaio('run', '--timing-only', '--ios', '2000'),
			vaio('run', '--timing-only', '--ios', '2000', '--json'),
			vaio('run', '--ios', '2000', '--json')
		]);
		for (const o of [text, js, normal]) expect(o.code, o.stderr).toBe(0);
		expect(text.stdout.split('\n')[0]).toMatch(/^default: \(seed=42, 1 disk, store=memory, timing-only\) chain: passthrough$/);
		expect(text.stdout).toMatch(/^ {2}verify: off \(timing-only: no data bytes move, so reads are not checked\)$/m);
		expect(text.stdout).not.toMatch(/verify: reads=/);
		expect(JSON.parse(js.stdout).timingOnly).toBe(true);
		const n = JSON.parse(normal.stdout);
		expect(n.timingOnly).toBe(false);
		expect(n.verify.reads).toBeGreaterThan(0);
	});

	test('a multi-job fio file reports each job: JSON streams named by job, a block per job in the summary', { timeout: TIMEOUT }, async ({ expect }) => {
		const [js, text] = await Promise.all([vaio('run', '--fio', 'two.fio', '--json'), vaio('run', '--fio', 'two.fio')]);
		expect(js.code, js.stderr).toBe(0);
		expect(text.code, text.stderr).toBe(0);
		const r = JSON.parse(js.stdout);
		expect(r.streams.map((s: any) => [s.job, s.stream, s.disk, s.ios])).toEqual([
			['reader', 0, 'vm-01/disk-0', 3000],
			['writer', 1, 'vm-01/disk-0', 500]
		]);
		const [reader, writer] = r.streams;
		expect(reader.ops.read.ios).toBe(3000);
		expect(reader.ops.write.ios).toBe(0);
		expect(writer.ops.write.ios).toBe(500);
		expect(writer.ops.read.ios).toBe(0);
		// Each job's rates are over its own elapsed time; its bytes are its own I/O sizes.
		expect(writer.iops).toBeCloseTo((500 / writer.elapsedUs) * 1e6, 6);
		expect(writer.mbps).toBeCloseTo((500 * 65536) / writer.elapsedUs, 6);
		expect(reader.mbps).toBeCloseTo((3000 * 4096) / reader.elapsedUs, 6);
		expect(writer.elapsedUs).toBeLessThan(r.elapsedUs);
		// A job's latencies are its own, not the totals': the totals' read latency is the reader's.
		expect(reader.ops.read.latencyUs).toEqual(r.ops.read.latencyUs);
		expect(writer.ops.write.latencyUs).toEqual(r.ops.write.latencyUs);
		for (const s of r.streams) expect(s.latencyUs.p99).toBeGreaterThanOrEqual(s.latencyUs.p50);
		expect(text.stdout).toMatch(/^ {2}job reader: ios=3000, IOPS=[\d.]+k?, BW=[\d.]+[KMG]iB\/s, elapsed=[\d.]+ms$/m);
		expect(text.stdout).toMatch(/^ {4}read: ios=3000, IOPS=.*, clat mean=[\d.]+µs, p50=[\d.]+µs, p99=[\d.]+µs$/m);
		expect(text.stdout).toMatch(/^ {2}job writer: ios=500, /m);
		expect(text.stdout).toMatch(/^ {4}write: ios=500, /m);
	});

	test('a one-stream run has one stream, equal to the totals, and no per-job block', { timeout: TIMEOUT }, async ({ expect }) => {
		const [js, text] = await Promise.all([vaio('run', '--ios', '2000', '--json'), vaio('run', '--ios', '2000')]);
		const r = JSON.parse(js.stdout);
		expect(r.streams).toHaveLength(1);
		expect(r.streams[0]).toMatchObject({ disk: 'vm-01/disk-0', stream: 0, ios: 2000, iops: r.iops, elapsedUs: r.elapsedUs, latencyUs: r.latencyUs });
		expect(text.stdout).not.toMatch(/^ {2}(job|stream) /m);
	});

	test('--analytics-out writes the vscsiStats histograms, MRC and heat map; the summary prints the buckets', { timeout: TIMEOUT }, async ({ expect }) => {
		const o = await vaio('run', '--fio', 'two.fio', '--chain', 'analytics', '--analytics-out', 'a.json');
		expect(o.code, o.stderr).toBe(0);
		const a = JSON.parse(read('a.json'));
		expect(a.scenario).toBe('fio: two.fio');
		expect(a.disks.map((d: any) => d.disk)).toEqual(['vm-01/disk-0']);
		const d = a.disks[0];
		expect([d.ios, d.reads, d.writes]).toEqual([3500, 3000, 500]);
		const len = d.histograms.ioLength;
		// vscsiStats' limits: 4096 and 65536 are buckets of their own.
		expect(len.all.counts[len.all.limits.indexOf(4096)]).toBe(3000);
		expect(len.all.counts[len.all.limits.indexOf(65536)]).toBe(500);
		expect(len.read.count).toBe(3000);
		expect(len.write.count).toBe(500);
		for (const m of ['ioLength', 'seekDistance', 'outstandingIOs', 'latency', 'interarrival'])
			for (const part of ['all', 'read', 'write']) {
				const h = d.histograms[m][part];
				expect(h.counts).toHaveLength(h.limits.length + 1);
				expect(sum(h.counts), `${m}.${part}`).toBe(h.count);
			}
		expect(d.histograms.latency.all.count).toBe(3500);
		// The sequential writer's own seek distances are +1 LBN (vscsiStats' sequential bucket).
		const seek = d.histograms.seekDistance.write;
		expect(seek.counts[seek.limits.indexOf(1)]).toBe(499);
		expect(d.mrc.missRatio).toHaveLength(d.mrc.sizesBlocks.length);
		// 500 sequential 64 KiB writes are 8000 blocks; 3000 random 4 KiB reads (with replacement) a few less.
		expect(d.workingSet.blocks).toBeGreaterThan(8000 + 2900);
		expect(d.workingSet.blocks).toBeLessThanOrEqual(8000 + 3000);
		expect(d.workingSet.bytes).toBe(d.workingSet.blocks * 4096);
		expect(sum(d.heatMap.reads.flat())).toBe(3000);
		expect(sum(d.heatMap.writes.flat())).toBe(500);
		expect(o.stdout).toMatch(/^ {2}analytics vm-01\/disk-0: ios=3500 \(reads=3000, writes=500\), working set=/m);
		expect(o.stdout).toMatch(/^ {4}I\/O length \(bytes\): ≤4096:3000 ≤65536:500 \(n=3500, min=4096, /m);
		expect(o.stdout).toMatch(/^ {4}latency \(µs\): (≤\d+:\d+ )+\(n=3500, /m);
		expect(o.stdout).toMatch(/^ {4}outstanding I\/Os at arrival: ≤1:/m);
	});

	test('--analytics-out without the analytics filter is bad input, and writes no file', { timeout: TIMEOUT }, async ({ expect }) => {
		const o = await vaio('run', '--chain', 'cache', '--analytics-out', 'none.json');
		expect(o.code, o.stderr).toBe(2);
		expect(o.stdout).toBe('');
		expect(o.stderr).toMatch(/^vaio: --analytics-out none\.json: no disk has the analytics filter, .*--chain analytics/);
		expect(o.stderr.trim().split('\n')).toHaveLength(1);
		expect(fs.existsSync(path.join(dir, 'none.json'))).toBe(false);
		const same = await vaio('run', '--chain', 'analytics', '--analytics-out', 'x.json', '--metrics-out', 'x.json');
		expect(same.code).toBe(2);
		expect(same.stderr).toMatch(/--metrics-out and --analytics-out name the same file "x\.json"/);
	});

	test('--csv-out and --perfetto-out name the fio job of each guest I/O; the digest is as before', { timeout: TIMEOUT }, async ({ expect }) => {
		const o = await vaio('run', '--fio', 'two.fio', '--json', '--csv-out', 'two.csv', '--perfetto-out', 'two.perfetto.json');
		expect(o.code, o.stderr).toBe(0);
		const r = JSON.parse(o.stdout);
		expect(r.streams.map((s: { job: string }) => s.job)).toEqual(['reader', 'writer']);
		// The trace digest of this run before the trace recorded streams (commit 7bfb7c4).
		expect(r.traceDigest).toBe('ebcf1308c0709f1b');
		const csv = read('two.csv');
		expect(csv.slice(0, csv.indexOf('\n'))).toMatch(/^id,disk,op,origin,job,lba,/);
		// The writer's region starts at 512 MiB: the LBA tells the job, independently of the trace.
		const lba = csvColumn(csv, 'lba').map(Number);
		const job = csvColumn(csv, 'job');
		expect(csvColumn(csv, 'origin').every((x) => x === 'guest')).toBe(true);
		expect(job.every((j, i) => j === (lba[i] < (512 * 2 ** 20) / 512 ? 'reader' : 'writer'))).toBe(true);
		expect(job.filter((j) => j === 'reader')).toHaveLength(3000);
		expect(job.filter((j) => j === 'writer')).toHaveLength(500);
		const events: { ph: string; tid: number; name: string; args?: { job?: string } }[] = JSON.parse(read('two.perfetto.json')).traceEvents;
		const guest = events.filter((e) => e.ph === 'b' && e.tid === 1);
		expect(guest).toHaveLength(3500);
		expect(guest.every((e) => e.name === e.args?.job && (e.name === 'reader' || e.name === 'writer'))).toBe(true);
		// The drain run's filter I/O (destages) has no job; its guest I/O is the one stream "vaio".
		const drain = await vaio('run', 'drain.json', '--csv-out', 'drain-jobs.csv');
		expect(drain.code, drain.stderr).toBe(0);
		const d = read('drain-jobs.csv');
		const origin = csvColumn(d, 'origin');
		const djob = csvColumn(d, 'job');
		expect(origin.filter((x) => x === 'filter').length).toBeGreaterThan(0);
		expect(djob.every((j, i) => j === (origin[i] === 'guest' ? 'vaio' : ''))).toBe(true);
	});

	test('a scenario file names its streams: --json streams[].job, the CSV job column, Perfetto, --fio-out', { timeout: TIMEOUT }, async ({ expect }) => {
		const [o, unnamed, twice] = await Promise.all([
			vaio('run', 'named.json', '--json', '--csv-out', 'named.csv', '--perfetto-out', 'named.perfetto.json', '--fio-out', 'named.fio'),
			vaio('run', 'unnamed.json', '--json'),
			vaio('run', 'twice.json', '--json')
		]);
		expect(o.code, o.stderr).toBe(0);
		const r = JSON.parse(o.stdout);
		expect(r.streams.map((s: { job?: string; stream: number }) => [s.job, s.stream])).toEqual([
			['oltp [hot]', 0],
			['log=writer', 1]
		]);
		// Names are not in the trace: the digest is that of the same scenario without them.
		expect(unnamed.code, unnamed.stderr).toBe(0);
		const u = JSON.parse(unnamed.stdout);
		expect(u.traceDigest).toBe(r.traceDigest);
		expect(u.streams.every((s: object) => !('job' in s))).toBe(true);
		const csv = read('named.csv');
		const lba = csvColumn(csv, 'lba').map(Number);
		const job = csvColumn(csv, 'job');
		expect(job.every((j, i) => j === (lba[i] < (512 * 2 ** 20) / 512 ? 'oltp [hot]' : 'log=writer'))).toBe(true);
		expect(job.filter((j) => j === 'log=writer')).toHaveLength(300);
		const events: { ph: string; tid: number; name: string }[] = JSON.parse(read('named.perfetto.json')).traceEvents;
		expect(new Set(events.filter((e) => e.ph === 'b' && e.tid === 1).map((e) => e.name))).toEqual(new Set(['oltp [hot]', 'log=writer']));
		expect(read('named.fio')).toMatch(/^\[oltp \[hot\]\]\nrw=randrw$/m);
		expect(read('named.fio')).toMatch(/^\[log=writer\]$/m);
		// Two streams of a disk with one name: exit 2, naming the second and the first.
		expect(twice.code).toBe(2);
		expect(twice.stderr).toContain('vms[0].disks[0].workload[1].name: duplicate stream name "oltp [hot]": workload[0] has it too');
	});

	test('background work after the workload: endUs and "ended at" show it, IOPS stay over the workload', { timeout: TIMEOUT }, async ({ expect }) => {
		const [js, text] = await Promise.all([vaio('run', 'drain.json', '--json', '--csv-out', 'drain.csv'), vaio('run', 'drain.json')]);
		expect(js.code, js.stderr).toBe(0);
		const r = JSON.parse(js.stdout);
		const csv = read('drain.csv');
		const origin = csvColumn(csv, 'origin');
		const done = csvColumn(csv, 'doneAt').map(Number);
		const guestEnd = Math.max(...done.filter((_, i) => origin[i] === 'guest'));
		const filterEnd = Math.max(...done.filter((_, i) => origin[i] === 'filter'));
		expect(r.workloadEndUs).toBe(guestEnd);
		// The power-off at 50 ms destages the dirty blocks: filter I/O goes on long after the guest's.
		expect(filterEnd).toBeGreaterThan(50_000);
		expect(r.endUs).toBeGreaterThanOrEqual(filterEnd);
		expect(r.elapsedUs).toBeLessThanOrEqual(r.workloadEndUs + 1e-6);
		expect(r.iops).toBeCloseTo((r.ios / r.elapsedUs) * 1e6, 6);
		expect(text.stdout).toMatch(/^ {2}run: virtual=[\d.]+ms, wall=/m);
		expect(text.stdout).toMatch(/^ {4}ended at [\d.]+ms \(background work drained [\d.]+ms after the last guest I\/O\)$/m);
		// Without background work the run ends with the workload and says nothing more.
		const plain = await vaio('run', '--ios', '1000', '--json');
		const p = JSON.parse(plain.stdout);
		expect(p.endUs).toBe(p.workloadEndUs);
	});

	test('with --rows below the I/Os the summary says how many rows the exports hold', { timeout: TIMEOUT }, async ({ expect }) => {
		const [text, js] = await Promise.all([
			vaio('run', '--rows', '1000', '--ios', '3000', '--csv-out', 'rows.csv'),
			vaio('run', '--rows', '1000', '--ios', '3000', '--json')
		]);
		expect(text.code, text.stderr).toBe(0);
		expect(text.stdout).toMatch(/^ {2}trace: digest=[0-9a-f]{16}, rows=1000 \(the last of 3000 traced\), events=/m);
		expect(read('rows.csv').trim().split('\n')).toHaveLength(1 + 1000);
		const r = JSON.parse(js.stdout);
		expect([r.traceRows, r.traceRowsHeld]).toEqual([3000, 1000]);
	});
});
