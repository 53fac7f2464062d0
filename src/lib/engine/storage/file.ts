/**
 * File-backed stores for Node (the CLI, tests, benchmarks). NODE ONLY: this module imports
 * `node:fs`, so nothing that runs in the browser may import it, and `storage/index.ts` does not
 * re-export it. Import it as `$lib/engine/storage/file`.
 *
 * Layout under a factory's root directory (header-less: a disk file is the raw image):
 *   <root>/disks/<name>.img       one sparse file per block store; byte offset = sector × 512;
 *                                 file size = capacity (so the capacity survives a reopen)
 *   <root>/sidecars/<name>/k_<key>  one directory per sidecar, one file per key
 * Names and keys are encoded so any string is a safe, distinct, reversible file name (see
 * `encodeName`).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SECTOR_BYTES } from '../io';
import { checkRange, sectorsOf } from './range';
import { decodeName, encodeName } from './names';
import type { BlockStore, SidecarStore, StoreFactory } from './types';

/** Scratch for unmap: a chunk is read, and only its non-zero sectors are overwritten. */
const UNMAP_CHUNK = 1 << 20;
let unmapScratch: Uint8Array | undefined;
let zeros: Uint8Array | undefined;

export class FileBlockStore implements BlockStore {
	readonly kind = 'file' as const;
	readonly path: string;
	private fd: number;
	private capacity: number;

	/**
	 * Opens (or creates) the image at `file`. An existing image keeps its capacity if that is
	 * larger than `sectors`; otherwise it grows to `sectors`. The file is extended with
	 * ftruncate, so it stays sparse.
	 */
	constructor(file: string, sectors: number) {
		if (!Number.isSafeInteger(sectors) || sectors < 0) throw new RangeError(`bad capacity ${sectors}`);
		this.path = file;
		this.fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o644);
		try {
			const existing = Math.ceil(fs.fstatSync(this.fd).size / SECTOR_BYTES);
			this.capacity = Math.max(existing, sectors);
			if (this.capacity * SECTOR_BYTES !== fs.fstatSync(this.fd).size) {
				fs.ftruncateSync(this.fd, this.capacity * SECTOR_BYTES);
			}
		} catch (e) {
			fs.closeSync(this.fd);
			throw e;
		}
	}

	get sectors(): number {
		return this.capacity;
	}

	private handle(what: string): number {
		if (this.fd < 0) throw new Error(`${what}: store ${this.path} is closed`);
		return this.fd;
	}

	read(sector: number, dst: Uint8Array): void {
		const fd = this.handle('read');
		checkRange('read', sector, sectorsOf('read', dst), this.capacity);
		const total = dst.length;
		let off = 0;
		while (off < total) {
			const n = fs.readSync(fd, dst, off, total - off, sector * SECTOR_BYTES + off);
			if (n === 0) {
				dst.fill(0, off); // beyond the end of the file: never written
				break;
			}
			off += n;
		}
	}

	write(sector: number, src: Uint8Array): void {
		const fd = this.handle('write');
		checkRange('write', sector, sectorsOf('write', src), this.capacity);
		writeAll(fd, src, 0, src.length, sector * SECTOR_BYTES);
	}

	/**
	 * Node's fs cannot punch holes (no fallocate), so: a range reaching the end of the capacity
	 * is deallocated by truncating the file to its start and extending it again; any other
	 * range is read in 1 MiB chunks and only its non-zero sectors are overwritten with zeros,
	 * which never allocates space that was not allocated before.
	 */
	unmap(sector: number, count: number): void {
		const fd = this.handle('unmap');
		checkRange('unmap', sector, count, this.capacity);
		if (count === 0) return;
		if (sector + count === this.capacity) {
			fs.ftruncateSync(fd, sector * SECTOR_BYTES);
			fs.ftruncateSync(fd, this.capacity * SECTOR_BYTES);
			return;
		}
		unmapScratch ??= new Uint8Array(UNMAP_CHUNK);
		zeros ??= new Uint8Array(UNMAP_CHUNK);
		const words = new Int32Array(unmapScratch.buffer);
		const wordsPerSector = SECTOR_BYTES / 4;
		let pos = sector * SECTOR_BYTES;
		const end = (sector + count) * SECTOR_BYTES;
		while (pos < end) {
			const len = Math.min(UNMAP_CHUNK, end - pos);
			let got = 0;
			while (got < len) {
				const n = fs.readSync(fd, unmapScratch, got, len - got, pos + got);
				if (n === 0) break;
				got += n;
			}
			// Coalesce runs of non-zero sectors and zero each run with one write.
			const sectorsRead = Math.floor(got / SECTOR_BYTES);
			let runStart = -1;
			for (let s = 0; s <= sectorsRead; s++) {
				let dirty = false;
				if (s < sectorsRead) {
					for (let w = s * wordsPerSector, e = w + wordsPerSector; w < e; w++) {
						if (words[w] !== 0) {
							dirty = true;
							break;
						}
					}
				}
				if (dirty && runStart < 0) runStart = s;
				else if (!dirty && runStart >= 0) {
					const bytes = (s - runStart) * SECTOR_BYTES;
					writeAll(fd, zeros, 0, bytes, pos + runStart * SECTOR_BYTES);
					runStart = -1;
				}
			}
			pos += len;
		}
	}

	flush(): void {
		fs.fdatasyncSync(this.handle('flush'));
	}

	/** Space the file occupies on disk (st_blocks × 512); the file-system block size rounds it. */
	allocatedBytes(): number {
		const st = fs.fstatSync(this.handle('allocatedBytes'));
		return typeof st.blocks === 'number' && Number.isFinite(st.blocks) ? st.blocks * 512 : st.size;
	}

	/** Grows the capacity (ftruncate, still sparse); a smaller capacity throws RangeError. */
	resize(sectors: number): void {
		const fd = this.handle('resize');
		if (!Number.isSafeInteger(sectors) || sectors < this.capacity) {
			throw new RangeError(`resize: ${sectors} sectors; a store only grows (now ${this.capacity})`);
		}
		fs.ftruncateSync(fd, sectors * SECTOR_BYTES);
		this.capacity = sectors;
	}

	/** Closes the file; idempotent. Operations on a closed store throw. */
	close(): void {
		if (this.fd >= 0) {
			const fd = this.fd;
			this.fd = -1;
			fs.closeSync(fd);
		}
	}
}

