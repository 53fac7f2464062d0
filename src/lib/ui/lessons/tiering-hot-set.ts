import { all, pct, scenario, stat, workload, type Lesson } from './types';

/**
 * Tiering a zipf hot set: a small NVMe fast tier in front of an HDD capacity tier. The filter
 * tracks each extent's heat and migrates hot extents up in the background, so most I/O soon lands
 * on the fast tier although it holds a few percent of the disk.
 */
const base = scenario({
	name: 'lesson-tiering',
	description: 'A 64 MiB NVMe fast tier over a 1 GiB HDD disk; 4 KiB zipf(1.2) random I/O.',
	datastore: 'hdd',
	filters: [{ type: 'tiering', params: { fastCapacityMiB: 64, extentKiB: 1024, halfLifeMs: 500 } }],
	workload: [workload({ rw: 'randrw', iodepth: 16, rwmixread: 70, ios: 3000, randomDistribution: { kind: 'zipf', theta: 1.2 } })]
});

export const tieringHotSet: Lesson = {
	id: 'tiering',
	title: 'Tiering a zipf hot set',
	summary: 'A fast tier of 6 % of the disk serves most of the I/O once the hot extents have moved up.',
	learn: [
		'How heat (accesses decayed over a half-life) picks the extents to promote.',
		'That migration is the filter\'s own I/O, in the background, while guest I/O keeps flowing.',
		'Why a skewed (zipf) workload is what tiering is built for.'
	],
	scenario: base,
	speed: 1000,
	view: 'charts',
	steps: [
		{ text: 'Press Play. Every extent starts on the HDD; the fast tier holds 64 of the disk\'s 1,024 extents.' },
		{ text: 'Watch Tier share: the share of I/O served by the fast tier climbs as hot extents migrate up.', watch: 'Tier share' },
		{ text: 'Latency falls from HDD milliseconds to NVMe microseconds for most I/Os as the share rises.', watch: 'Latency chart' },
		{ text: 'In the filter table, promotions and bytesMoved count the migrations.', watch: 'Filter table' }
	],
	expected: {
		text: 'More than half of all I/O is served by the fast tier, which holds about 6 % of the disk.',
		run({ result: r }) {
			const share = stat(r, 'tiering', 'fastShare');
			return all([
				[share > 0.5, `fast tier served ${pct(share)} of I/O`],
				[stat(r, 'tiering', 'promotions') > 0, `${stat(r, 'tiering', 'promotions')} promotions`],
				[r.verify.mismatches === 0, `${r.verify.mismatches} mismatches`]
			]);
		}
	}
};
