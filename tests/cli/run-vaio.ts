/**
 * The CLI as a user runs it, for the CLI tests: `node bin/vaio.js …` in a child process, its exit
 * code and both outputs; and the shape every bad-input answer has.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ExpectStatic } from 'vitest';

export const BIN = fileURLToPath(new URL('../../bin/vaio.js', import.meta.url));

export interface Outcome {
	code: number;
	stdout: string;
	stderr: string;
}

/** Runs `vaio ARGS` (from `cwd` when given); a killed or crashed process has code -1. */
export function runVaio(args: string[], options: { cwd?: string; timeoutMs: number }): Promise<Outcome> {
	return new Promise((resolve) => {
		execFile(process.execPath, [BIN, ...args], { cwd: options.cwd, timeout: options.timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
			const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
			resolve({ code, stdout: String(stdout), stderr: String(stderr) });
		});
	});
}

/** Bad input: exit 2, nothing on stdout, one line on stderr ("vaio: …", no stack) matching every part. */
export function expectBadInput(expect: ExpectStatic, o: Outcome, ...parts: (string | RegExp)[]): void {
	expect(o.code, o.stderr).toBe(2);
	expect(o.stdout).toBe('');
	const lines = o.stderr.split('\n').filter((l) => l !== '');
	expect(lines, o.stderr).toHaveLength(1);
	expect(lines[0]).toMatch(/^vaio: /);
	expect(o.stderr).not.toMatch(/^\s*at /m);
	for (const p of parts) expect(lines[0]).toMatch(p);
}
