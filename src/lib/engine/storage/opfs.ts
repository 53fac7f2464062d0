/**
 * OPFS stores (the browser default): block stores on FileSystemSyncAccessHandle, which exists only
 * in a dedicated Worker, so every block-store method is synchronous and costs at most one file
 * read or write (a 4 KiB read ≈ 0.6–2.5 µs, a write ≈ 3–20 µs in headless Chromium on a busy
 * 2-core machine: each write also sends the browser process a message, and what that costs
 * depends on how soon the browser gets a CPU; see APPENDS). Sidecars use async file handles.
 *
 * Layout under the factory's root directory (default `vaio/` in the origin's OPFS):
 *   disks/<name>.data     4 KiB slots, appended on a block's first write (never at the disk offset)
 *   disks/<name>.map0|1   the block map (block → slot): a checkpoint followed by a journal
 *   sidecars/<name>/k_<key>   one file per sidecar key, replaced atomically (createWritable)
 * Names and keys are encoded with `encodeName` (any string is a safe, distinct file name).
 *
 * THIN: Chromium's quota counts a file's length, so a 20 GiB disk is not a 20 GiB file. A block's
 * bytes live in a slot of the data file; the map says which. A disk touched in N blocks costs
 * N slots (plus free slots left by unmaps, which later writes reuse, and trailing free slots are
 * truncated away). While a handle is open, Chromium also reserves capacity ahead of a growing
 * file in steps that roughly double (released at close), so a full quota is hit a little early.
 *
 * APPENDS: a block's first write appends a slot. While the appended slots lie inside the grown
 * file (the browser asks no quota for them) they are held in memory, up to STAGE_BYTES, and
 * written out in one piece: when the stage is full, before any read or write that touches the file
 * past it, and at flush. Chromium sends its browser process a message with every sync-handle
 * write, and that costs more than the 4 KiB itself. Reads and overwrites of staged slots use the
 * stage. A whole-block overwrite of a block whose slot is on file goes the same way, to a fresh
 * slot (its old slot is freed once the new mapping is committed): up to MAX_REDIRECTS between two
 * flushes, within the disk's size and only where the file has or can get the room, else in place.
 * Should writing the stage out fail (not for quota: that space is reserved), its blocks are
 * unmapped, as if never written (a redirected overwrite's block goes back to its old slot), and
 * the error is thrown by the call that wrote it out.
 *
 * FULL QUOTA: a refused write throws StoreFullError ("storage is full: …, at the last estimate, this site used X of its
 * Y quota"); a refused first write is cut back from the file and never mapped, so the run can
 * stop with every earlier block intact. ANOTHER TAB: the factory holds the Web Lock
 * `vaio-store:<root>`, and each file's sync handle is exclusive anyway; both refusals become
 * StoreLockedError ("… is open in another tab").
 *
 * CRASH CONSISTENCY (a tab closed mid-run, a browser crash). The rules:
 *  1. Data first: a block's first write goes to a slot no durable map entry references (a fresh
 *     slot at the end, or a slot whose unmap is already durable); the map changes in memory only
 *     after the data write succeeded. Overwrites of a mapped block go in place, or (APPENDS) to a
 *     fresh slot like a first write, the old slot then freed as by an unmap (rule 3).
 *  2. Map changes (new block → slot, unmaps, capacity) are queued and appended to the journal at
 *     flush() as one batch of 16-byte records ending in a commit record (record count, checksum,
 *     generation); the data file is flushed first, then the batch is written and flushed.
 *  3. A slot freed by an unmap is reused only after that unmap is committed, so no durable entry
 *     ever points at a slot holding another block's bytes.
 *  4. When the journal outgrows the live map, the map is rewritten as a checkpoint into the other
 *     map file with the next generation and flushed; only then is the old file truncated. On
 *     open, the valid file with the highest generation wins and its journal is replayed up to the
 *     last intact commit (a torn tail is cut off).
 * So a crash loses at most the map changes since the last flush (blocks first written since then
 * read as before: zeros, or the block's committed slot), never the blocks committed before it;
 * overwrites since then may or may not have reached the file, like any disk's cache (one sent to a
 * fresh slot reads as before).
 *
 * Files are little-endian (Uint32Array on every platform the browsers run on).
 */
import { BLOCK_BYTES, SECTOR_BYTES, SECTORS_PER_BLOCK } from '../io';
import { checkRange, sectorsOf, wholeBlocks } from './range';
import { decodeName, encodeName } from './names';
import { estimate, fullMessage, isQuotaError, StoreFullError, StoreLockedError, StoreUnavailableError } from './errors';
import { sleep, takeLock } from './locks';
import { AppendStage } from './append-stage';
import { IntMap } from '../intmap';
import type { BlockStore, SidecarStore, StoreFactory } from './types';

/** The part of FileSystemSyncAccessHandle the store uses (also implemented by test fakes). */
export interface SyncHandle {
	read(buffer: Uint8Array, options?: { at?: number }): number;
	write(buffer: Uint8Array, options?: { at?: number }): number;
	truncate(size: number): void;
	getSize(): number;
	flush(): void;
	close(): void;
}

export interface OpfsStoreHandles {
	data: SyncHandle;
	map0: SyncHandle;
	map1: SyncHandle;
}

/** What a store asks of its factory (all optional: tests open stores on fake handles). */
export interface OpfsStoreEnv {
	/** The latest storage estimate, for the "storage is full" message. */
	estimate?: () => { usage: number; quota: number } | undefined;
	/** Called after a flush so the factory can refresh its estimate in the background. */
	changed?: () => void;
	/** Called once when the store closes. */
	closed?: (store: OpfsBlockStore) => void;
}

