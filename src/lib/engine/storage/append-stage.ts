/**
 * Slots appended to the end of an OPFS data file, held in memory until they are written out in
 * one piece. In Chromium every FileSystemSyncAccessHandle.write also sends the browser process a
 * message (file-change bookkeeping), which costs more than writing the 4 KiB itself, so a
 * thin store whose first writes land in consecutive slots writes them out together. The stage
 * covers one contiguous byte range [from, end) of the file; opfs.ts says when it is written out.
 */
export class AppendStage {
	private buf: Uint8Array | undefined;
	/** File position of the first staged byte (meaningful while `bytes` > 0). */
	from = 0;
	/** Bytes staged. */
	bytes = 0;

	constructor(readonly capacity: number) {}

	/** File position just past the staged bytes. */
	get end(): number {
		return this.from + this.bytes;
	}

	/** True when [pos, pos + len) shares a byte with the stage. */
	overlaps(pos: number, len: number): boolean {
		return this.bytes > 0 && pos + len > this.from && pos < this.from + this.bytes;
	}

	/** True when [pos, pos + len) lies wholly inside the stage. */
	holds(pos: number, len: number): boolean {
		return this.bytes > 0 && pos >= this.from && pos + len <= this.from + this.bytes;
	}

	/**
	 * Stages `src` for file position `pos`, which must be the stage's end (or anything when the
	 * stage is empty). False when it does not fit: write the stage out first.
	 */
	append(pos: number, src: Uint8Array): boolean {
		if (this.bytes === 0) this.from = pos;
		else if (pos !== this.from + this.bytes) return false;
		if (this.bytes + src.length > this.capacity) return false;
		this.buf ??= new Uint8Array(this.capacity);
		this.buf.set(src, this.bytes);
		this.bytes += src.length;
		return true;
	}

	/** Overwrites staged bytes (call only when `holds(pos, src.length)`). */
	write(pos: number, src: Uint8Array): void {
		this.buf!.set(src, pos - this.from);
	}

	/** Copies staged bytes out (call only when `holds(pos, dst.length)`). */
	read(pos: number, dst: Uint8Array): void {
		const at = pos - this.from;
		dst.set(this.buf!.subarray(at, at + dst.length));
	}

	/** The staged bytes, to be written at `from`; valid until the next append. */
	contents(): Uint8Array {
		return this.buf!.subarray(0, this.bytes);
	}

	clear(): void {
		this.bytes = 0;
	}
}
