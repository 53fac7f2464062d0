/**
 * Every guided lesson opens in the playground, runs, and shows its expected check holding; the
 * lessons page lists them and opens one; the page shows each lesson's steps beside the run.
 */
import { expect, test } from '@playwright/test';
import { LESSONS } from '../../src/lib/ui/lessons';
import { collectErrors } from './helpers';

for (const lesson of LESSONS) {
	test(`lesson "${lesson.id}" runs and its expected check holds`, async ({ page }) => {
		const errors = collectErrors(page);
		await page.goto(`/?lesson=${lesson.id}`);
		const panel = page.getByTestId('lesson-panel');
		await expect(panel).toHaveAttribute('data-lesson', lesson.id);
		await expect(panel.getByRole('heading', { name: lesson.title })).toBeVisible();
		// The steps are beside the playground.
		await expect(panel.locator('.steps li')).toHaveCount(lesson.steps.length);
		// The lesson starts at its own speed; finish as fast as possible.
		await page.getByTestId('speed-select').selectOption({ label: 'Max' });
		const check = page.getByTestId('lesson-check');
		await expect(check).toHaveAttribute('data-state', /pass|fail/, { timeout: 90_000 });
		await check.scrollIntoViewIfNeeded();
		await expect(check).toBeVisible();
		await expect(check, (await page.getByTestId('lesson-check').textContent()) ?? '').toHaveAttribute('data-state', 'pass');
		await expect(page.getByTestId('lesson-check-detail')).not.toBeEmpty();
		await expect(page.getByTestId('verify-mismatches')).toHaveText('0');
		// The address bar holds the lesson and a link to its scenario.
		await expect.poll(() => page.url()).toContain(`lesson=${lesson.id}`);
		await expect.poll(() => page.url()).toContain('#s=2.');
		if (lesson.id === 'write-back' || lesson.id === 'flaky-disk') await page.screenshot({ path: `test-results/lesson-${lesson.id}.png` });
		expect(errors).toEqual([]);
	});
}

test('the lessons page lists every lesson and opens one in the playground', async ({ page }) => {
	const errors = collectErrors(page);
	await page.goto('/lessons');
	await expect(page.getByRole('heading', { name: 'Guided lessons' })).toBeVisible();
	await expect(page.getByTestId('lesson-list').locator(':scope > li')).toHaveCount(LESSONS.length);
	await page.screenshot({ path: 'test-results/lessons-list.png' });
	await page.getByTestId(`lesson-open-${LESSONS[2].id}`).click();
	await expect(page.getByTestId('lesson-panel')).toHaveAttribute('data-lesson', LESSONS[2].id);
	// Closing the lesson leaves its scenario; the picker opens another without a reload.
	await page.getByRole('button', { name: 'Close the lesson' }).click();
	await expect(page.getByTestId('lesson-panel')).toHaveCount(0);
	await page.getByTestId('lesson-select').selectOption(LESSONS[0].id);
	await expect(page.getByTestId('lesson-panel')).toHaveAttribute('data-lesson', LESSONS[0].id);
	await page.getByTestId('speed-select').selectOption({ label: 'Max' });
	await expect(page.getByTestId('lesson-check')).toHaveAttribute('data-state', 'pass', { timeout: 90_000 });
	expect(errors).toEqual([]);
});
