/**
 * Automated storage tiering (class dataProvider, the playground's placement class), in the manner
 * of sub-LUN tiering (Dell EMC FAST VP, Compellent Data Progression, Storage Spaces tiers): the
 * disk is cut into extents of `extentKiB`; each extent lives on one of two tiers; a heat policy
 * (./tiering/policy.ts) decides which extents belong on the fast tier and the filter moves them
 * in the background within a migration bandwidth, and sends every I/O to the tier that holds its
 * extent.
 *
 * Where the tiers are. The fast tier is the filter's own device (role `fast`, default NVMe); the
 * capacity tier is the disk's datastore below the filter (scenarios put an HDD there:
 * `datastore: { kind: 'hdd' }`). Chosen over giving the filter both tiers because:
 *  - the datastore *is* the disk's capacity: every extent has its home there at its own address
 *    (identity mapping), so I/O to capacity extents simply passes (no copy, no allocation, and
 *    the filters below, e.g. datastoreIoControl, still see and throttle it);
 *  - migrations to and from capacity are the filter's own I/O through submitBelow, so they show in
 *    the trace and compete with guest I/O on the datastore's device model, as they do for real;
 *  - the VMDK stays the authoritative image: copying the dirty fast extents back makes it
 *    complete (snapshot, clone, vMotion, detach), whereas with two private devices the VMDK would
 *    hold nothing.
 * The fast tier is a pool of `fastCapacityMiB / extentKiB` slots; slot s occupies sectors
 * [s·extent, (s+1)·extent) of the fast device. A promoted extent's capacity copy stays where it
 * is; while the fast copy is not written (clean) a demotion is a map update with no data moved.
 *
 * I/O routing. An I/O wholly on capacity extents passes (onDone drops the in-flight counts). An
 * I/O wholly or partly on the fast tier is deferred and split at extent boundaries: fast pieces
 * go to the fast device (deviceIo), runs of capacity extents go below (submitBelow); a read's
 * pieces are assembled into one buffer and the filter completes the I/O (ctx.complete). Unmaps
 * are split the same way; a flush flushes the fast device and then passes down.
 *
 * Migration. Up to `migrationConcurrency` at once (a copy from an HDD waits in its queue behind
 * guest I/O: one at a time would leave the bandwidth unused): promote = read the extent from
 * capacity, write it to a free fast slot; demote = read the fast slot, write it back to capacity
 * (nothing to copy if clean), free the slot. Pacing: a migration copying B bytes delays the next
 * start by B / migrationMBps, so in any window of T µs at most migrationMBps·T + one extent of
 * bytes move.
 * Consistency while an extent moves (dm-cache's "bio prison" for writes): writes and unmaps to
 * the extent are held until the move has committed, then routed to the new place; reads keep
 * going to the source, which stays valid until the commit. The copy starts only once writes
 * already in flight to the extent have completed; a demotion's write to capacity waits for
 * capacity reads still in flight there; a freed fast slot is reused only after reads still in
 * flight on it have completed.
 *
 * Persistence (sidecar). `placement`: the extent size, the slot count, extent → slot of every
 * fast extent, the clean extents and a clean-shutdown flag; written at every migration commit,
 * before held writes are released to the new place and before a freed slot can be reused, so
 * after a restart every extent reads back from the tier that holds its latest data. Clean flags
 * are trusted only after a clean shutdown (power-off, suspend, detach); attach clears the flag,
 * so after a crash every fast extent counts as dirty (as dm-cache does). `heat`: the heat table,
 * written at commits (at most once per virtual second) and at control operations; a lost heat
 * update only delays a promotion.
 *
 * Control operations: snapshot-create, clone and migrate copy every dirty fast extent back
 * (the datastore then holds the complete image; extents stay on the fast tier, clean);
 * snapshot-revert drops the fast copies (the reverted datastore is the truth); detach copies
 * back and drops the placement; power-off and suspend save a clean shutdown. Each first waits
 * for the running migration and pauses new ones.
 */
import { DEFER, FILTER_CONTRACT_VERSION, PASS, type FilterContext, type FilterDef, type FilterDevice, type Verdict } from '../engine/filter';
import { allocBuffer } from '../engine/buffers';
import { Op, SECTOR_BYTES, type Io } from '../engine/io';
import { deviceIo, getJson, putJson } from './sdk';
import { exp } from '../engine/detmath';
import { HeatPolicy, type PlacementView, type TierDecision } from './tiering/policy';

/** Heat below this is dropped from the saved table. */
const HEAT_SAVE_MIN = 0.01;
/** The heat table is saved at a commit at most this often (and at every control operation). */
const HEAT_SAVE_INTERVAL_US = 1_000_000;
const PLACEMENT_KEY = 'placement';
const HEAT_KEY = 'heat';

