/**
 * The summary of a run: what the CLI prints (and `--json` emits) and what the page shows.
 * Everything here is derived from virtual time, so it is identical in Node and in a browser.
 */
import { GuestMetrics, summarize, type LatencySummary } from './metrics';
import { OP_NAMES, type OpName } from './io';
import type { Simulation } from './simulation';
import type { GuestErrorRecord } from './guest';
import type { Mismatch } from './verify';
import type { ClusterSummary } from './cluster/index';

export interface OpResult {
	ios: number;
	iops: number;
	/** MB/s (10^6 bytes per virtual second). */
	mbps: number;
	errors: number;
	latencyUs: LatencySummary;
}

export interface RunResult {
	scenario: string;
	seed: number;
	ios: number;
	iops: number;
	mbps: number;
	/** Virtual time from the first guest issue to the last guest completion, µs (IOPS and MB/s are over it). */
	elapsedUs: number;
	/** Virtual time of the last guest completion, µs on the run's clock. */
	workloadEndUs: number;
	/**
	 * Virtual time the run ended, µs on the run's clock: later than workloadEndUs when filter work
	 * (destaging, replication, a flush) or a timed operation kept it going after the workload.
	 */
	endUs: number;
	/** No data bytes moved (run.timingOnly): nothing was verified. */
	timingOnly: boolean;
	latencyUs: LatencySummary;
	ops: Record<OpName, OpResult>;
	outstanding: { mean: number; max: number };
	verify: { reads: number; sectorsChecked: number; mismatches: number; firstMismatch?: Mismatch };
	errors: { count: number; first: GuestErrorRecord[] };
	traceDigest: string;
	/** Rows (I/Os, guest and filter) the trace completed; the digest covers them all. */
	traceRows: number;
	/** The last of those the trace ring still holds: what --csv-out and --perfetto-out export. */
	traceRowsHeld: number;
	/** Status counters per filter, keyed "filter" (one disk) or "vm/disk/filter" (several). */
	filters: Record<string, Record<string, number | string>>;
	disks: { key: string; ios: number; iops: number; chain: string[] }[];
	events: number;
	log: { t: number; source: string; message: string }[];
	/** The cluster after the run (hosts, bundles, VMs) and every operation with its effect or refusal. */
	cluster: ClusterSummary;
}

export function runResult(sim: Simulation): RunResult {
	const all = new GuestMetrics();
	const filters: RunResult['filters'] = {};
	const multi = sim.disks.length > 1;
	let reads = 0;
	let sectorsChecked = 0;
	let mismatches = 0;
	let firstMismatch: Mismatch | undefined;
	let errorCount = 0;
	const firstErrors: GuestErrorRecord[] = [];
	for (const d of sim.disks) {
		const m = d.guest.metrics;
		mergeInto(all, m);
		reads += d.expected.reads;
		sectorsChecked += d.expected.sectorsChecked;
		mismatches += d.expected.mismatches;
		firstMismatch ??= d.expected.firstMismatch;
		errorCount += d.guest.errorCount;
		firstErrors.push(...d.guest.errors.slice(0, 10 - firstErrors.length));
		for (const f of d.chain.filters) {
			const twice = d.chain.filters.filter((g) => g.def.name === f.def.name).length > 1;
			const name = twice ? `${f.def.name}@${f.cls}` : f.def.name;
			filters[multi ? `${d.key}/${name}` : name] = f.status();
		}
	}
	const elapsedS = all.elapsedS;
	const ops = {} as Record<OpName, OpResult>;
	OP_NAMES.forEach((name, i) => {
		const o = all.ops[i];
		ops[name] = {
			ios: o.ios,
			iops: elapsedS > 0 ? o.ios / elapsedS : 0,
			mbps: elapsedS > 0 ? o.bytes / 1e6 / elapsedS : 0,
			errors: o.errors,
			latencyUs: summarize(o.latency)
		};
	});
	return {
		scenario: sim.scenario.name,
		seed: sim.scenario.seed,
		ios: all.ios,
		iops: all.iops,
		mbps: elapsedS > 0 ? all.bytes / 1e6 / elapsedS : 0,
		elapsedUs: elapsedS * 1e6,
		workloadEndUs: all.ios > 0 ? all.lastDone : 0,
		endUs: sim.sched.now,
		timingOnly: sim.scenario.run.timingOnly,
		latencyUs: summarize(all.allLatencies()),
		ops,
		outstanding: { mean: meanOutstanding(sim), max: Math.max(0, ...sim.disks.map((d) => d.guest.metrics.maxOutstanding)) },
		verify: { reads, sectorsChecked, mismatches, ...(firstMismatch ? { firstMismatch } : {}) },
		errors: { count: errorCount, first: firstErrors },
		traceDigest: sim.trace.digest(),
		traceRows: sim.trace.completed,
		traceRowsHeld: sim.trace.held,
		filters,
		disks: sim.disks.map((d) => ({
			key: d.key,
			ios: d.guest.metrics.ios,
			iops: d.guest.metrics.iops,
			chain: d.chain.filters.map((f) => f.def.name)
		})),
		events: sim.events,
		log: sim.log.slice(0, 200),
		cluster: sim.cluster.summary()
	};
}

function mergeInto(all: GuestMetrics, m: GuestMetrics): void {
	m.ops.forEach((o, i) => {
		const t = all.ops[i];
		t.ios += o.ios;
		t.bytes += o.bytes;
		t.errors += o.errors;
		t.latency.pushAll(o.latency);
	});
	all.ios += m.ios;
	all.firstIssue = Math.min(all.firstIssue, m.firstIssue);
	all.lastDone = Math.max(all.lastDone, m.lastDone);
}

function meanOutstanding(sim: Simulation): number {
	return sim.disks.reduce((a, d) => a + d.guest.metrics.meanOutstanding, 0);
}
