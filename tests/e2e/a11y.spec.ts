/**
 * Accessibility: axe-core on the playground page (after a run, with a lesson open, with each dock
 * tab), the lessons page and compare mode, in light and dark. No serious or critical violation.
 * Screenshots of each go to test-results/.
 */
import { expect, test } from '@playwright/test';
import { collectErrors, seriousViolations } from './helpers';

for (const scheme of ['light', 'dark'] as const) {
	test(`the main page has no serious accessibility violations (${scheme})`, async ({ page }) => {
		test.setTimeout(240_000); // axe on a busy page, four times
		const errors = collectErrors(page);
		await page.emulateMedia({ colorScheme: scheme });
		await page.goto('/?lesson=flaky-disk');
		await page.getByTestId('speed-select').selectOption({ label: 'Max' });
		await expect(page.getByTestId('lesson-check')).toHaveAttribute('data-state', 'pass', { timeout: 90_000 });
		await page.getByTestId('topology-filter-cache').click();
		await page.screenshot({ path: `test-results/a11y-main-${scheme}.png` });
		const found: string[] = [];
		for (const tab of ['charts', 'trace', 'log'] as const) {
			await page.getByTestId(`dock-tab-${tab}`).click();
			await page.waitForTimeout(300);
			found.push(...(await seriousViolations(page)).map((v) => `[${tab}] ${v}`));
		}
		// The page without a lesson (the lesson picker and the default run).
		await page.goto('/');
		await expect(page.getByTestId('run-status')).toHaveAttribute('data-state', 'done', { timeout: 90_000 });
		found.push(...(await seriousViolations(page)).map((v) => `[default] ${v}`));
		await page.screenshot({ path: `test-results/a11y-default-${scheme}.png` });
		expect(found).toEqual([]);
		expect(errors).toEqual([]);
	});

	test(`the lessons and compare pages have no serious accessibility violations (${scheme})`, async ({ page }) => {
		test.setTimeout(180_000);
		const errors = collectErrors(page);
		await page.emulateMedia({ colorScheme: scheme });
		await page.goto('/lessons');
		const found = (await seriousViolations(page)).map((v) => `[lessons] ${v}`);
		await page.screenshot({ path: `test-results/a11y-lessons-${scheme}.png` });
		await page.goto('/compare?lesson=scan-resistant-cache');
		await expect(page.getByTestId('compare-check')).toHaveAttribute('data-state', 'pass', { timeout: 90_000 });
		await expect(page.getByTestId('compare-run')).toBeEnabled({ timeout: 60_000 });
		found.push(...(await seriousViolations(page)).map((v) => `[compare] ${v}`));
		await page.screenshot({ path: `test-results/a11y-compare-${scheme}.png` });
		expect(found).toEqual([]);
		expect(errors).toEqual([]);
	});
}
