import { sveltekit } from '@sveltejs/kit/vite';
import { build, type Plugin } from 'vite';
import { dirname, resolve } from 'node:path';
import { defineConfig } from 'vitest/config';

const BUNDLE_QUERY = '?bundle';

/**
 * `import source from './module.ts?bundle'`: the module and everything it imports, bundled into
 * one self-contained script (an IIFE that assigns the module's exports to `var bundle`), as a
 * string. For code shipped as text to a context that cannot import the app's modules: the custom
 * filter sandbox's Worker gets the engine's PRNG this way (sandbox/host.ts).
 */
function bundledSource(): Plugin {
	return {
		name: 'vaio-bundled-source',
		enforce: 'pre',
		resolveId(id, importer) {
			if (!id.endsWith(BUNDLE_QUERY) || !importer) return null;
			return '\0' + resolve(dirname(importer.split('?')[0]), id.slice(0, -BUNDLE_QUERY.length)) + BUNDLE_QUERY;
		},
		async load(id) {
			if (!id.startsWith('\0') || !id.endsWith(BUNDLE_QUERY)) return null;
			const entry = id.slice(1, -BUNDLE_QUERY.length);
			const out = await build({
				configFile: false,
				logLevel: 'silent',
				build: {
					write: false,
					copyPublicDir: false,
					minify: true,
					lib: { entry, formats: ['iife'], name: 'bundle' },
					// The CommonJS modules it imports (stdlib) have no side effects: drop the unused.
					rollupOptions: { treeshake: { moduleSideEffects: false } }
				}
			});
			const chunk = (Array.isArray(out) ? out[0] : out) as { output: { type: string; code?: string; moduleIds?: string[] }[] };
			const main = chunk.output.find((o) => o.type === 'chunk');
			if (!main?.code) throw new Error(`${entry}${BUNDLE_QUERY}: the bundle is empty`);
			for (const m of main.moduleIds ?? []) if (!m.startsWith('\0')) this.addWatchFile(m);
			return `export default ${JSON.stringify(main.code)};`;
		}
	};
}

export default defineConfig({
	plugins: [bundledSource(), sveltekit()],
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
