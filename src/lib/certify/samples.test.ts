/**
 * Each deliberately broken sample filter fails exactly the check(s) it targets, and the failing
 * check says which I/O and when. The table (also BROKEN_SAMPLES in samples/index.ts):
 *
 *   | sample                         | what is wrong                                               | fails                   |
 *   |--------------------------------|-------------------------------------------------------------|-------------------------|
 *   | double-complete                | resume(io) then complete(io): a second completion           | 1 exactly-once          |
 *   | corrupts-data                  | unaligned writes land at the 4 KiB boundary below           | 2 data-integrity        |
 *   | serializes-deferred            | defers every I/O while one is below: one at a time          | 3 defer-no-stall        |
 *   | swallows-errors                | clears the error of an I/O that failed below                | 4 failure-upward        |
 *   | tells-failure-downward         | marks I/O failed (io.error) and passes it down anyway       | 4 failure-upward        |
 *   | holds-io-across-control-event  | freezes on snapshot/migrate, never thaws: I/O held forever  | 5 control-events        |
 *   | forgets-state-on-restart       | remap table in memory only: lost on restart                 | 6 sidecar-restart       |
 *   | blocks-the-path                | ctx.charge(5000) per I/O: 5 ms blocking call                | 7 no-blocking           |
 */
import { describe, expect, it } from 'vitest';
import { certify } from './index';
import { BROKEN_SAMPLES } from './samples/index';

const TIMEOUT = 120_000;

/** What the failing check's findings must mention, per sample. */
const EVIDENCE: Record<string, RegExp> = {
	'double-complete': /complete\(\) on an I\/O the filter does not hold/,
	'corrupts-data': /read back wrong/,
	'serializes-deferred': /serializes/,
	'swallows-errors': /the failure was swallowed/,
	'tells-failure-downward': /a failure was told downward/,
	'holds-io-across-control-event': /after snapshot-create.*(could not continue|held)/,
	'forgets-state-on-restart': /found zeros after the restart/,
	'blocks-the-path': /charged 5 ms of blocking time/
};

describe('broken sample filters fail the checks they target, and only those', () => {
	it('cover every check', () => {
		const targeted = new Set(BROKEN_SAMPLES.flatMap((s) => s.fails));
		expect(targeted.size).toBe(7);
	});

	for (const { def, fails } of BROKEN_SAMPLES) {
		it(
			`${def.name} fails ${fails.join(', ')}`,
			async () => {
				const report = await certify(def);
				const failed = report.checks.filter((c) => !c.passed).map((c) => c.id);
				expect(failed, report.checks.map((c) => `${c.passed ? 'ok  ' : 'FAIL'} ${c.id}: ${c.detail}`).join('\n')).toEqual([...fails]);
				expect(report.passed).toBe(false);
				for (const id of fails) {
					const c = report.checks.find((x) => x.id === id)!;
					expect(c.findings.length).toBeGreaterThan(0);
					// Says what failed, on which I/O, and when.
					const onIo = c.findings.find((f) => f.io !== undefined && f.t !== undefined);
					expect(onIo, c.detail).toBeDefined();
					expect(onIo!.io!.id).toBeGreaterThan(0);
					expect(['read', 'write', 'flush', 'unmap']).toContain(onIo!.io!.op);
					expect(c.detail).toMatch(/I\/O #\d+ (read|write|flush|unmap) lba \d+\+\d+ at t=/);
					expect(c.findings.map((f) => f.message).join('\n')).toMatch(EVIDENCE[def.name]);
				}
			},
			TIMEOUT
		);
	}
});
