import { all, chainOf, scenario, stat, us, variant, workload, type Lesson } from './types';

/**
 * Sync against async replication over a 20 ms WAN: async acknowledges writes locally and ships a
 * journal behind them (the replica lags: RPO > 0); sync waits for the remote ack on every write
 * (RPO 0, but every write pays the round trip).
 */
const RTT_US = 20_000;

const base = scenario({
	name: 'lesson-async-replication',
	description: 'Async replication over a 20 ms, 100 Mbit/s WAN; 1,000 writes/s of 4 KiB.',
	datastore: 'nvme',
	filters: [{ type: 'replication', params: { mode: 'async' }, devices: { wan: { kind: 'wan', rttUs: RTT_US, mbitPerSec: 100 } } }],
	workload: [workload({ rw: 'randwrite', iodepth: 4, ios: 2000, size: 64 * 2 ** 20, rateIops: 1000 })]
});

export const syncAsyncReplication: Lesson = {
	id: 'replication-rpo',
	title: 'Sync vs async replication and the RPO',
	summary: 'Async replication keeps writes fast and lets the replica lag (RPO > 0); sync keeps RPO at 0 and makes every write pay the WAN round trip.',
	learn: [
		'Why replication runs before the cache in VAIO class order: it must see every write the guest issues.',
		'What RPO means here: the age of the oldest write the replica site does not have yet.',
		'How the WAN round trip turns into write latency under sync replication.'
	],
	scenario: base,
	speed: 1000,
	view: 'charts',
	steps: [
		{ text: 'Press Play. The guest writes 1,000 × 4 KiB per second; replication is async over a WAN with a 20 ms round trip.' },
		{ text: 'Write latency stays at local NVMe speed (tens of µs): the write completes before it is shipped.', watch: 'Latency chart' },
		{ text: 'Watch Replication RPO: the replica is always a round trip or so behind; a site loss now would lose that much.', watch: 'Replication RPO' },
		{ text: 'Switch mode to sync in the replication panel and Play again (or open Compare): each write waits ≈ 20 ms for the remote ack, and the queue depth of 4 caps the guest at ≈ 200 writes/s.' },
		{ text: 'Under sync the RPO gauge only counts writes still waiting for their ack; none of them was acknowledged to the guest, so a site loss loses nothing the guest was told is done, and at the end the RPO is 0.', watch: 'Replication RPO' }
	],
	expected: {
		text: 'Writes complete in under 1 ms, and the replica lags: the RPO at the end of the run is above 0.',
		run({ result: r }) {
			const rpo = stat(r, 'replication', 'rpoUs');
			return all([
				[r.ops.write.latencyUs.p50 < 1000, `write p50 ${us(r.ops.write.latencyUs.p50)}`],
				[rpo > 0, `RPO ${us(rpo)}, lag ${stat(r, 'replication', 'lagBytes')} bytes`],
				[r.verify.mismatches === 0, `${r.verify.mismatches} mismatches`]
			]);
		}
	},
	compare: {
		a: 'async',
		b: 'sync',
		scenario: variant(base, (s) => {
			s.name = 'lesson-sync-replication';
			s.description = 'The same workload and seed with sync replication.';
			chainOf(s)[0].params.mode = 'sync';
		}),
		gauge: { key: 'replication.rpoUs', title: 'Replication RPO', unit: 'us' },
		expected: {
			text: 'Sync writes wait at least one WAN round trip (20 ms) and keep RPO at 0; async writes are at least 100× faster.',
			run: ({ result: a }, { result: b }) =>
				all([
					[b.ops.write.latencyUs.p50 >= RTT_US, `sync write p50 ${us(b.ops.write.latencyUs.p50)}`],
					[stat(b, 'replication', 'rpoUs') === 0, `sync RPO ${us(stat(b, 'replication', 'rpoUs'))}`],
					[a.ops.write.latencyUs.p50 * 100 < b.ops.write.latencyUs.p50, `async write p50 ${us(a.ops.write.latencyUs.p50)}`]
				])
		}
	}
};
