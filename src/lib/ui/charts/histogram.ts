/**
 * A vscsiStats histogram as a bar chart: one bar per bucket (values ≤ the bucket's limit and above
 * the previous one; the last bucket takes everything above the last limit), reads and writes
 * stacked, labelled the way vscsiStats' limits read (4K, 100µs, -500k …).
 */
import { max, sum } from 'd3-array';
import { scaleBand, scaleLinear } from 'd3-scale';
import { axisBand, axisLeft, legend, textWidth } from './axes';
import { emptyNote, plotArea, px, type Mark, type Scene } from './scene';
import { fmtCompact, sig3 } from './units';

export type HistogramMetric = 'ioLength' | 'seekDistance' | 'outstandingIOs' | 'latency' | 'interarrival';

export const HISTOGRAM_TITLES: Record<HistogramMetric, string> = {
	ioLength: 'I/O length',
	seekDistance: 'Seek distance (LBNs)',
	outstandingIOs: 'Outstanding I/Os',
	latency: 'Latency',
	interarrival: 'Interarrival time'
};

export interface HistogramInput {
	metric: HistogramMetric;
	/** Upper bucket limits; read and write have limits.length + 1 counts. */
	limits: number[];
	read: number[];
	write: number[];
	width: number;
	height: number;
	title?: string;
}

/** One value of a limit in the metric's unit, short. */
export function limitLabel(metric: HistogramMetric, v: number): string {
	switch (metric) {
		case 'ioLength': {
			// vscsiStats pairs limits such as 4095 and 4096: "<4K" and "4K".
			if (v >= 1024 && (v + 1) % 1024 === 0) return `<${(v + 1) / 1024}K`;
			return v >= 1024 ? `${sig3(v / 1024)}K` : String(v);
		}
		case 'latency':
		case 'interarrival':
			return v >= 1000 ? `${sig3(v / 1000)}ms` : `${v}µs`;
		case 'seekDistance':
			return fmtCompact(v);
		default:
			return String(v);
	}
}

/** A label per bucket: the limits, then ">last" for the overflow bucket. */
export function bucketLabels(metric: HistogramMetric, limits: number[]): string[] {
	const labels = limits.map((v) => limitLabel(metric, v));
	labels.push(`>${limitLabel(metric, limits[limits.length - 1])}`);
	return labels;
}

const MARGIN = { top: 16, right: 8, bottom: 18, left: 40 };

export function histogramChart(input: HistogramInput): Scene {
	const { metric, limits, read, write, width, height } = input;
	const title = input.title ?? HISTOGRAM_TITLES[metric];
	const plot = plotArea(width, height, MARGIN);
	const labels = bucketLabels(metric, limits);
	const totals = labels.map((_, i) => (read[i] ?? 0) + (write[i] ?? 0));
	const count = sum(totals);
	const marks: Mark[] = [];
	if (count === 0) {
		marks.push(emptyNote(width, height, 'No I/O yet'));
		return { width, height, label: `${title} histogram: no I/O yet`, marks, points: 0 };
	}

	const x = scaleBand<string>().domain(labels).range([plot.left, plot.right]).paddingInner(0.18).paddingOuter(0.1);
	const y = scaleLinear()
		.domain([0, max(totals) ?? 1])
		.range([plot.bottom, plot.top])
		.nice(3);
	marks.push(...axisLeft(y, plot, fmtCompact, 3));

	const bw = px(x.bandwidth());
	labels.forEach((label, i) => {
		const r = read[i] ?? 0;
		const w = write[i] ?? 0;
		if (r + w === 0) return;
		const x0 = px(x(label) ?? 0);
		const yr = px(y(r));
		const yw = px(y(r + w));
		const title = `${label}: ${r} read${r === 1 ? '' : 's'}, ${w} write${w === 1 ? '' : 's'}`;
		if (r > 0) marks.push({ kind: 'rect', x: x0, y: yr, w: bw, h: px(plot.bottom - yr), cls: 'bar read', title });
		if (w > 0) marks.push({ kind: 'rect', x: x0, y: yw, w: bw, h: px(yr - yw), cls: 'bar write', title });
	});

	// Label every k-th bucket so that labels do not overlap.
	const widest = max(labels, (l) => textWidth(l)) ?? 20;
	const every = Math.max(1, Math.ceil((widest + 4) / Math.max(1, x.step())));
	marks.push(...axisBand(x, plot, labels, every));
	marks.push(...legend([{ label: 'read', cls: 'read' }, { label: 'write', cls: 'write' }], plot.left, 7));

	let top = 0;
	for (let i = 1; i < totals.length; i++) if (totals[i] > totals[top]) top = i;
	const label = `${title} histogram: ${count} I/Os, ${sum(read)} reads and ${sum(write)} writes; most in bucket ${labels[top]} (${sig3((100 * totals[top]) / count)} %)`;
	const table = {
		caption: `${title} (bucket: values up to the limit)`,
		columns: ['bucket', 'reads', 'writes'],
		rows: labels.map((l, i) => [l, String(read[i] ?? 0), String(write[i] ?? 0)])
	};
	return { width, height, label, marks, table, points: totals.filter((v) => v > 0).length };
}
