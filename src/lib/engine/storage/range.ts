/** Argument checks shared by the block stores. */
import { SECTOR_BYTES, SECTORS_PER_BLOCK } from '../io';

/**
 * Checks a sector range against a capacity; throws RangeError. The memory store's aligned fast path
 * checks inline instead.
 */
export function checkRange(what: string, sector: number, sectors: number, capacity: number): void {
	if (!Number.isSafeInteger(sector) || sector < 0 || !Number.isSafeInteger(sectors) || sectors < 0) {
		throw new RangeError(`${what}: bad range sector=${sector} count=${sectors}`);
	}
	if (sector + sectors > capacity) {
		throw new RangeError(`${what}: sectors [${sector}, ${sector + sectors}) beyond capacity ${capacity}`);
	}
}

/** Sector count of a buffer; throws RangeError unless its length is a multiple of 512. */
export function sectorsOf(what: string, buf: Uint8Array): number {
	if (buf.length % SECTOR_BYTES !== 0) {
		throw new RangeError(`${what}: length ${buf.length} is not a multiple of ${SECTOR_BYTES}`);
	}
	return buf.length / SECTOR_BYTES;
}

/**
 * The whole 4 KiB blocks an unmap of [sector, end) covers: [firstWhole, endWhole). The
 * capacity's partial tail block counts as whole when the range reaches the capacity. When
 * endWhole ≤ firstWhole no block is whole: the range lies within one block or two partial ones.
 */
export function wholeBlocks(sector: number, end: number, capacity: number): [firstWhole: number, endWhole: number] {
	const firstWhole = Math.ceil(sector / SECTORS_PER_BLOCK);
	const endWhole = end === capacity ? Math.ceil(end / SECTORS_PER_BLOCK) : Math.floor(end / SECTORS_PER_BLOCK);
	return [firstWhole, endWhole];
}
