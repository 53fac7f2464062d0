/**
 * Share links: the whole playground state in the URL hash as
 * `#s=<version>.<base64url(deflate-raw(JSON))>` (the svelte.dev playground's scheme, versioned).
 * Decoding never trusts the link: its length, the inflated size and the JSON are bounded, every
 * failure names the step and the reason, and older link versions are migrated.
 *
 * fflate gives one synchronous code path in the page, the Worker and Node (the CLI's --link).
 */
import { Inflate, deflateSync, strFromU8, strToU8 } from 'fflate';

/** The link format this build writes. */
export const LINK_VERSION = 2;
/** Longest hash we try to decode (characters). */
export const MAX_LINK_CHARS = 256 * 1024;
/** Largest inflated JSON we accept (bytes): guards against compression bombs. */
export const MAX_JSON_BYTES = 2 * 1024 * 1024;
/** Links longer than this are hard to share (chat apps, some browsers): offer a file instead. */
export const SHARE_LIMIT_CHARS = 8 * 1024;

/** What a link carries (version 2). */
export interface LinkState {
	/** The scenario document (validated by the engine's schema when loaded). */
	scenario: unknown;
	/** Page state that shapes what the viewer sees first. */
	ui?: { speed?: number | null; view?: string; selected?: number };
	/** Custom filters' TypeScript source, by name (run only after the viewer agrees). */
	filters?: { name: string; source: string }[];
}

export class LinkError extends Error {
	override name = 'LinkError';
	constructor(
		readonly step: 'format' | 'base64' | 'inflate' | 'json' | 'version' | 'content',
		reason: string
	) {
		super(`link ${step}: ${reason}`);
	}
}

/** Encodes a state as the hash fragment (without the leading '#'). */
export function encodeLink(state: LinkState): string {
	const json = JSON.stringify(state, (_k, v) => (v === Infinity ? null : v));
	return `s=${LINK_VERSION}.${toBase64Url(deflateSync(strToU8(json), { level: 9 }))}`;
}

/**
 * Decodes a link: a full URL, a hash ('#s=…') or the bare 's=…'. Throws LinkError naming the
 * step that failed; never returns partial state.
 */
export function decodeLink(input: string): LinkState {
	if (typeof input !== 'string') throw new LinkError('format', 'not text');
	if (input.length > MAX_LINK_CHARS) throw new LinkError('format', `${input.length} characters is longer than the ${MAX_LINK_CHARS} a link may have`);
	const hashAt = input.indexOf('#');
	let frag = hashAt >= 0 ? input.slice(hashAt + 1) : input;
	const param = /(?:^|&)s=([^&]*)/.exec(frag);
	if (!param) throw new LinkError('format', 'no "s=" scenario in the link');
	frag = param[1];
	const dot = frag.indexOf('.');
	if (dot <= 0) throw new LinkError('format', 'expected "s=<version>.<data>"');
	const versionText = frag.slice(0, dot);
	if (!/^\d{1,4}$/.test(versionText)) throw new LinkError('version', `"${versionText.slice(0, 12)}" is not a version number`);
	const version = Number(versionText);
	if (version > LINK_VERSION)
		throw new LinkError('version', `the link is version ${version}, made by a newer playground; this one reads versions 1 to ${LINK_VERSION}`);
	if (version < 1) throw new LinkError('version', `version ${version} does not exist`);
	const bytes = fromBase64Url(frag.slice(dot + 1));
	const json = inflateBounded(bytes);
	let value: unknown;
	try {
		value = JSON.parse(json);
	} catch (e) {
		throw new LinkError('json', (e as Error).message);
	}
	return migrate(version, value);
}

/** Older link versions, upgraded one step at a time. */
const MIGRATIONS: Record<number, (v: unknown) => unknown> = {
	// Version 1 links held the bare scenario; version 2 wraps it with page state and filters.
	1: (v) => ({ scenario: v })
};

