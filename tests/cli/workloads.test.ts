/**
 * `vaio run` with workloads from users' own files: fio job files (--fio). Each test spawns
 * `node bin/vaio.js …` from a temporary directory, as tests/cli/vaio.test.ts does.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, test, type ExpectStatic } from 'vitest';

const BIN = fileURLToPath(new URL('../../bin/vaio.js', import.meta.url));
const TIMEOUT = 60_000;

interface Outcome {
	code: number;
	stdout: string;
	stderr: string;
}

let dir: string;

function vaio(...args: string[]): Promise<Outcome> {
	return new Promise((resolve) => {
		execFile(process.execPath, [BIN, ...args], { cwd: dir, timeout: TIMEOUT, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
			const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
			resolve({ code, stdout: String(stdout), stderr: String(stderr) });
		});
	});
}

function expectBadInput(expect: ExpectStatic, o: Outcome, ...parts: RegExp[]): void {
	expect(o.code, o.stderr).toBe(2);
	expect(o.stdout).toBe('');
	const lines = o.stderr.split('\n').filter((l) => l !== '');
	expect(lines, o.stderr).toHaveLength(1);
	for (const p of parts) expect(lines[0]).toMatch(p);
}

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
});

afterAll(() => {
	if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe.concurrent('vaio run --fio', () => {
	test('each job is a stream of the one disk; the chain comes from --chain; warnings on stderr', { timeout: TIMEOUT }, async ({ expect }) => {
		const o = await vaio('run', '--fio', 'job.fio', '--chain', 'none', '--json');
		expect(o.code, o.stderr).toBe(0);
		expect(o.stderr).toBe('vaio: warning: job.fio:18: stonewall is not modelled: jobs run one after another in fio; here all jobs run at once\n');
		const r = JSON.parse(o.stdout);
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

	test('the text summary names the jobs and the ignored options; the default chain is passthrough', { timeout: TIMEOUT }, async ({ expect }) => {
		const o = await vaio('run', '--fio', 'job.fio', '--seed', '3');
		expect(o.code, o.stderr).toBe(0);
		expect(o.stdout).toMatch(/^fio: job\.fio: \(seed=3, 1 disk, store=memory\) chain: passthrough$/m);
		expect(o.stdout).toMatch(/^ {2}workload: fio job file job\.fio: 3 jobs \(reader, writer\.0, writer\.1\)$/m);
		expect(o.stdout).toMatch(/^ {4}ignored \(does not apply to a simulated disk\): ioengine, direct$/m);
	});

	test('a job reaching past 20 GiB gets a disk that holds it', { timeout: TIMEOUT }, async ({ expect }) => {
		const o = await vaio('run', '--fio', 'far.fio', '--describe');
		expect(o.code, o.stderr).toBe(0);
		const s = JSON.parse(o.stdout);
		expect(s.vms[0].disks[0].size).toBe(30 * 2 ** 30 + 8 * 2 ** 20);
		expect(s.vms[0].disks[0].workload[0]).toMatchObject({ rw: 'read', bs: 2 ** 20, offset: 30 * 2 ** 30, size: 8 * 2 ** 20, iodepth: 1 });
	});

	test('a misspelt option is bad input with FILE:LINE and a suggestion', { timeout: TIMEOUT }, async ({ expect }) => {
		expectBadInput(expect, await vaio('run', '--fio', 'typo.fio'), /^vaio: typo\.fio:3: unknown option "iodpeth" \(did you mean iodepth\?\)$/);
	});

	test('--fio and a scenario file exclude each other; a missing job file is named', { timeout: TIMEOUT }, async ({ expect }) => {
		const [a, b] = await Promise.all([vaio('run', 's.json', '--fio', 'job.fio'), vaio('run', '--fio', 'nope.fio')]);
		expectBadInput(expect, a, /^vaio: run: give a scenario file or --fio, not both/);
		expectBadInput(expect, b, /^vaio: nope\.fio: no such file$/);
	});
});
