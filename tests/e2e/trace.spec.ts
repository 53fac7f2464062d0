import { readFile } from 'node:fs/promises';
import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Locator, type Page } from '@playwright/test';
import { collectErrors } from './helpers';

/** Collects console errors and uncaught page errors; the test fails if any appear. */
/** Serious or critical axe findings inside one element. */
async function seriousViolations(page: Page, selector: string): Promise<string[]> {
	const results = await new AxeBuilder({ page }).include(selector).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).analyze();
	return results.violations
		.filter((v) => v.impact === 'serious' || v.impact === 'critical')
		.map((v) => `${v.impact} ${v.id}: ${v.help} — ${v.nodes.slice(0, 5).map((n) => n.target.join(' ')).join('; ')}`);
}

/**
 * A chain where reads complete in the cache and some I/Os fail below it: encryption, cache and
 * a flaky filter failing 5 % of the I/Os, on a zipf hot set (so the cache hits).
 */
async function runCacheAndFlaky(page: Page): Promise<void> {
	await page.goto('/');
	await expect(page.getByTestId('run-status')).toHaveAttribute('data-state', 'done', { timeout: 60_000 });
	await page.getByTestId('topology-filter-passthrough').focus();
	await page.keyboard.press('Delete');
	for (const f of ['encryption', 'cache', 'flaky']) await page.getByTestId(`palette-${f}`).click();
	const panel = page.getByTestId('filter-params');
	await expect(page.getByRole('heading', { name: 'flaky', exact: true })).toBeVisible();
	await panel.getByLabel(/^probability/).fill('0.05');
	await page.getByTestId('preset-zipf-hot-set').click();
	await page.getByLabel('ios', { exact: true }).fill('3000');
	await page.getByTestId('run-button').click();
	await expect(page.getByTestId('run-status')).toContainText('Run #2');
	await expect(page.getByTestId('run-status')).toHaveAttribute('data-state', 'done', { timeout: 60_000 });
	// A taller dock (the separator takes the keyboard).
	await page.getByRole('separator', { name: /Resize the charts/ }).focus();
	for (let i = 0; i < 6; i++) await page.keyboard.press('ArrowUp');
}

interface ShownRow {
	n: string;
	id: string;
	status: string;
	latency: number;
	/** Outcome badge per filter name. */
	outcome: Record<string, string>;
}

/** The rows inside the table's viewport (read in one go: live rows re-render under a slow loop). */
async function visibleRows(table: Locator): Promise<ShownRow[]> {
	return table.evaluate((el) => {
		const box = el.getBoundingClientRect();
		const head = el.querySelector('[role="row"]')!.getBoundingClientRect().height;
		const out: ShownRow[] = [];
		for (const r of el.querySelectorAll<HTMLElement>('[data-testid="trace-row"]')) {
			const b = r.getBoundingClientRect();
			const mid = b.y + b.height / 2;
			if (mid < box.y + head || mid > box.y + el.clientHeight) continue;
			const outcome: Record<string, string> = {};
			for (const badge of r.querySelectorAll<HTMLElement>('[data-filter]')) outcome[badge.dataset.filter!] = badge.dataset.outcome!;
			out.push({ n: r.dataset.n!, id: r.dataset.id!, status: r.dataset.status!, latency: Number(r.dataset.latency), outcome });
		}
		return out; // DOM order is the table's order
	});
}

const rowOf = (table: Locator, r: ShownRow) => table.locator(`[data-testid="trace-row"][data-n="${r.n}"]`);
/** Clicks a row where a person would: on its first cells (its middle may be scrolled out of view). */
const clickRow = (table: Locator, r: ShownRow) => rowOf(table, r).click({ position: { x: 40, y: 10 } });

