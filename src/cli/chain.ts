/**
 * `--chain NAME[:CLASS],…`: filter names checked against the registry, put in VAIO class order,
 * and the scenario overrides of `vaio run` (--chain, --ios, --seed) applied to a scenario as
 * written, before the engine validates it.
 */
import { defaultScenario, type ScenarioInput } from '../lib/engine/index';
import { FILTER_CLASSES, type FilterClass } from '../lib/engine/filter';
import type { FilterRegistry } from '../lib/engine/registry';
import { UsageError } from './args';

/** One filter of a chain, as a scenario's policy writes it. */
export interface ChainFilter {
	type: string;
	class?: FilterClass;
}

/**
 * Parses `--chain`: comma-separated registered filter names; a filter whose class is
 * configurable (passthrough, delay, flaky) may be given one as `name:class`; `none` means no
 * filters. Returns the filters in class order. Throws UsageError naming the problem.
 */
export function parseChain(text: string, registry: FilterRegistry): ChainFilter[] {
	const items = text.split(',').map((s) => s.trim());
	if (items.some((s) => s === '')) throw new UsageError(`--chain: empty filter name in "${text}"`);
	if (items.includes('none')) {
		if (items.length > 1) throw new UsageError('--chain: "none" cannot be combined with filters');
		return [];
	}
	const out: (ChainFilter & { cls: FilterClass; given: string })[] = [];
	for (const given of items) {
		const [name, cls, extra] = given.split(':').map((s) => s.trim());
		const def = registry.get(name);
		if (!def) throw new UsageError(`--chain: unknown filter "${name}" (known: none, ${registry.names().join(', ')})`);
		if (extra !== undefined) throw new UsageError(`--chain: "${given}" is not NAME or NAME:CLASS`);
		if (cls !== undefined) {
			if (!FILTER_CLASSES.includes(cls as FilterClass))
				throw new UsageError(`--chain: unknown class "${cls}" in "${given}" (classes: ${FILTER_CLASSES.join(', ')})`);
			if (cls !== def.class && !def.classConfigurable)
				throw new UsageError(`--chain: filter "${name}" is of class ${def.class}; its class cannot be changed`);
		}
		const effective = (cls ?? def.class) as FilterClass;
		const other = out.find((f) => f.cls === effective);
		if (other)
			throw new UsageError(
				`--chain: "${other.given}" and "${given}" are both of class ${effective} (a disk takes one filter per class)`
			);
		out.push({ type: name, ...(cls !== undefined ? { class: cls as FilterClass } : {}), cls: effective, given });
	}
	out.sort((a, b) => FILTER_CLASSES.indexOf(a.cls) - FILTER_CLASSES.indexOf(b.cls));
	return out.map(({ type, class: c }) => (c !== undefined ? { type, class: c } : { type }));
}

/** A one-VM, one-disk scenario (the default's VM, disk and workload) with the given chain. */
export function chainScenario(filters: ChainFilter[]): ScenarioInput {
	const s = defaultScenario();
	const label = filters.length ? filters.map((f) => f.type).join('+') : 'no filters';
	s.name = `chain: ${label}`;
	s.description = `The default workload (4 KiB random 70/30 at QD 32) through ${label}.`;
	const disk = s.vms[0].disks[0];
	disk.policy = { ...disk.policy, filters: filters.map((f) => ({ ...f })) };
	return s;
}

export interface Overrides {
	/** Replaces the policy filters of every disk. */
	chain?: ChainFilter[];
	/** Sets every workload's ios and clears its runtimeUs. */
	ios?: number;
	seed?: number;
}

/**
 * Applies the overrides to a scenario as written (not yet validated). Shapes that are not what
 * the schema wants are left alone, so that the schema reports them with their path.
 */
export function applyOverrides(input: unknown, o: Overrides): unknown {
	if (!isObject(input)) return input;
	const s: Record<string, unknown> = structuredClone(input);
	if (o.seed !== undefined) s.seed = o.seed;
	if ((o.chain === undefined && o.ios === undefined) || !Array.isArray(s.vms)) return s;
	for (const vm of s.vms) {
		if (!isObject(vm) || !Array.isArray(vm.disks)) continue;
		for (const disk of vm.disks) {
			if (!isObject(disk)) continue;
			if (o.chain !== undefined) {
				const policy = isObject(disk.policy) ? disk.policy : {};
				disk.policy = { ...policy, filters: o.chain.map((f) => ({ ...f })) };
			}
			if (o.ios !== undefined) {
				if (disk.workload === undefined) disk.workload = [{}];
				if (!Array.isArray(disk.workload)) continue;
				for (const w of disk.workload) {
					if (!isObject(w)) continue;
					w.ios = o.ios;
					delete w.runtimeUs;
				}
			}
		}
	}
	return s;
}

function isObject(x: unknown): x is Record<string, unknown> {
	return typeof x === 'object' && x !== null && !Array.isArray(x);
}
