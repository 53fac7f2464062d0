/**
 * The stored custom bundles: versions accumulate, a stored version never changes (other code or
 * another vendor under it is refused with the reason), unreadable records are reported by key and
 * left alone, and the store keeps working around them.
 */
import { describe, expect, it } from 'vitest';
import { BundleStore, bundleKey, latestEach, latestOf, nextVersion, type BundleBackend, type StoredBundle } from './bundle-store';

function memory(): BundleBackend & { data: Map<string, unknown> } {
	const data = new Map<string, unknown>();
	return {
		data,
		get: async (k) => structuredClone(data.get(k)),
		set: async (k, v) => void data.set(k, structuredClone(v)),
		keys: async () => [...data.keys()]
	};
}

function bundle(o: Partial<StoredBundle> = {}): StoredBundle {
	return { name: 'my-filter', vendor: 'acme', version: '1.0.0', cls: 'inspection', description: 'd', source: 'export default {}', savedAt: 1, ...o };
}

describe('stored custom bundles', () => {
	it('keeps every version; the same version again is a no-op; other code under a stored version is refused', async () => {
		const be = memory();
		const store = new BundleStore(be);
		expect(await store.save(bundle())).toMatchObject({ ok: true, unchanged: false });
		expect(await store.save(bundle({ savedAt: 9 }))).toMatchObject({ ok: true, unchanged: true });
		expect(await store.save(bundle({ version: '1.10.0', source: 'v2' }))).toMatchObject({ ok: true });
		expect(await store.save(bundle({ version: '1.2.0', source: 'v3' }))).toMatchObject({ ok: true });
		const other = await store.save(bundle({ source: 'changed' }));
		expect(other).toEqual({
			ok: false,
			message: 'my-filter 1.0.0 is stored already with other code: a stored version never changes, give this one a higher version (the latest stored is 1.10.0)'
		});
		const vendor = await store.save(bundle({ vendor: 'other' }));
		expect(!vendor.ok && vendor.message).toMatch(/stored already with vendor "acme"/);
		const { bundles, problems } = await store.list();
		expect(problems).toEqual([]);
		expect(bundles.map((b) => `${b.name} ${b.version}`)).toEqual(['my-filter 1.0.0', 'my-filter 1.2.0', 'my-filter 1.10.0']);
		expect(bundles[0].source).toBe('export default {}');
		expect(latestOf(bundles, 'my-filter')!.version).toBe('1.10.0');
		expect(latestEach([...bundles, bundle({ name: 'a-filter' })]).map((b) => `${b.name} ${b.version}`)).toEqual(['a-filter 1.0.0', 'my-filter 1.10.0']);
	});

	it('refuses a bad record with the field and reason, and never touches what it cannot read', async () => {
		const be = memory();
		const store = new BundleStore(be);
		expect(await store.save(bundle({ version: '1.x' }))).toEqual({ ok: false, message: 'not stored: version: "1.x" is not a version such as 1.2.0' });
		expect(await store.save(bundle({ name: 'My Filter' }))).toMatchObject({ ok: false, message: expect.stringContaining('not stored: name:') });
		expect(await store.save(bundle({ vendor: '' }))).toEqual({ ok: false, message: 'not stored: vendor: 1 to 64 characters' });
		be.data.set(bundleKey('broken', '1.0.0'), { name: 'broken' });
		be.data.set(bundleKey('moved', '1.0.0'), bundle({ name: 'moved', version: '2.0.0' }));
		be.data.set('unrelated', 42);
		await store.save(bundle());
		const { bundles, problems } = await store.list();
		expect(bundles.map((b) => b.name)).toEqual(['my-filter']);
		expect(problems).toEqual(['bundle:broken@1.0.0: version: "undefined" is not a version such as 1.2.0', 'bundle:moved@1.0.0: holds moved 2.0.0']);
		expect(be.data.get(bundleKey('broken', '1.0.0'))).toEqual({ name: 'broken' });
		expect(be.data.size).toBe(4);
	});

	it('says why when the browser refuses', async () => {
		const be = memory();
		be.set = async () => {
			throw new Error('QuotaExceededError');
		};
		expect(await new BundleStore(be).save(bundle())).toEqual({ ok: false, message: 'not stored: the browser refused (QuotaExceededError)' });
	});

	it('suggests the next version', () => {
		expect(nextVersion('1.0.0')).toBe('1.1.0');
		expect(nextVersion('0.1')).toBe('0.2.0');
		expect(nextVersion('2.9.4.1')).toBe('2.10.0.0');
	});
});
