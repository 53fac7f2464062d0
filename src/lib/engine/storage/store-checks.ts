/**
 * The store conformance checks, framework-neutral: named async functions that throw on failure,
 * grouped in suites with optional hooks. The same checks run under vitest in Node (memory and
 * file stores, through `store-suite.ts`, one `it` per check) and in Chromium (OPFS and
 * IndexedDB stores, through `runChecks` in a Worker: see `src/lib/worker/store-checks.worker.ts`).
 * No Node-only imports and no test framework here.
 *
 * Contract checked here, beyond types.ts: lengths are multiples of 512 and ranges lie inside the
 * capacity, otherwise the call throws (or rejects); `resize` to a smaller capacity throws;
 * `close` is idempotent; reopening a name with a smaller capacity keeps the existing one and a
 * larger one grows it; `wipe` is called with every store closed.
 */
import { BLOCK_BYTES, SECTOR_BYTES, SECTORS_PER_BLOCK } from '../io';
import { getJson, putJson } from './sidecar-json';
import type { BlockStore, SidecarStore, StoreFactory } from './types';

export type Awaitable<T> = T | Promise<T>;

/** One named check; it throws (or rejects) on failure. */
export interface StoreCheck {
	name: string;
	run: () => Promise<void>;
}

/** A group of checks (a vitest `describe`), with hooks and nested groups. */
export interface CheckSuite {
	name: string;
	checks: StoreCheck[];
	suites: CheckSuite[];
	beforeAll?: () => Promise<void>;
	afterAll?: () => Promise<void>;
	/** Runs after each check of this suite and of its nested suites. */
	afterEach?: () => Promise<void>;
}

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

/** The failure every check throws: a plain Error with a message that says what differed. */
export class CheckFailure extends Error {
	override name = 'CheckFailure';
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

// ---- assertions (throw CheckFailure) ----

function fail(message: string): never {
	throw new CheckFailure(message);
}

function show(v: unknown): string {
	return typeof v === 'string' ? JSON.stringify(v) : Array.isArray(v) ? JSON.stringify(v) : String(v);
}

export function assert(condition: boolean, message: string): asserts condition {
	if (!condition) fail(message);
}

export function assertEqual(actual: unknown, expected: unknown, what: string): void {
	const same =
		Array.isArray(actual) || Array.isArray(expected) || (typeof actual === 'object' && actual !== null)
			? JSON.stringify(actual) === JSON.stringify(expected)
			: Object.is(actual, expected);
	if (!same) fail(`${what}: expected ${show(expected)}, got ${show(actual)}`);
}

/** Index of the first differing byte (or length mismatch), -1 if equal; cheap on big buffers. */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
	if (a.length !== b.length) return Math.min(a.length, b.length);
	for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
	return -1;
}

export function expectBytes(actual: Uint8Array, expected: Uint8Array, what = 'bytes'): void {
	const at = firstDifference(actual, expected);
	if (at === -1) return;
	if (actual.length !== expected.length) fail(`${what}: length ${actual.length}, expected ${expected.length}`);
	fail(`${what}: first differing byte at ${at} (sector ${Math.floor(at / SECTOR_BYTES)}): ${actual[at]} ≠ ${expected[at]}`);
}

export function expectZeros(actual: Uint8Array, what = 'bytes'): void {
	const at = actual.findIndex((b) => b !== 0);
	if (at !== -1) fail(`${what}: first non-zero byte at ${at} (sector ${Math.floor(at / SECTOR_BYTES)}): ${actual[at]}`);
}

/** Reads `sectors` sectors at `sector` into a fresh buffer pre-filled with garbage. */
export async function readBack(store: BlockStore, sector: number, sectors: number): Promise<Uint8Array> {
	const dst = new Uint8Array(sectors * SECTOR_BYTES).fill(0xa5);
	await store.read(sector, dst);
	return dst;
}

