/**
 * cache (VAIO class "cache"): a host-local SSD read/write cache in front of the datastore, in
 * 4 KiB cache blocks, as the VAIO caching products (and Linux dm-cache / flashcache) do it.
 *
 * Devices: `ssd` (default NVMe), with its own timing model and store; cache slot i lives at SSD
 * sectors [8i, 8i+8). The replacement policy (lru, arc, s3fifo: src/lib/filters/cache/) only
 * decides (resident? admit? which victim?); this file moves the data, as dm-cache-policy.h splits
 * it.
 *
 * Modes
 * - write-through: writes go to the datastore and update the cache; the guest's write completes
 *   when both the datastore and the SSD have it.
 * - write-back: writes go to the SSD only (dirty blocks) and complete at SSD speed; a destager
 *   writes dirty blocks to the datastore in the background at `destageMBps` (full speed when
 *   dirty blocks exceed `dirtyHighPct`, when no clean victim is left, for a guest flush and for a
 *   control operation). With `flushMode` destage (the default) a guest flush completes only after
 *   every block dirty when it arrived is on the datastore (SCSI SYNCHRONIZE CACHE: durable even if
 *   this host is lost); with `flushMode` commit it goes straight down, as in dm-cache and bcache
 *   (acknowledged writes are on the SSD with their records committed already). snapshot-create, migrate, clone, suspend,
 *   power-off and detach destage everything first.
 * - write-around (read cache): writes go to the datastore and invalidate cached copies; only read
 *   misses populate the cache.
 * Write-back protection (`writeBackPeers`, cache/peer.ts): each dirty block is also copied to
 * peer hosts' flash over the `peer` link, and a write-back write completes only once the peers
 * acknowledged it; after a host crash the cache where the VM restarts recovers the undestaged
 * dirty blocks from the peers and destages them. Without it (0, the default) a crash of the host
 * loses every dirty block not yet destaged.
 * In every mode a read of resident blocks is completed by the filter from the SSD (or from memory
 * while the block's SSD write is still in flight) and never reaches the datastore; a read miss
 * goes down and, on the way up, copies every fully covered 4 KiB block into the cache in the
 * background (the guest's completion is not delayed).
 *
 * Unaligned I/O (chosen: read-modify-write when the block is cached, bypass when it is not)
 * - A read that touches part of a cached block reads just those sectors from the SSD slot.
 *   A read miss populates only the blocks it covers fully.
 * - A write covering part of a cached block merges the new sectors into the cached copy (RMW:
 *   from memory, or an SSD read first) in write-back and in write-through for dirty blocks and
 *   for blocks whose copy is in memory; a clean cached block whose copy is only on the SSD is
 *   invalidated instead (write-through / write-around) rather than paying an SSD read.
 * - A write-back write that covers part of a block that is not cached bypasses the cache: the
 *   whole write goes to the datastore as in write-through (its fully covered blocks are cached
 *   clean, cached blocks it touches are updated or invalidated as above), so no read from the
 *   datastore is ever needed to complete a guest write.
 * The same bypass applies when no clean victim can be freed (every candidate dirty or busy).
 *
 * Concurrency. The guest serialises guest I/O whose sectors overlap (I/O that only shares a
 * 4 KiB block runs concurrently), and I/O issued by filters above is not serialised at all, so
 * writes and unmaps are serialised per block here (a later overlapping write waits; a
 * read-modify-write never works on a copy that another write is changing), and a read miss does not populate a block that a write touched while the read was
 * in flight (what it read may be older). The filter's own background I/O is not serialised
 * against any of it, so each slot has state: a generation number bumped on every content
 * change, an in-memory copy while its SSD write is in flight (read hits are served from it;
 * SSD writes of one slot are serialised so they land in order), pins (SSD reads in flight), and
 * DESTAGING. A destage marks a block clean only if its generation did not change meanwhile (a
 * write-back write during a destage leaves it dirty); a write that must go to the datastore
 * waits while a destage of a block it touches is in flight (so old data cannot land after new).
 * Dirty, busy or pinned blocks are never evicted; a read miss that touches dirty cached blocks
 * pins them and overlays their cached data on what the datastore returned.
 *
 * Persistence (sidecar). Keys: `cache.meta` (JSON: layout and capacity), `cache.map.<k>` (1024
 * slots per chunk, one float64 each: -1 free, b = block b clean, -(b+2) = block b dirty) and
 * `cache.hints` (the policy's order, written at control operations and detach). The map is
 * what a crash must not corrupt, so it follows three rules (flashcache writes its metadata
 * the same way):
 *   1. a slot is recorded as holding block b only after b's data has landed on the SSD;
 *   2. a slot freed by eviction or invalidation is recorded free, and that record committed,
 *      before new data is written into it;
 *   3. a guest write completes only after the records it needs are committed: a dirty block's
 *      record (write-back) and any invalidation it caused.
 * Commits are group commits: one commit writes every changed chunk (booked as one SSD write on
 * the SSD's timing model) and serves every waiter. Changes no write waits for (populations,
 * destages) are committed at the next commit or at the latest `commitIntervalMs` of virtual time
 * later; at control operations and detach everything is committed. After a restart the cache
 * comes back warm, with its dirty blocks, which the destager then writes back.
 * If the stored capacity differs from the parameter, a cache with dirty blocks keeps the stored
 * capacity (logged); a clean one starts cold with the new capacity.
 */
import {
	DEFER,
	FILTER_CONTRACT_VERSION,
	PASS,
	complete,
	fail,
	type ControlEvent,
	type FilterContext,
	type FilterDef,
	type FilterDevice,
	type Verdict
} from '../engine/filter';
import { acquireWriteBuffer, lendReadBuffer, releaseWriteBuffer } from '../engine/buffers';
import { BLOCK_BYTES, Op, SECTOR_BYTES, SECTORS_PER_BLOCK, type Io } from '../engine/io';
import { IntMap } from '../engine/intmap';
import { Batch } from '../engine/batch';
import type { LinkModel } from '../engine/devices/types';
import { deviceIo, getJson, putJson } from './sdk';
import { POLICY_NAMES, S3_PROMOTE_HITS_DEFAULT, createPolicy, type CachePolicy, type PolicyName } from './cache/policies';
import { peerCopyOf, type PeerCopy } from './cache/peer';

export type CacheMode = 'write-through' | 'write-back' | 'write-around';
export const CACHE_MODES: readonly CacheMode[] = ['write-through', 'write-back', 'write-around'];

const SPB = SECTORS_PER_BLOCK;

// Slot flags.
const VALID = 1;
const DIRTY = 2;
const SSD_BUSY = 4;
const DESTAGING = 8;
const QUEUED = 16;
const WAIT_COMMIT = 32;
const IN_FREE = 64;

/** Slots per sidecar map chunk. */
export const CHUNK_SLOTS = 1024;
export const KEY_META = 'cache.meta';
export const KEY_HINTS = 'cache.hints';
export const chunkKey = (k: number): string => `cache.map.${k}`;
/** A slot's map record as stored: -1 free, b = block b clean, -(b+2) = block b dirty. */
const encodeRec = (block: number, dirty: number): number => (block < 0 ? -1 : dirty ? -(block + 2) : block);

interface CacheMeta {
	version: 1;
	capacityBlocks: number;
	chunkSlots: number;
	/** Policy whose order is in cache.hints. */
	hintsPolicy?: string;
}

const ZERO_BLOCK = new Uint8Array(BLOCK_BYTES);
/**
 * Timing-only mode moves no bytes: a slot's "content" is this shared placeholder, so the cache's
 * metadata (residency, dirty state, SSD writes, destage) runs exactly as with data. Never written.
 */
const TIMING_BLOCK = new Uint8Array(BLOCK_BYTES);
const WB = 1;
const THROUGH = 2;
/** Delay before a failed destage is retried, µs. */
const DESTAGE_RETRY_US = 1000;
/** Bytes of a dirty block's copy to a peer beyond its data (block number, sequence, checksum). */
const PEER_HEADER_BYTES = 64;

