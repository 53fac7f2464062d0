import adapter from '@sveltejs/adapter-static';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/** @type {import('@sveltejs/kit').Config} */
const config = {
	preprocess: vitePreprocess(),
	kit: {
		// A pure client app: every route is prerendered to a static shell (see src/routes/+layout.ts).
		adapter: adapter({ fallback: '404.html' })
	}
};

export default config;