/** Passes when `fn` throws or rejects (with a message matching `re`, when given). */
export async function expectFailure(fn: () => unknown, re?: RegExp, what = 'the call'): Promise<void> {
	let error: unknown;
	let threw = false;
	try {
		await fn();
	} catch (e) {
		threw = true;
		error = e;
	}
	if (!threw) fail(`${what} should have failed`);
	const message = error instanceof Error ? error.message : String(error);
	if (re && !re.test(message)) fail(`${what} failed with "${message}", expected a message matching ${re}`);
}

// ---- suites ----

function suite(name: string): CheckSuite {
	return { name, checks: [], suites: [] };
}

export function blockStoreChecks(
	name: string,
	open: (sectors: number) => Awaitable<BlockStore>,
	options: BlockStoreSuiteOptions = {}
): CheckSuite {
	const s = suite(name);
	const check = (n: string, run: () => Promise<void>) => s.checks.push({ name: n, run });
	let opened: BlockStore[] = [];
	const track = async (p: Awaitable<BlockStore>): Promise<BlockStore> => {
		const store = await p;
		opened.push(store);
		return store;
	};
	const openStore = (sectors: number) => track(open(sectors));

	s.afterEach = async () => {
		const stores = opened;
		opened = [];
		for (const store of stores) {
			try {
				await store.close();
			} catch {
				// already closed or broken by the check; closing is best effort here
			}
		}
	};

	check('has a kind and the requested capacity', async () => {
		const store = await openStore(SMALL);
		assert(['memory', 'file', 'opfs', 'idb'].includes(store.kind), `unknown kind ${store.kind}`);
		assertEqual(store.sectors, SMALL, 'sectors');
	});

	check('reads zeros before any write', async () => {
		const store = await openStore(SMALL);
		expectZeros(await readBack(store, 0, SECTORS_PER_BLOCK), 'first block');
		expectZeros(await readBack(store, 40, 3 * SECTORS_PER_BLOCK), 'aligned multi-block');
		expectZeros(await readBack(store, 13, 21), 'unaligned');
		expectZeros(await readBack(store, SMALL - 1, 1), 'last sector');
		expectZeros(await readBack(store, 0, SMALL), 'whole disk');
	});

	check('round-trips aligned single- and multi-block writes', async () => {
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

	check('round-trips a 6656-byte write at an odd sector spanning 3 blocks', async () => {
		const store = await openStore(SMALL);
		const data = pattern(6656, 4); // 13 sectors at sector 7: blocks 0, 1 and 2
		await store.write(7, data);
		expectBytes(await readBack(store, 7, 13), data, 'exact range');
		const around = await readBack(store, 0, 4 * SECTORS_PER_BLOCK);
		expectZeros(around.subarray(0, 7 * SECTOR_BYTES), 'before');
		expectBytes(around.subarray(7 * SECTOR_BYTES, 20 * SECTOR_BYTES), data, 'inside a wider read');
		expectZeros(around.subarray(20 * SECTOR_BYTES), 'after');
		// Sub-ranges at odd offsets, across the block boundaries.
		for (const [sector, n] of [
			[12, 1],
			[8, 8],
			[15, 2],
			[9, 10],
			[5, 5]
		]) {
			const got = await readBack(store, sector, n);
			const want = around.subarray(sector * SECTOR_BYTES, (sector + n) * SECTOR_BYTES);
			expectBytes(got, want, `sectors ${sector}+${n}`);
		}
	});

	check('round-trips single-sector writes without disturbing their neighbours', async () => {
		const store = await openStore(SMALL);
		const base = pattern(2 * BLOCK_BYTES, 5);
		await store.write(8, base);
		const expected = base.slice();
		for (const sector of [8, 11, 15, 16, 23]) {
			const one = pattern(SECTOR_BYTES, 100 + sector);
			await store.write(sector, one);
			expected.set(one, (sector - 8) * SECTOR_BYTES);
		}
		expectBytes(await readBack(store, 8, 16), expected);
		expectZeros(await readBack(store, 0, 8), 'block 0');
	});

	check('round-trips a large unaligned write', async () => {
		const store = await openStore(SMALL);
		const data = pattern(301 * SECTOR_BYTES, 6);
		await store.write(333, data);
		expectBytes(await readBack(store, 333, 301), data);
		expectZeros(await readBack(store, 0, 333), 'before');
		expectZeros(await readBack(store, 634, SMALL - 634), 'after');
	});

	check('overwrites, aligned and unaligned', async () => {
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

	check('unmaps whole blocks: they read as zeros and do not grow the allocation', async () => {
		const store = await openStore(SMALL);
		const data = pattern(3 * BLOCK_BYTES, 10);
		await store.write(8 * SECTORS_PER_BLOCK, data);
		const before = store.allocatedBytes();
		await store.unmap(9 * SECTORS_PER_BLOCK, SECTORS_PER_BLOCK);
		const got = await readBack(store, 8 * SECTORS_PER_BLOCK, 3 * SECTORS_PER_BLOCK);
		expectBytes(got.subarray(0, BLOCK_BYTES), data.subarray(0, BLOCK_BYTES), 'block 8');
		expectZeros(got.subarray(BLOCK_BYTES, 2 * BLOCK_BYTES), 'block 9');
		expectBytes(got.subarray(2 * BLOCK_BYTES), data.subarray(2 * BLOCK_BYTES), 'block 10');
		assert(store.allocatedBytes() <= before, `allocation grew on unmap: ${before} → ${store.allocatedBytes()}`);
		// Unmapping what was never written is fine and allocates nothing.
		const quiet = store.allocatedBytes();
		await store.unmap(100 * SECTORS_PER_BLOCK, 20 * SECTORS_PER_BLOCK);
		await store.unmap(3, 9);
		assert(store.allocatedBytes() <= quiet, `allocation grew on unmapping holes: ${quiet} → ${store.allocatedBytes()}`);
		// A block unmapped and written again holds the new data.
		const again = pattern(BLOCK_BYTES, 11);
		await store.write(9 * SECTORS_PER_BLOCK, again);
		expectBytes(await readBack(store, 9 * SECTORS_PER_BLOCK, SECTORS_PER_BLOCK), again, 'rewritten');
	});

	check('unmaps partial blocks: only the unmapped sectors read as zeros', async () => {
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

	check('unmaps the whole disk', async () => {
		const store = await openStore(SMALL);
		await store.write(0, pattern(BLOCK_BYTES, 13));
		await store.write(77, pattern(9 * SECTOR_BYTES, 14));
		await store.write(SMALL - 1, pattern(SECTOR_BYTES, 15));
		await store.unmap(0, SMALL);
		expectZeros(await readBack(store, 0, SMALL));
		assert(store.allocatedBytes() <= BLOCK_BYTES, `allocated ${store.allocatedBytes()} after unmapping everything`);
	});

	check('handles a capacity that is not a whole number of blocks', async () => {
		const odd = 8 * 10 + 3;
		const store = await openStore(odd);
		assertEqual(store.sectors, odd, 'sectors');
		const tail = pattern(5 * SECTOR_BYTES, 16);
		await store.write(odd - 5, tail);
		expectBytes(await readBack(store, odd - 5, 5), tail);
		await expectFailure(() => store.write(odd - 2, pattern(3 * SECTOR_BYTES, 17)), undefined, 'a write past the end');
		await store.unmap(odd - 3, 3);
		const got = await readBack(store, odd - 5, 5);
		expectBytes(got.subarray(0, 2 * SECTOR_BYTES), tail.subarray(0, 2 * SECTOR_BYTES), 'kept');
		expectZeros(got.subarray(2 * SECTOR_BYTES), 'unmapped tail');
	});

	check('is thin: a 20 GiB store with 3 blocks written allocates little', async () => {
		const sectors = (20 * GiB) / SECTOR_BYTES;
		const store = await openStore(sectors);
		assertEqual(store.sectors, sectors, 'sectors');
		assert(store.allocatedBytes() <= 64 * 1024, `a fresh store allocates ${store.allocatedBytes()} bytes`);
		const last = sectors - SECTORS_PER_BLOCK;
		const mid = (sectors / 2) | 0;
		await store.write(0, pattern(BLOCK_BYTES, 18));
		await store.write(mid, pattern(BLOCK_BYTES, 19));
		await store.write(last, pattern(BLOCK_BYTES, 20));
		await store.flush();
		const allocated = store.allocatedBytes();
		assert(allocated > 0, 'nothing allocated after writes');
		assert(allocated <= 1024 * 1024, `allocated ${allocated} bytes for 3 blocks`);
		expectBytes(await readBack(store, mid, SECTORS_PER_BLOCK), pattern(BLOCK_BYTES, 19), 'middle');
		expectBytes(await readBack(store, last, SECTORS_PER_BLOCK), pattern(BLOCK_BYTES, 20), 'last');
		expectZeros(await readBack(store, mid + SECTORS_PER_BLOCK, 64), 'after middle');
	});

	check('grows with resize, keeping data; new space reads as zeros; never shrinks', async () => {
		const store = await openStore(64);
		const tail = pattern(BLOCK_BYTES, 21);
		await store.write(64 - SECTORS_PER_BLOCK, tail);
		await expectFailure(() => store.write(64, pattern(SECTOR_BYTES, 22)), undefined, 'a write past the end');
		await store.resize(200);
		assertEqual(store.sectors, 200, 'sectors after grow');
		expectBytes(await readBack(store, 64 - SECTORS_PER_BLOCK, SECTORS_PER_BLOCK), tail, 'old tail');
		expectZeros(await readBack(store, 64, 136), 'new space');
		const end = pattern(BLOCK_BYTES, 23);
		await store.write(200 - SECTORS_PER_BLOCK, end);
		expectBytes(await readBack(store, 200 - SECTORS_PER_BLOCK, SECTORS_PER_BLOCK), end, 'new tail');
		await expectFailure(() => store.resize(100), undefined, 'a shrink');
		assertEqual(store.sectors, 200, 'sectors after a refused shrink');
		// Growing to 20 GiB stays thin.
		await store.resize((20 * GiB) / SECTOR_BYTES);
		assert(store.allocatedBytes() <= 1024 * 1024, `allocated ${store.allocatedBytes()} after growing to 20 GiB`);
		expectBytes(await readBack(store, 200 - SECTORS_PER_BLOCK, SECTORS_PER_BLOCK), end, 'after big grow');
	});

	check('rejects out-of-range and misaligned requests', async () => {
		const store = await openStore(SMALL);
		await expectFailure(() => store.read(SMALL, new Uint8Array(SECTOR_BYTES)), undefined, 'read past the end');
		await expectFailure(() => store.read(SMALL - 7, new Uint8Array(BLOCK_BYTES)), undefined, 'read across the end');
		await expectFailure(() => store.read(-8, new Uint8Array(BLOCK_BYTES)), undefined, 'read at -8');
		await expectFailure(() => store.write(SMALL - 1, new Uint8Array(2 * SECTOR_BYTES)), undefined, 'write across the end');
		await expectFailure(() => store.write(0, new Uint8Array(100)), undefined, 'a 100-byte write');
		await expectFailure(() => store.read(0, new Uint8Array(4000)), undefined, 'a 4000-byte read');
		await expectFailure(() => store.write(1.5, new Uint8Array(SECTOR_BYTES)), undefined, 'a write at sector 1.5');
		await expectFailure(() => store.unmap(SMALL - 1, 2), undefined, 'unmap across the end');
		expectZeros(await readBack(store, 0, SMALL), 'nothing was written');
	});

	check('never aliases buffers: reads copy out, writes copy in', async () => {
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
		assertEqual(big[BLOCK_BYTES - 1], 0x77, 'byte before the view');
		assertEqual(big[2 * BLOCK_BYTES], 0x77, 'byte after the view');
		const srcBig = pattern(3 * BLOCK_BYTES, 26);
		await store.write(40 * SECTORS_PER_BLOCK, srcBig.subarray(BLOCK_BYTES + 512, 2 * BLOCK_BYTES));
		expectBytes(
			await readBack(store, 40 * SECTORS_PER_BLOCK, 7),
			srcBig.subarray(BLOCK_BYTES + 512, 2 * BLOCK_BYTES),
			'write from a view'
		);
	});

	check('flushes, and close is idempotent', async () => {
		const store = await openStore(SMALL);
		await store.write(0, pattern(BLOCK_BYTES, 27));
		await store.flush();
		expectBytes(await readBack(store, 0, SECTORS_PER_BLOCK), pattern(BLOCK_BYTES, 27));
		await store.close();
		await store.close();
	});

	const reopen = options.reopen;
	if (reopen) {
		check('keeps data, capacity and holes across close and reopen', async () => {
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
			assertEqual(again.sectors, 2 * SMALL, 'sectors after reopen');
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
	return s;
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

const sorted = (keys: string[]) => [...keys].sort();

export function sidecarChecks(
	name: string,
	open: () => Awaitable<SidecarStore>,
	options: SidecarSuiteOptions = {}
): CheckSuite {
	const s = suite(name);
	const check = (n: string, run: () => Promise<void>) => s.checks.push({ name: n, run });

	check('returns undefined for a missing key and lists no keys when empty', async () => {
		const sc = await open();
		assertEqual(await sc.get('missing'), undefined, 'get("missing")');
		assertEqual(await sc.keys(), [], 'keys()');
	});

	check('round-trips, overwrites and deletes values', async () => {
		const sc = await open();
		await sc.set('state', pattern(100, 1));
		await sc.set('empty', new Uint8Array(0));
		await sc.set('big', pattern(300_000, 2));
		expectBytes(must(await sc.get('state'), 'state'), pattern(100, 1), 'state');
		expectBytes(must(await sc.get('empty'), 'empty'), new Uint8Array(0), 'empty');
		expectBytes(must(await sc.get('big'), 'big'), pattern(300_000, 2), 'big');
		await sc.set('state', pattern(7, 3));
		expectBytes(must(await sc.get('state'), 'state'), pattern(7, 3), 'overwritten');
		assertEqual(sorted(await sc.keys()), ['big', 'empty', 'state'], 'keys()');
		await sc.delete('big');
		await sc.delete('never-set'); // deleting a missing key is a no-op
		assertEqual(await sc.get('big'), undefined, 'deleted key');
		assertEqual(sorted(await sc.keys()), ['empty', 'state'], 'keys() after delete');
	});

	check('copies values in and out', async () => {
		const sc = await open();
		const value = pattern(64, 4);
		await sc.set('v', value);
		value.fill(0);
		const got = must(await sc.get('v'), 'v');
		expectBytes(got, pattern(64, 4), 'after mutating the value set');
		got.fill(0xff);
		expectBytes(must(await sc.get('v'), 'v'), pattern(64, 4), 'after mutating the value got');
		// A view into a larger buffer stores just the view's bytes.
		const big = pattern(256, 5);
		await sc.set('view', big.subarray(16, 48));
		expectBytes(must(await sc.get('view'), 'view'), big.subarray(16, 48), 'view');
	});

	check('keeps arbitrary key strings distinct', async () => {
		const sc = await open();
		for (let i = 0; i < ODD_KEYS.length; i++) await sc.set(ODD_KEYS[i], pattern(8 + i, 10 + i));
		for (let i = 0; i < ODD_KEYS.length; i++) {
			const key = ODD_KEYS[i];
			expectBytes(must(await sc.get(key), key), pattern(8 + i, 10 + i), `key ${JSON.stringify(key)}`);
		}
		assertEqual(sorted(await sc.keys()), sorted(ODD_KEYS), 'keys()');
	});

	check('stores JSON values through the sidecar-json helpers', async () => {
		const sc = await open();
		const value = { version: 1, map: [1, 2, 3], name: 'wb-cache ✓', nested: { dirty: true } };
		await putJson(sc, 'meta', value);
		assertEqual(await getJson(sc, 'meta'), value, 'getJson("meta")');
		assertEqual(await getJson(sc, 'absent'), undefined, 'getJson("absent")');
		await sc.set('broken', new Uint8Array([0x7b, 0x22]));
		await expectFailure(() => getJson(sc, 'broken'), /broken/, 'getJson("broken")');
	});

	const reopen = options.reopen;
	if (reopen) {
		check('keeps values across a reopen', async () => {
			const sc = await open();
			await sc.set('a', pattern(10, 20));
			await putJson(sc, 'j', { n: 42 });
			const again = await reopen(sc);
			expectBytes(must(await again.get('a'), 'a'), pattern(10, 20), 'a');
			assertEqual(await getJson(again, 'j'), { n: 42 }, 'getJson("j")');
			assertEqual(sorted(await again.keys()), ['a', 'j'], 'keys()');
		});
	}
	return s;
}

function must(value: Uint8Array | undefined, key: string): Uint8Array {
	if (value === undefined) fail(`get(${JSON.stringify(key)}) returned undefined`);
	return value;
}

export function factoryChecks(
	name: string,
	create: () => Awaitable<StoreFactory>,
	options: FactorySuiteOptions = {}
): CheckSuite {
	const s = suite(name);
	let factory: StoreFactory | undefined;
	let counter = 0;
	const blockNames = new WeakMap<BlockStore, { name: string; sectors: number }>();
	const sidecarNames = new WeakMap<SidecarStore, string>();
	const f = (): StoreFactory => {
		if (!factory) throw new Error('factory not created');
		return factory;
	};

	s.beforeAll = async () => {
		factory = await create();
	};
	s.afterAll = async () => {
		if (!factory) return;
		await factory.wipe();
		await options.dispose?.(factory);
	};

	const openNamed = async (n: string, sectors: number): Promise<BlockStore> => {
		const store = await f().openBlockStore(n, sectors);
		blockNames.set(store, { name: n, sectors });
		return store;
	};
	const openSidecarNamed = async (n: string): Promise<SidecarStore> => {
		const sc = await f().openSidecar(n);
		sidecarNames.set(sc, n);
		return sc;
	};

	s.suites.push(
		blockStoreChecks('block store', (sectors) => openNamed(`disk-${counter++}`, sectors), {
			reopen: (closed) => {
				const info = blockNames.get(closed);
				if (!info) throw new Error('not opened by this suite');
				return openNamed(info.name, info.sectors);
			}
		})
	);

	s.suites.push(
		sidecarChecks('sidecar', () => openSidecarNamed(`sidecar-${counter++}`), {
			reopen: (sidecar) => {
				const n = sidecarNames.get(sidecar);
				if (n === undefined) throw new Error('not opened by this suite');
				return openSidecarNamed(n);
			}
		})
	);

	const fs = suite('factory');
	s.suites.push(fs);
	const check = (n: string, run: () => Promise<void>) => fs.checks.push({ name: n, run });

	check('opens stores of its own kind', async () => {
		const store = await f().openBlockStore('kind-check', 64);
		assertEqual(store.kind, f().kind, 'kind');
		await store.close();
	});

	check('keeps names apart, including odd names', async () => {
		const names = ['vm1/disk0', 'vm1\\disk0', 'VM1/DISK0', '../x', 'ü 🐘'];
		const stores: BlockStore[] = [];
		for (let i = 0; i < names.length; i++) {
			const store = await f().openBlockStore(names[i], 64);
			await store.write(0, pattern(BLOCK_BYTES, 40 + i));
			stores.push(store);
		}
		for (let i = 0; i < names.length; i++) {
			expectBytes(await readBack(stores[i], 0, SECTORS_PER_BLOCK), pattern(BLOCK_BYTES, 40 + i), names[i]);
			await stores[i].close();
		}
		const sa = await f().openSidecar('vm1/disk0');
		const sb = await f().openSidecar('VM1/DISK0');
		await sa.set('k', new Uint8Array([1]));
		await sb.set('k', new Uint8Array([2]));
		assertEqual([...((await sa.get('k')) ?? [])], [1], 'sidecar vm1/disk0');
		assertEqual([...((await sb.get('k')) ?? [])], [2], 'sidecar VM1/DISK0');
	});

	check('reopens a name with the same bytes; a larger capacity grows it, a smaller one is ignored', async () => {
		const store = await f().openBlockStore('regrow', 64);
		await store.write(3, pattern(5 * SECTOR_BYTES, 50));
		await store.close();
		const bigger = await f().openBlockStore('regrow', 256);
		assertEqual(bigger.sectors, 256, 'sectors after a larger reopen');
		expectBytes(await readBack(bigger, 3, 5), pattern(5 * SECTOR_BYTES, 50), 'after grow');
		expectZeros(await readBack(bigger, 64, 192), 'grown space');
		await bigger.close();
		const smaller = await f().openBlockStore('regrow', 8);
		assertEqual(smaller.sectors, 256, 'sectors after a smaller reopen');
		expectBytes(await readBack(smaller, 3, 5), pattern(5 * SECTOR_BYTES, 50), 'after small reopen');
		await smaller.close();
	});

	check('wipe deletes every store and sidecar', async () => {
		const store = await f().openBlockStore('to-wipe', 64);
		await store.write(0, pattern(BLOCK_BYTES, 60));
		await store.close();
		const sc = await f().openSidecar('to-wipe');
		await sc.set('k', pattern(4, 61));
		await f().wipe();
		const s2 = await f().openBlockStore('to-wipe', 64);
		assertEqual(s2.sectors, 64, 'sectors of a wiped store');
		expectZeros(await readBack(s2, 0, 64), 'wiped disk');
		await s2.close();
		const sc2 = await f().openSidecar('to-wipe');
		assertEqual(await sc2.get('k'), undefined, 'a wiped sidecar key');
		assertEqual(await sc2.keys(), [], 'keys() of a wiped sidecar');
	});

	return s;
}

// ---- a runner for hosts without a test framework (the browser) ----

export interface CheckResult {
	/** Suite names and the check's name, joined with " > ". */
	name: string;
	ok: boolean;
	error?: string;
	/** Wall time is not read here (engine code); the host may time the whole run. */
}

/**
 * Runs a suite like vitest would: beforeAll, each check followed by the afterEach hooks (inner
 * first), nested suites, afterAll. A failing hook is reported as a failed pseudo-check.
 */
export async function runChecks(
	root: CheckSuite,
	onResult?: (r: CheckResult) => void,
	prefix: string[] = [],
	afterEachHooks: (() => Promise<void>)[] = []
): Promise<CheckResult[]> {
	const results: CheckResult[] = [];
	const path = [...prefix, root.name];
	const report = (r: CheckResult) => {
		results.push(r);
		onResult?.(r);
	};
	const message = (e: unknown) => (e instanceof Error ? `${e.name}: ${e.message}` : String(e));
	const hooks = root.afterEach ? [root.afterEach, ...afterEachHooks] : afterEachHooks;
	try {
		await root.beforeAll?.();
	} catch (e) {
		report({ name: [...path, '(beforeAll)'].join(' > '), ok: false, error: message(e) });
		return results;
	}
	for (const c of root.checks) {
		const name = [...path, c.name].join(' > ');
		let error: string | undefined;
		try {
			await c.run();
		} catch (e) {
			error = message(e);
		}
		for (const h of hooks) {
			try {
				await h();
			} catch (e) {
				error ??= `afterEach: ${message(e)}`;
			}
		}
		report(error === undefined ? { name, ok: true } : { name, ok: false, error });
	}
	for (const child of root.suites) results.push(...(await runChecks(child, onResult, path, hooks)));
	try {
		await root.afterAll?.();
	} catch (e) {
		report({ name: [...path, '(afterAll)'].join(' > '), ok: false, error: message(e) });
	}
	return results;
}
