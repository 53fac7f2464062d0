/**
 * Replication (class replication): a replica disk at a remote site, reached over the WAN link
 * model, kept as journal-based DR products keep it (Zerto, RecoverPoint, vSphere Replication's
 * write splitter).
 *
 * Source side (this filter, on the disk's I/O path):
 * - Every write and unmap gets a sequence number and, in journal state, a journal entry carrying
 *   a copy of its bytes (taken on the way down: filters below may replace io.data).
 * - async: the write goes on down and completes at local speed; a shipper sends journal entries
 *   in order, one or several per message, whenever the link has finished the previous message,
 *   so the journal absorbs bursts above the link's bandwidth.
 * - sync: the same entry is shipped at once; on the way up the write is deferred until the
 *   replica has applied it and the ack has come back (≥ one RTT), then resumed.
 * - Changed-block tracking: a bitmap of 4 KiB blocks that may differ at the replica. A bit is set
 *   (and its sidecar page written) before a write goes down, and cleared lazily once the replica
 *   has acked every entry on the block, as md's write-intent bitmap does. After a restart every
 *   set bit is resynchronised, so a restart loses nothing.
 * - Link outage: entries wait in the journal up to journalMaxMiB; beyond that the journal is
 *   dropped and the filter tracks changes only in the bitmap. When polling (every pollMs) finds
 *   the link back, the changed blocks are read from the source (submitBelow) and shipped. During
 *   that resync the replica is not write-order consistent (status consistent = 0); new writes go
 *   to the journal again but are held until the resync ends.
 * - sync with the link down: syncOnLinkDown = degrade completes writes locally (async until the
 *   journal has drained), fail fails them with EIO.
 *
 * Replica side (replication/replica.ts): items are applied strictly in stream order. Before each
 * overwrite, the replica's before-image is logged in the journal history on the remote journal
 * device; snapshots and bookmarks put consistency points in it. testFailover() rebuilds the
 * replica image at any point of the retention window and verifies it against what the guest had
 * acknowledged at that point.
 *
 * The link model carries the forward direction; acks travel back in RTT/2 and are lost while the
 * link is down (the next ack is cumulative; after an outage the source asks for one).
 */
import {
	DEFER,
	FILTER_CONTRACT_VERSION,
	PASS,
	fail,
	type ControlEvent,
	type FilterContext,
	type FilterDef,
	type FilterDevice,
	type Verdict
} from '../engine/filter';
import { Op, SECTOR_BYTES, SECTORS_PER_BLOCK, type Io } from '../engine/io';
import type { LinkModel } from '../engine/devices/types';
import { acquireWriteBuffer } from '../engine/buffers';
import { IntMap } from '../engine/intmap';
import type { Simulation } from '../engine/simulation';
import { ExpectedState, type Mismatch } from '../engine/verify';
import { isPromise, type MaybePromise } from '../engine/storage/sidecar-json';
import { getJson, putJson } from './sdk';
import { BlockBitmap } from './replication/bitmap';
import { Deque } from './replication/deque';
import { POINT_BOOKMARK, POINT_SNAPSHOT, REC_POINT, REC_UNDO, UndoLog, type HistRecord } from './replication/history';
import { ITEM_HEADER_BYTES, Item, Kind, TrackedWrite } from './replication/journal';
import { ReplicaSite, type ReplicaHost } from './replication/replica';

const MIB = 2 ** 20;
/** Blocks per sidecar page of the changed-block bitmap (4 KiB of bits = 128 MiB of disk). */
const PAGE_BYTES = 4096;
const BLOCKS_PER_PAGE = PAGE_BYTES * 8;

type JournalState = 'journal' | 'bitmap' | 'catchup';

interface Meta {
	v: 1;
	/** Filter time at the last save (the clock continues from here after a restart). */
	now: number;
	lastSeq: number;
	pointNo: number;
	appliedSeq: number;
	consistent: boolean;
	/** History log geometry and tail. */
	cap: number;
	tailNo: number;
	tailOff: number;
}

/** One replication instance (the filter's state). */
export class Replicator implements ReplicaHost {
	readonly mode: 'sync' | 'async';
	readonly failOnDown: boolean;
	readonly link: LinkModel;
	readonly replica: FilterDevice;
	readonly journalDevice: FilterDevice;
	readonly remote: ReplicaSite;
	readonly log: UndoLog;
	private readonly journalMax: number;
	private readonly shipBatch: number;
	private readonly resyncChunkBlocks: number;
	private readonly retentionUs: number;
	private readonly pollUs: number;
	private sectors: number;
	private blocks: number;
	private epoch = 0;

	// ---- source side ----
	state: JournalState = 'journal';
	linkUp = true;
	degraded = false;
	/** While leaving degraded mode: the last write that must be acknowledged first (-1 = none). */
	private syncTarget = -1;
	lastSeq = 0;
	private shipNo = 0;
	/** Unshipped journal entries, in write order. */
	readonly queue = new Deque<Item>();
	journalBytes = 0;
	/** Shipped, not yet acked. */
	readonly inflight = new Deque<Item>();
	inflightBytes = 0;
	private linkFreeAt = 0;
	private pumpAt = -1;
	/** block -> references that keep its changed bit set (local writes in flight, unacked items). */
	private readonly pending = new IntMap<number>();
	/** Blocks to read back and ship (bitmap mode, resync). */
	readonly resync: BlockBitmap;
	/** The persistent changed-block bitmap: pending or resync (a superset after lazy clears). */
	readonly intent: BlockBitmap;
	private readonly dirtyPages = new Set<number>();
	private newPages: number[] = [];
	/** Writes issued in bitmap mode (or dropped from the journal) still in flight below. */
	private bitmapInflight = 0;
	/** Filter time of the oldest write not in the journal (bitmap mode), -1 = none. */
	private bitmapSince = -1;
	private resyncCursor = 0;
	private resyncBusy = false;
	private resyncKick = false;
	private resyncAt = -1;
	private resyncBeginSent = false;
	private resyncEndSeq = 0;
	ackedItem = 0;
	ackedSeq = 0;
	pointNo = 0;
	/** Id of the last consistency point created (for consistencyPoint()). */
	lastPointId = 0;
	/** What the guest had acknowledged at each point (recorded by consistencyPoint()). */
	readonly expectedAt = new Map<number, ExpectedState>();
	private idleWaiters: (() => void)[] = [];
	private metaDirty = true;