function writeAll(fd: number, src: Uint8Array, offset: number, length: number, position: number): void {
	let done = 0;
	while (done < length) {
		done += fs.writeSync(fd, src, offset + done, length - done, position + done);
	}
}

export { encodeName, decodeName };

const KEY_PREFIX = 'k_';
const TMP_PREFIX = 'tmp.';
let tmpCounter = 0;

/**
 * A sidecar as a directory with one file per key (`k_<encoded key>`). A value is written to a
 * temporary file, fsynced, then renamed over the key's file, so a crash leaves either the old
 * or the new value, never half of one; leftover temporary files are ignored. `keys()` is sorted.
 */
export class FileSidecarStore implements SidecarStore {
	constructor(readonly dir: string) {
		fs.mkdirSync(dir, { recursive: true });
	}

	private file(key: string): string {
		return path.join(this.dir, KEY_PREFIX + encodeName(key, KEY_PREFIX.length));
	}

	get(key: string): Uint8Array | undefined {
		let buf: Buffer;
		try {
			buf = fs.readFileSync(this.file(key));
		} catch (e) {
			if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
			throw e;
		}
		return new Uint8Array(buf); // a plain copy, not a Buffer
	}

	set(key: string, value: Uint8Array): void {
		const target = this.file(key);
		fs.mkdirSync(this.dir, { recursive: true }); // the factory may have been wiped
		const tmp = path.join(this.dir, `${TMP_PREFIX}${process.pid}.${tmpCounter++}`);
		try {
			const fd = fs.openSync(tmp, 'w', 0o644);
			try {
				writeAll(fd, value, 0, value.length, 0);
				fs.fsyncSync(fd);
			} finally {
				fs.closeSync(fd);
			}
			fs.renameSync(tmp, target);
		} catch (e) {
			fs.rmSync(tmp, { force: true });
			throw e;
		}
		syncDir(this.dir);
	}

	delete(key: string): void {
		fs.rmSync(this.file(key), { force: true });
	}

	keys(): string[] {
		let names: string[];
		try {
			names = fs.readdirSync(this.dir);
		} catch (e) {
			if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
			throw e;
		}
		return names
			.filter((n) => n.startsWith(KEY_PREFIX))
			.map((n) => decodeName(n.slice(KEY_PREFIX.length)))
			.sort();
	}
}

/** Makes a rename durable; best effort (some platforms cannot open a directory). */
function syncDir(dir: string): void {
	let fd = -1;
	try {
		fd = fs.openSync(dir, 'r');
		fs.fsyncSync(fd);
	} catch {
		// not supported here; the rename is still atomic
	} finally {
		if (fd >= 0) fs.closeSync(fd);
	}
}

/**
 * Stores under `rootDir` (see the layout above). Opening a name again opens the same file, so
 * a reopen after close sees the same bytes; a larger capacity grows it, a smaller one keeps
 * the existing capacity. `wipe()` deletes `disks/` and `sidecars/` (not the root itself);
 * close the stores first.
 */
export class FileStoreFactory implements StoreFactory {
	readonly kind = 'file' as const;
	readonly disksDir: string;
	readonly sidecarsDir: string;

	constructor(readonly rootDir: string) {
		this.disksDir = path.join(rootDir, 'disks');
		this.sidecarsDir = path.join(rootDir, 'sidecars');
	}

	openBlockStore(name: string, sectors: number): FileBlockStore {
		fs.mkdirSync(this.disksDir, { recursive: true });
		return new FileBlockStore(path.join(this.disksDir, encodeName(name, 4) + '.img'), sectors);
	}

	openSidecar(name: string): FileSidecarStore {
		return new FileSidecarStore(path.join(this.sidecarsDir, encodeName(name)));
	}

	/** Names of the block stores under the root, sorted. */
	blockStoreNames(): string[] {
		if (!fs.existsSync(this.disksDir)) return [];
		return fs
			.readdirSync(this.disksDir)
			.filter((n) => n.endsWith('.img'))
			.map((n) => decodeName(n.slice(0, -4)))
			.sort();
	}

	wipe(): void {
		fs.rmSync(this.disksDir, { recursive: true, force: true });
		fs.rmSync(this.sidecarsDir, { recursive: true, force: true });
	}
}
