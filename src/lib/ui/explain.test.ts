import { describe, expect, it } from 'vitest';
import { deviceInUse } from './explain';

describe('deviceInUse', () => {
	it("offers the cache's peer link only for write-back with peers; every other device always", () => {
		expect(deviceInUse('cache', 'peer', { mode: 'write-back', writeBackPeers: 1 })).toBe(true);
		expect(deviceInUse('cache', 'peer', { mode: 'write-back', writeBackPeers: 0 })).toBe(false);
		expect(deviceInUse('cache', 'peer', { mode: 'write-through', writeBackPeers: 2 })).toBe(false);
		expect(deviceInUse('cache', 'peer', {})).toBe(false);
		expect(deviceInUse('cache', 'ssd', {})).toBe(true);
		expect(deviceInUse('replication', 'wan', {})).toBe(true);
	});
});
