/**
 * Hosts and installed filter bundles. A VAIO filter ships as a bundle (a VIB) with a name, a
 * vendor and a version, and is installed on a cluster: every host gets it, and a host that joins
 * later gets what the cluster has. A disk can use a filter only on a host that has its bundle;
 * vMotion and DRS need it on the target host, at the version the VM runs or newer. The rules
 * (pure functions over this state) are here; the orchestration that moves VMs (maintenance
 * mode, rolling upgrades) is in operations.ts.
 */
import type { FilterDef } from '../filter';

export interface Bundle {
	/** The filter type it installs (one bundle per filter type). */
	name: string;
	vendor: string;
	version: string;
}

export type HostState = 'connected' | 'maintenance' | 'down';

export class Host {
	state: HostState = 'connected';
	/** Installed bundles by name. */
	readonly bundles = new Map<string, Bundle>();

	constructor(readonly name: string) {}

	bundleList(): Bundle[] {
		return [...this.bundles.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
	}
}

/** Compares dotted numeric versions ("1.10.0" > "1.9.2"); missing parts count as 0. */
export function compareVersions(a: string, b: string): number {
	const pa = a.split('.').map((x) => Number.parseInt(x, 10) || 0);
	const pb = b.split('.').map((x) => Number.parseInt(x, 10) || 0);
	for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
		const d = (pa[i] ?? 0) - (pb[i] ?? 0);
		if (d !== 0) return d < 0 ? -1 : 1;
	}
	return 0;
}

export function bundleOf(def: FilterDef): Bundle {
	return { name: def.name, vendor: def.vendor, version: def.version };
}

export function bundleText(b: Bundle): string {
	return `${b.name} ${b.version} (${b.vendor})`;
}

/** What a VM needs on a host: filter name -> lowest acceptable version. */
export type Requirements = Map<string, string>;

/** Why `host` cannot run something that needs `needs`, or undefined when it can. */
export function missingOn(host: Host, needs: Requirements): string | undefined {
	const problems: string[] = [];
	for (const [name, min] of needs) {
		const b = host.bundles.get(name);
		if (!b) problems.push(`lacks the filter bundle "${name}"`);
		else if (compareVersions(b.version, min) < 0) problems.push(`has "${name}" ${b.version}, older than ${min}`);
	}
	return problems.length ? `host ${host.name} ${problems.join(' and ')}` : undefined;
}

/** The hosts of the cluster and the bundles installed cluster-wide. */
export class HostRegistry {
	readonly hosts = new Map<string, Host>();
	/** The cluster's bundles: what a joining (or recovering) host gets. */
	readonly bundles = new Map<string, Bundle>();

	get(name: string): Host {
		const h = this.hosts.get(name);
		if (!h) throw new Error(`no host "${name}" (hosts: ${[...this.hosts.keys()].join(', ')})`);
		return h;
	}

	list(): Host[] {
		return [...this.hosts.values()];
	}

	/** A new host joins the cluster and gets the cluster's bundles (or exactly `bundles`). */
	join(name: string, bundles?: Bundle[]): Host {
		if (this.hosts.has(name)) throw new Error(`host "${name}" is in the cluster already`);
		const h = new Host(name);
		for (const b of bundles ?? this.bundles.values()) h.bundles.set(b.name, { ...b });
		this.hosts.set(name, h);
		return h;
	}

	/**
	 * Installs a bundle cluster-wide: every host that is up gets it now, a host that is down gets
	 * it when it comes back. A bundle already installed at another version needs an upgrade.
	 */
	install(b: Bundle): Host[] {
		const have = this.bundles.get(b.name);
		if (have && have.version !== b.version)
			throw new Error(`"${b.name}" ${have.version} is installed: upgrade it to ${b.version} instead`);
		this.bundles.set(b.name, { ...b });
		const got: Host[] = [];
		for (const h of this.hosts.values()) {
			if (h.state === 'down') continue;
			const hb = h.bundles.get(b.name);
			if (hb && compareVersions(hb.version, b.version) >= 0) continue;
			h.bundles.set(b.name, { ...b });
			got.push(h);
		}
		return got;
	}

	/** Removes a bundle from the cluster and every host (the caller has checked that no disk uses it). */
	uninstall(name: string): Host[] {
		this.bundles.delete(name);
		const from: Host[] = [];
		for (const h of this.hosts.values())
			if (h.bundles.delete(name)) from.push(h);
		return from;
	}

	/** A host coming back gets the bundles the cluster installed or upgraded meanwhile. */
	catchUp(h: Host): Bundle[] {
		const got: Bundle[] = [];
		for (const b of this.bundles.values()) {
			const hb = h.bundles.get(b.name);
			if (!hb || compareVersions(hb.version, b.version) < 0) {
				h.bundles.set(b.name, { ...b });
				got.push(b);
			}
		}
		return got;
	}
}
