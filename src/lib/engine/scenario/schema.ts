/**
 * The scenario: one versioned JSON document (hosts, VMs, disks, storage policies with filter
 * chains and parameters, devices, workloads, seed), validated with valibot. Invalid input gets a
 * one-line error that names the field (as a dotted path) and the reason.
 */
import * as v from 'valibot';
import { MAX_DISK_BYTES, parseSize } from '../io';
import { FILTER_CLASSES } from '../filter';
import { streamNameProblem } from '../workload/spec';

export const SCENARIO_VERSION = 1;

const name = v.pipe(v.string(), v.regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be 1–64 letters, digits, dots, dashes or underscores'));

/** A byte size: a number of bytes or a string such as "4k", "20GiB". */
const size = (min: number, max: number) =>
	v.pipe(
		v.union([v.number(), v.string()], 'must be a number of bytes or a size such as "4k"'),
		v.rawTransform(({ dataset, addIssue, NEVER }) => {
			let n: number;
			try {
				n = parseSize(dataset.value as string | number);
			} catch (e) {
				addIssue({ message: (e as Error).message });
				return NEVER;
			}
			if (!Number.isFinite(n) || n < min || n > max) {
				addIssue({ message: `${n} bytes is outside ${min}..${max}` });
				return NEVER;
			}
			return n;
		})
	);

const sectorMultiple = (s: ReturnType<typeof size>) =>
	v.pipe(s, v.check((n) => n % 512 === 0, 'must be a multiple of 512 bytes'));

const int = (min: number, max: number) => v.pipe(v.number(), v.integer(), v.minValue(min), v.maxValue(max));
const num = (min: number, max: number) => v.pipe(v.number(), v.finite(), v.minValue(min), v.maxValue(max));

export const DeviceSpecSchema = v.strictObject({
	kind: v.picklist(['nvme', 'sata-ssd', 'hdd', 'null']),
	/** Optional overrides of the model's parameters (names from its parameter table). */
	params: v.optional(v.record(v.string(), num(0, 1e12)), {})
});

export const LinkSpecSchema = v.strictObject({
	kind: v.literal('wan'),
	rttUs: v.optional(num(0, 10_000_000), 20_000),
	mbitPerSec: v.optional(num(0.001, 1_000_000), 100)
});

export const FilterAttachmentSchema = v.strictObject({
	/** Registered filter type name. */
	type: v.pipe(v.string(), v.minLength(1)),
	/** Only for filters whose class is configurable (passthrough). */
	class: v.optional(v.picklist(FILTER_CLASSES)),
	params: v.optional(v.record(v.string(), v.union([v.number(), v.boolean(), v.string()])), {}),
	/** Devices the filter uses, by role (e.g. "ssd" for a cache, "wan" and "replica" for replication). */
	devices: v.optional(v.record(v.string(), v.union([DeviceSpecSchema, LinkSpecSchema])), {})
});

export const PolicySchema = v.strictObject({
	name: v.optional(v.string(), 'default'),
	/** vSphere's "allow I/O filters before encryption": encryption moves to the bottom. */
	allowCleartextFilters: v.optional(v.boolean(), false),
	filters: v.optional(v.array(FilterAttachmentSchema), [])
});

const DistributionSchema = v.union(
	[
		v.strictObject({ kind: v.literal('random') }),
		v.strictObject({ kind: v.literal('zipf'), theta: num(-100, 100) }),
		v.strictObject({ kind: v.literal('pareto'), h: num(0, 1) }),
		v.strictObject({ kind: v.literal('normal'), sigmaPct: v.pipe(num(0, 100), v.ltValue(100, 'must be below 100 (fio refuses normal:100)')) }),
		v.strictObject({
			kind: v.literal('zoned'),
			zones: v.pipe(v.array(v.strictObject({ accessPct: num(0, 100), sizePct: num(0, 100) })), v.minLength(1), v.maxLength(256))
		})
	],
	'must be {kind: "random"}, {kind: "zipf", theta}, {kind: "pareto", h}, {kind: "normal", sigmaPct} or {kind: "zoned", zones: [{accessPct, sizePct}, …]}'
);

/** A workload stream's name: its fio job's [section] name (see streamNameProblem). */
const streamName = v.pipe(
	v.string('must be a string (a fio job name)'),
	v.rawCheck(({ dataset, addIssue }) => {
		const problem = dataset.typed ? streamNameProblem(dataset.value) : null;
		if (problem) addIssue({ message: problem });
	})
);

export const WorkloadSchema = v.strictObject({
	/**
	 * The stream's name, as fio names a job: the [section] of an imported or exported job file,
	 * the CSV's job column, --json's streams[].job. Absent: vaio, vaio-1, … by position. Unique
	 * on a disk. Not in the trace digest.
	 */
	name: v.optional(streamName),
	rw: v.optional(v.picklist(['read', 'write', 'randread', 'randwrite', 'randrw', 'rw', 'trim', 'randtrim'])),
	/** A flush after every N writes (fio fsync). */
	fsync: v.optional(int(0, 1e9)),
	/** Sequential modes: bytes added to the next offset after each I/O (fio rw=MODE:N); negative walks back. */
	seqAdd: v.optional(v.pipe(int(-MAX_DISK_BYTES, MAX_DISK_BYTES), v.check((n) => n % 512 === 0, 'must be a multiple of 512 bytes'))),
	bs: v.optional(sectorMultiple(size(512, 64 * 2 ** 20))),
	bssplit: v.optional(
		v.pipe(
			v.array(v.strictObject({ bs: sectorMultiple(size(512, 64 * 2 ** 20)), pct: num(0, 100) })),
			v.minLength(1)
		)
	),
	blockalign: v.optional(sectorMultiple(size(512, 64 * 2 ** 20))),
	iodepth: v.optional(int(1, 4096)),
	rwmixread: v.optional(num(0, 100)),
	offset: v.optional(sectorMultiple(size(0, MAX_DISK_BYTES))),
	size: v.optional(sectorMultiple(size(0, MAX_DISK_BYTES))),
	ios: v.optional(int(0, 1e10)),
	runtimeUs: v.optional(num(0, 1e13)),
	/** Bytes to issue before stopping (fio io_size), also with ios or runtimeUs; may exceed the region. */
	ioSize: v.optional(sectorMultiple(size(512, 2 ** 52))),
	randomDistribution: v.optional(DistributionSchema),
	/** fio's random map: uniform random offsets visit each block once per pass. Absent: drawn with replacement. */
	randomMap: v.optional(v.boolean()),
	dedupePercentage: v.optional(num(0, 100)),
	thinktimeUs: v.optional(num(0, 1e9)),
	rateIops: v.optional(num(0, 1e9))
});

export const DiskSchema = v.strictObject({
	name,
	size: v.optional(sectorMultiple(size(4096, MAX_DISK_BYTES)), 20 * 2 ** 30),
	datastore: v.optional(DeviceSpecSchema, { kind: 'nvme', params: {} }),
	policy: v.optional(PolicySchema, { name: 'default', allowCleartextFilters: false, filters: [] }),
	workload: v.optional(v.array(WorkloadSchema), [{}])
});

export const VmSchema = v.strictObject({
	name,
	host: v.optional(name, 'esx-01'),
	disks: v.pipe(v.array(DiskSchema), v.minLength(1, 'a VM needs at least one disk'), v.maxLength(64))
});

/** An installed filter bundle (VIB): a registered filter type at a version. */
export const BundleSchema = v.strictObject({
	/** The registered filter type it installs. */
	name: v.pipe(v.string(), v.minLength(1)),
	/** Default: the registered filter's vendor. */
	vendor: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(100))),
	/** Default: the registered filter's version. */
	version: v.optional(v.pipe(v.string(), v.regex(/^\d{1,6}(\.\d{1,6}){0,3}$/, 'must be a version such as 1.2.0')))
});

