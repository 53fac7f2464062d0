/**
 * Per-stream results in the summary: a disk with several workload streams (a fio file's jobs)
 * gets a block per stream, as fio reports each job before the group totals; a named stream (its
 * workload[k].name, a fio file's [job]) by its name.
 */
import { OP_NAMES } from '../lib/engine/io';
import type { RunResult } from '../lib/engine/result';
import { binary, count, duration } from './units';

/** Summary lines per stream; none when the run has only one stream (the totals say it all). */
export function streamLines(r: RunResult): string[] {
	if (r.streams.length < 2) return [];
	const out: string[] = [];
	for (const s of r.streams) {
		const name = s.job !== undefined ? `job ${s.job}` : `stream ${s.stream}`;
		const where = r.disks.length > 1 || s.job === undefined ? ` (${s.disk}${s.job !== undefined ? ` stream ${s.stream}` : ''})` : '';
		out.push(`  ${name}${where}: ios=${s.ios}, IOPS=${count(s.iops)}, BW=${binary(s.mbps * 1e6)}/s, elapsed=${duration(s.elapsedUs)}`);
		for (const op of OP_NAMES) {
			const o = s.ops[op];
			if (o.ios === 0 && o.errors === 0) continue;
			const l = o.latencyUs;
			out.push(
				`    ${op}: ios=${o.ios}, IOPS=${count(o.iops)}, BW=${binary(o.mbps * 1e6)}/s, clat mean=${duration(l.mean)}, p50=${duration(l.p50)}, p99=${duration(l.p99)}` +
					(o.errors ? `, errors=${o.errors}` : '')
			);
		}
	}
	return out;
}
