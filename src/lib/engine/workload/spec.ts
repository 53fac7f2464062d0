/**
 * Workload specs: the default, the presets, validation, and parsers/formatters for fio's string
 * forms (random_distribution=zipf:1.2, bssplit=4k/50:8k/30:64k/20).
 */
import { parseSize, SECTOR_BYTES } from '../io';
import type { BsSplit, RandomDistribution, RwMode, WorkloadSpec } from './types';

export const RW_MODES: readonly RwMode[] = ['read', 'write', 'randread', 'randwrite', 'randrw', 'rw', 'trim', 'randtrim'];

/** Sequential modes walk the region; the others pick offsets with the random distribution. */
export function isSequential(rw: RwMode): boolean {
	return rw === 'read' || rw === 'write' || rw === 'rw' || rw === 'trim';
}

/** 4 KiB random read/write, 70 % reads, queue depth 32, 10,000 I/Os, uniform offsets, no dedupe. */
export function defaultWorkload(): WorkloadSpec {
	return {
		rw: 'randrw',
		bs: 4096,
		iodepth: 32,
		rwmixread: 70,
		offset: 0,
		size: 0,
		ios: 10_000,
		runtimeUs: 0,
		randomDistribution: { kind: 'random' },
		dedupePercentage: 0,
		thinktimeUs: 0,
		rateIops: 0
	};
}

export interface WorkloadPreset {
	id: string;
	name: string;
	/** One sentence for the picker's tooltip. */
	description: string;
	spec: Readonly<WorkloadSpec>;
}

const KiB = 1024;
const MiB = 1024 * 1024;

function preset(id: string, name: string, description: string, over: Partial<WorkloadSpec>): WorkloadPreset {
	return { id, name, description, spec: { ...defaultWorkload(), ...over } };
}

/** Named starting points; take a copy with `workloadFromPreset` before editing. */
export const WORKLOAD_PRESETS: readonly WorkloadPreset[] = [
	preset(
		'oltp',
		'OLTP database',
		'8 KiB random I/O, 70 % reads and 30 % writes at queue depth 16, like a transactional database.',
		{ rw: 'randrw', bs: 8 * KiB, rwmixread: 70, iodepth: 16 }
	),
	preset(
		'vdi-boot-storm',
		'VDI boot storm',
		'Many desktops booting at once: mostly random 4 KiB reads with some 8–64 KiB, at a high queue depth.',
		{
			rw: 'randrw',
			bs: 4 * KiB,
			bssplit: [
				{ bs: 4 * KiB, pct: 70 },
				{ bs: 8 * KiB, pct: 12 },
				{ bs: 16 * KiB, pct: 8 },
				{ bs: 32 * KiB, pct: 5 },
				{ bs: 64 * KiB, pct: 5 }
			],
			rwmixread: 90,
			iodepth: 64
		}
	),
	preset(
		'backup',
		'Backup (sequential read)',
		'A backup job streaming the disk in 1 MiB sequential reads at queue depth 4.',
		{ rw: 'read', bs: 1 * MiB, iodepth: 4, ios: 2048 }
	),
	preset(
		'log-writer',
		'Log writer',
		'A database log: sequential 4–64 KiB writes, one at a time (queue depth 1).',
		{
			rw: 'write',
			bs: 4 * KiB,
			bssplit: [
				{ bs: 4 * KiB, pct: 50 },
				{ bs: 8 * KiB, pct: 25 },
				{ bs: 16 * KiB, pct: 15 },
				{ bs: 64 * KiB, pct: 10 }
			],
			rwmixread: 0,
			iodepth: 1
		}
	),
	preset(
		'zipf-hot-set',
		'Zipf hot set',
		'4 KiB random reads and writes concentrated on a small hot set (zipf:1.2), the case caches are built for.',
		{ rw: 'randrw', bs: 4 * KiB, rwmixread: 70, iodepth: 32, randomDistribution: { kind: 'zipf', theta: 1.2 } }
	),
	preset(
		'clone-farm',
		'Dedup-friendly clone farm',
		'Random writes from cloned VMs where 70 % of the written blocks repeat earlier content.',
		{
			rw: 'randwrite',
			bs: 4 * KiB,
			bssplit: [
				{ bs: 4 * KiB, pct: 40 },
				{ bs: 16 * KiB, pct: 30 },
				{ bs: 64 * KiB, pct: 30 }
			],
			rwmixread: 0,
			iodepth: 16,
			dedupePercentage: 70
		}
	)
];

