/**
 * The playground page on persistent stores, in Chromium: OPFS by default, IndexedDB selectable
 * and remembered. The disks, their sidecars (here the encryption filter's key record: without
 * it nothing written reads back) and the scenario survive a reload, and a read-only run after
 * it verifies every read against what was written before. Reset wipes them. A second tab gets a
 * clear "open in another tab" message and writes nothing; a full quota stops the run with the
 * disk and the reason, and what was written before still verifies after a reload. The page shows
 * the storage use, the quota and whether persistence was granted.
 *
 * Every test runs in a persistent context on a fresh profile directory: OPFS in Playwright's
 * default incognito contexts lives in memory, which would prove nothing about a reload.
 */
import { expect, test, type Page } from '@playwright/test';
import { encodeLink } from '../../src/lib/links/codec';
import { defaultEditableScenario } from '../../src/lib/ui/editable-scenario';
import { collectErrors, seriousViolations, usePersistentContext } from './helpers';

const SHOTS = process.env.H4_SHOTS ?? 'test-results';

const persistent = usePersistentContext('vaio-persist-');

/** A one-disk scenario whose chain keeps a sidecar the data depends on (the encryption key record). */
function writeScenario(ios: number, sizeBytes = 64 * 2 ** 20) {
	const s = defaultEditableScenario();
	s.name = 'persisted disks';
	const disk = s.vms[0].disks[0];
	disk.size = sizeBytes;
	disk.policy.filters = [{ type: 'encryption', params: {} }];
	Object.assign(disk.workload[0], { rw: 'randwrite', ios, iodepth: 16 });
	return s;
}

const status = (page: Page) => page.getByTestId('run-status');
const rw = (page: Page) => page.getByLabel('rw', { exact: true });

async function done(page: Page): Promise<void> {
	await expect(status(page)).toHaveAttribute('data-state', 'done', { timeout: 90_000 });
}

