import { REAL_VSCSI_TRACE } from '../shared-data';
import * as fs from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import { parseFioJob } from '../../src/lib/engine/workload/fio';
import { readTrace } from '../../src/lib/engine/workload/traces/index';
import { collectErrors } from './helpers';

/**
 * Workloads in and out of the page: a fio job file imported (file picker and drag and drop), a
 * malformed one told with FILE:LINE, the workload exported as a job file that parses back; a
 * slice of a real vSCSI trace streamed in with a progress bar and replayed record for record;
 * metrics JSON and chart SVG/PNG downloads.
 */

const TRACE = REAL_VSCSI_TRACE;

async function loaded(page: Page): Promise<void> {
	await page.goto('/');
	await expect(page.getByTestId('run-status')).toHaveAttribute('data-state', 'done', { timeout: 60_000 });
}

const JOB = `; an OLTP-like job
[global]
ioengine=libaio
direct=1
filename=/dev/sdb
bs=8k
iodepth=16

[oltp]
rw=randwrite
number_ios=3000
random_distribution=zipf:1.2
size=1g
`;

const workload = (page: Page) => page.locator('section.workload');

test('import a fio job file: the workload panel takes it; ignored options are listed once', async ({ page }) => {
	const errors = collectErrors(page);
	await loaded(page);
	await page.getByTestId('fio-file').setInputFiles({ name: 'oltp.fio', mimeType: 'text/plain', buffer: Buffer.from(JOB) });
	const note = page.getByTestId('fio-imported');
	await expect(note).toContainText('Imported oltp.fio: 1 job (oltp)');
	await expect(page.getByTestId('fio-ignored')).toHaveText(/ioengine, direct, filename$/);
	const w = workload(page);
	await expect(w.getByLabel('name', { exact: true })).toHaveValue('oltp');
	await expect(w.getByLabel('rw', { exact: true })).toHaveValue('randwrite');
	await expect(w.getByLabel(/^iodepth/)).toHaveValue('16');
	await expect(w.getByLabel(/^ios/)).toHaveValue('3000');
	await expect(w.getByLabel('random_distribution', { exact: true })).toHaveValue('zipf');
	await expect(page.getByTestId('run-status')).toContainText('scenario edited');
	await note.scrollIntoViewIfNeeded();
	await page.screenshot({ path: 'test-results/import-fio.png' });

	// It runs: exactly the job's I/Os.
	await page.getByTestId('run-button').click();
	await expect(page.getByTestId('run-status')).toContainText('Run #2 finished', { timeout: 60_000 });
	await expect(page.getByTestId('ios')).toHaveText('3000');
	expect(errors).toEqual([]);
});

test('a job file dropped on the workload panel is imported; a malformed one shows FILE:LINE and the reason', async ({ page }) => {
	const errors = collectErrors(page);
	await loaded(page);
	const drop = async (name: string, text: string) => {
		const dt = await page.evaluateHandle(
			([n, t]) => {
				const d = new DataTransfer();
				d.items.add(new File([t], n, { type: 'text/plain' }));
				return d;
			},
			[name, text] as const
		);
		const zone = page.getByTestId('workload-dropzone');
		await zone.dispatchEvent('dragenter', { dataTransfer: dt });
		await zone.dispatchEvent('dragover', { dataTransfer: dt });
		await zone.dispatchEvent('drop', { dataTransfer: dt });
	};
	await drop('seq.fio', '[seq]\nrw=read\nbs=128k\niodepth=2\nnumber_ios=500\n');
	await expect(page.getByTestId('fio-imported')).toContainText('Imported seq.fio');
	await expect(workload(page).getByLabel('rw', { exact: true })).toHaveValue('read');
	await expect(workload(page).getByRole('textbox', { name: 'bs', exact: true })).toHaveValue('128k');

	await drop('broken.fio', '[job]\nrw=randrw\nbs=4q\n');
	const err = page.getByTestId('fio-error');
	await expect(err).toBeVisible();
	await expect(err).toContainText('broken.fio:3:');
	await expect(err).toContainText('bs');
	// The workload is untouched by a file that failed.
	await expect(workload(page).getByLabel('rw', { exact: true })).toHaveValue('read');
	await err.scrollIntoViewIfNeeded();
	await page.screenshot({ path: 'test-results/import-fio-error.png' });
	await page.emulateMedia({ colorScheme: 'dark' });
	await page.screenshot({ path: 'test-results/import-fio-error-dark.png' });
	expect(errors).toEqual([]);
});

