/**
 * The shared conformance suite for block stores, sidecars and store factories. Every backend
 * (memory, file, and in Chromium OPFS and IndexedDB) runs the same tests, so this module must stay
 * free of Node-only imports. Every store call is awaited, so sync and async stores both work.
 *
 * Usage, in a `*.test.ts` beside the backend:
 *   describeBlockStore('MemoryBlockStore', (sectors) => new MemoryBlockStore(sectors));
 *   describeSidecarStore('MemorySidecarStore', () => new MemorySidecarStore());
 *   describeStoreFactory('MemoryStoreFactory', () => new MemoryStoreFactory());
 * `describeStoreFactory` runs the two others through the factory (with reopen tests) plus the
 * factory's own (names, reopen by name, wipe).
 *
 * Contract checked here, beyond types.ts: lengths are multiples of 512 and ranges lie inside the
 * capacity, otherwise the call throws (or rejects); `resize` to a smaller capacity throws;
 * `close` is idempotent; reopening a name with a smaller capacity keeps the existing one and a
 * larger one grows it; `wipe` is called with every store closed.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BLOCK_BYTES, SECTOR_BYTES, SECTORS_PER_BLOCK } from '../io';
import { getJson, putJson } from './sidecar-json';
import type { BlockStore, SidecarStore, StoreFactory } from './types';

type Awaitable<T> = T | Promise<T>;

export interface BlockStoreSuiteOptions {
	/** Opens the storage behind a closed store again (a restart); omit if the backend cannot. */
	reopen?: (closed: BlockStore) => Awaitable<BlockStore>;
}

export interface SidecarSuiteOptions {
	/** Opens the storage behind a sidecar again (a restart); omit if the backend cannot. */
	reopen?: (sidecar: SidecarStore) => Awaitable<SidecarStore>;
}

export interface FactorySuiteOptions {
	/** Called after the suite's final wipe (e.g. to remove a temporary directory). */
	dispose?: (factory: StoreFactory) => Awaitable<void>;
}

const GiB = 2 ** 30;
const SMALL = 1024; // sectors: a 512 KiB disk

/** Deterministic non-periodic bytes (xorshift32); different seeds give different bytes. */
export function pattern(length: number, seed: number): Uint8Array {
	const out = new Uint8Array(length);
	let x = (Math.imul(seed + 1, 0x9e3779b1) ^ 0x5bd1e995) | 1;
	for (let i = 0; i < length; i++) {
		x ^= x << 13;
		x ^= x >>> 17;
		x ^= x << 5;
		out[i] = x & 0xff;
	}
	return out;
}

/** Index of the first differing byte (or length mismatch), -1 if equal; cheap on big buffers. */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
	if (a.length !== b.length) return Math.min(a.length, b.length);
	for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
	return -1;
}

function expectBytes(actual: Uint8Array, expected: Uint8Array, what = 'bytes'): void {
	expect(firstDifference(actual, expected), `${what}: first differing byte`).toBe(-1);
}

function expectZeros(actual: Uint8Array, what = 'bytes'): void {
	expect(
		actual.findIndex((b) => b !== 0),
		`${what}: first non-zero byte`
	).toBe(-1);
}

/** Reads `sectors` sectors at `sector` into a fresh buffer pre-filled with garbage. */
async function readBack(store: BlockStore, sector: number, sectors: number): Promise<Uint8Array> {
	const dst = new Uint8Array(sectors * SECTOR_BYTES).fill(0xa5);
	await store.read(sector, dst);
	return dst;
}

async function expectFailure(fn: () => unknown): Promise<void> {
	await expect((async () => fn())()).rejects.toThrow();
}

