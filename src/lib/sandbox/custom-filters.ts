/**
 * Custom filters in the engine Worker: installing one (transpile, load into its sandbox, check,
 * register the proxy in the engine's registry so that it joins a chain like a built-in), replacing
 * it, and reporting what went wrong in its code.
 *
 * The sandbox Worker itself is started by the page (inside a sandboxed iframe, see host.ts); the
 * page hands the engine one end of a MessageChannel to it (`data`) and one to the iframe
 * (`control`, used to terminate the Worker when the watchdog fires).
 */
import type { FilterRegistry } from '../engine/registry';
import type { FilterInfo } from '../filters/catalog';
import { CustomFilter, SandboxConnection, loadCustomFilter, type CustomFilterReport, type PortLike, type WatchdogTimers } from './proxy';
import { transpileFilter, type SourceProblem } from './transpile';

export interface SandboxPorts {
	/** To the sandbox Worker (requests and replies). */
	data: PortLike;
	/** To the iframe that started it (kill). */
	control?: PortLike;
}

export type InstallResult = { ok: true; filter: FilterInfo & { hooks: string[] } } | { ok: false; problem: SourceProblem };

export class CustomFilters {
	private readonly installed = new Map<string, { filter: CustomFilter; source: string }>();

	constructor(
		private readonly registry: FilterRegistry,
		/** Names that belong to built-in filters: a custom filter may not take them. */
		private readonly reserved: ReadonlySet<string>,
		private readonly options: { budgetMs?: number; timers?: WatchdogTimers } = {}
	) {}

	/**
	 * Installs (or replaces) a custom filter from its TypeScript source. With `name`, the source
	 * must define a filter of that name (a link names its filters). Never throws for a problem in
	 * the source: it is returned with its line.
	 */
	async install(name: string | null, source: string, ports: SandboxPorts): Promise<InstallResult> {
		const conn = new SandboxConnection(ports.data, { ...this.options, control: ports.control });
		const fail = (problem: SourceProblem): InstallResult => {
			conn.stop('not installed');
			return { ok: false, problem };
		};
		const t = transpileFilter(source);
		if (!t.ok) return fail(t.problem);
		const loaded = await loadCustomFilter(conn, t.js, source);
		if (!loaded.ok) return fail(loaded.problem);
		const def = loaded.filter.def;
		if (this.reserved.has(def.name))
			return fail({ kind: 'name', message: `"${def.name}" is the name of a built-in filter: choose another name`, line: nameLine(source), column: 1 });
		if (name !== null && name !== def.name)
			return fail({ kind: 'name', message: `the source defines filter "${def.name}", not "${name}"`, line: nameLine(source), column: 1 });
		this.installed.get(def.name)?.filter.dispose(`replaced by a new version of "${def.name}"`);
		this.registry.replace(def);
		this.installed.set(def.name, { filter: loaded.filter, source });
		return {
			ok: true,
			filter: {
				name: def.name,
				vendor: def.vendor,
				version: def.version,
				class: def.class,
				classConfigurable: def.classConfigurable === true,
				description: def.description,
				params: def.params.map((p) => ({ ...p })),
				devices: {},
				hooks: ['attach', 'onIo', 'onDone', 'onEvent', 'detach'].filter((h) => h in def && (def as unknown as Record<string, unknown>)[h] !== undefined)
			}
		};
	}

	has(name: string): boolean {
		return this.installed.has(name);
	}

	/** The installed custom filters' sources, by name (what a share link carries). */
	sources(): { name: string; source: string }[] {
		return [...this.installed].map(([name, v]) => ({ name, source: v.source }));
	}

	/** What went wrong in each custom filter's code (throws with their lines, a stopped sandbox). */
	reports(): CustomFilterReport[] {
		return [...this.installed.values()].map((v) => v.filter.report());
	}
}

function nameLine(source: string): number {
	const lines = source.split('\n');
	const i = lines.findIndex((l) => /(^|[\s{,])name\s*:/.test(l));
	return i + 1;
}
