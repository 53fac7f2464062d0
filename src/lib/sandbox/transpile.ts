/**
 * A custom filter's TypeScript → JavaScript, with sucrase (≈ 10 ms, no type checking): types are
 * removed and the module stays an ES module. Sucrase keeps every line where it was, so a line in
 * a stack trace of the transpiled code is the same line in the author's source.
 *
 * Used twice: by the page for instant syntax diagnostics while the author types, and by the
 * engine Worker, which runs only what it transpiled itself.
 */
import { transform } from 'sucrase';

/** Longest source accepted (characters). */
export const MAX_SOURCE_CHARS = 200_000;

export interface SourceProblem {
	/** Where: 'syntax' (sucrase), 'contract' (checkFilterDef), 'name', 'load' (the module threw), a hook name, 'timeout'. */
	kind: string;
	message: string;
	/** 1-based line and column in the source (0 when unknown). */
	line: number;
	column: number;
}

export type Transpiled = { ok: true; js: string } | { ok: false; problem: SourceProblem };

export function transpileFilter(source: string): Transpiled {
	if (typeof source !== 'string') return { ok: false, problem: { kind: 'syntax', message: 'the source is not text', line: 0, column: 0 } };
	if (source.length > MAX_SOURCE_CHARS)
		return { ok: false, problem: { kind: 'syntax', message: `the source is longer than ${MAX_SOURCE_CHARS} characters`, line: 0, column: 0 } };
	try {
		const r = transform(source, { transforms: ['typescript'], disableESTransforms: true });
		const bad = foreignImport(r.code);
		if (bad) return { ok: false, problem: { kind: 'syntax', message: `a custom filter can import only from 'vaio' (not '${bad.specifier}')`, line: bad.line, column: 1 } };
		return { ok: true, js: r.code };
	} catch (e) {
		const err = e as { message?: string; pos?: number };
		const pos = typeof err.pos === 'number' ? err.pos : -1;
		const { line, column } = pos >= 0 ? lineColumn(source, pos) : { line: 0, column: 0 };
		const message = String(err.message ?? e).replace(/\s*\(\d+:\d+\)$/, '');
		return { ok: false, problem: { kind: 'syntax', message, line, column } };
	}
}

/**
 * The first import of anything but 'vaio' (static, re-export or dynamic) in transpiled code, with
 * its line (the same line in the source). The sandbox could not load it anyway (no network); this
 * says so clearly, before anything runs.
 */
export function foreignImport(js: string): { specifier: string; line: number } | undefined {
	const re = /(?:^|[;\s}])(?:import|export)\s*(?:[\w*${}\s,]+from\s*)?(['"])([^'"\n]+)\1|\bimport\s*\(\s*(['"])([^'"\n]+)\3/g;
	for (let m: RegExpExecArray | null; (m = re.exec(js)); ) {
		const specifier = m[2] ?? m[4];
		if (specifier !== 'vaio' && specifier !== 'vaio/filter') return { specifier, line: lineColumn(js, m.index + m[0].search(/\S/)).line };
	}
	return undefined;
}

/** 1-based line and column of a character offset. */
export function lineColumn(source: string, pos: number): { line: number; column: number } {
	let line = 1;
	let start = 0;
	const end = Math.min(pos, source.length);
	for (let i = 0; i < end; i++)
		if (source.charCodeAt(i) === 10) {
			line++;
			start = i + 1;
		}
	return { line, column: end - start + 1 };
}

/** 1-based line of the first match of `re` at or after `fromLine` (0 when none). */
export function findLine(source: string, re: RegExp, fromLine = 1): number {
	const lines = source.split('\n');
	for (let i = Math.max(0, fromLine - 1); i < lines.length; i++) if (re.test(lines[i])) return i + 1;
	return 0;
}

/**
 * The line a registration problem (checkFilterDef's message) is about: the field it names, in
 * the default export; else the `export default` line.
 */
export function problemLine(source: string, problem: string): number {
	const exportLine = findLine(source, /^\s*export\s+default\b/) || 1;
	const field = (name: string) => findLine(source, new RegExp(`(^|[\\s{,])${name}\\s*[:(]`), exportLine) || findLine(source, new RegExp(`(^|[\\s{,])${name}\\s*[:(]`));
	let m: RegExpExecArray | null;
	if ((m = /^params\[\d+\] "([^"]+)"/.exec(problem))) return findLine(source, new RegExp(`name\\s*:\\s*['"\`]${m[1]}['"\`]`)) || field('params') || exportLine;
	if (problem.startsWith('params') || problem.startsWith('"params"')) return field('params') || exportLine;
	if ((m = /^hook "(\w+)"/.exec(problem))) return field(m[1]) || exportLine;
	if ((m = /^"(\w+)" must be/.exec(problem))) return field(m[1]) || exportLine;
	if (problem.startsWith('class ')) return field('class') || exportLine;
	if (problem.startsWith('name ')) return field('name') || exportLine;
	if (problem.startsWith('contract ')) return field('contract') || exportLine;
	return exportLine;
}
