/**
 * Trace replay streamed in chunks, as the page sends a file: the session replays exactly the
 * trace's records (whatever the chunk size, chunks arriving while it plays), the clock waits
 * while the next chunk is on its way, a large file is taken no faster than it is replayed, a
 * malformed file fails with its position, and a disk the file does not hold fails with the reason.
 */
import { HAVE_REAL_TRACE, REAL_VSCSI_TRACE } from '../../../tests/shared-data';
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EngineSession } from './session';
import { builtinRegistry } from '../filters';
import { MemoryStoreFactory } from '../engine/storage/memory';
import { defaultScenario } from '../engine/index';
import { readTrace } from '../engine/workload/traces/index';
import { HIGH_WATER } from './trace-replay';

const TRACE = REAL_VSCSI_TRACE;
const have = HAVE_REAL_TRACE;

const session = () =>
	new EngineSession({ registry: builtinRegistry(), stores: new MemoryStoreFactory(), yieldNow: () => new Promise((r) => setImmediate(r)) });

function vscsiBytes(records: number): Uint8Array {
	const all = fs.readFileSync(TRACE);
	return new Uint8Array(all.buffer, all.byteOffset, Math.min(all.length, records * 32));
}

describe('trace replay streamed from the page', () => {
	it.skipIf(!have)('replays every record of a vscsi slice pushed in chunks while it plays', async () => {
		const bytes = vscsiBytes(6000);
		const expected = readTrace('vscsi', bytes).summary;
		const s = session();
		await s.load(defaultScenario(), false, { fileName: 'part.vscsi', format: 'vscsi', timing: 'afap', totalBytes: bytes.length });
		const done = s.runToEnd();
		for (let off = 0; off < bytes.length; off += 7000) {
			const p = await s.replayPush(bytes.slice(off, off + 7000));
			expect(p.bytes).toBe(Math.min(bytes.length, off + 7000));
		}
		const end = s.replayEnd();
		expect(end.records).toBe(expected.records);
		const r = await done;
		expect(s.state).toBe('finished');
		expect(r.ios).toBe(expected.records);
		expect(r.verify.mismatches).toBe(0);
		expect(s.replayStatus()).toMatchObject({ done: true, issued: expected.records, ended: true });
		expect(s.frame().log.some((e) => e.source === 'replay' && /6000 I\/O records|all \d+ bytes read/.test(e.message))).toBe(true);
	}, 60_000);

	it.skipIf(!have)('trace timing: the clock waits for late chunks, so the replay keeps the trace\u2019s times', async () => {
		const bytes = vscsiBytes(3000);
		const s = session();
		await s.load(defaultScenario(), false, { fileName: 'part.vscsi', format: 'vscsi', timing: 'trace', totalBytes: bytes.length, timingOnly: true });
		const done = s.runToEnd();
		// Slow chunks: the session must not finish (or run the clock on) while waiting.
		for (let off = 0; off < bytes.length; off += 32 * 500) {
			await new Promise((r) => setTimeout(r, 20));
			expect(s.state).toBe('running');
			await s.replayPush(bytes.slice(off, off + 32 * 500));
		}
		s.replayEnd();
		const r = await done;
		expect(r.ios).toBe(readTrace('vscsi', bytes).summary.records);
		// The same replay with the whole file at hand before it starts: the same I/O at the same
		// times (an I/O may still be late in both: one that overlaps an I/O in flight waits for it).
		const whole = session();
		await whole.load(defaultScenario(), false, { fileName: 'part.vscsi', format: 'vscsi', timing: 'trace', totalBytes: bytes.length, timingOnly: true });
		await whole.replayPush(bytes);
		whole.replayEnd();
		const w = await whole.runToEnd();
		expect(r.traceDigest).toMatch(/^[0-9a-f]{16}$/);
		expect(r.traceDigest).toBe(w.traceDigest);
		expect(s.replayStatus()!.late).toBe(whole.replayStatus()!.late);
		expect(s.replayStatus()!.late).toBeLessThan(10);
	}, 60_000);

	it('flow control: a push waits while the queue is over the high-water mark', async () => {
		const s = session();
		await s.load(defaultScenario(), false, { fileName: 'x.vscsi', format: 'vscsi', timing: 'afap', totalBytes: 0, timingOnly: true });
		// Synthetic v1 records: (HIGH_WATER + 5000) writes of 4 KiB.
		const n = HIGH_WATER + 5000;
		const buf = new Uint8Array(n * 32);
		const dv = new DataView(buf.buffer);
		for (let i = 0; i < n; i++) {
			const o = i * 32;
			dv.setUint32(o, i, true);
			dv.setUint32(o + 4, 4096, true);
			dv.setUint32(o + 8, 1, true);
			dv.setUint16(o + 12, 0x2a, true);
			dv.setUint16(o + 14, 0x100, true);
			dv.setBigUint64(o + 16, BigInt((i * 8) % 1_000_000), true);
			dv.setBigUint64(o + 24, BigInt(i), true);
		}
		let settled = false;
		const p = s.replayPush(buf).then((x) => ((settled = true), x));
		await new Promise((r) => setTimeout(r, 30));
		expect(settled).toBe(false); // over the mark and nothing plays: it waits
		const run = s.runToEnd();
		await p; // the replay drained the queue below the mark
		s.replayEnd();
		const r = await run;
		expect(r.ios).toBe(n);
	}, 60_000);

	it('an MSR file with several disks: the first (or the one asked for) replays, the others are counted as other disks', async () => {
		const csv = new TextEncoder().encode(
			['128166372003061629,hm,0,Write,0,4096,1', '128166372003061639,hm,1,Write,4096,4096,1', '128166372003061649,hm,0,Read,0,4096,1'].join('\n') + '\n'
		);
		for (const [reader, ios, others] of [
			[undefined, 2, { 'hm/1': 1 }],
			[{ msr: { disk: 'hm/1' } }, 1, { 'hm/0': 2 }]
		] as const) {
			const s = session();
			await s.load(defaultScenario(), false, { fileName: 'hm.csv', format: 'msr', timing: 'afap', totalBytes: csv.length, ...(reader ? { reader } : {}) });
			const done = s.runToEnd();
			await s.replayPush(csv);
			const end = s.replayEnd();
			expect(end).toMatchObject({ records: ios, skipped: 0, otherDisks: others });
			expect((await done).ios).toBe(ios);
			expect(s.frame().log.some((e) => e.source === 'replay' && e.message.includes(`records of other disks not replayed: ${Object.keys(others)[0]}`))).toBe(true);
		}
	});

	it('a disk the whole file does not hold ends the replay with the reason; the disk replayed is in the progress', async () => {
		const csv = new TextEncoder().encode(['128166372003061629,hm,0,Write,0,4096,1', '128166372003061639,prn,0,Write,4096,4096,1'].join('\n') + '\n');
		for (const [disk, error] of [
			['hm/7', 'no records of disk hm/7 in hm.csv (it has: hm/0, prn/0)'],
			['0', 'several hosts have disk 0 (hm/0, prn/0): give HOST/DISK'],
			['prn/0', undefined]
		] as const) {
			const s = session();
			await s.load(defaultScenario(), false, { fileName: 'hm.csv', format: 'msr', timing: 'afap', totalBytes: csv.length, reader: { msr: { disk } } });
			const done = s.runToEnd();
			await s.replayPush(csv);
			const end = s.replayEnd();
			expect(end.error).toBe(error);
			if (!error) expect(end).toMatchObject({ disk: 'prn/0', records: 1, otherDisks: { 'hm/0': 1 } });
			await done;
		}
	});

	it('trace timing: an I/O parked behind an overlapping one counts as late from when it is issued', async () => {
		// Eight writes of the same sector, all at the same time: seven wait.
		const csv = new TextEncoder().encode(Array.from({ length: 8 }, () => `128166372003061629,hm,0,Write,0,512,1`).join('\n') + '\n');
		const s = session();
		await s.load(defaultScenario(), false, { fileName: 'same.csv', format: 'msr', timing: 'trace', totalBytes: csv.length });
		const done = s.runToEnd();
		await s.replayPush(csv);
		s.replayEnd();
		const r = await done;
		expect(r.ios).toBe(8);
		expect(s.replayStatus()).toMatchObject({ issued: 8, late: 7 });
		// The last write is issued once the seventh completes, before the run ends.
		expect(s.replayStatus()!.maxLateUs).toBeGreaterThan(0);
		expect(s.replayStatus()!.maxLateUs).toBeLessThan(r.elapsedUs);
	});

	it('a malformed file fails with its position; loading another scenario cancels a replay', async () => {
		const s = session();
		await s.load(defaultScenario(), false, { fileName: 'bad.csv', format: 'msr', timing: 'afap', totalBytes: 20 });
		await expect(s.replayPush(new TextEncoder().encode('this,is,not\nmsr\n'))).rejects.toThrow(/line 1/);
		expect(s.replayStatus()!.error).toMatch(/line 1/);

		await s.load(defaultScenario(), false, { fileName: 'x.vscsi', format: 'vscsi', timing: 'afap', totalBytes: 64 });
		await s.load(defaultScenario());
		expect(s.replayStatus()).toBeNull();
		const r = await s.runToEnd();
		expect(r.ios).toBe(10_000);
	});
});
