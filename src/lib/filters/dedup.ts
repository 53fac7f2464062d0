/**
 * Inline deduplication (VAIO class compression: data reduction must see plaintext, so it sits
 * above encryption), modelled on dm-vdo.
 *
 * Fixed 4 KiB blocks. Every logical block the guest writes is fingerprinted; equal content is
 * stored once on the backing store (the disk below) and shared through a logical-to-physical map
 * with reference counts. Unique blocks get a physical block from an allocator and are written
 * below; duplicates are not written again, only mapped.
 *
 * Fingerprint: a fast, non-cryptographic hint plus a byte comparison, as VDO does (its UDS index
 * gives "advice" that is verified by reading the candidate block before sharing). The hint is
 * xxh64 (cut to 53 bits) from xxhash-wasm, which the engine already loads for its trace digest.
 * Why not a cryptographic hash (SHA-256) and no comparison? SHA-256 costs several times the CPU
 * of xxh64 on every written block, and trusting a hash is a (tiny) correctness risk that a block
 * device should not take; the comparison costs a read only when the hint matches, i.e. only for
 * blocks that are about to be deduplicated. A hint that matches different bytes is a collision:
 * counted in `hashCollisions`, and the block is stored on its own (never shared wrongly).
 *
 * The I/O path:
 * - Each I/O locks its logical blocks (VDO's logical-block locks), so overlapping I/O never
 *   interleaves; the guest already serialises overlaps, so this only orders filter I/O.
 * - Write: a block the guest writes only in part is read-modify-written (its current content is
 *   read through its physical block, or is zeros if unmapped, merged, then deduplicated whole).
 *   An all-zero block is unmapped instead of stored (optional, as VDO's zero-block elision).
 *   The fingerprint is looked up; a hit is verified (the candidate block is read below, or
 *   compared in memory if its own write is still in flight); then the map is updated, the old
 *   mapping released, and the unique blocks are written below (consecutive physical blocks in
 *   one I/O). The guest's write completes once every block it needs is on the store, including
 *   a shared block whose first write is still in flight.
 * - When a whole aligned write turns into one run of new consecutive physical blocks (a fresh
 *   sequential write), the guest's own I/O is remapped and passed down instead.
 * - Read: never-written blocks read as zeros without touching the store; mapped blocks are read
 *   below (runs of consecutive physical blocks coalesced); a read that maps to one contiguous
 *   physical run is remapped and passed down. A block whose write is in flight is served from
 *   that write's buffer.
 * - Unmap releases the logical blocks (a partial block is zeroed by read-modify-write).
 * - Freed physical blocks (reference count zero) are reused only after the metadata that stopped
 *   referencing them is persisted (else a restart from the older metadata would map a logical
 *   block onto someone else's data); then they are discarded below (unmap) and reused. A persist
 *   starts early once many freed blocks wait (as a journal commits when it fills), and a write
 *   that is short of space waits for it rather than failing.
 * - Concurrent writes of one content (VDO's hash locks): a write whose fingerprint gained advice
 *   while it was comparing compares again with that advice, so one content is stored once.
 *
 * Persistence: the map and the index live in the sidecar (binary, Float64 pairs) with a JSON
 * record; reference counts and the free list are rebuilt from the map on reload (a recovery
 * rebuild). The filter persists on a guest flush (after a flush below, so the map never points at
 * data the store may lose), at snapshot, power-off, suspend, migrate, clone, disk grow, detach,
 * and periodically (`persistIntervalUs`). Writes still in flight are persisted with their old
 * mapping. As for any write-back block device, writes acknowledged after the last persist and not
 * followed by a flush may be lost if the host stops uncleanly.
 *
 * Physical space: the disk's own size (logical capacity = physical capacity; thin). It cannot run
 * out unless the disk is almost full of unique data; then a write fails with ENOSPC.
 *
 * Not modelled: hashing CPU time (VDO hashes on its own threads, off the I/O path), compression
 * (VDO's packer), and importing data written before the filter was attached (as formatting a
 * VDO volume, attaching starts from an empty map). Filters below must replace `io.data` rather
 * than change the buffer in place (the engine's contract): an in-flight write's buffer serves
 * reads and comparisons.
 */
import { DEFER, FILTER_CONTRACT_VERSION, PASS, complete, fail, type ControlEvent, type FilterContext, type FilterDef, type Verdict } from '../engine/filter';
import { allocBuffer, lendReadBuffer } from '../engine/buffers';
import { BLOCK_BYTES, Op, SECTOR_BYTES, SECTORS_PER_BLOCK, type Io, type IoError } from '../engine/io';
import { isPromise, type MaybePromise } from '../engine/storage/sidecar-json';
import { getJson, putJson } from './sdk';
import { PhysicalAllocator } from './dedup/allocator';
import { FingerprintIndex, fingerprint, loadFingerprint } from './dedup/index';
import { BlockMap } from './dedup/map';
import { IntMap } from '../engine/intmap';

export { setFingerprintForTest } from './dedup/index';

const SPB = SECTORS_PER_BLOCK;
const KEY_META = 'dedup.meta';
const KEY_MAP = 'dedup.map';
const KEY_INDEX = 'dedup.index';
const FORMAT_VERSION = 1;
/** Comparison rounds per write before a block is stored without chasing newer advice. */
const MAX_VERIFY_ROUNDS = 4;

/** A physical block whose write is in flight: its bytes, and the writes that share it. */
interface Pending {
	data: Uint8Array;
	waiters: Job[];
	/** Released while in flight (defensive): goes to limbo once the write ends. */
	freeAfter: boolean;
}

