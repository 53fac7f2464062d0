import { describe, expect, it } from 'vitest';
import { parseField, rangeText, sizeField, sliderStep, streamNameField, type FieldSpec } from './fields';

describe('fields from parameter tables', () => {
	const int: FieldSpec = { type: 'int', name: 'destageDepth', default: 4, min: 1, max: 256, help: '' };
	const num: FieldSpec = { type: 'number', name: 'capacityMiB', default: 256, min: 0.00390625, max: 16777216, unit: 'MiB', help: '' };

	it('parses numbers within the range and says why others are refused', () => {
		expect(parseField(int, ' 16 ')).toEqual({ ok: true, value: 16 });
		expect(parseField(int, '2.5')).toEqual({ ok: false, error: 'must be a whole number' });
		expect(parseField(int, '0')).toEqual({ ok: false, error: 'must be in 1 – 256' });
		expect(parseField(int, '')).toEqual({ ok: false, error: 'a number is required' });
		expect(parseField(num, 'abc')).toEqual({ ok: false, error: '"abc" is not a number' });
		expect(parseField(num, '-3')).toMatchObject({ ok: false, error: expect.stringContaining('must be in') });
		expect(parseField(num, '64')).toEqual({ ok: true, value: 64 });
	});

	it('enums, booleans and strings', () => {
		const mode: FieldSpec = { type: 'enum', name: 'mode', default: 'a', choices: ['a', 'b'], help: '' };
		expect(parseField(mode, 'b')).toEqual({ ok: true, value: 'b' });
		expect(parseField(mode, 'c')).toEqual({ ok: false, error: 'must be one of a, b' });
		expect(parseField({ type: 'bool', name: 'x', default: false, help: '' }, true)).toEqual({ ok: true, value: true });
		const s: FieldSpec = { type: 'string', name: 'keyId', default: '', maxLength: 3, help: '' };
		expect(parseField(s, 'abcd')).toEqual({ ok: false, error: 'at most 3 characters' });
	});

	it('sizes: fio suffixes, multiples of 512, optional when empty', () => {
		const bs = sizeField({ name: 'bs', help: '', min: 512, max: 64 * 2 ** 20 });
		expect(parseField(bs, '64k')).toEqual({ ok: true, value: 65536 });
		expect(parseField(bs, '1000')).toMatchObject({ ok: false, error: expect.stringContaining('multiple of 512') });
		expect(parseField(bs, 'x')).toMatchObject({ ok: false, error: expect.stringContaining('not a size') });
		expect(parseField(bs, '')).toMatchObject({ ok: false });
		expect(bs.format(1048576)).toBe('1m');
		const size = sizeField({ name: 'size', help: '', min: 0, max: 2 ** 40, optional: true });
		expect(parseField(size, '')).toEqual({ ok: true, value: undefined });
	});

	it('stream names: trimmed, empty for none, the engine\'s rules, not another stream\'s name', () => {
		const name = streamNameField({ name: 'name', help: '', placeholder: 'vaio', others: () => ['log', undefined] });
		expect(parseField(name, '  oltp [hot] ')).toEqual({ ok: true, value: 'oltp [hot]' });
		expect(parseField(name, ' ')).toEqual({ ok: true, value: undefined });
		expect(parseField(name, 'a;b')).toMatchObject({ ok: false, error: expect.stringContaining('must not contain ";" or "#"') });
		expect(parseField(name, 'global')).toMatchObject({ ok: false, error: expect.stringContaining('must not start with "global"') });
		expect(parseField(name, 'log')).toEqual({ ok: false, error: 'another stream of this disk is named "log"' });
		expect(name.format(undefined)).toBe('');
		expect(name.format('x')).toBe('x');
	});

	it('ranges and sliders', () => {
		expect(rangeText(num)).toBe('0.00391 – 16,777,216 MiB');
		expect(rangeText({ type: 'number', name: 'x', default: 0, min: 0, help: '' })).toBe('≥ 0');
		expect(sliderStep(int)).toBe(1);
		expect(sliderStep(num)).toBeUndefined();
		expect(sliderStep({ type: 'number', name: 'p', default: 1, min: 0, max: 1, help: '' })).toBe(0.01);
		expect(sliderStep({ type: 'number', name: 'pct', default: 60, min: 1, max: 100, help: '' })).toBeCloseTo(0.1);
	});
});
