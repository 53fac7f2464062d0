/**
 * Guest-side verification, like fio's verify: every written 4 KiB block carries the bytes of a
 * content id, computed on demand from the id alone (so equal ids are equal bytes, which is what
 * dedup needs). The expected-state map records which content each sector last received; every
 * read is compared byte for byte against it.
 *
 * Sector s of a write carries slice (s % 8) of its block's content, so a sector's bytes depend
 * only on (content id, s % 8) and unaligned writes stay verifiable.
 *
 * As fio's verify header does, each sector starts with a header: the content id and the sector's
 * slot (so a dump of a bad sector names its origin); the rest of the sector is the matching slice
 * of one fixed pseudo-random block. Filling is then one copy plus the headers, and checking one
 * pass over the words, with no pattern to generate per id: the guest writes and checks millions
 * of blocks and this keeps it off the profile. A block served from the wrong place or the wrong
 * time has the wrong header, and any changed byte is a mismatch.
 */
import { SECTOR_BYTES, SECTORS_PER_BLOCK, BLOCK_BYTES } from './io';
import { WINDOW, WINDOW_SECTORS, createSimdChecker, type SimdChecker } from './verify-simd';

/** Content id of a never-written sector: it reads as zeros. */
export const ZERO_CONTENT = 0;
/** The sector's content is unknown (a failed write may or may not have landed): not checked. */
export const UNKNOWN_CONTENT = 0xffffffff;

const WORDS_PER_BLOCK = BLOCK_BYTES / 4;
const WORDS_PER_SECTOR = SECTOR_BYTES / 4;

/**
 * The fixed pseudo-random block every content's body comes from (xorshift32). No 8-byte word of
 * it reads as ±0 or NaN as a float64, so comparing float64 words is comparing bits (see below).
 */
const BASE = new Int32Array(WORDS_PER_BLOCK);
const BASE_BYTES = new Uint8Array(BASE.buffer);
const BASE_F64 = new Float64Array(BASE.buffer);
{
	let s = 0x5bd1e995;
	for (let i = 0; i < WORDS_PER_BLOCK; i++) {
		s ^= s << 13;
		s ^= s >>> 17;
		s ^= s << 5;
		BASE[i] = s;
	}
	for (let i = 0; i < BASE_F64.length; i++) {
		const d = BASE_F64[i];
		if (d === 0 || d !== d) BASE[2 * i + 1] ^= 0x40000000; // a finite, non-zero double
	}
}

/** Typed views over the whole of a buffer, cached for the last buffer asked about. */
let viewBuffer: ArrayBufferLike | undefined;
let viewWords: Int32Array<ArrayBufferLike> = new Int32Array(0);
let viewF64: Float64Array<ArrayBufferLike> = new Float64Array(0);
function viewsOver(bytes: Uint8Array): void {
	if (bytes.buffer !== viewBuffer || viewWords.length === 0) {
		viewBuffer = bytes.buffer;
		viewWords = new Int32Array(bytes.buffer, 0, bytes.buffer.byteLength >>> 2);
		viewF64 = new Float64Array(bytes.buffer, 0, bytes.buffer.byteLength >>> 3);
	}
}

/** Writes sectors [slot, slot+n) of content id into `dst` (8-byte aligned) from byte `at`. */
function fillSectors(dst: Uint8Array, at: number, id: number, slot: number, n: number): void {
	const bytes = n * SECTOR_BYTES;
	if (id === ZERO_CONTENT) {
		dst.fill(0, at, at + bytes);
		return;
	}
	// A whole block (most writes) copies the base block itself: no subarray view to allocate.
	if (bytes === BLOCK_BYTES) dst.set(BASE_BYTES, at);
	else dst.set(BASE_BYTES.subarray(slot * SECTOR_BYTES, slot * SECTOR_BYTES + bytes), at);
	viewsOver(dst);
	const words = viewWords;
	let w = (dst.byteOffset + at) >>> 2;
	const head = id | 0;
	for (let k = slot; k < slot + n; k++, w += WORDS_PER_SECTOR) {
		words[w] = head;
		words[w + 1] = k;
	}
}

/**
 * Whether the sector at word `w` of the current views (see viewsOver; 8-byte aligned) holds
 * sector `slot` of content id: the header as integers, the body as float64 words (half the
 * iterations; exact, as no body word of the base block is ±0 or NaN, the only doubles whose
 * equality is not bitwise).
 */
