/**
 * Storage policies: a policy names filters with their parameters (and devices) and attaches to
 * disks; applying another policy to a disk attaches and detaches filters.
 *
 * A policy change
 * - is refused while the VM has snapshots (vSphere refuses it too), and when a filter's bundle is
 *   not installed on the disk's host;
 * - pauses the guest and drains the chain (FilterChain.drain) before anything moves, so no I/O is
 *   inside a filter whose position or existence changes;
 * - detaches the filters that go, top first, through their detach hook (the engine's only caller
 *   of FilterDef.detach; a cache destages its dirty blocks there, tiering copies its fast extents
 *   back) with the filters below still in place for that I/O; a detached filter's sidecar is
 *   deleted with it, as in VAIO, so a later attach starts afresh;
 * - keeps the filters that stay (same type, class, parameters and devices) with their state, at
 *   their new position, and attaches the new ones bottom first (a filter's attach may already
 *   issue I/O below it).
 * Re-layout. Attaching or detaching a filter that changes the bytes on the datastore (class
 * encryption or compression: encryption, dedup), or moving encryption with
 * allowCleartextFilters, would leave data the new chain cannot read. Then the change re-lays the
 * disk out, as vSphere re-encrypts a disk whose encryption policy changes: every block the guest
 * has written is read through the old chain, every old filter is detached, the datastore is
 * emptied, the new chain is attached and the blocks are written back through it.
 */
import * as v from 'valibot';
import { FilterChain, FilterInstance, type AttachedFilter } from '../chain';
import type { DiskRuntime } from '../simulation';
import { PolicySchema, type PolicyConfig, type PolicyInput } from '../scenario/schema';
import { missingOn } from './hosts-and-bundles';
import { wipeSidecar } from './attachments';
import { readBlocks, writeBlocks } from './offline-io';
import type { Cluster } from './index';
import { ClusterError } from './errors';

/** Filter classes whose filters change the bytes below them. */
const LAYOUT_CLASSES = new Set(['encryption', 'compression']);

export function parsePolicy(input: PolicyInput | PolicyConfig): PolicyConfig {
	const r = v.safeParse(PolicySchema, input);
	if (!r.success) {
		const issue = r.issues[0];
		const path = (issue.path ?? []).map((p) => String((p as { key: unknown }).key)).join('.');
		throw new ClusterError(`bad storage policy${path ? ` at ${path}` : ''}: ${issue.message}`);
	}
	return r.output;
}

export interface PolicyChange {
	policy: string;
	attached: string[];
	detached: string[];
	kept: string[];
	/** The disk was re-laid out (its written blocks rewritten through the new chain). */
	relayout: boolean;
	rewrittenBlocks: number;
	chain: string[];
	message: string;
}

function sameParams(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
	const ka = Object.keys(a).sort();
	const kb = Object.keys(b).sort();
	return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a[k] === b[k]);
}

function sameDevices(inst: FilterInstance, a: AttachedFilter): boolean {
	for (const role of Object.keys(a.devices)) {
		try {
			if (inst.device(role) !== a.devices[role]) return false;
		} catch {
			return false;
		}
	}
	return true;
}

function layoutKey(list: { name: string; cls: string; params: Record<string, unknown> }[]): string {
	return JSON.stringify(list.filter((f) => LAYOUT_CLASSES.has(f.cls)).map((f) => [f.name, f.cls, Object.entries(f.params).sort()]));
}

/** Detaches a filter instance: its detach hook (or a detach event), then it is dead and its sidecar deleted. */
export async function detachFilter(c: Cluster, d: DiskRuntime, inst: FilterInstance): Promise<void> {
	try {
		if (inst.def.detach) await inst.def.detach(inst);
		else if (inst.def.onEvent) await inst.def.onEvent({ type: 'detach' }, inst);
	} catch (e) {
		c.sim.addLog(inst.def.name, `detach threw: ${e instanceof Error ? e.message : String(e)}`);
	}
	await d.chain.drain();
	inst.dead = true;
	await wipeSidecar(inst.sidecar);
}

/** Puts instances into the chain in order and attaches the new ones, bottom first. */
export async function installFilters(chain: FilterChain, items: (FilterInstance | AttachedFilter)[], host: string, c: Cluster): Promise<void> {
	const fresh: FilterInstance[] = [];
	const list = items.map((x, i) => {
		if (x instanceof FilterInstance) {
			x.index = i;
			return x;
		}
		const inst = new FilterInstance(chain, i, x);
		fresh.push(inst);
		return inst;
	});
	chain.filters.length = 0;
	chain.filters.push(...list);
	for (let i = fresh.length - 1; i >= 0; i--) {
		const inst = fresh[i];
		inst.state = await inst.def.attach(inst);
		c.resources.attachedOn(inst.sidecar, host);
	}
}

