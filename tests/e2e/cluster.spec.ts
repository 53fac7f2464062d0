import { expect, test, type Page } from '@playwright/test';
import { collectErrors } from './helpers';

/**
 * The cluster panel on the playground page: the cluster (hosts, installed bundles and versions,
 * VMs, disks and policies), operations as buttons and menus, each one's effect or refusal shown
 * in the panel and in the event log.
 */

async function loaded(page: Page): Promise<void> {
	await page.goto('/');
	await expect(page.getByTestId('run-status')).toHaveAttribute('data-state', 'done', { timeout: 60_000 });
	await expect(page.getByTestId('cluster-host-esx-01')).toBeVisible();
}

/** The event log, searched for `text`: the entries that match. */
async function logEntries(page: Page, text: string) {
	await page.getByTestId('dock-tab-log').click();
	await page.getByTestId('log-filter-text').fill(text);
	return page.getByTestId('event-log').getByTestId('log-entry');
}

test('the cluster view: hosts, bundles and versions, the VM with its disk and policy', async ({ page }) => {
	const errors = collectErrors(page);
	await loaded(page);
	const host = page.getByTestId('cluster-host-esx-01');
	await expect(host).toHaveAttribute('data-state', 'connected');
	await expect(page.getByTestId('cluster-bundles-esx-01')).toContainText('passthrough');
	await expect(page.getByTestId('cluster-bundles-esx-01')).toContainText(/cache\s+\d+\.\d+\.\d+/);
	const vm = page.getByTestId('cluster-vm-vm-01');
	await expect(vm).toHaveAttribute('data-power', 'on');
	await expect(page.getByTestId('cluster-disk-vm-01/disk-0')).toContainText('policy default');
	await expect(page.getByTestId('cluster-disk-vm-01/disk-0')).toContainText('passthrough');
	await expect(page.getByTestId('cluster-bundles')).toContainText('encryption');
	expect(errors).toEqual([]);
});

test('take a snapshot: it shows in the cluster view and the event log; a policy change is then refused', async ({ page }) => {
	const errors = collectErrors(page);
	await loaded(page);
	await page.getByTestId('cluster-snapshot-vm-01').click();
	await expect(page.getByTestId('cluster-snapshot-vm-01-snap-1')).toBeVisible();
	await expect(page.getByTestId('cluster-snapshot-vm-01-snap-1')).toContainText('current');
	await expect(page.getByTestId('cluster-last')).toHaveAttribute('data-ok', 'true');
	await expect(page.getByTestId('cluster-last')).toContainText('snapshot-create');

	const entries = await logEntries(page, 'snapshot-create');
	await expect(entries.first()).toContainText('snapshot-create vm-01 "snap-1"');

	// vSphere refuses a storage-policy change while the VM has snapshots.
	await page.getByTestId('cluster-disk-menu-vm-01').click();
	await expect(page.getByTestId('cluster-op-policy-none')).toContainText('refused while the VM has snapshots');
	await page.getByTestId('cluster-op-policy-none').click();
	await expect(page.getByTestId('cluster-last')).toHaveAttribute('data-ok', 'false');
	await expect(page.getByTestId('cluster-last')).toContainText(/policy refused: .*snapshot/);

	// Deleting the snapshot takes it out of the view.
	await page.getByTestId('cluster-delete-snap-1').click();
	await expect(page.getByTestId('cluster-snapshot-vm-01-snap-1')).toHaveCount(0);
	await expect(page.getByTestId('cluster-last')).toContainText('snapshot-delete');
	expect(errors).toEqual([]);
});