	// ---- counters ----
	shippedBytes = 0;
	shippedMessages = 0;
	resyncedBytes = 0;
	resyncs = 0;
	overflows = 0;
	linkDowns = 0;
	degradedWrites = 0;
	failedWrites = 0;
	pointsLost = 0;
	syncWaiting = 0;

	constructor(readonly ctx: FilterContext<Replicator>) {
		const p = ctx.params;
		this.mode = p.mode === 'sync' ? 'sync' : 'async';
		this.failOnDown = p.syncOnLinkDown === 'fail';
		this.journalMax = (p.journalMaxMiB as number) * MIB;
		this.shipBatch = (p.shipBatchKiB as number) * 1024;
		this.resyncChunkBlocks = Math.max(1, Math.floor(((p.resyncChunkKiB as number) * 1024) / 4096));
		this.retentionUs = (p.retentionSec as number) * 1e6;
		this.pollUs = (p.pollMs as number) * 1000;
		const wan = ctx.device('wan');
		if (!wan.link) throw new Error('replication: device "wan" must be a WAN link ({ kind: "wan" })');
		this.link = wan.link;
		this.replica = ctx.device('replica');
		this.journalDevice = ctx.device('journal');
		if (!this.replica.store || !this.replica.model) throw new Error('replication: device "replica" must be a storage device');
		if (!this.journalDevice.store || !this.journalDevice.model) throw new Error('replication: device "journal" must be a storage device');
		this.sectors = ctx.disk.sectors;
		this.blocks = Math.ceil(this.sectors / SECTORS_PER_BLOCK);
		this.resync = new BlockBitmap(this.blocks);
		this.intent = new BlockBitmap(this.blocks);
		const historyOn = this.retentionUs > 0 && (p.retentionMiB as number) > 0;
		const cap = historyOn ? Math.min(this.journalDevice.store.sectors, Math.floor(((p.retentionMiB as number) * MIB) / SECTOR_BYTES)) : 0;
		this.log = new UndoLog(cap);
		this.remote = new ReplicaSite(this, this.replica, this.journalDevice, this.log, historyOn && cap > 1);
	}

	/** Filter time: virtual µs, continued across restarts. */
	time(): number {
		return this.ctx.now + this.epoch;
	}

	// ---- attach: read the sidecar back ----

	async load(): Promise<void> {
		const ctx = this.ctx;
		const meta = (await getJson<Meta>(ctx.sidecar, 'meta')) ?? undefined;
		const keys = await ctx.sidecar.keys();
		for (const k of keys) {
			if (!k.startsWith('bm/')) continue;
			const page = Number(k.slice(3));
			const bytes = await ctx.sidecar.get(k);
			if (!bytes || !Number.isInteger(page) || page * PAGE_BYTES >= this.intent.bits.length) continue;
			this.intent.bits.set(bytes.subarray(0, Math.min(PAGE_BYTES, this.intent.bits.length - page * PAGE_BYTES)), page * PAGE_BYTES);
		}
		this.intent.recount();
		if (meta && meta.v === 1) {
			this.lastSeq = meta.lastSeq;
			this.pointNo = meta.pointNo;
			this.epoch = meta.now;
			this.remote.appliedSeq = meta.appliedSeq;
			this.remote.consistent = meta.consistent;
			if (meta.cap === this.log.capacity && this.log.capacity > 0) {
				await this.log.scan(this.journalDevice.store!, meta.tailNo, meta.tailOff);
				for (const r of this.log.records) {
					if (r.time > this.epoch) this.epoch = r.time;
					if (r.kind === REC_UNDO && r.seq > this.lastSeq) this.lastSeq = r.seq;
					if (r.kind === REC_POINT && r.pid > this.pointNo) this.pointNo = r.pid;
				}
			}
			this.ackedSeq = this.lastSeq;
		} else if (ctx.params.initialSync === 'full') {
			for (let b = 0; b < this.blocks; b++) this.intent.set(b);
			for (let p = 0; p * BLOCKS_PER_PAGE < this.blocks; p++) this.dirtyPages.add(p);
		}
		if (this.intent.count > 0) {
			// Whatever the replica may lack is resynchronised: the journal's bytes were in memory.
			this.resync.bits.set(this.intent.bits);
			this.resync.recount();
			this.state = 'catchup';
			this.resyncEndSeq = this.lastSeq;
			this.bitmapSince = this.time();
			ctx.log(`attach: ${this.intent.count} changed blocks to resynchronise`);
		}
		if (this.state === 'journal') {
			// Nothing was unacknowledged: the replica holds exactly what the source holds.
			this.remote.consistent = true;
			this.remote.appliedSeq = this.lastSeq;
		}
		await this.persist();
		ctx.after(this.pollUs, () => this.tick());
		if (this.state !== 'journal') this.kickResync();
	}

	// ---- the I/O path ----

