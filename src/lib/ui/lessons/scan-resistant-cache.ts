import { all, chainOf, pct, scenario, stat, variant, workload, type Lesson } from './types';

/**
 * A 1 MiB cache, a 0.75 MiB hot set read at random, and a sequential scan through 512 MiB at the
 * same time. LRU lets every scanned block (read once, never again) push hot blocks out; ARC keeps
 * blocks seen twice in a separate list the scan cannot flush.
 */
const MiB = 2 ** 20;

const base = scenario({
	name: 'lesson-arc-scan',
	description: 'A 1 MiB ARC cache; a hot set of 0.75 MiB read at random while a sequential scan reads 512 MiB once.',
	datastore: 'sata-ssd',
	filters: [{ type: 'cache', params: { policy: 'arc', capacityMiB: 1 } }],
	workload: [
		workload({ rw: 'randread', iodepth: 4, ios: 3000, size: 0.75 * MiB }),
		workload({ rw: 'read', iodepth: 4, ios: 3000, offset: 256 * MiB, size: 512 * MiB })
	]
});

export const scanResistantCache: Lesson = {
	id: 'scan-resistant-cache',
	title: 'Scan-resistant caching: ARC vs LRU',
	summary: 'A one-time scan flushes an LRU cache; ARC keeps the blocks that are used again.',
	learn: [
		'Why "least recently used" fails when a scan reads many blocks once.',
		'How ARC splits recency from frequency (T1/T2 lists and ghosts) and adapts between them.',
		'That S3-FIFO gets the same protection from a small admission FIFO and a ghost queue.',
		'That the cache policy is the filter\'s decision maker: policies decide, the filter moves the data.'
	],
	scenario: base,
	speed: 1000,
	view: 'charts',
	steps: [
		{ text: 'Press Play. Two workloads run at once: random reads of a 0.75 MiB hot set, and a scan that reads 512 MiB once; the cache holds 1 MiB.' },
		{ text: 'Watch the Cache hit ratio: about half the reads are the scan and always miss, so ≈ 45 % is nearly every hot read hitting.', watch: 'Cache hit ratio' },
		{ text: 'In the filter table, arcT2 holds the hot blocks (seen twice); the scan passes through T1 without flushing them.', watch: 'Filter table' },
		{ text: 'Set policy to lru and Play again (or open Compare): each scanned block now evicts a hot one, and the hit ratio drops to ≈ 29 %.' },
		{
			text: 'Set policy to s3fifo and Play again: new blocks enter a small FIFO (10 % of the cache) and only those hit twice there (s3PromoteHits) move to the main FIFO, so the scan leaves through the small queue and the hit ratio is back at ≈ 45 %, with plain FIFO queues instead of ARC\'s four lists.',
			watch: 'Filter table'
		}
	],
	expected: {
		text: 'With ARC at least 40 % of all reads hit (nearly every hot-set read), although half of the reads are a scan.',
		run({ result: r }) {
			const hit = stat(r, 'cache', 'readHitRatio');
			return all([
				[hit >= 0.4, `read hit ratio ${pct(hit)}`],
				[r.verify.mismatches === 0, `${r.verify.mismatches} mismatches`]
			]);
		}
	},
	compare: {
		a: 'ARC',
		b: 'LRU',
		scenario: variant(base, (s) => {
			s.name = 'lesson-lru-scan';
			s.description = 'The same workloads and seed with an LRU cache.';
			chainOf(s)[0].params.policy = 'lru';
		}),
		gauge: { key: 'cache.readHitRatio', title: 'Cache read hit ratio', unit: 'ratio' },
		expected: {
			text: "ARC's read hit ratio beats LRU's by at least 10 points.",
			run: ({ result: a }, { result: b }) => {
				const ha = stat(a, 'cache', 'readHitRatio');
				const hb = stat(b, 'cache', 'readHitRatio');
				return all([[ha - hb >= 0.1, `${pct(ha)} (ARC) vs ${pct(hb)} (LRU)`]]);
			}
		}
	}
};
