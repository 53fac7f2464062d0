/** `import source from './module.ts?bundle'` (vite.config.ts): the module bundled into one script, as text. */
declare module '*?bundle' {
	const source: string;
	export default source;
}
