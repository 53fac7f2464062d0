/**
 * `vaio`: runs scenarios headless in Node over the same engine as the page.
 *
 *   vaio run [SCENARIO.json] [--chain NAME,…] [--ios N] [--seed N] [--json] [--store memory|file]
 *   vaio run --fio JOB.fio [--chain NAME,…] …
 *   vaio run --trace FILE [--format vscsi|msr|blkparse] [--timing trace|afap] [--chain NAME,…] …
 *   vaio list-filters [--json]
 *   vaio certify FILE.ts | --builtin NAME [--json]
 *
 * Exit codes: 0 success, 1 verification found a mismatch or an I/O error reached the guest,
 * 2 bad input (one line on stderr naming the file, field and reason), 3 internal error.
 */
import { LinkError, decodeLink } from '../lib/links/codec';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { builtinRegistry } from '../lib/filters/index';
import { defaultScenario, parseScenario, ScenarioError, type RunResult } from '../lib/engine/index';
import { FILTER_CLASSES, type FilterDef, type ParamSpec } from '../lib/engine/filter';
import { ParamError } from '../lib/engine/params';
import { FilterRegistrationError } from '../lib/engine/registry';
import { FileStoreFactory } from '../lib/engine/storage/file';
import { MAX_TRACE_ROWS, parseCliArgs, UsageError, type CliArgs, type Command, type TraceArgs } from './args';
import { ExportFiles } from './exports';
import { applyOverrides, chainScenario, parseChain, type ChainFilter } from './chain';
import { JsonSyntaxError, parseJson } from './json-error';
import { formatSummary } from './summary';
import { analyticsLines, analyticsReports, scenarioHasAnalytics } from './analytics';
import { certifyCommand, CERTIFY_HELP } from './certify';
import { FioParseError, parseFioJob, type FioParseResult } from '../lib/engine/workload/fio';
import { fioScenario, fioScenarioError, fioSummaryLines } from './workloads';
import { FioOutError, fioJobText } from './fio-out';
import { DEFAULT_TRACE_IODEPTH, scanTrace, traceReport, traceScenario, traceStreams, traceSummaryLines, type TraceRunOptions } from './traces';
import {
	TraceDiskError,
	TraceFormatError,
	traceFormatFromName,
	traceReaderOptions as readerOptionsFor,
	type TraceFormat,
	type TraceReaderOptions,
	type TraceSummary
} from '../lib/engine/workload/traces/index';
import { Simulation } from '../lib/engine/simulation';
import { runResult } from '../lib/engine/result';

export const EXIT_OK = 0;
export const EXIT_VERIFY = 1;
export const EXIT_BAD_INPUT = 2;
export const EXIT_INTERNAL = 3;

/** Bad input found while running `vaio run`: `where` is the file (or --chain, --store-dir). */
class InputError extends Error {
	constructor(
		readonly where: string,
		message: string
	) {
		super(message);
	}
}

export async function main(argv: readonly string[]): Promise<number> {
	let args: CliArgs;
	try {
		args = parseCliArgs(argv);
	} catch (e) {
		if (e instanceof UsageError) return badInput(e.message);
		throw e;
	}
	switch (args.command) {
		case 'help':
			process.stdout.write(helpText(args.helpFor));
			return EXIT_OK;
		case 'version':
			process.stdout.write(`vaio ${version()}\n`);
			return EXIT_OK;
		case 'list-filters':
			return listFilters(args);
		case 'certify':
			return certifyCommand(args.certify!);
		case 'run':
			return run(args);
	}
}

