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
	/** Virtual time from the first issue to the last completion, µs. */
	elapsedUs: number;
	latencyUs: LatencySummary;
	ops: Record<OpName, OpResult>;
	outstanding: { mean: number; max: number };
	verify: { reads: number; sectorsChecked: number; mismatches: number; firstMismatch?: Mismatch };
	errors: { count: number; first: GuestErrorRecord[] };
	traceDigest: string;
	traceRows: number;
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
		latencyUs: summarize(all.all),
		ops,
		outstanding: { mean: meanOutstanding(sim), max: Math.max(0, ...sim.disks.map((d) => d.guest.metrics.maxOutstanding)) },
		verify: { reads, sectorsChecked, mismatches, ...(firstMismatch ? { firstMismatch } : {}) },
		errors: { count: errorCount, first: firstErrors },
		traceDigest: sim.trace.digest(),
		traceRows: sim.trace.completed,
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
		appendSamples(t.latency, o.latency.values());
	});
	appendSamples(all.all, m.all.values());
	all.firstIssue = Math.min(all.firstIssue, m.firstIssue);
	all.lastDone = Math.max(all.lastDone, m.lastDone);
}

/** Index loop: for...of over a Float64Array would box every value it hands out. */
function appendSamples(to: { push(v: number): void }, values: Float64Array): void {
	for (let i = 0; i < values.length; i++) to.push(values[i]);
}

function meanOutstanding(sim: Simulation): number {
	return sim.disks.reduce((a, d) => a + d.guest.metrics.meanOutstanding, 0);
}