	onIo(io: Io): Verdict {
		const op = io.op;
		if (op !== Op.write && op !== Op.unmap) return PASS;
		if (this.linkUp && !this.link.up) this.linkDown();
		if (this.mode === 'sync' && this.failOnDown && (!this.linkUp || this.state === 'bitmap')) {
			this.failedWrites++;
			return fail('EIO', `replication: ${this.linkUp ? 'replica out of sync' : 'link down'} (syncOnLinkDown=fail)`);
		}
		const b0 = Math.floor(io.lba / SECTORS_PER_BLOCK);
		const b1 = Math.ceil((io.lba + io.sectors) / SECTORS_PER_BLOCK);
		const seq = ++this.lastSeq;
		let item: Item | undefined;
		if (this.state !== 'bitmap') {
			const bytes = (op === Op.write ? io.sectors * SECTOR_BYTES : 0) + ITEM_HEADER_BYTES;
			if (this.journalBytes + bytes > this.journalMax) this.overflow();
			else {
				let data: Uint8Array | undefined;
				if (op === Op.write) {
					// From the pool: the replica site gives it back once the replica holds the bytes.
					data = acquireWriteBuffer(io.sectors * SECTOR_BYTES);
					data.set(io.data!);
				}
				item = new Item(op === Op.write ? Kind.write : Kind.unmap, seq, io.lba, io.sectors, data, this.time(), bytes);
				item.local = true;
				this.queue.push(item);
				this.journalBytes += bytes;
				// One reference for the entry (until acked), one for the local write (until done).
				this.addPending(b0, b1, 2);
				io.slots[this.ctx.index] = item;
			}
		}
		if (!item) {
			// Bitmap mode: the block is resynchronised later; the local write holds its bit.
			this.addPending(b0, b1, 1);
			for (let b = b0; b < b1; b++) this.resync.set(b);
			this.bitmapInflight++;
			if (this.bitmapSince < 0) this.bitmapSince = this.time();
			io.slots[this.ctx.index] = new TrackedWrite(b0, b1);
		}
		this.metaDirty = true;
		const persisted = this.flushNewPages();
		if (persisted) {
			// The changed bit must be durable before the write goes down (write-intent bitmap).
			// (Continued from a timer, whose Promise the engine awaits: runs stay deterministic.)
			if (item) item.ready = false;
			this.ctx.after(0, () =>
				persisted.then(
					() => this.admitted(io, item),
					(e) => {
						this.ctx.log(`bitmap page write failed: ${(e as Error).message}`);
						this.admitted(io, item);
					}
				)
			);
			return DEFER;
		}
		if (item && this.state === 'journal') this.pump();
		return PASS;
	}

	private admitted(io: Io, item: Item | undefined): void {
		if (item) item.ready = true;
		this.ctx.resume(io);
		this.pump();
	}

	onDone(io: Io): Verdict {
		const slot = io.slots[this.ctx.index];
		if (slot === undefined) return PASS;
		io.slots[this.ctx.index] = undefined;
		if (slot instanceof TrackedWrite) {
			// Set the bit again after the data is in place: a resync read may have raced the write.
			for (let b = slot.firstBlock; b < slot.endBlock; b++) this.setResync(b);
			this.removePending(slot.firstBlock, slot.endBlock, 1);
			this.bitmapInflight--;
			this.kickResync();
			this.persistLater(this.flushNewPages());
			if (this.mode === 'sync') this.degradedWrites++;
			return PASS;
		}
		const item = slot as Item;
		item.local = false;
		if (item.dropped) {
			for (let b = item.firstBlock; b < item.endBlock; b++) this.setResync(b);
			this.bitmapInflight--;
			this.kickResync();
		}
		this.removePending(item.firstBlock, item.endBlock, 1);
		this.persistLater(this.flushNewPages());
		if (this.mode !== 'sync' || io.error || item.acked) return PASS;
		if (this.linkUp && !this.link.up) this.linkDown();
		if (this.failOnDown) {
			if (item.dropped || !this.linkUp) {
				this.failedWrites++;
				return fail('EIO', 'replication: the remote copy could not be acknowledged (syncOnLinkDown=fail)');
			}
		} else if (item.dropped || this.degraded || !this.linkUp || this.state !== 'journal') {
			this.degradedWrites++;
			return PASS;
		}
		item.waiter = io;
		this.syncWaiting++;
		return DEFER;
	}

	// ---- changed-block tracking ----

	private addPending(b0: number, b1: number, n: number): void {
		const m = this.pending;
		for (let b = b0; b < b1; b++) {
			const c = m.get(b);
			if (c === undefined) {
				m.set(b, n);
				this.setIntent(b);
			} else m.set(b, c + n);
		}
	}

	private removePending(b0: number, b1: number, n: number): void {
		const m = this.pending;
		for (let b = b0; b < b1; b++) {
			const c = (m.get(b) ?? 0) - n;
			if (c > 0) m.set(b, c);
			else {
				m.delete(b);
				if (!this.resync.get(b) && this.intent.clear(b)) this.dirtyPages.add(Math.floor(b / BLOCKS_PER_PAGE));
			}
		}
	}

	private setResync(b: number): void {
		if (this.resync.set(b)) this.setIntent(b);
	}

	private setIntent(b: number): void {
		if (!this.intent.set(b)) return;
		const page = Math.floor(b / BLOCKS_PER_PAGE);
		const n = this.newPages.length;
		if (n === 0 || this.newPages[n - 1] !== page) this.newPages.push(page);
	}

	/** Writes the bitmap pages that gained a bit; a Promise only for asynchronous sidecars. */
	private flushNewPages(): Promise<void> | undefined {
		if (this.newPages.length === 0) return undefined;
		const pages = this.newPages;
		this.newPages = [];
		let wait: Promise<void>[] | undefined;
		for (const p of pages) {
			this.dirtyPages.delete(p);
			const r = this.writePage(p);
			if (isPromise(r)) (wait ??= []).push(r);
		}
		return wait ? Promise.all(wait).then(() => undefined) : undefined;
	}

