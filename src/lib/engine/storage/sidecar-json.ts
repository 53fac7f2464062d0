/**
 * JSON values in a SidecarStore (UTF-8 via TextEncoder/TextDecoder).
 *
 * Like the stores themselves, these helpers stay synchronous for a synchronous store and return a
 * Promise only when the store does: the result is `T | Promise<T>`. Callers that do not care
 * simply `await` it; the engine's hot paths can test `isPromise` and skip the microtask.
 */
import type { SidecarStore } from './types';

export type MaybePromise<T> = T | Promise<T>;

export function isPromise<T>(value: MaybePromise<T>): value is Promise<T> {
	return typeof (value as { then?: unknown } | null)?.then === 'function';
}

/** Applies `fn` to a value now, or when its Promise settles. */
export function thenMaybe<T, R>(value: MaybePromise<T>, fn: (v: T) => R): MaybePromise<R> {
	return isPromise(value) ? value.then(fn) : fn(value);
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Stores `value` as JSON under `key`. Throws TypeError if `value` has no JSON form (undefined, a function). */
export function putJson(store: SidecarStore, key: string, value: unknown): MaybePromise<void> {
	const text = JSON.stringify(value);
	if (text === undefined) throw new TypeError(`putJson("${key}"): value has no JSON form`);
	return store.set(key, encoder.encode(text));
}

/**
 * Reads the JSON value under `key`, or undefined when the key is absent. The type parameter is
 * not checked: validate the result if it came from an older version. A value that is not valid
 * UTF-8 JSON throws (or rejects) with the key in the message.
 */
export function getJson<T = unknown>(store: SidecarStore, key: string): MaybePromise<T | undefined> {
	return thenMaybe(store.get(key), (bytes) => {
		if (bytes === undefined) return undefined;
		try {
			return JSON.parse(decoder.decode(bytes)) as T;
		} catch (e) {
			throw new SyntaxError(`getJson("${key}"): not a JSON value: ${(e as Error).message}`);
		}
	});
}
