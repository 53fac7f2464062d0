/**
 * The engine's Worker: the whole framework (engine, filters, stores) runs here, never on the
 * page's thread. It exposes one typed API (EngineApi, shared with the page through api.ts) with
 * comlink; frames are pulled by the page once per animation frame and their typed arrays are
 * transferred, not copied.
 */
import * as Comlink from 'comlink';
import { builtinRegistry } from '../filters';
import { filterCatalog } from '../filters/catalog';
import { EngineSession } from './session';
import type { EngineApi, StoreChoice } from './api';
import { defaultScenario } from '../engine/index';
import { MemoryStoreFactory } from '../engine/storage/memory';
import { dropSpareArenas } from '../engine/storage/arena-pool';
import { OpfsStoreFactory, opfsAvailable } from '../engine/storage/opfs';
import { IdbStoreFactory } from '../engine/storage/idb';
import type { StoreFactory } from '../engine/storage/types';
import type { ControlEvent } from '../engine/filter';
import { CustomFilters } from '../sandbox/custom-filters';
import { certify } from '../certify/index';

// A zero-delay yield: setTimeout(0) is clamped to ≥ 4 ms once nested, a MessageChannel is not.
const channel = new MessageChannel();
const waiting: (() => void)[] = [];
channel.port1.onmessage = () => waiting.shift()?.();
const yieldNow = () =>
	new Promise<void>((resolve) => {
		waiting.push(resolve);
		channel.port2.postMessage(0);
	});

let session: EngineSession | undefined;
let storeChoice: StoreChoice = 'memory';

/** The default store here: OPFS where sync access handles exist, else IndexedDB. */
function defaultStore(): StoreChoice {
	return opfsAvailable() ? 'opfs' : 'idb';
}

// One OPFS and one IndexedDB factory for the worker's lifetime: each holds its Web Lock (so a
// second tab gets a clear "open in another tab" error) and its open stores. A failed open is
// forgotten, so it can be retried once the other tab is closed.
const factories = new Map<StoreChoice, Promise<StoreFactory>>();

async function openStores(choice: StoreChoice): Promise<StoreFactory> {
	if (choice === 'memory') return new MemoryStoreFactory();
	let f = factories.get(choice);
	if (!f) {
		f = choice === 'opfs' ? OpfsStoreFactory.create() : IdbStoreFactory.create();
		factories.set(choice, f);
		f.catch(() => factories.delete(choice));
	}
	return f;
}

async function ensureSession(choice: StoreChoice): Promise<EngineSession> {
	if (!session || choice !== storeChoice) {
		const previous = storeChoice;
		if (session) {
			// The old session saves its state, then its store lets go (its Web Lock and its open
			// files), so another tab can open it while this one uses another store.
			const old = session;
			session = undefined;
			await old.close();
			const f = factories.get(previous);
			factories.delete(previous);
			await f?.then((x) => (x as { release?: () => Promise<void> }).release?.()).catch(() => undefined);
		}
		// Memory the disks kept in memory gave back (arena-pool.ts): not needed by disks elsewhere.
		if (choice !== 'memory') dropSpareArenas();
		const stores = await openStores(choice);
		storeChoice = choice;
		session = new EngineSession({ registry, stores, yieldNow });
	}
	return session;
}

function current(): EngineSession {
	if (!session) throw new Error('no scenario is loaded');
	return session;
}

const registry = builtinRegistry();
// Custom filters join the same registry; the built-ins' names stay theirs.
const customFilters = new CustomFilters(registry, new Set(registry.names()));

const api: EngineApi = {
	catalog() {
		return filterCatalog(registry);
	},
	async load(scenario, store = defaultStore(), replay, restore = false) {
		const s = await ensureSession(store);
		return s.load(scenario ?? defaultScenario(), restore, replay);
	},
	async savedSession(store = defaultStore()) {
		if (store === 'memory') return null;
		return (await (await ensureSession(store)).savedSession()) ?? null;
	},
	play() {
		void current().play();
	},
	pause() {
		current().pause();
	},
	stop() {
		current().stop();
	},
	async step() {
		await current().step();
	},
	setSpeed(usPerMs) {
		current().setSpeed(usPerMs);
	},
	async runToEnd() {
		return current().runToEnd();
	},
	result() {
		return current().result();
	},
	async control(diskKey: string | undefined, event: ControlEvent) {
		await current().control(diskKey, event);
	},
	async reset() {
		await session?.reset();
	},
	frame() {
		const f = current().frame();
		return Comlink.transfer(f, [f.sample.buffer, f.live.buffer]);
	},
	traceRows(from, count) {
		return current().traceRows(from, count);
	},
	traceRange() {
		return session ? session.traceRange() : { first: 0, end: 0 };
	},
	traceQuery(q) {
		return session ? session.traceQuery(q) : { total: 0, from: 0, anchorPos: -1, rows: [], held: 0, completed: 0 };
	},
	tracePosition(q, n) {
		return session ? session.tracePosition(q, n) : -1;
	},
	exportTrace(format) {
		return current().exportTrace(format);
	},
	analytics(diskKey) {
		return session ? session.analytics(diskKey) : null;
	},
	async storageInfo() {
		const storage = navigator.storage as StorageManager | undefined;
		const est = await storage?.estimate().catch(() => undefined);
		const persisted = (await storage?.persisted?.().catch(() => false)) ?? false;
		const available: StoreChoice[] = [...(opfsAvailable() ? (['opfs'] as const) : []), 'idb', 'memory'];
		return { store: session ? storeChoice : defaultStore(), persisted, usage: est?.usage ?? 0, quota: est?.quota ?? 0, available };
	},
	installCustomFilter(name, source, ports, options) {
		return customFilters.install(name, source, ports, options);
	},
	customFilterReports() {
		return customFilters.reports();
	},
	clusterView() {
		return session ? session.clusterView() : null;
	},
	clusterOp(req) {
		return current().clusterOp(req);
	},
	replayPush(chunk) {
		return current().replayPush(chunk);
	},
	replayEnd() {
		return current().replayEnd();
	},
	replayStatus() {
		return session ? session.replayStatus() : null;
	},
	async certify(filter, options = {}) {
		const def = registry.get(filter);
		if (!def) throw new Error(`no filter "${filter}" is registered (registered: ${registry.names().join(', ')})`);
		return certify(def, options);
	}
};

Comlink.expose(api);
