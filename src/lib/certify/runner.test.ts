/**
 * The suite's own behaviour: bad input is refused with the registry's message, reports are
 * deterministic, the stall and blocking rules separate deferring from blocking, a filter in the
 * bottom class is not judged on what nothing can be below it, and a filter that holds an I/O
 * forever or never finishes a control operation fails a check instead of hanging the suite.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFER, FILTER_CONTRACT_VERSION, PASS, type FilterDef } from '../engine/filter';
import { FilterRegistrationError } from '../engine/registry';
import { ParamError } from '../engine/params';
import { delay, passthrough } from '../filters/index';
import { certify, CertifyInputError, formatReport } from './index';

const TIMEOUT = 60_000;

/** A deferring filter that resumes each I/O after `us` of virtual time (dm-delay). */
function deferFor(name: string, us: number): FilterDef<null> {
	return {
		contract: FILTER_CONTRACT_VERSION,
		name,
		vendor: 'test',
		version: '1.0.0',
		class: 'cache',
		description: `defers each I/O for ${us} µs`,
		params: [],
		attach: () => null,
		onIo(io, ctx) {
			ctx.after(us, () => ctx.resume(io));
			return DEFER;
		}
	};
}

describe('certify: input', () => {
	it('refuses what is not a filter with the registry check message', async () => {
		await expect(certify({ name: 'x' } as unknown as FilterDef)).rejects.toThrow(FilterRegistrationError);
		await expect(certify({ ...passthrough, onIo: undefined } as unknown as FilterDef)).rejects.toThrow(/required hook "onIo" is missing/);
	});

	it('refuses a class the filter cannot take, a probe name, bad params and unknown checks', async () => {
		const enc: FilterDef = { ...deferFor('fixed', 1), class: 'encryption' };
		await expect(certify(enc, { cls: 'cache' })).rejects.toThrow(CertifyInputError);
		await expect(certify({ ...passthrough, name: 'certify-probe-below' })).rejects.toThrow(/probe/);
		await expect(certify(delay, { params: { readUs: -1 } })).rejects.toThrow(ParamError);
		await expect(certify(delay, { only: ['nope' as never] })).rejects.toThrow(/unknown check "nope"/);
	});
});

describe('certify: rules', () => {
	it(
		'gives the same report for the same filter, options and seed',
		async () => {
			const a = await certify(delay, { only: ['defer-no-stall', 'failure-upward'], scale: 0.3 });
			const b = await certify(delay, { only: ['defer-no-stall', 'failure-upward'], scale: 0.3 });
			expect(JSON.stringify(a)).toBe(JSON.stringify(b));
			expect(a.checks.map((c) => c.id)).toEqual(['defer-no-stall', 'failure-upward']);
		},
		TIMEOUT
	);

	it(
		'a deferring delay passes checks 3 and 7; the same delay as a blocking call fails 7 only',
		async () => {
			const only = ['defer-no-stall', 'no-blocking'] as const;
			const deferring = await certify(delay, { only, scale: 0.15 });
			expect(deferring.checks.map((c) => c.passed)).toEqual([true, true]);
			expect(deferring.checks[0].summary).toMatch(/deferrals \(up to 32 held at once\)/);
			const blocking = await certify(delay, { only, scale: 0.15, params: { blocking: true } });
			expect(blocking.checks.map((c) => c.passed)).toEqual([true, false]);
			expect(blocking.checks[1].detail).toMatch(/1 ms of blocking time per I\/O on average/);
		},
		TIMEOUT
	);

	it(
		'holding deferred I/O with nothing below for longer than the stall budget fails check 3',
		async () => {
			const slow = await certify(deferFor('slow-defer', 200_000), { only: ['defer-no-stall'], scale: 0.2 });
			expect(slow.checks[0].passed).toBe(false);
			expect(slow.checks[0].detail).toMatch(/stalled for 200 ms \(budget 100 ms\)/);
			const quick = await certify(deferFor('quick-defer', 2_000), { only: ['defer-no-stall'], scale: 0.2 });
			expect(quick.checks[0].passed).toBe(true);
			// The budget is an option.
			const lenient = await certify(deferFor('slow-defer', 200_000), { only: ['defer-no-stall'], scale: 0.2, budgets: { stallUs: 300_000 } });
			expect(lenient.checks[0].passed).toBe(true);
		},
		TIMEOUT
	);

	it(
		'a filter in the bottom class is not judged on failures from below (nothing can be below it)',
		async () => {
			const r = await certify(passthrough, { cls: 'datastoreIoControl', only: ['failure-upward'], scale: 0.2 });
			expect(r.checks[0]).toMatchObject({ passed: true, skipped: true });
			expect(r.passed).toBe(true);
			expect(formatReport(r)).toMatch(/^– 4\. failure is reported only upward: not applicable/m);
		},
		TIMEOUT
	);

	it(
		'an I/O held forever fails check 1 with where it is held, and the suite does not hang',
		async () => {
			const holdsOne: FilterDef<{ n: number }> = {
				contract: FILTER_CONTRACT_VERSION,
				name: 'holds-one',
				vendor: 'test',
				version: '1.0.0',
				class: 'cache',
				description: 'never lets go of its 100th I/O',
				params: [],
				attach: () => ({ n: 0 }),
				onIo(io, ctx) {
					if (++ctx.state.n === 100) return DEFER; // never resumed
					return PASS;
				}
			};
			const r = await certify(holdsOne, { only: ['exactly-once'], scale: 0.2 });
			const c = r.checks[0];
			expect(c.passed).toBe(false);
			const held = c.findings.filter((f) => /never completed/.test(f.message));
			expect(held.length).toBeGreaterThan(0);
			expect(held[0].message).toMatch(/deferred \(held on the way down\) by holds-one since t=/);
			expect(held[0].io).toMatchObject({ id: expect.any(Number), op: expect.stringMatching(/read|write|flush|unmap/) });
		},
		TIMEOUT
	);

	it(
		'a control operation that never finishes fails check 5 instead of hanging',
		async () => {
			const stuck: FilterDef<null> = {
				...deferFor('stuck-event', 1),
				onIo: () => PASS,
				onEvent: () => new Promise<void>(() => {})
			};
			const r = await certify(stuck, { only: ['control-events'], scale: 0.2 });
			expect(r.checks[0].passed).toBe(false);
			expect(r.checks[0].detail).toMatch(/snapshot-create: a filter's onEvent\(snapshot-create\) did not finish/);
		},
		TIMEOUT
	);
});

describe('certify sources', () => {
	it('use no wall clock and no unseeded randomness (the suite is engine-side code)', () => {
		const files: string[] = [];
		const walk = (dir: string) => {
			for (const e of readdirSync(dir, { withFileTypes: true })) {
				const p = join(dir, e.name);
				if (e.isDirectory()) walk(p);
				else if (p.endsWith('.ts') && !p.endsWith('.test.ts')) files.push(p);
			}
		};
		walk('src/lib/certify');
		expect(files.length).toBeGreaterThan(15);
		const bad = /\bMath\.random\s*\(|\bDate\.now\s*\(|\bnew Date\s*\(|\bperformance\.now\s*\(|\bMath\.(exp|expm1|log|log1p|log2|log10|pow|sin|cos|tan|atan2|cbrt|hypot)\s*\(/;
		const problems = files.flatMap((f) =>
			readFileSync(f, 'utf8')
				.split('\n')
				.map((line, i) => (!/^\s*(\/\/|\*)/.test(line) && bad.test(line) ? `${f}:${i + 1}` : ''))
				.filter(Boolean)
		);
		expect(problems).toEqual([]);
	});
});