test('a vMotion to a host without the filter bundle is refused with the reason; to one with it, the VM moves', async ({ page }) => {
	const errors = collectErrors(page);
	await loaded(page);
	// A host without bundles joins.
	await page.getByTestId('cluster-menu-button').click();
	await page.getByTestId('cluster-op-add-none').click();
	await expect(page.getByTestId('cluster-host-esx-02')).toBeVisible();
	await expect(page.getByTestId('cluster-bundles-esx-02')).toContainText('no filter bundles');

	await page.getByTestId('cluster-move-vm-01').click();
	const to2 = page.getByTestId('cluster-op-to-esx-02');
	await expect(to2).toContainText('lacks the filter bundle "passthrough"'); // said before it is tried
	await to2.click();
	const last = page.getByTestId('cluster-last');
	await expect(last).toHaveAttribute('data-ok', 'false');
	await expect(last).toContainText('vmotion refused');
	await expect(last).toContainText('host esx-02 lacks the filter bundle "passthrough"');
	await expect(page.getByTestId('cluster-host-esx-01').getByTestId('cluster-vm-vm-01')).toBeVisible();
	await last.scrollIntoViewIfNeeded();
	await page.screenshot({ path: 'test-results/cluster-vmotion-refused.png' });

	const entries = await logEntries(page, 'vmotion');
	await expect(entries.first()).toContainText('refused');
	await expect(entries.first()).toContainText('lacks the filter bundle "passthrough"');

	// A host with every bundle: the move goes through.
	await page.getByTestId('cluster-menu-button').click();
	await page.getByTestId('cluster-op-add-all').click();
	await expect(page.getByTestId('cluster-host-esx-03')).toBeVisible();
	await page.getByTestId('cluster-move-vm-01').click();
	await page.getByTestId('cluster-op-to-esx-03').click();
	await expect(last).toHaveAttribute('data-ok', 'true');
	await expect(page.getByTestId('cluster-host-esx-03').getByTestId('cluster-vm-vm-01')).toBeVisible();
	expect(errors).toEqual([]);
});

test('a host crash with a write-back cache reports the acknowledged writes it lost; light and dark', async ({ page }) => {
	const errors = collectErrors(page);
	await loaded(page);
	// A write-back cache that destages only under pressure: the run ends with dirty blocks.
	await page.getByTestId('palette-cache').click();
	const panel = page.getByTestId('filter-params');
	await panel.getByLabel('mode', { exact: true }).selectOption('write-back');
	await panel.getByLabel(/^destageMBps/).fill('0');
	await page.getByTestId('run-button').click();
	await expect(page.getByTestId('run-status')).toContainText('Run #2 finished', { timeout: 60_000 });
	await expect(page.getByTestId('cluster-disk-vm-01/disk-0')).toContainText('cache');

	// A second host, so HA can restart the VM there.
	await page.getByTestId('cluster-menu-button').click();
	await page.getByTestId('cluster-op-add-all').click();
	await expect(page.getByTestId('cluster-host-esx-02')).toBeVisible();

	await page.getByTestId('cluster-host-menu-esx-01').click();
	await page.getByTestId('cluster-op-crash').click();
	const last = page.getByTestId('cluster-last');
	await expect(last).toHaveAttribute('data-ok', 'true', { timeout: 60_000 });
	await expect(last).toContainText(/host esx-01 crashed with 1 VMs/);
	const text = (await last.textContent()) ?? '';
	const undestaged = Number(/(\d+) acknowledged blocks not destaged/.exec(text)?.[1]);
	const lost = /on esx-02: (\d+) of \d+ blocks lost \((\d+) acknowledged writes/.exec(text);
	expect(undestaged).toBeGreaterThan(0);
	expect(lost).not.toBeNull();
	expect(Number(lost![1])).toBe(undestaged);
	expect(Number(lost![2])).toBeGreaterThan(0);
	await expect(page.getByTestId('cluster-host-esx-01')).toHaveAttribute('data-state', 'down');
	await expect(page.getByTestId('cluster-host-esx-02').getByTestId('cluster-vm-vm-01')).toBeVisible();

	const entries = await logEntries(page, 'host-crash');
	await expect(entries.first()).toContainText('acknowledged blocks not destaged');
	await page.getByTestId('log-filter-text').fill('');
	// The operations are marked on the charts' time axis.
	await page.getByTestId('dock-tab-charts').click();
	await expect(page.getByTestId('chart-iops').locator('svg')).toHaveAttribute('aria-label', /operations marked \(host-add, host-crash\)/);
	await expect(page.getByTestId('chart-iops').locator('text', { hasText: 'host-crash' })).toHaveCount(1);
	await last.scrollIntoViewIfNeeded();
	await page.screenshot({ path: 'test-results/cluster-host-crash.png' });
	await page.emulateMedia({ colorScheme: 'dark' });
	await page.screenshot({ path: 'test-results/cluster-host-crash-dark.png' });
	expect(errors).toEqual([]);
});
