import { describe, expect, it } from 'vitest';
import { builtinRegistry } from '../../filters';
import { Simulation } from '../simulation';
import { OP_NAMES } from '../io';
import { csvHeader, toCsv } from './csv';
import { toPerfetto } from './perfetto';
import { exportedRows } from './rows';

async function simulate(ios: number, traceCapacity = 65_536): Promise<Simulation> {
	const sim = await Simulation.create(
		{
			version: 1,
			name: 'export-test',
			seed: 4,
			vms: [
				{
					name: 'vm',
					disks: [
						{
							name: 'd',
							size: '256m',
							policy: {
								filters: [
									{ type: 'passthrough' },
									{ type: 'delay', class: 'cache', params: { readUs: 40, writeUs: 15 } }
								]
							},
							workload: [{ rw: 'randrw', bs: '4k', rwmixread: 60, iodepth: 8, ios }]
						},
						{ name: 'e', size: '64m', policy: { filters: [] }, workload: [{ rw: 'write', bs: '8k', iodepth: 2, ios: 50 }] }
					]
				}
			],
			run: { traceCapacity }
		},
		{ registry: builtinRegistry() }
	);
	await sim.run();
	return sim;
}

/** A minimal RFC 4180 reader for the test (the writer quotes only when it must). */
function parseCsv(text: string): string[][] {
	return text
		.trimEnd()
		.split('\n')
		.map((l) => l.split(','));
}

describe('CSV export', () => {
	it('has the documented header and one line per held row, whose values are the trace row', async () => {
		const sim = await simulate(400);
		const lines = parseCsv(toCsv(sim));
		const header = lines[0];
		expect(header).toEqual(csvHeader(sim));
		expect(header.slice(0, 15)).toEqual(['id', 'disk', 'op', 'origin', 'job', 'lba', 'sectors', 'issuedAt', 'doneAt', 'latency', 'deviceStart', 'deviceDone', 'deferredUs', 'status', 'endedBy']);
		expect(header.slice(15)).toEqual(['f1.name', 'f1.downIn', 'f1.downOut', 'f1.upIn', 'f1.upOut', 'f1.down', 'f1.up', 'f2.name', 'f2.downIn', 'f2.downOut', 'f2.upIn', 'f2.upOut', 'f2.down', 'f2.up']);
		expect(lines).toHaveLength(1 + sim.trace.completed);
		expect(sim.trace.completed).toBe(450);
		const col = (name: string) => header.indexOf(name);
		for (const n of [0, 17, 449]) {
			const row = sim.trace.row(n)!;
			const cells = lines[1 + n];
			expect(Number(cells[col('id')])).toBe(row.id);
			expect(cells[col('disk')]).toBe(sim.disks[row.disk].key);
			expect(cells[col('op')]).toBe(OP_NAMES[row.op]);
			expect(cells[col('origin')]).toBe(row.origin);
			// One workload stream per disk, named as a fio job file export names it.
			expect(cells[col('job')]).toBe('vaio');
			expect(Number(cells[col('lba')])).toBe(row.lba);
			expect(Number(cells[col('sectors')])).toBe(row.sectors);
			expect(Number(cells[col('issuedAt')])).toBe(row.issuedAt);
			expect(Number(cells[col('doneAt')])).toBe(row.doneAt);
			expect(Number(cells[col('latency')])).toBe(row.doneAt - row.issuedAt);
			expect(Number(cells[col('deviceStart')])).toBe(row.deviceStart);
			expect(Number(cells[col('deviceDone')])).toBe(row.deviceDone);
			expect(Number(cells[col('deferredUs')])).toBe(row.deferredUs);
			expect(cells[col('status')]).toBe('ok');
			expect(cells[col('endedBy')]).toBe('device');
			if (row.disk === 0) {
				expect(cells[col('f1.name')]).toBe('passthrough');
				expect(cells[col('f2.name')]).toBe('delay');
				const f = row.filters[1];
				expect([cells[col('f2.downIn')], cells[col('f2.downOut')], cells[col('f2.upIn')], cells[col('f2.upOut')]].map(Number)).toEqual([f.downIn, f.downOut, f.upIn, f.upOut]);
				expect(cells[col('f2.down')]).toBe('defer');
				expect(cells[col('f1.down')]).toBe('pass');
				expect(row.deferredUs).toBe(row.op === 0 ? 40 : 15);
			} else {
				// A disk without filters leaves the filter columns empty.
				expect(cells.slice(15).every((c) => c === '')).toBe(true);
			}
		}
	});

	it('holds the last rows of the ring when the run completed more, and says so', async () => {
		const sim = await simulate(300, 100);
		expect(exportedRows(sim)).toEqual({ first: 250, count: 100, completed: 350, truncated: true });
		const lines = parseCsv(toCsv(sim));
		expect(lines).toHaveLength(101);
		expect(Number(lines[1][0])).toBe(sim.trace.row(250)!.id);
		const doc = JSON.parse(toPerfetto(sim));
		expect(doc.otherData).toMatchObject({ rowsExported: 100, rowsCompleted: 350, truncated: true });
		expect(doc.otherData.note).toMatch(/holds the last 100 of the 350 I\/Os/);
	});
});

