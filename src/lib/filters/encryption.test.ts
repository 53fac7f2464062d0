import { createDecipheriv } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FILTER_CONTRACT_VERSION, PASS, type FilterDef } from '../engine/filter';
import { Op, SECTOR_BYTES, SECTORS_PER_BLOCK } from '../engine/io';
import { runResult } from '../engine/result';
import type { ScenarioInput } from '../engine/scenario/schema';
import { Simulation } from '../engine/simulation';
import { MemoryBlockStore, MemoryStoreFactory } from '../engine/storage/memory';
import { contentBlock } from '../engine/verify';
import { ENCRYPTION_SIDECAR_KEY, encryption } from './encryption';
import { defaultKeyServer } from './encryption/keyserver';
import { builtinRegistry } from './index';
import { formatParams, parseParams, resolveParams } from '../engine/params';

const KEY = 'vm-01/disk-0';
const DISK_BYTES = 8 * 2 ** 20;

type Filters = NonNullable<NonNullable<ScenarioInput['vms'][number]['disks'][number]['policy']>['filters']>;
type Workloads = NonNullable<ScenarioInput['vms'][number]['disks'][number]['workload']>;

/** Mixed, unaligned: odd sizes (6656 = 13 sectors, 1536, 512) on 512-byte boundaries. */
const MIXED: Workloads = [
	{
		rw: 'randrw',
		rwmixread: 50,
		bssplit: [
			{ bs: '4k', pct: 35 },
			{ bs: 6656, pct: 30 },
			{ bs: 1536, pct: 15 },
			{ bs: 512, pct: 10 },
			{ bs: '32k', pct: 10 }
		],
		blockalign: 512,
		iodepth: 8,
		ios: 1500,
		dedupePercentage: 40
	}
];

/** Reads the whole disk once, sequentially. */
const READ_ALL: Workloads = [{ rw: 'read', bs: '64k', iodepth: 4, ios: DISK_BYTES / 65536 }];

function scenario(o: { filters?: Filters; workload?: Workloads; cleartext?: boolean; seed?: number } = {}): ScenarioInput {
	return {
		version: 1,
		name: 'encryption-test',
		seed: o.seed ?? 11,
		vms: [
			{
				name: 'vm-01',
				disks: [
					{
						name: 'disk-0',
						size: DISK_BYTES,
						datastore: { kind: 'nvme' },
						policy: { allowCleartextFilters: o.cleartext ?? false, filters: o.filters ?? [{ type: 'encryption' }] },
						workload: o.workload ?? MIXED
					}
				]
			}
		],
		run: { traceCapacity: 1024 }
	};
}

function words(b: Uint8Array): Uint32Array {
	return new Uint32Array(b.buffer, b.byteOffset, b.byteLength >>> 2);
}

/** The plaintext the guest wrote to `sector` (content id + slot, as verify.ts generates it). */
function plaintextOf(id: number, sector: number): Uint8Array {
	const slot = sector % SECTORS_PER_BLOCK;
	return contentBlock(id).slice(slot * SECTOR_BYTES, (slot + 1) * SECTOR_BYTES);
}

/** Every allocated 512-byte sector of a memory store, with its number. */
function* rawSectors(store: MemoryBlockStore): Generator<[number, Uint8Array]> {
	for (const [block, bytes] of store.blocks)
		for (let k = 0; k < SECTORS_PER_BLOCK; k++) yield [block * SECTORS_PER_BLOCK + k, bytes.subarray(k * SECTOR_BYTES, (k + 1) * SECTOR_BYTES)];
}

/**
 * Sectors of the raw store equal to some plaintext sector the guest wrote. A plaintext sector
 * starts with its content id and its slot in the block (verify.ts), so any sector that is not
 * headed by a written id and a slot 0..7 cannot be one; those that are get compared in full.
 */
function plaintextSectors(store: MemoryBlockStore, writtenIds: Set<number>): number {
	let found = 0;
	for (const [, raw] of rawSectors(store)) {
		const w = words(raw);
		if (!writtenIds.has(w[0]) || w[1] >= SECTORS_PER_BLOCK) continue;
		const slot = w[1];
		if (Buffer.compare(raw, contentBlock(w[0]).subarray(slot * SECTOR_BYTES, (slot + 1) * SECTOR_BYTES)) === 0) found++;
	}
	return found;
}