// ---- map file format: 16-byte records of four u32 ----
const REC_WORDS = 4;
const REC_BYTES = 16;
const MAGIC = 0x50414d56; // "VMAP"
const VERSION = 1;
const TAG_MAP = 1; // block lo, block hi, slot
const TAG_UNMAP = 2; // block lo, block hi, 0
const TAG_CAP = 3; // sectors lo, sectors hi, 0
const TAG_COMMIT = 4; // record count, checksum, generation
const TWO32 = 2 ** 32;
/** The journal is folded into a checkpoint when it has more records than this and the live map. */
const COMPACT_MIN_RECORDS = 4096;
/** Smallest step the data file grows by ahead of its slots (see growFile). */
const GROW_MIN_BYTES = 8 << 20;
/** Appended slots held in memory before they are written out together (see APPENDS). */
const STAGE_BYTES = 256 << 10;
/** Overwrites redirected to fresh slots between two flushes, at most (16 MiB of slots; see APPENDS). */
const MAX_REDIRECTS = 4096;

/** A 32-bit FNV-style hash of words [from, to), seeded (with the generation). */
function checksum(w: Uint32Array, from: number, to: number, seed: number): number {
	let h = (0x811c9dc5 ^ seed) >>> 0;
	for (let i = from; i < to; i++) {
		h = Math.imul(h ^ w[i], 0x01000193);
		h ^= h >>> 15;
	}
	return h >>> 0;
}

interface ParsedMap {
	generation: number;
	map: IntMap;
	capacity: number;
	/** Bytes of the valid prefix (header and intact batches). */
	end: number;
	/** Records after the checkpoint batch (the journal's length). */
	journalRecords: number;
}

/** Reads a map file; undefined unless its header and at least its checkpoint batch are intact. */
function parseMapFile(h: SyncHandle): ParsedMap | undefined {
	const size = h.getSize();
	if (size < 2 * REC_BYTES) return undefined;
	const bytes = new Uint8Array(size - (size % REC_BYTES));
	const got = h.read(bytes, { at: 0 });
	const w = new Uint32Array(bytes.buffer, 0, Math.floor(got / REC_BYTES) * REC_WORDS);
	if (w.length < 2 * REC_WORDS || w[0] !== MAGIC || w[1] !== VERSION || w[3] !== checksum(w, 0, 3, 0)) return undefined;
	const generation = w[2];
	const map = new IntMap();
	let capacity = 0;
	let batches = 0;
	let journalRecords = 0;
	let start = REC_WORDS;
	for (;;) {
		let p = start;
		while (p < w.length && (w[p] === TAG_MAP || w[p] === TAG_UNMAP || w[p] === TAG_CAP)) p += REC_WORDS;
		if (p >= w.length || w[p] !== TAG_COMMIT) break;
		const count = (p - start) / REC_WORDS;
		if (w[p + 1] !== count || w[p + 2] !== checksum(w, start, p, generation) || w[p + 3] !== generation) break;
		for (let q = start; q < p; q += REC_WORDS) {
			const a = w[q + 1] + w[q + 2] * TWO32;
			if (w[q] === TAG_MAP) map.set(a, w[q + 3]);
			else if (w[q] === TAG_UNMAP) map.delete(a);
			else capacity = a;
		}
		if (batches > 0) journalRecords += count;
		batches++;
		start = p + REC_WORDS;
	}
	if (batches === 0) return undefined;
	return { generation, map, capacity, end: start * 4, journalRecords };
}

function header(w: Uint32Array, generation: number): void {
	w[0] = MAGIC;
	w[1] = VERSION;
	w[2] = generation;
	w[3] = checksum(w, 0, 3, 0);
}

let zeroBlock: Uint8Array | undefined;
let scratchBlock: Uint8Array | undefined;

/**
 * A thin block store in OPFS: a data file of 4 KiB slots and a block map (see the file comment).
 * Open it through `OpfsStoreFactory`, or on any SyncHandle triple with `OpfsBlockStore.open`.
 */
export class OpfsBlockStore implements BlockStore {
	readonly kind = 'opfs' as const;
	private capacity: number;
	/** Block → slot: a typed-array hash map (a lookup on every I/O, an insert on every first write). */
	private readonly blocks: IntMap;
	/** Slots free for reuse now (their unmap is durable). */
	private readonly free = new Set<number>();
	/** Slots freed since the last commit: reusable only after it. */
	private pendingFree: number[] = [];
	/** Slots in the data file (its length / 4 KiB as this store manages it). */
	private slotCount: number;
	/**
	 * Bytes the data file has. It grows ahead of the slots in steps (see appendSlots): a write
	 * that extends a file asks the browser for quota, which costs more than the write itself.
	 * Slots past slotCount are unreferenced; open and flush cut them off.
	 */
	private fileEnd = 0;
	/** Map changes since the last commit, as record words. */
	private pending: number[] = [];
	private active: SyncHandle;
	private other: SyncHandle;
	private generation: number;
	private journalEnd: number;
	private journalRecords: number;
	private dataDirty = false;
	private isClosed = false;
	private readonly at = { at: 0 };
	/** Appended slots not yet written to the data file (see APPENDS). */
	private readonly stage = new AppendStage(STAGE_BYTES);
	/** Overwrites redirected through the stage since it was last written out: block, old slot, new slot. */
	private redirects: number[] = [];
	/** Overwrites redirected since the last flush (their old slots wait in pendingFree). */
	private redirected = 0;