const enum Phase {
	ReadOld = 1,
	Verify = 2,
	Write = 3,
	Read = 4
}

/** The empty per-block array a job starts with (never written: each phase makes its own). */
const NONE: never[] = [];

/** One guest I/O (or filter I/O from above) in progress in the filter. */
class Job {
	readonly first: number;
	readonly n: number;
	phase: Phase = Phase.ReadOld;
	/** onIo has returned (so the verdict goes through ctx.resume/complete/fail). */
	late = false;
	verdict: Verdict | undefined = undefined;
	outstanding = 0;
	error: IoError | undefined = undefined;
	/** Rounds of comparison against fresh advice (mapPhase). */
	rounds = 0;
	/** Passed down remapped: lba to restore on the way up, physical run written. */
	passed = false;
	origLba = 0;
	passRunStart = -1;
	// write / unmap: each array is made by the phase that fills it (a read needs none of them)
	content: (Uint8Array | null)[] = NONE;
	/** content[k] is a view of io.data (a full block written by the guest). */
	direct: boolean[] = NONE;
	fp: number[] = NONE;
	cand: number[] = NONE;
	match: boolean[] = NONE;
	/** Physical block chosen per block (-1: unmapped), and whether this job allocated it. */
	phys: number[] = NONE;
	fresh: boolean[] = NONE;
	/** Mapping before this job per block (-1 unmapped, -2 not remapped): persisted while in flight. */
	old: number[] = NONE;
	/** Physical blocks this job freed (undefined: none). */
	freed: number[] | undefined = undefined;
	// read
	out: Uint8Array | undefined = undefined;

	constructor(readonly io: Io) {
		this.first = Math.floor(io.lba / SPB);
		this.n = Math.ceil((io.lba + io.sectors) / SPB) - this.first;
	}
}

interface Stats {
	hashCollisions: number;
	dedupHits: number;
	uniqueWrites: number;
	zeroBlocks: number;
	verifyReads: number;
	rmwReads: number;
	discardedBlocks: number;
	persists: number;
	lockWaits: number;
	spaceWaits: number;
	writeErrors: number;
	passedDown: number;
}

export interface DedupState {
	ctx: FilterContext<DedupState>;
	map: BlockMap;
	index: FingerprintIndex;
	alloc: PhysicalAllocator;
	pending: IntMap<Pending>;
	/** Logical blocks locked by jobs in progress (an IntMap as a set: a Set re-allocates its table as it churns). */
	locks: IntMap<true>;
	lockQueue: Job[];
	waking: boolean;
	wakeAgain: boolean;
	/** Write jobs that changed the map and have not completed. */
	active: Set<Job>;
	/** Freed blocks waiting for a persist before they can be reused. */
	limbo: number[];
	/** Persist early once this many blocks wait (a journal commit when the journal fills). */
	limboThreshold: number;
	/** Blocks freed by writes still in progress (they join limbo when the write completes). */
	freedActive: number;
	/** Writes waiting for freed blocks to become reusable. */
	spaceWaiters: Job[];
	/** Blocks being discarded below (not yet reusable). */
	discarding: number;
	/** Freed blocks taken by the persist in progress (reusable once it has written). */
	releasing: number;
	dirty: boolean;
	persisting: boolean;
	persistWaiters: ((err?: unknown) => void)[];
	timerArmed: boolean;
	zeroElision: boolean;
	discard: boolean;
	intervalUs: number;
	stats: Stats;
}

