/**
 * fio job files in and out: `parseFioJob` turns a job file into workload specs (one per job, and
 * one per clone under numjobs), `formatFioJob` writes specs back as a job file fio accepts.
 *
 * The file format follows fio's own parser (init.c, parse.c):
 * - `[name]` starts a job; a section whose name starts with "global" sets defaults for the jobs
 *   after it (a later [global] does not reach back to earlier jobs). Options before the first
 *   section are an error, as in fio. The name is everything between the first "[" and the last
 *   "]" (`[a[1]]` is the job "a[1]", as in fio); it becomes the stream's name in the scenario, so
 *   it must be one (streamNameProblem: no ";" or "#", at most 64 characters, …).
 * - `key=value` or a bare `key` (a flag); blanks around "=" are allowed. A line whose first
 *   non-blank character is `;` or `#` is a comment, and everything after a `;` or `#` on an option
 *   line is dropped (so values cannot contain them).
 * - Sizes: an integer (or 0x hex) with an optional suffix k, m, g, t, p (optionally followed by
 *   b), case-insensitive; binary (k = 1024) unless kb_base=1000. As in fio, the IEC-looking
 *   suffixes (kib, mib, …) mean the *other* base: with the default kb_base=1024, 4KiB is 4000
 *   bytes (fio keeps that for old scripts); with kb_base=1000 they mean 1024ⁿ and k means 1000.
 * - Times: an integer with us/usec, ms/msec, s/sec, m/min, h or d; without a unit runtime is in
 *   seconds and thinktime in microseconds, as in fio. Decimals are refused (fio would silently
 *   read 1.5 as 1).
 *
 * What fio runs and what the playground simulates differ in a few places; each difference that
 * a file touches is reported: `ignored` lists options that do not apply to a simulated disk
 * (ioengine, direct, filename, …), `notes` the accepted options whose effect is built in (verify:
 * every read is always checked), and the random map: without norandommap, uniform random
 * offsets visit each block once per pass (`randomMap`), other distributions draw with
 * replacement (noted),
 * `warnings` the options that shape fio's workload but are not modelled (stonewall, fsync, …) and
 * unknown option names. An unknown name that looks like a misspelt workload option ("iodpeth")
 * is an error, since running without it would run another workload. Anything malformed is a
 * FioParseError whose message is `FILE:LINE: reason`.
 *
 * Regions as fio lays them out: `filesize` (one value) is where the job's file ends, so the region
 * is [offset, filesize) and size, when given, becomes the amount of I/O (capped at the region,
 * as fio 3.33 measured); `fill_device` runs the job to the end of the disk whatever size says.
 * `rw=MODE:N` on a sequential mode is fio's ddir_seq_add (holes, or a backwards walk when N < 0:
 * the spec's seqAdd); on a random mode only ":1" (fio's default) is accepted.
 *
 * Limits (fio's io_size, size, number_ios, runtime, time_based) map onto the spec so that the
 * generator stops where fio would: without time_based, the first of number_ios, runtime and
 * io_size (default: size) ends the job; with time_based the job wraps around its region until
 * number_ios or runtime. One difference remains: fio also stops after one pass over the whole
 * device when neither size nor io_size is given; the generator does so only without number_ios
 * and runtime (the disk's size is not known to the job file).
 */
import { MAX_DISK_BYTES, SECTOR_BYTES } from '../io';
import {
	fioDistributionProblem,
	formatBsSplit,
	formatRandomDistribution,
	isSequential,
	parseBsSplit,
	parseRandomDistribution,
	streamNameProblem,
	validateWorkload
} from './spec';
import type { BsSplit, RandomDistribution, RwMode, WorkloadSpec } from './types';

export interface FioJob {
	/** The section name (or its name= option); clones under numjobs get ".0", ".1", … */
	name: string;
	spec: WorkloadSpec;
}

export interface FioParseResult {
	jobs: FioJob[];
	/** Options that do not apply to a simulated disk, each name once, in order of appearance. */
	ignored: string[];
	/** `FILE:LINE: …` for options that shape fio's workload but are not modelled, and unknown ones. */
	warnings: string[];
	/** Accepted options whose effect is built in or approximated here (verify, randrepeat, …). */
	notes: string[];
	/** The file's randseed (the last one given), reduced to 32 bits: the scenario's seed. */
	seed?: number;
}

/** A job file that cannot be read: `file`, 1-based `line` (0 when the file as a whole is wrong). */
export class FioParseError extends Error {
	override name = 'FioParseError';
	constructor(
		readonly file: string,
		readonly line: number,
		readonly reason: string
	) {
		super(`${file}:${line}: ${reason}`);
	}
}

/** fio's defaults for what a WorkloadSpec holds (fio: rw=read, bs=4k, iodepth=1, rwmixread=50). */
export function fioDefaultSpec(): WorkloadSpec {
	return {
		rw: 'read',
		bs: 4096,
		iodepth: 1,
		rwmixread: 50,
		offset: 0,
		size: 0,
		ios: 0,
		runtimeUs: 0,
		randomDistribution: { kind: 'random' },
		dedupePercentage: 0,
		thinktimeUs: 0,
		rateIops: 0
	};
}

// ---------------------------------------------------------------------------------------------
// Option tables

/** Options that shape the workload and are mapped onto the spec (also the did-you-mean list). */
const SUPPORTED = [
	'rw',
	'readwrite',
	'rwmixread',
	'rwmixwrite',
	'bs',
	'blocksize',
	'bssplit',
	'blocksize_range',
	'bsrange',
	'blockalign',
	'ba',
	'iodepth',
	'numjobs',
	'size',
	'offset',
	'offset_increment',
	'io_size',
	'io_limit',
	'number_ios',
	'runtime',
	'timeout',
	'time_based',
	'random_distribution',
	'randseed',
	'dedupe_percentage',
	'rate_iops',
	'thinktime',
	'fsync',
	'norandommap',
	'kb_base',
	'name',
	'filesize',
	'file_size',
	'fill_device',
	'fill_fs'
] as const;
type Supported = (typeof SUPPORTED)[number];

/** Accepted; the playground always behaves this way. The value is the note (once per file). */
const BUILT_IN: Record<string, string> = {
	verify:
		'verify: every read is checked against what was written, always, whatever verify= says (fio checks only with verify set)',
	do_verify: 'do_verify: reads are always verified here',
	serialize_overlap: 'serialize_overlap: I/Os that overlap one in flight always wait for it here',
	randrepeat: 'randrepeat: runs are always repeatable here (same seed, same trace)',
	allrandrepeat: 'allrandrepeat: runs are always repeatable here (same seed, same trace)',
	random_generator: 'random_generator: the playground has its own seeded generator'
};