function migrate(version: number, value: unknown): LinkState {
	let v = value;
	for (let from = version; from < LINK_VERSION; from++) v = MIGRATIONS[from](v);
	if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new LinkError('content', 'the link does not hold an object');
	const s = v as Record<string, unknown>;
	if (!('scenario' in s)) throw new LinkError('content', 'the link has no scenario');
	for (const k of Object.keys(s))
		if (!['scenario', 'ui', 'filters'].includes(k)) throw new LinkError('content', `unknown field "${k.slice(0, 40)}"`);
	if (s.ui !== undefined && (typeof s.ui !== 'object' || s.ui === null || Array.isArray(s.ui)))
		throw new LinkError('content', '"ui" must be an object');
	if (s.filters !== undefined) {
		if (!Array.isArray(s.filters)) throw new LinkError('content', '"filters" must be a list');
		s.filters.forEach((f, i) => {
			if (typeof f !== 'object' || f === null || typeof f.name !== 'string' || typeof f.source !== 'string')
				throw new LinkError('content', `filters[${i}] must have a name and a source`);
		});
	}
	if (s.ui && (s.ui as { speed?: unknown }).speed === null) (s.ui as { speed?: number }).speed = Infinity;
	return s as unknown as LinkState;
}

function inflateBounded(bytes: Uint8Array): string {
	const parts: Uint8Array[] = [];
	let total = 0;
	const inflater = new Inflate((chunk) => {
		total += chunk.length;
		if (total > MAX_JSON_BYTES) throw new LinkError('inflate', `the scenario inflates to more than ${MAX_JSON_BYTES} bytes`);
		parts.push(chunk);
	});
	try {
		// Small pieces, so a compression bomb is stopped early instead of inflated whole.
		const PIECE = 1024;
		for (let i = 0; i < bytes.length; i += PIECE) inflater.push(bytes.subarray(i, i + PIECE), i + PIECE >= bytes.length);
		if (bytes.length === 0) inflater.push(new Uint8Array(0), true);
	} catch (e) {
		if (e instanceof LinkError) throw e;
		throw new LinkError('inflate', `the data is not valid deflate (${(e as Error).message || 'corrupt'})`);
	}
	if (total === 0) throw new LinkError('inflate', 'the data inflates to nothing (truncated?)');
	const all = new Uint8Array(total);
	let off = 0;
	for (const p of parts) {
		all.set(p, off);
		off += p.length;
	}
	try {
		return strFromU8(all);
	} catch {
		throw new LinkError('inflate', 'the data is not UTF-8 text');
	}
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const LOOKUP = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) LOOKUP[ALPHABET.charCodeAt(i)] = i;

export function toBase64Url(bytes: Uint8Array): string {
	let out = '';
	let i = 0;
	for (; i + 2 < bytes.length; i += 3) {
		const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
		out += ALPHABET[n >> 18] + ALPHABET[(n >> 12) & 63] + ALPHABET[(n >> 6) & 63] + ALPHABET[n & 63];
	}
	const rest = bytes.length - i;
	if (rest === 1) {
		const n = bytes[i] << 16;
		out += ALPHABET[n >> 18] + ALPHABET[(n >> 12) & 63];
	} else if (rest === 2) {
		const n = (bytes[i] << 16) | (bytes[i + 1] << 8);
		out += ALPHABET[n >> 18] + ALPHABET[(n >> 12) & 63] + ALPHABET[(n >> 6) & 63];
	}
	return out;
}

export function fromBase64Url(text: string): Uint8Array {
	const clean = text.replace(/=+$/, '');
	if (clean.length % 4 === 1) throw new LinkError('base64', `${clean.length} characters cannot be base64 (truncated?)`);
	const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
	let o = 0;
	let acc = 0;
	let bits = 0;
	for (let i = 0; i < clean.length; i++) {
		const c = clean.charCodeAt(i);
		const v = c < 128 ? LOOKUP[c] : -1;
		if (v < 0) throw new LinkError('base64', `character ${JSON.stringify(clean[i])} at position ${i} is not base64url`);
		acc = (acc << 6) | v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (acc >> bits) & 255;
		}
	}
	return out.subarray(0, o);
}
