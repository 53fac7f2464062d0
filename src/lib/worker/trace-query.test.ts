import { beforeAll, describe, expect, it } from 'vitest';
import { EngineSession } from './session';
import { builtinRegistry } from '../filters';
import { MemoryStoreFactory } from '../engine/storage/memory';
import { OP_NAMES } from '../engine/io';
import { VerdictCode } from '../engine/filter';
import { TRACE_SORT_KEYS, TRACE_VERDICTS, type TraceQuery, type TraceQueryRow } from './trace-query';
import { filterOutcome, matchesVerdict, VERDICT_COMPLETE, VERDICT_DEFER, VERDICT_FAIL, VERDICT_PASS } from './trace-verdicts';

/** A chain where reads complete in the cache, some I/Os fail below it, and a delay filter defers. */
function scenario(ios: number, traceCapacity = 65_536) {
	return {
		version: 1,
		name: 'trace-query',
		seed: 11,
		vms: [
			{
				name: 'vm',
				disks: [
					{
						name: 'd',
						size: '16m',
						policy: {
							filters: [
								{ type: 'cache', params: { mode: 'write-back', capacityMiB: 8 } },
								{ type: 'flaky', params: { probability: 0.05 } }
							]
						},
						workload: [{ rw: 'randrw', bs: '4k', rwmixread: 60, iodepth: 8, ios, randomDistribution: { kind: 'zipf', theta: 1.2 } }]
					}
				]
			}
		],
		run: { traceCapacity }
	};
}

const newSession = () => new EngineSession({ registry: builtinRegistry(), stores: new MemoryStoreFactory(), yieldNow: () => Promise.resolve() });

/** Every row of a query, fetched in windows as the table does. */
function all(s: EngineSession, q: Omit<TraceQuery, 'from' | 'count'>, window = 97): TraceQueryRow[] {
	const out: TraceQueryRow[] = [];
	const first = s.traceQuery({ ...q, from: 0, count: window });
	out.push(...first.rows);
	for (let from = window; from < first.total; from += window) out.push(...s.traceQuery({ ...q, from, count: window }).rows);
	expect(out).toHaveLength(first.total);
	return out;
}

const latency = (r: TraceQueryRow) => r.doneAt - r.issuedAt;