function sectorMatches(w: number, id: number, slot: number): boolean {
	const words = viewWords;
	// Unrolled: a 4 KiB read checks 1,024 words, and this loop is most of a verified read's cost.
	if (id === ZERO_CONTENT) {
		const end = w + WORDS_PER_SECTOR;
		for (let j = w; j < end; j += 8)
			if ((words[j] | words[j + 1] | words[j + 2] | words[j + 3] | words[j + 4] | words[j + 5] | words[j + 6] | words[j + 7]) !== 0) return false;
		return true;
	}
	if (words[w] !== (id | 0) || words[w + 1] !== slot) return false;
	const f = viewF64;
	const b = BASE_F64;
	// The 63 body doubles after the header, nine at a time.
	let d = (w >>> 1) + 1;
	let s = slot * (SECTOR_BYTES / 8) + 1;
	const end = d + SECTOR_BYTES / 8 - 1;
	for (; d < end; d += 9, s += 9) {
		if (
			f[d] !== b[s] ||
			f[d + 1] !== b[s + 1] ||
			f[d + 2] !== b[s + 2] ||
			f[d + 3] !== b[s + 3] ||
			f[d + 4] !== b[s + 4] ||
			f[d + 5] !== b[s + 5] ||
			f[d + 6] !== b[s + 6] ||
			f[d + 7] !== b[s + 7] ||
			f[d + 8] !== b[s + 8]
		)
			return false;
	}
	return true;
}

const scratch = new Uint8Array(BLOCK_BYTES);

/** The WebAssembly SIMD read check (verify-simd.ts): created on first use; null where unavailable. */
let simd: SimdChecker | null | undefined;
let simdEnabled = true;

function simdChecker(): SimdChecker | null {
	if (simd === undefined) simd = createSimdChecker(BASE_BYTES) ?? null;
	return simdEnabled ? simd : null;
}

/**
 * Chooses how reads are checked: in WebAssembly SIMD where available (the default), or in
 * JavaScript. Returns whether the SIMD check is in use. For tests, which run both.
 */
export function useSimdCheck(on: boolean): boolean {
	simdEnabled = on;
	return simdChecker() !== null;
}

/** The 4 KiB of content `id` (a shared buffer: copy it before the next call). */
export function contentBlock(id: number): Uint8Array {
	fillSectors(scratch, 0, id, 0, SECTORS_PER_BLOCK);
	return scratch;
}

/** Room for unaligned buffers: they are copied here to be filled or checked word by word. */
let bounce = new Uint8Array(BLOCK_BYTES);
function bounceOf(bytes: number): Uint8Array {
	if (bounce.length < bytes) bounce = new Uint8Array(bytes);
	return bounce.subarray(0, bytes);
}