	private constructor(
		readonly name: string,
		private readonly handles: OpfsStoreHandles,
		sectors: number,
		private readonly env: OpfsStoreEnv
	) {
		if (!Number.isSafeInteger(sectors) || sectors < 0) throw new RangeError(`bad capacity ${sectors}`);
		const { data, map0, map1 } = handles;
		const a = parseMapFile(map0);
		const b = parseMapFile(map1);
		const best = a && b ? (b.generation > a.generation ? b : a) : (a ?? b);
		if (!best) {
			// A new store (or one whose map never reached a checkpoint: nothing in it is durable).
			this.blocks = new IntMap();
			this.capacity = sectors;
			this.active = map0;
			this.other = map1;
			this.generation = 0;
			this.journalEnd = 0;
			this.journalRecords = 0;
			this.slotCount = 0;
			data.truncate(0);
			this.fileEnd = 0;
			map1.truncate(0);
			this.journalEnd = this.checkpoint(map0, 1);
			return;
		}
		this.blocks = best.map;
		this.capacity = Math.max(best.capacity, sectors);
		this.generation = best.generation;
		this.active = best === a ? map0 : map1;
		this.other = best === a ? map1 : map0;
		this.journalEnd = best.end;
		this.journalRecords = best.journalRecords;
		if (this.active.getSize() !== best.end) this.active.truncate(best.end); // a torn batch
		// Slots: every slot below the highest referenced one that no block uses is free; slots
		// past it (appended but never committed) are cut off.
		let top = -1;
		this.blocks.forEach((slot) => {
			if (slot > top) top = slot;
		});
		this.slotCount = top + 1;
		const used = new Uint8Array(this.slotCount);
		this.blocks.forEach((slot) => {
			used[slot] = 1;
		});
		for (let s = 0; s < this.slotCount; s++) if (used[s] === 0) this.free.add(s);
		if (data.getSize() > this.slotCount * BLOCK_BYTES) data.truncate(this.slotCount * BLOCK_BYTES);
		this.fileEnd = this.slotCount * BLOCK_BYTES;
		if (this.capacity !== best.capacity) this.queue(TAG_CAP, this.capacity, 0);
	}

	/** Opens a store on three sync handles (the factory's way, and the tests'). */
	static open(name: string, handles: OpfsStoreHandles, sectors: number, env: OpfsStoreEnv = {}): OpfsBlockStore {
		return new OpfsBlockStore(name, handles, sectors, env);
	}

	get sectors(): number {
		return this.capacity;
	}

	get closed(): boolean {
		return this.isClosed;
	}

	private live(what: string): void {
		if (this.isClosed) throw new Error(`${what}: disk "${this.name}" is closed`);
	}

	// ---- I/O ----

	read(sector: number, dst: Uint8Array): void {
		if (
			dst.length === BLOCK_BYTES &&
			sector % SECTORS_PER_BLOCK === 0 &&
			sector >= 0 &&
			sector + SECTORS_PER_BLOCK <= this.capacity &&
			!this.isClosed
		) {
			const slot = this.blocks.get(sector / SECTORS_PER_BLOCK);
			if (slot === undefined) dst.fill(0);
			else this.readAt(dst, slot * BLOCK_BYTES);
			return;
		}
		this.live('read');
		const n = sectorsOf('read', dst);
		checkRange('read', sector, n, this.capacity);
		const total = dst.length;
		let off = 0;
		let s = sector;
		while (off < total) {
			const block = Math.floor(s / SECTORS_PER_BLOCK);
			const inBlock = (s - block * SECTORS_PER_BLOCK) * SECTOR_BYTES;
			let len = Math.min(BLOCK_BYTES - inBlock, total - off);
			const slot = this.blocks.get(block);
			if (slot === undefined) {
				dst.fill(0, off, off + len);
			} else {
				// Coalesce whole blocks that sit in consecutive slots into one read.
				let next = block + 1;
				if (inBlock === 0 && len === BLOCK_BYTES) {
					while (off + len + BLOCK_BYTES <= total && this.blocks.get(next) === slot + (next - block)) {
						len += BLOCK_BYTES;
						next++;
					}
				}
				this.readAt(dst.subarray(off, off + len), slot * BLOCK_BYTES + inBlock);
			}
			off += len;
			s += len / SECTOR_BYTES;
		}
	}

	write(sector: number, src: Uint8Array): void {
		this.live('write');
		if (src.length === BLOCK_BYTES && sector % SECTORS_PER_BLOCK === 0 && sector >= 0 && sector + SECTORS_PER_BLOCK <= this.capacity) {
			const block = sector / SECTORS_PER_BLOCK;
			const slot = this.blocks.get(block);
			if (slot === undefined) this.writeNew(block, src);
			else if (!this.redirect(block, slot, src)) this.writeAt(src, slot * BLOCK_BYTES);
			return;
		}
		const n = sectorsOf('write', src);
		checkRange('write', sector, n, this.capacity);
		const total = src.length;
		let off = 0;
		let s = sector;
		while (off < total) {
			const block = Math.floor(s / SECTORS_PER_BLOCK);
			const inBlock = (s - block * SECTORS_PER_BLOCK) * SECTOR_BYTES;
			let len = Math.min(BLOCK_BYTES - inBlock, total - off);
			const slot = this.blocks.get(block);
			if (inBlock !== 0 || len !== BLOCK_BYTES) {
				if (slot !== undefined) {
					this.writeAt(src.subarray(off, off + len), slot * BLOCK_BYTES + inBlock);
				} else {
					// A new block written in part: the rest of its slot must read as zeros.
					scratchBlock ??= new Uint8Array(BLOCK_BYTES);
					scratchBlock.fill(0);
					scratchBlock.set(src.subarray(off, off + len), inBlock);
					this.writeNew(block, scratchBlock);
				}
			} else if (slot !== undefined) {
				// Whole mapped blocks in consecutive slots: one write.
				let next = block + 1;
				while (off + len + BLOCK_BYTES <= total && this.blocks.get(next) === slot + (next - block)) {
					len += BLOCK_BYTES;
					next++;
				}
				this.writeAt(src.subarray(off, off + len), slot * BLOCK_BYTES);
			} else {
				// Whole new blocks: appended at the end in one write when no free slot is waiting.
				let count = 1;
				if (this.free.size === 0) {
					while (off + (count + 1) * BLOCK_BYTES <= total && !this.blocks.has(block + count)) count++;
				}
				len = count * BLOCK_BYTES;
				if (count === 1) this.writeNew(block, src.subarray(off, off + len));
				else this.appendNew(block, count, src.subarray(off, off + len));
			}
			off += len;
			s += len / SECTOR_BYTES;
		}
	}

