/**
 * The charts' one stylesheet: mark classes to colours through the page's custom properties (so
 * light and dark follow app.css), with fallbacks so a snapshot SVG renders on its own. Every
 * selector is under `.vchart` (the chart's svg), so nothing leaks into the rest of the page.
 */

/** Colour classes a series, bar or cell can carry, and the page colour each one takes. */
export const CHART_COLOURS: Record<string, string> = {
	read: 'var(--accent, #1f6feb)',
	write: 'var(--c-cache, #e36209)',
	total: 'var(--text, #1b1f24)',
	p50: 'var(--c-replication, #0969da)',
	p99: 'var(--c-encryption, #bf3989)',
	a: 'var(--c-dataProvider, #1a7f37)',
	b: 'var(--c-compression, #b08800)',
	mrc: 'var(--c-inspection, #6f42c1)',
	exact: 'var(--text-dim, #58616c)'
};

function build(): string {
	const rules = [
		'.vchart{font:10px var(--font-ui,system-ui,sans-serif);overflow:visible}',
		'.vchart .grid{stroke:var(--border-soft,#e6e9ee);shape-rendering:crispEdges}',
		'.vchart .domain{stroke:var(--border-strong,#9aa3ae);shape-rendering:crispEdges}',
		'.vchart .marker{stroke:var(--text-faint,#8c949e);stroke-dasharray:2 3}',
		'.vchart .tick,.vchart .legend{fill:var(--text-dim,#58616c);font-size:10px;font-variant-numeric:tabular-nums}',
		'.vchart .note{fill:var(--text-faint,#8c949e);font-size:11px}',
		'.vchart .line{fill:none;stroke-width:1.6;stroke-linejoin:round;stroke-linecap:round}',
		'.vchart .line.dashed{stroke-dasharray:4 3}',
		'.vchart .area{stroke:none;fill-opacity:0.14}',
		'.vchart .bar{shape-rendering:crispEdges}'
	];
	for (const [cls, colour] of Object.entries(CHART_COLOURS)) {
		rules.push(`.vchart .line.${cls}{stroke:${colour}}`);
		rules.push(`.vchart .area.${cls},.vchart .bar.${cls},.vchart .swatch.${cls},.vchart .cell.${cls}{fill:${colour}}`);
	}
	return rules.join('\n');
}

export const CHART_CSS = build();

let injected = false;

/** Adds the stylesheet to the document once (called by the chart components on mount). */
export function ensureChartStyle(): void {
	if (injected || typeof document === 'undefined') return;
	injected = true;
	const el = document.createElement('style');
	el.dataset.vchart = '';
	el.textContent = CHART_CSS;
	document.head.append(el);
}
