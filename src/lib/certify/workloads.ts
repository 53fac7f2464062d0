/**
 * The suite's guest workloads: fio-like streams (the engine's WorkloadStream) in phases (a
 * random phase, then a sequential read-back of the whole region, so that everything written is
 * verified), with flushes and unmaps mixed in where the check wants them. Small on purpose: a
 * certification runs several of these per filter and must stay quick.
 */
import type { Prng } from '../engine/clock';
import type { GuestStream } from '../engine/guest';
import { Op, SECTOR_BYTES } from '../engine/io';
import type { AttachedStream, DiskStreamContext } from '../engine/simulation';
import { WorkloadStream } from '../engine/workload/generator';
import { defaultWorkload } from '../engine/workload/spec';
import type { GuestIoSpec, WorkloadSpec } from '../engine/workload/types';

const KIB = 1024;
const MIB = 1024 * KIB;

/** Streams one phase after the other; `onPhase(i)` is called when phase i starts handing out I/O. */
export class PhasedStream implements GuestStream {
	private i = 0;

	constructor(
		private readonly phases: GuestStream[],
		private readonly onPhase?: (index: number) => void
	) {
		onPhase?.(0);
	}

	get phase(): number {
		return this.i;
	}

	get done(): boolean {
		this.skipDone();
		return this.phases[this.i].done;
	}

	nextIssueTime(now: number): number {
		this.skipDone();
		return this.phases[this.i].nextIssueTime(now);
	}

	next(now: number): GuestIoSpec | null {
		for (;;) {
			this.skipDone();
			const spec = this.phases[this.i].next(now);
			if (spec || this.i === this.phases.length - 1) return spec;
			this.advance();
		}
	}

	private skipDone(): void {
		while (this.phases[this.i].done && this.i < this.phases.length - 1) this.advance();
	}

	private advance(): void {
		this.i++;
		this.onPhase?.(this.i);
	}
}

/**
 * A stream with flushes and unmaps mixed in: every `flushEvery`-th I/O is a flush and every
 * `unmapEvery`-th an unmap of 512 B..64 KiB at a 512-byte-aligned offset of the region (so
 * partial blocks are unmapped too); the rest comes from `base`.
 */
export class MixedInStream implements GuestStream {
	private n = 0;

	constructor(
		private readonly base: GuestStream,
		private readonly prng: Prng,
		private readonly regionStart: number,
		private readonly regionSectors: number,
		private readonly unmapEvery: number,
		private readonly flushEvery: number
	) {}

	get done(): boolean {
		return this.base.done;
	}

	nextIssueTime(now: number): number {
		return this.base.nextIssueTime(now);
	}

	next(now: number): GuestIoSpec | null {
		if (this.base.done) return null;
		this.n++;
		if (this.flushEvery > 0 && this.n % this.flushEvery === 0) return { op: Op.flush, lba: 0, sectors: 0 };
		if (this.unmapEvery > 0 && this.n % this.unmapEvery === 0) {
			const sectors = 1 + this.prng.int(128);
			const lba = this.regionStart + this.prng.int(Math.max(1, this.regionSectors - sectors));
			return { op: Op.unmap, lba, sectors };
		}
		return this.base.next(now);
	}
}

/** A complete WorkloadSpec from the parts a run cares about. */
export function spec(part: Partial<WorkloadSpec>): WorkloadSpec {
	return { ...defaultWorkload(), offset: 0, runtimeUs: 0, thinktimeUs: 0, rateIops: 0, ...part };
}

/** Odd multiples of 512 B from 512 B to 64 KiB: unaligned sizes at unaligned offsets. */
export const UNALIGNED_SPLIT = [
	{ bs: 512, pct: 10 },
	{ bs: 1536, pct: 10 },
	{ bs: 3584, pct: 10 },
	{ bs: 4096, pct: 20 },
	{ bs: 7680, pct: 10 },
	{ bs: 12_800, pct: 10 },
	{ bs: 28_160, pct: 10 },
	{ bs: 65_024, pct: 10 },
	{ bs: 65_536, pct: 10 }
];

