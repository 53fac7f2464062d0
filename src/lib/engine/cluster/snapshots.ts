/**
 * A disk's snapshot tree with real data, kept by copy-on-write at the datastore (the layer in
 * datastore.ts calls preserve() before a block changes).
 *
 * The live disk (the store under the chain) always holds the newest state, "you are here". The
 * nodes on the path from the root to the current snapshot hold before-images: the bytes each
 * block had when the node was taken, for every block changed since, until the node's child on
 * the path was taken (for the current node: until now). So a node's image is the live disk with
 * the maps of the path below it laid over it, its own map last. Nodes off that path (after a
 * revert to an older snapshot, the newer ones are off it) hold forward deltas instead: the blocks
 * in which their image differs from their parent's, so their image is the parent's image with
 * their map laid over it. The root is a hidden base node (the disk as it was at the first
 * snapshot), so every snapshot has a parent to merge into.
 *
 * - create: a new node under the current one; nothing is copied until blocks change.
 * - revert: the live disk gets the target's image back (every block that may differ is written),
 *   the guest's state at the snapshot comes back, the nodes leaving the path turn into forward
 *   deltas and those entering it into before-images. The state since the last snapshot is
 *   discarded, as vSphere's revert discards it.
 * - delete: the node's blocks merge into its parent (the parent's own copy wins: it is older) and
 *   its children move up to the parent, with the node's blocks folded into theirs. Deleting the
 *   last snapshot consolidates everything into the live disk: the tree and the copy-on-write stop.
 *   (With copy-on-write the live disk is always current, so a delete moves no disk data: unlike
 *   vSphere's redo-log consolidation, it issues no I/O through the chain.)
 *
 * A revert or delete first reads every live block any map refers to, then changes the maps and
 * writes the disk without yielding, so I/O running meanwhile (a filter's background work) cannot
 * slip between the reading and the writing.
 */
import { BLOCK_BYTES, SECTOR_BYTES, SECTORS_PER_BLOCK } from '../io';
import type { BlockStore } from '../storage/types';
import type { ExpectedState } from '../verify';
import type { CowTarget } from './datastore';

interface SnapNode {
	readonly id: number;
	/** '' for the hidden base. */
	readonly name: string;
	parent: SnapNode | undefined;
	readonly children: SnapNode[];
	/** On the path from the base to the current node (map = before-images), or off it (map = forward delta). */
	onPath: boolean;
	/** On the path: the child the path continues to (undefined for the current node). */
	pathChild: SnapNode | undefined;
	map: Map<number, Uint8Array>;
	readonly createdAt: number;
	/** The guest's expected state when the snapshot was taken (restored by a revert). */
	readonly expected: ExpectedState | undefined;
	readonly description: string;
}

export interface SnapshotInfo {
	name: string;
	parent: string | undefined;
	children: string[];
	/** The disk runs on this snapshot ("you are here"). */
	current: boolean;
	createdAt: number;
	/** Blocks whose data this node keeps (before-images or forward delta). */
	blocks: number;
	description: string;
}

export class SnapshotTree implements CowTarget {
	private base: SnapNode | undefined;
	private current: SnapNode | undefined;
	private readonly byName = new Map<string, SnapNode>();
	private seq = 0;
	/** Blocks copied on write so far. */
	cowBlocks = 0;

	/** `store` is the disk's store below the datastore layer (its writes are not copied again). */
	constructor(private readonly store: BlockStore) {}

	get size(): number {
		return this.byName.size;
	}

	has(name: string): boolean {
		return this.byName.has(name);
	}

	names(): string[] {
		return [...this.byName.keys()];
	}

	/** The snapshot the disk runs on, if it is a named one. */
	get currentName(): string | undefined {
		const c = this.current;
		return c && c !== this.base ? c.name : undefined;
	}

	/** Blocks kept by all snapshots. */
	get keptBlocks(): number {
		let n = 0;
		if (this.base) for (const x of this.all()) n += x.map.size;
		return n;
	}

	list(): SnapshotInfo[] {
		return [...this.byName.values()]
			.sort((a, b) => a.id - b.id)
			.map((x) => ({
				name: x.name,
				parent: x.parent && x.parent !== this.base ? x.parent.name : undefined,
				children: x.children.map((c) => c.name),
				current: x === this.current,
				createdAt: x.createdAt,
				blocks: x.map.size,
				description: x.description
			}));
	}