	/** An asynchronous sidecar write outside the I/O path: a timer the engine waits for. */
	private persistLater(p: Promise<void> | undefined): void {
		if (!p) return;
		this.ctx.after(0, () =>
			p.then(undefined, (e) => {
				this.ctx.log(`bitmap page write failed: ${(e as Error).message}`);
			})
		);
	}

	private writePage(p: number): MaybePromise<void> {
		const view = this.intent.bits.subarray(p * PAGE_BYTES, (p + 1) * PAGE_BYTES);
		let any = false;
		for (let i = 0; i < view.length; i++)
			if (view[i] !== 0) {
				any = true;
				break;
			}
		return any ? this.ctx.sidecar.set(`bm/${p}`, view) : this.ctx.sidecar.delete(`bm/${p}`);
	}

	// ---- the shipper ----

	/** Sends journal entries in order, as many as fit a message, whenever the link is free. */
	pump(): void {
		if (this.state !== 'journal' || !this.linkUp || this.queue.length === 0) return;
		const now = this.ctx.now;
		if (this.linkFreeAt > now) {
			this.schedulePump(this.linkFreeAt);
			return;
		}
		if (!this.link.up) {
			this.linkDown();
			return;
		}
		const items: Item[] = [];
		let bytes = 0;
		for (let q = this.queue.peek(); q && q.ready && (items.length === 0 || bytes + q.bytes <= this.shipBatch); q = this.queue.peek()) {
			this.queue.shift();
			this.journalBytes -= q.bytes;
			items.push(q);
			bytes += q.bytes;
		}
		if (items.length === 0) return;
		this.transmit(items, bytes);
		if (this.queue.length > 0) this.schedulePump(this.linkFreeAt);
	}

	private schedulePump(t: number): void {
		if (this.pumpAt >= 0) return;
		this.pumpAt = t;
		this.ctx.after(t - this.ctx.now, () => {
			this.pumpAt = -1;
			this.pump();
		});
	}

	/** Puts one message on the link (the caller checked link.up). */
	private transmit(items: Item[], bytes: number): void {
		const now = this.ctx.now;
		const arrival = this.link.send(now, bytes);
		for (const it of items) {
			it.no = ++this.shipNo;
			this.inflight.push(it);
			this.inflightBytes += it.bytes;
		}
		this.shippedBytes += bytes;
		this.shippedMessages++;
		this.linkFreeAt = arrival - this.link.rttUs / 2;
		this.ctx.after(arrival - now, () => this.remote.receive(items));
	}

	/** The replica's cumulative ack (called at the remote site). */
	ack(): void {
		if (!this.link.up) return;
		const applied = this.remote.appliedItem;
		this.ctx.after(this.link.rttUs / 2, () => this.onAck(applied));
	}

	private onAck(k: number): void {
		if (k <= this.ackedItem) return;
		this.ackedItem = k;
		for (let it = this.inflight.peek(); it && it.no <= k; it = this.inflight.peek()) {
			this.inflight.shift();
			it.acked = true;
			this.inflightBytes -= it.bytes;
			if (it.hasRange) {
				if (it.kind !== Kind.resync && it.seq > this.ackedSeq) this.ackedSeq = it.seq;
				this.removePending(it.firstBlock, it.endBlock, 1);
			} else if (it.kind === Kind.resyncEnd && this.state === 'journal') this.bitmapSince = -1;
			const w = it.waiter;
			if (w) {
				it.waiter = undefined;
				this.syncWaiting--;
				this.ctx.resumeUp(w);
			}
		}
		this.checkDegraded();
		this.checkIdle();
	}

	// ---- link state ----

	private linkDown(): void {
		if (!this.linkUp) return;
		this.linkUp = false;
		this.linkDowns++;
		this.ctx.log(`link down at ${Math.round(this.ctx.now)} µs: journalling (${this.journalBytes} bytes queued)`);
		if (this.mode !== 'sync') return;
		if (this.failOnDown) this.releaseWaiters(true);
		else {
			this.degraded = true;
			this.releaseWaiters(false);
		}
	}

	private linkRestored(): void {
		this.linkUp = true;
		this.ctx.log(`link up at ${Math.round(this.ctx.now)} µs`);
		// Ask the replica where it is: acks sent while the link was down were lost.
		const now = this.ctx.now;
		const arrival = this.link.send(now, ITEM_HEADER_BYTES);
		if (Number.isFinite(arrival)) {
			this.linkFreeAt = arrival - this.link.rttUs / 2;
			this.ctx.after(arrival - now, () => this.remote.ping());
		}
		this.pump();
		this.kickResync();
	}

	/** Sync writes waiting for an ack that may never come: complete them locally or fail them. */
	private releaseWaiters(failThem: boolean): void {
		const release = (it: Item) => {
			const w = it.waiter;
			if (!w) return;
			it.waiter = undefined;
			this.syncWaiting--;
			if (failThem) {
				this.failedWrites++;
				this.ctx.failUp(w, 'EIO', 'replication: link down before the remote ack (syncOnLinkDown=fail)');
			} else {
				this.degradedWrites++;
				this.ctx.resumeUp(w);
			}
		};
		for (const it of this.inflight) release(it);
		for (const it of this.queue) release(it);
	}

	/**
	 * Sync mode after an outage: once the link is up and the journal is the source of truth again
	 * (no resync left), every write admitted so far must reach the replica; then writes wait for
	 * their remote ack again. The target is fixed when that wait starts, so writes that keep
	 * arriving meanwhile (acknowledged early) do not push it away: waiting for an empty queue never
	 * ends while writes come faster than one per round trip.
	 */
	private checkDegraded(): void {
		if (!this.degraded || !this.linkUp || this.state !== 'journal') {
			this.syncTarget = -1;
			return;
		}
		if (this.syncTarget < 0) this.syncTarget = this.lastSeq;
		if (this.ackedSeq >= this.syncTarget) {
			this.degraded = false;
			this.syncTarget = -1;
			this.ctx.log('in sync again');
		}
	}

