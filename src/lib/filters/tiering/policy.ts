/**
 * Tiering policies decide, the tiering filter acts (as dm-cache's policy interface: the policy
 * returns promote/demote decisions, the target moves the data).
 *
 * `HeatPolicy` keeps one heat value per extent with exponential decay: every access adds its
 * weight, and the value halves every `halfLifeUs` of virtual time, so
 *     heat(t) = Σ weight_i · 2^(−(t − t_i) / halfLife)
 * which is an access rate smoothed over about one half-life (an extent touched r times per
 * half-life settles near r / ln 2). Each cell stores (value, time of last update) and is decayed
 * lazily when read or touched: O(1) per access, no sweep over all extents.
 *
 * Finding the hottest extent on the capacity tier without scanning every extent: decay multiplies
 * every heat by the same factor, so extents that were not touched keep their relative order. The
 * hottest capacity extent is therefore either among the hottest candidates of the previous
 * decision or touched since then; the policy keeps the top `candidates` capacity extents and
 * merges in the extents touched since (plus demoted ones). The coldest fast extent is found by
 * scanning the fast tier, which holds at most a few thousand extents.
 *
 * Decisions: if the fast tier holds more extents than its (shrunk) capacity, demote the coldest;
 * otherwise promote the hottest movable capacity extent if its heat is at least `promoteMinHeat`
 * and the fast tier has a free slot; when the fast tier is full, demote the coldest movable fast
 * extent if the best candidate is hotter than it by more than the `hysteresis` factor (so two
 * extents of similar heat do not swap back and forth). One decision at a time: the filter asks
 * again when that migration has finished and its bandwidth budget allows.
 */
import { exp } from '../../engine/detmath';

/** What the policy may know about placement (the filter owns it). */
export interface PlacementView {
	/** Fast slots that a promotion could use now (or very soon). */
	readonly freeSlots: number;
	/** Fast extents beyond the fast tier's (shrunk) capacity: demote this many first. */
	readonly overCapacity: number;
	isFast(extent: number): boolean;
	/** False while the extent is being migrated. */
	movable(extent: number): boolean;
	/** Calls `fn` for every extent on the fast tier. */
	forEachFast(fn: (extent: number) => void): void;
}

export interface TierDecision {
	kind: 'promote' | 'demote';
	extent: number;
	/** The extent's heat when decided (for logs and tests). */
	heat: number;
}

export interface TieringPolicy {
	/** Records an access of `weight` to `extent` at virtual time `now` (µs). */
	touch(extent: number, now: number, weight: number): void;
	/** The extent's heat decayed to `now`. */
	heat(extent: number, now: number): number;
	/** The next migration, or undefined when placement is good as it is. */
	decide(now: number, view: PlacementView): TierDecision | undefined;
	/** The extent went back to the capacity tier: it is a promotion candidate again. */
	demoted(extent: number): void;
	/** Heat table decayed to `now`, entries below `minHeat` dropped (and forgotten). */
	exportHeat(now: number, minHeat: number): [extent: number, heat: number][];
	/** Restores a heat table; values count as of `now`. */
	importHeat(entries: readonly [number, number][], now: number): void;
	/** Extents with a heat cell. */
	readonly tracked: number;
}

export interface HeatPolicyOptions {
	halfLifeUs: number;
	promoteMinHeat: number;
	hysteresis: number;
	/** Capacity extents remembered as promotion candidates between decisions. */
	candidates?: number;
}

interface HeatCell {
	v: number;
	t: number;
}

export class HeatPolicy implements TieringPolicy {
	private readonly cells = new Map<number, HeatCell>();
	/** Extents touched (or demoted) since the last decision. */
	private readonly touched = new Set<number>();
	/** The hottest capacity extents at the last decision, hottest first. */
	private top: number[] = [];
	private readonly k: number;
	/** Decay rate per µs: heat · e^(−λ·Δt), λ = ln 2 / halfLife. */
	private readonly lambda: number;
	// Scratch for decide() (reused, no allocation per decision beyond the new top list).
	private readonly seen = new Set<number>();
	private cand: number[] = [];
	private candHeat = new Float64Array(256);

