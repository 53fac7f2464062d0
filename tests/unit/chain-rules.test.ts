/**
 * DESIGN.md §1, rule by rule, on one disk's chain driven by hand on the virtual clock. Each test
 * fails if its rule breaks: the hook-call log, the trace's verdicts and the device's counters are
 * what the rules are about.
 */
import { describe, expect, it } from 'vitest';
import { DEFER, FILTER_CLASSES, PASS, complete, fail, type FilterClass } from '../../src/lib/engine/filter';
import { Op, type Io } from '../../src/lib/engine/io';
import { ChainDriver, read, testFilter, write, type DriverOptions } from './driver';
import { oneDisk, runSim } from './scenarios';

const NULL_100: DriverOptions = { device: { kind: 'null', params: { latencyUs: 100 } } };
const up = () => PASS;
const lower = (c: FilterClass) => c.toLowerCase();

describe('class order', () => {
	it('filters run in class order on the way down, whatever order the policy lists them in', async () => {
		const given = [4, 0, 6, 2, 5, 1, 3].map((k) => FILTER_CLASSES[k]);
		const t = await ChainDriver.create(given.map((c) => testFilter(lower(c), c, { onDone: up })));
		expect(t.order).toEqual(FILTER_CLASSES.map(lower));
		// attach hooks run in chain order too
		expect(t.calls.filter((c) => c.hook === 'attach').map((c) => c.filter)).toEqual(FILTER_CLASSES.map(lower));
		t.submit(write(0, 8)).run();
		t.expectCalls([
			...FILTER_CLASSES.map((c) => `${lower(c)}.onIo#1`),
			...[...FILTER_CLASSES].reverse().map((c) => `${lower(c)}.onDone#1`)
		]);
	});

	it('the order is inspection, compression, encryption, replication, cache, dataProvider, datastoreIoControl', () => {
		expect([...FILTER_CLASSES]).toEqual([
			'inspection',
			'compression',
			'encryption',
			'replication',
			'cache',
			'dataProvider',
			'datastoreIoControl'
		]);
	});

	it('allowCleartextFilters moves encryption below the others, so replication and cache see cleartext', async () => {
		const defs = (['encryption', 'cache', 'inspection', 'replication'] as const).map((c) => testFilter(c, c));
		expect((await ChainDriver.create(defs)).order).toEqual(['inspection', 'encryption', 'replication', 'cache']);
		const t = await ChainDriver.create(defs, { allowCleartextFilters: true });
		expect(t.order).toEqual(['inspection', 'replication', 'cache', 'encryption']);
		t.submit(write(0, 8)).run().expectCalls(['inspection.onIo#1', 'replication.onIo#1', 'cache.onIo#1', 'encryption.onIo#1']);
	});

	it('a class-configurable filter takes the class its attachment gives it', async () => {
		const t = await ChainDriver.create([
			testFilter('c', 'cache'),
			{ def: { ...testFilter('p', 'inspection'), classConfigurable: true }, class: 'datastoreIoControl' },
			testFilter('i', 'inspection')
		]);
		expect(t.order).toEqual(['i', 'c', 'p']);
	});
});

describe('one filter per class per disk', () => {
	it('two filters of one class are refused, naming both and the class', async () => {
		await expect(ChainDriver.create([testFilter('c1', 'cache'), testFilter('c2', 'cache')])).rejects.toThrow(
			'filters "c1" and "c2" are both of class cache: a disk takes one filter per class'
		);
	});

	it('placing a configurable filter into a class already taken is refused too', async () => {
		const p = { ...testFilter('p', 'inspection'), classConfigurable: true };
		await expect(ChainDriver.create([testFilter('enc', 'encryption'), { def: p, class: 'encryption' }])).rejects.toThrow(
			'are both of class encryption'
		);
		// ...while the same filter in a free class is fine
		await expect(ChainDriver.create([testFilter('enc', 'encryption'), { def: p, class: 'cache' }])).resolves.toBeDefined();
	});
});

