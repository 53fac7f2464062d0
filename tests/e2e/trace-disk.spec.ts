import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page } from '@playwright/test';
import { collectErrors } from './helpers';

/**
 * A trace of several disks replayed from the page: the panel lists the file's disks with their
 * record counts, the first replays by default (as the CLI without --trace-disk), another is
 * chosen from the list or typed in (a malformed, ambiguous or absent id is told and does not
 * start), and the records of the others are reported as other disks. A one-disk file shows no
 * chooser.
 */

const T = 128166372003061629;
/** hm/0 (3 records, one of them without data), hm/1 (2), prn/0 (1). */
const MSR = [
	'Timestamp,Hostname,DiskNumber,Type,Offset,Size,ResponseTime',
	[0, 'hm', 0, 'Write', 0, 4096],
	[10, 'hm', 1, 'Write', 8192, 4096],
	[20, 'prn', 0, 'Read', 0, 8192],
	[30, 'hm', 0, 'Read', 0, 4096],
	[40, 'hm', 1, 'Read', 8192, 4096],
	[50, 'hm', 0, 'Write', 4096, 0]
]
	.map((r) => (typeof r === 'string' ? r : [T + (r[0] as number), ...r.slice(1), 100].join(',')))
	.join('\n');

const ONE_DEVICE = ['8,0 0 1 0.000000000 1 D W 100 + 8 [a]', '8,0 0 2 0.000001000 1 D R 100 + 8 [a]'].join('\n') + '\n';

async function loaded(page: Page): Promise<void> {
	await page.goto('/');
	await expect(page.getByTestId('run-status')).toHaveAttribute('data-state', 'done', { timeout: 60_000 });
}

test('an MSR file of three disks: listed with their counts, the first by default, another chosen or typed; bad ids are told', async ({ page }) => {
	const errors = collectErrors(page);
	await loaded(page);
	await page.getByTestId('trace-file').setInputFiles({ name: 'msr-hosts.csv', mimeType: 'text/csv', buffer: Buffer.from(MSR + '\n') });
	const panel = page.getByTestId('replay-panel');
	await expect(panel).toHaveAttribute('data-phase', 'ready');
	const chooser = page.getByTestId('replay-disk');
	await expect(chooser).toHaveValue('hm/0');
	await expect(chooser.locator('option')).toHaveText(['hm/0: 3 records (first)', 'hm/1: 2 records', 'prn/0: 1 record', 'another id…']);
	await expect(page.getByTestId('replay-disk-count')).toHaveText('3 disks in the file');
	await page.getByTestId('replay-timing').selectOption('afap');
	await panel.scrollIntoViewIfNeeded();
	await panel.screenshot({ path: 'test-results/trace-disk-chooser.png' });
	const axe = await new AxeBuilder({ page }).include('[data-testid="replay-panel"]').withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).analyze();
	expect(axe.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.help}`)).toEqual([]);

	// The default: the first disk replays (2 I/O records, the zero-size one is skipped); the others are other disks.
	await page.getByTestId('replay-start').click();
	await expect(panel).toHaveAttribute('data-phase', 'done', { timeout: 60_000 });
	await expect(page.getByTestId('replay-records')).toHaveText('2');
	await expect(page.getByTestId('replay-disk-replayed')).toHaveText('hm/0');
	await expect(page.getByTestId('replay-other-disks')).toHaveText('3 (hm/1: 2, prn/0: 1)');

	// Another disk from the list.
	await chooser.selectOption('hm/1');
	await page.getByTestId('replay-start').click();
	await expect(panel).toHaveAttribute('data-phase', 'done', { timeout: 60_000 });
	await expect(page.getByTestId('replay-records')).toHaveText('2');
	await expect(page.getByTestId('replay-disk-replayed')).toHaveText('hm/1');
	await expect(page.getByTestId('replay-other-disks')).toHaveText('4 (hm/0: 3, prn/0: 1)');
	await expect(page.getByTestId('ios')).toHaveText('2');

	// Typed ids: malformed, a number two hosts have, a disk the file does not hold: told, and the replay does not start.
	await chooser.selectOption('*other');
	const id = page.getByTestId('replay-disk-id');
	const problem = page.getByTestId('replay-disk-error');
	const start = page.getByTestId('replay-start');
	await expect(problem).toHaveText('Type a disk id.');
	await expect(start).toBeDisabled();
	await id.fill('8,0');
	await expect(problem).toHaveText('"8,0" is not an MSR disk, HOST/DISK or DISK (e.g. hm/0 or 0)');
	await expect(start).toBeDisabled();
	await id.fill('0');
	await expect(problem).toHaveText('several hosts have disk 0 (hm/0, prn/0): give HOST/DISK');
	await expect(start).toBeDisabled();
	await id.fill('hm/9');
	await expect(problem).toHaveText('no records of disk hm/9 in msr-hosts.csv (it has: hm/0, hm/1, prn/0)');
	await expect(start).toBeDisabled();
	// A number one host has: that disk.
	await id.fill('1');
	await expect(problem).toHaveCount(0);
	await start.click();
	await expect(panel).toHaveAttribute('data-phase', 'done', { timeout: 60_000 });
	await expect(page.getByTestId('replay-disk-replayed')).toHaveText('hm/1');
	await expect(page.getByTestId('replay-records')).toHaveText('2');
	expect(errors).toEqual([]);
});

test('a trace of one device shows no disk chooser', async ({ page }) => {
	const errors = collectErrors(page);
	await loaded(page);
	await page.getByTestId('trace-file').setInputFiles({ name: 'one.blkparse', mimeType: 'text/plain', buffer: Buffer.from(ONE_DEVICE) });
	const panel = page.getByTestId('replay-panel');
	await expect(page.getByTestId('replay-format')).toHaveValue('blkparse');
	await expect(page.getByTestId('replay-start')).toBeEnabled();
	await expect(page.getByTestId('replay-disk')).toHaveCount(0);
	await page.getByTestId('replay-timing').selectOption('afap');
	await page.getByTestId('replay-start').click();
	await expect(panel).toHaveAttribute('data-phase', 'done', { timeout: 60_000 });
	await expect(page.getByTestId('replay-records')).toHaveText('2');
	await expect(page.getByTestId('replay-disk')).toHaveCount(0);
	await expect(page.getByTestId('replay-other-disks')).toHaveCount(0);
	expect(errors).toEqual([]);
});
