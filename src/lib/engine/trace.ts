/**
 * The per-I/O trace: for every I/O, when it entered and left each filter on the way down and up,
 * each filter's verdict, the time it spent deferred and the device time. Rows live in columnar
 * typed arrays: in-flight rows in a small pool, completed rows in a bounded ring (oldest dropped),
 * and every completed row is folded into a digest (xxh64) so two runs can be compared bit for bit.
 *
 * The workload stream that issued each guest I/O (its fio job) is kept beside the rows, in an
 * Int32Array per pool and ring, and is not digested: the digest covers the float64 and uint8
 * columns only, and stays what it was before streams were recorded.
 */
import xxhash from 'xxhash-wasm';
import type { XXHash } from 'xxhash-wasm';

/** Most filters a chain can hold (one per class: seven classes). */
export const MAX_FILTERS = 8;

/** Float64 columns of a row. */
export const Col = {
	id: 0,
	lba: 1,
	issuedAt: 2,
	doneAt: 3,
	deviceStart: 4,
	deviceDone: 5,
	deferredUs: 6,
	sectors: 7,
	disk: 8
} as const;
const FIXED_F64 = 9;
/** Per filter k: down-in, down-out, up-in, up-out at FIXED_F64 + 4k + (0..3). */
export const F64_STRIDE = FIXED_F64 + 4 * MAX_FILTERS;

/** Uint8 columns of a row. */
export const ByteCol = {
	op: 0,
	origin: 1,
	/** 0 ok, else an error code index (see ERROR_CODES). */
	status: 2,
	/** Index+1 of the filter that completed or failed the I/O; 0 = the device; 255 = none. */
	endedBy: 3,
	filters: 4
} as const;
const FIXED_U8 = 5;
/** Per filter k: down verdict at FIXED_U8 + 2k, up verdict at FIXED_U8 + 2k + 1 (VerdictCode). */
export const U8_STRIDE = FIXED_U8 + 2 * MAX_FILTERS;

export const ERROR_CODES = ['', 'EIO', 'ENOSPC', 'EFILTER', 'ETIMEDOUT', 'ECANCELED', 'EINVAL'] as const;

export interface TraceOptions {
	/** Completed rows kept for queries (older ones are dropped; the digest covers all). */
	capacity: number;
}

/** One completed I/O as an object (for tables, exports and tests). */
export interface TraceRow {
	id: number;
	disk: number;
	op: number;
	origin: 'guest' | 'filter';
	/**
	 * The workload stream (a fio job) of its disk that issued it; -1 for filter I/O and for the
	 * framework's own I/O through the chain (a clone's reads, a recovery scan). Not digested.
	 */
	stream: number;
	lba: number;
	sectors: number;
	issuedAt: number;
	doneAt: number;
	/** -1 when the I/O never reached the device (likewise for every time below). */
	deviceStart: number;
	deviceDone: number;
	deferredUs: number;
	status: (typeof ERROR_CODES)[number];
	endedBy: number;
	filters: { downIn: number; downOut: number; upIn: number; upOut: number; down: number; up: number }[];
}

let hasherApi: Awaited<ReturnType<typeof xxhash>> | undefined;

/** Loads the hash module once (WebAssembly); call before constructing a Trace. */
export async function loadTraceHasher(): Promise<void> {
	hasherApi ??= await xxhash();
}

const DIGEST_BATCH_ROWS = 1024;

export class Trace {
	readonly capacity: number;
	/** Completed rows, ring (float64 columns: a view into `rows`, replaced when the pool grows). */
	f64: Float64Array;
	readonly u8: Uint8Array;
	/** Completed rows' workload streams, ring (-1: filter I/O). Not in the digest. */
	readonly streams: Int32Array;
	/** Number of rows completed so far (the ring holds the last `capacity`). */
	completed = 0;

	// In-flight rows: a growable pool with a free list (float64 columns: a view into `rows`).
	live: Float64Array;
	liveU8: Uint8Array;
	/** In-flight rows' workload streams (one per row). */
	liveStreams: Int32Array;
	private free: number[] = [];
	private liveRows = 0;
	/**
	 * The float64 columns of every row in one buffer: the in-flight pool, then the digest batch,
	 * then the ring. A completed row moves to the batch and to the ring with copyWithin (a memmove
	 * each), which costs a third of an element-by-element copy of its ~40 numbers.
	 */
	private rows: Float64Array;
	/** Where the digest batch and the ring start in `rows`. */
	private batchAt = 0;
	private ringAt = 0;