describe('verdicts', () => {
	it('pass: the I/O goes on to the next filter and the device; the bytes land in the store', async () => {
		const t = await ChainDriver.create([testFilter('a', 'inspection'), testFilter('b', 'cache')], NULL_100);
		t.submit(write(8, 8, 0xab))
			.advance(0)
			.expectCalls(['a.onIo#1@0', 'b.onIo#1@0'])
			.expectVerdict(1, 'a', 'pass')
			.expectVerdict(1, 'b', 'pass')
			.expectReachedDevice(1, true)
			.expectPending(1)
			.advance(100)
			.expectDone(1, { at: 100, error: null, by: 'device' });
		expect(t.store.blocks.get(1)).toEqual(new Uint8Array(4096).fill(0xab));
		t.submit(read(8, 8)).run().expectDone(2, { at: 200, error: null, by: 'device' });
		expect(t.completions.get(2)!.data).toEqual(new Uint8Array(4096).fill(0xab));
		expect(t.device.stats().requests).toBe(2);
	});

	it('complete: the filter ends the I/O; later filters and the device never see it; earlier ones are told', async () => {
		const cached = new Uint8Array(4096).fill(7);
		const t = await ChainDriver.create(
			[
				testFilter('a', 'inspection', { onDone: up }),
				testFilter('b', 'cache', { onIo: (io) => (io.op === Op.read ? complete(cached) : complete()), onDone: up }),
				testFilter('c', 'dataProvider', { onDone: up })
			],
			NULL_100
		);
		t
			.submit(read(0, 8))
			.advance(0)
			.expectCalls(['a.onIo#1', 'b.onIo#1', 'a.onDone#1'])
			.expectVerdict(1, 'b', 'complete')
			.expectVerdict(1, 'c', 'none')
			.expectVerdict(1, 'a', 'pass', 'up')
			.expectDone(1, { at: 0, error: null, by: 'b' })
			.expectReachedDevice(1, false);
		expect(t.completions.get(1)!.data).toEqual(cached);

		t.submit(write(0, 8)).run().expectCalls(['a.onIo#2', 'b.onIo#2', 'a.onDone#2']).expectDone(2, { error: null, by: 'b' });
		expect(t.device.stats().requests).toBe(0);
		expect(t.store.blocks.size).toBe(0);
		expect(t.instance('b').counters.complete).toBe(2);
	});

	it('complete on a read must supply the data: a read completed without it fails with EFILTER from that filter', async () => {
		const t = await ChainDriver.create([
			testFilter('b', 'cache', { onIo: (io) => (io.lba === 0 ? complete() : complete(new Uint8Array(512))) })
		]);
		t.submit(read(0, 8)).submit(read(8, 8)).run();
		t.expectDone(1, { error: 'EFILTER', source: 'b' }).expectDone(2, { error: 'EFILTER', source: 'b' });
		expect(t.completions.get(1)!.error!.message).toContain('with no bytes of data');
		expect(t.completions.get(2)!.error!.message).toContain('with 512 bytes of data');
	});

	it('fail: the guest gets the error, with the failing filter as its source', async () => {
		const t = await ChainDriver.create([testFilter('b', 'cache', { onIo: () => fail('ENOSPC', 'cache full') })]);
		t.submit(write(0, 8)).run().expectDone(1, { error: 'ENOSPC', source: 'b', by: 'b' }).expectVerdict(1, 'b', 'fail');
		expect(t.row(1)!.status).toBe('ENOSPC');
		expect(t.completions.get(1)!.error!.message).toBe('cache full');
	});

	it('defer: the I/O is held (no later filter, no device) until the filter resumes it', async () => {
		const t = await ChainDriver.create(
			[
				testFilter('a', 'inspection'),
				testFilter('b', 'replication', {
					onIo(io, ctx) {
						ctx.after(200, () => ctx.resume(io));
						return DEFER;
					}
				}),
				testFilter('c', 'cache')
			],
			NULL_100
		);
		t
			.submit(write(0, 8))
			.advance(0)
			.expectCalls(['a.onIo#1', 'b.onIo#1'])
			.expectVerdict(1, 'b', 'defer')
			.expectReachedDevice(1, false)
			.advance(199)
			.expectNoCalls()
			.expectPending(1)
			.advance(1)
			.expectCalls(['c.onIo#1@200'])
			.expectReachedDevice(1, true)
			.advance(100)
			.expectDone(1, { at: 300, error: null, by: 'device' });
		expect(t.row(1)!.deferredUs).toBe(200);
		expect(t.instance('b').counters).toMatchObject({ defer: 1, deferredUs: 200 });
	});

	it('defer: an I/O the filter never releases goes nowhere', async () => {
		const t = await ChainDriver.create([testFilter('b', 'replication', { onIo: () => DEFER }), testFilter('c', 'cache')]);
		t.submit(write(0, 8)).run().expectCalls(['b.onIo#1']).expectPending(1).expectInFlight(1);
		expect(t.device.stats().requests).toBe(0);
	});

	it('defer, then complete: the held I/O ends at that filter with the data it gives', async () => {
		const data = new Uint8Array(4096).fill(3);
		const t = await ChainDriver.create(
			[
				testFilter('a', 'inspection', { onDone: up }),
				testFilter('b', 'cache', {
					onIo(io, ctx) {
						ctx.after(50, () => ctx.complete(io, data));
						return DEFER;
					}
				}),
				testFilter('c', 'dataProvider')
			],
			NULL_100
		);
		t.submit(read(0, 8)).run().expectCalls(['a.onIo#1', 'b.onIo#1', 'a.onDone#1@50']);
		t.expectDone(1, { at: 50, error: null, by: 'b' }).expectReachedDevice(1, false).expectVerdict(1, 'b', 'defer');
		expect(t.completions.get(1)!.data).toEqual(data);
	});

	it('a filter cannot resume an I/O it does not hold: the call is ignored and counted', async () => {
		let seen: Io | undefined;
		const t = await ChainDriver.create(
			[
				testFilter('a', 'inspection', {
					onIo(io, ctx) {
						seen = io;
						ctx.after(10, () => ctx.resume(io)); // it passed the I/O: it does not hold it
						return PASS;
					}
				})
			],
			NULL_100
		);
		t.submit(write(0, 8)).run().expectDone(1, { at: 100, error: null });
		expect(seen?.id).toBe(1);
		expect(t.instance('a').counters.errors).toBe(1);
		expect(t.log.map((l) => l.message)).toContain('resume(I/O #1) ignored: the filter does not hold that I/O');
		expect(t.device.stats().requests).toBe(1);
	});

	it('a hook that throws or returns no verdict fails that I/O with EFILTER; the chain lives on', async () => {
		const t = await ChainDriver.create([
			testFilter('a', 'inspection', {
				onIo(io) {
					if (io.id === 1) throw new Error('boom');
					if (io.id === 2) return undefined as never;
					return PASS;
				}
			})
		]);
		t.submit(write(0, 8)).submit(write(8, 8)).submit(write(16, 8)).run();
		t.expectDone(1, { error: 'EFILTER', source: 'a' }).expectDone(2, { error: 'EFILTER', source: 'a' }).expectDone(3, { error: null });
		expect(t.completions.get(1)!.error!.message).toBe('onIo threw: boom');
		expect(t.completions.get(2)!.error!.message).toBe('onIo returned no verdict');
		expect(t.device.stats().requests).toBe(1);
	});
});

