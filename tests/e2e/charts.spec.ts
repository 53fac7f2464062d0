import { expect, test, type Page } from '@playwright/test';
import { collectErrors } from './helpers';

// Tracing snapshots the DOM on the page's thread: off here, or the frame rate below would measure it too.
test.use({ trace: 'off' });

/** Opens the page, waits for its first run, and builds a chain of analytics + cache. */
async function withCacheAndAnalytics(page: Page, ios: number): Promise<void> {
	await page.goto('/');
	await expect(page.getByTestId('run-status')).toHaveAttribute('data-state', 'done', { timeout: 60_000 });
	// Empty the default chain (Delete on a focused filter box removes it).
	const boxes = page.locator('[data-testid^="topology-filter-"]');
	while ((await boxes.count()) > 0) {
		await boxes.first().focus();
		await page.keyboard.press('Delete');
	}
	await page.getByTestId('palette-cache').click();
	await page.getByTestId('palette-analytics').click();
	// Short heat-map windows, so a sub-second run spreads over many columns.
	await page.getByTestId('filter-params').getByLabel(/^heatWindowUs/).fill('5000');
	await page.getByTestId('preset-zipf-hot-set').click();
	await page.getByLabel('ios', { exact: true }).fill(String(ios));
}

/** A taller dock, so that more charts are in view. */
async function growDock(page: Page, steps: number): Promise<void> {
	const sep = page.getByRole('separator', { name: /Resize the charts/ });
	await sep.focus();
	for (let i = 0; i < steps; i++) await page.keyboard.press('ArrowUp');
}

test('charts fill with data after a run at full speed, in light and dark', async ({ page }) => {
	const errors = collectErrors(page);
	await page.setViewportSize({ width: 1280, height: 1000 });
	// Enough I/Os that a run at full speed spans many frames (the engine does ~10^5 I/O a second here).
	await withCacheAndAnalytics(page, 150_000);
	await page.getByTestId('speed-select').selectOption({ label: 'Max' });
	await page.getByTestId('run-button').click();
	await expect(page.getByTestId('run-status')).toContainText('Run #2 finished', { timeout: 60_000 });

	// Line charts: a path with points, and the data-points count of the scene.
	for (const id of ['chart-iops', 'chart-mbps', 'chart-latency', 'chart-hit-ratio', 'chart-dirty']) {
		const chart = page.getByTestId(id);
		await expect(chart).toBeAttached();
		// The last frame may land just after the status says the run finished.
		await expect.poll(async () => Number(await chart.getAttribute('data-points')), { message: id }).toBeGreaterThan(1);
		const d = await chart.locator('path.line').first().getAttribute('d');
		expect(d, id).toMatch(/^M[\d.]+,[\d.]+L/);
		expect(await chart.locator('svg').getAttribute('aria-label'), id).toContain('latest');
	}
	// The analytics report arrives (fetched from the worker when the run ended).
	await expect(page.getByTestId('chart-hist-ioLength').locator('rect.bar').first()).toBeAttached({ timeout: 10_000 });
	for (const m of ['ioLength', 'seekDistance', 'outstandingIOs', 'latency', 'interarrival'])
		expect(await page.getByTestId(`chart-hist-${m}`).locator('rect.bar').count(), m).toBeGreaterThan(0);
	expect(await page.getByTestId('chart-mrc').locator('path.line.mrc').getAttribute('d')).toMatch(/^M[\d.]+,[\d.]+L/);
	expect(Number(await page.getByTestId('chart-heatmap').getAttribute('data-points'))).toBeGreaterThan(10);
	// No chart for filters that are not in the chain.
	await expect(page.getByTestId('chart-dedup')).toHaveCount(0);

	await growDock(page, 16);
	await page.screenshot({ path: 'test-results/charts-light.png' });
	await page.getByTestId('chart-mrc').scrollIntoViewIfNeeded();
	await page.screenshot({ path: 'test-results/charts-analytics-light.png' });
	await page.emulateMedia({ colorScheme: 'dark' });
	await page.waitForTimeout(300);
	await page.screenshot({ path: 'test-results/charts-analytics-dark.png' });
	await page.getByTestId('chart-iops').scrollIntoViewIfNeeded();
	await page.screenshot({ path: 'test-results/charts-dark.png' });
	expect(errors).toEqual([]);
});