	// Two streams, one per column type, so the digest does not depend on where the batches were
	// cut (digest() flushes a partial batch; a mid-run digest must not change the final one).
	private readonly hasher: XXHash<bigint>;
	private readonly hasherU8: XXHash<bigint>;
	private readonly batchU8 = new Uint8Array(DIGEST_BATCH_ROWS * U8_STRIDE);
	private batchRows = 0;
	private batchF64Len = 0;
	private batchU8Len = 0;

	constructor(options: TraceOptions) {
		if (!hasherApi) throw new Error('loadTraceHasher() must be awaited before a Trace is created');
		this.capacity = Math.max(1, options.capacity | 0);
		this.u8 = new Uint8Array(this.capacity * U8_STRIDE);
		this.rows = new Float64Array((64 + DIGEST_BATCH_ROWS + this.capacity) * F64_STRIDE);
		this.liveRows = 64;
		this.live = this.f64 = this.rows; // set by place()
		this.place();
		this.liveU8 = new Uint8Array(64 * U8_STRIDE);
		this.streams = new Int32Array(this.capacity);
		this.liveStreams = new Int32Array(64);
		for (let i = 63; i >= 0; i--) this.free.push(i);
		this.hasher = hasherApi.create64(0n);
		this.hasherU8 = hasherApi.create64(0n);
	}

	/**
	 * Allocates an in-flight row; returns its index in `live`. `stream` is the workload stream
	 * that issued a guest I/O (-1 for filter I/O); it is kept but not digested.
	 */
	open(
		id: number,
		disk: number,
		op: number,
		origin: number,
		lba: number,
		sectors: number,
		issuedAt: number,
		filters: number,
		stream = -1
	): number {
		if (this.free.length === 0) this.grow();
		const r = this.free.pop()!;
		const f = r * F64_STRIDE;
		const live = this.live;
		// -1 marks "never happened" (virtual time is never negative). Not NaN: NaN has many bit
		// patterns and JIT code may produce another, which would change the digest.
		live.fill(-1, f, f + FIXED_F64 + 4 * filters);
		live[f + Col.id] = id;
		live[f + Col.lba] = lba;
		live[f + Col.issuedAt] = issuedAt;
		live[f + Col.sectors] = sectors;
		live[f + Col.disk] = disk;
		live[f + Col.deferredUs] = 0;
		const b = r * U8_STRIDE;
		this.liveU8.fill(0, b, b + FIXED_U8 + 2 * filters);
		this.liveU8[b + ByteCol.op] = op;
		this.liveU8[b + ByteCol.origin] = origin;
		this.liveU8[b + ByteCol.endedBy] = 255;
		this.liveU8[b + ByteCol.filters] = filters;
		this.liveStreams[r] = stream;
		return r;
	}

	/** Completes a live row: copies it to the ring, folds it into the digest, frees it. */
	close(r: number, doneAt: number, status: number): void {
		const f = r * F64_STRIDE;
		const b = r * U8_STRIDE;
		this.live[f + Col.doneAt] = doneAt;
		this.liveU8[b + ByteCol.status] = status;
		const slot = this.completed % this.capacity;
		const rows = this.rows;
		const liveU8 = this.liveU8;
		const ringU8 = this.u8;
		// Only the columns in use, the fixed ones plus the chain's filters: every reader of a row
		// stops at its filter count, and the digest covers just these.
		const nF = liveU8[b + ByteCol.filters];
		const fLen = FIXED_F64 + 4 * nF;
		const uLen = FIXED_U8 + 2 * nF;
		// The live pool starts `rows`, so the live row is at f there too.
		rows.copyWithin(this.ringAt + slot * F64_STRIDE, f, f + fLen);
		// A plain loop for the ~20 bytes: shorter than a call.
		const rb = slot * U8_STRIDE;
		for (let i = 0; i < uLen; i++) ringU8[rb + i] = liveU8[b + i];
		this.streams[slot] = this.liveStreams[r];
		this.completed++;
		const bf = this.batchF64Len;
		rows.copyWithin(this.batchAt + bf, f, f + fLen);
		this.batchF64Len = bf + fLen;
		const batchU8 = this.batchU8;
		const bu = this.batchU8Len;
		for (let i = 0; i < uLen; i++) batchU8[bu + i] = liveU8[b + i];
		this.batchU8Len = bu + uLen;
		if (++this.batchRows === DIGEST_BATCH_ROWS) this.flushDigest();
		this.free.push(r);
	}

