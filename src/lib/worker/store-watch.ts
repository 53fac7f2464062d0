/**
 * Store faults the page must explain and the run must stop on: a full quota, a store another tab
 * holds, a backend this browser lacks (the errors of engine/storage/errors.ts, told apart by
 * name). Inside a run such an error is only an I/O error to the filter chain (EIO, and the run
 * goes on failing I/O after I/O); `watchStores` wraps a factory so that the session also hears of
 * the first one and can stop the run cleanly, with the disk and the reason, before anything else
 * is written.
 *
 * The wrapper adds one call per store operation; the memory store, which has none of these
 * faults and is the benchmark's hot path, is not wrapped (see EngineSession).
 */
import type { BlockStore, SidecarStore, StoreFactory } from '../engine/storage/types';

/** Names of the store errors that stop a run (see engine/storage/errors.ts). */
export const STORE_FAULTS = ['StoreFullError', 'StoreLockedError', 'StoreUnavailableError'] as const;
export type StoreFaultName = (typeof STORE_FAULTS)[number];

/** A store fault as it crosses to the page (structured-cloneable). */
export interface StoreFault {
	name: StoreFaultName;
	message: string;
}

/** The fault carried by `e`, or undefined when `e` is another kind of error. */
export function storeFault(e: unknown): StoreFault | undefined {
	const name = (e as { name?: unknown } | null)?.name;
	if (typeof name !== 'string' || !(STORE_FAULTS as readonly string[]).includes(name)) return undefined;
	const message = (e as { message?: unknown }).message;
	return { name: name as StoreFaultName, message: typeof message === 'string' ? message : String(e) };
}

/**
 * A factory whose stores report every store fault to `onFault` (and still throw it, so the
 * engine fails that I/O as before). Everything else passes through unchanged, including the
 * factory's own extras (flushAll, closeAll, release) that the session and the worker use.
 */
export function watchStores(inner: StoreFactory, onFault: (f: StoreFault) => void): StoreFactory {
	const seen = (e: unknown): never => {
		const f = storeFault(e);
		if (f) onFault(f);
		throw e;
	};
	/** Runs fn; a fault thrown, or a Promise rejected with one, is reported. */
	const guard = <T>(fn: () => T): T => {
		let r: T;
		try {
			r = fn();
		} catch (e) {
			return seen(e);
		}
		if (r !== undefined && typeof (r as { then?: unknown }).then === 'function') return (r as Promise<unknown>).then(undefined, seen) as T;
		return r;
	};
	const block = (s: BlockStore): BlockStore => ({
		get kind() {
			return s.kind;
		},
		get sectors() {
			return s.sectors;
		},
		read: (sector, dst) => guard(() => s.read(sector, dst)),
		write: (sector, src) => guard(() => s.write(sector, src)),
		unmap: (sector, count) => guard(() => s.unmap(sector, count)),
		flush: () => guard(() => s.flush()),
		allocatedBytes: () => s.allocatedBytes(),
		resize: (sectors) => guard(() => s.resize(sectors)),
		close: () => guard(() => s.close())
	});
	const side = (s: SidecarStore): SidecarStore => ({
		get: (key) => guard(() => s.get(key)),
		set: (key, value) => guard(() => s.set(key, value)),
		delete: (key) => guard(() => s.delete(key)),
		keys: () => guard(() => s.keys())
	});
	// One wrapper per open store, so the engine sees the same object each time it opens a name.
	const blocks = new WeakMap<BlockStore, BlockStore>();
	const wrapBlock = (s: BlockStore) => {
		let w = blocks.get(s);
		if (!w) blocks.set(s, (w = block(s)));
		return w;
	};
	const extras = inner as StoreFactory & { flushAll?: () => unknown; closeAll?: () => unknown; release?: () => unknown };
	return {
		get kind() {
			return inner.kind;
		},
		openBlockStore: (name, sectors) => {
			const r = guard(() => inner.openBlockStore(name, sectors));
			return r instanceof Promise ? r.then(wrapBlock) : wrapBlock(r);
		},
		openSidecar: (name) => {
			const r = guard(() => inner.openSidecar(name));
			return r instanceof Promise ? r.then(side) : side(r);
		},
		wipe: () => guard(() => inner.wipe()),
		...(extras.flushAll ? { flushAll: () => guard(() => extras.flushAll!()) } : {}),
		...(extras.closeAll ? { closeAll: () => guard(() => extras.closeAll!()) } : {}),
		...(extras.release ? { release: () => extras.release!() } : {})
	} as StoreFactory;
}
