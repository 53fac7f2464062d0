/**
 * The filter API as data: hooks, verdicts, the context's members, the I/O's fields and the 'vaio'
 * module's names, each with a one-line description and whether a custom filter (one that runs in
 * the sandbox) has it. The editor's completion and the authoring docs both read this table, so
 * they cannot disagree.
 */
import { SIDECAR_LIMITS } from './protocol';

export interface ApiEntry {
	name: string;
	/** A signature or type, shown beside the name. */
	detail: string;
	/** What it is or does. */
	info: string;
	/** Custom filters: 'yes', 'no' (built-ins only), or 'partly' (see note). */
	custom: 'yes' | 'no' | 'partly';
	note?: string;
}

export interface HookEntry {
	name: string;
	signature: string;
	required: boolean;
	when: string;
	returns: string;
}

export const HOOKS: readonly HookEntry[] = [
	{ name: 'attach', signature: 'attach(ctx)', required: true, when: 'once per disk the filter is attached to, before its first I/O (also after a restart)', returns: 'the instance state (or a Promise of it), kept in ctx.state; a throw refuses the attachment' },
	{ name: 'onIo', signature: 'onIo(io, ctx)', required: true, when: 'every I/O on its way down (guest I/O and I/O of filters above)', returns: 'a verdict: PASS, complete(data?), fail(code, message) or DEFER' },
	{ name: 'onDone', signature: 'onDone(io, ctx)', required: false, when: 'on the way up, for every I/O this filter passed down (io.error is set if it failed below)', returns: 'PASS (or nothing), fail(…) to turn success into failure, complete(data) to hand other read data up, or DEFER (then ctx.resumeUp / ctx.failUp)' },
	{ name: 'onEvent', signature: 'onEvent(event, ctx)', required: false, when: 'control operations (snapshot, disk grow, power, suspend, clone, migrate, attach/detach), after the disk\'s I/O has drained', returns: 'nothing, or a Promise: the operation goes on when it settles' },
	{ name: 'detach', signature: 'detach(ctx)', required: false, when: 'before the filter leaves the disk', returns: 'nothing, or a Promise; every held I/O must be finished or released first' },
	{ name: 'status', signature: 'status(ctx)', required: false, when: 'whenever a panel, the run result or the CLI asks', returns: 'an object of numbers or short strings (the framework adds its own counters)' }
];

export const VERDICTS: readonly ApiEntry[] = [
	{ name: 'PASS', detail: 'Verdict', info: 'The I/O goes on: down to the next filter (onIo) or up to the previous one (onDone).', custom: 'yes' },
	{ name: 'DEFER', detail: 'Verdict', info: 'The filter holds the I/O; other I/O keeps flowing. Finish it later with ctx.resume / complete / fail (down) or ctx.resumeUp / failUp (up).', custom: 'yes' },
	{ name: 'complete', detail: 'complete(data?: Uint8Array): Verdict', info: 'The I/O is finished here (a read hands its data); the filters below never see it, the filters above are told.', custom: 'yes' },
	{ name: 'fail', detail: "fail(code: 'EIO' | 'ENOSPC' | 'EINVAL' | …, message: string): Verdict", info: 'The I/O fails here; only the filters above are told.', custom: 'yes' }
];

