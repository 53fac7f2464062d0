/** Store names and keys as file names (file, OPFS) and as IndexedDB key prefixes; browser-safe. */

/**
 * Encodes any string as a file name: UTF-8 bytes in [a-z0-9_-] stay, every other byte becomes
 * `%XX` (uppercase hex). Reversible, never `.`/`..`, no separators, and distinct even on
 * case-insensitive file systems (literal letters are all lowercase). Throws RangeError if the
 * result (plus `prefixLength`) would exceed the usual 255-byte name limit.
 */
export function encodeName(name: string, prefixLength = 0): string {
	let out = '';
	for (const byte of new TextEncoder().encode(name)) {
		const safe =
			(byte >= 0x61 && byte <= 0x7a) || (byte >= 0x30 && byte <= 0x39) || byte === 0x5f || byte === 0x2d;
		out += safe ? String.fromCharCode(byte) : '%' + byte.toString(16).toUpperCase().padStart(2, '0');
	}
	if (out.length + prefixLength > 255) throw new RangeError(`name too long for a file name: "${name}"`);
	return out;
}

export function decodeName(encoded: string): string {
	return decodeURIComponent(encoded);
}

/**
 * Escapes `%` and `:` only (readable, reversible), so that `${escapeKeyPart(name)}:` is a prefix
 * no other name shares: the IndexedDB stores find a store's keys with the key range
 * [`${prefix}:`, `${prefix};`).
 */
export function escapeKeyPart(name: string): string {
	return name.replace(/%/g, '%25').replace(/:/g, '%3A');
}