async function run(args: CliArgs): Promise<number> {
	const file = args.scenarioFile;
	const where = file ?? (args.link !== undefined ? '--link' : undefined) ?? args.fioFile ?? args.trace?.file ?? (args.chain !== undefined ? '--chain' : 'default scenario');
	let tempDir: string | undefined;
	let fio: FioParseResult | undefined;
	let exports: ExportFiles | undefined;
	let trace: { options: TraceRunOptions; summary: TraceSummary; streams: ReturnType<typeof traceStreams> } | undefined;
	try {
		const registry = builtinRegistry();
		const chain: ChainFilter[] | undefined = args.chain !== undefined ? parseChain(args.chain, registry) : undefined;
		let input: unknown;
		if (file !== undefined) input = readScenario(file);
		else if (args.link !== undefined) input = linkScenario(args.link, chain);
		else if (args.fioFile !== undefined) {
			fio = parseFioJob(readText(args.fioFile), args.fioFile);
			input = fioScenario(fio, args.fioFile, chain);
		} else if (args.trace !== undefined) {
			const options = traceRunOptions(args);
			const summary = scanTraceFile(options);
			if (summary.records === 0)
				throw new InputError(options.file, `no I/O records in this ${options.format} trace${summary.skipped ? ` (${summary.skipped} records carry no disk I/O)` : ''}`);
			trace = { options, summary, streams: traceStreams(options) };
			input = traceScenario(options, summary, chain, undefined);
		} else input = chain !== undefined ? chainScenario(chain) : defaultScenario();
		input = applyOverrides(input, { chain: file !== undefined ? chain : undefined, ios: args.ios, seed: args.seed });
		const wantsTrace = args.csvOut !== undefined || args.perfettoOut !== undefined;
		const rows = args.rows ?? (wantsTrace && trace ? autoTraceRows(trace.summary.records, args.ios) : undefined);
		if (rows !== undefined) input = withTraceRows(input, rows);
		if (args.timingOnly) input = withRun(input, { timingOnly: true });
		if (fio) {
			parseScenario(input); // bad input is one line on stderr: validate before the warnings
			for (const w of fio.warnings) process.stderr.write(`vaio: warning: ${w}\n`);
		}

		if (args.describe) {
			const resolved = parseScenario(input);
			process.stdout.write(JSON.stringify(resolved, null, 2) + '\n');
			return EXIT_OK;
		}

		// Told before the run (and before the file is created), not after it as an empty report.
		if (args.analyticsOut !== undefined && !scenarioHasAnalytics(parseScenario(input)))
			throw new InputError(
				`--analytics-out ${args.analyticsOut}`,
				'no disk has the analytics filter, so there is no report to write (add it: --chain analytics,… or a policy filter of type "analytics")'
			);

		if (args.fioOut !== undefined) {
			if (trace) throw new InputError(`--fio-out ${args.fioOut}`, 'a trace replay has no generated workload to export as a fio job file');
			let text: string;
			try {
				text = fioJobText(parseScenario(input));
			} catch (e) {
				if (!(e instanceof FioOutError)) throw e;
				throw new InputError(`--fio-out ${args.fioOut}`, e.message);
			}
			try {
				fs.writeFileSync(args.fioOut, text);
			} catch (e) {
				throw new InputError(`--fio-out ${args.fioOut}`, fsReason(e));
			}
		}

		let stores: FileStoreFactory | undefined;
		if (args.store === 'file') {
			const dir = args.storeDir ?? (tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vaio-')));
			try {
				fs.mkdirSync(dir, { recursive: true });
				fs.accessSync(dir, fs.constants.W_OK);
			} catch (e) {
				throw new InputError(`--store-dir ${dir}`, fsReason(e));
			}
			stores = new FileStoreFactory(dir);
			stores.wipe(); // the guest's expected state starts empty, so the disks must too
		}

		try {
			exports = new ExportFiles({ csv: args.csvOut, perfetto: args.perfettoOut, metrics: args.metricsOut, analytics: args.analyticsOut });
		} catch (e) {
			const x = e as Error & { option: string; file: string; cause: unknown };
			throw new InputError(`${x.option} ${x.file}`, fsReason(x.cause));
		}

		const t0 = performance.now();
		const streams = trace ? new Map([[TRACE_DISK, trace.streams.factory]]) : undefined;
		const sim = await Simulation.create(input, { registry, stores, streams });
		await sim.run();
		const result = runResult(sim);
		const ms = performance.now() - t0;
		const wall = { ms, iops: ms > 0 ? result.ios / (ms / 1000) : 0 };
		const store = args.store === 'file' ? `file:${args.storeDir ?? 'temporary'}` : 'memory';
		const report = trace ? traceReport(trace.options, trace.summary, trace.streams.stream(), sim.disks[0].info.sectors * 512) : undefined;
		const source = {
			...(fio ? { fio: { file: args.fioFile, jobs: fio.jobs.map((j) => j.name), ignored: fio.ignored, warnings: fio.warnings, notes: fio.notes } } : {}),
			...(report ? { trace: report } : {})
		};
		const exported = exports.write(sim, { ...result, store, wall, ...source });
		if (exported.rows?.truncated)
			process.stderr.write(
				`vaio: note: the exported trace holds the last ${exported.rows.count} of the ${exported.rows.completed} I/Os (the trace ring); keep more with --rows N (at most ${MAX_TRACE_ROWS})\n`
			);
		const extra = { ...source, ...(Object.keys(exported.files).some((k) => exported.files[k as keyof typeof exported.files] !== undefined) ? { exports: exported } : {}) };
		if (args.json) process.stdout.write(JSON.stringify({ ...result, store, wall, ...extra }, null, 2) + '\n');
		else {
			let text = formatSummary(result, wall, store);
			if (fio) text += fioSummaryLines(fio, args.fioFile!).join('\n') + '\n';
			if (report) text += traceSummaryLines(report).join('\n') + '\n';
			for (const l of analyticsLines(analyticsReports(sim))) text += l + '\n';
			process.stdout.write(text);
		}
		return failed(result) ? EXIT_VERIFY : EXIT_OK;
	} catch (e) {
		if (e instanceof UsageError) return badInput(e.message);
		if (e instanceof FioParseError) return badInput(e.message);
		if (e instanceof TraceFormatError) return badInput(`${where}: ${e.message}`);
		if (fio && e instanceof ScenarioError) {
			const msg = fioScenarioError(e, fio, args.fioFile!);
			if (msg) return badInput(msg);
		}
		if (e instanceof InputError) return badInput(`${e.where}: ${e.message}`);
		if (e instanceof JsonSyntaxError) return badInput(`${where}: ${e.message}`);
		if (e instanceof ScenarioError || e instanceof ParamError || e instanceof FilterRegistrationError)
			return badInput(`${where}: ${e.message}`);
		throw e;
	} finally {
		exports?.close();
		trace?.streams.close();
		if (tempDir !== undefined) fs.rmSync(tempDir, { recursive: true, force: true });
	}
}

/**
 * Trace rows to keep when a replay's trace is exported: the whole replay, up to 200,000 rows
 * (≈ 70 MB); beyond that, the last 200,000 unless --rows asks for more.
 */
function autoTraceRows(records: number, ios: number | undefined): number | undefined {
	const n = Math.min(records, ios ?? Infinity);
	return n > 65_536 ? Math.min(n, 200_000) : undefined;
}

/** Sets run.traceCapacity of a scenario as written. */
function withTraceRows(input: unknown, rows: number): unknown {
	return withRun(input, { traceCapacity: rows });
}

/** The scenario with fields of its `run` section set. */
function withRun(input: unknown, fields: Record<string, unknown>): unknown {
	if (typeof input !== 'object' || input === null || Array.isArray(input)) return input;
	const s = input as Record<string, unknown>;
	const run = typeof s.run === 'object' && s.run !== null && !Array.isArray(s.run) ? s.run : {};
	return { ...s, run: { ...run, ...fields } };
}

/** The scenario a share link carries (the page's links, the same codec). */
function linkScenario(link: string, chain: ChainFilter[] | undefined): unknown {
	try {
		const state = decodeLink(link);
		return chain !== undefined ? applyOverrides(state.scenario, { chain }) : state.scenario;
	} catch (e) {
		if (e instanceof LinkError) throw new InputError('--link', e.message);
		throw e;
	}
}

/** The replayed disk: the default scenario's one VM and disk. */
const TRACE_DISK = 'vm-01/disk-0';

function traceRunOptions(args: CliArgs): TraceRunOptions {
	const t = args.trace!;
	const format = t.format ?? traceFormatFromName(t.file);
	if (format === undefined)
		throw new UsageError(`--trace ${t.file}: give --format vscsi, msr or blkparse (the file name does not tell)`);
	if (t.format === undefined && format !== 'blkparse' && t.blkparseEvent !== 'D')
		throw new UsageError('--blkparse-event: only with a blkparse trace');
	return {
		file: t.file,
		format,
		reader: traceReaderOptions(format, t),
		timing: t.timing,
		speed: t.speed,
		iodepth: t.iodepth ?? DEFAULT_TRACE_IODEPTH[t.timing],
		maxRecords: args.ios
	};
}

/** The reader's options from --blkparse-event and --trace-disk (checked against the format). */
function traceReaderOptions(format: TraceFormat, t: TraceArgs): TraceReaderOptions {
	try {
		return readerOptionsFor(format, t.disk, t.blkparseEvent);
	} catch (e) {
		if (e instanceof TraceDiskError) throw new UsageError(`--trace-disk: ${e.message}`);
		throw e;
	}
}

/** The first pass over the trace, with file errors told as bad input. */
function scanTraceFile(o: TraceRunOptions): TraceSummary {
	try {
		fs.accessSync(o.file, fs.constants.R_OK);
		if (fs.statSync(o.file).isDirectory()) throw Object.assign(new Error('directory'), { code: 'EISDIR' });
	} catch (e) {
		throw new InputError(o.file, fsReason(e));
	}
	return scanTrace(o);
}

/** A run fails when any read returned other bytes than were written, or any I/O failed. */
export function failed(r: RunResult): boolean {
	return r.verify.mismatches > 0 || r.errors.count > 0;
}

function readText(file: string): string {
	try {
		return fs.readFileSync(file, 'utf8');
	} catch (e) {
		throw new InputError(file, fsReason(e));
	}
}

function readScenario(file: string): unknown {
	const input = parseJson(readText(file));
	if (typeof input !== 'object' || input === null || Array.isArray(input))
		throw new InputError(file, `a scenario is a JSON object, not ${Array.isArray(input) ? 'an array' : input === null ? 'null' : `a ${typeof input}`}`);
	return input;
}

function fsReason(e: unknown): string {
	switch ((e as NodeJS.ErrnoException).code) {
		case 'ENOENT':
			return 'no such file';
		case 'EISDIR':
			return 'is a directory, not a file';
		case 'ENOTDIR':
			return 'not a directory';
		case 'EACCES':
		case 'EPERM':
			return 'permission denied';
		case 'EROFS':
			return 'read-only file system';
		default:
			return (e as Error).message ?? String(e);
	}
}

function badInput(message: string): number {
	process.stderr.write(`vaio: ${message.replace(/\s*\n\s*/g, ' ')}\n`);
	return EXIT_BAD_INPUT;
}

// ---- list-filters ----

function listFilters(args: CliArgs): number {
	const registry = builtinRegistry();
	const defs = registry.names().map((n) => registry.get(n)!);
	if (args.json) {
		const list = defs.map((d) => ({
			name: d.name,
			class: d.class,
			classConfigurable: d.classConfigurable === true,
			version: d.version,
			vendor: d.vendor,
			description: d.description,
			params: d.params,
			devices: d.devices ?? {}
		}));
		process.stdout.write(JSON.stringify(list, null, 2) + '\n');
		return EXIT_OK;
	}
	process.stdout.write(filterTable(defs));
	return EXIT_OK;
}

function filterTable(defs: FilterDef[]): string {
	const sorted = [...defs].sort(
		(a, b) => FILTER_CLASSES.indexOf(a.class) - FILTER_CLASSES.indexOf(b.class) || a.name.localeCompare(b.name)
	);
	const out: string[] = [];
	out.push(
		...table(
			['NAME', 'CLASS', 'VERSION', 'DESCRIPTION'],
			sorted.map((d) => [d.name, d.class + (d.classConfigurable ? '*' : ''), d.version, d.description])
		)
	);
	out.push('', `* class is configurable: give one in --chain as NAME:CLASS (classes: ${FILTER_CLASSES.join(', ')})`);
	for (const d of sorted) {
		out.push('', `${d.name} ${d.version} (${d.class}${d.classConfigurable ? ', configurable' : ''}) by ${d.vendor}`);
		out.push(`  ${d.description}`);
		if (d.devices && Object.keys(d.devices).length)
			out.push(`  devices: ${Object.entries(d.devices).map(([role, s]) => `${role}=${s.kind}`).join(', ')}`);
		if (d.params.length === 0) out.push('  params: none');
		else
			out.push(
				...table(
					['PARAM', 'TYPE', 'DEFAULT', 'RANGE/CHOICES', 'UNIT', 'HELP'],
					d.params.map((p) => [p.name, p.type, String(p.default), range(p), p.unit ?? '', p.help])
				).map((l) => '  ' + l)
			);
	}
	return out.join('\n') + '\n';
}

function range(p: ParamSpec): string {
	switch (p.type) {
		case 'int':
		case 'number':
			return p.min === undefined && p.max === undefined ? '' : `${p.min ?? '-∞'}..${p.max ?? '∞'}`;
		case 'enum':
			return p.choices.join('|');
		case 'string':
			return p.maxLength !== undefined ? `≤ ${p.maxLength} chars` : '';
		case 'bool':
			return 'true|false';
	}
}

function table(header: string[], rows: string[][]): string[] {
	const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
	const line = (r: string[]) =>
		r
			.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i])))
			.join('  ')
			.trimEnd();
	return [line(header), ...rows.map(line)];
}

