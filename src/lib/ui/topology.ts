/**
 * The topology view's geometry as a pure function: guest VM → vSCSI → one slot per filter class
 * in chain order → datastore, and beside the chain the devices the filters use (a host SSD, a
 * fast tier, a replica site over a WAN link). Coordinates are SVG user units of a fixed-width
 * view box; Topology.svelte draws them and overlays (the flow animation) can use the same boxes.
 */
import type { FilterClass } from '../engine/filter';

export interface Box {
	x: number;
	y: number;
	w: number;
	h: number;
}

export interface SlotInput {
	cls: FilterClass;
	/** The filter in this slot (its index in the chain), if any. */
	filter?: { index: number; type: string };
}

export interface DeviceInput {
	/** Chain index of the filter using the device. */
	filterIndex: number;
	role: string;
	/** nvme, sata-ssd, hdd, null, or wan for a link. */
	kind: string;
	detail?: string;
	/**
	 * On the host, beside the filter, even when the filter also has a link (the cache's SSD beside
	 * its link to the peers). Without it, a filter's devices other than its link are at the site the
	 * link reaches (replication's replica and journal).
	 */
	local?: boolean;
}

export interface SlotLayout extends SlotInput {
	box: Box;
}

export interface DeviceLayout extends DeviceInput {
	box: Box;
}

/** A WAN link and the remote site it reaches (the site holds the filter's other devices). */
export interface SiteLayout {
	filterIndex: number;
	box: Box;
	link: DeviceInput;
	/** Path of the link from the filter box to the site. */
	path: string;
	devices: DeviceLayout[];
}

export interface TopologyLayout {
	width: number;
	height: number;
	guest: Box;
	vscsi: Box;
	/** The dashed frame around the filter slots. */
	chainFrame: Box;
	slots: SlotLayout[];
	datastore: Box;
	/** Devices on the host, beside their filter. */
	devices: DeviceLayout[];
	/** Remote sites (replication). */
	sites: SiteLayout[];
	/** Connectors from filter boxes to their devices/sites (SVG path data). */
	connectors: { filterIndex: number; path: string; dashed: boolean }[];
	/** x of the down (request) and up (completion) lanes through the chain. */
	lanes: { down: number; up: number };
}

export const TOPO = {
	width: 600,
	pad: 8,
	chainX: 22,
	chainW: 290,
	deviceX: 352,
	deviceW: 236,
	gap: 5,
	guestH: 34,
	vscsiH: 18,
	filledH: 40,
	emptyH: 18,
	datastoreH: 36,
	deviceH: 36,
	siteHeader: 34,
	siteRowH: 26
} as const;

export function layoutTopology(slots: SlotInput[], devices: DeviceInput[]): TopologyLayout {
	const T = TOPO;
	let y = T.pad;
	const guest: Box = { x: T.chainX, y, w: T.chainW, h: T.guestH };
	y += T.guestH + T.gap + 1;
	const vscsi: Box = { x: T.chainX + 50, y, w: T.chainW - 100, h: T.vscsiH };
	y += T.vscsiH + T.gap + 4;
	const frameTop = y;
	y += 17; // frame label
	const slotOut: SlotLayout[] = [];
	for (const s of slots) {
		const h = s.filter ? T.filledH : T.emptyH;
		slotOut.push({ ...s, box: { x: T.chainX, y, w: T.chainW, h } });
		y += h + T.gap - (s.filter ? 0 : 2);
	}
	const frameBottom = y + 2;
	const chainFrame: Box = { x: T.chainX - 10, y: frameTop, w: T.chainW + 20, h: frameBottom - frameTop };
	y = frameBottom + T.gap + 3;
	const datastore: Box = { x: T.chainX, y, w: T.chainW, h: T.datastoreH };
	let height = y + T.datastoreH + T.pad;

	// Devices beside their filter, top to bottom, never overlapping.
	const byFilter = new Map<number, DeviceInput[]>();
	for (const d of devices) {
		const list = byFilter.get(d.filterIndex) ?? [];
		list.push(d);
		byFilter.set(d.filterIndex, list);
	}
	const devOut: DeviceLayout[] = [];
	const sites: SiteLayout[] = [];
	const connectors: TopologyLayout['connectors'] = [];
	let nextFree = T.pad;
	const right = T.chainX + T.chainW;
	for (const slot of slotOut) {
		if (!slot.filter) continue;
		const list = byFilter.get(slot.filter.index);
		if (!list || list.length === 0) continue;
		const mid = slot.box.y + slot.box.h / 2;
		const link = list.find((d) => d.kind === 'wan');
		const local = link ? list.filter((d) => d !== link && d.local) : list;
		if (link) {
			const rest = list.filter((d) => d !== link && !d.local);
			const h = T.siteHeader + Math.max(1, rest.length) * T.siteRowH + 4;
			const top = Math.max(nextFree, mid - h / 2);
			const box: Box = { x: T.deviceX + 20, y: top, w: T.deviceW - 20, h };
			const siteDevices = rest.map((d, i) => ({
				...d,
				box: { x: box.x + 8, y: top + T.siteHeader + i * T.siteRowH, w: box.w - 16, h: T.siteRowH - 5 }
			}));
			const ty = top + h / 2;
			const path = elbow(right, mid, box.x, ty);
			sites.push({ filterIndex: slot.filter.index, box, link, path, devices: siteDevices });
			connectors.push({ filterIndex: slot.filter.index, path, dashed: true });
			nextFree = top + h + T.gap;
			if (local.length === 0) continue;
		}
		const h = local.length * (T.deviceH + 4) - 4;
		let top = Math.max(nextFree, mid - h / 2);
		for (const d of local) {
			const box: Box = { x: T.deviceX, y: top, w: T.deviceW, h: T.deviceH };
			devOut.push({ ...d, box });
			connectors.push({ filterIndex: slot.filter.index, path: elbow(right, mid, T.deviceX, top + T.deviceH / 2), dashed: false });
			top += T.deviceH + 4;
		}
		nextFree = top + T.gap - 4;
	}
	height = Math.max(height, nextFree + T.pad);
	return {
		width: T.width,
		height,
		guest,
		vscsi,
		chainFrame,
		slots: slotOut,
		datastore,
		devices: devOut,
		sites,
		connectors,
		lanes: { down: T.chainX + T.chainW * 0.3, up: T.chainX + T.chainW * 0.7 }
	};
}

/** A horizontal-vertical-horizontal connector from (x1, y1) to (x2, y2). */
function elbow(x1: number, y1: number, x2: number, y2: number): string {
	const mx = (x1 + x2) / 2;
	if (Math.abs(y1 - y2) < 0.5) return `M${x1},${y1} H${x2}`;
	return `M${x1},${y1} H${mx} V${y2} H${x2}`;
}