export const HostSchema = v.strictObject({
	name,
	/** The bundles installed on this host (default: the cluster's bundles). */
	bundles: v.optional(v.array(BundleSchema))
});

/** The cluster: bundles installed cluster-wide and named storage policies. */
export const ClusterSchema = v.strictObject({
	/** Installed on every host without its own list (default: every registered filter). */
	bundles: v.optional(v.array(BundleSchema)),
	/** Named storage policies that operations can apply by name. */
	policies: v.optional(v.array(PolicySchema), [])
});

const opAt = { atUs: num(0, 1e13) };
const vmOp = { ...opAt, vm: name };
const diskOp = { ...vmOp, disk: v.optional(name) };
const snapName = v.pipe(v.string(), v.minLength(1), v.maxLength(80));

/**
 * A control operation or fault at a virtual time (src/lib/engine/cluster/timed.ts runs them).
 * `disk` defaults to the VM's only disk.
 */
export const OperationSchema = v.variant('op', [
	v.strictObject({ ...vmOp, op: v.literal('snapshot-create'), name: snapName, description: v.optional(v.pipe(v.string(), v.maxLength(400))) }),
	v.strictObject({ ...vmOp, op: v.picklist(['snapshot-revert', 'snapshot-delete']), name: snapName }),
	v.strictObject({ ...diskOp, op: v.literal('disk-grow'), size: sectorMultiple(size(4096, MAX_DISK_BYTES)) }),
	v.strictObject({ ...vmOp, op: v.picklist(['power-on', 'power-off', 'suspend', 'resume', 'drs-place']) }),
	v.strictObject({
		...diskOp,
		op: v.literal('clone'),
		/** The clone's VM (new unless it exists), disk name and host (default: a new VM "<vm>-clone" on the source's host). */
		targetVm: v.optional(name),
		targetDisk: v.optional(name),
		host: v.optional(name),
		powerOn: v.optional(v.boolean(), false),
		policy: v.optional(v.union([PolicySchema, name])),
		workload: v.optional(v.array(WorkloadSchema))
	}),
	v.strictObject({ ...vmOp, op: v.literal('vmotion'), host: name }),
	v.strictObject({ ...opAt, op: v.literal('drs-balance') }),
	v.strictObject({ ...diskOp, op: v.literal('policy'), policy: v.union([PolicySchema, name]) }),
	v.strictObject({ ...opAt, op: v.literal('install'), bundle: BundleSchema }),
	v.strictObject({ ...opAt, op: v.literal('upgrade'), name: v.pipe(v.string(), v.minLength(1)), version: v.pipe(v.string(), v.regex(/^\d{1,6}(\.\d{1,6}){0,3}$/, 'must be a version such as 1.2.0')) }),
	v.strictObject({ ...opAt, op: v.literal('uninstall'), name: v.pipe(v.string(), v.minLength(1)) }),
	v.strictObject({ ...opAt, op: v.literal('host-add'), host: name, bundles: v.optional(v.array(BundleSchema)) }),
	v.strictObject({ ...opAt, op: v.picklist(['maintenance-enter', 'maintenance-exit', 'host-recover']), host: name }),
	v.strictObject({
		...opAt,
		op: v.literal('host-crash'),
		host: name,
		/** other-host: HA restarts the VMs elsewhere; same-host: they wait for the host to reboot; none: they stay down. */
		restart: v.optional(v.picklist(['other-host', 'same-host', 'none']), 'other-host'),
		/** Time the host takes to come back (restart: same-host). */
		rebootUs: v.optional(num(0, 1e12), 5_000_000)
	}),
	v.strictObject({ ...vmOp, op: v.literal('vm-restart'), host: v.optional(name) }),
	v.strictObject({
		...diskOp,
		op: v.literal('datastore-error'),
		fromSector: v.optional(int(0, 2 ** 47), 0),
		/** 0 = to the end of the disk. */
		sectors: v.optional(int(0, 2 ** 47), 0),
		ops: v.optional(v.picklist(['read', 'write', 'all']), 'all'),
		/** 0 = until the end of the run. */
		durationUs: v.optional(num(0, 1e13), 0)
	}),
	v.strictObject({ ...diskOp, op: v.picklist(['filter-crash', 'filter-restart']), filter: v.pipe(v.string(), v.minLength(1)) }),
	v.strictObject({ ...opAt, op: v.literal('wan-outage'), durationUs: num(0, 1e13), vm: v.optional(name), disk: v.optional(name) }),
	v.strictObject({ ...diskOp, op: v.literal('bookmark'), label: snapName }),
	v.strictObject({ ...diskOp, op: v.literal('dr-failover'), point: v.optional(v.union([v.number(), snapName])), host: v.optional(name) }),
	v.strictObject({ ...diskOp, op: v.literal('dr-failback') }),
	v.strictObject({ ...opAt, op: v.literal('verify'), vm: v.optional(name), disk: v.optional(name) })
]);

