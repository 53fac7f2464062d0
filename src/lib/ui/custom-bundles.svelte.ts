/**
 * The custom filter bundles on the playground page: the ones the filter editor stored in this
 * browser (bundle-store.ts), and which of them this page's engine Worker runs. Registering one
 * starts its sandbox (a Worker in the sandboxed iframe) and installs its source in the engine
 * with the bundle's vendor and version, older versions kept for the disks still running them;
 * then the cluster can install it on its hosts, or upgrade to it, and the palette offers it for
 * the chain. A scenario (a reload's link, a file) that uses a stored bundle gets it registered
 * before it loads; a link that carries exactly the code of stored bundles needs no consent (it is
 * this browser's own code).
 */
import { SandboxHost } from '$lib/sandbox/host';
import { installCustomFilter } from '$lib/sandbox/install';
import { BundleStore, latestEach, latestOf, type StoredBundle } from '$lib/sandbox/bundle-store';
import type { Playground } from './playground.svelte';

export class CustomBundles {
	/** Every stored version. */
	stored = $state.raw<StoredBundle[]>([]);
	/** Stored records that could not be read (left as they are). */
	problems = $state.raw<string[]>([]);
	/** Versions registered in this page's engine Worker, "name@version". */
	registered = $state.raw<ReadonlySet<string>>(new Set());
	/** Why the browser's store could not be read, if so. */
	error = $state<string | null>(null);

	#store: Promise<BundleStore> | undefined;
	#host: SandboxHost | undefined;
	#pending = new Map<string, Promise<string | undefined>>();

	constructor(private readonly pg: Playground) {}

	destroy(): void {
		this.#host?.destroy();
	}

	/** The highest stored version of each bundle. */
	get latest(): StoredBundle[] {
		return latestEach(this.stored);
	}

	latestOf(name: string): StoredBundle | undefined {
		return latestOf(this.stored, name);
	}

	isCustom(name: string): boolean {
		return this.stored.some((b) => b.name === name);
	}

	/** Reads the stored bundles again (the editor may have stored one since). */
	async refresh(): Promise<void> {
		try {
			this.#store ??= BundleStore.browser();
			const { bundles, problems } = await (await this.#store).list();
			this.stored = bundles;
			this.problems = problems;
			this.error = null;
		} catch (e) {
			this.#store = undefined;
			this.error = `stored custom bundles cannot be read: ${e instanceof Error ? e.message : String(e)}`;
		}
	}

	/**
	 * Makes the engine Worker run a stored bundle version: its source in a fresh sandbox, with the
	 * bundle's vendor and version. Resolves with why not (the bundle, the place and the reason), or
	 * undefined when it runs.
	 */
	register(b: StoredBundle): Promise<string | undefined> {
		const key = `${b.name}@${b.version}`;
		if (this.registered.has(key)) return Promise.resolve(undefined);
		let p = this.#pending.get(key);
		if (!p) {
			p = this.#register(b, key).finally(() => this.#pending.delete(key));
			this.#pending.set(key, p);
		}
		return p;
	}

	async #register(b: StoredBundle, key: string): Promise<string | undefined> {
		const what = `custom bundle ${b.name} ${b.version}`;
		try {
			this.#host ??= new SandboxHost();
			const r = await installCustomFilter(this.pg.client.api, this.#host, b.name, b.source, { as: { vendor: b.vendor, version: b.version }, keepVersions: true });
			if (!r.ok) {
				const at = r.problem.line ? `line ${r.problem.line}${r.problem.column ? `:${r.problem.column}` : ''} of its source` : 'its source';
				return `${what} does not load (${at}): ${r.problem.message}`;
			}
		} catch (e) {
			return `${what} does not load: ${e instanceof Error ? e.message : String(e)}`;
		}
		this.registered = new Set([...this.registered, key]);
		this.pg.catalog = await this.pg.client.api.catalog();
		return undefined;
	}

	/**
	 * Registers the latest stored version of every custom filter type `scenario` uses that this
	 * page does not run yet (before it loads). Resolves with the problems, one per bundle.
	 */
	async registerUsed(scenario: unknown): Promise<string[]> {
		const types = usedTypes(scenario);
		const missing = types.filter((t) => !this.pg.catalog.some((f) => f.name === t));
		if (missing.length === 0) return [];
		if (this.stored.length === 0) await this.refresh();
		const problems: string[] = [];
		for (const t of missing) {
			const b = this.latestOf(t);
			if (!b) continue;
			const p = await this.register(b);
			if (p) problems.push(p);
		}
		return problems;
	}

	/** The stored bundles whose code is exactly each of `filters` (a link's), or undefined if one is not. */
	async ownCode(filters: { name: string; source: string }[]): Promise<StoredBundle[] | undefined> {
		await this.refresh();
		const out: StoredBundle[] = [];
		for (const f of filters) {
			const mine = this.stored.filter((b) => b.name === f.name && b.source === f.source);
			if (mine.length === 0) return undefined;
			out.push(mine[mine.length - 1]);
		}
		return out;
	}

	/** The code a link of `scenario` carries for the stored bundles it uses (the versions running here). */
	linkFilters(scenario: unknown): { name: string; source: string }[] {
		const out: { name: string; source: string }[] = [];
		for (const t of usedTypes(scenario)) {
			const running = this.stored.filter((b) => b.name === t && this.registered.has(`${b.name}@${b.version}`));
			const b = running[running.length - 1];
			if (b) out.push({ name: b.name, source: b.source });
		}
		return out;
	}
}

/** Filter types a scenario's policies name (its disks' and the cluster's named policies). */
export function usedTypes(scenario: unknown): string[] {
	const out = new Set<string>();
	const fromPolicy = (p: unknown) => {
		const filters = (p as { filters?: unknown })?.filters;
		if (Array.isArray(filters)) for (const f of filters) if (typeof (f as { type?: unknown })?.type === 'string') out.add((f as { type: string }).type);
	};
	const s = scenario as { vms?: { disks?: { policy?: unknown }[] }[]; cluster?: { policies?: unknown[] } } | null;
	for (const vm of Array.isArray(s?.vms) ? s.vms : []) for (const d of Array.isArray(vm?.disks) ? vm.disks : []) fromPolicy(d?.policy);
	for (const p of Array.isArray(s?.cluster?.policies) ? s.cluster.policies : []) fromPolicy(p);
	return [...out];
}