interface Ev {
	ph: string;
	name: string;
	cat?: string;
	pid: number;
	tid: number;
	ts: number;
	id2?: { local: string };
	args?: Record<string, unknown>;
}

describe('Perfetto (Chrome Trace Event) export', () => {
	it('parses; names processes and threads; slices nest on every lane; each I/O is on each track it passed', async () => {
		const sim = await simulate(400);
		const doc = JSON.parse(toPerfetto(sim, { scenario: 'export-test', seed: 4 }));
		expect(doc.displayTimeUnit).toBe('ns');
		expect(doc.otherData).toMatchObject({ generator: 'VAIO Playground', scenario: 'export-test', seed: 4, rowsExported: 450, truncated: false });
		const events: Ev[] = doc.traceEvents;
		const meta = events.filter((e) => e.ph === 'M');
		const named = (n: string) => meta.filter((e) => e.name === n).map((e) => [e.pid, e.tid, (e.args as { name: string }).name]);
		expect(meta.filter((e) => e.name === 'process_labels')).toHaveLength(2);
		expect(named('process_name')).toEqual([
			[1, 0, 'vm/d'],
			[2, 0, 'vm/e']
		]);
		expect(named('thread_name')).toEqual([
			[1, 1, 'guest'],
			[1, 2, 'passthrough'],
			[1, 3, 'delay'],
			[1, 4, 'device'],
			[2, 1, 'guest'],
			[2, 2, 'device']
		]);

		const slices = events.filter((e) => e.ph === 'b' || e.ph === 'e');
		expect(slices.every((e) => e.cat === 'vaio' && typeof e.id2?.local === 'string')).toBe(true);
		// Written in time order.
		for (let i = 1; i < slices.length; i++) expect(slices[i].ts).toBeGreaterThanOrEqual(slices[i - 1].ts);
		// Replay each lane (an async track: pid + id2.local): every "e" closes the innermost open
		// slice of the same name, and one I/O's slices nest inside its outer slice.
		const stacks = new Map<string, { name: string; io: unknown; ts: number }[]>();
		const outer = new Map<string, Set<unknown>>();
		let deferred = 0;
		for (const e of slices) {
			const lane = `${e.pid}/${e.id2!.local}`;
			expect(e.id2!.local.startsWith(`${e.tid}.`)).toBe(true);
			const stack = stacks.get(lane) ?? [];
			stacks.set(lane, stack);
			if (e.ph === 'b') {
				const io = e.args!.io;
				if (stack.length > 0) expect(io, `${lane}: another I/O's slice starts inside one`).toBe(stack[0].io);
				else {
					const key = `${e.pid}/${e.tid}/${e.name}`;
					if (!outer.has(key)) outer.set(key, new Set());
					expect(outer.get(key)!.has(io), `${key}: I/O ${io} twice`).toBe(false);
					outer.get(key)!.add(io);
				}
				if (e.name === 'deferred') deferred++;
				stack.push({ name: e.name, io, ts: e.ts });
			} else {
				const top = stack.pop();
				expect(top, `${lane}: "e" without "b"`).toBeDefined();
				expect(top!.name).toBe(e.name);
				expect(e.ts).toBeGreaterThanOrEqual(top!.ts);
			}
		}
		for (const [lane, stack] of stacks) expect(stack, lane).toEqual([]);

		// Every guest I/O on the guest track, every filter it passed and the device.
		const count = (pid: number, tid: number, name: string) => outer.get(`${pid}/${tid}/${name}`)?.size ?? 0;
		// Guest slices are named by their job (one stream per disk: "vaio").
		expect(count(1, 1, 'vaio')).toBe(400);
		expect(count(1, 2, 'passthrough')).toBe(400);
		expect(count(1, 3, 'delay')).toBe(400);
		expect(count(1, 4, 'device')).toBe(400);
		expect(count(2, 1, 'vaio')).toBe(50);
		expect(count(2, 2, 'device')).toBe(50);
		// The delay filter defers every I/O: a deferred slice each.
		expect(deferred).toBe(400);
		// Concurrent I/Os need lanes: queue depth 8 gives several on the device track.
		const deviceLanes = new Set(slices.filter((e) => e.pid === 1 && e.tid === 4).map((e) => e.id2!.local));
		expect(deviceLanes.size).toBeGreaterThan(1);
		expect(deviceLanes.size).toBeLessThanOrEqual(8);
	});

	it('puts the deferred part inside the filter slice where the filter held the I/O', async () => {
		const sim = await simulate(20);
		const events: Ev[] = JSON.parse(toPerfetto(sim)).traceEvents;
		const row = sim.trace.row(5)!;
		const mine = events.filter((e) => e.ph !== 'M' && e.pid === 1 && e.tid === 3 && (e.args?.io === row.id || e.ph === 'e'));
		const begin = mine.findIndex((e) => e.ph === 'b' && e.name === 'delay');
		const lane = mine[begin].id2!.local;
		const own = mine.slice(begin).filter((e) => e.id2!.local === lane).slice(0, 6);
		const f = row.filters[1];
		expect(own.map((e) => [e.ph, e.name, e.ts])).toEqual([
			['b', 'delay', f.downIn],
			['b', 'down', f.downIn],
			['b', 'deferred', f.downOut - row.deferredUs],
			['e', 'deferred', f.downOut],
			['e', 'down', f.downOut],
			['e', 'delay', f.upOut]
		]);
		expect(own[0].args).toMatchObject({ io: row.id, op: OP_NAMES[row.op], lba: row.lba, sectors: row.sectors, down: 'defer', endedBy: 'device' });
	});
});

