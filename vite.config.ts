import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vitest/config';

export default defineConfig({
	plugins: [sveltekit()],
	worker: { format: 'es' },
	test: {
		include: ['src/**/*.test.ts', 'tests/unit/**/*.test.ts', 'tests/cli/**/*.test.ts'],
		environment: 'node',
		pool: 'threads',
		maxWorkers: 2,
		// Timeouts only catch hangs: a 2-core machine under load may take many seconds for a whole run.
		testTimeout: 60_000
	}
});
