/**
 * Helpers for filter authors, built only on the public context. A filter's own device (the
 * cache's SSD, a tier) costs modelled time and holds real bytes: `deviceIo` books the request on
 * the device's timing model and moves the bytes in its store at the completion time.
 */
import type { FilterContext, FilterDevice } from '../engine/filter';
import { acquireReadBuffer } from '../engine/buffers';
import { Op, SECTOR_BYTES, type OpCode } from '../engine/io';

/**
 * Performs `op` on a filter's device: the store operation happens when the device model says the
 * request completes, then `done` runs (with the bytes read, for a read). Works with synchronous
 * and asynchronous stores alike.
 */
export function deviceIo(
	ctx: FilterContext<unknown>,
	device: FilterDevice,
	op: OpCode,
	lba: number,
	sectors: number,
	data: Uint8Array | undefined,
	done: (data: Uint8Array | undefined, error?: Error) => void
): void {
	const { model, store } = device;
	if (!model || !store) throw new Error('deviceIo needs a device with a model and a store');
	const bytes = sectors * SECTOR_BYTES;
	const at = model.schedule(ctx.now, op, lba, bytes);
	if (ctx.timingOnly) {
		// Timing only: the device's time is spent, no bytes move (done gets no data, no error).
		ctx.after(at - ctx.now, done as () => void);
		return;
	}
	ctx.after(at - ctx.now, () => {
		let buf: Uint8Array | undefined;
		let r: void | Promise<void>;
		try {
			if (op === Op.read) {
				// A recycled buffer when the pool has one (the store fills every byte).
				buf = acquireReadBuffer(bytes);
				r = store.read(lba, buf);
			} else if (op === Op.write) r = store.write(lba, data!);
			else if (op === Op.flush) r = store.flush();
			else r = store.unmap(lba, sectors);
		} catch (e) {
			done(undefined, e as Error);
			return;
		}
		if (r && typeof (r as Promise<void>).then === 'function')
			return (r as Promise<void>).then(
				() => done(buf),
				(e) => done(undefined, e as Error)
			);
		done(buf);
	});
}

/** JSON values in a filter's sidecar (sync or async stores). */
export { getJson, putJson } from '../engine/storage/sidecar-json';
