import { describe, expect, it } from 'vitest';
import { EngineClient, type EngineRemote } from './engine-client.svelte';
import type { LoadInfo, RunResult } from './api';

/** A remote whose answers the test releases one by one. */
function fakeRemote() {
	const pending: { digest: string; resolve: (r: RunResult) => void }[] = [];
	const remote = {
		load: async () => ({ name: 'x', seed: 1, disks: [], restored: false, restoredBlocks: 0 }) as LoadInfo,
		runToEnd: () => new Promise<RunResult>((resolve) => pending.push({ digest: '', resolve })),
		frame: async () => ({ state: 'finished' }),
		result: async () => ({}) as RunResult
	} as unknown as EngineRemote;
	return { remote, pending };
}

const result = (digest: string) => ({ traceDigest: digest }) as unknown as RunResult;

describe('EngineClient', () => {
	it('keeps only the answer to the latest run', async () => {
		const { remote, pending } = fakeRemote();
		const client = new EngineClient(remote);
		const first = client.run({ a: 1 });
		await new Promise((r) => setTimeout(r, 0)); // the first run is now waiting for its result
		const second = client.run({ a: 2 });
		await new Promise((r) => setTimeout(r, 0));
		expect(pending.length).toBe(2);
		pending[1].resolve(result('new'));
		await second;
		pending[0].resolve(result('old'));
		await first;
		expect(client.result?.traceDigest).toBe('new');
		expect(client.status).toBe('done');
		expect(client.runs).toBe(1);
	});

	it('reports a failed load as an error', async () => {
		const remote = { load: async () => Promise.reject(new Error('vms[0].name: bad')) } as unknown as EngineRemote;
		const client = new EngineClient(remote);
		await client.run({});
		expect(client.status).toBe('error');
		expect(client.error).toBe('vms[0].name: bad');
	});

	it('keeps the name of a store fault, so the page can explain it', async () => {
		const locked = Object.assign(new Error('the disk "disk.vm1/disk0" is open in another tab'), { name: 'StoreLockedError' });
		const client = new EngineClient({ load: async () => Promise.reject(locked) } as unknown as EngineRemote);
		await client.load({}, 'opfs', undefined, true);
		expect(client.status).toBe('error');
		expect(client.errorName).toBe('StoreLockedError');
		expect(client.error).toMatch(/open in another tab/);
		const other = new EngineClient({ load: async () => Promise.reject(new Error('vms[0].name: bad')) } as unknown as EngineRemote);
		await other.load({});
		expect(other.errorName).toBeNull();
	});
});