export const dedup: FilterDef<DedupState> = {
	contract: FILTER_CONTRACT_VERSION,
	name: 'dedup',
	vendor: 'VAIO Playground',
	version: '1.0.0',
	class: 'compression',
	description:
		'Inline 4 KiB deduplication (dm-vdo style): xxh64 hint + byte comparison, logical-to-physical map, reference counts, allocator; map and index in the sidecar.',
	params: [
		{
			name: 'zeroBlocks',
			type: 'bool',
			default: true,
			help: 'All-zero blocks are not stored: they are unmapped and read as zeros (as VDO does).'
		},
		{
			name: 'discard',
			type: 'bool',
			default: true,
			help: 'Unmap freed physical blocks on the disk below, so the thin backing store gives the space back.'
		},
		{
			name: 'indexLimit',
			type: 'int',
			default: 0,
			min: 0,
			max: 2 ** 32,
			unit: 'entries',
			help: 'Largest number of fingerprints kept in the index (oldest forgotten first); 0 = unbounded.'
		},
		{
			name: 'persistIntervalUs',
			type: 'number',
			default: 1_000_000,
			min: 0,
			max: 1e12,
			unit: 'µs',
			help: 'Persist the map and index to the sidecar this long after they change (0 = only on flush and control operations).'
		}
	],

	async attach(ctx) {
		await loadFingerprint();
		const blocks = Math.floor(ctx.disk.sectors / SPB);
		const s: DedupState = {
			ctx,
			map: new BlockMap(),
			index: new FingerprintIndex(ctx.params.indexLimit as number),
			alloc: new PhysicalAllocator(blocks),
			pending: new IntMap(),
			locks: new IntMap(),
			lockQueue: [],
			waking: false,
			wakeAgain: false,
			active: new Set(),
			limbo: [],
			limboThreshold: Math.max(256, blocks >> 6),
			freedActive: 0,
			spaceWaiters: [],
			discarding: 0,
			releasing: 0,
			dirty: false,
			persisting: false,
			persistWaiters: [],
			timerArmed: false,
			zeroElision: ctx.params.zeroBlocks as boolean,
			discard: ctx.params.discard as boolean,
			intervalUs: ctx.params.persistIntervalUs as number,
			stats: {
				hashCollisions: 0,
				dedupHits: 0,
				uniqueWrites: 0,
				zeroBlocks: 0,
				verifyReads: 0,
				rmwReads: 0,
				discardedBlocks: 0,
				persists: 0,
				lockWaits: 0,
				spaceWaits: 0,
				writeErrors: 0,
				passedDown: 0
			}
		};
		await load(s);
		return s;
	},

	async detach(ctx) {
		await persistNow(ctx.state);
	},

	onIo(io, ctx) {
		const s = ctx.state;
		if (io.op === Op.flush) return onFlush(s, io);
		if (io.sectors <= 0 || (io.op !== Op.read && io.op !== Op.write && io.op !== Op.unmap)) return PASS;
		const job = new Job(io);
		io.slots[ctx.index] = job;
		if (queuedOverlap(s, job, s.lockQueue.length) || !tryLock(s, job)) {
			job.late = true;
			s.stats.lockWaits++;
			s.lockQueue.push(job);
			return DEFER;
		}
		start(s, job);
		if (job.verdict) return job.verdict;
		job.late = true;
		return DEFER;
	},

	onDone(io, ctx) {
		const job = io.slots[ctx.index];
		if (!(job instanceof Job)) return PASS;
		const s = ctx.state;
		io.slots[ctx.index] = undefined;
		io.lba = job.origLba;
		if (io.op === Op.write) {
			for (let k = 0; k < job.n; k++) markDurable(s, job.passRunStart + k, io.error);
			commitWrite(s, job);
		}
		unlock(s, job);
		wakeQueue(s);
		return PASS;
	},

	onEvent(event: ControlEvent, ctx) {
		const s = ctx.state;
		switch (event.type) {
			case 'disk-grow':
				s.alloc.grow(Math.floor(event.sectors / SPB));
				s.dirty = true;
				return persistNow(s);
			case 'snapshot-create':
			case 'power-off':
			case 'suspend':
			case 'migrate':
			case 'clone':
			case 'detach':
				return persistNow(s);
			default:
				return;
		}
	},

	// The page's save at rest: the stores are flushed, so the current map (in-flight writes with
	// their old mapping) may be written as it is, without the flush below a persist starts with.
	// Freed blocks stay in limbo and `dirty` stays set: the next persist releases them as usual.
	checkpoint(ctx) {
		const s = ctx.state;
		if (!s.dirty && s.limbo.length === 0 && s.active.size === 0) return;
		return writeSnapshot(s, snapshot(s));
	},

	status(ctx) {
		const s = ctx.state;
		const logical = s.map.l2p.size;
		const physical = s.map.refs.size;
		return {
			logicalBlocks: logical,
			physicalBlocks: physical,
			dedupRatio: physical > 0 ? logical / physical : 1,
			bytesSaved: (logical - physical) * BLOCK_BYTES,
			indexEntries: s.index.size,
			hashCollisions: s.stats.hashCollisions,
			freeBlocks: s.alloc.freeBlocks,
			pendingFreeBlocks: s.limbo.length + s.releasing + s.discarding,
			physicalCapacity: s.alloc.capacity,
			dedupHits: s.stats.dedupHits,
			uniqueWrites: s.stats.uniqueWrites,
			zeroBlocks: s.stats.zeroBlocks,
			verifyReads: s.stats.verifyReads,
			rmwReads: s.stats.rmwReads,
			discardedBlocks: s.stats.discardedBlocks,
			indexEvictions: s.index.evictions,
			persists: s.stats.persists,
			lockWaits: s.stats.lockWaits,
			spaceWaits: s.stats.spaceWaits,
			writeErrors: s.stats.writeErrors,
			passedDown: s.stats.passedDown
		};
	}
};

// ---- verdicts for jobs that may have outlived their onIo call ----

function finish(s: DedupState, job: Job, v: Verdict): void {
	if (!job.late) {
		if (v.kind === 'pass') job.verdict = v;
		else {
			// Completed without waiting (zeros, an unmap of unmapped blocks): still completed from a
			// new event, because the engine re-enters the guest from a completion and a long run of
			// synchronous completions would nest without bound.
			job.verdict = DEFER;
			s.ctx.after(0, () => {
				job.late = true;
				finish(s, job, v);
			});
		}
		return;
	}
	const ctx = s.ctx;
	switch (v.kind) {
		case 'pass':
			ctx.resume(job.io);
			return;
		case 'complete':
			ctx.complete(job.io, v.data);
			return;
		case 'fail':
			ctx.fail(job.io, v.error.code, v.error.message);
			return;
	}
}

function ioError(code: IoError['code'], message: string): IoError {
	return { code, message, source: 'dedup' };
}

// ---- logical-block locks ----

function tryLock(s: DedupState, job: Job): boolean {
	const end = job.first + job.n;
	for (let b = job.first; b < end; b++) if (s.locks.has(b)) return false;
	for (let b = job.first; b < end; b++) s.locks.set(b, true);
	return true;
}

function unlock(s: DedupState, job: Job): void {
	const end = job.first + job.n;
	for (let b = job.first; b < end; b++) s.locks.delete(b);
}

/** A queued job ahead of position `upto` overlaps `job` (waiting I/O keeps its order). */
function queuedOverlap(s: DedupState, job: Job, upto: number): boolean {
	const q = s.lockQueue;
	for (let i = 0; i < upto; i++) {
		const o = q[i];
		if (o.first < job.first + job.n && job.first < o.first + o.n) return true;
	}
	return false;
}

