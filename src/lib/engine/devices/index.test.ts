import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Prng } from '../clock';
import { Op } from '../io';
import {
	createDevice,
	createLink,
	DEVICE_KINDS,
	DEVICE_PARAMS,
	HDD_DEFAULTS,
	LINK_DEFAULTS,
	LINK_PARAMS,
	NULL_DEFAULTS,
	NVME_DEFAULTS,
	SATA_SSD_DEFAULTS,
	type DeviceSpec
} from './index';

describe('createDevice', () => {
	it('builds every kind', () => {
		for (const kind of DEVICE_KINDS) {
			const d = createDevice({ kind } as DeviceSpec, new Prng(1));
			expect(d.kind).toBe(kind);
			expect(d.schedule(0, Op.read, 0, 4096)).toBeGreaterThanOrEqual(0);
			expect(d.stats().requests).toBe(1);
		}
	});

	it('applies overrides', () => {
		const fast = createDevice({ kind: 'nvme', readLatencyUs: 10, jitter: 0, stallProb: 0 }, new Prng(1));
		expect(fast.schedule(0, Op.read, 0, 3000)).toBeCloseTo(11, 9);
		const nul = createDevice({ kind: 'null', latencyUs: 5 }, new Prng(1));
		expect(nul.schedule(1, Op.read, 0, 4096)).toBe(6);
		const hdd = createDevice({ kind: 'hdd', overheadUs: 0, transferMBps: 100 }, new Prng(1));
		expect(hdd.schedule(0, Op.read, 0, 1000)).toBe(10);
	});

	it('rejects unknown kinds and parameters', () => {
		expect(() => createDevice({ kind: 'tape' } as never, new Prng(1))).toThrow(/unknown device kind/);
		expect(() => createDevice({ kind: 'hdd', channels: 4 } as never, new Prng(1))).toThrow(/unknown parameter "channels"/);
		expect(() => createDevice({ kind: 'sata-ssd', queueDepth: 0 }, new Prng(1))).toThrow(/queueDepth/);
	});

	it('createLink uses the defaults and overrides', () => {
		expect(createLink().rttUs).toBe(LINK_DEFAULTS.rttUs);
		expect(createLink({ mbitPerSec: 1000 }).bytesPerUs).toBe(125);
	});
});

describe('parameter tables', () => {
	const defaults = {
		nvme: NVME_DEFAULTS,
		'sata-ssd': SATA_SSD_DEFAULTS,
		hdd: HDD_DEFAULTS,
		null: NULL_DEFAULTS
	} as const;

	it('describe every parameter once, with its default, unit, help and a range containing the default', () => {
		const tables = [...DEVICE_KINDS.map((k) => [DEVICE_PARAMS[k], defaults[k]] as const), [LINK_PARAMS, LINK_DEFAULTS] as const];
		for (const [table, dflt] of tables) {
			expect(table.map((r) => r.name).sort()).toEqual(Object.keys(dflt).sort());
			for (const row of table) {
				expect(row.default).toBe((dflt as Record<string, number>)[row.name]);
				expect(row.help.length).toBeGreaterThan(10);
				expect(typeof row.unit).toBe('string');
				expect(row.default).toBeGreaterThanOrEqual(row.min);
				expect(row.default).toBeLessThanOrEqual(row.max);
				if (row.integer) expect(Number.isInteger(row.default)).toBe(true);
			}
		}
	});

	it('are frozen', () => {
		expect(Object.isFrozen(DEVICE_PARAMS.nvme)).toBe(true);
		expect(Object.isFrozen(DEVICE_PARAMS.nvme[0])).toBe(true);
		expect(Object.isFrozen(NVME_DEFAULTS)).toBe(true);
	});
});

describe('determinism', () => {
	it('no model reads a wall clock or an unseeded random source', () => {
		const dir = dirname(fileURLToPath(import.meta.url));
		const sources = readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
		expect(sources.length).toBeGreaterThanOrEqual(7);
		for (const f of sources) {
			const text = readFileSync(join(dir, f), 'utf8');
			expect(text, f).not.toMatch(/Math\.random|Date\.now|performance\.now|new Date\(/);
		}
	});
});
