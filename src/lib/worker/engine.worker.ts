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
import type { StoreFactory } from '../engine/storage/types';
import type { ControlEvent } from '../engine/filter';

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

async function openStores(choice: StoreChoice): Promise<StoreFactory> {
	// OPFS and IndexedDB factories plug in here (browser-runtime issue); memory is always there.
	if (choice !== 'memory') throw new Error(`the ${choice} store is not available in this build`);
	return new MemoryStoreFactory();
}

async function ensureSession(choice: StoreChoice): Promise<EngineSession> {
	if (!session || choice !== storeChoice) {
		session?.stop();
		storeChoice = choice;
		session = new EngineSession({ registry, stores: await openStores(choice), yieldNow });
	}
	return session;
}

function current(): EngineSession {
	if (!session) throw new Error('no scenario is loaded');
	return session;
}

const registry = builtinRegistry();

const api: EngineApi = {
	catalog() {
		return filterCatalog(registry);
	},
	async load(scenario, store = 'memory') {
		const s = await ensureSession(store);
		return s.load(scenario ?? defaultScenario());
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
		return Comlink.transfer(f, [f.sample.buffer]);
	},
	traceRows(from, count) {
		return current().traceRows(from, count);
	},
	traceRange() {
		return session ? session.traceRange() : { first: 0, end: 0 };
	}
};

Comlink.expose(api);
