/**
 * The per-I/O trace as Chrome Trace Event Format JSON, which the Perfetto UI (ui.perfetto.dev)
 * and chrome://tracing open.
 *
 * Layout: one process per disk (pid = disk index + 1, named "vm/disk"), and in it one track per
 * stage: "guest" (each guest I/O from issue to completion), one per filter in chain order (the
 * I/O from the moment it reaches the filter on the way down until it leaves it on the way up),
 * and "device" (device service time). Each track is a thread (tid) with thread_name metadata.
 * Within a filter's slice, "down", "up" and "deferred" (the time the filter held the I/O) are
 * nested slices; every slice carries the I/O's id in args, which links an I/O's slices across
 * tracks (filter I/O such as a destage has no guest slice).
 *
 * The fio job (workload stream) that issued a guest I/O names its slice on the guest track (so
 * Perfetto colours each job's I/O alike; I/O of no job, such as a clone's reads, is "guest")
 * and is in the args of the I/O's outer slice on every track (args.job), as fio's per-job logs
 * keep each job's I/O apart. Job names: the streams' names (a scenario's workload[k].name, e.g.
 * a fio job file's [job] names), else vaio, vaio-1, … as a job file export names the streams.
 *
 * Why async slices: many I/Os are inside one filter or the device at once, and the format (and
 * Perfetto, which drops them) allows complete ("X") slices on one thread only when they nest.
 * So slices are nestable async events ("b"/"e") in lanes: on each track, an I/O goes to the
 * first lane free since before it started, and a lane is an async track (cat "vaio", id2.local
 * "<tid>.<lane>"); Perfetto shows a track's lanes under its name. Within a lane slices never
 * overlap, and an I/O's own slices nest properly. Events are written sorted by time; ties keep
 * the order in which each lane's events were made, which is the nesting order.
 *
 * Times are virtual µs (the format's unit). The trace ring holds the last rows only; `otherData`
 * says how many of the run's I/Os the file holds.
 */
import type { TraceRow } from '../trace';
import { VerdictCode } from '../filter';
import { diskKey, endedByName, exportedRows, filterNames, heldRows, jobName, opName, verdictName, type ExportSource } from './rows';

export interface PerfettoOptions {
	/** The scenario's name and seed, written to otherData. */
	scenario?: string;
	seed?: number;
}

/** Kinds of events, in the order they are made for one I/O on one track. */
const OUTER_B = 0;
const DOWN_B = 1;
const DEF_DOWN_B = 2;
const DEF_DOWN_E = 3;
const DOWN_E = 4;
const UP_B = 5;
const DEF_UP_B = 6;
const DEF_UP_E = 7;
const UP_E = 8;
const OUTER_E = 9;

/** Tracks per disk: 0 guest, 1..n filters, n + 1 device (tid = track + 1). */
const TRACKS_PER_DISK = 16;

interface Slice {
	start: number;
	end: number;
	row: number;
}