	// ---- copy-on-write (called by the datastore layer before a write or unmap lands) ----

	preserve(first: number, end: number): void | Promise<void> {
		const cur = this.current;
		if (!cur) return;
		let wait: Promise<void> | undefined;
		for (let b = first; b < end; b++) {
			if (cur.map.has(b)) continue;
			const buf = new Uint8Array(BLOCK_BYTES);
			// Claimed now, filled by the read: a second write of the block does not copy again.
			cur.map.set(b, buf);
			this.cowBlocks++;
			const r = this.readRaw(b, buf);
			if (r) wait = wait ? wait.then(() => r) : r;
		}
		return wait;
	}

	// ---- operations ----

	create(name: string, now: number, expected: ExpectedState, description = ''): void {
		if (!name) throw new Error('a snapshot needs a name');
		if (this.byName.has(name)) throw new Error(`a snapshot named "${name}" exists already`);
		if (!this.base) {
			this.base = this.node('', undefined, now, undefined, '');
			this.base.onPath = true;
			this.current = this.base;
		}
		const parent = this.current!;
		const n = this.node(name, parent, now, expected.copy(), description);
		n.onPath = true;
		parent.children.push(n);
		parent.pathChild = n;
		this.current = n;
		this.byName.set(name, n);
	}

	/** Brings the disk back to the snapshot's image; returns the guest's state at the snapshot. */
	async revert(name: string): Promise<{ expected: ExpectedState; blocksWritten: number }> {
		const target = this.get(name);
		const live = await this.prefetch();
		const c = this.current!;
		const pc = pathTo(c);
		const pt = pathTo(target);
		let li = 0;
		while (li + 1 < pc.length && li + 1 < pt.length && pc[li + 1] === pt[li + 1]) li++;
		const l = pc[li];
		const leaving = pc.slice(li + 1);
		const entering = pt.slice(li + 1);
		// Everything is computed before anything changes (and without yielding from here on).
		const fwd = new Map<SnapNode, Map<number, Uint8Array>>();
		for (const n of leaving) {
			const m = new Map<number, Uint8Array>();
			for (const b of n.parent!.map.keys()) m.set(b, this.image(n, b, live));
			fwd.set(n, m);
		}
		const back = new Map<SnapNode, Map<number, Uint8Array>>();
		const along = [l, ...entering];
		for (let i = 0; i < entering.length; i++) {
			const m = new Map<number, Uint8Array>();
			for (const b of entering[i].map.keys()) m.set(b, this.image(along[i], b, live));
			back.set(along[i], m);
		}
		const differ = new Set<number>();
		for (let m: SnapNode | undefined = l; m; m = m.pathChild) for (const b of m.map.keys()) differ.add(b);
		for (const y of entering) for (const b of y.map.keys()) differ.add(b);
		const restore = [...differ].sort((a, b) => a - b).map((b) => [b, this.image(target, b, live)] as const);

		for (const n of leaving) {
			n.map = fwd.get(n)!;
			n.onPath = false;
			n.pathChild = undefined;
		}
		l.pathChild = entering[0];
		l.map = back.get(l) ?? new Map();
		entering.forEach((y, i) => {
			y.onPath = true;
			y.pathChild = entering[i + 1];
			y.map = back.get(y) ?? new Map();
		});
		target.map = new Map();
		target.pathChild = undefined;
		this.current = target;
		const writes: Promise<void>[] = [];
		for (const [b, data] of restore) {
			const r = this.writeRaw(b, data);
			if (r) writes.push(r);
		}
		if (writes.length) await Promise.all(writes);
		return { expected: target.expected!.copy(), blocksWritten: restore.length };
	}

