/**
 * The page's view of the cluster around the loaded run (hosts, bundles, VMs, disks, snapshots)
 * and the operations the cluster panel starts. Each operation runs in the engine Worker on the
 * live run; its effect (or why it was refused) comes back here, and the frame pulled after it
 * carries the same line into the event log and the I/O of its virtual time into the charts.
 *
 * One ClusterState serves the page: the cluster panel works it and the topology draws the same
 * live view (which host each VM runs on now, with that host's bundles and versions), so both
 * follow a vMotion, a DRS move or a host failure as soon as the worker reports it. It also keeps
 * the custom bundles stored by the filter editor (custom-bundles.svelte.ts).
 */
import type { ClusterOpResult, ClusterRequest, ClusterView } from '$lib/worker/api';
import type { Playground } from './playground.svelte';
import { CustomBundles } from './custom-bundles.svelte';

/** Wall time between refreshes of the view while a run plays (timed operations change it), ms. */
export const CLUSTER_REFRESH_MS = 1000;

export class ClusterState {
	view = $state.raw<ClusterView | null>(null);
	/** The latest operation's outcome. */
	last = $state.raw<ClusterOpResult | null>(null);
	/** The operation now running ('' when none). */
	busy = $state('');
	error = $state<string | null>(null);
	readonly bundles: CustomBundles;

	constructor(private readonly pg: Playground) {
		this.bundles = new CustomBundles(pg);
	}

	destroy(): void {
		this.bundles.destroy();
	}

	async refresh(): Promise<void> {
		if (!this.pg.client.info) {
			this.view = null;
			return;
		}
		try {
			this.view = await this.pg.client.api.clusterView();
			this.error = null;
		} catch (e) {
			this.error = e instanceof Error ? e.message : String(e);
		}
	}

	/**
	 * Runs one operation on the loaded run; resolves with its outcome (never throws for a refusal).
	 * `prepare` runs first (a custom bundle's code registered in the engine): a message it returns
	 * is the operation's failure, and the operation does not run.
	 */
	async run(req: ClusterRequest, prepare?: () => Promise<string | undefined>): Promise<ClusterOpResult | undefined> {
		if (this.busy) return undefined;
		if (!this.pg.client.info) {
			// Nothing loaded yet (or the last load failed): load the scenario first, as Play would.
			await this.pg.load();
			if (!this.pg.client.info) return undefined;
		}
		this.busy = req.op;
		try {
			const problem = await prepare?.();
			if (problem) {
				const t = this.view?.nowUs ?? 0;
				this.last = { ok: false, refused: false, op: req.op, message: problem, t, endT: t };
				return this.last;
			}
			const r = await this.pg.client.api.clusterOp(JSON.parse(JSON.stringify(req)) as ClusterRequest);
			this.last = r;
			this.error = null;
			// Its log line and the I/O of its virtual time, now (frames are pulled only while playing).
			if (this.pg.status !== 'running') await this.pg.client.pull();
			await this.pg.refreshResult();
			await this.refresh();
			return r;
		} catch (e) {
			this.error = e instanceof Error ? e.message : String(e);
			return undefined;
		} finally {
			this.busy = '';
		}
	}

	/** A name for a new snapshot of `vm` that it does not have yet. */
	nextSnapshotName(vm: string): string {
		const have = new Set(this.view?.vms.find((v) => v.name === vm)?.snapshots.map((s) => s.name) ?? []);
		for (let i = 1; ; i++) if (!have.has(`snap-${i}`)) return `snap-${i}`;
	}

	/** A host name the cluster does not have yet. */
	nextHostName(): string {
		const have = new Set(this.view?.hosts.map((h) => h.name) ?? []);
		for (let i = (this.view?.hosts.length ?? 0) + 1; ; i++) {
			const n = `esx-${String(i).padStart(2, '0')}`;
			if (!have.has(n)) return n;
		}
	}
}