/** One extent's run-time state (created when first touched). */
interface Extent {
	readonly id: number;
	/** Fast slot, or -1 on the capacity tier. */
	slot: number;
	/** The fast copy differs from the capacity copy. */
	dirty: boolean;
	/** I/Os in flight to this extent's capacity region. */
	capIn: number;
	/** Writes and unmaps in flight to this extent (either tier). */
	writesIn: number;
	migrating: boolean;
	/** Writes and unmaps waiting for the migration to commit. */
	held: Io[] | null;
	/** A migration step waiting for in-flight I/O to drain. */
	onQuiet: (() => void) | null;
}

type MigrationKind = 'promote' | 'demote' | 'sync';

interface Migration {
	kind: MigrationKind;
	x: Extent;
	slot: number;
	/** Sectors in the extent. */
	len: number;
	/** Bytes copied (0 for a clean demotion). */
	bytes: number;
	done: (() => void) | undefined;
}

interface SavedPlacement {
	v: 1;
	extentSectors: number;
	slots: number;
	map: [extent: number, slot: number][];
	clean: number[];
	cleanShutdown: boolean;
}

interface SavedHeat {
	v: 1;
	heat: [number, number][];
}

export interface TieringState {
	fast: FilterDevice;
	/** Extent size, sectors. */
	S: number;
	diskSectors: number;
	/** Slots in the arrays (at least the configured size: a restart may find more in use). */
	slots: number;
	/** Slots the fast tier is configured for; extents beyond it are demoted. */
	targetSlots: number;
	ext: Map<number, Extent>;
	/** Extent held by each slot (-1 = none). */
	slotOwner: Int32Array;
	/** Fast reads in flight per slot. */
	slotReaders: Int32Array;
	/** Freed slots waiting for their in-flight reads. */
	slotPendingFree: Uint8Array;
	pendingFree: number;
	/** Free slots; pop() gives the lowest. */
	free: number[];
	fastCount: number;
	policy: HeatPolicy;
	view: PlacementView;
	/** Bytes per µs (= MB/s). */
	rate: number;
	scanIntervalUs: number;
	/** Migrations running, and how many may run at once. */
	active: number;
	promoting: number;
	demoting: number;
	maxActive: number;
	nextMigrationAt: number;
	nextScanAt: number;
	scanQueued: boolean;
	paused: number;
	idleWaiters: (() => void)[];
	lastHeatSave: number;
	decayLambda: number;
	// counters
	ios: [fast: number, capacity: number, split: number][];
	bytesTotal: number;
	bytesFast: number;
	recentFast: number;
	recentAll: number;
	recentAt: number;
	promotions: number;
	demotions: number;
	cleanDemotions: number;
	syncs: number;
	bytesMoved: number;
	bytesSynced: number;
	migrationErrors: number;
	heldNow: number;
	heldTotal: number;
	/** Reads (and re-routed writes) sent to an extent while it was being migrated. */
	ioDuringMigration: number;
	ioErrors: number;
}

