/**
 * The custom filter protocol, end to end in one thread: the engine's proxy FilterDef, the
 * sandbox runtime behind a MessageChannel, the user's module from a data: URL. Verdicts, data
 * crossing both ways, timers, throws with their lines, the watchdog (with timers fired by hand),
 * installation checks. The isolation itself (iframe, opaque origin, CSP) is tested in Chromium
 * (tests/e2e/author.spec.ts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { runInNewContext } from 'node:vm';
import { builtinRegistry } from '../filters';
import template from '../filters/template';
import { TEMPLATE_SOURCE } from '../filters/template-source';
import { Prng } from '../engine/clock';
import { Op } from '../engine/io';
import { MemoryStoreFactory } from '../engine/storage/memory';
import { Simulation } from '../engine/simulation';
import { runResult } from '../engine/result';
import type { FilterRegistry } from '../engine/registry';
import { oneDisk, runSim } from '../../../tests/unit/scenarios';
import { CustomFilters, type InstallResult } from './custom-filters';
import { inProcessSandbox, ManualTimers, type InProcessSandbox } from './harness';
import { SandboxConnection, describeProblem, type PortLike } from './proxy';
import { sandboxRuntime, type RuntimePort } from './runtime';
import { prngClassSource, runtimeSource } from './host';
import type { ControlMessage, Reply, Request } from './protocol';

const open: InProcessSandbox[] = [];
afterEach(() => {
	for (const s of open.splice(0)) s.close();
});

interface Setup {
	registry: FilterRegistry;
	custom: CustomFilters;
	timers: ManualTimers;
	kills: ControlMessage[];
}

function setup(): Setup {
	const registry = builtinRegistry();
	const timers = new ManualTimers();
	return { registry, custom: new CustomFilters(registry, new Set(registry.names()), { timers }), timers, kills: [] };
}

/** Installs `source` into a fresh in-process sandbox. */
async function install(s: Setup, source: string, wrap?: (p: RuntimePort) => RuntimePort, name: string | null = null): Promise<InstallResult> {
	const sb = inProcessSandbox(wrap);
	open.push(sb);
	const control: PortLike = { postMessage: (m) => s.kills.push(m as ControlMessage), onmessage: null };
	return s.custom.install(name, source, { data: sb.port, control });
}

async function installed(s: Setup, source: string, wrap?: (p: RuntimePort) => RuntimePort): Promise<string> {
	const r = await install(s, source, wrap);
	if (!r.ok) throw new Error(`install failed: ${r.problem.message} (line ${r.problem.line})`);
	return r.filter.name;
}

/** A filter source with the given class and hooks (written as an author would). */
function filterSource(name: string, body: string, cls = 'inspection'): string {
	return `import { PASS, DEFER, complete, fail, Op, FILTER_CONTRACT_VERSION, type FilterDef } from 'vaio';

export default {
	contract: FILTER_CONTRACT_VERSION,
	name: '${name}',
	vendor: 'test',
	version: '1.0.0',
	class: '${cls}',
	description: 'a test filter',
	params: [],
${body}
} satisfies FilterDef;
`;
}

const workload = [{ rw: 'randrw' as const, bs: '4k', iodepth: 8, ios: 400, size: '256k' }];

function scenario(filter: string, cls?: string) {
	return oneDisk({ filters: [{ type: filter, ...(cls ? { class: cls as 'inspection' } : {}) }], workload });
}