/** Whole 4 KiB blocks, 4 KiB to 64 KiB (runs whose subject is not alignment). */
export const ALIGNED_SPLIT = [
	{ bs: 4096, pct: 60 },
	{ bs: 8192, pct: 20 },
	{ bs: 16_384, pct: 10 },
	{ bs: 65_536, pct: 10 }
];

/** The disk every run uses. */
export const DISK_BYTES = 256 * MIB;
/** The region the workloads touch (a small one: reads find what was written). */
export const REGION_BYTES = 4 * MIB;

export type StreamPlan = (ctx: DiskStreamContext) => AttachedStream[];

/** A sequential 64 KiB read of the whole region: every sector written is read back and verified. */
function readBack(ctx: DiskStreamContext, prng: Prng, index: number): WorkloadStream {
	return new WorkloadStream(spec({ rw: 'read', bs: 64 * KIB, size: REGION_BYTES, ios: 0, iodepth: 16 }), ctx.sectors, prng, ctx.contents, index);
}

/**
 * Check 1 and 2: random read/write, 512-byte-aligned offsets, 512 B..64 KiB odd sizes, 30 %
 * duplicate blocks, with unmaps and flushes mixed in; then the whole region is read back.
 */
export function mixedPlan(ios: number): StreamPlan {
	return (ctx) => {
		const w = new WorkloadStream(
			spec({ rw: 'randrw', bssplit: UNALIGNED_SPLIT, blockalign: 512, rwmixread: 50, size: REGION_BYTES, ios, iodepth: 16, dedupePercentage: 30 }),
			ctx.sectors,
			ctx.prng.fork(1),
			ctx.contents,
			0
		);
		const mixed = new MixedInStream(w, ctx.prng.fork(2), 0, REGION_BYTES / SECTOR_BYTES, 61, 257);
		return [{ stream: new PhasedStream([mixed, readBack(ctx, ctx.prng.fork(3), 0)]), iodepth: 16 }];
	};
}

/** Check 3: 4 KiB random read/write at queue depth 32. */
export function qd32Plan(ios: number): StreamPlan {
	return (ctx) => [
		{
			stream: new WorkloadStream(spec({ rw: 'randrw', bs: 4096, rwmixread: 50, size: 4 * REGION_BYTES, ios, iodepth: 32 }), ctx.sectors, ctx.prng.fork(1), ctx.contents, 0),
			iodepth: 32
		}
	];
}

/**
 * Check 4: aligned random read/write while faults are injected below (phase 0), then a read-back
 * with the faults off (phase 1): a write whose failure was hidden from the guest reads back wrong.
 */
export function faultPlan(ios: number, onPhase: (i: number) => void): StreamPlan {
	return (ctx) => {
		const w = new WorkloadStream(
			spec({ rw: 'randrw', bssplit: ALIGNED_SPLIT, rwmixread: 50, size: REGION_BYTES, ios, iodepth: 16 }),
			ctx.sectors,
			ctx.prng.fork(1),
			ctx.contents,
			0
		);
		return [{ stream: new PhasedStream([w, readBack(ctx, ctx.prng.fork(3), 0)], onPhase), iodepth: 16 }];
	};
}

/** Check 5: 4 KiB random read/write that runs as long as the check drives it. */
export function controlPlan(ios: number): StreamPlan {
	return (ctx) => [
		{
			stream: new WorkloadStream(spec({ rw: 'randrw', bs: 4096, rwmixread: 50, size: REGION_BYTES, ios, iodepth: 16 }), ctx.sectors, ctx.prng.fork(1), ctx.contents, 0),
			iodepth: 16
		}
	];
}

/** Check 6, before the restart: aligned random writes. */
export function restartWritePlan(ios: number): StreamPlan {
	return (ctx) => [
		{
			stream: new WorkloadStream(spec({ rw: 'randwrite', bssplit: ALIGNED_SPLIT, size: REGION_BYTES, ios, iodepth: 16 }), ctx.sectors, ctx.prng.fork(1), ctx.contents, 0),
			iodepth: 16
		}
	];
}

/** Check 6, after the restart: the whole region read back. */
export function restartReadPlan(): StreamPlan {
	return (ctx) => [{ stream: readBack(ctx, ctx.prng.fork(1), 0), iodepth: 16 }];
}
