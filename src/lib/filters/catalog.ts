/**
 * The filter catalog: what the page needs to know about every registered filter type (class,
 * description, parameter table, devices) as plain data, so the page can build its palette and
 * parameter panels without loading the filters' code on its own thread.
 */
import type { FilterClass, FilterDeviceSpec, ParamSpec } from '../engine/filter';
import type { FilterRegistry } from '../engine/registry';

export interface FilterInfo {
	name: string;
	vendor: string;
	version: string;
	class: FilterClass;
	classConfigurable: boolean;
	description: string;
	params: ParamSpec[];
	devices: Record<string, FilterDeviceSpec>;
}

export function filterCatalog(registry: FilterRegistry): FilterInfo[] {
	return registry.names().map((name) => {
		const d = registry.get(name)!;
		return {
			name: d.name,
			vendor: d.vendor,
			version: d.version,
			class: d.class,
			classConfigurable: d.classConfigurable === true,
			description: d.description,
			params: d.params.map((p) => ({ ...p })),
			devices: { ...(d.devices ?? {}) }
		};
	});
}
