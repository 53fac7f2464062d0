import { expect, test, type Page } from '@playwright/test';
import { runScenario } from '../../src/lib/engine/index';
import { defaultEditableScenario } from '../../src/lib/ui/editable-scenario';
import { collectErrors } from './helpers';

/** Collects console errors and uncaught page errors; the test fails if any appear. */
async function ios(page: Page): Promise<number> {
	return Number(await page.getByTestId('ios').textContent());
}

async function loaded(page: Page): Promise<void> {
	await page.goto('/');
	await expect(page.getByTestId('run-status')).toHaveAttribute('data-state', 'done', { timeout: 60_000 });
}

test('build a chain, configure it, play, pause, step, and read the digest', async ({ page }) => {
	const errors = collectErrors(page);
	await loaded(page);

	// Add a cache from the palette: it lands in its class slot and its panel opens.
	await page.getByTestId('palette-cache').click();
	await expect(page.getByTestId('topology-filter-cache')).toBeVisible();
	const panel = page.getByTestId('filter-params');
	await expect(page.getByRole('heading', { name: 'cache', exact: true })).toBeVisible();

	// A second cache-class filter is refused with the reason.
	await page.getByTestId('palette-passthrough').locator('..').getByRole('combobox').selectOption('cache');
	await page.getByTestId('palette-passthrough').focus(); // aria-disabled: still focusable, Enter says why
	await page.keyboard.press('Enter');
	await expect(page.getByRole('status').filter({ hasText: 'already has a cache filter' })).toBeVisible();

	// Reconfigure it in the panel generated from its parameter table.
	await panel.getByLabel('mode', { exact: true }).selectOption('write-back');
	const capacity = panel.getByLabel(/^capacityMiB/);
	await capacity.fill('-3');
	await expect(page.getByText('must be in')).toBeVisible(); // validation from the table's range
	await capacity.fill('64');
	await expect(page.getByText('must be in')).toHaveCount(0);
	await expect(page.getByTestId('run-status')).toContainText('scenario edited');
	await page.screenshot({ path: 'test-results/playground-configured.png' });

	// Play slowly (1 virtual µs per wall ms), then pause.
	await page.getByTestId('speed-select').selectOption({ label: '1 µs/ms' });
	await page.getByTestId('run-button').click();
	await expect(page.getByTestId('run-status')).toHaveAttribute('data-state', 'running');
	await expect.poll(() => ios(page), { timeout: 30_000 }).toBeGreaterThan(20);
	await page.getByTestId('pause-button').click();
	await expect(page.getByTestId('run-status')).toHaveAttribute('data-state', 'paused');
	const before = await ios(page);
	expect(before).toBeGreaterThan(20);
	expect(before).toBeLessThan(10_000);

	// Step: exactly one more I/O completes. Then the → shortcut does the same.
	await page.getByTestId('step-button').click();
	await expect.poll(() => ios(page)).toBe(before + 1);
	await page.locator('body').click({ position: { x: 640, y: 300 } }); // focus out of the controls
	await page.getByTestId('topology-filter-cache').focus();
	await page.getByTestId('topology-filter-cache').blur();
	await page.keyboard.press('ArrowRight');
	await expect.poll(() => ios(page)).toBe(before + 2);
	await expect(page.getByTestId('run-status')).toHaveAttribute('data-state', 'paused');
	await page.screenshot({ path: 'test-results/playground-paused.png' });

	// Finish as fast as possible; the trace does not depend on how the run was paced.
	await page.getByTestId('speed-select').selectOption({ label: 'Max' });
	await page.getByTestId('run-button').click();
	await expect(page.getByTestId('run-status')).toContainText('Run #2 finished', { timeout: 60_000 });
	await expect(page.getByTestId('run-status')).toHaveAttribute('data-state', 'done');
	const digest = (await page.getByTestId('trace-digest').textContent()) ?? '';
	expect(digest).toMatch(/^[0-9a-f]{16}$/);
	await expect(page.getByTestId('verify-mismatches')).toHaveText('0');

	const scenario = defaultEditableScenario();
	scenario.vms[0].disks[0].policy.filters.push({ type: 'cache', params: { mode: 'write-back', capacityMiB: 64 } });
	const node = await runScenario(scenario);
	expect(digest).toBe(node.traceDigest);
	expect(await ios(page)).toBe(node.ios);
	await expect(page.getByTestId('filter-table').getByRole('rowheader', { name: 'cache' })).toBeVisible();
	await page.screenshot({ path: 'test-results/playground-done.png' });
	expect(errors).toEqual([]);
});

test('keyboard: open a filter from the topology, remove it with Delete', async ({ page }) => {
	const errors = collectErrors(page);
	await loaded(page);
	await page.getByTestId('palette-encryption').click();
	const box = page.getByTestId('topology-filter-encryption');
	await box.focus();
	await page.keyboard.press('Enter');
	await expect(page.locator('#filter-panel-title')).toBeFocused();
	await expect(page.locator('#filter-panel-title')).toHaveText('encryption');
	await box.focus();
	await page.keyboard.press('Delete');
	await expect(box).toHaveCount(0);
	expect(errors).toEqual([]);
});

test('a full chain with its devices, in light and dark', async ({ page }) => {
	const errors = collectErrors(page);
	await loaded(page);
	// Replace the pass-through with analytics, then add one filter of every class.
	await page.getByTestId('topology-filter-passthrough').focus();
	await page.keyboard.press('Delete');
	for (const f of ['analytics', 'dedup', 'encryption', 'replication', 'cache', 'tiering']) await page.getByTestId(`palette-${f}`).click();
	await page.getByTestId('preset-zipf-hot-set').click();
	await page.getByLabel('ios', { exact: true }).fill('3000');
	await page.getByTestId('run-button').click();
	await expect(page.getByTestId('run-status')).toContainText('Run #2');
	await expect(page.getByTestId('run-status')).toHaveAttribute('data-state', 'done', { timeout: 60_000 });
	await expect(page.getByTestId('verify-mismatches')).toHaveText('0');
	await page.getByTestId('topology-filter-cache').click();
	await page.screenshot({ path: 'test-results/playground-full-light.png' });

	await page.emulateMedia({ colorScheme: 'dark' });
	await page.screenshot({ path: 'test-results/playground-full-dark.png' });

	// allowCleartextFilters moves encryption to the bottom of the chain.
	await page.getByLabel('allowCleartextFilters').check();
	const enc = await page.getByTestId('topology-filter-encryption').boundingBox();
	const tier = await page.getByTestId('topology-filter-tiering').boundingBox();
	expect(enc!.y).toBeGreaterThan(tier!.y);
	await page.screenshot({ path: 'test-results/playground-cleartext-dark.png' });
	expect(errors).toEqual([]);
});

test('the layout at laptop sizes and on a narrow screen', async ({ page }) => {
	const errors = collectErrors(page);
	await loaded(page);
	await page.getByTestId('palette-cache').click();
	for (const [w, h] of [
		[1280, 720],
		[1366, 768],
		[1440, 900],
		[1920, 1080],
		[900, 1000]
	]) {
		await page.setViewportSize({ width: w, height: h });
		// Nothing spills sideways; the top bar, the topology and the run controls stay on screen.
		const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
		expect(overflow, `${w}×${h}`).toBeLessThanOrEqual(0);
		await expect(page.getByTestId('run-button')).toBeInViewport();
		await expect(page.getByTestId('verify-badge')).toBeInViewport();
		await expect(page.getByTestId('topology-filter-cache')).toBeVisible();
		await page.screenshot({ path: `test-results/playground-${w}x${h}.png` });
	}
	expect(errors).toEqual([]);
});