export const tiering: FilterDef<TieringState> = {
	contract: FILTER_CONTRACT_VERSION,
	name: 'tiering',
	vendor: 'VAIO Playground',
	version: '1.0.0',
	class: 'dataProvider',
	description:
		'Two-tier placement: extents with decaying heat move between a fast device and the capacity datastore within a migration bandwidth; I/O goes to the tier holding its extent.',
	params: [
		{ name: 'extentKiB', type: 'int', default: 1024, min: 4, max: 1_048_576, unit: 'KiB', help: 'Extent size: the unit of heat and migration (FAST VP uses 256 MiB slices, Compellent 512 KiB–4 MiB pages).' },
		{ name: 'fastCapacityMiB', type: 'int', default: 1024, min: 0, max: 16_777_216, unit: 'MiB', help: 'Size of the fast tier; it holds this / extentKiB extents (at most the whole disk).' },
		{ name: 'halfLifeMs', type: 'number', default: 2000, min: 1, max: 1e9, unit: 'ms', help: 'Heat decay: an access counts half after this much virtual time.' },
		{ name: 'migrationMBps', type: 'number', default: 64, min: 0, max: 100_000, unit: 'MB/s', help: 'Background migration bandwidth (0 = no migration).' },
		{ name: 'promoteMinHeat', type: 'number', default: 2, min: 0, max: 1e9, help: 'Least heat (≈ accesses within a half-life) for an extent to be promoted.' },
		{ name: 'hysteresis', type: 'number', default: 0.5, min: 0, max: 100, help: 'A capacity extent displaces a fast one only if hotter by this factor (1 + h).' },
		{ name: 'migrationConcurrency', type: 'int', default: 4, min: 1, max: 64, help: 'Migrations in flight at once (a copy from an HDD waits in its queue; several keep the bandwidth used).' },
		{ name: 'scanIntervalMs', type: 'number', default: 20, min: 0.01, max: 1e6, unit: 'ms', help: 'How often an idle migrator asks the policy again when it had nothing to do.' }
	],
	devices: { fast: { kind: 'nvme' } },

	async attach(ctx) {
		const p = ctx.params;
		const fast = ctx.device('fast');
		if (!fast.model || !fast.store) throw new Error('tiering: the "fast" device must be a storage device (nvme, sata-ssd, hdd, null)');
		const saved = validPlacement(await getJson<SavedPlacement>(ctx.sidecar, PLACEMENT_KEY));
		const savedHeat = await getJson<SavedHeat>(ctx.sidecar, HEAT_KEY);
		let S = (p.extentKiB as number) * 2;
		const diskSectors = ctx.disk.sectors;
		if (saved && saved.map.length > 0 && saved.extentSectors !== S) {
			ctx.log(`extent size ${S / 2} KiB ignored: the fast tier holds ${saved.map.length} extents of ${saved.extentSectors / 2} KiB (detach to change it)`);
			S = saved.extentSectors;
		}
		const target = Math.min(Math.floor(((p.fastCapacityMiB as number) * 2048) / S), Math.floor(diskSectors / S));
		let slots = target;
		if (saved) for (const [, sl] of saved.map) slots = Math.max(slots, sl + 1);
		const st = newState(ctx, fast, S, diskSectors, slots);
		st.targetSlots = target;
		if (saved && saved.map.length > 0) {
			const clean = saved.cleanShutdown ? new Set(saved.clean) : undefined;
			for (const [e, sl] of saved.map) {
				const x = getExt(st, e);
				x.slot = sl;
				x.dirty = !clean?.has(e);
				st.slotOwner[sl] = e;
				st.fastCount++;
			}
			ctx.log(`restored ${saved.map.length} fast extents (${saved.cleanShutdown ? 'clean shutdown' : 'after a crash: all counted dirty'})`);
		}
		for (let sl = target - 1; sl >= 0; sl--) if (st.slotOwner[sl] < 0) st.free.push(sl);
		if (st.fastCount > target) ctx.log(`the fast tier holds ${st.fastCount} extents, more than its ${target} slots: demoting the coldest`);
		if (savedHeat && Array.isArray(savedHeat.heat)) st.policy.importHeat(savedHeat.heat, ctx.now);
		// From now on the clean flags in the sidecar are stale until the next clean shutdown.
		if (saved) await savePlacement(st, ctx, false);
		return st;
	},

	onIo(io, ctx): Verdict {
		const st = ctx.state;
		const op = io.op;
		if (op === Op.flush) {
			if (st.slots === 0) return PASS;
			deviceIo(ctx, st.fast, Op.flush, 0, 0, undefined, (_d, err) => {
				if (err) ctx.fail(io, 'EIO', `tiering: fast tier flush: ${err.message}`);
				else ctx.resume(io);
			});
			return DEFER;
		}
		if (io.sectors <= 0) return PASS;
		if (op !== Op.unmap) {
			const S = st.S;
			const now = ctx.now;
			const e1 = Math.floor((io.lba + io.sectors - 1) / S);
			for (let e = Math.floor(io.lba / S); e <= e1; e++) st.policy.touch(e, now, 1);
			kick(st, ctx);
		}
		return route(st, ctx, io);
	},

	onDone(io, ctx): Verdict {
		const tag = io.slots[ctx.index] as Extent | Extent[] | undefined;
		if (tag === undefined) return PASS;
		io.slots[ctx.index] = undefined;
		const write = io.op !== Op.read;
		if (Array.isArray(tag)) for (const x of tag) capDone(x, write);
		else capDone(tag, write);
		return PASS;
	},

	async onEvent(ev, ctx) {
		const st = ctx.state;
		switch (ev.type) {
			case 'snapshot-create':
			case 'clone':
			case 'migrate':
				await exclusive(st, ctx, async () => {
					await syncAll(st, ctx);
					await saveAll(st, ctx, false);
				});
				return;
			case 'snapshot-revert':
				await exclusive(st, ctx, async () => {
					dropPlacement(st, ctx);
					await saveAll(st, ctx, false);
				});
				return;
			case 'detach':
				await evacuate(st, ctx);
				return;
			case 'power-off':
			case 'suspend':
				await exclusive(st, ctx, () => saveAll(st, ctx, true));
				return;
			case 'power-on':
			case 'resume':
				await savePlacement(st, ctx, false);
				return;
			case 'disk-grow':
				st.diskSectors = Math.max(st.diskSectors, ev.sectors);
				return;
			default:
				return;
		}
	},

	async detach(ctx) {
		await evacuate(ctx.state, ctx);
	},

	status(ctx) {
		const st = ctx.state;
		const [r, w] = st.ios;
		const all = r[0] + r[1] + r[2] + w[0] + w[1] + w[2];
		const decay = exp(-(ctx.now - st.recentAt) * st.decayLambda);
		const recentAll = st.recentAll * decay;
		let dirty = 0;
		for (let sl = 0; sl < st.slots; sl++) {
			const e = st.slotOwner[sl];
			if (e >= 0 && st.ext.get(e)!.dirty) dirty++;
		}
		return {
			fastShare: share(r[0] + w[0], all),
			fastShareRead: share(r[0], r[0] + r[1] + r[2]),
			fastShareWrite: share(w[0], w[0] + w[1] + w[2]),
			fastByteShare: share(st.bytesFast, st.bytesTotal),
			fastShareRecent: share(st.recentFast * decay, recentAll),
			fastIos: r[0] + w[0],
			capacityIos: r[1] + w[1],
			splitIos: r[2] + w[2],
			migrations: st.promotions + st.demotions,
			promotions: st.promotions,
			demotions: st.demotions,
			cleanDemotions: st.cleanDemotions,
			bytesMoved: st.bytesMoved,
			syncs: st.syncs,
			bytesSynced: st.bytesSynced,
			fastExtents: st.fastCount,
			capacityExtents: Math.ceil(st.diskSectors / st.S) - st.fastCount,
			fastSlots: st.slots,
			dirtyFastExtents: dirty,
			extentKiB: st.S / 2,
			heldIos: st.heldNow,
			heldTotal: st.heldTotal,
			ioDuringMigration: st.ioDuringMigration,
			migrating: st.active,
			migrationErrors: st.migrationErrors,
			ioErrors: st.ioErrors,
			trackedExtents: st.policy.tracked
		};
	}
};