	/**
	 * Deallocates: a whole block leaves the map (its slot is reused after the next flush); a
	 * partly covered one has the covered sectors zeroed in place. The partial last block of a
	 * capacity that is not a multiple of 8 sectors counts as whole when the range reaches it.
	 */
	unmap(sector: number, count: number): void {
		this.live('unmap');
		checkRange('unmap', sector, count, this.capacity);
		if (count === 0 || this.blocks.size === 0) return;
		const end = sector + count;
		const [firstWhole, endWhole] = wholeBlocks(sector, end, this.capacity);
		if (endWhole <= firstWhole) {
			this.zeroPartial(sector, end);
			return;
		}
		this.zeroPartial(sector, firstWhole * SECTORS_PER_BLOCK);
		this.zeroPartial(endWhole * SECTORS_PER_BLOCK, end);
		if (endWhole - firstWhole > this.blocks.size) {
			// Collected first: the map must not change while it is walked.
			const dropped: number[] = [];
			this.blocks.forEach((slot, block) => {
				if (block >= firstWhole && block < endWhole) dropped.push(block, slot);
			});
			for (let i = 0; i < dropped.length; i += 2) this.drop(dropped[i], dropped[i + 1]);
		} else {
			for (let block = firstWhole; block < endWhole; block++) {
				const slot = this.blocks.get(block);
				if (slot !== undefined) this.drop(block, slot);
			}
		}
	}

	/**
	 * Makes everything durable: flushes the data file, appends the queued map changes as one
	 * committed batch, then releases the slots freed since the last flush (and truncates free
	 * slots at the end of the data file). Rewrites the map as a checkpoint when the journal has
	 * grown past the live map.
	 */
	flush(): void {
		this.live('flush');
		this.writeStage();
		if (this.dataDirty) {
			this.handles.data.flush();
			this.dataDirty = false;
		}
		if (this.pending.length > 0) this.commit();
		if (this.pendingFree.length > 0) {
			for (const slot of this.pendingFree) this.free.add(slot);
			this.pendingFree = [];
			this.trimTail();
		}
		this.redirected = 0;
		// What is durable is thin: the file ends at its last slot (it grows ahead again on demand).
		this.trimFile();
		if (this.journalRecords > Math.max(COMPACT_MIN_RECORDS, 2 * this.blocks.size)) this.compact();
		this.env.changed?.();
	}

	/** Bytes the disk's live blocks occupy (4 KiB per mapped block). See also `fileBytes()`. */
	allocatedBytes(): number {
		return this.blocks.size * BLOCK_BYTES;
	}

	/** Bytes of the store's files now (what the browser's quota counts). */
	fileBytes(): number {
		if (this.isClosed) return 0;
		return this.handles.data.getSize() + this.handles.map0.getSize() + this.handles.map1.getSize();
	}

	/** Live blocks (for tests and debugging views). */
	get blockCount(): number {
		return this.blocks.size;
	}

	resize(sectors: number): void {
		this.live('resize');
		if (!Number.isSafeInteger(sectors) || sectors < this.capacity) {
			throw new RangeError(`resize: ${sectors} sectors; a store only grows (now ${this.capacity})`);
		}
		if (sectors === this.capacity) return;
		this.capacity = sectors;
		this.queue(TAG_CAP, sectors, 0);
	}

	/**
	 * Flushes, folds a long journal into a checkpoint, and closes the files. Idempotent; the
	 * files are closed even when the flush fails (then the error is thrown after closing).
	 */
	close(): void {
		if (this.isClosed) return;
		let error: unknown;
		try {
			this.flush();
			if (this.journalRecords > 0 && (this.journalRecords >= COMPACT_MIN_RECORDS || 4 * this.journalRecords >= this.blocks.size)) {
				this.compact();
			}
		} catch (e) {
			error = e;
		}
		this.isClosed = true;
		for (const h of [this.handles.data, this.handles.map0, this.handles.map1]) {
			try {
				h.close();
			} catch {
				// closing is best effort
			}
		}
		this.env.closed?.(this);
		if (error !== undefined) throw error;
	}

	// ---- internals ----

	private readAt(dst: Uint8Array, position: number): void {
		const stage = this.stage;
		if (stage.bytes > 0 && position + dst.length > stage.from) {
			if (stage.holds(position, dst.length)) return stage.read(position, dst);
			this.writeStage();
		}
		this.at.at = position;
		const n = this.handles.data.read(dst, this.at);
		if (n < dst.length) dst.fill(0, Math.max(0, n)); // past the end of the file: never written
	}

	private writeAt(src: Uint8Array, position: number): void {
		const stage = this.stage;
		if (stage.bytes > 0 && position + src.length > stage.from) {
			if (stage.holds(position, src.length)) return stage.write(position, src);
			this.writeStage();
		}
		this.at.at = position;
		let n: number;
		try {
			n = this.handles.data.write(src, this.at);
		} catch (e) {
			if (isQuotaError(e)) throw this.fullError(src.length);
			throw e;
		}
		this.dataDirty = true;
		if (n !== src.length) throw this.fullError(src.length);
	}

