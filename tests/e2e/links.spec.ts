/**
 * Share links in Chromium: the page writes its scenario into the URL hash as it is edited; the
 * link opened in a new browser context reproduces the run (the same trace digest), and so does
 * `vaio run --link`; malformed, truncated and hostile links show the LinkError's step and reason
 * and run the default scenario; a link with filter code asks first; a link too long to share
 * offers a JSON file, which opens again; the embed view runs the same scenario.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { expect, test, type Page } from '@playwright/test';
import { deflateSync, strToU8 } from 'fflate';
import { encodeLink, toBase64Url } from '../../src/lib/links/codec';
import { defaultScenario, runScenario } from '../../src/lib/engine/index';
import { collectErrors } from './helpers';

const exec = promisify(execFile);

async function finished(page: Page, run = 1): Promise<string> {
	await expect(page.getByTestId('run-status')).toContainText(`Run #${run} finished`, { timeout: 90_000 });
	const digest = (await page.getByTestId('trace-digest').textContent()) ?? '';
	expect(digest).toMatch(/^[0-9a-f]{16}$/);
	return digest;
}

/** The page's URL once its hash holds the current scenario (written 300 ms after the last edit). */
async function settledUrl(page: Page): Promise<string> {
	await expect.poll(() => page.url(), { timeout: 10_000 }).toContain('#s=2.');
	await page.waitForTimeout(800);
	return page.url();
}