	// ---- journal overflow and resync ----

	/** The journal is full: drop it and track its blocks in the bitmap. */
	private overflow(): void {
		this.overflows++;
		let oldest = this.time();
		for (const it of this.queue) {
			if (it.hasRange) {
				for (let b = it.firstBlock; b < it.endBlock; b++) this.setResync(b);
				this.removePending(it.firstBlock, it.endBlock, 1);
				it.dropped = true;
				it.data = undefined;
				if (it.local) this.bitmapInflight++;
				if (it.time < oldest) oldest = it.time;
			} else if (it.kind === Kind.point) this.pointLost(it.label);
			const w = it.waiter;
			if (w) {
				it.waiter = undefined;
				this.syncWaiting--;
				if (this.failOnDown) {
					this.failedWrites++;
					this.ctx.failUp(w, 'EIO', 'replication: journal overflow (syncOnLinkDown=fail)');
				} else {
					this.degradedWrites++;
					this.ctx.resumeUp(w);
				}
			}
		}
		this.ctx.log(`journal full (${this.journalBytes} bytes): tracking changed blocks in the bitmap`);
		this.queue.clear();
		this.journalBytes = 0;
		if (this.bitmapSince < 0 || oldest < this.bitmapSince) this.bitmapSince = oldest;
		this.state = 'bitmap';
		if (this.mode === 'sync') this.degraded = true;
		this.kickResync();
	}

	private kickResync(): void {
		if (this.resyncKick || this.resyncBusy || this.state === 'journal' || !this.linkUp) return;
		this.resyncKick = true;
		this.ctx.after(0, () => {
			this.resyncKick = false;
			this.resyncStep();
		});
	}

	/** Reads the next run of changed blocks from the source and ships them, paced by the link. */
	private resyncStep(): void {
		if (this.resyncBusy || this.state === 'journal' || !this.linkUp) return;
		if (!this.link.up) {
			this.linkDown();
			return;
		}
		const now = this.ctx.now;
		if (this.linkFreeAt > now) {
			if (this.resyncAt < 0) {
				this.resyncAt = this.linkFreeAt;
				this.ctx.after(this.linkFreeAt - now, () => {
					this.resyncAt = -1;
					this.resyncStep();
				});
			}
			return;
		}
		const runs: number[] = [];
		let total = 0;
		const max = this.resyncChunkBlocks;
		let b = this.resync.nextSet(this.resyncCursor);
		if (b < 0 && this.resyncCursor > 0) b = this.resync.nextSet(0);
		while (b >= 0 && total < max) {
			let e = b;
			while (e < this.blocks && total + (e - b) < max && this.resync.get(e)) e++;
			runs.push(b, e);
			total += e - b;
			this.resyncCursor = e;
			b = this.resync.nextSet(e);
		}
		if (total === 0) {
			if (this.state === 'bitmap') {
				// Everything tracked so far is shipped: journal new writes again (held until the end).
				this.state = 'catchup';
				this.resyncEndSeq = this.lastSeq;
			}
			if (this.bitmapInflight === 0) this.finishResync();
			return;
		}
		for (let i = 0; i < runs.length; i += 2) {
			for (let k = runs[i]; k < runs[i + 1]; k++) this.resync.clear(k);
			this.addPending(runs[i], runs[i + 1], 1);
		}
		this.resyncBusy = true;
		let outstanding = runs.length / 2;
		const datas: (Uint8Array | undefined)[] = new Array(outstanding);
		for (let i = 0; i < runs.length; i += 2) {
			const lba = runs[i] * SECTORS_PER_BLOCK;
			const sectors = Math.min(runs[i + 1] * SECTORS_PER_BLOCK, this.sectors) - lba;
			this.ctx.submitBelow(Op.read, lba, sectors, undefined, (rio) => {
				datas[i / 2] = rio.error ? undefined : rio.data;
				if (--outstanding === 0) this.shipResync(runs, datas);
			});
		}
	}

	private shipResync(runs: number[], datas: (Uint8Array | undefined)[]): void {
		this.resyncBusy = false;
		const sendable = this.linkUp && this.link.up;
		const items: Item[] = [];
		let bytes = 0;
		for (let i = 0; i < runs.length; i += 2) {
			const data = datas[i / 2];
			if (!sendable || !data) {
				// Not shipped (link down or read error): the blocks stay changed.
				for (let k = runs[i]; k < runs[i + 1]; k++) this.setResync(k);
				this.removePending(runs[i], runs[i + 1], 1);
				continue;
			}
			const lba = runs[i] * SECTORS_PER_BLOCK;
			const it = new Item(Kind.resync, 0, lba, data.length / SECTOR_BYTES, data, this.time(), data.length + ITEM_HEADER_BYTES);
			items.push(it);
			bytes += it.bytes;
		}
		if (!sendable) {
			if (this.linkUp) this.linkDown();
			return;
		}
		if (items.length > 0) {
			if (!this.resyncBeginSent) {
				const begin = new Item(Kind.resyncBegin, 0, 0, 0, undefined, this.time(), ITEM_HEADER_BYTES);
				items.unshift(begin);
				bytes += begin.bytes;
				this.resyncBeginSent = true;
				this.resyncs++;
				this.ctx.log(`resync started: ${this.resync.count + (bytes >> 12)} changed blocks`);
			}
			this.transmit(items, bytes);
			this.resyncedBytes += bytes;
		}
		this.kickResync();
	}