/** A deep copy of a spec (the presets and callers' specs are never shared). */
export function cloneWorkload(spec: Readonly<WorkloadSpec>): WorkloadSpec {
	const d = spec.randomDistribution;
	const out: WorkloadSpec = { ...spec, randomDistribution: d.kind === 'zoned' ? { kind: 'zoned', zones: d.zones.map((z) => ({ ...z })) } : { ...d } };
	if (spec.bssplit) out.bssplit = spec.bssplit.map((b) => ({ ...b }));
	return out;
}

/** A fresh, editable copy of preset `id`. */
export function workloadFromPreset(id: string): WorkloadSpec {
	const p = WORKLOAD_PRESETS.find((x) => x.id === id);
	if (!p) {
		throw new Error(`unknown workload preset "${id}" (known: ${WORKLOAD_PRESETS.map((x) => x.id).join(', ')})`);
	}
	return cloneWorkload(p.spec);
}

// ---------------------------------------------------------------------------------------------
// Validation

/** Problem with a distribution's parameter, or null. */
export function distributionProblem(d: RandomDistribution): string | null {
	switch (d.kind) {
		case 'random':
			return null;
		case 'zipf':
			// Any finite θ, as fio: 0 is uniform, below 0 the weights grow with the rank (see
			// createOffsetPicker). θ = 1 is fine for the sampler; only fio refuses it (fioDistributionProblem).
			return Number.isFinite(d.theta) ? null : `zipf theta must be a finite number, got ${d.theta}`;
		case 'pareto':
			return d.h > 0 && d.h < 1 ? null : `pareto h must be between 0 and 1 (exclusive), got ${d.h}`;
		case 'normal':
			return d.sigmaPct >= 0 && d.sigmaPct < 100
				? null
				: `normal deviation must be a percentage in [0, 100), got ${d.sigmaPct}`;
		case 'zoned': {
			if (!Array.isArray(d.zones) || d.zones.length === 0) return 'zoned needs at least one zone';
			if (d.zones.length > MAX_ZONES) return `zoned takes at most ${MAX_ZONES} zones, got ${d.zones.length}`;
			let access = 0;
			let size = 0;
			for (const z of d.zones) {
				if (!(z.accessPct >= 0 && z.accessPct <= 100)) return `zoned access percentage must be in [0, 100], got ${z.accessPct}`;
				if (!(z.sizePct > 0 && z.sizePct <= 100)) return `zoned zone size must be a percentage in (0, 100], got ${z.sizePct}`;
				access += z.accessPct;
				size += z.sizePct;
			}
			if (Math.abs(access - 100) > 1e-9) return `zoned access percentages must add up to 100, got ${+access.toFixed(9)}`;
			if (size > 100 + 1e-9) return `zoned zone sizes add up to ${+size.toFixed(9)}, more than 100`;
			return null;
		}
		default:
			return `unknown random distribution ${JSON.stringify(d)}`;
	}
}

/** Problem fio 3.33 has with a distribution the playground accepts (zipf:1), or null. */
export function fioDistributionProblem(d: RandomDistribution): string | null {
	if (d.kind === 'zipf' && d.theta === 1) return 'zipf theta must not be 1: fio refuses zipf:1 (use 0.99 or 1.01)';
	if (d.kind === 'zoned' && d.zones.some((z) => !Number.isInteger(z.accessPct) || !Number.isInteger(z.sizePct)))
		return 'zoned percentages must be whole numbers for fio (it drops the decimals)';
	return distributionProblem(d);
}