/** Fills a write buffer for [lba, lba+sectors) from one content id per touched block. */
export function fillWrite(lba: number, sectors: number, contents: Uint32Array, out: Uint8Array): void {
	const aligned = (out.byteOffset & 7) === 0;
	const dst = aligned ? out : bounceOf(sectors * SECTOR_BYTES);
	let at = 0;
	const firstBlock = Math.floor(lba / SECTORS_PER_BLOCK);
	let s = lba;
	const end = lba + sectors;
	while (s < end) {
		const block = Math.floor(s / SECTORS_PER_BLOCK);
		const slot = s - block * SECTORS_PER_BLOCK;
		const n = Math.min(SECTORS_PER_BLOCK - slot, end - s);
		fillSectors(dst, at, contents[block - firstBlock], slot, n);
		at += n * SECTOR_BYTES;
		s += n;
	}
	if (!aligned) out.set(dst.subarray(0, out.length));
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
	/**
	 * block -> content id of all 8 sectors, or per-sector ids when the block is mixed. A Map, not
	 * an IntMap: with values of two kinds (numbers and arrays) in one IntMap, the IntMap code that
	 * the guest's busy blocks and the OPFS store's block map share ran slower in Chromium (a
	 * timing-only write 0.79–0.84 µs instead of 0.74–0.78 in three alternating runs).
	 */
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
		this.record(lba, sectors, contents, 0);
	}

	/** Sectors whose write failed or was unmapped get a known or unknown state. */
	recordFill(lba: number, sectors: number, content: number): void {
		this.record(lba, sectors, undefined, content);
	}

	/** Checks a completed read; returns the number of mismatching sectors. */
	checkRead(lba: number, sectors: number, data: Uint8Array, ioId: number): number {
		this.reads++;
		const k = simdChecker();
		const bad = k ? this.checkSimd(k, lba, sectors, data, ioId) : this.checkJs(lba, sectors, data, ioId);
		this.mismatches += bad;
		return bad;
	}

	/** checkRead in WebAssembly: the data is copied to the module's window and checked there. */
	private checkSimd(k: SimdChecker, lba: number, sectors: number, data: Uint8Array, ioId: number): number {
		const check = k.check;
		let bad = 0;
		let i = 0;
		// Sectors [windowFrom, windowEnd) of the read are in the window.
		let windowFrom = 0;
		let windowEnd = 0;
		while (i < sectors) {
			// One map lookup per block: a whole-block entry covers all its sectors.
			const sector = lba + i;
			const block = Math.floor(sector / SECTORS_PER_BLOCK);
			const first = sector - block * SECTORS_PER_BLOCK;
			const n = Math.min(SECTORS_PER_BLOCK - first, sectors - i);
			if (i + n > windowEnd) {
				windowFrom = i;
				windowEnd = i + Math.min(WINDOW_SECTORS, sectors - i);
				k.mem.set(data.subarray(windowFrom * SECTOR_BYTES, windowEnd * SECTOR_BYTES), WINDOW);
			}
			const at = WINDOW + (i - windowFrom) * SECTOR_BYTES;
			const v = this.blocks.get(block);
			if (v === undefined || typeof v === 'number') {
				const expected = v === undefined ? ZERO_CONTENT : v;
				if (expected !== UNKNOWN_CONTENT) {
					this.sectorsChecked += n;
					// Each mismatch found, the check goes on after it: every bad sector is counted.
					for (let from = 0; from < n; ) {
						const r = check(at + from * SECTOR_BYTES, expected | 0, first + from, n - from);
						if (r < 0) break;
						bad++;
						const s = i + from + r;
						this.noteMismatch(lba, s, expected, data, ioId);
						from += r + 1;
					}
				}
				i += n;
				continue;
			}
			for (let j = 0; j < n; j++, i++) {
				const expected = v[first + j];
				if (expected === UNKNOWN_CONTENT) continue;
				this.sectorsChecked++;
				if (check(at + j * SECTOR_BYTES, expected | 0, first + j, 1) < 0) continue;
				bad++;
				this.noteMismatch(lba, i, expected, data, ioId);
			}
		}
		return bad;
	}

	/** Keeps the run's first mismatch: sector i of the read at lba held something else. */
	private noteMismatch(lba: number, i: number, expected: number, data: Uint8Array, ioId: number): void {
		if (this.firstMismatch === undefined)
			this.firstMismatch = { sector: lba + i, expectedContent: expected, foundContent: readU32(data, i * SECTOR_BYTES), ioId };
	}

	/** checkRead in JavaScript, word by word. */
	private checkJs(lba: number, sectors: number, data: Uint8Array, ioId: number): number {
		let bad = 0;
		const aligned = (data.byteOffset & 7) === 0;
		const view = aligned ? data : bounceOf(sectors * SECTOR_BYTES);
		if (!aligned) view.set(data.subarray(0, sectors * SECTOR_BYTES));
		viewsOver(view);
		const base = view.byteOffset >>> 2;
		let i = 0;
		while (i < sectors) {
			// One map lookup per block: a whole-block entry covers all its sectors.
			const sector = lba + i;
			const block = Math.floor(sector / SECTORS_PER_BLOCK);
			const first = sector - block * SECTORS_PER_BLOCK;
			const n = Math.min(SECTORS_PER_BLOCK - first, sectors - i);
			const v = this.blocks.get(block);
			for (let k = first; k < first + n; k++, i++) {
				const expected = v === undefined ? ZERO_CONTENT : typeof v === 'number' ? v : v[k];
				if (expected === UNKNOWN_CONTENT) continue;
				this.sectorsChecked++;
				if (sectorMatches(base + i * WORDS_PER_SECTOR, expected, k)) continue;
				bad++;
				this.noteMismatch(lba, i, expected, data, ioId);
			}
		}
		return bad;
	}

	/** Number of blocks with recorded state (memory use is proportional to blocks touched). */
	get trackedBlocks(): number {
		return this.blocks.size;
	}

	/** Replaces the recorded state with a copy of `other`'s (a snapshot revert, a failover); counters stay. */
	assign(other: ExpectedState): void {
		this.blocks.clear();
		other.blocks.forEach((v, b) => this.blocks.set(b, typeof v === 'number' ? v : v.slice()));
	}

	/** A copy of the recorded state (its counters start at zero). */
	copy(): ExpectedState {
		const s = new ExpectedState();
		s.assign(this);
		return s;
	}

	/** Numbers of the blocks with recorded state (written, unmapped in part, or unknown), ascending. */
	blockList(): number[] {
		const out: number[] = [];
		this.blocks.forEach((_, b) => out.push(b));
		return out.sort((a, b) => a - b);
	}

	/** Serialisable form (blocks ascending), so the guest's expected state persists with the disks. */
	toJSON(): [number, number | number[]][] {
		return this.blockList().map((b) => {
			const v = this.blocks.get(b)!;
			return [b, typeof v === 'number' ? v : [...v]];
		});
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

	/** Sets every block span of [lba, lba+sectors): to contents[block - first block], else to `content`. */
	private record(lba: number, sectors: number, contents: Uint32Array | undefined, content: number): void {
		const firstBlock = Math.floor(lba / SECTORS_PER_BLOCK);
		let s = lba;
		const end = lba + sectors;
		while (s < end) {
			const block = Math.floor(s / SECTORS_PER_BLOCK);
			const slot = s - block * SECTORS_PER_BLOCK;
			const n = Math.min(SECTORS_PER_BLOCK - slot, end - s);
			this.set(block, slot, n, contents ? contents[block - firstBlock] : content);
			s += n;
		}
	}
}

function readU32(a: Uint8Array, off: number): number {
	return (a[off] | (a[off + 1] << 8) | (a[off + 2] << 16) | (a[off + 3] << 24)) >>> 0;
}
