/**
 * `vaio run` executes a scenario's timed operations (src/lib/engine/cluster): the examples in
 * examples/ run end to end, their operations are reported in the text summary and in --json,
 * refused ones included.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { runVaio, type Outcome } from './run-vaio';

const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));

const vaio = (...args: string[]): Promise<Outcome> => runVaio(args, { timeoutMs: 60_000 });

describe('vaio run with timed operations', () => {
	test('examples/vmotion.json: the refused vMotion, the policy blocked by a snapshot, the rolling upgrade', async () => {
		const o = await vaio('run', `${EXAMPLES}vmotion.json`, '--json');
		expect(o.code, o.stderr).toBe(0);
		const r = JSON.parse(o.stdout);
		const ops = r.cluster.operations.map((x: { op: string; ok: boolean }) => `${x.op}:${x.ok ? 'ok' : 'refused'}`);
		expect(ops).toEqual([
			'vmotion:refused',
			'vmotion:ok',
			'snapshot-create:ok',
			'policy:refused',
			'snapshot-delete:ok',
			'policy:ok',
			'upgrade:ok',
			'power-off:ok',
			'power-on:ok'
		]);
		expect(r.cluster.operations[0].message).toMatch(/host esx-03 lacks the filter bundle "cache"/);
		expect(r.cluster.operations[3].message).toMatch(/has snapshots \(before-upgrade\)/);
		expect(r.disks.map((d: { chain: string[] }) => d.chain)).toEqual([['analytics'], ['passthrough']]);
		expect(r.cluster.hosts.map((h: { bundles: { name: string; version: string }[] }) => h.bundles.find((b) => b.name === 'analytics')?.version)).toEqual([
			'1.1.0',
			'1.1.0',
			'1.1.0'
		]);
		expect(r.verify.mismatches).toBe(0);
		expect(r.errors.count).toBe(0);
	}, 120_000);

	test('examples/writeback-crash.json: the loss is reported in the summary', async () => {
		const o = await vaio('run', `${EXAMPLES}writeback-crash.json`);
		expect(o.code, o.stderr).toBe(0);
		expect(o.stdout).toMatch(/operation at 40ms: host-crash esx-01: host esx-01 crashed with 1 VMs; vm-01\/disk-0: \d+ I\/Os in flight lost, (\d+) acknowledged blocks not destaged; vm-01\/disk-0 on esx-02: \1 of \d+ blocks lost/);
		expect(o.stdout).toMatch(/operation at 100ms: host-crash esx-02: .* on esx-02: 0 of \d+ blocks lost/);
		expect(o.stdout).toMatch(/mismatches=0/);
	}, 120_000);

	test('examples/writeback-crash-protected.json: with a copy on a peer host, the crash loses no acknowledged write', async () => {
		const o = await vaio('run', `${EXAMPLES}writeback-crash-protected.json`);
		expect(o.code, o.stderr).toBe(0);
		expect(o.stdout).toMatch(
			/operation at 40ms: host-crash esx-01: .* ([1-9]\d*) acknowledged blocks not destaged \(\1 with a copy on a peer host\); vm-01\/disk-0 on esx-02: 0 of \d+ blocks lost/
		);
		expect(o.stdout).toMatch(/operation at 100ms: host-crash esx-02: .* on esx-02: 0 of \d+ blocks lost/);
		expect(o.stdout).toMatch(/mismatches=0/);
	}, 120_000);
});
