import { defineConfig, devices } from '@playwright/test';

/**
 * End-to-end tests against the built static app (`npm run test:e2e` builds first), in Debian's
 * Chromium: `npx playwright install` cannot download browsers here, so Playwright drives the
 * system browser (CHROMIUM_PATH, else /usr/bin/chromium; `.ci/run` installs it).
 */
const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
// PW_PORT lets several checkouts on one machine test side by side without reusing each other's server.
const port = Number(process.env.PW_PORT ?? 4173);

export default defineConfig({
	testDir: 'tests/e2e',
	outputDir: 'test-results',
	forbidOnly: !!process.env.CI,
	// One retry in CI only: a loaded 2-core machine can starve a live-playback test of frames.
	retries: process.env.CI ? 1 : 0,
	workers: 2, // a 2-core machine
	reporter: 'list',
	timeout: 60_000,
	expect: { timeout: 30_000 },
	use: {
		baseURL: `http://localhost:${port}`,
		// The page keeps its disks in OPFS by default, but OPFS in these incognito contexts lives in
		// memory and is many times slower than in a real profile, and a page opened again would
		// find the disks of the test before it. So the page's store choice is memory here; the
		// stores themselves are tested in persistent contexts on fresh profiles (stores.spec.ts,
		// persistence.spec.ts), which this setting does not reach.
		storageState: { cookies: [], origins: [{ origin: `http://localhost:${port}`, localStorage: [{ name: 'vaio.store', value: 'memory' }] }] },
		screenshot: 'on',
		trace: 'retain-on-failure'
	},
	projects: [
		{
			name: 'chromium',
			use: {
				...devices['Desktop Chrome'],
				viewport: { width: 1280, height: 720 },
				launchOptions: {
					executablePath,
					// We run as root, hence --no-sandbox; the rest keeps the browser quiet and offline.
					args: [
						'--no-sandbox',
						'--disable-gpu',
						'--disable-background-networking',
						'--disable-component-update',
						'--disable-sync',
						'--no-first-run'
					]
				}
			}
		}
	],
	webServer: {
		// Serves the already-built app; test:e2e runs `vite build` first.
		command: `npx vite preview --port ${port} --strictPort`,
		url: `http://localhost:${port}`,
		reuseExistingServer: !process.env.CI,
		timeout: 60_000,
		stdout: 'ignore',
		stderr: 'pipe'
	}
});
