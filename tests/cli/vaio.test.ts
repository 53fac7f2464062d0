/**
 * The `vaio` command end to end: each test spawns `node bin/vaio.js …` (from a temporary working
 * directory, to prove it runs from anywhere) and checks exit codes and output. Every spawn costs
 * about half a second of tsx startup, so there are few of them and the runs are small.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { runVaio, expectBadInput, type Outcome } from './run-vaio';

const TIMEOUT = 60_000;


let dir: string;

const vaio = (...args: string[]): Promise<Outcome> => runVaio(args, { cwd: dir, timeoutMs: TIMEOUT });

function json(o: Outcome): any {
	return JSON.parse(o.stdout);
}

/** Bad input: exit 2, nothing on stdout, exactly one line on stderr, no stack trace. */

/** A one-disk scenario with a flaky filter (2000 small random I/Os). */
function flakyScenario(name: string, params: Record<string, unknown>): object {
	return {
		version: 1,
		name,
		seed: 3,
		vms: [
			{
				name: 'vm',
				disks: [
					{
						name: 'd',
						size: '1g',
						policy: { filters: [{ type: 'flaky', params }] },
						workload: [{ rw: 'randrw', bs: '4k', iodepth: 8, ios: 2000 }]
					}
				]
			}
		]
	};
}

beforeAll(() => {
	dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vaio-cli-test-'));
	const write = (f: string, text: string) => fs.writeFileSync(path.join(dir, f), text);
	write('bad.json', '{\n  "version": 1,\n  "vms": [ { "name": "a", "disks": [ ] ]\n}\n');
	write('field.json', JSON.stringify({ version: 1, vms: [{ name: 'a', disks: [{ name: 'd', size: 'huge' }] }] }));
	write('fail.json', JSON.stringify(flakyScenario('flaky-fail', { mode: 'fail', probability: 0.02 })));
	write('corrupt.json', JSON.stringify(flakyScenario('flaky-corrupt', { mode: 'corrupt-read', probability: 0.02 })));
});