	constructor(readonly options: HeatPolicyOptions) {
		if (!(options.halfLifeUs > 0)) throw new RangeError('halfLifeUs must be > 0');
		this.lambda = Math.LN2 / options.halfLifeUs;
		this.k = Math.max(1, options.candidates ?? 64);
	}

	get tracked(): number {
		return this.cells.size;
	}

	touch(extent: number, now: number, weight: number): void {
		const c = this.cells.get(extent);
		if (c === undefined) this.cells.set(extent, { v: weight, t: now });
		else {
			if (now !== c.t) c.v *= exp(-(now - c.t) * this.lambda);
			c.v += weight;
			c.t = now;
		}
		this.touched.add(extent);
	}

	heat(extent: number, now: number): number {
		const c = this.cells.get(extent);
		if (c === undefined) return 0;
		return now === c.t ? c.v : c.v * exp(-(now - c.t) * this.lambda);
	}

	demoted(extent: number): void {
		this.touched.add(extent);
	}

	decide(now: number, view: PlacementView): TierDecision | undefined {
		const { promoteMinHeat, hysteresis } = this.options;
		// Candidates: last decision's top list plus everything touched since, on the capacity tier.
		const seen = this.seen;
		const cand = this.cand;
		seen.clear();
		cand.length = 0;
		for (const e of this.top)
			if (!seen.has(e)) {
				seen.add(e);
				if (!view.isFast(e)) cand.push(e);
			}
		for (const e of this.touched)
			if (!seen.has(e)) {
				seen.add(e);
				if (!view.isFast(e)) cand.push(e);
			}
		this.touched.clear();
		if (this.candHeat.length < cand.length) this.candHeat = new Float64Array(cand.length * 2);
		const h = this.candHeat;
		const order: number[] = new Array(cand.length);
		for (let i = 0; i < cand.length; i++) {
			h[i] = this.heat(cand[i], now);
			order[i] = i;
		}
		// Hottest first; ties by extent number, so decisions never depend on insertion order.
		order.sort((a, b) => h[b] - h[a] || cand[a] - cand[b]);
		const keep = Math.min(this.k, order.length);
		const top: number[] = new Array(keep);
		for (let i = 0; i < keep; i++) top[i] = cand[order[i]];
		this.top = top;

		if (view.overCapacity > 0) {
			const cold = this.coldest(now, view);
			if (cold.extent >= 0) return { kind: 'demote', extent: cold.extent, heat: cold.heat };
		}

		let best = -1;
		let bestHeat = 0;
		for (let i = 0; i < keep; i++) {
			const e = cand[order[i]];
			if (view.movable(e)) {
				best = e;
				bestHeat = h[order[i]];
				break;
			}
		}
		if (best < 0 || bestHeat < promoteMinHeat) return undefined;
		if (view.freeSlots > 0) return { kind: 'promote', extent: best, heat: bestHeat };

		const cold = this.coldest(now, view);
		if (cold.extent >= 0 && bestHeat > cold.heat * (1 + hysteresis)) return { kind: 'demote', extent: cold.extent, heat: cold.heat };
		return undefined;
	}

	/** The coldest movable fast extent (lowest number on ties), or extent -1. */
	private coldest(now: number, view: PlacementView): { extent: number; heat: number } {
		let cold = -1;
		let coldHeat = Infinity;
		view.forEachFast((e) => {
			if (!view.movable(e)) return;
			const x = this.heat(e, now);
			if (x < coldHeat || (x === coldHeat && e < cold)) {
				cold = e;
				coldHeat = x;
			}
		});
		return { extent: cold, heat: coldHeat };
	}

	exportHeat(now: number, minHeat: number): [number, number][] {
		const out: [number, number][] = [];
		for (const [e, c] of this.cells) {
			const v = now === c.t ? c.v : c.v * exp(-(now - c.t) * this.lambda);
			if (v < minHeat) {
				this.cells.delete(e);
				continue;
			}
			c.v = v;
			c.t = now;
			out.push([e, Math.round(v * 1e4) / 1e4]);
		}
		out.sort((a, b) => a[0] - b[0]);
		return out;
	}

	importHeat(entries: readonly [number, number][], now: number): void {
		for (const [e, v] of entries) {
			if (!Number.isSafeInteger(e) || e < 0 || !(v > 0)) continue;
			this.cells.set(e, { v, t: now });
			this.touched.add(e);
		}
	}
}
