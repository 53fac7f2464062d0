/**
 * The OPFS block store's logic in Node, on fake sync handles: the shared conformance suite, plus
 * what only fakes can show cheaply: thinness of the data file, crash consistency (a closed tab:
 * every write reached the file but the map was not flushed; a power cut: only flushed bytes
 * survive), torn journals, checkpoints, and a full quota. The real OPFS runs the same suite in
 * Chromium (tests/e2e/stores.spec.ts).
 */
import { describe, expect, it } from 'vitest';
import { BLOCK_BYTES, SECTOR_BYTES, SECTORS_PER_BLOCK } from '../io';
import { StoreFullError } from './errors';
import { OpfsBlockStore, type OpfsStoreHandles, type SyncHandle } from './opfs';
import { describeBlockStore, pattern } from './store-suite';

/** A file as the OS sees it: `current` (what reads see), `durable` (what survives a power cut). */
class FakeFile {
	current = new Uint8Array(0);
	durable = new Uint8Array(0);
	constructor(readonly disk: FakeDisk) {}
	get size(): number {
		return this.current.length;
	}
	/** Times the file grew (each is a quota request in a browser). */
	grows = 0;
	/** Write calls (each is a message to the browser process in Chromium). */
	writes = 0;
	resize(size: number): void {
		if (size > this.current.length) this.grows++;
		const next = new Uint8Array(size);
		next.set(this.current.subarray(0, Math.min(size, this.current.length)));
		this.current = next;
	}
}

/** A set of files under one quota. */
class FakeDisk {
	files = new Map<string, FakeFile>();
	quota = Infinity;
	/** When set, every write throws it (a failing device). */
	writeError: Error | undefined = undefined;
	open = new Set<string>();
	file(name: string): FakeFile {
		let f = this.files.get(name);
		if (!f) {
			f = new FakeFile(this);
			this.files.set(name, f);
		}
		return f;
	}
	used(): number {
		let n = 0;
		for (const f of this.files.values()) n += f.size;
		return n;
	}
	handle(name: string): SyncHandle {
		if (this.open.has(name)) throw Object.assign(new Error('locked'), { name: 'NoModificationAllowedError' });
		this.open.add(name);
		const f = this.file(name);
		const disk = this;
		let closed = false;
		const live = () => {
			if (closed) throw new Error(`${name}: handle closed`);
		};
		return {
			read(buf, opts) {
				live();
				const at = opts?.at ?? 0;
				const n = Math.max(0, Math.min(buf.length, f.size - at));
				buf.set(f.current.subarray(at, at + n));
				return n;
			},
			write(buf, opts) {
				live();
				if (disk.writeError) throw disk.writeError;
				f.writes++;
				const at = opts?.at ?? 0;
				const end = at + buf.length;
				if (end > f.size) {
					if (disk.used() + (end - f.size) > disk.quota) {
						throw Object.assign(new Error('No capacity available'), { name: 'QuotaExceededError' });
					}
					f.resize(end);
				}
				f.current.set(buf, at);
				return buf.length;
			},
			truncate(size) {
				live();
				// Growing a file asks for quota, as in Chromium.
				if (size > f.size && disk.used() + (size - f.size) > disk.quota) {
					throw Object.assign(new Error('No capacity available'), { name: 'QuotaExceededError' });
				}
				f.resize(size);
			},
			getSize() {
				live();
				return f.size;
			},
			flush() {
				live();
				f.durable = f.current.slice();
			},
			close() {
				if (!closed) disk.open.delete(name);
				closed = true;
			}
		};
	}
	handles(name: string): OpfsStoreHandles {
		return { data: this.handle(`${name}.data`), map0: this.handle(`${name}.map0`), map1: this.handle(`${name}.map1`) };
	}
	/** The disk after a crash: a closed tab keeps every write; a power cut keeps flushed bytes. */
	crash(kind: 'tab' | 'power'): FakeDisk {
		const after = new FakeDisk();
		for (const [name, f] of this.files) {
			const g = after.file(name);
			g.current = (kind === 'tab' ? f.current : f.durable).slice();
			g.durable = g.current.slice();
		}
		return after;
	}
}

const block = (n: number) => n * SECTORS_PER_BLOCK;

