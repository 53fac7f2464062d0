import { all, chainOf, scenario, stat, us, variant, workload, type Lesson } from './types';

/**
 * Write-back against write-through: a write-back cache completes writes on the host's SSD, so they
 * are fast, but until they are destaged the only copy is on that host (dirty blocks). Background
 * destage is off here, so the dirty blocks pile up until the VM powers off and the filter destages
 * them all before the power-off completes.
 */
const base = scenario({
	name: 'lesson-write-back',
	description: 'Write-back SSD cache in front of an HDD datastore, background destage off; the VM powers off at 4 s.',
	datastore: 'hdd',
	filters: [{ type: 'cache', params: { mode: 'write-back', destageMBps: 0 } }],
	workload: [workload({ rw: 'randrw', iodepth: 8, rwmixread: 30, ios: 1500, size: 64 * 2 ** 20 })],
	operations: [{ atUs: 4_000_000, op: 'power-off', vm: 'vm-01' }]
});

export const writeBackDirtyData: Lesson = {
	id: 'write-back',
	title: 'Write-back vs write-through: latency and the risk of dirty data',
	summary: 'A write-back cache acknowledges writes from the host SSD: fast, but the only copy stays on that host until it is destaged.',
	learn: [
		'Why a write-back cache makes writes complete at SSD speed while reads that miss still pay the HDD.',
		'What a dirty block is: acknowledged to the guest, not yet on the datastore; a host loss would lose it.',
		'That VAIO tells filters of power-off, and a cache must destage before the VM stops.'
	],
	scenario: base,
	speed: 1000,
	view: 'charts',
	steps: [
		{ text: 'Press Play. The cache is write-back, the datastore an HDD, and background destage is off (destageMBps 0).' },
		{ text: 'Compare the write and read latencies: writes complete on the SSD in tens of µs; reads that miss wait tens of ms for the HDD.', watch: 'Latency chart' },
		{ text: 'Watch Dirty cache blocks climb with every write: each one is acknowledged to the guest but exists only on this host\'s SSD.', watch: 'Dirty cache blocks' },
		{ text: 'At 4 s the VM powers off. The filter is told and destages every dirty block before the power-off completes: the dirty count falls to 0 and the Log shows when power-off finished.', watch: 'Log' },
		{ text: 'Set mode to write-through in the cache panel and Play again (or open Compare): writes now wait for the HDD, and nothing is ever dirty.' }
	],
	expected: {
		text: 'Writes complete in under 1 ms (the SSD) while read misses take over 5 ms (the HDD); at power-off every dirty block is destaged (0 left) and every read verifies.',
		run({ result: r }) {
			const destages = stat(r, 'cache', 'destages');
			const dirty = stat(r, 'cache', 'dirtyBlocks');
			return all([
				[r.ops.write.latencyUs.p50 < 1000, `write p50 ${us(r.ops.write.latencyUs.p50)}`],
				[r.ops.read.latencyUs.p50 > 5000, `read p50 ${us(r.ops.read.latencyUs.p50)}`],
				[destages > 0 && dirty === 0, `${destages} blocks destaged at power-off, ${dirty} dirty left`],
				[r.verify.mismatches === 0 && r.verify.reads > 0, `${r.verify.reads} reads verified, ${r.verify.mismatches} mismatches`]
			]);
		}
	},
	compare: {
		a: 'write-back',
		b: 'write-through',
		scenario: variant(base, (s) => {
			s.name = 'lesson-write-through';
			s.description = 'The same workload and seed through a write-through cache (nothing is ever dirty, so no power-off is needed).';
			chainOf(s)[0].params.mode = 'write-through';
			delete s.operations;
		}),
		gauge: { key: 'cache.dirtyBlocks', title: 'Dirty cache blocks', unit: 'count' },
		expected: {
			text: "Write-back's median write latency is at least 20× lower than write-through's.",
			run: ({ result: a }, { result: b }) =>
				all([[a.ops.write.latencyUs.p50 * 20 < b.ops.write.latencyUs.p50, `write p50 ${us(a.ops.write.latencyUs.p50)} (write-back) vs ${us(b.ops.write.latencyUs.p50)} (write-through)`]])
		}
	}
};
