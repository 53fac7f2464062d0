/** Cross-tab exclusion for the browser stores (Web Locks), browser-safe and a no-op elsewhere. */

interface LockManagerLike {
	request(
		name: string,
		options: { mode?: 'exclusive' | 'shared'; ifAvailable?: boolean; signal?: AbortSignal },
		callback: (lock: unknown) => unknown
	): Promise<unknown>;
}

/**
 * Takes the exclusive Web Lock `name`; resolves to its release function, or to undefined when
 * another tab (or worker) still holds it after `waitMs`. The short wait covers a reload: the old
 * page's worker may not have released its lock yet when the new one asks. Held until released
 * or until the worker ends (the browser releases a dead context's locks). Without the Web Locks
 * API: a no-op lock.
 */
export async function takeLock(name: string, waitMs = 2000): Promise<(() => void) | undefined> {
	const locks = (globalThis.navigator as { locks?: LockManagerLike } | undefined)?.locks;
	if (!locks) return () => undefined;
	const request = (options: { ifAvailable?: boolean; signal?: AbortSignal }) =>
		new Promise<(() => void) | undefined>((resolve, reject) => {
			locks
				.request(name, { mode: 'exclusive', ...options }, (lock) => {
					if (!lock) {
						resolve(undefined);
						return undefined;
					}
					return new Promise<void>((release) => resolve(() => release()));
				})
				.catch((e: unknown) => ((e as { name?: string })?.name === 'AbortError' ? resolve(undefined) : reject(e)));
		});
	const now = await request({ ifAvailable: true });
	if (now || waitMs <= 0) return now;
	const abort = new AbortController();
	const timer = setTimeout(() => abort.abort(), waitMs);
	try {
		return await request({ signal: abort.signal });
	} finally {
		clearTimeout(timer);
	}
}

/** Waits `ms` milliseconds (wall time; for retries against other tabs, never for the engine's clock). */
export function sleep(ms: number): Promise<void> {
	return new Promise((resolve) => setTimeout(resolve, ms));
}
