/**
 * Which live charts the Charts tab shows, from the run's series and the filters in its chain:
 * IOPS, MB/s and latency always; cache hit ratio and dirty blocks, dedup ratio, replication RPO
 * and tier share when the filter is there. Pure: the tab renders what this returns.
 */
import type { SeriesPoint } from '../series';
import type { LineSeries } from './timeseries';
import { fmtValue, sig3, type Unit } from './units';

export interface LinePanel {
	/** data-testid of the chart. */
	testid: string;
	title: string;
	/** What to look for, one line (shown as the card's tooltip). */
	help: string;
	unit: Unit;
	yMax?: number;
	/** Rates over windows (steps) rather than sampled gauges (lines). */
	windows?: boolean;
	series: LineSeries[];
	/** The latest value of the first series, formatted. */
	latest: string;
	/** A related latest number shown beside it (e.g. the replication lag in bytes). */
	note?: string;
}

type Get = (p: SeriesPoint) => number;

const gauge =
	(key: string): Get =>
	(p) =>
		p.gauges[key] ?? NaN;

function panel(points: SeriesPoint[], testid: string, title: string, help: string, unit: Unit, defs: [key: string, label: string, cls: string, get: Get, extra?: Partial<LineSeries>][], yMax?: number): LinePanel {
	const series = defs.map(([key, label, cls, get, extra]) => ({ key, label, cls, values: points.map(get), ...extra }));
	const first = series[0]?.values;
	const latest = first && first.length ? fmtValue(unit, first[first.length - 1]) : '—';
	return { testid, title, help, unit, yMax, series, latest };
}

function lastOf(points: SeriesPoint[], key: string, fmt: (v: number) => string): string | undefined {
	const v = points.at(-1)?.gauges[key];
	return v === undefined ? undefined : fmt(v);
}

export function linePanels(points: SeriesPoint[], filters: readonly string[]): LinePanel[] {
	const has = (name: string) => filters.includes(name);
	const rates = (p: LinePanel): LinePanel => ({ ...p, windows: true });
	const out: LinePanel[] = [
		rates(panel(points, 'chart-iops', 'IOPS', 'Completed guest I/Os per second of virtual time, reads and writes.', 'iops', [
			['iops', 'total', 'total', (p) => p.iops],
			['read', 'read', 'read', (p) => p.readIops, { area: true }],
			['write', 'write', 'write', (p) => p.writeIops]
		])),
		rates(panel(points, 'chart-mbps', 'Throughput', 'MB/s completed to the guest, reads and writes.', 'mbps', [
			['mbps', 'total', 'total', (p) => p.mbps],
			['read', 'read', 'read', (p) => p.readMbps, { area: true }],
			['write', 'write', 'write', (p) => p.writeMbps]
		])),
		rates(panel(points, 'chart-latency', 'Latency', 'Guest-seen latency: median and 99th percentile of the I/Os completed in each interval.', 'us', [
			['p50', 'p50', 'p50', (p) => p.p50],
			['p99', 'p99', 'p99', (p) => p.p99]
		]))
	];
	if (has('cache')) {
		out.push(
			panel(
				points,
				'chart-hit-ratio',
				'Cache hit ratio',
				'Share of reads (and writes) the SSD cache served or absorbed, since the run began.',
				'ratio',
				[
					['read', 'read hits', 'a', gauge('cache.readHitRatio')],
					['write', 'write hits', 'write', gauge('cache.writeHitRatio')]
				],
				1
			),
			{
				...panel(points, 'chart-dirty', 'Dirty cache blocks', 'Blocks written to the SSD but not yet to the datastore (write-back): what a host loss would lose.', 'count', [
					['dirty', 'dirty blocks', 'write', gauge('cache.dirtyBlocks'), { area: true }]
				]),
				note: lastOf(points, 'cache.occupancyPct', (v) => `cache ${sig3(v)} % full`)
			}
		);
	}
	if (has('dedup'))
		out.push(
			panel(points, 'chart-dedup', 'Dedup ratio', 'Logical blocks per physical block stored.', 'times', [['ratio', 'logical / physical', 'b', gauge('dedup.dedupRatio')]])
		);
	if (has('replication'))
		out.push({
			...panel(points, 'chart-rpo', 'Replication RPO', 'Age of the oldest write not yet applied at the replica: what a failover now would lose.', 'us', [
				['rpo', 'RPO', 'p99', gauge('replication.rpoUs'), { area: true }]
			]),
			note: lastOf(points, 'replication.lagBytes', (v) => `lag ${fmtValue('bytes', v)}`)
		});
	if (has('tiering'))
		out.push(
			panel(
				points,
				'chart-tier',
				'Fast-tier share',
				'Share of I/Os served by the fast tier: overall and recent (decayed).',
				'ratio',
				[
					['recent', 'recent', 'a', gauge('tiering.fastShareRecent')],
					['all', 'since start', 'exact', gauge('tiering.fastShare'), { dashed: true }]
				],
				1
			)
		);
	return out;
}