	/** Deletes a snapshot, merging its blocks into its parent and its children. */
	async delete(name: string): Promise<{ mergedBlocks: number; consolidated: boolean }> {
		const x = this.get(name);
		const live = await this.prefetch();
		const p = x.parent!;
		let merged = 0;
		if (x.onPath) {
			// Children off the path were deltas against x: against p they also need what x had
			// where p and x differ (p's before-images name those blocks).
			for (const y of x.children)
				if (y !== x.pathChild) for (const b of p.map.keys()) if (!y.map.has(b)) y.map.set(b, this.image(x, b, live));
			for (const [b, v] of x.map)
				if (!p.map.has(b)) {
					p.map.set(b, v);
					merged++;
				}
			p.pathChild = x.pathChild;
			if (this.current === x) this.current = p;
		} else {
			for (const y of x.children)
				for (const [b, v] of x.map)
					if (!y.map.has(b)) {
						y.map.set(b, v);
						merged++;
					}
		}
		p.children.splice(p.children.indexOf(x), 1, ...x.children);
		for (const y of x.children) y.parent = p;
		this.byName.delete(name);
		if (this.byName.size === 0) {
			// No snapshot left: the live disk is all there is.
			this.base = this.current = undefined;
			return { mergedBlocks: merged, consolidated: true };
		}
		return { mergedBlocks: merged, consolidated: false };
	}

	/** One block of a snapshot's image (for tests and for cloning from a snapshot). */
	async readBlock(name: string, block: number): Promise<Uint8Array> {
		const live = await this.prefetch([block]);
		return this.image(this.get(name), block, live).slice();
	}

	// ---- internals ----

	private get(name: string): SnapNode {
		const n = this.byName.get(name);
		if (!n) throw new Error(`no snapshot named "${name}" (snapshots: ${this.names().join(', ') || 'none'})`);
		return n;
	}

	private node(name: string, parent: SnapNode | undefined, now: number, expected: ExpectedState | undefined, description: string): SnapNode {
		return { id: ++this.seq, name, parent, children: [], onPath: false, pathChild: undefined, map: new Map(), createdAt: now, expected, description };
	}

	private *all(): Generator<SnapNode> {
		const stack = this.base ? [this.base] : [];
		while (stack.length) {
			const n = stack.pop()!;
			yield n;
			stack.push(...n.children);
		}
	}

	/** The bytes of block b in x's image; `live` holds the live blocks read beforehand. */
	private image(x: SnapNode, b: number, live: Map<number, Uint8Array>): Uint8Array {
		let n = x;
		while (!n.onPath) {
			const v = n.map.get(b);
			if (v) return v;
			n = n.parent!;
		}
		for (let m: SnapNode | undefined = n; m; m = m.pathChild) {
			const v = m.map.get(b);
			if (v) return v;
		}
		const v = live.get(b);
		if (!v) throw new Error(`snapshot tree: live block ${b} was not read`);
		return v;
	}

	/** Reads the live blocks that any map names (or `blocks`), before the tree changes. */
	private async prefetch(blocks?: number[]): Promise<Map<number, Uint8Array>> {
		const want = new Set<number>(blocks ?? []);
		if (!blocks) for (const n of this.all()) for (const b of n.map.keys()) want.add(b);
		const live = new Map<number, Uint8Array>();
		for (const b of want) {
			const buf = new Uint8Array(BLOCK_BYTES);
			const r = this.readRaw(b, buf);
			if (r) await r;
			live.set(b, buf);
		}
		return live;
	}

	private blockSectors(b: number): number {
		return Math.max(0, Math.min(SECTORS_PER_BLOCK, this.store.sectors - b * SECTORS_PER_BLOCK));
	}

	private readRaw(b: number, buf: Uint8Array): void | Promise<void> {
		const n = this.blockSectors(b);
		if (n === 0) return;
		return this.store.read(b * SECTORS_PER_BLOCK, buf.subarray(0, n * SECTOR_BYTES));
	}

	/** Writes a block's image back; an all-zero block is unmapped (the disk stays thin). */
	private writeRaw(b: number, data: Uint8Array): void | Promise<void> {
		const n = this.blockSectors(b);
		if (n === 0) return;
		let zero = true;
		for (let i = 0; i < n * SECTOR_BYTES; i++)
			if (data[i] !== 0) {
				zero = false;
				break;
			}
		if (zero) return this.store.unmap(b * SECTORS_PER_BLOCK, n);
		return this.store.write(b * SECTORS_PER_BLOCK, data.subarray(0, n * SECTOR_BYTES));
	}
}

function pathTo(x: SnapNode): SnapNode[] {
	const out: SnapNode[] = [];
	for (let n: SnapNode | undefined = x; n; n = n.parent) out.push(n);
	return out.reverse();
}
