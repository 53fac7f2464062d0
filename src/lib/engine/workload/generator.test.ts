import { describe, expect, it } from 'vitest';
import { Prng } from '../clock';
import { blockSpan, Op } from '../io';
import { ContentSource } from './contents';
import { ZipfPicker } from './distributions';
import { WorkloadStream } from './generator';
import { defaultWorkload } from './spec';
import type { GuestIoSpec, WorkloadSpec } from './types';

const GiB = 2 ** 30;
const DISK = (20 * GiB) / 512; // 20 GiB in sectors

function stream(over: Partial<WorkloadSpec>, seed = 1, disk = DISK, contents?: ContentSource, index = 0) {
	return new WorkloadStream(
		{ ...defaultWorkload(), ...over },
		disk,
		new Prng(seed),
		contents ?? new ContentSource(new Prng(seed + 1000)),
		index
	);
}

function drain(s: WorkloadStream, max = 1_000_000, now = 0): GuestIoSpec[] {
	const out: GuestIoSpec[] = [];
	for (let i = 0; i < max; i++) {
		const io = s.next(now);
		if (!io) break;
		out.push(io);
	}
	return out;
}

const key = (ios: GuestIoSpec[]) => ios.map((io) => `${io.op}:${io.lba}:${io.sectors}:${io.contents?.join(',') ?? ''}`);

describe('determinism', () => {
	for (const rw of ['randrw', 'rw'] as const) {
		it(`${rw}: same seed ⇒ identical sequence, other seed ⇒ different`, () => {
			const spec = { rw, bssplit: [{ bs: 4096, pct: 50 }, { bs: 65536, pct: 50 }], dedupePercentage: 30, ios: 2000 };
			const a = key(drain(stream(spec, 7)));
			expect(a.length).toBe(2000);
			expect(key(drain(stream(spec, 7)))).toEqual(a);
			expect(key(drain(stream(spec, 8)))).not.toEqual(a);
		});
	}
});

describe('bounds and alignment', () => {
	it('random I/O stays inside the region and on blockalign', () => {
		const offset = 1 * GiB;
		const size = 256 * 1024 * 1024;
		const s = stream({ rw: 'randrw', bs: 8192, offset, size, ios: 50_000 });
		let bad = 0;
		for (const io of drain(s)) {
			const start = io.lba * 512;
			const end = start + io.sectors * 512;
			if (start < offset || end > offset + size || start % 8192 !== 0 || io.sectors !== 16) bad++;
		}
		expect(bad).toBe(0);
		expect(s.units).toBe(size / 8192);
	});

	it('blockalign 512 produces unaligned I/O that is clipped at the region end', () => {
		const s = stream({ rw: 'randwrite', bs: 4096, blockalign: 512, size: 64 * 1024, ios: 20_000 });
		const ios = drain(s);
		const endSector = (64 * 1024) / 512;
		expect(ios.every((io) => io.lba >= 0 && io.lba + io.sectors <= endSector && io.sectors >= 1)).toBe(true);
		expect(ios.some((io) => io.lba % 8 !== 0)).toBe(true);
		expect(ios.some((io) => io.sectors < 8)).toBe(true); // clipped near the end
	});

	it('bssplit sizes are aligned to the smallest size by default', () => {
		const s = stream({ rw: 'randread', bssplit: [{ bs: 4096, pct: 50 }, { bs: 65536, pct: 50 }], ios: 10_000 });
		const ios = drain(s);
		expect(ios.every((io) => io.lba % 8 === 0)).toBe(true);
		expect(ios.some((io) => io.lba % 128 !== 0 && io.sectors === 128)).toBe(true);
	});

	it('a region past the end of the disk is clamped; I/O never goes past the disk end', () => {
		const disk = 2048; // 1 MiB
		const s = stream({ rw: 'randwrite', bs: 65536, offset: 512 * 1024, size: 4 * 1024 * 1024, ios: 5000 }, 1, disk);
		expect(s.regionStart).toBe(1024);
		expect(s.regionSectors).toBe(1024);
		expect(drain(s).every((io) => io.lba >= 1024 && io.lba + io.sectors <= disk)).toBe(true);
	});

	it('rejects invalid specs with the stream index and the reason', () => {
		expect(() => stream({ bs: 1000 }, 1, DISK, undefined, 3)).toThrow(/workload stream 3: .*bs 1000/);
		expect(() => stream({ offset: 2 * 1024 * 1024 }, 1, 2048)).toThrow(/offset 2097152 .*end of the disk/);
		expect(() => stream({ rw: 'randread', bs: 8192, size: 4096 })).toThrow(/smaller than blockalign/);
		expect(() => stream({}, 1, 0)).toThrow(/disk size/);
	});
});

