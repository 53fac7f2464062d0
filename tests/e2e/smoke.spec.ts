import { expect, test } from '@playwright/test';
import { defaultScenario, runScenario } from '../../src/lib/engine/index';
import { defaultEditableScenario } from '../../src/lib/ui/editable-scenario';
import { collectErrors } from './helpers';

/** Collects console errors and uncaught page errors; the test fails if any appear. */
test('the default scenario runs in the worker and verifies', async ({ page }) => {
	const errors = collectErrors(page);
	await page.goto('/');
	await expect(page.getByRole('heading', { name: 'VAIO Playground' })).toBeVisible();

	// The run starts by itself on load.
	const digest = page.getByTestId('trace-digest');
	await expect(digest).toHaveText(/^[0-9a-f]{16}$/, { timeout: 60_000 });
	// The page shows the engine's own result: the same digest as the same scenario run in Node.
	// The page runs its editable scenario, which is the engine's default written out in full.
	const node = await runScenario(defaultScenario());
	const pageScenario = await runScenario(defaultEditableScenario());
	expect(pageScenario.traceDigest).toBe(node.traceDigest);
	await expect(page.getByTestId('run-status')).toHaveAttribute('data-state', 'done', { timeout: 60_000 });
	await expect(digest).toHaveText(node.traceDigest);
	await expect(page.getByTestId('run-error')).toHaveCount(0);

	const reads = Number(await page.getByTestId('verify-reads').textContent());
	expect(reads).toBeGreaterThan(0);
	await expect(page.getByTestId('verify-mismatches')).toHaveText('0');
	await expect(page.getByTestId('filter-table')).toBeVisible();

	await page.screenshot({ path: 'test-results/smoke.png' });
	expect(errors).toEqual([]);
});

test('running again gives the same digest', async ({ page }) => {
	const errors = collectErrors(page);
	await page.goto('/');
	const status = page.getByTestId('run-status');
	const digest = page.getByTestId('trace-digest');
	await expect(status).toHaveAttribute('data-state', 'done', { timeout: 60_000 });
	const first = await digest.textContent();
	await expect(status).toContainText('Run #1');

	await page.getByTestId('run-button').click();
	await expect(status).toContainText('Run #2', { timeout: 60_000 });
	await expect(status).toHaveAttribute('data-state', 'done');
	await expect(digest).toHaveText(first ?? '');
	expect(errors).toEqual([]);
});
