/**
 * The summary of a run: what the CLI prints (and `--json` emits) and what the page shows.
 * Everything here is derived from virtual time, so it is identical in Node and in a browser.
 */
import { GuestMetrics, Samples, summarize, type LatencySummary } from './metrics';
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
	/** Per workload stream of each disk (a fio job, a trace replay), in disk and stream order. */
	streams: StreamResult[];
	events: number;
	log: { t: number; source: string; message: string }[];
	/** The cluster after the run (hosts, bundles, VMs) and every operation with its effect or refusal. */
	cluster: ClusterSummary;
}

/** One workload stream's results, like fio's per-job report. */
export interface StreamResult {
	disk: string;
	/** The stream's index on its disk (its workload[k], a fio file's k-th job). */
	stream: number;
	/** The stream's name when it has one: its workload[k].name (a fio file's [job]), a trace replay's file. */
	job?: string;
	ios: number;
	/** Over the stream's own elapsed time (its first issue to its last completion), as fio's per job. */
	iops: number;
	mbps: number;
	elapsedUs: number;
	latencyUs: LatencySummary;
	ops: Record<OpName, OpResult>;
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
	const mbps = elapsedS > 0 ? all.bytes / 1e6 / elapsedS : 0;
	const latencyUs = summarize(all.allLatencies());
	const ops = opResults(all);
	// One disk with one stream: the stream's results are the run's (summarising millions of
	// latencies twice would cost a timing-only run a tenth of its time).
	const only = sim.disks.length === 1 && sim.disks[0].guest.streams.length === 1 ? sim.disks[0] : undefined;
	const streams = only
		? [{ disk: only.key, stream: 0, ...named(only.guest.streamName(0)), ios: all.ios, iops: all.iops, mbps, elapsedUs: elapsedS * 1e6, latencyUs, ops }]
		: sim.disks.flatMap((d) => d.guest.streams.map((_, k) => streamResult(d.key, k, d.guest.streamName(k), d.guest.streamMetrics(k))));
	return {
		scenario: sim.scenario.name,
		seed: sim.scenario.seed,
		ios: all.ios,
		iops: all.iops,
		mbps,
		elapsedUs: elapsedS * 1e6,
		workloadEndUs: all.ios > 0 ? all.lastDone : 0,
		endUs: sim.sched.now,
		timingOnly: sim.scenario.run.timingOnly,
		latencyUs,
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
		streams,
		events: sim.events,
		log: sim.log.slice(0, 200),
		cluster: sim.cluster.summary()
	};
}

/**
 * Per-operation results of `m`. Percentiles reorder the samples they are taken from, and a
 * reordered sample sums (mean) to other last bits: with `live`, metrics a run still adds to,
 * they are taken from a copy, so asking for results mid-run changes nothing.
 */
function opResults(m: GuestMetrics, live = false): Record<OpName, OpResult> {
	const s = m.elapsedS;
	const ops = {} as Record<OpName, OpResult>;
	OP_NAMES.forEach((name, i) => {
		const o = m.ops[i];
		ops[name] = {
			ios: o.ios,
			iops: s > 0 ? o.ios / s : 0,
			mbps: s > 0 ? o.bytes / 1e6 / s : 0,
			errors: o.errors,
			latencyUs: summarize(live ? Samples.union([o.latency]) : o.latency)
		};
	});
	return ops;
}

/** `job` when the stream has a name (unnamed streams' results are as they were). */
function named(job: string | undefined): { job?: string } {
	return job === undefined ? {} : { job };
}

function streamResult(disk: string, stream: number, job: string | undefined, m: GuestMetrics): StreamResult {
	const s = m.elapsedS;
	return {
		disk,
		stream,
		...named(job),
		ios: m.ios,
		iops: m.iops,
		mbps: s > 0 ? m.bytes / 1e6 / s : 0,
		elapsedUs: s * 1e6,
		latencyUs: summarize(m.allLatencies()),
		ops: opResults(m, true)
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
