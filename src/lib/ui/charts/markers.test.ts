/**
 * Operation markers on the time-series charts: a dashed line per operation, labels that never
 * overlap (close ones share one, "+n"), the axis reaching the latest operation, and the
 * operations named in the chart's accessible summary.
 */
import { describe, expect, it } from 'vitest';
import { timeSeriesChart } from './timeseries';

const base = { title: 'IOPS', t: [1000, 2000, 3000], series: [{ key: 'total', label: 'total', cls: 'total', values: [10, 20, 30] }], unit: 'iops' as const, width: 400, height: 130 };

describe('operation markers', () => {
	it('draws a line per operation and a label each when they are apart', () => {
		const s = timeSeriesChart({ ...base, markers: [{ t: 1200, label: 'snapshot-create' }, { t: 2800, label: 'vmotion ✗' }] });
		expect(s.marks.filter((m) => m.kind === 'line' && m.cls === 'marker')).toHaveLength(2);
		const labels = s.marks.filter((m) => m.kind === 'text' && m.cls === 'tick' && /snapshot|vmotion/.test(m.text));
		expect(labels.map((m) => (m as { text: string }).text)).toEqual(['snapshot-create', 'vmotion ✗']);
		expect(s.label).toMatch(/2 operations marked \(snapshot-create, vmotion ✗\)/);
	});

	it('close operations share a label; the axis extends to the latest', () => {
		const s = timeSeriesChart({ ...base, markers: [{ t: 5000, label: 'host-add' }, { t: 5010, label: 'host-crash' }] });
		const labels = s.marks.filter((m) => m.kind === 'text' && /host/.test((m as { text: string }).text));
		expect(labels.map((m) => (m as { text: string }).text)).toEqual(['host-crash +1']);
		const lines = s.marks.filter((m) => m.kind === 'line' && m.cls === 'marker') as { x1: number }[];
		expect(Math.max(...lines.map((l) => l.x1))).toBeLessThanOrEqual(400 - 10);
	});

	it('without markers the chart is as before', () => {
		expect(timeSeriesChart({ ...base, markers: [] })).toEqual(timeSeriesChart(base));
	});
});
