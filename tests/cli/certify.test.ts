/**
 * `vaio certify` end to end: each test spawns `node bin/vaio.js certify …` from a temporary
 * directory and checks the exit code (0 all checks pass, 1 a check fails, 2 bad input) and the
 * report. Filter files are TypeScript, loaded by the CLI's dynamic import under tsx. Runs use
 * --scale 0.2 (a few hundred I/Os per run) to stay quick.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { runVaio, expectBadInput, type Outcome } from './run-vaio';

const SAMPLES = fileURLToPath(new URL('../../src/lib/certify/samples/', import.meta.url));
const TIMEOUT = 90_000;


let dir: string;

const vaio = (...args: string[]): Promise<Outcome> => runVaio(args, { cwd: dir, timeoutMs: TIMEOUT });

/** Bad input: exit 2, nothing on stdout, one line on stderr, no stack trace. */

beforeAll(() => {
	dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vaio-certify-test-'));
	const write = (f: string, text: string) => fs.writeFileSync(path.join(dir, f), text);
	// A self-contained TypeScript filter (type annotations and all): a correct one.
	write(
		'mine.ts',
		`interface Def { [k: string]: unknown }
const mine: Def = {
	contract: 1,
	name: 'mine',
	vendor: 'me',
	version: '0.1.0',
	class: 'cache',
	description: 'passes every I/O',
	params: [],
	attach: (): null => null,
	onIo: () => ({ kind: 'pass' as const })
};
export default mine;
`
	);
	write('broken.ts', `export { blocksThePath as default } from ${JSON.stringify(path.join(SAMPLES, 'blocks-the-path.ts'))};\n`);
	write('notfilter.ts', `export default { name: 'half', vendor: 'me' };\n`);
	write('nodefault.ts', `export const x = 1;\n`);
	write('syntax.ts', `export default {{{;\n`);
});

afterAll(() => {
	if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('vaio certify', () => {
	test.concurrent(
		'a correct filter file passes: exit 0, ✓ for all seven checks',
		async ({ expect }) => {
			const o = await vaio('certify', 'mine.ts', '--scale', '0.2');
			expect(o.code, o.stderr + o.stdout).toBe(0);
			for (let n = 1; n <= 7; n++) expect(o.stdout).toMatch(new RegExp(`^✓ ${n}\\. `, 'm'));
			expect(o.stdout).toMatch(/^certify mine 0\.1\.0 by me: class cache/m);
			expect(o.stdout).toMatch(/PASSED: 7 of 7 applicable checks passed/);
			expect(o.stderr).toBe('');
		},
		TIMEOUT
	);

	test.concurrent(
		'a broken filter fails: exit 1, ✗ on its check with the I/O and time',
		async ({ expect }) => {
			const o = await vaio('certify', 'broken.ts', '--scale', '0.2');
			expect(o.code, o.stderr).toBe(1);
			expect(o.stdout).toMatch(/^✗ 7\. no blocking on the I\/O path beyond a budget: 5 ms per I\/O on average/m);
			expect(o.stdout).toMatch(/I\/O #\d+ (read|write) lba \d+\+\d+ at t=[\d.]+ m?s \[mixed\]: onIo charged 5 ms of blocking time/);
			for (let n = 1; n <= 6; n++) expect(o.stdout).toMatch(new RegExp(`^✓ ${n}\\. `, 'm'));
			expect(o.stdout).toMatch(/FAILED: 1 of 7 checks failed \(7\)/);
		},
		TIMEOUT
	);

	test.concurrent(
		'--builtin with --param and --json: the report as JSON',
		async ({ expect }) => {
			const o = await vaio('certify', '--builtin', 'delay', '--param', 'readUs=200', '--scale', '0.2', '--seed', '7', '--json');
			expect(o.code, o.stderr).toBe(0);
			const r = JSON.parse(o.stdout);
			expect(r.filter.name).toBe('delay');
			expect(r.cls).toBe('replication');
			expect(r.params).toEqual({ readUs: 200 });
			expect(r.seed).toBe(7);
			expect(r.checks).toHaveLength(7);
			expect(r.checks.every((c: { passed: boolean }) => c.passed)).toBe(true);
		},
		TIMEOUT
	);

	test.concurrent(
		'bad input is exit 2 with one line',
		async ({ expect }) => {
			const [missing, notFilter, noDefault, syntax, unknown, badParam, badClass, none] = await Promise.all([
				vaio('certify', 'nope.ts'),
				vaio('certify', 'notfilter.ts'),
				vaio('certify', 'nodefault.ts'),
				vaio('certify', 'syntax.ts'),
				vaio('certify', '--builtin', 'nope'),
				vaio('certify', '--builtin', 'delay', '--param', 'readUs=-5'),
				vaio('certify', '--builtin', 'encryption', '--class', 'cache'),
				vaio('certify')
			]);
			expectBadInput(expect, missing, /^vaio: nope\.ts: no such file$/);
			expectBadInput(expect, notFilter, /notfilter\.ts: not a filter: filter "half": contract version undefined is not supported/);
			expectBadInput(expect, noDefault, /nodefault\.ts: no default export/);
			expectBadInput(expect, syntax, /syntax\.ts: cannot load the module/);
			expectBadInput(expect, unknown, /--builtin: unknown filter "nope" \(built-in: .*delay/);
			expectBadInput(expect, badParam, /parameter "readUs": -5 is below the minimum 0/);
			expectBadInput(expect, badClass, /filter "encryption" is of class encryption; its class cannot be changed/);
			expectBadInput(expect, none, /certify: give a filter file/);
		},
		TIMEOUT
	);
});
