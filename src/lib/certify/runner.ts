/**
 * The certification suite, in the spirit of VAIO's vetting before a filter is "VMware Ready":
 * `certify(def)` runs every check against one filter type, in its own class, between two probe
 * filters, on memory stores, and returns a report that says, per check, what failed, on which I/O
 * and at what virtual time.
 *
 * Like the engine it drives, the suite is deterministic: no wall clock, no unseeded randomness;
 * the same filter, options and seed give the same report. Every run is bounded in virtual time
 * and events, so a filter that hangs or holds I/O forever fails a check instead of hanging the
 * suite. The runs several checks read (mixed, qd32, faults) are made once per certification.
 */
import { FILTER_CLASSES, type FilterClass, type FilterDef, type FilterDeviceSpec, type ParamValue } from '../engine/filter';
import { resolveParams } from '../engine/params';
import { FilterRegistrationError, checkFilterDef } from '../engine/registry';
import { errorText } from '../engine/chain';
import { CHECKS } from './checks/index';
import type { CheckContext, CheckOutcome, RunOutcome } from './checks/check';
import { Bench, type BenchOptions, type SuiteSetup } from './harness';
import { PROBE_ABOVE, PROBE_BELOW } from './probes';
import { CHECK_IDS, MAX_FINDINGS, detailText, type Budgets, type CertReport, type CheckId, type CheckResult, type RunSummary } from './report';
import { faultPlan, mixedPlan, qd32Plan } from './workloads';

export interface CertifyOptions {
	/** The class to run a class-configurable filter in (default: replication, mid-chain). */
	cls?: FilterClass;
	/** Parameters of the filter under test (validated against its table; defaults fill the rest). */
	params?: Record<string, ParamValue>;
	/** Devices of the filter under test, by role (default: the filter's own defaults). */
	devices?: Record<string, FilterDeviceSpec>;
	/** Seed of every run (default 1). */
	seed?: number;
	/** Multiplies every run's I/O count (default 1: about 4,000 guest I/Os in all). */
	scale?: number;
	budgets?: Partial<Budgets>;
	/** Runs only these checks (default: all). */
	only?: readonly CheckId[];
}

export const DEFAULT_BUDGETS: Readonly<Budgets> = Object.freeze({
	chargePerIoUs: 50,
	chargePerCallUs: 1000,
	stallUs: 100_000,
	quietUs: 10_000_000,
	controlUs: 30_000_000
});

/** The class a configurable filter runs in unless told: mid-chain, so both probes fit. */
export const DEFAULT_CONFIGURABLE_CLASS: FilterClass = 'replication';

/** Bad input to certify(): not a filter, a probe's name, a class it cannot take. */
export class CertifyInputError extends Error {
	override name = 'CertifyInputError';
}

