/**
 * The `vaio` command line: commands, options and their checks (node:util parseArgs). Anything
 * wrong here is a UsageError: main prints its one-line message and exits 2.
 */
import { parseArgs } from 'node:util';
import { FILTER_CLASSES, type FilterClass } from '../lib/engine/filter';

/** Bad input on the command line (or in a file it names): exit code 2, one line, no stack. */
export class UsageError extends Error {
	override name = 'UsageError';
}

export type Command = 'run' | 'list-filters' | 'certify' | 'help' | 'version';
export const COMMANDS: readonly Command[] = ['run', 'list-filters', 'certify', 'help', 'version'];

export type StoreKind = 'memory' | 'file';

export interface CliArgs {
	command: Command;
	/** For `help`: the command asked about (`vaio help run`, `vaio run --help`). */
	helpFor?: Command;
	/** `vaio run FILE` */
	scenarioFile?: string;
	/** `--fio JOB.fio`: the workload from a fio job file (one VM, one disk, a stream per job). */
	fioFile?: string;
	/** `--trace FILE`: a block trace replayed on the default VM's disk. */
	trace?: TraceArgs;
	csvOut?: string;
	perfettoOut?: string;
	metricsOut?: string;
	/** `--analytics-out FILE`: the analytics filter's reports as JSON. */
	analyticsOut?: string;
	/** --fio-out: the workload as a fio job file. */
	fioOut?: string;
	/** `--rows N`: completed trace rows the run keeps (run.traceCapacity). */
	rows?: number;
	/** `--chain` as given (parsed by chain.ts against the registry). */
	chain?: string;
	/** `--link URL-or-hash`: the scenario of a share link. */
	link?: string;
	/** `--timing-only`: no data bytes (run.timingOnly). */
	timingOnly: boolean;
	ios?: number;
	seed?: number;
	json: boolean;
	describe: boolean;
	store: StoreKind;
	storeDir?: string;
	/** `vaio certify …` */
	certify?: CertifyArgs;
}

/** `vaio certify FILE.ts | --builtin NAME [--class C] [--param N=V]… [--seed N] [--scale X] [--json]` */
export interface CertifyArgs {
	file?: string;
	builtin?: string;
	/** `--class`: the class to run a class-configurable filter in. */
	cls?: FilterClass;
	/** `--param name=value`, repeatable (checked against the filter's table by certify). */
	params: Record<string, string>;
	seed?: number;
	/** `--scale X`: multiplies every run's I/O count. */
	scale?: number;
	json: boolean;
}

export type TraceFormatArg = 'vscsi' | 'msr' | 'blkparse';
export const TRACE_FORMAT_ARGS: readonly TraceFormatArg[] = ['vscsi', 'msr', 'blkparse'];

export interface TraceArgs {
	file: string;
	/** Undefined: told from the file name. */
	format?: TraceFormatArg;
	timing: 'trace' | 'afap';
	speed: number;
	/** Undefined: the timing's default. */
	iodepth?: number;
	blkparseEvent: 'D' | 'Q';
	/** `--trace-disk ID`: the disk of a multi-disk trace (MSR HOST/DISK or DISK, blkparse MAJ,MIN). */
	disk?: string;
}

const OPTIONS = {
	chain: { type: 'string' },
	link: { type: 'string' },
	'timing-only': { type: 'boolean' },
	fio: { type: 'string' },
	trace: { type: 'string' },
	format: { type: 'string' },
	timing: { type: 'string' },
	speed: { type: 'string' },
	iodepth: { type: 'string' },
	'blkparse-event': { type: 'string' },
	'trace-disk': { type: 'string' },
	'csv-out': { type: 'string' },
	'perfetto-out': { type: 'string' },
	'metrics-out': { type: 'string' },
	'fio-out': { type: 'string' },
	'analytics-out': { type: 'string' },
	rows: { type: 'string' },
	ios: { type: 'string' },
	seed: { type: 'string' },
	json: { type: 'boolean' },
	describe: { type: 'boolean' },
	store: { type: 'string' },
	'store-dir': { type: 'string' },
	builtin: { type: 'string' },
	class: { type: 'string' },
	param: { type: 'string', multiple: true },
	scale: { type: 'string' },
	help: { type: 'boolean', short: 'h' },
	version: { type: 'boolean', short: 'V' }
} as const;

