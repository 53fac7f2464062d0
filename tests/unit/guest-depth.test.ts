import { describe, expect, it } from 'vitest';
import { runScenario } from '../../src/lib/engine/index';
import { FilterRegistry } from '../../src/lib/engine/registry';
import { FILTER_CONTRACT_VERSION, complete, type FilterDef } from '../../src/lib/engine/filter';
import { builtinRegistry } from '../../src/lib/filters';

// Completes every I/O inside onIo: the completion comes back on the stack that issued the I/O.
const answerAtOnce: FilterDef<null> = {
	contract: FILTER_CONTRACT_VERSION,
	name: 'answer-at-once',
	vendor: 'test',
	version: '1',
	class: 'cache',
	description: 'completes every I/O in onIo',
	params: [],
	attach: () => null,
	onIo: (io) => complete(io.op === 0 ? new Uint8Array(io.sectors * 512) : undefined)
};

describe('guest', () => {
	it('survives a long run of I/Os completed inside onIo without exhausting the stack', async () => {
		const registry = new FilterRegistry().register(answerAtOnce);
		const r = await runScenario(
			{
				version: 1,
				vms: [{ name: 'vm', disks: [{ name: 'd', size: '1g', policy: { filters: [{ type: 'answer-at-once' }] }, workload: [{ rw: 'randread', iodepth: 1, ios: 50_000 }] }] }]
			},
			{ registry }
		);
		expect(r.ios).toBe(50_000);
		expect(r.verify.mismatches).toBe(0);
		expect(builtinRegistry().has('passthrough')).toBe(true);
	});
});