export async function applyPolicy(c: Cluster, d: DiskRuntime, policy: PolicyConfig): Promise<PolicyChange> {
	const vm = c.vm(d.info.vm);
	const snaps = c.snapshotNames(vm.name);
	if (snaps.length > 0)
		throw new ClusterError(
			`VM ${vm.name} has snapshots (${snaps.join(', ')}): a storage policy cannot change while a VM has snapshots; delete them first`
		);
	const host = c.hosts.get(d.info.host);
	const needs = new Map(policy.filters.map((f) => [f.type, '0'] as const));
	const missing = missingOn(host, needs);
	if (missing) throw new ClusterError(`policy "${policy.name}" cannot apply to ${d.key}: ${missing}`);
	let list: AttachedFilter[];
	let ordered: AttachedFilter[];
	try {
		list = await c.attachmentsOn(`policy "${policy.name}"`, d.key, { size: d.info.sectors * 512, policy }, c.prngFor(d.key), d.info.host);
		ordered = FilterChain.order(list, (a) => a.cls, policy.allowCleartextFilters);
	} catch (e) {
		throw new ClusterError(e instanceof Error ? e.message : String(e));
	}
	const cd = c.clusterDisk(d.key);
	const old = [...d.chain.filters];
	const oldPolicy = cd.policy;
	const keptOld = new Set<FilterInstance>();
	const items: (FilterInstance | AttachedFilter)[] = ordered.map((a) => {
		const inst = old.find(
			(f) => !keptOld.has(f) && !f.dead && f.def === a.def && f.cls === a.cls && sameParams(f.params, a.params) && sameDevices(f, a)
		);
		if (inst) {
			keptOld.add(inst);
			return inst;
		}
		return a;
	});
	const oldLayout = layoutKey(old.map((f) => ({ name: f.def.name, cls: f.cls, params: f.params })));
	const newLayout = layoutKey(ordered.map((a) => ({ name: a.def.name, cls: a.cls, params: a.params })));
	const hasEncryption = [...old.map((f) => f.cls), ...ordered.map((a) => a.cls)].includes('encryption');
	const relayout =
		oldLayout !== newLayout || (hasEncryption && oldPolicy.allowCleartextFilters !== policy.allowCleartextFilters);

	const detached: string[] = [];
	let rewritten = 0;
	await c.paused(vm.name, async () => {
		await d.chain.drain();
		if (relayout && !c.sim.scenario.run.timingOnly) {
			const blocks = d.expected.blockList();
			const r = await readBlocks(c.sim, d.chain, blocks);
			if (r.errors.length) throw new ClusterError(`policy change on ${d.key}: reading the disk failed (${r.errors[0].message})`);
			for (const f of old) {
				await detachFilter(c, d, f);
				detached.push(f.def.name);
			}
			const store = cd.layer.inner;
			await store.unmap(0, store.sectors);
			await installFilters(d.chain, ordered, d.info.host, c);
			const errors = await writeBlocks(c.sim, d.chain, r.data);
			if (errors.length) throw new ClusterError(`policy change on ${d.key}: rewriting the disk failed (${errors[0].message})`);
			rewritten = r.data.size;
		} else {
			// (A re-layout in a timing-only run moves no data but still replaces every filter.)
			for (const f of old)
				if (relayout || !keptOld.has(f)) {
					await detachFilter(c, d, f);
					detached.push(f.def.name);
				}
			await installFilters(d.chain, relayout ? ordered : items, d.info.host, c);
		}
	});
	cd.policy = policy;
	const attached = relayout ? ordered.map((a) => a.def.name) : items.filter((x): x is AttachedFilter => !(x instanceof FilterInstance)).map((a) => a.def.name);
	const kept = relayout ? [] : [...keptOld].map((f) => f.def.name);
	const chain = d.chain.filters.map((f) => f.def.name);
	const parts = [
		attached.length ? `attached ${attached.join(', ')}` : '',
		detached.length ? `detached ${detached.join(', ')}` : '',
		kept.length ? `kept ${kept.join(', ')}` : '',
		relayout ? `re-laid out ${rewritten} blocks` : ''
	].filter(Boolean);
	return {
		policy: policy.name,
		attached,
		detached,
		kept,
		relayout,
		rewrittenBlocks: rewritten,
		chain,
		message: `policy "${policy.name}" on ${d.key}: ${parts.join('; ') || 'no change'}; chain: ${chain.join(' → ') || 'no filters'}`
	};
}