/** The trace as Trace Event Format JSON, in pieces (write them as they come). */
export function* perfettoChunks(src: ExportSource, options: PerfettoOptions = {}): Generator<string> {
	const rows = [...heldRows(src)];
	const held = exportedRows(src);
	const ts: number[] = [];
	const kind: number[] = [];
	const rowOf: number[] = [];
	const trackOf: number[] = [];
	const laneOf: number[] = [];
	const add = (t: number, k: number, row: number, track: number, lane: number) => {
		ts.push(t);
		kind.push(k);
		rowOf.push(row);
		trackOf.push(track);
		laneOf.push(lane);
	};

	// The slices of every track, then lanes, then the events of each slice in nesting order.
	const tracks = new Map<number, Slice[]>();
	const put = (key: number, s: Slice) => {
		let list = tracks.get(key);
		if (!list) tracks.set(key, (list = []));
		list.push(s);
	};
	rows.forEach((r, i) => {
		const base = r.disk * TRACKS_PER_DISK;
		if (r.origin === 'guest') put(base, { start: r.issuedAt, end: r.doneAt, row: i });
		r.filters.forEach((f, k) => {
			if (f.downIn < 0) return;
			put(base + 1 + k, { start: f.downIn, end: Math.max(f.downIn, f.downOut, f.upOut), row: i });
		});
		if (r.deviceStart >= 0) put(base + 1 + r.filters.length, { start: r.deviceStart, end: Math.max(r.deviceStart, r.deviceDone), row: i });
	});
	for (const key of [...tracks.keys()].sort((a, b) => a - b)) {
		const slices = tracks.get(key)!;
		slices.sort((a, b) => a.start - b.start || rows[a.row].id - rows[b.row].id);
		const laneEnd: number[] = [];
		for (const s of slices) {
			let lane = laneEnd.findIndex((e) => e < s.start);
			if (lane < 0) lane = laneEnd.push(0) - 1;
			laneEnd[lane] = s.end;
			const r = rows[s.row];
			const t = key % TRACKS_PER_DISK;
			add(s.start, OUTER_B, s.row, key, lane);
			const k = t - 1;
			if (t >= 1 && k < r.filters.length) {
				const f = r.filters[k];
				const defers = countDefers(r);
				if (f.downOut > f.downIn) {
					add(f.downIn, DOWN_B, s.row, key, lane);
					if (f.down === VerdictCode.defer) {
						const held = Math.min(f.downOut - f.downIn, defers === 1 ? r.deferredUs : f.downOut - f.downIn);
						if (held > 0) {
							add(f.downOut - held, DEF_DOWN_B, s.row, key, lane);
							add(f.downOut, DEF_DOWN_E, s.row, key, lane);
						}
					}
					add(f.downOut, DOWN_E, s.row, key, lane);
				}
				if (f.upIn >= 0 && f.upOut > f.upIn) {
					add(f.upIn, UP_B, s.row, key, lane);
					if (f.up === VerdictCode.defer) {
						const held = Math.min(f.upOut - f.upIn, defers === 1 ? r.deferredUs : f.upOut - f.upIn);
						if (held > 0) {
							add(f.upOut - held, DEF_UP_B, s.row, key, lane);
							add(f.upOut, DEF_UP_E, s.row, key, lane);
						}
					}
					add(f.upOut, UP_E, s.row, key, lane);
				}
			}
			add(s.end, OUTER_E, s.row, key, lane);
		}
	}

	// Sorted by time; ties in the order made (a lane's events are made in nesting order).
	const order = Uint32Array.from(ts.keys());
	order.sort((a, b) => ts[a] - ts[b] || a - b);

	const other = {
		generator: 'VAIO Playground',
		...(options.scenario !== undefined ? { scenario: options.scenario } : {}),
		...(options.seed !== undefined ? { seed: options.seed } : {}),
		timeUnit: 'virtual µs',
		rowsExported: held.count,
		rowsCompleted: held.completed,
		truncated: held.truncated,
		note: held.truncated
			? `The trace ring holds the last ${held.count} of the ${held.completed} I/Os the run completed; this file shows those.`
			: `All ${held.completed} I/Os the run completed.`
	};
	yield '{"traceEvents":[\n';
	const meta: string[] = [];
	src.disks.forEach((_d, i) => {
		const pid = i + 1;
		const names = ['guest', ...filterNames(src, i), 'device'];
		meta.push(JSON.stringify({ ph: 'M', name: 'process_name', pid, tid: 0, ts: 0, args: { name: diskKey(src, i) } }));
		meta.push(JSON.stringify({ ph: 'M', name: 'process_sort_index', pid, tid: 0, ts: 0, args: { sort_index: i } }));
		meta.push(JSON.stringify({ ph: 'M', name: 'process_labels', pid, tid: 0, ts: 0, args: { labels: other.note } }));
		names.forEach((name, t) => {
			meta.push(JSON.stringify({ ph: 'M', name: 'thread_name', pid, tid: t + 1, ts: 0, args: { name } }));
			meta.push(JSON.stringify({ ph: 'M', name: 'thread_sort_index', pid, tid: t + 1, ts: 0, args: { sort_index: t } }));
		});
	});
	let buf: string[] = meta;
	let sep = '';
	const flush = () => {
		const piece = buf.length > 0 ? sep + buf.join(',\n') : '';
		if (buf.length > 0) sep = ',\n';
		buf = [];
		return piece;
	};
	for (let j = 0; j < order.length; j++) {
		const e = order[j];
		buf.push(event(src, rows[rowOf[e]], kind[e], ts[e], trackOf[e], laneOf[e]));
		if (buf.length >= 4096) yield flush();
	}
	yield flush() + `\n],"displayTimeUnit":"ns","otherData":${JSON.stringify(other)}}\n`;
}

export function toPerfetto(src: ExportSource, options: PerfettoOptions = {}): string {
	let s = '';
	for (const c of perfettoChunks(src, options)) s += c;
	return s;
}

function countDefers(r: TraceRow): number {
	let n = 0;
	for (const f of r.filters) n += (f.down === VerdictCode.defer ? 1 : 0) + (f.up === VerdictCode.defer ? 1 : 0);
	return n;
}

function event(src: ExportSource, r: TraceRow, k: number, ts: number, key: number, lane: number): string {
	const t = key % TRACKS_PER_DISK;
	const pid = Math.floor(key / TRACKS_PER_DISK) + 1;
	const names = filterNames(src, r.disk);
	const job = jobName(src, r);
	// The begin and end of a slice get the same name (Perfetto matches them by it).
	const trackName = t === 0 ? job || 'guest' : t <= names.length ? names[t - 1] : 'device';
	const begin = k === OUTER_B || k === DOWN_B || k === DEF_DOWN_B || k === UP_B || k === DEF_UP_B;
	const name =
		k === OUTER_B || k === OUTER_E ? trackName : k === DOWN_B || k === DOWN_E ? 'down' : k === UP_B || k === UP_E ? 'up' : 'deferred';
	const head = `{"ph":"${begin ? 'b' : 'e'}","cat":"vaio","name":${JSON.stringify(name)},"pid":${pid},"tid":${t + 1},"ts":${ts},"id2":{"local":"${t + 1}.${lane}"}`;
	if (!begin) return head + '}';
	const args: Record<string, number | string> = { io: r.id };
	if (k === OUTER_B) {
		args.op = opName(r.op);
		args.lba = r.lba;
		args.sectors = r.sectors;
		args.origin = r.origin;
		if (job) args.job = job;
		args.status = r.status === '' ? 'ok' : r.status;
		if (t === 0) args.latencyUs = r.doneAt - r.issuedAt;
		else if (t <= names.length) {
			const f = r.filters[t - 1];
			args.down = verdictName(f.down);
			if (f.up) args.up = verdictName(f.up);
		} else args.serviceUs = r.deviceDone - r.deviceStart;
		const by = endedByName(src, r);
		if (by) args.endedBy = by;
	}
	return `${head},"args":${JSON.stringify(args)}}`;
}
