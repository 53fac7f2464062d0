/**
 * Errors a store throws for conditions the page must explain in words (not a bug): storage
 * full, a store held by another tab, a backend this browser lacks. The `name` survives
 * comlink's error serialisation, so the page can tell them apart.
 */

/** The origin's storage quota is exhausted; nothing already written was harmed. */
export class StoreFullError extends Error {
	override name = 'StoreFullError';
	constructor(
		message: string,
		readonly usage?: number,
		readonly quota?: number
	) {
		super(message);
	}
}

/** Another tab (or another worker of this tab) has the store open. */
export class StoreLockedError extends Error {
	override name = 'StoreLockedError';
}

/** The backend does not exist in this browser (e.g. no OPFS sync access handles). */
export class StoreUnavailableError extends Error {
	override name = 'StoreUnavailableError';
}

/** 1536 → "1.5 KiB"; binary units, at most one decimal. */
export function formatBytes(bytes: number): string {
	if (!Number.isFinite(bytes)) return String(bytes);
	const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
	let v = bytes;
	let u = 0;
	while (Math.abs(v) >= 1024 && u < units.length - 1) {
		v /= 1024;
		u++;
	}
	return `${u === 0 ? v : v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
}

/** "storage is full: …; this site uses X of Y (Z available)". */
export function fullMessage(what: string, usage?: number, quota?: number, earlier = false): string {
	// A synchronous store cannot ask the browser now; it says its figures are from before.
	const uses = earlier ? 'at the last estimate, this site used' : 'this site uses';
	const where =
		usage !== undefined && quota !== undefined
			? `${uses} ${formatBytes(usage)} of its ${formatBytes(quota)} quota (${formatBytes(Math.max(0, quota - usage))} ${earlier ? 'was ' : ''}available)`
			: 'the browser did not report how much is used';
	return `storage is full: ${what}; ${where}. Nothing written before was lost; free space by resetting the disks or use smaller ones.`;
}

/** True for the DOMException (or error) the browser throws when a quota is exceeded. */
export function isQuotaError(e: unknown): boolean {
	const name = (e as { name?: unknown } | null)?.name;
	return name === 'QuotaExceededError' || (e as { code?: unknown } | null)?.code === 22;
}

/** navigator.storage.estimate(), or undefined where it is missing or fails. */
export async function estimate(): Promise<{ usage: number; quota: number } | undefined> {
	try {
		const e = await globalThis.navigator.storage.estimate();
		return { usage: e.usage ?? 0, quota: e.quota ?? 0 };
	} catch {
		return undefined;
	}
}
