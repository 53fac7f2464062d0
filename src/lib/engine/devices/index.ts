/**
 * Device and link factories, spec types and parameter tables (one per model; they drive the UI's
 * config panels and validate scenario overrides).
 */
import type { Prng } from '../clock';
import { createHdd, HDD_PARAMS, type HddParams } from './hdd';
import { createWanLink, LINK_PARAMS, type LinkParams } from './link';
import { createNull, NULL_PARAMS, type NullParams } from './null';
import type { ParamInfo } from './params';
import { createNvme, createSataSsd, NVME_PARAMS, SATA_SSD_PARAMS, type SsdParams } from './ssd';
import type { DeviceKind, DeviceModel, LinkModel } from './types';

export type { DeviceKind, DeviceModel, DeviceStats, LinkModel } from './types';
export type { ParamInfo } from './params';
export { ServerPool } from './queue';
export { SsdModel, createNvme, createSataSsd, NVME_DEFAULTS, SATA_SSD_DEFAULTS, NVME_PARAMS, SATA_SSD_PARAMS } from './ssd';
export type { SsdParams } from './ssd';
export { HddModel, createHdd, HDD_DEFAULTS, HDD_PARAMS } from './hdd';
export type { HddParams } from './hdd';
export { NullModel, createNull, NULL_DEFAULTS, NULL_PARAMS } from './null';
export type { NullParams } from './null';
export { WanLink, createWanLink, LINK_DEFAULTS, LINK_PARAMS } from './link';
export type { LinkParams } from './link';

/** A device: its kind plus optional overrides of that model's defaults. */
export type DeviceSpec =
	| ({ kind: 'nvme' } & Partial<SsdParams>)
	| ({ kind: 'sata-ssd' } & Partial<SsdParams>)
	| ({ kind: 'hdd' } & Partial<HddParams>)
	| ({ kind: 'null' } & Partial<NullParams>);

/** A WAN link: optional overrides of LINK_DEFAULTS. */
export type LinkSpec = Partial<LinkParams>;

/** The parameter table of each device kind. */
export const DEVICE_PARAMS: Readonly<Record<DeviceKind, readonly ParamInfo[]>> = Object.freeze({
	nvme: NVME_PARAMS,
	'sata-ssd': SATA_SSD_PARAMS,
	hdd: HDD_PARAMS,
	null: NULL_PARAMS
});

export const DEVICE_KINDS: readonly DeviceKind[] = Object.freeze(['nvme', 'sata-ssd', 'hdd', 'null']);

/**
 * Builds a device model from a spec. Overrides are validated (unknown names, out-of-range values
 * throw). The model draws its randomness from `prng`; pass a fork per device.
 */
export function createDevice(spec: DeviceSpec, prng: Prng): DeviceModel {
	switch (spec.kind) {
		case 'nvme': {
			const { kind: _, ...params } = spec;
			return createNvme(params, prng);
		}
		case 'sata-ssd': {
			const { kind: _, ...params } = spec;
			return createSataSsd(params, prng);
		}
		case 'hdd': {
			const { kind: _, ...params } = spec;
			return createHdd(params, prng);
		}
		case 'null': {
			const { kind: _, ...params } = spec;
			return createNull(params);
		}
		default:
			throw new Error(`unknown device kind "${(spec as { kind: unknown }).kind}"`);
	}
}

/** Builds a WAN link (default 20 ms RTT, 100 Mbit/s). */
export function createLink(spec: LinkSpec = {}): LinkModel {
	return createWanLink(spec);
}
