/**
 * The browser stores in real Chromium: the same conformance checks as Node (store-checks.ts) on
 * OPFS and IndexedDB, persistence across a reload, a crash (reload without flush), another tab
 * holding the stores, a full quota, and the raw-vs-store benchmark numbers.
 *
 * Everything runs in a persistent context on a fresh profile directory: OPFS in Playwright's
 * default incognito contexts is in memory (and much slower), which would prove nothing about
 * persistence. The page /dev/store-checks exposes the checks worker as `window.storeChecks`.
 */
import { expect, test, type Page } from '@playwright/test';
import type { StoreChecksApi } from '../../src/lib/worker/store-checks.worker';
import { usePersistentContext } from './helpers';

type Api = StoreChecksApi;

const persistent = usePersistentContext('vaio-stores-');

/** Opens the dev page and waits for its worker. */
async function openChecks(page?: Page): Promise<Page> {
	const p = page ?? (await persistent().newPage());
	const errors: string[] = [];
	p.on('pageerror', (e) => errors.push(e.message));
	await p.goto('/dev/store-checks');
	await expect(p.getByTestId('checks-ready')).toHaveAttribute('data-ready', 'yes');
	expect(errors).toEqual([]);
	return p;
}

/** Calls the worker API from the page. */
function call<K extends keyof Api>(page: Page, method: K, ...args: Parameters<Api[K]>): Promise<Awaited<ReturnType<Api[K]>>> {
	return page.evaluate(
		([m, a]) => {
			const api = (window as unknown as { storeChecks: Record<string, (...x: unknown[]) => Promise<unknown>> }).storeChecks;
			return api[m as string](...(a as unknown[]));
		},
		[method, args] as const
	) as Promise<Awaited<ReturnType<Api[K]>>>;
}

test('the store conformance checks pass on OPFS and IndexedDB in Chromium', async () => {
	test.setTimeout(120_000);
	const page = await openChecks();
	expect(await call(page, 'opfsAvailable')).toBe(true);
	const runs = await call(page, 'runChecks', ['opfs', 'idb']);
	expect(runs.map((r) => r.backend)).toEqual(['opfs', 'idb']);
	for (const r of runs) {
		const failed = r.results.filter((x) => !x.ok).map((x) => `${x.name}: ${x.error}`);
		expect(failed, `checks failed on ${r.backend}:\n${failed.join('\n')}`).toEqual([]);
		// The factory suite: 17 block-store, 6 sidecar and 4 factory checks, as in Node.
		expect(r.results.length, `${r.backend} ran every check`).toBe(27);
	}
	// The dev page's own button shows the same.
	await page.getByRole('button', { name: 'Run' }).click();
	await expect(page.getByRole('heading', { name: /^opfs: 27\/27 passed/ })).toBeVisible({ timeout: 60_000 });
	await expect(page.getByRole('heading', { name: /^idb: 27\/27 passed/ })).toBeVisible();
});