	/** The bitmap is empty and no untracked write is in flight: the replica can be consistent again. */
	private finishResync(): void {
		if (!this.link.up) {
			this.linkDown();
			return;
		}
		const end = new Item(Kind.resyncEnd, this.resyncEndSeq, 0, 0, undefined, this.time(), ITEM_HEADER_BYTES);
		end.consistentAt = this.lastSeq;
		this.transmit([end], end.bytes);
		this.state = 'journal';
		this.resyncBeginSent = false;
		this.ctx.log(`resync complete: consistent from write ${end.consistentAt}`);
		this.pump();
	}

	// ---- consistency points ----

	addPoint(pkind: number, label: string): number {
		const pid = ++this.pointNo;
		this.lastPointId = pid;
		this.metaDirty = true;
		if (this.state !== 'journal' || !this.remote.historyOn) {
			this.pointLost(label);
			return pid;
		}
		const it = new Item(Kind.point, this.lastSeq, 0, 0, undefined, this.time(), ITEM_HEADER_BYTES);
		it.pid = pid;
		it.pkind = pkind;
		it.label = label;
		this.queue.push(it);
		this.journalBytes += it.bytes;
		this.pump();
		return pid;
	}

	pointLost(label: string): void {
		this.pointsLost++;
		this.ctx.log(`consistency point "${label}" not kept (replica not in journal mode or no history)`);
	}

	// ---- timer, persistence, idle ----

	private tick(): void | Promise<void> {
		this.ctx.after(this.pollUs, () => this.tick());
		const up = this.link.up;
		if (!up && this.linkUp) this.linkDown();
		else if (up && !this.linkUp) this.linkRestored();
		if (this.retentionUs > 0 && this.log.trimOlderThan(this.time() - this.retentionUs) > 0) this.metaDirty = true;
		this.checkDegraded();
		if (this.state !== 'journal') this.kickResync();
		else if (this.queue.length > 0 && this.pumpAt < 0) this.pump();
		this.checkIdle();
		const p = this.persist();
		return isPromise(p) ? p : undefined;
	}

	/** Saves the lazily cleared bitmap pages and the metadata. */
	persist(): MaybePromise<void> {
		const wait: Promise<void>[] = [];
		for (const p of this.newPages) this.dirtyPages.add(p);
		this.newPages = [];
		for (const p of this.dirtyPages) {
			const r = this.writePage(p);
			if (isPromise(r)) wait.push(r);
		}
		this.dirtyPages.clear();
		const r = this.persistMeta();
		if (isPromise(r)) wait.push(r);
		return wait.length > 0 ? Promise.all(wait).then(() => undefined) : undefined;
	}

	persistMeta(): MaybePromise<void> {
		this.metaDirty = false;
		const meta: Meta = {
			v: 1,
			now: this.time(),
			lastSeq: this.lastSeq,
			pointNo: this.pointNo,
			appliedSeq: this.remote.appliedSeq,
			consistent: this.remote.consistent,
			cap: this.log.capacity,
			tailNo: this.log.tailNo,
			tailOff: this.log.tailOff
		};
		return putJson(this.ctx.sidecar, 'meta', meta);
	}

	/** Everything written so far is at the replica, acked, and the replica is consistent. */
	get idle(): boolean {
		return (
			this.state === 'journal' &&
			this.queue.length === 0 &&
			this.inflight.length === 0 &&
			this.remote.idle &&
			this.remote.consistent &&
			this.resync.count === 0 &&
			!this.resyncBusy &&
			this.bitmapInflight === 0
		);
	}

	whenIdle(): Promise<void> {
		if (this.idle) return Promise.resolve();
		return new Promise((resolve) => this.idleWaiters.push(resolve));
	}

	private checkIdle(): void {
		if (this.idleWaiters.length === 0 || !this.idle) return;
		const w = this.idleWaiters;
		this.idleWaiters = [];
		for (const f of w) f();
	}

	// ---- control operations ----

	onEvent(event: ControlEvent): MaybePromise<void> {
		switch (event.type) {
			case 'snapshot-create':
				this.addPoint(POINT_SNAPSHOT, event.snapshot);
				break;
			case 'bookmark':
				this.addPoint(POINT_BOOKMARK, event.label);
				break;
			case 'disk-grow':
				if (event.sectors > this.sectors) {
					this.sectors = event.sectors;
					this.blocks = Math.ceil(event.sectors / SECTORS_PER_BLOCK);
					this.resync.resize(this.blocks);
					this.intent.resize(this.blocks);
					const r = this.replica.store!.resize(event.sectors);
					if (isPromise(r)) return r.then(() => this.persist());
				}
				break;
			case 'snapshot-revert':
				this.ctx.log('snapshot revert: the source changed under the filter; a real product resynchronises the disk');
				break;
			case 'detach':
			case 'power-off':
				this.releaseWaiters(false);
				break;
		}
		return this.persist();
	}

	// ---- status ----

	/** Recovery point: age of the oldest write the replica does not have yet, µs. */
	rpoUs(): number {
		let oldest = this.bitmapSince >= 0 ? this.bitmapSince : Infinity;
		const a = this.inflight.peek();
		if (a && a.time < oldest) oldest = a.time;
		const q = this.queue.peek();
		if (q && q.time < oldest) oldest = q.time;
		return oldest === Infinity ? 0 : Math.max(0, this.time() - oldest);
	}

	stateName(): string {
		if (this.state === 'bitmap') return this.linkUp ? 'resync' : 'bitmap';
		return this.state;
	}