function isZero(b: Uint8Array): boolean {
	for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
	return true;
}

/** Runs a scenario; collects the content ids of every sector the guest wrote. */
async function run(input: ScenarioInput, stores = new MemoryStoreFactory(), expected?: Simulation['disks'][number]['expected'], registry = builtinRegistry()) {
	const sim = await Simulation.create(input, {
		registry,
		stores,
		expected: expected ? new Map([[KEY, expected]]) : undefined
	});
	const writtenIds = new Set<number>();
	let plaintextBack = 0;
	let writes = 0;
	sim.disk().guest.onComplete = (io) => {
		if (io.op !== Op.write || !io.data || io.error) return;
		writes++;
		const w = words(io.data);
		for (let s = 0; s < io.sectors; s++) writtenIds.add(w[s * 128]);
		// On completion the guest gets its own plaintext buffer back, not the ciphertext.
		if (w[0] !== 0 && w[1] === io.lba % SECTORS_PER_BLOCK) plaintextBack++;
	};
	await sim.run();
	return { sim, r: runResult(sim), stores, writtenIds, writes, plaintextBack };
}

describe('encryption filter: XTS-AES-256 through the engine', { timeout: 60_000 }, () => {
	it('round-trips a mixed unaligned workload with zero mismatches; the raw disk holds only ciphertext', async () => {
		const { sim, r, writtenIds, writes, plaintextBack } = await run(scenario());
		expect(r.errors.count).toBe(0);
		expect(r.verify.mismatches).toBe(0);
		expect(r.verify.reads).toBeGreaterThan(500);
		expect(r.verify.sectorsChecked).toBeGreaterThan(2000);
		expect(writes).toBeGreaterThan(500);
		expect(plaintextBack).toBe(writes);
		const st = r.filters.encryption;
		expect(st.cipher).toBe('aes-xts-plain64');
		expect(st.keyId).toBe('kms:vm-01:1');
		expect(st.encryptedSectors).toBeGreaterThan(2000);
		expect(st.decryptedSectors).toBeGreaterThan(500);
		expect(st.holeSectors).toBeGreaterThan(0); // never-written sectors read as zeros

		// No sector of the datastore is any plaintext sector the guest wrote.
		const store = sim.disk().store as MemoryBlockStore;
		expect(plaintextSectors(store, writtenIds)).toBe(0);
		let allocated = 0;
		for (const [sector, raw] of rawSectors(store)) {
			if (isZero(raw)) continue;
			allocated++;
			const id = sim.disk().expected.contentOf(sector);
			if (id !== 0) expect(Buffer.compare(raw, plaintextOf(id, sector))).not.toBe(0);
		}
		expect(allocated).toBeGreaterThan(2000);
	});

	it('writes what dm-crypt aes-xts-plain64 would: OpenSSL decrypts the raw sectors with the KMS key', async () => {
		const { sim } = await run(scenario({ workload: [{ ...MIXED[0], ios: 300 }] }));
		const key = defaultKeyServer.fetchKey('kms:vm-01:1');
		const store = sim.disk().store as MemoryBlockStore;
		let checked = 0;
		for (const [sector, raw] of rawSectors(store)) {
			const id = sim.disk().expected.contentOf(sector);
			if (id === 0 || checked >= 64) continue;
			const iv = Buffer.alloc(16);
			iv.writeUInt32LE(sector, 0);
			const d = createDecipheriv('aes-256-xts', key, iv);
			const plain = Buffer.concat([d.update(raw), d.final()]);
			expect(Buffer.compare(plain, plaintextOf(id, sector))).toBe(0);
			checked++;
		}
		expect(checked).toBe(64);
	});

	it('the same plaintext at two sectors gives different ciphertext (the sector is the tweak)', async () => {
		const { sim } = await run(scenario());
		const exp = sim.disk().expected;
		// dedupePercentage puts the same content at many blocks: group sectors by (content, slot).
		const seen = new Map<string, [number, Uint8Array]>();
		let pairs = 0;
		for (const [sector, raw] of rawSectors(sim.disk().store as MemoryBlockStore)) {
			const id = exp.contentOf(sector);
			if (id === 0) continue;
			const k = `${id}/${sector % SECTORS_PER_BLOCK}`;
			const other = seen.get(k);
			if (!other) {
				seen.set(k, [sector, raw]);
				continue;
			}
			expect(other[0]).not.toBe(sector);
			expect(Buffer.compare(other[1], raw)).not.toBe(0);
			pairs++;
		}
		expect(pairs).toBeGreaterThan(20);
	});

	it('after a restart fetches the key again by the id in its sidecar, which holds no key bytes', async () => {
		const stores = new MemoryStoreFactory();
		const first = await run(scenario(), stores);
		expect(first.r.verify.mismatches).toBe(0);

		const sidecar = stores.openSidecar('sidecar.vm-01/disk-0.encryption.encryption'); // sidecar.<disk>.<class>.<filter>
		const keys = await sidecar.keys();
		expect(keys).toEqual([ENCRYPTION_SIDECAR_KEY]);
		const bytes = (await sidecar.get(ENCRYPTION_SIDECAR_KEY))!;
		expect(JSON.parse(new TextDecoder().decode(bytes))).toEqual({ version: 1, cipher: 'aes-xts-plain64', keyId: 'kms:vm-01:1' });
		// No 8-byte run of the key, raw or as hex, appears anywhere in the sidecar.
		const key = defaultKeyServer.fetchKey('kms:vm-01:1');
		const text = Buffer.from(bytes).toString('latin1');
		for (let i = 0; i + 8 <= key.length; i++) {
			expect(Buffer.from(bytes).indexOf(Buffer.from(key.subarray(i, i + 8)))).toBe(-1);
			expect(text.toLowerCase()).not.toContain(Buffer.from(key.subarray(i, i + 8)).toString('hex'));
		}

		// Restart: a new simulation on the same stores reads every sector back through the filter.
		const fetchesBefore = defaultKeyServer.fetches;
		const checkedBefore = first.sim.disk().expected.sectorsChecked; // the expected state carries on
		const second = await run(scenario({ workload: READ_ALL }), stores, first.sim.disk().expected);
		expect(defaultKeyServer.fetches).toBe(fetchesBefore + 1);
		expect(second.r.errors.count).toBe(0);
		expect(second.r.verify.mismatches).toBe(0);
		expect(second.r.verify.sectorsChecked - checkedBefore).toBe(DISK_BYTES / SECTOR_BYTES);
		expect(second.r.filters.encryption.decryptedSectors).toBeGreaterThan(2000);
		expect(second.r.filters.encryption.keyId).toBe('kms:vm-01:1');

		// A keyId parameter cannot re-key an encrypted disk: the sidecar's id wins (and says so).
		const third = await run(
			scenario({ workload: READ_ALL, filters: [{ type: 'encryption', params: { keyId: 'kms:vm-01:2' } }] }),
			stores,
			first.sim.disk().expected
		);
		expect(third.r.verify.mismatches).toBe(0);
		expect(third.r.filters.encryption.keyId).toBe('kms:vm-01:1');
		expect(third.sim.log.some((l) => l.source === 'encryption' && /re-keying is not supported/.test(l.message))).toBe(true);

		// Point the sidecar at another key: every written sector now reads as garbage.
		await sidecar.set(ENCRYPTION_SIDECAR_KEY, new TextEncoder().encode(JSON.stringify({ version: 1, cipher: 'aes-xts-plain64', keyId: 'kms:vm-01:2' })));
		const wrongKey = await run(scenario({ workload: READ_ALL }), stores, first.sim.disk().expected);
		expect(wrongKey.r.verify.mismatches).toBeGreaterThan(2000);
	});

	it('charges its modelled CPU cost per KiB as virtual time', async () => {
		const cheap = await run(scenario({ filters: [{ type: 'encryption', params: { cpuUsPerKiB: 0 } }], workload: [{ ...MIXED[0], ios: 400 }] }));
		const costly = await run(scenario({ filters: [{ type: 'encryption', params: { cpuUsPerKiB: 20 } }], workload: [{ ...MIXED[0], ios: 400 }] }));
		expect(cheap.r.filters.encryption.chargedUs).toBe(0);
		const st = costly.r.filters.encryption;
		const kib = ((st.encryptedSectors as number) + (st.decryptedSectors as number)) / 2;
		expect(st.chargedUs).toBeCloseTo(kib * 20, 6);
		expect(costly.r.elapsedUs).toBeGreaterThan(cheap.r.elapsedUs + (st.chargedUs as number) / 2);
		expect(costly.r.verify.mismatches).toBe(0);
	});

	it('is deterministic: the same scenario gives the same trace digest', async () => {
		const w = [{ ...MIXED[0], ios: 300 }];
		const a = await run(scenario({ workload: w }));
		const b = await run(scenario({ workload: w }));
		expect(a.r.traceDigest).toBe(b.r.traceDigest);
	});

	it('parameters round-trip and are validated', () => {
		const v = resolveParams(encryption, { keyId: 'kms:vm-07:3', cpuUsPerKiB: 1.25 });
		expect(parseParams(encryption, formatParams(encryption, v))).toEqual(v);
		expect(() => resolveParams(encryption, { cipher: 'aes-cbc-essiv' })).toThrow(/not one of/);
		expect(() => resolveParams(encryption, { cpuUsPerKiB: -1 })).toThrow(/minimum/);
	});

	it('refuses a key id the KMS does not know', async () => {
		await expect(run(scenario({ filters: [{ type: 'encryption', params: { keyId: 'my-key' } }] }))).rejects.toThrow(/not a KMS key id/);
	});
});