// ---- help and version ----

export function version(): string {
	try {
		const pkg = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
		return pkg.version ?? 'unknown';
	} catch {
		return 'unknown';
	}
}

const EXIT_CODES = `Exit codes:
  0  success
  1  verification found a mismatch, or an I/O error reached the guest
  2  bad input: one line on stderr naming the file, field and reason
  3  internal error (please report it)`;

function helpText(about?: Command): string {
	if (about === 'run') return RUN_HELP;
	if (about === 'certify') return CERTIFY_HELP;
	if (about === 'list-filters')
		return `Usage: vaio list-filters [--json]

Lists the registered filters: name, class, version, description and parameter table.
  --json   the same as one JSON array
`;
	return `vaio ${version()}: VAIO Playground on the command line. Simulates vSphere APIs for I/O
Filtering with real bytes and a deterministic virtual clock.

Usage:
  vaio run [SCENARIO.json] [--chain NAME,NAME…] [--ios N] [--seed N] [--json]
  vaio run --fio JOB.fio [--chain NAME,NAME…] [--json]
  vaio run --trace FILE [--format vscsi|msr|blkparse] [--timing trace|afap] [--chain …]
  vaio list-filters [--json]
  vaio certify FILE.ts | --builtin NAME [--param N=V]… [--json]
  vaio help [COMMAND]       (or COMMAND --help)
  vaio --version

Run "vaio help run" for the options of run, "vaio help certify" for the certification suite.

${EXIT_CODES}
`;
}

