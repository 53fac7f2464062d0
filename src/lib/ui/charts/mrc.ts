/**
 * A miss-ratio curve: LRU miss ratio against cache size, the size on a log (base 2) axis; the
 * exact curve dashed beside the SHARDS estimate when there is one, and the working set marked.
 */
import { scaleLinear, scaleLog } from 'd3-scale';
import { line } from 'd3-shape';
import { axisBottom, axisLeft, legend } from './axes';
import { emptyNote, plotArea, px, type Mark, type Scene } from './scene';
import { fmtBytesShort, sig3 } from './units';

export interface MrcInput {
	sizesBytes: number[];
	missRatio: number[];
	exactMissRatio?: number[];
	/** Working-set size, bytes (drawn as a marker). */
	workingSetBytes?: number;
	width: number;
	height: number;
	title?: string;
}

const MARGIN = { top: 16, right: 12, bottom: 18, left: 40 };

/** Powers of two from lo to hi, thinned to at most `most` ticks (every 2nd, 4th … power). */
export function log2Ticks(lo: number, hi: number, most: number): number[] {
	const a = Math.ceil(Math.log2(lo));
	const b = Math.floor(Math.log2(hi));
	if (b < a) return [lo];
	let step = 1;
	while (Math.floor((b - a) / step) + 1 > most) step++;
	const out: number[] = [];
	for (let e = b; e >= a; e -= step) out.unshift(2 ** e);
	return out;
}

export function mrcChart(input: MrcInput): Scene {
	const { width, height } = input;
	const title = input.title ?? 'Miss-ratio curve (LRU)';
	const plot = plotArea(width, height, MARGIN);
	const marks: Mark[] = [];
	// A log axis has no 0: the curve starts at the smallest cache size above 0.
	const idx = input.sizesBytes.map((_, i) => i).filter((i) => input.sizesBytes[i] > 0 && Number.isFinite(input.missRatio[i]));
	if (idx.length < 2) {
		marks.push(emptyNote(width, height, 'Not enough references yet'));
		return { width, height, label: `${title}: not enough references yet`, marks, points: 0 };
	}
	const lo = input.sizesBytes[idx[0]];
	const hi = input.sizesBytes[idx[idx.length - 1]];
	const x = scaleLog()
		.base(2)
		.domain([lo, Math.max(hi, lo * 2)])
		.range([plot.left, plot.right]);
	const y = scaleLinear().domain([0, 1]).range([plot.bottom, plot.top]);
	marks.push(...axisLeft(y, plot, (v) => `${sig3(v * 100)}%`, 4, [0, 0.25, 0.5, 0.75, 1]));
	const [d0, d1] = x.domain();
	marks.push(...axisBottom(x, plot, fmtBytesShort, 0, log2Ticks(d0, d1, Math.max(2, Math.floor((plot.right - plot.left) / 60)))));

	const curve = (ratios: number[]) =>
		line<number>()
			.x((i) => x(input.sizesBytes[i]))
			.y((i) => y(Math.max(0, Math.min(1, ratios[i]))))
			.digits(2)(idx) ?? '';

	const ws = input.workingSetBytes;
	if (ws && ws >= d0 && ws <= d1) {
		const xx = px(x(ws));
		marks.push({ kind: 'line', x1: xx, y1: plot.top, x2: xx, y2: plot.bottom, cls: 'marker' });
		marks.push({ kind: 'text', x: xx - 3, y: plot.top + 2, text: 'working set', cls: 'tick', anchor: 'end', dy: '0.71em' });
	}
	if (input.exactMissRatio) marks.push({ kind: 'path', d: curve(input.exactMissRatio), cls: 'line exact dashed' });
	marks.push({ kind: 'path', d: curve(input.missRatio), cls: 'line mrc' });
	marks.push(...legend(input.exactMissRatio ? [{ label: 'SHARDS', cls: 'mrc' }, { label: 'exact', cls: 'exact' }] : [{ label: 'SHARDS estimate', cls: 'mrc' }], plot.left, 7));

	const at = (frac: number) => idx[Math.min(idx.length - 1, Math.round(frac * (idx.length - 1)))];
	const picks = [at(0), at(0.25), at(0.5), at(1)];
	const label = `${title}: ${picks.map((i) => `${sig3(input.missRatio[i] * 100)} % misses at ${fmtBytesShort(input.sizesBytes[i])}`).join(', ')}`;
	const table = {
		caption: title,
		columns: input.exactMissRatio ? ['cache size', 'miss ratio', 'exact'] : ['cache size', 'miss ratio'],
		rows: idx.map((i) => {
			const row = [fmtBytesShort(input.sizesBytes[i]), `${sig3(input.missRatio[i] * 100)} %`];
			if (input.exactMissRatio) row.push(`${sig3(input.exactMissRatio[i] * 100)} %`);
			return row;
		})
	};
	return { width, height, label, marks, table, points: idx.length };
}
