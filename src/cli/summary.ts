/**
 * The fio-like text summary of a run: job line, one line per operation with IOPS and bandwidth
 * and its completion-latency percentiles, verification, errors, per-filter status, the trace
 * digest, and the virtual run time next to the wall time the CLI measured.
 */
import { OP_NAMES } from '../lib/engine/io';
import type { RunResult } from '../lib/engine/index';
import type { LatencySummary } from '../lib/engine/metrics';
import { streamLines } from './streams';
import { binary, count, decimal, duration } from './units';

export { count, duration } from './units';

/** What the CLI measured around the run (the engine itself never reads a wall clock). */
export interface WallTime {
	ms: number;
	/** Guest I/Os completed per wall-clock second. */
	iops: number;
}

export function formatSummary(r: RunResult, wall: WallTime, store: string): string {
	const out: string[] = [];
	const oneDisk = r.disks.length === 1;
	out.push(
		`${r.scenario}: (seed=${r.seed}, ${plural(r.disks.length, 'disk')}, store=${store}${r.timingOnly ? ', timing-only' : ''})` +
			(oneDisk ? ` chain: ${chainText(r.disks[0].chain)}` : '')
	);
	if (!oneDisk)
		for (const d of r.disks)
			out.push(`  ${d.key}: chain: ${chainText(d.chain)}; ios=${d.ios}, IOPS=${count(d.iops)}`);
	const elapsed = duration(r.elapsedUs);
	for (const name of OP_NAMES) {
		const o = r.ops[name];
		if (o.ios === 0 && o.errors === 0) continue;
		const bytes = o.mbps * r.elapsedUs; // MB/s × µs = bytes
		const bw = o.mbps * 1e6;
		out.push(
			`  ${name}: IOPS=${count(o.iops)}, BW=${binary(bw)}/s (${decimal(bw)}/s)(${binary(bytes)}/${elapsed}), ios=${o.ios}` +
				(o.errors ? `, errors=${o.errors}` : '')
		);
		out.push(`    clat percentiles: ${percentiles(o.latencyUs)}`);
	}
	out.push(`  all: ios=${r.ios}, IOPS=${count(r.iops)}, BW=${binary(r.mbps * 1e6)}/s`);
	out.push(`    clat percentiles: ${percentiles(r.latencyUs)}`);
	out.push(`  iodepth: mean=${r.outstanding.mean.toFixed(1)}, max=${r.outstanding.max}`);
	out.push(...streamLines(r));

	const v = r.verify;
	// A timing-only run moves no bytes: "reads=0" would look like a run without reads.
	if (r.timingOnly) out.push('  verify: off (timing-only: no data bytes move, so reads are not checked)');
	else {
		let verify = `  verify: reads=${v.reads}, sectors checked=${v.sectorsChecked}, mismatches=${v.mismatches}`;
		if (v.firstMismatch)
			verify += `, first bad sector=${v.firstMismatch.sector} (expected content ${hex(v.firstMismatch.expectedContent)}, found ${hex(v.firstMismatch.foundContent)}, I/O #${v.firstMismatch.ioId})`;
		out.push(verify);
	}
	if (r.errors.count === 0) out.push('  errors: 0');
	else {
		const e = r.errors.first[0];
		out.push(
			`  errors: ${r.errors.count}` +
				(e ? `, first: ${e.code} on ${OP_NAMES[e.op] ?? `op ${e.op}`} at sector ${e.lba}${e.source ? ` from ${e.source}` : ''}: ${e.message}` : '')
		);
	}

	const keys = Object.keys(r.filters);
	if (keys.length === 0) out.push('  filters: none');
	for (const k of keys) out.push(`  filter ${k}: ${filterStatus(r.filters[k])}`);
	for (const o of r.cluster?.operations ?? [])
		out.push(`  operation at ${duration(o.t)}: ${o.op} ${o.target}: ${o.message}`);
	const held = r.traceRowsHeld < r.traceRows ? `rows=${r.traceRowsHeld} (the last of ${r.traceRows} traced)` : `rows=${r.traceRows}`;
	out.push(`  trace: digest=${r.traceDigest}, ${held}, events=${r.events}`);
	out.push(`  run: virtual=${duration(r.elapsedUs)}, wall=${duration(wall.ms * 1000)} (${count(wall.iops)} IO/s wall)`);
	// Background work the workload does not wait for (destaging, replication) shows up here.
	if (r.endUs - r.workloadEndUs >= 1)
		out.push(`    ended at ${duration(r.endUs)} (background work drained ${duration(r.endUs - r.workloadEndUs)} after the last guest I/O)`);
	return out.join('\n') + '\n';
}

/** The filter's own counters, then the framework's verdict counters (the rest only when non-zero). */
export function filterStatus(s: Record<string, number | string>): string {
	const framework = ['verdictPass', 'verdictComplete', 'verdictFail', 'verdictDefer'];
	const quiet = ['upFail', 'upDefer', 'deferredUs', 'chargedUs', 'hookErrors'];
	const own = Object.entries(s).filter(([k]) => !framework.includes(k) && !quiet.includes(k));
	const parts = own.map(([k, v]) => `${k}=${typeof v === 'number' ? num(v) : v}`);
	const verdicts = framework.map((k) => `${k.slice(7).toLowerCase()}=${s[k] ?? 0}`).join(' ');
	const extra = quiet.filter((k) => typeof s[k] === 'number' && s[k] !== 0).map((k) => `${k}=${num(s[k] as number)}`);
	return [...parts, `verdicts: ${verdicts}`, ...extra].join(', ');
}

function chainText(chain: string[]): string {
	return chain.length ? chain.join(' → ') : 'no filters';
}

function percentiles(l: LatencySummary): string {
	return `p50=${duration(l.p50)}, p90=${duration(l.p90)}, p99=${duration(l.p99)}, p99.9=${duration(l.p999)}, max=${duration(l.max)}, mean=${duration(l.mean)}`;
}

function num(n: number): string {
	return Number.isInteger(n) ? String(n) : String(Number(n.toFixed(3)));
}

function hex(n: number): string {
	return `0x${(n >>> 0).toString(16).padStart(8, '0')}`;
}

function plural(n: number, word: string): string {
	return `${n} ${word}${n === 1 ? '' : 's'}`;
}
