import { describe, expect, it } from 'vitest';
import { Prng } from '../clock';
import { ContentSource } from './contents';
import { WorkloadStream } from './generator';
import {
	cloneWorkload,
	defaultWorkload,
	formatBsSplit,
	formatRandomDistribution,
	parseBsSplit,
	parseRandomDistribution,
	validateWorkload,
	WORKLOAD_PRESETS,
	workloadFromPreset
} from './spec';
import type { RandomDistribution } from './types';

const DISK_SECTORS = (20 * 2 ** 30) / 512;

describe('defaultWorkload', () => {
	it('is 4 KiB randrw 70 % reads, qd 32, 10,000 I/Os, uniform, no dedupe', () => {
		const w = defaultWorkload();
		expect(w).toMatchObject({
			rw: 'randrw',
			bs: 4096,
			rwmixread: 70,
			iodepth: 32,
			ios: 10_000,
			randomDistribution: { kind: 'random' },
			dedupePercentage: 0
		});
		expect(validateWorkload(w)).toEqual([]);
	});

	it('returns a fresh object each time', () => {
		const a = defaultWorkload();
		a.randomDistribution = { kind: 'zipf', theta: 2 };
		expect(defaultWorkload().randomDistribution).toEqual({ kind: 'random' });
	});
});

describe('WORKLOAD_PRESETS', () => {
	it('are valid, named, described in one sentence, and run on a 20 GiB disk', () => {
		const ids = new Set<string>();
		for (const p of WORKLOAD_PRESETS) {
			ids.add(p.id);
			expect(p.name.length).toBeGreaterThan(0);
			expect(p.description).toMatch(/^[A-Z0-9].*\.$/);
			expect(p.description.split(/\.\s/).length).toBe(1);
			expect(validateWorkload(cloneWorkload(p.spec))).toEqual([]);
			const s = new WorkloadStream(workloadFromPreset(p.id), DISK_SECTORS, new Prng(1), new ContentSource(new Prng(2)), 0);
			for (let i = 0; i < 100; i++) expect(s.next(0)).not.toBeNull();
		}
		expect(ids.size).toBe(WORKLOAD_PRESETS.length);
		expect([...ids]).toEqual(
			expect.arrayContaining(['oltp', 'vdi-boot-storm', 'backup', 'log-writer', 'zipf-hot-set', 'clone-farm'])
		);
	});

	it('match their briefs', () => {
		expect(workloadFromPreset('oltp')).toMatchObject({ rw: 'randrw', bs: 8192, rwmixread: 70, iodepth: 16 });
		expect(workloadFromPreset('backup')).toMatchObject({ rw: 'read', bs: 1 << 20 });
		expect(workloadFromPreset('log-writer')).toMatchObject({ rw: 'write', iodepth: 1 });
		expect(workloadFromPreset('zipf-hot-set').randomDistribution).toEqual({ kind: 'zipf', theta: 1.2 });
		const clone = workloadFromPreset('clone-farm');
		expect(clone.dedupePercentage).toBeGreaterThanOrEqual(50);
		expect(clone.dedupePercentage).toBeLessThanOrEqual(80);
		const vdi = workloadFromPreset('vdi-boot-storm');
		expect(vdi.rwmixread).toBeGreaterThan(80);
		expect(vdi.iodepth).toBeGreaterThanOrEqual(32);
	});

	it('workloadFromPreset returns an independent copy', () => {
		const a = workloadFromPreset('vdi-boot-storm');
		a.bssplit![0].pct = 1;
		a.rwmixread = 0;
		const b = workloadFromPreset('vdi-boot-storm');
		expect(b.bssplit![0].pct).toBe(70);
		expect(b.rwmixread).toBe(90);
		expect(() => workloadFromPreset('nope')).toThrow(/unknown workload preset "nope"/);
	});
});