const RUN_HELP = `Usage: vaio run [SCENARIO.json] [options]

Runs a scenario to the end and prints a fio-like summary. Without SCENARIO.json it runs the
default scenario: one VM, one 20 GiB NVMe disk, a pass-through filter, 4 KiB random 70/30
read/write at queue depth 32, 10000 I/Os, seed 42.

Options:
  --chain NAME,NAME…   filters for the disk, registered names (see vaio list-filters), put in
                       VAIO class order; "none" for no filters. A filter whose class is
                       configurable takes one as NAME:CLASS (passthrough:cache). One filter per
                       class. Without SCENARIO: the default scenario's one VM and one disk with
                       this chain. With SCENARIO: the chain REPLACES the policy filters of every
                       disk of every VM (their params and devices from the file are dropped; the
                       policy's allowCleartextFilters is kept). For filter params use a file.
  --fio JOB.fio        the workload from a fio job file instead of a scenario: the default VM
                       and disk (20 GiB, or as large as the jobs reach), one stream per job
                       (numjobs clones included), the chain from --chain (default:
                       passthrough), the seed from randseed. [global] sections, comments, fio's
                       size and time units and the options that shape a workload are read
                       (rw=read:-8k and rw=write:4k, filesize, fill_device and
                       random_distribution=zoned included);
                       options that do not apply (ioengine, direct, filename, …) are listed as
                       ignored; options not modelled (stonewall, exitall, ramp_time, flow, …)
                       and unknown ones are warnings on stderr; a malformed file is exit 2 with
                       FILE:LINE
  --trace FILE         replay a block trace on the default VM's disk, sized to hold every sector
                       the trace touches, with the chain from --chain (default: passthrough).
                       The file is streamed (read in chunks, twice: to size the disk, then to
                       replay). ios in the summary counts the trace's I/O records replayed
  --format F           the trace's format: vscsi (VMware vscsiStats binary, v1 or v2 records),
                       msr (SNIA MSR Cambridge CSV, with or without its header line) or
                       blkparse (blkparse's default text, with its statistics at the end, -s
                       per program too); default: from the file name (.vscsi, .csv,
                       .blkparse/.blktrace/.txt). blkparse RWBS: W (and ZA, zone append) a
                       write, R a read, D a discard (unmap), FN or F without sectors a flush, a
                       leading F with data (preflush) a flush then the write; N and zone
                       management (ZR, ZF, ZO, ZC) are skipped, counted with their reason
  --timing trace|afap  trace (default): each record is issued at its time in the trace;
                       afap: as fast as possible, whenever the queue has room
  --speed N            with --timing trace: replay N times faster (0.5: half speed)
  --iodepth N          I/Os the replay keeps in flight at most (default 64 for afap, 1024 for
                       trace timing)
  --blkparse-event D|Q which blkparse events to replay: D (default; dispatched to the device,
                       after merging: what a virtual disk sees) or Q (queued, before merging)
  --trace-disk ID      the disk to replay from a trace of several: an MSR disk as HOST/DISK
                       (hm/1) or its number (1), a blkparse device as MAJ,MIN (8,16); default:
                       the first one in the file. The others' records are counted as other disks.
                       A disk the file lacks, or a number several hosts have, is exit 2 (the
                       page's Replay trace lists a file's disks to choose from)
  --ios N              every workload issues N I/Os (its runtimeUs is cleared); a trace replay
                       stops after N records
  --csv-out FILE       write the per-I/O trace as CSV: id, disk, op, origin, job, lba, sectors,
                       issuedAt, doneAt, latency, deviceStart, deviceDone, deferredUs, status,
                       endedBy, and per filter name, down/up in/out times and verdicts (µs);
                       job is the fio job that issued a guest I/O: its stream's name (a
                       scenario's workload[].name; with --fio the [job] name), in a --trace
                       replay the trace file's name, else vaio, vaio-1, … as --fio-out names
                       unnamed streams; empty for filter I/O
  --perfetto-out FILE  write the per-I/O trace as Chrome Trace Event JSON for ui.perfetto.dev:
                       a process per disk, a track per filter, one for the guest and one for
                       the device; each I/O a slice on each track it passed, with the time a
                       filter held it (deferred) inside; guest slices named by their fio job
  --metrics-out FILE   write the summary as JSON (what --json prints)
  --fio-out FILE       write the first disk's workload as a fio job file (one [job] per stream,
                       randseed from the scenario, filesize = the disk for whole-disk
                       jobs) that fio accepts, then run
  --analytics-out FILE write the analytics filter's report per disk that has it as JSON:
                       vscsiStats histograms (I/O length, seek distance, outstanding I/Os,
                       latency, interarrival; each for all, reads, writes: bucket limits and
                       counts), working set, LBA heat map and miss-ratio curve. Without the
                       analytics filter in any chain it is exit 2. The summary shows the
                       histograms of all commands whenever the analytics filter ran
  --rows N             completed I/Os the trace ring keeps for the exports (1..500000; default
                       the scenario's run.traceCapacity, 65536, or a whole trace replay up to
                       200000). Older rows are dropped: the exports say how many they hold
  --link URL           run the scenario of a share link (the page's URL, or its #s=… part);
                       the same scenario and seed give the same trace digest as the page
  --timing-only        no data bytes: filters that support it (cache, analytics, delay, flaky,
                       passthrough) model metadata and time only; nothing is verified. For
                       millions of I/Os of a large trace
  --seed N             the scenario's seed (0..4294967295); same seed, same trace digest
  --json               print one JSON object instead of the summary: ios, iops, mbps,
                       latencyUs {p50,p90,p99,p999,mean,max}, ops, verify {reads, mismatches,
                       firstMismatch}, errors, filters (status counters), traceDigest, wall,
                       timingOnly, elapsedUs (what IOPS are over), endUs (when the run ended,
                       after any background work), streams (per fio job / workload stream: ios,
                       iops, mbps, latency per op), traceRows and traceRowsHeld (what the
                       exports hold), …
  --store memory|file  where the disks' bytes live (default memory)
  --store-dir DIR      the file store's directory (implies --store file; its disks/ and
                       sidecars/ are wiped first and kept after the run). Without it, --store
                       file uses a temporary directory that is removed afterwards.
  --describe           print the resolved scenario (defaults filled in, sizes in bytes) as JSON
                       and exit without running
  -h, --help           this help

Examples:
  vaio run
  vaio run --chain passthrough:cache,delay --ios 2000 --seed 7
  vaio run scenarios/my.json --chain none --json
  vaio run scenarios/my.json --store-dir /tmp/vaio-disks
  vaio run --fio randrw.fio --chain cache
  vaio run --trace cloudPhysicsIO.vscsi --chain cache --timing afap
  vaio run --chain cache --ios 5000 --perfetto-out run.json --csv-out run.csv
  vaio run --fio jobs.fio --chain analytics,cache --analytics-out analytics.json

${EXIT_CODES}
`;

/** Runs main and sets the exit code; an unexpected error is exit 3 with a hint to report it. */
export async function cli(argv: readonly string[]): Promise<void> {
	process.stdout.on('error', (e: NodeJS.ErrnoException) => {
		if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0); // `vaio run | head`
		throw e;
	});
	try {
		process.exitCode = await main(argv);
	} catch (e) {
		const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
		process.stderr.write(`vaio: internal error: ${msg.replace(/\s*\n\s*/g, ' ')}\n`);
		if (process.env.VAIO_DEBUG && e instanceof Error && e.stack) process.stderr.write(e.stack + '\n');
		else process.stderr.write('vaio: this is a bug; please report it with the command line and the scenario (VAIO_DEBUG=1 prints the stack)\n');
		process.exitCode = EXIT_INTERNAL;
	}
}

await cli(process.argv.slice(2));