function isSectorMultiple(bytes: number): boolean {
	return Number.isInteger(bytes) && bytes % SECTOR_BYTES === 0;
}

/** Every problem with `spec`, as readable sentences (empty when valid). */
export function validateWorkload(spec: WorkloadSpec): string[] {
	const errs: string[] = [];
	const count = (name: string, v: number, min: number) => {
		if (!Number.isInteger(v) || v < min) errs.push(`${name} must be an integer ≥ ${min}, got ${v}`);
	};
	const nonNeg = (name: string, v: number) => {
		if (!(v >= 0) || !Number.isFinite(v)) errs.push(`${name} must be a number ≥ 0, got ${v}`);
	};
	const pct = (name: string, v: number) => {
		if (!(v >= 0 && v <= 100)) errs.push(`${name} must be a percentage in [0, 100], got ${v}`);
	};
	if (!RW_MODES.includes(spec.rw)) errs.push(`rw must be one of ${RW_MODES.join(', ')}, got "${spec.rw}"`);
	if (spec.bssplit && spec.bssplit.length > 0) {
		let total = 0;
		for (const b of spec.bssplit) {
			if (!(b.bs > 0) || !isSectorMultiple(b.bs)) errs.push(`bssplit block size ${b.bs} is not a positive multiple of 512 bytes`);
			if (!(b.pct >= 0 && b.pct <= 100)) errs.push(`bssplit weight for ${b.bs} must be in [0, 100], got ${b.pct}`);
			else total += b.pct;
		}
		if (!(total > 0)) errs.push('bssplit weights add up to 0');
	} else if (!(spec.bs > 0) || !isSectorMultiple(spec.bs)) {
		errs.push(`bs ${spec.bs} is not a positive multiple of 512 bytes`);
	}
	if (spec.blockalign !== undefined && (!(spec.blockalign > 0) || !isSectorMultiple(spec.blockalign))) {
		errs.push(`blockalign ${spec.blockalign} is not a positive multiple of 512 bytes`);
	}
	count('iodepth', spec.iodepth, 1);
	pct('rwmixread', spec.rwmixread);
	if (!(spec.offset >= 0) || !isSectorMultiple(spec.offset)) errs.push(`offset ${spec.offset} is not a multiple of 512 bytes ≥ 0`);
	if (!(spec.size >= 0) || !isSectorMultiple(spec.size)) errs.push(`size ${spec.size} is not a multiple of 512 bytes ≥ 0`);
	count('ios', spec.ios, 0);
	nonNeg('runtimeUs', spec.runtimeUs);
	if (spec.ioSize !== undefined && (!(spec.ioSize > 0) || !isSectorMultiple(spec.ioSize)))
		errs.push(`ioSize ${spec.ioSize} is not a positive multiple of 512 bytes`);
	const dp = spec.randomDistribution ? distributionProblem(spec.randomDistribution) : 'randomDistribution is missing';
	if (dp) errs.push(dp);
	if (spec.randomMap !== undefined && typeof spec.randomMap !== 'boolean') errs.push(`randomMap must be true or false, got ${String(spec.randomMap)}`);
	pct('dedupePercentage', spec.dedupePercentage);
	nonNeg('thinktimeUs', spec.thinktimeUs);
	nonNeg('rateIops', spec.rateIops);
	// seqAdd is ignored by the random modes (so that switching a job's rw on the page keeps it valid).
	if (spec.seqAdd !== undefined && (!Number.isSafeInteger(spec.seqAdd) || spec.seqAdd % SECTOR_BYTES !== 0))
		errs.push(`seqAdd ${spec.seqAdd} is not a multiple of 512 bytes`);
	return errs;
}

// ---------------------------------------------------------------------------------------------
// Stream names

/** The longest name a workload stream (a fio job) may have, in characters. */
export const MAX_STREAM_NAME = 64;

