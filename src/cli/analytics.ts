/**
 * `--analytics-out`: the analytics filter's full report per disk (vscsiStats histograms for
 * all/read/write, working set, LBA heat map, miss-ratio curve) as JSON, and a compact text
 * rendering of its histograms for the summary, bucket limits and counts as `vscsiStats -p` prints.
 */
import { analyticsReport, type AnalyticsReport, type AnalyticsState } from '../lib/filters/analytics';
import type { HistogramData, MetricName } from '../lib/filters/analytics/histograms';
import type { Simulation } from '../lib/engine/simulation';
import { binary } from './units';

const FILTER = 'analytics';

/** One disk's analytics report. */
export type DiskAnalytics = { disk: string } & AnalyticsReport;

/** The reports of every disk whose chain has the analytics filter, in disk order. */
export function analyticsReports(sim: Simulation): DiskAnalytics[] {
	const out: DiskAnalytics[] = [];
	for (const d of sim.disks) {
		const f = d.chain.filters.find((x) => x.def.name === FILTER);
		if (f?.state) out.push({ disk: d.key, ...analyticsReport(f.state as AnalyticsState) });
	}
	return out;
}

/** The file --analytics-out writes. */
export function analyticsFile(sim: Simulation): object {
	return { scenario: sim.scenario.name, seed: sim.scenario.seed, disks: analyticsReports(sim) };
}

/**
 * True when some storage policy of the resolved scenario (a disk's, a named one, an operation's)
 * attaches the analytics filter: otherwise --analytics-out would have nothing to write.
 */
export function scenarioHasAnalytics(resolved: unknown): boolean {
	const seen = (x: unknown): boolean => {
		if (Array.isArray(x)) return x.some(seen);
		if (typeof x !== 'object' || x === null) return false;
		const o = x as Record<string, unknown>;
		if (Array.isArray(o.filters) && o.filters.some((f) => (f as { type?: unknown })?.type === FILTER)) return true;
		return Object.values(o).some(seen);
	};
	return seen(resolved);
}

const METRICS: { name: MetricName; title: string; unit: string }[] = [
	{ name: 'ioLength', title: 'I/O length', unit: 'bytes' },
	{ name: 'seekDistance', title: 'seek distance', unit: 'LBNs' },
	{ name: 'outstandingIOs', title: 'outstanding I/Os at arrival', unit: '' },
	{ name: 'latency', title: 'latency', unit: 'µs' },
	{ name: 'interarrival', title: 'interarrival', unit: 'µs' }
];

/** Summary lines: per disk, each histogram of all commands as its non-empty buckets "≤limit:count". */
export function analyticsLines(reports: readonly DiskAnalytics[]): string[] {
	const out: string[] = [];
	for (const r of reports) {
		const ws = r.workingSet;
		out.push(
			`  analytics ${r.disk}: ios=${r.ios} (reads=${r.reads}, writes=${r.writes}), working set=${binary(ws.bytes)} (${ws.blocks} blocks, ${ws.method})`
		);
		for (const m of METRICS) out.push(`    ${m.title}${m.unit ? ` (${m.unit})` : ''}: ${buckets(r.histograms[m.name].all)}`);
	}
	return out;
}

/** "≤4096:2990 ≤8192:10 >524288:1 (n=3001, mean=4.1k)"; empty buckets are left out. */
function buckets(h: HistogramData): string {
	if (h.count === 0) return 'no samples';
	const parts: string[] = [];
	h.counts.forEach((c, k) => {
		if (c === 0) return;
		parts.push(k < h.limits.length ? `≤${h.limits[k]}:${c}` : `>${h.limits[h.limits.length - 1]}:${c}`);
	});
	return `${parts.join(' ')} (n=${h.count}, min=${round(h.min)}, mean=${round(h.mean)}, max=${round(h.max)})`;
}

function round(n: number): string {
	return String(Number.isInteger(n) ? n : Number(n.toFixed(1)));
}