describe('trace queries over a real simulation', () => {
	let s: EngineSession;
	beforeAll(async () => {
		s = newSession();
		await s.load(scenario(3000));
		await s.runToEnd();
	});

	it('without filter or sort: every held row in completion order, the same rows as traceRows', () => {
		const r = s.traceQuery({ from: 10, count: 5 });
		const range = s.traceRange();
		expect(r.total).toBe(range.end - range.first);
		expect(r.completed).toBe(range.end);
		expect(r.rows.map((x) => x.n)).toEqual([10, 11, 12, 13, 14]);
		expect(r.rows.map(({ n: _n, ...row }) => row)).toEqual(s.traceRows(10, 5));
		const desc = s.traceQuery({ from: 0, count: 3, desc: true });
		expect(desc.rows.map((x) => x.n)).toEqual([range.end - 1, range.end - 2, range.end - 3]);
	});

	it('filters by the verdict of one filter: reads completed in the cache', () => {
		const rows = all(s, { filter: 'cache', verdict: 'complete' });
		expect(rows.length).toBeGreaterThan(50);
		for (const r of rows) {
			expect(filterOutcome(r, 0).outcome).toBe('complete');
			expect(r.endedBy).toBe(1);
			// Completed in the cache: the flaky filter below and the device never saw it.
			expect(r.filters[1].downIn).toBe(-1);
			expect(r.deviceStart).toBe(-1);
		}
		// And no other row has that outcome; the same holds for each verdict at each filter.
		const everything = all(s, {});
		for (const [k, filter] of ['cache', 'flaky'].entries())
			for (const verdict of TRACE_VERDICTS) {
				const got = all(s, { filter, verdict }).map((r) => r.n);
				const want = everything.filter((r) => matchesVerdict(filterOutcome(r, k), verdict)).map((r) => r.n);
				expect(got, `${filter} ${verdict}`).toEqual(want);
			}
		// Cache hits are served from the SSD: the cache defers them, then completes them.
		expect(all(s, { filter: 'cache', verdict: 'defer' }).length).toBeGreaterThan(0);
		// Without a filter name: any filter.
		const anyFail = all(s, { verdict: 'fail' }).map((r) => r.n);
		expect(anyFail).toEqual(everything.filter((r) => r.filters.some((_, k) => filterOutcome(r, k).outcome === 'fail')).map((r) => r.n));
	});

	it('trace-verdicts uses the engine\'s verdict codes', () => {
		expect([VERDICT_PASS, VERDICT_COMPLETE, VERDICT_FAIL, VERDICT_DEFER]).toEqual([VerdictCode.pass, VerdictCode.complete, VerdictCode.fail, VerdictCode.defer]);
	});

	it('filters failures: the flaky filter failed them, status error, and only the cache above was told', () => {
		const failed = all(s, { filter: 'flaky', verdict: 'fail' });
		expect(failed.length).toBeGreaterThan(10);
		for (const r of failed) {
			expect(r.status).toBe('EIO');
			expect(r.filters[1].down).toBe(VerdictCode.fail);
			expect(r.deviceStart).toBe(-1);
			expect(r.endedBy).toBe(2);
		}
		const errors = all(s, { status: 'error' });
		expect(errors.every((r) => r.status !== '')).toBe(true);
		expect(errors.length).toBeGreaterThanOrEqual(failed.filter((r) => r.origin === 'guest').length);
		const ok = all(s, { status: 'ok' });
		expect(ok.length + errors.length).toBe(s.traceQuery({ from: 0, count: 0 }).total);
	});

	it('filters by op and origin, and combines them', () => {
		for (const op of ['read', 'write'] as const) {
			const rows = all(s, { op });
			expect(rows.length).toBeGreaterThan(0);
			expect(rows.every((r) => OP_NAMES[r.op] === op)).toBe(true);
		}
		// Write-back: the cache destages dirty blocks with its own writes.
		const own = all(s, { origin: 'filter' });
		expect(own.length).toBeGreaterThan(0);
		expect(own.every((r) => r.origin === 'filter' && r.filters[0].downIn === -1)).toBe(true);
		const guestReadsFailed = all(s, { op: 'read', origin: 'guest', status: 'error' });
		expect(guestReadsFailed.every((r) => r.op === 0 && r.origin === 'guest' && r.status !== '')).toBe(true);
		// A filter alone: the rows it saw.
		const sawFlaky = all(s, { filter: 'flaky' });
		expect(sawFlaky.every((r) => r.filters[1].downIn >= 0)).toBe(true);
		expect(all(s, { filter: 'no-such-filter' })).toHaveLength(0);
	});

	it('sorts by latency, issue time and LBA, both ways, with filters applied', () => {
		const byLatency = all(s, { sortBy: 'latency', desc: true });
		for (let i = 1; i < byLatency.length; i++) expect(latency(byLatency[i - 1])).toBeGreaterThanOrEqual(latency(byLatency[i]));
		const byIssue = all(s, { sortBy: 'issuedAt' });
		for (let i = 1; i < byIssue.length; i++) expect(byIssue[i - 1].issuedAt).toBeLessThanOrEqual(byIssue[i].issuedAt);
		const reads = all(s, { op: 'read', sortBy: 'lba', desc: true });
		for (let i = 1; i < reads.length; i++) expect(reads[i - 1].lba).toBeGreaterThanOrEqual(reads[i].lba);
		expect(reads.every((r) => r.op === 0)).toBe(true);
		// Sorting permutes the same rows.
		const plain = all(s, { op: 'read' });
		expect([...reads.map((r) => r.n)].sort((a, b) => a - b)).toEqual(plain.map((r) => r.n));
		for (const sortBy of TRACE_SORT_KEYS) expect(s.traceQuery({ sortBy, from: 0, count: 1 }).total).toBe(byLatency.length);
	});

	it('finds a row by completion number in a sorted, filtered result', () => {
		const q = { filter: 'cache', verdict: 'complete' as const, sortBy: 'latency' as const };
		const rows = all(s, q);
		const pick = rows[Math.floor(rows.length / 2)];
		expect(s.tracePosition(q, pick.n)).toBe(Math.floor(rows.length / 2));
		const other = all(s, { filter: 'flaky', verdict: 'fail' })[0];
		expect(s.tracePosition(q, other.n)).toBe(-1);
		expect(s.tracePosition({}, 7)).toBe(7);
	});

	it('exports the ring as CSV and as Perfetto JSON', async () => {
		const csv = await s.exportTrace('csv').text();
		const lines = csv.trimEnd().split('\n');
		expect(lines[0].startsWith('id,disk,op,origin,job,lba,sectors,issuedAt,doneAt,latency')).toBe(true);
		expect(lines).toHaveLength(1 + s.traceRange().end);
		// The page names a disk's streams as its fio job export does: one stream, "vaio".
		const origin = lines.slice(1).map((l) => l.split(',').slice(3, 5));
		expect(origin.some(([o]) => o === 'guest')).toBe(true);
		for (const [o, job] of origin) expect(job).toBe(o === 'guest' ? 'vaio' : '');
		const json = JSON.parse(await s.exportTrace('perfetto').text()) as { traceEvents: unknown[]; otherData: Record<string, unknown> };
		expect(json.traceEvents.length).toBeGreaterThan(1000);
		expect(json.otherData).toMatchObject({ scenario: 'trace-query' });
	});
});

