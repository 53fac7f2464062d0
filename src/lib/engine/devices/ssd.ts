/**
 * Flash SSD timing model (NVMe and SATA presets of one model).
 *
 * A request passes three resources, booked in arrival order:
 *  1. a queue slot (NVMe submission queue entries, SATA NCQ tags): held from admission to completion;
 *  2. the shared host interface (PCIe lanes, the SATA link), one FIFO server, for bytes / bandwidth;
 *  3. one of `channels` parallel flash channels, for the media latency (read/program/unmap time,
 *     times a seeded lognormal jitter, plus a rare exponential stall for garbage collection).
 * The interface is booked before the media (for a read the data really moves after it): booking
 * it after would let one stalled request hold up every later transfer, as arrival-order booking
 * cannot fill the gap. Latency sums and throughput limits are the same either way.
 * At queue depth 1 a 4 KiB random read takes readLatencyUs + 4096 / readMBps; under load small I/O
 * saturates the channels (≈ channels / latency IOPS) and large I/O the interface bandwidth.
 * A flush completes flushUs after every write booked before it has completed.
 */
import type { Prng } from '../clock';
import { Op, type OpCode } from '../io';
import { paramTable, resolveParams, type ParamMeta } from './params';
import { ServerPool, SlotPool } from './queue';
import { lognormalJitter, type LognormalJitter } from './jitter';
import type { DeviceKind, DeviceModel, DeviceStats } from './types';

export interface SsdParams {
	/** Media latency of a read (flash page read + controller), µs. */
	readLatencyUs: number;
	/** Media latency of a write (acknowledged from the DRAM / SLC buffer), µs. */
	writeLatencyUs: number;
	/** Parallel flash channels (dies serving requests at once). */
	channels: number;
	/** Interface bandwidth for reads, MB/s (= bytes/µs). */
	readMBps: number;
	/** Interface bandwidth for writes, MB/s (= bytes/µs). */
	writeMBps: number;
	/** Commands the device accepts at once (NVMe queue entries, SATA NCQ depth). */
	queueDepth: number;
	/** Sigma of the lognormal jitter on media latency (0.05 ≈ 5 %); mean stays 1. */
	jitter: number;
	/** Probability that a read or write hits a garbage-collection stall. */
	stallProb: number;
	/** Mean of the exponentially distributed stall, µs. */
	stallUs: number;
	/** Time of a flush once earlier writes are done, µs. */
	flushUs: number;
	/** Channel time of an unmap (TRIM / deallocate), µs. */
	unmapUs: number;
}

const SSD_META: { readonly [K in keyof SsdParams]: ParamMeta } = {
	readLatencyUs: { unit: 'µs', min: 0, max: 1e6, help: 'Media latency of a read (4 KiB random read at queue depth 1, before transfer).' },
	writeLatencyUs: { unit: 'µs', min: 0, max: 1e6, help: 'Media latency of a write, acknowledged from the DRAM/SLC buffer.' },
	channels: { unit: '', min: 1, max: 4096, integer: true, help: 'Parallel flash channels: requests served at once inside the device.' },
	readMBps: { unit: 'MB/s', min: 1, max: 1e6, help: 'Interface bandwidth for reads (1 MB/s = 1 byte/µs).' },
	writeMBps: { unit: 'MB/s', min: 1, max: 1e6, help: 'Interface bandwidth for writes (1 MB/s = 1 byte/µs).' },
	queueDepth: { unit: '', min: 1, max: 65536, integer: true, help: 'Commands accepted at once (NVMe queue entries, SATA NCQ depth); more wait in the host.' },
	jitter: { unit: 'σ', min: 0, max: 2, help: 'Lognormal sigma of the media latency jitter (0.05 ≈ 5 %); the mean is unchanged.' },
	stallProb: { unit: '', min: 0, max: 1, help: 'Probability that a read or write meets a garbage-collection stall (the latency tail).' },
	stallUs: { unit: 'µs', min: 0, max: 1e7, help: 'Mean duration of a garbage-collection stall (exponentially distributed).' },
	flushUs: { unit: 'µs', min: 0, max: 1e7, help: 'Cost of a flush after all earlier writes have completed.' },
	unmapUs: { unit: 'µs', min: 0, max: 1e7, help: 'Channel time of an unmap (TRIM/deallocate) request.' }
};

/** A datacenter NVMe drive (PCIe 3.0 x4 class): ≈ 80 µs reads, buffered writes, 3 / 2 GB/s. */
export const NVME_DEFAULTS: Readonly<SsdParams> = Object.freeze({
	readLatencyUs: 80,
	writeLatencyUs: 20,
	channels: 32,
	readMBps: 3000,
	writeMBps: 2000,
	queueDepth: 1024,
	jitter: 0.05,
	stallProb: 0.0005,
	stallUs: 500,
	flushUs: 20,
	unmapUs: 10
});

