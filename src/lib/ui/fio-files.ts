/**
 * fio job files in and out of the page: a job file's jobs become the first disk's workload (one
 * stream per job; the workload panel edits the first), and the disk's workload goes out as a job
 * file that fio accepts and parseFioJob reads back to the same workload. What the file said that
 * does not apply is kept for the page to list once (ignored options, warnings with FILE:LINE,
 * notes); a malformed file throws FioParseError, whose message is `FILE:LINE: reason`.
 *
 * No runes and relative imports only, so Node (unit and e2e tests) can use it as it is.
 */
import { FioParseError, formatFioJob, parseFioJob } from '../engine/workload/fio';
import { MAX_DISK_BYTES } from '../engine/io';
import { defaultWorkload } from '../engine/workload/spec';
import type { WorkloadSpec } from '../engine/workload/types';
import type { EditableScenario, WorkloadEntry } from './editable-scenario';

export { FioParseError };

const MiB = 2 ** 20;

export interface FioImport {
	fileName: string;
	workloads: WorkloadEntry[];
	jobNames: string[];
	/** Options that do not apply to a simulated disk, each once. */
	ignored: string[];
	/** `FILE:LINE: …`: options not modelled, unknown names. */
	warnings: string[];
	notes: string[];
	/** The file's randseed (becomes the scenario's seed). */
	seed?: number;
	/** Bytes the jobs reach (offset + size): the disk must be at least this large. */
	reachBytes: number;
}

/** A workload spec as the page's editable entry (every field the schema takes, nothing undefined). */
export function entryFromSpec(spec: WorkloadSpec): WorkloadEntry {
	const e: WorkloadEntry = {
		rw: spec.rw,
		bs: spec.bs,
		iodepth: spec.iodepth,
		rwmixread: spec.rwmixread,
		ios: spec.ios,
		randomDistribution: { ...spec.randomDistribution },
		dedupePercentage: spec.dedupePercentage,
		thinktimeUs: spec.thinktimeUs,
		rateIops: spec.rateIops
	};
	if (spec.runtimeUs) e.runtimeUs = spec.runtimeUs;
	if (spec.size) e.size = spec.size;
	if (spec.offset) e.offset = spec.offset;
	if (spec.blockalign !== undefined) e.blockalign = spec.blockalign;
	if (spec.bssplit && spec.bssplit.length) e.bssplit = spec.bssplit.map((b) => ({ ...b }));
	if (spec.ioSize !== undefined) e.ioSize = spec.ioSize;
	if (spec.fsync) e.fsync = spec.fsync;
	if (spec.seqAdd) e.seqAdd = spec.seqAdd;
	if (spec.randomMap !== undefined) e.randomMap = spec.randomMap;
	return e;
}

/** The page's entry as a full workload spec (the engine's defaults for what it leaves out). */
export function specFromEntry(w: WorkloadEntry): WorkloadSpec {
	const d = defaultWorkload();
	const spec: WorkloadSpec = {
		...d,
		rw: w.rw as WorkloadSpec['rw'],
		bs: w.bs,
		iodepth: w.iodepth,
		rwmixread: w.rwmixread,
		ios: w.ios,
		runtimeUs: w.runtimeUs ?? 0,
		size: w.size ?? 0,
		offset: w.offset ?? 0,
		randomDistribution: { ...w.randomDistribution },
		dedupePercentage: w.dedupePercentage,
		thinktimeUs: w.thinktimeUs,
		rateIops: w.rateIops
	};
	if (w.blockalign !== undefined) spec.blockalign = w.blockalign;
	if (w.bssplit && w.bssplit.length) spec.bssplit = w.bssplit.map((b) => ({ ...b }));
	if (w.ioSize !== undefined) spec.ioSize = w.ioSize;
	if (w.fsync) spec.fsync = w.fsync;
	if (w.seqAdd) spec.seqAdd = w.seqAdd;
	if (w.randomMap !== undefined) spec.randomMap = w.randomMap;
	return spec;
}

/** Reads a job file; throws FioParseError (`FILE:LINE: reason`). */
export function importFioJob(text: string, fileName: string): FioImport {
	const r = parseFioJob(text, fileName);
	let reach = 0;
	for (const j of r.jobs) if (j.spec.size > 0) reach = Math.max(reach, j.spec.offset + j.spec.size);
	for (const j of r.jobs) if (j.spec.offset >= reach) reach = Math.max(reach, Math.min(j.spec.offset + MiB, MAX_DISK_BYTES));
	return {
		fileName,
		// Each stream is named by its job (numjobs clones "name.0", "name.1", …).
		workloads: r.jobs.map((j) => ({ name: j.name, ...entryFromSpec(j.spec) })),
		jobNames: r.jobs.map((j) => j.name),
		ignored: r.ignored,
		warnings: r.warnings,
		notes: r.notes,
		...(r.seed !== undefined ? { seed: r.seed } : {}),
		reachBytes: reach
	};
}

/**
 * Puts an import into the scenario: the jobs become the first disk's workload, the file's
 * randseed its seed, and the disk grows (in whole MiB) if a job reaches beyond it.
 */
export function applyFioImport(scenario: EditableScenario, imp: FioImport): void {
	const disk = scenario.vms[0].disks[0];
	disk.workload = imp.workloads.map((w) => structuredClone(w));
	if (imp.seed !== undefined) scenario.seed = imp.seed;
	if (imp.reachBytes > disk.size) disk.size = Math.ceil(imp.reachBytes / MiB) * MiB;
}

/** The first disk's workload as a fio job file (one [job] per stream, named by the stream's name). */
export function exportFioJob(scenario: EditableScenario): string {
	const disk = scenario.vms[0].disks[0];
	return formatFioJob(
		disk.workload.map((w) => ({ name: w.name, spec: specFromEntry(w) })),
		{ title: `VAIO Playground: ${scenario.name}`, seed: scenario.seed, diskBytes: disk.size }
	);
}

/** True for a name that looks like a fio job file rather than a block trace. */
export function looksLikeFioJob(name: string, head: string): boolean {
	const n = name.toLowerCase();
	if (/\.(fio|job|ini)$/.test(n)) return true;
	if (/\.(vscsi|bin|csv|blkparse|blktrace|blk)$/.test(n)) return false;
	// A job file starts with comments or a [section] line.
	const first = head.split(/\r?\n/).find((l) => l.trim() !== '' && !/^\s*[;#]/.test(l));
	return first !== undefined && /^\s*\[[^\]]+\]\s*$/.test(first);
}
