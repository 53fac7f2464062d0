/**
 * `vaio certify FILE.ts` / `vaio certify --builtin NAME`: runs the certification suite against
 * one filter and prints the report (✓/✗ per check, with what failed, on which I/O and when).
 *
 * FILE.ts exports default a FilterDef; it is loaded with tsx's import (TypeScript as is, in an
 * ES module or a CommonJS one). Exit codes: 0 every check passed, 1 a check failed, 2 bad
 * input (a missing file, a module that cannot load, a default export that is not a filter: the
 * registry's check message; an unknown built-in, class or parameter).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { FilterDef } from '../lib/engine/filter';
import { checkFilterDef } from '../lib/engine/registry';
import { builtinRegistry } from '../lib/filters/index';
import { certify, CertifyInputError, formatReport } from '../lib/certify/index';
import { UsageError, type CertifyArgs } from './args';

export const CERTIFY_HELP = `Usage: vaio certify FILE.ts [options]
       vaio certify --builtin NAME [options]

Runs the certification suite against one filter (in the spirit of VAIO's vetting before a
filter is "VMware Ready") and prints a report: per check ✓ or ✗ with what failed, on which I/O
(id, op, first sector+length) and at what virtual time. FILE.ts must "export default" a filter
definition (the same object the registry takes). The filter runs in its own class between two
probe filters, on memory stores, with a few thousand guest I/Os per run. The checks:
  1 every I/O completes exactly once      5 control events leave no held I/O
  2 data read equals data written         6 sidecar state survives a restart
  3 defer does not stall other I/Os       7 no blocking on the I/O path beyond a budget
  4 failure is reported only upward

Options:
  --builtin NAME       certify a registered built-in filter instead of a file
  --class CLASS        the class to run a class-configurable filter in (default replication)
  --param NAME=VALUE   a parameter of the filter (repeatable), checked against its table
  --seed N             the seed of every run (default 1); same filter and seed, same report
  --scale X            multiplies every run's I/O count (default 1; 0.001 to 100)
  --json               print the report as one JSON object
  -h, --help           this help

Exit codes:
  0  every check passed
  1  a check failed
  2  bad input: the file is missing or does not load, its default export is not a filter,
     an unknown built-in, class or parameter
  3  internal error (please report it)
`;

/** Bad input found while loading the filter (its message names the file). */
class CertifyLoadError extends Error {}

/** Runs `vaio certify`; returns the exit code (bad input: one line on stderr, exit 2). */
export async function certifyCommand(args: CertifyArgs): Promise<number> {
	let def: FilterDef;
	const where = args.file ?? `--builtin ${args.builtin}`;
	try {
		def = args.file !== undefined ? await loadFilterFile(args.file) : builtin(args.builtin!);
	} catch (e) {
		if (e instanceof CertifyLoadError || e instanceof UsageError) return badInput(e.message);
		throw e;
	}
	let report;
	try {
		report = await certify(def, {
			...(args.cls ? { cls: args.cls } : {}),
			params: args.params,
			...(args.seed !== undefined ? { seed: args.seed } : {}),
			...(args.scale !== undefined ? { scale: args.scale } : {})
		});
	} catch (e) {
		const name = (e as Error).name;
		if (e instanceof CertifyInputError || name === 'ParamError' || name === 'FilterRegistrationError') return badInput(`${where}: ${(e as Error).message}`);
		throw e;
	}
	process.stdout.write(args.json ? JSON.stringify(report, null, 2) + '\n' : formatReport(report));
	return report.passed ? 0 : 1;
}

function builtin(name: string): FilterDef {
	const registry = builtinRegistry();
	const def = registry.get(name);
	if (!def) throw new UsageError(`--builtin: unknown filter "${name}" (built-in: ${registry.names().join(', ')})`);
	return def;
}

/** Imports FILE.ts and returns its default export, checked as the registry checks a filter. */
export async function loadFilterFile(file: string): Promise<FilterDef> {
	const abs = path.resolve(file);
	let stat: fs.Stats;
	try {
		stat = fs.statSync(abs);
	} catch (e) {
		const code = (e as NodeJS.ErrnoException).code;
		throw new CertifyLoadError(`${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (e as Error).message}`);
	}
	if (stat.isDirectory()) throw new CertifyLoadError(`${file}: is a directory, not a file`);
	let mod: { default?: unknown };
	try {
		// tsx's scoped import: TypeScript in ESM and in CommonJS alike (a file outside any package
		// with "type": "module" is CommonJS, and its own imports are require() calls).
		const { tsImport } = await import('tsx/esm/api');
		mod = (await tsImport(pathToFileURL(abs).href, { parentURL: import.meta.url, tsconfig: false })) as { default?: unknown };
	} catch (e) {
		const msg = (e instanceof Error ? e.message : String(e)).replace(/\s+/g, ' ').trim();
		throw new CertifyLoadError(`${file}: cannot load the module: ${msg.length > 300 ? msg.slice(0, 300) + '…' : msg}`);
	}
	let def = mod.default;
	// A CommonJS module's namespace has its exports object as default.
	if (def && typeof def === 'object' && (def as { __esModule?: unknown }).__esModule === true) def = (def as { default?: unknown }).default;
	if (def === undefined) throw new CertifyLoadError(`${file}: no default export (write "export default" followed by the filter definition)`);
	const problem = checkFilterDef(def);
	if (problem) throw new CertifyLoadError(`${file}: not a filter: filter "${String((def as { name?: unknown })?.name ?? '?')}": ${problem}`);
	return def as FilterDef;
}

function badInput(message: string): number {
	process.stderr.write(`vaio: ${message.replace(/\s*\n\s*/g, ' ')}\n`);
	return 2;
}
