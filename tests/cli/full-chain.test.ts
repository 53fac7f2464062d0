/**
 * Issue 3: `vaio run --chain analytics,dedup,encryption,replication,cache,tiering` (all six
 * built-ins on the default scenario) exits 0 with every read verified and no error.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { runVaio, type Outcome } from './run-vaio';

const TIMEOUT = 120_000;
const CHAIN = 'analytics,dedup,encryption,replication,cache,tiering';

let dir: string;
beforeAll(() => {
	dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vaio-cli-chain-'));
});
afterAll(() => {
	if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const vaio = (...args: string[]): Promise<Outcome> => runVaio(args, { cwd: dir, timeoutMs: TIMEOUT });

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