/** A SATA SSD: ≈ 120 µs reads, 550 MB/s interface, 8 channels, NCQ depth 32. */
export const SATA_SSD_DEFAULTS: Readonly<SsdParams> = Object.freeze({
	readLatencyUs: 120,
	writeLatencyUs: 50,
	channels: 8,
	readMBps: 550,
	writeMBps: 520,
	queueDepth: 32,
	jitter: 0.05,
	stallProb: 0.001,
	stallUs: 1000,
	flushUs: 50,
	unmapUs: 30
});

export const NVME_PARAMS = paramTable<SsdParams>(SSD_META, NVME_DEFAULTS);
export const SATA_SSD_PARAMS = paramTable<SsdParams>(SSD_META, SATA_SSD_DEFAULTS);

export class SsdModel implements DeviceModel {
	readonly kind: DeviceKind;
	readonly params: Readonly<SsdParams>;
	private readonly prng: Prng;
	private readonly slots: SlotPool;
	private readonly channels: ServerPool;
	private busFreeAt = 0;
	/** Completion time of the latest-completing write booked so far (what a flush waits for). */
	private writesDoneAt = 0;
	/** The lognormal factor on media latency; undefined without jitter. */
	private readonly jitter: LognormalJitter | undefined;
	private nRequests = 0;
	private nBytes = 0;
	private busyUs = 0;
	private queuedUs = 0;

	constructor(kind: 'nvme' | 'sata-ssd', params: SsdParams, prng: Prng) {
		this.kind = kind;
		this.params = Object.freeze({ ...params });
		this.prng = prng;
		this.slots = new SlotPool(params.queueDepth);
		this.channels = new ServerPool(params.channels);
		this.jitter = params.jitter > 0 ? lognormalJitter(params.jitter) : undefined;
	}

	schedule(now: number, op: OpCode, _lba: number, bytes: number): number {
		const p = this.params;
		this.nRequests++;
		if (op === Op.flush) {
			const start = now > this.writesDoneAt ? now : this.writesDoneAt;
			this.queuedUs += start - now;
			this.busyUs += p.flushUs;
			return start + p.flushUs;
		}
		let media: number;
		let xfer: number;
		if (op === Op.read) {
			media = this.mediaTime(p.readLatencyUs);
			xfer = bytes / p.readMBps;
			this.nBytes += bytes;
		} else if (op === Op.write) {
			media = this.mediaTime(p.writeLatencyUs);
			xfer = bytes / p.writeMBps;
			this.nBytes += bytes;
		} else {
			media = p.unmapUs;
			xfer = 0;
		}
		// 1. a queue slot; 2. the interface; 3. a channel.
		const admit = this.slots.admit(now);
		let ready = admit;
		let busWait = 0;
		if (xfer > 0) {
			const busStart = admit > this.busFreeAt ? admit : this.busFreeAt;
			busWait = busStart - admit;
			ready = busStart + xfer;
			this.busFreeAt = ready;
		}
		const chStart = this.channels.book(ready, media);
		const end = chStart + media;
		this.slots.hold(end);
		if (op === Op.write && end > this.writesDoneAt) this.writesDoneAt = end;
		this.busyUs += media + xfer;
		this.queuedUs += admit - now + busWait + (chStart - ready);
		return end;
	}

	stats(): DeviceStats {
		return { requests: this.nRequests, bytes: this.nBytes, busyUs: this.busyUs, queuedUs: this.queuedUs };
	}

	private mediaTime(base: number): number {
		const prng = this.prng;
		let t = this.jitter ? base * this.jitter.draw(prng) : base;
		const stall = this.params.stallProb;
		if (stall > 0 && prng.next() < stall) t += prng.exp(this.params.stallUs);
		return t;
	}
}

/** An NVMe SSD; `params` overrides NVME_DEFAULTS (validated against NVME_PARAMS). */
export function createNvme(params: Partial<SsdParams>, prng: Prng): SsdModel {
	return new SsdModel('nvme', resolveParams<SsdParams>(NVME_PARAMS, params, 'nvme'), prng);
}

/** A SATA SSD; `params` overrides SATA_SSD_DEFAULTS (validated against SATA_SSD_PARAMS). */
export function createSataSsd(params: Partial<SsdParams>, prng: Prng): SsdModel {
	return new SsdModel('sata-ssd', resolveParams<SsdParams>(SATA_SSD_PARAMS, params, 'sata-ssd'), prng);
}