function readBlock(store: OpfsBlockStore, n: number): Uint8Array {
	const dst = new Uint8Array(BLOCK_BYTES).fill(0xa5);
	store.read(block(n), dst);
	return dst;
}

function same(a: Uint8Array, b: Uint8Array): boolean {
	return a.length === b.length && a.every((v, i) => v === b[i]);
}

const zeros = new Uint8Array(BLOCK_BYTES);

/** The map file header's checksum (same function as opfs.ts, seed 0, words 0..2). */
function headerChecksum(w: Uint32Array): number {
	let h = 0x811c9dc5 >>> 0;
	for (let i = 0; i < 3; i++) {
		h = Math.imul(h ^ w[i], 0x01000193);
		h ^= h >>> 15;
	}
	return h >>> 0;
}

describe('OpfsBlockStore on fake sync handles', () => {
	const disk = new FakeDisk();
	let n = 0;
	const names = new WeakMap<object, string>();
	describeBlockStore(
		'OpfsBlockStore',
		(sectors) => {
			const name = `d${n++}`;
			const s = OpfsBlockStore.open(name, disk.handles(name), sectors);
			names.set(s, name);
			return s;
		},
		{
			reopen: (closed) => {
				const name = names.get(closed)!;
				const s = OpfsBlockStore.open(name, disk.handles(name), 1);
				names.set(s, name);
				return s;
			}
		}
	);

	it('is thin on disk: a 20 GiB store with 3 blocks written has a 12 KiB data file', () => {
		const d = new FakeDisk();
		const s = OpfsBlockStore.open('big', d.handles('big'), (20 * 2 ** 30) / SECTOR_BYTES);
		s.write(0, pattern(BLOCK_BYTES, 1));
		s.write(block(2_000_000), pattern(BLOCK_BYTES, 2));
		s.write(block(5_242_879), pattern(BLOCK_BYTES, 3));
		s.flush();
		expect(d.file('big.data').size).toBe(3 * BLOCK_BYTES);
		expect(s.fileBytes()).toBeLessThan(4 * BLOCK_BYTES);
		expect(same(readBlock(s, 2_000_000), pattern(BLOCK_BYTES, 2))).toBe(true);
		s.close();
	});

	it('appends a sequential multi-block first write as consecutive slots, reads it back in one piece', () => {
		const d = new FakeDisk();
		const s = OpfsBlockStore.open('seq', d.handles('seq'), 4096);
		const data = pattern(16 * BLOCK_BYTES, 4);
		s.write(block(100), data);
		s.flush();
		expect(same(d.file('seq.data').current.subarray(0, 16 * BLOCK_BYTES), data)).toBe(true); // slots 0..15 in order
		expect(d.file('seq.data').size).toBe(16 * BLOCK_BYTES); // grown ahead while writing, cut back at the flush
		const back = new Uint8Array(16 * BLOCK_BYTES);
		s.read(block(100), back);
		expect(same(back, data)).toBe(true);
		s.close();
	});

	it('grows the data file ahead of its slots in steps, not once per new block; a flush cuts the tail', () => {
		const d = new FakeDisk();
		const s = OpfsBlockStore.open('grow', d.handles('grow'), 1 << 20);
		for (let b = 0; b < 1000; b++) s.write(block(7 * b), pattern(BLOCK_BYTES, b));
		const f = d.file('grow.data');
		expect(f.grows).toBeLessThanOrEqual(5); // 1000 first writes: a few steps of ≥ 1 MiB
		expect(f.size).toBeGreaterThanOrEqual(1000 * BLOCK_BYTES);
		s.flush();
		expect(f.size).toBe(1000 * BLOCK_BYTES);
		for (let b = 0; b < 1000; b += 97) expect(same(readBlock(s, 7 * b), pattern(BLOCK_BYTES, b))).toBe(true);
		s.close();
	});

	it('reuses unmapped slots only after the unmap is flushed, and trims free slots at the end', () => {
		const d = new FakeDisk();
		const s = OpfsBlockStore.open('reuse', d.handles('reuse'), 4096);
		s.write(block(1), pattern(BLOCK_BYTES, 1)); // slot 0
		s.write(block(2), pattern(BLOCK_BYTES, 2)); // slot 1
		s.flush();
		s.unmap(block(1), SECTORS_PER_BLOCK);
		s.write(block(3), pattern(BLOCK_BYTES, 3)); // must not take slot 0 yet
		const file = d.file('reuse.data').current;
		expect(same(file.subarray(0, BLOCK_BYTES), pattern(BLOCK_BYTES, 1))).toBe(true);
		expect(same(readBlock(s, 3), pattern(BLOCK_BYTES, 3))).toBe(true); // in slot 2
		// A power cut now: the durable map still has block 1 → slot 0 with its old bytes.
		const after = OpfsBlockStore.open('reuse', d.crash('power').handles('reuse'), 1);
		expect(same(readBlock(after, 1), pattern(BLOCK_BYTES, 1))).toBe(true);
		expect(same(readBlock(after, 2), pattern(BLOCK_BYTES, 2))).toBe(true);
		expect(same(readBlock(after, 3), zeros)).toBe(true); // never committed
		after.close();
		s.flush();
		s.write(block(4), pattern(BLOCK_BYTES, 4)); // now slot 0 is reused
		expect(d.file('reuse.data').size).toBe(3 * BLOCK_BYTES);
		s.unmap(0, 4096);
		s.flush();
		expect(d.file('reuse.data').size).toBe(0);
		expect(s.allocatedBytes()).toBe(0);
		s.close();
	});

	it('holds appended slots in memory and writes them out together; reads and overwrites see them', () => {
		const d = new FakeDisk();
		const s = OpfsBlockStore.open('st', d.handles('st'), 1 << 20);
		const f = d.file('st.data');
		for (let b = 0; b < 40; b++) s.write(block(3 * b), pattern(BLOCK_BYTES, b));
		expect(f.writes).toBe(0); // 40 first writes, all staged
		s.write(block(3), pattern(BLOCK_BYTES, 500)); // an overwrite of a staged slot
		expect(same(readBlock(s, 3), pattern(BLOCK_BYTES, 500))).toBe(true);
		expect(same(readBlock(s, 6), pattern(BLOCK_BYTES, 2))).toBe(true);
		expect(f.writes).toBe(0);
		s.flush();
		expect(f.writes).toBe(1); // one write of 40 slots
		expect(same(f.durable.subarray(BLOCK_BYTES, 2 * BLOCK_BYTES), pattern(BLOCK_BYTES, 500))).toBe(true);
		// Far more than the stage holds: written out whenever it fills.
		for (let b = 100; b < 1100; b++) s.write(block(3 * b), pattern(BLOCK_BYTES, b));
		expect(f.writes).toBeLessThan(20);
		s.close();
		const again = OpfsBlockStore.open('st', d.handles('st'), 1);
		for (let b = 0; b < 1100; b += 37) {
			const want = b === 1 ? pattern(BLOCK_BYTES, 500) : b < 40 || b >= 100 ? pattern(BLOCK_BYTES, b) : zeros;
			expect(same(readBlock(again, 3 * b), want), `block ${3 * b}`).toBe(true);
		}
		again.close();
	});

	it('sends an overwrite of a block on file through the stage to a fresh slot, and reuses the old slot after the flush', () => {
		const d = new FakeDisk();
		const s = OpfsBlockStore.open('ow', d.handles('ow'), 1 << 20);
		const f = d.file('ow.data');
		for (let b = 0; b < 16; b++) s.write(block(b), pattern(BLOCK_BYTES, b));
		s.flush();
		const flushed = f.writes;
		for (let b = 0; b < 16; b += 2) s.write(block(b), pattern(BLOCK_BYTES, 100 + b)); // 8 overwrites
		expect(f.writes).toBe(flushed); // all staged, none written in place
		for (let b = 0; b < 16; b++) expect(same(readBlock(s, b), pattern(BLOCK_BYTES, b % 2 ? b : 100 + b))).toBe(true);
		s.flush();
		expect(f.writes).toBe(flushed + 1); // the 8 fresh slots in one write
		// The 8 old slots are free now: new blocks take them instead of growing the file.
		for (let b = 16; b < 24; b++) s.write(block(b), pattern(BLOCK_BYTES, b));
		s.flush();
		expect(d.file('ow.data').size).toBe(24 * BLOCK_BYTES);
		s.close();
		const again = OpfsBlockStore.open('ow', d.handles('ow'), 1);
		for (let b = 0; b < 24; b++) expect(same(readBlock(again, b), pattern(BLOCK_BYTES, b < 16 && b % 2 === 0 ? 100 + b : b)), `block ${b}`).toBe(true);
		again.close();
	});

	it('puts a redirected overwrite back on its old slot when writing the stage out fails', () => {
		const d = new FakeDisk();
		const s = OpfsBlockStore.open('owf', d.handles('owf'), 1 << 20);
		for (let b = 0; b < 4; b++) s.write(block(b), pattern(BLOCK_BYTES, b));
		s.flush();
		s.write(block(1), pattern(BLOCK_BYTES, 101)); // redirected, staged
		s.write(block(2), pattern(BLOCK_BYTES, 102)); // redirected, staged, then unmapped
		s.unmap(block(2), SECTORS_PER_BLOCK);
		d.writeError = Object.assign(new Error('device error'), { name: 'InvalidStateError' });
		expect(() => s.flush()).toThrow('device error');
		d.writeError = undefined;
		expect(same(readBlock(s, 1), pattern(BLOCK_BYTES, 1))).toBe(true); // its old bytes
		expect(same(readBlock(s, 2), zeros)).toBe(true); // the unmap stands
		s.flush();
		s.close();
		const again = OpfsBlockStore.open('owf', d.handles('owf'), 1);
		for (const [b, want] of [[0, pattern(BLOCK_BYTES, 0)], [1, pattern(BLOCK_BYTES, 1)], [2, zeros], [3, pattern(BLOCK_BYTES, 3)]] as const)
			expect(same(readBlock(again, b), want), `block ${b}`).toBe(true);
		again.close();
	});

	it('drops the staged blocks when writing them out fails, throws, and keeps every block written before', () => {
		const d = new FakeDisk();
		const s = OpfsBlockStore.open('sf', d.handles('sf'), 1 << 20);
		for (let b = 0; b < 8; b++) s.write(block(b), pattern(BLOCK_BYTES, b));
		s.flush();
		for (let b = 8; b < 16; b++) s.write(block(b), pattern(BLOCK_BYTES, b)); // staged
		s.unmap(block(9), SECTORS_PER_BLOCK);
		d.writeError = Object.assign(new Error('device error'), { name: 'InvalidStateError' });
		expect(() => s.flush()).toThrow('device error');
		d.writeError = undefined;
		for (let b = 0; b < 8; b++) expect(same(readBlock(s, b), pattern(BLOCK_BYTES, b))).toBe(true);
		for (let b = 8; b < 16; b++) expect(same(readBlock(s, b), zeros), `block ${b}`).toBe(true);
		expect(s.allocatedBytes()).toBe(8 * BLOCK_BYTES);
		// The store goes on: new blocks take the dropped slots, and all of it survives a reopen.
		s.write(block(20), pattern(BLOCK_BYTES, 20));
		s.close();
		expect(d.file('sf.data').size).toBe(9 * BLOCK_BYTES);
		const again = OpfsBlockStore.open('sf', d.handles('sf'), 1);
		for (let b = 0; b < 8; b++) expect(same(readBlock(again, b), pattern(BLOCK_BYTES, b))).toBe(true);
		expect(same(readBlock(again, 12), zeros)).toBe(true);
		expect(same(readBlock(again, 20), pattern(BLOCK_BYTES, 20))).toBe(true);
		again.close();
	});

	for (const kind of ['tab', 'power'] as const) {
		it(`after a crash (${kind === 'tab' ? 'tab closed' : 'power cut'}) keeps every block flushed before it`, () => {
			const d = new FakeDisk();
			const s = OpfsBlockStore.open('c', d.handles('c'), 1 << 16);
			for (let b = 0; b < 50; b++) s.write(block(b * 7), pattern(BLOCK_BYTES, b));
			s.write(3, pattern(5 * SECTOR_BYTES, 99)); // partial first write of block 0
			s.unmap(block(14), SECTORS_PER_BLOCK);
			s.flush();
			// Since the flush: new blocks, an unmap, overwrites, a resize, none flushed.
			for (let b = 50; b < 80; b++) s.write(block(b * 7), pattern(BLOCK_BYTES, b));
			s.unmap(block(21), SECTORS_PER_BLOCK);
			s.write(block(28), pattern(BLOCK_BYTES, 1000)); // a whole block: redirected through the stage
			s.write(block(35) + 2, pattern(3 * SECTOR_BYTES, 1001)); // part of a block: in place
			s.resize(1 << 17);
			const after = OpfsBlockStore.open('c', d.crash(kind).handles('c'), 1);
			expect(after.sectors).toBe(1 << 16);
			for (let b = 0; b < 50; b++) {
				const got = readBlock(after, b * 7);
				if (b === 0) {
					const want = pattern(BLOCK_BYTES, 0);
					want.set(pattern(5 * SECTOR_BYTES, 99), 3 * SECTOR_BYTES);
					expect(same(got, want)).toBe(true);
				} else if (b === 2) expect(same(got, zeros)).toBe(true); // unmapped and flushed
				else if (b === 4) {
					// Overwritten since the flush through the stage: the fresh slot and its mapping
					// were lost, the old slot still holds the flushed bytes.
					expect(same(got, pattern(BLOCK_BYTES, 4))).toBe(true);
				} else if (b === 5) {
					// Overwritten in place since the flush: the new bytes if they reached the file.
					const want = pattern(BLOCK_BYTES, 5);
					if (kind === 'tab') want.set(pattern(3 * SECTOR_BYTES, 1001), 2 * SECTOR_BYTES);
					expect(same(got, want)).toBe(true);
				} else expect(same(got, pattern(BLOCK_BYTES, b)), `block ${b * 7}`).toBe(true); // incl. block 21: its unmap was lost
			}
			for (let b = 50; b < 80; b++) expect(same(readBlock(after, b * 7), zeros)).toBe(true);
			// The store is usable after the crash, and new blocks do not land on committed ones.
			for (let b = 100; b < 140; b++) after.write(block(b * 7), pattern(BLOCK_BYTES, b));
			after.flush();
			for (let b = 1; b < 50; b++) if (b !== 2 && b !== 4 && b !== 5) expect(same(readBlock(after, b * 7), pattern(BLOCK_BYTES, b))).toBe(true);
			for (let b = 100; b < 140; b++) expect(same(readBlock(after, b * 7), pattern(BLOCK_BYTES, b))).toBe(true);
			after.close();
		});
	}

	it('ignores a torn journal batch and keeps the batches before it', () => {
		const d = new FakeDisk();
		const s = OpfsBlockStore.open('t', d.handles('t'), 4096);
		s.write(block(1), pattern(BLOCK_BYTES, 1));
		s.flush();
		s.write(block(2), pattern(BLOCK_BYTES, 2));
		s.write(block(3), pattern(BLOCK_BYTES, 3));
		s.flush();
		// A crash, with the last batch cut in half as if it were being written.
		const crashed = d.crash('tab');
		s.close();
		const map = crashed.file('t.map0');
		map.resize(map.size - 24);
		const after = OpfsBlockStore.open('t', crashed.handles('t'), 1);
		expect(same(readBlock(after, 1), pattern(BLOCK_BYTES, 1))).toBe(true);
		expect(same(readBlock(after, 2), zeros)).toBe(true);
		after.write(block(5), pattern(BLOCK_BYTES, 5));
		after.flush();
		after.close();
		const again = OpfsBlockStore.open('t', crashed.handles('t'), 1);
		expect(same(readBlock(again, 1), pattern(BLOCK_BYTES, 1))).toBe(true);
		expect(same(readBlock(again, 5), pattern(BLOCK_BYTES, 5))).toBe(true);
		again.close();
	});

	it('folds a long journal into a checkpoint in the other map file; an interrupted checkpoint is ignored', () => {
		const d = new FakeDisk();
		const s = OpfsBlockStore.open('k', d.handles('k'), 1 << 20);
		// Churn: many journal records over a small live map.
		for (let round = 0; round < 45; round++) {
			for (let b = 0; b < 100; b++) s.write(block(b), pattern(BLOCK_BYTES, round * 1000 + b));
			s.unmap(0, block(100));
			s.flush();
		}
		for (let b = 0; b < 10; b++) s.write(block(b), pattern(BLOCK_BYTES, b));
		s.flush();
		// 4500 map + 4500 unmap records were written; checkpoints kept the map files small.
		expect(d.file('k.map0').size + d.file('k.map1').size).toBeLessThan(3 * 4096 * 16);
		const crashed = d.crash('power');
		s.close();
		const reopened = OpfsBlockStore.open('k', crashed.handles('k'), 1);
		for (let b = 0; b < 10; b++) expect(same(readBlock(reopened, b), pattern(BLOCK_BYTES, b))).toBe(true);
		expect(reopened.allocatedBytes()).toBe(10 * BLOCK_BYTES);
		reopened.close();
		// A checkpoint cut short in the inactive file (higher generation, bad checksum) loses to the active one.
		const activeName = d.file('k.map0').size > 0 ? 'k.map0' : 'k.map1';
		const otherName = activeName === 'k.map0' ? 'k.map1' : 'k.map0';
		const active = d.file(activeName).current;
		const torn = active.slice(0, active.length - 16); // no commit record
		const w = new Uint32Array(torn.buffer);
		w[2] += 1; // the next generation, with a valid header
		w[3] = headerChecksum(w);
		d.file(otherName).current = torn;
		const again = OpfsBlockStore.open('k', d.handles('k'), 1);
		for (let b = 0; b < 10; b++) expect(same(readBlock(again, b), pattern(BLOCK_BYTES, b))).toBe(true);
		again.close();
	});

	it('throws a "storage is full" error with usage and quota; nothing written before is harmed', () => {
		const d = new FakeDisk();
		const s = OpfsBlockStore.open('q', d.handles('q'), 1 << 16, { estimate: () => ({ usage: 1000, quota: 5000 }) });
		for (let b = 0; b < 8; b++) s.write(block(b), pattern(BLOCK_BYTES, b));
		s.flush();
		d.quota = d.used() + 2 * BLOCK_BYTES + 20;
		s.write(block(8), pattern(BLOCK_BYTES, 8));
		s.write(block(9), pattern(BLOCK_BYTES, 9));
		let error: unknown;
		try {
			s.write(block(10), pattern(BLOCK_BYTES, 10));
		} catch (e) {
			error = e;
		}
		expect(error).toBeInstanceOf(StoreFullError);
		expect((error as Error).message).toMatch(/storage is full.*"q".*1000 B of its 4.9 KiB quota/);
		expect(d.file('q.data').size).toBe(10 * BLOCK_BYTES); // the failed append was cut back
		// A multi-block first write that does not fit leaves nothing mapped.
		expect(() => s.write(block(20), pattern(4 * BLOCK_BYTES, 20))).toThrow(StoreFullError);
		expect(same(readBlock(s, 20), zeros)).toBe(true);
		// Overwrites in place still work, and everything reads back.
		s.write(block(0), pattern(BLOCK_BYTES, 100));
		expect(same(readBlock(s, 0), pattern(BLOCK_BYTES, 100))).toBe(true);
		for (let b = 1; b < 10; b++) expect(same(readBlock(s, b), pattern(BLOCK_BYTES, b))).toBe(true);
		// The map's own flush can be refused too; after space is freed it goes through.
		expect(() => s.flush()).toThrow(StoreFullError);
		d.quota = Infinity;
		s.flush();
		s.close();
		const again = OpfsBlockStore.open('q', d.handles('q'), 1);
		for (let b = 1; b < 10; b++) expect(same(readBlock(again, b), pattern(BLOCK_BYTES, b))).toBe(true);
		again.close();
	});

	it('keeps capacities beyond 2^32 blocks in the map', () => {
		const d = new FakeDisk();
		const sectors = 2 ** 40; // 512 TiB: blocks past 2^32
		const s = OpfsBlockStore.open('huge', d.handles('huge'), sectors);
		const far = 2 ** 35 + 5;
		s.write(block(far), pattern(BLOCK_BYTES, 7));
		s.close();
		const again = OpfsBlockStore.open('huge', d.handles('huge'), 8);
		expect(again.sectors).toBe(sectors);
		expect(same(readBlock(again, far), pattern(BLOCK_BYTES, 7))).toBe(true);
		expect(same(readBlock(again, far % 2 ** 32), zeros)).toBe(true);
		again.close();
	});
});