export const ScenarioSchema = v.strictObject({
	version: v.literal(SCENARIO_VERSION, `must be ${SCENARIO_VERSION} (the scenario schema version)`),
	name: v.optional(v.pipe(v.string(), v.maxLength(200)), 'untitled'),
	description: v.optional(v.pipe(v.string(), v.maxLength(4000)), ''),
	seed: v.optional(int(0, 2 ** 32 - 1), 1),
	hosts: v.optional(v.pipe(v.array(HostSchema), v.minLength(1), v.maxLength(64)), [{ name: 'esx-01' }]),
	vms: v.pipe(v.array(VmSchema), v.minLength(1, 'a scenario needs at least one VM'), v.maxLength(256)),
	cluster: v.optional(ClusterSchema),
	/** Control operations and faults at virtual times, run in time order (equal times: as listed). */
	operations: v.optional(v.pipe(v.array(OperationSchema), v.maxLength(10_000)), []),
	run: v.optional(
		v.strictObject({
			/** Completed trace rows kept for queries (the digest covers all). */
			traceCapacity: v.optional(int(1, 500_000), 65_536),
			/** Stop after this much virtual time even if workloads are not done (0 = no limit). */
			maxRuntimeUs: v.optional(num(0, 1e13), 0),
			/**
			 * Timing only: no data bytes move and nothing is verified; filters that support it
			 * simulate their metadata only (millions of I/Os of a large trace).
			 */
			timingOnly: v.optional(v.boolean(), false)
		}),
		{ traceCapacity: 65_536, maxRuntimeUs: 0, timingOnly: false }
	)
});

