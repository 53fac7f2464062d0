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
import { BUNDLE_VERSION } from './bundle-store';

export interface SandboxPorts {
	/** To the sandbox Worker (requests and replies). */
	data: PortLike;
	/** To the iframe that started it (kill). */
	control?: PortLike;
}

export type InstallResult = { ok: true; filter: FilterInfo & { hooks: string[] } } | { ok: false; problem: SourceProblem };

/** How a custom filter is installed. */
export interface InstallOptions {
	/**
	 * The bundle's vendor and version (a VIB's descriptor), in place of the code's own fields:
	 * the filter editor's "Install as bundle" stores them beside the source.
	 */
	as?: { vendor?: string; version?: string };
	/**
	 * Keep the other installed versions of the filter running (a custom bundle's new version: the
	 * disks that still run the old one keep its sandbox until the rolling upgrade moves them).
	 * Without it the new code replaces every version before it.
	 */
	keepVersions?: boolean;
}

export class CustomFilters {
	/** By "name@version". */
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
	async install(name: string | null, source: string, ports: SandboxPorts, options: InstallOptions = {}): Promise<InstallResult> {
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
		const as = options.as ?? {};
		if (as.version !== undefined) {
			if (!BUNDLE_VERSION.test(as.version)) return fail({ kind: 'bundle', message: `bundle version "${as.version.slice(0, 40)}" is not a version such as 1.2.0`, line: 0, column: 0 });
			def.version = as.version;
		}
		if (as.vendor !== undefined) {
			const v = as.vendor.trim();
			if (v.length === 0 || v.length > 64) return fail({ kind: 'bundle', message: 'bundle vendor must be 1 to 64 characters', line: 0, column: 0 });
			def.vendor = v;
		}
		const key = `${def.name}@${def.version}`;
		for (const [k, v] of [...this.installed])
			if (k === key || (!options.keepVersions && k.startsWith(`${def.name}@`))) {
				v.filter.dispose(`replaced by a new version of "${def.name}"`);
				this.installed.delete(k);
			}
		try {
			this.registry.replace(def);
		} catch (e) {
			return fail({ kind: 'contract', message: e instanceof Error ? e.message : String(e), line: 0, column: 0 });
		}
		this.installed.set(key, { filter: loaded.filter, source });
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

	/** Whether a version (any, without one) of the filter is installed. */
	has(name: string, version?: string): boolean {
		if (version !== undefined) return this.installed.has(`${name}@${version}`);
		return [...this.installed.keys()].some((k) => k.startsWith(`${name}@`));
	}

	/** The installed custom filters' sources, by name and version. */
	sources(): { name: string; version: string; source: string }[] {
		return [...this.installed.values()].map((v) => ({ name: v.filter.def.name, version: v.filter.def.version, source: v.source }));
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
