/**
 * The template filter is a real filter: it registers, runs, and its counters agree with the
 * guest's. Its source text (what "New filter" loads) documents every hook: when it is called,
 * what it returns, whether it is required.
 */
import { describe, expect, it } from 'vitest';
import template from './template';
import { TEMPLATE_SOURCE } from './template-source';
import { builtinRegistry } from '.';
import { checkFilterDef } from '../engine/registry';
import { oneDisk, runSim } from '../../../tests/unit/scenarios';

describe('the template filter', () => {
	it('passes the registry checks and is not a built-in name', () => {
		expect(checkFilterDef(template)).toBeUndefined();
		expect(builtinRegistry().has(template.name)).toBe(false);
	});

	it('counts what the guest issued, passes everything, and verifies', async () => {
		const registry = builtinRegistry().register(template);
		const { result } = await runSim(
			oneDisk({ filters: [{ type: 'my-filter', params: { logEvery: 100 } }], workload: [{ rw: 'randrw', bs: '4k', iodepth: 4, ios: 300 }] }),
			registry
		);
		const s = result.filters['my-filter'];
		expect(result.errors.count).toBe(0);
		expect(result.verify.mismatches).toBe(0);
		expect(s.reads).toBe(result.ops.read.ios);
		expect(s.writes).toBe(result.ops.write.ios);
		expect(s.bytes).toBe(300 * 4096);
		expect(s.failedBelow).toBe(0);
		expect(result.log.filter((l) => l.message.endsWith('I/Os so far'))).toHaveLength(3);
	});

	it('its source, as the editor loads it, imports from "vaio" and documents every hook', () => {
		expect(TEMPLATE_SOURCE).toContain("from 'vaio'");
		expect(TEMPLATE_SOURCE).not.toContain('./authoring');
		for (const [hook, required] of [
			['attach', true],
			['onIo', true],
			['onDone', false],
			['onEvent', false],
			['detach', false],
			['status', false]
		] as const) {
			const doc = new RegExp(`\\* ${hook}\\((io, )?(event, )?ctx\\): ${required ? 'REQUIRED' : 'optional'}\\. Called`);
			expect(TEMPLATE_SOURCE, hook).toMatch(doc);
		}
	});
});
