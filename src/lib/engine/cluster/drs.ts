/**
 * DRS placement: where a VM may run and where it should. Only hosts that are connected (not in
 * maintenance mode, not down) and have every filter bundle the VM's disks use, at the version the
 * VM runs or newer, are considered; among them the one running the fewest powered-on VMs wins
 * (ties: the host listed first). The same rule places a VM at power-on, evacuates a host entering
 * maintenance mode and restarts VMs after a host failure (vSphere HA asks DRS the same way).
 */
import type { Cluster } from './index';
import { missingOn } from './hosts-and-bundles';

export interface HostVerdict {
	host: string;
	ok: boolean;
	/** Why the host cannot take the VM, or its load when it can. */
	reason: string;
	load: number;
}

export interface Placement {
	vm: string;
	/** The chosen host (undefined: none qualifies). */
	host: string | undefined;
	considered: HostVerdict[];
}

/** Powered-on VMs per host. */
export function loads(c: Cluster): Map<string, number> {
	const m = new Map<string, number>();
	for (const h of c.hosts.list()) m.set(h.name, 0);
	for (const vm of c.vms.values()) if (vm.power === 'on') m.set(vm.host, (m.get(vm.host) ?? 0) + 1);
	return m;
}

export function recommend(c: Cluster, vmName: string, exclude: readonly string[] = []): Placement {
	const needs = c.requirements(vmName);
	const load = loads(c);
	const considered: HostVerdict[] = [];
	let best: HostVerdict | undefined;
	for (const h of c.hosts.list()) {
		const l = load.get(h.name) ?? 0;
		let reason: string | undefined;
		if (exclude.includes(h.name)) reason = 'excluded';
		else if (h.state !== 'connected') reason = `host ${h.name} is ${h.state === 'down' ? 'down' : 'in maintenance mode'}`;
		else reason = missingOn(h, needs);
		const v: HostVerdict = { host: h.name, ok: reason === undefined, reason: reason ?? `${l} powered-on VMs`, load: l };
		considered.push(v);
		if (v.ok && (!best || l < best.load)) best = v;
	}
	return { vm: vmName, host: best?.host, considered };
}

/** A one-line account of why no host qualifies. */
export function noHostReason(p: Placement): string {
	const why = p.considered.filter((x) => !x.ok && x.reason !== 'excluded').map((x) => x.reason);
	return `no host can run ${p.vm}${why.length ? `: ${why.join('; ')}` : ''}`;
}
