/**
 * `npm run bench:browser`: the engine in real Chromium (Debian's /usr/bin/chromium, driven by
 * Playwright) with a persistent profile — OPFS in an incognito profile is in memory and slow.
 * Prints raw OPFS sync-handle 4 KiB random write/read IOPS, the same pattern through the engine
 * with six pass-through filters on OPFS disks, their ratio, and the page's frames per second
 * while a run streams at full speed. Needs a build (`vite build`; the npm script does it).
 */
import { chromium } from '@playwright/test';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { encodeLink } from '../src/lib/links/codec';
import { defaultScenario } from '../src/lib/engine/index';

const PORT = Number(process.env.BENCH_PORT ?? 4191);
const OPS = Number(process.env.BENCH_OPS ?? 8000);
const BASE = `http://localhost:${PORT}`;

async function waitForServer(url: string, ms: number): Promise<void> {
	const until = Date.now() + ms;
	while (Date.now() < until) {
		try {
			if ((await fetch(url)).ok) return;
		} catch {
			// not up yet
		}
		await new Promise((r) => setTimeout(r, 200));
	}
	throw new Error(`the preview server did not start on ${url}`);
}

// Its own process group, so the finally below stops vite and not only the npx wrapper.
const server = spawn('npx', ['vite', 'preview', '--port', String(PORT), '--strictPort'], { stdio: 'ignore', detached: true });
const profile = mkdtempSync(path.join(os.tmpdir(), 'vaio-bench-'));
try {
	await waitForServer(BASE, 30_000);
	const context = await chromium.launchPersistentContext(profile, {
		executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
		headless: true,
		viewport: { width: 1280, height: 720 },
		args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run']
	});
	const page = context.pages()[0] ?? (await context.newPage());
	console.log(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}; ${await page.evaluate(() => navigator.userAgent)}`);

	await page.goto(`${BASE}/dev/bench`);
	await page.getByTestId('bench-ready').and(page.locator('[data-ready="yes"]')).waitFor();
	const r = await page.evaluate((ops) => (window as unknown as { bench: { opfs(n: number): Promise<Record<string, number>> } }).bench.opfs(ops), OPS);
	if (r.mismatches !== 0) throw new Error(`the engine run was not clean: ${r.mismatches} mismatches or errors`);
	console.log(`pattern: ${OPS} random 4 KiB writes then ${OPS} random 4 KiB reads in a 64 MiB region; raw and engine alternate 3 times, fastest of each kept`);
	console.log(`raw-opfs-write-iops: ${Math.round(r.rawWriteIops)}`);
	console.log(`raw-opfs-read-iops: ${Math.round(r.rawReadIops)}`);
	console.log(`engine-opfs-write-iops: ${Math.round(r.engineWriteIops)}`);
	console.log(`engine-opfs-read-iops: ${Math.round(r.engineReadIops)}`);
	console.log(`opfs-engine-vs-raw: ${r.ratio.toFixed(3)}`);

	const fps = await measureFps(page);
	console.log(`page-fps-while-streaming: ${fps.toFixed(1)}`);
	await context.close();
} finally {
	try {
		process.kill(-server.pid!);
	} catch {
		server.kill();
	}
	rmSync(profile, { recursive: true, force: true });
}

/**
 * Frames per second of the playground page while a long run streams at full speed: the page
 * opens a share link of a five-million-I/O scenario (cache + analytics, so the charts, the flow
 * view and the counters all update), starts it as fast as possible, and its own
 * requestAnimationFrame callbacks are counted over three seconds.
 */
async function measureFps(page: import('@playwright/test').Page): Promise<number> {
	const scenario = defaultScenario() as { vms: { disks: { policy: unknown; workload: { ios: number }[] }[] }[] };
	const disk = scenario.vms[0].disks[0];
	disk.policy = { filters: [{ type: 'analytics' }, { type: 'cache' }] };
	disk.workload[0].ios = 5_000_000;
	await page.goto(`${BASE}/#${encodeLink({ scenario, ui: { speed: Infinity } })}`);
	await page.getByTestId('run-status').and(page.locator('[data-state="running"]')).waitFor({ timeout: 60_000 });
	await page.waitForTimeout(1000);
	// A string, not a function: tsx's transform would name the inner function with a helper
	// (__name) that does not exist in the page.
	return page.evaluate(`new Promise((resolve) => {
		let frames = 0;
		const t0 = performance.now();
		function tick() {
			frames++;
			if (performance.now() - t0 < 3000) requestAnimationFrame(tick);
			else resolve((frames * 1000) / (performance.now() - t0));
		}
		requestAnimationFrame(tick);
	})`) as Promise<number>;
}
