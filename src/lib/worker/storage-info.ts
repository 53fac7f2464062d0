/**
 * The page's side of storage: which store the page uses (the user's choice, remembered, among
 * those this browser has), asking for persistent storage (navigator.storage.persist() exists
 * only on the page, not in a Worker), formatting the worker's StorageInfo, and the words for a
 * store that cannot be used (full, held by another tab, missing). Pure functions, except
 * requestPersistentStorage.
 */
import { formatBytes } from '../engine/storage/errors';
import type { LoadInfo, StorageInfo, StoreChoice } from './api';

export { formatBytes };

/** localStorage key of the page's store choice (a UI preference, not data). */
export const STORE_PREFERENCE_KEY = 'vaio.store';

const CHOICES: readonly StoreChoice[] = ['opfs', 'idb', 'memory'];

/**
 * Asks the browser to keep this site's storage under storage pressure. Resolves to whether it
 * is persistent now (Chromium decides from engagement and may say no without a prompt).
 */
export async function requestPersistentStorage(): Promise<boolean> {
	const storage = globalThis.navigator?.storage;
	if (!storage?.persist) return false;
	try {
		if (await storage.persisted()) return true;
		return await storage.persist();
	} catch {
		return false;
	}
}

export const STORE_LABELS: Record<StoreChoice, string> = {
	opfs: 'OPFS',
	idb: 'IndexedDB',
	memory: 'memory (lost on reload)'
};

/** Short names, for the selector and the messages. */
export const STORE_NAMES: Record<StoreChoice, string> = { opfs: 'OPFS', idb: 'IndexedDB', memory: 'memory' };

/**
 * The store the page uses: the remembered choice when this browser has it; else the best one
 * offered (OPFS where it exists, else IndexedDB), with a note when a remembered choice is
 * missing here (say, OPFS in a browser without sync access handles).
 */
export function chooseStore(preference: string | null | undefined, available: readonly StoreChoice[]): { store: StoreChoice; note?: string } {
	const best = available.find((s) => s !== 'memory') ?? 'memory';
	const pref = CHOICES.find((c) => c === preference);
	if (!pref) return { store: best };
	if (available.includes(pref)) return { store: pref };
	return {
		store: best,
		note: `${STORE_NAMES[pref]} is not available in this browser, so the disks are kept in ${STORE_NAMES[best]}.`
	};
}

/** "OPFS · 2.5 MiB of 10 GiB used · persistent". */
export function describeStorage(info: StorageInfo): string {
	const parts = [STORE_LABELS[info.store]];
	if (info.quota > 0) parts.push(`${formatBytes(info.usage)} of ${formatBytes(info.quota)} used`);
	parts.push(info.persisted ? 'persistent' : 'may be evicted under storage pressure');
	return parts.join(' · ');
}

/** "2.5 MiB of 10 GiB" (this origin's usage and quota), or '' when the browser does not say. */
export function usageText(info: Pick<StorageInfo, 'usage' | 'quota'>): string {
	return info.quota > 0 ? `${formatBytes(info.usage)} of ${formatBytes(info.quota)}` : '';
}

/** A store that cannot be used, in words for the page, and what the page offers to do. */
export interface StoreProblem {
	title: string;
	/** The problem in a few words, for the status line ("OPFS storage is full"). */
	short: string;
	text: string;
	/** Retry opening the same store (another tab may have closed). */
	retry: boolean;
	/** Offer another store to continue in this tab. */
	fallback?: StoreChoice;
	/** Offer to wipe the disks (storage is full). */
	reset: boolean;
}

/** The page's message for a store fault (by the error's name) on `store`; undefined for other errors. */
export function explainStoreError(name: string | null | undefined, message: string, store: StoreChoice): StoreProblem | undefined {
	const where = STORE_NAMES[store];
	const detail = message.replace(/^The run stopped: /, '');
	switch (name) {
		case 'StoreLockedError':
			return {
				title: `The ${where} disks are open in another tab`,
				short: `the ${where} disks are open in another tab`,
				text: `${sentence(detail)} This tab wrote nothing to them: try again once the other tab is closed, or play in memory here (nothing is kept).`,
				retry: true,
				fallback: 'memory',
				reset: false
			};
		case 'StoreFullError':
			return {
				title: `${where} storage is full: the run stopped`,
				short: `${where} storage is full`,
				text: sentence(detail),
				retry: false,
				fallback: store === 'memory' ? undefined : 'memory',
				reset: true
			};
		case 'StoreUnavailableError':
			return {
				title: `${where} is not available in this browser`,
				short: `${where} is not available in this browser`,
				text: sentence(detail),
				retry: false,
				fallback: store === 'opfs' ? 'idb' : 'memory',
				reset: false
			};
	}
	return undefined;
}

/**
 * What the page says after a load on a persistent store: the disks kept from before (how many
 * blocks the verification state knows), or why the saved ones were wiped. Undefined when there
 * is nothing to say (a fresh start, the memory store).
 */
export function restoreNote(info: Pick<LoadInfo, 'restored' | 'restoredBlocks' | 'discarded'>, store: StoreChoice): { kind: 'info' | 'warn'; text: string } | undefined {
	if (info.discarded) return { kind: 'warn', text: `The disks saved in ${STORE_NAMES[store]} were wiped: ${info.discarded}.` };
	if (info.restored && info.restoredBlocks > 0) {
		const n = info.restoredBlocks.toLocaleString('en-US');
		return { kind: 'info', text: `Disks restored from ${STORE_NAMES[store]}: ${n} written block${info.restoredBlocks === 1 ? '' : 's'}, every read of them verified.` };
	}
	return undefined;
}

/** Capitalised, ending with a full stop. */
function sentence(s: string): string {
	const t = s.trim();
	return t.charAt(0).toUpperCase() + t.slice(1) + (/[.!?]$/.test(t) ? '' : '.');
}