	status(): Record<string, number | string> {
		const oldest = this.log.oldestTime();
		return {
			mode: this.mode,
			syncOnLinkDown: this.failOnDown ? 'fail' : 'degrade',
			state: this.stateName(),
			linkState: this.linkUp ? 'up' : 'down',
			degraded: this.degraded ? 1 : 0,
			consistent: this.remote.consistent ? 1 : 0,
			rpoUs: this.rpoUs(),
			lagBytes: this.journalBytes + this.inflightBytes + this.resync.count * 4096,
			lagWrites: Math.max(0, this.lastSeq - this.remote.appliedSeq),
			journalBytes: this.journalBytes,
			journalEntries: this.queue.length,
			inflightBytes: this.inflightBytes,
			shippedBytes: this.shippedBytes,
			shippedMessages: this.shippedMessages,
			dirtyBlocks: this.resync.count,
			trackedBlocks: this.intent.count,
			overflows: this.overflows,
			resyncs: this.resyncs,
			resyncedBytes: this.resyncedBytes,
			linkDowns: this.linkDowns,
			lastSeq: this.lastSeq,
			appliedSeq: this.remote.appliedSeq,
			ackedSeq: this.ackedSeq,
			points: this.log.pointCount,
			pointsCreated: this.pointNo,
			pointsLost: this.pointsLost,
			pointsExpired: this.log.pointsExpired,
			historyRecords: this.log.records.length,
			historyBytes: this.log.dataBytes,
			windowUs: oldest === undefined ? 0 : this.time() - oldest,
			syncWaiting: this.syncWaiting,
			degradedWrites: this.degradedWrites,
			failedWrites: this.failedWrites,
			replicaAppliedBytes: this.remote.appliedBytes,
			replicaErrors: this.remote.deviceErrors
		};
	}
}

export const replication: FilterDef<Replicator> = {
	contract: FILTER_CONTRACT_VERSION,
	name: 'replication',
	vendor: 'VAIO Playground',
	version: '1.0.0',
	class: 'replication',
	description:
		'Replicates the disk to a remote replica over a WAN link: sync or async, a write-order journal with consistency points and a retention window, changed-block tracking and resync after an outage.',
	params: [
		{ name: 'mode', type: 'enum', default: 'async', choices: ['async', 'sync'], help: 'async: writes complete locally and a journal ships them in order; sync: a write completes only after the remote ack.' },
		{
			name: 'syncOnLinkDown',
			type: 'enum',
			default: 'degrade',
			choices: ['degrade', 'fail'],
			help: 'Sync mode with the link down: degrade completes writes locally (async until caught up); fail fails them with EIO.'
		},
		{ name: 'journalMaxMiB', type: 'number', default: 64, min: 0.01, max: 1_048_576, unit: 'MiB', help: 'Bound of the unshipped journal; beyond it the filter tracks changed blocks in a bitmap and resyncs later.' },
		{ name: 'shipBatchKiB', type: 'int', default: 256, min: 1, max: 65_536, unit: 'KiB', help: 'Largest message the shipper sends (several journal entries per message).' },
		{ name: 'resyncChunkKiB', type: 'int', default: 1024, min: 4, max: 65_536, unit: 'KiB', help: 'Changed blocks read from the source and shipped per resync message.' },
		{ name: 'retentionSec', type: 'number', default: 60, min: 0, max: 2_592_000, unit: 's', help: 'Journal history kept at the replica (virtual seconds): consistency points this old can be recovered. 0 = no history.' },
		{ name: 'retentionMiB', type: 'number', default: 64, min: 0, max: 1_048_576, unit: 'MiB', help: 'Space of the journal history (before-images) on the remote journal device; the oldest records go first.' },
		{ name: 'pollMs', type: 'number', default: 100, min: 1, max: 60_000, unit: 'ms', help: 'Interval of the link-state poll, lazy bitmap saves and retention trimming (virtual time).' },
		{ name: 'initialSync', type: 'enum', default: 'none', choices: ['none', 'full'], help: 'First attach: none assumes a new (zero) disk; full copies every block to the replica.' }
	],
	devices: {
		wan: { kind: 'wan' },
		replica: { kind: 'sata-ssd' },
		journal: { kind: 'sata-ssd' }
	},
	async attach(ctx) {
		const r = new Replicator(ctx);
		await r.load();
		return r;
	},
	detach: (ctx) => ctx.state.onEvent({ type: 'detach' }),
	onIo: (io, ctx) => ctx.state.onIo(io),
	onDone: (io, ctx) => ctx.state.onDone(io),
	onEvent: (event, ctx) => ctx.state.onEvent(event),
	status: (ctx) => ctx.state.status()
};

// ---- helpers for tests, the CLI and the page ----

/** The replication instance of a disk ("vm/disk", or the only disk). */
export function replicationOf(sim: Simulation, key?: string): Replicator {
	const f = sim.disk(key).chain.filters.find((x) => x.def === (replication as FilterDef));
	if (!f) throw new Error(`disk ${sim.disk(key).key} has no replication filter`);
	return f.state as Replicator;
}

export interface PointInfo {
	id: number;
	kind: 'snapshot' | 'bookmark';
	label: string;
	/** Writes 1..seq are before the point. */
	seq: number;
	timeUs: number;
	/** Whether consistencyPoint() recorded the guest's expected state for it. */
	verifiable: boolean;
}

/** A point (by id or label) that recently left the retention window, with the time it was taken, µs. */
export function expiredPoint(sim: Simulation, key: string | undefined, point: number | string): { label: string; timeUs: number } | undefined {
	const p = replicationOf(sim, key).log.recentlyExpired.findLast((e) => (typeof point === 'number' ? e.pid === point : e.label === point));
	return p && { label: p.label, timeUs: p.time };
}

/** Consistency points inside the retention window, oldest first. */
export function listPoints(sim: Simulation, key?: string): PointInfo[] {
	const r = replicationOf(sim, key);
	return r.log.points().map((p) => ({
		id: p.pid,
		kind: p.pkind === POINT_SNAPSHOT ? 'snapshot' : 'bookmark',
		label: p.label,
		seq: p.seq,
		timeUs: p.time,
		verifiable: r.expectedAt.has(p.pid)
	}));
}