/** fio options that do not apply to a simulated disk: listed once in `ignored`. */
const IGNORED = new Set([
	'ioengine', 'direct', 'buffered', 'filename', 'filename_format', 'directory',
	'description', 'group_reporting', 'new_group', 'thread', 'threads', 'cpus_allowed', 'cpus_allowed_policy',
	'cpumask', 'cpuload', 'cpuchunks', 'numa_cpu_nodes', 'numa_mem_policy', 'nice', 'prio', 'prioclass',
	'cmdprio', 'cmdprio_class', 'cmdprio_percentage', 'cmdprio_bssplit', 'ioscheduler', 'lockmem', 'mem',
	'iomem', 'mem_align', 'iomem_align', 'hugepage-size', 'gtod_reduce', 'gtod_cpu', 'clocksource',
	'disable_lat', 'disable_clat', 'disable_slat', 'disable_bw_measurement', 'lat_percentiles',
	'clat_percentiles', 'slat_percentiles', 'percentile_list', 'significant_figures', 'per_job_logs',
	'write_bw_log', 'write_lat_log', 'write_iops_log', 'write_hist_log', 'log_avg_msec', 'log_hist_msec',
	'log_hist_coarseness', 'log_max_value', 'log_offset', 'log_compression', 'log_compression_cpus',
	'log_store_compressed', 'log_unix_epoch', 'log_alternate_epoch', 'log_alternate_epoch_clock_id',
	'log_prio', 'log_issue_time', 'log_entries', 'stats', 'unified_rw_reporting', 'continue_on_error',
	'ignore_error', 'error_dump', 'unit_base', 'fallocate', 'fadvise_hint', 'fadvise_stream',
	'create_serialize', 'create_fsync', 'create_on_open', 'create_only', 'allow_file_create',
	'allow_mounted_write', 'pre_read', 'openfiles', 'lockfile', 'uid', 'gid', 'exec_prerun',
	'exec_postrun', 'invalidate', 'unlink', 'unlink_each_loop', 'overwrite', 'hipri', 'fixedbufs',
	'registerfiles', 'sqthread_poll', 'sqthread_poll_cpu', 'userspace_reap', 'nowait', 'atomic',
	'cgroup', 'cgroup_weight', 'cgroup_nodelete', 'experimental_verify', 'verifysort',
	'verifysort_nr', 'steadystate', 'ss', 'steadystate_duration', 'ss_dur', 'steadystate_ramp_time',
	'ss_ramp', 'steadystate_check_interval', 'ss_interval', 'job_max_open_zones', 'exitall_on_error',
	'trim_verify_zero', 'scramble_buffers', 'zero_buffers', 'buffer_pattern', 'refill_buffers',
	'buffer_compress_percentage', 'buffer_compress_chunk', 'dedupe_mode', 'dedupe_working_set_percentage',
	'dedupe_global', 'sync', 'write_barrier', 'max_latency', 'disk_util', 'rw_sequencer', 'end_fsync', 'fsync_on_close', 'iodepth_batch', 'iodepth_batch_submit',
	'iodepth_batch_complete', 'iodepth_batch_complete_min', 'iodepth_batch_complete_max',
	'iodepth_low', 'io_submit_mode', 'thinktime_spin'
]);
/** Prefixes of ignored option families (verify_pattern, write_iolog_…). */
const IGNORED_PREFIXES = ['verify_', 'log_', 'write_', 'sg_', 'libaio_', 'io_uring_', 'nfs_', 'rbd', 'http_'];

/** fio options that shape the workload but are not modelled: a warning each. */
const NOT_MODELLED: Record<string, string> = {
	stonewall: 'jobs run one after another in fio; here all jobs run at once',
	wait_for: 'jobs run one after another in fio; here all jobs run at once',
	wait_for_previous: 'jobs run one after another in fio; here all jobs run at once',
	startdelay: 'every job starts at time 0 here',
	loops: 'the job runs once here (set io_size to repeat it)',
	fdatasync: 'no flushes are issued between writes here',
	rate: 'bandwidth limits are not modelled (use rate_iops)',
	rate_min: 'minimum rates are not modelled',
	ratemin: 'minimum rates are not modelled',
	rate_iops_min: 'minimum rates are not modelled',
	rate_process: 'rate_iops issues at a fixed interval here (rate_process=linear)',
	rate_ignore_thinktime: 'thinktime always applies here',
	rate_cycle: 'rate averaging is not modelled',
	thinktime_blocks: 'thinktime applies after every I/O here (thinktime_blocks=1)',
	thinktime_blocks_type: 'thinktime applies after every I/O here',
	thinktime_iotime: 'thinktime applies after every I/O here',
	percentage_random: 'a job is either all random or all sequential here',
	bs_unaligned: 'random offsets are aligned to the smallest block size here',
	bs_is_seq_rand: 'block sizes are per job here, not per sequential/random',
	nrfiles: 'one disk per job file here',
	file_service_type: 'one disk per job file here',
	zonemode: 'zones are not modelled',
	zonesize: 'zones are not modelled',
	zonerange: 'zones are not modelled',
	zoneskip: 'zones are not modelled',
	zonecapacity: 'zones are not modelled',
	read_iolog: 'iolog replay is not supported (use a trace: vaio run --trace)',
	replay_redirect: 'iolog replay is not supported',
	replay_no_stall: 'iolog replay is not supported',
	latency_target: 'queue depth is fixed here (no latency-driven depth search)',
	latency_window: 'queue depth is fixed here (no latency-driven depth search)',
	latency_percentile: 'queue depth is fixed here (no latency-driven depth search)',
	trim_percentage: 'trims are not generated',
	trim_backlog: 'trims are not generated',
	trim_backlog_batch: 'trims are not generated',
	rwmixcycle: 'the read/write mix is drawn per I/O here',
	ddir_seq_nr: 'the rw modifier is not supported',
	ddir_seq_add: 'holes between sequential I/Os are not modelled',
	random_distribution_zone: 'zoned distributions are not supported',
	size_increment: 'all clones share one size here',
	exitall: 'every job runs to its own end here (fio stops all jobs of the group when the first one ends)',
	exit_what: 'every job runs to its own end here (fio stops other jobs when this one ends)',
	ramp_time: 'I/O during the ramp is counted here (fio leaves it out of its statistics, then runs the full runtime)',
	flow: 'flow control between jobs is not modelled (fio throttles jobs to keep their I/O in the given ratio)',
	flow_id: 'flow control between jobs is not modelled',
	flow_sleep: 'flow control between jobs is not modelled',
	flow_watermark: 'flow control between jobs is not modelled',
	iodepth_mode: 'queue depth is fixed here (no stepped depth search)'
};

