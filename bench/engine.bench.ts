/**
 * `npm run bench`: the engine's own speed, in wall-clock I/O per second (this script may read the
 * wall clock; the engine never does). 4 KiB random 70/30 read/write at queue depth 32 on the
 * memory store, real data, verification on, with no filters and with six pass-through filters
 * (one per class). Runs alternate and the best of each is kept, so a busy machine hurts both
 * alike; the last line is the ratio.
 */
import os from 'node:os';
import { runScenario } from '../src/lib/engine/index';
import { FILTER_CLASSES } from '../src/lib/engine/filter';

const IOS = Number(process.env.BENCH_IOS ?? 300_000);
const REPS = Number(process.env.BENCH_REPS ?? 3);

function scenario(filters: { type: string; class?: string }[]) {
	return {
		version: 1,
		name: 'bench',
		seed: 7,
		vms: [
			{
				name: 'vm',
				disks: [
					{
						name: 'disk',
						size: '20g',
						datastore: { kind: 'null' },
						policy: { filters },
						workload: [{ rw: 'randrw', rwmixread: 70, bs: '4k', iodepth: 32, ios: IOS }]
					}
				]
			}
		]
	};
}

async function measure(filters: { type: string; class?: string }[]): Promise<number> {
	const t0 = performance.now();
	const r = await runScenario(scenario(filters));
	const s = (performance.now() - t0) / 1000;
	if (r.verify.mismatches !== 0 || r.errors.count !== 0 || r.ios !== IOS) throw new Error('benchmark run was not clean');
	return r.ios / s;
}

const six = FILTER_CLASSES.slice(0, 6).map((c) => ({ type: 'passthrough', class: c }));
console.log(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, node ${process.version}`);
console.log(`workload: 4 KiB randrw 70/30, QD 32, ${IOS} I/Os, memory store, null datastore, verify on; best of ${REPS}`);
await measure([]); // warm-up: JIT and the hash module
let none = 0;
let chain = 0;
for (let i = 0; i < REPS; i++) {
	none = Math.max(none, await measure([]));
	chain = Math.max(chain, await measure(six));
}
console.log(`no-filters-iops: ${Math.round(none)}`);
console.log(`six-passthrough-iops: ${Math.round(chain)}`);
console.log(`overhead-ratio: ${(chain / none).toFixed(3)}`);