describe('validateWorkload', () => {
	it('names each problem', () => {
		const w = { ...defaultWorkload(), bs: 1000, iodepth: 0, rwmixread: 120, offset: 100 };
		const errs = validateWorkload(w).join('\n');
		expect(errs).toMatch(/bs 1000 .*512/);
		expect(errs).toMatch(/iodepth/);
		expect(errs).toMatch(/rwmixread/);
		expect(errs).toMatch(/offset 100/);
		expect(validateWorkload({ ...defaultWorkload(), randomDistribution: { kind: 'pareto', h: 1 } })[0]).toMatch(/pareto/);
	});
});

describe('parseRandomDistribution', () => {
	it('parses fio forms', () => {
		expect(parseRandomDistribution('random')).toEqual({ kind: 'random' });
		expect(parseRandomDistribution('zipf:1.2')).toEqual({ kind: 'zipf', theta: 1.2 });
		expect(parseRandomDistribution(' Zipf:0.8 ')).toEqual({ kind: 'zipf', theta: 0.8 });
		expect(parseRandomDistribution('pareto:0.9')).toEqual({ kind: 'pareto', h: 0.9 });
		expect(parseRandomDistribution('normal:10')).toEqual({ kind: 'normal', sigmaPct: 10 });
		expect(parseRandomDistribution('gauss:5')).toEqual({ kind: 'normal', sigmaPct: 5 });
		// fio's defaults.
		expect(parseRandomDistribution('zipf')).toEqual({ kind: 'zipf', theta: 1.1 });
		expect(parseRandomDistribution('pareto')).toEqual({ kind: 'pareto', h: 0.2 });
		expect(parseRandomDistribution('normal')).toEqual({ kind: 'normal', sigmaPct: 0 });
		expect(parseRandomDistribution('normal:0')).toEqual({ kind: 'normal', sigmaPct: 0 });
		// fio refuses only zipf:1: θ = 0 (uniform), tiny and negative θ are valid job files.
		expect(parseRandomDistribution('zipf:0')).toEqual({ kind: 'zipf', theta: 0 });
		expect(parseRandomDistribution('zipf:0.0')).toEqual({ kind: 'zipf', theta: 0 });
		expect(parseRandomDistribution('zipf:1e-9')).toEqual({ kind: 'zipf', theta: 1e-9 });
		expect(parseRandomDistribution('zipf:-1.5')).toEqual({ kind: 'zipf', theta: -1.5 });
		expect(parseRandomDistribution('zipf:0.999')).toEqual({ kind: 'zipf', theta: 0.999 });
	});

	it('writes bare normal for the default deviation (fio reads normal:8.33 as a wider bell)', () => {
		expect(formatRandomDistribution({ kind: 'normal', sigmaPct: 0 })).toBe('normal');
		expect(formatRandomDistribution({ kind: 'normal', sigmaPct: 100 / 12 })).toBe(`normal:${100 / 12}`);
	});

	it('validation refuses what fio refuses', () => {
		const bad = (d: RandomDistribution) => validateWorkload({ ...defaultWorkload(), rw: 'randread', randomDistribution: d });
		// zipf:1 is only fio's limit: the sampler handles it (a lesson uses it).
		expect(bad({ kind: 'zipf', theta: 1 })).toEqual([]);
		expect(bad({ kind: 'zipf', theta: 0 })).toEqual([]);
		expect(bad({ kind: 'zipf', theta: -2 })).toEqual([]);
		expect(bad({ kind: 'zipf', theta: Number.NaN })[0]).toMatch(/zipf theta must be a finite number/);
		expect(bad({ kind: 'zipf', theta: Infinity })[0]).toMatch(/zipf theta must be a finite number/);
		expect(bad({ kind: 'normal', sigmaPct: 100 })[0]).toMatch(/\[0, 100\)/);
		expect(bad({ kind: 'normal', sigmaPct: 0 })).toEqual([]);
	});

	it('round-trips through formatRandomDistribution', () => {
		for (const s of ['random', 'zipf:1.2', 'zipf:0', 'zipf:-1.5', 'pareto:0.9', 'normal:10', 'normal']) {
			expect(formatRandomDistribution(parseRandomDistribution(s))).toBe(s);
		}
	});

	it('errors name the value and the reason', () => {
		const cases: [string, RegExp][] = [
			['zipf:abc', /"zipf:abc".*theta "abc" is not a number/],
			['zipf:inf', /"zipf:inf".*theta must be a finite number, got inf \(fio puts every I\/O on one block/],
			['zipf:-Infinity', /"zipf:-Infinity".*theta must be a finite number/],
			['zipf:1.0', /"zipf:1.0": zipf theta must not be 1/],
			['pareto:0', /"pareto:0".*between 0 and 1/],
			['pareto:0.0', /"pareto:0.0".*between 0 and 1/],
			['zipf:', /"zipf:".*missing theta/],
			['pareto:1.5', /"pareto:1.5".*between 0 and 1/],
			['normal:100', /"normal:100".*\[0, 100\)/],
			['normal:150', /"normal:150".*percentage/],
			['zipf:1', /"zipf:1": zipf theta must not be 1: fio refuses zipf:1/],
			['zoned:50/10:40/90', /"zoned:50\/10:40\/90": access percentages add up to 90, not 100/],
			['random:3', /"random:3".*no parameter/],
			['zipf:1.2:0.5', /"zipf:1.2:0.5".*centre suffix ":0.5"/],
			['zoned:50/5', /"zoned:50\/5".*access percentages add up to 50, not 100/],
			['zoned_abs:50/10g:50/20g', /"zoned_abs:50\/10g:50\/20g": zoned_abs distributions are not supported/],
			['lognormal', /"lognormal".*unknown distribution "lognormal"/]
		];
		for (const [text, re] of cases) expect(() => parseRandomDistribution(text), text).toThrow(re);
	});
});

describe('parseBsSplit', () => {
	it('parses sizes and weights', () => {
		expect(parseBsSplit('4k/50:8k/30:64k/20')).toEqual([
			{ bs: 4096, pct: 50 },
			{ bs: 8192, pct: 30 },
			{ bs: 65536, pct: 20 }
		]);
		expect(parseBsSplit('512/10:1m/90')).toEqual([
			{ bs: 512, pct: 10 },
			{ bs: 1 << 20, pct: 90 }
		]);
	});

	it('shares the remainder among entries without a percentage, as fio does', () => {
		expect(parseBsSplit('4k/50:8k:16k')).toEqual([
			{ bs: 4096, pct: 50 },
			{ bs: 8192, pct: 25 },
			{ bs: 16384, pct: 25 }
		]);
		expect(parseBsSplit('4k')).toEqual([{ bs: 4096, pct: 100 }]);
	});

	it('round-trips through formatBsSplit', () => {
		expect(formatBsSplit(parseBsSplit('4k/50:8k/30:1m/20'))).toBe('4k/50:8k/30:1m/20');
		const thirds = parseBsSplit('4k:8k:16k');
		expect(parseBsSplit(formatBsSplit(thirds)).map((b) => b.bs)).toEqual([4096, 8192, 16384]);
	});

	it('errors name the value and the reason', () => {
		const cases: [string, RegExp][] = [
			['', /bssplit "": empty/],
			['4k/60:8k/50', /"4k\/60:8k\/50".*add up to 110, more than 100/],
			['4k/50:8k/30', /"4k\/50:8k\/30".*add up to 80, not 100/],
			['abc/50:4k/50', /"abc" in "abc\/50" is not a size/],
			['4k/x:8k/100', /percentage "x" in "4k\/x" is not a number/],
			['4k/:8k/100', /missing percentage after "\/" in "4k\/"/],
			['1000/100', /block size "1000" .*multiple of 512/],
			['4k/50::8k/50', /empty entry/],
			['4k/50,8k/100', /comma/],
			['4k/150', /percentage 150 in "4k\/150" is outside/],
			['4k/0:8k/0', /add up to 0, not 100/]
		];
		for (const [text, re] of cases) expect(() => parseBsSplit(text), text).toThrow(re);
	});
});