function wakeQueue(s: DedupState): void {
	if (s.waking) {
		s.wakeAgain = true;
		return;
	}
	s.waking = true;
	do {
		s.wakeAgain = false;
		for (let i = 0; i < s.lockQueue.length; ) {
			const job = s.lockQueue[i];
			if (!queuedOverlap(s, job, i) && tryLock(s, job)) {
				s.lockQueue.splice(i, 1);
				start(s, job);
			} else i++;
		}
	} while (s.wakeAgain);
	s.waking = false;
}

function start(s: DedupState, job: Job): void {
	if (job.io.op === Op.read) startRead(s, job);
	else startWrite(s, job);
}

function advance(s: DedupState, job: Job): void {
	switch (job.phase) {
		case Phase.ReadOld:
			return verifyPhase(s, job);
		case Phase.Verify:
			return mapPhase(s, job);
		case Phase.Write:
			return endWrite(s, job);
		case Phase.Read:
			return endRead(s, job);
	}
}

// ---- reads ----

function startRead(s: DedupState, job: Job): void {
	job.phase = Phase.Read;
	const io = job.io;
	const lba = io.lba;
	const end = lba + io.sectors;
	// One contiguous run of durable physical blocks: remap the I/O and pass it down.
	let contiguous = true;
	let expect = -1;
	let runStart = -1;
	for (let k = 0; k < job.n; k++) {
		const b = job.first + k;
		const p = s.map.get(b);
		if (p === undefined || s.pending.has(p)) {
			contiguous = false;
			break;
		}
		const lo = lba > b * SPB ? lba : b * SPB;
		const below = p * SPB + (lo - b * SPB);
		if (k === 0) runStart = below;
		else if (below !== expect) {
			contiguous = false;
			break;
		}
		const hi = end < (b + 1) * SPB ? end : (b + 1) * SPB;
		expect = below + (hi - lo);
	}
	if (contiguous) {
		job.passed = true;
		job.origLba = lba;
		io.lba = runStart;
		s.stats.passedDown++;
		finish(s, job, PASS);
		return;
	}
	// A pooled buffer the engine takes back once the guest has the data; zeroed first, so
	// never-written blocks are left as they are.
	const out = lendReadBuffer(io.sectors * SECTOR_BYTES);
	out.fill(0);
	job.out = out;
	let runFrom = -1;
	let runSectors = 0;
	let runOut = 0;
	for (let k = 0; k < job.n; k++) {
		const b = job.first + k;
		const lo = lba > b * SPB ? lba : b * SPB;
		const hi = end < (b + 1) * SPB ? end : (b + 1) * SPB;
		const slot = lo - b * SPB;
		const outOff = (lo - lba) * SECTOR_BYTES;
		const p = s.map.get(b);
		const pend = p === undefined ? undefined : s.pending.get(p);
		if (p === undefined || pend) {
			if (pend) out.set(pend.data.subarray(slot * SECTOR_BYTES, (slot + hi - lo) * SECTOR_BYTES), outOff);
			// else: never written, zeros (out is zero-filled)
			continue;
		}
		const below = p * SPB + slot;
		if (runSectors > 0 && runFrom + runSectors === below && runOut + runSectors * SECTOR_BYTES === outOff) {
			runSectors += hi - lo;
			continue;
		}
		if (runSectors > 0) readRun(s, job, runFrom, runSectors, runOut);
		runFrom = below;
		runSectors = hi - lo;
		runOut = outOff;
	}
	if (runSectors > 0) readRun(s, job, runFrom, runSectors, runOut);
	if (job.outstanding === 0) endRead(s, job);
}

function readRun(s: DedupState, job: Job, from: number, sectors: number, outOff: number): void {
	job.outstanding++;
	s.ctx.submitBelow(Op.read, from, sectors, undefined, (bio) => {
		if (bio.error) job.error ??= ioError('EIO', `dedup: read of physical sectors ${from}+${sectors} failed: ${bio.error.message}`);
		else job.out!.set(bio.data!, outOff);
		if (--job.outstanding === 0) advance(s, job);
	});
}

function endRead(s: DedupState, job: Job): void {
	job.io.slots[s.ctx.index] = undefined;
	unlock(s, job);
	if (job.error) finish(s, job, { kind: 'fail', error: job.error });
	else finish(s, job, complete(job.out));
	wakeQueue(s);
}

// ---- writes and unmaps ----

