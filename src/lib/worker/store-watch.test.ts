import { describe, expect, it } from 'vitest';
import { MemoryStoreFactory } from '../engine/storage/memory';
import { StoreFullError, StoreLockedError } from '../engine/storage/errors';
import type { BlockStore, StoreFactory } from '../engine/storage/types';
import { storeFault, watchStores, type StoreFault } from './store-watch';

/** A memory factory whose stores throw `error` (sync, or as a rejected Promise) on write. */
function failing(error: Error, async: boolean): StoreFactory {
	const mem = new MemoryStoreFactory();
	const open = new Map<string, BlockStore>();
	return {
		kind: 'opfs',
		openBlockStore(name, sectors) {
			const s = mem.openBlockStore(name, sectors);
			if (!open.has(name))
				open.set(
					name,
					Object.assign(Object.create(s) as BlockStore, {
						write: () => {
							if (async) return Promise.reject(error);
							throw error;
						}
					})
				);
			return open.get(name)!;
		},
		openSidecar: (name) => mem.openSidecar(name),
		wipe: () => mem.wipe()
	};
}

describe('storeFault', () => {
	it('tells the store errors apart by name, and nothing else', () => {
		expect(storeFault(new StoreFullError('storage is full: x'))).toEqual({ name: 'StoreFullError', message: 'storage is full: x' });
		expect(storeFault(new StoreLockedError('open in another tab'))?.name).toBe('StoreLockedError');
		// What comlink rebuilds on the page: a plain Error carrying the name.
		expect(storeFault(Object.assign(new Error('gone'), { name: 'StoreUnavailableError' }))?.name).toBe('StoreUnavailableError');
		expect(storeFault(new RangeError('read: bad range'))).toBeUndefined();
		expect(storeFault('StoreFullError')).toBeUndefined();
		expect(storeFault(null)).toBeUndefined();
	});
});

describe('watchStores', () => {
	for (const async of [false, true]) {
		it(`reports a fault ${async ? 'in a rejected Promise' : 'thrown'} and still fails the operation`, async () => {
			const faults: StoreFault[] = [];
			const f = watchStores(failing(new StoreFullError('storage is full: disk "d"'), async), (x) => faults.push(x));
			const s = await f.openBlockStore('d', 64);
			const write = async () => s.write(0, new Uint8Array(4096));
			await expect(write()).rejects.toThrow('storage is full');
			expect(faults).toEqual([{ name: 'StoreFullError', message: 'storage is full: disk "d"' }]);
		});
	}

	it('passes other errors and every result through, and gives one wrapper per store', async () => {
		const faults: StoreFault[] = [];
		const f = watchStores(failing(new RangeError('write: out of range'), false), (x) => faults.push(x));
		expect(f.kind).toBe('opfs');
		const s = await f.openBlockStore('d', 64);
		expect(s.sectors).toBe(64);
		expect(() => s.write(0, new Uint8Array(512))).toThrow('out of range');
		const dst = new Uint8Array(512).fill(7);
		await s.read(0, dst);
		expect(dst.every((b) => b === 0)).toBe(true);
		expect(await f.openBlockStore('d', 64)).toBe(s);
		const side = await f.openSidecar('x');
		await side.set('k', new Uint8Array([1, 2]));
		expect(await side.get('k')).toEqual(new Uint8Array([1, 2]));
		expect(await side.keys()).toEqual(['k']);
		expect(faults).toEqual([]);
	});
});
