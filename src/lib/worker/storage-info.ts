/**
 * The page's side of storage: asking for persistent storage (navigator.storage.persist() exists
 * only on the page, not in a Worker) and formatting the worker's StorageInfo for display.
 */
import { formatBytes } from '../engine/storage/errors';
import type { StorageInfo, StoreChoice } from './api';

export { formatBytes };

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

/** "OPFS · 12.5 MiB of 10 GiB used · persistent". */
export function describeStorage(info: StorageInfo): string {
	const parts = [STORE_LABELS[info.store]];
	if (info.quota > 0) parts.push(`${formatBytes(info.usage)} of ${formatBytes(info.quota)} used`);
	parts.push(info.persisted ? 'persistent' : 'may be evicted under storage pressure');
	return parts.join(' · ');
}
