/**
 * Config round trip (dm targets' status writes back what the constructor parsed): for every
 * registered built-in filter and every parameter, a non-default value survives
 * formatParams → parseParams. The loop runs over builtinRegistry().names(), so a new filter is
 * covered the moment it is registered. Share links depend on this.
 */
import { describe, expect, it } from 'vitest';
import type { FilterDef, ParamSpec, ParamValue, ParamValues } from '../../src/lib/engine/filter';
import { ParamError, formatParams, parseParams, resolveParams } from '../../src/lib/engine/params';
import { builtinRegistry } from '../../src/lib/filters';

/** Values of `p` other than its default, valid for its type, range and choices. */
function nonDefaults(p: ParamSpec): ParamValue[] {
	switch (p.type) {
		case 'bool':
			return [!p.default];
		case 'enum':
			return p.choices.filter((c) => c !== p.default);
		case 'string': {
			// Separators and escapes of the text form, and non-ASCII.
			const max = p.maxLength ?? 64;
			return ['a,b=c%20 d/é', 'x', ''].map((s) => s.slice(0, max)).filter((s) => s !== p.default);
		}
		case 'int':
		case 'number': {
			const min = p.min ?? -1e9;
			const max = p.max ?? 1e9;
			const d = p.default;
			const cands = [d + 1, d - 1, min, max, Math.floor((min + max) / 2), min + 1, max - 1];
			if (p.type === 'number') cands.push(d + 0.5, (min + max) / 3, min + (max - min) * 0.123456789);
			const ok = cands.filter(
				(v) => Number.isFinite(v) && v >= min && v <= max && v !== d && (p.type === 'number' || Number.isInteger(v))
			);
			return [...new Set(ok)];
		}
	}
}

function defaults(def: FilterDef): ParamValues {
	return Object.fromEntries(def.params.map((p) => [p.name, p.default]));
}

const registry = builtinRegistry();
const names = registry.names();

describe('params round trip for every built-in filter', () => {
	it('the registry holds the built-ins', () => {
		expect(names).toEqual(expect.arrayContaining(['passthrough', 'delay', 'flaky']));
	});

	describe.each(names)('%s', (name) => {
		const def = registry.get(name)!;

		it('defaults format to the empty string and parse back to the defaults', () => {
			expect(formatParams(def, defaults(def))).toBe('');
			expect(parseParams(def, '')).toEqual(defaults(def));
			expect(resolveParams(def, {})).toEqual(defaults(def));
		});

		it('every parameter has at least one non-default value to test with', () => {
			for (const p of def.params)
				if (!(p.type === 'enum' && p.choices.length === 1)) expect(nonDefaults(p).length, p.name).toBeGreaterThan(0);
		});

		it('each non-default value of each parameter survives format → parse', () => {
			for (const p of def.params)
				for (const v of nonDefaults(p)) {
					const values = { ...defaults(def), [p.name]: v };
					const text = formatParams(def, values);
					expect(text, `${p.name}=${String(v)}`).not.toBe('');
					expect(parseParams(def, text), `${name} ${p.name}=${JSON.stringify(v)} → "${text}"`).toEqual(values);
				}
		});

		it('all parameters changed at once survive format → parse', () => {
			const values = defaults(def);
			for (const p of def.params) {
				const v = nonDefaults(p)[0];
				if (v !== undefined) values[p.name] = v;
			}
			expect(parseParams(def, formatParams(def, values))).toEqual(values);
		});

		it('an unknown parameter name is refused, naming the filter and the parameter', () => {
			expect(() => parseParams(def, 'noSuchParam=1')).toThrow(ParamError);
			expect(() => parseParams(def, 'noSuchParam=1')).toThrow(`filter "${name}": unknown parameter "noSuchParam"`);
		});
	});
});

describe('params validation', () => {
	const def: Pick<FilterDef, 'name' | 'params'> = {
		name: 'probe',
		params: [
			{ name: 'n', type: 'int', default: 4, min: 1, max: 8, unit: 'MiB', help: 'h' },
			{ name: 'x', type: 'number', default: 0.5, min: 0, max: 1, help: 'h' },
			{ name: 'on', type: 'bool', default: false, help: 'h' },
			{ name: 'mode', type: 'enum', default: 'a', choices: ['a', 'b'], help: 'h' },
			{ name: 's', type: 'string', default: '', maxLength: 3, help: 'h' }
		]
	};

	it.each([
		[{ n: 9 }, 'filter "probe" parameter "n": 9 is above the maximum 8 MiB'],
		[{ n: 0 }, 'filter "probe" parameter "n": 0 is below the minimum 1 MiB'],
		[{ n: 2.5 }, 'filter "probe" parameter "n": 2.5 is not an integer'],
		[{ x: 'abc' }, 'filter "probe" parameter "x": "abc" is not a number'],
		[{ on: 'yes' }, 'filter "probe" parameter "on": "yes" is not true or false'],
		[{ mode: 'c' }, 'filter "probe" parameter "mode": "c" is not one of a, b'],
		[{ s: 'abcd' }, 'filter "probe" parameter "s": longer than 3 characters'],
		[{ speed: 1 }, 'filter "probe": unknown parameter "speed" (known: n, x, on, mode, s)']
	])('%j → %s', (given, message) => {
		expect(() => resolveParams(def, given)).toThrow(message);
	});

	it('text values are converted by type ("3" → 3, "true"/"1" → true, "0" → false)', () => {
		expect(resolveParams(def, { n: '3', on: '1', x: '0.25' })).toMatchObject({ n: 3, on: true, x: 0.25 });
		expect(resolveParams(def, { on: 'true' }).on).toBe(true);
		expect(resolveParams(def, { on: '0' }).on).toBe(false);
	});

	it('text that is not name=value is refused', () => {
		expect(() => parseParams(def, 'n')).toThrow('filter "probe": "n" is not name=value');
	});
});