test('trace: filter by verdict, sort, the waterfall of a failed I/O, export, and the log', async ({ page }) => {
	const errors = collectErrors(page);
	await runCacheAndFlaky(page);

	await page.getByTestId('dock-tab-trace').click();
	const table = page.getByTestId('trace-table');
	await expect(table.getByTestId('trace-row').first()).toBeVisible();
	const all = Number(await page.getByTestId('trace-count').getAttribute('data-total'));
	expect(all).toBeGreaterThanOrEqual(3000); // the guest's I/Os (and a write-back cache's own)

	// Virtualised: only about a window of rows is in the DOM.
	expect(await table.getByTestId('trace-row').count()).toBeLessThan(150);

	// Reads completed in the cache: every row shown has that badge.
	await page.getByTestId('trace-filter-verdict').selectOption('cache:complete');
	await expect.poll(async () => Number(await page.getByTestId('trace-count').getAttribute('data-total'))).toBeLessThan(all);
	const hits = Number(await page.getByTestId('trace-count').getAttribute('data-total'));
	expect(hits).toBeGreaterThan(20);
	const shown = await visibleRows(table);
	expect(shown.length).toBeGreaterThan(3);
	expect(shown.every((r) => r.outcome.cache === 'complete')).toBe(true);
	// Scroll to the end: the rows there match too (fetched as the table scrolls).
	await table.evaluate((el) => (el.scrollTop = el.scrollHeight));
	await expect.poll(async () => (await visibleRows(table)).length).toBeGreaterThan(3);
	expect((await visibleRows(table)).every((r) => r.outcome.cache === 'complete')).toBe(true);

	// Sort by latency (slowest first), then the other way.
	await page.getByTestId('trace-sort-latency').click();
	await expect(page.getByTestId('trace-sort-latency').locator('..')).toHaveAttribute('aria-sort', 'descending');
	await table.evaluate((el) => (el.scrollTop = 0));
	await expect.poll(async () => {
		const lat = (await visibleRows(table)).map((r) => r.latency);
		return lat.length > 3 && lat.every((v, i) => i === 0 || lat[i - 1] >= v);
	}).toBe(true);
	await page.screenshot({ path: 'test-results/trace-table-light.png' });
	await page.getByTestId('trace-sort-latency').click();
	await expect(page.getByTestId('trace-sort-latency').locator('..')).toHaveAttribute('aria-sort', 'ascending');
	await expect.poll(async () => {
		const lat = (await visibleRows(table)).map((r) => r.latency);
		return lat.length > 3 && lat.every((v, i) => i === 0 || lat[i - 1] <= v);
	}).toBe(true);

	// Once more: back to completion order.
	await page.getByTestId('trace-sort-latency').click();
	await expect(page.getByTestId('trace-sort-latency').locator('..')).toHaveAttribute('aria-sort', 'none');

	// A read completed in the cache: the waterfall shows a lane per filter and the device; below the cache, not reached.
	const hitRows = await visibleRows(table);
	await clickRow(table, hitRows.reduce((a, b) => (b.latency > a.latency ? b : a))); // one that took time: an SSD read
	const wf = page.getByTestId('waterfall');
	await expect(wf).toBeVisible();
	await expect(wf.locator('[data-kind="filter"]')).toHaveCount(3);
	await expect(wf.locator('[data-kind="device"]')).toHaveCount(1);
	await expect(wf.locator('[data-kind="guest"]')).toHaveCount(1);
	await expect(wf.locator('[data-name="cache"]')).toHaveAttribute('data-outcome', 'complete');
	await expect(wf.locator('[data-name="flaky"]')).toHaveAttribute('data-state', 'not-reached');
	await page.screenshot({ path: 'test-results/trace-cache-hit-light.png' });

	// Failed I/Os: the flaky filter failed them; the lanes below it are "not told".
	await page.getByTestId('trace-filter-verdict').selectOption('flaky:fail');
	await page.getByTestId('trace-filter-origin').selectOption('guest');
	await expect.poll(async () => (await visibleRows(table)).length).toBeGreaterThan(1);
	const failed = await visibleRows(table);
	expect(failed.every((r) => r.status === 'EIO' && r.outcome.flaky === 'fail')).toBe(true);
	const firstFailed = failed[0];
	await clickRow(table, firstFailed);
	await expect(wf).toHaveAttribute('data-io', firstFailed.id);
	await expect(wf).toHaveAttribute('data-failed', 'true');
	await expect(wf.locator('[data-kind="filter"]')).toHaveCount(3);
	await expect(wf.locator('[data-name="flaky"]')).toHaveAttribute('data-outcome', 'fail');
	await expect(wf.locator('[data-kind="device"]')).toHaveAttribute('data-state', 'not-told');
	await expect(wf.getByTestId('lane-note').filter({ hasText: 'not told: flaky failed the I/O above' })).toBeVisible();
	await expect(wf.locator('[data-name="cache"]')).toHaveAttribute('data-state', 'seen');

	// Keyboard: ↓ moves the selection (the waterfall follows), Esc closes, Enter opens.
	const table2 = page.getByTestId('trace-table');
	await expect(table2).toBeFocused();
	const second = failed[1];
	await page.keyboard.press('ArrowDown');
	await expect(wf).toHaveAttribute('data-io', second.id);
	await expect(rowOf(table, second)).toHaveAttribute('aria-selected', 'true');
	await page.keyboard.press('Escape');
	await expect(wf).toHaveCount(0);
	await page.keyboard.press('Enter');
	await expect(wf).toBeVisible();
	await page.keyboard.press('ArrowUp');
	await expect(wf).toHaveAttribute('data-io', firstFailed.id);
	await page.screenshot({ path: 'test-results/trace-failed-light.png' });
	expect(await seriousViolations(page, '[role="tabpanel"]:not([hidden])')).toEqual([]);
	await page.emulateMedia({ colorScheme: 'dark' });
	await page.screenshot({ path: 'test-results/trace-failed-dark.png' });
	expect(await seriousViolations(page, '[role="tabpanel"]:not([hidden])')).toEqual([]);
	await page.emulateMedia({ colorScheme: 'light' });

	// Export: CSV (its header line) and Perfetto JSON, built in the worker from the whole ring.
	const [csv] = await Promise.all([page.waitForEvent('download'), page.getByTestId('trace-export-csv').click()]);
	expect(csv.suggestedFilename()).toMatch(/-trace\.csv$/);
	const text = await readFile((await csv.path())!, 'utf8');
	const lines = text.trimEnd().split('\n');
	expect(lines[0].startsWith('id,disk,op,origin,job,lba,sectors,issuedAt,doneAt,latency,deviceStart,deviceDone,deferredUs,status,endedBy,f1.name')).toBe(true);
	expect(lines).toHaveLength(1 + all);
	const [pf] = await Promise.all([page.waitForEvent('download'), page.getByTestId('trace-export-perfetto').click()]);
	expect(pf.suggestedFilename()).toMatch(/-trace\.perfetto\.json$/);
	const json = JSON.parse(await readFile((await pf.path())!, 'utf8')) as { traceEvents: unknown[] };
	expect(json.traceEvents.length).toBeGreaterThan(all);

	// The log: the encryption filter's key fetch, filterable by text.
	await page.getByTestId('dock-tab-log').click();
	const entries = page.getByTestId('log-entry');
	await expect(entries.first()).toBeVisible();
	await expect(page.getByTestId('event-log')).toContainText('fetched from the KMS');
	await page.getByTestId('log-filter-text').fill('no such message');
	await expect(entries).toHaveCount(0);
	await page.getByTestId('log-filter-text').fill('KMS');
	await expect(entries).toHaveCount(1);
	await page.getByTestId('log-filter-text').fill('');
	await page.screenshot({ path: 'test-results/trace-log-light.png' });
	expect(await seriousViolations(page, '[role="tabpanel"]:not([hidden])')).toEqual([]);
	await page.emulateMedia({ colorScheme: 'dark' });
	await page.screenshot({ path: 'test-results/trace-log-dark.png' });
	expect(await seriousViolations(page, '[role="tabpanel"]:not([hidden])')).toEqual([]);

	expect(errors).toEqual([]);
});

