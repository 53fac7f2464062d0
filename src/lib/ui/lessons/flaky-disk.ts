import { all, scenario, stat, workload, type Lesson } from './types';

/**
 * A flaky layer fails 5 % of writes. VAIO's rule: when a filter fails an I/O, only the filters
 * before it (above it) are told, on the way up; the filters after it never see that I/O at all.
 */
const base = scenario({
	name: 'lesson-flaky-disk',
	description: 'Analytics and a write-through cache above a flaky layer that fails 5 % of writes; a pass-through filter below it.',
	datastore: 'nvme',
	filters: [
		{ type: 'analytics', params: {} },
		{ type: 'cache', params: { mode: 'write-through' } },
		{ type: 'flaky', class: 'dataProvider', params: { mode: 'fail', ops: 'write', probability: 0.05 } },
		{ type: 'passthrough', class: 'datastoreIoControl', params: {} }
	],
	workload: [workload({ rw: 'randrw', iodepth: 8, rwmixread: 50, ios: 2000, size: 64 * 2 ** 20 })]
});

export const flakyDisk: Lesson = {
	id: 'flaky-disk',
	title: 'A flaky disk, and who is told of the failure',
	summary: 'When a filter fails an I/O, only the filters above it hear of it; the filters below never see that I/O.',
	learn: [
		'Completion travels back up through the filters that saw the I/O, in reverse order.',
		'If a filter fails an I/O, only the filters before it are told; the ones after it never saw it.',
		'How the guest sees the failure (EIO) and why verification does not count a failed write as data.'
	],
	scenario: base,
	speed: 1,
	view: 'trace',
	steps: [
		{ text: 'Press Play (slow motion: 1 virtual µs per wall ms). The flaky filter, in the dataProvider slot, fails about 1 write in 20 with EIO.' },
		{ text: 'In Trace, filter by status "failed" and select one: its waterfall goes down through analytics and cache to flaky, then back up. Pass-through, below flaky, has no bar: it never saw the I/O.', watch: 'Trace · waterfall' },
		{ text: 'The Errors counter and the analytics filter\'s errors both equal flaky\'s failed count: the filters above were told.', watch: 'Filter table' },
		{ text: 'Pass-through\'s verdictPass equals flaky\'s verdictPass: none of the failed writes reached the filter below.', watch: 'Filter table' }
	],
	expected: {
		text: 'Some writes fail; the guest and the analytics filter above are told of each one; the pass-through filter below sees none of them; no read returns wrong data.',
		run({ result: r }) {
			const failed = stat(r, 'flaky', 'failed');
			const told = stat(r, 'analytics', 'errors');
			const below = stat(r, 'passthrough', 'verdictPass');
			const passed = stat(r, 'flaky', 'verdictPass');
			return all([
				[failed > 0 && r.errors.count === failed, `${failed} writes failed by flaky, ${r.errors.count} errors seen by the guest`],
				[told === failed, `${told} failures reported to analytics above`],
				[below === passed, `${below} I/Os reached pass-through below (flaky passed ${passed})`],
				[r.verify.mismatches === 0, `${r.verify.mismatches} mismatches`]
			]);
		}
	}
};