function startWrite(s: DedupState, job: Job): void {
	job.phase = Phase.ReadOld;
	const io = job.io;
	const lba = io.lba;
	const end = lba + io.sectors;
	const isWrite = io.op === Op.write;
	const data = io.data;
	if (isWrite && (!data || data.length !== io.sectors * SECTOR_BYTES)) {
		io.slots[s.ctx.index] = undefined;
		unlock(s, job);
		finish(s, job, { kind: 'fail', error: ioError('EINVAL', `dedup: write of ${io.sectors} sectors carries ${data?.length ?? 0} bytes`) });
		wakeQueue(s);
		return;
	}
	const n = job.n;
	job.content = new Array(n);
	job.direct = new Array(n);
	for (let k = 0; k < n; k++) {
		const b = job.first + k;
		const lo = lba > b * SPB ? lba : b * SPB;
		const hi = end < (b + 1) * SPB ? end : (b + 1) * SPB;
		const src = (lo - lba) * SECTOR_BYTES;
		if (hi - lo === SPB) {
			job.content[k] = isWrite ? data!.subarray(src, src + BLOCK_BYTES) : null;
			job.direct[k] = isWrite;
			continue;
		}
		// A partial block: read-modify-write of the logical block.
		const slot = lo - b * SPB;
		const buf = allocBuffer(BLOCK_BYTES);
		job.content[k] = buf;
		job.direct[k] = false;
		const merge = () => {
			if (isWrite) buf.set(data!.subarray(src, src + (hi - lo) * SECTOR_BYTES), slot * SECTOR_BYTES);
			else buf.fill(0, slot * SECTOR_BYTES, (slot + hi - lo) * SECTOR_BYTES);
		};
		const p = s.map.get(b);
		const pend = p === undefined ? undefined : s.pending.get(p);
		if (p === undefined || pend) {
			if (pend) buf.set(pend.data);
			merge();
			continue;
		}
		job.outstanding++;
		s.stats.rmwReads++;
		s.ctx.submitBelow(Op.read, p * SPB, SPB, undefined, (bio) => {
			if (bio.error) job.error ??= ioError('EIO', `dedup: read-modify-write read of physical block ${p} failed: ${bio.error.message}`);
			else buf.set(bio.data!);
			merge();
			if (--job.outstanding === 0) advance(s, job);
		});
	}
	if (job.outstanding === 0) verifyPhase(s, job);
}

/** Fingerprints each block and verifies index hits against the candidate's bytes. */
function verifyPhase(s: DedupState, job: Job): void {
	job.phase = Phase.Verify;
	if (job.error) {
		// Nothing changed yet: the write fails as a whole.
		endWrite(s, job);
		return;
	}
	const n = job.n;
	job.fp = new Array(n);
	job.cand = new Array(n).fill(-1);
	job.match = new Array(n).fill(false);
	for (let k = 0; k < n; k++) {
		const c = job.content[k];
		if (c === null) continue;
		if (s.zeroElision && isZero(c)) {
			job.content[k] = null;
			s.stats.zeroBlocks++;
			continue;
		}
		const fp = fingerprint(c);
		job.fp[k] = fp;
		const cand = s.index.lookup(fp);
		if (cand === undefined) continue;
		// Hold the candidate so it cannot be freed while we compare.
		s.map.ref(cand);
		job.cand[k] = cand;
		const pend = s.pending.get(cand);
		if (pend) {
			job.match[k] = equalBlocks(pend.data, c);
			if (!job.match[k]) s.stats.hashCollisions++;
			continue;
		}
		verifyRead(s, job, k, cand);
	}
	if (job.outstanding === 0) mapPhase(s, job);
}

/** Reads candidate `p` below and compares it with block k's content. */
function verifyRead(s: DedupState, job: Job, k: number, p: number): void {
	const c = job.content[k]!;
	job.outstanding++;
	s.stats.verifyReads++;
	s.ctx.submitBelow(Op.read, p * SPB, SPB, undefined, (bio) => {
		if (!bio.error) {
			job.match[k] = equalBlocks(bio.data!, c);
			if (!job.match[k]) s.stats.hashCollisions++;
		}
		if (--job.outstanding === 0) advance(s, job);
	});
}

/** Decides each block's physical block, updates the map, and writes the unique blocks. */
function mapPhase(s: DedupState, job: Job): void {
	const n = job.n;
	// Advice that appeared while this write compared (another write of the same content became
	// durable): compare again with it rather than store a second copy (VDO serialises such
	// writes with hash locks). Bounded, so a write cannot chase advice forever.
	if (job.rounds < MAX_VERIFY_ROUNDS) {
		job.rounds++;
		for (let k = 0; k < n; k++) {
			if (job.content[k] === null || job.match[k]) continue;
			const e = s.index.lookup(job.fp[k]);
			if (e === undefined || e === job.cand[k]) continue;
			s.map.ref(e);
			if (job.cand[k] >= 0) dropRef(s, job, job.cand[k]);
			job.cand[k] = e;
			const pend = s.pending.get(e);
			if (pend) {
				job.match[k] = equalBlocks(pend.data, job.content[k]!);
				if (!job.match[k]) s.stats.hashCollisions++;
			} else verifyRead(s, job, k, e);
		}
		if (job.outstanding > 0) {
			job.phase = Phase.Verify;
			return;
		}
	}
	// Freed blocks become reusable only after a persist: when they are what is missing, wait.
	let needed = 0;
	for (let k = 0; k < n; k++) if (job.content[k] !== null && !job.match[k]) needed++;
	if (needed > s.alloc.freeBlocks && (s.limbo.length > 0 || s.releasing > 0 || s.discarding > 0 || s.freedActive > 0)) {
		s.stats.spaceWaits++;
		s.spaceWaiters.push(job);
		kickPersist(s);
		return;
	}
	job.phase = Phase.Write;
	const map = s.map;
	job.phys = new Array(n).fill(-1);
	job.fresh = new Array(n).fill(false);
	job.old = new Array(n).fill(-2);
	s.active.add(job);
	let k = 0;
	for (; k < n; k++) {
		const b = job.first + k;
		const c = job.content[k];
		let p = -1;
		let hold = -1;
		if (c !== null) {
			const cand = job.cand[k];
			if (cand >= 0 && job.match[k]) {
				p = cand;
				hold = cand;
			} else {
				if (cand >= 0) dropRef(s, job, cand);
				// Advice may have appeared meanwhile (an earlier block of this write, or another
				// write in flight): share it if its bytes are in memory and equal.
				const e = s.index.lookup(job.fp[k]);
				const pend = e === undefined ? undefined : s.pending.get(e);
				if (pend && e !== cand) {
					if (equalBlocks(pend.data, c)) {
						p = e!;
						map.ref(p);
						hold = p;
					} else s.stats.hashCollisions++;
				}
				if (p < 0) {
					p = s.alloc.allocate();
					if (p < 0) {
						job.error = ioError('ENOSPC', 'dedup: no free physical block');
						break;
					}
					s.pending.set(p, { data: c, waiters: [], freeAfter: false });
					s.index.insert(job.fp[k], p);
					job.fresh[k] = true;
					s.stats.uniqueWrites++;
				}
			}
		}
		job.phys[k] = p;
		const old = map.remap(b, p < 0 ? undefined : p);
		job.old[k] = old;
		if (hold >= 0) {
			map.unref(hold);
			s.stats.dedupHits++;
			const pend = s.pending.get(hold);
			if (pend) {
				pend.waiters.push(job);
				job.outstanding++;
			}
		}
		if (old >= 0) dropRef(s, job, old);
	}
	// After ENOSPC: release the holds of the blocks not processed.
	for (k++; k < n; k++) if (job.cand[k] >= 0) dropRef(s, job, job.cand[k]);
	writeRuns(s, job);
	if (job.outstanding === 0 && !job.passed) endWrite(s, job);
}

