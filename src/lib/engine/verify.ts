/**
 * Guest-side verification, like fio's verify: every written 4 KiB block carries the bytes of a
 * content id, regenerated on demand from the id alone (so equal ids are equal bytes, which is
 * what dedup needs). The expected-state map records which content each sector last received;
 * every read is compared byte for byte against it.
 *
 * Sector s of a write carries slice (s % 8) of its block's content, so a sector's bytes depend
 * only on (content id, s % 8) and unaligned writes stay verifiable.
 */
import { SECTOR_BYTES, SECTORS_PER_BLOCK, BLOCK_BYTES } from './io';

/** Content id of a never-written sector: it reads as zeros. */
export const ZERO_CONTENT = 0;
/** The sector's content is unknown (a failed write may or may not have landed): not checked. */
export const UNKNOWN_CONTENT = 0xffffffff;

const WORDS_PER_BLOCK = BLOCK_BYTES / 4;
const WORDS_PER_SECTOR = SECTOR_BYTES / 4;

// A direct-mapped cache of generated patterns: re-reads and duplicate content skip regeneration.
const CACHE_SLOTS = 1024;
const cacheIds = new Uint32Array(CACHE_SLOTS);
const cacheWords = new Uint32Array(CACHE_SLOTS * WORDS_PER_BLOCK);
const cacheBytes = new Uint8Array(cacheWords.buffer);

/** The 4 KiB of content `id` (a view into a shared cache: copy it before the next call). */
export function contentBlock(id: number): Uint8Array {
	const base = contentWordBase(id);
	return cacheBytes.subarray(base * 4, base * 4 + BLOCK_BYTES);
}

/** Index in the pattern cache's words where content `id` starts (generated if needed). */
function contentWordBase(id: number): number {
	const slot = (Math.imul(id, 0x9e3779b1) >>> 22) & (CACHE_SLOTS - 1);
	const base = slot * WORDS_PER_BLOCK;
	if (cacheIds[slot] !== id || id === ZERO_CONTENT) {
		cacheIds[slot] = id;
		if (id === ZERO_CONTENT) cacheWords.fill(0, base, base + WORDS_PER_BLOCK);
		else generate(id, cacheWords, base);
	}
	return base;
}

function generate(id: number, out: Uint32Array, base: number): void {
	let s = (Math.imul(id, 0x9e3779b1) ^ 0x5bd1e995) | 0;
	if (s === 0) s = 1;
	for (let i = 0; i < WORDS_PER_BLOCK; i++) {
		s ^= s << 13;
		s ^= s >>> 17;
		s ^= s << 5;
		out[base + i] = s;
	}
	// Each sector starts with its content id and slot, so a dump of a bad sector names its origin.
	for (let k = 0; k < SECTORS_PER_BLOCK; k++) {
		out[base + k * WORDS_PER_SECTOR] = id;
		out[base + k * WORDS_PER_SECTOR + 1] = k;
	}
}

/** Fills a write buffer for [lba, lba+sectors) from one content id per touched block. */
export function fillWrite(lba: number, sectors: number, contents: Uint32Array, out: Uint8Array): void {
	const firstBlock = Math.floor(lba / SECTORS_PER_BLOCK);
	let s = lba;
	const end = lba + sectors;
	while (s < end) {
		const block = Math.floor(s / SECTORS_PER_BLOCK);
		const slot = s - block * SECTORS_PER_BLOCK;
		const n = Math.min(SECTORS_PER_BLOCK - slot, end - s);
		const src = contentBlock(contents[block - firstBlock]);
		out.set(src.subarray(slot * SECTOR_BYTES, (slot + n) * SECTOR_BYTES), (s - lba) * SECTOR_BYTES);
		s += n;
	}
}

export interface Mismatch {
	/** First sector whose bytes differ. */
	sector: number;
	expectedContent: number;
	/** Content id found in the sector's header word (garbage if the sector is not a pattern). */
	foundContent: number;
	ioId: number;
}

/** The guest's expected state of one disk plus the verification counters. */
export class ExpectedState {
	/** block -> content id of all 8 sectors, or per-sector ids when the block is mixed. */
	private readonly blocks = new Map<number, number | Uint32Array>();
	reads = 0;
	sectorsChecked = 0;
	mismatches = 0;
	firstMismatch: Mismatch | undefined;

	/** Content id expected for one sector. */
	contentOf(sector: number): number {
		const block = Math.floor(sector / SECTORS_PER_BLOCK);
		const v = this.blocks.get(block);
		if (v === undefined) return ZERO_CONTENT;
		return typeof v === 'number' ? v : v[sector - block * SECTORS_PER_BLOCK];
	}

	/** Records an acknowledged write (contents: one id per touched block, as in fillWrite). */
	recordWrite(lba: number, sectors: number, contents: Uint32Array): void {
		const firstBlock = Math.floor(lba / SECTORS_PER_BLOCK);
		this.forEachBlockSpan(lba, sectors, (block, slot, n) => this.set(block, slot, n, contents[block - firstBlock]));
	}