describe('mix', () => {
	for (const rw of ['randrw', 'rw'] as const) {
		it(`${rw} with rwmixread 70 ⇒ 70 % reads within 1 %`, () => {
			const s = stream({ rw, rwmixread: 70, ios: 100_000 });
			const ios = drain(s);
			const reads = ios.filter((io) => io.op === Op.read).length;
			expect(Math.abs(reads / ios.length - 0.7)).toBeLessThan(0.01);
			expect(s.reads).toBe(reads);
			expect(s.writes).toBe(ios.length - reads);
		});
	}

	it('pure modes ignore rwmixread', () => {
		expect(drain(stream({ rw: 'randread', rwmixread: 0, ios: 100 })).every((io) => io.op === Op.read)).toBe(true);
		expect(drain(stream({ rw: 'write', rwmixread: 100, ios: 100 })).every((io) => io.op === Op.write)).toBe(true);
	});
});

describe('bssplit', () => {
	it('picks sizes by weight', () => {
		const ios = drain(
			stream({
				rw: 'randread',
				bssplit: [
					{ bs: 4096, pct: 50 },
					{ bs: 8192, pct: 30 },
					{ bs: 65536, pct: 20 }
				],
				ios: 100_000
			})
		);
		const frac = (sectors: number) => ios.filter((io) => io.sectors === sectors).length / ios.length;
		expect(Math.abs(frac(8) - 0.5)).toBeLessThan(0.01);
		expect(Math.abs(frac(16) - 0.3)).toBeLessThan(0.01);
		expect(Math.abs(frac(128) - 0.2)).toBeLessThan(0.01);
	});

	it('skips zero-weight sizes', () => {
		const ios = drain(stream({ rw: 'randread', bssplit: [{ bs: 4096, pct: 0 }, { bs: 8192, pct: 100 }], ios: 1000 }));
		expect(ios.every((io) => io.sectors === 16)).toBe(true);
	});
});

describe('distributions in a stream', () => {
	it('zipf: the rank-0 unit is the most frequent and the top 1 % of units get most I/O', () => {
		const units = (20 * GiB) / 4096;
		const s = stream({ rw: 'randread', randomDistribution: { kind: 'zipf', theta: 1.2 }, ios: 100_000 });
		expect(s.units).toBe(units);
		const counts = new Map<number, number>();
		for (const io of drain(s)) counts.set(io.lba / 8, (counts.get(io.lba / 8) ?? 0) + 1);
		const sorted = [...counts.entries()].sort((a, b) => b[1] - a[1]);
		expect(sorted[0][0]).toBe(new ZipfPicker(units, 1.2).scrambler.map(0));
		const top = sorted.slice(0, units / 100).reduce((a, [, c]) => a + c, 0);
		expect(top / 100_000).toBeGreaterThan(0.8);
	});

	it("randomMap: each block once per pass, as fio without norandommap; without it blocks repeat", () => {
		const size = 4 * 2 ** 20; // 1024 units of 4 KiB
		const units = (io: GuestIoSpec[]) => io.map((x) => (x.lba - GiB / 512) / 8);
		const mapped = units(drain(stream({ rw: 'randwrite', size, offset: GiB, randomMap: true, ios: 2048 })));
		expect(new Set(mapped.slice(0, 1024)).size).toBe(1024);
		expect(new Set(mapped.slice(1024)).size).toBe(1024);
		expect(Math.min(...mapped)).toBe(0);
		expect(Math.max(...mapped)).toBe(1023);
		const free = units(drain(stream({ rw: 'randwrite', size, offset: GiB, ios: 1024 })));
		// With replacement about 1 − 1/e of the blocks are hit in 1024 draws.
		expect(new Set(free).size).toBeLessThan(700);
	});

	it('normal: a bell-shaped hot set (about 1/6 of the units get 2/3 of the I/O), scattered as in fio', () => {
		const size = 4 * 2 ** 20; // 1024 units of 4 KiB
		const s = stream({ rw: 'randread', size, offset: GiB, randomDistribution: { kind: 'normal', sigmaPct: 0 }, ios: 20_000 });
		const counts = new Map<number, number>();
		const rel: number[] = [];
		for (const io of drain(s)) {
			counts.set(io.lba, (counts.get(io.lba) ?? 0) + 1);
			rel.push((io.lba * 512 - GiB) / size);
		}
		const sorted = [...counts.values()].sort((a, b) => b - a);
		// ±1σ of the bell (σ = 1024/12 units) holds ~68 % of the draws.
		const top = sorted.slice(0, Math.round(1024 / 6)).reduce((a, b) => a + b, 0);
		expect(top / 20_000).toBeGreaterThan(0.6);
		expect(new Set(rel.map((x) => Math.floor(x * 10))).size).toBe(10);
	});
});