/** Per-guest-write state (in io.slots[index]). */
class WriteOp {
	kind = 0;
	/** Cache-side work the write waits for (SSD writes landing, RMW reads). */
	pending = 0;
	/** Metadata sequence that must be committed before the write completes. */
	needSeq = 0;
	heldUp = false;
	downDone = false;
	finished = false;
	waitingCommit = false;
	learned = false;
	counted = false;
	/** Its blocks are registered in `writing`. */
	holds = false;
	error: string | undefined = undefined;
	constructor(readonly io: Io) {}
}

/**
 * Per-guest-read state. The filter reuses them (a read is one of the two I/Os of nearly every
 * step of a run): see CacheEngine.readOp and doneWithRead.
 */
class ReadOp {
	pending = 0;
	heldUp = false;
	error: string | undefined = undefined;
	/**
	 * Dirty cached slots to overlay on the datastore's data (pinned): the first nOverlay. The
	 * arrays are never shortened, so a reused ReadOp allocates nothing (a shorter length would
	 * give the backing store back).
	 */
	readonly overlay: number[] = [];
	nOverlay = 0;
	/** Fully covered missing blocks the policy admits: the first nAdmit. */
	readonly admit: number[] = [];
	nAdmit = 0;
	/** Admitted blocks written meanwhile (by a filter above: the guest serialises its own I/O). */
	stale: Set<number> | undefined = undefined;
	constructor(
		public io: Io,
		public buf: Uint8Array | undefined
	) {}
}

interface LandWaiter {
	op: WriteOp;
	gen: number;
}

interface Barrier {
	io: Io;
	/** slot -> generation that must reach the datastore. */
	need: Map<number, number>;
}

export class CacheEngine {
	readonly mode: CacheMode;
	readonly policyName: PolicyName;
	capacity = 0;
	policy!: CachePolicy;
	private readonly ssd: FilterDevice;
	private readonly destageIntervalUs: number;
	private readonly destageDepth: number;
	private readonly dirtyHighPct: number;
	private dirtyHigh = 0;
	private readonly commitIntervalUs: number;
	/** Write-back protection (cache/peer.ts): peers holding a copy of each dirty block, 0 = none. */
	private readonly peers: number;
	private readonly peerLink: LinkModel | undefined;
	private readonly peerCopy: PeerCopy | undefined;
	/** flushMode commit: a guest flush does not wait for destaging. */
	private readonly flushCommitOnly: boolean;

	// ---- slots ----
	private slotBlock!: Float64Array;
	private flags!: Uint8Array;
	private pins!: Int32Array;
	private epoch!: Uint32Array;
	private gen!: Float64Array;
	private landedGen!: Float64Array;
	private destagedGen!: Float64Array;
	private mem!: (Uint8Array | undefined)[];
	/** The persistent view of each slot (what the sidecar map says or will say). */
	private recBlock!: Float64Array;
	private recDirty!: Uint8Array;
	/** The records as the sidecar stores them (see encodeRec), kept current so a commit copies. */
	private recEnc!: Float64Array;
	private recSeq!: Float64Array;
	/** Sequence of the record that freed the slot: new data waits until it is committed. */
	private freeSeq!: Float64Array;
	private freeStack!: Int32Array;
	private freeTop = 0;
	/** disk block -> slot */
	readonly map = new IntMap();
	private readonly evictable = (block: number): boolean => {
		const s = this.map.get(block);
		if (s === undefined) return false;
		return (this.flags[s] & (DIRTY | SSD_BUSY | DESTAGING | WAIT_COMMIT)) === 0 && this.pins[s] === 0 && this.mem[s] === undefined;
	};

	// ---- destage ----
	private ring!: Int32Array;
	private ringHead = 0;
	private ringCount = 0;
	dirtyCount = 0;
	private destaging = 0;
	private nextDestageAt = 0;
	private destageTimer = false;
	private pressure = false;
	private readonly barriers: Barrier[] = [];
	private blocked: WriteOp[] = [];
	private retryArmed = false;
	/** Block -> the write or unmap in progress on it (writes to one block are serialised). */
	private readonly writing = new IntMap<WriteOp>();
	/** Missing block -> the read miss that will populate it. */
	private readonly filling = new IntMap<ReadOp>();
	/** Finished ReadOps, for reuse. */
	private readonly spareReadOps: ReadOp[] = [];

	// ---- SSD writes and metadata commits ----
	private readonly landWait = new Map<number, LandWaiter[]>();
	private ssdWritesInFlight = 0;
	private metaSeq = 0;
	private committedSeq = 0;
	/** Chunks of the map changed since the last commit: a flag per chunk, and their list. */
	private chunkChanged!: Uint8Array;
	private changedChunks: number[] = [];
	private committing = false;
	private commitScheduled = false;
	private commitAgain = false;
	private lazyArmed = false;
	private readonly commitWait = new Batch<WriteOp>();
	private readonly slotCommitWait = new Batch<number>();
	private idleWaiters: (() => void)[] = [];

	// ---- counters ----
	readHits = 0;
	readMisses = 0;
	writeHits = 0;
	writeMisses = 0;
	memoryHits = 0;
	evictions = 0;
	invalidations = 0;
	populations = 0;
	insertions = 0;
	noVictim = 0;
	bypassedWrites = 0;
	destages = 0;
	destagedBytes = 0;
	destageErrors = 0;
	ssdReads = 0;
	ssdWrites = 0;
	ssdErrors = 0;
	commits = 0;
	warmBlocks = 0;
	warmDirty = 0;
	flushes = 0;
	/** Destages whose block was rewritten meanwhile (it stays dirty). */
	destageRaces = 0;
	/** Datastore-bound writes that waited for a destage of a block they touch. */
	waitedForDestage = 0;
	/** Writes that waited for an overlapping write in progress (filter I/O from above). */
	waitedForWrite = 0;
	/** Dirty blocks copied to the peers; dirty blocks written while the peer link was down (unprotected). */
	peerCopies = 0;
	peerUnprotected = 0;
	/** Dirty blocks recovered from the peers' copies at attach (after a crash) and destaged. */
	peerRecovered = 0;

	constructor(readonly ctx: FilterContext<CacheEngine>) {
		const p = ctx.params;
		this.mode = p.mode as CacheMode;
		this.policyName = p.policy as PolicyName;
		this.ssd = ctx.device('ssd');
		const mbps = p.destageMBps as number;
		this.destageIntervalUs = mbps > 0 ? BLOCK_BYTES / mbps : Infinity;
		this.destageDepth = p.destageDepth as number;
		this.dirtyHighPct = p.dirtyHighPct as number;
		this.commitIntervalUs = (p.commitIntervalMs as number) * 1000;
		this.flushCommitOnly = p.flushMode === 'commit';
		this.peers = this.mode === 'write-back' ? ((p.writeBackPeers as number | undefined) ?? 0) : 0;
		if (this.mode !== 'write-back' && ((p.writeBackPeers as number | undefined) ?? 0) > 0)
			ctx.log(`writeBackPeers ignored: only write-back mode keeps dirty blocks to copy to peers (mode is ${this.mode})`);
		if (this.peers > 0) {
			const dev = ctx.device('peer');
			if (!dev.link) throw new Error('cache: writeBackPeers needs the "peer" device to be a network link (kind wan)');
			this.peerLink = dev.link;
			this.peerCopy = peerCopyOf(dev);
		}
	}

	/** Capacity from the parameters, clamped to the disk (the SSD store is sized like it). */
	static capacityFrom(ctx: FilterContext<unknown>): number {
		const blocks = (ctx.params.capacityBlocks as number) || Math.floor((ctx.params.capacityMiB as number) * (2 ** 20 / BLOCK_BYTES));
		return Math.max(1, Math.min(blocks, Math.floor(ctx.disk.sectors / SPB)));
	}

