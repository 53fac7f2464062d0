/**
 * Seeded SVG snapshots of the chart functions (Observable Plot style): fixed, generated data in,
 * the scene written as SVG, compared with the file in __snapshots__/ (open it to look at it).
 * Update with `npx vitest run -u src/lib/ui/charts`.
 */
import { describe, expect, it } from 'vitest';
import { sceneToSvg as svg, type Scene } from './scene';
import { CHART_CSS } from './style';
import { timeSeriesChart } from './timeseries';
import { bucketLabels, histogramChart } from './histogram';
import { log2Ticks, mrcChart } from './mrc';
import { heatMapChart } from './heatmap';
import { fmtCompact, fmtValue, tickFormat } from './units';

/** mulberry32: a tiny seeded PRNG, so the data is the same on every run. */
function prng(seed: number): () => number {
	let a = seed >>> 0;
	return () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

const snap = (name: string) => `./__snapshots__/${name}.svg`;
/** Snapshots carry the stylesheet, so each file opens as the chart looks on the page. */
const sceneToSvg = (scene: Scene) => svg(scene, CHART_CSS);

describe('timeSeriesChart', () => {
	const rnd = prng(1);
	const t = Array.from({ length: 60 }, (_, i) => (i + 1) * 5000);
	const read = t.map((_, i) => 8000 + 2000 * Math.sin(i / 6) + 500 * rnd());
	const write = t.map(() => 3000 + 800 * rnd());

	it('draws IOPS read/write/total with axes and a legend', async () => {
		const scene = timeSeriesChart({
			title: 'IOPS',
			t,
			xMin: 0,
			windows: true,
			unit: 'iops',
			width: 320,
			height: 140,
			series: [
				{ key: 'total', label: 'total', values: read.map((r, i) => r + write[i]), cls: 'total' },
				{ key: 'read', label: 'read', values: read, cls: 'read', area: true },
				{ key: 'write', label: 'write', values: write, cls: 'write' }
			]
		});
		expect(scene.points).toBe(60);
		expect(scene.label).toMatch(/^IOPS: latest total 1\d\.\dk IOPS, read/);
		const lines = scene.marks.filter((m) => m.kind === 'path' && m.cls.startsWith('line'));
		expect(lines.length).toBe(3);
		// Steps from the run's start (x = 44, the plot's left edge): each window's rate holds until its end.
		for (const l of lines) expect(l.kind === 'path' && /^M44,[\d.]+L44,/.test(l.d)).toBe(true);
		await expect(sceneToSvg(scene)).toMatchFileSnapshot(snap('iops'));
	});

	it('draws ratios on a fixed 0–100 % axis', async () => {
		const hit = t.map((_, i) => Math.min(1, 0.1 + i / 70 + 0.02 * rnd()));
		const scene = timeSeriesChart({ title: 'Cache hit ratio', t, unit: 'ratio', yMax: 1, width: 320, height: 140, series: [{ key: 'r', label: 'read hits', values: hit, cls: 'a' }] });
		const ticks = scene.marks.filter((m) => m.kind === 'text' && m.cls === 'tick').map((m) => (m.kind === 'text' ? m.text : ''));
		expect(ticks).toContain('100%');
		await expect(sceneToSvg(scene)).toMatchFileSnapshot(snap('hit-ratio'));
	});

	it('says so when there is no data', () => {
		const scene = timeSeriesChart({ title: 'IOPS', t: [], unit: 'iops', width: 200, height: 100, series: [] });
		expect(scene.points).toBe(0);
		expect(sceneToSvg(scene)).toContain('No data yet');
	});
});

describe('histogramChart', () => {
	it('labels vscsiStats buckets by their limits', () => {
		expect(bucketLabels('ioLength', [512, 4095, 4096, 8192, 524288])).toEqual(['512', '<4K', '4K', '8K', '512K', '>512K']);
		expect(bucketLabels('latency', [1, 10, 100, 500, 1000, 5000, 100000])).toEqual(['1µs', '10µs', '100µs', '500µs', '1ms', '5ms', '100ms', '>100ms']);
		expect(bucketLabels('seekDistance', [-500000, -1, 0, 1, 500000])).toEqual(['-500k', '-1', '0', '1', '500k', '>500k']);
	});

	it('stacks reads and writes per bucket', async () => {
		const limits = [1, 10, 100, 500, 1000, 5000, 15000, 30000, 50000, 100000];
		const read = [0, 0, 40, 310, 220, 80, 12, 3, 0, 0, 1];
		const write = [0, 0, 10, 120, 160, 50, 9, 0, 0, 0, 0];
		const scene = histogramChart({ metric: 'latency', limits, read, write, width: 300, height: 130 });
		const bars = scene.marks.filter((m) => m.kind === 'rect' && m.cls.startsWith('bar'));
		expect(bars.length).toBe(7 + 5);
		expect(scene.label).toContain('1015 I/Os');
		expect(scene.label).toContain('most in bucket 500µs');
		await expect(sceneToSvg(scene)).toMatchFileSnapshot(snap('histogram-latency'));
	});

	it('thins the labels of a wide histogram', async () => {
		const rnd = prng(5);
		const limits = [-500000, -100000, -50000, -10000, -5000, -1000, -500, -128, -64, -32, -16, -8, -6, -4, -2, -1, 0, 1, 2, 4, 6, 8, 16, 32, 64, 128, 500, 1000, 5000, 10000, 50000, 100000, 500000];
		const read = [...limits, 0].map((_, i) => Math.round(100 * rnd() * (i === 17 ? 8 : 1)));
		const write = read.map((v) => Math.round(v * 0.4));
		const scene = histogramChart({ metric: 'seekDistance', limits, read, write, width: 300, height: 130 });
		const labels = scene.marks.filter((m) => m.kind === 'text' && m.cls === 'tick' && m.dy === '0.71em');
		expect(labels.length).toBeLessThan(limits.length / 2);
		await expect(sceneToSvg(scene)).toMatchFileSnapshot(snap('histogram-seek'));
	});
});

describe('mrcChart', () => {
	it('picks powers of two as log ticks', () => {
		expect(log2Ticks(4096, 2 ** 20, 20)).toEqual([4096, 8192, 16384, 32768, 65536, 131072, 262144, 524288, 1048576]);
		expect(log2Ticks(4096, 2 ** 30, 4).length).toBeLessThanOrEqual(4);
	});

	it('draws the curve on a log axis, the exact curve dashed and the working set', async () => {
		const n = 50;
		const ws = 8000;
		const sizes = Array.from({ length: n }, (_, i) => Math.round((i * ws) / (n - 1)) * 4096);
		const miss = sizes.map((s) => Math.max(0.05, 1 - Math.log1p(s / 4096) / Math.log1p(ws)));
		const exact = miss.map((m, i) => Math.max(0, m - 0.02 * Math.sin(i)));
		const scene = mrcChart({ sizesBytes: sizes, missRatio: miss, exactMissRatio: exact, workingSetBytes: ws * 4096, width: 320, height: 150 });
		expect(scene.points).toBe(n - 1); // size 0 has no place on a log axis
		expect(scene.label).toMatch(/^Miss-ratio curve \(LRU\): 43\.3 % misses at 652 KiB, /);
		await expect(sceneToSvg(scene)).toMatchFileSnapshot(snap('mrc'));
	});
});

describe('heatMapChart', () => {
	it('merges buckets into rows and scales cells to the busiest', async () => {
		const rnd = prng(9);
		const windows = 12;
		const buckets = 16;
		const reads = Array.from({ length: windows }, (_, w) => Array.from({ length: buckets }, (_, b) => (b === 3 ? 40 : b < 8 ? Math.round(10 * rnd()) : w % 3 === 0 ? 5 : 0)));
		const writes = Array.from({ length: windows }, () => Array.from({ length: buckets }, (_, b) => (b >= 12 ? Math.round(20 * rnd()) : 0)));
		const scene = heatMapChart({ reads, writes, windowUs: 100_000, originUs: 0, sectorsPerBucket: 2048, width: 300, height: 120, minRowPx: 12, cellsAsMarks: true });
		expect(scene.bucketsPerRow).toBe(4); // 16 or 8 rows of 12 px do not fit in 86 px
		expect(Math.max(...scene.cells.map((c) => c.intensity))).toBe(1);
		expect(scene.label).toContain('hottest range 0 B–4 MiB');
		await expect(sceneToSvg(scene)).toMatchFileSnapshot(snap('heatmap'));
	});
});

describe('units', () => {
	it('formats compactly and deterministically', () => {
		expect(fmtCompact(12345)).toBe('12.3k');
		expect(fmtCompact(0.25)).toBe('0.25');
		expect(tickFormat('us', 5000)(2500)).toBe('2.5 ms');
		expect(tickFormat('ratio', 1)(0.5)).toBe('50%');
		expect(fmtValue('bytes', 1536)).toBe('1.5 KiB');
		expect(fmtValue('us', 1_500_000)).toBe('1.5 s');
	});
});