function share(part: number, whole: number): number {
	return whole > 0 ? Math.round((part / whole) * 1e4) / 1e4 : 0;
}

function newState(ctx: FilterContext<TieringState>, fast: FilterDevice, S: number, diskSectors: number, slots: number): TieringState {
	const p = ctx.params;
	const halfLifeUs = (p.halfLifeMs as number) * 1000;
	const st: TieringState = {
		fast,
		S,
		diskSectors,
		slots,
		targetSlots: slots,
		ext: new Map(),
		slotOwner: new Int32Array(slots).fill(-1),
		slotReaders: new Int32Array(slots),
		slotPendingFree: new Uint8Array(slots),
		pendingFree: 0,
		free: [],
		fastCount: 0,
		policy: new HeatPolicy({
			halfLifeUs,
			promoteMinHeat: p.promoteMinHeat as number,
			hysteresis: p.hysteresis as number
		}),
		view: undefined as unknown as PlacementView,
		rate: p.migrationMBps as number,
		scanIntervalUs: (p.scanIntervalMs as number) * 1000,
		active: 0,
		promoting: 0,
		demoting: 0,
		maxActive: p.migrationConcurrency as number,
		nextMigrationAt: 0,
		nextScanAt: 0,
		scanQueued: false,
		paused: 0,
		idleWaiters: [],
		lastHeatSave: -Infinity,
		decayLambda: Math.LN2 / halfLifeUs,
		ios: [
			[0, 0, 0],
			[0, 0, 0]
		],
		bytesTotal: 0,
		bytesFast: 0,
		recentFast: 0,
		recentAll: 0,
		recentAt: 0,
		promotions: 0,
		demotions: 0,
		cleanDemotions: 0,
		syncs: 0,
		bytesMoved: 0,
		bytesSynced: 0,
		migrationErrors: 0,
		heldNow: 0,
		heldTotal: 0,
		ioDuringMigration: 0,
		ioErrors: 0
	};
	st.view = {
		get freeSlots() {
			// No promotion while a shrunk fast tier still holds too many extents.
			if (st.fastCount + st.promoting - st.demoting > st.targetSlots) return 0;
			return st.free.length + st.pendingFree + st.demoting;
		},
		get overCapacity() {
			return Math.max(0, st.fastCount + st.promoting - st.demoting - st.targetSlots);
		},
		isFast: (e) => {
			const x = st.ext.get(e);
			return x !== undefined && x.slot >= 0;
		},
		movable: (e) => {
			const x = st.ext.get(e);
			return x === undefined || !x.migrating;
		},
		forEachFast: (fn) => {
			for (let sl = 0; sl < st.slots; sl++) if (st.slotOwner[sl] >= 0) fn(st.slotOwner[sl]);
		}
	};
	return st;
}

function getExt(st: TieringState, e: number): Extent {
	let x = st.ext.get(e);
	if (x === undefined) {
		x = { id: e, slot: -1, dirty: false, capIn: 0, writesIn: 0, migrating: false, held: null, onQuiet: null };
		st.ext.set(e, x);
	}
	return x;
}

function extentLen(st: TieringState, e: number): number {
	return Math.max(0, Math.min(st.S, st.diskSectors - e * st.S));
}

// ---- routing ----

/**
 * Sends an I/O where its extents live. Returns PASS when it goes below unchanged (wholly on the
 * capacity tier), DEFER when the filter holds it (behind a migration, or split over the tiers).
 */
