/**
 * The shared conformance suite for block stores, sidecars and store factories, for vitest. The
 * checks themselves live in `store-checks.ts` (framework-neutral, so the browser runs the very
 * same ones against OPFS and IndexedDB); this module registers each check as one `it`, each
 * group as one `describe`, with the same names as always. Every store call is awaited, so sync
 * and async stores both work.
 *
 * Usage, in a `*.test.ts` beside the backend:
 *   describeBlockStore('MemoryBlockStore', (sectors) => new MemoryBlockStore(sectors));
 *   describeSidecarStore('MemorySidecarStore', () => new MemorySidecarStore());
 *   describeStoreFactory('MemoryStoreFactory', () => new MemoryStoreFactory());
 * `describeStoreFactory` runs the two others through the factory (with reopen tests) plus the
 * factory's own (names, reopen by name, wipe). The contract is documented in store-checks.ts.
 */
import { afterAll, afterEach, beforeAll, describe, it } from 'vitest';
import {
	blockStoreChecks,
	factoryChecks,
	sidecarChecks,
	type Awaitable,
	type BlockStoreSuiteOptions,
	type CheckSuite,
	type FactorySuiteOptions,
	type SidecarSuiteOptions
} from './store-checks';
import type { BlockStore, SidecarStore, StoreFactory } from './types';

export { pattern } from './store-checks';
export type { BlockStoreSuiteOptions, FactorySuiteOptions, SidecarSuiteOptions } from './store-checks';

/** Registers a check suite with vitest: one `describe` per suite, one `it` per check. */
export function describeChecks(suite: CheckSuite): void {
	describe(suite.name, () => {
		if (suite.beforeAll) beforeAll(suite.beforeAll);
		if (suite.afterAll) afterAll(suite.afterAll);
		if (suite.afterEach) afterEach(suite.afterEach);
		for (const c of suite.checks) it(c.name, c.run);
		for (const child of suite.suites) describeChecks(child);
	});
}

export function describeBlockStore(
	name: string,
	open: (sectors: number) => Awaitable<BlockStore>,
	options: BlockStoreSuiteOptions = {}
): void {
	describeChecks(blockStoreChecks(name, open, options));
}

export function describeSidecarStore(
	name: string,
	open: () => Awaitable<SidecarStore>,
	options: SidecarSuiteOptions = {}
): void {
	describeChecks(sidecarChecks(name, open, options));
}

export function describeStoreFactory(
	name: string,
	create: () => Awaitable<StoreFactory>,
	options: FactorySuiteOptions = {}
): void {
	describeChecks(factoryChecks(name, create, options));
}
