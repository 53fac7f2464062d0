import { describe, expect, it } from 'vitest';
import { readTrace } from './index';
import { TraceDiskError, traceDiskProblem, traceDisks, traceReaderOptions } from './disks';

const MSR = ['128166372003061629,hm,0,Write,0,4096,1', '128166372003061639,prn,0,Read,4096,4096,1', '128166372003061649,hm,1,Read,0,0,1', '128166372003061659,hm,0,Read,0,4096,1'].join('\n') + '\n';
const BLK = ['8,0 0 1 0.000000000 1 D W 100 + 8 [a]', '8,16 0 2 0.000001000 1 D R 200 + 8 [a]', '8,16 0 3 0.000002000 1 D W 300 + 8 [a]'].join('\n') + '\n';

describe('the disk of a multi-disk trace', () => {
	it('reader options from a disk id, checked against the format', () => {
		expect(traceReaderOptions('msr')).toEqual({});
		expect(traceReaderOptions('msr', 'hm/1')).toEqual({ msr: { disk: 'hm/1' } });
		expect(traceReaderOptions('msr', '1')).toEqual({ msr: { disk: '1' } });
		expect(traceReaderOptions('blkparse', '8,16')).toEqual({ blkparse: { event: 'D', device: '8,16' } });
		expect(traceReaderOptions('blkparse', undefined, 'Q')).toEqual({ blkparse: { event: 'Q' } });
		expect(() => traceReaderOptions('msr', '8,0')).toThrow(new TraceDiskError('"8,0" is not an MSR disk, HOST/DISK or DISK (e.g. hm/0 or 0)'));
		expect(() => traceReaderOptions('blkparse', 'sda')).toThrow(new TraceDiskError('"sda" is not a blkparse device, MAJ,MIN (e.g. 8,0)'));
		expect(() => traceReaderOptions('vscsi', '0')).toThrow(TraceDiskError);
	});

	it('the disks a summary holds: first in the file first (with its skipped records), then the others as met', () => {
		expect(traceDisks(readTrace('msr', MSR).summary)).toEqual([
			{ id: 'hm/0', records: 2 },
			{ id: 'prn/0', records: 1 },
			{ id: 'hm/1', records: 1 }
		]);
		// Asked for another disk: it comes first; the zero-size record of hm/1 is counted as skipped.
		expect(traceDisks(readTrace('msr', MSR, traceReaderOptions('msr', 'hm/1')).summary)).toEqual([
			{ id: 'hm/1', records: 1 },
			{ id: 'hm/0', records: 2 },
			{ id: 'prn/0', records: 1 }
		]);
		expect(traceDisks(readTrace('blkparse', BLK).summary)).toEqual([
			{ id: '8,0', records: 1 },
			{ id: '8,16', records: 2 }
		]);
		expect(traceDisks(readTrace('blkparse', BLK, traceReaderOptions('blkparse', '8,32')).summary)).toEqual([
			{ id: '8,0', records: 1 },
			{ id: '8,16', records: 2 }
		]);
	});

	it('an id that is not one disk of the file: absent, or an MSR number several hosts have', () => {
		const msr = ['hm/0', 'prn/0', 'hm/1'];
		expect(traceDiskProblem('msr', 'hm/1', msr, 'x.csv')).toBeNull();
		expect(traceDiskProblem('msr', '1', msr, 'x.csv')).toBeNull();
		expect(traceDiskProblem('msr', 'hm/01', msr, 'x.csv')).toBeNull();
		expect(traceDiskProblem('msr', '0', msr, 'x.csv')).toEqual({ kind: 'ambiguous', message: 'several hosts have disk 0 (hm/0, prn/0): give HOST/DISK' });
		expect(traceDiskProblem('msr', 'hm/7', msr, 'x.csv')).toEqual({ kind: 'missing', message: 'no records of disk hm/7 in x.csv (it has: hm/0, prn/0, hm/1)' });
		expect(traceDiskProblem('msr', '3', [], 'x.csv')?.message).toBe('no records of disk 3 in x.csv (it has none)');
		expect(traceDiskProblem('blkparse', '8, 16', ['8,0', '8,16'], 'b.blkparse')).toBeNull();
		expect(traceDiskProblem('blkparse', '8,32', ['8,0', '8,16'], 'b.blkparse', 'Q')).toEqual({
			kind: 'missing',
			message: 'no Q events of device 8,32 in b.blkparse (it has: 8,0, 8,16)'
		});
	});
});