function route(st: TieringState, ctx: FilterContext<TieringState>, io: Io): Verdict {
	const S = st.S;
	const e0 = Math.floor(io.lba / S);
	const e1 = Math.floor((io.lba + io.sectors - 1) / S);
	const read = io.op === Op.read;
	const start = io.lba;
	const end = start + io.sectors;
	let fastPieces = 0;
	let fastSectors = 0;
	for (let e = e0; e <= e1; e++) {
		const x = st.ext.get(e);
		if (x === undefined) continue;
		if (!read && x.migrating) {
			(x.held ??= []).push(io);
			st.heldNow++;
			st.heldTotal++;
			return DEFER;
		}
		if (x.migrating) st.ioDuringMigration++;
		if (x.slot >= 0) {
			fastPieces++;
			fastSectors += Math.min(end, (e + 1) * S) - Math.max(start, e * S);
		}
	}
	const counted = io.op === Op.read || io.op === Op.write;
	if (fastPieces === 0) {
		if (e0 === e1) {
			const x = getExt(st, e0);
			x.capIn++;
			if (!read) x.writesIn++;
			io.slots[ctx.index] = x;
		} else {
			const tag: Extent[] = [];
			for (let e = e0; e <= e1; e++) {
				const x = getExt(st, e);
				x.capIn++;
				if (!read) x.writesIn++;
				tag.push(x);
			}
			io.slots[ctx.index] = tag;
		}
		if (counted) countIo(st, ctx, io, 1, 0);
		return PASS;
	}
	const n = e1 - e0 + 1;
	if (counted) countIo(st, ctx, io, fastPieces === n ? 0 : 2, fastSectors * SECTOR_BYTES);
	dispatchPieces(st, ctx, io, e0, e1);
	return DEFER;
}

/** Counts a routed read/write: where = 0 fast, 1 capacity, 2 split. */
function countIo(st: TieringState, ctx: FilterContext<TieringState>, io: Io, where: number, fastBytes: number): void {
	st.ios[io.op === Op.read ? 0 : 1][where]++;
	const bytes = io.sectors * SECTOR_BYTES;
	st.bytesTotal += bytes;
	st.bytesFast += fastBytes;
	const now = ctx.now;
	if (now !== st.recentAt) {
		const d = exp(-(now - st.recentAt) * st.decayLambda);
		st.recentFast *= d;
		st.recentAll *= d;
		st.recentAt = now;
	}
	st.recentAll++;
	if (where === 0) st.recentFast++;
}

/** A deferred I/O split into pieces by tier; completes when every piece has. */
interface Split {
	io: Io;
	pending: number;
	error: string | undefined;
	out: Uint8Array | undefined;
}

function dispatchPieces(st: TieringState, ctx: FilterContext<TieringState>, io: Io, e0: number, e1: number): void {
	const S = st.S;
	const op = io.op;
	const start = io.lba;
	const end = io.lba + io.sectors;
	// A read wholly inside one fast extent: one device read, its buffer goes straight up.
	if (op === Op.read && e0 === e1) {
		const x = st.ext.get(e0)!;
		const sl = x.slot;
		st.slotReaders[sl]++;
		deviceIo(ctx, st.fast, Op.read, sl * S + (start - e0 * S), io.sectors, undefined, (buf, err) => {
			slotReadDone(st, sl);
			if (err || !buf) {
				st.ioErrors++;
				ctx.fail(io, 'EIO', `tiering: fast tier read: ${err?.message ?? 'no data'}`);
			} else ctx.complete(io, buf);
		});
		return;
	}
	const job: Split = { io, pending: 1, error: undefined, out: op === Op.read ? allocBuffer(io.sectors * SECTOR_BYTES) : undefined };
	let e = e0;
	while (e <= e1) {
		const x = st.ext.get(e);
		const from = Math.max(start, e * S);
		if (x !== undefined && x.slot >= 0) {
			fastPiece(st, ctx, job, x, from, Math.min(end, (e + 1) * S));
			e++;
			continue;
		}
		// A run of capacity extents: contiguous on the datastore, one I/O below.
		let f = e + 1;
		while (f <= e1) {
			const y = st.ext.get(f);
			if (y !== undefined && y.slot >= 0) break;
			f++;
		}
		capPiece(st, ctx, job, e, f - 1, from, Math.min(end, f * S));
		e = f;
	}
	pieceDone(ctx, job);
}

