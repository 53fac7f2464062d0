/**
 * Integrity across combinations (issue 3): every subset of the six built-in filters (64 chains),
 * with each cache mode and each replication mode where those filters are present, runs a mixed
 * workload with unaligned sizes and duplicate content, verification on. Each combination must
 * show zero mismatches, zero guest errors and no lost acknowledged write:
 *
 *  1. the workload runs (randrw, 512-byte alignment, sizes from 512 B to 64 KiB, 30 % duplicate
 *     blocks, a 2 MiB region so reads find written data; small cache and fast tier, so evictions,
 *     destages and migrations happen);
 *  2. the disk is powered off (a write-back cache destages, dedup persists its map, tiering saves
 *     its placement, replication persists its state);
 *  3. a second Simulation over the same stores, with the same chain and the guest's expected
 *     state carried over, reads the whole region sequentially: every block the guest ever wrote
 *     is read back through a freshly attached chain;
 *  4. with replication in the chain: the second simulation lets replication drain (a restart
 *     resynchronises what the replica may lack), and a third one "fails over": it reads the
 *     region from the replica disk through the filters above replication (their sidecars are the
 *     source's), which must again give the guest's expected state.
 *
 * The combinations are split across several test files (`registerMatrix(part, parts)`), so
 * vitest's workers share them; each combination is its own test, named after its chain and modes.
 */
import { describe, expect, it } from 'vitest';
import { runResult, type RunResult } from '../../src/lib/engine/result';
import { Simulation } from '../../src/lib/engine/simulation';
import { MemoryStoreFactory } from '../../src/lib/engine/storage/memory';
import type { BlockStore, SidecarStore, StoreFactory } from '../../src/lib/engine/storage/types';
import type { ExpectedState } from '../../src/lib/engine/verify';
import { builtinRegistry } from '../../src/lib/filters';
import { drainReplication } from '../../src/lib/filters/replication';

const KEY = 'vm-01/disk-0';
const REGION = 2 * 2 ** 20;
const IOS = 300;
const TIMEOUT = 60_000;

/** The six built-ins in VAIO class order. */
export const FILTERS = ['analytics', 'dedup', 'encryption', 'replication', 'cache', 'tiering'] as const;
export type FilterName = (typeof FILTERS)[number];
export const CACHE_MODES = ['write-through', 'write-back', 'write-around'] as const;
export const REPLICATION_MODES = ['sync', 'async'] as const;

export interface Combination {
	filters: FilterName[];
	cacheMode?: (typeof CACHE_MODES)[number];
	replicationMode?: (typeof REPLICATION_MODES)[number];
}

/** Every subset of the six filters, expanded by cache mode and replication mode (192 runs). */
export function combinations(): Combination[] {
	const out: Combination[] = [];
	for (let mask = 0; mask < 1 << FILTERS.length; mask++) {
		const filters = FILTERS.filter((_, i) => mask & (1 << i));
		const cms = filters.includes('cache') ? CACHE_MODES : [undefined];
		const rms = filters.includes('replication') ? REPLICATION_MODES : [undefined];
		for (const cacheMode of cms)
			for (const replicationMode of rms)
				out.push({ filters, ...(cacheMode ? { cacheMode } : {}), ...(replicationMode ? { replicationMode } : {}) });
	}
	return out;
}

export function label(c: Combination): string {
	const parts = [c.filters.length > 0 ? c.filters.join('+') : 'no filters'];
	if (c.cacheMode) parts.push(`cache ${c.cacheMode}`);
	if (c.replicationMode) parts.push(`replication ${c.replicationMode}`);
	return parts.join(' · ');
}

function attachment(name: FilterName, c: Combination): Record<string, unknown> {
	switch (name) {
		case 'cache':
			// 128 blocks for a 512-block region: evictions (of dirty blocks in write-back) happen.
			return { type: 'cache', params: { mode: c.cacheMode!, capacityMiB: 0.5 } };
		case 'replication':
			return { type: 'replication', params: { mode: c.replicationMode! } };
		case 'tiering':
			// 16 fast slots of 64 KiB for 32 extents: promotions and demotions within the run.
			return { type: 'tiering', params: { extentKiB: 64, fastCapacityMiB: 1, promoteMinHeat: 1, scanIntervalMs: 1 } };
		default:
			return { type: name };
	}
}

function scenario(filters: Record<string, unknown>[], workload: Record<string, unknown>): unknown {
	return {
		version: 1,
		name: 'integrity-matrix',
		seed: 29,
		vms: [{ name: 'vm-01', disks: [{ name: 'disk-0', size: '64m', datastore: { kind: 'nvme' }, policy: { filters }, workload: [workload] }] }]
	};
}

const MIXED = {
	rw: 'randrw',
	rwmixread: 50,
	blockalign: 512,
	size: REGION,
	iodepth: 8,
	ios: IOS,
	dedupePercentage: 30,
	bssplit: [
		{ bs: 512, pct: 15 },
		{ bs: 1536, pct: 15 },
		{ bs: 4096, pct: 30 },
		{ bs: 6656, pct: 20 },
		{ bs: 16384, pct: 15 },
		{ bs: 65536, pct: 5 }
	]
};

const READ_PASS = { rw: 'read', bs: '64k', size: REGION, iodepth: 4, ios: REGION / 65536 };

