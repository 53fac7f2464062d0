import { describe, expect, it } from 'vitest';
import { BLOCK_BYTES, SECTOR_BYTES, SECTORS_PER_BLOCK } from '../io';
import { MemoryBlockStore, MemorySidecarStore, MemoryStoreFactory } from './memory';
import { describeBlockStore, describeSidecarStore, describeStoreFactory, pattern } from './store-suite';
import { SPARE_ARENAS_MAX, dropSpareArenas, spareArenaCount } from './arena-pool';

describeBlockStore('MemoryBlockStore', (sectors) => new MemoryBlockStore(sectors));
describeSidecarStore('MemorySidecarStore', () => new MemorySidecarStore());
describeStoreFactory('MemoryStoreFactory', () => new MemoryStoreFactory());

describe('MemoryBlockStore specifics', () => {
	it('allocates one 4 KiB block per written block, on first write', () => {
		const s = new MemoryBlockStore(1024);
		expect(s.allocatedBytes()).toBe(0);
		s.write(0, pattern(BLOCK_BYTES, 1));
		s.write(0, pattern(BLOCK_BYTES, 2));
		expect(s.allocatedBytes()).toBe(BLOCK_BYTES);
		s.write(7, new Uint8Array(6656)); // sectors 7..19: blocks 0, 1, 2
		expect([...s.blocks.keys()].sort((a, b) => a - b)).toEqual([0, 1, 2]);
		expect(s.allocatedBytes()).toBe(3 * BLOCK_BYTES);
		const dst = new Uint8Array(BLOCK_BYTES);
		s.read(80, dst); // reads never allocate
		expect(s.allocatedBytes()).toBe(3 * BLOCK_BYTES);
	});

	it('deletes whole unmapped blocks and zeroes partial ones in place', () => {
		const s = new MemoryBlockStore(1024);
		s.write(0, pattern(4 * BLOCK_BYTES, 3));
		s.unmap(4, 16); // half of block 0, all of block 1, half of block 2
		expect([...s.blocks.keys()].sort((a, b) => a - b)).toEqual([0, 2, 3]);
		expect(s.blocks.get(0)!.subarray(4 * SECTOR_BYTES).every((b) => b === 0)).toBe(true);
		expect(s.blocks.get(2)!.subarray(0, 4 * SECTOR_BYTES).every((b) => b === 0)).toBe(true);
		s.unmap(0, 1024); // whole disk, walks the map
		expect(s.blocks.size).toBe(0);
	});

	it('treats the partial last block as whole when unmapping to the end', () => {
		const s = new MemoryBlockStore(8 * 3 + 5);
		s.write(24, pattern(5 * SECTOR_BYTES, 4));
		s.unmap(24, 5);
		expect(s.blocks.has(3)).toBe(false);
	});

	it('stores a copy on the aligned fast path, never the caller buffer', () => {
		const s = new MemoryBlockStore(64);
		const src = pattern(BLOCK_BYTES, 5);
		s.write(SECTORS_PER_BLOCK, src);
		expect(s.blocks.get(1)).not.toBe(src);
		expect(s.blocks.get(1)!.buffer).not.toBe(src.buffer);
	});

	it('factory returns the same store for a name until wiped', () => {
		const f = new MemoryStoreFactory();
		const a = f.openBlockStore('d', 64);
		expect(f.openBlockStore('d', 64)).toBe(a);
		expect(f.blockStoreNames()).toEqual(['d']);
		f.wipe();
		expect(f.openBlockStore('d', 64)).not.toBe(a);
	});

	it('a wiped store gives its arenas to the next store, whose partial writes still see zeros around them', () => {
		const f = new MemoryStoreFactory();
		const old = f.openBlockStore('old', 1 << 16);
		// Two arenas' worth of 0xff blocks.
		const ones = new Uint8Array(BLOCK_BYTES).fill(0xff);
		for (let b = 0; b < 512; b++) old.write(b * SECTORS_PER_BLOCK, ones);
		const before = spareArenaCount();
		f.wipe();
		expect(spareArenaCount()).toBe(Math.min(SPARE_ARENAS_MAX, before + 2));
		expect(old.allocatedBytes()).toBe(0);

		const s = f.openBlockStore('new', 1 << 16);
		s.write(3, pattern(2 * SECTOR_BYTES, 6)); // sectors 3..4 of block 0: a partial write
		s.write(SECTORS_PER_BLOCK, pattern(BLOCK_BYTES, 7)); // block 1, whole
		expect(spareArenaCount()).toBe(Math.min(SPARE_ARENAS_MAX, before + 2) - 1);
		const b0 = new Uint8Array(BLOCK_BYTES);
		s.read(0, b0);
		expect(b0.subarray(0, 3 * SECTOR_BYTES).every((x) => x === 0)).toBe(true);
		expect(b0.subarray(3 * SECTOR_BYTES, 5 * SECTOR_BYTES)).toEqual(pattern(2 * SECTOR_BYTES, 6));
		expect(b0.subarray(5 * SECTOR_BYTES).every((x) => x === 0)).toBe(true);
		const b1 = new Uint8Array(BLOCK_BYTES);
		s.read(SECTORS_PER_BLOCK, b1);
		expect(b1).toEqual(pattern(BLOCK_BYTES, 7));
		const b2 = new Uint8Array(BLOCK_BYTES);
		s.read(2 * SECTORS_PER_BLOCK, b2); // never written: zeros, whatever the arena held
		expect(b2.every((x) => x === 0)).toBe(true);
		dropSpareArenas();
		expect(spareArenaCount()).toBe(0);
		// The old store, used again after the wipe, is empty and does not share the new one's bytes.
		const o = new Uint8Array(BLOCK_BYTES);
		old.read(SECTORS_PER_BLOCK, o);
		expect(o.every((x) => x === 0)).toBe(true);
	});
});
