/**
 * Write-back protection for the cache: copies of its dirty blocks on peer hosts' flash, as
 * PernixData FVP's "write back with N peers" (and vSAN's mirrored write buffer) do it.
 *
 * - Every write that makes a block dirty also sends the block (4 KiB) to `writeBackPeers` peers
 *   over the cache's `peer` link (a LAN, modelled by the engine's link: bandwidth serialises the
 *   copies, the round trip adds latency). The copy lands on the peers when it arrives; the guest's
 *   write completes only when the peers' acknowledgement is back (RTT/2 after arrival) as well as
 *   when the local SSD has it and its dirty record is committed.
 * - A block's copy is released when the block stops being dirty here (destaged and marked clean,
 *   overwritten through to the datastore, invalidated): the datastore has what matters then.
 *   A release is not timed; a copy still on its way when its block was released is discarded on
 *   arrival (every copy carries a sequence number), so a stale copy can never come back.
 * - After a host crash, the cache that attaches where the VM restarts finds the copies here (the
 *   `peer` link is not host-local, so every host of the disk reaches the same peers), reads each
 *   block whose data it does not hold back over the link and writes it to the datastore before
 *   the VM runs again. What it holds dirty itself (a restart on the same host, whose SSD kept it)
 *   stays protected by its copy.
 * The peers are "the other hosts": the model does not choose them, so the copy survives the
 * crash of the VM's host, not of every host at once; a one-host cluster is not refused.
 */
import type { FilterDevice } from '../../engine/filter';

interface Held {
	/** Sequence of the copy (or of the release, while copies are on their way). */
	seq: number;
	/** The block's bytes; undefined: released. */
	data: Uint8Array | undefined;
}

/** The peers' copies of one disk's dirty blocks. */
export class PeerCopy {
	private readonly held = new Map<number, Held>();
	private seq = 0;
	/** Copies sent that have not arrived. */
	private inFlight = 0;
	/** Released blocks kept as markers while copies are on their way. */
	private markers: number[] = [];

	/** A sequence number for a copy about to be sent. */
	next(): number {
		this.inFlight++;
		return ++this.seq;
	}

	/** A copy arrives at the peers (unless its block was released after it was sent). */
	arrive(block: number, seq: number, data: Uint8Array): void {
		this.inFlight--;
		const h = this.held.get(block);
		if (!h || h.seq < seq) this.held.set(block, { seq, data });
		this.sweep();
	}

	/** The block is no longer dirty at the cache: its copies go (also those still on their way). */
	release(block: number): void {
		if (this.inFlight === 0) {
			this.held.delete(block);
			return;
		}
		this.held.set(block, { seq: this.seq, data: undefined });
		this.markers.push(block);
	}

	/**
	 * The sender is gone (a crash cancels what it had on the wire) or attaches anew: nothing is on
	 * its way any more.
	 */
	settle(): void {
		this.inFlight = 0;
		this.sweep();
	}

	private sweep(): void {
		if (this.inFlight > 0 || this.markers.length === 0) return;
		for (const b of this.markers) if (this.held.get(b)?.data === undefined) this.held.delete(b);
		this.markers = [];
	}

	/** The blocks whose copy the peers hold, in order. */
	blocks(): number[] {
		const out: number[] = [];
		for (const [b, h] of this.held) if (h.data) out.push(b);
		return out.sort((a, b) => a - b);
	}

	get(block: number): Uint8Array | undefined {
		return this.held.get(block)?.data;
	}
}

// The copies belong to the disk's `peer` link device, which the cluster keeps for the disk's
// lifetime and gives every host the disk runs on: they outlive a crashed cache instance.
const copies = new WeakMap<FilterDevice, PeerCopy>();

export function peerCopyOf(device: FilterDevice): PeerCopy {
	let c = copies.get(device);
	if (!c) {
		c = new PeerCopy();
		copies.set(device, c);
	}
	return c;
}

/** The copies of a device, if it ever had any (for the crash report). */
export function existingPeerCopy(device: FilterDevice): PeerCopy | undefined {
	return copies.get(device);
}