/** Writes this job's new physical blocks below, consecutive ones in one I/O. */
function writeRuns(s: DedupState, job: Job): void {
	const io = job.io;
	const n = job.n;
	let k = 0;
	while (k < n) {
		if (!job.fresh[k]) {
			k++;
			continue;
		}
		const k0 = k;
		const p0 = job.phys[k0];
		let direct = job.direct[k0];
		k++;
		while (k < n && job.fresh[k] && job.phys[k] === p0 + (k - k0)) {
			direct &&= job.direct[k];
			k++;
		}
		const len = k - k0;
		if (len === n && direct && job.outstanding === 0 && !job.error) {
			// The whole aligned write is one run of new blocks: remap the guest's I/O itself.
			job.passed = true;
			job.origLba = io.lba;
			job.passRunStart = p0;
			io.lba = p0 * SPB;
			s.stats.passedDown++;
			finish(s, job, PASS);
			return;
		}
		let buf: Uint8Array;
		if (len === 1) buf = job.content[k0]!;
		else if (direct) {
			const off = ((job.first + k0) * SPB - io.lba) * SECTOR_BYTES;
			buf = io.data!.subarray(off, off + len * BLOCK_BYTES);
		} else {
			buf = allocBuffer(len * BLOCK_BYTES);
			for (let j = 0; j < len; j++) buf.set(job.content[k0 + j]!, j * BLOCK_BYTES);
		}
		job.outstanding++;
		s.ctx.submitBelow(Op.write, p0 * SPB, len * SPB, buf, (bio) => {
			if (bio.error) job.error ??= ioError('EIO', `dedup: write of physical blocks ${p0}+${len} failed: ${bio.error.message}`);
			for (let j = 0; j < len; j++) markDurable(s, p0 + j, bio.error);
			if (--job.outstanding === 0) advance(s, job);
		});
	}
}

function endWrite(s: DedupState, job: Job): void {
	job.io.slots[s.ctx.index] = undefined;
	commitWrite(s, job);
	unlock(s, job);
	if (job.error) finish(s, job, { kind: 'fail', error: job.error });
	else finish(s, job, complete());
	wakeQueue(s);
}

/** The write's map changes are now the committed state (the next persist records them). */
function commitWrite(s: DedupState, job: Job): void {
	if (!s.active.delete(job)) return;
	if (job.freed) {
		for (const p of job.freed) s.limbo.push(p);
		s.freedActive -= job.freed.length;
	}
	markDirty(s);
	if (s.limbo.length >= s.limboThreshold || s.spaceWaiters.length > 0) kickPersist(s);
}

/** A physical block's write ended: reads now go below; writes sharing it may complete. */
function markDurable(s: DedupState, p: number, err: IoError | undefined): void {
	const pend = s.pending.get(p);
	if (!pend) return;
	s.pending.delete(p);
	if (err) {
		// The block's content is unknown: no new write may share it.
		s.index.removePhys(p);
		s.stats.writeErrors++;
	}
	if (pend.freeAfter) {
		s.limbo.push(p);
		markDirty(s);
	}
	for (const w of pend.waiters) {
		if (err) w.error ??= ioError('EIO', `dedup: shared physical block ${p} failed to write: ${err.message}`);
		if (--w.outstanding === 0) advance(s, w);
	}
}

/** Drops one reference; a block that is no longer referenced leaves the index and is freed. */
function dropRef(s: DedupState, job: Job, p: number): void {
	if (!s.map.unref(p)) return;
	s.index.removePhys(p);
	const pend = s.pending.get(p);
	if (pend) pend.freeAfter = true;
	else {
		(job.freed ??= []).push(p);
		s.freedActive++;
	}
}

// ---- persistence ----

function markDirty(s: DedupState): void {
	s.dirty = true;
	armTimer(s);
}

/** Schedules a periodic persist (once; re-armed while there are changes to persist). */
function armTimer(s: DedupState): void {
	if (s.intervalUs > 0 && !s.timerArmed) {
		s.timerArmed = true;
		s.ctx.after(s.intervalUs, () => {
			s.timerArmed = false;
			if (s.dirty && !s.persisting) startPersist(s);
		});
	}
}

