/**
 * I/O requests and sector math. Guest I/O is addressed in 512-byte sectors; the playground's
 * block-granular structures (caches, dedup, verification) use 4 KiB blocks of 8 sectors.
 */
export const SECTOR_BYTES = 512;
/** The largest disk a scenario can have: 64 TiB, the VMDK maximum. */
export const MAX_DISK_BYTES = 64 * 2 ** 40;
export const BLOCK_BYTES = 4096;
export const SECTORS_PER_BLOCK = BLOCK_BYTES / SECTOR_BYTES;

/** Operation codes; numeric so the trace can store them in typed arrays. */
export const Op = { read: 0, write: 1, flush: 2, unmap: 3 } as const;
export type OpCode = (typeof Op)[keyof typeof Op];
export type OpName = keyof typeof Op;
export const OP_NAMES: readonly OpName[] = ['read', 'write', 'flush', 'unmap'];

/** Where an I/O came from: the guest, or a filter's own I/O (destage, migrate, remap). */
export type IoOrigin = 'guest' | 'filter';

/** An error that completes an I/O unsuccessfully; `code` is SCSI-like and stable for tests. */
export interface IoError {
	code: 'EIO' | 'ENOSPC' | 'EFILTER' | 'ETIMEDOUT' | 'ECANCELED' | 'EINVAL';
	message: string;
	/** Name of the filter that failed the I/O, or 'device'. */
	source: string;
}

/**
 * One I/O request as it travels through a disk's chain. The engine owns it; filters read its
 * fields, may replace `data` (e.g. encryption hands ciphertext down) and keep their own per-I/O
 * state in `slots[filterIndex]` (the engine owns per-I/O state, as in dm-delay).
 */
export interface Io {
	/** Sequence number, unique per simulation; also the trace row key. */
	readonly id: number;
	readonly op: OpCode;
	/** First sector. */
	lba: number;
	/** Length in sectors (0 for flush). */
	sectors: number;
	/**
	 * Write: the bytes to write (length sectors*512). Read: undefined on the way down; the buffer
	 * with the data read on the way up (a filter completing a read supplies it).
	 */
	data: Uint8Array | undefined;
	readonly origin: IoOrigin;
	/** Virtual µs at which the guest (or the filter) issued it. */
	readonly issuedAt: number;
	/** Per-filter slot, indexed by the filter's position in the chain. */
	readonly slots: unknown[];
	/** Set when the I/O failed. */
	error: IoError | undefined;
	/** Workload stream that issued it (guest I/O), -1 for filter I/O. */
	readonly stream: number;
}

export function ioBytes(io: Pick<Io, 'sectors'>): number {
	return io.sectors * SECTOR_BYTES;
}

/** First and one-past-last 4 KiB block touched by a sector range. */
export function blockSpan(lba: number, sectors: number): [first: number, end: number] {
	const first = Math.floor(lba / SECTORS_PER_BLOCK);
	const end = Math.ceil((lba + sectors) / SECTORS_PER_BLOCK);
	return [first, end];
}

export function isBlockAligned(lba: number, sectors: number): boolean {
	return lba % SECTORS_PER_BLOCK === 0 && sectors % SECTORS_PER_BLOCK === 0;
}

/** Parses sizes like 4k, 4KiB, 1m, 20g, 512 (bytes). Suffixes are binary, as fio's default. */
export function parseSize(text: string | number): number {
	if (typeof text === 'number') return text;
	const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?b?)\s*$/i.exec(text);
	if (!m) throw new Error(`not a size: "${text}"`);
	const mult: Record<string, number> = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40, p: 2 ** 50 };
	return Math.round(Number(m[1]) * mult[m[2].toLowerCase()]);
}
