import { describe, expect, it } from 'vitest';
import { filterLog, fmtLogTime, logKind } from './event-log';

describe('event log entries', () => {
	it('get a kind from their message', () => {
		expect(logKind({ t: 0, source: 'vm/disk', message: 'control: snapshot-create' })).toBe('control');
		expect(logKind({ t: 0, source: 'cluster', message: 'vmotion vm-01: moved to esx-02' })).toBe('control');
		expect(logKind({ t: 0, source: 'cache', message: 'onIo threw on I/O #4: boom' })).toBe('error');
		expect(logKind({ t: 0, source: 'cluster', message: 'vmotion vm-01 refused: the filter is not installed on esx-02' })).toBe('error');
		expect(logKind({ t: 0, source: 'replication', message: 'link down at 1200 µs: journalling (0 bytes queued)' })).toBe('fault');
		expect(logKind({ t: 0, source: 'cluster', message: 'WAN outage over: 1 link(s) up again' })).toBe('fault');
		expect(logKind({ t: 0, source: 'encryption', message: 'key kms:vm-01:1 fetched from the KMS' })).toBe('message');
	});

	it('filter by kind, source and text (case-insensitive), keeping their index', () => {
		const log = [
			{ t: 1, source: 'encryption', message: 'key kms:vm:1 fetched from the KMS' },
			{ t: 2, source: 'vm/d', message: 'control: power-off' },
			{ t: 3, source: 'cache', message: 'destage of block 7 failed: EIO' }
		];
		expect(filterLog(log, {}).map((x) => x.i)).toEqual([0, 1, 2]);
		expect(filterLog(log, { kind: 'control' }).map((x) => x.i)).toEqual([1]);
		expect(filterLog(log, { source: 'cache' }).map((x) => x.kind)).toEqual(['error']);
		expect(filterLog(log, { text: 'kms' }).map((x) => x.i)).toEqual([0]);
		expect(filterLog(log, { text: 'CACHE' }).map((x) => x.i)).toEqual([2]);
	});

	it('show virtual time in seconds with µs resolution', () => {
		expect(fmtLogTime(0)).toBe('0.000000 s');
		expect(fmtLogTime(12_345)).toBe('0.012345 s');
		expect(fmtLogTime(3_000_001)).toBe('3.000001 s');
	});
});
