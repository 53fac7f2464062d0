/**
 * Filter authoring in Chromium: the editor, the template, installing and running a custom filter
 * in its sandbox (a Worker started from a sandboxed iframe), errors at their lines, the watchdog,
 * the sandbox's walls (no IndexedDB, no fetch), and the consent asked for code from a link.
 */
import { readFileSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import { encodeLink } from '../../src/lib/links/codec';
import { collectErrors } from './helpers';

/** The template as the editor shows it (template-source.ts does the same with Vite's ?raw). */
const TEMPLATE = readFileSync(new URL('../../src/lib/filters/template.ts', import.meta.url), 'utf8').replace(/from '\.\/authoring'/g, "from 'vaio'");

/** Replaces the editor's whole text, as a paste would. */
async function setSource(page: Page, text: string): Promise<void> {
	const content = page.locator('.cm-content');
	await content.click();
	await page.keyboard.press('ControlOrMeta+a');
	await content.fill(text);
}

/** The template with its onIo body replaced. */
function withOnIo(body: string, extra = ''): string {
	const start = TEMPLATE.indexOf('\tonIo(io, ctx) {');
	const end = TEMPLATE.indexOf('\n\t},\n', start) + '\n\t},\n'.length;
	return TEMPLATE.slice(0, start) + `\tonIo(io, ctx) {\n${body}\n\t},\n` + extra + TEMPLATE.slice(end);
}

async function runAndWait(page: Page): Promise<void> {
	await page.getByTestId('author-run').click();
	await expect(page.getByTestId('author-status')).toHaveAttribute('data-phase', /done|error/, { timeout: 60_000 });
}

test('New filter, edit it, Install, Run: failed writes to LBA 0 are counted, verification holds', async ({ page }) => {
	const errors = collectErrors(page);
	await page.goto('/author');
	await page.getByTestId('new-filter').click();
	await expect(page.locator('.cm-content')).toContainText('A template filter');
	await expect(page.locator('.cm-content')).toContainText("from 'vaio'");

	// The edit: refuse writes that touch LBA 0, and count them in the filter's status.
	const source = withOnIo(
		`\t\tconst s = ctx.state;
\t\tif (io.op === Op.read) s.reads++;
\t\telse if (io.op === Op.write) s.writes++;
\t\telse s.other++;
\t\ts.bytes += io.sectors * SECTOR_BYTES;
\t\tif (io.op === Op.write && io.lba === 0) {
\t\t\ts.refused = (s.refused ?? 0) + 1;
\t\t\treturn fail('EIO', 'writes to LBA 0 are refused');
\t\t}
\t\treturn PASS;`
	)
		.replace("import { FILTER_CONTRACT_VERSION, Op, PASS, SECTOR_BYTES, type FilterDef } from 'vaio';", "import { FILTER_CONTRACT_VERSION, Op, PASS, SECTOR_BYTES, fail, type FilterDef } from 'vaio';")
		.replace('failedBelow: s.failedBelow };', 'failedBelow: s.failedBelow, refused: s.refused ?? 0 };')
		.replace("name: 'my-filter'", "name: 'lba0-guard'");
	await setSource(page, source);
	await page.getByTestId('install-filter').click();
	await expect(page.getByTestId('installed-filter')).toHaveText('lba0-guard · inspection');
	await expect(page.getByTestId('author-status')).toContainText('Installed "lba0-guard"');

	await page.getByTestId('author-ios').fill('3000');
	await runAndWait(page);
	await expect(page.getByTestId('author-status')).toHaveAttribute('data-phase', 'done');
	await expect(page.getByTestId('author-digest')).toHaveText(/^[0-9a-f]{16}$/);
	await expect(page.getByTestId('author-verify-mismatches')).toHaveText('0');
	expect(Number(await page.getByTestId('author-verify-reads').textContent())).toBeGreaterThan(100);
	const refused = Number(await page.getByTestId('status-refused').textContent());
	expect(refused).toBeGreaterThan(0);
	await expect(page.getByTestId('author-errors')).toHaveText(String(refused));
	await expect(page.getByTestId('author-error-list')).toContainText('writes to LBA 0 are refused');
	await expect(page.getByTestId('status-writes')).not.toHaveText('0');

	// The same source runs the same way again (a fresh sandbox per run): the same digest.
	const digest = await page.getByTestId('author-digest').textContent();
	await runAndWait(page);
	await expect(page.getByTestId('author-digest')).toHaveText(digest!);
	await page.screenshot({ path: 'test-results/author-run.png', fullPage: true });
	expect(errors).toEqual([]);
});

test('a custom filter with its own SSD and a sidecar: writes mirrored through deviceIo, state kept in the sidecar', async ({ page }) => {
	const errors = collectErrors(page);
	await page.goto('/author');
	const source = `import { DEFER, FILTER_CONTRACT_VERSION, Op, PASS, deviceIo, type FilterDef } from 'vaio';

export default {
	contract: FILTER_CONTRACT_VERSION,
	name: 'ssd-mirror',
	vendor: 'e2e',
	version: '1.0.0',
	class: 'replication',
	description: 'Mirrors every write to its own NVMe device.',
	params: [],
	devices: { mirror: { kind: 'nvme' } },
	attach: (ctx) => ({ ssd: ctx.device('mirror'), mirrored: 0, failed: 0 }),
	onIo(io, ctx) {
		if (io.op !== Op.write) return PASS;
		const s = ctx.state;
		deviceIo(ctx, s.ssd, Op.write, io.lba, io.sectors, io.data, (_data, err) => {
			if (err) s.failed++;
			else s.mirrored++;
			ctx.sidecar.set('mirrored', new Uint8Array(new Float64Array([s.mirrored]).buffer));
			ctx.resume(io);
		});
		return DEFER;
	},
	status: (ctx) => ({ mirrored: ctx.state.mirrored, failed: ctx.state.failed, sidecarKeys: ctx.sidecar.keys().length })
} satisfies FilterDef;
`;
	await setSource(page, source);
	await page.getByTestId('install-filter').click();
	await expect(page.getByTestId('installed-filter')).toHaveText('ssd-mirror · replication');
	await page.getByTestId('author-ios').fill('2000');
	await runAndWait(page);
	await expect(page.getByTestId('author-status')).toHaveAttribute('data-phase', 'done');
	await expect(page.getByTestId('author-verify-mismatches')).toHaveText('0');
	await expect(page.getByTestId('author-errors')).toHaveText('0');
	expect(Number(await page.getByTestId('status-mirrored').textContent())).toBeGreaterThan(100);
	await expect(page.getByTestId('status-failed')).toHaveText('0');
	await expect(page.getByTestId('status-sidecarKeys')).toHaveText('1');
	expect(errors).toEqual([]);
});

test('a filter that throws shows the error at its line, in the editor and in the run', async ({ page }) => {
	const errors = collectErrors(page);
	await page.goto('/author');
	const source = withOnIo(`\t\tif (io.op === Op.write) {\n\t\t\tthrow new Error('no writes today');\n\t\t}\n\t\treturn PASS;`);
	const line = source.split('\n').findIndex((l) => l.includes("throw new Error('no writes today')")) + 1;
	await setSource(page, source);
	await runAndWait(page);
	await expect(page.getByTestId('author-status')).toHaveAttribute('data-phase', 'done');
	await expect(page.getByTestId('author-verify-mismatches')).toHaveText('0');
	await expect(page.getByTestId('author-error-list')).toContainText(`onIo threw (line ${line}): no writes today`);
	await expect(page.getByTestId('author-problems')).toContainText(`line ${line}`);
	await expect(page.getByTestId('author-problems')).toContainText('no writes today');
	await expect(page.getByTestId('editor-diagnostics')).toContainText(`line ${line}: onIo threw`);
	// An inline diagnostic on that line, and a marker in the lint gutter.
	await page.getByTestId('problem-line').first().click();
	const marked = page.locator('.cm-lintRange-error').first();
	await expect(marked).toBeVisible();
	await expect(marked).toContainText("throw new Error('no writes today')");
	await expect(page.locator('.cm-lint-marker-error')).toHaveCount(1);
	await expect(page.getByTestId('author-log')).toContainText(`at line ${line}: no writes today`);
	expect(errors).toEqual([]);
});

test('a syntax error and a registration problem are diagnostics at their lines', async ({ page }) => {
	const errors = collectErrors(page);
	await page.goto('/author');
	await setSource(page, TEMPLATE.replace("vendor: 'me',", "vendor: 'me' 'you',"));
	// Sucrase's syntax error, as the author types (no install needed), at its line.
	const vendorLine = TEMPLATE.split('\n').findIndex((l) => l.includes("vendor: 'me',")) + 1;
	const bar = page.getByTestId('editor-diagnostics');
	await expect(bar).toHaveAttribute('data-count', '1');
	await expect(bar).toContainText(`line ${vendorLine}: Unexpected token`);
	await bar.getByRole('button').click();
	await expect(page.locator('.cm-lint-marker-error')).toHaveCount(1);
	await expect(page.locator('.cm-lintRange-error').first()).toBeVisible();
	await setSource(page, TEMPLATE.replace("class: 'inspection'", "class: 'storage'"));
	await page.getByTestId('install-filter').click();
	await expect(page.getByTestId('author-status')).toContainText('class "storage" is not one of inspection');
	const line = TEMPLATE.split('\n').findIndex((l) => l.includes("class: 'inspection'")) + 1;
	await expect(page.getByTestId('author-problems')).toContainText(`line ${line}`);
	await page.getByTestId('problem-line').click();
	await expect(page.locator('.cm-lintRange-error').first()).toContainText("class: 'storage'");
	expect(errors).toEqual([]);
});

test('an endless loop is stopped by the watchdog; the page and the engine live on', async ({ page }) => {
	const errors = collectErrors(page);
	await page.goto('/author');
	await setSource(page, withOnIo('\t\tif (io.id > 40) while (true) {}\n\t\treturn PASS;').replace("name: 'my-filter'", "name: 'spinner'"));
	await runAndWait(page);
	await expect(page.getByTestId('author-status')).toHaveAttribute('data-phase', 'done');
	await expect(page.getByTestId('author-stopped')).toContainText('no reply within 1000 ms');
	await expect(page.getByTestId('author-status')).toContainText('sandbox was stopped');
	await expect(page.getByTestId('author-error-list')).toContainText('ETIMEDOUT');
	await expect(page.getByTestId('author-verify-mismatches')).toHaveText('0');
	await expect(page.getByTestId('author-log')).toContainText('sandbox stopped');
	await expect(page.getByTestId('sandbox-events')).toContainText('stopped');

	// The page still works: the template runs clean in a new sandbox.
	await page.getByTestId('new-filter').click();
	await runAndWait(page);
	await expect(page.getByTestId('author-status')).toContainText('0 failed, 0 verification mismatches');
	await expect(page.getByTestId('author-errors')).toHaveText('0');
	expect(errors).toEqual([]);
});

test('the sandbox cannot open IndexedDB, OPFS or the network: the attempts fail inside the filter', async ({ page }) => {
	const errors = collectErrors(page);
	await page.goto('/author');
	const attach = `\tattach(ctx) {
\t\tconst tries: [string, () => unknown][] = [
\t\t\t['indexedDB', () => indexedDB.open('vaio')],
\t\t\t['fetch', () => fetch('/')],
\t\t\t['XMLHttpRequest', () => new XMLHttpRequest()],
\t\t\t['WebSocket', () => new WebSocket('ws://localhost:1')],
\t\t\t['importScripts', () => (self as any).importScripts('/x.js')],
\t\t\t['OPFS', () => navigator.storage.getDirectory()],
\t\t\t['caches', () => caches.open('x')],
\t\t\t['Math.random', () => Math.random()]
\t\t];
\t\tctx.log('origin: ' + self.origin);
\t\tlet blocked = 0;
\t\tfor (const [what, f] of tries) {
\t\t\ttry {
\t\t\t\tf();
\t\t\t\tctx.log(what + ': ALLOWED');
\t\t\t} catch (e) {
\t\t\t\tblocked++;
\t\t\t\tctx.log(what + ' blocked: ' + (e as Error).message);
\t\t\t}
\t\t}
\t\treturn { reads: 0, writes: 0, other: 0, bytes: 0, failedBelow: 0, blocked };
\t},`;
	const start = TEMPLATE.indexOf('\tattach(ctx) {');
	const end = TEMPLATE.indexOf('\n\t},\n', start) + '\n\t},'.length;
	const source = (TEMPLATE.slice(0, start) + attach + TEMPLATE.slice(end)).replace('failedBelow: s.failedBelow };', 'failedBelow: s.failedBelow, blocked: (s as any).blocked };');
	await setSource(page, source);
	await page.getByTestId('author-ios').fill('200');
	await runAndWait(page);
	await expect(page.getByTestId('author-status')).toHaveAttribute('data-phase', 'done');
	const log = page.getByTestId('author-log');
	await expect(log).toContainText('indexedDB blocked: indexedDB is not available in a custom filter (no storage but the filter API)');
	await expect(log).toContainText('fetch blocked: fetch is not available in a custom filter (no network)');
	await expect(log).toContainText('OPFS blocked: navigator is not available in a custom filter');
	await expect(log).toContainText('Math.random blocked');
	await expect(log).not.toContainText('ALLOWED');
	// The first wall: the Worker's origin is opaque, so even a way around the second could not reach the app's storage.
	await expect(log).toContainText('origin: null');
	await expect(page.getByTestId('status-blocked')).toHaveText('8');
	// The sandbox is an opaque-origin iframe; the app's own IndexedDB is untouched by the filter.
	await expect(page.getByTestId('filter-sandbox')).toHaveAttribute('sandbox', 'allow-scripts');
	expect(await page.evaluate(() => indexedDB.databases().then((d) => d.map((x) => x.name)))).not.toContain('vaio');
	expect(errors).toEqual([]);
});

test('filter code from a link runs only after the viewer agrees', async ({ page }) => {
	const errors = collectErrors(page);
	const source = TEMPLATE.replace("name: 'my-filter'", "name: 'linked-filter'");
	const hash = encodeLink({
		scenario: { version: 1, vms: [{ name: 'vm-01', disks: [{ name: 'disk-0', workload: [{ rw: 'randwrite', ios: 300, iodepth: 4 }] }] }] },
		filters: [{ name: 'linked-filter', source }]
	});
	await page.goto(`/author#${hash}`);
	const dialog = page.getByTestId('consent-dialog');
	await expect(dialog).toBeVisible();
	await expect(dialog).toContainText('This link contains filter code. Run it?');
	await expect(dialog).toContainText("name: 'linked-filter'");
	// Nothing ran: no sandbox exists, no result.
	await expect(page.getByTestId('filter-sandbox')).toHaveCount(0);
	await expect(page.getByTestId('author-result')).toHaveCount(0);
	await page.getByTestId('consent-run').click();
	await expect(dialog).toHaveCount(0);
	await expect(page.getByTestId('author-status')).toHaveAttribute('data-phase', 'done', { timeout: 60_000 });
	await expect(page.getByTestId('installed-filter')).toHaveText('linked-filter · inspection');
	await expect(page.getByTestId('author-ios-done')).toHaveText('300');
	await expect(page.getByTestId('status-writes')).toHaveText('300');

	// Declining leaves the code unrun and loads the template.
	await page.goto('about:blank');
	await page.goto(`/author#${hash}`);
	await expect(page.getByTestId('consent-dialog')).toBeVisible();
	await page.getByTestId('consent-decline').click();
	await expect(page.getByTestId('filter-sandbox')).toHaveCount(0);
	await expect(page.getByTestId('author-status')).toContainText('was not run');
	await expect(page.locator('.cm-content')).toContainText("name: 'my-filter'");
	expect(errors).toEqual([]);
});

test('completion offers the filter API', async ({ page }) => {
	const errors = collectErrors(page);
	await page.goto('/author');
	await setSource(page, TEMPLATE);
	// Type at the end of the first line of onIo's body.
	await page.locator('.cm-line', { hasText: 'const s = ctx.state;' }).first().click();
	await page.keyboard.press('End');
	await page.keyboard.press('Enter');
	await page.keyboard.type('ctx.');
	// Completion opens as you type; Ctrl-Space asks for it explicitly (a busy machine may be slow to type).
	await page.keyboard.press('Control+Space');
	const list = page.locator('.cm-tooltip-autocomplete');
	await expect(list).toBeVisible();
	await expect(list).toContainText('after');
	await expect(list).toContainText('resume');
	await expect(list).toContainText('charge');
	await page.keyboard.press('Escape');
	await page.keyboard.type('prng.');
	await page.keyboard.press('Control+Space');
	await expect(list).toContainText('u32');
	expect(errors).toEqual([]);
});

test('the docs for filter authors are prerendered and cover the contract', async ({ page }) => {
	const errors = collectErrors(page);
	const res = await page.request.get('/docs/filters');
	const html = await res.text();
	// Prerendered: the content is in the HTML itself.
	expect(html).toContain('Writing filters');
	expect(html).toMatch(/VMware(&#39;|')s VMIOF function and constant names are not public/);
	await page.goto('/docs/filters');
	await expect(page.getByRole('heading', { name: 'Writing filters', level: 1 })).toBeVisible();
	for (const h of ['The contract', 'Classes and order', 'Hooks', 'Verdicts and the failure rule', 'Defer, not block', 'The context', 'The parameter table', 'Custom filters', 'Worked examples'])
		await expect(page.getByRole('heading', { name: new RegExp(h) }).first()).toBeVisible();
	await expect(page.getByTestId('hooks-table')).toContainText('onIo(io, ctx)');
	await expect(page.getByTestId('context-table')).toContainText('ctx.submitBelow');
	await expect(page.getByTestId('params-delay')).toContainText('blocking');
	await expect(page.getByTestId('template-source')).toContainText('attach(ctx): REQUIRED');
	await page.screenshot({ path: 'test-results/docs-filters.png', fullPage: false });
	expect(errors).toEqual([]);
});
