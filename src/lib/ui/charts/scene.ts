/**
 * What every chart function returns: a scene, plain data of marks (paths, rects, lines, texts) in
 * pixel coordinates with CSS classes for colour, an accessible summary and a table of the numbers.
 * SvgChart.svelte draws a scene; `sceneToSvg` writes the same scene as an SVG string (snapshot
 * tests, downloads). Colours never appear here: classes map to CSS custom properties, so light
 * and dark come from the page's theme.
 */

export type Anchor = 'start' | 'middle' | 'end';

export type Mark =
	| { kind: 'path'; d: string; cls: string }
	| { kind: 'rect'; x: number; y: number; w: number; h: number; cls: string; opacity?: number; title?: string }
	| { kind: 'line'; x1: number; y1: number; x2: number; y2: number; cls: string }
	| { kind: 'text'; x: number; y: number; text: string; cls: string; anchor?: Anchor; dy?: string };

/** The chart's numbers as a table (visually hidden on the page, read by screen readers). */
export interface DataTable {
	caption: string;
	columns: string[];
	rows: string[][];
}

export interface Scene {
	width: number;
	height: number;
	/** One sentence summarising the chart and its latest values (aria-label). */
	label: string;
	marks: Mark[];
	table?: DataTable;
	/** Data points drawn (0 = the chart shows its "no data" note). */
	points: number;
}

/** The plot area inside the margins, in pixels. */
export interface Plot {
	left: number;
	top: number;
	right: number;
	bottom: number;
}

export function plotArea(width: number, height: number, m: { top: number; right: number; bottom: number; left: number }): Plot {
	return { left: m.left, top: m.top, right: Math.max(m.left + 1, width - m.right), bottom: Math.max(m.top + 1, height - m.bottom) };
}

/** Pixel values to two decimals: stable snapshots, short attributes. */
export function px(v: number): number {
	return Math.round(v * 100) / 100;
}

/** The note a chart shows before it has data. */
export function emptyNote(width: number, height: number, text = 'No data yet'): Mark {
	return { kind: 'text', x: px(width / 2), y: px(height / 2), text, cls: 'note', anchor: 'middle', dy: '0.32em' };
}

type Of<K extends Mark['kind']> = Extract<Mark, { kind: K }>;

/**
 * The marks by kind, in drawing order: lines (grid, axes) under rects (bars, cells) under paths
 * (curves) under texts. Renderers draw these lists, so that a changing number of ticks never
 * turns one element into another (a keyed list per kind stays stable from frame to frame).
 */
export function layers(scene: Scene): { lines: Of<'line'>[]; rects: Of<'rect'>[]; paths: Of<'path'>[]; texts: Of<'text'>[] } {
	const out = { lines: [] as Of<'line'>[], rects: [] as Of<'rect'>[], paths: [] as Of<'path'>[], texts: [] as Of<'text'>[] };
	for (const m of scene.marks) {
		if (m.kind === 'line') out.lines.push(m);
		else if (m.kind === 'rect') out.rects.push(m);
		else if (m.kind === 'path') out.paths.push(m);
		else out.texts.push(m);
	}
	return out;
}

const ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };
const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ESC[c]);

/**
 * The scene as a standalone SVG document (deterministic: same scene, same string). With `css`
 * (the charts' stylesheet) it renders on its own, coloured as on the page.
 */
export function sceneToSvg(scene: Scene, css?: string): string {
	const out: string[] = [];
	out.push(
		`<svg xmlns="http://www.w3.org/2000/svg" class="vchart" width="${scene.width}" height="${scene.height}" viewBox="0 0 ${scene.width} ${scene.height}" role="img" aria-label="${esc(scene.label)}">`
	);
	if (css) out.push(`<style>\n${css}\n</style>`, `<rect width="100%" height="100%" fill="#fff"/>`);
	const l = layers(scene);
	for (const m of [...l.lines, ...l.rects, ...l.paths, ...l.texts]) {
		switch (m.kind) {
			case 'path':
				out.push(`  <path class="${m.cls}" d="${m.d}"/>`);
				break;
			case 'rect': {
				const op = m.opacity === undefined ? '' : ` fill-opacity="${px(m.opacity)}"`;
				const attrs = `class="${m.cls}" x="${m.x}" y="${m.y}" width="${m.w}" height="${m.h}"${op}`;
				out.push(m.title ? `  <rect ${attrs}><title>${esc(m.title)}</title></rect>` : `  <rect ${attrs}/>`);
				break;
			}
			case 'line':
				out.push(`  <line class="${m.cls}" x1="${m.x1}" y1="${m.y1}" x2="${m.x2}" y2="${m.y2}"/>`);
				break;
			case 'text':
				out.push(
					`  <text class="${m.cls}" x="${m.x}" y="${m.y}"${m.anchor ? ` text-anchor="${m.anchor}"` : ''}${m.dy ? ` dy="${m.dy}"` : ''}>${esc(m.text)}</text>`
				);
				break;
		}
	}
	out.push('</svg>');
	return out.join('\n') + '\n';
}
