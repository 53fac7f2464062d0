/**
 * A WAN link for replication: messages are serialised one after another at the link bandwidth
 * (a message starts when the previous one has finished: transmitFreeAt) and arrive RTT/2 after
 * their last byte left, so arrivals are in send order. While `up` is false, `send` returns
 * Infinity (the message is lost); messages booked before the outage still arrive.
 */
import { paramTable, resolveParams, type ParamMeta } from './params';
import type { LinkModel } from './types';

export interface LinkParams {
	/** Round-trip time, µs. */
	rttUs: number;
	/** Bandwidth, Mbit/s (100 Mbit/s = 12.5 bytes/µs). */
	mbitPerSec: number;
}

const LINK_META: { readonly [K in keyof LinkParams]: ParamMeta } = {
	rttUs: { unit: 'µs', min: 0, max: 1e8, help: 'Round-trip time; a message arrives RTT/2 after its last byte is sent.' },
	mbitPerSec: { unit: 'Mbit/s', min: 0.001, max: 1e6, help: 'Link bandwidth; messages are serialised in order at this rate.' }
};

/** 20 ms RTT, 100 Mbit/s (12.5 bytes/µs). */
export const LINK_DEFAULTS: Readonly<LinkParams> = Object.freeze({ rttUs: 20000, mbitPerSec: 100 });

export const LINK_PARAMS = paramTable<LinkParams>(LINK_META, LINK_DEFAULTS);

export class WanLink implements LinkModel {
	readonly rttUs: number;
	readonly bytesPerUs: number;
	up = true;
	/** Virtual time at which the sender finishes serialising the last booked message. */
	transmitFreeAt = 0;
	private messages = 0;
	private bytes = 0;
	private busyUs = 0;

	constructor(params: LinkParams) {
		this.rttUs = params.rttUs;
		this.bytesPerUs = params.mbitPerSec / 8;
	}

	send(now: number, bytes: number): number {
		if (!this.up) return Infinity;
		const start = now > this.transmitFreeAt ? now : this.transmitFreeAt;
		const tx = bytes / this.bytesPerUs;
		const end = start + tx;
		this.transmitFreeAt = end;
		this.messages++;
		this.bytes += bytes;
		this.busyUs += tx;
		return end + this.rttUs / 2;
	}

	stats(): { messages: number; bytes: number; busyUs: number } {
		return { messages: this.messages, bytes: this.bytes, busyUs: this.busyUs };
	}
}

/** A WAN link; `params` overrides LINK_DEFAULTS (validated against LINK_PARAMS). */
export function createWanLink(params: Partial<LinkParams> = {}): WanLink {
	return new WanLink(resolveParams<LinkParams>(LINK_PARAMS, params, 'link'));
}