afterAll(() => {
	if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe.concurrent('vaio run', () => {
	test('the default scenario exits 0 with a fio-like summary and a 16-hex digest', { timeout: TIMEOUT }, async ({ expect }) => {
		const o = await vaio('run');
		expect(o.code, o.stderr).toBe(0);
		expect(o.stderr).toBe('');
		expect(o.stdout).toMatch(/^default: \(seed=42, 1 disk, store=memory\) chain: passthrough$/m);
		expect(o.stdout).toMatch(/^ {2}read: IOPS=[\d.]+k?, BW=[\d.]+[KMG]iB\/s \([\d.]+[kMG]B\/s\)/m);
		expect(o.stdout).toMatch(/^ {2}write: IOPS=/m);
		expect(o.stdout).toMatch(/clat percentiles: p50=[\d.]+(ns|µs|ms|s), p90=.*, p99=.*, p99\.9=[\d.]+(ns|µs|ms|s)/);
		expect(o.stdout).toMatch(/^ {2}verify: reads=\d+, sectors checked=\d+, mismatches=0$/m);
		expect(o.stdout).toMatch(/^ {2}errors: 0$/m);
		expect(o.stdout).toMatch(/^ {2}filter passthrough: .*pass=10000/m);
		expect(o.stdout).toMatch(/^ {2}trace: digest=[0-9a-f]{16},/m);
		expect(o.stdout).toMatch(/^ {2}run: virtual=[\d.]+(µs|ms|s), wall=[\d.]+(µs|ms|s) \([\d.]+[kM]? IO\/s wall\)$/m);
	});

	test('--json has the summary fields; the same seed gives the same digest in any store, another seed another', { timeout: TIMEOUT }, async ({ expect }) => {
		const [a, b, c] = await Promise.all([
			vaio('run', '--json', '--ios', '2000', '--seed', '7'),
			vaio('run', '--json', '--ios', '2000', '--seed', '7', '--store', 'file'),
			vaio('run', '--json', '--ios', '2000', '--seed', '8')
		]);
		for (const o of [a, b, c]) expect(o.code, o.stderr).toBe(0);
		const [ra, rb, rc] = [a, b, c].map(json);
		expect(ra.ios).toBe(2000);
		expect(ra.seed).toBe(7);
		expect(ra.iops).toBeGreaterThan(0);
		for (const k of ['p50', 'p99', 'p999']) expect(ra.latencyUs[k]).toBeGreaterThan(0);
		expect(ra.verify.reads).toBeGreaterThan(0);
		expect(ra.verify.mismatches).toBe(0);
		expect(ra.traceDigest).toMatch(/^[0-9a-f]{16}$/);
		expect(ra.filters.passthrough.verdictPass).toBe(2000);
		expect(ra.wall.ms).toBeGreaterThan(0);
		expect(rb.store).toBe('file:temporary');
		expect(rb.traceDigest).toBe(ra.traceDigest);
		expect(rc.traceDigest).not.toBe(ra.traceDigest);
	});

	test('--chain none runs without filters', { timeout: TIMEOUT }, async ({ expect }) => {
		const o = await vaio('run', '--chain', 'none', '--ios', '2000', '--json');
		expect(o.code, o.stderr).toBe(0);
		const r = json(o);
		expect(r.filters).toEqual({});
		expect(r.disks).toEqual([expect.objectContaining({ chain: [] })]);
		expect(r.ios).toBe(2000);
	});

	test('--chain puts filters in class order; passthrough takes a class', { timeout: TIMEOUT }, async ({ expect }) => {
		const o = await vaio('run', '--chain', 'passthrough:cache,delay', '--ios', '2000');
		expect(o.code, o.stderr).toBe(0);
		expect(o.stdout).toMatch(/chain: delay → passthrough$/m);
		expect(o.stdout).toMatch(/^ {2}filter delay: delayed=2000,/m);
		expect(o.stdout).toMatch(/^ {2}filter passthrough: verdicts: pass=2000 /m);
	});

	test('with a scenario file, --chain replaces every disk\'s filters and --ios every workload\'s ios', { timeout: TIMEOUT }, async ({ expect }) => {
		const o = await vaio('run', 'corrupt.json', '--chain', 'passthrough', '--ios', '1000', '--json');
		expect(o.code, o.stderr).toBe(0);
		const r = json(o);
		expect(r.scenario).toBe('flaky-corrupt');
		expect(r.disks[0].chain).toEqual(['passthrough']);
		expect(r.ios).toBe(1000);
		expect(r.verify.mismatches).toBe(0);
	});

	test('a flaky filter failing I/O exits 1', { timeout: TIMEOUT }, async ({ expect }) => {
		const o = await vaio('run', 'fail.json', '--json');
		expect(o.code, o.stderr).toBe(1);
		const r = json(o);
		expect(r.errors.count).toBeGreaterThan(0);
		expect(r.errors.first[0]).toMatchObject({ code: 'EIO' });
		expect(r.filters.flaky.failed).toBe(r.errors.count);
		expect(r.verify.mismatches).toBe(0);
	});

	test('a flaky filter corrupting reads exits 1 with mismatches', { timeout: TIMEOUT }, async ({ expect }) => {
		const o = await vaio('run', 'corrupt.json', '--json');
		expect(o.code, o.stderr).toBe(1);
		const r = json(o);
		expect(r.verify.mismatches).toBeGreaterThan(0);
		expect(r.verify.firstMismatch.sector).toBeGreaterThanOrEqual(0);
		expect(r.filters.flaky.corrupted).toBeGreaterThan(0);
		expect(r.errors.count).toBe(0);
	});
});

describe.concurrent('vaio bad input: exit 2, one line naming file, field and reason', () => {
	test('a missing file', { timeout: TIMEOUT }, async ({ expect }) => {
		expectBadInput(expect, await vaio('run', 'nope.json'), /^vaio: nope\.json: no such file$/);
	});

	test('broken JSON, with line and column', { timeout: TIMEOUT }, async ({ expect }) => {
		expectBadInput(expect, await vaio('run', 'bad.json'), /^vaio: bad\.json: line 3 column 40: unexpected character "]" \(expected ',' or '}' after a property value\)$/);
	});

	test('a bad field names its path', { timeout: TIMEOUT }, async ({ expect }) => {
		expectBadInput(expect, await vaio('run', 'field.json'), /^vaio: field\.json: vms\[0\]\.disks\[0\]\.size: \S/);
	});

	test('an unknown --chain filter', { timeout: TIMEOUT }, async ({ expect }) => {
		expectBadInput(expect, await vaio('run', '--chain', 'passthrough,nosuch'), /^vaio: --chain: unknown filter "nosuch" \(known: .*passthrough.*\)$/);
	});

	test('two filters of one class name both', { timeout: TIMEOUT }, async ({ expect }) => {
		expectBadInput(
			expect,
			await vaio('run', '--chain', 'delay,passthrough'),
			/^vaio: --chain: "delay" and "passthrough" are both of class inspection/
		);
	});
});

describe.concurrent('vaio list-filters', () => {
	test('lists every built-in with its class, version and parameter table', { timeout: TIMEOUT }, async ({ expect }) => {
		const o = await vaio('list-filters');
		expect(o.code, o.stderr).toBe(0);
		expect(o.stdout).toMatch(/^NAME +CLASS +VERSION +DESCRIPTION$/m);
		expect(o.stdout).toMatch(/^passthrough +inspection\* +\d+\.\d+\.\d+ +\S/m);
		expect(o.stdout).toMatch(/^flaky +datastoreIoControl\* +\d+\.\d+\.\d+ +\S/m);
		expect(o.stdout).toMatch(/^ {2}mode +enum +fail +fail\|corrupt-read\|corrupt-write/m);
	});
});