describe('Perfetto export in pieces', () => {
	it('is valid JSON however many events there are (none, fewer than a piece of 4096, several pieces)', async () => {
		for (const ios of [0, 1, 1019, 1020, 3000]) {
			const sim = await Simulation.create(
				{ version: 1, vms: [{ name: 'v', disks: [{ name: 'd', size: '16m', policy: { filters: [] }, workload: ios ? [{ rw: 'randread', ios }] : [] }] }] },
				{ registry: builtinRegistry() }
			);
			await sim.run();
			const doc = JSON.parse(toPerfetto(sim));
			// 3 metadata events for the process, 2 per track, 4 per I/O (b/e on guest and device).
			expect(doc.traceEvents).toHaveLength(3 + 4 + 4 * ios);
		}
	});
});

/**
 * Two fio-like jobs on one disk, in disjoint regions: a writer in [0, 16 MiB) and a reader-writer
 * in [32 MiB, 48 MiB). The LBA tells which job issued a guest I/O, independently of the trace's
 * stream column. The write-back cache destages dirty blocks: filter I/O, which has no job.
 */
const TWO_JOBS = {
	version: 1,
	name: 'two-jobs',
	seed: 11,
	vms: [
		{
			name: 'vm',
			disks: [
				{
					name: 'd',
					size: '64m',
					policy: { filters: [{ type: 'cache', params: { mode: 'write-back', destageMBps: 20 } }] },
					workload: [
						{ rw: 'randwrite', bs: '4k', iodepth: 4, offset: 0, size: '16m', ios: 400 },
						{ rw: 'randrw', bs: '8k', iodepth: 2, offset: '32m', size: '16m', ios: 300 }
					]
				}
			]
		}
	]
};
/** The second job's region starts here (sectors). */
const SECOND_JOB_LBA = (32 * 2 ** 20) / 512;
/**
 * The trace digest of TWO_JOBS, computed with the code before the trace recorded streams
 * (commit 7bfb7c4): recording each I/O's stream must leave the digest as it was.
 */
const TWO_JOBS_DIGEST = '3a001cf211f13c0c';

/** TWO_JOBS, its streams named `names` when given (workload[k].name). */
async function twoJobs(traceCapacity = 65_536, names?: readonly string[]): Promise<Simulation> {
	const scenario = structuredClone(TWO_JOBS);
	if (names) scenario.vms[0].disks[0].workload.forEach((w, k) => Object.assign(w, { name: names[k] }));
	const sim = await Simulation.create({ ...scenario, run: { traceCapacity } }, { registry: builtinRegistry() });
	await sim.run();
	return sim;
}

