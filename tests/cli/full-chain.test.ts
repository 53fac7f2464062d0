/**
 * Issue 3: `vaio run --chain analytics,dedup,encryption,replication,cache,tiering` (all six
 * built-ins on the default scenario) exits 0 with every read verified and no error.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, test } from 'vitest';

const BIN = fileURLToPath(new URL('../../bin/vaio.js', import.meta.url));
const TIMEOUT = 120_000;
const CHAIN = 'analytics,dedup,encryption,replication,cache,tiering';

let dir: string;
beforeAll(() => {
	dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vaio-cli-chain-'));
});
afterAll(() => {
	if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

function vaio(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
	return new Promise((resolve) => {
		execFile(process.execPath, [BIN, ...args], { cwd: dir, timeout: TIMEOUT, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
			const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
			resolve({ code, stdout: String(stdout), stderr: String(stderr) });
		});
	});
}

test(`vaio run --chain ${CHAIN} exits 0, verified and clean`, { timeout: TIMEOUT }, async () => {
	const o = await vaio('run', '--chain', CHAIN, '--json');
	expect(o.code, o.stderr).toBe(0);
	const r = JSON.parse(o.stdout);
	expect(r.disks[0].chain).toEqual(CHAIN.split(','));
	expect(r.ios).toBe(10_000);
	expect(r.errors.count).toBe(0);
	expect(r.verify.mismatches).toBe(0);
	expect(r.verify.reads).toBeGreaterThan(0);
	for (const f of CHAIN.split(',')) expect(r.filters[f], f).toBeDefined();
});
