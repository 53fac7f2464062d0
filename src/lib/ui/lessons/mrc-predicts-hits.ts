import { all, pct, scenario, stat, workload, type Lesson, type LessonRun } from './types';

/**
 * The analytics filter (inspection class: it sees the guest's I/O as issued) builds a miss-ratio
 * curve with SHARDS: for every cache size, the share of references an LRU cache of that size
 * would miss. Read at the cache's size, it predicts the hit ratio the LRU cache below gets.
 */
const MiB = 2 ** 20;
const CACHE_MIB = 8;

const base = scenario({
	name: 'lesson-mrc',
	description: 'Analytics above an 8 MiB LRU cache; zipf(1.0) random reads over 1 GiB.',
	datastore: 'sata-ssd',
	filters: [
		{ type: 'analytics', params: { shardsRate: 1 } },
		{ type: 'cache', params: { policy: 'lru', capacityMiB: CACHE_MIB } }
	],
	workload: [workload({ rw: 'randread', iodepth: 8, ios: 6000, randomDistribution: { kind: 'zipf', theta: 1 } })]
});

/** 1 − the curve's miss ratio at `bytes` (linear between its points), or NaN without a report. */
export function predictedHitRatio(r: LessonRun, bytes: number): number {
	const mrc = r.analytics?.mrc;
	if (!mrc || mrc.sizesBytes.length === 0) return NaN;
	const xs = mrc.sizesBytes;
	const ys = mrc.missRatio;
	if (bytes >= xs[xs.length - 1]) return 1 - ys[ys.length - 1];
	for (let i = 1; i < xs.length; i++)
		if (xs[i] >= bytes) {
			const f = (bytes - xs[i - 1]) / (xs[i] - xs[i - 1] || 1);
			return 1 - (ys[i - 1] + f * (ys[i] - ys[i - 1]));
		}
	return NaN;
}

export const mrcPredictsHits: Lesson = {
	id: 'mrc',
	title: 'The miss-ratio curve predicts the cache hit ratio',
	summary: 'The analytics filter measures what any LRU cache size would hit; read at 8 MiB it predicts the cache below.',
	learn: [
		'What a miss-ratio curve (MRC) is, and how SHARDS samples blocks by a hash to build it cheaply.',
		'How to size a cache from the curve before buying the SSD.',
		'Why an inspection-class filter sees the guest\'s I/O as issued, before any cache changes it.'
	],
	scenario: base,
	speed: 1000,
	view: 'charts',
	steps: [
		{ text: 'Press Play. Analytics (inspection) watches the guest\'s reads; an 8 MiB LRU cache sits below it.' },
		{ text: 'Scroll the Charts tab to the Miss-ratio curve: the miss ratio for each cache size, up to the working set.', watch: 'Miss-ratio curve' },
		{ text: 'Read the curve at 8 MiB, then compare 1 − miss ratio with the Cache hit ratio chart: they agree within a few points.', watch: 'Cache hit ratio' },
		{ text: 'Change capacityMiB (say 2 or 12) and Play again: the hit ratio moves along the curve.' }
	],
	expected: {
		text: "1 − the MRC's miss ratio at the cache's 8 MiB is within 5 points of the cache's measured read hit ratio.",
		run(r) {
			const predicted = predictedHitRatio(r, CACHE_MIB * MiB);
			const hit = stat(r.result, 'cache', 'readHitRatio');
			return all([[Math.abs(predicted - hit) <= 0.05, `predicted ${pct(predicted)} from the MRC, measured ${pct(hit)}`]]);
		}
	}
};