/** A scenario as written (optional fields may be missing). */
export type ScenarioInput = v.InferInput<typeof ScenarioSchema>;
/** A validated scenario with defaults filled in and sizes in bytes. */
export type Scenario = v.InferOutput<typeof ScenarioSchema>;
export type DiskConfig = v.InferOutput<typeof DiskSchema>;
export type FilterAttachment = v.InferOutput<typeof FilterAttachmentSchema>;
export type PolicyConfig = v.InferOutput<typeof PolicySchema>;
export type PolicyInput = v.InferInput<typeof PolicySchema>;
export type BundleInput = v.InferOutput<typeof BundleSchema>;
export type Operation = v.InferOutput<typeof OperationSchema>;
export type OperationInput = v.InferInput<typeof OperationSchema>;
export type WorkloadInput = v.InferOutput<typeof WorkloadSchema>;
export type DeviceSpecInput = v.InferOutput<typeof DeviceSpecSchema>;
export type LinkSpecInput = v.InferOutput<typeof LinkSpecSchema>;

/** A scenario that failed validation: `path` is dotted (vms[0].disks[1].size), `reason` says why. */
export class ScenarioError extends Error {
	override name = 'ScenarioError';
	constructor(
		readonly path: string,
		readonly reason: string
	) {
		super(path ? `${path}: ${reason}` : reason);
	}
}

/** Validates and normalises a scenario; throws ScenarioError on the first problem. */
export function parseScenario(input: unknown): Scenario {
	const r = v.safeParse(ScenarioSchema, input);
	if (!r.success) {
		const issue = r.issues[0];
		throw new ScenarioError(issuePath(issue), issueReason(issue));
	}
	const s = r.output;
	checkReferences(s);
	return s;
}

function issuePath(issue: v.BaseIssue<unknown>): string {
	let out = '';
	for (const item of issue.path ?? []) {
		const key = (item as { key: unknown }).key;
		if (typeof key === 'number') out += `[${key}]`;
		else out += out ? `.${String(key)}` : String(key);
	}
	return out;
}

