/**
 * fio job files in and out of the page's scenario: an import puts every job in the disk's
 * workload (seed from randseed, the disk grown to reach the jobs), lists what was ignored once,
 * and a malformed file names FILE:LINE; an export reads back to the same workload.
 */
import { describe, expect, it } from 'vitest';
import { parseFioJob } from '../engine/workload/fio';
import { defaultEditableScenario } from './editable-scenario';
import { DEFAULT_NORMAL_SIGMA_PCT } from '../engine/workload/spec';
import { editableScenario } from './links';
import { applyFioImport, entryFromSpec, exportFioJob, FioParseError, importFioJob, looksLikeFioJob, specFromEntry } from './fio-files';

const JOB = `; a mixed job
[global]
ioengine=libaio
direct=1
bs=8k
iodepth=16
randseed=1234

[oltp]
rw=randrw
rwmixread=60
size=2g
offset=30g
number_ios=5000
random_distribution=zipf:1.2

[log]
rw=write
bs=64k
iodepth=4
size=1g
fsync=8
`;

describe('fio job files in the page', () => {
	it('imports every job, the seed and a disk large enough; lists ignored options once', () => {
		const imp = importFioJob(JOB, 'mixed.fio');
		expect(imp.jobNames).toEqual(['oltp', 'log']);
		expect(imp.ignored).toEqual(['ioengine', 'direct']);
		const s = defaultEditableScenario();
		applyFioImport(s, imp);
		const w = s.vms[0].disks[0].workload;
		expect(w).toHaveLength(2);
		expect(w[0]).toMatchObject({ rw: 'randrw', bs: 8192, iodepth: 16, rwmixread: 60, ios: 5000, randomDistribution: { kind: 'zipf', theta: 1.2 } });
		expect(w[1]).toMatchObject({ rw: 'write', bs: 65536, iodepth: 4, fsync: 8 });
		expect(s.seed).toBe(1234);
		expect(s.vms[0].disks[0].size).toBe(32 * 2 ** 30);
	});

	it('names each stream by its job, numjobs clones name.0, name.1, …; the export writes the names back', () => {
		const s = defaultEditableScenario();
		applyFioImport(s, importFioJob('[oltp [hot]]\nrw=randrw\nnumjobs=2\n\n[log]\nrw=write\n', 'n.fio'));
		const w = s.vms[0].disks[0].workload;
		expect(w.map((x) => x.name)).toEqual(['oltp [hot].0', 'oltp [hot].1', 'log']);
		// The scenario the page runs takes them (the engine's schema checks names).
		expect(() => editableScenario(s)).not.toThrow();
		const text = exportFioJob(s);
		expect(text.match(/^\[.*\]$/gm)).toEqual(['[global]', '[oltp [hot].0]', '[oltp [hot].1]', '[log]']);
		expect(parseFioJob(text, 'back.fio').jobs.map((j) => j.name)).toEqual(['oltp [hot].0', 'oltp [hot].1', 'log']);
		// An unnamed stream is exported as vaio, vaio-1, … by its position.
		delete w[1].name;
		expect(exportFioJob(s).match(/^\[.*\]$/gm)).toEqual(['[global]', '[oltp [hot].0]', '[vaio-1]', '[log]']);
	});

	it('a malformed file throws FILE:LINE: reason', () => {
		expect(() => importFioJob('[job]\nrw=randrw\nbs=4q\n', 'bad.fio')).toThrow(FioParseError);
		expect(() => importFioJob('[job]\nrw=randrw\nbs=4q\n', 'bad.fio')).toThrow(/^bad\.fio:3: /);
	});

	it('exports the workload as a job file that parses back to the same specs', () => {
		const s = defaultEditableScenario();
		applyFioImport(s, importFioJob(JOB, 'mixed.fio'));
		const text = exportFioJob(s);
		const back = parseFioJob(text, 'export.fio');
		// A whole-disk job (size 0) is exported with filesize = the disk and so comes back as the
		// same region with its end written out, as fio reads it.
		const whole = (diskBytes: number) => <T extends { size?: number; offset?: number }>(w: T): T => ({ ...w, size: w.size || diskBytes - (w.offset ?? 0) });
		expect(back.jobs.map((j) => j.spec)).toEqual(s.vms[0].disks[0].workload.map(specFromEntry).map(whole(s.vms[0].disks[0].size)));
		expect(back.seed).toBe(1234);
		// The page's default workload too.
		const d = defaultEditableScenario();
		const again = parseFioJob(exportFioJob(d), 'x.fio').jobs.map((j) => entryFromSpec(j.spec));
		expect(again).toEqual(d.vms[0].disks[0].workload.map(whole(d.vms[0].disks[0].size)));
	});

	it("keeps a sequential job's rw=MODE:N (seqAdd) through import and export", () => {
		const s = defaultEditableScenario();
		applyFioImport(s, importFioJob('[back]\nrw=read:-8k\nsize=128m\n', 'b.fio'));
		expect(s.vms[0].disks[0].workload[0].seqAdd).toBe(-8192);
		const text = exportFioJob(s);
		expect(text).toMatch(/^rw=read:-8k$/m);
		expect(parseFioJob(text).jobs[0].spec.seqAdd).toBe(-8192);
	});

	it('exports the default normal (the UI default) as bare normal, which fio reads the same way', () => {
		const s = defaultEditableScenario();
		s.vms[0].disks[0].workload[0].randomDistribution = { kind: 'normal', sigmaPct: DEFAULT_NORMAL_SIGMA_PCT };
		const text = exportFioJob(s);
		expect(text).toMatch(/^random_distribution=normal$/m);
		expect(text).not.toMatch(/normal:/);
	});

	it("keeps fio's random map through import and export: norandommap only where offsets repeat", () => {
		const s = defaultEditableScenario();
		applyFioImport(s, importFioJob('[map]\nrw=randread\n\n[nomap]\nrw=randread\nnorandommap\n', 'm.fio'));
		const [map, nomap] = s.vms[0].disks[0].workload;
		expect(map.randomMap).toBe(true);
		expect(nomap.randomMap).toBeUndefined();
		const text = exportFioJob(s);
		expect(text).toMatch(/\[map\]\n(?:(?!norandommap)[^[])*\n\[nomap\][^[]*\nnorandommap\n/);
		expect(parseFioJob(text).jobs.map((j) => j.spec.randomMap)).toEqual([true, undefined]);
	});

	it('does not export a distribution fio refuses', () => {
		const s = defaultEditableScenario();
		s.vms[0].disks[0].workload[0].randomDistribution = { kind: 'zipf', theta: 1 };
		expect(() => exportFioJob(s)).toThrow(/job "vaio": zipf theta must not be 1/);
	});

	it('tells job files from traces by name and content', () => {
		expect(looksLikeFioJob('a.fio', '')).toBe(true);
		expect(looksLikeFioJob('trace.vscsi', '[x]')).toBe(false);
		expect(looksLikeFioJob('noext', '; comment\n[job]\nrw=read\n')).toBe(true);
		expect(looksLikeFioJob('noext', '128166372003061629,hm,1,Read,383496192,32768,177')).toBe(false);
	});
});