/** Opens the replica's store as the disk, everything else as given: the failover site. */
class FailoverStores implements StoreFactory {
	readonly kind = 'memory' as const;
	constructor(private readonly inner: MemoryStoreFactory) {}
	openBlockStore(name: string, sectors: number): BlockStore {
		return this.inner.openBlockStore(name === `disk.${KEY}` ? `dev.${KEY}.replication.replica` : name, sectors);
	}
	openSidecar(name: string): SidecarStore {
		return this.inner.openSidecar(name);
	}
	wipe(): void {}
}

function clean(r: RunResult, what: string): void {
	expect(r.errors.count, `${what}: guest errors ${JSON.stringify(r.errors.first.slice(0, 2))}`).toBe(0);
	expect(r.verify.mismatches, `${what}: mismatches ${JSON.stringify(r.verify.firstMismatch)}`).toBe(0);
}

/** Totals over a file's combinations: proof that the interesting paths ran. */
export interface Coverage {
	runs: number;
	readsChecked: number;
	dedupHits: number;
	rmwReads: number;
	destagedBytes: number;
	cacheEvictions: number;
	cacheReadHits: number;
	migrations: number;
	replicaChecks: number;
}

async function readPass(chain: Record<string, unknown>[], stores: StoreFactory, expected: ExpectedState): Promise<Simulation> {
	const sim = await Simulation.create(scenario(chain, READ_PASS), { registry: builtinRegistry(), stores, expected: new Map([[KEY, expected]]) });
	await sim.run();
	return sim;
}

/** Runs one combination through the three steps; returns its counters. */
export async function runCombination(c: Combination, cov: Coverage): Promise<void> {
	const chain = c.filters.map((f) => attachment(f, c));
	const stores = new MemoryStoreFactory();
	// 1. The mixed workload.
	const sim = await Simulation.create(scenario(chain, MIXED), { registry: builtinRegistry(), stores });
	await sim.run();
	const r = runResult(sim);
	clean(r, 'workload');
	expect(r.ios).toBe(IOS);
	expect(r.verify.reads).toBeGreaterThan(0);
	// 2. Power-off: caches destage, metadata is persisted.
	await sim.control(KEY, { type: 'power-off' });
	const off = runResult(sim);
	clean(off, 'power-off');
	if (c.cacheMode === 'write-back') expect(off.filters.cache.dirtyBlocks, 'dirty blocks after power-off').toBe(0);
	// 3. A fresh chain over the same stores reads the whole region back.
	const expected = sim.disk(KEY).expected;
	const checkedBefore = expected.sectorsChecked;
	const sim2 = await readPass(chain, stores, expected);
	const r2 = runResult(sim2);
	clean(r2, 'read-back');
	expect(expected.sectorsChecked - checkedBefore).toBe(REGION / 512);
	// 4. Failover: the replica, read through the filters above replication.
	if (c.replicationMode) {
		await drainReplication(sim2, KEY);
		await sim2.control(KEY, { type: 'power-off' });
		const above = chain.slice(0, c.filters.indexOf('replication'));
		const before = expected.sectorsChecked;
		const r3 = runResult(await readPass(above, new FailoverStores(stores), expected));
		clean(r3, 'failover read of the replica');
		expect(expected.sectorsChecked - before).toBe(REGION / 512);
		cov.replicaChecks++;
	}
	cov.runs++;
	cov.readsChecked += r.verify.reads;
	const f = r.filters;
	cov.dedupHits += Number(f.dedup?.dedupHits ?? 0);
	cov.rmwReads += Number(f.dedup?.rmwReads ?? 0);
	cov.destagedBytes += Number(off.filters.cache?.destagedBytes ?? 0);
	cov.cacheEvictions += Number(f.cache?.evictions ?? 0);
	cov.cacheReadHits += Number(f.cache?.readHits ?? 0);
	cov.migrations += Number(f.tiering?.migrations ?? 0);
}

/** Registers part `part` (0-based) of `parts` of the matrix as one test per combination. */
export function registerMatrix(part: number, parts: number): void {
	const all = combinations();
	const mine = all.filter((_, i) => i % parts === part);
	const cov: Coverage = { runs: 0, readsChecked: 0, dedupHits: 0, rmwReads: 0, destagedBytes: 0, cacheEvictions: 0, cacheReadHits: 0, migrations: 0, replicaChecks: 0 };
	describe(`integrity across combinations (part ${part + 1} of ${parts}: ${mine.length} of ${all.length} runs)`, () => {
		for (const c of mine) it(label(c), { timeout: TIMEOUT }, () => runCombination(c, cov));
		it('exercised dedup, read-modify-write, destage, eviction, cache hits, migration and failover', () => {
			expect(cov.runs).toBe(mine.length);
			expect(cov.readsChecked).toBeGreaterThan(0);
			expect(cov.dedupHits).toBeGreaterThan(0);
			expect(cov.rmwReads).toBeGreaterThan(0);
			expect(cov.destagedBytes).toBeGreaterThan(0);
			expect(cov.cacheEvictions).toBeGreaterThan(0);
			expect(cov.cacheReadHits).toBeGreaterThan(0);
			expect(cov.migrations).toBeGreaterThan(0);
			expect(cov.replicaChecks).toBeGreaterThan(0);
		});
	});
}
