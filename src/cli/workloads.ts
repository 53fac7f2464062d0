/**
 * Workloads from files users already have: a fio job file (`--fio`) becomes a one-VM, one-disk
 * scenario whose workload has one stream per job.
 */
import * as path from 'node:path';
import { defaultScenario, ScenarioError, type ScenarioInput } from '../lib/engine/index';
import type { FioParseResult } from '../lib/engine/workload/fio';
import { MAX_DISK_BYTES } from '../lib/engine/io';
import type { ChainFilter } from './chain';

const GiB = 2 ** 30;
const MiB = 2 ** 20;
/** The default scenario's disk size; a fio job that reaches further gets a larger disk. */
const DEFAULT_DISK_BYTES = 20 * GiB;

/**
 * The default scenario's VM and disk (and its pass-through filter, unless `chain` is given) with
 * the fio jobs as the disk's workload. The disk is 20 GiB, or larger when a job's region (or, for
 * a job without a size, its io_size from its offset) reaches beyond; the seed is the file's randseed, when it has one.
 */
export function fioScenario(fio: FioParseResult, file: string, chain: ChainFilter[] | undefined): ScenarioInput {
	const s = defaultScenario();
	const base = path.basename(file);
	s.name = `fio: ${base}`;
	s.description = `${fio.jobs.length} job${fio.jobs.length === 1 ? '' : 's'} from ${base}: ${fio.jobs.map((j) => j.name).join(', ')}`.slice(0, 4000);
	if (fio.seed !== undefined) s.seed = fio.seed;
	const disk = s.vms[0].disks[0];
	if (chain !== undefined) disk.policy = { ...disk.policy, filters: chain.map((f) => ({ ...f })) };
	let reach = DEFAULT_DISK_BYTES;
	for (const j of fio.jobs) {
		const s = j.spec;
		// A job without a size runs to the disk's end, as fio on a device: room for its io_size
		// from its offset (numjobs clones at growing offsets included), else 1 MiB.
		reach = Math.max(reach, s.offset + (s.size > 0 ? s.size : Math.max(MiB, s.ioSize ?? 0)));
	}
	disk.size = Math.min(MAX_DISK_BYTES, Math.ceil(reach / MiB) * MiB);
	// Each stream is named by its job: the exports' job column, --json's streams[].job, --fio-out.
	disk.workload = fio.jobs.map((j) => ({ name: j.name, ...j.spec, ...(j.spec.bssplit ? { bssplit: j.spec.bssplit.map((b) => ({ ...b })) } : {}) }));
	return s;
}

/** A scenario error about workload[k] of a fio scenario, told in terms of the job file. */
export function fioScenarioError(e: ScenarioError, fio: FioParseResult, file: string): string | undefined {
	const m = /^vms\[0\]\.disks\[0\]\.workload\[(\d+)\]\.?(.*)$/.exec(e.path);
	const job = m ? fio.jobs[Number(m[1])] : undefined;
	if (!m || !job) return undefined;
	return `${file}: job "${job.name}": ${m[2] ? `${m[2]}: ` : ''}${e.reason}`;
}

/** Text lines for the summary: what the job file gave, and what it said that does not apply. */
export function fioSummaryLines(fio: FioParseResult, file: string): string[] {
	const out = [`  workload: fio job file ${file}: ${fio.jobs.length} job${fio.jobs.length === 1 ? '' : 's'} (${fio.jobs.map((j) => j.name).join(', ')})`];
	if (fio.ignored.length) out.push(`    ignored (does not apply to a simulated disk): ${fio.ignored.join(', ')}`);
	for (const n of fio.notes) out.push(`    note: ${n}`);
	return out;
}