describe('defer lets other I/Os pass', () => {
	it('while I/O #1 is held by a deferring filter, I/O #2 passes the same filter and completes first', async () => {
		const t = await ChainDriver.create(
			[
				testFilter('a', 'inspection'),
				testFilter('b', 'replication', {
					onIo(io, ctx) {
						if (io.id !== 1) return PASS;
						ctx.after(1000, () => ctx.resume(io));
						return DEFER;
					}
				}),
				testFilter('c', 'cache')
			],
			NULL_100
		);
		t
			.submit(write(0, 8))
			.submit(write(64, 8))
			.advance(0)
			.expectCalls(['a.onIo#1', 'b.onIo#1', 'a.onIo#2', 'b.onIo#2', 'c.onIo#2'])
			.advance(100)
			.expectDone(2, { at: 100, by: 'device' })
			.expectPending(1)
			.advance(1000)
			.expectCalls(['c.onIo#1@1000'])
			.expectDone(1, { at: 1100, by: 'device' })
			.expectCompletionOrder([2, 1]);
	});

	it('many deferred I/Os are held at once, and all move on when their time comes', async () => {
		const t = await ChainDriver.create(
			[
				testFilter('b', 'replication', {
					onIo(io, ctx) {
						ctx.after(1000, () => ctx.resume(io));
						return DEFER;
					}
				}),
				testFilter('c', 'cache')
			],
			NULL_100
		);
		for (let i = 0; i < 32; i++) t.submit(write(i * 8, 8));
		t.advance(999);
		expect(t.callsOf('b', 'onIo')).toHaveLength(32);
		expect(t.callsOf('c')).toHaveLength(0);
		t.advance(101);
		expect([...t.completions.values()].map((c) => c.at)).toEqual(Array(32).fill(1100));
	});
});

