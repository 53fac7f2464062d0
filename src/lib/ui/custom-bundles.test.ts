/**
 * The page's custom bundles, the parts without a browser: which filter types a scenario uses (a
 * reload registers the stored bundles among them before it loads; a link carries their code).
 */
import { describe, expect, it } from 'vitest';
import { usedTypes } from './custom-bundles.svelte';

describe('custom bundles on the page', () => {
	it('finds the filter types of every disk policy and named cluster policy', () => {
		const scenario = {
			vms: [
				{ disks: [{ policy: { filters: [{ type: 'passthrough' }, { type: 'io-tally' }] } }, { policy: { filters: [] } }] },
				{ disks: [{ policy: { filters: [{ type: 'cache' }, { type: 'io-tally' }] } }] }
			],
			cluster: { policies: [{ name: 'gold', filters: [{ type: 'my-filter' }] }] }
		};
		expect(usedTypes(scenario)).toEqual(['passthrough', 'io-tally', 'cache', 'my-filter']);
	});

	it('ignores what is not a scenario', () => {
		for (const x of [null, 42, 'x', { vms: 'no' }, { vms: [{ disks: [{ policy: { filters: [{ type: 3 }, null] } }] }] }]) expect(usedTypes(x)).toEqual([]);
	});
});
