/**
 * Charts out of the page as files: a chart's <svg> as it is drawn, made standalone (its own
 * stylesheet with the page's colours of the moment, light or dark, resolved into it, a background,
 * and a canvas underlay such as the heat map's cells embedded as an image), and the same as a PNG
 * drawn through an offscreen canvas at twice the size.
 */
import { CHART_CSS } from './charts/style';

/** The custom properties the charts' stylesheet reads. */
const VARS = [
	'--accent',
	'--text',
	'--text-dim',
	'--text-faint',
	'--border-soft',
	'--border-strong',
	'--font-ui',
	'--c-inspection',
	'--c-compression',
	'--c-encryption',
	'--c-replication',
	'--c-cache',
	'--c-dataProvider',
	'--c-datastoreIoControl'
];

const XMLNS = 'http://www.w3.org/2000/svg';

export interface ChartSvg {
	text: string;
	width: number;
	height: number;
}

/** A chart's SVG as a standalone document (what the page shows, in the page's current colours). */
export function chartSvg(svg: SVGSVGElement, options: { title?: string; underlay?: HTMLCanvasElement | null } = {}): ChartSvg {
	const width = Number(svg.getAttribute('width')) || svg.clientWidth || 300;
	const height = Number(svg.getAttribute('height')) || svg.clientHeight || 150;
	const style = getComputedStyle(svg);
	const vars = VARS.map((v) => [v, style.getPropertyValue(v).trim()] as const).filter(([, val]) => val !== '');
	const background = style.getPropertyValue('--surface').trim() || '#ffffff';

	const copy = svg.cloneNode(true) as SVGSVGElement;
	copy.setAttribute('xmlns', XMLNS);
	copy.setAttribute('width', String(width));
	copy.setAttribute('height', String(height));
	copy.setAttribute('style', vars.map(([k, val]) => `${k}:${val}`).join(';'));
	const doc = svg.ownerDocument;
	if (options.title) {
		const t = doc.createElementNS(XMLNS, 'title');
		t.textContent = options.title;
		copy.prepend(t);
	}
	const css = doc.createElementNS(XMLNS, 'style');
	css.textContent = `\n${CHART_CSS}\n`;
	const bg = doc.createElementNS(XMLNS, 'rect');
	bg.setAttribute('width', '100%');
	bg.setAttribute('height', '100%');
	bg.setAttribute('fill', background);
	const first = copy.firstChild;
	copy.insertBefore(css, first);
	copy.insertBefore(bg, first);
	// A canvas drawn under the SVG (heat-map cells) goes in as an image at its place.
	const canvas = options.underlay;
	if (canvas && canvas.width > 0 && canvas.height > 0) {
		const a = canvas.getBoundingClientRect();
		const b = svg.getBoundingClientRect();
		const img = doc.createElementNS(XMLNS, 'image');
		img.setAttribute('href', canvas.toDataURL('image/png'));
		img.setAttribute('x', String(Math.round(a.left - b.left)));
		img.setAttribute('y', String(Math.round(a.top - b.top)));
		img.setAttribute('width', String(Math.round(a.width)));
		img.setAttribute('height', String(Math.round(a.height)));
		copy.insertBefore(img, first);
	}
	const text = `<?xml version="1.0" encoding="UTF-8"?>\n${new XMLSerializer().serializeToString(copy)}\n`;
	return { text, width, height };
}

/** The SVG drawn into a PNG (an offscreen canvas at `scale`× its size). */
export async function svgToPng(svg: ChartSvg, scale = 2): Promise<Blob> {
	const url = URL.createObjectURL(new Blob([svg.text], { type: 'image/svg+xml' }));
	try {
		const img = new Image();
		img.decoding = 'async';
		img.src = url;
		await img.decode();
		const w = Math.max(1, Math.round(svg.width * scale));
		const h = Math.max(1, Math.round(svg.height * scale));
		if (typeof OffscreenCanvas === 'function') {
			const c = new OffscreenCanvas(w, h);
			c.getContext('2d')!.drawImage(img, 0, 0, w, h);
			return await c.convertToBlob({ type: 'image/png' });
		}
		const c = document.createElement('canvas');
		c.width = w;
		c.height = h;
		c.getContext('2d')!.drawImage(img, 0, 0, w, h);
		return await new Promise<Blob>((resolve, reject) => c.toBlob((b) => (b ? resolve(b) : reject(new Error('the PNG could not be made'))), 'image/png'));
	} finally {
		URL.revokeObjectURL(url);
	}
}