	/** Hex digest over every completed row so far (in completion order). */
	digest(): string {
		this.flushDigest();
		// Digest of the streams so far without closing them: xxh64 state is copied by digest().
		const both = new BigUint64Array([this.hasher.digest(), this.hasherU8.digest()]);
		return hasherApi!.h64Raw(new Uint8Array(both.buffer)).toString(16).padStart(16, '0');
	}

	/** Number of completed rows still held in the ring. */
	get held(): number {
		return Math.min(this.completed, this.capacity);
	}

	/** Row by completion index (completed - held ≤ n < completed). */
	row(n: number): TraceRow | undefined {
		if (n < this.completed - this.held || n >= this.completed) return undefined;
		const slot = n % this.capacity;
		const f = slot * F64_STRIDE;
		const b = slot * U8_STRIDE;
		const a = this.f64;
		const u = this.u8;
		const nF = u[b + ByteCol.filters];
		const filters = [];
		for (let k = 0; k < nF; k++) {
			const o = f + FIXED_F64 + 4 * k;
			filters.push({
				downIn: a[o],
				downOut: a[o + 1],
				upIn: a[o + 2],
				upOut: a[o + 3],
				down: u[b + FIXED_U8 + 2 * k],
				up: u[b + FIXED_U8 + 2 * k + 1]
			});
		}
		return {
			id: a[f + Col.id],
			disk: a[f + Col.disk],
			op: u[b + ByteCol.op],
			origin: u[b + ByteCol.origin] === 0 ? 'guest' : 'filter',
			stream: this.streams[slot],
			lba: a[f + Col.lba],
			sectors: a[f + Col.sectors],
			issuedAt: a[f + Col.issuedAt],
			doneAt: a[f + Col.doneAt],
			deviceStart: a[f + Col.deviceStart],
			deviceDone: a[f + Col.deviceDone],
			deferredUs: a[f + Col.deferredUs],
			status: ERROR_CODES[u[b + ByteCol.status]] ?? 'EIO',
			endedBy: u[b + ByteCol.endedBy],
			filters
		};
	}

	private flushDigest(): void {
		if (this.batchRows === 0) return;
		this.hasher.update(new Uint8Array(this.rows.buffer, this.batchAt * 8, this.batchF64Len * 8));
		this.hasherU8.update(this.batchU8.subarray(0, this.batchU8Len));
		this.batchRows = 0;
		this.batchF64Len = 0;
		this.batchU8Len = 0;
	}

	/** Sets the views and offsets of `rows` for a pool of `liveRows` rows. */
	private place(): void {
		this.batchAt = this.liveRows * F64_STRIDE;
		this.ringAt = this.batchAt + DIGEST_BATCH_ROWS * F64_STRIDE;
		this.live = this.rows.subarray(0, this.batchAt);
		this.f64 = this.rows.subarray(this.ringAt);
	}

	/** Doubles the in-flight pool (more rows in flight than ever before); moves batch and ring along. */
	private grow(): void {
		const old = this.liveRows;
		const n = old * 2;
		const rows = new Float64Array((n + DIGEST_BATCH_ROWS + this.capacity) * F64_STRIDE);
		rows.set(this.rows.subarray(0, this.batchAt));
		rows.set(this.rows.subarray(this.batchAt), n * F64_STRIDE);
		this.rows = rows;
		this.liveRows = n;
		this.place();
		const liveU8 = new Uint8Array(n * U8_STRIDE);
		liveU8.set(this.liveU8);
		this.liveU8 = liveU8;
		const liveStreams = new Int32Array(n);
		liveStreams.set(this.liveStreams);
		this.liveStreams = liveStreams;
		for (let i = n - 1; i >= old; i--) this.free.push(i);
	}
}

export const FIXED_F64_COLUMNS = FIXED_F64;
export const FIXED_U8_COLUMNS = FIXED_U8;
