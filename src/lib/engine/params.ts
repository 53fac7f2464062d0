/**
 * Filter parameters from the filter's own table: defaults filled in, values checked against type,
 * range and choices, unknown names refused. The same table formats a config back to text so that
 * parsing the text gives the same config (the share-link codec depends on that round trip).
 */
import type { FilterDef, ParamSpec, ParamValue, ParamValues } from './filter';
import { ScenarioError } from './scenario/schema';

/**
 * The scenario error for a ParamError of the filter attached at `fpath`
 * (vms[i].disks[j].policy.filters[k]): at params.<name> when it names its parameter.
 */
export function paramScenarioError(fpath: string, e: ParamError): ScenarioError {
	return new ScenarioError(`${fpath}.params${e.param !== undefined ? `.${e.param}` : ''}`, e.message);
}

export class ParamError extends Error {
	override name = 'ParamError';
	/** The parameter at fault, when one is (the scenario path ends in params.<name>). */
	constructor(
		message: string,
		readonly param?: string
	) {
		super(message);
	}
}

/** Validates `given` against the table; returns a complete set of values. */
export function resolveParams(def: Pick<FilterDef, 'name' | 'params'>, given: Record<string, unknown> = {}): ParamValues {
	const out: ParamValues = {};
	const known = new Set(def.params.map((p) => p.name));
	for (const k of Object.keys(given))
		if (!known.has(k))
			throw new ParamError(`filter "${def.name}": unknown parameter "${k}" (known: ${[...known].join(', ') || 'none'})`, k);
	for (const p of def.params) {
		const v = given[p.name];
		out[p.name] = v === undefined ? p.default : checkValue(def.name, p, v);
	}
	return out;
}

function checkValue(filter: string, p: ParamSpec, v: unknown): ParamValue {
	const where = `filter "${filter}" parameter "${p.name}"`;
	switch (p.type) {
		case 'int':
		case 'number': {
			const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
			if (typeof n !== 'number' || !Number.isFinite(n)) throw new ParamError(`${where}: ${JSON.stringify(v)} is not a number`, p.name);
			if (p.type === 'int' && !Number.isInteger(n)) throw new ParamError(`${where}: ${n} is not an integer`, p.name);
			if (p.min !== undefined && n < p.min) throw new ParamError(`${where}: ${n} is below the minimum ${p.min}${p.unit ? ' ' + p.unit : ''}`, p.name);
			if (p.max !== undefined && n > p.max) throw new ParamError(`${where}: ${n} is above the maximum ${p.max}${p.unit ? ' ' + p.unit : ''}`, p.name);
			return n;
		}
		case 'bool':
			if (typeof v === 'boolean') return v;
			if (v === 'true' || v === '1') return true;
			if (v === 'false' || v === '0') return false;
			throw new ParamError(`${where}: ${JSON.stringify(v)} is not true or false`, p.name);
		case 'enum':
			if (typeof v === 'string' && p.choices.includes(v)) return v;
			throw new ParamError(`${where}: ${JSON.stringify(v)} is not one of ${p.choices.join(', ')}`, p.name);
		case 'string':
			if (typeof v !== 'string') throw new ParamError(`${where}: ${JSON.stringify(v)} is not a string`, p.name);
			if (p.maxLength !== undefined && v.length > p.maxLength) throw new ParamError(`${where}: longer than ${p.maxLength} characters`, p.name);
			return v;
	}
}

/** Formats the values that differ from the defaults as `name=value,name=value` (dm status style). */
export function formatParams(def: Pick<FilterDef, 'params'>, values: ParamValues): string {
	return def.params
		.filter((p) => values[p.name] !== undefined && values[p.name] !== p.default)
		.map((p) => `${p.name}=${encodeURIComponent(String(values[p.name]))}`)
		.join(',');
}

/** Parses what formatParams wrote. */
export function parseParams(def: Pick<FilterDef, 'name' | 'params'>, text: string): ParamValues {
	const given: Record<string, unknown> = {};
	for (const part of text.split(',').filter((s) => s.length > 0)) {
		const eq = part.indexOf('=');
		if (eq <= 0) throw new ParamError(`filter "${def.name}": "${part}" is not name=value`);
		given[part.slice(0, eq)] = decodeURIComponent(part.slice(eq + 1));
	}
	return resolveParams(def, given);
}