/** The job of a guest row by its LBA (the jobs' regions do not overlap). */
const jobByLba = (lba: number, names: readonly string[]) => (lba < SECOND_JOB_LBA ? names[0] : names[1]);

describe('the job column: which workload stream (fio job) issued each I/O', () => {
	it('leaves the trace digest as it was before streams were recorded, and names do not enter it', async () => {
		const [all, ring, named] = await Promise.all([twoJobs(), twoJobs(100), twoJobs(65_536, ['writer', 'mixed'])]);
		expect(all.trace.completed).toBe(756);
		expect(all.trace.digest()).toBe(TWO_JOBS_DIGEST);
		expect(ring.trace.digest()).toBe(TWO_JOBS_DIGEST);
		expect(named.trace.digest()).toBe(TWO_JOBS_DIGEST);
	});

	it('CSV: a guest row names the job (the stream\'s workload[k].name) that issued it, filter I/O has none', async () => {
		for (const [given, names] of [
			[undefined, ['vaio', 'vaio-1']],
			[['writer', 'mixed, 8k'], ['writer', 'mixed, 8k']]
		] as const) {
			const text = toCsv(await twoJobs(65_536, given));
			// The names are quoted when they must be: read the one with a comma by its quotes.
			const lines = parseCsv(text.replaceAll('"mixed, 8k"', 'mixed; 8k'));
			const header = lines[0];
			expect(header.slice(3, 6)).toEqual(['origin', 'job', 'lba']);
			const col = (name: string) => header.indexOf(name);
			const seen = { guest: new Map<string, number>(), filter: 0 };
			for (const cells of lines.slice(1)) {
				const job = cells[col('job')].replace('mixed; 8k', 'mixed, 8k');
				if (cells[col('origin')] === 'filter') {
					expect(job).toBe('');
					seen.filter++;
					continue;
				}
				expect(job).toBe(jobByLba(Number(cells[col('lba')]), names));
				// The first job only writes.
				if (job === names[0]) expect(cells[col('op')]).toBe('write');
				seen.guest.set(job, (seen.guest.get(job) ?? 0) + 1);
			}
			expect(Object.fromEntries(seen.guest)).toEqual({ [names[0]]: 400, [names[1]]: 300 });
			expect(seen.filter).toBe(56);
		}
	});

	it('the ring keeps each row\'s stream when it wraps, and TraceRow carries it', async () => {
		const sim = await twoJobs(100);
		const lines = parseCsv(toCsv(sim));
		expect(lines).toHaveLength(101);
		const header = lines[0];
		let guest = 0;
		for (const [i, cells] of lines.slice(1).entries()) {
			const row = sim.trace.row(sim.trace.completed - 100 + i)!;
			expect(Number(cells[0])).toBe(row.id);
			if (row.origin === 'filter') {
				expect(row.stream).toBe(-1);
				expect(cells[header.indexOf('job')]).toBe('');
			} else {
				guest++;
				expect(row.stream).toBe(row.lba < SECOND_JOB_LBA ? 0 : 1);
				expect(cells[header.indexOf('job')]).toBe(jobByLba(row.lba, ['vaio', 'vaio-1']));
			}
		}
		expect(guest).toBeGreaterThan(0);
	});

	it('Perfetto: guest slices are named by their job, and every slice of a guest I/O has it in args', async () => {
		const names = ['writer', 'mixed'];
		const sim = await twoJobs(65_536, names);
		const events: Ev[] = JSON.parse(toPerfetto(sim)).traceEvents;
		const outer = events.filter((e) => e.ph === 'b' && e.args?.origin !== undefined);
		const guestTrack = outer.filter((e) => e.tid === 1);
		expect(guestTrack).toHaveLength(700);
		for (const e of guestTrack) {
			const job = jobByLba(e.args!.lba as number, names);
			expect(e.name).toBe(job);
			expect(e.args!.job).toBe(job);
		}
		// The ends carry the same names (a slice's begin and end match by name).
		const ends = events.filter((e) => e.ph === 'e' && e.tid === 1).map((e) => e.name);
		expect(new Set(ends)).toEqual(new Set(names));
		// The cache's and the device's slices: the guest I/O's job, none for the cache's own I/O.
		const others = outer.filter((e) => e.tid !== 1);
		expect(others.filter((e) => e.args!.origin === 'filter').length).toBeGreaterThan(0);
		for (const e of others) {
			if (e.args!.origin === 'filter') expect(e.args).not.toHaveProperty('job');
			else expect(e.args!.job).toBe(jobByLba(e.args!.lba as number, names));
		}
	});
});
