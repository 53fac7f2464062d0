import { all, chainOf, round3, scenario, stat, us, variant, workload, type Lesson } from './types';

/**
 * The delay filter waits 1 ms per I/O. Blocking (a blocking call on the I/O path) stalls the whole
 * disk: one I/O per ms whatever the queue depth. Deferring holds only that I/O while the others
 * keep flowing: the queue depth's worth of I/Os wait at once.
 */
const DELAY_US = 1000;

const base = scenario({
	name: 'lesson-blocking',
	description: 'A delay filter that waits 1 ms per I/O with a blocking call; queue depth 16 on NVMe.',
	datastore: 'nvme',
	filters: [{ type: 'delay', class: 'inspection', params: { readUs: DELAY_US, writeUs: DELAY_US, blocking: true } }],
	workload: [workload({ rw: 'randrw', iodepth: 16, rwmixread: 70, ios: 2000 })]
});

export const deferVsBlocking: Lesson = {
	id: 'defer-vs-blocking',
	title: 'Defer vs blocking: what a slow filter does to IOPS',
	summary: 'A filter that blocks on the I/O path stalls the whole disk; one that defers holds only that I/O while the others flow.',
	learn: [
		'The four verdicts: pass, complete, fail and defer; and why slow work (a network send, an SSD read) must defer.',
		'That a blocking call serialises the disk: IOPS = 1 / delay, whatever the guest\'s queue depth.',
		'How latency grows with queue depth when the disk is serialised.'
	],
	scenario: base,
	speed: 1000,
	view: 'charts',
	steps: [
		{ text: 'Press Play. The delay filter waits 1 ms per I/O with a blocking call (blocking = true).' },
		{ text: 'IOPS sits at ≈ 1,000: one I/O per millisecond, although the guest keeps 16 in flight.', watch: 'IOPS chart' },
		{ text: 'Latency is ≈ 16 ms: each I/O waits for the 15 ahead of it.', watch: 'Latency chart' },
		{ text: 'Untick blocking in the delay panel and Play again (or open Compare): the filter defers, 16 I/Os wait their 1 ms at once, IOPS rises ≈ 15× and latency falls to ≈ 1 ms.' }
	],
	expected: {
		text: 'With blocking, IOPS stays at or under 1 / delay (≈ 1,000/s) and median latency is over 10× the delay.',
		run({ result: r }) {
			return all([
				[r.iops <= (1e6 / DELAY_US) * 1.05, `${round3(r.iops)} IOPS`],
				[r.latencyUs.p50 > DELAY_US * 10, `p50 ${us(r.latencyUs.p50)}`],
				[stat(r, 'delay', 'chargedUs') > 0, `${us(stat(r, 'delay', 'chargedUs'))} charged as blocking calls`]
			]);
		}
	},
	compare: {
		a: 'blocking',
		b: 'defer',
		scenario: variant(base, (s) => {
			s.name = 'lesson-defer';
			s.description = 'The same workload and seed; the delay filter defers instead of blocking.';
			chainOf(s)[0].params.blocking = false;
		}),
		expected: {
			text: 'Deferring gives at least 10× the IOPS of blocking.',
			run: ({ result: a }, { result: b }) => all([[b.iops > a.iops * 10, `${round3(b.iops)} IOPS deferring vs ${round3(a.iops)} blocking`]])
		}
	}
};