const MAX_NUMJOBS = 256;
const MAX_STREAMS = 1024;
const MAX_BSRANGE_SIZES = 256;
const MAX_LINE_LENGTH = 4096;

// ---------------------------------------------------------------------------------------------
// Parsing

interface Entry {
	key: string;
	value: string | undefined;
	line: number;
}

interface Section {
	name: string;
	line: number;
	/** The globals in force when the section started, then its own options. */
	entries: Entry[];
}

/**
 * Parses a fio job file. Throws FioParseError (`FILE:LINE: reason`) on anything malformed or
 * unsupported; returns the jobs with what was ignored, noted and warned about.
 */
export function parseFioJob(text: string, fileName = 'job.fio'): FioParseResult {
	const out: FioParseResult = { jobs: [], ignored: [], warnings: [], notes: [] };
	const fail = (line: number, reason: string): never => {
		throw new FioParseError(fileName, line, reason);
	};
	if (typeof text !== 'string') fail(0, 'a job file is text');

	const sections: Section[] = [];
	const globals: Entry[] = [];
	let current: Section | null = null;
	let inGlobal = false;
	const lines = text.split(/\r\n|\n|\r/);
	lines.forEach((raw, i) => {
		const lineNo = i + 1;
		if (raw.length > MAX_LINE_LENGTH) fail(lineNo, `line is longer than ${MAX_LINE_LENGTH} characters`);
		let line = raw.replace(/^[\s\uFEFF]+/, '');
		if (line === '' || line[0] === ';' || line[0] === '#') return;
		const ctl = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/.exec(line);
		if (ctl) fail(lineNo, `unexpected control character U+${ctl[0].charCodeAt(0).toString(16).padStart(4, '0')} (is this a job file?)`);
		if (line[0] === '[') {
			// As fio: the line is cut at a comment, and the name is what lies between the first "["
			// and the last "]" (brackets inside are part of it: [a[1]] is the job "a[1]").
			const cut = line.search(/[;#]/);
			const m = /^\[(.*)\]$/.exec((cut >= 0 ? line.slice(0, cut) : line).trimEnd());
			if (!m) fail(lineNo, `a section header is "[name]" alone on its line, got "${clip(line)}"`);
			const name = m![1].trim();
			if (name === '') fail(lineNo, 'empty section name "[]"');
			if (name.length > 255) fail(lineNo, 'section name longer than 255 characters');
			inGlobal = name.startsWith('global');
			current = inGlobal ? null : { name, line: lineNo, entries: [...globals] };
			if (current) sections.push(current);
			return;
		}
		// An option: strip a trailing comment, as fio does.
		const cut = line.search(/[;#]/);
		if (cut >= 0) line = line.slice(0, cut);
		line = line.trimEnd();
		if (line === '') return;
		if (!inGlobal && current === null) fail(lineNo, `option "${clip(line)}" outside of a [section] (start with [global] or [jobname])`);
		const eq = line.indexOf('=');
		const key = (eq < 0 ? line : line.slice(0, eq)).trim().toLowerCase();
		const value = eq < 0 ? undefined : line.slice(eq + 1).trim();
		if (key === '') fail(lineNo, `"${clip(line)}" has no option name before "="`);
		if (/\s/.test(key)) {
			if (key.startsWith('include')) fail(lineNo, 'include is not supported: paste the included options into this file');
			fail(lineNo, `"${clip(line)}" is not "option=value" (a blank inside the option name)`);
		}
		const entry: Entry = { key, value, line: lineNo };
		if (inGlobal) globals.push(entry);
		else current!.entries.push(entry);
	});
	// The last line of the file: a final newline does not start another line.
	const lastLine = Math.max(1, lines.length > 1 && lines[lines.length - 1] === '' ? lines.length - 1 : lines.length);
	if (sections.length === 0)
		fail(lastLine, globals.length > 0 ? 'no job: only [global] options (add a [jobname] section)' : 'no job sections ([jobname] followed by options)');

	const seen = new Set<string>();
	const once = (list: string[], text: string) => {
		if (!seen.has(text)) {
			seen.add(text);
			list.push(text);
		}
	};
	const ctx: JobContext = {
		fileName,
		fail,
		ignore: (key) => once(out.ignored, key),
		warn: (line, msg) => once(out.warnings, `${fileName}:${line}: ${msg}`),
		note: (msg) => once(out.notes, msg),
		seed: (s) => (out.seed = s)
	};
	for (const s of sections) {
		for (const job of buildJob(s, ctx)) {
			if (out.jobs.length >= MAX_STREAMS) fail(s.line, `more than ${MAX_STREAMS} jobs (numjobs included)`);
			out.jobs.push(job);
		}
	}
	return out;
}

interface JobContext {
	fileName: string;
	fail: (line: number, reason: string) => never;
	ignore: (key: string) => void;
	warn: (line: number, message: string) => void;
	note: (message: string) => void;
	seed: (seed: number) => void;
}

/** What one job section says, before it becomes specs. */
interface JobState {
	name: string;
	/** Where the name was given: the section, or its name= option. */
	nameLine: number;
	rw: RwMode;
	rwLine: number;
	rwmixread: number;
	/** The last bs/bsrange entry of the section: the one in force. */
	lastBs: Entry | undefined;
	/** Block size per direction as given (bs or bsrange, whichever came last), and its line. */
	bs: { text: string; line: number; range: boolean } | undefined;
	bssplit: { text: string; line: number } | undefined;
	blockalign: number | undefined;
	iodepth: number;
	numjobs: number;
	size: number;
	offset: number;
	offsetIncrement: number;
	/** Where size, offset and offset_increment were given (for "beyond the largest disk"). */
	where: Partial<Record<'size' | 'offset' | 'offset_increment', { text: string; line: number }>>;
	ioSize: number | undefined;
	ioSizeLine: number;
	ios: number;
	runtimeUs: number;
	timeBased: boolean;
	dist: RandomDistribution;
	distLine: number;
	norandommap: boolean;
	dedupe: number;
	rateIops: { text: string; line: number } | undefined;
	thinktimeUs: number;
	fsync: number;
	/** fio's rw=MODE:N for a sequential mode, bytes (ddir_seq_add). */
	seqAdd: number;
	/** fio's filesize (one value): the file's end, so the region is [offset, filesize). */
	filesize: { bytes: number; text: string; line: number } | undefined;
	/** fio's fill_device: the job runs to the end of the device, whatever size says. */
	fillDevice: number;
}

function buildJob(section: Section, ctx: JobContext): FioJob[] {
	const { fail } = ctx;
	// kb_base is parsed before the other options, as in fio (it changes what sizes mean).
	let kbBase = 1024;
	for (const e of section.entries) {
		if (e.key !== 'kb_base') continue;
		if (e.value !== '1024' && e.value !== '1000') fail(e.line, `kb_base must be 1024 or 1000, got "${e.value ?? ''}"`);
		kbBase = Number(e.value);
	}
	const d = fioDefaultSpec();
	const st: JobState = {
		name: section.name,
		nameLine: section.line,
		rw: d.rw,
		rwLine: section.line,
		rwmixread: d.rwmixread,
		lastBs: section.entries.findLast((e) => ['bs', 'blocksize', 'bsrange', 'blocksize_range'].includes(e.key)),
		bs: undefined,
		bssplit: undefined,
		blockalign: undefined,
		iodepth: d.iodepth,
		numjobs: 1,
		size: 0,
		offset: 0,
		offsetIncrement: 0,
		where: {},
		ioSize: undefined,
		ioSizeLine: section.line,
		ios: 0,
		runtimeUs: 0,
		timeBased: false,
		dist: d.randomDistribution,
		distLine: section.line,
		norandommap: false,
		dedupe: 0,
		rateIops: undefined,
		thinktimeUs: 0,
		fsync: 0,
		seqAdd: 0,
		filesize: undefined,
		fillDevice: 0
	};
	for (const e of section.entries) applyOption(st, e, kbBase, ctx);

	// size becomes the I/O amount when a file size is given or the device is to be filled (as fio:
	// "filesize … overrides size in terms of file size … size becomes the default for io_size").
	const sizeGiven = st.size > 0 ? st.size : undefined;
	let regionAt: (clone: number) => number = () => st.size;
	let ioFromSize = false;
	if (st.fillDevice > 0) {
		if (sizeGiven !== undefined) ctx.warn(st.fillDevice, `fill_device: size=${st.where.size!.text} is overridden: the job writes to the end of the device (one pass), as in fio`);
		if (st.filesize) ctx.warn(st.filesize.line, 'filesize has no effect with fill_device (the job writes to the end of the device)');
		st.size = 0;
		st.where.size = undefined;
	} else if (st.filesize) {
		const fs = st.filesize;
		const region = (clone: number) => {
			const start = st.offset + clone * st.offsetIncrement;
			if (fs.bytes <= start)
				fail(fs.line, `filesize=${fs.text} ends at or before the ${clone > 0 ? `offset of clone ${clone} (offset + ${clone}·offset_increment)` : 'offset'} (${start} bytes): the job has no region`);
			return fs.bytes - start;
		};
		st.size = region(0);
		st.where.size = { text: `${fs.text} (filesize)`, line: fs.line };
		regionAt = region;
		// size, when given, is then how much I/O the job does (capped at the region, as fio measured).
		if (sizeGiven !== undefined && st.ioSize === undefined && !st.timeBased) {
			st.ioSize = Math.min(sizeGiven, st.size);
			ioFromSize = true;
		}
	}

	// Block sizes: bssplit wins over bs and bsrange (as in fio); one size for the directions used.
	const reads = st.rw !== 'write' && st.rw !== 'randwrite' && !((st.rw === 'rw' || st.rw === 'randrw') && st.rwmixread === 0);
	const writes = st.rw !== 'read' && st.rw !== 'randread' && !((st.rw === 'rw' || st.rw === 'randrw') && st.rwmixread === 100);
	let bs = d.bs;
	let bssplit: BsSplit[] | undefined;
	if (st.bssplit) {
		bssplit = bsSplitPerDirection(st.bssplit.text, st.bssplit.line, reads, writes, fail);
	} else if (st.bs) {
		const perDir = perDirection(st.bs.text, st.bs.line, reads, writes, st.bs.range ? 'blocksize_range' : 'bs', fail);
		if (st.bs.range) bssplit = bsRangeSplit(perDir, st.bs.line, kbBase, fail);
		else bs = sizeValue(perDir, st.bs.line, kbBase, 'bs', fail);
	}
	if (st.bssplit && st.bs && !st.bs.range) bs = sizeValue(perDirection(st.bs.text, st.bs.line, reads, writes, 'bs', fail), st.bs.line, kbBase, 'bs', fail);

	let rateIops = 0;
	if (st.rateIops) rateIops = intValue(perDirection(st.rateIops.text, st.rateIops.line, reads, writes, 'rate_iops', fail), st.rateIops.line, kbBase, 'rate_iops', 0, 1e9, fail);

	if (isSequential(st.rw) && st.dist.kind !== 'random')
		ctx.warn(st.distLine, `random_distribution has no effect on the sequential rw=${st.rw}`);

	checkReach(st, fail);

	// fio's default random map (each block once per pass) is modelled for uniform offsets only.
	const random = !isSequential(st.rw);
	const randomMap = random && !st.norandommap && st.dist.kind === 'random';
	if (random && !st.norandommap && st.dist.kind !== 'random')
		ctx.note(
			`random_distribution=${formatRandomDistribution(st.dist)} without norandommap: offsets are drawn with replacement here (fio's random map, which moves a repeated block to a free one, is modelled for the uniform distribution only)`
		);

	// Limits: see the header comment.
	let ioSize: number | undefined;
	if (st.timeBased) {
		if (st.runtimeUs === 0 && st.ios === 0)
			ctx.warn(section.line, 'time_based without runtime or number_ios: the job never ends (fio would run until stopped)');
		if (st.ioSize !== undefined) ctx.warn(st.ioSizeLine, 'io_size has no effect with time_based (the job wraps around its region)');
	} else if (st.ioSize !== undefined && st.ioSize > 0) ioSize = st.ioSize;
	else if (st.size > 0 && (st.ios > 0 || st.runtimeUs > 0)) ioSize = -1; // each clone's region
	if (st.timeBased && st.runtimeUs === 0 && st.ios === 0) fail(section.line, `job "${st.name}": time_based needs runtime or number_ios (the job would never end)`);

	const jobs: FioJob[] = [];
	for (let k = 0; k < st.numjobs; k++) {
		const size = regionAt(k);
		const cloneIoSize = ioSize === -1 ? size : ioSize !== undefined && ioFromSize ? Math.min(sizeGiven!, size) : ioSize;
		const spec: WorkloadSpec = {
			rw: st.rw,
			bs,
			...(bssplit ? { bssplit: bssplit.map((b) => ({ ...b })) } : {}),
			...(st.blockalign !== undefined ? { blockalign: st.blockalign } : {}),
			iodepth: st.iodepth,
			rwmixread: st.rwmixread,
			offset: st.offset + k * st.offsetIncrement,
			size,
			ios: st.ios,
			runtimeUs: st.runtimeUs,
			...(cloneIoSize !== undefined ? { ioSize: cloneIoSize } : {}),
			randomDistribution: { ...st.dist },
			...(randomMap ? { randomMap: true } : {}),
			dedupePercentage: st.dedupe,
			thinktimeUs: st.thinktimeUs,
			rateIops,
			...(st.fsync > 0 ? { fsync: st.fsync } : {}),
			...(st.seqAdd !== 0 ? { seqAdd: st.seqAdd } : {})
		};
		const problems = validateWorkload(spec);
		if (problems.length > 0) fail(section.line, `job "${st.name}": ${problems.join('; ')}`);
		// The job's name becomes its stream's name in the scenario, which takes fewer names than fio.
		const name = st.numjobs > 1 ? `${st.name}.${k}` : st.name;
		const nameProblem = streamNameProblem(name);
		if (nameProblem) fail(st.nameLine, `job name "${clip(name)}" ${nameProblem}`);
		jobs.push({ name, spec });
	}
	return jobs;
}

/**
 * A job that reaches past the largest disk a scenario can have fails here, at the option that
 * takes it there, rather than later at the scenario's disk size (which names no job line).
 */
function checkReach(st: JobState, fail: JobContext['fail']): void {
	const limit = `the largest disk (${MAX_DISK_BYTES / 2 ** 40} TiB)`;
	const at = (key: 'size' | 'offset' | 'offset_increment', extra = '') => {
		const w = st.where[key]!;
		return fail(w.line, `${key}=${w.text}${extra} reaches beyond ${limit}`);
	};
	if (st.offset >= MAX_DISK_BYTES) at('offset');
	if (st.size > MAX_DISK_BYTES) at('size');
	if (st.offset + st.size > MAX_DISK_BYTES) {
		// Both were given: name the one that came last.
		const o = st.where.offset!;
		const z = st.where.size!;
		if (z.line >= o.line) at('size', ` after offset=${o.text}`);
		else at('offset', ` with size=${z.text}`);
	}
	const last = st.offset + (st.numjobs - 1) * st.offsetIncrement;
	if (st.numjobs > 1 && (last >= MAX_DISK_BYTES || last + st.size > MAX_DISK_BYTES))
		at('offset_increment', ` for job ${st.numjobs - 1} of numjobs=${st.numjobs}`);
}

function applyOption(st: JobState, e: Entry, kbBase: number, ctx: JobContext): void {
	const { fail } = ctx;
	const { key, line } = e;
	const need = (): string => {
		if (e.value === undefined || e.value === '') fail(line, `${key} needs a value (${key}=…)`);
		if (/\$\{|\$[a-z_]+/i.test(e.value!))
			fail(line, `${key}=${e.value}: environment variables and $keywords are not expanded here; write the value`);
		if (e.value!.startsWith('(')) fail(line, `${key}=${e.value}: arithmetic expressions are not supported; write the value`);
		return e.value!;
	};
	const flag = (): boolean => {
		if (e.value === undefined) return true;
		if (e.value === '1' || e.value === 'true') return true;
		if (e.value === '0' || e.value === 'false') return false;
		return fail(line, `${key} is a flag: "${key}", "${key}=1" or "${key}=0", got "${key}=${e.value}"`);
	};
	if (key in BUILT_IN) {
		ctx.note(BUILT_IN[key]);
		return;
	}
	if (key in NOT_MODELLED) {
		if (key === 'loops' && e.value !== undefined && e.value.trim() === '1') return;
		if (key === 'thinktime_blocks' && e.value !== undefined && e.value.trim() === '1') return;
		if (key === 'percentage_random' && e.value !== undefined && /^(0|100)(,|$)/.test(e.value.trim())) {
			ctx.warn(line, `percentage_random=${e.value}: set rw to a random or a sequential mode instead (not applied)`);
			return;
		}
		ctx.warn(line, `${key} is not modelled: ${NOT_MODELLED[key]}`);
		return;
	}
	if (IGNORED.has(key) || IGNORED_PREFIXES.some((p) => key.startsWith(p))) {
		ctx.ignore(key);
		return;
	}
	if (!(SUPPORTED as readonly string[]).includes(key)) {
		const near = closest(key);
		if (near) fail(line, `unknown option "${key}" (did you mean ${near}?)`);
		ctx.warn(line, `unknown option "${key}": ignored (not a fio option this importer knows)`);
		return;
	}
	if (kbBase === 1024 && e.value !== undefined && /\d\s*[kmgtp]ib\b/i.test(e.value))
		ctx.warn(line, `${key}=${e.value}: fio reads KiB, MiB, … as powers of 1000 unless kb_base=1000 (its legacy units); k, m, g are powers of 1024`);
	switch (key as Supported) {
		case 'rw':
		case 'readwrite': {
			const v = need().toLowerCase();
			const colon = v.indexOf(':');
			const mode = colon < 0 ? v : v.slice(0, colon);
			st.rw = rwMode(mode, line, fail);
			st.rwLine = line;
			st.seqAdd = 0;
			if (colon >= 0) {
				const mod = v.slice(colon + 1).trim();
				if (isSequential(st.rw)) {
					// fio's ddir_seq_add: a signed size added to the next offset after each I/O.
					const m = /^([+-]?)\s*(.*)$/.exec(mod)!;
					let bytes = 0;
					try {
						bytes = parseFioSize(m[2], kbBase, 'rw', line);
					} catch {
						fail(line, `rw=${v}: "${m[2]}" after ":" is not a size (rw=write:4k leaves a 4k hole after each write, rw=read:-8k reads backwards)`);
					}
					if (bytes % SECTOR_BYTES !== 0) fail(line, `rw=${v}: the ":${mod}" modifier is ${bytes} bytes, not a multiple of 512`);
					st.seqAdd = m[1] === '-' ? -bytes : bytes;
				} else if (!/^0*1$/.test(mod))
					// fio's ddir_seq_nr: runs of N sequential I/Os from a random offset (":1" is plain random).
					fail(line, `rw=${v}: the ":${mod}" modifier (a new random offset only every ${mod} I/Os, sequential in between) is not supported`);
			}
			return;
		}
		case 'rwmixread':
		case 'rwmixwrite': {
			const v = intValue(need(), line, kbBase, key, 0, 100, fail);
			st.rwmixread = key === 'rwmixread' ? v : 100 - v;
			return;
		}
		case 'bs':
		case 'blocksize':
			st.bs = { text: need(), line, range: false };
			// The block size in force is checked here, in file order, so that an error names this
			// line and not a later option's (an earlier bs, overridden, is not checked).
			if (e === st.lastBs) for (const part of st.bs.text.split(',')) if (part.trim() !== '') sizeValue(part.trim(), line, kbBase, key, fail);
			return;
		case 'blocksize_range':
		case 'bsrange':
			st.bs = { text: need(), line, range: true };
			if (e === st.lastBs) for (const part of st.bs.text.split(',')) if (part.trim() !== '') bsRangeSplit(part.trim(), line, kbBase, fail);
			return;
		case 'bssplit':
			st.bssplit = { text: need(), line };
			return;
		case 'blockalign':
		case 'ba': {
			const v = perDirection(need(), line, true, true, key, fail);
			st.blockalign = sizeValue(v, line, kbBase, key, fail);
			return;
		}
		case 'iodepth':
			st.iodepth = intValue(need(), line, kbBase, key, 1, 4096, fail);
			return;
		case 'numjobs':
			st.numjobs = intValue(need(), line, kbBase, key, 1, MAX_NUMJOBS, fail);
			return;
		case 'size':
			st.size = sizeValue(need(), line, kbBase, key, fail);
			st.where.size = { text: e.value!, line };
			return;
		case 'offset':
			st.offset = sizeValue(need(), line, kbBase, key, fail);
			st.where.offset = { text: e.value!, line };
			return;
		case 'offset_increment':
			st.offsetIncrement = sizeValue(need(), line, kbBase, key, fail);
			st.where.offset_increment = { text: e.value!, line };
			return;
		case 'io_size':
		case 'io_limit':
			st.ioSize = sizeValue(need(), line, kbBase, key, fail);
			st.ioSizeLine = line;
			return;
		case 'number_ios':
			st.ios = intValue(need(), line, kbBase, key, 0, 1e10, fail);
			return;
		case 'runtime':
		case 'timeout':
			st.runtimeUs = timeValue(need(), line, 1e6, key, fail);
			return;
		case 'time_based':
			st.timeBased = flag();
			return;
		case 'random_distribution': {
			const v = need();
			try {
				st.dist = parseRandomDistribution(v);
			} catch (err) {
				fail(line, (err as Error).message);
			}
			st.distLine = line;
			return;
		}
		case 'randseed': {
			const v = intValue(need(), line, kbBase, key, 0, Number.MAX_SAFE_INTEGER, fail);
			const seed = v % 2 ** 32;
			if (seed !== v) ctx.note(`randseed: ${v} is reduced to 32 bits (${seed}), the width of the scenario's seed`);
			ctx.seed(seed);
			return;
		}
		case 'dedupe_percentage':
			st.dedupe = intValue(need(), line, kbBase, key, 0, 100, fail);
			return;
		case 'rate_iops':
			st.rateIops = { text: need(), line };
			return;
		case 'thinktime':
			st.thinktimeUs = timeValue(need(), line, 1, key, fail);
			return;
		case 'fsync':
			st.fsync = intValue(need(), line, kbBase, key, 0, 1e9, fail);
			return;
		case 'norandommap':
			st.norandommap = flag();
			return;
		case 'kb_base':
			return; // read first, above
		case 'filesize':
		case 'file_size': {
			const v = need();
			// A range (fio picks each file's size in it) is not modelled: the file's size is unknown.
			if (/^[^-:]+[-:][^-:]+$/.test(v.trim())) {
				st.filesize = undefined;
				ctx.warn(line, `${key}=${v}: a range of file sizes is not modelled (fio picks one per file); the region is size (or the disk)`);
				return;
			}
			st.filesize = { bytes: sizeValue(v, line, kbBase, key, fail), text: v, line };
			if (st.filesize.bytes === 0) fail(line, `${key}=${v}: must be > 0`);
			return;
		}
		case 'fill_device':
		case 'fill_fs':
			st.fillDevice = flag() ? line : 0;
			return;
		case 'name':
			st.name = need();
			st.nameLine = line;
			return;
	}
}

function rwMode(v: string, line: number, fail: JobContext['fail']): RwMode {
	switch (v) {
		case 'read':
		case 'write':
		case 'randread':
		case 'randwrite':
		case 'randrw':
		case 'rw':
			return v;
		case 'readwrite':
			return 'rw';
		case 'trim':
		case 'randtrim':
			return v;
		case 'trimwrite':
		case 'randtrimwrite':
			return fail(line, `rw=${v}: trim-then-write workloads are not supported (trim and randtrim are)`);
		default:
			return fail(line, `rw=${v}: not a mode (read, write, randread, randwrite, rw/readwrite, randrw, trim, randtrim)`);
	}
}

/**
 * fio's per-direction values (`4k,64k` = reads 4k, writes 64k; an empty part keeps the default):
 * the playground has one value per job, so the parts for the directions the job uses must agree.
 */
function perDirection(text: string, line: number, reads: boolean, writes: boolean, key: string, fail: JobContext['fail']): string {
	if (!text.includes(',')) return text;
	const parts = text.split(',').map((s) => s.trim());
	const r = parts[0] ?? '';
	const w = parts.length > 1 ? parts[1] : r;
	const used = [...(reads ? [r] : []), ...(writes ? [w] : [])].filter((p) => p !== '');
	const distinct = [...new Set(used)];
	if (distinct.length > 1)
		fail(line, `${key}=${text}: different values for reads and writes are not supported (give one value)`);
	if (distinct.length === 0) fail(line, `${key}=${text}: no value for the directions this job uses`);
	return distinct[0];
}

/**
 * fio's bssplit=READS,WRITES (one list: both). As for bs=4k,64k, the job takes the list of each
 * direction it uses, and the lists must agree when it uses both (a stream has one split).
 */
function bsSplitPerDirection(text: string, line: number, reads: boolean, writes: boolean, fail: JobContext['fail']): BsSplit[] {
	const parse = (part: string): BsSplit[] => {
		try {
			return parseBsSplit(part);
		} catch (e) {
			return fail(line, (e as Error).message);
		}
	};
	if (!text.includes(',')) return parse(text);
	const parts = text.split(',').map((p) => p.trim());
	// Every list is checked, also one this job does not use, as fio does.
	const lists = parts.map((p) => (p === '' ? undefined : parse(p)));
	const r = lists[0];
	const w = parts.length > 1 ? lists[1] : r;
	const used = [...(reads ? [r] : []), ...(writes ? [w] : [])].filter((l): l is BsSplit[] => l !== undefined);
	if (used.length === 0) fail(line, `bssplit=${text}: no list for the directions this job uses`);
	if (used.length > 1 && JSON.stringify(used[0]) !== JSON.stringify(used[1]))
		fail(line, `bssplit=${text}: different splits for reads and writes are not supported in a job that does both (give one list)`);
	return used[0];
}

const SIZE_SUFFIX = /^(0x[0-9a-f]+|\d+)\s*([a-z%]*)$/i;

/** A fio size (see the header comment for the suffixes); throws FioParseError at `line`. */
export function parseFioSize(text: string, kbBase = 1024, what = 'size', line = 0, fileName = 'job.fio'): number {
	const fail = (reason: string): never => {
		throw new FioParseError(fileName, line, reason);
	};
	const t = text.trim();
	if (/^\d*\.\d/.test(t)) fail(`${what}=${t}: decimals are not allowed (fio ignores everything from the "." on, units included); write an integer with a smaller unit`);
	const m = SIZE_SUFFIX.exec(t);
	if (!m) fail(`${what}=${t}: not a size (examples: 4096, 4k, 64k, 1m, 20g)`);
	const n = m![1].toLowerCase().startsWith('0x') ? parseInt(m![1], 16) : Number(m![1]);
	const suffix = m![2].toLowerCase();
	if (suffix === '%') fail(`${what}=${t}: a percentage of the device is not supported; give a size`);
	const pow: Record<string, number> = { '': 0, k: 1, m: 2, g: 3, t: 4, p: 5 };
	let base = kbBase;
	let letter = suffix;
	if (/^[kmgtp]ib$/.test(suffix)) {
		letter = suffix[0];
		base = kbBase === 1024 ? 1000 : 1024; // fio's legacy units: the IEC-looking suffix is the other base
	} else if (/^[kmgtp]b$/.test(suffix)) letter = suffix[0];
	else if (!(suffix in pow)) fail(`${what}=${t}: unknown unit "${m![2]}" (k, m, g, t, p, optionally followed by b or ib)`);
	const v = n * base ** pow[letter];
	if (!Number.isSafeInteger(v)) fail(`${what}=${t}: too large`);
	return v;
}

function sizeValue(text: string, line: number, kbBase: number, what: string, fail: JobContext['fail']): number {
	let v = 0;
	try {
		v = parseFioSize(text, kbBase, what, line);
	} catch (e) {
		fail(line, (e as FioParseError).reason ?? (e as Error).message);
	}
	if (v % SECTOR_BYTES !== 0)
		fail(
			line,
			`${what}=${text} is ${v} bytes, not a multiple of 512` +
				(kbBase === 1024 && /[kmgtp]ib/i.test(text) ? ' (fio reads KiB as 1000 bytes unless kb_base=1000; write k for 1024)' : '')
		);
	return v;
}

function intValue(text: string, line: number, kbBase: number, what: string, min: number, max: number, fail: JobContext['fail']): number {
	let v = 0;
	try {
		v = parseFioSize(text, kbBase, what, line);
	} catch (e) {
		fail(line, ((e as FioParseError).reason ?? (e as Error).message).replace('not a size (examples: 4096, 4k, 64k, 1m, 20g)', 'not an integer'));
	}
	if (v < min || v > max) fail(line, `${what}=${text}: must be from ${min} to ${max}`);
	return v;
}

/** A fio time in µs; `unitUs` is what a bare number means (runtime: seconds, thinktime: µs). */
function timeValue(text: string, line: number, unitUs: number, what: string, fail: JobContext['fail']): number {
	const t = text.trim();
	if (/^\d*\.\d/.test(t)) fail(line, `${what}=${t}: decimals are not allowed (fio ignores everything from the "." on, units included); use a smaller unit`);
	const m = /^(\d+)\s*([a-z]*)$/i.exec(t);
	if (!m) fail(line, `${what}=${t}: not a time (examples: 30, 500ms, 10s, 2m, 250us)`);
	const units: Record<string, number> = { us: 1, usec: 1, ms: 1e3, msec: 1e3, s: 1e6, sec: 1e6, m: 60e6, min: 60e6, h: 3600e6, d: 86400e6 };
	const u = m![2].toLowerCase();
	if (u !== '' && !(u in units)) fail(line, `${what}=${t}: unknown unit "${m![2]}" (us, ms, s, m, h, d)`);
	const v = Number(m![1]) * (u === '' ? unitUs : units[u]);
	if (!Number.isSafeInteger(v) || v > 1e13) fail(line, `${what}=${t}: too long`);
	return v;
}

/**
 * fio's blocksize_range as a bssplit: fio draws min + max·u (u uniform in [0, 1)), rounds down to
 * a multiple of min and clamps to max, so each multiple of min up to max is equally likely when
 * max is a multiple of min.
 */
function bsRangeSplit(text: string, line: number, kbBase: number, fail: JobContext['fail']): BsSplit[] {
	const m = /^([^:-]+)[-:]([^:-]+)$/.exec(text.trim());
	if (!m) fail(line, `blocksize_range=${text}: expected MIN-MAX (for example 4k-64k)`);
	let lo = sizeValue(m![1], line, kbBase, 'blocksize_range', fail);
	let hi = sizeValue(m![2], line, kbBase, 'blocksize_range', fail);
	if (lo > hi) [lo, hi] = [hi, lo];
	if (lo === 0) fail(line, `blocksize_range=${text}: the minimum must be > 0`);
	const weights = new Map<number, number>();
	// Raw values [lo, lo + hi): bucket k covers [k·lo, (k+1)·lo).
	for (let k = 1; k * lo < lo + hi; k++) {
		const from = k * lo;
		const to = Math.min((k + 1) * lo, lo + hi);
		const size = Math.min(k * lo, hi);
		weights.set(size, (weights.get(size) ?? 0) + (to - from));
		if (weights.size > MAX_BSRANGE_SIZES)
			fail(line, `blocksize_range=${text} spans more than ${MAX_BSRANGE_SIZES} block sizes; raise the minimum or use bssplit`);
	}
	// Clamped values above hi land on hi, which may not be a multiple of lo.
	return [...weights].map(([bs, w]) => ({ bs, pct: Math.round((w / hi) * 100 * 1e6) / 1e6 }));
}

/** The supported option closest to an unknown name, when it looks like a typo of it. */
function closest(key: string): string | undefined {
	if (key.length < 3) return undefined;
	let best: string | undefined;
	let bestD = Infinity;
	for (const s of SUPPORTED) {
		const d = editDistance(key, s);
		if (d < bestD) {
			bestD = d;
			best = s;
		}
	}
	return bestD <= (key.length <= 5 ? 1 : 2) ? best : undefined;
}

/** Optimal string alignment distance: insertions, deletions, substitutions, adjacent swaps. */
function editDistance(a: string, b: string): number {
	const d: number[][] = [];
	for (let i = 0; i <= a.length; i++) {
		d.push([i]);
		for (let j = 1; j <= b.length; j++) {
			if (i === 0) {
				d[0].push(j);
				continue;
			}
			let v = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
			if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2][j - 2] + 1);
			d[i].push(v);
		}
	}
	return d[a.length][b.length];
}

function clip(s: string): string {
	return s.length > 60 ? `${s.slice(0, 57)}…` : s;
}

// ---------------------------------------------------------------------------------------------
// Formatting

export interface FioFormatOptions {
	/** A comment line at the top. */
	title?: string;
	/** Written as randseed (the scenario's seed). */
	seed?: number;
	/**
	 * The simulated disk's size: written as filesize in each job that covers the whole disk (size
	 * 0), so that fio has a file as large as the disk (a size-0 job reads back as size = diskBytes
	 * − offset, the same region).
	 */
	diskBytes?: number;
	/** The file fio should run against (default vaio-disk.img, a file fio creates). */
	filename?: string;
}

/** The [job] name of a disk's k-th stream in an exported job file (the page's and the CLI's). */
export function exportedJobName(k: number): string {
	return k === 0 ? 'vaio' : `vaio-${k}`;
}

/**
 * A fio job file for the given workloads (one [job] each, named by its name, else by
 * exportedJobName). parseFioJob(formatFioJob(x)) gives x back for every spec fio can express; values it cannot (fractional µs, IOPS or percentages) are
 * rounded, with a comment saying so. A distribution fio refuses (zipf:1, normal:100) throws a
 * RangeError naming the job.
 */
export function formatFioJob(jobs: readonly ({ name?: string; spec: WorkloadSpec } | WorkloadSpec)[], options: FioFormatOptions = {}): string {
	const out: string[] = [];
	out.push(`; ${oneLine(options.title ?? 'VAIO Playground workload')}`);
	out.push('; Exported by the VAIO Playground as a fio job file. Point filename at the device or file');
	out.push('; to test. The playground verifies every read; for fio to do so too, add verify=crc32c.');
	out.push('[global]');
	out.push('ioengine=libaio');
	out.push('direct=1');
	out.push(`filename=${oneLine(options.filename ?? 'vaio-disk.img').replace(/[;#]/g, '_')}`);
	if (options.seed !== undefined) out.push(`randseed=${Math.trunc(options.seed)}`);
	const d = fioDefaultSpec();
	jobs.forEach((j, i) => {
		const spec = 'spec' in j ? j.spec : j;
		const name = ('spec' in j ? j.name : undefined) ?? exportedJobName(i);
		out.push('');
		out.push(`[${sectionName(name, i)}]`);
		const int = (key: string, v: number, unit = '') => {
			const r = Math.round(v);
			if (r !== v) out.push(`; ${key} rounded from ${v}`);
			out.push(`${key}=${r}${unit}`);
		};
		out.push(`rw=${spec.rw}${spec.seqAdd && isSequential(spec.rw) ? `:${spec.seqAdd < 0 ? '-' : ''}${fioBytes(Math.abs(spec.seqAdd))}` : ''}`);
		if (spec.rw === 'rw' || spec.rw === 'randrw' || spec.rwmixread !== d.rwmixread) int('rwmixread', spec.rwmixread);
		const split = spec.bssplit && spec.bssplit.length > 0 ? spec.bssplit : undefined;
		if (!split || spec.bs !== d.bs) out.push(`bs=${fioBytes(spec.bs)}`);
		if (split) out.push(`bssplit=${formatBsSplit(split)}`);
		if (spec.blockalign !== undefined) out.push(`blockalign=${fioBytes(spec.blockalign)}`);
		if (spec.iodepth !== d.iodepth) int('iodepth', spec.iodepth);
		if (spec.offset !== 0) out.push(`offset=${fioBytes(spec.offset)}`);
		if (spec.size !== 0) out.push(`size=${fioBytes(spec.size)}`);
		// A job over the whole disk: fio needs the file's size. filesize ends the job's region at the
		// file's end, so it is written only here: with size, fio's region would become
		// [offset, filesize) and size only the amount of I/O (fio creates or extends the file to
		// offset + size by itself).
		else if (options.diskBytes !== undefined && options.diskBytes > 0) out.push(`filesize=${fioBytes(options.diskBytes)}`);
		if (spec.ioSize !== undefined) out.push(`io_size=${fioBytes(spec.ioSize)}`);
		if (spec.ios !== 0) int('number_ios', spec.ios);
		if (spec.runtimeUs !== 0) out.push(`runtime=${fioTime(Math.round(spec.runtimeUs))}`);
		if (spec.runtimeUs !== 0 && Math.round(spec.runtimeUs) !== spec.runtimeUs) out.push(`; runtime rounded from ${spec.runtimeUs}us`);
		if (spec.ioSize === undefined && (spec.ios > 0 || spec.runtimeUs > 0)) out.push('time_based');
		// Never write a file fio refuses (zipf:1, normal:100, …): say which job is wrong instead.
		const distProblem = fioDistributionProblem(spec.randomDistribution);
		if (distProblem) throw new RangeError(`job "${sectionName(name, i)}": ${distProblem}`);
		if (spec.randomDistribution.kind !== 'random')
			out.push(`random_distribution=${formatRandomDistribution(spec.randomDistribution)}`);
		// Without the random map the playground draws with replacement: fio's norandommap.
		if (!isSequential(spec.rw) && !(spec.randomMap === true && spec.randomDistribution.kind === 'random')) out.push('norandommap');
		if (spec.dedupePercentage !== 0) int('dedupe_percentage', spec.dedupePercentage);
		if (spec.rateIops !== 0) int('rate_iops', spec.rateIops);
		if (spec.thinktimeUs !== 0) int('thinktime', spec.thinktimeUs);
		if (spec.fsync) int('fsync', spec.fsync);
	});
	return out.join('\n') + '\n';
}

/** µs the way fio reads a time: 10s, 250ms, 75us ("m" would be minutes). */
function fioTime(us: number): string {
	if (us % 1e6 === 0) return `${us / 1e6}s`;
	if (us % 1e3 === 0) return `${us / 1e3}ms`;
	return `${us}us`;
}

/** Bytes the way fio reads them with kb_base=1024: 20g, 64k, 512. */
function fioBytes(bytes: number): string {
	const units: [string, number][] = [
		['p', 2 ** 50],
		['t', 2 ** 40],
		['g', 2 ** 30],
		['m', 2 ** 20],
		['k', 2 ** 10]
	];
	for (const [u, n] of units) if (bytes > 0 && bytes % n === 0) return `${bytes / n}${u}`;
	return String(bytes);
}

/**
 * The [section] name fio reads back as `name`: a stream name (see streamNameProblem) as it is;
 * anything else made one (fio would cut it at ";" or "#", or read "global…" as [global]).
 */
function sectionName(name: string, i: number): string {
	let n = oneLine(name).replace(/[;#]/g, '_').trim();
	if (n === '') n = `stream${i}`;
	if (n.startsWith('global')) n = `job-${n}`;
	return n.slice(0, 255);
}

function oneLine(s: string): string {
	return s.replace(/[\r\n\x00-\x1f]+/g, ' ');
}
