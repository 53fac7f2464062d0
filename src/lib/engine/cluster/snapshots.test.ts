/**
 * The snapshot tree against a model that keeps a full copy of the disk at every snapshot: after
 * any sequence of writes, unmaps, creates, reverts (to any snapshot, across branches) and deletes,
 * the live disk and every snapshot's image must equal the model's, byte for byte.
 */
import { describe, expect, it } from 'vitest';
import { Prng } from '../clock';
import { BLOCK_BYTES, SECTORS_PER_BLOCK } from '../io';
import { MemoryBlockStore } from '../storage/memory';
import { ExpectedState } from '../verify';
import { DatastoreLayer } from './datastore';
import { SnapshotTree } from './snapshots';

const BLOCKS = 24;

function fill(v: number): Uint8Array {
	const b = new Uint8Array(BLOCK_BYTES);
	b.fill(v & 0xff);
	b[0] = v >>> 8;
	return b;
}

function valueOf(bytes: Uint8Array): number {
	return bytes[1] === 0 && bytes[0] === 0 ? 0 : (bytes[0] << 8) | bytes[1];
}

async function liveValue(store: MemoryBlockStore, b: number): Promise<number> {
	const buf = new Uint8Array(BLOCK_BYTES);
	store.read(b * SECTORS_PER_BLOCK, buf);
	return valueOf(buf);
}

describe('snapshot tree (copy-on-write with real data)', () => {
	for (const seed of [1, 2, 3, 4]) {
		it(`matches a full-copy model over 400 random operations (seed ${seed})`, async () => {
			const prng = new Prng(seed);
			const raw = new MemoryBlockStore(BLOCKS * SECTORS_PER_BLOCK);
			const layer = new DatastoreLayer(raw);
			const tree = new SnapshotTree(raw);
			const live = new Map<number, number>();
			const model = new Map<string, Map<number, number>>();
			let next = 1;
			let made = 0;
			let reverts = 0;
			let deletes = 0;
			for (let step = 0; step < 400; step++) {
				const r = prng.next();
				const names = [...model.keys()];
				if (r < 0.6) {
					const b = prng.int(BLOCKS);
					const v = next++;
					await layer.write(b * SECTORS_PER_BLOCK, fill(v));
					live.set(b, v);
				} else if (r < 0.65) {
					const b = prng.int(BLOCKS);
					await layer.unmap(b * SECTORS_PER_BLOCK, SECTORS_PER_BLOCK);
					live.delete(b);
				} else if (r < 0.78) {
					const name = `s${made++}`;
					tree.create(name, step, new ExpectedState());
					layer.cow = tree;
					model.set(name, new Map(live));
				} else if (r < 0.9 && names.length) {
					const name = names[prng.int(names.length)];
					await tree.revert(name);
					live.clear();
					for (const [b, v] of model.get(name)!) live.set(b, v);
					reverts++;
				} else if (names.length) {
					const name = names[prng.int(names.length)];
					const res = await tree.delete(name);
					model.delete(name);
					if (res.consolidated) layer.cow = undefined;
					deletes++;
				}
				const got: number[] = [];
				const want: number[] = [];
				for (let b = 0; b < BLOCKS; b++) {
					got.push(await liveValue(raw, b));
					want.push(live.get(b) ?? 0);
				}
				if (step % 5 === 0)
					for (const [name, img] of model)
						for (let b = 0; b < BLOCKS; b++) {
							got.push(valueOf(await tree.readBlock(name, b)));
							want.push(img.get(b) ?? 0);
						}
				if (got.join() !== want.join()) expect(got, `after step ${step}`).toEqual(want);
				if (tree.names().sort().join() !== [...model.keys()].sort().join()) expect(tree.names().sort()).toEqual([...model.keys()].sort());
			}
			expect(reverts).toBeGreaterThan(5);
			expect(deletes).toBeGreaterThan(5);
		});
	}

	it('copies a block once per snapshot, on its first change, and stops copying when the last snapshot is deleted', async () => {
		const raw = new MemoryBlockStore(BLOCKS * SECTORS_PER_BLOCK);
		const layer = new DatastoreLayer(raw);
		const tree = new SnapshotTree(raw);
		await layer.write(0, fill(1));
		tree.create('a', 0, new ExpectedState());
		layer.cow = tree;
		await layer.write(0, fill(2));
		await layer.write(0, fill(3));
		await layer.write(8, fill(4));
		expect(tree.cowBlocks).toBe(2);
		expect(tree.list()).toMatchObject([{ name: 'a', current: true, blocks: 2 }]);
		const r = await tree.delete('a');
		expect(r.consolidated).toBe(true);
		expect(tree.size).toBe(0);
		expect(await liveValue(raw, 0)).toBe(3);
	});

	it('a revert brings back the guest state recorded at the snapshot', async () => {
		const raw = new MemoryBlockStore(BLOCKS * SECTORS_PER_BLOCK);
		const tree = new SnapshotTree(raw);
		const e = new ExpectedState();
		e.recordWrite(0, 8, Uint32Array.of(5));
		tree.create('a', 0, e);
		e.recordWrite(0, 8, Uint32Array.of(6));
		const r = await tree.revert('a');
		expect(r.expected.contentOf(3)).toBe(5);
	});
});
