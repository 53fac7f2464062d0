import { describe, expect, it } from 'vitest';
import { FILTER_CLASSES } from '$lib/engine/filter';
import { layoutTopology, type Box, type SlotInput } from './topology';

const overlaps = (a: Box, b: Box) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;

describe('topology layout', () => {
	it('stacks guest, vSCSI, one slot per class in order, then the datastore', () => {
		const slots: SlotInput[] = FILTER_CLASSES.map((cls) => (cls === 'cache' ? { cls, filter: { index: 0, type: 'cache' } } : { cls }));
		const l = layoutTopology(slots, [{ filterIndex: 0, role: 'ssd', kind: 'nvme' }]);
		expect(l.slots.map((s) => s.cls)).toEqual([...FILTER_CLASSES]);
		const ys = [l.guest, l.vscsi, ...l.slots.map((s) => s.box), l.datastore].map((b) => b.y);
		expect([...ys].sort((a, b) => a - b)).toEqual(ys);
		const cache = l.slots.find((s) => s.cls === 'cache')!;
		expect(cache.box.h).toBeGreaterThan(l.slots[0].box.h); // filled slots are taller than empty ones
		expect(l.devices).toHaveLength(1);
		expect(l.devices[0].box.x).toBeGreaterThan(cache.box.x + cache.box.w); // beside the chain
		expect(l.height).toBeGreaterThanOrEqual(l.datastore.y + l.datastore.h);
	});

	it('puts a WAN link to a remote site holding the other devices, and never overlaps devices', () => {
		const slots: SlotInput[] = FILTER_CLASSES.map((cls, i) =>
			cls === 'replication' || cls === 'cache' || cls === 'dataProvider' ? { cls, filter: { index: i, type: cls } } : { cls }
		);
		const rep = FILTER_CLASSES.indexOf('replication');
		const l = layoutTopology(slots, [
			{ filterIndex: rep, role: 'wan', kind: 'wan', detail: '20 ms RTT' },
			{ filterIndex: rep, role: 'replica', kind: 'sata-ssd' },
			{ filterIndex: rep, role: 'journal', kind: 'sata-ssd' },
			{ filterIndex: FILTER_CLASSES.indexOf('cache'), role: 'ssd', kind: 'nvme' },
			{ filterIndex: FILTER_CLASSES.indexOf('dataProvider'), role: 'fast', kind: 'nvme' }
		]);
		expect(l.sites).toHaveLength(1);
		expect(l.sites[0].devices.map((d) => d.role)).toEqual(['replica', 'journal']);
		const boxes = [l.sites[0].box, ...l.devices.map((d) => d.box)];
		for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) expect(overlaps(boxes[i], boxes[j])).toBe(false);
		expect(l.connectors.filter((c) => c.dashed)).toHaveLength(1);
	});

	it('keeps a host-local device beside its filter when the filter also has a link (the cache and its peers)', () => {
		const cache = FILTER_CLASSES.indexOf('cache');
		const slots: SlotInput[] = FILTER_CLASSES.map((cls) => (cls === 'cache' ? { cls, filter: { index: cache, type: 'cache' } } : { cls }));
		const l = layoutTopology(slots, [
			{ filterIndex: cache, role: 'ssd', kind: 'nvme', local: true },
			{ filterIndex: cache, role: 'peer', kind: 'wan', detail: '100 µs RTT' }
		]);
		expect(l.sites).toHaveLength(1);
		expect(l.sites[0].devices).toEqual([]);
		expect(l.devices.map((d) => d.role)).toEqual(['ssd']);
		expect(overlaps(l.sites[0].box, l.devices[0].box)).toBe(false);
		expect(l.connectors.map((c) => c.dashed)).toEqual([true, false]);
	});
});
