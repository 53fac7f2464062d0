/**
 * Custom filter bundles kept in the browser: the filter editor's "Install as bundle" stores one
 * (name, vendor, version, class, description and the TypeScript source), the playground's cluster
 * panel offers the stored ones for install (and a newer version for a rolling upgrade), and a
 * reload finds them again. They live in their own IndexedDB database (idb-keyval), apart from
 * the disks', so resetting the disks keeps them.
 *
 * Nothing stored is lost: versions accumulate (one record per name and version); a version once
 * stored keeps its code and vendor, so storing other code under it is refused with the reason
 * (give it a higher version); a record that cannot be read back is reported by its key and left
 * as it is. The backend is injected (a Map in Node tests).
 */
import type { FilterClass } from '../engine/filter';
import { compareVersions } from '../engine/cluster/hosts-and-bundles';

/** A version as bundles and the cluster's upgrade take it (the scenario schema's rule). */
export const BUNDLE_VERSION = /^\d{1,6}(\.\d{1,6}){0,3}$/;

export interface StoredBundle {
	/** The filter type (its name in the code). */
	name: string;
	vendor: string;
	version: string;
	cls: FilterClass;
	description: string;
	/** The filter's TypeScript source, as written in the editor. */
	source: string;
	/** Wall-clock ms when it was stored (shown only). */
	savedAt: number;
}

/** The few calls of idb-keyval the store needs. */
export interface BundleBackend {
	get(key: string): Promise<unknown>;
	set(key: string, value: unknown): Promise<void>;
	keys(): Promise<string[]>;
}

export type SaveResult = { ok: true; bundle: StoredBundle; unchanged: boolean } | { ok: false; message: string };

/** Longest source a bundle keeps (a share link carries as much). */
export const MAX_SOURCE_CHARS = 256 * 1024;
const PREFIX = 'bundle:';
const NAME = /^[a-z][a-z0-9-]{0,39}$/;

export function bundleKey(name: string, version: string): string {
	return `${PREFIX}${name}@${version}`;
}

/** Why a record is not a stored bundle, or undefined when it is one. */
export function bundleProblem(b: unknown): string | undefined {
	if (typeof b !== 'object' || b === null) return 'not a bundle record';
	const r = b as Record<string, unknown>;
	if (typeof r.name !== 'string' || !NAME.test(r.name)) return 'name: lowercase letters, digits and dashes, starting with a letter (max 40)';
	if (typeof r.version !== 'string' || !BUNDLE_VERSION.test(r.version)) return `version: "${String(r.version).slice(0, 40)}" is not a version such as 1.2.0`;
	if (typeof r.vendor !== 'string' || r.vendor.trim().length === 0 || r.vendor.length > 64) return 'vendor: 1 to 64 characters';
	if (typeof r.source !== 'string' || r.source.length === 0) return 'source: missing';
	if (r.source.length > MAX_SOURCE_CHARS) return `source: ${r.source.length} characters; at most ${MAX_SOURCE_CHARS}`;
	if (typeof r.cls !== 'string') return 'cls: missing';
	if (typeof r.description !== 'string') return 'description: missing';
	if (typeof r.savedAt !== 'number') return 'savedAt: missing';
	return undefined;
}

export class BundleStore {
	constructor(private readonly backend: BundleBackend) {}

	/** The store in this browser (IndexedDB database "vaio-custom-bundles"). */
	static async browser(): Promise<BundleStore> {
		const idb = await import('idb-keyval');
		const store = idb.createStore('vaio-custom-bundles', 'bundles');
		return new BundleStore({
			get: (k) => idb.get(k, store),
			set: (k, v) => idb.set(k, v, store),
			keys: async () => (await idb.keys(store)).map(String)
		});
	}

	/** Every stored version, by name then version; records that cannot be read are reported, not touched. */
	async list(): Promise<{ bundles: StoredBundle[]; problems: string[] }> {
		const bundles: StoredBundle[] = [];
		const problems: string[] = [];
		for (const key of await this.backend.keys()) {
			if (!key.startsWith(PREFIX)) continue;
			let value: unknown;
			try {
				value = await this.backend.get(key);
			} catch (e) {
				problems.push(`${key}: cannot be read (${e instanceof Error ? e.message : String(e)})`);
				continue;
			}
			const problem = bundleProblem(value);
			if (problem) {
				problems.push(`${key}: ${problem}`);
				continue;
			}
			const b = value as StoredBundle;
			if (key !== bundleKey(b.name, b.version)) {
				problems.push(`${key}: holds ${b.name} ${b.version}`);
				continue;
			}
			bundles.push({ ...b });
		}
		bundles.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : compareVersions(a.version, b.version)));
		return { bundles, problems };
	}

	/**
	 * Stores a bundle version. The same version with the same code and vendor is a no-op; with
	 * other code (or another vendor) it is refused: a stored version never changes.
	 */
	async save(b: StoredBundle): Promise<SaveResult> {
		const problem = bundleProblem(b);
		if (problem) return { ok: false, message: `not stored: ${problem}` };
		const key = bundleKey(b.name, b.version);
		let have: unknown;
		try {
			have = await this.backend.get(key);
		} catch (e) {
			return { ok: false, message: `not stored: the browser's storage cannot be read (${e instanceof Error ? e.message : String(e)})` };
		}
		if (have !== undefined) {
			const h = have as Partial<StoredBundle>;
			if (bundleProblem(have) === undefined && h.source === b.source && h.vendor === b.vendor) return { ok: true, bundle: have as StoredBundle, unchanged: true };
			const latest = latestOf((await this.list()).bundles, b.name);
			return {
				ok: false,
				message:
					`${b.name} ${b.version} is stored already with ${h.source !== b.source ? 'other code' : `vendor "${String(h.vendor)}"`}: ` +
					`a stored version never changes, give this one a higher version${latest ? ` (the latest stored is ${latest.version})` : ''}`
			};
		}
		try {
			await this.backend.set(key, { ...b });
		} catch (e) {
			return { ok: false, message: `not stored: the browser refused (${e instanceof Error ? e.message : String(e)})` };
		}
		return { ok: true, bundle: { ...b }, unchanged: false };
	}
}

/** The highest stored version of `name`. */
export function latestOf(bundles: readonly StoredBundle[], name: string): StoredBundle | undefined {
	let best: StoredBundle | undefined;
	for (const b of bundles) if (b.name === name && (!best || compareVersions(b.version, best.version) > 0)) best = b;
	return best;
}

/** The highest stored version of each name. */
export function latestEach(bundles: readonly StoredBundle[]): StoredBundle[] {
	const out = new Map<string, StoredBundle>();
	for (const b of bundles) {
		const have = out.get(b.name);
		if (!have || compareVersions(b.version, have.version) > 0) out.set(b.name, b);
	}
	return [...out.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
}

/** The version after `v` (1.2.3 → 1.3.0), for the editor's suggestion. */
export function nextVersion(v: string): string {
	const p = v.split('.').map((x) => Number.parseInt(x, 10) || 0);
	while (p.length < 3) p.push(0);
	p[1] += 1;
	for (let i = 2; i < p.length; i++) p[i] = 0;
	return p.join('.');
}
