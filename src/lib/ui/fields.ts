/**
 * Form fields generated from parameter tables. A filter's ParamSpec (int/number/bool/enum/string)
 * is a field spec as it is; the page adds a `text` kind with its own parser (sizes such as "4k",
 * fio's bssplit) for the workload. Parsing and validation live here, as plain functions, so the
 * panels stay generic and the rules are unit-tested.
 */
import type { ParamSpec, ParamValue } from '../engine/filter';
import { parseSize } from '../engine/io';
import { streamNameProblem } from '../engine/workload/spec';
import { fmtNumber, fmtSize } from './format';

/** A free-text field whose text a parser turns into a value (throws Error with the reason). */
export interface TextFieldSpec<T = unknown> {
	type: 'text';
	name: string;
	help: string;
	unit?: string;
	placeholder?: string;
	parse(raw: string): T;
	format(value: T): string;
}

export type FieldSpec = (ParamSpec | TextFieldSpec) & { label?: string };

export type FieldResult = { ok: true; value: unknown } | { ok: false; error: string };

/** Parses what the user typed (or ticked) into a value, or says why it is not valid. */
export function parseField(spec: FieldSpec, raw: string | boolean): FieldResult {
	switch (spec.type) {
		case 'bool':
			return { ok: true, value: raw === true || raw === 'true' };
		case 'enum':
			return spec.choices.includes(String(raw))
				? { ok: true, value: String(raw) }
				: { ok: false, error: `must be one of ${spec.choices.join(', ')}` };
		case 'string': {
			const s = String(raw);
			if (spec.maxLength !== undefined && s.length > spec.maxLength) return { ok: false, error: `at most ${spec.maxLength} characters` };
			return { ok: true, value: s };
		}
		case 'int':
		case 'number': {
			const text = String(raw).trim();
			if (text === '') return { ok: false, error: 'a number is required' };
			const v = Number(text);
			if (!Number.isFinite(v)) return { ok: false, error: `"${text}" is not a number` };
			if (spec.type === 'int' && !Number.isInteger(v)) return { ok: false, error: 'must be a whole number' };
			if ((spec.min !== undefined && v < spec.min) || (spec.max !== undefined && v > spec.max))
				return { ok: false, error: `must be in ${rangeText(spec)}` };
			return { ok: true, value: v };
		}
		case 'text':
			try {
				return { ok: true, value: spec.parse(String(raw)) };
			} catch (e) {
				return { ok: false, error: e instanceof Error ? e.message : String(e) };
			}
	}
}

/** "0 – 100 %", "≥ 1", or '' when the spec has no range. */
export function rangeText(spec: FieldSpec): string {
	if (spec.type !== 'int' && spec.type !== 'number') return '';
	const unit = spec.unit ? ` ${spec.unit}` : '';
	const f = (v: number) => (Math.abs(v) < 1e-3 && v !== 0 ? v.toExponential(2) : fmtNumber(v));
	if (spec.min !== undefined && spec.max !== undefined) return `${f(spec.min)} – ${f(spec.max)}${unit}`;
	if (spec.min !== undefined) return `≥ ${f(spec.min)}${unit}`;
	if (spec.max !== undefined) return `≤ ${f(spec.max)}${unit}`;
	return '';
}

/** A range slider goes beside the number input when the range is small enough to drag through. */
export function sliderStep(spec: FieldSpec): number | undefined {
	if (spec.type !== 'int' && spec.type !== 'number') return undefined;
	if (spec.min === undefined || spec.max === undefined) return undefined;
	const span = spec.max - spec.min;
	if (!(span > 0)) return undefined;
	if (spec.type === 'int') return span <= 256 ? 1 : undefined;
	if (span > 100) return undefined;
	return 10 ** Math.floor(Math.log10(span / 100));
}

/** The value shown for a parameter: the scenario's, else the table's default. */
export function currentValue(spec: ParamSpec, params: Record<string, ParamValue>): ParamValue {
	return params[spec.name] ?? spec.default;
}

/** A byte-size text field ("4k", "1m", "20g"): a multiple of 512 bytes within [min, max]. */
export function sizeField(o: {
	name: string;
	label?: string;
	help: string;
	min: number;
	max: number;
	/** Empty text means "not set" (undefined). */
	optional?: boolean;
	placeholder?: string;
}): TextFieldSpec<number | undefined> & { label?: string } {
	return {
		type: 'text',
		name: o.name,
		label: o.label,
		help: o.help,
		placeholder: o.placeholder,
		parse(raw: string) {
			const text = raw.trim();
			if (text === '') {
				if (o.optional) return undefined;
				throw new Error('a size is required (examples: 4k, 64k, 1m)');
			}
			let n: number;
			try {
				n = parseSize(text);
			} catch {
				throw new Error(`"${text}" is not a size (examples: 512, 4k, 64k, 1m, 20g)`);
			}
			if (n % 512 !== 0) throw new Error(`${fmtNumber(n)} bytes is not a multiple of 512 bytes`);
			if (n < o.min || n > o.max) throw new Error(`must be in ${fmtSize(o.min)} – ${fmtSize(o.max)}`);
			return n;
		},
		format(v) {
			return v === undefined ? '' : fmtSize(v);
		}
	};
}

/**
 * A workload stream's name (its fio job's [section]): blanks at either end are dropped, empty
 * text means no name (the default, shown as the placeholder), and the engine's rules apply
 * (streamNameProblem). `others` gives the names of the disk's other streams, which it must not repeat.
 */
export function streamNameField(o: {
	name: string;
	label?: string;
	help: string;
	placeholder: string;
	others: () => readonly (string | undefined)[];
}): TextFieldSpec<string | undefined> & { label?: string } {
	return {
		type: 'text',
		name: o.name,
		label: o.label,
		help: o.help,
		placeholder: o.placeholder,
		parse(raw: string) {
			const name = raw.trim();
			if (name === '') return undefined;
			const problem = streamNameProblem(name);
			if (problem) throw new Error(problem);
			if (o.others().includes(name)) throw new Error(`another stream of this disk is named "${name}"`);
			return name;
		},
		format(v) {
			return v ?? '';
		}
	};
}
