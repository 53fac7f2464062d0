/**
 * A 7200 rpm hard disk: one actuator (one server, FIFO), a head position and a seek model.
 *
 * Service time = overheadUs + seek + rotational latency + bytes / transferMBps, where
 *  - a request that starts exactly where the previous one ended (lba === head) is a sequential
 *    continuation: no seek and no rotational wait (the drive streams, helped by its track buffer);
 *  - otherwise seek = minSeekUs + (fullStrokeUs − minSeekUs) · √(distance / capacity) and the
 *    rotational latency is uniform in [0, 60e6 / rpm) µs, drawn from the seeded PRNG.
 * Requests are served in arrival order (no command reordering), so random IOPS do not improve
 * with queue depth; queueing shows as wait time.
 */
import type { Prng } from '../clock';
import { Op, SECTOR_BYTES, type OpCode } from '../io';
import { paramTable, resolveParams, type ParamMeta } from './params';
import type { DeviceModel, DeviceStats } from './types';

export interface HddParams {
	/** Spindle speed, revolutions per minute. */
	rpm: number;
	/** Drive capacity in bytes: the seek distance is a fraction of it. */
	capacityBytes: number;
	/** Shortest seek (track-to-track plus settle), µs. */
	minSeekUs: number;
	/** Full-stroke seek, µs. */
	fullStrokeUs: number;
	/** Media transfer rate, MB/s (= bytes/µs). */
	transferMBps: number;
	/** Controller/command overhead per request, µs. */
	overheadUs: number;
	/** Cost of a flush, µs (the actuator is busy meanwhile). */
	flushUs: number;
	/** Cost of an unmap, µs (HDDs do not trim; this is the command overhead). */
	unmapUs: number;
}

const HDD_META: { readonly [K in keyof HddParams]: ParamMeta } = {
	rpm: { unit: 'rpm', min: 1000, max: 20000, help: 'Spindle speed; the rotational latency is uniform in [0, one revolution).' },
	capacityBytes: { unit: 'B', min: 512, max: 2 ** 53, help: 'Drive capacity; seek time grows with the square root of the distance as a fraction of it.' },
	minSeekUs: { unit: 'µs', min: 0, max: 1e6, help: 'Shortest seek: track-to-track move plus head settle.' },
	fullStrokeUs: { unit: 'µs', min: 0, max: 1e6, help: 'Seek across the whole drive (distance fraction 1).' },
	transferMBps: { unit: 'MB/s', min: 1, max: 1e5, help: 'Media transfer rate (1 MB/s = 1 byte/µs).' },
	overheadUs: { unit: 'µs', min: 0, max: 1e6, help: 'Controller and command overhead per request.' },
	flushUs: { unit: 'µs', min: 0, max: 1e7, help: 'Cost of a flush; the actuator is busy meanwhile.' },
	unmapUs: { unit: 'µs', min: 0, max: 1e7, help: 'Cost of an unmap (HDDs do not trim: command overhead only).' }
};

/** A 4 TB 7200 rpm drive: 8.33 ms per revolution, ≈ 9 ms full stroke, 180 MB/s. */
export const HDD_DEFAULTS: Readonly<HddParams> = Object.freeze({
	rpm: 7200,
	capacityBytes: 4e12,
	minSeekUs: 800,
	fullStrokeUs: 9000,
	transferMBps: 180,
	overheadUs: 50,
	flushUs: 200,
	unmapUs: 50
});

export const HDD_PARAMS = paramTable<HddParams>(HDD_META, HDD_DEFAULTS);

export class HddModel implements DeviceModel {
	readonly kind = 'hdd' as const;
	readonly params: Readonly<HddParams>;
	private readonly prng: Prng;
	private readonly revolutionUs: number;
	private readonly capacitySectors: number;
	/** Sector just past the end of the last read or write: where the head is. */
	private head = 0;
	private freeAt = 0;
	private nRequests = 0;
	private nBytes = 0;
	private busyUs = 0;
	private queuedUs = 0;

	constructor(params: HddParams, prng: Prng) {
		this.params = Object.freeze({ ...params });
		this.prng = prng;
		this.revolutionUs = 60e6 / params.rpm;
		this.capacitySectors = params.capacityBytes / SECTOR_BYTES;
	}

	/** Seek time for a move of `sectors` (0 ⇒ 0). */
	seekUs(sectors: number): number {
		if (sectors === 0) return 0;
		const p = this.params;
		let frac = Math.abs(sectors) / this.capacitySectors;
		if (frac > 1) frac = 1;
		return p.minSeekUs + (p.fullStrokeUs - p.minSeekUs) * Math.sqrt(frac);
	}

	schedule(now: number, op: OpCode, lba: number, bytes: number): number {
		const p = this.params;
		this.nRequests++;
		let service: number;
		if (op === Op.flush) {
			service = p.flushUs;
		} else if (op === Op.unmap) {
			service = p.unmapUs;
		} else {
			service = p.overheadUs + bytes / p.transferMBps;
			if (lba !== this.head) {
				service += this.seekUs(lba - this.head) + this.prng.next() * this.revolutionUs;
			}
			this.head = lba + Math.ceil(bytes / SECTOR_BYTES);
			this.nBytes += bytes;
		}
		const start = now > this.freeAt ? now : this.freeAt;
		const end = start + service;
		this.freeAt = end;
		this.queuedUs += start - now;
		this.busyUs += service;
		return end;
	}

	stats(): DeviceStats {
		return { requests: this.nRequests, bytes: this.nBytes, busyUs: this.busyUs, queuedUs: this.queuedUs };
	}
}

/** A 7200 rpm HDD; `params` overrides HDD_DEFAULTS (validated against HDD_PARAMS). */
export function createHdd(params: Partial<HddParams>, prng: Prng): HddModel {
	return new HddModel(resolveParams<HddParams>(HDD_PARAMS, params, 'hdd'), prng);
}