test('a link reproduces the run in a new browser context and in the CLI', async ({ page, browser }) => {
	const errors = collectErrors(page);
	await page.goto('/');
	await finished(page);

	// Edit: add a write-back cache, change the workload, slow the speed down and back up.
	await page.getByTestId('palette-cache').click();
	await page.getByTestId('filter-params').getByLabel('mode', { exact: true }).selectOption('write-back');
	await page.getByTestId('dock-tab-log').click();
	await page.getByTestId('run-button').click();
	const digest = await finished(page, 2);
	const url = await settledUrl(page);
	expect(url).toMatch(/#s=2\.[A-Za-z0-9_-]+$/);

	// A fresh browser context (no storage shared) opens the link: the same run, the same digest.
	const context = await browser.newContext();
	const other = await context.newPage();
	const otherErrors = collectErrors(other);
	await other.goto(url);
	expect(await finished(other)).toBe(digest);
	await expect(other.getByTestId('topology-filter-cache')).toBeVisible();
	await expect(other.getByTestId('dock-tab-log')).toHaveAttribute('aria-selected', 'true');
	await expect(other.getByTestId('link-error')).toHaveCount(0);
	expect(otherErrors).toEqual([]);
	await context.close();

	// The CLI runs the same link to the same digest.
	const { stdout } = await exec(process.execPath, ['bin/vaio.js', 'run', '--link', url, '--json'], { maxBuffer: 64 * 1024 * 1024 });
	expect(JSON.parse(stdout).traceDigest).toBe(digest);
	expect(errors).toEqual([]);
});

const HOSTILE: [name: string, hash: string, step: string][] = [
	['garbage', 's=2.garbage!!', 'base64'],
	['bad base64', 's=2.ab$d', 'base64'],
	['not deflate', `s=2.${toBase64Url(strToU8('hello, not compressed at all'))}`, 'inflate'],
	['bad JSON', `s=2.${toBase64Url(deflateSync(strToU8('{"scenario": ')))}`, 'json'],
	['a newer version', 's=9.abc', 'version'],
	['schema error', encodeLink({ scenario: { version: 1, vms: [] } }), 'content'],
	['unknown field', encodeLink({ scenario: defaultScenario(), evil: 1 } as never), 'content'],
	['compression bomb', `s=2.${toBase64Url(deflateSync(new Uint8Array(64 * 1024 * 1024).fill(32)))}`, 'inflate'],
	['no scenario', 's=', 'format']
];

test('a link from the older version 1 (the bare scenario) still opens', async ({ page }) => {
	const errors = collectErrors(page);
	const scenario = JSON.parse(JSON.stringify(defaultScenario()));
	scenario.seed = 99;
	scenario.vms[0].disks[0].workload[0].ios = 2000;
	const v1 = `s=1.${toBase64Url(deflateSync(strToU8(JSON.stringify(scenario))))}`;
	await page.goto(`/#${v1}`);
	expect(await finished(page)).toBe((await runScenario(scenario)).traceDigest);
	await expect(page.getByTestId('link-error')).toHaveCount(0);
	// The page rewrites it in the current version.
	await expect.poll(() => page.url()).toContain('#s=2.');
	expect(errors).toEqual([]);
});

test('malformed, truncated and hostile links show why and run the default scenario', async ({ page }) => {
	const errors = collectErrors(page);
	const expected = (await runScenario(defaultScenario())).traceDigest;
	const good = encodeLink({ scenario: defaultScenario() });
	const cases = [...HOSTILE, ['truncated', good.slice(0, Math.floor(good.length * 0.6)), 'inflate'] as [string, string, string]];
	let first = true;
	for (const [name, hash, step] of cases) {
		await page.goto('about:blank');
		await page.goto(`/#${hash}`);
		const alert = page.getByTestId('link-error');
		await expect(alert, name).toBeVisible({ timeout: 30_000 });
		await expect(alert, name).toHaveAttribute('data-step', step === 'inflate' && name === 'truncated' ? /inflate|base64/ : step);
		await expect(alert, name).toContainText('The default scenario is loaded instead');
		expect(await finished(page), name).toBe(expected);
		if (first) {
			await page.screenshot({ path: 'test-results/link-error.png' });
			first = false;
		}
	}
	expect(errors).toEqual([]);
});

/** A minimal custom filter in the sandbox's module form. */
const FILTER_SOURCE = `import { FILTER_CONTRACT_VERSION, PASS, type FilterDef } from 'vaio';

const filter: FilterDef<{ seen: number }> = {
	contract: FILTER_CONTRACT_VERSION,
	name: 'linked-counter',
	vendor: 'links test',
	version: '1.0.0',
	class: 'inspection',
	description: 'Counts the I/Os it sees.',
	params: [],
	attach: () => ({ seen: 0 }),
	onIo(io, ctx) {
		ctx.state.seen++;
		return PASS;
	},
	status: (ctx) => ({ seen: ctx.state.seen })
};

export default filter;
`;

test('a link with filter code asks before anything runs', async ({ page }) => {
	const errors = collectErrors(page);
	const scenario = { version: 1, name: 'custom', seed: 3, vms: [{ name: 'vm-01', disks: [{ name: 'disk-0', size: '64m', policy: { filters: [{ type: 'linked-counter' }] }, workload: [{ rw: 'randrw', ios: 300, iodepth: 4 }] }] }] };
	const hash = encodeLink({ scenario, filters: [{ name: 'linked-counter', source: FILTER_SOURCE }] });

	// Declined: nothing of it runs; the default scenario does.
	await page.goto(`/#${hash}`);
	const dialog = page.getByTestId('consent-dialog');
	await expect(dialog).toBeVisible();
	await expect(dialog).toContainText('This link carries filter code');
	await expect(dialog).toContainText('linked-counter');
	await expect(page.getByTestId('run-status')).not.toHaveAttribute('data-state', 'done');
	await page.screenshot({ path: 'test-results/link-consent.png' });
	await page.getByTestId('consent-decline').click();
	await expect(page.getByTestId('link-info')).toContainText('not run');
	expect(await finished(page)).toBe((await runScenario(defaultScenario())).traceDigest);
	await expect(page.getByTestId('topology-filter-linked-counter')).toHaveCount(0);

	// Agreed: the filter is installed in its sandbox and the link's scenario runs through it.
	await page.goto('about:blank');
	await page.goto(`/#${hash}`);
	await page.getByTestId('consent-run').click();
	await finished(page);
	await expect(page.getByTestId('topology-filter-linked-counter')).toBeVisible();
	await expect(page.getByTestId('ios')).toHaveText('300');
	// The source travels on in the page's own link.
	const url = await settledUrl(page);
	expect(url).toContain('#s=2.');
	expect(errors).toEqual([]);
});

test('a link too long to share offers the JSON file, which opens to the same run', async ({ page }) => {
	const errors = collectErrors(page);
	// 200 VMs with incompressible names: a valid scenario whose link is far over the share limit.
	let x = 12345;
	const rand = (n: number) => {
		let out = '';
		while (out.length < n) out += ((x = (x * 1103515245 + 12345) >>> 0) >>> 8).toString(36);
		return out.slice(0, n);
	};
	const vms = Array.from({ length: 200 }, (_, i) => ({
		name: `vm${i}-${rand(56)}`,
		disks: [{ name: `d-${rand(40)}`, size: '1m', workload: [{ rw: 'randwrite', ios: 2, iodepth: 1 }] }]
	}));
	const big = { version: 1, name: 'big', seed: 5, vms };
	await page.goto(`/#${encodeLink({ scenario: big })}`);
	const digest = await finished(page);
	const length = page.getByTestId('link-length');
	await expect(length).toHaveAttribute('data-too-long', 'true');
	await expect(length).toContainText('share the JSON file instead');
	await page.getByTestId('copy-link').click();
	await expect(page.getByTestId('links-message')).toContainText('longer than');
	const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-json').click()]);
	expect(download.suggestedFilename()).toMatch(/\.vaio\.json$/);
	const file = await download.path();
	const json = JSON.parse(readFileSync(file, 'utf8'));
	expect(json.scenario.vms).toHaveLength(200);

	// Open it in a fresh page through "Open JSON": the same run.
	await page.goto('about:blank');
	await page.goto('/');
	await finished(page);
	await page.getByTestId('open-json-input').setInputFiles(file);
	await expect(page.getByTestId('link-info')).toContainText('Opened');
	expect(await finished(page, 2)).toBe(digest);

	// A file that is not a scenario says why and changes nothing.
	await page.getByTestId('open-json-input').setInputFiles({ name: 'bad.json', mimeType: 'application/json', buffer: Buffer.from('{"scenario": {"version": 7}}') });
	await expect(page.getByTestId('link-error')).toContainText('bad.json');
	await expect(page.getByTestId('link-error')).toHaveAttribute('data-step', 'content');
	expect(errors).toEqual([]);
});

test('the embed view runs the link chrome-less', async ({ page }) => {
	const errors = collectErrors(page);
	const scenario = JSON.parse(JSON.stringify(defaultScenario()));
	scenario.vms[0].disks[0].workload[0].ios = 1500;
	scenario.vms[0].disks[0].policy.filters = [{ type: 'analytics' }, { type: 'cache', params: { mode: 'write-back' } }];
	const expected = (await runScenario(scenario)).traceDigest;
	const hash = encodeLink({ scenario });
	await page.goto(`/embed#${hash}`);
	await expect(page.getByTestId('embed')).toBeVisible();
	await expect(page.getByTestId('trace-digest')).toHaveText(expected, { timeout: 90_000 });
	await expect(page.getByTestId('chart-iops')).toBeVisible();
	await expect(page.getByTestId('topology-filter-cache')).toBeVisible();
	// No top bar, palette or inspector: chrome-less.
	await expect(page.getByTestId('palette-cache')).toHaveCount(0);
	await page.screenshot({ path: 'test-results/embed.png' });
	await page.getByTestId('run-button').click();
	await expect(page.getByTestId('trace-digest')).toHaveText(expected, { timeout: 90_000 });

	await page.goto('about:blank');
	await page.goto('/embed#s=2.%%%');
	await expect(page.getByTestId('link-error')).toBeVisible();
	await expect(page.getByTestId('trace-digest')).toHaveText((await runScenario(defaultScenario())).traceDigest, { timeout: 90_000 });
	expect(errors).toEqual([]);
});