/** Options only `certify` takes. */
const CERTIFY_ONLY = ['builtin', 'class', 'param', 'scale'] as const;

/** Options only `run` takes (list-filters takes --json). */
const RUN_ONLY = ['chain', 'link', 'timing-only', 'fio', 'trace', 'format', 'timing', 'speed', 'iodepth', 'blkparse-event', 'trace-disk', 'csv-out', 'perfetto-out', 'metrics-out', 'analytics-out', 'fio-out', 'rows', 'ios', 'seed', 'describe', 'store', 'store-dir'] as const;
/** Options that only make sense with --trace. */
const TRACE_ONLY = ['format', 'timing', 'speed', 'iodepth', 'blkparse-event', 'trace-disk'] as const;

export const MAX_IOS = 1e10;
export const MAX_SEED = 2 ** 32 - 1;
/** The scenario schema's largest run.traceCapacity. */
export const MAX_TRACE_ROWS = 500_000;

export function parseCliArgs(argv: readonly string[]): CliArgs {
	let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>;
	try {
		parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
	} catch (e) {
		throw new UsageError(parseArgsMessage(e));
	}
	const { values, positionals } = parsed;
	if (values.version) return base('version');

	const [first, ...rest] = positionals;
	if (first === undefined) return base('help');
	if (!COMMANDS.includes(first as Command))
		throw new UsageError(`unknown command "${first}" (commands: ${COMMANDS.join(', ')}; see vaio --help)`);
	const command = first as Command;

	if (command === 'help') {
		if (rest.length > 1) throw new UsageError(`help: too many arguments (${rest.join(' ')})`);
		const about = rest[0];
		if (about !== undefined && !COMMANDS.includes(about as Command))
			throw new UsageError(`help: unknown command "${about}" (commands: ${COMMANDS.join(', ')})`);
		return { ...base('help'), helpFor: about as Command | undefined };
	}
	if (values.help) return { ...base('help'), helpFor: command };
	if (command === 'version') {
		if (rest.length > 0) throw new UsageError(`version: unexpected argument "${rest[0]}"`);
		return base('version');
	}

	if (command === 'list-filters') {
		if (rest.length > 0) throw new UsageError(`list-filters: unexpected argument "${rest[0]}"`);
		for (const k of RUN_ONLY) if (values[k] !== undefined) throw new UsageError(`list-filters: --${k} is an option of "vaio run"`);
		for (const k of CERTIFY_ONLY) if (values[k] !== undefined) throw new UsageError(`list-filters: --${k} is an option of "vaio certify"`);
		return { ...base('list-filters'), json: values.json === true };
	}

	if (command === 'certify') {
		for (const k of RUN_ONLY) if (k !== 'seed' && values[k] !== undefined) throw new UsageError(`certify: --${k} is an option of "vaio run"`);
		return { ...base('certify'), json: values.json === true, certify: certifyArgs(rest, values) };
	}
	for (const k of CERTIFY_ONLY) if (values[k] !== undefined) throw new UsageError(`run: --${k} is an option of "vaio certify"`);

	// run
	if (rest.length > 1) throw new UsageError(`run: one scenario file at most (got ${rest.map((r) => `"${r}"`).join(', ')})`);
	const store = values.store ?? (values['store-dir'] !== undefined ? 'file' : 'memory');
	if (store !== 'memory' && store !== 'file') throw new UsageError(`--store: "${store}" is not memory or file`);
	if (values['store-dir'] !== undefined) {
		if (store !== 'file') throw new UsageError('--store-dir: only with --store file');
		if (values['store-dir'] === '') throw new UsageError('--store-dir: the directory name is empty');
	}
	if (values.chain !== undefined && values.chain.trim() === '')
		throw new UsageError('--chain: empty (give filter names separated by commas, or none)');
	if (rest[0] === '') throw new UsageError('run: the scenario file name is empty');
	if (values.fio !== undefined) {
		if (values.fio === '') throw new UsageError('--fio: the job file name is empty');
		if (rest[0] !== undefined) throw new UsageError(`run: give a scenario file or --fio, not both (got "${rest[0]}" and --fio ${values.fio})`);
		if (values.trace !== undefined) throw new UsageError('run: give --fio or --trace, not both');
	}
	if (values.link !== undefined) {
		if (values.link.trim() === '') throw new UsageError('--link: empty (give the share link or its #s=… part)');
		const other = rest[0] !== undefined ? `"${rest[0]}"` : values.fio !== undefined ? '--fio' : values.trace !== undefined ? '--trace' : undefined;
		if (other) throw new UsageError(`run: give --link or ${other}, not both`);
	}
	let trace: TraceArgs | undefined;
	if (values.trace !== undefined) {
		if (values.trace === '') throw new UsageError('--trace: the trace file name is empty');
		if (rest[0] !== undefined) throw new UsageError(`run: give a scenario file or --trace, not both (got "${rest[0]}" and --trace ${values.trace})`);
		const format = values.format;
		if (format !== undefined && !TRACE_FORMAT_ARGS.includes(format as TraceFormatArg))
			throw new UsageError(`--format: "${format}" is not ${TRACE_FORMAT_ARGS.join(', ')}`);
		const timing = values.timing ?? 'trace';
		if (timing !== 'trace' && timing !== 'afap') throw new UsageError(`--timing: "${timing}" is not trace or afap`);
		const event = values['blkparse-event'] ?? 'D';
		if (event !== 'D' && event !== 'Q') throw new UsageError(`--blkparse-event: "${event}" is not D or Q`);
		if (values['blkparse-event'] !== undefined && format !== undefined && format !== 'blkparse')
			throw new UsageError('--blkparse-event: only with --format blkparse');
		const disk = values['trace-disk']?.trim();
		if (disk === '') throw new UsageError('--trace-disk: empty (give an MSR disk, HOST/DISK or DISK, or a blkparse device, MAJ,MIN)');
		if (values.speed !== undefined && timing === 'afap') throw new UsageError('--speed: only with --timing trace (afap has no clock to scale)');
		trace = {
			file: values.trace,
			format: format as TraceFormatArg | undefined,
			timing,
			speed: values.speed === undefined ? 1 : positive('--speed', values.speed, 1e-6, 1e9),
			iodepth: values.iodepth === undefined ? undefined : integer('--iodepth', values.iodepth, 1, 4096),
			blkparseEvent: event,
			...(disk !== undefined ? { disk } : {})
		};
	} else for (const k of TRACE_ONLY) if (values[k] !== undefined) throw new UsageError(`--${k}: only with --trace`);
	const outs = (['csv-out', 'perfetto-out', 'metrics-out', 'analytics-out', 'fio-out'] as const).filter((k) => values[k] !== undefined);
	for (const k of outs) if (values[k] === '') throw new UsageError(`--${k}: the file name is empty`);
	for (let i = 0; i < outs.length; i++)
		for (let j = i + 1; j < outs.length; j++)
			if (values[outs[i]] === values[outs[j]]) throw new UsageError(`--${outs[i]} and --${outs[j]} name the same file "${values[outs[i]]}"`);
	return {
		command: 'run',
		scenarioFile: rest[0],
		fioFile: values.fio,
		trace,
		csvOut: values['csv-out'],
		perfettoOut: values['perfetto-out'],
		metricsOut: values['metrics-out'],
		analyticsOut: values['analytics-out'],
		fioOut: values['fio-out'],
		rows: values.rows === undefined ? undefined : integer('--rows', values.rows, 1, MAX_TRACE_ROWS),
		chain: values.chain,
		link: values.link,
		timingOnly: values['timing-only'] === true,
		ios: values.ios === undefined ? undefined : integer('--ios', values.ios, 1, MAX_IOS),
		seed: values.seed === undefined ? undefined : integer('--seed', values.seed, 0, MAX_SEED),
		json: values.json === true,
		describe: values.describe === true,
		store,
		storeDir: values['store-dir']
	};
}

