import { expect, test } from '@playwright/test';
import { CHECK_IDS } from '../../src/lib/certify/report';
import { collectErrors } from './helpers';

/**
 * The certification suite's one button: in a filter's panel, "Certify" runs the suite in the
 * engine Worker and shows the report, ✓/✗ per check.
 */

test('certify a built-in filter from its panel: every check passes', async ({ page }) => {
	test.setTimeout(240_000);
	const errors = collectErrors(page);
	await page.goto('/');
	await expect(page.getByTestId('run-status')).toHaveAttribute('data-state', 'done', { timeout: 60_000 });
	await page.getByTestId('palette-cache').click();
	await expect(page.getByRole('heading', { name: 'cache', exact: true })).toBeVisible();
	await page.getByTestId('certify-button').click();
	await expect(page.getByTestId('certify-button')).toHaveText('Certifying…');
	const verdict = page.getByTestId('certify-verdict');
	await expect(verdict).toHaveAttribute('data-passed', 'true', { timeout: 200_000 });
	await expect(verdict).toContainText(`all ${CHECK_IDS.length} checks pass`);
	for (const id of CHECK_IDS) await expect(page.getByTestId(`certify-check-${id}`)).toHaveAttribute('data-passed', 'true');
	await expect(page.getByTestId('certify-report')).toContainText('cache');
	await page.getByTestId('certify-report').scrollIntoViewIfNeeded();
	await page.screenshot({ path: 'test-results/certify-cache.png' });
	await page.emulateMedia({ colorScheme: 'dark' });
	await page.screenshot({ path: 'test-results/certify-cache-dark.png' });
	expect(errors).toEqual([]);
});

test('certify the flaky filter as configured (fails every I/O by default): the data check fails and says on which I/O', async ({ page }) => {
	test.setTimeout(240_000);
	const errors = collectErrors(page);
	await page.goto('/');
	await expect(page.getByTestId('run-status')).toHaveAttribute('data-state', 'done', { timeout: 60_000 });
	// The default chain's passthrough is in the inspection class; flaky goes to the next free class.
	await page.getByTestId('palette-flaky').click();
	await expect(page.getByRole('heading', { name: 'flaky', exact: true })).toBeVisible();
	await page.getByTestId('certify-button').click();
	const verdict = page.getByTestId('certify-verdict');
	await expect(verdict).toHaveAttribute('data-passed', 'false', { timeout: 200_000 });
	const integrity = page.getByTestId('certify-check-data-integrity');
	await expect(integrity).toHaveAttribute('data-passed', 'false');
	await expect(integrity).toContainText(/I\/O #\d+ (read|write) lba \d+\+\d+/);
	expect(errors).toEqual([]);
});

test('certify an installed custom filter on the authoring page: the report has every check', async ({ page }) => {
	test.setTimeout(240_000);
	const errors = collectErrors(page);
	await page.goto('/author');
	await page.getByTestId('install-filter').click();
	await expect(page.getByTestId('installed-filter')).toBeVisible({ timeout: 60_000 });
	await page.getByTestId('certify-button').click();
	const verdict = page.getByTestId('certify-verdict');
	await expect(verdict).toBeVisible({ timeout: 200_000 });
	for (const id of CHECK_IDS) await expect(page.getByTestId(`certify-check-${id}`)).toBeVisible();
	const name = ((await page.getByTestId('installed-filter').textContent()) ?? '').split('·')[0].trim();
	await expect(page.getByTestId('certify-report')).toContainText(name);
	// The template filter passes I/O through: it is a well-behaved filter.
	await expect(verdict).toHaveAttribute('data-passed', 'true');
	await page.getByTestId('certify-report').scrollIntoViewIfNeeded();
	await page.screenshot({ path: 'test-results/certify-custom.png' });
	expect(errors).toEqual([]);
});
