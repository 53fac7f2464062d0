/**
 * A template filter: "New filter" in the editor starts from this file. Rename it, pick its class,
 * and change what its hooks do. It counts the I/O it sees and passes everything on.
 *
 * A filter is a plain object: identity, a parameter table and hooks. The framework calls the
 * hooks; a hook never waits for anything (no await on the I/O path): to wait, it defers the I/O
 * and finishes it later from a timer (ctx.after). Hooks, in the order they are first called:
 *
 *   attach   required  once per disk, before any I/O            returns the instance state
 *   onIo     required  every I/O on its way down                returns a verdict
 *   onDone   optional  every I/O it passed down, on the way up  returns a verdict
 *   onEvent  optional  control operations (snapshot, power…)   returns nothing (or a Promise)
 *   detach   optional  before the filter leaves the disk        returns nothing (or a Promise)
 *   status   optional  whenever a panel or the CLI asks         returns counters to show
 *
 * Verdicts: PASS (go on), complete(data?) (finish it here), fail(code, message) (finish it here
 * as a failure), DEFER (hold it; later ctx.resume / ctx.complete / ctx.fail, or on the way up
 * ctx.resumeUp / ctx.failUp). When a filter completes or fails an I/O, only the filters above it
 * are told; the filters below never see it.
 *
 * In the playground's editor the imports come from 'vaio'; the names are the playground's own
 * (VMware's VMIOF names are not public).
 */
import { FILTER_CONTRACT_VERSION, Op, PASS, SECTOR_BYTES, type FilterDef } from './authoring';

/** The instance state: one per disk the filter is attached to, kept in ctx.state. */
interface State {
	reads: number;
	writes: number;
	other: number;
	bytes: number;
	/** I/Os that a filter below (or the device) failed. */
	failedBelow: number;
}

const filter: FilterDef<State> = {
	// ---- identity: all required ----

	/** The contract this filter was written for; the registry refuses other versions. */
	contract: FILTER_CONTRACT_VERSION,
	/** Lowercase letters, digits and dashes (max 40); not the name of a built-in filter. */
	name: 'my-filter',
	vendor: 'me',
	version: '0.1.0',
	/**
	 * Where the filter sits: one filter per class per disk, invoked in class order (guest side
	 * first): inspection, compression, encryption, replication, cache, dataProvider,
	 * datastoreIoControl (FILTER_CLASSES).
	 */
	class: 'inspection',
	description: 'Counts the I/O it sees and passes everything on (the template filter).',

	/**
	 * The parameter table (required; may be empty): name, type (int, number, bool, enum, string),
	 * default, range or choices, unit, help. It drives the parameter panel, validation, share
	 * links and the docs. Values arrive validated in ctx.params.
	 */
	params: [
		{ name: 'logEvery', type: 'int', default: 0, min: 0, max: 1_000_000, unit: 'I/Os', help: 'Write a line to the event log every N I/Os (0: never).' }
	],

	/**
	 * attach(ctx): REQUIRED. Called once per disk the filter is attached to, before its first I/O.
	 * Returns the instance state (or a Promise of it): the framework keeps it in ctx.state. A throw
	 * refuses the attachment, and the scenario does not load.
	 */
	attach(ctx) {
		ctx.log(`attached to ${ctx.disk.vm}/${ctx.disk.name} at position ${ctx.index}`);
		return { reads: 0, writes: 0, other: 0, bytes: 0, failedBelow: 0 };
	},

	/**
	 * onIo(io, ctx): REQUIRED. Called for every I/O on its way down, guest I/O and the I/O of
	 * filters above. io.op is Op.read, Op.write, Op.flush or Op.unmap; io.lba and io.sectors say
	 * where (512-byte sectors); for a write, io.data holds the bytes (replace it with a new buffer
	 * to change them: never change the guest's buffer in place). Returns a verdict:
	 *   PASS                 the I/O goes on to the next filter (and the disk);
	 *   complete(data?)      finished here (a read must hand its data); filters below never see it;
	 *   fail(code, message)  finished here as a failure ('EIO', 'EINVAL', …); only filters above are told;
	 *   DEFER                held: other I/O keeps flowing; finish it later with ctx.resume(io),
	 *                        ctx.complete(io, data?) or ctx.fail(io, code, message), e.g.
	 *                        `ctx.after(100, () => ctx.resume(io)); return DEFER;`.
	 * A throw fails this I/O (EFILTER) and is shown at its line. Work that takes time is either
	 * deferred (the disk goes on) or charged with ctx.charge(µs), a blocking call: the whole disk
	 * waits (that is VAIO's lesson).
	 */
	onIo(io, ctx) {
		const s = ctx.state;
		if (io.op === Op.read) s.reads++;
		else if (io.op === Op.write) s.writes++;
		else s.other++;
		s.bytes += io.sectors * SECTOR_BYTES;
		const every = ctx.params.logEvery as number;
		const seen = s.reads + s.writes + s.other;
		if (every > 0 && seen % every === 0) ctx.log(`${seen} I/Os so far`);
		return PASS;
	},

	/**
	 * onDone(io, ctx): optional. Called on the way up for every I/O this filter passed down, once
	 * the filters below and the disk are done with it; io.error is set if it failed there, and
	 * for a read io.data holds the bytes read (copy them if you keep them). Returns PASS (or
	 * nothing) to hand the I/O up, fail(code, message) to turn a success into a failure,
	 * complete(data) for a read to hand other bytes up (decryption does), or DEFER to hold it
	 * (then ctx.resumeUp(io) or ctx.failUp(io, code, message) later). Leave it out if you do not
	 * need it: the framework then skips the filter on the way up.
	 */
	onDone(io, ctx) {
		if (io.error) ctx.state.failedBelow++;
		return PASS;
	},

	/**
	 * onEvent(event, ctx): optional. Called for control operations on the disk: snapshot-create /
	 * -revert / -delete, disk-grow, power-on / -off, suspend / resume, clone, migrate, attach /
	 * detach (event.type). The framework drains the disk's I/O first; the operation goes on when
	 * the hook returns (or its Promise settles). Returns nothing. Release anything you hold here.
	 */
	onEvent(event, ctx) {
		ctx.log(`control operation: ${event.type}`);
	},

	/**
	 * detach(ctx): optional. Called before the filter leaves the disk. Returns nothing (or a
	 * Promise): finish or release every I/O you hold first (a deferred I/O must not be lost).
	 */
	detach(ctx) {
		ctx.log(`detached after ${ctx.state.reads + ctx.state.writes + ctx.state.other} I/Os`);
	},

	/**
	 * status(ctx): optional. Called whenever the filter's panel, the run's result or the CLI's
	 * JSON needs its counters. Returns an object of numbers or short strings; the framework adds
	 * its own (verdicts, deferred time…).
	 */
	status(ctx) {
		const s = ctx.state;
		return { reads: s.reads, writes: s.writes, other: s.other, bytes: s.bytes, failedBelow: s.failedBelow };
	}
};

export default filter;
