/**
 * One registry of filter types, checked at registration (as fio's ioengines.c checks engine
 * ops): a wrong contract version, a missing hook, an unknown class or a malformed parameter
 * table is refused with a message that names the filter and what is wrong.
 */
import * as v from 'valibot';
import { FILTER_CLASSES, FILTER_CONTRACT_VERSION, type FilterDef, type ParamSpec } from './filter';
import { DeviceSpecSchema, LinkSpecSchema } from './scenario/schema';

export class FilterRegistrationError extends Error {
	override name = 'FilterRegistrationError';
}

export class FilterRegistry {
	private readonly defs = new Map<string, FilterDef>();

	register(def: FilterDef): this {
		const problem = checkFilterDef(def);
		if (problem) throw new FilterRegistrationError(`filter "${String(def?.name ?? '?')}": ${problem}`);
		if (this.defs.has(def.name)) throw new FilterRegistrationError(`filter "${def.name}": already registered`);
		this.defs.set(def.name, def);
		return this;
	}

	/** Replaces a registered type (a new version of a custom filter); a refused one leaves the old in place. */
	replace(def: FilterDef): this {
		const problem = checkFilterDef(def);
		if (problem) throw new FilterRegistrationError(`filter "${String(def?.name ?? '?')}": ${problem}`);
		this.defs.delete(def.name);
		return this.register(def);
	}

	get(name: string): FilterDef | undefined {
		return this.defs.get(name);
	}

	has(name: string): boolean {
		return this.defs.has(name);
	}

	names(): string[] {
		return [...this.defs.keys()];
	}
}

/** Returns undefined when the definition is valid, else the first problem found. */
export function checkFilterDef(def: unknown): string | undefined {
	if (typeof def !== 'object' || def === null) return 'is not an object';
	const d = def as Record<string, unknown>;
	if (d.contract !== FILTER_CONTRACT_VERSION)
		return `contract version ${String(d.contract)} is not supported (expected ${FILTER_CONTRACT_VERSION})`;
	if (typeof d.name !== 'string' || !/^[a-z][a-z0-9-]{0,39}$/.test(d.name))
		return 'name must be lowercase letters, digits and dashes, starting with a letter (max 40)';
	for (const k of ['vendor', 'version', 'description'] as const)
		if (typeof d[k] !== 'string' || (d[k] as string).length === 0) return `"${k}" must be a non-empty string`;
	if (!FILTER_CLASSES.includes(d.class as never))
		return `class "${String(d.class)}" is not one of ${FILTER_CLASSES.join(', ')}`;
	for (const hook of ['attach', 'onIo'] as const)
		if (typeof d[hook] !== 'function') return `required hook "${hook}" is missing`;
	for (const hook of ['detach', 'onDone', 'onEvent', 'status'] as const)
		if (d[hook] !== undefined && typeof d[hook] !== 'function') return `hook "${hook}" must be a function`;
	const devices = checkDevices(d.devices);
	if (devices) return devices;
	if (!Array.isArray(d.params)) return '"params" must be an array (the parameter table)';
	const seen = new Set<string>();
	for (const [i, p] of (d.params as ParamSpec[]).entries()) {
		const problem = checkParam(p);
		if (problem) return `params[${i}]${p && typeof p.name === 'string' ? ` "${p.name}"` : ''}: ${problem}`;
		if (seen.has(p.name)) return `params[${i}] "${p.name}": duplicate name`;
		seen.add(p.name);
	}
	return undefined;
}

/** Most devices one filter may declare. */
const MAX_DEVICES = 8;

/** A filter's default devices: role → a device or link spec as a scenario writes it. */
function checkDevices(devices: unknown): string | undefined {
	if (devices === undefined) return undefined;
	if (typeof devices !== 'object' || devices === null || Array.isArray(devices)) return '"devices" must be an object of role → device spec';
	const roles = Object.keys(devices);
	if (roles.length > MAX_DEVICES) return `"devices" declares ${roles.length} devices, at most ${MAX_DEVICES}`;
	for (const role of roles) {
		if (!/^[a-zA-Z][a-zA-Z0-9-]{0,31}$/.test(role)) return `devices: role "${role.slice(0, 40)}" must be letters, digits and dashes, starting with a letter (max 32)`;
		const spec = (devices as Record<string, unknown>)[role];
		const kind = (spec as { kind?: unknown } | null)?.kind;
		const r = kind === 'wan' ? v.safeParse(LinkSpecSchema, spec) : v.safeParse(DeviceSpecSchema, spec);
		if (!r.success) {
			const issue = r.issues[0];
			const at = v.getDotPath(issue);
			return `devices.${role}${at ? `.${at}` : ''}: ${issue.message}`;
		}
	}
	return undefined;
}

function checkParam(p: ParamSpec): string | undefined {
	if (typeof p !== 'object' || p === null) return 'is not an object';
	if (typeof p.name !== 'string' || !/^[a-zA-Z][a-zA-Z0-9]*$/.test(p.name)) return 'name must be an identifier';
	if (typeof p.help !== 'string' || p.help.length === 0) return 'help text is missing';
	switch (p.type) {
		case 'int':
		case 'number':
			if (typeof p.default !== 'number' || !Number.isFinite(p.default)) return 'default must be a finite number';
			if (p.type === 'int' && !Number.isInteger(p.default)) return 'default must be an integer';
			if (p.min !== undefined && p.default < p.min) return `default ${p.default} is below min ${p.min}`;
			if (p.max !== undefined && p.default > p.max) return `default ${p.default} is above max ${p.max}`;
			return undefined;
		case 'bool':
			return typeof p.default === 'boolean' ? undefined : 'default must be a boolean';
		case 'enum':
			if (!Array.isArray(p.choices) || p.choices.length === 0) return 'choices are missing';
			return p.choices.includes(p.default) ? undefined : `default "${p.default}" is not one of the choices`;
		case 'string':
			return typeof p.default === 'string' ? undefined : 'default must be a string';
		default:
			return `type "${String((p as { type: unknown }).type)}" is not int, number, bool, enum or string`;
	}
}