/** Starts a persist if freed blocks wait for one. */
function kickPersist(s: DedupState): void {
	if (!s.persisting && s.limbo.length > 0) startPersist(s);
}

/** Writes that waited for space try again (those still short wait again or fail). */
function retrySpace(s: DedupState): void {
	const waiting = s.spaceWaiters;
	s.spaceWaiters = [];
	for (const job of waiting) mapPhase(s, job);
}

function onFlush(s: DedupState, io: Io): Verdict {
	if (!s.dirty && !s.persisting) return PASS;
	s.persistWaiters.push((err) => {
		if (err) s.ctx.fail(io, 'EIO', `dedup: metadata persist failed: ${errText(err)}`);
		else s.ctx.resume(io);
	});
	if (!s.persisting) startPersist(s);
	return DEFER;
}

/** Persists now (or right after the persist in progress); resolves when done. */
function persistNow(s: DedupState): Promise<void> {
	if (!s.dirty && !s.persisting && s.limbo.length === 0) return Promise.resolve();
	return new Promise((resolve, reject) => {
		s.persistWaiters.push((err) => (err ? reject(err) : resolve()));
		if (!s.persisting) startPersist(s);
	});
}

/**
 * Flushes the store below, then writes the map (with in-flight writes' old mappings), the index
 * and the record to the sidecar; then the blocks freed before the snapshot are discarded and
 * reused. Waiters registered meanwhile get the next persist.
 */
function startPersist(s: DedupState): void {
	s.persisting = true;
	s.dirty = false;
	const waiters = s.persistWaiters;
	s.persistWaiters = [];
	const releasable = s.limbo;
	s.limbo = [];
	s.releasing = releasable.length;
	const snap = snapshot(s);
	const ctx = s.ctx;
	const done = (err?: unknown) => {
		s.releasing = 0;
		if (err) {
			ctx.log(`metadata persist failed: ${errText(err)}`);
			for (const p of releasable) s.limbo.push(p);
			s.dirty = true;
			end(err);
		} else release(s, releasable, () => end(undefined));
	};
	const end = (err: unknown) => {
		s.persisting = false;
		if (!err) s.stats.persists++;
		for (const w of waiters) w(err);
		if (s.spaceWaiters.length > 0) retrySpace(s);
		if (s.persisting) return;
		if (s.persistWaiters.length > 0 || (s.spaceWaiters.length > 0 && s.limbo.length > 0)) startPersist(s);
		else if (s.dirty) armTimer(s);
	};
	ctx.submitBelow(Op.flush, 0, 0, undefined, (fio) => {
		if (fio.error) {
			done(new Error(`flush below failed: ${fio.error.message}`));
			return;
		}
		// A timer callback, so that an asynchronous sidecar is awaited by the run loop.
		ctx.after(0, () => settleMaybe(() => writeSnapshot(s, snap), done));
	});
}

interface Snapshot {
	meta: Record<string, number | string>;
	map: Uint8Array;
	index: Uint8Array;
}

function snapshot(s: DedupState): Snapshot {
	// Writes in flight are recorded with the mapping they replace.
	let override: Map<number, number> | undefined;
	if (s.active.size > 0) {
		override = new Map();
		for (const job of s.active) for (let k = 0; k < job.n; k++) if (job.old[k] !== -2) override.set(job.first + k, job.old[k]);
	}
	const map = s.map.encode(override);
	// Index entries only for blocks the persisted map references.
	let referenced: Set<number> | undefined;
	if (override) {
		referenced = new Set();
		const a = new Float64Array(map.buffer, map.byteOffset, map.byteLength >>> 3);
		for (let i = 1; i < a.length; i += 2) referenced.add(a[i]);
	}
	const index = s.index.encode((p) => (referenced ? referenced.has(p) : !s.pending.has(p) && s.map.refs.has(p)));
	const st = s.stats;
	return {
		map,
		index,
		meta: {
			format: FORMAT_VERSION,
			fingerprint: 'xxh64-53',
			blockBytes: BLOCK_BYTES,
			capacity: s.alloc.capacity,
			high: s.alloc.high,
			mapBytes: map.byteLength,
			indexBytes: index.byteLength,
			hashCollisions: st.hashCollisions,
			dedupHits: st.dedupHits,
			uniqueWrites: st.uniqueWrites,
			zeroBlocks: st.zeroBlocks,
			verifyReads: st.verifyReads,
			rmwReads: st.rmwReads,
			discardedBlocks: st.discardedBlocks,
			persists: st.persists + 1
		}
	};
}

function writeSnapshot(s: DedupState, snap: Snapshot): MaybePromise<void> {
	const sc = s.ctx.sidecar;
	// The record goes last: it names the sizes of the two tables it belongs with.
	return sequence([() => sc.set(KEY_MAP, snap.map), () => sc.set(KEY_INDEX, snap.index), () => putJson(sc, KEY_META, snap.meta)]);
}