test('slow motion draws single I/Os as tokens on the topology', async ({ page }) => {
	const errors = collectErrors(page);
	await withCacheAndAnalytics(page, 2000);
	await page.getByTestId('speed-select').selectOption({ label: 'Slow motion' });
	await page.getByTestId('run-button').click();
	await expect(page.getByTestId('run-status')).toHaveAttribute('data-state', 'running');
	const flow = page.getByTestId('flow-canvas');
	await expect(flow).toHaveAttribute('data-mode', 'tokens');
	await expect.poll(async () => Number(await flow.getAttribute('data-tokens')), { timeout: 20_000 }).toBeGreaterThan(2);
	await page.waitForTimeout(1500);
	// The canvas really has token pixels (not just a counter).
	const painted = await flow.evaluate((c: HTMLCanvasElement) => {
		const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
		let n = 0;
		for (let i = 3; i < d.length; i += 4) if (d[i] > 200) n++;
		return n;
	});
	expect(painted).toBeGreaterThan(200);
	await page.screenshot({ path: 'test-results/flow-tokens-light.png' });
	await page.emulateMedia({ colorScheme: 'dark' });
	await page.waitForTimeout(600);
	await page.screenshot({ path: 'test-results/flow-tokens-dark.png' });
	await page.getByTestId('pause-button').click();
	await expect(page.getByTestId('run-status')).toHaveAttribute('data-state', 'paused');
	expect(errors).toEqual([]);
});

/** requestAnimationFrame callbacks per second over `ms`, and guest I/Os completed per second meanwhile. */
async function frameRate(page: Page, ms: number): Promise<{ fps: number; ios: number }> {
	return page.evaluate(async (ms) => {
		const read = () => Number(document.querySelector('[data-testid="ios"]')?.textContent ?? 0);
		const ios0 = read();
		let frames = 0;
		const t0 = performance.now();
		await new Promise<void>((resolve) => {
			const tick = () => {
				frames++;
				if (performance.now() - t0 < ms) requestAnimationFrame(tick);
				else resolve();
			};
			requestAnimationFrame(tick);
		});
		const s = (performance.now() - t0) / 1000;
		return { fps: frames / s, ios: (read() - ios0) / s };
	}, ms);
}

test('frames per second of the page while a run streams at full speed', async ({ page }) => {
	const errors = collectErrors(page);
	await withCacheAndAnalytics(page, 2_000_000);
	// The same page idle first: on a loaded machine the browser's own frame rate is the ceiling.
	const idle = await frameRate(page, 2000);
	await page.getByTestId('speed-select').selectOption({ label: 'Max' });
	await page.getByTestId('run-button').click();
	await expect(page.getByTestId('run-status')).toHaveAttribute('data-state', 'running');
	await page.waitForTimeout(500);
	const { fps, ios } = await frameRate(page, 3000);
	const mode = await page.getByTestId('flow-canvas').getAttribute('data-mode');
	console.log(
		`page fps while streaming at full speed: ${fps.toFixed(1)} (idle page: ${idle.fps.toFixed(1)}; engine ${Math.round(ios)} guest I/Os per wall second; flow view: ${mode})`
	);
	await page.screenshot({ path: 'test-results/flow-streaming.png' });
	expect(await page.getByTestId('run-status').getAttribute('data-state')).toBe('running');
	expect(mode).toBe('flow');
	expect(Number(await page.getByTestId('flow-canvas').getAttribute('data-particles'))).toBeGreaterThan(0);
	await page.getByTestId('pause-button').click();
	expect(errors).toEqual([]);
});