export const CONTEXT_API: readonly ApiEntry[] = [
	{ name: 'now', detail: 'number', info: 'Virtual time in µs (never the wall clock).', custom: 'yes' },
	{ name: 'prng', detail: '{ next(), u32(), int(n), exp(mean), normal(), fork(salt) }', info: "This instance's seeded random numbers, the same every run: uniform next() in [0, 1), u32() and int(n) in [0, n); exp(mean) exponential, normal() standard normal, fork(salt) an independent child generator. Custom filters get the engine's own generator: the same seed gives the same numbers.", custom: 'yes' },
	{ name: 'params', detail: 'Record<string, number | boolean | string>', info: 'The parameter values, validated against the table, defaults filled in.', custom: 'yes' },
	{ name: 'state', detail: 'S', info: 'The instance state that attach returned.', custom: 'yes' },
	{ name: 'index', detail: 'number', info: "The filter's position in the chain (0 = guest side); also its slot in io.slots.", custom: 'yes' },
	{ name: 'disk', detail: '{ name, vm, host, sectors }', info: 'The disk this instance filters.', custom: 'yes', note: 'custom filters get the values at attach' },
	{ name: 'timingOnly', detail: 'boolean', info: 'The run moves no data bytes (io.data is undefined): model metadata and time only.', custom: 'yes' },
	{ name: 'after', detail: 'after(delayUs: number, fn: () => void): void', info: 'Runs fn after delayUs of virtual time (a timer): how a deferred I/O is finished later.', custom: 'yes' },
	{ name: 'charge', detail: 'charge(us: number): void', info: 'A blocking call: the whole disk waits us µs (CPU work on the I/O path). Defer instead to let other I/O flow.', custom: 'yes', note: 'in a custom filter the charge starts when the hook\'s answer arrives, still at the same virtual time' },
	{ name: 'resume', detail: 'resume(io): void', info: 'A deferred I/O goes on down.', custom: 'yes' },
	{ name: 'complete', detail: 'complete(io, data?): void', info: 'A deferred I/O is finished by this filter (a read hands data).', custom: 'yes' },
	{ name: 'fail', detail: 'fail(io, code, message): void', info: 'A deferred I/O fails here; only the filters above are told.', custom: 'yes' },
	{ name: 'resumeUp', detail: 'resumeUp(io): void', info: 'An I/O held on the way up (onDone returned DEFER) goes on up.', custom: 'yes' },
	{ name: 'failUp', detail: 'failUp(io, code, message): void', info: 'An I/O held on the way up fails instead.', custom: 'yes' },
	{ name: 'log', detail: 'log(message: string): void', info: "A line in the run's event log.", custom: 'yes', note: 'at most 200 lines per hook call' },
	{
		name: 'sidecar',
		detail: 'SidecarStore',
		info: "Persistent per-disk state (the VAIO sidecar file): get, set, delete, keys. What attach reads back after a restart.",
		custom: 'yes',
		note: `in a custom filter get, set, delete and keys are synchronous (the sandbox keeps a copy, every change is stored before the next event); values are Uint8Array copies, at most ${SIDECAR_LIMITS.keys} keys and ${SIDECAR_LIMITS.bytes / 2 ** 20} MiB`
	},
	{
		name: 'submitBelow',
		detail: 'submitBelow(op, lba, sectors, data, done: (io) => void): void',
		info: "The filter's own I/O to the filters below and the disk (destage, migrate, remap); done gets the I/O back (io.data for a read, io.error on failure).",
		custom: 'yes',
		note: 'in a custom filter done runs at the virtual time the I/O completes; io.data is a copy'
	},
	{
		name: 'device',
		detail: 'device(role: string): FilterDevice',
		info: 'A device the scenario gave the filter (an SSD for a cache, a WAN link): storage has its own timing model and store (use deviceIo), a link its bandwidth and round trip (use linkSend).',
		custom: 'yes',
		note: 'in a custom filter a handle: { role, kind: "storage" | "link" }, and rttUs for a link'
	}
];

export const IO_FIELDS: readonly ApiEntry[] = [
	{ name: 'id', detail: 'number', info: 'Unique per run; also the trace row key.', custom: 'yes' },
	{ name: 'op', detail: 'Op.read | Op.write | Op.flush | Op.unmap', info: 'The operation.', custom: 'yes' },
	{ name: 'lba', detail: 'number', info: 'First sector (512 bytes). A filter may remap it.', custom: 'yes' },
	{ name: 'sectors', detail: 'number', info: 'Length in sectors (0 for a flush).', custom: 'yes' },
	{ name: 'data', detail: 'Uint8Array | undefined', info: 'A write\'s bytes on the way down; a read\'s bytes on the way up. Replace, never change the guest\'s buffer in place on the way down.', custom: 'yes', note: 'in a custom filter io.data is a copy: changes are sent back to the engine' },
	{ name: 'origin', detail: "'guest' | 'filter'", info: 'Who issued it: the guest, or a filter above (its own I/O).', custom: 'yes' },
	{ name: 'issuedAt', detail: 'number', info: 'Virtual µs at which it was issued.', custom: 'yes' },
	{ name: 'stream', detail: 'number', info: 'The guest workload stream that issued it (-1 for filter I/O).', custom: 'yes' },
	{ name: 'slots', detail: 'unknown[]', info: "Per-filter slots: keep this filter's per-I/O state in io.slots[ctx.index].", custom: 'yes' },
	{ name: 'error', detail: '{ code, message, source } | undefined', info: 'Set on the way up when the I/O failed below.', custom: 'yes' }
];