	private initSlots(capacity: number): void {
		const n = capacity;
		this.capacity = n;
		this.dirtyHigh = Math.max(1, Math.floor((n * this.dirtyHighPct) / 100));
		this.policy = createPolicy(this.policyName, n, { s3PromoteHits: this.ctx.params.s3PromoteHits as number });
		this.slotBlock = new Float64Array(n).fill(-1);
		this.flags = new Uint8Array(n);
		this.pins = new Int32Array(n);
		this.epoch = new Uint32Array(n);
		this.gen = new Float64Array(n);
		this.landedGen = new Float64Array(n);
		this.destagedGen = new Float64Array(n);
		this.mem = new Array<Uint8Array | undefined>(n).fill(undefined);
		this.recBlock = new Float64Array(n).fill(-1);
		this.recDirty = new Uint8Array(n);
		this.recEnc = new Float64Array(Math.ceil(n / CHUNK_SLOTS) * CHUNK_SLOTS).fill(-1);
		this.chunkChanged = new Uint8Array(Math.ceil(n / CHUNK_SLOTS));
		this.changedChunks = [];
		this.recSeq = new Float64Array(n);
		this.freeSeq = new Float64Array(n);
		this.freeStack = new Int32Array(n);
		this.freeTop = 0;
		this.ring = new Int32Array(n);
		this.map.clear();
	}

	// ================================================================ attach / persistence

	/** Reads the sidecar: a warm restart, or a fresh cache. */
	async load(): Promise<void> {
		const ctx = this.ctx;
		const sc = ctx.sidecar;
		const want = CacheEngine.capacityFrom(ctx);
		const meta = (await getJson<CacheMeta>(sc, KEY_META)) ?? undefined;
		let entries: { slot: number; block: number; dirty: boolean }[] = [];
		let capacity = want;
		if (meta && meta.version === 1 && meta.chunkSlots === CHUNK_SLOTS && meta.capacityBlocks > 0) {
			const stored = meta.capacityBlocks;
			const diskBlocks = Math.floor(ctx.disk.sectors / SPB);
			for (let k = 0; k * CHUNK_SLOTS < stored; k++) {
				const raw = await sc.get(chunkKey(k));
				if (!raw) continue;
				const copy = raw.slice();
				const f = new Float64Array(copy.buffer, 0, Math.floor(copy.length / 8));
				for (let i = 0; i < f.length; i++) {
					const v = f[i];
					const slot = k * CHUNK_SLOTS + i;
					if (v === -1 || slot >= stored) continue;
					const dirty = v < -1;
					const block = dirty ? -v - 2 : v;
					if (block >= 0 && block < diskBlocks) entries.push({ slot, block, dirty });
				}
			}
			if (stored !== want) {
				if (entries.some((e) => e.dirty)) {
					capacity = stored;
					ctx.log(`capacity stays ${stored} blocks (not ${want}) while the cache holds dirty blocks`);
				} else {
					ctx.log(`capacity changed from ${stored} to ${want} blocks: the cache starts cold`);
					entries = [];
					for (let k = 0; k * CHUNK_SLOTS < stored; k++) await sc.delete(chunkKey(k));
				}
			}
		}
		this.initSlots(capacity);
		for (const e of entries) {
			const s = e.slot;
			if (this.map.has(e.block)) {
				// Never written so, but a second slot for one block must be recorded free before reuse.
				this.recBlock[s] = e.block;
				this.setRec(s, -1, 0);
				continue;
			}
			this.map.set(e.block, s);
			this.slotBlock[s] = e.block;
			this.flags[s] = VALID | (e.dirty ? DIRTY : 0);
			this.recBlock[s] = e.block;
			this.recDirty[s] = e.dirty ? 1 : 0;
			this.recEnc[s] = encodeRec(e.block, e.dirty ? 1 : 0);
			if (e.dirty) {
				this.dirtyCount++;
				this.enqueueDestage(s);
			}
		}
		this.warmBlocks = this.map.size;
		this.warmDirty = this.dirtyCount;
		if (this.map.size > 0) {
			if (meta?.hintsPolicy === this.policyName) {
				const raw = await sc.get(KEY_HINTS);
				if (raw) {
					const copy = raw.slice();
					this.policy.load(new Float64Array(copy.buffer, 0, Math.floor(copy.length / 8)), (b) => this.map.has(b));
				}
			}
			for (const e of entries) if (this.map.get(e.block) === e.slot && !this.policy.has(e.block)) this.policy.insert(e.block);
			ctx.log(`warm start: ${this.map.size} blocks cached, ${this.dirtyCount} dirty`);
		}
		for (let s = this.capacity - 1; s >= 0; s--) if (!(this.flags[s] & VALID)) this.pushFree(s);
		await putJson(sc, KEY_META, { version: 1, capacityBlocks: this.capacity, chunkSlots: CHUNK_SLOTS, hintsPolicy: meta?.hintsPolicy } satisfies CacheMeta);
		if (this.peerCopy) await this.recoverFromPeers();
		this.pump();
	}

	/**
	 * The peers' copies of dirty blocks this cache does not hold (its host crashed and the VM
	 * restarted elsewhere: it starts cold) come back over the link and go to the datastore,
	 * `destageDepth` at a time, before the VM runs again. A block it holds dirty (a warm restart)
	 * keeps its copy; a copy of a block it holds clean is stale and goes.
	 */
	private async recoverFromPeers(): Promise<void> {
		const copy = this.peerCopy!;
		const link = this.peerLink!;
		const ctx = this.ctx;
		copy.settle();
		const todo: number[] = [];
		for (const b of copy.blocks()) {
			const s = this.map.get(b);
			if (s === undefined) todo.push(b);
			else if (!(this.flags[s] & DIRTY)) copy.release(b);
		}
		if (todo.length === 0) return;
		let failed = 0;
		await new Promise<void>((resolve) => {
			let next = 0;
			let active = 0;
			const start = (): void => {
				while (active < this.destageDepth && next < todo.length) {
					const b = todo[next++];
					const data = copy.get(b)!;
					active++;
					const back = link.send(ctx.now, BLOCK_BYTES + PEER_HEADER_BYTES) + link.rttUs / 2;
					ctx.after(back - ctx.now, () =>
						ctx.submitBelow(Op.write, b * SPB, SPB, data, (io) => {
							active--;
							if (io.error) failed++;
							else {
								copy.release(b);
								this.peerRecovered++;
							}
							if (next >= todo.length && active === 0) resolve();
							else start();
						})
					);
				}
			};
			start();
		});
		ctx.log(
			`recovered ${this.peerRecovered} dirty blocks from the peers' copies and destaged them` +
				(failed ? `; ${failed} failed to reach the datastore and stay on the peers` : '')
		);
	}

	private setRec(s: number, block: number, dirty: number): void {
		this.recBlock[s] = block;
		this.recDirty[s] = dirty;
		this.recEnc[s] = encodeRec(block, dirty);
		const seq = ++this.metaSeq;
		this.recSeq[s] = seq;
		if (block === -1) this.freeSeq[s] = seq;
		const k = Math.floor(s / CHUNK_SLOTS);
		if (this.chunkChanged[k] === 0) {
			this.chunkChanged[k] = 1;
			this.changedChunks.push(k);
		}
		this.armLazyCommit();
	}

	private armLazyCommit(): void {
		if (this.lazyArmed || this.commitScheduled || this.committing) return;
		if (this.commitIntervalUs <= 0) {
			this.requestCommit();
			return;
		}
		this.lazyArmed = true;
		this.ctx.after(this.commitIntervalUs, () => {
			this.lazyArmed = false;
			if (this.metaSeq > this.committedSeq) this.requestCommit();
		});
	}

	private requestCommit(): void {
		if (this.committing) {
			this.commitAgain = true;
			return;
		}
		if (this.commitScheduled) return;
		this.commitScheduled = true;
		this.ctx.after(0, () => this.startCommit());
	}

	/**
	 * Chunk k of the map as stored, read when the commit's write completes (the store copies it).
	 * Records changed while the commit was in flight go in with it: every record is safe to be
	 * durable the moment it is set (rule 1 sets a block's record only once its data has landed, and
	 * a free record is always safe), and they are written again by the next commit, which is the
	 * one their waiters count on.
	 */
	private chunkBytes(k: number): Uint8Array {
		return new Uint8Array(this.recEnc.buffer, k * CHUNK_SLOTS * 8, CHUNK_SLOTS * 8);
	}

