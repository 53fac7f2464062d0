/**
 * The LBA heat map: time windows across, LBA buckets down (offset 0 at the top), each cell's
 * intensity the I/Os that started there (square-root scaled to the busiest cell) and its hue the
 * share of writes. Buckets are merged so that a row is at least `minRowPx` tall. The cells are
 * data (HeatMap.svelte paints them on a canvas: up to 120 × 256 cells would be too many SVG
 * nodes); with `cellsAsMarks` they are also rect marks (snapshot tests, small maps).
 */
import { scaleLinear } from 'd3-scale';
import { axisBottom, axisLeft, legend } from './axes';
import { emptyNote, plotArea, px, type Mark, type Plot, type Scene } from './scene';
import { durationFormat, fmtBytesShort, sig3 } from './units';

export interface HeatMapInput {
	/** [window][bucket] I/O counts. */
	reads: number[][];
	writes: number[][];
	windowUs: number;
	originUs: number;
	sectorsPerBucket: number;
	width: number;
	height: number;
	title?: string;
	minRowPx?: number;
	cellsAsMarks?: boolean;
}

export interface HeatCell {
	col: number;
	row: number;
	x: number;
	y: number;
	w: number;
	h: number;
	reads: number;
	writes: number;
	/** 0..1: sqrt(total / busiest cell). */
	intensity: number;
	/** 0..1: writes / total. */
	writeShare: number;
}

export interface HeatMapScene extends Scene {
	plot: Plot;
	cells: HeatCell[];
	/** Buckets merged per row. */
	bucketsPerRow: number;
	busiest: number;
}

const MARGIN = { top: 16, right: 10, bottom: 18, left: 52 };

export function heatMapChart(input: HeatMapInput): HeatMapScene {
	const { reads, writes, width, height, windowUs, originUs, sectorsPerBucket } = input;
	const title = input.title ?? 'LBA heat map';
	const plot = plotArea(width, height, MARGIN);
	const cols = reads.length;
	const buckets = cols > 0 ? reads[0].length : 0;
	const marks: Mark[] = [];
	const base = { width, height, marks, plot, cells: [] as HeatCell[], bucketsPerRow: 1, busiest: 0 };
	if (cols === 0 || buckets === 0) {
		marks.push(emptyNote(width, height, 'No I/O yet'));
		return { ...base, label: `${title}: no I/O yet`, points: 0 };
	}

	const plotH = plot.bottom - plot.top;
	const minRow = input.minRowPx ?? 3;
	let per = 1;
	while (Math.ceil(buckets / per) * minRow > plotH && per < buckets) per *= 2;
	const rows = Math.ceil(buckets / per);

	// Merge buckets into rows.
	const r = new Float64Array(cols * rows);
	const w = new Float64Array(cols * rows);
	for (let c = 0; c < cols; c++)
		for (let b = 0; b < buckets; b++) {
			const k = c * rows + Math.floor(b / per);
			r[k] += reads[c][b] ?? 0;
			w[k] += writes[c]?.[b] ?? 0;
		}
	let busiest = 0;
	for (let k = 0; k < r.length; k++) busiest = Math.max(busiest, r[k] + w[k]);
	if (busiest === 0) {
		marks.push(emptyNote(width, height, 'No I/O yet'));
		return { ...base, label: `${title}: no I/O yet`, points: 0 };
	}

	const t0 = originUs;
	const t1 = originUs + cols * windowUs;
	const x = scaleLinear().domain([t0, t1]).range([plot.left, plot.right]);
	const diskBytes = buckets * sectorsPerBucket * 512;
	const y = scaleLinear().domain([0, diskBytes]).range([plot.top, plot.bottom]);
	const cw = (plot.right - plot.left) / cols;
	const rh = plotH / rows;
	const cells: HeatCell[] = [];
	for (let c = 0; c < cols; c++)
		for (let row = 0; row < rows; row++) {
			const k = c * rows + row;
			const total = r[k] + w[k];
			if (total === 0) continue;
			cells.push({
				col: c,
				row,
				x: px(plot.left + c * cw),
				y: px(plot.top + row * rh),
				w: px(cw),
				h: px(rh),
				reads: r[k],
				writes: w[k],
				intensity: px(Math.sqrt(total / busiest)),
				writeShare: px(w[k] / total)
			});
		}
	if (input.cellsAsMarks)
		for (const cell of cells)
			marks.push({ kind: 'rect', x: cell.x, y: cell.y, w: cell.w, h: cell.h, cls: `cell ${cell.writeShare > 0.5 ? 'write' : 'read'}`, opacity: cell.intensity });

	const yTicks = [0, 0.25, 0.5, 0.75, 1].map((f) => f * diskBytes);
	marks.push(...axisLeft(y, plot, fmtBytesShort, 4, yTicks).filter((m) => m.kind !== 'line'));
	marks.push(...axisBottom(x, plot, durationFormat(t1), Math.max(2, Math.floor((plot.right - plot.left) / 70))));
	marks.push(...legend([{ label: 'reads', cls: 'read' }, { label: 'writes', cls: 'write' }], plot.left, 7));

	// The hottest row (all windows) for the summary.
	const rowTotals = new Float64Array(rows);
	for (let k = 0; k < r.length; k++) rowTotals[k % rows] += r[k] + w[k];
	let hot = 0;
	for (let i = 1; i < rows; i++) if (rowTotals[i] > rowTotals[hot]) hot = i;
	const all = rowTotals.reduce((a, b) => a + b, 0);
	const rowBytes = per * sectorsPerBucket * 512;
	const label = `${title}: ${all} I/Os in ${cols} windows of ${durationFormat(windowUs)(windowUs)}; hottest range ${fmtBytesShort(hot * rowBytes)}–${fmtBytesShort((hot + 1) * rowBytes)} with ${sig3((100 * rowTotals[hot]) / all)} % of I/Os`;
	const table = {
		caption: `${title}: I/Os per LBA range over the whole run`,
		columns: ['LBA range', 'I/Os'],
		rows: Array.from(rowTotals, (v, i) => [`${fmtBytesShort(i * rowBytes)}–${fmtBytesShort((i + 1) * rowBytes)}`, String(v)])
	};
	return { ...base, label, marks, table, cells, bucketsPerRow: per, busiest, points: cells.length };
}

