/**
 * The page's one call to install a custom filter: start its sandbox Worker (host.ts) and hand the
 * engine Worker the ports, transferred, with the source. The engine transpiles, loads, checks and
 * registers it (custom-filters.ts); a problem in the source comes back with its line.
 */
import * as Comlink from 'comlink';
import type { SandboxHost } from './host';
import type { InstallOptions, InstallResult } from './custom-filters';

/** What the page needs of the engine API (the EngineClient's remote). */
export interface InstallsCustomFilters {
	installCustomFilter(name: string | null, source: string, ports: { data: MessagePort; control: MessagePort }, options?: InstallOptions): Promise<InstallResult>;
}

export async function installCustomFilter(
	api: InstallsCustomFilters,
	host: SandboxHost,
	name: string | null,
	source: string,
	options?: InstallOptions
): Promise<InstallResult> {
	const { ports } = await host.spawn();
	return api.installCustomFilter(name, source, Comlink.transfer(ports, [ports.data, ports.control]), options);
}