describe('sequential', () => {
	it('walks the region and wraps around at its end', () => {
		const s = stream({ rw: 'write', bs: 16384, offset: 8192, size: 65536, ios: 10 });
		expect(drain(s).map((io) => io.lba)).toEqual([16, 48, 80, 112, 16, 48, 80, 112, 16, 48]);
	});

	it('shortens the last I/O before the end', () => {
		const s = stream({ rw: 'read', bs: 16384, size: 40960, ios: 4 });
		expect(drain(s).map((io) => [io.lba, io.sectors])).toEqual([
			[0, 32],
			[32, 32],
			[64, 16],
			[0, 32]
		]);
	});

	it('rw keeps separate read and write positions, as fio does', () => {
		const ios = drain(stream({ rw: 'rw', bs: 4096, rwmixread: 50, ios: 1000 }));
		const reads = ios.filter((io) => io.op === Op.read).map((io) => io.lba);
		const writes = ios.filter((io) => io.op === Op.write).map((io) => io.lba);
		expect(reads).toEqual(reads.map((_, i) => i * 8));
		expect(writes).toEqual(writes.map((_, i) => i * 8));
	});
});

describe('stopping', () => {
	it('stops after ios I/Os', () => {
		const s = stream({ ios: 5 });
		expect(drain(s).length).toBe(5);
		expect(s.done).toBe(true);
		expect(s.issued).toBe(5);
		expect(s.next(0)).toBeNull();
	});

	it('stops once now ≥ runtimeUs', () => {
		const s = stream({ ios: 0, runtimeUs: 100 });
		expect(s.next(0)).not.toBeNull();
		expect(s.next(99.5)).not.toBeNull();
		expect(s.done).toBe(false);
		expect(s.next(100)).toBeNull();
		expect(s.done).toBe(true);
		expect(s.next(50)).toBeNull();
	});

	it('with both set, whichever comes first', () => {
		const s = stream({ ios: 3, runtimeUs: 1e9 });
		expect(drain(s).length).toBe(3);
		const t = stream({ ios: 1000, runtimeUs: 10 });
		expect(t.next(5)).not.toBeNull();
		expect(t.next(10)).toBeNull();
	});

	it('with neither: one pass over the region (sequential), size/bs I/Os (random)', () => {
		const seq = stream({ rw: 'read', bs: 65536, size: 1 << 20, ios: 0 });
		const ios = drain(seq);
		expect(ios.length).toBe(16);
		expect(ios.map((io) => io.lba)).toEqual(ios.map((_, i) => i * 128));
		expect(seq.done).toBe(true);
		expect(drain(stream({ rw: 'randrw', bs: 4096, size: 1 << 20, ios: 0 })).length).toBe(256);
		expect(drain(stream({ rw: 'read', bs: 16384, size: 40960, ios: 0 })).length).toBe(3);
	});
});

