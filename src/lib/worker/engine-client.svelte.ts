/**
 * The UI side of the engine Worker: one wrapper class per worker (as svelte.dev's Bundler). It
 * owns the Worker, tags each request with an id, drops answers to anything but the latest
 * request, and exposes the latest result as reactive state.
 *
 * Construct it in onMount/$effect (never at module top level: a Worker cannot be created during
 * prerendering) and call destroy() in the cleanup.
 */
import type { EngineRequest, EngineResponse, RunResult, Scenario } from './protocol';

export type EngineStatus = 'idle' | 'running' | 'done' | 'error';

export class EngineClient {
	/** The latest run's result (kept while a new run is in progress). */
	result = $state<RunResult | null>(null);
	/** The latest run's error message, or null. */
	error = $state<string | null>(null);
	status = $state<EngineStatus>('idle');
	/** Completed runs (results and errors) since the client was created. */
	runs = $state(0);
	/** Wall-clock time of the latest completed run as seen by the UI, ms (display only). */
	wallMs = $state<number | null>(null);

	#worker: Worker;
	#nextId = 1;
	#latest = 0;
	#startedAt = 0;

	constructor() {
		this.#worker = new Worker(new URL('./engine.worker.ts', import.meta.url), { type: 'module' });
		this.#worker.addEventListener('message', (e: MessageEvent<EngineResponse>) => this.#onMessage(e.data));
		this.#worker.addEventListener('error', (e: ErrorEvent) => {
			// The worker script failed to load or threw outside a request.
			e.preventDefault();
			this.#fail(e.message || 'the engine worker failed to start');
		});
		this.#worker.addEventListener('messageerror', () => this.#fail('a message from the engine worker could not be read'));
	}

	/** Runs a scenario (null: the engine's default). Returns the request id. */
	run(scenario: Scenario | null = null): number {
		const id = this.#nextId++;
		this.#latest = id;
		this.status = 'running';
		this.#startedAt = performance.now();
		// $state proxies do not survive structured cloning: send a plain snapshot.
		const request: EngineRequest = { type: 'run', id, scenario: scenario === null ? null : $state.snapshot(scenario) as Scenario };
		this.#worker.postMessage(request);
		return id;
	}

	destroy(): void {
		this.#worker.terminate();
		this.#latest = -1;
	}

	#onMessage(msg: EngineResponse): void {
		if (msg.id !== this.#latest) return; // a stale answer
		this.runs += 1;
		this.wallMs = performance.now() - this.#startedAt;
		if (msg.type === 'result') {
			this.result = msg.result;
			this.error = null;
			this.status = 'done';
		} else {
			this.error = msg.message;
			this.status = 'error';
		}
	}

	/** A failure of the worker itself: ends the pending run, if any, with an error. */
	#fail(message: string): void {
		if (this.status === 'running') {
			this.runs += 1;
			this.#latest = -1; // whatever it still answers is stale
		}
		this.error = message;
		this.status = 'error';
	}
}