/** Reads the sidecar (after a restart) and rebuilds reference counts and the free list. */
async function load(s: DedupState): Promise<void> {
	const sc = s.ctx.sidecar;
	const meta = await getJson<Record<string, number | string>>(sc, KEY_META);
	if (meta === undefined) return;
	if (meta.format !== FORMAT_VERSION || meta.blockBytes !== BLOCK_BYTES)
		throw new Error(`dedup: sidecar format ${String(meta.format)} is not supported (expected ${FORMAT_VERSION})`);
	const mapBytes = (await sc.get(KEY_MAP)) ?? new Uint8Array(0);
	const indexBytes = (await sc.get(KEY_INDEX)) ?? new Uint8Array(0);
	if (mapBytes.byteLength !== meta.mapBytes || indexBytes.byteLength !== meta.indexBytes)
		throw new Error('dedup: sidecar tables do not match their record (torn metadata)');
	s.map.decode(mapBytes);
	const refs = s.map.refs;
	s.index.decode(indexBytes, (p) => refs.has(p));
	s.alloc.grow(Number(meta.capacity));
	s.alloc.rebuild(Number(meta.high), (p) => refs.has(p));
	const st = s.stats;
	for (const k of ['hashCollisions', 'dedupHits', 'uniqueWrites', 'zeroBlocks', 'verifyReads', 'rmwReads', 'discardedBlocks', 'persists'] as const)
		st[k] = Number(meta[k]) || 0;
	s.ctx.log(`reloaded: ${s.map.l2p.size} logical blocks on ${refs.size} physical blocks, ${s.index.size} index entries`);
}

/** Discards freed blocks below (coalesced), then makes them allocatable; `done` when all are. */
function release(s: DedupState, blocks: number[], done: () => void): void {
	if (blocks.length === 0 || !s.discard) {
		for (const p of blocks) s.alloc.release(p);
		done();
		return;
	}
	blocks.sort((a, b) => a - b);
	let outstanding = 0;
	s.discarding += blocks.length;
	let i = 0;
	while (i < blocks.length) {
		const p0 = blocks[i];
		let len = 1;
		while (i + len < blocks.length && blocks[i + len] === p0 + len) len++;
		i += len;
		outstanding++;
		s.ctx.submitBelow(Op.unmap, p0 * SPB, len * SPB, undefined, () => {
			// A failed discard leaves stale bytes in a free block: harmless, it is rewritten before use.
			for (let j = 0; j < len; j++) s.alloc.release(p0 + j);
			s.discarding -= len;
			s.stats.discardedBlocks += len;
			if (--outstanding === 0) done();
		});
	}
}

// ---- small helpers ----

/** Runs steps in order, synchronously while they are synchronous. */
function sequence(steps: (() => MaybePromise<void>)[]): MaybePromise<void> {
	for (let i = 0; i < steps.length; i++) {
		const r = steps[i]();
		if (isPromise(r)) return r.then(() => sequence(steps.slice(i + 1)));
	}
}

function settleMaybe(fn: () => MaybePromise<void>, cb: (err?: unknown) => void): MaybePromise<void> {
	let r: MaybePromise<void>;
	try {
		r = fn();
	} catch (e) {
		cb(e);
		return;
	}
	if (isPromise(r))
		return r.then(
			() => cb(),
			(e) => cb(e)
		);
	cb();
}

function errText(e: unknown): string {
	return e instanceof Error ? e.message : String(e);
}

function isZero(b: Uint8Array): boolean {
	if ((b.byteOffset & 3) === 0) {
		const w = new Int32Array(b.buffer, b.byteOffset, b.byteLength >>> 2);
		for (let i = 0; i < w.length; i++) if (w[i] !== 0) return false;
		return true;
	}
	for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
	return true;
}

function equalBlocks(a: Uint8Array, b: Uint8Array): boolean {
	if (a.length !== b.length) return false;
	if ((a.byteOffset & 3) === 0 && (b.byteOffset & 3) === 0) {
		const x = new Int32Array(a.buffer, a.byteOffset, a.byteLength >>> 2);
		const y = new Int32Array(b.buffer, b.byteOffset, b.byteLength >>> 2);
		for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
		return true;
	}
	for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
	return true;
}

/**
 * Consistency checks for tests (call when no I/O is in flight): reference counts equal the
 * map's, the index points only at referenced blocks, no referenced block is free.
 */
export function dedupInvariants(s: DedupState): string[] {
	const bad: string[] = [];
	const counts = new Map<number, number>();
	for (const p of s.map.l2p.values()) counts.set(p, (counts.get(p) ?? 0) + 1);
	if (counts.size !== s.map.refs.size) bad.push(`refs has ${s.map.refs.size} blocks, the map references ${counts.size}`);
	for (const [p, n] of counts) if (s.map.refCount(p) !== n) bad.push(`block ${p}: refcount ${s.map.refCount(p)}, map references ${n}`);
	for (const [, p] of s.index.entries()) if (!counts.has(p)) bad.push(`index points at unreferenced block ${p}`);
	const limbo = new Set(s.limbo);
	for (const p of counts.keys()) {
		if (p < 0 || p >= s.alloc.high) bad.push(`block ${p} is beyond the allocator's mark ${s.alloc.high}`);
		else if (s.alloc.isFree(p)) bad.push(`referenced block ${p} is on the free list`);
		if (limbo.has(p)) bad.push(`referenced block ${p} is waiting to be freed`);
	}
	const waiting = s.limbo.length + s.releasing + s.discarding;
	const accounted = s.map.refs.size + s.alloc.freeBlocks + waiting;
	if (accounted !== s.alloc.capacity) bad.push(`blocks: ${s.map.refs.size} used + ${s.alloc.freeBlocks} free + ${waiting} pending ≠ ${s.alloc.capacity}`);
	if (s.pending.size > 0) bad.push(`${s.pending.size} physical writes still pending`);
	if (s.locks.size > 0 || s.lockQueue.length > 0) bad.push('logical blocks still locked');
	if (s.spaceWaiters.length > 0 || s.freedActive !== 0 || s.active.size > 0) bad.push('writes still in progress');
	return bad;
}
