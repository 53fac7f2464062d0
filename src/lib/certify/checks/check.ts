/**
 * What a check is and what it gets: the suite's setup, the shared runs (each run at most once per
 * certification, however many checks read it), and a way to build runs of its own.
 */
import type { Bench, BenchOptions, RunEnd, SuiteSetup } from '../harness';
import type { IoError } from '../../engine/io';
import type { CheckId, Finding } from '../report';

/** A shared run: its bench (absent when the simulation could not be built) and how it ended. */
export interface RunOutcome {
	name: string;
	bench: Bench | undefined;
	end: RunEnd;
	/** Why the simulation could not be built (an attach hook threw, a bad parameter…). */
	setupError?: string;
}

export interface CheckContext {
	setup: SuiteSetup;
	/** Mixed, unaligned random read/write with unmaps and flushes, then a read-back (checks 1, 2, 7). */
	mixed(): Promise<RunOutcome>;
	/** 4 KiB random read/write at queue depth 32, trace kept (checks 3, 7). */
	qd32(): Promise<RunOutcome>;
	/** Faults injected below the filter, then a read-back (checks 4, 7). */
	faults(): Promise<RunOutcome>;
	/** Builds a run of the check's own; records it for the report. */
	bench(name: string, opts: BenchOptions): Promise<Bench>;
	/** I/O counts scaled by the suite's `scale` option. */
	ios(n: number): number;
}

export interface CheckOutcome {
	passed: boolean;
	skipped?: boolean;
	summary: string;
	findings: Finding[];
}

export interface Check {
	id: CheckId;
	title: string;
	run(ctx: CheckContext): Promise<CheckOutcome>;
}

/** Findings for a run that could not be built or did not end normally. */
export function runProblems(o: RunOutcome): Finding[] {
	if (o.setupError !== undefined) return [{ run: o.name, message: `the run could not start: ${o.setupError}` }];
	const f = o.bench?.endFinding(o.end);
	return f ? [f] : [];
}

/** A failed outcome for a run that could not be built. */
export function setupFailed(o: RunOutcome): CheckOutcome {
	return { passed: false, summary: `the ${o.name} run could not start`, findings: runProblems(o) };
}

/** Reads that returned other bytes than were written, one finding per read. */
export function mismatchFindings(b: Bench, why = ''): Finding[] {
	return b.badReads.map((r) => {
		const g = b.guest.ios.get(r.ioId);
		const expected = r.expectedContent === 0 ? 'zeros (never written or unmapped)' : `content #${r.expectedContent}`;
		const found =
			r.foundContent === 0
				? 'zeros'
				: r.foundContent !== r.expectedContent
					? `content #${r.foundContent}`
					: r.foundSlot !== r.expectedSlot && r.foundSlot >= 0 && r.foundSlot < 8
						? `the same content's sector ${r.foundSlot} of 8 instead of sector ${r.expectedSlot}: the right data at the wrong address`
						: 'the right header but other bytes (a corrupted sector)';
		return {
			run: b.name,
			...(g ? { io: g.ref } : {}),
			t: r.t,
			message: `${r.sectors} sector${r.sectors > 1 ? 's' : ''} read back wrong, first sector ${r.firstSector}: expected ${expected}, found ${found}${why}`
		};
	});
}

/** Guest I/Os that completed with an error, one finding each. */
export function guestErrorFindings(b: Bench, filter?: (e: IoError) => boolean): Finding[] {
	const out: Finding[] = [];
	for (const r of b.guest.ios.values())
		if (r.error && (!filter || filter(r.error)))
			out.push({ run: b.name, io: r.ref, t: r.doneAt, message: `failed at the guest: ${r.error.code} from ${r.error.source || '?'}: ${r.error.message}` });
	return out;
}