	private startCommit(): void | Promise<void> {
		this.commitScheduled = false;
		if (this.metaSeq === this.committedSeq || this.committing) {
			this.afterCommit();
			return;
		}
		const ctx = this.ctx;
		const seq = this.metaSeq;
		const chunks = this.changedChunks.sort((a, b) => a - b);
		this.changedChunks = [];
		for (const k of chunks) this.chunkChanged[k] = 0;
		this.committing = true;
		this.commits++;
		const model = this.ssd.model!;
		const bytes = Math.max(1, chunks.length) * CHUNK_SLOTS * 8;
		const lba = Math.max(0, Math.min(this.capacity * SPB, ctx.disk.sectors - SPB));
		const at = model.schedule(ctx.now, Op.write, lba, bytes);
		ctx.after(at - ctx.now, () => {
			const pending: Promise<void>[] = [];
			for (const k of chunks) {
				const r = ctx.sidecar.set(chunkKey(k), this.chunkBytes(k));
				if (r && typeof (r as Promise<void>).then === 'function') pending.push(r as Promise<void>);
			}
			if (pending.length > 0) return Promise.all(pending).then(() => this.commitDone(seq));
			this.commitDone(seq);
		});
	}

	private commitDone(seq: number): void {
		this.committing = false;
		if (seq > this.committedSeq) this.committedSeq = seq;
		this.afterCommit();
	}

	private afterCommit(): void {
		// What is served now may queue new waiters: they wait for the next commit.
		this.commitWait.drain(this.commitServed);
		this.slotCommitWait.drain(this.slotCommitted);
		if (this.metaSeq > this.committedSeq) {
			if (this.commitAgain || this.commitWait.length > 0 || this.slotCommitWait.length > 0 || this.idleWaiters.length > 0) this.requestCommit();
			else this.armLazyCommit();
		}
		this.commitAgain = false;
		this.checkIdle();
	}

	private readonly commitServed = (op: WriteOp): void => {
		op.waitingCommit = false;
		this.progress(op);
	};

	/** Slot s's free record is committed: its new data may go to the SSD. */
	private readonly slotCommitted = (s: number): void => {
		this.flags[s] &= ~WAIT_COMMIT;
		this.kickSsdWrite(s);
	};