function certifyArgs(
	rest: readonly string[],
	values: { builtin?: string; class?: string; param?: string[]; seed?: string; scale?: string; json?: boolean }
): CertifyArgs {
	if (rest.length > 1) throw new UsageError(`certify: one filter file at most (got ${rest.map((r) => `"${r}"`).join(', ')})`);
	const file = rest[0];
	if (file === '') throw new UsageError('certify: the filter file name is empty');
	if (file !== undefined && values.builtin !== undefined)
		throw new UsageError(`certify: give a filter file or --builtin, not both (got "${file}" and --builtin ${values.builtin})`);
	if (file === undefined && values.builtin === undefined)
		throw new UsageError('certify: give a filter file (FILE.ts whose default export is a filter) or --builtin NAME');
	if (values.builtin === '') throw new UsageError('--builtin: the filter name is empty');
	if (values.class !== undefined && !FILTER_CLASSES.includes(values.class as FilterClass))
		throw new UsageError(`--class: "${values.class}" is not one of ${FILTER_CLASSES.join(', ')}`);
	const params: Record<string, string> = {};
	for (const p of values.param ?? []) {
		const eq = p.indexOf('=');
		if (eq <= 0) throw new UsageError(`--param: "${p}" is not NAME=VALUE`);
		const name = p.slice(0, eq).trim();
		if (name in params) throw new UsageError(`--param: "${name}" is given twice`);
		params[name] = p.slice(eq + 1);
	}
	return {
		...(file !== undefined ? { file } : {}),
		...(values.builtin !== undefined ? { builtin: values.builtin } : {}),
		...(values.class !== undefined ? { cls: values.class as FilterClass } : {}),
		params,
		...(values.seed !== undefined ? { seed: integer('--seed', values.seed, 0, MAX_SEED) } : {}),
		...(values.scale !== undefined ? { scale: positive('--scale', values.scale, 1e-3, 100) } : {}),
		json: values.json === true
	};
}