/**
 * Runs a snapshot-create or bookmark control operation and records what the guest had
 * acknowledged at that moment (the operation drains in-flight I/O first, so the guest is
 * quiesced), so that testFailover can verify the point later.
 */
export async function consistencyPoint(
	sim: Simulation,
	key: string | undefined,
	event: { type: 'snapshot-create'; snapshot: string } | { type: 'bookmark'; label: string }
): Promise<{ id: number; expected: ExpectedState }> {
	const r = replicationOf(sim, key);
	const d = sim.disk(key);
	await sim.control(d.key, event);
	const expected = ExpectedState.fromJSON(d.expected.toJSON());
	r.expectedAt.set(r.lastPointId, expected);
	return { id: r.lastPointId, expected };
}

/**
 * Keeps the virtual clock running until everything written has reached the replica and been
 * acked (and any resync is over). Rejects after `maxUs` of virtual time.
 */
export async function drainReplication(sim: Simulation, key?: string, maxUs = 3_600e6): Promise<void> {
	const r = replicationOf(sim, key);
	await sim.settle(
		new Promise<void>((resolve, reject) => {
			let done = false;
			r.whenIdle().then(() => {
				done = true;
				resolve();
			});
			r.ctx.after(maxUs, () => {
				if (done) return;
				done = true;
				reject(new Error(`replication did not drain within ${maxUs} µs (state ${r.stateName()}, link ${r.linkUp ? 'up' : 'down'})`));
			});
		})
	);
}

/** A read-only view of a disk image (the replica rolled back to a point). */
export interface ImageReader {
	readonly sectors: number;
	read(sector: number, dst: Uint8Array): Promise<void>;
}

export interface FailoverResult {
	point: PointInfo;
	image: ImageReader;
	blocksChecked: number;
	sectorsChecked: number;
	mismatches: number;
	firstMismatch?: Mismatch;
}

/**
 * A test failover: builds the replica image at a consistency point (the replica as it is now,
 * with the before-images logged after the point applied newest first, without touching the
 * replica) and verifies it against what the guest had acknowledged at the point. Checks every
 * block the guest had written by then, every block it wrote since, and every block changed at
 * the replica since. `point` is a point id or a label (the newest point with that label).
 * Assumes the filters above replication do not transform data (e.g. no encryption above it).
 */
export async function testFailover(sim: Simulation, key: string | undefined, point: number | string, expected?: ExpectedState): Promise<FailoverResult> {
	const r = replicationOf(sim, key);
	const d = sim.disk(key);
	const recs = r.log.records;
	let idx = -1;
	for (let i = recs.length - 1; i >= 0; i--) {
		const x = recs.at(i);
		if (x.kind === REC_POINT && (typeof point === 'number' ? x.pid === point : x.label === point)) {
			idx = i;
			break;
		}
	}
	if (idx < 0) throw new Error(`consistency point ${JSON.stringify(point)} is not in the retention window (or not yet at the replica)`);
	const prec = recs.at(idx);
	const info: PointInfo = {
		id: prec.pid,
		kind: prec.pkind === POINT_SNAPSHOT ? 'snapshot' : 'bookmark',
		label: prec.label,
		seq: prec.seq,
		timeUs: prec.time,
		verifiable: r.expectedAt.has(prec.pid)
	};
	const snapshot = expected ?? r.expectedAt.get(prec.pid);
	if (!snapshot) throw new Error(`no expected state recorded for point ${prec.pid} ("${prec.label}"): create it with consistencyPoint()`);
	// Undo newest first; an older before-image of the same sector replaces a newer one.
	const overlay = new Map<number, Uint8Array>();
	const journal = r.journalDevice.store!;
	const touched = new Set<number>();
	for (let i = recs.length - 1; i > idx; i--) {
		const x: HistRecord = recs.at(i);
		if (x.kind !== REC_UNDO) continue;
		const buf = new Uint8Array(x.sectors * SECTOR_BYTES);
		await journal.read(x.off + 1, buf);
		for (let s = 0; s < x.sectors; s++) {
			overlay.set(x.lba + s, buf.subarray(s * SECTOR_BYTES, (s + 1) * SECTOR_BYTES));
			touched.add(Math.floor((x.lba + s) / SECTORS_PER_BLOCK));
		}
	}
	const replicaStore = r.replica.store!;
	const image: ImageReader = {
		sectors: replicaStore.sectors,
		async read(sector: number, dst: Uint8Array): Promise<void> {
			await replicaStore.read(sector, dst);
			if (overlay.size === 0) return;
			const n = dst.length / SECTOR_BYTES;
			for (let s = 0; s < n; s++) {
				const o = overlay.get(sector + s);
				if (o) dst.set(o, s * SECTOR_BYTES);
			}
		}
	};
	for (const [b] of snapshot.toJSON()) touched.add(b);
	for (const [b] of d.expected.toJSON()) touched.add(b);
	const check = ExpectedState.fromJSON(snapshot.toJSON());
	const sectors = d.info.sectors;
	const buf = new Uint8Array(4096);
	let blocksChecked = 0;
	for (const b of [...touched].sort((x, y) => x - y)) {
		const lba = b * SECTORS_PER_BLOCK;
		const n = Math.min(SECTORS_PER_BLOCK, sectors - lba);
		if (n <= 0) continue;
		const view = buf.subarray(0, n * SECTOR_BYTES);
		await image.read(lba, view);
		check.checkRead(lba, n, view, 0);
		blocksChecked++;
	}
	return {
		point: info,
		image,
		blocksChecked,
		sectorsChecked: check.sectorsChecked,
		mismatches: check.mismatches,
		...(check.firstMismatch ? { firstMismatch: check.firstMismatch } : {})
	};
}