export function describeBlockStore(
	name: string,
	open: (sectors: number) => Awaitable<BlockStore>,
	options: BlockStoreSuiteOptions = {}
): void {
	describe(name, () => {
		let opened: BlockStore[] = [];
		const track = async (p: Awaitable<BlockStore>): Promise<BlockStore> => {
			const s = await p;
			opened.push(s);
			return s;
		};
		const openStore = (sectors: number) => track(open(sectors));

		afterEach(async () => {
			const stores = opened;
			opened = [];
			for (const s of stores) {
				try {
					await s.close();
				} catch {
					// already closed or broken by the test; closing is best effort here
				}
			}
		});

		it('has a kind and the requested capacity', async () => {
			const store = await openStore(SMALL);
			expect(['memory', 'file', 'opfs', 'idb']).toContain(store.kind);
			expect(store.sectors).toBe(SMALL);
		});

		it('reads zeros before any write', async () => {
			const store = await openStore(SMALL);
			expectZeros(await readBack(store, 0, SECTORS_PER_BLOCK), 'first block');
			expectZeros(await readBack(store, 40, 3 * SECTORS_PER_BLOCK), 'aligned multi-block');
			expectZeros(await readBack(store, 13, 21), 'unaligned');
			expectZeros(await readBack(store, SMALL - 1, 1), 'last sector');
			expectZeros(await readBack(store, 0, SMALL), 'whole disk');
		});

		it('round-trips aligned single- and multi-block writes', async () => {
			const store = await openStore(SMALL);
			const a = pattern(BLOCK_BYTES, 1);
			const b = pattern(BLOCK_BYTES, 2);
			const c = pattern(16 * BLOCK_BYTES, 3);
			await store.write(0, a);
			await store.write(5 * SECTORS_PER_BLOCK, b);
			await store.write(16 * SECTORS_PER_BLOCK, c);
			expectBytes(await readBack(store, 0, SECTORS_PER_BLOCK), a, 'block 0');
			expectBytes(await readBack(store, 5 * SECTORS_PER_BLOCK, SECTORS_PER_BLOCK), b, 'block 5');
			expectBytes(await readBack(store, 16 * SECTORS_PER_BLOCK, 16 * SECTORS_PER_BLOCK), c, 'blocks 16-31');
			expectZeros(await readBack(store, SECTORS_PER_BLOCK, 4 * SECTORS_PER_BLOCK), 'blocks 1-4');
			expectZeros(await readBack(store, 6 * SECTORS_PER_BLOCK, 10 * SECTORS_PER_BLOCK), 'blocks 6-15');
			expectZeros(await readBack(store, 32 * SECTORS_PER_BLOCK, SMALL - 32 * SECTORS_PER_BLOCK), 'tail');
			// One read spanning written and unwritten blocks.
			const span = await readBack(store, 4 * SECTORS_PER_BLOCK, 2 * SECTORS_PER_BLOCK);
			expectZeros(span.subarray(0, BLOCK_BYTES), 'span: block 4');
			expectBytes(span.subarray(BLOCK_BYTES), b, 'span: block 5');
		});

		it('round-trips a 6656-byte write at an odd sector spanning 3 blocks', async () => {
			const store = await openStore(SMALL);
			const data = pattern(6656, 4); // 13 sectors at sector 7: blocks 0, 1 and 2
			await store.write(7, data);
			expectBytes(await readBack(store, 7, 13), data, 'exact range');
			const around = await readBack(store, 0, 4 * SECTORS_PER_BLOCK);
			expectZeros(around.subarray(0, 7 * SECTOR_BYTES), 'before');
			expectBytes(around.subarray(7 * SECTOR_BYTES, 20 * SECTOR_BYTES), data, 'inside a wider read');
			expectZeros(around.subarray(20 * SECTOR_BYTES), 'after');
			// Sub-ranges at odd offsets, across the block boundaries.
			for (const [s, n] of [
				[12, 1],
				[8, 8],
				[15, 2],
				[9, 10],
				[5, 5]
			]) {
				const got = await readBack(store, s, n);
				const want = around.subarray(s * SECTOR_BYTES, (s + n) * SECTOR_BYTES);
				expectBytes(got, want, `sectors ${s}+${n}`);
			}
		});

		it('round-trips single-sector writes without disturbing their neighbours', async () => {
			const store = await openStore(SMALL);
			const base = pattern(2 * BLOCK_BYTES, 5);
			await store.write(8, base);
			const expected = base.slice();
			for (const s of [8, 11, 15, 16, 23]) {
				const one = pattern(SECTOR_BYTES, 100 + s);
				await store.write(s, one);
				expected.set(one, (s - 8) * SECTOR_BYTES);
			}
			expectBytes(await readBack(store, 8, 16), expected);
			expectZeros(await readBack(store, 0, 8), 'block 0');
		});

		it('round-trips a large unaligned write', async () => {
			const store = await openStore(SMALL);
			const data = pattern(301 * SECTOR_BYTES, 6);
			await store.write(333, data);
			expectBytes(await readBack(store, 333, 301), data);
			expectZeros(await readBack(store, 0, 333), 'before');
			expectZeros(await readBack(store, 634, SMALL - 634), 'after');
		});

		it('overwrites, aligned and unaligned', async () => {
			const store = await openStore(SMALL);
			const a = pattern(4 * BLOCK_BYTES, 7);
			await store.write(0, a);
			const b = pattern(BLOCK_BYTES, 8);
			await store.write(SECTORS_PER_BLOCK, b);
			const c = pattern(5 * SECTOR_BYTES, 9);
			await store.write(13, c);
			const expected = a.slice();
			expected.set(b, BLOCK_BYTES);
			expected.set(c, 13 * SECTOR_BYTES);
			expectBytes(await readBack(store, 0, 4 * SECTORS_PER_BLOCK), expected);
			// Overwriting with zeros reads as zeros.
			await store.write(0, new Uint8Array(BLOCK_BYTES));
			expectZeros(await readBack(store, 0, SECTORS_PER_BLOCK), 'zeroed block');
		});

		it('unmaps whole blocks: they read as zeros and do not grow the allocation', async () => {
			const store = await openStore(SMALL);
			const data = pattern(3 * BLOCK_BYTES, 10);
			await store.write(8 * SECTORS_PER_BLOCK, data);
			const before = store.allocatedBytes();
			await store.unmap(9 * SECTORS_PER_BLOCK, SECTORS_PER_BLOCK);
			const got = await readBack(store, 8 * SECTORS_PER_BLOCK, 3 * SECTORS_PER_BLOCK);
			expectBytes(got.subarray(0, BLOCK_BYTES), data.subarray(0, BLOCK_BYTES), 'block 8');
			expectZeros(got.subarray(BLOCK_BYTES, 2 * BLOCK_BYTES), 'block 9');
			expectBytes(got.subarray(2 * BLOCK_BYTES), data.subarray(2 * BLOCK_BYTES), 'block 10');
			expect(store.allocatedBytes()).toBeLessThanOrEqual(before);
			// Unmapping what was never written is fine and allocates nothing.
			const quiet = store.allocatedBytes();
			await store.unmap(100 * SECTORS_PER_BLOCK, 20 * SECTORS_PER_BLOCK);
			await store.unmap(3, 9);
			expect(store.allocatedBytes()).toBeLessThanOrEqual(quiet);
			// A block unmapped and written again holds the new data.
			const again = pattern(BLOCK_BYTES, 11);
			await store.write(9 * SECTORS_PER_BLOCK, again);
			expectBytes(await readBack(store, 9 * SECTORS_PER_BLOCK, SECTORS_PER_BLOCK), again, 'rewritten');
		});

		it('unmaps partial blocks: only the unmapped sectors read as zeros', async () => {
			const store = await openStore(SMALL);
			const data = pattern(4 * BLOCK_BYTES, 12);
			await store.write(0, data);
			const expected = data.slice();
			await store.unmap(3, 3); // inside block 0
			expected.fill(0, 3 * SECTOR_BYTES, 6 * SECTOR_BYTES);
			await store.unmap(13, 14); // partial block 1, whole block 2, partial block 3
			expected.fill(0, 13 * SECTOR_BYTES, 27 * SECTOR_BYTES);
			expectBytes(await readBack(store, 0, 4 * SECTORS_PER_BLOCK), expected);
			await store.unmap(0, 0); // empty range: nothing happens
			expectBytes(await readBack(store, 0, 4 * SECTORS_PER_BLOCK), expected, 'after empty unmap');
		});

		it('unmaps the whole disk', async () => {
			const store = await openStore(SMALL);
			await store.write(0, pattern(BLOCK_BYTES, 13));
			await store.write(77, pattern(9 * SECTOR_BYTES, 14));
			await store.write(SMALL - 1, pattern(SECTOR_BYTES, 15));
			await store.unmap(0, SMALL);
			expectZeros(await readBack(store, 0, SMALL));
			expect(store.allocatedBytes()).toBeLessThanOrEqual(BLOCK_BYTES);
		});

		it('handles a capacity that is not a whole number of blocks', async () => {
			const odd = 8 * 10 + 3;
			const store = await openStore(odd);
			expect(store.sectors).toBe(odd);
			const tail = pattern(5 * SECTOR_BYTES, 16);
			await store.write(odd - 5, tail);
			expectBytes(await readBack(store, odd - 5, 5), tail);
			await expectFailure(() => store.write(odd - 2, pattern(3 * SECTOR_BYTES, 17)));
			await store.unmap(odd - 3, 3);
			const got = await readBack(store, odd - 5, 5);
			expectBytes(got.subarray(0, 2 * SECTOR_BYTES), tail.subarray(0, 2 * SECTOR_BYTES), 'kept');
			expectZeros(got.subarray(2 * SECTOR_BYTES), 'unmapped tail');
		});

		it('is thin: a 20 GiB store with 3 blocks written allocates little', async () => {
			const sectors = (20 * GiB) / SECTOR_BYTES;
			const store = await openStore(sectors);
			expect(store.sectors).toBe(sectors);
			expect(store.allocatedBytes()).toBeLessThanOrEqual(64 * 1024);
			const last = sectors - SECTORS_PER_BLOCK;
			const mid = (sectors / 2) | 0;
			await store.write(0, pattern(BLOCK_BYTES, 18));
			await store.write(mid, pattern(BLOCK_BYTES, 19));
			await store.write(last, pattern(BLOCK_BYTES, 20));
			await store.flush();
			const allocated = store.allocatedBytes();
			expect(allocated).toBeGreaterThan(0);
			expect(allocated).toBeLessThanOrEqual(1024 * 1024);
			expectBytes(await readBack(store, mid, SECTORS_PER_BLOCK), pattern(BLOCK_BYTES, 19), 'middle');
			expectBytes(await readBack(store, last, SECTORS_PER_BLOCK), pattern(BLOCK_BYTES, 20), 'last');
			expectZeros(await readBack(store, mid + SECTORS_PER_BLOCK, 64), 'after middle');
		});

		it('grows with resize, keeping data; new space reads as zeros; never shrinks', async () => {
			const store = await openStore(64);
			const tail = pattern(BLOCK_BYTES, 21);
			await store.write(64 - SECTORS_PER_BLOCK, tail);
			await expectFailure(() => store.write(64, pattern(SECTOR_BYTES, 22)));
			await store.resize(200);
			expect(store.sectors).toBe(200);
			expectBytes(await readBack(store, 64 - SECTORS_PER_BLOCK, SECTORS_PER_BLOCK), tail, 'old tail');
			expectZeros(await readBack(store, 64, 136), 'new space');
			const end = pattern(BLOCK_BYTES, 23);
			await store.write(200 - SECTORS_PER_BLOCK, end);
			expectBytes(await readBack(store, 200 - SECTORS_PER_BLOCK, SECTORS_PER_BLOCK), end, 'new tail');
			await expectFailure(() => store.resize(100));
			expect(store.sectors).toBe(200);
			// Growing to 20 GiB stays thin.
			await store.resize((20 * GiB) / SECTOR_BYTES);
			expect(store.allocatedBytes()).toBeLessThanOrEqual(1024 * 1024);
			expectBytes(await readBack(store, 200 - SECTORS_PER_BLOCK, SECTORS_PER_BLOCK), end, 'after big grow');
		});

		it('rejects out-of-range and misaligned requests', async () => {
			const store = await openStore(SMALL);
			await expectFailure(() => store.read(SMALL, new Uint8Array(SECTOR_BYTES)));
			await expectFailure(() => store.read(SMALL - 7, new Uint8Array(BLOCK_BYTES)));
			await expectFailure(() => store.read(-8, new Uint8Array(BLOCK_BYTES)));
			await expectFailure(() => store.write(SMALL - 1, new Uint8Array(2 * SECTOR_BYTES)));
			await expectFailure(() => store.write(0, new Uint8Array(100)));
			await expectFailure(() => store.read(0, new Uint8Array(4000)));
			await expectFailure(() => store.write(1.5, new Uint8Array(SECTOR_BYTES)));
			await expectFailure(() => store.unmap(SMALL - 1, 2));
			expectZeros(await readBack(store, 0, SMALL), 'nothing was written');
		});

		it('never aliases buffers: reads copy out, writes copy in', async () => {
			const store = await openStore(SMALL);
			const aligned = pattern(BLOCK_BYTES, 24);
			const src = aligned.slice();
			await store.write(8, src);
			src.fill(0xee); // the caller reuses its buffer
			const dst = await readBack(store, 8, SECTORS_PER_BLOCK);
			expectBytes(dst, aligned, 'aligned after src mutation');
			dst.fill(0x11); // the caller scribbles on what it read
			expectBytes(await readBack(store, 8, SECTORS_PER_BLOCK), aligned, 'aligned after dst mutation');

			const unaligned = pattern(11 * SECTOR_BYTES, 25);
			const src2 = unaligned.slice();
			await store.write(21, src2);
			src2.fill(0xee);
			const dst2 = await readBack(store, 21, 11);
			expectBytes(dst2, unaligned, 'unaligned after src mutation');
			dst2.fill(0x22);
			expectBytes(await readBack(store, 21, 11), unaligned, 'unaligned after dst mutation');

			// Views into a larger buffer (non-zero byteOffset) are read and written correctly.
			const big = new Uint8Array(3 * BLOCK_BYTES).fill(0x77);
			const view = big.subarray(BLOCK_BYTES, 2 * BLOCK_BYTES);
			await store.read(8, view);
			expectBytes(view, aligned, 'read into a view');
			expect(big[BLOCK_BYTES - 1]).toBe(0x77);
			expect(big[2 * BLOCK_BYTES]).toBe(0x77);
			const srcBig = pattern(3 * BLOCK_BYTES, 26);
			await store.write(40 * SECTORS_PER_BLOCK, srcBig.subarray(BLOCK_BYTES + 512, 2 * BLOCK_BYTES));
			expectBytes(
				await readBack(store, 40 * SECTORS_PER_BLOCK, 7),
				srcBig.subarray(BLOCK_BYTES + 512, 2 * BLOCK_BYTES),
				'write from a view'
			);
		});

		it('flushes, and close is idempotent', async () => {
			const store = await openStore(SMALL);
			await store.write(0, pattern(BLOCK_BYTES, 27));
			await store.flush();
			expectBytes(await readBack(store, 0, SECTORS_PER_BLOCK), pattern(BLOCK_BYTES, 27));
			await store.close();
			await store.close();
		});

		const reopen = options.reopen;
		if (reopen) {
			it('keeps data, capacity and holes across close and reopen', async () => {
				const store = await openStore(SMALL);
				const a = pattern(BLOCK_BYTES, 28);
				const b = pattern(6656, 29);
				await store.write(0, a);
				await store.write(7 + 4 * SECTORS_PER_BLOCK, b);
				await store.write(100, pattern(BLOCK_BYTES, 30));
				await store.unmap(100, SECTORS_PER_BLOCK);
				await store.resize(2 * SMALL);
				await store.write(2 * SMALL - 1, pattern(SECTOR_BYTES, 31));
				await store.flush();
				await store.close();
				const again = await track(reopen(store));
				expect(again.sectors).toBe(2 * SMALL);
				expectBytes(await readBack(again, 0, SECTORS_PER_BLOCK), a, 'block 0');
				expectBytes(await readBack(again, 7 + 4 * SECTORS_PER_BLOCK, 13), b, 'unaligned');
				expectZeros(await readBack(again, 100, SECTORS_PER_BLOCK), 'unmapped');
				expectZeros(await readBack(again, 200, SMALL), 'never written');
				expectBytes(await readBack(again, 2 * SMALL - 1, 1), pattern(SECTOR_BYTES, 31), 'grown tail');
				// And it is writable again.
				await again.write(8, pattern(BLOCK_BYTES, 32));
				expectBytes(await readBack(again, 8, SECTORS_PER_BLOCK), pattern(BLOCK_BYTES, 32), 'rewrite');
			});
		}
	});
}