describe('custom filters through the sandbox protocol', () => {
	it('the template runs like the built-in template: same I/O, errors, verification and counters', async () => {
		const s = setup();
		const name = await installed(s, TEMPLATE_SOURCE);
		expect(name).toBe('my-filter');
		const viaSandbox = await runSim(scenario(name), s.registry);

		const direct = builtinRegistry().register(template);
		const plain = await runSim(scenario('my-filter'), direct);

		expect(viaSandbox.result.ios).toBe(400);
		expect(viaSandbox.result.ios).toBe(plain.result.ios);
		expect(viaSandbox.result.errors.count).toBe(0);
		expect(viaSandbox.result.verify.mismatches).toBe(0);
		expect(viaSandbox.result.verify.reads).toBe(plain.result.verify.reads);
		const own = (r: Record<string, number | string>) => ({ reads: r.reads, writes: r.writes, other: r.other, bytes: r.bytes, failedBelow: r.failedBelow });
		expect(own(viaSandbox.result.filters['my-filter'])).toEqual(own(plain.result.filters['my-filter']));
		expect(viaSandbox.result.filters['my-filter'].reads).toBeGreaterThan(0);
		// Both logged the attach line.
		expect(viaSandbox.result.log.some((l) => l.message.startsWith('attached to vm-01/disk-0'))).toBe(true);
	});

	it('applies fail verdicts: writes to LBA 0 fail with the filter\'s error, nothing else does', async () => {
		const s = setup();
		const name = await installed(
			s,
			filterSource(
				'no-lba0',
				`	attach: () => ({ refused: 0, seen: 0 }),
	onIo(io, ctx) {
		ctx.state.seen++;
		if (io.op === Op.write && io.lba === 0) {
			ctx.state.refused++;
			return fail('EIO', 'writes to LBA 0 are refused');
		}
		return PASS;
	},
	status: (ctx) => ({ refused: ctx.state.refused, seen: ctx.state.seen }),`
			)
		);
		const { result } = await runSim(scenario(name), s.registry);
		const status = result.filters[name];
		expect(status.seen).toBe(400);
		expect(status.refused).toBeGreaterThan(0);
		expect(result.errors.count).toBe(status.refused);
		for (const e of result.errors.first) expect(e).toMatchObject({ lba: 0, code: 'EIO', message: 'writes to LBA 0 are refused', source: name });
		expect(result.verify.mismatches).toBe(0);
	});

	it('defers with timers, is deterministic, and moves data both ways (an XOR "cipher")', async () => {
		const s = setup();
		const src = filterSource(
			'xor',
			`	attach: () => ({ held: 0, maxHeld: 0 }),
	onIo(io, ctx) {
		if (io.op === Op.write) {
			const c = io.data.slice();
			for (let i = 0; i < c.length; i++) c[i] ^= 0x5a;
			io.data = c;
		}
		const s = ctx.state;
		s.maxHeld = Math.max(s.maxHeld, ++s.held);
		ctx.after(50 + ctx.prng.int(50), () => {
			s.held--;
			ctx.resume(io);
		});
		return DEFER;
	},
	onDone(io, ctx) {
		// A never-written sector reads as zeros (a hole): it stays zeros, as with the encryption filter.
		if (io.op === Op.read && !io.error)
			for (let at = 0; at < io.data.length; at += 512) {
				const sector = io.data.subarray(at, at + 512);
				if (sector.some((b) => b !== 0)) for (let i = 0; i < 512; i++) sector[i] ^= 0x5a;
			}
		return PASS;
	},
	status: (ctx) => ({ held: ctx.state.held, maxHeld: ctx.state.maxHeld }),`,
			'encryption'
		);
		const name = await installed(s, src);
		const a = await runSim(scenario(name), s.registry);
		expect(a.result.errors.count).toBe(0);
		expect(a.result.verify.reads).toBeGreaterThan(50);
		expect(a.result.verify.mismatches).toBe(0);
		expect(a.result.latencyUs.p50).toBeGreaterThanOrEqual(50);
		expect(a.result.filters[name].held).toBe(0);
		expect(a.result.filters[name].maxHeld).toBeGreaterThan(1); // deferring does not stall other I/O
		const s2 = setup();
		await installed(s2, src);
		const b = await runSim(scenario(name), s2.registry);
		expect(b.result.traceDigest).toBe(a.result.traceDigest);
	});

	it('completes reads from its own state (a write-through cache in user code)', async () => {
		const s = setup();
		const name = await installed(
			s,
			filterSource(
				'tiny-cache',
				`	attach: () => ({ blocks: new Map(), hits: 0 }),
	onIo(io, ctx) {
		const key = io.lba + ':' + io.sectors;
		if (io.op === Op.read && ctx.state.blocks.has(key)) {
			ctx.state.hits++;
			return complete(ctx.state.blocks.get(key).slice());
		}
		if (io.op === Op.write) {
			// Any other cached range that overlaps goes stale.
			for (const k of [...ctx.state.blocks.keys()]) {
				const [l, n] = k.split(':').map(Number);
				if (l < io.lba + io.sectors && io.lba < l + n) ctx.state.blocks.delete(k);
			}
			ctx.state.blocks.set(key, io.data.slice());
		}
		return PASS;
	},
	status: (ctx) => ({ hits: ctx.state.hits }),`,
				'cache'
			)
		);
		const { result } = await runSim(scenario(name), s.registry);
		expect(result.filters[name].hits).toBeGreaterThan(10);
		expect(result.verify.mismatches).toBe(0);
		expect(result.errors.count).toBe(0);
	});

	it('a throw fails that I/O with EFILTER and the line in the source; the run goes on', async () => {
		const s = setup();
		const src = filterSource(
			'thrower',
			`	attach: () => ({}),
	onIo(io, ctx) {
		if (io.op === Op.write && io.lba % 16 === 0) {
			throw new Error('boom at ' + io.lba);
		}
		return PASS;
	},`
		);
		const line = src.split('\n').findIndex((l) => l.includes("throw new Error('boom")) + 1;
		const name = await installed(s, src);
		const { result } = await runSim(scenario(name), s.registry);
		expect(result.ios).toBe(400);
		expect(result.errors.count).toBeGreaterThan(0);
		for (const e of result.errors.first) {
			expect(e.code).toBe('EFILTER');
			expect(e.source).toBe(name);
			expect(e.message).toMatch(new RegExp(`^onIo threw \\(line ${line}\\): boom at \\d+$`));
		}
		expect(result.verify.mismatches).toBe(0);
		const report = s.custom.reports().find((r) => r.name === name)!;
		expect(report.stopped).toBeUndefined();
		expect(report.errors).toHaveLength(new Set(result.errors.first.map((e) => e.message)).size <= 1 ? 1 : report.errors.length);
		expect(report.errors[0]).toMatchObject({ hook: 'onIo', line });
		expect(report.errors.reduce((a, e) => a + e.count, 0)).toBe(result.errors.count);
		expect(result.log.some((l) => l.message.includes(`at line ${line}`))).toBe(true);
		expect(result.filters[name].hookErrors).toBe(result.errors.count);
	});

	it('a throw in a timer fails the held I/O it was set for (it does not stay held for ever)', async () => {
		const s = setup();
		const src = filterSource(
			'timer-thrower',
			`	attach: () => ({}),
	onIo(io, ctx) {
		ctx.after(10, () => {
			if (io.op === Op.write) throw new RangeError('late for ' + io.id);
			ctx.resume(io);
		});
		return DEFER;
	},`
		);
		const line = src.split('\n').findIndex((l) => l.includes("throw new RangeError('late for '")) + 1;
		const name = await installed(s, src);
		const { result } = await runSim(scenario(name), s.registry);
		expect(result.ios).toBe(400);
		expect(result.errors.count).toBe(result.ops.write.ios);
		expect(result.errors.first[0]).toMatchObject({ code: 'EFILTER', message: expect.stringMatching(new RegExp(`^timer threw \\(line ${line}\\): RangeError: late for \\d+$`)) });
		expect(result.verify.mismatches).toBe(0);
		const errs = s.custom.reports()[0].errors;
		expect(errs.every((e) => e.hook === 'timer' && e.line === line)).toBe(true);
		expect(errs.length).toBe(Math.min(50, result.ops.write.ios)); // one entry per message, at most 50
	});

	it('a hang is stopped by the watchdog: in-flight and held I/O fail with ETIMEDOUT, later I/O fails, the run ends', async () => {
		const s = setup();
		// The sandbox answers the first 120 requests, then never again (as if stuck in a loop).
		let answered = 0;
		let hung = false;
		const wrap = (p: RuntimePort): RuntimePort => ({
			postMessage(m: Reply) {
				if (answered++ < 120) p.postMessage(m);
				else hung = true;
			},
			set onmessage(fn) {
				p.onmessage = fn;
			},
			get onmessage() {
				return p.onmessage;
			}
		});
		const name = await installed(
			s,
			filterSource(
				'stuck',
				`	attach: () => ({}),
	onIo(io, ctx) {
		ctx.after(20, () => ctx.resume(io));
		return DEFER;
	},`
			),
			wrap
		);
		const run = runSim(scenario(name), s.registry);
		// The wall-clock budget runs out only once the sandbox has stopped answering.
		while (!hung) await new Promise((r) => setTimeout(r, 1));
		await new Promise((r) => setTimeout(r, 5));
		expect(s.timers.fire()).toBe(1);
		const { result } = await run;
		expect(result.ios).toBe(400);
		const codes = new Set(result.errors.first.map((e) => e.code));
		expect(codes.has('ETIMEDOUT')).toBe(true);
		expect(result.errors.count).toBeGreaterThan(0);
		expect(result.errors.count).toBeLessThan(400);
		expect(result.verify.mismatches).toBe(0);
		expect(s.kills).toEqual([{ t: 'kill', reason: expect.stringContaining('watchdog') }]);
		const report = s.custom.reports()[0];
		expect(report.stopped).toMatch(/no reply within 1000 ms/);
		expect(result.filters[name].sandbox).toBe('stopped');
		expect(result.log.some((l) => l.message.startsWith('sandbox stopped'))).toBe(true);
		// A stopped filter refuses a new scenario until it is installed again.
		await expect(runSim(scenario(name), s.registry)).rejects.toThrow(/install it again/);
	});

	it('gives the sandbox the engine\'s PRNG sequence for the seed it hands over', async () => {
		const s = setup();
		let seed = -1;
		const wrap = (p: RuntimePort): RuntimePort => {
			const w: RuntimePort = {
				postMessage: (m) => p.postMessage(m),
				onmessage: null
			};
			p.onmessage = (e) => {
				const req = e.data as Request;
				if (req.t === 'attach') seed = req.info.seed;
				w.onmessage?.(e);
			};
			return w;
		};
		// Every method, in an order that exercises normal's spare (an odd count, then a fork in
		// between) and a fork of a fork; the same calls on the engine's Prng must give the same numbers.
		const draws = (p: Prng) => {
			const a = p.u32();
			const b = p.u32();
			const c = p.int(1000);
			const big = p.int(2 ** 40);
			const d = p.next();
			const e1 = p.exp(250);
			const e2 = p.exp(0.5);
			const n1 = p.normal();
			const n2 = p.normal();
			const n3 = p.normal();
			const f = p.fork(7);
			const n4 = p.normal(); // the spare from n3's pair, after a fork
			const f1 = f.u32();
			const f2 = f.exp(3);
			const f3 = f.normal();
			const g = f.fork(0);
			const g1 = g.normal();
			const g2 = g.int(6);
			const after = p.u32();
			return { a, b, c, big, d, e1, e2, n1, n2, n3, n4, f1, f2, f3, g1, g2, after };
		};
		const name = await installed(
			s,
			filterSource(
				'rng',
				`	attach(ctx) {
		const p = ctx.prng;
		const a = p.u32();
		const b = p.u32();
		const c = p.int(1000);
		const big = p.int(2 ** 40);
		const d = p.next();
		const e1 = p.exp(250);
		const e2 = p.exp(0.5);
		const n1 = p.normal();
		const n2 = p.normal();
		const n3 = p.normal();
		const f = p.fork(7);
		const n4 = p.normal();
		const f1 = f.u32();
		const f2 = f.exp(3);
		const f3 = f.normal();
		const g = f.fork(0);
		const g1 = g.normal();
		const g2 = g.int(6);
		const after = p.u32();
		const methods = Object.keys(p).sort().join(',');
		const frozen = Object.isFrozen(p) && Object.isFrozen(f) ? 'yes' : 'no';
		return { a, b, c, big, d, e1, e2, n1, n2, n3, n4, f1, f2, f3, g1, g2, after, methods, frozen };
	},
	onIo: () => PASS,
	status: (ctx) => ({ ...ctx.state }),`
			),
			wrap
		);
		const { result } = await runSim(scenario(name), s.registry);
		const want = draws(new Prng(seed));
		expect(result.filters[name]).toMatchObject(want);
		// The view has the methods only, not the generator's state.
		expect(result.filters[name]).toMatchObject({ methods: 'exp,fork,int,next,normal,u32', frozen: 'yes' });
		// Not vacuous: another seed gives other numbers.
		expect(draws(new Prng(seed + 1))).not.toEqual(want);
	});

	// A write counter kept in the sidecar as a float64 (what an author would write).
	const COUNTER = filterSource(
		'counter',
		`	attach(ctx) {
		const saved = ctx.sidecar.get('writes');
		const restored = saved ? new Float64Array(saved.buffer)[0] : 0;
		if (saved) saved[0] ^= 0xff; // a copy: changing it changes nothing stored
		return { restored, writes: restored, keys: ctx.sidecar.keys().length };
	},
	onIo(io, ctx) {
		if (io.op === Op.write) {
			ctx.state.writes++;
			ctx.sidecar.set('writes', new Uint8Array(new Float64Array([ctx.state.writes]).buffer));
		}
		if (ctx.state.writes === 1) ctx.sidecar.set('scratch', new Uint8Array(3));
		if (ctx.state.writes === 2) ctx.sidecar.delete('scratch');
		return PASS;
	},
	status: (ctx) => ({ restored: ctx.state.restored, writes: ctx.state.writes, keys: ctx.state.keys }),`
	);

	it('keeps state in the disk\'s sidecar: a second run on the same stores starts where the first ended', async () => {
		const s = setup();
		const name = await installed(s, COUNTER);
		const stores = new MemoryStoreFactory();
		const once = async () => {
			const sim = await Simulation.create(scenario(name), { registry: s.registry, stores });
			await sim.run();
			return runResult(sim);
		};
		const first = await once();
		const written = first.ops.write.ios;
		expect(written).toBeGreaterThan(0);
		expect(first.filters[name]).toMatchObject({ restored: 0, writes: written, keys: 0 });
		// What the store holds: the last count, and no trace of the deleted key.
		const sidecar = stores.openSidecar(`sidecar.vm-01/disk-0.inspection.${name}`);
		expect(sidecar.keys()).toEqual(['writes']);
		expect(new Float64Array(sidecar.get('writes')!.slice().buffer)[0]).toBe(written);

		const second = await once();
		expect(second.filters[name]).toMatchObject({ restored: written, writes: written + second.ops.write.ios, keys: 1 });
		expect(new Float64Array(sidecar.get('writes')!.slice().buffer)[0]).toBe(written + second.ops.write.ios);
	});

	it('mirrors writes to its own SSD with deviceIo: the write completes once the mirror has it, the bytes match', async () => {
		const s = setup();
		const name = await installed(
			s,
			filterSource(
				'mirror',
				`	devices: { mirror: { kind: 'nvme' } },
	attach: (ctx) => ({ ssd: ctx.device('mirror'), mirrored: 0, waitedUs: 0 }),
	onIo(io, ctx) {
		if (io.op !== Op.write) return PASS;
		const s = ctx.state;
		const start = ctx.now;
		deviceIo(ctx, s.ssd, Op.write, io.lba, io.sectors, io.data, (_data, err) => {
			if (err) return ctx.fail(io, 'EIO', 'mirror: ' + err.message);
			s.mirrored++;
			s.waitedUs += ctx.now - start;
			ctx.resume(io);
		});
		return DEFER;
	},
	status: (ctx) => ({ mirrored: ctx.state.mirrored, waitedUs: ctx.state.waitedUs, kind: ctx.state.ssd.kind }),`
			).replace("import { PASS, DEFER,", "import { deviceIo, PASS, DEFER,")
		);
		const stores = new MemoryStoreFactory();
		const sim = await Simulation.create(scenario(name), { registry: s.registry, stores });
		await sim.run();
		const result = runResult(sim);
		const status = result.filters[name];
		expect(result.errors.count).toBe(0);
		expect(result.verify.mismatches).toBe(0);
		expect(status.mirrored).toBe(result.ops.write.ios);
		expect(status.kind).toBe('storage');
		// Each write waited for the NVMe model's write time (tens of µs), in virtual time.
		expect(Number(status.waitedUs) / Number(status.mirrored)).toBeGreaterThan(5);
		const disk = stores.openBlockStore('disk.vm-01/disk-0', 0);
		const mirror = stores.openBlockStore(`dev.vm-01/disk-0.${name}.mirror`, 0);
		expect(mirror.blocks.size).toBe(disk.blocks.size);
		expect(disk.blocks.size).toBeGreaterThan(0);
		for (const [b, bytes] of disk.blocks) expect(mirror.blocks.get(b)).toEqual(bytes);
	});

	it('sends over its own WAN link with linkSend: a sync-replication sketch, each write waits for its ack', async () => {
		const s = setup();
		const name = await installed(
			s,
			filterSource(
				'sync-sketch',
				`	devices: { wan: { kind: 'wan', rttUs: 2000, mbitPerSec: 1000 } },
	attach: (ctx) => ({ wan: ctx.device('wan'), acked: 0, lost: 0 }),
	onIo(io, ctx) {
		if (io.op !== Op.write) return PASS;
		const s = ctx.state;
		linkSend(ctx, s.wan, io.sectors * 512 + 64, (err) => {
			if (err) {
				s.lost++;
				return ctx.fail(io, 'EIO', err.message);
			}
			// The ack comes back half a round trip after the data arrived.
			ctx.after(s.wan.rttUs / 2, () => {
				s.acked++;
				ctx.resume(io);
			});
		});
		return DEFER;
	},
	status: (ctx) => ({ acked: ctx.state.acked, lost: ctx.state.lost, rttUs: ctx.state.wan.rttUs, kind: ctx.state.wan.kind }),`,
				'replication'
			).replace("import { PASS, DEFER,", "import { linkSend, PASS, DEFER,")
		);
		const { result, sim } = await runSim(scenario(name), s.registry);
		expect(result.errors.count).toBe(0);
		expect(result.verify.mismatches).toBe(0);
		expect(result.filters[name]).toMatchObject({ acked: result.ops.write.ios, lost: 0, rttUs: 2000, kind: 'link' });
		// Every write waited at least the round trip (and its 4 KiB at 1 Gbit/s).
		expect(Math.min(...sim.disk().guest.metrics.ops[Op.write].latency.values())).toBeGreaterThanOrEqual(2000 + (4096 + 64) / 125 - 1e-6);
		expect(result.ops.read.latencyUs.max).toBeLessThan(2000);
	});

	it('issues its own I/O below with submitBelow: a write, then a read of it, from a timer', async () => {
		const s = setup();
		const name = await installed(
			s,
			filterSource(
				'scrubber',
				`	attach(ctx) {
		const s = { wrote: '', read: '', same: false, origin: '' };
		const pattern = new Uint8Array(4096).map((_, i) => (i * 7) & 255);
		ctx.after(10, () =>
			ctx.submitBelow(Op.write, 4096, 8, pattern, (w) => {
				s.wrote = w.error ? w.error.code : 'ok';
				ctx.submitBelow(Op.read, 4096, 8, undefined, (r) => {
					s.read = r.error ? r.error.code : 'ok';
					s.origin = r.origin;
					s.same = !!r.data && r.data.every((x, i) => x === pattern[i]);
				});
			})
		);
		ctx.after(20, () => ctx.submitBelow(Op.read, 2 ** 40, 8, undefined, (r) => (s.beyond = r.error ? r.error.code + ': ' + r.error.message : 'ok')));
		return s;
	},
	onIo: () => PASS,
	status: (ctx) => ({ wrote: ctx.state.wrote, read: ctx.state.read, same: String(ctx.state.same), origin: ctx.state.origin, beyond: ctx.state.beyond ?? '' }),`
			)
		);
		// On an NVMe datastore: the run lasts long enough (virtual time) for the filter's timers.
		const { result } = await runSim(oneDisk({ filters: [{ type: name }], workload, datastore: { kind: 'nvme' } }), s.registry);
		expect(result.filters[name]).toMatchObject({ wrote: 'ok', read: 'ok', same: 'true', origin: 'filter' });
		expect(result.filters[name].beyond).toMatch(/^EINVAL: .*beyond the end/);
	});

	it('refuses devices that are not device specs, and a device the filter did not declare', async () => {
		const s = setup();
		const bad = await install(s, filterSource('bad-dev', `	devices: { ssd: { kind: 'floppy' } },\n\tattach: () => ({}),\n\tonIo: () => PASS,`));
		expect(bad.ok).toBe(false);
		if (!bad.ok) expect(bad.problem.message).toMatch(/devices\.ssd\.kind: /);
		const name = await installed(s, filterSource('no-dev', `	attach: (ctx) => ({ dev: ctx.device('ssd') }),\n\tonIo: () => PASS,`));
		await expect(runSim(scenario(name), s.registry)).rejects.toThrow(/ctx\.device\("ssd"\): the filter has no such device/);
	});

	it('refuses a sidecar value that is not bytes, and an oversized one, with the line in the filter', async () => {
		const s = setup();
		const name = await installed(
			s,
			filterSource(
				'bad-sidecar',
				`	attach: () => ({}),
	onIo(io, ctx) {
		if (io.op === Op.write && io.lba % 16 === 0) ctx.sidecar.set('note', 'text');
		if (io.op === Op.write && io.lba % 16 === 8) ctx.sidecar.set('big', new Uint8Array(17 * 1024 * 1024));
		return PASS;
	},`
			)
		);
		const { result } = await runSim(scenario(name), s.registry);
		const errors = s.custom.reports()[0].errors;
		expect(errors).toContainEqual(expect.objectContaining({ hook: 'onIo', line: 13, message: expect.stringContaining('value must be a Uint8Array') }));
		expect(errors).toContainEqual(expect.objectContaining({ hook: 'onIo', line: 14, message: expect.stringMatching(/more than the 16777216 a custom filter may keep/) }));
		expect(result.errors.first.every((e) => e.code === 'EFILTER')).toBe(true);
		expect(result.verify.mismatches).toBe(0);
	});
});

