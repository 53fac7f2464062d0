/**
 * Axes as marks: gridlines, tick labels and the axis line, from a d3 scale and the plot area.
 * Small pure functions that the chart functions compose.
 */
import type { ScaleBand } from 'd3-scale';
import { px, type Mark, type Plot } from './scene';

/** A continuous scale as the axes need it (linear or log). */
export interface Continuous {
	(v: number): number;
	ticks(count?: number): number[];
	domain(): number[];
}

/** Left axis: horizontal gridlines and labels at the ticks. */
export function axisLeft(y: Continuous, plot: Plot, format: (v: number) => string, count = 4, values?: number[]): Mark[] {
	const marks: Mark[] = [];
	for (const v of values ?? y.ticks(count)) {
		const yy = px(y(v));
		marks.push({ kind: 'line', x1: plot.left, y1: yy, x2: plot.right, y2: yy, cls: 'grid' });
		marks.push({ kind: 'text', x: plot.left - 5, y: yy, text: format(v), cls: 'tick', anchor: 'end', dy: '0.32em' });
	}
	return marks;
}

/** Bottom axis: the baseline, small tick marks and labels under them. */
export function axisBottom(x: Continuous, plot: Plot, format: (v: number) => string, count = 5, values?: number[]): Mark[] {
	const marks: Mark[] = [{ kind: 'line', x1: plot.left, y1: plot.bottom, x2: plot.right, y2: plot.bottom, cls: 'domain' }];
	const ticks = values ?? x.ticks(count);
	ticks.forEach((v, i) => {
		const xx = px(x(v));
		marks.push({ kind: 'line', x1: xx, y1: plot.bottom, x2: xx, y2: plot.bottom + 3, cls: 'domain' });
		// Keep the outermost labels inside the chart.
		const anchor = ticks.length > 1 && i === ticks.length - 1 && xx > plot.right - 16 ? 'end' : 'middle';
		marks.push({ kind: 'text', x: xx, y: plot.bottom + 5, text: format(v), cls: 'tick', anchor, dy: '0.71em' });
	});
	return marks;
}

/**
 * Bottom axis of a band scale: a label under every `every`-th band and under the last one (the
 * overflow bucket); a label that would overlap the last one is left out.
 */
export function axisBand(x: ScaleBand<string>, plot: Plot, labels: string[], every = 1): Mark[] {
	const marks: Mark[] = [{ kind: 'line', x1: plot.left, y1: plot.bottom, x2: plot.right, y2: plot.bottom, cls: 'domain' }];
	const half = x.bandwidth() / 2;
	const placed: { label: string; x: number; anchor: 'middle' | 'end'; from: number; to: number }[] = [];
	const place = (i: number) => {
		const label = labels[i];
		const w = textWidth(label);
		const centre = px((x(label) ?? 0) + half);
		// A label that would stick out on the right ends at the plot's edge instead.
		const out = centre + w / 2 > plot.right + 4;
		const xx = out ? plot.right + 4 : centre;
		return { label, x: xx, anchor: out ? ('end' as const) : ('middle' as const), from: out ? xx - w : xx - w / 2, to: out ? xx : xx + w / 2 };
	};
	for (let i = 0; i < labels.length - 1; i += every) placed.push(place(i));
	const last = place(labels.length - 1);
	while (placed.length > 0 && placed[placed.length - 1].to + 3 > last.from) placed.pop();
	placed.push(last);
	for (const p of placed) marks.push({ kind: 'text', x: p.x, y: plot.bottom + 5, text: p.label, cls: 'tick', anchor: p.anchor, dy: '0.71em' });
	return marks;
}

/** A legend across the top: swatch and label per entry, left to right. */
export function legend(entries: { label: string; cls: string }[], x0: number, y: number): Mark[] {
	const marks: Mark[] = [];
	let x = x0;
	for (const e of entries) {
		marks.push({ kind: 'rect', x: px(x), y: y - 4, w: 10, h: 3, cls: `swatch ${e.cls}` });
		marks.push({ kind: 'text', x: px(x + 14), y, text: e.label, cls: 'legend', dy: '0.32em' });
		x += 14 + textWidth(e.label) + 12;
	}
	return marks;
}

/** A rough width of a label at the charts' 10 px font (no DOM: deterministic). */
export function textWidth(s: string): number {
	return s.length * 5.6;
}
