/**
 * Shared by the end-to-end specs: the page's console errors, axe's serious and critical findings,
 * and a fresh persistent browser profile per test for the specs that need real OPFS (an incognito
 * context keeps OPFS in memory).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import { chromium, test, type BrowserContext, type Page } from '@playwright/test';

/** Collects console errors and uncaught exceptions of `page` (a test expects the list empty). */
export function collectErrors(page: Page): string[] {
	const errors: string[] = [];
	page.on('console', (msg) => {
		if (msg.type() === 'error') errors.push(`console: ${msg.text()} (${msg.location().url})`);
	});
	page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
	return errors;
}

/**
 * Gives every test of the file a persistent context on a fresh profile directory (removed after
 * the test), launched with the project's browser options. Returns a getter for the context.
 */
export function usePersistentContext(prefix: string): () => BrowserContext {
	let context: BrowserContext | undefined;
	let profile = '';
	test.beforeEach(async () => {
		profile = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
		const use = test.info().project.use;
		context = await chromium.launchPersistentContext(profile, {
			...use.launchOptions,
			baseURL: use.baseURL,
			viewport: { width: 1280, height: 720 }
		});
	});
	test.afterEach(async () => {
		await context?.close();
		context = undefined;
		fs.rmSync(profile, { recursive: true, force: true });
	});
	return () => {
		if (!context) throw new Error('no persistent context outside a test');
		return context;
	};
}

/** axe-core's serious and critical violations on the page as it is now (WCAG 2.1 A/AA and best practice). */
export async function seriousViolations(page: Page): Promise<string[]> {
	const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).analyze();
	return results.violations
		.filter((v) => v.impact === 'serious' || v.impact === 'critical')
		.map((v) => `${v.impact} ${v.id}: ${v.help} — ${v.nodes.slice(0, 5).map((n) => `${n.target.join(' ')} (${n.failureSummary?.split('\n').slice(1).join(' ').trim()})`).join('; ')}`);
}
