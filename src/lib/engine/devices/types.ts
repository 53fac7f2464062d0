import type { OpCode } from '../io';

/**
 * A device timing model. Models never read a wall clock: latency comes from the model's state
 * (queue, head position) and its seeded PRNG. Data does not pass through a model; the engine
 * moves bytes in a BlockStore at the completion time the model returns.
 */
export interface DeviceModel {
	readonly kind: DeviceKind;
	/**
	 * Books one request arriving at virtual time `now` (µs) and returns its completion time.
	 * Mutates the model's queue state, so call it once per request, in arrival order.
	 */
	schedule(now: number, op: OpCode, lba: number, bytes: number): number;
	/** Counters for status and charts. */
	stats(): DeviceStats;
}

export type DeviceKind = 'nvme' | 'sata-ssd' | 'hdd' | 'null';

export interface DeviceStats {
	requests: number;
	bytes: number;
	/** Sum of busy time over all internal servers, µs. */
	busyUs: number;
	/** Total time requests waited in the device queue before service, µs. */
	queuedUs: number;
}

/** A WAN link: one-way delivery of a message of `bytes`, in order, within the bandwidth. */
export interface LinkModel {
	/** Books a transfer starting at `now`; returns the virtual time it arrives at the far side. */
	send(now: number, bytes: number): number;
	/** Round-trip time in µs (ack latency for a tiny message). */
	readonly rttUs: number;
	/** Bandwidth in bytes per µs (= MB/s). */
	readonly bytesPerUs: number;
	/** An outage: while down, `send` returns Infinity (nothing arrives). */
	up: boolean;
	stats(): { messages: number; bytes: number; busyUs: number };
}