describe('a blocking call stalls the disk; defer does not', () => {
	const blocker = (us: number) =>
		testFilter('blk', 'inspection', {
			onIo(_io, ctx) {
				ctx.charge(us);
				return PASS;
			}
		});

	it('while one I/O is in a blocking hook, an I/O submitted at the same time enters no hook until it ends', async () => {
		const t = await ChainDriver.create([blocker(100), testFilter('c', 'cache')]);
		t
			.submit(write(0, 8))
			.submit(write(64, 8))
			.advance(0)
			.expectCalls(['blk.onIo#1@0'])
			.advance(99)
			.expectNoCalls()
			.expectPending(1)
			.advance(1)
			.expectCalls(['c.onIo#1@100', 'blk.onIo#2@100'])
			.advance(100)
			.expectCalls(['c.onIo#2@200'])
			.expectDone(1, { at: 100 })
			.expectDone(2, { at: 200 });
		expect(t.instance('blk').counters.chargedUs).toBe(200);
	});

	it('the stall holds completions on their way up too', async () => {
		const t = await ChainDriver.create([blocker(100), testFilter('c', 'cache', { onDone: up })], { device: { kind: 'null', params: { latencyUs: 10 } } });
		// #1 reaches the device at 100 and is back at 110, while #2's blocking hook holds the path until 200
		t.submit(write(0, 8)).submit(write(64, 8)).run();
		t.expectCalls(['blk.onIo#1@0', 'c.onIo#1@100', 'blk.onIo#2@100', 'c.onIo#2@200', 'c.onDone#1@200', 'c.onDone#2@210']);
		t.expectDone(1, { at: 200 }).expectDone(2, { at: 210 });
	});

	it('a blocking onDone stalls the other completions', async () => {
		const t = await ChainDriver.create(
			[
				testFilter('a', 'inspection', {
					onDone(_io, ctx) {
						ctx.charge(50);
						return PASS;
					}
				})
			],
			NULL_100
		);
		t.submit(write(0, 8)).submit(write(64, 8)).run().expectDone(1, { at: 150 }).expectDone(2, { at: 200 });
	});

	it('the same wait deferred lets both I/Os through at once', async () => {
		const t = await ChainDriver.create([
			testFilter('dfr', 'inspection', {
				onIo(io, ctx) {
					ctx.after(100, () => ctx.resume(io));
					return DEFER;
				}
			}),
			testFilter('c', 'cache')
		]);
		t.submit(write(0, 8)).submit(write(64, 8)).advance(0).expectCalls(['dfr.onIo#1@0', 'dfr.onIo#2@0']);
		t.advance(100).expectDone(1, { at: 100 }).expectDone(2, { at: 100 });
	});

	it('delay filter at QD 32: blocking gives ≈ 1e6/delayUs IOPS, deferring ≈ 32× that', async () => {
		const scenario = (blocking: boolean) =>
			oneDisk({
				filters: [{ type: 'delay', params: { readUs: 100, writeUs: 100, blocking } }],
				workload: [{ rw: 'randwrite', bs: '4k', iodepth: 32, ios: 3000 }]
			});
		const blocking = (await runSim(scenario(true))).result;
		const deferring = (await runSim(scenario(false))).result;
		expect(blocking.ios).toBe(3000);
		expect(deferring.ios).toBe(3000);
		expect(blocking.iops / 1e4).toBeGreaterThan(0.97);
		expect(blocking.iops / 1e4).toBeLessThan(1.03);
		expect(deferring.iops / blocking.iops).toBeGreaterThan(32 * 0.95);
		expect(deferring.iops / blocking.iops).toBeLessThan(32 * 1.03);
		expect(blocking.filters.delay).toMatchObject({ chargedUs: 300_000, verdictDefer: 0 });
		expect(deferring.filters.delay).toMatchObject({ chargedUs: 0, verdictDefer: 3000, maxHeld: 32 });
	});
});