/** Does `act` and waits until the run it starts (the next run number) has finished. */
async function nextRun(page: Page, act: () => Promise<unknown>): Promise<void> {
	const n = Number(/Run #(\d+)/.exec((await status(page).textContent()) ?? '')?.[1] ?? 0);
	await act();
	await expect(status(page)).toContainText(`Run #${n + 1} finished`, { timeout: 90_000 });
}

/** Opens a link to the write scenario on a fresh page and waits for its run. */
async function writeThroughLink(page: Page, ios = 3000): Promise<void> {
	await openLink(page, writeScenario(ios));
	await done(page);
	await expect(page.getByTestId('verify-mismatches')).toHaveText('0');
	await expect(page.getByTestId('store-control')).toHaveAttribute('data-store', 'opfs');
}

/**
 * Opens a link as a new page load (not a hash change of the page already open). Over saved
 * disks the page asks first; these tests replace them unless told to play the link in memory.
 */
async function openLink(page: Page, scenario: ReturnType<typeof writeScenario>, answer: 'replace' | 'memory' = 'replace'): Promise<void> {
	await page.goto('about:blank');
	await page.goto(`/#${encodeLink({ scenario })}`);
	const dialog = page.getByTestId('link-over-saved');
	const started = page.locator('[data-testid="run-status"]:is([data-state="running"], [data-state="done"], [data-state="error"])');
	await dialog.or(started).first().waitFor({ timeout: 30_000 });
	if (await dialog.isVisible()) await page.getByTestId(answer === 'replace' ? 'link-replace-saved' : 'link-in-memory').click();
}

/** After a reload: the page shows the saved scenario on the restored disks, waiting for Play. */
async function expectRestored(page: Page, store = 'OPFS'): Promise<number> {
	const notice = page.getByTestId('restore-notice');
	await expect(notice).toContainText(`Disks restored from ${store}`, { timeout: 30_000 });
	await expect(status(page)).toHaveAttribute('data-state', 'ready');
	await expect(status(page)).toContainText('on the restored disks');
	const blocks = Number(/([\d,]+) written block/.exec((await notice.textContent()) ?? '')?.[1].replace(/,/g, ''));
	expect(blocks).toBeGreaterThan(1000);
	await expect(page.getByRole('textbox', { name: 'Scenario name' })).toHaveValue('persisted disks');
	return blocks;
}

/** Turns the workload into reads only and plays it: every read of the old data must verify. */
async function readVerify(page: Page): Promise<void> {
	await rw(page).selectOption('randread');
	await page.getByTestId('run-button').click();
	// The page may still say "done" from the run before for a moment: wait for this run's reads.
	const reads = () => page.getByTestId('verify-reads').textContent().then(Number);
	await expect.poll(reads, { timeout: 90_000 }).toBeGreaterThan(1000);
	await done(page);
	await expect(page.getByTestId('verify-mismatches')).toHaveText('0');
}

test('disks, sidecars and scenario survive a reload; reads after it verify; the estimate and persistence show', async () => {
	const page = await persistent().newPage();
	const errors = collectErrors(page);
	await page.goto('/');
	await done(page); // a first visit: nothing saved, the default scenario runs at once
	await expect(page.getByTestId('restore-notice')).toHaveCount(0);

	// The store: OPFS by default here, the site's use and quota, and the answer to persist().
	await expect(page.getByTestId('store-select')).toHaveValue('opfs');
	await expect(page.getByTestId('storage-usage')).toHaveText(/^[\d.]+ (B|KiB|MiB|GiB) of [\d.]+ (MiB|GiB|TiB) used$/);
	expect(Number(await page.getByTestId('storage-usage').getAttribute('data-quota'))).toBeGreaterThan(0);
	await expect(page.getByTestId('storage-persisted')).toHaveAttribute('data-persisted', /^(yes|no)$/);
	await expect(page.getByTestId('storage-persisted')).toHaveText(/^(persistent|not persistent)$/);
	const persisted = await page.evaluate(() => navigator.storage.persisted());
	await expect(page.getByTestId('storage-persisted')).toHaveAttribute('data-persisted', persisted ? 'yes' : 'no');

	await writeThroughLink(page);
	const usage = Number(await page.getByTestId('storage-usage').getAttribute('data-usage'));
	await page.reload();
	const blocks = await expectRestored(page);
	await expect(rw(page)).toHaveValue('randwrite');
	expect(Number(await page.getByTestId('storage-usage').getAttribute('data-usage'))).toBeGreaterThanOrEqual(usage * 0.5);
	await page.screenshot({ path: `${SHOTS}/persistence-restored.png` });
	// The status bar's store variant and the restore note are only seen here (other specs run in memory).
	expect(await seriousViolations(page)).toEqual([]);

	await readVerify(page);
	// Reloading again keeps them too (the read-only run wrote nothing new).
	await page.reload();
	expect(await expectRestored(page)).toBe(blocks);
	expect(errors).toEqual([]);
});

test('the page offers the stores; IndexedDB is remembered and its disks persist too', async () => {
	const page = await persistent().newPage();
	const errors = collectErrors(page);
	await page.goto('/');
	await done(page);
	const select = page.getByTestId('store-select');
	await expect(select.locator('option')).toHaveText(['OPFS', 'IndexedDB', 'memory']);
	await nextRun(page, () => select.selectOption('idb')); // the scenario on screen runs there
	await expect(page.getByTestId('store-control')).toHaveAttribute('data-store', 'idb');

	await openLink(page, writeScenario(3000));
	await done(page);
	await expect(select).toHaveValue('idb');
	await page.reload();
	await expectRestored(page, 'IndexedDB');
	await readVerify(page);

	// Memory: nothing is kept, and the page says so.
	await nextRun(page, () => select.selectOption('memory'));
	await expect(page.getByTestId('storage-persisted')).toHaveText('lost on reload');
	await page.reload();
	await done(page);
	await expect(select).toHaveValue('memory');
	await expect(page.getByTestId('restore-notice')).toHaveCount(0);
	expect(errors).toEqual([]);
});

test('reset wipes the disks, the sidecars and the verification state', async () => {
	const page = await persistent().newPage();
	const errors = collectErrors(page);
	await writeThroughLink(page);
	await page.reload();
	await expectRestored(page);

	await page.getByTestId('reset-button').click();
	await expect(status(page)).toHaveAttribute('data-state', 'ready');
	await expect(page.getByTestId('verify-reads')).toHaveText('0');
	await expect(page.getByTestId('restore-notice')).toHaveCount(0);
	await page.reload();
	// Nothing restored: the page runs its scenario at once, on empty disks.
	await done(page);
	await expect(page.getByTestId('restore-notice')).toHaveCount(0);
	await expect(page.getByRole('textbox', { name: 'Scenario name' })).toHaveValue('persisted disks');
	expect(errors).toEqual([]);
});

test('a lesson runs in memory and leaves the saved disks alone; closing it brings them back', async () => {
	const page = await persistent().newPage();
	const errors = collectErrors(page);
	await writeThroughLink(page);
	await page.goto('/?lesson=flaky-disk');
	await expect(page.getByTestId('lesson-panel')).toHaveAttribute('data-lesson', 'flaky-disk');
	await expect(page.getByTestId('store-control')).toHaveAttribute('data-store', 'memory');
	await expect(page.getByTestId('store-select')).toBeDisabled();
	await page.getByTestId('speed-select').selectOption({ label: 'Max' });
	await expect(page.getByTestId('lesson-check')).toHaveAttribute('data-state', /pass|fail/, { timeout: 90_000 });
	await page.getByRole('button', { name: 'Close the lesson' }).click();
	await expectRestored(page);
	await expect(page.getByTestId('store-control')).toHaveAttribute('data-store', 'opfs');
	await readVerify(page);
	expect(errors).toEqual([]);
});

test('a link opened over saved disks asks first; played in memory, it leaves them as they were', async () => {
	const page = await persistent().newPage();
	const errors = collectErrors(page);
	await writeThroughLink(page);
	const saved = Number(await page.getByTestId('storage-usage').getAttribute('data-usage'));
	// Another link: the page asks before its run would wipe the saved disks.
	const other = writeScenario(500);
	other.name = 'someone else’s link';
	await page.goto('about:blank');
	await page.goto(`/#${encodeLink({ scenario: other })}`);
	const dialog = page.getByTestId('link-over-saved');
	await expect(dialog).toBeVisible();
	await expect(dialog).toContainText('“persisted disks”');
	await page.screenshot({ path: `${SHOTS}/persistence-link-over-saved.png` });
	expect(await seriousViolations(page)).toEqual([]);
	await page.getByTestId('link-in-memory').click();
	await done(page);
	await expect(page.getByTestId('store-control')).toHaveAttribute('data-store', 'memory');
	await expect(page.getByTestId('scratch-note')).toHaveText('link');
	await expect(page.getByTestId('link-info')).toContainText('your saved disks (“persisted disks”) are kept');
	// Back to them: the saved scenario on its disks, and its reads still verify.
	await page.getByTestId('back-to-saved').click();
	await expectRestored(page);
	await readVerify(page);
	// A reload of the link's address asks again (it is not this tab's own state); Escape keeps the disks.
	await page.goto('about:blank');
	await page.goto(`/#${encodeLink({ scenario: other })}`);
	await expect(dialog).toBeVisible();
	await page.keyboard.press('Escape');
	await done(page);
	await page.goto('/');
	await expectRestored(page);
	expect(Number(await page.getByTestId('storage-usage').getAttribute('data-usage'))).toBeGreaterThanOrEqual(saved * 0.5);
	expect(errors).toEqual([]);
});

test('a second tab on the same OPFS disks gets a clear message and writes nothing; the first tab keeps its data', async () => {
	const first = await persistent().newPage();
	const errors = collectErrors(first);
	await writeThroughLink(first);
	await first.reload();
	await expectRestored(first);

	const second = await persistent().newPage();
	await second.goto('/');
	const problem = second.getByTestId('store-problem');
	await expect(problem).toBeVisible({ timeout: 30_000 });
	await expect(problem).toContainText('The OPFS disks are open in another tab');
	await expect(problem).toContainText('This tab wrote nothing to them');
	await expect(problem.getByRole('button', { name: 'Try again' })).toBeVisible();
	await expect(status(second)).not.toHaveAttribute('data-state', /running|done/);
	await second.screenshot({ path: `${SHOTS}/persistence-locked.png` });

	// The first tab's disks are intact: every read of what it wrote verifies.
	await readVerify(first);

	// The second tab can play in memory without touching them (and without remembering memory).
	await problem.getByTestId('store-fallback').click();
	await done(second);
	await expect(second.getByTestId('store-control')).toHaveAttribute('data-store', 'memory');
	await expect(second.getByTestId('store-problem')).toHaveCount(0);
	expect(await second.evaluate(() => localStorage.getItem('vaio.store'))).toBeNull();

	// Once the first tab is gone, the second can take the OPFS disks over, data and all.
	await first.close();
	await second.getByTestId('store-select').selectOption('opfs');
	await expectRestored(second);
	await readVerify(second);
	expect(errors).toEqual([]);
});

test('a reload while a run plays: the page pauses and saves, or wipes the disks and says why; never a false mismatch', async () => {
	const page = await persistent().newPage();
	const errors = collectErrors(page);
	await writeThroughLink(page);
	await page.getByLabel('ios', { exact: true }).fill('100000'); // the same disks, a longer run
	await page.getByTestId('speed-select').selectOption({ label: '1 µs/ms' });
	await page.getByTestId('run-button').click();
	await expect(status(page)).toHaveAttribute('data-state', 'running');
	await expect.poll(async () => Number(await page.getByTestId('ios').textContent()), { timeout: 30_000 }).toBeGreaterThan(50);
	await page.reload();
	const notice = page.getByTestId('restore-notice');
	await expect(notice).toBeVisible({ timeout: 30_000 });
	const kind = await notice.getAttribute('data-kind');
	test.info().annotations.push({ type: 'after the reload', description: kind === 'warn' ? 'disks wiped (the save did not finish)' : 'disks restored (saved on pagehide)' });
	if (kind === 'warn') {
		// The worker died before its save: the disks may be ahead of what was saved, so they are
		// not used (the page then runs its scenario afresh, as on a first visit).
		await expect(notice).toContainText('were wiped: the last session stopped while I/O was running');
		await page.getByTestId('speed-select').selectOption({ label: 'Max' });
		await done(page);
	} else {
		await expect(notice).toContainText('Disks restored from OPFS');
		await page.getByTestId('speed-select').selectOption({ label: 'Max' });
	}
	await page.getByLabel('ios', { exact: true }).fill('3000');
	await readVerify(page);
	expect(errors).toEqual([]);
});

test('a full quota stops the run with the disk and the reason; what was written before verifies after a reload', async () => {
	test.setTimeout(180_000);
	const page = await persistent().newPage();
	const errors = collectErrors(page);
	await page.goto('/');
	await done(page);
	const cdp = await persistent().newCDPSession(page);
	const origin = new URL(page.url()).origin;
	const { usage } = await page.evaluate(() => navigator.storage.estimate());
	// Chromium grants an OPFS file room in growing steps: 24 MiB of headroom fills after a few
	// thousand 4 KiB blocks, far fewer than the 40,000 the link's scenario writes.
	await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: (usage ?? 0) + 24 * 2 ** 20 });
	try {
		await openLink(page, writeScenario(40_000, 2 ** 30));
		const problem = page.getByTestId('store-problem');
		await expect(problem).toBeVisible({ timeout: 90_000 });
		await expect(problem).toContainText('OPFS storage is full: the run stopped');
		await expect(problem).toContainText(/storage is full: writing \d+ bytes \(.*\) to the disk "disk\.vm-01\/disk-0"/i);
		await expect(problem).toContainText(/this site use[sd] .* of its .* quota/);
		await expect(problem.getByRole('button', { name: 'Reset: wipe the disks' })).toBeVisible();
		await expect(status(page)).toHaveAttribute('data-state', 'error');
		const ios = Number(await page.getByTestId('ios').textContent());
		expect(ios).toBeGreaterThan(200);
		expect(ios).toBeLessThan(40_000);
		await expect(page.getByTestId('verify-mismatches')).toHaveText('0');
		await page.screenshot({ path: `${SHOTS}/persistence-full.png` });
	} finally {
		await cdp.send('Storage.overrideQuotaForOrigin', { origin });
	}
	// Nothing written before the refusal was lost: after a reload it is all there and verifies.
	await page.reload();
	const notice = page.getByTestId('restore-notice');
	await expect(notice).toContainText('Disks restored from OPFS', { timeout: 30_000 });
	await readVerifyShort(page);
	expect(errors).toEqual([]);
});

/** readVerify for the big disk: reads only, fewer I/Os (most of the 1 GiB disk was never written). */
async function readVerifyShort(page: Page): Promise<void> {
	await rw(page).selectOption('randread');
	await page.getByLabel('ios', { exact: true }).fill('4000');
	await page.getByTestId('run-button').click();
	await done(page);
	await expect(page.getByTestId('verify-mismatches')).toHaveText('0');
}
