import { afterEach, describe, expect, it, vi } from 'vitest';
import type { EngineRequest, EngineResponse, RunResult } from './protocol';
import { EngineClient } from './engine-client.svelte';

/** A stand-in Worker: records what the client posts and lets the test answer. */
class FakeWorker extends EventTarget {
	static last: FakeWorker;
	posted: EngineRequest[] = [];
	terminated = false;
	constructor(
		public url: URL | string,
		public options?: WorkerOptions
	) {
		super();
		FakeWorker.last = this;
	}
	postMessage(msg: EngineRequest): void {
		this.posted.push(msg);
	}
	terminate(): void {
		this.terminated = true;
	}
	answer(msg: EngineResponse): void {
		this.dispatchEvent(new MessageEvent('message', { data: msg }));
	}
}

const fakeResult = (digest: string) => ({ traceDigest: digest }) as unknown as RunResult;

describe('EngineClient', () => {
	afterEach(() => vi.unstubAllGlobals());

	it('creates a module worker, tags requests and keeps only the latest answer', () => {
		vi.stubGlobal('Worker', FakeWorker);
		const client = new EngineClient();
		const w = FakeWorker.last;
		expect(w.options).toEqual({ type: 'module' });
		expect(client.status).toBe('idle');

		const a = client.run();
		const b = client.run();
		expect(w.posted).toEqual([
			{ type: 'run', id: a, scenario: null },
			{ type: 'run', id: b, scenario: null }
		]);
		expect(a).not.toBe(b);
		expect(client.status).toBe('running');

		w.answer({ type: 'result', id: a, result: fakeResult('stale') });
		expect(client.result).toBeNull();
		expect(client.status).toBe('running');

		w.answer({ type: 'result', id: b, result: fakeResult('fresh') });
		expect(client.result?.traceDigest).toBe('fresh');
		expect(client.status).toBe('done');
		expect(client.runs).toBe(1);

		const c = client.run();
		w.answer({ type: 'error', id: c, message: 'boom' });
		expect(client.status).toBe('error');
		expect(client.error).toBe('boom');
		expect(client.result?.traceDigest).toBe('fresh'); // the last good result stays

		client.destroy();
		expect(w.terminated).toBe(true);
	});
});