	/** First write of a block (exactly 4 KiB): data into a slot no durable entry uses, then map it. */
	private writeNew(block: number, src: Uint8Array): void {
		let slot: number;
		if (this.free.size > 0) {
			slot = this.free.values().next().value as number;
			this.free.delete(slot);
			try {
				this.writeAt(src, slot * BLOCK_BYTES);
			} catch (e) {
				this.free.add(slot);
				throw e;
			}
		} else {
			slot = this.slotCount;
			this.appendSlots(src, 1);
		}
		this.blocks.set(block, slot);
		this.queue(TAG_MAP, block, slot);
	}

	/**
	 * An overwrite of a block whose slot is on file, sent through the stage to a fresh slot (see
	 * APPENDS); the old slot is freed once the new mapping is committed. False when it goes in
	 * place instead: the slot is staged anyway, enough overwrites wait for a flush already, or there
	 * is no room (the file may grow ahead for it, never past the disk's size, and a refused step
	 * leaves the overwrite in place: an overwrite never fails for quota).
	 */
	private redirect(block: number, slot: number, src: Uint8Array): boolean {
		if (this.stage.holds(slot * BLOCK_BYTES, BLOCK_BYTES) || this.redirected >= MAX_REDIRECTS) return false;
		const fresh = this.slotCount;
		const end = (fresh + 1) * BLOCK_BYTES;
		if (end > this.fileEnd) {
			if (end > Math.ceil(this.capacity / SECTORS_PER_BLOCK) * BLOCK_BYTES) return false;
			this.growFile(end);
			if (end > this.fileEnd) return false;
		}
		this.appendSlots(src, 1);
		this.blocks.set(block, fresh);
		this.queue(TAG_MAP, block, fresh);
		this.pendingFree.push(slot);
		this.redirected++;
		this.redirects.push(block, slot, fresh);
		return true;
	}

	/** First write of `count` consecutive blocks, appended as consecutive slots in one write. */
	private appendNew(block: number, count: number, src: Uint8Array): void {
		const first = this.slotCount;
		this.appendSlots(src, count);
		for (let i = 0; i < count; i++) {
			this.blocks.set(block + i, first + i);
			this.queue(TAG_MAP, block + i, first + i);
		}
	}

	/**
	 * Appends whole slots: into the stage when they lie inside the grown file, else written at
	 * once; on failure the file is cut back so a failed write costs nothing.
	 */
	private appendSlots(src: Uint8Array, count: number): void {
		const at = this.slotCount * BLOCK_BYTES;
		if (at + src.length > this.fileEnd) this.growFile(at + src.length);
		if (at + src.length <= this.fileEnd) {
			if (!this.stage.append(at, src)) {
				this.writeStage();
				if (!this.stage.append(at, src)) return this.appendNow(src, count, at); // larger than the stage
			}
			this.slotCount += count;
			return;
		}
		this.writeStage();
		this.appendNow(src, count, at);
	}

	private appendNow(src: Uint8Array, count: number, at: number): void {
		try {
			this.writeAt(src, at);
		} catch (e) {
			try {
				this.handles.data.truncate(at);
				this.fileEnd = at;
			} catch {
				// best effort: the slots past `at` are unreferenced and cut off at the next open
			}
			throw e;
		}
		this.slotCount += count;
	}

	/** Writes the staged slots out; if that fails they are dropped (unstage) and the error thrown. */
	private writeStage(): void {
		const stage = this.stage;
		if (stage.bytes === 0) return;
		const bytes = stage.contents();
		this.at.at = stage.from;
		let n = -1;
		let error: unknown;
		try {
			n = this.handles.data.write(bytes, this.at);
		} catch (e) {
			error = e;
		}
		if (n === bytes.length) {
			this.dataDirty = true;
			stage.clear();
			this.redirects.length = 0;
			return;
		}
		this.unstage();
		throw error === undefined || isQuotaError(error) ? this.fullError(bytes.length) : error;
	}

	/**
	 * Forgets the staged slots, whose bytes never reached the file: their blocks leave the map
	 * (with their queued map records), so they read as they did before their first write; a
	 * redirected overwrite's block goes back to its old slot, which still holds its old bytes.
	 */
	private unstage(): void {
		const first = this.stage.from / BLOCK_BYTES;
		this.stage.clear();
		const back: number[] = [];
		const r = this.redirects;
		for (let i = 0; i < r.length; i += 3) if (r[i + 2] >= first && this.blocks.get(r[i]) === r[i + 2]) back.push(r[i], r[i + 1]);
		this.redirects = [];
		const gone: number[] = [];
		this.blocks.forEach((slot, block) => {
			if (slot >= first) gone.push(block);
		});
		for (const block of gone) this.blocks.delete(block);
		const restored = new Set<number>();
		for (let i = 0; i < back.length; i += 2) {
			this.blocks.set(back[i], back[i + 1]);
			restored.add(back[i + 1]);
		}
		const kept: number[] = [];
		const p = this.pending;
		for (let i = 0; i < p.length; i += REC_WORDS)
			if (p[i] !== TAG_MAP || p[i + 3] < first) kept.push(p[i], p[i + 1], p[i + 2], p[i + 3]);
		this.pending = kept;
		this.pendingFree = this.pendingFree.filter((slot) => slot < first && !restored.has(slot));
		this.slotCount = first;
		try {
			this.handles.data.truncate(first * BLOCK_BYTES);
			this.fileEnd = first * BLOCK_BYTES;
		} catch {
			// best effort: slots past slotCount are unreferenced and cut off at the next flush or open
		}
	}

