/**
 * The certification report: one result per check, each saying what failed, on which I/O (id, op,
 * first sector and length) and at what virtual time, and a plain-text rendering (✓/✗ per check)
 * for the CLI. Everything here is data derived from virtual time: the same filter, options and
 * seed give the same report in Node and in a browser.
 */
import { OP_NAMES } from '../engine/io';

/** The checks, in the order they run and are numbered. */
export const CHECK_IDS = [
	'exactly-once',
	'data-integrity',
	'defer-no-stall',
	'failure-upward',
	'control-events',
	'sidecar-restart',
	'no-blocking'
] as const;
export type CheckId = (typeof CHECK_IDS)[number];

/** An I/O as a report names it. */
export interface IoRef {
	id: number;
	op: string;
	/** First sector (512 B) as the guest (or the filter, for its own I/O) issued it. */
	lba: number;
	sectors: number;
	origin: 'guest' | 'filter';
}

/** One thing a check found: what, on which I/O, when (virtual µs), in which run of the suite. */
export interface Finding {
	message: string;
	io?: IoRef;
	/** Virtual time, µs, in the run named by `run`. */
	t?: number;
	run?: string;
}

export interface CheckResult {
	id: CheckId;
	/** 1-based number in the suite. */
	n: number;
	title: string;
	passed: boolean;
	/** The check could not apply to this filter (e.g. nothing can sit below the bottom class). */
	skipped?: boolean;
	/** One line: what was measured (and, on failure, what went wrong). */
	summary: string;
	/** The summary and the first findings, one per line: what failed, on which I/O, when. */
	detail: string;
	/** Every finding (capped per check), structured. */
	findings: Finding[];
}

/** What the suite's budgets were (all virtual time). */
export interface Budgets {
	/** Blocking time a filter may charge per I/O, on average over the I/O runs (µs). */
	chargePerIoUs: number;
	/** Blocking time one hook call or timer callback may charge (µs). */
	chargePerCallUs: number;
	/** Longest span with deferred I/O held, nothing below the filter and nothing let go (µs). */
	stallUs: number;
	/** Virtual time without any guest completion after which outstanding I/O counts as held forever (µs). */
	quietUs: number;
	/** Virtual time a control operation (drain + every filter's onEvent) may take (µs). */
	controlUs: number;
}

/** A run of the suite, for the report's footer. */
export interface RunSummary {
	name: string;
	guestIos: number;
	/** Virtual time at the end of the run, µs. */
	endUs: number;
	events: number;
	/** How the run ended: finished, or why not. */
	end: string;
}

export interface CertReport {
	filter: { name: string; version: string; vendor: string; class: string; classConfigurable: boolean };
	/** The class the filter ran in (its own, or the one chosen for a configurable filter). */
	cls: string;
	/** The chain the filter was certified in, top (guest side) first. */
	chain: string[];
	params: Record<string, number | boolean | string>;
	seed: number;
	scale: number;
	budgets: Budgets;
	passed: boolean;
	checks: CheckResult[];
	runs: RunSummary[];
}

/** Findings shown in a check's detail text (all are kept in `findings`, up to the cap). */
export const DETAIL_FINDINGS = 6;
/** Findings kept per check. */
export const MAX_FINDINGS = 50;

/** "#12 write lba 4096+8" (guest I/O) or "#12 (filter I/O) write lba 4096+8". */
export function ioText(io: IoRef): string {
	return `#${io.id}${io.origin === 'filter' ? ' (filter I/O)' : ''} ${io.op} lba ${io.lba}+${io.sectors}`;
}

export function opName(op: number): string {
	return OP_NAMES[op] ?? `op${op}`;
}

/** Virtual time for humans: µs below 1 ms, ms below 10 s, else s. */
export function timeText(us: number): string {
	if (!Number.isFinite(us)) return String(us);
	if (Math.abs(us) < 1000) return `${round(us, 1)} µs`;
	if (Math.abs(us) < 10_000_000) return `${round(us / 1000, 3)} ms`;
	return `${round(us / 1e6, 3)} s`;
}

function round(x: number, digits: number): string {
	const s = x.toFixed(digits);
	return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}

/** One finding as a line: "I/O #12 write lba 4096+8 at t=1.5 ms [mixed]: message". */
export function findingText(f: Finding): string {
	const where: string[] = [];
	if (f.io) where.push(`I/O ${ioText(f.io)}`);
	if (f.t !== undefined) where.push(`at t=${timeText(f.t)}`);
	const run = f.run ? ` [${f.run}]` : '';
	return where.length ? `${where.join(' ')}${run}: ${f.message}` : f.message + run;
}

/** The detail text of a check: its summary, then its first findings. */
export function detailText(summary: string, findings: readonly Finding[]): string {
	const lines = [summary, ...findings.slice(0, DETAIL_FINDINGS).map(findingText)];
	if (findings.length > DETAIL_FINDINGS) lines.push(`… and ${findings.length - DETAIL_FINDINGS} more`);
	return lines.join('\n');
}

/** The report as text: a header, ✓/✗ (or – for not applicable) per check with its detail. */
export function formatReport(r: CertReport): string {
	const f = r.filter;
	const out: string[] = [];
	const clsNote = r.cls === f.class ? '' : ` (configurable; declared ${f.class})`;
	out.push(`certify ${f.name} ${f.version} by ${f.vendor}: class ${r.cls}${clsNote}, seed ${r.seed}${r.scale !== 1 ? `, scale ${r.scale}` : ''}`);
	out.push(`  chain: ${r.chain.join(' → ')} → datastore`);
	const params = Object.entries(r.params);
	if (params.length) out.push(`  params: ${params.map(([k, v]) => `${k}=${String(v)}`).join(', ')}`);
	out.push('');
	for (const c of r.checks) {
		const mark = c.skipped ? '–' : c.passed ? '✓' : '✗';
		const [first, ...rest] = c.detail.split('\n');
		out.push(`${mark} ${c.n}. ${c.title}: ${first}`);
		for (const line of rest) out.push(`     ${line}`);
	}
	out.push('');
	const failed = r.checks.filter((c) => !c.passed);
	const applicable = r.checks.filter((c) => !c.skipped).length;
	out.push(
		failed.length === 0
			? `PASSED: ${applicable} of ${applicable} applicable checks passed${applicable < r.checks.length ? ` (${r.checks.length - applicable} not applicable)` : ''}`
			: `FAILED: ${failed.length} of ${r.checks.length} checks failed (${failed.map((c) => c.n).join(', ')})`
	);
	out.push(
		`  runs: ${r.runs.map((x) => `${x.name} ${x.guestIos} I/Os in ${timeText(x.endUs)}${x.end === 'finished' ? '' : ` (${x.end})`}`).join('; ')}`
	);
	return out.join('\n') + '\n';
}