const ODD_KEYS = [
	'',
	'a',
	'A',
	'a/b',
	'a\\b',
	'../escape',
	'.',
	'..',
	'k_a',
	'tmp.1.2',
	'%41',
	'CON',
	'with space:and*chars?',
	'ü ñ 🐘',
	'x'.repeat(60)
];

export function describeSidecarStore(
	name: string,
	open: () => Awaitable<SidecarStore>,
	options: SidecarSuiteOptions = {}
): void {
	describe(name, () => {
		it('returns undefined for a missing key and lists no keys when empty', async () => {
			const sc = await open();
			expect(await sc.get('missing')).toBeUndefined();
			expect(await sc.keys()).toEqual([]);
		});

		it('round-trips, overwrites and deletes values', async () => {
			const sc = await open();
			await sc.set('state', pattern(100, 1));
			await sc.set('empty', new Uint8Array(0));
			await sc.set('big', pattern(300_000, 2));
			expectBytes((await sc.get('state'))!, pattern(100, 1), 'state');
			expectBytes((await sc.get('empty'))!, new Uint8Array(0), 'empty');
			expectBytes((await sc.get('big'))!, pattern(300_000, 2), 'big');
			await sc.set('state', pattern(7, 3));
			expectBytes((await sc.get('state'))!, pattern(7, 3), 'overwritten');
			expect([...(await sc.keys())].sort()).toEqual(['big', 'empty', 'state']);
			await sc.delete('big');
			await sc.delete('never-set'); // deleting a missing key is a no-op
			expect(await sc.get('big')).toBeUndefined();
			expect([...(await sc.keys())].sort()).toEqual(['empty', 'state']);
		});

		it('copies values in and out', async () => {
			const sc = await open();
			const value = pattern(64, 4);
			await sc.set('v', value);
			value.fill(0);
			const got = (await sc.get('v'))!;
			expectBytes(got, pattern(64, 4), 'after mutating the value set');
			got.fill(0xff);
			expectBytes((await sc.get('v'))!, pattern(64, 4), 'after mutating the value got');
			// A view into a larger buffer stores just the view's bytes.
			const big = pattern(256, 5);
			await sc.set('view', big.subarray(16, 48));
			expectBytes((await sc.get('view'))!, big.subarray(16, 48), 'view');
		});

		it('keeps arbitrary key strings distinct', async () => {
			const sc = await open();
			for (let i = 0; i < ODD_KEYS.length; i++) await sc.set(ODD_KEYS[i], pattern(8 + i, 10 + i));
			for (let i = 0; i < ODD_KEYS.length; i++) {
				expectBytes((await sc.get(ODD_KEYS[i]))!, pattern(8 + i, 10 + i), `key ${JSON.stringify(ODD_KEYS[i])}`);
			}
			expect([...(await sc.keys())].sort()).toEqual([...ODD_KEYS].sort());
		});

		it('stores JSON values through the sidecar-json helpers', async () => {
			const sc = await open();
			const value = { version: 1, map: [1, 2, 3], name: 'wb-cache ✓', nested: { dirty: true } };
			await putJson(sc, 'meta', value);
			expect(await getJson(sc, 'meta')).toEqual(value);
			expect(await getJson(sc, 'absent')).toBeUndefined();
			await sc.set('broken', new Uint8Array([0x7b, 0x22]));
			await expect((async () => getJson(sc, 'broken'))()).rejects.toThrow(/broken/);
		});

		const reopen = options.reopen;
		if (reopen) {
			it('keeps values across a reopen', async () => {
				const sc = await open();
				await sc.set('a', pattern(10, 20));
				await putJson(sc, 'j', { n: 42 });
				const again = await reopen(sc);
				expectBytes((await again.get('a'))!, pattern(10, 20), 'a');
				expect(await getJson(again, 'j')).toEqual({ n: 42 });
				expect([...(await again.keys())].sort()).toEqual(['a', 'j']);
			});
		}
	});
}