function base(command: Command): CliArgs {
	return { command, json: false, describe: false, store: 'memory', timingOnly: false };
}

/** A decimal integer in [min, max]; "1e4" and "10_000" are accepted too. */
function integer(option: string, text: string, min: number, max: number): number {
	const t = text.trim().replace(/_/g, '');
	const n = /^[+]?(\d+(\.\d*)?|\.\d+)(e[+]?\d+)?$/i.test(t) ? Number(t) : NaN;
	if (!Number.isInteger(n) || n < min || n > max)
		throw new UsageError(`${option}: "${text}" is not an integer from ${min} to ${max}`);
	return n;
}

/** A positive decimal number in [min, max]. */
function positive(option: string, text: string, min: number, max: number): number {
	const t = text.trim();
	const n = /^[+]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/i.test(t) ? Number(t) : NaN;
	if (!(n >= min && n <= max)) throw new UsageError(`${option}: "${text}" is not a number from ${min} to ${max}`);
	return n;
}

/** parseArgs's errors say what is wrong at length, with a code; say it in one short line. */
function parseArgsMessage(e: unknown): string {
	const err = e as { code?: string; message?: string };
	const msg = String(err.message ?? e);
	const opt = /'(?:-\w, )?(--?[\w-]+)/.exec(msg)?.[1];
	if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown option ${/'([^']+)'/.exec(msg)?.[1] ?? msg} (see vaio --help)`;
	if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && opt) {
		if (/ambiguous/.test(msg)) return `${opt}: a value is missing (for a value starting with a dash write ${opt}=-…)`;
		if (/missing/.test(msg)) return `${opt}: a value is missing`;
		if (/does not take/.test(msg)) return `${opt}: takes no value`;
	}
	return msg.split('\n')[0].replace(/\.$/, '');
}