test('export the workload as a fio job file: it parses back to the same workload', async ({ page }) => {
	const errors = collectErrors(page);
	await loaded(page);
	await page.getByTestId('fio-file').setInputFiles({ name: 'oltp.fio', mimeType: 'text/plain', buffer: Buffer.from(JOB) });
	await expect(page.getByTestId('fio-imported')).toBeVisible();
	const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('fio-export').click()]);
	expect(download.suggestedFilename()).toMatch(/\.fio$/);
	const text = fs.readFileSync(await download.path(), 'utf8');
	const back = parseFioJob(text, download.suggestedFilename());
	const orig = parseFioJob(JOB, 'oltp.fio');
	expect(back.jobs).toHaveLength(1);
	expect(back.jobs[0].spec).toEqual(orig.jobs[0].spec);
	expect(back.jobs[0].name).toBe('oltp');
	expect(text).toMatch(/^ioengine=libaio$/m);
	expect(errors).toEqual([]);
});

test('replay the first MiB of a real vSCSI trace: the progress bar reaches 100 % and every record is one I/O', async ({ page }) => {
	test.skip(!fs.existsSync(TRACE), 'the shared trace is not on this machine');
	const errors = collectErrors(page);
	await loaded(page);
	const slice = fs.readFileSync(TRACE).subarray(0, 1 << 20);
	const expected = readTrace('vscsi', new Uint8Array(slice)).summary;
	await page.getByTestId('trace-file').setInputFiles({ name: 'cloudPhysicsIO-1MiB.vscsi', mimeType: 'application/octet-stream', buffer: slice });
	const panel = page.getByTestId('replay-panel');
	await expect(panel).toHaveAttribute('data-phase', 'ready');
	await expect(page.getByTestId('replay-format')).toHaveValue('vscsi');
	await expect(panel).toContainText('from the name');
	await page.getByTestId('replay-timing').selectOption('afap');
	await page.getByTestId('replay-start').click();
	await expect(page.getByTestId('replay-progress')).toHaveAttribute('aria-valuenow', '100', { timeout: 60_000 });
	await expect(panel).toHaveAttribute('data-phase', 'done', { timeout: 120_000 });
	await expect(page.getByTestId('run-status')).toHaveAttribute('data-state', 'done');
	await expect(page.getByTestId('replay-records')).toHaveText(String(expected.records));
	await expect(page.getByTestId('replay-issued')).toHaveText(String(expected.records));
	await expect(page.getByTestId('ios')).toHaveText(String(expected.records));
	await expect(page.getByTestId('verify-mismatches')).toHaveText('0');
	await panel.scrollIntoViewIfNeeded();
	await page.screenshot({ path: 'test-results/import-trace-replay.png' });
	await page.emulateMedia({ colorScheme: 'dark' });
	await page.screenshot({ path: 'test-results/import-trace-replay-dark.png' });

	// The replay is in the event log.
	await page.getByTestId('dock-tab-log').click();
	await page.getByTestId('log-filter-text').fill('I/O records');
	await expect(page.getByTestId('event-log').getByTestId('log-entry').first()).toContainText(`${expected.records} I/O records`);
	expect(errors).toEqual([]);
});

test('a malformed trace stops the replay with its position', async ({ page }) => {
	const errors = collectErrors(page);
	await loaded(page);
	await page.getByTestId('trace-file').setInputFiles({ name: 'bad.csv', mimeType: 'text/csv', buffer: Buffer.from('128166372003061629,hm,1,Read,383496192,32768,177\nnot a record\n') });
	await expect(page.getByTestId('replay-format')).toHaveValue('msr');
	await page.getByTestId('replay-start').click();
	await expect(page.getByTestId('replay-error')).toContainText('line 2');
	expect(errors).toEqual([]);
});

test('downloads: metrics JSON, and a chart as SVG and PNG', async ({ page }) => {
	const errors = collectErrors(page);
	await loaded(page);
	const [json] = await Promise.all([page.waitForEvent('download'), page.getByTestId('metrics-json').click()]);
	expect(json.suggestedFilename()).toMatch(/-metrics\.json$/);
	const doc = JSON.parse(fs.readFileSync(await json.path(), 'utf8'));
	expect(doc.result.ios).toBe(10_000);
	expect(doc.series.length).toBeGreaterThan(0);
	expect(doc.scenario.vms[0].disks[0].workload[0].rw).toBe('randrw');

	const svgButton = page.locator('[data-testid^="chart-svg-"]').first();
	const [svg] = await Promise.all([page.waitForEvent('download'), svgButton.click()]);
	expect(svg.suggestedFilename()).toMatch(/\.svg$/);
	const text = fs.readFileSync(await svg.path(), 'utf8');
	expect(text).toContain('<svg');
	expect(text).toContain('xmlns="http://www.w3.org/2000/svg"');
	expect(text).toContain('.vchart');
	expect(text).toMatch(/<path[^>]+class="line /);

	const [png] = await Promise.all([page.waitForEvent('download'), page.locator('[data-testid^="chart-png-"]').first().click()]);
	expect(png.suggestedFilename()).toMatch(/\.png$/);
	const bytes = fs.readFileSync(await png.path());
	expect(bytes.subarray(1, 4).toString()).toBe('PNG');
	expect(bytes.length).toBeGreaterThan(2000);
	expect(errors).toEqual([]);
});