	/** Sectors whose write failed or was unmapped get a known or unknown state. */
	recordFill(lba: number, sectors: number, content: number): void {
		this.forEachBlockSpan(lba, sectors, (block, slot, n) => this.set(block, slot, n, content));
	}

	/** Checks a completed read; returns the number of mismatching sectors. */
	checkRead(lba: number, sectors: number, data: Uint8Array, ioId: number): number {
		this.reads++;
		let bad = 0;
		const aligned = (data.byteOffset & 3) === 0;
		const words = aligned ? new Uint32Array(data.buffer, data.byteOffset, data.byteLength >>> 2) : undefined;
		for (let i = 0; i < sectors; i++) {
			const sector = lba + i;
			const expected = this.contentOf(sector);
			if (expected === UNKNOWN_CONTENT) continue;
			this.sectorsChecked++;
			const slot = sector % SECTORS_PER_BLOCK;
			const base = contentWordBase(expected) + slot * WORDS_PER_SECTOR;
			const same = words
				? wordsEqual(words, i * WORDS_PER_SECTOR, base)
				: bytesEqual(data, i * SECTOR_BYTES, cacheBytes, base * 4);
			if (!same) {
				bad++;
				if (this.firstMismatch === undefined)
					this.firstMismatch = { sector, expectedContent: expected, foundContent: readU32(data, i * SECTOR_BYTES), ioId };
			}
		}
		this.mismatches += bad;
		return bad;
	}

	/** Number of blocks with recorded state (memory use is proportional to blocks touched). */
	get trackedBlocks(): number {
		return this.blocks.size;
	}

	/** Replaces the recorded state with a copy of `other`'s (a snapshot revert, a failover); counters stay. */
	assign(other: ExpectedState): void {
		this.blocks.clear();
		for (const [b, v] of other.blocks) this.blocks.set(b, typeof v === 'number' ? v : v.slice());
	}

	/** A copy of the recorded state (its counters start at zero). */
	copy(): ExpectedState {
		const s = new ExpectedState();
		s.assign(this);
		return s;
	}

	/** Numbers of the blocks with recorded state (written, unmapped in part, or unknown), ascending. */
	blockList(): number[] {
		return [...this.blocks.keys()].sort((a, b) => a - b);
	}

	/** Serialisable form, so the guest's expected state persists with the disks. */
	toJSON(): [number, number | number[]][] {
		return [...this.blocks].map(([b, v]) => [b, typeof v === 'number' ? v : [...v]]);
	}

	static fromJSON(entries: [number, number | number[]][]): ExpectedState {
		const s = new ExpectedState();
		for (const [b, v] of entries) s.blocks.set(b, typeof v === 'number' ? v : Uint32Array.from(v));
		return s;
	}

	private set(block: number, slot: number, n: number, content: number): void {
		if (n === SECTORS_PER_BLOCK) {
			if (content === ZERO_CONTENT) this.blocks.delete(block);
			else this.blocks.set(block, content);
			return;
		}
		let v = this.blocks.get(block);
		if (v === undefined || typeof v === 'number') {
			const arr = new Uint32Array(SECTORS_PER_BLOCK).fill(v ?? ZERO_CONTENT);
			this.blocks.set(block, arr);
			v = arr;
		}
		v.fill(content, slot, slot + n);
		// Collapse back to a single id when all eight sectors agree.
		const first = v[0];
		for (let k = 1; k < SECTORS_PER_BLOCK; k++) if (v[k] !== first) return;
		if (first === ZERO_CONTENT) this.blocks.delete(block);
		else this.blocks.set(block, first);
	}

	private forEachBlockSpan(lba: number, sectors: number, fn: (block: number, slot: number, n: number) => void): void {
		let s = lba;
		const end = lba + sectors;
		while (s < end) {
			const block = Math.floor(s / SECTORS_PER_BLOCK);
			const slot = s - block * SECTORS_PER_BLOCK;
			const n = Math.min(SECTORS_PER_BLOCK - slot, end - s);
			fn(block, slot, n);
			s += n;
		}
	}
}

function wordsEqual(a: Uint32Array, aOff: number, base: number): boolean {
	for (let j = 0; j < WORDS_PER_SECTOR; j++) if (a[aOff + j] !== cacheWords[base + j]) return false;
	return true;
}

function bytesEqual(a: Uint8Array, aOff: number, b: Uint8Array, bOff: number): boolean {
	for (let j = 0; j < SECTOR_BYTES; j++) if (a[aOff + j] !== b[bOff + j]) return false;
	return true;
}

function readU32(a: Uint8Array, off: number): number {
	return (a[off] | (a[off + 1] << 8) | (a[off + 2] << 16) | (a[off + 3] << 24)) >>> 0;
}