describe('write contents', () => {
	it('one non-zero id per touched 4 KiB block', () => {
		const s = stream({ rw: 'randwrite', bs: 6144, blockalign: 512, size: 1 << 20, ios: 5000 });
		let bad = 0;
		for (const io of drain(s)) {
			const [first, end] = blockSpan(io.lba, io.sectors);
			if (!io.contents || io.contents.length !== end - first || io.contents.includes(0)) bad++;
		}
		expect(bad).toBe(0);
	});

	it('reads carry no contents', () => {
		expect(drain(stream({ rw: 'randread', ios: 100 })).every((io) => io.contents === undefined)).toBe(true);
	});

	it('streams of one disk share the content source: ids are unique across them', () => {
		const contents = new ContentSource(new Prng(5));
		const a = stream({ rw: 'randwrite', ios: 500 }, 1, DISK, contents, 0);
		const b = stream({ rw: 'write', bs: 65536, ios: 500 }, 2, DISK, contents, 1);
		const ids: number[] = [];
		for (let i = 0; i < 500; i++) {
			ids.push(...a.next(i)!.contents!, ...b.next(i)!.contents!);
		}
		expect(new Set(ids).size).toBe(ids.length);
		expect(ids.length).toBe(500 * 1 + 500 * 16);
	});

	it('dedupePercentage 50 ⇒ half of the written blocks repeat earlier content', () => {
		const ids: number[] = [];
		for (const io of drain(stream({ rw: 'randwrite', bs: 16384, dedupePercentage: 50, ios: 25_000 }))) ids.push(...io.contents!);
		expect(ids.length).toBe(100_000);
		expect(Math.abs(new Set(ids).size / ids.length - 0.5)).toBeLessThan(0.01);
	});
});

describe('rate and thinktime', () => {
	it('nextIssueTime spaces I/Os 1e6/rateIops µs apart from the first issue', () => {
		const s = stream({ rateIops: 1000, thinktimeUs: 250 });
		expect(s.thinktimeUs).toBe(250);
		expect(s.nextIssueTime(40)).toBe(40);
		s.next(40);
		expect(s.nextIssueTime(40)).toBe(1040);
		s.next(1040);
		expect(s.nextIssueTime(1500)).toBe(2040);
		expect(s.nextIssueTime(5000)).toBe(5000);
	});

	it('without a rate the stream may issue now', () => {
		const s = stream({});
		s.next(0);
		expect(s.nextIssueTime(7)).toBe(7);
	});
});

describe('next(now, out)', () => {
	it('fills and returns the given object', () => {
		const s = stream({ rw: 'randrw', ios: 100 });
		const t = stream({ rw: 'randrw', ios: 100 });
		const out: GuestIoSpec = { op: Op.read, lba: 0, sectors: 0 };
		for (let i = 0; i < 100; i++) {
			const r = s.next(0, out)!;
			expect(r).toBe(out);
			const fresh = t.next(0)!;
			expect({ ...r }).toEqual({ ...fresh });
		}
		expect(s.next(0, out)).toBeNull();
	});

	it('copies the spec: later edits do not change the stream', () => {
		const spec = { ...defaultWorkload(), ios: 3 };
		const s = new WorkloadStream(spec, DISK, new Prng(1), new ContentSource(new Prng(2)), 0);
		spec.ios = 100;
		expect(drain(s).length).toBe(3);
	});
});

describe('fsync and trim', () => {
	const spec = (over: Partial<WorkloadSpec>): WorkloadSpec => ({ ...defaultWorkload(), ios: 300, ...over });

	it('issues a flush after every N writes (fio fsync), not counted as an I/O', () => {
		const s = new WorkloadStream(spec({ rw: 'write', bs: 4096, fsync: 4 }), 1 << 20, new Prng(1), new ContentSource(new Prng(2)), 0);
		const ops: number[] = [];
		for (let io = s.next(0); io; io = s.next(0)) ops.push(io.op);
		expect(s.issued).toBe(300);
		expect(s.flushes).toBe(74); // after writes 4, 8, …, 296 (a flush after the last write would be the 75th)
		for (let i = 0; i < ops.length; i++) if (ops[i] === Op.flush) expect(ops.slice(i - 4, i)).toEqual([Op.write, Op.write, Op.write, Op.write]);
	});

	it('randtrim issues unmaps over the region, trim walks it', () => {
		const r = new WorkloadStream(spec({ rw: 'randtrim', bs: 8192 }), 1 << 20, new Prng(1), new ContentSource(new Prng(2)), 0);
		for (let io = r.next(0); io; io = r.next(0)) {
			expect(io.op).toBe(Op.unmap);
			expect(io.contents).toBeUndefined();
		}
		expect(r.unmaps).toBe(300);
		const t = new WorkloadStream(spec({ rw: 'trim', bs: 4096, ios: 3 }), 1 << 20, new Prng(1), new ContentSource(new Prng(2)), 0);
		expect([t.next(0)!.lba, t.next(0)!.lba, t.next(0)!.lba]).toEqual([0, 8, 16]);
	});
});
