/**
 * One registry, checked at registration (fio's ioengines.c): a wrong contract version, a missing
 * hook, a bad class or a malformed parameter table is refused with a message naming the filter
 * and the problem. Every built-in filter passes the same checks.
 */
import { describe, expect, it } from 'vitest';
import { FILTER_CLASSES, FILTER_CONTRACT_VERSION, type FilterDef } from '../../src/lib/engine/filter';
import { FilterRegistrationError, FilterRegistry, checkFilterDef } from '../../src/lib/engine/registry';
import { builtinRegistry } from '../../src/lib/filters';
import { testFilter } from './driver';

/** A valid definition with some fields overridden (or deleted when given undefined). */
function def(overrides: Record<string, unknown>): FilterDef {
	const d: Record<string, unknown> = { ...testFilter('probe', 'cache') };
	for (const [k, v] of Object.entries(overrides)) {
		if (v === undefined) delete d[k];
		else d[k] = v;
	}
	return d as unknown as FilterDef;
}

function refusal(d: unknown): string {
	try {
		new FilterRegistry().register(d as FilterDef);
	} catch (e) {
		expect(e).toBeInstanceOf(FilterRegistrationError);
		return (e as Error).message;
	}
	throw new Error('registration was accepted');
}

describe('registration checks', () => {
	it('a valid definition registers and can be looked up', () => {
		const r = new FilterRegistry().register(def({}));
		expect(r.has('probe')).toBe(true);
		expect(r.get('probe')!.name).toBe('probe');
		expect(r.names()).toEqual(['probe']);
		expect(r.get('nope')).toBeUndefined();
	});

	it.each([
		['wrong contract version', { contract: FILTER_CONTRACT_VERSION + 1 }, `filter "probe": contract version ${FILTER_CONTRACT_VERSION + 1} is not supported (expected ${FILTER_CONTRACT_VERSION})`],
		['missing contract', { contract: undefined }, `filter "probe": contract version undefined is not supported (expected ${FILTER_CONTRACT_VERSION})`],
		['missing onIo', { onIo: undefined }, 'filter "probe": required hook "onIo" is missing'],
		['missing attach', { attach: undefined }, 'filter "probe": required hook "attach" is missing'],
		['onDone not a function', { onDone: 'yes' }, 'filter "probe": hook "onDone" must be a function'],
		['onEvent not a function', { onEvent: {} }, 'filter "probe": hook "onEvent" must be a function'],
		['unknown class', { class: 'storage' }, `filter "probe": class "storage" is not one of ${FILTER_CLASSES.join(', ')}`],
		['bad name', { name: 'My Filter' }, 'filter "My Filter": name must be lowercase letters, digits and dashes, starting with a letter (max 40)'],
		['empty vendor', { vendor: '' }, 'filter "probe": "vendor" must be a non-empty string'],
		['missing version', { version: undefined }, 'filter "probe": "version" must be a non-empty string'],
		['params not an array', { params: {} }, 'filter "probe": "params" must be an array (the parameter table)'],
		[
			'param default below min',
			{ params: [{ name: 'size', type: 'int', default: 5, min: 10, help: 'h' }] },
			'filter "probe": params[0] "size": default 5 is below min 10'
		],
		[
			'param default above max',
			{ params: [{ name: 'size', type: 'number', default: 50, max: 10, help: 'h' }] },
			'filter "probe": params[0] "size": default 50 is above max 10'
		],
		[
			'int param with a fractional default',
			{ params: [{ name: 'size', type: 'int', default: 1.5, help: 'h' }] },
			'filter "probe": params[0] "size": default must be an integer'
		],
		[
			'enum default not a choice',
			{ params: [{ name: 'mode', type: 'enum', default: 'c', choices: ['a', 'b'], help: 'h' }] },
			'filter "probe": params[0] "mode": default "c" is not one of the choices'
		],
		[
			'enum without choices',
			{ params: [{ name: 'mode', type: 'enum', default: 'a', choices: [], help: 'h' }] },
			'filter "probe": params[0] "mode": choices are missing'
		],
		[
			'bool with a string default',
			{ params: [{ name: 'on', type: 'bool', default: 'true', help: 'h' }] },
			'filter "probe": params[0] "on": default must be a boolean'
		],
		['unknown param type', { params: [{ name: 'x', type: 'date', default: 0, help: 'h' }] }, 'filter "probe": params[0] "x": type "date" is not int, number, bool, enum or string'],
		['param without help', { params: [{ name: 'x', type: 'int', default: 0 }] }, 'filter "probe": params[0] "x": help text is missing'],
		['param with a bad name', { params: [{ name: 'block size', type: 'int', default: 0, help: 'h' }] }, 'filter "probe": params[0] "block size": name must be an identifier'],
		[
			'duplicate param names',
			{
				params: [
					{ name: 'x', type: 'int', default: 0, help: 'h' },
					{ name: 'x', type: 'bool', default: false, help: 'h' }
				]
			},
			'filter "probe": params[1] "x": duplicate name'
		]
	])('%s', (_what, overrides, message) => {
		expect(refusal(def(overrides))).toBe(message);
	});

	it('something that is not an object is refused', () => {
		expect(refusal(null)).toBe('filter "?": is not an object');
		expect(checkFilterDef(42)).toBe('is not an object');
	});

	it('a name registers once; replace() swaps in a new version', () => {
		const r = new FilterRegistry().register(def({}));
		expect(() => r.register(def({ version: '2.0.0' }))).toThrow('filter "probe": already registered');
		r.replace(def({ version: '2.0.0' }));
		expect(r.get('probe')!.version).toBe('2.0.0');
		expect(r.names()).toEqual(['probe']);
		// replace checks too
		expect(() => r.replace(def({ onIo: undefined }))).toThrow('filter "probe": required hook "onIo" is missing');
	});
});

describe('built-in filters', () => {
	const registry = builtinRegistry();
	it.each(registry.names())('%s passes the registration checks and is in a known class', (name) => {
		const d = registry.get(name)!;
		expect(checkFilterDef(d)).toBeUndefined();
		expect(d.name).toBe(name);
		expect(FILTER_CLASSES).toContain(d.class);
		expect(d.contract).toBe(FILTER_CONTRACT_VERSION);
	});

	it('a fresh registry per call: registering into one does not change another', () => {
		const a = builtinRegistry();
		a.register(def({}));
		expect(builtinRegistry().has('probe')).toBe(false);
	});
});