for (const backend of ['opfs', 'idb'] as const) {
	test(`${backend}: disks and sidecars persist across a reload, thinly`, async () => {
		const page = await openChecks();
		const root = `vaio-e2e-persist-${backend}`;
		const written = await call(page, 'writeDisk', backend, root, 1, 2000, 0);
		expect(written.blocks).toBeGreaterThan(1900);
		if (backend === 'opfs') {
			// A 20 GiB disk touched in ~2000 blocks costs ~2000 slots, not 20 GiB.
			expect(written.fileBytes).toBeLessThan(written.blocks * 4096 + 256 * 1024);
		}
		await page.reload();
		await expect(page.getByTestId('checks-ready')).toHaveAttribute('data-ready', 'yes');
		const check = await call(page, 'verifyDisk', backend, root, 1, 2000, 0);
		expect(check.problems).toEqual([]);
		await call(page, 'wipe', backend, root);
	});

	test(`${backend}: a reload without a flush loses at most the unflushed writes, never older ones`, async () => {
		const page = await openChecks();
		const root = `vaio-e2e-crash-${backend}`;
		// ~1500 blocks flushed, then 500 more new blocks written and never flushed.
		await call(page, 'writeDisk', backend, root, 3, 2000, 500);
		await page.reload(); // the worker dies with its open handles, as when a tab is closed
		await expect(page.getByTestId('checks-ready')).toHaveAttribute('data-ready', 'yes');
		const check = await call(page, 'verifyDisk', backend, root, 3, 2000, 500);
		expect(check.problems).toEqual([]);
		expect(check.kept + check.lost).toBe(500);
		await call(page, 'wipe', backend, root);
	});

	test(`${backend}: another tab holding the stores gets a clear message`, async () => {
		const first = await openChecks();
		const second = await openChecks(await persistent().newPage());
		const root = `vaio-e2e-lock-${backend}`;
		expect(await call(first, 'hold', backend, root, true)).toBeNull();
		const refused = await call(second, 'hold', backend, root, true);
		expect(refused?.name).toBe('StoreLockedError');
		expect(refused?.message).toMatch(/open in another tab/);
		if (backend === 'opfs') {
			// Without the Web Lock, the file's own exclusive handle still refuses, naming the disk.
			await call(first, 'releaseHeld', root);
			expect(await call(first, 'hold', backend, `${root}-nolock`, false)).toBeNull();
			const file = await call(second, 'hold', backend, `${root}-nolock`, false);
			expect(file?.name).toBe('StoreLockedError');
			expect(file?.message).toMatch(/the disk "disk\.vm1\/disk0" is open in another tab/);
			await call(first, 'releaseHeld', `${root}-nolock`);
		} else {
			await call(first, 'releaseHeld', root);
		}
		// Once the first tab lets go, the second can open the stores.
		expect(await call(second, 'hold', backend, root, true)).toBeNull();
		await call(second, 'wipe', backend, root);
	});

	test(`${backend}: a full quota stops writes with a clear message and harms nothing written`, async () => {
		const page = await openChecks();
		const cdp = await persistent().newCDPSession(page);
		const origin = new URL(page.url()).origin;
		const { usage } = await call(page, 'estimate');
		// Chromium grants an OPFS file capacity in growing steps (about doubling): OPFS needs
		// more headroom than the few MiB IndexedDB needs before the first refusal.
		const quotaSize = usage + (backend === 'opfs' ? 16 : 3) * 1024 * 1024;
		await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize });
		try {
			const r = await call(page, 'fill', backend, `vaio-e2e-full-${backend}`, 20_000); // 80 MiB > 3 MiB
			expect(r.error?.name, JSON.stringify(r.error)).toBe('StoreFullError');
			expect(r.error?.message).toMatch(/storage is full: .*this site use[sd] .* of its .* quota \(.* (was )?available\)/);
			expect(r.written).toBeGreaterThan(64);
			expect(r.written).toBeLessThan(20_000);
			expect(r.problems).toEqual([]);
		} finally {
			await cdp.send('Storage.overrideQuotaForOrigin', { origin });
		}
	});
}

test('benchmark: raw OPFS sync handle vs the OPFS and IndexedDB stores (4 KiB random I/O)', async () => {
	test.setTimeout(120_000);
	const page = await openChecks();
	const r = await call(page, 'bench', 4000);
	const lines = Object.entries(r).map(([k, v]) => `${k}: ${v}`);
	lines.push(`opfs-store-vs-raw first write: ${(r.opfsStoreFirstWrite / r.rawFirstWrite).toFixed(2)}`);
	lines.push(`opfs-store-vs-raw write: ${(r.opfsStoreWrite / r.rawWrite).toFixed(2)}`);
	lines.push(`opfs-store-vs-raw read: ${(r.opfsStoreRead / r.rawRead).toFixed(2)}`);
	console.log(`store benchmark (ops/s, persistent profile):\n  ${lines.join('\n  ')}`);
	await test.info().attach('store-bench.json', { body: JSON.stringify(r, null, 2), contentType: 'application/json' });
	for (const v of Object.values(r)) expect(v).toBeGreaterThan(0);
});
