/**
 * Parameter tables: one row per model parameter (name, default, unit, help, range). A table
 * drives the UI's config panel, validation of scenario overrides and the docs, in the spirit of
 * fio's per-engine option tables.
 */
export interface ParamInfo<K extends string = string> {
	readonly name: K;
	readonly default: number;
	readonly unit: string;
	readonly help: string;
	/** Inclusive bounds. */
	readonly min: number;
	readonly max: number;
	readonly integer?: boolean;
}

/** A parameter's description without its default: shared by presets of one model. */
export type ParamMeta = Omit<ParamInfo, 'name' | 'default'>;

/** Builds a table from per-key metadata and one preset's defaults (keys in the metadata's order). */
export function paramTable<P extends object>(
	meta: { readonly [K in keyof P & string]: ParamMeta },
	defaults: P
): readonly ParamInfo<keyof P & string>[] {
	const rows = (Object.keys(meta) as (keyof P & string)[]).map((name) =>
		Object.freeze({ name, default: defaults[name] as number, ...meta[name] })
	);
	return Object.freeze(rows);
}

/**
 * Defaults overlaid with `overrides`, validated against the table. Throws on an unknown name, a
 * non-number, a value out of range or a fraction where an integer is needed. `ignore` names keys
 * that belong to the caller (e.g. a spec's `kind`).
 */
export function resolveParams<P extends object>(
	table: readonly ParamInfo<keyof P & string>[],
	overrides: Partial<P> | undefined,
	label: string,
	ignore: readonly string[] = []
): P {
	const out: Record<string, number> = {};
	for (const row of table) out[row.name] = row.default;
	if (overrides) {
		for (const [key, value] of Object.entries(overrides)) {
			if (ignore.includes(key) || value === undefined) continue;
			const row = table.find((r) => r.name === key);
			if (!row) throw new Error(`${label}: unknown parameter "${key}" (known: ${table.map((r) => r.name).join(', ')})`);
			if (typeof value !== 'number' || !Number.isFinite(value))
				throw new Error(`${label}: ${key} must be a finite number, got ${String(value)}`);
			if (value < row.min || value > row.max)
				throw new Error(`${label}: ${key} = ${value} is out of range [${row.min}, ${row.max}] ${row.unit}`);
			if (row.integer && !Number.isInteger(value)) throw new Error(`${label}: ${key} must be an integer, got ${value}`);
			out[key] = value;
		}
	}
	return out as P;
}