	/**
	 * Grows the data file to at least `needed` bytes, by a quarter of its size and at least
	 * GROW_MIN_BYTES (up to the disk's size), so appends land inside the file. When the quota refuses the step, the file
	 * is left as it is and the write extends it by just what it needs (and fails if that too is
	 * refused).
	 */
	private growFile(needed: number): void {
		const step = Math.max(GROW_MIN_BYTES, Math.floor(this.fileEnd / 4 / BLOCK_BYTES) * BLOCK_BYTES);
		// Never past what the disk can hold: a small disk does not reserve more than its size.
		const cap = Math.ceil(this.capacity / SECTORS_PER_BLOCK) * BLOCK_BYTES;
		const target = Math.max(needed, Math.min(this.fileEnd + step, cap));
		try {
			this.handles.data.truncate(target);
			this.fileEnd = target;
		} catch {
			// no room for the step: the write itself asks for what it needs
		}
	}

	/** Cuts the data file back to its slots (the grown-ahead tail holds nothing). */
	private trimFile(): void {
		const end = this.slotCount * BLOCK_BYTES;
		if (this.fileEnd > end) {
			this.handles.data.truncate(end);
			this.fileEnd = end;
		}
	}

	private drop(block: number, slot: number): void {
		this.blocks.delete(block);
		this.pendingFree.push(slot);
		this.queue(TAG_UNMAP, block, 0);
	}

	/** Zeroes sectors [from, to) of mapped blocks in place (at most two blocks' worth). */
	private zeroPartial(from: number, to: number): void {
		let s = from;
		while (s < to) {
			const block = Math.floor(s / SECTORS_PER_BLOCK);
			const blockEnd = Math.min((block + 1) * SECTORS_PER_BLOCK, to);
			const slot = this.blocks.get(block);
			if (slot !== undefined) {
				const base = block * SECTORS_PER_BLOCK;
				zeroBlock ??= new Uint8Array(BLOCK_BYTES);
				this.writeAt(zeroBlock.subarray(0, (blockEnd - s) * SECTOR_BYTES), slot * BLOCK_BYTES + (s - base) * SECTOR_BYTES);
			}
			s = blockEnd;
		}
	}

	private queue(tag: number, value: number, slot: number): void {
		this.pending.push(tag, value % TWO32, Math.floor(value / TWO32), slot);
	}

	/** Appends the queued records and a commit record to the active map file, then flushes it. */
	private commit(): void {
		const records = this.pending.length / REC_WORDS;
		const w = new Uint32Array(this.pending.length + REC_WORDS);
		w.set(this.pending);
		const p = this.pending.length;
		w[p] = TAG_COMMIT;
		w[p + 1] = records;
		w[p + 2] = checksum(w, 0, p, this.generation);
		w[p + 3] = this.generation;
		const bytes = new Uint8Array(w.buffer);
		let n: number;
		try {
			n = this.active.write(bytes, { at: this.journalEnd });
			if (n !== bytes.length) throw this.fullError(bytes.length, 'the block map');
			this.active.flush();
		} catch (e) {
			try {
				this.active.truncate(this.journalEnd); // drop the torn batch; the queue is kept
			} catch {
				// a torn batch fails its checksum and is cut off at the next open anyway
			}
			if (e instanceof StoreFullError) throw e;
			if (isQuotaError(e)) throw this.fullError(bytes.length, 'the block map');
			throw e;
		}
		this.journalEnd += bytes.length;
		this.journalRecords += records;
		this.pending = [];
	}

	/**
	 * Writes the whole map as a checkpoint into the other map file with the next generation; the
	 * old file is truncated only once the new one is durable. Call with no queued changes.
	 */
	private compact(): void {
		if (this.pending.length > 0) this.commit();
		const target = this.other;
		const generation = this.generation + 1;
		const bytes = this.checkpoint(target, generation);
		const old = this.active;
		this.active = target;
		this.other = old;
		this.journalEnd = bytes;
		this.journalRecords = 0;
		try {
			old.truncate(0);
			old.flush();
		} catch {
			// harmless: its generation is lower, so it is never chosen over the new one
		}
	}

	/** Writes header + one batch (every live entry and the capacity) into `h`; returns its length. */
	private checkpoint(h: SyncHandle, generation: number): number {
		const records = this.blocks.size + 1;
		const w = new Uint32Array((records + 2) * REC_WORDS);
		header(w, generation);
		let q = REC_WORDS;
		this.blocks.forEach((slot, block) => {
			w[q] = TAG_MAP;
			w[q + 1] = block % TWO32;
			w[q + 2] = Math.floor(block / TWO32);
			w[q + 3] = slot;
			q += REC_WORDS;
		});
		w[q] = TAG_CAP;
		w[q + 1] = this.capacity % TWO32;
		w[q + 2] = Math.floor(this.capacity / TWO32);
		w[q + 3] = 0;
		q += REC_WORDS;
		w[q] = TAG_COMMIT;
		w[q + 1] = records;
		w[q + 2] = checksum(w, REC_WORDS, q, generation);
		w[q + 3] = generation;
		const bytes = new Uint8Array(w.buffer);
		try {
			h.truncate(0);
			const n = h.write(bytes, { at: 0 });
			if (n !== bytes.length) throw this.fullError(bytes.length, 'the block map');
			h.flush();
		} catch (e) {
			if (e instanceof StoreFullError) throw e;
			if (isQuotaError(e)) throw this.fullError(bytes.length, 'the block map');
			throw e;
		}
		this.generation = generation;
		return bytes.length;
	}

	/** Truncates free slots at the end of the data file. */
	private trimTail(): void {
		const before = this.slotCount;
		while (this.slotCount > 0 && this.free.has(this.slotCount - 1)) {
			this.free.delete(this.slotCount - 1);
			this.slotCount--;
		}
		if (this.slotCount !== before) {
			this.handles.data.truncate(this.slotCount * BLOCK_BYTES);
			this.fileEnd = this.slotCount * BLOCK_BYTES;
		}
	}