describe('failure is told only to the filters before the one that failed', () => {
	const chain = (b: Parameters<typeof testFilter>[2]) =>
		ChainDriver.create(
			[
				testFilter('a', 'inspection', { onDone: up }),
				testFilter('b', 'encryption', { onDone: up, ...b }),
				testFilter('c', 'cache', { onDone: up })
			],
			NULL_100
		);

	it('B fails on the way down: A.onDone sees the error; B.onDone, C and the device never see the I/O', async () => {
		const t = await chain({ onIo: () => fail('EIO', 'no key') });
		t
			.submit(write(0, 8))
			.run()
			.expectCalls(['a.onIo#1', 'b.onIo#1', 'a.onDone#1!EIO'])
			.expectDone(1, { at: 0, error: 'EIO', source: 'b', by: 'b' })
			.expectReachedDevice(1, false)
			.expectVerdict(1, 'b', 'fail')
			.expectVerdict(1, 'c', 'none');
		expect(t.callsOf('c')).toEqual([]);
		expect(t.callsOf('b', 'onDone')).toEqual([]);
		expect(t.device.stats().requests).toBe(0);
		expect(t.row(1)!.deviceStart).not.toBeGreaterThanOrEqual(0); // no device time in the trace
		expect(t.store.blocks.size).toBe(0);
	});

	it('B fails a deferred I/O later: the same, at the time it fails it', async () => {
		const t = await chain({
			onIo(io, ctx) {
				ctx.after(70, () => ctx.fail(io, 'ETIMEDOUT', 'key server timeout'));
				return DEFER;
			}
		});
		t.submit(write(0, 8)).run().expectCalls(['a.onIo#1', 'b.onIo#1', 'a.onDone#1!ETIMEDOUT@70']);
		t.expectDone(1, { at: 70, error: 'ETIMEDOUT', source: 'b', by: 'b' }).expectReachedDevice(1, false);
		expect(t.callsOf('c')).toEqual([]);
	});

	it('a throwing onIo in B is a failure by B: only A is told', async () => {
		const t = await chain({
			onIo() {
				throw new Error('segfault in user world');
			}
		});
		t.submit(read(0, 8)).run().expectCalls(['a.onIo#1', 'b.onIo#1', 'a.onDone#1!EFILTER']);
		t.expectDone(1, { error: 'EFILTER', source: 'b' });
		expect(t.device.stats().requests).toBe(0);
	});

	it('C turning a success into a failure on the way up: B and A are told, the device did see it', async () => {
		const t = await ChainDriver.create(
			[
				testFilter('a', 'inspection', { onDone: up }),
				testFilter('b', 'encryption', { onDone: up }),
				testFilter('c', 'replication', { onDone: () => fail('EIO', 'replica ack lost') })
			],
			NULL_100
		);
		t
			.submit(write(0, 8))
			.run()
			.expectCalls(['a.onIo#1', 'b.onIo#1', 'c.onIo#1', 'c.onDone#1@100', 'b.onDone#1!EIO@100', 'a.onDone#1!EIO@100'])
			.expectDone(1, { error: 'EIO', source: 'c', by: 'device' })
			.expectVerdict(1, 'c', 'fail', 'up')
			.expectReachedDevice(1, true);
		expect(t.instance('c').counters.upFail).toBe(1);
	});
});