function fastPiece(st: TieringState, ctx: FilterContext<TieringState>, job: Split, x: Extent, from: number, to: number): void {
	const io = job.io;
	const sl = x.slot;
	const devLba = sl * st.S + (from - x.id * st.S);
	const n = to - from;
	job.pending++;
	if (io.op === Op.read) {
		st.slotReaders[sl]++;
		deviceIo(ctx, st.fast, Op.read, devLba, n, undefined, (buf, err) => {
			slotReadDone(st, sl);
			if (err || !buf) job.error ??= `fast tier read: ${err?.message ?? 'no data'}`;
			else job.out!.set(buf, (from - io.lba) * SECTOR_BYTES);
			pieceDone(ctx, job);
		});
		return;
	}
	x.writesIn++;
	x.dirty = true;
	const data = io.op === Op.write ? io.data!.subarray((from - io.lba) * SECTOR_BYTES, (to - io.lba) * SECTOR_BYTES) : undefined;
	deviceIo(ctx, st.fast, io.op, devLba, n, data, (_buf, err) => {
		if (err) job.error ??= `fast tier ${io.op === Op.write ? 'write' : 'unmap'}: ${err.message}`;
		x.writesIn--;
		if (x.onQuiet !== null) x.onQuiet();
		pieceDone(ctx, job);
	});
}

function capPiece(st: TieringState, ctx: FilterContext<TieringState>, job: Split, ea: number, eb: number, from: number, to: number): void {
	const io = job.io;
	const write = io.op !== Op.read;
	for (let e = ea; e <= eb; e++) {
		const x = getExt(st, e);
		x.capIn++;
		if (write) x.writesIn++;
	}
	job.pending++;
	const data = io.op === Op.write ? io.data!.subarray((from - io.lba) * SECTOR_BYTES, (to - io.lba) * SECTOR_BYTES) : undefined;
	ctx.submitBelow(io.op, from, to - from, data, (below) => {
		for (let e = ea; e <= eb; e++) capDone(st.ext.get(e)!, write);
		if (below.error) job.error ??= `capacity tier: ${below.error.message}`;
		else if (job.out) job.out.set(below.data!, (from - io.lba) * SECTOR_BYTES);
		pieceDone(ctx, job);
	});
}

function pieceDone(ctx: FilterContext<TieringState>, job: Split): void {
	if (--job.pending > 0) return;
	if (job.error !== undefined) {
		ctx.state.ioErrors++;
		ctx.fail(job.io, 'EIO', `tiering: ${job.error}`);
	} else ctx.complete(job.io, job.out);
}

/** An I/O to an extent's capacity region finished. */
function capDone(x: Extent, write: boolean): void {
	x.capIn--;
	if (write) x.writesIn--;
	if (x.onQuiet !== null) x.onQuiet();
}

function slotReadDone(st: TieringState, sl: number): void {
	if (--st.slotReaders[sl] === 0 && st.slotPendingFree[sl] === 1) {
		st.slotPendingFree[sl] = 0;
		st.pendingFree--;
		pushFree(st, sl);
	}
}

function freeSlot(st: TieringState, sl: number): void {
	if (st.slotReaders[sl] > 0) {
		st.slotPendingFree[sl] = 1;
		st.pendingFree++;
	} else pushFree(st, sl);
}

/** Keeps `free` sorted descending so pop() hands out the lowest slot (deterministic layout). */
function pushFree(st: TieringState, sl: number): void {
	if (sl >= st.targetSlots) return; // a slot beyond a shrunk fast tier is retired
	const f = st.free;
	let i = f.length;
	f.push(sl);
	while (i > 0 && f[i - 1] < sl) {
		f[i] = f[i - 1];
		i--;
	}
	f[i] = sl;
}

/** Writes held behind a migration go where their extents now live. */
function releaseHeld(st: TieringState, ctx: FilterContext<TieringState>, x: Extent): void {
	const held = x.held;
	if (held === null) return;
	x.held = null;
	for (const io of held) {
		st.heldNow--;
		if (route(st, ctx, io) === PASS) ctx.resume(io);
	}
}

// ---- migration ----

/** Schedules a policy decision when the migrator is idle and its bandwidth budget allows. */
function kick(st: TieringState, ctx: FilterContext<TieringState>): void {
	if (st.active >= st.maxActive || st.scanQueued || st.paused > 0 || st.slots === 0 || !(st.rate > 0)) return;
	const now = ctx.now;
	let t = st.nextMigrationAt > st.nextScanAt ? st.nextMigrationAt : st.nextScanAt;
	if (t < now) t = now;
	st.scanQueued = true;
	ctx.after(t - now, () => {
		st.scanQueued = false;
		scan(st, ctx);
	});
}

function scan(st: TieringState, ctx: FilterContext<TieringState>): void {
	if (st.active >= st.maxActive || st.paused > 0) return;
	const d = st.policy.decide(ctx.now, st.view);
	if (d === undefined) {
		st.nextScanAt = ctx.now + st.scanIntervalUs;
		return;
	}
	if (!startDecision(st, ctx, d)) {
		// A promotion waits for a slot that a running demotion (or a draining read) frees.
		if (st.active === 0) st.nextScanAt = ctx.now + Math.min(st.scanIntervalUs, 1000);
		return;
	}
	st.nextScanAt = 0;
	kick(st, ctx);
}