export const SDK_NAMES: readonly ApiEntry[] = [
	...VERDICTS,
	{ name: 'Op', detail: '{ read: 0, write: 1, flush: 2, unmap: 3 }', info: 'Operation codes (io.op).', custom: 'yes' },
	{ name: 'OP_NAMES', detail: "['read', 'write', 'flush', 'unmap']", info: 'Operation names by code.', custom: 'yes' },
	{ name: 'FILTER_CLASSES', detail: 'readonly string[]', info: 'The VAIO filter classes in chain order: inspection, compression, encryption, replication, cache, dataProvider, datastoreIoControl.', custom: 'yes' },
	{ name: 'FILTER_CONTRACT_VERSION', detail: 'number', info: 'The contract version a filter declares (its "contract" field).', custom: 'yes' },
	{ name: 'SECTOR_BYTES', detail: '512', info: 'Bytes per sector.', custom: 'yes' },
	{ name: 'BLOCK_BYTES', detail: '4096', info: 'Bytes per 4 KiB block.', custom: 'yes' },
	{
		name: 'deviceIo',
		detail: 'deviceIo(ctx, device, op, lba, sectors, data, done: (data?, error?) => void): void',
		info: "I/O on one of the filter's devices (ctx.device(role)): its timing model decides when done runs; a read gets the device's bytes.",
		custom: 'yes'
	},
	{
		name: 'linkSend',
		detail: 'linkSend(ctx, link, bytes, done: (error?) => void): void',
		info: 'A message over one of the filter\'s WAN links: serialised at the link\'s bandwidth, done runs when it arrives (RTT/2 after its last byte), or at once with an error while the link is down.',
		custom: 'yes',
		note: 'custom filters only (built-in filters use the link model directly)'
	}
];

/** The fields of a filter definition (the default export). */
export const DEF_FIELDS: readonly ApiEntry[] = [
	{ name: 'contract', detail: 'FILTER_CONTRACT_VERSION', info: 'The contract version; the registry refuses others.', custom: 'yes' },
	{ name: 'name', detail: 'string', info: 'Lowercase letters, digits and dashes; not a built-in filter\'s name.', custom: 'yes' },
	{ name: 'vendor', detail: 'string', info: 'Who made it.', custom: 'yes' },
	{ name: 'version', detail: 'string', info: 'Its version.', custom: 'yes' },
	{ name: 'class', detail: 'one of FILTER_CLASSES', info: 'Where it sits in the chain (one filter per class per disk).', custom: 'yes' },
	{ name: 'description', detail: 'string', info: 'One line for the palette and the docs.', custom: 'yes' },
	{ name: 'params', detail: 'ParamSpec[]', info: 'The parameter table: name, type, default, range or choices, unit, help.', custom: 'yes' },
	{ name: 'classConfigurable', detail: 'boolean', info: 'The scenario may choose its class.', custom: 'yes' },
	{ name: 'timingOnly', detail: 'boolean', info: 'It works in timing-only runs (no data bytes).', custom: 'yes' },
	{
		name: 'devices',
		detail: "Record<role, DeviceSpec>",
		info: "Devices it needs, with the spec used when the scenario gives none: { ssd: { kind: 'nvme' } }, { wan: { kind: 'wan', rttUs: 2000 } }.",
		custom: 'yes'
	}
];