describe('completion travels up in reverse order', () => {
	it('onDone runs bottom to top, each at the time the one below let it go', async () => {
		const t = await ChainDriver.create(
			[
				testFilter('a', 'inspection', { onDone: up }),
				testFilter('b', 'replication', {
					onDone(io, ctx) {
						ctx.after(50, () => ctx.resumeUp(io)); // e.g. sync replication waits for the remote ack
						return DEFER;
					}
				}),
				testFilter('c', 'cache', { onDone: up })
			],
			NULL_100
		);
		t
			.submit(write(0, 8))
			.advance(100)
			.expectCalls(['a.onIo#1@0', 'b.onIo#1@0', 'c.onIo#1@0', 'c.onDone#1@100', 'b.onDone#1@100'])
			.expectVerdict(1, 'b', 'defer', 'up')
			.expectPending(1)
			.advance(50)
			.expectCalls(['a.onDone#1@150'])
			.expectDone(1, { at: 150, error: null });
		const row = t.row(1)!;
		const [a, b, c] = row.filters;
		expect([c.upIn, c.upOut, b.upIn, b.upOut, a.upIn, a.upOut]).toEqual([100, 100, 100, 150, 150, 150]);
		expect([a.downIn, a.downOut, b.downIn, b.downOut, c.downIn, c.downOut]).toEqual([0, 0, 0, 0, 0, 0]);
		expect(row.deferredUs).toBe(50);
	});

	it('failUp from a deferred onDone turns the completion into a failure for the filters above', async () => {
		const t = await ChainDriver.create(
			[
				testFilter('a', 'inspection', { onDone: up }),
				testFilter('b', 'replication', {
					onDone(io, ctx) {
						ctx.after(20, () => ctx.failUp(io, 'ETIMEDOUT', 'no ack'));
						return DEFER;
					}
				})
			],
			NULL_100
		);
		t.submit(write(0, 8)).run().expectCalls(['a.onIo#1', 'b.onIo#1', 'b.onDone#1', 'a.onDone#1!ETIMEDOUT@120']);
		t.expectDone(1, { at: 120, error: 'ETIMEDOUT', source: 'b' });
	});

	it('a filter may hand other data up on a read (decryption)', async () => {
		const plain = new Uint8Array(4096).fill(0x11);
		const t = await ChainDriver.create([testFilter('enc', 'encryption', { onDone: (io) => (io.op === Op.read ? complete(plain) : PASS) })]);
		t.submit(read(0, 8)).run().expectDone(1, { error: null }).expectVerdict(1, 'enc', 'complete', 'up');
		expect(t.completions.get(1)!.data).toEqual(plain);
	});

	it("a filter's own I/O (submitBelow) is seen only by the filters below it, and comes back to it", async () => {
		let ownDone: { at: number; error: unknown; id: number } | undefined;
		const t = await ChainDriver.create(
			[
				testFilter('a', 'inspection', { onDone: up }),
				testFilter('b', 'replication', {
					onIo(io, ctx) {
						if (io.origin === 'guest' && io.op === Op.write)
							ctx.submitBelow(Op.write, 1000, 8, new Uint8Array(4096).fill(9), (own) => {
								ownDone = { at: ctx.now, error: own.error, id: own.id };
							});
						return PASS;
					},
					onDone: up
				}),
				testFilter('c', 'cache', { onDone: up })
			],
			NULL_100
		);
		t
			.submit(write(0, 8))
			.run()
			.expectCalls(['a.onIo#1', 'b.onIo#1', 'c.onIo#1', 'c.onIo#2', 'c.onDone#1', 'b.onDone#1', 'a.onDone#1', 'c.onDone#2']);
		expect(ownDone).toEqual({ at: 100, error: undefined, id: 2 });
		expect(t.store.blocks.get(125)).toEqual(new Uint8Array(4096).fill(9));
		expect(t.row(2)!.origin).toBe('filter');
		expect(t.device.stats().requests).toBe(2);
	});
});