describe('installing a custom filter', () => {
	it('reports a syntax error at its line', async () => {
		const r = await install(setup(), 'export default {\n  name: "x",\n  onIo(io: ) {}\n};\n');
		expect(r.ok).toBe(false);
		if (!r.ok) expect(r.problem).toMatchObject({ kind: 'syntax', line: 3 });
	});

	it('reports the registry\'s problem at the field it names', async () => {
		const src = filterSource('bad-class', '	attach: () => ({}),\n	onIo: () => PASS,', 'storage');
		const r = await install(setup(), src);
		expect(r.ok).toBe(false);
		if (!r.ok) {
			expect(r.problem.kind).toBe('contract');
			expect(r.problem.message).toMatch(/^filter "bad-class": class "storage" is not one of inspection/);
			expect(r.problem.line).toBe(src.split('\n').findIndex((l) => l.includes("class: 'storage'")) + 1);
		}
		const noOnIo = await install(setup(), filterSource('no-onio', '	attach: () => ({}),'));
		expect(!noOnIo.ok && noOnIo.problem.message).toBe('filter "no-onio": required hook "onIo" is missing');
	});

	it('refuses a built-in\'s name, a name other than the link\'s, and a module without a default export', async () => {
		const delay = await install(setup(), filterSource('delay', '	attach: () => ({}),\n	onIo: () => PASS,'));
		expect(!delay.ok && delay.problem).toMatchObject({ kind: 'name', message: expect.stringContaining('built-in') });
		const other = await install(setup(), filterSource('mine', '	attach: () => ({}),\n	onIo: () => PASS,'), undefined, 'theirs');
		expect(!other.ok && other.problem.message).toBe('the source defines filter "mine", not "theirs"');
		const none = await install(setup(), 'export const x = 1;\n');
		expect(!none.ok && none.problem.message).toMatch(/no default export/);
	});

	it('reports a module that throws while loading, at its line', async () => {
		const r = await install(setup(), 'const a = 1;\nthrow new Error("top-level");\nexport default {};\n');
		expect(!r.ok && r.problem).toMatchObject({ kind: 'load', line: 2, message: expect.stringContaining('top-level') });
	});

	it('a reinstall replaces the filter and stops the old sandbox', async () => {
		const s = setup();
		await installed(s, TEMPLATE_SOURCE);
		await installed(s, TEMPLATE_SOURCE.replace("version: '0.1.0'", "version: '0.2.0'"));
		expect(s.registry.get('my-filter')!.version).toBe('0.2.0');
		expect(s.kills).toEqual([{ t: 'kill', reason: 'replaced by a new version of "my-filter"' }]);
	});

	it('checks described modules with the registry\'s rules', () => {
		expect(describeProblem({ type: 'function', fields: {}, hooks: {} })).toMatch(/not a filter object/);
		const ok = { type: 'object', fields: { contract: 1, name: 'a', vendor: 'v', version: '1', class: 'cache', description: 'd', params: [] }, hooks: { attach: 'function', onIo: 'function', onDone: 'undefined' } };
		expect(describeProblem(ok)).toBeUndefined();
		expect(describeProblem({ ...ok, hooks: { ...ok.hooks, onDone: 'string' } })).toBe('hook "onDone" must be a function');
		expect(describeProblem({ ...ok, fields: { ...ok.fields, devices: '<not plain data>' } })).toMatch(/"devices" must be an object/);
		expect(describeProblem({ ...ok, fields: { ...ok.fields, devices: { ssd: { kind: 'nvme', params: { readUs: 'fast' } } } } })).toMatch(/^devices\.ssd\.params\.readUs: /);
		expect(describeProblem({ ...ok, fields: { ...ok.fields, devices: { ssd: { kind: 'nvme' }, wan: { kind: 'wan', rttUs: 500 } } } })).toBeUndefined();
	});
});