	/** Writes the policy's order (warmth after a restart keeps the same eviction order). */
	private saveHints(): void | Promise<void> {
		const sc = this.ctx.sidecar;
		const data = this.policy.save();
		const r1 = sc.set(KEY_HINTS, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
		const r2 = putJson(sc, KEY_META, { version: 1, capacityBlocks: this.capacity, chunkSlots: CHUNK_SLOTS, hintsPolicy: this.policyName } satisfies CacheMeta);
		const ps = [r1, r2].filter((r): r is Promise<void> => !!r && typeof (r as Promise<void>).then === 'function');
		if (ps.length > 0) return Promise.all(ps).then(() => undefined);
	}

	// ================================================================ slots

	private pushFree(s: number): void {
		this.flags[s] |= IN_FREE;
		this.freeStack[this.freeTop++] = s;
	}

	/** A slot that is no longer valid returns to the free list once nothing uses it. */
	private maybeFree(s: number): void {
		const f = this.flags[s];
		if ((f & (VALID | SSD_BUSY | DESTAGING | IN_FREE)) === 0 && this.pins[s] === 0) this.pushFree(s);
	}

	/** Evicts the policy's victim for `incoming`; false when every candidate is vetoed. */
	private evictOne(incoming: number): boolean {
		const v = this.policy.victim(incoming, this.evictable);
		if (v < 0) {
			this.noVictim++;
			if (this.dirtyCount > 0 && !this.pressure) {
				this.pressure = true;
				this.pump();
			}
			return false;
		}
		this.invalidate(this.map.get(v)!, undefined, true);
		return true;
	}

	/** Makes room for `needed` new blocks. */
	private reserve(needed: number, incoming: number): boolean {
		while (this.freeTop < needed) if (!this.evictOne(incoming)) return false;
		return true;
	}

	/** A slot for non-resident block b (evicting if needed), or -1. */
	private allocate(b: number): number {
		if (this.freeTop === 0 && !this.evictOne(b)) return -1;
		const s = this.freeStack[--this.freeTop];
		this.flags[s] = (this.flags[s] & ~IN_FREE) | VALID;
		this.slotBlock[s] = b;
		this.landedGen[s] = this.gen[s];
		this.map.set(b, s);
		this.policy.insert(b);
		this.insertions++;
		return s;
	}

	/** Drops slot s's block (eviction or invalidation). `op` waits until the drop is committed. */
	private invalidate(s: number, op: WriteOp | undefined, evicted: boolean): void {
		const b = this.slotBlock[s];
		this.map.delete(b);
		this.policy.remove(b, evicted);
		const f = this.flags[s];
		if (f & DIRTY) {
			this.dirtyCount--;
			this.peerCopy?.release(b);
		}
		this.flags[s] = f & ~(VALID | DIRTY | WAIT_COMMIT);
		this.mem[s] = undefined;
		this.slotBlock[s] = -1;
		this.epoch[s]++;
		if (this.recBlock[s] !== -1) this.setRec(s, -1, 0);
		if (op && this.freeSeq[s] > op.needSeq) op.needSeq = this.freeSeq[s];
		if (evicted) this.evictions++;
		else this.invalidations++;
		this.resolveLand(s, Infinity, undefined);
		this.resolveBarriers(s);
		this.maybeFree(s);
	}

	/** A copy of the 4 KiB of a write at byte offset `off` (the placeholder in timing-only mode). */
	private blockOf(io: Io, off: number): Uint8Array {
		if (!io.data) return TIMING_BLOCK;
		const b = acquireWriteBuffer(BLOCK_BYTES);
		b.set(io.data.subarray(off, off + BLOCK_BYTES));
		return b;
	}

	/** A pooled copy of the 4 KiB of `data` at byte offset `off`. */
	private copyOf(data: Uint8Array, off: number): Uint8Array {
		const b = acquireWriteBuffer(BLOCK_BYTES);
		b.set(data.subarray(off, off + BLOCK_BYTES));
		return b;
	}

	/** Gives slot s new content (a fresh buffer that is never modified afterwards). */
	private setContent(s: number, buf: Uint8Array, dirty: boolean, op: WriteOp | undefined): void {
		const g = ++this.gen[s];
		this.mem[s] = buf;
		const f = this.flags[s];
		if (dirty) {
			if (!(f & DIRTY)) {
				this.flags[s] = f | DIRTY;
				this.dirtyCount++;
				this.enqueueDestage(s);
			}
		} else if (f & DIRTY) {
			this.flags[s] = f & ~DIRTY;
			this.dirtyCount--;
			this.peerCopy?.release(this.slotBlock[s]);
			this.resolveBarriers(s);
		}
		if (op) {
			op.pending++;
			let list = this.landWait.get(s);
			if (!list) this.landWait.set(s, (list = []));
			list.push({ op, gen: g });
			if (dirty && this.peerCopy) this.mirror(this.slotBlock[s], buf, op);
		}
		this.kickSsdWrite(s);
		if (dirty) this.pump();
	}

	/** Sends dirty block b's new content to the peers; `op` completes only once they acknowledge it. */
	private mirror(b: number, buf: Uint8Array, op: WriteOp): void {
		const ctx = this.ctx;
		const link = this.peerLink!;
		if (!link.up) {
			this.peerUnprotected++;
			return;
		}
		const copy = this.peerCopy!;
		const seq = copy.next();
		// One copy per peer, serialised on this host's link.
		let arrive = ctx.now;
		for (let i = 0; i < this.peers; i++) arrive = link.send(ctx.now, BLOCK_BYTES + PEER_HEADER_BYTES);
		this.peerCopies++;
		op.pending++;
		ctx.after(arrive - ctx.now, () => {
			copy.arrive(b, seq, buf);
			ctx.after(link.rttUs / 2, () => {
				op.pending--;
				this.progress(op);
			});
		});
	}

	/** Merges sectors of `io` (or zeros for an unmap) into cached block b in slot s. */
	private merge(s: number, b: number, io: Io, dirty: boolean, op: WriteOp): void {
		const base = b * SPB;
		const from = Math.max(io.lba, base);
		const to = Math.min(io.lba + io.sectors, base + SPB);
		const patch =
			io.op === Op.write && io.data
				? io.data.subarray((from - io.lba) * SECTOR_BYTES, (to - io.lba) * SECTOR_BYTES)
				: ZERO_BLOCK.subarray(0, (to - from) * SECTOR_BYTES);
		const at = (from - base) * SECTOR_BYTES;
		const m = this.mem[s];
		if (m) {
			if (this.ctx.timingOnly) {
				this.setContent(s, TIMING_BLOCK, dirty, op);
				return;
			}
			const nb = m.slice();
			nb.set(patch, at);
			this.setContent(s, nb, dirty, op);
			return;
		}
		// Read the block from the SSD first; the guest's block is held by this write meanwhile.
		const patchCopy = patch.slice();
		const e = this.epoch[s];
		op.pending++;
		this.pins[s]++;
		this.ssdReads++;
		deviceIo(this.ctx, this.ssd, Op.read, s * SPB, SPB, undefined, (data, err) => {
			this.pins[s]--;
			op.pending--;
			if (err || (!data && !this.ctx.timingOnly)) {
				this.ssdErrors++;
				op.error = `cache SSD read failed: ${err?.message ?? 'no data'}`;
			} else if (this.epoch[s] === e && this.flags[s] & VALID) {
				if (data) data.set(patchCopy, at);
				this.setContent(s, data ?? TIMING_BLOCK, dirty, op);
			}
			this.maybeFree(s);
			this.progress(op);
		});
	}

	/** Starts slot s's SSD write if it has unwritten content and nothing stands in the way. */
	private kickSsdWrite(s: number): void {
		const f = this.flags[s];
		if (f & SSD_BUSY) return;
		const buf = this.mem[s];
		if (!buf) return;
		if (this.committedSeq < this.freeSeq[s]) {
			// Rule 2: the slot's previous owner must be recorded gone before new data goes in.
			if (!(f & WAIT_COMMIT)) {
				this.flags[s] = f | WAIT_COMMIT;
				this.slotCommitWait.push(s);
			}
			this.requestCommit();
			return;
		}
		this.flags[s] = (f | SSD_BUSY) & ~WAIT_COMMIT;
		const g = this.gen[s];
		const e = this.epoch[s];
		this.ssdWritesInFlight++;
		this.ssdWrites++;
		deviceIo(this.ctx, this.ssd, Op.write, s * SPB, SPB, buf, (_d, err) => this.landed(s, e, g, err));
	}

	private landed(s: number, e: number, g: number, err: Error | undefined): void {
		this.ssdWritesInFlight--;
		this.flags[s] &= ~SSD_BUSY;
		if (this.epoch[s] === e && this.flags[s] & VALID) {
			if (err) {
				this.ssdErrors++;
				this.ctx.log(`SSD write of slot ${s} failed: ${err.message}`);
				this.resolveLand(s, g, `cache SSD write failed: ${err.message}`);
			} else {
				if (g > this.landedGen[s]) this.landedGen[s] = g;
				if (this.gen[s] === g) {
					if (!(this.flags[s] & DESTAGING)) this.recycle(this.mem[s]);
					this.mem[s] = undefined;
				}
				const d = this.flags[s] & DIRTY ? 1 : 0;
				// Rule 1: the record names the block only once its data is on the SSD.
				if (this.recBlock[s] !== this.slotBlock[s] || this.recDirty[s] !== d) this.setRec(s, this.slotBlock[s], d);
				this.resolveLand(s, g, undefined);
			}
		}
		if (this.mem[s]) this.kickSsdWrite(s);
		this.maybeFree(s);
		this.checkIdle();
	}

	/**
	 * The in-memory copy of a slot whose data has landed on the SSD goes back to the engine's
	 * pool, unless something may still read it: a destage in flight (it writes from the copy) or
	 * the peers (they keep the buffer). Reads copy out of it synchronously.
	 */
	private recycle(buf: Uint8Array | undefined): void {
		if (buf === undefined || buf === TIMING_BLOCK || this.peerCopy) return;
		releaseWriteBuffer(buf);
	}

	/** Releases write ops waiting for slot s's data to land (gen ≤ g). */
	private resolveLand(s: number, g: number, error: string | undefined): void {
		const list = this.landWait.get(s);
		if (!list) return;
		let keep = 0;
		const done: WriteOp[] = [];
		for (const w of list) {
			if (w.gen <= g) {
				w.op.pending--;
				if (error) w.op.error = error;
				// Rule 3: a dirty record must be durable before the write completes.
				if (g !== Infinity && this.recDirty[s] && this.recSeq[s] > w.op.needSeq) w.op.needSeq = this.recSeq[s];
				done.push(w.op);
			} else list[keep++] = w;
		}
		list.length = keep;
		if (keep === 0) this.landWait.delete(s);
		for (const op of done) this.progress(op);
	}

	// ================================================================ I/O

	private blockRange(b: number, io: Io): { from: number; to: number } {
		const base = b * SPB;
		return { from: Math.max(io.lba, base), to: Math.min(io.lba + io.sectors, base + SPB) };
	}

	onIo(io: Io): Verdict {
		switch (io.op) {
			case Op.read:
				return io.sectors > 0 ? this.read(io) : PASS;
			case Op.write:
			case Op.unmap: {
				if (io.sectors <= 0) return PASS;
				const op = new WriteOp(io);
				io.slots[this.ctx.index] = op;
				return this.routeWrite(op);
			}
			case Op.flush:
				return this.flush(io);
		}
		return PASS;
	}

	private read(io: Io): Verdict {
		const lo = io.lba;
		const hi = lo + io.sectors;
		const first = Math.floor(lo / SPB);
		const end = Math.ceil(hi / SPB);
		const map = this.map;
		let all = true;
		for (let b = first; b < end; b++)
			if (!map.has(b)) {
				all = false;
				break;
			}
		if (all) {
			this.readHits++;
			// Every byte is copied in from the slots; the engine takes the buffer back after the read.
			const buf = this.ctx.timingOnly ? undefined : lendReadBuffer(io.sectors * SECTOR_BYTES);
			let op: ReadOp | undefined;
			for (let b = first; b < end; b++) {
				const s = map.get(b)!;
				this.policy.hit(b);
				const base = b * SPB;
				const from = Math.max(lo, base);
				const to = Math.min(hi, base + SPB);
				const m = this.mem[s];
				if (m) {
					buf?.set(m.subarray((from - base) * SECTOR_BYTES, (to - base) * SECTOR_BYTES), (from - lo) * SECTOR_BYTES);
					continue;
				}
				if (!op) op = this.readOp(io, buf);
				const rop = op;
				rop.pending++;
				this.pins[s]++;
				this.ssdReads++;
				deviceIo(this.ctx, this.ssd, Op.read, s * SPB + (from - base), to - from, undefined, (data, err) => {
					this.pins[s]--;
					if (err || (!data && buf)) {
						this.ssdErrors++;
						rop.error = `cache SSD read failed: ${err?.message ?? 'no data'}`;
					} else if (data && buf) buf.set(data, (from - lo) * SECTOR_BYTES);
					this.maybeFree(s);
					if (--rop.pending === 0) {
						if (rop.error) this.ctx.fail(io, 'EIO', rop.error);
						else this.ctx.complete(io, buf);
						this.doneWithRead(rop);
					}
				});
			}
			if (!op) {
				this.memoryHits++;
				return complete(buf);
			}
			return DEFER;
		}
		this.readMisses++;
		const op = this.readOp(io, undefined);
		for (let b = first; b < end; b++) {
			const s = map.get(b);
			if (s !== undefined) {
				this.policy.hit(b);
				if (this.flags[s] & DIRTY) {
					this.pins[s]++;
					op.overlay[op.nOverlay++] = s;
				}
			} else if (this.policy.miss(b) && b * SPB >= lo && (b + 1) * SPB <= hi) {
				op.admit[op.nAdmit++] = b;
				this.filling.set(b, op);
			}
		}
		io.slots[this.ctx.index] = op;
		return PASS;
	}

	private readDone(io: Io, op: ReadOp): Verdict {
		const data = io.data;
		for (let i = 0; i < op.nAdmit; i++) {
			const b = op.admit[i];
			if (this.filling.get(b) === op) this.filling.delete(b);
		}
		if (io.error || (!data && !this.ctx.timingOnly)) {
			for (let i = 0; i < op.nOverlay; i++) {
				const s = op.overlay[i];
				this.pins[s]--;
				this.maybeFree(s);
			}
			this.doneWithRead(op);
			return PASS;
		}
		const lo = io.lba;
		// Populate: copy each fully covered missing block; its SSD write runs in the background.
		for (let i = 0; i < op.nAdmit; i++) {
			const b = op.admit[i];
			if (this.map.has(b) || op.stale?.has(b)) continue;
			const s = this.allocate(b);
			if (s < 0) break;
			this.populations++;
			const off = (b * SPB - lo) * SECTOR_BYTES;
			this.setContent(s, data ? this.copyOf(data, off) : TIMING_BLOCK, false, undefined);
		}
		// Overlay dirty cached blocks: the datastore's copy of them is stale.
		for (let i = 0; i < op.nOverlay; i++) {
			const s = op.overlay[i];
			const b = this.slotBlock[s];
			const { from, to } = this.blockRange(b, io);
			const base = b * SPB;
			const m = this.mem[s];
			if (m) {
				data?.set(m.subarray((from - base) * SECTOR_BYTES, (to - base) * SECTOR_BYTES), (from - lo) * SECTOR_BYTES);
				this.pins[s]--;
				this.maybeFree(s);
				continue;
			}
			op.pending++;
			this.ssdReads++;
			deviceIo(this.ctx, this.ssd, Op.read, s * SPB + (from - base), to - from, undefined, (d, err) => {
				this.pins[s]--;
				if (err || (!d && data)) {
					this.ssdErrors++;
					op.error = `cache SSD read failed: ${err?.message ?? 'no data'}`;
				} else if (d && data) data.set(d, (from - lo) * SECTOR_BYTES);
				this.maybeFree(s);
				if (--op.pending === 0 && op.heldUp) {
					if (op.error) this.ctx.failUp(io, 'EIO', op.error);
					else this.ctx.resumeUp(io);
					this.doneWithRead(op);
				}
			});
		}
		if (op.pending > 0) {
			op.heldUp = true;
			return DEFER;
		}
		this.doneWithRead(op);
		return PASS;
	}

	/** A ReadOp for `io`: a finished one reused, or a new one. */
	private readOp(io: Io, buf: Uint8Array | undefined): ReadOp {
		const op = this.spareReadOps.pop();
		if (!op) return new ReadOp(io, buf);
		op.io = io;
		op.buf = buf;
		return op;
	}

	/**
	 * The read is finished with `op` (nothing of it is pending and no map points to it): it is
	 * cleared and kept for the next read.
	 */
	private doneWithRead(op: ReadOp): void {
		const slots = op.io.slots;
		if (slots[this.ctx.index] === op) slots[this.ctx.index] = undefined;
		op.pending = 0;
		op.heldUp = false;
		op.error = undefined;
		op.nOverlay = 0;
		op.nAdmit = 0;
		op.stale = undefined;
		op.buf = undefined;
		if (this.spareReadOps.length < 256) this.spareReadOps.push(op);
	}

	/**
	 * Routes a guest write or unmap: to the cache only (write-back), or down to the datastore with
	 * the cache updated or invalidated on the way. Returns DEFER while it waits for a destage.
	 */
	private routeWrite(op: WriteOp): Verdict {
		const io = op.io;
		const lo = io.lba;
		const hi = lo + io.sectors;
		const first = Math.floor(lo / SPB);
		const end = Math.ceil(hi / SPB);
		const map = this.map;
		const isWrite = io.op === Op.write;
		if (!op.counted && isWrite) {
			op.counted = true;
			let all = true;
			for (let b = first; b < end; b++)
				if (!map.has(b)) {
					all = false;
					break;
				}
			if (all) this.writeHits++;
			else this.writeMisses++;
		}
		// Overlapping writes from filters above are not serialised by the guest: do it here, so
		// that a read-modify-write never works on a copy another write is changing.
		for (let b = first; b < end; b++) {
			const w = this.writing.get(b);
			if (w !== undefined && w !== op) {
				this.waitedForWrite++;
				this.blocked.push(op);
				return DEFER;
			}
		}
		const learn = !op.learned;
		op.learned = true;
		if (this.filling.size > 0)
			for (let b = first; b < end; b++) {
				// A read miss in flight on this block must not populate it with what it read.
				const r = this.filling.get(b);
				if (r) {
					(r.stale ??= new Set()).add(b);
					this.filling.delete(b);
				}
			}
		let wb = isWrite && this.mode === 'write-back';
		let needed = 0;
		let incoming = -1;
		for (let b = first; b < end; b++) {
			if (map.has(b)) continue;
			const full = b * SPB >= lo && (b + 1) * SPB <= hi;
			const admit = learn ? this.policy.miss(b) : true;
			if (!full || !admit) wb = false;
			if (incoming < 0) incoming = b;
			needed++;
		}
		// Making room must not evict a block this write touches: a block it covers in part would
		// then be read-modified-written from a slot that no longer holds its data. Pin them meanwhile.
		const pinned: number[] = [];
		if (wb && needed > 0) {
			for (let b = first; b < end; b++) {
				const s = map.get(b);
				if (s !== undefined) {
					this.pins[s]++;
					pinned.push(s);
				}
			}
			if (!this.reserve(needed, incoming)) wb = false;
		}

		if (wb) {
			op.kind = WB;
			this.hold(op, first, end);
			for (let b = first; b < end; b++) {
				let s = map.get(b);
				if (s === undefined) s = this.allocate(b);
				else this.policy.hit(b);
				if (s < 0) throw new Error('cache: reserved slot vanished');
				const base = b * SPB;
				if (base >= lo && base + SPB <= hi) {
					const off = (base - lo) * SECTOR_BYTES;
					this.setContent(s, this.blockOf(io, off), true, op);
				} else this.merge(s, b, io, true, op);
			}
			for (const s of pinned) this.pins[s]--;
			return DEFER;
		}
		for (const s of pinned) this.pins[s]--;

		// To the datastore: a destage in flight of a touched block must land first.
		for (let b = first; b < end; b++) {
			const s = map.get(b);
			if (s !== undefined && this.flags[s] & DESTAGING) {
				this.waitedForDestage++;
				this.blocked.push(op);
				return DEFER;
			}
		}
		op.kind = THROUGH;
		this.hold(op, first, end);
		if (isWrite && this.mode === 'write-back') this.bypassedWrites++;
		const keep = isWrite && this.mode !== 'write-around';
		for (let b = first; b < end; b++) {
			const base = b * SPB;
			const full = base >= lo && base + SPB <= hi;
			const s = map.get(b);
			if (s !== undefined) {
				this.policy.hit(b);
				const f = this.flags[s];
				if (full) {
					if (keep) {
						const off = (base - lo) * SECTOR_BYTES;
						this.setContent(s, this.blockOf(io, off), false, op);
					} else this.invalidate(s, op, false);
				} else if (f & DIRTY) this.merge(s, b, io, true, op);
				else if (this.mem[s] && keep) this.merge(s, b, io, false, op);
				else this.invalidate(s, op, false);
			} else if (keep && full) {
				const ns = this.allocate(b);
				if (ns >= 0) {
					const off = (base - lo) * SECTOR_BYTES;
					this.setContent(ns, this.blockOf(io, off), false, undefined);
				}
			}
		}
		if (op.needSeq > this.committedSeq) this.requestCommit();
		return PASS;
	}

	private hold(op: WriteOp, first: number, end: number): void {
		op.holds = true;
		for (let b = first; b < end; b++) this.writing.set(b, op);
	}

	/** A write is done with its blocks: writes waiting for them may go. */
	private release(op: WriteOp): void {
		if (!op.holds) return;
		op.holds = false;
		const io = op.io;
		const end = Math.ceil((io.lba + io.sectors) / SPB);
		for (let b = Math.floor(io.lba / SPB); b < end; b++) if (this.writing.get(b) === op) this.writing.delete(b);
		if (this.blocked.length > 0) this.armRetry();
	}

	private armRetry(): void {
		if (this.retryArmed) return;
		this.retryArmed = true;
		this.ctx.after(0, () => {
			this.retryArmed = false;
			const list = this.blocked;
			this.blocked = [];
			for (const op of list) {
				const v = this.routeWrite(op);
				if (v.kind === 'pass') this.ctx.resume(op.io);
			}
		});
	}

	private writeDone(io: Io, op: WriteOp): Verdict {
		op.downDone = true;
		if (op.pending === 0 && this.committedSeq >= op.needSeq) {
			op.finished = true;
			this.release(op);
			return op.error && !io.error ? fail('EIO', op.error) : PASS;
		}
		op.heldUp = true;
		if (op.pending === 0) this.progress(op);
		return DEFER;
	}

	/** Completes a write op once its cache work has landed and its records are committed. */
	private progress(op: WriteOp): void {
		if (op.finished || op.pending > 0 || op.kind === 0) return;
		if (op.kind === THROUGH && !op.downDone) {
			// Start the commit early; onDone looks again.
			if (this.committedSeq < op.needSeq) this.requestCommit();
			return;
		}
		if (this.committedSeq < op.needSeq) {
			if (!op.waitingCommit) {
				op.waitingCommit = true;
				this.commitWait.push(op);
			}
			this.requestCommit();
			return;
		}
		op.finished = true;
		this.release(op);
		if (op.kind === WB) {
			if (op.error) this.ctx.fail(op.io, 'EIO', op.error);
			else this.ctx.complete(op.io);
		} else if (op.heldUp) {
			if (op.error && !op.io.error) this.ctx.failUp(op.io, 'EIO', op.error);
			else this.ctx.resumeUp(op.io);
		}
	}

	onDone(io: Io): Verdict {
		const st = io.slots[this.ctx.index];
		if (st instanceof ReadOp) return this.readDone(io, st);
		if (st instanceof WriteOp) return this.writeDone(io, st);
		return PASS;
	}

	/**
	 * A guest flush. flushMode destage: every block dirty now must reach the datastore before it
	 * goes down. flushMode commit: it goes down at once, since an acknowledged write-back write
	 * is already on the SSD with its record committed (dm-cache and bcache answer a flush so).
	 */
	private flush(io: Io): Verdict {
		this.flushes++;
		if (this.flushCommitOnly || this.dirtyCount === 0) return PASS;
		const need = new Map<number, number>();
		for (let s = 0; s < this.capacity; s++) if (this.flags[s] & DIRTY) need.set(s, this.gen[s]);
		this.barriers.push({ io, need });
		this.pump();
		return DEFER;
	}

	private resolveBarriers(s: number): void {
		if (this.barriers.length === 0) return;
		const f = this.flags[s];
		for (let i = 0; i < this.barriers.length; i++) {
			const br = this.barriers[i];
			const g = br.need.get(s);
			if (g === undefined) continue;
			if (!(f & VALID) || !(f & DIRTY) || this.destagedGen[s] >= g) br.need.delete(s);
			if (br.need.size === 0) {
				this.barriers.splice(i--, 1);
				this.ctx.resume(br.io);
			}
		}
	}

	// ================================================================ destage

	private enqueueDestage(s: number): void {
		if (this.flags[s] & QUEUED) return;
		this.flags[s] |= QUEUED;
		this.ring[(this.ringHead + this.ringCount) % this.capacity] = s;
		this.ringCount++;
	}

	private popDestage(): number {
		while (this.ringCount > 0) {
			const s = this.ring[this.ringHead];
			this.ringHead = (this.ringHead + 1) % this.capacity;
			this.ringCount--;
			this.flags[s] &= ~QUEUED;
			if ((this.flags[s] & (VALID | DIRTY | DESTAGING)) === (VALID | DIRTY)) return s;
		}
		return -1;
	}

	private urgent(): boolean {
		return this.barriers.length > 0 || this.idleWaiters.length > 0 || this.pressure || this.dirtyCount > this.dirtyHigh;
	}

	/** Starts destages: at the configured rate, or as fast as `destageDepth` allows when urgent. */
	private pump(): void {
		while (this.destaging < this.destageDepth && this.ringCount > 0 && this.dirtyCount > 0) {
			if (!this.urgent()) {
				if (this.destageIntervalUs === Infinity) return;
				const now = this.ctx.now;
				if (now < this.nextDestageAt) {
					this.armDestageTimer(this.nextDestageAt - now);
					return;
				}
				this.nextDestageAt = now + this.destageIntervalUs;
			}
			const s = this.popDestage();
			if (s < 0) return;
			this.startDestage(s);
		}
	}

	private armDestageTimer(delay: number): void {
		if (this.destageTimer) return;
		this.destageTimer = true;
		this.ctx.after(delay, () => {
			this.destageTimer = false;
			this.pump();
		});
	}

	private startDestage(s: number): void {
		this.flags[s] |= DESTAGING;
		this.pins[s]++;
		this.destaging++;
		const g = this.gen[s];
		const e = this.epoch[s];
		const b = this.slotBlock[s];
		const write = (buf: Uint8Array) =>
			this.ctx.submitBelow(Op.write, b * SPB, SPB, buf, (dio) => this.destaged(s, e, g, dio.error ? dio.error.message : undefined));
		const m = this.mem[s];
		if (m) {
			write(m);
			return;
		}
		this.ssdReads++;
		deviceIo(this.ctx, this.ssd, Op.read, s * SPB, SPB, undefined, (data, err) => {
			if (err || (!data && !this.ctx.timingOnly)) this.destaged(s, e, g, `SSD read: ${err?.message ?? 'no data'}`);
			else write(data ?? TIMING_BLOCK);
		});
	}

	private destaged(s: number, e: number, g: number, error: string | undefined): void {
		this.destaging--;
		this.pins[s]--;
		this.flags[s] &= ~DESTAGING;
		const same = this.epoch[s] === e && (this.flags[s] & VALID) !== 0;
		if (error) {
			this.destageErrors++;
			if (this.destageErrors <= 10) this.ctx.log(`destage of block ${this.slotBlock[s]} failed: ${error}`);
			if (same && this.flags[s] & DIRTY) this.enqueueDestage(s);
			this.ctx.after(DESTAGE_RETRY_US, () => this.pump());
		} else {
			this.destages++;
			this.destagedBytes += BLOCK_BYTES;
			if (same) {
				if (g > this.destagedGen[s]) this.destagedGen[s] = g;
				if (this.gen[s] === g && this.flags[s] & DIRTY) {
					this.flags[s] &= ~DIRTY;
					this.dirtyCount--;
					this.peerCopy?.release(this.slotBlock[s]);
					// The record goes clean only when the SSD holds this generation (else at landing).
					if (this.landedGen[s] === g && this.recDirty[s]) this.setRec(s, this.slotBlock[s], 0);
				} else if (this.flags[s] & DIRTY) {
					this.destageRaces++;
					this.enqueueDestage(s);
				}
			}
			if (this.pressure && this.dirtyCount <= this.dirtyHigh / 2) this.pressure = false;
		}
		this.resolveBarriers(s);
		this.maybeFree(s);
		if (this.blocked.length > 0) this.armRetry();
		if (!error) this.pump();
		this.checkIdle();
	}

	// ================================================================ control operations

	private isIdle(): boolean {
		return (
			this.dirtyCount === 0 &&
			this.destaging === 0 &&
			this.ssdWritesInFlight === 0 &&
			this.slotCommitWait.length === 0 &&
			!this.committing &&
			!this.commitScheduled &&
			this.committedSeq === this.metaSeq
		);
	}

	private checkIdle(): void {
		if (this.idleWaiters.length === 0) return;
		if (this.isIdle()) {
			const waiters = this.idleWaiters;
			this.idleWaiters = [];
			for (const w of waiters) w();
			return;
		}
		if (this.dirtyCount === 0 && this.destaging === 0 && this.metaSeq > this.committedSeq) this.requestCommit();
		this.pump();
	}

	/** Destages every dirty block, lands every SSD write and commits the map. */
	quiesce(): Promise<void> {
		return new Promise<void>((resolve) => {
			this.idleWaiters.push(resolve);
			this.pump();
			this.checkIdle();
		});
	}

	/** Quiesces, saves the policy order; `drop` also empties the cache (migration, revert). */
	async shutdown(drop: boolean): Promise<void> {
		await this.quiesce();
		if (drop) {
			for (let s = 0; s < this.capacity; s++) if (this.flags[s] & VALID) this.invalidate(s, undefined, false);
			await this.quiesce();
		}
		await this.saveHints();
	}

	onEvent(ev: ControlEvent): void | Promise<void> {
		switch (ev.type) {
			case 'snapshot-create':
			case 'suspend':
			case 'power-off':
			case 'detach':
			case 'clone':
				return this.shutdown(false);
			case 'migrate':
				// The SSD is host-local: after vMotion this host's cache no longer serves the VM.
				this.ctx.log(`migrate to ${ev.toHost}: destaging and dropping the host-local cache`);
				return this.shutdown(true);
			case 'snapshot-revert':
				return this.shutdown(true);
		}
	}

	status(): Record<string, number | string> {
		const reads = this.readHits + this.readMisses;
		const writes = this.writeHits + this.writeMisses;
		const r4 = (x: number) => Math.round(x * 10000) / 10000;
		return {
			mode: this.mode,
			policy: this.policyName,
			capacityBlocks: this.capacity,
			occupancyBlocks: this.map.size,
			occupancyPct: r4((100 * this.map.size) / this.capacity),
			dirtyBlocks: this.dirtyCount,
			readHitRatio: reads > 0 ? r4(this.readHits / reads) : 0,
			writeHitRatio: writes > 0 ? r4(this.writeHits / writes) : 0,
			hits: this.readHits + this.writeHits,
			misses: this.readMisses + this.writeMisses,
			readHits: this.readHits,
			readMisses: this.readMisses,
			writeHits: this.writeHits,
			writeMisses: this.writeMisses,
			memoryHits: this.memoryHits,
			populations: this.populations,
			insertions: this.insertions,
			evictions: this.evictions,
			invalidations: this.invalidations,
			noVictim: this.noVictim,
			bypassedWrites: this.bypassedWrites,
			destages: this.destages,
			destagedBytes: this.destagedBytes,
			destageErrors: this.destageErrors,
			flushes: this.flushes,
			destageRaces: this.destageRaces,
			waitedForDestage: this.waitedForDestage,
			waitedForWrite: this.waitedForWrite,
			ssdReads: this.ssdReads,
			ssdWrites: this.ssdWrites,
			ssdErrors: this.ssdErrors,
			metadataCommits: this.commits,
			warmBlocks: this.warmBlocks,
			warmDirty: this.warmDirty,
			...(this.peerCopy
				? { writeBackPeers: this.peers, peerCopies: this.peerCopies, peerHeldBlocks: this.peerCopy.blocks().length, peerRecovered: this.peerRecovered, peerUnprotected: this.peerUnprotected }
				: {}),
			...this.policy.stats()
		};
	}
}

export const cache: FilterDef<CacheEngine> = {
	contract: FILTER_CONTRACT_VERSION,
	name: 'cache',
	vendor: 'VAIO Playground',
	version: '1.0.0',
	class: 'cache',
	timingOnly: true,
	description:
		'Host-local SSD cache in 4 KiB blocks: write-through, write-back (background destage) or write-around, LRU / ARC / S3-FIFO eviction, metadata in the sidecar.',
	params: [
		{ name: 'mode', type: 'enum', default: 'write-through', choices: CACHE_MODES, help: 'write-through: writes go to the datastore and the cache; write-back: writes complete on the SSD and are destaged later; write-around: writes bypass (and invalidate) the cache, reads populate it.' },
		{ name: 'policy', type: 'enum', default: 'arc', choices: POLICY_NAMES, help: 'Eviction policy: lru, arc (adaptive replacement, scan resistant) or s3fifo (small/main/ghost FIFOs, scan resistant).' },
		{
			name: 's3PromoteHits',
			type: 'int',
			default: S3_PROMOTE_HITS_DEFAULT,
			min: 1,
			max: 3,
			help: 'S3-FIFO only: hits a block needs while in the small queue to move to the main queue when the small queue evicts it; fewer hits and it leaves (its number goes to the ghost queue). 2 is the reference implementation\'s default (libCacheSim move-to-main-threshold); 1 promotes any block read again soon after it arrived.'
		},
		{ name: 'capacityMiB', type: 'number', default: 256, min: 0.00390625, max: 16_777_216, unit: 'MiB', help: 'Cache size on the SSD (clamped to the disk size).' },
		{ name: 'capacityBlocks', type: 'int', default: 0, min: 0, max: 2 ** 32, unit: 'blocks', help: 'Cache size in 4 KiB blocks; 0 = use capacityMiB.' },
		{ name: 'destageMBps', type: 'number', default: 40, min: 0, max: 100_000, unit: 'MB/s', help: 'Background destage rate of dirty blocks (write-back); 0 = destage only under pressure, on a flush or a control operation.' },
		{ name: 'destageDepth', type: 'int', default: 4, min: 1, max: 256, help: 'Destage writes in flight at once.' },
		{ name: 'dirtyHighPct', type: 'number', default: 60, min: 1, max: 100, unit: '%', help: 'Above this share of dirty blocks the destager runs at full speed.' },
		{
			name: 'flushMode',
			type: 'enum',
			default: 'destage',
			choices: ['destage', 'commit'],
			help: 'What a guest flush (SYNCHRONIZE CACHE, fsync) waits for in write-back mode. destage: every block dirty when it arrived is written to the datastore first, so the data survives the loss of this host (slow under fsync-heavy load). commit: nothing more, as dm-cache and bcache do: acknowledged writes are already on the SSD with their metadata committed; losing the host before they are destaged loses them unless writeBackPeers protect them.'
		},
		{ name: 'commitIntervalMs', type: 'number', default: 1000, min: 0, max: 3_600_000, unit: 'ms', help: 'Longest virtual time a metadata change no write waits for (population, destage) stays uncommitted; 0 = commit every change at once.' },
		{
			name: 'writeBackPeers',
			type: 'int',
			default: 0,
			min: 0,
			max: 2,
			help:
				'Write-back protection, as PernixData FVP\'s "write back with peers": each dirty block is also copied to this many other hosts\' flash over the "peer" network link, and a write completes only when they have acknowledged it (its latency includes the transfer and the round trip). If the host crashes, the cache where the VM restarts reads the dirty blocks back from a peer and destages them before the VM runs: no acknowledged write is lost. 0 = unprotected: a crash loses every dirty block not yet destaged (the crash report names them). Write-back mode only. The model survives the crash of the VM\'s host, not of every host at once.'
		}
	],
	// `peer`: the LAN to the hosts holding write-back copies (used only with writeBackPeers > 0).
	devices: { ssd: { kind: 'nvme' }, peer: { kind: 'wan', rttUs: 100, mbitPerSec: 10_000 } },
	async attach(ctx) {
		const engine = new CacheEngine(ctx);
		await engine.load();
		return engine;
	},
	detach: (ctx) => ctx.state.shutdown(false),
	onIo: (io, ctx) => ctx.state.onIo(io),
	onDone: (io, ctx) => ctx.state.onDone(io),
	onEvent: (ev, ctx) => ctx.state.onEvent(ev),
	status: (ctx) => ctx.state.status()
};