	private fullError(bytes: number, what = 'data'): StoreFullError {
		const est = this.env.estimate?.();
		let files = 0;
		try {
			files = this.fileBytes();
		} catch {
			// sizes are informative only
		}
		return new StoreFullError(
			fullMessage(
				`writing ${bytes} bytes (${what}) to the disk "${this.name}" (its files hold ${files} bytes) was refused`,
				est?.usage,
				est?.quota,
				true
			),
			est?.usage,
			est?.quota
		);
	}
}

// ---- sidecars ----

const KEY_PREFIX = 'k_';

function isNotFound(e: unknown): boolean {
	const name = (e as { name?: unknown } | null)?.name;
	return name === 'NotFoundError' || name === 'TypeMismatchError';
}

/**
 * A sidecar as an OPFS directory with one file per key (`k_<encoded key>`). `set` goes through
 * createWritable, which writes a swap file and replaces the key's file when closed: a crash
 * leaves the old or the new value, never half of one. `keys()` is sorted. The directory is
 * looked up again after the factory was wiped.
 */
export class OpfsSidecarStore implements SidecarStore {
	constructor(
		readonly name: string,
		private readonly dir: (create: boolean) => Promise<FileSystemDirectoryHandle | undefined>
	) {}

	async get(key: string): Promise<Uint8Array | undefined> {
		const dir = await this.dir(false);
		if (!dir) return undefined;
		let file: File;
		try {
			file = await (await dir.getFileHandle(KEY_PREFIX + encodeName(key, KEY_PREFIX.length))).getFile();
		} catch (e) {
			if (isNotFound(e)) return undefined;
			throw e;
		}
		return new Uint8Array(await file.arrayBuffer());
	}

	async set(key: string, value: Uint8Array): Promise<void> {
		const copy = value.slice(); // the caller may reuse its buffer while we await
		const dir = (await this.dir(true))!;
		const fh = await dir.getFileHandle(KEY_PREFIX + encodeName(key, KEY_PREFIX.length), { create: true });
		const w = await fh.createWritable();
		try {
			await w.write(copy);
			await w.close();
		} catch (e) {
			await w.abort().catch(() => undefined);
			if (isQuotaError(e)) {
				const est = await estimate();
				throw new StoreFullError(
					fullMessage(`saving ${copy.length} bytes under "${key}" in the sidecar "${this.name}" was refused`, est?.usage, est?.quota),
					est?.usage,
					est?.quota
				);
			}
			throw e;
		}
	}

	async delete(key: string): Promise<void> {
		const dir = await this.dir(false);
		if (!dir) return;
		try {
			await dir.removeEntry(KEY_PREFIX + encodeName(key, KEY_PREFIX.length));
		} catch (e) {
			if (!isNotFound(e)) throw e;
		}
	}

	async keys(): Promise<string[]> {
		const dir = await this.dir(false);
		if (!dir) return [];
		const out: string[] = [];
		for await (const n of dir.keys()) if (n.startsWith(KEY_PREFIX)) out.push(decodeName(n.slice(KEY_PREFIX.length)));
		return out.sort();
	}
}

// ---- the factory ----

/** The parts of FileSystemFileHandle that lib.dom lacks (sync handles are Worker-only). */
interface SyncFileHandle {
	createSyncAccessHandle(): Promise<SyncHandle>;
}

export interface OpfsFactoryOptions {
	/** Directory in the origin's OPFS holding every store (default "vaio"). */
	root?: string;
	/** Take the Web Lock `vaio-store:<root>` for the factory's lifetime (default true). */
	lock?: boolean;
}

/** True where OPFS sync access handles exist (Chromium, Firefox, Safari: in a dedicated Worker). */
export function opfsAvailable(): boolean {
	const g = globalThis as { FileSystemFileHandle?: unknown; navigator?: Navigator };
	const fh = g.FileSystemFileHandle as ((...args: never[]) => unknown) | undefined;
	return (
		typeof fh === 'function' &&
		'createSyncAccessHandle' in (fh.prototype as object) &&
		typeof g.navigator?.storage?.getDirectory === 'function'
	);
}

/**
 * Opens OPFS stores under one root directory. Create it with `OpfsStoreFactory.create()` in a
 * dedicated Worker; it holds the Web Lock for its root until `release()` (or the worker's end),
 * so a second tab gets a clear "open in another tab" error instead of corrupting the stores.
 * Opening a name that is already open returns the same store (growing it if asked for more).
 */
export class OpfsStoreFactory implements StoreFactory {
	readonly kind = 'opfs' as const;
	private readonly openStores = new Map<string, OpfsBlockStore>();
	private readonly opening = new Map<string, Promise<OpfsBlockStore>>();
	private rootDir: Promise<FileSystemDirectoryHandle>;
	private lastEstimate: { usage: number; quota: number } | undefined;
	private refreshing = false;
	private released = false;

	private constructor(
		readonly root: string,
		private readonly opfs: FileSystemDirectoryHandle,
		private releaseLock: (() => void) | undefined
	) {
		this.rootDir = opfs.getDirectoryHandle(root, { create: true });
	}

	static async create(options: OpfsFactoryOptions = {}): Promise<OpfsStoreFactory> {
		const root = options.root ?? 'vaio';
		if (!opfsAvailable()) {
			throw new StoreUnavailableError(
				'OPFS is not available here (no FileSystemSyncAccessHandle in this worker): choose the IndexedDB store'
			);
		}
		let release: (() => void) | undefined;
		if (options.lock !== false) {
			release = await takeLock(`vaio-store:${root}`);
			if (!release) {
				throw new StoreLockedError(
					`the playground's disks (OPFS "${root}") are open in another tab: close that tab, or continue there`
				);
			}
		}
		try {
			const opfs = await navigator.storage.getDirectory();
			const f = new OpfsStoreFactory(root, opfs, release);
			await f.rootDir;
			f.lastEstimate = await estimate();
			return f;
		} catch (e) {
			release?.();
			throw e;
		}
	}

