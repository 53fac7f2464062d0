/**
 * The devices and sidecars of each disk's filters, opened once and reused whenever the cluster
 * attaches a filter again (a restart after a crash, a policy change, a vMotion), so a WAN link
 * keeps its state, a replica keeps its bytes and no store is opened twice.
 *
 * Host-local devices. A cache's SSD (and a tiering filter's fast tier) sits in the host, not on
 * the datastore: a disk that moves to another host gets that host's device, and the old host's
 * device keeps whatever it held. The first host a disk runs on keeps the store names the engine
 * always used (`dev.<vm>/<disk>.<filter>.<role>`); another host's device of the same role is
 * `…<role>@<host>`. A filter's sidecar lives with the disk on the datastore, but what it says
 * about a host-local device is only true on that host: when the filter attaches on a host other
 * than the one its sidecar describes, the cluster empties the sidecar first (the filter starts
 * cold), see wipeForeignSidecars().
 */
import type { AttachedFilter } from '../chain';
import type { FilterDef, FilterDevice, FilterDeviceSpec } from '../filter';
import type { SidecarStore } from '../storage/types';

/**
 * Device roles of the built-in filters that are host-local. Replication's devices are at the
 * remote site. A filter not listed here has all its storage devices host-local.
 */
export const HOST_LOCAL_DEVICES: Readonly<Record<string, readonly string[]>> = Object.freeze({
	cache: ['ssd'],
	tiering: ['fast'],
	replication: []
});

/**
 * Link roles of the built-in filters that stay inside the cluster (a LAN), not WAN links: the
 * cache's link to the peers holding its write-back copies. A WAN outage leaves them up.
 */
export const LAN_LINKS: Readonly<Record<string, readonly string[]>> = Object.freeze({
	cache: ['peer']
});

export function isHostLocal(def: FilterDef, role: string, spec: FilterDeviceSpec): boolean {
	if (spec.kind === 'wan') return false;
	const listed = HOST_LOCAL_DEVICES[def.name];
	return listed ? listed.includes(role) : true;
}

/** Whether the filter keeps anything on a host-local device. */
export function hasHostLocalDevices(def: FilterDef, a: AttachedFilter): boolean {
	const listed = HOST_LOCAL_DEVICES[def.name];
	if (listed) return listed.some((r) => a.devices[r] !== undefined);
	return Object.values(a.devices).some((d) => d.store !== undefined);
}

export class FilterResources {
	private readonly devices = new Map<string, FilterDevice>();
	/** Devices that are LAN links (LAN_LINKS). */
	private readonly lan = new Set<FilterDevice>();
	private readonly sidecars = new Map<string, SidecarStore>();
	/** The host whose devices a sidecar (of a filter with host-local devices) describes. */
	private readonly sidecarHost = new Map<SidecarStore, string>();
	/** The host each disk first ran on (its host-local stores keep the plain names). */
	private readonly homeHost = new Map<string, string>();

	/**
	 * The device of `role` of filter `def` on disk `key` running on `host`; `open(suffix)` opens
	 * it the first time (suffix goes at the end of a host-local store's name).
	 */
	async device(
		key: string,
		def: FilterDef,
		role: string,
		spec: FilterDeviceSpec,
		host: string,
		open: (suffix: string) => FilterDevice | Promise<FilterDevice>
	): Promise<FilterDevice> {
		if (!this.homeHost.has(key)) this.homeHost.set(key, host);
		const local = isHostLocal(def, role, spec);
		const id = `${key}|${def.name}|${role}|${local ? host : ''}|${JSON.stringify(spec)}`;
		let d = this.devices.get(id);
		if (!d) {
			d = await open(local && host !== this.homeHost.get(key) ? `@${host}` : '');
			this.devices.set(id, d);
			if (spec.kind === 'wan' && LAN_LINKS[def.name]?.includes(role)) this.lan.add(d);
		}
		return d;
	}

	async sidecar(name: string, open: () => SidecarStore | Promise<SidecarStore>): Promise<SidecarStore> {
		let s = this.sidecars.get(name);
		if (!s) {
			s = await open();
			this.sidecars.set(name, s);
		}
		return s;
	}

	/** Records that a sidecar describes `host`'s devices (the filter attached there). */
	attachedOn(sidecar: SidecarStore, host: string): void {
		this.sidecarHost.set(sidecar, host);
	}

	/**
	 * Empties the sidecars of filters with host-local devices that describe another host: what
	 * they say (which SSD slot holds which block) is not true on `host`. Returns the filters whose
	 * sidecar was emptied.
	 */
	async wipeForeignSidecars(list: AttachedFilter[], host: string): Promise<string[]> {
		const wiped: string[] = [];
		for (const a of list) {
			if (!hasHostLocalDevices(a.def, a)) continue;
			const was = this.sidecarHost.get(a.sidecar);
			if (was === undefined || was === host) continue;
			await wipeSidecar(a.sidecar);
			wiped.push(`${a.def.name} (its sidecar described ${was})`);
		}
		return wiped;
	}

	/** Every device opened so far. */
	allDevices(): FilterDevice[] {
		return [...this.devices.values()];
	}

	/** The devices opened for one disk's filters. */
	devicesOf(key: string): FilterDevice[] {
		return [...this.devices].filter(([id]) => id.startsWith(`${key}|`)).map(([, d]) => d);
	}

	/** Whether a device is a link inside the cluster (LAN_LINKS), which a WAN outage leaves up. */
	isLan(d: FilterDevice): boolean {
		return this.lan.has(d);
	}
}

/** Deletes every key of a sidecar (a detached filter's sidecar goes with it, as in VAIO). */
export async function wipeSidecar(s: SidecarStore): Promise<void> {
	for (const k of await s.keys()) await s.delete(k);
}