describe('allowCleartextFilters moves encryption below the other filters', { timeout: 60_000 }, () => {
	/** A cache-class probe: counts writes whose data it sees as plaintext (content header). */
	function probe(): FilterDef<{ plain: number; cipher: number }> {
		return {
			contract: FILTER_CONTRACT_VERSION,
			name: 'probe',
			vendor: 'test',
			version: '1',
			class: 'cache',
			description: 'sees write data',
			params: [],
			attach: () => ({ plain: 0, cipher: 0 }),
			onIo(io, ctx) {
				if (io.op === Op.write && io.data) {
					const w = words(io.data);
					if (w[1] === io.lba % SECTORS_PER_BLOCK && w[0] !== 0) ctx.state.plain++;
					else ctx.state.cipher++;
				}
				return PASS;
			},
			status: (ctx) => ({ ...ctx.state })
		};
	}

	const filters: Filters = [
		{ type: 'probe' },
		{ type: 'passthrough', class: 'replication' },
		{ type: 'encryption' },
		{ type: 'passthrough', class: 'inspection' }
	];
	const workload: Workloads = [{ ...MIXED[0], ios: 300 }];

	it('without it: encryption sits above replication and cache, which see ciphertext', async () => {
		const { sim, r } = await run(scenario({ filters, workload }), undefined, undefined, builtinRegistry().register(probe()));
		const chain = sim.disk().chain.filters;
		expect(chain.map((f) => f.def.name)).toEqual(['passthrough', 'encryption', 'passthrough', 'probe']);
		expect(r.verify.mismatches).toBe(0);
		expect(r.filters.probe.plain).toBe(0);
		expect(r.filters.probe.cipher).toBeGreaterThan(50);
	});

	it('with it: encryption is last, the cache-class filter above it sees cleartext', async () => {
		const { sim, r, writtenIds } = await run(scenario({ filters, workload, cleartext: true }), undefined, undefined, builtinRegistry().register(probe()));
		const chain = sim.disk().chain.filters;
		expect(chain.map((f) => f.def.name)).toEqual(['passthrough', 'passthrough', 'probe', 'encryption']);
		expect(chain[chain.length - 1].def.name).toBe('encryption');
		expect(r.verify.mismatches).toBe(0);
		expect(r.filters.probe.cipher).toBe(0);
		expect(r.filters.probe.plain).toBeGreaterThan(50);
		// Still ciphertext on the datastore.
		expect(writtenIds.size).toBeGreaterThan(50);
		expect(plaintextSectors(sim.disk().store as MemoryBlockStore, writtenIds)).toBe(0);
	});
});