test('trace: live while a run plays, following the newest rows when scrolled to the end', async ({ page }) => {
	const errors = collectErrors(page);
	await page.goto('/');
	await expect(page.getByTestId('run-status')).toHaveAttribute('data-state', 'done', { timeout: 60_000 });
	await page.getByTestId('dock-tab-trace').click();
	const table = page.getByTestId('trace-table');
	await expect(table.getByTestId('trace-row').first()).toBeVisible();

	// A new run, slowly: rows arrive while it plays.
	await page.getByTestId('speed-select').selectOption({ label: '0.2 µs/ms' });
	await page.getByTestId('reset-button').click();
	await expect(page.getByTestId('trace-count')).toHaveAttribute('data-total', '0');
	await page.getByTestId('run-button').click();
	await expect(page.getByTestId('run-status')).toHaveAttribute('data-state', 'running');
	const total = async () => Number(await page.getByTestId('trace-count').getAttribute('data-total'));
	await expect.poll(total).toBeGreaterThan(200);

	// At the top: the first rows stay in view as more arrive.
	const top = (await visibleRows(table))[0].n;
	await expect.poll(total).toBeGreaterThan((await total()) + 100);
	expect((await visibleRows(table))[0].n).toBe(top);

	// At the end: the table follows the newest rows.
	await table.evaluate((el) => (el.scrollTop = el.scrollHeight));
	const lastN = async () => {
		const rows = await visibleRows(table);
		return Number(rows.at(-1)?.n ?? -1);
	};
	const before = await lastN();
	await expect.poll(lastN).toBeGreaterThan(before + 50);

	// Up a little from the end: the table stops following, the rows in view stay in view.
	await table.evaluate((el) => (el.scrollTop = el.scrollTop - 200));
	const firstN = async () => Number((await visibleRows(table))[0]?.n ?? -1);
	let held = await firstN();
	await expect.poll(async () => held === (held = await firstN())).toBe(true);
	await expect.poll(total).toBeGreaterThan((await total()) + 100);
	expect(await firstN()).toBe(held);
	await page.getByTestId('pause-button').click();
	await expect(page.getByTestId('run-status')).toHaveAttribute('data-state', 'paused');
	expect(errors).toEqual([]);
});