/**
 * What is wrong with `name` as the name of a workload stream, or null. A name is the section name
 * of its fio job, so it follows what fio 3.33 takes as a job name: any printable characters
 * (blanks, brackets, "=" and non-ASCII included), except ";" and "#" (fio cuts every line at them,
 * a [section] line too: the job would be nameless), and not starting with "global" (fio reads such
 * a section as options for the jobs after it). Unlike fio, no blank at either end (the importer
 * drops them), no tabs or other control characters, and at most 64 characters (fio keeps 127
 * bytes of a job name in its reports).
 */
export function streamNameProblem(name: unknown): string | null {
	if (typeof name !== 'string') return 'must be a string (a fio job name)';
	if (name === '') return 'must not be empty (leave the name out for the default vaio, vaio-1, …)';
	if (name.length > MAX_STREAM_NAME) return `must be at most ${MAX_STREAM_NAME} characters, got ${name.length}`;
	if (/[\x00-\x1f\x7f]/.test(name)) return 'must not contain tabs, line breaks or other control characters';
	if (/[;#]/.test(name)) return 'must not contain ";" or "#" (fio reads them as the start of a comment, in a [section] line too)';
	if (name.trim() !== name) return 'must not begin or end with a blank';
	if (name.startsWith('global')) return 'must not start with "global" (fio reads a [global…] section as options for the jobs, not as a job)';
	return null;
}

/** `text` (a file name) made a valid stream name, or undefined when nothing of it is left. */
export function streamNameFrom(text: string): string | undefined {
	let n = text.replace(/[\x00-\x1f\x7f;#]+/g, '_').slice(0, MAX_STREAM_NAME).trim();
	if (n.startsWith('global')) n = `job-${n}`.slice(0, MAX_STREAM_NAME).trim();
	return n === '' ? undefined : n;
}

// ---------------------------------------------------------------------------------------------
// fio string forms

const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?$/i;

function parseNumber(text: string): number | null {
	return NUMBER.test(text) ? Number(text) : null;
}

/**
 * fio's bare `normal` has no added deviation: only the mean of 12 uniforms over the region (a
 * bell of σ ≈ 1/12 of it). `normal:N` widens it (see NormalPicker).
 */
export const DEFAULT_NORMAL_SIGMA_PCT = 0;

/**
 * Parses fio's random_distribution with fio 3.33's limits: `random`, `zipf[:θ]` (any number but 1,
 * default 1.1: fio refuses only θ = 1, so zipf:0 (uniform) and negative θ are accepted),
 * `pareto[:h]` (0 < h < 1, default 0.2), `normal[:dev%]` or `gauss[:dev%]` (0 ≤ dev < 100,
 * default 0). One exception: fio also reads zipf:inf and zipf:-inf (every I/O on one block);
 * they are refused here, as a scenario stores numbers as JSON, which has no infinity.
 */
export function parseRandomDistribution(text: string): RandomDistribution {
	const raw = String(text);
	const fail = (why: string): never => {
		throw new Error(`random_distribution "${raw}": ${why}`);
	};
	const parts = raw.trim().toLowerCase().split(':');
	const name = parts[0];
	if (name === 'zoned') return parseZoned(raw, raw.trim().toLowerCase().slice(name.length), fail);
	if (name === 'zoned_abs') fail('zoned_abs distributions are not supported (use zoned with percentages of the region)');
	if (parts.length > 2) fail(`the distribution centre suffix ":${parts.slice(2).join(':')}" is not supported`);
	const arg = parts.length === 2 ? parts[1].trim() : undefined;
	const value = (what: string, fallback: number): number => {
		if (arg === undefined) return fallback;
		if (arg === '') fail(`missing ${what} after ":"`);
		const v = parseNumber(arg!);
		if (v === null) fail(`${what} "${arg}" is not a number`);
		return v!;
	};
	switch (name) {
		case 'random':
		case 'uniform':
			if (arg !== undefined) fail('random takes no parameter');
			return { kind: 'random' };
		case 'zipf': {
			if (arg !== undefined && /^[+-]?inf(inity)?$/.test(arg))
				fail(`zipf theta must be a finite number, got ${arg} (fio puts every I/O on one block then: a large θ such as zipf:100 does nearly that)`);
			const theta = value('theta', 1.1);
			const fioProblem = fioDistributionProblem({ kind: 'zipf', theta });
			if (fioProblem) fail(fioProblem);
			return { kind: 'zipf', theta };
		}
		case 'pareto': {
			const h = value('h', 0.2);
			if (!(h > 0 && h < 1)) fail(`pareto h must be between 0 and 1 (exclusive), got ${h}`);
			return { kind: 'pareto', h };
		}
		case 'normal':
		case 'gauss': {
			const sigmaPct = value('deviation', DEFAULT_NORMAL_SIGMA_PCT);
			if (!(sigmaPct >= 0 && sigmaPct < 100)) fail(`normal deviation must be a percentage in [0, 100), got ${sigmaPct}`);
			return { kind: 'normal', sigmaPct };
		}
		default:
			return fail(`unknown distribution "${name}" (expected random, zipf:θ, pareto:h, normal:σ% or zoned:A/S:…)`);
	}
}

/** Most zones a zoned distribution may have. */
export const MAX_ZONES = 256;

/**
 * fio 3.33's zoned:A/S:A/S:… (`rest` is what follows "zoned"): A the percentage of the I/Os, S of
 * the region; whole numbers, as fio reads them. A zone without S ("20/", "20" or "20/0") shares what the
 * given sizes leave of 100 with the others without, equally (measured with fio: zoned:50/:50/
 * puts half of the I/O on each half). The A must add up to 100; the S may add up to less (the
 * tail is then never accessed, as in fio). One list: fio 3.33 refuses per-direction lists.
 */
function parseZoned(raw: string, rest: string, fail: (why: string) => never): RandomDistribution {
	if (!rest.startsWith(':')) fail('zoned needs its zones: zoned:ACCESS%/SIZE%:… (for example zoned:50/5:30/15:20/80)');
	// fio takes an empty list as no zones: uniform offsets.
	if (rest.trim() === ':') return { kind: 'random' };
	if (rest.includes(',')) fail('different zones for reads and writes (",") are not supported: give one list');
	const entries = rest.slice(1).split(':');
	if (entries.length > MAX_ZONES) fail(`more than ${MAX_ZONES} zones`);
	const whole = (text: string, what: string, entry: string): number => {
		const t = text.trim();
		if (!/^\d+$/.test(t)) fail(`${what} "${t}" in "${entry}" is not a whole number (fio reads whole percentages)`);
		const v = Number(t);
		if (v > 100) fail(`${what} ${v} in "${entry}" is more than 100`);
		return v;
	};
	const zones: { accessPct: number; sizePct: number | undefined }[] = entries.map((e) => {
		if (e.trim() === '') fail(`empty zone in "${raw}"`);
		const slash = e.indexOf('/');
		const access = whole(slash < 0 ? e : e.slice(0, slash), 'access percentage', e);
		const sizeText = slash < 0 ? '' : e.slice(slash + 1);
		// A missing size or 0 (as in fio) shares what is left.
		const size = sizeText.trim() === '' ? 0 : whole(sizeText, 'zone size', e);
		return { accessPct: access, sizePct: size === 0 ? undefined : size };
	});
	const access = zones.reduce((n, z) => n + z.accessPct, 0);
	if (access !== 100) fail(`access percentages add up to ${access}, not 100`);
	const given = zones.reduce((n, z) => n + (z.sizePct ?? 0), 0);
	if (given > 100) fail(`zone sizes add up to ${given}, more than 100`);
	const missing = zones.filter((z) => z.sizePct === undefined).length;
	if (missing > 0 && given >= 100) fail(`the zone sizes given already add up to ${given}: nothing is left for the zones without one`);
	return { kind: 'zoned', zones: zones.map((z) => ({ accessPct: z.accessPct, sizePct: z.sizePct ?? (100 - given) / missing })) };
}

/** The fio string form of a distribution (round-trips through parseRandomDistribution). */
export function formatRandomDistribution(d: RandomDistribution): string {
	switch (d.kind) {
		case 'random':
			return 'random';
		case 'zipf':
			return `zipf:${d.theta}`;
		case 'pareto':
			return `pareto:${d.h}`;
		case 'normal':
			// Bare `normal` is fio's default (no added deviation).
			return d.sigmaPct === DEFAULT_NORMAL_SIGMA_PCT ? 'normal' : `normal:${d.sigmaPct}`;
		case 'zoned':
			return `zoned:${d.zones.map((z) => `${z.accessPct}/${z.sizePct}`).join(':')}`;
	}
}

/**
 * Parses fio's bssplit: `bs/pct:bs/pct:…` (sizes like 4k, 64k, 1m; binary suffixes). As in fio,
 * entries without a percentage share what is left of 100 equally. The percentages must add up
 * to 100. One list only: the importer picks the list of each direction from fio's READS,WRITES.
 */
export function parseBsSplit(text: string): BsSplit[] {
	const raw = String(text);
	const fail = (why: string): never => {
		throw new Error(`bssplit "${raw}": ${why}`);
	};
	const body = raw.trim();
	if (body === '') fail('empty');
	if (body.includes(',')) fail('separate read/write splits (a comma) are not supported; give one list');
	const out: BsSplit[] = [];
	let given = 0;
	let blanks = 0;
	for (const entry of body.split(':')) {
		const e = entry.trim();
		if (e === '') fail('empty entry (two ":" in a row, or a trailing ":")');
		const slash = e.indexOf('/');
		const sizeText = slash < 0 ? e : e.slice(0, slash);
		const pctText = slash < 0 ? undefined : e.slice(slash + 1).trim();
		let bs = 0;
		try {
			bs = parseSize(sizeText);
		} catch {
			fail(`"${sizeText}" in "${e}" is not a size (examples: 512, 4k, 64k, 1m)`);
		}
		if (!(bs > 0) || bs % SECTOR_BYTES !== 0) fail(`block size "${sizeText}" in "${e}" is not a positive multiple of 512 bytes`);
		let pct = -1;
		if (pctText !== undefined) {
			if (pctText === '') fail(`missing percentage after "/" in "${e}"`);
			const v = parseNumber(pctText);
			if (v === null) fail(`percentage "${pctText}" in "${e}" is not a number`);
			if (!(v! >= 0 && v! <= 100)) fail(`percentage ${v} in "${e}" is outside [0, 100]`);
			pct = v!;
			given += pct;
		} else {
			blanks++;
		}
		out.push({ bs, pct });
	}
	if (given > 100 + PCT_TOLERANCE) fail(`percentages add up to ${round(given)}, more than 100`);
	if (blanks > 0) {
		const share = (100 - given) / blanks;
		for (const b of out) if (b.pct < 0) b.pct = share;
	} else if (Math.abs(given - 100) > PCT_TOLERANCE) {
		fail(`percentages add up to ${round(given)}, not 100`);
	}
	if (!out.some((b) => b.pct > 0)) fail('all percentages are 0');
	return out;
}

// Slack for percentages written with few decimals (33.333:33.333:33.333).
const PCT_TOLERANCE = 0.01;

/** The fio string form of a bssplit (round-trips through parseBsSplit). */
export function formatBsSplit(split: readonly BsSplit[]): string {
	return split.map((b) => `${formatSize(b.bs)}/${round(b.pct)}`).join(':');
}

/** Bytes as fio writes them: 1m, 64k, 512. */
export function formatSize(bytes: number): string {
	if (bytes > 0 && bytes % MiB === 0) return `${bytes / MiB}m`;
	if (bytes > 0 && bytes % KiB === 0) return `${bytes / KiB}k`;
	return String(bytes);
}

function round(x: number): number {
	return Math.round(x * 1e6) / 1e6;
}