describe('the watchdog (a fake sandbox port)', () => {
	/** A port whose replies the test writes. */
	function fakePort() {
		const sent: Request[] = [];
		const port: PortLike & { reply(r: Reply): void } = {
			onmessage: null,
			postMessage: (m) => sent.push(m as Request),
			reply(r) {
				this.onmessage?.({ data: r } as MessageEvent);
			}
		};
		return { port, sent };
	}

	it('is armed while a request is outstanding, re-armed by each reply, and rejects all on expiry', async () => {
		const timers = new ManualTimers();
		const { port, sent } = fakePort();
		const kills: unknown[] = [];
		const conn = new SandboxConnection(port, { timers, budgetMs: 1000, control: { postMessage: (m) => kills.push(m), onmessage: null } });
		expect(timers.armed.size).toBe(0);
		const a = conn.request({ t: 'detach', iid: 1, now: 0 });
		const b = conn.request({ t: 'detach', iid: 2, now: 0 });
		expect(timers.armed.size).toBe(1);
		port.reply({ seq: sent[0].seq, effects: [] });
		await expect(a).resolves.toMatchObject({ seq: 1 });
		expect(timers.armed.size).toBe(1); // b still waits
		timers.fire();
		await expect(b).rejects.toThrow('no reply within 1000 ms');
		expect(kills).toEqual([{ t: 'kill', reason: expect.stringContaining('watchdog') }]);
		await expect(conn.request({ t: 'detach', iid: 3, now: 0 })).rejects.toThrow(/no reply/);
		port.reply({ seq: 2, effects: [] }); // too late: ignored
	});

	it('is disarmed when nothing is outstanding', async () => {
		const timers = new ManualTimers();
		const { port, sent } = fakePort();
		const conn = new SandboxConnection(port, { timers });
		const a = conn.request({ t: 'detach', iid: 1, now: 0 });
		port.reply({ seq: sent[0].seq, effects: [] });
		await a;
		expect(timers.armed.size).toBe(0);
		expect(conn.stopped).toBeUndefined();
	});
});