function issueReason(issue: v.BaseIssue<unknown>): string {
	// valibot's messages are like 'Invalid type: Expected number but received "x"'.
	const nested = (issue as { issues?: v.BaseIssue<unknown>[] }).issues;
	if (issue.type === 'union' && nested && nested.length > 0 && !issue.message.startsWith('must'))
		return issueReason(nested[0]);
	if (issue.type === 'strict_object' && issue.expected === 'never') return `unknown field (${issue.received.replace(/"/g, '')} is not allowed here)`;
	if ((issue.type === 'object' || issue.type === 'strict_object') && issue.received === 'undefined') return 'is required';
	return issue.message.replace(/^Invalid (type|key|value): /, '');
}

/** Cross-field checks the schema cannot express: unique names, known hosts. */
function checkReferences(s: Scenario): void {
	checkOperationReferences(s);
	const hosts = new Set<string>();
	s.hosts.forEach((h, i) => {
		if (hosts.has(h.name)) throw new ScenarioError(`hosts[${i}].name`, `duplicate host "${h.name}"`);
		hosts.add(h.name);
	});
	const vms = new Set<string>();
	s.vms.forEach((vm, i) => {
		if (vms.has(vm.name)) throw new ScenarioError(`vms[${i}].name`, `duplicate VM "${vm.name}"`);
		vms.add(vm.name);
		if (!hosts.has(vm.host))
			throw new ScenarioError(`vms[${i}].host`, `host "${vm.host}" is not in hosts (${[...hosts].join(', ')})`);
		const disks = new Set<string>();
		vm.disks.forEach((d, j) => {
			if (disks.has(d.name)) throw new ScenarioError(`vms[${i}].disks[${j}].name`, `duplicate disk "${d.name}"`);
			disks.add(d.name);
			d.workload.forEach((w, k) => {
				if (w.offset !== undefined && w.offset >= d.size)
					throw new ScenarioError(`vms[${i}].disks[${j}].workload[${k}].offset`, `${w.offset} is beyond the disk's ${d.size} bytes`);
			});
			checkStreamNames(d.workload, `vms[${i}].disks[${j}].workload`);
		});
	});
}

/** Two streams of one disk must not share a name (the exports tell the streams apart by it). */
function checkStreamNames(workload: readonly { name?: string }[], path: string): void {
	const seen = new Map<string, number>();
	workload.forEach((w, k) => {
		if (w.name === undefined) return;
		const first = seen.get(w.name);
		if (first !== undefined)
			throw new ScenarioError(`${path}[${k}].name`, `duplicate stream name "${w.name}": ${path.slice(path.lastIndexOf('.') + 1)}[${first}] has it too (the streams of a disk need different names)`);
		seen.set(w.name, k);
	});
}

/**
 * Timed operations name VMs and hosts of the scenario, or ones an earlier operation creates (a
 * clone's VM, a host that joins, a DR copy "<vm>-dr").
 */
function checkOperationReferences(s: Scenario): void {
	const vms = new Set(s.vms.map((v) => v.name));
	const hosts = new Set(s.hosts.map((h) => h.name));
	const order = s.operations.map((op, i) => ({ op, i })).sort((a, b) => a.op.atUs - b.op.atUs || a.i - b.i);
	for (const { op, i } of order) {
		const o = op as Record<string, unknown>;
		if (typeof o.vm === 'string' && !vms.has(o.vm))
			throw new ScenarioError(`operations[${i}].vm`, `VM "${o.vm}" is not in the scenario (VMs: ${[...vms].join(', ')})`);
		for (const k of ['host'] as const)
			if (typeof o[k] === 'string' && !hosts.has(o[k] as string) && op.op !== 'host-add' && op.op !== 'dr-failover' && op.op !== 'clone')
				throw new ScenarioError(`operations[${i}].${k}`, `host "${o[k]}" is not in hosts (${[...hosts].join(', ')})`);
		if (op.op === 'host-add') hosts.add(op.host);
		if (op.op === 'clone') {
			if (op.workload) checkStreamNames(op.workload, `operations[${i}].workload`);
			vms.add(op.targetVm ?? `${op.vm}-clone`);
			if (op.host !== undefined && !hosts.has(op.host))
				throw new ScenarioError(`operations[${i}].host`, `host "${op.host}" is not in hosts (${[...hosts].join(', ')})`);
		}
		if (op.op === 'dr-failover') {
			vms.add(`${op.vm}-dr`);
			hosts.add(op.host ?? 'dr-site');
		}
	}
}
