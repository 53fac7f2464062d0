import { describe, expect, it } from 'vitest';
import { OTHER_DISK, ReplayController, SCAN_BYTES } from './replay.svelte';
import type { Playground } from './playground.svelte';

const T = 128166372003061629;
const line = (i: number, host: string, disk: number) => `${T + i},${host},${disk},Write,${(i % 1000) * 4096},4096,1\n`;

/** An MSR file larger than the scan: hm/0 and prn/0 throughout, hm/1 only after the scanned part. */
function bigMsr(): File {
	const parts: string[] = [];
	let bytes = 0;
	let i = 0;
	while (bytes < SCAN_BYTES + 4096) {
		const l = line(i, i % 2 ? 'prn' : 'hm', 0);
		parts.push(l);
		bytes += l.length;
		i++;
	}
	parts.push(line(i, 'hm', 1));
	return new File(parts, 'big.csv');
}

describe('the page lists the disks of a trace file', () => {
	it('a file larger than the scan: the disks of its start, counts as lower bounds; a disk not seen yet is a note, an ambiguous number an error', async () => {
		const r = new ReplayController({} as Playground);
		await r.choose(bigMsr());
		expect(r.format).toBe('msr');
		expect(r.scannedBytes).toBe(SCAN_BYTES);
		expect(r.disksComplete).toBe(false);
		expect(r.disks.map((d) => d.id)).toEqual(['hm/0', 'prn/0']);
		expect(r.disks[0].records).toBeGreaterThan(1000);
		expect(r.disk).toBe('hm/0');
		expect(r.askedDisk).toBe('hm/0');
		expect(r.diskProblem).toBeNull();
		r.disk = OTHER_DISK;
		expect(r.diskProblem).toEqual({ message: 'Type a disk id.', blocking: true });
		r.diskId = 'hm/1';
		expect(r.diskProblem?.blocking).toBe(false);
		expect(r.diskProblem?.message).toContain('not in the first 4 MiB');
		r.diskId = '0';
		expect(r.diskProblem).toEqual({ message: 'several hosts have disk 0 (hm/0, prn/0): give HOST/DISK', blocking: true });
		r.diskId = 'x';
		expect(r.diskProblem?.blocking).toBe(true);
		// Another format lists its own disks (none here: the start is not blkparse) and asks for none.
		r.setFormat('vscsi');
		expect(r.askedDisk).toBeUndefined();
	});

	it('a small file is read whole: its list is complete and an absent disk is an error', async () => {
		const r = new ReplayController({} as Playground);
		await r.choose(new File([line(0, 'hm', 0), line(1, 'hm', 2), line(2, 'hm', 0)], 'small.csv'));
		expect(r.disksComplete).toBe(true);
		expect(r.disks).toEqual([
			{ id: 'hm/0', records: 2 },
			{ id: 'hm/2', records: 1 }
		]);
		r.disk = OTHER_DISK;
		r.diskId = 'hm/1';
		expect(r.diskProblem).toEqual({ message: 'no records of disk hm/1 in small.csv (it has: hm/0, hm/2)', blocking: true });
		r.diskId = '2';
		expect(r.diskProblem).toBeNull();
	});
});