/** Runs the certification suite against one filter type. Throws on bad input (not on a failing filter). */
export async function certify(def: FilterDef, options: CertifyOptions = {}): Promise<CertReport> {
	const problem = checkFilterDef(def);
	if (problem) throw new FilterRegistrationError(`filter "${String((def as { name?: unknown } | null)?.name ?? '?')}": ${problem}`);
	if (def.name === PROBE_ABOVE || def.name === PROBE_BELOW)
		throw new CertifyInputError(`filter "${def.name}": the name is the certification probe's own; rename the filter`);
	const cls = options.cls ?? (def.classConfigurable ? DEFAULT_CONFIGURABLE_CLASS : def.class);
	if (!FILTER_CLASSES.includes(cls)) throw new CertifyInputError(`class "${String(cls)}" is not one of ${FILTER_CLASSES.join(', ')}`);
	if (cls !== def.class && !def.classConfigurable)
		throw new CertifyInputError(`filter "${def.name}" is of class ${def.class}; its class cannot be changed`);
	const given = options.params ?? {};
	const resolved = resolveParams(def, given); // throws ParamError naming the parameter
	const seed = options.seed ?? 1;
	if (!Number.isInteger(seed) || seed < 0 || seed > 2 ** 32 - 1) throw new CertifyInputError(`seed ${seed} is not an integer from 0 to 4294967295`);
	const scale = options.scale ?? 1;
	if (!(scale > 0 && scale <= 100)) throw new CertifyInputError(`scale ${scale} is not in (0, 100]`);
	const budgets: Budgets = { ...DEFAULT_BUDGETS, ...options.budgets };
	for (const [k, v] of Object.entries(budgets))
		if (!(typeof v === 'number' && v > 0)) throw new CertifyInputError(`budget ${k} must be a positive number of µs, got ${String(v)}`);
	for (const id of options.only ?? []) if (!CHECK_IDS.includes(id)) throw new CertifyInputError(`unknown check "${id}" (checks: ${CHECK_IDS.join(', ')})`);

	const setup: SuiteSetup = { def, cls, params: given, devices: options.devices ?? {}, seed, scale, budgets };
	const runs: RunSummary[] = [];
	const benches: Bench[] = [];
	const ios = (n: number) => Math.max(16, Math.round(n * scale));
	const build = async (name: string, opts: BenchOptions): Promise<Bench> => {
		const b = await Bench.create(name, setup, opts);
		benches.push(b);
		return b;
	};
	const shared = (name: string, opts: () => BenchOptions, afterCreate?: (b: Bench) => void) => {
		let p: Promise<RunOutcome> | undefined;
		return () =>
			(p ??= (async (): Promise<RunOutcome> => {
				let b: Bench;
				try {
					b = await build(name, opts());
				} catch (e) {
					return { name, bench: undefined, end: { kind: 'crashed', t: 0 }, setupError: errorText(e) };
				}
				afterCreate?.(b);
				const end = await b.run();
				return { name, bench: b, end };
			})());
	};
	let faultBench: Bench | undefined;
	const ctx: CheckContext = {
		setup,
		ios,
		bench: build,
		mixed: shared('mixed', () => ({ streams: mixedPlan(ios(1000)) })),
		qd32: shared('qd32', () => ({ streams: qd32Plan(ios(800)), traceCapacity: Math.max(4096, ios(800) * 8) })),
		faults: shared(
			'faults',
			() => ({
				// Phase 1 is the read-back: the faults stop there.
				streams: faultPlan(ios(600), (phase) => {
					if (phase >= 1 && faultBench) faultBench.armed = false;
				}),
				faults: { params: { mode: 'fail', ops: 'all', probability: 0.2 } }
			}),
			(b) => (faultBench = b)
		)
	};

	const checks: CheckResult[] = [];
	for (const [i, check] of CHECKS.entries()) {
		if (options.only && !options.only.includes(check.id)) continue;
		let out: CheckOutcome;
		try {
			out = await check.run(ctx);
		} catch (e) {
			out = { passed: false, summary: `the check could not run: ${errorText(e)}`, findings: [] };
		}
		const findings = out.findings.slice(0, MAX_FINDINGS);
		checks.push({
			id: check.id,
			n: i + 1,
			title: check.title,
			passed: out.passed,
			...(out.skipped ? { skipped: true } : {}),
			summary: out.summary,
			detail: detailText(out.summary, out.findings),
			findings
		});
	}
	for (const b of benches)
		runs.push({ name: b.name, guestIos: b.guest.ios.size, endUs: b.now, events: b.sim.events, end: b.end?.kind ?? 'stopped by its check' });

	const nonDefault: Record<string, ParamValue> = {};
	for (const p of def.params) if (resolved[p.name] !== p.default) nonDefault[p.name] = resolved[p.name];
	const chain = benches[0]?.disk.chain.filters.map((f) => `${f.def.name} (${f.cls})`) ?? [];
	return {
		filter: { name: def.name, version: def.version, vendor: def.vendor, class: def.class, classConfigurable: def.classConfigurable === true },
		cls,
		chain,
		params: nonDefault,
		seed,
		scale,
		budgets,
		passed: checks.every((c) => c.passed),
		checks,
		runs
	};
}