describe('the sandbox runtime', () => {
	it('is self-contained: its source runs in an empty context', () => {
		const scope: Record<string, unknown> = { structuredClone };
		// Only the parameters and the (fake) global scope are reachable.
		runInNewContext(`(${sandboxRuntime.toString()})(scope, { importModule: () => Promise.reject(new Error('no')), Prng: class {} })`, { scope });
		expect(typeof scope.onmessage).toBe('function');
	});

	it("is shipped whole: the Worker's program, the engine's PRNG bundled in, runs in an empty context", () => {
		const self: Record<string, unknown> = { structuredClone };
		runInNewContext(runtimeSource(), { self });
		expect(typeof self.onmessage).toBe('function');
		// The bundle's top-level name stays inside its function: nothing new in the global scope.
		expect(Object.keys(self).sort()).toEqual(['onmessage', 'structuredClone']);
	});

	it("ships the engine's PRNG: the bundled class gives the engine's numbers, exp, normal and fork included", () => {
		const Bundled = runInNewContext(prngClassSource(), {}) as typeof Prng;
		expect(Bundled).not.toBe(Prng);
		for (const seed of [0, 1, 42, 0xffffffff, 123456789]) {
			const a = new Prng(seed);
			const b = new Bundled(seed);
			const seq = (p: Prng): number[] => {
				const out: number[] = [];
				for (let i = 0; i < 200; i++) {
					out.push(p.u32(), p.next(), p.int(10 + i), p.int(2 ** 45), p.exp(1 + i), p.normal());
					if (i % 7 === 0) out.push(p.normal()); // odd counts: the spare carries over
					if (i % 50 === 0) {
						const f = p.fork(i);
						out.push(f.u32(), f.normal(), f.exp(2), f.fork(3).next());
					}
				}
				return out;
			};
			const want = seq(a);
			expect(seq(b)).toEqual(want);
			expect(want.every(Number.isFinite)).toBe(true);
		}
	});

	it('hardens the scope before any user code: network, storage, clocks, randomness', () => {
		const fakeMath = { random: () => 0.5 };
		const fakeDate = { now: () => 1 };
		const scope: Record<string, unknown> = {
			fetch: () => 'fetched',
			XMLHttpRequest: class {},
			WebSocket: class {},
			EventSource: class {},
			importScripts: () => undefined,
			indexedDB: { open: () => 'db' },
			caches: {},
			navigator: { storage: {} },
			setTimeout: () => 0,
			Worker: class {},
			Math: fakeMath,
			Date: fakeDate,
			performance: { now: () => 1 }
		};
		sandboxRuntime(scope, { importModule: () => Promise.reject(new Error('no')), Prng });
		for (const name of ['fetch', 'XMLHttpRequest', 'WebSocket', 'EventSource', 'importScripts', 'indexedDB', 'caches', 'navigator', 'setTimeout', 'Worker', 'performance'])
			expect(() => scope[name], name).toThrow(new RegExp(`^${name} is not available in a custom filter`));
		expect(() => fakeMath.random()).toThrow(/use ctx.prng/);
		expect(() => fakeDate.now()).toThrow(/use ctx.now/);
	});
});