	private async dir(path: string, create: boolean): Promise<FileSystemDirectoryHandle | undefined> {
		try {
			return await (await this.rootDir).getDirectoryHandle(path, { create });
		} catch (e) {
			if (!create && isNotFound(e)) return undefined;
			if (isNotFound(e)) {
				// The root itself was removed (wiped by someone else): recreate it once.
				this.rootDir = this.opfs.getDirectoryHandle(this.root, { create: true });
				return (await this.rootDir).getDirectoryHandle(path, { create });
			}
			throw e;
		}
	}

	private refreshEstimate(): void {
		if (this.refreshing) return;
		this.refreshing = true;
		void estimate().then((e) => {
			this.refreshing = false;
			if (e) this.lastEstimate = e;
		});
	}

	openBlockStore(name: string, sectors: number): Promise<OpfsBlockStore> {
		if (this.released) return Promise.reject(new Error('the OPFS store factory was released'));
		const open = this.openStores.get(name);
		if (open && !open.closed) {
			if (sectors > open.sectors) open.resize(sectors);
			return Promise.resolve(open);
		}
		const pending = this.opening.get(name);
		if (pending) {
			return pending.then((s) => {
				if (sectors > s.sectors) s.resize(sectors);
				return s;
			});
		}
		const p = this.openNew(name, sectors).finally(() => this.opening.delete(name));
		this.opening.set(name, p);
		return p;
	}

	private async openNew(name: string, sectors: number): Promise<OpfsBlockStore> {
		const disks = (await this.dir('disks', true))!;
		const base = encodeName(name, 5);
		const handles: SyncHandle[] = [];
		try {
			for (const ext of ['.data', '.map0', '.map1']) {
				const fh = (await disks.getFileHandle(base + ext, { create: true })) as unknown as SyncFileHandle;
				// A handle of a page being reloaded may take a moment to be released: retry for ~1 s.
				for (let attempt = 0; ; attempt++) {
					try {
						handles.push(await fh.createSyncAccessHandle());
						break;
					} catch (e) {
						const n = (e as { name?: string }).name;
						if (n !== 'NoModificationAllowedError' && n !== 'InvalidStateError') throw e;
						if (attempt >= 10) {
							throw new StoreLockedError(`the disk "${name}" is open in another tab: close that tab, or continue there`);
						}
						await sleep(100);
					}
				}
			}
			const store = OpfsBlockStore.open(name, { data: handles[0], map0: handles[1], map1: handles[2] }, sectors, {
				estimate: () => this.lastEstimate,
				changed: () => this.refreshEstimate(),
				closed: (s) => {
					if (this.openStores.get(name) === s) this.openStores.delete(name);
				}
			});
			this.openStores.set(name, store);
			return store;
		} catch (e) {
			for (const h of handles) {
				try {
					h.close();
				} catch {
					// best effort
				}
			}
			if (isQuotaError(e)) {
				const est = await estimate();
				throw new StoreFullError(fullMessage(`opening the disk "${name}" was refused`, est?.usage, est?.quota), est?.usage, est?.quota);
			}
			throw e;
		}
	}

	async openSidecar(name: string): Promise<OpfsSidecarStore> {
		const path = encodeName(name);
		return new OpfsSidecarStore(name, async (create) => {
			const sidecars = await this.dir('sidecars', create);
			if (!sidecars) return undefined;
			try {
				return await sidecars.getDirectoryHandle(path, { create });
			} catch (e) {
				if (!create && isNotFound(e)) return undefined;
				throw e;
			}
		});
	}

	/** Names of the block stores under the root, sorted. */
	async blockStoreNames(): Promise<string[]> {
		const disks = await this.dir('disks', false);
		if (!disks) return [];
		const out: string[] = [];
		for await (const n of disks.keys()) if (n.endsWith('.data')) out.push(decodeName(n.slice(0, -5)));
		return out.sort();
	}

	/**
	 * Flushes every open store (e.g. before the session saves the guest's expected state, so a
	 * reload finds disks and expected state from the same moment).
	 */
	async flushAll(): Promise<void> {
		await Promise.allSettled([...this.opening.values()]);
		for (const s of this.openStores.values()) if (!s.closed) s.flush();
	}

	/** Closes every open store (a flush error is rethrown after all are closed). */
	async closeAll(): Promise<void> {
		await Promise.allSettled([...this.opening.values()]);
		let error: unknown;
		for (const s of [...this.openStores.values()]) {
			try {
				s.close();
			} catch (e) {
				error ??= e;
			}
		}
		this.openStores.clear();
		if (error !== undefined) throw error;
	}

	/** Closes every store and deletes the root directory with everything in it. */
	async wipe(): Promise<void> {
		try {
			await this.closeAll();
		} catch {
			// the stores are being deleted: a failed final flush does not matter
		}
		try {
			await this.opfs.removeEntry(this.root, { recursive: true });
		} catch (e) {
			if (!isNotFound(e)) throw e;
		}
		this.rootDir = this.opfs.getDirectoryHandle(this.root, { create: true });
		await this.rootDir;
		this.refreshEstimate();
	}

	/** Closes every store and releases the Web Lock (another tab may then open the stores). */
	async release(): Promise<void> {
		if (this.released) return;
		this.released = true;
		try {
			await this.closeAll();
		} finally {
			this.releaseLock?.();
			this.releaseLock = undefined;
		}
	}

	/** The latest storage estimate this factory has seen. */
	get estimate(): { usage: number; quota: number } | undefined {
		return this.lastEstimate;
	}
}