function startDecision(st: TieringState, ctx: FilterContext<TieringState>, d: TierDecision): boolean {
	const x = getExt(st, d.extent);
	if (d.kind === 'promote') {
		if (x.slot >= 0 || st.free.length === 0) return false;
		startMigration(st, ctx, 'promote', x, st.free.pop()!, undefined);
	} else {
		if (x.slot < 0) return false;
		startMigration(st, ctx, 'demote', x, x.slot, undefined);
	}
	return true;
}

function startMigration(st: TieringState, ctx: FilterContext<TieringState>, kind: MigrationKind, x: Extent, slot: number, done: (() => void) | undefined): void {
	const len = extentLen(st, x.id);
	const copies = kind === 'promote' || x.dirty;
	const m: Migration = { kind, x, slot, len, bytes: copies ? len * SECTOR_BYTES : 0, done };
	st.active++;
	if (kind === 'demote') st.demoting++;
	else if (kind === 'promote') st.promoting++;
	x.migrating = true;
	if (kind !== 'sync') {
		// Pacing: the next migration may start once this one's bytes fit in the bandwidth.
		const now = ctx.now;
		st.nextMigrationAt = (st.nextMigrationAt > now ? st.nextMigrationAt : now) + m.bytes / st.rate;
	}
	if (!copies) {
		ctx.after(0, () => commit(st, ctx, m));
		return;
	}
	// The copy starts once writes already in flight to the extent are done (new ones are held).
	whenQuiet(x, () => x.writesIn === 0, () => copy(st, ctx, m));
}

function whenQuiet(x: Extent, ready: () => boolean, fn: () => void): void {
	if (ready()) {
		fn();
		return;
	}
	x.onQuiet = () => {
		if (!ready()) return;
		x.onQuiet = null;
		fn();
	};
}

function copy(st: TieringState, ctx: FilterContext<TieringState>, m: Migration): void {
	const { x, slot, len } = m;
	const S = st.S;
	if (m.kind === 'promote') {
		ctx.submitBelow(Op.read, x.id * S, len, undefined, (below) => {
			if (below.error || !below.data) return abort(st, ctx, m, `capacity read: ${below.error?.message ?? 'no data'}`);
			deviceIo(ctx, st.fast, Op.write, slot * S, len, below.data, (_b, err) => {
				if (err) return abort(st, ctx, m, `fast write: ${err.message}`);
				commit(st, ctx, m);
			});
		});
		return;
	}
	// demote or sync: fast slot -> the extent's home on capacity.
	deviceIo(ctx, st.fast, Op.read, slot * S, len, undefined, (buf, err) => {
		if (err || !buf) return abort(st, ctx, m, `fast read: ${err?.message ?? 'no data'}`);
		// Capacity reads issued before the extent was promoted may still be in flight there.
		whenQuiet(
			x,
			() => x.capIn === 0,
			() =>
				ctx.submitBelow(Op.write, x.id * S, len, buf, (below) => {
					if (below.error) return abort(st, ctx, m, `capacity write: ${below.error.message}`);
					commit(st, ctx, m);
				})
		);
	});
}

function commit(st: TieringState, ctx: FilterContext<TieringState>, m: Migration): void {
	const { x, slot } = m;
	let freed = -1;
	switch (m.kind) {
		case 'promote':
			x.slot = slot;
			x.dirty = false;
			st.slotOwner[slot] = x.id;
			st.fastCount++;
			st.promotions++;
			st.bytesMoved += m.bytes;
			break;
		case 'demote':
			x.slot = -1;
			x.dirty = false;
			st.slotOwner[slot] = -1;
			st.fastCount--;
			st.demotions++;
			if (m.bytes === 0) st.cleanDemotions++;
			st.bytesMoved += m.bytes;
			freed = slot;
			st.policy.demoted(x.id);
			break;
		case 'sync':
			x.dirty = false;
			st.syncs++;
			st.bytesSynced += m.bytes;
			break;
	}
	// The new placement is durable before writes go to the new place or the old slot is reused.
	const r = savePlacement(st, ctx, false);
	const finish = () => {
		if (freed >= 0) freeSlot(st, freed);
		finishMigration(st, ctx, m);
	};
	if (r instanceof Promise)
		r.then(finish, (e) => {
			ctx.log(`placement save failed: ${(e as Error).message}`);
			finish();
		});
	else finish();
}

function abort(st: TieringState, ctx: FilterContext<TieringState>, m: Migration, why: string): void {
	st.migrationErrors++;
	ctx.log(`${m.kind} of extent ${m.x.id} failed: ${why}`);
	if (m.kind === 'promote') pushFree(st, m.slot);
	// Back off a little before asking the policy again.
	st.nextScanAt = ctx.now + st.scanIntervalUs;
	finishMigration(st, ctx, m);
}