export function describeStoreFactory(
	name: string,
	create: () => Awaitable<StoreFactory>,
	options: FactorySuiteOptions = {}
): void {
	describe(name, () => {
		let factory: StoreFactory | undefined;
		let counter = 0;
		const blockNames = new WeakMap<BlockStore, { name: string; sectors: number }>();
		const sidecarNames = new WeakMap<SidecarStore, string>();
		const f = (): StoreFactory => {
			if (!factory) throw new Error('factory not created');
			return factory;
		};

		beforeAll(async () => {
			factory = await create();
		});
		afterAll(async () => {
			if (!factory) return;
			await factory.wipe();
			await options.dispose?.(factory);
		});

		const openNamed = async (n: string, sectors: number): Promise<BlockStore> => {
			const s = await f().openBlockStore(n, sectors);
			blockNames.set(s, { name: n, sectors });
			return s;
		};
		const openSidecarNamed = async (n: string): Promise<SidecarStore> => {
			const s = await f().openSidecar(n);
			sidecarNames.set(s, n);
			return s;
		};

		describeBlockStore('block store', (sectors) => openNamed(`disk-${counter++}`, sectors), {
			reopen: (closed) => {
				const info = blockNames.get(closed);
				if (!info) throw new Error('not opened by this suite');
				return openNamed(info.name, info.sectors);
			}
		});

		describeSidecarStore('sidecar', () => openSidecarNamed(`sidecar-${counter++}`), {
			reopen: (sidecar) => {
				const n = sidecarNames.get(sidecar);
				if (n === undefined) throw new Error('not opened by this suite');
				return openSidecarNamed(n);
			}
		});

		describe('factory', () => {
			it('opens stores of its own kind', async () => {
				const s = await f().openBlockStore('kind-check', 64);
				expect(s.kind).toBe(f().kind);
				await s.close();
			});

			it('keeps names apart, including odd names', async () => {
				const names = ['vm1/disk0', 'vm1\\disk0', 'VM1/DISK0', '../x', 'ü 🐘'];
				const stores: BlockStore[] = [];
				for (let i = 0; i < names.length; i++) {
					const s = await f().openBlockStore(names[i], 64);
					await s.write(0, pattern(BLOCK_BYTES, 40 + i));
					stores.push(s);
				}
				for (let i = 0; i < names.length; i++) {
					expectBytes(await readBack(stores[i], 0, SECTORS_PER_BLOCK), pattern(BLOCK_BYTES, 40 + i), names[i]);
					await stores[i].close();
				}
				const sa = await f().openSidecar('vm1/disk0');
				const sb = await f().openSidecar('VM1/DISK0');
				await sa.set('k', new Uint8Array([1]));
				await sb.set('k', new Uint8Array([2]));
				expect([...((await sa.get('k')) ?? [])]).toEqual([1]);
				expect([...((await sb.get('k')) ?? [])]).toEqual([2]);
			});

			it('reopens a name with the same bytes; a larger capacity grows it, a smaller one is ignored', async () => {
				const s = await f().openBlockStore('regrow', 64);
				await s.write(3, pattern(5 * SECTOR_BYTES, 50));
				await s.close();
				const bigger = await f().openBlockStore('regrow', 256);
				expect(bigger.sectors).toBe(256);
				expectBytes(await readBack(bigger, 3, 5), pattern(5 * SECTOR_BYTES, 50), 'after grow');
				expectZeros(await readBack(bigger, 64, 192), 'grown space');
				await bigger.close();
				const smaller = await f().openBlockStore('regrow', 8);
				expect(smaller.sectors).toBe(256);
				expectBytes(await readBack(smaller, 3, 5), pattern(5 * SECTOR_BYTES, 50), 'after small reopen');
				await smaller.close();
			});

			it('wipe deletes every store and sidecar', async () => {
				const s = await f().openBlockStore('to-wipe', 64);
				await s.write(0, pattern(BLOCK_BYTES, 60));
				await s.close();
				const sc = await f().openSidecar('to-wipe');
				await sc.set('k', pattern(4, 61));
				await f().wipe();
				const s2 = await f().openBlockStore('to-wipe', 64);
				expect(s2.sectors).toBe(64);
				expectZeros(await readBack(s2, 0, 64), 'wiped disk');
				await s2.close();
				const sc2 = await f().openSidecar('to-wipe');
				expect(await sc2.get('k')).toBeUndefined();
				expect(await sc2.keys()).toEqual([]);
			});
		});
	});
}
