/**
 * A line (and area) chart over virtual time: one or more series sharing an x of virtual µs and a
 * y that starts at 0, with axes in the series' unit and a legend. Observable Plot style: a
 * function of data and size that returns a scene.
 */
import { max, min, mean } from 'd3-array';
import { scaleLinear } from 'd3-scale';
import { area, curveLinear, curveStepBefore, line } from 'd3-shape';
import { axisBottom, axisLeft, legend } from './axes';
import { durationFormat, fmtValue, tickFormat, type Unit } from './units';
import { emptyNote, plotArea, px, type Mark, type Scene } from './scene';

export interface LineSeries {
	key: string;
	label: string;
	values: number[];
	/** Class naming its colour (read, write, total, p50, p99, a, b …). */
	cls: string;
	/** Also fill the area under the line. */
	area?: boolean;
	dashed?: boolean;
}

export interface TimeSeriesInput {
	title: string;
	/** x of every point, virtual µs (ascending). */
	t: number[];
	series: LineSeries[];
	unit: Unit;
	width: number;
	height: number;
	/** Fixed top of the y axis (e.g. 1 for ratios); otherwise from the data. */
	yMax?: number;
	/** Start of the x axis (e.g. 0: the run's start); otherwise the first point. */
	xMin?: number;
	/**
	 * Each point is the value over the window since the previous point (rates): drawn as steps,
	 * the first one from xMin. Otherwise points are samples, joined by straight lines.
	 */
	windows?: boolean;
	/**
	 * Moments to mark on the time axis (the cluster's control operations and faults): a dashed
	 * vertical line each, labelled where there is room. The axis reaches the latest one.
	 */
	markers?: TimeMarker[];
}

export interface TimeMarker {
	/** Virtual µs. */
	t: number;
	label: string;
}

const MARGIN = { top: 16, right: 10, bottom: 18, left: 44 };

export function timeSeriesChart(input: TimeSeriesInput): Scene {
	const { t, series, unit, width, height, title } = input;
	const plot = plotArea(width, height, MARGIN);
	const n = t.length;
	const marks: Mark[] = [];
	if (n === 0 || series.length === 0) {
		marks.push(emptyNote(width, height));
		return { width, height, label: `${title}: no data yet`, marks, points: 0 };
	}

	const t0 = Math.min(input.xMin ?? t[0], t[0]);
	const markers = (input.markers ?? []).filter((m) => Number.isFinite(m.t) && m.t >= t0);
	const tEnd = Math.max(t[n - 1], ...markers.map((m) => m.t));
	const t1 = tEnd > t0 ? tEnd : t0 + 1;
	const x = scaleLinear().domain([t0, t1]).range([plot.left, plot.right]);
	let top = input.yMax ?? (max(series, (s) => max(s.values.filter(Number.isFinite))) ?? 0);
	// Counts below 4 would get fractional ticks (0.2 blocks): show 0–4 instead.
	if (unit === 'count' && top < 4) top = 4;
	const y = scaleLinear()
		.domain([0, top > 0 ? top : 1])
		.range([plot.bottom, plot.top])
		.nice(4);
	const yTop = y.domain()[1];

	marks.push(...axisLeft(y, plot, tickFormat(unit, yTop), 4));
	marks.push(...axisBottom(x, plot, durationFormat(t1), Math.max(2, Math.floor((plot.right - plot.left) / 70))));

	const curve = input.windows ? curveStepBefore : curveLinear;
	for (const s of series) {
		const pts = s.values.map((v, i) => [t[i], v] as const);
		// A window's value holds from the previous point: the first window starts at the axis.
		if (input.windows && t0 < t[0]) pts.unshift([t0, s.values[0]]);
		const def = (p: readonly [number, number]) => Number.isFinite(p[1]);
		if (s.area) {
			const a = area<readonly [number, number]>()
				.defined(def)
				.x((p) => x(p[0]))
				.y0(plot.bottom)
				.y1((p) => y(p[1]))
				.curve(curve)
				.digits(2);
			marks.push({ kind: 'path', d: a(pts) ?? '', cls: `area ${s.cls}` });
		}
		const l = line<readonly [number, number]>()
			.defined(def)
			.x((p) => x(p[0]))
			.y((p) => y(p[1]))
			.curve(curve)
			.digits(2);
		marks.push({ kind: 'path', d: l(pts) ?? '', cls: `line ${s.cls}${s.dashed ? ' dashed' : ''}` });
	}

	// Operation markers: a line each, and a label where it does not run into the previous one;
	// markers whose labels would overlap share one (the latest operation's name, "+n" the others).
	const labelWidth = (text: string) => text.length * 5.6 + 4;
	const place = (mx: number, text: string) => {
		const w = labelWidth(text);
		return mx + 2 + w > plot.right ? { x0: mx - 2 - w, x1: mx - 2, anchor: 'end' as const } : { x0: mx + 2, x1: mx + 2 + w, anchor: 'start' as const };
	};
	const groups: { x: number; label: string; n: number; x0: number; x1: number; anchor: 'start' | 'end' }[] = [];
	for (const m of markers) {
		const mx = px(x(m.t));
		marks.push({ kind: 'line', x1: mx, y1: plot.top, x2: mx, y2: plot.bottom, cls: 'marker' });
		const g = groups[groups.length - 1];
		const p = place(mx, m.label);
		if (g && p.x0 < g.x1 + 4) {
			g.label = m.label;
			g.n++;
			Object.assign(g, place(g.x, `${g.label} +${g.n - 1}`));
		} else groups.push({ x: mx, label: m.label, n: 1, ...p });
	}
	for (const g of groups) {
		const text = g.n > 1 ? `${g.label} +${g.n - 1}` : g.label;
		marks.push({ kind: 'text', x: px(g.anchor === 'end' ? g.x1 : g.x0), y: plot.top + 8, text, cls: 'tick', anchor: g.anchor });
	}

	marks.push(...legend(series.map((s) => ({ label: s.label, cls: s.cls })), plot.left, 7));

	const last = (s: LineSeries) => s.values[s.values.length - 1];
	const latest = series.map((s) => `${s.label} ${fmtValue(unit, last(s))}`).join(', ');
	const ops = markers.length ? `; ${markers.length} operation${markers.length === 1 ? '' : 's'} marked (${markers.map((m) => m.label).join(', ')})` : '';
	const label = `${title}: latest ${latest}; ${n} point${n === 1 ? '' : 's'} over ${durationFormat(t1)(t1)} of virtual time${ops}`;
	const finite = (s: LineSeries) => s.values.filter(Number.isFinite);
	const table = {
		caption: title,
		columns: ['series', 'latest', 'min', 'mean', 'max'],
		rows: series.map((s) => {
			const v = finite(s);
			return [s.label, fmtValue(unit, last(s)), fmtValue(unit, min(v) ?? NaN), fmtValue(unit, mean(v) ?? NaN), fmtValue(unit, max(v) ?? NaN)];
		})
	};
	return { width, height, label, marks, table, points: n };
}