describe('trace queries over a ring that dropped rows', () => {
	it('only covers the rows the ring holds, and completion numbers stay stable', async () => {
		const s = newSession();
		await s.load(scenario(2000, 300));
		await s.runToEnd();
		const range = s.traceRange();
		expect(range.end - range.first).toBe(300);
		const r = s.traceQuery({ from: 0, count: 2 });
		expect(r.total).toBe(300);
		expect(r.rows[0].n).toBe(range.first);
		const sorted = all(s, { sortBy: 'lba' });
		expect(sorted).toHaveLength(300);
		expect(sorted.every((x) => x.n >= range.first && x.n < range.end)).toBe(true);
		expect(s.tracePosition({}, range.first - 1)).toBe(-1);
	});

	it('keeps an anchored row in view and serves the tail while the run goes on', async () => {
		const s = newSession();
		await s.load(scenario(3000, 500));
		for (let i = 0; i < 400; i++) await s.step();
		const q = { sortBy: 'latency' as const, desc: true };
		const before = s.traceQuery({ ...q, from: 100, count: 10 });
		const anchor = before.rows[0];
		for (let i = 0; i < 50; i++) await s.step();
		const after = s.traceQuery({ ...q, from: 100, count: 10, anchor: { n: anchor.n, offset: -2 } });
		expect(after.anchorPos).toBeGreaterThanOrEqual(0);
		expect(after.from).toBe(Math.max(0, after.anchorPos - 2));
		expect(after.rows[after.anchorPos - after.from]).toEqual(anchor);
		// The tail: the last rows in completion order, however many completed since.
		for (let i = 0; i < 200; i++) await s.step();
		const range = s.traceRange();
		expect(range.first).toBeGreaterThan(0); // the ring (500) dropped rows
		const tail = s.traceQuery({ from: 0, count: 4, tail: true });
		expect(tail.rows.map((r) => r.n)).toEqual([range.end - 4, range.end - 3, range.end - 2, range.end - 1]);
		// An anchor the ring dropped: the window falls back to `from`.
		const gone = s.traceQuery({ from: 3, count: 2, anchor: { n: 0, offset: 0 } });
		expect(gone.anchorPos).toBe(-1);
		expect(gone.from).toBe(3);
	});

	it('answers an empty result before a scenario is loaded', () => {
		expect(newSession().traceQuery({ from: 0, count: 10 })).toEqual({ total: 0, from: 0, anchorPos: -1, rows: [], held: 0, completed: 0 });
	});
});
