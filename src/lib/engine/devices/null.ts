/**
 * The null device, like fio's null engine: every request completes after a fixed latency (0 by
 * default), with unlimited parallelism and no randomness. For testing the framework itself.
 */
import { Op, type OpCode } from '../io';
import { paramTable, resolveParams, type ParamMeta } from './params';
import type { DeviceModel, DeviceStats } from './types';

export interface NullParams {
	/** Fixed latency of every request, µs. */
	latencyUs: number;
}

const NULL_META: { readonly [K in keyof NullParams]: ParamMeta } = {
	latencyUs: { unit: 'µs', min: 0, max: 1e9, help: 'Fixed latency of every request (0 = completes at once); no queueing.' }
};

export const NULL_DEFAULTS: Readonly<NullParams> = Object.freeze({ latencyUs: 0 });

export const NULL_PARAMS = paramTable<NullParams>(NULL_META, NULL_DEFAULTS);

export class NullModel implements DeviceModel {
	readonly kind = 'null' as const;
	readonly params: Readonly<NullParams>;
	private nRequests = 0;
	private nBytes = 0;
	private busyUs = 0;

	constructor(params: NullParams) {
		this.params = Object.freeze({ ...params });
	}

	schedule(now: number, op: OpCode, _lba: number, bytes: number): number {
		this.nRequests++;
		if (op === Op.read || op === Op.write) this.nBytes += bytes;
		this.busyUs += this.params.latencyUs;
		return now + this.params.latencyUs;
	}

	stats(): DeviceStats {
		return { requests: this.nRequests, bytes: this.nBytes, busyUs: this.busyUs, queuedUs: 0 };
	}
}

/** A null device; `params` overrides NULL_DEFAULTS. */
export function createNull(params: Partial<NullParams> = {}): NullModel {
	return new NullModel(resolveParams<NullParams>(NULL_PARAMS, params, 'null'));
}
