import { readFileSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import { collectErrors } from './helpers';

/**
 * Custom filters as cluster bundles, and the live cluster on the playground page:
 * - the filter editor stores a filter as a bundle (name, vendor, version); the playground's
 *   cluster panel installs it on every host, the chain takes it, a storage policy attaches it to
 *   the running disk and a run sends its I/O through the filter's sandbox; after a reload the
 *   bundle and the run are back without a consent question (it is this browser's own code);
 * - a newer version stored in the editor is offered as a rolling upgrade, host by host;
 * - bad code says where and why, and stores nothing;
 * - after a vMotion the topology shows the VM on its new host, with each host's bundles.
 */

const SHOTS = process.env.SHOTS_DIR ?? 'test-results';

const TEMPLATE = readFileSync(new URL('../../src/lib/filters/template.ts', import.meta.url), 'utf8').replace(/from '\.\/authoring'/g, "from 'vaio'");

/** The template as a replication-class filter "io-tally" (the default chain's inspection slot is taken). */
const TALLY = TEMPLATE.replace("name: 'my-filter'", "name: 'io-tally'").replace("class: 'inspection'", "class: 'replication'");

async function setSource(page: Page, text: string): Promise<void> {
	const content = page.locator('.cm-content');
	await content.click();
	await page.keyboard.press('ControlOrMeta+a');
	await content.fill(text);
}

/** In the editor: Install as bundle with this vendor and version; expects it stored. */
async function storeBundle(page: Page, source: string, vendor: string, version: string, shot?: string): Promise<void> {
	await setSource(page, source);
	await page.getByTestId('bundle-open').click();
	const dialog = page.getByTestId('bundle-dialog');
	await expect(dialog).toBeVisible();
	await expect(page.getByTestId('bundle-name')).toHaveValue('io-tally');
	await page.getByTestId('bundle-vendor').fill(vendor);
	await page.getByTestId('bundle-version').fill(version);
	if (shot) await page.screenshot({ path: `${SHOTS}/${shot}` });
	await page.getByTestId('bundle-save').click();
	await expect(page.getByTestId('bundle-saved')).toContainText(`io-tally ${version}`);
}

async function playgroundDone(page: Page, run = 1): Promise<void> {
	await expect(page.getByTestId('run-status')).toHaveAttribute('data-state', 'done', { timeout: 60_000 });
	if (run > 1) await expect(page.getByTestId('run-status')).toContainText(`Run #${run} finished`, { timeout: 60_000 });
	await expect(page.getByTestId('cluster-host-esx-01')).toBeVisible();
}

/**
 * The filter table's row of a custom filter: every I/O it sees is deferred while its sandbox
 * answers (then resumed), so its defer count is the I/O that went through it.
 */
async function expectThrough(page: Page, name: string): Promise<void> {
	const row = page.getByTestId('filter-table').locator('tr', { has: page.locator('th code', { hasText: name }) });
	await expect(row).toHaveCount(1);
	await expect(row.locator('td').nth(2)).toHaveText(/^[1-9][\d,.]*k?$/);
	await expect(row.locator('td').nth(3)).toHaveText('0'); // no I/O failed by it
}

test('editor → Install as bundle → the playground cluster installs it, a policy attaches it, a run goes through it; a reload keeps it', async ({ page }) => {
	test.setTimeout(120_000);
	const errors = collectErrors(page);
	await page.goto('/author');
	await storeBundle(page, TALLY, 'Acme Storage', '1.0.0', 'bundle-dialog.png');
	await expect(page.getByTestId('author-status')).toContainText('Stored "io-tally" 1.0.0 (Acme Storage)');

	await page.getByTestId('bundle-open-playground').click();
	await playgroundDone(page);
	// Offered beside the built-ins, not installed yet.
	await expect(page.getByTestId('cluster-bundles-esx-01')).not.toContainText('io-tally');
	await page.getByTestId('cluster-install-button').click();
	const item = page.getByTestId('cluster-op-install-custom-io-tally');
	await expect(item).toContainText('Install io-tally 1.0.0 · custom, by Acme Storage');
	await item.click();
	const last = page.getByTestId('cluster-last');
	await expect(last).toHaveAttribute('data-ok', 'true');
	await expect(last).toContainText('io-tally 1.0.0 (Acme Storage) installed cluster-wide (on esx-01)');
	await expect(page.getByTestId('cluster-bundles-esx-01')).toContainText(/io-tally\s+1\.0\.0/);
	await expect(page.getByTestId('cluster-bundle-io-tally')).toContainText('custom');

	// Into the chain (the palette has it now), then onto the running disk as its storage policy.
	await page.getByTestId('palette-io-tally').click();
	await expect(page.getByTestId('topology-filter-io-tally')).toBeVisible();
	await page.getByTestId('cluster-disk-menu-vm-01').click();
	await page.getByTestId('cluster-op-policy-edited').click();
	await expect(last).toHaveAttribute('data-ok', 'true');
	await expect(last).toContainText('attached io-tally');
	await expect(page.getByTestId('cluster-disk-vm-01/disk-0')).toContainText('passthrough → io-tally');
	// I/O on the live run through it: read back every written block.
	await page.getByTestId('cluster-disk-menu-vm-01').click();
	await page.getByTestId('cluster-op-verify').click();
	await expect(last).toHaveAttribute('data-ok', 'true');
	await expect(last).toContainText(/\d+ blocks read, 0 differ/);

	// A new run with the chain: every I/O passes the custom filter's sandbox; verification holds.
	await page.getByTestId('run-button').click();
	await playgroundDone(page, 2);
	await expectThrough(page, 'io-tally');
	await expect(page.getByTestId('cluster-bundles-esx-01')).toContainText(/io-tally\s+1\.0\.0/);

	// A reload: the bundle is still stored, the link carries its code, which is this browser's own.
	await page.waitForFunction(() => location.hash.includes('s='));
	await page.waitForTimeout(400); // the hash is written 300 ms after the last edit
	await page.reload();
	// The page runs the link's scenario, or loads it on the disks it kept and waits for Play.
	const status = page.getByTestId('run-status');
	await expect(status).toHaveAttribute('data-state', /^(done|ready)$/, { timeout: 60_000 });
	if ((await status.getAttribute('data-state')) === 'ready') await page.getByTestId('run-button').click();
	await playgroundDone(page);
	await expect(page.getByTestId('consent-dialog')).toHaveCount(0);
	await expect(page.getByTestId('topology-filter-io-tally')).toBeVisible();
	await expectThrough(page, 'io-tally');
	await expect(page.getByTestId('cluster-bundles-esx-01')).toContainText(/io-tally\s+1\.0\.0/);
	expect(errors).toEqual([]);
});

test('a newer stored version is a rolling upgrade, host by host; bad code says where and why and stores nothing', async ({ page, context }) => {
	test.setTimeout(150_000);
	const errors = collectErrors(page);
	await page.goto('/author');
	await storeBundle(page, TALLY, 'Acme Storage', '1.0.0');
	await page.getByTestId('bundle-close').click();

	// Bad code: the contract check names the line and the reason; no dialog, nothing stored.
	await setSource(page, TALLY.replace("class: 'replication'", "class: 'storage'"));
	await page.getByTestId('bundle-open').click();
	await expect(page.getByTestId('author-status')).toContainText('class "storage" is not one of');
	await expect(page.getByTestId('problem-line')).toHaveText(/line \d+/);
	await expect(page.getByTestId('bundle-dialog')).toHaveCount(0);

	// The playground in another tab: two hosts, 1.0.0 installed and attached to the running disk.
	const play = await context.newPage();
	const playErrors = collectErrors(play);
	await play.goto('/');
	await playgroundDone(play);
	await play.getByTestId('cluster-menu-button').click();
	await play.getByTestId('cluster-op-add-all').click();
	await expect(play.getByTestId('cluster-host-esx-02')).toBeVisible();
	await play.getByTestId('cluster-install-button').click();
	await play.getByTestId('cluster-op-install-custom-io-tally').click();
	const last = play.getByTestId('cluster-last');
	await expect(last).toContainText('io-tally 1.0.0 (Acme Storage) installed cluster-wide (on esx-01, esx-02)');
	await play.getByTestId('palette-io-tally').click();
	await play.getByTestId('cluster-disk-menu-vm-01').click();
	await play.getByTestId('cluster-op-policy-edited').click();
	await expect(last).toContainText('attached io-tally');
	await expect(play.getByTestId('cluster-upgrade-io-tally')).toHaveCount(0);

	// New code in the editor: a stored version never changes, so 1.0.0 is refused and 1.1.0 suggested.
	await page.bringToFront();
	const v2 = TALLY.replace('return { reads: s.reads,', "return { code: 'v2', reads: s.reads,");
	await setSource(page, v2);
	await page.getByTestId('bundle-open').click();
	await expect(page.getByTestId('bundle-version')).toHaveValue('1.1.0');
	await page.getByTestId('bundle-version').fill('1.0.0');
	await expect(page.getByTestId('bundle-dialog')).toContainText('io-tally 1.0.0 is stored with other code');
	await expect(page.getByTestId('bundle-save')).toBeDisabled();
	await page.getByTestId('bundle-version').fill('1.1.0');
	await page.getByTestId('bundle-save').click();
	await expect(page.getByTestId('bundle-saved')).toContainText('io-tally 1.1.0');

	// Back in the playground: the cluster runs 1.0.0, the store has 1.1.0: a rolling upgrade.
	await play.bringToFront();
	await play.getByTestId('cluster-install-button').click(); // the menu re-reads the stored bundles
	await play.getByTestId('cluster-install-button').click();
	const up = play.getByTestId('cluster-upgrade-io-tally');
	await expect(up).toHaveText('upgrade to 1.1.0 (new code)');
	await up.click();
	await expect(last).toHaveAttribute('data-ok', 'true', { timeout: 60_000 });
	await expect(last).toContainText('io-tally upgraded to 1.1.0 (new code): esx-01: 1.0.0 → 1.1.0 in maintenance mode; esx-02: 1.0.0 → 1.1.0 in maintenance mode');
	await expect(last).toContainText(/new code: vm-01\/disk-0: io-tally 1\.1\.0 attached anew on esx-0\d/);
	for (const h of ['esx-01', 'esx-02']) await expect(play.getByTestId(`cluster-bundles-${h}`)).toContainText(/io-tally\s+1\.1\.0/);
	await play.getByTestId('cluster-disk-menu-vm-01').click();
	await play.getByTestId('cluster-op-verify').click();
	await expect(last).toContainText(/\d+ blocks read, 0 differ/);
	expect(errors).toEqual([]);
	expect(playErrors).toEqual([]);
});

test('after a vMotion the topology shows the VM on its new host, with each host\'s bundles and versions', async ({ page }) => {
	const errors = collectErrors(page);
	await page.goto('/');
	await playgroundDone(page);
	const guest = page.getByTestId('topology-guest-host');
	await expect(guest).toHaveAttribute('data-host', 'esx-01');
	await expect(page.getByTestId('topology-host-esx-01').getByTestId('topology-vm-vm-01')).toBeVisible();

	// A host with every bundle but an older passthrough, and one with the bundles at their versions.
	await page.getByTestId('cluster-menu-button').click();
	await page.getByTestId('cluster-op-add-all').click();
	await expect(page.getByTestId('topology-host-esx-02')).toBeVisible();
	await expect(page.getByTestId('topology-bundle-esx-02-passthrough')).toContainText(/passthrough\s+\d+\.\d+\.\d+/);

	await page.getByTestId('cluster-move-vm-01').click();
	await page.getByTestId('cluster-op-to-esx-02').click();
	await expect(page.getByTestId('cluster-last')).toHaveAttribute('data-ok', 'true');
	await expect(guest).toHaveAttribute('data-host', 'esx-02');
	await expect(guest).toContainText('on esx-02, moved from esx-01');
	await expect(page.getByTestId('topology-host-esx-02').getByTestId('topology-vm-vm-01')).toBeVisible();
	await expect(page.getByTestId('topology-host-esx-01').getByTestId('topology-vm-vm-01')).toHaveCount(0);
	await expect(page.getByTestId('cluster-host-esx-02').getByTestId('cluster-vm-vm-01')).toBeVisible();
	await page.getByTestId('cluster-host-esx-02').scrollIntoViewIfNeeded();
	await page.screenshot({ path: `${SHOTS}/cluster-after-vmotion.png` });

	// A host crash with HA restart: the VM shows where it restarted, the host as down.
	await page.getByTestId('cluster-host-menu-esx-02').click();
	await page.getByTestId('cluster-op-crash').click();
	await expect(page.getByTestId('cluster-last')).toHaveAttribute('data-ok', 'true', { timeout: 60_000 });
	await expect(page.getByTestId('topology-host-esx-02')).toHaveAttribute('data-state', 'down');
	await expect(guest).toHaveAttribute('data-host', 'esx-01');
	await expect(page.getByTestId('topology-host-esx-01').getByTestId('topology-vm-vm-01')).toBeVisible();

	await page.getByTestId('cluster-move-vm-01').click();
	await page.getByTestId('cluster-op-drs').click();
	await expect(page.getByTestId('cluster-last')).toContainText('drs-place');
	expect(errors).toEqual([]);
});
