/**
 * Compare mode: two chains on the same workload and seed, each run in its own engine Worker; both
 * digests equal the engine's in Node, the overlaid charts are drawn, the summary table and the
 * pair's expected check are shown.
 */
import { expect, test } from '@playwright/test';
import { runScenario } from '../../src/lib/engine/index';
import { lessonById } from '../../src/lib/ui/lessons';
import { collectErrors } from './helpers';

for (const [id, scheme] of [
	['write-back', 'light'],
	['replication-rpo', 'dark']
] as const) {
	test(`compare ${id}: both digests, overlaid charts, summary and check (${scheme})`, async ({ page }) => {
		const errors = collectErrors(page);
		await page.emulateMedia({ colorScheme: scheme });
		const lesson = lessonById(id)!;
		const [a, b] = await Promise.all([runScenario(lesson.scenario), runScenario(lesson.compare!.scenario)]);
		await page.goto(`/compare?lesson=${id}`);
		await expect(page.getByTestId('compare-pair')).toHaveValue(id);
		await expect(page.getByTestId('compare-digest-a')).toHaveText(a.traceDigest, { timeout: 90_000 });
		await expect(page.getByTestId('compare-digest-b')).toHaveText(b.traceDigest, { timeout: 90_000 });
		await expect(page.getByTestId('compare-check')).toHaveAttribute('data-state', 'pass');
		await expect(page.getByTestId('compare-summary')).toContainText('Write p50');
		// The replay draws both runs on one time axis.
		for (const chart of ['compare-chart-iops', 'compare-chart-latency', 'compare-chart-gauge']) {
			await expect.poll(async () => Number(await page.getByTestId(chart).getAttribute('data-points')), { timeout: 60_000 }).toBeGreaterThan(20);
			await expect(page.getByTestId(chart).locator('path.line.read')).not.toHaveCount(0);
			await expect(page.getByTestId(chart).locator('path.line.write')).not.toHaveCount(0);
		}
		await expect(page.getByTestId('compare-run')).toBeEnabled({ timeout: 60_000 });
		await page.screenshot({ path: `test-results/compare-${id}-${scheme}.png` });
		expect(errors).toEqual([]);
	});
}