function finishMigration(st: TieringState, ctx: FilterContext<TieringState>, m: Migration): void {
	m.x.migrating = false;
	m.x.onQuiet = null;
	st.active--;
	if (m.kind === 'demote') st.demoting--;
	else if (m.kind === 'promote') st.promoting--;
	releaseHeld(st, ctx, m.x);
	if (m.kind !== 'sync' && ctx.now - st.lastHeatSave >= HEAT_SAVE_INTERVAL_US) {
		st.lastHeatSave = ctx.now;
		void saveHeat(st, ctx);
	}
	m.done?.();
	if (st.idleWaiters.length > 0 && st.active === 0) {
		const w = st.idleWaiters;
		st.idleWaiters = [];
		for (const f of w) f();
	}
	kick(st, ctx);
}

// ---- control operations ----

/** Runs `fn` with migrations paused, after the running one (if any) has finished. */
async function exclusive(st: TieringState, ctx: FilterContext<TieringState>, fn: () => Promise<void> | void): Promise<void> {
	st.paused++;
	try {
		while (st.active > 0) await new Promise<void>((resolve) => st.idleWaiters.push(resolve));
		await fn();
	} finally {
		st.paused--;
		kick(st, ctx);
	}
}

function runMigration(st: TieringState, ctx: FilterContext<TieringState>, kind: MigrationKind, x: Extent): Promise<void> {
	return new Promise((resolve) => startMigration(st, ctx, kind, x, x.slot, resolve));
}

/** Copies every dirty fast extent back to capacity (they stay on the fast tier, clean). */
async function syncAll(st: TieringState, ctx: FilterContext<TieringState>): Promise<void> {
	for (let sl = 0; sl < st.slots; sl++) {
		const e = st.slotOwner[sl];
		if (e < 0) continue;
		const x = st.ext.get(e)!;
		if (x.dirty) await runMigration(st, ctx, 'sync', x);
	}
}

/** Forgets the fast copies: every extent is read from capacity again. */
function dropPlacement(st: TieringState, ctx: FilterContext<TieringState>): void {
	let n = 0;
	for (let sl = 0; sl < st.slots; sl++) {
		const e = st.slotOwner[sl];
		if (e < 0) continue;
		const x = st.ext.get(e)!;
		x.slot = -1;
		x.dirty = false;
		st.slotOwner[sl] = -1;
		st.fastCount--;
		st.policy.demoted(e);
		freeSlot(st, sl);
		n++;
	}
	if (n > 0) ctx.log(`dropped ${n} fast extents`);
}

async function evacuate(st: TieringState, ctx: FilterContext<TieringState>): Promise<void> {
	await exclusive(st, ctx, async () => {
		await syncAll(st, ctx);
		dropPlacement(st, ctx);
		await saveAll(st, ctx, true);
		st.paused++; // detached: no more migrations
	});
}

// ---- sidecar ----

function placementRecord(st: TieringState, cleanShutdown: boolean): SavedPlacement {
	const map: [number, number][] = [];
	const clean: number[] = [];
	for (let sl = 0; sl < st.slots; sl++) {
		const e = st.slotOwner[sl];
		if (e < 0) continue;
		map.push([e, sl]);
		if (!st.ext.get(e)!.dirty) clean.push(e);
	}
	return { v: 1, extentSectors: st.S, slots: st.slots, map, clean, cleanShutdown };
}

function savePlacement(st: TieringState, ctx: FilterContext<TieringState>, cleanShutdown: boolean): void | Promise<void> {
	return putJson(ctx.sidecar, PLACEMENT_KEY, placementRecord(st, cleanShutdown));
}

function saveHeat(st: TieringState, ctx: FilterContext<TieringState>): void | Promise<void> {
	const rec: SavedHeat = { v: 1, heat: st.policy.exportHeat(ctx.now, HEAT_SAVE_MIN) };
	return putJson(ctx.sidecar, HEAT_KEY, rec);
}

async function saveAll(st: TieringState, ctx: FilterContext<TieringState>, cleanShutdown: boolean): Promise<void> {
	st.lastHeatSave = ctx.now;
	await saveHeat(st, ctx);
	await savePlacement(st, ctx, cleanShutdown);
}

function validPlacement(p: SavedPlacement | undefined): SavedPlacement | undefined {
	if (!p || p.v !== 1 || !Number.isSafeInteger(p.extentSectors) || p.extentSectors <= 0 || !Array.isArray(p.map)) return undefined;
	const slots = new Set<number>();
	for (const ent of p.map) {
		if (!Array.isArray(ent) || !Number.isSafeInteger(ent[0]) || !Number.isSafeInteger(ent[1]) || ent[0] < 0 || ent[1] < 0 || slots.has(ent[1]))
			throw new Error('tiering: the placement sidecar is corrupt (bad extent map)');
		slots.add(ent[1]);
	}
	return { ...p, clean: Array.isArray(p.clean) ? p.clean : [], cleanShutdown: p.cleanShutdown === true };
}
