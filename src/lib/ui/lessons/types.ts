/**
 * Guided scenarios ("lessons"): plain data that sets up a chain and a workload, says what to
 * watch, and carries an expected check that the page shows beside the run and that
 * tests/unit/lessons.test.ts runs against the engine in Node, so every lesson stays true as the
 * engine evolves. Relative imports only: Node (unit and e2e tests) loads these files as they are.
 */
import type { EditableScenario, ChainEntry, WorkloadEntry } from '../editable-scenario';
import type { RunResult } from '../../engine/result';
import type { AnalyticsReport } from '../../filters/analytics';
import type { StorageKind } from '../editable-scenario';

/** A lesson's scenario: the page's editable form, plus timed control operations when it needs them. */
export type LessonScenario = EditableScenario & { operations?: Record<string, unknown>[] };

/** What a check reads: the run's summary, and the analytics filter's report when the chain has one. */
export interface LessonRun {
	result: RunResult;
	analytics?: AnalyticsReport | null;
}

/** A check's verdict and the numbers it measured, in one sentence. */
export interface CheckOutcome {
	ok: boolean;
	detail: string;
}

export interface LessonCheck {
	/** What should happen, in words (shown before the run). */
	text: string;
	run(r: LessonRun): CheckOutcome;
}

export interface CompareCheck {
	text: string;
	run(a: LessonRun, b: LessonRun): CheckOutcome;
}

export interface LessonStep {
	/** What to do or look at. */
	text: string;
	/** Where to look: a Dock tab, a chart or a counter, by name (shown as a tag). */
	watch?: string;
}

/** A Dock tab a lesson opens (the selected view). */
export type LessonView = 'charts' | 'trace' | 'log';

export interface Lesson {
	/** URL id: /?lesson=<id>. */
	id: string;
	title: string;
	/** One sentence for the lessons list. */
	summary: string;
	/** What you'll learn. */
	learn: string[];
	scenario: LessonScenario;
	/** Playback speed, virtual µs per wall ms (Infinity = as fast as possible). */
	speed: number;
	view: LessonView;
	steps: LessonStep[];
	expected: LessonCheck;
	/** The same workload and seed through another chain, for compare mode. */
	compare?: {
		/** Short names of the two sides. */
		a: string;
		b: string;
		scenario: LessonScenario;
		/** The gauge to overlay ("filter.counter" of the live series), with its chart title. */
		gauge?: { key: string; title: string; unit: 'count' | 'us' | 'ratio' | 'bytes' | 'times' };
		expected: CompareCheck;
	};
}

const MiB = 2 ** 20;

/** A workload entry with every field the page edits (the rest as given). */
export function workload(w: Partial<WorkloadEntry> & Pick<WorkloadEntry, 'rw'>): WorkloadEntry {
	return {
		bs: 4096,
		iodepth: 8,
		rwmixread: w.rw.includes('read') && !w.rw.includes('rw') ? 100 : w.rw.includes('write') ? 0 : 70,
		ios: 2000,
		randomDistribution: { kind: 'random' },
		dedupePercentage: 0,
		thinktimeUs: 0,
		rateIops: 0,
		...w
	};
}

/** One host, one VM, one disk: the lesson's chain, datastore and workloads. */
export function scenario(s: {
	name: string;
	description: string;
	seed?: number;
	datastore: StorageKind;
	sizeMiB?: number;
	allowCleartextFilters?: boolean;
	filters: ChainEntry[];
	workload: WorkloadEntry[];
	operations?: Record<string, unknown>[];
}): LessonScenario {
	const out: LessonScenario = {
		version: 1,
		name: s.name,
		description: s.description,
		seed: s.seed ?? 7,
		hosts: [{ name: 'esx-01' }],
		vms: [
			{
				name: 'vm-01',
				host: 'esx-01',
				disks: [
					{
						name: 'disk-0',
						size: (s.sizeMiB ?? 1024) * MiB,
						datastore: { kind: s.datastore, params: {} },
						policy: { name: s.name, allowCleartextFilters: s.allowCleartextFilters ?? false, filters: s.filters },
						workload: s.workload
					}
				]
			}
		]
	};
	if (s.operations) out.operations = s.operations;
	return out;
}

/** The same scenario with changes to its chain (a deep copy; the original is untouched). */
export function variant(base: LessonScenario, change: (s: LessonScenario) => void): LessonScenario {
	const copy = JSON.parse(JSON.stringify(base)) as LessonScenario;
	change(copy);
	return copy;
}

/** The chain of the scenario's one disk. */
export function chainOf(s: LessonScenario): ChainEntry[] {
	return s.vms[0].disks[0].policy.filters;
}

/** A filter's status counters from a run (0 / '' when missing). */
export function stat(r: RunResult, filter: string, key: string): number {
	const v = r.filters[filter]?.[key];
	return typeof v === 'number' ? v : NaN;
}

/** Several conditions, all needed; the detail lists the measured numbers. */
export function all(parts: [ok: boolean, text: string][]): CheckOutcome {
	return { ok: parts.every(([ok]) => ok), detail: parts.map(([, t]) => t).join('; ') };
}

/** µs for people: 47 µs, 40.3 ms, 2.1 s. */
export function us(v: number): string {
	if (!Number.isFinite(v)) return '—';
	if (v >= 1e6) return `${round3(v / 1e6)} s`;
	if (v >= 1000) return `${round3(v / 1000)} ms`;
	return `${round3(v)} µs`;
}

export function round3(v: number): string {
	if (!Number.isFinite(v)) return '—';
	if (v === 0) return '0';
	return String(Number(v.toPrecision(3)));
}

export function pct(v: number): string {
	return `${round3(v * 100)} %`;
}
