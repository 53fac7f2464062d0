/**
 * Starts the dev-only store-checks Worker (see store-checks.worker.ts) and wraps it with comlink.
 * Create it in onMount: a Worker cannot be created while prerendering.
 */
import * as Comlink from 'comlink';
import type { StoreChecksApi } from './store-checks.worker';

export class StoreChecksClient {
	readonly worker: Worker;
	readonly api: Comlink.Remote<StoreChecksApi>;

	constructor() {
		this.worker = new Worker(new URL('./store-checks.worker.ts', import.meta.url), { type: 'module' });
		this.api = Comlink.wrap<StoreChecksApi>(this.worker);
	}

	destroy(): void {
		this.api[Comlink.releaseProxy]();
		this.worker.terminate();
	}
}
